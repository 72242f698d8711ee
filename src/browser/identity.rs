//! One MQTT client id per tab (FIELD.md #2), stable enough for persistent sessions.
//!
//! A tab's id lives in sessionStorage, so a reload keeps it. A duplicated tab copies
//! sessionStorage, so the id alone is not enough: each tab also holds a Web Lock named after
//! its id for as long as it lives, and a tab that finds its id's lock taken makes another.
//! Ids are also remembered in localStorage: a tab opened later takes one that no open tab
//! holds, so it resumes the broker session (and the outbox) of a tab that was closed, and
//! receives what that tab missed. Web Locks need a secure context (https or localhost);
//! elsewhere every load gets a fresh id that is never reused, and takes over the outbox of
//! the id this tab had before the reload.
//!
//! Chat messages name their sender by a separate random author id, never the client id:
//! anyone who knew a tab's client id could connect with it and take over its session.

use super::web_storage::{self as storage, Area};
use futures::channel::oneshot;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const TAB_KEY: &str = "mqtt-chat.client-id";
const KNOWN_KEY: &str = "mqtt-chat.client-ids";
/// Ids remembered for reuse; each one may have a broker session holding messages.
const KNOWN_MAX: usize = 8;

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

/// Who this tab is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TabIdentity {
    /// The MQTT client id: one live tab at a time.
    pub client_id: String,
    /// Names this tab's messages (`from`), so it knows its own.
    pub author_id: String,
    /// Without Web Locks: the id this tab had before the reload, whose outbox is now ours.
    pub previous_client_id: Option<String>,
}

/// This tab's identity, with a client id claimed so that no other live tab uses it.
pub async fn tab_identity() -> TabIdentity {
    let mine = storage::get::<String>(Area::Session, TAB_KEY);
    let known = storage::get::<Vec<String>>(Area::Local, KNOWN_KEY).unwrap_or_default();
    // The id from before a reload first, then ids that closed tabs left behind.
    for id in mine.iter().chain(known.iter()) {
        match claim(id).await {
            Some(true) => return identity(keep(id.clone(), known), None),
            Some(false) => {} // held by a live tab
            None => {
                // No Web Locks: never reuse an id, but carry this tab's outbox over.
                let id = new_client_id();
                let _ = storage::set(Area::Session, TAB_KEY, &id);
                if let Some(previous) = &mine {
                    // Keep signing as the same author, under the new id only.
                    let old = author_key(previous);
                    if let Some(author) = storage::get::<String>(Area::Local, &old) {
                        let _ = storage::set(Area::Local, &author_key(&id), &author);
                    }
                    storage::remove(Area::Local, &old);
                }
                return identity(id, mine.clone());
            }
        }
    }
    let id = new_client_id();
    // A random new id cannot collide; the lock only guards it for later tabs.
    let _ = claim(&id).await;
    identity(keep(id, known), None)
}

/// The ids in the reuse pool: a tab may still connect as one of these.
pub fn known_ids() -> Vec<String> {
    storage::get::<Vec<String>>(Area::Local, KNOWN_KEY).unwrap_or_default()
}

fn author_key(client_id: &str) -> String {
    format!("mqtt-chat.author.{client_id}")
}

fn identity(client_id: String, previous_client_id: Option<String>) -> TabIdentity {
    let key = author_key(&client_id);
    let author_id = storage::get::<String>(Area::Local, &key).unwrap_or_else(|| {
        let author = super::random_hex(8);
        let _ = storage::set(Area::Local, &key, &author);
        author
    });
    TabIdentity {
        client_id,
        author_id,
        previous_client_id,
    }
}

/// Remember `id` for this tab's reloads and for tabs opened later. Storage that is full or
/// blocked only costs the reuse; the id is still unique.
fn keep(id: String, mut known: Vec<String>) -> String {
    let _ = storage::set(Area::Session, TAB_KEY, &id);
    known.retain(|k| *k != id);
    known.insert(0, id.clone());
    for forgotten in known.drain(KNOWN_MAX.min(known.len())..) {
        storage::remove(Area::Local, &author_key(&forgotten));
    }
    let _ = storage::set(Area::Local, KNOWN_KEY, &known);
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
    // A throw or a rejection (an opaque origin, a sandboxed frame) means no locks here: the
    // callback then never runs. Nor may a browser that never answers keep the tab from
    // connecting.
    let request = locks
        .request(
            &format!("mqtt-chat:{id}"),
            &options,
            callback.unchecked_ref(),
        )
        .ok()?;
    let settled = wasm_bindgen_futures::JsFuture::from(request);
    let give_up = gloo_timers::future::TimeoutFuture::new(3_000);
    match futures::future::select(rx, futures::future::select(settled, give_up)).await {
        futures::future::Either::Left((granted, _)) => granted.ok(),
        futures::future::Either::Right(_) => None,
    }
}
