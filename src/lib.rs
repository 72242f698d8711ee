//! A browser MQTT chat client.
//!
//! Layers, inside out:
//! - `mqtt-core` (crate): the sans-IO MQTT session (3.1.1 and 5).
//! - `chat` (crate): the chat domain: wire message, validation, message log, status words.
//! - [`transport`]: drives the core over a gloo-net WebSocket.
//! - [`session`]: joins transport, domain and storage into signals for the view.
//! - [`persist`]: what is kept in this browser (IndexedDB history and outbox, preferences).
//! - [`ui`]: Leptos components.
//! - [`split`]: the parts fetched as Wasm chunks when first used (with `ui::chunks`).
//! - [`browser`] and [`config`]: small wrappers over browser APIs and the page URL.

pub mod bench;
pub mod browser;
pub mod config;
pub mod persist;
pub mod session;
pub mod split;
pub mod transport;
pub mod ui;

pub use config::AppConfig;
pub use ui::App;
