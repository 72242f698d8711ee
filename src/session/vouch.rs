//! Whether the broker vouches for authors. The rule is `chat::AuthorshipCheck`'s, inside the
//! core (`chat::Session`), and fails closed: only an MQTT 5 "not authorized" PUBACK to a
//! made-up author verifies anything (see its docs). This file starts a check on each
//! connect, with fresh randomness, and mirrors the verdict into the signals the view reads.

use leptos::prelude::*;

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
    /// A new link is up: the core says this tab is here and checks again (see
    /// `chat::authorship`), with a fresh made-up author; without randomness, no probe (not
    /// known).
    pub(super) fn core_connected(&self) {
        // The probe goes under this tab's presence key, never the client id.
        let Some(id) = self
            .core
            .try_with_value(|c| c.presence_tab().map(str::to_owned))
            .flatten()
        else {
            return;
        };
        let made_up = crate::browser::random_hex(6).unwrap_or_default();
        let random = js_sys::Math::random();
        self.core
            .try_update_value(|c| c.handle_connected(wall_clock_ms(), &id, &made_up, random));
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

    /// The verdict into the signals (the core reads statuses under it itself).
    pub(super) fn mirror_verdict(&self) {
        let Some(verdict) = self.core.try_with_value(|c| c.verdict().clone()) else {
            return;
        };
        let vouched = verdict.vouched();
        if self.verdict.try_get_untracked().as_ref() != Some(&verdict) {
            self.verdict.try_set(verdict);
        }
        if self.vouched.try_get_untracked() == Some(!vouched) {
            self.vouched.try_set(vouched);
        }
    }
}
