//! Messages the user sent that the broker has not acknowledged yet, oldest first. The app
//! keeps a copy in localStorage so that a reload, even while offline, loses nothing; on
//! start it sends them again in order. Bounded, with a reason in words when full.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::message::ChatMessage;

/// Messages waiting at most. At 4 KiB each this stays well inside localStorage's ~5 MB.
pub const OUTBOX_CAPACITY: usize = 200;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub topic: String,
    pub message: ChatMessage,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Outbox {
    entries: VecDeque<OutboxEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum OutboxError {
    #[error("Not sent: {0} messages are already waiting for the connection. Wait until they are delivered.")]
    Full(usize),
    #[error("Not sent: a message needs an id to be queued.")]
    MissingId,
}

impl Outbox {
    pub fn new() -> Self {
        Outbox::default()
    }

    /// Queue a message (it must carry an id, which later acknowledges it).
    pub fn push(&mut self, topic: &str, message: ChatMessage) -> Result<(), OutboxError> {
        if message.id.is_none() {
            return Err(OutboxError::MissingId);
        }
        if self.entries.len() >= OUTBOX_CAPACITY {
            return Err(OutboxError::Full(self.entries.len()));
        }
        self.entries.push_back(OutboxEntry {
            topic: topic.to_owned(),
            message,
        });
        Ok(())
    }

    /// The broker acknowledged the message with this id. Returns whether it was waiting.
    pub fn acknowledge(&mut self, id: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.message.id.as_deref() != Some(id));
        self.entries.len() != before
    }

    pub fn entries(&self) -> impl Iterator<Item = &OutboxEntry> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `self` followed by `later`, without duplicates and within the capacity.
    pub fn merged_with(mut self, later: Outbox) -> Outbox {
        for entry in later.entries {
            let id = entry.message.id.clone().unwrap_or_default();
            let known = self
                .entries
                .iter()
                .any(|e| e.message.id.as_deref() == Some(id.as_str()));
            if !known && self.entries.len() < OUTBOX_CAPACITY {
                self.entries.push_back(entry);
            }
        }
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Read a stored outbox. Storage edited by hand or by another version may not parse;
    /// then the error says so and the caller starts empty rather than failing.
    pub fn from_json(json: &str) -> Result<Outbox, String> {
        let mut outbox: Outbox = serde_json::from_str(json)
            .map_err(|e| format!("the saved outbox could not be read ({e})"))?;
        outbox.entries.retain(|e| e.message.id.is_some());
        outbox.entries.truncate(OUTBOX_CAPACITY);
        Ok(outbox)
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

    #[test]
    fn messages_wait_in_order_until_acknowledged() {
        let mut o = Outbox::new();
        for id in ["1", "2", "3"] {
            o.push("messages", msg(id)).unwrap();
        }
        assert!(o.acknowledge("2"));
        assert!(!o.acknowledge("2"), "only once");
        let ids: Vec<_> = o.entries().map(|e| e.message.id.clone().unwrap()).collect();
        assert_eq!(ids, ["1", "3"]);
    }

    #[test]
    fn a_full_outbox_refuses_with_a_reason() {
        let mut o = Outbox::new();
        for i in 0..OUTBOX_CAPACITY {
            o.push("messages", msg(&i.to_string())).unwrap();
        }
        let err = o.push("messages", msg("one more")).unwrap_err();
        assert_eq!(err, OutboxError::Full(OUTBOX_CAPACITY));
        assert!(err.to_string().contains("200 messages are already waiting"));
        assert_eq!(o.len(), OUTBOX_CAPACITY);
    }

    #[test]
    fn it_survives_a_round_trip_through_storage() {
        let mut o = Outbox::new();
        o.push("messages", msg("x")).unwrap();
        o.push("rooms/b", msg("y")).unwrap();
        assert_eq!(Outbox::from_json(&o.to_json()), Ok(o));
    }

    #[test]
    fn merging_keeps_order_and_drops_duplicates() {
        let mut a = Outbox::new();
        a.push("messages", msg("1")).unwrap();
        a.push("messages", msg("2")).unwrap();
        let mut b = Outbox::new();
        b.push("messages", msg("2")).unwrap();
        b.push("messages", msg("3")).unwrap();
        let ids: Vec<_> = a
            .merged_with(b)
            .entries()
            .map(|e| e.message.id.clone().unwrap())
            .collect();
        assert_eq!(ids, ["1", "2", "3"]);
    }

    #[test]
    fn damaged_storage_is_reported_not_trusted() {
        assert!(Outbox::from_json("{not json").is_err());
        let no_id = r#"{"entries":[{"topic":"messages","message":{"name":"a","message":"b"}}]}"#;
        assert_eq!(Outbox::from_json(no_id), Ok(Outbox::new()));
    }
}
