//! The storage write queue's bound: history gives way, unsent messages never do.

use chat::write_queue::{Bound, Class, Queued, WriteQueue, WRITE_OVERHEAD};
use chat::HISTORY_PER_TOPIC;

#[derive(Clone, Debug, PartialEq)]
enum W {
    History {
        topic: String,
        n: usize,
        bytes: usize,
    },
    Clear,
    Put {
        owner: String,
        seq: f64,
    },
    Delete {
        owner: String,
        seq: f64,
    },
}

impl Queued for W {
    fn class(&self) -> Class<'_> {
        match self {
            W::History { topic, .. } => Class::History { topic },
            W::Clear => Class::ClearHistory,
            W::Put { owner, seq } => Class::Outbox {
                owner,
                seq: *seq,
                delete: false,
            },
            W::Delete { owner, seq } => Class::Outbox {
                owner,
                seq: *seq,
                delete: true,
            },
        }
    }

    fn weight(&self) -> usize {
        match self {
            W::History { bytes, .. } => *bytes + WRITE_OVERHEAD,
            _ => WRITE_OVERHEAD,
        }
    }
}

fn history(topic: &str, n: usize) -> W {
    W::History {
        topic: topic.into(),
        n,
        bytes: 100,
    }
}

fn put(seq: f64) -> W {
    W::Put {
        owner: "tab".into(),
        seq,
    }
}

fn puts(q: &WriteQueue<W>) -> Vec<f64> {
    q.iter()
        .filter_map(|w| match w {
            W::Put { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect()
}

fn bound(writes: usize, bytes: usize) -> Bound {
    Bound { writes, bytes }
}

#[test]
fn history_past_the_bound_drops_the_oldest_history_and_counts_it() {
    let mut q = WriteQueue::new(bound(100, usize::MAX));
    let mut dropped = 0;
    // One topic each: coalescing cannot help.
    for n in 0..1_000 {
        dropped += q.push(history(&format!("messages/{n}"), n));
        assert!(q.len() <= 100, "{} queued after {n}", q.len());
    }
    assert_eq!(dropped + q.len(), 1_000, "every drop counted");
    let oldest_kept = q.iter().find_map(|w| match w {
        W::History { n, .. } => Some(*n),
        _ => None,
    });
    assert_eq!(oldest_kept, Some(1_000 - q.len()), "the newest are kept");
}

#[test]
fn the_byte_bound_holds_too() {
    let mut q = WriteQueue::new(bound(usize::MAX, 100_000));
    let mut dropped = 0;
    for n in 0..500 {
        dropped += q.push(W::History {
            topic: format!("t/{n}"),
            n,
            bytes: 4_000,
        });
        assert!(q.bytes() <= 100_000, "{} bytes after {n}", q.bytes());
    }
    assert!(dropped > 0);
    assert_eq!(dropped + q.len(), 500);
    assert_eq!(q.bytes(), q.iter().map(Queued::weight).sum::<usize>());
}

#[test]
fn outbox_writes_are_never_dropped_however_full() {
    let mut q = WriteQueue::new(bound(10, 2_000));
    for seq in 0..5 {
        assert_eq!(q.push(put(f64::from(seq))), 0);
    }
    for n in 0..100 {
        q.push(history(&format!("t/{n}"), n));
    }
    for seq in 5..25 {
        q.push(put(f64::from(seq)));
    }
    let expected: Vec<f64> = (0..25).map(f64::from).collect();
    assert_eq!(puts(&q), expected, "all of them, in order");
    assert_eq!(q.outbox_writes(), 25);
    assert_eq!(q.len(), 25, "over the bound, rather than lose one");
}

#[test]
fn a_delete_takes_its_queued_put_with_it() {
    let mut q = WriteQueue::new(Bound::default());
    q.push(put(1.0));
    q.push(put(2.0));
    q.push(W::Delete {
        owner: "tab".into(),
        seq: 1.0,
    });
    q.push(W::Delete {
        owner: "other".into(),
        seq: 2.0,
    });
    assert_eq!(puts(&q), [2.0], "only the delivered one's put goes");
    assert_eq!(
        q.len(),
        3,
        "the deletes stay: the record may be stored already"
    );
    assert_eq!(q.bytes(), 3 * WRITE_OVERHEAD);
}

#[test]
fn one_busy_topic_is_coalesced_not_dropped() {
    let mut q = WriteQueue::new(bound(1_500, usize::MAX));
    let mut dropped = 0;
    for n in 0..5_000 {
        dropped += q.push(history("messages", n));
    }
    assert_eq!(dropped, 0, "what eviction drops anyway is no loss");
    assert!(q.len() <= 1_500);
    assert!(q.len() >= HISTORY_PER_TOPIC);
}

#[test]
fn clearing_drops_the_history_before_it() {
    let mut q = WriteQueue::new(Bound::default());
    q.push(history("a", 0));
    q.push(put(1.0));
    q.push(W::Clear);
    q.push(history("a", 1));
    assert_eq!(
        q.iter().cloned().collect::<Vec<_>>(),
        [put(1.0), W::Clear, history("a", 1)]
    );
}

#[test]
fn a_batch_taken_and_put_back_keeps_its_place_and_the_count() {
    let mut q = WriteQueue::new(Bound::default());
    for seq in 0..5 {
        q.push(put(f64::from(seq)));
    }
    let batch = q.take(3);
    assert_eq!(batch.len(), 3);
    assert_eq!(q.bytes(), 2 * WRITE_OVERHEAD);
    q.push(put(9.0));
    q.put_back(batch);
    assert_eq!(puts(&q), [0.0, 1.0, 2.0, 3.0, 4.0, 9.0]);
    assert_eq!(q.bytes(), 6 * WRITE_OVERHEAD);
    q.push(history("a", 0));
    q.drop_history();
    assert_eq!(q.len(), 6);
    q.clear();
    assert!(q.is_empty() && q.bytes() == 0);
}

/// Breaks if: a burst into many rooms, room after room, past the bound, drops the first
/// rooms' history whole (opened after a reload, they were empty, though their unread
/// counts said 1,000) instead of every room giving way alike and keeping its newest.
#[test]
fn a_burst_into_many_rooms_keeps_every_rooms_newest() {
    let mut q = WriteQueue::new(bound(5_000, usize::MAX));
    let mut dropped = 0;
    for room in 0..20 {
        for n in 0..HISTORY_PER_TOPIC {
            dropped += q.push(history(&format!("messages/{room:02}"), n));
        }
    }
    assert!(dropped > 0, "the burst is past the bound");
    assert_eq!(
        dropped + q.len(),
        20 * HISTORY_PER_TOPIC,
        "every drop counted"
    );
    let mut kept = std::collections::BTreeMap::<String, Vec<usize>>::new();
    for w in q.iter() {
        if let W::History { topic, n, .. } = w {
            kept.entry(topic.clone()).or_default().push(*n);
        }
    }
    assert_eq!(kept.len(), 20, "every room keeps some: {:?}", kept.keys());
    for (topic, ns) in &kept {
        assert_eq!(
            ns.last(),
            Some(&(HISTORY_PER_TOPIC - 1)),
            "{topic} keeps its newest"
        );
        assert!(ns.windows(2).all(|w| w[0] < w[1]), "{topic} in order");
    }
    // A trim keeps three quarters of the bound, shared alike; the rooms written after the
    // last trim keep more.
    let even_share = 5_000 / 4 * 3 / 20;
    let sizes: Vec<usize> = kept.values().map(Vec::len).collect();
    assert!(
        sizes.iter().all(|n| *n >= even_share),
        "every room keeps an even share at least ({even_share}): {sizes:?}"
    );
}
