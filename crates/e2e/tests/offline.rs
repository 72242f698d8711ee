//! Opens offline (issue 22): after one visit, the app starts with neither its web server nor
//! its broker reachable, shows the stored history and the outbox, says in words that it is
//! not connected, queues what is sent, and delivers it when both are back. A new version
//! waits until the user chooses to reload: the page never mixes two. Each test runs a
//! Mosquitto of its own and a web server it can stop.

use e2e::*;
use fantoccini::{Client, Locator};
use serde_json::Value;

/// Until this build's service worker controls the page, with every file cached.
async fn wait_worker(c: &Client) {
    eventually(
        "the service worker in control, its cache filled",
        30,
        || async {
            let v = c
                .execute_async(
                    "const done = arguments[arguments.length - 1];
                 if (!navigator.serviceWorker.controller) return done(false);
                 caches.keys().then(keys => keys.length === 1
                   ? caches.open(keys[0]).then(c => c.keys()).then(k => done(k.length > 5))
                   : done(false));",
                    vec![],
                )
                .await
                .unwrap();
            (v == Value::Bool(true)).then_some(())
        },
    )
    .await;
}

async fn badge_state(c: &Client) -> (String, String) {
    let (text, state, _) = badge(c).await;
    (text, state)
}

#[tokio::test]
async fn after_one_visit_it_opens_with_no_server_and_no_broker_and_delivers_what_was_queued() {
    let mut broker = Broker::start(&[]);
    let mut web = StaticServer::start(dist());
    let ann = Browser::start().await;
    let c = &ann.client;
    open_app(c, &web.base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    set_name(c, "Ann").await;
    send(c, "Ann", "said before going offline").await;
    wait_own_delivered(c, "said before going offline", 1, 10).await;
    wait_worker(c).await;

    // Both gone; the page is reloaded.
    web.stop();
    broker.kill();
    c.refresh().await.unwrap();
    let (words, state) = eventually("the badge, not connected", 20, || async {
        let (text, state) = badge_state(c).await;
        (!text.is_empty() && state != "connected" && state != "connecting").then_some((text, state))
    })
    .await;
    assert_ne!(words, "connected");
    assert!(
        words.split_whitespace().count() >= 3,
        "in words: {words:?} ({state})"
    );
    // The stored history shows.
    eventually("the stored history", 10, || async {
        rows(c)
            .await
            .into_iter()
            .find(|r| r.message == "said before going offline")
    })
    .await;
    // A part fetched only when first used comes from the cache too: the search.
    c.find(Locator::Id("search"))
        .await
        .unwrap()
        .send_keys("going")
        .await
        .unwrap();
    eventually("a search result, offline", 15, || async {
        let n = c
            .execute(
                "return document.querySelectorAll('#search-results li').length",
                vec![],
            )
            .await
            .unwrap()
            .as_i64()
            .unwrap_or(0);
        (n >= 1).then_some(())
    })
    .await;
    c.find(Locator::Id("search"))
        .await
        .unwrap()
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    // Sent meanwhile: queued, shown so.
    send(c, "Ann", "written while offline").await;
    let queued = eventually("the queued row", 10, || async {
        rows(c)
            .await
            .into_iter()
            .find(|r| r.message == "written while offline")
    })
    .await;
    assert_eq!(queued.delivery.as_deref(), Some("queued"), "{queued:?}");
    assert!(outbox_records(c).await >= 1, "kept in the stored outbox");

    // Both back: it is delivered, and other clients get it.
    web.resume();
    broker.restart();
    wait_connected(c).await;
    // Delivered: the broker acknowledged it (positive evidence), and the outbox let it go.
    wait_own_delivered(c, "written while offline", 1, 30).await;
    eventually("the stored outbox emptied", 10, || async {
        (outbox_records(c).await == 0).then_some(())
    })
    .await;
    ann.close().await;
}

#[tokio::test]
async fn a_new_version_waits_for_the_user_to_reload() {
    let broker = Broker::start(&[]);
    let (copy, _) = dist_without(&[]);
    let web = StaticServer::start(copy.clone());
    let ann = Browser::start().await;
    let c = &ann.client;
    open_app(c, &web.base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    wait_worker(c).await;
    let version = || async {
        c.execute(
            "return document.querySelector('meta[name=build]')?.content ?? 'first'",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
    };
    assert_eq!(version().await, "first");

    // A new version is put on the server: its page and its worker.
    let index = std::fs::read_to_string(copy.join("index.html")).unwrap();
    std::fs::write(
        copy.join("index.html"),
        index.replace("<head>", "<head><meta name=\"build\" content=\"second\">"),
    )
    .unwrap();
    let sw = std::fs::read_to_string(copy.join("sw.js")).unwrap();
    std::fs::write(
        copy.join("sw.js"),
        sw.replacen("const VERSION = \"", "const VERSION = \"second-", 1),
    )
    .unwrap();

    // A reload still runs the first, and says the new one is ready.
    c.refresh().await.unwrap();
    wait_connected(c).await;
    let offer = eventually("the new version offered", 30, || async {
        text_of(c, "update-ready").await
    })
    .await;
    assert_eq!(offer, "A new version is ready: reload");
    assert_eq!(
        version().await,
        "first",
        "never mixed: the old page until the user says"
    );
    assert_no_serious_axe(c, "the new version's offer").await;
    // Only the user's choice brings it.
    c.find(Locator::Id("update-reload"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the new version running", 20, || async {
        (version().await == "second").then_some(())
    })
    .await;
    wait_connected(c).await;
    assert_eq!(text_of(c, "update-ready").await, None);
    ann.close().await;
    drop(web);
    let _ = std::fs::remove_dir_all(copy);
}
