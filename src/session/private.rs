//! Private rooms (issue 24) in the session: which rooms are private, the keys this tab holds
//! (in memory only), the salts heard, and one worker that derives keys, opens sealed
//! messages and seals own ones, one job at a time, so that order is kept.
//!
//! The cipher is the browser's (`browser::crypto`); the format is `chat::private`. Where the
//! data goes:
//! - A sealed message from the broker waits for the worker, then goes the normal way
//!   (`on_chat_payload`) as what it opened to; its wire bytes, still sealed, are what the
//!   history keeps. One that does not open is a sealed row (`tr.undecryptable`).
//! - Rows that arrive sealed any other way (history, catch-up, a restored outbox), and rows
//!   that did not open before a key came, are opened in place ([`MessageLog::unseal`]).
//! - An own message is sealed before the core takes it (`ChatMessage::sealed`): the outbox,
//!   the history and the wire only ever hold it sealed.
//! - Typing signals are not sent in a private room.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use chat::private::{SaltRecord, Sealed, SALT_BYTES};
use chat::{decode_payload, ChatMessage, RoomName};
use leptos::prelude::*;
use mqtt_core::{IncomingMessage, PublishOptions, QoS};

use super::{ChatSession, SendError};
use crate::browser::crypto::{self, CryptoError, RoomKey};
use crate::browser::web_storage::{self, Area};

use crate::browser::scope::{scoped, PRIVATE_ROOMS_KEY};
/// The most salts other than the room's that its passphrase is derived with in one tab:
/// each costs 600,000 rounds, so a peer sending under ever new salts cannot hold the worker.
const MAX_KEYS_PER_ROOM: usize = 8;
/// How long a new key waits for the room's retained salt to arrive before making one.
const SALT_WAIT_MS: u32 = 3_000;

/// Where a private room's key stands, for the view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// No key in this tab: its messages show as undecryptable.
    Missing,
    /// Being derived (PBKDF2 takes a moment).
    Deriving,
    /// Ready: messages open and own ones are sealed.
    Ready,
    /// Could not be made: why, in words.
    Failed(String),
}

/// What the session keeps of private rooms.
#[derive(Default)]
pub(super) struct Private {
    secrets: HashMap<RoomName, Secret>,
    salts: HashMap<RoomName, SaltRecord>,
    jobs: VecDeque<Job>,
    working: bool,
    /// Sealed rows tried with the keys held (by row key), so a row no key opens is not
    /// tried again until a new key comes.
    tried: HashMap<RoomName, HashSet<u64>>,
}

/// This tab's keys for one room.
struct Secret {
    /// Kept while the tab lives, to derive the key of a salt someone else made.
    passphrase: Option<String>,
    /// Keys that opened something here, or made with the room's salt.
    keys: Vec<RoomKey>,
    /// Salts derived for that opened nothing: not derived for again.
    failed_salts: HashSet<[u8; SALT_BYTES]>,
    /// Derivations for salts other than the room's, at most [`MAX_KEYS_PER_ROOM`].
    derivations: usize,
    /// The key own messages are sealed with.
    sealing: Option<RoomKey>,
}

enum Job {
    /// Make the room's key from its passphrase.
    Derive(RoomName),
    /// Open a sealed message that arrived.
    Open {
        room: RoomName,
        author: Option<String>,
        message: IncomingMessage,
        sealed: Sealed,
    },
    /// Open the room's sealed rows.
    Unseal(RoomName),
    /// Seal and send an own message.
    Send {
        room: RoomName,
        message: ChatMessage,
        now: f64,
    },
}

/// The rooms remembered as private in this browser.
pub(super) fn saved_private_rooms() -> BTreeSet<RoomName> {
    web_storage::get::<Vec<RoomName>>(Area::Local, &scoped(PRIVATE_ROOMS_KEY))
        .unwrap_or_default()
        .into_iter()
        .collect()
}

impl ChatSession {
    /// Whether `room` is private in this browser.
    pub fn is_private(&self, room: &RoomName) -> bool {
        self.private_rooms
            .try_with_untracked(|r| r.contains(room))
            .unwrap_or(false)
    }

    /// Whether a typing topic is a private room's.
    pub(super) fn is_private_topic(&self, topic: &str) -> bool {
        matches!(chat::route(topic), Some(chat::Route::Typing(room)) if self.is_private(&room))
    }

    /// Make `room` (joined) private with `passphrase`, or give it that passphrase: its key
    /// is derived (with the room's salt, made and published if there is none), then its
    /// sealed rows open.
    pub fn set_room_passphrase(&self, room: RoomName, passphrase: String) {
        self.private_rooms.try_update(|r| {
            r.insert(room.clone());
        });
        self.save_private_rooms();
        self.private.try_update_value(|p| {
            p.secrets.insert(
                room.clone(),
                Secret {
                    passphrase: Some(passphrase),
                    keys: Vec::new(),
                    failed_salts: HashSet::new(),
                    derivations: 0,
                    sealing: None,
                },
            );
            p.tried.remove(&room);
        });
        self.set_key_state(&room, KeyState::Deriving);
        self.queue(Job::Derive(room));
    }

    /// Forget `room`'s key in this tab: its messages show as undecryptable again on the next
    /// load; it stays private.
    pub fn forget_room_key(&self, room: &RoomName) {
        self.private.try_update_value(|p| {
            p.secrets.remove(room);
            p.tried.remove(room);
        });
        self.set_key_state(room, KeyState::Missing);
    }

    /// The room left: no longer private here, its key forgotten.
    pub(super) fn private_room_left(&self, room: &RoomName) {
        self.forget_room_key(room);
        self.private_rooms.try_update(|r| {
            r.remove(room);
        });
        self.key_states.try_update(|k| {
            k.remove(room);
        });
        self.save_private_rooms();
    }

    fn save_private_rooms(&self) {
        let rooms: Vec<RoomName> = self
            .private_rooms
            .try_with_untracked(|r| r.iter().cloned().collect())
            .unwrap_or_default();
        if rooms.is_empty() {
            web_storage::remove(Area::Local, &scoped(PRIVATE_ROOMS_KEY));
        } else {
            let _ = web_storage::set(Area::Local, &scoped(PRIVATE_ROOMS_KEY), &rooms);
        }
    }

    fn set_key_state(&self, room: &RoomName, state: KeyState) {
        self.key_states.try_update(|k| {
            k.insert(room.clone(), state);
        });
    }

    /// A room's retained salt record arrived. It does not make the room private here: only
    /// a passphrase does (anyone may publish a record, on any room).
    pub(super) fn on_salt(&self, room: RoomName, payload: &[u8]) {
        match SaltRecord::read(payload) {
            Ok(record) => {
                self.private.try_update_value(|p| {
                    p.salts.insert(room, record);
                });
            }
            Err(e) => {
                // An empty payload is a cleared record: nothing to say.
                if !payload.is_empty() {
                    web_sys::console::warn_1(
                        &format!("{}: the room's salt record {e}; ignored", room.as_str()).into(),
                    );
                }
            }
        }
    }

    /// A sealed message for `room` arrived: opened by the worker if this tab has the room's
    /// passphrase, else shown sealed at once. `false` if it is not sealed (the caller takes
    /// it the plain way).
    pub(super) fn on_sealed(
        &self,
        room: &RoomName,
        author: Option<&str>,
        message: &IncomingMessage,
    ) -> bool {
        let Some(Ok(sealed)) = Sealed::read(&message.payload) else {
            return false;
        };
        let has_secret = self
            .private
            .try_with_value(|p| p.secrets.contains_key(room))
            .unwrap_or(false);
        if !has_secret {
            return false;
        }
        self.queue(Job::Open {
            room: room.clone(),
            author: author.map(str::to_owned),
            message: message.clone(),
            sealed,
        });
        true
    }

    /// The room's log changed: sealed rows not tried with the keys held are opened soon.
    pub(super) fn unseal_soon(&self, room: &RoomName) {
        let has_keys = self
            .private
            .try_with_value(|p| p.secrets.get(room).is_some_and(|s| !s.keys.is_empty()))
            .unwrap_or(false);
        if !has_keys {
            return;
        }
        let untried = self
            .private
            .try_with_value(|p| {
                let none = HashSet::new();
                let tried = p.tried.get(room).unwrap_or(&none);
                self.with_room_log_untracked(room, |log| log.has_sealed_besides(tried))
            })
            .flatten()
            .unwrap_or(false);
        let queued = self
            .private
            .try_with_value(|p| {
                p.jobs
                    .iter()
                    .any(|j| matches!(j, Job::Unseal(r) if r == room))
            })
            .unwrap_or(false);
        if untried && !queued {
            self.queue(Job::Unseal(room.clone()));
        }
    }

    /// Send `message` in the open room, which is private: sealed first. Refused, the text
    /// kept, while this tab has no key for it.
    pub(super) fn send_private(
        &self,
        room: &RoomName,
        message: ChatMessage,
        now: f64,
    ) -> Result<(), SendError> {
        let ready = self
            .private
            .try_with_value(|p| p.secrets.get(room).is_some_and(|s| s.sealing.is_some()))
            .unwrap_or(false);
        if !ready {
            return Err(SendError::NoKey);
        }
        self.queue(Job::Send {
            room: room.clone(),
            message,
            now,
        });
        Ok(())
    }

    fn queue(&self, job: Job) {
        let start = self
            .private
            .try_update_value(|p| {
                p.jobs.push_back(job);
                !std::mem::replace(&mut p.working, true)
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

    /// The worker's chunk did not come: every room waiting for a key says so (its job stays
    /// queued for the next try: the next key, message or send), and the sealed messages
    /// waiting show sealed at once, to open in place once it comes.
    fn private_chunk_failed(&self, why: String) {
        let (waiting, arrived) = self
            .private
            .try_update_value(|p| {
                p.working = false;
                let mut waiting = Vec::new();
                let mut arrived = Vec::new();
                for job in std::mem::take(&mut p.jobs) {
                    match job {
                        Job::Derive(room) => {
                            waiting.push(room.clone());
                            p.jobs.push_back(Job::Derive(room));
                        }
                        Job::Open {
                            room,
                            author,
                            message,
                            ..
                        } => arrived.push((room, author, message)),
                        other => p.jobs.push_back(other),
                    }
                }
                (waiting, arrived)
            })
            .unwrap_or_default();
        for room in waiting {
            self.set_key_state(&room, KeyState::Failed(why.clone()));
        }
        for (room, author, message) in arrived {
            let payload = decode_payload(&message.payload);
            self.on_chat_payload(room, author.as_deref(), &message, payload);
        }
    }

    /// The worker (in its chunk, `split::private_worker`): one job after another until
    /// none is left.
    pub async fn private_work(self) {
        loop {
            let job = self.private.try_update_value(|p| {
                let job = p.jobs.pop_front();
                if job.is_none() {
                    p.working = false;
                }
                job
            });
            let Some(Some(job)) = job else {
                return;
            };
            match job {
                Job::Derive(room) => self.derive(room).await,
                Job::Open {
                    room,
                    author,
                    message,
                    sealed,
                } => {
                    let plain = self.open_sealed(&room, &sealed).await;
                    let payload = match &plain {
                        Some(plain) => {
                            // The same sealed payload again (history, catch-up) is this one.
                            let wire = String::from_utf8_lossy(&message.payload).into_owned();
                            self.with_room_log(&room, |log| log.saw_sealed(&wire));
                            decode_payload(plain)
                        }
                        None => decode_payload(&message.payload),
                    };
                    self.on_chat_payload(room, author.as_deref(), &message, payload);
                }
                Job::Unseal(room) => self.unseal(&room).await,
                Job::Send { room, message, now } => self.seal_and_send(room, message, now).await,
            }
        }
    }

    /// What `sealed` holds in `room`, opened with a key held for its salt, or with one
    /// derived for it from the passphrase (someone else made the room's salt). A derived key
    /// is kept only once it opens something; each room derives for at most
    /// [`MAX_KEYS_PER_ROOM`] salts, so a peer sending under ever new salts cannot hold the
    /// worker.
    async fn open_sealed(&self, room: &RoomName, sealed: &Sealed) -> Option<Vec<u8>> {
        let (held, passphrase, rounds) = self
            .private
            .try_update_value(|p| {
                let record = p.salts.get(room).cloned();
                let secret = p.secrets.get_mut(room)?;
                if let Some(key) = secret.keys.iter().find(|k| k.salt == sealed.salt) {
                    return Some((Some(key.clone()), None, 0));
                }
                let salt = sealed.salt?;
                if secret.derivations >= MAX_KEYS_PER_ROOM || !secret.failed_salts.insert(salt) {
                    return None;
                }
                secret.derivations += 1;
                // The rounds the room's record names, for its salt; the default for another.
                let rounds = record
                    .filter(|r| r.salt == salt)
                    .map_or(chat::private::PBKDF2_ITERATIONS, |r| r.iterations);
                Some((None, secret.passphrase.clone(), rounds))
            })
            .flatten()?;
        if let Some(key) = held {
            return crypto::open(&key, room, sealed).await.ok();
        }
        let salt = sealed.salt?;
        let key = crypto::derive(&passphrase?, &salt, rounds).await.ok()?;
        let plain = crypto::open(&key, room, sealed).await.ok()?;
        self.private.try_update_value(|p| {
            if let Some(secret) = p.secrets.get_mut(room) {
                secret.failed_salts.remove(&salt);
                secret.keys.push(key);
            }
        });
        Some(plain)
    }

    async fn derive(&self, room: RoomName) {
        let Some(passphrase) = self
            .private
            .try_with_value(|p| p.secrets.get(&room).and_then(|s| s.passphrase.clone()))
            .flatten()
        else {
            return;
        };
        let record = match self.room_salt(&room).await {
            Ok(record) => record,
            Err(e) => {
                self.set_key_state(&room, KeyState::Failed(e.to_string()));
                return;
            }
        };
        match crypto::derive(&passphrase, &record.salt, record.iterations).await {
            Ok(key) => {
                let held = self
                    .private
                    .try_update_value(|p| {
                        let secret = p.secrets.get_mut(&room)?;
                        secret.keys.push(key.clone());
                        secret.sealing = Some(key);
                        p.tried.remove(&room);
                        Some(())
                    })
                    .flatten();
                if held.is_some() {
                    self.set_key_state(&room, KeyState::Ready);
                    self.unseal_soon(&room);
                }
            }
            Err(e) => self.set_key_state(&room, KeyState::Failed(e.to_string())),
        }
    }

    /// The room's salt: the retained record heard (waiting a moment for it after joining),
    /// or a new one, published retained for everyone who comes with the passphrase.
    async fn room_salt(&self, room: &RoomName) -> Result<SaltRecord, CryptoError> {
        for _ in 0..SALT_WAIT_MS / 100 {
            if let Some(record) = self
                .private
                .try_with_value(|p| p.salts.get(room).cloned())
                .flatten()
            {
                return Ok(record);
            }
            gloo_timers::future::TimeoutFuture::new(100).await;
        }
        let record = SaltRecord::new(crypto::random::<SALT_BYTES>()?);
        let published = self
            .connection
            .try_with_value(|c| {
                c.as_ref().map(|c| {
                    c.publish_with_options(
                        &chat::private::salt_topic(room),
                        record.to_json(),
                        QoS::AtLeastOnce,
                        PublishOptions {
                            retain: true,
                            ..Default::default()
                        },
                    )
                })
            })
            .flatten();
        match published {
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                return Err(CryptoError::Refused(format!(
                    "the room's salt could not be published: {e}"
                )))
            }
            None => {
                return Err(CryptoError::Refused(
                    "not connected, so the room's salt could not be read or published; join again once connected".to_owned(),
                ))
            }
        }
        self.private.try_update_value(|p| {
            p.salts.insert(room.clone(), record.clone());
        });
        Ok(record)
    }

    /// Open the room's sealed rows that the keys held have not been tried on.
    async fn unseal(&self, room: &RoomName) {
        let own = self.author.try_get_value().unwrap_or_default();
        let tried = self
            .private
            .try_with_value(|p| p.tried.get(room).cloned().unwrap_or_default())
            .unwrap_or_default();
        let rows = self
            .with_room_log_untracked(room, |log| log.sealed())
            .unwrap_or_default();
        for key in rows.into_iter().filter(|k| !tried.contains(k)) {
            self.private.try_update_value(|p| {
                p.tried.entry(room.clone()).or_default().insert(key);
            });
            let sealed = self
                .with_room_log_untracked(room, |log| {
                    log.sealed_payload(key)
                        .map(str::as_bytes)
                        .and_then(Sealed::read)
                })
                .flatten();
            let Some(Ok(sealed)) = sealed else {
                continue;
            };
            if let Some(plain) = self.open_sealed(room, &sealed).await {
                let payload = decode_payload(&plain);
                self.with_room_log(room, |log| log.unseal(key, payload, &own));
            }
        }
    }

    async fn seal_and_send(&self, room: RoomName, mut message: ChatMessage, now: f64) {
        let key = self
            .private
            .try_with_value(|p| p.secrets.get(&room).and_then(|s| s.sealing.clone()))
            .flatten();
        let sealed = match key {
            Some(key) => crypto::seal(&key, &room, &message.plain_json())
                .await
                .map_err(|e| e.to_string()),
            None => Err("this tab has no key for the room".to_owned()),
        };
        match sealed {
            Ok(sealed) => {
                message.sealed = Some(sealed.to_json().into());
                if let Err(e) = self.publish_own_in(&room, message, now) {
                    self.private_send_failed(format!("was not sent: {e}"));
                }
            }
            Err(words) => self.private_send_failed(format!("was not sent: {words}.")),
        }
    }

    fn private_send_failed(&self, why: String) {
        self.notices
            .try_update(|n| n.set(chat::Notice::PrivateSend { why }));
    }
}
