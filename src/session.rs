//! The chat session: joins the transport to the chat domain and exposes signals to the view,
//! in the shape of a hook (signals to read, methods to call).

use std::collections::HashMap;

use chat::{ChatMessage, ConnectionStatus, Delivery, Draft, MessageLog};
use leptos::prelude::*;
use mqtt_core::{Event, Options, PacketId, PublishError, QoS};

use crate::browser::{identity, random_hex, wall_clock_ms};
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
    pending: StoredValue<HashMap<PacketId, u64>, LocalStorage>,
    topic: StoredValue<String>,
}

struct Inner {
    connection: Connection,
    client_id: String,
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
            pending: StoredValue::new_local(HashMap::new()),
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
            let options = Options::new(client_id.clone());
            let topic = config.topic;
            let own_id = client_id.clone();
            let connection = Connection::open(
                url,
                options,
                &[(topic.as_str(), QoS::AtLeastOnce)],
                move |event| session.on_link_event(event, &own_id),
            );
            // Leaving the page says DISCONNECT, so the broker can tell a leave from a crash.
            let on_leave =
                gloo_events::EventListener::new(&gloo_utils::window(), "pagehide", move |_| {
                    session.leave_now();
                });
            session.listeners.try_update_value(|l| l.push(on_leave));
            session.client_id.try_set(Some(client_id.clone()));
            // If the view is already gone, the connection is dropped here, which closes it.
            session.inner.try_update_value(|inner| {
                *inner = Some(Inner {
                    connection,
                    client_id,
                })
            });
        });
        on_cleanup(move || session.close());
        session
    }

    /// Send a validated draft. It shows at once as the user's own row; its delivery state
    /// follows the broker's acknowledgements.
    pub fn send(&self, draft: Draft) -> Result<(), String> {
        let topic = self.topic.get_value();
        let sent = self.inner.with_value(|inner| {
            let inner = inner.as_ref()?;
            let message = ChatMessage {
                name: draft.name.clone(),
                message: draft.message.clone(),
                id: Some(random_hex(12)),
                from: Some(inner.client_id.clone()),
                ts: Some(wall_clock_ms()),
            };
            let result = inner
                .connection
                .publish(&topic, message.to_json(), QoS::AtLeastOnce);
            Some((message, result))
        });
        let Some((message, result)) = sent else {
            // No connection object: still starting, or the broker address is unusable.
            let why = self.status.with_untracked(|s| s.label());
            return Err(format!("Not sent ({why}). Your message is kept."));
        };
        match result {
            Ok(pkid) => {
                let key = self
                    .log
                    .try_update(|log| log.push_own(&message, wall_clock_ms(), Delivery::Queued));
                if let (Some(pkid), Some(key)) = (pkid, key) {
                    self.pending.update_value(|p| {
                        p.insert(pkid, key);
                    });
                }
                Ok(())
            }
            Err(PublishError::TooLarge { size, limit }) => Err(format!(
                "Message too large for the broker: {size} bytes with its envelope, the limit is {limit}. Nothing was sent."
            )),
            Err(e) => Err(format!("Not sent: {e}.")),
        }
    }

    /// Connect again after going offline or being refused.
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
                self.notice.try_set(None);
            }
            LinkEvent::Mqtt(Event::Message(message)) => {
                if self.topic.try_with_value(|t| *t == message.topic) == Some(true) {
                    self.log.try_update(|log| {
                        log.receive(&message.payload, wall_clock_ms(), own_client_id);
                    });
                }
            }
            LinkEvent::Mqtt(Event::Sent { pkid }) => self.set_delivery(pkid, Delivery::Sent),
            LinkEvent::Mqtt(Event::Acknowledged { pkid }) => {
                self.set_delivery(pkid, Delivery::Acknowledged);
                self.pending.try_update_value(|p| p.remove(&pkid));
            }
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

    fn set_delivery(&self, pkid: PacketId, delivery: Delivery) {
        if let Some(key) = self
            .pending
            .try_with_value(|p| p.get(&pkid).copied())
            .flatten()
        {
            self.log.try_update(|log| log.set_delivery(key, delivery));
        }
    }
}
