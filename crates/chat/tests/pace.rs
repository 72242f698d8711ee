//! The pacing policies on a virtual clock: renders at most once a frame, announcements of
//! a burst as one line, one timer per policy.

use chat::pace::{Announcer, Render, RenderThrottle, Wake, FRAME_MS};

#[test]
fn a_lone_change_renders_at_once() {
    let mut t = RenderThrottle::default();
    assert_eq!(t.request(1000.0), Render::Now);
    assert_eq!(
        t.request(1000.0 + FRAME_MS),
        Render::Now,
        "a frame later: at once again"
    );
}

#[test]
fn a_burst_within_a_frame_renders_once_at_its_end() {
    let mut t = RenderThrottle::default();
    assert_eq!(t.request(1000.0), Render::Now);
    assert_eq!(t.request(1004.0), Render::After(12));
    for now in [1005.0, 1010.0, 1015.0] {
        assert_eq!(t.request(now), Render::AlreadyScheduled);
    }
    t.rendered(1016.0);
    assert_eq!(
        t.request(1020.0),
        Render::After(12),
        "the next frame's burst waits again"
    );
}

#[test]
fn a_lone_message_is_read_as_it_is_and_a_burst_as_one_summary() {
    let mut a = Announcer::default();
    assert!(a.add("Ann", "hello"), "the first schedules a flush");
    assert_eq!(a.flush().as_deref(), Some("Ann: hello"));
    assert_eq!(a.flush(), None, "nothing twice");
    assert!(a.add("Ann", "1"));
    assert!(!a.add("Bob", "2"), "one flush for the burst");
    assert!(!a.add("Cy", "3"));
    assert_eq!(
        a.flush().as_deref(),
        Some("3 new messages, the last from Cy")
    );
}

#[test]
fn a_long_message_is_read_cut_short() {
    let mut a = Announcer::default();
    a.add("Ann", &"é".repeat(500));
    let said = a.flush().unwrap();
    assert_eq!(said.chars().count(), "Ann: ".len() + 200);
}

#[test]
fn one_timer_serves_the_earliest_deadline() {
    let mut w = Wake::default();
    assert!(w.arm(5000.0));
    assert!(!w.arm(6000.0), "later: the timer set covers it");
    assert!(!w.arm(5000.0));
    assert!(w.arm(4000.0), "sooner: a new timer");
    w.fired();
    assert!(w.arm(6000.0), "after it ran, the next needs one");
}
