//! The viewer's table body, drawn by hand: each row is a plain `tr` made once, its text set
//! with `textContent` (never HTML), and kept until its message or topic goes.
//!
//! Why not Leptos's keyed list: every row it ever drew leaves a little memory behind (the
//! list's owner keeps a weak link to each row's owner, dropped only with the list), which
//! in a stream at 100 messages a second grows for as long as the page is open. Here a
//! stream row costs nothing once it scrolls out, and a topic row of the latest view is
//! updated in place: a burst over many topics changes text, not rows.

use std::collections::{HashMap, HashSet, VecDeque};

use chat::watch::size_words;
use chat::{Body, Seen, Watch};
use web_sys::{Document, Element};

use crate::browser::format_time;

/// The rows on the page.
#[derive(Default)]
pub struct Drawn {
    /// What they were drawn for: stream mode, pretty JSON.
    drawn_for: Option<(bool, bool)>,
    /// Stream rows by message, oldest first.
    stream: VecDeque<(u64, Element)>,
    /// Latest rows by whole topic name: the message and count shown, and the row.
    latest: HashMap<String, (u64, u64, Element)>,
}

/// Make the body show `watch` as it is now.
pub fn sync(body: &Element, drawn: &mut Drawn, watch: &Watch, streaming: bool, pretty: bool) {
    let Some(doc) = body.owner_document() else {
        return;
    };
    if drawn.drawn_for != Some((streaming, pretty)) {
        body.set_text_content(None);
        drawn.stream.clear();
        drawn.latest.clear();
        drawn.drawn_for = Some((streaming, pretty));
    }
    if streaming {
        sync_stream(&doc, body, drawn, watch, pretty);
    } else {
        sync_latest(&doc, body, drawn, watch, pretty);
    }
}

fn sync_stream(doc: &Document, body: &Element, drawn: &mut Drawn, watch: &Watch, pretty: bool) {
    let rows = watch.stream();
    let first = rows.first().map(|s| s.seq);
    // Gone from the stream (the oldest beyond its bound, or cleared).
    while let Some((seq, row)) = drawn.stream.front() {
        if first.is_some_and(|f| *seq >= f) {
            break;
        }
        row.remove();
        drawn.stream.pop_front();
    }
    let last = drawn.stream.back().map_or(0, |(seq, _)| *seq);
    for seen in rows.iter().filter(|s| s.seq > last) {
        if let Ok(row) = doc.create_element("tr") {
            fill(doc, &row, seen, None, pretty);
            let _ = body.append_child(&row);
            drawn.stream.push_back((seen.seq, row));
        }
    }
}

fn sync_latest(doc: &Document, body: &Element, drawn: &mut Drawn, watch: &Watch, pretty: bool) {
    let entries = watch.latest_keyed();
    let mut added = false;
    for (topic, seen, count) in &entries {
        match drawn.latest.get_mut(topic) {
            Some((seq, n, row)) => {
                if *seq != seen.seq || *n != *count {
                    fill(doc, row, seen, Some(*count), pretty);
                    (*seq, *n) = (seen.seq, *count);
                }
            }
            None => {
                if let Ok(row) = doc.create_element("tr") {
                    fill(doc, &row, seen, Some(*count), pretty);
                    drawn.latest.insert(topic.clone(), (seen.seq, *count, row));
                    added = true;
                }
            }
        }
    }
    if !added && drawn.latest.len() == entries.len() {
        return;
    }
    // Topics came or went: drop the gone, and put every row in topic order.
    let keep: HashSet<&str> = entries.iter().map(|(t, _, _)| t.as_str()).collect();
    drawn.latest.retain(|topic, (_, _, row)| {
        let kept = keep.contains(topic.as_str());
        if !kept {
            row.remove();
        }
        kept
    });
    for (topic, _, _) in &entries {
        if let Some((_, _, row)) = drawn.latest.get(topic) {
            let _ = body.append_child(row);
        }
    }
}

/// Put `seen` into `row`, replacing what it showed.
fn fill(doc: &Document, row: &Element, seen: &Seen, count: Option<u64>, pretty: bool) {
    row.set_text_content(None);
    let _ = row.set_attribute("data-seq", &seen.seq.to_string());
    let _ = row.set_attribute("data-format", seen.format());
    let _ = row.set_attribute("data-retained", if seen.retain { "true" } else { "false" });
    row.set_class_name(if seen.retain { "retained" } else { "" });
    if let Some(n) = count {
        let _ = row.set_attribute("data-topic", &seen.topic);
        let _ = row.set_attribute("data-count", &n.to_string());
    }
    let topic = cell(doc, row, "topic", &seen.topic);
    if seen.topic_size > seen.topic.len() {
        let words = format!("… topic cut: {} in all", size_words(seen.topic_size));
        append(doc, &topic, "span", "size", &words);
    }
    let payload = cell(doc, row, "payload", "");
    let (text, json) = match &seen.body {
        Body::Text { text, .. } => match pretty.then(|| seen.pretty_json()).flatten() {
            Some(p) => (p, true),
            None => (text.clone(), false),
        },
        Body::Hex { hex, .. } => (hex.clone(), false),
        Body::Skipped { .. } => (String::new(), false),
    };
    append(
        doc,
        &payload,
        "pre",
        if json { "body json" } else { "body" },
        &text,
    );
    if let Some(note) = payload_note(seen) {
        append(doc, &payload, "span", "size", &note);
    }
    cell(doc, row, "qos", &(seen.qos as u8).to_string());
    cell(
        doc,
        row,
        "retained",
        if seen.retain { "retained" } else { "" },
    );
    cell(
        doc,
        row,
        "count",
        &count.map(|n| n.to_string()).unwrap_or_default(),
    );
    cell(doc, row, "time", &format_time(seen.at));
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

fn cell(doc: &Document, row: &Element, class: &str, text: &str) -> Element {
    append(doc, row, "td", class, text)
}

/// A new `tag` element with `class` and `text` (as text), at the end of `parent`.
pub(super) fn append(
    doc: &Document,
    parent: &Element,
    tag: &str,
    class: &str,
    text: &str,
) -> Element {
    // Our tag names are valid: creating them does not fail.
    let Ok(el) = doc.create_element(tag) else {
        return parent.clone();
    };
    if !class.is_empty() {
        el.set_class_name(class);
    }
    if !text.is_empty() {
        el.set_text_content(Some(text));
    }
    let _ = parent.append_child(&el);
    el
}
