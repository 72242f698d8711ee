//! Problems worth telling the user that are not the connection state: one line each, each
//! with its cause, so a second problem never hides the first and each goes away when its
//! cause does (or when the user dismisses it).

use std::fmt;

/// One thing to tell the user. Its [`NoticeKind`] says which cause it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// IndexedDB can't be used (private mode, blocked storage).
    HistoryOff { why: String },
    /// Stored records that could not be read were skipped.
    RecordsSkipped { count: usize },
    /// Received messages could not be written to the history.
    HistoryNotSaved { why: String },
    /// Storage fell so far behind that this many received messages were not kept for a
    /// reload (the write queue is bounded; unsent messages are never among them).
    HistoryDropped { count: usize },
    /// Unsent messages could not be written: they survive only while this tab is open.
    OutboxNotSaved { why: String },
    /// Unsent messages (from before a reload, or sent while storage opened) could not be
    /// queued; they stay stored.
    UnsentNotQueued { count: usize, why: String },
    /// The broker refused a subscription (MQTT 5 says why).
    SubscribeRefused { filter: String, why: Option<String> },
    /// The page's link carried `?password=`: it was taken out of the address, unused.
    PasswordInLink,
    /// Something the broker said that is worth knowing and ends nothing (MQTT 5 limits).
    Broker { what: String },
    /// The room named in the page's link (`?room=`) cannot be a room.
    RoomRefused { why: String },
    /// A private room's message could not be sealed and sent (issue 24); its words.
    PrivateSend { why: String },
}

/// Which cause a notice belongs to: setting a notice replaces the one of the same kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoticeKind {
    HistoryOff,
    RecordsSkipped,
    HistoryNotSaved,
    HistoryDropped,
    OutboxNotSaved,
    UnsentNotQueued,
    SubscribeRefused,
    RoomRefused,
    PrivateSend,
    PasswordInLink,
    Broker,
}

impl NoticeKind {
    /// A stable name, for `data-kind` and tests.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::HistoryOff => "history-off",
            NoticeKind::RecordsSkipped => "records-skipped",
            NoticeKind::HistoryNotSaved => "history-not-saved",
            NoticeKind::HistoryDropped => "history-dropped",
            NoticeKind::OutboxNotSaved => "outbox-not-saved",
            NoticeKind::UnsentNotQueued => "unsent-not-queued",
            NoticeKind::SubscribeRefused => "subscribe-refused",
            NoticeKind::RoomRefused => "room-refused",
            NoticeKind::PrivateSend => "private-send",
            NoticeKind::PasswordInLink => "password-in-link",
            NoticeKind::Broker => "broker",
        }
    }
}

impl Notice {
    pub fn kind(&self) -> NoticeKind {
        match self {
            Notice::HistoryOff { .. } => NoticeKind::HistoryOff,
            Notice::RecordsSkipped { .. } => NoticeKind::RecordsSkipped,
            Notice::HistoryNotSaved { .. } => NoticeKind::HistoryNotSaved,
            Notice::HistoryDropped { .. } => NoticeKind::HistoryDropped,
            Notice::OutboxNotSaved { .. } => NoticeKind::OutboxNotSaved,
            Notice::UnsentNotQueued { .. } => NoticeKind::UnsentNotQueued,
            Notice::SubscribeRefused { .. } => NoticeKind::SubscribeRefused,
            Notice::RoomRefused { .. } => NoticeKind::RoomRefused,
            Notice::PrivateSend { .. } => NoticeKind::PrivateSend,
            Notice::PasswordInLink => NoticeKind::PasswordInLink,
            Notice::Broker { .. } => NoticeKind::Broker,
        }
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::HistoryOff { why } => write!(
                f,
                "History is off in this browser ({why}): the chat works, but a reload starts empty."
            ),
            Notice::RecordsSkipped { count } => write!(
                f,
                "{count} stored record{} could not be read and {} skipped.",
                if *count == 1 { "" } else { "s" },
                if *count == 1 { "was" } else { "were" }
            ),
            Notice::HistoryNotSaved { why } => {
                write!(f, "New messages are not being kept for a reload ({why}).")
            }
            Notice::HistoryDropped { count } => write!(
                f,
                "{count} received message{} not kept for a reload: browser storage fell behind. Unsent messages are all kept.",
                if *count == 1 { " was" } else { "s were" }
            ),
            Notice::OutboxNotSaved { why } => write!(
                f,
                "Unsent messages could not be saved for a reload ({why}). They are kept while this tab stays open."
            ),
            Notice::UnsentNotQueued { count, why } => write!(
                f,
                "{count} unsent message{} could not be sent: {why}. {} kept.",
                if *count == 1 { "" } else { "s" },
                if *count == 1 { "It is" } else { "They are" }
            ),
            Notice::SubscribeRefused { filter, why } => {
                write!(f, "The broker refused the subscription to \"{filter}\"")?;
                if let Some(why) = why {
                    write!(f, " ({why})")?;
                }
                write!(f, ": messages from others will not arrive.")
            }
            Notice::PasswordInLink => write!(
                f,
                "The password was removed from this page's address and not used: a password in a link ends up in the browser history, server logs and shared links. Enter it in the connection panel instead."
            ),
            Notice::Broker { what } => write!(f, "The broker says: {what}"),
            Notice::RoomRefused { why } => {
                write!(f, "The room in this link cannot be opened: {why}")
            }
            Notice::PrivateSend { why } => write!(f, "A private room's message {why}"),
        }
    }
}

/// The notices shown, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notices {
    items: Vec<Notice>,
}

impl Notices {
    /// Show `notice`, in place of an earlier one of its kind.
    pub fn set(&mut self, notice: Notice) {
        match self.items.iter_mut().find(|n| n.kind() == notice.kind()) {
            Some(slot) => *slot = notice,
            None => self.items.push(notice),
        }
    }

    /// `count` more stored records could not be read: added to the ones already reported.
    pub fn add_skipped(&mut self, count: usize) {
        let before = self.items.iter().find_map(|n| match n {
            Notice::RecordsSkipped { count } => Some(*count),
            _ => None,
        });
        self.set(Notice::RecordsSkipped {
            count: before.unwrap_or(0) + count,
        });
    }

    /// `count` more received messages were not kept: added to the ones already reported.
    pub fn add_dropped(&mut self, count: usize) {
        let before = self.items.iter().find_map(|n| match n {
            Notice::HistoryDropped { count } => Some(*count),
            _ => None,
        });
        self.set(Notice::HistoryDropped {
            count: before.unwrap_or(0) + count,
        });
    }

    /// Its cause is gone (or the user dismissed it). Returns whether one was shown.
    pub fn clear(&mut self, kind: NoticeKind) -> bool {
        let before = self.items.len();
        self.items.retain(|n| n.kind() != kind);
        before != self.items.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Notice> {
        self.items.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_notice_does_not_hide_the_first() {
        let mut n = Notices::default();
        n.set(Notice::HistoryOff {
            why: "blocked".into(),
        });
        n.set(Notice::SubscribeRefused {
            filter: "messages".into(),
            why: Some("not authorized".into()),
        });
        let shown: Vec<String> = n.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 2);
        assert!(shown[0].starts_with("History is off"));
        assert!(
            shown[1].contains("\"messages\" (not authorized)"),
            "{}",
            shown[1]
        );
    }

    #[test]
    fn a_notice_of_the_same_kind_replaces_and_clearing_removes_only_its_kind() {
        let mut n = Notices::default();
        n.set(Notice::RecordsSkipped { count: 1 });
        n.set(Notice::OutboxNotSaved { why: "full".into() });
        n.set(Notice::RecordsSkipped { count: 3 });
        assert_eq!(n.iter().count(), 2);
        assert_eq!(
            n.iter().next().map(ToString::to_string).as_deref(),
            Some("3 stored records could not be read and were skipped.")
        );
        assert!(n.clear(NoticeKind::OutboxNotSaved));
        n.add_skipped(2);
        assert_eq!(
            n.iter().next().map(ToString::to_string).as_deref(),
            Some("5 stored records could not be read and were skipped."),
            "skipped records from several places add up"
        );
        assert!(!n.clear(NoticeKind::OutboxNotSaved));
        assert_eq!(n.iter().count(), 1);
    }

    #[test]
    fn dropped_history_adds_up_in_words() {
        let mut n = Notices::default();
        n.add_dropped(1);
        assert_eq!(
            n.iter().next().map(ToString::to_string).as_deref(),
            Some("1 received message was not kept for a reload: browser storage fell behind. Unsent messages are all kept.")
        );
        n.add_dropped(1249);
        assert!(n
            .iter()
            .next()
            .map(ToString::to_string)
            .unwrap_or_default()
            .starts_with("1250 received messages were not kept"));
        assert_eq!(n.iter().count(), 1);
        assert_eq!(
            n.iter().next().map(Notice::kind),
            Some(NoticeKind::HistoryDropped)
        );
    }
}
