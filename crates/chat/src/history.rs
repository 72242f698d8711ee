//! What the local history keeps, apart from where it keeps it: one record per message and
//! topic, the newest [`HISTORY_PER_TOPIC`] of each topic, and keys that make the same message
//! written by two tabs one record, not two.
//!
//! A record is the payload as it arrived (or as this tab published it), so a reload decodes
//! it exactly as the live message was decoded.

use std::collections::HashMap;

/// Messages kept per topic by default; older ones are evicted.
pub const HISTORY_PER_TOPIC: usize = 1000;
/// Eviction runs once a topic holds this many more than it keeps, so that a burst costs one
/// clean-up per hundred messages rather than one per message.
pub const HISTORY_SLACK: usize = 100;
/// A message without an id is matched across tabs within windows of this many ms.
const ANON_WINDOW_MS: f64 = 10_000.0;

/// One stored message.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredMessage {
    pub topic: String,
    /// Unique per message within its topic: its storage key, with the topic.
    pub uid: String,
    /// Arrival order across the browser (see [`Sequence`]).
    pub seq: f64,
    /// When it arrived, or was sent, ms since the Unix epoch.
    pub at: f64,
    pub payload: Vec<u8>,
    /// The user its topic proved (`<room topic>/from/<user>`): the record is filed under the
    /// room's topic, so this keeps what the topic said.
    pub author: Option<String>,
    /// One of ours the broker did not deliver (see [`crate::Refusal`]), so a reload still
    /// says so instead of "delivered".
    pub refusal: Option<crate::Refusal>,
}

/// Increasing numbers from a wall clock: `ms × 1000`, bumped by one when the clock has not
/// moved (or went back). Tabs of one browser share the clock, so their numbers interleave in
/// arrival order; exact in an f64 (IndexedDB keys) until the year 2255.
#[derive(Clone, Debug, Default)]
pub struct Sequence {
    last: f64,
}

impl Sequence {
    pub fn next(&mut self, now_ms: f64) -> f64 {
        let candidate = (now_ms.max(0.0).floor()) * 1000.0;
        self.last = if candidate > self.last {
            candidate
        } else {
            self.last + 1.0
        };
        self.last
    }
}

/// Turns arrivals into records. Keeps the per-window counters that name messages without an
/// id.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    sequence: Sequence,
    window: i64,
    seen_in_window: HashMap<u64, u32>,
}

impl Recorder {
    /// The record for a payload on `topic` that arrived (or was sent) at `at`.
    ///
    /// The key is the message id when it has one: whoever writes it, it is one record. A
    /// message without an id (from `mosquitto_pub`, say) is named by a hash of its payload,
    /// the 10-second window it arrived in, and how often this tab saw that payload in that
    /// window. Two tabs receive the same stream, so they name it alike, and the same text
    /// sent twice stays two messages. Two tabs on either side of a window's edge can still
    /// name one message twice: such a message may then show twice after a reload.
    pub fn record(
        &mut self,
        topic: &str,
        payload: &[u8],
        id: Option<&str>,
        at: f64,
    ) -> StoredMessage {
        let uid = match id {
            Some(id) => format!("i:{id}"),
            None => {
                let window = (at / ANON_WINDOW_MS).floor() as i64;
                if window != self.window {
                    self.window = window;
                    self.seen_in_window.clear();
                }
                let hash = fnv1a(payload);
                let n = self.seen_in_window.entry(hash).or_insert(0);
                *n += 1;
                format!("h:{hash:016x}:{window}:{n}")
            }
        };
        StoredMessage {
            topic: topic.to_owned(),
            uid,
            seq: self.sequence.next(at),
            at,
            payload: payload.to_vec(),
            author: None,
            refusal: None,
        }
    }

    /// The next sequence number, for records that are not arrivals (the outbox).
    pub fn next_seq(&mut self, now_ms: f64) -> f64 {
        self.sequence.next(now_ms)
    }
}

/// How many of the oldest records to evict from a topic holding `count`.
pub fn excess(count: usize) -> usize {
    if count > HISTORY_PER_TOPIC + HISTORY_SLACK {
        count - HISTORY_PER_TOPIC
    } else {
        0
    }
}

/// When storage is full: how many of the oldest history records to give up across topics
/// holding `count` in all, before trying again. A quarter, and at least 50, so one full disk
/// does not turn into a clean-up per message.
pub fn quota_eviction(count: usize) -> usize {
    (count / 4).max(50).min(count)
}

/// FNV-1a, 64 bits: stable across tabs and versions, and no crate for eight lines.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_with_an_id_is_keyed_by_it_whoever_records_it() {
        let a = Recorder::default().record("messages", b"{..}", Some("x1"), 1000.0);
        let b = Recorder::default().record("messages", b"{..}", Some("x1"), 1003.0);
        assert_eq!(a.uid, "i:x1");
        assert_eq!(a.uid, b.uid);
    }

    #[test]
    fn two_tabs_name_the_same_anonymous_stream_alike() {
        let (mut a, mut b) = (Recorder::default(), Recorder::default());
        let stream: [&[u8]; 4] = [b"hi", b"hi", b"other", b"hi"];
        let ua: Vec<String> = stream
            .iter()
            .enumerate()
            .map(|(i, p)| a.record("m", p, None, 50_000.0 + i as f64).uid)
            .collect();
        let ub: Vec<String> = stream
            .iter()
            .enumerate()
            .map(|(i, p)| b.record("m", p, None, 50_004.0 + i as f64).uid)
            .collect();
        assert_eq!(ua, ub);
        assert_ne!(ua[0], ua[1], "the same text twice is two messages");
        assert_ne!(ua[1], ua[3]);
    }

    #[test]
    fn the_same_text_later_is_another_message() {
        let mut r = Recorder::default();
        let first = r.record("m", b"ok", None, 1_000.0);
        let later = r.record("m", b"ok", None, 600_000.0);
        assert_ne!(first.uid, later.uid);
    }

    #[test]
    fn sequence_numbers_always_grow() {
        let mut s = Sequence::default();
        let a = s.next(1_700_000_000_000.0);
        let b = s.next(1_700_000_000_000.0);
        let c = s.next(1_699_999_999_000.0);
        let d = s.next(1_700_000_000_001.0);
        assert!(a < b && b < c && c < d, "{a} {b} {c} {d}");
        assert_eq!(b - a, 1.0, "exact steps at today's clock");
    }

    #[test]
    fn eviction_keeps_the_newest_thousand_in_batches() {
        assert_eq!(excess(HISTORY_PER_TOPIC), 0);
        assert_eq!(excess(HISTORY_PER_TOPIC + HISTORY_SLACK), 0);
        assert_eq!(
            excess(HISTORY_PER_TOPIC + HISTORY_SLACK + 1),
            HISTORY_SLACK + 1
        );
        assert_eq!(quota_eviction(4000), 1000);
        assert_eq!(quota_eviction(10), 10);
        assert_eq!(quota_eviction(0), 0);
    }
}
