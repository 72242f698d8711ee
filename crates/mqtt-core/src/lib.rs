//! A sans-IO MQTT client session over `mqttbytes`: MQTT 3.1.1 by default, MQTT 5 opt-in
//! (`Options::protocol`), both through the same session logic. The version only shows at the
//! codec seam (`codec/`), and in what a v5 broker adds: reason codes and reason strings in
//! words, message and session expiry, will delay, subscription identifiers (which of our
//! subscriptions a message came through, [`IncomingMessage::via`]), and the limits of its
//! CONNACK ([`ServerLimits`]), which the session keeps to.
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
mod codec;
mod error;
mod failover;
mod link;
mod reconnect;
pub mod router;
mod time;
pub mod topic;

pub use backoff::Backoff;
pub use client::{
    Client, Credentials, Event, IncomingMessage, LastWill, Options, PacketId, PublishOptions,
};
pub use codec::{Protocol, ServerLimits, V5Codec};
pub use error::{
    ConnectRefusal, DisconnectReason, MqttStringError, ProtocolError, PublishError, SubscribeError,
    SESSION_TAKEN_OVER,
};
pub use failover::{Failover, Next};
pub use link::{LinkError, LinkState};
pub use mqttbytes::QoS;
pub use reconnect::{Action, Reconnect, STABLE_LINK};
pub use router::{Change, Router};
pub use time::Instant;
