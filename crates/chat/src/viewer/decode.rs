//! Payload decoders for the topic viewer: Base64, MessagePack and CBOR, shown as JSON text.
//!
//! [`decode`] reads the whole payload as one value of the chosen format and renders it as
//! compact JSON, cut at a byte limit. It is safe on hostile input: it never panics, nests
//! at most [`MAX_DEPTH`] levels, never allocates for a length the payload merely declares,
//! and stops rendering once the limit is passed. It may assume a payload of at most
//! 1 MiB; its cost is linear in the payload.
//!
//! Positions in error words count from 1 ("at byte 1" is the first byte).

use std::borrow::Cow;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use minicbor::data::Token;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Levels of nesting (arrays, maps, CBOR tags) a decoded value may have.
pub const MAX_DEPTH: usize = 32;

/// How the viewer reads a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decoder {
    /// UTF-8 text as is, hex when it is not text.
    #[default]
    Auto,
    /// Every byte as two hex digits.
    Hex,
    /// Base64 text (standard or URL-safe alphabet) holding the real payload.
    Base64,
    /// One MessagePack value.
    #[serde(rename = "msgpack")]
    MessagePack,
    /// One CBOR data item.
    Cbor,
}

impl Decoder {
    /// Every decoder, in the order a picker lists them.
    pub const ALL: [Decoder; 5] = [
        Decoder::Auto,
        Decoder::Hex,
        Decoder::Base64,
        Decoder::MessagePack,
        Decoder::Cbor,
    ];

    /// The stable name kept in settings and URLs (the serde name too).
    pub fn key(self) -> &'static str {
        match self {
            Decoder::Auto => "auto",
            Decoder::Hex => "hex",
            Decoder::Base64 => "base64",
            Decoder::MessagePack => "msgpack",
            Decoder::Cbor => "cbor",
        }
    }

    /// The decoder whose [`key`](Decoder::key) this is.
    pub fn from_key(key: &str) -> Option<Decoder> {
        Decoder::ALL.into_iter().find(|d| d.key() == key)
    }

    /// What a picker shows.
    pub fn label(self) -> &'static str {
        match self {
            Decoder::Auto => "Text (hex if binary)",
            Decoder::Hex => "Hex",
            Decoder::Base64 => "Base64",
            Decoder::MessagePack => "MessagePack",
            Decoder::Cbor => "CBOR",
        }
    }
}

/// A decoded payload: JSON text (plain text for Base64 of text), maybe cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// At most the limit's bytes, cut at a char boundary.
    pub text: String,
    /// The whole rendering was longer than the limit, and `text` is its beginning.
    pub cut: bool,
}

/// Why a payload could not be decoded, in words for the user.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("empty payload")]
    Empty,
    #[error("not text: the bytes at byte {at} are not UTF-8")]
    NotText { at: usize },
    /// `shown` is "the character '!'" or "the byte 0xff".
    #[error("not Base64: {shown} at byte {at} is not in its alphabet")]
    Base64Char { shown: String, at: usize },
    #[error("not Base64: the padding '=' at byte {at} is not at the end")]
    Base64Padding { at: usize },
    #[error("not Base64: it ends with a single character, which holds no whole byte")]
    Base64Length,
    #[error("not {format}: the data ends too soon")]
    EndsTooSoon { format: &'static str },
    #[error("not {format}: nested deeper than {MAX_DEPTH} levels")]
    TooDeep { format: &'static str },
    #[error("not {format}: {} left over after the value", bytes_word(*.count))]
    LeftOver { format: &'static str, count: usize },
    #[error("not {format}: {what}")]
    Malformed { format: &'static str, what: String },
}

fn bytes_word(count: usize) -> String {
    if count == 1 {
        "1 byte".to_owned()
    } else {
        format!("{count} bytes")
    }
}

const MSGPACK: &str = "MessagePack";
const CBOR: &str = "CBOR";

/// Decodes `payload` with `decoder`, its text cut at `limit` bytes.
///
/// - [`Decoder::Auto`]: the payload as UTF-8 text, or [`DecodeError::NotText`]; the viewer
///   shows such a payload as hex itself.
/// - [`Decoder::Hex`]: [`hex_of`] the payload, never an error.
/// - [`Decoder::Base64`]: the decoded bytes as text when they are UTF-8 (a JSON text stays as
///   is), else `0x` and their hex. Standard and URL-safe alphabets, padding or not, ASCII
///   whitespace ignored.
/// - [`Decoder::MessagePack`], [`Decoder::Cbor`]: exactly one value, as compact JSON: byte
///   strings as `"0x<hex>"`, NaN and infinities as strings, other map keys as their JSON
///   text (`{"1":..}`, a byte-string key as its `0x<hex>`), a MessagePack ext as `{"ext":<type>,"data":"0x.."}`, a CBOR tag as
///   `{"tag":<n>,"value":..}` (bignums of up to 16 bytes as plain digits).
///
/// Base64, MessagePack and CBOR refuse an empty payload.
pub fn decode(decoder: Decoder, payload: &[u8], limit: usize) -> Result<Decoded, DecodeError> {
    let mut out = Out::new(limit);
    match decoder {
        Decoder::Auto => match std::str::from_utf8(payload) {
            Ok(text) => out.push(text),
            Err(e) => {
                return Err(DecodeError::NotText {
                    at: e.valid_up_to() + 1,
                })
            }
        },
        Decoder::Hex => out.push_hex(payload),
        Decoder::Base64 => {
            let bytes = base64_decode(payload)?;
            match std::str::from_utf8(&bytes) {
                Ok(text) => out.push(text),
                Err(_) => {
                    out.push("0x");
                    out.push_hex(&bytes);
                }
            }
        }
        Decoder::MessagePack => {
            let value = read_msgpack(payload)?;
            render_msgpack(&mut out, &value);
        }
        Decoder::Cbor => read_cbor(payload, &mut out)?,
    }
    Ok(out.finish())
}

/// Base64 of `bytes`: standard alphabet, with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Lowercase hex of `bytes`, two digits each, nothing between: `[0x0a, 0xff]` is `"0aff"`.
pub fn hex_of(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len().saturating_mul(2));
    push_hex_digits(&mut text, bytes);
    text
}

fn push_hex_digits(text: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            text.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
}

// --- Base64 ---

/// The Base64 engine once the text is reduced to the standard alphabet without padding:
/// trailing bits that are not zero are let through (some encoders leave them).
const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

fn base64_decode(payload: &[u8]) -> Result<Vec<u8>, DecodeError> {
    // One pass: drop whitespace, map URL-safe to standard, strip the padding at the end,
    // and name the first byte outside the alphabet by its place in the payload.
    let mut symbols = Vec::with_capacity(payload.len());
    let mut first_pad: Option<usize> = None;
    let mut pads = 0usize;
    for (i, &b) in payload.iter().enumerate() {
        if b.is_ascii_whitespace() {
            continue;
        }
        if b == b'=' {
            first_pad.get_or_insert(i);
            pads += 1;
            continue;
        }
        if let Some(at) = first_pad {
            return Err(DecodeError::Base64Padding { at: at + 1 });
        }
        let symbol = match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => b,
            b'-' => b'+',
            b'_' => b'/',
            _ => {
                return Err(DecodeError::Base64Char {
                    shown: shown_byte(payload, i),
                    at: i + 1,
                })
            }
        };
        symbols.push(symbol);
    }
    if pads > 2 {
        return Err(DecodeError::Base64Padding {
            at: first_pad.unwrap_or(0) + 1,
        });
    }
    if symbols.is_empty() {
        return Err(DecodeError::Empty);
    }
    BASE64_LENIENT.decode(&symbols).map_err(|e| match e {
        // Only the length can be wrong: the alphabet and padding are checked above.
        base64::DecodeError::InvalidLength(_) => DecodeError::Base64Length,
        other => DecodeError::Malformed {
            format: "Base64",
            what: other.to_string(),
        },
    })
}

/// "the character '!'" for a character, "the byte 0xff" for a byte that starts none.
fn shown_byte(payload: &[u8], at: usize) -> String {
    let tail = payload.get(at..).unwrap_or_default();
    let head = tail.get(..tail.len().min(4)).unwrap_or_default();
    let lossy = String::from_utf8_lossy(head);
    match lossy.chars().next() {
        // A control character would not show between quotes.
        Some(c) if c.is_control() => format!("the character U+{:04X}", u32::from(c)),
        Some(c) if c != char::REPLACEMENT_CHARACTER => format!("the character '{c}'"),
        _ => format!(
            "the byte 0x{}",
            hex_of(std::slice::from_ref(tail.first().unwrap_or(&0)))
        ),
    }
}

// --- MessagePack ---

/// rmpv 1.3.1 (checked in its src/decode/value.rs): arrays and maps start as `Vec::new()`
/// and grow as elements are actually read ("Do not preallocate", their issue #151);
/// strings, binaries and ext bodies preallocate `min(len, 64 KiB)` and then read through
/// `take(len)`, failing at the end of the input. So a declared length costs at most 64 KiB
/// once, before the error. Its depth counter is spent twice per array or map level and up
/// to three times for a string leaf, so it gets room for `2 * MAX_DEPTH + 3` (never less
/// than MAX_DEPTH real levels) and [`depth_of_msgpack`] checks the exact limit after.
fn read_msgpack(payload: &[u8]) -> Result<rmpv::Value, DecodeError> {
    if payload.is_empty() {
        return Err(DecodeError::Empty);
    }
    let mut rest = payload;
    let value = rmpv::decode::read_value_with_max_depth(&mut rest, 2 * MAX_DEPTH + 3).map_err(
        |e| match e {
            rmpv::decode::Error::DepthLimitExceeded => DecodeError::TooDeep { format: MSGPACK },
            // Reading from a slice, the only I/O error is running out of bytes.
            rmpv::decode::Error::InvalidMarkerRead(_) | rmpv::decode::Error::InvalidDataRead(_) => {
                DecodeError::EndsTooSoon { format: MSGPACK }
            }
        },
    )?;
    if !rest.is_empty() {
        return Err(DecodeError::LeftOver {
            format: MSGPACK,
            count: rest.len(),
        });
    }
    if depth_of_msgpack(&value, 0) > MAX_DEPTH {
        return Err(DecodeError::TooDeep { format: MSGPACK });
    }
    Ok(value)
}

/// The levels of arrays and maps in `value`, `level` being those around it; it stops
/// looking once past [`MAX_DEPTH`], so it recurses at most that deep plus one.
fn depth_of_msgpack(value: &rmpv::Value, level: usize) -> usize {
    if level > MAX_DEPTH {
        return level;
    }
    let inner = level + 1;
    let mut deepest = level;
    match value {
        rmpv::Value::Array(items) => {
            deepest = inner;
            for item in items {
                deepest = deepest.max(depth_of_msgpack(item, inner));
                if deepest > MAX_DEPTH {
                    break;
                }
            }
        }
        rmpv::Value::Map(pairs) => {
            deepest = inner;
            for (k, v) in pairs {
                deepest = deepest
                    .max(depth_of_msgpack(k, inner))
                    .max(depth_of_msgpack(v, inner));
                if deepest > MAX_DEPTH {
                    break;
                }
            }
        }
        _ => {}
    }
    deepest
}

fn render_msgpack(out: &mut Out, value: &rmpv::Value) {
    use rmpv::Value;
    if out.cut {
        return;
    }
    match value {
        Value::Nil => out.push("null"),
        Value::Boolean(b) => out.push(if *b { "true" } else { "false" }),
        Value::Integer(i) => match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => out.push(&u.to_string()),
            (None, Some(s)) => out.push(&s.to_string()),
            (None, None) => out.push("null"),
        },
        Value::F32(f) => out.push_f32(*f),
        Value::F64(f) => out.push_f64(*f),
        Value::String(s) => match s.as_str() {
            Some(text) => out.push_json_str(text),
            None => out.push_hex_str(s.as_bytes()),
        },
        Value::Binary(bytes) => out.push_hex_str(bytes),
        Value::Array(items) => {
            out.push("[");
            for (i, item) in items.iter().enumerate() {
                if out.cut {
                    return;
                }
                if i > 0 {
                    out.push(",");
                }
                render_msgpack(out, item);
            }
            out.push("]");
        }
        Value::Map(pairs) => {
            out.push("{");
            for (i, (k, v)) in pairs.iter().enumerate() {
                if out.cut {
                    return;
                }
                if i > 0 {
                    out.push(",");
                }
                match k {
                    Value::String(s) => match s.as_str() {
                        Some(text) => out.push_json_str(text),
                        None => out.push_hex_str(s.as_bytes()),
                    },
                    Value::Binary(bytes) => out.push_hex_str(bytes),
                    _ => {
                        let mut key = Out::new(out.room());
                        render_msgpack(&mut key, k);
                        out.push_json_str(&key.text);
                    }
                }
                out.push(":");
                render_msgpack(out, v);
            }
            out.push("}");
        }
        Value::Ext(kind, data) => {
            out.push("{\"ext\":");
            out.push(&kind.to_string());
            out.push(",\"data\":");
            out.push_hex_str(data);
            out.push("}");
        }
    }
}

// --- CBOR ---

/// Reads one CBOR item from `payload` and renders it into `out` as it goes.
///
/// minicbor 2.3 (checked in its src/decode/decoder.rs and src/data/token.rs): its
/// `Decoder` reads from the slice itself, and a [`Token`] borrows text and bytes from
/// it; a string's declared length is checked against the bytes left before anything is
/// read (`read_slice`), and arrays and maps are only a count here, walked element by
/// element, so a length the payload merely declares costs nothing. No value tree is
/// built: the cost is the payload's size plus the output. The whole item is read even
/// once the output is cut, so a damaged payload is refused whatever the limit.
///
/// The errors and limits are those of the ciborium 0.2 reader used before: arrays, maps
/// and tags nest at most [`MAX_DEPTH`] levels, a bignum (tag 2 or 3 on a definite byte
/// string of up to 16 bytes) being a number rather than a level; indefinite strings may
/// nest their chunks; the head after a tag is read before the depth is checked. Except:
/// "at byte" names the string's first byte where ciborium was one or two past it (a
/// length not in its shortest form); a negative bignum below -2^127 is a number, not
/// "integer too large"; a text string of more than 4 KiB both cut short and not UTF-8
/// ends too soon (the length is checked first).
fn read_cbor(payload: &[u8], out: &mut Out) -> Result<(), DecodeError> {
    if payload.is_empty() {
        return Err(DecodeError::Empty);
    }
    let mut cbor = Cbor {
        decoder: minicbor::Decoder::new(payload),
    };
    cbor.item(out, 0)?;
    let count = payload.len().saturating_sub(cbor.decoder.position());
    if count > 0 {
        return Err(DecodeError::LeftOver {
            format: CBOR,
            count,
        });
    }
    Ok(())
}

struct Cbor<'b> {
    decoder: minicbor::Decoder<'b>,
}

impl<'b> Cbor<'b> {
    /// The next token and the position of its first byte.
    fn token(&mut self) -> Result<(usize, Token<'b>), DecodeError> {
        let at = self.decoder.position();
        match self.decoder.decode::<Token<'b>>() {
            Ok(token) => Ok((at, token)),
            Err(e) if e.is_end_of_input() => Err(DecodeError::EndsTooSoon { format: CBOR }),
            // Otherwise the head is reserved, the text is not UTF-8, or (on a 32-bit
            // target) a string's length does not fit a usize, so it cannot be there.
            Err(_) => {
                let input = self.decoder.input();
                let left = input.len().saturating_sub(at);
                match head(input, at) {
                    Ok((2 | 3, Some(len))) if len > left as u64 => {
                        Err(DecodeError::EndsTooSoon { format: CBOR })
                    }
                    _ => Err(unreadable(at)),
                }
            }
        }
    }

    /// Reads one item, `depth` levels in, and renders it into `out`.
    fn item(&mut self, out: &mut Out, depth: usize) -> Result<(), DecodeError> {
        let (at, token) = self.token()?;
        self.render(out, depth, at, token)
    }

    /// Renders the item that starts with `token` (read at `at`), reading the rest of it.
    fn render(
        &mut self,
        out: &mut Out,
        depth: usize,
        at: usize,
        token: Token<'b>,
    ) -> Result<(), DecodeError> {
        match token {
            Token::Bool(b) => out.push(if b { "true" } else { "false" }),
            Token::U8(n) => out.push_int(n.into()),
            Token::U16(n) => out.push_int(n.into()),
            Token::U32(n) => out.push_int(n.into()),
            Token::U64(n) => out.push_int(n.into()),
            Token::I8(n) => out.push_int(n.into()),
            Token::I16(n) => out.push_int(n.into()),
            Token::I32(n) => out.push_int(n.into()),
            Token::I64(n) => out.push_int(n.into()),
            Token::Int(n) => out.push_int(n.into()),
            Token::F16(f) | Token::F32(f) => out.push_f64(f64::from(f)),
            Token::F64(f) => out.push_f64(f),
            // false, true, null and undefined also as two-byte simple values.
            Token::Simple(20) => out.push("false"),
            Token::Simple(21) => out.push("true"),
            Token::Null | Token::Undefined | Token::Simple(22 | 23) => out.push("null"),
            Token::Simple(_) => return Err(malformed_cbor("an unknown simple value")),
            Token::Break => {
                return Err(malformed_cbor(
                    "a break code outside an indefinite-length item",
                ))
            }
            Token::String(text) => out.push_json_str(text),
            Token::BeginString => {
                let text = self.text_chunks(at)?;
                out.push_json_str(&text);
            }
            Token::Bytes(bytes) => out.push_hex_str(bytes),
            Token::BeginBytes => {
                let bytes = self.chunks(2)?;
                out.push_hex_str(&bytes);
            }
            Token::Array(len) => self.array(out, depth, Some(len))?,
            Token::BeginArray => self.array(out, depth, None)?,
            Token::Map(len) => self.map(out, depth, Some(len))?,
            Token::BeginMap => self.map(out, depth, None)?,
            Token::Tag(tag) => self.tag(out, depth, u64::from(tag))?,
        }
        Ok(())
    }

    /// The next element of an array or map with `left` elements to go (`None`: until a
    /// break), or `None` at its end. A break inside a definite one is an element, refused
    /// by [`Cbor::render`].
    fn element(
        &mut self,
        left: &mut Option<u64>,
    ) -> Result<Option<(usize, Token<'b>)>, DecodeError> {
        match left {
            Some(0) => Ok(None),
            Some(n) => {
                *n -= 1;
                self.token().map(Some)
            }
            None => match self.token()? {
                (_, Token::Break) => Ok(None),
                element => Ok(Some(element)),
            },
        }
    }

    fn array(
        &mut self,
        out: &mut Out,
        depth: usize,
        mut left: Option<u64>,
    ) -> Result<(), DecodeError> {
        let depth = deeper(depth)?;
        out.push("[");
        let mut first = true;
        while let Some((at, token)) = self.element(&mut left)? {
            if !first {
                out.push(",");
            }
            first = false;
            self.render(out, depth, at, token)?;
        }
        out.push("]");
        Ok(())
    }

    /// `left` counts pairs.
    fn map(
        &mut self,
        out: &mut Out,
        depth: usize,
        mut left: Option<u64>,
    ) -> Result<(), DecodeError> {
        let depth = deeper(depth)?;
        out.push("{");
        let mut first = true;
        while let Some((at, key)) = self.element(&mut left)? {
            if !first {
                out.push(",");
            }
            first = false;
            match key {
                Token::String(text) => out.push_json_str(text),
                Token::BeginString => {
                    let text = self.text_chunks(at)?;
                    out.push_json_str(&text);
                }
                Token::Bytes(bytes) => out.push_hex_str(bytes),
                Token::BeginBytes => {
                    let bytes = self.chunks(2)?;
                    out.push_hex_str(&bytes);
                }
                // Any other key as the JSON string of its own JSON text.
                key => {
                    let mut text = Out::new(out.room());
                    self.render(&mut text, depth, at, key)?;
                    out.push_json_str(&text.text);
                }
            }
            out.push(":");
            self.item(out, depth)?;
        }
        out.push("}");
        Ok(())
    }

    /// A tagged item: a bignum as its digits, anything else as `{"tag":n,"value":..}`.
    fn tag(&mut self, out: &mut Out, depth: usize, tag: u64) -> Result<(), DecodeError> {
        let (major, len) = head(self.decoder.input(), self.decoder.position())?;
        let bignum_tag = tag == 2 || tag == 3;
        // A bignum that fits 128 bits is read as a number, not as a nested level.
        let small = bignum_tag && major == 2 && matches!(len, Some(n) if n <= 16);
        let depth = if small { depth } else { deeper(depth)? };
        let (at, token) = self.token()?;
        let bytes = match token {
            Token::Bytes(bytes) if bignum_tag => Some(Cow::Borrowed(bytes)),
            Token::BeginBytes if bignum_tag => Some(Cow::Owned(self.chunks(2)?)),
            _ => None,
        };
        if let Some(digits) = bytes.as_deref().and_then(|b| bignum(tag, b)) {
            out.push(&digits);
            return Ok(());
        }
        out.push("{\"tag\":");
        out.push_int(tag.into());
        out.push(",\"value\":");
        match bytes {
            Some(bytes) => out.push_hex_str(&bytes),
            None => self.render(out, depth, at, token)?,
        }
        out.push("}");
        Ok(())
    }

    /// The chunks of an indefinite-length text string that began at `at`, joined.
    fn text_chunks(&mut self, at: usize) -> Result<String, DecodeError> {
        String::from_utf8(self.chunks(3)?).map_err(|_| unreadable(at))
    }

    /// The chunks of an indefinite-length byte (`major` 2) or text (3) string, its head
    /// read, up to its break. A chunk must be a string of the same major type; as in
    /// ciborium, it may itself be of indefinite length. Each text chunk is UTF-8 itself.
    fn chunks(&mut self, major: u8) -> Result<Vec<u8>, DecodeError> {
        let mut joined = Vec::new();
        let mut open = 1usize;
        while open > 0 {
            let at = self.decoder.position();
            match head(self.decoder.input(), at)? {
                (7, None) => open -= 1,
                (m, None) if m == major => open += 1,
                (m, Some(_)) if m == major => {}
                _ => return Err(unreadable(at)),
            }
            match self.token()? {
                (_, Token::String(text)) => joined.extend_from_slice(text.as_bytes()),
                (_, Token::Bytes(bytes)) => joined.extend_from_slice(bytes),
                _ => {}
            }
        }
        Ok(joined)
    }
}

/// `depth` plus the level about to open, or [`DecodeError::TooDeep`] past [`MAX_DEPTH`].
fn deeper(depth: usize) -> Result<usize, DecodeError> {
    if depth < MAX_DEPTH {
        Ok(depth + 1)
    } else {
        Err(DecodeError::TooDeep { format: CBOR })
    }
}

/// The major type and argument of the head at `at` (`None` for an indefinite length or
/// a break), as ciborium-ll read it: cut short, it ends too soon; with reserved
/// additional information (28 to 30, or 31 on an integer or a tag) it is unreadable.
fn head(input: &[u8], at: usize) -> Result<(u8, Option<u64>), DecodeError> {
    let first = *input
        .get(at)
        .ok_or(DecodeError::EndsTooSoon { format: CBOR })?;
    let (major, info) = (first >> 5, first & 0x1f);
    let size = match info {
        0..=23 => return Ok((major, Some(u64::from(info)))),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        31 if !matches!(major, 0 | 1 | 6) => return Ok((major, None)),
        _ => return Err(unreadable(at)),
    };
    let argument = input
        .get(at.saturating_add(1)..)
        .and_then(|rest| rest.get(..size))
        .ok_or(DecodeError::EndsTooSoon { format: CBOR })?;
    let value = argument.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b));
    Ok((major, Some(value)))
}

fn unreadable(at: usize) -> DecodeError {
    DecodeError::Malformed {
        format: CBOR,
        what: format!("unreadable data at byte {}", at.saturating_add(1)),
    }
}

fn malformed_cbor(what: &str) -> DecodeError {
    DecodeError::Malformed {
        format: CBOR,
        what: what.to_owned(),
    }
}

/// The digits of a CBOR bignum (tag 2 positive, tag 3 negative) of up to 16 bytes
/// after its leading zeros.
fn bignum(tag: u64, bytes: &[u8]) -> Option<String> {
    if tag != 2 && tag != 3 {
        return None;
    }
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let significant = bytes.get(start..)?;
    if significant.len() > 16 {
        return None;
    }
    let n = significant
        .iter()
        .fold(0u128, |n, &b| (n << 8) | u128::from(b));
    if tag == 2 {
        Some(n.to_string())
    } else {
        // -1 - n, written as "-" and n + 1, which fits unless n is u128::MAX.
        n.checked_add(1).map(|m| format!("-{m}"))
    }
}

// --- Output ---

/// Text that stops growing at `limit` bytes, cut at a char boundary.
struct Out {
    text: String,
    limit: usize,
    cut: bool,
}

impl Out {
    fn new(limit: usize) -> Out {
        Out {
            text: String::with_capacity(limit.min(4096)),
            limit,
            cut: false,
        }
    }

    fn room(&self) -> usize {
        self.limit.saturating_sub(self.text.len())
    }

    fn push(&mut self, s: &str) {
        if self.cut {
            return;
        }
        let room = self.room();
        if s.len() <= room {
            self.text.push_str(s);
        } else {
            self.text
                .push_str(s.get(..floor_boundary(s, room)).unwrap_or_default());
            self.cut = true;
        }
    }

    /// `s` as a JSON string. Only the part that can show is escaped: escaping never
    /// shortens, so a prefix one byte longer than the room already overflows it.
    fn push_json_str(&mut self, s: &str) {
        if self.cut {
            return;
        }
        let room = self.room();
        let shown = if s.len() > room {
            s.get(..ceil_boundary(s, room.saturating_add(1)))
                .unwrap_or(s)
        } else {
            s
        };
        // Writing a &str to JSON cannot fail; an empty string stands in if it ever did.
        let escaped = serde_json::to_string(shown).unwrap_or_else(|_| "\"\"".to_owned());
        self.push(&escaped);
    }

    /// Hex digits of `bytes`, only as many as can show.
    fn push_hex(&mut self, bytes: &[u8]) {
        if self.cut {
            return;
        }
        let room = self.room();
        let shown = bytes.get(..bytes.len().min(room / 2 + 1)).unwrap_or(bytes);
        let mut text = String::with_capacity(shown.len() * 2);
        push_hex_digits(&mut text, shown);
        self.push(&text);
    }

    /// `"0x<hex>"`.
    fn push_hex_str(&mut self, bytes: &[u8]) {
        self.push("\"0x");
        self.push_hex(bytes);
        self.push("\"");
    }

    fn push_f64(&mut self, f: f64) {
        if f.is_nan() {
            self.push("\"NaN\"");
        } else if f.is_infinite() {
            self.push(if f > 0.0 {
                "\"Infinity\""
            } else {
                "\"-Infinity\""
            });
        } else {
            // serde_json writes a finite f64 in its shortest form (never core::fmt).
            let text = serde_json::to_string(&f).unwrap_or_else(|_| "null".to_owned());
            self.push(&text);
        }
    }

    /// An integer's digits, unless the text is cut already (a long array of them is
    /// still read to its end).
    fn push_int(&mut self, n: i128) {
        if !self.cut {
            self.push(&n.to_string());
        }
    }

    /// An f32 in its own shortest form ("0.1", not 0.10000000149011612).
    fn push_f32(&mut self, f: f32) {
        if !f.is_finite() {
            return self.push_f64(f64::from(f));
        }
        let text = serde_json::to_string(&f).unwrap_or_else(|_| "null".to_owned());
        self.push(&text);
    }

    fn finish(self) -> Decoded {
        Decoded {
            text: self.text,
            cut: self.cut,
        }
    }
}

/// The largest char boundary of `s` at or below `at`.
fn floor_boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary of `s` at or above `at` (or its length).
fn ceil_boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BIG: usize = 1 << 20;

    fn mp(value: &rmpv::Value) -> Vec<u8> {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, value).expect("encode msgpack");
        bytes
    }

    fn cb(value: &ciborium::Value) -> Vec<u8> {
        let mut bytes = Vec::new();
        ciborium::ser::into_writer(value, &mut bytes).expect("encode cbor");
        bytes
    }

    fn text(decoder: Decoder, payload: &[u8]) -> String {
        let decoded = decode(decoder, payload, BIG).expect("decodes");
        assert!(!decoded.cut);
        decoded.text
    }

    fn words(decoder: Decoder, payload: &[u8]) -> String {
        decode(decoder, payload, BIG)
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn decoder_keys_labels_and_serde_names_agree() {
        for d in Decoder::ALL {
            assert_eq!(Decoder::from_key(d.key()), Some(d));
            assert_eq!(
                serde_json::to_string(&d).unwrap(),
                format!("\"{}\"", d.key())
            );
            assert!(!d.label().is_empty());
        }
        assert_eq!(Decoder::from_key("MessagePack"), None);
        assert_eq!(Decoder::default(), Decoder::Auto);
        assert_eq!(Decoder::MessagePack.label(), "MessagePack");
    }

    #[test]
    fn hex_and_base64_helpers() {
        assert_eq!(hex_of(&[0x0a, 0xff, 0x10]), "0aff10");
        assert_eq!(hex_of(&[]), "");
        assert_eq!(base64_encode(b"hi!?"), "aGkhPw==");
    }

    #[test]
    fn auto_and_hex() {
        assert_eq!(text(Decoder::Auto, "héllo".as_bytes()), "héllo");
        assert_eq!(
            words(Decoder::Auto, b"ab\xffc"),
            "not text: the bytes at byte 3 are not UTF-8"
        );
        assert_eq!(text(Decoder::Hex, b"\x00\xab"), "00ab");
        assert_eq!(text(Decoder::Auto, b""), "");
    }

    #[test]
    fn base64_alphabets_padding_and_whitespace() {
        assert_eq!(text(Decoder::Base64, b"aGkhPw=="), "hi!?");
        assert_eq!(text(Decoder::Base64, b"aGkhPw"), "hi!?");
        assert_eq!(text(Decoder::Base64, b" aGkh\r\nPw==\n"), "hi!?");
        // 0xfb 0xff: "+/" standard, "-_" URL-safe; not UTF-8, so hex.
        assert_eq!(text(Decoder::Base64, b"+/8="), "0xfbff");
        assert_eq!(text(Decoder::Base64, b"-_8"), "0xfbff");
        let json = base64_encode(br#"{"t":21.5}"#);
        assert_eq!(text(Decoder::Base64, json.as_bytes()), r#"{"t":21.5}"#);
    }

    #[test]
    fn base64_refusals_in_words() {
        assert_eq!(
            words(Decoder::Base64, b"aGkh!w=="),
            "not Base64: the character '!' at byte 5 is not in its alphabet"
        );
        assert_eq!(
            words(Decoder::Base64, "aGé".as_bytes()),
            "not Base64: the character 'é' at byte 3 is not in its alphabet"
        );
        assert_eq!(
            words(Decoder::Base64, b"aG\x00"),
            "not Base64: the character U+0000 at byte 3 is not in its alphabet"
        );
        assert_eq!(
            words(Decoder::Base64, b"aG\xff"),
            "not Base64: the byte 0xff at byte 3 is not in its alphabet"
        );
        assert_eq!(
            words(Decoder::Base64, b"aG=kh"),
            "not Base64: the padding '=' at byte 3 is not at the end"
        );
        assert_eq!(
            words(Decoder::Base64, b"aGkhP"),
            "not Base64: it ends with a single character, which holds no whole byte"
        );
        assert_eq!(words(Decoder::Base64, b""), "empty payload");
        assert_eq!(words(Decoder::Base64, b" \n"), "empty payload");
        assert_eq!(words(Decoder::MessagePack, b""), "empty payload");
        assert_eq!(words(Decoder::Cbor, b""), "empty payload");
    }

    fn mp_sample() -> rmpv::Value {
        use rmpv::Value;
        Value::Map(vec![
            (
                Value::from("a"),
                Value::Array(vec![
                    Value::from(1),
                    Value::from(-2),
                    Value::from(u64::MAX),
                    Value::from(i64::MIN),
                    Value::F64(1.5),
                    Value::F32(0.1),
                    Value::Nil,
                    Value::Boolean(true),
                ]),
            ),
            (Value::from(1), Value::from("one \"q\"\n")),
            (
                Value::Binary(vec![0, 0xff]),
                Value::Binary(vec![0x0a, 0xbc]),
            ),
            (Value::Nil, Value::Ext(-1, vec![1, 2, 3, 4])),
            (
                Value::from("f"),
                Value::Array(vec![
                    Value::F64(f64::NAN),
                    Value::F64(f64::INFINITY),
                    Value::F32(f32::NEG_INFINITY),
                    Value::F64(1e300),
                    Value::F64(-0.0),
                ]),
            ),
            (
                Value::Array(vec![Value::from(1), Value::from("x")]),
                Value::Map(vec![]),
            ),
        ])
    }

    #[test]
    fn msgpack_renders_exact_json() {
        assert_eq!(
            text(Decoder::MessagePack, &mp(&mp_sample())),
            concat!(
                r#"{"a":[1,-2,18446744073709551615,-9223372036854775808,1.5,0.1,null,true],"#,
                r#""1":"one \"q\"\n","0x00ff":"0x0abc","null":{"ext":-1,"data":"0x01020304"},"#,
                r#""f":["NaN","Infinity","-Infinity",1e+300,-0.0],"[1,\"x\"]":{}}"#
            )
        );
    }

    #[test]
    fn msgpack_invalid_utf8_string_is_hex() {
        // fixstr of 2 bytes that are not UTF-8.
        assert_eq!(text(Decoder::MessagePack, b"\xa2\xff\xfe"), r#""0xfffe""#);
    }

    #[test]
    fn msgpack_refusals_in_words() {
        let mut bytes = mp(&mp_sample());
        bytes.truncate(bytes.len() - 1);
        assert_eq!(
            words(Decoder::MessagePack, &bytes),
            "not MessagePack: the data ends too soon"
        );
        let mut bytes = mp(&rmpv::Value::from(7));
        bytes.extend_from_slice(b"abc");
        assert_eq!(
            words(Decoder::MessagePack, &bytes),
            "not MessagePack: 3 bytes left over after the value"
        );
        assert_eq!(
            words(Decoder::MessagePack, b"\x01\x02"),
            "not MessagePack: 1 byte left over after the value"
        );
    }

    #[test]
    fn msgpack_array32_declaring_four_billion_elements_fails_fast() {
        let start = std::time::Instant::now();
        // array32 of 0xffffffff elements, then one nil.
        assert_eq!(
            words(Decoder::MessagePack, b"\xdd\xff\xff\xff\xff\xc0"),
            "not MessagePack: the data ends too soon"
        );
        // str32 and bin32 of 4 GiB with 2 bytes.
        assert_eq!(
            words(Decoder::MessagePack, b"\xdb\xff\xff\xff\xffab"),
            "not MessagePack: the data ends too soon"
        );
        assert_eq!(
            words(Decoder::MessagePack, b"\xc6\xff\xff\xff\xffab"),
            "not MessagePack: the data ends too soon"
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    fn nested(open: u8, levels: usize, leaf: &[u8]) -> Vec<u8> {
        let mut bytes = vec![open; levels];
        bytes.extend_from_slice(leaf);
        bytes
    }

    #[test]
    fn nesting_up_to_32_levels_and_no_deeper() {
        // MessagePack fixarray of one; 32 levels around a string leaf (the costliest for
        // rmpv's counter) pass, and 33 around nil (the cheapest) do not.
        let ok = text(Decoder::MessagePack, &nested(0x91, 32, b"\xa1x"));
        assert_eq!(ok, format!("{}\"x\"{}", "[".repeat(32), "]".repeat(32)));
        let ok = text(Decoder::MessagePack, &nested(0x91, 31, b"\x90"));
        assert_eq!(ok, format!("{}{}", "[".repeat(32), "]".repeat(32)));
        for deep in [
            nested(0x91, 33, b"\xc0"),
            nested(0x91, 32, b"\x90"),
            // fixmap {nil: {nil: ...}}
            [[0x81, 0xc0].repeat(33), vec![0xc0]].concat(),
        ] {
            assert_eq!(
                words(Decoder::MessagePack, &deep),
                "not MessagePack: nested deeper than 32 levels"
            );
        }
        // CBOR array of one (0x81); a tag counts as a level too (0xc1 = tag 1).
        let ok = text(Decoder::Cbor, &nested(0x81, 32, b"\x01"));
        assert_eq!(ok, format!("{}1{}", "[".repeat(32), "]".repeat(32)));
        for deep in [nested(0x81, 33, b"\x01"), nested(0xc1, 33, b"\x01")] {
            assert_eq!(
                words(Decoder::Cbor, &deep),
                "not CBOR: nested deeper than 32 levels"
            );
        }
    }

    #[test]
    fn ten_thousand_nested_arrays_are_refused_without_overflow() {
        assert_eq!(
            words(Decoder::MessagePack, &nested(0x91, 10_000, b"\xc0")),
            "not MessagePack: nested deeper than 32 levels"
        );
        assert_eq!(
            words(Decoder::MessagePack, &nested(0xdc, 10_000, b"")),
            "not MessagePack: nested deeper than 32 levels"
        );
        assert_eq!(
            words(Decoder::Cbor, &nested(0x9f, 10_000, b"")),
            "not CBOR: nested deeper than 32 levels"
        );
        assert_eq!(
            words(Decoder::Cbor, &nested(0xd8, 20_000, b"")),
            "not CBOR: nested deeper than 32 levels"
        );
    }

    fn cb_sample() -> ciborium::Value {
        use ciborium::Value;
        Value::Map(vec![
            (
                Value::Text("a".into()),
                Value::Array(vec![
                    Value::Integer(1.into()),
                    Value::Integer((-2).into()),
                    Value::Integer(u64::MAX.into()),
                    Value::Float(1.5),
                    Value::Float(f64::NAN),
                    Value::Float(f64::NEG_INFINITY),
                    Value::Null,
                    Value::Bool(false),
                ]),
            ),
            (Value::Integer(1.into()), Value::Text("é\t".into())),
            (Value::Bytes(vec![0xde, 0xad]), Value::Bytes(vec![])),
            (
                Value::Text("t".into()),
                Value::Tag(1, Box::new(Value::Integer(1_700_000_000.into()))),
            ),
            (Value::Bool(true), Value::Map(vec![])),
        ])
    }

    #[test]
    fn cbor_renders_exact_json() {
        assert_eq!(
            text(Decoder::Cbor, &cb(&cb_sample())),
            concat!(
                r#"{"a":[1,-2,18446744073709551615,1.5,"NaN","-Infinity",null,false],"#,
                r#""1":"é\t","0xdead":"0x","t":{"tag":1,"value":1700000000},"true":{}}"#
            )
        );
    }

    #[test]
    fn cbor_bignums_undefined_and_indefinite_items() {
        // ciborium writes integers past 64 bits as bignum tags.
        let big = ciborium::Value::from(u128::MAX);
        assert_eq!(text(Decoder::Cbor, &cb(&big)), u128::MAX.to_string());
        let neg = ciborium::Value::from(i128::MIN);
        assert_eq!(text(Decoder::Cbor, &cb(&neg)), i128::MIN.to_string());
        // -1 - (2^64 - 1): a major-type-1 integer past i64.
        assert_eq!(
            text(Decoder::Cbor, b"\x3b\xff\xff\xff\xff\xff\xff\xff\xff"),
            "-18446744073709551616"
        );
        // A 17-byte bignum stays a tag.
        let mut huge = vec![0xc2, 0x51];
        huge.extend_from_slice(&[0x01; 17]);
        assert_eq!(
            text(Decoder::Cbor, &huge),
            format!(r#"{{"tag":2,"value":"0x{}"}}"#, "01".repeat(17))
        );
        // undefined; an indefinite array and text; a half float.
        assert_eq!(text(Decoder::Cbor, b"\xf7"), "null");
        assert_eq!(
            text(Decoder::Cbor, b"\x9f\x01\x7f\x61a\x61b\xff\xff"),
            r#"[1,"ab"]"#
        );
        assert_eq!(text(Decoder::Cbor, b"\xf9\x3e\x00"), "1.5");
        // A negative bignum below -2^127, and -1 - (2^128 - 1), which no i128 holds.
        let mut low = vec![0xc3, 0x50, 0x80];
        low.extend_from_slice(&[0; 15]);
        assert_eq!(
            text(Decoder::Cbor, &low),
            "-170141183460469231731687303715884105729"
        );
        let mut lowest = vec![0xc3, 0x50];
        lowest.extend_from_slice(&[0xff; 16]);
        assert_eq!(
            text(Decoder::Cbor, &lowest),
            format!(r#"{{"tag":3,"value":"0x{}"}}"#, "ff".repeat(16))
        );
        // Indefinite bytes in chunks; a bignum in them; a two-byte simple true; a map
        // of indefinite length with an indefinite text key.
        assert_eq!(
            text(Decoder::Cbor, b"\x5f\x41\x01\x40\x42\x02\x03\xff"),
            r#""0x010203""#
        );
        assert_eq!(text(Decoder::Cbor, b"\xc2\x5f\x41\x01\x41\x00\xff"), "256");
        assert_eq!(text(Decoder::Cbor, b"\xf8\x15"), "true");
        assert_eq!(
            text(Decoder::Cbor, b"\xbf\x7f\x61k\xff\xf4\x01\x02\xff"),
            r#"{"k":false,"1":2}"#
        );
        // A bignum is a number, not a level: 32 arrays around one pass.
        let ok = text(Decoder::Cbor, &nested(0x81, 32, b"\xc2\x41\x07"));
        assert_eq!(ok, format!("{}7{}", "[".repeat(32), "]".repeat(32)));
    }

    #[test]
    fn cbor_refusals_in_words() {
        let mut bytes = cb(&cb_sample());
        bytes.truncate(bytes.len() - 1);
        assert_eq!(
            words(Decoder::Cbor, &bytes),
            "not CBOR: the data ends too soon"
        );
        assert_eq!(
            words(Decoder::Cbor, b"\x01\x02\x03\x04"),
            "not CBOR: 3 bytes left over after the value"
        );
        // Text of 4 GiB declared with 2 bytes; an array of 2^64 - 1 with one element.
        assert_eq!(
            words(Decoder::Cbor, b"\x7a\xff\xff\xff\xffab"),
            "not CBOR: the data ends too soon"
        );
        assert_eq!(
            words(Decoder::Cbor, b"\x9b\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
            "not CBOR: the data ends too soon"
        );
        assert_eq!(
            words(Decoder::Cbor, b"\x62\xff\xfe"),
            "not CBOR: unreadable data at byte 1"
        );
        assert_eq!(
            words(Decoder::Cbor, b"\xf0"),
            "not CBOR: an unknown simple value"
        );
        assert_eq!(
            words(Decoder::Cbor, b"\xff"),
            "not CBOR: a break code outside an indefinite-length item"
        );
        // The string's first byte, also when its length is not in its shortest form; a
        // chunk that is not a definite string of the same kind; a reserved head.
        assert_eq!(
            words(Decoder::Cbor, b"\x82\x01\x78\x02\xff\xfe"),
            "not CBOR: unreadable data at byte 3"
        );
        assert_eq!(
            words(Decoder::Cbor, b"\x7f\x61a\x41b\xff"),
            "not CBOR: unreadable data at byte 4"
        );
        assert_eq!(
            words(Decoder::Cbor, b"\x81\x1c"),
            "not CBOR: unreadable data at byte 2"
        );
        // A text string of 2^64 - 1 bytes (more than a 32-bit usize holds).
        assert_eq!(
            words(Decoder::Cbor, b"\x7b\xff\xff\xff\xff\xff\xff\xff\xffab"),
            "not CBOR: the data ends too soon"
        );
        // What follows the cut is still read, and refused.
        assert_eq!(
            decode(Decoder::Cbor, b"\x83\x01\x02\xf0", 2)
                .unwrap_err()
                .to_string(),
            "not CBOR: an unknown simple value"
        );
    }

    #[test]
    fn output_is_cut_at_the_limit_on_a_char_boundary() {
        let value = rmpv::Value::Array(vec![rmpv::Value::from("ééééé"); 100]);
        let bytes = mp(&value);
        let whole = text(Decoder::MessagePack, &bytes);
        for limit in 0..40 {
            let d = decode(Decoder::MessagePack, &bytes, limit).unwrap();
            assert!(d.cut);
            assert!(d.text.len() <= limit && limit - d.text.len() < 4);
            assert!(whole.starts_with(&d.text));
        }
        let d = decode(Decoder::MessagePack, &bytes, whole.len()).unwrap();
        assert_eq!((d.text.as_str(), d.cut), (whole.as_str(), false));
        let d = decode(Decoder::Hex, &[0xab; 1000], 7).unwrap();
        assert_eq!((d.text.as_str(), d.cut), ("abababa", true));
        let d = decode(Decoder::Cbor, &cb(&ciborium::Value::Bytes(vec![1; 50])), 9).unwrap();
        assert_eq!((d.text.as_str(), d.cut), ("\"0x010101", true));
        // A key rendered from a non-string value is cut the same way.
        let keyed = rmpv::Value::Map(vec![(
            rmpv::Value::Array(vec![rmpv::Value::from("a\"b"); 20]),
            rmpv::Value::Nil,
        )]);
        let bytes = mp(&keyed);
        let whole = text(Decoder::MessagePack, &bytes);
        for limit in 0..whole.len() {
            let d = decode(Decoder::MessagePack, &bytes, limit).unwrap();
            assert!(d.cut && whole.starts_with(&d.text) && d.text.len() == limit);
        }
    }

    #[test]
    fn a_megabyte_of_small_values_is_read_in_one_pass_and_cut() {
        // array32 of 2^20 nils; and a CBOR indefinite array of as many zeros.
        let count = 1usize << 20;
        let mut bytes = vec![0xdd, 0x00, 0x10, 0x00, 0x00];
        bytes.resize(5 + count, 0xc0);
        let start = std::time::Instant::now();
        let d = decode(Decoder::MessagePack, &bytes, 2048).unwrap();
        assert!(d.cut && d.text.len() == 2048 && d.text.starts_with("[null,null"));
        let mut bytes = vec![0x9f];
        bytes.resize(1 + count, 0x00);
        bytes.push(0xff);
        let d = decode(Decoder::Cbor, &bytes, 2048).unwrap();
        assert!(d.cut && d.text.starts_with("[0,0,0"));
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
    }

    /// A JSON-like value for round trips: integers, strings, bools, null, arrays, maps.
    #[derive(Clone, Debug)]
    enum Tree {
        Null,
        Bool(bool),
        U(u64),
        I(i64),
        S(String),
        A(Vec<Tree>),
        M(std::collections::BTreeMap<String, Tree>),
    }

    fn tree() -> impl Strategy<Value = Tree> {
        let leaf = prop_oneof![
            Just(Tree::Null),
            any::<bool>().prop_map(Tree::Bool),
            any::<u64>().prop_map(Tree::U),
            any::<i64>().prop_map(Tree::I),
            any::<String>().prop_map(Tree::S),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Tree::A),
                prop::collection::btree_map(any::<String>(), inner, 0..6).prop_map(Tree::M),
            ]
        })
    }

    fn to_json(t: &Tree) -> serde_json::Value {
        match t {
            Tree::Null => serde_json::Value::Null,
            Tree::Bool(b) => (*b).into(),
            Tree::U(n) => (*n).into(),
            Tree::I(n) => (*n).into(),
            Tree::S(s) => s.as_str().into(),
            Tree::A(items) => items.iter().map(to_json).collect(),
            Tree::M(map) => map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect(),
        }
    }

    fn to_mp(t: &Tree) -> rmpv::Value {
        use rmpv::Value;
        match t {
            Tree::Null => Value::Nil,
            Tree::Bool(b) => Value::Boolean(*b),
            Tree::U(n) => Value::from(*n),
            Tree::I(n) => Value::from(*n),
            Tree::S(s) => Value::from(s.as_str()),
            Tree::A(items) => Value::Array(items.iter().map(to_mp).collect()),
            Tree::M(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| (Value::from(k.as_str()), to_mp(v)))
                    .collect(),
            ),
        }
    }

    fn to_cb(t: &Tree) -> ciborium::Value {
        use ciborium::Value;
        match t {
            Tree::Null => Value::Null,
            Tree::Bool(b) => Value::Bool(*b),
            Tree::U(n) => Value::Integer((*n).into()),
            Tree::I(n) => Value::Integer((*n).into()),
            Tree::S(s) => Value::Text(s.clone()),
            Tree::A(items) => Value::Array(items.iter().map(to_cb).collect()),
            Tree::M(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| (Value::Text(k.clone()), to_cb(v)))
                    .collect(),
            ),
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_stay_within_the_limit(
            bytes in prop::collection::vec(any::<u8>(), 0..4096),
            limit in 0usize..600,
        ) {
            for d in Decoder::ALL {
                if let Ok(out) = decode(d, &bytes, limit) {
                    prop_assert!(out.text.len() <= limit);
                }
            }
        }

        #[test]
        fn damaged_encodings_never_panic(
            t in tree(),
            cuts in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            keep in any::<prop::sample::Index>(),
            limit in 0usize..300,
        ) {
            for (decoder, mut bytes) in [
                (Decoder::MessagePack, mp(&to_mp(&t))),
                (Decoder::Cbor, cb(&to_cb(&t))),
            ] {
                for (at, byte) in &cuts {
                    let i = at.index(bytes.len());
                    bytes[i] = *byte;
                }
                bytes.truncate(keep.index(bytes.len() + 1));
                if let Ok(out) = decode(decoder, &bytes, limit) {
                    prop_assert!(out.text.len() <= limit);
                }
            }
        }

        #[test]
        fn msgpack_and_cbor_round_trip_to_the_same_json(t in tree()) {
            let json = to_json(&t);
            for (decoder, bytes) in [
                (Decoder::MessagePack, mp(&to_mp(&t))),
                (Decoder::Cbor, cb(&to_cb(&t))),
            ] {
                let out = decode(decoder, &bytes, BIG).unwrap();
                prop_assert!(!out.cut);
                let back: serde_json::Value = serde_json::from_str(&out.text).unwrap();
                prop_assert_eq!(&back, &json);
            }
        }

        #[test]
        fn finite_floats_round_trip(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
            let out = decode(Decoder::MessagePack, &mp(&rmpv::Value::F64(f)), BIG).unwrap();
            prop_assert_eq!(&out.text, &serde_json::to_string(&f).unwrap());
            let out = decode(Decoder::Cbor, &cb(&ciborium::Value::Float(f)), BIG).unwrap();
            prop_assert_eq!(&out.text, &serde_json::to_string(&f).unwrap());
        }

        #[test]
        fn base64_round_trips(bytes in prop::collection::vec(any::<u8>(), 1..300)) {
            let out = decode(Decoder::Base64, base64_encode(&bytes).as_bytes(), BIG).unwrap();
            match std::str::from_utf8(&bytes) {
                Ok(s) => prop_assert_eq!(out.text, s),
                Err(_) => prop_assert_eq!(out.text, format!("0x{}", hex_of(&bytes))),
            }
        }
    }
}
