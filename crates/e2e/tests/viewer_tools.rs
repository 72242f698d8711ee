//! The viewer's tools (issue 23), in the release build against a Mosquitto of each test's
//! own: the publish panel (checks before sending, the broker's answer, MQTT 5 properties,
//! templates kept per broker, repeating with a stop), the retained messages (listed, cleared
//! one by one and 1,000 at a time under a filter, checked with a fresh `mosquitto_sub`, out
//! of 5,000 held), the topic tree, the decoders per filter, the charts and the export.

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::*;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

async fn attr(c: &Client, selector: &str, name: &str) -> Option<String> {
    c.execute(
        "return document.querySelector(arguments[0])?.getAttribute(arguments[1]) ?? null",
        vec![json!(selector), json!(name)],
    )
    .await
    .expect("read an attribute")
    .as_str()
    .map(str::to_owned)
}

async fn text(c: &Client, selector: &str) -> Option<String> {
    c.execute(
        "return document.querySelector(arguments[0])?.textContent ?? null",
        vec![json!(selector)],
    )
    .await
    .expect("read a text")
    .as_str()
    .map(str::to_owned)
}

async fn count(c: &Client, selector: &str) -> u64 {
    c.execute(
        "return document.querySelectorAll(arguments[0]).length",
        vec![json!(selector)],
    )
    .await
    .expect("count elements")
    .as_u64()
    .unwrap_or(0)
}

async fn click(c: &Client, selector: &str) {
    c.find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {selector}: {e}"));
}

async fn select(c: &Client, selector: &str, value: &str) {
    c.find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("select {value} in {selector}: {e}"));
}

/// Set a field's value as typing would (an `input` event, then `change`).
async fn type_into(c: &Client, selector: &str, value: &str) {
    c.execute(
        "const el = document.querySelector(arguments[0]);
         el.value = arguments[1];
         el.dispatchEvent(new Event('input', {bubbles: true}));
         el.dispatchEvent(new Event('change', {bubbles: true}));",
        vec![json!(selector), json!(value)],
    )
    .await
    .unwrap_or_else(|e| panic!("type into {selector}: {e}"));
}

async fn wait_text(c: &Client, selector: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    eventually(what, 15, || async {
        text(c, selector).await.filter(|t| ok(t))
    })
    .await
}

/// The bodies of `#stream`'s rows on `topic`.
async fn stream_bodies(c: &Client, topic: &str) -> Vec<String> {
    let v = c
        .execute(
            "return [...document.querySelectorAll('#stream tr')]
                .filter(r => r.querySelector('td.topic')?.firstChild?.textContent === arguments[0])
                .map(r => r.querySelector('td.payload .body')?.textContent ?? '')",
            vec![json!(topic)],
        )
        .await
        .expect("read #stream");
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The retained messages the broker holds under `filter`, as a fresh client sees them:
/// (topic, payload) lines.
fn broker_retained(port: u16, filter: &str) -> Vec<String> {
    let out = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-t", filter, "-v", "--retained-only", "-W", "3"])
        .output()
        .expect("run mosquitto_sub");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

struct Setup {
    broker: Broker,
    browser: Browser,
    base: String,
}

impl Setup {
    async fn new() -> Setup {
        let s = Setup {
            broker: Broker::start(&[]),
            browser: Browser::start().await,
            base: serve_dist(dist()),
        };
        set_window(&s.browser.client, 1400, 900).await;
        s
    }

    /// The viewer watching `filters`, connected, each filter granted.
    async fn viewer(&self, filters: &[&str], query: &str) -> &Client {
        let c = &self.browser.client;
        let hash: Vec<String> = filters
            .iter()
            .map(|f| format!("filter={}", f.replace('#', "%23")))
            .collect();
        c.visit(&format!(
            "{}/?broker={}{query}#/watch?{}",
            self.base,
            self.broker.ws_url(),
            hash.join("&")
        ))
        .await
        .expect("open the viewer");
        wait_connected(c).await;
        for f in filters {
            eventually(&format!("{f} granted"), 15, || async {
                let v = c
                    .execute(
                        "return [...document.querySelectorAll('#filters li')].some(l => l.dataset.filter === arguments[0] && l.dataset.state === 'active')",
                        vec![json!(f)],
                    )
                    .await
                    .ok()?;
                v.as_bool().filter(|b| *b)
            })
            .await;
        }
        c
    }
}

/// Breaks if: a wildcard topic, bad JSON or bad hex is sent (or refused without words), a
/// QoS 1 publish is not acknowledged in `#pub-status`, hex is not sent as its bytes, retain
/// is not kept by the broker, a template is not kept across a reload or not restored by
/// "Use", or a repeat goes faster than asked or on after Stop.
#[tokio::test]
async fn the_publish_panel_checks_sends_keeps_templates_and_repeats() {
    let s = Setup::new().await;
    let c = s.viewer(&["pub/#"], "").await;

    // Refused in words before anything is sent.
    type_into(c, "#pub-topic", "pub/+/x").await;
    type_into(c, "#pub-payload", "hello").await;
    click(c, "#pub-send").await;
    let words = wait_text(c, "#pub-status", "the wildcard refusal", |t| !t.is_empty()).await;
    assert!(words.contains("wildcards"), "{words}");
    assert_eq!(
        attr(c, "#pub-status", "data-state").await.as_deref(),
        Some("error")
    );
    type_into(c, "#pub-topic", "pub/json").await;
    select(c, "#pub-format", "json").await;
    type_into(c, "#pub-payload", "{\"a\": }").await;
    click(c, "#pub-send").await;
    let words = wait_text(c, "#pub-status", "the JSON refusal", |t| t.contains("JSON")).await;
    assert!(words.starts_with("Not sent"), "{words}");
    select(c, "#pub-format", "hex").await;
    type_into(c, "#pub-payload", "48 6g").await;
    click(c, "#pub-send").await;
    let words = wait_text(c, "#pub-status", "the hex refusal", |t| t.contains("hex")).await;
    assert!(words.contains("'g'"), "{words}");
    hold_for(
        std::time::Duration::from_millis(500),
        "nothing should arrive",
    )
    .await;
    assert_eq!(count(c, "#stream tr").await, 0, "nothing was sent");

    // Hex as bytes, QoS 1, retained: acknowledged, seen, and kept by the broker.
    type_into(c, "#pub-topic", "pub/hex").await;
    type_into(c, "#pub-payload", "0x48 69 21").await;
    select(c, "#pub-qos", "1").await;
    click(c, "#pub-retain").await;
    click(c, "#pub-send").await;
    eventually("the PUBACK", 10, || async {
        (attr(c, "#pub-status", "data-state").await.as_deref() == Some("acknowledged"))
            .then_some(())
    })
    .await;
    eventually("the message in the stream", 10, || async {
        stream_bodies(c, "pub/hex")
            .await
            .contains(&"Hi!".to_owned())
            .then_some(())
    })
    .await;
    assert_eq!(
        broker_retained(s.broker.tcp_port, "pub/hex"),
        ["pub/hex Hi!"]
    );

    // A template, kept across a reload (per broker), restored by Use, then deleted.
    type_into(c, "#template-name", "greeting").await;
    type_into(c, "#pub-every", "0.2").await;
    click(c, "#template-save").await;
    eventually("the template listed", 10, || async {
        (count(c, "#templates li[data-name='greeting']").await == 1).then_some(())
    })
    .await;
    c.refresh().await.unwrap();
    wait_connected(c).await;
    eventually("the template after a reload", 15, || async {
        (count(c, "#templates li[data-name='greeting']").await == 1).then_some(())
    })
    .await;
    assert_eq!(
        c.execute("return document.getElementById('pub-topic').value", vec![])
            .await
            .unwrap(),
        json!("")
    );
    click(c, "#templates li[data-name='greeting'] button.use-template").await;
    let fields = c
        .execute(
            "return ['pub-topic','pub-payload','pub-format','pub-qos','pub-every'].map(id => document.getElementById(id).value).concat([document.getElementById('pub-retain').checked])",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        fields,
        json!(["pub/hex", "0x48 69 21", "hex", "1", "0.2", true])
    );

    // Repeat every 0.2 s, then stop: the pace holds, and nothing goes after Stop.
    type_into(c, "#pub-topic", "pub/tick").await;
    select(c, "#pub-format", "text").await;
    type_into(c, "#pub-payload", "tick").await;
    click(c, "#pub-retain").await;
    click(c, "#pub-repeat").await;
    let started = std::time::Instant::now();
    eventually("the stop button shows", 5, || async {
        (attr(c, "#pub-stop", "hidden").await.is_none()).then_some(())
    })
    .await;
    hold_for(std::time::Duration::from_millis(2000), "repeating").await;
    click(c, "#pub-stop").await;
    let elapsed = started.elapsed().as_secs_f64();
    hold_for(
        std::time::Duration::from_millis(600),
        "the last one to arrive",
    )
    .await;
    let sent = stream_bodies(c, "pub/tick").await.len() as f64;
    assert!(
        sent >= 5.0 && sent <= elapsed / 0.2 + 1.0,
        "{sent} sends in {elapsed:.2} s at one per 0.2 s"
    );
    hold_for(std::time::Duration::from_millis(800), "after Stop").await;
    assert_eq!(
        stream_bodies(c, "pub/tick").await.len() as f64,
        sent,
        "nothing after Stop"
    );
    assert!(attr(c, "#pub-stop", "hidden").await.is_some());

    click(
        c,
        "#templates li[data-name='greeting'] button.delete-template",
    )
    .await;
    eventually("the template gone", 10, || async {
        (count(c, "#templates li").await == 0).then_some(())
    })
    .await;
    s.browser.close().await;
}

/// Breaks if: MQTT 5's content type, user properties or message expiry do not reach
/// another client, or the fields show under 3.1.1.
#[tokio::test]
async fn mqtt_5_properties_reach_another_client() {
    let s = Setup::new().await;
    let c = s.viewer(&["v5/#"], "").await;
    assert_eq!(
        count(c, "#pub-content-type").await,
        0,
        "3.1.1: no v5 fields"
    );
    let c = s.viewer(&["v5/#"], "&protocol=5").await;
    let sub = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &s.broker.tcp_port.to_string()])
        .args(["-V", "5", "-t", "v5/props", "-C", "1", "-W", "10"])
        .args(["-F", "%C|%P|%E|%p"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("mosquitto_sub");
    hold_for(
        std::time::Duration::from_millis(500),
        "mosquitto_sub subscribes",
    )
    .await;
    type_into(c, "#pub-topic", "v5/props").await;
    type_into(c, "#pub-payload", "{\"t\":1}").await;
    type_into(c, "#pub-content-type", "application/json").await;
    type_into(c, "#pub-props", "site=lab\nunit=C").await;
    type_into(c, "#pub-expiry", "120").await;
    click(c, "#pub-send").await;
    let out = sub.wait_with_output().expect("mosquitto_sub output");
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let parts: Vec<&str> = line.split('|').collect();
    assert_eq!(parts.len(), 4, "{line}");
    assert_eq!(parts[0], "application/json", "{line}");
    assert!(
        parts[1].contains("site:lab") && parts[1].contains("unit:C"),
        "{line}"
    );
    let expiry: u32 = parts[2].parse().unwrap_or(0);
    assert!((100..=120).contains(&expiry), "{line}");
    assert_eq!(parts[3], "{\"t\":1}");
    s.browser.close().await;
}

/// Breaks if: the retained list misses some of 5,000 topics or draws them all at once,
/// "Clear all under this filter" does not ask first naming the count, clears what is not
/// under the filter or leaves any of the 1,000 with the broker, or one topic's Clear fails.
#[tokio::test]
async fn five_thousand_retained_listed_and_a_thousand_cleared_under_a_filter() {
    let s = Setup::new().await;
    let mut messages = Vec::new();
    // 1,001 under r/a/# (one is cleared alone first, then the 1,000 left all at once), and
    // 3,999 under r/b/#: 5,000 in all.
    for i in 0..1001 {
        messages.push((format!("r/a/{i:04}"), format!("a{i}")));
    }
    for i in 0..3999 {
        messages.push((format!("r/b/{i:04}"), format!("b{i}")));
    }
    e2e::load::publish_retained(s.broker.tcp_port, &messages)
        .await
        .expect("5,000 retained");
    let c = s.viewer(&["r/#", "r/a/#"], "").await;
    eventually("5,000 retained listed", 30, || async {
        (attr(c, "#retained", "data-total").await.as_deref() == Some("5000")).then_some(())
    })
    .await;
    let drawn = count(c, "#retained li").await;
    assert!(
        (1..=200).contains(&drawn),
        "drawn as they scroll into view: {drawn}"
    );
    let first = attr(c, "#retained li", "data-topic").await;
    assert_eq!(first.as_deref(), Some("r/a/0000"));

    // One topic.
    click(
        c,
        "#retained li[data-topic='r/a/0000'] button.clear-retained",
    )
    .await;
    eventually("r/a/0000 cleared", 15, || async {
        (attr(c, "#retained", "data-total").await.as_deref() == Some("4999")).then_some(())
    })
    .await;
    assert!(broker_retained(s.broker.tcp_port, "r/a/0000").is_empty());

    // All under r/a/#: asked first, with the count.
    select(c, "#retained-filter", "r/a/#").await;
    eventually("1,000 under r/a/#", 10, || async {
        (attr(c, "#retained", "data-total").await.as_deref() == Some("1000")).then_some(())
    })
    .await;
    click(c, "#clear-retained-all").await;
    let ask = wait_text(c, "#clear-retained-ask", "the question", |t| !t.is_empty()).await;
    assert!(
        ask.contains("Clear 1,000 retained messages under r/a/#"),
        "{ask}"
    );
    click(c, "#clear-retained-no").await;
    assert_eq!(count(c, "#clear-retained-ask").await, 0);
    assert_eq!(
        broker_retained(s.broker.tcp_port, "r/a/#").len(),
        1000,
        "Cancel clears nothing"
    );
    click(c, "#clear-retained-all").await;
    click(c, "#clear-retained-yes").await;
    let words = wait_text(c, "#clear-retained-progress", "the clear done", |t| {
        t.starts_with("Cleared")
    })
    .await;
    assert_eq!(words, "Cleared 1,000 of 1,000 retained messages.");
    assert!(
        broker_retained(s.broker.tcp_port, "r/a/#").is_empty(),
        "none left under r/a/#"
    );
    assert_eq!(
        broker_retained(s.broker.tcp_port, "r/b/#").len(),
        3999,
        "r/b/# untouched"
    );
    select(c, "#retained-filter", "").await;
    eventually("3,999 left listed", 10, || async {
        (attr(c, "#retained", "data-total").await.as_deref() == Some("3999")).then_some(())
    })
    .await;
    s.browser.close().await;
}

/// Breaks if: the tree does not nest by level with counts, lose a collapsed subtree's
/// rows, or mark the change from the previous value; a filter's decoder does not read
/// Base64, MessagePack or CBOR into JSON shape, or a payload that does not decode shows no
/// words and no hex; a numeric topic has no sparkline or its chart no points.
#[tokio::test]
async fn the_tree_decoders_and_charts_read_what_arrives() {
    let s = Setup::new().await;
    let c = s.viewer(&["site/#", "b64/#", "mp/#", "cb/#"], "").await;
    let port = s.broker.tcp_port;
    for v in ["20", "21.5"] {
        mosquitto_pub_to(port, "site/dev3/temp", v, 0, false);
    }
    mosquitto_pub_to(port, "site/dev3", "{\"ok\":true}", 0, false);
    mosquitto_pub_to(port, "site/dev10/temp", "7", 0, false);
    click(c, "#mode-tree").await;
    eventually("site/dev3/temp in the tree", 10, || async {
        (count(c, "#tree li[data-topic='site/dev3/temp']").await == 1).then_some(())
    })
    .await;
    eventually("the change marked", 10, || async {
        text(c, "#tree li[data-topic='site/dev3/temp'] .change")
            .await
            .filter(|t| t == "▲ +1.5")
    })
    .await;
    assert_eq!(
        text(c, "#tree li[data-topic='site/dev3/temp'] .value")
            .await
            .as_deref(),
        Some("21.5")
    );
    assert_eq!(
        text(c, "#tree li[data-topic='site/dev3/temp'] .previous")
            .await
            .as_deref(),
        Some("20")
    );
    assert_eq!(
        attr(c, "#tree li[data-topic='site']", "data-count")
            .await
            .as_deref(),
        Some("4")
    );
    assert_eq!(
        attr(c, "#tree li[data-topic='site/dev3']", "aria-level")
            .await
            .as_deref(),
        Some("2")
    );
    click(c, "#tree li[data-topic='site'] button.toggle").await;
    eventually("site collapsed", 10, || async {
        (count(c, "#tree li[data-topic='site/dev3']").await == 0).then_some(())
    })
    .await;
    assert_eq!(
        attr(c, "#tree li[data-topic='site']", "aria-expanded")
            .await
            .as_deref(),
        Some("false")
    );
    click(c, "#tree li[data-topic='site'] button.toggle").await;
    eventually("site expanded", 10, || async {
        (count(c, "#tree li[data-topic='site/dev3']").await == 1).then_some(())
    })
    .await;
    // A sparkline for the numeric topic; its chart.
    for v in ["21", "22.5", "22", "23.5", "24"] {
        mosquitto_pub_to(port, "site/dev3/temp", v, 0, false);
    }
    eventually("seven numbers", 10, || async {
        attr(c, "#tree li[data-topic='site/dev3/temp']", "data-count")
            .await
            .filter(|n| n == "7")
    })
    .await;
    click(c, "#tree li[data-topic='site/dev3/temp'] button.spark").await;
    eventually("the chart", 10, || async {
        attr(c, "#chart svg", "data-points")
            .await
            .filter(|p| p == "7")
    })
    .await;
    save_screenshot("screenshot-viewer-tree.png", &c.screenshot().await.unwrap());
    click(c, "#chart-close").await;

    // Decoders per filter.
    click(c, "#mode-stream").await;
    for (filter, decoder) in [("b64/#", "base64"), ("mp/#", "msgpack"), ("cb/#", "cbor")] {
        select(
            c,
            &format!("#filters select.decoder[data-key='{filter}']"),
            decoder,
        )
        .await;
    }
    mosquitto_pub_to(port, "b64/x", "eyJ0IjoyMX0=", 0, false);
    mosquitto_pub_to(port, "b64/bad", "not base64!", 0, false);
    let dir = std::env::temp_dir().join(format!("viewer-bytes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (topic, bytes) in [
        ("mp/x", vec![0x81u8, 0xa1, b't', 0x15]),
        ("cb/x", vec![0xa1u8, 0x61, b't', 0x15]),
    ] {
        let file = dir.join(topic.replace('/', "-"));
        std::fs::write(&file, bytes).unwrap();
        let ok = Command::new("mosquitto_pub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-t",
                topic,
                "-f",
            ])
            .arg(&file)
            .status()
            .unwrap();
        assert!(ok.success());
    }
    for topic in ["b64/x", "mp/x", "cb/x"] {
        eventually(&format!("{topic} decoded"), 10, || async {
            stream_bodies(c, topic)
                .await
                .iter()
                .any(|b| b == "{\"t\":21}")
                .then_some(())
        })
        .await;
    }
    let bad = eventually("the undecodable row", 10, || async {
        let v = c
            .execute(
                "const r = [...document.querySelectorAll('#stream tr')].find(r => r.querySelector('td.topic')?.firstChild?.textContent === 'b64/bad');
                 return r ? [r.dataset.format, r.querySelector('.decode-error')?.textContent ?? '', r.querySelector('.body')?.textContent ?? ''] : null;",
                vec![],
            )
            .await
            .ok()?;
        v.as_array().cloned()
    })
    .await;
    assert_eq!(bad[0], json!("undecodable"));
    assert!(bad[1].as_str().unwrap().contains("Base64"), "{bad:?}");
    assert!(
        bad[2].as_str().unwrap().starts_with("6e 6f 74 20"),
        "the hex: {bad:?}"
    );
    save_screenshot(
        "screenshot-viewer-stream.png",
        &c.screenshot().await.unwrap(),
    );
    click(c, "#mode-latest").await;
    eventually("the latest view", 10, || async {
        (count(c, "#latest tr").await >= 6).then_some(())
    })
    .await;
    save_screenshot(
        "screenshot-viewer-latest.png",
        &c.screenshot().await.unwrap(),
    );
    // Kept with the filter: a reload reads the same way.
    c.refresh().await.unwrap();
    wait_connected(c).await;
    eventually("the decoder kept", 15, || async {
        c.execute(
            "return document.querySelector(\"#filters select.decoder[data-key='mp/#']\")?.value ?? null",
            vec![],
        )
        .await
        .ok()?
        .as_str()
        .filter(|v| *v == "msgpack")
        .map(str::to_owned)
    })
    .await;
    s.browser.close().await;
}

/// Downloads of this tab go to a folder of the test's own.
async fn download_to(c: &Client, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("viewer-export-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    c.issue_cmd(Cdp {
        cmd: "Browser.setDownloadBehavior",
        params: json!({ "behavior": "allow", "downloadPath": dir.to_str().unwrap() }),
    })
    .await
    .expect("CDP Browser.setDownloadBehavior");
    dir
}

async fn downloaded(dir: &Path, ext: &str) -> String {
    let path = eventually("the downloaded file", 15, || async {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.extension().and_then(|e| e.to_str()) == Some(ext)
                    && !p.to_string_lossy().ends_with(".crdownload")
            })
    })
    .await;
    std::fs::read_to_string(path).unwrap()
}

/// Breaks if: the export misses a message, changes a payload, does not give binary as
/// Base64, or the CSV does not quote and defuse what it holds.
#[tokio::test]
async fn the_viewer_exports_what_it_holds() {
    let s = Setup::new().await;
    let c = s.viewer(&["ex/#"], "").await;
    let port = s.broker.tcp_port;
    mosquitto_pub_to(port, "ex/a", "{\"t\":1}", 1, true);
    mosquitto_pub_to(port, "ex/b", "=cmd(\"x\")", 0, false);
    let file = std::env::temp_dir().join(format!("viewer-bin-{}", std::process::id()));
    std::fs::write(&file, [0u8, 0xff, 0x10]).unwrap();
    Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            "ex/bin",
            "-f",
        ])
        .arg(&file)
        .status()
        .unwrap();
    eventually("three rows", 10, || async {
        (count(c, "#stream tr").await == 3).then_some(())
    })
    .await;
    let dir = download_to(c, "json").await;
    click(c, "#export-watch").await;
    let json_text = downloaded(&dir, "json").await;
    let v: Value = serde_json::from_str(&json_text).expect("the export is JSON");
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["topic"], "ex/a");
    assert_eq!(rows[0]["payload"], "{\"t\":1}");
    assert_eq!(rows[0]["retain"], false);
    assert_eq!(rows[2]["payload"], "AP8Q");
    assert_eq!(rows[2]["encoding"], "base64");
    let status = wait_text(c, "#export-watch-status", "the words", |t| {
        t.starts_with("Exported")
    })
    .await;
    assert!(status.starts_with("Exported 3 messages"), "{status}");
    let dir = download_to(c, "csv").await;
    select(c, "#export-watch-format", "csv").await;
    click(c, "#export-watch").await;
    let csv = downloaded(&dir, "csv").await;
    assert!(csv.contains("\"ex/b\",\"'=cmd(\"\"x\"\")\""), "{csv}");
    s.browser.close().await;
}

const READ_ONLY_LOCKED: &str = r##"{
  "defaultACLAccess": {"publishClientSend": true, "publishClientReceive": true, "subscribe": true, "unsubscribe": true},
  "clients": [],
  "groups": [{"groupname": "anon", "roles": [{"rolename": "reader"}], "clients": []}],
  "roles": [{"rolename": "reader", "acls": [
    {"acltype": "publishClientSend", "topic": "locked/#", "priority": 1, "allow": false}
  ]}],
  "anonymousGroup": "anon"
}"##;

/// (data-outcome, `.outcome` words) of the retained row of `topic`.
async fn outcome(c: &Client, topic: &str) -> Option<(String, String)> {
    let v = c
        .execute(
            "const li = [...document.querySelectorAll('#retained li')].find(l => l.dataset.topic === arguments[0]);
             return li ? [li.dataset.outcome ?? '', li.querySelector('.outcome')?.textContent ?? ''] : null;",
            vec![json!(topic)],
        )
        .await
        .ok()?;
    let pair = v.as_array()?;
    Some((pair[0].as_str()?.to_owned(), pair[1].as_str()?.to_owned()))
}

/// Breaks if: a clear the broker refuses (an ACL) shows as cleared or leaves the list, or
/// says nothing: under MQTT 5 the broker's refusal in words, under 3.1.1 (whose broker
/// drops it silently) "not confirmed"; the broker still holds both messages.
#[tokio::test]
async fn a_clear_the_broker_refuses_says_so_on_its_row() {
    // The retained messages first, then an ACL that lets anonymous clients read locked/#
    // but not write it (Mosquitto keeps retained messages across the restart).
    let mut broker = Broker::configure("mosquitto.conf", &[]);
    broker.restart();
    mosquitto_pub_to(broker.tcp_port, "locked/1", "one", 1, true);
    mosquitto_pub_to(broker.tcp_port, "locked/2", "two", 1, true);
    let file = broker.dir.join("dynamic-security.json");
    std::fs::write(&file, READ_ONLY_LOCKED).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    broker.edit_conf(
        "allow_anonymous",
        &format!(
            "allow_anonymous true\nplugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so\nplugin_opt_config_file {}",
            file.display()
        ),
    );
    // A clean stop writes the retained messages out for the next start.
    broker.terminate();
    broker.restart();
    assert_eq!(broker_retained(broker.tcp_port, "locked/#").len(), 2);
    let s = Setup {
        broker,
        browser: Browser::start().await,
        base: serve_dist(dist()),
    };
    set_window(&s.browser.client, 1400, 900).await;
    for (query, topic, state, words) in [
        ("", "locked/1", "unconfirmed", "not confirmed"),
        ("&protocol=5", "locked/2", "refused", "refused"),
    ] {
        let c = s.viewer(&["locked/#"], query).await;
        eventually("both listed", 15, || async {
            (attr(c, "#retained", "data-total").await.as_deref() == Some("2")).then_some(())
        })
        .await;
        click(
            c,
            &format!("#retained li[data-topic='{topic}'] button.clear-retained"),
        )
        .await;
        let mut last = None;
        for _ in 0..100 {
            last = outcome(c, topic).await;
            if last
                .as_ref()
                .is_some_and(|(o, _)| o != "clearing" && !o.is_empty())
            {
                break;
            }
            hold_for(std::time::Duration::from_millis(200), "the broker's answer").await;
        }
        let progress = text(c, "#clear-retained-progress")
            .await
            .unwrap_or_default();
        let (got, said) = last.unwrap_or_else(|| {
            panic!(
                "{topic}: no row; progress: {progress}; broker log: {}",
                s.broker.log()
            )
        });
        assert_eq!(got, state, "{query}: {said} / {progress}");
        assert!(said.contains(words), "{query}: {said}");
        let progress = text(c, "#clear-retained-progress")
            .await
            .unwrap_or_default();
        assert!(progress.starts_with("Cleared 0 of 1"), "{progress}");
        assert_eq!(
            attr(c, "#retained", "data-total").await.as_deref(),
            Some("2")
        );
    }
    assert_eq!(
        broker_retained(s.broker.tcp_port, "locked/#").len(),
        2,
        "the broker kept both"
    );
    s.browser.close().await;
}
