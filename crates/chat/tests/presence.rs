//! Presence on a virtual clock: decoding bounds, several tabs of one person, reload without
//! flap, close after the grace, stale and cleared statuses, and a flood.

use std::time::Instant;

use chat::presence::{
    decode_status, BadStatus, Listing, Person, Presence, PresenceRefresh, Status, GRACE_MS,
    MAX_AGE_MS, MAX_SHOWN, MAX_STATUS_BYTES, MAX_TABS, OFFLINE_LISTED_MS, REFRESH_MS,
};

/// A virtual "now": some day in 2025.
const T0: f64 = 1_750_000_000_000.0;
const ROOM: &str = "messages";

fn status(person: &str, name: &str, rooms: &[&str], online: bool, ts: f64) -> Vec<u8> {
    Status {
        person: person.into(),
        name: name.into(),
        rooms: rooms.iter().map(|r| r.to_string()).collect(),
        online,
        ts,
        lost: false,
    }
    .to_json()
}

fn shown(p: &Presence, room: &str, now: f64) -> Vec<(String, String, bool)> {
    p.people_in(room, now)
        .into_iter()
        .map(
            |Person {
                 person,
                 name,
                 online,
                 ..
             }| (person, name, online),
        )
        .collect()
}

fn state_of(p: &Presence, person: &str, now: f64) -> Option<bool> {
    p.people_in(ROOM, now)
        .into_iter()
        .find(|x| x.person == person)
        .map(|x| x.online)
}

/// (online names, offline names) as `#presence` lists them.
fn listed(p: &Presence, now: f64) -> (Vec<String>, Vec<String>) {
    let Listing {
        online, offline, ..
    } = p.listing(ROOM, now);
    let names = |l: Vec<Person>| l.into_iter().map(|x| x.name).collect();
    (names(online), names(offline))
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// ---- decoding ----

#[test]
fn round_trip() {
    let s = Status {
        person: "p1".into(),
        name: "Ann".into(),
        rooms: vec!["messages".into(), "rust".into()],
        online: true,
        ts: T0,
        lost: false,
    };
    assert_eq!(decode_status(&s.to_json()), Ok(s));
}

#[test]
fn a_last_will_says_it_was_lost_and_a_goodbye_does_not() {
    let mut s = Status {
        person: "p1".into(),
        name: "Ann".into(),
        rooms: vec![],
        online: false,
        ts: T0,
        lost: false,
    };
    assert!(!String::from_utf8(s.to_json()).unwrap().contains("lost"));
    s.lost = true;
    let json = String::from_utf8(s.to_json()).unwrap();
    assert!(json.contains(r#""lost":true"#), "{json}");
    // Read back as any offline status: the marker is for watchers, not for the list.
    assert!(decode_status(json.as_bytes()).is_ok_and(|d| !d.online));
}

#[test]
fn a_status_on_its_users_topic_is_verified_and_no_other() {
    let mut p = Presence::new();
    // alice on her own topic, with her own name: verified.
    p.update(
        "tab-a/from/alice",
        &status("pa", "alice", &[ROOM], true, T0),
        T0,
    );
    // bob on his own topic, calling himself alice: not verified.
    p.update(
        "tab-b/from/bob",
        &status("pb", "alice", &[ROOM], true, T0),
        T0,
    );
    // anyone on a plain topic: not verified.
    p.update("tab-c", &status("pc", "alice", &[ROOM], true, T0), T0);
    let verified: Vec<(String, bool)> = p
        .people_in(ROOM, T0)
        .into_iter()
        .map(|x| (x.person, x.verified))
        .collect();
    assert_eq!(
        verified,
        vec![
            ("pb".to_owned(), false),
            ("pc".to_owned(), false),
            ("user:alice".to_owned(), true),
        ]
    );
}

#[test]
fn a_verified_user_on_several_browsers_is_one_person() {
    let mut p = Presence::new();
    // alice on a laptop (online) and a phone that went away (offline): one alice, online.
    p.update(
        "laptop/from/alice",
        &status("p-laptop", "alice", &[ROOM], true, T0),
        T0,
    );
    p.update(
        "phone/from/alice",
        &status("p-phone", "alice", &[ROOM], false, T0 + 1.0),
        T0 + 1.0,
    );
    let shown = shown(&p, ROOM, T0 + 2.0);
    assert_eq!(
        shown,
        vec![("user:alice".into(), "alice".into(), true)],
        "{shown:?}"
    );
    // A status that claims a verified user's person id itself is not grouped with them.
    p.update(
        "forger/from/bob",
        &status("user:alice", "alice", &[ROOM], true, T0 + 1.5),
        T0 + 1.5,
    );
    let people = p.people_in(ROOM, T0 + 2.0);
    assert_eq!(people.len(), 2, "{people:?}");
    assert!(people
        .iter()
        .any(|x| x.person == "user:alice" && x.verified && x.online));
    assert!(people
        .iter()
        .any(|x| x.person == "claimed-user:alice" && !x.verified));
    // Where topics prove nothing (an anonymous tab), nobody is verified or grouped.
    let mut anonymous = Presence::new();
    anonymous.set_vouched(false);
    anonymous.update(
        "laptop/from/alice",
        &status("p-laptop", "alice", &[ROOM], true, T0),
        T0,
    );
    anonymous.update(
        "phone/from/alice",
        &status("p-phone", "alice", &[ROOM], true, T0),
        T0,
    );
    let people = anonymous.people_in(ROOM, T0);
    assert_eq!(people.len(), 2);
    assert!(people.iter().all(|p| !p.verified));
    // Anonymous statuses stay per browser, whatever their name.
    p.update("a1", &status("b1", "alice", &[ROOM], true, T0), T0);
    p.update("a2", &status("b2", "alice", &[ROOM], true, T0), T0);
    assert_eq!(p.people_in(ROOM, T0 + 2.0).len(), 4);
}

#[test]
fn extra_fields_ignored_and_optional_fields_default() {
    let s = decode_status(br#"{"person":"p","online":false,"ts":1,"extra":{"a":[1,2]},"v":2}"#)
        .unwrap();
    assert_eq!(s.name, "anonymous");
    assert!(s.rooms.is_empty());
    assert!(!s.online);
}

#[test]
fn html_in_name_is_kept_as_text() {
    let s = decode_status(
        br#"{"person":"p","name":"<img src=x onerror=alert(1)>","online":true,"ts":1}"#,
    )
    .unwrap();
    assert_eq!(s.name, "<img src=x onerror=alert(1)>");
}

#[test]
fn long_name_is_cut_to_64_chars_and_trimmed() {
    // 10,000 characters would exceed 8 KiB; 2,000 multi-byte ones fit.
    let long = "é".repeat(2_000);
    let payload = format!(r#"{{"person":"p","name":"{long}","online":true,"ts":1}}"#);
    assert!(payload.len() <= MAX_STATUS_BYTES);
    let s = decode_status(payload.as_bytes()).unwrap();
    assert_eq!(s.name.chars().count(), 64);
    assert_eq!(s.name, "é".repeat(64));

    let padded = format!("   {}   x", "a".repeat(61));
    let s = decode_status(&status("p", &padded, &[], true, 1.0)).unwrap();
    assert_eq!(s.name, "a".repeat(61), "cut to 64 chars, then trimmed");

    let s = decode_status(&status("p", "  \t ", &[], true, 1.0)).unwrap();
    assert_eq!(s.name, "anonymous");
}

#[test]
fn ten_thousand_char_name_is_refused_as_too_large() {
    let long = "x".repeat(10_000);
    let payload = format!(r#"{{"person":"p","name":"{long}","online":true,"ts":1}}"#);
    assert_eq!(
        decode_status(payload.as_bytes()),
        Err(BadStatus::TooLarge {
            bytes: payload.len(),
            limit: MAX_STATUS_BYTES
        })
    );
}

#[test]
fn payload_at_the_limit_is_read() {
    let head = r#"{"person":"p","online":true,"ts":1,"pad":""#;
    let pad = "x".repeat(MAX_STATUS_BYTES - head.len() - 2);
    let payload = format!("{head}{pad}\"}}");
    assert_eq!(payload.len(), MAX_STATUS_BYTES);
    assert!(decode_status(payload.as_bytes()).is_ok());
}

#[test]
fn malformed_shapes_are_refused() {
    let cases: &[(&[u8], BadStatus)] = &[
        (b"", BadStatus::NotJson),
        (b"\xff\xfe", BadStatus::NotJson),
        (b"{", BadStatus::NotJson),
        (b"<b>hi</b>", BadStatus::NotJson),
        (b"[]", BadStatus::NotObject),
        (
            b"[{\"person\":\"p\",\"online\":true,\"ts\":1}]",
            BadStatus::NotObject,
        ),
        (b"42", BadStatus::NotObject),
        (b"\"text\"", BadStatus::NotObject),
        (b"null", BadStatus::NotObject),
        (b"{}", BadStatus::Person),
        (br#"{"person":42,"online":true,"ts":1}"#, BadStatus::Person),
        (br#"{"person":"","online":true,"ts":1}"#, BadStatus::Person),
        (
            br#"{"person":["p"],"online":true,"ts":1}"#,
            BadStatus::Person,
        ),
        (
            br#"{"person":"p","name":7,"online":true,"ts":1}"#,
            BadStatus::Name,
        ),
        (
            br#"{"person":"p","name":null,"online":true,"ts":1}"#,
            BadStatus::Name,
        ),
        (
            br#"{"person":"p","name":["a"],"online":true,"ts":1}"#,
            BadStatus::Name,
        ),
        (
            br#"{"person":"p","rooms":"a","online":true,"ts":1}"#,
            BadStatus::Rooms,
        ),
        (
            br#"{"person":"p","rooms":{"a":1},"online":true,"ts":1}"#,
            BadStatus::Rooms,
        ),
        (br#"{"person":"p","ts":1}"#, BadStatus::Online),
        (
            br#"{"person":"p","online":"true","ts":1}"#,
            BadStatus::Online,
        ),
        (br#"{"person":"p","online":1,"ts":1}"#, BadStatus::Online),
        (br#"{"person":"p","online":true}"#, BadStatus::Ts),
        (br#"{"person":"p","online":true,"ts":"1"}"#, BadStatus::Ts),
        (br#"{"person":"p","online":true,"ts":null}"#, BadStatus::Ts),
        (
            br#"{"person":"p","online":true,"ts":1e999}"#,
            BadStatus::NotJson,
        ),
    ];
    for (payload, want) in cases {
        assert_eq!(
            decode_status(payload).as_ref(),
            Err(want),
            "{}",
            String::from_utf8_lossy(payload)
        );
    }
    let person = "p".repeat(65);
    let payload = format!(r#"{{"person":"{person}","online":true,"ts":1}}"#);
    assert_eq!(decode_status(payload.as_bytes()), Err(BadStatus::Person));
    let person = "p".repeat(64);
    let payload = format!(r#"{{"person":"{person}","online":true,"ts":1}}"#);
    assert!(decode_status(payload.as_bytes()).is_ok());
}

#[test]
fn non_finite_ts_is_never_written_as_a_number() {
    // to_json writes NaN as null, which decode refuses.
    let bytes = status("p", "Ann", &[], true, f64::NAN);
    assert_eq!(decode_status(&bytes), Err(BadStatus::Ts));
}

#[test]
fn errors_read_as_words() {
    for e in [
        BadStatus::NotJson,
        BadStatus::NotObject,
        BadStatus::Person,
        BadStatus::Name,
        BadStatus::Rooms,
        BadStatus::Online,
        BadStatus::Ts,
        BadStatus::TooLarge {
            bytes: 9000,
            limit: 8192,
        },
    ] {
        let text = e.to_string();
        assert!(text.starts_with("Presence status"), "{text}");
        assert!(text.ends_with('.'), "{text}");
    }
}

#[test]
fn bad_rooms_are_dropped_duplicates_too_and_at_most_50_kept() {
    let long = "r".repeat(65);
    let ok64 = "r".repeat(64);
    let payload = format!(
        r##"{{"person":"p","online":true,"ts":1,"rooms":["messages",1,null,["x"],{{}},"",
        "  ","a/b","a+","#a","$SYS","nul\u0000","tab\t","{long}","{ok64}","messages"," rust ","rust","é"]}}"##
    );
    let s = decode_status(payload.as_bytes()).unwrap();
    assert_eq!(s.rooms, vec!["messages", ok64.as_str(), "rust", "é"]);
    // Names are taken as they are: " rust " and "tab\t" are not names the app publishes.

    let many: Vec<String> = (0..80).map(|i| format!("\"r{i}\"")).collect();
    let payload = format!(
        r#"{{"person":"p","online":true,"ts":1,"rooms":[{}]}}"#,
        many.join(",")
    );
    let s = decode_status(payload.as_bytes()).unwrap();
    assert_eq!(s.rooms.len(), 50);
    assert_eq!(s.rooms[0], "r0");
    assert_eq!(s.rooms[49], "r49");
}

// ---- the observer ----

#[test]
fn one_person_with_several_tabs_shows_once_online_while_any_tab_is() {
    let mut p = Presence::new();
    let mut now = T0;
    assert!(p.update("tab-a", &status("ann", "Ann", &[ROOM], true, now), now));
    now += 10.0;
    assert!(p.update("tab-b", &status("ann", "Ann", &[ROOM], true, now), now));
    assert_eq!(
        shown(&p, ROOM, now),
        vec![("ann".into(), "Ann".into(), true)]
    );
    assert_eq!(p.count_in(ROOM, now), 1);

    // One tab closes: still online, no grace needed.
    now += 1_000.0;
    p.update("tab-a", &status("ann", "Ann", &[ROOM], false, now), now);
    assert_eq!(p.poll_timeout(), None);
    assert_eq!(state_of(&p, "ann", now), Some(true));
    assert_eq!(state_of(&p, "ann", now + 60_000.0), Some(true));

    // The other closes too: online through the grace, then offline.
    now += 1_000.0;
    let closed = now;
    p.update("tab-b", &status("ann", "Ann", &[ROOM], false, now), now);
    assert_eq!(p.poll_timeout(), Some(closed + GRACE_MS));
    assert_eq!(state_of(&p, "ann", closed + GRACE_MS - 1.0), Some(true));
    assert_eq!(state_of(&p, "ann", closed + GRACE_MS), Some(false));
    assert!(p.expire(closed + GRACE_MS));
    assert_eq!(p.poll_timeout(), None);
    assert_eq!(
        shown(&p, ROOM, closed + 10_000.0),
        vec![("ann".into(), "Ann".into(), false)]
    );
}

#[test]
fn name_comes_from_the_newest_tab_and_changes_without_reconnect() {
    let mut p = Presence::new();
    p.update("tab-a", &status("ann", "Ann", &[ROOM], true, T0), T0);
    p.update(
        "tab-b",
        &status("ann", "Annie", &[ROOM], true, T0 + 5.0),
        T0 + 5.0,
    );
    assert_eq!(p.people_in(ROOM, T0 + 5.0)[0].name, "Annie");
    // Tab a renames: it is now the newest.
    p.update(
        "tab-a",
        &status("ann", "Anna", &[ROOM], true, T0 + 9.0),
        T0 + 9.0,
    );
    assert_eq!(p.people_in(ROOM, T0 + 9.0)[0].name, "Anna");
    // Retained statuses arriving out of order: the newest ts wins, not the last to arrive.
    let mut q = Presence::new();
    q.update(
        "tab-b",
        &status("ann", "New", &[ROOM], false, T0 + 100.0),
        T0 + 200.0,
    );
    q.update(
        "tab-a",
        &status("ann", "Old", &[ROOM], false, T0),
        T0 + 200.0,
    );
    assert_eq!(q.people_in(ROOM, T0 + 200.0)[0].name, "New");
}

#[test]
fn a_person_is_in_the_rooms_of_their_newest_tab_and_online_if_any_tab_is() {
    let mut p = Presence::new();
    // An older tab's status still lists ROOM, which the person has left since.
    p.update("tab-a", &status("ann", "Ann", &[ROOM], false, T0), T0);
    p.update(
        "tab-b",
        &status("ann", "Ann", &["rust"], true, T0 + 1.0),
        T0 + 1.0,
    );
    assert_eq!(
        shown(&p, "rust", T0 + 1.0),
        vec![("ann".into(), "Ann".into(), true)]
    );
    assert!(p.people_in(ROOM, T0 + 1.0).is_empty(), "left ROOM");
    assert!(p.people_in("elsewhere", T0).is_empty());
    // A tab offline, another online in the same room: online.
    p.update(
        "tab-a",
        &status("ann", "Ann", &["rust"], false, T0 + 2.0),
        T0 + 2.0,
    );
    p.update(
        "tab-b",
        &status("ann", "Ann", &["rust"], true, T0 + 1.0),
        T0 + 2.0,
    );
    assert_eq!(
        shown(&p, "rust", T0 + 2.0),
        vec![("ann".into(), "Ann".into(), true)]
    );
}

#[test]
fn reload_never_flaps() {
    // Observed every 50 ms: the reloading tab publishes offline, its new page publishes
    // online 1 s later under a new tab id.
    let mut p = Presence::new();
    let mut now = T0;
    p.update("old-tab", &status("ann", "Ann", &[ROOM], true, now), now);
    let reload_at = T0 + 500.0;
    let back_at = reload_at + 1_000.0;
    let mut reloaded = false;
    let mut back = false;
    while now < T0 + 20_000.0 {
        if !reloaded && now >= reload_at {
            p.update("old-tab", &status("ann", "Ann", &[ROOM], false, now), now);
            reloaded = true;
        }
        if !back && now >= back_at {
            p.update("new-tab", &status("ann", "Ann", &[ROOM], true, now), now);
            back = true;
        }
        if p.poll_timeout().is_some_and(|t| t <= now) {
            p.expire(now);
        }
        assert_eq!(
            state_of(&p, "ann", now),
            Some(true),
            "offline at {}",
            now - T0
        );
        now += 50.0;
    }
}

#[test]
fn reload_with_the_same_tab_id_never_flaps() {
    let mut p = Presence::new();
    p.update("tab", &status("ann", "Ann", &[ROOM], true, T0), T0);
    p.update(
        "tab",
        &status("ann", "Ann", &[ROOM], false, T0 + 100.0),
        T0 + 100.0,
    );
    let mut now = T0 + 100.0;
    while now < T0 + 1_100.0 {
        assert_eq!(state_of(&p, "ann", now), Some(true));
        now += 50.0;
    }
    p.update("tab", &status("ann", "Ann", &[ROOM], true, now), now);
    assert_eq!(p.poll_timeout(), None);
    assert_eq!(state_of(&p, "ann", now + 60_000.0), Some(true));
}

#[test]
fn close_shows_offline_after_the_grace() {
    let mut p = Presence::new();
    p.update("tab", &status("bo", "Bo", &[ROOM], true, T0), T0);
    let closed = T0 + 1_000.0;
    assert!(p.update("tab", &status("bo", "Bo", &[ROOM], false, closed), closed));
    assert_eq!(p.poll_timeout(), Some(closed + GRACE_MS));
    assert_eq!(state_of(&p, "bo", closed), Some(true));
    assert_eq!(state_of(&p, "bo", closed + GRACE_MS - 50.0), Some(true));
    assert_eq!(state_of(&p, "bo", closed + GRACE_MS), Some(false));
    // Well under the 5 s the issue allows.
    const { assert!(GRACE_MS < 5_000.0) };
}

#[test]
fn offline_at_first_sight_shows_offline_at_once() {
    // Retained offline statuses at connect: no grace, nobody pretends to be online.
    let mut p = Presence::new();
    p.update(
        "tab",
        &status("bo", "Bo", &[ROOM], false, T0 - 60_000.0),
        T0,
    );
    assert_eq!(state_of(&p, "bo", T0), Some(false));
    assert_eq!(p.poll_timeout(), None);
}

#[test]
fn sorted_online_first_then_name_ignoring_case_then_person() {
    let mut p = Presence::new();
    p.update("1", &status("z", "bo", &[ROOM], false, T0), T0);
    p.update("2", &status("y", "Ann", &[ROOM], true, T0), T0);
    p.update("3", &status("x", "ann", &[ROOM], true, T0), T0);
    p.update("4", &status("w", "Cy", &[ROOM], true, T0), T0);
    p.update("5", &status("v", "al", &[ROOM], false, T0), T0);
    let order: Vec<String> = p
        .people_in(ROOM, T0)
        .into_iter()
        .map(|x| x.person)
        .collect();
    assert_eq!(order, vec!["x", "y", "w", "v", "z"]);
}

#[test]
fn at_most_200_shown_and_the_count_says_how_many() {
    let mut p = Presence::new();
    for i in 0..300 {
        let id = format!("p{i:03}");
        p.update(&id, &status(&id, &id, &[ROOM], i % 2 == 0, T0), T0);
    }
    let people = p.people_in(ROOM, T0);
    assert_eq!(people.len(), MAX_SHOWN);
    assert_eq!(p.count_in(ROOM, T0), 300);
    assert!(people[..150].iter().all(|x| x.online));
    assert!(people[150..].iter().all(|x| !x.online));
}

#[test]
fn stale_statuses_are_ignored_and_listed() {
    let mut p = Presence::new();
    let now = T0;
    let old = now - MAX_AGE_MS - 1.0;
    let future = now + 24.0 * 3600.0 * 1000.0 + 1.0;
    assert!(!p.update("old", &status("o", "Old", &[ROOM], true, old), now));
    assert!(!p.update("future", &status("f", "Future", &[ROOM], true, future), now));
    p.update(
        "fresh",
        &status("n", "New", &[ROOM], true, now - MAX_AGE_MS + 1.0),
        now,
    );
    assert_eq!(shown(&p, ROOM, now), vec![("n".into(), "New".into(), true)]);
    assert_eq!(p.count_in(ROOM, now), 1);
    assert_eq!(p.stale(now), vec!["old".to_string(), "future".to_string()]);
    // Freshness is judged at the time asked: the fresh one turns stale as time passes, and
    // the one from the future comes within a day of "now".
    assert_eq!(p.stale(now + 2.0), vec!["old", "fresh"]);
    assert_eq!(
        shown(&p, ROOM, now + 2.0),
        vec![("f".into(), "Future".into(), true)]
    );
    // The app clears them; the empty retained publish comes back and forgets them.
    assert!(!p.update("old", b"", now + 10.0));
    assert!(p.update("future", b"", now + 10.0), "shown by then");
    assert_eq!(p.stale(now + 10.0), vec!["fresh"]);
    assert!(p.people_in(ROOM, now + 10.0).is_empty());
    assert_eq!(p.tab_count(), 1);
}

#[test]
fn a_stale_tab_neither_lists_a_room_nor_makes_its_person_online() {
    let mut p = Presence::new();
    let old = T0 - MAX_AGE_MS - 1.0;
    // Ann's old tab (stale) was online and in "rust"; her fresh tab is offline, in ROOM only.
    p.update("old", &status("ann", "Ann", &[ROOM, "rust"], true, old), T0);
    p.update("new", &status("ann", "Ann", &[ROOM], false, T0), T0);
    assert!(p.people_in("rust", T0).is_empty());
    assert_eq!(p.count_in("rust", T0), 0);
    assert_eq!(
        shown(&p, ROOM, T0),
        vec![("ann".into(), "Ann".into(), false)]
    );
    // Nor does a stale tab from the future name her.
    let future = T0 + 2.0 * 24.0 * 3600.0 * 1000.0;
    p.update("future", &status("ann", "Nope", &[ROOM], false, future), T0);
    assert_eq!(p.people_in(ROOM, T0)[0].name, "Ann");
}

#[test]
fn a_last_will_older_than_the_status_changes_only_the_state() {
    // The will was written at connect, before the name was typed and a room joined.
    let mut p = Presence::new();
    let connect = T0;
    let will = status("ann", "anonymous", &[ROOM], false, connect);
    p.update(
        "tab",
        &status("ann", "Ann", &[ROOM, "dev"], true, connect + 500.0),
        connect + 500.0,
    );
    let crash = connect + 60_000.0;
    assert!(p.update("tab", &will, crash));
    let later = crash + GRACE_MS;
    assert_eq!(
        shown(&p, "dev", later),
        vec![("ann".to_owned(), "Ann".to_owned(), false)]
    );
    // A newer offline status (a clean leave) is taken as it is.
    p.update(
        "tab",
        &status("ann", "Ann", &[ROOM, "dev"], true, later),
        later,
    );
    p.update(
        "tab",
        &status("ann", "Annie", &[ROOM], false, later + 1.0),
        later + 1.0,
    );
    assert!(p.people_in("dev", later + 1.0 + GRACE_MS).is_empty());
}

#[test]
fn a_stale_status_replaces_a_fresh_one() {
    let mut p = Presence::new();
    p.update("tab", &status("a", "A", &[ROOM], true, T0), T0);
    assert!(p.update("tab", &status("a", "A", &[ROOM], true, 1.0), T0));
    assert!(p.people_in(ROOM, T0).is_empty());
    assert_eq!(p.stale(T0), vec!["tab"]);
}

#[test]
fn cleared_status_forgets_the_tab() {
    let mut p = Presence::new();
    p.update("tab", &status("a", "A", &[ROOM], false, T0), T0);
    assert!(p.update("tab", b"", T0 + 1.0));
    assert!(p.people_in(ROOM, T0 + 1.0).is_empty());
    assert_eq!(p.tab_count(), 0);
    assert!(!p.update("tab", b"", T0 + 2.0), "nothing left to forget");
}

#[test]
fn clearing_the_last_online_tab_forgets_the_person() {
    let mut p = Presence::new();
    p.update("tab", &status("a", "A", &[ROOM], true, T0), T0);
    p.update("tab", b"", T0 + 1.0);
    assert!(p.people_in(ROOM, T0 + 1.0).is_empty());
    assert_eq!(p.poll_timeout(), None);
}

#[test]
fn malformed_status_is_ignored_and_forgets_nothing() {
    let mut p = Presence::new();
    p.update("tab", &status("a", "A", &[ROOM], true, T0), T0);
    for bad in [
        &b"{"[..],
        b"[]",
        b"42",
        br#"{"person":"a","online":"no","ts":1}"#,
    ] {
        assert!(!p.update("tab", bad, T0 + 1.0));
    }
    assert_eq!(
        shown(&p, ROOM, T0 + 1.0),
        vec![("a".into(), "A".into(), true)]
    );
    // An over-long tab id is ignored too.
    let long_tab = "t".repeat(200);
    assert!(!p.update(&long_tab, &status("b", "B", &[ROOM], true, T0), T0));
    assert_eq!(p.tab_count(), 1);
}

#[test]
fn a_repeated_status_changes_nothing() {
    let mut p = Presence::new();
    let s = status("a", "A", &[ROOM], true, T0);
    assert!(p.update("tab", &s, T0));
    assert!(!p.update("tab", &s, T0 + 1.0));
}

#[test]
fn rooms_follow_the_latest_status() {
    let mut p = Presence::new();
    p.update("tab", &status("a", "A", &[ROOM, "rust"], true, T0), T0);
    assert_eq!(p.count_in("rust", T0), 1);
    p.update("tab", &status("a", "A", &[ROOM], true, T0 + 1.0), T0 + 1.0);
    assert_eq!(p.count_in("rust", T0 + 1.0), 0);
    assert_eq!(p.count_in(ROOM, T0 + 1.0), 1);
}

#[test]
fn a_tab_switching_person_leaves_the_old_one() {
    let mut p = Presence::new();
    p.update("tab", &status("a", "A", &[ROOM], true, T0), T0);
    p.update("tab", &status("b", "B", &[ROOM], true, T0 + 1.0), T0 + 1.0);
    let people: Vec<String> = p
        .people_in(ROOM, T0 + 1.0)
        .into_iter()
        .map(|x| x.person)
        .collect();
    assert_eq!(people, vec!["b"]);
}

/// Feeds `records` (tab, payload, now) and returns how long the updates took, checking the
/// bound after each. Payloads are built beforehand: only `update` is timed.
fn feed(p: &mut Presence, records: &[(String, Vec<u8>, f64)]) -> f64 {
    let start = Instant::now();
    for (tab, payload, now) in records {
        p.update(tab, payload, *now);
        assert!(p.tab_count() <= MAX_TABS);
    }
    start.elapsed().as_secs_f64()
}

#[test]
fn flood_of_10000_tabs_is_bounded_and_fast() {
    let records: Vec<(String, Vec<u8>, f64)> = (0..10_000u32)
        .map(|i| {
            let tab = format!("flood-{i}");
            let now = T0 + f64::from(i);
            let payload = status(&tab, "<b>x</b>", &[ROOM], i % 3 != 0, now);
            (tab, payload, now)
        })
        .collect();
    let mut p = Presence::new();
    let took = feed(&mut p, &records);
    assert!(took < 1.0, "took {took} s");
    let now = T0 + 10_000.0;
    assert_eq!(p.tab_count(), MAX_TABS);
    assert_eq!(p.count_in(ROOM, now), MAX_TABS);
    assert_eq!(p.people_in(ROOM, now).len(), MAX_SHOWN);
    // Offline ones made room; once it is full of people online, newcomers are turned away,
    // so the people who were here first stay.
    assert!(has(&p, "flood-1") && !has(&p, "flood-0") && !has(&p, "flood-9998"));
}

#[test]
fn flood_of_10000_tabs_of_one_person_shows_one_entry_and_is_fast() {
    let records: Vec<(String, Vec<u8>, f64)> = (0..10_000u32)
        .map(|i| {
            let now = T0 + f64::from(i);
            let payload = status("one", &format!("name {i}"), &[ROOM], true, now);
            (format!("tab-{i}"), payload, now)
        })
        .collect();
    let mut p = Presence::new();
    let took = feed(&mut p, &records);
    assert!(took < 1.0, "took {took} s");
    let now = T0 + 10_000.0;
    assert_eq!(p.tab_count(), MAX_TABS);
    assert_eq!(
        shown(&p, ROOM, now),
        vec![("one".into(), "name 1999".into(), true)]
    );
}

#[test]
fn when_full_an_offline_tab_makes_room_and_online_ones_are_never_pushed_out() {
    let mut p = Presence::new();
    for i in 0..MAX_TABS {
        let tab = format!("t{i}");
        // Tab t5 is the only offline one; t0 is the oldest.
        let online = i != 5;
        let ts = T0 + i as f64;
        p.update(&tab, &status(&tab, &tab, &[ROOM], online, ts), T0);
    }
    p.update("new1", &status("new1", "n", &[ROOM], true, T0), T0);
    assert_eq!(p.tab_count(), MAX_TABS);
    assert_eq!(p.count_in(ROOM, T0), MAX_TABS);
    assert!(!has(&p, "t5"), "the offline one went first");
    assert!(has(&p, "t0"));
    p.update("new2", &status("new2", "n", &[ROOM], true, T0), T0);
    assert!(has(&p, "t0"), "tabs online are not pushed out");
    assert!(
        has(&p, "new1") && !has(&p, "new2"),
        "the newcomer is turned away"
    );
}

/// Whether a tab is remembered: at a far-future "now" every status is stale and listed
/// (people_in shows at most 200).
fn has(p: &Presence, tab: &str) -> bool {
    p.stale(T0 + 2.0 * MAX_AGE_MS).iter().any(|t| t == tab)
}

#[test]
fn refresh_is_due_when_never_published_or_a_day_ago() {
    assert!(PresenceRefresh::due(None, T0));
    assert!(!PresenceRefresh::due(Some(T0), T0));
    assert!(!PresenceRefresh::due(Some(T0), T0 + REFRESH_MS - 1.0));
    assert!(PresenceRefresh::due(Some(T0), T0 + REFRESH_MS));
    assert!(
        PresenceRefresh::due(Some(T0), T0 - 1.0),
        "the clock went back"
    );
}

#[test]
fn an_older_status_arriving_after_a_newer_one_is_out_of_date() {
    // A clustered broker handed Bo's two statuses over in the wrong order: joined "ops"
    // (newer) first, then the one from before he joined.
    let mut p = Presence::default();
    let now = 1_000_000.0;
    p.update(
        "tab-b",
        &status("bo", "Bo", &["messages", "ops"], true, now - 10.0),
        now,
    );
    p.update(
        "tab-b",
        &status("bo", "Bo", &["messages"], true, now - 20.0),
        now,
    );
    assert_eq!(
        shown(&p, "ops", now),
        [("bo".to_owned(), "Bo".to_owned(), true)],
        "still in ops"
    );
    // A newer one still counts.
    p.update(
        "tab-b",
        &status("bo", "Bo", &["messages"], true, now - 5.0),
        now,
    );
    assert!(shown(&p, "ops", now).is_empty(), "left ops");
}

// ---- what #presence lists: online, then "N offline" for a day ----

#[test]
fn offline_people_are_counted_not_listed_first() {
    let mut p = Presence::new();
    p.update("1", &status("p1", "Cy", &[ROOM], false, T0 - 60_000.0), T0);
    p.update("2", &status("p2", "bo", &[ROOM], true, T0), T0);
    p.update("3", &status("p3", "Ann", &[ROOM], true, T0), T0);
    p.update("4", &status("p4", "al", &[ROOM], false, T0 - 1.0), T0);
    let listing = p.listing(ROOM, T0);
    assert_eq!(
        listed(&p, T0),
        (strings(&["Ann", "bo"]), strings(&["al", "Cy"]))
    );
    assert!(listing.online.iter().all(|x| x.online));
    assert!(listing.offline.iter().all(|x| !x.online));
    assert_eq!((listing.online_count, listing.offline_count), (2, 2));
    assert_eq!(listing.more(), 0);
    // The listing changes by itself when the first of them has been gone a day.
    assert_eq!(listing.changes_at, Some(T0 - 60_000.0 + OFFLINE_LISTED_MS));
}

#[test]
fn offline_for_more_than_a_day_is_not_listed() {
    let mut p = Presence::new();
    p.update("on", &status("p1", "Ann", &[ROOM], true, T0), T0);
    let left = T0 + 1_000.0;
    p.update("off", &status("p2", "Bo", &[ROOM], false, left), left);
    let day_later = left + OFFLINE_LISTED_MS;
    assert_eq!(p.listing(ROOM, day_later).changes_at, Some(day_later));
    assert_eq!(listed(&p, day_later), (strings(&["Ann"]), strings(&["Bo"])));
    let after = day_later + 1.0;
    assert_eq!(listed(&p, after), (strings(&["Ann"]), vec![]));
    assert_eq!(p.listing(ROOM, after).offline_count, 0);
    assert_eq!(p.listing(ROOM, after).changes_at, None);
    // Still known (statuses are kept for 7 days), just not listed.
    assert_eq!(state_of(&p, "p2", after), Some(false));
    // Online people are listed however old their status (it is renewed daily).
    assert_eq!(listed(&p, T0 + MAX_AGE_MS).0, strings(&["Ann"]));
}

#[test]
fn a_lost_tab_was_last_seen_at_its_last_status() {
    // Its will was written at connect; the status it renewed later is when it was last seen.
    let mut p = Presence::new();
    p.update("tab", &status("p1", "Ann", &[ROOM], true, T0), T0);
    let renewed = T0 + 10.0 * 3600.0 * 1000.0;
    p.update("tab", &status("p1", "Ann", &[ROOM], true, renewed), renewed);
    let crash = renewed + 3600.0 * 1000.0;
    p.update("tab", &status("p1", "Ann", &[ROOM], false, T0), crash);
    let gone = crash + GRACE_MS;
    assert_eq!(listed(&p, gone), (vec![], strings(&["Ann"])));
    assert_eq!(
        p.listing(ROOM, gone).changes_at,
        Some(renewed + OFFLINE_LISTED_MS)
    );
    assert_eq!(
        listed(&p, renewed + OFFLINE_LISTED_MS + 1.0),
        (vec![], vec![])
    );
}

#[test]
fn within_the_grace_a_leaving_person_is_listed_online_then_offline() {
    let mut p = Presence::new();
    p.update("tab", &status("p1", "Ann", &[ROOM], true, T0), T0);
    let closed = T0 + 1_000.0;
    p.update("tab", &status("p1", "Ann", &[ROOM], false, closed), closed);
    assert_eq!(
        listed(&p, closed + GRACE_MS - 1.0),
        (strings(&["Ann"]), vec![])
    );
    assert_eq!(listed(&p, closed + GRACE_MS), (vec![], strings(&["Ann"])));
}

#[test]
fn an_offline_person_named_as_someone_online_is_not_listed_again() {
    // Issue 20: two short visits listed "Ann, Bob, Ann (offline), anonymous (offline),
    // Bob (offline)". The second visit came from new profiles (new person ids).
    let mut p = Presence::new();
    let first = T0 - 3600.0 * 1000.0;
    for (tab, person, name) in [
        ("a1", "p1", "Ann"),
        ("b1", "p2", "Bob"),
        ("x", "p5", "anonymous"),
    ] {
        p.update(tab, &status(person, name, &[ROOM], false, first), T0);
    }
    p.update("a2", &status("p3", "Ann", &[ROOM], true, T0), T0);
    p.update("b2", &status("p4", "Bob", &[ROOM], true, T0), T0);
    assert_eq!(
        listed(&p, T0),
        (strings(&["Ann", "Bob"]), strings(&["anonymous"]))
    );
    assert_eq!(p.listing(ROOM, T0).offline_count, 1);
    // The name must be the same exactly: "ann" offline is listed.
    p.update("c", &status("p6", "ann", &[ROOM], false, first), T0);
    assert_eq!(listed(&p, T0).1, strings(&["ann", "anonymous"]));
    // Two people online with one name are both listed.
    p.update("a3", &status("p7", "Ann", &[ROOM], true, T0), T0);
    assert_eq!(listed(&p, T0).0, strings(&["Ann", "Ann", "Bob"]));
    // When both Anns are offline again, the one seen last is listed for the name.
    p.update(
        "a3",
        &status("p7", "Ann", &[ROOM], false, T0 + 1.0),
        T0 + 1.0,
    );
    p.update("a2", &status("p3", "Ann", &[ROOM], false, T0), T0 + 1.0);
    let later = T0 + 1.0 + GRACE_MS;
    assert_eq!(
        listed(&p, later),
        (strings(&["Bob"]), strings(&["Ann", "ann", "anonymous"]))
    );
    let ann = p.listing(ROOM, later).offline[0].person.clone();
    assert_eq!(ann, "p7", "the Ann seen last");
}

#[test]
fn several_offline_with_one_name_are_listed_once() {
    let mut p = Presence::new();
    for (tab, person, seen) in [("1", "p1", T0 - 2_000.0), ("2", "p2", T0 - 1_000.0)] {
        p.update(tab, &status(person, "Bob", &[ROOM], false, seen), T0);
        p.update(
            &format!("x{tab}"),
            &status(&format!("x{person}"), "anonymous", &[ROOM], false, seen),
            T0,
        );
    }
    let listing = p.listing(ROOM, T0);
    let people: Vec<(&str, &str)> = listing
        .offline
        .iter()
        .map(|x| (x.name.as_str(), x.person.as_str()))
        .collect();
    assert_eq!(people, vec![("anonymous", "xp2"), ("Bob", "p2")]);
    assert_eq!(listing.offline_count, 2);
    // The one kept leaves the list a day after it was seen; the older one is gone by then.
    assert_eq!(listing.changes_at, Some(T0 - 1_000.0 + OFFLINE_LISTED_MS));
}

#[test]
fn the_listing_holds_at_most_200_online_first_and_counts_all() {
    let mut p = Presence::new();
    for i in 0..300 {
        let id = format!("p{i:03}");
        p.update(&id, &status(&id, &id, &[ROOM], i % 3 == 0, T0), T0);
    }
    let listing = p.listing(ROOM, T0);
    assert_eq!((listing.online_count, listing.offline_count), (100, 200));
    assert_eq!(listing.online.len(), 100);
    assert_eq!(listing.offline.len(), MAX_SHOWN - 100);
    assert_eq!(listing.more(), 100);
    assert_eq!(listing.offline[0].name, "p001");
}
