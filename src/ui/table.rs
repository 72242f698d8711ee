//! `#messages`: one row per message, newest last, text always rendered as text.
//! It follows new rows while the user is at the bottom, and stays put when they scrolled up.

use std::sync::Arc;

use chat::Row;
use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::session::{ChatSession, HistoryState};

#[component]
pub fn MessageTable(session: ChatSession) -> impl IntoView {
    let log = session.log;
    let scroller = NodeRef::<Div>::new();
    // Whether to follow new rows: the user is at the bottom, as of their last scroll.
    let (at_bottom, set_at_bottom) = signal(true);
    // Where the view was last put by following. Our own scroll events can arrive after more
    // rows were added, and must not read as the user leaving the bottom: only a scroll above
    // this point is the user's.
    let followed_to = StoredValue::new(0);

    let on_scroll = move |_| {
        if let Some(el) = scroller.get() {
            let gap = el.scroll_height() - el.scroll_top() - el.client_height();
            let not_moved_up = el.scroll_top() >= followed_to.get_value();
            set_at_bottom.set(gap <= 24 || (not_moved_up && at_bottom.get_untracked()));
        }
    };
    Effect::new(move |_| {
        log.with(|l| l.total());
        if at_bottom.get_untracked() {
            // A macrotask runs after Leptos has put the new rows in the DOM (it updates in
            // microtasks). Not requestAnimationFrame: that never fires in a hidden tab.
            // The table may be gone by then.
            set_timeout(
                move || {
                    // A search result may have been scrolled to since.
                    if !at_bottom.try_get_untracked().unwrap_or_default() {
                        return;
                    }
                    if let Some(el) = scroller.try_get_untracked().flatten() {
                        el.set_scroll_top(el.scroll_height());
                        followed_to.try_set_value(el.scroll_top());
                    }
                },
                std::time::Duration::ZERO,
            );
        }
    });

    // The rows are drawn by hand (see `message_rows`), once per change of the log or of
    // what own rows show (their delivery, a refusal, verified authors).
    let body = NodeRef::<leptos::html::Tbody>::new();
    let drawn = StoredValue::new_local(super::message_rows::Rows::default());
    // The search result last scrolled to, so a later redraw does not scroll back to it.
    let scrolled_to = StoredValue::new(None::<(String, u32)>);
    Effect::new(move |_| {
        let Some(body) = body.get() else {
            return;
        };
        let known = session.outbox_known.get();
        let vouched = session.vouched.get();
        let found = session.found.get();
        let me = session.person();
        let name = session.name.get();
        let private = session
            .privacy
            .with(|p| session.rooms.with(|r| p.is_private(r.open())));
        log.with(|l| {
            // Rows are shared, so this snapshot costs a reference count per row.
            let rows = l.rows().cloned().collect::<Vec<Arc<Row>>>();
            session.outbox.with(|outbox| {
                session.refusals.with(|refusals| {
                    let cx = super::message_rows::Context {
                        outbox: known.then_some(outbox),
                        refusals,
                        vouched,
                        found: found.as_ref().map(|(id, _)| id.as_str()),
                        reactions: Some(l.reactions()),
                        me: &me,
                        name: &name,
                        private,
                    };
                    drawn.update_value(|d| super::message_rows::sync(&body, d, &rows, &cx));
                })
            })
        });
        if found.is_some() && scrolled_to.with_value(|s| *s != found) {
            let row = body
                .query_selector_all("tr.found")
                .ok()
                .and_then(|rows| rows.get(0));
            if let Some(row) = row.and_then(|r| r.dyn_into::<web_sys::Element>().ok()) {
                scrolled_to.set_value(found);
                set_at_bottom.set(false);
                let options = web_sys::ScrollIntoViewOptions::new();
                options.set_block(web_sys::ScrollLogicalPosition::Center);
                row.scroll_into_view_with_scroll_into_view_options(&options);
            }
        }
    });
    // A row's reply button and a reply's quote, for every row at once.
    let act = move |target: Option<web_sys::EventTarget>| {
        let Some(target) = target.and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else {
            return false;
        };
        if let Some(quote) = target.closest(".quote[data-to]").ok().flatten() {
            let Some(to) = quote.get_attribute("data-to") else {
                return false;
            };
            leptos::task::spawn_local(async move {
                match session.jump_to(to).await {
                    Ok(()) => {
                        quote.class_list().remove_1("missing").ok();
                        let _ = quote.set_attribute("title", "Go to the message answered");
                    }
                    Err(e) => {
                        quote.class_list().add_1("missing").ok();
                        let _ = quote.set_attribute("title", &e.to_string());
                    }
                }
            });
            return true;
        }
        if let Some(done) = super::reactions::clicked(session, &target) {
            return done;
        }
        let Some(button) = target.closest("button.reply").ok().flatten() else {
            return false;
        };
        let Some(tr) = button.closest("tr").ok().flatten() else {
            return false;
        };
        let cell = |class: &str| {
            tr.query_selector(class)
                .ok()
                .flatten()
                .and_then(|c| c.text_content())
                .unwrap_or_default()
        };
        let id = tr.get_attribute("data-id").unwrap_or_default();
        session.replying.set(Some(chat::Quote::of(
            &id,
            &cell("td.name"),
            &cell("td.message"),
        )));
        if let Some(message) = gloo_utils::document().get_element_by_id("message") {
            if let Ok(message) = message.dyn_into::<web_sys::HtmlElement>() {
                let _ = message.focus();
            }
        }
        true
    };
    view! {
        // Focusable, so the messages scroll from the keyboard too (arrow keys, Page Up).
        <div
            class="scroller"
            node_ref=scroller
            on:scroll=on_scroll
            tabindex="0"
            role="region"
            aria-label="Messages"
        >
            <table class="messages">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Message"</th>
                        <th scope="col">"Received"</th>
                    </tr>
                </thead>
                <tbody
                    id="messages"
                    data-total=move || log.with(|l| l.total())
                    data-history=move || session.history.get().as_str()
                    node_ref=body
                    on:click=move |ev| {
                        act(ev.target());
                    }
                    on:keydown=move |ev| {
                        let quote = ev
                            .target()
                            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                            .is_some_and(|t| t.class_list().contains("quote"));
                        if quote && (ev.key() == "Enter" || ev.key() == " ") && act(ev.target()) {
                            ev.prevent_default();
                        }
                        if ev.key() == "Escape" && super::reactions::close_picker() {
                            ev.prevent_default();
                        }
                    }
                ></tbody>
            </table>
            <Show when=move || log.with(|l| l.total() == 0)>
                <p class="empty">"No messages yet. Say hello below."</p>
            </Show>
        </div>
        <p class="counts">
            <span>
                {move || log.with(|l| {
                    let raw = l.raw_count();
                    let mut s = format!("{} messages", l.total());
                    if raw > 0 {
                        s.push_str(&format!(" · {raw} not chat JSON (shown as raw)"));
                    }
                    s
                })}
            </span>
            <Show when=move || session.history.get() != HistoryState::Off>
                <ExportHistory session=session />
                <button
                    id="clear-history"
                    type="button"
                    class="link"
                    title="Forget the messages this browser keeps. Unsent messages stay."
                    on:click=move |_| session.clear_history()
                >
                    "Clear history"
                </button>
            </Show>
        </p>
    }
}

/// `#export-history`: the open room's stored history as a JSON or CSV file
/// (`#export-format`), its outcome in `#export-status`.
#[component]
fn ExportHistory(session: ChatSession) -> impl IntoView {
    let format = RwSignal::new("json".to_owned());
    let status = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let export = move |_| {
        let Some(chosen) = chat::export::Format::parse(&format.get_untracked()) else {
            return;
        };
        busy.set(true);
        status.set("Exporting…".into());
        leptos::task::spawn_local(async move {
            let words = match session.export_history(chosen).await {
                Ok(words) | Err(words) => words,
            };
            status.try_set(words);
            busy.try_set(false);
        });
    };
    view! {
        <span class="export">
            <label class="visually-hidden" for="export-format">"Export format"</label>
            <select
                id="export-format"
                prop:value=move || format.get()
                on:change=move |ev| format.set(event_target_value(&ev))
            >
                <option value="json">"JSON"</option>
                <option value="csv">"CSV"</option>
            </select>
            <button
                id="export-history"
                type="button"
                class="link"
                title="Download this room's stored messages"
                disabled=move || busy.get()
                on:click=export
            >
                "Export"
            </button>
            <span id="export-status" role="status">{move || status.get()}</span>
        </span>
    }
}
