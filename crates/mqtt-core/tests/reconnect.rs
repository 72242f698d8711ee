//! The reconnect policy on a virtual clock: no socket, no timer, no browser.

mod common;

use std::time::Duration;

use mqtt_core::{Action, ConnectRefusal, Instant, LinkError, LinkState, Reconnect};

/// The top of the jitter range, so delays are the schedule's upper bound.
const MAX_JITTER: f64 = 0.999_999;

fn unreachable() -> LinkError {
    LinkError::Unreachable {
        url: "ws://127.0.0.1:9".into(),
    }
}

/// A policy and its virtual clock.
struct Harness {
    policy: Reconnect,
    now: Instant,
}

impl Harness {
    /// A fresh policy whose first attempt has started.
    fn attempting() -> Harness {
        let mut h = Harness {
            policy: Reconnect::default(),
            now: Instant::from_millis(1_000),
        };
        assert_eq!(h.policy.poll_action(), Some(Action::Connect));
        h
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.policy.handle_timeout(self.now);
    }

    /// The attempt under way fails while online; returns the wait that follows.
    fn lose(&mut self) -> Duration {
        self.policy
            .handle_lost(self.now, unreachable(), true, MAX_JITTER);
        match self.policy.poll_action() {
            Some(Action::WaitUntil(at)) => at.saturating_duration_since(self.now),
            other => panic!("expected a backoff wait, got {other:?}"),
        }
    }

    /// Waits out the backoff (jumping the clock to the deadline) and starts the next attempt.
    fn wait_out_and_connect(&mut self) {
        let at = self.policy.poll_timeout().expect("a deadline");
        self.now = at;
        self.policy.handle_timeout(self.now);
        assert_eq!(self.policy.poll_action(), Some(Action::Connect));
    }

    /// Fails attempts in a row, each waited out, until the broker has been out of reach
    /// for `down`; returns the last wait.
    fn fail_for(&mut self, down: Duration) -> Duration {
        let start = self.now;
        let mut wait = Duration::ZERO;
        while self.now.saturating_duration_since(start) < down {
            wait = self.lose();
            self.wait_out_and_connect();
        }
        wait
    }
}

#[test]
fn the_first_attempt_starts_at_once_and_nothing_is_decided_while_it_runs() {
    let mut h = Harness::attempting();
    assert_eq!(h.policy.link_state(h.now), LinkState::Connecting);
    assert_eq!(h.policy.poll_action(), None, "Connect is returned once");
    h.policy.handle_wake();
    h.policy.handle_user_retry();
    h.advance(Duration::from_secs(60));
    assert_eq!(h.policy.poll_action(), None, "the attempt goes on");
    h.policy.handle_connected(h.now);
    assert_eq!(h.policy.link_state(h.now), LinkState::Connected);
}

#[test]
fn a_lost_link_waits_for_the_backoff_and_then_connects_again() {
    let mut h = Harness::attempting();
    let wait = h.lose();
    assert!(wait <= Duration::from_millis(500), "{wait:?}");
    assert_eq!(
        h.policy.link_state(h.now),
        LinkState::Retrying {
            reason: unreachable(),
            retry_in: wait
        }
    );
    h.advance(wait - Duration::from_millis(1));
    assert!(
        matches!(h.policy.poll_action(), Some(Action::WaitUntil(_))),
        "not a millisecond early"
    );
    h.advance(Duration::from_millis(1));
    assert_eq!(h.policy.poll_action(), Some(Action::Connect));
}

#[test]
fn a_link_that_stayed_up_three_seconds_starts_the_backoff_over() {
    let mut h = Harness::attempting();
    let grown = h.fail_for(Duration::from_secs(20));
    assert!(
        grown > Duration::from_secs(1),
        "the backoff grew: {grown:?}"
    );
    h.policy.handle_connected(h.now);
    h.advance(Duration::from_secs(3));
    let wait = h.lose();
    assert!(
        wait <= Duration::from_millis(500),
        "back to the first delay: {wait:?}"
    );
}

#[test]
fn a_link_dropped_right_after_connack_keeps_backing_off() {
    let mut h = Harness::attempting();
    let grown = h.fail_for(Duration::from_secs(20));
    h.policy.handle_connected(h.now);
    h.advance(Duration::from_millis(2_999));
    let wait = h.lose();
    assert!(
        wait > grown,
        "the backoff keeps growing ({grown:?} then {wait:?})"
    );
}

#[test]
fn nothing_is_tried_while_offline_and_coming_back_online_connects_at_once() {
    let mut h = Harness::attempting();
    h.policy
        .handle_lost(h.now, unreachable(), false, MAX_JITTER);
    assert_eq!(h.policy.poll_action(), Some(Action::WaitForNetwork));
    assert_eq!(h.policy.poll_timeout(), None, "no timer while offline");
    assert_eq!(
        h.policy.link_state(h.now),
        LinkState::WaitingForNetwork {
            reason: unreachable()
        }
    );
    h.advance(Duration::from_secs(3600));
    assert_eq!(
        h.policy.poll_action(),
        Some(Action::WaitForNetwork),
        "an hour later, still nothing tried"
    );
    h.policy.handle_wake(); // `online`
    assert_eq!(h.policy.poll_action(), Some(Action::Connect));
}

#[test]
fn after_a_refusal_nothing_is_retried_until_the_user_asks() {
    let mut h = Harness::attempting();
    h.policy
        .handle_refused(h.now, ConnectRefusal::BadUserNameOrPassword, 0.5);
    assert_eq!(h.policy.poll_action(), Some(Action::WaitForUser));
    assert_eq!(h.policy.poll_timeout(), None);
    assert_eq!(
        h.policy.link_state(h.now),
        LinkState::Refused(ConnectRefusal::BadUserNameOrPassword)
    );
    h.advance(Duration::from_secs(3600));
    h.policy.handle_wake(); // online, or visible
    assert_eq!(
        h.policy.poll_action(),
        Some(Action::WaitForUser),
        "neither time nor a wake retries a refusal"
    );
    h.policy.handle_user_retry();
    assert_eq!(h.policy.poll_action(), Some(Action::Connect));
}

#[test]
fn a_refusal_starts_the_backoff_over_for_the_users_retry() {
    let mut h = Harness::attempting();
    h.fail_for(Duration::from_secs(30));
    h.policy
        .handle_refused(h.now, ConnectRefusal::NotAuthorized, 0.5);
    h.policy.handle_user_retry();
    assert_eq!(h.policy.poll_action(), Some(Action::Connect));
    assert!(h.lose() <= Duration::from_millis(500));
}

#[test]
fn a_wake_on_online_or_visible_cuts_a_backoff_wait_short() {
    let mut h = Harness::attempting();
    h.fail_for(Duration::from_secs(20));
    let wait = h.lose();
    assert!(wait > Duration::from_secs(2), "{wait:?}");
    h.advance(Duration::from_millis(100));
    h.policy.handle_wake();
    assert_eq!(
        h.policy.poll_action(),
        Some(Action::Connect),
        "at once, not in {wait:?}"
    );
}

#[test]
fn the_users_retry_cuts_a_backoff_wait_short() {
    let mut h = Harness::attempting();
    h.fail_for(Duration::from_secs(20));
    h.lose();
    h.policy.handle_user_retry();
    assert_eq!(h.policy.poll_action(), Some(Action::Connect));
}

#[test]
fn a_paused_link_waits_for_the_page_to_come_back() {
    let mut h = Harness::attempting();
    h.policy.handle_connected(h.now);
    h.policy.handle_paused(h.now); // pagehide closed the link
    assert_eq!(h.policy.poll_action(), Some(Action::Paused));
    assert_eq!(h.policy.link_state(h.now), LinkState::Paused);
    assert_eq!(h.policy.poll_timeout(), None);
    h.advance(Duration::from_secs(3600));
    assert_eq!(
        h.policy.poll_action(),
        Some(Action::Paused),
        "time alone does nothing"
    );
    h.policy.handle_wake(); // visible again
    assert_eq!(h.policy.poll_action(), Some(Action::Connect));

    h.policy.handle_paused(h.now);
    h.policy.handle_user_retry(); // pageshow from the back/forward cache
    assert_eq!(h.policy.poll_action(), Some(Action::Connect));
}

/// A broker that stays down, with randomness from a small deterministic generator: the
/// times of the attempts over `minutes`.
fn attempts_while_down(seed: u64, minutes: u64, wake_every: Option<Duration>) -> Vec<Duration> {
    let mut random = common::jitter(seed);
    let mut policy = Reconnect::default();
    let start = Instant::from_millis(5_000);
    let mut now = start;
    let mut times = Vec::new();
    let mut next_wake = wake_every.map(|w| start + w);
    while now.saturating_duration_since(start) < Duration::from_secs(60 * minutes) {
        match policy.poll_action() {
            Some(Action::Connect) => {
                times.push(now.saturating_duration_since(start));
                // Refused at once: the port is closed.
                policy.handle_lost(now, unreachable(), true, random());
            }
            Some(Action::WaitUntil(at)) => match next_wake {
                Some(wake) if wake < at => {
                    now = wake;
                    next_wake = wake_every.map(|w| wake + w);
                    policy.handle_wake();
                }
                _ => {
                    now = at;
                    policy.handle_timeout(now);
                }
            },
            other => panic!("{other:?}"),
        }
    }
    times
}

#[test]
fn quick_while_the_broker_is_briefly_away_then_once_per_30_s_after_two_minutes() {
    for seed in 0..200 {
        let times = attempts_while_down(seed, 10, None);
        for pair in times.windows(2) {
            let gap = pair[1] - pair[0];
            if pair[0] < Duration::from_secs(10) {
                assert!(
                    gap >= Duration::from_millis(300) && gap <= Duration::from_millis(500),
                    "seed {seed}: {gap:?} after {:?}",
                    pair[0]
                );
            }
            if pair[0] >= Duration::from_secs(120) {
                assert!(
                    gap >= Duration::from_secs(30),
                    "seed {seed}: {gap:?} after {:?}",
                    pair[0]
                );
            }
        }
        let in_two_minutes = times
            .iter()
            .filter(|t| **t < Duration::from_secs(120))
            .count();
        assert!(
            (20..=60).contains(&in_two_minutes),
            "seed {seed}: {in_two_minutes} attempts in the first 2 minutes"
        );
        let last_8 = times
            .iter()
            .filter(|t| **t >= Duration::from_secs(360))
            .count();
        assert!(
            last_8 <= 9,
            "seed {seed}: {last_8} attempts in the last 4 minutes"
        );
    }
}

#[test]
fn attempts_a_wake_or_the_user_asks_for_do_not_make_the_next_wait_longer() {
    // Two tabs lose the same broker at the same moment; one is woken 20 times in the first
    // minute (shown and hidden, the network flapping, the user pressing retry), and each of
    // those attempts fails too. A minute in, both wait the same: the wait follows the time
    // down, not the number of attempts.
    let start = Instant::from_millis(1_000);
    let mut quiet = Reconnect::default();
    let mut woken = Reconnect::default();
    for p in [&mut quiet, &mut woken] {
        assert_eq!(p.poll_action(), Some(Action::Connect));
        p.handle_lost(start, unreachable(), true, 0.5);
    }
    for i in 1..=19u64 {
        let now = start + Duration::from_secs(i * 3);
        if i % 2 == 0 {
            woken.handle_wake();
        } else {
            woken.handle_user_retry();
        }
        assert_eq!(woken.poll_action(), Some(Action::Connect));
        woken.handle_lost(now, unreachable(), true, 0.5);
    }
    let minute = start + Duration::from_secs(60);
    for p in [&mut quiet, &mut woken] {
        p.handle_user_retry();
        assert_eq!(p.poll_action(), Some(Action::Connect));
        p.handle_lost(minute, unreachable(), true, 0.5);
    }
    assert_eq!(quiet.poll_timeout(), woken.poll_timeout());
    assert_eq!(
        quiet.poll_timeout(),
        Some(minute + Duration::from_secs(13)),
        "(60 - 8) / 4 s"
    );
}
