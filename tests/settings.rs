//! The connection panel as a component, in headless Chromium: its fields, bad addresses
//! explained in words without leaving the page, saved connections listed and deleted, and
//! rows from signed-in users marked verified only when their topic proves the name.

mod common;

use common::{config, outsider, settle, unique_topic, wait_for, Mounted};
use mqtt_chat::config::{save_connections, saved_connections, SAVED_KEY};
use mqtt_core::QoS;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn the_panel_has_its_fields_and_shows_the_client_id() {
    let app = Mounted::new(config(&unique_topic("panel")));
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
        settle().await;
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
    settle().await;
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
    settle().await;
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
    settle().await;
    app.click("#connections li[data-connection='bob@ws://127.0.0.1:2'] button.use");
    settle().await;
    let value = |id: &str| {
        app.find(id)
            .map(|e| wasm_bindgen::JsCast::unchecked_into::<web_sys::HtmlInputElement>(e).value())
            .unwrap_or_default()
    };
    assert_eq!(value("#broker-url"), "ws://127.0.0.1:2");
    assert_eq!(value("#username"), "bob");
    assert!(app.text("#settings-error").contains("password"));
    let _ = storage.remove_item(SAVED_KEY);
}

/// Verified needs a broker that pins authors. This one (the test broker, like the shipped
/// `mosquitto.conf`) lets anyone write any topic: a signed-in tab finds that out with its
/// probe and marks nothing verified, not even `.../from/alice` named alice; an anonymous
/// tab marks nothing either. (The secured broker's side: crates/e2e/tests/signin.rs.)
#[wasm_bindgen_test]
async fn a_broker_that_lets_anyone_write_any_topic_vouches_for_no_one() {
    let topic = unique_topic("verified");
    let signed_in = mqtt_chat::AppConfig {
        credentials: Some(mqtt_core::Credentials {
            username: "carol".into(),
            password: String::new(),
        }),
        ..config(&topic)
    };
    let app = Mounted::new(signed_in);
    let anonymous = Mounted::new(config(&topic));
    app.wait_connected().await;
    anonymous.wait_connected().await;
    let other = outsider(&topic).await;
    let payload = r#"{"name":"alice","message":"really alice?"}"#;
    other
        .publish(&format!("{topic}/from/alice"), payload, QoS::AtLeastOnce)
        .unwrap();
    wait_for("the row in both tabs", 5000.0, || {
        (app.all("#messages tr").len() == 1 && anonymous.all("#messages tr").len() == 1)
            .then_some(())
    })
    .await;
    // The probe's answer: it came back, so the broker pins no one.
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    wait_for("the probe's answer", 5000.0, || {
        (storage
            .get_item("mqtt-chat.vouched")
            .ok()
            .flatten()
            .as_deref()
            == Some("false"))
        .then_some(())
    })
    .await;
    settle().await;
    assert!(app.all("#messages tr.verified").is_empty(), "signed in");
    assert!(
        anonymous.all("#messages tr.verified").is_empty(),
        "anonymous"
    );
    assert_eq!(app.text("#messages tr td.name"), "alice");
    other.close();
}
