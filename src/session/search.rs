//! What the search (`ui::search_panel`, a chunk) reads: every joined room's messages, as
//! this browser stored them and as they arrive while it is open, and where a chosen result
//! leads (its room opened, its row shown, marked and scrolled to).
//!
//! Stored history holds up to 1,000 messages a room, the view 500 (`VIEW_CAPACITY`), so the
//! search reads storage itself rather than the rooms' logs, and a result older than what
//! its room's log holds is put back into it when chosen (`MessageLog::reveal`).

use std::sync::Arc;

use chat::{RoomName, Row};
use leptos::prelude::*;

use super::{notify_soon, ChatSession};
use crate::persist::{history, StoreError};

/// What the search reads of the rooms' stored messages, as it comes: each room's (payload,
/// arrived at), then how it ended (`Ok(false)` when this browser keeps nothing).
pub enum StoredRead {
    Room(RoomName, Vec<(Vec<u8>, f64)>),
    /// A private room's stored sealed messages that this tab's key opened: their
    /// plaintext (issue 24: search over what this tab can decrypt).
    Opened(RoomName, Vec<(Vec<u8>, f64)>),
    Done(Result<bool, StoreError>),
}

/// Why a quote could not lead to the message it answers, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JumpError {
    #[error("The message answered is not stored in this browser.")]
    NotStored,
    #[error("The message answered could not be read from storage: {0}.")]
    Unreadable(StoreError),
}

/// Whether the search listens to the rooms' logs.
#[derive(Clone, Copy, Default)]
pub(super) struct Listening(bool);

impl ChatSession {
    /// This tab's author id (own messages carry it as `from`).
    pub fn own_author(&self) -> String {
        self.author.try_get_value().unwrap_or_default()
    }

    pub(super) fn search_listens(&self) -> bool {
        self.search.try_with_value(|l| l.0).unwrap_or_default()
    }

    /// Have every room's log keep what it gets for [`ChatSession::search_fresh`] (or stop).
    pub fn search_listen(&self, on: bool) {
        self.search.try_set_value(Listening(on));
        self.log.try_update_untracked(|log| log.listen(on));
        self.room_logs
            .try_update_value(|logs| logs.values_mut().for_each(|log| log.listen(on)));
    }

    /// The rows every room got since the last call (while listening).
    pub fn search_fresh(&self) -> Vec<(RoomName, Arc<Row>)> {
        let mut fresh: Vec<(RoomName, Arc<Row>)> = Vec::new();
        let open = self.open_room();
        if let Some(rows) = self.log.try_update_untracked(|log| log.take_fresh()) {
            fresh.extend(rows.into_iter().map(|row| (open.clone(), row)));
        }
        self.room_logs.try_update_value(|logs| {
            for (room, log) in logs.iter_mut() {
                fresh.extend(log.take_fresh().into_iter().map(|row| (room.clone(), row)));
            }
        });
        fresh
    }

    /// The rows every room's log holds now.
    pub fn search_held(&self) -> Vec<(RoomName, Arc<Row>)> {
        let mut held: Vec<(RoomName, Arc<Row>)> = Vec::new();
        let open = self.open_room();
        self.log.with_untracked(|log| {
            held.extend(log.rows().map(|row| (open.clone(), row.clone())));
        });
        self.room_logs.with_value(|logs| {
            for (room, log) in logs {
                held.extend(log.rows().map(|row| (room.clone(), row.clone())));
            }
        });
        held
    }

    /// The joined rooms.
    pub fn search_rooms(&self) -> Vec<RoomName> {
        self.rooms.with_untracked(|r| r.joined().to_vec())
    }

    /// Read what this browser stored of every joined room into `to`, room by room (see
    /// [`StoredRead`]), so the search takes in each room while the next is read.
    pub async fn search_stored(self, to: futures::channel::mpsc::UnboundedSender<StoredRead>) {
        // Storage opens at start: a search that opens first waits for it (a few seconds at
        // most; then it reads nothing, as with storage off).
        for _ in 0..100 {
            let known = self.store.try_with_value(|s| s.storage_known);
            if known != Some(false) {
                break;
            }
            gloo_timers::future::sleep(std::time::Duration::from_millis(50)).await;
        }
        let rooms = self.search_rooms();
        let db = self
            .store
            .try_with_value(|s| s.db.clone().filter(|_| s.keep_history))
            .flatten();
        let Some(db) = db else {
            let _ = to.unbounded_send(StoredRead::Done(Ok(false)));
            return;
        };
        let topics: Vec<String> = rooms.iter().map(RoomName::chat_topic).collect();
        let mut sealed = Vec::new();
        let read = history::each_payloads(&db, &topics, |i, payloads| {
            if self.is_private(&rooms[i]) {
                sealed.push((rooms[i].clone(), payloads.clone()));
            }
            let _ = to.unbounded_send(StoredRead::Room(rooms[i].clone(), payloads));
        })
        .await;
        // Private rooms' stored messages are opened after the rest are in.
        for (room, payloads) in sealed {
            let opened = self.open_stored(room.clone(), payloads).await;
            if !opened.is_empty() {
                let _ = to.unbounded_send(StoredRead::Opened(room, opened));
            }
        }
        let _ = to.unbounded_send(StoredRead::Done(read.map(|()| true)));
    }

    /// A room not shown got rows: the search, if it listens, looks (at most once a frame).
    pub(super) fn search_heard(&self) {
        if self.search_listens() {
            let tick = self.search_tick;
            notify_soon(self.search_render, move || {
                tick.try_update(|n| *n = n.wrapping_add(1));
            });
        }
    }

    /// The history was cleared: the search forgets what it read.
    pub(super) fn search_cleared(&self) {
        self.found.try_set(None);
        self.history_cleared.try_update(|n| *n = n.wrapping_add(1));
    }

    /// Mark the row `id` found and have the table scroll to it (again, if it was already).
    fn lead_to(&self, id: String) {
        self.found.try_update(|found| {
            let times = found.as_ref().map_or(0, |(_, n)| n.wrapping_add(1));
            *found = Some((id, times));
        });
    }

    /// Go to the message a reply quotes (its `data-id`): marked `found` if the open room
    /// shows it, or put back from storage if it is stored. Says why when it cannot.
    pub async fn jump_to(self, id: String) -> Result<(), JumpError> {
        let held = self
            .log
            .with_untracked(|l| l.rows().any(|r| r.dom_id() == id));
        if !held {
            let room = self.open_room();
            let db = self.store.try_with_value(|s| s.db.clone()).flatten();
            let db = db.ok_or(JumpError::NotStored)?;
            let stored = history::get(&db, &room.chat_topic(), &format!("i:{id}"))
                .await
                .map_err(JumpError::Unreadable)?
                .ok_or(JumpError::NotStored)?;
            self.with_room_log(&room, |log| {
                log.reveal(chat::row_of_own(
                    &stored.payload,
                    stored.at,
                    &self.own_author(),
                ))
            });
        }
        self.lead_to(id);
        Ok(())
    }

    /// Go to a search result: its room opened, its row in the table (put back if the log
    /// no longer holds it), marked `found` and scrolled to.
    pub fn reveal(&self, room: RoomName, row: Arc<Row>) {
        if !self.is_joined(&room) {
            return;
        }
        if self.open_room() != room {
            self.show_room(room.clone());
        }
        let session = *self;
        leptos::task::spawn_local(async move {
            // The room's stored history goes in first, so the row is not put in twice.
            if let Some(load) = session.history_of(&room) {
                load.await;
            }
            let id = row.dom_id();
            session.with_room_log(&room, |log| log.reveal(Row::clone(&row)));
            session.lead_to(id);
        });
    }
}
