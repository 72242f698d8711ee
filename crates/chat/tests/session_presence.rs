//! Presence in the session core on a virtual clock: this tab's status and will (where they
//! go, when they are said), everyone's statuses read into people with the grace period, a
//! will about us answered, the sweep of stale statuses, the daily refresh, a broker that
//! keeps no retained messages, and statuses read again when the verdict changes.

use chat::authorship::NOT_AUTHORIZED;
use chat::presence::{GRACE_MS, MAX_AGE_MS, REFRESH_MS};
use chat::session::{
    Key, Transmit, ViewChange, NAME_SETTLE_MS, RESTORE_MS, SWEEP_AFTER_MS, SWEEP_SPREAD_MS,
    WILL_DELAY,
};
use chat::{MqttVersion, Session, VERIFIED_PRESENCE_FILTER};
use serde_json::{json, Value};

mod common;
use common::{drain, Out};

const TAB: &str = "tab-1";
const ME: &str = "person-me";

fn session(version: MqttVersion, user: Option<&str>) -> Session {
    let mut s = Session::new(version, user.is_some());
    s.handle_restored(Vec::new());
    s.set_person(ME);
    s.set_tab(TAB, user);
    drain(&mut s);
    s
}

/// The statuses said, as (topic, JSON).
fn statuses(out: &Out) -> Vec<(String, Value)> {
    out.transmits
        .iter()
        .filter_map(|t| match t {
            Transmit::Status { topic, payload } => Some((
                topic.clone(),
                serde_json::from_slice(payload).expect("a status is JSON"),
            )),
            _ => None,
        })
        .collect()
}

fn wills(out: &Out) -> Vec<(String, Value, bool)> {
    out.transmits
        .iter()
        .filter_map(|t| match t {
            Transmit::Will(w) => Some((
                w.topic.clone(),
                serde_json::from_slice(&w.payload).expect("a will is JSON"),
                w.retain,
            )),
            _ => None,
        })
        .collect()
}

fn status(person: &str, name: &str, online: bool, ts: f64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "person": person, "name": name, "rooms": ["messages"], "online": online, "ts": ts
    }))
    .unwrap()
}

fn games() -> chat::RoomName {
    chat::RoomName::parse("games").unwrap()
}

/// Names listed online and offline in the default room.
fn listed(s: &Session, now: f64) -> (Vec<String>, Vec<String>) {
    let l = s.listing("messages", now);
    let names = |people: &[chat::Person]| people.iter().map(|p| p.name.clone()).collect();
    (names(&l.online), names(&l.offline))
}

#[test]
fn presence_on_connect_the_status_goes_out_retained_and_the_will_says_offline_lost() {
    let mut s = session(MqttVersion::V5, None);
    s.handle_name(0.0, "Ann");
    s.handle_join(0.0, games()).unwrap();
    let offline = drain(&mut s);
    assert!(statuses(&offline).is_empty(), "nothing is said offline");
    assert!(
        !wills(&offline).is_empty(),
        "the will is kept in step offline"
    );
    s.handle_connected(1_000.0, TAB, "made-up", 0.5);
    let out = drain(&mut s);
    let said = statuses(&out);
    assert_eq!(said.len(), 1, "{out:?}");
    let (topic, body) = &said[0];
    assert_eq!(topic, "chat/presence/tab-1");
    assert_eq!(body["online"], true);
    assert_eq!(body["name"], "Ann");
    assert_eq!(body["person"], ME);
    assert_eq!(body["rooms"], json!(["messages", "games"]));
    assert_eq!(body["ts"], 1_000.0);
    let (topic, will, retain) = wills(&out).pop().expect("a will");
    assert_eq!(topic, "chat/presence/tab-1");
    assert_eq!(
        (will["online"].clone(), will["lost"].clone()),
        (json!(false), json!(true))
    );
    assert!(retain);
    assert_eq!(s.will(0.0).unwrap().delay, WILL_DELAY);
    let (topic, leave) = s.offline_status(2_000.0).expect("a leave");
    let leave: Value = serde_json::from_slice(&leave).unwrap();
    assert_eq!(topic, "chat/presence/tab-1");
    assert_eq!(leave["online"], false);
    assert!(leave.get("lost").is_none(), "a clean leave is not a loss");
}

#[test]
fn presence_signed_in_the_status_and_will_go_to_from_user_and_a_blank_name_is_anonymous() {
    let mut s = session(MqttVersion::V5, Some("alice"));
    s.handle_connected(0.0, TAB, "made-up", 0.5);
    let out = drain(&mut s);
    assert_eq!(statuses(&out)[0].0, "chat/presence/tab-1/from/alice");
    assert_eq!(statuses(&out)[0].1["name"], "anonymous");
    assert_eq!(wills(&out)[0].0, "chat/presence/tab-1/from/alice");
}

#[test]
fn presence_a_name_is_said_once_per_burst_of_keys_400ms_after_it_began_the_latest() {
    let mut s = session(MqttVersion::V311, None);
    s.handle_connected(0.0, TAB, "made-up", 0.5);
    drain(&mut s);
    s.handle_name(10_000.0, "A");
    s.handle_name(10_100.0, "An");
    s.handle_name(10_300.0, "Ann");
    assert_eq!(s.poll_timeout(), Some(10_000.0 + NAME_SETTLE_MS));
    s.handle_timeout(10_000.0 + NAME_SETTLE_MS - 1.0);
    assert!(statuses(&drain(&mut s)).is_empty(), "not before it rested");
    s.handle_timeout(10_000.0 + NAME_SETTLE_MS);
    let said = statuses(&drain(&mut s));
    assert_eq!(said.len(), 1);
    assert_eq!(said[0].1["name"], "Ann");
    s.handle_timeout(20_000.0);
    assert!(statuses(&drain(&mut s)).is_empty(), "once");
}

#[test]
fn presence_joined_rooms_are_said_at_once_and_the_same_rooms_again_say_nothing() {
    let mut s = session(MqttVersion::V311, None);
    s.handle_connected(0.0, TAB, "made-up", 0.5);
    drain(&mut s);
    s.handle_join(5.0, games()).unwrap();
    assert_eq!(
        statuses(&drain(&mut s))[0].1["rooms"],
        json!(["messages", "games"])
    );
    s.handle_join(6.0, games()).unwrap();
    assert!(drain(&mut s).transmits.is_empty());
    s.handle_link_lost(7.0, true);
    drain(&mut s);
    assert!(s.handle_leave(8.0, &games()));
    let out = drain(&mut s);
    assert!(statuses(&out).is_empty(), "offline: not said");
    assert_eq!(
        wills(&out)[0].1["rooms"],
        json!(["messages"]),
        "the will is"
    );
}

#[test]
fn presence_someone_leaving_shows_online_through_the_grace_then_offline_with_a_view_change() {
    let mut s = session(MqttVersion::V311, None);
    s.handle_connected(0.0, TAB, "made-up", 0.5);
    drain(&mut s);
    s.handle_presence(1_000.0, "tab-bo", &status("bo", "Bo", true, 1_000.0));
    assert!(drain(&mut s).views.contains(&ViewChange::Presence));
    assert_eq!(listed(&s, 1_000.0).0, ["Bo"]);
    s.handle_presence(2_000.0, "tab-bo", &status("bo", "Bo", false, 2_000.0));
    drain(&mut s);
    assert_eq!(
        listed(&s, 2_000.0).0,
        ["Bo"],
        "within the grace: a reload never flaps"
    );
    assert_eq!(s.poll_timeout(), Some(2_000.0 + GRACE_MS));
    s.handle_timeout(2_000.0 + GRACE_MS);
    assert!(drain(&mut s).views.contains(&ViewChange::Presence));
    assert_eq!(
        listed(&s, 2_000.0 + GRACE_MS),
        (vec![], vec!["Bo".to_owned()])
    );
}

#[test]
fn presence_a_will_saying_we_are_gone_while_connected_is_answered_at_most_every_5_s() {
    let mut s = session(MqttVersion::V311, None);
    s.handle_connected(0.0, TAB, "made-up", 0.5);
    drain(&mut s);
    let gone = status(ME, "Ann", false, 100.0);
    s.handle_presence(1_000.0, TAB, &gone);
    assert_eq!(statuses(&drain(&mut s))[0].1["online"], true, "said again");
    s.handle_presence(1_000.0 + RESTORE_MS - 1.0, TAB, &gone);
    assert!(
        statuses(&drain(&mut s)).is_empty(),
        "not within 5 s: no loop"
    );
    s.handle_presence(1_000.0 + RESTORE_MS, TAB, &gone);
    assert_eq!(statuses(&drain(&mut s)).len(), 1);
    // Our own online status coming back, or anyone else's offline, says nothing.
    s.handle_presence(20_000.0, TAB, &status(ME, "Ann", true, 20_000.0));
    s.handle_presence(20_000.0, "tab-2", &status("bo", "Bo", false, 20_000.0));
    assert!(statuses(&drain(&mut s)).is_empty());
    // Only our own topic: a status on another id, or on ours under a user, is not ours.
    s.handle_presence(50_000.0, "tab-10", &gone);
    s.handle_presence(50_000.0, "tab-1/from/mallory", &gone);
    assert!(statuses(&drain(&mut s)).is_empty());
    // Not connected: nothing to answer with.
    s.handle_link_lost(30_000.0, false);
    s.handle_presence(40_000.0, TAB, &gone);
    assert!(statuses(&drain(&mut s)).is_empty());
}

#[test]
fn presence_stale_statuses_are_cleared_once_per_page_5_to_30_s_after_the_first_connect() {
    let now = 100.0 * MAX_AGE_MS;
    for random in [0.0, 0.5, 0.999] {
        let mut s = session(MqttVersion::V311, None);
        s.handle_presence(
            now,
            "old-tab",
            &status("old", "Old", true, now - MAX_AGE_MS - 1.0),
        );
        s.handle_presence(now, "new-tab", &status("new", "New", true, now));
        s.handle_connected(now, TAB, "made-up", random);
        // A reconnect before it is due does not put it off.
        s.handle_link_lost(now + 1_000.0, false);
        s.handle_connected(now + 2_000.0, TAB, "made-up", random);
        drain(&mut s);
        let due = now + SWEEP_AFTER_MS + random * SWEEP_SPREAD_MS;
        assert!(due >= now + 5_000.0 && due < now + 30_000.0);
        s.handle_timeout(due - 1.0);
        assert!(!drain(&mut s)
            .transmits
            .iter()
            .any(|t| matches!(t, Transmit::Clear { .. })));
        s.handle_timeout(due);
        let clears: Vec<Transmit> = drain(&mut s)
            .transmits
            .into_iter()
            .filter(|t| matches!(t, Transmit::Clear { .. }))
            .collect();
        assert_eq!(
            clears,
            [Transmit::Clear {
                topic: "chat/presence/old-tab".into()
            }],
            "random {random}"
        );
        // Once per page: a reconnect does not sweep again.
        s.handle_link_lost(due + 1.0, false);
        s.handle_connected(due + 2.0, TAB, "made-up", random);
        s.handle_timeout(due + 60_000.0);
        assert!(!drain(&mut s)
            .transmits
            .iter()
            .any(|t| matches!(t, Transmit::Clear { .. })));
    }
}

/// The clears in `out`, by topic.
fn clears(out: &Out) -> Vec<String> {
    out.transmits
        .iter()
        .filter_map(|t| match t {
            Transmit::Clear { topic } => Some(topic.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn presence_a_status_left_under_the_client_id_by_an_earlier_version_is_cleared_once_when_heard() {
    const CLIENT_ID: &str = "chat-0123456789abcdef";
    let now = 1_000_000.0;
    let mut s = session(MqttVersion::V311, None);
    s.set_former_tab(CLIENT_ID);
    let out = drain(&mut s);
    assert!(
        out.transmits.is_empty(),
        "nothing goes out to the former topic unless a status is heard there"
    );
    // The status and will never name the client id.
    s.handle_connected(now, TAB, "made-up", 0.5);
    let out = drain(&mut s);
    for (topic, _) in statuses(&out) {
        assert_eq!(topic, format!("chat/presence/{TAB}"));
    }
    let w = wills(&out);
    assert!(!w.is_empty() && w.iter().all(|(t, _, _)| !t.contains(CLIENT_ID)));

    // Heard on the bare id and on a signed-in one: each cleared.
    for tab in [CLIENT_ID.to_owned(), format!("{CLIENT_ID}/from/alice")] {
        s.handle_presence(now, &tab, &status(ME, "Me", true, now - 10.0));
        assert_eq!(clears(&drain(&mut s)), [format!("chat/presence/{tab}")]);
        // The clear comes back empty: nothing more.
        s.handle_presence(now, &tab, b"");
        assert!(clears(&drain(&mut s)).is_empty());
    }
    // Another tab's, and a key that only begins like ours: left alone.
    for tab in [
        "chat-ffff",
        &format!("{CLIENT_ID}x"),
        &format!("{CLIENT_ID}/x"),
    ] {
        s.handle_presence(now, tab, &status("p", "P", true, now));
        assert!(clears(&drain(&mut s)).is_empty(), "{tab}");
    }
    // A will published late (a crashed node) is cleared too; a peer that keeps writing
    // there gets at most MAX_FORMER_CLEARS clears a page in all.
    let mut later = 0;
    for i in 0..10 {
        s.handle_presence(now + f64::from(i), CLIENT_ID, &status(ME, "Me", false, now));
        later += clears(&drain(&mut s)).len();
    }
    assert_eq!(later, chat::session::MAX_FORMER_CLEARS - 2);
}

#[test]
fn presence_an_online_tab_says_its_status_again_after_a_day() {
    let mut s = session(MqttVersion::V311, None);
    s.handle_connected(0.0, TAB, "made-up", 0.5);
    drain(&mut s);
    let mut now = 0.0;
    let mut said = Vec::new();
    // Drive time by the session's own timeouts for two days (a bounded number of steps: a
    // deadline that stopped moving fails here instead of looping).
    for _ in 0..1_000 {
        if now >= 2.0 * REFRESH_MS + 3_600_000.0 {
            break;
        }
        now = s.poll_timeout().expect("the refresh check is always armed");
        s.handle_timeout(now);
        for (_, body) in statuses(&drain(&mut s)) {
            said.push(body["ts"].as_f64().unwrap());
        }
    }
    assert!(
        now >= 2.0 * REFRESH_MS + 3_600_000.0,
        "time moved on: {now}"
    );
    assert_eq!(said.len(), 2, "once a day: {said:?}");
    assert!(said[0] >= REFRESH_MS && said[0] < REFRESH_MS + 3_600_001.0);
}

#[test]
fn presence_a_broker_without_retain_gets_a_plain_will_once_and_then_waits_for_the_user() {
    let mut s = session(MqttVersion::V5, None);
    let will = s
        .handle_retain_refused(0.0)
        .expect("a will to connect again with");
    assert!(!will.retain);
    assert!(s.handle_retain_refused(1.0).is_none(), "once only");
    assert!(!s.will(2.0).unwrap().retain, "and from then on");
}

#[test]
fn presence_statuses_from_user_topics_are_verified_only_after_the_check_and_read_again_then() {
    let mut s = session(MqttVersion::V5, Some("ann"));
    s.handle_presence(0.0, "tab-bo/from/bob", &status("bo", "bob", true, 0.0));
    assert!(
        !s.listing("messages", 0.0).online[0].verified,
        "not before the check"
    );
    s.handle_connected(0.0, TAB, "made-up", 0.5);
    drain(&mut s);
    s.handle_published(&Key::Probe, Ok(Some(7))).unwrap();
    drain(&mut s);
    s.handle_publish_refused(10.0, 7, Some(NOT_AUTHORIZED), "not authorized");
    let out = drain(&mut s);
    assert!(
        out.transmits.contains(&Transmit::Subscribe {
            filter: VERIFIED_PRESENCE_FILTER.into()
        }),
        "the broker is asked for the statuses again: {out:?}"
    );
    assert!(out.views.contains(&ViewChange::Presence));
    s.handle_presence(20.0, "tab-bo/from/bob", &status("bo", "bob", true, 20.0));
    assert!(s.listing("messages", 20.0).online[0].verified);
    // A new link: checked again, and until then nothing is verified.
    s.handle_link_lost(30.0, false);
    s.handle_connected(35.0, TAB, "made-up-2", 0.5);
    let out = drain(&mut s);
    assert!(out.transmits.contains(&Transmit::Subscribe {
        filter: VERIFIED_PRESENCE_FILTER.into()
    }));
    s.handle_presence(40.0, "tab-bo/from/bob", &status("bo", "bob", true, 40.0));
    assert!(!s.listing("messages", 40.0).online[0].verified);
}

#[test]
fn presence_signed_in_a_will_on_our_from_user_topic_is_answered_and_the_bare_id_is_not() {
    let mut s = session(MqttVersion::V5, Some("alice"));
    s.handle_connected(0.0, TAB, "made-up", 0.5);
    drain(&mut s);
    let gone = status(ME, "alice", false, 100.0);
    s.handle_presence(1_000.0, TAB, &gone);
    assert!(statuses(&drain(&mut s)).is_empty(), "not our topic");
    s.handle_presence(1_000.0, "tab-1/from/alice", &gone);
    let said = statuses(&drain(&mut s));
    assert_eq!(said.len(), 1);
    assert_eq!(said[0].0, "chat/presence/tab-1/from/alice");
}
