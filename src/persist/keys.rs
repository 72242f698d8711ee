//! Private rooms' keys remembered on this device ("Remember on this device", issue 24), in an
//! IndexedDB database of their own (`mqtt-chat-keys`, scoped like the rest): its own
//! database so that the history's schema is left alone, and so that deleting one never
//! touches the other by mistake.
//!
//! One store, `keys`, holds:
//! - `wrapping`: a non-extractable AES-GCM key (`browser::crypto::new_wrapping_key`), kept
//!   as the browser's own object: script can use it, but never read its bytes.
//! - `room:<name>`: one room's key wrapped by it, `{iv, w, s?}` (the wrapping's IV, the
//!   wrapped key, the salt it was derived with).
//!
//! What that protects against, and what not, is in docs/using.md ("Private rooms").

use idb::{Database, DatabaseEvent, Factory, ObjectStoreParams, TransactionMode};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::CryptoKey;

use super::{field, finish, req, set_field, StoreError};
use chat::private::{IV_BYTES, SALT_BYTES};
use chat::RoomName;

pub const KEYS_DB_NAME: &str = "mqtt-chat-keys";
const STORE: &str = "keys";
const WRAPPING: &str = "wrapping";

/// One room's key as kept: wrapped.
pub struct Wrapped {
    pub room: RoomName,
    pub iv: [u8; IV_BYTES],
    pub wrapped: Vec<u8>,
    pub salt: Option<[u8; SALT_BYTES]>,
}

fn room_key(room: &RoomName) -> JsValue {
    JsValue::from_str(&format!("room:{}", room.as_str()))
}

async fn open() -> Result<Database, StoreError> {
    let name = crate::browser::scope::scoped(KEYS_DB_NAME);
    let factory = Factory::new().map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let mut request = factory
        .open(&name, Some(1))
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    request.on_upgrade_needed(|event| {
        if let Ok(db) = event.database() {
            let _ = db.create_object_store(STORE, ObjectStoreParams::new());
        }
    });
    request.await.map_err(StoreError::from_idb)
}

/// The wrapping key of this device, made and kept the first time. Two tabs making it at
/// once both read back the one that was kept first (`add`, never `put`).
pub async fn wrapping_key() -> Result<CryptoKey, StoreError> {
    let db = open().await?;
    let key = match stored_wrapping(&db).await? {
        Some(key) => Ok(key),
        None => {
            let made = crate::browser::crypto::new_wrapping_key()
                .await
                .map_err(|e| StoreError::Failed(e.to_string()))?;
            let tx = req(db.transaction(&[STORE], TransactionMode::ReadWrite))?;
            let store = req(tx.object_store(STORE))?;
            req(store.add(&made, Some(&JsValue::from_str(WRAPPING))))?;
            match finish(tx, &store).await {
                Ok(()) => Ok(made),
                // Another tab kept one first.
                Err(e) => stored_wrapping(&db).await?.ok_or(e),
            }
        }
    };
    db.close();
    key
}

async fn stored_wrapping(db: &Database) -> Result<Option<CryptoKey>, StoreError> {
    let tx = req(db.transaction(&[STORE], TransactionMode::ReadOnly))?;
    let store = req(tx.object_store(STORE))?;
    let found = req(req(store.get(JsValue::from_str(WRAPPING)))?.await)?;
    Ok(found.and_then(|k| k.dyn_into::<CryptoKey>().ok()))
}

/// Keep `key` (wrapped) for its room, in place of any kept before.
pub async fn keep(key: &Wrapped) -> Result<(), StoreError> {
    let value = js_sys::Object::new();
    set_field(&value, "iv", &Uint8Array::from(&key.iv[..]));
    set_field(&value, "w", &Uint8Array::from(&key.wrapped[..]));
    if let Some(salt) = &key.salt {
        set_field(&value, "s", &Uint8Array::from(&salt[..]));
    }
    let db = open().await?;
    let tx = req(db.transaction(&[STORE], TransactionMode::ReadWrite))?;
    let store = req(tx.object_store(STORE))?;
    req(store.put(&value, Some(&room_key(&key.room))))?;
    let done = finish(tx, &store).await;
    db.close();
    done
}

/// The key kept for `room`, if there is one.
pub async fn kept(room: &RoomName) -> Result<Option<Wrapped>, StoreError> {
    let db = open().await?;
    let value = {
        let tx = req(db.transaction(&[STORE], TransactionMode::ReadOnly))?;
        let store = req(tx.object_store(STORE))?;
        req(req(store.get(room_key(room)))?.await)?
    };
    db.close();
    let Some(value) = value else {
        return Ok(None);
    };
    let bytes = |name| {
        let v = field(&value, name);
        v.is_instance_of::<Uint8Array>()
            .then(|| Uint8Array::new(&v).to_vec())
    };
    let iv = bytes("iv").and_then(|iv| <[u8; IV_BYTES]>::try_from(iv.as_slice()).ok());
    let wrapped = bytes("w");
    let salt = bytes("s").and_then(|s| <[u8; SALT_BYTES]>::try_from(s.as_slice()).ok());
    match (iv, wrapped) {
        (Some(iv), Some(wrapped)) => Ok(Some(Wrapped {
            room: room.clone(),
            iv,
            wrapped,
            salt,
        })),
        _ => Err(StoreError::Failed("the kept key is not readable".into())),
    }
}

/// Forget the key kept for `room` (nothing if none is).
pub async fn forget(room: &RoomName) -> Result<(), StoreError> {
    let db = open().await?;
    let tx = req(db.transaction(&[STORE], TransactionMode::ReadWrite))?;
    let store = req(tx.object_store(STORE))?;
    req(store.delete(room_key(room)))?;
    let done = finish(tx, &store).await;
    db.close();
    done
}
