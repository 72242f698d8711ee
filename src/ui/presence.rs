//! `#presence`: who is in the open room, one line per person (several tabs show once),
//! online first.

use leptos::prelude::*;

use crate::browser::wall_clock_ms;
use crate::session::ChatSession;

#[component]
pub fn PresenceList(
    session: ChatSession,
    /// The viewer is shown instead.
    #[prop(into)]
    hidden: Signal<bool>,
) -> impl IntoView {
    let people = Memo::new(move |_| {
        session.presence_tick.track();
        let room = session.rooms.with(|r| r.open().as_str().to_owned());
        let now = wall_clock_ms();
        session
            .presence
            .with(|p| (p.people_in(&room, now), p.count_in(&room, now)))
    });
    let online = move || people.with(|(list, _)| list.iter().filter(|p| p.online).count());
    view! {
        <aside class="people" aria-label="People in this room" hidden=move || hidden.get()>
            <h2 class="panel-title">
                "Here "
                <span class="count">{move || format!("({} online)", online())}</span>
            </h2>
            <ul id="presence">
                <For
                    each=move || people.get().0
                    key=|p| (p.person.clone(), p.name.clone(), p.online, p.verified)
                    let:person
                >
                    <li
                        data-state=if person.online { "online" } else { "offline" }
                        data-person=person.person.clone()
                        class:verified=move || person.verified && session.vouched.get()
                        title={
                            let name = person.name.clone();
                            move || (person.verified && session.vouched.get()).then(|| format!("Verified: signed in as {name}"))
                        }
                    >
                        {person.name.clone()}
                    </li>
                </For>
            </ul>
            {move || {
                people
                    .with(|(list, count)| {
                        (*count > list.len())
                            .then(|| format!("and {} more", count - list.len()))
                    })
                    .map(|more| view! { <p class="more">{more}</p> })
            }}
        </aside>
    }
}
