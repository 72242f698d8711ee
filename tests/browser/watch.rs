//! The topic viewer in headless Chromium against a real Mosquitto: the route in the hash,
//! and the mounted viewer watching a filter beside the chat, on the same connection.

use crate::common::{config, outsider, unique_topic, wait_for, wait_until, Mounted};
use mqtt_chat::browser::route::{parse, watch_hash, PageRoute};
use mqtt_core::QoS;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

#[wasm_bindgen_test]
fn the_hash_names_the_view_and_its_filters() {
    assert_eq!(parse(""), PageRoute::Chat);
    assert_eq!(parse("#/"), PageRoute::Chat);
    assert_eq!(parse("#/elsewhere?filter=a"), PageRoute::Chat);
    assert_eq!(
        parse("#/watch?filter=matches/%23&filter=a/+/b&qos=1&filter=&filter=%E0%A4%A"),
        PageRoute::Watch {
            filters: vec!["matches/#".into(), "a/+/b".into()],
            qos: Some(QoS::AtLeastOnce),
        },
        "`+` stays a wildcard; empty and undecodable values are left out"
    );
    let hash = watch_hash(["matches/#", "$SYS/#", "a b&c=d", "é/+"]);
    assert_eq!(
        hash,
        "#/watch?filter=matches/%23&filter=$SYS/%23&filter=a%20b%26c%3Dd&filter=%C3%A9/+"
    );
    assert_eq!(
        parse(&hash),
        PageRoute::Watch {
            filters: vec![
                "matches/#".into(),
                "$SYS/#".into(),
                "a b&c=d".into(),
                "é/+".into()
            ],
            qos: None,
        }
    );
}

fn set_hash(hash: &str) {
    let history = web_sys::window().unwrap().history().unwrap();
    history
        .replace_state_with_url(&JsValue::NULL, "", Some(hash))
        .unwrap();
}

#[wasm_bindgen_test]
async fn a_linked_filter_is_watched_beside_the_chat_and_unwatching_it_keeps_the_room() {
    let room = unique_topic("watch");
    let prefix = room.replace("messages/", "w/");
    let filter = format!("{prefix}/#");
    set_hash(&watch_hash([filter.as_str()]));
    let app = Mounted::new(config(&room));
    set_hash("#/");
    app.wait_connected().await;
    assert_eq!(
        app.find(".app")
            .unwrap()
            .get_attribute("data-view")
            .as_deref(),
        Some("watch")
    );
    let watched = format!("#filters li[data-filter=\"{filter}\"]");
    wait_for("the linked filter granted", 5000.0, || {
        let li = app.find(&watched)?;
        (li.get_attribute("data-state").as_deref() == Some("active")).then_some(())
    })
    .await;

    let outside = outsider(&room).await;
    let topic = format!("{prefix}/1/<b>score</b>");
    outside
        .publish(&topic, b"\xff\x00A".to_vec(), QoS::AtMostOnce)
        .unwrap();
    wait_for("the binary message in the stream", 5000.0, || {
        app.find("#stream tr").map(|_| ())
    })
    .await;
    assert_eq!(app.text("#stream tr td.topic"), topic, "a topic is text");
    assert!(app.find("#stream b").is_none());
    assert_eq!(app.text("#stream tr td.payload .body"), "ff 00 41");
    assert_eq!(
        app.find("#stream tr")
            .unwrap()
            .get_attribute("data-format")
            .as_deref(),
        Some("hex")
    );

    // The room's own topic watched too: the same subscription, shared.
    app.type_into("#filter", &room);
    app.click("#subscribe");
    let room_watched = format!("#filters li[data-filter=\"{room}\"]");
    wait_for("the room's topic watched", 5000.0, || {
        let li = app.find(&room_watched)?;
        (li.get_attribute("data-state").as_deref() == Some("active")).then_some(())
    })
    .await;
    let chat = |id: &str| format!(r#"{{"name":"cli","message":"{id}","id":"{id}"}}"#);
    outside
        .publish(&room, chat("both-1"), QoS::AtLeastOnce)
        .unwrap();
    wait_for(
        "the chat message in the viewer and the chat",
        5000.0,
        || (app.all("#stream tr").len() == 2 && app.total() == "1").then_some(()),
    )
    .await;

    // Stop watching the room's topic: the chat still gets its messages.
    app.find(&room_watched)
        .unwrap()
        .query_selector("button.unwatch")
        .unwrap()
        .unwrap()
        .unchecked_into::<web_sys::HtmlElement>()
        .click();
    wait_until(5000.0, || app.find(&room_watched).is_none()).await;
    assert!(app.find(&room_watched).is_none());
    outside
        .publish(&room, chat("chat-only-2"), QoS::AtLeastOnce)
        .unwrap();
    wait_for("the next chat message", 5000.0, || {
        (app.total() == "2").then_some(())
    })
    .await;
    // A marker on the filter still watched, after it from the same client: once the viewer
    // shows the marker, it has had the chat message too.
    outside
        .publish(&format!("{prefix}/marker"), "a marker", QoS::AtLeastOnce)
        .unwrap();
    wait_for("the marker in the viewer", 5000.0, || {
        app.all("#stream tr")
            .into_iter()
            .find(|r| r.text_content().unwrap_or_default().contains("a marker"))
    })
    .await;
    let stream: Vec<String> = app
        .all("#stream tr")
        .iter()
        .map(|r| r.text_content().unwrap_or_default())
        .collect();
    assert!(
        !stream.iter().any(|r| r.contains("chat-only-2")),
        "no longer in the viewer: {stream:?}"
    );
    assert_eq!(stream.len(), 3, "the two before and the marker: {stream:?}");

    // An invalid filter is refused in words, and nothing is added.
    app.type_into("#filter", "a/#/b");
    app.click("#subscribe");
    wait_until(5000.0, || !app.text("#filter-error").is_empty()).await;
    assert!(app
        .text("#filter-error")
        .contains("Not a valid topic filter"));
    assert_eq!(app.all("#filters li").len(), 1);

    // Leave nothing watched for the tests after this one (the list is kept per client id).
    app.click("#filters li button.unwatch");
    wait_until(5000.0, || app.all("#filters li").is_empty()).await;
    assert!(app.all("#filters li").is_empty());
}

/// Mosquitto sends an MQTT 5 client one copy of a message per matching subscription. With
/// subscription identifiers, each view takes one: the viewer shows each message once,
/// however many of its filters (and the chat's) match.
#[wasm_bindgen_test]
async fn overlapping_filters_show_each_message_once_under_mqtt_5() {
    let room = unique_topic("overlap");
    let app = Mounted::new(mqtt_chat::AppConfig {
        protocol: chat::MqttVersion::V5,
        ..config(&room)
    });
    app.wait_connected().await;
    // The viewer is mounted (in a split build: fetched) the first time it is shown.
    assert!(
        app.find("#filter").is_none(),
        "not on the chat's first screen"
    );
    let _back_to_chat = ResetHash;
    app.click("#watch-link");
    wait_for("the viewer shown", 5000.0, || app.find("#filter")).await;
    for filter in [format!("{room}/#"), format!("{room}/+"), room.clone()] {
        app.type_into("#filter", &filter);
        app.click("#subscribe");
        let li = format!("#filters li[data-filter=\"{filter}\"]");
        wait_for("the filter granted", 5000.0, || {
            let li = app.find(&li)?;
            (li.get_attribute("data-state").as_deref() == Some("active")).then_some(())
        })
        .await;
    }
    let outside = outsider(&room).await;
    outside
        .publish(
            &room,
            r#"{"name":"cli","message":"once","id":"overlap-1"}"#,
            QoS::AtLeastOnce,
        )
        .unwrap();
    outside
        .publish(&format!("{room}/sub"), "once too", QoS::AtLeastOnce)
        .unwrap();
    wait_for("both messages in the viewer", 5000.0, || {
        (app.all("#stream tr").len() >= 2).then_some(())
    })
    .await;
    // Any second copies come before a marker published after both by the same client (the
    // broker sends a message's copies together). The marker's topic matches one filter only
    // (`{room}/#`), so it comes once.
    outside
        .publish(&format!("{room}/a/b"), "marker", QoS::AtLeastOnce)
        .unwrap();
    wait_for("the marker in the viewer", 5000.0, || {
        app.all("#stream tr")
            .into_iter()
            .find(|r| r.text_content().unwrap_or_default().contains("marker"))
    })
    .await;
    let counted = app
        .find("#watch-count")
        .and_then(|e| e.get_attribute("data-counted"));
    assert_eq!(
        counted.as_deref(),
        Some("3"),
        "each message counted once (the two and the marker)"
    );
    assert_eq!(app.all("#stream tr").len(), 3);
    assert_eq!(app.total(), "1", "the chat shows its message once");
    for left in (0..3).rev() {
        app.click("#filters li button.unwatch");
        wait_until(5000.0, || app.all("#filters li").len() == left).await;
    }
    assert!(app.all("#filters li").is_empty());
}

/// Puts the test page's address back on the chat when dropped (the next test's app reads it
/// at start). A failed assertion aborts the Wasm without running it; the run fails then
/// anyway.
struct ResetHash;

impl Drop for ResetHash {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            let _ = window.location().set_hash("");
        }
    }
}
