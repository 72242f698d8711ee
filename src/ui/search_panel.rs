//! The search's results (`#search-results`), a chunk fetched the first time the search opens
//! (`chunks::LazySearchPanel`). It reads what every joined room stored, then keeps up with
//! what arrives (`session::search`), and lists the newest matches with the match marked.
//! Choosing one opens its room at that message.

use std::collections::HashSet;
use std::ops::Range;

use chat::search::{excerpt, SHOWN_HITS};
use chat::{Found, Hit, RoomName, SearchIndex};
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::search::SearchState;
use crate::browser::format_time;
use crate::browser::route::PageRoute;
use crate::session::{ChatSession, StoredRead};

/// Chars of a message shown in a result.
const EXCERPT_CHARS: usize = 120;

/// Where reading the stored messages stands.
#[derive(Clone, Debug, PartialEq)]
enum Reading {
    Going,
    Done,
    /// Some rooms' stored messages could not be read: why, in words.
    Failed(String),
}

#[component]
pub fn SearchPanel(
    session: ChatSession,
    state: SearchState,
    route: RwSignal<PageRoute>,
    /// The stored messages, being read since the search opened.
    stored: futures::channel::mpsc::UnboundedReceiver<StoredRead>,
) -> impl IntoView {
    let mut searched = SearchIndex::default();
    searched.set_own_author(&session.own_author());
    let index = StoredValue::new_local(searched);
    let reading = RwSignal::new(Reading::Going);
    // Bumped when the index changed outside the results' own reads.
    let filled = RwSignal::new(0u32);
    // Each filling of the index; a read from an earlier one drops what it brings.
    let generation = StoredValue::new(0u32);
    // Listening began with the read of storage (`chunks::LazySearchPanel`).
    on_cleanup(move || session.search_listen(false));

    // The index from what the rooms' logs hold now (what arrives from here on comes fresh).
    let from_logs = move || {
        generation.update_value(|g| *g = g.wrapping_add(1));
        index.update_value(|i| {
            i.clear();
            session.search_fresh();
            for (room, row) in session.search_held() {
                i.add_row(&room, row);
            }
        });
        generation.get_value()
    };
    let mine = from_logs();
    leptos::task::spawn_local(async move {
        use futures::StreamExt;
        let mut read = stored;
        let mut failed = None;
        while let Some(part) = read.next().await {
            if generation.try_get_value() != Some(mine) {
                return;
            }
            match part {
                StoredRead::Room(room, payloads) => {
                    index.try_update_value(|i| {
                        for (payload, at) in payloads {
                            i.add_stored(&room, &payload, at);
                        }
                    });
                }
                StoredRead::Opened(room, plain) => {
                    index.try_update_value(|i| {
                        for (payload, at) in plain {
                            i.add_opened(&room, &payload, at);
                        }
                    });
                }
                StoredRead::Done(done) => {
                    failed = done.err().map(|e| e.to_string());
                    break;
                }
            }
        }
        reading.try_set(match failed {
            Some(why) => Reading::Failed(why),
            None => Reading::Done,
        });
        filled.try_update(|n| *n += 1);
        crate::bench::mark("mqtt-chat:search-ready");
    });
    // The history was cleared: storage may not have done it yet, so the index is made
    // again from the logs (what is left: unsent messages), and a read under way stops.
    let cleared = session.history_cleared;
    Effect::new(move |first: Option<()>| {
        cleared.track();
        if first.is_some() {
            from_logs();
            reading.set(Reading::Done);
            filled.update(|n| *n += 1);
        }
    });

    // What arrived goes in whether the results show or not (the index stays bounded).
    let found = Memo::new(move |_| {
        filled.track();
        session.search_tick.track();
        session.log.track();
        let fresh = session.search_fresh();
        index.update_value(|i| {
            for (room, row) in fresh {
                i.add_row(&room, row);
            }
        });
        if !state.open.get() {
            return Found::default();
        }
        let query = state.query.get();
        let joined: HashSet<RoomName> =
            session.rooms.with(|r| r.joined().iter().cloned().collect());
        let found = index.with_value(|i| i.search(&query, |room| joined.contains(room)));
        crate::bench::searched();
        found
    });

    // The box's keys: Escape closes, Down goes to the results, Enter takes the first.
    if let Some(input) = state.input.get_untracked() {
        let keys = gloo_events::EventListener::new(&input, "keydown", move |ev| {
            let Some(ev) = ev.dyn_ref::<web_sys::KeyboardEvent>() else {
                return;
            };
            let first = state.results().into_iter().next();
            match (ev.key().as_str(), first) {
                ("Escape", _) => {
                    ev.prevent_default();
                    state.close();
                }
                ("ArrowDown", Some(first)) => {
                    ev.prevent_default();
                    let _ = first.focus();
                }
                ("Enter", Some(first)) => {
                    ev.prevent_default();
                    first.click();
                }
                _ => {}
            }
        });
        let keys = StoredValue::new_local(Some(keys));
        on_cleanup(move || drop(keys.try_update_value(Option::take)));
    }

    let choose = move |hit: &Hit| {
        state.close();
        if route.with_untracked(PageRoute::is_watch) {
            if let Some(window) = web_sys::window() {
                let _ = window.location().set_hash("#/");
            }
            route.set(PageRoute::Chat);
        }
        session.reveal(hit.room.clone(), hit.row.clone());
    };
    let status = move || {
        let query = state.query.with(|q| q.trim().to_owned());
        let total = found.with(|f| f.total);
        let reading = reading.get();
        let head = if query.is_empty() {
            "Type to search the messages of every room.".to_owned()
        } else if total == 0 {
            format!("No messages match “{query}”.")
        } else if total > SHOWN_HITS {
            format!("The newest {SHOWN_HITS} of {total} messages that match.")
        } else if total == 1 {
            "1 message matches.".to_owned()
        } else {
            format!("{total} messages match.")
        };
        match reading {
            Reading::Going => format!("{head} Reading stored messages…"),
            Reading::Done => head,
            Reading::Failed(why) => {
                format!("{head} Some stored messages could not be read ({why}); this tab's are searched.")
            }
        }
    };
    view! {
        <div class="search-panel" hidden=move || !state.open.get()>
            <p id="search-status" role="status">{status}</p>
            <ul id="search-results" role="listbox" aria-label="Search results">
                {move || {
                    found
                        .get()
                        .hits
                        .into_iter()
                        .map(|hit| view! { <Result hit=hit choose=choose state=state /> })
                        .collect_view()
                }}
            </ul>
            <button type="button" class="link search-close" on:click=move |_| state.close()>
                "Close"
            </button>
        </div>
    }
}

#[component]
fn Result(hit: Hit, choose: impl Fn(&Hit) + Copy + 'static, state: SearchState) -> impl IntoView {
    let row = hit.row.clone();
    let (text, text_mark) = excerpt(&row.text, hit.text_mark.clone(), EXCERPT_CHARS);
    let name = if row.name.is_empty() {
        "raw".to_owned()
    } else {
        row.name.clone()
    };
    let name_mark = hit.name_mark.clone().filter(|_| !row.name.is_empty());
    let hit = StoredValue::new(hit);
    let on_keydown = move |ev: KeyboardEvent| {
        let Some(li) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        let next = match ev.key().as_str() {
            "Enter" | " " => {
                ev.prevent_default();
                hit.with_value(|h| choose(h));
                return;
            }
            "Escape" => {
                ev.prevent_default();
                state.close();
                return;
            }
            "ArrowDown" => li.next_element_sibling(),
            "ArrowUp" => li
                .previous_element_sibling()
                .or_else(|| state.input.get_untracked().map(Into::into)),
            _ => return,
        };
        ev.prevent_default();
        if let Some(next) = next.and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = next.focus();
        }
    };
    view! {
        <li
            role="option"
            tabindex="0"
            data-room=hit.with_value(|h| h.room.as_str().to_owned())
            data-id=row.dom_id()
            on:click=move |_| hit.with_value(|h| choose(h))
            on:keydown=on_keydown
        >
            <span class="search-room">{format!("# {}", hit.with_value(|h| h.room.clone()))}</span>
            <span class="search-name">{marked(name, name_mark)}</span>
            <span class="search-text">{marked(text, text_mark)}</span>
            <time>{format_time(row.received_at)}</time>
        </li>
    }
}

/// `text` with `mark` in a `<mark>`, all of it as text (never HTML).
fn marked(text: String, mark: Option<Range<usize>>) -> impl IntoView {
    match mark.filter(|m| text.get(m.clone()).is_some()) {
        Some(m) => {
            let (before, rest) = text.split_at(m.start);
            let (matched, after) = rest.split_at(m.end - m.start);
            leptos::either::Either::Left(view! {
                {before.to_owned()}
                <mark>{matched.to_owned()}</mark>
                {after.to_owned()}
            })
        }
        None => leptos::either::Either::Right(text),
    }
}
