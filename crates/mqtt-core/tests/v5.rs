//! What MQTT 5 adds, on the virtual clock: CONNECT properties, message expiry, reason codes
//! and reason strings in words, the broker's limits from CONNACK, server DISCONNECT,
//! subscription identifiers (which subscriptions a message came through), and the gaps of
//! mqttbytes 0.6 (short DISCONNECT, AUTH).

mod common;

use std::time::Duration;

use bytes::BytesMut;
use common::*;
use mqtt_core::topic::subscription_id;
use mqtt_core::{
    Action, Client, ConnectRefusal, Credentials, DisconnectReason, Event, IncomingMessage,
    LastWill, LinkError, LinkState, Options, Protocol, ProtocolError, PublishError, PublishOptions,
    QoS, Reconnect, ServerLimits,
};
use mqttbytes::v5;

const V5: Protocol = Protocol::v5();

fn read_v5(bytes: &[u8]) -> v5::Packet {
    let mut buf = BytesMut::from(bytes);
    let packet = v5::read(&mut buf, 1 << 20).expect("valid v5 packet");
    assert!(buf.is_empty());
    packet
}

fn only_connect(c: &mut Client) -> v5::Connect {
    c.handle_open(T0);
    match sent_raw(c).as_slice() {
        [bytes] => {
            assert_eq!(bytes[8], 5, "protocol level 5");
            match read_v5(bytes) {
                v5::Packet::Connect(connect) => connect,
                other => panic!("expected CONNECT, got {other:?}"),
            }
        }
        other => panic!("expected one packet, got {other:?}"),
    }
}

fn only_publish(bytes: Vec<bytes::Bytes>) -> v5::Publish {
    match bytes.as_slice() {
        [b] => match read_v5(b) {
            v5::Packet::Publish(p) => p,
            other => panic!("expected PUBLISH, got {other:?}"),
        },
        other => panic!("expected one packet, got {other:?}"),
    }
}

/// Connected under v5 with a CONNACK carrying the given properties.
fn connected_v5(edit: impl FnOnce(&mut v5::ConnAckProperties)) -> Client {
    connected_with(
        options(V5),
        &connack_v5(v5::ConnectReturnCode::Success, edit),
    )
}

// ----- CONNECT ---------------------------------------------------------------------------

#[test]
fn connect_carries_session_expiry_will_delay_and_our_maximum_packet_size() {
    let mut c = Client::new(Options {
        clean_session: false,
        session_expiry: Duration::from_secs(7 * 24 * 3600),
        max_incoming_packet: 64 * 1024,
        will: Some(LastWill {
            topic: "chat/presence/tab-1".into(),
            payload: "offline".into(),
            qos: QoS::AtLeastOnce,
            retain: true,
            delay: Duration::from_millis(4_500),
        }),
        ..options(V5)
    });
    let connect = only_connect(&mut c);
    let props = connect.properties.expect("CONNECT properties");
    assert_eq!(props.session_expiry_interval, Some(7 * 24 * 3600));
    assert_eq!(props.max_packet_size, Some(64 * 1024));
    assert_eq!(props.topic_alias_max, None, "never advertised");
    assert_eq!(props.receive_maximum, None);
    let will = connect.last_will.expect("will");
    assert_eq!(
        will.properties.and_then(|p| p.delay_interval),
        Some(5),
        "rounded up to whole seconds"
    );
    assert!(!connect.clean_session);
}

#[test]
fn connect_leaves_out_zero_session_expiry_and_will_delay_and_saturates_the_packet_size() {
    let mut c = Client::new(Options {
        max_incoming_packet: usize::MAX,
        will: Some(LastWill {
            topic: "w".into(),
            payload: "x".into(),
            ..LastWill::default()
        }),
        ..options(V5)
    });
    let connect = only_connect(&mut c);
    let props = connect.properties.expect("CONNECT properties");
    assert_eq!(props.session_expiry_interval, None);
    assert_eq!(props.max_packet_size, Some(u32::MAX));
    assert_eq!(connect.last_will.unwrap().properties, None);
}

#[test]
fn a_user_name_without_password_is_sent_alone() {
    let mut c = Client::new(Options {
        credentials: Some(Credentials {
            username: "ann".into(),
            password: String::new(),
        }),
        ..options(V5)
    });
    c.handle_open(T0);
    let raw = sent_raw(&mut c);
    let flags = raw[0][9];
    assert_eq!(flags & 0xC0, 0x80, "user name flag only: {flags:#04x}");
    match read_v5(&raw[0]) {
        v5::Packet::Connect(connect) => {
            let login = connect.login.unwrap();
            assert_eq!(
                (login.username.as_str(), login.password.as_str()),
                ("ann", "")
            );
        }
        other => panic!("{other:?}"),
    }
}

// ----- PUBLISH ---------------------------------------------------------------------------

#[test]
fn message_expiry_goes_out_as_a_property_rounded_up_and_resends_keep_it() {
    let mut c = connected(V5);
    let opts = |ms| PublishOptions {
        message_expiry: Some(Duration::from_millis(ms)),
        ..PublishOptions::default()
    };
    c.publish_with_options(at(1.0), "messages", "a", QoS::AtMostOnce, opts(1_500))
        .unwrap();
    let p = only_publish(sent_raw(&mut c));
    assert_eq!(
        p.properties.and_then(|p| p.message_expiry_interval),
        Some(2)
    );
    let id = c
        .publish_with_options(at(1.0), "messages", "b", QoS::AtLeastOnce, opts(0))
        .unwrap()
        .unwrap();
    let p = only_publish(sent_raw(&mut c));
    assert_eq!(
        p.properties.and_then(|p| p.message_expiry_interval),
        Some(1),
        "at least one second"
    );
    c.handle_close("gone");
    c.handle_open(at(2.0));
    let _ = sent_raw(&mut c);
    c.handle_bytes(at(2.0), &connack(V5, true));
    let p = only_publish(sent_raw(&mut c));
    assert_eq!(p.pkid, id);
    assert!(p.dup);
    assert_eq!(
        p.properties.and_then(|p| p.message_expiry_interval),
        Some(1)
    );
}

#[test]
fn message_expiry_content_type_and_user_properties_are_left_out_under_3_1_1() {
    let mut c = connected(Protocol::V311);
    let opts = PublishOptions {
        retain: true,
        message_expiry: Some(Duration::from_secs(60)),
        content_type: Some("text/plain".into()),
        user_properties: vec![("trace".into(), "7".into())],
    };
    c.publish_with_options(at(1.0), "messages", "a", QoS::AtMostOnce, opts)
        .unwrap();
    let raw = sent_raw(&mut c);
    assert_eq!(
        &raw[0][..],
        [0x31, 0x0B, 0x00, 0x08, b'm', b'e', b's', b's', b'a', b'g', b'e', b's', b'a']
    );
    // Not sent, so not checked either: what MQTT 5 would refuse goes out without it, and
    // a QoS 1 resend after a reconnect is the plain publish too.
    let invalid = PublishOptions {
        content_type: Some("nul\0".into()),
        user_properties: vec![("k".into(), "x".repeat(70_000))],
        ..PublishOptions::default()
    };
    let id = c
        .publish_with_options(at(1.0), "messages", "b", QoS::AtLeastOnce, invalid)
        .unwrap()
        .unwrap();
    let plain = |dup| Sent::Publish {
        topic: "messages".into(),
        payload: "b".into(),
        qos: QoS::AtLeastOnce,
        retain: false,
        dup,
        pkid: id,
    };
    let raw = sent_raw(&mut c);
    assert_eq!(raw[0].len(), 2 + 2 + 8 + 2 + 1);
    assert_eq!(decode(Protocol::V311, &raw[0]), plain(false));
    c.handle_close("gone");
    c.handle_open(at(2.0));
    let _ = sent_raw(&mut c);
    c.handle_bytes(at(2.0), &connack(Protocol::V311, true));
    assert_eq!(sent(&mut c), vec![plain(true)]);
}

/// Properties as mqttbytes reads them, with only these set.
fn publish_properties(
    expiry: Option<u32>,
    content_type: Option<&str>,
    user: &[(&str, &str)],
) -> v5::PublishProperties {
    v5::PublishProperties {
        payload_format_indicator: None,
        message_expiry_interval: expiry,
        topic_alias: None,
        response_topic: None,
        correlation_data: None,
        user_properties: user
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        subscription_identifiers: Vec::new(),
        content_type: content_type.map(str::to_owned),
    }
}

fn with_properties(content_type: Option<&str>, user: &[(&str, &str)]) -> PublishOptions {
    PublishOptions {
        content_type: content_type.map(str::to_owned),
        user_properties: user
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..PublishOptions::default()
    }
}

#[test]
fn content_type_and_user_properties_round_trip_through_the_v5_codec() {
    // In order, a name more than once, empty strings, any script, control characters
    // (which MQTT only advises against).
    let user: &[(&str, &str)] = &[
        ("trace", "1"),
        ("trace", "2"),
        ("", ""),
        ("ключ", "värde ☃ 🦀"),
        ("tab\there", "\u{1}\u{7f}"),
    ];
    let cases: Vec<(PublishOptions, v5::PublishProperties)> = vec![
        (
            with_properties(Some("application/json; charset=utf-8"), &[]),
            publish_properties(None, Some("application/json; charset=utf-8"), &[]),
        ),
        (
            with_properties(Some(""), &[]),
            publish_properties(None, Some(""), &[]),
        ),
        (
            with_properties(None, user),
            publish_properties(None, None, user),
        ),
        (
            PublishOptions {
                retain: true,
                message_expiry: Some(Duration::from_secs(60)),
                ..with_properties(Some("text/plain"), user)
            },
            publish_properties(Some(60), Some("text/plain"), user),
        ),
        (
            // At the limits of an MQTT string.
            PublishOptions {
                content_type: Some("c".repeat(65_535)),
                user_properties: vec![("k".repeat(65_535), "v".repeat(65_535))],
                ..PublishOptions::default()
            },
            v5::PublishProperties {
                content_type: Some("c".repeat(65_535)),
                user_properties: vec![("k".repeat(65_535), "v".repeat(65_535))],
                ..publish_properties(None, None, &[])
            },
        ),
    ];
    for (opts, expected) in cases {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
            let mut c = connected(V5);
            let retain = opts.retain;
            let id = c
                .publish_with_options(at(1.0), "messages", "hello", qos, opts.clone())
                .unwrap();
            let p = only_publish(sent_raw(&mut c));
            assert_eq!(
                (p.topic.as_str(), &p.payload[..]),
                ("messages", &b"hello"[..])
            );
            assert_eq!((p.qos, p.retain, p.pkid), (qos, retain, id.unwrap_or(0)));
            assert_eq!(p.properties.as_ref(), Some(&expected), "{qos:?}");
        }
    }
    // None of them: no properties, the property length 0 alone.
    let mut c = connected(V5);
    c.publish_with_options(
        at(1.0),
        "messages",
        "a",
        QoS::AtMostOnce,
        PublishOptions::default(),
    )
    .unwrap();
    let raw = sent_raw(&mut c);
    assert_eq!(
        raw[0][..],
        [0x30, 0x0C, 0, 8, b'm', b'e', b's', b's', b'a', b'g', b'e', b's', 0, b'a']
    );
}

#[test]
fn resends_after_a_reconnect_carry_the_content_type_and_user_properties() {
    let user: &[(&str, &str)] = &[("trace", "abc"), ("trace", "def")];
    let expected = publish_properties(Some(30), Some("application/cbor"), user);
    let opts = PublishOptions {
        message_expiry: Some(Duration::from_secs(30)),
        ..with_properties(Some("application/cbor"), user)
    };
    // Queued while offline, sent on connecting, then again after the link drops.
    let mut c = Client::new(options(V5));
    let queued = c
        .publish_with_options(T0, "messages", "q", QoS::AtLeastOnce, opts.clone())
        .unwrap()
        .unwrap();
    c.handle_open(T0);
    let _ = sent_raw(&mut c);
    c.handle_bytes(at(0.1), &connack(V5, false));
    let first = only_publish(sent_raw(&mut c));
    assert_eq!((first.pkid, first.dup), (queued, false));
    assert_eq!(first.properties.as_ref(), Some(&expected));
    let live = c
        .publish_with_options(at(0.5), "messages", "l", QoS::AtLeastOnce, opts)
        .unwrap()
        .unwrap();
    let p = only_publish(sent_raw(&mut c));
    assert_eq!(p.properties.as_ref(), Some(&expected));
    c.handle_close("gone");
    c.handle_open(at(2.0));
    let _ = sent_raw(&mut c);
    c.handle_bytes(at(2.0), &connack(V5, true));
    let resent: Vec<v5::Publish> = sent_raw(&mut c)
        .into_iter()
        .map(|b| match read_v5(&b) {
            v5::Packet::Publish(p) => p,
            other => panic!("expected PUBLISH, got {other:?}"),
        })
        .collect();
    assert_eq!(resent.len(), 2);
    for (p, (id, payload)) in resent.iter().zip([(queued, "q"), (live, "l")]) {
        assert_eq!(
            (p.pkid, p.dup, &p.payload[..]),
            (id, true, payload.as_bytes())
        );
        assert_eq!(p.properties.as_ref(), Some(&expected));
    }
}

#[test]
fn invalid_content_types_and_user_properties_are_refused_before_anything_is_sent() {
    use mqtt_core::MqttStringError::{NullCharacter, TooLong};
    let long = "x".repeat(65_536);
    let cases = [
        (
            with_properties(Some("text/\0plain"), &[]),
            PublishError::InvalidContentType(NullCharacter),
            "invalid content type: it holds a null character (U+0000), which MQTT does not allow",
        ),
        (
            with_properties(Some(&long), &[("a", "b")]),
            PublishError::InvalidContentType(TooLong(65_536)),
            "invalid content type: it is 65536 bytes long, over the 65535 an MQTT string can hold",
        ),
        (
            with_properties(Some("text/plain"), &[("a", "b"), ("k\0", "v")]),
            PublishError::InvalidUserPropertyKey {
                index: 1,
                problem: NullCharacter,
            },
            "invalid user property 2: its key holds a null character (U+0000), \
             which MQTT does not allow",
        ),
        (
            with_properties(None, &[(&long, "v")]),
            PublishError::InvalidUserPropertyKey {
                index: 0,
                problem: TooLong(65_536),
            },
            "invalid user property 1: its key is 65536 bytes long, \
             over the 65535 an MQTT string can hold",
        ),
        (
            with_properties(None, &[("a", "b"), ("c", "d"), ("k", "\0")]),
            PublishError::InvalidUserPropertyValue {
                index: 2,
                problem: NullCharacter,
            },
            "invalid user property 3: its value holds a null character (U+0000), \
             which MQTT does not allow",
        ),
        (
            with_properties(None, &[("k", &long)]),
            PublishError::InvalidUserPropertyValue {
                index: 0,
                problem: TooLong(65_536),
            },
            "invalid user property 1: its value is 65536 bytes long, \
             over the 65535 an MQTT string can hold",
        ),
    ];
    for (opts, error, words) in cases {
        assert_eq!(error.to_string(), words);
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
            // Connected, and offline (where a QoS 1 publish would be queued).
            let mut online = connected(V5);
            let mut offline = Client::new(options(V5));
            for c in [&mut online, &mut offline] {
                assert_eq!(
                    c.publish_with_options(at(1.0), "messages", "m", qos, opts.clone()),
                    Err(error.clone()),
                    "{qos:?}"
                );
                assert!(sent_raw(c).is_empty(), "no bytes written");
                assert!(events(c).is_empty());
                assert_eq!(c.unacknowledged(), 0, "nothing queued");
            }
            // No packet id was used up: the next publish gets the one after SUBSCRIBE's.
            assert_eq!(
                online.publish(at(1.0), "messages", "ok", QoS::AtLeastOnce),
                Ok(Some(2))
            );
        }
    }
    // An invalid topic is still the first thing said.
    let mut c = connected(V5);
    assert_eq!(
        c.publish_with_options(
            at(1.0),
            "a/#",
            "m",
            QoS::AtMostOnce,
            with_properties(Some("\0"), &[])
        ),
        Err(PublishError::InvalidTopic("a/#".into()))
    );
}

#[test]
fn the_size_checked_is_the_size_sent_with_content_type_and_user_properties() {
    let content_types = [None, Some(0), Some(1), Some(120), Some(16_400)];
    let users: [&[(usize, usize)]; 4] = [&[], &[(0, 0)], &[(3, 4), (3, 118)], &[(10, 16_370)]];
    let mut checked = 0;
    for content_type in content_types {
        for user in users {
            for expiry in [None, Some(Duration::from_secs(9))] {
                for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
                    for payload in [0, 100, 16_300] {
                        let opts = PublishOptions {
                            message_expiry: expiry,
                            content_type: content_type.map(|n| "c".repeat(n)),
                            user_properties: user
                                .iter()
                                .map(|&(k, v)| ("k".repeat(k), "v".repeat(v)))
                                .collect(),
                            ..PublishOptions::default()
                        };
                        let payload = "x".repeat(payload);
                        // The size counted, from the refusal of a client that takes 1 byte.
                        let mut tiny = connected_with(
                            Options {
                                max_outgoing_packet: 1,
                                ..options(V5)
                            },
                            &connack(V5, false),
                        );
                        let counted = match tiny.publish_with_options(
                            at(1.0),
                            "messages",
                            payload.clone(),
                            qos,
                            opts.clone(),
                        ) {
                            Err(PublishError::TooLarge { size, limit: 1 }) => size,
                            other => panic!("{other:?}"),
                        };
                        let mut c = connected(V5);
                        c.publish_with_options(at(1.0), "messages", payload, qos, opts)
                            .unwrap();
                        let raw = sent_raw(&mut c);
                        assert_eq!(raw.len(), 1);
                        assert_eq!(
                            counted,
                            raw[0].len(),
                            "{content_type:?} {user:?} {expiry:?} {qos:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 5 * 4 * 2 * 2 * 3);
}

// ----- CONNACK -----------------------------------------------------------------------------

#[test]
fn connack_refusals_are_in_words_the_same_as_3_1_1_with_the_reason_string() {
    use v5::ConnectReturnCode as C;
    let cases = [
        (
            C::BadUserNamePassword,
            ConnectRefusal::BadUserNameOrPassword,
            "bad user name or password",
        ),
        (
            C::NotAuthorized,
            ConnectRefusal::NotAuthorized,
            "not authorized",
        ),
        (
            C::UnsupportedProtocolVersion,
            ConnectRefusal::UnacceptableProtocolVersion,
            "unacceptable protocol version",
        ),
        (
            C::ClientIdentifierNotValid,
            ConnectRefusal::IdentifierRejected,
            "identifier rejected",
        ),
        (
            C::ServerUnavailable,
            ConnectRefusal::ServerUnavailable,
            "server unavailable",
        ),
        (
            C::UnspecifiedError,
            ConnectRefusal::UnspecifiedError,
            "unspecified error",
        ),
        (
            C::MalformedPacket,
            ConnectRefusal::MalformedPacket,
            "malformed packet",
        ),
        (
            C::ProtocolError,
            ConnectRefusal::ProtocolError,
            "protocol error",
        ),
        (
            C::ImplementationSpecificError,
            ConnectRefusal::ImplementationSpecificError,
            "implementation specific error",
        ),
        (C::ServerBusy, ConnectRefusal::ServerBusy, "server busy"),
        (C::Banned, ConnectRefusal::Banned, "banned"),
        (
            C::BadAuthenticationMethod,
            ConnectRefusal::BadAuthenticationMethod,
            "bad authentication method",
        ),
        (
            C::TopicNameInvalid,
            ConnectRefusal::TopicNameInvalid,
            "topic name invalid",
        ),
        (
            C::PacketTooLarge,
            ConnectRefusal::PacketTooLarge,
            "packet too large",
        ),
        (
            C::QuotaExceeded,
            ConnectRefusal::QuotaExceeded,
            "quota exceeded",
        ),
        (
            C::PayloadFormatInvalid,
            ConnectRefusal::PayloadFormatInvalid,
            "payload format invalid",
        ),
        (
            C::RetainNotSupported,
            ConnectRefusal::RetainNotSupported,
            "retain not supported",
        ),
        (
            C::QoSNotSupported,
            ConnectRefusal::QosNotSupported,
            "QoS not supported",
        ),
        (
            C::UseAnotherServer,
            ConnectRefusal::UseAnotherServer,
            "use another server",
        ),
        (C::ServerMoved, ConnectRefusal::ServerMoved, "server moved"),
        (
            C::ConnectionRateExceeded,
            ConnectRefusal::ConnectionRateExceeded,
            "connection rate exceeded",
        ),
    ];
    for (code, refusal, words) in cases {
        assert_eq!(ConnectRefusal::from_v5_reason(code as u8), Some(refusal));
        for reason_string in [None, Some("ask the admin")] {
            let mut c = Client::new(options(V5));
            c.handle_open(T0);
            let _ = sent_raw(&mut c);
            c.handle_bytes(
                at(0.1),
                &connack_v5(code, |p| p.reason_string = reason_string.map(Into::into)),
            );
            let reason = DisconnectReason::Refused {
                refusal,
                reason_string: reason_string.map(Into::into),
            };
            assert_eq!(events(&mut c), vec![Event::Disconnected(reason.clone())]);
            let expected = match reason_string {
                Some(s) => format!("refused: {words}: {s}"),
                None => format!("refused: {words}"),
            };
            assert_eq!(reason.to_string(), expected);
            assert_eq!(refusal.to_string(), words);
            assert!(!c.is_connected());
            assert_eq!(c.poll_timeout(), None);
        }
    }
    assert_eq!(ConnectRefusal::from_v5_reason(0x00), None);
    assert_eq!(
        ConnectRefusal::from_v5_reason(0xA0),
        Some(ConnectRefusal::Other(0xA0))
    );
    assert_eq!(ConnectRefusal::Other(0xA0).to_string(), "reason code 0xA0");
}

#[test]
fn a_connack_without_its_property_length_is_still_read() {
    let mut c = Client::new(options(V5));
    c.handle_open(T0);
    c.handle_bytes(at(0.1), &[0x20, 0x02, 0x01, 0x00]);
    assert_eq!(
        events(&mut c),
        vec![Event::Connected {
            session_present: true
        }]
    );
    c.handle_open(at(1.0));
    c.handle_bytes(at(1.1), &[0x20, 0x02, 0x00, 0x87]);
    assert_eq!(
        events(&mut c),
        vec![Event::Disconnected(DisconnectReason::Refused {
            refusal: ConnectRefusal::NotAuthorized,
            reason_string: None
        })]
    );
}

/// A broker that speaks only 3.1.1 (Aedes) answers our v5 CONNECT with a 3.1.1 CONNACK:
/// code 1, "unacceptable protocol version". That is a refusal to show, not a malformed
/// packet to reconnect after.
#[test]
fn a_311_refusal_of_a_v5_connect_is_read_as_that_refusal() {
    for (code, refusal) in [
        (1, ConnectRefusal::UnacceptableProtocolVersion),
        (2, ConnectRefusal::IdentifierRejected),
        (3, ConnectRefusal::ServerUnavailable),
        (4, ConnectRefusal::BadUserNameOrPassword),
        (5, ConnectRefusal::NotAuthorized),
    ] {
        let mut c = Client::new(options(V5));
        c.handle_open(T0);
        c.handle_bytes(at(0.1), &[0x20, 0x02, 0x00, code]);
        assert_eq!(
            events(&mut c),
            vec![Event::Disconnected(DisconnectReason::Refused {
                refusal,
                reason_string: None
            })],
            "code {code}"
        );
    }
}

#[test]
fn connack_properties_are_kept_as_server_limits() {
    let c = connected(V5);
    assert_eq!(c.server_limits(), &ServerLimits::default());
    assert_eq!(
        ServerLimits::default(),
        ServerLimits {
            max_packet_size: None,
            receive_max: 65535,
            retain_available: true,
            wildcard_available: true,
            server_keep_alive: None,
            subscription_ids_available: true,
        }
    );
    let c = connected_v5(|p| {
        p.max_packet_size = Some(1000);
        p.receive_max = Some(5);
        p.retain_available = Some(0);
        p.wildcard_subscription_available = Some(0);
        p.server_keep_alive = Some(20);
        p.subscription_identifiers_available = Some(0);
    });
    assert_eq!(
        c.server_limits(),
        &ServerLimits {
            max_packet_size: Some(1000),
            receive_max: 5,
            retain_available: false,
            wildcard_available: false,
            server_keep_alive: Some(20),
            subscription_ids_available: false,
        }
    );
}

#[test]
fn a_receive_maximum_or_packet_size_of_zero_is_a_protocol_error() {
    for edit in [
        (|p: &mut v5::ConnAckProperties| p.receive_max = Some(0)) as fn(&mut _),
        |p| p.max_packet_size = Some(0),
    ] {
        let mut c = Client::new(options(V5));
        c.handle_open(T0);
        c.handle_bytes(at(0.1), &connack_v5(v5::ConnectReturnCode::Success, edit));
        assert!(matches!(
            events(&mut c).as_slice(),
            [Event::Disconnected(DisconnectReason::Protocol(
                ProtocolError::Malformed(_)
            ))]
        ));
    }
}

#[test]
fn publishes_over_the_brokers_maximum_packet_size_are_refused_counting_properties() {
    let mut c = connected_v5(|p| p.max_packet_size = Some(100));
    let expiry = PublishOptions {
        message_expiry: Some(Duration::from_secs(60)),
        ..PublishOptions::default()
    };
    // "messages" (2 + 8), packet id 2, properties 1 + 5, fixed header 2: 80 bytes of payload
    // make exactly 100.
    let fits = "x".repeat(80);
    let id = c
        .publish_with_options(
            at(1.0),
            "messages",
            fits.clone(),
            QoS::AtLeastOnce,
            expiry.clone(),
        )
        .unwrap()
        .unwrap();
    let raw = sent_raw(&mut c);
    assert_eq!(raw[0].len(), 100, "the size counted is the size sent");
    c.handle_bytes(at(1.0), &puback(V5, id));
    let over = "x".repeat(81);
    assert_eq!(
        c.publish_with_options(
            at(1.0),
            "messages",
            over.clone(),
            QoS::AtLeastOnce,
            expiry.clone()
        ),
        Err(PublishError::TooLarge {
            size: 101,
            limit: 100
        })
    );
    // Without the expiry property the same payload fits.
    let id = c
        .publish(at(1.0), "messages", over.clone(), QoS::AtLeastOnce)
        .unwrap()
        .unwrap();
    let _ = sent_raw(&mut c);
    c.handle_bytes(at(1.0), &puback(V5, id));
    // Content type "json" (1 + 2 + 4) and a user property "k" = "v" (1 + 2 + 1 + 2 + 1)
    // take the place of 14 bytes of payload: 66 fit exactly, 67 do not.
    let props = PublishOptions {
        content_type: Some("json".into()),
        user_properties: vec![("k".into(), "v".into())],
        ..expiry.clone()
    };
    c.publish_with_options(
        at(1.0),
        "messages",
        "x".repeat(66),
        QoS::AtLeastOnce,
        props.clone(),
    )
    .unwrap();
    let raw = sent_raw(&mut c);
    assert_eq!(raw[0].len(), 100, "the size counted is the size sent");
    assert_eq!(
        c.publish_with_options(at(1.0), "messages", "x".repeat(67), QoS::AtLeastOnce, props),
        Err(PublishError::TooLarge {
            size: 101,
            limit: 100
        })
    );
}

#[test]
fn queued_publishes_now_too_large_for_the_broker_are_dropped_with_publish_refused() {
    let mut c = Client::new(options(V5));
    let small = c
        .publish(T0, "messages", "small", QoS::AtLeastOnce)
        .unwrap()
        .unwrap();
    let big = c
        .publish(T0, "messages", "x".repeat(500), QoS::AtLeastOnce)
        .unwrap()
        .unwrap();
    c.handle_open(T0);
    let _ = sent_raw(&mut c);
    c.handle_bytes(
        at(0.1),
        &connack_v5(v5::ConnectReturnCode::Success, |p| {
            p.max_packet_size = Some(200)
        }),
    );
    let ev = events(&mut c);
    assert_eq!(
        ev,
        vec![
            Event::Connected {
                session_present: false
            },
            Event::PublishRefused {
                pkid: big,
                code: None,
                reason: "message too large: 516 bytes, the limit is 200".into()
            },
            Event::Sent { pkid: small },
        ]
    );
    assert_eq!(c.unacknowledged(), 1);
}

#[test]
fn no_more_qos1_publishes_on_the_wire_than_the_brokers_receive_maximum() {
    let mut c = connected_v5(|p| p.receive_max = Some(2));
    let ids: Vec<u16> = (0..5)
        .map(|i| {
            c.publish(at(1.0), "messages", format!("m{i}"), QoS::AtLeastOnce)
                .unwrap()
                .unwrap()
        })
        .collect();
    let pkids = |c: &mut Client| -> Vec<u16> {
        sent(c)
            .into_iter()
            .map(|s| match s {
                Sent::Publish { pkid, .. } => pkid,
                other => panic!("{other:?}"),
            })
            .collect()
    };
    assert_eq!(pkids(&mut c), ids[..2]);
    // QoS 0 does not count.
    c.publish(at(1.0), "messages", "q0", QoS::AtMostOnce)
        .unwrap();
    assert_eq!(sent(&mut c).len(), 1);
    c.handle_bytes(at(1.1), &puback(V5, ids[1]));
    assert_eq!(pkids(&mut c), ids[2..3]);
    c.handle_bytes(at(1.2), &puback(V5, ids[0]));
    assert_eq!(pkids(&mut c), ids[3..4]);
    // After a reconnect the window starts over, in the same order.
    c.handle_close("gone");
    c.handle_open(at(2.0));
    let _ = sent(&mut c);
    c.handle_bytes(
        at(2.0),
        &connack_v5(v5::ConnectReturnCode::Success, |p| p.receive_max = Some(2)),
    );
    let out: Vec<u16> = sent(&mut c)
        .into_iter()
        .filter_map(|s| match s {
            Sent::Publish { pkid, .. } => Some(pkid),
            _ => None,
        })
        .collect();
    assert_eq!(out, [ids[2], ids[3]]);
    c.handle_bytes(at(2.1), &puback(V5, ids[2]));
    assert_eq!(pkids(&mut c), ids[4..5]);
}

#[test]
fn without_retain_available_messages_go_out_unretained_with_one_warning() {
    let mut c = connected_v5(|p| p.retain_available = Some(0));
    c.publish_retained(at(1.0), "presence/tab-1", "online", QoS::AtLeastOnce)
        .unwrap();
    c.publish_retained(at(1.0), "presence/tab-1", "online", QoS::AtMostOnce)
        .unwrap();
    let out = sent(&mut c);
    assert_eq!(out.len(), 2);
    assert!(out
        .iter()
        .all(|s| matches!(s, Sent::Publish { retain: false, .. })));
    let warnings: Vec<Event> = events(&mut c)
        .into_iter()
        .filter(|e| matches!(e, Event::Warning(_)))
        .collect();
    assert_eq!(
        warnings,
        vec![Event::Warning(ProtocolError::RetainUnavailable)]
    );
    assert!(ProtocolError::RetainUnavailable
        .to_string()
        .contains("does not keep retained messages"));
    // A broker that keeps them gets the flag again on the resend.
    c.handle_close("gone");
    c.handle_open(at(2.0));
    let _ = sent(&mut c);
    c.handle_bytes(at(2.0), &connack(V5, true));
    assert!(matches!(
        sent(&mut c).as_slice(),
        [Sent::Publish {
            retain: true,
            dup: true,
            ..
        }]
    ));
}

#[test]
fn without_wildcards_a_wildcard_filter_is_not_sent_but_refused_in_words() {
    let mut c = Client::new(options(V5));
    c.subscribe(T0, "rooms/+/messages", QoS::AtLeastOnce)
        .unwrap();
    c.subscribe(T0, "messages", QoS::AtLeastOnce).unwrap();
    c.handle_open(T0);
    let _ = sent(&mut c);
    c.handle_bytes(
        at(0.1),
        &connack_v5(v5::ConnectReturnCode::Success, |p| {
            p.wildcard_subscription_available = Some(0)
        }),
    );
    assert_eq!(
        events(&mut c),
        vec![
            Event::Connected {
                session_present: false
            },
            Event::SubscribeRefused {
                filter: "rooms/+/messages".into(),
                reason: Some("the broker does not allow wildcard subscriptions (+ or #)".into()),
            }
        ]
    );
    assert_eq!(
        sent(&mut c),
        vec![Sent::Subscribe {
            pkid: 1,
            filters: vec![("messages".into(), QoS::AtLeastOnce)]
        }]
    );
    c.subscribe(at(1.0), "all/#", QoS::AtMostOnce).unwrap();
    assert!(sent(&mut c).is_empty());
    assert!(matches!(
        events(&mut c).as_slice(),
        [Event::SubscribeRefused { filter, reason: Some(_) }] if filter == "all/#"
    ));
}

#[test]
fn the_brokers_keep_alive_replaces_ours_for_pings() {
    let mut c = connected_v5(|p| p.server_keep_alive = Some(10));
    assert_eq!(c.ping_interval(), Duration::from_secs(5));
    assert_eq!(c.poll_timeout(), Some(at(5.0)));
    c.handle_timeout(at(4.9));
    assert!(sent(&mut c).is_empty());
    c.handle_timeout(at(5.0));
    assert_eq!(sent(&mut c), vec![Sent::PingReq]);
    // Zero: no keep-alive at all.
    let c = connected_v5(|p| p.server_keep_alive = Some(0));
    assert_eq!(c.poll_timeout(), None);
}

// ----- server DISCONNECT, AUTH -----------------------------------------------------------

fn server_disconnect(code: v5::DisconnectReasonCode, reason: Option<&str>) -> Vec<u8> {
    let mut d = v5::Disconnect::new();
    d.reason_code = code;
    if let Some(reason) = reason {
        let mut p = v5::DisconnectProperties::new();
        p.reason_string = Some(reason.into());
        d.properties = Some(p);
    }
    encode(|b| d.write(b))
}

#[test]
fn a_server_disconnect_ends_the_link_with_its_reason_in_words() {
    use v5::DisconnectReasonCode as D;
    let cases = [
        (D::SessionTakenOver, None, "session taken over"),
        (
            D::ServerShuttingDown,
            Some("maintenance"),
            "server shutting down: maintenance",
        ),
        (D::KeepAliveTimeout, None, "keep alive timeout"),
        (
            D::NotAuthorized,
            Some("ACL changed"),
            "not authorized: ACL changed",
        ),
        (D::QuotaExceeded, None, "quota exceeded"),
        (D::PacketTooLarge, None, "packet too large"),
        (D::UseAnotherServer, None, "use another server"),
    ];
    for (code, reason, words) in cases {
        let mut c = connected(V5);
        c.publish(at(1.0), "messages", "x", QoS::AtLeastOnce)
            .unwrap();
        let _ = sent(&mut c);
        let _ = events(&mut c);
        c.handle_bytes(at(2.0), &server_disconnect(code, reason));
        let reason = DisconnectReason::ServerSaid {
            code: code as u8,
            words: words.into(),
        };
        assert_eq!(events(&mut c), vec![Event::Disconnected(reason.clone())]);
        assert_eq!(
            reason.to_string(),
            format!("the broker ended the connection: {words}")
        );
        assert_eq!(reason.is_session_taken_over(), code == D::SessionTakenOver);
        assert!(!c.is_connected());
        assert_eq!(c.poll_timeout(), None);
        assert_eq!(c.unacknowledged(), 1, "kept for the next link");
    }
}

#[test]
fn a_zero_length_or_reason_only_disconnect_is_a_normal_server_disconnect() {
    for (bytes, code, words) in [
        (&[0xE0, 0x00][..], 0x00, "normal disconnection"),
        (&[0xE0, 0x01, 0x8B][..], 0x8B, "server shutting down"),
    ] {
        let mut c = connected(V5);
        c.handle_bytes(at(1.0), bytes);
        assert_eq!(
            events(&mut c),
            vec![Event::Disconnected(DisconnectReason::ServerSaid {
                code,
                words: words.into()
            })]
        );
    }
    // Under 3.1.1 a server DISCONNECT is still a stray packet.
    let mut c = connected(Protocol::V311);
    c.handle_bytes(at(1.0), &[0xE0, 0x00]);
    assert_eq!(
        events(&mut c),
        vec![Event::Disconnected(DisconnectReason::Protocol(
            ProtocolError::Unexpected("DISCONNECT")
        ))]
    );
}

#[test]
fn a_session_taken_over_waits_for_the_user_and_other_server_disconnects_back_off() {
    let said = |code: u8| {
        LinkError::Mqtt(DisconnectReason::ServerSaid {
            code,
            words: String::new(),
        })
    };
    let mut policy = Reconnect::default();
    assert_eq!(policy.poll_action(), Some(Action::Connect));
    policy.handle_connected(T0);
    policy.handle_lost(at(10.0), said(0x8E), true, 0.5);
    assert_eq!(policy.poll_action(), Some(Action::WaitForUser));
    assert_eq!(policy.link_state(at(10.0)), LinkState::TakenOver);
    assert_eq!(policy.poll_timeout(), None);
    policy.handle_wake();
    assert_eq!(
        policy.poll_action(),
        Some(Action::WaitForUser),
        "a wake changes nothing"
    );
    policy.handle_user_retry();
    assert_eq!(policy.poll_action(), Some(Action::Connect));

    for code in [0x00, 0x8B, 0x8D, 0x87, 0x97, 0x95, 0x9C] {
        let mut policy = Reconnect::default();
        assert_eq!(policy.poll_action(), Some(Action::Connect));
        policy.handle_lost(at(1.0), said(code), true, 0.5);
        assert!(
            matches!(policy.poll_action(), Some(Action::WaitUntil(_))),
            "code {code:#04x}"
        );
        assert!(matches!(
            policy.link_state(at(1.0)),
            LinkState::Retrying { .. }
        ));
    }
}

#[test]
fn an_auth_packet_ends_the_link_in_words() {
    let words =
        "the broker asked for enhanced authentication (AUTH), which this client does not support";
    assert_eq!(ProtocolError::EnhancedAuthentication.to_string(), words);
    // After CONNACK, before it, and with only its first byte in.
    let mut c = connected(V5);
    c.handle_bytes(at(1.0), &[0xF0, 0x02, 0x18, 0x00]);
    let auth = vec![Event::Disconnected(DisconnectReason::Protocol(
        ProtocolError::EnhancedAuthentication,
    ))];
    assert_eq!(events(&mut c), auth);
    let mut c = Client::new(options(V5));
    c.handle_open(T0);
    c.handle_bytes(at(0.1), &[0xF0]);
    assert_eq!(events(&mut c), auth);
    assert_eq!(c.poll_timeout(), None);
}

// ----- PUBACK, SUBACK ---------------------------------------------------------------------

fn puback_v5(pkid: u16, reason: v5::PubAckReason, reason_string: Option<&str>) -> Vec<u8> {
    let mut ack = v5::PubAck::new(pkid);
    ack.reason = reason;
    ack.properties = reason_string.map(|s| v5::PubAckProperties {
        reason_string: Some(s.into()),
        user_properties: Vec::new(),
    });
    encode(|b| ack.write(b))
}

#[test]
fn a_refused_puback_drops_the_publish_with_its_reason_in_words() {
    use v5::PubAckReason as R;
    let cases = [
        (
            R::NotAuthorized,
            Some("read-only room"),
            "not authorized: read-only room",
        ),
        (R::QuotaExceeded, None, "quota exceeded"),
        (R::TopicNameInvalid, None, "topic name invalid"),
        (R::PacketIdentifierInUse, None, "packet identifier in use"),
        (R::PayloadFormatInvalid, None, "payload format invalid"),
        (
            R::ImplementationSpecificError,
            None,
            "implementation specific error",
        ),
        (R::UnspecifiedError, None, "unspecified error"),
    ];
    for (code, reason_string, words) in cases {
        let mut c = connected(V5);
        let id = c
            .publish(at(1.0), "messages", "x", QoS::AtLeastOnce)
            .unwrap()
            .unwrap();
        let _ = sent(&mut c);
        let _ = events(&mut c);
        c.handle_bytes(at(1.1), &puback_v5(id, code, reason_string));
        assert_eq!(
            events(&mut c),
            vec![Event::PublishRefused {
                pkid: id,
                code: Some(code as u8),
                reason: words.into()
            }]
        );
        assert!(c.is_connected());
        assert_eq!(c.unacknowledged(), 0);
        // Never resent.
        c.handle_close("gone");
        c.handle_open(at(2.0));
        let _ = sent(&mut c);
        c.handle_bytes(at(2.0), &connack(V5, true));
        assert!(sent(&mut c).is_empty());
    }
}

#[test]
fn a_puback_below_0x80_is_success() {
    let mut c = connected(V5);
    let id = c
        .publish(at(1.0), "messages", "x", QoS::AtLeastOnce)
        .unwrap()
        .unwrap();
    let _ = events(&mut c);
    c.handle_bytes(
        at(1.1),
        &puback_v5(id, v5::PubAckReason::NoMatchingSubscribers, None),
    );
    assert_eq!(events(&mut c), vec![Event::Acknowledged { pkid: id }]);
}

#[test]
fn a_refused_suback_code_says_why() {
    let mut c = Client::new(options(V5));
    c.subscribe(T0, "secret/#", QoS::AtLeastOnce).unwrap();
    c.subscribe(T0, "messages", QoS::AtLeastOnce).unwrap();
    c.handle_open(T0);
    // Without Subscription Identifiers both filters share one SUBSCRIBE, so one SUBACK
    // answers both.
    c.handle_bytes(
        T0,
        &connack_v5(v5::ConnectReturnCode::Success, |p| {
            p.subscription_identifiers_available = Some(0)
        }),
    );
    let _ = events(&mut c);
    let filters = match sent(&mut c).as_slice() {
        [_, Sent::Subscribe { filters, .. }] => filters.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(filters.len(), 2);
    let mut ack = v5::SubAck::new(
        1,
        vec![
            v5::SubscribeReasonCode::NotAuthorized,
            v5::SubscribeReasonCode::QoS0,
        ],
    );
    ack.properties = Some(v5::SubAckProperties {
        reason_string: Some("ACL".into()),
        user_properties: Vec::new(),
    });
    c.handle_bytes(at(0.1), &encode(|b| ack.write(b)));
    assert_eq!(
        events(&mut c),
        vec![
            Event::SubscribeRefused {
                filter: "secret/#".into(),
                reason: Some("not authorized: ACL".into())
            },
            Event::Subscribed {
                filter: "messages".into(),
                qos: QoS::AtMostOnce
            }
        ]
    );
    assert!(c.is_connected());
}

// ----- oversized PUBLISH -----------------------------------------------------------------

#[test]
fn an_oversized_v5_publish_with_properties_is_skipped_and_acknowledged_in_short_form() {
    let mut p = v5::Publish::new("messages/big", QoS::AtLeastOnce, vec![b'x'; 300]);
    p.pkid = 77;
    p.properties = Some(v5::PublishProperties {
        payload_format_indicator: Some(1),
        message_expiry_interval: Some(60),
        topic_alias: None,
        response_topic: None,
        correlation_data: None,
        user_properties: vec![("from".into(), "ann".into())],
        subscription_identifiers: vec![3],
        content_type: Some("text/plain".into()),
    });
    let big = encode(|b| p.write(b));
    let mut bytes = big.clone();
    bytes.extend(publish(V5, "messages", "after", QoS::AtLeastOnce, 78));
    for split in 0..=bytes.len() {
        let mut c = connected_with(
            Options {
                max_incoming_packet: 100,
                ..options(V5)
            },
            &connack(V5, false),
        );
        c.handle_bytes(at(1.0), &bytes[..split]);
        c.handle_bytes(at(1.0), &bytes[split..]);
        assert_eq!(
            events(&mut c),
            vec![
                Event::Skipped {
                    topic: "messages/big".into(),
                    size: big.len(),
                    limit: 100,
                    qos: QoS::AtLeastOnce,
                },
                message("after", QoS::AtLeastOnce),
            ],
            "split at {split}"
        );
        let raw = sent_raw(&mut c);
        assert_eq!(&raw[0][..], [0x40, 0x02, 0x00, 77], "short PUBACK");
        assert_eq!(raw.len(), 2);
        assert!(c.is_connected());
    }
}

#[test]
fn an_oversized_v5_publish_whose_properties_run_past_it_is_malformed() {
    // Topic "t", packet id 1, a property length of 200 in a packet of 150.
    let mut bytes = vec![0x32, 0x96, 0x01, 0x00, 0x01, b't', 0x00, 0x01, 0xC8, 0x01];
    bytes.resize(3 + 150, 0);
    let mut c = connected_with(
        Options {
            max_incoming_packet: 100,
            ..options(V5)
        },
        &connack(V5, false),
    );
    c.handle_bytes(at(1.0), &bytes);
    assert!(matches!(
        events(&mut c).as_slice(),
        [Event::Disconnected(DisconnectReason::Protocol(
            ProtocolError::Malformed(_)
        ))]
    ));
}

#[test]
fn a_publish_with_a_topic_alias_is_refused() {
    let mut p = v5::Publish::new("messages", QoS::AtMostOnce, b"x".to_vec());
    p.properties = Some(v5::PublishProperties {
        payload_format_indicator: None,
        message_expiry_interval: None,
        topic_alias: Some(1),
        response_topic: None,
        correlation_data: None,
        user_properties: Vec::new(),
        subscription_identifiers: Vec::new(),
        content_type: None,
    });
    let mut c = connected(V5);
    c.handle_bytes(at(1.0), &encode(|b| p.write(b)));
    assert!(matches!(
        events(&mut c).as_slice(),
        [Event::Disconnected(DisconnectReason::Protocol(
            ProtocolError::Malformed(_)
        ))]
    ));
}

#[test]
fn a_disconnect_with_flags_set_is_malformed() {
    for bytes in [&[0xE1, 0x00][..], &[0xE2, 0x01, 0x00][..]] {
        let mut c = connected(V5);
        c.handle_bytes(at(1.0), bytes);
        assert!(matches!(
            events(&mut c).as_slice(),
            [Event::Disconnected(DisconnectReason::Protocol(
                ProtocolError::Malformed(_)
            ))]
        ));
    }
}

// ----- Subscription Identifiers ------------------------------------------------------------

/// The SUBSCRIBEs among what the client sent, as mqttbytes v5 reads them.
fn subscribes(c: &mut Client) -> Vec<v5::Subscribe> {
    sent_raw(c)
        .iter()
        .filter_map(|bytes| match read_v5(bytes) {
            v5::Packet::Subscribe(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn paths(s: &v5::Subscribe) -> Vec<&str> {
    s.filters.iter().map(|f| f.path.as_str()).collect()
}

fn id_of(s: &v5::Subscribe) -> Option<usize> {
    s.properties.as_ref().and_then(|p| p.id)
}

/// A v5 PUBLISH carrying `ids` as its Subscription Identifiers.
fn publish_via(topic: &str, payload: &str, ids: &[usize]) -> Vec<u8> {
    let mut p = v5::Publish::new(topic, QoS::AtMostOnce, payload.as_bytes().to_vec());
    p.properties = Some(v5::PublishProperties {
        payload_format_indicator: None,
        message_expiry_interval: None,
        topic_alias: None,
        response_topic: None,
        correlation_data: None,
        user_properties: Vec::new(),
        subscription_identifiers: ids.to_vec(),
        content_type: None,
    });
    encode(|b| p.write(b))
}

/// The `via` of the one message among `events`.
fn via(events: Vec<Event>) -> Option<Vec<String>> {
    match events.as_slice() {
        [Event::Message(IncomingMessage { via, .. })] => via.clone(),
        other => panic!("expected one message, got {other:?}"),
    }
}

fn strings(filters: &[&str]) -> Option<Vec<String>> {
    Some(filters.iter().map(|f| f.to_string()).collect())
}

const ALL_ROOMS: &str = "rooms/+/messages";
const LOBBY: &str = "rooms/lobby/messages";

/// Connected under v5 with "messages", `ALL_ROOMS` and `LOBBY` granted, output drained.
fn subscribed_to_overlapping_filters() -> Client {
    let mut c = connected(V5);
    c.subscribe(at(1.0), ALL_ROOMS, QoS::AtLeastOnce).unwrap();
    c.subscribe(at(1.0), LOBBY, QoS::AtLeastOnce).unwrap();
    c.handle_bytes(at(1.0), &suback(V5, 2, &[QoS::AtLeastOnce]));
    c.handle_bytes(at(1.0), &suback(V5, 3, &[QoS::AtLeastOnce]));
    let _ = sent_raw(&mut c);
    assert_eq!(events(&mut c).len(), 2, "both granted");
    c
}

#[test]
fn under_v5_each_filter_goes_in_a_subscribe_of_its_own_carrying_its_identifier() {
    let mut c = Client::new(options(V5));
    c.subscribe(T0, ALL_ROOMS, QoS::AtLeastOnce).unwrap();
    c.subscribe(T0, LOBBY, QoS::AtMostOnce).unwrap();
    c.handle_open(T0);
    c.handle_bytes(T0, &connack(V5, false));
    let subs = subscribes(&mut c);
    assert_eq!(subs.len(), 2, "one SUBSCRIBE per filter: {subs:?}");
    assert_eq!((subs[0].pkid, paths(&subs[0])), (1, vec![ALL_ROOMS]));
    assert_eq!((subs[1].pkid, paths(&subs[1])), (2, vec![LOBBY]));
    assert_eq!(id_of(&subs[0]), Some(subscription_id(ALL_ROOMS)));
    assert_eq!(id_of(&subs[1]), Some(subscription_id(LOBBY)));
    assert_ne!(id_of(&subs[0]), id_of(&subs[1]));
    // The SUBACKs answer as they did for one SUBSCRIBE: a Subscribed per filter.
    let _ = events(&mut c);
    c.handle_bytes(at(0.1), &suback(V5, 2, &[QoS::AtMostOnce]));
    c.handle_bytes(at(0.1), &suback(V5, 1, &[QoS::AtLeastOnce]));
    assert_eq!(
        events(&mut c),
        vec![
            Event::Subscribed {
                filter: LOBBY.into(),
                qos: QoS::AtMostOnce
            },
            Event::Subscribed {
                filter: ALL_ROOMS.into(),
                qos: QoS::AtLeastOnce
            },
        ]
    );
    // One subscribed while connected carries its identifier too, the same every time.
    c.subscribe(at(1.0), "rooms/#", QoS::AtLeastOnce).unwrap();
    let subs = subscribes(&mut c);
    assert_eq!(subs.len(), 1);
    assert_eq!(paths(&subs[0]), vec!["rooms/#"]);
    assert_eq!(id_of(&subs[0]), Some(199_197_900));
    // A refusal of one of them is told as before.
    let mut ack = v5::SubAck::new(subs[0].pkid, vec![v5::SubscribeReasonCode::NotAuthorized]);
    ack.properties = Some(v5::SubAckProperties {
        reason_string: Some("ACL".into()),
        user_properties: Vec::new(),
    });
    c.handle_bytes(at(1.1), &encode(|b| ack.write(b)));
    assert_eq!(
        events(&mut c),
        vec![Event::SubscribeRefused {
            filter: "rooms/#".into(),
            reason: Some("not authorized: ACL".into())
        }]
    );
    assert!(c.is_connected());
}

#[test]
fn a_resumed_session_subscribes_again_only_what_was_not_granted_each_with_its_identifier() {
    let mut c = subscribed_to_overlapping_filters();
    c.subscribe(at(2.0), "rooms/#", QoS::AtLeastOnce).unwrap();
    c.handle_close("gone");
    c.handle_open(at(3.0));
    c.handle_bytes(at(3.0), &connack(V5, true));
    let subs = subscribes(&mut c);
    assert_eq!(subs.len(), 1);
    assert_eq!(paths(&subs[0]), vec!["rooms/#"]);
    assert_eq!(id_of(&subs[0]), Some(subscription_id("rooms/#")));
    // A new session: all of them, one SUBSCRIBE each.
    c.handle_close("gone");
    c.handle_open(at(4.0));
    c.handle_bytes(at(4.0), &connack(V5, false));
    let subs = subscribes(&mut c);
    let got: Vec<(Vec<&str>, Option<usize>)> = subs.iter().map(|s| (paths(s), id_of(s))).collect();
    let want: Vec<(Vec<&str>, Option<usize>)> = ["messages", ALL_ROOMS, LOBBY, "rooms/#"]
        .into_iter()
        .map(|f| (vec![f], Some(subscription_id(f))))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_broker_without_subscription_identifiers_gets_the_filters_in_one_subscribe_without_one() {
    let mut c = Client::new(options(V5));
    c.subscribe(T0, ALL_ROOMS, QoS::AtLeastOnce).unwrap();
    c.subscribe(T0, LOBBY, QoS::AtLeastOnce).unwrap();
    c.handle_open(T0);
    c.handle_bytes(
        T0,
        &connack_v5(v5::ConnectReturnCode::Success, |p| {
            p.subscription_identifiers_available = Some(0)
        }),
    );
    assert!(!c.server_limits().subscription_ids_available);
    let subs = subscribes(&mut c);
    assert_eq!(subs.len(), 1, "{subs:?}");
    assert_eq!((subs[0].pkid, paths(&subs[0])), (1, vec![ALL_ROOMS, LOBBY]));
    assert_eq!(id_of(&subs[0]), None);
    let _ = events(&mut c);
    c.handle_bytes(
        at(0.1),
        &suback(V5, 1, &[QoS::AtLeastOnce, QoS::AtLeastOnce]),
    );
    assert_eq!(
        events(&mut c),
        vec![
            Event::Subscribed {
                filter: ALL_ROOMS.into(),
                qos: QoS::AtLeastOnce
            },
            Event::Subscribed {
                filter: LOBBY.into(),
                qos: QoS::AtLeastOnce
            },
        ]
    );
    c.subscribe(at(1.0), "rooms/#", QoS::AtLeastOnce).unwrap();
    let subs = subscribes(&mut c);
    assert_eq!(id_of(&subs[0]), None);
    // Its messages come without identifiers.
    c.handle_bytes(at(1.0), &publish(V5, LOBBY, "hi", QoS::AtMostOnce, 0));
    assert_eq!(via(events(&mut c)), None);
}

#[test]
fn a_message_names_the_subscriptions_it_came_through() {
    let mut c = subscribed_to_overlapping_filters();
    let both = [subscription_id(ALL_ROOMS), subscription_id(LOBBY)];
    // Mosquitto 2 sends a copy per subscription; a broker may also send one copy with
    // both identifiers.
    c.handle_bytes(at(2.0), &publish_via(LOBBY, "hi", &both[..1]));
    assert_eq!(via(events(&mut c)), strings(&[ALL_ROOMS]));
    c.handle_bytes(at(2.0), &publish_via(LOBBY, "hi", &both[1..]));
    assert_eq!(via(events(&mut c)), strings(&[LOBBY]));
    // In the order the subscriptions were made, whatever the order of the identifiers.
    c.handle_bytes(at(2.0), &publish_via(LOBBY, "hi", &[both[1], both[0]]));
    assert_eq!(via(events(&mut c)), strings(&[ALL_ROOMS, LOBBY]));
    // A subscription not granted yet counts too.
    c.subscribe(at(3.0), "rooms/#", QoS::AtLeastOnce).unwrap();
    c.handle_bytes(
        at(3.0),
        &publish_via(
            "rooms/kitchen/messages",
            "hi",
            &[subscription_id("rooms/#")],
        ),
    );
    assert_eq!(via(events(&mut c)), strings(&["rooms/#"]));
}

#[test]
fn identifiers_of_no_current_subscription_matching_the_topic_are_left_out() {
    let mut c = subscribed_to_overlapping_filters();
    let unknown = 4242;
    for f in ["messages", ALL_ROOMS, LOBBY] {
        assert_ne!(subscription_id(f), unknown);
    }
    // An identifier nobody here gave, say an earlier page load's.
    c.handle_bytes(at(2.0), &publish_via(LOBBY, "a", &[unknown]));
    assert_eq!(via(events(&mut c)), Some(vec![]));
    // Ours, but its filter does not match the topic.
    c.handle_bytes(
        at(2.0),
        &publish_via(LOBBY, "b", &[subscription_id("messages")]),
    );
    assert_eq!(via(events(&mut c)), Some(vec![]));
    c.handle_bytes(
        at(2.0),
        &publish_via(
            "rooms/kitchen/messages",
            "c",
            &[unknown, subscription_id(LOBBY), subscription_id(ALL_ROOMS)],
        ),
    );
    assert_eq!(via(events(&mut c)), strings(&[ALL_ROOMS]));
    // A filter unsubscribed is no longer ours.
    c.unsubscribe(at(3.0), ALL_ROOMS).unwrap();
    c.handle_bytes(
        at(3.0),
        &publish_via(
            LOBBY,
            "d",
            &[subscription_id(ALL_ROOMS), subscription_id(LOBBY)],
        ),
    );
    assert_eq!(via(events(&mut c)), strings(&[LOBBY]));
}

#[test]
fn a_message_without_identifiers_has_no_via() {
    let mut c = subscribed_to_overlapping_filters();
    c.handle_bytes(at(2.0), &publish(V5, LOBBY, "hi", QoS::AtLeastOnce, 9));
    assert_eq!(via(events(&mut c)), None);
    // Properties without an identifier are the same.
    c.handle_bytes(at(2.0), &publish_via(LOBBY, "hi", &[]));
    assert_eq!(via(events(&mut c)), None);
}

#[test]
fn under_3_1_1_subscribes_are_grouped_and_messages_have_no_via() {
    let mut c = Client::new(options(Protocol::V311));
    c.subscribe(T0, ALL_ROOMS, QoS::AtLeastOnce).unwrap();
    c.subscribe(T0, LOBBY, QoS::AtLeastOnce).unwrap();
    c.handle_open(T0);
    c.handle_bytes(T0, &connack(Protocol::V311, false));
    assert_eq!(
        sent(&mut c)[1..],
        [Sent::Subscribe {
            pkid: 1,
            filters: vec![
                (ALL_ROOMS.into(), QoS::AtLeastOnce),
                (LOBBY.into(), QoS::AtLeastOnce)
            ]
        }]
    );
    c.handle_bytes(
        at(0.1),
        &suback(Protocol::V311, 1, &[QoS::AtLeastOnce, QoS::AtLeastOnce]),
    );
    let _ = events(&mut c);
    c.handle_bytes(
        at(1.0),
        &publish(Protocol::V311, LOBBY, "hi", QoS::AtMostOnce, 0),
    );
    assert_eq!(via(events(&mut c)), None);
}
