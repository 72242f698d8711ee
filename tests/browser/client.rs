//! The transport and protocol core together, in headless Chromium, against a real Mosquitto.

use std::cell::RefCell;
use std::rc::Rc;

use crate::common::{broker, closed_port, quiet_for, unique_topic, wait_for};
use mqtt_chat::browser::identity::new_client_id;
use mqtt_chat::config::{broker_url, BrokerUrlError};
use mqtt_chat::transport::{Connection, LinkEvent};
use mqtt_core::{Event, LinkError, LinkState, Options, Protocol, PublishOptions, QoS};
use wasm_bindgen_test::*;

type Events = Rc<RefCell<Vec<LinkEvent>>>;

fn open(url: String, topic: &str) -> (Connection, Events) {
    open_with(
        url,
        Options::new(new_client_id().expect("random id")),
        topic,
    )
}

fn open_with(url: String, options: Options, topic: &str) -> (Connection, Events) {
    let events: Events = Rc::default();
    let sink = Rc::clone(&events);
    let connection = Connection::open(vec![url], options, &[(topic, QoS::AtLeastOnce)], move |e| {
        sink.borrow_mut().push(e)
    });
    (connection, events)
}

fn has(events: &Events, pred: impl Fn(&LinkEvent) -> bool) -> Option<()> {
    events.borrow().iter().any(pred).then_some(())
}

#[wasm_bindgen_test]
async fn client_connects_subscribes_publishes_and_receives_its_own_message() {
    let topic = unique_topic("own");
    let (conn, events) = open(broker(), &topic);
    wait_for("SUBACK", 5000.0, || {
        has(&events, |e| matches!(e, LinkEvent::Mqtt(Event::Subscribed { filter, qos: QoS::AtLeastOnce }) if *filter == topic))
    })
    .await;
    assert_eq!(
        events.borrow()[..2],
        [
            LinkEvent::Broker(broker()),
            LinkEvent::State(LinkState::Connecting)
        ],
        "the first things reported are the broker and connecting"
    );
    assert!(has(&events, |e| matches!(
        e,
        LinkEvent::Mqtt(Event::Connected { .. })
    ))
    .is_some());

    let pkid = conn
        .publish(&topic, "hello from the browser", QoS::AtLeastOnce)
        .expect("publish accepted")
        .expect("QoS 1 has a packet id");
    wait_for("own message back, and its PUBACK", 5000.0, || {
        let got_message = has(&events, |e| {
            matches!(e, LinkEvent::Mqtt(Event::Message(m))
                if m.topic == topic && &m.payload[..] == b"hello from the browser")
        });
        let acked = has(&events, |e| {
            *e == LinkEvent::Mqtt(Event::Acknowledged { pkid })
        });
        got_message.and(acked)
    })
    .await;
    conn.close();
}

/// MQTT 5 through the same transport and core: a v5 and a 3.1.1 connection on one
/// Mosquitto see each other's messages, and a v5 publish with a message expiry is
/// delivered while it is fresh.
#[wasm_bindgen_test]
async fn a_v5_and_a_v311_connection_chat_through_one_broker() {
    let topic = unique_topic("v5");
    let v5 = Options {
        protocol: Protocol::v5(),
        ..Options::new(new_client_id().expect("random id"))
    };
    let (five, five_events) = open_with(broker(), v5, &topic);
    let (three, three_events) = open(broker(), &topic);
    for events in [&five_events, &three_events] {
        wait_for("both subscribed", 5000.0, || {
            has(events, |e| {
                matches!(e, LinkEvent::Mqtt(Event::Subscribed { .. }))
            })
        })
        .await;
    }
    five.publish_with_options(
        &topic,
        "from v5",
        QoS::AtLeastOnce,
        PublishOptions {
            retain: false,
            message_expiry: Some(std::time::Duration::from_secs(30)),
            ..PublishOptions::default()
        },
    )
    .expect("publish accepted");
    three
        .publish(&topic, "from 3.1.1", QoS::AtLeastOnce)
        .expect("publish accepted");
    let got = |events: &Events, text: &'static [u8]| {
        has(
            events,
            move |e| matches!(e, LinkEvent::Mqtt(Event::Message(m)) if &m.payload[..] == text),
        )
    };
    wait_for("each sees the other", 5000.0, || {
        got(&three_events, b"from v5").and(got(&five_events, b"from 3.1.1"))
    })
    .await;
    // Mosquitto answers a v5 PUBACK with a reason code; 0x10 (no subscribers) or 0x00
    // are both "acknowledged", never refused.
    assert!(has(&five_events, |e| matches!(
        e,
        LinkEvent::Mqtt(Event::PublishRefused { .. })
    ))
    .is_none());
    five.close();
    three.close();
}

#[wasm_bindgen_test]
async fn two_connections_see_each_others_messages() {
    let topic = unique_topic("pair");
    let (a, a_events) = open(broker(), &topic);
    let (_b, b_events) = open(broker(), &topic);
    for events in [&a_events, &b_events] {
        wait_for("both subscribed", 5000.0, || {
            has(events, |e| {
                matches!(e, LinkEvent::Mqtt(Event::Subscribed { .. }))
            })
        })
        .await;
    }
    a.publish(&topic, "from a", QoS::AtMostOnce).unwrap();
    wait_for("b receives a's message", 5000.0, || {
        has(
            &b_events,
            |e| matches!(e, LinkEvent::Mqtt(Event::Message(m)) if &m.payload[..] == b"from a"),
        )
    })
    .await;
}

#[wasm_bindgen_test]
async fn an_unreachable_broker_is_retried_with_the_reason() {
    let url = format!("ws://127.0.0.1:{}", closed_port());
    let (_conn, events) = open(url.clone(), "messages");
    let retries: Vec<LinkError> = wait_for("three scheduled retries", 15000.0, || {
        let retries: Vec<LinkError> = events
            .borrow()
            .iter()
            .filter_map(|e| match e {
                LinkEvent::State(LinkState::Retrying { reason, .. }) => Some(reason.clone()),
                _ => None,
            })
            .collect();
        (retries.len() >= 3).then_some(retries)
    })
    .await;
    for reason in &retries {
        assert_eq!(*reason, LinkError::Unreachable { url: url.clone() });
    }
    let connecting = events
        .borrow()
        .iter()
        .filter(|e| **e == LinkEvent::State(LinkState::Connecting))
        .count();
    assert!(connecting >= 3, "each retry is a new attempt");
}

#[wasm_bindgen_test]
async fn a_dead_broker_in_the_list_hands_over_to_the_next_at_once() {
    let dead = format!("ws://127.0.0.1:{}", closed_port());
    let topic = unique_topic("failover");
    let events: Events = Rc::default();
    let sink = Rc::clone(&events);
    let _conn = Connection::open(
        vec![dead.clone(), broker()],
        Options::new(new_client_id().expect("random id")),
        &[(&topic, QoS::AtLeastOnce)],
        move |e| sink.borrow_mut().push(e),
    );
    wait_for("connected through the second broker", 5000.0, || {
        has(&events, |e| {
            matches!(e, LinkEvent::Mqtt(Event::Connected { .. }))
        })
    })
    .await;
    let seen = events.borrow().clone();
    let until_connected: Vec<&LinkEvent> = seen
        .iter()
        .take_while(|e| !matches!(e, LinkEvent::State(LinkState::Connected)))
        .filter(|e| matches!(e, LinkEvent::State(_) | LinkEvent::Broker(_)))
        .collect();
    assert_eq!(
        until_connected,
        [
            &LinkEvent::Broker(dead),
            &LinkEvent::State(LinkState::Connecting),
            &LinkEvent::Broker(broker()),
        ],
        "the second broker is tried at once, with no wait between"
    );
}

/// `?password=` is taken out of the address at once and never used; `?username=` and
/// `?protocol=` are read.
#[wasm_bindgen_test]
fn a_password_in_the_link_is_stripped_and_not_used() {
    let window = web_sys::window().unwrap();
    let before = window.location().href().unwrap();
    let history = window.history().unwrap();
    let path = window.location().pathname().unwrap();
    history
        .replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&format!(
                "{path}?username=alice&password=hunter2&protocol=5&x=1"
            )),
        )
        .unwrap();
    let config = mqtt_chat::AppConfig::from_page();
    let href = window.location().href().unwrap();
    history
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&before))
        .unwrap();
    assert!(
        !href.contains("password") && !href.contains("hunter2"),
        "{href}"
    );
    assert!(
        href.contains("username=alice") && href.contains("x=1"),
        "{href}"
    );
    assert!(config.password_in_link);
    let credentials = config.credentials.expect("a user name");
    assert_eq!(credentials.username, "alice");
    assert_eq!(credentials.password, "", "the link's password is not used");
    assert_eq!(config.protocol, chat::MqttVersion::V5);
    assert!(config.scope.is_some(), "a user's things are kept apart");
}

#[wasm_bindgen_test]
fn broker_url_defaults_to_the_page_host_on_port_9001() {
    assert_eq!(
        broker_url("", "example.org"),
        Ok("ws://example.org:9001".into())
    );
    assert_eq!(
        broker_url("?room=x", "10.1.2.3"),
        Ok("ws://10.1.2.3:9001".into())
    );
}

#[wasm_bindgen_test]
fn broker_url_query_overrides_and_is_checked() {
    assert_eq!(
        broker_url("?broker=ws://127.0.0.1:8083/mqtt", "h"),
        Ok("ws://127.0.0.1:8083/mqtt".into())
    );
    assert_eq!(
        broker_url("?broker=wss%3A%2F%2Fbroker.example%3A8884%2Fmqtt", "h"),
        Ok("wss://broker.example:8884/mqtt".into())
    );
    assert_eq!(
        broker_url("?broker=http://127.0.0.1:9001", "h"),
        Err(BrokerUrlError::WebPage {
            address: "http://127.0.0.1:9001".into()
        })
    );
    assert!(matches!(
        broker_url("?broker=mqtt://127.0.0.1:1883", "h"),
        Err(BrokerUrlError::Tcp { .. })
    ));
    assert_eq!(broker_url("?broker=", "h"), Err(BrokerUrlError::Empty));
    assert_eq!(
        broker_url("?broker=ws://127.0.0.1:9011, ws://127.0.0.1:9012", "h"),
        Ok("ws://127.0.0.1:9011,ws://127.0.0.1:9012".into()),
        "several brokers, tried in turn"
    );
    assert!(matches!(
        broker_url("?broker=ws://127.0.0.1:9011,http://h", "h"),
        Err(BrokerUrlError::WebPage { .. })
    ));
    assert_eq!(
        broker_url("?broker=not%20a%20url", "h"),
        Err(BrokerUrlError::NotAUrl {
            address: "not a url".into()
        })
    );
}

/// Waits until a retry is scheduled well ahead, fires `event` on `target`, and checks that a
/// new attempt starts before any timer could run: only microtasks run between the event and
/// the attempt, so it is the event that woke the transport, not its retry timer. No clock is
/// read, so a loaded machine cannot make this fail. How long the wake-up takes is measured
/// by scripts/bench (tests/codec_bench.rs), not checked here.
async fn attempt_after(events: &Events, target: &web_sys::EventTarget, event: &str) {
    let min = std::time::Duration::from_millis(1500);
    wait_for("a retry scheduled well ahead", 20000.0, || {
        match events.borrow().last() {
            Some(LinkEvent::State(LinkState::Retrying { retry_in, .. })) if *retry_in > min => {
                Some(())
            }
            _ => None,
        }
    })
    .await;
    let before = events.borrow().len();
    target
        .dispatch_event(&web_sys::Event::new(event).unwrap())
        .unwrap();
    let attempted = || {
        events.borrow()[before..]
            .iter()
            .any(|e| *e == LinkEvent::State(LinkState::Connecting))
    };
    // A bound on turns of the microtask queue, not on time.
    for _ in 0..100 {
        if attempted() {
            return;
        }
        next_microtask().await;
    }
    panic!("no new attempt after `{event}` before the retry timer");
}

/// Lets every microtask queued so far (woken futures included) run; no timer runs meanwhile.
async fn next_microtask() {
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&wasm_bindgen::JsValue::NULL))
        .await
        .unwrap();
}

#[wasm_bindgen_test]
async fn online_and_becoming_visible_retry_at_once_instead_of_waiting() {
    let url = format!("ws://127.0.0.1:{}", closed_port());
    let (_conn, events) = open(url, "messages");
    let window = web_sys::window().unwrap();
    attempt_after(&events, &window, "online").await;
    let document = window.document().unwrap();
    attempt_after(&events, &document, "visibilitychange").await;
}

/// PINGREQs sent from this page so far (every WebSocket's `send` is watched from the first
/// call on).
fn pings_sent() -> u32 {
    let count = js_sys::Function::new_no_args(
        "if (window.__pings === undefined) {
             window.__pings = 0;
             const send = WebSocket.prototype.send;
             WebSocket.prototype.send = function (d) {
                 const b = ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
                     : d instanceof ArrayBuffer ? new Uint8Array(d) : null;
                 if (b && b.length === 2 && b[0] === 0xC0) window.__pings++;
                 return send.call(this, d);
             };
         }
         return window.__pings;",
    );
    count
        .call0(&wasm_bindgen::JsValue::NULL)
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0) as u32
}

/// The transport keeps one browser timer for the core's deadlines and sets it again only
/// when a deadline comes sooner (waking early is harmless): a link with a 2 s keep-alive,
/// idle but for one publish that moves the deadline later, pings every 2 s and stays up.
#[wasm_bindgen_test]
async fn an_idle_link_with_a_short_keep_alive_pings_on_time_and_stays_up() {
    let before = pings_sent();
    let topic = unique_topic("keepalive");
    let options = Options {
        keep_alive: std::time::Duration::from_secs(2),
        ..Options::new(new_client_id().expect("random id"))
    };
    let (conn, events) = open_with(broker(), options, &topic);
    wait_for("connected", 5000.0, || {
        has(&events, |e| {
            matches!(e, LinkEvent::Mqtt(Event::Connected { .. }))
        })
    })
    .await;
    quiet_for(1_000, "an idle second on the link before the publish").await;
    conn.publish(&topic, "moves the deadline", QoS::AtMostOnce)
        .expect("publish accepted");
    // The window the pings are counted in, and in which the link must not drop.
    quiet_for(6_000, "the idle link dropping").await;
    let pings = pings_sent() - before;
    assert!(pings >= 2, "{pings} PINGREQ in 7 s with a 2 s keep-alive");
    let lost = events
        .borrow()
        .iter()
        .filter(|e| matches!(e, LinkEvent::Mqtt(Event::Disconnected(_))))
        .count();
    assert_eq!(lost, 0, "the link dropped: {:?}", events.borrow());
    conn.close();
}
