//! `#presence`: who is in the open room, one line per person (several tabs show once): the
//! people online, then the offline ones of the last day collapsed under "N offline". Who is
//! listed where is [`chat::Presence::listing`]; this only draws it.

use std::time::Duration;

use leptos::html::Ul;
use leptos::prelude::*;

use super::keyed::{self, Item};

use crate::browser::wall_clock_ms;
use crate::session::ChatSession;
use chat::{Listing, Person};

#[component]
pub fn PresenceList(
    session: ChatSession,
    /// The viewer is shown instead.
    #[prop(into)]
    hidden: Signal<bool>,
) -> impl IntoView {
    // The moment a timer is set for (infinity: none): when the next offline person listed
    // has been gone a day and leaves the list. The timer sets it back to infinity, so the
    // listing is read again (and the timer after it set).
    let wake = RwSignal::new(f64::INFINITY);
    let listing = Memo::new(move |_| {
        session.presence_tick.track();
        let armed = wake.get();
        let room = session.rooms.with(|r| r.open().as_str().to_owned());
        let now = wall_clock_ms();
        let listing = session.listing(&room, now);
        if let Some(at) = listing.changes_at.filter(|at| *at < armed) {
            wake.update_untracked(|w| *w = at);
            let wait = Duration::from_millis((at - now) as u64 + 20);
            set_timeout(move || wake.set(f64::INFINITY), wait);
        }
        listing
    });
    let online = NodeRef::<Ul>::new();
    let offline = NodeRef::<Ul>::new();
    draw(online, session, listing, |l| &l.online);
    draw(offline, session, listing, |l| &l.offline);
    let count = move |f: fn(&Listing) -> usize| listing.with(f);
    view! {
        <aside class="people" aria-label="People in this room" hidden=move || hidden.get()>
            <h2 class="panel-title">
                "Here "
                <span class="count">
                    {move || format!("({} online)", count(|l| l.online_count))}
                </span>
            </h2>
            <div id="presence">
                <ul class="online" node_ref=online></ul>
                <details class="offline" hidden=move || count(|l| l.offline_count) == 0>
                    <summary>{move || format!("{} offline", count(|l| l.offline_count))}</summary>
                    <ul node_ref=offline></ul>
                </details>
            </div>
            {move || {
                let more = count(Listing::more);
                (more > 0).then(|| view! { <p class="more">{format!("and {more} more")}</p> })
            }}
        </aside>
    }
}

/// Keep `list` showing the people `pick` takes from the listing: `li` elements with
/// `data-state` (`online` or `offline`), `data-person`, and the name as text, never HTML.
/// Drawn by hand (see `keyed`): the lists change with every status that comes.
fn draw(
    list: NodeRef<Ul>,
    session: ChatSession,
    listing: Memo<Listing>,
    pick: fn(&Listing) -> &Vec<Person>,
) {
    keyed::keep_drawn(list, move |sync| {
        let vouched = session.vouched.get();
        listing.with(|l| {
            let shown = pick(l);
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
}
