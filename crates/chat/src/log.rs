//! The messages a view holds: every arrival goes into a list (never a single "last message"
//! slot, FIELD.md #12), duplicates are shown once, and memory stays bounded.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use crate::message::{decode_payload, ChatMessage, Payload, Quote, RawReason};
use crate::reactions::{Folded, Reaction, Reactions};

/// Longest text kept for display; the rest is cut with a note saying how much.
const MAX_SHOWN_CHARS: usize = 10_000;
/// How many message ids are remembered for de-duplication.
const SEEN_IDS: usize = 10_000;

#[derive(Clone, Debug, PartialEq)]
pub enum RowKind {
    Chat,
    /// A payload that is not chat JSON, shown as text and marked.
    Raw(RawReason),
    /// A message over the app's size limit, read past unseen (FIELD.md #16).
    Skipped {
        size: usize,
        limit: usize,
    },
}

/// One line of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Unique within the log, stable for the row's life: a key for keyed rendering.
    pub key: u64,
    pub kind: RowKind,
    pub name: String,
    pub text: String,
    /// When this tab received (or sent) it, ms since the Unix epoch.
    pub received_at: f64,
    /// Sent under this tab's author id (from this tab, or from it before a reload).
    pub own: bool,
    /// The message id, if it has one: own rows read their delivery state from the outbox by it.
    pub id: Option<String>,
    /// Came from another tab's history (catch-up), not live from the broker.
    pub catch_up: bool,
    /// The user name the broker vouches for: the message came on its `.../from/<user>`
    /// topic and names that user. Never set from a payload alone, nor through catch-up.
    pub verified: Option<String>,
    /// A reply: what it answers, as the reply quoted it.
    pub quote: Option<Quote>,
    /// A sealed row's (`RowKind::Raw(RawReason::Sealed)`) author as its topic proved it,
    /// kept until the row is opened ([`MessageLog::unseal`]): only then is its name known,
    /// and [`Row::verified`] set if they agree. `None` on every other row.
    pub sealed_author: Option<String>,
    /// It arrived sealed and a room key opened it (or this tab sealed it): in a private
    /// room, a chat row without it was sent in the clear, and is marked so.
    pub encrypted: bool,
}

impl Row {
    /// The row's name on the page (`data-id`) and in search results: the message id, or for
    /// a message without one (`mosquitto_pub`) a name made of when it arrived and what it
    /// says, so the live row and the same message read back from history agree.
    pub fn dom_id(&self) -> String {
        match &self.id {
            Some(id) => id.clone(),
            None => {
                let mut bytes = self.name.as_bytes().to_vec();
                bytes.push(0);
                bytes.extend_from_slice(self.text.as_bytes());
                let at = if self.received_at.is_finite() {
                    self.received_at.max(0.0) as u64
                } else {
                    0
                };
                format!("t{at}-{:08x}", crate::history::fnv1a(&bytes) as u32)
            }
        }
    }
}

/// A stored payload as the row it would make, with no log around it (no de-duplication, not
/// marked own): what the search reads history as.
pub fn row_of(payload: &[u8], at: f64) -> Row {
    row_of_own(payload, at, "")
}

/// [`row_of`], marked own when it was sent under `own_author` (this tab's author id).
pub fn row_of_own(payload: &[u8], at: f64, own_author: &str) -> Row {
    row_for(decode_payload(payload), at, own_author, false, None)
}

/// The row a decoded payload makes.
fn row_for(
    payload: Payload,
    at: f64,
    own_author: &str,
    catch_up: bool,
    author: Option<&str>,
) -> Row {
    match payload {
        Payload::Chat(message) => Row {
            key: 0,
            kind: RowKind::Chat,
            quote: message.quote(),
            verified: vouched(author, &message.name),
            own: !own_author.is_empty() && message.from.as_deref() == Some(own_author),
            name: shown(&message.name),
            text: shown(&message.message),
            received_at: at,
            encrypted: message.sealed.is_some(),
            id: message.id,
            catch_up,
            sealed_author: None,
        },
        // A sealed message keeps its whole text (bounded by `private::MAX_CIPHERTEXT_BYTES`),
        // to be opened later, and is named by it: the same message from the broker, from
        // history and from catch-up is one row.
        Payload::Raw {
            text,
            reason: RawReason::Sealed,
        } => Row {
            key: 0,
            kind: RowKind::Raw(RawReason::Sealed),
            name: String::new(),
            id: Some(sealed_id(&text)),
            text,
            received_at: at,
            own: false,
            catch_up,
            verified: None,
            quote: None,
            sealed_author: author.map(str::to_owned),
            encrypted: false,
        },
        Payload::Raw { text, reason } => Row {
            key: 0,
            kind: RowKind::Raw(reason),
            name: String::new(),
            text: shown(&text),
            received_at: at,
            own: false,
            id: None,
            catch_up,
            verified: None,
            quote: None,
            sealed_author: None,
            encrypted: false,
        },
    }
}

/// The author a message's topic proves, if its name is that author.
fn vouched(author: Option<&str>, name: &str) -> Option<String> {
    author.filter(|a| *a == name).map(str::to_owned)
}

/// At most `capacity` of the newest rows (trimmed to three quarters of it when full), plus a
/// count of everything that arrived. Rows are shared
/// (`Arc`), so a view can take a snapshot of all of them cheaply on every change.
#[derive(Clone, Debug)]
pub struct MessageLog {
    rows: VecDeque<Arc<Row>>,
    capacity: usize,
    total: u64,
    raw: u64,
    next_key: u64,
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
    /// Rows added since the last [`MessageLog::take_fresh`], while someone listens (the
    /// search, which must also see rows trimmed before it looks).
    fresh: Option<Vec<Arc<Row>>>,
    /// The reactions on its messages (held or not: one may come before its message).
    reactions: Reactions,
}

impl MessageLog {
    pub fn new(capacity: usize) -> Self {
        MessageLog {
            rows: VecDeque::new(),
            capacity: capacity.max(1),
            total: 0,
            raw: 0,
            next_key: 0,
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            fresh: None,
            reactions: Reactions::default(),
        }
    }

    /// Take in a reaction (`message` carries one, see [`crate::reactions`]) that arrived at
    /// `at`. `None` if it carries none.
    pub fn react(&mut self, message: &ChatMessage, at: f64) -> Option<Folded> {
        Reaction::of(message, at).map(|r| self.reactions.fold(&r))
    }

    /// The reactions on this log's messages.
    pub fn reactions(&self) -> &Reactions {
        &self.reactions
    }

    /// Keep every row added from now on for [`MessageLog::take_fresh`] (or stop).
    pub fn listen(&mut self, on: bool) {
        if on != self.fresh.is_some() {
            self.fresh = on.then(Vec::new);
        }
    }

    /// The rows added since the last call, oldest first (empty when nobody listens).
    pub fn take_fresh(&mut self) -> Vec<Arc<Row>> {
        self.fresh.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn added(&mut self, row: &Arc<Row>) {
        if let Some(fresh) = &mut self.fresh {
            fresh.push(row.clone());
        }
    }

    /// Show `row` (a message read back from history, chosen in a search) in its place by
    /// time, even when it is older than the rows this log keeps: it stays until the next
    /// trim. Returns its key, or the key of the row already shown under its id.
    pub fn reveal(&mut self, row: Row) -> u64 {
        let id = row.dom_id();
        if let Some(held) = self.rows.iter().find(|r| r.dom_id() == id) {
            return held.key;
        }
        if let Some(id) = &row.id {
            self.remember(id);
        }
        let key = self.next_key;
        self.next_key += 1;
        let at = self
            .rows
            .partition_point(|r| r.received_at.total_cmp(&row.received_at).is_le());
        self.rows.insert(at, Arc::new(Row { key, ..row }));
        key
    }

    /// This log's keys start at `space << 40`, so the logs of several rooms shown in turn by
    /// one keyed view never share a key (a shared key would keep another room's row).
    pub fn in_key_space(mut self, space: u32) -> Self {
        self.next_key = u64::from(space) << 40;
        self
    }

    /// Rows held for display, oldest first.
    pub fn rows(&self) -> impl DoubleEndedIterator<Item = &Arc<Row>> + ExactSizeIterator {
        self.rows.iter()
    }

    /// How many messages arrived in all (duplicates not counted), including rows no longer
    /// held because of the capacity.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// How many payloads were not chat JSON.
    pub fn raw_count(&self) -> u64 {
        self.raw
    }

    /// A message this tab sends, shown at once. Returns the row key, or `None` if a row
    /// with its id is already shown (a message re-queued after a reload).
    pub fn push_own(
        &mut self,
        message: &ChatMessage,
        at: f64,
        author: Option<&str>,
    ) -> Option<u64> {
        self.push_own_before(message, at, author, |_| false)
    }

    /// [`MessageLog::push_own`], placed before the first row `before` picks (at the end if
    /// none): an unsent message from before a reload goes ahead of those sent since, as it
    /// goes ahead of them on the wire.
    pub fn push_own_before(
        &mut self,
        message: &ChatMessage,
        at: f64,
        author: Option<&str>,
        before: impl Fn(&Row) -> bool,
    ) -> Option<u64> {
        if message.react.is_some() {
            self.react(message, at);
            return None;
        }
        if let (Some(sealed), true) = (&message.sealed, message.name.is_empty()) {
            // Known only sealed (a private room's unsent message read back after a reload):
            // a sealed row until this tab opens it, then marked own by its `from`.
            let row = self.new_row(decode_payload(sealed), at, "", false, author)?;
            return Some(self.push(row));
        }
        if let Some(id) = &message.id {
            if self.seen.contains(id) {
                return None;
            }
            self.remember(id);
        }
        let row = Row {
            key: 0,
            kind: RowKind::Chat,
            quote: message.quote(),
            name: shown(&message.name),
            text: shown(&message.message),
            received_at: at,
            own: true,
            id: message.id.clone(),
            catch_up: false,
            verified: vouched(author, &message.name),
            sealed_author: None,
            encrypted: message.sealed.is_some(),
        };
        match self.rows.iter().position(|r| before(r)) {
            None => Some(self.push(row)),
            Some(i) => {
                let key = self.next_key;
                let row = Arc::new(Row { key, ..row });
                self.added(&row);
                self.rows.insert(i, row);
                self.next_key += 1;
                self.total += 1;
                self.trim();
                Some(key)
            }
        }
    }

    /// A message too large to take in was skipped: say so in its place.
    pub fn push_skipped(&mut self, size: usize, limit: usize, at: f64) -> u64 {
        self.push(Row {
            key: 0,
            kind: RowKind::Skipped { size, limit },
            name: "skipped".into(),
            text: format!(
                "a {} message was skipped: over this app's {} limit",
                human_size(size),
                human_size(limit)
            ),
            received_at: at,
            own: false,
            id: None,
            catch_up: false,
            verified: None,
            quote: None,
            sealed_author: None,
            encrypted: false,
        })
    }

    /// Forget every row and count (the user cleared the history). Keys keep counting up,
    /// so a keyed view never mistakes a new row for a removed one.
    pub fn clear(&mut self) {
        let (next_key, listening) = (self.next_key, self.fresh.is_some());
        *self = MessageLog::new(self.capacity);
        self.next_key = next_key;
        self.listen(listening);
    }

    /// A payload from the broker (or from history). Returns the new row, or `None` for a
    /// duplicate.
    pub fn receive(&mut self, payload: &[u8], at: f64, own_author: &str) -> Option<&Row> {
        self.receive_decoded(decode_payload(payload), at, own_author, None)
    }

    /// [`MessageLog::receive`] for a payload already decoded, from a topic that proves
    /// `author` (see [`Row::verified`]).
    pub fn receive_decoded(
        &mut self,
        payload: Payload,
        at: f64,
        own_author: &str,
        author: Option<&str>,
    ) -> Option<&Row> {
        let row = self.new_row(payload, at, own_author, false, author)?;
        let key = self.push(row);
        self.rows.iter().rev().find(|r| r.key == key).map(|r| &**r)
    }

    /// Payloads that arrived elsewhere (another tab's history, through catch-up), each with
    /// the time it arrived there: decoded like [`MessageLog::receive`], duplicates by id
    /// (against the rows seen and within the batch) skipped, the rest placed in time order
    /// among the rows held (after rows of the same time), counted in the total, and the
    /// oldest trimmed to the capacity. Returns how many were new.
    ///
    /// One sort of the batch and one merge pass: cheap for a thousand payloads into a full
    /// log. New rows get new keys (unique, but not in row order).
    /// Each item is (payload, when it arrived, the author its topic proved); an author is
    /// ignored for catch-up, where another tab says so, not the broker.
    pub fn merge(
        &mut self,
        items: Vec<(Vec<u8>, f64, Option<String>)>,
        own_author: &str,
        catch_up: bool,
    ) -> usize {
        let mut batch: Vec<Row> = items
            .into_iter()
            .filter_map(|(payload, at, author)| {
                let author = author.filter(|_| !catch_up);
                self.new_row(
                    decode_payload(&payload),
                    at,
                    own_author,
                    catch_up,
                    author.as_deref(),
                )
            })
            .collect();
        if batch.is_empty() {
            return 0;
        }
        batch.sort_by(|a, b| a.received_at.total_cmp(&b.received_at));
        let added = batch.len();
        self.total += added as u64;

        let old = std::mem::take(&mut self.rows);
        let mut merged = VecDeque::with_capacity(old.len() + added);
        let mut old = old.into_iter().peekable();
        for mut row in batch {
            while let Some(held) = old.next_if(|held| {
                held.received_at.total_cmp(&row.received_at) != std::cmp::Ordering::Greater
            }) {
                merged.push_back(held);
            }
            row.key = self.next_key;
            self.next_key += 1;
            let row = Arc::new(row);
            self.added(&row);
            merged.push_back(row);
        }
        merged.extend(old);
        if merged.len() > self.capacity {
            merged.drain(..merged.len() - self.capacity);
        }
        self.rows = merged;
        added
    }

    /// The row for a payload, or `None` if its id was seen (the id is remembered).
    fn new_row(
        &mut self,
        payload: Payload,
        at: f64,
        own_author: &str,
        catch_up: bool,
        author: Option<&str>,
    ) -> Option<Row> {
        if let Payload::Chat(message @ ChatMessage { react: Some(_), .. }) = &payload {
            // Not a row: its count goes on the message it names.
            self.react(message, at);
            return None;
        }
        match &payload {
            Payload::Chat(ChatMessage { id: Some(id), .. }) => {
                if self.seen.contains(id) {
                    return None;
                }
                self.remember(id);
            }
            Payload::Chat(_) => {}
            Payload::Raw {
                text,
                reason: RawReason::Sealed,
            } => {
                // Not counted as raw: it is no stranger's payload, only one not opened yet.
                let id = sealed_id(text);
                if self.seen.contains(&id) {
                    return None;
                }
                self.remember(&id);
            }
            Payload::Raw { .. } => self.raw += 1,
        }
        Some(row_for(payload, at, own_author, catch_up, author))
    }

    /// The keys of the sealed rows held (a private room's messages not opened yet).
    pub fn sealed(&self) -> Vec<u64> {
        self.rows
            .iter()
            .filter(|r| r.kind == RowKind::Raw(RawReason::Sealed))
            .map(|r| r.key)
            .collect()
    }

    /// Whether a sealed row is held that `tried` does not name.
    pub fn has_sealed_besides(&self, tried: &HashSet<u64>) -> bool {
        self.rows
            .iter()
            .any(|r| r.kind == RowKind::Raw(RawReason::Sealed) && !tried.contains(&r.key))
    }

    /// The payload of sealed row `key`, if it is held.
    pub fn sealed_payload(&self, key: u64) -> Option<&str> {
        self.rows
            .iter()
            .find(|r| r.key == key && r.kind == RowKind::Raw(RawReason::Sealed))
            .map(|r| r.text.as_str())
    }

    /// A sealed payload was opened before it became a row (a live message): the same
    /// payload again (from history, from catch-up) makes no sealed row.
    pub fn saw_sealed(&mut self, payload: &str) {
        self.remember(&sealed_id(payload));
    }

    /// Sealed row `key` opened: what its plaintext decodes to takes its place (a new key, so
    /// a keyed view draws it anew; when it arrived, and whether by catch-up, kept). A
    /// message already shown under its id, or a reaction (counted on its message), takes the
    /// sealed row away instead.
    pub fn unseal(&mut self, key: u64, payload: Payload, own_author: &str) -> Unsealed {
        let Some(at) = self.rows.iter().position(|r| r.key == key) else {
            return Unsealed::Gone;
        };
        let old = self.rows[at].clone();
        if old.kind != RowKind::Raw(RawReason::Sealed) {
            return Unsealed::Gone;
        }
        let take_away = |log: &mut MessageLog| {
            log.rows.remove(at);
            log.total -= 1;
        };
        if let Payload::Chat(m @ ChatMessage { react: Some(_), .. }) = &payload {
            let folded = self.react(m, old.received_at);
            take_away(self);
            return Unsealed::Reaction(folded);
        }
        if let Payload::Chat(ChatMessage { id: Some(id), .. }) = &payload {
            if self.seen.contains(id) {
                take_away(self);
                return Unsealed::Duplicate;
            }
            self.remember(id);
        }
        if let Payload::Raw { .. } = &payload {
            self.raw += 1;
        }
        let mut row = row_for(
            payload,
            old.received_at,
            own_author,
            old.catch_up,
            old.sealed_author.as_deref(),
        );
        row.encrypted = row.kind == RowKind::Chat;
        row.key = self.next_key;
        self.next_key += 1;
        let row = Arc::new(row);
        self.added(&row);
        self.rows[at] = row.clone();
        Unsealed::Shown(row)
    }

    fn push(&mut self, mut row: Row) -> u64 {
        row.key = self.next_key;
        self.next_key += 1;
        self.total += 1;
        let row = Arc::new(row);
        self.added(&row);
        self.rows.push_back(row);
        self.trim();
        self.next_key - 1
    }

    fn trim(&mut self) {
        if self.rows.len() > self.capacity {
            // Trim a quarter at once: a keyed view then only appends on most changes,
            // instead of shifting every row each time one falls off the front.
            let keep = self.capacity - self.capacity / 4;
            self.rows.drain(..self.rows.len() - keep.max(1));
        }
    }

    fn remember(&mut self, id: &str) {
        if self.seen.insert(id.to_owned()) {
            self.seen_order.push_back(id.to_owned());
            while self.seen_order.len() > SEEN_IDS {
                if let Some(old) = self.seen_order.pop_front() {
                    self.seen.remove(&old);
                }
            }
        }
    }
}

/// What [`MessageLog::unseal`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Unsealed {
    /// The opened message, in the sealed row's place.
    Shown(Arc<Row>),
    /// It was a message already shown: the sealed row is gone.
    Duplicate,
    /// It was a reaction, counted on its message (see [`MessageLog::react`]); the sealed
    /// row is gone.
    Reaction(Option<Folded>),
    /// No sealed row has that key (trimmed, or opened already).
    Gone,
}

/// The id a sealed row goes by: its payload's hash (its IV alone would do; the hash needs
/// no parsing).
fn sealed_id(text: &str) -> String {
    format!("sealed-{:016x}", crate::history::fnv1a(text.as_bytes()))
}

/// A size in words: "1.1 MB", "256 KiB"-style precision without float formatting (which
/// costs 8 KB of Wasm).
fn human_size(bytes: usize) -> String {
    if bytes >= 1_000_000 {
        let tenths = bytes / 100_000;
        format!("{}.{} MB", tenths / 10, tenths % 10)
    } else if bytes >= 1_000 {
        format!("{} kB", bytes / 1_000)
    } else {
        format!("{bytes} bytes")
    }
}

/// The text as displayed: very long texts are cut, with a note saying how much was cut.
fn shown(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        None => text.to_owned(),
        Some((cut, _)) => format!(
            "{}… [{} more bytes not shown]",
            &text[..cut],
            text.len() - cut
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed_payload(n: u8, ct_len: usize) -> Vec<u8> {
        crate::private::Sealed {
            salt: None,
            iv: [n; 12],
            ct: vec![n; ct_len],
        }
        .to_json()
    }

    fn decoded(name: &str, message: &str, id: &str) -> Payload {
        decode_payload(&chat(name, message, Some(id), None))
    }

    #[test]
    fn a_sealed_message_is_one_row_of_its_own_kind_kept_whole_until_opened() {
        let mut log = MessageLog::new(10);
        let big = sealed_payload(1, 12_000);
        let row = log.receive_decoded(decode_payload(&big), 5.0, "me", Some("ana"));
        let row = row.expect("a row").clone();
        assert_eq!(row.kind, RowKind::Raw(RawReason::Sealed));
        assert_eq!(row.text.as_bytes(), &big[..], "never cut");
        assert_eq!(row.sealed_author.as_deref(), Some("ana"));
        assert_eq!(
            row.verified, None,
            "nothing is vouched for before it is opened"
        );
        // The same message again (from history, from catch-up) is the same row.
        assert!(log.receive(&big, 6.0, "me").is_none());
        log.merge(vec![(big.clone(), 7.0, None)], "me", true);
        assert_eq!(log.rows().len(), 1);
        assert_eq!(log.total(), 1);
        // A different one is another row.
        assert!(log.receive(&sealed_payload(2, 40), 8.0, "me").is_some());
        assert_eq!(log.sealed().len(), 2);
        // Something that says it is sealed but is not: raw, in words.
        let bad = br#"{"enc":1,"ct":"AAAAAAAAAAAAAAAAAAAAAA=="}"#;
        let row = log.receive(bad, 9.0, "me").unwrap();
        assert!(matches!(row.kind, RowKind::Raw(RawReason::BadSealed(_))));
        assert_eq!(
            RawReason::BadSealed(crate::private::SealedError::Missing("iv")).to_string(),
            "a sealed message that has no iv"
        );
    }

    #[test]
    fn an_opened_row_takes_the_sealed_ones_place_with_a_new_key() {
        let mut log = MessageLog::new(10);
        log.receive(&chat("a", "before", Some("b1"), None), 1.0, "me");
        let key = log
            .receive_decoded(
                decode_payload(&sealed_payload(1, 40)),
                2.0,
                "me",
                Some("ana"),
            )
            .unwrap()
            .key;
        log.receive(&chat("a", "after", Some("a1"), None), 3.0, "me");
        assert_eq!(
            log.raw_count(),
            0,
            "a sealed row is not a stranger's raw payload"
        );
        let Unsealed::Shown(row) = log.unseal(key, decoded("ana", "the secret", "s1"), "me") else {
            panic!("shown")
        };
        assert_ne!(row.key, key);
        assert_eq!(row.text, "the secret");
        assert_eq!(row.received_at, 2.0, "when it arrived");
        assert_eq!(row.verified.as_deref(), Some("ana"), "its topic proved ana");
        // Opened, it is marked as having come sealed; the rows that came plain are not.
        let encrypted: Vec<bool> = log.rows().map(|r| r.encrypted).collect();
        assert_eq!(encrypted, [false, true, false]);
        let texts: Vec<&str> = log.rows().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["before", "the secret", "after"], "in its place");
        assert_eq!((log.total(), log.raw_count()), (3, 0));
        assert!(log.sealed().is_empty());
        // Opened once only; and it is now a seen id.
        assert_eq!(
            log.unseal(key, decoded("ana", "x", "s9"), "me"),
            Unsealed::Gone
        );
        assert!(log
            .receive(&chat("ana", "the secret", Some("s1"), None), 4.0, "me")
            .is_none());
    }

    #[test]
    fn an_opened_duplicate_or_reaction_takes_the_sealed_row_away() {
        let mut log = MessageLog::new(10);
        log.receive(&chat("a", "shown", Some("m1"), None), 1.0, "me");
        let dup = log.receive(&sealed_payload(1, 40), 2.0, "me").unwrap().key;
        let react = log.receive(&sealed_payload(2, 40), 3.0, "me").unwrap().key;
        let other = log.receive(&sealed_payload(3, 40), 4.0, "me").unwrap().key;
        assert_eq!(log.total(), 4);
        assert_eq!(
            log.unseal(dup, decoded("a", "shown", "m1"), "me"),
            Unsealed::Duplicate
        );
        let reaction =
            decode_payload(r#"{"name":"b","react":"👍","to":"m1","by":"p2"}"#.as_bytes());
        assert!(matches!(
            log.unseal(react, reaction, "me"),
            Unsealed::Reaction(Some(_))
        ));
        assert_eq!(log.reactions().chips("m1", "").len(), 1);
        // Opened to something that is not chat JSON: still raw, in its words.
        let Unsealed::Shown(row) = log.unseal(other, decode_payload(b"plain text"), "me") else {
            panic!("shown")
        };
        assert_eq!(row.kind, RowKind::Raw(RawReason::NotJson));
        assert!(!row.encrypted, "not a chat message");
        assert_eq!((log.total(), log.raw_count()), (2, 1));
        // An own message opened after a reload is marked own.
        let mine = log.receive(&sealed_payload(4, 40), 5.0, "me").unwrap().key;
        let own = decode_payload(&chat("me-name", "mine", Some("o1"), Some("me")));
        let Unsealed::Shown(row) = log.unseal(mine, own, "me") else {
            panic!("shown")
        };
        assert!(row.own);
    }

    fn chat(name: &str, message: &str, id: Option<&str>, from: Option<&str>) -> Vec<u8> {
        ChatMessage {
            name: name.into(),
            message: message.into(),
            id: id.map(Into::into),
            from: from.map(Into::into),
            ts: None,
            ..Default::default()
        }
        .to_json()
    }

    fn texts(log: &MessageLog) -> Vec<String> {
        log.rows().map(|r| r.text.clone()).collect()
    }

    #[test]
    fn every_arrival_is_kept_in_order_newest_last() {
        let mut log = MessageLog::new(100);
        for i in 0..5 {
            log.receive(&chat("a", &format!("m{i}"), None, None), 0.0, "me");
        }
        assert_eq!(texts(&log), ["m0", "m1", "m2", "m3", "m4"]);
        assert_eq!(log.total(), 5);
    }

    #[test]
    fn a_message_id_seen_before_is_shown_once() {
        let mut log = MessageLog::new(100);
        let payload = chat("a", "hello", Some("id-1"), None);
        assert!(log.receive(&payload, 0.0, "me").is_some());
        assert!(log.receive(&payload, 1.0, "me").is_none());
        assert_eq!(log.total(), 1);
        // Messages without an id (mosquitto_pub) are never merged.
        let bare = chat("cli", "hi", None, None);
        log.receive(&bare, 2.0, "me");
        log.receive(&bare, 3.0, "me");
        assert_eq!(log.total(), 3);
    }

    #[test]
    fn own_message_echo_does_not_add_a_second_row() {
        let mut log = MessageLog::new(100);
        let mine = ChatMessage {
            name: "me".into(),
            message: "hi".into(),
            id: Some("x".into()),
            from: Some("tab-1".into()),
            ts: None,
            ..Default::default()
        };
        assert!(log.push_own(&mine, 0.0, None).is_some());
        assert!(log.receive(&mine.to_json(), 1.0, "tab-1").is_none());
        assert!(
            log.push_own(&mine, 2.0, None).is_none(),
            "re-queued after a reload: one row"
        );
        let row = log.rows().next().unwrap();
        assert!(row.own);
        assert_eq!(row.id.as_deref(), Some("x"));
        assert_eq!(log.total(), 1);
    }

    #[test]
    fn an_unsent_message_from_before_a_reload_shows_before_those_sent_since() {
        let mut log = MessageLog::new(100);
        let own = |id: &str| ChatMessage {
            name: "me".into(),
            message: id.into(),
            id: Some(id.into()),
            from: Some("tab-1".into()),
            ts: None,
            ..Default::default()
        };
        log.receive(&chat("you", "earlier", Some("e"), None), 0.0, "tab-1");
        log.push_own(&own("new-1"), 10.0, None);
        log.receive(&chat("you", "between", Some("b"), None), 11.0, "tab-1");
        log.push_own(&own("new-2"), 12.0, None);
        let new = |r: &Row| r.id.as_deref().is_some_and(|id| id.starts_with("new"));
        let key = log.push_own_before(&own("old-1"), 1.0, None, new);
        log.push_own_before(&own("old-2"), 2.0, None, new);
        assert_eq!(
            texts(&log),
            ["earlier", "old-1", "old-2", "new-1", "between", "new-2"]
        );
        assert_eq!(log.total(), 6);
        let keys: HashSet<u64> = log.rows().map(|r| r.key).collect();
        assert_eq!(keys.len(), 6, "keys stay unique");
        assert_eq!(log.rows().nth(1).map(|r| r.key), key);
        assert!(
            log.push_own_before(&own("old-1"), 1.0, None, new).is_none(),
            "shown once"
        );
        // Nothing to go before: at the end, as push_own.
        log.push_own_before(&own("old-3"), 3.0, None, |_| false);
        assert_eq!(texts(&log).last().map(String::as_str), Some("old-3"));
    }

    #[test]
    fn messages_from_this_client_id_are_marked_own() {
        let mut log = MessageLog::new(100);
        let row = log
            .receive(
                &chat("me", "from before the reload", Some("z"), Some("tab-1")),
                0.0,
                "tab-1",
            )
            .unwrap();
        assert!(row.own);
        let row = log
            .receive(&chat("you", "hi", Some("y"), Some("tab-2")), 0.0, "tab-1")
            .unwrap();
        assert!(!row.own);
    }

    #[test]
    fn raw_payloads_become_marked_rows_and_are_counted() {
        let mut log = MessageLog::new(100);
        let row = log.receive(b"just text", 0.0, "me").unwrap().clone();
        assert_eq!(row.kind, RowKind::Raw(RawReason::NotJson));
        assert_eq!(row.text, "just text");
        log.receive(&[0xc3, 0x28], 0.0, "me");
        assert_eq!(log.raw_count(), 2);
        assert_eq!(log.total(), 2);
    }

    #[test]
    fn capacity_bounds_rows_but_total_counts_everything() {
        let mut log = MessageLog::new(8);
        for i in 0..10 {
            log.receive(
                &chat("a", &format!("m{i}"), Some(&i.to_string()), None),
                0.0,
                "me",
            );
        }
        // Full at 8, the 9th trims to 6 (three quarters), the 10th makes 7.
        assert_eq!(texts(&log), ["m3", "m4", "m5", "m6", "m7", "m8", "m9"]);
        assert_eq!(log.total(), 10);
        let keys: Vec<u64> = log.rows().map(|r| r.key).collect();
        assert_eq!(
            keys,
            [3, 4, 5, 6, 7, 8, 9],
            "keys stay unique and increasing"
        );
        for i in 10..1000 {
            log.receive(&chat("a", "x", Some(&i.to_string()), None), 0.0, "me");
            assert!(log.rows().len() <= 8);
        }
    }

    #[test]
    fn huge_texts_are_cut_for_display_with_a_note() {
        let mut log = MessageLog::new(10);
        let big = "y".repeat(MAX_SHOWN_CHARS + 500);
        let row = log
            .receive(&chat("a", &big, None, None), 0.0, "me")
            .unwrap();
        assert!(
            row.text.ends_with("… [500 more bytes not shown]"),
            "{}",
            &row.text[9990..]
        );
    }

    #[test]
    fn a_skipped_message_is_a_marked_row_with_its_size() {
        let mut log = MessageLog::new(10);
        log.push_skipped(1_100_000, 1_048_576, 0.0);
        let row = log.rows().next().unwrap();
        assert_eq!(
            row.kind,
            RowKind::Skipped {
                size: 1_100_000,
                limit: 1_048_576
            }
        );
        assert_eq!(
            row.text,
            "a 1.1 MB message was skipped: over this app's 1.0 MB limit"
        );
        assert_eq!(log.total(), 1);
        log.clear();
        assert_eq!((log.total(), log.rows().len()), (0, 0));
        let key = log.push_skipped(1, 1, 0.0);
        assert_eq!(key, 1, "keys are never reused after a clear");
    }

    #[test]
    fn html_stays_plain_text_in_the_model() {
        let mut log = MessageLog::new(10);
        let xss = "<img src=x onerror=alert(1)>";
        let row = log.receive(&chat(xss, xss, None, None), 0.0, "me").unwrap();
        assert_eq!(row.name, xss);
        assert_eq!(row.text, xss);
    }

    fn item(message: &str, id: Option<&str>, at: f64) -> (Vec<u8>, f64, Option<String>) {
        (chat("a", message, id, None), at, None)
    }

    fn times(log: &MessageLog) -> Vec<f64> {
        log.rows().map(|r| r.received_at).collect()
    }

    #[test]
    fn logs_in_different_key_spaces_share_no_key() {
        let mut a = MessageLog::new(10).in_key_space(1);
        let mut b = MessageLog::new(10).in_key_space(2);
        let ka = a.push_skipped(1, 1, 0.0);
        let kb = b.push_skipped(1, 1, 0.0);
        assert_ne!(ka, kb);
        a.clear();
        assert_ne!(a.push_skipped(1, 1, 0.0), kb);
    }

    fn keys_are_unique(log: &MessageLog) -> bool {
        let keys: HashSet<u64> = log.rows().map(|r| r.key).collect();
        keys.len() == log.rows().len()
    }

    #[test]
    fn merge_into_an_empty_log_sorts_by_time() {
        let mut log = MessageLog::new(100);
        let new = log.merge(
            vec![
                item("c", Some("c"), 30.0),
                item("a", Some("a"), 10.0),
                item("b", Some("b"), 20.0),
                item("a2", None, 10.0),
            ],
            "me",
            true,
        );
        assert_eq!(new, 4);
        assert_eq!(texts(&log), ["a", "a2", "b", "c"], "stable for equal times");
        assert_eq!(times(&log), [10.0, 10.0, 20.0, 30.0]);
        assert!(keys_are_unique(&log));
        assert_eq!(log.merge(Vec::new(), "me", true), 0);
    }

    #[test]
    fn merged_rows_interleave_with_live_rows_in_time_order() {
        let mut log = MessageLog::new(100);
        for (text, at) in [("live1", 10.0), ("live2", 20.0), ("live3", 30.0)] {
            log.receive(&chat("a", text, Some(text), None), at, "me");
        }
        let new = log.merge(
            vec![
                item("after-all", Some("x1"), 40.0),
                item("same-as-live2", Some("x2"), 20.0),
                item("before-all", Some("x3"), 5.0),
                item("between", Some("x4"), 15.0),
            ],
            "me",
            true,
        );
        assert_eq!(new, 4);
        assert_eq!(
            texts(&log),
            [
                "before-all",
                "live1",
                "between",
                "live2",
                "same-as-live2",
                "live3",
                "after-all"
            ]
        );
        assert!(keys_are_unique(&log));
        // Live rows after a merge still go at the end.
        log.receive(&chat("a", "live4", Some("live4"), None), 50.0, "me");
        assert_eq!(texts(&log).last().unwrap(), "live4");
        assert!(keys_are_unique(&log));
    }

    #[test]
    fn merge_skips_ids_already_shown_and_repeated_in_the_batch() {
        let mut log = MessageLog::new(100);
        log.receive(&chat("a", "live", Some("id-1"), None), 10.0, "me");
        let new = log.merge(
            vec![
                item("live again", Some("id-1"), 10.0),
                item("twice", Some("id-2"), 5.0),
                item("twice, again", Some("id-2"), 6.0),
                item("no id", None, 7.0),
                item("no id", None, 7.0),
            ],
            "me",
            true,
        );
        assert_eq!(new, 3, "messages without an id are never merged by id");
        assert_eq!(texts(&log), ["twice", "no id", "no id", "live"]);
        // A merged id arriving live later is a duplicate too.
        assert!(log
            .receive(&chat("a", "x", Some("id-2"), None), 20.0, "me")
            .is_none());
        assert_eq!(log.merge(vec![item("x", Some("id-2"), 1.0)], "me", true), 0);
        assert_eq!(log.total(), 4);
    }

    #[test]
    fn merge_trims_the_oldest_to_capacity() {
        let mut log = MessageLog::new(5);
        for i in 0..4 {
            log.receive(
                &chat("a", &format!("live{i}"), None, None),
                10.0 * i as f64,
                "me",
            );
        }
        let new = log.merge(
            vec![
                item("old", Some("o"), -1.0),
                item("m15", Some("m15"), 15.0),
                item("m25", Some("m25"), 25.0),
                item("m99", Some("m99"), 99.0),
            ],
            "me",
            true,
        );
        assert_eq!(new, 4, "trimmed rows still count as new");
        assert_eq!(texts(&log), ["m15", "live2", "m25", "live3", "m99"]);
        assert_eq!(log.total(), 8);
    }

    #[test]
    fn rows_are_verified_only_when_the_topic_proves_the_name() {
        let mut log = MessageLog::new(100);
        let verified = |log: &mut MessageLog, name: &str, author: Option<&str>| {
            log.receive_decoded(
                decode_payload(&chat(name, "hi", None, None)),
                1.0,
                "me",
                author,
            )
            .map(|r| r.verified.clone())
            .unwrap()
        };
        assert_eq!(
            verified(&mut log, "alice", Some("alice")),
            Some("alice".into())
        );
        // bob's topic, calling himself alice.
        assert_eq!(verified(&mut log, "alice", Some("bob")), None);
        // A plain topic proves nothing, whatever the payload says.
        let forged = r#"{"name":"alice","message":"x","verified":true,"author":"alice"}"#;
        assert_eq!(
            log.receive_decoded(decode_payload(forged.as_bytes()), 1.0, "me", None)
                .map(|r| r.verified.clone()),
            Some(None)
        );
        // From history the stored topic's author counts; through catch-up, it never does.
        let history = vec![(
            chat("alice", "kept", Some("h1"), None),
            2.0,
            Some("alice".into()),
        )];
        log.merge(history, "me", false);
        let caught = vec![(
            chat("alice", "relayed", Some("c1"), None),
            3.0,
            Some("alice".into()),
        )];
        log.merge(caught, "me", true);
        let by_text: Vec<(String, Option<String>)> = log
            .rows()
            .map(|r| (r.text.clone(), r.verified.clone()))
            .filter(|(t, _)| t != "hi" && t != "x")
            .collect();
        assert_eq!(
            by_text,
            vec![
                ("kept".to_owned(), Some("alice".to_owned())),
                ("relayed".to_owned(), None)
            ]
        );
    }

    #[test]
    fn only_merged_rows_are_marked_catch_up() {
        let mut log = MessageLog::new(100);
        log.receive(&chat("a", "live", None, None), 10.0, "me");
        log.push_own(
            &ChatMessage {
                name: "me".into(),
                message: "mine".into(),
                id: Some("own".into()),
                from: Some("tab-1".into()),
                ts: None,
                ..Default::default()
            },
            20.0,
            None,
        );
        log.push_skipped(5, 1, 30.0);
        log.merge(
            vec![
                item("caught", Some("c"), 15.0),
                (b"<b>not json</b>".to_vec(), 16.0, None),
                (
                    chat("me", "mine before", Some("m"), Some("tab-1")),
                    17.0,
                    None,
                ),
            ],
            "tab-1",
            true,
        );
        log.merge(vec![item("from history", Some("h"), 1.0)], "tab-1", false);
        let marked: Vec<(&str, bool)> = log.rows().map(|r| (r.text.as_str(), r.catch_up)).collect();
        assert_eq!(
            marked,
            [
                ("from history", false),
                ("live", false),
                ("caught", true),
                ("<b>not json</b>", true),
                ("mine before", true),
                ("mine", false),
                (
                    "a 5 bytes message was skipped: over this app's 1 bytes limit",
                    false
                ),
            ]
        );
        let rows: Vec<&Arc<Row>> = log.rows().collect();
        assert_eq!(rows[3].kind, RowKind::Raw(RawReason::NotJson));
        assert!(rows[4].own, "own author recognised in merged rows");
        assert!(!rows[2].own);
    }

    #[test]
    fn merge_counts_new_rows_in_total_and_raw() {
        let mut log = MessageLog::new(100);
        log.receive(&chat("a", "live", Some("l"), None), 0.0, "me");
        let new = log.merge(
            vec![
                item("a", Some("a"), 1.0),
                (b"raw".to_vec(), 2.0, None),
                (vec![0xff], 3.0, None),
                item("a", Some("a"), 4.0),
            ],
            "me",
            true,
        );
        assert_eq!(new, 3);
        assert_eq!(log.total(), 4);
        assert_eq!(log.raw_count(), 2);
    }

    #[test]
    fn a_thousand_merge_into_a_full_log_in_one_pass() {
        let mut log = MessageLog::new(500);
        for i in 0..500 {
            let id = format!("l{i}");
            log.receive(&chat("a", "live", Some(&id), None), (4 * i) as f64, "me");
        }
        let items: Vec<(Vec<u8>, f64, Option<String>)> = (0..1_000)
            .rev()
            .map(|i| item("merged", Some(&format!("m{i}")), (2 * i + 1) as f64))
            .collect();
        assert_eq!(log.merge(items, "me", true), 1_000);
        assert_eq!(log.rows().len(), 500);
        assert_eq!(log.total(), 1_500);
        // The newest 500 of live rows at 0, 4, .. 1,996 and merged ones at 1, 3, .. 1,999.
        let mut all: Vec<f64> = (0..500).map(|i| (4 * i) as f64).collect();
        all.extend((0..1_000).map(|i| (2 * i + 1) as f64));
        all.sort_by(f64::total_cmp);
        assert_eq!(times(&log), all[1_000..]);
        let merged = log.rows().filter(|r| r.catch_up).count();
        assert!((300..400).contains(&merged), "{merged}");
        assert!(keys_are_unique(&log));
    }

    #[test]
    fn a_listener_gets_every_row_added_even_those_trimmed_since() {
        let mut log = MessageLog::new(4);
        log.receive(&chat("a", "before", None, None), 0.0, "me");
        assert!(log.take_fresh().is_empty(), "nobody listened");
        log.listen(true);
        for i in 0..6 {
            log.receive(&chat("a", &format!("m{i}"), None, None), f64::from(i), "me");
        }
        log.merge(
            vec![(chat("b", "old", Some("o"), None), -1.0, None)],
            "me",
            false,
        );
        let mine = ChatMessage {
            name: "me".into(),
            message: "mine".into(),
            id: Some("x".into()),
            from: None,
            ts: None,
            ..Default::default()
        };
        log.push_own(&mine, 9.0, None);
        let fresh: Vec<String> = log.take_fresh().iter().map(|r| r.text.clone()).collect();
        assert_eq!(fresh, ["m0", "m1", "m2", "m3", "m4", "m5", "old", "mine"]);
        assert!(log.take_fresh().is_empty());
        log.clear();
        log.receive(&chat("a", "after clear", None, None), 10.0, "me");
        assert_eq!(log.take_fresh().len(), 1, "still listening after a clear");
        log.listen(false);
        log.receive(&chat("a", "unheard", None, None), 11.0, "me");
        assert!(log.take_fresh().is_empty());
    }

    #[test]
    fn a_revealed_row_goes_in_its_place_by_time_even_past_the_capacity() {
        let mut log = MessageLog::new(3);
        for i in 0..3 {
            log.receive(
                &chat("a", &format!("m{i}"), None, None),
                f64::from(10 + i),
                "me",
            );
        }
        let old = row_of(&chat("a", "old", Some("o"), None), 5.0);
        let key = log.reveal(old.clone());
        assert_eq!(texts(&log), ["old", "m0", "m1", "m2"]);
        assert_eq!(log.reveal(old), key, "shown once");
        assert_eq!(log.total(), 3, "not a new arrival");
        let ids: Vec<String> = log.rows().map(|r| r.dom_id()).collect();
        assert_eq!(ids[0], "o");
        assert!(ids[1].starts_with("t10-"), "{}", ids[1]);
        assert_ne!(ids[1], ids[2]);
    }

    #[test]
    fn reactions_make_no_rows_and_are_counted_on_the_message_they_name() {
        let mut log = MessageLog::new(10);
        let react = |by: &str, id: &str| {
            format!(r#"{{"name":"{by}","react":"👍","to":"m1","by":"{by}","id":"{id}","ts":5}}"#)
                .into_bytes()
        };
        // Before its message, live, then from history and catch-up (merge), then our own.
        assert!(log.receive(&react("ann", "r1"), 1.0, "").is_none());
        log.receive(&chat("Ann", "hello", Some("m1"), None), 2.0, "");
        let merged = log.merge(vec![(react("bo", "r2"), 3.0, None)], "", true);
        assert_eq!(merged, 0, "no row");
        let own = ChatMessage {
            name: "me".into(),
            react: Some("👍".into()),
            to: Some("m1".into()),
            by: Some("me".into()),
            id: Some("r3".into()),
            ..Default::default()
        };
        assert_eq!(log.push_own(&own, 4.0, None), None);
        assert_eq!(texts(&log), ["hello"]);
        assert_eq!(log.total(), 1, "reactions are not messages");
        let chips = log.reactions().chips("m1", "me");
        assert_eq!(chips.len(), 1);
        assert_eq!((chips[0].count, chips[0].mine), (3, true));
        log.clear();
        assert!(log.reactions().chips("m1", "me").is_empty());
    }
}
