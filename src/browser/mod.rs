//! Small typed wrappers over the browser APIs the app needs and gloo does not cover:
//! the clock, the page location, Web Storage that never panics, and a per-tab identity.

pub mod identity;
pub mod web_storage;

use mqtt_core::Instant;

/// Monotonic time for the protocol core (`performance.now()`, which keeps running in
/// hidden tabs).
pub fn now() -> Instant {
    let ms = web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now);
    Instant::from_millis(ms.max(0.0) as u64)
}

/// Wall-clock time, ms since the Unix epoch, for timestamps people read.
pub fn wall_clock_ms() -> f64 {
    js_sys::Date::now()
}

/// `HH:MM:SS` in the user's local time.
pub fn format_time(epoch_ms: f64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(epoch_ms));
    format!(
        "{:02}:{:02}:{:02}",
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    )
}

/// `n` random bytes as lowercase hex, from `crypto.getRandomValues` (works in insecure
/// contexts too, unlike `randomUUID`). Falls back to `Math.random` if crypto is missing.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes).ok())
        .is_some();
    if !filled {
        for b in &mut bytes {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The page's query string (`?a=b`), or empty.
pub fn query_string() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// The page's host name (no port), or `127.0.0.1` outside a page served over HTTP.
pub fn page_hostname() -> String {
    web_sys::window()
        .and_then(|w| w.location().hostname().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "127.0.0.1".into())
}

/// A thrown JavaScript value (`DOMException`, `Error`, anything) in words, without `Debug`.
pub fn js_error_text(e: &wasm_bindgen::JsValue) -> String {
    let field = |name: &str| {
        js_sys::Reflect::get(e, &wasm_bindgen::JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
    };
    match (field("name"), field("message")) {
        (Some(name), _) if name == "QuotaExceededError" => "browser storage is full".into(),
        (Some(name), Some(message)) => format!("{name}: {message}"),
        _ => e
            .as_string()
            .unwrap_or_else(|| "unknown browser error".into()),
    }
}
