//! Typing: this tab tells the open room it is typing (QoS 0, never retained, at most one
//! publish per 2 s: [`TypingSender`]), and shows who else types in the open room (one
//! [`Typing`] per room). Signals carry how long they hold, so a late or repeated one never
//! keeps a name up past five seconds after that person's last key.

use std::collections::HashMap;

use super::{Session, Transmit, ViewChange};
use crate::room::RoomName;
use crate::typing::{decode_typing, Typing, TypingSender, TypingSignal};

/// Who types where, and what this tab says of itself.
#[derive(Clone, Debug, Default)]
pub(super) struct TypingPart {
    sender: TypingSender,
    rooms: HashMap<RoomName, Typing>,
    /// The room typing is said to and shown for.
    open: RoomName,
    /// The name given with the last keystroke (a trailing publish goes under it).
    name: String,
    /// The open room's typing line, as last given to the view.
    text: String,
}

impl TypingPart {
    /// When the sender's trailing publish or the open room's next expiry is due.
    pub(super) fn poll_timeout(&self) -> Option<f64> {
        let expiry = self.rooms.get(&self.open).and_then(Typing::poll_timeout);
        [self.sender.poll_timeout(), expiry]
            .into_iter()
            .flatten()
            .min_by(f64::total_cmp)
    }
}

impl Session {
    /// This browser's person id: in its status, and its own typing signals are never shown.
    pub fn set_person(&mut self, person: &str) {
        person.clone_into(&mut self.person);
    }

    /// The open room's typing line: "", "Ann is typing…", …
    pub fn typing_text(&self) -> &str {
        &self.typing.text
    }

    /// `room` is open now: typing is said to it, afresh, and shown for it.
    pub(super) fn handle_room_opened(&mut self, now: f64, room: &RoomName) {
        if &self.typing.open != room {
            self.typing.open = room.clone();
            self.typing.sender = TypingSender::default();
        }
        self.refresh_typing(now);
    }

    /// `room` was left: whoever typed there is forgotten.
    pub(super) fn forget_room(&mut self, room: &RoomName) {
        self.typing.rooms.remove(room);
    }

    /// The user typed in the message box, as `name`.
    pub fn handle_keystroke(&mut self, now: f64, name: &str) {
        name.trim().clone_into(&mut self.typing.name);
        if let Some(expires_in) = self.typing.sender.keystroke(now) {
            self.say_typing(expires_in);
        }
    }

    fn say_typing(&mut self, expires_in: f64) {
        let name = match self.typing.name.as_str() {
            "" => "Someone".to_owned(),
            name => name.to_owned(),
        };
        let signal = TypingSignal {
            person: self.person.clone(),
            name,
            expires_in,
        };
        self.transmits.push_back(Transmit::Typing {
            topic: self.typing.open.typing_topic(),
            payload: signal.to_json(),
            expires_in,
        });
    }

    /// A typing signal (`payload`) arrived for `room`, not retained (typing is only live).
    /// A malformed one, or one for a room not joined, is ignored.
    pub fn handle_typing(&mut self, now: f64, room: RoomName, payload: &[u8]) {
        if !self.rooms().is_joined(&room) {
            return;
        }
        let Ok(signal) = decode_typing(payload) else {
            return;
        };
        let me = self.person.clone();
        self.typing
            .rooms
            .entry(room)
            .or_default()
            .signal(signal, &me, now);
        self.refresh_typing(now);
    }

    /// A chat message from `name` arrived in `room`: they stopped typing.
    pub fn handle_chat_from(&mut self, now: f64, room: &RoomName, name: &str) {
        if let Some(typing) = self.typing.rooms.get_mut(room) {
            typing.message_from(None, name);
            self.refresh_typing(now);
        }
    }

    /// The user sent a message: what they typed needs no trailing "typing" (the others hide
    /// the line when the message arrives).
    pub(super) fn typing_sent(&mut self) {
        self.typing.sender.sent();
    }

    /// Time passed: the trailing publish, and names whose signals expired.
    pub(super) fn typing_timeout(&mut self, now: f64) {
        if let Some(expires_in) = self.typing.sender.handle_timeout(now) {
            self.say_typing(expires_in);
        }
        self.refresh_typing(now);
    }

    /// Forget expired signals, and give the view the open room's line if it changed.
    fn refresh_typing(&mut self, now: f64) {
        for typing in self.typing.rooms.values_mut() {
            typing.expire(now);
        }
        let text = self
            .typing
            .rooms
            .get(&self.typing.open)
            .map(|t| t.text(now))
            .unwrap_or_default();
        if text != self.typing.text {
            self.typing.text = text;
            self.view(ViewChange::Typing);
        }
    }
}
