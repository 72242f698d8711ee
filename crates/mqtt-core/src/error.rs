//! Why things fail, as small enums a caller matches on. The `Display` texts are written for
//! the person using the app: they say what happened in words.

use thiserror::Error;

/// A CONNACK return code other than "accepted" (MQTT 3.1.1 §3.2.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum ConnectRefusal {
    #[error("unacceptable protocol version")]
    UnacceptableProtocolVersion,
    #[error("identifier rejected")]
    IdentifierRejected,
    #[error("server unavailable")]
    ServerUnavailable,
    #[error("bad user name or password")]
    BadUserNameOrPassword,
    #[error("not authorized")]
    NotAuthorized,
}

/// The broker broke the protocol, or sent something that could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("malformed packet from broker: {0}")]
    Malformed(String),
    #[error("packet from broker too large ({size} bytes, limit {limit})")]
    PacketTooLarge { size: usize, limit: usize },
    #[error("unexpected {0} packet from broker")]
    Unexpected(&'static str),
    #[error("acknowledgement for unknown packet id {0}")]
    Unsolicited(u16),
    #[error("broker sent QoS 2, which was never requested")]
    UnrequestedQos2,
}

/// Why the current network connection ended (or must end).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DisconnectReason {
    #[error("refused: {0}")]
    Refused(ConnectRefusal),
    #[error("no CONNACK from broker in time")]
    ConnackTimeout,
    #[error("no PINGRESP from broker in time")]
    PingTimeout,
    #[error("{0}")]
    Protocol(ProtocolError),
    #[error("{0}")]
    Transport(String),
    #[error("disconnected by the user")]
    ClientDisconnect,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PublishError {
    #[error("message too large: {size} bytes, the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("invalid topic \"{0}\": a topic to publish to is non-empty and has no + or #")]
    InvalidTopic(String),
    #[error("too many messages waiting for acknowledgement ({0})")]
    OutboxFull(usize),
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SubscribeError {
    #[error("invalid topic filter \"{0}\"")]
    InvalidFilter(String),
}
