//! Fuzzing the MQTT 5 receive path, as `fuzz.rs` does for 3.1.1: arbitrary bytes after a
//! v5 CONNACK, and valid v5 packets with bytes overwritten, split at arbitrary points, go
//! into a connected session. Nothing may panic or hang; how the stream is split must not
//! matter; the link ends at most once, last, for a reason that fits (a protocol error, or
//! the broker's DISCONNECT), after which a reconnect works; and never more QoS 1 publishes
//! are on the wire than the broker's Receive Maximum.
//!
//! CI runs `MQTT_FUZZ_CASES` cases (default 500). For a long run:
//! `MQTT_FUZZ_CASES=1000000 cargo test --release -p mqtt-core --test fuzz_v5`

mod common;

use std::collections::BTreeSet;

use bytes::BytesMut;
use mqtt_core::{Client, DisconnectReason, Event, Instant, Options, Protocol, ProtocolError, QoS};
use mqttbytes::v5;
use proptest::prelude::*;

const NOW: Instant = Instant::from_millis(10);

/// Small enough that many generated publishes are over it.
const LIMIT: usize = 64;

/// The broker's Receive Maximum in the CONNACK: of the three queued publishes, one waits.
const RECEIVE_MAX: usize = 2;

fn cases() -> u32 {
    common::fuzz_cases(500)
}

fn encode(write: impl FnOnce(&mut BytesMut) -> Result<usize, mqttbytes::Error>) -> Vec<u8> {
    let mut buf = BytesMut::new();
    write(&mut buf).expect("valid packet encodes");
    buf.to_vec()
}

fn connack(session_present: bool) -> Vec<u8> {
    let mut properties = v5::ConnAckProperties::new();
    properties.receive_max = Some(RECEIVE_MAX as u16);
    properties.max_packet_size = Some(1000);
    properties.reason_string = Some("welcome".into());
    let mut ack = v5::ConnAck::new(v5::ConnectReturnCode::Success, session_present);
    ack.properties = Some(properties);
    encode(|b| ack.write(b))
}

/// A kept session with three QoS 1 publishes (ids 1, 2 on the wire, 4 waiting), a
/// SUBSCRIBE (id 3) and an UNSUBSCRIBE (id 5) in flight.
fn connected() -> Client {
    let mut c = Client::new(Options {
        protocol: Protocol::v5(),
        max_incoming_packet: LIMIT,
        ..Options::new("fuzz")
    });
    for payload in ["a", "b"] {
        c.publish(NOW, "messages", payload, QoS::AtLeastOnce)
            .unwrap();
    }
    c.subscribe(NOW, "messages", QoS::AtLeastOnce).unwrap();
    c.handle_open(NOW);
    c.handle_bytes(NOW, &connack(true));
    c.publish(NOW, "messages", "c", QoS::AtLeastOnce).unwrap();
    c.unsubscribe(NOW, "old/room").unwrap();
    while c.poll_transmit().is_some() {}
    while c.poll_event().is_some() {}
    assert!(c.is_connected());
    assert_eq!(c.unacknowledged(), 3);
    c
}

fn reason_string() -> impl Strategy<Value = Option<String>> {
    prop_oneof![Just(None), "[a-z ]{0,12}".prop_map(Some)]
}

/// Valid packets a v5 broker might send, encoded; the fuzzer then flips bytes in them.
fn valid_packet() -> impl Strategy<Value = Vec<u8>> {
    use v5::PubAckReason as R;
    prop_oneof![
        4 => publish(0..48),
        // Over LIMIT, with a remaining length of 1 or 2 bytes.
        2 => publish(LIMIT..300),
        // Often for a publish in flight (1, 2, 4), refused or not.
        3 => (
            prop_oneof![1u16..6, any::<u16>()],
            prop::sample::select(vec![
                R::Success,
                R::NoMatchingSubscribers,
                R::NotAuthorized,
                R::QuotaExceeded,
                R::UnspecifiedError,
            ]),
            reason_string(),
        )
            .prop_map(|(id, reason, text)| {
                let mut ack = v5::PubAck::new(id.max(1));
                ack.reason = reason;
                ack.properties = text.map(|s| v5::PubAckProperties {
                    reason_string: Some(s),
                    user_properties: Vec::new(),
                });
                encode(|b| ack.write(b))
            }),
        1 => (
            prop_oneof![Just(3u16), any::<u16>()],
            prop::sample::select(vec![
                v5::SubscribeReasonCode::QoS1,
                v5::SubscribeReasonCode::QoS0,
                v5::SubscribeReasonCode::NotAuthorized,
            ]),
        )
            .prop_map(|(id, code)| encode(|b| v5::SubAck::new(id.max(1), vec![code]).write(b))),
        1 => prop_oneof![Just(5u16), any::<u16>()].prop_map(|id| {
            let mut ack = v5::UnsubAck::new(id.max(1));
            ack.reasons = vec![v5::UnsubAckReason::Success];
            encode(|b| ack.write(b))
        }),
        1 => Just(vec![0xD0, 0x00]),
        // Server DISCONNECT: short forms and with a reason string.
        1 => prop_oneof![
            Just(vec![0xE0, 0x00]),
            Just(vec![0xE0, 0x01, 0x8E]),
            reason_string().prop_map(|text| {
                let mut d = v5::Disconnect::new();
                d.reason_code = v5::DisconnectReasonCode::ServerShuttingDown;
                d.properties = text.map(|s| {
                    let mut p = v5::DisconnectProperties::new();
                    p.reason_string = Some(s);
                    p
                });
                encode(|b| d.write(b))
            }),
        ],
        // AUTH.
        1 => Just(vec![0xF0, 0x00]),
    ]
}

/// A QoS 0 or 1 PUBLISH with a payload of a size in `payload`, with or without properties.
fn publish(payload: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u16>(),
        "[a-z/]{1,12}",
        (any::<u8>(), payload).prop_map(|(byte, len)| vec![byte; len]),
        0u8..2,
        any::<bool>(),
        prop::option::of((any::<u32>(), "[a-z]{0,6}")),
    )
        .prop_map(|(pkid, topic, payload, qos, retain, props)| {
            let qos = if qos == 0 {
                QoS::AtMostOnce
            } else {
                QoS::AtLeastOnce
            };
            let mut p = v5::Publish::new(topic, qos, payload);
            p.pkid = pkid.max(1);
            p.retain = retain;
            p.properties = props.map(|(expiry, value)| v5::PublishProperties {
                payload_format_indicator: Some(1),
                message_expiry_interval: Some(expiry),
                topic_alias: None,
                response_topic: None,
                correlation_data: None,
                user_properties: vec![("k".into(), value)],
                subscription_identifiers: vec![7],
                content_type: None,
            });
            encode(|b| p.write(b))
        })
}

/// Random bytes, or valid packets with some bytes overwritten.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        (
            proptest::collection::vec(valid_packet(), 1..6),
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        )
            .prop_map(|(packets, flips)| {
                let mut bytes: Vec<u8> = packets.concat();
                for (at, value) in flips {
                    let i = at.index(bytes.len());
                    bytes[i] = value;
                }
                bytes
            }),
    ]
}

/// Feed `bytes` in pieces cut at `cuts`; collect every event and what was sent.
fn feed(bytes: &[u8], cuts: &[prop::sample::Index]) -> (Client, Vec<Event>, Vec<bytes::Bytes>) {
    let mut c = connected();
    let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut events = Vec::new();
    let mut sent = Vec::new();
    let mut start = 0;
    for end in points.into_iter().chain([bytes.len()]) {
        c.handle_bytes(NOW, &bytes[start..end]);
        start = end;
        sent.extend(std::iter::from_fn(|| c.poll_transmit()));
        events.extend(std::iter::from_fn(|| c.poll_event()));
    }
    (c, events, sent)
}

/// QoS 1 publishes on the wire never exceed the Receive Maximum, whatever is acknowledged.
fn check_window(events: &[Event]) -> Result<(), TestCaseError> {
    let mut on_wire: BTreeSet<u16> = [1, 2].into();
    for e in events {
        match e {
            Event::Sent { pkid } => {
                prop_assert!(on_wire.insert(*pkid), "sent twice: {}", pkid);
            }
            Event::Acknowledged { pkid } | Event::PublishRefused { pkid, .. } => {
                prop_assert!(on_wire.remove(pkid), "acknowledged off the wire: {}", pkid);
            }
            _ => {}
        }
        prop_assert!(on_wire.len() <= RECEIVE_MAX, "{:?}", on_wire);
    }
    Ok(())
}

/// Whether mqttbytes finds `packet` over LIMIT, and whether it is a PUBLISH.
fn oversized_publish(packet: &[u8]) -> bool {
    let over = matches!(
        mqttbytes::check(packet.iter(), LIMIT),
        Err(mqttbytes::Error::PayloadSizeLimitExceeded(_))
    );
    over && packet[0] >> 4 == 3
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_v5_stream_split_anywhere_is_handled_without_panic(
        bytes in stream(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        session_present in any::<bool>(),
    ) {
        let (mut c, events, sent) = feed(&bytes, &cuts);

        // How the stream was split does not change what happened.
        let (_, whole, whole_sent) = feed(&bytes, &[]);
        prop_assert_eq!(&events, &whole);
        check_window(&events)?;

        let ends: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, Event::Disconnected(_)))
            .map(|(i, _)| i)
            .collect();
        prop_assert!(ends.len() <= 1);
        match ends.first() {
            None => {
                // While the link is up, what was sent does not depend on the split either
                // (once it ends, what was not yet polled is dropped with it).
                prop_assert_eq!(&sent, &whole_sent);
                prop_assert!(c.is_connected());
                prop_assert!(c.poll_timeout().is_some(), "keep-alive still runs");
            }
            Some(&i) => {
                prop_assert_eq!(i, events.len() - 1);
                let fits = matches!(
                    &events[i],
                    Event::Disconnected(DisconnectReason::Protocol(_))
                        | Event::Disconnected(DisconnectReason::ServerSaid { .. })
                );
                prop_assert!(fits, "{:?}", events[i]);
                prop_assert!(!c.is_connected());
                prop_assert!(c.poll_transmit().is_none());
                prop_assert_eq!(c.poll_timeout(), None);
                // ...and the session can connect again.
                let left = c.unacknowledged();
                c.handle_open(NOW);
                prop_assert!(c.poll_transmit().is_some(), "CONNECT after the link ended");
                c.handle_bytes(NOW, &connack(session_present));
                prop_assert!(c.is_connected());
                let resent = std::iter::from_fn(|| c.poll_event())
                    .filter(|e| matches!(e, Event::Sent { .. }))
                    .count();
                prop_assert_eq!(resent, left.min(RECEIVE_MAX));
            }
        }
    }

    #[test]
    fn valid_v5_streams_skip_oversized_publishes_and_end_only_when_told(
        packets in proptest::collection::vec(valid_packet(), 1..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        // Up to the first DISCONNECT or AUTH: after it nothing more is read.
        let end = packets
            .iter()
            .position(|p| p[0] >> 4 == 14 || p[0] >> 4 == 15);
        let upto = &packets[..end.map_or(packets.len(), |i| i + 1)];
        let bytes = packets.concat();
        let (c, events, sent) = feed(&bytes, &cuts);
        check_window(&events)?;
        prop_assert_eq!(c.is_connected(), end.is_none(), "{:?}", events.last());
        if let Some(i) = end {
            // The broker's DISCONNECT in its words (every form of it), or AUTH refused.
            let told = matches!(
                (packets[i][0] >> 4, events.last()),
                (14, Some(Event::Disconnected(DisconnectReason::ServerSaid { .. })))
                    | (
                        15,
                        Some(Event::Disconnected(DisconnectReason::Protocol(
                            ProtocolError::EnhancedAuthentication
                        )))
                    )
            );
            prop_assert!(told, "{:?}", events.last());
        }
        let read = &upto[..end.map_or(upto.len(), |_| upto.len() - 1)];
        let oversized = read.iter().filter(|p| oversized_publish(p)).count();
        let skipped = events.iter().filter(|e| matches!(e, Event::Skipped { .. })).count();
        prop_assert_eq!(skipped, oversized);
        let messages = events.iter().filter(|e| matches!(e, Event::Message(_))).count();
        let publishes = read.iter().filter(|p| p[0] >> 4 == 3).count();
        prop_assert_eq!(messages + oversized, publishes);
        // Every QoS 1 publish, skipped or not, is acknowledged once (4-byte PUBACK);
        // everything else sent is a publish leaving the queue as the window opens.
        let qos1 = read.iter().filter(|p| p[0] & 0xF6 == 0x32).count();
        let pubacks = sent.iter().filter(|b| b[0] == 0x40).count();
        if end.is_none() {
            prop_assert_eq!(pubacks, qos1);
        } else {
            // What was still to send when the link ended is dropped with it.
            prop_assert!(pubacks <= qos1);
        }

        let (_, whole, whole_sent) = feed(&bytes, &[]);
        prop_assert_eq!(&events, &whole);
        if end.is_none() {
            prop_assert_eq!(&sent, &whole_sent);
        }
    }
}
