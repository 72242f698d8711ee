//! When to try again after the link is lost: exponential backoff with jitter. The caller
//! passes the randomness in, so the policy is deterministic under test.
//!
//! The factor is 1.5, not 2: most outages are short (a broker restart, a network blip), and
//! with doubling a 3 s outage leaves the client in a 2–4 s wait when the broker is already
//! back. At 1.5 the delays still reach the 30 s cap after about ten attempts (a minute and
//! a half), so a long outage costs the broker no more than one attempt per tab per ~20 s.

use std::time::Duration;

const FACTOR: f64 = 1.5;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Default for Backoff {
    /// First retry within 0.5 s, then growing by half each time, up to 30 s.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(500), Duration::from_secs(30))
    }
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The delay before the next attempt, for `random` in `[0, 1)`. Half of it is fixed and
    /// half random ("equal jitter"), so retries never come faster than half the schedule,
    /// and many tabs that lost the same broker spread out instead of arriving together.
    pub fn next_delay(&mut self, random: f64) -> Duration {
        let grown = self.base.as_secs_f64() * FACTOR.powi(self.attempt.min(64) as i32);
        let exp = Duration::from_secs_f64(grown.min(self.cap.as_secs_f64()));
        self.attempt = self.attempt.saturating_add(1);
        let random = if random.is_finite() {
            random.clamp(0.0, 1.0)
        } else {
            0.5
        };
        exp / 2 + exp.mul_f64(random) / 2
    }

    /// After a successful connection: the next loss starts from the shortest delay again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Attempts since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> u128 {
        d.as_millis()
    }

    #[test]
    fn first_retry_comes_within_half_a_second() {
        for r in [0.0, 0.3, 0.999] {
            let d = Backoff::default().next_delay(r);
            assert!(ms(d) >= 250 && ms(d) <= 500, "{d:?}");
        }
    }

    #[test]
    fn delays_grow_by_half_then_stay_capped_at_30_seconds() {
        let mut b = Backoff::default();
        let upper: Vec<u128> = (0..13).map(|_| ms(b.next_delay(1.0))).collect();
        assert_eq!(
            upper,
            [500, 750, 1125, 1687, 2531, 3796, 5695, 8542, 12814, 19221, 28832, 30000, 30000]
        );
        let mut b = Backoff::default();
        let lower: Vec<u128> = (0..4).map(|_| ms(b.next_delay(0.0))).collect();
        assert_eq!(lower, [250, 375, 562, 843]);
    }

    #[test]
    fn reset_starts_over_and_hundreds_of_attempts_do_not_overflow() {
        let mut b = Backoff::default();
        for _ in 0..500 {
            assert!(b.next_delay(0.7) <= Duration::from_secs(30));
        }
        assert_eq!(b.attempts(), 500);
        b.reset();
        assert!(b.next_delay(1.0) <= Duration::from_millis(500));
    }

    #[test]
    fn odd_randomness_is_tamed() {
        let mut b = Backoff::default();
        assert_eq!(ms(b.next_delay(f64::NAN)), 375);
        assert_eq!(ms(Backoff::default().next_delay(7.0)), 500);
        assert_eq!(ms(Backoff::default().next_delay(-1.0)), 250);
    }
}
