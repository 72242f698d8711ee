//! The topic viewer (issue 10) at `#/watch`, on the chat's one connection: the release
//! build in headless Chromium against a Mosquitto of each test's own (retained and `$SYS`
//! messages stay in their test). What another MQTT client publishes shows in the stream and
//! in the latest-by-topic view; a deep link watches its filters; retained, binary, HTML and
//! large payloads show as the DOM contract says; invalid filters are refused in words before
//! anything is sent; `#` never shows `$SYS`; pausing freezes the rows, not the count; and
//! the chat keeps its subscription whatever the viewer watches and stops watching.

use std::process::Command;

use e2e::*;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

/// One `tr` of `#stream` or `#latest` as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    seq: String,
    /// `data-format`: text, hex or skipped.
    format: String,
    /// `data-retained`.
    retained: String,
    topic: String,
    /// The text of `td.payload .body`.
    body: String,
    /// The text of `td.payload .size` (None: absent).
    size: Option<String>,
    qos: String,
    /// The text of `td.retained`.
    retained_cell: String,
    /// `data-topic` and `data-count` (latest mode only).
    data_topic: Option<String>,
    data_count: Option<String>,
}

const READ_ROWS: &str = "
    const body = document.getElementById(arguments[0]);
    if (!body) return null;
    return [...body.querySelectorAll('tr')].map(r => ({
        seq: r.dataset.seq ?? '',
        format: r.dataset.format ?? '',
        retained: r.dataset.retained ?? '',
        topic: r.querySelector('td.topic')?.textContent ?? '',
        body: r.querySelector('td.payload .body')?.textContent ?? '',
        size: r.querySelector('td.payload .size')?.textContent ?? null,
        qos: r.querySelector('td.qos')?.textContent ?? '',
        retainedCell: r.querySelector('td.retained')?.textContent ?? '',
        dataTopic: r.getAttribute('data-topic'),
        dataCount: r.getAttribute('data-count'),
    }));";

/// The rows of `tbody#<id>` (`stream` or `latest`), or None when it is not in the DOM.
async fn shown_rows(c: &Client, id: &str) -> Option<Vec<Shown>> {
    let v = c
        .execute(READ_ROWS, vec![json!(id)])
        .await
        .expect("read the viewer's rows");
    let s = |r: &Value, k: &str| r[k].as_str().unwrap_or_default().to_owned();
    let o = |r: &Value, k: &str| r[k].as_str().map(str::to_owned);
    Some(
        v.as_array()?
            .iter()
            .map(|r| Shown {
                seq: s(r, "seq"),
                format: s(r, "format"),
                retained: s(r, "retained"),
                topic: s(r, "topic"),
                body: s(r, "body"),
                size: o(r, "size"),
                qos: s(r, "qos"),
                retained_cell: s(r, "retainedCell"),
                data_topic: o(r, "dataTopic"),
                data_count: o(r, "dataCount"),
            })
            .collect(),
    )
}

async fn stream(c: &Client) -> Vec<Shown> {
    shown_rows(c, "stream").await.unwrap_or_default()
}

async fn latest(c: &Client) -> Vec<Shown> {
    shown_rows(c, "latest").await.unwrap_or_default()
}

/// Wait (bounded) for a row of `tbody#<id>` on `topic` whose body is `body`.
async fn wait_shown(c: &Client, id: &str, topic: &str, body: &str) -> Shown {
    eventually(
        &format!("a row in #{id} on {topic:?} with {body:?}"),
        10,
        || async {
            shown_rows(c, id)
                .await?
                .into_iter()
                .find(|r| r.topic == topic && r.body == body)
        },
    )
    .await
}

/// An attribute of the first element matching `selector` (None: no element or no attribute).
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

/// `data-counted` and `data-while-paused` of `#watch-count`.
async fn counted(c: &Client) -> (u64, u64) {
    let n = |v: Option<String>| v.and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);
    (
        n(attr(c, "#watch-count", "data-counted").await),
        n(attr(c, "#watch-count", "data-while-paused").await),
    )
}

/// (data-state, `.filter-state` words) of the watched filter `filter`.
async fn filter_state(c: &Client, filter: &str) -> Option<(String, String)> {
    let v = c
        .execute(
            "const li = [...document.querySelectorAll('#filters li')].find(l => l.dataset.filter === arguments[0]);
             return li ? [li.dataset.state ?? '', li.querySelector('.filter-state')?.textContent ?? ''] : null;",
            vec![json!(filter)],
        )
        .await
        .expect("read #filters");
    let pair = v.as_array()?;
    Some((pair[0].as_str()?.to_owned(), pair[1].as_str()?.to_owned()))
}

/// The `data-filter` of every `#filters li`, in order.
async fn watched(c: &Client) -> Vec<String> {
    js_strings(
        c,
        "return [...document.querySelectorAll('#filters li')].map(l => l.dataset.filter)",
        "read #filters",
    )
    .await
}

async fn wait_active(c: &Client, filter: &str) {
    eventually(
        &format!("li[data-filter={filter:?}] data-state=active"),
        10,
        || async { filter_state(c, filter).await.filter(|(s, _)| s == "active") },
    )
    .await;
}

async fn wait_view(c: &Client, view: &str) {
    eventually(&format!(".app[data-view={view}]"), 10, || async {
        (attr(c, ".app", "data-view").await.as_deref() == Some(view)).then_some(())
    })
    .await;
    if view == "watch" {
        // The viewer is a chunk of its own, fetched the first time it is shown.
        eventually("the topic viewer's chunk mounted", 10, || async {
            (count(c, "section#watch").await == 1).then_some(())
        })
        .await;
    }
}

/// Whether the page has fetched a file whose address contains `part` (a Wasm chunk).
async fn fetched(c: &Client, part: &str) -> bool {
    c.execute(
        "return performance.getEntriesByType('resource').some(e => e.name.includes(arguments[0]))",
        vec![json!(part)],
    )
    .await
    .expect("read the page's resource timing")
    .as_bool()
    .unwrap_or(false)
}

async fn click(c: &Client, selector: &str) {
    c.find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {selector}: {e}"));
}

/// Type `filter` into `#filter`, pick `qos` in `#filter-qos` and press `#subscribe`.
async fn submit_filter(c: &Client, filter: &str, qos: &str) {
    fill(c, "filter", filter).await;
    c.find(Locator::Id("filter-qos"))
        .await
        .expect("#filter-qos")
        .select_by_value(qos)
        .await
        .expect("select a QoS");
    click(c, "#subscribe").await;
}

/// Watch `filter` at QoS 0 through the form and wait for the broker's grant.
async fn watch(c: &Client, filter: &str) {
    submit_filter(c, filter, "0").await;
    wait_active(c, filter).await;
}

/// A broker, a browser and the served dist for one test.
struct Setup {
    broker: Broker,
    browser: Browser,
    base: String,
}

impl Setup {
    async fn new(replace: &[(&str, &str)]) -> Setup {
        Setup {
            broker: Broker::start(replace),
            browser: Browser::start().await,
            base: serve_dist(dist()),
        }
    }

    fn url(&self, hash: &str) -> String {
        format!("{}/?broker={}{hash}", self.base, self.broker.ws_url())
    }

    /// Open the app at `hash` (`""` for the chat) and wait for `connected`.
    async fn open(&self, hash: &str) -> &Client {
        let c = &self.browser.client;
        c.visit(&self.url(hash)).await.expect("open the app");
        wait_connected(c).await;
        c
    }

    /// Open the chat, follow `#watch-link` to the viewer, and watch `filter`.
    async fn viewer_watching(&self, filter: &str) -> &Client {
        let c = self.open("").await;
        click(c, "#watch-link").await;
        wait_view(c, "watch").await;
        watch(c, filter).await;
        c
    }

    fn publish(&self, topic: &str, payload: &str) {
        mosquitto_pub_to(self.broker.tcp_port, topic, payload, 0, false);
    }
}

/// Breaks if: the link to the viewer or the views' marks are missing, a message on a
/// watched filter does not show (or on the wrong topic, with the wrong payload or QoS), or
/// the latest view does not keep one row per topic, updated in place with its count.
#[tokio::test]
async fn what_arrives_on_a_filter_shows_as_a_stream_and_by_topic() {
    let s = Setup::new(&[]).await;
    // Wide enough for the three-column layout, where the viewer takes the grid's middle.
    set_window(&s.browser.client, 1280, 800).await;
    let c = s.open("").await;
    assert_eq!(attr(c, ".app", "data-view").await.as_deref(), Some("chat"));
    assert_eq!(
        attr(c, "#watch-link", "href").await.as_deref(),
        Some("#/watch")
    );
    // Not on the chat's first screen: the viewer's chunk is neither fetched nor mounted.
    assert_eq!(count(c, "section#watch").await, 0);
    assert!(!fetched(c, "split_topic_viewer").await);
    click(c, "#watch-link").await;
    wait_view(c, "watch").await;
    assert!(
        fetched(c, "split_topic_viewer").await,
        "fetched when first shown"
    );
    assert!(attr(c, "section#watch", "hidden").await.is_none());
    // Mounted into its slot, it still spans the page (the slot is no box of its own).
    let share = c
        .execute(
            "return document.querySelector('section#watch').getBoundingClientRect().width \
             / document.querySelector('.app').getBoundingClientRect().width",
            vec![],
        )
        .await
        .expect("measure the viewer")
        .as_f64()
        .unwrap_or(0.0);
    assert!(
        share > 0.9,
        "the viewer spans the page: {share:.2} of its width"
    );
    assert_eq!(attr(c, "#chat-link", "href").await.as_deref(), Some("#/"));
    assert_eq!(count(c, "#messages").await, 1, "the chat stays mounted");
    assert_eq!(
        attr(c, "#watch", "data-mode").await.as_deref(),
        Some("stream")
    );
    watch(c, "matches/#").await;

    s.publish("matches/1/score", "1-0");
    s.publish("matches/2/score", "0-0");
    s.publish("elsewhere/1/score", "not watched");
    let rows = eventually("two rows in #stream", 10, || async {
        Some(stream(c).await).filter(|r| r.len() >= 2)
    })
    .await;
    let pairs: Vec<_> = rows
        .iter()
        .map(|r| (r.topic.as_str(), r.body.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [("matches/1/score", "1-0"), ("matches/2/score", "0-0")],
        "newest last"
    );
    for r in &rows {
        assert_eq!(
            (r.format.as_str(), r.retained.as_str(), r.qos.as_str()),
            ("text", "false", "0"),
            "{r:?}"
        );
        assert_eq!((r.retained_cell.as_str(), r.size.as_deref()), ("", None));
    }
    assert_eq!(attr(c, "#stream", "data-total").await.as_deref(), Some("2"));

    click(c, "#mode-latest").await;
    eventually("#latest in latest mode", 10, || async {
        (attr(c, "#watch", "data-mode").await.as_deref() == Some("latest")).then_some(())
    })
    .await;
    assert_eq!(
        attr(c, "#mode-latest", "aria-pressed").await.as_deref(),
        Some("true")
    );
    assert_eq!(count(c, "#stream").await, 0, "only the active mode's tbody");
    let rows = latest(c).await;
    let by_topic: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.data_topic.as_deref().unwrap_or_default(),
                r.body.as_str(),
                r.data_count.as_deref().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        by_topic,
        [
            ("matches/1/score", "1-0", "1"),
            ("matches/2/score", "0-0", "1")
        ]
    );
    assert_eq!(
        attr(c, "#latest", "data-topics").await.as_deref(),
        Some("2")
    );

    // Mark the row elements: updated in place means the same elements, with new text.
    c.execute(
        "document.querySelectorAll('#latest tr').forEach(r => { r.dataset.mark = r.dataset.topic; })",
        vec![],
    )
    .await
    .unwrap();
    s.publish("matches/1/score", "2-0");
    let updated = eventually("matches/1/score updated in place", 10, || async {
        latest(c)
            .await
            .into_iter()
            .find(|r| r.topic == "matches/1/score" && r.body == "2-0")
    })
    .await;
    assert_eq!(updated.data_count.as_deref(), Some("2"));
    assert_eq!(updated.data_topic.as_deref(), Some("matches/1/score"));
    let rows = latest(c).await;
    assert_eq!(rows.len(), 2, "still one row per topic: {rows:?}");
    assert_eq!(
        (rows[1].body.as_str(), rows[1].data_count.as_deref()),
        ("0-0", Some("1")),
        "the other topic is untouched"
    );
    let marks = c
        .execute(
            "return [...document.querySelectorAll('#latest tr')].map(r => r.dataset.mark || null)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        marks,
        json!(["matches/1/score", "matches/2/score"]),
        "the same row elements, updated in place"
    );
    assert_eq!(
        attr(c, "#latest", "data-topics").await.as_deref(),
        Some("2")
    );

    click(c, "#mode-stream").await;
    let rows = eventually("#stream back with all three", 10, || async {
        Some(stream(c).await).filter(|r| r.len() == 3)
    })
    .await;
    assert_eq!(rows[2].body, "2-0");
    assert_eq!(count(c, "#latest").await, 0);
}

/// Breaks if: a link to `#/watch?filter=…` does not open the viewer and watch its filters
/// (at the linked QoS), or a tab's watched filters are lost on a reload.
#[tokio::test]
async fn a_deep_link_watches_its_filters_and_a_reload_keeps_them() {
    let s = Setup::new(&[]).await;
    let c = s
        .open("#/watch?filter=matches/%23&filter=cups/%2B/final&qos=1")
        .await;
    wait_view(c, "watch").await;
    wait_active(c, "matches/#").await;
    wait_active(c, "cups/+/final").await;
    assert_eq!(watched(c).await, ["matches/#", "cups/+/final"]);
    let (_, words) = filter_state(c, "matches/#").await.unwrap();
    assert!(words.contains('1'), "watched at QoS 1: {words:?}");
    mosquitto_pub_to(s.broker.tcp_port, "matches/3/score", "3-3", 1, false);
    let row = wait_shown(c, "stream", "matches/3/score", "3-3").await;
    assert_eq!(row.qos, "1", "QoS 1 both ways");
    s.publish("cups/world/final", "2-1");
    wait_shown(c, "stream", "cups/world/final", "2-1").await;

    // The same tab, loaded again at the bare viewer: the filters come back.
    c.visit("about:blank").await.unwrap();
    s.open("#/watch").await;
    wait_view(c, "watch").await;
    wait_active(c, "matches/#").await;
    assert_eq!(watched(c).await, ["matches/#", "cups/+/final"]);
    s.publish("matches/4/score", "after the reload");
    wait_shown(c, "stream", "matches/4/score", "after the reload").await;

    // A reload of the address the viewer wrote (its filters, no QoS): still QoS 1.
    let hash = c.execute("return location.hash", vec![]).await.unwrap();
    let hash = hash.as_str().unwrap_or_default().to_owned();
    assert!(!hash.contains("qos"), "{hash}");
    c.visit("about:blank").await.unwrap();
    s.open(&hash).await;
    wait_active(c, "matches/#").await;
    let (_, words) = filter_state(c, "matches/#").await.unwrap();
    assert!(
        words.contains('1'),
        "still QoS 1 after a reload at {hash}: {words:?}"
    );
    mosquitto_pub_to(s.broker.tcp_port, "matches/5/score", "5-5", 1, false);
    let row = wait_shown(c, "stream", "matches/5/score", "5-5").await;
    assert_eq!(row.qos, "1", "subscribed at QoS 1 again");
}

/// Breaks if: filters that a reload restores on the chat's screen lose what arrives before
/// the viewer opens (the code that takes messages in is a chunk: what comes before it is
/// held), the tab does not fetch that code for them, or a tab that watches nothing
/// fetches it.
#[tokio::test]
async fn filters_restored_on_the_chat_screen_keep_what_arrives_before_the_viewer_opens() {
    let broker = Broker::start(&[]);
    let browser = Browser::start().await;
    let (dir, taken) = dist_without(&["watch_code"]);
    let base = serve_dist(dir.clone());
    let url = format!("{base}/?broker={}", broker.ws_url());
    let c = &browser.client;
    let open_chat = || async {
        c.visit("about:blank").await.unwrap();
        c.visit(&url).await.expect("open the app");
        wait_connected(c).await;
    };
    let publish = |n: u32| {
        mosquitto_pub_to(
            broker.tcp_port,
            &format!("sensors/{n}"),
            &format!("reading {n}"),
            0,
            false,
        )
    };
    let open_viewer = || async {
        click(c, "#watch-link").await;
        wait_view(c, "watch").await;
    };
    open_chat().await;
    assert!(
        !fetched(c, "watch_code").await,
        "nothing watched: not fetched"
    );
    open_viewer().await;
    watch(c, "sensors/#").await;

    // Loaded again on the chat's screen, with the intake's chunk gone: what arrives is held
    // and shows once the viewer (which brings the code too) opens.
    open_chat().await;
    assert!(
        !fetched(c, "split_topic_viewer").await,
        "the viewer is not fetched"
    );
    for n in 1..=3 {
        publish(n);
    }
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    open_viewer().await;
    for n in 1..=3 {
        wait_shown(
            c,
            "stream",
            &format!("sensors/{n}"),
            &format!("reading {n}"),
        )
        .await;
    }
    assert_eq!(counted(c).await.0, 3);

    // With the chunk back, the chat's screen fetches it for the restored filter.
    taken[0].put_back();
    open_chat().await;
    eventually("the intake's chunk fetched", 10, || async {
        fetched(c, "split_watch_code").await.then_some(())
    })
    .await;
    assert!(!fetched(c, "split_topic_viewer").await);
    publish(4);
    open_viewer().await;
    wait_shown(c, "stream", "sensors/4", "reading 4").await;
    assert_eq!(counted(c).await.0, 1);
    browser.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Breaks if: a retained message (sent by the broker on subscribing) is not marked as such,
/// or a live one is.
#[tokio::test]
async fn a_retained_message_is_marked_retained() {
    let s = Setup::new(&[]).await;
    mosquitto_pub_to(s.broker.tcp_port, "matches/r/score", "kept", 1, true);
    let c = s.open("#/watch?filter=matches/%23").await;
    let row = wait_shown(c, "stream", "matches/r/score", "kept").await;
    assert_eq!(
        (row.retained.as_str(), row.retained_cell.as_str()),
        ("true", "retained")
    );
    assert_eq!(
        count(c, "#stream tr[data-retained=\"true\"]").await,
        1,
        "one retained row"
    );
    s.publish("matches/r/score", "live");
    let row = wait_shown(c, "stream", "matches/r/score", "live").await;
    assert_eq!(
        (row.retained.as_str(), row.retained_cell.as_str()),
        ("false", "")
    );
}

/// Breaks if: a payload that is not UTF-8 is not shown as hex with its size, or UTF-8 text
/// is.
#[tokio::test]
async fn a_binary_payload_shows_as_hex_and_text_as_text() {
    let s = Setup::new(&[]).await;
    let c = s.viewer_watching("bin/#").await;
    let file = s.broker.dir.join("binary.bin");
    std::fs::write(&file, [0xff, 0x00, 0x41]).unwrap();
    let status = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &s.broker.tcp_port.to_string()])
        .args(["-t", "bin/raw", "-f"])
        .arg(&file)
        .status()
        .expect("mosquitto_pub runs");
    assert!(status.success());
    s.publish("bin/text", "héllo € ✓");
    let text = wait_shown(c, "stream", "bin/text", "héllo € ✓").await;
    assert_eq!((text.format.as_str(), text.size.as_deref()), ("text", None));
    let hex = eventually("the binary row", 10, || async {
        stream(c).await.into_iter().find(|r| r.topic == "bin/raw")
    })
    .await;
    assert_eq!(hex.format, "hex");
    assert_eq!(hex.body, "ff 00 41");
    let size = hex.size.expect("a .size note on a hex payload");
    assert!(size.contains("3 B"), "{size:?}");
}

/// Breaks if: a topic, a payload or a filter is put into the page as HTML.
#[tokio::test]
async fn html_in_topics_payloads_and_filters_stays_text() {
    let s = Setup::new(&[]).await;
    let c = s.viewer_watching("html/#").await;
    let filter = "<b>f</b>";
    watch(c, filter).await;
    let topic = "html/<img src=x onerror=window.__xssTopic=1>";
    let payload = r#"<img src=x onerror="window.__xssPayload=1"><b>bold</b>"#;
    s.publish(topic, payload);
    s.publish(filter, "<script>window.__xssScript=1</script>");
    wait_shown(c, "stream", topic, payload).await;
    wait_shown(c, "stream", filter, "<script>window.__xssScript=1</script>").await;
    click(c, "#mode-latest").await;
    wait_shown(c, "latest", topic, payload).await;
    let code = c
        .execute(
            "return [...document.querySelectorAll('#filters li code')].map(e => e.textContent)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(code, json!(["html/#", filter]));
    let made = c
        .execute(
            "return [document.querySelectorAll('#watch img, #watch b, #watch script').length,
                     window.__xssTopic ?? null, window.__xssPayload ?? null, window.__xssScript ?? null]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        made,
        json!([0, null, null, null]),
        "no element made, no script run"
    );
}

/// Breaks if: an invalid filter is sent to the broker, listed, or refused without words.
#[tokio::test]
async fn an_invalid_filter_is_refused_in_words_before_anything_is_sent() {
    let s = Setup::new(&[]).await;
    let c = s.open("#/watch").await;
    wait_view(c, "watch").await;
    // Count the SUBSCRIBE packets the page hands to its WebSocket from now on.
    c.execute(
        "window.__subscribes = 0;
         const send = WebSocket.prototype.send;
         WebSocket.prototype.send = function (data) {
             const bytes = data instanceof ArrayBuffer ? new Uint8Array(data)
                 : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
             if (bytes && bytes.length && (bytes[0] >> 4) === 8) window.__subscribes++;
             return send.call(this, data);
         };",
        vec![],
    )
    .await
    .unwrap();
    for (filter, why) in [
        ("a/#/b", "# must stand alone"),
        ("a+", "+ must stand alone"),
        ("#a", "# must stand alone"),
        ("", "cannot be empty"),
        ("a\u{0}b", "NUL"),
    ] {
        // Set as typed (send_keys cannot type NUL), which also clears the last refusal.
        c.execute(
            "const i = document.getElementById('filter'); i.value = arguments[0];
             i.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![json!(filter)],
        )
        .await
        .unwrap();
        eventually("#filter-error cleared by typing", 5, || async {
            text_of(c, "filter-error").await.filter(String::is_empty)
        })
        .await;
        click(c, "#subscribe").await;
        let said = eventually(&format!("#filter-error for {filter:?}"), 10, || async {
            text_of(c, "filter-error").await.filter(|t| !t.is_empty())
        })
        .await;
        assert!(
            said.contains("Not a valid topic filter") && said.contains(why),
            "{filter:?}: {said:?}"
        );
        assert_eq!(
            attr(c, "#filter-error", "role").await.as_deref(),
            Some("alert")
        );
        assert_eq!(
            watched(c).await,
            Vec::<String>::new(),
            "{filter:?} not listed"
        );
    }
    let sent = c
        .execute("return window.__subscribes", vec![])
        .await
        .unwrap();
    assert_eq!(sent, json!(0), "no SUBSCRIBE for an invalid filter");
    // The form itself works: a valid filter is listed, subscribed, and the words go.
    watch(c, "a/+/b").await;
    assert_eq!(text_of(c, "filter-error").await.as_deref(), Some(""));
    let sent = c
        .execute("return window.__subscribes", vec![])
        .await
        .unwrap();
    assert_eq!(sent, json!(1), "the hook sees a real SUBSCRIBE");
}

/// Breaks if: `#` shows `$SYS` topics (MQTT-4.7.2-1: a leading wildcard never matches a
/// topic starting with `$`), or `$SYS/#` cannot be watched.
#[tokio::test]
async fn sys_topics_show_under_sys_only() {
    // `$SYS` published every second, so some are sent while `#` is watched.
    let s = Setup::new(&[(
        "log_timestamp_format",
        "log_timestamp_format %H:%M:%S\nsys_interval 1",
    )])
    .await;
    let c = s.viewer_watching("#").await;
    // Wait until the broker has published `$SYS` twice since, then a marker after them.
    let sys = Watch::start(s.broker.tcp_port, &["$SYS/broker/uptime"]).await;
    eventually("two $SYS/broker/uptime updates", 10, || async {
        (sys.lines().len() >= 3).then_some(())
    })
    .await;
    s.publish("plain/marker", "after $SYS");
    wait_shown(c, "stream", "plain/marker", "after $SYS").await;
    let dollar: Vec<_> = stream(c)
        .await
        .into_iter()
        .filter(|r| r.topic.starts_with('$'))
        .collect();
    assert!(dollar.is_empty(), "# showed $ topics: {dollar:?}");

    watch(c, "$SYS/#").await;
    let row = eventually("a $SYS/broker/ topic", 10, || async {
        stream(c)
            .await
            .into_iter()
            .find(|r| r.topic.starts_with("$SYS/broker/"))
    })
    .await;
    assert_eq!(row.format, "text", "{row:?}");
}

/// Breaks if: watching the chat's own topic, or stopping it, takes the room's subscription
/// away (UNSUBSCRIBE of a filter the chat still needs), or the chat stops updating while the
/// viewer is open.
#[tokio::test]
async fn the_chat_keeps_working_beside_the_viewer() {
    let s = Setup::new(&[]).await;
    let port = s.broker.tcp_port;
    let c = s.viewer_watching("messages").await;
    watch(c, "#").await;
    click(c, "#chat-link").await;
    wait_view(c, "chat").await;
    assert!(attr(c, "section#watch", "hidden").await.is_some());
    let (ok, out) = pub_as(port, None, false, "messages", &chat_json("cli", "one"));
    assert!(ok, "{out}");
    wait_row(c, "one", 10).await;
    // The viewer got it too, once, though two watched filters match.
    let rows = eventually("the chat message in the hidden viewer", 10, || async {
        Some(stream(c).await).filter(|r| r.iter().any(|r| r.body.contains("\"one\"")))
    })
    .await;
    assert_eq!(
        rows.iter().filter(|r| r.body.contains("\"one\"")).count(),
        1,
        "{rows:?}"
    );

    // Stop watching `messages` and `#`: the room keeps its subscription.
    click(c, "#watch-link").await;
    wait_view(c, "watch").await;
    for filter in ["messages", "#"] {
        let selector = format!("#filters li[data-filter=\"{filter}\"] button.unwatch");
        click(c, &selector).await;
        eventually(&format!("{filter} unwatched"), 10, || async {
            filter_state(c, filter).await.is_none().then_some(())
        })
        .await;
    }
    click(c, "#chat-link").await;
    wait_view(c, "chat").await;
    let (ok, out) = pub_as(port, None, false, "messages", &chat_json("cli", "two"));
    assert!(ok, "{out}");
    wait_row(c, "two", 10).await;
    send(c, "Ann", "three, mine").await;
    eventually("own message delivered (seen back)", 10, || async {
        row_with(c, "three, mine")
            .await
            .filter(|r| r.delivery.as_deref() == Some("delivered"))
    })
    .await;
    assert!(
        !stream(c).await.iter().any(|r| r.body.contains("\"two\"")),
        "nothing watched any more"
    );
}

/// Breaks if: pausing stops the counting, lets rows change, or resuming does not show what
/// came meanwhile.
#[tokio::test]
async fn pause_freezes_the_rows_and_keeps_counting() {
    let s = Setup::new(&[]).await;
    let c = s.viewer_watching("p/#").await;
    s.publish("p/1", "before");
    wait_shown(c, "stream", "p/1", "before").await;
    click(c, "#pause").await;
    eventually("#pause pressed", 5, || async {
        (attr(c, "#pause", "aria-pressed").await.as_deref() == Some("true")).then_some(())
    })
    .await;
    assert_eq!(text_of(c, "pause").await.as_deref(), Some("Resume"));
    s.publish("p/2", "during 1");
    s.publish("p/3", "during 2");
    eventually("counted 3, 2 while paused", 10, || async {
        (counted(c).await == (3, 2)).then_some(())
    })
    .await;
    let rows = stream(c).await;
    assert_eq!(rows.len(), 1, "rows frozen while paused: {rows:?}");
    assert_eq!(rows[0].body, "before");
    click(c, "#pause").await;
    wait_shown(c, "stream", "p/3", "during 2").await;
    let bodies: Vec<_> = stream(c).await.into_iter().map(|r| r.body).collect();
    assert_eq!(bodies, ["before", "during 1", "during 2"]);
    assert_eq!(text_of(c, "pause").await.as_deref(), Some("Pause"));
    assert_eq!(
        attr(c, "#pause", "aria-pressed").await.as_deref(),
        Some("false")
    );
    assert_eq!(counted(c).await, (3, 0));
}

/// Breaks if: a large payload is put into the page whole, cut inside a character, or cut
/// without saying its full size.
#[tokio::test]
async fn a_large_payload_is_cut_with_its_size() {
    let s = Setup::new(&[]).await;
    let c = s.viewer_watching("big/#").await;
    // 100 KB of text with 3-byte characters, so a byte cut would split one.
    let payload = "ab€".repeat(20_000);
    assert_eq!(payload.len(), 100_000);
    publish_to(s.broker.tcp_port, "big/text", &payload, 0, false);
    let row = eventually("the large payload's row", 15, || async {
        stream(c).await.into_iter().find(|r| r.topic == "big/text")
    })
    .await;
    assert_eq!(row.format, "text");
    let shown = row.body.len();
    assert!(
        (2_000..=2_048).contains(&shown),
        "{shown} bytes shown of {}",
        payload.len()
    );
    assert!(
        payload.starts_with(&row.body),
        "a prefix, cut at a character"
    );
    let size = row.size.expect("a .size note on a cut payload");
    assert!(
        size.contains(&chat::watch::size_words(payload.len())),
        "{size:?}"
    );
}

/// Breaks if: a topic viewer chunk that cannot be fetched (the server lost it, or the tab
/// went offline) breaks the page or shows nothing, the chat stops working meanwhile, or
/// "Try again" does not fetch it again once it can be had.
#[tokio::test]
async fn a_viewer_chunk_that_cannot_load_says_so_and_try_again_loads_it() {
    let (dir, taken) = dist_without(&["topic_viewer"]);

    let broker = Broker::start(&[]);
    let browser = Browser::start().await;
    let base = serve_dist(dir.clone());
    let c = &browser.client;
    c.visit(&format!("{base}/?broker={}", broker.ws_url()))
        .await
        .expect("open the app");
    wait_connected(c).await;
    click(c, "#watch-link").await;
    let said = eventually("the chunk's failure said in words", 15, || async {
        let text = c
            .execute(
                "return document.querySelector('#watch-chunk [role=alert]')?.textContent ?? null",
                vec![],
            )
            .await
            .expect("read the failure");
        text.as_str().map(str::to_owned)
    })
    .await;
    assert!(said.contains("could not be loaded"), "{said}");
    assert_eq!(count(c, "section#watch").await, 0);
    assert_eq!(count(c, "#watch-chunk .chunk-retry").await, 1);

    // The chat goes on.
    click(c, "#watch-chunk #chat-link").await;
    wait_view(c, "chat").await;
    send(c, "Ann", "chunk-lost 1").await;
    wait_own_delivered(c, "chunk-lost", 1, 15).await;

    // Back, with the chunk there again: "Try again" fetches and mounts it.
    taken[0].put_back();
    click(c, "#watch-link").await;
    eventually("the viewer's place shown again", 10, || async {
        (attr(c, "#watch-chunk", "hidden").await.is_none()).then_some(())
    })
    .await;
    click(c, "#watch-chunk .chunk-retry").await;
    wait_view(c, "watch").await;
    assert_eq!(count(c, "#watch-chunk").await, 0, "the failure is gone");
    assert_eq!(count(c, "#filter").await, 1, "the viewer's form is there");
    let _ = std::fs::remove_dir_all(&dir);
}
