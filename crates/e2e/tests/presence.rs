//! Who is here (issue 8, Presence): one browser is one person (a profile has one person id),
//! so two people are two WebDriver sessions. Each test runs a Mosquitto of its own, so the
//! retained statuses of one test never show in another.
//!
//! DOM contract (design): `#presence` lists the people in the open room, one `li` each,
//! `data-state` `online` or `offline`, `data-person` the person id, the name as text: those
//! online in `ul.online`, then the offline ones seen in the last day in the `ul` of
//! `details.offline`, closed at first, its `summary` reading "N offline" (hidden when none).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::*;
use fantoccini::Client;
use serde_json::{json, Value};

/// Ann and Bo, each in a browser of their own, connected to `broker`, each listing both.
async fn ann_and_bo(broker: &Broker) -> (String, Browser, String, Browser, String) {
    let base = serve_dist(dist());
    let (ann, id_a) = person(&base, &broker.ws_url(), "Ann").await;
    let (bo, id_b) = person(&base, &broker.ws_url(), "Bo").await;
    for c in [&ann.client, &bo.client] {
        wait_person(c, "Ann", "online", 15).await;
        wait_person(c, "Bo", "online", 15).await;
    }
    (base, ann, id_a, bo, id_b)
}

/// `data-state` of the `li` of `#presence` whose text is `name`, or None when none is.
async fn state_of(c: &Client, name: &str) -> Option<String> {
    c.execute(
        "const li = Array.from(document.querySelectorAll('#presence li'))
             .find(li => li.textContent.trim() === arguments[0]);
         return li ? li.getAttribute('data-state') : null;",
        vec![json!(name)],
    )
    .await
    .ok()
    .and_then(|v| v.as_str().map(str::to_owned))
}

/// Samples `name`'s state in `c` every 50 ms until `stop` is set; (ms since start, state).
fn sample(
    c: &Client,
    name: &str,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(u128, Option<String>)>> {
    let (c, name) = (c.clone(), name.to_owned());
    tokio::spawn(async move {
        let start = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut samples = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            tick.tick().await;
            samples.push((start.elapsed().as_millis(), state_of(&c, &name).await));
        }
        samples
    })
}

/// Every sample `online`, and enough of them for the window sampled.
fn assert_always_online(samples: &[(u128, Option<String>)], name: &str, min: usize, what: &str) {
    assert!(
        samples.len() >= min,
        "{what}: only {} samples, want at least {min}",
        samples.len()
    );
    let bad: Vec<_> = samples
        .iter()
        .filter(|(_, s)| s.as_deref() != Some("online"))
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: {name} not shown online in {} of {} samples, first at {} ms: {:?}",
        bad.len(),
        samples.len(),
        bad[0].0,
        bad[0].1
    );
}

/// Crash the tab's renderer: no goodbye, the broker publishes the will. (The command may
/// never answer: the page it ran in is gone.)
async fn crash(c: &Client) {
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        c.issue_cmd(Cdp {
            cmd: "Page.crash",
            params: json!({}),
        }),
    )
    .await;
}

/// Waits until `name` shows `offline` in `c`; the time it took from `since`.
async fn time_to_offline(c: &Client, name: &str, since: Instant, secs: u64) -> Duration {
    eventually(&format!("{name} shown offline"), secs, || async {
        (state_of(c, name).await.as_deref() == Some("offline")).then(|| since.elapsed())
    })
    .await
}

/// Open the app in a second tab of `browser` (same profile: the same person); returns to the
/// first tab. Returns (first tab, second tab).
async fn second_tab(
    browser: &Browser,
    base: &str,
    broker: &Broker,
) -> (fantoccini::wd::WindowHandle, fantoccini::wd::WindowHandle) {
    let c = &browser.client;
    let first = c.window().await.unwrap();
    let second = c.new_window(true).await.unwrap().handle;
    c.switch_to_window(second.clone()).await.unwrap();
    open_app(c, base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    c.switch_to_window(first.clone()).await.unwrap();
    (first, second)
}

#[tokio::test]
async fn on_connect_each_lists_both_online() {
    let broker = Broker::start(&[]);
    let (_base, ann, _, bo, _) = ann_and_bo(&broker).await;
    for (who, c) in [("Ann", &ann.client), ("Bo", &bo.client)] {
        let people = presence(c).await;
        assert_eq!(
            people.len(),
            2,
            "{who}'s #presence lists exactly Ann and Bo: {people:?}"
        );
        for p in &people {
            assert_eq!(p.state, "online", "{who} sees {p:?}");
            assert!(!p.person.is_empty(), "data-person is set: {p:?}");
        }
        assert_ne!(people[0].person, people[1].person, "two people: {people:?}");
    }
    ann.close().await;
    bo.close().await;
}

#[tokio::test]
async fn a_reload_never_shows_offline() {
    let broker = Broker::start(&[]);
    let (_base, ann, _, bo, _) = ann_and_bo(&broker).await;
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample(&bo.client, "Ann", Arc::clone(&stop));
    quiet_for(
        Duration::from_millis(500),
        "Ann shown other than online before the reload (sampled)",
    )
    .await;
    let started = Instant::now();
    ann.client.refresh().await.expect("Ann reloads");
    wait_connected(&ann.client).await;
    println!(
        "Ann connected again {} ms after the reload began",
        started.elapsed().as_millis()
    );
    quiet_for(
        Duration::from_secs(3),
        "Ann shown offline after the reload (sampled)",
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    let samples = sampler.await.unwrap();
    println!("{} samples of Ann in Bo's #presence", samples.len());
    // 50 ms apart over at least 3.5 s; a loaded machine samples more slowly.
    assert_always_online(&samples, "Ann", 30, "during and after Ann's reload");
    ann.close().await;
    bo.close().await;
}

#[tokio::test]
async fn closing_a_tab_keeps_the_person_online_closing_the_last_shows_offline_within_5_s() {
    let broker = Broker::start(&[]);
    let (base, ann, _, bo, _) = ann_and_bo(&broker).await;
    let (first, second) = second_tab(&ann, &base, &broker).await;
    let a = &ann.client;

    // One of Ann's two tabs closes: Ann stays online for Bo.
    a.switch_to_window(second).await.unwrap();
    let second_id = badge(a).await.2;
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample(&bo.client, "Ann", Arc::clone(&stop));
    a.close_window().await.expect("close Ann's second tab");
    a.switch_to_window(first).await.unwrap();
    let gone = [
        format!("Client {second_id} disconnected"),
        format!("Client {second_id} closed its connection"),
    ];
    eventually("the broker to see Ann's second tab go", 10, || async {
        let log = broker.log();
        gone.iter().any(|g| log.contains(g)).then_some(())
    })
    .await;
    quiet_for(
        Duration::from_secs(6),
        "Ann shown offline with one of her tabs still open (sampled)",
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    let samples = sampler.await.unwrap();
    assert_always_online(&samples, "Ann", 60, "after one of Ann's two tabs closed");

    // The last one closes (chromedriver ends the browser with its last window).
    let closed = Instant::now();
    let _ = a.close_window().await;
    let took = time_to_offline(&bo.client, "Ann", closed, 10).await;
    println!(
        "closing Ann's last tab -> offline for Bo in {} ms",
        took.as_millis()
    );
    assert!(
        took <= Duration::from_secs(5),
        "closing the last tab showed Ann offline only after {} ms (at most 5 s)",
        took.as_millis()
    );
    ann.close().await;
    bo.close().await;
}

#[tokio::test]
async fn a_renderer_crash_shows_offline_through_the_will() {
    let broker = Broker::start(&[]);
    let (_base, ann, _, bo, _) = ann_and_bo(&broker).await;
    let crashed = Instant::now();
    crash(&ann.client).await;
    let took = time_to_offline(&bo.client, "Ann", crashed, 25).await;
    println!(
        "renderer crash -> Ann offline for Bo in {} ms (last will)",
        took.as_millis()
    );
    assert!(
        took <= Duration::from_secs(20),
        "a renderer crash showed Ann offline after {} ms",
        took.as_millis()
    );
    // The crashed tab may leave the session unable to answer: bound the goodbye (dropping
    // the browser ends chromedriver).
    let _ = tokio::time::timeout(Duration::from_secs(10), ann.close()).await;
    bo.close().await;
}

/// Breaks if: a status, a will, a message or a typing signal names a tab's MQTT client id
/// (anyone who read it could connect with it and take the tab's session over, its queued
/// messages with it); or a status an earlier version left under the client id stays
/// retained.
#[tokio::test]
async fn no_topic_or_payload_names_a_client_id_and_a_status_left_under_one_is_cleared() {
    let broker = Broker::start(&[]);
    let port = broker.tcp_port;
    let everything = Watch::start(port, &["#"]).await;
    let (_base, ann, id_a, bo, id_b) = ann_and_bo(&broker).await;
    // Typing, then a message, then a crash (the will).
    ann.client
        .find(fantoccini::Locator::Id("message"))
        .await
        .expect("#message")
        .send_keys("hello from")
        .await
        .expect("type");
    eventually("Ann's typing signal", 10, || async {
        everything
            .lines()
            .iter()
            .any(|l| l.starts_with("chat/typing/"))
            .then_some(())
    })
    .await;
    send(&ann.client, "Ann", " Ann").await;
    wait_row(&bo.client, "hello from Ann", 15).await;
    crash(&ann.client).await;
    time_to_offline(&bo.client, "Ann", Instant::now(), 25).await;
    let lines = everything.lines();
    let wills: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("chat/presence/") && l.contains(r#""lost":true"#))
        .collect();
    assert!(!wills.is_empty(), "the will was seen: {lines:#?}");
    for id in [&id_a, &id_b] {
        let naming: Vec<&String> = lines.iter().filter(|l| l.contains(id.as_str())).collect();
        assert!(naming.is_empty(), "{id} named on the wire: {naming:#?}");
    }
    // Nor does a status topic name an author id (the `from` of Ann's message): a tab that
    // writes only in private rooms keeps that sealed.
    let from = lines
        .iter()
        .filter_map(|l| l.strip_prefix("messages "))
        .filter_map(|p| serde_json::from_str::<Value>(p).ok())
        .find_map(|v| v["from"].as_str().map(str::to_owned))
        .expect("Ann's message carries its author id");
    let topics: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_once(' ').map(|(t, _)| t))
        .filter(|t| t.starts_with("chat/presence/"))
        .collect();
    assert!(
        !topics.iter().any(|t| t.contains(from.as_str())),
        "the author id {from} names a status topic: {topics:?}"
    );

    // A status an earlier version left under Bo's client id: his tab clears it.
    let former = format!("chat/presence/{id_b}");
    publish_to(
        port,
        &former,
        &presence_status("old-bo", "Bo", true, now_ms()),
        1,
        true,
    );
    eventually("the status under Bo's client id cleared", 15, || async {
        let topic = former.clone();
        let gone = !tokio::task::spawn_blocking(move || retained_on(port, &topic))
            .await
            .unwrap();
        gone.then_some(())
    })
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(10), ann.close()).await;
    bo.close().await;
}

#[tokio::test]
async fn a_name_change_shows_without_a_reconnect() {
    let broker = Broker::start(&[]);
    let (_base, ann, id_a, bo, _) = ann_and_bo(&broker).await;
    let before = wait_person(&bo.client, "Ann", "online", 5).await;
    let connects_before = connects(&broker.log(), &id_a);
    assert_eq!(connects_before, 1, "Ann's tab connected once so far");

    set_name(&ann.client, "Annie").await;
    let after = wait_person(&bo.client, "Annie", "online", 10).await;
    assert_eq!(after.person, before.person, "the same person, renamed");
    let people = presence(&bo.client).await;
    assert!(
        !people.iter().any(|p| p.name == "Ann"),
        "the old name is gone: {people:?}"
    );
    assert_eq!(people.len(), 2, "still two people: {people:?}");
    quiet_for(
        Duration::from_millis(500),
        "Ann's tab reconnecting after the rename",
    )
    .await;
    assert_eq!(
        connects(&broker.log(), &id_a),
        connects_before,
        "the rename did not reconnect Ann's tab"
    );
    assert_eq!(badge(&ann.client).await.1, "connected");
    ann.close().await;
    bo.close().await;
}

#[tokio::test]
async fn one_person_with_two_tabs_shows_once() {
    let broker = Broker::start(&[]);
    let (base, ann, _, bo, _) = ann_and_bo(&broker).await;
    let (_first, second) = second_tab(&ann, &base, &broker).await;
    // Both of Ann's tabs are online now; sample Bo's list for 2 s.
    for _ in 0..10 {
        let people = presence(&bo.client).await;
        let anns: Vec<_> = people.iter().filter(|p| p.name == "Ann").collect();
        assert_eq!(anns.len(), 1, "Ann shows once in Bo's list: {people:?}");
        assert_eq!(anns[0].state, "online");
        assert_eq!(people.len(), 2, "Ann and Bo: {people:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And in Ann's own second tab too.
    ann.client.switch_to_window(second).await.unwrap();
    wait_person(&ann.client, "Bo", "online", 10).await;
    let people = presence(&ann.client).await;
    assert_eq!(
        people.iter().filter(|p| p.name == "Ann").count(),
        1,
        "Ann's second tab lists Ann once: {people:?}"
    );
    ann.close().await;
    bo.close().await;
}

/// Clears retained statuses on drop, so a failed test leaves nothing on the broker either.
struct ClearRetained {
    port: u16,
    topics: Vec<String>,
}

impl Drop for ClearRetained {
    fn drop(&mut self) {
        for t in &self.topics {
            publish_to(self.port, t, "", 1, true);
        }
    }
}

/// Whether the broker still holds a retained message on `topic`.
fn retained_on(port: u16, topic: &str) -> bool {
    let out = std::process::Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-t", topic, "--retained-only", "-C", "1", "-W", "1"])
        .output()
        .expect("mosquitto_sub runs");
    !out.stdout.is_empty()
}

#[tokio::test]
async fn stale_malformed_and_html_statuses_are_ignored_or_shown_as_text() {
    let broker = Broker::start(&[]);
    let port = broker.tcp_port;
    let day = 24.0 * 3600.0 * 1000.0;
    let statuses: Vec<(&str, String)> = vec![
        ("chat/presence/x1", "not json {".to_owned()),
        (
            "chat/presence/x2",
            presence_status("p-html", "<b>x</b>", true, now_ms()),
        ),
        (
            "chat/presence/x3",
            presence_status("p-stale", "Stale Sam", true, now_ms() - 8.0 * day),
        ),
        (
            "chat/presence/x4",
            r#"{"person":5,"name":["a"],"rooms":"messages","online":"yes","ts":"now"}"#.to_owned(),
        ),
        ("chat/presence/x5", "{}".to_owned()),
        (
            "chat/presence/x6",
            presence_status("p-long", &"W".repeat(10_000), true, now_ms()),
        ),
        ("chat/presence/x7", "\u{0}\u{ff}\u{fffe}".to_owned()),
    ];
    let _cleanup = ClearRetained {
        port,
        topics: statuses
            .iter()
            .map(|(t, _)| t.to_string())
            .chain(["chat/presence/x8".to_owned()])
            .collect(),
    };
    for (topic, payload) in &statuses {
        publish_to(port, topic, payload, 1, true);
    }

    let base = serve_dist(dist());
    let (bo, id_b) = person(&base, &broker.ws_url(), "Bo").await;
    let c = &bo.client;
    wait_person(c, "Bo", "online", 15).await;
    // The valid one with an HTML name is listed, as text.
    let html = wait_person(c, "<b>x</b>", "online", 10).await;
    assert_eq!(html.person, "p-html");
    // More garbage while the page is open.
    publish_to(port, "chat/presence/x8", "[1,2,3", 1, true);
    publish_to(
        port,
        "chat/presence/x8",
        &json!({"person": "p-live", "name": "<img src=x onerror=alert(1)>", "rooms": ["messages"], "online": true, "ts": now_ms()}).to_string(),
        1,
        false,
    );
    wait_person(c, "<img src=x onerror=alert(1)>", "online", 10).await;
    quiet_for(
        Duration::from_secs(2),
        "an element, an alert, a listed stale status or a reconnect, from the statuses",
    )
    .await;

    let elements: Value = c
        .execute(
            "return document.querySelectorAll('#presence b, #presence img, #presence script').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(elements, json!(0), "no element made from a name");
    assert!(c.get_alert_text().await.is_err(), "no alert ran");
    let people = presence(c).await;
    assert!(
        !people
            .iter()
            .any(|p| p.name == "Stale Sam" || p.person == "p-stale"),
        "a status 8 days old is not listed: {people:?}"
    );
    for p in &people {
        assert!(
            p.state == "online" || p.state == "offline",
            "data-state is online or offline: {p:?}"
        );
        assert!(!p.person.is_empty(), "every li has a person id: {p:?}");
    }
    // The page still works: connected, and it chats.
    assert_eq!(badge(c).await.1, "connected");
    assert_eq!(connects(&broker.log(), &id_b), 1, "no reconnect");
    send(c, "Bo", "still chatting").await;
    eventually("Bo's message delivered", 10, || async {
        rows(c)
            .await
            .into_iter()
            .find(|r| r.message == "still chatting" && r.delivery.as_deref() == Some("delivered"))
    })
    .await;

    // An online tab clears the stale status on the broker after a random 5-30 s (design).
    eventually("the stale status cleared on the broker", 40, || async {
        let gone = !tokio::task::spawn_blocking(move || retained_on(port, "chat/presence/x3"))
            .await
            .unwrap();
        gone.then_some(())
    })
    .await;
    assert!(
        retained_on(port, "chat/presence/x2"),
        "a fresh status is not cleared"
    );
    bo.close().await;
}

/// What `#presence` shows, in its two groups.
#[derive(Debug)]
struct Groups {
    online: Vec<String>,
    offline: Vec<String>,
    /// The text of the summary; empty when `details.offline` is hidden.
    summary: String,
    open: bool,
    /// How many offline people have boxes on the page (none while it is closed).
    offline_visible: usize,
    heading: String,
}

async fn groups(c: &Client) -> Groups {
    let v = c
        .execute(
            "const names = sel => Array.from(document.querySelectorAll(sel))
                 .map(li => li.textContent.trim());
             const d = document.querySelector('#presence > details.offline');
             return {
                 online: names('#presence > ul.online > li[data-state=online]'),
                 offline: names('#presence > details.offline > ul > li[data-state=offline]'),
                 summary: d && !d.hidden ? d.querySelector('summary').textContent.trim() : '',
                 open: !!d && d.open,
                 offline_visible: Array.from(document.querySelectorAll('#presence details li'))
                     .filter(li => li.checkVisibility()).length,
                 heading: document.querySelector('.people .count').textContent,
             };",
            vec![],
        )
        .await
        .expect("read #presence");
    let names = |k: &str| -> Vec<String> {
        let list = v[k].as_array().cloned().unwrap_or_default();
        list.iter()
            .map(|n| n.as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    Groups {
        online: names("online"),
        offline: names("offline"),
        summary: text("summary"),
        open: v["open"].as_bool().unwrap_or_default(),
        offline_visible: v["offline_visible"].as_u64().unwrap_or_default() as usize,
        heading: text("heading"),
    }
}

/// Waits until `#presence` shows `online` and `offline` (names, in order); returns it.
async fn wait_groups(c: &Client, online: &[&str], offline: &[&str], secs: u64) -> Groups {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut pause = e2e::Pause::default();
    loop {
        let g = groups(c).await;
        if g.online == online && g.offline == offline {
            return g;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for online {online:?}, offline {offline:?}: {g:?}"
        );
        pause.wait().await;
    }
}

#[tokio::test]
async fn a_closed_person_is_collapsed_under_n_offline_for_a_day_and_not_again_when_back() {
    let broker = Broker::start(&[]);
    let port = broker.tcp_port;
    let hour = 3600.0 * 1000.0;
    let _cleanup = ClearRetained {
        port,
        topics: ["olga", "rita", "tess"]
            .map(|n| format!("chat/presence/{n}"))
            .to_vec(),
    };
    // Olga left 25 hours ago: kept on the broker (up to 7 days) but not listed.
    let olga = presence_status("p-olga", "Olga", false, now_ms() - 25.0 * hour);
    publish_to(port, "chat/presence/olga", &olga, 1, true);
    let (base, ann, _, bo, _) = ann_and_bo(&broker).await;
    let c = &bo.client;
    let both = groups(c).await;
    assert_eq!(both.online, ["Ann", "Bo"], "{both:?}");
    assert_eq!(both.heading, "(2 online)");
    assert_eq!(both.summary, "", "nobody offline to list: {both:?}");

    // Ann's browser closes: Bo lists her under "1 offline", collapsed, not among the online.
    ann.close().await;
    let left = wait_groups(c, &["Bo"], &["Ann"], 15).await;
    assert_eq!(left.summary, "1 offline", "{left:?}");
    assert_eq!(left.heading, "(1 online)");
    assert!(!left.open, "closed by default: {left:?}");
    assert_eq!(left.offline_visible, 0, "nobody offline shows while closed");
    let people = presence(c).await;
    assert!(
        !people.iter().any(|p| p.name == "Olga"),
        "a person gone 25 hours is not listed: {people:?}"
    );
    let ann_li = people.iter().find(|p| p.name == "Ann").expect("Ann listed");
    assert_eq!(ann_li.state, "offline");

    // Someone who left an hour ago is listed too.
    let rita = presence_status("p-rita", "Rita", false, now_ms() - hour);
    publish_to(port, "chat/presence/rita", &rita, 1, true);
    let two = wait_groups(c, &["Bo"], &["Ann", "Rita"], 10).await;
    assert_eq!(two.summary, "2 offline");

    // The keyboard opens it: the summary takes the focus, Enter opens.
    c.execute(
        "document.querySelector('#presence summary').focus()",
        vec![],
    )
    .await
    .unwrap();
    let focused = c.active_element().await.unwrap();
    assert_eq!(focused.tag_name().await.unwrap(), "summary");
    focused.send_keys("\u{E007}").await.expect("press Enter");
    eventually("the offline people shown", 5, || async {
        let g = groups(c).await;
        (g.open && g.offline_visible == 2).then_some(())
    })
    .await;
    let serious: Vec<String> = run_axe(c)
        .await
        .into_iter()
        .filter(|v| v.impact == "serious" || v.impact == "critical")
        .map(|v| v.to_string())
        .collect();
    assert!(serious.is_empty(), "axe-core, the group open: {serious:#?}");

    // Ann comes back from another browser (a new person id): listed online, and her
    // offline entry is not listed again.
    let (ann2, _) = person(&base, &broker.ws_url(), "Ann").await;
    let back = wait_groups(c, &["Ann", "Bo"], &["Rita"], 15).await;
    assert_eq!(back.summary, "1 offline");
    assert_eq!(back.heading, "(2 online)");

    // Tess was seen a day ago less 8 s: listed, then gone when her day is over, with no
    // other status coming.
    let tess = presence_status("p-tess", "Tess", false, now_ms() - 24.0 * hour + 8_000.0);
    publish_to(port, "chat/presence/tess", &tess, 1, true);
    wait_groups(c, &["Ann", "Bo"], &["Rita", "Tess"], 7).await;
    wait_groups(c, &["Ann", "Bo"], &["Rita"], 20).await;
    ann2.close().await;
    bo.close().await;
}
