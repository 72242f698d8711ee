//! The authorship check on a virtual clock: a row or person is verified only when an MQTT 5
//! broker refuses a made-up author as not authorized. Every other outcome, a drop at any
//! step, a timeout, a reconnect, a late echo, MQTT 3.1.1, leaves nothing verified.

use chat::authorship::{Unknown, NOT_AUTHORIZED, PROBE_TIMEOUT_MS};
use chat::{AuthorshipCheck, MqttVersion, Verdict};

const TAB: &str = "tab1";

fn v5() -> AuthorshipCheck {
    AuthorshipCheck::new(MqttVersion::V5, true)
}

/// Connects at `now` and sends the probe as `pkid`; returns its topic.
fn probe(check: &mut AuthorshipCheck, now: f64, pkid: u16) -> String {
    let topic = check
        .handle_connected(now, TAB, "abc123")
        .expect("a signed-in MQTT 5 tab probes");
    check.handle_probe_sent(pkid);
    topic
}

#[test]
fn a_not_authorized_puback_is_the_one_proof() {
    let mut check = v5();
    assert!(!check.vouched(), "nothing verified before the check");
    let topic = probe(&mut check, 0.0, 7);
    assert_eq!(topic, "chat/presence/tab1/from/probe-abc123");
    assert_eq!(check.verdict(), &Verdict::Checking);
    assert!(!check.vouched(), "nothing verified while the probe is out");
    assert!(check.handle_puback(7, Some(NOT_AUTHORIZED)));
    assert_eq!(check.verdict(), &Verdict::Pinned);
    assert!(check.vouched());
    assert_eq!(check.poll_timeout(), None, "nothing left to wait for");
}

#[test]
fn an_accepting_puback_means_anyone_may_write_any_author() {
    let mut check = v5();
    probe(&mut check, 0.0, 7);
    assert!(check.handle_puback(7, None));
    assert_eq!(check.verdict(), &Verdict::Open);
    assert!(!check.vouched());
}

#[test]
fn a_puback_before_a_late_echo_stays_open_and_the_echo_is_not_read_as_a_proof() {
    let mut check = v5();
    let topic = probe(&mut check, 0.0, 7);
    assert!(check.handle_puback(7, None));
    // The echo 5 s later, as a cluster under load may deliver it.
    assert!(!check.handle_message(&topic), "the check is over");
    assert_eq!(check.handle_timeout(5_000.0), None);
    assert_eq!(check.verdict(), &Verdict::Open);
    assert!(!check.vouched());
}

#[test]
fn the_probe_coming_back_before_its_puback_means_open() {
    let mut check = v5();
    let topic = probe(&mut check, 0.0, 7);
    assert!(check.handle_message(&topic));
    assert_eq!(check.verdict(), &Verdict::Open);
    assert!(
        !check.handle_puback(7, Some(NOT_AUTHORIZED)),
        "already answered"
    );
    assert!(!check.vouched());
}

#[test]
fn a_refusal_for_another_reason_proves_nothing() {
    for code in [0x80, 0x83, 0x90, 0x97, 0x99] {
        let mut check = v5();
        probe(&mut check, 0.0, 1);
        assert!(check.handle_puback(1, Some(code)));
        assert_eq!(check.verdict(), &Verdict::NotKnown(Unknown::Refused(code)));
        assert!(!check.vouched(), "code {code:#x}");
    }
}

#[test]
fn a_drop_at_each_step_leaves_it_not_known_and_nothing_verified() {
    // Before the probe was handed to the client.
    let mut check = v5();
    check.handle_connected(0.0, TAB, "x").unwrap();
    assert_eq!(check.handle_link_lost(), None, "no packet to abandon yet");
    assert_eq!(check.verdict(), &Verdict::NotKnown(Unknown::LinkLost));
    assert!(!check.vouched());

    // After it went out, before its PUBACK (the blip of the issue): the packet is abandoned
    // so it never goes out again on the next link.
    let mut check = v5();
    probe(&mut check, 0.0, 9);
    assert_eq!(check.handle_link_lost(), Some(9));
    assert_eq!(check.verdict(), &Verdict::NotKnown(Unknown::LinkLost));
    assert!(!check.vouched());
    // A refusal that would have come on that link, read now, is not taken.
    assert!(!check.handle_puback(9, Some(NOT_AUTHORIZED)));
    assert!(!check.vouched());

    // After the answer: the answer stands until the next connect checks again.
    let mut check = v5();
    probe(&mut check, 0.0, 9);
    check.handle_puback(9, Some(NOT_AUTHORIZED));
    assert_eq!(check.handle_link_lost(), None);
    assert_eq!(check.verdict(), &Verdict::Pinned);
}

#[test]
fn a_reconnect_in_the_middle_checks_again_from_scratch() {
    let mut check = v5();
    probe(&mut check, 0.0, 3);
    assert_eq!(check.handle_link_lost(), Some(3));
    // The next link: a new probe, a new made-up author. The old packet id's answer (were a
    // broker to send it) is not this probe's until the client hands out a packet id.
    let topic = check.handle_connected(1_000.0, TAB, "def456").unwrap();
    assert_eq!(topic, "chat/presence/tab1/from/probe-def456");
    assert_eq!(check.verdict(), &Verdict::Checking);
    assert!(
        !check.handle_puback(3, Some(NOT_AUTHORIZED)),
        "not sent yet"
    );
    check.handle_probe_sent(4);
    assert!(
        !check.handle_puback(3, Some(NOT_AUTHORIZED)),
        "an old packet id"
    );
    assert!(!check.vouched());
    assert!(check.handle_puback(4, Some(NOT_AUTHORIZED)));
    assert!(check.vouched());
}

#[test]
fn a_verified_answer_is_not_carried_into_the_next_connection() {
    let mut check = v5();
    probe(&mut check, 0.0, 1);
    check.handle_puback(1, Some(NOT_AUTHORIZED));
    assert!(check.vouched());
    // The next link may be another broker of a list, or one whose ACL changed.
    check.handle_connected(60_000.0, TAB, "again").unwrap();
    assert!(!check.vouched(), "unverified until this link's own answer");
    check.handle_probe_sent(2);
    check.handle_puback(2, None);
    assert_eq!(check.verdict(), &Verdict::Open);
}

#[test]
fn no_answer_within_the_timeout_is_not_known() {
    let mut check = v5();
    probe(&mut check, 1_000.0, 5);
    assert_eq!(check.poll_timeout(), Some(1_000.0 + PROBE_TIMEOUT_MS));
    assert_eq!(check.handle_timeout(1_000.0 + PROBE_TIMEOUT_MS - 1.0), None);
    assert_eq!(check.verdict(), &Verdict::Checking);
    assert_eq!(check.handle_timeout(1_000.0 + PROBE_TIMEOUT_MS), Some(5));
    assert_eq!(check.verdict(), &Verdict::NotKnown(Unknown::TimedOut));
    assert_eq!(check.poll_timeout(), None);
    // A refusal after the timeout is not taken either.
    assert!(!check.handle_puback(5, Some(NOT_AUTHORIZED)));
    assert!(!check.vouched());
}

#[test]
fn a_probe_that_could_not_be_sent_is_not_known() {
    let mut check = v5();
    check.handle_connected(0.0, TAB, "x").unwrap();
    check.handle_probe_not_sent();
    assert_eq!(check.verdict(), &Verdict::NotKnown(Unknown::NotSent));
    assert!(!check.vouched());
}

#[test]
fn mqtt_3_1_1_sends_no_probe_and_verifies_nothing() {
    let mut check = AuthorshipCheck::new(MqttVersion::V311, true);
    assert_eq!(check.verdict(), &Verdict::NeedsMqtt5);
    assert_eq!(check.handle_connected(0.0, TAB, "x"), None);
    assert_eq!(check.verdict(), &Verdict::NeedsMqtt5);
    // Whatever the link says: a PUBACK, a message on any topic, a drop, time passing.
    assert!(!check.handle_puback(1, None));
    assert!(!check.handle_puback(1, Some(NOT_AUTHORIZED)));
    assert!(!check.handle_message("chat/presence/tab1/from/probe-x"));
    assert_eq!(check.handle_link_lost(), None);
    assert_eq!(check.handle_timeout(1e12), None);
    assert!(!check.vouched());
    assert!(check.verdict().words().contains("needs MQTT 5"));
}

#[test]
fn an_anonymous_tab_sends_no_probe_and_verifies_nothing() {
    for version in [MqttVersion::V311, MqttVersion::V5] {
        let mut check = AuthorshipCheck::new(version, false);
        assert_eq!(check.handle_connected(0.0, TAB, "x"), None);
        assert_eq!(check.verdict(), &Verdict::Anonymous);
        assert!(!check.vouched());
    }
}

#[test]
fn only_a_pinned_verdict_vouches() {
    let all = [
        Verdict::Anonymous,
        Verdict::NeedsMqtt5,
        Verdict::Checking,
        Verdict::NotKnown(Unknown::LinkLost),
        Verdict::NotKnown(Unknown::TimedOut),
        Verdict::NotKnown(Unknown::NotSent),
        Verdict::NotKnown(Unknown::Refused(0x80)),
        Verdict::Open,
    ];
    for v in all {
        assert!(!v.vouched(), "{v:?}");
        assert!(!v.words().contains("Authors: verified"), "{v:?}");
    }
    assert!(Verdict::Pinned.vouched());
}
