//! Catch-up without a server, the session's part (the wire rules, bounds and answer delays
//! are [`crate::catchup`]'s): a tab that joins a room, or whose broker session was lost,
//! asks the room (`chat/catchup/<room topic>`) for recent messages; tabs that keep them
//! answer from their stored history after a random delay, sending only what the answers
//! already sent do not hold.
//!
//! Not covered: a room where no tab with history is online gets no answer.

use super::{Session, StoreOp, Transmit, ViewChange};
use crate::catchup::{self, Due, Entry, Packet, Requests, Responder};
use crate::room::RoomName;

/// How far before the newest message this tab holds a request reaches back: messages near it
/// may have been missed while the broker restarted.
pub const OVERLAP_MS: f64 = 60_000.0;

#[derive(Debug, Default)]
pub(super) struct CatchUpPart {
    requests: Requests,
    responder: Responder,
}

impl CatchUpPart {
    /// When the next answer falls due.
    pub(super) fn poll_timeout(&self) -> Option<f64> {
        self.responder.poll_timeout()
    }
}

impl Session {
    /// Ask `room` what was said since [`OVERLAP_MS`] before `newest`, the newest message
    /// this browser holds of it (none: its last messages), as request `id` (random).
    pub fn handle_ask(&mut self, now: f64, room: &RoomName, id: String, newest: Option<f64>) {
        let since = newest.map(|t| t - OVERLAP_MS);
        let request = self.catch_up.requests.start(room.clone(), id, since, now);
        self.transmits.push_back(Transmit::CatchUp {
            topic: room.catchup_topic(),
            payload: request.to_json(),
        });
    }

    /// A packet on `room`'s catch-up topic, not retained (the caller checks; one for a room
    /// not joined is ignored). Another tab's request is answered after a delay `random` in
    /// [0, 1) picks, unless answers cover it first; this tab's own is not. An answer to an
    /// open request of ours gives its new entries to the view ([`ViewChange::CaughtUp`]);
    /// any answer counts as cover for the requests we would answer. Malformed: ignored.
    pub fn handle_catch_up(&mut self, now: f64, room: RoomName, payload: &[u8], random: f64) {
        if !self.rooms().is_joined(&room) {
            return;
        }
        let Ok(packet) = catchup::decode(payload) else {
            return;
        };
        match packet {
            Packet::Request(request) => {
                if !self.catch_up.requests.is_open(&request.id) {
                    self.catch_up
                        .responder
                        .on_request(&room, request, now, random);
                }
            }
            Packet::Answer(answer) => {
                self.catch_up.responder.on_answer(&room, &answer);
                let entries = self.catch_up.requests.accept(&room, answer, now);
                if !entries.is_empty() {
                    self.views.push_back(ViewChange::CaughtUp { room, entries });
                }
            }
        }
    }

    /// The answers now due: each asks storage for its room's messages
    /// ([`StoreOp::ReadForAnswer`]).
    pub(super) fn catch_up_timeout(&mut self, now: f64) {
        for due in self.catch_up.responder.due(now) {
            self.stores.push_back(StoreOp::ReadForAnswer(due));
        }
    }

    /// The stored messages of `due`'s room, read for its answer: what no answer so far
    /// holds is sent (in payloads within the wire's bounds), or nothing.
    pub fn handle_read_for_answer(&mut self, due: &Due, stored: impl Iterator<Item = Entry>) {
        let candidates = catchup::candidates(stored, due.request.since, due.request.limit);
        let send = self
            .catch_up
            .responder
            .uncovered(&due.request.id, candidates);
        let topic = due.room.catchup_topic();
        for payload in catchup::encode_answer(&due.request.id, &send) {
            self.transmits.push_back(Transmit::CatchUp {
                topic: topic.clone(),
                payload,
            });
        }
    }
}
