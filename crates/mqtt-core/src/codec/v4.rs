//! MQTT 3.1.1: the neutral packets to and from `mqttbytes::v4`.

use bytes::BytesMut;
use mqttbytes::v4::{
    ConnAck, ConnectReturnCode, Packet, PingReq, PubAck, Publish, SubAck, Subscribe,
    SubscribeReasonCode, Unsubscribe,
};

use super::{Incoming, Out, ServerLimits, SubCode};
use crate::error::ConnectRefusal;

/// Decode the one whole packet in `frame`.
pub(super) fn decode(frame: &mut BytesMut, limit: usize) -> Result<Incoming, mqttbytes::Error> {
    Ok(match mqttbytes::v4::read(frame, limit)? {
        Packet::ConnAck(ack) => connack(ack),
        Packet::Publish(p) => Incoming::Publish {
            topic: p.topic,
            payload: p.payload,
            qos: p.qos,
            retain: p.retain,
            dup: p.dup,
            pkid: p.pkid,
            subscription_ids: Vec::new(),
        },
        Packet::PubAck(ack) => Incoming::PubAck {
            pkid: ack.pkid,
            refused: None,
        },
        Packet::SubAck(ack) => suback(ack),
        Packet::UnsubAck(ack) => Incoming::UnsubAck { pkid: ack.pkid },
        Packet::PingResp => Incoming::PingResp,
        Packet::Connect(_) => Incoming::Unexpected("CONNECT"),
        Packet::PubRec(_) => Incoming::Unexpected("PUBREC"),
        Packet::PubRel(_) => Incoming::Unexpected("PUBREL"),
        Packet::PubComp(_) => Incoming::Unexpected("PUBCOMP"),
        Packet::Subscribe(_) => Incoming::Unexpected("SUBSCRIBE"),
        Packet::Unsubscribe(_) => Incoming::Unexpected("UNSUBSCRIBE"),
        Packet::PingReq => Incoming::Unexpected("PINGREQ"),
        // MQTT 3.1.1 has no DISCONNECT from the server.
        Packet::Disconnect => Incoming::Unexpected("DISCONNECT"),
    })
}

fn connack(ack: ConnAck) -> Incoming {
    let refusal = match ack.code {
        ConnectReturnCode::Success => None,
        ConnectReturnCode::RefusedProtocolVersion => {
            Some(ConnectRefusal::UnacceptableProtocolVersion)
        }
        ConnectReturnCode::BadClientId => Some(ConnectRefusal::IdentifierRejected),
        ConnectReturnCode::ServiceUnavailable => Some(ConnectRefusal::ServerUnavailable),
        ConnectReturnCode::BadUserNamePassword => Some(ConnectRefusal::BadUserNameOrPassword),
        ConnectReturnCode::NotAuthorized => Some(ConnectRefusal::NotAuthorized),
    };
    Incoming::ConnAck {
        session_present: ack.session_present,
        refusal,
        reason_string: None,
        limits: ServerLimits::default(),
    }
}

fn suback(ack: SubAck) -> Incoming {
    let codes = ack
        .return_codes
        .into_iter()
        .map(|code| match code {
            SubscribeReasonCode::Success(qos) => SubCode::Granted(qos),
            SubscribeReasonCode::Failure => SubCode::Refused(None),
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
            let mut connect = mqttbytes::v4::Connect::new(spec.client_id);
            connect.keep_alive = spec.keep_alive;
            connect.clean_session = spec.clean_session;
            if let Some(c) = spec.credentials {
                connect.set_login(c.username.clone(), c.password.clone());
            }
            if let Some(will) = spec.will {
                let mut last_will = mqttbytes::v4::LastWill::new(
                    will.topic.clone(),
                    Vec::new(),
                    will.qos,
                    will.retain,
                );
                last_will.message = will.payload.clone();
                connect.last_will = Some(last_will);
            }
            connect.write(buf)?;
        }
        Out::Publish(p) => {
            let mut publish = Publish::from_bytes(p.topic.clone(), p.qos, p.payload.clone());
            publish.retain = p.retain;
            publish.dup = p.dup;
            publish.pkid = p.pkid;
            publish.write(buf)?;
        }
        Out::PubAck(pkid) => {
            PubAck::new(pkid).write(buf)?;
        }
        Out::Subscribe { pkid, filters, .. } => {
            let mut subscribe = Subscribe::empty_subscribe();
            subscribe.pkid = pkid;
            for (filter, qos) in filters {
                subscribe.add(filter.clone(), *qos);
            }
            subscribe.write(buf)?;
        }
        Out::Unsubscribe { pkid, filters } => {
            Unsubscribe {
                pkid,
                topics: filters.to_vec(),
            }
            .write(buf)?;
        }
        Out::PingReq => {
            PingReq.write(buf)?;
        }
        Out::Disconnect => {
            mqttbytes::v4::Disconnect.write(buf)?;
        }
    }
    Ok(())
}
