//! Catch-up without a server (issue 8): a newcomer gets the recent messages from the peers'
//! history, a receiver whose session the broker lost gets what was said meanwhile, and
//! answers to requests a tab did not make are ignored. Each test runs a Mosquitto of its
//! own; each tab that must not share history with another is a browser (profile) of its own.
//!
//! DOM contract (design): rows merged from catch-up carry class `catch-up`.

use std::time::{Duration, Instant};

use e2e::*;
use fantoccini::Client;
use serde_json::{json, Value};

const N: usize = 5;

fn expected(prefix: &str) -> Vec<String> {
    (1..=N).map(|i| format!("{prefix} {i}")).collect()
}

/// Texts of the rows that start with `prefix`, in table order.
async fn texts_with(c: &Client, prefix: &str) -> Vec<String> {
    messages_with(c, prefix)
        .await
        .into_iter()
        .map(|r| r.message)
        .collect()
}

/// Waits (up to `secs`) for N rows starting with `prefix`, then checks, after a pause for a
/// late duplicate, that they are exactly the N expected, in order, once each.
async fn assert_all_once_in_order(c: &Client, prefix: &str, secs: u64, what: &str) {
    let want = expected(prefix);
    let got = eventually(&format!("{what}: {N} rows '{prefix} …'"), secs, || async {
        let got = texts_with(c, prefix).await;
        (got.len() >= N).then_some(got)
    })
    .await;
    quiet_for(
        Duration::from_millis(1500),
        "a late duplicate of a row already shown",
    )
    .await;
    let again = texts_with(c, prefix).await;
    assert_eq!(got, want, "{what}: in order");
    assert_eq!(again, want, "{what}: each once");
}

async fn assert_delivered(c: &Client, prefix: &str) {
    wait_own_delivered(c, prefix, N, 30).await;
}

#[tokio::test]
async fn a_newcomer_gets_the_recent_messages_from_a_peer() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let (ann, _) = person(&base, &broker.ws_url(), "Ann").await;
    // Tab B was here, and is closed before the chat.
    let (bo, _) = person(&base, &broker.ws_url(), "Bo").await;
    bo.close().await;

    let a = &ann.client;
    for text in expected("said before C came") {
        send(a, "Ann", &text).await;
    }
    assert_delivered(a, "said before C came").await;

    // C: a new profile, so no history of its own; everything it shows came from a peer.
    let (cy, _) = person(&base, &broker.ws_url(), "Cy").await;
    let c = &cy.client;
    assert_all_once_in_order(c, "said before C came", 20, "the newcomer").await;
    let marked: Vec<String> = catch_up_messages(c)
        .await
        .into_iter()
        .filter(|m| m.starts_with("said before C came"))
        .collect();
    assert_eq!(
        marked,
        expected("said before C came"),
        "rows from catch-up carry class catch-up"
    );
    // Ann's own rows are not catch-up rows in Ann's tab.
    assert!(
        catch_up_messages(a).await.is_empty(),
        "the sender marks nothing as catch-up"
    );
    ann.close().await;
    cy.close().await;
}

/// One run: a broker without persistence, A and B connected, the broker killed, A sends N
/// during the outage, the broker restarted without any session: B must show all N.
async fn outage_run(run: usize) {
    let mut broker = Broker::start(&[("persistence ", "persistence false")]);
    let base = serve_dist(dist());
    let (ann, _) = person(&base, &broker.ws_url(), "Ann").await;
    let (bo, _) = person(&base, &broker.ws_url(), "Bo").await;
    let (a, b) = (&ann.client, &bo.client);
    let prefix = format!("outage run {run}");

    broker.kill();
    let killed = Instant::now();
    eventually("Ann's tab reconnecting", 20, || async {
        (badge(a).await.1 == "reconnecting").then_some(())
    })
    .await;
    for text in expected(&prefix) {
        send(a, "Ann", &text).await;
    }
    let queued = eventually(&format!("{N} own '{prefix}' rows"), 10, || async {
        let rows = messages_with(a, &prefix).await;
        (rows.len() >= N).then_some(rows)
    })
    .await;
    assert_eq!(
        queued.len(),
        N,
        "run {run}: written while offline: {queued:?}"
    );
    assert!(
        queued
            .iter()
            .all(|r| r.own && r.delivery.as_deref() == Some("queued")),
        "run {run}: queued while offline: {queued:?}"
    );
    hold_for(
        Duration::from_secs(3).saturating_sub(killed.elapsed()),
        "an outage of 3 s at least: the tabs retry against a closed port meanwhile",
    )
    .await;
    // Same ports, persistence still off: the broker has no session of A's or B's.
    broker.restart();

    assert_delivered(a, &prefix).await;
    assert_all_once_in_order(b, &prefix, 30, &format!("run {run}, receiver B")).await;
    ann.close().await;
    bo.close().await;
}

#[tokio::test]
async fn a_broker_restart_without_persistence_loses_nothing_in_three_runs_of_three() {
    for run in 1..=3 {
        let started = Instant::now();
        outage_run(run).await;
        println!("run {run}: 5 of 5, in {} ms", started.elapsed().as_millis());
    }
}

/// A chat message as stored text, the `payload` of a catch-up entry.
fn chat_payload(name: &str, message: &str, id: &str, ts: f64) -> String {
    json!({ "name": name, "message": message, "id": id, "from": "peer-x", "ts": ts }).to_string()
}

fn answer(re: &str, entries: Vec<Value>) -> String {
    json!({ "type": "answer", "re": re, "messages": entries }).to_string()
}

#[tokio::test]
async fn answers_to_requests_not_made_are_ignored_and_hostile_ones_bounded() {
    let broker = Broker::start(&[]);
    let port = broker.tcp_port;
    // See the tab's own request, to tell a real answer from a made-up one.
    let watch = Watch::start(port, &["chat/catchup/#"]).await;
    let base = serve_dist(dist());
    let (ann, id_a) = person(&base, &broker.ws_url(), "Ann").await;
    let a = &ann.client;
    let request: Value = eventually("Ann's catch-up request on connect", 10, || async {
        watch.lines().into_iter().find_map(|l| {
            let payload = l.strip_prefix("chat/catchup/messages ")?;
            let v: Value = serde_json::from_str(payload).ok()?;
            (v["type"] == "request").then_some(v)
        })
    })
    .await;
    let real_id = request["id"].as_str().expect("a request id").to_owned();
    assert!(
        request["limit"].as_u64().is_some_and(|l| l <= 100),
        "at most the last 100: {request}"
    );
    let before = rows(a).await.len();
    let now = now_ms();

    // A made-up request id: 1,500 entries (small ones: under the app's 128 KiB packet limit,
    // so it is read, not skipped) with HTML among them.
    let mut flood: Vec<Value> = (0..1500)
        .map(|i| json!({ "uid": format!("f{i}"), "at": now - 1000.0, "payload": format!("{{\"message\":\"f{i}\"}}") }))
        .collect();
    for i in 0..20 {
        flood[i * 75] = json!({
            "uid": format!("fake-html-{i}"),
            "at": now - 2000.0,
            "payload": chat_payload("<b>fake</b>", "<img src=x onerror=alert(1)> fake", &format!("fake-html-{i}"), now - 2000.0),
        });
    }
    let fake = answer("made-up-request-id", flood);
    assert!(
        fake.len() < 128 * 1024,
        "under the app's packet limit: {}",
        fake.len()
    );
    publish_to(port, "chat/catchup/messages", &fake, 0, false);
    // Malformed answers and a stray request-shaped one.
    for junk in [
        "not json".to_owned(),
        r#"{"type":"answer"}"#.to_owned(),
        r#"{"type":"answer","re":null,"messages":"x"}"#.to_owned(),
        json!({"type": "answer", "re": "made-up-2", "messages": [{"uid": 1, "at": "x", "payload": 5}]}).to_string(),
        json!({"type": "answer", "re": "made-up-3", "messages": [{"uid": "u", "at": now, "payload": "{\"name\":\"fake\",\"message\":\"fake too\"}"}]}).to_string(),
        "\u{0}\u{fffe}".to_owned(),
    ] {
        publish_to(port, "chat/catchup/messages", &junk, 0, false);
    }

    // A real answer to the real request: shown, marked catch-up, HTML as text.
    let legit = answer(
        &real_id,
        vec![
            json!({"uid": "legit-1", "at": now - 3000.0, "payload": chat_payload("Peer", "legit 1", "legit-1", now - 3000.0)}),
            json!({"uid": "legit-2", "at": now - 2500.0, "payload": chat_payload("<b>Peer</b>", "legit 2 <script>alert(2)</script>", "legit-2", now - 2500.0)}),
        ],
    );
    publish_to(port, "chat/catchup/messages", &legit, 0, false);
    eventually("the real answer shown", 10, || async {
        (texts_with(a, "legit").await.len() == 2).then_some(())
    })
    .await;
    // A sentinel on the chat topic, after everything: once it shows, all was handled.
    publish_to(
        port,
        "messages",
        r#"{"name":"cli","message":"sentinel"}"#,
        1,
        false,
    );
    eventually("the sentinel", 10, || async {
        (!texts_with(a, "sentinel").await.is_empty()).then_some(())
    })
    .await;
    quiet_for(
        Duration::from_secs(2),
        "a row made from an answer to a request Ann did not make",
    )
    .await;

    let shown = rows(a).await;
    assert!(
        !shown.iter().any(|r| r.message.contains("fake")
            || r.name.contains("fake")
            || (r.message.starts_with('f') && r.message[1..].parse::<u32>().is_ok())),
        "nothing from answers to requests Ann did not make: {:?}",
        &shown[before..]
    );
    assert_eq!(
        shown.len(),
        before + 3,
        "only the real answer's 2 and the sentinel are new"
    );
    assert_eq!(
        catch_up_messages(a).await,
        vec![
            "legit 1".to_owned(),
            "legit 2 <script>alert(2)</script>".to_owned()
        ],
        "the real answer merged in time order, marked catch-up"
    );
    let legit2 = shown
        .iter()
        .find(|r| r.message.starts_with("legit 2"))
        .unwrap();
    assert_eq!(legit2.name, "<b>Peer</b>", "HTML shown as text");
    let elements: Value = a
        .execute(
            "return document.querySelectorAll('#messages b, #messages img, #messages script').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(elements, json!(0), "no element made from an answer");
    assert!(a.get_alert_text().await.is_err(), "no alert ran");
    assert_eq!(badge(a).await.1, "connected", "still connected");
    assert_eq!(connects(&broker.log(), &id_a), 1, "never reconnected");
    ann.close().await;
    drop(watch);
}

#[tokio::test]
async fn a_real_answer_with_thousands_of_entries_is_bounded() {
    let broker = Broker::start(&[]);
    let port = broker.tcp_port;
    let watch = Watch::start(port, &["chat/catchup/#"]).await;
    let base = serve_dist(dist());
    let (ann, id_a) = person(&base, &broker.ws_url(), "Ann").await;
    let a = &ann.client;
    let real_id = eventually("Ann's catch-up request on connect", 10, || async {
        watch.lines().into_iter().find_map(|l| {
            let v: Value = serde_json::from_str(l.strip_prefix("chat/catchup/messages ")?).ok()?;
            (v["type"] == "request").then(|| v["id"].as_str().map(str::to_owned))?
        })
    })
    .await;
    let now = now_ms();
    // Answered within the 10 s window, chunked as answerers do (<= 48 KiB a payload).
    for chunk in 0..13 {
        let entries: Vec<Value> = (0..400)
            .map(|i| chunk * 400 + i)
            .take_while(|n| *n < 5000)
            .map(|n| {
                let id = format!("m{n}");
                json!({"uid": id, "at": now - 60_000.0 + n as f64, "payload": format!("{{\"name\":\"p\",\"message\":\"many {n}\",\"id\":\"{id}\"}}")})
            })
            .collect();
        let payload = answer(&real_id, entries);
        assert!(payload.len() <= 48 * 1024, "{} bytes", payload.len());
        publish_to(port, "chat/catchup/messages", &payload, 0, false);
    }
    let shown = eventually("some of the answer shown", 10, || async {
        let n = texts_with(a, "many ").await.len();
        (n > 0).then_some(n)
    })
    .await;
    // A sentinel on the chat topic, after every chunk: once it shows, all 13 have reached
    // the tab.
    publish_to(
        port,
        "messages",
        r#"{"name":"cli","message":"sentinel"}"#,
        1,
        false,
    );
    eventually("the sentinel", 10, || async {
        (!texts_with(a, "sentinel").await.is_empty()).then_some(())
    })
    .await;
    quiet_for(
        Duration::from_secs(3),
        "more than 200 entries of the one answer shown",
    )
    .await;
    let shown = texts_with(a, "many ").await.len().max(shown);
    println!("{shown} of 5,000 entries of one answer shown");
    assert!(
        shown <= 200,
        "at most 200 distinct entries per request, {shown} shown"
    );
    assert_eq!(badge(a).await.1, "connected", "still connected");
    assert_eq!(connects(&broker.log(), &id_a), 1, "never reconnected");
    ann.close().await;
}
