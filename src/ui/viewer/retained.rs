//! `#retained`: the retained messages seen under the watched filters (topic, size, age),
//! each with `button.clear-retained`, and `#clear-retained-all`, which asks first, naming
//! the count, then clears in batches with its progress in `#clear-retained-progress`.
//! What the broker refused or did not confirm stays listed, with the words on its row
//! (`chat::viewer::retained`). Drawn as it scrolls into view, like the tree.

use chat::viewer::retained::{thousands, Held};
use chat::watch::size_words;
use chat::Watch;
use leptos::prelude::*;
use web_sys::{Document, Element};

use super::window;
use crate::session::ChatSession;
use crate::ui::keyed::{self, append, Item};

/// "" in the filter choice: every watched filter.
const ALL: &str = "";

fn age_words(ms: f64) -> String {
    let s = (ms / 1000.0).max(0.0) as u64;
    match s {
        0..=9 => "just now".into(),
        10..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        _ => format!("{} h ago", s / 3600),
    }
}

/// Whether `topic` is under the filter chosen in `#retained-filter` (`ALL`: any watched).
fn chosen_covers(watch: &Watch, chosen: &str, topic: &str) -> bool {
    if chosen == ALL {
        watch
            .filters()
            .iter()
            .any(|f| mqtt_core::topic::matches(&f.filter, topic))
    } else {
        mqtt_core::topic::matches(chosen, topic)
    }
}

#[component]
pub fn RetainedPanel(session: ChatSession, now: RwSignal<f64>) -> impl IntoView {
    let watch = session.watch;
    let filter = RwSignal::new(ALL.to_owned());
    // Asking before clearing all: the topics it would clear.
    let asking = RwSignal::new(None::<Vec<String>>);
    let scrolled = RwSignal::new(window::Scrolled::default());
    let scroller = NodeRef::<leptos::html::Div>::new();
    let list = NodeRef::<leptos::html::Ul>::new();

    // The topics under the chosen filter (or under any watched one).
    let topics_under = move || -> Vec<String> {
        let chosen = filter.get_untracked();
        watch.with_untracked(|w| {
            let Some(tools) = w.tools() else {
                return Vec::new();
            };
            tools
                .retained
                .iter()
                .filter(|(t, _)| chosen_covers(w, &chosen, t))
                .map(|(t, _)| t.to_owned())
                .collect()
        })
    };
    let count = Memo::new(move |_| {
        watch.track();
        filter.track();
        topics_under().len()
    });

    keyed::keep_drawn(list, move |sync| {
        let at = scrolled.get();
        let now = now.get();
        let chosen = filter.get();
        let Some(list) = list.get() else {
            return;
        };
        watch.with(|w| {
            let Some(tools) = w.tools() else {
                sync(&[], &|_, _| None);
                return;
            };
            let held: Vec<(&str, &Held)> = tools
                .retained
                .iter()
                .filter(|(t, _)| chosen_covers(w, &chosen, t))
                .collect();
            let range = window::in_view(at, held.len());
            window::place(&list, &range, held.len());
            let shown = &held[range];
            let items: Vec<Item> = shown
                .iter()
                .map(|(t, h)| Item {
                    key: (*t).to_owned(),
                    look: format!(
                        "{}:{}:{}",
                        h.size,
                        age_words(now - h.seen_at),
                        h.outcome.as_ref().map(|o| o.words()).unwrap_or_default()
                    ),
                })
                .collect();
            sync(&items, &|doc, i| {
                let (topic, held) = shown[i];
                draw(doc, topic, held, now)
            });
        });
    });

    // While a clear is under way: the next batch when this one is answered, and what is
    // overdue counted, checked on every change and twice a second.
    let running = Memo::new(move |_| {
        watch.with(|w| {
            w.tools()
                .and_then(|t| t.retained.job())
                .is_some_and(|j| !j.finished())
        })
    });
    Effect::new(move |_| {
        watch.track();
        if running.get_untracked() {
            session.drive_clear();
        }
    });
    Effect::new(move |_| {
        if !running.get() {
            return;
        }
        let tick = set_interval_with_handle(
            move || {
                session.drive_clear();
            },
            std::time::Duration::from_millis(500),
        );
        on_cleanup(move || {
            if let Ok(t) = tick {
                t.clear();
            }
        });
    });

    // Said when a clear cannot start (another is under way).
    let busy = RwSignal::new(None::<String>);
    let start = move |topics: Vec<String>| {
        let started = watch
            .try_update(|w| w.tools_mut().retained.start_clear(topics))
            .unwrap_or(false);
        if started {
            busy.set(None);
            session.drive_clear();
        } else {
            busy.set(Some(
                "A clear is under way: wait for it to end, or stop it, then clear again.".into(),
            ));
        }
    };
    let on_list_click = move |ev: leptos::ev::MouseEvent| {
        if let Some((class, topic)) = keyed::clicked(&ev) {
            if class.contains("clear-retained") {
                start(vec![topic]);
            }
        }
    };
    let progress = move || {
        let job = watch.with(|w| w.tools().and_then(|t| t.retained.job()).map(|j| j.words()));
        match (job, busy.get()) {
            (Some(words), Some(busy)) => Some(format!("{words} {busy}")),
            (job, busy) => job.or(busy),
        }
    };
    let filter_words = move || {
        let f = filter.get();
        if f == ALL {
            "the watched filters".to_owned()
        } else {
            f
        }
    };

    view! {
        <section id="retained-panel" class="retained-panel" aria-label="Retained messages">
            <h3>"Retained messages"</h3>
            <div class="retained-head">
                <label for="retained-filter">"Under"</label>
                <select
                    id="retained-filter"
                    prop:value=move || filter.get()
                    on:change=move |ev| {
                        filter.set(event_target_value(&ev));
                        asking.set(None);
                    }
                >
                    <option value=ALL>"every watched filter"</option>
                    {move || {
                        watch
                            .with(|w| {
                                w.filters().iter().map(|f| f.filter.clone()).collect::<Vec<_>>()
                            })
                            .into_iter()
                            .map(|f| view! { <option value=f.clone()>{f.clone()}</option> })
                            .collect_view()
                    }}
                </select>
                <span id="retained-count" class="count" data-count=move || count.get()>
                    {move || {
                        let n = count.get();
                        format!(
                            "{} retained message{} under {}",
                            thousands(n),
                            if n == 1 { "" } else { "s" },
                            filter_words(),
                        )
                    }}
                </span>
                <button
                    id="clear-retained-all"
                    type="button"
                    disabled=move || count.get() == 0 || running.get()
                    on:click=move |_| asking.set(Some(topics_under()))
                >
                    "Clear all under this filter"
                </button>
                <button
                    id="clear-retained-stop"
                    type="button"
                    hidden=move || !running.get()
                    on:click=move |_| {
                        watch.update(|w| w.tools_mut().retained.stop_clear());
                        session.drive_clear();
                    }
                >
                    "Stop clearing"
                </button>
            </div>
            {move || {
                asking
                    .get()
                    .map(|topics| {
                        let n = topics.len();
                        let topics = StoredValue::new(topics);
                        view! {
                            <div id="clear-retained-ask" class="ask" role="alertdialog" aria-label="Clear retained messages?">
                                <p>
                                    {format!(
                                        "Clear {} retained message{} under {}? The broker forgets them for every client; this cannot be undone.",
                                        thousands(n),
                                        if n == 1 { "" } else { "s" },
                                        filter_words(),
                                    )}
                                </p>
                                <button
                                    id="clear-retained-yes"
                                    type="button"
                                    on:click=move |_| {
                                        asking.set(None);
                                        start(topics.get_value());
                                    }
                                >
                                    {format!("Clear {}", thousands(n))}
                                </button>
                                <button id="clear-retained-no" type="button" on:click=move |_| asking.set(None)>
                                    "Cancel"
                                </button>
                            </div>
                        }
                    })
            }}
            <p id="clear-retained-progress" class="hint" role="status">
                {progress}
            </p>
            <div
                class="scroller retained-scroller"
                tabindex="0"
                role="region"
                aria-label="Retained messages seen"
                node_ref=scroller
                on:scroll=move |_| {
                if let Some(el) = scroller.get_untracked() {
                    scrolled.set(window::Scrolled::read(&el));
                }
            }
            >
                <ul
                    id="retained"
                    class="retained windowed"
                    node_ref=list
                    on:click=on_list_click
                    data-total=move || count.get()
                ></ul>
            </div>
        </section>
    }
}

fn draw(doc: &Document, topic: &str, held: &Held, now: f64) -> Option<Element> {
    let li = doc.create_element("li").ok()?;
    let _ = li.set_attribute("data-topic", topic);
    let _ = li.set_attribute("data-size", &held.size.to_string());
    li.set_class_name("held");
    if let Some(outcome) = &held.outcome {
        let _ = li.set_attribute("data-outcome", outcome.key());
    }
    append(doc, &li, "code", "topic", topic);
    append(doc, &li, "span", "size", &size_words(held.size));
    append(doc, &li, "span", "age", &age_words(now - held.seen_at));
    if let Some(outcome) = &held.outcome {
        append(doc, &li, "span", "outcome", &outcome.words());
    }
    let label = format!("Clear the retained message of {topic}");
    keyed::button(doc, &li, "clear-retained", topic, &label, "Clear");
    Some(li)
}
