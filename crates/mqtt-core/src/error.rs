//! Why things fail, as small enums a caller matches on. The `Display` texts are written for
//! the person using the app: they say what happened in words.

use thiserror::Error;

/// A CONNACK that refuses the connection: an MQTT 3.1.1 return code other than "accepted"
/// (§3.2.2.3), or an MQTT 5 reason code of 0x80 or more (§3.2.2.2). A v5 code that means
/// the same as a 3.1.1 one is the same variant, so the words do not depend on the version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum ConnectRefusal {
    /// 3.1.1 code 1, v5 0x84.
    #[error("unacceptable protocol version")]
    UnacceptableProtocolVersion,
    /// 3.1.1 code 2, v5 0x85 (client identifier not valid).
    #[error("identifier rejected")]
    IdentifierRejected,
    /// 3.1.1 code 3, v5 0x88.
    #[error("server unavailable")]
    ServerUnavailable,
    /// 3.1.1 code 4, v5 0x86.
    #[error("bad user name or password")]
    BadUserNameOrPassword,
    /// 3.1.1 code 5, v5 0x87.
    #[error("not authorized")]
    NotAuthorized,
    /// v5 0x80.
    #[error("unspecified error")]
    UnspecifiedError,
    /// v5 0x81.
    #[error("malformed packet")]
    MalformedPacket,
    /// v5 0x82.
    #[error("protocol error")]
    ProtocolError,
    /// v5 0x83.
    #[error("implementation specific error")]
    ImplementationSpecificError,
    /// v5 0x89.
    #[error("server busy")]
    ServerBusy,
    /// v5 0x8A.
    #[error("banned")]
    Banned,
    /// v5 0x8C.
    #[error("bad authentication method")]
    BadAuthenticationMethod,
    /// v5 0x90 (the will topic).
    #[error("topic name invalid")]
    TopicNameInvalid,
    /// v5 0x95.
    #[error("packet too large")]
    PacketTooLarge,
    /// v5 0x97.
    #[error("quota exceeded")]
    QuotaExceeded,
    /// v5 0x99 (the will payload).
    #[error("payload format invalid")]
    PayloadFormatInvalid,
    /// v5 0x9A (a retained will).
    #[error("retain not supported")]
    RetainNotSupported,
    /// v5 0x9B (the will's QoS).
    #[error("QoS not supported")]
    QosNotSupported,
    /// v5 0x9C.
    #[error("use another server")]
    UseAnotherServer,
    /// v5 0x9D.
    #[error("server moved")]
    ServerMoved,
    /// v5 0x9F.
    #[error("connection rate exceeded")]
    ConnectionRateExceeded,
    /// Any other v5 reason code of 0x80 or more.
    #[error("reason code 0x{0:02X}")]
    Other(u8),
}

impl ConnectRefusal {
    /// The refusal is about this broker, not about us: another node of a cluster may take
    /// the connection (server unavailable or busy, use another server, server moved).
    pub fn another_broker_may_serve(self) -> bool {
        matches!(
            self,
            ConnectRefusal::ServerUnavailable
                | ConnectRefusal::ServerBusy
                | ConnectRefusal::UseAnotherServer
                | ConnectRefusal::ServerMoved
        )
    }

    /// The refusal an MQTT 5 CONNACK reason code stands for; `None` below 0x80 (success).
    pub fn from_v5_reason(code: u8) -> Option<ConnectRefusal> {
        use ConnectRefusal as R;
        Some(match code {
            0x00..=0x7F => return None,
            0x80 => R::UnspecifiedError,
            0x81 => R::MalformedPacket,
            0x82 => R::ProtocolError,
            0x83 => R::ImplementationSpecificError,
            0x84 => R::UnacceptableProtocolVersion,
            0x85 => R::IdentifierRejected,
            0x86 => R::BadUserNameOrPassword,
            0x87 => R::NotAuthorized,
            0x88 => R::ServerUnavailable,
            0x89 => R::ServerBusy,
            0x8A => R::Banned,
            0x8C => R::BadAuthenticationMethod,
            0x90 => R::TopicNameInvalid,
            0x95 => R::PacketTooLarge,
            0x97 => R::QuotaExceeded,
            0x99 => R::PayloadFormatInvalid,
            0x9A => R::RetainNotSupported,
            0x9B => R::QosNotSupported,
            0x9C => R::UseAnotherServer,
            0x9D => R::ServerMoved,
            0x9F => R::ConnectionRateExceeded,
            other => R::Other(other),
        })
    }
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
    /// MQTT 5 AUTH: the broker wants an authentication exchange this client cannot do.
    #[error(
        "the broker asked for enhanced authentication (AUTH), which this client does not support"
    )]
    EnhancedAuthentication,
    /// An MQTT 5 broker said in CONNACK that it keeps no retained messages: they are sent
    /// as ordinary ones (given once per connection).
    #[error(
        "the broker does not keep retained messages: they are sent as ordinary messages, \
         so later subscribers will not get them"
    )]
    RetainUnavailable,
}

/// Why the current network connection ended (or must end).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DisconnectReason {
    /// The broker refused the connection (CONNACK). `reason_string`: what an MQTT 5 broker
    /// said besides its reason code, shown after it.
    #[error("refused: {refusal}{}", suffix(reason_string))]
    Refused {
        refusal: ConnectRefusal,
        reason_string: Option<String>,
    },
    /// An MQTT 5 broker ended the connection with a DISCONNECT. `code`: its reason code;
    /// `words`: that code in words, plus ": " and the broker's reason string if it sent one.
    /// A session taken over (0x8E) is not retried automatically (see `Reconnect`).
    #[error("the broker ended the connection: {words}")]
    ServerSaid { code: u8, words: String },
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

/// MQTT 5 reason code 0x8E: another connection with our client id took the session over.
pub const SESSION_TAKEN_OVER: u8 = 0x8E;

impl DisconnectReason {
    /// Another connection with the same client id took our session over (MQTT 5 DISCONNECT
    /// 0x8E). Retrying by itself would take it back, and the other one would do the same.
    pub fn is_session_taken_over(&self) -> bool {
        matches!(self, DisconnectReason::ServerSaid { code, .. } if *code == SESSION_TAKEN_OVER)
    }
}

fn suffix(reason_string: &Option<String>) -> String {
    match reason_string {
        Some(s) if !s.is_empty() => format!(": {s}"),
        _ => String::new(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PublishError {
    /// Over `Options::max_outgoing_packet`, or over the broker's Maximum Packet Size
    /// (MQTT 5), whichever is smaller. `size`: the whole packet, properties included.
    #[error("message too large: {size} bytes, the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("invalid topic \"{0}\": a topic to publish to is non-empty and has no + or #")]
    InvalidTopic(String),
    #[error("too many messages waiting for acknowledgement ({0})")]
    OutboxFull(usize),
    /// The client is gone (the page is closing): nothing can be published.
    #[error("the connection is closed")]
    Closed,
    /// The MQTT 5 Content Type (`PublishOptions::content_type`) cannot be sent.
    #[error("invalid content type: it {0}")]
    InvalidContentType(MqttStringError),
    /// The key of an MQTT 5 User Property (`PublishOptions::user_properties`) cannot be
    /// sent. `index`: the property's place in that list, from 0 (the words count from 1).
    #[error("invalid user property {}: its key {problem}", index + 1)]
    InvalidUserPropertyKey {
        index: usize,
        problem: MqttStringError,
    },
    /// The value of an MQTT 5 User Property cannot be sent; `index` as for the key.
    #[error("invalid user property {}: its value {problem}", index + 1)]
    InvalidUserPropertyValue {
        index: usize,
        problem: MqttStringError,
    },
    /// The MQTT 5 properties of the message (expiry, content type, user properties) take
    /// more than their length field can say (`size`: the Property Length, without its own
    /// bytes; `limit`: 268,435,455, MQTT 5 §1.5.5).
    #[error("the message properties are too large: {size} bytes, MQTT allows {limit}")]
    PropertiesTooLarge { size: usize, limit: usize },
}

/// Why a string cannot go into a packet as an MQTT UTF-8 Encoded String (MQTT 5 §1.5.4).
/// The words follow "it" ("it holds a null character ..."). Control characters, which the
/// spec only advises against, are let through; a Rust string is always well-formed UTF-8
/// without surrogates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum MqttStringError {
    /// Over 65,535 bytes (of UTF-8), the most its two-byte length can say.
    #[error("is {0} bytes long, over the 65535 an MQTT string can hold")]
    TooLong(usize),
    /// It holds U+0000, which MQTT forbids in a string (MQTT-1.5.4-2).
    #[error("holds a null character (U+0000), which MQTT does not allow")]
    NullCharacter,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SubscribeError {
    #[error("invalid topic filter \"{0}\"")]
    InvalidFilter(String),
}
