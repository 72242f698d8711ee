//! The codec seam: the session speaks in the version-neutral packets of this module, and
//! `v4` / `v5` map them to and from `mqttbytes::v4` / `mqttbytes::v5`. Nothing above this
//! module names a protocol version's packet types.
//!
//! Framing (is a whole packet in, is it over the limit) is done here for both versions, so a
//! packet that is cut short *inside* (mqttbytes then says "insufficient bytes") is malformed,
//! never a reason to wait for more bytes that would be read as the wrong packet.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use mqttbytes::QoS;

use crate::client::{Credentials, LastWill};
use crate::error::{ConnectRefusal, MqttStringError, ProtocolError, PublishError};

mod v4;
mod v5;

/// The MQTT version a session speaks. Both run through the same session logic; the
/// differences live in the codec and in what a v5 broker tells us in its CONNACK
/// ([`ServerLimits`]).
#[derive(Clone, Copy, Default)]
pub enum Protocol {
    /// MQTT 3.1.1 (protocol level 4): what every broker speaks.
    #[default]
    V311,
    /// MQTT 5.0: reason codes and reason strings in words, message expiry, session
    /// expiry, will delay, and the broker's limits from CONNACK. It carries its packet
    /// reader and writer ([`Protocol::v5`]), so that code reaches them only through a
    /// session that speaks 5.
    V5(&'static V5Codec),
}

impl Protocol {
    /// MQTT 5.0 with its codec.
    ///
    /// A build that loads parts of itself on demand (the browser app's chunks) calls this
    /// only in the part it loads when MQTT 5 is chosen: the codec goes with it, out of the
    /// first load.
    pub const fn v5() -> Protocol {
        Protocol::V5(&V5_CODEC)
    }

    pub const fn is_v5(self) -> bool {
        matches!(self, Protocol::V5(_))
    }
}

/// Versions compare as versions: every MQTT 5 is the same protocol.
impl PartialEq for Protocol {
    fn eq(&self, other: &Self) -> bool {
        self.is_v5() == other.is_v5()
    }
}

impl Eq for Protocol {}

impl std::fmt::Debug for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_v5() { "V5" } else { "V311" })
    }
}

/// MQTT 5's packet reader and writer (`mqttbytes::v5`), reached only through
/// [`Protocol::V5`]. Opaque: the one value is [`Protocol::v5`]'s.
pub struct V5Codec {
    decode: fn(BytesMut, usize) -> Result<Incoming, DecodeError>,
    encode: fn(Out<'_>, &mut BytesMut) -> Result<(), mqttbytes::Error>,
    /// The checks of a publish's properties ([`check_publish`]).
    check_publish: fn(&OutPublish) -> Result<(), PublishError>,
    /// Its Property Length ([`publish_properties_len`]).
    properties_len: fn(&OutPublish) -> usize,
}

static V5_CODEC: V5Codec = V5Codec {
    decode: v5::decode,
    encode: v5::encode,
    check_publish: check_v5_publish,
    properties_len: publish_properties_len,
};

/// What the broker said about itself in its CONNACK (MQTT 5 properties). Under MQTT 3.1.1,
/// and for any property a v5 broker leaves out, the permissive defaults of the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// The largest packet (all of it, fixed header included) the broker accepts.
    pub max_packet_size: Option<u32>,
    /// QoS 1 publishes the broker takes unacknowledged at once (65535 when not said).
    pub receive_max: u16,
    /// Whether the broker keeps retained messages.
    pub retain_available: bool,
    /// Whether the broker accepts topic filters with `+` or `#`.
    pub wildcard_available: bool,
    /// A keep-alive (seconds) the broker imposes instead of ours.
    pub server_keep_alive: Option<u16>,
    /// Whether the broker takes Subscription Identifiers in SUBSCRIBE (MQTT 5), so the
    /// messages it sends say which subscriptions they came through
    /// (`IncomingMessage::via`). Without them a v5 session subscribes as 3.1.1 does.
    pub subscription_ids_available: bool,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_packet_size: None,
            receive_max: u16::MAX,
            retain_available: true,
            wildcard_available: true,
            server_keep_alive: None,
            subscription_ids_available: true,
        }
    }
}

/// One acknowledgement code of a SUBACK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SubCode {
    Granted(QoS),
    /// Refused; the words say why (`None` under 3.1.1, which only says "failure").
    Refused(Option<String>),
}

/// A packet from the broker, whatever the version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    ConnAck {
        session_present: bool,
        refusal: Option<ConnectRefusal>,
        /// The v5 reason string, if the broker sent one.
        reason_string: Option<String>,
        limits: ServerLimits,
    },
    Publish {
        topic: String,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        dup: bool,
        pkid: u16,
        /// The v5 Subscription Identifiers it carries: one for each of our subscriptions
        /// it came through, as the broker counts them. Always empty under 3.1.1.
        subscription_ids: Vec<usize>,
    },
    /// `refused`: a v5 reason code >= 0x80 and its words (plus reason string).
    PubAck {
        pkid: u16,
        refused: Option<(u8, String)>,
    },
    SubAck {
        pkid: u16,
        codes: Vec<SubCode>,
    },
    UnsubAck {
        pkid: u16,
    },
    PingResp,
    /// A v5 server DISCONNECT.
    Disconnect {
        code: u8,
        reason_string: Option<String>,
    },
    /// A packet a client never receives (CONNECT, SUBSCRIBE, QoS 2 flow, ...), by name.
    Unexpected(&'static str),
}

/// An outgoing PUBLISH as the session keeps it: with its options, so a resend is the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OutPublish {
    pub topic: String,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    pub pkid: u16,
    /// v5 Message Expiry Interval in seconds; ignored under 3.1.1.
    pub message_expiry: Option<u32>,
    /// v5 Content Type, already checked as an MQTT string; ignored under 3.1.1.
    pub content_type: Option<String>,
    /// v5 User Properties in order, already checked; ignored under 3.1.1.
    pub user_properties: Vec<(String, String)>,
}

impl OutPublish {
    /// Whether it carries any v5 property.
    pub fn has_properties(&self) -> bool {
        self.message_expiry.is_some()
            || self.content_type.is_some()
            || !self.user_properties.is_empty()
    }
}

/// What goes into CONNECT.
pub(crate) struct ConnectSpec<'a> {
    pub client_id: &'a str,
    pub keep_alive: u16,
    pub clean_session: bool,
    pub credentials: Option<&'a Credentials>,
    /// Already checked (`LastWill::checked`).
    pub will: Option<&'a LastWill>,
    /// v5 Session Expiry Interval (seconds), sent when non-zero.
    pub session_expiry: u32,
    /// v5 Maximum Packet Size, always sent.
    pub max_packet_size: u32,
}

/// A packet the client sends.
pub(crate) enum Out<'a> {
    Connect(ConnectSpec<'a>),
    Publish(&'a OutPublish),
    PubAck(u16),
    Subscribe {
        pkid: u16,
        filters: &'a [(String, QoS)],
        /// The v5 Subscription Identifier for every filter of the packet; ignored under
        /// 3.1.1.
        id: Option<usize>,
    },
    Unsubscribe {
        pkid: u16,
        filters: &'a [String],
    },
    PingReq,
    Disconnect,
}

/// Why no packet came out of the receive buffer.
#[derive(Debug)]
pub(crate) enum DecodeError {
    /// At least this many more bytes are needed.
    Need(usize),
    /// The packet's remaining length is over the limit (nothing was consumed).
    TooLarge(usize),
    /// The link must end.
    Fatal(ProtocolError),
}

const AUTH_TYPE: u8 = 15;
pub(crate) const PUBLISH_TYPE: u8 = 3;

/// Take one packet off the front of `rx`, if a whole one is there.
pub(crate) fn decode(
    protocol: Protocol,
    rx: &mut BytesMut,
    limit: usize,
) -> Result<Incoming, DecodeError> {
    // mqttbytes v5 has no AUTH packet. Ending the link at its first byte gives the same
    // answer however the bytes arrive, and whatever its length claims.
    if protocol.is_v5() && rx.first().map(|b| b >> 4) == Some(AUTH_TYPE) {
        return Err(DecodeError::Fatal(ProtocolError::EnhancedAuthentication));
    }
    let header = match mqttbytes::check(rx.iter(), limit) {
        Ok(header) => header,
        Err(mqttbytes::Error::InsufficientBytes(n)) => return Err(DecodeError::Need(n)),
        Err(mqttbytes::Error::PayloadSizeLimitExceeded(n)) => return Err(DecodeError::TooLarge(n)),
        Err(e) => return Err(DecodeError::Fatal(ProtocolError::Malformed(describe(e)))),
    };
    let mut frame = rx.split_to(header.frame_length());
    let malformed = |e| DecodeError::Fatal(ProtocolError::Malformed(describe(e)));
    match protocol {
        Protocol::V311 => v4::decode(&mut frame, limit).map_err(malformed),
        Protocol::V5(codec) => (codec.decode)(frame, limit),
    }
}

/// Encode `packet` into `buf`.
pub(crate) fn encode(
    protocol: Protocol,
    packet: Out<'_>,
    buf: &mut BytesMut,
) -> Result<(), mqttbytes::Error> {
    match protocol {
        Protocol::V311 => v4::encode(packet, buf),
        Protocol::V5(codec) => (codec.encode)(packet, buf),
    }
}

/// The largest value of a variable byte integer (MQTT 5 §1.5.5): the most a remaining
/// length or a property length can say.
pub(crate) const VARIABLE_INT_MAX: usize = 268_435_455;

/// Bytes a PUBLISH takes on the wire: fixed header, topic, packet id (counted for QoS 1
/// even before one is given), (v5) property length and properties, payload.
pub(crate) fn publish_size(protocol: Protocol, publish: &OutPublish) -> usize {
    let properties = match protocol {
        Protocol::V311 => 0,
        Protocol::V5(codec) => {
            let len = (codec.properties_len)(publish);
            length_len(len) + len
        }
    };
    let pkid = if publish.qos == QoS::AtMostOnce { 0 } else { 2 };
    let remaining = 2 + publish.topic.len() + pkid + properties + publish.payload.len();
    1 + length_len(remaining) + remaining
}

/// The v5 Property Length of `publish`: the bytes of its properties, without the variable
/// byte integer that says how many there are.
pub(crate) fn publish_properties_len(publish: &OutPublish) -> usize {
    // Message Expiry Interval: identifier and a four-byte integer.
    let expiry = if publish.message_expiry.is_some() {
        5
    } else {
        0
    };
    // Content Type: identifier and a string with its two-byte length.
    let content_type = publish.content_type.as_ref().map_or(0, |t| 1 + 2 + t.len());
    // Each User Property: identifier and two strings with their two-byte lengths.
    let user: usize = publish
        .user_properties
        .iter()
        .map(|(key, value)| 1 + 2 + key.len() + 2 + value.len())
        .sum();
    expiry + content_type + user
}

/// The most bytes an MQTT string holds: its length goes in two bytes.
const STRING_LIMIT: usize = u16::MAX as usize;

/// Refuses a publish that cannot be sent as `protocol`: under MQTT 5, properties whose strings
/// are not MQTT strings or that are longer than their length can say. Nothing under 3.1.1
/// (it sends no properties).
pub(crate) fn check_publish(protocol: Protocol, publish: &OutPublish) -> Result<(), PublishError> {
    match protocol {
        Protocol::V311 => Ok(()),
        Protocol::V5(codec) => (codec.check_publish)(publish),
    }
}

/// [`check_publish`] for MQTT 5, reached through its codec.
fn check_v5_publish(publish: &OutPublish) -> Result<(), PublishError> {
    check_v5_strings(publish.content_type.as_deref(), &publish.user_properties)?;
    check_properties_fit(publish, VARIABLE_INT_MAX)
}

/// `s` as it can go into a packet as an MQTT UTF-8 string (MQTT 5 §1.5.4): at most 65,535
/// bytes, no U+0000. Control characters are only advised against there, and let through.
pub(super) fn check_mqtt_string(s: &str) -> Result<(), MqttStringError> {
    if s.len() > STRING_LIMIT {
        Err(MqttStringError::TooLong(s.len()))
    } else if s.contains('\0') {
        Err(MqttStringError::NullCharacter)
    } else {
        Ok(())
    }
}

/// The strings of a publish's MQTT 5 properties, each as it can go into a packet.
fn check_v5_strings(
    content_type: Option<&str>,
    user_properties: &[(String, String)],
) -> Result<(), PublishError> {
    if let Some(content_type) = content_type {
        check_mqtt_string(content_type).map_err(PublishError::InvalidContentType)?;
    }
    for (index, (key, value)) in user_properties.iter().enumerate() {
        check_mqtt_string(key)
            .map_err(|problem| PublishError::InvalidUserPropertyKey { index, problem })?;
        check_mqtt_string(value)
            .map_err(|problem| PublishError::InvalidUserPropertyValue { index, problem })?;
    }
    Ok(())
}

/// The MQTT 5 Property Length of `publish` is at most `limit` (`VARIABLE_INT_MAX`, all a
/// variable byte integer can say; a parameter so that a test need not build 256 MiB).
pub(super) fn check_properties_fit(publish: &OutPublish, limit: usize) -> Result<(), PublishError> {
    let size = publish_properties_len(publish);
    if size > limit {
        return Err(PublishError::PropertiesTooLarge { size, limit });
    }
    Ok(())
}

/// Bytes a variable byte integer of `value` takes.
fn length_len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// A duration as whole seconds for an interval property: rounded up, saturating.
pub(crate) fn interval_secs(d: Duration) -> u32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    u32::try_from(secs).unwrap_or(u32::MAX)
}

/// The start of an oversized PUBLISH: what `Event::Skipped` and its PUBACK need.
#[derive(Debug)]
pub(crate) struct PublishHead {
    pub topic: String,
    pub qos: QoS,
    pub pkid: u16,
    /// Bytes of fixed header, topic, packet id (and under v5 the property length).
    pub len: usize,
    /// The whole packet, fixed header included.
    pub size: usize,
}

#[derive(Debug)]
pub(crate) enum HeadError {
    /// At least this many more bytes are needed.
    Incomplete(usize),
    Invalid(ProtocolError),
}

/// Parse the fixed header, topic and (QoS 1) packet id at the start of `buf`, which holds
/// a PUBLISH whose remaining length has already been read as valid. Under v5 the property
/// length that follows is read too (the properties themselves are skipped with the payload).
pub(crate) fn read_publish_head(protocol: Protocol, buf: &[u8]) -> Result<PublishHead, HeadError> {
    let malformed = |text: String| HeadError::Invalid(ProtocolError::Malformed(text));
    let byte1 = *buf.first().ok_or(HeadError::Incomplete(2))?;
    let (length_len, remaining) = remaining_length(buf.get(1..).unwrap_or_default())?;
    let qos = match (byte1 >> 1) & 0b11 {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        2 => return Err(HeadError::Invalid(ProtocolError::UnrequestedQos2)),
        q => return Err(malformed(format!("invalid QoS {q}"))),
    };
    let fixed = 1 + length_len;
    let body = buf.get(fixed..).unwrap_or_default();
    let [hi, lo, ..] = *body else {
        return Err(HeadError::Incomplete(2 - body.len()));
    };
    let topic_len = usize::from(u16::from_be_bytes([hi, lo]));
    let pkid_len = if qos == QoS::AtMostOnce { 0 } else { 2 };
    let mut head = 2 + topic_len + pkid_len;
    if head > remaining {
        return Err(malformed(format!(
            "a length of {topic_len} runs past the packet"
        )));
    }
    let Some(head_bytes) = body.get(..head) else {
        return Err(HeadError::Incomplete(head - body.len()));
    };
    let topic = std::str::from_utf8(&head_bytes[2..2 + topic_len])
        .map_err(|_| malformed("topic is not UTF-8".into()))?
        .to_owned();
    let pkid = match head_bytes[2 + topic_len..] {
        [hi, lo] => u16::from_be_bytes([hi, lo]),
        _ => 0,
    };
    if qos == QoS::AtLeastOnce && pkid == 0 {
        return Err(malformed("packet id 0".into()));
    }
    if protocol.is_v5() {
        // MQTT 5 §3.3.2.3: the property length, a variable byte integer, follows.
        let rest = &body[head..];
        let (vbi_len, properties) = match remaining_length(rest) {
            Ok(v) => v,
            // Its bytes may only be missing if the packet still has room for them.
            Err(HeadError::Incomplete(n)) if head + rest.len() < remaining => {
                return Err(HeadError::Incomplete(n))
            }
            Err(HeadError::Incomplete(_)) => {
                return Err(malformed("PUBLISH without its property length".into()))
            }
            Err(HeadError::Invalid(_)) => {
                return Err(malformed("property length longer than 4 bytes".into()))
            }
        };
        if head + vbi_len + properties > remaining {
            return Err(malformed(format!(
                "a property length of {properties} runs past the packet"
            )));
        }
        head += vbi_len;
    }
    Ok(PublishHead {
        topic,
        qos,
        pkid,
        len: fixed + head,
        size: fixed + remaining,
    })
}

/// A variable byte integer at the start of `buf`: (bytes it takes, value).
fn remaining_length(buf: &[u8]) -> Result<(usize, usize), HeadError> {
    let mut value = 0;
    for (i, byte) in buf.iter().take(4).enumerate() {
        value |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((i + 1, value));
        }
    }
    if buf.len() >= 4 {
        Err(HeadError::Invalid(ProtocolError::Malformed(
            "remaining length longer than 4 bytes".into(),
        )))
    } else {
        Err(HeadError::Incomplete(1))
    }
}

/// An MQTT 5 reason code in words (MQTT 5.0 §2.4, the codes a broker sends).
pub(crate) fn reason_words(code: u8) -> String {
    let words = match code {
        0x00 => "success",
        0x04 => "disconnect with will message",
        0x10 => "no matching subscribers",
        0x11 => "no subscription existed",
        0x80 => "unspecified error",
        0x81 => "malformed packet",
        0x82 => "protocol error",
        0x83 => "implementation specific error",
        0x84 => "unsupported protocol version",
        0x85 => "client identifier not valid",
        0x86 => "bad user name or password",
        0x87 => "not authorized",
        0x88 => "server unavailable",
        0x89 => "server busy",
        0x8A => "banned",
        0x8B => "server shutting down",
        0x8C => "bad authentication method",
        0x8D => "keep alive timeout",
        0x8E => "session taken over",
        0x8F => "topic filter invalid",
        0x90 => "topic name invalid",
        0x91 => "packet identifier in use",
        0x92 => "packet identifier not found",
        0x93 => "receive maximum exceeded",
        0x94 => "topic alias invalid",
        0x95 => "packet too large",
        0x96 => "message rate too high",
        0x97 => "quota exceeded",
        0x98 => "administrative action",
        0x99 => "payload format invalid",
        0x9A => "retain not supported",
        0x9B => "QoS not supported",
        0x9C => "use another server",
        0x9D => "server moved",
        0x9E => "shared subscriptions not supported",
        0x9F => "connection rate exceeded",
        0xA0 => "maximum connect time",
        0xA1 => "subscription identifiers not supported",
        0xA2 => "wildcard subscriptions not supported",
        other => return format!("reason code 0x{other:02X}"),
    };
    words.to_owned()
}

/// Reason code words, plus ": " and the broker's reason string when there is one.
pub(crate) fn with_reason_string(code: u8, reason_string: Option<&str>) -> String {
    let words = reason_words(code);
    match reason_string {
        Some(s) if !s.is_empty() => format!("{words}: {s}"),
        _ => words,
    }
}

/// A server DISCONNECT's reason code in words (0x00 is "normal disconnection" there),
/// plus its reason string.
pub(crate) fn disconnect_words(code: u8, reason_string: Option<&str>) -> String {
    if code == 0x00 {
        let words = "normal disconnection";
        match reason_string {
            Some(s) if !s.is_empty() => format!("{words}: {s}"),
            _ => words.to_owned(),
        }
    } else {
        with_reason_string(code, reason_string)
    }
}

/// A decoding error in words (mqttbytes only offers `Debug`).
pub(crate) fn describe(e: mqttbytes::Error) -> String {
    use mqttbytes::Error as E;
    match e {
        E::InvalidPacketType(t) => format!("invalid packet type {t}"),
        E::InvalidConnectReturnCode(c) => format!("invalid reason code {c}"),
        E::InvalidReason(c) => format!("invalid reason code {c}"),
        E::InvalidPropertyType(p) => format!("invalid property {p}"),
        E::InvalidQoS(q) => format!("invalid QoS {q}"),
        E::InvalidSubscribeReasonCode(c) => format!("invalid SUBACK return code {c}"),
        E::PacketIdZero => "packet id 0".into(),
        E::TopicNotUtf8 => "topic is not UTF-8".into(),
        E::MalformedRemainingLength => "remaining length longer than 4 bytes".into(),
        E::BoundaryCrossed(n) => format!("a length of {n} runs past the packet"),
        E::PayloadRequired => "packet without its required payload".into(),
        E::PayloadTooLong => "payload too long".into(),
        E::PayloadSizeLimitExceeded(n) => format!("packet of {n} bytes over the limit"),
        E::InsufficientBytes(_) => "packet cut short".into(),
        _ => "malformed packet".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Properties (content type and user properties) whose Property Length is `target`.
    fn properties_of_len(target: usize) -> (Option<String>, Vec<(String, String)>) {
        let mut user = Vec::new();
        let mut left = target;
        // User properties with an empty key, 5 bytes of overhead each, while the rest does
        // not fit one content type.
        while left > 3 + u16::MAX as usize {
            let value = (left - 5).min(u16::MAX as usize);
            // Leave at least 3 bytes for the content type below.
            let value = if left - 5 - value < 3 {
                value - 3
            } else {
                value
            };
            user.push((String::new(), "v".repeat(value)));
            left -= 5 + value;
        }
        let content_type = match left {
            0 => None,
            n => {
                assert!(n >= 3, "{target}: {n} bytes left over");
                Some("t".repeat(n - 3))
            }
        };
        (content_type, user)
    }

    fn encoded_len(protocol: Protocol, publish: &OutPublish) -> usize {
        let mut buf = BytesMut::new();
        encode(protocol, Out::Publish(publish), &mut buf).expect("encodes");
        buf.len()
    }

    #[test]
    fn publish_size_is_the_encoded_size_across_property_length_boundaries() {
        // Property lengths around where their variable byte integer grows a byte.
        let lengths = [
            0, 3, 5, 8, 126, 127, 128, 129, 16_382, 16_383, 16_384, 16_385, 2_097_150, 2_097_151,
            2_097_152,
        ];
        let mut checked = 0;
        for target in lengths {
            let (content_type, user_properties) = properties_of_len(target);
            for expiry in [None, Some(60)] {
                for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
                    // Payloads around where the remaining length grows a byte.
                    for payload in [0, 100, 16_250, 16_384] {
                        let publish = OutPublish {
                            topic: "chat/room".into(),
                            payload: Bytes::from(vec![b'x'; payload]),
                            qos,
                            retain: false,
                            dup: false,
                            pkid: 7,
                            message_expiry: expiry,
                            content_type: content_type.clone(),
                            user_properties: user_properties.clone(),
                        };
                        let props = publish_properties_len(&publish);
                        assert_eq!(props, target + if expiry.is_some() { 5 } else { 0 });
                        for protocol in [Protocol::V311, Protocol::v5()] {
                            assert_eq!(
                                publish_size(protocol, &publish),
                                encoded_len(protocol, &publish),
                                "{protocol:?}, property length {props}, {qos:?}, \
                                 payload {payload}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, lengths.len() * 2 * 2 * 4 * 2);
    }

    #[test]
    fn properties_over_their_length_limit_are_refused_counting_every_one() {
        // The real limit (256 MiB) is too much to build in a test: the same check, smaller.
        let publish = OutPublish {
            topic: "t".into(),
            payload: Bytes::new(),
            qos: QoS::AtMostOnce,
            retain: false,
            dup: false,
            pkid: 0,
            message_expiry: Some(60),
            content_type: Some("abc".into()),
            user_properties: vec![("k".into(), "vv".into()), (String::new(), String::new())],
        };
        // 5 (expiry) + 6 (content type) + 8 + 5 (user properties).
        assert_eq!(check_properties_fit(&publish, 24), Ok(()));
        assert_eq!(
            check_properties_fit(&publish, 23),
            Err(PublishError::PropertiesTooLarge {
                size: 24,
                limit: 23
            })
        );
        assert_eq!(
            PublishError::PropertiesTooLarge {
                size: 300_000_000,
                limit: VARIABLE_INT_MAX
            }
            .to_string(),
            "the message properties are too large: 300000000 bytes, MQTT allows 268435455"
        );
    }

    #[test]
    fn mqtt_strings_refuse_only_null_and_over_65535_bytes() {
        assert_eq!(check_mqtt_string(""), Ok(()));
        assert_eq!(check_mqtt_string("tab\there\u{7f}\u{9f}\u{1}"), Ok(()));
        assert_eq!(
            check_mqtt_string(&"é".repeat(32_767)),
            Ok(()),
            "65534 bytes"
        );
        assert_eq!(check_mqtt_string(&"x".repeat(65_535)), Ok(()));
        assert_eq!(
            check_mqtt_string(&"x".repeat(65_536)),
            Err(MqttStringError::TooLong(65_536))
        );
        assert_eq!(
            check_mqtt_string(&"é".repeat(32_768)),
            Err(MqttStringError::TooLong(65_536)),
            "bytes, not characters"
        );
        assert_eq!(
            check_mqtt_string("a\0b"),
            Err(MqttStringError::NullCharacter)
        );
    }
}
