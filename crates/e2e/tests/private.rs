//! Private rooms (issue 24), end to end: two tabs with the room's passphrase chat in it;
//! a third tab in the room without the passphrase shows every message as
//! `tr.undecryptable` in words, never the ciphertext, and reads them once it is given the
//! passphrase; a `mosquitto_sub` on `messages/#` never sees the text. Each test runs a
//! Mosquitto of its own.

use e2e::*;
use fantoccini::{Client, Locator};
use serde_json::Value;

const ROOM: &str = "secret-club";
const PASSPHRASE: &str = "correct horse battery staple";

/// Join `room` with `passphrase` through the room form (`#room-name`, `#room-key`).
async fn join_private(c: &Client, room: &str, passphrase: &str) {
    let key = c.find(Locator::Id("room-key")).await.expect("#room-key");
    key.clear().await.unwrap();
    key.send_keys(passphrase).await.unwrap();
    join_and_open(c, room).await;
    assert_eq!(
        c.execute("return document.getElementById('room-key').value", vec![])
            .await
            .unwrap(),
        Value::from(""),
        "the passphrase is not left in the box"
    );
}

/// Until the open room's key is ready (`#room-key-status`).
async fn key_ready(c: &Client) {
    eventually("the room's key", 20, || async {
        let words = c
            .execute(
                "return document.getElementById('room-key-status')?.textContent ?? ''",
                vec![],
            )
            .await
            .unwrap();
        words
            .as_str()
            .is_some_and(|w| w.contains("encrypted with this passphrase"))
            .then_some(())
    })
    .await;
}

/// (undecryptable rows, their message cells) in `#messages`.
async fn undecryptable(c: &Client) -> (usize, Vec<String>) {
    let v = c
        .execute(
            "const rows = [...document.querySelectorAll('#messages tr.undecryptable')];
             return [rows.length, rows.map(r => r.querySelector('td.message').textContent)];",
            vec![],
        )
        .await
        .unwrap();
    let texts = v[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    (v[0].as_u64().unwrap() as usize, texts)
}

async fn private_mark(c: &Client, room: &str) -> Option<String> {
    c.execute(
        "return [...document.querySelectorAll('#rooms li[data-room]')]
           .find(li => li.dataset.room === arguments[0])?.dataset.private ?? null",
        vec![Value::from(room)],
    )
    .await
    .unwrap()
    .as_str()
    .map(str::to_owned)
}

async fn messages_shown(c: &Client) -> Vec<String> {
    rows(c).await.into_iter().map(|r| r.message).collect()
}

#[tokio::test]
async fn two_tabs_with_the_passphrase_chat_and_a_third_without_it_cannot_read() {
    if mosquitto_only("the wire is read with mosquitto_sub on the test's Mosquitto") {
        return;
    }
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let wire = Deliveries::start_on(broker.tcp_port, &["messages/#", "chat/#"]).await;
    let (ann, bo, cy) = (
        Browser::start().await,
        Browser::start().await,
        Browser::start().await,
    );
    let (a, b, c) = (&ann.client, &bo.client, &cy.client);
    for tab in [a, b, c] {
        open_app(tab, &base, &broker.ws_url(), "").await;
        wait_connected(tab).await;
    }

    // Ann makes the room private; Bo joins with the same passphrase.
    join_private(a, ROOM, PASSPHRASE).await;
    key_ready(a).await;
    assert_eq!(private_mark(a, ROOM).await.as_deref(), Some("true"));
    join_private(b, ROOM, PASSPHRASE).await;
    key_ready(b).await;
    // Cy joins the room without it. A salt record alone does not make a room private
    // (anyone may publish one): no lock there.
    join_and_open(c, ROOM).await;

    let secrets = ["the plan is <b>on</b>", "meet at nine", "bring the map"];
    send(a, "ann", secrets[0]).await;
    send(b, "bo", secrets[1]).await;
    send(a, "ann", secrets[2]).await;
    for tab in [a, b] {
        eventually("both tabs read all three", 15, || async {
            let shown = messages_shown(tab).await;
            secrets
                .iter()
                .all(|s| shown.iter().any(|m| m == s))
                .then_some(())
        })
        .await;
        assert_eq!(undecryptable(tab).await.0, 0);
    }
    // HTML in a private message is text.
    assert_eq!(
        a.find_all(Locator::Css("#messages b")).await.unwrap().len(),
        0
    );
    // Cy sees three messages it cannot read, in words, and never the ciphertext.
    eventually("three undecryptable rows in the third tab", 15, || async {
        (undecryptable(c).await.0 == 3).then_some(())
    })
    .await;
    let (_, texts) = undecryptable(c).await;
    save_screenshot(
        "screenshot-private-no-key.png",
        &c.screenshot().await.unwrap(),
    );
    save_screenshot("screenshot-private.png", &a.screenshot().await.unwrap());
    for t in &texts {
        assert_eq!(t, "can't read this message: wrong or missing key");
    }
    let shown = messages_shown(c).await;
    assert!(
        !shown
            .iter()
            .any(|m| secrets.iter().any(|s| m.contains(s)) || m.contains("\"ct\"")),
        "{shown:?}"
    );

    // The broker's traffic: sealed JSON on the room's topic, a retained salt, no text.
    let room_topic = format!("messages/{ROOM}");
    eventually("the three sealed messages on the wire", 10, || async {
        (wire.count(&format!("{room_topic} {{\"enc\":1,")) >= 3).then_some(())
    })
    .await;
    // Each secret holds a space, which base64 never does: a match is the text itself.
    for s in secrets {
        assert_eq!(wire.count(s), 0, "{s:?} went over the wire in the clear");
    }
    assert_eq!(
        wire.count(&format!("chat/salt/{room_topic} {{\"salt\":")),
        1
    );
    assert_eq!(
        wire.count(&format!("chat/typing/{room_topic}")),
        0,
        "no typing signal in a private room"
    );

    assert_eq!(private_mark(c, ROOM).await, None);
    // Given the passphrase, Cy reads the rows it holds, in place.
    join_private(c, ROOM, PASSPHRASE).await;
    key_ready(c).await;
    assert_eq!(private_mark(c, ROOM).await.as_deref(), Some("true"));
    eventually(
        "the third tab reads them once it has the key",
        20,
        || async {
            let shown = messages_shown(c).await;
            (undecryptable(c).await.0 == 0 && shown == secrets).then_some(())
        },
    )
    .await;
    // A wrong passphrase in another room of the same name elsewhere is another test's; here
    // Cy's own message reaches the others.
    send(c, "cy", "count me in").await;
    for tab in [a, b] {
        eventually("Cy's message", 15, || async {
            messages_shown(tab)
                .await
                .iter()
                .any(|m| m == "count me in")
                .then_some(())
        })
        .await;
    }
    assert_eq!(wire.count("count me in"), 0);
    for browser in [ann, bo, cy] {
        browser.close().await;
    }
}

#[tokio::test]
async fn a_wrong_passphrase_reads_nothing_and_a_reload_keeps_the_room_private_without_its_key() {
    if mosquitto_only("one Mosquitto per test") {
        return;
    }
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let (ann, bo) = (Browser::start().await, Browser::start().await);
    let (a, b) = (&ann.client, &bo.client);
    for tab in [a, b] {
        open_app(tab, &base, &broker.ws_url(), "").await;
        wait_connected(tab).await;
    }
    join_private(a, ROOM, PASSPHRASE).await;
    key_ready(a).await;
    join_private(b, ROOM, "a wrong guess").await;
    key_ready(b).await;
    send(a, "ann", "only for friends").await;
    eventually(
        "an undecryptable row for the wrong passphrase",
        15,
        || async { (undecryptable(b).await.0 == 1).then_some(()) },
    )
    .await;
    assert!(!messages_shown(b)
        .await
        .iter()
        .any(|m| m.contains("friends")));

    // After a reload the room is still private, and without its key the history is sealed.
    a.refresh().await.unwrap();
    wait_connected(a).await;
    open_room(a, ROOM).await;
    assert_eq!(private_mark(a, ROOM).await.as_deref(), Some("true"));
    eventually(
        "the stored message is sealed after a reload",
        15,
        || async { (undecryptable(a).await.0 == 1).then_some(()) },
    )
    .await;
    let status = a
        .execute(
            "return document.getElementById('room-key-status').textContent",
            vec![],
        )
        .await
        .unwrap();
    assert!(status.as_str().unwrap().contains("no key"), "{status:?}");
    // Sending without the key is refused in words, the text kept.
    let input = a.find(Locator::Id("message")).await.unwrap();
    input.send_keys("not yet").await.unwrap();
    a.find(Locator::Id("publish"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the refusal", 10, || async {
        let v = a
            .execute(
                "return document.body.textContent.includes('no key for it yet')",
                vec![],
            )
            .await
            .unwrap();
        (v == Value::Bool(true)).then_some(())
    })
    .await;
    assert_eq!(
        a.execute("return document.getElementById('message').value", vec![])
            .await
            .unwrap(),
        Value::from("not yet")
    );
    // The passphrase again opens what was stored.
    join_private(a, ROOM, PASSPHRASE).await;
    key_ready(a).await;
    eventually("the stored message opens", 15, || async {
        messages_shown(a)
            .await
            .iter()
            .any(|m| m == "only for friends")
            .then_some(())
    })
    .await;
    // "Forget key": the room stays private, the key is gone from this tab, sending is
    // refused again.
    a.find(Locator::Css(&format!(
        "#rooms li[data-room=\"{ROOM}\"] button.forget-key"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    eventually("the key forgotten", 10, || async {
        let v = a
            .execute(
                "return [document.getElementById('room-key-status').textContent,
                         !document.querySelector('#rooms button.forget-key')]",
                vec![],
            )
            .await
            .unwrap();
        (v[0].as_str().unwrap().contains("no key") && v[1] == Value::Bool(true)).then_some(())
    })
    .await;
    assert_eq!(private_mark(a, ROOM).await.as_deref(), Some("true"));
    let input = a.find(Locator::Id("message")).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys("after forgetting").await.unwrap();
    a.find(Locator::Id("publish"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        a.execute("return document.getElementById('message').value", vec![])
            .await
            .unwrap(),
        Value::from("after forgetting"),
        "refused, the text kept"
    );
    assert!(!messages_shown(a)
        .await
        .iter()
        .any(|m| m == "after forgetting"));
    for browser in [ann, bo] {
        browser.close().await;
    }
}
