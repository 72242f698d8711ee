//! Typing in the session core, on a virtual clock: what this tab says (at most once per
//! 2 s, to the open room) and what it shows (the open room's typers, until their signals
//! expire or their message arrives).

use chat::session::{Transmit, ViewChange};
use chat::typing::{THROTTLE_MS, TYPING_EXPIRY_MS};
use chat::{MqttVersion, RoomName, Session, TypingSignal};

fn room(name: &str) -> RoomName {
    RoomName::parse(name).unwrap()
}

fn session() -> Session {
    let mut s = Session::new(MqttVersion::V311, false);
    s.set_person("me");
    // Joined in another tab: not shown here.
    s.handle_saved_rooms(0.0, vec![room("dev")]);
    s.handle_restored(Vec::new());
    drain_typing(&mut s);
    s
}

/// The typing publishes asked for: (topic, signal).
fn drain_typing(s: &mut Session) -> Vec<(String, TypingSignal)> {
    let mut out = Vec::new();
    while let Some(t) = s.poll_transmit() {
        if let Transmit::Typing {
            topic,
            payload,
            expires_in,
        } = t
        {
            let signal = chat::decode_typing(&payload).expect("a valid signal");
            assert_eq!(signal.expires_in, expires_in);
            out.push((topic, signal));
        }
    }
    while s.poll_store().is_some() {}
    while s.poll_view().is_some() {}
    out
}

fn signal(person: &str, name: &str, expires_in: f64) -> Vec<u8> {
    TypingSignal {
        person: person.into(),
        name: name.into(),
        expires_in,
    }
    .to_json()
}

#[test]
fn the_first_keystroke_says_typing_at_once_to_the_open_room_under_the_name() {
    let mut s = session();
    s.handle_keystroke(1000.0, "  Ann ");
    let said = drain_typing(&mut s);
    assert_eq!(said.len(), 1);
    assert_eq!(said[0].0, RoomName::default_room().typing_topic());
    assert_eq!(said[0].1.name, "Ann");
    assert_eq!(said[0].1.person, "me");
    assert_eq!(said[0].1.expires_in, TYPING_EXPIRY_MS);
    s.handle_keystroke(5000.0, "");
    assert_eq!(drain_typing(&mut s)[0].1.name, "Someone");
}

#[test]
fn keystrokes_within_two_seconds_are_said_once_by_a_trailing_publish() {
    let mut s = session();
    s.handle_keystroke(1000.0, "Ann");
    drain_typing(&mut s);
    s.handle_keystroke(1500.0, "Ann");
    s.handle_keystroke(2500.0, "Ann");
    assert!(drain_typing(&mut s).is_empty(), "never two within 2 s");
    let due = s.poll_timeout().expect("the trailing publish");
    assert_eq!(due, 1000.0 + THROTTLE_MS);
    s.handle_timeout(due);
    let said = drain_typing(&mut s);
    assert_eq!(said.len(), 1);
    // It holds 5 s from the last key, not from now.
    assert_eq!(said[0].1.expires_in, TYPING_EXPIRY_MS - (due - 2500.0));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn sending_the_message_cancels_the_trailing_publish() {
    let mut s = session();
    s.handle_keystroke(1000.0, "Ann");
    s.handle_keystroke(1500.0, "Ann");
    drain_typing(&mut s);
    let message = chat::ChatMessage {
        name: "Ann".into(),
        message: "hi".into(),
        id: Some("m1".into()),
        from: None,
        ts: Some(1600.0),
        ..Default::default()
    };
    s.handle_send(1600.0, "messages", message).unwrap();
    s.handle_timeout(3000.0);
    assert!(drain_typing(&mut s).is_empty());
}

#[test]
fn someone_typing_in_the_open_room_shows_until_their_signal_expires() {
    let mut s = session();
    let open = RoomName::default_room();
    s.handle_typing(1000.0, open.clone(), &signal("bob", "Bob", 5000.0));
    assert_eq!(s.typing_text(), "Bob is typing…");
    assert_eq!(s.poll_view(), Some(ViewChange::Typing));
    assert_eq!(s.poll_timeout(), Some(6000.0));
    s.handle_timeout(5999.0);
    assert_eq!(s.typing_text(), "Bob is typing…");
    while s.poll_view().is_some() {}
    s.handle_timeout(6000.0);
    assert_eq!(s.typing_text(), "");
    assert!(std::iter::from_fn(|| s.poll_view()).any(|v| v == ViewChange::Typing));
}

#[test]
fn own_signals_and_malformed_ones_are_never_shown() {
    let mut s = session();
    let open = RoomName::default_room();
    s.handle_typing(1000.0, open.clone(), &signal("me", "Me", 5000.0));
    s.handle_typing(1000.0, open.clone(), b"<b>not json</b>");
    s.handle_typing(1000.0, open, b"{\"person\":1}");
    assert_eq!(s.typing_text(), "");
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn a_message_from_someone_typing_hides_their_line() {
    let mut s = session();
    let open = RoomName::default_room();
    s.handle_typing(1000.0, open.clone(), &signal("bob", "Bob", 5000.0));
    s.handle_typing(1000.0, open.clone(), &signal("cy", "Cy", 5000.0));
    assert_eq!(s.typing_text(), "Bob and Cy are typing…");
    s.handle_chat_from(1200.0, &open, "Bob");
    assert_eq!(s.typing_text(), "Cy is typing…");
}

#[test]
fn another_room_open_shows_its_own_typers_and_is_told_afresh() {
    let mut s = session();
    let other = room("dev");
    s.handle_typing(1000.0, other.clone(), &signal("bob", "Bob", 5000.0));
    assert_eq!(s.typing_text(), "", "only the open room's typers show");
    s.handle_keystroke(1000.0, "Ann");
    drain_typing(&mut s);
    s.handle_show(1100.0, other.clone());
    assert_eq!(s.typing_text(), "Bob is typing…");
    // Within 2 s of the last publish, but to a new room: said at once, there.
    s.handle_keystroke(1200.0, "Ann");
    let said = drain_typing(&mut s);
    assert_eq!(said.len(), 1);
    assert_eq!(said[0].0, other.typing_topic());
    assert!(s.handle_leave(1300.0, &other));
    s.handle_join(1400.0, other.clone()).unwrap();
    assert_eq!(s.typing_text(), "", "a left room's typers are forgotten");
}
