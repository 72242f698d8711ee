//! Rooms, the session's part: which rooms this browser has joined and which one this tab
//! shows ([`Rooms`]), what joining and leaving subscribe to, what is remembered, which room
//! asks for catch-up and when, and what is unread.
//!
//! Each room's messages (its log and its stored history) stay with the driver, which keeps
//! them for the view: [`ViewChange::Shown`] swaps the open room's log, [`ViewChange::Left`]
//! drops one.

use mqtt_core::QoS;

use super::{Session, StoreOp, Transmit, ViewChange};
use crate::notify::{mentions, should_notify, NotifySettings};
use crate::room::RoomName;
use crate::rooms::{JoinError, Rooms};
use crate::topics::verified_chat_filter;

/// The rooms' side of the session.
#[derive(Debug)]
pub(super) struct RoomsPart {
    rooms: Rooms,
    /// Rooms to ask for catch-up once the link and storage are both up.
    unasked: Vec<RoomName>,
    /// Storage has been opened, or given up on ([`Session::handle_restored`]).
    storage_known: bool,
    /// The user looks at this tab (the open room's arrivals are read, not unread).
    visible: bool,
    /// What each room notifies of while the tab is hidden.
    notify: NotifySettings,
    /// When each room last notified: at most one per [`NOTIFY_GAP_MS`], so a flood is one.
    notified_at: std::collections::HashMap<RoomName, f64>,
}

/// The least time between two notifications of one room.
pub const NOTIFY_GAP_MS: f64 = 2_000.0;

impl Default for RoomsPart {
    fn default() -> Self {
        RoomsPart {
            rooms: Rooms::default(),
            unasked: Vec::new(),
            storage_known: false,
            visible: true,
            notify: NotifySettings::default(),
            notified_at: std::collections::HashMap::new(),
        }
    }
}

/// A row just shown, for [`Session::handle_shown`].
#[derive(Clone, Copy, Debug)]
pub struct Shown<'a> {
    /// The topic it came on (filed under its room when kept).
    pub topic: &'a str,
    pub payload: &'a [u8],
    /// Its message id, if it has one.
    pub id: Option<&'a str>,
    /// When it was received (or, from a catch-up answer, first received).
    pub at: f64,
    /// One of this tab's own, back from the broker.
    pub own: bool,
    /// Name and text for a screen reader (none: not announced).
    pub words: Option<(&'a str, &'a str)>,
}

/// The subscriptions a joined room needs: its messages, plain and from signed-in users
/// (QoS 1, kept for us while away), who is typing and catch-up (QoS 0: only worth anything
/// live), and its salt record if it is private (retained; nothing comes for a plain room).
pub fn room_filters(room: &RoomName) -> [(String, QoS); 5] {
    [
        (room.chat_topic(), QoS::AtLeastOnce),
        (verified_chat_filter(room), QoS::AtLeastOnce),
        (room.typing_topic(), QoS::AtMostOnce),
        (room.catchup_topic(), QoS::AtMostOnce),
        (crate::private::salt_topic(room), QoS::AtLeastOnce),
    ]
}

impl Session {
    /// Joined rooms, the open one, unread counts.
    pub fn rooms(&self) -> &Rooms {
        &self.rooms.rooms
    }

    /// The rooms at start: those remembered (`saved`), and `rooms` with the one to open (a
    /// room from the link among them). Their subscriptions are the driver's first ones
    /// ([`room_filters`] of each joined room). A room from the link is remembered, and asks
    /// for catch-up once the link and storage are up; the others ask only if the broker
    /// kept nothing for this tab ([`Session::handle_session_lost`]).
    pub fn handle_rooms_restored(&mut self, now: f64, rooms: Rooms, saved: &[RoomName]) {
        self.rooms.rooms = rooms;
        let new = self.joined_but_not_in(saved);
        if !new.is_empty() {
            self.save_rooms();
            for room in new {
                self.ask_when_ready(room);
            }
        }
        self.joined_changed(now);
        let open = self.rooms.rooms.open().clone();
        self.handle_room_opened(now, &open);
        self.view(ViewChange::Rooms);
    }

    /// Join the room (if not yet joined) and show it.
    pub fn handle_join(&mut self, now: f64, room: RoomName) -> Result<(), JoinError> {
        if self.rooms.rooms.join(room.clone())? {
            self.joined(now, &room);
            self.save_rooms();
        }
        self.handle_show(now, room);
        Ok(())
    }

    /// Show a joined room (one not joined is ignored). Its unread count goes.
    pub fn handle_show(&mut self, now: f64, room: RoomName) {
        if !self.rooms.rooms.is_joined(&room) {
            return;
        }
        let before = self.rooms.rooms.open().clone();
        if self.rooms.rooms.show(room.clone()).is_err() {
            return;
        }
        self.view(ViewChange::Rooms);
        if before != room {
            self.opened(now, before, room);
        }
    }

    /// Leave a room (not the default one): no more of its messages, and every tab of this
    /// browser forgets it. If it was open, the default room opens. False if it was not
    /// joined.
    pub fn handle_leave(&mut self, now: f64, room: &RoomName) -> bool {
        if !self.left(now, room) {
            return false;
        }
        self.save_rooms();
        true
    }

    /// Another tab changed the rooms remembered (`saved`): follow, so every tab of this
    /// browser agrees. Nothing is written back.
    pub fn handle_saved_rooms(&mut self, now: f64, saved: Vec<RoomName>) {
        for room in &saved {
            if self.rooms.rooms.join(room.clone()) == Ok(true) {
                self.joined(now, room);
            }
        }
        for room in &self.joined_but_not_in(&saved) {
            self.left(now, room);
        }
    }

    /// The user looks at this tab, or not. Looking again reads what the open room got.
    pub fn handle_visible(&mut self, visible: bool) {
        self.rooms.visible = visible;
        if visible && self.rooms.rooms.unread(self.rooms.rooms.open()) > 0 {
            self.rooms.rooms.seen();
            self.view(ViewChange::Rooms);
        }
    }

    /// A new row is shown in `room`: the message is kept ([`StoreOp::History`]); one from
    /// someone else is unread unless it is in the open room of a tab the user looks at, and
    /// in the open room a screen reader is told its `words` (name, text), if given.
    pub fn handle_shown(&mut self, now: f64, room: &RoomName, shown: Shown<'_>) {
        self.stores.push_back(StoreOp::History {
            topic: shown.topic.to_owned(),
            payload: shown.payload.to_vec(),
            id: shown.id.map(str::to_owned),
            at: shown.at,
            refusal: None,
        });
        if !shown.own {
            self.new_row(now, room, shown.words);
        }
    }

    /// A reaction in `room` that is now the newest of its kind ([`crate::Folded::Newest`]),
    /// from the link or a catch-up answer: kept under the room's reactions topic and its key
    /// ([`crate::Reaction::key`]). It makes no row, so nothing is unread.
    pub fn handle_reacted(&mut self, room: &RoomName, payload: &[u8], key: String, at: f64) {
        self.stores.push_back(StoreOp::History {
            topic: crate::reactions::reactions_topic(&room.chat_topic()),
            payload: payload.to_vec(),
            id: Some(key),
            at,
            refusal: None,
        });
    }

    /// What each room notifies of (the user's choice, or as stored).
    pub fn handle_notify_settings(&mut self, settings: NotifySettings) {
        self.rooms.notify = settings;
    }

    pub fn notify_settings(&self) -> &NotifySettings {
        &self.rooms.notify
    }

    fn new_row(&mut self, now: f64, room: &RoomName, words: Option<(&str, &str)>) {
        let before = self.rooms.rooms.unread(room);
        let mention = words.is_some_and(|(_, text)| mentions(text, &self.presence.name));
        self.rooms
            .rooms
            .arrived_naming(room, self.rooms.visible, mention);
        if self.rooms.rooms.unread(room) != before {
            self.view(ViewChange::Rooms);
        }
        let level = self.rooms.notify.level(room);
        if let Some((name, text)) = words {
            let last = self.rooms.notified_at.get(room).copied();
            let rested = last.is_none_or(|at| now - at >= NOTIFY_GAP_MS || now < at);
            if rested && should_notify(level, mention, !self.rooms.visible) {
                self.rooms.notified_at.insert(room.clone(), now);
                self.views.push_back(ViewChange::Notify {
                    room: room.clone(),
                    name: name.to_owned(),
                    text: text.to_owned(),
                    mention,
                });
            }
        }
        if let Some((name, text)) = words {
            if self.rooms.rooms.open() == room {
                self.handle_arrived(now, name, text);
            }
        }
    }

    /// The broker kept nothing for this tab (a new session, or one it lost): every joined
    /// room asks what was said. Call before [`Session::handle_connected`].
    pub fn handle_session_lost(&mut self) {
        for room in self.rooms.rooms.joined().to_vec() {
            if !self.rooms.unasked.contains(&room) {
                self.rooms.unasked.push(room);
            }
        }
    }

    /// Joined rooms (not the default one) that `saved` does not name.
    fn joined_but_not_in(&self, saved: &[RoomName]) -> Vec<RoomName> {
        self.rooms
            .rooms
            .joined()
            .iter()
            .filter(|room| !room.is_default() && !saved.contains(room))
            .cloned()
            .collect()
    }

    /// The rooms waiting to ask, if the link and storage are both up now.
    pub(super) fn ask_unasked(&mut self) {
        if !self.can_ask() {
            return;
        }
        for room in std::mem::take(&mut self.rooms.unasked) {
            if self.rooms.rooms.is_joined(&room) {
                self.stores.push_back(StoreOp::ReadForAsk(room));
            }
        }
    }

    /// Storage is open, or given up on: rooms may ask.
    pub(super) fn rooms_storage_known(&mut self) {
        self.rooms.storage_known = true;
        self.ask_unasked();
    }

    fn can_ask(&self) -> bool {
        self.rooms.storage_known && self.presence_connected_now()
    }

    /// Ask `room` for catch-up now if the link and storage are up, else once they are.
    fn ask_when_ready(&mut self, room: RoomName) {
        if self.can_ask() {
            self.stores.push_back(StoreOp::ReadForAsk(room));
        } else if !self.rooms.unasked.contains(&room) {
            self.rooms.unasked.push(room);
        }
    }

    /// `room` was joined here or in another tab: subscribe, tell the others, catch up.
    fn joined(&mut self, now: f64, room: &RoomName) {
        for (filter, qos) in room_filters(room) {
            self.transmits.push_back(Transmit::Want { filter, qos });
        }
        self.joined_changed(now);
        self.ask_when_ready(room.clone());
        self.view(ViewChange::Rooms);
    }

    /// `room` was left here or in another tab. False if it was not joined.
    fn left(&mut self, now: f64, room: &RoomName) -> bool {
        let open_before = self.rooms.rooms.open().clone();
        if !self.rooms.rooms.leave(room) {
            return false;
        }
        if &open_before == room {
            self.opened(now, open_before, RoomName::default_room());
        }
        for (filter, _) in room_filters(room) {
            self.transmits.push_back(Transmit::Unwant { filter });
        }
        self.forget_room(room);
        self.views.push_back(ViewChange::Left(room.clone()));
        self.joined_changed(now);
        self.view(ViewChange::Rooms);
        true
    }

    /// The open room changed from `before` to `now_open`: remembered for this tab, shown,
    /// and typing is said to it.
    fn opened(&mut self, now: f64, before: RoomName, now_open: RoomName) {
        self.stores.push_back(StoreOp::SaveOpen(now_open.clone()));
        self.handle_room_opened(now, &now_open);
        self.views.push_back(ViewChange::Shown {
            from: before,
            to: now_open,
        });
        self.view(ViewChange::Presence);
    }

    /// The joined rooms changed: the others are told (presence).
    fn joined_changed(&mut self, now: f64) {
        let names = self
            .rooms
            .rooms
            .joined()
            .iter()
            .map(|room| room.as_str().to_owned())
            .collect();
        self.handle_rooms(now, names);
    }

    /// Remember the joined rooms for every tab of this browser (the default room goes
    /// without saying).
    fn save_rooms(&mut self) {
        let names = self
            .rooms
            .rooms
            .joined()
            .iter()
            .filter(|room| !room.is_default())
            .map(|room| room.as_str().to_owned())
            .collect();
        self.stores.push_back(StoreOp::SaveRooms(names));
    }
}
