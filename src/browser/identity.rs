//! One MQTT client id per tab (FIELD.md #2).
//!
//! The id lives in sessionStorage, so a reload keeps it (needed for a persistent session).
//! A duplicated tab copies sessionStorage, so the id alone is not enough: each tab also holds
//! a Web Lock named after its id for as long as it lives. A tab that finds its id's lock
//! taken is a duplicate and makes a new id. Web Locks need a secure context (https or
//! localhost); elsewhere every load gets a fresh id, which is unique but not stable.

use futures::channel::oneshot;
use gloo_storage::{SessionStorage, Storage};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const KEY: &str = "mqtt-chat.client-id";

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks` (web-sys has it only behind `web_sys_unstable_apis`).
    type LockManager;

    #[wasm_bindgen(method, catch, js_name = request)]
    fn request(
        this: &LockManager,
        name: &str,
        options: &JsValue,
        callback: &js_sys::Function,
    ) -> Result<js_sys::Promise, JsValue>;
}

/// A fresh id: short enough for any MQTT 3.1.1 broker (23 characters at most).
pub fn new_client_id() -> String {
    format!("chat-{}", super::random_hex(8))
}

/// This tab's client id, claimed so that no other live tab uses it.
pub async fn tab_client_id() -> String {
    let stored = SessionStorage::get::<String>(KEY).ok();
    if let Some(id) = stored {
        match claim(&id).await {
            Some(true) => return id,
            Some(false) => {} // a duplicated tab: the original keeps the id
            None => return new_client_id(), // no Web Locks: never reuse
        }
    }
    let id = new_client_id();
    // Claiming a random new id cannot collide; it only needs to be held for later reloads.
    let _ = claim(&id).await;
    // If sessionStorage is unavailable or full, the id is still unique, only not kept.
    let _ = SessionStorage::set(KEY, &id);
    id
}

/// Take the lock `mqtt-chat:<id>` for the life of the page. `Some(false)` if another tab
/// holds it, `None` if this browser context has no Web Locks.
async fn claim(id: &str) -> Option<bool> {
    let navigator = web_sys::window()?.navigator();
    let locks = js_sys::Reflect::get(&navigator, &JsValue::from_str("locks")).ok()?;
    if locks.is_undefined() || locks.is_null() {
        return None;
    }
    let locks: LockManager = locks.unchecked_into();
    let (tx, rx) = oneshot::channel::<bool>();
    let callback = Closure::once_into_js(move |lock: JsValue| -> js_sys::Promise {
        let granted = !lock.is_null();
        let _ = tx.send(granted);
        if granted {
            // Never settles, so the lock is held until the page goes away.
            js_sys::Promise::new(&mut |_, _| {})
        } else {
            js_sys::Promise::resolve(&JsValue::UNDEFINED)
        }
    });
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE).ok()?;
    // A throw (an opaque origin, say) means no locks here; the callback then never runs.
    let _pending = locks
        .request(
            &format!("mqtt-chat:{id}"),
            &options,
            callback.unchecked_ref(),
        )
        .ok()?;
    rx.await.ok()
}
