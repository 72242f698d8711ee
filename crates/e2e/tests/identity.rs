//! Tab identity without Web Locks (plain http on an address other than localhost): a
//! reload keeps its client id, so the broker holds one session per tab, not one per load;
//! and a tab opened with a copy of sessionStorage still gets an id of its own. Each test
//! runs a Mosquitto of its own and counts what the broker saw.

use std::collections::BTreeMap;
use std::time::Duration;

use e2e::*;
use fantoccini::Client;
use serde_json::Value;

const RELOADS: usize = 20;

/// From now on, every document this tab loads runs without Web Locks, as over plain http.
async fn remove_web_locks(c: &Client) {
    before_each_document(c, "delete Navigator.prototype.locks;").await;
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

/// The broker's own count `$SYS/broker/clients/<name>` as `sys` last received it (Mosquitto
/// publishes it retained, and again when it changes).
fn sys_count(sys: &Watch, name: &str) -> u64 {
    let topic = format!("$SYS/broker/clients/{name} ");
    let lines = sys.lines();
    let text = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix(&topic))
        .unwrap_or_else(|| panic!("no $SYS/broker/clients/{name} in {lines:?}"));
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("$SYS/broker/clients/{name}: {text:?}"))
}

/// The Wasm chunks the page fetched (answered 200), by file name.
async fn chunks_fetched(c: &Client) -> Vec<String> {
    js_strings(
        c,
        "return performance.getEntriesByType('resource')
            .filter(e => e.responseStatus === 200)
            .map(e => e.name.split('/').pop())
            .filter(n => /^(split|chunk)_.*\\.wasm$/.test(n))",
        "read the resource timing",
    )
    .await
}

/// Breaks if: a load of the chat fetches any chunk (the parts not on its first screen,
/// issue 21), such as the client-id handshake that only a browser without Web Locks needs.
#[tokio::test]
async fn with_web_locks_the_chat_loads_no_chunk() {
    let broker = broker();
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    open_app(c, &base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    set_name(c, "Ann").await;
    send(c, "Ann", "no chunk for this").await;
    wait_own_delivered(c, "no chunk for this", 1, 10).await;
    c.refresh().await.expect("reload");
    wait_connected(c).await;
    wait_row(c, "no chunk for this", 10).await;
    assert_eq!(chunks_fetched(c).await, Vec::<String>::new());
    browser.close().await;
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
    // The handshake that stands in for Web Locks is a chunk of its own (issue 21), with the
    // pieces of code it shares with other chunks (`chunk_N.wasm`, wasm-split's), and no
    // other split point.
    let fetched = chunks_fetched(c).await;
    let splits: Vec<&String> = fetched.iter().filter(|n| n.starts_with("split_")).collect();
    assert_eq!(splits, ["split_live_ids.wasm"], "{fetched:?}");

    let mut ids = vec![first.clone()];
    for _ in 0..RELOADS {
        c.refresh().await.expect("reload");
        ids.push(wait_connected(c).await);
    }
    assert_no_web_locks(c).await;

    // The $SYS tree as of two of its updates (every second) after the last reload: the
    // retained values, then two `uptime` ticks, with any change of the counts before them.
    let sys = Watch::start(
        broker.tcp_port,
        &[
            "$SYS/broker/uptime",
            "$SYS/broker/clients/total",
            "$SYS/broker/clients/disconnected",
        ],
    )
    .await;
    eventually("two $SYS updates after the last reload", 15, || async {
        let ticks = sys
            .lines()
            .iter()
            .filter(|l| l.starts_with("$SYS/broker/uptime "))
            .count();
        (ticks >= 3).then_some(())
    })
    .await;
    let total = sys_count(&sys, "total");
    let disconnected = sys_count(&sys, "disconnected");
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
    // The tab, and the watch reading $SYS.
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
    c.visit(&format!("{base}/not-the-app")).await.unwrap();
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
    quiet_for(
        Duration::from_secs(5),
        "either tab taking over the other's connection",
    )
    .await;
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
