//! The chat domain, apart from any view or I/O: what travels on the wire, what a user may
//! send, what the table holds, what is kept across reloads, and what the user is told.
//!
//! Everything here is plain data with plain methods, tested natively.

pub mod authorship;
pub mod catchup;
pub mod connection;
mod draft;
pub mod export;
pub mod history;
mod log;
mod message;
mod notice;
pub mod notify;
mod outbox;
pub mod pace;
pub mod presence;
pub mod private;
pub mod reactions;
pub mod receipts;
mod room;
mod rooms;
pub mod search;
pub mod session;
mod status;
pub mod topics;
pub mod typing;
pub mod viewer;
pub mod watch;
pub mod write_queue;

pub use authorship::{AuthorshipCheck, Verdict};
pub use connection::{
    broker_urls, check_broker_list, check_broker_url, import_connections, BrokerUrlError,
    Connection, ImportError, Imported, MqttVersion, SavedConnections,
};
pub use draft::{validate_draft, Draft, DraftError, MAX_MESSAGE_BYTES, MAX_NAME_CHARS};
pub use history::{Recorder, StoredMessage, HISTORY_PER_TOPIC};
pub use log::{row_of, row_of_own, MessageLog, Row, RowKind, Unsealed};
pub use message::{decode_payload, ChatMessage, Payload, Quote, RawReason, REPLY_TEXT_CHARS};
pub use notice::{Notice, NoticeKind, Notices};
pub use notify::{mentions, Level, NotifySettings};
pub use outbox::{
    is_safe_seq, renumber, Delivery, Outbox, OutboxError, Pending, Refusal, Restoration, Unsent,
    CLOSED_ON_SEND_MS, ECHO_WAIT_MS, MAX_CLOSED_SENDS, MAX_SEQ, OUTBOX_CAPACITY,
};
pub use presence::{decode_status, Listing, Person, Presence, PresenceRefresh, Status};
pub use reactions::{reactions_topic, Chip, Folded, Reaction, Reactions};
pub use receipts::Receipts;
pub use room::{
    RoomName, RoomNameError, CATCHUP_PREFIX, DEFAULT_ROOM, MAX_ROOM_NAME_BYTES, TYPING_PREFIX,
};
pub use rooms::{JoinError, Rooms, MAX_ROOMS, TITLE};
pub use search::{Found, Hit, SearchIndex};
pub use session::Session;
pub use status::{ConnectionStatus, OfflineReason};
pub use topics::{
    chat_topic_for, presence_topic, route, valid_author, verified_chat_filter, Route, AUTHOR_LEVEL,
    PRESENCE_FILTER, PRESENCE_PREFIX, VERIFIED_PRESENCE_FILTER,
};
pub use typing::{decode_typing, Typing, TypingSender, TypingSignal};
pub use watch::{Body, FilterState, Seen, Watch, WatchError, WatchedFilter};
