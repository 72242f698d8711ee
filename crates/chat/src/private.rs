//! Private rooms (issue 24): what travels instead of a chat message, and the facts both ends
//! of the cipher must agree on. No cipher here: the browser's WebCrypto encrypts
//! (`src/browser/crypto.rs`); this module only reads and writes what goes around it, and
//! treats everything from the network as hostile.
//!
//! **A sealed message** is JSON on the room's chat topic, in place of the plain payload:
//!
//! ```json
//! {"enc": 1, "salt": "<base64 16 bytes>", "iv": "<base64 12 bytes>", "ct": "<base64>"}
//! ```
//!
//! - `enc`: the format's version, 1.
//! - `salt`: which passphrase key sealed it (PBKDF2-SHA-256 over the passphrase with this
//!   salt, [`PBKDF2_ITERATIONS`] rounds). Left out by a room whose key came as a link (a
//!   random key, no passphrase).
//! - `iv`: AES-256-GCM's 96-bit nonce, fresh and random for every message.
//! - `ct`: the ciphertext with GCM's 128-bit tag at its end. The plaintext is the normal
//!   chat message (`crate::message`, with its name, message, id, reply and reaction
//!   fields), as UTF-8 JSON.
//! - The associated data is [`associated_data`] of the room: a message copied into another
//!   room does not open there.
//!
//! A plain client sees that short line and never the text. Base64 is the standard alphabet
//! with padding (RFC 4648 §4); a reader here also takes it unpadded.
//!
//! **A room's salt** is published retained on [`salt_topic`] by whoever makes the room
//! private first: `{"salt": "<base64 16 bytes>", "iterations": 600000, "check": "<base64>"}`.
//! Everyone with the passphrase derives the same key from it. Each sealed message names its
//! salt, so two people who made the room at once each still read the other.
//!
//! **The key check** (`check`, optional) tells a wrong passphrase at once, before any
//! message: [`KEY_CHECK_PLAIN`] sealed with the room's key, as the 12-byte IV followed by the
//! ciphertext and tag (47 bytes), under [`check_data`] as the associated data. A key that
//! opens it is the room's; one that does not is a wrong passphrase. It tells an attacker
//! nothing a sealed message does not: either one lets a guessed passphrase be tested.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::room::RoomName;

/// The format version of a sealed message (`enc`).
pub const FORMAT_VERSION: u64 = 1;
/// PBKDF2-SHA-256 rounds for a passphrase key (OWASP's 2023 advice for PBKDF2-SHA-256).
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// The most rounds a salt record may ask for: a hostile record cannot make a tab derive
/// for minutes.
pub const MAX_PBKDF2_ITERATIONS: u32 = 5_000_000;
/// Bytes of a room's salt.
pub const SALT_BYTES: usize = 16;
/// Bytes of an AES-GCM nonce (96 bits).
pub const IV_BYTES: usize = 12;
/// Bytes of an AES-256 key.
pub const KEY_BYTES: usize = 32;
/// Bytes of GCM's tag, at the end of every ciphertext.
pub const TAG_BYTES: usize = 16;
/// The largest ciphertext read, in bytes: a chat message's text is at most 4,096 bytes
/// (`MAX_MESSAGE_BYTES`), and with its name, id and quote its JSON stays well under this.
/// A sealed row is kept whole until opened, so this bounds what a flood of them holds.
pub const MAX_CIPHERTEXT_BYTES: usize = 16 * 1024;
/// A known answer for another implementation of the format: [`KNOWN_ANSWER_PLAIN`] sealed
/// in the room `tea` with the link key of 32 bytes of 42 (`0x2a`) and the IV of 12 bytes of
/// 1. Checked here with RustCrypto's AES-GCM and in the browser with WebCrypto.
pub const KNOWN_ANSWER_WIRE: &str = r#"{"enc":1,"iv":"AQEBAQEBAQEBAQEB","ct":"P4TX6TN6g+w21bUV+p2sJbVMw1o9hRBW/oI7hsX28bfB0J0S+qBtymG1KRlimOTa"}"#;
/// The plaintext of [`KNOWN_ANSWER_WIRE`].
pub const KNOWN_ANSWER_PLAIN: &str = r#"{"name":"ana","message":"hello"}"#;
/// Where a room's salt is published, retained, before its chat topic.
pub const SALT_PREFIX: &str = "chat/salt/";

/// Where `room`'s salt record is retained: `chat/salt/<room topic>`.
pub fn salt_topic(room: &RoomName) -> String {
    format!("{SALT_PREFIX}{}", room.chat_topic())
}

/// What AES-GCM authenticates beside the ciphertext: the format and the room's chat topic.
/// The same for every author in the room (a verified author's topic adds `from/<user>`;
/// the room is what counts).
pub fn associated_data(room: &RoomName) -> Vec<u8> {
    format!("mqtt-chat/private/{FORMAT_VERSION} {}", room.chat_topic()).into_bytes()
}

/// What the salt record's key check seals (module docs).
pub const KEY_CHECK_PLAIN: &[u8] = b"mqtt-chat key check";
/// Bytes of a key check: IV, [`KEY_CHECK_PLAIN`], tag.
pub const KEY_CHECK_BYTES: usize = IV_BYTES + KEY_CHECK_PLAIN.len() + TAG_BYTES;

/// The associated data of a room's key check: not that of its messages, so a check is
/// never taken for a message, nor a message for a check.
pub fn check_data(room: &RoomName) -> Vec<u8> {
    format!(
        "mqtt-chat/private/{FORMAT_VERSION} check {}",
        room.chat_topic()
    )
    .into_bytes()
}

/// One sealed message, as it travels (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// The salt of the passphrase key that sealed it; `None` for a link key.
    pub salt: Option<[u8; SALT_BYTES]>,
    pub iv: [u8; IV_BYTES],
    /// Ciphertext and tag.
    pub ct: Vec<u8>,
}

/// Why a payload that says it is sealed (`enc` is there) cannot be read as one. Its words
/// follow "a sealed message that ...".
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SealedError {
    #[error("is version {0}, and this app reads version {FORMAT_VERSION}")]
    Version(String),
    #[error("has no {0}")]
    Missing(&'static str),
    #[error("has a {0} that is not base64")]
    NotBase64(&'static str),
    #[error("has a {field} of {bytes} bytes, not {expected}")]
    Length {
        field: &'static str,
        bytes: usize,
        expected: usize,
    },
    #[error("is shorter than its tag ({0} bytes)")]
    TooShort(usize),
    #[error("is too large ({0} bytes of base64)")]
    TooLarge(usize),
}

impl Sealed {
    /// The payload on the wire.
    pub fn to_json(&self) -> Vec<u8> {
        /// The fields in the documented order.
        #[derive(serde::Serialize)]
        struct Wire {
            enc: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            salt: Option<String>,
            iv: String,
            ct: String,
        }
        let wire = Wire {
            enc: FORMAT_VERSION,
            salt: self.salt.map(|salt| STANDARD.encode(salt)),
            iv: STANDARD.encode(self.iv),
            ct: STANDARD.encode(&self.ct),
        };
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// A payload read as a sealed message: `None` when it does not say it is one (no `enc`
    /// field: a plain message, or anything else), an error when it says so but is not.
    pub fn read(payload: &[u8]) -> Option<Result<Sealed, SealedError>> {
        let map = enc_object(payload)?;
        Some(Self::checked(&map))
    }

    fn checked(map: &Map<String, Value>) -> Result<Sealed, SealedError> {
        check_shape(map)?;
        let salt = match map.get("salt") {
            None | Some(Value::Null) => None,
            Some(_) => Some(fixed::<SALT_BYTES>(map, "salt")?),
        };
        let iv = fixed::<IV_BYTES>(map, "iv")?;
        let ct = decode_base64(text(map, "ct")?).ok_or(SealedError::NotBase64("ct"))?;
        if ct.len() < TAG_BYTES {
            return Err(SealedError::TooShort(ct.len()));
        }
        Ok(Sealed { salt, iv, ct })
    }
}

/// What a payload is, as far as the first screen needs to know: `None` when it does not say
/// it is sealed, `Ok` when it has a sealed message's shape (version 1, text `iv` and `ct`
/// of sizes that can be right), an error in words when it says it is sealed but is not.
/// Its base64 is read only by [`Sealed::read`], when it is opened.
pub fn sealed_kind(payload: &[u8]) -> Option<Result<(), SealedError>> {
    let map = enc_object(payload)?;
    Some(check_shape(&map))
}

/// The payload as a JSON object that names `enc`.
fn enc_object(payload: &[u8]) -> Option<Map<String, Value>> {
    // Cheap refusal first: every sealed payload names `enc`.
    if !contains(payload, b"\"enc\"") {
        return None;
    }
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(map)) if map.contains_key("enc") => Some(map),
        _ => None,
    }
}

/// The version, and text fields of bounded size (not yet decoded).
fn check_shape(map: &Map<String, Value>) -> Result<(), SealedError> {
    let version = map.get("enc").unwrap_or(&Value::Null);
    if version.as_u64() != Some(FORMAT_VERSION) {
        return Err(SealedError::Version(describe(version)));
    }
    if !matches!(map.get("salt"), None | Some(Value::Null)) {
        bounded(map, "salt", SALT_BYTES)?;
    }
    bounded(map, "iv", IV_BYTES)?;
    let ct = text(map, "ct")?;
    if ct.len() > MAX_CIPHERTEXT_BYTES / 3 * 4 + 4 {
        return Err(SealedError::TooLarge(ct.len()));
    }
    Ok(())
}

/// A JSON value in a few words, without formatting it whole (a fraction is not printed:
/// that would bring the float printer into the first load).
fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => {
            format!("\"{}", cut(s)) + if s.chars().count() > 20 { "" } else { "\"" }
        }
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(n), _) => n.to_string(),
            (None, Some(n)) => n.to_string(),
            _ => "a fraction".to_owned(),
        },
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Text field `field` that can hold `bytes` bytes of base64.
fn bounded(map: &Map<String, Value>, field: &'static str, bytes: usize) -> Result<(), SealedError> {
    let s = text(map, field)?;
    if s.len() > bytes / 3 * 4 + 4 {
        return Err(SealedError::Length {
            field,
            bytes: s.len() / 4 * 3,
            expected: bytes,
        });
    }
    Ok(())
}

/// A room's salt record (module docs): the salt and the rounds to derive with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaltRecord {
    pub salt: [u8; SALT_BYTES],
    pub iterations: u32,
    /// The key check: IV then ciphertext (module docs). `None` in a record made before it
    /// existed, or by a client that does not make one.
    pub check: Option<[u8; KEY_CHECK_BYTES]>,
}

/// Why a retained salt record cannot be used; words follow "the room's salt record ...".
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SaltError {
    #[error("is not a JSON object")]
    NotObject,
    #[error("{0}")]
    Field(SealedError),
    #[error(
        "asks for {0} rounds; between {PBKDF2_ITERATIONS} and {MAX_PBKDF2_ITERATIONS} are taken"
    )]
    Iterations(String),
}

impl SaltRecord {
    /// A fresh record from 16 random bytes.
    pub fn new(salt: [u8; SALT_BYTES]) -> SaltRecord {
        SaltRecord {
            salt,
            iterations: PBKDF2_ITERATIONS,
            check: None,
        }
    }

    /// The key check's IV and ciphertext.
    pub fn check_parts(&self) -> Option<([u8; IV_BYTES], &[u8])> {
        let check = self.check.as_ref()?;
        let (iv, ct) = check.split_at(IV_BYTES);
        Some((iv.try_into().ok()?, ct))
    }

    pub fn to_json(&self) -> Vec<u8> {
        /// The fields in the documented order.
        #[derive(serde::Serialize)]
        struct Wire {
            salt: String,
            iterations: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            check: Option<String>,
        }
        let wire = Wire {
            salt: STANDARD.encode(self.salt),
            iterations: self.iterations,
            check: self.check.map(|c| STANDARD.encode(c)),
        };
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// A retained record from the network. Too few rounds would weaken the key; too many
    /// would hold the tab: both are refused.
    pub fn read(payload: &[u8]) -> Result<SaltRecord, SaltError> {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(payload) else {
            return Err(SaltError::NotObject);
        };
        let salt = fixed::<SALT_BYTES>(&map, "salt").map_err(SaltError::Field)?;
        let rounds = map
            .get("iterations")
            .ok_or(SaltError::Field(SealedError::Missing("iterations")))?;
        let iterations = rounds
            .as_u64()
            .filter(|n| (PBKDF2_ITERATIONS as u64..=MAX_PBKDF2_ITERATIONS as u64).contains(n))
            .ok_or_else(|| SaltError::Iterations(describe(rounds)))?;
        let check = match map.get("check") {
            None | Some(Value::Null) => None,
            Some(_) => Some(fixed::<KEY_CHECK_BYTES>(&map, "check").map_err(SaltError::Field)?),
        };
        Ok(SaltRecord {
            salt,
            iterations: iterations as u32,
            check,
        })
    }
}

/// A room key given as a link: `#key=<base64url of 32 bytes>` in the page's fragment (never
/// sent to a server). `fragment` is the location's hash, with or without its `#`; other
/// `&`-separated parts are left alone. `None` when there is no key; an error when there is
/// one that is not 32 bytes of base64url.
pub fn key_in_fragment(fragment: &str) -> Option<Result<[u8; KEY_BYTES], SealedError>> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    let value = fragment
        .split('&')
        .find_map(|part| part.strip_prefix("key="))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| SealedError::NotBase64("key"));
    Some(bytes.and_then(|b| {
        <[u8; KEY_BYTES]>::try_from(b.as_slice()).map_err(|_| SealedError::Length {
            field: "key",
            bytes: b.len(),
            expected: KEY_BYTES,
        })
    }))
}

/// The room a key link names (`room=<name>` in the fragment, percent-encoded as it is
/// there), if it names one.
pub fn room_in_fragment(fragment: &str) -> Option<String> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    fragment
        .split('&')
        .find_map(|part| part.strip_prefix("room="))
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
}

/// The fragment that carries `key` (see [`key_in_fragment`]): `key=<base64url>`.
pub fn key_fragment(key: &[u8; KEY_BYTES]) -> String {
    format!(
        "key={}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
    )
}

/// At most 20 characters of `shown` (a hostile value in words), `…` marking a cut.
fn cut(shown: &str) -> String {
    match shown.char_indices().nth(20) {
        Some((at, _)) => format!("{}…", &shown[..at]),
        None => shown.to_owned(),
    }
}

fn text<'a>(map: &'a Map<String, Value>, field: &'static str) -> Result<&'a str, SealedError> {
    match map.get(field) {
        None | Some(Value::Null) => Err(SealedError::Missing(field)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(SealedError::NotBase64(field)),
    }
}

/// A base64 field of exactly `N` bytes.
fn fixed<const N: usize>(
    map: &Map<String, Value>,
    field: &'static str,
) -> Result<[u8; N], SealedError> {
    let s = text(map, field)?;
    // Longer text cannot be N bytes: refused before decoding it.
    if s.len() > N / 3 * 4 + 4 {
        return Err(SealedError::Length {
            field,
            bytes: s.len() / 4 * 3,
            expected: N,
        });
    }
    let bytes = decode_base64(s).ok_or(SealedError::NotBase64(field))?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| SealedError::Length {
        field,
        bytes: bytes.len(),
        expected: N,
    })
}

/// Standard base64, padded or not.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .ok()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use aes_gcm::{Aes256Gcm, Nonce};
    use proptest::prelude::*;

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    /// What the browser does (WebCrypto's AES-GCM), done by the RustCrypto crate here, to
    /// check that the format carries everything a reader needs.
    fn seal(key: &[u8; 32], iv: [u8; 12], room: &RoomName, plain: &[u8]) -> Sealed {
        let cipher = Aes256Gcm::new(key.into());
        let aad = associated_data(room);
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&iv),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .unwrap();
        Sealed {
            salt: Some([7; 16]),
            iv,
            ct,
        }
    }

    fn open(key: &[u8; 32], room: &RoomName, sealed: &Sealed) -> Option<Vec<u8>> {
        let cipher = Aes256Gcm::new(key.into());
        let aad = associated_data(room);
        cipher
            .decrypt(
                Nonce::from_slice(&sealed.iv),
                Payload {
                    msg: &sealed.ct,
                    aad: &aad,
                },
            )
            .ok()
    }

    #[test]
    fn a_sealed_message_round_trips_through_its_wire_form_and_opens() {
        let key = [42u8; 32];
        let tea = room("tea");
        let plain = br#"{"name":"ana","message":"hello <b>","id":"m1"}"#;
        let sealed = seal(&key, [1; 12], &tea, plain);
        let wire = sealed.to_json();
        let text = String::from_utf8(wire.clone()).unwrap();
        assert!(!text.contains("hello"), "{text}");
        assert!(text.starts_with(r#"{"enc":1,"salt":""#), "{text}");
        let read = Sealed::read(&wire).unwrap().unwrap();
        assert_eq!(read, sealed);
        assert_eq!(open(&key, &tea, &read).unwrap(), plain);
        // A link key's message names no salt.
        let linked = Sealed {
            salt: None,
            ..sealed
        };
        let wire = linked.to_json();
        assert!(!String::from_utf8_lossy(&wire).contains("salt"));
        assert_eq!(Sealed::read(&wire).unwrap().unwrap(), linked);
    }

    #[test]
    fn the_known_answer_is_what_aes_gcm_gives() {
        let plain = KNOWN_ANSWER_PLAIN.as_bytes();
        let sealed = Sealed {
            salt: None,
            ..seal(&[42; 32], [1; 12], &room("tea"), plain)
        };
        assert_eq!(
            String::from_utf8(sealed.to_json()).unwrap(),
            KNOWN_ANSWER_WIRE
        );
        let read = Sealed::read(KNOWN_ANSWER_WIRE.as_bytes()).unwrap().unwrap();
        assert_eq!(open(&[42; 32], &room("tea"), &read).unwrap(), plain);
    }

    #[test]
    fn tampered_ciphertext_a_wrong_key_or_another_room_does_not_open() {
        let key = [42u8; 32];
        let tea = room("tea");
        let sealed = seal(&key, [9; 12], &tea, b"{\"name\":\"a\",\"message\":\"b\"}");
        for i in [0, sealed.ct.len() / 2, sealed.ct.len() - 1] {
            let mut bent = sealed.clone();
            bent.ct[i] ^= 1;
            assert_eq!(open(&key, &tea, &bent), None, "byte {i}");
        }
        let mut bent = sealed.clone();
        bent.iv[0] ^= 1;
        assert_eq!(open(&key, &tea, &bent), None, "iv");
        assert_eq!(open(&[41; 32], &tea, &sealed), None, "wrong key");
        // Replayed into another room: the associated data differs.
        assert_eq!(open(&key, &room("coffee"), &sealed), None, "other room");
        assert_eq!(open(&key, &room("messages"), &sealed), None, "default room");
        assert!(open(&key, &tea, &sealed).is_some());
    }

    #[test]
    fn the_associated_data_names_the_rooms_chat_topic() {
        assert_eq!(
            associated_data(&room("tea")),
            b"mqtt-chat/private/1 messages/tea"
        );
        assert_eq!(
            associated_data(&room("messages")),
            b"mqtt-chat/private/1 messages"
        );
        assert_eq!(salt_topic(&room("tea")), "chat/salt/messages/tea");
    }

    #[test]
    fn plain_payloads_are_not_sealed_ones() {
        for plain in [
            &br#"{"name":"a","message":"enc"}"#[..],
            b"",
            b"not json \"enc\"",
            b"[\"enc\"]",
            b"\"enc\"",
            br#"{"name":"a","message":"b"}"#,
        ] {
            assert_eq!(
                Sealed::read(plain),
                None,
                "{:?}",
                String::from_utf8_lossy(plain)
            );
        }
    }

    #[test]
    fn malformed_sealed_messages_are_refused_in_words() {
        let iv = STANDARD.encode([0u8; 12]);
        let ct = STANDARD.encode([0u8; 20]);
        let cases: Vec<(String, SealedError)> = vec![
            (
                format!(r#"{{"enc":2,"iv":"{iv}","ct":"{ct}"}}"#),
                SealedError::Version("2".into()),
            ),
            (
                format!(r#"{{"enc":"1","iv":"{iv}","ct":"{ct}"}}"#),
                SealedError::Version("\"1\"".into()),
            ),
            (
                format!(r#"{{"enc":1,"ct":"{ct}"}}"#),
                SealedError::Missing("iv"),
            ),
            (
                format!(r#"{{"enc":1,"iv":"{iv}"}}"#),
                SealedError::Missing("ct"),
            ),
            (
                format!(r#"{{"enc":1,"iv":"{iv}","ct":5}}"#),
                SealedError::NotBase64("ct"),
            ),
            (
                format!(r#"{{"enc":1,"iv":"{iv}","ct":"%%%%"}}"#),
                SealedError::NotBase64("ct"),
            ),
            // A truncated IV.
            (
                format!(
                    r#"{{"enc":1,"iv":"{}","ct":"{ct}"}}"#,
                    STANDARD.encode([0u8; 11])
                ),
                SealedError::Length {
                    field: "iv",
                    bytes: 11,
                    expected: 12,
                },
            ),
            (
                format!(
                    r#"{{"enc":1,"salt":"{}","iv":"{iv}","ct":"{ct}"}}"#,
                    STANDARD.encode([0u8; 8])
                ),
                SealedError::Length {
                    field: "salt",
                    bytes: 8,
                    expected: 16,
                },
            ),
            (
                format!(
                    r#"{{"enc":1,"iv":"{iv}","ct":"{}"}}"#,
                    STANDARD.encode([0u8; 15])
                ),
                SealedError::TooShort(15),
            ),
        ];
        for (payload, expected) in cases {
            assert_eq!(
                Sealed::read(payload.as_bytes()),
                Some(Err(expected)),
                "{payload}"
            );
        }
        // Huge fields are refused before they are decoded.
        let huge = format!(
            r#"{{"enc":1,"iv":"{}","ct":"{ct}"}}"#,
            "A".repeat(1_000_000)
        );
        assert!(matches!(
            Sealed::read(huge.as_bytes()),
            Some(Err(SealedError::Length { field: "iv", .. }))
        ));
        let huge = format!(
            r#"{{"enc":1,"iv":"{iv}","ct":"{}"}}"#,
            "A".repeat(MAX_CIPHERTEXT_BYTES * 2)
        );
        assert!(matches!(
            Sealed::read(huge.as_bytes()),
            Some(Err(SealedError::TooLarge(_)))
        ));
        // A huge version is cut in the words.
        let long = format!(r#"{{"enc":"{}","iv":"{iv}","ct":"{ct}"}}"#, "9".repeat(500));
        let Some(Err(e)) = Sealed::read(long.as_bytes()) else {
            panic!("refused")
        };
        assert!(e.to_string().len() < 80, "{e}");
        // Unpadded base64 is taken.
        let unpadded = format!(
            r#"{{"enc":1,"iv":"{}","ct":"{}"}}"#,
            STANDARD_NO_PAD.encode([3u8; 12]),
            STANDARD_NO_PAD.encode([4u8; 17])
        );
        assert_eq!(
            Sealed::read(unpadded.as_bytes()),
            Some(Ok(Sealed {
                salt: None,
                iv: [3; 12],
                ct: vec![4; 17]
            }))
        );
    }

    #[test]
    fn the_first_screen_reads_a_sealed_messages_shape_only() {
        let good = Sealed {
            salt: Some([1; 16]),
            iv: [2; 12],
            ct: vec![3; 40],
        }
        .to_json();
        assert_eq!(sealed_kind(&good), Some(Ok(())));
        assert_eq!(sealed_kind(br#"{"name":"a","message":"b"}"#), None);
        assert_eq!(
            sealed_kind(br#"{"enc":2,"iv":"x","ct":"y"}"#),
            Some(Err(SealedError::Version("2".into())))
        );
        assert_eq!(
            sealed_kind(br#"{"enc":1.5,"iv":"x","ct":"y"}"#),
            Some(Err(SealedError::Version("a fraction".into())))
        );
        assert_eq!(
            sealed_kind(br#"{"enc":1,"ct":"y"}"#),
            Some(Err(SealedError::Missing("iv")))
        );
        // Its base64 is read only when it is opened.
        assert_eq!(
            sealed_kind(br#"{"enc":1,"iv":"%%","ct":"%%"}"#),
            Some(Ok(()))
        );
        assert_eq!(
            Sealed::read(br#"{"enc":1,"iv":"%%","ct":"%%"}"#),
            Some(Err(SealedError::NotBase64("iv")))
        );
    }

    #[test]
    fn a_salt_records_key_check_tells_the_rooms_key_from_another() {
        let (key, wrong) = ([42u8; 32], [43u8; 32]);
        let tea = room("tea");
        let cipher = Aes256Gcm::new((&key).into());
        let iv = [9u8; 12];
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&iv),
                Payload {
                    msg: KEY_CHECK_PLAIN,
                    aad: &check_data(&tea),
                },
            )
            .unwrap();
        let mut check = [0u8; KEY_CHECK_BYTES];
        check[..12].copy_from_slice(&iv);
        check[12..].copy_from_slice(&ct);
        let record = SaltRecord {
            check: Some(check),
            ..SaltRecord::new([5; 16])
        };
        let read = SaltRecord::read(&record.to_json()).unwrap();
        assert_eq!(read, record);
        let (iv, ct) = read.check_parts().unwrap();
        let opens = |key: &[u8; 32], aad: &[u8]| {
            Aes256Gcm::new(key.into())
                .decrypt(Nonce::from_slice(&iv), Payload { msg: ct, aad })
                .ok()
        };
        assert_eq!(
            opens(&key, &check_data(&tea)).as_deref(),
            Some(KEY_CHECK_PLAIN)
        );
        assert_eq!(opens(&wrong, &check_data(&tea)), None);
        // Not a message's associated data, nor another room's.
        assert_eq!(opens(&key, &associated_data(&tea)), None);
        assert_eq!(opens(&key, &check_data(&room("coffee"))), None);
        // A record without a check is read as one (made before checks, or elsewhere).
        assert_eq!(
            SaltRecord::read(&SaltRecord::new([5; 16]).to_json())
                .unwrap()
                .check,
            None
        );
        // A check of the wrong size or not base64 is refused in words.
        let salt = STANDARD.encode([5u8; 16]);
        for check in ["\"AAAA\"", "\"!!\"", "7"] {
            let payload = format!(r#"{{"salt":"{salt}","iterations":600000,"check":{check}}}"#);
            let e = SaltRecord::read(payload.as_bytes()).unwrap_err();
            assert!(matches!(e, SaltError::Field(_)), "{check}: {e}");
        }
    }

    #[test]
    fn salt_records_round_trip_and_bound_their_rounds() {
        let record = SaltRecord::new([5; 16]);
        assert_eq!(SaltRecord::read(&record.to_json()), Ok(record.clone()));
        assert_eq!(
            String::from_utf8(record.to_json()).unwrap(),
            r#"{"salt":"BQUFBQUFBQUFBQUFBQUFBQ==","iterations":600000}"#
        );
        assert_eq!(record.iterations, 600_000);
        let salt = STANDARD.encode([5u8; 16]);
        for (rounds, ok) in [
            ("1000", false),
            ("599999", false),
            ("600000", true),
            ("5000000", true),
            ("5000001", false),
            ("1e100", false),
            ("-1", false),
            ("\"600000\"", false),
        ] {
            let payload = format!(r#"{{"salt":"{salt}","iterations":{rounds}}}"#);
            assert_eq!(SaltRecord::read(payload.as_bytes()).is_ok(), ok, "{rounds}");
        }
        assert_eq!(SaltRecord::read(b"[]"), Err(SaltError::NotObject));
        // Words made of a hostile value are cut by characters, never inside one.
        let payload = format!(r#"{{"salt":"{salt}","iterations":"{}"}}"#, "é".repeat(30));
        assert_eq!(
            SaltRecord::read(payload.as_bytes()),
            Err(SaltError::Iterations(format!("\"{}…", "é".repeat(20))))
        );
        assert_eq!(
            SaltRecord::read(br#"{"iterations":600000}"#),
            Err(SaltError::Field(SealedError::Missing("salt")))
        );
    }

    #[test]
    fn a_key_travels_in_the_fragment_only_as_32_bytes() {
        let key = [0xfbu8; 32];
        let fragment = key_fragment(&key);
        let value = fragment.strip_prefix("key=").unwrap();
        assert!(!value.contains(['+', '/', '=']), "{fragment}");
        assert_eq!(key_in_fragment(&format!("#{fragment}")), Some(Ok(key)));
        assert_eq!(
            key_in_fragment(&format!("room=tea&{fragment}")),
            Some(Ok(key))
        );
        assert_eq!(key_in_fragment("#/watch"), None);
        assert_eq!(key_in_fragment(""), None);
        assert!(matches!(
            key_in_fragment("#key=AAAA"),
            Some(Err(SealedError::Length { bytes: 3, .. }))
        ));
        assert_eq!(
            key_in_fragment("#key=***"),
            Some(Err(SealedError::NotBase64("key")))
        );
        assert_eq!(
            room_in_fragment(&format!("#room=tea%20time&{fragment}")).as_deref(),
            Some("tea%20time")
        );
        assert_eq!(room_in_fragment(&format!("#{fragment}")), None);
        assert_eq!(room_in_fragment("#room=&key=x"), None);
    }

    proptest! {
        /// Whatever arrives, reading it returns: no panic, no hang.
        #[test]
        fn any_payload_is_read_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Sealed::read(&bytes);
            let _ = SaltRecord::read(&bytes);
            let _ = key_in_fragment(&String::from_utf8_lossy(&bytes));
        }

        /// Any JSON object with `enc` is read to a sealed message or refused in words.
        #[test]
        fn any_enc_object_is_read_or_refused(
            enc in prop_oneof![Just(serde_json::json!(1)), any::<i64>().prop_map(|n| serde_json::json!(n)), ".*".prop_map(|s| serde_json::json!(s))],
            iv in proptest::option::of(".{0,40}"),
            ct in proptest::option::of(".{0,80}"),
            salt in proptest::option::of(".{0,40}"),
        ) {
            let mut map = Map::new();
            map.insert("enc".into(), enc);
            if let Some(iv) = iv { map.insert("iv".into(), Value::from(iv)); }
            if let Some(ct) = ct { map.insert("ct".into(), Value::from(ct)); }
            if let Some(salt) = salt { map.insert("salt".into(), Value::from(salt)); }
            let payload = serde_json::to_vec(&Value::Object(map)).unwrap();
            match Sealed::read(&payload) {
                Some(Ok(sealed)) => prop_assert_eq!(Sealed::read(&sealed.to_json()), Some(Ok(sealed))),
                Some(Err(e)) => prop_assert!(!e.to_string().is_empty()),
                None => prop_assert!(false, "an object with enc is sealed or refused"),
            }
        }
    }
}
