//! Topic filters (MQTT 3.1.1 §4.7, MQTT 5 §4.7): which filters are valid, with the reason
//! in words, and which topic names a filter matches. Written here rather than taken from
//! `mqttbytes::matches`, which indexes past the end of a topic on some inputs and treats
//! `$` topics like any other: this runs on every topic the network sends.

use std::fmt;

/// The longest topic or filter: its length is a two-byte field on the wire.
pub const MAX_TOPIC_BYTES: usize = u16::MAX as usize;

/// Why a string is not a valid topic filter, each in words a user can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterError {
    Empty,
    TooLong,
    /// U+0000 is never allowed in a topic (MQTT-4.7.3-2).
    Nul,
    /// `#` that is not a whole level, or not the last one (MQTT-4.7.1-2).
    MultiLevelNotLast,
    /// `+` that is not a whole level (MQTT-4.7.1-3).
    SingleLevelNotAlone,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "a topic filter cannot be empty",
            Self::TooLong => "a topic filter can be at most 65,535 bytes",
            Self::Nul => "a topic filter cannot contain the NUL character",
            Self::MultiLevelNotLast => {
                "# must stand alone as the last level, as in sport/# (not sport#, a/#/b)"
            }
            Self::SingleLevelNotAlone => {
                "+ must stand alone as a whole level, as in sport/+/score (not sport+)"
            }
        })
    }
}

impl std::error::Error for FilterError {}

/// Check that `filter` is a topic filter a broker must accept.
pub fn check_filter(filter: &str) -> Result<(), FilterError> {
    if filter.is_empty() {
        return Err(FilterError::Empty);
    }
    if filter.len() > MAX_TOPIC_BYTES {
        return Err(FilterError::TooLong);
    }
    if filter.contains('\0') {
        return Err(FilterError::Nul);
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') && (level != "#" || levels.peek().is_some()) {
            return Err(FilterError::MultiLevelNotLast);
        }
        if level.contains('+') && level != "+" {
            return Err(FilterError::SingleLevelNotAlone);
        }
    }
    Ok(())
}

/// Whether `topic` is a topic name one may publish to: not empty, no wildcards, no NUL.
pub fn valid_topic(topic: &str) -> bool {
    !topic.is_empty() && topic.len() <= MAX_TOPIC_BYTES && !topic.contains(['+', '#', '\0'])
}

/// Whether the topic name `topic` matches `filter` (MQTT-4.7). A filter that starts with a
/// wildcard never matches a topic that starts with `$` (MQTT-4.7.2-1), so `#` does not
/// show `$SYS/...`; `$SYS/#` does. `sport/#` matches `sport` itself (its parent level).
/// Never panics, on any input; an invalid filter or topic name matches nothing.
pub fn matches(filter: &str, topic: &str) -> bool {
    check_filter(filter).is_ok() && matches_checked(filter, topic)
}

/// [`matches`] for a filter known to be valid (the router checks each one once, when it is
/// wanted, not for every message).
pub(crate) fn matches_checked(filter: &str, topic: &str) -> bool {
    if !valid_topic(topic) {
        return false;
    }
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut topic_levels = topic.split('/');
    for level in filter.split('/') {
        if level == "#" {
            return true;
        }
        match topic_levels.next() {
            Some(t) if level == "+" || level == t => {}
            _ => return false,
        }
    }
    topic_levels.next().is_none()
}

/// Whether `filter` has a wildcard, so it may match more than one topic.
pub fn has_wildcard(filter: &str) -> bool {
    filter.contains(['+', '#'])
}

/// The largest MQTT 5 Subscription Identifier, a variable byte integer of at most 4 bytes.
const MAX_SUBSCRIPTION_ID: u32 = 268_435_455;

/// The MQTT 5 Subscription Identifier this client gives `filter` in SUBSCRIBE: FNV-1a
/// (32 bit) of the filter's bytes, mapped into the valid range 1..=268,435,455.
///
/// It is a function of the filter text alone, never a counter, so it is the same in every
/// page load and every tab. That matters because a broker keeps a persistent session's
/// subscriptions, and the identifiers they were made with, across our reconnects: the
/// messages queued for a resumed session carry identifiers given by an earlier page load,
/// and this load must read them the same way. Two filters may share an identifier; a
/// message then names only those of them that match its topic
/// (`IncomingMessage::via`), which tells them apart unless both match.
pub fn subscription_id(filter: &str) -> usize {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in filter.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash % MAX_SUBSCRIPTION_ID + 1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_level_and_dollar_topics() {
        assert!(matches("sport/#", "sport"));
        assert!(!matches("#", "$SYS/uptime"));
        assert!(matches("$SYS/#", "$SYS/uptime"));
    }
}
