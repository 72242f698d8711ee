//! The mounted App in headless Chromium against a real Mosquitto: what a user sees.
//!
//! A test binary of its own (not in `tests/browser`): its layout and focus checks need a
//! page no other test has used.

#[path = "browser/common.rs"]
mod common;

use common::{
    closed_port, config, outsider, quiet_for, unique_topic, wait_for, wait_until, Mounted,
};
use mqtt_chat::AppConfig;
use mqtt_core::QoS;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn app_shows_connected_and_renders_a_message_published_from_outside() {
    let topic = unique_topic("app");
    let app = Mounted::new(config(&topic));
    let (text, state) = app.badge();
    assert_eq!(
        (text.as_str(), state.as_str()),
        ("connecting", "connecting")
    );
    app.wait_connected().await;
    assert_eq!(app.total(), "0");

    let xss = "<img src=x onerror=alert(1)>";
    let payload = format!(r#"{{"name":"{xss}","message":"{xss}","id":"xss-1"}}"#);
    // The app subscribes right after CONNACK; give the SUBACK a moment.
    let outside = outsider(&topic).await;
    wait_for("the row from outside", 5000.0, || {
        outside
            .publish(&topic, payload.clone(), QoS::AtMostOnce)
            .unwrap();
        (!app.all("#messages tr").is_empty()).then_some(())
    })
    .await;
    // A marker after the repeats, from the same client: once it shows, every repeat has
    // reached the app.
    outside
        .publish(
            &topic,
            r#"{"name":"cli","message":"marker","id":"xss-marker"}"#,
            QoS::AtMostOnce,
        )
        .unwrap();
    wait_for("the marker after the repeats", 5000.0, || {
        app.all("#messages tr td.message")
            .into_iter()
            .find(|td| td.text_content().as_deref() == Some("marker"))
    })
    .await;
    let rows = app.all("#messages tr");
    let shown = rows
        .iter()
        .filter(|r| r.text_content().unwrap_or_default().contains(xss))
        .count();
    assert_eq!(shown, 1, "repeats with the same id show once");
    assert_eq!(rows.len(), 2, "the row and the marker");
    assert_eq!(
        app.text("#messages tr td.name"),
        xss,
        "HTML in a name is text"
    );
    assert_eq!(
        app.text("#messages tr td.message"),
        xss,
        "HTML in a message is text"
    );
    assert!(
        app.find("#messages img").is_none(),
        "no element was created from user text"
    );
    assert_eq!(app.total(), rows.len().to_string());
    assert!(app.find("#messages tr.own").is_none(), "not marked as own");
}

#[wasm_bindgen_test]
async fn payloads_that_are_not_chat_json_show_as_marked_raw_rows() {
    let topic = unique_topic("raw");
    let app = Mounted::new(config(&topic));
    app.wait_connected().await;
    let outside = outsider(&topic).await;
    // Wait until the app's subscription is in place: a first message arrives. It carries an
    // id, so repeats while waiting are shown once.
    wait_for("a first message", 5000.0, || {
        outside
            .publish(
                &topic,
                r#"{"name":"cli","message":"hi","id":"probe"}"#,
                QoS::AtMostOnce,
            )
            .unwrap();
        (app.total() != "0").then_some(())
    })
    .await;
    // Counted after the raw rows, published after every probe by the same client.
    let before = 1;
    for payload in [
        b"just some text".to_vec(),
        vec![0xff, 0xfe, b'x'],
        br#"{"name":42,"message":["no"]}"#.to_vec(),
        br#"{"message":"name missing"}"#.to_vec(),
    ] {
        outside.publish(&topic, payload, QoS::AtLeastOnce).unwrap();
    }
    wait_for("four raw rows", 5000.0, || {
        (app.all("#messages tr.raw").len() == 4).then_some(())
    })
    .await;
    assert_eq!(
        app.total(),
        (before + 4).to_string(),
        "the repeated probe shows once, and the four raw rows"
    );
    let raw = app.all("#messages tr.raw");
    assert_eq!(
        raw[0]
            .query_selector("td.message")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        "just some text"
    );
    assert!(raw[0]
        .query_selector("td.name")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap()
        .contains("not JSON"));
    assert!(raw[1].text_content().unwrap().contains("not valid UTF-8"));
    assert!(
        app.text(".counts").contains("4 not chat JSON"),
        "{}",
        app.text(".counts")
    );
    assert_eq!(
        app.badge().0,
        "connected",
        "still connected after bad payloads"
    );
}

#[wasm_bindgen_test]
async fn sending_shows_an_own_row_that_gets_delivered_and_clears_the_box() {
    let topic = unique_topic("send");
    let app = Mounted::new(config(&topic));
    app.wait_connected().await;
    app.type_into("#name", "Ada");
    app.type_into("#message", "line one\nline two");
    app.click("#publish");

    let row = wait_for("own row", 5000.0, || app.find("#messages tr.own")).await;
    let cell = row.query_selector("td.message").unwrap().unwrap();
    assert_eq!(
        cell.text_content().unwrap(),
        "line one\nline two",
        "newlines kept"
    );
    assert_eq!(app.textarea_value(), "", "the message box is cleared");
    let focused = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .active_element();
    assert_eq!(
        focused.map(|e| e.id()),
        Some("message".to_owned()),
        "focus stays in the box"
    );
    wait_for("delivered mark", 5000.0, || {
        app.find("#messages tr.own [data-delivery=delivered]")
    })
    .await;
    // The broker echoes the message back; it must not show twice. Wait for a positive
    // signal rather than a pause: the broker queued the echo to the app before it
    // acknowledged the publish, so a marker published after the delivered mark reaches the
    // app after the echo. Once the marker's row is there, the echo has been handled.
    let outside = outsider(&topic).await;
    outside
        .publish(
            &topic,
            r#"{"name":"cli","message":"marker","id":"echo-marker"}"#,
            QoS::AtLeastOnce,
        )
        .unwrap();
    wait_for("the marker after the echo", 5000.0, || {
        app.all("#messages tr")
            .into_iter()
            .find(|r| r.text_content().unwrap_or_default().contains("marker"))
    })
    .await;
    assert_eq!(
        app.all("#messages tr.own").len(),
        1,
        "the echo is not a row"
    );
    assert_eq!(app.all("#messages tr").len(), 2);
    assert_eq!(app.total(), "2");
}

#[wasm_bindgen_test]
async fn enter_sends_and_shift_enter_does_not() {
    let topic = unique_topic("enter");
    let app = Mounted::new(config(&topic));
    app.wait_connected().await;
    app.type_into("#name", "Bo");
    app.type_into("#message", "typed");
    let textarea = app.find("#message").unwrap();
    let press = |shift: bool| {
        let init = web_sys::KeyboardEventInit::new();
        init.set_key("Enter");
        init.set_shift_key(shift);
        init.set_bubbles(true);
        init.set_cancelable(true);
        let ev =
            web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
        textarea.dispatch_event(&ev).unwrap()
    };
    assert!(
        press(true),
        "Shift+Enter is left to the textarea (adds a line)"
    );
    assert!(app.all("#messages tr").is_empty());
    assert!(!press(false), "Enter is taken over");
    wait_for("row sent by Enter", 5000.0, || app.find("#messages tr.own")).await;
}

#[wasm_bindgen_test]
async fn bad_input_is_refused_with_a_hint_and_nothing_typed_is_lost() {
    let topic = unique_topic("bad");
    let app = Mounted::new(config(&topic));
    app.wait_connected().await;

    app.type_into("#name", "");
    app.type_into("#message", "hello");
    app.click("#publish");
    wait_until(5000.0, || app.text("#hint") == "Enter your name first.").await;
    assert_eq!(app.text("#hint"), "Enter your name first.");
    assert_eq!(app.textarea_value(), "hello");

    app.type_into("#name", "Cy");
    app.type_into("#message", "   ");
    app.click("#publish");
    wait_until(5000.0, || app.text("#hint") == "Type a message first.").await;
    assert_eq!(app.text("#hint"), "Type a message first.");

    let long = "x".repeat(chat::MAX_MESSAGE_BYTES + 1);
    app.type_into("#message", &long);
    wait_for("the size counter's warning", 5000.0, || {
        app.find(".size.over")
    })
    .await;
    app.click("#publish");
    wait_until(5000.0, || app.text("#hint").starts_with("Message too long")).await;
    assert!(
        app.text("#hint")
            .starts_with("Message too long: 4097 bytes, the limit is 4096."),
        "{:?}",
        app.text("#hint")
    );
    assert_eq!(
        app.textarea_value(),
        long,
        "an oversized message is kept, not truncated"
    );

    quiet_for(200, "a row for any of the refused messages").await;
    assert!(app.all("#messages tr").is_empty(), "nothing was sent");
}

#[wasm_bindgen_test]
async fn an_unreachable_broker_shows_reconnecting_with_a_countdown_the_address_and_a_retry() {
    let url = format!("ws://127.0.0.1:{}", closed_port());
    let app = Mounted::new(AppConfig::new(Ok(url.clone())));
    let (text, _) = wait_for("reconnecting badge", 15000.0, || {
        let badge = app.badge();
        (badge.1 == "reconnecting").then_some(badge)
    })
    .await;
    assert!(text.starts_with("reconnecting "), "{text}");
    assert!(
        text.ends_with(&format!(": broker unreachable at {url}")),
        "the reason, in words: {text}"
    );
    assert_eq!(app.text("#retry"), "Retry now");
    // Attempts keep coming, further apart: the countdown shows seconds once past 1 s.
    wait_for("a countdown in seconds", 15000.0, || {
        let (text, _) = app.badge();
        text.starts_with("reconnecting in ").then_some(())
    })
    .await;
}

#[wasm_bindgen_test]
async fn a_bad_broker_url_is_explained_on_the_badge() {
    let app = Mounted::new(AppConfig::new(mqtt_chat::config::broker_url(
        "?broker=http://x:1",
        "h",
    )));
    // The panel holds the address as given, to be corrected.
    let url = || {
        app.find("#broker-url")
            .map(|e| wasm_bindgen::JsCast::unchecked_into::<web_sys::HtmlInputElement>(e).value())
    };
    wait_until(5000.0, || {
        app.badge().1 == "offline" && url().as_deref() == Some("http://x:1")
    })
    .await;
    let (text, state) = app.badge();
    assert_eq!(state, "offline");
    assert!(text.contains("use ws:// or wss://"), "{text}");
    assert_eq!(url().as_deref(), Some("http://x:1"));
}

#[wasm_bindgen_test]
async fn the_table_follows_new_rows_at_the_bottom_and_stays_put_when_scrolled_up() {
    // The real stylesheet, so the table scrolls inside its box as in the app.
    let document = web_sys::window().unwrap().document().unwrap();
    let style = document.create_element("style").unwrap();
    style.set_text_content(Some(include_str!("../style.css")));
    document.head().unwrap().append_child(&style).unwrap();

    let topic = unique_topic("scroll");
    let app = Mounted::new(config(&topic));
    app.wait_connected().await;
    let outside = outsider(&topic).await;
    let publish = |from: usize, to: usize| {
        for i in from..to {
            let payload = format!(r#"{{"name":"n","message":"row {i}","id":"s{i}"}}"#);
            outside.publish(&topic, payload, QoS::AtLeastOnce).unwrap();
        }
    };
    wait_for("the subscription", 5000.0, || {
        publish(0, 1);
        (app.total() == "1").then_some(())
    })
    .await;
    publish(1, 80);
    wait_for("80 rows", 5000.0, || (app.total() == "80").then_some(())).await;
    let scroller = app.find(".scroller").unwrap();
    let gap = |el: &Element| el.scroll_height() - el.scroll_top() - el.client_height();
    // Following is a macrotask after the render.
    wait_until(5000.0, || gap(&scroller) <= 2).await;
    assert!(
        scroller.scroll_height() > scroller.client_height() * 2,
        "the table overflows"
    );
    assert!(
        gap(&scroller) <= 2,
        "followed to the bottom (gap {}, top {}, height {}, client {}, visibility {:?})",
        gap(&scroller),
        scroller.scroll_top(),
        scroller.scroll_height(),
        scroller.client_height(),
        document.visibility_state()
    );

    // The user scrolls up to read; new rows must not pull the view away.
    // Chromium fires scroll asynchronously after scrollTop changes. A listener added after
    // the app's runs after it: once it has seen the event, so has the app.
    let scrolled = std::rc::Rc::new(std::cell::Cell::new(false));
    let seen = std::rc::Rc::clone(&scrolled);
    let on_scroll = Closure::<dyn FnMut()>::new(move || seen.set(true));
    scroller
        .add_event_listener_with_callback("scroll", on_scroll.as_ref().unchecked_ref())
        .unwrap();
    scroller.set_scroll_top(0);
    wait_for("the scroll event", 2000.0, || scrolled.get().then_some(())).await;
    scroller
        .remove_event_listener_with_callback("scroll", on_scroll.as_ref().unchecked_ref())
        .unwrap();
    assert_eq!(scroller.scroll_top(), 0);
    publish(80, 90);
    wait_for("90 rows", 5000.0, || (app.total() == "90").then_some(())).await;
    // Following would be a macrotask after the render.
    quiet_for(100, "the view following the new rows").await;
    assert_eq!(scroller.scroll_top(), 0, "stayed where the user scrolled");
    style.remove();
}

/// Several brokers, the first one dead: the badge says which one it tries, then which one
/// serves (`#connect-broker`, `data-broker`), and still reads exactly `connected`.
#[wasm_bindgen_test]
async fn with_several_brokers_the_badge_names_the_one_in_use() {
    let dead = format!("ws://127.0.0.1:{}", closed_port());
    let list = format!("{dead},{}", common::broker());
    let app = Mounted::new(AppConfig::new(Ok(list)));
    let badge = app.find("#connect-badge").expect("#connect-badge");
    app.wait_connected().await;
    assert_eq!(badge.get_attribute("data-broker"), Some(common::broker()));
    assert_eq!(
        app.text("#connect-broker"),
        format!("on {}", common::broker())
    );
    assert_eq!(app.text("#connect-badge"), "connected");
}

/// A view asked for catch-up answers it after a short random delay. Removed before that,
/// its timer finds the session gone and does nothing: a panic there would kill the page.
#[wasm_bindgen_test]
async fn a_view_removed_before_its_catch_up_answer_is_due_runs_nothing_then() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static PANICKED: AtomicBool = AtomicBool::new(false);

    let topic = unique_topic("gone");
    let app = Mounted::new(config(&topic));
    app.wait_connected().await;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICKED.store(true, Ordering::SeqCst);
        previous(info);
    }));
    let out = outsider(&topic).await;
    let request = chat::catchup::Request {
        id: format!("gone-{}", mqtt_chat::browser::random_hex(4).unwrap()),
        since: None,
        limit: 10,
    };
    out.publish(
        &format!("chat/catchup/{topic}"),
        request.to_json(),
        QoS::AtLeastOnce,
    )
    .unwrap();
    // Published after the request on the same connection: once it shows, the request is in.
    let marker = chat::ChatMessage {
        name: "Bo".into(),
        message: "after the request".into(),
        id: Some(format!("{}-m", request.id)),
        from: None,
        ts: None,
        ..Default::default()
    };
    out.publish(&topic, marker.to_json(), QoS::AtLeastOnce)
        .unwrap();
    wait_for("the message after the request", 5000.0, || {
        (app.total() == "1").then_some(())
    })
    .await;
    drop(app);
    // Past the longest delay (200 + 1000 ms).
    quiet_for(1_500, "the answer's timer fires on a disposed session").await;
    assert!(
        !PANICKED.load(Ordering::SeqCst),
        "the timer ran on the disposed session"
    );
}
