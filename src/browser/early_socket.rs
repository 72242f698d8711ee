//! The WebSocket that `index.html` opens while the Wasm is still loading (issue 11): the
//! broker's handshake then overlaps the download and compile instead of following them.
//! The page script knows only `?broker=` and the default address; the transport takes the
//! socket for its first attempt when it wants that same URL, and any other use closes it.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::WebSocket;

/// Where `index.html` leaves it: `{ url, ws }`.
const GLOBAL: &str = "__mqttChatEarly";

/// The early socket, if the page opened one to `url` and it is still connecting or open.
/// It is taken either way: a socket to another URL, or one that already failed, is closed.
pub fn take(url: &str) -> Option<WebSocket> {
    let window = web_sys::window()?;
    let key = JsValue::from_str(GLOBAL);
    let early = js_sys::Reflect::get(&window, &key).ok()?;
    if early.is_undefined() || early.is_null() {
        return None;
    }
    let _ = js_sys::Reflect::delete_property(&window, &key);
    let ws = js_sys::Reflect::get(&early, &JsValue::from_str("ws"))
        .ok()?
        .dyn_into::<WebSocket>()
        .ok()?;
    let same = js_sys::Reflect::get(&early, &JsValue::from_str("url"))
        .ok()
        .and_then(|u| u.as_string())
        .is_some_and(|u| u == url);
    if same && matches!(ws.ready_state(), WebSocket::CONNECTING | WebSocket::OPEN) {
        Some(ws)
    } else {
        let _ = ws.close();
        None
    }
}
