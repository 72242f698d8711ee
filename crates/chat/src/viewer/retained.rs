//! Retained messages seen under the watched filters, and clearing them.
//!
//! A retained message is known from the broker's own word: a message that came with the
//! retain flag (the broker sends each topic's retained message when a filter is
//! subscribed). It leaves the list when an empty payload comes on its topic: that is how
//! MQTT clears one, whoever sent it.
//!
//! Clearing is an empty retained publish per topic, in batches. A topic counts as cleared
//! only on positive evidence: the empty message coming back on the watched filter (the
//! broker passes a clear on to every subscriber, MQTT-3.3.1-6..7). An MQTT 5 broker that
//! refuses one says why (PUBACK reason code); a 3.1.1 broker that refuses one drops it
//! silently, so a clear that does not come back within [`CLEAR_WAIT_MS`] is "not
//! confirmed", never "cleared". A batch of which none is confirmed stops the job: the
//! broker is not taking them, and sending thousands more would not help.

use std::collections::{BTreeMap, VecDeque};

/// Retained topics kept in the list at most; past it the least recently seen go, counted.
pub const RETAINED_CAPACITY: usize = 20_000;
/// Bytes of topic names the list holds at most (a topic can be 64 KiB: a count alone would
/// not bound its memory); past it the least recently seen go, counted.
pub const RETAINED_TOPIC_BYTES: usize = 4 << 20;
/// Clears sent at once; the next batch goes when this one is answered.
pub const CLEAR_BATCH: usize = 100;
/// How long a clear may take to come back before it counts as not confirmed, ms.
pub const CLEAR_WAIT_MS: f64 = 10_000.0;
/// Once the broker acknowledged a clear (PUBACK), how long its echo may still take, ms.
pub const ECHO_AFTER_ACK_MS: f64 = 3_000.0;

/// A retained message as seen.
#[derive(Clone, Debug, PartialEq)]
pub struct Held {
    /// Bytes of the payload.
    pub size: usize,
    /// When this tab received it (wall clock, ms). MQTT does not say when it was published.
    pub seen_at: f64,
    seq: u64,
    /// How the last clear of it went, if it was tried and did not clear.
    pub outcome: Option<Outcome>,
}

/// How a clear went, when it did not simply clear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Sent, no answer yet.
    Clearing,
    /// The broker refused it (its MQTT 5 reason, in words).
    Refused(String),
    /// It could not be sent (this client refused it before sending), in words.
    Failed(String),
    /// No sign it cleared within the wait: not known.
    Unconfirmed,
}

impl Outcome {
    pub fn key(&self) -> &'static str {
        match self {
            Self::Clearing => "clearing",
            Self::Refused(_) => "refused",
            Self::Failed(_) => "failed",
            Self::Unconfirmed => "unconfirmed",
        }
    }

    pub fn words(&self) -> String {
        match self {
            Self::Clearing => "clearing…".into(),
            Self::Refused(why) => format!("not cleared: the broker refused it ({why})"),
            Self::Failed(why) => format!("not cleared: it could not be sent ({why})"),
            Self::Unconfirmed => "not confirmed: the clear did not come back from the broker \
                                  (it may not allow this client to write here)"
                .into(),
        }
    }
}

/// A clear of many topics, in batches.
#[derive(Clone, Debug, PartialEq)]
pub struct ClearJob {
    queue: VecDeque<String>,
    /// Sent and not answered, with the time each counts as not confirmed.
    in_flight: BTreeMap<String, f64>,
    total: usize,
    cleared: usize,
    refused: usize,
    unconfirmed: usize,
    /// Confirmed in the batch under way.
    confirmed_in_batch: usize,
    stopped: Option<Stop>,
}

/// Why a clear job ended before its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The user stopped it.
    ByUser,
    /// A whole batch went unconfirmed or refused.
    NothingConfirmed,
}

impl ClearJob {
    pub fn total(&self) -> usize {
        self.total
    }

    pub fn cleared(&self) -> usize {
        self.cleared
    }

    pub fn refused(&self) -> usize {
        self.refused
    }

    pub fn unconfirmed(&self) -> usize {
        self.unconfirmed
    }

    /// Answered so far (cleared, refused or not confirmed).
    pub fn done(&self) -> usize {
        self.cleared + self.refused + self.unconfirmed
    }

    pub fn finished(&self) -> bool {
        self.stopped.is_some() || (self.queue.is_empty() && self.in_flight.is_empty())
    }

    pub fn stopped(&self) -> Option<Stop> {
        self.stopped
    }

    /// The earliest time something in flight counts as not confirmed.
    pub fn deadline(&self) -> Option<f64> {
        self.in_flight.values().copied().reduce(f64::min)
    }

    /// Progress in words: "Cleared 300 of 1,000 retained messages." and what went wrong.
    pub fn words(&self) -> String {
        let mut words = if self.finished() {
            format!(
                "Cleared {} of {} retained message{}.",
                thousands(self.cleared),
                thousands(self.total),
                if self.total == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "Clearing: {} of {} done…",
                thousands(self.done()),
                thousands(self.total)
            )
        };
        if self.refused > 0 {
            words.push_str(&format!(
                " {} refused or not sent.",
                thousands(self.refused)
            ));
        }
        if self.unconfirmed > 0 {
            words.push_str(&format!(" {} not confirmed.", thousands(self.unconfirmed)));
        }
        match self.stopped {
            Some(Stop::ByUser) => words.push_str(" Stopped."),
            Some(Stop::NothingConfirmed) => words.push_str(
                " Stopped: the broker confirmed none of the last batch, so it may not allow \
                 this client to clear these topics.",
            ),
            None => {}
        }
        words
    }
}

/// `12345` as `12,345`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The retained messages seen, by topic, and the clear under way.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Retained {
    held: BTreeMap<String, Held>,
    by_age: BTreeMap<u64, String>,
    seq: u64,
    evicted: u64,
    /// Bytes of the topic names held.
    topic_bytes: usize,
    job: Option<ClearJob>,
}

impl Retained {
    /// A message came on a watched topic.
    pub fn seen(&mut self, topic: &str, size: usize, retain: bool, at: f64) {
        if size == 0 {
            // Cleared: by us (confirmed now) or by anyone.
            self.confirm(topic);
            if let Some(old) = self.held.remove(topic) {
                self.by_age.remove(&old.seq);
                self.topic_bytes -= topic.len();
            }
            return;
        }
        if !retain {
            return;
        }
        self.seq += 1;
        if let Some(old) = self.held.remove(topic) {
            self.by_age.remove(&old.seq);
        } else {
            while self.held.len() >= RETAINED_CAPACITY
                || (self.topic_bytes + topic.len() > RETAINED_TOPIC_BYTES && !self.held.is_empty())
            {
                let Some((_, oldest)) = self.by_age.pop_first() else {
                    break;
                };
                self.held.remove(&oldest);
                self.topic_bytes -= oldest.len();
                self.evicted += 1;
            }
            self.topic_bytes += topic.len();
        }
        self.by_age.insert(self.seq, topic.to_owned());
        self.held.insert(
            topic.to_owned(),
            Held {
                size,
                seen_at: at,
                seq: self.seq,
                outcome: None,
            },
        );
    }

    /// Every retained message held, by topic.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Held)> {
        self.held.iter().map(|(t, h)| (t.as_str(), h))
    }

    /// Those under `filter`.
    pub fn under<'a>(&'a self, filter: &'a str) -> impl Iterator<Item = (&'a str, &'a Held)> {
        self.iter()
            .filter(move |(t, _)| mqtt_core::topic::matches(filter, t))
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn get(&self, topic: &str) -> Option<&Held> {
        self.held.get(topic)
    }

    /// Forget them all (the viewer's Clear); a clear under way goes on.
    pub fn forget(&mut self) {
        self.held.clear();
        self.by_age.clear();
        self.topic_bytes = 0;
        self.evicted = 0;
    }

    pub fn job(&self) -> Option<&ClearJob> {
        self.job.as_ref()
    }

    /// Clear `topics`. Refused (false) while another clear is under way.
    pub fn start_clear(&mut self, topics: Vec<String>) -> bool {
        if self.job.as_ref().is_some_and(|j| !j.finished()) {
            return false;
        }
        for t in &topics {
            if let Some(h) = self.held.get_mut(t) {
                h.outcome = None;
            }
        }
        self.job = Some(ClearJob {
            total: topics.len(),
            queue: topics.into(),
            in_flight: BTreeMap::new(),
            cleared: 0,
            refused: 0,
            unconfirmed: 0,
            confirmed_in_batch: 0,
            stopped: None,
        });
        true
    }

    /// The user stopped the clear: nothing more is sent, and what is in flight counts as
    /// not confirmed (the caller takes back what has not left yet).
    pub fn stop_clear(&mut self) {
        if let Some(job) = &mut self.job {
            if !job.finished() {
                job.queue.clear();
                job.stopped = Some(Stop::ByUser);
                for (t, _) in std::mem::take(&mut job.in_flight) {
                    job.unconfirmed += 1;
                    if let Some(h) = self.held.get_mut(&t) {
                        h.outcome = Some(Outcome::Unconfirmed);
                    }
                }
            }
        }
    }

    /// Whether the clear of `topic` is awaited now (sent, not answered, not given up).
    pub fn awaits(&self, topic: &str) -> bool {
        self.job
            .as_ref()
            .is_some_and(|j| j.in_flight.contains_key(topic))
    }

    /// The next batch to send, when the last one is answered.
    pub fn next_batch(&mut self, now: f64) -> Vec<String> {
        let Some(job) = &mut self.job else {
            return Vec::new();
        };
        if job.stopped.is_some() || !job.in_flight.is_empty() {
            return Vec::new();
        }
        let n = job.queue.len().min(CLEAR_BATCH);
        let batch: Vec<String> = job.queue.drain(..n).collect();
        job.confirmed_in_batch = 0;
        for t in &batch {
            job.in_flight.insert(t.clone(), now + CLEAR_WAIT_MS);
            if let Some(h) = self.held.get_mut(t) {
                h.outcome = Some(Outcome::Clearing);
            }
        }
        batch
    }

    /// The broker acknowledged the clear of `topic`: its echo should follow at once.
    pub fn acknowledged(&mut self, topic: &str, now: f64) {
        if let Some(deadline) = self.job.as_mut().and_then(|j| j.in_flight.get_mut(topic)) {
            *deadline = deadline.min(now + ECHO_AFTER_ACK_MS);
        }
    }

    /// The broker refused the clear of `topic`, `why` in words.
    pub fn refused(&mut self, topic: &str, why: &str) {
        self.not_cleared(topic, Outcome::Refused(why.to_owned()));
    }

    /// The clear of `topic` could not be sent, `why` in words.
    pub fn failed(&mut self, topic: &str, why: &str) {
        self.not_cleared(topic, Outcome::Failed(why.to_owned()));
    }

    fn not_cleared(&mut self, topic: &str, outcome: Outcome) {
        let Some(job) = &mut self.job else {
            return;
        };
        if job.in_flight.remove(topic).is_some() {
            job.refused += 1;
            if let Some(h) = self.held.get_mut(topic) {
                h.outcome = Some(outcome);
            }
            self.end_of_batch();
        }
    }

    fn confirm(&mut self, topic: &str) {
        let Some(job) = &mut self.job else {
            return;
        };
        if job.in_flight.remove(topic).is_some() {
            job.cleared += 1;
            job.confirmed_in_batch += 1;
            self.end_of_batch();
        }
    }

    /// Time passes: a clear not back by its deadline is not confirmed.
    pub fn tick(&mut self, now: f64) {
        let Some(job) = &mut self.job else {
            return;
        };
        let late: Vec<String> = job
            .in_flight
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(t, _)| t.clone())
            .collect();
        if late.is_empty() {
            return;
        }
        for t in late {
            job.in_flight.remove(&t);
            job.unconfirmed += 1;
            if let Some(h) = self.held.get_mut(&t) {
                h.outcome = Some(Outcome::Unconfirmed);
            }
        }
        self.end_of_batch();
    }

    /// A batch fully answered with nothing confirmed stops the job.
    fn end_of_batch(&mut self) {
        if let Some(job) = &mut self.job {
            if job.in_flight.is_empty()
                && job.confirmed_in_batch == 0
                && job.stopped.is_none()
                && !job.queue.is_empty()
            {
                job.queue.clear();
                job.stopped = Some(Stop::NothingConfirmed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(n: usize) -> Retained {
        let mut r = Retained::default();
        for i in 0..n {
            r.seen(&format!("site/dev{i}"), 10, true, 1.0);
        }
        r
    }

    #[test]
    fn retained_messages_are_listed_and_cleared_by_anyone() {
        let mut r = Retained::default();
        r.seen("a/1", 5, true, 10.0);
        r.seen("a/2", 7, false, 11.0); // live, not retained
        r.seen("b/1", 3, true, 12.0);
        assert_eq!(r.len(), 2);
        assert_eq!(r.under("a/#").count(), 1);
        assert_eq!(r.get("a/1").unwrap().size, 5);
        r.seen("a/1", 9, true, 20.0);
        assert_eq!(r.get("a/1").unwrap().seen_at, 20.0);
        r.seen("a/1", 0, false, 21.0);
        assert!(r.get("a/1").is_none());
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn the_list_is_bounded_and_counts_what_it_dropped() {
        let mut r = held(RETAINED_CAPACITY + 5);
        assert_eq!(r.len(), RETAINED_CAPACITY);
        assert_eq!(r.evicted(), 5);
        assert!(r.get("site/dev0").is_none());
        r.forget();
        assert!(r.is_empty());
    }

    #[test]
    fn clears_go_in_batches_and_count_only_what_came_back() {
        let mut r = held(250);
        let topics: Vec<String> = r.iter().map(|(t, _)| t.to_owned()).collect();
        assert!(r.start_clear(topics));
        assert!(!r.start_clear(vec!["x".into()]), "one at a time");
        let first = r.next_batch(0.0);
        assert_eq!(first.len(), CLEAR_BATCH);
        assert!(r.next_batch(1.0).is_empty(), "the next waits for answers");
        assert_eq!(r.get(&first[0]).unwrap().outcome, Some(Outcome::Clearing));
        for t in &first {
            r.seen(t, 0, false, 5.0);
        }
        assert_eq!(r.job().unwrap().cleared(), 100);
        let second = r.next_batch(6.0);
        assert_eq!(second.len(), 100);
        // One refused (MQTT 5), one acknowledged but never back, the rest back.
        r.refused(&second[0], "not authorized");
        r.acknowledged(&second[1], 7.0);
        for t in &second[2..] {
            r.seen(t, 0, false, 8.0);
        }
        r.tick(7.0 + ECHO_AFTER_ACK_MS - 1.0);
        assert!(r.next_batch(9.0).is_empty());
        r.tick(7.0 + ECHO_AFTER_ACK_MS);
        let job = r.job().unwrap();
        assert_eq!(
            (job.cleared(), job.refused(), job.unconfirmed()),
            (198, 1, 1)
        );
        assert_eq!(
            r.get(&second[0]).unwrap().outcome,
            Some(Outcome::Refused("not authorized".into()))
        );
        assert_eq!(
            r.get(&second[1]).unwrap().outcome,
            Some(Outcome::Unconfirmed)
        );
        let third = r.next_batch(10_000.0);
        assert_eq!(third.len(), 50);
        for t in &third {
            r.seen(t, 0, false, 10_001.0);
        }
        let job = r.job().unwrap();
        assert!(job.finished());
        assert_eq!(job.done(), 250);
        assert_eq!(
            job.words(),
            "Cleared 248 of 250 retained messages. 1 refused or not sent. 1 not confirmed."
        );
        assert_eq!(r.len(), 2, "what did not clear stays listed");
    }

    #[test]
    fn a_batch_with_nothing_confirmed_stops_the_job() {
        let mut r = held(300);
        let topics: Vec<String> = r.iter().map(|(t, _)| t.to_owned()).collect();
        r.start_clear(topics);
        let first = r.next_batch(0.0);
        assert_eq!(r.job().unwrap().deadline(), Some(CLEAR_WAIT_MS));
        r.tick(CLEAR_WAIT_MS - 1.0);
        assert!(!r.job().unwrap().finished());
        r.tick(CLEAR_WAIT_MS);
        let job = r.job().unwrap();
        assert!(job.finished());
        assert_eq!(job.stopped(), Some(Stop::NothingConfirmed));
        assert_eq!(job.unconfirmed(), first.len());
        assert!(job.words().contains("confirmed none"), "{}", job.words());
        assert!(r.next_batch(CLEAR_WAIT_MS).is_empty());
        // A new clear may start.
        assert!(r.start_clear(vec!["site/dev1".into()]));
    }

    #[test]
    fn a_stopped_clear_sends_no_more() {
        let mut r = held(300);
        let topics: Vec<String> = r.iter().map(|(t, _)| t.to_owned()).collect();
        r.start_clear(topics);
        let first = r.next_batch(0.0);
        r.stop_clear();
        for t in &first {
            r.seen(t, 0, false, 1.0);
        }
        // Given up at the stop: echoes after it take the rows away but count nothing.
        let job = r.job().unwrap();
        assert!(job.finished());
        assert_eq!((job.cleared(), job.unconfirmed()), (0, 100));
        assert!(job.words().ends_with("Stopped."), "{}", job.words());
        assert!(r.next_batch(2.0).is_empty());
        assert_eq!(r.len(), 200);
    }

    #[test]
    fn long_topics_are_bounded_by_their_bytes() {
        let mut r = Retained::default();
        let long = "t/".to_owned() + &"x".repeat(60_000);
        for i in 0..200 {
            r.seen(&format!("{long}{i}"), 1, true, 0.0);
        }
        assert!(
            r.len() < 200 && r.len() >= RETAINED_TOPIC_BYTES / 60_010 - 1,
            "{}",
            r.len()
        );
        assert_eq!(r.evicted() as usize, 200 - r.len());
        assert!(r.topic_bytes <= RETAINED_TOPIC_BYTES);
        r.seen(&format!("{long}199"), 0, false, 1.0);
        assert!(r.topic_bytes <= RETAINED_TOPIC_BYTES - 60_000);
    }

    #[test]
    fn a_stop_gives_up_what_is_in_flight_and_a_send_failure_is_not_the_broker() {
        let mut r = held(3);
        let topics: Vec<String> = r.iter().map(|(t, _)| t.to_owned()).collect();
        r.start_clear(topics.clone());
        r.next_batch(0.0);
        assert!(r.awaits(&topics[0]));
        r.failed(&topics[0], "too large");
        assert_eq!(
            r.get(&topics[0])
                .unwrap()
                .outcome
                .as_ref()
                .map(Outcome::words),
            Some("not cleared: it could not be sent (too large)".into())
        );
        r.stop_clear();
        assert!(!r.awaits(&topics[1]));
        assert_eq!(
            r.get(&topics[1]).unwrap().outcome,
            Some(Outcome::Unconfirmed)
        );
        let job = r.job().unwrap();
        assert!(job.finished());
        assert_eq!((job.refused(), job.unconfirmed()), (1, 2));
        // A late echo still takes the row away, but counts nothing.
        r.seen(&topics[1], 0, false, 5.0);
        assert_eq!(r.job().unwrap().cleared(), 0);
        assert!(r.get(&topics[1]).is_none());
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
