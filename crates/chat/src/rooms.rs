//! The rooms this browser has joined, the one this tab shows, and what is unread in each.
//!
//! The default room (the topic `messages`) is always joined and always first: it is where a
//! plain MQTT.js page or `mosquitto_pub -t messages` talks to this app.

use std::collections::HashMap;

use crate::room::RoomName;

/// Rooms one browser may join: each costs three subscriptions and a history.
pub const MAX_ROOMS: usize = 50;

/// Why a room could not be joined.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("You can be in at most {MAX_ROOMS} rooms. Leave one to join another.")]
    TooMany,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rooms {
    joined: Vec<RoomName>,
    open: RoomName,
    unread: HashMap<RoomName, u32>,
    /// Of the unread, those that name the user (`@name`).
    mentioned: HashMap<RoomName, u32>,
}

impl Default for Rooms {
    fn default() -> Self {
        Rooms::new(Vec::new(), None)
    }
}

impl Rooms {
    /// The rooms remembered (any order, duplicates allowed), with `open` shown and joined.
    pub fn new(saved: Vec<RoomName>, open: Option<RoomName>) -> Self {
        let mut rooms = Rooms {
            joined: vec![RoomName::default_room()],
            open: RoomName::default_room(),
            unread: HashMap::new(),
            mentioned: HashMap::new(),
        };
        for room in saved {
            let _ = rooms.join(room);
        }
        if let Some(open) = open {
            if rooms.join(open.clone()).is_ok() {
                rooms.open = open;
            }
        }
        rooms
    }

    pub fn joined(&self) -> &[RoomName] {
        &self.joined
    }

    pub fn is_joined(&self, room: &RoomName) -> bool {
        self.joined.contains(room)
    }

    pub fn open(&self) -> &RoomName {
        &self.open
    }

    /// Join `room` (at the end of the list). `Ok(true)` if it is new.
    pub fn join(&mut self, room: RoomName) -> Result<bool, JoinError> {
        if self.is_joined(&room) {
            return Ok(false);
        }
        if self.joined.len() >= MAX_ROOMS {
            return Err(JoinError::TooMany);
        }
        self.joined.push(room);
        Ok(true)
    }

    /// Leave `room`; the default room cannot be left. If it was open, the default room opens.
    /// True if it was joined.
    pub fn leave(&mut self, room: &RoomName) -> bool {
        if room.is_default() || !self.is_joined(room) {
            return false;
        }
        self.joined.retain(|r| r != room);
        self.read(room.clone());
        if &self.open == room {
            self.open = RoomName::default_room();
            self.read(self.open.clone());
        }
        true
    }

    /// Show `room` (joined or not: it is joined). Its unread count goes.
    pub fn show(&mut self, room: RoomName) -> Result<(), JoinError> {
        self.join(room.clone())?;
        self.read(room.clone());
        self.open = room;
        Ok(())
    }

    /// A new message for `room` arrived. It is unread unless it is in the open room of a tab
    /// the user is looking at.
    pub fn arrived(&mut self, room: &RoomName, visible: bool) {
        self.arrived_naming(room, visible, false);
    }

    /// [`Rooms::arrived`], for a message that names the user (`mention`) or not.
    pub fn arrived_naming(&mut self, room: &RoomName, visible: bool, mention: bool) {
        if !self.is_joined(room) || (visible && room == &self.open) {
            return;
        }
        *self.unread.entry(room.clone()).or_default() += 1;
        if mention {
            *self.mentioned.entry(room.clone()).or_default() += 1;
        }
    }

    fn read(&mut self, room: RoomName) {
        self.unread.remove(&room);
        self.mentioned.remove(&room);
    }

    /// Unread messages of `room` that name the user.
    pub fn mentions(&self, room: &RoomName) -> u32 {
        self.mentioned.get(room).copied().unwrap_or(0)
    }

    /// The user looks at the tab again: what the open room got meanwhile is read.
    pub fn seen(&mut self) {
        self.read(self.open.clone());
    }

    pub fn unread(&self, room: &RoomName) -> u32 {
        self.unread.get(room).copied().unwrap_or(0)
    }

    pub fn total_unread(&self) -> u32 {
        self.unread.values().sum()
    }

    /// The page title: `(3) MQTT chat` while hidden with something unread, `(3 · @1) MQTT
    /// chat` when one of them names the user.
    pub fn title(&self, hidden: bool) -> String {
        let mentions: u32 = self.mentioned.values().sum();
        match self.total_unread() {
            n if hidden && n > 0 && mentions > 0 => format!("({n} · @{mentions}) {TITLE}"),
            n if hidden && n > 0 => format!("({n}) {TITLE}"),
            _ => TITLE.to_owned(),
        }
    }
}

pub const TITLE: &str = "MQTT chat";

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    #[test]
    fn the_default_room_is_always_first_and_cannot_be_left() {
        let mut rooms = Rooms::new(vec![room("dev"), room("messages"), room("dev")], None);
        assert_eq!(rooms.joined(), &[RoomName::default_room(), room("dev")]);
        assert!(!rooms.leave(&RoomName::default_room()));
        assert!(rooms.leave(&room("dev")));
        assert_eq!(rooms.joined(), &[RoomName::default_room()]);
    }

    #[test]
    fn opening_a_room_joins_it_and_reads_it() {
        let mut rooms = Rooms::new(vec![], Some(room("ops")));
        assert_eq!(rooms.open(), &room("ops"));
        rooms.arrived(&room("messages"), true);
        rooms.arrived(&room("messages"), true);
        rooms.arrived(&room("ops"), true);
        assert_eq!(rooms.unread(&room("messages")), 2);
        assert_eq!(rooms.unread(&room("ops")), 0);
        rooms.show(room("messages")).unwrap();
        assert_eq!(rooms.unread(&room("messages")), 0);
        rooms.arrived(&room("nowhere"), true);
        assert_eq!(rooms.total_unread(), 0);
    }

    #[test]
    fn a_hidden_tab_counts_the_open_room_too_and_the_title_says_so() {
        let mut rooms = Rooms::default();
        assert_eq!(rooms.title(true), "MQTT chat");
        rooms.arrived(&RoomName::default_room(), false);
        rooms.arrived(&RoomName::default_room(), false);
        assert_eq!(rooms.title(true), "(2) MQTT chat");
        assert_eq!(rooms.title(false), "MQTT chat");
        rooms.seen();
        assert_eq!(rooms.title(true), "MQTT chat");
    }

    #[test]
    fn leaving_the_open_room_opens_the_default_one() {
        let mut rooms = Rooms::new(vec![room("a")], Some(room("b")));
        rooms.arrived(&room("a"), true);
        assert!(rooms.leave(&room("b")));
        assert_eq!(rooms.open(), &RoomName::default_room());
        assert_eq!(rooms.unread(&room("a")), 1);
        assert!(!rooms.leave(&room("b")));
    }

    #[test]
    fn joining_is_bounded() {
        let mut rooms = Rooms::default();
        for i in 1..MAX_ROOMS {
            assert_eq!(rooms.join(room(&format!("r{i}"))), Ok(true));
        }
        assert_eq!(rooms.join(room("one-more")), Err(JoinError::TooMany));
        assert_eq!(rooms.join(room("r1")), Ok(false));
        assert!(rooms.show(room("one-more")).is_err());
        assert_eq!(rooms.open(), &RoomName::default_room());
    }

    #[test]
    fn mentions_are_counted_in_the_title_and_read_with_the_room() {
        let mut rooms = Rooms::new(vec![room("ops")], None);
        rooms.arrived(&room("ops"), false);
        rooms.arrived_naming(&room("ops"), false, true);
        rooms.arrived_naming(&room("messages"), false, true);
        assert_eq!(rooms.title(true), format!("(3 · @2) {TITLE}"));
        assert_eq!(rooms.title(false), TITLE);
        rooms.show(room("ops")).unwrap();
        assert_eq!(rooms.mentions(&room("ops")), 0);
        assert_eq!(rooms.title(true), format!("(1 · @1) {TITLE}"));
        rooms.show(room("messages")).unwrap();
        assert_eq!(rooms.title(true), TITLE);
        // Looked at, nothing counts.
        rooms.arrived_naming(&room("messages"), true, true);
        assert_eq!(rooms.mentions(&room("messages")), 0);
    }
}
