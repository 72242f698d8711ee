//! `#presence`: who is in the open room, one line per person (several tabs show once),
//! online first.

use leptos::prelude::*;

use super::keyed::{self, Item};

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
    // Drawn by hand (see `keyed`): the list changes with every status that comes.
    let list = NodeRef::<leptos::html::Ul>::new();
    keyed::keep_drawn(list, move |sync| {
        let vouched = session.vouched.get();
        people.with(|(shown, _)| {
            let items: Vec<Item> = shown
                .iter()
                .map(|p| Item {
                    key: p.person.clone(),
                    look: format!("{}|{}|{}", p.online, p.verified && vouched, p.name),
                })
                .collect();
            sync(&items, &|doc, i| {
                let p = &shown[i];
                let li = doc.create_element("li").ok()?;
                let state = if p.online { "online" } else { "offline" };
                let _ = li.set_attribute("data-state", state);
                let _ = li.set_attribute("data-person", &p.person);
                if p.verified && vouched {
                    li.set_class_name("verified");
                    let title = format!("Verified: signed in as {}", p.name);
                    let _ = li.set_attribute("title", &title);
                }
                li.set_text_content(Some(&p.name));
                Some(li)
            });
        });
    });
    view! {
        <aside class="people" aria-label="People in this room" hidden=move || hidden.get()>
            <h2 class="panel-title">
                "Here "
                <span class="count">{move || format!("({} online)", online())}</span>
            </h2>
            <ul id="presence" node_ref=list></ul>
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
