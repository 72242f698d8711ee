//! The chat session's own logic, sans-IO, in the style of `mqtt_core::Client`: time and
//! randomness come in as arguments, and nothing here touches a socket, storage or the page.
//!
//! It owns what becomes of the user's own messages and whether authors are vouched for:
//! - the [`Outbox`], the one record of unsent messages: what is published, what is resent
//!   after a reload and what own rows show derive from it;
//! - the marks on own messages that left it undelivered ([`Receipts`]);
//! - the [`AuthorshipCheck`].
//!
//! Rooms, presence, typing and catch-up keep their own domain types for now, driven from the
//! app's `src/session`; they are the next to move in here, behind the same calls.
//!
//! Driven by `handle_*(now, …)` calls, read by `poll_*` calls:
//! - [`Session::poll_transmit`]: the next thing for the MQTT client (publish, abandon);
//!   a publish is answered with [`Session::handle_published`];
//! - [`Session::poll_store`]: the next storage write, in order;
//! - [`Session::poll_view`]: the next change for the view;
//! - [`Session::poll_timeout`]: when [`Session::handle_timeout`] is next due.
//!
//! Times are wall-clock milliseconds, as elsewhere in the domain.

use std::collections::{HashSet, VecDeque};

use mqtt_core::PublishError;

use crate::authorship::{AuthorshipCheck, Verdict, PROBE_PAYLOAD};
use crate::connection::MqttVersion;
use crate::message::ChatMessage;
use crate::outbox::{Outbox, OutboxError, Pending, Refusal, Unsent, MAX_CLOSED_SENDS};
use crate::receipts::{Change, Receipts};

/// What a publish is for, to match its answer ([`Session::handle_published`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// The own message with this id.
    Message(String),
    /// The authorship probe.
    Probe,
}

/// For the MQTT client.
#[derive(Clone, Debug, PartialEq)]
pub enum Transmit {
    /// Publish at QoS 1, not retained. Answer with [`Session::handle_published`].
    Publish {
        key: Key,
        topic: String,
        payload: Vec<u8>,
    },
    /// Never send this packet again (its answer would be read wrongly, or it would loop).
    Abandon(u16),
}

/// For storage, in this order. The outbox's records are keyed by `seq` under this tab's
/// client id.
#[derive(Clone, Debug, PartialEq)]
pub enum StoreOp {
    /// Keep this unsent message (before it goes on the wire).
    OutboxPut(Unsent),
    /// It left the outbox.
    OutboxDelete { seq: f64 },
    /// An own message's history record, written (again) under its key, with its mark or
    /// without one.
    History {
        topic: String,
        payload: Vec<u8>,
        id: String,
        at: f64,
        refusal: Option<Refusal>,
    },
}

/// For the view.
#[derive(Clone, Debug, PartialEq)]
pub enum ViewChange {
    /// Show an own message's row, in the room its topic names; ahead of the rows with the
    /// ids in `before` (sent after it, while it was being read back), if any are shown.
    ShowOwn {
        topic: String,
        message: ChatMessage,
        at: f64,
        before: Vec<String>,
    },
    /// The outbox changed: own rows read their delivery again.
    Outbox,
    /// The marks on own messages changed.
    Marks,
    /// The authorship verdict may have changed.
    Verdict,
    /// Of the messages from before a reload (or held while storage was read), `failed`
    /// could not be queued, the last because of `why`; they stay stored. 0: all went.
    Requeued { failed: usize, why: String },
}

/// A batch of stored messages being queued again: its notice comes when all are answered.
#[derive(Clone, Debug, Default)]
struct Requeue {
    waiting: HashSet<String>,
    failed: usize,
    why: String,
}

/// The session (see the module docs).
#[derive(Clone, Debug)]
pub struct Session {
    outbox: Outbox,
    receipts: Receipts,
    authorship: AuthorshipCheck,
    /// Fresh messages published and not yet answered: a failed publish takes them back out.
    fresh: HashSet<String>,
    requeue: Option<Requeue>,
    transmits: VecDeque<Transmit>,
    stores: VecDeque<StoreOp>,
    views: VecDeque<ViewChange>,
}

impl Session {
    /// A session for an MQTT `version` link, signed in (the user name pinned into topics)
    /// or not. Until [`Session::handle_restored`] (or [`Session::handle_storage_late`]),
    /// what is sent waits behind the stored unsent messages.
    pub fn new(version: MqttVersion, signed_in: bool) -> Self {
        Session {
            outbox: Outbox::awaiting_restore(),
            // MQTT 3.1.1 cannot refuse a publish: a signed-in tab expects its own back.
            receipts: Receipts::new(version == MqttVersion::V311 && signed_in),
            authorship: AuthorshipCheck::new(version, signed_in),
            fresh: HashSet::new(),
            requeue: None,
            transmits: VecDeque::new(),
            stores: VecDeque::new(),
            views: VecDeque::new(),
        }
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn marks(&self) -> &std::collections::HashMap<String, Refusal> {
        self.receipts.marks()
    }

    pub fn verdict(&self) -> &Verdict {
        self.authorship.verdict()
    }

    /// How many own messages are watched for their copy (MQTT 3.1.1, signed in).
    pub fn watched(&self) -> usize {
        self.receipts.watched()
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_store(&mut self) -> Option<StoreOp> {
        self.stores.pop_front()
    }

    pub fn poll_view(&mut self) -> Option<ViewChange> {
        self.views.pop_front()
    }

    /// When [`Session::handle_timeout`] is next due: the earliest of an own message's echo
    /// deadline and the probe's.
    pub fn poll_timeout(&self) -> Option<f64> {
        [self.receipts.poll_timeout(), self.authorship.poll_timeout()]
            .into_iter()
            .flatten()
            .min_by(f64::total_cmp)
    }

    /// The user sends `message` (it carries its id) on `topic`; `seq_hint` is the clock's
    /// send order. It joins the outbox after everything there. It is stored and published
    /// now, or, while the stored messages are still being read, held behind them.
    pub fn handle_send(
        &mut self,
        seq_hint: f64,
        topic: &str,
        message: ChatMessage,
    ) -> Result<(), OutboxError> {
        let seq = self.outbox.push_new(seq_hint, topic, message.clone())?;
        let id = message.id.clone().unwrap_or_default();
        self.receipts.handle_sent(&id);
        self.view(ViewChange::Outbox);
        let unsent = Unsent {
            seq,
            topic: topic.to_owned(),
            message,
        };
        if self.outbox.is_restoring() {
            // Held: shown as queued; stored and published after the stored ones.
            self.sent_fresh(&unsent);
        } else {
            self.stores.push_back(StoreOp::OutboxPut(unsent.clone()));
            self.fresh.insert(id.clone());
            self.publish(&unsent);
        }
        Ok(())
    }

    /// A fresh message is on its way: into the history and onto the page.
    fn sent_fresh(&mut self, unsent: &Unsent) {
        let at = unsent.message.ts.unwrap_or(unsent.seq / 1000.0);
        self.stores.push_back(StoreOp::History {
            topic: unsent.topic.clone(),
            payload: unsent.message.to_json(),
            id: unsent.message.id.clone().unwrap_or_default(),
            at,
            refusal: None,
        });
        self.show_own(unsent, Vec::new());
    }

    fn show_own(&mut self, unsent: &Unsent, before: Vec<String>) {
        self.views.push_back(ViewChange::ShowOwn {
            topic: unsent.topic.clone(),
            message: unsent.message.clone(),
            at: unsent.message.ts.unwrap_or(unsent.seq / 1000.0),
            before,
        });
    }

    fn publish(&mut self, unsent: &Unsent) {
        self.transmits.push_back(Transmit::Publish {
            key: Key::Message(unsent.message.id.clone().unwrap_or_default()),
            topic: unsent.topic.clone(),
            payload: unsent.message.to_json(),
        });
    }

    /// The client's answer to a [`Transmit::Publish`]: the packet id it took the message
    /// under (`Ok(None)` at QoS 0), or why it could not. A fresh message that could not be
    /// published leaves the outbox and storage (nothing was sent; the error is returned for
    /// the user, whose text stays in the box); one from storage stays, shown as queued.
    pub fn handle_published(
        &mut self,
        key: &Key,
        result: Result<Option<u16>, PublishError>,
    ) -> Result<(), PublishError> {
        let id = match key {
            Key::Probe => {
                match result {
                    Ok(Some(pkid)) => self.authorship.handle_probe_sent(pkid),
                    _ => self.authorship.handle_probe_not_sent(),
                }
                self.view(ViewChange::Verdict);
                return Ok(());
            }
            Key::Message(id) => id,
        };
        let fresh = self.fresh.remove(id);
        let Some(unsent) = self.outbox.entries().find(|p| p.id() == id).map(unsent_of) else {
            return result.map(|_| ());
        };
        let answer = match result {
            Ok(pkid) => {
                if let Some(pkid) = pkid {
                    self.outbox.published(id, pkid);
                }
                if fresh {
                    self.sent_fresh(&unsent);
                } else {
                    self.show_own(&unsent, Vec::new());
                }
                Ok(())
            }
            Err(e) if fresh => {
                self.outbox.remove(id);
                self.receipts.handle_echo(id);
                self.stores
                    .push_back(StoreOp::OutboxDelete { seq: unsent.seq });
                self.view(ViewChange::Outbox);
                Err(e)
            }
            Err(e) => {
                // Kept, in memory and in storage: nothing is thrown away.
                self.show_own(&unsent, Vec::new());
                Err(e)
            }
        };
        if !fresh {
            self.requeue_answered(id, answer.as_ref().err().map(ToString::to_string));
        }
        answer
    }

    /// The stored unsent messages are read back (`stored`, in send order). They go first,
    /// then those held while they were read: the held ones are stored now, and all are
    /// published, in that order; the stored ones' rows show ahead of the held ones'.
    pub fn handle_restored(&mut self, stored: Vec<Unsent>) {
        let restored = self.outbox.restore(stored);
        for u in &restored.held {
            self.stores.push_back(StoreOp::OutboxPut(u.clone()));
        }
        let later: Vec<String> = restored
            .held
            .iter()
            .filter_map(|u| u.message.id.clone())
            .collect();
        for u in &restored.publish {
            if !u.message.id.as_ref().is_some_and(|id| later.contains(id)) {
                self.show_own(u, later.clone());
            }
        }
        self.view(ViewChange::Outbox);
        let mut requeue = Requeue {
            failed: restored.refused.len(),
            why: restored
                .refused
                .last()
                .map(|(_, e)| e.to_string())
                .unwrap_or_default(),
            ..Requeue::default()
        };
        self.republish(&mut requeue, restored.publish);
    }

    /// Storage has not answered for a while: stop holding what was sent meanwhile. It is
    /// stored (once storage answers) and published now; stored messages read back later go
    /// after it.
    pub fn handle_storage_late(&mut self) {
        let held = self.outbox.release();
        if held.is_empty() {
            return;
        }
        for u in &held {
            self.stores.push_back(StoreOp::OutboxPut(u.clone()));
        }
        self.republish(&mut Requeue::default(), held);
    }

    /// Publish, in order, messages already in the outbox and in storage.
    fn republish(&mut self, requeue: &mut Requeue, unsent: Vec<Unsent>) {
        for u in &unsent {
            let id = u.message.id.clone().unwrap_or_default();
            self.receipts.handle_sent(&id);
            requeue.waiting.insert(id);
            self.publish(u);
        }
        let requeue = std::mem::take(requeue);
        if requeue.waiting.is_empty() {
            self.views.push_back(ViewChange::Requeued {
                failed: requeue.failed,
                why: requeue.why,
            });
        } else {
            self.requeue = Some(requeue);
        }
    }

    fn requeue_answered(&mut self, id: &str, error: Option<String>) {
        let Some(requeue) = &mut self.requeue else {
            return;
        };
        if !requeue.waiting.remove(id) {
            return;
        }
        if let Some(why) = error {
            requeue.failed += 1;
            requeue.why = why;
        }
        if requeue.waiting.is_empty() {
            let done = self.requeue.take().unwrap_or_default();
            self.views.push_back(ViewChange::Requeued {
                failed: done.failed,
                why: done.why,
            });
        }
    }

    /// Marks on own messages, read back from the history at start-up.
    pub fn restore_marks(&mut self, marks: impl IntoIterator<Item = (String, Refusal)>) {
        self.receipts.restore_marks(marks);
        self.view(ViewChange::Marks);
    }

    /// A new link is up, to this tab's client id `tab`. The authorship check starts again,
    /// with `made_up` (fresh randomness; empty when there is none: then it is not known).
    pub fn handle_connected(&mut self, now: f64, tab: &str, made_up: &str) {
        if let Some(topic) = self.authorship.handle_connected(now, tab, made_up) {
            if made_up.is_empty() {
                self.authorship.handle_probe_not_sent();
            } else {
                self.transmits.push_back(Transmit::Publish {
                    key: Key::Probe,
                    topic,
                    payload: PROBE_PAYLOAD.to_vec(),
                });
            }
        }
        self.view(ViewChange::Verdict);
    }

    /// The client put packet `pkid` on the wire.
    pub fn handle_sent(&mut self, now: f64, pkid: u16) {
        if self.outbox.sent(pkid, now) {
            self.view(ViewChange::Outbox);
        }
    }

    /// A PUBACK that accepts `pkid`. Returns whether it was the authorship probe's (then
    /// nothing else should read it).
    pub fn handle_puback(&mut self, now: f64, pkid: u16) -> bool {
        if self.authorship.handle_puback(pkid, None) {
            self.view(ViewChange::Verdict);
            return true;
        }
        let Some(done) = self.outbox.acknowledge(pkid) else {
            return false;
        };
        self.stores
            .push_back(StoreOp::OutboxDelete { seq: done.seq });
        self.receipts.handle_acknowledged(now, done);
        self.view(ViewChange::Outbox);
        false
    }

    /// MQTT 5: a PUBACK that refuses `pkid`, with its reason `code` (when known) and the
    /// reason in words. The probe's answer (returns true), or an own message that leaves the
    /// outbox (it would be refused again) and is marked.
    pub fn handle_publish_refused(
        &mut self,
        now: f64,
        pkid: u16,
        code: Option<u8>,
        reason: &str,
    ) -> bool {
        if code.is_some() && self.authorship.handle_puback(pkid, code) {
            self.view(ViewChange::Verdict);
            return true;
        }
        if let Some(done) = self.outbox.refuse(pkid) {
            self.stores
                .push_back(StoreOp::OutboxDelete { seq: done.seq });
            self.view(ViewChange::Outbox);
            self.refused(now, done, Refusal::Refused(reason.to_owned()));
        }
        false
    }

    /// A message arrived on `topic`. Returns whether it was the probe coming back (then
    /// nothing else should read it).
    pub fn handle_message(&mut self, topic: &str) -> bool {
        let probe = self.authorship.handle_message(topic);
        if probe {
            self.view(ViewChange::Verdict);
        }
        probe
    }

    /// A chat message with id `id` came from the broker (`topic`, `payload`, its time `at`).
    /// If it is an own message marked "not seen back", it was delivered after all: the mark
    /// goes, from the history too.
    pub fn handle_echo(&mut self, id: &str, topic: &str, payload: &[u8], at: f64) {
        if self.receipts.handle_echo(id).is_some() {
            self.stores.push_back(StoreOp::History {
                topic: topic.to_owned(),
                payload: payload.to_vec(),
                id: id.to_owned(),
                at,
                refusal: None,
            });
            self.view(ViewChange::Marks);
        }
    }

    /// The link ended at `now`. `closed_by_broker`: not by this tab and not a refused
    /// connect; then a message it carried just before counts one more link closed on it, and
    /// one closed on [`MAX_CLOSED_SENDS`] times is given up and marked. Everything else waits
    /// for the next link. A check under way is not known, and its probe never goes again.
    pub fn handle_link_lost(&mut self, now: f64, closed_by_broker: bool) {
        if closed_by_broker {
            for pending in self.outbox.link_lost_at(now) {
                if let Some(pkid) = pending.pkid {
                    self.transmits.push_back(Transmit::Abandon(pkid));
                }
                self.stores
                    .push_back(StoreOp::OutboxDelete { seq: pending.seq });
                let why =
                    format!("the broker closed the connection on it {MAX_CLOSED_SENDS} times");
                self.refused(now, pending, Refusal::Refused(why));
            }
        } else {
            self.outbox.link_lost();
        }
        self.view(ViewChange::Outbox);
        if let Some(pkid) = self.authorship.handle_link_lost() {
            self.transmits.push_back(Transmit::Abandon(pkid));
        }
        self.view(ViewChange::Verdict);
    }

    /// Time passed: own messages not seen back in time are marked; a probe past its
    /// deadline is not known, and abandoned.
    pub fn handle_timeout(&mut self, now: f64) {
        for change in self.receipts.handle_timeout(now) {
            self.changed(now, change);
        }
        if let Some(pkid) = self.authorship.handle_timeout(now) {
            self.transmits.push_back(Transmit::Abandon(pkid));
        }
        self.view(ViewChange::Verdict);
    }

    fn refused(&mut self, now: f64, pending: Pending, refusal: Refusal) {
        let change = self.receipts.handle_refused(pending, refusal);
        self.changed(now, change);
    }

    /// A mark came: into the history record and the rows.
    fn changed(&mut self, now: f64, change: Change) {
        if let Change::Marked { pending, refusal } = change {
            self.stores.push_back(StoreOp::History {
                topic: pending.topic.clone(),
                payload: pending.message.to_json(),
                id: pending.id().to_owned(),
                at: pending.message.ts.unwrap_or(now),
                refusal: Some(refusal),
            });
        }
        self.view(ViewChange::Marks);
    }

    /// Queue a change of state for the view, once until it is read.
    fn view(&mut self, change: ViewChange) {
        if !self.views.contains(&change) {
            self.views.push_back(change);
        }
    }
}

fn unsent_of(p: &Pending) -> Unsent {
    Unsent {
        seq: p.seq,
        topic: p.topic.clone(),
        message: p.message.clone(),
    }
}
