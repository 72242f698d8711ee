//! Where the app connects and what it listens to, from the page URL.

pub use chat::BrokerUrlError;
use chat::{RoomName, RoomNameError};
use mqtt_core::Credentials;
use wasm_bindgen::JsValue;

/// The WebSocket port of the project's `mosquitto.conf`.
pub const DEFAULT_BROKER_PORT: u16 = 9001;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppConfig {
    /// The broker URL, or why the one given is unusable.
    pub broker_url: Result<String, BrokerUrlError>,
    /// `?room=NAME`: the room to open (and join), or why that name is refused.
    pub room: Option<Result<RoomName, RoomNameError>>,
    /// From `?username=…&password=…`, until a sign-in form comes with the auth issue.
    pub credentials: Option<Credentials>,
    /// Keep the conversation in this browser (IndexedDB); `?history=off` turns it off.
    pub keep_history: bool,
}

impl AppConfig {
    /// From the current page: `?broker=ws://host:port[/path]`, else `ws://<page host>:9001`.
    pub fn from_page() -> Self {
        let query = crate::browser::query_string();
        AppConfig {
            broker_url: broker_url(&query, &crate::browser::page_hostname()),
            room: room(&query),
            credentials: credentials(&query),
            keep_history: keep_history(&query),
        }
    }

    /// The rooms remembered in this browser on `broker_url`, without credentials.
    pub fn new(broker_url: Result<String, BrokerUrlError>) -> Self {
        AppConfig {
            broker_url,
            room: None,
            credentials: None,
            keep_history: true,
        }
    }
}

/// `?room=NAME`, if given.
pub fn room(query: &str) -> Option<Result<RoomName, RoomNameError>> {
    let name = web_sys::UrlSearchParams::new_with_str(query)
        .ok()?
        .get("room")?;
    Some(RoomName::parse(&name))
}

/// `?history=off` keeps nothing of the conversation in this browser.
pub fn keep_history(query: &str) -> bool {
    web_sys::UrlSearchParams::new_with_str(query)
        .ok()
        .and_then(|p| p.get("history"))
        .is_none_or(|v| v != "off")
}

/// `?username=…&password=…` (the password may be empty; without a user name there is none).
pub fn credentials(query: &str) -> Option<Credentials> {
    let params = web_sys::UrlSearchParams::new_with_str(query).ok()?;
    let username = params.get("username").filter(|u| !u.is_empty())?;
    Some(Credentials {
        username,
        password: params.get("password").unwrap_or_default(),
    })
}

/// The broker URL for a page with query string `query` served from `page_host`.
pub fn broker_url(query: &str, page_host: &str) -> Result<String, BrokerUrlError> {
    let given = web_sys::UrlSearchParams::new_with_str(query)
        .ok()
        .and_then(|params| params.get("broker"));
    match given {
        None => Ok(format!("ws://{page_host}:{DEFAULT_BROKER_PORT}")),
        Some(raw) => validate_broker_url(raw.trim()),
    }
}

fn validate_broker_url(raw: &str) -> Result<String, BrokerUrlError> {
    let address = || raw.to_owned();
    let url = web_sys::Url::new(raw)
        .map_err(|_: JsValue| BrokerUrlError::NotAUrl { address: address() })?;
    if url.protocol() != "ws:" && url.protocol() != "wss:" {
        return Err(BrokerUrlError::WrongScheme { address: address() });
    }
    if url.hostname().is_empty() {
        return Err(BrokerUrlError::NoHost { address: address() });
    }
    Ok(raw.to_owned())
}
