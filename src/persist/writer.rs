//! All writes to IndexedDB go through one queue, flushed in one transaction per batch: a
//! burst of 10,000 messages costs a handful of transactions, not 10,000. Batches run one at
//! a time, in order, so an outbox record's delete never overtakes its put.
//!
//! When storage is full, the oldest history goes first and the batch is tried again; unsent
//! messages are never evicted. What could not be written is reported, not hidden.
//!
//! Chromium gives the space of deleted records back only when it compacts the database
//! (not while the page has it open), and a write it refuses still grows the files: so when
//! the retry after an eviction fails too, history is no longer written for the life of the
//! page. Otherwise every later batch would evict another quarter and fail again, and a full
//! disk would cost the whole history (crates/e2e/tests/quota.rs measured it: gone in two
//! batches). Unsent messages are still written, each time.
//!
//! In a burst the batches grow (a batch waits longer once the last one was big), and of
//! each topic only the newest [`chat::HISTORY_PER_TOPIC`] queued messages are written: the
//! rest would be evicted at once.
//!
//! The queue is bounded ([`chat::write_queue`]: 5,000 writes, 8 MiB), for the time
//! IndexedDB is late (it is waited for, however long) or slow: past the bound the oldest
//! queued history is dropped, and counted for a notice; unsent messages never are.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use chat::history::{excess, quota_eviction};
use chat::write_queue::{Class, Queued, WriteQueue, WRITE_OVERHEAD};
use chat::StoredMessage;
use idb::TransactionMode;

use super::outbox::Unsent;
use super::{
    finish, history, outbox, prefix_range, req, Db, StoreError, BY_AGE, BY_TOPIC, HISTORY, OUTBOX,
};

/// How long received messages wait to be written with the ones after them.
const BATCH_DELAY: Duration = Duration::from_millis(100);
/// The same during a burst (the last batch was bigger than [`BURST_BATCH`]): fewer, larger
/// batches, of which [`coalesce`] drops what eviction would throw away anyway.
const BURST_DELAY: Duration = Duration::from_millis(500);
const BURST_BATCH: usize = 300;
/// Changes written in one transaction at most: the requests are made in one go on the
/// page's thread, so a bigger batch would be a long task.
const MAX_BATCH: usize = 1000;

/// One change to storage.
#[derive(Clone, Debug)]
pub enum Op {
    History(StoredMessage),
    /// Forget the whole history (every topic). History queued before it is dropped.
    ClearHistory,
    OutboxPut {
        owner: String,
        unsent: Unsent,
    },
    OutboxDelete {
        owner: String,
        seq: f64,
    },
}

impl Op {
    fn is_outbox(&self) -> bool {
        matches!(self, Op::OutboxPut { .. } | Op::OutboxDelete { .. })
    }
}

impl Queued for Op {
    fn class(&self) -> Class<'_> {
        match self {
            Op::History(m) => Class::History { topic: &m.topic },
            Op::ClearHistory => Class::ClearHistory,
            Op::OutboxPut { owner, unsent } => Class::Outbox {
                owner,
                seq: unsent.seq,
                delete: false,
            },
            Op::OutboxDelete { owner, seq } => Class::Outbox {
                owner,
                seq: *seq,
                delete: true,
            },
        }
    }

    fn weight(&self) -> usize {
        WRITE_OVERHEAD
            + match self {
                Op::History(m) => m.payload.len() + m.topic.len() + m.uid.len(),
                Op::OutboxPut { owner, unsent } => {
                    owner.len()
                        + unsent.topic.len()
                        + unsent.message.name.len()
                        + unsent.message.message.len()
                }
                Op::OutboxDelete { owner, .. } => owner.len(),
                Op::ClearHistory => 0,
            }
    }
}

/// How a batch went, for the notices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `Some(Ok)` if the batch had history records and they were written.
    pub history: Option<Result<(), StoreError>>,
    pub outbox: Option<Result<(), StoreError>>,
    /// Received messages dropped from the queue, unwritten, to keep it within its bound.
    pub dropped: usize,
}

type Report = Rc<dyn Fn(Outcome)>;

struct State {
    db: Option<Db>,
    /// No database, and none coming: writes are dropped (the caller told the user).
    disabled: bool,
    queue: WriteQueue<Op>,
    /// History dropped from the full queue and not reported yet.
    dropped: usize,
    flushing: bool,
    /// A flush is scheduled: `Some(true)` one that runs at once.
    scheduled: Option<bool>,
    /// Storage stayed full after an eviction: history is not written any more.
    history_full: bool,
    /// How many changes the last batch wrote: a big one means a burst.
    last_batch: usize,
}

/// The write queue. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    state: Rc<RefCell<State>>,
    report: Report,
}

impl Writer {
    /// A queue that holds writes until [`Writer::attach`] gives it the database.
    pub fn new(report: impl Fn(Outcome) + 'static) -> Writer {
        Writer {
            state: Rc::new(RefCell::new(State {
                db: None,
                disabled: false,
                queue: WriteQueue::default(),
                dropped: 0,
                flushing: false,
                scheduled: None,
                history_full: false,
                last_batch: 0,
            })),
            report: Rc::new(report),
        }
    }

    /// The database is open (or, `None`, won't be): write what waited.
    pub fn attach(&self, db: Option<Db>) {
        {
            let mut s = self.state.borrow_mut();
            s.disabled = db.is_none();
            s.db = db;
            if s.disabled {
                s.queue.clear();
            }
        }
        self.flush_soon(Duration::ZERO);
    }

    /// Queue a change. Outbox changes are written at once; history waits for its batch.
    /// Past the queue's bound the oldest queued history is dropped (see the top), and said.
    pub fn push(&self, op: Op) {
        let urgent = !matches!(op, Op::History(_));
        let first_drop = {
            let mut s = self.state.borrow_mut();
            if s.disabled {
                return;
            }
            let dropped = s.queue.push(op);
            let first = dropped > 0 && s.dropped == 0;
            s.dropped += dropped;
            first
        };
        if first_drop {
            // Told after this task: the caller may be changing what the report changes.
            let writer = self.clone();
            leptos::prelude::set_timeout(move || writer.report_dropped(), Duration::ZERO);
        }
        let delay = if urgent {
            Duration::ZERO
        } else if self.state.borrow().last_batch > BURST_BATCH {
            BURST_DELAY
        } else {
            BATCH_DELAY
        };
        self.flush_soon(delay);
    }

    fn report_dropped(&self) {
        let dropped = std::mem::take(&mut self.state.borrow_mut().dropped);
        if dropped > 0 {
            (self.report)(Outcome {
                history: None,
                outbox: None,
                dropped,
            });
        }
    }

    /// Start writing what is queued now (the page is going away), even while a batch is
    /// being written: IndexedDB runs transactions in the order they were made.
    pub fn flush_now(&self) {
        let writer = self.clone();
        wasm_bindgen_futures::spawn_local(async move { writer.flush(true).await });
    }

    fn flush_soon(&self, delay: Duration) {
        let at_once = delay.is_zero();
        {
            let mut s = self.state.borrow_mut();
            // A batch waiting for its delay does not hold up an urgent write: an extra
            // flush finds the queue empty and does nothing.
            if s.db.is_none() || s.scheduled == Some(true) || (s.scheduled.is_some() && !at_once) {
                return;
            }
            s.scheduled = Some(at_once);
        }
        let writer = self.clone();
        leptos::prelude::set_timeout(move || writer.spawn_flush(), delay);
    }

    fn spawn_flush(&self) {
        let writer = self.clone();
        wasm_bindgen_futures::spawn_local(async move { writer.flush(false).await });
    }

    async fn flush(&self, force: bool) {
        let (db, ops, history_full) = {
            let mut s = self.state.borrow_mut();
            s.scheduled = None;
            if (s.flushing && !force) || s.queue.is_empty() {
                return;
            }
            let Some(db) = s.db.clone() else { return };
            s.flushing = true;
            s.queue.coalesce();
            let mut batch = s.queue.take(MAX_BATCH);
            if s.history_full {
                batch.retain(Op::is_outbox);
            }
            s.last_batch = batch.len();
            (db, batch, s.history_full)
        };
        let (outcome, unwritten, full) = write_with_eviction(&db, ops, history_full).await;
        let more = {
            let mut s = self.state.borrow_mut();
            s.flushing = false;
            s.history_full |= full;
            // Unsent messages that could not be written wait for the next batch (the next
            // change triggers it): the notice stays until they are in.
            let more = !s.queue.is_empty();
            s.queue.put_back(unwritten);
            more
        };
        (self.report)(outcome);
        if more {
            self.flush_soon(Duration::ZERO);
        }
    }
}

/// Write a batch; when storage is full, give up old history and try again. What still
/// fails is reported, and the outbox changes among it are handed back to be tried again
/// with the next batch: unsent messages are never dropped for the history's sake. With
/// `history_full` (an earlier eviction did not make room) only the unsent messages are
/// written. Returns how it went, what to try again, and whether storage stayed full after
/// an eviction.
async fn write_with_eviction(
    db: &Db,
    ops: Vec<Op>,
    history_full: bool,
) -> (Outcome, Vec<Op>, bool) {
    let has_history = ops.iter().any(|o| !o.is_outbox());
    let has_outbox = ops.iter().any(Op::is_outbox);
    let all = |r: Result<(), StoreError>| Outcome {
        history: has_history.then(|| r.clone()),
        outbox: has_outbox.then_some(r),
        dropped: 0,
    };
    let mut first = StoreError::Full;
    let mut full = history_full;
    if !history_full {
        first = match write(db, &ops).await {
            Ok(()) => return (all(Ok(())), Vec::new(), false),
            Err(e) => e,
        };
        if first == StoreError::Full && evict_oldest(db).await.is_ok() {
            match write(db, &ops).await {
                Ok(()) => return (all(Ok(())), Vec::new(), false),
                // No second eviction: it would not make room either (see the top).
                Err(StoreError::Full) => full = true,
                Err(_) => {}
            }
        }
    }
    // Still failing: what is unsent matters more than what was read.
    let unsent: Vec<Op> = ops.into_iter().filter(Op::is_outbox).collect();
    let outbox = if unsent.is_empty() {
        None
    } else {
        Some(write(db, &unsent).await)
    };
    let again = match &outbox {
        Some(Err(_)) => unsent,
        _ => Vec::new(),
    };
    let outcome = Outcome {
        history: has_history.then_some(Err(first)),
        outbox,
        dropped: 0,
    };
    (outcome, again, full)
}

async fn write(db: &Db, ops: &[Op]) -> Result<(), StoreError> {
    let tx = db.transaction(&[HISTORY, OUTBOX], TransactionMode::ReadWrite)?;
    let messages = req(tx.object_store(HISTORY))?;
    let unsent = req(tx.object_store(OUTBOX))?;
    let mut topics = BTreeSet::new();
    for op in ops {
        match op {
            Op::History(m) => {
                req(messages.put(&history::encode(m), Some(&history::key(m))))?;
                topics.insert(m.topic.as_str());
            }
            Op::OutboxPut { owner, unsent: u } => {
                req(unsent.put(&outbox::encode(owner, u), Some(&outbox::key(owner, u.seq))))?;
            }
            Op::OutboxDelete { owner, seq } => {
                req(unsent.delete(outbox::key(owner, *seq)))?;
            }
            Op::ClearHistory => {
                req(messages.clear())?;
            }
        }
    }
    // Keep each topic to its newest messages.
    let by_topic = req(messages.index(BY_TOPIC))?;
    for topic in topics {
        let range = prefix_range(topic)?;
        let count = req(req(by_topic.count(Some(range.clone().into())))?.await)? as usize;
        let n = excess(count);
        if n > 0 {
            let oldest =
                req(req(by_topic.get_all_keys(Some(range.into()), Some(n as u32)))?.await)?;
            for key in oldest {
                req(messages.delete(key))?;
            }
        }
    }
    finish(tx, &messages).await
}

/// Give up the oldest quarter of the history, across topics.
async fn evict_oldest(db: &Db) -> Result<(), StoreError> {
    let tx = db.transaction(&[HISTORY], TransactionMode::ReadWrite)?;
    let messages = req(tx.object_store(HISTORY))?;
    let count = req(req(messages.count(None))?.await)? as usize;
    let n = quota_eviction(count);
    if n > 0 {
        let by_age = req(messages.index(BY_AGE))?;
        let oldest = req(req(by_age.get_all_keys(None, Some(n as u32)))?.await)?;
        for key in oldest {
            req(messages.delete(key))?;
        }
    }
    finish(tx, &messages).await
}
