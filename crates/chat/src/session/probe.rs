//! The authorship check's probe (the rule is `AuthorshipCheck`'s): sent on each new link,
//! answered by its PUBACK, or by the probe itself coming back.

use super::{Key, Session, Transmit, ViewChange};
use crate::authorship::PROBE_PAYLOAD;

impl Session {
    /// A new link is up; `tab` is this tab's presence key (random and public, never its client
    /// id). This tab says it is here (the
    /// first time, `random` in [0, 1) picks when stale statuses are swept), and the
    /// authorship check starts again, with `made_up` (fresh randomness; empty when there is
    /// none: then it is not known).
    /// Rooms waiting for a link to ask for catch-up ask now (if storage is up too).
    pub fn handle_connected(&mut self, now: f64, tab: &str, made_up: &str, random: f64) {
        self.presence_connected(now, random);
        self.ask_unasked();
        if let Some(topic) = self.authorship.handle_connected(now, tab, made_up) {
            if made_up.is_empty() {
                self.authorship.handle_probe_not_sent();
            } else {
                self.transmits.push_back(Transmit::Publish {
                    key: Key::Probe,
                    topic,
                    payload: PROBE_PAYLOAD.to_vec(),
                });
            }
        }
        self.view(ViewChange::Verdict);
    }

    /// A message arrived on `topic`. Returns whether it was the probe coming back (then
    /// nothing else should read it).
    pub fn handle_message(&mut self, topic: &str) -> bool {
        let probe = self.authorship.handle_message(topic);
        if probe {
            self.view(ViewChange::Verdict);
        }
        probe
    }
}
