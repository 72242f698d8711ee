//! Which broker to try next, when a connection names several (`ws://a:9001,ws://b:9001`):
//! the nodes of a cluster, or bridged brokers. Pure: the reconnect policy asks it after
//! every attempt, and it only counts.
//!
//! - The first attempt goes to the first broker of the list.
//! - A lost link, or an attempt that failed, moves on to the next broker in the list, at
//!   once while some broker of the list has not failed since the last good link.
//! - When every broker has failed in turn (a round), the next round waits for the backoff:
//!   the schedule runs across the whole list, so a list of brokers that are all down is
//!   tried no more often, per broker, than one broker alone.
//! - A link that stayed up (see [`crate::STABLE_LINK`]) starts a new round where it is, so
//!   the broker that served last is the last one tried again.

/// The broker list's position and the failures of the current round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failover {
    brokers: usize,
    current: usize,
    failed: usize,
}

/// What follows a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Another broker of the list has not failed in this round: try it at once.
    TryNext,
    /// Every broker failed in this round: wait for the backoff, then start the next round.
    Wait,
}

impl Default for Failover {
    /// One broker.
    fn default() -> Self {
        Failover::new(1)
    }
}

impl Failover {
    /// A list of `brokers` addresses (at least one), starting with the first.
    pub fn new(brokers: usize) -> Self {
        Failover {
            brokers: brokers.max(1),
            current: 0,
            failed: 0,
        }
    }

    /// The index of the broker to try now, or the one the link is on.
    pub fn current(&self) -> usize {
        self.current
    }

    /// How many brokers the list has.
    pub fn len(&self) -> usize {
        self.brokers
    }

    /// A list always has at least one broker.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The link to the current broker stayed up: the next failure starts a new round.
    pub fn stayed_up(&mut self) {
        self.failed = 0;
    }

    /// The attempt on the current broker failed, or its link was lost: move on to the next.
    pub fn failed(&mut self) -> Next {
        self.current = (self.current + 1) % self.brokers;
        self.failed += 1;
        if self.failed < self.brokers {
            Next::TryNext
        } else {
            self.failed = 0;
            Next::Wait
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_broker_always_waits_and_stays_first() {
        let mut f = Failover::new(1);
        for _ in 0..5 {
            assert_eq!(f.failed(), Next::Wait);
            assert_eq!(f.current(), 0);
        }
        assert_eq!(Failover::new(0).len(), 1, "an empty list is one broker");
    }

    #[test]
    fn each_broker_is_tried_once_per_round_then_the_round_waits() {
        let mut f = Failover::new(3);
        assert_eq!(f.current(), 0);
        assert_eq!(f.failed(), Next::TryNext);
        assert_eq!(f.current(), 1);
        assert_eq!(f.failed(), Next::TryNext);
        assert_eq!(f.current(), 2);
        assert_eq!(f.failed(), Next::Wait);
        assert_eq!(f.current(), 0, "the next round starts at the first");
        assert_eq!(f.failed(), Next::TryNext);
    }

    #[test]
    fn a_link_that_stayed_up_starts_a_new_round_after_it() {
        let mut f = Failover::new(2);
        assert_eq!(f.failed(), Next::TryNext);
        assert_eq!(f.current(), 1);
        f.stayed_up();
        assert_eq!(f.failed(), Next::TryNext, "the other broker at once");
        assert_eq!(f.current(), 0);
        assert_eq!(f.failed(), Next::Wait, "then the round is over");
        assert_eq!(f.current(), 1, "and the one that served last comes last");
    }
}
