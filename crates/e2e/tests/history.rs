//! The conversation survives a reload: real tabs, the release build, a Mosquitto of the
//! test's own, and Chromium's own IndexedDB.

use std::time::Duration;

use e2e::*;
use fantoccini::Locator;

async fn texts(c: &fantoccini::Client, prefix: &str) -> Vec<String> {
    messages_with(c, prefix)
        .await
        .into_iter()
        .map(|r| r.message)
        .collect()
}

async fn wait_rows(c: &fantoccini::Client, prefix: &str, n: usize) {
    eventually(&format!("{n} rows '{prefix}…'"), 30, || async {
        (texts(c, prefix).await.len() >= n).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_reload_keeps_the_conversation_and_the_draft_and_merges_what_was_missed() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    let url = format!("{base}/?broker={}", broker.ws_url());

    c.visit(&url).await.unwrap();
    let a = c.window().await.unwrap();
    wait_connected(c).await;
    let b = c.new_window(false).await.unwrap().handle;
    c.switch_to_window(b.clone()).await.unwrap();
    c.visit(&url).await.unwrap();
    let b_id = wait_connected(c).await;

    c.switch_to_window(a.clone()).await.unwrap();
    for i in 1..=5 {
        send(c, "Ada", &format!("before {i}")).await;
    }
    c.switch_to_window(b.clone()).await.unwrap();
    wait_rows(c, "before", 5).await;
    send(c, "Bo", "mine").await;
    eventually("B's own row delivered", 15, || async {
        rows(c)
            .await
            .iter()
            .any(|r| r.message == "mine" && r.delivery.as_deref() == Some("delivered"))
            .then_some(())
    })
    .await;
    let draft = c.find(Locator::Id("message")).await.unwrap();
    draft.send_keys("half typed").await.unwrap();

    // B goes away; A goes on talking.
    c.visit("about:blank").await.unwrap();
    c.switch_to_window(a.clone()).await.unwrap();
    for i in 1..=5 {
        send(c, "Ada", &format!("missed {i}")).await;
    }
    eventually("A's rows delivered", 15, || async {
        let r = messages_with(c, "missed").await;
        (r.len() == 5 && r.iter().all(|r| r.delivery.as_deref() == Some("delivered"))).then_some(())
    })
    .await;

    // B comes back: what it saw is there, what it missed arrives, each once, in order.
    c.switch_to_window(b.clone()).await.unwrap();
    c.visit(&url).await.unwrap();
    assert_eq!(
        wait_connected(c).await,
        b_id,
        "the same client id and session"
    );
    wait_rows(c, "missed", 5).await;
    quiet_for(
        Duration::from_millis(500),
        "a late duplicate of a row already shown",
    )
    .await;
    let mut all: Vec<String> = rows(c).await.into_iter().map(|r| r.message).collect();
    let mut want: Vec<String> = (1..=5)
        .map(|i| format!("before {i}"))
        .chain(["mine".to_owned()])
        .chain((1..=5).map(|i| format!("missed {i}")))
        .collect();
    if aedes_suite() {
        // Aedes 1.2 may hand a resumed session's queued messages back out of order (seen
        // here: "missed 5" first, under the suite's load; docs/operating.md, "A cluster on this machine"), as
        // MQTT forbids. Against it: the history first, then what was missed, each once.
        all[6..].sort();
        want[6..].sort();
    }
    assert_eq!(
        all, want,
        "history, then the broker's catch-up, each once, in order"
    );
    assert_eq!(data_total(c).await, "11");
    let mine = rows(c)
        .await
        .into_iter()
        .find(|r| r.message == "mine")
        .unwrap();
    assert!(mine.own, "still marked as ours after the reload");
    assert_eq!(mine.delivery.as_deref(), Some("delivered"));
    let kept = c
        .execute("return document.getElementById('message').value", vec![])
        .await
        .unwrap();
    assert_eq!(kept.as_str(), Some("half typed"), "the draft is kept");
    browser.close().await;
}
