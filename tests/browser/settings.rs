//! The connection panel as a component, in headless Chromium: its fields, bad addresses
//! explained in words without leaving the page, saved connections listed and deleted, and
//! rows from signed-in users marked verified only when their topic proves the name.

use crate::common::{config, outsider, unique_topic, wait_for, wait_until, Mounted};
use mqtt_chat::config::{save_connections, saved_connections, SAVED_KEY};
use mqtt_core::QoS;
use wasm_bindgen_test::*;

#[wasm_bindgen_test]
async fn the_panel_has_its_fields_and_shows_the_client_id() {
    let app = Mounted::new(config(&unique_topic("panel")));
    app.open_settings().await;
    for id in [
        "#settings",
        "#broker-url",
        "#protocol",
        "#username",
        "#password",
        "#remember",
        "#connect",
        "#connections",
    ] {
        assert!(app.find(id).is_some(), "{id} is missing");
    }
    let options: Vec<String> = app
        .all("#protocol option")
        .iter()
        .filter_map(|o| o.get_attribute("value"))
        .collect();
    assert_eq!(options, ["3.1.1", "5"]);
    app.wait_connected().await;
    wait_for("the client id in use", 3000.0, || {
        app.text("#client-id").starts_with("chat-").then_some(())
    })
    .await;
}

#[wasm_bindgen_test]
async fn bad_addresses_are_explained_and_the_page_stays() {
    let app = Mounted::new(config(&unique_topic("badurl")));
    app.open_settings().await;
    let href = web_sys::window().unwrap().location().href().unwrap();
    for (typed, words) in [
        ("", "Enter the broker's WebSocket address"),
        ("mqtt://127.0.0.1:1883", "Browsers cannot open mqtt://"),
        ("http://127.0.0.1:9001", "is a web page address"),
        ("ws://:9001", "has no host"),
        ("127.0.0.1:9001", "is not a URL"),
        (
            "ws://127.0.0.1:9011, mqtt://127.0.0.1:1883",
            "Browsers cannot open mqtt://",
        ),
        (
            "ws://h:1,ws://h:2,ws://h:3,ws://h:4,ws://h:5,ws://h:6,ws://h:7,ws://h:8,ws://h:9",
            "name at most 8",
        ),
    ] {
        app.type_into("#broker-url", typed);
        app.click("#connect");
        wait_until(5000.0, || app.text("#settings-error").contains(words)).await;
        let error = app.text("#settings-error");
        assert!(error.contains(words), "{typed:?}: {error:?}");
    }
    // Nothing was saved or loaded.
    assert_eq!(web_sys::window().unwrap().location().href().unwrap(), href);
}

#[wasm_bindgen_test]
async fn saved_connections_are_listed_and_deleted_for_good() {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let _ = storage.remove_item(SAVED_KEY);
    let mut saved = saved_connections();
    saved.upsert(chat::Connection {
        url: "ws://127.0.0.1:1".into(),
        protocol: chat::MqttVersion::V5,
        username: "alice".into(),
        password: None,
    });
    saved.upsert(chat::Connection::anonymous(
        "wss://broker.example:8084/mqtt",
    ));
    save_connections(&saved).unwrap();
    let app = Mounted::new(config(&unique_topic("saved")));
    app.open_settings().await;
    wait_until(5000.0, || app.all("#connections li").len() >= 2).await;
    let listed: Vec<String> = app
        .all("#connections li")
        .iter()
        .filter_map(|li| li.get_attribute("data-connection"))
        .collect();
    assert_eq!(
        listed,
        ["wss://broker.example:8084/mqtt", "alice@ws://127.0.0.1:1"]
    );
    app.click("#connections li[data-connection='alice@ws://127.0.0.1:1'] button.delete");
    wait_until(5000.0, || {
        app.all("#connections li").len() == 1 && saved_connections().list().len() == 1
    })
    .await;
    assert_eq!(app.all("#connections li").len(), 1);
    // Kept: a new page reads one.
    assert_eq!(saved_connections().list().len(), 1);
    // "Use" on an entry that needs a password fills the form and asks for it.
    let mut saved = saved_connections();
    saved.upsert(chat::Connection {
        url: "ws://127.0.0.1:2".into(),
        protocol: chat::MqttVersion::V5,
        username: "bob".into(),
        password: None,
    });
    save_connections(&saved).unwrap();
    drop(app);
    let app = Mounted::new(config(&unique_topic("saved2")));
    app.open_settings().await;
    let bob = "#connections li[data-connection='bob@ws://127.0.0.1:2'] button.use";
    wait_for("bob's saved connection listed", 5000.0, || app.find(bob)).await;
    app.click(bob);
    let value = |id: &str| {
        app.find(id)
            .map(|e| wasm_bindgen::JsCast::unchecked_into::<web_sys::HtmlInputElement>(e).value())
            .unwrap_or_default()
    };
    wait_until(5000.0, || {
        value("#broker-url") == "ws://127.0.0.1:2"
            && value("#username") == "bob"
            && app.text("#settings-error").contains("password")
    })
    .await;
    assert_eq!(value("#broker-url"), "ws://127.0.0.1:2");
    assert_eq!(value("#username"), "bob");
    assert!(app.text("#settings-error").contains("password"));
    let _ = storage.remove_item(SAVED_KEY);
}

/// Verified needs positive proof that the broker pins authors. This one (the test broker,
/// like the shipped `mosquitto.conf`) lets anyone write any topic: a signed-in MQTT 5 tab
/// finds that out with its probe (the broker accepts a made-up author) and marks nothing
/// verified, not even `.../from/alice` named alice; a signed-in 3.1.1 tab cannot prove
/// anything and says so; an anonymous tab marks nothing either. (The secured broker's
/// side: crates/e2e/tests/signin.rs.)
#[wasm_bindgen_test]
async fn a_broker_that_lets_anyone_write_any_topic_vouches_for_no_one() {
    let topic = unique_topic("verified");
    let signed_in = |protocol| mqtt_chat::AppConfig {
        credentials: Some(mqtt_core::Credentials {
            username: "carol".into(),
            password: String::new(),
        }),
        protocol,
        ..config(&topic)
    };
    let v5 = Mounted::new(signed_in(chat::MqttVersion::V5));
    let v311 = Mounted::new(signed_in(chat::MqttVersion::V311));
    let anonymous = Mounted::new(config(&topic));
    for app in [&v5, &v311, &anonymous] {
        app.wait_connected().await;
        app.open_settings().await;
    }
    let state = |app: &Mounted| {
        app.find("#authorship")
            .and_then(|e| e.get_attribute("data-state"))
            .unwrap_or_default()
    };
    // The probe's answer: the broker took it, so it pins no one.
    wait_for("the v5 probe's answer", 5000.0, || {
        (state(&v5) == "open").then_some(())
    })
    .await;
    assert_eq!(state(&v311), "needs-mqtt5");
    assert!(v311.text("#authorship").contains("needs MQTT 5"));
    assert_eq!(state(&anonymous), "anonymous");
    let other = outsider(&topic).await;
    let payload = r#"{"name":"alice","message":"really alice?"}"#;
    other
        .publish(&format!("{topic}/from/alice"), payload, QoS::AtLeastOnce)
        .unwrap();
    wait_for("the row in every tab", 5000.0, || {
        [&v5, &v311, &anonymous]
            .iter()
            .all(|app| app.all("#messages tr").len() == 1)
            .then_some(())
    })
    .await;
    for (app, what) in [(&v5, "v5"), (&v311, "3.1.1"), (&anonymous, "anonymous")] {
        assert!(app.all("#messages tr.verified").is_empty(), "{what}");
        assert_eq!(app.text("#messages tr td.name"), "alice", "{what}");
    }
    other.close();
}

/// Deleting a saved connection offers to delete what this browser keeps for it (its
/// IndexedDB database, its keys). With unsent messages, a second button names how many,
/// and nothing is deleted without it. The connection this tab uses keeps its data.
#[wasm_bindgen_test]
async fn deleting_a_connection_offers_to_delete_its_data_naming_its_unsent_messages() {
    use mqtt_chat::persist::forget;
    use mqtt_chat::persist::writer::{Op, Writer};

    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let _ = storage.remove_item(SAVED_KEY);
    let nonce = mqtt_chat::browser::random_hex(4).unwrap();
    let default_url = mqtt_chat::config::default_broker_url();
    let theirs = chat::Connection {
        url: "ws://127.0.0.1:1".into(),
        protocol: chat::MqttVersion::V311,
        username: format!("dora{nonce}"),
        password: None,
    };
    let here = chat::Connection::anonymous(default_url.clone());
    let mut saved = saved_connections();
    saved.upsert(theirs.clone());
    saved.upsert(here.clone());
    save_connections(&saved).unwrap();

    // What that connection keeps: two unsent messages in its database, rooms, an id.
    let their_scope = theirs.scope(&default_url);
    assert!(their_scope.is_some());
    let s = their_scope.clone().unwrap();
    let id = format!("chat-dora{nonce}");
    // Not by setting the global scope across an await: another test's view still starting
    // would open that database meanwhile, under the wrong scope.
    let db = mqtt_chat::persist::Db::open_in(their_scope.as_deref())
        .await
        .unwrap();
    let done = std::rc::Rc::new(std::cell::Cell::new(false));
    let flag = done.clone();
    let writer = Writer::new(move |_| flag.set(true));
    writer.attach(Some(db));
    for n in 1..=2 {
        writer.push(Op::OutboxPut {
            owner: id.clone(),
            unsent: chat::Unsent {
                seq: f64::from(n),
                topic: "messages".into(),
                message: chat::ChatMessage {
                    name: "dora".into(),
                    message: format!("unsent {n}"),
                    id: Some(format!("{nonce}-{n}")),
                    from: None,
                    ts: None,
                    ..Default::default()
                },
            },
        });
    }
    wait_for("the write", 5000.0, || done.get().then_some(())).await;
    let keys = [
        format!("mqtt-chat.rooms@{s}"),
        format!("mqtt-chat.client-ids@{s}"),
        format!("mqtt-chat.watch.{id}@{s}"),
        format!("mqtt-chat.author.{id}"),
    ];
    for key in &keys {
        storage.set_item(key, &format!("[\"{id}\"]")).unwrap();
    }

    let app = Mounted::new(config(&unique_topic("forget")));
    app.open_settings().await;
    let theirs_row = format!("#connections li[data-connection='{}']", theirs.key());
    wait_for("the saved connections listed", 2000.0, || {
        app.find(&theirs_row)
    })
    .await;
    app.click(&format!(
        "#connections li[data-connection='{}'] button.delete",
        theirs.key()
    ));
    // The offer's step shows its buttons (style.css): `data-step` says which.
    wait_for("the offer", 2000.0, || {
        app.find("#delete-offer[data-step=ask]:not([hidden])")
    })
    .await;
    assert!(app.text("#delete-offer-text").contains(&theirs.key()));
    app.click("#delete-data");
    wait_for("the count", 5000.0, || {
        app.find("#delete-offer[data-step=unsent]")
    })
    .await;
    let words = app.text("#delete-offer-text");
    assert!(words.contains("2 unsent messages"), "{words}");
    assert!(app
        .text("#delete-data-unsent")
        .contains("2 unsent messages"));
    let kept = forget::kept(their_scope.as_deref()).await.unwrap();
    assert_eq!(kept.unsent, 2, "nothing deleted without the count agreed");
    assert!(keys.iter().all(|k| storage.get_item(k).unwrap().is_some()));

    app.click("#delete-data-unsent");
    wait_for("the deletion", 8000.0, || {
        app.find("#delete-offer[data-step=said]")
    })
    .await;
    let words = app.text("#delete-offer-text");
    assert!(
        words.starts_with("Deleted what this browser kept"),
        "{words}"
    );
    assert_eq!(
        forget::kept(their_scope.as_deref()).await.unwrap(),
        forget::Kept::default(),
        "its database and its ids are gone"
    );
    for key in &keys {
        assert_eq!(storage.get_item(key).unwrap(), None, "{key} left behind");
    }

    // The connection this tab uses: not offered, and said why.
    app.click(&format!(
        "#connections li[data-connection='{}'] button.delete",
        here.key()
    ));
    // The step was "said" already (the deletion above): wait for the new words.
    wait_for("not offered, and why", 5000.0, || {
        app.find("#delete-offer[data-step=said]:not([hidden])")
            .filter(|_| {
                app.text("#delete-offer-text")
                    .contains("this tab is connected with it")
            })
    })
    .await;
    app.click("#delete-data-keep");
    wait_for("dismissed", 2000.0, || app.find("#delete-offer[hidden]")).await;
    let _ = storage.remove_item(SAVED_KEY);
}
