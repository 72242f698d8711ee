//! Hooks for `scripts/bench`, active only with `?bench` in the page URL, so the normal app
//! pays one flag check: a performance mark at the first `connected`, the arrival time of the
//! newest message, and a handle on the Wasm memory for its size.

use wasm_bindgen::JsValue;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BenchHooks {
    enabled: bool,
}

impl BenchHooks {
    pub fn from_query(query: &str) -> Self {
        let enabled = web_sys::UrlSearchParams::new_with_str(query)
            .map(|p| p.has("bench"))
            .unwrap_or(false);
        if enabled {
            set_global("__mqttChatMemory", &wasm_bindgen::memory());
        }
        BenchHooks { enabled }
    }

    /// The link is up: `performance.getEntriesByName("mqtt-chat:connected")`.
    pub fn connected(self) {
        if self.enabled {
            if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
                let _ = p.mark("mqtt-chat:connected");
            }
        }
    }

    /// A message arrived from the broker: `window.__mqttChatLastArrival` (performance.now())
    /// and `window.__mqttChatArrivals` (how many so far).
    pub fn arrived(self) {
        if self.enabled {
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
    }
}

fn set_global(name: &str, value: &JsValue) {
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &JsValue::from_str(name), value);
    }
}
