//! Typing: this tab tells the open room it is typing (QoS 0, never retained, at most one
//! publish per 2 s: the domain's `TypingSender`), and shows who else types in the open room
//! (one `Typing` per room). Signals carry how long they hold, so a late or repeated one
//! never keeps a name up past five seconds after that person's last key.

use std::collections::HashMap;
use std::time::Duration;

use chat::{decode_typing, RoomName, Typing, TypingSignal};
use leptos::prelude::*;
use mqtt_core::{IncomingMessage, QoS};

use super::render::at_time;
use super::ChatSession;
use crate::browser::wall_clock_ms;
use chat::pace::Wake;

/// Who types where, and when the shown text must be looked at again.
#[derive(Debug, Default)]
pub(super) struct TypingState {
    rooms: HashMap<RoomName, Typing>,
    /// A timer is set for this moment (sender trailing publish or receiver expiry).
    check: Wake,
    send: Wake,
}

impl TypingState {
    pub(super) fn forget(&mut self, room: &RoomName) {
        self.rooms.remove(room);
    }
}

impl ChatSession {
    /// The user typed in the message box.
    pub fn typed(&self) {
        let now = wall_clock_ms();
        if let Some(Some(expires_in)) = self.typing_sender.try_update_value(|t| t.keystroke(now)) {
            self.publish_typing(expires_in);
        }
        self.schedule_trailing();
    }

    fn schedule_trailing(&self) {
        let Some(at) = self
            .typing_sender
            .try_with_value(|t| t.poll_timeout())
            .unwrap_or_default()
        else {
            return;
        };
        if !self
            .typing
            .try_update_value(|t| t.send.arm(at))
            .unwrap_or(false)
        {
            return;
        }
        let session = *self;
        at_time(at, move || {
            if session
                .typing
                .try_update_value(|t| t.send.fired())
                .is_none()
            {
                return;
            }
            let now = wall_clock_ms();
            if let Some(Some(expires_in)) = session
                .typing_sender
                .try_update_value(|t| t.handle_timeout(now))
            {
                session.publish_typing(expires_in);
            }
            session.schedule_trailing();
        });
    }

    fn publish_typing(&self, expires_in: f64) {
        let name = self
            .name
            .try_with_untracked(|n| n.trim().to_owned())
            .unwrap_or_default();
        let signal = TypingSignal {
            person: self.person.try_get_value().unwrap_or_default(),
            name: if name.is_empty() {
                "Someone".to_owned()
            } else {
                name
            },
            expires_in,
        };
        let topic = self
            .rooms
            .try_with_untracked(|r| r.open().typing_topic())
            .unwrap_or_default();
        self.connection
            .try_with_value(|c| {
                if let Some(c) = c {
                    // MQTT 5: the broker drops the signal once it has expired, so a stale
                    // "is typing" is never delivered late (a queued session, a slow link).
                    let options = mqtt_core::PublishOptions {
                        retain: false,
                        message_expiry: Some(Duration::from_millis(expires_in.max(0.0) as u64)),
                    };
                    let _ =
                        c.publish_with_options(&topic, signal.to_json(), QoS::AtMostOnce, options);
                }
            })
            .unwrap_or_default();
    }

    /// Someone's typing signal for `room`. Retained ones are ignored: typing is only live.
    pub(super) fn on_typing(&self, room: RoomName, message: &IncomingMessage) {
        if message.retain
            || !self
                .rooms
                .try_with_untracked(|r| r.is_joined(&room))
                .unwrap_or_default()
        {
            return;
        }
        let Ok(signal) = decode_typing(&message.payload) else {
            return;
        };
        let me = self.person.try_get_value().unwrap_or_default();
        let now = wall_clock_ms();
        self.typing.try_update_value(|t| {
            t.rooms.entry(room).or_default().signal(signal, &me, now);
        });
        self.refresh_typing();
    }

    /// A chat message from `name` arrived in `room`: they stopped typing.
    pub(super) fn typing_stopped(&self, room: &RoomName, name: &str) {
        let changed = self
            .typing
            .try_update_value(|t| match t.rooms.get_mut(room) {
                Some(typing) => {
                    typing.message_from(None, name);
                    true
                }
                None => false,
            })
            .unwrap_or(false);
        if changed {
            self.refresh_typing();
        }
    }

    /// The open room's typing line, now; and a look again when the next one expires.
    pub(super) fn refresh_typing(&self) {
        let now = wall_clock_ms();
        let open = self
            .rooms
            .try_with_untracked(|r| r.open().clone())
            .unwrap_or_default();
        let (text, next) = self
            .typing
            .try_update_value(|t| {
                for typing in t.rooms.values_mut() {
                    typing.expire(now);
                }
                match t.rooms.get(&open) {
                    Some(typing) => (typing.text(now), typing.poll_timeout()),
                    None => (String::new(), None),
                }
            })
            .unwrap_or_default();
        if self
            .typing_text
            .try_with_untracked(|t| *t != text)
            .unwrap_or_default()
        {
            self.typing_text.try_set(text);
        }
        let Some(at) = next else {
            return;
        };
        if self
            .typing
            .try_update_value(|t| t.check.arm(at))
            .unwrap_or(false)
        {
            let session = *self;
            // A little after the expiry, so it has passed by then.
            at_time(at + 10.0, move || {
                if session
                    .typing
                    .try_update_value(|t| t.check.fired())
                    .is_some()
                {
                    session.refresh_typing();
                }
            });
        }
    }
}
