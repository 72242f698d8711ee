//! The page's route, in the location hash: `#/` (or none) is the chat, `#/watch` the topic
//! viewer, deep-linkable with the filters it watches: `#/watch?filter=matches/%23&qos=1`.
//! A hash, not a path, so the static server (trunk, any file server) needs no rewrite rule.

use mqtt_core::QoS;
use wasm_bindgen::JsValue;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageRoute {
    Chat,
    /// The viewer, with the filters (and QoS) a link asks it to watch.
    Watch {
        filters: Vec<String>,
        qos: Option<QoS>,
    },
}

impl PageRoute {
    pub fn is_watch(&self) -> bool {
        matches!(self, PageRoute::Watch { .. })
    }
}

/// The route of the page now.
pub fn current() -> PageRoute {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    parse(&hash)
}

/// Read a hash. Values are percent-decoded (`+` stays `+`: it is a wildcard here, not a
/// space); one that does not decode is left out.
pub fn parse(hash: &str) -> PageRoute {
    let path = hash.strip_prefix('#').unwrap_or(hash);
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    if path.trim_end_matches('/') != "/watch" {
        return PageRoute::Chat;
    }
    let mut filters = Vec::new();
    let mut qos = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let Ok(value) = js_sys::decode_uri_component(value) else {
            continue;
        };
        let value = String::from(value);
        match key {
            "filter" if !value.is_empty() => filters.push(value),
            "qos" => {
                qos = match value.as_str() {
                    "0" => Some(QoS::AtMostOnce),
                    "1" => Some(QoS::AtLeastOnce),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    PageRoute::Watch { filters, qos }
}

/// The viewer's hash for `filters`, readable: `/`, `+` and `$` are left as they are.
pub fn watch_hash<'a>(filters: impl IntoIterator<Item = &'a str>) -> String {
    let mut hash = String::from("#/watch");
    for (i, f) in filters.into_iter().enumerate() {
        hash.push(if i == 0 { '?' } else { '&' });
        hash.push_str("filter=");
        let encoded = String::from(js_sys::encode_uri_component(f));
        hash.push_str(
            &encoded
                .replace("%2F", "/")
                .replace("%2B", "+")
                .replace("%24", "$"),
        );
    }
    hash
}

/// Put `hash` in the address bar without a new history entry or a `hashchange`; an empty
/// one takes the fragment away.
pub fn replace_hash(hash: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    if location.hash().ok().as_deref() == Some(hash) {
        return;
    }
    let url = if hash.is_empty() {
        location.pathname().unwrap_or_default() + &location.search().unwrap_or_default()
    } else {
        hash.to_owned()
    };
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}
