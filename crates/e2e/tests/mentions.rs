//! Mentions and notifications (issue 22): a message naming you (`@<your name>`, any case)
//! gets the class `mention`; the hidden tab's title counts mentions; while the tab is
//! hidden, a mention sends a browser notification, and a room set to "every message" sends
//! one for each; the permission is asked only when the user turns notifications on; a click
//! on a notification opens its room.
//!
//! The page's `Notification` is a recorder installed before the app loads (Chrome's own
//! prompt and notification centre are out of WebDriver's reach): the app calls it exactly as
//! it would the browser's. Each test runs a Mosquitto of its own.

use e2e::*;
use fantoccini::{Client, Locator};
use serde_json::Value;

/// Installed before any page script: records notifications and permission requests.
const RECORDER: &str = r#"
  window.__perm = sessionStorage.getItem('test-perm') || 'default';
  window.__asked = 0;
  window.__notes = [];
  window.Notification = class {
    constructor(title, options) {
      Object.assign(this, { title, body: options.body, tag: options.tag, data: options.data });
      this.onclick = null;
      this.closed = false;
      window.__notes.push(this);
    }
    close() { this.closed = true; }
    static get permission() { return window.__perm; }
    static requestPermission() {
      window.__asked += 1;
      if (window.__perm === 'default') window.__perm = window.__answer || 'granted';
      return Promise.resolve(window.__perm);
    }
  };
"#;

async fn notes(c: &Client) -> Vec<(String, String, String)> {
    let v = c
        .execute(
            "return window.__notes.map(n => [n.title, n.body, n.data])",
            vec![],
        )
        .await
        .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let s = |i: usize| n[i].as_str().unwrap_or_default().to_owned();
            (s(0), s(1), s(2))
        })
        .collect()
}

async fn asked(c: &Client) -> i64 {
    c.execute("return window.__asked", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap()
}

async fn choose_notify(c: &Client, level: &str) {
    c.find(Locator::Id("notify"))
        .await
        .expect("#notify")
        .select_by_value(level)
        .await
        .expect("choose a level");
}

async fn notify_value(c: &Client) -> String {
    input_value(c, "notify").await
}

/// The classes of the row whose message is `text`, once it shows.
async fn classes_of(c: &Client, text: &str) -> String {
    eventually(&format!("a row {text:?}"), 10, || async {
        c.execute(
            "const tr = [...document.querySelectorAll('#messages tr')]
               .find(tr => tr.querySelector('td.message')?.textContent === arguments[0]);
             return tr ? tr.className : null;",
            vec![Value::from(text)],
        )
        .await
        .unwrap()
        .as_str()
        .map(str::to_owned)
    })
    .await
}

#[tokio::test]
async fn mentions_are_marked_and_counted_and_a_hidden_tab_notifies_as_each_room_says() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let ann = Browser::start().await;
    let a = &ann.client;
    before_each_document(a, RECORDER).await;
    open_app(a, &base, &broker.ws_url(), "").await;
    wait_connected(a).await;
    set_name(a, "Ann").await;
    join_room(a, "dev").await;
    wait_room(a, "dev", 10).await;
    open_room(a, "messages").await;
    wait_open(a, "messages", 10).await;
    let (bo, _) = person(&base, &broker.ws_url(), "Bo").await;
    let b = &bo.client;
    join_and_open(b, "dev").await;
    open_room(b, "messages").await;
    assert_eq!(asked(a).await, 0, "nothing asked on load");
    assert_eq!(notify_value(a).await, "off", "off until turned on");

    // Marked in Ann's tab, any case, never inside a word; not in Bo's own.
    send(b, "Bo", "hello @ANN, welcome").await;
    send(b, "Bo", "mail bob@ann.org").await;
    assert!(classes_of(a, "hello @ANN, welcome")
        .await
        .contains("mention"));
    assert!(!classes_of(a, "mail bob@ann.org").await.contains("mention"));
    assert!(!classes_of(b, "hello @ANN, welcome")
        .await
        .contains("mention"));
    // A plain client's mention too; HTML in it stays text.
    mosquitto_pub_to(
        broker.tcp_port,
        "messages",
        &chat_json("cli", "<b>@ann</b> from the shell"),
        1,
        false,
    );
    assert!(classes_of(a, "<b>@ann</b> from the shell")
        .await
        .contains("mention"));
    assert_no_serious_axe(a, "a mention and the notify choice").await;

    // Hidden, notifications off: nothing shown, but the title counts the mention.
    hide_tab(a).await;
    send(b, "Bo", "@Ann are you there?").await;
    send(b, "Bo", "no mention here").await;
    let t = eventually("the title to count", 10, || async {
        let t = title(a).await;
        t.starts_with("(2 · @1)").then_some(t)
    })
    .await;
    assert_eq!(t, "(2 · @1) MQTT chat");
    assert!(notes(a).await.is_empty(), "off: no notification");
    set_window(a, 900, 640).await;

    // Refused by the browser: said in words, the choice stays off.
    a.execute("window.__answer = 'denied'", vec![])
        .await
        .unwrap();
    choose_notify(a, "mentions").await;
    let words = eventually("the refusal in words", 5, || async {
        text_of(a, "notify-error").await.filter(|t| !t.is_empty())
    })
    .await;
    assert!(words.contains("blocked"), "{words}");
    assert_eq!(notify_value(a).await, "off");
    assert_eq!(asked(a).await, 1);

    // Allowed: mentions notify while hidden.
    a.execute(
        "window.__perm = 'default'; window.__answer = 'granted'; sessionStorage.setItem('test-perm', 'granted')",
        vec![],
    )
    .await
    .unwrap();
    choose_notify(a, "mentions").await;
    eventually("the choice to hold", 5, || async {
        (notify_value(a).await == "mentions"
            && text_of(a, "notify-error")
                .await
                .unwrap_or_default()
                .is_empty())
        .then_some(())
    })
    .await;
    assert_eq!(asked(a).await, 2, "asked when turned on");
    hide_tab(a).await;
    send(b, "Bo", "just chatting").await;
    send(b, "Bo", "@ann look at this").await;
    let shown = eventually("a notification", 10, || async {
        let n = notes(a).await;
        (!n.is_empty()).then_some(n)
    })
    .await;
    assert_eq!(
        shown,
        [(
            "Bo mentioned you in #messages".to_owned(),
            "@ann look at this".to_owned(),
            "messages".to_owned()
        )]
    );

    // In another room: mentions are the default there now. Clicking opens that room.
    open_room(b, "dev").await;
    send(b, "Bo", "@Ann over in dev").await;
    eventually("the dev notification", 10, || async {
        (notes(a).await.len() == 2).then_some(())
    })
    .await;
    assert_eq!(notes(a).await[1].2, "dev");
    set_window(a, 900, 640).await;
    a.execute(
        "const n = window.__notes[1]; n.onclick({ target: n });",
        vec![],
    )
    .await
    .unwrap();
    wait_open(a, "dev", 10).await;
    let closed = a
        .execute("return window.__notes[1].closed", vec![])
        .await
        .unwrap();
    assert_eq!(closed, true, "the notification goes once clicked");

    // Dev set to every message: a plain one notifies too. Kept across a reload.
    choose_notify(a, "all").await;
    eventually("every message", 5, || async {
        (notify_value(a).await == "all").then_some(())
    })
    .await;
    a.refresh().await.unwrap();
    wait_connected(a).await;
    wait_open(a, "dev", 10).await;
    assert_eq!(notify_value(a).await, "all", "kept across a reload");
    assert_eq!(asked(a).await, 0, "a reload asks nothing");
    hide_tab(a).await;
    send(b, "Bo", "plain words in dev").await;
    let n = eventually("a notification for every message", 10, || async {
        notes(a).await.into_iter().next()
    })
    .await;
    assert_eq!(
        n,
        (
            "Bo in #dev".into(),
            "plain words in dev".into(),
            "dev".into()
        )
    );
    ann.close().await;
    bo.close().await;
}
