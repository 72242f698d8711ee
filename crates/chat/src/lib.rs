//! The chat domain, apart from any view or I/O: what travels on the wire, what a user may
//! send, what the table holds, what is kept across reloads, and what the user is told.
//!
//! Everything here is plain data with plain methods, tested natively.

mod draft;
pub mod history;
mod log;
mod message;
mod notice;
mod outbox;
mod presence;
mod status;
mod typing;

pub use draft::{validate_draft, Draft, DraftError, MAX_MESSAGE_BYTES, MAX_NAME_CHARS};
pub use history::{Recorder, StoredMessage, HISTORY_PER_TOPIC};
pub use log::{MessageLog, Row, RowKind};
pub use message::{decode_payload, ChatMessage, Payload, RawReason};
pub use notice::{Notice, NoticeKind, Notices};
pub use outbox::{Delivery, Outbox, OutboxError, Pending, OUTBOX_CAPACITY};
pub use presence::{
    decode_status, BadStatus, Person, Presence, PresenceRefresh, Status, ANONYMOUS, GRACE_MS,
    MAX_AGE_MS, MAX_FUTURE_MS, MAX_PERSON_BYTES, MAX_ROOM_BYTES, MAX_SHOWN, MAX_STATUS_BYTES,
    MAX_STATUS_NAME_CHARS, MAX_STATUS_ROOMS, MAX_TABS, MAX_TAB_ID_BYTES, REFRESH_MS,
};
pub use status::{BrokerUrlError, ConnectionStatus, OfflineReason};
pub use typing::{
    decode_typing, BadTyping, Typing, TypingSender, TypingSignal, MAX_SHOWN_NAME_CHARS, MAX_TYPERS,
    MAX_TYPING_BYTES, MAX_TYPING_NAME_CHARS, THROTTLE_MS, TYPING_EXPIRY_MS,
};

/// The default room: every chat message goes to this MQTT topic.
pub const DEFAULT_TOPIC: &str = "messages";
