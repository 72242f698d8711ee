//! MQTT 5.0: the neutral packets to and from `mqttbytes::v5`, and what mqttbytes 0.6 lacks:
//!
//! - a DISCONNECT of remaining length 0 (`E0 00`, "normal disconnection") or 1 (a reason
//!   code alone) is legal (MQTT 5 §3.14.2.1, §3.14.2.2.1); mqttbytes refuses the first
//!   (`PayloadRequired`) and reads past the end of the second, so both are read here;
//! - a CONNACK without its property length (remaining length 2) is read as one without
//!   properties rather than refused: some brokers send the 3.1.1 shape on a refusal;
//! - AUTH (type 15) is caught in `codec::decode` before mqttbytes sees it.
//!
//! What the broker must not send, because we never allowed it, ends the link: a topic
//! alias (we advertise no Topic Alias Maximum, so it is 0), a Receive Maximum or Maximum
//! Packet Size of 0 (MQTT 5 §3.2.2.3.3, §3.2.2.3.6).

use bytes::BytesMut;
use mqttbytes::v5::{
    ConnAck, ConnectProperties, DisconnectReasonCode, Packet, PingReq, PubAck, Publish,
    PublishProperties, SubAck, Subscribe, SubscribeProperties, SubscribeReasonCode, Unsubscribe,
    WillProperties,
};
use mqttbytes::QoS;

use super::{
    describe, remaining_length, with_reason_string, DecodeError, Incoming, Out, ServerLimits,
    SubCode,
};
use crate::error::{ConnectRefusal, ProtocolError};

const CONNACK_TYPE: u8 = 2;
const DISCONNECT_TYPE: u8 = 14;

fn fatal(text: impl Into<String>) -> DecodeError {
    DecodeError::Fatal(ProtocolError::Malformed(text.into()))
}

/// Decode the one whole packet in `frame`.
pub(super) fn decode(mut frame: BytesMut, limit: usize) -> Result<Incoming, DecodeError> {
    let byte1 = frame[0];
    let (len_len, remaining) =
        remaining_length(&frame[1..]).map_err(|_| fatal("remaining length longer than 4 bytes"))?;
    match byte1 >> 4 {
        DISCONNECT_TYPE if remaining <= 1 => {
            if byte1 & 0x0F != 0 {
                return Err(fatal("DISCONNECT with flags set"));
            }
            let code = frame.get(1 + len_len).copied().unwrap_or(0x00);
            DisconnectReasonCode::try_from(code)
                .map_err(|_| fatal(format!("invalid DISCONNECT reason code {code}")))?;
            return Ok(Incoming::Disconnect {
                code,
                reason_string: None,
            });
        }
        CONNACK_TYPE if remaining == 2 => {
            // A broker that does not speak MQTT 5 answers in its own version: a 3.1.1
            // return code of 1 to 5 (Aedes sends 1, "unacceptable protocol version").
            let code = frame.get(1 + len_len + 1).copied().unwrap_or(0);
            if let Some(refusal) = v311_refusal(code) {
                return Ok(Incoming::ConnAck {
                    session_present: false,
                    refusal: Some(refusal),
                    reason_string: None,
                    limits: ServerLimits::default(),
                });
            }
            // Add the property length 0 the broker left out.
            frame[1] = 3;
            frame.extend_from_slice(&[0]);
        }
        _ => {}
    }
    let packet = mqttbytes::v5::read(&mut frame, limit)
        .map_err(|e| DecodeError::Fatal(ProtocolError::Malformed(describe(e))))?;
    Ok(match packet {
        Packet::ConnAck(ack) => connack(ack)?,
        Packet::Publish(p) => publish(p)?,
        Packet::PubAck(ack) => puback(ack),
        Packet::SubAck(ack) => suback(ack),
        Packet::UnsubAck(ack) => Incoming::UnsubAck { pkid: ack.pkid },
        Packet::PingResp => Incoming::PingResp,
        Packet::Disconnect(d) => Incoming::Disconnect {
            code: d.reason_code as u8,
            reason_string: d.properties.and_then(|p| p.reason_string),
        },
        Packet::Connect(_) => Incoming::Unexpected("CONNECT"),
        Packet::PubRec(_) => Incoming::Unexpected("PUBREC"),
        Packet::PubRel(_) => Incoming::Unexpected("PUBREL"),
        Packet::PubComp(_) => Incoming::Unexpected("PUBCOMP"),
        Packet::Subscribe(_) => Incoming::Unexpected("SUBSCRIBE"),
        Packet::Unsubscribe(_) => Incoming::Unexpected("UNSUBSCRIBE"),
        Packet::PingReq => Incoming::Unexpected("PINGREQ"),
    })
}

/// A 3.1.1 CONNACK return code (1 to 5) in answer to our MQTT 5 CONNECT. None of them is
/// a v5 reason code (those refusing start at 0x80).
fn v311_refusal(code: u8) -> Option<ConnectRefusal> {
    Some(match code {
        1 => ConnectRefusal::UnacceptableProtocolVersion,
        2 => ConnectRefusal::IdentifierRejected,
        3 => ConnectRefusal::ServerUnavailable,
        4 => ConnectRefusal::BadUserNameOrPassword,
        5 => ConnectRefusal::NotAuthorized,
        _ => return None,
    })
}

fn connack(ack: ConnAck) -> Result<Incoming, DecodeError> {
    let code = ack.code as u8;
    let mut limits = ServerLimits::default();
    let mut reason_string = None;
    if let Some(p) = ack.properties {
        if p.receive_max == Some(0) {
            return Err(fatal("CONNACK with a receive maximum of 0"));
        }
        if p.max_packet_size == Some(0) {
            return Err(fatal("CONNACK with a maximum packet size of 0"));
        }
        limits = ServerLimits {
            max_packet_size: p.max_packet_size,
            receive_max: p.receive_max.unwrap_or(u16::MAX),
            // 0 means "not available"; 1 (or, leniently, anything else) that it is.
            retain_available: p.retain_available != Some(0),
            wildcard_available: p.wildcard_subscription_available != Some(0),
            server_keep_alive: p.server_keep_alive,
            subscription_ids_available: p.subscription_identifiers_available != Some(0),
        };
        reason_string = p.reason_string;
    }
    Ok(Incoming::ConnAck {
        session_present: ack.session_present,
        refusal: ConnectRefusal::from_v5_reason(code),
        reason_string,
        limits,
    })
}

fn publish(p: Publish) -> Result<Incoming, DecodeError> {
    if p.properties
        .as_ref()
        .is_some_and(|p| p.topic_alias.is_some())
    {
        return Err(fatal(
            "PUBLISH with a topic alias, which this client never allows",
        ));
    }
    if p.topic.is_empty() {
        return Err(fatal("PUBLISH with an empty topic"));
    }
    Ok(Incoming::Publish {
        topic: p.topic,
        payload: p.payload,
        qos: p.qos,
        retain: p.retain,
        dup: p.dup,
        pkid: p.pkid,
        subscription_ids: p
            .properties
            .map(|p| p.subscription_identifiers)
            .unwrap_or_default(),
    })
}

fn puback(ack: PubAck) -> Incoming {
    let code = ack.reason as u8;
    // Below 0x80 (0x00 success, 0x10 no matching subscribers) the publish went through.
    let refused = (code >= 0x80).then(|| {
        let words = with_reason_string(
            code,
            ack.properties
                .as_ref()
                .and_then(|p| p.reason_string.as_deref()),
        );
        (code, words)
    });
    Incoming::PubAck {
        pkid: ack.pkid,
        refused,
    }
}

fn suback(ack: SubAck) -> Incoming {
    let reason = ack.properties.and_then(|p| p.reason_string);
    let codes = ack
        .return_codes
        .into_iter()
        .map(|code| match code {
            SubscribeReasonCode::QoS0 => SubCode::Granted(QoS::AtMostOnce),
            SubscribeReasonCode::QoS1 => SubCode::Granted(QoS::AtLeastOnce),
            SubscribeReasonCode::QoS2 => SubCode::Granted(QoS::ExactlyOnce),
            refused => SubCode::Refused(Some(with_reason_string(refused as u8, reason.as_deref()))),
        })
        .collect();
    Incoming::SubAck {
        pkid: ack.pkid,
        codes,
    }
}

pub(super) fn encode(packet: Out<'_>, buf: &mut BytesMut) -> Result<(), mqttbytes::Error> {
    match packet {
        Out::Connect(spec) => {
            let mut connect = mqttbytes::v5::Connect::new(spec.client_id);
            connect.keep_alive = spec.keep_alive;
            connect.clean_session = spec.clean_session;
            if let Some(c) = spec.credentials {
                // An empty password is left out: a user name alone is legal in MQTT 5.
                connect.set_login(c.username.clone(), c.password.clone());
            }
            if let Some(will) = spec.will {
                let delay = super::interval_secs(will.delay);
                connect.last_will = Some(mqttbytes::v5::LastWill {
                    topic: will.topic.clone(),
                    message: will.payload.clone(),
                    qos: will.qos,
                    retain: will.retain,
                    properties: (delay > 0).then(|| WillProperties {
                        delay_interval: Some(delay),
                        payload_format_indicator: None,
                        message_expiry_interval: None,
                        content_type: None,
                        response_topic: None,
                        correlation_data: None,
                        user_properties: Vec::new(),
                    }),
                });
            }
            connect.properties = Some(ConnectProperties {
                session_expiry_interval: (spec.session_expiry > 0).then_some(spec.session_expiry),
                receive_maximum: None,
                max_packet_size: Some(spec.max_packet_size.max(1)),
                // Never advertised: the broker then sends no topic aliases.
                topic_alias_max: None,
                request_response_info: None,
                request_problem_info: None,
                user_properties: Vec::new(),
                authentication_method: None,
                authentication_data: None,
            });
            connect.write(buf)?;
        }
        Out::Publish(p) => {
            let mut publish = Publish::from_bytes(p.topic.clone(), p.qos, p.payload.clone());
            publish.retain = p.retain;
            publish.dup = p.dup;
            publish.pkid = p.pkid;
            // Without any, the property length 0 alone: the same bytes as empty ones.
            publish.properties = p.has_properties().then(|| PublishProperties {
                payload_format_indicator: None,
                message_expiry_interval: p.message_expiry,
                topic_alias: None,
                response_topic: None,
                correlation_data: None,
                user_properties: p.user_properties.clone(),
                subscription_identifiers: Vec::new(),
                content_type: p.content_type.clone(),
            });
            publish.write(buf)?;
        }
        // The short form (no reason code): success.
        Out::PubAck(pkid) => {
            PubAck::new(pkid).write(buf)?;
        }
        Out::Subscribe { pkid, filters, id } => {
            let mut subscribe = Subscribe::empty_subscribe();
            subscribe.pkid = pkid;
            subscribe.properties = id.map(|id| SubscribeProperties {
                id: Some(id),
                user_properties: Vec::new(),
            });
            for (filter, qos) in filters {
                subscribe.add(filter.clone(), *qos);
            }
            subscribe.write(buf)?;
        }
        Out::Unsubscribe { pkid, filters } => {
            Unsubscribe {
                pkid,
                filters: filters.to_vec(),
                properties: None,
            }
            .write(buf)?;
        }
        Out::PingReq => {
            PingReq.write(buf)?;
        }
        // Reason 0x00, normal disconnection, in its short form E0 00: the broker discards
        // the will.
        Out::Disconnect => {
            mqttbytes::v5::Disconnect::new().write(buf)?;
        }
    }
    Ok(())
}
