//! The browser tests: the app's components and its client in headless Chromium, against a
//! real Mosquitto (`MQTT_CHAT_TEST_BROKER`) and the real IndexedDB, localStorage and DOM.
//!
//! One test binary, so the runner builds its page and starts the browser once (each binary
//! costs about 8 s here). Tests share that page: each uses topics, rooms and storage names
//! of its own (`common::unique_topic`), and unmounts what it mounted.
//!
//! `scripts/test` runs them; alone: see README, "Tests".

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;

mod client;
mod crypto;
mod identity;
mod rooms;
mod settings;
mod storage;
mod watch;
