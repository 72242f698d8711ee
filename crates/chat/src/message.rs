//! The wire format: JSON `{"name": "...", "message": "..."}` on the chat topic, with optional
//! extra fields. Anything else a broker delivers is kept as a raw payload, never dropped.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// One chat message as it travels. Other clients may add fields of any type; they are ignored.
/// Serialized with serde; read with [`decode_payload`], which tolerates foreign field types.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ChatMessage {
    pub name: String,
    /// The text; a reaction has none, and leaves the field out.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Unique per message, so a message that arrives twice is shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The sending tab's random author id (never its MQTT client id), so a tab knows its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Sender's clock, milliseconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ts: Option<f64>,
    /// A reply: the id of the message it answers. Its own `message` is the reply alone, so
    /// a client that knows nothing of replies still reads it as plain text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Who wrote the message answered, for a quote shown without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_name: Option<String>,
    /// The start of the message answered (at most [`REPLY_TEXT_CHARS`] chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_text: Option<String>,
    /// A reaction: this emoji on the message [`ChatMessage::to`] names (see
    /// [`crate::reactions`]). A reaction is no chat row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub react: Option<String>,
    /// What a reaction is on: the id of a message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Who reacts: the person (a browser profile's id, as in presence); without it, the name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// A reaction taken back.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub undo: bool,
    /// In a private room, this message as it travels: sealed (`crate::private`), what
    /// [`ChatMessage::to_json`] gives, so that the outbox, the history and the wire only
    /// ever hold it sealed. Never part of the JSON itself.
    #[serde(skip)]
    pub sealed: Option<std::sync::Arc<[u8]>>,
}

/// How much of the answered message a reply carries.
pub const REPLY_TEXT_CHARS: usize = 100;

/// What a reply quotes: the message it answers, as it is sent along with the reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quote {
    /// The id of the message answered.
    pub to: String,
    pub name: String,
    /// At most [`REPLY_TEXT_CHARS`] chars of it, `…` marking a cut.
    pub text: String,
}

impl Quote {
    /// A quote of a message (`name` wrote `text`, under `id`).
    pub fn of(id: &str, name: &str, text: &str) -> Quote {
        let text = match text.char_indices().nth(REPLY_TEXT_CHARS) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.to_owned(),
        };
        Quote {
            to: id.to_owned(),
            name: name.chars().take(crate::MAX_NAME_CHARS).collect(),
            text,
        }
    }
}

impl ChatMessage {
    /// The quote this message carries, if it is a reply (a reply names what it answers;
    /// its name and text may be missing from another client's reply).
    pub fn quote(&self) -> Option<Quote> {
        let to = self.reply_to.clone().filter(|to| !to.is_empty())?;
        let of = Quote::of(
            &to,
            self.reply_name.as_deref().unwrap_or_default(),
            self.reply_text.as_deref().unwrap_or_default(),
        );
        Some(of)
    }

    /// This message as a reply quoting `quote`.
    pub fn replying(mut self, quote: &Quote) -> ChatMessage {
        self.reply_to = Some(quote.to.clone());
        self.reply_name = Some(quote.name.clone());
        self.reply_text = Some(quote.text.clone());
        self
    }
}

impl ChatMessage {
    /// The payload on the wire: the JSON, or for a private room's message, the sealed
    /// payload ([`ChatMessage::sealed`]).
    pub fn to_json(&self) -> Vec<u8> {
        if let Some(sealed) = &self.sealed {
            return sealed.to_vec();
        }
        self.plain_json()
    }

    /// The JSON of the message itself, never sealed: what a private room seals.
    pub fn plain_json(&self) -> Vec<u8> {
        // Serializing plain strings and numbers cannot fail; NaN/inf become null.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Why a payload is not a chat message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawReason {
    InvalidUtf8,
    NotJson,
    WrongShape,
    /// Has a text `react`, but no message id in `to`, or an emoji too long or with spaces.
    BadReaction,
    /// A private room's sealed message (`crate::private`): this tab has no key that opens
    /// it, or has not opened it yet. Its text is the whole payload, never cut, so it can be
    /// opened later.
    Sealed,
    /// Says it is sealed (`enc`), but is not a sealed message this app can read.
    BadSealed(crate::private::SealedError),
}

impl fmt::Display for RawReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RawReason::InvalidUtf8 => "not valid UTF-8",
            RawReason::NotJson => "not JSON",
            RawReason::WrongShape => "JSON without text \"name\" and \"message\"",
            RawReason::BadReaction => "a reaction without a valid emoji and message id",
            RawReason::Sealed => "a private room's sealed message",
            RawReason::BadSealed(e) => return write!(f, "a sealed message that {e}"),
        })
    }
}

/// What a payload on the chat topic turned out to be.
// Decoded once per arrival and taken apart at once: boxing the message would cost an
// allocation per message for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    Chat(ChatMessage),
    Raw { text: String, reason: RawReason },
}

/// What a payload is. A JSON object with a text `name` and a text `message` is a chat message,
/// whatever else it carries: the optional fields this app writes (`id`, `from`, `ts`) are
/// taken only when they have the type this app gives them, since other clients are free to
/// use the same names for something else.
pub fn decode_payload(bytes: &[u8]) -> Payload {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => {
            return Payload::Raw {
                text: String::from_utf8_lossy(bytes).into_owned(),
                reason: RawReason::InvalidUtf8,
            }
        }
    };
    let raw = |reason| Payload::Raw {
        text: text.to_owned(),
        reason,
    };
    // Only an object is a chat message (serde would also read an array into `Wire`).
    if !text.trim_start().starts_with('{') {
        return match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => raw(RawReason::WrongShape),
            Err(_) => raw(RawReason::NotJson),
        };
    }
    if let Some(sealed) = crate::private::sealed_kind(bytes) {
        return raw(match sealed {
            Ok(()) => RawReason::Sealed,
            Err(e) => RawReason::BadSealed(e),
        });
    }
    match serde_json::from_str::<Wire>(text) {
        Ok(Wire {
            react: Field::Text(react),
            to,
            name,
            id,
            from,
            ts,
            by,
            undo,
            ..
        }) => {
            let reaction = ChatMessage {
                name: name.text().unwrap_or_default(),
                id: id.text(),
                from: from.text(),
                ts: ts.number(),
                react: Some(react),
                to: to.text(),
                by: by.text(),
                undo: matches!(undo, Field::Flag(true)),
                ..Default::default()
            };
            if crate::reactions::Reaction::of(&reaction, 0.0).is_some() {
                Payload::Chat(reaction)
            } else {
                raw(RawReason::BadReaction)
            }
        }
        Ok(Wire {
            name: Field::Text(name),
            message: Field::Text(message),
            id,
            from,
            ts,
            reply_to,
            reply_name,
            reply_text,
            ..
        }) => Payload::Chat(ChatMessage {
            name,
            message,
            id: id.text(),
            from: from.text(),
            ts: ts.number(),
            reply_to: reply_to.text(),
            reply_name: reply_name.text(),
            reply_text: reply_text.text(),
            ..Default::default()
        }),
        Ok(_) => raw(RawReason::WrongShape),
        Err(e) if e.is_data() => raw(RawReason::WrongShape),
        Err(_) => raw(RawReason::NotJson),
    }
}

/// The fields this app reads, each of any JSON type; the rest are skipped unread.
#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    name: Field,
    #[serde(default)]
    message: Field,
    #[serde(default)]
    id: Field,
    #[serde(default)]
    from: Field,
    #[serde(default)]
    ts: Field,
    #[serde(default)]
    reply_to: Field,
    #[serde(default)]
    reply_name: Field,
    #[serde(default)]
    reply_text: Field,
    #[serde(default)]
    react: Field,
    #[serde(default)]
    to: Field,
    #[serde(default)]
    by: Field,
    #[serde(default)]
    undo: Field,
}

/// One JSON value, kept only if it is a string or a number.
#[derive(Default)]
enum Field {
    Text(String),
    Number(f64),
    Flag(bool),
    #[default]
    Other,
}

impl Field {
    fn text(self) -> Option<String> {
        match self {
            Field::Text(s) => Some(s),
            _ => None,
        }
    }

    fn number(self) -> Option<f64> {
        match self {
            Field::Number(n) => Some(n),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
        Ok(Field::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Field, E> {
        Ok(Field::Text(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Field, E> {
        Ok(Field::Number(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field, E> {
        Ok(Field::Number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field, E> {
        Ok(Field::Number(v as f64))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Field, E> {
        Ok(Field::Flag(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_chat_json_decodes() {
        let p = decode_payload(br#"{"name":"cli","message":"hi"}"#);
        assert_eq!(
            p,
            Payload::Chat(ChatMessage {
                name: "cli".into(),
                message: "hi".into(),
                id: None,
                from: None,
                ts: None,
                ..Default::default()
            })
        );
    }

    #[test]
    fn extra_fields_are_allowed() {
        let p =
            decode_payload(br#"{"name":"a","message":"b","id":"x1","ts":1.5e12,"color":"red"}"#);
        assert!(matches!(p, Payload::Chat(ChatMessage { id: Some(ref id), .. }) if id == "x1"));
    }

    #[test]
    fn foreign_types_in_optional_fields_still_make_a_chat_message() {
        let p = decode_payload(
            br#"{"name":"a","message":"b","id":7,"from":{"x":1},"ts":"yesterday","extra":[1]}"#,
        );
        assert_eq!(
            p,
            Payload::Chat(ChatMessage {
                name: "a".into(),
                message: "b".into(),
                id: None,
                from: None,
                ts: None,
                ..Default::default()
            })
        );
        let p = decode_payload(br#"{"name":"a","message":"b","id":"k","ts":5}"#);
        assert!(
            matches!(p, Payload::Chat(ChatMessage { id: Some(ref id), ts: Some(t), .. }) if id == "k" && t == 5.0)
        );
    }

    #[test]
    fn non_chat_payloads_are_raw_with_a_reason() {
        let cases: [(&[u8], RawReason); 8] = [
            (b"hello there", RawReason::NotJson),
            (b"{\"name\":\"a\"", RawReason::NotJson),
            (b"[1,2,3]", RawReason::WrongShape),
            (br#"["cli","hi"]"#, RawReason::WrongShape),
            (b"  42 ", RawReason::WrongShape),
            (br#"{"name":"a"}"#, RawReason::WrongShape),
            (br#"{"name":5,"message":"b"}"#, RawReason::WrongShape),
            (&[0xff, 0xfe, b'a'], RawReason::InvalidUtf8),
        ];
        for (bytes, reason) in cases {
            match decode_payload(bytes) {
                Payload::Raw { reason: r, .. } => assert_eq!(r, reason, "{bytes:?}"),
                other => panic!("{bytes:?} decoded as {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_utf8_keeps_what_it_can_as_text() {
        match decode_payload(&[b'o', b'k', 0xff]) {
            Payload::Raw { text, .. } => assert_eq!(text, "ok\u{fffd}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_message_round_trips_through_json() {
        let m = ChatMessage {
            name: "<b>x</b>".into(),
            message: "line 1\nline 2 \"quoted\"".into(),
            id: Some("id-1".into()),
            from: Some("tab".into()),
            ts: Some(1_700_000_000_000.0),
            ..Default::default()
        };
        assert_eq!(decode_payload(&m.to_json()), Payload::Chat(m));
    }

    #[test]
    fn a_reply_carries_its_quote_and_reads_as_plain_text_elsewhere() {
        let original = "x".repeat(150);
        let quote = Quote::of("orig-1", "Ann", &original);
        assert_eq!(
            quote.text.chars().count(),
            REPLY_TEXT_CHARS + 1,
            "cut, with …"
        );
        assert!(quote.text.ends_with('…'));
        let reply = ChatMessage {
            name: "Bo".into(),
            message: "yes!".into(),
            id: Some("r1".into()),
            ..Default::default()
        }
        .replying(&quote);
        let json: serde_json::Value = serde_json::from_slice(&reply.to_json()).unwrap();
        // A client that knows nothing of replies still reads name and message.
        assert_eq!(json["message"], "yes!");
        assert_eq!(json["reply_to"], "orig-1");
        assert_eq!(json["reply_name"], "Ann");
        let Payload::Chat(back) = decode_payload(&reply.to_json()) else {
            panic!("a chat message");
        };
        assert_eq!(back.quote(), Some(quote));
        // Another client's reply of another shape: only what has the right type is taken.
        let Payload::Chat(other) =
            decode_payload(br#"{"name":"x","message":"m","reply_to":"id9","reply_text":7}"#)
        else {
            panic!("a chat message");
        };
        assert_eq!(
            other.quote(),
            Some(Quote {
                to: "id9".into(),
                name: String::new(),
                text: String::new()
            })
        );
        let Payload::Chat(plain) = decode_payload(br#"{"name":"x","message":"m","reply_to":5}"#)
        else {
            panic!("a chat message");
        };
        assert_eq!(
            plain.quote(),
            None,
            "a reply_to that is not text is no reply"
        );
    }
}
