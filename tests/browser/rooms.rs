//! The room list and the people list, mounted in headless Chromium against a real Mosquitto:
//! routing by topic into the right room, unread counts, joining and leaving, and presence
//! statuses of any shape from other clients.

use crate::common::{config, outsider, unique_topic, wait_for, wait_until, Mounted};
use mqtt_core::QoS;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

/// The unread count shown for `room`, 0 when there is none.
fn unread(app: &Mounted, room: &str) -> u32 {
    app.find(&format!("#rooms li[data-room=\"{room}\"] .unread"))
        .and_then(|e| e.text_content())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

fn messages(app: &Mounted) -> Vec<String> {
    app.all("#messages tr td.message")
        .iter()
        .map(|td| td.text_content().unwrap_or_default())
        .collect()
}

#[wasm_bindgen_test]
async fn a_message_for_another_room_counts_as_unread_there_and_shows_when_it_is_opened() {
    let open = unique_topic("open");
    let app = Mounted::new(config(&open));
    app.wait_connected().await;
    let other = unique_topic("other");
    let other_name = other.strip_prefix("messages/").unwrap().to_owned();
    app.type_into("#room-name", &other_name);
    app.click("#join-room-button");
    // Joining opens the room; go back to the first one.
    wait_for("the joined room open", 5000.0, || {
        app.find(&format!(
            "#rooms li[data-room=\"{other_name}\"][aria-current=\"true\"]"
        ))
    })
    .await;
    let open_name = open.strip_prefix("messages/").unwrap();
    app.click(&format!(
        "#rooms li[data-room=\"{open_name}\"] button.open-room"
    ));
    wait_for("the first room open again", 5000.0, || {
        app.find(&format!(
            "#rooms li[data-room=\"{open_name}\"][aria-current=\"true\"]"
        ))
    })
    .await;

    let outside = outsider(&other).await;
    wait_for("the other room's unread count", 5000.0, || {
        outside
            .publish(
                &other,
                r#"{"name":"x","message":"for the other room","id":"r1"}"#,
                QoS::AtLeastOnce,
            )
            .unwrap();
        (unread(&app, &other_name) == 1).then_some(())
    })
    .await;
    assert!(
        messages(&app).is_empty(),
        "never shown in the open room: {:?}",
        messages(&app)
    );

    app.click(&format!(
        "#rooms li[data-room=\"{other_name}\"] button.open-room"
    ));
    wait_until(5000.0, || !messages(&app).is_empty()).await;
    assert_eq!(messages(&app), vec!["for the other room"]);
    assert_eq!(unread(&app, &other_name), 0);
    let current = app.all("#rooms li[aria-current=\"true\"]");
    assert_eq!(current.len(), 1);
    assert_eq!(
        current[0].get_attribute("data-room").as_deref(),
        Some(other_name.as_str())
    );

    // Leaving: the room is gone from the list, and the default room shows.
    app.click(&format!(
        "#rooms li[data-room=\"{other_name}\"] button.leave-room"
    ));
    wait_until(5000.0, || {
        app.find(&format!("#rooms li[data-room=\"{other_name}\"]"))
            .is_none()
            && app
                .find("#rooms li[data-room=\"messages\"][aria-current=\"true\"]")
                .is_some()
    })
    .await;
    assert!(app
        .find(&format!("#rooms li[data-room=\"{other_name}\"]"))
        .is_none());
    assert!(app
        .find("#rooms li[data-room=\"messages\"][aria-current=\"true\"]")
        .is_some());
}

#[wasm_bindgen_test]
async fn a_refused_room_name_is_explained_and_kept() {
    let app = Mounted::new(config(&unique_topic("names")));
    app.wait_connected().await;
    let before = app.all("#rooms li").len();
    app.type_into("#room-name", "$SYS");
    app.click("#join-room-button");
    wait_until(5000.0, || !app.text("#room-error").is_empty()).await;
    assert!(
        app.text("#room-error").contains('$'),
        "the reason in words: {:?}",
        app.text("#room-error")
    );
    assert_eq!(app.all("#rooms li").len(), before, "no room added");
    let input = app
        .find("#room-name")
        .unwrap()
        .dyn_into::<web_sys::HtmlInputElement>()
        .unwrap();
    assert_eq!(input.value(), "$SYS", "the typed name stays");
}

#[wasm_bindgen_test]
async fn presence_statuses_of_any_shape_list_people_as_text() {
    let topic = unique_topic("people");
    let room = topic.strip_prefix("messages/").unwrap().to_owned();
    let app = Mounted::new(config(&topic));
    app.wait_connected().await;
    let outside = outsider(&topic).await;
    let now = js_sys::Date::now();
    let html = format!(
        r#"{{"person":"p-html-{room}","name":"<b>Bold</b>","rooms":["{room}"],"online":true,"ts":{now}}}"#
    );
    let tab = |n: &str| format!("chat/presence/{room}-{n}");
    for (n, payload) in [
        ("junk", "not json".to_owned()),
        ("array", "[1,2,3]".to_owned()),
        ("wrong", r#"{"person":5,"online":"yes"}"#.to_owned()),
        ("html", html),
    ] {
        outside.publish(&tab(n), payload, QoS::AtLeastOnce).unwrap();
    }
    wait_for("the person with an HTML name", 5000.0, || {
        app.all("#presence li")
            .into_iter()
            .find(|li| li.text_content().as_deref() == Some("<b>Bold</b>"))
    })
    .await;
    assert!(
        app.find("#presence b").is_none(),
        "a name is text, never HTML"
    );
    let states: Vec<String> = app
        .all("#presence li")
        .iter()
        .filter_map(|li| li.get_attribute("data-state"))
        .collect();
    assert!(
        states.iter().all(|s| s == "online" || s == "offline"),
        "{states:?}"
    );
    // Cleared (empty retained publish): the person goes.
    outside
        .publish(&tab("html"), Vec::<u8>::new(), QoS::AtLeastOnce)
        .unwrap();
    wait_for("the cleared person to go", 5000.0, || {
        (!app
            .all("#presence li")
            .iter()
            .any(|li| li.text_content().as_deref() == Some("<b>Bold</b>")))
        .then_some(())
    })
    .await;
}

#[wasm_bindgen_test]
async fn new_messages_are_announced_one_alone_and_a_burst_as_one_line() {
    let topic = unique_topic("announce");
    let app = Mounted::new(config(&topic));
    app.wait_connected().await;
    let outside = outsider(&topic).await;
    let publish = |id: &str, text: &str| {
        let payload = format!(r#"{{"name":"Ann","message":"{text}","id":"{id}"}}"#);
        outside.publish(&topic, payload, QoS::AtLeastOnce).unwrap();
    };
    let live = app.find("#announcer").expect("#announcer");
    assert_eq!(live.get_attribute("aria-live").as_deref(), Some("polite"));
    wait_for("the subscription", 5000.0, || {
        publish("a1", "hello there");
        (app.total() != "0").then_some(())
    })
    .await;
    wait_for("the message read out", 3000.0, || {
        (app.text("#announcer") == "Ann: hello there").then_some(())
    })
    .await;
    for i in 0..12 {
        publish(&format!("b{i}"), &format!("burst {i}"));
    }
    let said = wait_for("the burst read out", 3000.0, || {
        let text = app.text("#announcer");
        text.contains("new messages").then_some(text)
    })
    .await;
    assert!(
        said.contains("the last from Ann"),
        "a burst is one summary line: {said:?}"
    );
}
