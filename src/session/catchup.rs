//! Catch-up without a server: a tab that joins a room, or whose broker session was lost,
//! asks the room (`chat/catchup/<room topic>`) for recent messages; tabs that keep them
//! answer from their stored history after a random delay, sending only what the answers
//! already sent do not hold. The rules are the domain's (`chat::catchup`); this module does
//! the publishing, the timers and the storage reads.
//!
//! Not covered: a room where no tab with history is online gets no answer.

use chat::catchup::{self, Due, Entry, Packet, Requests, Responder};
use chat::{decode_payload, Payload, RoomName};
use leptos::prelude::*;
use mqtt_core::{IncomingMessage, QoS};

use super::render::at_time;
use super::ChatSession;
use crate::browser::{random_hex, wall_clock_ms};
use crate::persist::history;
use crate::persist::writer::Op;
use chat::pace::Wake;

/// How far before the newest message we hold a request reaches back: messages near it may
/// have been missed by this tab while the broker restarted.
const OVERLAP_MS: f64 = 60_000.0;

#[derive(Debug, Default)]
pub(super) struct CatchUpState {
    requests: Requests,
    responder: Responder,
    wake: Wake,
}

impl ChatSession {
    /// Ask `room` what was said since a minute before the newest message this browser
    /// holds of it: once its stored history is in the log, so `since` is right and what is
    /// stored already does not come back as new. Not connected (or storage not open yet):
    /// asked once it is.
    pub(super) fn ask_catch_up(&self, room: &RoomName) {
        let ready = self.is_connected()
            && self
                .store
                .try_with_value(|s| s.storage_known)
                .unwrap_or_default();
        if !ready {
            self.unasked.try_update_value(|u| {
                if !u.contains(room) {
                    u.push(room.clone());
                }
            });
            return;
        }
        let session = *self;
        let room = room.clone();
        leptos::task::spawn_local(async move {
            if let Some(load) = session.history_of(&room) {
                load.await;
            }
            session.send_request(&room);
        });
    }

    /// The rooms waiting to ask, now that the link and storage are both up.
    pub(super) fn ask_unasked(&self) {
        if !(self.is_connected()
            && self
                .store
                .try_with_value(|s| s.storage_known)
                .unwrap_or_default())
        {
            return;
        }
        let unasked = self
            .unasked
            .try_update_value(std::mem::take)
            .unwrap_or_default();
        for room in unasked {
            if self
                .rooms
                .try_with_untracked(|r| r.is_joined(&room))
                .unwrap_or_default()
            {
                self.ask_catch_up(&room);
            }
        }
    }

    fn is_connected(&self) -> bool {
        self.connection
            .try_with_value(|c| c.as_ref().is_some_and(|c| c.is_connected()))
            .unwrap_or(false)
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
        let since = newest.map(|t| t - OVERLAP_MS);
        let now = wall_clock_ms();
        let Some(request) = self
            .catch_up
            .try_update_value(|c| c.requests.start(room.clone(), id, since, now))
        else {
            return;
        };
        let _ = self.connection.try_with_value(|c| {
            if let Some(c) = c {
                let _ = c.publish(&room.catchup_topic(), request.to_json(), QoS::AtMostOnce);
            }
        });
    }

    /// A request or an answer in `room`.
    pub(super) fn on_catch_up(&self, room: RoomName, message: &IncomingMessage) {
        if message.retain
            || !self
                .rooms
                .try_with_untracked(|r| r.is_joined(&room))
                .unwrap_or_default()
        {
            return;
        }
        let Ok(packet) = catchup::decode(&message.payload) else {
            return;
        };
        let now = wall_clock_ms();
        match packet {
            Packet::Request(request) => {
                let own = self
                    .catch_up
                    .try_with_value(|c| c.requests.is_open(&request.id));
                if own == Some(false) {
                    let random = js_sys::Math::random();
                    let taken = self
                        .catch_up
                        .try_update_value(|c| c.responder.on_request(&room, request, now, random));
                    if taken.is_some() {
                        self.schedule_answers();
                    }
                }
            }
            Packet::Answer(answer) => {
                let accepted = self
                    .catch_up
                    .try_update_value(|c| {
                        c.responder.on_answer(&room, &answer);
                        c.requests.accept(&room, answer, now)
                    })
                    .unwrap_or_default();
                if !accepted.is_empty() {
                    self.merge_catch_up(&room, accepted);
                }
            }
        }
    }

    /// Answered messages into the room's log, marked, each once; the new ones are kept.
    fn merge_catch_up(&self, room: &RoomName, entries: Vec<Entry>) {
        let author = self.author.try_get_value().unwrap_or_default();
        let topic = room.chat_topic();
        let visible = self.visible.try_get_untracked().unwrap_or_default();
        for entry in entries {
            let payload = entry.payload.into_bytes();
            let decoded = decode_payload(&payload);
            let id = match &decoded {
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
            self.store.try_update_value(|s| {
                if s.keep_history {
                    let record = s.recorder.record(&topic, &payload, id.as_deref(), entry.at);
                    s.writer.push(Op::History(record));
                }
            });
            self.update_rooms(|r| r.arrived(room, visible));
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

    /// Answer the requests whose delay is over, then wait for the next. Nothing runs once
    /// the session is gone (its values disposed): no answer, no next wake-up.
    fn schedule_answers(&self) {
        let Some(Some(at)) = self.catch_up.try_with_value(|c| c.responder.poll_timeout()) else {
            return;
        };
        if !self
            .catch_up
            .try_update_value(|c| c.wake.arm(at))
            .unwrap_or(false)
        {
            return;
        }
        let session = *self;
        at_time(at, move || {
            let Some(due) = session.catch_up.try_update_value(|c| {
                c.wake.fired();
                c.responder.due(wall_clock_ms())
            }) else {
                // The session was disposed while waiting: nothing to answer, nothing to
                // schedule.
                return;
            };
            for d in due {
                leptos::task::spawn_local(async move { session.answer(d).await });
            }
            session.schedule_answers();
        });
    }

    /// Send what we keep of the room that the answers so far do not hold.
    async fn answer(self, due: Due) {
        let db = self
            .store
            .try_with_value(|s| s.db.clone().filter(|_| s.keep_history))
            .flatten();
        let Some(db) = db else {
            return;
        };
        let Ok(loaded) = history::load(&db, &due.room.chat_topic()).await else {
            return;
        };
        let stored = loaded.messages.into_iter().filter_map(|m| {
            Some(Entry {
                uid: m.uid,
                at: m.at,
                payload: String::from_utf8(m.payload).ok()?,
            })
        });
        let candidates = catchup::candidates(stored, due.request.since, due.request.limit);
        let Some(send) = self
            .catch_up
            .try_with_value(|c| c.responder.uncovered(&due.request.id, candidates))
        else {
            return;
        };
        if send.is_empty() {
            return;
        }
        let topic = due.room.catchup_topic();
        let _ = self.connection.try_with_value(|c| {
            if let Some(c) = c {
                for chunk in catchup::encode_answer(&due.request.id, &send) {
                    let _ = c.publish(&topic, chunk, QoS::AtMostOnce);
                }
            }
        });
    }
}
