//! Leaving a subscription (a room) on a virtual clock: UNSUBSCRIBE / UNSUBACK while
//! connected, while offline, across a dropped link, and undone by subscribing again.

use std::time::Duration;

use bytes::BytesMut;
use mqtt_core::{Client, Event, Instant, Options, ProtocolError, QoS, SubscribeError};
use mqttbytes::v4::{
    self, ConnAck, ConnectReturnCode, Packet, PubAck, SubAck, SubscribeReasonCode, UnsubAck,
};

const T0: Instant = Instant::from_millis(1_000);

const ROOM: &str = "messages/lobby";

fn at(secs: f64) -> Instant {
    T0 + Duration::from_millis((secs * 1000.0) as u64)
}

fn encode(write: impl FnOnce(&mut BytesMut) -> Result<usize, mqttbytes::Error>) -> Vec<u8> {
    let mut buf = BytesMut::new();
    write(&mut buf).expect("test packet encodes");
    buf.to_vec()
}

fn connack(session_present: bool) -> Vec<u8> {
    encode(|b| ConnAck::new(ConnectReturnCode::Success, session_present).write(b))
}

fn suback(pkid: u16, filters: usize) -> Vec<u8> {
    let codes = vec![SubscribeReasonCode::Success(QoS::AtLeastOnce); filters];
    encode(|b| SubAck::new(pkid, codes).write(b))
}

fn unsuback(pkid: u16) -> Vec<u8> {
    encode(|b| UnsubAck::new(pkid).write(b))
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

fn unsubscribed(filter: &str) -> Event {
    Event::Unsubscribed {
        filter: filter.into(),
    }
}

/// Connected, subscribed to `messages` and `ROOM` (granted), output drained.
fn connected_client() -> Client {
    let mut c = Client::new(Options {
        keep_alive: Duration::from_secs(60),
        ..Options::new("tab-1")
    });
    c.subscribe(T0, "messages", QoS::AtLeastOnce).unwrap();
    c.subscribe(T0, ROOM, QoS::AtLeastOnce).unwrap();
    c.handle_open(T0);
    let _ = sent(&mut c);
    c.handle_bytes(T0, &connack(false));
    let pkid = match sent(&mut c).as_slice() {
        [Packet::Subscribe(s)] => {
            assert_eq!(s.filters.len(), 2);
            s.pkid
        }
        other => panic!("expected one SUBSCRIBE, got {other:?}"),
    };
    c.handle_bytes(T0, &suback(pkid, 2));
    let _ = events(&mut c);
    c
}

/// Open a new link at `t` and accept it, returning what the client sends after CONNACK.
fn reconnect(c: &mut Client, t: Instant, session_present: bool) -> Vec<Packet> {
    c.handle_open(t);
    let _ = sent(c);
    c.handle_bytes(t, &connack(session_present));
    sent(c)
}

/// The packet id and filters of the one UNSUBSCRIBE in `packets` (other packets allowed).
fn the_unsubscribe(packets: &[Packet]) -> (u16, Vec<String>) {
    let found: Vec<(u16, Vec<String>)> = packets
        .iter()
        .filter_map(|p| match p {
            Packet::Unsubscribe(u) => Some((u.pkid, u.topics.clone())),
            _ => None,
        })
        .collect();
    match found.as_slice() {
        [one] => one.clone(),
        _ => panic!("expected exactly one UNSUBSCRIBE, got {packets:?}"),
    }
}

fn no_unsubscribe(packets: &[Packet]) -> bool {
    !packets.iter().any(|p| matches!(p, Packet::Unsubscribe(_)))
}

/// Every filter in the SUBSCRIBEs of `packets`.
fn subscribed_filters(packets: &[Packet]) -> Vec<String> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Subscribe(s) => Some(s.filters.iter().map(|f| f.path.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn unsubscribe_while_connected_sends_unsubscribe_and_unsuback_reports_it() {
    let mut c = connected_client();
    c.unsubscribe(at(1.0), ROOM).unwrap();
    let packets = sent(&mut c);
    assert_eq!(packets.len(), 1, "{packets:?}");
    let (pkid, topics) = the_unsubscribe(&packets);
    assert_eq!(topics, vec![ROOM.to_owned()]);
    assert!(events(&mut c).is_empty(), "nothing until the UNSUBACK");

    c.handle_bytes(at(1.1), &unsuback(pkid));
    assert_eq!(events(&mut c), vec![unsubscribed(ROOM)]);
    assert!(c.is_connected());

    // The subscription is forgotten: a new session subscribes only what is left.
    c.handle_close("gone");
    let packets = reconnect(&mut c, at(5.0), false);
    assert_eq!(subscribed_filters(&packets), vec!["messages".to_owned()]);
    assert!(no_unsubscribe(&packets));
}

#[test]
fn unsubscribe_while_offline_goes_out_after_connack_with_a_kept_session() {
    let mut c = connected_client();
    c.handle_close("gone");
    let _ = events(&mut c);
    c.unsubscribe(at(1.0), ROOM).unwrap();
    assert!(sent(&mut c).is_empty(), "nothing is sent while offline");
    assert!(events(&mut c).is_empty());

    let packets = reconnect(&mut c, at(2.0), true);
    assert_eq!(
        packets.len(),
        1,
        "the kept session still has `messages`: {packets:?}"
    );
    let (pkid, topics) = the_unsubscribe(&packets);
    assert_eq!(topics, vec![ROOM.to_owned()]);
    assert_eq!(
        events(&mut c),
        vec![Event::Connected {
            session_present: true
        }]
    );
    c.handle_bytes(at(2.1), &unsuback(pkid));
    assert_eq!(events(&mut c), vec![unsubscribed(ROOM)]);

    // Done with: the next kept session is not asked again.
    c.handle_close("gone");
    assert!(reconnect(&mut c, at(3.0), true).is_empty());
}

#[test]
fn unsubscribe_while_offline_then_a_new_session_sends_none_and_reports_it() {
    let mut c = connected_client();
    c.handle_close("gone");
    let _ = events(&mut c);
    c.unsubscribe(at(1.0), ROOM).unwrap();

    let packets = reconnect(&mut c, at(2.0), false);
    assert!(no_unsubscribe(&packets), "{packets:?}");
    assert_eq!(subscribed_filters(&packets), vec!["messages".to_owned()]);
    assert_eq!(
        events(&mut c),
        vec![
            Event::Connected {
                session_present: false
            },
            unsubscribed(ROOM)
        ]
    );

    c.handle_close("gone");
    let packets = reconnect(&mut c, at(3.0), true);
    assert!(no_unsubscribe(&packets), "forgotten once reported");
}

#[test]
fn unsubscribe_in_flight_when_the_link_drops_is_sent_again_after_connack_with_a_kept_session() {
    let mut c = connected_client();
    c.unsubscribe(at(1.0), ROOM).unwrap();
    let _ = the_unsubscribe(&sent(&mut c));
    c.handle_close("gone");
    let _ = events(&mut c);

    let packets = reconnect(&mut c, at(2.0), true);
    let (pkid, topics) = the_unsubscribe(&packets);
    assert_eq!(topics, vec![ROOM.to_owned()]);
    c.handle_bytes(at(2.1), &unsuback(pkid));
    assert_eq!(
        events(&mut c),
        vec![
            Event::Connected {
                session_present: true
            },
            unsubscribed(ROOM)
        ],
        "reported once"
    );
}

#[test]
fn unsubscribe_in_flight_when_the_link_drops_is_reported_by_a_new_session() {
    let mut c = connected_client();
    c.unsubscribe(at(1.0), ROOM).unwrap();
    let _ = sent(&mut c);
    c.handle_close("gone");
    let _ = events(&mut c);

    let packets = reconnect(&mut c, at(2.0), false);
    assert!(no_unsubscribe(&packets), "{packets:?}");
    assert_eq!(subscribed_filters(&packets), vec!["messages".to_owned()]);
    assert_eq!(
        events(&mut c),
        vec![
            Event::Connected {
                session_present: false
            },
            unsubscribed(ROOM)
        ]
    );
}

#[test]
fn subscribe_after_an_unsubscribe_in_flight_keeps_the_subscription() {
    let mut c = connected_client();
    c.unsubscribe(at(1.0), ROOM).unwrap();
    let (unsub, _) = the_unsubscribe(&sent(&mut c));
    c.subscribe(at(1.1), ROOM, QoS::AtLeastOnce).unwrap();
    let packets = sent(&mut c);
    assert_eq!(subscribed_filters(&packets), vec![ROOM.to_owned()]);
    let sub = match packets.as_slice() {
        [Packet::Subscribe(s)] => s.pkid,
        other => panic!("expected one SUBSCRIBE, got {other:?}"),
    };

    // The broker handles them in order: the late UNSUBACK is not news of a lost room.
    c.handle_bytes(at(1.2), &unsuback(unsub));
    c.handle_bytes(at(1.2), &suback(sub, 1));
    assert_eq!(
        events(&mut c),
        vec![Event::Subscribed {
            filter: ROOM.into(),
            qos: QoS::AtLeastOnce
        }]
    );

    c.handle_close("gone");
    let packets = reconnect(&mut c, at(5.0), false);
    assert_eq!(
        subscribed_filters(&packets),
        vec!["messages".to_owned(), ROOM.to_owned()]
    );
    assert!(no_unsubscribe(&packets));
}

#[test]
fn subscribe_after_an_unsubscribe_while_offline_cancels_it() {
    let mut c = connected_client();
    c.handle_close("gone");
    c.unsubscribe(at(1.0), ROOM).unwrap();
    c.subscribe(at(1.1), ROOM, QoS::AtLeastOnce).unwrap();
    let _ = events(&mut c);

    let packets = reconnect(&mut c, at(2.0), true);
    assert!(no_unsubscribe(&packets), "{packets:?}");
    assert_eq!(subscribed_filters(&packets), vec![ROOM.to_owned()]);
    assert!(!events(&mut c).contains(&unsubscribed(ROOM)));

    c.handle_close("gone");
    let packets = reconnect(&mut c, at(3.0), false);
    assert_eq!(
        subscribed_filters(&packets),
        vec!["messages".to_owned(), ROOM.to_owned()]
    );
    assert!(!events(&mut c).contains(&unsubscribed(ROOM)));
}

#[test]
fn unsubscribe_in_flight_dropped_then_subscribed_again_is_not_sent_after_reconnect() {
    let mut c = connected_client();
    c.unsubscribe(at(1.0), ROOM).unwrap();
    let _ = sent(&mut c);
    c.handle_close("gone");
    c.subscribe(at(1.5), ROOM, QoS::AtLeastOnce).unwrap();
    let _ = events(&mut c);

    let packets = reconnect(&mut c, at(2.0), true);
    assert!(no_unsubscribe(&packets), "{packets:?}");
    assert_eq!(subscribed_filters(&packets), vec![ROOM.to_owned()]);
}

#[test]
fn unsuback_for_an_unknown_packet_id_is_a_warning_and_the_connection_stays_up() {
    let mut c = connected_client();
    c.handle_bytes(at(1.0), &unsuback(777));
    assert_eq!(
        events(&mut c),
        vec![Event::Warning(ProtocolError::Unsolicited(777))]
    );
    assert!(c.is_connected());

    // A second UNSUBACK for an id already answered is just as unknown.
    c.unsubscribe(at(2.0), ROOM).unwrap();
    let (pkid, _) = the_unsubscribe(&sent(&mut c));
    c.handle_bytes(at(2.1), &unsuback(pkid));
    c.handle_bytes(at(2.2), &unsuback(pkid));
    assert_eq!(
        events(&mut c),
        vec![
            unsubscribed(ROOM),
            Event::Warning(ProtocolError::Unsolicited(pkid))
        ]
    );
}

#[test]
fn an_invalid_filter_is_refused() {
    let mut c = connected_client();
    for filter in ["", "a/#/b", "a+/b", "#x"] {
        assert_eq!(
            c.unsubscribe(at(1.0), filter),
            Err(SubscribeError::InvalidFilter(filter.into()))
        );
    }
    assert!(sent(&mut c).is_empty());
    // Valid wildcards are fine.
    c.unsubscribe(at(1.0), "chat/presence/+").unwrap();
    let (_, topics) = the_unsubscribe(&sent(&mut c));
    assert_eq!(topics, vec!["chat/presence/+".to_owned()]);
}

#[test]
fn unsubscribing_twice_while_one_is_under_way_sends_one() {
    let mut c = connected_client();
    c.unsubscribe(at(1.0), ROOM).unwrap();
    c.unsubscribe(at(1.0), ROOM).unwrap();
    let (pkid, _) = the_unsubscribe(&sent(&mut c));
    c.handle_bytes(at(1.1), &unsuback(pkid));
    assert_eq!(events(&mut c), vec![unsubscribed(ROOM)]);
}

#[test]
fn packet_ids_of_unsubscribes_in_flight_are_not_reused() {
    let mut c = connected_client();
    c.unsubscribe(at(1.0), ROOM).unwrap();
    let (held, _) = the_unsubscribe(&sent(&mut c));
    // Go all the way round the packet id space with publishes acknowledged at once.
    for _ in 0..u16::MAX {
        let pkid = c
            .publish(at(2.0), "messages", "m", QoS::AtLeastOnce)
            .unwrap()
            .unwrap();
        assert_ne!(pkid, held, "the UNSUBSCRIBE still holds this id");
        c.handle_bytes(at(2.0), &encode(|b| PubAck::new(pkid).write(b)));
        let _ = sent(&mut c);
        let _ = events(&mut c);
    }
    c.handle_bytes(at(3.0), &unsuback(held));
    assert_eq!(events(&mut c), vec![unsubscribed(ROOM)]);
}
