//! Codec throughput in the browser: a measurement for `scripts/bench`, not a check.
//! `cargo test --release --target wasm32-unknown-unknown --test codec_bench -- --include-ignored`

use mqtt_core::workload::codec_run;
use wasm_bindgen_test::*;

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
        url.into(),
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
