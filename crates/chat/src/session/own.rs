//! The user's own messages: sent, held while storage is read, stored, published (and
//! requeued after a reload), acknowledged, refused, given up, seen back. The outbox is
//! their one record; the marks on those that left it undelivered are `Receipts`'.

use mqtt_core::PublishError;

use super::{Key, Session, StoreOp, Transmit, ViewChange};
use crate::message::ChatMessage;
use crate::outbox::{OutboxError, Pending, Refusal, Unsent};
use crate::receipts::Change;

impl Session {
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
        self.typing_sent();
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
        let (topic, id) = kept_as(&unsent.topic, &unsent.message, at);
        self.stores.push_back(StoreOp::History {
            topic,
            payload: unsent.message.to_json(),
            id,
            at,
            refusal: None,
        });
        self.show_own(unsent, Vec::new());
    }

    pub(super) fn show_own(&mut self, unsent: &Unsent, before: Vec<String>) {
        self.views.push_back(ViewChange::ShowOwn {
            topic: unsent.topic.clone(),
            message: Box::new(unsent.message.clone()),
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
            if !fresh {
                self.requeue_answered(None);
            }
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
                self.receipts.forget(id);
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
            self.requeue_answered(answer.as_ref().err().map(ToString::to_string));
        }
        answer
    }

    /// The stored unsent messages are read back (`stored`, in send order). They go first,
    /// then those held while they were read: the held ones are stored now, and all are
    /// published, in that order; the stored ones' rows show ahead of the held ones'.
    /// Storage is known from here on (opened, or given up on: `stored` empty): rooms
    /// waiting for it ask for catch-up.
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
        let why = restored.refused.last().map(|(_, e)| e.to_string());
        self.republish(restored.refused.len(), why, restored.publish);
        self.rooms_storage_known();
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
        self.republish(0, None, held);
    }

    /// Publish, in order, messages already in the outbox and in storage. The notice comes
    /// once every one of them is answered, with `failed` more that could not even be queued.
    fn republish(&mut self, failed: usize, why: Option<String>, unsent: Vec<Unsent>) {
        self.requeue.failed += failed;
        if let Some(why) = why {
            self.requeue.why = why;
        }
        for u in &unsent {
            self.receipts
                .handle_sent(u.message.id.as_deref().unwrap_or_default());
            self.requeue.waiting += 1;
            self.publish(u);
        }
        if self.requeue.waiting == 0 {
            self.requeued();
        }
    }

    /// A message from storage was answered (`error`: why it could not be published).
    fn requeue_answered(&mut self, error: Option<String>) {
        if self.requeue.waiting == 0 {
            return;
        }
        self.requeue.waiting -= 1;
        if let Some(why) = error {
            self.requeue.failed += 1;
            self.requeue.why = why;
        }
        if self.requeue.waiting == 0 {
            self.requeued();
        }
    }

    fn requeued(&mut self) {
        let done = std::mem::take(&mut self.requeue);
        self.views.push_back(ViewChange::Requeued {
            failed: done.failed,
            why: done.why,
        });
    }

    /// Marks on own messages, read back from the history at start-up.
    pub fn restore_marks(&mut self, marks: impl IntoIterator<Item = (String, Refusal)>) {
        self.receipts.restore_marks(marks);
        self.view(ViewChange::Marks);
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

    /// A chat message with id `id` came from the broker (`topic`, `payload`, its time `at`).
    /// If it is an own message marked "not seen back", it was delivered after all: the mark
    /// goes, from the history too.
    pub fn handle_echo(&mut self, id: &str, topic: &str, payload: &[u8], at: f64) {
        if self.receipts.handle_echo(id).is_some() && !is_reaction(payload) {
            self.stores.push_back(StoreOp::History {
                topic: topic.to_owned(),
                payload: payload.to_vec(),
                id: Some(id.to_owned()),
                at,
                refusal: None,
            });
            self.view(ViewChange::Marks);
        }
    }

    pub(super) fn refused(&mut self, now: f64, pending: Pending, refusal: Refusal) {
        let change = self.receipts.handle_refused(pending, refusal);
        self.changed(now, change);
    }

    /// A mark came: into the history record and the rows.
    pub(super) fn changed(&mut self, now: f64, change: Change) {
        if let Change::Marked { pending, refusal } = change {
            if pending.message.react.is_some() {
                // A reaction has no row to mark, and its record is the reaction's own.
                self.view(ViewChange::Marks);
                return;
            }
            self.stores.push_back(StoreOp::History {
                topic: pending.topic.clone(),
                payload: pending.message.to_json(),
                id: Some(pending.id().to_owned()),
                at: pending.message.ts.unwrap_or(now),
                refusal: Some(refusal),
            });
        }
        self.view(ViewChange::Marks);
    }
}

/// Where one of ours is kept in the history: a chat message under its topic and id; a
/// reaction under its room's reactions topic and its key (see [`crate::reactions`]).
fn kept_as(topic: &str, message: &ChatMessage, at: f64) -> (String, Option<String>) {
    match crate::reactions::Reaction::of(message, at) {
        Some(r) => (reactions_topic_of(topic), Some(r.key())),
        None => (topic.to_owned(), message.id.clone()),
    }
}

/// The reactions topic of the room `topic` belongs to (`…/from/<user>` is its room's).
pub fn reactions_topic_of(topic: &str) -> String {
    let room = match crate::topics::route(topic) {
        Some(crate::topics::Route::Chat { room, .. }) => room.chat_topic(),
        _ => topic.to_owned(),
    };
    crate::reactions::reactions_topic(&room)
}

fn is_reaction(payload: &[u8]) -> bool {
    matches!(
        crate::message::decode_payload(payload),
        crate::message::Payload::Chat(ChatMessage { react: Some(_), .. })
    )
}

fn unsent_of(p: &Pending) -> Unsent {
    Unsent {
        seq: p.seq,
        topic: p.topic.clone(),
        message: p.message.clone(),
    }
}
