//! Tab identity without Web Locks (plain http on an address other than localhost): a
//! reload keeps its client id, so the broker holds one session per tab, not one per load;
//! and a tab opened with a copy of sessionStorage still gets an id of its own. Each test
//! runs a Mosquitto of its own and counts what the broker saw.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use e2e::*;
use fantoccini::Client;
use serde_json::{json, Value};

const RELOADS: usize = 20;

/// From now on, every document this tab loads runs without Web Locks, as over plain http.
async fn remove_web_locks(c: &Client) {
    c.issue_cmd(Cdp {
        cmd: "Page.addScriptToEvaluateOnNewDocument",
        params: json!({ "source": "delete Navigator.prototype.locks;" }),
    })
    .await
    .expect("CDP Page.addScriptToEvaluateOnNewDocument");
}

async fn assert_no_web_locks(c: &Client) {
    let none = c
        .execute(
            "return navigator.locks === undefined && !('locks' in navigator)",
            vec![],
        )
        .await
        .expect("read navigator.locks");
    assert_eq!(none, Value::Bool(true), "the page must see no Web Locks");
}

/// A broker of the test's own that publishes `$SYS` every second (default: 10 s).
fn broker() -> Broker {
    Broker::start(&[(
        "log_timestamp_format",
        "log_timestamp_format %H:%M:%S\nsys_interval 1",
    )])
}

/// The app's connects per client id, from Mosquitto's "New client connected from … as
/// <id> (…)" (mosquitto_sub's `auto-…` ids left out).
fn connects(log: &str) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for line in log.lines().filter(|l| l.contains("New client connected")) {
        if let Some(id) = line.split(" as ").nth(1).and_then(|r| r.split(' ').next()) {
            if id.starts_with("chat-") {
                *seen.entry(id.to_owned()).or_default() += 1;
            }
        }
    }
    seen
}

/// The broker's own count from `$SYS/broker/clients/<name>` (retained, so read at once).
fn sys_count(broker: &Broker, name: &str) -> u64 {
    let out = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &broker.tcp_port.to_string()])
        .args(["-t", &format!("$SYS/broker/clients/{name}")])
        .args(["-C", "1", "-W", "5"])
        .output()
        .expect("mosquitto_sub runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("$SYS/broker/clients/{name}: {text:?}"))
}

#[tokio::test]
async fn twenty_reloads_without_web_locks_leave_the_broker_one_session() {
    let broker = broker();
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    remove_web_locks(c).await;
    open_app(c, &base, &broker.ws_url(), "").await;
    assert_no_web_locks(c).await;
    let first = wait_connected(c).await;

    let mut ids = vec![first.clone()];
    for _ in 0..RELOADS {
        c.refresh().await.expect("reload");
        ids.push(wait_connected(c).await);
    }
    assert_no_web_locks(c).await;

    // Let the $SYS tree catch up with the last reload.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let total = sys_count(&broker, "total");
    let disconnected = sys_count(&broker, "disconnected");
    let seen = connects(&broker.log());
    println!("after {RELOADS} reloads: $SYS clients total {total}, disconnected {disconnected}; connects per id {seen:?}");
    assert!(
        ids.iter().all(|id| *id == first),
        "every reload keeps the tab's client id: {ids:?}"
    );
    assert_eq!(
        seen.len(),
        1,
        "one client id over {} loads: {seen:?}",
        RELOADS + 1
    );
    assert_eq!(seen.get(&first), Some(&(RELOADS + 1)));
    assert_eq!(
        disconnected, 0,
        "no abandoned session keeps queueing messages"
    );
    // The tab, and at most the reader itself if $SYS ticked while it subscribed.
    assert!(total <= 2, "the broker holds {total} sessions");
    browser.close().await;
}

#[tokio::test]
async fn without_web_locks_a_tab_with_a_copy_of_session_storage_gets_its_own_id_and_neither_is_kicked(
) {
    let broker = broker();
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    let tab_a = c.window().await.unwrap();
    remove_web_locks(c).await;
    open_app(c, &base, &broker.ws_url(), "").await;
    assert_no_web_locks(c).await;
    let id_a = wait_connected(c).await;
    let storage = c
        .execute(
            "return JSON.stringify(Object.entries(sessionStorage))",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        storage.as_str().unwrap_or_default().contains(&id_a),
        "the id is in sessionStorage"
    );

    // A second tab, also without Web Locks, given a copy of A's sessionStorage on the same
    // origin before the app loads: what "Duplicate tab" does.
    let tab_b = c.new_window(true).await.unwrap().handle;
    c.switch_to_window(tab_b.clone()).await.unwrap();
    remove_web_locks(c).await;
    c.goto(&format!("{base}/not-the-app")).await.unwrap();
    c.execute(
        "for (const [k, v] of JSON.parse(arguments[0])) sessionStorage.setItem(k, v)",
        vec![storage],
    )
    .await
    .unwrap();
    open_app(c, &base, &broker.ws_url(), "").await;
    assert_no_web_locks(c).await;
    let id_b = wait_connected(c).await;
    assert_ne!(id_a, id_b, "the copy made an id of its own");

    // Two tabs with one id would kick each other off in a loop. Watch both for a while.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for (tab, id) in [(tab_a, &id_a), (tab_b, &id_b)] {
        c.switch_to_window(tab).await.unwrap();
        assert_eq!(
            badge(c).await,
            ("connected".into(), "connected".into(), id.clone())
        );
    }
    let log = broker.log();
    let seen = connects(&log);
    println!("connects per id: {seen:?}");
    assert_eq!(seen.get(&id_a), Some(&1), "A connected once: {seen:?}");
    assert_eq!(seen.get(&id_b), Some(&1), "B connected once: {seen:?}");
    assert!(
        !log.contains("already connected"),
        "no tab took over another's connection:\n{log}"
    );
    browser.close().await;
}
