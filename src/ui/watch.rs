//! `#watch`: the topic viewer. A form to watch a filter (`#filter`, `#filter-qos`), the
//! filters watched with the broker's answer (`#filters`), and what arrived on them, either
//! as a stream (`#stream`, newest last) or as the latest message per topic (`#latest`, one
//! row per topic, updated in place). Payloads are text, or hex when not UTF-8, cut with
//! their full size said, and always rendered as text.

use std::sync::Arc;

use chat::watch::size_words;
use chat::{Body, FilterState, Seen, Watch, WatchError};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use mqtt_core::QoS;

use crate::browser::route::{self, PageRoute};
use crate::browser::{format_time, wall_clock_ms};
use crate::session::ChatSession;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Stream,
    Latest,
}

#[component]
pub fn TopicViewer(
    session: ChatSession,
    route: RwSignal<PageRoute>,
    #[prop(into)] hidden: Signal<bool>,
) -> impl IntoView {
    let watch = session.watch;
    let mode = RwSignal::new(Mode::Stream);
    let pretty = RwSignal::new(false);
    let draft = RwSignal::new(String::new());
    let qos = RwSignal::new(QoS::AtMostOnce);
    let error = RwSignal::new(None::<String>);

    // A link to the viewer watches the filters it names (a refused one is said, as if typed).
    Effect::new(move |_| {
        let PageRoute::Watch {
            filters,
            qos: link_qos,
        } = route.get()
        else {
            return;
        };
        for filter in filters {
            let qos = link_qos.unwrap_or(QoS::AtMostOnce);
            match session.watch_filter(&filter, qos) {
                Ok(()) | Err(WatchError::Already(_)) => {}
                Err(e) => error.set(Some(e.to_string())),
            }
        }
    });
    // The address names what is watched, so it can be shared or bookmarked.
    Effect::new(move |_| {
        let filters = watch.with(|w| {
            w.filters()
                .iter()
                .map(|f| f.filter.clone())
                .collect::<Vec<_>>()
        });
        if route.with(PageRoute::is_watch) {
            route::replace_hash(&route::watch_hash(filters.iter().map(String::as_str)));
        }
    });

    let on_watch = move |ev: SubmitEvent| {
        ev.prevent_default();
        match session.watch_filter(&draft.get_untracked(), qos.get_untracked()) {
            Ok(()) => {
                draft.set(String::new());
                error.set(None);
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };

    // The rate is read once a second, so it falls to 0 when nothing comes.
    let now = RwSignal::new(wall_clock_ms());
    let tick = set_interval_with_handle(
        move || {
            now.try_set(wall_clock_ms());
        },
        std::time::Duration::from_secs(1),
    );
    on_cleanup(move || {
        if let Ok(t) = tick {
            t.clear();
        }
    });
    let rate = move || watch.with(|w| w.rate(now.get().max(wall_clock_ms())));
    let counted = move || watch.with(|w| w.counted());
    let while_paused = move || watch.with(|w| w.while_paused());
    let paused = move || watch.with(|w| w.paused());
    let count_words = move || {
        let n = counted();
        let mut words = format!("{n} message{}", if n == 1 { "" } else { "s" });
        if paused() {
            words.push_str(&format!(", {} while paused", while_paused()));
        }
        words
    };

    let filters = move || watch.with(|w| w.filters().to_vec());
    let streaming = move || mode.get() == Mode::Stream;
    // Stream rows have no count; latest rows have how many came on their topic.
    // The stream: a row per message. Latest: a row per topic, which stays while its topic
    // does and updates in place, so a burst over many topics changes text, not rows.
    let rows = move || {
        watch.with(|w| {
            if streaming() {
                w.stream()
                    .into_iter()
                    .map(Item::Message)
                    .collect::<Vec<_>>()
            } else {
                w.latest_topics().into_iter().map(Item::Topic).collect()
            }
        })
    };

    view! {
        <section
            id="watch"
            class="watch-view"
            aria-label="Topic viewer"
            hidden=move || hidden.get()
            data-mode=move || if mode.get() == Mode::Stream { "stream" } else { "latest" }
        >
            <div class="watch-head">
                <h2 class="room-title">"Topic viewer"</h2>
                <a id="chat-link" href="#/">"Back to the chat"</a>
            </div>
            <form id="watch-form" class="watch-form" on:submit=on_watch novalidate>
                <label for="filter">"Topic filter"</label>
                <input
                    id="filter"
                    type="text"
                    placeholder="matches/# or sensors/+/temperature"
                    autocomplete="off"
                    spellcheck="false"
                    aria-describedby="filter-error"
                    prop:value=move || draft.get()
                    on:input=move |ev| {
                        draft.set(event_target_value(&ev));
                        error.set(None);
                    }
                />
                <label for="filter-qos">"QoS"</label>
                <select
                    id="filter-qos"
                    on:change=move |ev| {
                        qos.set(
                            if event_target_value(&ev) == "1" {
                                QoS::AtLeastOnce
                            } else {
                                QoS::AtMostOnce
                            },
                        )
                    }
                >
                    <option value="0" selected>"0"</option>
                    <option value="1">"1"</option>
                </select>
                <button id="subscribe" type="submit">"Watch"</button>
                <p id="filter-error" class="hint" role="alert">{move || error.get()}</p>
            </form>
            <ul id="filters" class="filters" aria-label="Watched filters">
                <For each=filters key=|f| (f.filter.clone(), state_key(&f.state)) let:f>
                    <li
                        data-filter=f.filter.clone()
                        data-state=state_key(&f.state)
                        class=format!("filter {}", state_key(&f.state))
                    >
                        <code class="filter-name">{f.filter.clone()}</code>
                        <span class="filter-state">{state_words(&f.state, f.qos)}</span>
                        <button
                            class="unwatch"
                            type="button"
                            aria-label=format!("Stop watching {}", f.filter)
                            on:click={
                                let filter = f.filter.clone();
                                move |_| session.unwatch(&filter)
                            }
                        >
                            "Stop"
                        </button>
                    </li>
                </For>
            </ul>
            <div class="watch-controls" role="toolbar" aria-label="Viewer controls">
                <button
                    id="mode-stream"
                    type="button"
                    aria-pressed=move || (mode.get() == Mode::Stream).to_string()
                    on:click=move |_| mode.set(Mode::Stream)
                >
                    "Stream"
                </button>
                <button
                    id="mode-latest"
                    type="button"
                    aria-pressed=move || (mode.get() == Mode::Latest).to_string()
                    on:click=move |_| mode.set(Mode::Latest)
                >
                    "Latest by topic"
                </button>
                <label class="check">
                    <input
                        id="pretty-json"
                        type="checkbox"
                        prop:checked=move || pretty.get()
                        on:change=move |ev| pretty.set(event_target_checked(&ev))
                    />
                    "Pretty JSON"
                </label>
                <button
                    id="pause"
                    type="button"
                    aria-pressed=move || paused().to_string()
                    on:click=move |_| session.pause_watch(!paused())
                >
                    {move || if paused() { "Resume" } else { "Pause" }}
                </button>
                <button id="clear" type="button" on:click=move |_| session.clear_watch()>
                    "Clear"
                </button>
                <span id="watch-rate" class="rate" data-rate=rate>
                    {move || format!("{} msg/s", rate())}
                </span>
                <span
                    id="watch-count"
                    class="count"
                    data-counted=counted
                    data-while-paused=while_paused
                >
                    {count_words}
                </span>
            </div>
            <div class="scroller" tabindex="0" role="region" aria-label="Messages on watched topics">
                <table class="watched">
                    <thead>
                        <tr>
                            <th scope="col">"Topic"</th>
                            <th scope="col">"Payload"</th>
                            <th scope="col">"QoS"</th>
                            <th scope="col">"Retained"</th>
                            <th scope="col">
                                {move || if mode.get() == Mode::Latest { "Count" } else { "" }}
                            </th>
                            <th scope="col">"Received"</th>
                        </tr>
                    </thead>
                    // One body for both modes (`#stream` or `#latest`), so one list renders.
                    <tbody
                        id=move || if streaming() { "stream" } else { "latest" }
                        data-total=move || streaming().then(counted)
                        data-topics=move || (!streaming()).then(|| watch.with(|w| w.topics()))
                        data-evicted=move || (!streaming()).then(|| watch.with(|w| w.evicted()))
                    >
                        <For each=rows key=row_key let:item>
                            <WatchedRow item=item watch=watch pretty=pretty />
                        </For>
                    </tbody>
                </table>
            </div>
        </section>
    }
}

fn state_key(state: &FilterState) -> &'static str {
    match state {
        FilterState::Pending => "pending",
        FilterState::Active(_) => "active",
        FilterState::Refused(_) => "refused",
    }
}

fn state_words(state: &FilterState, asked: QoS) -> String {
    match state {
        FilterState::Pending => "waiting for the broker".into(),
        FilterState::Active(granted) if *granted as u8 == asked as u8 => {
            format!("QoS {}", *granted as u8)
        }
        FilterState::Active(granted) => format!("QoS {} (granted)", *granted as u8),
        FilterState::Refused(why) => format!("refused: {why}"),
    }
}

/// A row of the table: one message of the stream, or one topic of the latest view.
#[derive(Clone)]
enum Item {
    Message(Arc<Seen>),
    Topic(String),
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum RowKey {
    Seq(u64),
    Topic(String),
}

fn row_key(item: &Item) -> RowKey {
    match item {
        Item::Message(seen) => RowKey::Seq(seen.seq),
        Item::Topic(topic) => RowKey::Topic(topic.clone()),
    }
}

/// What a row shows: a message, and for a topic row how many came on it. Equal when the
/// same message and count, so a topic row changes only when its topic got a message.
#[derive(Clone)]
struct Shown {
    seen: Arc<Seen>,
    count: Option<u64>,
}

impl PartialEq for Shown {
    fn eq(&self, other: &Self) -> bool {
        self.seen.seq == other.seen.seq && self.count == other.count
    }
}

/// The payload's words beside it: cut, binary, or too large to take in.
fn payload_note(seen: &Seen) -> Option<String> {
    match &seen.body {
        Body::Text { cut, .. } => cut.then(|| format!("cut: {} in all", size_words(seen.size))),
        Body::Hex { cut: true, .. } => {
            Some(format!("binary, cut: {} in all", size_words(seen.size)))
        }
        Body::Hex { .. } => Some(format!("binary, {}", size_words(seen.size))),
        Body::Skipped { limit } => Some(format!(
            "{}: over this app's {} limit, not shown",
            size_words(seen.size),
            size_words(*limit)
        )),
    }
}

fn payload_text(seen: &Seen, pretty: bool) -> String {
    match &seen.body {
        Body::Text { text, .. } => pretty
            .then(|| seen.pretty_json())
            .flatten()
            .unwrap_or_else(|| text.clone()),
        Body::Hex { hex, .. } => hex.clone(),
        Body::Skipped { .. } => String::new(),
    }
}

/// One row, its payload always as text. A stream row shows its message for good; a topic
/// row follows its topic's latest message in place (its cells change, the row stays).
#[component]
fn WatchedRow(item: Item, watch: RwSignal<Watch>, pretty: RwSignal<bool>) -> impl IntoView {
    let shown: Signal<Option<Shown>> = match item {
        Item::Message(seen) => {
            let shown = Some(Shown { seen, count: None });
            Signal::derive(move || shown.clone())
        }
        Item::Topic(topic) => Memo::new(move |_| {
            watch.with(|w| w.latest_of(&topic)).map(|(seen, n)| Shown {
                seen,
                count: Some(n),
            })
        })
        .into(),
    };
    let with = move |f: fn(&Shown) -> String| move || shown.with(|s| s.as_ref().map(f));
    let count = move || shown.with(|s| s.as_ref().and_then(|s| s.count));
    let retained = move || shown.with(|s| s.as_ref().is_some_and(|s| s.seen.retain));
    view! {
        <tr
            data-seq=with(|s| s.seen.seq.to_string())
            data-format=with(|s| s.seen.format().to_owned())
            data-retained=move || retained().to_string()
            data-topic=move || {
                shown.with(|s| s.as_ref().filter(|s| s.count.is_some()).map(|s| s.seen.topic.clone()))
            }
            data-count=count
            class:retained=retained
        >
            <td class="topic">
                {with(|s| s.seen.topic.clone())}
                {move || {
                    shown
                        .with(|s| {
                            s.as_ref()
                                .filter(|s| s.seen.topic_size > s.seen.topic.len())
                                .map(|s| size_words(s.seen.topic_size))
                        })
                        .map(|size| {
                            view! { <span class="size">{format!("… topic cut: {size} in all")}</span> }
                        })
                }}
            </td>
            <td class="payload">
                <pre class="body">
                    {move || shown.with(|s| s.as_ref().map(|s| payload_text(&s.seen, pretty.get())))}
                </pre>
                {move || {
                    shown
                        .with(|s| s.as_ref().and_then(|s| payload_note(&s.seen)))
                        .map(|n| view! { <span class="size">{n}</span> })
                }}
            </td>
            <td class="qos">{with(|s| (s.seen.qos as u8).to_string())}</td>
            <td class="retained">{move || if retained() { "retained" } else { "" }}</td>
            <td class="count">{count}</td>
            <td class="time">{with(|s| format_time(s.seen.at))}</td>
        </tr>
    }
}
