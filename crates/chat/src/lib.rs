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
mod status;

pub use draft::{validate_draft, Draft, DraftError, MAX_MESSAGE_BYTES, MAX_NAME_CHARS};
pub use history::{Recorder, StoredMessage, HISTORY_PER_TOPIC};
pub use log::{MessageLog, Row, RowKind};
pub use message::{decode_payload, ChatMessage, Payload, RawReason};
pub use notice::{Notice, NoticeKind, Notices};
pub use outbox::{Delivery, Outbox, OutboxError, Pending, OUTBOX_CAPACITY};
pub use status::{BrokerUrlError, ConnectionStatus, OfflineReason};

/// The default room: every chat message goes to this MQTT topic.
pub const DEFAULT_TOPIC: &str = "messages";
