//! `#watch`: the topic viewer. A form to watch a filter (`#filter`, `#filter-qos`), the
//! filters watched with the broker's answer and how each one's payloads are read
//! (`#filters`: decoder, chart path), and what arrived on them: a stream (`#stream`, newest
//! last), the latest message per topic (`#latest`, one row per topic, updated in place) or
//! the topic tree (`#tree`). Payloads are text, hex when not UTF-8, or what the filter's
//! decoder read, cut with their full size said, and always rendered as text. Beside them:
//! the publish panel, the retained messages, a chart per numeric topic, and the export.

mod chart;
mod export;
mod publish;
pub(crate) mod readers;
mod retained;
mod rows;
mod tree;
mod window;

use chat::viewer::decode::Decoder;
use chat::{FilterState, WatchError};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use mqtt_core::QoS;

use crate::browser::route::{self, PageRoute};
use crate::browser::wall_clock_ms;
use crate::session::ChatSession;
use crate::ui::keyed::{self, append, Item};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Stream,
    Latest,
    Tree,
}

impl Mode {
    fn key(self) -> &'static str {
        match self {
            Mode::Stream => "stream",
            Mode::Latest => "latest",
            Mode::Tree => "tree",
        }
    }
}

/// The viewer's own styles (`viewer.css`), added to the page once, with its chunk: they are
/// not on the chat's first screen, so not in `style.css`.
fn add_style() {
    let doc = gloo_utils::document();
    if doc.get_element_by_id("viewer-style").is_some() {
        return;
    }
    if let (Ok(style), Some(head)) = (doc.create_element("style"), doc.head()) {
        style.set_id("viewer-style");
        style.set_text_content(Some(include_str!("viewer.css")));
        let _ = head.append_child(&style);
    }
}

#[component]
pub fn TopicViewer(
    session: ChatSession,
    route: RwSignal<PageRoute>,
    #[prop(into)] hidden: Signal<bool>,
) -> impl IntoView {
    add_style();
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

    // The watched filters, drawn by hand (see `keyed`).
    let filter_list = NodeRef::<leptos::html::Ul>::new();
    keyed::keep_drawn(filter_list, move |sync| {
        watch.with(|w| {
            let filters = w.filters();
            let readers: Vec<_> = filters
                .iter()
                .map(|f| w.tools().map(|t| t.reader(&f.filter)).unwrap_or_default())
                .collect();
            let items: Vec<Item> = filters
                .iter()
                .zip(&readers)
                .map(|(f, r)| Item {
                    key: f.filter.clone(),
                    look: format!(
                        "{}\u{0}{}\u{0}{}",
                        state_words(&f.state, f.qos),
                        r.decoder.key(),
                        r.path.as_ref().map(|p| p.as_str()).unwrap_or_default()
                    ),
                })
                .collect();
            sync(&items, &|doc, i| {
                let (f, words) = (&filters[i], &state_words(&filters[i].state, filters[i].qos));
                let state = state_key(&f.state);
                let li = doc.create_element("li").ok()?;
                let _ = li.set_attribute("data-filter", &f.filter);
                let _ = li.set_attribute("data-state", state);
                li.set_class_name(&format!("filter {state}"));
                append(doc, &li, "code", "filter-name", &f.filter);
                append(doc, &li, "span", "filter-state", words);
                reader_controls(doc, &li, &f.filter, &readers[i]);
                let label = format!("Stop watching {}", f.filter);
                let stop = keyed::button(doc, &li, "unwatch", &f.filter, "", "Stop");
                let _ = stop.set_attribute("aria-label", &label);
                Some(li)
            });
        });
    });
    let on_filter_click = move |ev: leptos::ev::MouseEvent| {
        if let Some((class, filter)) = keyed::clicked(&ev) {
            if class == "unwatch" {
                session.unwatch(&filter);
            }
        }
    };
    // A filter's decoder or chart path changed: from the next message on, and kept.
    let on_filter_change = move |ev: leptos::ev::Event| {
        use wasm_bindgen::JsCast;
        let Some(el) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
        else {
            return;
        };
        let Some(filter) = el.get_attribute("data-key") else {
            return;
        };
        let value = event_target_value(&ev);
        let mut refused = None;
        watch.update(|w| {
            let tools = w.tools_mut();
            if el.class_name() == "decoder" {
                tools.set_decoder(&filter, Decoder::from_key(&value).unwrap_or_default());
            } else if let Err(e) = tools.set_path(&filter, &value) {
                refused = Some(format!("Chart path for {filter}: {e}."));
            }
        });
        error.set(refused);
        if let Some(id) = session.client_id.get_untracked() {
            watch.with_untracked(|w| readers::save(w, &id));
        }
    };
    let streaming = move || mode.get() == Mode::Stream;
    let chart = RwSignal::new(None::<String>);
    let on_rows_click = move |ev: leptos::ev::MouseEvent| {
        if let Some((class, topic)) = keyed::clicked(&ev) {
            if class == "spark" {
                chart.set(Some(topic));
            }
        }
    };
    // Stream rows have no count; latest rows have how many came on their topic.
    // The rows are drawn by hand (see `rows`), at most once a frame like the rest.
    let body = NodeRef::<leptos::html::Tbody>::new();
    let drawn = StoredValue::new_local(rows::Drawn::default());
    Effect::new(move |_| {
        let (streaming, pretty) = (streaming(), pretty.get());
        let Some(body) = body.get() else {
            return;
        };
        watch.with(|w| drawn.update_value(|d| rows::sync(&body, d, w, streaming, pretty)));
    });

    view! {
        <section
            id="watch"
            class="watch-view"
            aria-label="Topic viewer"
            hidden=move || hidden.get()
            data-mode=move || mode.get().key()
        >
            <div class="watch-main">
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
            <ul
                id="filters"
                class="filters"
                aria-label="Watched filters"
                node_ref=filter_list
                on:click=on_filter_click
                on:change=on_filter_change
            ></ul>
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
                <button
                    id="mode-tree"
                    type="button"
                    aria-pressed=move || (mode.get() == Mode::Tree).to_string()
                    on:click=move |_| mode.set(Mode::Tree)
                >
                    "Topic tree"
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
            <export::ExportWatch session=session tree=Signal::derive(move || mode.get() == Mode::Tree) streaming=Signal::derive(streaming) />
            <chart::ChartView session=session topic=chart />
            {move || (mode.get() == Mode::Tree).then(|| view! { <tree::TopicTree session=session chart=chart /> })}
            <div
                class="scroller"
                tabindex="0"
                role="region"
                aria-label="Messages on watched topics"
                hidden=move || mode.get() == Mode::Tree
            >
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
                    // One body for both modes (`#stream` or `#latest`).
                    <tbody
                        on:click=on_rows_click
                        node_ref=body
                        id=move || if streaming() { "stream" } else { "latest" }
                        data-total=move || streaming().then(counted)
                        data-topics=move || (!streaming()).then(|| watch.with(|w| w.topics()))
                        data-evicted=move || (!streaming()).then(|| watch.with(|w| w.evicted()))
                    ></tbody>
                </table>
            </div>
            </div>
            <aside class="watch-side" aria-label="Publish and retained messages">
                <publish::PublishPanel session=session />
                <retained::RetainedPanel session=session now=now />
            </aside>
        </section>
    }
}

/// A filter's decoder (`select.decoder`) and chart path (`input.chart-path`), each with
/// the filter in `data-key`; the list hears their changes.
fn reader_controls(
    doc: &web_sys::Document,
    li: &web_sys::Element,
    filter: &str,
    reader: &chat::viewer::tools::Reader,
) {
    let label = append(doc, li, "label", "reader", "Read as ");
    let select = append(doc, &label, "select", "decoder", "");
    let _ = select.set_attribute("data-key", filter);
    let _ = select.set_attribute("aria-label", &format!("Decoder for {filter}"));
    for d in Decoder::ALL {
        let option = append(doc, &select, "option", "", d.label());
        let _ = option.set_attribute("value", d.key());
        if d == reader.decoder {
            let _ = option.set_attribute("selected", "");
        }
    }
    let label = append(doc, li, "label", "reader", "Chart ");
    let input = append(doc, &label, "input", "chart-path", "");
    let _ = input.set_attribute("data-key", filter);
    let _ = input.set_attribute("type", "text");
    let _ = input.set_attribute("placeholder", "whole payload, or temp, a.b[0]");
    let _ = input.set_attribute("aria-label", &format!("JSON path to chart for {filter}"));
    let _ = input.set_attribute("spellcheck", "false");
    if let Some(path) = &reader.path {
        let _ = input.set_attribute("value", path.as_str());
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
