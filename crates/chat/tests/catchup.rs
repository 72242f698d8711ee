//! Catch-up on a virtual clock: the wire codec with hostile input, the answerer's delay and
//! silence, the asker's window and bounds.

use chat::catchup::*;
use chat::RoomName;

fn room(name: &str) -> RoomName {
    RoomName::parse(name).unwrap()
}

fn entry(uid: &str, at: f64) -> Entry {
    Entry {
        uid: uid.into(),
        at,
        payload: format!(r#"{{"name":"a","message":"{uid}","id":"{uid}"}}"#),
    }
}

fn entries(n: usize) -> Vec<Entry> {
    (0..n).map(|i| entry(&format!("u{i}"), i as f64)).collect()
}

fn uids(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.uid.as_str()).collect()
}

fn answer(re: &str, messages: Vec<Entry>) -> Answer {
    Answer {
        re: re.into(),
        messages,
    }
}

fn decode_answer(bytes: &[u8]) -> Answer {
    match decode(bytes) {
        Ok(Packet::Answer(a)) => a,
        other => panic!("{other:?}"),
    }
}

// ---- wire ----

#[test]
fn a_request_round_trips_through_json() {
    for since in [Some(1_700_000_000_000.5), None] {
        let request = Request {
            id: "r-1".into(),
            since,
            limit: 100,
        };
        let json = request.to_json();
        assert!(json.starts_with(br#"{"type":"request","id":"r-1","since":"#));
        assert_eq!(decode(&json), Ok(Packet::Request(request)));
    }
}

#[test]
fn request_limit_is_clamped_and_since_may_be_null_or_missing() {
    for (json, since, limit) in [
        (
            r#"{"type":"request","id":"a","since":null,"limit":0}"#,
            None,
            1,
        ),
        (r#"{"type":"request","id":"a","limit":100000}"#, None, 100),
        (
            r#"{"type":"request","id":"a","since":5,"limit":18446744073709551615}"#,
            Some(5.0),
            100,
        ),
        (
            r#" {"limit":7,"id":"a","type":"request","extra":{"x":[1]},"since":-3.5}"#,
            Some(-3.5),
            7,
        ),
    ] {
        assert_eq!(
            decode(json.as_bytes()),
            Ok(Packet::Request(Request {
                id: "a".into(),
                since,
                limit
            })),
            "{json}"
        );
    }
}

#[test]
fn malformed_packets_are_refused() {
    let long_id = format!(
        r#"{{"type":"request","id":"{}","limit":1}}"#,
        "i".repeat(65)
    );
    let cases: Vec<(&[u8], &str)> =
        vec![
        (b"", "not a JSON object"),
        (b"hello", "not a JSON object"),
        (br#"["request","a",null,1]"#, "not a JSON object"),
        (b"{\"type\":\"request\"", "not a catch-up packet"),
        (&[b'{', 0xff, b'}'], "not a catch-up packet"),
        (br#"{"type":"request","id":7,"limit":1}"#, "not a catch-up"),
        (br#"{"type":"request","id":"a","limit":"5"}"#, "not a catch-up"),
        (br#"{"type":"request","id":"a","limit":-1}"#, "not a catch-up"),
        (br#"{"type":"request","id":"a","limit":2.5}"#, "not a catch-up"),
        (br#"{"type":"request","id":"a","since":"x","limit":1}"#, "not a catch-up"),
        (br#"{"type":"request","id":"a","since":1e999,"limit":1}"#, "not a catch-up"),
        (br#"{"type":"request","id":"a","id":"b","limit":1}"#, "not a catch-up"),
        (br#"{"type":"request","limit":1}"#, "without its \"id\""),
        (br#"{"type":"request","id":"a"}"#, "without its \"limit\""),
        (br#"{"type":"request","id":"","limit":1}"#, "request id must be"),
        (long_id.as_bytes(), "request id must be"),
        (br#"{"id":"a","limit":1}"#, "neither"),
        (br#"{"type":"hello","id":"a","limit":1}"#, "neither"),
        (br#"{"type":5}"#, "not a catch-up"),
        (br#"{"type":"answer","messages":[]}"#, "without its \"re\""),
        (br#"{"type":"answer","re":"a"}"#, "without its \"messages\""),
        (br#"{"type":"answer","re":"a","messages":{}}"#, "not a catch-up"),
        (
            br#"{"type":"answer","re":"a","messages":[{"uid":"u","at":"now","payload":""}]}"#,
            "not a catch-up",
        ),
        (
            br#"{"type":"answer","re":"a","messages":[{"uid":"u","at":1,"payload":{"name":"x"}}]}"#,
            "not a catch-up",
        ),
        (
            br#"{"type":"answer","re":"a","messages":[{"uid":"u","at":1}]}"#,
            "not a catch-up",
        ),
    ];
    for (bytes, why) in cases {
        let err = decode(bytes).unwrap_err().to_string();
        assert!(
            err.contains(why),
            "{:?}: {err}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn input_over_64_kib_is_refused_unread() {
    let mut big = br#"{"type":"answer","re":"a","messages":[],"pad":""#.to_vec();
    big.resize(MAX_PACKET_BYTES - 2, b'x');
    big.extend(b"\"}");
    assert_eq!(big.len(), MAX_PACKET_BYTES);
    assert!(decode(&big).is_ok());
    big.insert(big.len() - 2, b'x');
    assert_eq!(
        decode(&big),
        Err(BadPacket::TooLarge {
            bytes: MAX_PACKET_BYTES + 1
        })
    );
}

#[test]
fn an_answer_keeps_at_most_100_valid_entries() {
    // As many minimal entries as fit in 64 KiB.
    let mut json = String::from(r#"{"type":"answer","re":"r","messages":["#);
    let mut n = 0;
    while json.len() < MAX_PACKET_BYTES - 100 {
        if n > 0 {
            json.push(',');
        }
        json.push_str(&format!(r#"{{"uid":"{n}","at":{n},"payload":"x"}}"#));
        n += 1;
    }
    json.push_str("]}");
    assert!(n > 1_500, "{n}");
    let a = decode_answer(json.as_bytes());
    assert_eq!(a.messages.len(), MAX_ANSWER_ENTRIES);
    assert_eq!(a.messages[99].uid, "99");

    // 5,000 entries do not fit in one packet at all.
    let five_thousand = encode_one(&entries(5_000));
    assert!(matches!(
        decode(&five_thousand),
        Err(BadPacket::TooLarge { .. })
    ));
}

/// An answer with every entry in one payload, as a hostile peer would send it.
fn encode_one(entries: &[Entry]) -> Vec<u8> {
    let list: Vec<String> = entries
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    format!(
        r#"{{"type":"answer","re":"r","messages":[{}]}}"#,
        list.join(",")
    )
    .into_bytes()
}

#[test]
fn oversized_entries_are_dropped_and_the_rest_kept() {
    let mut e = entries(4);
    e[0].payload = "p".repeat(MAX_ENTRY_PAYLOAD_BYTES + 1);
    e[1].uid = "u".repeat(MAX_UID_BYTES + 1);
    e[2].uid = String::new();
    e[3].payload = "q".repeat(MAX_ENTRY_PAYLOAD_BYTES);
    let mut ok = entry(&"k".repeat(MAX_UID_BYTES), 9.0);
    ok.payload = String::new();
    e.push(ok.clone());
    let a = decode_answer(&encode_one(&e));
    assert_eq!(a.messages, vec![e[3].clone(), ok]);
}

#[test]
fn html_and_odd_text_in_payloads_are_kept_as_text() {
    let hostile = [
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        "not json at all",
        "\u{0}\u{1b}[31m",
        "日本語 😀",
    ];
    let e: Vec<Entry> = hostile
        .iter()
        .enumerate()
        .map(|(i, p)| Entry {
            uid: format!("h{i}"),
            at: i as f64,
            payload: (*p).into(),
        })
        .collect();
    let out = encode_answer("r", &e);
    assert_eq!(out.len(), 1);
    assert_eq!(decode_answer(&out[0]).messages, e);
}

#[test]
fn answers_are_chunked_under_48_kib_and_100_entries() {
    let mut e = entries(300);
    for x in e.iter_mut().take(120) {
        x.payload = "z".repeat(1_000);
    }
    let out = encode_answer("req-1", &e);
    assert!(out.len() >= 3, "{}", out.len());
    let mut back = Vec::new();
    for payload in &out {
        assert!(payload.len() <= MAX_ANSWER_BYTES, "{}", payload.len());
        let a = decode_answer(payload);
        assert_eq!(a.re, "req-1");
        assert!(a.messages.len() <= MAX_ANSWER_ENTRIES);
        back.extend(a.messages);
    }
    assert_eq!(back, e, "every entry once, in order");
}

#[test]
fn entries_that_cannot_travel_are_left_out_of_answers() {
    assert!(
        encode_answer("r", &[]).is_empty(),
        "nothing to say: no payload"
    );
    let mut too_big = entry("big", 1.0);
    too_big.payload = "p".repeat(MAX_ENTRY_PAYLOAD_BYTES + 1);
    let mut nan = entry("nan", f64::NAN);
    nan.payload = "x".into();
    // 8 KiB of control characters escapes to 48 KiB of JSON: cannot fit alone.
    let mut escaped = entry("esc", 2.0);
    escaped.payload = "\u{1}".repeat(MAX_ENTRY_PAYLOAD_BYTES);
    assert!(encode_answer("r", &[too_big.clone(), nan.clone(), escaped.clone()]).is_empty());
    let fine = entry("ok", 3.0);
    let out = encode_answer("r", &[too_big, fine.clone(), nan, escaped]);
    assert_eq!(out.len(), 1);
    assert_eq!(decode_answer(&out[0]).messages, vec![fine]);
}

// ---- candidates ----

#[test]
fn candidates_are_the_newest_since_oldest_first() {
    let mut stored = entries(10);
    stored.reverse();
    stored.push(entry("nan", f64::NAN));
    let c = candidates(stored.clone().into_iter(), None, 3);
    assert_eq!(uids(&c), ["u7", "u8", "u9"]);
    let c = candidates(stored.clone().into_iter(), Some(6.0), 100);
    assert_eq!(uids(&c), ["u6", "u7", "u8", "u9"]);
    let c = candidates(stored.clone().into_iter(), Some(2.0), 2);
    assert_eq!(uids(&c), ["u8", "u9"]);
    assert!(candidates(stored.into_iter(), Some(10.0), 5).is_empty());
    let many = candidates(entries(1_000).into_iter(), None, 1_000);
    assert_eq!(many.len(), CATCH_UP_LIMIT);
    assert_eq!(many[0].uid, "u900");
}

// ---- the answering side ----

fn request(id: &str) -> Request {
    Request {
        id: id.into(),
        since: None,
        limit: 100,
    }
}

#[test]
fn the_answer_waits_200_to_1200_ms_picked_by_random() {
    let tea = room("tea");
    let mut r = Responder::new();
    assert_eq!(r.poll_timeout(), None);
    r.on_request(&tea, request("a"), 1_000.0, 0.0);
    r.on_request(&tea, request("b"), 1_000.0, 0.999);
    r.on_request(&tea, request("c"), 1_000.0, 0.5);
    assert_eq!(r.poll_timeout(), Some(1_200.0));
    assert!(r.due(1_199.9).is_empty());
    let due = r.due(1_200.0);
    assert_eq!(
        due,
        vec![Due {
            room: tea.clone(),
            request: request("a")
        }]
    );
    assert!(r.due(1_200.0).is_empty(), "returned once");
    assert_eq!(r.poll_timeout(), Some(1_700.0));
    // A fourth request in the same moment: another room (see the rate test).
    r.on_request(&room("tea2"), request("d"), 1_000.0, 0.25);
    let latest = r.poll_timeout();
    assert_eq!(latest, Some(1_450.0));
    let due = r.due(1_700.0);
    let ids: Vec<&str> = due.iter().map(|d| d.request.id.as_str()).collect();
    assert_eq!(ids, ["d", "c"], "earliest first");
    let last = r.poll_timeout().unwrap();
    assert!((2_198.9..2_199.1).contains(&last), "{last}");
    assert!(r.due(2_198.9).is_empty());
    assert_eq!(r.due(2_199.1).len(), 1);
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn random_out_of_range_stays_in_the_window() {
    let mut r = Responder::new();
    r.on_request(&room("a"), request("x"), 0.0, f64::NAN);
    assert_eq!(r.poll_timeout(), Some(200.0));
    let mut r = Responder::new();
    r.on_request(&room("a"), request("x"), 0.0, 7.0);
    assert_eq!(r.poll_timeout(), Some(1_200.0));
}

#[test]
fn a_request_id_already_tracked_is_ignored() {
    let mut r = Responder::new();
    r.on_request(&room("a"), request("x"), 0.0, 0.0);
    r.on_request(&room("a"), request("x"), 100.0, 0.9);
    r.on_request(&room("b"), request("x"), 100.0, 0.9);
    assert_eq!(r.due(10_000.0).len(), 1);
    r.on_request(&room("a"), request("x"), 10_000.0, 0.0);
    assert!(
        r.due(20_000.0).is_empty(),
        "still remembered 15 s after due"
    );
}

#[test]
fn quiet_when_answers_seen_cover_everything() {
    let tea = room("tea");
    let mut r = Responder::new();
    r.on_request(&tea, request("q"), 0.0, 0.5);
    r.on_answer(&tea, &answer("q", entries(5)));
    let due = r.due(700.0);
    assert_eq!(due.len(), 1);
    let mine = candidates(entries(5).into_iter(), None, 100);
    assert!(r.uncovered("q", mine).is_empty());
    assert!(encode_answer("q", &[]).is_empty());
}

#[test]
fn a_partial_answer_does_not_silence_the_others() {
    let tea = room("tea");
    let mut r = Responder::new();
    r.on_request(&tea, request("q"), 0.0, 0.5);
    // Another tab with partial history answered first, in two chunks.
    r.on_answer(&tea, &answer("q", entries(3)));
    r.on_answer(&tea, &answer("q", vec![entry("u7", 7.0)]));
    r.due(700.0);
    let rest = r.uncovered("q", entries(10));
    assert_eq!(uids(&rest), ["u3", "u4", "u5", "u6", "u8", "u9"]);
}

#[test]
fn answers_in_another_room_or_to_another_request_cover_nothing() {
    let mut r = Responder::new();
    r.on_request(&room("tea"), request("q"), 0.0, 0.5);
    r.on_answer(&room("coffee"), &answer("q", entries(10)));
    r.on_answer(&room("tea"), &answer("other", entries(10)));
    assert_eq!(r.uncovered("q", entries(10)).len(), 10);
    assert_eq!(r.uncovered("unknown", entries(2)).len(), 2);
}

#[test]
fn answers_after_due_still_count_and_are_forgotten_15_s_later() {
    let tea = room("tea");
    let mut r = Responder::new();
    r.on_request(&tea, request("q"), 0.0, 0.0);
    assert_eq!(r.due(200.0).len(), 1);
    // The app is still reading its history; another answer arrives meanwhile.
    r.on_answer(&tea, &answer("q", entries(4)));
    assert_eq!(uids(&r.uncovered("q", entries(5))), ["u4"]);
    r.due(200.0 + COVERED_KEPT_MS - 1.0);
    assert_eq!(r.uncovered("q", entries(5)).len(), 1, "kept");
    r.due(200.0 + COVERED_KEPT_MS);
    assert_eq!(r.uncovered("q", entries(5)).len(), 5, "forgotten");
    r.on_request(&tea, request("q"), 20_000.0, 0.0);
    assert_eq!(r.due(30_000.0).len(), 1, "a forgotten id is new again");
}

#[test]
fn a_flood_of_requests_in_one_room_is_answered_at_a_bounded_rate() {
    let tea = room("tea");
    let mut r = Responder::new();
    // 100 requests in one second: three are taken on, the rest ignored.
    for i in 0..100 {
        r.on_request(&tea, request(&format!("f{i}")), i as f64 * 10.0, 0.0);
    }
    assert_eq!(r.due(10_000.0).len(), 3);
    // Then one per 5 s.
    r.on_request(&tea, request("later"), 5_990.0, 0.0);
    r.on_request(&tea, request("too-soon"), 6_000.0, 0.0);
    assert_eq!(r.due(20_000.0).len(), 1);
    // Other rooms have budgets of their own.
    r.on_request(&room("other"), request("o"), 6_000.0, 0.0);
    assert_eq!(r.due(20_000.0).len(), 1);
}

#[test]
fn answer_times_from_the_future_count_as_now() {
    let tea = room("tea");
    let mut q = Requests::new();
    q.start(tea.clone(), "q".into(), None, 0.0);
    let got = q.accept(
        &tea,
        answer("q", vec![entry("far", 1e300), entry("past", 10.0)]),
        500.0,
    );
    assert_eq!(uids(&got), ["past", "far"]);
    assert_eq!(got[1].at, 500.0);
}

#[test]
fn at_most_32_requests_are_tracked_oldest_dropped_first() {
    let tea = room("tea");
    let mut r = Responder::new();
    // One room each: within a room, requests are rate limited (see the rate test).
    for i in 0..MAX_PENDING + 8 {
        r.on_request(
            &room(&format!("t{i}")),
            request(&format!("r{i}")),
            i as f64,
            0.0,
        );
    }
    let due = r.due(10_000.0);
    assert_eq!(due.len(), MAX_PENDING);
    assert_eq!(due[0].request.id, "r8");
    r.on_request(&tea, request("new"), 10_000.0, 0.0);
    r.on_answer(&room("t39"), &answer("r39", entries(1)));
    assert!(r.uncovered("r39", entries(1)).is_empty(), "newest kept");
    assert_eq!(r.due(20_000.0).len(), 1);
}

#[test]
fn records_kept_only_for_their_covered_set_are_dropped_before_pending_ones() {
    let tea = room("tea");
    let mut r = Responder::new();
    r.on_request(&tea, request("slow"), 0.0, 0.999);
    r.on_request(&tea, request("fast"), 0.0, 0.0);
    assert_eq!(r.due(500.0).len(), 1, "fast answered");
    for i in 0..MAX_PENDING - 1 {
        r.on_request(
            &room(&format!("t{i}")),
            request(&format!("r{i}")),
            500.0,
            0.9,
        );
    }
    let due = r.due(1_199.5);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].request.id, "slow", "the oldest pending one was kept");
    assert_eq!(r.due(2_000.0).len(), MAX_PENDING - 1);
}

#[test]
fn a_flood_of_answers_is_bounded_per_request() {
    let tea = room("tea");
    let mut r = Responder::new();
    r.on_request(&tea, request("q"), 0.0, 0.0);
    for chunk in entries(5_000).chunks(100) {
        r.on_answer(&tea, &answer("q", chunk.to_vec()));
    }
    // The first MAX_COVERED are recorded; the rest would be sent again: more, never less.
    let rest = r.uncovered("q", entries(5_000));
    assert_eq!(rest.len(), 5_000 - MAX_COVERED);
}

// ---- the asking side ----

#[test]
fn start_makes_the_request_to_publish() {
    let mut q = Requests::new();
    let req = q.start(room("tea"), "id-1".into(), Some(5.0), 0.0);
    assert_eq!(
        req,
        Request {
            id: "id-1".into(),
            since: Some(5.0),
            limit: CATCH_UP_LIMIT
        }
    );
    assert!(q.is_open("id-1"));
    assert_eq!(q.poll_timeout(), Some(ANSWER_WINDOW_MS));
    let req = q.start(room("tea"), "id-2".into(), Some(f64::NAN), 0.0);
    assert_eq!(req.since, None);
}

#[test]
fn answers_are_taken_for_10_s_only() {
    let tea = room("tea");
    let mut q = Requests::new();
    q.start(tea.clone(), "q".into(), None, 1_000.0);
    let got = q.accept(&tea, answer("q", vec![entry("a", 1.0)]), 11_000.0);
    assert_eq!(uids(&got), ["a"], "at the edge of the window");
    let got = q.accept(&tea, answer("q", vec![entry("b", 2.0)]), 11_000.1);
    assert!(got.is_empty(), "too late");
    q.expire(11_000.0);
    assert!(q.is_open("q"));
    q.expire(11_000.1);
    assert!(!q.is_open("q"));
    assert_eq!(q.poll_timeout(), None);
}

#[test]
fn only_answers_to_an_open_request_of_that_room_are_taken() {
    let tea = room("tea");
    let mut q = Requests::new();
    q.start(tea.clone(), "q".into(), None, 0.0);
    assert!(q
        .accept(&room("coffee"), answer("q", entries(3)), 1.0)
        .is_empty());
    assert!(q.accept(&tea, answer("other", entries(3)), 1.0).is_empty());
    assert_eq!(q.accept(&tea, answer("q", entries(3)), 1.0).len(), 3);
}

#[test]
fn duplicates_across_answers_and_within_one_are_taken_once() {
    let tea = room("tea");
    let mut q = Requests::new();
    q.start(tea.clone(), "q".into(), None, 0.0);
    let first = q.accept(&tea, answer("q", entries(5)), 300.0);
    assert_eq!(first.len(), 5);
    let mut second = entries(8);
    second.push(entry("u7", 7.0));
    second.push(entry("u0", 0.0));
    let got = q.accept(&tea, answer("q", second), 600.0);
    assert_eq!(uids(&got), ["u5", "u6", "u7"]);
}

#[test]
fn entries_before_since_or_with_a_bad_time_are_dropped_and_the_rest_sorted() {
    let tea = room("tea");
    let mut q = Requests::new();
    q.start(tea.clone(), "q".into(), Some(100.0), 0.0);
    let got = q.accept(
        &tea,
        answer(
            "q",
            vec![
                entry("late", 300.0),
                entry("old", 99.9),
                entry("nan", f64::NAN),
                entry("inf", f64::INFINITY),
                entry("edge", 100.0),
                entry("mid", 200.0),
            ],
        ),
        500.0,
    );
    assert_eq!(uids(&got), ["edge", "mid", "late"]);
}

#[test]
fn a_hostile_answer_of_5000_entries_gives_at_most_200() {
    let tea = room("tea");
    let mut q = Requests::new();
    q.start(tea.clone(), "q".into(), None, 0.0);
    let mut flood = entries(5_000);
    flood.reverse();
    let got = q.accept(&tea, answer("q", flood), 1.0);
    assert_eq!(got.len(), MAX_ACCEPTED);
    assert!(got.windows(2).all(|w| w[0].at <= w[1].at), "sorted by time");
    assert!(q.accept(&tea, answer("q", entries(10)), 2.0).is_empty());
    // Huge payloads built in memory (not through `decode`) are dropped too.
    q.start(tea.clone(), "p".into(), None, 0.0);
    let mut huge = entry("huge", 1.0);
    huge.payload = "x".repeat(1_000_000);
    assert!(q.accept(&tea, answer("p", vec![huge]), 1.0).is_empty());
}

#[test]
fn at_most_32_requests_stay_open() {
    let tea = room("tea");
    let mut q = Requests::new();
    for i in 0..MAX_OPEN + 1 {
        q.start(tea.clone(), format!("r{i}"), None, 0.0);
    }
    assert!(!q.is_open("r0"));
    assert!(q.is_open("r1"));
    assert!(q.is_open(&format!("r{MAX_OPEN}")));
}

#[test]
fn end_to_end_three_tabs_on_a_virtual_clock() {
    // C asks; A holds u0..u9, B holds u5..u14. A answers first; B sends only what A lacked.
    let tea = room("tea");
    let mut c = Requests::new();
    let req = c.start(tea.clone(), "c-1".into(), None, 0.0);
    let wire = match decode(&req.to_json()).unwrap() {
        Packet::Request(r) => r,
        other => panic!("{other:?}"),
    };
    let (mut a, mut b) = (Responder::new(), Responder::new());
    a.on_request(&tea, wire.clone(), 10.0, 0.0);
    b.on_request(&tea, wire, 12.0, 0.9);
    let a_store: Vec<Entry> = entries(10);
    let b_store: Vec<Entry> = (5..15).map(|i| entry(&format!("u{i}"), i as f64)).collect();

    let mut shown = Vec::new();
    let mut publish = |payloads: Vec<Vec<u8>>, now: f64, a: &mut Responder, b: &mut Responder| {
        for p in payloads {
            let answer = decode_answer(&p);
            a.on_answer(&tea, &answer);
            b.on_answer(&tea, &answer);
            shown.extend(c.accept(&tea, answer, now));
        }
    };
    for d in a.due(210.0) {
        let mine = candidates(
            a_store.clone().into_iter(),
            d.request.since,
            d.request.limit,
        );
        let payloads = encode_answer(&d.request.id, &a.uncovered(&d.request.id, mine));
        publish(payloads, 210.0, &mut a, &mut b);
    }
    assert_eq!(b.poll_timeout(), Some(1_112.0));
    for d in b.due(1_112.0) {
        let mine = candidates(
            b_store.clone().into_iter(),
            d.request.since,
            d.request.limit,
        );
        let rest = b.uncovered(&d.request.id, mine);
        assert_eq!(uids(&rest), ["u10", "u11", "u12", "u13", "u14"]);
        publish(encode_answer(&d.request.id, &rest), 1_112.0, &mut a, &mut b);
    }
    assert_eq!(shown.len(), 15);
}
