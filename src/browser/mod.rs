//! Small typed wrappers over the browser APIs the app needs and gloo does not cover:
//! the clock, the page location, Web Storage that never panics, and a per-tab identity.

pub mod crypto;
pub mod early_socket;
pub mod identity;
pub mod live_ids;
pub mod notify;
pub mod route;
pub mod scope;
pub mod web_storage;

use mqtt_core::Instant;

/// Monotonic time for the protocol core (`performance.now()`, which keeps running in
/// hidden tabs).
/// The clock is read for every packet: the `Performance` object is looked up once.
pub fn now() -> Instant {
    thread_local! {
        static PERFORMANCE: Option<web_sys::Performance> =
            web_sys::window().and_then(|w| w.performance());
    }
    let ms = PERFORMANCE
        .with(|p| p.as_ref().map(web_sys::Performance::now))
        .unwrap_or_else(js_sys::Date::now);
    Instant::from_millis(ms.max(0.0) as u64)
}

/// Wall-clock time, ms since the Unix epoch, for timestamps people read.
pub fn wall_clock_ms() -> f64 {
    js_sys::Date::now()
}

/// Today's date in the user's local time, `YYYY-MM-DD`.
pub fn today() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{:04}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
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

/// No secure random numbers: ids made without them could be guessed or repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("This browser gives the page no secure random numbers (crypto.getRandomValues), so the chat cannot make an id for this tab. Try a current browser.")]
pub struct NoRandomness;

/// `n` random bytes as lowercase hex, from `crypto.getRandomValues` through getrandom (which
/// works in insecure contexts too, unlike `randomUUID`). Never a weaker fallback.
pub fn random_hex(n: usize) -> Result<String, NoRandomness> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|_| NoRandomness)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The page's query string (`?a=b`), or empty.
pub fn query_string() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// The page came over https (where browsers block `ws://`).
pub fn page_is_https() -> bool {
    web_sys::window()
        .and_then(|w| w.location().protocol().ok())
        .is_some_and(|p| p == "https:")
}

/// Take `name` out of the page's address (history entry replaced, no reload).
pub fn remove_query_param(name: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(href) = window.location().href() else {
        return;
    };
    let Ok(url) = web_sys::Url::new(&href) else {
        return;
    };
    url.search_params().delete(name);
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url.href()));
    }
}

/// Go to the page at `query` (a new load: the new connection starts from scratch).
pub fn load_with_query(query: &str) {
    if let Some(window) = web_sys::window() {
        let location = window.location();
        let path = location.pathname().unwrap_or_else(|_| "/".into());
        let _ = location.assign(&format!("{path}{query}"));
    }
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
