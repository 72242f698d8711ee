//! The outbox store: one record per unsent message, keyed `[owner client id, seq]`, so key
//! order is send order (as in hydrogen-web's pending-event store). A record is added when the
//! user sends and deleted when the broker acknowledges; nothing is ever rewritten whole.

use chat::{decode_payload, ChatMessage, Payload};
use idb::TransactionMode;
use wasm_bindgen::JsValue;

use super::{field, finish, prefix_range, req, set_field, Db, StoreError, OUTBOX};
use crate::browser::web_storage::{self, Area};

/// One unsent message as stored (the domain's, `chat::Unsent`).
pub use chat::Unsent;

/// What a load found: the owner's unsent messages in send order, and how many records could
/// not be read (they stay stored, untouched).
#[derive(Debug, Default)]
pub struct Loaded {
    pub unsent: Vec<Unsent>,
    pub skipped: usize,
}

pub async fn load(db: &Db, owner: &str) -> Result<Loaded, StoreError> {
    let tx = db.transaction(&[OUTBOX], TransactionMode::ReadOnly)?;
    let store = req(tx.object_store(OUTBOX))?;
    let values = req(req(store.get_all(Some(prefix_range(owner)?.into()), None))?.await)?;
    let mut loaded = Loaded::default();
    for value in &values {
        match decode(value) {
            Some(unsent) => loaded.unsent.push(unsent),
            None => loaded.skipped += 1,
        }
    }
    Ok(loaded)
}

/// Move every unsent message of `from` (client ids no open tab uses) to `to`, in one
/// transaction: the same records, under the live owner, in send order. Every record of `to`
/// is numbered again with them (`chat::renumber`: 1, 2, 3, … merged by the old numbers), so
/// no key is ever overwritten, whatever the old keys were, without a search for free ones.
/// Returns how many moved.
pub async fn adopt(db: &Db, from: &[String], to: &str) -> Result<usize, StoreError> {
    let from: Vec<&str> = from
        .iter()
        .map(String::as_str)
        .filter(|o| *o != to)
        .collect();
    if from.is_empty() {
        return Ok(0);
    }
    let tx = db.transaction(&[OUTBOX], TransactionMode::ReadWrite)?;
    let store = req(tx.object_store(OUTBOX))?;
    let mut runs = Vec::new();
    let mut values = Vec::new();
    let mut ranges = Vec::new();
    for owner in std::iter::once(to).chain(from) {
        let range = prefix_range(owner)?;
        // Both in key order, so they pair up; the key holds the sequence number even when
        // the value is unreadable (those move too: they are the user's, whatever shape).
        let keys = req(req(store.get_all_keys(Some(range.clone().into()), None))?.await)?;
        let found = req(req(store.get_all(Some(range.clone().into()), None))?.await)?;
        let n = keys.len().min(found.len());
        runs.push(
            keys[..n]
                .iter()
                .map(|k| key_seq(k).unwrap_or(0.0))
                .collect(),
        );
        values.extend(found.into_iter().take(n));
        ranges.push(range);
    }
    let moved = values.len() - runs.first().map_or(0, Vec::len);
    if moved == 0 {
        return Ok(0);
    }
    // Everything out first, then back in under the new keys: in one transaction, in order.
    for range in ranges {
        req(store.delete(range))?;
    }
    for (value, seq) in values
        .iter()
        .zip(chat::renumber(&runs).into_iter().flatten())
    {
        let _ = js_sys::Reflect::set(value, &JsValue::from_str("o"), &JsValue::from_str(to));
        let _ = js_sys::Reflect::set(value, &JsValue::from_str("s"), &JsValue::from_f64(seq));
        req(store.put(value, Some(&self::key(to, seq))))?;
    }
    finish(tx, &store).await?;
    Ok(moved)
}

/// The sequence number in a key `[owner, seq]`.
fn key_seq(key: &JsValue) -> Option<f64> {
    js_sys::Reflect::get(key, &JsValue::from_f64(1.0))
        .ok()?
        .as_f64()
}

/// Client ids that own unsent messages.
pub async fn owners(db: &Db) -> Result<Vec<String>, StoreError> {
    let tx = db.transaction(&[OUTBOX], TransactionMode::ReadOnly)?;
    let store = req(tx.object_store(OUTBOX))?;
    let keys = req(req(store.get_all_keys(None, None))?.await)?;
    let mut owners: Vec<String> = keys
        .iter()
        .filter_map(|k| js_sys::Reflect::get(k, &JsValue::from_f64(0.0)).ok())
        .filter_map(|o| o.as_string())
        .collect();
    owners.dedup();
    Ok(owners)
}

pub(crate) fn key(owner: &str, seq: f64) -> JsValue {
    js_sys::Array::of2(&JsValue::from_str(owner), &JsValue::from_f64(seq)).into()
}

/// As stored: `{o, s, t, p}`, `p` being the JSON payload as published. A private room's
/// message is stored sealed, as published (issue 24), with its id beside it in `i` (a
/// random id says nothing; the outbox needs it to know the message before it is opened).
pub(crate) fn encode(owner: &str, unsent: &Unsent) -> JsValue {
    let o = js_sys::Object::new();
    set_field(&o, "o", &JsValue::from_str(owner));
    set_field(&o, "s", &JsValue::from_f64(unsent.seq));
    set_field(&o, "t", &JsValue::from_str(&unsent.topic));
    let payload = String::from_utf8(unsent.message.to_json()).unwrap_or_default();
    set_field(&o, "p", &JsValue::from_str(&payload));
    if let (Some(_), Some(id)) = (&unsent.message.sealed, &unsent.message.id) {
        set_field(&o, "i", &JsValue::from_str(id));
    }
    o.into()
}

/// The message id of a stored record, if it reads.
pub(crate) fn message_id(value: &JsValue) -> Option<String> {
    decode(value).and_then(|u| u.message.id)
}

fn decode(value: &JsValue) -> Option<Unsent> {
    let seq = field(value, "s").as_f64().filter(|s| s.is_finite())?;
    let topic = field(value, "t").as_string()?;
    let payload = field(value, "p").as_string()?;
    match decode_payload(payload.as_bytes()) {
        Payload::Chat(message) if message.id.is_some() => Some(Unsent {
            seq,
            topic,
            message,
        }),
        // Sealed: known by its id until this tab opens it.
        Payload::Raw {
            reason: chat::RawReason::Sealed,
            ..
        } => Some(Unsent {
            seq,
            topic,
            message: ChatMessage {
                id: Some(field(value, "i").as_string()?),
                sealed: Some(payload.into_bytes().into()),
                ..Default::default()
            },
        }),
        _ => None,
    }
}

/// [`legacy`], as `crate::split` hands it over from its chunk.
pub type LegacyReader = fn(&str) -> (Vec<(String, ChatMessage)>, usize);

/// The outbox kept in localStorage (`mqtt-chat.outbox.<client id>`, one JSON string: spilled
/// at `pagehide`, or left by an earlier version): every entry that still parses, in order,
/// and how many did not. The caller moves them to IndexedDB and removes the key.
pub fn legacy(owner: &str) -> (Vec<(String, ChatMessage)>, usize) {
    use serde_json::value::RawValue;

    #[derive(serde::Deserialize)]
    struct Blob<'a> {
        #[serde(borrow)]
        entries: Vec<&'a RawValue>,
    }
    #[derive(serde::Deserialize)]
    struct Entry<'a> {
        topic: String,
        #[serde(borrow)]
        message: &'a RawValue,
    }

    let Some(json) = web_storage::get_raw(Area::Local, &legacy_key(owner)) else {
        return (Vec::new(), 0);
    };
    let Ok(blob) = serde_json::from_str::<Blob>(&json) else {
        return (Vec::new(), 1);
    };
    let mut kept = Vec::new();
    let mut bad = 0;
    for entry in blob.entries {
        let parsed = serde_json::from_str::<Entry>(entry.get())
            .ok()
            .map(|e| (e.topic, decode_payload(e.message.get().as_bytes())));
        match parsed {
            Some((topic, Payload::Chat(m))) if m.id.is_some() => kept.push((topic, m)),
            _ => bad += 1,
        }
    }
    (kept, bad)
}

/// Whether an earlier version left an outbox for `owner` in localStorage.
/// The page is going away with unsent messages (`pagehide`): keep them in localStorage too,
/// in the format above, written before this returns. IndexedDB writes still queued behind
/// a batch in flight would be lost with the page; the next start moves these back into
/// IndexedDB (skipping what did get there) and removes the key. Returns whether it was
/// written.
pub fn spill(owner: &str, entries: &[(String, ChatMessage)]) -> bool {
    if entries.is_empty() {
        web_storage::remove(Area::Local, &legacy_key(owner));
        return true;
    }
    let mut json = String::from("{\"entries\":[");
    for (i, (topic, message)) in entries.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str("{\"topic\":");
        json.push_str(&serde_json::to_string(topic).unwrap_or_else(|_| "\"\"".into()));
        json.push_str(",\"message\":");
        json.push_str(&String::from_utf8(message.to_json()).unwrap_or_else(|_| "null".into()));
        json.push('}');
    }
    json.push_str("]}");
    web_storage::set_raw(Area::Local, &legacy_key(owner), &json).is_ok()
}

/// The page came back from the back/forward cache with its outbox in memory: the copy
/// [`spill`] kept is not needed (and another tab must not take it over).
pub fn unspill(owner: &str) {
    web_storage::remove(Area::Local, &legacy_key(owner));
}

pub fn has_legacy(owner: &str) -> bool {
    web_storage::get_raw(Area::Local, &legacy_key(owner)).is_some()
}

pub fn legacy_key(owner: &str) -> String {
    format!("mqtt-chat.outbox.{owner}")
}
