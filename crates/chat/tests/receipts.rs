//! The marks on own messages on a virtual clock: refusals, and under MQTT 3.1.1 (signed in)
//! a copy that does not come back within the echo wait after its PUBACK.

use chat::receipts::Change;
use chat::{ChatMessage, Pending, Receipts, Refusal, ECHO_WAIT_MS};

const WAIT: f64 = ECHO_WAIT_MS as f64;

fn pending(id: &str) -> Pending {
    Pending {
        seq: 1.0,
        topic: "messages".into(),
        message: ChatMessage {
            name: "ann".into(),
            message: format!("text of {id}"),
            id: Some(id.into()),
            from: Some("author".into()),
            ts: Some(0.0),
            ..Default::default()
        },
        pkid: Some(1),
        on_wire: false,
        sent_at: Some(0.0),
        closed_on: 0,
        held: false,
    }
}

#[test]
fn an_acknowledged_message_not_back_within_the_wait_is_marked_not_seen_back() {
    let mut r = Receipts::new(true);
    r.handle_sent("m1");
    assert_eq!(r.poll_timeout(), None, "nothing to time before the PUBACK");
    r.handle_acknowledged(1_000.0, pending("m1"));
    assert_eq!(r.poll_timeout(), Some(1_000.0 + WAIT));
    assert!(r.handle_timeout(1_000.0 + WAIT - 1.0).is_empty());
    assert!(r.marks().is_empty());
    let changes = r.handle_timeout(1_000.0 + WAIT);
    assert_eq!(
        changes,
        vec![Change::Marked {
            pending: Box::new(pending("m1")),
            refusal: Refusal::NotSeenBack
        }]
    );
    assert_eq!(r.marks().get("m1"), Some(&Refusal::NotSeenBack));
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn a_copy_back_before_its_puback_is_never_marked() {
    let mut r = Receipts::new(true);
    r.handle_sent("m1");
    assert_eq!(r.handle_echo("m1"), None);
    r.handle_acknowledged(0.0, pending("m1"));
    assert_eq!(r.poll_timeout(), None);
    assert!(r.handle_timeout(10.0 * WAIT).is_empty());
    assert!(r.marks().is_empty());
}

#[test]
fn a_copy_back_after_its_puback_within_the_wait_is_never_marked() {
    let mut r = Receipts::new(true);
    r.handle_sent("m1");
    r.handle_acknowledged(0.0, pending("m1"));
    assert_eq!(r.handle_echo("m1"), None);
    assert!(r.handle_timeout(10.0 * WAIT).is_empty());
    assert!(r.marks().is_empty());
    assert_eq!(r.watched(), 0);
}

#[test]
fn a_late_copy_takes_the_mark_away() {
    // A cluster under load may acknowledge at once and deliver 5 s later.
    let mut r = Receipts::new(true);
    r.handle_sent("m1");
    r.handle_acknowledged(0.0, pending("m1"));
    assert_eq!(r.handle_timeout(WAIT).len(), 1);
    assert_eq!(
        r.handle_echo("m1"),
        Some(Change::Unmarked { id: "m1".into() })
    );
    assert!(r.marks().is_empty());
    // A second copy changes nothing.
    assert_eq!(r.handle_echo("m1"), None);
}

#[test]
fn mqtt_5_and_anonymous_tabs_watch_for_no_copy() {
    let mut r = Receipts::new(false);
    r.handle_sent("m1");
    r.handle_acknowledged(0.0, pending("m1"));
    assert_eq!(r.poll_timeout(), None);
    assert!(r.handle_timeout(10.0 * WAIT).is_empty());
    assert!(r.marks().is_empty());
}

#[test]
fn a_refusal_marks_the_row_and_stops_the_watch() {
    let mut r = Receipts::new(true);
    r.handle_sent("m1");
    let change = r.handle_refused(pending("m1"), Refusal::Refused("not authorized".into()));
    assert_eq!(
        change,
        Change::Marked {
            pending: Box::new(pending("m1")),
            refusal: Refusal::Refused("not authorized".into())
        }
    );
    assert_eq!(r.watched(), 0);
    // A copy cannot take a refusal away: only "not seen back" is a guess.
    assert_eq!(r.handle_echo("m1"), None);
    assert_eq!(
        r.marks().get("m1"),
        Some(&Refusal::Refused("not authorized".into()))
    );
}

#[test]
fn several_overdue_messages_are_marked_oldest_first() {
    let mut r = Receipts::new(true);
    for (i, id) in ["c", "a", "b"].iter().enumerate() {
        r.handle_sent(id);
        r.handle_acknowledged(i as f64 * 100.0, pending(id));
    }
    assert_eq!(r.poll_timeout(), Some(WAIT));
    let marked: Vec<String> = r
        .handle_timeout(WAIT + 1_000.0)
        .into_iter()
        .map(|c| match c {
            Change::Marked { pending, .. } => pending.id().to_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(marked, ["c", "a", "b"]);
}

#[test]
fn marks_restored_from_the_history_are_kept_and_a_late_copy_still_clears_them() {
    let mut r = Receipts::new(true);
    r.restore_marks([
        ("old".to_owned(), Refusal::NotSeenBack),
        ("gone".to_owned(), Refusal::Refused("quota exceeded".into())),
    ]);
    assert_eq!(r.marks().len(), 2);
    assert_eq!(
        r.handle_echo("old"),
        Some(Change::Unmarked { id: "old".into() })
    );
    assert_eq!(r.marks().len(), 1);
}
