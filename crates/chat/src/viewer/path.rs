//! The JSON path a chart reads a number from: `temp`, `a.b[0]`, `values[2].v`, `[0]`,
//! `a["x.y"]`.
//!
//! Keys are separated by `.` and may hold any character but `.`, `[` and `]`; a key that
//! holds those is written quoted in brackets, `["x.y"]`, with `\"` and `\\` inside.
//! `[n]` is the n-th element of an array, from 0. The path is trimmed of surrounding
//! whitespace. Positions in error words count characters from 1.
//!
//! [`number_of`] does not build a `serde_json::Value`: it walks the payload with serde,
//! following the path and skipping everything else (`IgnoredAny`), so it allocates
//! nothing for the parts it passes over and still checks the whole payload is JSON.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use thiserror::Error;

/// Bytes a path may have.
pub const MAX_PATH_BYTES: usize = 256;
/// Keys and indexes a path may have.
pub const MAX_SEGMENTS: usize = 32;

/// A parsed JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Why a path could not be read, in words for the user.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PathError {
    #[error("an empty path")]
    Empty,
    #[error("a path longer than {MAX_PATH_BYTES} bytes")]
    TooLong,
    #[error("a path of more than {MAX_SEGMENTS} keys and indexes")]
    TooManySegments,
    #[error("a key is missing at character {at}")]
    MissingKey { at: usize },
    #[error("a '[' at character {at} is not closed")]
    Unclosed { at: usize },
    #[error("a ']' at character {at} has no '[' before it")]
    StrayClose { at: usize },
    #[error("a quote at character {at} is not closed")]
    UnclosedQuote { at: usize },
    #[error("a '.' or '[' must come after the ']' at character {at}")]
    AfterBracket { at: usize },
    #[error("an index must be a number: [{0}]")]
    BadIndex(String),
    #[error("an index too large: [{0}]")]
    IndexTooLarge(String),
}

impl JsonPath {
    /// Reads `path`, trimmed of surrounding whitespace.
    pub fn parse(path: &str) -> Result<JsonPath, PathError> {
        let text = path.trim();
        if text.is_empty() {
            return Err(PathError::Empty);
        }
        if text.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong);
        }
        let chars: Vec<char> = text.chars().collect();
        let mut segments = Vec::new();
        // `i` indexes `chars`; a position in words is `i + 1`.
        let mut i = 0;
        let mut need_key = false;
        loop {
            match chars.get(i) {
                None if need_key => return Err(PathError::MissingKey { at: i + 1 }),
                None => break,
                Some('[') if !need_key => {
                    let (segment, next) = bracket(&chars, i)?;
                    segments.push(segment);
                    i = next;
                    match chars.get(i) {
                        None | Some('[') => {}
                        Some('.') => {
                            i += 1;
                            need_key = true;
                            continue;
                        }
                        Some(_) => return Err(PathError::AfterBracket { at: i }),
                    }
                }
                Some(_) => {
                    let start = i;
                    while let Some(&c) = chars.get(i) {
                        if matches!(c, '.' | '[' | ']') {
                            break;
                        }
                        i += 1;
                    }
                    if let Some(']') = chars.get(i) {
                        return Err(PathError::StrayClose { at: i + 1 });
                    }
                    if i == start {
                        return Err(PathError::MissingKey { at: i + 1 });
                    }
                    segments.push(Segment::Key(
                        chars.get(start..i).unwrap_or_default().iter().collect(),
                    ));
                    if let Some('.') = chars.get(i) {
                        i += 1;
                        need_key = true;
                        continue;
                    }
                }
            }
            need_key = false;
        }
        if segments.len() > MAX_SEGMENTS {
            return Err(PathError::TooManySegments);
        }
        Ok(JsonPath {
            text: text.to_owned(),
            segments,
        })
    }

    /// The path as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The segment in brackets starting at `chars[open] == '['`, and the index after its `]`.
fn bracket(chars: &[char], open: usize) -> Result<(Segment, usize), PathError> {
    let mut i = open + 1;
    if let Some('"') = chars.get(i) {
        let quote = i;
        let mut key = String::new();
        i += 1;
        loop {
            match chars.get(i) {
                None => return Err(PathError::UnclosedQuote { at: quote + 1 }),
                Some('"') => break,
                Some('\\') => {
                    i += 1;
                    match chars.get(i) {
                        Some(&c) => key.push(c),
                        None => return Err(PathError::UnclosedQuote { at: quote + 1 }),
                    }
                }
                Some(&c) => key.push(c),
            }
            i += 1;
        }
        i += 1;
        return match chars.get(i) {
            Some(']') => Ok((Segment::Key(key), i + 1)),
            _ => Err(PathError::Unclosed { at: open + 1 }),
        };
    }
    let start = i;
    while let Some(&c) = chars.get(i) {
        if c == ']' {
            break;
        }
        i += 1;
    }
    if chars.get(i).is_none() {
        return Err(PathError::Unclosed { at: open + 1 });
    }
    let inside: String = chars.get(start..i).unwrap_or_default().iter().collect();
    let digits = inside.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PathError::BadIndex(inside));
    }
    match digits.parse::<usize>() {
        Ok(n) => Ok((Segment::Index(n), i + 1)),
        Err(_) => Err(PathError::IndexTooLarge(inside)),
    }
}

impl FromStr for JsonPath {
    type Err = PathError;

    fn from_str(s: &str) -> Result<JsonPath, PathError> {
        JsonPath::parse(s)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The number a payload holds: with no path, the whole payload is a number (surrounding
/// whitespace allowed, e.g. "21.5", "-3", "1e3"; `true`/`false` count as 1/0 ; anything
/// else None); with a path, the payload is JSON and the number is at the path (a number,
/// a bool as 1/0, or a string that parses as a finite number).
///
/// Only finite numbers come back. A number is what Rust's `f64` parser reads (so "+5" and
/// ".5" count too); a JSON number too large for f64 makes the payload unreadable (None).
pub fn number_of(payload: &str, path: Option<&JsonPath>) -> Option<f64> {
    match path {
        None => match payload.trim() {
            "true" => Some(1.0),
            "false" => Some(0.0),
            text => number_in(text),
        },
        Some(path) => {
            let mut json = serde_json::Deserializer::from_str(payload);
            let found = Walk(&path.segments).deserialize(&mut json).ok()?;
            json.end().ok()?;
            found
        }
    }
}

/// A finite number written in `text`, surrounding whitespace allowed.
fn number_in(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

fn finite(n: f64) -> Option<f64> {
    Some(n).filter(|n| n.is_finite())
}

/// Follows the rest of a path through one JSON value, skipping what it does not need.
struct Walk<'p>(&'p [Segment]);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Option<f64>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<f64>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = Option<f64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Option<f64>, E> {
        Ok(self.0.is_empty().then_some(if b { 1.0 } else { 0.0 }))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Option<f64>, E> {
        Ok(self.0.is_empty().then_some(n as f64))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Option<f64>, E> {
        Ok(self.0.is_empty().then_some(n as f64))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Option<f64>, E> {
        Ok(finite(n).filter(|_| self.0.is_empty()))
    }

    fn visit_str<E>(self, s: &str) -> Result<Option<f64>, E> {
        Ok(number_in(s).filter(|_| self.0.is_empty()))
    }

    fn visit_unit<E>(self) -> Result<Option<f64>, E> {
        Ok(None)
    }

    fn visit_none<E>(self) -> Result<Option<f64>, E> {
        Ok(None)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<f64>, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<f64>, A::Error> {
        let mut found = None;
        if let Some((Segment::Index(n), rest)) = self.0.split_first() {
            let mut skipped = 0;
            let mut reached = true;
            while skipped < *n {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    reached = false;
                    break;
                }
                skipped += 1;
            }
            if reached {
                found = seq.next_element_seed(Walk(rest))?.flatten();
            }
        }
        // serde_json wants every element read.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<f64>, A::Error> {
        let mut found = None;
        match self.0.split_first() {
            Some((Segment::Key(key), rest)) => {
                // The last of duplicate keys wins, as in serde_json's own Value.
                while let Some(same) = map.next_key_seed(KeyIs(key))? {
                    if same {
                        found = map.next_value_seed(Walk(rest))?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            _ => while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {},
        }
        Ok(found)
    }
}

/// Whether a map key is this one, without copying it.
struct KeyIs<'p>(&'p str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, s: &str) -> Result<bool, E> {
        Ok(s == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(path: &str) -> JsonPath {
        JsonPath::parse(path).expect("a path")
    }

    fn at(payload: &str, path: &str) -> Option<f64> {
        number_of(payload, Some(&p(path)))
    }

    fn words(path: &str) -> String {
        JsonPath::parse(path).expect_err("refused").to_string()
    }

    #[test]
    fn paths_parse_into_keys_and_indexes() {
        use Segment::{Index, Key};
        let key = |k: &str| Key(k.to_owned());
        assert_eq!(p("temp").segments, [key("temp")]);
        assert_eq!(p("a.b[0]").segments, [key("a"), key("b"), Index(0)]);
        assert_eq!(
            p("values[2].v").segments,
            [key("values"), Index(2), key("v")]
        );
        assert_eq!(p("[0]").segments, [Index(0)]);
        assert_eq!(p("[1][ 2 ]").segments, [Index(1), Index(2)]);
        assert_eq!(p("[0].a").segments, [Index(0), key("a")]);
        assert_eq!(
            p(r#"a["x.y"]["q\"[]"].z"#).segments,
            [key("a"), key("x.y"), key("q\"[]"), key("z")]
        );
        assert_eq!(
            p("héllo wörld.°C").segments,
            [key("héllo wörld"), key("°C")]
        );
        assert_eq!(p("  a.b  ").as_str(), "a.b");
        assert_eq!("a[3]".parse::<JsonPath>().unwrap().to_string(), "a[3]");
    }

    #[test]
    fn bad_paths_in_words() {
        assert_eq!(words(""), "an empty path");
        assert_eq!(words("   "), "an empty path");
        assert_eq!(words("ab[0"), "a '[' at character 3 is not closed");
        assert_eq!(words("a[x]"), "an index must be a number: [x]");
        assert_eq!(words("a[-1]"), "an index must be a number: [-1]");
        assert_eq!(words("a[]"), "an index must be a number: []");
        assert_eq!(
            words("a[99999999999999999999999]"),
            "an index too large: [99999999999999999999999]"
        );
        assert_eq!(words("a."), "a key is missing at character 3");
        assert_eq!(words(".a"), "a key is missing at character 1");
        assert_eq!(words("a..b"), "a key is missing at character 3");
        assert_eq!(words("a.[0]"), "a key is missing at character 3");
        assert_eq!(words("a]"), "a ']' at character 2 has no '[' before it");
        assert_eq!(
            words("a[0]b"),
            "a '.' or '[' must come after the ']' at character 4"
        );
        assert_eq!(words(r#"a["x]"#), "a quote at character 3 is not closed");
        assert_eq!(words(r#"a["x"y]"#), "a '[' at character 2 is not closed");
        assert_eq!(words(&"a".repeat(257)), "a path longer than 256 bytes");
        assert!(JsonPath::parse(&"a".repeat(256)).is_ok());
        assert_eq!(
            words(&["a"; 33].join(".")),
            "a path of more than 32 keys and indexes"
        );
        assert!(JsonPath::parse(&["a"; 32].join(".")).is_ok());
    }

    #[test]
    fn a_whole_payload_as_a_number() {
        assert_eq!(number_of("21.5", None), Some(21.5));
        assert_eq!(number_of(" -3\n", None), Some(-3.0));
        assert_eq!(number_of("1e3", None), Some(1000.0));
        assert_eq!(number_of("true", None), Some(1.0));
        assert_eq!(number_of("false", None), Some(0.0));
        for none in [
            "",
            "abc",
            "NaN",
            "inf",
            "-Infinity",
            "1e999",
            "{\"a\":1}",
            "\"2\"",
        ] {
            assert_eq!(number_of(none, None), None, "{none}");
        }
    }

    #[test]
    fn numbers_at_paths() {
        let doc = r#"{"temp": 21.5, "a": {"b": [7, 8]}, "on": true, "off": false,
            "s": " 4.25 ", "values": [{"v": 1}, {"v": 2}, {"v": -3e2}], "x.y": 9,
            "nan": "NaN", "inf": "inf", "null": null, "word": "abc", "big": 18446744073709551615}"#;
        assert_eq!(at(doc, "temp"), Some(21.5));
        assert_eq!(at(doc, "a.b[0]"), Some(7.0));
        assert_eq!(at(doc, "a.b[1]"), Some(8.0));
        assert_eq!(at(doc, "values[2].v"), Some(-300.0));
        assert_eq!(at(doc, "on"), Some(1.0));
        assert_eq!(at(doc, "off"), Some(0.0));
        assert_eq!(at(doc, "s"), Some(4.25));
        assert_eq!(at(doc, r#"["x.y"]"#), Some(9.0));
        assert_eq!(at(doc, "big"), Some(18446744073709551615.0));
        for none in [
            "missing", "a.b[2]", "a.b.c", "a[0]", "temp.x", "nan", "inf", "null", "word", "a",
            "values",
        ] {
            assert_eq!(at(doc, none), None, "{none}");
        }
        assert_eq!(at("[5, 6]", "[1]"), Some(6.0));
        assert_eq!(at(r#"{"a":1,"a":2}"#, "a"), Some(2.0));
        assert_eq!(at(r#"{"a\"b":3}"#, r#"["a\"b"]"#), Some(3.0));
        // Not JSON, or JSON with trailing text: nothing.
        assert_eq!(at("21.5", "temp"), None);
        assert_eq!(at(r#"{"temp":1} x"#, "temp"), None);
        assert_eq!(at(r#"{"temp":1,}"#, "temp"), None);
        assert_eq!(at(r#"{"temp":1e999}"#, "temp"), None);
    }

    #[test]
    fn deep_payloads_are_refused_not_overflowed() {
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(at(&deep, "[0]"), None);
    }

    proptest! {
        #[test]
        fn arbitrary_paths_and_payloads_never_panic(path in ".{0,300}", payload in ".{0,300}") {
            let parsed = JsonPath::parse(&path);
            if let Ok(parsed) = &parsed {
                prop_assert!(parsed.segments.len() <= MAX_SEGMENTS);
                let again = JsonPath::parse(parsed.as_str());
                prop_assert_eq!(again.as_ref(), Ok(parsed));
                if let Some(n) = number_of(&payload, Some(parsed)) {
                    prop_assert!(n.is_finite());
                }
            }
            if let Some(n) = number_of(&payload, None) {
                prop_assert!(n.is_finite());
            }
        }

        #[test]
        fn path_like_strings_never_panic(path in r#"[a-z0-9.\[\]" \\]{0,40}"#) {
            let _ = JsonPath::parse(&path);
        }

        #[test]
        fn a_number_is_found_where_the_path_says(n in any::<f64>().prop_filter("finite", |n| n.is_finite()), i in 0usize..5) {
            let mut items = vec![serde_json::json!({"v": "x"}); 5];
            items[i] = serde_json::json!({"v": n});
            let doc = serde_json::json!({"data": {"items": items}}).to_string();
            let found = number_of(&doc, Some(&p(&format!("data.items[{i}].v"))));
            let expected: f64 = serde_json::from_str(&serde_json::to_string(&n).unwrap()).unwrap();
            prop_assert_eq!(found, Some(expected));
        }
    }
}
