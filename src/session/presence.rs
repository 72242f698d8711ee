//! Presence, driven: the rules (this tab's status and last will, everyone's statuses, the
//! grace period, the sweep of stale statuses, the daily refresh) are the core's
//! (`chat::Session`, see its `presence` module). This file hands it the name, the joined
//! rooms and the statuses that arrive, and gives the view who is where.

use leptos::prelude::*;
use mqtt_core::{IncomingMessage, LastWill};

use super::ChatSession;
use crate::browser::identity::TabIdentity;
use crate::browser::wall_clock_ms;

impl ChatSession {
    /// The will for this tab's CONNECT, once its identity is known: its status goes to a
    /// topic named after its presence key (never the client id, which would let anyone take
    /// the session over); a status an earlier version left under the client id is cleared
    /// when heard.
    pub(super) fn will(&self, me: &TabIdentity) -> Option<LastWill> {
        let user = self.user.try_get_value().unwrap_or_default();
        self.core
            .try_update_value(|c| {
                c.set_tab(&me.presence_key, user.as_deref());
                c.set_former_tab(&me.client_id);
                c.will(wall_clock_ms())
            })
            .flatten()
    }

    /// The broker refused our CONNECT because it keeps no retained messages (MQTT 5
    /// §3.1.2.7: then a retained will must be refused): connect again at once with a will it
    /// takes; once only, so a broker that refuses again waits for the user.
    pub(super) fn will_without_retain(&self) {
        let Some(Some(will)) = self
            .core
            .try_update_value(|c| c.handle_retain_refused(wall_clock_ms()))
        else {
            return;
        };
        let _ = self.connection.try_with_value(|c| {
            if let Some(c) = c {
                let _ = c.set_will(Some(will));
                c.retry();
            }
        });
    }

    /// Our offline status, said on a clean leave.
    pub(super) fn offline_status(&self) -> Option<(String, Vec<u8>)> {
        self.core
            .try_with_value(|c| c.offline_status(wall_clock_ms()))
            .flatten()
    }

    /// The user edits their name: others see it once it rests (the core's rule).
    pub fn name_changed(&self) {
        let name = self.name.try_get_untracked().unwrap_or_default();
        self.core
            .try_update_value(|c| c.handle_name(wall_clock_ms(), &name));
        self.drive();
    }

    /// A status (or its clearing) from some tab.
    pub(super) fn on_presence(&self, tab: &str, message: &IncomingMessage) {
        self.core
            .try_update_value(|c| c.handle_presence(wall_clock_ms(), tab, &message.payload));
        self.drive();
    }

    /// Who `#presence` lists in `room` at `now` (track `presence_tick` to follow changes).
    pub fn listing(&self, room: &str, now: f64) -> chat::Listing {
        self.core
            .try_with_value(|c| c.listing(room, now))
            .unwrap_or_default()
    }
}
