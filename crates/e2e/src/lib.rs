//! Harness for the end-to-end tests: serves the trunk-built `dist/`, starts chromedriver and
//! opens Chromium sessions, and reads the app's DOM contract. The tests live in `tests/`.
//!
//! Environment (set by scripts/test): `MQTT_CHAT_DIST`, `MQTT_CHAT_BROKER_TCP_PORT`,
//! `MQTT_CHAT_BROKER_WS_PORT`.
