//! The viewer's table body, drawn by hand: each row is a plain `tr` made once, its text set
//! with `textContent` (never HTML), and kept until its message or topic goes.
//!
//! Why not Leptos's keyed list: every row it ever drew leaves a little memory behind (the
//! list's owner keeps a weak link to each row's owner, dropped only with the list), which
//! in a stream at 100 messages a second grows for as long as the page is open. Here a
//! stream row costs nothing once it scrolls out, and a topic row of the latest view is
//! updated in place: a burst over many topics changes text, not rows.

use std::collections::{HashMap, HashSet, VecDeque};

use chat::viewer::charts::{sparkline, Charts};
use chat::viewer::decode::hex_of;
use chat::watch::{pretty_json, size_words, Decoding, SHOWN_HEX_BYTES};
use chat::{Body, Seen, Watch};
use web_sys::{Document, Element};

use crate::browser::format_time;
use crate::ui::keyed::append;

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
            fill(doc, &row, seen, None, pretty, None);
            let _ = body.append_child(&row);
            drawn.stream.push_back((seen.seq, row));
        }
    }
}

fn sync_latest(doc: &Document, body: &Element, drawn: &mut Drawn, watch: &Watch, pretty: bool) {
    let entries = watch.latest_keyed();
    let charts = watch.tools().map(|t| &t.charts);
    let mut added = false;
    for (topic, seen, count) in &entries {
        match drawn.latest.get_mut(topic) {
            Some((seq, n, row)) => {
                if *seq != seen.seq || *n != *count {
                    fill(doc, row, seen, Some(*count), pretty, charts);
                    (*seq, *n) = (seen.seq, *count);
                }
            }
            None => {
                if let Ok(row) = doc.create_element("tr") {
                    fill(doc, &row, seen, Some(*count), pretty, charts);
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

/// Put `seen` into `row`, replacing what it showed. `charts`: the latest view's, for a
/// sparkline beside a topic whose payloads are numbers.
fn fill(
    doc: &Document,
    row: &Element,
    seen: &Seen,
    count: Option<u64>,
    pretty: bool,
    charts: Option<&Charts>,
) {
    row.set_text_content(None);
    let _ = row.set_attribute("data-seq", &seen.seq.to_string());
    let format = match &seen.decoded {
        Some(Decoding::Read { .. }) => "decoded",
        Some(Decoding::Failed(_)) => "undecodable",
        None => seen.format(),
    };
    let _ = row.set_attribute("data-format", format);
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
    let (text, json) = match (&seen.decoded, &seen.body) {
        (Some(Decoding::Read { text, .. }), _) => match pretty.then(|| pretty_json(text)).flatten()
        {
            Some(p) => (p, true),
            None => (text.clone(), text.starts_with(['{', '['])),
        },
        (Some(Decoding::Failed(_)), _) => (hex_view(seen), false),
        (None, Body::Text { text, .. }) => match pretty.then(|| seen.pretty_json()).flatten() {
            Some(p) => (p, true),
            None => (text.clone(), false),
        },
        (None, Body::Hex { hex, .. }) => (hex.clone(), false),
        (None, Body::Skipped { .. }) => (String::new(), false),
    };
    append(
        doc,
        &payload,
        "pre",
        if json { "body json" } else { "body" },
        &text,
    );
    if let Some(Decoding::Failed(why)) = &seen.decoded {
        append(doc, &payload, "span", "decode-error", why);
    }
    if let Some(note) = payload_note(seen) {
        append(doc, &payload, "span", "size", &note);
    }
    if let Some(series) = charts.and_then(|c| c.get(&seen.topic)) {
        spark_button(doc, &payload, &seen.topic, &sparkline(series, 80.0, 18.0));
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

/// The payload's bytes in hex, 16 a line (a payload that did not decode shows this).
fn hex_view(seen: &Seen) -> String {
    match &seen.body {
        Body::Hex { hex, .. } => hex.clone(),
        Body::Text { text, .. } => {
            let bytes = &text.as_bytes()[..text.len().min(SHOWN_HEX_BYTES)];
            let flat = hex_of(bytes);
            let mut out = String::with_capacity(flat.len() * 3 / 2);
            for (i, pair) in flat.as_bytes().chunks(2).enumerate() {
                if i > 0 {
                    out.push(if i % 16 == 0 { '\n' } else { ' ' });
                }
                out.push_str(std::str::from_utf8(pair).unwrap_or_default());
            }
            out
        }
        Body::Skipped { .. } => String::new(),
    }
}

/// A value as one line for the tree: what the decoder read, or the text, or the hex; cut
/// at `max` characters.
pub(super) fn shown_value(seen: &Seen, max: usize) -> String {
    let text = match (&seen.decoded, &seen.body) {
        (Some(Decoding::Read { text, .. }), _) => text.as_str(),
        (Some(Decoding::Failed(why)), _) => why.as_str(),
        (None, Body::Text { text, .. }) => text.as_str(),
        (None, Body::Hex { hex, .. }) => hex.as_str(),
        (None, Body::Skipped { .. }) => "(too large to show)",
    };
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// How the last value differs from the one before: a class and words. Numbers say by how
/// much; anything else whether it changed.
pub(super) fn change_of(last: &Seen, previous: &Seen) -> (&'static str, String) {
    match (last.number, previous.number) {
        (Some(a), Some(b)) if a > b => (
            "up",
            format!("▲ +{}", chat::viewer::charts::number_label(a - b)),
        ),
        (Some(a), Some(b)) if a < b => (
            "down",
            format!("▼ −{}", chat::viewer::charts::number_label(b - a)),
        ),
        (Some(_), Some(_)) => ("same", "= same".into()),
        _ if last.body == previous.body && last.decoded == previous.decoded => {
            ("same", "= same".into())
        }
        _ => ("changed", "≠ changed".into()),
    }
}

/// A sparkline as a button that opens the topic's chart.
pub(super) fn spark_button(doc: &Document, parent: &Element, topic: &str, path: &str) {
    let label = format!("Chart of {topic}");
    let button = crate::ui::keyed::button(doc, parent, "spark", topic, &label, "");
    const SVG: &str = "http://www.w3.org/2000/svg";
    let (Ok(svg), Ok(line)) = (
        doc.create_element_ns(Some(SVG), "svg"),
        doc.create_element_ns(Some(SVG), "path"),
    ) else {
        return;
    };
    let _ = svg.set_attribute("viewBox", "-1 -1 82 20");
    let _ = svg.set_attribute("width", "82");
    let _ = svg.set_attribute("height", "20");
    let _ = svg.set_attribute("aria-hidden", "true");
    let _ = line.set_attribute("d", path);
    let _ = svg.append_child(&line);
    let _ = button.append_child(&svg);
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
