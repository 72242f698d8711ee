//! Messages the user sent that the broker has not acknowledged yet, oldest first: the one
//! home of "unsent". The app mirrors each entry into IndexedDB, one record per message, so a
//! reload, even while offline, loses nothing; on start it sends them again in order. The
//! packet id a message travels under, and so its delivery state, live here too: a row's
//! "queued / sent / delivered" is read from this, never stored beside it.
//!
//! **Order.** Unsent messages go out in the order they were sent, across reloads: the ones
//! read back from storage ([`Outbox::restore`]) before any sent while storage was still
//! opening ([`Outbox::awaiting_restore`]), and every new one after all of them
//! ([`Outbox::push_new`]). Their sequence numbers (storage keys) follow the same order.

use std::collections::VecDeque;

use thiserror::Error;

use crate::message::ChatMessage;

/// Messages waiting at most.
pub const OUTBOX_CAPACITY: usize = 200;

/// Sequence numbers (outbox keys) are integers from 0 up to this: 2^52, half of where an
/// f64 (and an IndexedDB key) stops holding every integer, so counting on from any of them
/// stays exact. Time-based numbers (`ms × 1000`) stay under it until the year 2112.
pub const MAX_SEQ: f64 = 4_503_599_627_370_496.0;

/// A sequence number this outbox can count on from: an integer in `0..=MAX_SEQ`.
pub fn is_safe_seq(seq: f64) -> bool {
    (0.0..=MAX_SEQ).contains(&seq) && seq.fract() == 0.0
}

/// New keys for one owner's stored outbox when the records of other client ids move in.
/// `runs`: each owner's sequence numbers in key order, the live owner's first. Every record
/// is numbered 1, 2, 3, … in send order: the runs merged by sequence number (ties to the
/// earlier run), each run keeping its own order. Unique integers whatever the old keys were
/// (equal, fractional, past 2^53), in one pass over the records (times the few runs): no
/// search for a free key, and no sort.
pub fn renumber(runs: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut next = vec![0; runs.len()];
    let mut keys: Vec<Vec<f64>> = runs.iter().map(|r| vec![0.0; r.len()]).collect();
    let total: usize = runs.iter().map(Vec::len).sum();
    for key in 1..=total {
        // The run whose next record was sent first.
        let mut pick: Option<(usize, f64)> = None;
        for (r, run) in runs.iter().enumerate() {
            if let Some(&seq) = run.get(next[r]) {
                if pick.is_none_or(|(_, best)| seq.total_cmp(&best).is_lt()) {
                    pick = Some((r, seq));
                }
            }
        }
        let Some((r, _)) = pick else { break };
        keys[r][next[r]] = key as f64;
        next[r] += 1;
    }
    keys
}

/// An unsent message as it is kept: its send order (and storage key), topic and message.
#[derive(Clone, Debug, PartialEq)]
pub struct Unsent {
    pub seq: f64,
    pub topic: String,
    pub message: ChatMessage,
}

/// What [`Outbox::restore`] did, for the caller to carry out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Restoration {
    /// Publish these, in this order: the stored messages, then those sent while they were
    /// being read.
    pub publish: Vec<Unsent>,
    /// The messages sent while storage was being read, under their final sequence numbers:
    /// not written to storage yet.
    pub held: Vec<Unsent>,
    /// Stored messages that could not be queued, and why. They stay stored.
    pub refused: Vec<(Unsent, OutboxError)>,
}

/// Delivery of one of the user's own messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Waiting for a connection.
    Queued,
    /// On the wire, not yet acknowledged.
    Sent,
    /// The broker acknowledged it (PUBACK): it has left the outbox.
    Acknowledged,
}

impl Delivery {
    pub fn label(self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Sent => "sent",
            Delivery::Acknowledged => "delivered",
        }
    }
}

/// An own message the broker took off the outbox without delivering it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// MQTT 5: the PUBACK said why (its reason code and string, in words), e.g. "not
    /// authorized" when the ACL denies the topic, or "quota exceeded".
    Refused(String),
    /// MQTT 3.1.1 cannot refuse a publish: Mosquitto acknowledges one its ACL denies and
    /// drops it. A signed-in tab subscribed to the room expects its own message back; this
    /// one was acknowledged and never came back.
    NotSeenBack,
}

/// How long after its PUBACK an own message may take to come back before it counts as
/// [`Refusal::NotSeenBack`].
pub const ECHO_WAIT_MS: u32 = 5_000;

impl Refusal {
    /// The row's state.
    pub fn label(&self) -> String {
        match self {
            Refusal::Refused(why) => format!("refused: {why}"),
            Refusal::NotSeenBack => "not seen back: the broker may have refused it".into(),
        }
    }

    /// The row's class: `refused` or `unconfirmed`.
    pub fn class(&self) -> &'static str {
        match self {
            Refusal::Refused(_) => "refused",
            Refusal::NotSeenBack => "unconfirmed",
        }
    }
}

/// One unsent message.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    /// Send order, and its storage key (with the owning client id).
    pub seq: f64,
    pub topic: String,
    pub message: ChatMessage,
    /// The packet id it was published under on this page, if it was.
    pub pkid: Option<u16>,
    /// On the wire of the current connection.
    pub on_wire: bool,
    /// When it last went on the wire (wall-clock ms).
    pub sent_at: Option<f64>,
    /// Links in a row that ended right after it was sent, without its PUBACK.
    pub closed_on: u8,
    /// Sent while the stored outbox was still being read: waits behind it, neither
    /// published nor stored yet (see [`Outbox::restore`]).
    pub held: bool,
}

/// A link that ends this soon after a message went out, before its PUBACK, may have been
/// closed because of it.
pub const CLOSED_ON_SEND_MS: f64 = 2_000.0;
/// After this many links in a row closed on it, a message is not sent again: MQTT 3.1.1
/// lets a broker answer a publish it does not allow by closing the connection (MQTT-3.3.5-2;
/// Aedes does), and resending it after every reconnect would loop for ever.
pub const MAX_CLOSED_SENDS: u8 = 3;

impl Pending {
    pub fn id(&self) -> &str {
        self.message.id.as_deref().unwrap_or_default()
    }

    fn new(seq: f64, topic: &str, message: ChatMessage, held: bool) -> Pending {
        Pending {
            seq,
            topic: topic.to_owned(),
            message,
            pkid: None,
            on_wire: false,
            sent_at: None,
            closed_on: 0,
            held,
        }
    }

    fn unsent(&self) -> Unsent {
        Unsent {
            seq: self.seq,
            topic: self.topic.clone(),
            message: self.message.clone(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outbox {
    entries: VecDeque<Pending>,
    /// The stored outbox has not been read back yet: new messages are held behind it.
    restoring: bool,
    /// The highest (safe) sequence number in this outbox so far: new ones go above it.
    last_seq: f64,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum OutboxError {
    #[error("Not sent: {0} messages are already waiting for the connection. Wait until they are delivered.")]
    Full(usize),
    #[error("Not sent: a message needs an id to be queued.")]
    MissingId,
    #[error("This message is already waiting to be sent.")]
    Duplicate,
}

impl Outbox {
    /// An outbox with nothing stored to wait for.
    pub fn new() -> Self {
        Outbox::default()
    }

    /// An outbox whose stored messages are still being read: messages sent meanwhile are
    /// held ([`Pending::held`]) until [`Outbox::restore`] puts the stored ones before them
    /// (or [`Outbox::release`] gives up waiting).
    pub fn awaiting_restore() -> Self {
        Outbox {
            restoring: true,
            ..Outbox::default()
        }
    }

    /// The stored messages have not been read back yet: a message sent now is held.
    pub fn is_restoring(&self) -> bool {
        self.restoring
    }

    /// Queue a message (it must carry an id) under a given sequence number. Entries stay in
    /// `seq` order.
    pub fn push(&mut self, seq: f64, topic: &str, message: ChatMessage) -> Result<(), OutboxError> {
        self.check(&message, 0)?;
        let at = self.entries.partition_point(|e| e.seq <= seq);
        self.entries
            .insert(at, Pending::new(seq, topic, message, false));
        self.saw(seq);
        Ok(())
    }

    /// Queue a message the user sends now, after every message in the outbox: its sequence
    /// number is `hint` (the clock's), or one more than the highest so far if that is not
    /// above it. Returns the number given. While the stored messages are still being read,
    /// it is held behind them.
    pub fn push_new(
        &mut self,
        hint: f64,
        topic: &str,
        message: ChatMessage,
    ) -> Result<f64, OutboxError> {
        self.check(&message, 0)?;
        let seq = if is_safe_seq(hint) && hint > self.last_seq {
            hint
        } else {
            self.last_seq + 1.0
        };
        self.entries
            .push_back(Pending::new(seq, topic, message, self.restoring));
        self.saw(seq);
        Ok(seq)
    }

    /// The stored messages are read back: they go first, in the order given (storage's key
    /// order, that is send order), then the messages held while they were read, renumbered
    /// where needed so their numbers come after. Stored messages already here (by id) are left as they
    /// are; those that do not fit are refused. Read back late, after [`Outbox::release`],
    /// the stored ones go after what was released: that is on the wire already.
    pub fn restore(&mut self, stored: Vec<Unsent>) -> Restoration {
        let mut done = Restoration::default();
        let mut restored: Vec<Pending> = Vec::new();
        for u in stored {
            let id = u.message.id.as_deref().unwrap_or_default();
            if restored.iter().any(|p| p.id() == id) {
                continue;
            }
            match self.check(&u.message, restored.len()) {
                Ok(()) => {}
                Err(OutboxError::Duplicate) => continue,
                Err(e) => {
                    done.refused.push((u, e));
                    continue;
                }
            }
            done.publish.push(u.clone());
            restored.push(Pending::new(u.seq, &u.topic, u.message, false));
        }
        let at = self
            .entries
            .iter()
            .position(|e| e.held)
            .unwrap_or(self.entries.len());
        let held = self.entries.split_off(at);
        self.entries.extend(restored);
        // The held ones after every number before them: one pass, no search.
        let mut last = self.entries.iter().fold(0.0, |m, p| safe_max(m, p.seq));
        for mut p in held {
            if p.seq <= last {
                p.seq = last + 1.0;
            }
            last = safe_max(last, p.seq);
            p.held = false;
            done.held.push(p.unsent());
            done.publish.push(p.unsent());
            self.entries.push_back(p);
        }
        self.last_seq = safe_max(self.last_seq, last);
        self.restoring = false;
        done
    }

    /// Stop waiting for the stored messages (storage is late, or there is none): the held
    /// messages are returned, in order, to be stored and published now.
    pub fn release(&mut self) -> Vec<Unsent> {
        self.restoring = false;
        self.entries
            .iter_mut()
            .filter(|e| e.held)
            .map(|e| {
                e.held = false;
                e.unsent()
            })
            .collect()
    }

    /// Whether `message` may join the outbox, `more` entries on top of those held.
    fn check(&self, message: &ChatMessage, more: usize) -> Result<(), OutboxError> {
        let Some(id) = message.id.as_deref() else {
            return Err(OutboxError::MissingId);
        };
        if self.position(id).is_some() {
            return Err(OutboxError::Duplicate);
        }
        let len = self.entries.len() + more;
        if len >= OUTBOX_CAPACITY {
            return Err(OutboxError::Full(len));
        }
        Ok(())
    }

    fn saw(&mut self, seq: f64) {
        self.last_seq = safe_max(self.last_seq, seq);
    }

    /// The message went to the protocol core under `pkid`.
    pub fn published(&mut self, id: &str, pkid: u16) {
        if let Some(i) = self.position(id) {
            self.entries[i].pkid = Some(pkid);
        }
    }

    /// The core put `pkid` on the wire at `now` (wall-clock ms).
    pub fn sent(&mut self, pkid: u16, now: f64) -> bool {
        match self.entries.iter_mut().find(|e| e.pkid == Some(pkid)) {
            Some(e) => {
                e.on_wire = true;
                e.sent_at = Some(now);
                true
            }
            None => false,
        }
    }

    /// The broker acknowledged `pkid`: the message leaves the outbox.
    pub fn acknowledge(&mut self, pkid: u16) -> Option<Pending> {
        let i = self.entries.iter().position(|e| e.pkid == Some(pkid))?;
        self.entries.remove(i)
    }

    /// The broker refused the publish under `pkid` (MQTT 5 PUBACK with a failure code): it
    /// leaves the outbox, never to be sent again. Returns it.
    pub fn refuse(&mut self, pkid: u16) -> Option<Pending> {
        self.acknowledge(pkid)
    }

    /// Take a message out without delivery (it could not be published at all).
    pub fn remove(&mut self, id: &str) -> Option<Pending> {
        let i = self.position(id)?;
        self.entries.remove(i)
    }

    /// The link is gone: nothing is on a wire any more, everything waits again.
    pub fn link_lost(&mut self) {
        for e in &mut self.entries {
            e.on_wire = false;
        }
    }

    /// The link ended at `now` (not by us). A message it carried within
    /// [`CLOSED_ON_SEND_MS`], unacknowledged, counts one more link closed on it; one that
    /// reaches [`MAX_CLOSED_SENDS`] in a row leaves the outbox and is returned, for the caller
    /// to tell the user (it is not sent again). The rest wait again, as [`Outbox::link_lost`].
    pub fn link_lost_at(&mut self, now: f64) -> Vec<Pending> {
        for e in &mut self.entries {
            if e.on_wire {
                let just_sent = e.sent_at.is_some_and(|t| now - t < CLOSED_ON_SEND_MS);
                e.closed_on = if just_sent { e.closed_on + 1 } else { 0 };
            }
            e.on_wire = false;
        }
        let (given_up, kept) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| e.closed_on >= MAX_CLOSED_SENDS);
        self.entries = kept;
        given_up.into()
    }

    /// Where the message with this id stands, if it is still waiting.
    pub fn delivery(&self, id: &str) -> Option<Delivery> {
        self.position(id).map(|i| {
            if self.entries[i].on_wire {
                Delivery::Sent
            } else {
                Delivery::Queued
            }
        })
    }

    pub fn contains(&self, id: &str) -> bool {
        self.position(id).is_some()
    }

    pub fn entries(&self) -> impl Iterator<Item = &Pending> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.message.id.as_deref() == Some(id))
    }
}

/// The larger of `last` and `seq`, counting only numbers one can count on from.
fn safe_max(last: f64, seq: f64) -> f64 {
    if is_safe_seq(seq) && seq > last {
        seq
    } else {
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str) -> ChatMessage {
        ChatMessage {
            name: "a".into(),
            message: format!("text {id}"),
            id: Some(id.into()),
            from: Some("tab".into()),
            ts: Some(1.0),
            ..Default::default()
        }
    }

    fn ids(o: &Outbox) -> Vec<String> {
        o.entries().map(|e| e.id().to_owned()).collect()
    }

    #[test]
    fn messages_wait_in_order_until_acknowledged() {
        let mut o = Outbox::new();
        for (seq, id) in [(1.0, "1"), (2.0, "2"), (3.0, "3")] {
            o.push(seq, "messages", msg(id)).unwrap();
            o.published(id, seq as u16 + 10);
        }
        assert_eq!(
            o.acknowledge(12).map(|p| p.id().to_owned()),
            Some("2".into())
        );
        assert_eq!(o.acknowledge(12), None, "only once");
        assert_eq!(ids(&o), ["1", "3"]);
    }

    #[test]
    fn entries_keep_send_order_whatever_order_they_were_loaded_in() {
        let mut o = Outbox::new();
        o.push(5.0, "m", msg("late")).unwrap();
        o.push(1.0, "m", msg("early")).unwrap();
        o.push(3.0, "m", msg("middle")).unwrap();
        assert_eq!(ids(&o), ["early", "middle", "late"]);
        assert_eq!(o.push(9.0, "m", msg("early")), Err(OutboxError::Duplicate));
    }

    #[test]
    fn delivery_is_derived_queued_then_sent_then_gone() {
        let mut o = Outbox::new();
        o.push(1.0, "m", msg("x")).unwrap();
        assert_eq!(o.delivery("x"), Some(Delivery::Queued));
        o.published("x", 7);
        assert_eq!(
            o.delivery("x"),
            Some(Delivery::Queued),
            "published, not yet on a wire"
        );
        assert!(o.sent(7, 0.0));
        assert_eq!(o.delivery("x"), Some(Delivery::Sent));
        o.link_lost();
        assert_eq!(
            o.delivery("x"),
            Some(Delivery::Queued),
            "the link died: waiting again"
        );
        o.sent(7, 0.0);
        assert!(o.acknowledge(7).is_some());
        assert_eq!(o.delivery("x"), None, "acknowledged: no longer waiting");
        assert!(!o.sent(7, 0.0), "an unknown packet id changes nothing");
    }

    #[test]
    fn a_message_every_link_is_closed_on_is_given_up_after_three() {
        let mut o = Outbox::new();
        o.push(1.0, "m", msg("denied")).unwrap();
        o.push(2.0, "m", msg("fine")).unwrap();
        o.published("denied", 1);
        o.published("fine", 2);
        let mut t = 0.0;
        // The broker closes each link right after "denied" goes out.
        for round in 1..=MAX_CLOSED_SENDS {
            o.sent(1, t);
            // "fine" went out long before this link ended: not its fault.
            o.sent(2, t - 10_000.0);
            let given_up = o.link_lost_at(t + 50.0);
            if round < MAX_CLOSED_SENDS {
                assert!(given_up.is_empty(), "round {round}");
                assert_eq!(o.delivery("denied"), Some(Delivery::Queued));
            } else {
                assert_eq!(given_up.len(), 1);
                assert_eq!(given_up[0].id(), "denied");
            }
            t += 5_000.0;
        }
        assert!(!o.contains("denied"));
        assert!(o.contains("fine"), "the others stay");
        // A link that lives on after a send resets the count: a flaky network is no refusal.
        o.push(3.0, "m", msg("flaky")).unwrap();
        o.published("flaky", 3);
        o.sent(3, 0.0);
        o.link_lost_at(10.0);
        o.sent(3, 100.0);
        o.link_lost_at(100.0 + CLOSED_ON_SEND_MS + 1.0);
        o.sent(3, 50_000.0);
        assert!(o.link_lost_at(50_010.0).is_empty());
        o.sent(3, 60_000.0);
        assert!(
            o.link_lost_at(60_010.0).is_empty(),
            "two in a row, not three"
        );
    }

    #[test]
    fn a_full_outbox_refuses_with_a_reason() {
        let mut o = Outbox::new();
        for i in 0..OUTBOX_CAPACITY {
            o.push(i as f64, "messages", msg(&i.to_string())).unwrap();
        }
        let err = o.push(1e9, "messages", msg("one more")).unwrap_err();
        assert_eq!(err, OutboxError::Full(OUTBOX_CAPACITY));
        assert!(err.to_string().contains("200 messages are already waiting"));
        assert_eq!(o.len(), OUTBOX_CAPACITY);
    }

    #[test]
    fn a_message_without_an_id_is_refused() {
        let mut o = Outbox::new();
        let mut m = msg("x");
        m.id = None;
        assert_eq!(o.push(1.0, "m", m), Err(OutboxError::MissingId));
        assert!(o.is_empty());
    }

    fn stored(seq: f64, id: &str) -> Unsent {
        Unsent {
            seq,
            topic: "m".into(),
            message: msg(id),
        }
    }

    fn seqs(o: &Outbox) -> Vec<f64> {
        o.entries().map(|e| e.seq).collect()
    }

    #[test]
    fn restored_messages_go_before_those_sent_while_storage_opened() {
        let mut o = Outbox::awaiting_restore();
        // Typed while storage opens; the clock even says they come before the stored ones.
        assert_eq!(o.push_new(100.0, "m", msg("new-1")), Ok(100.0));
        assert_eq!(o.push_new(100.0, "m", msg("new-2")), Ok(101.0));
        assert!(o.entries().all(|e| e.held), "held: not published yet");
        let done = o.restore(vec![stored(5000.0, "old-1"), stored(7000.0, "old-2")]);
        assert_eq!(ids(&o), ["old-1", "old-2", "new-1", "new-2"]);
        let published: Vec<&str> = done
            .publish
            .iter()
            .map(|u| u.message.id.as_deref().unwrap_or_default())
            .collect();
        assert_eq!(
            published,
            ["old-1", "old-2", "new-1", "new-2"],
            "wire order"
        );
        assert_eq!(
            seqs(&o),
            [5000.0, 7000.0, 7001.0, 7002.0],
            "storage key order"
        );
        let held: Vec<f64> = done.held.iter().map(|u| u.seq).collect();
        assert_eq!(held, [7001.0, 7002.0], "written under their final numbers");
        assert!(!o.is_restoring() && o.entries().all(|e| !e.held));
        // And what is sent later goes after all of them, whatever the clock says.
        assert_eq!(o.push_new(50.0, "m", msg("later")), Ok(7003.0));
        assert_eq!(o.push_new(9e6, "m", msg("later-2")), Ok(9e6));
        assert_eq!(ids(&o).last().map(String::as_str), Some("later-2"));
    }

    #[test]
    fn held_messages_keep_their_numbers_when_already_after_the_stored_ones() {
        let mut o = Outbox::awaiting_restore();
        o.push_new(9000.0, "m", msg("new")).unwrap();
        let done = o.restore(vec![stored(5000.0, "old")]);
        assert_eq!(seqs(&o), [5000.0, 9000.0]);
        assert_eq!(done.held.len(), 1);
        assert_eq!(ids(&o), ["old", "new"]);
    }

    #[test]
    fn a_restore_skips_what_is_queued_and_refuses_what_does_not_fit() {
        let mut o = Outbox::awaiting_restore();
        for i in 0..OUTBOX_CAPACITY - 1 {
            o.push_new(i as f64 + 1.0, "m", msg(&format!("new-{i}")))
                .unwrap();
        }
        let mut no_id = stored(3.0, "x");
        no_id.message.id = None;
        let done = o.restore(vec![
            stored(1.0, "old-1"),
            stored(2.0, "old-1"),
            stored(2.5, "old-2"),
            no_id,
            stored(4.0, "new-0"),
        ]);
        assert_eq!(ids(&o)[0], "old-1", "the stored one first");
        assert_eq!(o.len(), OUTBOX_CAPACITY);
        let refused: Vec<&OutboxError> = done.refused.iter().map(|(_, e)| e).collect();
        assert_eq!(
            refused,
            [&OutboxError::Full(OUTBOX_CAPACITY), &OutboxError::MissingId]
        );
        assert_eq!(done.publish.len(), 1 + (OUTBOX_CAPACITY - 1));
    }

    #[test]
    fn released_messages_go_out_and_a_late_restore_follows_them() {
        let mut o = Outbox::awaiting_restore();
        o.push_new(100.0, "m", msg("new")).unwrap();
        let released = o.release();
        assert_eq!(released.len(), 1);
        assert!(!o.is_restoring());
        o.push_new(200.0, "m", msg("after")).unwrap();
        assert!(o.entries().all(|e| !e.held), "not held once released");
        let done = o.restore(vec![stored(50.0, "old")]);
        assert_eq!(
            ids(&o),
            ["new", "after", "old"],
            "the released ones are out"
        );
        assert!(done.held.is_empty());
        assert_eq!(done.publish.len(), 1);
    }

    #[test]
    fn new_numbers_never_pass_max_seq_from_a_stored_key_beyond_it() {
        let mut o = Outbox::awaiting_restore();
        o.push_new(10.0, "m", msg("new")).unwrap();
        // A foreign record with a key past 2^53 (and one that is not a whole number).
        o.restore(vec![stored(2f64.powi(60), "huge"), stored(0.5, "half")]);
        let new = o.entries().find(|e| e.id() == "new").map(|e| e.seq);
        assert_eq!(new, Some(10.0), "counted on from safe numbers only");
        assert_eq!(ids(&o), ["huge", "half", "new"], "in the order given");
        let next = o.push_new(f64::NAN, "m", msg("nan")).unwrap();
        assert_eq!(next, 11.0);
        assert!(is_safe_seq(next));
    }

    #[test]
    fn renumbered_keys_are_unique_integers_in_send_order() {
        // The owner's own 5 and 9; a moving owner's 2, 5 (a tie: after the owner's) and 7;
        // another's key near 2^53, which counting on from would lose, and a fraction.
        let near = 2f64.powi(53) - 1.0;
        let keys = renumber(&[vec![5.0, 9.0], vec![2.0, 5.0, 7.0], vec![7.25, near]]);
        assert_eq!(keys, [vec![2.0, 6.0], vec![1.0, 3.0, 4.0], vec![5.0, 7.0]]);
        assert!(renumber(&[]).is_empty());
        assert_eq!(renumber(&[vec![], vec![3.0]]), [vec![], vec![1.0]]);
    }

    #[test]
    fn renumbering_ten_thousand_records_with_equal_and_huge_keys_is_total() {
        let near = 2f64.powi(53);
        let runs: Vec<Vec<f64>> = vec![
            (0..2_500).map(|i| near + f64::from(i)).collect(),
            vec![42.0; 2_500],
            (0..2_500).map(|i| f64::from(i) + 0.25).collect(),
            // Not in order (an unreadable key read as 0, say): still numbered, once each.
            (0..2_500).map(|i| f64::from(i % 7)).collect(),
        ];
        let start = std::time::Instant::now();
        let keys = renumber(&runs);
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        let mut all: Vec<f64> = keys.iter().flatten().copied().collect();
        assert!(all.iter().all(|k| is_safe_seq(*k)));
        all.sort_by(f64::total_cmp);
        let expected: Vec<f64> = (1..=10_000).map(f64::from).collect();
        assert_eq!(all, expected, "1..=n, each once");
        // Each run keeps its order.
        assert!(keys.iter().all(|run| run.windows(2).all(|w| w[0] < w[1])));
    }
}
