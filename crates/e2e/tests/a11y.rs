//! Layout and access (issue 8), checked by a machine: axe-core (npm, scripts/setup installs it)
//! on the served app with messages, people, a second room and someone typing, at desktop size
//! and at 375 px, in light and dark mode: no serious or critical violations. At 375 px the
//! table's headers fit and the page does not scroll sideways; dark mode follows the system.

use std::time::{SystemTime, UNIX_EPOCH};

use e2e::*;
use fantoccini::Client;
use serde_json::{json, Value};

const SIZES: [(&str, u32, u32); 2] = [("desktop", 1280, 900), ("phone", 375, 812)];

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Someone else is typing in the default room, for the next 5 s (the caller waits for
/// `#typing` to show it, so that axe sees it).
fn someone_types(broker: &Broker) {
    let event = json!({ "person": "e2e-bo", "name": "Bo", "expires_in": 5000 });
    mosquitto_pub_to(
        broker.tcp_port,
        "chat/typing/messages",
        &event.to_string(),
        0,
        false,
    );
}

/// The page's colours: background and text of html and body.
async fn colours(c: &Client) -> Value {
    c.execute(
        "const s = e => getComputedStyle(e);
         return [s(document.documentElement).backgroundColor, s(document.body).backgroundColor,
                 s(document.body).color, s(document.documentElement).color];",
        vec![],
    )
    .await
    .expect("read colours")
}

#[tokio::test]
async fn axe_finds_nothing_serious_at_desktop_and_phone_size_in_light_and_dark_mode() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;

    // A room people live in: messages of both kinds, two people, a second room with something
    // unread, and someone typing.
    open_app(c, &base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    send(c, "Ann", "Hello, is anyone here?").await;
    mosquitto_pub_to(
        broker.tcp_port,
        "messages",
        &chat_json("Bo", "Hi Ann, Bo here."),
        1,
        false,
    );
    let presence = json!({
        "person": "e2e-bo", "name": "Bo", "rooms": ["messages", "dev"],
        "online": true, "ts": now_ms(),
    });
    mosquitto_pub_to(
        broker.tcp_port,
        "chat/presence/e2e-bo-tab",
        &presence.to_string(),
        1,
        true,
    );
    join_and_open(c, "dev").await;
    open_room(c, "messages").await;
    wait_open(c, "messages", 5).await;
    mosquitto_pub_to(
        broker.tcp_port,
        "messages/dev",
        &chat_json("Bo", "Over in dev."),
        1,
        false,
    );
    eventually("two rows in the default room", 10, || async {
        (rows(c).await.len() >= 2).then_some(())
    })
    .await;
    eventually("dev's unread count", 10, || async {
        (room_unread(c, "dev").await == Some(1)).then_some(())
    })
    .await;
    eventually("two people in #presence", 10, || async {
        let n = c
            .execute(
                "return document.querySelectorAll('#presence li').length",
                vec![],
            )
            .await
            .ok()?
            .as_u64()?;
        (n >= 2).then_some(())
    })
    .await;

    // The connection panel open, so that its form is audited too.
    open_settings(c).await;
    let mut serious = Vec::new();
    // Everything found, reported together at the end.
    let mut problems: Vec<String> = Vec::new();
    let mut report = String::new();
    let mut light_dark = Vec::new();
    for (size, width, height) in SIZES {
        let (w, h) = set_window(c, width, height).await;
        assert_eq!(w, width as u64, "viewport width for {size}: {w}x{h}");
        for dark in [false, true] {
            emulate_dark(c, dark).await;
            someone_types(&broker);
            eventually("#typing to show Bo typing", 10, || async {
                typing_text(c)
                    .await
                    .filter(|t| t.contains("Bo"))
                    .map(|_| ())
            })
            .await;
            next_frame(c).await;
            let mode = if dark { "dark" } else { "light" };
            let violations = run_axe(c).await;
            report.push_str(&format!(
                "\n{size} {w}x{h}, {mode}: {} violations\n",
                violations.len()
            ));
            for v in &violations {
                report.push_str(&format!("  {v}\n"));
                if v.impact == "serious" || v.impact == "critical" {
                    serious.push(format!("{size} {mode}: {v}"));
                }
            }
            light_dark.push((size, mode, colours(c).await));
            // A row reads across: its name, message and time cells side by side, as the
            // header's columns (a stray rule once made rows stack their cells).
            let row = c
                .execute(
                    "const cells = Array.from(document.querySelectorAll('#messages tr:last-child td'));
                     return cells.map(td => { const r = td.getBoundingClientRect();
                       return { left: r.left, right: r.right, top: r.top, display: getComputedStyle(td).display }; });",
                    vec![],
                )
                .await
                .unwrap();
            let cells = row.as_array().cloned().unwrap_or_default();
            let across = cells.len() == 3
                && cells.iter().all(|c| c["display"] == "table-cell")
                && cells.windows(2).all(|w| {
                    w[1]["left"].as_f64().unwrap_or(0.0)
                        >= w[0]["right"].as_f64().unwrap_or(0.0) - 1.0
                        && w[1]["top"] == w[0]["top"]
                });
            if !across {
                problems.push(format!(
                    "{size} {mode}: a row's cells are not side by side: {row}"
                ));
            }
            save_screenshot(
                &format!("screenshot-{size}-{mode}.png"),
                &c.screenshot().await.unwrap(),
            );
        }
    }
    println!("axe-core {report}");

    // Dark mode follows the system: the page's colours change with prefers-color-scheme.
    for size in ["desktop", "phone"] {
        let of = |m: &str| {
            light_dark
                .iter()
                .find(|(s, mode, _)| *s == size && *mode == m)
                .map(|(_, _, v)| v.clone())
                .unwrap()
        };
        if of("light") == of("dark") {
            problems.push(format!(
                "{size}: the page looks the same with prefers-color-scheme dark: {}",
                of("dark")
            ));
        }
    }

    // At 375 px: every table header, and its text, fits in the viewport and in any box that
    // clips or scrolls it; nothing scrolls sideways.
    set_window(c, 375, 812).await;
    let layout = c
        .execute(
            "const clippers = [];
             for (let e = document.querySelector('table')?.parentElement; e && e !== document.body;
                  e = e.parentElement) {
                 if (getComputedStyle(e).overflowX !== 'visible') clippers.push(e);
             }
             return {
                inner: innerWidth,
                scroll: document.documentElement.scrollWidth,
                clippers: clippers.map(e => ({
                    what: e.tagName + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''),
                    right: e.getBoundingClientRect().right,
                    scroll: e.scrollWidth,
                    client: e.clientWidth,
                })),
                th: Array.from(document.querySelectorAll('th')).map(th => {
                    const r = th.getBoundingClientRect();
                    const text = document.createRange();
                    text.selectNodeContents(th);
                    const t = text.getBoundingClientRect();
                    return { text: th.textContent.trim(), left: r.left, right: r.right,
                             text_right: t.right };
                }),
            }",
            vec![],
        )
        .await
        .unwrap();
    println!("layout at 375 px: {layout}");
    let inner = layout["inner"].as_f64().unwrap();
    let headers = layout["th"].as_array().cloned().unwrap_or_default();
    assert!(!headers.is_empty(), "the message table has headers");
    let clippers = layout["clippers"].as_array().cloned().unwrap_or_default();
    for th in &headers {
        let name = &th["text"];
        let right = th["right"].as_f64().unwrap();
        let text_right = th["text_right"].as_f64().unwrap();
        if right > inner + 0.5 {
            problems.push(format!(
                "header {name} is cut off: its right edge {right} > the viewport's {inner}"
            ));
        }
        if th["left"].as_f64().unwrap() < -0.5 {
            problems.push(format!("header {name} starts off screen"));
        }
        if text_right > right + 0.5 {
            problems.push(format!("header {name}'s text overflows its cell: text ends at {text_right}, the cell at {right}"));
        }
        for clip in &clippers {
            let edge = clip["right"].as_f64().unwrap();
            if text_right > edge + 0.5 {
                problems.push(format!(
                    "header {name} is cut off by {}: text ends at {text_right}, the box at {edge}",
                    clip["what"]
                ));
            }
        }
    }
    for clip in &clippers {
        let (scroll, client) = (
            clip["scroll"].as_f64().unwrap(),
            clip["client"].as_f64().unwrap(),
        );
        if scroll > client + 1.0 {
            problems.push(format!(
                "{} scrolls sideways at 375 px: scrollWidth {scroll} > clientWidth {client}",
                clip["what"]
            ));
        }
    }
    let scroll = layout["scroll"].as_f64().unwrap();
    if scroll > inner {
        problems.push(format!(
            "the page scrolls sideways at 375 px: scrollWidth {scroll} > innerWidth {inner}"
        ));
    }

    if !serious.is_empty() {
        problems.push(format!(
            "axe-core found {} serious or critical violations:\n{}",
            serious.len(),
            serious.join("\n")
        ));
    }
    assert!(
        problems.is_empty(),
        "{}\n\nAll axe-core violations:{report}",
        problems.join("\n")
    );
    browser.close().await;
}

/// The topic viewer (issue 10) passes the same checks: axe at desktop and phone size, light
/// and dark, and nothing scrolls sideways at 375 px, with a scoreboard of live topics, a
/// retained one, a binary payload and pretty-printed JSON showing. Its screenshots go to
/// docs/using.md.
#[tokio::test]
async fn the_topic_viewer_passes_axe_and_fits_a_phone() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    mosquitto_pub_to(
        broker.tcp_port,
        "matches/3/score",
        r#"{"home":"Lyon","away":"Nantes","score":[2,1],"minute":67}"#,
        1,
        true,
    );
    c.visit(&format!(
        "{base}/?broker={}#/watch?filter=matches/%23&filter=sensors/%2B/temperature",
        broker.ws_url()
    ))
    .await
    .unwrap();
    wait_connected(c).await;
    eventually("both filters granted", 10, || async {
        let n = c
            .execute(
                "return document.querySelectorAll('#filters li[data-state=active]').length",
                vec![],
            )
            .await
            .ok()?
            .as_u64()?;
        (n == 2).then_some(())
    })
    .await;
    for (topic, payload) in [
        (
            "matches/1/score",
            r#"{"home":"Ajax","away":"PSV","score":[1,1],"minute":90}"#,
        ),
        (
            "matches/2/score",
            r#"{"home":"Benfica","away":"Porto","score":[0,2],"minute":34}"#,
        ),
        ("matches/1/events", "Goal! 1-1, header from a corner"),
        ("sensors/kitchen/temperature", "21.5"),
        (
            "matches/1/score",
            r#"{"home":"Ajax","away":"PSV","score":[2,1],"minute":91}"#,
        ),
    ] {
        mosquitto_pub_to(broker.tcp_port, topic, payload, 0, false);
    }
    let binary = broker.dir.join("frame.bin");
    std::fs::write(
        &binary,
        [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff],
    )
    .unwrap();
    let out = std::process::Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &broker.tcp_port.to_string()])
        .args(["-t", "matches/2/camera", "-f"])
        .arg(&binary)
        .output()
        .unwrap();
    assert!(out.status.success());
    c.find(fantoccini::Locator::Css("#mode-latest"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(fantoccini::Locator::Css("#pretty-json"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("six topics in the scoreboard", 10, || async {
        let n = c
            .execute(
                "return document.querySelectorAll('#latest tr[data-topic]').length",
                vec![],
            )
            .await
            .ok()?
            .as_u64()?;
        (n == 6).then_some(())
    })
    .await;

    let mut problems = Vec::new();
    for (size, width, height) in SIZES {
        set_window(c, width, height).await;
        for dark in [false, true] {
            emulate_dark(c, dark).await;
            // The new colours on screen, for the screenshot (axe reads computed styles).
            next_frame(c).await;
            let mode = if dark { "dark" } else { "light" };
            for v in run_axe(c).await {
                if v.impact == "serious" || v.impact == "critical" {
                    problems.push(format!("{size} {mode}: {v}"));
                }
            }
            let (scroll, inner) = {
                let v = c
                    .execute(
                        "return [document.documentElement.scrollWidth, innerWidth]",
                        vec![],
                    )
                    .await
                    .unwrap();
                (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
            };
            if scroll > inner {
                problems.push(format!(
                    "{size} {mode}: the viewer scrolls sideways: {scroll} > {inner}"
                ));
            }
            let file = match (size, dark) {
                ("desktop", false) => "screenshot-viewer.png".to_owned(),
                _ => format!("screenshot-viewer-{size}-{mode}.png"),
            };
            save_screenshot(&file, &c.screenshot().await.unwrap());
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    browser.close().await;
}
