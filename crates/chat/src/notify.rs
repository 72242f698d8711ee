//! Mentions and notifications, as rules: whether a message names you (`@<your name>`), and
//! whether a message should send a browser notification, by each room's setting. The
//! browser's part (permission, the Notification itself) is the app's.

use crate::room::RoomName;

/// Whether `text` names `name` as `@<name>`, case-insensitively (Unicode lower case), not
/// inside a word: `hi @ann!` names Ann; `bob@ann.org` and `@annabel` do not.
pub fn mentions(text: &str, name: &str) -> bool {
    let name = name.trim();
    if name.is_empty() || !text.contains('@') {
        return false;
    }
    let text = text.to_lowercase();
    let needle = format!("@{}", name.to_lowercase());
    text.match_indices(&needle).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + needle.len()..].chars().next();
        let word = |c: char| c.is_alphanumeric() || c == '_';
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// What a room notifies of, while the tab is hidden.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Level {
    #[default]
    Off,
    /// Messages that name you.
    Mentions,
    /// Every message from someone else.
    All,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Mentions => "mentions",
            Level::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "off" => Some(Level::Off),
            "mentions" => Some(Level::Mentions),
            "all" => Some(Level::All),
            _ => None,
        }
    }
}

/// The user's choices: a level per room they set, and for the others the default, which
/// is mentions once they turned notifications on anywhere (and off until then: the
/// permission is asked only when they turn them on).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifySettings {
    default: Level,
    /// Rooms the user set, each once.
    rooms: Vec<(String, Level)>,
}

impl NotifySettings {
    pub fn level(&self, room: &RoomName) -> Level {
        self.rooms
            .iter()
            .find(|(r, _)| r == room.as_str())
            .map_or(self.default, |(_, l)| *l)
    }

    /// Set `room` to `level`. Turning a room on makes mentions the default everywhere;
    /// turning every room's off is the user's, room by room.
    pub fn set(&mut self, room: &RoomName, level: Level) {
        if level != Level::Off {
            self.default = Level::Mentions;
        }
        match self.rooms.iter_mut().find(|(r, _)| r == room.as_str()) {
            Some((_, l)) => *l = level,
            None => self.rooms.push((room.as_str().to_owned(), level)),
        }
    }

    /// Whether anything may notify (the permission is worth having).
    pub fn any_on(&self) -> bool {
        self.default != Level::Off || self.rooms.iter().any(|(_, l)| *l != Level::Off)
    }

    /// As kept: the default on the first line, then a line per room, `<level> <room>` (a
    /// room name has no line break; no serde here, to keep the first load small).
    pub fn encode(&self) -> String {
        let mut out = self.default.as_str().to_owned();
        for (room, level) in &self.rooms {
            out.push('\n');
            out.push_str(level.as_str());
            out.push(' ');
            out.push_str(room);
        }
        out
    }

    /// What [`NotifySettings::encode`] wrote; anything unreadable in it is left out.
    pub fn decode(text: &str) -> NotifySettings {
        let mut lines = text.lines();
        let default = lines.next().and_then(Level::parse).unwrap_or_default();
        let mut settings = NotifySettings {
            default,
            rooms: Vec::new(),
        };
        for line in lines {
            let Some((level, room)) = line.split_once(' ') else {
                continue;
            };
            if let (Some(level), Ok(room)) = (Level::parse(level), RoomName::parse(room)) {
                settings.set(&room, level);
                settings.default = default;
            }
        }
        settings
    }
}

/// Whether a message from someone else in a room at `level` sends a notification: only
/// while the tab is hidden, and for every message or only one that names you.
pub fn should_notify(level: Level, mention: bool, hidden: bool) -> bool {
    hidden
        && match level {
            Level::Off => false,
            Level::Mentions => mention,
            Level::All => true,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_is_at_the_name_case_insensitive_and_not_inside_a_word() {
        for yes in [
            "@Ann hi",
            "hi @ann!",
            "(@ANN)",
            "@ann",
            "ping @Ann, @bo",
            "@ÅSA ok",
        ] {
            let name = if yes.contains("SA") { "åsa" } else { "Ann" };
            assert!(mentions(yes, name), "{yes}");
        }
        for no in ["Ann hi", "bob@ann.org", "@annabel", "@ann_b", "@an n", ""] {
            assert!(!mentions(no, "Ann"), "{no}");
        }
        assert!(
            mentions("cc @Ann Lee please", "Ann Lee"),
            "a name with a space"
        );
        assert!(!mentions("@ hi", "  "), "no name: nobody is named");
    }

    #[test]
    fn notifications_only_while_hidden_and_by_the_rooms_level() {
        assert!(
            !should_notify(Level::All, true, false),
            "never while looked at"
        );
        assert!(should_notify(Level::All, false, true));
        assert!(should_notify(Level::Mentions, true, true));
        assert!(!should_notify(Level::Mentions, false, true));
        assert!(!should_notify(Level::Off, true, true));
    }

    #[test]
    fn turning_one_room_on_makes_mentions_the_default_and_each_room_keeps_its_own() {
        let room = |n: &str| RoomName::parse(n).unwrap();
        let mut s = NotifySettings::default();
        assert_eq!(s.level(&room("ops")), Level::Off, "off until turned on");
        assert!(!s.any_on());
        s.set(&room("ops"), Level::All);
        assert_eq!(s.level(&room("ops")), Level::All);
        assert_eq!(s.level(&room("dev")), Level::Mentions);
        s.set(&room("dev"), Level::Off);
        assert_eq!(s.level(&room("dev")), Level::Off);
        assert!(s.any_on());
        assert_eq!(NotifySettings::decode(&s.encode()), s);
        assert_eq!(NotifySettings::decode(""), NotifySettings::default());
        let odd = NotifySettings::decode("loud\nall ops\nnope\nmentions bad/../room\noff dev");
        assert_eq!(odd.level(&room("ops")), Level::All);
        assert_eq!(odd.level(&room("dev")), Level::Off);
        assert_eq!(
            odd.level(&room("other")),
            Level::Off,
            "an unreadable default is off"
        );
    }
}
