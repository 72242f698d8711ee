//! The topic viewer: the filters a user watches, what arrived on them, and how it shows.
//!
//! Two views of the same arrivals: a stream (newest last, the newest [`STREAM_CAPACITY`]
//! kept) and the latest message per topic (at most [`LATEST_CAPACITY`] topics; the least
//! recently updated goes first, and is counted). A payload is turned into what the page
//! shows once, as it arrives: text, or hex when it is not UTF-8, cut to [`SHOWN_BYTES`]
//! with its full size kept, so a large payload costs the page no more than a small one.
//! Everything here is plain data: the clock is an argument.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use mqtt_core::topic::{check_filter, FilterError};

use crate::viewer::Tools;
use mqtt_core::QoS;

/// Stream rows kept (state N).
pub const STREAM_CAPACITY: usize = 500;
/// Topics kept in the latest-by-topic view (state M).
pub const LATEST_CAPACITY: usize = 2_000;
/// Bytes of topic names the latest-by-topic view keeps at most: a topic can be 64 KiB, so
/// a count alone would not bound its memory. Past it, the least recently updated go.
pub const LATEST_TOPIC_BYTES: usize = 4 << 20;
/// Bytes of a topic name shown; a longer one is cut, its full size kept.
pub const SHOWN_TOPIC_BYTES: usize = 1_024;
/// Filters one tab watches at most.
pub const MAX_WATCHED: usize = 32;
/// Bytes of a text payload shown; the rest is cut, and the full size said.
pub const SHOWN_BYTES: usize = 2_048;
/// Bytes of a binary payload shown as hex (three characters each).
pub const SHOWN_HEX_BYTES: usize = 512;

/// How a watched filter stands with the broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterState {
    /// Sent, or to be sent once connected; no answer yet.
    Pending,
    /// The broker granted it, at this QoS.
    Active(QoS),
    /// The broker refused it; why, in words.
    Refused(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchedFilter {
    pub filter: String,
    pub qos: QoS,
    pub state: FilterState,
}

/// Why a filter was not watched, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WatchError {
    #[error("Not a valid topic filter: {0}.")]
    Invalid(FilterError),
    #[error("Already watching {0}.")]
    Already(String),
    #[error("At most {MAX_WATCHED} filters at once: stop watching one first.")]
    TooMany,
}

/// A payload as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// UTF-8 text, cut at a character boundary when longer than [`SHOWN_BYTES`].
    Text { text: String, cut: bool },
    /// Not UTF-8: the first bytes in hex.
    Hex { hex: String, cut: bool },
    /// Too large for this app to take in (read past by the connection): not shown.
    Skipped { limit: usize },
}

/// One message as it arrived.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    /// Arrival order, from 1: a key for the view.
    pub seq: u64,
    /// The topic, cut at [`SHOWN_TOPIC_BYTES`] if longer (see `topic_size`).
    pub topic: String,
    /// The whole topic name, in bytes.
    pub topic_size: usize,
    pub body: Body,
    /// The whole payload, in bytes.
    pub size: usize,
    pub qos: QoS,
    pub retain: bool,
    /// Wall clock, ms.
    pub at: f64,
    /// Read by the watched filter's decoder (Base64, MessagePack, CBOR, hex), if it has
    /// one other than text.
    pub decoded: Option<Decoding>,
    /// The number it holds, for a chart: the whole payload, or the filter's JSON path.
    pub number: Option<f64>,
}

/// A payload as the filter's decoder read it.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoding {
    /// JSON-shaped text (or text, for Base64 of text), cut at [`SHOWN_BYTES`].
    Read { text: String, cut: bool },
    /// Why it did not decode, in words (the row shows its hex beside).
    Failed(String),
}

impl Seen {
    /// A message as the viewer keeps it, for tests: read as text or hex, no decoder.
    #[cfg(test)]
    pub(crate) fn test(seq: u64, topic: &str, payload: &[u8], at: f64) -> Seen {
        Seen {
            seq,
            topic: topic.to_owned(),
            topic_size: topic.len(),
            body: body_of(payload),
            size: payload.len(),
            qos: QoS::AtMostOnce,
            retain: false,
            at,
            decoded: None,
            number: None,
        }
    }

    /// The payload pretty-printed, if it is a whole (uncut) JSON object or array.
    pub fn pretty_json(&self) -> Option<String> {
        let Body::Text { text, cut: false } = &self.body else {
            return None;
        };
        let trimmed = text.trim_start();
        if !trimmed.starts_with(['{', '[']) {
            return None;
        }
        pretty_json(text)
    }

    /// "text", "hex" or "skipped", for the page's `data-format`.
    pub fn format(&self) -> &'static str {
        match self.body {
            Body::Text { .. } => "text",
            Body::Hex { .. } => "hex",
            Body::Skipped { .. } => "skipped",
        }
    }
}

/// `text` indented two spaces a level, if it is valid JSON. The text itself is re-laid out,
/// not parsed into a value and printed again: keys keep their order and numbers their
/// digits, and no `serde_json::Value` is built (checked with `IgnoredAny`, which builds
/// nothing; a `Value` and its printer would add to every page's download).
pub fn pretty_json(text: &str) -> Option<String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                let mut escaped = false;
                for c in chars.by_ref() {
                    out.push(c);
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '{' | '[' => {
                out.push(c);
                while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
                if chars.next_if(|n| matches!(n, '}' | ']')).is_some() {
                    out.push(if c == '{' { '}' } else { ']' });
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    Some(out)
}

/// Turn a payload into what the page shows.
pub fn body_of(payload: &[u8]) -> Body {
    match std::str::from_utf8(payload) {
        Ok(text) => {
            let cut = text.len() > SHOWN_BYTES;
            let end = if cut {
                floor_char_boundary(text, SHOWN_BYTES)
            } else {
                text.len()
            };
            Body::Text {
                text: text[..end].to_owned(),
                cut,
            }
        }
        Err(_) => {
            let shown = &payload[..payload.len().min(SHOWN_HEX_BYTES)];
            let mut hex = String::with_capacity(shown.len() * 3);
            for (i, b) in shown.iter().enumerate() {
                if i > 0 {
                    hex.push(if i % 16 == 0 { '\n' } else { ' ' });
                }
                hex.push(char::from(HEX[usize::from(b >> 4)]));
                hex.push(char::from(HEX[usize::from(b & 0x0F)]));
            }
            Body::Hex {
                hex,
                cut: payload.len() > SHOWN_HEX_BYTES,
            }
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A size in words: `512 B`, `2.0 KiB`, `1.0 MiB`.
pub fn size_words(bytes: usize) -> String {
    const KIB: usize = 1024;
    match bytes {
        b if b < KIB => format!("{b} B"),
        b if b < KIB * KIB => format!("{}.{} KiB", b / KIB, (b % KIB) * 10 / KIB),
        b => format!(
            "{}.{} MiB",
            b / (KIB * KIB),
            (b % (KIB * KIB)) * 10 / (KIB * KIB)
        ),
    }
}

/// The latest message of each topic, with how many came, the least recently updated
/// evicted first beyond the capacity.
#[derive(Clone, Debug, Default)]
struct Latest {
    /// By topic, sorted: the view's row order, stable like a scoreboard.
    by_topic: BTreeMap<String, (Arc<Seen>, u64)>,
    /// Topic by the seq of its last message: the oldest first.
    by_age: BTreeMap<u64, String>,
    /// Bytes of the topic names in `by_topic`.
    topic_bytes: usize,
}

/// Messages per second over the last second, in tenths.
#[derive(Clone, Debug, Default)]
struct Rate {
    /// (tenth of a second since the epoch, messages in it), oldest first, at most 10.
    buckets: VecDeque<(i64, u32)>,
}

impl Rate {
    fn tick(now_ms: f64) -> i64 {
        (now_ms / 100.0).floor() as i64
    }

    fn add(&mut self, now_ms: f64) {
        let t = Self::tick(now_ms);
        match self.buckets.back_mut() {
            Some((last, n)) if *last == t => *n += 1,
            // A clock that went back counts into the newest bucket.
            Some((last, n)) if *last > t => *n += 1,
            _ => self.buckets.push_back((t, 1)),
        }
        self.trim(t);
    }

    fn trim(&mut self, t: i64) {
        while self.buckets.front().is_some_and(|(b, _)| *b <= t - 10) {
            self.buckets.pop_front();
        }
    }

    fn per_second(&self, now_ms: f64) -> u32 {
        let t = Self::tick(now_ms);
        self.buckets
            .iter()
            .filter(|(b, _)| *b > t - 10)
            .map(|(_, n)| *n)
            .sum()
    }
}

/// What the page shows while paused: the rows as they were.
#[derive(Clone, Debug, Default)]
struct Frozen {
    stream: Vec<Arc<Seen>>,
    latest: Vec<(String, Arc<Seen>, u64)>,
}

/// The viewer's whole state.
#[derive(Debug, Default)]
pub struct Watch {
    filters: Vec<WatchedFilter>,
    stream: VecDeque<Arc<Seen>>,
    latest: Latest,
    /// Messages counted since the last clear, paused or not.
    counted: u64,
    /// Counted since pausing.
    while_paused: u64,
    /// Topics dropped from the latest view to keep it bounded.
    evicted: u64,
    frozen: Option<Frozen>,
    rate: Rate,
    seq: u64,
    /// The viewer's tools (`crate::viewer::Tools`: decoders, tree, retained messages,
    /// charts), made by the first message taken in. Boxed as a trait object so that the first
    /// load, which holds a `Watch` but takes no message into it, carries none of their
    /// code: they come with the viewer's chunk (issue 21).
    tools: Option<Box<dyn ToolsBox>>,
}

impl Watch {
    /// The filters, in the order added.
    pub fn filters(&self) -> &[WatchedFilter] {
        &self.filters
    }

    /// Start watching `filter` (trimmed of nothing: spaces are part of a topic). Checked
    /// before anything is sent.
    pub fn add_filter(&mut self, filter: &str, qos: QoS) -> Result<(), WatchError> {
        check_filter(filter).map_err(WatchError::Invalid)?;
        if self.filters.iter().any(|f| f.filter == filter) {
            return Err(WatchError::Already(filter.to_owned()));
        }
        if self.filters.len() >= MAX_WATCHED {
            return Err(WatchError::TooMany);
        }
        self.filters.push(WatchedFilter {
            filter: filter.to_owned(),
            qos,
            state: FilterState::Pending,
        });
        Ok(())
    }

    /// Stop watching `filter`: true if it was watched.
    pub fn remove_filter(&mut self, filter: &str) -> bool {
        let before = self.filters.len();
        self.filters.retain(|f| f.filter != filter);
        self.filters.len() != before
    }

    /// The QoS `filter` is watched at (false if it is not watched).
    pub fn set_qos(&mut self, filter: &str, qos: QoS) -> bool {
        match self.filters.iter_mut().find(|f| f.filter == filter) {
            Some(f) => {
                f.qos = qos;
                true
            }
            None => false,
        }
    }

    /// What the broker said about `filter`.
    pub fn set_state(&mut self, filter: &str, state: FilterState) {
        if let Some(f) = self.filters.iter_mut().find(|f| f.filter == filter) {
            f.state = state;
        }
    }

    /// A message arrived on a watched topic: read by its filter's decoder and chart path,
    /// and taken into every view.
    pub fn receive(&mut self, topic: &str, payload: &[u8], qos: QoS, retain: bool, at: f64) {
        let body = body_of(payload);
        let filters = &self.filters;
        let tools = tools_mut(&mut self.tools);
        let (decoded, number) = tools.read(filters, topic, payload, &body);
        let seen = self.push(topic, body, payload.len(), qos, retain, at, decoded, number);
        let tools = tools_mut(&mut self.tools);
        tools.take(topic, &seen, payload.len(), retain);
    }

    /// A message too large to take in was read past: it shows with its size.
    pub fn skipped(&mut self, topic: &str, size: usize, limit: usize, qos: QoS, at: f64) {
        let seen = self.push(
            topic,
            Body::Skipped { limit },
            size,
            qos,
            false,
            at,
            None,
            None,
        );
        tools_mut(&mut self.tools).take(topic, &seen, size, false);
    }

    /// The viewer's tools, once a message came.
    pub fn tools(&self) -> Option<&Tools> {
        self.tools.as_deref().map(ToolsBox::tools)
    }

    /// The viewer's tools, made now if no message came yet.
    pub fn tools_mut(&mut self) -> &mut Tools {
        tools_mut(&mut self.tools)
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        topic: &str,
        body: Body,
        size: usize,
        qos: QoS,
        retain: bool,
        at: f64,
        decoded: Option<Decoding>,
        number: Option<f64>,
    ) -> Arc<Seen> {
        self.seq += 1;
        self.counted += 1;
        if self.frozen.is_some() {
            self.while_paused += 1;
        }
        self.rate.add(at);
        let shown_topic = &topic[..floor_char_boundary(topic, topic.len().min(SHOWN_TOPIC_BYTES))];
        let seen = Arc::new(Seen {
            seq: self.seq,
            topic: shown_topic.to_owned(),
            topic_size: topic.len(),
            body,
            size,
            qos,
            retain,
            at,
            decoded,
            number,
        });
        if self.stream.len() == STREAM_CAPACITY {
            self.stream.pop_front();
        }
        self.stream.push_back(Arc::clone(&seen));
        let latest = &mut self.latest;
        let count = match latest.by_topic.remove(topic) {
            Some((old, n)) => {
                latest.by_age.remove(&old.seq);
                n + 1
            }
            None => {
                while latest.by_topic.len() >= LATEST_CAPACITY
                    || (latest.topic_bytes + topic.len() > LATEST_TOPIC_BYTES
                        && !latest.by_topic.is_empty())
                {
                    let Some((_, oldest)) = latest.by_age.pop_first() else {
                        break;
                    };
                    latest.by_topic.remove(&oldest);
                    latest.topic_bytes -= oldest.len();
                    self.evicted += 1;
                }
                latest.topic_bytes += topic.len();
                1
            }
        };
        latest.by_age.insert(seen.seq, topic.to_owned());
        latest
            .by_topic
            .insert(topic.to_owned(), (Arc::clone(&seen), count));
        seen
    }

    /// Stream rows to show, oldest first (as they were when paused).
    pub fn stream(&self) -> Vec<Arc<Seen>> {
        match &self.frozen {
            Some(f) => f.stream.clone(),
            None => self.stream.iter().cloned().collect(),
        }
    }

    /// Latest-by-topic rows to show, by topic, with how many came on each.
    pub fn latest(&self) -> Vec<(Arc<Seen>, u64)> {
        self.latest_keyed()
            .into_iter()
            .map(|(_, s, n)| (s, n))
            .collect()
    }

    /// The same, each with its whole topic name (a row's key: the shown one may be cut).
    pub fn latest_keyed(&self) -> Vec<(String, Arc<Seen>, u64)> {
        match &self.frozen {
            Some(f) => f.latest.clone(),
            None => self.latest_now(),
        }
    }

    fn latest_now(&self) -> Vec<(String, Arc<Seen>, u64)> {
        self.latest
            .by_topic
            .iter()
            .map(|(t, (s, n))| (t.clone(), Arc::clone(s), *n))
            .collect()
    }

    /// Messages counted since the last clear, paused or not.
    pub fn counted(&self) -> u64 {
        self.counted
    }

    /// Counted while paused (0 when not paused).
    pub fn while_paused(&self) -> u64 {
        self.while_paused
    }

    /// Topics held now in the latest view.
    pub fn topics(&self) -> usize {
        self.latest.by_topic.len()
    }

    /// Topics evicted from the latest view since the last clear.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn paused(&self) -> bool {
        self.frozen.is_some()
    }

    /// Freeze what shows; messages keep being counted and kept.
    pub fn pause(&mut self) {
        if let Some(tools) = self.tools.as_deref_mut().map(ToolsBox::tools_mut) {
            tools.pause();
        }
        if self.frozen.is_none() {
            self.frozen = Some(Frozen {
                stream: self.stream.iter().cloned().collect(),
                latest: self.latest_now(),
            });
            self.while_paused = 0;
        }
    }

    /// Show what is kept now, including what came while paused.
    pub fn resume(&mut self) {
        if let Some(tools) = self.tools.as_deref_mut().map(ToolsBox::tools_mut) {
            tools.resume();
        }
        self.frozen = None;
        self.while_paused = 0;
    }

    /// Forget every message and count (the filters stay).
    pub fn clear(&mut self) {
        let paused = self.paused();
        if let Some(tools) = self.tools.as_deref_mut().map(ToolsBox::tools_mut) {
            tools.clear();
        }
        self.stream.clear();
        self.latest = Latest::default();
        self.counted = 0;
        self.evicted = 0;
        self.while_paused = 0;
        self.frozen = paused.then(Frozen::default);
    }

    /// Messages per second over the last second at `now_ms`.
    pub fn rate(&self, now_ms: f64) -> u32 {
        self.rate.per_second(now_ms)
    }
}

fn tools_mut(tools: &mut Option<Box<dyn ToolsBox>>) -> &mut Tools {
    tools
        .get_or_insert_with(|| Box::new(Tools::default()))
        .tools_mut()
}

/// The one kind of box the watch keeps its tools in: a trait object, so that the code of
/// [`Tools`] (its drop too) is reached only where a box is made, in the viewer's chunk.
pub trait ToolsBox: std::fmt::Debug + Send + Sync {
    fn tools(&self) -> &Tools;
    fn tools_mut(&mut self) -> &mut Tools;
}

impl ToolsBox for Tools {
    fn tools(&self) -> &Tools {
        self
    }

    fn tools_mut(&mut self) -> &mut Tools {
        self
    }
}
