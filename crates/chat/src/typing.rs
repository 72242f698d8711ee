//! Who is typing: a throttled signal on `chat/typing/<chat topic>` (QoS 0, never retained)
//! that says how long to show it, and the per-room list built from those signals.
//!
//! Pure state on a virtual clock: every time is milliseconds since the Unix epoch, passed in.

use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::presence::{clean_name, who, Who};

/// Largest typing payload read, in bytes.
pub const MAX_TYPING_BYTES: usize = 1024;
/// Longest name kept from a signal, in characters; longer names are cut.
pub const MAX_TYPING_NAME_CHARS: usize = 64;
/// How long a signal shows its sender after their last keystroke.
pub const TYPING_EXPIRY_MS: f64 = 5_000.0;
/// At most one typing publish per this many ms per tab.
pub const THROTTLE_MS: f64 = 2_000.0;
/// Most people remembered typing in one room.
pub const MAX_TYPERS: usize = 100;
/// Longest name shown in the typing line, in characters, "…" included.
pub const MAX_SHOWN_NAME_CHARS: usize = 40;

/// One typing signal as it travels.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TypingSignal {
    pub person: String,
    pub name: String,
    /// How long from receipt to show the sender as typing, in ms (0 hides at once).
    pub expires_in: f64,
}

impl TypingSignal {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Why a typing payload was not read.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BadTyping {
    #[error("Typing signal too large: {bytes} bytes, the limit is {limit}.")]
    TooLarge { bytes: usize, limit: usize },
    #[error("Typing signal is not JSON.")]
    NotJson,
    #[error("Typing signal is not a JSON object.")]
    NotObject,
    #[error("Typing signal has no person id, or it is not text, empty or over 64 bytes.")]
    Person,
    #[error("Typing signal has a name that is not text.")]
    Name,
    #[error("Typing signal has no expiry, or it is not a finite number.")]
    ExpiresIn,
}

/// Reads a typing signal: extra fields are ignored, but the fields it reads must have their
/// types. `person` and `expires_in` are required; `name` defaults to "anonymous". The name is
/// trimmed and cut to 64 characters; `expires_in` is clamped to 0..=5000.
pub fn decode_typing(bytes: &[u8]) -> Result<TypingSignal, BadTyping> {
    if bytes.len() > MAX_TYPING_BYTES {
        return Err(BadTyping::TooLarge {
            bytes: bytes.len(),
            limit: MAX_TYPING_BYTES,
        });
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|_| BadTyping::NotJson)?;
    let Value::Object(map) = value else {
        return Err(BadTyping::NotObject);
    };
    let (person, name) = who(&map).map_err(|field| match field {
        Who::Person => BadTyping::Person,
        Who::Name => BadTyping::Name,
    })?;
    let expires_in = match map.get("expires_in").and_then(Value::as_f64) {
        Some(e) if e.is_finite() => e.clamp(0.0, TYPING_EXPIRY_MS),
        _ => return Err(BadTyping::ExpiresIn),
    };
    Ok(TypingSignal {
        person,
        name: clean_name(&name, MAX_TYPING_NAME_CHARS),
        expires_in,
    })
}

/// This tab's side: when to publish that the user is typing. The first keystroke publishes
/// at once; after a publish, keystrokes within [`THROTTLE_MS`] wait for the end of that
/// window, when one trailing publish covers them. Never two publishes within 2 s.
#[derive(Clone, Debug, Default)]
pub struct TypingSender {
    last_publish: Option<f64>,
    /// The last keystroke not yet covered by a publish.
    pending: Option<f64>,
}

impl TypingSender {
    pub fn new() -> Self {
        Self::default()
    }

    /// A keystroke at `now`. Returns `Some(expires_in)` (5000) to publish now, or `None` if a
    /// publish happened within the last 2 s (the keystroke is then covered by the trailing
    /// publish at [`TypingSender::poll_timeout`]).
    pub fn keystroke(&mut self, now: f64) -> Option<f64> {
        match self.last_publish {
            Some(last) if now - last < THROTTLE_MS && now >= last => {
                self.pending = Some(now);
                None
            }
            _ => {
                self.last_publish = Some(now);
                self.pending = None;
                Some(TYPING_EXPIRY_MS)
            }
        }
    }

    /// The end of the throttle window, if keystrokes wait for a trailing publish.
    pub fn poll_timeout(&self) -> Option<f64> {
        match (self.pending, self.last_publish) {
            (Some(_), Some(last)) => Some(last + THROTTLE_MS),
            _ => None,
        }
    }

    /// At or after [`TypingSender::poll_timeout`]: returns `Some(expires_in)` for the
    /// trailing publish (5000 minus the time since the last keystroke, if that is still
    /// positive) and starts a new window. Before the window ends, or with nothing pending,
    /// it does nothing.
    pub fn handle_timeout(&mut self, now: f64) -> Option<f64> {
        let due = self.poll_timeout()?;
        if now < due {
            return None;
        }
        let last_key = self.pending.take()?;
        let expires_in = (TYPING_EXPIRY_MS - (now - last_key)).clamp(0.0, TYPING_EXPIRY_MS);
        if expires_in > 0.0 {
            self.last_publish = Some(now);
            Some(expires_in)
        } else {
            None
        }
    }

    /// The message was sent: pending keystrokes need no trailing publish (the receivers hide
    /// the typing line when the message arrives). The throttle window stays.
    pub fn sent(&mut self) {
        self.pending = None;
    }
}

#[derive(Clone, Debug)]
struct Typer {
    person: String,
    name: String,
    until: f64,
}

/// The people typing in one room, from the signals received there.
#[derive(Clone, Debug, Default)]
pub struct Typing {
    /// In order of first typing (a person who stopped and starts again goes last).
    typers: Vec<Typer>,
}

impl Typing {
    pub fn new() -> Self {
        Self::default()
    }

    /// A signal received at `now`: its sender is shown until `now + expires_in` (0 hides them
    /// at once). The user's own signals are ignored. At most [`MAX_TYPERS`] are kept: when
    /// full, the one expiring soonest (possibly the newcomer) is dropped.
    pub fn signal(&mut self, s: TypingSignal, own_person: &str, now: f64) {
        if s.person == own_person {
            return;
        }
        self.expire(now);
        let expires_in = if s.expires_in.is_finite() {
            s.expires_in.clamp(0.0, TYPING_EXPIRY_MS)
        } else {
            0.0
        };
        if expires_in <= 0.0 {
            self.typers.retain(|t| t.person != s.person);
            return;
        }
        let until = now + expires_in;
        if let Some(t) = self.typers.iter_mut().find(|t| t.person == s.person) {
            t.until = until;
            t.name = s.name;
            return;
        }
        if self.typers.len() >= MAX_TYPERS {
            let soonest = self
                .typers
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.until.total_cmp(&b.1.until));
            match soonest {
                Some((i, t)) if t.until <= until => {
                    self.typers.remove(i);
                }
                _ => return,
            }
        }
        self.typers.push(Typer {
            person: s.person,
            name: s.name,
            until,
        });
    }

    /// A chat message arrived: its author stops showing as typing. Matched by person id when
    /// the message carries one, else by name (trimmed and cut as signal names are).
    pub fn message_from(&mut self, person: Option<&str>, name: &str) {
        match person {
            Some(p) => self.typers.retain(|t| t.person != p),
            None => {
                let name = clean_name(name, MAX_TYPING_NAME_CHARS);
                self.typers.retain(|t| t.name != name);
            }
        }
    }

    /// Forgets the signals expired by `now`. Returns true if any was.
    pub fn expire(&mut self, now: f64) -> bool {
        let before = self.typers.len();
        self.typers.retain(|t| t.until > now);
        self.typers.len() != before
    }

    /// When the next signal expires.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.typers
            .iter()
            .map(|t| t.until)
            .min_by(|a, b| a.total_cmp(b))
    }

    /// How many people are remembered typing (at most [`MAX_TYPERS`]).
    pub fn len(&self) -> usize {
        self.typers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.typers.is_empty()
    }

    /// The typing line at `now`: "", "Ann is typing…", "Ann and Bo are typing…" or
    /// "3 people are typing…". Names over 40 characters are cut, ending in "…".
    pub fn text(&self, now: f64) -> String {
        let shown: Vec<&Typer> = self.typers.iter().filter(|t| t.until > now).collect();
        match shown.as_slice() {
            [] => String::new(),
            [a] => format!("{} is typing…", short(&a.name)),
            [a, b] => format!("{} and {} are typing…", short(&a.name), short(&b.name)),
            many => format!("{} people are typing…", many.len()),
        }
    }
}

fn short(name: &str) -> String {
    if name.chars().count() <= MAX_SHOWN_NAME_CHARS {
        name.to_owned()
    } else {
        let mut cut: String = name.chars().take(MAX_SHOWN_NAME_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}
