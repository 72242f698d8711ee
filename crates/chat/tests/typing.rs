//! Typing on a virtual clock: decoding bounds, the sender's throttle (a property), expiry on
//! the receiver, own typing, message arrival, the line's texts, and a flood.

use chat::typing::{
    decode_typing, BadTyping, Typing, TypingSender, TypingSignal, MAX_TYPERS, MAX_TYPING_BYTES,
    THROTTLE_MS, TYPING_EXPIRY_MS,
};
use proptest::prelude::*;

const T0: f64 = 1_750_000_000_000.0;

fn sig(person: &str, name: &str, expires_in: f64) -> TypingSignal {
    TypingSignal {
        person: person.into(),
        name: name.into(),
        expires_in,
    }
}

// ---- decoding ----

#[test]
fn round_trip() {
    let s = sig("p1", "Ann", 5_000.0);
    assert_eq!(decode_typing(&s.to_json()), Ok(s));
}

#[test]
fn expires_in_is_clamped() {
    let read = |e: &str| {
        decode_typing(format!(r#"{{"person":"p","name":"A","expires_in":{e}}}"#).as_bytes())
            .map(|s| s.expires_in)
    };
    assert_eq!(read("-5"), Ok(0.0));
    assert_eq!(read("0"), Ok(0.0));
    assert_eq!(read("1234.5"), Ok(1234.5));
    assert_eq!(read("5000"), Ok(5000.0));
    assert_eq!(read("99999999"), Ok(5000.0));
    assert_eq!(read("1e999"), Err(BadTyping::NotJson));
    assert_eq!(read("\"5000\""), Err(BadTyping::ExpiresIn));
    assert_eq!(read("null"), Err(BadTyping::ExpiresIn));
    // NaN is written as null, and refused.
    assert_eq!(
        decode_typing(&sig("p", "A", f64::NAN).to_json()),
        Err(BadTyping::ExpiresIn)
    );
}

#[test]
fn names_are_text_cut_to_64_chars() {
    let s = decode_typing(
        br#"{"person":"p","name":"<script>alert(1)</script>","expires_in":5000,"x":[1]}"#,
    )
    .unwrap();
    assert_eq!(s.name, "<script>alert(1)</script>");
    let long = "ß".repeat(300);
    let s =
        decode_typing(format!(r#"{{"person":"p","name":"{long}","expires_in":5000}}"#).as_bytes())
            .unwrap();
    assert_eq!(s.name, "ß".repeat(64));
    let s = decode_typing(br#"{"person":"p","expires_in":5000}"#).unwrap();
    assert_eq!(s.name, "anonymous");
}

#[test]
fn too_large_and_malformed_are_refused() {
    let long = "x".repeat(10_000);
    let payload = format!(r#"{{"person":"p","name":"{long}","expires_in":5000}}"#);
    assert_eq!(
        decode_typing(payload.as_bytes()),
        Err(BadTyping::TooLarge {
            bytes: payload.len(),
            limit: MAX_TYPING_BYTES
        })
    );
    let cases: &[(&[u8], BadTyping)] = &[
        (b"", BadTyping::NotJson),
        (b"\xc3\x28", BadTyping::NotJson),
        (b"typing", BadTyping::NotJson),
        (b"[1,2]", BadTyping::NotObject),
        (b"5000", BadTyping::NotObject),
        (b"true", BadTyping::NotObject),
        (br#"{"name":"A","expires_in":5000}"#, BadTyping::Person),
        (br#"{"person":"","expires_in":5000}"#, BadTyping::Person),
        (br#"{"person":7,"expires_in":5000}"#, BadTyping::Person),
        (
            br#"{"person":"p","name":{},"expires_in":5000}"#,
            BadTyping::Name,
        ),
        (br#"{"person":"p","name":"A"}"#, BadTyping::ExpiresIn),
        (
            br#"{"person":"p","expires_in":[5000]}"#,
            BadTyping::ExpiresIn,
        ),
    ];
    for (payload, want) in cases {
        assert_eq!(
            decode_typing(payload).as_ref(),
            Err(want),
            "{}",
            String::from_utf8_lossy(payload)
        );
    }
    for e in [
        BadTyping::NotJson,
        BadTyping::NotObject,
        BadTyping::Person,
        BadTyping::Name,
        BadTyping::ExpiresIn,
        BadTyping::TooLarge {
            bytes: 2000,
            limit: 1024,
        },
    ] {
        let text = e.to_string();
        assert!(
            text.starts_with("Typing signal") && text.ends_with('.'),
            "{text}"
        );
    }
}

// ---- the sender ----

#[test]
fn first_keystroke_publishes_at_once() {
    let mut s = TypingSender::new();
    assert_eq!(s.keystroke(T0), Some(TYPING_EXPIRY_MS));
    assert_eq!(s.poll_timeout(), None, "nothing pending");
}

#[test]
fn keystrokes_in_the_window_wait_for_one_trailing_publish() {
    let mut s = TypingSender::new();
    assert!(s.keystroke(T0).is_some());
    assert_eq!(s.keystroke(T0 + 300.0), None);
    assert_eq!(s.keystroke(T0 + 1_500.0), None);
    assert_eq!(s.poll_timeout(), Some(T0 + THROTTLE_MS));
    assert_eq!(s.handle_timeout(T0 + 1_999.0), None, "too early");
    // Trailing: 5000 minus the 500 ms since the last keystroke.
    assert_eq!(s.handle_timeout(T0 + 2_000.0), Some(4_500.0));
    assert_eq!(s.poll_timeout(), None);
    // That publish started a new window.
    assert_eq!(s.keystroke(T0 + 3_000.0), None);
    assert_eq!(s.poll_timeout(), Some(T0 + 4_000.0));
    assert_eq!(s.handle_timeout(T0 + 4_000.0), Some(4_000.0));
    // Idle past the window: the next keystroke publishes at once.
    assert_eq!(s.keystroke(T0 + 6_000.0), Some(TYPING_EXPIRY_MS));
}

#[test]
fn a_late_timeout_sends_what_is_left_or_nothing() {
    let mut s = TypingSender::new();
    s.keystroke(T0);
    s.keystroke(T0 + 100.0);
    // The app woke up late (a background tab): only 100 ms of expiry left.
    assert_eq!(s.handle_timeout(T0 + 5_000.0), Some(100.0));
    let mut s = TypingSender::new();
    s.keystroke(T0);
    s.keystroke(T0 + 100.0);
    assert_eq!(
        s.handle_timeout(T0 + 5_100.0),
        None,
        "expired: nothing to say"
    );
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn sent_forgets_pending_keystrokes() {
    let mut s = TypingSender::new();
    s.keystroke(T0);
    s.keystroke(T0 + 500.0);
    s.sent();
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.handle_timeout(T0 + 2_000.0), None);
    // Still throttled: the window of the last publish holds.
    assert_eq!(s.keystroke(T0 + 1_000.0), None);
    assert_eq!(s.handle_timeout(T0 + 2_000.0), Some(4_000.0));
}

proptest! {
    /// Whatever the keystroke times, messages sent and however late the app handles its
    /// timeouts: no two publishes within 2 s, every expiry within (0, 5000], and unless the
    /// last keystroke ended in a sent message, receivers are told to show typing until 5 s
    /// after the last keystroke.
    #[test]
    fn never_two_publishes_within_the_throttle(
        gaps in prop::collection::vec(0.0f64..4_000.0, 1..200),
        sends in prop::collection::vec(prop::bool::weighted(0.1), 200),
        lateness in 0.0f64..300.0,
    ) {
        let mut s = TypingSender::new();
        let mut publishes: Vec<(f64, f64)> = Vec::new();
        let mut now = T0;
        let mut last_sent = false;
        for (gap, send) in gaps.iter().zip(&sends) {
            let next = now + gap;
            // The timeout fires (late by `lateness`) if that is before the next keystroke.
            if let Some(t) = s.poll_timeout() {
                let at = t + lateness;
                if at <= next {
                    if let Some(e) = s.handle_timeout(at) {
                        publishes.push((at, e));
                    }
                }
            }
            now = next;
            if let Some(e) = s.keystroke(now) {
                publishes.push((now, e));
            }
            if *send {
                s.sent();
            }
            last_sent = *send;
        }
        if let Some(t) = s.poll_timeout() {
            let at = t + lateness;
            if let Some(e) = s.handle_timeout(at) {
                publishes.push((at, e));
            }
        }
        prop_assert_eq!(s.poll_timeout(), None);
        for w in publishes.windows(2) {
            prop_assert!(w[1].0 - w[0].0 >= THROTTLE_MS, "{:?}", w);
        }
        for (_, e) in &publishes {
            prop_assert!(*e > 0.0 && *e <= TYPING_EXPIRY_MS);
        }
        let (at, e) = *publishes.last().unwrap();
        if !last_sent {
            prop_assert!((at + e - (now + TYPING_EXPIRY_MS)).abs() < 1e-6, "{} {}", at, e);
        }
    }
}

// ---- the receiver ----

#[test]
fn shown_within_expiry_then_gone_5s_after_the_last_keystroke() {
    // Sender types at T0, T0+500 and T0+1500; the network adds 80 ms.
    let net = 80.0;
    let mut tx = TypingSender::new();
    let mut rx = Typing::new();
    let deliver = |rx: &mut Typing, at: f64, e: f64| {
        rx.signal(sig("ann", "Ann", e), "me", at + net);
    };
    let e = tx.keystroke(T0).unwrap();
    deliver(&mut rx, T0, e);
    assert_eq!(rx.text(T0 + net), "Ann is typing…");
    assert!(tx.keystroke(T0 + 500.0).is_none());
    assert!(tx.keystroke(T0 + 1_500.0).is_none());
    let at = tx.poll_timeout().unwrap();
    let e = tx.handle_timeout(at).unwrap();
    deliver(&mut rx, at, e);
    let gone = T0 + 1_500.0 + TYPING_EXPIRY_MS + net;
    assert_eq!(rx.poll_timeout(), Some(gone));
    assert_eq!(rx.text(gone - 1.0), "Ann is typing…");
    assert_eq!(rx.text(gone), "");
    assert!(!rx.expire(gone - 1.0));
    assert!(rx.expire(gone));
    assert!(rx.is_empty());
    assert_eq!(rx.poll_timeout(), None);
}

#[test]
fn zero_expiry_hides_at_once() {
    let mut rx = Typing::new();
    rx.signal(sig("ann", "Ann", 5_000.0), "me", T0);
    rx.signal(sig("ann", "Ann", 0.0), "me", T0 + 10.0);
    assert_eq!(rx.text(T0 + 10.0), "");
    assert!(rx.is_empty());
}

#[test]
fn own_typing_is_ignored() {
    let mut rx = Typing::new();
    rx.signal(sig("me", "Me", 5_000.0), "me", T0);
    assert_eq!(rx.text(T0), "");
    assert!(rx.is_empty());
}

#[test]
fn message_arrival_hides_by_person_else_by_name() {
    let mut rx = Typing::new();
    rx.signal(sig("ann", "Ann", 5_000.0), "me", T0);
    rx.signal(sig("bo", "Bo", 5_000.0), "me", T0);
    rx.signal(sig("cy", "Cy", 5_000.0), "me", T0);
    rx.message_from(Some("ann"), "Someone else");
    assert_eq!(rx.text(T0), "Bo and Cy are typing…");
    rx.message_from(Some("nobody"), "Bo");
    assert_eq!(
        rx.text(T0),
        "Bo and Cy are typing…",
        "an id given: names not matched"
    );
    rx.message_from(None, "  Bo ");
    assert_eq!(rx.text(T0), "Cy is typing…");
    rx.message_from(None, "cy");
    assert_eq!(rx.text(T0), "Cy is typing…", "names match exactly");
}

#[test]
fn texts_for_zero_to_three_people_in_order_of_first_typing() {
    let mut rx = Typing::new();
    assert_eq!(rx.text(T0), "");
    rx.signal(sig("bo", "Bo", 5_000.0), "me", T0);
    assert_eq!(rx.text(T0), "Bo is typing…");
    rx.signal(sig("ann", "Ann", 5_000.0), "me", T0 + 1.0);
    // Bo typing again keeps his place.
    rx.signal(sig("bo", "Bo", 5_000.0), "me", T0 + 2.0);
    assert_eq!(rx.text(T0 + 2.0), "Bo and Ann are typing…");
    rx.signal(sig("cy", "<i>Cy</i>", 5_000.0), "me", T0 + 3.0);
    assert_eq!(rx.text(T0 + 3.0), "3 people are typing…");
    // Bo's expires first (T0+1+5000 for Ann, T0+2+5000 for Bo): Ann goes first.
    assert_eq!(rx.text(T0 + 5_001.0), "Bo and <i>Cy</i> are typing…");
    assert!(rx.text(T0).ends_with('\u{2026}'));
}

#[test]
fn long_names_are_cut_with_an_ellipsis() {
    let mut rx = Typing::new();
    let long = "N".repeat(64);
    rx.signal(sig("n", &long, 5_000.0), "me", T0);
    let text = rx.text(T0);
    let name = text.strip_suffix(" is typing…").unwrap();
    assert_eq!(name.chars().count(), 40);
    assert_eq!(name, format!("{}…", "N".repeat(39)));
    let exact = "M".repeat(40);
    let mut rx = Typing::new();
    rx.signal(sig("m", &exact, 5_000.0), "me", T0);
    assert_eq!(rx.text(T0), format!("{exact} is typing…"));
}

#[test]
fn flood_of_10000_typers_is_bounded() {
    let mut rx = Typing::new();
    for i in 0..10_000u32 {
        let now = T0 + f64::from(i) * 0.1;
        rx.signal(sig(&format!("p{i}"), "<b>x</b>", 5_000.0), "me", now);
        assert!(rx.len() <= MAX_TYPERS);
    }
    assert_eq!(rx.len(), MAX_TYPERS);
    assert_eq!(rx.text(T0 + 1_000.0), "100 people are typing…");
    // The ones kept are the latest (expiring last).
    rx.message_from(Some("p9999"), "");
    assert_eq!(rx.len(), MAX_TYPERS - 1);
}

#[test]
fn when_full_the_one_expiring_soonest_is_dropped() {
    let mut rx = Typing::new();
    for i in 0..MAX_TYPERS {
        let e = if i == 7 { 1_000.0 } else { 5_000.0 };
        rx.signal(sig(&format!("p{i}"), "x", e), "me", T0);
    }
    // A newcomer expiring sooner than everyone is not kept.
    rx.signal(sig("short", "x", 500.0), "me", T0);
    assert_eq!(rx.poll_timeout(), Some(T0 + 1_000.0));
    rx.signal(sig("new", "x", 5_000.0), "me", T0);
    assert_eq!(rx.len(), MAX_TYPERS);
    assert_eq!(rx.poll_timeout(), Some(T0 + 5_000.0), "p7 was dropped");
}
