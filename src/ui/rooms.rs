//! `#rooms`: the joined rooms, the open one marked (`aria-current`), unread counts, a leave
//! button each (not for the default room), and the form to join one by name. A refused name
//! is explained in `#room-error` and stays in the box.

use chat::RoomName;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element};

use super::keyed::append;
use super::keyed::{self, Item};

use crate::session::{ChatSession, Kept, KeyState};

#[component]
pub fn RoomList(
    session: ChatSession,
    /// The viewer is shown instead.
    #[prop(into)]
    hidden: Signal<bool>,
) -> impl IntoView {
    let rooms = session.rooms;
    let privacy = session.privacy;
    let draft = RwSignal::new(String::new());
    // A passphrase beside the name makes or joins the room as private (issue 24). Kept in
    // memory only: read from the field on Join, which is then cleared (no signal holds it).
    let key_field = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(None::<String>);
    let on_join = move |ev: SubmitEvent| {
        ev.prevent_default();
        let name = draft.get_untracked();
        let secret = key_field
            .get_untracked()
            .map(|f| f.value())
            .unwrap_or_default();
        // A key link pasted in place of a passphrase gives its key.
        let is_link = ["#room=", "#key=", "&key="]
            .iter()
            .any(|part| secret.contains(part));
        match session.join_room(&name) {
            Ok(()) => {
                let keep = remembering();
                if let Ok(room) = RoomName::parse(&name) {
                    if is_link {
                        session.set_room_key_link(room, secret, keep);
                    } else if !secret.is_empty() {
                        session.set_room_passphrase(room, secret, keep);
                    }
                }
                draft.set(String::new());
                if let Some(field) = key_field.get_untracked() {
                    field.set_value("");
                }
                error.set(None);
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    // The rest of the private rooms' part of the form, drawn by hand (smaller than a view:
    // it is on the first screen): "Remember on this device", "New key link", where the
    // open room's key stands, and the link to share.
    let tools = NodeRef::<leptos::html::Div>::new();
    let drawn = StoredValue::new_local(None::<KeyTools>);
    Effect::new(move |_| {
        let Some(parent) = tools.get() else {
            return;
        };
        let open = session.rooms.with(|r| r.open().clone());
        let (state, remembered, link) = session.privacy.with(|p| {
            (
                p.is_private(&open).then(|| p.key(&open)),
                p.kept(&open),
                p.link(&open).map(str::to_owned),
            )
        });
        if drawn.with_value(Option::is_none) {
            let made = draw_key_tools(&parent, move || new_key_link(session, draft, error));
            drawn.set_value(made);
        }
        drawn.with_value(|d| {
            if let Some(d) = d {
                d.show(&open, state.as_ref(), &remembered, link.as_deref());
            }
        });
    });
    // The joined rooms, drawn by hand (see `keyed`).
    let list = NodeRef::<leptos::html::Ul>::new();
    keyed::keep_drawn(list, move |sync| {
        rooms.with(|r| {
            let joined = r.joined();
            let items: Vec<Item> = joined
                .iter()
                .map(|room| Item {
                    key: room.as_str().to_owned(),
                    look: format!(
                        "{}|{}|{}",
                        r.open() == room,
                        r.unread(room),
                        privacy.with(|p| match p.is_private(room).then(|| forgettable(p, room)) {
                            None => 0,
                            Some(false) => 1,
                            Some(true) => 2,
                        })
                    ),
                })
                .collect();
            sync(&items, &|doc, i| {
                let room = &joined[i];
                let lock =
                    privacy.with_untracked(|p| p.is_private(room).then(|| forgettable(p, room)));
                draw_room(doc, room, r.open() == room, r.unread(room), lock)
            });
        });
    });
    // Its buttons: open a room, leave one.
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let Some((class, key)) = keyed::clicked(&ev) else {
            return;
        };
        let Ok(room) = RoomName::parse(&key) else {
            return;
        };
        match class.as_str() {
            "open-room" => session.show_room(room),
            "leave-room" => session.leave_room(&room),
            "forget-key" => session.forget_room_key(&room),
            _ => {}
        }
    };
    view! {
        <nav class="rooms-panel" aria-label="Rooms" hidden=move || hidden.get()>
            <h2 class="panel-title">"Rooms"</h2>
            <ul id="rooms" node_ref=list on:click=on_click></ul>
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
                <input
                    id="room-key"
                    type="password"
                    placeholder="Passphrase (private)"
                    autocomplete="off"
                    aria-label="Passphrase, to make or join the room as private"
                    title="A passphrase makes or joins the room as private: messages are encrypted in this browser, and only people with the passphrase can read them."
                    node_ref=key_field
                />
                <button id="join-room-button" type="submit">"Join"</button>
                <p id="room-error" class="hint" role="alert">{move || error.get()}</p>
                <div class="key-tools" node_ref=tools></div>
            </form>
        </nav>
    }
}

/// A padlock, drawn (an emoji needs a font that not every system has).
fn draw_lock(doc: &Document, parent: &Element) {
    const SVG: &str = "http://www.w3.org/2000/svg";
    let Ok(svg) = doc.create_element_ns(Some(SVG), "svg") else {
        return;
    };
    let _ = svg.set_attribute("viewBox", "0 0 16 16");
    let _ = svg.set_attribute("aria-hidden", "true");
    if let Ok(path) = doc.create_element_ns(Some(SVG), "path") {
        let _ = path.set_attribute(
            "d",
            "M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z",
        );
        let _ = path.set_attribute("fill", "currentColor");
        let _ = svg.append_child(&path);
    }
    let _ = parent.append_child(&svg);
}

/// This tab holds the room's key (made, or being made), or this device remembers one:
/// there is a key to forget.
fn forgettable(p: &crate::session::Privacy, room: &RoomName) -> bool {
    matches!(p.key(room), KeyState::Ready { .. } | KeyState::Deriving) || p.is_remembered(room)
}

/// Whether "Remember on this device" is ticked; unticked once read, so that every key is
/// remembered only when asked for it.
fn remembering() -> bool {
    let tick = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("room-key-remember"))
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok());
    let Some(tick) = tick else {
        return false;
    };
    let on = tick.checked();
    tick.set_checked(false);
    on
}

/// A new random key for the room named (or the open one), shared as a link.
fn new_key_link(session: ChatSession, draft: RwSignal<String>, error: RwSignal<Option<String>>) {
    let name = draft.get_untracked();
    let name = if name.trim().is_empty() {
        session
            .rooms
            .with_untracked(|r| r.open().as_str().to_owned())
    } else {
        name
    };
    // A new key for a room that has one would shut out everyone who holds it.
    if let Ok(room) = RoomName::parse(&name) {
        if session.is_private(&room) {
            error.set(Some(format!(
                "{} is private already: a new key would shut out everyone with its key. Leave it first, or name another room.",
                room.as_str()
            )));
            return;
        }
    }
    if let Err(e) = session.join_room(&name) {
        error.set(Some(e.to_string()));
        return;
    }
    let Ok(room) = RoomName::parse(&name) else {
        return;
    };
    match session.new_key_link(room.clone(), remembering()) {
        Ok(()) => {
            session.show_room(room);
            draft.set(String::new());
            error.set(None);
        }
        Err(e) => error.set(Some(e.to_string())),
    }
}

/// The hand-drawn private rooms' part of the form (see `RoomList`).
struct KeyTools {
    status: Element,
    link: Element,
    link_box: web_sys::HtmlInputElement,
    _click: gloo_events::EventListener,
}

fn draw_key_tools(parent: &Element, on_new_link: impl Fn() + 'static) -> Option<KeyTools> {
    let doc = parent.owner_document()?;
    let remember = append(&doc, parent, "label", "remember-key", "");
    let tick = append(&doc, &remember, "input", "", "");
    let _ = tick.set_attribute("id", "room-key-remember");
    let _ = tick.set_attribute("type", "checkbox");
    let _ = remember.append_with_str_1("Remember on this device");
    let button = append(&doc, parent, "button", "link-button", "New key link");
    let _ = button.set_attribute("id", "new-key-link");
    let _ = button.set_attribute("type", "button");
    let _ = button.set_attribute(
        "title",
        "Make the room named (or the open one) private with a new random key, given as a link to share",
    );
    let click = gloo_events::EventListener::new(&button, "click", move |_| on_new_link());
    let status = append(&doc, parent, "p", "hint", "");
    let _ = status.set_attribute("id", "room-key-status");
    let _ = status.set_attribute("role", "status");
    let link = append(
        &doc,
        parent,
        "label",
        "key-link",
        "Anyone with this link can read and write here: share it privately. The key is after the #, which no browser sends to a server.",
    );
    let link_box = append(&doc, &link, "input", "", "");
    let _ = link_box.set_attribute("id", "room-key-link");
    let _ = link_box.set_attribute("type", "text");
    let _ = link_box.set_attribute("readonly", "");
    Some(KeyTools {
        status,
        link,
        link_box: link_box.dyn_into().ok()?,
        _click: click,
    })
}

impl KeyTools {
    /// Show where the open room's key stands (`None`: not private), and its link if this
    /// tab has one.
    fn show(
        &self,
        open: &RoomName,
        state: Option<&KeyState>,
        remembered: &Kept,
        link: Option<&str>,
    ) {
        let (name, words) = match state {
            Some(state) => key_words(open, state, remembered),
            None => ("", String::new()),
        };
        if name.is_empty() {
            let _ = self.status.remove_attribute("data-key");
        } else {
            let _ = self.status.set_attribute("data-key", name);
        }
        self.status.set_text_content(Some(&words));
        match link {
            Some(link) => {
                self.link_box.set_value(link);
                let _ = self.link.remove_attribute("hidden");
            }
            None => {
                self.link_box.set_value("");
                let _ = self.link.set_attribute("hidden", "");
            }
        }
    }
}

/// Where a private room's key stands: a name for `data-key` (missing, deriving, ready,
/// checked: the room's key check says it is the room's, wrong, failed), and words.
fn key_words(open: &RoomName, state: &KeyState, remembered: &Kept) -> (&'static str, String) {
    let room = open.as_str();
    let kept = match remembered {
        Kept::Yes => " Its key is remembered on this device until you forget it.".to_owned(),
        Kept::Failed(why) => format!(
            " Its key could not be remembered on this device ({why}): it is used in this tab only."
        ),
        Kept::No => String::new(),
    };
    match state {
        KeyState::Missing => ("missing", format!(
            "{room} is private and this tab has no key: enter the room's name with its passphrase to read and send."
        )),
        KeyState::Deriving => ("deriving", "Making the room's key…".to_owned()),
        KeyState::Ready { checked: true } => ("checked", format!(
            "{room} is private: this passphrase matches the room's key, and what you send here is encrypted with it.{kept}"
        )),
        KeyState::Ready { checked: false } => ("ready", format!(
            "{room} is private: what you send here is encrypted with this key; a message it does not open shows as undecryptable.{kept}"
        )),
        KeyState::Wrong => ("wrong", format!(
            "That passphrase does not match the room's key (its key check says so), so nothing was opened and nothing will be sent. Enter {room} with the right passphrase."
        )),
        KeyState::Failed(why) => ("failed", format!("The room's key could not be made: {why}")),
    }
}

/// One joined room: its name (a button that opens it), a lock if it is private, unread
/// count, and a leave button (not for the default room).
fn draw_room(
    doc: &Document,
    room: &RoomName,
    current: bool,
    unread: u32,
    // Private: with whether this tab holds its key (then it can be forgotten).
    private: Option<bool>,
) -> Option<Element> {
    let name = room.as_str();
    let li = doc.create_element("li").ok()?;
    let _ = li.set_attribute("data-room", name);
    if private.is_some() {
        let _ = li.set_attribute("data-private", "true");
    }
    if current {
        let _ = li.set_attribute("aria-current", "true");
        li.set_class_name("current");
    }
    keyed::button(doc, &li, "open-room", name, "", name);
    if private.is_some() {
        let lock = append(doc, &li, "span", "lock", "");
        let _ = lock.set_attribute("title", "Private: messages are encrypted in the browser");
        let _ = lock.set_attribute("role", "img");
        let _ = lock.set_attribute("aria-label", "private");
        draw_lock(doc, &lock);
    }
    if unread > 0 {
        let span = append(doc, &li, "span", "unread", &unread.to_string());
        let _ = span.set_attribute("title", &format!("{unread} unread"));
    }
    if private == Some(true) {
        let label = format!("Forget the key of {name} in this tab");
        keyed::button(doc, &li, "forget-key", name, &label, "forget key");
    }
    if !room.is_default() {
        let label = format!("Leave {name}");
        keyed::button(doc, &li, "leave-room", name, &label, "×");
    }
    Some(li)
}
