//! The queue of writes waiting for browser storage, apart from the storage itself: bounded,
//! so a late or slow IndexedDB costs a known amount of memory, and never at the expense of
//! an unsent message.
//!
//! - A history write past the bound drops queued history, down to three quarters of the
//!   bound (so a burst at the bound does not pay a pass per message): first what eviction
//!   would throw away anyway ([`HISTORY_PER_TOPIC`] per topic), then **every topic alike,
//!   oldest first**: each keeps its newest (a burst into many rooms, room after room, once
//!   left the first rooms empty).
//!   What is dropped is counted, for the user's notice.
//! - **Outbox writes are never dropped.** A delete coalesces with the queued put of the
//!   same key (the message was delivered before it was ever written). The outbox holds at
//!   most [`crate::OUTBOX_CAPACITY`] messages, so these writes stay few.
//! - Clearing the history drops the history queued before it.

use std::collections::HashMap;

use crate::HISTORY_PER_TOPIC;

/// Writes queued at most (history dropped past it). Five of the writer's largest batches
/// (1,000 changes each): a burst into a few rooms fits, after the per-topic coalescing, and
/// a late IndexedDB (it is waited for, however long) cannot grow the page without end.
pub const QUEUE_MAX_WRITES: usize = 5_000;
/// Bytes queued at most, roughly (payloads, topics and keys): 8 MiB, about 2,000 messages at
/// the 4 KiB a chat message may have, or 64 at the 128 KiB one received may have.
pub const QUEUE_MAX_BYTES: usize = 8 * 1024 * 1024;
/// What a queued write costs besides its text: its key, the object around it.
pub const WRITE_OVERHEAD: usize = 64;

/// What a queued write is, as far as the queue cares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Class<'a> {
    /// A message for the history of `topic`: may be dropped when the queue is full.
    History { topic: &'a str },
    /// Forget the whole history.
    ClearHistory,
    /// An unsent message written, or (`delete`) removed once delivered. Never dropped.
    Outbox {
        owner: &'a str,
        seq: f64,
        delete: bool,
    },
}

/// A write the queue can hold.
pub trait Queued {
    fn class(&self) -> Class<'_>;
    /// Roughly the bytes it holds.
    fn weight(&self) -> usize;
}

/// How much the queue holds before it drops history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    pub writes: usize,
    pub bytes: usize,
}

impl Default for Bound {
    fn default() -> Bound {
        Bound {
            writes: QUEUE_MAX_WRITES,
            bytes: QUEUE_MAX_BYTES,
        }
    }
}

/// Writes in the order they are to be made.
#[derive(Clone, Debug)]
pub struct WriteQueue<T> {
    items: Vec<T>,
    bytes: usize,
    bound: Bound,
}

impl<T: Queued> Default for WriteQueue<T> {
    fn default() -> Self {
        WriteQueue::new(Bound::default())
    }
}

fn is_history<T: Queued>(op: &T) -> bool {
    matches!(op.class(), Class::History { .. })
}

fn is_outbox<T: Queued>(op: &T) -> bool {
    matches!(op.class(), Class::Outbox { .. })
}

impl<T: Queued> WriteQueue<T> {
    pub fn new(bound: Bound) -> Self {
        WriteQueue {
            items: Vec::new(),
            bytes: 0,
            bound,
        }
    }

    /// Queue a write. Returns how many queued history writes were dropped to stay within
    /// the bound (never an outbox write: with nothing else left to drop, the queue holds
    /// more than the bound rather than lose an unsent message).
    pub fn push(&mut self, op: T) -> usize {
        match op.class() {
            Class::ClearHistory => self.retain(&mut |o| !is_history(o)),
            Class::Outbox {
                owner,
                seq,
                delete: true,
            } => self.retain(&mut |o| {
                !matches!(o.class(), Class::Outbox { owner: queued, seq: s, delete: false }
                    if queued == owner && s == seq)
            }),
            _ => {}
        }
        self.bytes += op.weight();
        self.items.push(op);
        if self.over(self.bound.writes, self.bound.bytes) {
            self.make_room()
        } else {
            0
        }
    }

    fn over(&self, writes: usize, bytes: usize) -> bool {
        self.items.len() > writes || self.bytes > bytes
    }

    /// Keep the writes `keep` says to, and the byte count true to them. (`dyn`: one copy
    /// of this in the Wasm for every caller.)
    fn retain(&mut self, keep: &mut dyn FnMut(&T) -> bool) {
        let mut bytes = self.bytes;
        self.items.retain(|op| {
            let kept = keep(op);
            if !kept {
                bytes = bytes.saturating_sub(op.weight());
            }
            kept
        });
        self.bytes = bytes;
    }

    /// Past the bound: first what eviction would drop anyway, then history, down to three
    /// quarters of the bound, every topic alike ([`Self::fair_share`]).
    fn make_room(&mut self) -> usize {
        let (writes, bytes) = (self.bound.writes / 4 * 3, self.bound.bytes / 4 * 3);
        self.coalesce();
        if !self.over(writes, bytes) {
            return 0;
        }
        let others = self.items.iter().filter(|o| !is_history(*o));
        let (other_writes, other_bytes) = others.fold((0, 0), |(n, b), o| (n + 1, b + o.weight()));
        let history = self.items.len() - other_writes;
        let mut budget = writes.saturating_sub(other_writes).min(history);
        let keep = loop {
            let keep = self.fair_share(budget);
            let kept: usize = self
                .items
                .iter()
                .zip(&keep)
                .filter(|(o, k)| **k && is_history(*o))
                .map(|(o, _)| o.weight())
                .sum();
            if other_bytes + kept <= bytes || budget == 0 {
                break keep;
            }
            budget = budget / 4 * 3;
        };
        let before = self.items.len();
        let mut i = 0;
        self.retain(&mut |_| {
            i += 1;
            keep[i - 1]
        });
        before - self.items.len()
    }

    /// Which queued writes to keep with at most `budget` history writes: of every topic
    /// its newest, the same number from each (the busiest give way first, so a burst into
    /// twenty rooms never empties the first rooms), then the newest of what is left.
    fn fair_share(&self, budget: usize) -> Vec<bool> {
        // Each history write's place in its topic, newest first (`usize::MAX`: not history).
        let mut counts: HashMap<&str, usize> = HashMap::new();
        let mut rank = vec![usize::MAX; self.items.len()];
        for (i, op) in self.items.iter().enumerate().rev() {
            if let Class::History { topic } = op.class() {
                let n = counts.entry(topic).or_default();
                rank[i] = *n;
                *n += 1;
            }
        }
        let kept_at = |cap: usize| counts.values().map(|n| (*n).min(cap)).sum::<usize>();
        // The largest share every topic can have.
        let (mut low, mut high) = (0, counts.values().copied().max().unwrap_or(0));
        while low < high {
            let mid = (low + high).div_ceil(2);
            if kept_at(mid) <= budget {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        let mut left = budget - kept_at(low);
        let mut keep = vec![true; self.items.len()];
        for i in (0..self.items.len()).rev() {
            if rank[i] == usize::MAX || rank[i] < low {
                continue;
            }
            if rank[i] == low && left > 0 {
                left -= 1;
            } else {
                keep[i] = false;
            }
        }
        keep
    }

    /// Of each topic only the newest [`HISTORY_PER_TOPIC`] queued messages can survive
    /// eviction: the older ones are not written at all.
    pub fn coalesce(&mut self) {
        let mut newer: HashMap<&str, usize> = HashMap::new();
        let mut keep = vec![true; self.items.len()];
        for (i, op) in self.items.iter().enumerate().rev() {
            if let Class::History { topic } = op.class() {
                let n = newer.entry(topic).or_default();
                keep[i] = *n < HISTORY_PER_TOPIC;
                *n += 1;
            }
        }
        if keep.iter().all(|k| *k) {
            return;
        }
        let mut i = 0;
        self.retain(&mut |_| {
            i += 1;
            keep[i - 1]
        });
    }

    /// Take up to `max` writes from the front, to write as one batch.
    pub fn take(&mut self, max: usize) -> Vec<T> {
        let rest = self.items.split_off(max.min(self.items.len()));
        let batch = std::mem::replace(&mut self.items, rest);
        let taken: usize = batch.iter().map(Queued::weight).sum();
        self.bytes = self.bytes.saturating_sub(taken);
        batch
    }

    /// Writes that failed go back in front of what was queued since, to be tried first.
    pub fn put_back(&mut self, mut front: Vec<T>) {
        self.bytes += front.iter().map(Queued::weight).sum::<usize>();
        front.append(&mut self.items);
        self.items = front;
    }

    /// Forget every queued history write (history is not written any more).
    pub fn drop_history(&mut self) {
        self.retain(&mut |o| !is_history(o));
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Roughly the bytes queued.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many queued writes are outbox writes.
    pub fn outbox_writes(&self) -> usize {
        self.items.iter().filter(|o| is_outbox(*o)).count()
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }
}
