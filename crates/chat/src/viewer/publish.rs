//! The viewer's publish panel: what a user typed, checked into a message that can go on
//! the wire (or refused in words before anything is sent), the templates kept per broker,
//! and the pace of a repeated publish.

use std::fmt;

use mqtt_core::topic::MAX_TOPIC_BYTES;
use mqtt_core::QoS;
use serde::{Deserialize, Serialize};

/// How the payload field is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PayloadFormat {
    /// Sent as typed (UTF-8).
    #[default]
    Text,
    /// Checked to be JSON, then sent as typed.
    Json,
    /// Hex digits (spaces, line breaks and `0x` prefixes allowed), sent as the bytes.
    Hex,
}

impl PayloadFormat {
    pub const ALL: [PayloadFormat; 3] = [Self::Text, Self::Json, Self::Hex];

    pub fn key(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
            Self::Hex => "hex",
        }
    }

    pub fn from_key(key: &str) -> Option<PayloadFormat> {
        Self::ALL.into_iter().find(|f| f.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Text => "Text",
            Self::Json => "JSON",
            Self::Hex => "Hex",
        }
    }
}

/// The panel's fields as typed. Also what a template keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PubDraft {
    pub topic: String,
    pub payload: String,
    pub format: PayloadFormat,
    /// 0 or 1.
    pub qos: u8,
    pub retain: bool,
    /// MQTT 5: Content Type (empty: none).
    pub content_type: String,
    /// MQTT 5: User Properties, one `key=value` a line.
    pub user_properties: String,
    /// MQTT 5: Message Expiry Interval in seconds (empty: none).
    pub expiry: String,
}

/// A message ready for the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ready {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
    pub content_type: Option<String>,
    pub user_properties: Vec<(String, String)>,
    pub expiry_secs: Option<u32>,
}

/// Why a topic cannot be published to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicError {
    Empty,
    Wildcard,
    Nul,
    TooLong(usize),
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the topic is empty"),
            Self::Wildcard => f.write_str(
                "a topic to publish to cannot hold + or # (they are wildcards, for watching)",
            ),
            Self::Nul => f.write_str("the topic cannot hold the NUL character"),
            Self::TooLong(n) => write!(f, "the topic is {n} bytes; at most 65,535 are allowed"),
        }
    }
}

/// Why the panel's fields are not a message, in words. Nothing is sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PubError {
    #[error("Not sent: {0}.")]
    Topic(TopicError),
    #[error("Not sent: the payload is not JSON ({0}).")]
    Json(String),
    #[error("Not sent: the payload is not hex ({0}).")]
    Hex(String),
    #[error("Not sent: user property line {line} is not key=value{why}.")]
    Property { line: usize, why: &'static str },
    #[error("Not sent: {0}.")]
    Field(&'static str),
    #[error(
        "Not sent: the message expiry must be a whole number of seconds from 1 to 4294967295."
    )]
    Expiry,
}

/// Check a topic name to publish to.
pub fn check_topic(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() {
        Err(TopicError::Empty)
    } else if topic.len() > MAX_TOPIC_BYTES {
        Err(TopicError::TooLong(topic.len()))
    } else if topic.contains('\0') {
        Err(TopicError::Nul)
    } else if topic.contains(['+', '#']) {
        Err(TopicError::Wildcard)
    } else {
        Ok(())
    }
}

/// The bytes that hex text stands for: pairs of hex digits, with whitespace, `:` or `,`
/// between bytes and an optional `0x` before a group allowed.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 2);
    for group in text.split(|c: char| c.is_ascii_whitespace() || c == ':' || c == ',') {
        let digits = group
            .strip_prefix("0x")
            .or_else(|| group.strip_prefix("0X"))
            .unwrap_or(group);
        if let Some((i, c)) = digits.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
            let at = group.len() - digits.len() + i;
            return Err(format!(
                "'{c}' is not a hex digit, in \"{}\" at {at}",
                cut(group)
            ));
        }
        if digits.len() % 2 == 1 {
            return Err(format!(
                "\"{}\" has an odd number of digits: each byte takes two",
                cut(group)
            ));
        }
        let bytes = digits.as_bytes();
        for pair in bytes.chunks_exact(2) {
            out.push((nibble(pair[0]) << 4) | nibble(pair[1]));
        }
    }
    Ok(out)
}

fn nibble(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit.wrapping_sub(b'A').wrapping_add(10) & 0x0F,
    }
}

/// At most 24 characters of `s`, for an error message.
fn cut(s: &str) -> String {
    let mut out: String = s.chars().take(24).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

const MAX_FIELD: usize = u16::MAX as usize;

fn check_field(s: &str, what: &'static str) -> Result<(), PubError> {
    if s.len() > MAX_FIELD || s.contains('\0') {
        Err(PubError::Field(what))
    } else {
        Ok(())
    }
}

impl PubDraft {
    /// The message these fields make, or why not. `v5`: the connection speaks MQTT 5 (the
    /// properties are read); under 3.1.1 they are left out, not refused.
    pub fn check(&self, v5: bool) -> Result<Ready, PubError> {
        check_topic(&self.topic).map_err(PubError::Topic)?;
        let payload = match self.format {
            PayloadFormat::Text => self.payload.as_bytes().to_vec(),
            PayloadFormat::Json => {
                serde_json::from_str::<serde::de::IgnoredAny>(&self.payload)
                    .map_err(|e| PubError::Json(e.to_string()))?;
                self.payload.as_bytes().to_vec()
            }
            PayloadFormat::Hex => parse_hex(&self.payload).map_err(PubError::Hex)?,
        };
        let mut ready = Ready {
            topic: self.topic.clone(),
            payload,
            qos: if self.qos == 0 {
                QoS::AtMostOnce
            } else {
                QoS::AtLeastOnce
            },
            retain: self.retain,
            content_type: None,
            user_properties: Vec::new(),
            expiry_secs: None,
        };
        if !v5 {
            return Ok(ready);
        }
        if !self.content_type.is_empty() {
            check_field(
                &self.content_type,
                "the content type must be at most 65,535 bytes with no NUL character",
            )?;
            ready.content_type = Some(self.content_type.clone());
        }
        for (i, line) in self.user_properties.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let line_no = i + 1;
            let Some((key, value)) = line.split_once('=') else {
                return Err(PubError::Property {
                    line: line_no,
                    why: "",
                });
            };
            let key = key.trim();
            if key.is_empty() {
                return Err(PubError::Property {
                    line: line_no,
                    why: ": the key is empty",
                });
            }
            if key.len() > MAX_FIELD || value.len() > MAX_FIELD || line.contains('\0') {
                return Err(PubError::Property {
                    line: line_no,
                    why: ": keys and values are at most 65,535 bytes with no NUL character",
                });
            }
            ready
                .user_properties
                .push((key.to_owned(), value.trim().to_owned()));
        }
        let expiry = self.expiry.trim();
        if !expiry.is_empty() {
            match expiry.parse::<u32>() {
                Ok(secs) if secs > 0 => ready.expiry_secs = Some(secs),
                _ => return Err(PubError::Expiry),
            }
        }
        Ok(ready)
    }
}

// ----- templates -----

/// Templates kept at most (per broker).
pub const MAX_TEMPLATES: usize = 200;
/// Characters of a template's name.
pub const MAX_TEMPLATE_NAME: usize = 80;
/// Bytes of a template's payload kept (localStorage is small and shared).
pub const MAX_TEMPLATE_PAYLOAD: usize = 64 * 1024;

/// A saved publish: a name, the fields, and how often to repeat (none: once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub name: String,
    #[serde(flatten)]
    pub draft: PubDraft,
    /// Repeat every this many ms when used with "repeat".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_ms: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("Not saved: give the template a name.")]
    NoName,
    #[error("Not saved: a name is at most {MAX_TEMPLATE_NAME} characters.")]
    NameTooLong,
    #[error("Not saved: at most {MAX_TEMPLATES} templates; delete one first.")]
    TooMany,
    #[error("Not saved: a template's payload is at most 64 KiB.")]
    TooLarge,
}

/// The templates of one broker, in the order saved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Templates {
    list: Vec<Template>,
}

impl Templates {
    pub fn list(&self) -> &[Template] {
        &self.list
    }

    pub fn get(&self, name: &str) -> Option<&Template> {
        self.list.iter().find(|t| t.name == name)
    }

    /// Save `template`: one of the same name is replaced in place.
    pub fn save(&mut self, mut template: Template) -> Result<(), TemplateError> {
        template.name = template.name.trim().to_owned();
        if template.name.is_empty() {
            return Err(TemplateError::NoName);
        }
        if template.name.chars().count() > MAX_TEMPLATE_NAME {
            return Err(TemplateError::NameTooLong);
        }
        if template.draft.payload.len() > MAX_TEMPLATE_PAYLOAD {
            return Err(TemplateError::TooLarge);
        }
        if let Some(t) = self.list.iter_mut().find(|t| t.name == template.name) {
            *t = template;
        } else if self.list.len() >= MAX_TEMPLATES {
            return Err(TemplateError::TooMany);
        } else {
            self.list.push(template);
        }
        Ok(())
    }

    /// Delete the template named `name`: true if there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.list.len();
        self.list.retain(|t| t.name != name);
        before != self.list.len()
    }

    /// As kept in storage: a JSON array.
    pub fn encode(&self) -> String {
        serde_json::to_string(&self.list).unwrap_or_else(|_| "[]".into())
    }

    /// Read what storage kept: entries that are not templates (another version, edited
    /// by hand) are skipped, and counted.
    pub fn decode(text: &str) -> (Templates, usize) {
        let Ok(items) = serde_json::from_str::<Vec<serde_json::Value>>(text) else {
            return (Templates::default(), usize::from(!text.trim().is_empty()));
        };
        let mut out = Templates::default();
        let mut skipped = 0;
        for item in items {
            // Read again from text, not with `from_value`: its errors bring serde's own
            // float printer into the app's first load (see `charts::decimal`).
            let template = serde_json::to_string(&item)
                .ok()
                .and_then(|t| serde_json::from_str::<Template>(&t).ok());
            if template.is_none_or(|t| out.save(t).is_err()) {
                skipped += 1;
            }
        }
        (out, skipped)
    }
}

// ----- repeating -----

/// The shortest gap between two repeated sends, ms.
pub const MIN_REPEAT_MS: u32 = 100;
/// The longest, ms (a day).
pub const MAX_REPEAT_MS: u32 = 86_400_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Not started: repeat every 0.1 to 86400 seconds.")]
pub struct RepeatError;

/// Seconds as typed (`0.5`, `2`) to ms, within the bounds.
pub fn parse_every(seconds: &str) -> Result<u32, RepeatError> {
    let secs: f64 = seconds.trim().parse().map_err(|_| RepeatError)?;
    if !secs.is_finite() {
        return Err(RepeatError);
    }
    let ms = (secs * 1000.0).round();
    if ms < f64::from(MIN_REPEAT_MS) || ms > f64::from(MAX_REPEAT_MS) {
        return Err(RepeatError);
    }
    Ok(ms as u32)
}

/// When a repeated publish is due, on the caller's clock (ms). A tab in the background
/// gets its timers late: a late send goes once, and the next is due a whole period later,
/// so a throttled tab never sends a burst, and two sends are never closer than
/// [`MIN_REPEAT_MS`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Repeater {
    every_ms: f64,
    next: f64,
    sent: u64,
}

impl Repeater {
    /// Starts now: the first send is due at once.
    pub fn start(every_ms: u32, now: f64) -> Repeater {
        Repeater {
            every_ms: f64::from(every_ms.max(MIN_REPEAT_MS)),
            next: now,
            sent: 0,
        }
    }

    pub fn due(&self, now: f64) -> bool {
        now >= self.next
    }

    /// When the next send is due.
    pub fn next_at(&self) -> f64 {
        self.next
    }

    /// A send went at `now`.
    pub fn sent(&mut self, now: f64) {
        self.sent += 1;
        let on_time = self.next + self.every_ms;
        self.next = if on_time < now + f64::from(MIN_REPEAT_MS) {
            now + self.every_ms
        } else {
            on_time
        };
    }

    pub fn count(&self) -> u64 {
        self.sent
    }

    pub fn every_ms(&self) -> f64 {
        self.every_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(topic: &str, payload: &str, format: PayloadFormat) -> PubDraft {
        PubDraft {
            topic: topic.into(),
            payload: payload.into(),
            format,
            ..PubDraft::default()
        }
    }

    #[test]
    fn topics_are_checked_before_anything_is_sent() {
        for (topic, want) in [
            ("", TopicError::Empty),
            ("a/+/b", TopicError::Wildcard),
            ("a/#", TopicError::Wildcard),
            ("a\0b", TopicError::Nul),
        ] {
            let e = draft(topic, "x", PayloadFormat::Text).check(false);
            assert_eq!(e, Err(PubError::Topic(want)), "{topic:?}");
        }
        let long = "a".repeat(65_536);
        assert_eq!(check_topic(&long), Err(TopicError::TooLong(65_536)));
        assert!(check_topic(&long[1..]).is_ok());
        let words = PubError::Topic(TopicError::Wildcard).to_string();
        assert!(words.contains("wildcards"), "{words}");
    }

    #[test]
    fn json_and_hex_are_checked() {
        let ok = draft("t", " {\"a\": [1, 2]} ", PayloadFormat::Json)
            .check(false)
            .unwrap();
        assert_eq!(ok.payload, b" {\"a\": [1, 2]} ");
        let bad = draft("t", "{\"a\": }", PayloadFormat::Json).check(false);
        assert!(
            matches!(&bad, Err(PubError::Json(w)) if w.contains("column")),
            "{bad:?}"
        );
        let hex = draft("t", "0a FF\n0x10:20,3c", PayloadFormat::Hex)
            .check(false)
            .unwrap();
        assert_eq!(hex.payload, vec![0x0a, 0xff, 0x10, 0x20, 0x3c]);
        assert_eq!(
            draft("t", "", PayloadFormat::Hex)
                .check(false)
                .unwrap()
                .payload,
            Vec::<u8>::new()
        );
        for bad in ["abc", "0g", "zz", "0x1"] {
            let e = draft("t", bad, PayloadFormat::Hex).check(false);
            assert!(matches!(e, Err(PubError::Hex(_))), "{bad}: {e:?}");
        }
        assert!(parse_hex("12 3").unwrap_err().contains("odd"));
        assert!(parse_hex("12 x4").unwrap_err().contains("'x'"));
    }

    #[test]
    fn properties_are_read_under_mqtt_5_only() {
        let mut d = draft("t", "x", PayloadFormat::Text);
        d.content_type = "application/json".into();
        d.user_properties = "a=1\n\n b = two=2 \n".into();
        d.expiry = "30".into();
        d.qos = 1;
        d.retain = true;
        let v5 = d.check(true).unwrap();
        assert_eq!(v5.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            v5.user_properties,
            vec![("a".into(), "1".into()), ("b".into(), "two=2".into())]
        );
        assert_eq!(v5.expiry_secs, Some(30));
        assert_eq!((v5.qos, v5.retain), (QoS::AtLeastOnce, true));
        let v4 = d.check(false).unwrap();
        assert_eq!(v4.content_type, None);
        assert!(v4.user_properties.is_empty());
        assert_eq!(v4.expiry_secs, None);

        d.user_properties = "a=1\nnope".into();
        assert_eq!(d.check(true), Err(PubError::Property { line: 2, why: "" }));
        d.user_properties = "=1".into();
        assert!(matches!(
            d.check(true),
            Err(PubError::Property { line: 1, .. })
        ));
        d.user_properties.clear();
        for bad in ["0", "-1", "1.5", "x", "4294967296"] {
            d.expiry = bad.into();
            assert_eq!(d.check(true), Err(PubError::Expiry), "{bad}");
        }
        d.expiry.clear();
        d.content_type = "a\0b".into();
        assert!(matches!(d.check(true), Err(PubError::Field(_))));
    }

    #[test]
    fn templates_save_replace_delete_and_survive_storage() {
        let mut t = Templates::default();
        let one = Template {
            name: " lamp on ".into(),
            draft: draft("home/lamp", "{\"on\":true}", PayloadFormat::Json),
            every_ms: None,
        };
        t.save(one.clone()).unwrap();
        assert_eq!(t.list()[0].name, "lamp on");
        let mut again = one.clone();
        again.draft.payload = "{\"on\":false}".into();
        again.every_ms = Some(500);
        t.save(again).unwrap();
        assert_eq!(t.list().len(), 1);
        assert_eq!(t.get("lamp on").unwrap().every_ms, Some(500));
        assert_eq!(
            t.save(Template {
                name: "  ".into(),
                ..one.clone()
            }),
            Err(TemplateError::NoName)
        );
        let (back, skipped) = Templates::decode(&t.encode());
        assert_eq!((back, skipped), (t.clone(), 0));
        let (mixed, skipped) =
            Templates::decode(r#"[{"name":"a","topic":"x"}, 5, {"topic":"no name"}]"#);
        assert_eq!((mixed.list().len(), skipped), (1, 2));
        assert_eq!(Templates::decode("not json").1, 1);
        assert!(t.remove("lamp on"));
        assert!(!t.remove("lamp on"));
        for i in 0..MAX_TEMPLATES {
            t.save(Template {
                name: format!("t{i}"),
                ..one.clone()
            })
            .unwrap();
        }
        assert_eq!(
            t.save(Template {
                name: "one more".into(),
                ..one
            }),
            Err(TemplateError::TooMany)
        );
    }

    #[test]
    fn repeats_are_bounded_and_never_burst() {
        assert_eq!(parse_every("0.1"), Ok(100));
        assert_eq!(parse_every(" 2 "), Ok(2000));
        for bad in ["0.05", "0", "-1", "x", "NaN", "inf", "86401"] {
            assert_eq!(parse_every(bad), Err(RepeatError), "{bad}");
        }
        let mut r = Repeater::start(1000, 0.0);
        assert!(r.due(0.0));
        r.sent(0.0);
        assert!(!r.due(999.0));
        assert!(r.due(1000.0));
        r.sent(1003.0);
        assert_eq!(r.next_at(), 2000.0);
        // The tab slept for a minute: one send, then a whole period.
        r.sent(61_000.0);
        assert_eq!(r.next_at(), 62_000.0);
        assert_eq!(r.count(), 3);
        // Never closer than the minimum, whatever it was started with.
        let mut fast = Repeater::start(10, 0.0);
        fast.sent(0.0);
        assert_eq!(fast.next_at(), 100.0);
        fast.sent(150.0);
        assert!(fast.next_at() - 150.0 >= f64::from(MIN_REPEAT_MS));
    }
}
