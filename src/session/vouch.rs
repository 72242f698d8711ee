//! Whether the broker vouches for authors. A `.../from/<user>` topic proves its author only
//! if the broker lets no one else write it, which an ACL has to say (the shipped
//! `mosquitto.conf` lets anyone write anything). So a signed-in tab checks, on every
//! connect: it publishes a probe (QoS 1, not retained, a payload no one reads as a status)
//! on `chat/presence/<tab>/from/<a made-up user>`, which it is subscribed to.
//! - MQTT 5: a refusing PUBACK (not authorized) means the broker pins authors; an accepting
//!   one means it does not.
//! - MQTT 3.1.1: the probe coming back means it does not; not back within 3 s of its PUBACK
//!   means the broker dropped it, so it does.
//!
//! - A broker may also answer a denied publish by closing the connection (MQTT 3.1.1 allows
//!   it, MQTT-3.3.5-2; Aedes does). The link dropping while the probe waits counts as a
//!   refusal, and that broker is never probed again (for this user), so the probe cannot
//!   make it drop every connection.
//!
//! Rows and people are shown verified only while the broker vouches. The answer is kept per
//! broker and user, so a reload shows it at once, and checked again on each connect.

use std::time::Duration;

use leptos::prelude::*;
use mqtt_core::QoS;

use super::ChatSession;
use crate::browser::scope::scoped;
use crate::browser::web_storage::{self, Area};

/// localStorage (scoped): the last answer for this broker and user.
const VOUCHED_KEY: &str = "mqtt-chat.vouched";
/// localStorage (scoped): this broker closed the connection on the probe; don't probe again.
const CLOSES_KEY: &str = "mqtt-chat.vouched-by-closing";
/// MQTT 3.1.1: how long a probe the broker accepted may take to come back.
const PROBE_ECHO_WAIT: Duration = Duration::from_secs(3);
/// The probe's payload: not JSON, so every tab ignores it as a status.
const PROBE_PAYLOAD: &[u8] = b"authorship probe";

#[derive(Default)]
pub(super) struct VouchState {
    probe: Option<Probe>,
}

struct Probe {
    topic: String,
    pkid: u16,
    /// Wall-clock ms when it went out.
    sent_at: f64,
    /// Its PUBACK came (MQTT 3.1.1: now waiting to see whether it comes back).
    acked: bool,
}

/// A link that drops this soon after the probe, before its PUBACK, was closed on it.
const CLOSED_ON_PROBE_MS: f64 = 2_000.0;

/// The answer kept from the last check on this broker (as this user).
pub(super) fn remembered() -> bool {
    web_storage::get::<bool>(Area::Local, &scoped(VOUCHED_KEY)).unwrap_or(false)
}

impl ChatSession {
    /// Connected, signed in: ask the broker (see the module docs).
    pub(super) fn probe_authorship(&self) {
        let Some(id) = self.client_id.get_untracked() else {
            return;
        };
        if self.user.get_value().is_none() {
            return;
        }
        if web_storage::get::<bool>(Area::Local, &scoped(CLOSES_KEY)) == Some(true) {
            // Answered for good: probing would only cost this broker's connection again.
            self.settle_vouched(true);
            return;
        }
        let Ok(made_up) = crate::browser::random_hex(6) else {
            return;
        };
        let topic = chat::presence_topic(&id, Some(&format!("probe-{made_up}")));
        let pkid = self
            .connection
            .try_with_value(|c| {
                c.as_ref()
                    .and_then(|c| c.publish(&topic, PROBE_PAYLOAD, QoS::AtLeastOnce).ok())
            })
            .flatten()
            .flatten();
        if let Some(pkid) = pkid {
            let sent_at = crate::browser::wall_clock_ms();
            self.vouch.update_value(|v| {
                v.probe = Some(Probe {
                    topic,
                    pkid,
                    sent_at,
                    acked: false,
                })
            });
        }
    }

    /// A PUBACK (or its refusal) for the probe. Returns whether it was the probe's.
    pub(super) fn probe_answered(&self, pkid: u16, refused: bool) -> bool {
        let ours = self
            .vouch
            .with_value(|v| v.probe.as_ref().is_some_and(|p| p.pkid == pkid));
        if !ours {
            return false;
        }
        if refused {
            self.settle_vouched(true);
        } else if self.protocol == chat::MqttVersion::V5 {
            // An MQTT 5 broker says when it refuses: this one took a made-up author.
            self.settle_vouched(false);
        } else {
            self.vouch.update_value(|v| {
                if let Some(p) = &mut v.probe {
                    p.acked = true;
                }
            });
            let session = *self;
            set_timeout(
                move || {
                    let still = session
                        .vouch
                        .try_with_value(|v| v.probe.as_ref().is_some_and(|p| p.pkid == pkid))
                        .unwrap_or(false);
                    if still {
                        session.settle_vouched(true);
                    }
                },
                PROBE_ECHO_WAIT,
            );
        }
        true
    }

    /// A message on `topic` arrived: the probe coming back means anyone may write any
    /// author's topic. Returns whether it was the probe.
    pub(super) fn probe_came_back(&self, topic: &str) -> bool {
        let ours = self
            .vouch
            .with_value(|v| v.probe.as_ref().is_some_and(|p| p.topic == topic));
        if ours {
            self.settle_vouched(false);
        }
        ours
    }

    /// The link dropped. Right after the probe, before its PUBACK, that was the broker
    /// refusing it by closing the connection. Later, it says nothing: ask again next time.
    pub(super) fn probe_link_lost(&self) {
        let now = crate::browser::wall_clock_ms();
        let closed_on_it = self.vouch.with_value(|v| {
            v.probe
                .as_ref()
                .is_some_and(|p| !p.acked && now - p.sent_at < CLOSED_ON_PROBE_MS)
        });
        // Never sent again: a broker that closed the link on it would close the next one.
        let pkid = self.vouch.with_value(|v| v.probe.as_ref().map(|p| p.pkid));
        if let Some(pkid) = pkid {
            self.connection.with_value(|c| {
                if let Some(c) = c {
                    c.abandon(pkid);
                }
            });
        }
        if closed_on_it {
            let _ = web_storage::set(Area::Local, &scoped(CLOSES_KEY), &true);
            self.settle_vouched(true);
        } else {
            self.vouch.update_value(|v| v.probe = None);
        }
    }

    fn settle_vouched(&self, vouched: bool) {
        self.vouch.update_value(|v| v.probe = None);
        let _ = web_storage::set(Area::Local, &scoped(VOUCHED_KEY), &vouched);
        if self.vouched.get_untracked() == vouched {
            return;
        }
        self.vouched.set(vouched);
        self.presence.update(|p| p.set_vouched(vouched));
        // Have the broker send every retained status again, read under the new answer.
        self.connection.with_value(|c| {
            if let Some(c) = c {
                let _ = c.subscribe(chat::VERIFIED_PRESENCE_FILTER, QoS::AtLeastOnce);
            }
        });
    }
}
