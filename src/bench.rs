//! Hooks for `scripts/bench`, switched on once per page by `?bench` in its URL, so the app's
//! own types carry nothing for them: a performance mark at the first `connected`, the
//! arrival time and count of messages, and a handle on the Wasm memory for its size.

use std::cell::Cell;

use wasm_bindgen::JsValue;

thread_local! {
    static ENABLED: Cell<bool> = const { Cell::new(false) };
}

/// Switch the hooks on if the page URL asks for them.
pub fn init_from_query(query: &str) {
    let enabled = web_sys::UrlSearchParams::new_with_str(query)
        .map(|p| p.has("bench"))
        .unwrap_or(false);
    ENABLED.with(|e| e.set(enabled));
    if enabled {
        set_global("__mqttChatMemory", &wasm_bindgen::memory());
    }
}

fn enabled() -> bool {
    ENABLED.with(Cell::get)
}

/// A step of start-up, for the benchmark's breakdown: `performance.mark(name)`.
pub fn mark(name: &str) {
    if enabled() {
        if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
            let _ = p.mark(name);
        }
    }
}

/// The link is up: `performance.getEntriesByName("mqtt-chat:connected")`.
pub fn connected() {
    if enabled() {
        if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
            let _ = p.mark("mqtt-chat:connected");
        }
    }
}

/// The stored history went into the view: `performance.getEntriesByName("mqtt-chat:history")`
/// is marked once the view has put it in the DOM (a macrotask later: Leptos renders in
/// microtasks).
pub fn history_shown() {
    if enabled() {
        leptos::prelude::set_timeout(
            || {
                if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
                    let _ = p.mark("mqtt-chat:history");
                }
            },
            std::time::Duration::ZERO,
        );
    }
}

/// A message arrived from the broker: `window.__mqttChatLastArrival` (performance.now())
/// and `window.__mqttChatArrivals` (how many so far).
pub fn arrived() {
    if !enabled() {
        return;
    }
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        set_global("__mqttChatLastArrival", &JsValue::from_f64(p.now()));
    }
    if let Some(w) = web_sys::window() {
        let key = JsValue::from_str("__mqttChatArrivals");
        let n = js_sys::Reflect::get(&w, &key)
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        let _ = js_sys::Reflect::set(&w, &key, &JsValue::from_f64(n + 1.0));
    }
}

fn set_global(name: &str, value: &JsValue) {
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &JsValue::from_str(name), value);
    }
}

/// The search answered a query: `window.__mqttChatSearches` (how many so far) and
/// `window.__mqttChatSearched` (performance.now()).
pub fn searched() {
    if !enabled() {
        return;
    }
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        set_global("__mqttChatSearched", &JsValue::from_f64(p.now()));
    }
    if let Some(w) = web_sys::window() {
        let key = JsValue::from_str("__mqttChatSearches");
        let n = js_sys::Reflect::get(&w, &key)
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        let _ = js_sys::Reflect::set(&w, &key, &JsValue::from_f64(n + 1.0));
    }
}
