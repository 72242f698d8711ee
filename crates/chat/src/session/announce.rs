//! What a screen reader is told about new messages in the open room: they gather for
//! [`ANNOUNCE_MS`] and are read as one line ([`Announcer`]), so a burst is not read out
//! line by line.

use super::{Session, ViewChange};
use crate::pace::{Announcer, ANNOUNCE_MS};

#[derive(Debug, Default)]
pub(super) struct AnnouncePart {
    announcer: Announcer,
    /// When the gathered messages are read.
    due: Option<f64>,
}

impl AnnouncePart {
    pub(super) fn poll_timeout(&self) -> Option<f64> {
        self.due
    }
}

impl Session {
    /// Someone else's message (`name`: `text`) arrived in the open room.
    pub(super) fn handle_arrived(&mut self, now: f64, name: &str, text: &str) {
        if self.announce.announcer.add(name, text) {
            self.announce.due = Some(now + ANNOUNCE_MS as f64);
        }
    }

    pub(super) fn announce_timeout(&mut self, now: f64) {
        if self.announce.due.is_some_and(|at| at <= now) {
            self.announce.due = None;
            if let Some(words) = self.announce.announcer.flush() {
                self.views.push_back(ViewChange::Announce(words));
            }
        }
    }
}
