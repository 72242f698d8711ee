//! Private rooms (issue 24) as the first load knows them: which rooms are private and where
//! their keys stand (for the view), and a queue of what happens to them. Everything else
//! (keys, salts, the browser's crypto) is the worker's, in a chunk fetched when a room is
//! first given a passphrase or its first sealed message arrives (`worker`,
//! `split::private_worker`).
//!
//! Where the data goes:
//! - A sealed message from the broker, in a room this tab has a passphrase for, is queued;
//!   the worker opens it and hands it on the normal way (`on_chat_payload`) as what it opened
//!   to. Its wire bytes, still sealed, are what the history keeps. One that does not open is
//!   a sealed row (`tr.undecryptable`). Without a passphrase it is a sealed row at once.
//! - Rows that arrive sealed any other way (history, catch-up, a restored outbox), and rows
//!   that did not open before a key came, are opened in place (`MessageLog::unseal`).
//! - An own message is sealed before the core takes it (`ChatMessage::sealed`): the outbox,
//!   the history and the wire only ever hold it sealed.
//! - Typing signals are not sent in a private room.

mod worker;

use std::collections::VecDeque;

use chat::{ChatMessage, RoomName};
use leptos::prelude::*;
use mqtt_core::IncomingMessage;

use super::{ChatSession, SendError};
use crate::browser::scope::{scoped, PRIVATE_ROOMS_KEY};
use crate::browser::web_storage::{self, Area};

/// Where a private room's key stands in this tab, for the view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// No key in this tab: its messages show as undecryptable.
    Missing,
    /// Being derived (PBKDF2 takes a moment).
    Deriving,
    /// Made: own messages are sealed with it, and what it opens is shown. Nothing says the
    /// passphrase is the one the others use.
    Ready,
    /// Could not be made: why, in words.
    Failed(String),
}

/// The private rooms of this browser and their keys' states: what the view shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Privacy {
    /// The joined rooms given a passphrase in this browser (remembered; never the keys).
    rooms: Vec<RoomName>,
    keys: Vec<(RoomName, KeyState)>,
}

impl Privacy {
    pub fn is_private(&self, room: &RoomName) -> bool {
        self.rooms.contains(room)
    }

    /// Where `room`'s key stands in this tab.
    pub fn key(&self, room: &RoomName) -> KeyState {
        self.keys
            .iter()
            .find(|(r, _)| r == room)
            .map_or(KeyState::Missing, |(_, k)| k.clone())
    }

    fn set_key(&mut self, room: &RoomName, state: KeyState) {
        self.keys.retain(|(r, _)| r != room);
        if state != KeyState::Missing {
            self.keys.push((room.clone(), state));
        }
    }
}

/// What happens to private rooms, for the worker, in order.
pub(super) enum Action {
    /// The user gave `room` this passphrase (it becomes private).
    Passphrase(RoomName, String),
    /// The room was left, or its key forgotten in this tab.
    Left(RoomName),
    /// The room's retained salt record.
    Salt(RoomName, Vec<u8>),
    /// A sealed message arrived in a room this tab has a passphrase for.
    Arrived {
        room: RoomName,
        author: Option<String>,
        message: IncomingMessage,
    },
    /// The room's log holds sealed rows: open those not tried yet.
    Unseal(RoomName),
    /// Seal and send an own message.
    Send {
        room: RoomName,
        message: ChatMessage,
        now: f64,
    },
}

/// The queue the worker takes its actions from.
#[derive(Default)]
pub(super) struct Queue {
    actions: VecDeque<Action>,
    /// The worker is taking them.
    working: bool,
}

/// The rooms remembered as private in this browser.
pub(super) fn saved_privacy() -> Privacy {
    let rooms = web_storage::get::<Vec<String>>(Area::Local, &scoped(PRIVATE_ROOMS_KEY))
        .unwrap_or_default()
        .iter()
        .filter_map(|r| RoomName::parse(r).ok())
        .collect();
    Privacy {
        rooms,
        keys: Vec::new(),
    }
}

impl ChatSession {
    /// Whether `room` is private in this browser.
    pub fn is_private(&self, room: &RoomName) -> bool {
        self.privacy
            .try_with_untracked(|p| p.is_private(room))
            .unwrap_or(false)
    }

    /// Whether a typing topic is a private room's.
    pub(super) fn is_private_topic(&self, topic: &str) -> bool {
        matches!(chat::route(topic), Some(chat::Route::Typing(room)) if self.is_private(&room))
    }

    fn key_state(&self, room: &RoomName) -> KeyState {
        self.privacy
            .try_with_untracked(|p| p.key(room))
            .unwrap_or(KeyState::Missing)
    }

    /// Make `room` (joined) private with `passphrase`, or give it that passphrase: its key
    /// is derived (with the room's salt, made and published if there is none), then its
    /// sealed rows open.
    pub fn set_room_passphrase(&self, room: RoomName, passphrase: String) {
        self.privacy.try_update(|p| {
            if !p.rooms.contains(&room) {
                p.rooms.push(room.clone());
            }
            p.set_key(&room, KeyState::Deriving);
        });
        save_privacy(self.privacy);
        self.post(Action::Passphrase(room, passphrase));
    }

    /// A room's retained salt record arrived: for the worker, if it runs (it asks for the
    /// record again when it needs one it missed).
    pub(super) fn on_salt(&self, room: RoomName, payload: &[u8]) {
        if self.is_private(&room) {
            self.post(Action::Salt(room, payload.to_vec()));
        }
    }

    /// A sealed message for `room`: queued for the worker if this tab has a passphrase for
    /// the room (`true`), else the caller shows it as it is, sealed.
    pub(super) fn on_sealed(
        &self,
        room: &RoomName,
        author: Option<&str>,
        message: &IncomingMessage,
    ) -> bool {
        let has_key = matches!(self.key_state(room), KeyState::Deriving | KeyState::Ready);
        if !has_key || chat::private::sealed_kind(&message.payload) != Some(Ok(())) {
            return false;
        }
        self.post(Action::Arrived {
            room: room.clone(),
            author: author.map(str::to_owned),
            message: message.clone(),
        });
        true
    }

    /// The room's log changed: if it holds sealed rows and this tab has the room's key, the
    /// worker opens those it has not tried.
    pub(super) fn unseal_soon(&self, room: &RoomName) {
        if self.key_state(room) != KeyState::Ready {
            return;
        }
        let sealed = self
            .with_room_log_untracked(room, |log| !log.sealed().is_empty())
            .unwrap_or(false);
        let queued = self
            .private
            .try_with_value(|q| {
                q.actions
                    .iter()
                    .any(|a| matches!(a, Action::Unseal(r) if r == room))
            })
            .unwrap_or(false);
        if sealed && !queued {
            self.post(Action::Unseal(room.clone()));
        }
    }

    /// Send `message` in `room`, which is private: sealed first. Refused, the text kept,
    /// while this tab has no key for it.
    pub(super) fn send_private(
        &self,
        room: &RoomName,
        message: ChatMessage,
        now: f64,
    ) -> Result<(), SendError> {
        if self.key_state(room) != KeyState::Ready {
            return Err(SendError::NoKey);
        }
        self.post(Action::Send {
            room: room.clone(),
            message,
            now,
        });
        Ok(())
    }

    /// Forget the open room's key in this tab ("Forget key"): it stays private, what arrives
    /// from now on shows as undecryptable, and sending is refused until the passphrase is
    /// given again.
    pub fn forget_room_key(&self, room: &RoomName) {
        if !self.is_private(room) {
            return;
        }
        self.privacy
            .try_update(|p| p.set_key(room, KeyState::Missing));
        self.post(Action::Left(room.clone()));
    }

    /// The room left: no longer private here, its key forgotten.
    pub(super) fn private_room_left(&self, room: &RoomName) {
        self.privacy.try_update(|p| {
            p.rooms.retain(|r| r != room);
            p.set_key(room, KeyState::Missing);
        });
        save_privacy(self.privacy);
        self.post(Action::Left(room.clone()));
    }

    fn post(&self, action: Action) {
        let start = self
            .private
            .try_update_value(|q| {
                q.actions.push_back(action);
                !std::mem::replace(&mut q.working, true)
            })
            .unwrap_or(false);
        if start {
            let session = *self;
            leptos::task::spawn_local(async move {
                match crate::split::private_worker(session).await {
                    Ok(working) => working.await,
                    Err(e) => session.private_chunk_failed(e.to_string()),
                }
            });
        }
    }

    /// The worker's chunk did not come: rooms waiting for a key say so (given their
    /// passphrase again, they try again), and the sealed messages waiting show sealed.
    fn private_chunk_failed(&self, why: String) {
        let actions = self
            .private
            .try_update_value(|q| {
                q.working = false;
                std::mem::take(&mut q.actions)
            })
            .unwrap_or_default();
        for action in actions {
            match action {
                Action::Passphrase(room, _) => {
                    self.privacy.try_update(|p| {
                        p.set_key(&room, KeyState::Failed(why.clone()));
                    });
                }
                Action::Arrived {
                    room,
                    author,
                    message,
                } => {
                    let payload = chat::decode_payload(&message.payload);
                    self.on_chat_payload(room, author.as_deref(), &message, payload);
                }
                _ => {}
            }
        }
    }
}

/// The private rooms' names into localStorage (never their keys).
fn save_privacy(privacy: RwSignal<Privacy>) {
    let rooms: Vec<String> = privacy
        .try_with_untracked(|p| p.rooms.iter().map(|r| r.as_str().to_owned()).collect())
        .unwrap_or_default();
    if rooms.is_empty() {
        web_storage::remove(Area::Local, &scoped(PRIVATE_ROOMS_KEY));
    } else {
        let _ = web_storage::set(Area::Local, &scoped(PRIVATE_ROOMS_KEY), &rooms);
    }
}
