//! Whether the broker vouches for authors: the driver of `chat::AuthorshipCheck`, which
//! holds the rule (fails closed: only an MQTT 5 "not authorized" PUBACK to a made-up author
//! verifies anything; see its docs). This file feeds it the link's events and the clock,
//! publishes the probe it asks for, and mirrors its verdict into the signals the view reads.

use chat::authorship::PROBE_PAYLOAD;
use leptos::prelude::*;
use mqtt_core::QoS;

use super::ChatSession;
use crate::browser::scope::scoped;
use crate::browser::wall_clock_ms;
use crate::browser::web_storage::{self, Area};

/// Keys of earlier versions, which remembered answers across connections (one of them
/// inferred from silence under MQTT 3.1.1): removed, never read.
const OLD_KEYS: [&str; 2] = ["mqtt-chat.vouched", "mqtt-chat.vouched-by-closing"];

/// Forget what earlier versions remembered for this scope.
pub(super) fn forget_old_answers() {
    for key in OLD_KEYS {
        web_storage::remove(Area::Local, &scoped(key));
    }
}

impl ChatSession {
    /// A new link is up: check again (see `chat::authorship`).
    pub(super) fn probe_authorship(&self) {
        let Some(id) = self.client_id.try_get_untracked().unwrap_or_default() else {
            return;
        };
        // A fresh made-up author each time; without randomness, no probe (not known).
        let made_up = crate::browser::random_hex(6).unwrap_or_default();
        let topic = self
            .authorship
            .try_update_value(|a| a.handle_connected(wall_clock_ms(), &id, &made_up))
            .flatten();
        if let Some(topic) = topic {
            let pkid = if made_up.is_empty() {
                None
            } else {
                self.connection
                    .try_with_value(|c| {
                        c.as_ref()
                            .and_then(|c| c.publish(&topic, PROBE_PAYLOAD, QoS::AtLeastOnce).ok())
                    })
                    .flatten()
                    .flatten()
            };
            let _ = self.authorship.try_update_value(|a| match pkid {
                Some(pkid) => a.handle_probe_sent(pkid),
                None => a.handle_probe_not_sent(),
            });
            self.arm_probe_timeout();
        }
        self.mirror_verdict();
    }

    /// A PUBACK, refused (`code`, MQTT 5) or not. Returns whether it answered the probe.
    pub(super) fn probe_answered(&self, pkid: u16, code: Option<u8>) -> bool {
        let ours = self
            .authorship
            .try_update_value(|a| a.handle_puback(pkid, code))
            .unwrap_or(false);
        if ours {
            self.mirror_verdict();
        }
        ours
    }

    /// A message on `topic` arrived. Returns whether it was the probe coming back.
    pub(super) fn probe_came_back(&self, topic: &str) -> bool {
        let ours = self
            .authorship
            .try_update_value(|a| a.handle_message(topic))
            .unwrap_or(false);
        if ours {
            self.mirror_verdict();
        }
        ours
    }

    /// The link dropped: a check under way ends "not known", and its probe is never sent
    /// again (its answer on the next link would be read as that link's).
    pub(super) fn probe_link_lost(&self) {
        let pkid = self
            .authorship
            .try_update_value(|a| a.handle_link_lost())
            .flatten();
        self.abandon_probe(pkid);
        self.mirror_verdict();
    }

    fn arm_probe_timeout(&self) {
        let Some(at) = self
            .authorship
            .try_with_value(|a| a.poll_timeout())
            .flatten()
        else {
            return;
        };
        let session = *self;
        let wait = (at - wall_clock_ms()).max(0.0) as u64;
        // Harmless when it fires late or for an earlier probe: the check compares the
        // current probe's deadline with the clock.
        set_timeout(
            move || {
                let pkid = session
                    .authorship
                    .try_update_value(|a| a.handle_timeout(wall_clock_ms()))
                    .flatten();
                session.abandon_probe(pkid);
                session.mirror_verdict();
            },
            std::time::Duration::from_millis(wait + 1),
        );
    }

    fn abandon_probe(&self, pkid: Option<u16>) {
        if let Some(pkid) = pkid {
            let _ = self.connection.try_with_value(|c| {
                if let Some(c) = c {
                    c.abandon(pkid);
                }
            });
        }
    }

    /// The verdict into the signals; when whether authors are vouched for changes, the
    /// retained statuses are read again under the new answer.
    fn mirror_verdict(&self) {
        let Some(verdict) = self.authorship.try_with_value(|a| a.verdict().clone()) else {
            return;
        };
        let vouched = verdict.vouched();
        if self.verdict.try_get_untracked().as_ref() != Some(&verdict) {
            self.verdict.try_set(verdict);
        }
        match self.vouched.try_get_untracked() {
            Some(was) if was != vouched => {}
            _ => return,
        }
        self.vouched.try_set(vouched);
        self.presence.try_update(|p| p.set_vouched(vouched));
        // Have the broker send every retained status again, read under the new answer.
        let _ = self.connection.try_with_value(|c| {
            if let Some(c) = c {
                let _ = c.subscribe(chat::VERIFIED_PRESENCE_FILTER, QoS::AtLeastOnce);
            }
        });
    }
}
