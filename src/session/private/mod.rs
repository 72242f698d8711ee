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
//! - A key can come as a link (`#room=<name>&key=<base64url>`, read and taken out of the
//!   address bar at start) instead of a passphrase, and can be remembered on this device
//!   (`persist::keys`, wrapped). Search reads stored sealed messages through the worker.

mod worker;

use std::collections::VecDeque;

use chat::{ChatMessage, RoomName};
use leptos::prelude::*;
use mqtt_core::IncomingMessage;

use super::{ChatSession, SendError};
use crate::browser::scope::{scoped, PRIVATE_ROOMS_KEY, REMEMBERED_KEYS_KEY};
use crate::browser::web_storage::{self, Area};

/// Where a private room's key stands in this tab, for the view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// No key in this tab: its messages show as undecryptable.
    Missing,
    /// Being derived (PBKDF2 takes a moment).
    Deriving,
    /// Made: own messages are sealed with it, and what it opens is shown. `checked`: the
    /// room's key check says it is the room's key; without it nothing says the passphrase is
    /// the one the others use.
    Ready { checked: bool },
    /// Made, and the room's key check says it is not the room's key: a wrong passphrase.
    /// Nothing is sent with it.
    Wrong,
    /// Could not be made: why, in words.
    Failed(String),
}

impl KeyState {
    pub fn is_ready(&self) -> bool {
        matches!(self, KeyState::Ready { .. })
    }
}

/// Whether a room's key is kept on this device ("Remember on this device").
#[derive(Clone, Debug, PartialEq)]
pub enum Kept {
    No,
    Yes,
    /// Asked for, and it failed (why, in words): the key is used in this tab only.
    Failed(String),
}

/// The private rooms of this browser and their keys' states: what the view shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Privacy {
    /// The joined rooms given a passphrase in this browser (remembered; never the keys).
    rooms: Vec<RoomName>,
    keys: Vec<(RoomName, KeyState)>,
    /// The rooms whose key is remembered on this device (remembered; never the keys).
    remembered: Vec<RoomName>,
    /// The rooms whose key was to be remembered in this tab and could not be, with why
    /// (memory only): the key is used in this tab only, and the status says so.
    not_kept: Vec<(RoomName, String)>,
    /// The link of each room whose key came as a link or was made as one in this tab, to
    /// be shared (memory only, as the key).
    links: Vec<(RoomName, String)>,
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

    /// Whether `room`'s key is remembered on this device.
    pub fn is_remembered(&self, room: &RoomName) -> bool {
        self.remembered.contains(room)
    }

    /// The key link of `room`, if this tab has one to share.
    pub fn link(&self, room: &RoomName) -> Option<&str> {
        self.links
            .iter()
            .find(|(r, _)| r == room)
            .map(|(_, l)| l.as_str())
    }

    /// Whether `room`'s key is kept on this device: yes, no, or asked for and failed.
    pub fn kept(&self, room: &RoomName) -> Kept {
        if self.is_remembered(room) {
            return Kept::Yes;
        }
        self.not_kept
            .iter()
            .find(|(r, _)| r == room)
            .map_or(Kept::No, |(_, why)| Kept::Failed(why.clone()))
    }

    /// Remembering `room`'s key was asked for and failed, for `why`.
    fn not_kept(&mut self, room: &RoomName, why: String) {
        self.remembered(room, false);
        self.not_kept.push((room.clone(), why));
    }

    fn remembered(&mut self, room: &RoomName, on: bool) {
        self.remembered.retain(|r| r != room);
        self.not_kept.retain(|(r, _)| r != room);
        if on {
            self.remembered.push(room.clone());
        }
    }

    fn set_key(&mut self, room: &RoomName, state: KeyState) {
        // A new key is on its way (or none is held): an earlier failure to keep one is old.
        if matches!(state, KeyState::Deriving | KeyState::Missing) {
            self.not_kept.retain(|(r, _)| r != room);
        }
        self.keys.retain(|(r, _)| r != room);
        if state != KeyState::Missing {
            self.keys.push((room.clone(), state));
        }
    }
}

/// What happens to private rooms, for the worker, in order.
pub(super) enum Action {
    /// The user gave `room` this passphrase (it becomes private); `remember`: keep its key on
    /// this device.
    Passphrase {
        room: RoomName,
        passphrase: String,
        remember: bool,
    },
    /// `room`'s key came as a link, or was made as one.
    LinkKey {
        room: RoomName,
        key: [u8; chat::private::KEY_BYTES],
        remember: bool,
    },
    /// A key link's text (`…#room=<name>&key=<base64url>`), read in the worker's chunk:
    /// from the address at start (`room` `None`: the link names it), or pasted in place of a
    /// passphrase for `room`.
    LinkText {
        room: Option<RoomName>,
        text: String,
        remember: bool,
    },
    /// Take up the key remembered on this device for `room`.
    Restore(RoomName),
    /// The room was left, or its key forgotten in this tab (and on this device).
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
    /// Open what the search read of `room`'s stored messages (payload, arrived at): the
    /// plaintext of those the keys held open, the rest left out.
    OpenStored {
        room: RoomName,
        payloads: Vec<(Vec<u8>, f64)>,
        reply: futures::channel::oneshot::Sender<Vec<(Vec<u8>, f64)>>,
    },
}

/// The queue the worker takes its actions from.
#[derive(Default)]
pub(super) struct Queue {
    actions: VecDeque<Action>,
    /// The worker is taking them.
    working: bool,
    /// The last retained salt record of each joined room that is not private here (yet):
    /// handed to the worker when the room is given a key, so that a room joined before its
    /// passphrase is given keeps its salt and its key check.
    salts: Vec<(RoomName, Vec<u8>)>,
}

/// The largest salt record kept before a room is private (a record is about 150 bytes).
const MAX_SALT_RECORD: usize = 1024;

/// The rooms remembered as private in this browser.
pub(super) fn saved_privacy() -> Privacy {
    let names = |key| {
        web_storage::get::<Vec<String>>(Area::Local, &scoped(key))
            .unwrap_or_default()
            .iter()
            .filter_map(|r| RoomName::parse(r).ok())
            .collect::<Vec<_>>()
    };
    let rooms = names(PRIVATE_ROOMS_KEY);
    let remembered = names(REMEMBERED_KEYS_KEY)
        .into_iter()
        .filter(|r| rooms.contains(r))
        .collect();
    Privacy {
        rooms,
        keys: Vec::new(),
        remembered,
        not_kept: Vec::new(),
        links: Vec::new(),
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
    pub fn set_room_passphrase(&self, room: RoomName, passphrase: String, remember: bool) {
        self.becomes_private(&room);
        self.post(Action::Passphrase {
            room,
            passphrase,
            remember,
        });
    }

    /// Make `room` (joined) private with a new random key, shared as a link
    /// ([`Privacy::link`]).
    pub fn new_key_link(
        &self,
        room: RoomName,
        remember: bool,
    ) -> Result<(), crate::browser::NoRandomness> {
        let mut key = [0u8; chat::private::KEY_BYTES];
        getrandom::fill(&mut key).map_err(|_| crate::browser::NoRandomness)?;
        self.set_room_link_key(room, key, remember);
        Ok(())
    }

    /// Give `room` (joined) the key of a link: it becomes private with it.
    pub(super) fn set_room_link_key(
        &self,
        room: RoomName,
        key: [u8; chat::private::KEY_BYTES],
        remember: bool,
    ) {
        self.becomes_private(&room);
        self.post(Action::LinkKey {
            room,
            key,
            remember,
        });
    }

    pub(super) fn becomes_private(&self, room: &RoomName) {
        self.privacy.try_update(|p| {
            if !p.rooms.contains(room) {
                p.rooms.push(room.clone());
            }
            p.set_key(room, KeyState::Deriving);
            p.links.retain(|(r, _)| r != room);
        });
        save_privacy(self.privacy);
        // The salt record heard before the room was private goes to the worker first.
        let heard = self
            .private
            .try_update_value(|q| {
                let at = q.salts.iter().position(|(r, _)| r == room)?;
                Some(q.salts.swap_remove(at).1)
            })
            .flatten();
        if let Some(payload) = heard {
            self.post(Action::Salt(room.clone(), payload));
        }
    }

    /// At start: the keys remembered on this device are taken up, and a key link in the
    /// address (`#room=<name>&key=<base64url>`) joins its room with its key, then leaves the
    /// address bar (and this page's history entry).
    pub(super) fn private_start(&self) {
        let remembered = self
            .privacy
            .try_with_untracked(|p| p.remembered.clone())
            .unwrap_or_default();
        for room in remembered {
            self.privacy
                .try_update(|p| p.set_key(&room, KeyState::Deriving));
            self.post(Action::Restore(room));
        }
        self.key_link_in_address();
    }

    /// A key link in the address (`#room=<name>&key=<base64url>`; never the viewer's
    /// `#/watch?…`): taken out of the address bar and this page's history entry, then read
    /// in the worker. At start, and when the address changes to one.
    pub fn key_link_in_address(&self) {
        let hash = web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .unwrap_or_default();
        if !hash.starts_with("#/") && hash.contains("key=") {
            crate::browser::route::replace_hash("");
            self.post(Action::LinkText {
                room: None,
                text: hash,
                remember: false,
            });
        }
    }

    /// Give `room` (joined) the key of a key link pasted in place of a passphrase.
    pub fn set_room_key_link(&self, room: RoomName, link: String, remember: bool) {
        self.becomes_private(&room);
        self.post(Action::LinkText {
            room: Some(room),
            text: link,
            remember,
        });
    }

    /// A room's retained salt record arrived: for the worker if the room is private here,
    /// else kept until it is (the last one of each room, bounded).
    pub(super) fn on_salt(&self, room: RoomName, payload: &[u8]) {
        if self.is_private(&room) {
            self.post(Action::Salt(room, payload.to_vec()));
        } else if payload.len() <= MAX_SALT_RECORD {
            self.private.try_update_value(|q| {
                q.salts.retain(|(r, _)| *r != room);
                if !payload.is_empty() {
                    q.salts.push((room, payload.to_vec()));
                }
            });
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
        let has_key = matches!(
            self.key_state(room),
            KeyState::Deriving | KeyState::Ready { .. }
        );
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
        if !self.key_state(room).is_ready() {
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
        match self.key_state(room) {
            KeyState::Ready { .. } => {}
            KeyState::Wrong => return Err(SendError::WrongKey),
            _ => return Err(SendError::NoKey),
        }
        self.post(Action::Send {
            room: room.clone(),
            message,
            now,
        });
        Ok(())
    }

    /// Forget the room's key in this tab and on this device ("Forget key"): it stays
    /// private, what arrives from now on shows as undecryptable, and sending is refused
    /// until the passphrase is given again.
    pub fn forget_room_key(&self, room: &RoomName) {
        if !self.is_private(room) {
            return;
        }
        self.privacy.try_update(|p| {
            p.set_key(room, KeyState::Missing);
            p.links.retain(|(r, _)| r != room);
            p.remembered.retain(|r| r != room);
        });
        save_privacy(self.privacy);
        self.post(Action::Left(room.clone()));
    }

    /// The room left: no longer private here, its key forgotten.
    pub(super) fn private_room_left(&self, room: &RoomName) {
        self.privacy.try_update(|p| {
            p.rooms.retain(|r| r != room);
            p.set_key(room, KeyState::Missing);
            p.links.retain(|(r, _)| r != room);
            p.remembered.retain(|r| r != room);
        });
        self.private
            .try_update_value(|q| q.salts.retain(|(r, _)| r != room));
        save_privacy(self.privacy);
        self.post(Action::Left(room.clone()));
    }

    /// What the search read of a private room's stored messages, opened: the plaintext of
    /// those this tab's keys open (the rest cannot be searched). Nothing for a room that is
    /// not private, or whose key this tab does not hold.
    pub async fn open_stored(
        self,
        room: RoomName,
        payloads: Vec<(Vec<u8>, f64)>,
    ) -> Vec<(Vec<u8>, f64)> {
        // A key being made (or taken up from this device at start) is waited for a moment.
        for _ in 0..100 {
            if self.key_state(&room) != KeyState::Deriving {
                break;
            }
            gloo_timers::future::TimeoutFuture::new(50).await;
        }
        if !self.key_state(&room).is_ready() {
            return Vec::new();
        }
        let sealed: Vec<(Vec<u8>, f64)> = payloads
            .into_iter()
            .filter(|(p, _)| chat::private::sealed_kind(p) == Some(Ok(())))
            .collect();
        if sealed.is_empty() {
            return Vec::new();
        }
        let (reply, opened) = futures::channel::oneshot::channel();
        self.post(Action::OpenStored {
            room,
            payloads: sealed,
            reply,
        });
        opened.await.unwrap_or_default()
    }

    /// The link to share for `room`'s key, if this tab has one: this page with the broker
    /// it uses (never a password), and the key in the fragment.
    pub fn key_link(&self, room: &RoomName) -> Option<String> {
        self.privacy
            .try_with(|p| p.link(room).map(str::to_owned))
            .flatten()
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
                Action::Passphrase { room, .. }
                | Action::LinkKey { room, .. }
                | Action::LinkText {
                    room: Some(room), ..
                }
                | Action::Restore(room) => {
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
                // A search waiting for stored messages to open gets none (the sender goes).
                _ => {}
            }
        }
    }
}

/// The private rooms' names, and those with a key remembered, into localStorage (never
/// their keys).
fn save_privacy(privacy: RwSignal<Privacy>) {
    let names = |rooms: &[RoomName]| -> Vec<String> {
        rooms.iter().map(|r| r.as_str().to_owned()).collect()
    };
    let Some((rooms, remembered)) =
        privacy.try_with_untracked(|p| (names(&p.rooms), names(&p.remembered)))
    else {
        return;
    };
    for (key, names) in [
        (PRIVATE_ROOMS_KEY, rooms),
        (REMEMBERED_KEYS_KEY, remembered),
    ] {
        if names.is_empty() {
            web_storage::remove(Area::Local, &scoped(key));
        } else {
            let _ = web_storage::set(Area::Local, &scoped(key), &names);
        }
    }
}
