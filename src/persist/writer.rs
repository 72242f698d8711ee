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

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use chat::history::{excess, quota_eviction};
use chat::StoredMessage;
use idb::TransactionMode;

use super::outbox::Unsent;
use super::{
    finish, history, outbox, prefix_range, req, Db, StoreError, BY_AGE, BY_TOPIC, HISTORY, OUTBOX,
};

/// How long received messages wait to be written with the ones after them.
const BATCH_DELAY: Duration = Duration::from_millis(100);

/// One change to storage.
#[derive(Clone, Debug)]
pub enum Op {
    History(StoredMessage),
    OutboxPut { owner: String, unsent: Unsent },
    OutboxDelete { owner: String, seq: f64 },
}

impl Op {
    fn is_outbox(&self) -> bool {
        !matches!(self, Op::History(_))
    }
}

/// How a batch went, for the notices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `Some(Ok)` if the batch had history records and they were written.
    pub history: Option<Result<(), StoreError>>,
    pub outbox: Option<Result<(), StoreError>>,
}

type Report = Rc<dyn Fn(Outcome)>;

struct State {
    db: Option<Db>,
    /// No database, and none coming: writes are dropped (the caller told the user).
    disabled: bool,
    queue: Vec<Op>,
    flushing: bool,
    /// A flush is scheduled: `Some(true)` one that runs at once.
    scheduled: Option<bool>,
    /// Storage stayed full after an eviction: history is not written any more.
    history_full: bool,
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
                queue: Vec::new(),
                flushing: false,
                scheduled: None,
                history_full: false,
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
    pub fn push(&self, op: Op) {
        let urgent = op.is_outbox();
        {
            let mut s = self.state.borrow_mut();
            if s.disabled {
                return;
            }
            s.queue.push(op);
        }
        self.flush_soon(if urgent { Duration::ZERO } else { BATCH_DELAY });
    }

    /// Start writing what is queued now (the page is going away).
    pub fn flush_now(&self) {
        self.spawn_flush();
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
        wasm_bindgen_futures::spawn_local(async move { writer.flush().await });
    }

    async fn flush(&self) {
        let (db, ops, history_full) = {
            let mut s = self.state.borrow_mut();
            s.scheduled = None;
            if s.flushing || s.queue.is_empty() {
                return;
            }
            let Some(db) = s.db.clone() else { return };
            s.flushing = true;
            (db, std::mem::take(&mut s.queue), s.history_full)
        };
        let (outcome, full) = write_with_eviction(&db, ops, history_full).await;
        let more = {
            let mut s = self.state.borrow_mut();
            s.flushing = false;
            s.history_full |= full;
            !s.queue.is_empty()
        };
        (self.report)(outcome);
        if more {
            self.flush_soon(Duration::ZERO);
        }
    }
}

/// Write a batch; when storage is full, give up old history and try again, then try the
/// unsent messages alone. With `history_full` (an earlier eviction did not make room) only
/// the unsent messages are written. Returns how it went, and whether storage stayed full
/// after an eviction.
async fn write_with_eviction(db: &Db, ops: Vec<Op>, history_full: bool) -> (Outcome, bool) {
    let has_history = ops.iter().any(|o| !o.is_outbox());
    let has_outbox = ops.iter().any(Op::is_outbox);
    let all = |r: Result<(), StoreError>| Outcome {
        history: has_history.then(|| r.clone()),
        outbox: has_outbox.then_some(r),
    };
    if !history_full {
        match write(db, &ops).await {
            Err(StoreError::Full) => {}
            other => return (all(other), false),
        }
        if evict_oldest(db).await.is_ok() {
            match write(db, &ops).await {
                Err(StoreError::Full) => {}
                other => return (all(other), false),
            }
        }
    }
    // Still full: what is unsent matters more than what was read. No second eviction: it
    // would not make room either (see the top of this file).
    let unsent: Vec<Op> = ops.into_iter().filter(Op::is_outbox).collect();
    let outbox = if unsent.is_empty() {
        None
    } else {
        Some(write(db, &unsent).await)
    };
    let outcome = Outcome {
        history: has_history.then_some(Err(StoreError::Full)),
        outbox,
    };
    (outcome, true)
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
