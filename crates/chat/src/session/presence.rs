//! Presence: this tab's retained status on `chat/presence/<tab>` (online, with its person,
//! name and rooms) and its last will, which the broker publishes (offline) if it loses the
//! tab without a goodbye; and everyone's statuses read back into people ([`Presence`]), with
//! a grace period so that a reload never shows its user offline.
//!
//! `<tab>` is the tab's presence key, a random public id of its own, never its client id:
//! anyone who read a client id here could connect with it and take the tab's session over
//! (its queued messages, and the tab kicked off). Earlier versions used the client id; a
//! status left on such a topic is cleared when this tab hears it.
//!
//! Upkeep: some random 5 to 30 s after the page's first connect, the statuses older than
//! seven days that this tab sees are cleared (an empty retained publish; the randomness
//! spreads the tabs that see them), and every tab says its status again once a day.

use std::time::Duration;

use mqtt_core::{LastWill, QoS};

use super::{Session, Transmit, ViewChange};
use crate::presence::{Listing, Presence, PresenceRefresh, Status, ANONYMOUS};
use crate::topics::{presence_topic, AUTHOR_LEVEL};

/// How long a name must rest before it is said (one publish per burst of keys, not per key).
pub const NAME_SETTLE_MS: f64 = 400.0;
/// MQTT 5: how long the broker waits before it publishes the will. A reload reconnects well
/// within it (with the same client id), so it never shows the tab offline; a crash or a
/// lost network shows after it.
pub const WILL_DELAY: Duration = Duration::from_secs(5);
/// Our status said we were gone while we are here: said again at most this often, so a peer
/// that keeps writing it cannot make us loop.
pub const RESTORE_MS: f64 = 5_000.0;
/// How often it is checked whether the daily refresh is due.
pub const REFRESH_CHECK_MS: f64 = 3_600_000.0;
/// The sweep of stale statuses comes this long after the first connect, plus up to
/// [`SWEEP_SPREAD_MS`] more at random.
pub const SWEEP_AFTER_MS: f64 = 5_000.0;
pub const SWEEP_SPREAD_MS: f64 = 25_000.0;

/// When the once-a-page sweep of stale statuses runs.
#[derive(Clone, Debug, Default, PartialEq)]
enum Sweep {
    #[default]
    NotYet,
    Due(f64),
    Done,
}

/// How many statuses on former topics (`<client id>` and `<client id>/from/<user>`) one page
/// clears at most: the retained ones, and a will a crashed node publishes late, but a peer
/// that keeps writing there gets no more publishes from us.
pub const MAX_FORMER_CLEARS: usize = 4;

/// This tab's status and everyone's.
#[derive(Debug, Default)]
pub(super) struct PresencePart {
    people: Presence,
    /// This tab's presence key, once known: a random public id of its own, never its client
    /// id, which would let anyone take over its session.
    tab: Option<String>,
    /// The client id that earlier versions named this tab's status after: statuses heard
    /// on its topics are cleared (at most [`MAX_FORMER_CLEARS`] a page).
    former: Option<String>,
    /// How many clears of former topics this page sent.
    former_cleared: usize,
    /// The signed-in user: the status goes to `.../from/<user>`.
    user: Option<String>,
    pub(super) name: String,
    rooms: Vec<String>,
    connected: bool,
    /// When our online status was last said.
    last_published: Option<f64>,
    /// When our status was last said again because its topic said we were gone.
    last_restored: Option<f64>,
    /// A name change is said then.
    name_due: Option<f64>,
    sweep: Sweep,
    /// When it is next checked whether the daily refresh is due.
    refresh_due: Option<f64>,
    /// MQTT 5: the broker refused a retained will (CONNACK 0x9A, retain not supported): the
    /// will goes without the flag from then on.
    no_retain: bool,
}

impl PresencePart {
    pub(super) fn people_vouched(&mut self, vouched: bool) {
        self.people.set_vouched(vouched);
    }

    pub(super) fn poll_timeout(&self) -> Option<f64> {
        let sweep = match self.sweep {
            Sweep::Due(at) => Some(at),
            _ => None,
        };
        [
            self.people.poll_timeout(),
            self.name_due,
            sweep,
            self.refresh_due,
        ]
        .into_iter()
        .flatten()
        .min_by(f64::total_cmp)
    }
}

impl Session {
    /// This tab's presence key and signed-in user: where its status and will go. The key is
    /// public; never pass the client id, which is the session's secret.
    pub fn set_tab(&mut self, tab: &str, user: Option<&str>) {
        self.presence.tab = Some(tab.to_owned());
        self.presence.user = user.map(str::to_owned);
    }

    /// The client id earlier versions published this tab's status under
    /// (`chat/presence/<client id>`, and `.../from/<user>`). A status still retained there
    /// would show the tab, and its client id, for days: it is cleared when heard.
    pub fn set_former_tab(&mut self, client_id: &str) {
        if self.presence.tab.as_deref() != Some(client_id) {
            self.presence.former = Some(client_id.to_owned());
        }
    }

    /// Everyone's statuses, read into people (for `#presence`).
    pub fn listing(&self, room: &str, now: f64) -> Listing {
        self.presence.people.listing(room, now)
    }

    /// This tab's status at `now`.
    fn status(&self, now: f64, online: bool) -> Status {
        let name = self.presence.name.trim();
        Status {
            person: self.person.clone(),
            name: if name.is_empty() {
                ANONYMOUS.to_owned()
            } else {
                name.to_owned()
            },
            rooms: self.presence.rooms.clone(),
            online,
            ts: now,
            lost: false,
        }
    }

    fn own_topic(&self) -> Option<String> {
        let tab = self.presence.tab.as_deref()?;
        Some(presence_topic(tab, self.presence.user.as_deref()))
    }

    /// The will for CONNECT: offline, retained (unless the broker refused that), from the
    /// moment the broker loses us. None before [`Session::set_tab`].
    pub fn will(&self, now: f64) -> Option<LastWill> {
        let status = Status {
            lost: true,
            ..self.status(now, false)
        };
        Some(LastWill {
            topic: self.own_topic()?,
            payload: status.to_json().into(),
            qos: QoS::AtLeastOnce,
            retain: !self.presence.no_retain,
            delay: WILL_DELAY,
        })
    }

    /// Our offline status (topic, payload), said on a clean leave.
    pub fn offline_status(&self, now: f64) -> Option<(String, Vec<u8>)> {
        Some((self.own_topic()?, self.status(now, false).to_json()))
    }

    /// The broker refused our CONNECT because it keeps no retained messages (MQTT 5
    /// §3.1.2.7: then a retained will must be refused). The first time, the will to connect
    /// again with at once; after that None, so a broker that refuses again waits for the user.
    pub fn handle_retain_refused(&mut self, now: f64) -> Option<LastWill> {
        if std::mem::replace(&mut self.presence.no_retain, true) {
            return None;
        }
        self.will(now)
    }

    /// The name at start (said with the first status).
    pub fn set_name(&mut self, name: &str) {
        name.clone_into(&mut self.presence.name);
    }

    /// The user edits their name: it is said [`NAME_SETTLE_MS`] after the edit began (one
    /// publish per burst of keys), the latest one.
    pub fn handle_name(&mut self, now: f64, name: &str) {
        name.clone_into(&mut self.presence.name);
        if self.presence.name_due.is_none() {
            self.presence.name_due = Some(now + NAME_SETTLE_MS);
        }
    }

    /// The rooms this tab has joined changed: the others are told.
    pub(super) fn handle_rooms(&mut self, now: f64, rooms: Vec<String>) {
        if rooms != self.presence.rooms {
            self.presence.rooms = rooms;
            self.say_status(now);
        }
    }

    /// Say we are here (with our name and rooms), and keep the will in step: the will is
    /// set even offline, the status goes out only on a link.
    fn say_status(&mut self, now: f64) {
        let Some(will) = self.will(now) else {
            return;
        };
        self.transmits.push_back(Transmit::Will(will));
        if self.presence.connected {
            if let Some(topic) = self.own_topic() {
                self.transmits.push_back(Transmit::Status {
                    topic,
                    payload: self.status(now, true).to_json(),
                });
                self.presence.last_published = Some(now);
            }
        }
    }

    /// The link is up: say we are here; the first time, plan the sweep of stale statuses
    /// (`random` in [0, 1) picks when) and the daily refresh.
    pub(super) fn presence_connected(&mut self, now: f64, random: f64) {
        self.presence.connected = true;
        self.say_status(now);
        if self.presence.sweep == Sweep::NotYet {
            let random = if random.is_finite() {
                random.clamp(0.0, 1.0)
            } else {
                0.0
            };
            let spread = random * SWEEP_SPREAD_MS;
            self.presence.sweep = Sweep::Due(now + SWEEP_AFTER_MS + spread);
        }
        if self.presence.refresh_due.is_none() {
            self.presence.refresh_due = Some(now + REFRESH_CHECK_MS);
        }
    }

    /// A link is up (since the last [`Session::handle_connected`]).
    pub(super) fn presence_connected_now(&self) -> bool {
        self.presence.connected
    }

    pub(super) fn presence_link_lost(&mut self) {
        self.presence.connected = false;
    }

    /// A retained status (or its clearing: an empty payload) on `chat/presence/<tab>`.
    pub fn handle_presence(&mut self, now: f64, tab: &str, payload: &[u8]) {
        self.clear_former(tab, payload);
        self.restore_own_status(now, tab, payload);
        if self.presence.people.update(tab, payload, now) {
            self.view(ViewChange::Presence);
        }
    }

    /// This tab's presence key, once set: its status topic, and its authorship probe's.
    pub fn presence_tab(&self) -> Option<&str> {
        self.presence.tab.as_deref()
    }

    /// A status on a topic named after our client id (an earlier version's): cleared.
    fn clear_former(&mut self, tab: &str, payload: &[u8]) {
        let Some(former) = self.presence.former.as_deref() else {
            return;
        };
        let ours = tab == former
            || tab
                .strip_prefix(former)
                .is_some_and(|rest| rest.starts_with(&format!("/{AUTHOR_LEVEL}/")));
        if !ours || payload.is_empty() || self.presence.former_cleared >= MAX_FORMER_CLEARS {
            return;
        }
        self.presence.former_cleared += 1;
        self.transmits.push_back(Transmit::Clear {
            topic: presence_topic(tab, None),
        });
    }

    /// Our own status topic says we are gone while this tab is connected: a will fired late
    /// (a crashed cluster node publishes the wills of its clients seconds later, even of
    /// those that moved to another node), or someone else wrote it. Say we are here again,
    /// at most once every [`RESTORE_MS`].
    fn restore_own_status(&mut self, now: f64, tab: &str, payload: &[u8]) {
        // Only the topic this tab's status goes to (a leftover `<id>/from/<old user>`, or
        // `<id>` while signed in, is not ours to answer: saying ours would not change it).
        if self.own_topic() != Some(presence_topic(tab, None)) || !self.presence.connected {
            return;
        }
        let says_online = serde_json::from_slice::<serde_json::Value>(payload)
            .ok()
            .and_then(|v| v.get("online").and_then(serde_json::Value::as_bool))
            == Some(true);
        if says_online {
            return;
        }
        if let Some(at) = self.presence.last_restored {
            if (0.0..RESTORE_MS).contains(&(now - at)) {
                return;
            }
        }
        self.presence.last_restored = Some(now);
        self.say_status(now);
    }

    /// Whether the broker vouches for authors changed: statuses from `.../from/<user>` are
    /// read again under the new answer (the broker is asked to send them again).
    pub(super) fn presence_vouched(&mut self, vouched: bool) {
        if self.presence.people.vouched() != vouched {
            self.presence.people.set_vouched(vouched);
            self.transmits.push_back(Transmit::Subscribe {
                filter: crate::topics::VERIFIED_PRESENCE_FILTER.to_owned(),
            });
            self.view(ViewChange::Presence);
        }
    }

    /// Time passed: the name said, graces ended, the sweep, the daily refresh.
    pub(super) fn presence_timeout(&mut self, now: f64) {
        if self.presence.name_due.is_some_and(|at| at <= now) {
            self.presence.name_due = None;
            self.say_status(now);
        }
        if self.presence.people.expire(now) {
            self.view(ViewChange::Presence);
        }
        if matches!(self.presence.sweep, Sweep::Due(at) if at <= now) {
            self.presence.sweep = Sweep::Done;
            for tab in self.presence.people.stale(now) {
                // `tab` is the topic after the prefix, `.../from/<user>` included.
                self.transmits.push_back(Transmit::Clear {
                    topic: presence_topic(&tab, None),
                });
            }
        }
        if self.presence.refresh_due.is_some_and(|at| at <= now) {
            self.presence.refresh_due = Some(now + REFRESH_CHECK_MS);
            if self.presence.connected && PresenceRefresh::due(self.presence.last_published, now) {
                self.say_status(now);
            }
        }
    }
}
