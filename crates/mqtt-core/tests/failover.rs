//! The reconnect policy over several brokers (a cluster's nodes, bridged brokers), on a
//! virtual clock: which broker each attempt goes to, and when.

mod common;

use std::time::Duration;

use mqtt_core::{Action, ConnectRefusal, Instant, LinkError, LinkState, Reconnect};

fn lost() -> LinkError {
    LinkError::Closed {
        url: "ws://node".into(),
        code: 1006,
    }
}

fn two() -> Reconnect {
    Reconnect::default().with_brokers(2)
}

/// The attempt under way connects, serves for `for_` and is lost: returns the new time.
fn serve_then_lose(p: &mut Reconnect, now: Instant, for_: Duration) -> Instant {
    p.handle_connected(now);
    let now = now + for_;
    p.handle_lost(now, lost(), true, 0.5);
    now
}

#[test]
fn one_broker_behaves_as_before() {
    let mut p = Reconnect::default();
    assert_eq!(p.poll_action(), Some(Action::Connect));
    assert_eq!(p.broker(), 0);
    p.handle_lost(Instant::from_millis(0), lost(), true, 0.5);
    assert!(matches!(p.poll_action(), Some(Action::WaitUntil(_))));
    assert_eq!(p.broker(), 0);
}

#[test]
fn the_first_broker_is_tried_first_and_a_dead_one_hands_over_to_the_next_at_once() {
    let mut p = two();
    let now = Instant::from_millis(1_000);
    assert_eq!(p.poll_action(), Some(Action::Connect));
    assert_eq!(p.broker(), 0);
    p.handle_lost(now, lost(), true, 0.5);
    assert_eq!(p.broker(), 1, "the next broker");
    assert_eq!(
        p.link_state(now),
        LinkState::Connecting,
        "tried now, not after a wait"
    );
    assert_eq!(p.poll_action(), Some(Action::Connect));
    p.handle_lost(now, lost(), true, 0.5);
    assert_eq!(p.broker(), 0, "round over: back to the first");
    match p.poll_action() {
        Some(Action::WaitUntil(at)) => {
            let wait = at.saturating_duration_since(now);
            assert!(
                wait >= Duration::from_millis(300) && wait <= Duration::from_millis(500),
                "{wait:?}"
            );
        }
        other => panic!("a round in which every broker failed waits: {other:?}"),
    }
}

#[test]
fn a_node_lost_after_serving_well_fails_over_at_once_to_the_other() {
    let mut p = two();
    let mut now = Instant::from_millis(1_000);
    assert_eq!(p.poll_action(), Some(Action::Connect));
    now = serve_then_lose(&mut p, now, Duration::from_secs(60));
    assert_eq!(p.poll_action(), Some(Action::Connect));
    assert_eq!(p.broker(), 1);
    p.handle_connected(now);
    assert_eq!(p.link_state(now), LinkState::Connected);
    // Node 2 serves for a minute and goes too: node 1 is tried at once, then node 2 waits.
    now = serve_then_lose(&mut p, now, Duration::from_secs(60));
    assert_eq!(p.poll_action(), Some(Action::Connect));
    assert_eq!(p.broker(), 0);
    p.handle_lost(now, lost(), true, 0.5);
    assert!(matches!(p.poll_action(), Some(Action::WaitUntil(_))));
    assert_eq!(p.broker(), 1, "the node that served last is tried last");
}

#[test]
fn a_refusal_stays_with_the_broker_that_refused() {
    let mut p = two();
    assert_eq!(p.poll_action(), Some(Action::Connect));
    p.handle_refused(
        Instant::from_millis(0),
        ConnectRefusal::BadUserNameOrPassword,
        0.5,
    );
    assert_eq!(p.poll_action(), Some(Action::WaitForUser));
    assert_eq!(
        p.broker(),
        0,
        "the other nodes would refuse the same password"
    );
    p.handle_user_retry();
    assert_eq!(p.poll_action(), Some(Action::Connect));
    assert_eq!(p.broker(), 0);
}

#[test]
fn a_node_that_says_it_cannot_serve_hands_over_to_the_next_and_a_round_of_them_backs_off() {
    let mut p = two();
    let now = Instant::from_millis(1_000);
    assert_eq!(p.poll_action(), Some(Action::Connect));
    p.handle_refused(now, ConnectRefusal::ServerUnavailable, 0.5);
    assert_eq!(p.poll_action(), Some(Action::Connect));
    assert_eq!(p.broker(), 1);
    p.handle_refused(now, ConnectRefusal::UseAnotherServer, 0.5);
    assert!(
        matches!(p.poll_action(), Some(Action::WaitUntil(_))),
        "every node said so: the backoff, then again; never a stop, never a loop"
    );
    assert!(matches!(p.link_state(now), LinkState::Retrying { .. }));
    // One broker alone keeps the rule of a refusal: the user decides.
    let mut one = Reconnect::default();
    assert_eq!(one.poll_action(), Some(Action::Connect));
    one.handle_refused(now, ConnectRefusal::ServerUnavailable, 0.5);
    assert_eq!(one.poll_action(), Some(Action::WaitForUser));
}

#[test]
fn a_lost_node_then_a_busy_one_backs_off_and_tries_the_first_again() {
    let mut p = two();
    assert_eq!(p.poll_action(), Some(Action::Connect));
    let now = serve_then_lose(&mut p, Instant::from_millis(1_000), Duration::from_secs(60));
    assert_eq!(p.poll_action(), Some(Action::Connect));
    p.handle_refused(now, ConnectRefusal::ServerBusy, 0.5);
    let Some(Action::WaitUntil(at)) = p.poll_action() else {
        panic!("a backoff, not a stop for the user");
    };
    assert_eq!(p.broker(), 0, "the first node again after the wait");
    p.handle_timeout(at);
    assert_eq!(p.poll_action(), Some(Action::Connect));
}

#[test]
fn a_link_that_stayed_up_until_the_page_went_away_starts_a_new_round() {
    // Node 1 was down at start-up, node 2 served for an hour, then the page was hidden
    // away (pagehide) and came back: the next loss tries node 1 at once, from a fresh
    // outage clock.
    let mut p = two();
    let mut now = Instant::from_millis(1_000);
    assert_eq!(p.poll_action(), Some(Action::Connect));
    p.handle_lost(now, lost(), true, 0.5);
    assert_eq!(p.poll_action(), Some(Action::Connect));
    assert_eq!(p.broker(), 1);
    p.handle_connected(now);
    now += Duration::from_secs(3600);
    p.handle_paused(now);
    p.handle_wake();
    assert_eq!(p.poll_action(), Some(Action::Connect));
    p.handle_lost(now, lost(), true, 0.5);
    assert_eq!(p.poll_action(), Some(Action::Connect), "node 1 at once");
    assert_eq!(p.broker(), 0);
    p.handle_lost(now, lost(), true, 0.5);
    let Some(Action::WaitUntil(at)) = p.poll_action() else {
        panic!("a round over waits");
    };
    assert!(
        at.saturating_duration_since(now) <= Duration::from_millis(500),
        "a new outage: the first delay, not the hour-old one"
    );
}

#[test]
fn offline_waits_for_the_network_whatever_the_list() {
    let mut p = two();
    assert_eq!(p.poll_action(), Some(Action::Connect));
    p.handle_lost(Instant::from_millis(0), lost(), false, 0.5);
    assert_eq!(p.poll_action(), Some(Action::WaitForNetwork));
    p.handle_wake();
    assert_eq!(p.poll_action(), Some(Action::Connect));
    assert_eq!(p.broker(), 1);
}

/// Every broker of a list of `n` down for `minutes`: when each attempt went to which broker.
fn attempts_while_all_down(n: usize, minutes: u64, seed: u64) -> Vec<(Duration, usize)> {
    let mut random = common::jitter(seed);
    let mut p = Reconnect::default().with_brokers(n);
    let start = Instant::from_millis(5_000);
    let mut now = start;
    let mut attempts = Vec::new();
    while now.saturating_duration_since(start) < Duration::from_secs(60 * minutes) {
        match p.poll_action() {
            Some(Action::Connect) => {
                attempts.push((now.saturating_duration_since(start), p.broker()));
                // Each refused in 2 ms: the ports are closed.
                now += Duration::from_millis(2);
                p.handle_lost(now, lost(), true, random());
            }
            Some(Action::WaitUntil(at)) => {
                now = at;
                p.handle_timeout(now);
            }
            other => panic!("{other:?}"),
        }
    }
    attempts
}

#[test]
fn a_list_that_stays_down_gets_each_broker_tried_in_turn_and_backs_off_per_round() {
    for seed in 0..50 {
        let attempts = attempts_while_all_down(3, 8, seed);
        // In turn: 0, 1, 2, 0, 1, 2, …
        for (i, (_, broker)) in attempts.iter().enumerate() {
            assert_eq!(*broker, i % 3, "seed {seed}: attempt {i}");
        }
        // Per broker, the same schedule as one broker alone: quick for the first 10 s, and
        // from 2 minutes down no more than one attempt per 30 s.
        for b in 0..3 {
            let times: Vec<Duration> = attempts
                .iter()
                .filter(|(_, broker)| *broker == b)
                .map(|(t, _)| *t)
                .collect();
            for pair in times.windows(2) {
                let gap = pair[1] - pair[0];
                if pair[0] < Duration::from_secs(9) {
                    assert!(gap <= Duration::from_millis(510), "seed {seed}: {gap:?}");
                }
                if pair[0] >= Duration::from_secs(120) {
                    assert!(gap >= Duration::from_secs(30), "seed {seed}: {gap:?}");
                }
            }
        }
    }
}
