//! The broker's side for tests that run under both protocol versions: packets encoded with
//! `mqttbytes::v4` or `mqttbytes::v5`, and what the client sent decoded into one shape.

#![allow(dead_code)]

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use mqtt_core::{Client, Event, Instant, Options, Protocol, QoS};
use mqttbytes::{v4, v5};

pub const T0: Instant = Instant::from_millis(1_000);

pub const BOTH: [Protocol; 2] = [Protocol::V311, Protocol::v5()];

pub fn at(secs: f64) -> Instant {
    T0 + Duration::from_millis((secs * 1000.0) as u64)
}

pub fn encode(write: impl FnOnce(&mut BytesMut) -> Result<usize, mqttbytes::Error>) -> Vec<u8> {
    let mut buf = BytesMut::new();
    write(&mut buf).expect("test packet encodes");
    buf.to_vec()
}

/// A 60 s keep-alive keeps the timings round.
pub fn options(protocol: Protocol) -> Options {
    Options {
        protocol,
        keep_alive: Duration::from_secs(60),
        ..Options::new("tab-1")
    }
}

/// An accepting CONNACK.
pub fn connack(protocol: Protocol, session_present: bool) -> Vec<u8> {
    match protocol {
        Protocol::V311 => {
            encode(|b| v4::ConnAck::new(v4::ConnectReturnCode::Success, session_present).write(b))
        }
        Protocol::V5(_) => {
            encode(|b| v5::ConnAck::new(v5::ConnectReturnCode::Success, session_present).write(b))
        }
    }
}

/// A v5 CONNACK with properties (none set: fill in what the test needs).
pub fn connack_v5(
    code: v5::ConnectReturnCode,
    edit: impl FnOnce(&mut v5::ConnAckProperties),
) -> Vec<u8> {
    let mut properties = v5::ConnAckProperties::new();
    edit(&mut properties);
    let mut ack = v5::ConnAck::new(code, false);
    ack.properties = Some(properties);
    encode(|b| ack.write(b))
}

/// A SUBACK granting every filter `qos`.
pub fn suback(protocol: Protocol, pkid: u16, granted: &[QoS]) -> Vec<u8> {
    match protocol {
        Protocol::V311 => encode(|b| {
            v4::SubAck::new(
                pkid,
                granted
                    .iter()
                    .map(|q| v4::SubscribeReasonCode::Success(*q))
                    .collect(),
            )
            .write(b)
        }),
        Protocol::V5(_) => encode(|b| {
            v5::SubAck::new(
                pkid,
                granted
                    .iter()
                    .map(|q| match q {
                        QoS::AtMostOnce => v5::SubscribeReasonCode::QoS0,
                        QoS::AtLeastOnce => v5::SubscribeReasonCode::QoS1,
                        QoS::ExactlyOnce => v5::SubscribeReasonCode::QoS2,
                    })
                    .collect(),
            )
            .write(b)
        }),
    }
}

pub fn publish(protocol: Protocol, topic: &str, payload: &str, qos: QoS, pkid: u16) -> Vec<u8> {
    match protocol {
        Protocol::V311 => {
            let mut p = v4::Publish::new(topic, qos, payload.as_bytes().to_vec());
            p.pkid = pkid;
            encode(|b| p.write(b))
        }
        Protocol::V5(_) => {
            let mut p = v5::Publish::new(topic, qos, payload.as_bytes().to_vec());
            p.pkid = pkid;
            encode(|b| p.write(b))
        }
    }
}

pub fn puback(protocol: Protocol, pkid: u16) -> Vec<u8> {
    match protocol {
        Protocol::V311 => encode(|b| v4::PubAck::new(pkid).write(b)),
        Protocol::V5(_) => encode(|b| v5::PubAck::new(pkid).write(b)),
    }
}

pub fn unsuback(protocol: Protocol, pkid: u16) -> Vec<u8> {
    match protocol {
        Protocol::V311 => encode(|b| v4::UnsubAck::new(pkid).write(b)),
        Protocol::V5(_) => {
            let mut ack = v5::UnsubAck::new(pkid);
            ack.reasons = vec![v5::UnsubAckReason::Success];
            encode(|b| ack.write(b))
        }
    }
}

pub fn pingresp() -> Vec<u8> {
    vec![0xD0, 0x00]
}

/// What the client sent, whatever the version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    Connect {
        client_id: String,
        keep_alive: u16,
        clean_session: bool,
        login: Option<(String, String)>,
        will: Option<(String, Bytes, QoS, bool)>,
    },
    Publish {
        topic: String,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        dup: bool,
        pkid: u16,
    },
    PubAck(u16),
    Subscribe {
        pkid: u16,
        filters: Vec<(String, QoS)>,
    },
    Unsubscribe {
        pkid: u16,
        filters: Vec<String>,
    },
    PingReq,
    Disconnect,
}

/// Decode one packet the client sent.
pub fn decode(protocol: Protocol, bytes: &[u8]) -> Sent {
    let mut buf = BytesMut::from(bytes);
    let sent = match protocol {
        Protocol::V311 => match v4::read(&mut buf, 1 << 20).expect("client sends valid packets") {
            v4::Packet::Connect(c) => Sent::Connect {
                client_id: c.client_id,
                keep_alive: c.keep_alive,
                clean_session: c.clean_session,
                login: c.login.map(|l| (l.username, l.password)),
                will: c.last_will.map(|w| (w.topic, w.message, w.qos, w.retain)),
            },
            v4::Packet::Publish(p) => Sent::Publish {
                topic: p.topic,
                payload: p.payload,
                qos: p.qos,
                retain: p.retain,
                dup: p.dup,
                pkid: p.pkid,
            },
            v4::Packet::PubAck(a) => Sent::PubAck(a.pkid),
            v4::Packet::Subscribe(s) => Sent::Subscribe {
                pkid: s.pkid,
                filters: s.filters.into_iter().map(|f| (f.path, f.qos)).collect(),
            },
            v4::Packet::Unsubscribe(u) => Sent::Unsubscribe {
                pkid: u.pkid,
                filters: u.topics,
            },
            v4::Packet::PingReq => Sent::PingReq,
            v4::Packet::Disconnect => Sent::Disconnect,
            other => panic!("a client never sends {other:?}"),
        },
        Protocol::V5(_) => {
            // mqttbytes 0.6 refuses the short DISCONNECT (E0 00) it writes itself.
            if bytes == [0xE0, 0x00] {
                return Sent::Disconnect;
            }
            match v5::read(&mut buf, 1 << 20).expect("client sends valid packets") {
                v5::Packet::Connect(c) => Sent::Connect {
                    client_id: c.client_id,
                    keep_alive: c.keep_alive,
                    clean_session: c.clean_session,
                    login: c.login.map(|l| (l.username, l.password)),
                    will: c.last_will.map(|w| (w.topic, w.message, w.qos, w.retain)),
                },
                v5::Packet::Publish(p) => Sent::Publish {
                    topic: p.topic,
                    payload: p.payload,
                    qos: p.qos,
                    retain: p.retain,
                    dup: p.dup,
                    pkid: p.pkid,
                },
                v5::Packet::PubAck(a) => Sent::PubAck(a.pkid),
                v5::Packet::Subscribe(s) => Sent::Subscribe {
                    pkid: s.pkid,
                    filters: s.filters.into_iter().map(|f| (f.path, f.qos)).collect(),
                },
                v5::Packet::Unsubscribe(u) => Sent::Unsubscribe {
                    pkid: u.pkid,
                    filters: u.filters,
                },
                v5::Packet::PingReq => Sent::PingReq,
                other => panic!("a client never sends {other:?}"),
            }
        }
    };
    assert!(buf.is_empty(), "one packet per transmit");
    sent
}

/// Decode everything the client wants to send.
pub fn sent(c: &mut Client) -> Vec<Sent> {
    let protocol = c.options().protocol;
    std::iter::from_fn(|| c.poll_transmit())
        .map(|bytes| decode(protocol, &bytes))
        .collect()
}

/// Everything the client sent, raw.
pub fn sent_raw(c: &mut Client) -> Vec<Bytes> {
    std::iter::from_fn(|| c.poll_transmit()).collect()
}

pub fn events(c: &mut Client) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// A client that completed CONNECT/CONNACK with `connack_bytes` and its subscription to
/// "messages", output drained.
pub fn connected_with(options: Options, connack_bytes: &[u8]) -> Client {
    let protocol = options.protocol;
    let mut c = Client::new(options);
    c.subscribe(T0, "messages", QoS::AtLeastOnce).unwrap();
    c.handle_open(T0);
    c.handle_bytes(T0, connack_bytes);
    c.handle_bytes(T0, &suback(protocol, 1, &[QoS::AtLeastOnce]));
    let _ = sent(&mut c);
    let _ = events(&mut c);
    assert!(c.is_connected());
    c
}

pub fn connected(protocol: Protocol) -> Client {
    connected_with(options(protocol), &connack(protocol, false))
}

pub fn message(payload: &str, qos: QoS) -> Event {
    Event::Message(mqtt_core::IncomingMessage {
        topic: "messages".into(),
        payload: payload.to_owned().into(),
        qos,
        retain: false,
        dup: false,
        via: None,
    })
}

/// Proptest cases for a fuzz target: `MQTT_FUZZ_CASES` if set (for a long run), else
/// `default` (what CI runs).
pub fn fuzz_cases(default: u32) -> u32 {
    std::env::var("MQTT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator of numbers in `[0, 1)`: the jitter of the reconnect
/// policy's tests, the same for the same seed.
pub fn jitter(seed: u64) -> impl FnMut() -> f64 {
    let mut rng = seed.wrapping_mul(6_364_136_223_846_793_005) | 1;
    move || {
        rng = rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (rng >> 11) as f64 / (1u64 << 53) as f64
    }
}
