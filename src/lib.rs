//! A browser MQTT chat client.
//!
//! Layers, inside out:
//! - `mqtt-core` (crate): the sans-IO MQTT 3.1.1 session.
//! - `chat` (crate): the chat domain: wire message, validation, message log, status words.
//! - [`transport`]: drives the core over a gloo-net WebSocket.
//! - [`session`]: joins transport and domain into signals for the view.
//! - [`ui`]: Leptos components.
//! - [`browser`] and [`config`]: small wrappers over browser APIs and the page URL.

pub mod bench;
pub mod browser;
pub mod config;
pub mod session;
pub mod transport;
pub mod ui;

pub use config::AppConfig;
pub use ui::App;
