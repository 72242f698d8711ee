//! Rooms, driven: which rooms are joined and open, what they subscribe to, when they ask for
//! catch-up and what is unread are the core's (`chat::Session`, its `rooms` module). This
//! file keeps each room's messages for the view: the open room's are in `session.log`, the
//! others' in `room_logs`; switching swaps them, so the table only ever renders one room. A
//! room's stored history is merged into its log the first time it is shown.

use chat::{ChatMessage, JoinError, MessageLog, RoomName, RoomNameError, Rooms};
use futures::future::{FutureExt, LocalBoxFuture, Shared};
use leptos::prelude::*;

use super::{ChatSession, HistoryState, VIEW_CAPACITY};
use crate::browser::scope::scoped;
use crate::browser::wall_clock_ms;
use crate::browser::web_storage::{self, Area};
use crate::config::AppConfig;
use crate::persist::history;

/// The room this tab shows, so a reload shows it again.
use crate::browser::scope::OPEN_ROOM_KEY as OPEN_KEY;
/// Joined rooms, per browser (every tab follows: see `lifecycle`).
pub(super) use crate::browser::scope::ROOMS_KEY;

/// A room's stored history being merged into its log; awaited by whoever needs it in
/// first (showing the room, asking peers for what came since).
pub(super) type HistoryLoad = Shared<LocalBoxFuture<'static, ()>>;

/// Why a room was not joined, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    #[error(transparent)]
    Name(#[from] RoomNameError),
    #[error(transparent)]
    Join(#[from] JoinError),
}

/// The rooms remembered, with the one to open: `?room=` if valid, else this tab's last.
pub(super) fn initial(config: &AppConfig) -> (Rooms, Option<RoomNameError>) {
    let saved = saved_rooms();
    let (asked, refused) = match &config.room {
        Some(Ok(room)) => (Some(room.clone()), None),
        Some(Err(e)) => (None, Some(e.clone())),
        None => (None, None),
    };
    let open = asked.or_else(|| {
        web_storage::get::<String>(Area::Session, &scoped(OPEN_KEY))
            .and_then(|name| RoomName::parse(&name).ok())
    });
    (Rooms::new(saved, open), refused)
}

/// The rooms this browser remembers (names that no longer parse are dropped).
pub(super) fn saved_rooms() -> Vec<RoomName> {
    web_storage::get::<Vec<String>>(Area::Local, &scoped(ROOMS_KEY))
        .unwrap_or_default()
        .iter()
        .filter_map(|name| RoomName::parse(name).ok())
        .collect()
}

/// A history record as filed: under its room's topic, with the author a
/// `.../from/<user>` topic proved (so a room's history is one prefix to read).
pub(super) fn filed(mut record: chat::StoredMessage) -> chat::StoredMessage {
    if let Some(chat::Route::Chat { room, author }) = chat::route(&record.topic) {
        record.topic = room.chat_topic();
        record.author = author;
    }
    record
}

impl ChatSession {
    /// Join the room named `raw` (if not yet joined) and show it.
    pub fn join_room(&self, raw: &str) -> Result<(), RoomError> {
        let room = RoomName::parse(raw)?;
        self.core
            .try_update_value(|c| c.handle_join(wall_clock_ms(), room))
            .unwrap_or(Ok(()))?;
        self.drive();
        Ok(())
    }

    /// Show a joined room.
    pub fn show_room(&self, room: RoomName) {
        self.core
            .try_update_value(|c| c.handle_show(wall_clock_ms(), room));
        self.drive();
    }

    /// Leave a room: no more of its messages, and it is forgotten by every tab.
    pub fn leave_room(&self, room: &RoomName) {
        self.core
            .try_update_value(|c| c.handle_leave(wall_clock_ms(), room));
        self.drive();
        if self.is_private(room) {
            self.private_room_left(room);
        }
    }

    /// Another tab changed the joined rooms: follow, so every tab of this browser agrees.
    pub(super) fn follow_saved_rooms(&self) {
        let saved = saved_rooms();
        self.core
            .try_update_value(|c| c.handle_saved_rooms(wall_clock_ms(), saved));
        self.drive();
    }

    /// The room this tab shows.
    pub(super) fn open_room(&self) -> RoomName {
        self.core
            .try_with_value(|c| c.rooms().open().clone())
            .unwrap_or_default()
    }

    pub(super) fn is_joined(&self, room: &RoomName) -> bool {
        self.core
            .try_with_value(|c| c.rooms().is_joined(room))
            .unwrap_or_default()
    }

    /// The core's rooms into the signal the view reads, at most once a frame (a burst into
    /// a room not shown changes its unread count with every message).
    pub(super) fn mirror_rooms(&self) {
        let (core, rooms) = (self.core, self.rooms);
        super::notify_soon(self.rooms_render, move || {
            if let Some(now) = core.try_with_value(|c| c.rooms().clone()) {
                rooms.try_set(now);
            }
        });
    }

    /// The open room is `to` now: the table renders `log`, so the old room's messages go
    /// out and the new one's in; its stored history is merged in (once).
    pub(super) fn room_shown(&self, from: RoomName, to: RoomName) {
        // A reply answers a message of the room it was begun in.
        self.replying.try_set(None);
        let incoming = self
            .room_logs
            .try_update_value(|logs| logs.remove(&to))
            .flatten()
            .unwrap_or_else(|| self.new_room_log());
        let outgoing = self
            .log
            .try_update(|log| std::mem::replace(log, incoming))
            .unwrap_or_else(|| self.new_room_log());
        self.room_logs.try_update_value(|logs| {
            logs.insert(from, outgoing);
        });
        self.ensure_history(&to);
    }

    /// A room was left (here or in another tab): its messages go from the view.
    pub(super) fn room_left(&self, room: &RoomName) {
        self.room_logs.try_update_value(|logs| {
            logs.remove(room);
        });
        self.history_loads.try_update_value(|l| {
            l.remove(room);
        });
    }

    /// Remember the joined rooms for every tab of this browser.
    pub(super) fn save_rooms(names: &[String]) {
        let _ = web_storage::set(Area::Local, &scoped(ROOMS_KEY), &names);
    }

    /// Remember the open room for this tab.
    pub(super) fn save_open(room: &RoomName) {
        let _ = web_storage::set(Area::Session, &scoped(OPEN_KEY), &room.as_str());
    }

    /// Change the log of `room` (the open one goes through the render throttle).
    pub(super) fn with_room_log<R>(
        &self,
        room: &RoomName,
        change: impl FnOnce(&mut MessageLog) -> R,
    ) -> Option<R> {
        let result = if &self.open_room() == room {
            self.update_log(change)
        } else {
            let result = self.room_logs.try_update_value(|logs| {
                change(
                    logs.entry(room.clone())
                        .or_insert_with(|| self.new_room_log()),
                )
            });
            self.search_heard();
            result
        };
        // Sealed rows (from history, catch-up, before a key) open once a key is here.
        if self.is_private(room) {
            self.unseal_soon(room);
        }
        result
    }

    /// An empty log for a room, with keys no other room's log uses.
    fn new_room_log(&self) -> MessageLog {
        let space = self
            .key_spaces
            .try_update_value(|n| {
                *n += 1;
                *n
            })
            .unwrap_or(0);
        let mut log = MessageLog::new(VIEW_CAPACITY).in_key_space(space);
        log.listen(self.search_listens());
        log
    }

    /// Read the log of `room`, without telling the view.
    pub(super) fn with_room_log_untracked<R>(
        &self,
        room: &RoomName,
        read: impl FnOnce(&MessageLog) -> R,
    ) -> Option<R> {
        if &self.open_room() == room {
            self.log.try_with_untracked(read)
        } else {
            self.room_logs
                .try_with_value(|logs| logs.get(room).map(read))
                .flatten()
        }
    }

    /// The room an own message's topic belongs to, with the author the topic names (a topic
    /// no room has: the open room).
    fn own_room(&self, topic: &str) -> (RoomName, Option<String>) {
        match chat::route(topic) {
            Some(chat::Route::Chat { room, author }) => (room, author),
            _ => (self.open_room(), None),
        }
    }

    /// One of ours, into its room (a topic no room has shows in the open one).
    pub(super) fn show_own(&self, topic: &str, message: &ChatMessage, at: f64) {
        let (room, author) = self.own_room(topic);
        self.with_room_log(&room, |log| log.push_own(message, at, author.as_deref()));
    }

    /// [`ChatSession::show_own`] for an unsent message from before a reload: ahead of the
    /// rows of `later` (messages sent while it was being read back), as on the wire.
    pub(super) fn show_own_before(
        &self,
        topic: &str,
        message: &ChatMessage,
        at: f64,
        later: &std::collections::HashSet<String>,
    ) {
        let (room, author) = self.own_room(topic);
        self.with_room_log(&room, |log| {
            log.push_own_before(message, at, author.as_deref(), |row| {
                row.id.as_ref().is_some_and(|id| later.contains(id))
            })
        });
    }

    /// Merge what this browser kept of `room` into its log (once), and say where the open
    /// room's history stands.
    pub(super) fn ensure_history(&self, room: &RoomName) {
        let is_open = &self.open_room() == room;
        let Some(load) = self.history_of(room) else {
            // Before storage is open the state stays "loading"; startup settles it.
            if is_open
                && self
                    .store
                    .try_with_value(|s| s.storage_known)
                    .unwrap_or_default()
            {
                self.history.try_set(HistoryState::Off);
            }
            return;
        };
        if is_open {
            if load.peek().is_some() {
                self.history.try_set(HistoryState::Ready);
                return;
            }
            self.history.try_set(HistoryState::Loading);
        }
        let session = *self;
        let room = room.clone();
        leptos::task::spawn_local(async move {
            load.await;
            if session.open_room() == room {
                session.history.try_set(HistoryState::Ready);
                crate::bench::history_shown();
            }
        });
    }

    /// The merge of `room`'s stored history into its log: started on first use, then
    /// shared. `None` without storage (or with history off, or before storage is open).
    pub(super) fn history_of(&self, room: &RoomName) -> Option<HistoryLoad> {
        let db = self
            .store
            .try_with_value(|s| s.db.clone().filter(|_| s.keep_history))
            .flatten()?;
        if let Some(load) = self
            .history_loads
            .try_with_value(|l| l.get(room).cloned())
            .flatten()
        {
            return Some(load);
        }
        let session = *self;
        let target = room.clone();
        let load = async move {
            match history::load(&db, &target.chat_topic()).await {
                Ok(loaded) => {
                    let author = session.author.try_get_value().unwrap_or_default();
                    let refused: Vec<(String, chat::Refusal)> = loaded
                        .messages
                        .iter()
                        .filter_map(|m| {
                            let id = m.uid.strip_prefix("i:")?;
                            Some((id.to_owned(), m.refusal.clone()?))
                        })
                        .collect();
                    if !refused.is_empty() {
                        session.core.try_update_value(|c| c.restore_marks(refused));
                        session.drive();
                    }
                    let items: Vec<(Vec<u8>, f64, Option<String>)> = loaded
                        .messages
                        .into_iter()
                        .map(|m| {
                            let author = session.vouched(m.author.as_deref()).map(str::to_owned);
                            (m.payload, m.at, author)
                        })
                        .collect();
                    session.with_room_log(&target, |log| log.merge(items, &author, false));
                    // The room's reactions, kept apart (`chat::reactions`): counted, no rows.
                    let topic = chat::reactions_topic(&target.chat_topic());
                    if let Ok(reactions) = history::load(&db, &topic).await {
                        let items = reactions
                            .messages
                            .into_iter()
                            .map(|m| (m.payload, m.at, None))
                            .collect();
                        session.with_room_log(&target, |log| log.merge(items, &author, false));
                    }
                    if loaded.skipped > 0 {
                        session
                            .notices
                            .try_update(|n| n.add_skipped(loaded.skipped));
                    }
                }
                Err(e) => {
                    session
                        .notices
                        .try_update(|n| n.set(chat::Notice::HistoryOff { why: e.to_string() }));
                }
            }
        }
        .boxed_local()
        .shared();
        self.history_loads.try_update_value(|l| {
            l.insert(room.clone(), load.clone());
        });
        leptos::task::spawn_local(load.clone());
        Some(load)
    }
}
