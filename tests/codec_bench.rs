//! Codec throughput in the browser: a measurement for `scripts/bench`, not a check.
//! `cargo test --release --target wasm32-unknown-unknown --test codec_bench -- --include-ignored`

#[path = "../crates/mqtt-core/benches/shared/workload.rs"]
mod workload;

use wasm_bindgen_test::*;
use workload::codec_run;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
#[ignore = "a measurement; scripts/bench runs it"]
fn codec_throughput_in_the_browser() {
    let perf = web_sys::window().unwrap().performance().unwrap();
    codec_run(10_000, || perf.now() / 1000.0); // warm-up
    let run = codec_run(100_000, || perf.now() / 1000.0);
    assert_eq!(run.decoded, run.packets);
    web_sys::console::log_1(
        &format!(
            "CODEC_BROWSER encode={:.0} decode={:.0} packets/s",
            run.encode_per_sec(),
            run.decode_per_sec()
        )
        .into(),
    );
}

/// Publish to itself through the broker over the WebSocket, 200 times: how much of the
/// tab-to-tab latency is the broker's websockets path plus this client's own processing.
#[wasm_bindgen_test]
#[ignore = "a measurement; scripts/bench runs it"]
async fn broker_round_trip_in_the_browser() {
    use std::cell::RefCell;
    use std::rc::Rc;

    use mqtt_chat::transport::{Connection, LinkEvent};
    use mqtt_core::{Event, Options, QoS};

    let url = option_env!("MQTT_CHAT_TEST_BROKER").unwrap_or("ws://127.0.0.1:9001");
    let perf = web_sys::window().unwrap().performance().unwrap();
    let arrived: Rc<RefCell<Option<f64>>> = Rc::default();
    let subscribed = Rc::new(RefCell::new(false));
    let (a, s) = (Rc::clone(&arrived), Rc::clone(&subscribed));
    let perf2 = perf.clone();
    let conn = Connection::open(
        vec![url.into()],
        Options::new(mqtt_chat::browser::identity::new_client_id().expect("random id")),
        &[("bench/rtt", QoS::AtMostOnce)],
        move |e| match e {
            LinkEvent::Mqtt(Event::Subscribed { .. }) => *s.borrow_mut() = true,
            LinkEvent::Mqtt(Event::Message(_)) => *a.borrow_mut() = Some(perf2.now()),
            _ => {}
        },
    );
    let start = perf.now();
    while !*subscribed.borrow() {
        assert!(perf.now() - start < 10_000.0, "no broker at {url}");
        gloo_timers::future::TimeoutFuture::new(10).await;
    }
    let mut samples = Vec::new();
    for _ in 0..220 {
        arrived.borrow_mut().take();
        let sent = perf.now();
        conn.publish("bench/rtt", "ping", QoS::AtMostOnce).unwrap();
        loop {
            if let Some(t) = *arrived.borrow() {
                samples.push(t - sent);
                break;
            }
            assert!(perf.now() - sent < 5_000.0, "the echo never came");
            // Yield to the event loop without a timer's 1-4 ms clamp.
            wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(
                &wasm_bindgen::JsValue::NULL,
            ))
            .await
            .unwrap();
            gloo_timers::future::TimeoutFuture::new(0).await;
        }
    }
    let mut s: Vec<f64> = samples.split_off(20);
    s.sort_by(|a, b| a.total_cmp(b));
    web_sys::console::log_1(
        &format!(
            "RTT_BROWSER p50={:.2} p99={:.2} ms",
            s[s.len() / 2],
            s[s.len() * 99 / 100]
        )
        .into(),
    );
}

/// How soon the transport tries again when the browser comes back `online` or the tab
/// becomes visible, while a retry is scheduled seconds ahead: from dispatching the event to
/// the `connecting` status, 10 times each. (tests/client.rs checks that it happens; this
/// measures how long it takes.)
#[wasm_bindgen_test]
#[ignore = "a measurement; scripts/bench runs it"]
async fn retry_on_wake_in_the_browser() {
    use std::cell::RefCell;
    use std::rc::Rc;

    use mqtt_chat::transport::{Connection, LinkEvent};
    use mqtt_core::LinkState;
    use mqtt_core::{Options, QoS};

    let port = option_env!("MQTT_CHAT_TEST_CLOSED_PORT").unwrap_or("9");
    let window = web_sys::window().unwrap();
    let document = window.document().unwrap();
    let perf = window.performance().unwrap();
    let events: Rc<RefCell<Vec<LinkEvent>>> = Rc::default();
    let sink = Rc::clone(&events);
    let _conn = Connection::open(
        vec![format!("ws://127.0.0.1:{port}")],
        Options::new(mqtt_chat::browser::identity::new_client_id().expect("random id")),
        &[("bench/wake", QoS::AtMostOnce)],
        move |e| sink.borrow_mut().push(e),
    );
    let mut online = Vec::new();
    let mut visible = Vec::new();
    for round in 0..20 {
        // Wait for a retry scheduled well ahead, so only the event can explain an attempt.
        let start = perf.now();
        loop {
            let ahead = match events.borrow().last() {
                Some(LinkEvent::State(LinkState::Retrying { retry_in, .. })) => *retry_in,
                _ => std::time::Duration::ZERO,
            };
            if ahead > std::time::Duration::from_millis(1500) {
                break;
            }
            assert!(perf.now() - start < 60_000.0, "no retry scheduled ahead");
            gloo_timers::future::TimeoutFuture::new(20).await;
        }
        let (target, name, samples): (&web_sys::EventTarget, _, _) = if round % 2 == 0 {
            (&window, "online", &mut online)
        } else {
            (&document, "visibilitychange", &mut visible)
        };
        let before = events.borrow().len();
        let fired = perf.now();
        target
            .dispatch_event(&web_sys::Event::new(name).unwrap())
            .unwrap();
        loop {
            let attempted = events.borrow()[before..]
                .iter()
                .any(|e| *e == LinkEvent::State(LinkState::Connecting));
            if attempted {
                samples.push(perf.now() - fired);
                break;
            }
            assert!(perf.now() - fired < 10_000.0, "no attempt after `{name}`");
            wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(
                &wasm_bindgen::JsValue::NULL,
            ))
            .await
            .unwrap();
        }
    }
    let p50_max = |s: &mut Vec<f64>| {
        s.sort_by(|a, b| a.total_cmp(b));
        (s[s.len() / 2], s[s.len() - 1])
    };
    let (online_p50, online_max) = p50_max(&mut online);
    let (visible_p50, visible_max) = p50_max(&mut visible);
    web_sys::console::log_1(
        &format!(
            "WAKE_BROWSER online_p50={online_p50:.2} online_max={online_max:.2} visible_p50={visible_p50:.2} visible_max={visible_max:.2} ms"
        )
        .into(),
    );
}

/// Private rooms (issue 24): deriving a passphrase key (PBKDF2-SHA-256, 600,000 rounds), then
/// sealing and opening 1,000 chat messages with WebCrypto's AES-256-GCM, one after another
/// as the app does.
#[wasm_bindgen_test]
#[ignore = "a measurement; scripts/bench runs it"]
async fn private_room_crypto_in_the_browser() {
    use chat::private::{Sealed, PBKDF2_ITERATIONS};
    use mqtt_chat::browser::crypto;

    let perf = web_sys::window().unwrap().performance().unwrap();
    let room = chat::RoomName::parse("bench").unwrap();
    let salt = crypto::random::<16>().unwrap();
    let mut derive = Vec::new();
    let mut key = None;
    for _ in 0..3 {
        let start = perf.now();
        key = Some(
            crypto::derive(
                "a passphrase of some length",
                &salt,
                PBKDF2_ITERATIONS,
                false,
            )
            .await
            .unwrap(),
        );
        derive.push(perf.now() - start);
    }
    let key = key.unwrap();
    let message = chat::ChatMessage {
        name: "ana".into(),
        message: "a chat message of an ordinary length, about eighty characters or so.".into(),
        id: Some("0123456789abcdef".into()),
        ..Default::default()
    }
    .to_json();
    let start = perf.now();
    let mut wires = Vec::with_capacity(1000);
    for _ in 0..1000 {
        wires.push(crypto::seal(&key, &room, &message).await.unwrap().to_json());
    }
    let seal_ms = perf.now() - start;
    let start = perf.now();
    for wire in &wires {
        let sealed = Sealed::read(wire).unwrap().unwrap();
        assert_eq!(crypto::open(&key, &room, &sealed).await.unwrap(), message);
    }
    let open_ms = perf.now() - start;
    derive.sort_by(f64::total_cmp);
    web_sys::console::log_1(
        &format!(
            "CRYPTO_BROWSER derive_ms={:.0} derive_max_ms={:.0} seal_1000_ms={:.0} open_1000_ms={:.0}",
            derive[1], derive[2], seal_ms, open_ms
        )
        .into(),
    );
}
