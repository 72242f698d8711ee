//! End to end: the release build in real Chromium tabs over WebDriver, against a real
//! Mosquitto started by scripts/test. Run with `--test-threads=1` (they share the broker's
//! `messages` topic).

use std::process::Command;
use std::time::Duration;

use e2e::*;
use fantoccini::Locator;

#[tokio::test]
async fn two_tabs_chat_and_html_stays_text() {
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;

    c.visit(&app_url(&base)).await.unwrap();
    let tab_a = c.window().await.unwrap();
    let tab_b = c.new_window(true).await.unwrap().handle;
    c.switch_to_window(tab_b.clone()).await.unwrap();
    c.visit(&app_url(&base)).await.unwrap();
    let id_b = wait_connected(c).await;
    c.switch_to_window(tab_a.clone()).await.unwrap();
    let id_a = wait_connected(c).await;
    assert_ne!(id_a, id_b, "each tab has its own client id");

    // The app's messages are plain JSON on `messages`, readable by mosquitto_sub (returns
    // once it is subscribed).
    let tcp_port: u16 = env("MQTT_CHAT_BROKER_TCP_PORT").parse().expect("a port");
    let sub = Deliveries::start(tcp_port).await;

    send(c, "Ada", "Hello from tab A").await;
    let own = eventually("A's own row, delivered", 10, || async {
        rows(c)
            .await
            .into_iter()
            .find(|r| r.message == "Hello from tab A" && r.delivery.as_deref() == Some("delivered"))
    })
    .await;
    assert!(own.own, "the sender's row is marked as its own");
    let message_box = c.find(Locator::Id("message")).await.unwrap();
    assert_eq!(
        message_box.prop("value").await.unwrap().as_deref(),
        Some("")
    );

    let line = eventually("tab A's message in mosquitto_sub", 20, || async {
        sub.lines()
            .into_iter()
            .find_map(|l| l.strip_prefix("messages ").map(str::to_owned))
    })
    .await;
    drop(sub);
    let json: serde_json::Value =
        serde_json::from_str(line.trim()).expect("mosquitto_sub got JSON");
    assert_eq!(json["name"], "Ada");
    assert_eq!(json["message"], "Hello from tab A");

    c.switch_to_window(tab_b.clone()).await.unwrap();
    let seen = eventually("tab A's message in tab B", 10, || async {
        rows(c)
            .await
            .into_iter()
            .find(|r| r.message == "Hello from tab A")
    })
    .await;
    assert_eq!(seen.name, "Ada");
    assert!(!seen.own, "not marked own in the other tab");

    // HTML typed in tab B is shown literally in tab A and creates no element.
    let xss = "<img src=x onerror=alert(1)>";
    send(c, xss, xss).await;
    c.switch_to_window(tab_a.clone()).await.unwrap();
    let row = eventually("the HTML message in tab A", 10, || async {
        rows(c).await.into_iter().find(|r| r.name == xss)
    })
    .await;
    assert_eq!(row.message, xss);
    let imgs = c.find_all(Locator::Css("#messages img")).await.unwrap();
    assert!(imgs.is_empty(), "no <img> was created from user text");
    assert!(c.get_alert_text().await.is_err(), "no alert ran");

    // A command-line client joins the chat.
    mosquitto_pub(
        "messages",
        r#"{"name":"cli","message":"hi from mosquitto_pub"}"#,
    );
    for tab in [&tab_a, &tab_b] {
        c.switch_to_window(tab.clone()).await.unwrap();
        let row = eventually("the mosquitto_pub message", 10, || async {
            rows(c)
                .await
                .into_iter()
                .find(|r| r.message == "hi from mosquitto_pub")
        })
        .await;
        assert_eq!(row.name, "cli");
        let shown = rows(c).await.len();
        assert_eq!(data_total(c).await, shown.to_string());
    }

    // Screenshots of both tabs, under target/screenshots/ (MQTT_CHAT_UPDATE_DOCS=1 also
    // copies them to docs/ for the guide).
    c.switch_to_window(tab_b.clone()).await.unwrap();
    send(c, "Grace", "Hi Ada! Tab B here.").await;
    for (tab, file) in [
        (&tab_a, "screenshot-tab-a.png"),
        (&tab_b, "screenshot-tab-b.png"),
    ] {
        c.switch_to_window(tab.clone()).await.unwrap();
        eventually("Grace's message", 10, || async {
            rows(c).await.into_iter().find(|r| r.name == "Grace")
        })
        .await;
        // Connected, a user folds the connection panel (its summary names the broker).
        c.execute(
            "const d = document.getElementById('settings'); if (d.open) d.querySelector('summary').click();",
            vec![],
        )
        .await
        .unwrap();
        next_frame(c).await;
        save_screenshot(file, &c.screenshot().await.unwrap());
    }
    browser.close().await;
}

/// The client id the current tab keeps in sessionStorage for its reloads.
async fn stored_client_id(c: &fantoccini::Client) -> String {
    c.execute(
        &format!(
            "return {}",
            e2e::scoped_storage_js("sessionStorage", "mqtt-chat.client-id")
        ),
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

#[tokio::test]
async fn a_tab_opened_with_a_copy_of_session_storage_gets_its_own_id_and_neither_is_kicked() {
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    c.visit(&app_url(&base)).await.unwrap();
    let first = wait_connected(c).await;
    let stored = stored_client_id(c).await;
    assert!(stored.contains(&first), "the id is kept for reloads");

    // window.open copies sessionStorage into the new tab, just as "Duplicate tab" does.
    let before = c.windows().await.unwrap();
    c.execute("window.open(location.href)", vec![])
        .await
        .unwrap();
    let copy = eventually("the opened tab", 10, || async {
        c.windows()
            .await
            .unwrap()
            .into_iter()
            .find(|w| !before.contains(w))
    })
    .await;
    c.switch_to_window(copy).await.unwrap();
    let second = wait_connected(c).await;
    let copied = stored_client_id(c).await;
    assert_ne!(first, second, "the copy made a new id");
    assert!(
        copied.contains(&second),
        "and keeps the new one for its own reloads"
    );

    // Two tabs with one id would kick each other off in a loop: each takeover is a new
    // connection in the broker's log. Over a 10 s window, neither id connects again, and each
    // has connected exactly once in all.
    let log = || std::fs::read_to_string(env("MQTT_CHAT_BROKER_LOG")).unwrap_or_default();
    let before = (connects(&log(), &first), connects(&log(), &second));
    quiet_for(
        Duration::from_secs(10),
        "either tab connecting again (a takeover loop)",
    )
    .await;
    let after = (connects(&log(), &first), connects(&log(), &second));
    assert_eq!(
        after,
        (1, 1),
        "connections of ({first}, {second}): {before:?} before the 10 s window, {after:?} after"
    );
    for w in c.windows().await.unwrap() {
        c.switch_to_window(w).await.unwrap();
        assert_eq!(badge(c).await.0, "connected");
    }
    browser.close().await;
}

#[tokio::test]
async fn the_name_is_remembered_and_the_client_id_kept_across_a_reload() {
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    c.visit(&app_url(&base)).await.unwrap();
    let id = wait_connected(c).await;
    send(c, "Linus", "before reload").await;
    eventually("own row", 10, || async {
        rows(c).await.into_iter().find(|r| r.own)
    })
    .await;
    c.refresh().await.unwrap();
    let id_after = wait_connected(c).await;
    assert_eq!(id, id_after, "a reload keeps the tab's client id");
    let name = c.find(Locator::Id("name")).await.unwrap();
    assert_eq!(name.prop("value").await.unwrap().as_deref(), Some("Linus"));
    browser.close().await;
}

#[tokio::test]
async fn a_bad_broker_address_is_explained_not_a_blank_page() {
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    c.visit(&format!("{base}/?broker=http://127.0.0.1:1"))
        .await
        .unwrap();
    let (text, state, _) = eventually("the offline badge", 10, || async {
        let b = badge(c).await;
        (b.1 == "offline").then_some(b)
    })
    .await;
    assert_eq!(state, "offline");
    assert!(text.contains("use ws:// or wss://"), "{text}");
    // The form still works and keeps what is typed.
    send(c, "Ann", "typed while offline").await;
    let hint = eventually("a hint", 5, || async {
        let text = c.find(Locator::Id("hint")).await.ok()?.text().await.ok()?;
        (!text.is_empty()).then_some(text)
    })
    .await;
    assert!(
        hint.starts_with("Not sent (offline: ") && hint.contains("web page address"),
        "{hint}"
    );
    let textarea = c.find(Locator::Id("message")).await.unwrap();
    assert_eq!(
        textarea.prop("value").await.unwrap().as_deref(),
        Some("typed while offline"),
        "what the user typed is kept"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_plain_mqttjs_page_and_the_app_understand_each_other() {
    mqttjs_chat(4).await;
}

/// MQTT 5 on both sides: the app at `?protocol=5`, MQTT.js with `protocolVersion: 5`.
#[tokio::test]
async fn an_mqtt5_tab_and_an_mqtt5_mqttjs_page_chat() {
    if mosquitto_only("Aedes 1.2 refuses MQTT 5") {
        return;
    }
    mqttjs_chat(5).await;
}

/// The app and a plain MQTT.js page speaking MQTT `version` (4 is 3.1.1) chat both ways.
async fn mqttjs_chat(version: u8) {
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    let protocol = if version == 5 { "&protocol=5" } else { "" };
    c.visit(&format!("{}{protocol}", app_url(&base)))
        .await
        .unwrap();
    let app = c.window().await.unwrap();
    let id = wait_connected(c).await;
    // Mosquitto logs each client's protocol: "... as <id> (p5, c0, k120)".
    let log = std::fs::read_to_string(env("MQTT_CHAT_BROKER_LOG")).unwrap_or_default();
    let wanted = format!("as {id} (p{},", if version == 5 { 5 } else { 2 });
    assert!(
        log.contains(&wanted),
        "the app connected with MQTT {version}: {wanted}"
    );

    let peer = c.new_window(true).await.unwrap().handle;
    c.switch_to_window(peer.clone()).await.unwrap();
    let ws = env("MQTT_CHAT_BROKER_WS_PORT");
    c.visit(&format!(
        "{base}/interop/mqttjs.html?broker=ws://127.0.0.1:{ws}&v={version}"
    ))
    .await
    .unwrap();
    eventually("MQTT.js to subscribe", 10, || async {
        let state = c.find(Locator::Id("state")).await.ok()?.text().await.ok()?;
        (state == "subscribed").then_some(())
    })
    .await;

    c.switch_to_window(app.clone()).await.unwrap();
    send(c, "Rust", "to MQTT.js").await;
    c.switch_to_window(peer.clone()).await.unwrap();
    let got = eventually("MQTT.js to receive the app's message", 10, || async {
        let all = c.execute("return window.received", vec![]).await.ok()?;
        all.as_array()?
            .iter()
            .find(|m| m["message"] == "to MQTT.js")
            .cloned()
    })
    .await;
    assert_eq!(got["name"], "Rust");

    c.execute("window.publishChat('js', 'from MQTT.js')", vec![])
        .await
        .unwrap();
    c.switch_to_window(app).await.unwrap();
    let row = eventually("the MQTT.js message in the app", 10, || async {
        rows(c)
            .await
            .into_iter()
            .find(|r| r.message == "from MQTT.js")
    })
    .await;
    assert_eq!(row.name, "js");
    browser.close().await;
}

#[tokio::test]
async fn leaving_the_page_sends_disconnect() {
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    c.visit(&app_url(&base)).await.unwrap();
    let id = wait_connected(c).await;
    c.visit("about:blank").await.unwrap();
    // Mosquitto logs "Client <id> disconnected." only for a DISCONNECT packet; a socket that
    // just drops is logged as "closed its connection" or a socket error.
    let clean = format!("Client {id} disconnected.");
    eventually("the broker to log a clean DISCONNECT", 10, || async {
        let log = std::fs::read_to_string(env("MQTT_CHAT_BROKER_LOG")).ok()?;
        log.contains(&clean).then_some(())
    })
    .await;
    browser.close().await;
}

#[tokio::test]
async fn two_bridged_brokers_carry_the_chat_both_ways() {
    if mosquitto_only("Mosquitto's bridge") {
        return;
    }
    let first = Broker::start(&[]);
    let address = format!("address 127.0.0.1:{}", first.tcp_port);
    let second = Broker::from_config("mosquitto-bridge.conf", &[("address ", &address)]);
    // The bridge is up once the first broker has seen its connection.
    eventually("the bridge to connect", 20, || async {
        first.log().contains("chat-bridge").then_some(())
    })
    .await;

    // Count what each broker delivers, not rows: the app drops repeated ids, so a bridge
    // loop would never show as a second row.
    let on_first = Deliveries::start(first.tcp_port).await;
    let on_second = Deliveries::start(second.tcp_port).await;

    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    open_app(c, &base, &first.ws_url(), "").await;
    let tab_a = c.window().await.unwrap();
    wait_connected(c).await;
    let tab_b = c.new_window(true).await.unwrap().handle;
    c.switch_to_window(tab_b.clone()).await.unwrap();
    open_app(c, &base, &second.ws_url(), "").await;
    wait_connected(c).await;

    c.switch_to_window(tab_a.clone()).await.unwrap();
    send(c, "Ada", "across the bridge").await;
    c.switch_to_window(tab_b.clone()).await.unwrap();
    eventually("A's message on the second broker", 15, || async {
        rows(c)
            .await
            .into_iter()
            .find(|r| r.message == "across the bridge")
    })
    .await;
    send(c, "Grace", "and back").await;
    c.switch_to_window(tab_a).await.unwrap();
    eventually("B's message on the first broker", 15, || async {
        rows(c).await.into_iter().find(|r| r.message == "and back")
    })
    .await;

    // Positive signals instead of a pause. "and back" left the second broker after "across
    // the bridge" reached it, so any echo of that to the first broker came over the bridge
    // before "and back" did. Likewise a marker published on the first broker after "and back"
    // reached it follows any echo of "and back" to the second broker.
    eventually("'and back' delivered on the first broker", 15, || async {
        (on_first.count("\"and back\"") > 0).then_some(())
    })
    .await;
    let marker = format!("bridge marker {}", free_port());
    let status = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &first.tcp_port.to_string(),
            "-q",
            "1",
        ])
        .args(["-t", "messages", "-m"])
        .arg(format!(r#"{{"name":"e2e","message":"{marker}"}}"#))
        .status()
        .expect("mosquitto_pub runs");
    assert!(status.success());
    eventually("the marker on the second broker", 15, || async {
        (on_second.count(&marker) > 0).then_some(())
    })
    .await;
    for (broker, seen) in [("first", &on_first), ("second", &on_second)] {
        for text in ["\"across the bridge\"", "\"and back\""] {
            assert_eq!(
                seen.count(text),
                1,
                "the {broker} broker delivered {text} {} times: a bridge loop",
                seen.count(text)
            );
        }
    }
    let echoes = rows(c)
        .await
        .into_iter()
        .filter(|r| r.message == "across the bridge")
        .count();
    assert_eq!(echoes, 1, "no message comes back twice over the bridge");
    browser.close().await;
}
