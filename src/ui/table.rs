//! `#messages`: one row per message, newest last, text always rendered as text.
//! It follows new rows while the user is at the bottom, and stays put when they scrolled up.

use std::sync::Arc;

use std::collections::HashMap;

use chat::{Delivery, Outbox, Refusal, Row, RowKind};
use leptos::html::Div;
use leptos::prelude::*;

use crate::browser::format_time;
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
                    if let Some(el) = scroller.try_get_untracked().flatten() {
                        el.set_scroll_top(el.scroll_height());
                        followed_to.try_set_value(el.scroll_top());
                    }
                },
                std::time::Duration::ZERO,
            );
        }
    });

    // Rows are shared, so this snapshot costs a reference count per row.
    let rows = move || log.with(|l| l.rows().cloned().collect::<Vec<Arc<Row>>>());
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
                >
                    <For each=rows key=|row| row.key let:row>
                        <MessageRow
                            row=row
                            outbox=session.outbox
                            outbox_known=session.outbox_known
                            refusals=session.refusals
                            vouched=session.vouched
                        />
                    </For>
                </tbody>
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

#[component]
fn MessageRow(
    row: Arc<Row>,
    outbox: RwSignal<Outbox>,
    outbox_known: RwSignal<bool>,
    refusals: RwSignal<HashMap<String, Refusal>>,
    vouched: RwSignal<bool>,
) -> impl IntoView {
    let (name, kind, title) = match &row.kind {
        RowKind::Chat => (row.name.clone(), "chat", String::new()),
        RowKind::Raw(reason) => (
            format!("raw · {reason}"),
            "raw",
            format!("This payload is {reason}; it is shown as text."),
        ),
        RowKind::Skipped { .. } => (
            row.name.clone(),
            "skipped",
            "Too large to show; it was acknowledged and skipped so the chat goes on.".to_owned(),
        ),
    };
    // Own rows read their state from the outbox: still there means queued or sent, gone
    // means the broker acknowledged it. Unknown (the stored outbox could not be read): no
    // state rather than a wrong "delivered". A memo, so an outbox change re-renders only the
    // rows whose state changed.
    let own_id = row.own.then(|| row.id.clone()).flatten();
    // Refused (MQTT 5 PUBACK) or never seen back (3.1.1, signed in): said on the row.
    let refusal = Memo::new({
        let id = own_id.clone();
        move |_| {
            id.as_ref()
                .and_then(|id| refusals.with(|r| r.get(id).cloned()))
        }
    });
    let delivery = own_id.map(|id| {
        let state = Memo::new(move |_| {
            outbox_known.get().then(|| {
                outbox
                    .with(|o| o.delivery(&id))
                    .unwrap_or(Delivery::Acknowledged)
            })
        });
        move || match refusal.get() {
            Some(r) => {
                let class = r.class();
                Some(
                    view! { <span class="delivery" data-delivery=class>{r.label()}</span> }
                        .into_any(),
                )
            }
            None => state.get().map(|d| {
                let d = d.label();
                view! { <span class="delivery" data-delivery=d>{d}</span> }.into_any()
            }),
        }
    });
    // Shown only while the broker is known to pin authors (see `session::vouch`).
    let verified = {
        let author = row.verified.clone();
        move || author.clone().filter(|_| vouched.get())
    };
    let row_title = {
        let verified = verified.clone();
        move || match verified() {
            Some(user) => format!("Verified: the broker checked that {user} sent this."),
            None => title.clone(),
        }
    };
    view! {
        <tr
            class=kind
            class:own=row.own
            class:catch-up=row.catch_up
            class:verified={
                let verified = verified.clone();
                move || verified().is_some()
            }
            class:refused=move || refusal.with(|r| matches!(r, Some(Refusal::Refused(_))))
            class:unconfirmed=move || refusal.with(|r| matches!(r, Some(Refusal::NotSeenBack)))
            data-own=row.own.to_string()
            data-author=verified
            title=row_title
        >
            <td class="name">{name}</td>
            <td class="message">{row.text.clone()}</td>
            <td class="time">
                <time>{format_time(row.received_at)}</time>
                {row.catch_up.then(|| view! { <span class="caught-up" title="Sent while this tab was away; another tab passed it on.">"caught up"</span> })}
                {delivery}
            </td>
        </tr>
    }
}
