//! Private rooms (issue 24), end to end: two tabs with the room's passphrase chat in it;
//! a third tab in the room without the passphrase shows every message as
//! `tr.undecryptable` in words, never the ciphertext, and reads them once it is given the
//! passphrase; a `mosquitto_sub` on `messages/#` never sees the text. Key links, keys
//! remembered on this device, the key check, plain messages in a private room, search over
//! stored sealed messages. Each test runs a broker of its own: a Mosquitto, or an Aedes
//! node in the Aedes lane.

use e2e::*;
use fantoccini::{Client, Locator};
use serde_json::Value;

const ROOM: &str = "secret-club";
const PASSPHRASE: &str = "correct horse battery staple";

/// Click the element with id `id`.
async fn click_id(c: &Client, id: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click #{id}: {e}"));
}

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

/// Tick "Remember on this device", join `room` with `passphrase`, and wait for its key.
async fn join_private_remembered(c: &Client, room: &str, passphrase: &str) {
    click_id(c, "room-key-remember").await;
    join_private(c, room, passphrase).await;
    key_ready(c).await;
}

/// Type `text` and press Send: refused with `words` on the page, the text kept in the box.
async fn refused_send(c: &Client, text: &str, words: &str) {
    let input = c.find(Locator::Id("message")).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
    c.find(Locator::Id("publish"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(&format!("the refusal: {words}"), 10, || async {
        let v = c
            .execute(
                "return document.body.textContent.includes(arguments[0])",
                vec![Value::from(words)],
            )
            .await
            .unwrap();
        (v == Value::Bool(true)).then_some(())
    })
    .await;
    assert_eq!(
        c.execute("return document.getElementById('message').value", vec![])
            .await
            .unwrap(),
        Value::from(text),
        "refused, the text kept"
    );
}

/// Where the open room's key stands (`#room-key-status[data-key]`) and its words.
async fn key_status(c: &Client) -> (String, String) {
    let v = c
        .execute(
            "const s = document.getElementById('room-key-status');
             return [s?.dataset.key ?? '', s?.textContent ?? ''];",
            vec![],
        )
        .await
        .unwrap();
    (
        v[0].as_str().unwrap_or_default().to_owned(),
        v[1].as_str().unwrap_or_default().to_owned(),
    )
}

/// Until the open room's key is `state` (`#room-key-status[data-key]`).
async fn key_is(c: &Client, state: &str) -> String {
    eventually(&format!("the room's key {state}"), 20, || async {
        let (key, words) = key_status(c).await;
        (key == state).then_some(words)
    })
    .await
}

/// Until the open room's key is made (`ready`, or `checked` against the room's key check).
async fn key_ready(c: &Client) {
    eventually("the room's key made", 20, || async {
        let (key, _) = key_status(c).await;
        (key == "ready" || key == "checked").then_some(())
    })
    .await;
}

/// Until the open room's key is made and the room's key check says it is the room's.
async fn key_checked(c: &Client) {
    let words = key_is(c, "checked").await;
    assert!(words.contains("matches the room's key"), "{words}");
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

    // Ann makes the room private (her salt: nothing to check it against); Bo joins with
    // the same passphrase, which the room's key check confirms.
    join_private(a, ROOM, PASSPHRASE).await;
    let words = key_is(a, "ready").await;
    assert!(!words.contains("matches"), "{words}");
    assert_eq!(private_mark(a, ROOM).await.as_deref(), Some("true"));
    join_private(b, ROOM, PASSPHRASE).await;
    key_checked(b).await;
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
    // Given the passphrase, Cy reads the rows it holds, in place. Cy joined the room
    // before: the salt record heard then is the one its key is checked against (no new one
    // is made).
    join_private(c, ROOM, PASSPHRASE).await;
    key_checked(c).await;
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
    assert_eq!(
        wire.count(&format!("chat/salt/{room_topic} {{\"salt\":")),
        1,
        "one salt record, however late a member gives the passphrase"
    );
    for browser in [ann, bo, cy] {
        browser.close().await;
    }
}

#[tokio::test]
async fn a_wrong_passphrase_reads_nothing_and_a_reload_keeps_the_room_private_without_its_key() {
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
    // The room's key check tells a wrong passphrase at once, in words; nothing is sent
    // with it.
    join_private(b, ROOM, "a wrong guess").await;
    let words = key_is(b, "wrong").await;
    assert!(words.contains("does not match the room's key"), "{words}");
    b.find(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys("bo")
        .await
        .unwrap();
    refused_send(b, "sent with a wrong key", "does not match its key").await;
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
    let (key, words) = key_status(a).await;
    assert_eq!(key, "missing");
    assert!(words.contains("no key"), "{words}");
    // Sending without the key is refused in words, the text kept.
    refused_send(a, "not yet", "no key for it yet").await;
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
    refused_send(a, "after forgetting", "no key for it yet").await;
    assert!(!messages_shown(a)
        .await
        .iter()
        .any(|m| m == "after forgetting"));
    for browser in [ann, bo] {
        browser.close().await;
    }
}

/// Every record of every IndexedDB database of the page, as text (`db/store [records]`).
async fn stored_text(c: &Client) -> String {
    c.execute_async(
        "const done = arguments[arguments.length - 1];
         const ask = r => new Promise((ok, no) => { r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
         (async () => {
           const out = [];
           for (const info of await indexedDB.databases()) {
             const db = await ask(indexedDB.open(info.name));
             for (const name of db.objectStoreNames) {
               const all = await ask(db.transaction(name).objectStore(name).getAll());
               const keys = await ask(db.transaction(name).objectStore(name).getAllKeys());
               out.push(info.name + '/' + name + ' ' + JSON.stringify([keys, all],
                 (k, v) => v instanceof Uint8Array ? Array.from(v) : v));
             }
             db.close();
           }
           done(out.join('\\n'));
         })().catch(e => done('ERROR ' + e));",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// The words of the notice of `kind` (`[data-kind]`), once there is one.
async fn notice(c: &Client, kind: &str) -> String {
    eventually(&format!("the {kind} notice"), 10, || async {
        c.execute(
            "return document.querySelector(`[data-kind=\"${arguments[0]}\"]`)?.textContent || null",
            vec![Value::from(kind)],
        )
        .await
        .unwrap()
        .as_str()
        .map(str::to_owned)
    })
    .await
}

/// (message, class) of every row of the open room.
async fn row_classes(c: &Client) -> Vec<(String, String)> {
    let v = c
        .execute(
            "return [...document.querySelectorAll('#messages tr')]
               .map(tr => [tr.querySelector('td.message').textContent, tr.className]);",
            vec![],
        )
        .await
        .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                r[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_key_link_gives_the_room_and_its_key_and_a_message_in_the_clear_is_marked() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let wire = Deliveries::start_on(broker.tcp_port, &["messages/#"]).await;
    let (ann, bo) = (Browser::start().await, Browser::start().await);
    let (a, b) = (&ann.client, &bo.client);
    open_app(a, &base, &broker.ws_url(), "").await;
    wait_connected(a).await;

    // Ann makes the room private with a new random key, given as a link.
    let name = a.find(Locator::Id("room-name")).await.unwrap();
    name.send_keys("vault").await.unwrap();
    click_id(a, "new-key-link").await;
    wait_open(a, "vault", 10).await;
    let link = eventually("the key link", 10, || async {
        Some(input_value(a, "room-key-link").await).filter(|l| !l.is_empty())
    })
    .await;
    assert!(link.contains("?broker="), "{link}");
    assert!(link.contains("#room=vault&key="), "{link}");
    key_is(a, "ready").await;
    assert_eq!(private_mark(a, "vault").await.as_deref(), Some("true"));
    // A second new key for the open room, private already, is refused: it would shut out
    // everyone with the link.
    click_id(a, "new-key-link").await;
    let refused = eventually("the second key refused", 10, || async {
        room_error(a).await.filter(|e| !e.is_empty())
    })
    .await;
    assert!(refused.contains("private already"), "{refused}");
    assert_eq!(
        input_value(a, "room-key-link").await,
        link,
        "the room's key kept"
    );

    // A broken link, opened in a new tab: refused in words, nothing joined.
    let fragment_at = link.find('#').unwrap();
    b.goto(&format!("{}#room=vault2&key=AAAA", &link[..fragment_at]))
        .await
        .unwrap();
    wait_connected(b).await;
    let refused = notice(b, "room-refused").await;
    assert!(refused.contains("3 bytes, not 32"), "{refused}");
    assert!(private_mark(b, "vault2").await.is_none());
    let joined = b
        .execute(
            "return !!document.querySelector('#rooms li[data-room=\"vault2\"]')",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(joined, Value::Bool(false), "a broken link joins nothing");

    // Then Ann's link, in the same tab: the room, its key, and the key out of the address.
    b.goto(&link).await.unwrap();
    wait_open(b, "vault", 10).await;
    key_is(b, "ready").await;
    assert_eq!(private_mark(b, "vault").await.as_deref(), Some("true"));
    let address = b.current_url().await.unwrap().to_string();
    assert!(!address.contains("key="), "{address}");

    // Another key for the same room, as a link (a hostile one, say): refused, the room's
    // key kept.
    let other = format!("{}#room=vault&key={}", &link[..fragment_at], "A".repeat(43));
    b.goto(&other).await.unwrap();
    eventually("the second link refused", 10, || async {
        let words = notice(b, "room-refused").await;
        words
            .contains("private in this browser already")
            .then_some(())
    })
    .await;
    let address = b.current_url().await.unwrap().to_string();
    assert!(!address.contains("key="), "{address}");

    let secrets = ["under the floorboards", "behind the clock"];
    send(a, "ann", secrets[0]).await;
    send(b, "bo", secrets[1]).await;
    for tab in [a, b] {
        eventually("both read both", 15, || async {
            let shown = messages_shown(tab).await;
            secrets
                .iter()
                .all(|s| shown.iter().any(|m| m == s))
                .then_some(())
        })
        .await;
    }
    // Sealed with the link's key: no salt named, no text on the wire.
    eventually("two sealed messages on the wire", 10, || async {
        (wire.count("messages/vault {\"enc\":1,\"iv\":") >= 2).then_some(())
    })
    .await;
    for s in secrets {
        assert_eq!(wire.count(s), 0, "{s:?} went over the wire in the clear");
    }

    // Someone sends into the private room in the clear: the row says so, the others don't.
    mosquitto_pub_to(
        broker.tcp_port,
        "messages/vault",
        &chat_json("eve", "in the clear"),
        1,
        false,
    );
    let classes = eventually("the message in the clear", 15, || async {
        let classes = row_classes(a).await;
        classes
            .iter()
            .any(|(m, _)| m == "in the clear")
            .then_some(classes)
    })
    .await;
    for (message, class) in &classes {
        let marked = class.split(' ').any(|c| c == "unencrypted");
        assert_eq!(marked, message == "in the clear", "{message}: {class}");
    }

    // What Ann's browser stored of the room is sealed: the history holds no text.
    let stored = eventually("the sealed messages stored", 15, || async {
        let stored = stored_text(a).await;
        (stored.matches("{\\\"enc\\\":1").count() >= 2).then_some(stored)
    })
    .await;
    assert!(!stored.starts_with("ERROR"), "{stored}");
    for s in secrets {
        assert!(
            !stored.contains(s),
            "{s:?} was stored in the clear: {stored}"
        );
    }
    for browser in [ann, bo] {
        browser.close().await;
    }
}

#[tokio::test]
async fn a_remembered_key_opens_the_room_after_a_reload_and_its_stored_messages_are_searched() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let ann = Browser::start().await;
    let a = &ann.client;
    open_app(a, &base, &broker.ws_url(), "").await;
    wait_connected(a).await;

    // Ann makes the room private with a passphrase, remembered on this device.
    join_private_remembered(a, ROOM, PASSPHRASE).await;
    let (_, words) = key_status(a).await;
    assert!(words.contains("remembered on this device"), "{words}");
    send(a, "ann", "the vault code is 4711").await;
    wait_own_delivered(a, "the vault code", 1, 15).await;

    // Back in the default room, then a reload: the key comes back from this device.
    open_room(a, "messages").await;
    wait_open(a, "messages", 5).await;
    a.refresh().await.unwrap();
    wait_connected(a).await;
    wait_open(a, "messages", 5).await;
    // The search finds the private room's stored message, opened by the remembered key:
    // its room was not opened since the reload, so no row of it is held anywhere.
    let search = a.find(Locator::Id("search")).await.expect("#search");
    search.send_keys("4711").await.unwrap();
    let found = eventually("the stored private message found", 20, || async {
        let v = a
            .execute(
                "const panel = document.querySelector('#search-results');
                 if (!panel || panel.closest('[hidden]')) return [];
                 return [...panel.querySelectorAll('li')].map(li =>
                   [li.dataset.room ?? '', li.querySelector('.search-text')?.textContent ?? '']);",
                vec![],
            )
            .await
            .unwrap();
        let found: Vec<(String, String)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap().to_owned(),
                    r[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert_eq!(
        found,
        [(ROOM.to_owned(), "the vault code is 4711".to_owned())]
    );
    search.clear().await.unwrap();

    // The room opens readable, no passphrase typed.
    open_room(a, ROOM).await;
    wait_open(a, ROOM, 5).await;
    let words = key_is(a, "ready").await;
    assert!(words.contains("remembered on this device"), "{words}");
    eventually("the stored message opens", 15, || async {
        messages_shown(a)
            .await
            .iter()
            .any(|m| m == "the vault code is 4711")
            .then_some(())
    })
    .await;
    assert_eq!(undecryptable(a).await.0, 0);
    let stored = stored_text(a).await;
    // The database's name carries the connection's scope: `mqtt-chat-keys@@<broker>`.
    assert!(stored.contains("mqtt-chat-keys@@"), "{stored}");
    assert!(stored.contains(&format!("room:{ROOM}")), "{stored}");
    assert!(!stored.contains("4711"), "stored in the clear: {stored}");

    // "Forget key" forgets it on this device too: after a reload the room has no key.
    a.find(Locator::Css(&format!(
        "#rooms li[data-room=\"{ROOM}\"] button.forget-key"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    key_is(a, "missing").await;
    eventually("the kept key deleted", 10, || async {
        let stored = stored_text(a).await;
        (stored.contains("mqtt-chat-keys@@") && !stored.contains(&format!("room:{ROOM}")))
            .then_some(())
    })
    .await;
    a.refresh().await.unwrap();
    wait_connected(a).await;
    wait_open(a, ROOM, 5).await;
    let (key, _) = key_status(a).await;
    assert_eq!(key, "missing");
    eventually("the stored message sealed again", 15, || async {
        (undecryptable(a).await.0 == 1).then_some(())
    })
    .await;
    ann.close().await;
}

/// Breaks if the text of a private message that fails after it was sealed is lost: sealing
/// makes it about a third larger, past the broker's maximum packet size (MQTT 5 says it in
/// its CONNACK), after the box was emptied.
#[tokio::test]
async fn a_private_message_too_large_once_sealed_comes_back_into_the_box() {
    if mosquitto_only("MQTT 5's maximum packet size, from the broker's config") {
        return;
    }
    let broker = Broker::start(&[("max_packet_size ", "max_packet_size 5000")]);
    let base = serve_dist(dist());
    let ann = Browser::start().await;
    let a = &ann.client;
    open_app(a, &base, &broker.ws_url(), "&protocol=5").await;
    wait_connected(a).await;
    join_private(a, ROOM, PASSPHRASE).await;
    key_ready(a).await;
    // Under 5,000 bytes as plain JSON, over it sealed.
    let text = format!("long {}", "x".repeat(3_900));
    send(a, "ann", &text).await;
    let why = eventually("the notice", 15, || async {
        a.execute(
            "return document.querySelector('[data-kind=\"private-send\"]')?.textContent || null",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .map(str::to_owned)
    })
    .await;
    assert!(why.contains("too large"), "{why}");
    eventually("the text back in the box", 10, || async {
        let v = a
            .execute("return document.getElementById('message').value", vec![])
            .await
            .unwrap();
        (v.as_str() == Some(text.as_str())).then_some(())
    })
    .await;
    assert!(!messages_shown(a)
        .await
        .iter()
        .any(|m| m.starts_with("long ")));
    ann.close().await;
}

/// Before each document of a tab: every AES-GCM encryption records whether its key is
/// extractable (`window.__sealExtractable`), and the keys' database (`mqtt-chat-keys`)
/// cannot be opened, as when the browser refuses it.
const SPY_AND_BLOCK_KEYS: &str = "
    window.__sealExtractable = [];
    const encrypt = SubtleCrypto.prototype.encrypt;
    SubtleCrypto.prototype.encrypt = function (alg, key, data) {
        if (alg && alg.name === 'AES-GCM') window.__sealExtractable.push(key.extractable);
        return encrypt.call(this, alg, key, data);
    };
    const open = IDBFactory.prototype.open;
    IDBFactory.prototype.open = function (name, ...rest) {
        if (String(name).startsWith('mqtt-chat-keys'))
            throw new DOMException('blocked by the test', 'SecurityError');
        return open.call(this, name, ...rest);
    };";

/// Breaks if: a key that could not be remembered is used extractable (any script in the
/// page could read its bytes), or the status does not say that it was not remembered.
#[tokio::test]
async fn a_key_that_cannot_be_remembered_is_said_so_and_never_used_extractable() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let ann = Browser::start().await;
    let a = &ann.client;
    before_each_document(a, SPY_AND_BLOCK_KEYS).await;
    open_app(a, &base, &broker.ws_url(), "").await;
    wait_connected(a).await;

    // A passphrase, to be remembered: the room is made, its key is not kept, in words.
    join_private_remembered(a, ROOM, PASSPHRASE).await;
    let words = eventually(
        "the status to say the key was not remembered",
        10,
        || async {
            let (_, words) = key_status(a).await;
            words
                .contains("could not be remembered on this device")
                .then_some(words)
        },
    )
    .await;
    assert!(words.contains("used in this tab only"), "{words}");
    // What is sealed from here on uses a key that is not extractable. (The key check of
    // the new room was made with the key still waiting to be wrapped.)
    one_seal_not_extractable(a, "sealed with a key nobody can read out").await;

    // The same through a key link: made here, so a second room with a new random key.
    let link = new_key_link_in(a, "second-club").await;
    assert!(link.contains("#room=second-club&key="), "{link}");
    let (_, words) = key_status(a).await;
    assert!(
        words.contains("could not be remembered on this device"),
        "{words}"
    );
    one_seal_not_extractable(a, "also sealed").await;
    ann.close().await;
}

/// Send `text` in the open (private) room: it is sealed once, with a key that is not
/// extractable (as [`SPY_AND_BLOCK_KEYS`] saw it).
async fn one_seal_not_extractable(c: &Client, text: &str) {
    c.execute("window.__sealExtractable = []", vec![])
        .await
        .unwrap();
    send(c, "ann", text).await;
    wait_own_delivered(c, text, 1, 15).await;
    let used = c
        .execute("return window.__sealExtractable", vec![])
        .await
        .unwrap();
    assert_eq!(
        used,
        serde_json::json!([false]),
        "one seal, not extractable"
    );
}

/// "New key link" for `room`, with "Remember on this device" ticked: the link, once shown.
async fn new_key_link_in(c: &Client, room: &str) -> String {
    c.execute(
        "const r = document.getElementById('room-key-remember'); if (!r.checked) r.click();",
        vec![],
    )
    .await
    .unwrap();
    let name = c.find(Locator::Id("room-name")).await.unwrap();
    name.clear().await.unwrap();
    name.send_keys(room).await.unwrap();
    click_id(c, "new-key-link").await;
    wait_open(c, room, 10).await;
    key_ready(c).await;
    eventually("the key link", 10, || async {
        Some(input_value(c, "room-key-link").await).filter(|l| !l.is_empty())
    })
    .await
}
