//! Where the app connects, as whom and what it listens to: the page URL, then what this tab
//! chose in the connection panel, then the saved connections.

use chat::{check_broker_list, Connection, MqttVersion, RoomName, RoomNameError};
pub use chat::{BrokerUrlError, SavedConnections};
use mqtt_core::Credentials;
use wasm_bindgen::JsValue;

use crate::browser::web_storage::{self, Area};

/// The WebSocket port of the project's `mosquitto.conf`.
pub const DEFAULT_BROKER_PORT: u16 = 9001;
/// localStorage: the saved connections (passwords only where "remember" was ticked).
pub const SAVED_KEY: &str = "mqtt-chat.connections";
/// sessionStorage: the connection this tab chose, with its password, so a reload of the tab
/// stays signed in. Gone with the tab.
pub const ACTIVE_KEY: &str = "mqtt-chat.active";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppConfig {
    /// The broker URL, or why the one given is unusable.
    pub broker_url: Result<String, BrokerUrlError>,
    /// `?room=NAME`: the room to open (and join), or why that name is refused.
    pub room: Option<Result<RoomName, RoomNameError>>,
    /// The user name, and the password this tab was given (panel, saved connection).
    pub credentials: Option<Credentials>,
    /// `?protocol=5` or the panel: the MQTT version.
    pub protocol: MqttVersion,
    /// Keep the conversation in this browser (IndexedDB); `?history=off` turns it off.
    pub keep_history: bool,
    /// What everything kept is filed under (see `browser::scope`); `None`: the default names.
    pub scope: Option<String>,
    /// The page's address carried `?password=`; it has been taken out, unused.
    pub password_in_link: bool,
}

impl AppConfig {
    /// From the current page: `?broker=ws://host:port[/path]` (or several, separated by
    /// commas), else `ws://<page host>:9001`;
    /// `?protocol=`, `?username=`. A `?password=` is removed from the address at once.
    pub fn from_page() -> Self {
        let query = crate::browser::query_string();
        let password_in_link = param(&query, "password").is_some();
        if password_in_link {
            crate::browser::remove_query_param("password");
        }
        let default_url = default_broker_url();
        let broker_url = broker_url(&query, &crate::browser::page_hostname());
        let username = param(&query, "username")
            .map(|u| u.trim().to_owned())
            .unwrap_or_default();
        let protocol = param(&query, "protocol")
            .and_then(|p| MqttVersion::parse(&p))
            .unwrap_or_default();
        let url = broker_url.clone().unwrap_or_default();
        let password = known_password(&url, &username);
        let connection = Connection {
            url,
            protocol,
            username: username.clone(),
            password: None,
        };
        AppConfig {
            scope: broker_url
                .as_ref()
                .ok()
                .and_then(|_| connection.scope(&default_url)),
            broker_url,
            room: room(&query),
            credentials: (!username.is_empty()).then(|| Credentials {
                username,
                password: password.unwrap_or_default(),
            }),
            protocol,
            keep_history: keep_history(&query),
            password_in_link,
        }
    }

    /// The rooms remembered in this browser on `broker_url`, without credentials.
    pub fn new(broker_url: Result<String, BrokerUrlError>) -> Self {
        AppConfig {
            broker_url,
            room: None,
            credentials: None,
            protocol: MqttVersion::V311,
            keep_history: true,
            scope: None,
            password_in_link: false,
        }
    }

    /// The signed-in user, if the name can be pinned into a topic level (see
    /// `chat::valid_author`); others publish on the plain topics.
    pub fn verified_user(&self) -> Option<String> {
        self.credentials
            .as_ref()
            .map(|c| c.username.clone())
            .filter(|u| chat::valid_author(u))
    }
}

fn param(query: &str, name: &str) -> Option<String> {
    web_sys::UrlSearchParams::new_with_str(query)
        .ok()?
        .get(name)
}

/// `ws://<page host>:9001`: README command 1's broker, beside the page.
pub fn default_broker_url() -> String {
    format!(
        "ws://{}:{DEFAULT_BROKER_PORT}",
        crate::browser::page_hostname()
    )
}

/// The connections saved in this browser.
pub fn saved_connections() -> SavedConnections {
    web_storage::get_raw(Area::Local, SAVED_KEY)
        .map(|text| SavedConnections::from_json(&text))
        .unwrap_or_default()
}

pub fn save_connections(saved: &SavedConnections) -> Result<(), String> {
    web_storage::set_raw(Area::Local, SAVED_KEY, &saved.to_json())
}

/// The connection this tab chose in the panel (with its password), if any.
pub fn active_connection() -> Option<Connection> {
    web_storage::get::<Connection>(Area::Session, ACTIVE_KEY)
}

pub fn set_active_connection(connection: &Connection) -> Result<(), String> {
    web_storage::set(Area::Session, ACTIVE_KEY, connection)
}

/// The password for `username` on `url`: the one this tab was given, else a remembered one.
fn known_password(url: &str, username: &str) -> Option<String> {
    if username.is_empty() {
        return None;
    }
    active_connection()
        .filter(|c| c.url == url && c.username == username)
        .and_then(|c| c.password)
        .or_else(|| {
            saved_connections()
                .find(url, username)
                .and_then(|c| c.password.clone())
        })
}

/// `?room=NAME`, if given.
pub fn room(query: &str) -> Option<Result<RoomName, RoomNameError>> {
    Some(RoomName::parse(&param(query, "room")?))
}

/// `?history=off` keeps nothing of the conversation in this browser.
pub fn keep_history(query: &str) -> bool {
    param(query, "history").is_none_or(|v| v != "off")
}

/// The broker URL for a page with query string `query` served from `page_host`.
pub fn broker_url(query: &str, page_host: &str) -> Result<String, BrokerUrlError> {
    match param(query, "broker") {
        None => Ok(format!("ws://{page_host}:{DEFAULT_BROKER_PORT}")),
        Some(raw) => validate_broker_url(&raw),
    }
}

/// A broker address typed or linked, or several separated by commas (tried in turn): each
/// checked in words (`chat::check_broker_list`), then by the browser's own URL parser.
pub fn validate_broker_url(raw: &str) -> Result<String, BrokerUrlError> {
    let checked = check_broker_list(raw, crate::browser::page_is_https())?;
    for url in chat::broker_urls(&checked) {
        web_sys::Url::new(url).map_err(|_: JsValue| BrokerUrlError::NotAUrl {
            address: url.to_owned(),
        })?;
    }
    Ok(checked)
}
