//! WebCrypto for private rooms (issue 24) in headless Chromium: a key from a passphrase
//! (PBKDF2-SHA-256, 600,000 rounds), sealing and opening, a wrong key, another room, a changed
//! message, a known answer shared with the native format tests, and keys wrapped to be
//! remembered by a key whose bytes cannot be read.

use chat::private::{Sealed, PBKDF2_ITERATIONS};
use chat::RoomName;
use mqtt_chat::browser::crypto::{self, CryptoError};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

fn room(name: &str) -> RoomName {
    RoomName::parse(name).unwrap()
}

#[wasm_bindgen_test]
async fn a_passphrase_key_seals_and_opens_and_a_wrong_key_or_room_does_not() {
    let tea = room("tea");
    let salt = crypto::random::<16>().unwrap();
    let key = crypto::derive("correct horse battery", &salt, PBKDF2_ITERATIONS, false)
        .await
        .expect("derives");
    assert_eq!(key.salt, Some(salt));
    let plain = br#"{"name":"ana","message":"the secret <b>plan</b>","id":"m1"}"#;
    let sealed = crypto::seal(&key, &tea, plain).await.expect("seals");
    assert_eq!(sealed.salt, Some(salt));
    assert_eq!(sealed.ct.len(), plain.len() + 16, "ciphertext and tag");
    let wire = sealed.to_json();
    assert!(!String::from_utf8_lossy(&wire).contains("secret"));
    let read = Sealed::read(&wire).unwrap().unwrap();
    assert_eq!(crypto::open(&key, &tea, &read).await.unwrap(), plain);
    // The same passphrase and salt give the same key in another derivation.
    let again = crypto::derive("correct horse battery", &salt, PBKDF2_ITERATIONS, false)
        .await
        .unwrap();
    assert_eq!(crypto::open(&again, &tea, &read).await.unwrap(), plain);
    // A fresh IV for every message.
    let second = crypto::seal(&key, &tea, plain).await.unwrap();
    assert_ne!(second.iv, sealed.iv);
    assert_ne!(second.ct, sealed.ct);

    let wrong = crypto::derive("correct horse battery!", &salt, PBKDF2_ITERATIONS, false)
        .await
        .unwrap();
    assert_eq!(
        crypto::open(&wrong, &tea, &read).await,
        Err(CryptoError::WrongKey)
    );
    let other_salt = crypto::derive("correct horse battery", &[0; 16], PBKDF2_ITERATIONS, false)
        .await
        .unwrap();
    assert_eq!(
        crypto::open(&other_salt, &tea, &read).await,
        Err(CryptoError::WrongKey)
    );
    // Replayed into another room.
    assert_eq!(
        crypto::open(&key, &room("coffee"), &read).await,
        Err(CryptoError::WrongKey)
    );
    let mut bent = read.clone();
    bent.ct[3] ^= 0x20;
    assert_eq!(
        crypto::open(&key, &tea, &bent).await,
        Err(CryptoError::WrongKey)
    );
    // The room's key check: made with the key, opened by it and by no other.
    let check = crypto::key_check(&key, &tea).await.expect("check");
    let (iv, ct) = check.split_at(12);
    let iv: [u8; 12] = iv.try_into().unwrap();
    assert_eq!(crypto::opens_check(&again, &tea, &iv, ct).await, Ok(()));
    assert_eq!(
        crypto::opens_check(&wrong, &tea, &iv, ct).await,
        Err(CryptoError::WrongKey)
    );
    assert_eq!(
        crypto::opens_check(&key, &room("coffee"), &iv, ct).await,
        Err(CryptoError::WrongKey)
    );
    assert_eq!(
        CryptoError::WrongKey.to_string(),
        "can't read this message: wrong or missing key"
    );
}

/// The known answer `chat::private`'s native tests check with RustCrypto's AES-GCM: another
/// implementation of the format reads what this browser writes.
#[wasm_bindgen_test]
async fn a_link_key_opens_the_native_known_answer() {
    let key = crypto::import(&[42; 32], false).await.expect("imports");
    assert_eq!(key.salt, None);
    let sealed = Sealed::read(chat::private::KNOWN_ANSWER_WIRE.as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(
        crypto::open(&key, &room("tea"), &sealed).await.unwrap(),
        chat::private::KNOWN_ANSWER_PLAIN.as_bytes()
    );
}

#[wasm_bindgen_test]
async fn a_remembered_key_is_wrapped_by_a_key_that_cannot_be_read() {
    let tea = room("tea");
    let key = crypto::import(&crypto::random::<32>().unwrap(), true)
        .await
        .unwrap();
    let wrapping = crypto::new_wrapping_key().await.expect("wrapping key");
    assert!(!wrapping.extractable());
    // Its bytes cannot be exported.
    let subtle = web_sys::window().unwrap().crypto().unwrap().subtle();
    let export = JsFuture::from(subtle.export_key("raw", &wrapping).unwrap()).await;
    assert!(export.is_err(), "a wrapping key's bytes are never readable");

    let (iv, wrapped) = crypto::wrap(&wrapping, &tea, &key).await.expect("wraps");
    assert_eq!(wrapped.len(), 32 + 16);
    let back = crypto::unwrap(&wrapping, &tea, &iv, &wrapped, None)
        .await
        .expect("unwraps");
    let sealed = crypto::seal(&key, &tea, b"hello").await.unwrap();
    assert_eq!(crypto::open(&back, &tea, &sealed).await.unwrap(), b"hello");
    // Kept for one room, it is not another room's.
    assert_eq!(
        crypto::unwrap(&wrapping, &room("coffee"), &iv, &wrapped, None)
            .await
            .map(|_| ()),
        Err(CryptoError::WrongKey)
    );
    let other = crypto::new_wrapping_key().await.unwrap();
    assert_eq!(
        crypto::unwrap(&other, &tea, &iv, &wrapped, None)
            .await
            .map(|_| ()),
        Err(CryptoError::WrongKey)
    );
    // What is used after unwrapping cannot be read out either.
    assert!(!back.key.extractable());
    // A passphrase key to be remembered is wrapped the same way.
    let salt = [3u8; 16];
    let derived = crypto::derive("a passphrase", &salt, PBKDF2_ITERATIONS, true)
        .await
        .unwrap();
    let (iv, wrapped) = crypto::wrap(&wrapping, &tea, &derived)
        .await
        .expect("wraps");
    let back = crypto::unwrap(&wrapping, &tea, &iv, &wrapped, Some(salt))
        .await
        .unwrap();
    let sealed = crypto::seal(&back, &tea, b"hello").await.unwrap();
    assert_eq!(sealed.salt, Some(salt));
    assert_eq!(
        crypto::open(&derived, &tea, &sealed).await.unwrap(),
        b"hello"
    );
    // The wrapping key goes into IndexedDB as the browser's object (structured clone).
    assert!(wrapping.dyn_ref::<web_sys::CryptoKey>().is_some());
}
