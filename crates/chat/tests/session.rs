//! The session's own logic on a virtual clock: what becomes of own messages (sending,
//! holding, requeueing, acknowledgement, refusal, echo) and the authorship check, driven
//! through `chat::Session`'s `handle_*` calls and read back through its `poll_*` calls.

use chat::authorship::{Unknown, NOT_AUTHORIZED, PROBE_TIMEOUT_MS};
use chat::session::{Key, StoreOp, Transmit, ViewChange, SWEEP_AFTER_MS, SWEEP_SPREAD_MS};
use chat::{ChatMessage, Delivery, MqttVersion, Refusal, Session, Unsent, Verdict};
use chat::{ECHO_WAIT_MS, MAX_CLOSED_SENDS};
use mqtt_core::PublishError;

mod common;
use common::{drain, Out};

const TOPIC: &str = "messages";

fn message(id: &str, ts: f64) -> ChatMessage {
    ChatMessage {
        name: "Ann".into(),
        message: format!("text of {id}"),
        id: Some(id.into()),
        from: Some("tab".into()),
        ts: Some(ts),
        ..Default::default()
    }
}

fn unsent(id: &str, seq: f64) -> Unsent {
    Unsent {
        seq,
        topic: TOPIC.into(),
        message: message(id, seq),
    }
}

/// The ids of the messages asked to be published, in order.
fn published_ids(out: &Out) -> Vec<String> {
    out.transmits
        .iter()
        .filter_map(|t| match t {
            Transmit::Publish {
                key: Key::Message(id),
                ..
            } => Some(id.clone()),
            _ => None,
        })
        .collect()
}

fn shown_ids(out: &Out) -> Vec<String> {
    out.views
        .iter()
        .filter_map(|v| match v {
            ViewChange::ShowOwn { message, .. } => message.id.clone(),
            _ => None,
        })
        .collect()
}

/// A session whose stored outbox was empty, with everything so far drained.
fn ready(version: MqttVersion, signed_in: bool) -> Session {
    let mut s = Session::new(version, signed_in);
    s.handle_restored(Vec::new());
    drain(&mut s);
    s
}

/// Send `id` and have the client take it as `pkid`.
fn send(s: &mut Session, id: &str, seq: f64, pkid: u16) -> Out {
    s.handle_send(seq, TOPIC, message(id, seq)).unwrap();
    let out = drain(s);
    assert_eq!(published_ids(&out), [id]);
    s.handle_published(&Key::Message(id.into()), Ok(Some(pkid)))
        .unwrap();
    let mut more = drain(s);
    more.stores.splice(0..0, out.stores);
    more
}

#[test]
fn a_sent_message_is_stored_published_and_shown_then_leaves_the_outbox_on_its_puback() {
    let mut s = ready(MqttVersion::V5, false);
    let out = send(&mut s, "a", 1000.0, 7);
    assert!(matches!(&out.stores[0], StoreOp::OutboxPut(u) if u.seq == 1000.0));
    assert!(
        matches!(&out.stores[1], StoreOp::History { id, refusal: None, .. } if id.as_deref() == Some("a")),
        "{out:?}"
    );
    assert_eq!(shown_ids(&out), ["a"]);
    assert_eq!(s.outbox().delivery("a"), Some(Delivery::Queued));
    s.handle_sent(1001.0, 7);
    assert_eq!(s.outbox().delivery("a"), Some(Delivery::Sent));
    assert!(!s.handle_puback(1002.0, 7));
    assert!(!s.outbox().contains("a"));
    let out = drain(&mut s);
    assert_eq!(out.stores, [StoreOp::OutboxDelete { seq: 1000.0 }]);
    assert!(out.views.contains(&ViewChange::Outbox));
}

#[test]
fn restored_unsent_messages_go_out_before_those_sent_while_storage_was_read() {
    let mut s = Session::new(MqttVersion::V311, false);
    // Sent while the stored outbox is read: held, shown as queued, neither stored nor
    // published yet.
    s.handle_send(5000.0, TOPIC, message("new", 5000.0))
        .unwrap();
    let out = drain(&mut s);
    assert!(out.transmits.is_empty(), "held: {out:?}");
    assert!(!out
        .stores
        .iter()
        .any(|op| matches!(op, StoreOp::OutboxPut(_))));
    assert_eq!(shown_ids(&out), ["new"]);
    assert_eq!(s.outbox().delivery("new"), Some(Delivery::Queued));

    // The stored ones, numbered after it by a clock that was ahead before the reload.
    s.handle_restored(vec![unsent("old1", 9000.0), unsent("old2", 9001.0)]);
    let out = drain(&mut s);
    assert_eq!(published_ids(&out), ["old1", "old2", "new"]);
    let puts: Vec<f64> = out
        .stores
        .iter()
        .filter_map(|op| match op {
            StoreOp::OutboxPut(u) => Some(u.seq),
            _ => None,
        })
        .collect();
    assert_eq!(puts, [9002.0], "the held one, stored after the stored ones");
    let before: Vec<(String, Vec<String>)> = out
        .views
        .iter()
        .filter_map(|v| match v {
            ViewChange::ShowOwn {
                message, before, ..
            } => Some((message.id.clone().unwrap(), before.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        before,
        [
            ("old1".to_owned(), vec!["new".to_owned()]),
            ("old2".to_owned(), vec!["new".to_owned()])
        ]
    );
    let order: Vec<&str> = s.outbox().entries().map(|p| p.id()).collect();
    assert_eq!(order, ["old1", "old2", "new"]);
}

#[test]
fn storage_late_releases_the_held_messages_and_later_stored_ones_go_after_them() {
    let mut s = Session::new(MqttVersion::V311, false);
    s.handle_send(5000.0, TOPIC, message("new", 5000.0))
        .unwrap();
    drain(&mut s);
    s.handle_storage_late();
    let out = drain(&mut s);
    assert_eq!(published_ids(&out), ["new"]);
    assert!(matches!(&out.stores[..], [StoreOp::OutboxPut(u)] if u.seq == 5000.0));
    s.handle_restored(vec![unsent("old", 100.0)]);
    let out = drain(&mut s);
    assert_eq!(published_ids(&out), ["old"]);
    let order: Vec<&str> = s.outbox().entries().map(|p| p.id()).collect();
    assert_eq!(order, ["new", "old"]);
}

#[test]
fn a_fresh_message_the_client_cannot_take_leaves_the_outbox_and_storage_and_the_error_is_returned()
{
    let mut s = ready(MqttVersion::V5, false);
    s.handle_send(1000.0, TOPIC, message("big", 1000.0))
        .unwrap();
    drain(&mut s);
    let error = PublishError::TooLarge {
        size: 300_000,
        limit: 131_072,
    };
    assert_eq!(
        s.handle_published(&Key::Message("big".into()), Err(error.clone())),
        Err(error)
    );
    assert!(!s.outbox().contains("big"));
    let out = drain(&mut s);
    assert_eq!(out.stores, [StoreOp::OutboxDelete { seq: 1000.0 }]);
    assert!(shown_ids(&out).is_empty(), "no row for what was not sent");
}

#[test]
fn a_restored_message_the_client_cannot_take_stays_queued_and_is_counted_in_the_notice() {
    let mut s = Session::new(MqttVersion::V5, false);
    s.handle_restored(vec![unsent("ok", 1.0), unsent("bad", 2.0)]);
    let out = drain(&mut s);
    assert_eq!(published_ids(&out), ["ok", "bad"]);
    s.handle_published(&Key::Message("ok".into()), Ok(Some(1)))
        .unwrap();
    assert!(
        !drain(&mut s)
            .views
            .iter()
            .any(|v| matches!(v, ViewChange::Requeued { .. })),
        "the notice waits for every answer"
    );
    let error = PublishError::OutboxFull(1000);
    assert!(s
        .handle_published(&Key::Message("bad".into()), Err(error.clone()))
        .is_err());
    let out = drain(&mut s);
    assert!(s.outbox().contains("bad"), "kept: nothing is thrown away");
    assert!(!out
        .stores
        .iter()
        .any(|op| matches!(op, StoreOp::OutboxDelete { .. })));
    assert!(out.views.contains(&ViewChange::Requeued {
        failed: 1,
        why: error.to_string()
    }));
}

#[test]
fn an_mqtt5_refusal_takes_the_message_off_the_outbox_and_marks_it_in_the_rows_and_the_history() {
    let mut s = ready(MqttVersion::V5, true);
    send(&mut s, "a", 1000.0, 3);
    assert!(!s.handle_publish_refused(1001.0, 3, Some(NOT_AUTHORIZED), "not authorized"));
    assert!(!s.outbox().contains("a"));
    assert_eq!(
        s.marks().get("a"),
        Some(&Refusal::Refused("not authorized".into()))
    );
    let out = drain(&mut s);
    assert_eq!(out.stores[0], StoreOp::OutboxDelete { seq: 1000.0 });
    assert!(matches!(
        &out.stores[1],
        StoreOp::History { id, refusal: Some(Refusal::Refused(_)), .. } if id.as_deref() == Some("a")
    ));
    assert!(out.views.contains(&ViewChange::Marks));
}

#[test]
fn a_message_the_broker_closed_the_link_on_three_times_is_given_up_abandoned_and_marked() {
    let mut s = ready(MqttVersion::V311, false);
    send(&mut s, "a", 1000.0, 9);
    let mut now = 2000.0;
    for round in 1..=MAX_CLOSED_SENDS {
        s.handle_sent(now, 9);
        s.handle_link_lost(now + 100.0, true);
        let out = drain(&mut s);
        if round < MAX_CLOSED_SENDS {
            assert!(s.outbox().contains("a"), "round {round}: kept");
            assert!(!out.transmits.contains(&Transmit::Abandon(9)));
        } else {
            assert!(!s.outbox().contains("a"));
            assert!(out.transmits.contains(&Transmit::Abandon(9)));
            assert!(out.stores.contains(&StoreOp::OutboxDelete { seq: 1000.0 }));
            assert!(matches!(s.marks().get("a"), Some(Refusal::Refused(_))));
        }
        now += 10_000.0;
    }
}

#[test]
fn a_link_this_tab_closed_never_counts_against_a_message() {
    let mut s = ready(MqttVersion::V311, false);
    send(&mut s, "a", 1000.0, 9);
    for i in 0..5 {
        let now = 2000.0 + f64::from(i) * 10_000.0;
        s.handle_sent(now, 9);
        s.handle_link_lost(now + 100.0, false);
    }
    assert!(s.outbox().contains("a"));
    assert!(s.marks().is_empty());
}

#[test]
fn under_mqtt311_signed_in_an_own_message_not_back_in_time_is_marked_and_a_late_copy_unmarks_it() {
    let mut s = ready(MqttVersion::V311, true);
    send(&mut s, "a", 1000.0, 4);
    s.handle_puback(2000.0, 4);
    drain(&mut s);
    let due = s.poll_timeout().expect("an echo deadline");
    assert_eq!(due, 2000.0 + f64::from(ECHO_WAIT_MS));
    s.handle_timeout(due - 1.0);
    assert!(s.marks().is_empty(), "not before its deadline");
    s.handle_timeout(due);
    assert_eq!(s.marks().get("a"), Some(&Refusal::NotSeenBack));
    let out = drain(&mut s);
    assert!(matches!(
        &out.stores[..],
        [StoreOp::History {
            refusal: Some(Refusal::NotSeenBack),
            ..
        }]
    ));
    assert_eq!(s.poll_timeout(), None, "one deadline, then none");
    s.handle_echo("a", TOPIC, b"{}", 1000.0);
    assert!(s.marks().is_empty());
    let out = drain(&mut s);
    assert!(matches!(
        &out.stores[..],
        [StoreOp::History { refusal: None, .. }]
    ));
}

#[test]
fn under_mqtt311_a_copy_back_before_its_puback_is_never_marked() {
    let mut s = ready(MqttVersion::V311, true);
    send(&mut s, "a", 1000.0, 4);
    s.handle_echo("a", TOPIC, b"{}", 1000.0);
    s.handle_puback(1500.0, 4);
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(1_000_000.0);
    assert!(s.marks().is_empty());
}

#[test]
fn anonymous_or_mqtt5_tabs_never_mark_messages_not_seen_back() {
    for (version, signed_in) in [
        (MqttVersion::V311, false),
        (MqttVersion::V5, true),
        (MqttVersion::V5, false),
    ] {
        let mut s = ready(version, signed_in);
        send(&mut s, "a", 1000.0, 4);
        s.handle_puback(2000.0, 4);
        s.handle_timeout(1_000_000.0);
        assert!(s.marks().is_empty(), "{version:?} signed in {signed_in}");
    }
}

/// Connect and have the probe taken as `pkid`; returns the probe's topic.
fn probe(s: &mut Session, now: f64, pkid: u16) -> String {
    s.handle_connected(now, "tab-1", "made-up", 0.5);
    let out = drain(s);
    let topic = out
        .transmits
        .iter()
        .find_map(|t| match t {
            Transmit::Publish {
                key: Key::Probe,
                topic,
                ..
            } => Some(topic.clone()),
            _ => None,
        })
        .expect("a probe");
    s.handle_published(&Key::Probe, Ok(Some(pkid))).unwrap();
    drain(s);
    topic
}

#[test]
fn authorship_is_verified_only_by_an_mqtt5_not_authorized_puback_to_the_probe() {
    let mut s = ready(MqttVersion::V5, true);
    probe(&mut s, 0.0, 40);
    assert_eq!(s.verdict(), &Verdict::Checking);
    assert!(s.handle_publish_refused(10.0, 40, Some(NOT_AUTHORIZED), "not authorized"));
    assert_eq!(s.verdict(), &Verdict::Pinned);
    assert!(
        s.marks().is_empty(),
        "the probe's answer is not an own message's"
    );
}

#[test]
fn authorship_a_puback_that_accepts_the_probe_then_its_late_echo_is_open_never_verified() {
    let mut s = ready(MqttVersion::V5, true);
    let topic = probe(&mut s, 0.0, 40);
    assert!(s.handle_puback(10.0, 40));
    assert_eq!(s.verdict(), &Verdict::Open);
    // The echo 5 s later (a cluster under load) changes nothing.
    assert!(!s.handle_message(&topic));
    assert_eq!(s.verdict(), &Verdict::Open);
}

#[test]
fn authorship_a_link_drop_at_each_step_is_not_known_and_abandons_the_probe() {
    // Before the client took the probe.
    let mut s = ready(MqttVersion::V5, true);
    s.handle_connected(0.0, "tab-1", "made-up", 0.5);
    drain(&mut s);
    s.handle_link_lost(1.0, true);
    assert_eq!(s.verdict(), &Verdict::NotKnown(Unknown::LinkLost));
    assert!(drain(&mut s).transmits.is_empty());
    // After the probe went, before its PUBACK: it is abandoned, never resent.
    let mut s = ready(MqttVersion::V5, true);
    probe(&mut s, 0.0, 41);
    s.handle_link_lost(1.0, true);
    assert_eq!(s.verdict(), &Verdict::NotKnown(Unknown::LinkLost));
    assert_eq!(drain(&mut s).transmits, [Transmit::Abandon(41)]);
    // Its answer on a later link means nothing.
    assert!(!s.handle_publish_refused(2.0, 41, Some(NOT_AUTHORIZED), "not authorized"));
    assert!(!s.verdict().vouched());
    // After the answer: the verdict stands for this link only, and a drop ends it unknown
    // until the next link's check.
    let mut s = ready(MqttVersion::V5, true);
    probe(&mut s, 0.0, 42);
    s.handle_publish_refused(1.0, 42, Some(NOT_AUTHORIZED), "not authorized");
    assert!(s.verdict().vouched());
    s.handle_link_lost(2.0, false);
    s.handle_connected(3.0, "tab-1", "made-up-2", 0.5);
    assert_eq!(
        s.verdict(),
        &Verdict::Checking,
        "checked again on each connect"
    );
    assert!(!s.verdict().vouched());
}

#[test]
fn authorship_a_reconnect_mid_check_starts_over_and_the_old_probes_answer_is_ignored() {
    let mut s = ready(MqttVersion::V5, true);
    probe(&mut s, 0.0, 50);
    s.handle_link_lost(1.0, false);
    drain(&mut s);
    probe(&mut s, 2.0, 51);
    assert!(!s.handle_publish_refused(3.0, 50, Some(NOT_AUTHORIZED), "not authorized"));
    assert_eq!(s.verdict(), &Verdict::Checking);
    assert!(s.handle_puback(4.0, 51));
    assert_eq!(s.verdict(), &Verdict::Open);
}

#[test]
fn authorship_no_answer_in_time_is_not_known_and_the_probe_is_abandoned() {
    let mut s = ready(MqttVersion::V5, true);
    probe(&mut s, 1000.0, 60);
    assert_eq!(s.poll_timeout(), Some(1000.0 + PROBE_TIMEOUT_MS));
    s.handle_timeout(1000.0 + PROBE_TIMEOUT_MS - 1.0);
    assert_eq!(s.verdict(), &Verdict::Checking);
    s.handle_timeout(1000.0 + PROBE_TIMEOUT_MS);
    assert_eq!(s.verdict(), &Verdict::NotKnown(Unknown::TimedOut));
    assert!(drain(&mut s).transmits.contains(&Transmit::Abandon(60)));
    // Only presence's timers are left, none of the probe's: next, the sweep of stale
    // statuses (random 0.5).
    assert_eq!(
        s.poll_timeout(),
        Some(1000.0 + SWEEP_AFTER_MS + 0.5 * SWEEP_SPREAD_MS)
    );
}

#[test]
fn authorship_a_probe_the_client_cannot_take_or_no_randomness_is_not_known() {
    let mut s = ready(MqttVersion::V5, true);
    s.handle_connected(0.0, "tab-1", "made-up", 0.5);
    drain(&mut s);
    s.handle_published(&Key::Probe, Err(PublishError::OutboxFull(1)))
        .unwrap();
    assert_eq!(s.verdict(), &Verdict::NotKnown(Unknown::NotSent));
    let mut s = ready(MqttVersion::V5, true);
    s.handle_connected(0.0, "tab-1", "", 0.5);
    assert!(
        drain(&mut s).transmits.is_empty(),
        "no probe without randomness"
    );
    assert_eq!(s.verdict(), &Verdict::NotKnown(Unknown::NotSent));
}

#[test]
fn authorship_under_mqtt311_sends_no_probe_and_says_it_needs_mqtt5() {
    let mut s = ready(MqttVersion::V311, true);
    s.handle_connected(0.0, "tab-1", "made-up", 0.5);
    assert!(drain(&mut s).transmits.is_empty());
    assert_eq!(s.verdict(), &Verdict::NeedsMqtt5);
    // Its own messages' PUBACKs and copies prove nothing about authors.
    send(&mut s, "a", 1000.0, 5);
    s.handle_puback(1001.0, 5);
    s.handle_echo("a", TOPIC, b"{}", 1000.0);
    assert_eq!(s.verdict(), &Verdict::NeedsMqtt5);
}

#[test]
fn one_timeout_serves_both_the_echo_wait_and_the_probe() {
    let mut s = ready(MqttVersion::V311, true);
    send(&mut s, "a", 1000.0, 4);
    s.handle_puback(2000.0, 4);
    assert_eq!(s.poll_timeout(), Some(2000.0 + f64::from(ECHO_WAIT_MS)));
    let mut s = ready(MqttVersion::V5, true);
    probe(&mut s, 0.0, 70);
    send(&mut s, "a", 1000.0, 4);
    assert_eq!(s.poll_timeout(), Some(PROBE_TIMEOUT_MS));
}

#[test]
fn a_puback_for_the_probe_never_touches_the_outbox_and_one_for_a_message_never_the_verdict() {
    let mut s = ready(MqttVersion::V5, true);
    probe(&mut s, 0.0, 80);
    send(&mut s, "a", 1000.0, 81);
    assert!(!s.handle_puback(1001.0, 81));
    assert_eq!(s.verdict(), &Verdict::Checking);
    assert!(s.handle_puback(1002.0, 80));
    assert_eq!(s.verdict(), &Verdict::Open);
    assert!(s.outbox().is_empty());
}

#[test]
fn authorship_a_refusal_without_its_reason_code_is_never_read_as_not_authorized() {
    let mut s = ready(MqttVersion::V5, true);
    probe(&mut s, 0.0, 90);
    assert!(!s.handle_publish_refused(1.0, 90, None, "refused"));
    assert!(!s.verdict().vouched());
    assert!(s.marks().is_empty(), "the probe is not an own message");
    // Another code is an answer, but not a yes.
    assert!(s.handle_publish_refused(2.0, 90, Some(0x97), "quota exceeded"));
    assert_eq!(s.verdict(), &Verdict::NotKnown(Unknown::Refused(0x97)));
}

#[test]
fn arrivals_in_the_open_room_are_announced_once_a_second_later_a_burst_as_one_line() {
    let mut s = ready(MqttVersion::V311, false);
    s.handle_shown(
        1_000.0,
        &chat::RoomName::default_room(),
        theirs(("Ann", "hello")),
    );
    assert_eq!(s.poll_timeout(), Some(2_000.0));
    s.handle_timeout(1_999.0);
    assert!(announced(&mut s).is_empty(), "gathering");
    s.handle_timeout(2_000.0);
    assert_eq!(announced(&mut s), ["Ann: hello"]);
    for i in 0..12 {
        s.handle_shown(
            3_000.0 + f64::from(i),
            &chat::RoomName::default_room(),
            theirs(("Bo", "hi")),
        );
    }
    s.handle_timeout(4_000.0);
    let words = announced(&mut s);
    assert_eq!(words.len(), 1, "{words:?}");
    assert!(words[0].starts_with("12 new messages"), "{words:?}");
    assert_eq!(s.poll_timeout(), None);
}

/// Someone else's message, shown, with `words` for a screen reader.
fn theirs(words: (&'static str, &'static str)) -> chat::session::Shown<'static> {
    chat::session::Shown {
        topic: "messages",
        payload: b"{}",
        id: None,
        at: 0.0,
        own: false,
        words: Some(words),
    }
}

fn announced(s: &mut Session) -> Vec<String> {
    drain(s)
        .views
        .into_iter()
        .filter_map(|v| match v {
            ViewChange::Announce(words) => Some(words),
            _ => None,
        })
        .collect()
}

#[test]
fn an_own_reaction_goes_through_the_outbox_and_is_kept_under_the_rooms_reactions_topic() {
    let mut s = ready(MqttVersion::V5, false);
    let reaction = |id: &str, undo: bool| ChatMessage {
        name: "Ann".into(),
        id: Some(id.into()),
        from: Some("tab".into()),
        ts: Some(1000.0),
        react: Some("👍".into()),
        to: Some("m1".into()),
        by: Some("person".into()),
        undo,
        ..Default::default()
    };
    // Sent on a signed-in author's topic: kept under its room's reactions, not the topic's.
    let topic = "messages/kitchen/from/ann";
    let mut keys = Vec::new();
    for (id, undo) in [("r1", false), ("r2", true)] {
        s.handle_send(1000.0, topic, reaction(id, undo)).unwrap();
        let out = drain(&mut s);
        assert_eq!(
            published_ids(&out),
            [id],
            "through the outbox, as any message"
        );
        s.handle_published(&Key::Message(id.into()), Ok(Some(1)))
            .unwrap();
        let out = drain(&mut s);
        let kept: Vec<_> = out
            .stores
            .iter()
            .filter_map(|op| match op {
                StoreOp::History { topic, id, .. } => Some((topic.clone(), id.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(kept.len(), 1, "{out:?}");
        assert_eq!(kept[0].0, "messages/kitchen#reactions");
        keys.push(kept[0].1.clone());
    }
    assert_eq!(
        keys[0], keys[1],
        "a take-back replaces the reaction it takes back"
    );
    assert!(keys[0].as_deref().unwrap().starts_with("r:"));
}
