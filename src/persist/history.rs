//! The history store: one record per message, keyed `[topic, uid]` so the same message
//! written by two tabs stays one record. Read once at start; written by the writer.

use chat::{Refusal, StoredMessage, HISTORY_PER_TOPIC};
use idb::TransactionMode;
use wasm_bindgen::{JsCast, JsValue};

use super::{field, finish, prefix_range, req, set_field, Db, StoreError, BY_TOPIC, HISTORY};

/// What a load found: the newest messages of the topic, oldest first, and how many records
/// could not be read.
#[derive(Debug, Default)]
pub struct Loaded {
    pub messages: Vec<StoredMessage>,
    pub skipped: usize,
}

/// The newest [`HISTORY_PER_TOPIC`] messages of `topic`, oldest first. A record of another
/// shape (corrupt, or written by something else) is skipped and counted.
pub async fn load(db: &Db, topic: &str) -> Result<Loaded, StoreError> {
    let tx = db.transaction(&[HISTORY], TransactionMode::ReadOnly)?;
    let store = req(tx.object_store(HISTORY))?;
    let index = req(store.index(BY_TOPIC))?;
    let values = req(req(index.get_all(Some(prefix_range(topic)?.into()), None))?.await)?;
    let mut loaded = Loaded::default();
    for value in &values {
        match decode(value) {
            Some(m) if m.topic == topic => loaded.messages.push(m),
            _ => loaded.skipped += 1,
        }
    }
    // The index keeps them in `seq` order; eviction lags by up to its slack.
    let extra = loaded.messages.len().saturating_sub(HISTORY_PER_TOPIC);
    loaded.messages.drain(..extra);
    Ok(loaded)
}

/// What the search reads: for each of `topics` in turn, every stored payload with when it
/// arrived, handed to `each` as soon as that topic's read is done (in no order; eviction may
/// leave up to `HISTORY_SLACK` more than [`HISTORY_PER_TOPIC`]). One transaction, every
/// read asked for at once, by primary key (`[topic, uid]`, about twice as fast as the
/// `[topic, seq]` index), and only the two fields needed read from each record.
pub async fn each_payloads(
    db: &Db,
    topics: &[String],
    mut each: impl FnMut(usize, Vec<(Vec<u8>, f64)>),
) -> Result<(), StoreError> {
    let tx = db.transaction(&[HISTORY], TransactionMode::ReadOnly)?;
    let store = req(tx.object_store(HISTORY))?;
    let mut asked = Vec::with_capacity(topics.len());
    for topic in topics {
        asked.push(req(store.get_all(Some(prefix_range(topic)?.into()), None))?);
    }
    let (p, a) = (JsValue::from_str("p"), JsValue::from_str("a"));
    for (i, request) in asked.into_iter().enumerate() {
        let values = req(request.await)?;
        let mut kept = Vec::with_capacity(values.len());
        for value in &values {
            let payload = js_sys::Reflect::get(value, &p).unwrap_or(JsValue::UNDEFINED);
            let payload = match payload.as_string() {
                Some(text) => text.into_bytes(),
                None if payload.is_instance_of::<js_sys::Uint8Array>() => {
                    js_sys::Uint8Array::new(&payload).to_vec()
                }
                None => continue,
            };
            let at = js_sys::Reflect::get(value, &a)
                .ok()
                .and_then(|a| a.as_f64())
                .filter(|a| a.is_finite())
                .unwrap_or(0.0);
            kept.push((payload, at));
        }
        each(i, kept);
    }
    Ok(())
}

/// The stored message of `topic` with storage id `uid`, if there is one (a reply's quote
/// leads to it).
pub async fn get(db: &Db, topic: &str, uid: &str) -> Result<Option<StoredMessage>, StoreError> {
    let tx = db.transaction(&[HISTORY], TransactionMode::ReadOnly)?;
    let store = req(tx.object_store(HISTORY))?;
    let key: JsValue =
        js_sys::Array::of2(&JsValue::from_str(topic), &JsValue::from_str(uid)).into();
    let value = req(req(store.get(key))?.await)?;
    Ok(value.as_ref().and_then(decode))
}

/// Forget every stored message, of every topic, in this browser. Unsent messages stay.
pub async fn clear(db: &Db) -> Result<(), StoreError> {
    let tx = db.transaction(&[HISTORY], TransactionMode::ReadWrite)?;
    let store = req(tx.object_store(HISTORY))?;
    req(store.clear())?;
    finish(tx, &store).await
}

/// The record's primary key.
pub(crate) fn key(m: &StoredMessage) -> JsValue {
    js_sys::Array::of2(&JsValue::from_str(&m.topic), &JsValue::from_str(&m.uid)).into()
}

/// As stored: `{t, u, s, a, p}`, the payload as a string when it is UTF-8 (nearly always),
/// else as bytes.
pub(crate) fn encode(m: &StoredMessage) -> JsValue {
    let o = js_sys::Object::new();
    set_field(&o, "t", &JsValue::from_str(&m.topic));
    set_field(&o, "u", &JsValue::from_str(&m.uid));
    set_field(&o, "s", &JsValue::from_f64(m.seq));
    set_field(&o, "a", &JsValue::from_f64(m.at));
    let payload = match std::str::from_utf8(&m.payload) {
        Ok(text) => JsValue::from_str(text),
        Err(_) => js_sys::Uint8Array::from(&m.payload[..]).into(),
    };
    set_field(&o, "p", &payload);
    if let Some(author) = &m.author {
        set_field(&o, "v", &JsValue::from_str(author));
    }
    match &m.refusal {
        Some(Refusal::Refused(why)) => set_field(&o, "r", &JsValue::from_str(why)),
        Some(Refusal::NotSeenBack) => set_field(&o, "n", &JsValue::TRUE),
        None => {}
    }
    o.into()
}

pub(crate) fn decode(value: &JsValue) -> Option<StoredMessage> {
    let payload = field(value, "p");
    let payload = match payload.as_string() {
        Some(text) => text.into_bytes(),
        None if payload.is_instance_of::<js_sys::Uint8Array>() => {
            js_sys::Uint8Array::new(&payload).to_vec()
        }
        None => return None,
    };
    let seq = field(value, "s").as_f64().filter(|s| s.is_finite())?;
    Some(StoredMessage {
        topic: field(value, "t").as_string()?,
        uid: field(value, "u").as_string()?,
        seq,
        at: field(value, "a")
            .as_f64()
            .filter(|a| a.is_finite())
            .unwrap_or(0.0),
        payload,
        author: field(value, "v").as_string(),
        refusal: match field(value, "r").as_string() {
            Some(why) => Some(Refusal::Refused(why)),
            None => (field(value, "n") == JsValue::TRUE).then_some(Refusal::NotSeenBack),
        },
    })
}
