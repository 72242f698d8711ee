//! The topic viewer's actions on the chat's one connection: a publish from its panel, and
//! the clears of retained messages. Reached only from the viewer's chunk.
//!
//! A QoS 1 publish is kept by the connection until the broker acknowledges it, and its
//! answer comes back by packet id (`Tools::answered`, through `WatchCode`). A QoS 0 one is
//! sent only while connected: refused in words otherwise, never dropped silently.

use std::time::Duration;

use chat::viewer::publish::Ready;
use chat::viewer::tools::Purpose;
use mqtt_core::{PublishError, PublishOptions, QoS};

use leptos::prelude::*;

use super::{notify_soon, ChatSession};
use crate::browser::wall_clock_ms;

/// Why the viewer's publish did not go, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ViewerSendError {
    #[error("Not sent: not connected, and a QoS 0 message is not kept for later (choose QoS 1 to queue it).")]
    NotConnected,
    #[error("Not sent: {0}.")]
    Publish(PublishError),
}

impl ChatSession {
    /// Publish `ready` for `purpose`.
    pub fn viewer_publish(&self, ready: &Ready, purpose: Purpose) -> Result<(), ViewerSendError> {
        let options = PublishOptions {
            retain: ready.retain,
            message_expiry: ready.expiry_secs.map(|s| Duration::from_secs(s.into())),
            content_type: ready.content_type.clone(),
            user_properties: ready.user_properties.clone(),
        };
        let sent = self
            .connection
            .try_with_value(|c| {
                let c = c.as_ref()?;
                if ready.qos == QoS::AtMostOnce && !c.is_connected() {
                    return Some(Err(ViewerSendError::NotConnected));
                }
                Some(
                    c.publish_with_options(&ready.topic, ready.payload.clone(), ready.qos, options)
                        .map_err(ViewerSendError::Publish),
                )
            })
            .flatten()
            .unwrap_or(Err(ViewerSendError::NotConnected));
        match sent {
            Ok(pkid) => {
                self.watch
                    .try_update_untracked(|w| w.tools_mut().published(pkid, purpose));
                self.watch_changed();
                Ok(())
            }
            Err(e) => {
                if purpose == Purpose::Panel {
                    let words = e.to_string();
                    self.watch
                        .try_update_untracked(|w| w.tools_mut().panel_failed(words));
                    self.watch_changed();
                }
                Err(e)
            }
        }
    }

    /// A session is up on the link right now.
    pub fn viewer_connected(&self) -> bool {
        self.connection
            .try_with_value(|c| c.as_ref().is_some_and(|c| c.is_connected()))
            .unwrap_or(false)
    }

    /// The viewer's state changed: its views hear it at most once a frame, like its
    /// messages. (Notifying at once from `drive_clear`, which an effect on the watch calls,
    /// would wake that effect again without end.)
    fn watch_changed(&self) {
        let watch = self.watch;
        notify_soon(self.watch_render, move || watch.notify());
    }

    /// Send the next batch of the clear under way, if its last one is answered; and count
    /// what is overdue as not confirmed. Returns whether a clear is still under way.
    pub fn drive_clear(&self) -> bool {
        let now = wall_clock_ms();
        // A batch goes only while connected: one queued for later could go out after the
        // user stopped the clear, or after it was said not to be confirmed.
        let connected = self.viewer_connected();
        let (batch, changed, given_up) = self
            .watch
            .try_update_untracked(|w| {
                let tools = w.tools_mut();
                let retained = &mut tools.retained;
                let before = retained.job().map(|j| j.done());
                retained.tick(now);
                let changed = retained.job().map(|j| j.done()) != before;
                let batch = if connected {
                    retained.next_batch(now)
                } else {
                    Vec::new()
                };
                (batch, changed, tools.given_up_clears())
            })
            .unwrap_or_default();
        // Clears given up (stopped, not confirmed in time) and still queued are taken back.
        self.connection.with_value(|c| {
            if let Some(c) = c {
                for pkid in given_up {
                    c.abandon(pkid);
                }
            }
        });
        if changed || !batch.is_empty() {
            self.watch_changed();
        }
        for topic in batch {
            let ready = Ready {
                topic: topic.clone(),
                payload: Vec::new(),
                qos: QoS::AtLeastOnce,
                retain: true,
                content_type: None,
                user_properties: Vec::new(),
                expiry_secs: None,
            };
            if let Err(e) = self.viewer_publish(&ready, Purpose::Clear(topic.clone())) {
                // Refused here, before sending: not the broker's doing.
                let why = match e {
                    ViewerSendError::Publish(e) => e.to_string(),
                    e => e.to_string(),
                };
                self.watch
                    .try_update_untracked(|w| w.tools_mut().retained.failed(&topic, &why));
                self.watch_changed();
            }
        }
        self.watch
            .try_with_untracked(|w| {
                w.tools()
                    .and_then(|t| t.retained.job())
                    .is_some_and(|j| !j.finished())
            })
            .unwrap_or(false)
    }
}
