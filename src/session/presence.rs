//! Presence over MQTT 3.1.1: each tab keeps a retained status on `chat/presence/<client
//! id>` (online, with its person, name and rooms), and a last will that sets it offline if
//! the broker loses the tab without a goodbye. A clean leave says offline itself (pagehide).
//! The domain's `Presence` turns the statuses into people, with a grace period so that a
//! reload never shows its user offline.
//!
//! Upkeep: some minutes after connecting, a tab clears (empty retained publish) the
//! statuses older than seven days that it sees, and every tab refreshes its own status daily.

use std::time::Duration;

use chat::{presence_topic, PresenceRefresh, Status};
use leptos::prelude::*;
use mqtt_core::{IncomingMessage, LastWill, QoS};

use super::render::at_time;
use super::{notify_soon, ChatSession};
use crate::browser::wall_clock_ms;
use chat::pace::Wake;

/// How long a name must rest before it is published (one publish per edit, not per key).
const NAME_SETTLE: Duration = Duration::from_millis(400);

#[derive(Debug, Default)]
pub(super) struct PresenceState {
    /// When our online status was last published.
    last_published: Option<f64>,
    /// When our status was last said again because the topic said we were gone.
    last_restored: Option<f64>,
    /// A name change waits to be published.
    name_pending: bool,
    /// When the view must look again because a grace period ends.
    grace_wake: Wake,
    /// The stale-status sweep of this page has been scheduled.
    sweep_scheduled: bool,
    /// MQTT 5: the broker refused a retained will (CONNACK 0x9A, retain not supported):
    /// the will goes without the flag from then on.
    no_retain: bool,
}

impl ChatSession {
    /// This tab's status, online or not.
    fn status(&self, online: bool) -> Status {
        let name = self
            .name
            .try_with_untracked(|n| n.trim().to_owned())
            .unwrap_or_default();
        Status {
            person: self.person.try_get_value().unwrap_or_default(),
            name: if name.is_empty() {
                "anonymous".to_owned()
            } else {
                name
            },
            rooms: self
                .rooms
                .try_with_untracked(|r| {
                    r.joined()
                        .iter()
                        .map(|room| room.as_str().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            online,
            ts: wall_clock_ms(),
            lost: false,
        }
    }

    /// Where this tab's status goes: `chat/presence/<id>`, or `.../from/<user>` signed in.
    fn own_presence_topic(&self, client_id: &str) -> String {
        presence_topic(
            client_id,
            self.user.try_get_value().unwrap_or_default().as_deref(),
        )
    }

    /// The will set in CONNECT: offline, retained, from the moment the broker loses us.
    pub(super) fn will(&self, client_id: &str) -> Option<LastWill> {
        let status = Status {
            lost: true,
            ..self.status(false)
        };
        Some(LastWill {
            topic: self.own_presence_topic(client_id),
            payload: status.to_json().into(),
            qos: QoS::AtLeastOnce,
            retain: !self
                .presence_state
                .try_with_value(|p| p.no_retain)
                .unwrap_or_default(),
            delay: super::WILL_DELAY,
        })
    }

    /// The broker refused our CONNECT because it keeps no retained messages (MQTT 5 §3.1.2.7:
    /// then a retained will must be refused). Connect again at once with a will it takes;
    /// once only, so a broker that refuses again waits for the user.
    pub(super) fn will_without_retain(&self) {
        let first = self
            .presence_state
            .try_update_value(|p| !std::mem::replace(&mut p.no_retain, true))
            .unwrap_or(false);
        let Some(id) = self.client_id.try_get_untracked().flatten() else {
            return;
        };
        if !first {
            return;
        }
        let will = self.will(&id);
        self.connection
            .try_with_value(|c| {
                if let Some(c) = c {
                    let _ = c.set_will(will);
                    c.retry();
                }
            })
            .unwrap_or_default();
    }

    /// Our offline status, said on a clean leave.
    pub(super) fn offline_status(&self) -> Option<(String, Vec<u8>)> {
        let id = self.client_id.try_get_untracked().flatten()?;
        Some((self.own_presence_topic(&id), self.status(false).to_json()))
    }

    /// Say we are here (with our name and rooms), and keep the will in step.
    pub(super) fn publish_status(&self) {
        let Some(id) = self.client_id.try_get_untracked().flatten() else {
            return;
        };
        let status = self.status(true);
        let will = self.will(&id);
        self.connection
            .try_with_value(|c| {
                if let Some(c) = c {
                    let _ = c.set_will(will);
                    if c.is_connected() {
                        let _ = c.publish_retained(
                            &self.own_presence_topic(&id),
                            status.to_json(),
                            QoS::AtLeastOnce,
                        );
                    }
                }
            })
            .unwrap_or_default();
        let now = status.ts;
        self.presence_state
            .try_update_value(|p| p.last_published = Some(now));
    }

    /// The user edits their name: others see it 400 ms after the edit began (one publish
    /// per burst of keys, not one per key), and the latest one.
    pub fn name_changed(&self) {
        let first = self
            .presence_state
            .try_update_value(|p| !std::mem::replace(&mut p.name_pending, true))
            .unwrap_or(false);
        if first {
            let session = *self;
            set_timeout(
                move || {
                    if session
                        .presence_state
                        .try_update_value(|p| p.name_pending = false)
                        .is_some()
                    {
                        session.publish_status();
                    }
                },
                NAME_SETTLE,
            );
        }
    }

    /// A status (or its clearing) from some tab.
    pub(super) fn on_presence(&self, tab: &str, message: &IncomingMessage) {
        let now = wall_clock_ms();
        self.restore_own_status(tab, &message.payload, now);
        let changed = self
            .presence
            .try_update_untracked(|p| p.update(tab, &message.payload, now))
            .unwrap_or(false);
        if changed {
            let presence = self.presence;
            notify_soon(self.presence_render, move || presence.notify());
            self.schedule_grace_check();
        }
    }

    /// Our own status topic says we are gone while this tab is connected: a will fired late
    /// (a crashed cluster node publishes the wills of its clients seconds later, even of
    /// those that moved to another node), or someone else wrote it. Say we are here again,
    /// at most once every 5 s, so a peer that keeps writing it cannot make us loop.
    fn restore_own_status(&self, tab: &str, payload: &[u8], now: f64) {
        let Some(id) = self.client_id.try_get_untracked().flatten() else {
            return;
        };
        if tab != id {
            return;
        }
        let says_online = serde_json::from_slice::<serde_json::Value>(payload)
            .ok()
            .and_then(|v| v.get("online").and_then(serde_json::Value::as_bool))
            == Some(true);
        let connected = self
            .connection
            .try_with_value(|c| c.as_ref().is_some_and(|c| c.is_connected()))
            .unwrap_or_default();
        if says_online || !connected {
            return;
        }
        let allowed = self
            .presence_state
            .try_update_value(|p| {
                let recent = p.last_restored.is_some_and(|at| now - at < 5_000.0);
                if !recent {
                    p.last_restored = Some(now);
                }
                !recent
            })
            .unwrap_or(false);
        if allowed {
            self.publish_status();
        }
    }

    /// Look again when the next grace period ends (someone left and did not come back).
    fn schedule_grace_check(&self) {
        let Some(at) = self
            .presence
            .try_with_untracked(|p| p.poll_timeout())
            .unwrap_or_default()
        else {
            return;
        };
        if !self
            .presence_state
            .try_update_value(|p| p.grace_wake.arm(at))
            .unwrap_or(false)
        {
            return;
        }
        let session = *self;
        // A little after the grace ends, so it has ended by then.
        at_time(at + 20.0, move || {
            if session
                .presence_state
                .try_update_value(|p| p.grace_wake.fired())
                .is_some()
            {
                // End the graces that are over, or the next check would be due at once.
                session
                    .presence
                    .try_update_untracked(|p| p.expire(wall_clock_ms()));
                session.presence_tick.try_update(|t| *t = t.wrapping_add(1));
                session.schedule_grace_check();
            }
        });
    }

    /// Once per page: clear statuses older than seven days, after a random 5 to 30 s (so
    /// the tabs that see them do not all clear at once; a cleared one comes back to each
    /// tab as an empty retained message and leaves its list). Daily: refresh our own.
    pub(super) fn schedule_presence_upkeep(&self) {
        let first = self
            .presence_state
            .try_update_value(|p| !std::mem::replace(&mut p.sweep_scheduled, true))
            .unwrap_or(false);
        if !first {
            return;
        }
        let session = *self;
        let delay = 5_000.0 + js_sys::Math::random() * 25_000.0;
        set_timeout(
            move || session.clear_stale(),
            Duration::from_millis(delay as u64),
        );
        self.schedule_refresh();
    }

    fn clear_stale(&self) {
        let Some(stale) = self
            .presence
            .try_with_untracked(|p| p.stale(wall_clock_ms()))
        else {
            return;
        };
        self.connection
            .try_with_value(|c| {
                if let Some(c) = c {
                    for tab in stale {
                        // `tab` is the topic after the prefix, `.../from/<user>` included.
                        let topic = presence_topic(&tab, None);
                        let _ = c.publish_retained(&topic, Vec::new(), QoS::AtLeastOnce);
                    }
                }
            })
            .unwrap_or_default();
    }

    fn schedule_refresh(&self) {
        let session = *self;
        set_timeout(
            move || {
                let last = session
                    .presence_state
                    .try_with_value(|p| p.last_published)
                    .flatten();
                if PresenceRefresh::due(last, wall_clock_ms()) {
                    session.publish_status();
                }
                if session.presence_state.try_with_value(|_| ()).is_some() {
                    session.schedule_refresh();
                }
            },
            Duration::from_secs(3_600),
        );
    }
}
