//! What became of the user's own messages after they left the outbox: refused by the broker,
//! given up after it closed the link on them, or (MQTT 3.1.1, signed in) acknowledged but
//! never seen back. The one owner of those marks; rows read them by message id.
//!
//! Sans-IO, on a virtual clock: `handle_*(now, …)` in, [`Receipts::poll_timeout`] and the
//! returned changes out. Times are wall-clock milliseconds.
//!
//! MQTT 3.1.1 cannot refuse a publish: Mosquitto acknowledges one its ACL denies and drops
//! it. So a signed-in 3.1.1 tab, subscribed to its rooms, expects its own message back
//! within [`ECHO_WAIT_MS`] of the PUBACK and marks it [`Refusal::NotSeenBack`] otherwise.
//! That mark is a warning, never a claim of delivery; a copy that comes later takes it away.

use std::collections::HashMap;

use crate::outbox::{Pending, Refusal, ECHO_WAIT_MS};

/// One own message on its way.
#[derive(Clone, Debug)]
enum Waiting {
    /// Published, not yet acknowledged.
    Sent,
    /// Acknowledged at 3.1.1 while signed in: must come back by `deadline`.
    Acknowledged {
        deadline: f64,
        pending: Box<Pending>,
    },
}

/// A change to what a row shows, for the history to keep too.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// `pending` is now marked `refusal` (written into its history record).
    Marked {
        pending: Box<Pending>,
        refusal: Refusal,
    },
    /// The message with this id came back after all: its "not seen back" mark is gone
    /// (its history record is written again without it).
    Unmarked { id: String },
}

/// The marks on own messages (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Receipts {
    /// Expect own messages back (MQTT 3.1.1, signed in).
    watch_echoes: bool,
    waiting: HashMap<String, Waiting>,
    marks: HashMap<String, Refusal>,
}

impl Receipts {
    pub fn new(watch_echoes: bool) -> Self {
        Receipts {
            watch_echoes,
            ..Default::default()
        }
    }

    /// The marks, by message id.
    pub fn marks(&self) -> &HashMap<String, Refusal> {
        &self.marks
    }

    /// Marks read back from the history at start-up.
    pub fn restore_marks(&mut self, marks: impl IntoIterator<Item = (String, Refusal)>) {
        self.marks.extend(marks);
    }

    /// Message `id` is published: its copy may come back before its PUBACK, so it is watched
    /// from now.
    pub fn handle_sent(&mut self, id: &str) {
        if self.watch_echoes {
            self.waiting.entry(id.to_owned()).or_insert(Waiting::Sent);
        }
    }

    /// The broker acknowledged `pending`. Unless its copy came back already, it must come
    /// back within [`ECHO_WAIT_MS`].
    pub fn handle_acknowledged(&mut self, now: f64, pending: Pending) {
        let id = pending.id().to_owned();
        if let Some(w) = self.waiting.get_mut(&id) {
            *w = Waiting::Acknowledged {
                deadline: now + f64::from(ECHO_WAIT_MS),
                pending: Box::new(pending),
            };
        }
    }

    /// The broker refused `pending` (MQTT 5), or closed the link on it each time: it is marked.
    pub fn handle_refused(&mut self, pending: Pending, refusal: Refusal) -> Change {
        self.waiting.remove(pending.id());
        self.marks.insert(pending.id().to_owned(), refusal.clone());
        Change::Marked {
            pending: Box::new(pending),
            refusal,
        }
    }

    /// Message `id` was never sent after all (the client could not take it): stop watching.
    pub fn forget(&mut self, id: &str) {
        self.waiting.remove(id);
    }

    /// A copy of message `id` came from the broker. Returns [`Change::Unmarked`] when it had
    /// been marked "not seen back".
    pub fn handle_echo(&mut self, id: &str) -> Option<Change> {
        self.waiting.remove(id);
        if matches!(self.marks.get(id), Some(Refusal::NotSeenBack)) {
            self.marks.remove(id);
            return Some(Change::Unmarked { id: id.to_owned() });
        }
        None
    }

    /// When [`Receipts::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.waiting
            .values()
            .filter_map(|w| match w {
                Waiting::Acknowledged { deadline, .. } => Some(*deadline),
                Waiting::Sent => None,
            })
            .min_by(f64::total_cmp)
    }

    /// Time passed: each message acknowledged over [`ECHO_WAIT_MS`] ago and not back is
    /// marked "not seen back", oldest first.
    pub fn handle_timeout(&mut self, now: f64) -> Vec<Change> {
        let mut due: Vec<(f64, String)> = self
            .waiting
            .iter()
            .filter_map(|(id, w)| match w {
                Waiting::Acknowledged { deadline, .. } if *deadline <= now => {
                    Some((*deadline, id.clone()))
                }
                _ => None,
            })
            .collect();
        due.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        due.into_iter()
            .filter_map(|(_, id)| match self.waiting.remove(&id) {
                Some(Waiting::Acknowledged { pending, .. }) => {
                    self.marks.insert(id, Refusal::NotSeenBack);
                    Some(Change::Marked {
                        pending,
                        refusal: Refusal::NotSeenBack,
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// How many own messages are watched for their copy.
    pub fn watched(&self) -> usize {
        self.waiting.len()
    }
}
