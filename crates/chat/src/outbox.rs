//! Messages the user sent that the broker has not acknowledged yet, oldest first: the one
//! home of "unsent". The app mirrors each entry into IndexedDB, one record per message, so a
//! reload, even while offline, loses nothing; on start it sends them again in order. The
//! packet id a message travels under, and so its delivery state, live here too: a row's
//! "queued / sent / delivered" is read from this, never stored beside it.

use std::collections::VecDeque;

use thiserror::Error;

use crate::message::ChatMessage;

/// Messages waiting at most.
pub const OUTBOX_CAPACITY: usize = 200;

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
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outbox {
    entries: VecDeque<Pending>,
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
    pub fn new() -> Self {
        Outbox::default()
    }

    /// Queue a message (it must carry an id). Entries stay in `seq` order.
    pub fn push(&mut self, seq: f64, topic: &str, message: ChatMessage) -> Result<(), OutboxError> {
        let Some(id) = message.id.as_deref() else {
            return Err(OutboxError::MissingId);
        };
        if self.position(id).is_some() {
            return Err(OutboxError::Duplicate);
        }
        if self.entries.len() >= OUTBOX_CAPACITY {
            return Err(OutboxError::Full(self.entries.len()));
        }
        let at = self.entries.partition_point(|e| e.seq <= seq);
        self.entries.insert(
            at,
            Pending {
                seq,
                topic: topic.to_owned(),
                message,
                pkid: None,
                on_wire: false,
                sent_at: None,
                closed_on: 0,
            },
        );
        Ok(())
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
}
