//! Reactions: each one is its own small message in the room,
//! `{"name":"Ann","react":"👍","to":"<message id>","by":"<person>","id":…,"ts":…}`, and
//! `"undo":true` takes it back. A plain client reads it as a short JSON line; this app shows
//! it as a count on the message it names, never as a row.
//!
//! They are folded per message, emoji and person, the newest (by `ts`, then by a hash of the
//! id) winning. So the order they arrive in does not matter: a reaction may come before its
//! message, twice, or after its own take-back, through history, the link or catch-up, and
//! the counts come out the same. A person counts once per emoji.
//!
//! Stored one record per message, emoji and person (see [`Reaction::key`]), under the room's
//! [`reactions_topic`], so a flood of reactions never pushes the messages out of the history.

use std::collections::HashMap;

use crate::history::fnv1a;
use crate::message::ChatMessage;

/// The longest emoji taken, in bytes (a family emoji with joiners is 25).
pub const MAX_EMOJI_BYTES: usize = 32;
/// The longest message id a reaction may name.
pub const MAX_TARGET_BYTES: usize = 128;
/// The longest person id taken; a longer one counts by the name.
pub const MAX_PERSON_BYTES: usize = 64;
/// Distinct emoji on one message; further ones are not counted.
pub const MAX_KINDS: usize = 20;
/// The longest name a reaction without a person id counts by.
pub const MAX_NAME_BYTES: usize = 256;
/// Reactions (message, emoji, person) one room remembers; further ones are not counted.
pub const MAX_FOLDED: usize = 20_000;
/// How far a reaction's own time (`ts`) may be ahead of its arrival: a later one is taken
/// as arriving now, so a made-up time far ahead can neither win every fold nor number the
/// history's records.
pub const MAX_AHEAD_MS: f64 = 60_000.0;
/// The emoji the picker offers.
pub const PICKS: [&str; 6] = ["👍", "❤️", "😂", "🎉", "😮", "😢"];

/// A reaction, read from a [`ChatMessage`] that carries one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reaction<'a> {
    pub emoji: &'a str,
    /// The id of the message reacted to.
    pub to: &'a str,
    /// Who: the person id, or the name without one.
    pub person: &'a str,
    /// Given (`true`) or taken back.
    pub on: bool,
    stamp: Stamp,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Stamp {
    at: f64,
    tie: u64,
}

impl Stamp {
    fn newer_than(&self, other: &Stamp) -> bool {
        match self.at.total_cmp(&other.at) {
            std::cmp::Ordering::Equal => self.tie > other.tie,
            o => o.is_gt(),
        }
    }
}

impl<'a> Reaction<'a> {
    /// The reaction `message` carries, if it is a valid one; `at` is when it arrived: its
    /// time when it has no `ts`, and the latest it may claim (plus [`MAX_AHEAD_MS`]).
    pub fn of(message: &'a ChatMessage, at: f64) -> Option<Reaction<'a>> {
        let emoji = message.react.as_deref()?;
        let to = message.to.as_deref()?;
        let emoji_ok = !emoji.is_empty()
            && emoji.len() <= MAX_EMOJI_BYTES
            && !emoji.chars().any(|c| c.is_whitespace() || c.is_control());
        if !emoji_ok || to.is_empty() || to.len() > MAX_TARGET_BYTES {
            return None;
        }
        let person = message
            .by
            .as_deref()
            .filter(|by| !by.is_empty() && by.len() <= MAX_PERSON_BYTES)
            .unwrap_or(&message.name);
        if person.is_empty() || person.len() > MAX_NAME_BYTES {
            return None;
        }
        let at = match message.ts.filter(|t| t.is_finite()) {
            Some(ts) if at.is_finite() => ts.min(at + MAX_AHEAD_MS),
            Some(ts) => ts,
            None => at,
        };
        let tie = message.id.as_deref().map_or(0, |id| fnv1a(id.as_bytes()));
        Some(Reaction {
            emoji,
            to,
            person,
            on: !message.undo,
            stamp: Stamp { at, tie },
        })
    }

    /// Its storage key: one per message, emoji and person, so a take-back replaces the
    /// reaction it takes back.
    pub fn key(&self) -> String {
        let mut bytes = Vec::with_capacity(self.to.len() + self.emoji.len() + 2);
        for part in [self.to, self.emoji, self.person] {
            bytes.extend_from_slice(part.as_bytes());
            bytes.push(0);
        }
        format!("r:{:016x}", fnv1a(&bytes))
    }

    /// When it was given or taken back.
    pub fn at(&self) -> f64 {
        self.stamp.at
    }
}

/// Where a room's reactions are kept in the history: its chat topic and `#reactions`, which
/// no MQTT topic can be (`#` is a wildcard), so it never meets a real one.
pub fn reactions_topic(chat_topic: &str) -> String {
    format!("{chat_topic}#reactions")
}

/// One emoji on a message, as shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chip {
    pub emoji: String,
    pub count: u32,
    /// This person gave it (clicking takes it back).
    pub mine: bool,
}

/// What the fold did with a reaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folded {
    /// It is the newest word of its person on that emoji and message: worth keeping.
    Newest,
    /// A copy of what is known, or older than it.
    Known,
    /// Over the bounds ([`MAX_KINDS`], [`MAX_FOLDED`]): not counted.
    Refused,
}

#[derive(Clone, Debug)]
struct Kind {
    emoji: String,
    /// Each person's last word, given or taken back (kept, so an older copy loses).
    people: HashMap<String, (Stamp, bool)>,
    count: u32,
}

/// The reactions of one room.
#[derive(Clone, Debug, Default)]
pub struct Reactions {
    /// By message id, its emoji in the order they first came.
    on: HashMap<String, Vec<Kind>>,
    folded: usize,
    refused: u64,
}

impl Reactions {
    /// Take in one reaction (from anywhere, in any order).
    pub fn fold(&mut self, r: &Reaction<'_>) -> Folded {
        let full = self.folded >= MAX_FOLDED;
        let kinds = match self.on.get_mut(r.to) {
            Some(kinds) => kinds,
            None if full => return self.refuse(),
            None => self.on.entry(r.to.to_owned()).or_default(),
        };
        let kind = match kinds.iter().position(|k| k.emoji == r.emoji) {
            Some(i) => &mut kinds[i],
            None if kinds.len() >= MAX_KINDS || full => {
                self.refused += 1;
                return Folded::Refused;
            }
            None => {
                kinds.push(Kind {
                    emoji: r.emoji.to_owned(),
                    people: HashMap::new(),
                    count: 0,
                });
                let last = kinds.len() - 1;
                &mut kinds[last]
            }
        };
        match kind.people.get_mut(r.person) {
            Some((stamp, on)) => {
                if !r.stamp.newer_than(stamp) {
                    return Folded::Known;
                }
                match (*on, r.on) {
                    (false, true) => kind.count += 1,
                    (true, false) => kind.count -= 1,
                    _ => {}
                }
                *stamp = r.stamp;
                *on = r.on;
            }
            None if full => return self.refuse(),
            None => {
                kind.people.insert(r.person.to_owned(), (r.stamp, r.on));
                self.folded += 1;
                if r.on {
                    kind.count += 1;
                }
            }
        }
        Folded::Newest
    }

    fn refuse(&mut self) -> Folded {
        self.refused += 1;
        Folded::Refused
    }

    /// The emoji shown on message `to`, with counts, for the person `me`.
    pub fn chips(&self, to: &str, me: &str) -> Vec<Chip> {
        let Some(kinds) = self.on.get(to) else {
            return Vec::new();
        };
        kinds
            .iter()
            .filter(|k| k.count > 0)
            .map(|k| Chip {
                emoji: k.emoji.clone(),
                count: k.count,
                mine: k.people.get(me).is_some_and(|(_, on)| *on),
            })
            .collect()
    }

    /// Whether any message has a reaction counted (a quick test before asking each row).
    pub fn is_empty(&self) -> bool {
        self.on.is_empty()
    }

    /// Reactions not counted for being over the bounds.
    pub fn refused(&self) -> u64 {
        self.refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{decode_payload, Payload};

    fn reaction(emoji: &str, to: &str, by: &str, ts: f64, id: &str, undo: bool) -> ChatMessage {
        ChatMessage {
            name: format!("name of {by}"),
            react: Some(emoji.into()),
            to: Some(to.into()),
            by: Some(by.into()),
            ts: Some(ts),
            id: Some(id.into()),
            undo,
            ..Default::default()
        }
    }

    fn fold(r: &mut Reactions, m: &ChatMessage) -> Folded {
        r.fold(&Reaction::of(m, 0.0).unwrap())
    }

    fn shown(r: &Reactions, to: &str) -> Vec<(String, u32)> {
        r.chips(to, "")
            .into_iter()
            .map(|c| (c.emoji, c.count))
            .collect()
    }

    #[test]
    fn each_person_counts_once_per_emoji() {
        let mut r = Reactions::default();
        assert_eq!(
            fold(&mut r, &reaction("👍", "m1", "ann", 1.0, "a", false)),
            Folded::Newest
        );
        assert_eq!(
            fold(&mut r, &reaction("👍", "m1", "bo", 2.0, "b", false)),
            Folded::Newest
        );
        // Ann again, a new reaction message of the same emoji: still one of hers.
        fold(&mut r, &reaction("👍", "m1", "ann", 3.0, "c", false));
        fold(&mut r, &reaction("🎉", "m1", "ann", 4.0, "d", false));
        assert_eq!(shown(&r, "m1"), [("👍".into(), 2), ("🎉".into(), 1)]);
        let mine = r.chips("m1", "ann");
        assert!(mine.iter().all(|c| c.mine));
        assert!(r.chips("m1", "bo").iter().any(|c| !c.mine));
        assert!(shown(&r, "other").is_empty());
    }

    #[test]
    fn a_duplicate_changes_nothing_and_is_not_kept_again() {
        let mut r = Reactions::default();
        let m = reaction("👍", "m1", "ann", 1.0, "a", false);
        assert_eq!(fold(&mut r, &m), Folded::Newest);
        assert_eq!(fold(&mut r, &m), Folded::Known);
        assert_eq!(shown(&r, "m1"), [("👍".into(), 1)]);
    }

    #[test]
    fn a_take_back_removes_it_and_an_older_copy_does_not_bring_it_back() {
        let mut r = Reactions::default();
        let give = reaction("👍", "m1", "ann", 1.0, "a", false);
        let take = reaction("👍", "m1", "ann", 2.0, "b", true);
        fold(&mut r, &give);
        assert_eq!(fold(&mut r, &take), Folded::Newest);
        assert!(shown(&r, "m1").is_empty(), "taken back");
        assert_eq!(
            fold(&mut r, &give),
            Folded::Known,
            "the older copy (catch-up)"
        );
        assert!(shown(&r, "m1").is_empty());
        // Given again later.
        fold(&mut r, &reaction("👍", "m1", "ann", 3.0, "c", false));
        assert_eq!(shown(&r, "m1"), [("👍".into(), 1)]);
    }

    #[test]
    fn the_order_they_arrive_in_does_not_matter() {
        let events = [
            reaction("👍", "m1", "ann", 1.0, "a", false),
            reaction("👍", "m1", "ann", 2.0, "b", true),
            reaction("👍", "m1", "bo", 2.5, "c", false),
            reaction("😮", "m1", "cy", 3.0, "d", false),
            reaction("👍", "m1", "ann", 4.0, "e", false),
            reaction("😮", "m1", "cy", 5.0, "f", true),
        ];
        let mut forward = Reactions::default();
        events.iter().for_each(|m| {
            fold(&mut forward, m);
        });
        let mut backward = Reactions::default();
        events.iter().rev().for_each(|m| {
            fold(&mut backward, m);
        });
        assert_eq!(shown(&forward, "m1"), [("👍".into(), 2)]);
        assert_eq!(shown(&backward, "m1"), shown(&forward, "m1"));
    }

    #[test]
    fn a_reaction_before_its_message_waits_for_it() {
        // Folded by id: the message need not exist yet; its row shows the count when it comes.
        let mut r = Reactions::default();
        fold(&mut r, &reaction("🎉", "not-yet", "ann", 1.0, "a", false));
        assert_eq!(shown(&r, "not-yet"), [("🎉".into(), 1)]);
    }

    #[test]
    fn bounds_hold_against_a_flood() {
        let mut r = Reactions::default();
        for i in 0..MAX_KINDS + 5 {
            let emoji = format!("e{i}");
            fold(&mut r, &reaction(&emoji, "m1", "ann", 1.0, "a", false));
        }
        assert_eq!(shown(&r, "m1").len(), MAX_KINDS);
        assert_eq!(r.refused(), 5);
        let mut r = Reactions::default();
        for i in 0..10_000 {
            let by = format!("p{i}");
            fold(&mut r, &reaction("👍", "m1", &by, i as f64, &by, false));
        }
        assert_eq!(shown(&r, "m1"), [("👍".into(), 10_000)]);
    }

    #[test]
    fn only_valid_reactions_are_reactions_and_they_read_as_json_elsewhere() {
        let m = reaction("👍", "m1", "ann", 1.0, "a", false);
        let json: serde_json::Value = serde_json::from_slice(&m.to_json()).unwrap();
        assert_eq!(json["react"], "👍");
        assert_eq!(json["to"], "m1");
        assert!(
            json.get("message").is_none(),
            "no empty text for other clients"
        );
        assert!(json.get("undo").is_none());
        assert_eq!(decode_payload(&m.to_json()), Payload::Chat(m.clone()));
        let take = reaction("👍", "m1", "ann", 1.0, "a", true);
        assert_eq!(decode_payload(&take.to_json()), Payload::Chat(take));

        // From mosquitto_pub: no id, no ts, no by: counted by name, timed on arrival.
        let Payload::Chat(plain) =
            decode_payload(r#"{"name":"cli","react":"🎉","to":"m1"}"#.as_bytes())
        else {
            panic!("a reaction");
        };
        let r = Reaction::of(&plain, 7.0).unwrap();
        assert_eq!((r.person, r.at(), r.on), ("cli", 7.0, true));

        for bad in [
            &br#"{"name":"a","react":"","to":"m1"}"#[..],
            br#"{"name":"a","react":"two words","to":"m1"}"#,
            br#"{"name":"a","react":"\u0007","to":"m1"}"#,
            br#"{"name":"a","react":"x"}"#,
            br#"{"name":"a","react":"x","to":5}"#,
            br#"{"react":"x","to":"m1"}"#,
        ] {
            match decode_payload(bad) {
                Payload::Raw { reason, .. } => {
                    assert_eq!(reason, crate::RawReason::BadReaction, "{bad:?}")
                }
                other => panic!("{:?} read as {other:?}", String::from_utf8_lossy(bad)),
            }
        }
        let long = format!(r#"{{"name":"a","react":"{}","to":"m1"}}"#, "x".repeat(33));
        assert!(matches!(
            decode_payload(long.as_bytes()),
            Payload::Raw { .. }
        ));
        // A `react` of another type is no reaction: the message is read as chat.
        assert!(matches!(
            decode_payload(br#"{"name":"a","message":"b","react":5}"#),
            Payload::Chat(ChatMessage { react: None, .. })
        ));
    }

    #[test]
    fn a_time_far_ahead_is_taken_as_arriving_now() {
        let mut r = Reactions::default();
        // A hostile take-back dated far ahead, in the victim's name.
        let ahead = reaction("👍", "m1", "victim", 1e306, "x", true);
        let ahead = Reaction::of(&ahead, 1_000.0).unwrap();
        assert_eq!(ahead.at(), 1_000.0 + MAX_AHEAD_MS);
        r.fold(&ahead);
        // The victim reacts after that much time: theirs counts.
        let later = reaction(
            "👍",
            "m1",
            "victim",
            1_000.0 + MAX_AHEAD_MS + 1.0,
            "y",
            false,
        );
        r.fold(&Reaction::of(&later, 1_000.0 + MAX_AHEAD_MS + 1.0).unwrap());
        assert_eq!(shown(&r, "m1"), [("👍".into(), 1)]);
        // A name as the person is bounded.
        let long = ChatMessage {
            name: "n".repeat(MAX_NAME_BYTES + 1),
            react: Some("👍".into()),
            to: Some("m1".into()),
            ..Default::default()
        };
        assert!(Reaction::of(&long, 0.0).is_none());
    }

    #[test]
    fn a_take_back_is_kept_under_the_key_of_what_it_takes_back() {
        let give = reaction("👍", "m1", "ann", 1.0, "a", false);
        let take = reaction("👍", "m1", "ann", 2.0, "b", true);
        let other = reaction("👍", "m1", "bo", 2.0, "c", false);
        let key = |m: &ChatMessage| Reaction::of(m, 0.0).unwrap().key();
        assert_eq!(key(&give), key(&take));
        assert_ne!(key(&give), key(&other));
        assert_eq!(reactions_topic("messages/x"), "messages/x#reactions");
    }
}
