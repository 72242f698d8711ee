//! One MQTT client id per tab (FIELD.md #2), stable enough for persistent sessions.
//!
//! A tab's id lives in sessionStorage, so a reload keeps it. A duplicated tab copies
//! sessionStorage, so the id alone is not enough: each tab also holds a Web Lock named after
//! its id for as long as it lives, and a tab that finds its id's lock taken makes another.
//! Ids are also remembered in localStorage: a tab opened later takes one that no open tab
//! holds, so it resumes the broker session (and the outbox) of a tab that was closed, and
//! receives what that tab missed. Web Locks need a secure context (https or localhost);
//! elsewhere a tab asks the live tabs over a BroadcastChannel instead (`live_ids`), so a
//! reload still keeps its id and no broker session is left behind to queue messages.
//!
//! Chat messages name their sender by a separate random author id, never the client id:
//! anyone who knew a tab's client id could connect with it and take over its session.

use super::live_ids::Live;
use super::scope::scoped;
use super::web_storage::{self as storage, Area};
use super::{random_hex, NoRandomness};
use futures::channel::oneshot;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const TAB_KEY: &str = "mqtt-chat.client-id";
const KNOWN_KEY: &str = "mqtt-chat.client-ids";
const PERSON_KEY: &str = "mqtt-chat.person";
/// localStorage, per client id: the topic viewer's filters (`session::watch`), scoped.
const WATCH_KEY: &str = "mqtt-chat.watch";
/// Ids remembered for reuse; each one may have a broker session holding messages.
pub const KNOWN_MAX: usize = 8;

thread_local! {
    /// Without Web Locks: what answers for this page's id, for the life of the page.
    static ANSWERING: RefCell<Vec<Live>> = const { RefCell::new(Vec::new()) };
}

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

/// The ids in the reuse pool: a tab may still connect as one of these.
pub fn known_ids() -> Vec<String> {
    storage::get::<Vec<String>>(Area::Local, &scoped(KNOWN_KEY)).unwrap_or_default()
}

/// Those of `ids` that no open tab is using right now: the ones whose unsent messages may be
/// taken over. With Web Locks, an id is in use while its lock is held; without them, while a
/// tab answers for it on the BroadcastChannel. When neither can tell, none is free.
pub async fn not_in_use(ids: &[String]) -> Vec<String> {
    if ids.is_empty() {
        return Vec::new();
    }
    let held: Option<Vec<String>> = match lock_manager() {
        Some(locks) => held_locks(&locks).await,
        None => match (random_hex(8), crate::split::live_ids().await) {
            (Ok(nonce), Ok(live_ids)) => (live_ids.held)(ids.to_vec(), nonce).await,
            // No way to tell: none is free.
            _ => None,
        },
    };
    match held {
        Some(held) => ids
            .iter()
            .filter(|id| !held.contains(id))
            .cloned()
            .collect(),
        None => Vec::new(),
    }
}

/// The client ids whose `mqtt-chat:<id>` lock some tab holds (`navigator.locks.query()`).
async fn held_locks(locks: &LockManager) -> Option<Vec<String>> {
    let query = js_sys::Reflect::get(locks, &JsValue::from_str("query")).ok()?;
    let query: js_sys::Function = query.dyn_into().ok()?;
    let promise: js_sys::Promise = query.call0(locks).ok()?.dyn_into().ok()?;
    let snapshot = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let held = js_sys::Reflect::get(&snapshot, &JsValue::from_str("held")).ok()?;
    let held: js_sys::Array = held.dyn_into().ok()?;
    Some(
        held.iter()
            .filter_map(|lock| js_sys::Reflect::get(&lock, &JsValue::from_str("name")).ok())
            .filter_map(|name| name.as_string())
            .filter_map(|name| name.strip_prefix("mqtt-chat:").map(str::to_owned))
            .collect(),
    )
}

/// A fresh id: short enough for any MQTT 3.1.1 broker (23 characters at most).
pub fn new_client_id() -> Result<String, NoRandomness> {
    Ok(format!("chat-{}", random_hex(8)?))
}

/// Who this tab is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TabIdentity {
    /// The MQTT client id: one live tab at a time.
    pub client_id: String,
    /// Names this tab's messages (`from`), so it knows its own.
    pub author_id: String,
    /// Names this tab's presence topic (`chat/presence/<key>`): random, public, and tied to
    /// nothing else (not the client id, which would let anyone take the session over; not
    /// the author id, which a tab writing only in private rooms keeps sealed).
    pub presence_key: String,
    /// This browser profile's person, for presence and typing: every tab of a browser is
    /// one person, shown once.
    pub person_id: String,
    /// Ids this load pushed out of the reuse pool. No tab will resume them, so their unsent
    /// messages are the caller's to adopt. With more than `KNOWN_MAX` tabs open, one may
    /// still be a live tab's, which keeps sending its own: merge by message id.
    pub forgotten: Vec<String>,
}

/// This tab's identity, with a client id claimed so that no other live tab uses it.
pub async fn tab_identity() -> Result<TabIdentity, NoRandomness> {
    let mine = storage::get::<String>(Area::Session, &scoped(TAB_KEY));
    let known = storage::get::<Vec<String>>(Area::Local, &scoped(KNOWN_KEY)).unwrap_or_default();
    // The id from before a reload first, then ids that closed tabs left behind.
    let mut candidates: Vec<String> = Vec::new();
    for id in mine.iter().chain(known.iter()) {
        if !candidates.contains(id) {
            candidates.push(id.clone());
        }
    }
    let id = claim_one(&candidates).await?;
    let (known, forgotten) = remember(&id, known);
    // Storage that is full or blocked only costs the reuse; the id is still unique.
    let _ = storage::set(Area::Session, &scoped(TAB_KEY), &id);
    let _ = storage::set(Area::Local, &scoped(KNOWN_KEY), &known);
    // No tab will use these ids again: what was kept for each goes with them. (Their
    // unsent messages are the caller's to adopt, see `forgotten`.)
    for id in &forgotten {
        forget_id(id);
    }
    let author_id = kept_random(&author_key(&id))?;
    let presence_key = kept_random(&presence_key_key(&id))?;
    let person_id = match storage::get::<String>(Area::Local, &scoped(PERSON_KEY)) {
        Some(person) if !person.is_empty() && person.len() <= 64 => person,
        _ => {
            let person = random_hex(8)?;
            let _ = storage::set(Area::Local, &scoped(PERSON_KEY), &person);
            person
        }
    };
    Ok(TabIdentity {
        person_id,
        client_id: id,
        author_id,
        presence_key,
        forgotten,
    })
}

/// The first candidate no live tab uses, or a new id. Web Locks first; without them (or if
/// they fail), the BroadcastChannel handshake.
async fn claim_one(candidates: &[String]) -> Result<String, NoRandomness> {
    let mut left = candidates.to_vec();
    if let Some(locks) = lock_manager() {
        let mut working = true;
        while let Some(id) = left.first() {
            match claim(&locks, id).await {
                Some(true) => return Ok(id.clone()),
                Some(false) => {
                    left.remove(0); // held by a live tab
                }
                None => {
                    working = false;
                    break;
                }
            }
        }
        if working {
            let id = new_client_id()?;
            // A random new id cannot collide; the lock only guards it for later tabs.
            if claim(&locks, &id).await.is_none() {
                if let Ok(live_ids) = crate::split::live_ids().await {
                    answer_for_life((live_ids.answer_for)(id.clone()));
                }
            }
            return Ok(id);
        }
    }
    let nonce = random_hex(8)?;
    // Without its chunk (the server gone), a new id: it cannot collide, but no later tab
    // learns that it is in use.
    let Ok(live_ids) = crate::split::live_ids().await else {
        return new_client_id();
    };
    let (id, live) = match (live_ids.claim_first_free)(left, nonce).await {
        Some((id, live)) => (id, Some(live)),
        None => {
            let id = new_client_id()?;
            let live = (live_ids.answer_for)(id.clone());
            (id, live)
        }
    };
    answer_for_life(live);
    Ok(id)
}

fn answer_for_life(live: Option<Live>) {
    if let Some(live) = live {
        ANSWERING.with(|a| {
            if let Ok(mut a) = a.try_borrow_mut() {
                a.push(live);
            }
        });
    }
}

fn author_key(client_id: &str) -> String {
    format!("mqtt-chat.author.{client_id}")
}

fn presence_key_key(client_id: &str) -> String {
    format!("mqtt-chat.presence.{client_id}")
}

/// The random id (16 hex digits) kept in localStorage at `key`, or a new one kept there.
/// Anything else found there (edited, or an older format) is replaced: these ids become
/// topic levels and JSON fields.
fn kept_random(key: &str) -> Result<String, NoRandomness> {
    let valid = |v: &String| v.len() == 16 && v.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(kept) = storage::get::<String>(Area::Local, key).filter(valid) {
        return Ok(kept);
    }
    let new = random_hex(8)?;
    let _ = storage::set(Area::Local, key, &new);
    Ok(new)
}

/// The topic viewer's filters kept for a client id, in this tab's scope.
pub fn watch_key(client_id: &str) -> String {
    scoped(&format!("{WATCH_KEY}.{client_id}"))
}

/// Every localStorage key kept for one client id, in `scope` (see `scope::scoped_in`):
/// its author id, and the viewer's filters and how each is read. (Its unsent messages are not here: a copy left
/// at `pagehide`, `mqtt-chat.outbox.<id>`, is moved into IndexedDB by the next start.)
pub fn per_id_keys(client_id: &str, scope: Option<&str>) -> [String; 4] {
    let watch = super::scope::scoped_in(&format!("{WATCH_KEY}.{client_id}"), scope);
    [
        author_key(client_id),
        presence_key_key(client_id),
        format!("{watch}.readers"),
        watch,
    ]
}

/// Remove what is kept for a client id no tab will use again.
fn forget_id(client_id: &str) {
    let scope = super::scope::current();
    for key in per_id_keys(client_id, scope.as_deref()) {
        storage::remove(Area::Local, &key);
    }
}

/// The reuse pool of another scope (a saved connection's), to count or delete its data.
pub fn known_ids_in(scope: Option<&str>) -> Vec<String> {
    storage::get::<Vec<String>>(Area::Local, &super::scope::scoped_in(KNOWN_KEY, scope))
        .unwrap_or_default()
}

/// The keys this module keeps for a scope (not per id): the reuse pool and the person in
/// localStorage, the tab's id in sessionStorage.
pub fn scope_keys(scope: Option<&str>) -> [(Area, String); 3] {
    use super::scope::scoped_in;
    [
        (Area::Local, scoped_in(KNOWN_KEY, scope)),
        (Area::Local, scoped_in(PERSON_KEY, scope)),
        (Area::Session, scoped_in(TAB_KEY, scope)),
    ]
}

/// The reuse pool with `id` first, and the ids that fell off its end.
pub fn remember(id: &str, mut known: Vec<String>) -> (Vec<String>, Vec<String>) {
    known.retain(|k| k != id);
    known.insert(0, id.to_owned());
    let forgotten = known.split_off(KNOWN_MAX.min(known.len()));
    (known, forgotten)
}

fn lock_manager() -> Option<LockManager> {
    let navigator = web_sys::window()?.navigator();
    let locks = js_sys::Reflect::get(&navigator, &JsValue::from_str("locks")).ok()?;
    if locks.is_undefined() || locks.is_null() {
        return None;
    }
    Some(locks.unchecked_into())
}

/// Take the lock `mqtt-chat:<id>` for the life of the page. `Some(false)` if another tab
/// holds it, `None` if the lock request failed or never answered.
async fn claim(locks: &LockManager, id: &str) -> Option<bool> {
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
