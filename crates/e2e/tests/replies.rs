//! Replies (issue 22): a row's `button.reply` puts a quote of it above the composer (Escape
//! or Cancel drops it); the reply carries `reply_to`, `reply_name` and a short `reply_text`
//! while its `message` stays the reply alone for any other client; the row shows `.quote`
//! (its `td.message` is the reply's text alone), which leads to the original when this
//! browser has it, also after a reload. Each test runs a Mosquitto of its own.

use e2e::*;
use fantoccini::{Client, Locator};
use serde_json::Value;

/// (data-id of the row, quote name, quote text, quote data-to) of the row whose message is
/// `text`, once it shows.
async fn quote_of(c: &Client, text: &str) -> (String, Option<(String, String, String)>) {
    eventually(&format!("a row {text:?}"), 10, || async {
        let v: Value = c
            .execute(
                "const tr = [...document.querySelectorAll('#messages tr')]
                   .find(tr => tr.querySelector('td.message')?.textContent === arguments[0]);
                 if (!tr) return null;
                 const q = tr.querySelector('.quote');
                 return [tr.dataset.id, q ? [q.querySelector('.quote-name').textContent,
                         q.querySelector('.quote-text').textContent, q.dataset.to] : null];",
                vec![Value::from(text)],
            )
            .await
            .unwrap();
        if v.is_null() {
            return None;
        }
        let quote = v[1].as_array().map(|q| {
            let s = |i: usize| q[i].as_str().unwrap().to_owned();
            (s(0), s(1), s(2))
        });
        Some((v[0].as_str().unwrap().to_owned(), quote))
    })
    .await
}

async fn click_reply_on(c: &Client, text: &str) {
    c.execute(
        "[...document.querySelectorAll('#messages tr')]
           .find(tr => tr.querySelector('td.message')?.textContent === arguments[0])
           .querySelector('button.reply').click();",
        vec![Value::from(text)],
    )
    .await
    .expect("a reply button on the row");
}

async fn replying(c: &Client) -> Option<String> {
    c.execute(
        "return document.querySelector('.replying .quote')?.textContent ?? null",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .map(str::to_owned)
}

async fn found_id(c: &Client) -> Option<String> {
    c.execute(
        "const f = document.querySelectorAll('#messages tr.found');
         return f.length === 1 ? f[0].dataset.id : null;",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .map(str::to_owned)
}

#[tokio::test]
async fn a_reply_quotes_its_message_for_everyone_and_leads_back_to_it() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let wire = Deliveries::start(broker.tcp_port).await;
    let ann = Browser::start().await;
    let bo = Browser::start().await;
    let (a, b) = (&ann.client, &bo.client);
    for c in [a, b] {
        open_app(c, &base, &broker.ws_url(), "").await;
        wait_connected(c).await;
    }
    let long = format!("the original {}", "and more ".repeat(20));
    send(a, "Ann", &long).await;
    let (original_id, none) = quote_of(b, &long).await;
    assert!(none.is_none(), "not a reply");

    // B: Reply, then Escape: nothing is quoted any more.
    click_reply_on(b, &long).await;
    let quoted = eventually("the quote above the composer", 5, || replying(b)).await;
    assert!(
        quoted.starts_with("Ann") && quoted.contains("the original"),
        "{quoted}"
    );
    assert_eq!(
        b.execute("return document.activeElement?.id", vec![])
            .await
            .unwrap(),
        "message",
        "the message box has the focus"
    );
    b.active_element()
        .await
        .unwrap()
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    assert_eq!(replying(b).await, None, "Escape cancels the reply");
    send(b, "Bo", "not a reply").await;
    let (_, none) = quote_of(a, "not a reply").await;
    assert!(none.is_none());

    // B replies for real.
    click_reply_on(b, &long).await;
    eventually("the quote again", 5, || replying(b)).await;
    assert_no_serious_axe(b, "a reply being written").await;
    send(b, "Bo", "my reply").await;
    assert_eq!(replying(b).await, None, "sent: the quote goes");
    for c in [a, b] {
        let (_, quote) = quote_of(c, "my reply").await;
        let (name, text, to) = quote.expect("the row shows .quote");
        assert_eq!((name.as_str(), to.as_str()), ("Ann", original_id.as_str()));
        assert!(long.starts_with(text.trim_end_matches('…')), "{text}");
        assert!(text.chars().count() <= 101, "short: {text}");
    }
    // Any other client reads the reply's message as plain text.
    let line = eventually("the reply on the wire", 10, || async {
        wire.lines().into_iter().find(|l| l.contains("my reply"))
    })
    .await;
    let payload = line.split_once(' ').map_or(line.as_str(), |(_, p)| p);
    let json: Value = serde_json::from_str(payload).expect("JSON");
    assert_eq!(json["message"], "my reply");
    assert_eq!(json["name"], "Bo");
    assert_eq!(json["reply_to"], original_id.as_str());
    assert_eq!(json["reply_name"], "Ann");
    assert!(json["reply_text"]
        .as_str()
        .unwrap()
        .starts_with("the original"));

    assert_no_serious_axe(a, "a reply's row").await;
    // A clicks the quote: the original is marked found.
    a.find(Locator::Css("#messages tr.reply .quote"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let found = eventually("the original marked found", 10, || found_id(a)).await;
    assert_eq!(found, original_id);

    // After a reload, the reply still quotes and still leads back.
    b.refresh().await.unwrap();
    wait_connected(b).await;
    let (_, quote) = quote_of(b, "my reply").await;
    assert_eq!(quote.expect("still a reply").2, original_id);
    b.find(Locator::Css("#messages tr.reply .quote"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        eventually("found after the reload", 10, || found_id(b)).await,
        original_id
    );
    ann.close().await;
    bo.close().await;
}

#[tokio::test]
async fn a_quote_of_a_message_not_stored_here_says_so() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let ann = Browser::start().await;
    let c = &ann.client;
    open_app(c, &base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    // Another client's reply to something this browser never saw; HTML stays text.
    mosquitto_pub_to(
        broker.tcp_port,
        "messages",
        r#"{"name":"cli","message":"re: that","reply_to":"gone-1","reply_name":"<i>Zed</i>","reply_text":"<b>old</b>"}"#,
        1,
        false,
    );
    let (_, quote) = quote_of(c, "re: that").await;
    assert_eq!(
        quote,
        Some((
            "<i>Zed</i>".to_owned(),
            "<b>old</b>".to_owned(),
            "gone-1".to_owned()
        ))
    );
    let buttons = c
        .execute(
            "return document.querySelectorAll('#messages button.reply').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        buttons, 0,
        "a message without an id cannot be answered: nobody could find it"
    );
    c.find(Locator::Css("#messages tr.reply .quote"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let title = eventually("the quote saying it is not stored", 10, || async {
        c.execute(
            "const q = document.querySelector('#messages .quote.missing'); return q ? q.title : null;",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .map(str::to_owned)
    })
    .await;
    assert!(title.contains("not stored"), "{title}");
    assert_eq!(found_id(c).await, None);
    ann.close().await;
}
