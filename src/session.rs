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
pub const VIEW_CAPACITY: usize = 2_000;

/// The live chat: read its signals, call its methods. Cheap to copy into closures.
#[derive(Clone, Copy)]
pub struct ChatSession {
    pub status: RwSignal<ConnectionStatus>,
    pub log: RwSignal<MessageLog>,
    /// A problem worth telling the user that is not the connection state.
    pub notice: RwSignal<Option<String>>,
    pub client_id: RwSignal<Option<String>>,
    inner: StoredValue<Option<Inner>, LocalStorage>,
    /// Browser event listeners, removed when the session's owner is cleaned up.
    listeners: StoredValue<Vec<gloo_events::EventListener>, LocalStorage>,
    topic: StoredValue<String>,
}

struct Inner {
    connection: Connection,
    client_id: String,
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
            listeners: StoredValue::new_local(Vec::new()),
            topic: StoredValue::new(config.topic.clone()),
        };
        let url = match config.broker_url {
            Ok(url) => url,
            Err(reason) => {
                session.status.set(ConnectionStatus::Offline { reason });
                return session;
            }
        };
        leptos::task::spawn_local(async move {
            let client_id = identity::tab_client_id().await;
            let (outbox, warning) = store::load_outbox(&client_id);
            if warning.is_some() {
                session.notice.try_set(warning);
            }
            let options = Options {
                clean_session: false,
                credentials: config.credentials,
                ..Options::new(client_id.clone())
            };
            let own_id = client_id.clone();
            let connection = Connection::open(
                url,
                options,
                &[(config.topic.as_str(), QoS::AtLeastOnce)],
                move |event| session.on_link_event(event, &own_id),
            );
            let mut inner = Inner {
                connection,
                client_id: client_id.clone(),
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
            session.listeners.try_update_value(|l| l.push(on_leave));
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
        let topic = self.topic.get_value();
        let result = self.inner.try_update_value(|slot| {
            let Some(inner) = slot.as_mut() else {
                // No connection object: still starting, or the broker address is unusable.
                let why = self.status.with_untracked(|s| s.label(wall_clock_ms()));
                return Err(format!("Not sent ({why}). Your message is kept."));
            };
            let message = ChatMessage {
                name: draft.name,
                message: draft.message,
                id: Some(random_hex(12)),
                from: Some(inner.client_id.clone()),
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
            .log
            .try_update(|log| log.push_own(&message, at, Delivery::Queued))
            .unwrap_or_default();
        // QoS 1 always has a packet id; the check only keeps this total.
        if let Some(pkid) = pkid {
            inner.pending.insert(pkid, (key, id));
        }
        Ok(())
    }

    /// Connect again now (after a refusal, or instead of waiting for the next attempt).
    pub fn retry(&self) {
        self.inner.with_value(|inner| {
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
                self.status.try_set(ConnectionStatus::Connected);
            }
            LinkEvent::Mqtt(Event::Message(message)) => {
                if self.topic.try_with_value(|t| *t == message.topic) == Some(true) {
                    self.log.try_update(|log| {
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
                    self.log
                        .try_update(|log| log.set_delivery(key, Delivery::Sent));
                }
            }
            LinkEvent::Mqtt(Event::Acknowledged { pkid }) => self.on_acknowledged(pkid),
            LinkEvent::Mqtt(Event::SubscribeRefused { filter }) => {
                self.notice.try_set(Some(format!(
                    "The broker refused the subscription to {filter:?}: messages from others will not arrive."
                )));
            }
            LinkEvent::Mqtt(Event::Warning(w)) => {
                web_sys::console::warn_1(&format!("MQTT: {w}").into());
            }
            LinkEvent::Mqtt(Event::Subscribed { .. } | Event::Disconnected(_)) => {}
        }
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
            self.log
                .try_update(|log| log.set_delivery(key, Delivery::Acknowledged));
        }
        if save_error.is_some() {
            self.notice.try_set(save_error);
        }
    }
}
