//! Rooms (issue 8): a message stays in its room and raises that room's unread count, `?room=`
//! opens and joins a room on its own topic, bad names are refused in words, joined rooms are
//! remembered, a closed tab's session keeps its rooms' subscriptions, and a hidden tab's title
//! carries the unread count. Each test runs a Mosquitto of its own.

use e2e::*;
use fantoccini::{Client, Locator};

const DEFAULT_ROOM: &str = "messages";

/// Wait (bounded) for a row whose message is `text` in the open room.
async fn wait_row(c: &Client, text: &str) -> ShownRow {
    eventually(&format!("a row {text:?} in #messages"), 10, || async {
        rows(c).await.into_iter().find(|r| r.message == text)
    })
    .await
}

async fn has_row(c: &Client, text: &str) -> bool {
    rows(c).await.iter().any(|r| r.message == text)
}

/// Exactly one room is open, and it is `name`: its li has `aria-current="true"`, no other
/// li does.
async fn assert_only_open(c: &Client, name: &str) {
    let list = room_list(c).await;
    let open: Vec<&RoomItem> = list.iter().filter(|r| r.is_current()).collect();
    assert_eq!(
        open.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec![name],
        "exactly the open room has aria-current=\"true\": {list:?}"
    );
}

#[tokio::test]
async fn a_message_stays_in_its_room_and_raises_that_rooms_unread_count() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    // Two people (two browser profiles), so nothing is skipped as "my own".
    let ann = Browser::start().await;
    let bo = Browser::start().await;
    let (a, b) = (&ann.client, &bo.client);

    for c in [a, b] {
        open_app(c, &base, &broker.ws_url(), "").await;
        wait_connected(c).await;
        wait_room(c, DEFAULT_ROOM, 10).await;
        join_and_open(c, "dev").await;
        assert_eq!(
            room_names(c).await,
            vec![DEFAULT_ROOM, "dev"],
            "the default room first, then the joined one"
        );
        assert_only_open(c, "dev").await;
    }
    // B goes back to the default room.
    open_room(b, DEFAULT_ROOM).await;
    wait_open(b, DEFAULT_ROOM, 5).await;
    assert_only_open(b, DEFAULT_ROOM).await;
    assert_eq!(room_unread(b, "dev").await, Some(0), "nothing unread yet");

    // A says something in dev.
    send(a, "Ann", "only for dev").await;
    wait_row(a, "only for dev").await;

    // B, in the default room: dev's unread count shows it, the open room does not.
    eventually("dev's unread count to be 1 in B", 10, || async {
        (room_unread(b, "dev").await == Some(1)).then_some(())
    })
    .await;
    assert!(
        !has_row(b, "only for dev").await,
        "a message for dev never shows in the default room: {:?}",
        rows(b).await
    );
    assert_eq!(room_unread(b, DEFAULT_ROOM).await, Some(0));

    // B opens dev: the message is there, the count gone, and aria-current moved.
    open_room(b, "dev").await;
    let row = wait_row(b, "only for dev").await;
    assert_eq!(row.name, "Ann");
    wait_open(b, "dev", 5).await;
    assert_only_open(b, "dev").await;
    eventually("dev's unread count to clear in B", 5, || async {
        (room_unread(b, "dev").await == Some(0)).then_some(())
    })
    .await;

    // mosquitto_pub users reach a room on messages/<room>, and the default room on messages.
    mosquitto_pub_to(
        broker.tcp_port,
        "messages/dev",
        &chat_json("cli", "cli in dev"),
        1,
        false,
    );
    wait_row(b, "cli in dev").await;
    mosquitto_pub_to(
        broker.tcp_port,
        DEFAULT_ROOM,
        &chat_json("cli", "cli in the default room"),
        1,
        false,
    );
    eventually(
        "the default room's unread count to be 1 in B",
        10,
        || async { (room_unread(b, DEFAULT_ROOM).await == Some(1)).then_some(()) },
    )
    .await;
    assert!(
        !has_row(b, "cli in the default room").await,
        "a message on `messages` never shows in dev: {:?}",
        rows(b).await
    );
    open_room(b, DEFAULT_ROOM).await;
    wait_row(b, "cli in the default room").await;
    wait_open(b, DEFAULT_ROOM, 5).await;
    for text in ["only for dev", "cli in dev"] {
        assert!(
            !has_row(b, text).await,
            "{text:?} (dev) shows in the default room: {:?}",
            rows(b).await
        );
    }
    assert_eq!(
        data_total(b).await,
        rows(b).await.len().to_string(),
        "data-total counts the open room's rows"
    );

    // A, still in dev, saw the same split.
    wait_row(a, "cli in dev").await;
    eventually(
        "the default room's unread count to be 1 in A",
        10,
        || async { (room_unread(a, DEFAULT_ROOM).await == Some(1)).then_some(()) },
    )
    .await;
    assert!(!has_row(a, "cli in the default room").await);
    save_screenshot("screenshot-rooms.png", &a.screenshot().await.unwrap());
    ann.close().await;
    bo.close().await;
}

#[tokio::test]
async fn the_room_query_opens_and_joins_the_room_and_sends_on_its_topic() {
    let broker = Broker::start(&[]);
    let seen = Deliveries::start_on(broker.tcp_port, &["messages/#"]).await;
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;

    open_app(c, &base, &broker.ws_url(), "&room=ops").await;
    wait_connected(c).await;
    wait_open(c, "ops", 10).await;
    assert_only_open(c, "ops").await;
    assert_eq!(room_names(c).await, vec![DEFAULT_ROOM, "ops"]);

    send(c, "Oz", "to the ops room").await;
    wait_row(c, "to the ops room").await;
    eventually("the message on messages/ops", 10, || async {
        (seen.count_on("messages/ops", "\"to the ops room\"") >= 1).then_some(())
    })
    .await;
    assert_eq!(
        seen.count("to the ops room"),
        1,
        "published once, on messages/ops only: {:?}",
        seen.lines()
    );

    // Joined, so remembered: the same tab without the query still lists ops.
    open_app(c, &base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    wait_room(c, "ops", 10).await;
    browser.close().await;
}

#[tokio::test]
async fn refused_room_names_are_explained_and_kept_in_the_input() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;

    let long = "x".repeat(65);
    let long_bytes = "é".repeat(33); // 33 characters, 66 bytes
    let refused: [(&str, &str); 8] = [
        ("", "empty"),
        ("   ", "only spaces"),
        ("a/b", "a slash"),
        ("a+b", "a plus"),
        ("#", "a hash"),
        ("$SYS", "a leading $"),
        (&long, "65 bytes"),
        (&long_bytes, "66 bytes in 33 characters"),
    ];
    for (name, why) in refused {
        // A fresh page for each, so that the error shown is this name's.
        open_app(c, &base, &broker.ws_url(), "").await;
        wait_connected(c).await;
        wait_room(c, DEFAULT_ROOM, 10).await;
        assert!(
            room_error(c).await.unwrap_or_default().is_empty(),
            "no error before trying"
        );
        let before = room_names(c).await;
        join_room(c, name).await;
        let error = eventually(&format!("#room-error for {why}"), 5, || async {
            room_error(c).await.filter(|t| !t.is_empty())
        })
        .await;
        assert!(
            error.chars().any(char::is_alphabetic),
            "the reason is given in words for {why}: {error:?}"
        );
        let role = c
            .find(Locator::Id("room-error"))
            .await
            .unwrap()
            .attr("role")
            .await
            .unwrap();
        assert_eq!(role.as_deref(), Some("alert"), "#room-error is an alert");
        assert_eq!(
            room_names(c).await,
            before,
            "no room joined for {why} ({name:?})"
        );
        assert_eq!(
            input_value(c, "room-name").await,
            name,
            "what was typed stays in #room-name ({why})"
        );
        assert_only_open(c, DEFAULT_ROOM).await;
    }

    // Allowed: 64 bytes exactly, and HTML, which is shown as text.
    let longest = "y".repeat(64);
    join_and_open(c, &longest).await;
    let html = "<img src=x onerror=alert(1)>";
    let imgs_before = c.find_all(Locator::Css("img")).await.unwrap().len();
    join_and_open(c, html).await;
    let item = room_item(c, html).await.unwrap();
    assert_eq!(
        item.label.as_deref(),
        Some(html),
        "the room's button shows the name as text"
    );
    assert_eq!(
        c.find_all(Locator::Css("img")).await.unwrap().len(),
        imgs_before,
        "no element was made from the room name"
    );
    assert!(
        room_error(c).await.unwrap_or_default().is_empty(),
        "no error left once a good name is joined"
    );
    assert!(c.get_alert_text().await.is_err(), "no alert ran");
    // And it survives a reload as text too.
    c.refresh().await.unwrap();
    wait_connected(c).await;
    let item = wait_room(c, html, 10).await;
    assert_eq!(item.label.as_deref(), Some(html));
    assert_eq!(
        c.find_all(Locator::Css("img")).await.unwrap().len(),
        imgs_before
    );
    assert!(c.get_alert_text().await.is_err(), "no alert ran");
    browser.close().await;
}

#[tokio::test]
async fn joined_rooms_are_remembered_and_leaving_is_too() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;

    open_app(c, &base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    let default = wait_room(c, DEFAULT_ROOM, 10).await;
    assert_eq!(default.leave, None, "the default room cannot be left");
    assert_eq!(default.label.as_deref(), Some(DEFAULT_ROOM));
    join_and_open(c, "dev").await;
    join_and_open(c, "ops").await;
    open_room(c, "dev").await;
    wait_open(c, "dev", 5).await;
    assert_eq!(room_names(c).await, vec![DEFAULT_ROOM, "dev", "ops"]);
    let dev = room_item(c, "dev").await.unwrap();
    assert_eq!(dev.leave.as_deref(), Some("Leave dev"));
    assert_eq!(dev.label.as_deref(), Some("dev"));

    // A reload keeps the rooms, their order and the open room.
    c.refresh().await.unwrap();
    wait_connected(c).await;
    wait_room(c, "ops", 10).await;
    assert_eq!(room_names(c).await, vec![DEFAULT_ROOM, "dev", "ops"]);
    wait_open(c, "dev", 5).await;
    assert_only_open(c, "dev").await;
    assert_eq!(room_item(c, DEFAULT_ROOM).await.unwrap().leave, None);

    // Leaving dev (the open room) removes it, and some room stays open.
    leave_room(c, "dev").await;
    eventually("dev's li to go", 5, || async {
        room_item(c, "dev").await.is_none().then_some(())
    })
    .await;
    assert_eq!(room_names(c).await, vec![DEFAULT_ROOM, "ops"]);
    eventually("one open room after leaving the open one", 5, || async {
        (current_rooms(c).await.len() == 1).then_some(())
    })
    .await;

    // Still gone after a reload, and ops still there.
    c.refresh().await.unwrap();
    wait_connected(c).await;
    wait_room(c, "ops", 10).await;
    assert_eq!(room_names(c).await, vec![DEFAULT_ROOM, "ops"]);
    eventually("one open room after the reload", 5, || async {
        (current_rooms(c).await.len() == 1).then_some(())
    })
    .await;

    // The default room has no leave button, whatever is open.
    let all_leave = c
        .find_all(Locator::Css(&format!(
            "{} button.leave-room",
            room_selector(DEFAULT_ROOM)
        )))
        .await
        .unwrap();
    assert!(all_leave.is_empty(), "no leave button on the default room");
    browser.close().await;
}

#[tokio::test]
async fn a_closed_tabs_session_keeps_its_rooms_and_delivers_what_it_missed() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;

    open_app(c, &base, &broker.ws_url(), "").await;
    let first = c.window().await.unwrap();
    let id = wait_connected(c).await;
    join_and_open(c, "dev").await;
    // The subscription is in place once something published on messages/dev shows.
    mosquitto_pub_to(
        broker.tcp_port,
        "messages/dev",
        &chat_json("cli", "before closing"),
        1,
        false,
    );
    wait_row(c, "before closing").await;

    // Close the tab (another one keeps the browser open), and wait for the broker to see it go.
    let other = new_tab(c).await;
    c.switch_to_window(first).await.unwrap();
    c.close_window().await.unwrap();
    c.switch_to_window(other).await.unwrap();
    let gone = [
        format!("Client {id} disconnected"),
        format!("Client {id} closed its connection"),
    ];
    eventually("the broker to see the closed tab go", 10, || async {
        let log = broker.log();
        gone.iter().any(|g| log.contains(g)).then_some(())
    })
    .await;

    // At QoS 1 mosquitto_pub returns once the broker has acknowledged the message, which it
    // does after queueing it for the closed tab's session.
    mosquitto_pub_to(
        broker.tcp_port,
        "messages/dev",
        &chat_json("cli", "while the tab was closed"),
        1,
        false,
    );
    // The closed tab's id is free for the next tab once its Web Lock is released.
    wait_lock_released(c, &base, &id, 10).await;

    // A tab opened later takes the closed tab's client id, and its session's subscription to
    // messages/dev kept the message.
    open_app(c, &base, &broker.ws_url(), "").await;
    let again = wait_connected(c).await;
    assert_eq!(again, id, "the new tab resumes the closed tab's session");
    wait_room(c, "dev", 10).await;
    let shown_or_counted = eventually("the missed message in dev", 10, || async {
        if current_rooms(c).await == ["dev"] {
            has_row(c, "while the tab was closed")
                .await
                .then_some("shown")
        } else {
            (room_unread(c, "dev").await >= Some(1)).then_some("counted")
        }
    })
    .await;
    println!("the missed message was {shown_or_counted} in dev");
    open_room(c, "dev").await;
    let row = wait_row(c, "while the tab was closed").await;
    assert_eq!(row.name, "cli");
    browser.close().await;
}

#[tokio::test]
async fn a_hidden_tabs_title_carries_the_unread_count() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;

    open_app(c, &base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    assert_eq!(title(c).await, "MQTT chat");

    // A message while visible changes nothing.
    mosquitto_pub_to(
        broker.tcp_port,
        DEFAULT_ROOM,
        &chat_json("cli", "seen"),
        1,
        false,
    );
    wait_row(c, "seen").await;
    assert_eq!(title(c).await, "MQTT chat");

    hide_tab(c).await;
    assert_eq!(title(c).await, "MQTT chat", "hidden, nothing unread yet");
    for (n, text) in [(1, "unseen one"), (2, "unseen two")] {
        mosquitto_pub_to(
            broker.tcp_port,
            DEFAULT_ROOM,
            &chat_json("cli", text),
            1,
            false,
        );
        let want = format!("({n}) MQTT chat");
        eventually(&format!("the title {want:?}"), 10, || async {
            (title(c).await == want).then_some(())
        })
        .await;
    }
    assert_eq!(visibility(c).await, "hidden");

    // Shown again: the plain title.
    set_window(c, 900, 640).await;
    eventually("the tab to be visible", 5, || async {
        (visibility(c).await == "visible").then_some(())
    })
    .await;
    eventually("the plain title once the tab is seen", 5, || async {
        (title(c).await == "MQTT chat").then_some(())
    })
    .await;
    browser.close().await;
}
