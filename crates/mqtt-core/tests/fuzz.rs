//! Fuzzing the receive path: arbitrary byte streams, split at arbitrary points, go into a
//! connected session. Nothing may panic; a malformed stream must end in a clean protocol
//! error after which a reconnect works; and how the stream is split must not matter.
//! The packet limit is small, so streams often hold publishes over it, which are skipped.
//! The session has unsubscribes in flight, and streams often hold UNSUBACKs for their ids.
//!
//! CI runs `MQTT_FUZZ_CASES` cases (default 2000). For a long run:
//! `MQTT_FUZZ_CASES=1000000 cargo test --release -p mqtt-core --test fuzz`
//! (`PROPTEST_CASES` does not work here: the config below sets the count.)

mod common;

use bytes::{Bytes, BytesMut};
use mqtt_core::{Client, DisconnectReason, Event, Instant, Options, QoS};
use mqttbytes::v4::{
    ConnAck, ConnectReturnCode, PubAck, Publish, SubAck, SubscribeReasonCode, UnsubAck,
};
use proptest::prelude::*;

const NOW: Instant = Instant::from_millis(10);

/// Small enough that many generated publishes are over it.
const LIMIT: usize = 64;

/// The unsubscribes `connected` leaves in flight: packet id and filter.
const PENDING_UNSUBSCRIBES: [(u16, &str); 2] = [(2, "old/room"), (4, "messages/gone")];

/// A kept session with a QoS 1 publish, a SUBSCRIBE and two UNSUBSCRIBEs in flight: one
/// asked for offline and sent after CONNACK, one asked for while connected.
fn connected() -> Client {
    let mut c = Client::new(Options {
        max_incoming_packet: LIMIT,
        ..Options::new("fuzz")
    });
    c.subscribe(NOW, "messages", QoS::AtLeastOnce).unwrap();
    c.publish(NOW, "messages", "queued", QoS::AtLeastOnce)
        .unwrap();
    c.unsubscribe(NOW, PENDING_UNSUBSCRIBES[0].1).unwrap();
    c.handle_open(NOW);
    c.handle_bytes(
        NOW,
        &encode(|b| ConnAck::new(ConnectReturnCode::Success, true).write(b)),
    );
    c.unsubscribe(NOW, PENDING_UNSUBSCRIBES[1].1).unwrap();
    let unsubscribes: Vec<(u16, Vec<String>)> = std::iter::from_fn(|| c.poll_transmit())
        .filter_map(
            |bytes| match mqttbytes::v4::read(&mut BytesMut::from(&bytes[..]), 1 << 20) {
                Ok(mqttbytes::v4::Packet::Unsubscribe(u)) => Some((u.pkid, u.topics)),
                _ => None,
            },
        )
        .collect();
    let expected: Vec<(u16, Vec<String>)> = PENDING_UNSUBSCRIBES
        .iter()
        .map(|(id, f)| (*id, vec![f.to_string()]))
        .collect();
    assert_eq!(unsubscribes, expected);
    while c.poll_event().is_some() {}
    c
}

/// The filters of in-flight unsubscribes that UNSUBACKs in `packets` answer, in order.
fn answered_unsubscribes(packets: &[Vec<u8>]) -> Vec<String> {
    let mut left = PENDING_UNSUBSCRIBES.to_vec();
    let mut answered = Vec::new();
    for p in packets.iter().filter(|p| p[..2] == [0xB0, 0x02]) {
        let pkid = u16::from_be_bytes([p[2], p[3]]);
        if let Some(i) = left.iter().position(|(id, _)| *id == pkid) {
            answered.push(left.remove(i).1.to_owned());
        }
    }
    answered
}

fn unsubscribed(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Unsubscribed { filter } => Some(filter.clone()),
            _ => None,
        })
        .collect()
}

/// Valid packets a broker might send, encoded; the fuzzer then flips bytes in them.
fn valid_packet() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => publish(0..64),
        // Over LIMIT, with a remaining length of 1 to 3 bytes.
        2 => publish(LIMIT..400),
        1 => publish(16_380..16_400),
        1 => any::<u16>().prop_map(|id| encode(|b| PubAck::new(id.max(1)).write(b))),
        1 => any::<u16>().prop_map(|id| encode(|b| {
            SubAck::new(
                id.max(1),
                vec![SubscribeReasonCode::Success(QoS::AtLeastOnce)],
            )
            .write(b)
        })),
        // Often for an unsubscribe in flight (ids 2 and 4), else any id.
        2 => prop_oneof![0u16..6, any::<u16>()]
            .prop_map(|id| encode(|b| UnsubAck::new(id.max(1)).write(b))),
        1 => Just(vec![0xD0, 0x00]),
    ]
}

/// A QoS 0 or 1 PUBLISH with a payload of a size in `payload`.
fn publish(payload: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u16>(),
        "[a-z/]{1,12}",
        // One byte repeated: generating 16 KiB of random bytes per case would be slow.
        (any::<u8>(), payload).prop_map(|(byte, len)| vec![byte; len]),
        0u8..2,
        any::<bool>(),
    )
        .prop_map(|(pkid, topic, payload, qos, retain)| {
            let qos = if qos == 0 {
                QoS::AtMostOnce
            } else {
                QoS::AtLeastOnce
            };
            let mut p = Publish::new(topic, qos, payload);
            p.pkid = pkid.max(1);
            p.retain = retain;
            encode(|b| p.write(b))
        })
}

fn encode(write: impl FnOnce(&mut BytesMut) -> Result<usize, mqttbytes::Error>) -> Vec<u8> {
    let mut buf = BytesMut::new();
    write(&mut buf).expect("valid packet encodes");
    buf.to_vec()
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

/// Feed `bytes` in pieces cut at `cuts`; collect every event.
fn feed(bytes: &[u8], cuts: &[prop::sample::Index]) -> (Client, Vec<Event>) {
    let (c, events, _) = feed_and_send(bytes, cuts);
    (c, events)
}

/// As `feed`, also collecting what the client sent.
fn feed_and_send(bytes: &[u8], cuts: &[prop::sample::Index]) -> (Client, Vec<Event>, Vec<Bytes>) {
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

/// Whether mqttbytes finds `packet` over LIMIT, and whether it is a PUBLISH.
fn oversized_publish(packet: &[u8]) -> bool {
    let over = matches!(
        mqttbytes::v4::read(&mut BytesMut::from(packet), LIMIT),
        Err(mqttbytes::Error::PayloadSizeLimitExceeded(_))
    );
    over && packet[0] >> 4 == 3
}

fn cases() -> u32 {
    common::fuzz_cases(2_000)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_stream_split_anywhere_is_handled_without_panic(
        bytes in stream(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        session_present in any::<bool>(),
    ) {
        let (mut c, events) = feed(&bytes, &cuts);

        // How the stream was split does not change what happened.
        let (_, whole) = feed(&bytes, &[]);
        prop_assert_eq!(&events, &whole);

        // At most one disconnect, and nothing after it.
        let ends: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, Event::Disconnected(_)))
            .map(|(i, _)| i)
            .collect();
        prop_assert!(ends.len() <= 1);
        if let Some(&i) = ends.first() {
            prop_assert_eq!(i, events.len() - 1);
            prop_assert!(matches!(events[i], Event::Disconnected(DisconnectReason::Protocol(_))));
            prop_assert!(!c.is_connected());
            prop_assert!(c.poll_transmit().is_none());
            prop_assert_eq!(c.poll_timeout(), None);
            // ...and the session can connect again.
            c.handle_open(NOW);
            prop_assert!(c.poll_transmit().is_some(), "CONNECT after a protocol error");
            // Unsubscribes not yet answered are asked again of a kept session, or reported
            // as done by a new one: each filter is finished with exactly once.
            let done = unsubscribed(&events);
            let left: Vec<String> = PENDING_UNSUBSCRIBES
                .iter()
                .map(|(_, f)| f.to_string())
                .filter(|f| !done.contains(f))
                .collect();
            c.handle_bytes(
                NOW,
                &encode(|b| ConnAck::new(ConnectReturnCode::Success, session_present).write(b)),
            );
            let again: Vec<String> = std::iter::from_fn(|| c.poll_transmit())
                .filter_map(|bytes| {
                    match mqttbytes::v4::read(&mut BytesMut::from(&bytes[..]), 1 << 20) {
                        Ok(mqttbytes::v4::Packet::Unsubscribe(u)) => Some(u.topics),
                        _ => None,
                    }
                })
                .flatten()
                .collect();
            let reported = unsubscribed(&std::iter::from_fn(|| c.poll_event()).collect::<Vec<_>>());
            if session_present {
                prop_assert_eq!(again, left);
                prop_assert!(reported.is_empty());
            } else {
                prop_assert!(again.is_empty());
                prop_assert_eq!(reported, left);
            }
        }
    }

    #[test]
    fn valid_streams_with_oversized_publishes_stay_connected_and_skip_each_one(
        packets in proptest::collection::vec(valid_packet(), 1..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let bytes = packets.concat();
        let (c, events, sent) = feed_and_send(&bytes, &cuts);
        prop_assert!(c.is_connected(), "{:?}", events.last());
        let oversized: Vec<&Vec<u8>> = packets.iter().filter(|p| oversized_publish(p)).collect();
        let skipped: Vec<(usize, usize)> = events
            .iter()
            .filter_map(|e| match e {
                Event::Skipped { size, limit, .. } => Some((*size, *limit)),
                _ => None,
            })
            .collect();
        let expected: Vec<(usize, usize)> = oversized.iter().map(|p| (p.len(), LIMIT)).collect();
        prop_assert_eq!(skipped, expected);
        let messages = events.iter().filter(|e| matches!(e, Event::Message(_))).count();
        let publishes = packets.iter().filter(|p| p[0] >> 4 == 3).count();
        prop_assert_eq!(messages + oversized.len(), publishes);
        // The first UNSUBACK for each unsubscribe in flight reports it; others are warnings.
        prop_assert_eq!(unsubscribed(&events), answered_unsubscribes(&packets));
        // Every QoS 1 publish, skipped or not, is acknowledged once.
        let qos1 = packets.iter().filter(|p| p[0] & 0xF6 == 0x32).count();
        prop_assert_eq!(sent.len(), qos1);

        let (_, whole, whole_sent) = feed_and_send(&bytes, &[]);
        prop_assert_eq!(&events, &whole);
        prop_assert_eq!(&sent, &whole_sent);
    }
}
