//! `#tree`: the topic tree mode. One `li` per level (`data-topic` holds the level's full
//! topic, `aria-level` its depth), with the messages and topics under it, and for a topic
//! its last value beside the one before, the change marked, and a sparkline when its
//! payloads are numbers. Drawn as it scrolls into view (`window`), so 10,000 topics cost
//! the page a few dozen elements.

use std::collections::HashSet;

use chat::viewer::charts::{sparkline, Charts};
use chat::viewer::tree::TreeRow;
use leptos::prelude::*;
use web_sys::{Document, Element};

use super::rows::{change_of, shown_value, spark_button};
use super::window;
use crate::session::ChatSession;
use crate::ui::keyed::{self, append, Item};

/// Characters of a value shown in the tree.
const VALUE_CHARS: usize = 120;

#[component]
pub fn TopicTree(
    session: ChatSession,
    /// The topic whose chart is open.
    chart: RwSignal<Option<String>>,
) -> impl IntoView {
    let watch = session.watch;
    let collapsed = RwSignal::new(HashSet::<String>::new());
    let scrolled = RwSignal::new(window::Scrolled::default());
    let scroller = NodeRef::<leptos::html::Div>::new();
    let list = NodeRef::<leptos::html::Ul>::new();
    keyed::keep_drawn(list, move |sync| {
        let at = scrolled.get();
        let Some(list) = list.get() else {
            return;
        };
        watch.with(|w| {
            let Some(tools) = w.tools() else {
                sync(&[], &|_, _| None);
                return;
            };
            collapsed.with(|collapsed| {
                let rows = tools.tree().rows(collapsed);
                let range = window::in_view(at, rows.len());
                window::place(&list, &range, rows.len());
                let shown = &rows[range];
                let items: Vec<Item> = shown
                    .iter()
                    .map(|r| Item {
                        key: r.path.to_owned(),
                        look: look(r, &tools.charts),
                    })
                    .collect();
                sync(&items, &|doc, i| draw(doc, &shown[i], &tools.charts));
            });
        });
    });
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let Some((class, path)) = keyed::clicked(&ev) else {
            return;
        };
        if class.contains("toggle") {
            collapsed.update(|c| {
                if !c.remove(&path) {
                    c.insert(path);
                }
            });
        } else if class.contains("spark") {
            chart.set(Some(path));
        }
    };
    view! {
        <div
            id="tree-scroller"
            class="scroller tree-scroller"
            tabindex="0"
            role="region"
            aria-label="Topic tree"
            node_ref=scroller
            on:scroll=move |_| {
                if let Some(el) = scroller.get_untracked() {
                    scrolled.set(window::Scrolled::read(&el));
                }
            }
        >
            <ul
                id="tree"
                class="tree windowed"
                role="tree"
                aria-label="Topics by level"
                node_ref=list
                on:click=on_click
                data-topics=move || watch.with(|w| w.tools().map_or(0, |t| t.tree().topics()))
                data-evicted=move || watch.with(|w| w.tools().map_or(0, |t| t.tree().evicted()))
            ></ul>
        </div>
    }
}

/// What a row shows, as one text: drawn again when it changes.
fn look(r: &TreeRow<'_>, charts: &Charts) -> String {
    let seq = r.leaf.map_or(0, |l| l.last.seq);
    let points = r
        .leaf
        .and_then(|l| charts.get(l.topic()))
        .map_or(0, |s| s.len());
    format!(
        "{seq}:{}:{}:{}:{}:{points}",
        r.messages, r.topics, r.expanded, r.has_children
    )
}

fn draw(doc: &Document, r: &TreeRow<'_>, charts: &Charts) -> Option<Element> {
    let li = doc.create_element("li").ok()?;
    let _ = li.set_attribute("role", "treeitem");
    let _ = li.set_attribute("data-topic", r.path);
    let _ = li.set_attribute("aria-level", &(r.depth + 1).to_string());
    let _ = li.set_attribute("data-count", &r.messages.to_string());
    let _ = li.set_attribute("style", &format!("--depth:{}", r.depth));
    li.set_class_name(if r.leaf.is_some() {
        "node topic"
    } else {
        "node"
    });
    if r.has_children {
        let _ = li.set_attribute("aria-expanded", if r.expanded { "true" } else { "false" });
        let label = format!(
            "{} {}",
            if r.expanded { "Collapse" } else { "Expand" },
            r.path
        );
        let toggle = keyed::button(
            doc,
            &li,
            "toggle",
            r.path,
            &label,
            if r.expanded { "▾" } else { "▸" },
        );
        let _ = toggle.set_attribute("aria-expanded", if r.expanded { "true" } else { "false" });
    } else {
        append(doc, &li, "span", "toggle-space", "");
    }
    let name = if r.name.is_empty() { "(empty)" } else { r.name };
    append(doc, &li, "span", "level", name);
    let count = if r.topics > 1 {
        format!("{} msgs · {} topics", r.messages, r.topics)
    } else {
        format!(
            "{} msg{}",
            r.messages,
            if r.messages == 1 { "" } else { "s" }
        )
    };
    append(doc, &li, "span", "count", &count);
    if let Some(leaf) = r.leaf {
        append(
            doc,
            &li,
            "span",
            "value",
            &shown_value(&leaf.last, VALUE_CHARS),
        );
        if let Some(prev) = &leaf.previous {
            let (class, words) = change_of(&leaf.last, prev);
            let change = append(doc, &li, "span", &format!("change {class}"), &words);
            let _ = change.set_attribute("title", "Change from the value before");
            append(
                doc,
                &li,
                "span",
                "previous",
                &shown_value(prev, VALUE_CHARS),
            );
        }
        if let Some(series) = charts.get(leaf.topic()) {
            spark_button(doc, &li, leaf.topic(), &sparkline(series, 80.0, 18.0));
        }
    }
    Some(li)
}
