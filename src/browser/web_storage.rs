//! Web Storage that never panics. (gloo-storage's `raw()` throws when storage is blocked, and
//! its error conversion assumes every thrown value is an `Error`; a panic in Wasm kills the
//! page.) Values are JSON; every failure comes back as words for the user.

use super::js_error_text;
use serde::{de::DeserializeOwned, Serialize};

#[derive(Clone, Copy, Debug)]
pub enum Area {
    /// Survives reloads and closing the tab (per origin).
    Local,
    /// Survives reloads of this tab only; copied when a tab is duplicated.
    Session,
}

fn storage(area: Area) -> Result<web_sys::Storage, String> {
    let window = web_sys::window().ok_or("no window")?;
    let storage = match area {
        Area::Local => window.local_storage(),
        Area::Session => window.session_storage(),
    };
    storage
        .map_err(|e| js_error_text(&e))?
        .ok_or_else(|| "storage is not available".to_owned())
}

/// The value at `key`, if there is one that parses.
pub fn get<T: DeserializeOwned>(area: Area, key: &str) -> Option<T> {
    let raw = storage(area).ok()?.get_item(key).ok()??;
    serde_json::from_str(&raw).ok()
}

/// The raw string at `key`.
pub fn get_raw(area: Area, key: &str) -> Option<String> {
    storage(area).ok()?.get_item(key).ok()?
}

pub fn set<T: Serialize>(area: Area, key: &str, value: &T) -> Result<(), String> {
    let json = serde_json::to_string(value).map_err(|e| e.to_string())?;
    set_raw(area, key, &json)
}

pub fn set_raw(area: Area, key: &str, value: &str) -> Result<(), String> {
    storage(area)?
        .set_item(key, value)
        .map_err(|e| js_error_text(&e))
}

pub fn remove(area: Area, key: &str) {
    if let Ok(s) = storage(area) {
        let _ = s.remove_item(key);
    }
}
