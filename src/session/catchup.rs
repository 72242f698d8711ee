//! Catch-up, driven: the rules (asking, answering after a random delay with only what no
//! answer held, accepting answers) are the core's (`chat::Session`, its `catchup` module).
//! The core also says when a room asks (`StoreOp::ReadForAsk`); this file asks once the
//! room's stored history is in its log (so `since` is right), reads the history an answer
//! needs, and merges accepted answers into the rooms' logs and history.

use chat::catchup::{Due, Entry};
use chat::{decode_payload, Payload, RoomName};
use leptos::prelude::*;
use mqtt_core::IncomingMessage;

use super::ChatSession;
use crate::browser::{random_hex, wall_clock_ms};
use crate::persist::history;
use chat::session::Shown;

impl ChatSession {
    /// Ask `room` what was said since a minute before the newest message this browser
    /// holds of it: once its stored history is in the log, so `since` is right and what is
    /// stored already does not come back as new. (When to ask is the core's.)
    pub(super) fn ask_after_history(&self, room: RoomName) {
        let session = *self;
        leptos::task::spawn_local(async move {
            if let Some(load) = session.history_of(&room) {
                load.await;
            }
            session.send_request(&room);
        });
    }

    fn send_request(&self, room: &RoomName) {
        let Ok(id) = random_hex(8) else {
            return;
        };
        let newest = self
            .with_room_log_untracked(room, |log| {
                log.rows()
                    .filter(|r| r.kind == chat::RowKind::Chat)
                    .map(|r| r.received_at)
                    .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))))
            })
            .flatten();
        self.core
            .try_update_value(|c| c.handle_ask(wall_clock_ms(), room, id, newest));
        self.drive();
    }

    /// A request or an answer in `room` (the core's rules).
    pub(super) fn on_catch_up(&self, room: RoomName, message: &IncomingMessage) {
        if message.retain {
            return;
        }
        let random = js_sys::Math::random();
        self.core.try_update_value(|c| {
            c.handle_catch_up(wall_clock_ms(), room, &message.payload, random)
        });
        self.drive();
    }

    /// Answered messages into the room's log, marked, each once; the new ones are kept and
    /// counted unread (called from `drive`, which carries out what the core says next).
    pub(super) fn merge_catch_up(&self, room: &RoomName, entries: Vec<Entry>) {
        let author = self.author.try_get_value().unwrap_or_default();
        let topic = room.chat_topic();
        for entry in entries {
            let payload = entry.payload.into_bytes();
            let decoded = decode_payload(&payload);
            let id = match &decoded {
                Payload::Chat(m) if m.react.is_some() => {
                    self.on_reaction(room, m, &payload, entry.at);
                    continue;
                }
                Payload::Chat(m) => m.id.clone(),
                Payload::Raw { .. } => None,
            };
            // A message without an id (a plain MQTT client's) is recognised by its words:
            // shown already, it is not shown again.
            if id.is_none() && self.shows_same(room, &decoded) {
                continue;
            }
            let new = self
                .with_room_log(room, |log| {
                    log.merge(vec![(payload.clone(), entry.at, None)], &author, true)
                })
                .unwrap_or(0);
            if new == 0 {
                continue;
            }
            let shown = Shown {
                topic: &topic,
                payload: &payload,
                id: id.as_deref(),
                at: entry.at,
                own: false,
                words: None,
            };
            self.core
                .try_update_value(|c| c.handle_shown(wall_clock_ms(), room, shown));
        }
    }

    /// The room shows a row with these words already.
    fn shows_same(&self, room: &RoomName, payload: &Payload) -> bool {
        let (name, text) = match payload {
            Payload::Chat(m) => (m.name.as_str(), m.message.as_str()),
            Payload::Raw { text, .. } => ("", text.as_str()),
        };
        self.with_room_log_untracked(room, |log| {
            log.rows()
                .any(|r| r.text == text && (name.is_empty() || r.name == name))
        })
        .unwrap_or(false)
    }

    /// Read what we keep of the room for an answer the core has due, and hand it back:
    /// the core sends what the answers so far do not hold.
    pub(super) async fn read_for_answer(self, due: Due) {
        let db = self
            .store
            .try_with_value(|s| s.db.clone().filter(|_| s.keep_history))
            .flatten();
        let Some(db) = db else {
            return;
        };
        // The messages, then the reactions: each its own newest `limit`, so a flood of
        // reactions never crowds the messages out of an answer.
        let topic = due.room.chat_topic();
        for topic in [topic.clone(), chat::reactions_topic(&topic)] {
            let Ok(loaded) = history::load(&db, &topic).await else {
                return;
            };
            let stored = loaded.messages.into_iter().filter_map(|m| {
                Some(Entry {
                    uid: m.uid,
                    at: m.at,
                    payload: String::from_utf8(m.payload).ok()?,
                })
            });
            if self
                .core
                .try_update_value(|c| c.handle_read_for_answer(&due, stored))
                .is_some()
            {
                self.drive();
            }
        }
    }
}
