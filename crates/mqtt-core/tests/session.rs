//! The session driven on a virtual clock, with the broker's side played by encoded packets.

use std::time::Duration;

use bytes::BytesMut;
use mqtt_core::{
    Client, ConnectRefusal, DisconnectReason, Event, Instant, LastWill, Options, ProtocolError,
    PublishError, QoS,
};
use mqttbytes::v4::{
    self, ConnAck, ConnectReturnCode, Packet, PubAck, Publish, SubAck, SubscribeReasonCode,
};

const T0: Instant = Instant::from_millis(1_000);

fn at(secs: f64) -> Instant {
    T0 + Duration::from_millis((secs * 1000.0) as u64)
}

fn encode(write: impl FnOnce(&mut BytesMut) -> Result<usize, mqttbytes::Error>) -> Vec<u8> {
    let mut buf = BytesMut::new();
    write(&mut buf).expect("test packet encodes");
    buf.to_vec()
}

fn connack(code: ConnectReturnCode, session_present: bool) -> Vec<u8> {
    encode(|b| ConnAck::new(code, session_present).write(b))
}

fn suback(pkid: u16, codes: Vec<SubscribeReasonCode>) -> Vec<u8> {
    encode(|b| SubAck::new(pkid, codes).write(b))
}

fn publish(topic: &str, payload: &str, qos: QoS, pkid: u16) -> Vec<u8> {
    let mut p = Publish::new(topic, qos, payload.as_bytes().to_vec());
    p.pkid = pkid;
    encode(|b| p.write(b))
}

fn puback(pkid: u16) -> Vec<u8> {
    encode(|b| PubAck::new(pkid).write(b))
}

fn pingresp() -> Vec<u8> {
    vec![0xD0, 0x00]
}

/// Decode everything the client wants to send.
fn sent(client: &mut Client) -> Vec<Packet> {
    let mut out = Vec::new();
    while let Some(bytes) = client.poll_transmit() {
        let mut buf = BytesMut::from(&bytes[..]);
        out.push(v4::read(&mut buf, 1 << 20).expect("client sends valid packets"));
        assert!(buf.is_empty(), "one packet per transmit");
    }
    out
}

fn events(client: &mut Client) -> Vec<Event> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

/// A 60 s keep-alive keeps the timings in these tests round.
fn options() -> Options {
    Options {
        keep_alive: Duration::from_secs(60),
        ..Options::new("tab-1")
    }
}

/// A client that has completed CONNECT/CONNACK and its subscription, with output drained.
fn connected_client() -> Client {
    let mut c = Client::new(options());
    c.subscribe(T0, "messages", QoS::AtLeastOnce).unwrap();
    c.handle_open(T0);
    c.handle_bytes(T0, &connack(ConnectReturnCode::Success, false));
    c.handle_bytes(
        T0,
        &suback(1, vec![SubscribeReasonCode::Success(QoS::AtLeastOnce)]),
    );
    let _ = sent(&mut c);
    let _ = events(&mut c);
    c
}

/// Open a new link at `t` and accept it, returning what the client sends after CONNACK.
fn reconnect(c: &mut Client, t: Instant, session_present: bool) -> Vec<Packet> {
    c.handle_open(t);
    let _ = sent(c);
    c.handle_bytes(t, &connack(ConnectReturnCode::Success, session_present));
    sent(c)
}

/// The one PUBLISH in `packets`.
fn only_publish(packets: Vec<Packet>) -> Publish {
    match packets.as_slice() {
        [Packet::Publish(p)] => p.clone(),
        other => panic!("expected exactly one PUBLISH, got {other:?}"),
    }
}

#[test]
fn open_sends_connect_with_the_client_id_keep_alive_and_clean_flag() {
    let mut c = Client::new(Options {
        clean_session: false,
        ..options()
    });
    c.handle_open(T0);
    match sent(&mut c).as_slice() {
        [Packet::Connect(connect)] => {
            assert_eq!(connect.client_id, "tab-1");
            assert_eq!(connect.keep_alive, 60);
            assert!(!connect.clean_session);
        }
        other => panic!("expected one CONNECT, got {other:?}"),
    }
    assert!(!c.is_connected());
    assert_eq!(c.poll_timeout(), Some(at(10.0)), "CONNACK deadline");
}

#[test]
fn connack_accepted_connects_and_subscribes_then_suback_confirms() {
    let mut c = Client::new(options());
    c.subscribe(T0, "messages", QoS::AtLeastOnce).unwrap();
    assert!(
        sent(&mut c).is_empty(),
        "nothing is sent before the link is up"
    );
    c.handle_open(T0);
    let _ = sent(&mut c);
    c.handle_bytes(at(0.1), &connack(ConnectReturnCode::Success, false));
    assert!(c.is_connected());
    assert_eq!(
        events(&mut c),
        vec![Event::Connected {
            session_present: false
        }]
    );
    match sent(&mut c).as_slice() {
        [Packet::Subscribe(s)] => {
            assert_eq!(s.filters.len(), 1);
            assert_eq!(s.filters[0].path, "messages");
            assert_eq!(s.filters[0].qos, QoS::AtLeastOnce);
        }
        other => panic!("expected SUBSCRIBE, got {other:?}"),
    }
    c.handle_bytes(
        at(0.2),
        &suback(1, vec![SubscribeReasonCode::Success(QoS::AtLeastOnce)]),
    );
    assert_eq!(
        events(&mut c),
        vec![Event::Subscribed {
            filter: "messages".into(),
            qos: QoS::AtLeastOnce
        }]
    );
}

#[test]
fn each_connack_refusal_disconnects_with_its_reason_in_words() {
    let cases = [
        (
            ConnectReturnCode::RefusedProtocolVersion,
            ConnectRefusal::UnacceptableProtocolVersion,
            "refused: unacceptable protocol version",
        ),
        (
            ConnectReturnCode::BadClientId,
            ConnectRefusal::IdentifierRejected,
            "refused: identifier rejected",
        ),
        (
            ConnectReturnCode::ServiceUnavailable,
            ConnectRefusal::ServerUnavailable,
            "refused: server unavailable",
        ),
        (
            ConnectReturnCode::BadUserNamePassword,
            ConnectRefusal::BadUserNameOrPassword,
            "refused: bad user name or password",
        ),
        (
            ConnectReturnCode::NotAuthorized,
            ConnectRefusal::NotAuthorized,
            "refused: not authorized",
        ),
    ];
    for (code, refusal, words) in cases {
        let mut c = Client::new(options());
        c.subscribe(T0, "messages", QoS::AtLeastOnce).unwrap();
        c.handle_open(T0);
        let _ = sent(&mut c);
        c.handle_bytes(at(0.1), &connack(code, false));
        let reason = DisconnectReason::Refused {
            refusal,
            reason_string: None,
        };
        assert_eq!(events(&mut c), vec![Event::Disconnected(reason.clone())]);
        assert_eq!(reason.to_string(), words);
        assert!(!c.is_connected());
        assert!(sent(&mut c).is_empty(), "no SUBSCRIBE after a refusal");
        assert_eq!(c.poll_timeout(), None, "no timers after a refusal");
    }
}

#[test]
fn missing_connack_times_out() {
    let mut c = Client::new(options());
    c.handle_open(T0);
    c.handle_timeout(at(9.9));
    assert!(events(&mut c).is_empty());
    c.handle_timeout(at(10.0));
    assert_eq!(
        events(&mut c),
        vec![Event::Disconnected(DisconnectReason::ConnackTimeout)]
    );
}

#[test]
fn ping_goes_out_after_half_the_keep_alive_of_silence_and_not_before() {
    let mut c = connected_client();
    // Connected (and last sent) at T0, so the first ping is due at 30 s.
    assert_eq!(c.poll_timeout(), Some(at(30.0)));
    c.handle_timeout(at(29.9));
    assert!(sent(&mut c).is_empty());
    c.handle_timeout(at(30.0));
    assert_eq!(sent(&mut c), vec![Packet::PingReq]);
    assert_eq!(c.poll_timeout(), Some(at(40.0)), "PINGRESP deadline");
    c.handle_bytes(at(30.05), &pingresp());
    assert!(events(&mut c).is_empty());
    assert_eq!(
        c.poll_timeout(),
        Some(at(60.0)),
        "next ping 30 s after the last one"
    );
    c.handle_timeout(at(60.0));
    assert_eq!(sent(&mut c), vec![Packet::PingReq]);
}

#[test]
fn sending_anything_postpones_the_ping() {
    let mut c = connected_client();
    c.publish(at(20.0), "messages", "x", QoS::AtMostOnce)
        .unwrap();
    let _ = sent(&mut c);
    c.handle_timeout(at(30.0));
    assert!(sent(&mut c).is_empty());
    assert_eq!(c.poll_timeout(), Some(at(50.0)));
}

#[test]
fn missing_pingresp_disconnects_with_the_reason() {
    let mut c = connected_client();
    c.handle_timeout(at(30.0));
    assert_eq!(sent(&mut c), vec![Packet::PingReq]);
    c.handle_timeout(at(39.9));
    assert!(events(&mut c).is_empty());
    c.handle_timeout(at(40.0));
    let ev = events(&mut c);
    assert_eq!(ev, vec![Event::Disconnected(DisconnectReason::PingTimeout)]);
    assert_eq!(
        DisconnectReason::PingTimeout.to_string(),
        "no PINGRESP from broker in time"
    );
    assert!(!c.is_connected());
    assert_eq!(c.poll_timeout(), None);
}

/// CONNACK + SUBACK + two PUBLISHes as one byte stream, and the events they must produce.
fn handshake_stream() -> (Vec<u8>, Vec<Event>) {
    let mut bytes = connack(ConnectReturnCode::Success, false);
    bytes.extend(suback(
        1,
        vec![SubscribeReasonCode::Success(QoS::AtLeastOnce)],
    ));
    bytes.extend(publish(
        "messages",
        "{\"name\":\"a\",\"message\":\"hi\"}",
        QoS::AtLeastOnce,
        7,
    ));
    bytes.extend(publish("messages", &"long ".repeat(40), QoS::AtMostOnce, 0));
    let msg = |payload: String, qos| {
        Event::Message(mqtt_core::IncomingMessage {
            topic: "messages".into(),
            payload: payload.into(),
            qos,
            retain: false,
            dup: false,
            via: None,
        })
    };
    let expected = vec![
        Event::Connected {
            session_present: false,
        },
        Event::Subscribed {
            filter: "messages".into(),
            qos: QoS::AtLeastOnce,
        },
        msg(
            "{\"name\":\"a\",\"message\":\"hi\"}".into(),
            QoS::AtLeastOnce,
        ),
        msg("long ".repeat(40), QoS::AtMostOnce),
    ];
    (bytes, expected)
}

fn opened_with_subscription() -> Client {
    let mut c = Client::new(options());
    c.subscribe(T0, "messages", QoS::AtLeastOnce).unwrap();
    c.handle_open(T0);
    let _ = sent(&mut c);
    c
}

#[test]
fn a_stream_split_at_every_byte_boundary_decodes_the_same() {
    let (bytes, expected) = handshake_stream();
    for split in 0..=bytes.len() {
        let mut c = opened_with_subscription();
        c.handle_bytes(T0, &bytes[..split]);
        c.handle_bytes(T0, &bytes[split..]);
        assert_eq!(events(&mut c), expected, "split at byte {split}");
    }
}

#[test]
fn a_stream_fed_one_byte_at_a_time_decodes_the_same() {
    let (bytes, expected) = handshake_stream();
    let mut c = opened_with_subscription();
    for b in &bytes {
        c.handle_bytes(T0, std::slice::from_ref(b));
    }
    assert_eq!(events(&mut c), expected);
}

#[test]
fn three_packets_in_one_frame_all_decode() {
    let mut c = connected_client();
    let mut frame = publish("messages", "one", QoS::AtMostOnce, 0);
    frame.extend(publish("messages", "two", QoS::AtLeastOnce, 5));
    frame.extend(pingresp());
    frame.extend(publish("messages", "three", QoS::AtMostOnce, 0));
    c.handle_bytes(at(1.0), &frame);
    let payloads: Vec<String> = events(&mut c)
        .into_iter()
        .map(|e| match e {
            Event::Message(m) => String::from_utf8(m.payload.to_vec()).unwrap(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(payloads, ["one", "two", "three"]);
    assert_eq!(sent(&mut c), vec![Packet::PubAck(PubAck::new(5))]);
}

#[test]
fn incoming_qos1_publish_is_acknowledged_with_its_packet_id() {
    let mut c = connected_client();
    c.handle_bytes(at(1.0), &publish("messages", "x", QoS::AtLeastOnce, 4242));
    assert_eq!(sent(&mut c), vec![Packet::PubAck(PubAck::new(4242))]);
}

#[test]
fn qos1_publish_is_sent_then_acknowledged() {
    let mut c = connected_client();
    let pkid = c
        .publish(at(1.0), "messages", "hello", QoS::AtLeastOnce)
        .unwrap()
        .expect("QoS 1 has a packet id");
    match sent(&mut c).as_slice() {
        [Packet::Publish(p)] => {
            assert_eq!(p.pkid, pkid);
            assert_eq!(p.qos, QoS::AtLeastOnce);
            assert!(!p.dup);
            assert_eq!(&p.payload[..], b"hello");
        }
        other => panic!("expected PUBLISH, got {other:?}"),
    }
    assert_eq!(events(&mut c), vec![Event::Sent { pkid }]);
    assert_eq!(c.unacknowledged(), 1);
    c.handle_bytes(at(1.1), &puback(pkid));
    assert_eq!(events(&mut c), vec![Event::Acknowledged { pkid }]);
    assert_eq!(c.unacknowledged(), 0);
}

#[test]
fn publish_while_offline_waits_and_goes_out_after_connack() {
    let mut c = Client::new(options());
    let pkid = c
        .publish(T0, "messages", "queued", QoS::AtLeastOnce)
        .unwrap()
        .unwrap();
    assert!(sent(&mut c).is_empty());
    assert!(events(&mut c).is_empty());
    let p = only_publish(reconnect(&mut c, at(1.0), false));
    assert_eq!(p.pkid, pkid);
    assert!(!p.dup, "never sent before, so no DUP");
}

#[test]
fn unacknowledged_publish_is_resent_with_dup_after_reconnect() {
    let mut c = connected_client();
    let pkid = c
        .publish(at(1.0), "messages", "m", QoS::AtLeastOnce)
        .unwrap()
        .unwrap();
    let _ = sent(&mut c);
    c.handle_close("socket closed");
    assert_eq!(
        events(&mut c),
        vec![
            Event::Sent { pkid },
            Event::Disconnected(DisconnectReason::Transport("socket closed".into()))
        ]
    );
    let p = only_publish(reconnect(&mut c, at(2.0), true));
    assert_eq!(p.pkid, pkid);
    assert!(p.dup, "a resend carries DUP");
}

#[test]
fn lost_session_means_subscribing_again() {
    let mut c = connected_client();
    c.handle_close("gone");
    c.handle_open(at(5.0));
    let _ = sent(&mut c);
    c.handle_bytes(at(5.1), &connack(ConnectReturnCode::Success, false));
    assert!(
        matches!(sent(&mut c).as_slice(), [Packet::Subscribe(s)] if s.filters[0].path == "messages")
    );
}

#[test]
fn refused_subscription_is_reported() {
    let mut c = Client::new(options());
    c.subscribe(T0, "secret/#", QoS::AtLeastOnce).unwrap();
    c.handle_open(T0);
    c.handle_bytes(T0, &connack(ConnectReturnCode::Success, false));
    let _ = events(&mut c);
    c.handle_bytes(T0, &suback(1, vec![SubscribeReasonCode::Failure]));
    assert_eq!(
        events(&mut c),
        vec![Event::SubscribeRefused {
            filter: "secret/#".into(),
            reason: None,
        }]
    );
    assert!(
        c.is_connected(),
        "a refused subscription does not end the connection"
    );
}

#[test]
fn unsolicited_puback_is_a_warning_and_the_connection_stays_up() {
    let mut c = connected_client();
    c.handle_bytes(at(1.0), &puback(999));
    assert_eq!(
        events(&mut c),
        vec![Event::Warning(ProtocolError::Unsolicited(999))]
    );
    assert!(c.is_connected());
}

#[test]
fn garbage_bytes_end_the_connection_with_an_error_event() {
    let garbage: [&[u8]; 5] = [
        &[0x00, 0x00],                   // packet type 0 is reserved
        &[0xF0, 0x00],                   // packet type 15 is reserved
        &[0x30, 0x00],                   // PUBLISH with no topic
        &[0x20, 0x02, 0x00, 0x09],       // CONNACK with return code 9
        &[0x30, 0xFF, 0xFF, 0xFF, 0xFF], // remaining length longer than 4 bytes
    ];
    for bytes in garbage {
        let mut c = connected_client();
        c.handle_bytes(at(1.0), bytes);
        match events(&mut c).as_slice() {
            [Event::Disconnected(DisconnectReason::Protocol(ProtocolError::Malformed(_)))] => {}
            other => panic!("{bytes:02x?}: expected a malformed-packet disconnect, got {other:?}"),
        }
        assert!(!c.is_connected());
        assert!(sent(&mut c).is_empty());
    }
}

#[test]
fn a_packet_the_client_never_expects_ends_the_connection() {
    let mut c = connected_client();
    c.handle_bytes(at(1.0), &[0xC0, 0x00]); // PINGREQ from the broker
    assert_eq!(
        events(&mut c),
        vec![Event::Disconnected(DisconnectReason::Protocol(
            ProtocolError::Unexpected("PINGREQ")
        ))]
    );
}

#[test]
fn anything_but_connack_first_ends_the_connection() {
    let mut c = opened_with_subscription();
    c.handle_bytes(at(0.1), &publish("messages", "early", QoS::AtMostOnce, 0));
    assert_eq!(
        events(&mut c),
        vec![Event::Disconnected(DisconnectReason::Protocol(
            ProtocolError::Unexpected("PUBLISH")
        ))]
    );
}

#[test]
fn an_oversized_packet_that_is_not_a_publish_still_ends_the_connection() {
    let mut c = connected_with_limit(100);
    let codes = vec![SubscribeReasonCode::Success(QoS::AtLeastOnce); 150];
    let big = suback(1, codes);
    c.handle_bytes(at(1.0), &big[..3]); // the header alone says it is too big
    assert_eq!(
        events(&mut c),
        vec![Event::Disconnected(DisconnectReason::Protocol(
            ProtocolError::PacketTooLarge {
                size: 152,
                limit: 100
            }
        ))]
    );
    assert!(!c.is_connected());
    assert!(sent(&mut c).is_empty());
}

#[test]
fn an_oversized_publish_before_connack_still_ends_the_connection() {
    let mut c = Client::new(Options {
        max_incoming_packet: 100,
        ..options()
    });
    c.handle_open(T0);
    let _ = sent(&mut c);
    let big = publish("messages", &"x".repeat(200), QoS::AtMostOnce, 0);
    c.handle_bytes(T0, &big[..5]);
    assert!(
        matches!(
            events(&mut c).as_slice(),
            [Event::Disconnected(DisconnectReason::Protocol(
                ProtocolError::PacketTooLarge { limit: 100, .. }
            ))]
        ),
        "a PUBLISH is only skipped on an established connection"
    );
}

/// A connected client (as `connected_client`) that accepts packets of at most `limit`
/// bytes of remaining length.
fn connected_with_limit(limit: usize) -> Client {
    let mut c = Client::new(Options {
        max_incoming_packet: limit,
        ..options()
    });
    c.handle_open(T0);
    c.handle_bytes(T0, &connack(ConnectReturnCode::Success, false));
    let _ = sent(&mut c);
    let _ = events(&mut c);
    c
}

fn message(payload: &str, qos: QoS) -> Event {
    Event::Message(mqtt_core::IncomingMessage {
        topic: "messages".into(),
        payload: payload.to_owned().into(),
        qos,
        retain: false,
        dup: false,
        via: None,
    })
}

#[test]
fn an_oversized_qos0_publish_is_skipped_and_the_next_one_in_the_same_frame_is_delivered() {
    let mut c = connected_with_limit(100);
    let big = publish("messages/big", &"x".repeat(300), QoS::AtMostOnce, 0);
    assert_eq!(big.len(), 3 + 2 + 12 + 300, "2 bytes of remaining length");
    let mut frame = big.clone();
    frame.extend(publish("messages", "after", QoS::AtMostOnce, 0));
    c.handle_bytes(at(1.0), &frame);
    assert_eq!(
        events(&mut c),
        vec![
            Event::Skipped {
                topic: "messages/big".into(),
                size: big.len(),
                limit: 100,
                qos: QoS::AtMostOnce,
            },
            message("after", QoS::AtMostOnce),
        ]
    );
    assert!(sent(&mut c).is_empty(), "nothing to acknowledge at QoS 0");
    assert!(c.is_connected());
    c.handle_bytes(at(2.0), &publish("messages", "later", QoS::AtMostOnce, 0));
    assert_eq!(events(&mut c), vec![message("later", QoS::AtMostOnce)]);
}

#[test]
fn an_oversized_qos1_publish_is_acknowledged_with_its_packet_id_once_its_last_byte_arrives() {
    let mut c = connected_with_limit(100);
    let big = publish("messages", &"x".repeat(1000), QoS::AtLeastOnce, 77);
    let (head, last) = big.split_at(big.len() - 1);
    for piece in head.chunks(100) {
        c.handle_bytes(at(1.0), piece);
    }
    assert!(
        sent(&mut c).is_empty(),
        "no PUBACK before the whole packet is past"
    );
    assert!(events(&mut c).is_empty());

    let mut frame = last.to_vec();
    frame.extend(publish("messages", "after", QoS::AtLeastOnce, 78));
    c.handle_bytes(at(2.0), &frame);
    assert_eq!(
        sent(&mut c),
        vec![
            Packet::PubAck(PubAck::new(77)),
            Packet::PubAck(PubAck::new(78))
        ]
    );
    assert_eq!(
        events(&mut c),
        vec![
            Event::Skipped {
                topic: "messages".into(),
                size: big.len(),
                limit: 100,
                qos: QoS::AtLeastOnce,
            },
            message("after", QoS::AtLeastOnce),
        ]
    );
    assert!(c.is_connected());
    c.handle_bytes(at(3.0), &publish("messages", "later", QoS::AtLeastOnce, 79));
    assert_eq!(events(&mut c), vec![message("later", QoS::AtLeastOnce)]);
    assert_eq!(sent(&mut c), vec![Packet::PubAck(PubAck::new(79))]);
}

/// A small publish, an oversized QoS 1 one, another small one; and what they must produce.
fn stream_with_oversized_publish() -> (Vec<u8>, Vec<Event>, Vec<Packet>) {
    let big = publish("messages/big", &"x".repeat(150), QoS::AtLeastOnce, 9);
    let mut bytes = publish("messages", "before", QoS::AtMostOnce, 0);
    bytes.extend(&big);
    bytes.extend(publish("messages", "after", QoS::AtLeastOnce, 10));
    let events = vec![
        message("before", QoS::AtMostOnce),
        Event::Skipped {
            topic: "messages/big".into(),
            size: big.len(),
            limit: 100,
            qos: QoS::AtLeastOnce,
        },
        message("after", QoS::AtLeastOnce),
    ];
    let acks = vec![
        Packet::PubAck(PubAck::new(9)),
        Packet::PubAck(PubAck::new(10)),
    ];
    (bytes, events, acks)
}

#[test]
fn an_oversized_publish_split_at_every_byte_boundary_is_skipped_the_same() {
    let (bytes, expected, acks) = stream_with_oversized_publish();
    for split in 0..=bytes.len() {
        let mut c = connected_with_limit(100);
        c.handle_bytes(at(1.0), &bytes[..split]);
        c.handle_bytes(at(1.0), &bytes[split..]);
        assert_eq!(events(&mut c), expected, "split at byte {split}");
        assert_eq!(sent(&mut c), acks, "split at byte {split}");
        assert!(c.is_connected());
    }
}

#[test]
fn an_oversized_publish_fed_in_many_frames_is_skipped_the_same() {
    let (bytes, expected, acks) = stream_with_oversized_publish();
    for size in [1, 2, 3, 7, 64] {
        let mut c = connected_with_limit(100);
        for piece in bytes.chunks(size) {
            c.handle_bytes(at(1.0), piece);
        }
        assert_eq!(events(&mut c), expected, "frames of {size} bytes");
        assert_eq!(sent(&mut c), acks, "frames of {size} bytes");
    }
}

#[test]
fn an_oversized_qos2_publish_is_still_a_protocol_violation() {
    let mut c = connected_with_limit(100);
    let big = publish("messages", &"x".repeat(200), QoS::ExactlyOnce, 5);
    c.handle_bytes(at(1.0), &big);
    assert_eq!(
        events(&mut c),
        vec![Event::Disconnected(DisconnectReason::Protocol(
            ProtocolError::UnrequestedQos2
        ))]
    );
    assert!(sent(&mut c).is_empty(), "no PUBACK for QoS 2");
}

#[test]
fn an_oversized_publish_with_a_topic_that_is_not_utf8_is_malformed() {
    let mut c = connected_with_limit(100);
    // PUBLISH QoS 0, remaining length 200 (0xC8 0x01), topic of 2 bytes that are not UTF-8.
    let mut big = vec![0x30, 0xC8, 0x01, 0x00, 0x02, 0xFF, 0xFE];
    big.resize(3 + 200, b'x');
    c.handle_bytes(at(1.0), &big);
    assert_eq!(
        events(&mut c),
        vec![Event::Disconnected(DisconnectReason::Protocol(
            ProtocolError::Malformed("topic is not UTF-8".into())
        ))]
    );
}

#[test]
fn an_oversized_publish_whose_topic_runs_past_the_packet_is_malformed() {
    let mut c = connected_with_limit(10);
    // PUBLISH QoS 1, remaining length 20, a topic length of 300.
    let mut big = vec![0x32, 20, 0x01, 0x2C];
    big.resize(2 + 20, b'x');
    c.handle_bytes(at(1.0), &big);
    assert!(
        matches!(
            events(&mut c).as_slice(),
            [Event::Disconnected(DisconnectReason::Protocol(
                ProtocolError::Malformed(_)
            ))]
        ),
        "a topic longer than the packet"
    );
}

#[test]
fn a_new_link_forgets_a_publish_half_skipped_on_the_last_one() {
    let mut c = connected_with_limit(100);
    let big = publish("messages", &"x".repeat(500), QoS::AtLeastOnce, 3);
    c.handle_bytes(at(1.0), &big[..200]);
    c.handle_close("network gone");
    let _ = events(&mut c);
    c.handle_open(at(2.0));
    assert_a_fresh_link_starts_clean(&mut c);
    assert!(
        sent(&mut c).is_empty(),
        "no PUBACK for the abandoned publish"
    );
}

#[test]
fn opening_a_new_link_without_a_close_also_forgets_a_half_skipped_publish() {
    let mut c = connected_with_limit(100);
    let big = publish("messages", &"x".repeat(500), QoS::AtMostOnce, 0);
    c.handle_bytes(at(1.0), &big[..200]);
    c.handle_open(at(2.0)); // the transport replaced the link without reporting a close
    assert_a_fresh_link_starts_clean(&mut c);
}

/// After `handle_open`: CONNACK and a small publish in one frame come out as exactly that,
/// with nothing left over from a publish half skipped on the last link.
fn assert_a_fresh_link_starts_clean(c: &mut Client) {
    let _ = sent(c);
    let mut frame = connack(ConnectReturnCode::Success, true);
    frame.extend(publish("messages", "fresh", QoS::AtMostOnce, 0));
    c.handle_bytes(at(2.1), &frame);
    assert_eq!(
        events(c),
        vec![
            Event::Connected {
                session_present: true
            },
            message("fresh", QoS::AtMostOnce),
        ]
    );
}

#[test]
fn an_oversized_publish_is_refused_before_anything_is_sent() {
    let mut c = Client::new(Options {
        max_outgoing_packet: 1000,
        ..options()
    });
    c.handle_open(T0);
    c.handle_bytes(T0, &connack(ConnectReturnCode::Success, false));
    let _ = sent(&mut c);
    let err = c
        .publish(at(1.0), "messages", vec![b'x'; 1000], QoS::AtLeastOnce)
        .unwrap_err();
    assert!(
        matches!(err, PublishError::TooLarge { limit: 1000, .. }),
        "{err}"
    );
    assert!(sent(&mut c).is_empty());
    assert_eq!(c.unacknowledged(), 0, "nothing kept for resend");
}

#[test]
fn wildcards_are_refused_in_publish_topics_and_checked_in_filters() {
    let mut c = Client::new(options());
    assert!(matches!(
        c.publish(T0, "a/+", "x", QoS::AtMostOnce),
        Err(PublishError::InvalidTopic(_))
    ));
    assert!(c.subscribe(T0, "a/#", QoS::AtMostOnce).is_ok());
    assert!(c.subscribe(T0, "+/b/+", QoS::AtMostOnce).is_ok());
    assert!(c.subscribe(T0, "a/#/b", QoS::AtMostOnce).is_err());
    assert!(c.subscribe(T0, "a+", QoS::AtMostOnce).is_err());
    assert!(c.subscribe(T0, "", QoS::AtMostOnce).is_err());
}

#[test]
fn disconnect_sends_disconnect_and_goes_idle() {
    let mut c = connected_client();
    c.disconnect(at(1.0));
    assert_eq!(sent(&mut c), vec![Packet::Disconnect]);
    assert_eq!(
        events(&mut c),
        vec![Event::Disconnected(DisconnectReason::ClientDisconnect)]
    );
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn bytes_after_the_connection_ended_are_ignored() {
    let mut c = connected_client();
    c.handle_close("closed");
    let _ = events(&mut c);
    c.handle_bytes(at(1.0), &publish("messages", "late", QoS::AtMostOnce, 0));
    assert!(events(&mut c).is_empty());
}

#[test]
fn credentials_go_into_connect_and_never_into_debug_output() {
    let mut c = Client::new(Options {
        credentials: Some(mqtt_core::Credentials {
            username: "alice".into(),
            password: "s3cret".into(),
        }),
        ..options()
    });
    assert!(!format!("{:?}", c.options()).contains("s3cret"));
    c.handle_open(T0);
    match sent(&mut c).as_slice() {
        [Packet::Connect(connect)] => {
            let login = connect.login.as_ref().expect("login sent");
            assert_eq!(
                (login.username.as_str(), login.password.as_str()),
                ("alice", "s3cret")
            );
        }
        other => panic!("expected CONNECT, got {other:?}"),
    }
}

#[test]
fn ping_now_checks_the_link_at_once_but_only_once() {
    let mut c = connected_client();
    c.ping_now(at(5.0));
    c.ping_now(at(5.1));
    assert_eq!(
        sent(&mut c),
        vec![Packet::PingReq],
        "one ping in flight at a time"
    );
    assert_eq!(c.poll_timeout(), Some(at(15.0)));
    c.handle_timeout(at(15.0));
    assert_eq!(
        events(&mut c),
        vec![Event::Disconnected(DisconnectReason::PingTimeout)],
        "a link that died silently shows within the ping timeout"
    );
    c.ping_now(at(16.0));
    assert!(sent(&mut c).is_empty(), "no ping without a connection");
}

#[test]
fn publishes_in_flight_when_the_user_disconnected_are_resent_on_the_next_link() {
    let mut c = connected_client();
    let pkid = c
        .publish(at(1.0), "messages", "m", QoS::AtLeastOnce)
        .unwrap()
        .unwrap();
    let _ = sent(&mut c);
    c.disconnect(at(2.0));
    let _ = sent(&mut c);
    let p = only_publish(reconnect(&mut c, at(3.0), true));
    assert_eq!(p.pkid, pkid);
    assert!(p.dup);
}

#[test]
fn a_suback_with_the_wrong_number_of_codes_ends_the_connection() {
    let mut c = Client::new(options());
    c.subscribe(T0, "a", QoS::AtLeastOnce).unwrap();
    c.subscribe(T0, "b", QoS::AtLeastOnce).unwrap();
    c.handle_open(T0);
    c.handle_bytes(T0, &connack(ConnectReturnCode::Success, false));
    let _ = events(&mut c);
    c.handle_bytes(
        T0,
        &suback(1, vec![SubscribeReasonCode::Success(QoS::AtLeastOnce)]),
    );
    assert!(matches!(
        events(&mut c).as_slice(),
        [Event::Disconnected(DisconnectReason::Protocol(
            ProtocolError::Malformed(_)
        ))]
    ));
}

// ----- last will --------------------------------------------------------------------------

fn offline_will() -> LastWill {
    LastWill {
        topic: "chat/presence/tab-1".into(),
        payload: r#"{"online":false}"#.into(),
        qos: QoS::AtLeastOnce,
        retain: true,
        ..LastWill::default()
    }
}

/// The will in the CONNECT sent when a link opens at `t`.
fn will_in_connect(c: &mut Client, t: Instant) -> Option<v4::LastWill> {
    c.handle_open(t);
    match sent(c).as_slice() {
        [Packet::Connect(connect)] => connect.last_will.clone(),
        other => panic!("expected one CONNECT, got {other:?}"),
    }
}

#[test]
fn connect_has_no_will_unless_one_is_set() {
    let mut c = Client::new(options());
    assert_eq!(c.options().will, None);
    assert_eq!(will_in_connect(&mut c, T0), None);
}

#[test]
fn connect_carries_the_will_after_set_will_and_not_after_it_is_removed() {
    let mut c = Client::new(options());
    c.set_will(Some(offline_will())).unwrap();
    let will = will_in_connect(&mut c, T0).expect("CONNECT carries the will");
    assert_eq!(will.topic, "chat/presence/tab-1");
    assert_eq!(&will.message[..], br#"{"online":false}"#);
    assert_eq!(will.qos, QoS::AtLeastOnce);
    assert!(will.retain);

    c.handle_close("gone");
    c.set_will(Some(LastWill {
        retain: false,
        qos: QoS::AtMostOnce,
        ..offline_will()
    }))
    .unwrap();
    let will = will_in_connect(&mut c, at(1.0)).expect("CONNECT carries the new will");
    assert!(!will.retain);
    assert_eq!(will.qos, QoS::AtMostOnce);

    c.handle_close("gone");
    c.set_will(None).unwrap();
    assert_eq!(will_in_connect(&mut c, at(2.0)), None);
}

#[test]
fn a_qos2_will_is_downgraded_to_qos1() {
    let mut c = Client::new(options());
    c.set_will(Some(LastWill {
        qos: QoS::ExactlyOnce,
        ..offline_will()
    }))
    .unwrap();
    assert_eq!(
        c.options().will.as_ref().map(|w| w.qos),
        Some(QoS::AtLeastOnce)
    );
    assert_eq!(will_in_connect(&mut c, T0).unwrap().qos, QoS::AtLeastOnce);
}

#[test]
fn an_invalid_will_is_refused_and_the_old_one_kept() {
    let mut c = Client::new(options());
    c.set_will(Some(offline_will())).unwrap();
    let long = "t".repeat(65_536);
    for topic in ["", "chat/presence/+", "chat/#", long.as_str()] {
        assert_eq!(
            c.set_will(Some(LastWill {
                topic: topic.into(),
                ..offline_will()
            })),
            Err(PublishError::InvalidTopic(topic.into()))
        );
    }
    assert_eq!(
        c.set_will(Some(LastWill {
            payload: vec![b'x'; 65_536].into(),
            ..offline_will()
        })),
        Err(PublishError::TooLarge {
            size: 65_536,
            limit: 65_535
        })
    );
    // The limits themselves are fine.
    let edge = LastWill {
        topic: "t".repeat(65_535),
        payload: vec![b'x'; 65_535].into(),
        ..offline_will()
    };
    assert_eq!(c.set_will(Some(edge.clone())), Ok(()));
    let will = will_in_connect(&mut c, T0).unwrap();
    assert_eq!(will.topic, edge.topic);
    assert_eq!(will.message, edge.payload);
}

#[test]
fn an_invalid_will_set_in_options_is_left_out_with_a_warning() {
    let mut c = Client::new(Options {
        will: Some(LastWill {
            topic: "chat/#".into(),
            ..offline_will()
        }),
        ..options()
    });
    assert_eq!(will_in_connect(&mut c, T0), None);
    assert!(matches!(
        events(&mut c).as_slice(),
        [Event::Warning(ProtocolError::Malformed(words))] if words.contains("will")
    ));
}

// ----- retained publishes -----------------------------------------------------------------

#[test]
fn publish_retained_is_retained_on_the_first_send_and_on_a_resend() {
    let mut c = connected_client();
    let pkid = c
        .publish_retained(at(1.0), "chat/presence/tab-1", "online", QoS::AtLeastOnce)
        .unwrap()
        .expect("QoS 1 has a packet id");
    let p = only_publish(sent(&mut c));
    assert_eq!(p.pkid, pkid);
    assert!(p.retain);
    assert!(!p.dup);
    assert_eq!(&p.payload[..], b"online");

    c.handle_close("gone");
    let p = only_publish(reconnect(&mut c, at(2.0), true));
    assert_eq!(p.pkid, pkid);
    assert!(p.retain, "still retained when sent again");
    assert!(p.dup);
}

#[test]
fn publish_retained_accepts_an_empty_payload_which_clears_the_retained_message() {
    let mut c = connected_client();
    c.publish_retained(at(1.0), "chat/presence/old", "", QoS::AtLeastOnce)
        .unwrap();
    let p = only_publish(sent(&mut c));
    assert!(p.retain);
    assert!(p.payload.is_empty());

    assert_eq!(
        c.publish_retained(at(1.0), "chat/presence/old", "", QoS::AtMostOnce),
        Ok(None)
    );
    let p = only_publish(sent(&mut c));
    assert!(p.retain);
    assert_eq!(p.qos, QoS::AtMostOnce);
    assert!(p.payload.is_empty());
}

#[test]
fn publish_retained_is_checked_like_publish() {
    let mut c = connected_client();
    assert_eq!(
        c.publish_retained(at(1.0), "chat/+", "x", QoS::AtLeastOnce),
        Err(PublishError::InvalidTopic("chat/+".into()))
    );
    assert!(sent(&mut c).is_empty());
}

#[test]
fn a_plain_publish_is_not_retained() {
    let mut c = connected_client();
    c.publish(at(1.0), "messages", "hi", QoS::AtLeastOnce)
        .unwrap();
    c.publish(at(1.0), "messages", "hi", QoS::AtMostOnce)
        .unwrap();
    let packets = sent(&mut c);
    assert_eq!(packets.len(), 2);
    for packet in packets {
        assert!(matches!(packet, Packet::Publish(p) if !p.retain));
    }
}

/// A publish the caller gives up on after a dead link is not sent again on the next one;
/// one on the wire of the live connection is not abandoned (its PUBACK may still come).
#[test]
fn an_abandoned_publish_is_not_sent_again() {
    let mut c = connected_client();
    let probe = c
        .publish(T0, "probe", "x", QoS::AtLeastOnce)
        .unwrap()
        .unwrap();
    let keep = c
        .publish(T0, "messages", "kept", QoS::AtLeastOnce)
        .unwrap()
        .unwrap();
    assert!(!c.abandon(probe), "on the wire of the live connection");
    let _ = sent(&mut c);
    c.handle_close("gone");
    assert!(c.abandon(probe));
    assert!(!c.abandon(probe), "only once");
    let t = T0 + Duration::from_secs(1);
    let resent: Vec<u16> = reconnect(&mut c, t, true)
        .into_iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some(p.pkid),
            _ => None,
        })
        .collect();
    assert_eq!(resent, vec![keep]);
    assert_eq!(c.unacknowledged(), 1);
}
