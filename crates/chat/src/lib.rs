//! The chat domain, apart from any view or I/O: what travels on the wire, what a user may
//! send, what the table holds, and how the connection is described in words.
//!
//! Everything here is plain data with plain methods, tested natively.

mod draft;
mod log;
mod message;
mod outbox;
mod status;

pub use draft::{validate_draft, Draft, DraftError, MAX_MESSAGE_BYTES, MAX_NAME_CHARS};
pub use log::{Delivery, MessageLog, Row, RowKind};
pub use message::{decode_payload, ChatMessage, Payload, RawReason};
pub use outbox::{Outbox, OutboxEntry, OutboxError, OUTBOX_CAPACITY};
pub use status::{BrokerUrlError, ConnectionStatus, OfflineReason};

/// The default room: every chat message goes to this MQTT topic.
pub const DEFAULT_TOPIC: &str = "messages";
