//! Search (issue 22): `#search` finds the messages of every joined room, stored and live,
//! case-insensitively by name and text, newest first with the match marked; a result opens
//! its room at `tr[data-id]`, marked `found`, even when that message is older than what the
//! table holds; Ctrl+K and `/` focus it and Escape closes it; after a reload it reads what
//! the browser stored. Each test runs a Mosquitto of its own.

use e2e::*;
use fantoccini::{Client, Locator};
use serde_json::Value;

/// One listed result: (data-room, data-id, the text, the marked parts).
#[derive(Debug, Clone)]
struct Result {
    room: String,
    id: String,
    text: String,
    marks: Vec<String>,
}

async fn results(c: &Client) -> Vec<Result> {
    let v: Value = c
        .execute(
            "const panel = document.querySelector('#search-results');
             if (!panel || panel.closest('[hidden]')) return [];
             return [...panel.querySelectorAll('li')].map(li => [
               li.dataset.room ?? null, li.dataset.id ?? null,
               li.querySelector('.search-text')?.textContent ?? '',
               [...li.querySelectorAll('mark')].map(m => m.textContent)]);",
            vec![],
        )
        .await
        .expect("read the search results");
    v.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| Result {
            room: r[0].as_str().expect("li[data-room]").to_owned(),
            id: r[1].as_str().expect("li[data-id]").to_owned(),
            text: r[2].as_str().unwrap_or_default().to_owned(),
            marks: r[3]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_owned())
                .collect(),
        })
        .collect()
}

async fn wait_results(c: &Client, what: &str, check: impl Fn(&[Result]) -> bool) -> Vec<Result> {
    eventually(what, 10, || async {
        let r = results(c).await;
        check(&r).then_some(r)
    })
    .await
}

async fn active_id(c: &Client) -> String {
    c.execute("return document.activeElement?.id ?? ''", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Nothing focused: keys go to the page.
async fn blur(c: &Client) {
    c.execute("document.activeElement?.blur()", vec![])
        .await
        .unwrap();
}

/// Type into whatever has the focus (keys as WebDriver sends them).
async fn keys(c: &Client, keys: &str) {
    c.active_element()
        .await
        .expect("an active element")
        .send_keys(keys)
        .await
        .expect("type");
}

async fn search_for(c: &Client, query: &str) {
    let input = c.find(Locator::Id("search")).await.expect("#search");
    input.clear().await.expect("clear #search");
    input.send_keys(query).await.expect("type into #search");
}

/// (data-id, class) of every row of the open room.
async fn row_ids(c: &Client) -> Vec<(Option<String>, String)> {
    let v: Value = c
        .execute(
            "return [...document.querySelectorAll('#messages tr')]
                .map(tr => [tr.getAttribute('data-id'), tr.className]);",
            vec![],
        )
        .await
        .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().map(str::to_owned),
                r[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The row marked `found`: (data-id, its message, whether it is in view of the scroller).
async fn found_row(c: &Client) -> Option<(String, String, bool)> {
    let v: Value = c
        .execute(
            "const rows = document.querySelectorAll('#messages tr.found');
             if (rows.length !== 1) return null;
             const tr = rows[0], box = tr.closest('.scroller').getBoundingClientRect();
             const r = tr.getBoundingClientRect();
             return [tr.dataset.id, tr.querySelector('td.message').textContent,
                     r.bottom > box.top && r.top < box.bottom];",
            vec![],
        )
        .await
        .unwrap();
    v.as_array().map(|a| {
        (
            a[0].as_str().unwrap().to_owned(),
            a[1].as_str().unwrap().to_owned(),
            a[2].as_bool().unwrap(),
        )
    })
}

async fn panel_shown(c: &Client) -> bool {
    c.execute(
        "const l = document.querySelector('#search-results');
         return !!l && !l.closest('[hidden]') && l.getClientRects().length > 0;",
        vec![],
    )
    .await
    .unwrap()
    .as_bool()
    .unwrap()
}

#[tokio::test]
async fn search_finds_every_rooms_messages_live_and_stored_and_leads_to_the_row() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let ann = Browser::start().await;
    let c = &ann.client;
    open_app(c, &base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    join_and_open(c, "dev").await;
    open_room(c, "messages").await;
    wait_open(c, "messages", 5).await;

    mosquitto_pub_to(
        broker.tcp_port,
        "messages",
        &chat_json("cli", "a Needle in the default room"),
        1,
        false,
    );
    mosquitto_pub_to(
        broker.tcp_port,
        "messages",
        &chat_json("cli", "nothing to find"),
        1,
        false,
    );
    // HTML stays text, in results as in rows.
    mosquitto_pub_to(
        broker.tcp_port,
        "messages/dev",
        &chat_json("NeedleMan", "<b>bold</b> in dev"),
        1,
        false,
    );
    eventually("dev's unread count to be 1", 10, || async {
        (room_unread(c, "dev").await == Some(1)).then_some(())
    })
    .await;
    eventually("the default room's rows", 10, || async {
        (rows(c).await.len() == 2).then_some(())
    })
    .await;
    // Every row carries data-id (here none has an id of its own: mosquitto_pub).
    let ids = row_ids(c).await;
    assert!(
        ids.iter()
            .all(|(id, _)| id.as_deref().is_some_and(|i| !i.is_empty())),
        "{ids:?}"
    );

    // Ctrl+K focuses the box.
    blur(c).await;
    keys(c, "\u{E009}k\u{E000}").await;
    assert_eq!(active_id(c).await, "search", "Ctrl+K focuses #search");
    keys(c, "nEEdle").await;
    let found = wait_results(c, "two results, newest first", |r| r.len() == 2).await;
    assert_eq!(found[0].room, "dev", "newest first: {found:?}");
    assert_eq!(found[0].marks, ["Needle"], "the name matched: {found:?}");
    assert_eq!(found[0].text, "<b>bold</b> in dev");
    assert_eq!(found[1].room, "messages");
    assert_eq!(found[1].marks, ["Needle"], "{found:?}");
    assert_eq!(found[1].text, "a Needle in the default room");
    let bold: u64 = c
        .execute(
            "return document.querySelectorAll('#search-results b').length",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    assert_eq!(bold, 0, "text is never HTML");
    assert_no_serious_axe(c, "the search open with results").await;

    // What arrives while the search is open is found too.
    mosquitto_pub_to(
        broker.tcp_port,
        "messages/dev",
        &chat_json("cli", "late needle"),
        1,
        false,
    );
    let found = wait_results(c, "the late message at the top", |r| {
        r.len() == 3 && r[0].text == "late needle"
    })
    .await;

    // Choosing the default room's result from the dev room: it opens there, marked found.
    open_room(c, "dev").await;
    wait_open(c, "dev", 5).await;
    c.find(Locator::Id("search"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let target = found[2].clone();
    wait_results(c, "the results again", |r| r.len() == 3).await;
    c.find(Locator::Css(&format!(
        "#search-results li[data-id=\"{}\"]",
        target.id
    )))
    .await
    .expect("the result")
    .click()
    .await
    .unwrap();
    wait_open(c, "messages", 5).await;
    let (id, text, _) = eventually("a row marked found", 10, || found_row(c)).await;
    assert_eq!(
        (id.as_str(), text.as_str()),
        (target.id.as_str(), "a Needle in the default room")
    );
    assert!(!panel_shown(c).await, "choosing a result closes the search");

    // `/` focuses it (not while typing a message), Escape closes it.
    c.find(Locator::Id("message"))
        .await
        .unwrap()
        .send_keys("a/b")
        .await
        .unwrap();
    assert_eq!(
        active_id(c).await,
        "message",
        "`/` in the message box is text"
    );
    assert_eq!(input_value(c, "message").await, "a/b");
    blur(c).await;
    keys(c, "/").await;
    assert_eq!(active_id(c).await, "search", "`/` focuses #search");
    assert_eq!(
        input_value(c, "search").await,
        "nEEdle",
        "the `/` is not typed in"
    );
    wait_results(c, "results shown again", |r| r.len() == 3).await;
    assert!(panel_shown(c).await);
    keys(c, "\u{E00C}").await;
    assert!(!panel_shown(c).await, "Escape closes the search");
    assert_ne!(active_id(c).await, "search");

    // After a reload, the stored messages of every room are found, and the room not shown
    // (dev) has not been opened since.
    c.refresh().await.unwrap();
    wait_connected(c).await;
    wait_open(c, "messages", 5).await;
    search_for(c, "NEEDLE").await;
    let texts: Vec<String> = wait_results(c, "three results after the reload", |r| r.len() == 3)
        .await
        .into_iter()
        .map(|r| r.text)
        .collect();
    assert_eq!(
        texts,
        [
            "late needle",
            "<b>bold</b> in dev",
            "a Needle in the default room"
        ]
    );
    ann.close().await;
}

#[tokio::test]
async fn a_result_older_than_the_table_holds_is_put_back_in_its_place() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let ann = Browser::start().await;
    let c = &ann.client;
    open_app(c, &base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    // 700 messages: the table holds at most 500, the stored history 1,000.
    let lines: Vec<String> = (0..700)
        .map(|n| format!(r#"{{"name":"bulk","message":"bulk <{n:03}>","id":"bulk-{n:03}"}}"#))
        .collect();
    publish_lines(broker.tcp_port, "messages", &lines);
    eventually("700 messages", 20, || async {
        (data_total(c).await == "700").then_some(())
    })
    .await;
    let shown = row_ids(c).await;
    assert!(
        !shown
            .iter()
            .any(|(id, _)| id.as_deref() == Some("bulk-007")),
        "the oldest are no longer in the table"
    );
    // Stored by now? The writer batches: the search reads storage, so wait for it.
    search_for(c, "<007>").await;
    let found = wait_results(c, "the old message found", |r| r.len() == 1).await;
    assert_eq!(found[0].id, "bulk-007");
    c.find(Locator::Css("#search-results li"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let (id, text, in_view) = eventually("the old row marked found", 10, || found_row(c)).await;
    assert_eq!((id.as_str(), text.as_str()), ("bulk-007", "bulk <007>"));
    assert!(in_view, "scrolled to");
    // In its place by time: between 006 and 008 if they are there, else first.
    let ids: Vec<String> = row_ids(c)
        .await
        .into_iter()
        .filter_map(|(id, _)| id)
        .collect();
    let at = ids.iter().position(|i| i == "bulk-007").unwrap();
    assert!(at == 0 || ids[at - 1] < ids[at], "{:?}", &ids[..at + 2]);
    assert_eq!(
        ids.iter().filter(|i| *i == "bulk-007").count(),
        1,
        "shown once"
    );
    assert_eq!(data_total(c).await, "700", "not counted as a new message");
    ann.close().await;
}

/// Breaks if: the search's code comes with the first load, a search chunk that cannot be
/// fetched breaks the page or says nothing, or "Try again" does not fetch it.
#[tokio::test]
async fn the_search_is_fetched_when_first_opened_and_says_so_if_it_cannot_load() {
    let broker = Broker::start(&[]);
    let (dir, taken) = dist_without(&["search"]);
    let base = serve_dist(dir.clone());
    let ann = Browser::start().await;
    let c = &ann.client;
    open_app(c, &base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    mosquitto_pub_to(
        broker.tcp_port,
        "messages",
        &chat_json("cli", "find me"),
        1,
        false,
    );
    eventually("the row", 10, || async {
        (rows(c).await.len() == 1).then_some(())
    })
    .await;
    let asked = || async {
        c.execute(
            "return performance.getEntriesByType('resource')
                .some(e => e.name.includes('split_search'))",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap()
    };
    assert!(!asked().await, "not on the first load");

    search_for(c, "find").await;
    let said = eventually("the search's failure said", 15, || async {
        c.execute(
            "return document.querySelector('#search-chunk [role=alert]')?.textContent ?? null",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .map(str::to_owned)
    })
    .await;
    assert!(said.contains("search could not be loaded"), "{said}");
    // The chat goes on.
    send(c, "Ann", "search-lost 1").await;
    wait_own_delivered(c, "search-lost", 1, 15).await;

    taken[0].put_back();
    c.execute(
        "document.querySelector('#search-chunk .chunk-retry').click()",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Id("search"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let found = wait_results(c, "the result once the chunk can be had", |r| r.len() == 1).await;
    assert_eq!(found[0].text, "find me");
    assert!(asked().await, "fetched once it could be had");
    ann.close().await;
}

/// Breaks if: clearing the history leaves its messages in the search (storage clears
/// after the search could read it again), or what arrives after the clear is not found.
#[tokio::test]
async fn clearing_the_history_clears_what_the_search_finds() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let ann = Browser::start().await;
    let c = &ann.client;
    open_app(c, &base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    for i in 0..3 {
        mosquitto_pub_to(
            broker.tcp_port,
            "messages",
            &chat_json("cli", &format!("old needle {i}")),
            1,
            false,
        );
    }
    eventually("three rows", 10, || async {
        (rows(c).await.len() == 3).then_some(())
    })
    .await;
    search_for(c, "needle").await;
    wait_results(c, "three results", |r| r.len() == 3).await;
    c.execute("document.activeElement?.blur()", vec![])
        .await
        .unwrap();
    c.execute("document.getElementById('clear-history').click()", vec![])
        .await
        .unwrap();
    eventually("the table empty", 10, || async {
        rows(c).await.is_empty().then_some(())
    })
    .await;
    mosquitto_pub_to(
        broker.tcp_port,
        "messages",
        &chat_json("cli", "new needle"),
        1,
        false,
    );
    eventually("the new row", 10, || async {
        (rows(c).await.len() == 1).then_some(())
    })
    .await;
    c.find(Locator::Id("search"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Long enough for any read of storage begun before the clear to have landed.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let found = wait_results(c, "only what came after the clear", |r| r.len() == 1).await;
    assert_eq!(found[0].text, "new needle");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let again: Vec<String> = results(c).await.into_iter().map(|r| r.text).collect();
    assert_eq!(again, ["new needle"]);
    ann.close().await;
}
