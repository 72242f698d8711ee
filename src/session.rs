//! The chat session: joins the transport to the chat domain and exposes signals to the view,
//! in the shape of a hook (signals to read, methods to call).
//!
//! Nothing the user sends is lost: each message goes into the outbox (saved in localStorage)
//! before it is published at QoS 1, and leaves it only when the broker acknowledges it. On
//! start, whatever the outbox still holds is published again, in order. The session is
//! persistent (clean session off, a stable client id), so messages published while this tab
//! was away are delivered when it returns.

use std::collections::HashMap;

use chat::{ChatMessage, ConnectionStatus, Delivery, Draft, MessageLog, Outbox};
use leptos::prelude::*;
use mqtt_core::{Event, Options, PacketId, PublishError, QoS};

use crate::browser::{identity, random_hex, store, wall_clock_ms};
use crate::config::AppConfig;
use crate::transport::{Connection, LinkEvent};

/// Rows kept in the view; `data-total` still counts every message.
///
/// 500, not more: during a burst every render lays out the whole table (scripts/bench:
/// with 2,000 rows, frames of up to 317 ms and long tasks of 190 ms; with 500, none over
/// 150 ms and no long task). The log trims to three quarters when full, so the DOM holds
/// 375 to 500 rows.
pub const VIEW_CAPACITY: usize = 500;

/// The live chat: read its signals, call its methods. Cheap to copy into closures.
#[derive(Clone, Copy)]
pub struct ChatSession {
    pub status: RwSignal<ConnectionStatus>,
    pub log: RwSignal<MessageLog>,
    /// A problem worth telling the user that is not the connection state.
    pub notice: RwSignal<Option<String>>,
    pub client_id: RwSignal<Option<String>>,
    inner: StoredValue<Option<Inner>, LocalStorage>,
    render: StoredValue<RenderThrottle>,
    /// Browser event listeners, removed when the session's owner is cleaned up.
    listeners: StoredValue<Vec<gloo_events::EventListener>, LocalStorage>,
    topic: StoredValue<String>,
    bench: crate::bench::BenchHooks,
}

struct Inner {
    connection: Connection,
    client_id: String,
    /// Names our messages (`from`); see `browser::identity`.
    author_id: String,
    outbox: Outbox,
    /// QoS 1 packet id → (row key, message id), until the PUBACK.
    pending: HashMap<PacketId, (u64, String)>,
}

impl ChatSession {
    /// Start connecting as described by `config`. Must run inside a reactive owner.
    pub fn start(config: AppConfig) -> ChatSession {
        let session = ChatSession {
            status: RwSignal::new(ConnectionStatus::Connecting),
            log: RwSignal::new(MessageLog::new(VIEW_CAPACITY)),
            notice: RwSignal::new(None),
            client_id: RwSignal::new(None),
            inner: StoredValue::new_local(None),
            render: StoredValue::new(RenderThrottle::default()),
            listeners: StoredValue::new_local(Vec::new()),
            topic: StoredValue::new(config.topic.clone()),
            bench: config.bench,
        };
        let url = match config.broker_url {
            Ok(url) => url,
            Err(reason) => {
                session.status.set(ConnectionStatus::Offline { reason });
                return session;
            }
        };
        leptos::task::spawn_local(async move {
            let me = match identity::tab_identity().await {
                Ok(me) => me,
                Err(e) => {
                    let reason = e.to_string();
                    session.status.try_set(ConnectionStatus::Offline { reason });
                    return;
                }
            };
            let client_id = me.client_id.clone();
            let (mut outbox, warning) = store::load_outbox(&client_id);
            for forgotten in &me.forgotten {
                // No tab will resume this id: its unsent messages go out from here.
                let (theirs, _) = store::load_outbox(forgotten);
                outbox = outbox.merged_with(theirs);
                store::remove_outbox(forgotten);
            }
            if warning.is_some() {
                session.notice.try_set(warning);
            }
            let options = Options {
                clean_session: false,
                credentials: config.credentials,
                ..Options::new(client_id.clone())
            };
            let own_id = me.author_id.clone();
            let connection = Connection::open(
                url,
                options,
                &[(config.topic.as_str(), QoS::AtLeastOnce)],
                move |event| session.on_link_event(event, &own_id),
            );
            let mut inner = Inner {
                connection,
                client_id: client_id.clone(),
                author_id: me.author_id,
                outbox: Outbox::new(),
                pending: HashMap::new(),
            };
            // What was not delivered before the reload goes out first, in order.
            for entry in outbox.entries() {
                let at = entry.message.ts.unwrap_or_else(wall_clock_ms);
                if let Err(e) = session.queue(&mut inner, &entry.topic, entry.message.clone(), at) {
                    session.notice.try_set(Some(e));
                }
            }
            // Leaving the page says DISCONNECT, so the broker can tell a leave from a crash.
            let on_leave =
                gloo_events::EventListener::new(&gloo_utils::window(), "pagehide", move |_| {
                    session.leave_now()
                });
            // Back from the back/forward cache: connect again.
            let on_show =
                gloo_events::EventListener::new(&gloo_utils::window(), "pageshow", move |event| {
                    let persisted = js_sys::Reflect::get(event, &"persisted".into())
                        .ok()
                        .and_then(|v| v.as_bool());
                    if persisted == Some(true) {
                        session.retry();
                    }
                });
            session
                .listeners
                .try_update_value(|l| l.extend([on_leave, on_show]));
            session.client_id.try_set(Some(client_id));
            // If the view is already gone, the connection is dropped here, which closes it.
            session.inner.try_update_value(|slot| *slot = Some(inner));
        });
        on_cleanup(move || session.close());
        session
    }

    /// Send a validated draft. It shows at once as the user's own row; its delivery state
    /// follows the broker's acknowledgements. Online or not, it is kept until delivered.
    pub fn send(&self, draft: Draft) -> Result<(), String> {
        let topic = self.topic.try_get_value().unwrap_or_default();
        let result = self.inner.try_update_value(|slot| {
            let Some(inner) = slot.as_mut() else {
                // No connection object: still starting, or the broker address is unusable.
                let why = self.status.with_untracked(|s| s.label(wall_clock_ms()));
                return Err(format!("Not sent ({why}). Your message is kept."));
            };
            let message = ChatMessage {
                name: draft.name,
                message: draft.message,
                id: Some(random_hex(12).map_err(|e| e.to_string())?),
                from: Some(inner.author_id.clone()),
                ts: Some(wall_clock_ms()),
            };
            self.queue(inner, &topic, message, wall_clock_ms())
        });
        result.unwrap_or_else(|| Err("The chat has been closed.".into()))
    }

    /// Put a message in the outbox, publish it, and show it as the user's own row.
    fn queue(
        &self,
        inner: &mut Inner,
        topic: &str,
        message: ChatMessage,
        at: f64,
    ) -> Result<(), String> {
        let id = message.id.clone().unwrap_or_default();
        inner
            .outbox
            .push(topic, message.clone())
            .map_err(|e| e.to_string())?;
        let pkid = match inner
            .connection
            .publish(topic, message.to_json(), QoS::AtLeastOnce)
        {
            Ok(pkid) => pkid,
            Err(e) => {
                inner.outbox.acknowledge(&id);
                return Err(match e {
                    PublishError::TooLarge { size, limit } => format!(
                        "Message too large for the broker: {size} bytes with its envelope, the limit is {limit}. Nothing was sent."
                    ),
                    other => format!("Not sent: {other}."),
                });
            }
        };
        if let Err(e) = store::save_outbox(&inner.client_id, &inner.outbox) {
            self.notice.try_set(Some(e));
        }
        let key = self
            .update_log(|log| log.push_own(&message, at, Delivery::Queued))
            .unwrap_or_default();
        // QoS 1 always has a packet id; the check only keeps this total.
        if let Some(pkid) = pkid {
            inner.pending.insert(pkid, (key, id));
        }
        Ok(())
    }

    /// Connect again now (after a refusal, or instead of waiting for the next attempt).
    pub fn retry(&self) {
        let _ = self.inner.try_with_value(|inner| {
            if let Some(inner) = inner {
                inner.connection.retry();
            }
        });
    }

    /// DISCONNECT now, synchronously: the page is going away.
    pub fn leave_now(&self) {
        let _ = self.inner.try_with_value(|inner| {
            if let Some(inner) = inner {
                inner.connection.leave_now();
            }
        });
    }

    pub fn close(&self) {
        // The owner may already be disposed during cleanup; then there is nothing to close.
        let _ = self.inner.try_with_value(|inner| {
            if let Some(inner) = inner {
                inner.connection.close();
            }
        });
    }

    fn on_link_event(&self, event: LinkEvent, own_client_id: &str) {
        match event {
            LinkEvent::Status(status) => {
                self.status.try_set(status);
            }
            LinkEvent::Mqtt(Event::Connected { .. }) => {
                self.bench.connected();
                self.status.try_set(ConnectionStatus::Connected);
            }
            LinkEvent::Mqtt(Event::Message(message)) => {
                self.bench.arrived();
                if self.topic.try_with_value(|t| *t == message.topic) == Some(true) {
                    self.update_log(|log| {
                        log.receive(&message.payload, wall_clock_ms(), own_client_id);
                    });
                }
            }
            LinkEvent::Mqtt(Event::Sent { pkid }) => {
                let key = self
                    .inner
                    .try_with_value(|i| i.as_ref().and_then(|i| i.pending.get(&pkid).map(|p| p.0)))
                    .flatten();
                if let Some(key) = key {
                    self.update_log(|log| log.set_delivery(key, Delivery::Sent));
                }
            }
            LinkEvent::Mqtt(Event::Acknowledged { pkid }) => self.on_acknowledged(pkid),
            LinkEvent::Mqtt(Event::SubscribeRefused { filter }) => {
                self.notice.try_set(Some(format!(
                    "The broker refused the subscription to \"{filter}\": messages from others will not arrive."
                )));
            }
            LinkEvent::Mqtt(Event::Warning(w)) => {
                web_sys::console::warn_1(&format!("MQTT: {w}").into());
            }
            LinkEvent::Mqtt(Event::Subscribed { .. } | Event::Disconnected(_)) => {}
        }
    }

    /// Change the log, and have the view show it soon (see [`RenderThrottle`]).
    fn update_log<R>(&self, change: impl FnOnce(&mut MessageLog) -> R) -> Option<R> {
        let result = self.log.try_update_untracked(change);
        let now = frame_clock_ms();
        match self.render.try_update_value(|t| t.request(now)) {
            Some(Render::Now) => self.log.notify(),
            Some(Render::After(ms)) => {
                let session = *self;
                set_timeout(
                    move || {
                        session
                            .render
                            .try_update_value(|t| t.rendered(frame_clock_ms()));
                        session.log.notify();
                    },
                    std::time::Duration::from_millis(ms),
                );
            }
            Some(Render::AlreadyScheduled) | None => {}
        }
        result
    }

    fn on_acknowledged(&self, pkid: PacketId) {
        let mut save_error = None;
        let key = self
            .inner
            .try_update_value(|slot| {
                let inner = slot.as_mut()?;
                let (key, id) = inner.pending.remove(&pkid)?;
                inner.outbox.acknowledge(&id);
                save_error = store::save_outbox(&inner.client_id, &inner.outbox).err();
                Some(key)
            })
            .flatten();
        if let Some(key) = key {
            self.update_log(|log| log.set_delivery(key, Delivery::Acknowledged));
        }
        if save_error.is_some() {
            self.notice.try_set(save_error);
        }
    }
}

/// Renders of the table, at most one a frame (FIELD.md #10). The first change renders at
/// once, so a lone message shows without delay; the changes of a burst that follow within
/// the same frame are shown together by one render at the end of it.
#[derive(Debug, Default)]
struct RenderThrottle {
    last: Option<f64>,
    scheduled: bool,
}

enum Render {
    Now,
    After(u64),
    AlreadyScheduled,
}

/// One frame at 60 Hz.
const FRAME_MS: f64 = 16.0;

impl RenderThrottle {
    fn request(&mut self, now: f64) -> Render {
        if self.scheduled {
            return Render::AlreadyScheduled;
        }
        match self.last {
            Some(last) if now - last < FRAME_MS => {
                self.scheduled = true;
                Render::After((FRAME_MS - (now - last)).ceil() as u64)
            }
            _ => {
                self.last = Some(now);
                Render::Now
            }
        }
    }

    fn rendered(&mut self, now: f64) {
        self.scheduled = false;
        self.last = Some(now);
    }
}

fn frame_clock_ms() -> f64 {
    crate::browser::now().as_millis() as f64
}
