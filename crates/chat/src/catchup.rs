//! Catch-up without a server: a tab that joins a room (or lost its session) asks the room's
//! catch-up topic for recent messages, and tabs holding them in their history answer.
//!
//! - The wire: a [`Request`] `{"type":"request","id","since","limit"}` and an [`Answer`]
//!   `{"type":"answer","re","messages":[{"uid","at","payload"}]}`, decoded with bounds
//!   ([`decode`]) and encoded in chunks of at most [`MAX_ANSWER_BYTES`] ([`encode_answer`]).
//! - The answering side, [`Responder`]: waits a random 200–1200 ms, watches the answers other
//!   tabs send to the same request, and sends only what they did not cover.
//! - The asking side, [`Requests`]: takes answers for [`ANSWER_WINDOW_MS`] after asking, at
//!   most [`MAX_ACCEPTED`] distinct entries per request.
//!
//! Pure: times are ms passed in, randomness is an `f64` in `[0, 1)` passed in.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::room::RoomName;

/// The most messages one request asks for.
pub const CATCH_UP_LIMIT: usize = 100;
/// The longest request id (and `re` of an answer), in bytes.
pub const MAX_REQUEST_ID_BYTES: usize = 64;
/// A catch-up packet larger than this is refused unread.
pub const MAX_PACKET_BYTES: usize = 64 * 1024;
/// The most entries kept from one answer; the rest are dropped.
pub const MAX_ANSWER_ENTRIES: usize = 100;
/// The longest entry uid, in bytes; entries with longer ones are dropped.
pub const MAX_UID_BYTES: usize = 128;
/// The largest entry payload, in bytes; larger entries are dropped.
pub const MAX_ENTRY_PAYLOAD_BYTES: usize = 8 * 1024;
/// The largest answer payload this app sends.
pub const MAX_ANSWER_BYTES: usize = 48 * 1024;
/// An answerer waits at least this long before answering...
pub const ANSWER_DELAY_MIN_MS: f64 = 200.0;
/// ...plus up to this much more, picked at random.
pub const ANSWER_DELAY_SPREAD_MS: f64 = 1_000.0;
/// How long the answerer keeps what answers covered after its answer fell due.
pub const COVERED_KEPT_MS: f64 = 15_000.0;
/// The most requests an answerer tracks at once (the oldest are dropped).
pub const MAX_PENDING: usize = 32;
/// The most uids recorded as covered for one request; further ones are not recorded (so
/// the answerer may send a little more than needed, never less).
pub const MAX_COVERED: usize = 500;
/// The asker takes answers for this long after asking.
pub const ANSWER_WINDOW_MS: f64 = 10_000.0;
/// The most distinct entries the asker takes for one request.
pub const MAX_ACCEPTED: usize = 200;
/// The most requests the asker keeps open at once (the oldest are dropped).
pub const MAX_OPEN: usize = 32;

/// "Send me the recent messages of this room."
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Random, at most [`MAX_REQUEST_ID_BYTES`]; answers name it in `re`.
    pub id: String,
    /// Only messages at or after this time (ms since the Unix epoch); `None`: the last
    /// `limit`.
    pub since: Option<f64>,
    /// 1 to [`CATCH_UP_LIMIT`].
    pub limit: usize,
}

impl Request {
    pub fn to_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            id: &'a str,
            since: Option<f64>,
            limit: usize,
        }
        serde_json::to_vec(&Out {
            kind: "request",
            id: &self.id,
            since: self.since.filter(|s| s.is_finite()),
            limit: self.limit.clamp(1, CATCH_UP_LIMIT),
        })
        .unwrap_or_default()
    }
}

/// One stored message, as it travels in an answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The message's storage uid (its id when it has one): answers merge by it.
    pub uid: String,
    /// When the answerer received (or sent) it, ms since the Unix epoch.
    pub at: f64,
    /// The chat message's payload as it arrived, as UTF-8 text.
    pub payload: String,
}

impl Entry {
    /// Whether the entry is within the bounds every receiver applies.
    fn is_valid(&self) -> bool {
        !self.uid.is_empty()
            && self.uid.len() <= MAX_UID_BYTES
            && self.payload.len() <= MAX_ENTRY_PAYLOAD_BYTES
            && self.at.is_finite()
    }
}

/// Some of the messages a request asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The request's id.
    pub re: String,
    pub messages: Vec<Entry>,
}

/// What came on a catch-up topic.
#[derive(Clone, Debug, PartialEq)]
pub enum Packet {
    Request(Request),
    Answer(Answer),
}

/// Why a catch-up packet was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BadPacket {
    #[error("a catch-up packet of {bytes} bytes is over the {MAX_PACKET_BYTES}-byte limit")]
    TooLarge { bytes: usize },
    #[error("not a catch-up packet: {0}")]
    Malformed(String),
    #[error("a catch-up packet whose \"type\" is neither \"request\" nor \"answer\"")]
    UnknownType,
    #[error("a catch-up {0} without its \"{1}\"")]
    Missing(&'static str, &'static str),
    #[error("a catch-up request id must be 1 to {MAX_REQUEST_ID_BYTES} bytes")]
    BadId,
}

/// Read a catch-up packet, within bounds: at most [`MAX_PACKET_BYTES`] in, at most
/// [`MAX_ANSWER_ENTRIES`] entries out, entries over the uid or payload limits (or with a
/// time that is not a finite number) dropped. Extra fields are ignored; the fields this app
/// reads must have the right JSON type.
pub fn decode(bytes: &[u8]) -> Result<Packet, BadPacket> {
    if bytes.len() > MAX_PACKET_BYTES {
        return Err(BadPacket::TooLarge { bytes: bytes.len() });
    }
    // Only an object (serde would also read a struct from an array).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(BadPacket::Malformed("not a JSON object".into()));
    }
    let wire: Wire =
        serde_json::from_slice(bytes).map_err(|e| BadPacket::Malformed(e.to_string()))?;
    let valid_id = |id: &str| !id.is_empty() && id.len() <= MAX_REQUEST_ID_BYTES;
    match wire.kind.as_deref() {
        Some("request") => {
            let id = wire.id.ok_or(BadPacket::Missing("request", "id"))?;
            let limit = wire.limit.ok_or(BadPacket::Missing("request", "limit"))?;
            if !valid_id(&id) {
                return Err(BadPacket::BadId);
            }
            Ok(Packet::Request(Request {
                id,
                since: wire.since,
                limit: limit.clamp(1, CATCH_UP_LIMIT as u64) as usize,
            }))
        }
        Some("answer") => {
            let re = wire.re.ok_or(BadPacket::Missing("answer", "re"))?;
            let Entries(messages) = wire
                .messages
                .ok_or(BadPacket::Missing("answer", "messages"))?;
            if !valid_id(&re) {
                return Err(BadPacket::BadId);
            }
            Ok(Packet::Answer(Answer { re, messages }))
        }
        _ => Err(BadPacket::UnknownType),
    }
}

/// Both packet shapes at once; unknown fields are skipped.
#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<String>,
    #[serde(default)]
    since: Option<f64>,
    limit: Option<u64>,
    re: Option<String>,
    messages: Option<Entries>,
}

/// The valid entries of an answer, at most [`MAX_ANSWER_ENTRIES`]; the rest skipped unread.
struct Entries(Vec<Entry>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Entries, D::Error> {
        d.deserialize_seq(EntriesVisitor)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of {uid, at, payload}")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entries, A::Error> {
        let mut kept = Vec::new();
        while kept.len() < MAX_ANSWER_ENTRIES {
            match seq.next_element::<Entry>()? {
                Some(entry) if entry.is_valid() => kept.push(entry),
                Some(_) => {}
                None => return Ok(Entries(kept)),
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Entries(kept))
    }
}

/// The answer to request `re` holding `entries`, as payloads of at most
/// [`MAX_ANSWER_BYTES`] and [`MAX_ANSWER_ENTRIES`] entries each, entries in the order given.
/// Entries a receiver would drop (over the uid or payload limit, a time that is not finite),
/// or too large to fit in a payload alone, are left out. No entries: no payloads.
pub fn encode_answer(re: &str, entries: &[Entry]) -> Vec<Vec<u8>> {
    const FOOTER: &[u8] = b"]}";
    let mut header = br#"{"type":"answer","re":"#.to_vec();
    header.extend(serde_json::to_vec(re).unwrap_or_default());
    header.extend(br#","messages":["#);

    let mut out = Vec::new();
    let mut current = header.clone();
    let mut count = 0;
    for entry in entries.iter().filter(|e| e.is_valid()) {
        let Ok(json) = serde_json::to_vec(entry) else {
            continue;
        };
        if header.len() + json.len() + FOOTER.len() > MAX_ANSWER_BYTES {
            continue;
        }
        if count > 0
            && (count == MAX_ANSWER_ENTRIES
                || current.len() + 1 + json.len() + FOOTER.len() > MAX_ANSWER_BYTES)
        {
            current.extend(FOOTER);
            out.push(std::mem::replace(&mut current, header.clone()));
            count = 0;
        }
        if count > 0 {
            current.push(b',');
        }
        current.extend(json);
        count += 1;
    }
    if count > 0 {
        current.extend(FOOTER);
        out.push(current);
    }
    out
}

/// The entries to offer for a request: the newest `limit` (at most [`CATCH_UP_LIMIT`]) of
/// `stored` at or after `since`, oldest first. `stored` may come in any order; entries with
/// a time that is not finite are left out.
pub fn candidates(
    stored: impl Iterator<Item = Entry>,
    since: Option<f64>,
    limit: usize,
) -> Vec<Entry> {
    let limit = limit.min(CATCH_UP_LIMIT);
    let mut kept: Vec<Entry> = stored
        .filter(|e| e.at.is_finite() && since.is_none_or(|since| e.at >= since))
        .collect();
    kept.sort_by(|a, b| a.at.total_cmp(&b.at));
    let skip = kept.len().saturating_sub(limit);
    kept.drain(..skip);
    kept
}

/// A request whose answer is due: load the room's candidates ([`candidates`]), keep the
/// [`Responder::uncovered`] ones, and publish them ([`encode_answer`]) if any.
#[derive(Clone, Debug, PartialEq)]
pub struct Due {
    pub room: RoomName,
    pub request: Request,
}

#[derive(Clone, Debug)]
struct Tracked {
    room: RoomName,
    request: Request,
    due_at: f64,
    /// Returned by [`Responder::due`]: kept only for its covered set.
    returned: bool,
    covered: HashSet<String>,
}

/// The answering side: schedules an answer per request after a random delay and keeps what
/// other tabs' answers covered, so this tab sends only the rest, or nothing.
///
/// The app should not feed it its own requests (see [`Requests::is_open`]).
#[derive(Clone, Debug, Default)]
pub struct Responder {
    tracked: VecDeque<Tracked>,
    /// When this tab last took on a request, per room: requests come at most
    /// [`ANSWER_BURST`] at a time, then one per [`ANSWER_EVERY_MS`].
    budget: HashMap<RoomName, Budget>,
}

/// Requests a tab takes on at once in one room, before the rate applies.
pub const ANSWER_BURST: f64 = 3.0;
/// Then one request per this long, per room: a flood of requests does not make every tab
/// read its storage and publish answers as fast as they come.
pub const ANSWER_EVERY_MS: f64 = 5_000.0;

/// A token bucket: `tokens` as of `at`.
#[derive(Clone, Copy, Debug)]
struct Budget {
    tokens: f64,
    at: f64,
}

impl Budget {
    /// Take a token if there is one.
    fn take(&mut self, now: f64) -> bool {
        let refill = ((now - self.at) / ANSWER_EVERY_MS).max(0.0);
        self.tokens = (self.tokens + refill).min(ANSWER_BURST);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Responder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A request arrived on `room`'s catch-up topic at `now`: answer it at `now` + 200 to
    /// 1200 ms, placed by `random` in `[0, 1)`. A request id already tracked is ignored.
    pub fn on_request(&mut self, room: &RoomName, request: Request, now: f64, random: f64) {
        self.forget(now);
        if self.find(&request.id).is_some() {
            return;
        }
        if self.budget.len() > MAX_PENDING && !self.budget.contains_key(room) {
            // Rooms are few; this only bounds memory against nonsense.
            self.budget.clear();
        }
        let budget = self.budget.entry(room.clone()).or_insert(Budget {
            tokens: ANSWER_BURST,
            at: now,
        });
        if !budget.take(now) {
            return;
        }
        let random = if random.is_finite() {
            random.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.tracked.push_back(Tracked {
            room: room.clone(),
            request,
            due_at: now + ANSWER_DELAY_MIN_MS + random * ANSWER_DELAY_SPREAD_MS,
            returned: false,
            covered: HashSet::new(),
        });
        if self.tracked.len() > MAX_PENDING {
            // Drop the oldest that only kept a covered set, else the oldest.
            let i = self.tracked.iter().position(|t| t.returned).unwrap_or(0);
            self.tracked.remove(i);
        }
    }

    /// An answer seen on `room`'s catch-up topic (another tab's, or this tab's own echo):
    /// its entries are covered for that request.
    pub fn on_answer(&mut self, room: &RoomName, answer: &Answer) {
        let Some(t) = self
            .tracked
            .iter_mut()
            .find(|t| t.request.id == answer.re && t.room == *room)
        else {
            return;
        };
        for entry in &answer.messages {
            if t.covered.len() >= MAX_COVERED {
                break;
            }
            if !t.covered.contains(&entry.uid) {
                t.covered.insert(entry.uid.clone());
            }
        }
    }

    /// When the next answer falls due, if any.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.tracked
            .iter()
            .filter(|t| !t.returned)
            .map(|t| t.due_at)
            .min_by(f64::total_cmp)
    }

    /// The answers due at `now`, earliest first; each is returned once.
    pub fn due(&mut self, now: f64) -> Vec<Due> {
        self.forget(now);
        let mut due: Vec<&mut Tracked> = self
            .tracked
            .iter_mut()
            .filter(|t| !t.returned && t.due_at <= now)
            .collect();
        due.sort_by(|a, b| a.due_at.total_cmp(&b.due_at));
        due.into_iter()
            .map(|t| {
                t.returned = true;
                Due {
                    room: t.room.clone(),
                    request: t.request.clone(),
                }
            })
            .collect()
    }

    /// The `candidates` no answer seen so far for `request_id` covered: what this tab still
    /// has to send. Call it right before publishing.
    pub fn uncovered(&self, request_id: &str, candidates: Vec<Entry>) -> Vec<Entry> {
        match self.find(request_id) {
            Some(t) => candidates
                .into_iter()
                .filter(|e| !t.covered.contains(&e.uid))
                .collect(),
            None => candidates,
        }
    }

    fn find(&self, request_id: &str) -> Option<&Tracked> {
        self.tracked.iter().find(|t| t.request.id == request_id)
    }

    /// Forget requests answered more than [`COVERED_KEPT_MS`] ago.
    fn forget(&mut self, now: f64) {
        self.tracked
            .retain(|t| !(t.returned && now >= t.due_at + COVERED_KEPT_MS));
    }
}

#[derive(Clone, Debug)]
struct Open {
    room: RoomName,
    id: String,
    since: Option<f64>,
    started: f64,
    accepted: HashSet<String>,
}

/// The asking side: the requests this tab sent, and what their answers added.
#[derive(Clone, Debug, Default)]
pub struct Requests {
    open: VecDeque<Open>,
}

impl Requests {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask `room` for its messages since `since` (or its last [`CATCH_UP_LIMIT`]); publish the
    /// returned request's JSON on the room's catch-up topic. `id` should be random and at
    /// most [`MAX_REQUEST_ID_BYTES`] (peers refuse longer ones). At most [`MAX_OPEN`]
    /// requests stay open; the oldest is dropped.
    pub fn start(&mut self, room: RoomName, id: String, since: Option<f64>, now: f64) -> Request {
        self.expire(now);
        let since = since.filter(|s| s.is_finite());
        self.open.retain(|o| o.id != id);
        self.open.push_back(Open {
            room,
            id: id.clone(),
            since,
            started: now,
            accepted: HashSet::new(),
        });
        if self.open.len() > MAX_OPEN {
            self.open.pop_front();
        }
        Request {
            id,
            since,
            limit: CATCH_UP_LIMIT,
        }
    }

    /// The new entries of an answer on `room`'s catch-up topic, sorted by time: only for an
    /// open request of that room within [`ANSWER_WINDOW_MS`] of asking; entries before its
    /// `since`, already taken for it, or past [`MAX_ACCEPTED`] for it are dropped.
    pub fn accept(&mut self, room: &RoomName, answer: Answer, now: f64) -> Vec<Entry> {
        let Some(open) = self
            .open
            .iter_mut()
            .find(|o| o.id == answer.re && o.room == *room && now - o.started <= ANSWER_WINDOW_MS)
        else {
            return Vec::new();
        };
        let mut new = Vec::new();
        for mut entry in answer.messages {
            if open.accepted.len() >= MAX_ACCEPTED {
                break;
            }
            if !entry.is_valid()
                || open.since.is_some_and(|since| entry.at < since)
                || open.accepted.contains(&entry.uid)
            {
                continue;
            }
            // A time from the future (a wrong clock, or a hostile peer) would sort above
            // everything said later and, kept, push this tab's own sequence numbers out of
            // range: it counts as now.
            entry.at = entry.at.min(now);
            open.accepted.insert(entry.uid.clone());
            new.push(entry);
        }
        new.sort_by(|a, b| a.at.total_cmp(&b.at));
        new
    }

    /// Close requests asked more than [`ANSWER_WINDOW_MS`] before `now`.
    pub fn expire(&mut self, now: f64) {
        self.open.retain(|o| now - o.started <= ANSWER_WINDOW_MS);
    }

    /// When the next open request closes, if any (for [`Requests::expire`]).
    pub fn poll_timeout(&self) -> Option<f64> {
        self.open
            .iter()
            .map(|o| o.started + ANSWER_WINDOW_MS)
            .min_by(f64::total_cmp)
    }

    /// Whether `id` is one of this tab's open requests: a request with it on the topic is
    /// this tab's own, not one to answer.
    pub fn is_open(&self, id: &str) -> bool {
        self.open.iter().any(|o| o.id == id)
    }
}
