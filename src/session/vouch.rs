//! Whether the broker vouches for authors. The rule is `chat::AuthorshipCheck`'s, inside the
//! core (`chat::Session`), and fails closed: only an MQTT 5 "not authorized" PUBACK to a
//! made-up author verifies anything (see its docs). This file starts a check on each
//! connect, with fresh randomness, and mirrors the verdict into the signals the view reads.

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
    /// A new link is up: check again (see `chat::authorship`), with a fresh made-up author;
    /// without randomness, no probe (not known).
    pub(super) fn probe_authorship(&self) {
        let Some(id) = self.client_id.try_get_untracked().unwrap_or_default() else {
            return;
        };
        let made_up = crate::browser::random_hex(6).unwrap_or_default();
        self.core
            .try_update_value(|c| c.handle_connected(wall_clock_ms(), &id, &made_up));
        self.drive();
    }

    /// A message on `topic` arrived. Returns whether it was the probe coming back.
    pub(super) fn probe_came_back(&self, topic: &str) -> bool {
        let ours = self
            .core
            .try_update_value(|c| c.handle_message(topic))
            .unwrap_or(false);
        if ours {
            self.drive();
        }
        ours
    }

    /// The verdict into the signals; when whether authors are vouched for changes, the
    /// retained statuses are read again under the new answer.
    pub(super) fn mirror_verdict(&self) {
        let Some(verdict) = self.core.try_with_value(|c| c.verdict().clone()) else {
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
