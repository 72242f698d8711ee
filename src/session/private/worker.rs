//! The private rooms' worker, in its own chunk (`split::private_worker`): the keys this tab
//! holds (in memory only), the salts heard, and the browser's crypto. It takes the
//! session's actions (`Action`) one at a time, so order is kept.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use chat::private::{SaltRecord, Sealed, SALT_BYTES};
use chat::{decode_payload, ChatMessage, RoomName};
use leptos::prelude::*;
use mqtt_core::{IncomingMessage, PublishOptions, QoS};

use super::{Action, KeyState};
use crate::browser::crypto::{self, CryptoError, RoomKey};
use crate::session::ChatSession;

/// The most salts other than the room's that its passphrase is derived with in one tab:
/// each costs 600,000 rounds, so a peer sending under ever new salts cannot hold the worker.
const MAX_DERIVATIONS_PER_ROOM: usize = 8;
/// How long a new key waits for the room's retained salt to arrive before making one.
const SALT_WAIT_MS: u32 = 3_000;

thread_local! {
    static STATE: RefCell<State> = RefCell::default();
}

#[derive(Default)]
struct State {
    secrets: HashMap<RoomName, Secret>,
    salts: HashMap<RoomName, SaltRecord>,
    /// Sealed rows tried with the keys held (by row key), so a row no key opens is not
    /// tried again until a new key comes.
    tried: HashMap<RoomName, HashSet<u64>>,
}

/// This tab's keys for one room.
struct Secret {
    /// Kept while the tab lives, to derive the key of a salt someone else made.
    passphrase: String,
    /// Keys that opened something here, or made with the room's salt.
    keys: Vec<RoomKey>,
    /// Salts derived for that opened nothing: not derived for again.
    failed_salts: HashSet<[u8; SALT_BYTES]>,
    /// Derivations for salts other than the room's, at most [`MAX_DERIVATIONS_PER_ROOM`].
    derivations: usize,
    /// The key own messages are sealed with.
    sealing: Option<RoomKey>,
}

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

impl ChatSession {
    /// Take the session's actions one after another until none is left.
    pub async fn private_work(self) {
        loop {
            let action = self.private.try_update_value(|q| {
                let action = q.actions.pop_front();
                if action.is_none() {
                    q.working = false;
                }
                action
            });
            let Some(Some(action)) = action else {
                return;
            };
            match action {
                Action::Passphrase(room, passphrase) => self.derive(room, passphrase).await,
                Action::Left(room) => with_state(|s| {
                    s.secrets.remove(&room);
                    s.tried.remove(&room);
                }),
                Action::Salt(room, payload) => self.salt_heard(room, &payload),
                Action::Arrived {
                    room,
                    author,
                    message,
                } => self.arrived(room, author, message).await,
                Action::Unseal(room) => self.unseal(&room).await,
                Action::Send { room, message, now } => self.seal_and_send(room, message, now).await,
            }
        }
    }

    fn set_key(&self, room: &RoomName, state: KeyState) {
        self.privacy.try_update(|p| p.set_key(room, state));
    }

    fn salt_heard(&self, room: RoomName, payload: &[u8]) {
        match SaltRecord::read(payload) {
            Ok(record) => with_state(|s| {
                s.salts.insert(room, record);
            }),
            // An empty payload is a cleared record: nothing to say.
            Err(e) if !payload.is_empty() => web_sys::console::warn_1(
                &format!("{}: the room's salt record {e}; ignored", room.as_str()).into(),
            ),
            Err(_) => {}
        }
    }

    async fn arrived(&self, room: RoomName, author: Option<String>, message: IncomingMessage) {
        let plain = match Sealed::read(&message.payload) {
            Some(Ok(sealed)) => self.open_sealed(&room, &sealed).await,
            _ => None,
        };
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

    /// What `sealed` holds in `room`, opened with a key held for its salt, or with one
    /// derived for it from the passphrase (someone else made the room's salt). A derived key
    /// is kept only once it opens something; each salt is tried once, and at most
    /// [`MAX_DERIVATIONS_PER_ROOM`] of them.
    async fn open_sealed(&self, room: &RoomName, sealed: &Sealed) -> Option<Vec<u8>> {
        let (held, passphrase, rounds) = with_state(|s| {
            let record = s.salts.get(room).cloned();
            let secret = s.secrets.get_mut(room)?;
            if let Some(key) = secret.keys.iter().find(|k| k.salt == sealed.salt) {
                return Some((Some(key.clone()), String::new(), 0));
            }
            let salt = sealed.salt?;
            if secret.derivations >= MAX_DERIVATIONS_PER_ROOM || !secret.failed_salts.insert(salt) {
                return None;
            }
            secret.derivations += 1;
            // The rounds the room's record names, for its salt; the default for another.
            let rounds = record
                .filter(|r| r.salt == salt)
                .map_or(chat::private::PBKDF2_ITERATIONS, |r| r.iterations);
            Some((None, secret.passphrase.clone(), rounds))
        })?;
        if let Some(key) = held {
            return crypto::open(&key, room, sealed).await.ok();
        }
        let salt = sealed.salt?;
        let key = crypto::derive(&passphrase, &salt, rounds).await.ok()?;
        let plain = crypto::open(&key, room, sealed).await.ok()?;
        with_state(|s| {
            if let Some(secret) = s.secrets.get_mut(room) {
                secret.failed_salts.remove(&salt);
                secret.keys.push(key);
            }
        });
        Some(plain)
    }

    async fn derive(&self, room: RoomName, passphrase: String) {
        with_state(|s| {
            s.secrets.insert(
                room.clone(),
                Secret {
                    passphrase: passphrase.clone(),
                    keys: Vec::new(),
                    failed_salts: HashSet::new(),
                    derivations: 0,
                    sealing: None,
                },
            );
            s.tried.remove(&room);
        });
        let record = match self.room_salt(&room).await {
            Ok(record) => record,
            Err(e) => {
                self.set_key(&room, KeyState::Failed(e.to_string()));
                return;
            }
        };
        match crypto::derive(&passphrase, &record.salt, record.iterations).await {
            Ok(key) => {
                let held = with_state(|s| {
                    let secret = s.secrets.get_mut(&room)?;
                    secret.keys.push(key.clone());
                    secret.sealing = Some(key);
                    Some(())
                });
                if held.is_some() {
                    self.set_key(&room, KeyState::Ready);
                    self.unseal_soon(&room);
                }
            }
            Err(e) => self.set_key(&room, KeyState::Failed(e.to_string())),
        }
    }

    /// The room's salt: the retained record heard (waiting a moment for it after joining),
    /// or a new one, published retained for everyone who comes with the passphrase.
    async fn room_salt(&self, room: &RoomName) -> Result<SaltRecord, CryptoError> {
        for _ in 0..SALT_WAIT_MS / 100 {
            // A record queued behind this action is taken now.
            let queued = self
                .private
                .try_update_value(|q| {
                    let at = q
                        .actions
                        .iter()
                        .position(|a| matches!(a, Action::Salt(r, _) if r == room))?;
                    q.actions.remove(at)
                })
                .flatten();
            if let Some(Action::Salt(room, payload)) = queued {
                self.salt_heard(room, &payload);
            }
            if let Some(record) = with_state(|s| s.salts.get(room).cloned()) {
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
        with_state(|s| {
            s.salts.insert(room.clone(), record.clone());
        });
        Ok(record)
    }

    /// Open the room's sealed rows that the keys held have not been tried on.
    async fn unseal(&self, room: &RoomName) {
        let own = self.author.try_get_value().unwrap_or_default();
        let tried = with_state(|s| s.tried.get(room).cloned().unwrap_or_default());
        let rows = self
            .with_room_log_untracked(room, |log| log.sealed())
            .unwrap_or_default();
        for key in rows.into_iter().filter(|k| !tried.contains(k)) {
            with_state(|s| s.tried.entry(room.clone()).or_default().insert(key));
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
        let key = with_state(|s| s.secrets.get(&room).and_then(|s| s.sealing.clone()));
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
