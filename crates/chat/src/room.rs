//! Room names, and the topics a room lives on.
//!
//! The default room is the topic `messages` (so a plain MQTT client on `messages` still
//! chats with us); a room named `X` is the topic `messages/X`. A name is checked once, here,
//! so every `RoomName` in the program is one a topic can carry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The default room's name, and its chat topic.
pub const DEFAULT_ROOM: &str = "messages";
/// The longest room name, in UTF-8 bytes.
pub const MAX_ROOM_NAME_BYTES: usize = 64;

/// Why a room name was refused, in words for the user.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RoomNameError {
    #[error("A room name cannot be empty.")]
    Empty,
    #[error("A room name is at most {MAX_ROOM_NAME_BYTES} bytes; this one is {bytes}.")]
    TooLong { bytes: usize },
    /// `+`, `#` or `/`: they mean something in MQTT topics.
    #[error("A room name cannot contain “{0}”.")]
    Forbidden(char),
    /// NUL or any other control character.
    #[error("A room name cannot contain a control character.")]
    ControlCharacter,
    /// Topics starting with `$` are the broker's own.
    #[error("A room name cannot start with “$”.")]
    StartsWithDollar,
    /// `from` is the topic level that names a verified author (`messages/from/<user>`).
    #[error("“from” is reserved: it marks who sent a message in the topic.")]
    Reserved,
}

/// A valid room name: trimmed, 1 to 64 bytes, without `+`, `#`, `/` or control characters,
/// not starting with `$`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomName(String);

impl RoomName {
    /// The name the user typed (or a link carried), checked. Surrounding whitespace is
    /// trimmed; inner whitespace is kept.
    pub fn parse(raw: &str) -> Result<RoomName, RoomNameError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(RoomNameError::Empty);
        }
        if name.len() > MAX_ROOM_NAME_BYTES {
            return Err(RoomNameError::TooLong { bytes: name.len() });
        }
        if let Some(c) = name.chars().find(|c| matches!(c, '+' | '#' | '/')) {
            return Err(RoomNameError::Forbidden(c));
        }
        if name.chars().any(char::is_control) {
            return Err(RoomNameError::ControlCharacter);
        }
        if name.starts_with('$') {
            return Err(RoomNameError::StartsWithDollar);
        }
        if name == crate::topics::AUTHOR_LEVEL {
            return Err(RoomNameError::Reserved);
        }
        Ok(RoomName(name.to_owned()))
    }

    /// The room named `messages`, on the topic `messages`.
    pub fn default_room() -> RoomName {
        RoomName(DEFAULT_ROOM.to_owned())
    }

    pub fn is_default(&self) -> bool {
        self.0 == DEFAULT_ROOM
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `messages` for the default room, else `messages/<name>`.
    pub fn chat_topic(&self) -> String {
        if self.is_default() {
            DEFAULT_ROOM.to_owned()
        } else {
            format!("{DEFAULT_ROOM}/{}", self.0)
        }
    }

    /// `chat/typing/<chat topic>`.
    pub fn typing_topic(&self) -> String {
        format!("{TYPING_PREFIX}{}", self.chat_topic())
    }

    /// `chat/catchup/<chat topic>`.
    pub fn catchup_topic(&self) -> String {
        format!("{CATCHUP_PREFIX}{}", self.chat_topic())
    }
}

/// Typing events are on this prefix followed by the room's chat topic.
pub const TYPING_PREFIX: &str = "chat/typing/";
/// Catch-up requests and answers are on this prefix followed by the room's chat topic.
pub const CATCHUP_PREFIX: &str = "chat/catchup/";

impl Default for RoomName {
    fn default() -> Self {
        RoomName::default_room()
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RoomName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for RoomName {
    type Err = RoomNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RoomName::parse(s)
    }
}

impl TryFrom<String> for RoomName {
    type Error = RoomNameError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        RoomName::parse(&s)
    }
}

impl From<RoomName> for String {
    fn from(name: RoomName) -> String {
        name.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) -> String {
        RoomName::parse(raw).unwrap_err().to_string()
    }

    #[test]
    fn ordinary_names_are_kept_trimmed() {
        for (raw, kept) in [
            ("general", "general"),
            ("  café au lait \t", "café au lait"),
            ("日本語", "日本語"),
            ("a$b", "a$b"),
            (
                "<img src=x onerror=alert(1)>",
                "<img src=x onerror=alert(1)>",
            ),
            ("messages", "messages"),
        ] {
            assert_eq!(RoomName::parse(raw).unwrap().as_str(), kept, "{raw:?}");
        }
    }

    #[test]
    fn refused_names_say_why_in_words() {
        assert_eq!(refused(""), "A room name cannot be empty.");
        assert_eq!(refused(" \n\t "), "A room name cannot be empty.");
        assert_eq!(
            refused(&"x".repeat(70)),
            "A room name is at most 64 bytes; this one is 70."
        );
        assert_eq!(refused("a+b"), "A room name cannot contain “+”.");
        assert_eq!(refused("#"), "A room name cannot contain “#”.");
        assert_eq!(refused("a/b"), "A room name cannot contain “/”.");
        assert_eq!(
            refused("a\0b"),
            "A room name cannot contain a control character."
        );
        assert_eq!(
            refused("a\u{7}b"),
            "A room name cannot contain a control character."
        );
        assert_eq!(
            refused("a\u{9b}b"),
            "A room name cannot contain a control character."
        );
        assert_eq!(refused("$SYS"), "A room name cannot start with “$”.");
        assert_eq!(
            refused(" from "),
            "“from” is reserved: it marks who sent a message in the topic."
        );
        assert_eq!(refused("  $x"), "A room name cannot start with “$”.");
    }

    #[test]
    fn the_limit_is_in_bytes_after_trimming() {
        assert!(RoomName::parse(&"x".repeat(MAX_ROOM_NAME_BYTES)).is_ok());
        assert!(RoomName::parse(&format!("  {}  ", "x".repeat(64))).is_ok());
        // 22 three-byte characters: 66 bytes, 22 chars.
        assert_eq!(
            RoomName::parse(&"語".repeat(22)),
            Err(RoomNameError::TooLong { bytes: 66 })
        );
        assert_eq!(
            refused(&"é".repeat(5_000)),
            "A room name is at most 64 bytes; this one is 10000."
        );
    }

    #[test]
    fn topics_of_the_default_room_and_others() {
        let default = RoomName::default_room();
        assert!(default.is_default());
        assert_eq!(default, RoomName::parse(" messages ").unwrap());
        assert_eq!(default, RoomName::default());
        assert_eq!(default.chat_topic(), "messages");
        assert_eq!(default.typing_topic(), "chat/typing/messages");
        assert_eq!(default.catchup_topic(), "chat/catchup/messages");

        let room = RoomName::parse("tea room").unwrap();
        assert!(!room.is_default());
        assert_eq!(room.to_string(), "tea room");
        assert_eq!(room.chat_topic(), "messages/tea room");
        assert_eq!(room.typing_topic(), "chat/typing/messages/tea room");
        assert_eq!(room.catchup_topic(), "chat/catchup/messages/tea room");
    }

    #[test]
    fn serde_checks_the_name_too() {
        let room: RoomName = serde_json::from_str("\"ok\"").unwrap();
        assert_eq!(room.as_str(), "ok");
        assert_eq!(serde_json::to_string(&room).unwrap(), "\"ok\"");
        assert!(serde_json::from_str::<RoomName>("\"a/b\"").is_err());
        assert!(serde_json::from_str::<Vec<RoomName>>("[\"a\",\"\"]").is_err());
        assert_eq!("x".parse::<RoomName>().unwrap().as_str(), "x");
    }
}
