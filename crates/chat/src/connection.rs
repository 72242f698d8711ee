//! Where to connect and as whom: the broker address checked into words, the MQTT version,
//! the saved connections of the panel, and the scope everything kept is filed under.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

/// Saved connections kept at most (the oldest used goes first).
pub const MAX_SAVED: usize = 20;
/// Broker addresses one connection may name (the nodes of a cluster, tried in turn).
pub const MAX_BROKERS: usize = 8;

/// Why a broker address cannot be used, in words that say what to type instead.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BrokerUrlError {
    #[error("Enter the broker's WebSocket address, for example ws://localhost:9001 or wss://broker.example.com:8084/mqtt.")]
    Empty,
    #[error("The broker address \"{address}\" is not a URL; use ws://host:port[/path] or wss://host:port[/path].")]
    NotAUrl { address: String },
    #[error("\"{address}\" is a web page address. MQTT in a browser goes over WebSockets: use ws:// or wss:// and the broker's WebSocket port.")]
    WebPage { address: String },
    #[error("Browsers cannot open {scheme}:// (plain TCP) connections. Use the broker's WebSocket listener: ws:// or wss:// and its port (often 8083/8084 with the path /mqtt, or 9001).")]
    Tcp { address: String, scheme: String },
    #[error("The broker address \"{address}\" must start with ws:// or wss://.")]
    WrongScheme { address: String },
    #[error("The broker address \"{address}\" has no host.")]
    NoHost { address: String },
    #[error("This page was loaded over https, so the browser blocks the unencrypted ws:// address \"{address}\" (mixed content). Use wss://.")]
    MixedContent { address: String },
    #[error("{count} broker addresses are too many: name at most {max}, separated by commas.", max = MAX_BROKERS)]
    TooMany { count: usize },
}

/// A connection's broker addresses: one, or several separated by commas
/// (`ws://a:9001,ws://b:9001`), tried in turn when the link is lost. Empty parts are skipped.
pub fn broker_urls(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|url| !url.is_empty())
}

/// Checks a list of broker addresses (see [`broker_urls`]) address by address, and returns
/// it as the app keeps it: trimmed, without repeats, joined by commas. One address is
/// returned as it was checked by [`check_broker_url`].
pub fn check_broker_list(raw: &str, page_is_https: bool) -> Result<String, BrokerUrlError> {
    let mut checked: Vec<String> = Vec::new();
    let count = broker_urls(raw).count();
    if count > MAX_BROKERS {
        // Said before checking anything: a link with a million addresses would otherwise
        // freeze the page comparing them.
        return Err(BrokerUrlError::TooMany { count });
    }
    for url in broker_urls(raw) {
        let url = check_broker_url(url, page_is_https)?;
        if !checked.contains(&url) {
            checked.push(url);
        }
    }
    if checked.is_empty() {
        return Err(BrokerUrlError::Empty);
    }
    Ok(checked.join(","))
}

/// Checks a broker address typed by the user or carried by a link. `page_is_https`: the page
/// itself came over https, where browsers refuse `ws://`. Returns the trimmed address.
pub fn check_broker_url(raw: &str, page_is_https: bool) -> Result<String, BrokerUrlError> {
    let address = raw.trim();
    if address.is_empty() {
        return Err(BrokerUrlError::Empty);
    }
    let owned = || address.to_owned();
    let Some((scheme, rest)) = address.split_once("://") else {
        return Err(BrokerUrlError::NotAUrl { address: owned() });
    };
    let scheme = scheme.to_ascii_lowercase();
    match scheme.as_str() {
        "ws" | "wss" => {}
        "http" | "https" => return Err(BrokerUrlError::WebPage { address: owned() }),
        "mqtt" | "mqtts" | "tcp" | "ssl" | "tls" => {
            return Err(BrokerUrlError::Tcp {
                address: owned(),
                scheme,
            })
        }
        _ => return Err(BrokerUrlError::WrongScheme { address: owned() }),
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // user:password@ before the host is not for MQTT credentials: refuse it as a URL.
    if authority.contains('@') || authority.contains(char::is_whitespace) {
        return Err(BrokerUrlError::NotAUrl { address: owned() });
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => return Err(BrokerUrlError::NotAUrl { address: owned() }),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(BrokerUrlError::NoHost { address: owned() });
    }
    if let Some(port) = port {
        if port.parse::<u16>().is_err() {
            return Err(BrokerUrlError::NotAUrl { address: owned() });
        }
    }
    if page_is_https && scheme == "ws" {
        return Err(BrokerUrlError::MixedContent { address: owned() });
    }
    Ok(owned())
}

/// The MQTT version a connection speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MqttVersion {
    #[default]
    #[serde(rename = "3.1.1")]
    V311,
    #[serde(rename = "5")]
    V5,
}

impl MqttVersion {
    /// `3.1.1` or `5`: the panel's option values and `?protocol=`.
    pub fn as_str(self) -> &'static str {
        match self {
            MqttVersion::V311 => "3.1.1",
            MqttVersion::V5 => "5",
        }
    }

    /// `3.1.1` (also `3`, `4`, `311`) or `5`; anything else is `None`.
    pub fn parse(raw: &str) -> Option<MqttVersion> {
        match raw.trim() {
            "3.1.1" | "3" | "4" | "311" => Some(MqttVersion::V311),
            "5" | "5.0" => Some(MqttVersion::V5),
            _ => None,
        }
    }
}

/// One connection: broker, version and user. The password is kept only when the user asked
/// for it to be remembered.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub url: String,
    pub protocol: MqttVersion,
    /// Empty: anonymous.
    #[serde(default)]
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a password.
        f.debug_struct("Connection")
            .field("url", &self.url)
            .field("protocol", &self.protocol)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Connection {
    pub fn anonymous(url: impl Into<String>) -> Connection {
        Connection {
            url: url.into(),
            protocol: MqttVersion::V311,
            username: String::new(),
            password: None,
        }
    }

    /// Same broker and user: one saved entry, one scope.
    pub fn same_place(&self, other: &Connection) -> bool {
        self.url == other.url && self.username == other.username
    }

    /// The `data-connection` key of a saved entry: user and broker.
    pub fn key(&self) -> String {
        if self.username.is_empty() {
            self.url.clone()
        } else {
            format!("{}@{}", self.username, self.url)
        }
    }

    /// What everything kept in the browser is filed under (unsent messages, history, client
    /// ids, rooms), so one user's or one broker's never reaches another. `None` for the
    /// page's default broker without a user: the names every earlier version used. Several
    /// brokers are one place whatever their order (a cluster's nodes share the sessions), so
    /// a tab that comes back through another node finds its client id and history.
    pub fn scope(&self, default_url: &str) -> Option<String> {
        // `<user>@<url>` with `%`, `@` and `/` in the user name escaped, so the first `@`
        // always ends the user name and no two pairs share a scope.
        let user = self
            .username
            .replace('%', "%25")
            .replace('@', "%40")
            .replace('/', "%2F");
        let mut brokers: Vec<&str> = broker_urls(&self.url).collect();
        brokers.sort_unstable();
        let place = brokers.join(",");
        (place != default_url || !self.username.is_empty()).then(|| format!("{user}@{place}"))
    }
}

/// The connections of the panel, most recently used first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SavedConnections {
    list: Vec<Connection>,
}

impl SavedConnections {
    /// Reads what was kept; entries that do not parse are skipped (a hand-edited or older
    /// store loses only those).
    pub fn from_json(text: &str) -> SavedConnections {
        let list = match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => items
                .into_iter()
                .filter_map(|item| serde_json::from_value::<Connection>(item).ok())
                .filter(|c| check_broker_list(&c.url, false).is_ok())
                .take(MAX_SAVED)
                .collect(),
            _ => Vec::new(),
        };
        SavedConnections { list }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.list).unwrap_or_else(|_| "[]".into())
    }

    pub fn list(&self) -> &[Connection] {
        &self.list
    }

    /// Put `connection` first, replacing the entry for the same broker and user. Without a
    /// password to keep, one remembered before is forgotten.
    pub fn upsert(&mut self, connection: Connection) {
        self.list.retain(|c| !c.same_place(&connection));
        self.list.insert(0, connection);
        self.list.truncate(MAX_SAVED);
    }

    /// Forget the entry with this key. Returns whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        let before = self.list.len();
        self.list.retain(|c| c.key() != key);
        self.list.len() != before
    }

    /// The saved entry for this broker and user, if any.
    pub fn find(&self, url: &str, username: &str) -> Option<&Connection> {
        self.list
            .iter()
            .find(|c| c.url == url && c.username == username)
    }
}

/// What an import of saved connections found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// Usable connections, without passwords (an imported file's passwords are not kept:
    /// the user ticks "remember" for that).
    pub connections: Vec<Connection>,
    /// Entries that could not be used, each with why, in words.
    pub skipped: Vec<String>,
}

/// Why a file of connections could not be read at all.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ImportError {
    #[error("This file is not JSON.")]
    NotJson,
    #[error("This file holds no list of connections.")]
    NotAList,
}

/// Most entries read from one import.
pub const MAX_IMPORT: usize = 200;

/// Reads a file of connections: this app's export (`[{"url","protocol","username"}]`) or
/// MQTTX's (`[{"name","host","port","path","protocol":"ws"|"wss","ssl","mqttVersion",
/// "username","password"}]`, also wrapped as `{"connections": [...]}`). Entries a browser
/// cannot use (MQTTX's `mqtt://` and `mqtts://` ones) are skipped and said why.
pub fn import_connections(text: &str) -> Result<Imported, ImportError> {
    let value: Value = serde_json::from_str(text).map_err(|_| ImportError::NotJson)?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("connections") {
            Some(Value::Array(items)) => items,
            _ => return Err(ImportError::NotAList),
        },
        _ => return Err(ImportError::NotAList),
    };
    let mut imported = Imported::default();
    for (i, item) in items.into_iter().take(MAX_IMPORT).enumerate() {
        match import_one(&item) {
            Ok(c) => imported.connections.push(c),
            Err(why) => imported.skipped.push(format!("entry {}: {why}", i + 1)),
        }
    }
    Ok(imported)
}

fn import_one(item: &Value) -> Result<Connection, String> {
    let text = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default();
    let username = text("username").trim().to_owned();
    // This app's own export.
    if item.get("url").is_some() {
        let url = check_broker_url(text("url"), false).map_err(|e| e.to_string())?;
        let protocol = MqttVersion::parse(text("protocol")).unwrap_or_default();
        return Ok(Connection {
            url,
            protocol,
            username,
            password: None,
        });
    }
    // MQTTX: host, port, path and a protocol (or ssl) apart.
    let host = text("host").trim();
    if host.is_empty() {
        return Err("no broker address".into());
    }
    let scheme = match (text("protocol"), item.get("ssl").and_then(Value::as_bool)) {
        ("ws", _) => "ws",
        ("wss", _) => "wss",
        ("", Some(true)) => "wss",
        ("", _) => "ws",
        (other, _) => {
            return Err(format!(
            "{other}:// is plain TCP, which a browser cannot open; use the broker's WebSocket port"
        ))
        }
    };
    // MQTTX keeps the host bare, but some exports carry a scheme in it.
    let host = host.split("://").last().unwrap_or(host);
    let port = match item.get("port") {
        Some(Value::Number(n)) => n.as_u64().map(|p| format!(":{p}")),
        Some(Value::String(p)) if !p.is_empty() => Some(format!(":{p}")),
        _ => None,
    }
    .unwrap_or_default();
    let path = text("path");
    let path = match path {
        "" => String::new(),
        p if p.starts_with('/') => p.to_owned(),
        p => format!("/{p}"),
    };
    let url = check_broker_url(&format!("{scheme}://{host}{port}{path}"), false)
        .map_err(|e| e.to_string())?;
    let protocol = match text("mqttVersion") {
        "5.0" | "5" => MqttVersion::V5,
        _ => MqttVersion::V311,
    };
    Ok(Connection {
        url,
        protocol,
        username,
        password: None,
    })
}

impl SavedConnections {
    /// This list as a file to keep or to import elsewhere: never with passwords.
    pub fn export(&self) -> String {
        let list: Vec<Connection> = self
            .list
            .iter()
            .map(|c| Connection {
                password: None,
                ..c.clone()
            })
            .collect();
        serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".into())
    }

    /// Add imported connections after the ones kept (a kept entry for the same broker and
    /// user stays, with its remembered password). Returns how many were new.
    pub fn merge(&mut self, imported: Vec<Connection>) -> usize {
        let mut added = 0;
        for c in imported {
            if self.list.len() >= MAX_SAVED {
                break;
            }
            if !self.list.iter().any(|kept| kept.same_place(&c)) {
                self.list.push(c);
                added += 1;
            }
        }
        added
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_addresses_pass_trimmed() {
        for url in [
            "ws://localhost:9001",
            " ws://127.0.0.1:9001/ ",
            "wss://broker.emqx.io:8084/mqtt",
            "WSS://x.eu.hivemq.cloud:8884/mqtt",
            "ws://[::1]:9001",
            "ws://host",
        ] {
            assert_eq!(check_broker_url(url, false), Ok(url.trim().to_owned()));
        }
        assert!(check_broker_url("wss://h:8084/mqtt", true).is_ok());
    }

    #[test]
    fn a_list_of_brokers_is_checked_address_by_address() {
        assert_eq!(
            check_broker_list(" ws://a:9011 , ws://b:9012,, ws://a:9011 ,", false),
            Ok("ws://a:9011,ws://b:9012".into()),
            "trimmed, empty parts and repeats dropped"
        );
        assert_eq!(
            check_broker_list("ws://localhost:9001", false),
            Ok("ws://localhost:9001".into())
        );
        assert_eq!(
            broker_urls("ws://a:1, ws://b:2").collect::<Vec<_>>(),
            ["ws://a:1", "ws://b:2"]
        );
        let e = check_broker_list("ws://a:9011,mqtt://b:1883", false).unwrap_err();
        assert!(
            e.to_string().contains("Browsers cannot open mqtt://"),
            "{e}"
        );
        assert_eq!(check_broker_list(" , ", false), Err(BrokerUrlError::Empty));
        let many = (0..9)
            .map(|i| format!("ws://h:{}", 9000 + i))
            .collect::<Vec<_>>();
        let e = check_broker_list(&many.join(","), false).unwrap_err();
        assert_eq!(e, BrokerUrlError::TooMany { count: 9 });
        assert!(e.to_string().contains("at most 8"), "{e}");
    }

    #[test]
    fn bad_addresses_are_told_in_words() {
        let cases: [(&str, bool, &str); 10] = [
            ("", false, "Enter the broker's WebSocket address"),
            ("   ", false, "Enter the broker's WebSocket address"),
            ("localhost:9001", false, "is not a URL"),
            ("http://localhost:9001", false, "is a web page address"),
            ("https://h", false, "use ws:// or wss://"),
            ("mqtt://broker:1883", false, "Browsers cannot open mqtt://"),
            ("mqtts://broker:8883", false, "plain TCP"),
            ("ws://:9001", false, "has no host"),
            ("ws://localhost:9001", true, "blocks the unencrypted ws://"),
            ("ws://h:99999", false, "is not a URL"),
        ];
        for (url, https, words) in cases {
            let e = check_broker_url(url, https).expect_err(url);
            assert!(e.to_string().contains(words), "{url:?}: {e}");
        }
        assert!(matches!(
            check_broker_url("ftp://h", false),
            Err(BrokerUrlError::WrongScheme { .. })
        ));
        assert!(matches!(
            check_broker_url("ws://u:p@h:1", false),
            Err(BrokerUrlError::NotAUrl { .. })
        ));
        assert!(matches!(
            check_broker_url("ws://[::1", false),
            Err(BrokerUrlError::NotAUrl { .. })
        ));
    }

    #[test]
    fn versions_parse_and_print() {
        assert_eq!(MqttVersion::parse("5"), Some(MqttVersion::V5));
        assert_eq!(MqttVersion::parse("3.1.1"), Some(MqttVersion::V311));
        assert_eq!(MqttVersion::parse("6"), None);
        assert_eq!(MqttVersion::V5.as_str(), "5");
        assert_eq!(MqttVersion::default().as_str(), "3.1.1");
    }

    fn conn(url: &str, user: &str, password: Option<&str>) -> Connection {
        Connection {
            url: url.into(),
            protocol: MqttVersion::V5,
            username: user.into(),
            password: password.map(str::to_owned),
        }
    }

    #[test]
    fn saved_connections_round_trip_and_keep_passwords_only_when_given() {
        let mut saved = SavedConnections::default();
        saved.upsert(conn("ws://a:1", "alice", None));
        saved.upsert(conn("ws://b:2", "", None));
        saved.upsert(conn("ws://a:1", "alice", Some("pw")));
        assert_eq!(saved.list().len(), 2);
        assert_eq!(saved.list()[0].password.as_deref(), Some("pw"));
        let json = saved.to_json();
        assert_eq!(SavedConnections::from_json(&json), saved);
        // Not remembered any more: the password goes.
        saved.upsert(conn("ws://a:1", "alice", None));
        assert!(!saved.to_json().contains("pw"));
        assert!(saved.remove("alice@ws://a:1"));
        assert!(!saved.remove("alice@ws://a:1"));
        assert_eq!(saved.list().len(), 1);
        assert!(saved.find("ws://b:2", "").is_some());
    }

    #[test]
    fn a_damaged_store_loses_only_what_is_damaged() {
        let text = r#"[{"url":"ws://a:1","protocol":"5","username":"x"}, 42, {"url":"http://no"},
            {"url":"ws://b:1","protocol":"7"}, {"url":"ws://c:1","protocol":"3.1.1"}]"#;
        let saved = SavedConnections::from_json(text);
        let urls: Vec<&str> = saved.list().iter().map(|c| c.url.as_str()).collect();
        assert_eq!(urls, ["ws://a:1", "ws://c:1"]);
        assert!(SavedConnections::from_json("{").list().is_empty());
        let many: Vec<String> = (0..30)
            .map(|i| format!(r#"{{"url":"ws://h:{i}","protocol":"5"}}"#))
            .collect();
        let saved = SavedConnections::from_json(&format!("[{}]", many.join(",")));
        assert_eq!(saved.list().len(), MAX_SAVED);
    }

    #[test]
    fn scopes_part_brokers_and_users() {
        let default = "ws://localhost:9001";
        assert_eq!(Connection::anonymous(default).scope(default), None);
        assert_eq!(
            conn(default, "alice", None).scope(default).as_deref(),
            Some("alice@ws://localhost:9001")
        );
        assert_eq!(
            Connection::anonymous("ws://other:1")
                .scope(default)
                .as_deref(),
            Some("@ws://other:1")
        );
        // A user name with `@` or `/` cannot make two pairs share a scope.
        assert_ne!(
            conn("ws://x", "a@ws://h/p", None).scope(default),
            conn("ws://h/p@ws://x", "a", None).scope(default)
        );
        assert_ne!(
            Connection::anonymous("ws://h/p@ws://x").scope(default),
            conn("ws://x", "ws://h/p", None).scope(default)
        );
        assert_ne!(
            conn(default, "alice", None).scope(default),
            conn(default, "bob", None).scope(default)
        );
        // A cluster is one place whatever the order its nodes are named in.
        assert_eq!(
            Connection::anonymous("ws://n2:9012,ws://n1:9011").scope(default),
            Connection::anonymous("ws://n1:9011,ws://n2:9012").scope(default)
        );
        assert_eq!(
            Connection::anonymous("ws://n2:9012,ws://n1:9011")
                .scope(default)
                .as_deref(),
            Some("@ws://n1:9011,ws://n2:9012")
        );
        assert_ne!(
            Connection::anonymous("ws://n1:9011").scope(default),
            Connection::anonymous("ws://n1:9011,ws://n2:9012").scope(default)
        );
    }

    #[test]
    fn an_export_has_no_passwords_and_imports_back() {
        let mut saved = SavedConnections::default();
        saved.upsert(conn("ws://a:1", "alice", Some("hunter2")));
        saved.upsert(conn("wss://b:2/mqtt", "", None));
        let file = saved.export();
        assert!(!file.contains("hunter2"), "{file}");
        let imported = import_connections(&file).unwrap();
        assert!(imported.skipped.is_empty());
        let mut again = SavedConnections::default();
        assert_eq!(again.merge(imported.connections), 2);
        assert_eq!(
            again.list().iter().map(Connection::key).collect::<Vec<_>>(),
            ["wss://b:2/mqtt", "alice@ws://a:1"]
        );
        // Merging keeps what is kept, remembered password included.
        let mut kept = saved.clone();
        assert_eq!(
            kept.merge(import_connections(&file).unwrap().connections),
            0
        );
        assert_eq!(
            kept.find("ws://a:1", "alice").unwrap().password.as_deref(),
            Some("hunter2")
        );
    }

    #[test]
    fn an_mqttx_export_imports_what_a_browser_can_use() {
        let file = r#"{"connections": [
            {"name":"emqx","host":"broker.emqx.io","port":8084,"path":"/mqtt","protocol":"wss",
             "ssl":true,"mqttVersion":"5.0","username":"u1","password":"secret","clientId":"x"},
            {"name":"local","host":"127.0.0.1","port":"9001","path":"","protocol":"ws","mqttVersion":"3.1.1"},
            {"name":"tcp","host":"h","port":1883,"protocol":"mqtt","mqttVersion":"3.1.1"},
            {"name":"nohost","host":"","port":1},
            "junk"
        ]}"#;
        let imported = import_connections(file).unwrap();
        let got: Vec<(String, MqttVersion, String)> = imported
            .connections
            .iter()
            .map(|c| (c.url.clone(), c.protocol, c.username.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "wss://broker.emqx.io:8084/mqtt".to_owned(),
                    MqttVersion::V5,
                    "u1".to_owned()
                ),
                (
                    "ws://127.0.0.1:9001".to_owned(),
                    MqttVersion::V311,
                    String::new()
                ),
            ]
        );
        assert!(imported.connections.iter().all(|c| c.password.is_none()));
        assert_eq!(imported.skipped.len(), 3, "{:?}", imported.skipped);
        assert!(imported.skipped[0].contains("mqtt:// is plain TCP"));
        assert_eq!(import_connections("{"), Err(ImportError::NotJson));
        assert_eq!(import_connections("42"), Err(ImportError::NotAList));
    }

    #[test]
    fn debug_never_prints_a_password() {
        let text = format!("{:?}", conn("ws://a:1", "u", Some("hunter2")));
        assert!(!text.contains("hunter2"), "{text}");
    }
}
