//! Who is here: the retained status each tab publishes on `chat/presence/<tab>`, read back
//! into one entry per person, with a grace period so that a reload never shows anyone offline.
//!
//! Pure state on a virtual clock: every time is milliseconds since the Unix epoch, passed in.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::room::RoomName;
use crate::topics::{MAX_AUTHOR_BYTES, MAX_TAB_ID_BYTES};

/// Largest status payload read, in bytes.
pub const MAX_STATUS_BYTES: usize = 8 * 1024;
/// Longest person id, in UTF-8 bytes.
pub const MAX_PERSON_BYTES: usize = 64;
/// Longest name kept, in characters; longer names are cut.
pub const MAX_STATUS_NAME_CHARS: usize = 64;
/// Most rooms kept from one status; the rest are dropped.
pub const MAX_STATUS_ROOMS: usize = 50;
/// Statuses older than this (7 days) are ignored and listed by [`Presence::stale`].
pub const MAX_AGE_MS: f64 = 7.0 * 24.0 * 3600.0 * 1000.0;
/// Statuses more than this (1 day) in the future are ignored and listed by [`Presence::stale`].
pub const MAX_FUTURE_MS: f64 = 24.0 * 3600.0 * 1000.0;
/// Most tabs remembered at once.
pub const MAX_TABS: usize = 2_000;
/// How long a person whose last online tab went offline is still shown online.
pub const GRACE_MS: f64 = 3_500.0;
/// Most people [`Presence::people_in`] returns; [`Presence::count_in`] says how many there are.
pub const MAX_SHOWN: usize = 200;
/// How often an online tab republishes its status (with a new `ts`).
pub const REFRESH_MS: f64 = 24.0 * 3600.0 * 1000.0;
/// How long an offline person is still listed (collapsed under "N offline", see
/// [`Presence::listing`]) after they were last seen: 24 hours.
pub const OFFLINE_LISTED_MS: f64 = 24.0 * 3600.0 * 1000.0;
/// The name shown for a status without one.
pub const ANONYMOUS: &str = "anonymous";

/// One tab's status as it travels (retained, QoS 1, on `chat/presence/<tab>`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    /// A random id per browser profile, shared by all its tabs.
    pub person: String,
    pub name: String,
    /// The rooms this tab has joined (`messages` is the default room).
    pub rooms: Vec<String>,
    pub online: bool,
    /// The sender's clock, milliseconds since the Unix epoch.
    pub ts: f64,
    /// Set on the last will only: the broker lost the tab (it crashed, or its network went)
    /// rather than the tab saying goodbye. Not read back: it lets a watcher tell the two apart.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub lost: bool,
}

impl Status {
    pub fn to_json(&self) -> Vec<u8> {
        // Plain strings, a bool and a number cannot fail; NaN/inf become null.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Why a presence payload was not read.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BadStatus {
    #[error("Presence status too large: {bytes} bytes, the limit is {limit}.")]
    TooLarge { bytes: usize, limit: usize },
    #[error("Presence status is not JSON.")]
    NotJson,
    #[error("Presence status is not a JSON object.")]
    NotObject,
    #[error("Presence status has no person id, or it is not text, empty or over 64 bytes.")]
    Person,
    #[error("Presence status has a name that is not text.")]
    Name,
    #[error("Presence status has rooms that are not a list.")]
    Rooms,
    #[error("Presence status does not say true or false for online.")]
    Online,
    #[error("Presence status has no time, or it is not a finite number.")]
    Ts,
}

/// Reads a status: extra fields are ignored, but the fields it reads must have their types.
/// `person`, `online` and `ts` are required; `name` defaults to "anonymous" and `rooms` to
/// none. The name is trimmed and cut to 64 characters. Rooms that are not acceptable room
/// names (text, not blank, no surrounding whitespace, at most 64 bytes, no `/ + #` or
/// control characters, not starting with `$`) are dropped, duplicates too, and at most 50 are kept.
pub fn decode_status(bytes: &[u8]) -> Result<Status, BadStatus> {
    if bytes.len() > MAX_STATUS_BYTES {
        return Err(BadStatus::TooLarge {
            bytes: bytes.len(),
            limit: MAX_STATUS_BYTES,
        });
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|_| BadStatus::NotJson)?;
    let Value::Object(map) = value else {
        return Err(BadStatus::NotObject);
    };
    let (person, name) = who(&map).map_err(|field| match field {
        Who::Person => BadStatus::Person,
        Who::Name => BadStatus::Name,
    })?;
    let rooms = match map.get("rooms") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut kept: Vec<String> = Vec::new();
            for item in items {
                if kept.len() == MAX_STATUS_ROOMS {
                    break;
                }
                if let Value::String(room) = item {
                    if room_ok(room) && !kept.contains(room) {
                        kept.push(room.clone());
                    }
                }
            }
            kept
        }
        Some(_) => return Err(BadStatus::Rooms),
    };
    let online = match map.get("online") {
        Some(Value::Bool(b)) => *b,
        _ => return Err(BadStatus::Online),
    };
    let ts = match map.get("ts").and_then(Value::as_f64) {
        Some(ts) if ts.is_finite() => ts,
        _ => return Err(BadStatus::Ts),
    };
    Ok(Status {
        person,
        name: clean_name(&name, MAX_STATUS_NAME_CHARS),
        rooms,
        online,
        ts,
        lost: false,
    })
}

/// Trimmed, cut to `max` characters, trimmed again; "anonymous" if nothing is left.
/// Which of the fields that say who sent a status or a signal is wrong.
pub(crate) enum Who {
    Person,
    Name,
}

/// The sender of a status or a typing signal: `person` (required, text, 1 to 64 bytes) and
/// `name` (text; empty when missing), both as sent.
pub(crate) fn who(map: &serde_json::Map<String, Value>) -> Result<(String, String), Who> {
    let person = match map.get("person") {
        Some(Value::String(p)) if !p.is_empty() && p.len() <= MAX_PERSON_BYTES => p.clone(),
        _ => return Err(Who::Person),
    };
    let name = match map.get("name") {
        None => String::new(),
        Some(Value::String(n)) => n.clone(),
        Some(_) => return Err(Who::Name),
    };
    Ok((person, name))
}

pub(crate) fn clean_name(name: &str, max: usize) -> String {
    let cut: String = name.trim().chars().take(max).collect();
    let cut = cut.trim();
    if cut.is_empty() {
        ANONYMOUS.to_owned()
    } else {
        cut.to_owned()
    }
}

/// The room-name rules of the design. Names are taken as they are, not trimmed: one with
/// surrounding whitespace is not a name this app publishes, and is dropped.
fn room_ok(room: &str) -> bool {
    // Exactly a valid room name, as this app writes them (no whitespace to trim).
    RoomName::parse(room).is_ok_and(|r| r.as_str() == room)
}

/// The person id of a verified user: `user:<name>` (random person ids are hex).
pub const USER_PERSON_PREFIX: &str = "user:";

/// One person as shown in a room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub person: String,
    pub name: String,
    pub online: bool,
    /// The broker vouches for the name: the newest status came on a `.../from/<user>` topic
    /// and its name is that user.
    pub verified: bool,
}

/// Who `#presence` lists in a room: see [`Presence::listing`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Listing {
    /// Online (or within the grace after their last tab closed).
    pub online: Vec<Person>,
    /// Offline, last seen within a day, and each with a name nobody listed before has.
    pub offline: Vec<Person>,
    /// How many are online, listed or not (the lists are cut at [`MAX_SHOWN`]).
    pub online_count: usize,
    /// How many offline people are to be listed, listed or not.
    pub offline_count: usize,
    /// When the listing changes with no new status: the next moment an offline person
    /// listed has been gone a day.
    pub changes_at: Option<f64>,
}

impl Listing {
    /// How many the lists leave out because of [`MAX_SHOWN`].
    pub fn more(&self) -> usize {
        self.online_count + self.offline_count - self.online.len() - self.offline.len()
    }
}

/// Whether an online tab should republish its status: never published, or at least
/// [`REFRESH_MS`] (24 h) ago, or the clock went back since.
pub struct PresenceRefresh;

impl PresenceRefresh {
    pub fn due(last_published: Option<f64>, now: f64) -> bool {
        match last_published {
            None => true,
            Some(last) => now - last >= REFRESH_MS || now < last,
        }
    }
}

/// A finite time with a total order, for ordered keys.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Ms(f64);

impl Eq for Ms {}

impl PartialOrd for Ms {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ms {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Eviction order: stale statuses first, then offline, then online; oldest `ts` first.
type EvictKey = (u8, Ms, u64);

struct Tab {
    status: Status,
    /// The user its topic proves (`chat/presence/<tab>/from/<user>`).
    author: Option<String>,
    /// Arrival order, to break ties between equal `ts`.
    seq: u64,
    /// Online and fresh when it arrived: counted in its person's `online_tabs`.
    counted: bool,
    evict_key: EvictKey,
}

#[derive(Default)]
struct PersonState {
    tabs: HashSet<String>,
    /// Tabs counted online (fresh when they arrived).
    online_tabs: usize,
    /// When the last online tab went offline, while that may still be within the grace.
    offline_since: Option<f64>,
}

/// What the app knows of everyone's tabs, from the retained statuses on `chat/presence/+`.
#[derive(Default)]
pub struct Presence {
    tabs: HashMap<String, Tab>,
    people: HashMap<String, PersonState>,
    /// Room name -> the tabs whose status lists it.
    rooms: HashMap<String, HashSet<String>>,
    evict: BTreeMap<EvictKey, String>,
    /// (end of grace, person), for [`Presence::poll_timeout`].
    graces: BTreeSet<(Ms, String)>,
    seq: u64,
    /// Authors in topics prove nothing here (see [`Presence::set_vouched`]).
    unvouched: bool,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence")
            .field("tabs", &self.tabs.len())
            .field("people", &self.people.len())
            .finish_non_exhaustive()
    }
}

fn fresh(ts: f64, now: f64) -> bool {
    ts >= now - MAX_AGE_MS && ts <= now + MAX_FUTURE_MS
}

impl Presence {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a `.../from/<user>` topic proves its user (the default): only a tab signed in
    /// to its broker takes it so; on an anonymous broker anyone may write any topic. Set
    /// before statuses arrive.
    pub fn set_vouched(&mut self, vouched: bool) {
        self.unvouched = !vouched;
    }

    pub fn vouched(&self) -> bool {
        !self.unvouched
    }

    /// Takes the payload retained on `chat/presence/<tab>`. Returns true if what anyone shows
    /// may have changed. An empty payload (the status was cleared) forgets the tab; a
    /// malformed one is ignored; a stale one (older than 7 days or over 1 day in the future)
    /// replaces the tab's status but is not shown, and is listed by [`Presence::stale`].
    pub fn update(&mut self, tab: &str, payload: &[u8], now: f64) -> bool {
        self.expire(now);
        // `<tab key>` or `<tab key>/from/<user>`.
        let key = tab.split('/').next().unwrap_or(tab);
        if key.len() > MAX_TAB_ID_BYTES || tab.len() > MAX_TAB_ID_BYTES + MAX_AUTHOR_BYTES + 6 {
            return false;
        }
        if payload.is_empty() {
            return self.remove(tab, now, true);
        }
        let Ok(mut status) = decode_status(payload) else {
            return false;
        };
        // A user the broker vouches for is one person on every browser and device: their
        // tabs are grouped by the user name, not by each browser's random person id.
        let author = crate::topics::author_of(tab).filter(|_| !self.unvouched);
        if let Some(user) = author.filter(|u| *u == status.name) {
            status.person = format!("{USER_PERSON_PREFIX}{user}");
        } else if status.person.starts_with(USER_PERSON_PREFIX) {
            // Only the broker makes a `user:` person: one that says so itself is moved
            // aside, so it can never join (or rename) a verified user's entry.
            status.person = format!("claimed-{}", status.person);
        }
        // A last will is written at connect (MQTT 3.1.1 cannot change it later), so it can
        // be older than the status it replaces: it changes only the state, not the name,
        // the rooms or the time the tab was last heard of.
        if let Some(old) = self.tabs.get(tab) {
            // A tab says where it is in order, each status newer than the last; an older
            // (still fresh) one arriving after a newer one was reordered on the way (a
            // clustered broker may do that) and is out of date. A stale one still counts:
            // it tells the tab is gone (see the sweep).
            if status.online
                && status.ts < old.status.ts
                && fresh(status.ts, now)
                && status.person == old.status.person
            {
                return false;
            }
            if !status.online && status.ts < old.status.ts && status.person == old.status.person {
                status.name = old.status.name.clone();
                status.rooms = old.status.rooms.clone();
                status.ts = old.status.ts;
            }
        }
        if self.tabs.get(tab).is_some_and(|t| t.status == status) {
            return false;
        }
        let is_fresh = fresh(status.ts, now);
        // A tab replacing its own status keeps its person (and their grace).
        let same_person = self
            .tabs
            .get(tab)
            .is_some_and(|t| t.status.person == status.person);
        let changed = self.remove(tab, now, !same_person) || is_fresh;
        if self.tabs.len() >= MAX_TABS {
            // Full: a stale or offline tab makes room. Tabs online are never pushed out by a
            // newcomer, so a flood of made-up statuses cannot hide the people already here.
            if self.evict.first_key_value().is_some_and(|(k, _)| k.0 == 2) {
                return changed;
            }
            if let Some((_, victim)) = self.evict.pop_first() {
                self.remove(&victim, now, true);
            }
        }
        self.seq += 1;
        let counted = is_fresh && status.online;
        let tier = match (is_fresh, status.online) {
            (false, _) => 0,
            (true, false) => 1,
            (true, true) => 2,
        };
        let evict_key = (tier, Ms(status.ts), self.seq);
        self.evict.insert(evict_key, tab.to_owned());
        for room in &status.rooms {
            self.rooms
                .entry(room.clone())
                .or_default()
                .insert(tab.to_owned());
        }
        let person = self.people.entry(status.person.clone()).or_default();
        person.tabs.insert(tab.to_owned());
        if counted {
            person.online_tabs += 1;
            if let Some(since) = person.offline_since.take() {
                self.graces
                    .remove(&(Ms(since + GRACE_MS), status.person.clone()));
            }
        }
        self.tabs.insert(
            tab.to_owned(),
            Tab {
                status,
                author: author.map(str::to_owned),
                seq: self.seq,
                counted,
                evict_key,
            },
        );
        changed
    }

    /// Forgets a tab, and its person too if it was their last tab and `forget_person`.
    /// Returns true if it was shown.
    fn remove(&mut self, tab: &str, now: f64, forget_person: bool) -> bool {
        let Some(old) = self.tabs.remove(tab) else {
            return false;
        };
        self.evict.remove(&old.evict_key);
        for room in &old.status.rooms {
            if let Some(tabs) = self.rooms.get_mut(room) {
                tabs.remove(tab);
                if tabs.is_empty() {
                    self.rooms.remove(room);
                }
            }
        }
        let id = &old.status.person;
        if let Some(person) = self.people.get_mut(id) {
            person.tabs.remove(tab);
            if old.counted {
                person.online_tabs -= 1;
                if person.online_tabs == 0 {
                    person.offline_since = Some(now);
                    self.graces.insert((Ms(now + GRACE_MS), id.clone()));
                }
            }
            if forget_person && person.tabs.is_empty() {
                if let Some(since) = person.offline_since {
                    self.graces.remove(&(Ms(since + GRACE_MS), id.clone()));
                }
                self.people.remove(id);
            }
        }
        fresh(old.status.ts, now)
    }

    /// Ends the graces that are over by `now`. Returns true if any ended (re-render).
    /// [`Presence::update`] calls it too; the answers of [`Presence::people_in`] do not
    /// depend on it.
    pub fn expire(&mut self, now: f64) -> bool {
        let mut any = false;
        while let Some((end, _)) = self.graces.first() {
            if end.0 > now {
                break;
            }
            let Some((_, id)) = self.graces.pop_first() else {
                break;
            };
            if let Some(person) = self.people.get_mut(&id) {
                person.offline_since = None;
            }
            any = true;
        }
        any
    }

    /// The next moment a grace ends, when a person may turn offline on screen.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.graces.first().map(|(end, _)| end.0)
    }

    /// How many tabs are remembered (at most [`MAX_TABS`]).
    pub fn tab_count(&self) -> usize {
        self.tabs.len()
    }

    /// Everyone whose fresh tabs list `room`, each with when they were last seen.
    fn everyone_in(&self, room: &str, now: f64) -> Vec<(Person, f64)> {
        let Some(tabs) = self.rooms.get(room) else {
            return Vec::new();
        };
        let mut ids: Vec<&str> = tabs
            .iter()
            .filter_map(|t| self.tabs.get(t))
            .filter(|t| fresh(t.status.ts, now))
            .map(|t| t.status.person.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| self.person(id, room, now))
            .collect()
    }

    /// One person from their fresh tabs, if the newest of them lists `room` (an older tab's
    /// status may list a room the person has left since): online if any tab is (or within
    /// the grace), named by the newest; and when they were last seen, the `ts` of that
    /// newest status.
    fn person(&self, id: &str, room: &str, now: f64) -> Option<(Person, f64)> {
        let state = self.people.get(id)?;
        let mut newest: Option<&Tab> = None;
        let mut online = false;
        for tab in state.tabs.iter().filter_map(|t| self.tabs.get(t)) {
            if !fresh(tab.status.ts, now) {
                continue;
            }
            online |= tab.status.online;
            let newer =
                newest.is_none_or(|n| (Ms(tab.status.ts), tab.seq) > (Ms(n.status.ts), n.seq));
            if newer {
                newest = Some(tab);
            }
        }
        let newest = newest?;
        if !newest.status.rooms.iter().any(|r| r == room) {
            return None;
        }
        let in_grace = state
            .offline_since
            .is_some_and(|since| now - since < GRACE_MS);
        let person = Person {
            person: id.to_owned(),
            name: newest.status.name.clone(),
            online: online || in_grace,
            verified: newest.author.as_deref() == Some(newest.status.name.as_str()),
        };
        Some((person, newest.status.ts))
    }

    /// The people whose fresh tabs list `room`, one entry per person: online first, then by
    /// name (ignoring case), then by person id. At most [`MAX_SHOWN`].
    pub fn people_in(&self, room: &str, now: f64) -> Vec<Person> {
        let mut people: Vec<(bool, String, Person)> = self
            .everyone_in(room, now)
            .into_iter()
            .map(|(p, _)| (!p.online, p.name.to_lowercase(), p))
            .collect();
        people.sort_unstable_by(|a, b| (a.0, &a.1, &a.2.person).cmp(&(b.0, &b.1, &b.2.person)));
        people.truncate(MAX_SHOWN);
        people.into_iter().map(|(_, _, p)| p).collect()
    }

    /// How many people [`Presence::people_in`] would list without its limit.
    pub fn count_in(&self, room: &str, now: f64) -> usize {
        self.everyone_in(room, now).len()
    }

    /// What `#presence` lists in `room` at `now`: who is online, and apart from them, to be
    /// shown collapsed under "N offline", the offline people last seen at most
    /// [`OFFLINE_LISTED_MS`] (24 h) before `now`. Nobody seen longer ago is listed, though
    /// their statuses are kept (up to 7 days, [`MAX_AGE_MS`]).
    ///
    /// "Last seen" is the `ts` of the person's newest status: the moment a tab said goodbye,
    /// or, for a tab that was lost (its last will), the last status it sent, which an online
    /// tab renews daily ([`REFRESH_MS`]).
    ///
    /// A name is listed once at most among the offline, and not at all if someone online
    /// has it: people with one name (exactly, case and all) are most likely one human, back
    /// from another browser or profile (a new person id each time). An offline person is
    /// not listed if someone online, or offline but seen later (or, seen at the same time,
    /// with a smaller person id), has their name. Online people with equal names are all
    /// listed.
    ///
    /// Each list is by name ignoring case, then the name itself, then the one seen last
    /// first, then person id; the online list is cut first, and both together hold at most
    /// [`MAX_SHOWN`]. The counts are before that cut.
    pub fn listing(&self, room: &str, now: f64) -> Listing {
        let mut all: Vec<(bool, String, Person, f64)> = self
            .everyone_in(room, now)
            .into_iter()
            .filter(|(p, seen)| p.online || now - seen <= OFFLINE_LISTED_MS)
            .map(|(p, seen)| (!p.online, p.name.to_lowercase(), p, seen))
            .collect();
        // Online first; then by name ignoring case, then the name itself; of equal names
        // the one seen last first; then by person id.
        fn order(x: &(bool, String, Person, f64)) -> (bool, &str, &str, Ms, &str) {
            (x.0, &x.1, &x.2.name, Ms(-x.3), &x.2.person)
        }
        all.sort_unstable_by(|a, b| order(a).cmp(&order(b)));
        let mut names = HashSet::new();
        let mut listing = Listing::default();
        for (offline, _, person, seen) in all {
            let first = names.insert(person.name.clone());
            if !offline {
                listing.online.push(person);
            } else if first {
                let leaves = seen + OFFLINE_LISTED_MS;
                listing.changes_at = Some(listing.changes_at.map_or(leaves, |at| at.min(leaves)));
                listing.offline.push(person);
            }
        }
        listing.online_count = listing.online.len();
        listing.offline_count = listing.offline.len();
        listing.online.truncate(MAX_SHOWN);
        listing.offline.truncate(MAX_SHOWN - listing.online.len());
        listing
    }

    /// The tabs whose status is stale at `now` (older than 7 days, or over 1 day in the
    /// future), oldest first: the app clears them with an empty retained publish.
    pub fn stale(&self, now: f64) -> Vec<String> {
        let mut stale: Vec<(Ms, u64, &String)> = self
            .tabs
            .iter()
            .filter(|(_, t)| !fresh(t.status.ts, now))
            .map(|(id, t)| (Ms(t.status.ts), t.seq, id))
            .collect();
        stale.sort_unstable();
        stale.into_iter().map(|(_, _, id)| id.clone()).collect()
    }
}
