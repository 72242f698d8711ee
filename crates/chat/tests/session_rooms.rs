//! Rooms in the session core, on a virtual clock: what joining, showing, leaving and
//! following another tab subscribe to, remember and show; when each room asks for catch-up
//! (once the link and storage are up, once per need); and what counts as unread.

use chat::session::{room_filters, Shown, StoreOp, Transmit, ViewChange, NOTIFY_GAP_MS};
use chat::{JoinError, MqttVersion, RoomName, Rooms, Session, MAX_ROOMS};
use mqtt_core::QoS;

mod common;
use common::{drain, Out};

fn room(name: &str) -> RoomName {
    RoomName::parse(name).unwrap()
}

fn default() -> RoomName {
    RoomName::default_room()
}

/// A session with only the default room, not connected, storage not open yet.
fn fresh() -> Session {
    let mut s = Session::new(MqttVersion::V311, false);
    s.set_tab("tab-1", None);
    s.handle_rooms_restored(0.0, Rooms::default(), &[]);
    drain(&mut s);
    s
}

/// A session with storage open and a link up, everything so far drained.
fn ready() -> Session {
    let mut s = fresh();
    s.handle_restored(Vec::new());
    s.handle_connected(0.0, "tab-1", "made-up", 0.5);
    drain(&mut s);
    s
}

fn wants(out: &Out) -> Vec<(String, QoS)> {
    out.transmits
        .iter()
        .filter_map(|t| match t {
            Transmit::Want { filter, qos } => Some((filter.clone(), *qos)),
            _ => None,
        })
        .collect()
}

fn unwants(out: &Out) -> Vec<String> {
    out.transmits
        .iter()
        .filter_map(|t| match t {
            Transmit::Unwant { filter } => Some(filter.clone()),
            _ => None,
        })
        .collect()
}

fn asks(out: &Out) -> Vec<RoomName> {
    out.stores
        .iter()
        .filter_map(|op| match op {
            StoreOp::ReadForAsk(room) => Some(room.clone()),
            _ => None,
        })
        .collect()
}

fn saved(out: &Out) -> Vec<Vec<String>> {
    out.stores
        .iter()
        .filter_map(|op| match op {
            StoreOp::SaveRooms(names) => Some(names.clone()),
            _ => None,
        })
        .collect()
}

fn opened(out: &Out) -> Vec<RoomName> {
    out.stores
        .iter()
        .filter_map(|op| match op {
            StoreOp::SaveOpen(room) => Some(room.clone()),
            _ => None,
        })
        .collect()
}

fn shown(out: &Out) -> Vec<(RoomName, RoomName)> {
    out.views
        .iter()
        .filter_map(|v| match v {
            ViewChange::Shown { from, to } => Some((from.clone(), to.clone())),
            _ => None,
        })
        .collect()
}

fn left(out: &Out) -> Vec<RoomName> {
    out.views
        .iter()
        .filter_map(|v| match v {
            ViewChange::Left(room) => Some(room.clone()),
            _ => None,
        })
        .collect()
}

/// Someone else's message, shown.
fn theirs(words: Option<(&'static str, &'static str)>) -> Shown<'static> {
    Shown {
        topic: "messages",
        payload: br#"{"name":"Bo","message":"hi"}"#,
        id: None,
        at: 5.0,
        own: false,
        words,
    }
}

/// The rooms the statuses said (presence), in order.
fn said_rooms(out: &Out) -> Vec<serde_json::Value> {
    out.transmits
        .iter()
        .filter_map(|t| match t {
            Transmit::Status { payload, .. } => {
                let body: serde_json::Value = serde_json::from_slice(payload).unwrap();
                Some(body["rooms"].clone())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn joining_a_room_subscribes_its_filters_remembers_and_shows_it_asks_it_and_tells_the_others() {
    let mut s = ready();
    s.handle_join(10.0, room("dev")).unwrap();
    let out = drain(&mut s);
    assert_eq!(wants(&out), room_filters(&room("dev")).to_vec());
    assert_eq!(
        wants(&out),
        [
            ("messages/dev".to_owned(), QoS::AtLeastOnce),
            ("messages/dev/from/+".to_owned(), QoS::AtLeastOnce),
            ("chat/typing/messages/dev".to_owned(), QoS::AtMostOnce),
            ("chat/catchup/messages/dev".to_owned(), QoS::AtMostOnce),
            ("chat/salt/messages/dev".to_owned(), QoS::AtLeastOnce),
        ]
    );
    assert_eq!(saved(&out), [vec!["dev".to_owned()]]);
    assert_eq!(opened(&out), [room("dev")]);
    assert_eq!(shown(&out), [(default(), room("dev"))]);
    assert_eq!(asks(&out), [room("dev")]);
    assert_eq!(said_rooms(&out), [serde_json::json!(["messages", "dev"])]);
    assert!(out.views.contains(&ViewChange::Rooms));
    assert_eq!(s.rooms().open(), &room("dev"));
    assert_eq!(s.rooms().joined(), &[default(), room("dev")]);

    // Joining it again only shows it.
    s.handle_show(20.0, default());
    drain(&mut s);
    s.handle_join(30.0, room("dev")).unwrap();
    let out = drain(&mut s);
    assert!(wants(&out).is_empty() && saved(&out).is_empty() && asks(&out).is_empty());
    assert_eq!(shown(&out), [(default(), room("dev"))]);
}

#[test]
fn showing_the_open_room_again_or_a_room_not_joined_changes_nothing() {
    let mut s = ready();
    s.handle_show(10.0, default());
    let out = drain(&mut s);
    assert!(shown(&out).is_empty() && opened(&out).is_empty(), "{out:?}");
    s.handle_show(20.0, room("never-joined"));
    let out = drain(&mut s);
    assert!(out.transmits.is_empty() && out.stores.is_empty() && out.views.is_empty());
    assert_eq!(s.rooms().joined(), &[default()]);
}

#[test]
fn a_room_joined_offline_asks_once_the_link_and_storage_are_both_up_and_only_once() {
    let mut s = fresh();
    s.handle_join(10.0, room("dev")).unwrap();
    assert!(asks(&drain(&mut s)).is_empty(), "no link, no storage");
    s.handle_connected(20.0, "tab-1", "made-up", 0.5);
    assert!(asks(&drain(&mut s)).is_empty(), "storage not open yet");
    s.handle_restored(Vec::new());
    assert_eq!(asks(&drain(&mut s)), [room("dev")]);
    s.handle_link_lost(30.0, true);
    s.handle_connected(40.0, "tab-1", "made-up", 0.5);
    assert!(
        asks(&drain(&mut s)).is_empty(),
        "the broker kept the session: nothing more to ask"
    );
}

#[test]
fn storage_first_then_the_link_asks_too() {
    let mut s = fresh();
    s.handle_join(10.0, room("dev")).unwrap();
    s.handle_restored(Vec::new());
    assert!(asks(&drain(&mut s)).is_empty(), "no link yet");
    s.handle_connected(20.0, "tab-1", "made-up", 0.5);
    assert_eq!(asks(&drain(&mut s)), [room("dev")]);
}

#[test]
fn a_lost_broker_session_asks_every_joined_room_once() {
    let mut s = ready();
    s.handle_join(10.0, room("dev")).unwrap();
    assert_eq!(asks(&drain(&mut s)), [room("dev")]);
    s.handle_link_lost(20.0, true);
    s.handle_join(25.0, room("ops")).unwrap();
    s.handle_session_lost();
    s.handle_connected(30.0, "tab-1", "made-up", 0.5);
    let mut asked = asks(&drain(&mut s));
    asked.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(asked, [room("dev"), default(), room("ops")], "each once");
}

#[test]
fn leaving_the_open_room_shows_the_default_one_unsubscribes_and_forgets_it_everywhere() {
    let mut s = ready();
    s.handle_join(10.0, room("dev")).unwrap();
    drain(&mut s);
    assert!(s.handle_leave(20.0, &room("dev")));
    let out = drain(&mut s);
    let filters: Vec<String> = room_filters(&room("dev"))
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(unwants(&out), filters);
    assert_eq!(saved(&out), [Vec::<String>::new()]);
    assert_eq!(opened(&out), [default()]);
    assert_eq!(shown(&out), [(room("dev"), default())]);
    assert_eq!(left(&out), [room("dev")]);
    assert_eq!(said_rooms(&out), [serde_json::json!(["messages"])]);
    // The view swaps the log before it drops the left room's.
    let shown_at = out
        .views
        .iter()
        .position(|v| matches!(v, ViewChange::Shown { .. }));
    let left_at = out
        .views
        .iter()
        .position(|v| matches!(v, ViewChange::Left(_)));
    assert!(shown_at < left_at, "{:?}", out.views);
    assert_eq!(s.rooms().joined(), &[default()]);

    assert!(!s.handle_leave(30.0, &default()), "the default room stays");
    assert!(!s.handle_leave(30.0, &room("dev")), "left already");
    let out = drain(&mut s);
    assert!(out.transmits.is_empty() && out.stores.is_empty() && out.views.is_empty());
}

#[test]
fn leaving_a_room_not_open_keeps_the_open_one() {
    let mut s = ready();
    s.handle_join(10.0, room("dev")).unwrap();
    s.handle_join(11.0, room("ops")).unwrap();
    drain(&mut s);
    assert!(s.handle_leave(20.0, &room("dev")));
    let out = drain(&mut s);
    assert!(shown(&out).is_empty() && opened(&out).is_empty());
    assert_eq!(saved(&out), [vec!["ops".to_owned()]]);
    assert_eq!(s.rooms().open(), &room("ops"));
}

#[test]
fn a_room_left_before_it_could_ask_never_asks() {
    let mut s = fresh();
    s.handle_join(10.0, room("dev")).unwrap();
    s.handle_leave(20.0, &room("dev"));
    s.handle_restored(Vec::new());
    s.handle_connected(30.0, "tab-1", "made-up", 0.5);
    assert!(asks(&drain(&mut s)).is_empty());
}

#[test]
fn another_tabs_rooms_are_followed_without_being_written_back_or_shown() {
    let mut s = ready();
    s.handle_saved_rooms(10.0, vec![room("a"), room("b")]);
    let out = drain(&mut s);
    let mut expected = room_filters(&room("a")).to_vec();
    expected.extend(room_filters(&room("b")));
    assert_eq!(wants(&out), expected);
    assert!(saved(&out).is_empty(), "the list came from storage");
    assert!(shown(&out).is_empty());
    assert_eq!(asks(&out), [room("a"), room("b")]);
    assert_eq!(s.rooms().open(), &default());

    s.handle_show(20.0, room("a"));
    drain(&mut s);
    s.handle_saved_rooms(30.0, vec![room("b")]);
    let out = drain(&mut s);
    assert_eq!(left(&out), [room("a")]);
    assert_eq!(shown(&out), [(room("a"), default())]);
    assert!(saved(&out).is_empty());
    assert_eq!(s.rooms().joined(), &[default(), room("b")]);
}

#[test]
fn a_room_from_the_link_is_remembered_and_asks_once_ready_a_remembered_one_does_not() {
    let mut s = Session::new(MqttVersion::V311, false);
    let rooms = Rooms::new(vec![room("old")], Some(room("new")));
    s.handle_rooms_restored(0.0, rooms, &[room("old")]);
    let out = drain(&mut s);
    assert_eq!(saved(&out), [vec!["old".to_owned(), "new".to_owned()]]);
    assert!(wants(&out).is_empty(), "the driver's first subscriptions");
    assert!(asks(&out).is_empty());
    s.handle_restored(Vec::new());
    s.handle_connected(10.0, "tab-1", "made-up", 0.5);
    assert_eq!(asks(&drain(&mut s)), [room("new")]);
    assert_eq!(s.rooms().open(), &room("new"));
}

#[test]
fn joining_past_the_bound_is_refused_and_nothing_is_sent_or_kept() {
    let mut s = ready();
    for i in 1..MAX_ROOMS {
        s.handle_join(f64::from(i as u32), room(&format!("r{i}")))
            .unwrap();
    }
    drain(&mut s);
    assert_eq!(
        s.handle_join(100.0, room("one-more")),
        Err(JoinError::TooMany)
    );
    let out = drain(&mut s);
    assert!(out.transmits.is_empty() && out.stores.is_empty() && out.views.is_empty());
    assert_eq!(s.rooms().joined().len(), MAX_ROOMS);
}

#[test]
fn a_row_in_a_room_not_shown_is_unread_the_open_one_only_while_hidden_and_looking_reads_it() {
    let mut s = ready();
    s.handle_saved_rooms(0.0, vec![room("dev")]);
    drain(&mut s);
    s.handle_shown(10.0, &room("dev"), theirs(Some(("Bo", "hi"))));
    let out = drain(&mut s);
    assert!(out.views.contains(&ViewChange::Rooms));
    assert_eq!(s.rooms().unread(&room("dev")), 1);
    s.handle_timeout(1_500.0);
    assert!(
        !drain(&mut s)
            .views
            .iter()
            .any(|v| matches!(v, ViewChange::Announce(_))),
        "not announced: not the open room"
    );

    s.handle_shown(2_000.0, &default(), theirs(Some(("Bo", "here"))));
    assert_eq!(s.rooms().unread(&default()), 0, "looked at");
    assert!(!drain(&mut s).views.contains(&ViewChange::Rooms));
    s.handle_timeout(3_000.0);
    assert!(drain(&mut s)
        .views
        .contains(&ViewChange::Announce("Bo: here".into())));

    s.handle_visible(false);
    s.handle_shown(30.0, &default(), theirs(None));
    assert_eq!(s.rooms().unread(&default()), 1, "hidden: unread");
    assert_eq!(s.rooms().title(true), "(2) MQTT chat");
    drain(&mut s);
    s.handle_visible(true);
    assert!(drain(&mut s).views.contains(&ViewChange::Rooms));
    assert_eq!(s.rooms().unread(&default()), 0);
    s.handle_show(40.0, room("dev"));
    assert_eq!(s.rooms().total_unread(), 0);
}

#[test]
fn typing_and_catch_up_for_a_room_not_joined_are_ignored() {
    let mut s = ready();
    let typing = br#"{"person":"bo","name":"Bo","expires_in":5000}"#;
    s.handle_typing(10.0, room("elsewhere"), typing);
    let request = br#"{"type":"request","id":"r1","since":null,"limit":100}"#;
    s.handle_catch_up(10.0, room("elsewhere"), request, 0.0);
    let out = drain(&mut s);
    assert!(out.transmits.is_empty() && out.stores.is_empty() && out.views.is_empty());
    s.handle_join(20.0, room("elsewhere")).unwrap();
    assert_eq!(
        s.typing_text(),
        "",
        "nobody was typing there as far as we know"
    );
    s.handle_show(20.0, default());
    // The same in a joined room is taken: answered once its delay is over.
    s.handle_catch_up(10.0, default(), request, 0.0);
    s.handle_timeout(10_000.0);
    let answers: Vec<RoomName> = drain(&mut s)
        .stores
        .into_iter()
        .filter_map(|op| match op {
            StoreOp::ReadForAnswer(due) => Some(due.room),
            _ => None,
        })
        .collect();
    assert_eq!(answers, [default()]);
}

#[test]
fn every_message_shown_is_kept_whoever_sent_it_and_only_others_count_as_unread() {
    let mut s = ready();
    s.handle_saved_rooms(0.0, vec![room("dev")]);
    drain(&mut s);
    let payload = br#"{"name":"Ann","message":"mine","id":"m1"}"#;
    let mine = Shown {
        topic: "messages/dev/from/ann",
        payload,
        id: Some("m1"),
        at: 42.0,
        own: true,
        words: Some(("Ann", "mine")),
    };
    s.handle_shown(50.0, &room("dev"), mine);
    let out = drain(&mut s);
    assert_eq!(
        out.stores,
        [StoreOp::History {
            topic: "messages/dev/from/ann".into(),
            payload: payload.to_vec(),
            id: Some("m1".into()),
            at: 42.0,
            refusal: None,
        }]
    );
    assert_eq!(s.rooms().unread(&room("dev")), 0, "our own is not unread");
    s.handle_shown(60.0, &room("dev"), theirs(None));
    let out = drain(&mut s);
    assert!(
        matches!(&out.stores[..], [StoreOp::History { id: None, at, refusal: None, .. }] if *at == 5.0),
        "{:?}",
        out.stores
    );
    assert_eq!(s.rooms().unread(&room("dev")), 1);
}

fn notified(out: &Out) -> Vec<(String, String, bool)> {
    out.views
        .iter()
        .filter_map(|v| match v {
            ViewChange::Notify {
                room,
                text,
                mention,
                ..
            } => Some((room.to_string(), text.clone(), *mention)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_hidden_tab_notifies_of_mentions_and_of_every_message_where_a_room_says_so() {
    use chat::{Level, NotifySettings};
    let mut s = ready();
    s.handle_saved_rooms(0.0, vec![room("dev")]);
    s.set_name("Ann");
    drain(&mut s);
    let naming = theirs(Some(("Bo", "hey @ann, look")));
    let plain = theirs(Some(("Bo", "just chatting")));

    // Off until the user turns it on: nothing, but the mention is counted in the title.
    s.handle_visible(false);
    s.handle_shown(10.0, &default(), naming);
    assert!(notified(&drain(&mut s)).is_empty());
    assert_eq!(s.rooms().mentions(&default()), 1);
    assert!(
        s.rooms().title(true).contains("@1"),
        "{}",
        s.rooms().title(true)
    );

    let mut settings = NotifySettings::default();
    settings.set(&room("dev"), Level::All);
    s.handle_notify_settings(settings);
    s.handle_shown(20.0, &default(), naming);
    s.handle_shown(21.0, &default(), plain);
    s.handle_shown(22.0, &room("dev"), plain);
    // A catch-up row (no words) never notifies.
    s.handle_shown(23.0, &room("dev"), theirs(None));
    assert_eq!(
        notified(&drain(&mut s)),
        [
            ("messages".to_owned(), "hey @ann, look".to_owned(), true),
            ("dev".to_owned(), "just chatting".to_owned(), false),
        ]
    );
    // A flood is one notification per room per NOTIFY_GAP_MS.
    for i in 0..100 {
        s.handle_shown(100.0 + f64::from(i), &room("dev"), plain);
    }
    assert!(notified(&drain(&mut s)).is_empty(), "dev notified at 22");
    s.handle_shown(22.0 + NOTIFY_GAP_MS, &room("dev"), plain);
    assert_eq!(notified(&drain(&mut s)).len(), 1);
    // Looked at: nothing notifies, even a mention.
    s.handle_visible(true);
    s.handle_shown(99_999.0, &room("dev"), naming);
    assert!(notified(&drain(&mut s)).is_empty());
}
