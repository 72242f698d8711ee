//! The browser's WebCrypto (`crypto.subtle`) for private rooms (issue 24), in small typed
//! calls. No cipher is written here: PBKDF2-SHA-256 makes a key from a passphrase, and
//! AES-256-GCM seals and opens each message, both in the browser. The format around them
//! is `chat::private`.
//!
//! A room key is a `CryptoKey`. One derived from a passphrase is not extractable: its bytes
//! stay inside the browser's crypto, out of Wasm memory and out of reach of script. A key to
//! be remembered on this device is made extractable only to be wrapped at once by a wrapping
//! key that is not extractable ([`wrap`]); what is used after is the unwrapped copy
//! ([`unwrap`]), not extractable either. A key given as raw bytes (a key link) is imported
//! the same way: extractable only to be wrapped.
//!
//! WebCrypto exists only in a secure context (https, or http on localhost): elsewhere every
//! call answers [`CryptoError::Unavailable`], in words.

use chat::private::{self, Sealed, IV_BYTES, KEY_BYTES, SALT_BYTES};
use chat::RoomName;
use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesDerivedKeyParams, AesGcmParams, CryptoKey, Pbkdf2Params, SubtleCrypto};

/// Why a crypto call did not give what was asked. The words follow "Private rooms: ...".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// No `crypto.subtle`: the page is not a secure context.
    #[error("this page cannot encrypt: the browser offers WebCrypto only on https or localhost")]
    Unavailable,
    /// The key does not open the message (a wrong key, another room, or a changed message:
    /// AES-GCM cannot tell them apart).
    #[error("can't read this message: wrong or missing key")]
    WrongKey,
    /// The browser refused the call: its own words.
    #[error("the browser's WebCrypto refused: {0}")]
    Refused(String),
}

/// A room's key, with the salt it was derived with (`None`: a link key or a random one).
#[derive(Clone, Debug)]
pub struct RoomKey {
    pub key: CryptoKey,
    pub salt: Option<[u8; SALT_BYTES]>,
}

fn subtle() -> Result<SubtleCrypto, CryptoError> {
    let crypto = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .ok_or(CryptoError::Unavailable)?;
    // `subtle` is undefined outside a secure context; web-sys would hand it on unchecked.
    let subtle = js_sys::Reflect::get(&crypto, &JsValue::from_str("subtle"))
        .map_err(|_| CryptoError::Unavailable)?;
    subtle
        .dyn_into::<SubtleCrypto>()
        .map_err(|_| CryptoError::Unavailable)
}

/// A promise's outcome, its rejection in words.
async fn settle(promise: Result<js_sys::Promise, JsValue>) -> Result<JsValue, CryptoError> {
    let promise = promise.map_err(refused)?;
    JsFuture::from(promise).await.map_err(refused)
}

fn refused(e: JsValue) -> CryptoError {
    let words = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "no reason given".to_owned());
    CryptoError::Refused(words)
}

fn usages(names: &[&str]) -> Array {
    names.iter().map(|n| JsValue::from_str(n)).collect()
}

fn bytes_of(value: JsValue) -> Vec<u8> {
    Uint8Array::new(&value).to_vec()
}

/// `N` random bytes from the browser's generator.
pub fn random<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| CryptoError::Refused(e.to_string()))?;
    Ok(bytes)
}

/// The AES-256-GCM key of `passphrase` with `salt`: PBKDF2-SHA-256, `iterations` rounds
/// (`chat::private::PBKDF2_ITERATIONS` for a new room). Not extractable unless it is to be
/// wrapped at once ([`wrap`]), to be remembered.
pub async fn derive(
    passphrase: &str,
    salt: &[u8; SALT_BYTES],
    iterations: u32,
    extractable: bool,
) -> Result<RoomKey, CryptoError> {
    let subtle = subtle()?;
    let secret = Uint8Array::from(passphrase.as_bytes());
    let base = settle(subtle.import_key_with_str(
        "raw",
        &secret,
        "PBKDF2",
        false,
        &usages(&["deriveKey"]),
    ))
    .await?;
    let base: CryptoKey = base.unchecked_into();
    let params = Pbkdf2Params::new_with_str(
        "PBKDF2",
        "SHA-256",
        iterations,
        &Uint8Array::from(&salt[..]),
    );
    let key = settle(subtle.derive_key_with_object_and_object(
        &params,
        &base,
        &AesDerivedKeyParams::new("AES-GCM", 256),
        extractable,
        &usages(&["encrypt", "decrypt"]),
    ))
    .await?;
    Ok(RoomKey {
        key: key.unchecked_into(),
        salt: Some(*salt),
    })
}

/// The AES-256-GCM key of 32 raw bytes (a key given as a link). Extractable only if it is
/// to be wrapped at once ([`wrap`]).
pub async fn import(raw: &[u8; KEY_BYTES], extractable: bool) -> Result<RoomKey, CryptoError> {
    let subtle = subtle()?;
    let key = settle(subtle.import_key_with_str(
        "raw",
        &Uint8Array::from(&raw[..]),
        "AES-GCM",
        extractable,
        &usages(&["encrypt", "decrypt"]),
    ))
    .await?;
    Ok(RoomKey {
        key: key.unchecked_into(),
        salt: None,
    })
}

fn gcm(iv: &[u8; IV_BYTES], associated: &[u8]) -> AesGcmParams {
    let params = AesGcmParams::new("AES-GCM", &Uint8Array::from(&iv[..]));
    params.set_additional_data(&Uint8Array::from(associated));
    params
}

/// `plain` sealed for `room` under `key`, with a fresh random IV.
pub async fn seal(key: &RoomKey, room: &RoomName, plain: &[u8]) -> Result<Sealed, CryptoError> {
    let iv = random::<IV_BYTES>()?;
    let ct = encrypt(key, &iv, &private::associated_data(room), plain).await?;
    Ok(Sealed {
        salt: key.salt,
        iv,
        ct,
    })
}

/// What `sealed` holds, if `key` opens it for `room`; [`CryptoError::WrongKey`] if not.
pub async fn open(key: &RoomKey, room: &RoomName, sealed: &Sealed) -> Result<Vec<u8>, CryptoError> {
    decrypt(key, &sealed.iv, &private::associated_data(room), &sealed.ct).await
}

/// The key check of `room`'s salt record for `key` (`chat::private::KEY_CHECK_PLAIN`
/// sealed: IV then ciphertext).
pub async fn key_check(
    key: &RoomKey,
    room: &RoomName,
) -> Result<[u8; private::KEY_CHECK_BYTES], CryptoError> {
    let iv = random::<IV_BYTES>()?;
    let ct = encrypt(
        key,
        &iv,
        &private::check_data(room),
        private::KEY_CHECK_PLAIN,
    )
    .await?;
    let mut check = [0u8; private::KEY_CHECK_BYTES];
    if ct.len() + IV_BYTES != check.len() {
        return Err(CryptoError::Refused(
            "the key check came out the wrong size".into(),
        ));
    }
    check[..IV_BYTES].copy_from_slice(&iv);
    check[IV_BYTES..].copy_from_slice(&ct);
    Ok(check)
}

/// Whether `key` opens the key check `iv`, `ct` of `room`: `Ok` if it does (it is the
/// room's key), [`CryptoError::WrongKey`] if not.
pub async fn opens_check(
    key: &RoomKey,
    room: &RoomName,
    iv: &[u8; IV_BYTES],
    ct: &[u8],
) -> Result<(), CryptoError> {
    let plain = decrypt(key, iv, &private::check_data(room), ct).await?;
    if plain == private::KEY_CHECK_PLAIN {
        Ok(())
    } else {
        Err(CryptoError::WrongKey)
    }
}

async fn encrypt(
    key: &RoomKey,
    iv: &[u8; IV_BYTES],
    associated: &[u8],
    plain: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let subtle = subtle()?;
    let ct = settle(subtle.encrypt_with_object_and_buffer_source(
        &gcm(iv, associated),
        &key.key,
        &Uint8Array::from(plain),
    ))
    .await?;
    Ok(bytes_of(ct))
}

async fn decrypt(
    key: &RoomKey,
    iv: &[u8; IV_BYTES],
    associated: &[u8],
    ct: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let subtle = subtle()?;
    let plain = JsFuture::from(
        subtle
            .decrypt_with_object_and_buffer_source(
                &gcm(iv, associated),
                &key.key,
                &Uint8Array::from(ct),
            )
            .map_err(refused)?,
    )
    .await;
    match plain {
        Ok(plain) => Ok(bytes_of(plain)),
        // An OperationError is the one answer AES-GCM gives to a wrong key or a changed
        // message.
        Err(e) if is_named(&e, "OperationError") => Err(CryptoError::WrongKey),
        Err(e) => Err(refused(e)),
    }
}

fn is_named(e: &JsValue, name: &str) -> bool {
    js_sys::Reflect::get(e, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
        .is_some_and(|n| n == name)
}

/// A new key that wraps room keys to be remembered: AES-256-GCM, not extractable. Kept in
/// IndexedDB as it is (the browser stores the object; its bytes are never readable).
pub async fn new_wrapping_key() -> Result<CryptoKey, CryptoError> {
    let subtle = subtle()?;
    let key = settle(subtle.generate_key_with_object(
        &web_sys::AesKeyGenParams::new("AES-GCM", 256),
        false,
        &usages(&["wrapKey", "unwrapKey"]),
    ))
    .await?;
    Ok(key.unchecked_into())
}

/// `key` wrapped by `wrapping` for `room` (the room in the associated data, as for messages):
/// the IV and the wrapped bytes, to keep.
pub async fn wrap(
    wrapping: &CryptoKey,
    room: &RoomName,
    key: &RoomKey,
) -> Result<([u8; IV_BYTES], Vec<u8>), CryptoError> {
    let subtle = subtle()?;
    let iv = random::<IV_BYTES>()?;
    let params = gcm(&iv, &private::associated_data(room));
    let wrapped = settle(subtle.wrap_key_with_object("raw", &key.key, wrapping, &params)).await?;
    Ok((iv, bytes_of(wrapped)))
}

/// A key [`wrap`] made, unwrapped again (with the salt kept beside it), not extractable.
pub async fn unwrap(
    wrapping: &CryptoKey,
    room: &RoomName,
    iv: &[u8; IV_BYTES],
    wrapped: &[u8],
    salt: Option<[u8; SALT_BYTES]>,
) -> Result<RoomKey, CryptoError> {
    let subtle = subtle()?;
    let params = gcm(iv, &private::associated_data(room));
    let key = JsFuture::from(
        subtle
            .unwrap_key_with_buffer_source_and_object_and_str(
                "raw",
                &Uint8Array::from(wrapped),
                wrapping,
                &params,
                "AES-GCM",
                false,
                &usages(&["encrypt", "decrypt"]),
            )
            .map_err(refused)?,
    )
    .await;
    match key {
        Ok(key) => Ok(RoomKey {
            key: key.unchecked_into(),
            salt,
        }),
        Err(e) if is_named(&e, "OperationError") => Err(CryptoError::WrongKey),
        Err(e) => Err(refused(e)),
    }
}
