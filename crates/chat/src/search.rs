//! Search over what the rooms said: every message of every joined room, as stored and as it
//! arrives, matched case-insensitively by name and by text, newest first, with the match
//! marked. Plain data; the app feeds it (`ui::search`) and draws what it finds.
//!
//! A scan, not an inverted index: 20,000 messages of chat length are about a megabyte of
//! folded text, which `str::contains` walks within a few milliseconds, and a scan matches
//! any part of a word, as people expect of a chat's search box.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use crate::history::{HISTORY_PER_TOPIC, HISTORY_SLACK};
use crate::log::{row_of_own, Row, RowKind};
use crate::room::RoomName;

/// Results drawn at most; the count still says how many matched.
pub const SHOWN_HITS: usize = 50;
/// Messages searched per room, as stored history keeps: the oldest go past this.
pub const PER_ROOM: usize = HISTORY_PER_TOPIC;

/// One message the search can find.
#[derive(Clone, Debug)]
pub struct Entry {
    pub room: RoomName,
    /// The row as the room shows it (its `dom_id` names it on the page).
    pub row: Arc<Row>,
    name: String,
    text: String,
}

/// A message that matched, with where (byte ranges of the row's name and text).
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub room: RoomName,
    pub row: Arc<Row>,
    pub name_mark: Option<Range<usize>>,
    pub text_mark: Option<Range<usize>>,
}

/// What a query found: the newest [`SHOWN_HITS`] and how many there are in all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Found {
    pub hits: Vec<Hit>,
    pub total: usize,
}

/// Every message searched, once each.
#[derive(Debug, Default)]
pub struct SearchIndex {
    entries: Vec<Entry>,
    /// [`ident`] of each entry: the same message from history and live is one.
    known: HashSet<u64>,
    per_room: HashMap<RoomName, usize>,
    /// This tab's author id: stored messages sent under it are read as own rows.
    own_author: String,
}

impl SearchIndex {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A row of `room`, live or already in its log. False if it was there already, or has
    /// nothing to find (a message skipped for its size, or a private room's message not
    /// opened: its text is ciphertext; opened, it comes again as a row of its own).
    pub fn add_row(&mut self, room: &RoomName, row: Arc<Row>) -> bool {
        if matches!(
            row.kind,
            RowKind::Skipped { .. } | RowKind::Raw(crate::message::RawReason::Sealed)
        ) {
            return false;
        }
        if !self.known.insert(ident(room, &row)) {
            return false;
        }
        self.entries.push(Entry {
            room: room.clone(),
            name: fold(&row.name),
            text: fold(&row.text),
            row,
        });
        let count = self.per_room.entry(room.clone()).or_insert(0);
        *count += 1;
        if *count > PER_ROOM + HISTORY_SLACK {
            self.trim(room);
        }
        true
    }

    /// Keep the newest [`PER_ROOM`] of `room`, as its stored history does: a long session
    /// or a burst does not grow the search without end.
    fn trim(&mut self, room: &RoomName) {
        let mut times: Vec<f64> = self
            .entries
            .iter()
            .filter(|e| &e.room == room)
            .map(|e| e.row.received_at)
            .collect();
        let Some(drop) = times.len().checked_sub(PER_ROOM).filter(|d| *d > 0) else {
            return;
        };
        let (_, cut, _) = times.select_nth_unstable_by(drop - 1, f64::total_cmp);
        let cut = *cut;
        // Drop exactly `drop` entries: those older than the cut, then ties at it.
        let mut ties = drop
            - self
                .entries
                .iter()
                .filter(|e| &e.room == room && e.row.received_at < cut)
                .count();
        let known = &mut self.known;
        self.entries.retain(|e| {
            let gone = &e.room == room
                && (e.row.received_at < cut
                    || (e.row.received_at == cut && ties > 0 && {
                        ties -= 1;
                        true
                    }));
            if gone {
                known.remove(&ident(&e.room, &e.row));
            }
            !gone
        });
        self.per_room.insert(room.clone(), PER_ROOM);
    }

    /// A stored payload of `room` that arrived at `at`, read as the room would show it.
    pub fn add_stored(&mut self, room: &RoomName, payload: &[u8], at: f64) -> bool {
        let row = row_of_own(payload, at, &self.own_author);
        self.add_row(room, Arc::new(row))
    }

    /// A private room's stored message that this tab opened: its plaintext `plain`, read
    /// as the room shows it once opened (marked as having come sealed).
    pub fn add_opened(&mut self, room: &RoomName, plain: &[u8], at: f64) -> bool {
        let mut row = row_of_own(plain, at, &self.own_author);
        row.encrypted = row.kind == RowKind::Chat;
        self.add_row(room, Arc::new(row))
    }

    /// This tab's author id, for what [`SearchIndex::add_stored`] reads as its own.
    pub fn set_own_author(&mut self, author: &str) {
        author.clone_into(&mut self.own_author);
    }

    /// Forget everything (the history was cleared).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.known.clear();
        self.per_room.clear();
    }

    /// The messages of the rooms `joined` accepts that match `query` (case-insensitive, in
    /// the name or the text), newest first. An empty query finds nothing.
    pub fn search(&self, query: &str, joined: impl Fn(&RoomName) -> bool) -> Found {
        let query = fold(query.trim());
        if query.is_empty() {
            return Found::default();
        }
        let mut matched: Vec<&Entry> = Vec::new();
        let mut allowed: HashMap<&RoomName, bool> = HashMap::new();
        for entry in &self.entries {
            if (entry.text.contains(&query) || entry.name.contains(&query))
                && *allowed
                    .entry(&entry.room)
                    .or_insert_with(|| joined(&entry.room))
            {
                matched.push(entry);
            }
        }
        let total = matched.len();
        let newest_first = |a: &&Entry, b: &&Entry| b.row.received_at.total_cmp(&a.row.received_at);
        if matched.len() > SHOWN_HITS {
            matched.select_nth_unstable_by(SHOWN_HITS - 1, newest_first);
            matched.truncate(SHOWN_HITS);
        }
        matched.sort_by(newest_first);
        Found {
            hits: matched
                .into_iter()
                .map(|e| Hit {
                    room: e.room.clone(),
                    row: e.row.clone(),
                    name_mark: mark(&e.row.name, &query),
                    text_mark: mark(&e.row.text, &query),
                })
                .collect(),
            total,
        }
    }
}

/// A message's identity within the search: its room and what [`Row::dom_id`] names it by,
/// hashed (64 bits: no string is made per message, and 20,000 messages collide with odds
/// of about 1 in 10^10).
fn ident(room: &RoomName, row: &Row) -> u64 {
    let mut hash = Fnv::default();
    hash.write(room.as_str().as_bytes());
    match &row.id {
        Some(id) => {
            hash.write(&[0]);
            hash.write(id.as_bytes());
        }
        None => {
            hash.write(&[1]);
            hash.write(&(row.received_at.max(0.0) as u64).to_le_bytes());
            hash.write(row.name.as_bytes());
            hash.write(&[0]);
            hash.write(row.text.as_bytes());
        }
    }
    hash.0
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// At most about `width` chars of `text` around `mark`, with the mark moved to match: a
/// long message shows where it matched. Cut ends are marked with `…`.
pub fn excerpt(
    text: &str,
    mark: Option<Range<usize>>,
    width: usize,
) -> (String, Option<Range<usize>>) {
    if text.chars().count() <= width {
        return (text.to_owned(), mark);
    }
    let (start, end) = match &mark {
        Some(m) => {
            // A third of the width before the match.
            let before = text[..m.start]
                .char_indices()
                .rev()
                .take(width / 3)
                .last()
                .map_or(m.start, |(i, _)| i);
            (before, m.start)
        }
        None => (0, 0),
    };
    let end = text[end..]
        .char_indices()
        .nth(width.saturating_sub(text[start..end].chars().count()))
        .map_or(text.len(), |(i, _)| end + i)
        .max(mark.as_ref().map_or(0, |m| m.end));
    let lead = if start > 0 { "…" } else { "" };
    let tail = if end < text.len() { "…" } else { "" };
    let shown = format!("{lead}{}{tail}", &text[start..end]);
    let mark = mark.map(|m| m.start - start + lead.len()..m.end - start + lead.len());
    (shown, mark)
}

/// Text as the search compares it: lower case.
fn fold(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    text.chars().flat_map(char::to_lowercase).collect()
}

/// Where the already folded `query` is in `text`, as a byte range of `text` itself (folding
/// can change lengths, as `İ` does, so the range is mapped back through each char).
pub fn mark(text: &str, query: &str) -> Option<Range<usize>> {
    if query.is_empty() {
        return None;
    }
    let mut folded = String::with_capacity(text.len());
    // For each byte of `folded`, the char of `text` it came from (start, end).
    let mut from: Vec<(usize, usize)> = Vec::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        let end = at + c.len_utf8();
        for lower in c.to_lowercase() {
            folded.push(lower);
            from.resize(folded.len(), (at, end));
        }
    }
    let start = folded.find(query)?;
    let last = start + query.len() - 1;
    Some(from[start].0..from[last].1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::row_of;
    use crate::message::ChatMessage;

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    fn payload(name: &str, text: &str, id: Option<&str>) -> Vec<u8> {
        ChatMessage {
            name: name.into(),
            message: text.into(),
            id: id.map(Into::into),
            from: None,
            ts: None,
            ..Default::default()
        }
        .to_json()
    }

    fn texts(found: &Found) -> Vec<&str> {
        found.hits.iter().map(|h| h.row.text.as_str()).collect()
    }

    #[test]
    fn matches_name_or_text_case_insensitively_newest_first() {
        let mut index = SearchIndex::default();
        let r = room("general");
        index.add_stored(&r, &payload("Ann", "Hello World", Some("1")), 10.0);
        index.add_stored(&r, &payload("bob", "nothing here", Some("2")), 20.0);
        index.add_stored(&r, &payload("WORLDWIDE", "hi", Some("3")), 30.0);
        index.add_stored(&r, &payload("cy", "hello again", Some("4")), 5.0);
        let found = index.search("  WoRlD ", |_| true);
        assert_eq!(texts(&found), ["hi", "Hello World"]);
        assert_eq!(found.total, 2);
        assert_eq!(found.hits[0].name_mark, Some(0..5));
        assert_eq!(found.hits[0].text_mark, None);
        assert_eq!(found.hits[1].text_mark, Some(6..11));
        assert_eq!(
            texts(&index.search("HELLO", |_| true)),
            ["Hello World", "hello again"]
        );
        assert!(index.search("   ", |_| true).hits.is_empty());
        assert!(index.search("absent", |_| true).hits.is_empty());
    }

    #[test]
    fn the_same_message_from_history_and_live_is_one_entry() {
        let mut index = SearchIndex::default();
        let r = room("general");
        let with_id = payload("ann", "hi", Some("abc"));
        assert!(index.add_stored(&r, &with_id, 10.0));
        // Live, it arrived at another time, but its id names it.
        assert!(!index.add_row(&r, Arc::new(row_of(&with_id, 11.0))));
        // Without an id, the time it arrived and its words name it.
        let bare = br#"{"name":"cli","message":"hi"}"#;
        assert!(index.add_stored(&r, bare, 12.0));
        assert!(!index.add_row(&r, Arc::new(row_of(bare, 12.0))));
        assert!(
            index.add_row(&r, Arc::new(row_of(bare, 13.0))),
            "sent again later"
        );
        // The same id in another room is another message.
        assert!(index.add_stored(&room("other"), &with_id, 10.0));
        assert_eq!(index.len(), 4);
        assert_eq!(index.search("hi", |_| true).total, 4);
    }

    #[test]
    fn rooms_left_are_not_searched_and_raw_payloads_are() {
        let mut index = SearchIndex::default();
        index.add_stored(&room("a"), &payload("x", "needle one", None), 1.0);
        index.add_stored(&room("b"), &payload("x", "needle two", None), 2.0);
        index.add_stored(&room("a"), b"plain needle from mosquitto_pub", 3.0);
        index.add_stored(&room("a"), &[0xff, 0xfe], 4.0);
        let found = index.search("needle", |r| r.as_str() == "a");
        assert_eq!(
            texts(&found),
            ["plain needle from mosquitto_pub", "needle one"]
        );
        assert!(found.hits.iter().all(|h| h.room.as_str() == "a"));
    }

    #[test]
    fn at_most_the_newest_fifty_are_listed_and_all_are_counted() {
        let mut index = SearchIndex::default();
        for i in 0..500 {
            let at = f64::from((i * 7919) % 500);
            index.add_stored(&room("a"), &payload("n", &format!("m {i}"), None), at);
        }
        let found = index.search("m", |_| true);
        assert_eq!(found.total, 500);
        assert_eq!(found.hits.len(), SHOWN_HITS);
        let times: Vec<f64> = found.hits.iter().map(|h| h.row.received_at).collect();
        let expected: Vec<f64> = (450..500).rev().map(f64::from).collect();
        assert_eq!(times, expected);
    }

    #[test]
    fn marks_map_back_through_folding_that_changes_lengths() {
        // 'İ' (2 bytes) folds to "i̇" (3 bytes); the mark must still cover whole chars of
        // the original.
        let text = "İstanbul ÀB";
        let range = mark(text, &fold("àb")).unwrap();
        assert_eq!(&text[range], "ÀB");
        let range = mark(text, "stan").unwrap();
        assert_eq!(&text[range], "stan");
        let range = mark(text, &fold("İs")).unwrap();
        assert_eq!(&text[range], "İs");
        assert_eq!(mark(text, "zzz"), None);
        assert_eq!(mark("", "a"), None);
    }

    #[test]
    fn a_skipped_row_is_not_searched_and_clear_forgets_everything() {
        let mut index = SearchIndex::default();
        let mut log = crate::MessageLog::new(10);
        log.push_skipped(1_000_000, 1000, 1.0);
        let skipped = log.rows().next().unwrap().clone();
        assert!(!index.add_row(&room("a"), skipped));
        index.add_stored(&room("a"), &payload("n", "kept", Some("k")), 1.0);
        index.clear();
        assert!(index.is_empty());
        assert!(index.add_stored(&room("a"), &payload("n", "kept", Some("k")), 1.0));
    }

    #[test]
    fn a_room_keeps_its_newest_thousand_like_stored_history() {
        let mut index = SearchIndex::default();
        let a = room("a");
        for i in 0..(PER_ROOM + HISTORY_SLACK + 1) {
            index.add_stored(&a, &payload("n", &format!("<{i}>"), None), i as f64);
        }
        index.add_stored(&room("b"), &payload("n", "b0", None), 0.0);
        assert_eq!(index.len(), PER_ROOM + 1);
        assert!(
            index.search("<100>", |_| true).hits.is_empty(),
            "the oldest went"
        );
        assert_eq!(index.search("<101>", |_| true).total, 1);
        assert_eq!(
            index.search("b0", |_| true).total,
            1,
            "other rooms keep theirs"
        );
        // What was trimmed can come back (read again from history, say).
        assert!(index.add_stored(&a, &payload("n", "<0>", None), 0.0));
    }

    #[test]
    fn an_excerpt_shows_the_match_of_a_long_text() {
        let short = excerpt("hello world", Some(6..11), 40);
        assert_eq!(short, ("hello world".to_owned(), Some(6..11)));
        let long = format!("{}needle{}", "a".repeat(100), "b".repeat(100));
        let (shown, mark) = excerpt(&long, Some(100..106), 30);
        let mark = mark.unwrap();
        assert_eq!(&shown[mark.clone()], "needle");
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        assert!(shown.chars().count() <= 34, "{shown}");
        assert_eq!(
            shown[..mark.start].chars().filter(|c| *c == 'a').count(),
            10
        );
        // Multi-byte text is cut on char boundaries.
        let wide = "é".repeat(100);
        let (shown, _) = excerpt(&wide, None, 10);
        assert_eq!(shown, format!("{}…", "é".repeat(10)));
        // A match longer than the width is shown whole.
        let (shown, mark) = excerpt(&long, Some(0..206), 10);
        assert_eq!(&shown[mark.unwrap()], long.as_str());
    }

    #[test]
    fn a_sealed_message_is_not_searched_until_opened() {
        let mut index = SearchIndex::default();
        let tea = RoomName::parse("tea").unwrap();
        let sealed = crate::private::Sealed {
            salt: None,
            iv: [1; 12],
            ct: vec![2; 20],
        }
        .to_json();
        assert!(!index.add_stored(&tea, &sealed, 1.0));
        assert!(index.is_empty());
        // Opened by this tab's key, its plaintext is searched, marked as having come sealed,
        // and the same message again (its row in the room's log, opened there) is one entry.
        let plain = br#"{"name":"ana","message":"the secret plan","id":"p1"}"#;
        assert!(index.add_opened(&tea, plain, 2.0));
        let mut live = crate::log::row_of(plain, 2.5);
        live.encrypted = true;
        assert!(!index.add_row(&tea, Arc::new(live)));
        assert_eq!(index.len(), 1);
        let found = index.search("secret", |_| true);
        assert_eq!(found.total, 1);
        assert!(found.hits[0].row.encrypted);
    }
}
