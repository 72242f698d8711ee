//! Typing, the driver's side: keystrokes, signals and chat messages go into the core
//! (`chat::Session`, which says the open room's typing at most once per 2 s and expires
//! the names it shows); its publishes go out at QoS 0 (see `drive`), and its line into
//! `typing_text`.

use chat::RoomName;
use leptos::prelude::*;
use mqtt_core::IncomingMessage;

use super::ChatSession;
use crate::browser::wall_clock_ms;

impl ChatSession {
    /// The user typed in the message box.
    pub fn typed(&self) {
        let name = self.name.try_get_untracked().unwrap_or_default();
        self.core
            .try_update_value(|c| c.handle_keystroke(wall_clock_ms(), &name));
        self.drive();
    }

    /// Someone's typing signal for `room`. Retained ones are ignored: typing is only live.
    pub(super) fn on_typing(&self, room: RoomName, message: &IncomingMessage) {
        if message.retain {
            return;
        }
        self.core
            .try_update_value(|c| c.handle_typing(wall_clock_ms(), room, &message.payload));
        self.drive();
    }

    /// A chat message from `name` arrived in `room`: they stopped typing.
    pub(super) fn typing_stopped(&self, room: &RoomName, name: &str) {
        self.core
            .try_update_value(|c| c.handle_chat_from(wall_clock_ms(), room, name));
        self.drive();
    }

    /// The core's typing line into the signal the view reads.
    pub(super) fn mirror_typing(&self) {
        let Some(text) = self.core.try_with_value(|c| c.typing_text().to_owned()) else {
            return;
        };
        if self
            .typing_text
            .try_with_untracked(|t| *t != text)
            .unwrap_or_default()
        {
            self.typing_text.try_set(text);
        }
    }
}
