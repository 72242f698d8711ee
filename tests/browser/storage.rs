//! What this browser keeps, in headless Chromium against a real Mosquitto and the real
//! IndexedDB: the history across remounts, one record per message whoever writes it, bad
//! records, the bound, clearing, no IndexedDB at all, and unsent messages that were left
//! behind.

use std::collections::HashSet;

use crate::common::{
    closed_port, config, outsider, quiet_for, unique_topic, wait_for, wait_for_async, wait_until,
    Mounted,
};
use chat::{ChatMessage, Recorder};
use mqtt_chat::persist::outbox::Unsent;
use mqtt_chat::persist::writer::{Op, Writer};
use mqtt_chat::persist::{history, outbox, Db};
use mqtt_chat::AppConfig;
use mqtt_core::QoS;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

/// The app on `topic`, pointed at a port where no broker listens.
fn offline(topic: &str) -> AppConfig {
    AppConfig {
        broker_url: Ok(format!("ws://127.0.0.1:{}", closed_port())),
        ..crate::common::config(topic)
    }
}

fn messages(app: &Mounted) -> Vec<String> {
    app.all("#messages tr td.message")
        .iter()
        .map(|td| td.text_content().unwrap_or_default())
        .collect()
}

/// Send `text` from the form, and wait until its own row shows.
async fn send(app: &Mounted, text: &str) {
    app.type_into("#name", "Ada");
    app.type_into("#message", text);
    app.click("#publish");
    wait_for(&format!("the own row {text:?}"), 5000.0, || {
        app.all("#messages tr.own td.message")
            .into_iter()
            .find(|td| td.text_content().as_deref() == Some(text))
    })
    .await;
}

/// How many messages of `topic` the history store holds.
async fn stored(db: &Db, topic: &str) -> usize {
    history::load(db, topic).await.unwrap().messages.len()
}

/// Until `n` own rows read `delivered`.
async fn delivered(app: &Mounted, n: usize) {
    wait_for(&format!("{n} delivered rows"), 8000.0, || {
        (app.all("#messages tr.own [data-delivery=delivered]").len() == n).then_some(())
    })
    .await;
}

/// Write records the way the app does, and wait until they are in.
async fn write(db: &Db, ops: Vec<Op>) {
    let done = std::rc::Rc::new(std::cell::Cell::new(false));
    let flag = done.clone();
    let writer = Writer::new(move |_| flag.set(true));
    writer.attach(Some(db.clone()));
    for op in ops {
        writer.push(op);
    }
    writer.flush_now();
    wait_for("the write", 5000.0, || done.get().then_some(())).await;
}

fn chat_json(name: &str, text: &str, id: Option<&str>) -> Vec<u8> {
    ChatMessage {
        name: name.into(),
        message: text.into(),
        id: id.map(Into::into),
        from: None,
        ts: None,
        ..Default::default()
    }
    .to_json()
}

/// Put a raw value under a raw key, as something other than this app might.
async fn put_raw(store: &str, key: &JsValue, value: &JsValue) {
    let db = idb::Factory::new()
        .unwrap()
        .open(mqtt_chat::persist::DB_NAME, None)
        .unwrap()
        .await
        .unwrap();
    let tx = db
        .transaction(&[store], idb::TransactionMode::ReadWrite)
        .unwrap();
    tx.object_store(store)
        .unwrap()
        .put(value, Some(key))
        .unwrap()
        .await
        .unwrap();
    assert!(tx.await.unwrap().is_committed());
}

fn key2(a: &str, b: JsValue) -> JsValue {
    js_sys::Array::of2(&JsValue::from_str(a), &b).into()
}

fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in fields {
        js_sys::Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

/// An unsent message stored under a client id no tab uses (`prefix` + random), as a tab that
/// went away would leave it. Returns that id.
async fn leave_unsent(db: &Db, prefix: &str, topic: String, text: &str) -> String {
    let owner = format!("{prefix}{}", mqtt_chat::browser::random_hex(4).unwrap());
    let message = ChatMessage {
        name: "Ada".into(),
        message: text.into(),
        id: Some(mqtt_chat::browser::random_hex(6).unwrap()),
        from: Some("someone".into()),
        ts: Some(5.0),
        ..Default::default()
    };
    let unsent = Unsent {
        seq: 5000.0,
        topic,
        message,
    };
    write(
        db,
        vec![Op::OutboxPut {
            owner: owner.clone(),
            unsent,
        }],
    )
    .await;
    owner
}

/// The client id the view connects with.
fn client_id(app: &Mounted) -> String {
    app.find("#connect-badge")
        .and_then(|b| b.get_attribute("data-client-id"))
        .unwrap()
}

#[wasm_bindgen_test]
async fn a_remounted_view_shows_the_stored_conversation_with_no_broker_at_all() {
    let topic = unique_topic("hist");
    {
        let app = Mounted::new(config(&topic));
        app.wait_connected().await;
        for text in ["one", "two", "three"] {
            send(&app, text).await;
        }
        delivered(&app, 3).await;
        let out = outsider(&topic).await;
        out.publish(
            &topic,
            chat_json("Bo", "four", Some("h-4")),
            QoS::AtLeastOnce,
        )
        .unwrap();
        wait_for("the message from outside", 5000.0, || {
            (app.total() == "4").then_some(())
        })
        .await;
        let db = Db::open().await.unwrap();
        wait_for_async("the writer's batches in storage", 5000.0, || async {
            (stored(&db, &topic).await == 4).then_some(())
        })
        .await;
    }
    // No broker this time: what shows comes from storage alone.
    let app = Mounted::new(offline(&topic));
    wait_for("the stored rows", 5000.0, || {
        (messages(&app).len() == 4).then_some(())
    })
    .await;
    assert_eq!(messages(&app), ["one", "two", "three", "four"]);
    assert_eq!(app.total(), "4", "data-total counts the history");
    assert_ne!(app.badge().1, "connected");
    // "ready" once the whole stored history is read: the rows come first, the room's
    // stored reactions (read after them) a moment later.
    wait_for("data-history ready", 5000.0, || {
        (app.find("#messages")
            .unwrap()
            .get_attribute("data-history")
            .as_deref()
            == Some("ready"))
        .then_some(())
    })
    .await;
    // (Which rows are "own" depends on the author id, which a remount in the same page
    // does not keep: the first view's Web Lock is held until the page goes away. A real
    // reload keeps it: crates/e2e/tests/history.rs.)
}

#[wasm_bindgen_test]
async fn duplicates_are_kept_once_and_texts_without_ids_each_time() {
    let topic = unique_topic("dups");
    {
        let app = Mounted::new(config(&topic));
        app.wait_connected().await;
        let out = outsider(&topic).await;
        wait_for("the subscription", 5000.0, || {
            out.publish(&topic, chat_json("a", "m1", Some("d-1")), QoS::AtLeastOnce)
                .unwrap();
            (app.total() == "1").then_some(())
        })
        .await;
        for p in [
            chat_json("a", "m2", Some("d-2")),
            chat_json("a", "m1", Some("d-1")),
            chat_json("cli", "same", None),
            chat_json("cli", "same", None),
            b"plain text".to_vec(),
        ] {
            out.publish(&topic, p, QoS::AtLeastOnce).unwrap();
        }
        wait_for("five rows", 5000.0, || (app.total() == "5").then_some(())).await;
        let db = Db::open().await.unwrap();
        wait_for_async("the writer's batches in storage", 5000.0, || async {
            (stored(&db, &topic).await >= 5).then_some(())
        })
        .await;
    }
    let app = Mounted::new(offline(&topic));
    wait_for("the stored rows", 5000.0, || {
        (app.total() == "5").then_some(())
    })
    .await;
    assert_eq!(messages(&app), ["m1", "m2", "same", "same", "plain text"]);
    assert_eq!(app.all("#messages tr.raw").len(), 1);
}

#[wasm_bindgen_test]
async fn two_views_writing_at_once_keep_one_record_per_message() {
    let topic = unique_topic("two");
    let a = Mounted::new(config(&topic));
    let b = Mounted::new(config(&topic));
    a.wait_connected().await;
    b.wait_connected().await;
    let out = outsider(&topic).await;
    wait_for("both subscribed", 5000.0, || {
        out.publish(
            &topic,
            chat_json("o", "probe", Some("t-probe")),
            QoS::AtLeastOnce,
        )
        .unwrap();
        (a.total() == "1" && b.total() == "1").then_some(())
    })
    .await;
    // A message without an id is named by its text and the 10-second window it arrived in
    // (chat::Recorder): two views receiving one on either side of a window's edge keep it
    // twice, the limit the README states. That is not what this test is about: the burst
    // starts early in a window (it takes a few seconds), so no message straddles an edge.
    // (Seen once: 42 records for 41 messages, in a fresh-clone run.)
    if js_sys::Date::now() % 10_000.0 > 4_000.0 {
        let aligned = wait_until(11_000.0, || js_sys::Date::now() % 10_000.0 < 500.0).await;
        assert!(aligned, "the clock reached a new 10-second window");
    }
    for i in 0..10 {
        send(&a, &format!("a{i}")).await;
        send(&b, &format!("b{i}")).await;
        out.publish(
            &topic,
            chat_json("o", &format!("o{i}"), Some(&format!("t-{i}"))),
            QoS::AtLeastOnce,
        )
        .unwrap();
        out.publish(
            &topic,
            chat_json("cli", &format!("anon{i}"), None),
            QoS::AtLeastOnce,
        )
        .unwrap();
    }
    for app in [&a, &b] {
        wait_for("41 rows", 8000.0, || (app.total() == "41").then_some(())).await;
    }
    delivered(&a, 10).await;
    delivered(&b, 10).await;
    let db = Db::open().await.unwrap();
    wait_for_async("every message in storage", 5000.0, || async {
        (stored(&db, &topic).await >= 41).then_some(())
    })
    .await;
    // Both views write every message, each in its own batches: the later one's must not
    // add a second record of any.
    quiet_for(500, "a view's later batch storing a message again").await;
    let stored = history::load(&db, &topic).await.unwrap();
    assert_eq!(stored.skipped, 0);
    // Keys are unique by construction; what matters is that no message is kept under two
    // keys (as an id-less message named differently by the two views would be).
    let texts: HashSet<String> = stored
        .messages
        .iter()
        .filter_map(|m| match chat::decode_payload(&m.payload) {
            chat::Payload::Chat(c) => Some(c.message),
            chat::Payload::Raw { .. } => None,
        })
        .collect();
    assert_eq!(texts.len(), stored.messages.len(), "no message kept twice");
    assert_eq!(
        stored.messages.len(),
        41,
        "every message once: none lost, none doubled"
    );
}

#[wasm_bindgen_test]
async fn without_indexeddb_the_chat_works_and_says_so() {
    let window = web_sys::window().unwrap();
    let key = JsValue::from_str("indexedDB");
    let saved = js_sys::Object::get_own_property_descriptor(&window, &key);
    let blocked = object(&[
        ("value", JsValue::UNDEFINED),
        ("configurable", JsValue::TRUE),
    ]);
    js_sys::Object::define_property(&window, &key, blocked.unchecked_ref());

    let topic = unique_topic("noidb");
    let app = Mounted::new(config(&topic));
    app.wait_connected().await;
    let notice = wait_for("the notice", 5000.0, || {
        app.find("#notices li[data-kind=history-off]")
    })
    .await;
    assert!(
        notice
            .text_content()
            .unwrap_or_default()
            .starts_with("History is off"),
        "{:?}",
        notice.text_content()
    );
    send(&app, "still works").await;
    delivered(&app, 1).await;
    assert_eq!(
        app.find("#messages")
            .unwrap()
            .get_attribute("data-history")
            .as_deref(),
        Some("off")
    );
    drop(app);

    if saved.is_undefined() {
        js_sys::Reflect::delete_property(&window, &key).unwrap();
    } else {
        js_sys::Object::define_property(&window, &key, saved.unchecked_ref());
    }
}

#[wasm_bindgen_test]
async fn unreadable_records_are_skipped_counted_and_the_rest_shown() {
    let topic = unique_topic("junk");
    let db = Db::open().await.unwrap();
    let mut rec = Recorder::default();
    write(
        &db,
        vec![
            Op::History(rec.record(
                &topic,
                &chat_json("a", "good 1", Some("j1")),
                Some("j1"),
                1.0,
            )),
            Op::History(rec.record(
                &topic,
                &chat_json("a", "good 2", Some("j2")),
                Some("j2"),
                2.0,
            )),
        ],
    )
    .await;
    let t = JsValue::from_str(&topic);
    put_raw(
        "history",
        &key2(&topic, "junk-1".into()),
        &object(&[
            ("t", t.clone()),
            ("s", 1.5.into()),
            ("u", 5.into()),
            ("p", "x".into()),
        ]),
    )
    .await;
    put_raw(
        "history",
        &key2(&topic, "junk-2".into()),
        &object(&[
            ("t", t.clone()),
            ("s", 1.7.into()),
            ("u", "junk-2".into()),
            ("p", 42.into()),
        ]),
    )
    .await;
    let app = Mounted::new(offline(&topic));
    let notice = wait_for("the notice", 5000.0, || {
        app.find("#notices li[data-kind=records-skipped]")
    })
    .await;
    assert_eq!(
        notice
            .text_content()
            .unwrap_or_default()
            .trim_end_matches('×'),
        "2 stored records could not be read and were skipped."
    );
    assert_eq!(messages(&app), ["good 1", "good 2"]);
}

#[wasm_bindgen_test]
async fn history_keeps_the_newest_thousand_of_each_topic() {
    let topic = unique_topic("bound");
    let db = Db::open().await.unwrap();
    let mut rec = Recorder::default();
    let ops: Vec<Op> = (0..1250)
        .map(|i| {
            let id = format!("b{i}");
            Op::History(rec.record(
                &topic,
                &chat_json("a", &format!("n{i}"), Some(&id)),
                Some(&id),
                1000.0 + i as f64,
            ))
        })
        .collect();
    write(&db, ops).await;
    let stored = history::load(&db, &topic).await.unwrap();
    assert_eq!(stored.messages.len(), 1000);
    let first = String::from_utf8(stored.messages[0].payload.clone()).unwrap();
    assert!(
        first.contains("\"n250\""),
        "the oldest were evicted: {first}"
    );
    // In storage, not only in what a load returns: at most the slack over the bound.
    let raw = idb::Factory::new()
        .unwrap()
        .open(mqtt_chat::persist::DB_NAME, None)
        .unwrap()
        .await
        .unwrap();
    let tx = raw
        .transaction(&["history"], idb::TransactionMode::ReadOnly)
        .unwrap();
    let index = tx
        .object_store("history")
        .unwrap()
        .index("by-topic")
        .unwrap();
    let lower = js_sys::Array::of1(&JsValue::from_str(&topic));
    let upper = js_sys::Array::of2(&JsValue::from_str(&topic), &js_sys::Array::new());
    let range = idb::KeyRange::bound(&lower, &upper, None, None).unwrap();
    let count = index.count(Some(range.into())).unwrap().await.unwrap();
    assert!(count <= 1100, "{count} records kept");
}

#[wasm_bindgen_test]
async fn clear_history_empties_the_view_and_the_store_but_keeps_unsent_messages() {
    let topic = unique_topic("clear");
    let db = Db::open().await.unwrap();
    let mut rec = Recorder::default();
    write(
        &db,
        vec![Op::History(rec.record(
            &topic,
            &chat_json("a", "old", Some("c1")),
            Some("c1"),
            1.0,
        ))],
    )
    .await;
    let app = Mounted::new(offline(&topic));
    wait_for("the stored row", 5000.0, || {
        (app.total() == "1").then_some(())
    })
    .await;
    wait_for("the form is ready", 5000.0, || {
        app.find("#connect-badge[data-client-id]")
    })
    .await;
    send(&app, "waiting").await;
    wait_for("the queued row", 5000.0, || {
        let hint = app.text("#hint");
        assert!(hint.is_empty(), "{hint}");
        app.find("#messages tr.own [data-delivery=queued]")
    })
    .await;
    app.click("#clear-history");
    wait_for("the cleared view", 5000.0, || {
        (messages(&app) == ["waiting"]).then_some(())
    })
    .await;
    assert_eq!(app.total(), "1");
    // The view clears at once; the store when the writer's next batch is written (it goes
    // behind whatever history was still queued, so nothing cleared comes back).
    wait_for_async("the stored history cleared", 5000.0, || {
        let (db, topic) = (db.clone(), topic.clone());
        async move {
            history::load(&db, &topic)
                .await
                .unwrap()
                .messages
                .is_empty()
                .then_some(())
        }
    })
    .await;
    let me = client_id(&app);
    let unsent = outbox::load(&db, &me).await.unwrap();
    assert_eq!(unsent.unsent.len(), 1, "the unsent message stays stored");
}

#[wasm_bindgen_test]
async fn unsent_messages_of_an_id_no_tab_will_use_are_adopted_and_delivered() {
    let topic = unique_topic("adopt");
    let db = Db::open().await.unwrap();
    let gone = leave_unsent(&db, "chat-gone", topic.clone(), "left behind").await;
    let app = Mounted::new(config(&topic));
    app.wait_connected().await;
    delivered(&app, 1).await;
    assert_eq!(messages(&app), ["left behind"]);
    let me = client_id(&app);
    wait_for_async(
        "the delivered message gone from storage",
        5000.0,
        || async {
            (outbox::load(&db, &gone).await.unwrap().unsent.is_empty()
                && outbox::load(&db, &me).await.unwrap().unsent.is_empty())
            .then_some(())
        },
    )
    .await;
}

#[wasm_bindgen_test]
async fn an_unsent_message_that_cannot_be_queued_stays_stored_with_a_notice() {
    let topic = unique_topic("stuck");
    let db = Db::open().await.unwrap();
    leave_unsent(&db, "chat-stuck", format!("{topic}/#"), "to a bad topic").await;
    let app = Mounted::new(config(&topic));
    app.wait_connected().await;
    let notice = wait_for("the notice", 5000.0, || {
        app.find("#notices li[data-kind=unsent-not-queued]")
    })
    .await;
    assert!(
        notice
            .text_content()
            .unwrap_or_default()
            .contains("1 unsent message could not be sent"),
        "{:?}",
        notice.text_content()
    );
    let me = client_id(&app);
    quiet_for(
        300,
        "the message that could not be queued dropped from storage",
    )
    .await;
    let stored = outbox::load(&db, &me).await.unwrap().unsent;
    assert_eq!(stored.len(), 1, "still stored");
    // Leave nothing behind for the views the other tests mount in this page.
    write(
        &db,
        vec![Op::OutboxDelete {
            owner: me,
            seq: stored[0].seq,
        }],
    )
    .await;
}

#[wasm_bindgen_test]
async fn an_old_localstorage_outbox_moves_over_keeping_every_entry_that_parses() {
    let topic = unique_topic("legacy");
    let owner = format!("chat-legacy{}", mqtt_chat::browser::random_hex(3).unwrap());
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    // The owner is in the reuse pool, as it was with the earlier version.
    let pool: Vec<String> = mqtt_chat::browser::identity::known_ids();
    let mut with_owner = vec![owner.clone()];
    with_owner.extend(pool);
    storage
        .set_item(
            "mqtt-chat.client-ids",
            &serde_json::to_string(&with_owner).unwrap(),
        )
        .unwrap();
    let blob = format!(
        r#"{{"entries":[{{"topic":"{topic}","message":{{"name":"a","message":"kept 1","id":"{owner}-1"}}}},{{"topic":"{topic}","message":"garbage"}},{{"topic":"{topic}","message":{{"name":"a","message":"kept 2","id":"{owner}-2"}}}}]}}"#
    );
    storage
        .set_item(&format!("mqtt-chat.outbox.{owner}"), &blob)
        .unwrap();
    let app = Mounted::new(config(&topic));
    app.wait_connected().await;
    delivered(&app, 2).await;
    assert_eq!(messages(&app), ["kept 1", "kept 2"]);
    assert!(app.find("#notices li[data-kind=records-skipped]").is_some());
    assert!(storage
        .get_item(&format!("mqtt-chat.outbox.{owner}"))
        .unwrap()
        .is_none());
}

#[wasm_bindgen_test]
async fn a_live_views_unsent_messages_are_left_to_it() {
    let topic = unique_topic("live");
    let a = Mounted::new(offline(&topic));
    wait_for("A's client id", 5000.0, || {
        a.find("#connect-badge[data-client-id]")
    })
    .await;
    send(&a, "mine, not yours").await;
    wait_for("A's queued row", 5000.0, || {
        a.find("#messages tr.own [data-delivery=queued]")
    })
    .await;
    let db = Db::open().await.unwrap();
    let a_id = client_id(&a);
    wait_for_async("A's unsent message in storage", 5000.0, || async {
        (!outbox::load(&db, &a_id).await.unwrap().unsent.is_empty()).then_some(())
    })
    .await;
    assert_eq!(outbox::load(&db, &a_id).await.unwrap().unsent.len(), 1);

    // B starts while A is open: A's lock is held, so A's message stays A's.
    let b = Mounted::new(config(&topic));
    b.wait_connected().await;
    quiet_for(500, "B adopting A's unsent message").await;
    let b_id = client_id(&b);
    assert!(
        outbox::load(&db, &b_id).await.unwrap().unsent.is_empty(),
        "B took over A's unsent message"
    );
    assert!(
        b.find("#messages tr.own").is_none(),
        "B shows A's message as its own, to send"
    );
    assert_eq!(
        outbox::load(&db, &a_id).await.unwrap().unsent.len(),
        1,
        "A's unsent message is still A's"
    );
}

/// Open `name` (a database no one opened yet) as version 1, create the app's stores in the
/// upgrade and put one unsent message of `owner` there, then keep the upgrade busy for
/// `ms`: every other open of the database waits behind it, as on a slow disk.
fn hold_storage_open(
    name: &str,
    owner: &str,
    topic: &str,
    payload: &str,
    ms: f64,
) -> js_sys::Promise {
    let hold = js_sys::Function::new_with_args(
        "name, owner, topic, payload, ms",
        r#"return new Promise((resolve, reject) => {
            const until = Date.now() + ms;
            const open = indexedDB.open(name, 1);
            open.onupgradeneeded = () => {
                const db = open.result;
                const history = db.createObjectStore("history");
                history.createIndex("by-topic", ["t", "s"]);
                history.createIndex("by-age", "s");
                const outbox = db.createObjectStore("outbox");
                outbox.put({o: owner, s: 5000, t: topic, p: payload}, [owner, 5000]);
                const spin = () => {
                    outbox.get([owner, 5000]).onsuccess = () => {
                        if (Date.now() < until) spin();
                    };
                };
                spin();
            };
            open.onsuccess = () => { open.result.close(); resolve(); };
            open.onerror = () => reject(open.error);
        })"#,
    );
    let args = js_sys::Array::of5(
        &JsValue::from_str(name),
        &JsValue::from_str(owner),
        &JsValue::from_str(topic),
        &JsValue::from_str(payload),
        &JsValue::from_f64(ms),
    );
    hold.apply(&JsValue::NULL, &args)
        .expect("the holding script")
        .unchecked_into()
}

/// Messages typed while storage is still opening wait for the unsent ones from before:
/// those go first on the wire and in the rows, then the new ones, in the order typed.
#[wasm_bindgen_test]
async fn messages_sent_while_storage_opens_go_out_after_the_unsent_ones_from_before() {
    use mqtt_chat::transport::{Connection, LinkEvent};
    use mqtt_core::{Event, Options};

    let topic = unique_topic("order");
    let nonce = mqtt_chat::browser::random_hex(4).unwrap();
    // A scope of its own: a database that does not exist yet, so its opening can be held.
    let scope = format!("order-{nonce}");
    let gone = format!("chat-gone{nonce}");
    let before = ChatMessage {
        name: "Ada".into(),
        message: "from before the reload".into(),
        id: Some(format!("before-{nonce}")),
        from: Some("someone".into()),
        ts: Some(5.0),
        ..Default::default()
    };
    let payload = String::from_utf8(before.to_json()).unwrap();
    let held = hold_storage_open(
        &format!("{}@{scope}", mqtt_chat::persist::DB_NAME),
        &gone,
        &topic,
        &payload,
        1_500.0,
    );

    // What reaches the broker, in order.
    let wire = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    let seen = wire.clone();
    let subscribed = std::rc::Rc::new(std::cell::Cell::new(false));
    let listening = subscribed.clone();
    let listener = Connection::open(
        vec![crate::common::broker()],
        Options::new(mqtt_chat::browser::identity::new_client_id().unwrap()),
        &[(topic.as_str(), QoS::AtLeastOnce)],
        move |e| match e {
            LinkEvent::Mqtt(Event::Message(m)) => {
                if let chat::Payload::Chat(c) = chat::decode_payload(&m.payload) {
                    seen.borrow_mut().push(c.message);
                }
            }
            LinkEvent::Mqtt(Event::Subscribed { .. }) => listening.set(true),
            _ => {}
        },
    );
    wait_for("the listener's SUBACK", 5000.0, || {
        subscribed.get().then_some(())
    })
    .await;

    let app = Mounted::new(AppConfig {
        scope: Some(scope),
        ..config(&topic)
    });
    app.wait_connected().await;
    send(&app, "typed while storage opened").await;
    send(&app, "typed next").await;
    assert_eq!(
        app.all("#messages tr.own [data-delivery=queued]").len(),
        2,
        "shown at once, waiting"
    );
    wasm_bindgen_futures::JsFuture::from(held).await.unwrap();
    delivered(&app, 3).await;
    let order = [
        "from before the reload",
        "typed while storage opened",
        "typed next",
    ];
    assert_eq!(messages(&app), order, "rows");
    wait_for("three on the wire", 5000.0, || {
        (wire.borrow().len() == 3).then_some(())
    })
    .await;
    assert_eq!(*wire.borrow(), order, "wire");
    drop(listener);
    drop(app);
    // The next tests file under the default names again.
    mqtt_chat::browser::scope::set(None);
}

/// While IndexedDB is late the writes wait in a bounded queue: past the bound the oldest
/// history goes, and the writer says how many, for the notice.
#[wasm_bindgen_test]
async fn a_late_storage_costs_old_history_past_the_bound_and_says_so() {
    let dropped = std::rc::Rc::new(std::cell::Cell::new(0));
    let count = dropped.clone();
    let writer = Writer::new(move |outcome| count.set(count.get() + outcome.dropped));
    let mut rec = Recorder::default();
    let n = chat::write_queue::QUEUE_MAX_WRITES + 1;
    // One topic each: nothing eviction would drop anyway.
    for i in 0..n {
        let topic = format!("messages/bound-{i}");
        let payload = chat_json("Bo", "hello", Some(&format!("b-{i}")));
        writer.push(Op::History(rec.record(&topic, &payload, None, i as f64)));
    }
    wait_for("the report", 2000.0, || (dropped.get() > 0).then_some(())).await;
    assert_eq!(
        dropped.get(),
        n - chat::write_queue::QUEUE_MAX_WRITES / 4 * 3,
        "down to three quarters, every drop counted"
    );
    writer.attach(None);
}

/// A connection this app holds closes when another asks to delete (or upgrade) the
/// database: the delete completes instead of waiting, blocked, for as long as the tab lives.
#[wasm_bindgen_test]
async fn an_open_database_closes_when_another_deletes_it() {
    let scope = format!("closes-{}", mqtt_chat::browser::random_hex(4).unwrap());
    let db = Db::open_in(Some(&scope)).await.unwrap();
    let name = format!("{}@{scope}", mqtt_chat::persist::DB_NAME);
    let request = idb::Factory::new().unwrap().delete(&name).unwrap();
    let deleted = std::pin::pin!(std::future::IntoFuture::into_future(request));
    let waited = gloo_timers::future::TimeoutFuture::new(5_000);
    match futures::future::select(deleted, waited).await {
        futures::future::Either::Left((result, _)) => result.unwrap(),
        futures::future::Either::Right(_) => panic!("the delete was blocked by our connection"),
    }
    drop(db);
}
