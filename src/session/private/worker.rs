//! The private rooms' worker, in its own chunk (`split::private_worker`): the keys this tab
//! holds (in memory only), the salts heard, and the browser's crypto. It takes the
//! session's actions (`Action`) one at a time, so order is kept.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use chat::private::{SaltRecord, Sealed, KEY_BYTES, SALT_BYTES};
use chat::{decode_payload, ChatMessage, Payload, RoomName};
use leptos::prelude::*;
use mqtt_core::{IncomingMessage, PublishOptions, QoS};

use super::{Action, KeyState};
use crate::browser::crypto::{self, CryptoError, RoomKey};
use crate::persist::keys;
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
#[derive(Default)]
struct Secret {
    /// Kept while the tab lives, to derive the key of a salt someone else made. `None` for
    /// a key that came as a link or was remembered: nothing to derive with.
    passphrase: Option<String>,
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
                Action::Passphrase {
                    room,
                    passphrase,
                    remember,
                } => self.derive(room, passphrase, remember).await,
                Action::LinkKey {
                    room,
                    key,
                    remember,
                } => self.link_key(room, key, remember).await,
                Action::LinkText {
                    room,
                    text,
                    remember,
                } => self.link_text(room, &text, remember).await,
                Action::Restore(room) => self.restore(room).await,
                Action::Left(room) => {
                    with_state(|s| {
                        s.secrets.remove(&room);
                        s.tried.remove(&room);
                    });
                    if let Err(e) = keys::forget(&room).await {
                        warn(&format!(
                            "{}: its remembered key could not be forgotten: {e}",
                            room.as_str()
                        ));
                    }
                }
                Action::Salt(room, payload) => self.salt_heard(room, &payload),
                Action::Arrived {
                    room,
                    author,
                    message,
                } => self.arrived(room, author, message).await,
                Action::Unseal(room) => self.unseal(&room).await,
                Action::Send { room, message, now } => self.seal_and_send(room, message, now).await,
                Action::OpenStored {
                    room,
                    payloads,
                    reply,
                } => {
                    let _ = reply.send(self.open_stored_now(&room, payloads).await);
                }
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
            Err(e) if !payload.is_empty() => warn(&format!(
                "{}: the room's salt record {e}; ignored",
                room.as_str()
            )),
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
                opened(plain, &message.payload)
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
            let passphrase = secret.passphrase.clone()?;
            secret.derivations += 1;
            // The rounds the room's record names, for its salt; the default for another.
            let rounds = record
                .filter(|r| r.salt == salt)
                .map_or(chat::private::PBKDF2_ITERATIONS, |r| r.iterations);
            Some((None, passphrase, rounds))
        })?;
        if let Some(key) = held {
            return crypto::open(&key, room, sealed).await.ok();
        }
        let salt = sealed.salt?;
        let key = crypto::derive(&passphrase, &salt, rounds, false)
            .await
            .ok()?;
        let plain = crypto::open(&key, room, sealed).await.ok()?;
        with_state(|s| {
            if let Some(secret) = s.secrets.get_mut(room) {
                secret.failed_salts.remove(&salt);
                secret.keys.push(key);
            }
        });
        Some(plain)
    }

    async fn derive(&self, room: RoomName, passphrase: String, remember: bool) {
        with_state(|s| {
            s.secrets.insert(
                room.clone(),
                Secret {
                    passphrase: Some(passphrase.clone()),
                    ..Secret::default()
                },
            );
            s.tried.remove(&room);
        });
        let outcome = self.derive_checked(&room, &passphrase, remember).await;
        if self.superseded(&room) {
            return;
        }
        let state = match outcome {
            Ok((key, checked)) => {
                let held = with_state(|s| {
                    let secret = s.secrets.get_mut(&room)?;
                    secret.keys.push(key.clone());
                    secret.sealing = Some(key);
                    Some(())
                });
                if held.is_none() {
                    // Left or forgotten meanwhile.
                    return;
                }
                KeyState::Ready { checked }
            }
            Err(state) => {
                with_state(|s| s.secrets.remove(&room));
                state
            }
        };
        let ready = state.is_ready();
        self.set_key(&room, state);
        if ready {
            self.unseal_soon(&room);
        }
    }

    /// The key of `passphrase` in `room`, and whether the room's key check says it is the
    /// room's: with the salt heard, or with a new one then published with its check.
    /// Remembered on this device if asked.
    async fn derive_checked(
        &self,
        room: &RoomName,
        passphrase: &str,
        remember: bool,
    ) -> Result<(RoomKey, bool), KeyState> {
        let failed = |e: CryptoError| KeyState::Failed(e.to_string());
        let (mut record, new) = self.room_salt(room).await.map_err(failed)?;
        let key = crypto::derive(passphrase, &record.salt, record.iterations, remember)
            .await
            .map_err(failed)?;
        // A record this tab made checks nothing: the passphrase matches itself.
        let checked = if new {
            record.check = Some(crypto::key_check(&key, room).await.map_err(failed)?);
            self.publish_salt(room, &record).map_err(failed)?;
            false
        } else if let Some((iv, ct)) = record.check_parts() {
            match crypto::opens_check(&key, room, &iv, ct).await {
                Ok(()) => true,
                Err(CryptoError::WrongKey) => return Err(KeyState::Wrong),
                Err(e) => return Err(failed(e)),
            }
        } else {
            false
        };
        let key = if remember {
            let kept = self.remember(room, &key).await;
            if kept.key.extractable() {
                // Not remembered: the key in use must not be extractable either, so it is
                // derived again as such (its bytes could otherwise be read by any script).
                crypto::derive(passphrase, &record.salt, record.iterations, false)
                    .await
                    .map_err(failed)?
            } else {
                kept
            }
        } else {
            key
        };
        Ok((key, checked))
    }

    /// Keep `key` wrapped on this device for `room`; the key to use from now on is the
    /// unwrapped copy, not extractable. Said in the room's status when it worked; if not,
    /// the key is still used, in this tab only.
    async fn remember(&self, room: &RoomName, key: &RoomKey) -> RoomKey {
        if self.superseded(room) {
            return key.clone();
        }
        let kept = async {
            let wrapping = keys::wrapping_key().await.map_err(|e| e.to_string())?;
            let (iv, wrapped) = crypto::wrap(&wrapping, room, key)
                .await
                .map_err(|e| e.to_string())?;
            let unwrapped = crypto::unwrap(&wrapping, room, &iv, &wrapped, key.salt)
                .await
                .map_err(|e| e.to_string())?;
            keys::keep(&keys::Wrapped {
                room: room.clone(),
                iv,
                wrapped,
                salt: key.salt,
            })
            .await
            .map_err(|e| e.to_string())?;
            Ok::<_, String>(unwrapped)
        }
        .await;
        match kept {
            Ok(unwrapped) => {
                self.privacy.try_update(|p| p.remembered(room, true));
                super::save_privacy(self.privacy);
                unwrapped
            }
            Err(why) => {
                warn(&format!(
                    "{}: the key could not be remembered: {why}",
                    room.as_str()
                ));
                self.privacy.try_update(|p| p.not_kept(room, why));
                super::save_privacy(self.privacy);
                key.clone()
            }
        }
    }

    /// A key from a link (or made as one): the room's key, shown as a link to share.
    async fn link_key(&self, room: RoomName, raw: [u8; KEY_BYTES], remember: bool) {
        // Extractable only to be wrapped; what is used is a copy that is not.
        let key = match crypto::import(&raw, remember).await {
            Ok(key) if remember => self.remember(&room, &key).await,
            Ok(key) => key,
            Err(e) => {
                self.set_key(&room, KeyState::Failed(e.to_string()));
                return;
            }
        };
        let key = match key.key.extractable() {
            true => crypto::import(&raw, false).await.unwrap_or(key),
            false => key,
        };
        if self.superseded(&room) {
            return;
        }
        self.hold(&room, key);
        let link = key_link(&room, &raw);
        self.privacy.try_update(|p| {
            p.links.retain(|(r, _)| r != &room);
            p.links.push((room.clone(), link));
            p.set_key(&room, KeyState::Ready { checked: false });
        });
        self.unseal_soon(&room);
    }

    /// A key link's text: its key for `room`, or for the room it names (joined and opened).
    async fn link_text(&self, pasted: Option<RoomName>, text: &str, remember: bool) {
        match self.read_link(pasted.as_ref(), text) {
            Ok((room, key)) => {
                if pasted.is_none() {
                    self.becomes_private(&room);
                    self.show_room(room.clone());
                }
                self.link_key(room, key, remember).await;
            }
            Err(why) => {
                if let Some(room) = &pasted {
                    let words = format!("the key link could not be used: {why}");
                    self.set_key(room, KeyState::Failed(words));
                }
                let why = format!("The key link could not be used: {why}.");
                self.notices
                    .try_update(|n| n.set(chat::Notice::RoomRefused { why }));
            }
        }
    }

    /// A key link's room and key, checked before anything is joined or changed. From the
    /// address (`pasted` `None`) it must name its room, one not private here already (a
    /// link someone sends cannot swap the key of a room this browser uses), which is then
    /// joined. Pasted for a room, it must name that room or none.
    fn read_link(
        &self,
        pasted: Option<&RoomName>,
        text: &str,
    ) -> Result<(RoomName, [u8; KEY_BYTES]), String> {
        let fragment = text.rsplit('#').next().unwrap_or_default();
        let key = match chat::private::key_in_fragment(fragment) {
            Some(Ok(key)) => key,
            Some(Err(e)) => return Err(format!("it {e}")),
            None => return Err("it holds no key".to_owned()),
        };
        let named = match chat::private::room_in_fragment(fragment) {
            Some(r) => {
                let name = js_sys::decode_uri_component(&r)
                    .map(String::from)
                    .map_err(|_| "its room's name is not readable".to_owned())?;
                Some(RoomName::parse(&name).map_err(|e| e.to_string())?)
            }
            None => None,
        };
        match (pasted, named) {
            (Some(room), Some(named)) if &named != room => Err(format!(
                "it is for the room {}, not {}",
                named.as_str(),
                room.as_str()
            )),
            (Some(room), _) => Ok((room.clone(), key)),
            (None, None) => Err("it names no room".to_owned()),
            (None, Some(room)) if self.is_private(&room) => Err(format!(
                "{} is private in this browser already, so its key was not changed (to use this link, paste it into the passphrase field under the room's name)",
                room.as_str()
            )),
            (None, Some(room)) => {
                self.join_room(room.as_str()).map_err(|e| e.to_string())?;
                Ok((room, key))
            }
        }
    }

    /// Whether what was just made for `room` is stale: the room was left or its key
    /// forgotten meanwhile, or another key for it was given (queued behind this action).
    fn superseded(&self, room: &RoomName) -> bool {
        self.private
            .try_with_value(|q| {
                q.actions.iter().any(|a| match a {
                    Action::Left(r) | Action::Restore(r) => r == room,
                    Action::Passphrase { room: r, .. } | Action::LinkKey { room: r, .. } => {
                        r == room
                    }
                    Action::LinkText { room: Some(r), .. } => r == room,
                    _ => false,
                })
            })
            .unwrap_or(false)
    }

    /// The key remembered on this device for `room`, taken up.
    async fn restore(&self, room: RoomName) {
        let restored = async {
            let Some(kept) = keys::kept(&room).await.map_err(|e| e.to_string())? else {
                return Ok(None);
            };
            let wrapping = keys::wrapping_key().await.map_err(|e| e.to_string())?;
            let key = crypto::unwrap(&wrapping, &room, &kept.iv, &kept.wrapped, kept.salt)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(Some(key))
        }
        .await;
        // Left, forgotten or given another key meanwhile: that goes first.
        if self.superseded(&room) {
            return;
        }
        match restored {
            Ok(Some(key)) => {
                self.hold(&room, key);
                self.set_key(&room, KeyState::Ready { checked: false });
                self.unseal_soon(&room);
            }
            Ok(None) => {
                self.privacy.try_update(|p| {
                    p.remembered(&room, false);
                    p.set_key(&room, KeyState::Missing);
                });
                super::save_privacy(self.privacy);
            }
            Err(why) => self.set_key(
                &room,
                KeyState::Failed(format!(
                    "the key remembered on this device could not be read: {why}"
                )),
            ),
        }
    }

    /// Hold `key` as the room's only key, with no passphrase behind it.
    fn hold(&self, room: &RoomName, key: RoomKey) {
        with_state(|s| {
            s.secrets.insert(
                room.clone(),
                Secret {
                    keys: vec![key.clone()],
                    sealing: Some(key),
                    ..Secret::default()
                },
            );
            s.tried.remove(room);
        });
    }

    /// The room's salt: the retained record heard (waiting a moment for it after joining),
    /// or a new one (`true`), to be published with its key check.
    async fn room_salt(&self, room: &RoomName) -> Result<(SaltRecord, bool), CryptoError> {
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
                return Ok((record, false));
            }
            gloo_timers::future::TimeoutFuture::new(100).await;
        }
        Ok((SaltRecord::new(crypto::random::<SALT_BYTES>()?), true))
    }

    /// Publish `record` retained, for everyone who comes with the passphrase.
    fn publish_salt(&self, room: &RoomName, record: &SaltRecord) -> Result<(), CryptoError> {
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
        Ok(())
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
            let wire = self
                .with_room_log_untracked(room, |log| log.sealed_payload(key).map(str::to_owned))
                .flatten();
            let Some(wire) = wire else {
                continue;
            };
            let Some(Ok(sealed)) = Sealed::read(wire.as_bytes()) else {
                continue;
            };
            if let Some(plain) = self.open_sealed(room, &sealed).await {
                let payload = decode_payload(&plain);
                let shown = self
                    .with_room_log(room, |log| log.unseal(key, payload, &own))
                    .and_then(|u| match u {
                        chat::Unsealed::Shown(row) => Some(row),
                        _ => None,
                    });
                // An own message seen back only now (from history, from catch-up): it was
                // delivered, as if it had come live.
                if let Some(row) = shown.filter(|r| r.own) {
                    if let Some(id) = &row.id {
                        self.core.try_update_value(|c| {
                            c.handle_echo(id, &room.chat_topic(), wire.as_bytes(), row.received_at)
                        });
                        self.drive();
                    }
                }
            }
        }
    }

    /// The search's stored messages of `room`: the plaintext of those the keys held open.
    /// No new key is derived for them (a stored message under a salt not met live stays
    /// unsearched).
    async fn open_stored_now(
        &self,
        room: &RoomName,
        payloads: Vec<(Vec<u8>, f64)>,
    ) -> Vec<(Vec<u8>, f64)> {
        let keys = with_state(|s| s.secrets.get(room).map(|s| s.keys.clone())).unwrap_or_default();
        let mut opened = Vec::new();
        for (payload, at) in payloads {
            let Some(Ok(sealed)) = Sealed::read(&payload) else {
                continue;
            };
            let Some(key) = keys.iter().find(|k| k.salt == sealed.salt) else {
                continue;
            };
            if let Ok(plain) = crypto::open(key, room, &sealed).await {
                opened.push((plain, at));
            }
        }
        opened
    }

    async fn seal_and_send(&self, room: RoomName, mut message: ChatMessage, now: f64) {
        let key = with_state(|s| s.secrets.get(&room).and_then(|s| s.sealing.clone()));
        let sealed = match key {
            Some(key) => crypto::seal(&key, &room, &message.plain_json())
                .await
                .map_err(|e| e.to_string()),
            None => Err("this tab has no key for the room".to_owned()),
        };
        let text = (message.react.is_none()).then(|| message.message.clone());
        let failed = match sealed {
            Ok(sealed) => {
                message.sealed = Some(sealed.to_json().into());
                self.publish_own_in(&room, message, now)
                    .err()
                    .map(|e| format!("was not sent: {e}"))
            }
            Err(words) => Some(format!("was not sent: {words}.")),
        };
        if let Some(why) = failed {
            // Its text goes back into the box: nothing typed is lost.
            if let Some(text) = text {
                self.returned.try_set(Some((room, text)));
            }
            self.notices
                .try_update(|n| n.set(chat::Notice::PrivateSend { why }));
        }
    }
}

/// What a sealed `wire` payload opened to: marked as having come sealed, so that the rows
/// tell it from a message sent in the clear.
fn opened(plain: &[u8], wire: &[u8]) -> Payload {
    match decode_payload(plain) {
        Payload::Chat(mut m) => {
            m.sealed = Some(wire.into());
            Payload::Chat(m)
        }
        other => other,
    }
}

/// The link that gives `room`'s key: this page with the broker it uses (its `broker` and
/// `protocol` only: never a user name or password), the room and the key in the fragment,
/// which no browser sends to a server.
fn key_link(room: &RoomName, key: &[u8; KEY_BYTES]) -> String {
    let Some(location) = web_sys::window().map(|w| w.location()) else {
        return String::new();
    };
    let mut link = location.origin().unwrap_or_default() + &location.pathname().unwrap_or_default();
    let query = location.search().unwrap_or_default();
    if let Ok(params) = web_sys::UrlSearchParams::new_with_str(&query) {
        let kept = web_sys::UrlSearchParams::new().ok();
        if let Some(kept) = kept {
            for name in ["broker", "protocol"] {
                if let Some(value) = params.get(name) {
                    kept.append(name, &value);
                }
            }
            let kept = String::from(kept.to_string());
            if !kept.is_empty() {
                link.push('?');
                link.push_str(&kept);
            }
        }
    }
    let name = String::from(js_sys::encode_uri_component(room.as_str()));
    format!("{link}#room={name}&{}", chat::private::key_fragment(key))
}

fn warn(words: &str) {
    web_sys::console::warn_1(&words.into());
}
