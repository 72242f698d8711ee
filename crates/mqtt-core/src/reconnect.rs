//! When to connect: the reconnect policy, apart from any socket, timer or browser API.
//!
//! The transport feeds in what happened (`handle_*`: an attempt connected or ended, a wait
//! ran out, the network came back, the user asked) and asks what to do next
//! ([`Reconnect::poll_action`], [`Reconnect::poll_timeout`]) and what to report
//! ([`Reconnect::link_state`]). Time, randomness and "is the browser online" are inputs, so
//! the whole policy is tested natively on a virtual clock.
//!
//! The rules:
//! - a lost link is retried on the [`Backoff`] schedule, by how long the broker has been out
//!   of reach: every 0.3–0.5 s for the first 10 s, then slower, and from 2 minutes down
//!   every 30–36 s. Publishing while offline asks for no attempt (the messages wait in the
//!   core), and an attempt that a wake or the user asked for does not lengthen the next wait;
//! - a link that stayed up [`STABLE_LINK`] ends the outage; one the broker drops right
//!   after CONNACK (a session takeover, a message it always chokes on) does not, so a broker
//!   that keeps accepting and dropping us is tried ever more slowly;
//! - nothing is tried while the browser says it is offline;
//! - a wake (the browser is back `online`, the tab became visible) or the user's retry cuts
//!   a wait short;
//! - after a refusal only the user's retry tries again: retrying as is would not help;
//! - the same after an MQTT 5 broker said another connection took our session over
//!   (DISCONNECT 0x8E): two tabs with one client id would otherwise take it from each other
//!   forever; every other server DISCONNECT is a lost link, retried with backoff;
//! - after the page went away (`pagehide`) the link is paused until a wake or the user;
//! - with several brokers ([`Reconnect::with_brokers`]) a lost link or a failed attempt
//!   moves on to the next broker at once, and only a round in which every broker failed
//!   waits for the backoff ([`Failover`]). A refusal stays with the broker that refused
//!   (the other nodes would say the same), unless it says the broker itself cannot serve
//!   (unavailable, busy, use another server, moved): that is handled as a lost link, the
//!   next broker now or the backoff, never a stop.

use std::time::Duration;

use crate::backoff::Backoff;
use crate::error::{ConnectRefusal, DisconnectReason};
use crate::failover::{Failover, Next};
use crate::link::{LinkError, LinkState};
use crate::time::Instant;

/// A link that stayed up this long resets the backoff.
pub const STABLE_LINK: Duration = Duration::from_secs(3);

/// What the transport should do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Open a new connection now, and report how it goes.
    Connect,
    /// Wait until then, then call [`Reconnect::handle_timeout`]; a wake or the user's retry
    /// may come first.
    WaitUntil(Instant),
    /// Wait for the network (a wake) or the user.
    WaitForNetwork,
    /// Wait for the user's retry; wakes change nothing.
    WaitForUser,
    /// The page went away: wait until it is back (a wake) or the user asks.
    Paused,
}

/// The reconnect policy of one connection. See the module docs for the rules.
#[derive(Clone, Debug)]
pub struct Reconnect {
    backoff: Backoff,
    stable_after: Duration,
    failover: Failover,
    state: State,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// An attempt is due; the next `poll_action` starts it.
    Due,
    /// An attempt is under way; `connected_at` once the broker accepted it.
    Attempting {
        connected_at: Option<Instant>,
    },
    Backoff {
        until: Instant,
        reason: LinkError,
    },
    Offline {
        reason: LinkError,
    },
    Refused(ConnectRefusal),
    TakenOver,
    Paused,
}

impl Default for Reconnect {
    /// The default [`Backoff`] and [`STABLE_LINK`]; the first attempt is due at once.
    fn default() -> Self {
        Reconnect::new(Backoff::default(), STABLE_LINK)
    }
}

impl Reconnect {
    pub fn new(backoff: Backoff, stable_after: Duration) -> Self {
        Reconnect {
            backoff,
            stable_after,
            failover: Failover::default(),
            state: State::Due,
        }
    }

    /// The same policy over a list of `brokers` addresses (see [`Failover`]).
    pub fn with_brokers(mut self, brokers: usize) -> Self {
        self.failover = Failover::new(brokers);
        self
    }

    /// The index, in the broker list, of the broker the link is on or the next attempt
    /// goes to.
    pub fn broker(&self) -> usize {
        self.failover.current()
    }

    // ----- inputs ---------------------------------------------------------------------------

    /// The broker accepted the attempt under way (CONNACK).
    pub fn handle_connected(&mut self, now: Instant) {
        if let State::Attempting { connected_at } = &mut self.state {
            *connected_at = Some(now);
        }
    }

    /// The link went down or never came up. `online`: what the browser says about the
    /// network now; `random` in `[0, 1)` spreads the retries of many tabs. A session taken
    /// over (`DisconnectReason::is_session_taken_over`) waits for the user, like a refusal.
    pub fn handle_lost(&mut self, now: Instant, reason: LinkError, online: bool, random: f64) {
        self.attempt_ended(now);
        if matches!(&reason, LinkError::Mqtt(r) if r.is_session_taken_over()) {
            self.backoff.reset();
            self.state = State::TakenOver;
            return;
        }
        // Asked even when another broker is tried at once: it starts the outage's clock.
        let delay = self.backoff.next_delay(now, random);
        let next = self.failover.failed();
        self.state = if !online {
            State::Offline { reason }
        } else if next == Next::TryNext {
            State::Due
        } else {
            State::Backoff {
                until: now + delay,
                reason,
            }
        };
    }

    /// The broker refused the connection at `now` (`random` as for [`Reconnect::handle_lost`]).
    pub fn handle_refused(&mut self, now: Instant, refusal: ConnectRefusal, random: f64) {
        // "Unavailable", "busy" or "use another server" from one node of a list is about
        // that node: go on as after a lost link (the next node now, or the backoff).
        if refusal.another_broker_may_serve() && self.failover.len() > 1 {
            let reason = LinkError::Mqtt(DisconnectReason::Refused {
                refusal,
                reason_string: None,
            });
            self.handle_lost(now, reason, true, random);
            return;
        }
        self.attempt_ended(now);
        // Whatever the user changes before retrying deserves a quick second try.
        self.backoff.reset();
        self.state = State::Refused(refusal);
    }

    /// The link was closed at `now` because the page went away; it may come back.
    pub fn handle_paused(&mut self, now: Instant) {
        self.attempt_ended(now);
        self.state = State::Paused;
    }

    /// The attempt under way ended at `now`, however: a link that stayed up ends the outage
    /// and the failover round (the next loss starts both afresh).
    fn attempt_ended(&mut self, now: Instant) {
        let stable = matches!(self.state, State::Attempting { connected_at: Some(at) }
            if now.saturating_duration_since(at) >= self.stable_after);
        if stable {
            self.backoff.reset();
            self.failover.stayed_up();
        }
    }

    /// Time passed: a backoff wait that is over makes an attempt due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if matches!(self.state, State::Backoff { until, .. } if now >= until) {
            self.state = State::Due;
        }
    }

    /// The browser is back `online`, or the tab became visible: worth trying now, unless the
    /// broker refused us (that needs the user) or an attempt is already under way.
    pub fn handle_wake(&mut self) {
        if matches!(
            self.state,
            State::Backoff { .. } | State::Offline { .. } | State::Paused
        ) {
            self.state = State::Due;
        }
    }

    /// The user asks to connect now, from any wait (an attempt under way goes on).
    pub fn handle_user_retry(&mut self) {
        if !matches!(self.state, State::Attempting { .. }) {
            self.state = State::Due;
        }
    }

    // ----- outputs --------------------------------------------------------------------------

    /// What to do now, or `None` while an attempt is under way (its end is the next input).
    /// `Connect` is returned once: the attempt is then under way.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        match &self.state {
            State::Due => {
                self.state = State::Attempting { connected_at: None };
                Some(Action::Connect)
            }
            State::Attempting { .. } => None,
            State::Backoff { until, .. } => Some(Action::WaitUntil(*until)),
            State::Offline { .. } => Some(Action::WaitForNetwork),
            State::Refused(_) | State::TakenOver => Some(Action::WaitForUser),
            State::Paused => Some(Action::Paused),
        }
    }

    /// When [`Reconnect::handle_timeout`] should be called next, if at all.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Backoff { until, .. } => Some(until),
            _ => None,
        }
    }

    /// What to report about the link at `now`.
    pub fn link_state(&self, now: Instant) -> LinkState {
        match &self.state {
            State::Due | State::Attempting { connected_at: None } => LinkState::Connecting,
            State::Attempting {
                connected_at: Some(_),
            } => LinkState::Connected,
            State::Backoff { until, reason } => LinkState::Retrying {
                reason: reason.clone(),
                retry_in: until.saturating_duration_since(now),
            },
            State::Offline { reason } => LinkState::WaitingForNetwork {
                reason: reason.clone(),
            },
            State::Refused(refusal) => LinkState::Refused(*refusal),
            State::TakenOver => LinkState::TakenOver,
            State::Paused => LinkState::Paused,
        }
    }
}
