//! The chat session: joins the transport, the chat domain and storage, and exposes signals
//! to the view, in the shape of a hook (signals to read, methods to call).
//!
//! - [`startup`]: identity, connection, then what storage kept (history, unsent messages).
//! - [`routing`]: what the link reports, by topic, to where it belongs.
//! - [`rooms`]: each room's messages and stored history, swapped into the table as the core
//!   opens rooms (which rooms are joined and open is the core's).
//! - [`presence`]: this tab's retained status and last will; who is where.
//! - [`typing`]: telling the open room this tab types, and showing who else does.
//! - [`catchup`]: asking peers for what the broker could not give, and answering them.
//! - [`lifecycle`]: leaving and coming back to the page.
//! - [`watch`]: the topic viewer's filters, on the same connection.
//! - [`search`]: what the search reads (every room's messages) and the message it found.
//!
//! Nothing the user sends is lost: each message goes into the outbox (one IndexedDB record
//! per message) before it is published at QoS 1, and leaves it only when the broker
//! acknowledges it. The session is persistent (clean session off, a stable client id), so
//! messages published while this tab was away are delivered when it returns.

mod catchup;
mod lifecycle;
mod presence;
mod private;
mod rooms;
mod routing;
mod search;
mod startup;
mod typing;
mod viewer;
mod vouch;
mod watch;

use std::collections::{HashMap, HashSet};

use chat::session::{Key, StoreOp, Transmit, ViewChange};
use chat::{
    ChatMessage, ConnectionStatus, Draft, MessageLog, Notice, NoticeKind, Notices, Outbox,
    OutboxError, Recorder, Refusal, RoomName, Rooms, Watch,
};
use leptos::prelude::*;
use mqtt_core::{PublishError, QoS, Router};

use crate::browser::wall_clock_ms;
use crate::config::AppConfig;
use crate::persist::writer::{Op, Outcome, Writer};
use crate::persist::Db;
use crate::transport::Connection;
use chat::pace::{Render, RenderThrottle};
pub use private::{Kept, KeyState, Privacy};
pub use rooms::RoomError;
pub use search::StoredRead;
pub use viewer::ViewerSendError;
pub use watch::WatchCode;

/// Rows kept in the view; `data-total` still counts every message.
///
/// 500, not more: during a burst every render lays out the whole table (scripts/bench:
/// with 2,000 rows, frames of up to 317 ms and long tasks of 190 ms; with 500, none over
/// 150 ms and no long task). The log trims to three quarters when full, so the DOM holds
/// 375 to 500 rows.
pub const VIEW_CAPACITY: usize = 500;

/// Larger incoming messages are read past, acknowledged and shown as a "skipped" row.
///
/// A chat message is at most 4 KiB of text; 128 KiB leaves room for other clients' payloads
/// while keeping a burst's memory small. It is also under what Mosquitto 2.0.11's websockets
/// listener can deliver at all: measured here, a 160 KB message arrives and a 200 KB one
/// never does, and stalls that connection (MQTT.js too), so a larger limit would only be
/// reached through other brokers.
pub const MAX_INCOMING_PACKET: usize = 128 * 1024;

/// How long an MQTT 5 broker keeps this tab's session (subscriptions, messages queued for
/// it) after the tab goes: a week, like the presence list.
pub const SESSION_EXPIRY: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// MQTT 5: how long the broker waits before publishing the last will. A reload reconnects
/// well within it (with the same client id), so it never shows the tab offline; a crash
/// or a lost network shows after it.
pub const WILL_DELAY: std::time::Duration = std::time::Duration::from_secs(5);

/// The views that subscribe on the one connection; the subscription table routes each
/// message to the views that want it, once each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    Chat,
    Watch,
}

/// Where the stored conversation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryState {
    Loading,
    Ready,
    /// No storage in this browser context, or the user turned it off.
    Off,
}

impl HistoryState {
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryState::Loading => "loading",
            HistoryState::Ready => "ready",
            HistoryState::Off => "off",
        }
    }
}

/// Why a message was not sent. The user's text stays in the box.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("Not sent ({0}). Your message is kept.")]
    NotReady(String),
    #[error("{0}")]
    Outbox(#[from] OutboxError),
    #[error("Message too large for the broker: {size} bytes with its envelope, the limit is {limit}. Nothing was sent.")]
    TooLarge { size: usize, limit: usize },
    #[error("Not sent: {0}.")]
    Publish(PublishError),
    #[error("The chat has been closed.")]
    Closed,
    #[error("Not sent: {0}.")]
    NoId(#[from] crate::browser::NoRandomness),
    #[error("Not sent: this message cannot be reacted to (its id is too long).")]
    NotReactable,
    #[error("Not sent: this room is private and this tab has no key for it yet (enter its passphrase under the room's name). Your message is kept.")]
    NoKey,
    #[error("Not sent: the passphrase given for this room does not match its key (the room's key check says so). Enter the right one under the room's name. Your message is kept.")]
    WrongKey,
}

/// The live chat: read its signals, call its methods. Cheap to copy into closures.
#[derive(Clone, Copy)]
pub struct ChatSession {
    pub status: RwSignal<ConnectionStatus>,
    /// The open room's messages (the other rooms' wait in `room_logs`).
    pub log: RwSignal<MessageLog>,
    /// The one home of unsent messages: rows read their delivery state from it.
    pub outbox: RwSignal<Outbox>,
    /// False when the stored outbox could not be read: own rows then claim no state.
    pub outbox_known: RwSignal<bool>,
    pub notices: RwSignal<Notices>,
    /// Where the open room's stored conversation stands.
    pub history: RwSignal<HistoryState>,
    pub client_id: RwSignal<Option<String>>,
    /// Joined rooms, the open one, unread counts: a mirror of the core's (redrawn at most
    /// once a frame).
    pub rooms: RwSignal<Rooms>,
    /// The user's name, as typed (sent with messages, presence and typing).
    pub name: RwSignal<String>,
    /// Bumped (at most once a frame) when who is where may show differently: read it with
    /// [`ChatSession::listing`].
    pub presence_tick: RwSignal<u32>,
    /// `Ann is typing…` for the open room, or empty.
    pub typing_text: RwSignal<String>,
    /// What a screen reader is told about new messages (a burst as one line).
    pub announcement: RwSignal<String>,
    /// The tab is visible (the title shows the unread count only while it is not; the core
    /// is told too, for what counts as unread).
    pub visible: RwSignal<bool>,
    /// What each room notifies of: a mirror of the core's (see [`ChatSession::set_notify`]).
    pub notify: RwSignal<chat::NotifySettings>,
    /// The link, once the tab knows who it is.
    connection: StoredValue<Option<Connection>, LocalStorage>,
    store: StoredValue<Store, LocalStorage>,
    render: StoredValue<RenderThrottle>,
    presence_render: StoredValue<RenderThrottle>,
    rooms_render: StoredValue<RenderThrottle>,
    /// Browser event listeners, removed when the session's owner is cleaned up.
    listeners: StoredValue<Vec<gloo_events::EventListener>, LocalStorage>,
    /// This tab's author id (`from`), once known: marks our own messages.
    author: StoredValue<String>,
    /// This browser's person id, for presence and typing.
    person: StoredValue<String>,
    /// The signed-in user, when the name can be pinned into topics: messages and status go
    /// to `.../from/<user>`, which the broker's ACL lets only this user write.
    user: StoredValue<Option<String>>,
    /// Own messages the broker did not deliver, by message id (see `chat::Refusal`): a
    /// mirror of the core's marks.
    pub refusals: RwSignal<HashMap<String, Refusal>>,
    /// The session's own logic (`chat::Session`, sans-IO): the outbox, the marks on own
    /// messages, the authorship check, typing, presence, catch-up and rooms. `outbox`,
    /// `refusals`, `vouched`, `verdict`, `typing_text` and `rooms` mirror it; `drive`
    /// carries out what it asks (one timer).
    core: StoredValue<chat::Session>,
    /// The browser timer for the core's next deadline, and that deadline.
    core_timer: StoredValue<Option<(f64, gloo_timers::callback::Timeout)>, LocalStorage>,
    /// The broker lets only a user write their `.../from/<user>` topics (checked on each
    /// connect, see `vouch`): only then are rows and people shown verified.
    pub vouched: RwSignal<bool>,
    /// What the authorship check knows, in words for the connection panel.
    pub verdict: RwSignal<chat::Verdict>,
    /// What the broker said with its last refusal (MQTT 5 reason string).
    refusal_words: StoredValue<Option<String>>,
    /// The MQTT version of this tab's connection.
    pub protocol: chat::MqttVersion,
    /// The broker the link is on or tries next, once the transport says.
    pub broker: RwSignal<Option<String>>,
    /// How many broker addresses the connection names (a cluster's nodes, tried in turn).
    pub brokers: usize,
    /// The rooms not shown, with their messages.
    room_logs: StoredValue<HashMap<RoomName, MessageLog>>,
    /// The last key space handed to a room's log (see `MessageLog::in_key_space`).
    key_spaces: StoredValue<u32>,
    /// Each room's stored history going into its log, once: done or under way.
    history_loads: StoredValue<HashMap<RoomName, rooms::HistoryLoad>, LocalStorage>,
    /// The topic viewer: its filters and what arrived on them. Changes notify at most once
    /// a frame.
    pub watch: RwSignal<Watch>,
    watch_render: StoredValue<RenderThrottle>,
    /// Messages for the viewer go through its code, fetched with it (see `watch`).
    watch_intake: StoredValue<watch::Intake>,
    /// What every view subscribes to, and where each message goes.
    router: StoredValue<Router<View>>,
    /// The search: whether it listens to the logs, and the message it found (see `search`).
    search: StoredValue<search::Listening>,
    /// Bumped (at most once a frame) when a room not shown got rows while the search
    /// listens.
    pub search_tick: RwSignal<u32>,
    /// Bumped when the user cleared the history: the search reads again.
    pub history_cleared: RwSignal<u32>,
    search_render: StoredValue<RenderThrottle>,
    /// The `data-id` of the row a search result or a quote led to, marked `found`, and
    /// how many times one was led to (each time, it is scrolled to anew).
    pub found: RwSignal<Option<(String, u32)>>,
    /// The message the composer answers (a reply's quote), until sent or cancelled.
    pub replying: RwSignal<Option<chat::Quote>>,
    /// The rooms that are private in this browser (issue 24), and where their keys stand.
    pub privacy: RwSignal<Privacy>,
    /// A message's text handed back to the composer, its sending failed after it left the
    /// box (a private room's message that could not be sealed or taken): never lost, and
    /// put back only while its room is open (never into another room's box).
    pub returned: RwSignal<Option<(RoomName, String)>>,
    /// What happens to private rooms, for their worker (see `private`).
    private: StoredValue<private::Queue, LocalStorage>,
}

/// Storage as the session uses it.
struct Store {
    db: Option<Db>,
    writer: Writer,
    recorder: Recorder,
    /// `?history=off`: keep nothing of the conversation in this browser.
    keep_history: bool,
    /// Startup has opened storage, or given up on it.
    storage_known: bool,
}

impl ChatSession {
    /// Start connecting as described by `config`. Must run inside a reactive owner.
    pub fn start(config: AppConfig) -> ChatSession {
        let notices = RwSignal::new(Notices::default());
        let writer = Writer::new(move |outcome| report(notices, outcome));
        crate::browser::scope::set(config.scope.clone());
        let (rooms, room_error) = rooms::initial(&config);
        if config.password_in_link {
            notices.try_update(|n| n.set(Notice::PasswordInLink));
        }
        if let Some(e) = room_error {
            notices.try_update(|n| n.set(Notice::RoomRefused { why: e.to_string() }));
        }
        let mut core = chat::Session::new(config.protocol, config.verified_user().is_some());
        let name = config
            .verified_user()
            .unwrap_or_else(crate::persist::prefs::load_name);
        core.set_name(&name);
        core.handle_visible(lifecycle::page_visible());
        let notify = crate::persist::prefs::load_notify();
        core.handle_notify_settings(notify.clone());
        // A room from the link is joined: remembered, and asked about once connected.
        core.handle_rooms_restored(wall_clock_ms(), rooms.clone(), &rooms::saved_rooms());
        let router = chat_router(rooms.joined());
        let session = ChatSession {
            status: RwSignal::new(ConnectionStatus::Connecting),
            log: RwSignal::new(MessageLog::new(VIEW_CAPACITY)),
            // Until startup has read the stored outbox, what is sent waits behind it.
            outbox: RwSignal::new(core.outbox().clone()),
            outbox_known: RwSignal::new(true),
            notices,
            history: RwSignal::new(HistoryState::Loading),
            client_id: RwSignal::new(None),
            rooms: RwSignal::new(rooms),
            name: RwSignal::new(name),
            presence_tick: RwSignal::new(0),
            typing_text: RwSignal::new(String::new()),
            announcement: RwSignal::new(String::new()),
            visible: RwSignal::new(lifecycle::page_visible()),
            connection: StoredValue::new_local(None),
            store: StoredValue::new_local(Store {
                db: None,
                writer,
                recorder: Recorder::default(),
                keep_history: config.keep_history,
                storage_known: false,
            }),
            render: StoredValue::new(RenderThrottle::default()),
            presence_render: StoredValue::new(RenderThrottle::default()),
            rooms_render: StoredValue::new(RenderThrottle::default()),
            listeners: StoredValue::new_local(Vec::new()),
            author: StoredValue::new(String::new()),
            person: StoredValue::new(String::new()),
            user: StoredValue::new(config.verified_user()),
            refusals: RwSignal::new(HashMap::new()),
            refusal_words: StoredValue::new(None),
            vouched: RwSignal::new(false),
            verdict: RwSignal::new(core.verdict().clone()),
            core: StoredValue::new(core),
            core_timer: StoredValue::new_local(None),
            protocol: config.protocol,
            broker: RwSignal::new(None),
            brokers: config
                .broker_url
                .as_deref()
                .map_or(0, |list| chat::broker_urls(list).count()),
            room_logs: StoredValue::new(HashMap::new()),
            key_spaces: StoredValue::new(0),
            history_loads: StoredValue::new_local(HashMap::new()),
            watch: RwSignal::new(Watch::default()),
            watch_render: StoredValue::new(RenderThrottle::default()),
            watch_intake: StoredValue::new(watch::Intake::default()),
            router: StoredValue::new(router),
            search: StoredValue::new(search::Listening::default()),
            search_tick: RwSignal::new(0),
            history_cleared: RwSignal::new(0),
            search_render: StoredValue::new(RenderThrottle::default()),
            found: RwSignal::new(None),
            replying: RwSignal::new(None),
            notify: RwSignal::new(notify),
            privacy: RwSignal::new(private::saved_privacy()),
            returned: RwSignal::new(None),
            private: StoredValue::new_local(private::Queue::default()),
        };
        crate::browser::notify::on_click(move |room| {
            if let Ok(room) = RoomName::parse(&room) {
                session.show_room(room);
            }
        });
        // Nothing is verified until this connection's own check answers (scoped, so after
        // the scope is set).
        vouch::forget_old_answers();
        // A room from the link is remembered now; what the link needs waits for the link.
        while let Some(Some(op)) = session.core.try_update_value(|c| c.poll_store()) {
            session.store_op(op);
        }
        startup::start(session, config);
        // Keys remembered on this device, and a key link in the address.
        session.private_start();
        on_cleanup(move || session.close());
        session
    }

    /// The author a topic names, if this tab can take it as proof: only when signed in. An
    /// anonymous tab is on a broker that, for all it knows, lets anyone write any topic
    /// (the shipped `mosquitto.conf` does), so it marks nothing verified.
    pub(super) fn vouched<'a>(&self, author: Option<&'a str>) -> Option<&'a str> {
        author.filter(|_| {
            self.user
                .try_with_value(Option::is_some)
                .unwrap_or_default()
        })
    }

    /// This browser's person id (presence's; who a reaction is by), once known.
    pub fn person(&self) -> String {
        self.person.try_get_value().unwrap_or_default()
    }

    /// The signed-in user whose name the broker vouches for, if any.
    pub fn signed_in_as(&self) -> Option<String> {
        self.user.try_get_value().unwrap_or_default()
    }

    /// Send a validated draft. It shows at once as the user's own row; its delivery state
    /// follows the broker's acknowledgements. Online or not, it is kept until delivered.
    pub fn send(&self, draft: Draft) -> Result<(), SendError> {
        self.ready_to_send()?;
        let now = wall_clock_ms();
        let mut message = ChatMessage {
            name: draft.name,
            message: draft.message,
            id: Some(crate::browser::random_hex(12)?),
            from: Some(self.author.try_get_value().unwrap_or_default()),
            ts: Some(now),
            ..Default::default()
        };
        let replying = self.replying.try_get_untracked().flatten();
        if let Some(quote) = &replying {
            message = message.replying(quote);
        }
        self.publish_own(message, now)?;
        if replying.is_some() {
            self.replying.try_set(None);
        }
        Ok(())
    }

    /// React with `emoji` to the open room's message `to`, as `name`; or take the reaction
    /// back if this person gave it. Sent like a message: queued while offline, kept until
    /// delivered (`chat::reactions`).
    pub fn react(&self, to: &str, emoji: &str, name: &str) -> Result<(), SendError> {
        self.ready_to_send()?;
        let me = self.person.try_get_value().unwrap_or_default();
        let given = self
            .log
            .try_with_untracked(|l| {
                l.reactions()
                    .chips(to, &me)
                    .iter()
                    .any(|c| c.emoji == emoji && c.mine)
            })
            .unwrap_or_default();
        let now = wall_clock_ms();
        let message = ChatMessage {
            name: name.to_owned(),
            id: Some(crate::browser::random_hex(12)?),
            from: Some(self.author.try_get_value().unwrap_or_default()),
            ts: Some(now),
            react: Some(emoji.to_owned()),
            to: Some(to.to_owned()),
            by: Some(me).filter(|me| !me.is_empty()),
            undo: given,
            ..Default::default()
        };
        if chat::Reaction::of(&message, now).is_none() {
            return Err(SendError::NotReactable);
        }
        self.publish_own(message, now)
    }

    /// Set what the open room notifies of. Turning it on asks for the browser's permission
    /// first (this is the user's own action); refused, nothing changes and the words say why.
    pub async fn set_notify(&self, level: chat::Level) -> Result<(), String> {
        use crate::browser::notify::{ask, Permission};
        // The room it was chosen for, whatever is open once the prompt is answered.
        let room = self.open_room();
        if level != chat::Level::Off {
            match ask().await {
                Permission::Granted => {}
                Permission::Unsupported => {
                    return Err("This browser cannot show notifications here.".into())
                }
                Permission::Denied => {
                    return Err(
                        "Notifications are blocked for this page: allow them in the browser's site settings."
                            .into(),
                    )
                }
                Permission::Ask => return Err("Notifications were not allowed.".into()),
            }
        }
        let mut settings = self.notify.try_get_untracked().unwrap_or_default();
        settings.set(&room, level);
        self.core
            .try_update_value(|c| c.handle_notify_settings(settings.clone()));
        self.notify.try_set(settings.clone());
        crate::persist::prefs::save_notify(&settings)
    }

    /// Download the open room's stored history as a file in `format` (a chunk of its own).
    /// Returns what the file holds, in words, or why it could not be made.
    pub async fn export_history(&self, format: chat::export::Format) -> Result<String, String> {
        let db = self
            .store
            .try_with_value(|s| s.db.clone().filter(|_| s.keep_history))
            .flatten()
            .ok_or("This browser keeps no history to export.")?;
        // What the writer still holds goes first: the read's transaction comes after.
        self.store.try_with_value(|s| s.writer.flush_now());
        gloo_timers::future::sleep(std::time::Duration::ZERO).await;
        crate::split::export_history(db, self.open_room(), format).await
    }

    /// Whether a message can be taken now: the client is there (online or not).
    fn ready_to_send(&self) -> Result<(), SendError> {
        match self.connection.try_with_value(|c| c.is_some()) {
            None => Err(SendError::Closed),
            Some(false) => Err(SendError::NotReady(
                self.status
                    .try_with_untracked(|s| s.label(wall_clock_ms()))
                    .unwrap_or_default(),
            )),
            Some(true) => Ok(()),
        }
    }

    /// Into the outbox and onto the wire in the open room (see [`ChatSession::send`]).
    fn publish_own(&self, message: ChatMessage, now: f64) -> Result<(), SendError> {
        let room = self.open_room();
        if self.is_private(&room) && message.sealed.is_none() {
            return self.send_private(&room, message, now);
        }
        self.publish_own_in(&room, message, now)
    }

    /// [`ChatSession::publish_own`] in `room`, as it is (a private room's message sealed).
    fn publish_own_in(
        &self,
        room: &RoomName,
        message: ChatMessage,
        now: f64,
    ) -> Result<(), SendError> {
        let seq = self
            .store
            .try_update_value(|s| s.recorder.next_seq(now))
            .ok_or(SendError::Closed)?;
        let user = self.user.try_get_value().unwrap_or_default();
        let topic = chat::chat_topic_for(room, user.as_deref());
        let id = message.id.clone().unwrap_or_default();
        self.core
            .try_update_value(|c| c.handle_send(seq, &topic, message))
            .ok_or(SendError::Closed)??;
        // Queued for storage before it goes on the wire (the write follows within a task),
        // and deleted only after the broker's acknowledgement.
        let failed = self.drive();
        match failed
            .into_iter()
            .find(|(key, _)| key == &Key::Message(id.clone()))
        {
            Some((_, PublishError::TooLarge { size, limit })) => {
                Err(SendError::TooLarge { size, limit })
            }
            Some((_, e)) => Err(SendError::Publish(e)),
            None => Ok(()),
        }
    }

    /// Carry out what the core asks for, until it asks for nothing more: storage writes
    /// first (a message is queued for storage before it goes on the wire), then what goes
    /// to the client (each publish answered at once), then the view. Returns the publishes
    /// the client could not take.
    fn drive(&self) -> Vec<(Key, PublishError)> {
        let mut failed = Vec::new();
        loop {
            let mut busy = false;
            while let Some(Some(op)) = self.core.try_update_value(|c| c.poll_store()) {
                busy = true;
                self.store_op(op);
            }
            while let Some(Some(t)) = self.core.try_update_value(|c| c.poll_transmit()) {
                busy = true;
                match t {
                    Transmit::Publish {
                        key,
                        topic,
                        payload,
                    } => {
                        let result = self
                            .connection
                            .try_with_value(|c| {
                                c.as_ref()
                                    .map(|c| c.publish(&topic, payload, QoS::AtLeastOnce))
                            })
                            .flatten()
                            .unwrap_or(Err(PublishError::Closed));
                        if let Some(Err(e)) = self
                            .core
                            .try_update_value(|c| c.handle_published(&key, result))
                        {
                            failed.push((key, e));
                        }
                    }
                    Transmit::Want { filter, qos } => self.want(View::Chat, &filter, qos),
                    Transmit::Unwant { filter } => self.unwant(View::Chat, &filter),
                    other => self.transmit(other),
                }
            }
            while let Some(Some(change)) = self.core.try_update_value(|c| c.poll_view()) {
                busy = true;
                self.view_change(change);
            }
            if !busy {
                break;
            }
        }
        self.arm_core_timer();
        failed
    }

    /// What the core asks of the client that needs no answer; nothing without a client.
    fn transmit(&self, t: Transmit) {
        let _ = self.connection.try_with_value(|c| {
            let Some(c) = c else {
                return;
            };
            match t {
                // Carried out in `drive`.
                Transmit::Publish { .. } | Transmit::Want { .. } | Transmit::Unwant { .. } => {}
                Transmit::Typing {
                    topic,
                    payload: _,
                    expires_in: _,
                } if self.is_private_topic(&topic) => {
                    // Not sent in a private room (issue 24): who types, and when, stays in.
                }
                Transmit::Typing {
                    topic,
                    payload,
                    expires_in,
                } => {
                    // MQTT 5: the broker drops the signal once it has expired, so a stale
                    // "is typing" is never delivered late (a queued session, a slow link).
                    let options = mqtt_core::PublishOptions {
                        retain: false,
                        message_expiry: Some(std::time::Duration::from_millis(
                            expires_in.max(0.0) as u64
                        )),
                        ..Default::default()
                    };
                    let _ = c.publish_with_options(&topic, payload, QoS::AtMostOnce, options);
                }
                Transmit::Will(will) => {
                    let _ = c.set_will(Some(will));
                }
                Transmit::Status { topic, payload } => {
                    let _ = c.publish_retained(&topic, payload, QoS::AtLeastOnce);
                }
                Transmit::Clear { topic } => {
                    let _ = c.publish_retained(&topic, Vec::new(), QoS::AtLeastOnce);
                }
                Transmit::Subscribe { filter } => {
                    let _ = c.subscribe(&filter, QoS::AtLeastOnce);
                }
                Transmit::CatchUp { topic, payload } => {
                    let _ = c.publish(&topic, payload, QoS::AtMostOnce);
                }
                Transmit::Abandon(pkid) => {
                    c.abandon(pkid);
                }
            }
        });
    }

    fn store_op(&self, op: StoreOp) {
        let owner = || {
            self.client_id
                .try_get_untracked()
                .unwrap_or_default()
                .unwrap_or_default()
        };
        let write = |op: Op| {
            self.store.try_with_value(|s| s.writer.push(op));
        };
        match op {
            StoreOp::OutboxPut(unsent) => write(Op::OutboxPut {
                owner: owner(),
                unsent,
            }),
            StoreOp::OutboxDelete { seq } => write(Op::OutboxDelete {
                owner: owner(),
                seq,
            }),
            StoreOp::History {
                topic,
                payload,
                id,
                at,
                refusal,
            } => {
                self.store.try_update_value(|s| {
                    if s.keep_history {
                        let mut record =
                            rooms::filed(s.recorder.record(&topic, &payload, id.as_deref(), at));
                        record.refusal = refusal;
                        s.writer.push(Op::History(record));
                    }
                });
            }
            StoreOp::ReadForAnswer(due) => leptos::task::spawn_local(self.read_for_answer(due)),
            StoreOp::ReadForAsk(room) => self.ask_after_history(room),
            StoreOp::SaveRooms(names) => ChatSession::save_rooms(&names),
            StoreOp::SaveOpen(room) => ChatSession::save_open(&room),
        }
    }

    fn view_change(&self, change: ViewChange) {
        match change {
            ViewChange::ShowOwn {
                topic,
                message,
                at,
                before,
            } => {
                if before.is_empty() {
                    self.show_own(&topic, &message, at);
                } else {
                    let later: HashSet<String> = before.into_iter().collect();
                    self.show_own_before(&topic, &message, at, &later);
                }
            }
            ViewChange::Outbox => {
                if let Some(outbox) = self.core.try_with_value(|c| c.outbox().clone()) {
                    self.outbox.try_set(outbox);
                }
            }
            ViewChange::Marks => {
                if let Some(marks) = self.core.try_with_value(|c| c.marks().clone()) {
                    self.refusals.try_set(marks);
                }
            }
            ViewChange::Verdict => self.mirror_verdict(),
            ViewChange::Typing => self.mirror_typing(),
            ViewChange::CaughtUp { room, entries } => self.merge_catch_up(&room, entries),
            ViewChange::Announce(words) => {
                self.announcement.try_set(words);
            }
            ViewChange::Notify {
                room,
                name,
                text,
                mention,
            } => {
                let title = if mention {
                    format!("{name} mentioned you in #{room}")
                } else {
                    format!("{name} in #{room}")
                };
                let body: String = text.chars().take(200).collect();
                crate::browser::notify::show(&title, &body, room.as_str());
            }
            ViewChange::Rooms => self.mirror_rooms(),
            ViewChange::Shown { from, to } => self.room_shown(from, to),
            ViewChange::Left(room) => self.room_left(&room),
            ViewChange::Presence => {
                let tick = self.presence_tick;
                notify_soon(self.presence_render, move || {
                    tick.try_update(|t| *t = t.wrapping_add(1));
                });
            }
            ViewChange::Requeued { failed, why } => {
                self.notices.try_update(|n| {
                    if failed > 0 {
                        n.set(Notice::UnsentNotQueued { count: failed, why });
                    } else {
                        n.clear(NoticeKind::UnsentNotQueued);
                    }
                });
            }
        }
    }

    /// The core's next deadline on one browser timer, set again only when it comes sooner.
    fn arm_core_timer(&self) {
        let Some(Some(at)) = self.core.try_with_value(|c| c.poll_timeout()) else {
            return;
        };
        let armed = self
            .core_timer
            .try_with_value(|t| t.as_ref().map(|(when, _)| *when))
            .flatten();
        if armed.is_some_and(|when| when <= at) {
            return;
        }
        let session = *self;
        // A little after the deadline, so it has passed by the clock the core is given.
        let wait = (at - wall_clock_ms()).max(0.0) as u32 + 10;
        let timer = gloo_timers::callback::Timeout::new(wait, move || {
            let _ = session.core_timer.try_update_value(|t| t.take());
            session
                .core
                .try_update_value(|c| c.handle_timeout(wall_clock_ms()));
            session.drive();
        });
        let _ = self.core_timer.try_update_value(|t| *t = Some((at, timer)));
    }

    /// Connect again now (after a refusal, or instead of waiting for the next attempt).
    pub fn retry(&self) {
        let _ = self.connection.try_with_value(|c| {
            if let Some(c) = c {
                c.retry();
            }
        });
    }

    /// DISCONNECT now, synchronously, and write what storage still waits for: the page is
    /// going away.
    pub fn leave_now(&self) {
        // Unsent messages whose IndexedDB write is still queued would go with the page: a
        // copy in localStorage, written now, is moved back on the next start.
        if let Some(owner) = self.client_id.try_get_untracked().flatten() {
            let unsent: Vec<(String, ChatMessage)> = self
                .outbox
                .try_with_untracked(|o| {
                    o.entries()
                        .map(|e| (e.topic.clone(), e.message.clone()))
                        .collect()
                })
                .unwrap_or_default();
            crate::persist::outbox::spill(&owner, &unsent);
        }
        let _ = self.store.try_with_value(|s| s.writer.flush_now());
        let last_words = self.offline_status();
        let _ = self.connection.try_with_value(|c| {
            if let Some(c) = c {
                c.leave_now(
                    last_words
                        .as_ref()
                        .map(|(t, p)| (t.as_str(), p.clone().into())),
                );
            }
        });
    }

    pub fn close(&self) {
        // The owner may already be disposed during cleanup; then there is nothing to close.
        let _ = self.connection.try_with_value(|c| {
            if let Some(c) = c {
                c.close();
            }
        });
    }

    /// Empty the stored history of this browser, and every room's view with it. Unsent
    /// messages stay, in storage and on screen. The clearing goes through the writer, behind
    /// whatever history it still had to write, so nothing cleared comes back.
    pub fn clear_history(&self) {
        self.store
            .try_with_value(|s| s.writer.push(Op::ClearHistory));
        let waiting: Vec<(String, ChatMessage)> = self
            .outbox
            .try_with_untracked(|o| {
                o.entries()
                    .map(|p| (p.topic.clone(), p.message.clone()))
                    .collect()
            })
            .unwrap_or_default();
        self.room_logs
            .try_update_value(|logs| logs.values_mut().for_each(MessageLog::clear));
        self.update_log(MessageLog::clear);
        self.search_cleared();
        for (topic, m) in &waiting {
            self.show_own(topic, m, m.ts.unwrap_or_else(wall_clock_ms));
        }
    }

    /// Change the log, and have the view show it soon (see [`RenderThrottle`]).
    fn update_log<R>(&self, change: impl FnOnce(&mut MessageLog) -> R) -> Option<R> {
        let result = self.log.try_update_untracked(change);
        let log = self.log;
        notify_soon(self.render, move || log.notify());
        result
    }
}

/// The chat's subscriptions: every joined room's filters, and everyone's status.
fn chat_router(rooms: &[RoomName]) -> Router<View> {
    let mut router = Router::default();
    let filters = rooms.iter().flat_map(chat::session::room_filters).chain([
        (chat::PRESENCE_FILTER.to_owned(), QoS::AtLeastOnce),
        (chat::VERIFIED_PRESENCE_FILTER.to_owned(), QoS::AtLeastOnce),
    ]);
    for (filter, qos) in filters {
        // The app's own filters are valid.
        let _ = router.want(View::Chat, &filter, qos);
    }
    router
}

/// Call `notify` now, or once at the end of this frame if it was called this frame already:
/// a burst of changes renders once a frame.
pub(super) fn notify_soon(throttle: StoredValue<RenderThrottle>, notify: impl Fn() + 'static) {
    let now = frame_clock_ms();
    match throttle.try_update_value(|t| t.request(now)) {
        Some(Render::Now) => notify(),
        Some(Render::After(ms)) => {
            set_timeout(
                move || {
                    throttle.try_update_value(|t| t.rendered(frame_clock_ms()));
                    notify();
                },
                std::time::Duration::from_millis(ms),
            );
        }
        Some(Render::AlreadyScheduled) | None => {}
    }
}

/// A batch was written, or not: keep the notices true to it.
fn report(notices: RwSignal<Notices>, outcome: Outcome) {
    // Most batches change nothing: notify the view only when a notice comes or goes.
    notices.try_maybe_update(|n| {
        let mut changed = false;
        match outcome.history {
            Some(Ok(())) => changed |= n.clear(NoticeKind::HistoryNotSaved),
            Some(Err(e)) => {
                n.set(Notice::HistoryNotSaved { why: e.to_string() });
                changed = true;
            }
            None => {}
        }
        match outcome.outbox {
            Some(Ok(())) => changed |= n.clear(NoticeKind::OutboxNotSaved),
            Some(Err(e)) => {
                n.set(Notice::OutboxNotSaved { why: e.to_string() });
                changed = true;
            }
            None => {}
        }
        if outcome.dropped > 0 {
            n.add_dropped(outcome.dropped);
            changed = true;
        }
        (changed, ())
    });
}

fn frame_clock_ms() -> f64 {
    crate::browser::now().as_millis() as f64
}
