//! Nothing lost: broker crashes and restarts, closed tabs, reloads while offline, and a
//! refused password, each with a Mosquitto of the test's own, in real tabs.

use std::time::{Duration, Instant, SystemTime};

use e2e::*;
use fantoccini::wd::WindowHandle;

const N: usize = 20;

fn expected(prefix: &str) -> Vec<String> {
    (1..=N).map(|i| format!("{prefix} {i:02}")).collect()
}

/// Send N messages from the current tab, each through the form.
async fn send_burst(c: &fantoccini::Client, prefix: &str) {
    for text in expected(prefix) {
        send(c, "Ada", &text).await;
    }
}

async fn wait_state(c: &fantoccini::Client, state: &str) {
    eventually(&format!("badge state {state}"), 20, || async {
        (badge(c).await.1 == state).then_some(())
    })
    .await;
}

/// All N rows with `prefix` shown, in order, exactly once (waits for them).
async fn assert_all_once_in_order(c: &fantoccini::Client, prefix: &str) {
    let want = expected(prefix);
    let got = eventually(&format!("{N} rows '{prefix} …'"), 40, || async {
        let got: Vec<String> = messages_with(c, prefix)
            .await
            .into_iter()
            .map(|r| r.message)
            .collect();
        (got.len() >= N).then_some(got)
    })
    .await;
    quiet_for(
        Duration::from_millis(500),
        "a late duplicate of a row already shown",
    )
    .await;
    let again: Vec<String> = messages_with(c, prefix)
        .await
        .into_iter()
        .map(|r| r.message)
        .collect();
    assert_eq!(got, want, "in order");
    assert_eq!(again, want, "exactly once");
}

async fn assert_all_delivered(c: &fantoccini::Client, prefix: &str) {
    wait_own_delivered(c, prefix, N, 40).await;
}

/// A browser with the app open on `broker` in tab A and tab B (current), both connected.
/// Returns the browser, the app's base URL, the two tabs and B's client id.
async fn two_tabs(broker: &Broker) -> (Browser, String, WindowHandle, WindowHandle, String) {
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    open_app(c, &base, &broker.ws_url(), "").await;
    let tab_a = c.window().await.unwrap();
    wait_connected(c).await;
    let tab_b = c.new_window(true).await.unwrap().handle;
    c.switch_to_window(tab_b.clone()).await.unwrap();
    open_app(c, &base, &broker.ws_url(), "").await;
    let id_b = wait_connected(c).await;
    (browser, base, tab_a, tab_b, id_b)
}

#[tokio::test]
async fn sigkill_during_a_chat_loses_nothing() {
    let mut broker = Broker::start(&[]);
    let (browser, _base, tab_a, tab_b, _) = two_tabs(&broker).await;
    let c = &browser.client;
    let b_ready = SystemTime::now();

    // B's session must be in the broker's last save for a crash to keep it. (Aedes keeps it
    // in Redis as it goes.)
    if !broker.is_aedes() {
        eventually("an autosave after B subscribed", 15, || async {
            broker.saved_at().filter(|t| *t > b_ready)
        })
        .await;
    }

    broker.kill();
    let killed = Instant::now();
    c.switch_to_window(tab_a.clone()).await.unwrap();
    wait_state(c, "reconnecting").await;
    send_burst(c, "outage").await;
    let queued = eventually(&format!("{N} own 'outage' rows"), 10, || async {
        let rows = messages_with(c, "outage").await;
        (rows.len() >= N).then_some(rows)
    })
    .await;
    // Count first: `all` over no rows would pass.
    assert_eq!(queued.len(), N, "written while offline: {queued:?}");
    assert!(
        queued
            .iter()
            .all(|r| r.own && r.delivery.as_deref() == Some("queued")),
        "written while offline: {queued:?}"
    );
    hold_for(
        Duration::from_secs(3).saturating_sub(killed.elapsed()),
        "an outage of 3 s at least: the tab retries against a closed port meanwhile",
    )
    .await;
    broker.restart();

    assert_all_delivered(c, "outage").await;
    c.switch_to_window(tab_b).await.unwrap();
    assert_all_once_in_order(c, "outage").await;
    browser.close().await;
}

#[tokio::test]
async fn a_clean_restart_with_a_closed_tab_delivers_what_it_missed() {
    let mut broker = Broker::start(&[]);
    let (browser, base, tab_a, _tab_b, id_b) = two_tabs(&broker).await;
    let c = &browser.client;

    broker.terminate();
    wait_state(c, "reconnecting").await;
    c.close_window().await.unwrap();
    c.switch_to_window(tab_a.clone()).await.unwrap();
    send_burst(c, "missed").await;
    eventually(&format!("{N} own 'missed' rows"), 10, || async {
        let rows = messages_with(c, "missed").await;
        (rows.len() == N && rows.iter().all(|r| r.own)).then_some(())
    })
    .await;
    hold_for(
        Duration::from_secs(3),
        "the broker stays down 3 s more: the tab retries against a closed port meanwhile",
    )
    .await;
    broker.restart();
    assert_all_delivered(c, "missed").await;

    // Opened again: the new tab takes the closed tab's id, and its session has the backlog.
    let reopened = c.new_window(true).await.unwrap().handle;
    c.switch_to_window(reopened).await.unwrap();
    open_app(c, &base, &broker.ws_url(), "").await;
    let id = wait_connected(c).await;
    assert_eq!(
        id, id_b,
        "the reopened tab resumes the closed tab's session"
    );
    assert_all_once_in_order(c, "missed").await;
    browser.close().await;
}

#[tokio::test]
async fn a_reload_while_offline_keeps_the_outbox_and_delivers_it() {
    let mut broker = Broker::start(&[]);
    let (browser, _base, tab_a, tab_b, _) = two_tabs(&broker).await;
    let c = &browser.client;

    broker.terminate();
    c.switch_to_window(tab_a.clone()).await.unwrap();
    wait_state(c, "reconnecting").await;
    send_burst(c, "kept").await;
    c.refresh().await.unwrap();
    // Still offline after the reload, and everything is still there, still queued.
    let shown = eventually("the outbox after reload", 10, || async {
        let rows = messages_with(c, "kept").await;
        (rows.len() == N).then_some(rows)
    })
    .await;
    assert_eq!(shown.len(), N);
    assert!(shown
        .iter()
        .all(|r| r.own && r.delivery.as_deref() == Some("queued")));
    assert_ne!(badge(c).await.1, "connected");

    broker.restart();
    assert_all_delivered(c, "kept").await;
    eventually(
        "the delivered messages gone from the stored outbox",
        10,
        || async { (outbox_records(c).await == 0).then_some(()) },
    )
    .await;
    c.switch_to_window(tab_b).await.unwrap();
    assert_all_once_in_order(c, "kept").await;
    browser.close().await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_in_words_and_not_retried() {
    let dir = std::env::temp_dir().join(format!("mqtt-chat-passwd-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let passwd = dir.join("passwd");
    let ok = std::process::Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&passwd)
        .args(["alice", "correct horse"])
        .status()
        .expect("mosquitto_passwd runs");
    assert!(ok.success());
    let password_line = format!("password_file {}", passwd.display());
    let broker = Broker::start(&[
        ("allow_anonymous ", "allow_anonymous false"),
        (
            "per_listener_settings ",
            &format!("per_listener_settings false\n{password_line}"),
        ),
    ]);
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;

    open_app(c, &base, &broker.ws_url(), "&username=alice").await;
    // The password goes in the connection panel (never in the address); Connect loads the
    // page for the new connection.
    connect_with(c, &broker.ws_url(), "3.1.1", "alice", "wrong", false).await;
    let (text, _, _) = eventually("the refusal", 15, || async {
        let b = badge(c).await;
        (b.1 == "refused").then_some(b)
    })
    .await;
    assert!(
        text == "refused: not authorized" || text == "refused: bad user name or password",
        "{text}"
    );
    // (Mosquitto logs no "on port" line for a websockets connection: count what it does log.)
    let attempts = |log: &str| connection_attempts(log);
    let at_refusal = attempts(&broker.log());
    quiet_for(
        Duration::from_secs(30),
        "the tab trying the refused password again",
    )
    .await;
    let later = attempts(&broker.log());
    assert!(
        later - at_refusal <= 1,
        "{} more connection attempts in 30 s after the refusal",
        later - at_refusal
    );
    assert_eq!(badge(c).await.1, "refused", "still showing the refusal");

    // The right password connects, through the same path.
    connect_with(
        c,
        &broker.ws_url(),
        "3.1.1",
        "alice",
        "correct horse",
        false,
    )
    .await;
    wait_connected(c).await;
    browser.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
