//! When to try again after the link is lost: a schedule by how long the broker has been out
//! of reach, with jitter. The caller passes the time and the randomness in, so the policy is
//! deterministic under test.
//!
//! - For the first [`FAST_FOR`] (10 s) of an outage, every 0.3–0.5 s. Most outages are short
//!   (a broker restart, a network blip): the tab is back within half a second of the broker,
//!   where MQTT.js's fixed one-second period takes half a second on average.
//! - Then a quarter of the time it has been down (minus the first 8 s), ±20 %: 3 s after 20 s
//!   down, 13 s after a minute.
//! - After [`SLOW_AFTER`] (2 minutes) down, every 30–36 s: a broker that stays down gets no
//!   more than one attempt per tab in any 30 s.
//!
//! The delay depends on the time down, not on how many attempts were made: an attempt the
//! user, the network coming back or the tab becoming visible asked for does not make the
//! next wait longer.

use std::time::Duration;

use crate::time::Instant;

/// How long the quick retries last.
pub const FAST_FOR: Duration = Duration::from_secs(10);
/// From this long down, one attempt per 30–36 s.
pub const SLOW_AFTER: Duration = Duration::from_secs(120);

const FAST_MIN: Duration = Duration::from_millis(300);
const FAST_SPREAD: Duration = Duration::from_millis(200);
const SLOW_MIN: Duration = Duration::from_secs(30);
const SLOW_SPREAD: Duration = Duration::from_secs(6);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Backoff {
    /// When the outage began: the first loss since the last [`Backoff::reset`].
    down_since: Option<Instant>,
}

impl Backoff {
    /// The delay before the next attempt, after one failed at `now`, for `random` in `[0, 1)`
    /// (spreads the retries of many tabs that lost the same broker). The first call after a
    /// reset starts the outage's clock.
    pub fn next_delay(&mut self, now: Instant, random: f64) -> Duration {
        let since = *self.down_since.get_or_insert(now);
        let down = now.saturating_duration_since(since);
        let random = if random.is_finite() {
            random.clamp(0.0, 1.0)
        } else {
            0.5
        };
        if down < FAST_FOR {
            FAST_MIN + FAST_SPREAD.mul_f64(random)
        } else if down < SLOW_AFTER {
            let quarter = (down - Duration::from_secs(8)) / 4;
            quarter
                .mul_f64(0.8 + 0.4 * random)
                .clamp(FAST_MIN, SLOW_MIN)
        } else {
            SLOW_MIN + SLOW_SPREAD.mul_f64(random)
        }
    }

    /// After a link that stayed up: the next loss is a new outage.
    pub fn reset(&mut self) {
        self.down_since = None;
    }

    /// How long the current outage has lasted at `now`, if there is one.
    pub fn down_for(&self, now: Instant) -> Option<Duration> {
        self.down_since
            .map(|since| now.saturating_duration_since(since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: f64) -> Instant {
        Instant::from_millis((s * 1000.0) as u64)
    }

    #[test]
    fn quick_then_a_quarter_of_the_time_down_then_every_half_minute() {
        let mut b = Backoff::default();
        let d = |b: &mut Backoff, s: f64, r: f64| b.next_delay(at(s), r).as_millis();
        assert_eq!(d(&mut b, 100.0, 0.0), 300, "the outage starts");
        assert_eq!(d(&mut b, 109.9, 1.0), 500);
        assert_eq!(d(&mut b, 120.0, 0.5), 3_000, "20 s down: (20 - 8) / 4");
        assert_eq!(d(&mut b, 160.0, 0.5), 13_000);
        assert_eq!(d(&mut b, 219.0, 1.0), 30_000, "capped at 30 s");
        assert_eq!(d(&mut b, 220.0, 0.0), 30_000, "2 minutes down");
        assert_eq!(d(&mut b, 5_000.0, 0.999), 35_994);
        b.reset();
        assert_eq!(d(&mut b, 6_000.0, 0.0), 300, "a new outage");
    }

    #[test]
    fn odd_randomness_is_tamed() {
        let d = |r: f64| Backoff::default().next_delay(at(1.0), r).as_millis();
        assert_eq!(d(f64::NAN), 400);
        assert_eq!(d(7.0), 500);
        assert_eq!(d(-1.0), 300);
    }
}
