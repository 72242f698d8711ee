//! What a user may send: checked before anything goes on the wire, with a reason in words.

use thiserror::Error;

/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 40;
/// Longest message, in UTF-8 bytes. Well under any broker limit once wrapped in JSON.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// A message ready to send: the name trimmed, the text as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub name: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DraftError {
    #[error("Enter your name first.")]
    EmptyName,
    #[error("Type a message first.")]
    EmptyMessage,
    #[error("Name too long: {chars} characters, the limit is {limit}.")]
    NameTooLong { chars: usize, limit: usize },
    #[error("Message too long: {bytes} bytes, the limit is {limit}. Nothing was sent.")]
    MessageTooLong { bytes: usize, limit: usize },
}

pub fn validate_draft(name: &str, message: &str) -> Result<Draft, DraftError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DraftError::EmptyName);
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(DraftError::NameTooLong {
            chars,
            limit: MAX_NAME_CHARS,
        });
    }
    if message.trim().is_empty() {
        return Err(DraftError::EmptyMessage);
    }
    if message.len() > MAX_MESSAGE_BYTES {
        return Err(DraftError::MessageTooLong {
            bytes: message.len(),
            limit: MAX_MESSAGE_BYTES,
        });
    }
    Ok(Draft {
        name: name.to_owned(),
        message: message.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_blank_fields_are_refused() {
        assert_eq!(validate_draft("", "hi"), Err(DraftError::EmptyName));
        assert_eq!(validate_draft("   ", "hi"), Err(DraftError::EmptyName));
        assert_eq!(validate_draft("ann", ""), Err(DraftError::EmptyMessage));
        assert_eq!(
            validate_draft("ann", " \n\t"),
            Err(DraftError::EmptyMessage)
        );
    }

    #[test]
    fn the_name_is_trimmed_and_the_message_kept_as_typed() {
        let d = validate_draft("  ann ", "  two\nlines ").unwrap();
        assert_eq!(d.name, "ann");
        assert_eq!(d.message, "  two\nlines ");
    }

    #[test]
    fn limits_are_exact_and_measured_the_stated_way() {
        assert!(validate_draft("ann", &"x".repeat(MAX_MESSAGE_BYTES)).is_ok());
        assert_eq!(
            validate_draft("ann", &"x".repeat(MAX_MESSAGE_BYTES + 1)),
            Err(DraftError::MessageTooLong {
                bytes: MAX_MESSAGE_BYTES + 1,
                limit: MAX_MESSAGE_BYTES
            })
        );
        // "é" is 2 bytes: the message limit is in bytes, the name limit in characters.
        assert!(validate_draft(&"é".repeat(MAX_NAME_CHARS), "x").is_ok());
        assert!(validate_draft(&"é".repeat(MAX_NAME_CHARS + 1), "x").is_err());
        let err = validate_draft("ann", &"é".repeat(3000)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Message too long: 6000 bytes, the limit is 4096. Nothing was sent."
        );
    }
}
