//! `#rooms`: the joined rooms, the open one marked (`aria-current`), unread counts, a leave
//! button each (not for the default room), and the form to join one by name. A refused name
//! is explained in `#room-error` and stays in the box.

use chat::RoomName;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::session::ChatSession;

#[component]
pub fn RoomList(
    session: ChatSession,
    /// The viewer is shown instead.
    #[prop(into)]
    hidden: Signal<bool>,
) -> impl IntoView {
    let rooms = session.rooms;
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let on_join = move |ev: SubmitEvent| {
        ev.prevent_default();
        match session.join_room(&draft.get_untracked()) {
            Ok(()) => {
                draft.set(String::new());
                error.set(None);
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    let joined = move || rooms.with(|r| r.joined().to_vec());
    view! {
        <nav class="rooms-panel" aria-label="Rooms" hidden=move || hidden.get()>
            <h2 class="panel-title">"Rooms"</h2>
            <ul id="rooms">
                <For each=joined key=|room| room.clone() let:room>
                    <RoomItem session=session room=room />
                </For>
            </ul>
            <form id="join-room" class="join-room" on:submit=on_join novalidate>
                <label for="room-name" class="visually-hidden">"Room to join"</label>
                <input
                    id="room-name"
                    type="text"
                    placeholder="Join a room"
                    autocomplete="off"
                    aria-describedby="room-error"
                    prop:value=move || draft.get()
                    on:input=move |ev| {
                        draft.set(event_target_value(&ev));
                        error.set(None);
                    }
                />
                <button id="join-room-button" type="submit">"Join"</button>
                <p id="room-error" class="hint" role="alert">{move || error.get()}</p>
            </form>
        </nav>
    }
}

#[component]
fn RoomItem(session: ChatSession, room: RoomName) -> impl IntoView {
    let rooms = session.rooms;
    let current = {
        let room = room.clone();
        Memo::new(move |_| rooms.with(|r| r.open() == &room))
    };
    let unread = {
        let room = room.clone();
        Memo::new(move |_| rooms.with(|r| r.unread(&room)))
    };
    let name = room.as_str().to_owned();
    let leave = (!room.is_default()).then(|| {
        let room = room.clone();
        let label = format!("Leave {}", room.as_str());
        view! {
            <button
                type="button"
                class="leave-room"
                aria-label=label.clone()
                title=label
                on:click=move |_| session.leave_room(&room)
            >
                "×"
            </button>
        }
    });
    let open = room.clone();
    let label = name.clone();
    view! {
        <li
            data-room=name
            aria-current=move || current.get().then_some("true")
            class:current=move || current.get()
        >
            <button
                type="button"
                class="open-room"
                on:click=move |_| session.show_room(open.clone())
            >
                {label}
            </button>
            {move || {
                let n = unread.get();
                (n > 0)
                    .then(|| {
                        let label = format!("{n} unread");
                        view! { <span class="unread" title=label>{n}</span> }
                    })
            }}
            {leave}
        </li>
    }
}
