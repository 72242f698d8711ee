//! Helpers shared by the browser tests.
#![allow(dead_code)]

use gloo_timers::future::TimeoutFuture;

/// The test broker's WebSocket URL (scripts/test starts it on a free port).
pub fn broker() -> String {
    option_env!("MQTT_CHAT_TEST_BROKER")
        .unwrap_or("ws://127.0.0.1:9001")
        .to_owned()
}

/// A port on which nothing listens.
pub fn closed_port() -> String {
    option_env!("MQTT_CHAT_TEST_CLOSED_PORT")
        .unwrap_or("9")
        .to_owned()
}

/// A topic no other test uses.
pub fn unique_topic(prefix: &str) -> String {
    format!(
        "test/{prefix}/{}",
        mqtt_chat::browser::random_hex(6).expect("random hex")
    )
}

/// Poll `check` every 20 ms until it yields a value, or fail after `timeout_ms`.
pub async fn wait_for<T>(what: &str, timeout_ms: f64, mut check: impl FnMut() -> Option<T>) -> T {
    let start = js_sys::Date::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        if js_sys::Date::now() - start > timeout_ms {
            panic!("timed out after {timeout_ms} ms waiting for {what}");
        }
        TimeoutFuture::new(20).await;
    }
}
