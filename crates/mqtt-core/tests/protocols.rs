//! The session behaviours MQTT 3.1.1 and MQTT 5 share, run under both: one session logic,
//! the version only at the codec seam.

mod common;

use std::time::Duration;

use common::*;
use mqtt_core::{
    Client, Credentials, DisconnectReason, Event, LastWill, Options, Protocol, ProtocolError, QoS,
};

fn for_both(test: impl Fn(Protocol)) {
    for protocol in BOTH {
        test(protocol);
    }
}

#[test]
fn connect_carries_client_id_keep_alive_clean_flag_credentials_and_will() {
    for_both(|p| {
        let mut c = Client::new(Options {
            clean_session: false,
            credentials: Some(Credentials {
                username: "ann".into(),
                password: "secret".into(),
            }),
            will: Some(LastWill {
                topic: "chat/presence/tab-1".into(),
                payload: "offline".into(),
                qos: QoS::AtLeastOnce,
                retain: true,
                ..LastWill::default()
            }),
            ..options(p)
        });
        c.handle_open(T0);
        assert_eq!(
            sent(&mut c),
            vec![Sent::Connect {
                client_id: "tab-1".into(),
                keep_alive: 60,
                clean_session: false,
                login: Some(("ann".into(), "secret".into())),
                will: Some((
                    "chat/presence/tab-1".into(),
                    "offline".into(),
                    QoS::AtLeastOnce,
                    true
                )),
            }],
            "{p:?}"
        );
        assert_eq!(c.poll_timeout(), Some(at(10.0)), "CONNACK deadline, {p:?}");
    });
}

#[test]
fn connack_then_subscribe_then_suback() {
    for_both(|p| {
        let mut c = Client::new(options(p));
        c.subscribe(T0, "messages", QoS::AtLeastOnce).unwrap();
        c.handle_open(T0);
        let _ = sent(&mut c);
        c.handle_bytes(at(0.1), &connack(p, false));
        assert_eq!(
            events(&mut c),
            vec![Event::Connected {
                session_present: false
            }]
        );
        assert_eq!(
            sent(&mut c),
            vec![Sent::Subscribe {
                pkid: 1,
                filters: vec![("messages".into(), QoS::AtLeastOnce)]
            }]
        );
        c.handle_bytes(at(0.2), &suback(p, 1, &[QoS::AtLeastOnce]));
        assert_eq!(
            events(&mut c),
            vec![Event::Subscribed {
                filter: "messages".into(),
                qos: QoS::AtLeastOnce
            }]
        );
    });
}

#[test]
fn qos1_publish_is_sent_acknowledged_and_resent_with_dup_after_a_lost_link() {
    for_both(|p| {
        let mut c = connected(p);
        let a = c
            .publish(at(1.0), "messages", "a", QoS::AtLeastOnce)
            .unwrap()
            .unwrap();
        let b = c
            .publish(at(1.0), "messages", "b", QoS::AtLeastOnce)
            .unwrap()
            .unwrap();
        assert_eq!(sent(&mut c).len(), 2, "{p:?}");
        c.handle_bytes(at(1.1), &puback(p, a));
        assert_eq!(
            events(&mut c),
            vec![
                Event::Sent { pkid: a },
                Event::Sent { pkid: b },
                Event::Acknowledged { pkid: a }
            ]
        );
        c.handle_close("gone");
        let _ = events(&mut c);
        c.handle_open(at(2.0));
        let _ = sent(&mut c);
        c.handle_bytes(at(2.0), &connack(p, true));
        assert_eq!(
            sent(&mut c),
            vec![Sent::Publish {
                topic: "messages".into(),
                payload: "b".into(),
                qos: QoS::AtLeastOnce,
                retain: false,
                dup: true,
                pkid: b,
            }],
            "{p:?}"
        );
    });
}

#[test]
fn a_publish_made_offline_goes_out_after_connack_and_a_new_session_resubscribes() {
    for_both(|p| {
        let mut c = connected(p);
        c.handle_close("gone");
        let _ = events(&mut c);
        let id = c
            .publish_retained(at(1.0), "presence/tab-1", "online", QoS::AtLeastOnce)
            .unwrap()
            .unwrap();
        assert!(sent(&mut c).is_empty());
        c.handle_open(at(2.0));
        let _ = sent(&mut c);
        c.handle_bytes(at(2.0), &connack(p, false));
        let out = sent(&mut c);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(matches!(&out[0], Sent::Subscribe { filters, .. } if filters[0].0 == "messages"));
        assert!(
            matches!(&out[1], Sent::Publish { pkid, retain: true, dup: false, .. } if *pkid == id)
        );
    });
}

#[test]
fn incoming_publishes_are_delivered_and_qos1_acknowledged() {
    for_both(|p| {
        let mut c = connected(p);
        let mut frame = publish(p, "messages", "one", QoS::AtMostOnce, 0);
        frame.extend(publish(p, "messages", "two", QoS::AtLeastOnce, 5));
        frame.extend(pingresp());
        c.handle_bytes(at(1.0), &frame);
        assert_eq!(
            events(&mut c),
            vec![
                message("one", QoS::AtMostOnce),
                message("two", QoS::AtLeastOnce)
            ]
        );
        assert_eq!(sent(&mut c), vec![Sent::PubAck(5)]);
    });
}

#[test]
fn a_stream_split_at_every_byte_boundary_decodes_the_same() {
    for_both(|p| {
        let mut bytes = connack(p, false);
        bytes.extend(suback(p, 1, &[QoS::AtLeastOnce]));
        bytes.extend(publish(p, "messages", "hi", QoS::AtLeastOnce, 7));
        bytes.extend(publish(
            p,
            "messages",
            &"long ".repeat(40),
            QoS::AtMostOnce,
            0,
        ));
        let run = |pieces: &[&[u8]]| {
            let mut c = Client::new(options(p));
            c.subscribe(T0, "messages", QoS::AtLeastOnce).unwrap();
            c.handle_open(T0);
            let _ = sent(&mut c);
            for piece in pieces {
                c.handle_bytes(T0, piece);
            }
            (events(&mut c), sent(&mut c))
        };
        let whole = run(&[&bytes]);
        assert_eq!(whole.0.len(), 4, "{p:?}: {:?}", whole.0);
        for split in 0..=bytes.len() {
            assert_eq!(
                run(&[&bytes[..split], &bytes[split..]]),
                whole,
                "{p:?} split at {split}"
            );
        }
    });
}

#[test]
fn ping_after_half_the_keep_alive_and_a_missing_pingresp_ends_the_link() {
    for_both(|p| {
        let mut c = connected(p);
        assert_eq!(c.poll_timeout(), Some(at(30.0)));
        c.handle_timeout(at(30.0));
        assert_eq!(sent(&mut c), vec![Sent::PingReq]);
        c.handle_bytes(at(31.0), &pingresp());
        assert_eq!(c.poll_timeout(), Some(at(60.0)));
        c.handle_timeout(at(60.0));
        assert_eq!(sent(&mut c), vec![Sent::PingReq]);
        c.handle_timeout(at(70.0));
        assert_eq!(
            events(&mut c),
            vec![Event::Disconnected(DisconnectReason::PingTimeout)]
        );
    });
}

#[test]
fn unsubscribe_goes_out_and_its_unsuback_reports_the_filter_gone() {
    for_both(|p| {
        let mut c = connected(p);
        c.unsubscribe(at(1.0), "messages").unwrap();
        let pkid = match sent(&mut c).as_slice() {
            [Sent::Unsubscribe { pkid, filters }] if filters == &["messages"] => *pkid,
            other => panic!("{p:?}: {other:?}"),
        };
        c.handle_bytes(at(1.1), &unsuback(p, pkid));
        assert_eq!(
            events(&mut c),
            vec![Event::Unsubscribed {
                filter: "messages".into()
            }]
        );
    });
}

#[test]
fn an_unsolicited_puback_is_a_warning_and_the_link_stays_up() {
    for_both(|p| {
        let mut c = connected(p);
        c.handle_bytes(at(1.0), &puback(p, 42));
        assert_eq!(
            events(&mut c),
            vec![Event::Warning(ProtocolError::Unsolicited(42))]
        );
        assert!(c.is_connected());
    });
}

#[test]
fn an_oversized_publish_split_anywhere_is_skipped_and_acknowledged() {
    for_both(|p| {
        let big = publish(p, "messages/big", &"x".repeat(150), QoS::AtLeastOnce, 9);
        let mut bytes = publish(p, "messages", "before", QoS::AtMostOnce, 0);
        bytes.extend(&big);
        bytes.extend(publish(p, "messages", "after", QoS::AtLeastOnce, 10));
        let expected = vec![
            message("before", QoS::AtMostOnce),
            Event::Skipped {
                topic: "messages/big".into(),
                size: big.len(),
                limit: 100,
                qos: QoS::AtLeastOnce,
            },
            message("after", QoS::AtLeastOnce),
        ];
        for split in 0..=bytes.len() {
            let mut c = connected_with(
                Options {
                    max_incoming_packet: 100,
                    ..options(p)
                },
                &connack(p, false),
            );
            c.handle_bytes(at(1.0), &bytes[..split]);
            c.handle_bytes(at(1.0), &bytes[split..]);
            assert_eq!(events(&mut c), expected, "{p:?} split at {split}");
            assert_eq!(
                sent(&mut c),
                vec![Sent::PubAck(9), Sent::PubAck(10)],
                "{p:?} split at {split}"
            );
            assert!(c.is_connected());
        }
    });
}

#[test]
fn garbage_ends_the_link_with_a_protocol_error_and_a_new_link_works() {
    for_both(|p| {
        let mut c = connected(p);
        c.handle_bytes(at(1.0), &[0x00, 0x00]);
        assert!(matches!(
            events(&mut c).as_slice(),
            [Event::Disconnected(DisconnectReason::Protocol(_))]
        ));
        assert!(!c.is_connected());
        c.handle_open(at(2.0));
        let _ = sent(&mut c);
        c.handle_bytes(at(2.0), &connack(p, true));
        assert!(c.is_connected(), "{p:?}");
    });
}

#[test]
fn disconnect_sends_disconnect_and_goes_idle() {
    for_both(|p| {
        let mut c = connected(p);
        c.disconnect(at(1.0));
        let raw = sent_raw(&mut c);
        assert_eq!(raw.len(), 1);
        assert_eq!(
            &raw[0][..],
            [0xE0, 0x00],
            "{p:?}: reason 0x00 in short form"
        );
        assert_eq!(decode(p, &raw[0]), Sent::Disconnect);
        assert_eq!(
            events(&mut c),
            vec![Event::Disconnected(DisconnectReason::ClientDisconnect)]
        );
        assert_eq!(c.poll_timeout(), None);
    });
}

#[test]
fn the_session_ignores_the_will_delay_and_message_expiry_under_3_1_1_only_in_bytes() {
    // Under 3.1.1 the v5-only options change nothing on the wire.
    let with = |p: Protocol| {
        let mut c = Client::new(Options {
            session_expiry: Duration::from_secs(3600),
            will: Some(LastWill {
                topic: "w".into(),
                payload: "x".into(),
                delay: Duration::from_secs(5),
                ..LastWill::default()
            }),
            ..options(p)
        });
        c.handle_open(T0);
        sent_raw(&mut c)
    };
    let plain = {
        let mut c = Client::new(Options {
            will: Some(LastWill {
                topic: "w".into(),
                payload: "x".into(),
                ..LastWill::default()
            }),
            ..options(Protocol::V311)
        });
        c.handle_open(T0);
        sent_raw(&mut c)
    };
    assert_eq!(with(Protocol::V311), plain);
    assert_ne!(with(Protocol::v5()), plain);
}
