//! A sans-IO MQTT 3.1.1 client session over `mqttbytes`.
//!
//! The core never opens a socket and never reads the clock. The owner of the transport feeds
//! in what happened (`handle_*`: the link opened, bytes arrived, a deadline passed, the link
//! closed) and drains what to do (`poll_*`: packets to send, events, the next deadline).
//! Everything here is plain data, so the whole protocol is tested natively on a virtual clock.
//!
//! Session state (subscriptions, unacknowledged QoS 1 publishes) outlives a single network
//! connection, so a reconnect resumes rather than starts over.

mod backoff;
mod client;
mod error;
mod link;
mod reconnect;
mod time;

pub use backoff::Backoff;
pub use client::{Client, Credentials, Event, IncomingMessage, LastWill, Options, PacketId};
pub use error::{ConnectRefusal, DisconnectReason, ProtocolError, PublishError, SubscribeError};
pub use link::{LinkError, LinkState};
pub use mqttbytes::QoS;
pub use reconnect::{Action, Reconnect, STABLE_LINK};
pub use time::Instant;
