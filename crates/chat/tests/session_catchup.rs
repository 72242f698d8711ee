//! Catch-up in the session core on a virtual clock: a request asked with its reach, another
//! tab's request answered after its random delay from what storage reads (and only with what
//! no other answer held), this tab's own request never answered by itself, answers to our
//! requests merged once, and answers to nobody's request ignored.

use chat::catchup::{Entry, ANSWER_DELAY_MIN_MS, ANSWER_DELAY_SPREAD_MS};
use chat::session::{StoreOp, Transmit, ViewChange, OVERLAP_MS};
use chat::{MqttVersion, RoomName, Session};
use serde_json::{json, Value};

fn session() -> Session {
    let mut s = Session::new(MqttVersion::V311, false);
    s.handle_restored(Vec::new());
    while s.poll_view().is_some() {}
    s
}

fn room() -> RoomName {
    RoomName::default_room()
}

/// Catch-up packets sent, as JSON.
fn sent(s: &mut Session) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(t) = s.poll_transmit() {
        if let Transmit::CatchUp { topic, payload } = t {
            assert_eq!(topic, room().catchup_topic());
            out.push(serde_json::from_slice(&payload).unwrap());
        }
    }
    out
}

fn reads(s: &mut Session) -> Vec<chat::catchup::Due> {
    let mut out = Vec::new();
    while let Some(op) = s.poll_store() {
        if let StoreOp::ReadForAnswer(due) = op {
            out.push(due);
        }
    }
    out
}

fn caught_up(s: &mut Session) -> Vec<Vec<Entry>> {
    let mut out = Vec::new();
    while let Some(v) = s.poll_view() {
        if let ViewChange::CaughtUp { room: r, entries } = v {
            assert_eq!(r, room());
            out.push(entries);
        }
    }
    out
}

fn entry(uid: &str, at: f64) -> Entry {
    Entry {
        uid: uid.into(),
        at,
        payload: format!(r#"{{"name":"Bo","message":"{uid}"}}"#),
    }
}

fn request(id: &str, since: Option<f64>) -> Vec<u8> {
    serde_json::to_vec(&json!({"type": "request", "id": id, "since": since, "limit": 100})).unwrap()
}

fn answer(re: &str, entries: &[Entry]) -> Vec<u8> {
    serde_json::to_vec(&json!({"type": "answer", "re": re, "messages": entries})).unwrap()
}

#[test]
fn catch_up_asks_from_a_minute_before_the_newest_message_held_or_for_the_last_ones() {
    let mut s = session();
    s.handle_ask(1_000_000.0, &room(), "req-1".into(), Some(900_000.0));
    let asked = sent(&mut s);
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0]["type"], "request");
    assert_eq!(asked[0]["id"], "req-1");
    assert_eq!(asked[0]["since"], 900_000.0 - OVERLAP_MS);
    s.handle_ask(1_000_000.0, &room(), "req-2".into(), None);
    assert_eq!(sent(&mut s)[0]["since"], Value::Null);
}

#[test]
fn catch_up_another_tabs_request_is_answered_after_its_delay_with_what_storage_holds_since() {
    for random in [0.0, 0.5, 0.999] {
        let mut s = session();
        s.handle_catch_up(10_000.0, room(), &request("theirs", Some(5_000.0)), random);
        let due_at = 10_000.0 + ANSWER_DELAY_MIN_MS + random * ANSWER_DELAY_SPREAD_MS;
        assert_eq!(s.poll_timeout(), Some(due_at));
        s.handle_timeout(due_at - 1.0);
        assert!(reads(&mut s).is_empty(), "not before its delay");
        s.handle_timeout(due_at);
        let due = reads(&mut s);
        assert_eq!(due.len(), 1, "storage is asked once");
        let stored = [
            entry("old", 4_000.0),
            entry("a", 6_000.0),
            entry("b", 7_000.0),
        ];
        s.handle_read_for_answer(&due[0], stored.into_iter());
        let answers = sent(&mut s);
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0]["re"], "theirs");
        let uids: Vec<&str> = answers[0]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["uid"].as_str().unwrap())
            .collect();
        assert_eq!(
            uids,
            ["a", "b"],
            "only what is at or after `since`, oldest first"
        );
    }
}

#[test]
fn catch_up_what_another_answer_already_held_is_not_sent_again_and_all_covered_sends_nothing() {
    let mut s = session();
    s.handle_catch_up(0.0, room(), &request("theirs", None), 0.5);
    s.handle_catch_up(100.0, room(), &answer("theirs", &[entry("a", 1.0)]), 0.5);
    s.handle_timeout(10_000.0);
    let due = reads(&mut s);
    s.handle_read_for_answer(&due[0], [entry("a", 1.0), entry("b", 2.0)].into_iter());
    let answers = sent(&mut s);
    assert_eq!(answers[0]["messages"].as_array().unwrap().len(), 1);
    assert_eq!(answers[0]["messages"][0]["uid"], "b");

    let mut s = session();
    s.handle_catch_up(0.0, room(), &request("theirs", None), 0.5);
    s.handle_catch_up(100.0, room(), &answer("theirs", &[entry("a", 1.0)]), 0.5);
    s.handle_timeout(10_000.0);
    let due = reads(&mut s);
    s.handle_read_for_answer(&due[0], [entry("a", 1.0)].into_iter());
    assert!(sent(&mut s).is_empty(), "covered: quiet");
}

#[test]
fn catch_up_our_own_request_coming_back_is_not_answered_by_us() {
    let mut s = session();
    s.handle_ask(0.0, &room(), "mine".into(), None);
    sent(&mut s);
    s.handle_catch_up(10.0, room(), &request("mine", None), 0.5);
    s.handle_timeout(60_000.0);
    assert!(reads(&mut s).is_empty());
}

#[test]
fn catch_up_answers_to_our_request_are_merged_once_and_answers_to_no_request_are_ignored() {
    let mut s = session();
    s.handle_ask(1_000.0, &room(), "mine".into(), None);
    sent(&mut s);
    let first = answer("mine", &[entry("b", 900.0), entry("a", 800.0)]);
    s.handle_catch_up(1_200.0, room(), &first, 0.5);
    let merged = caught_up(&mut s);
    assert_eq!(merged.len(), 1);
    let uids: Vec<&str> = merged[0].iter().map(|e| e.uid.as_str()).collect();
    assert_eq!(uids, ["a", "b"], "oldest first");
    // A second tab answering the same: nothing new.
    s.handle_catch_up(1_300.0, room(), &first, 0.5);
    assert!(caught_up(&mut s).is_empty());
    // Nobody asked for this, and this is not JSON.
    s.handle_catch_up(
        1_400.0,
        room(),
        &answer("not-ours", &[entry("x", 1.0)]),
        0.5,
    );
    s.handle_catch_up(1_400.0, room(), b"<b>not json</b>", 0.5);
    assert!(caught_up(&mut s).is_empty());
    assert!(sent(&mut s).is_empty());
}
