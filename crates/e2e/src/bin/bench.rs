//! The benchmark behind `scripts/bench`: figures, not pass/fail. It drives the release build
//! in headless Chromium against a Mosquitto of its own and prints a table of what it
//! measured, then writes the same figures as JSON (`MQTT_CHAT_BENCH_OUT`).
//!
//! Scenarios: bundle size, beside the MQTT.js page, and the Wasm's bytes per crate; time to
//! `connected` over fresh loads, beside the MQTT.js page, with the app's start-up steps;
//! click-to-row latency between two windows; bursts of 10,000 and 100,000 messages from a
//! TCP client; time from the broker being back to `connected` after a crash, two tabs of the
//! app and two of the MQTT.js page side by side (issue 11); with rooms and presence (issue 8): switching between 20 rooms
//! of 1,000 stored messages (`rooms-switch`), 1,000 retained presence statuses at connect
//! (`presence-connect`), and 10,000 messages spread over 20 rooms (`rooms-burst`); with the
//! topic viewer (issue 10): 10,000 messages over 1,000 topics into the latest-by-topic view
//! (`watch-latest`), and 100 messages a second for a minute into the stream, its frames and
//! memory (`watch-stream`); hostile floods of presence and typing (`flood`); and apart, minutes long, `load` (issue 12): 1,000 MQTT clients
//! over TCP in 20 rooms with presence, 200 messages a second for a minute, against the
//! shipped Mosquitto and a two-node Aedes cluster, two real tabs measuring meanwhile.

use std::io::Write;
use std::time::{Duration, Instant};

use e2e::*;
use fantoccini::Client;
use serde_json::{json, Value};

/// The codec workload, shared with the criterion bench and the browser measurement.
#[path = "../../../mqtt-core/benches/shared/workload.rs"]
mod workload;

#[derive(Default)]
struct Report {
    rows: Vec<[String; 4]>,
    json: serde_json::Map<String, Value>,
}

impl Report {
    fn add(&mut self, scenario: &str, metric: &str, value: String, target: &str) {
        println!("  {scenario:<12} {metric:<44} {value}");
        self.rows
            .push([scenario.into(), metric.into(), value, target.into()]);
    }

    fn data(&mut self, key: &str, value: Value) {
        self.json.insert(key.into(), value);
    }

    fn print(&self) {
        println!("\n| scenario | metric | value | target |\n|---|---|---|---|");
        for [s, m, v, t] in &self.rows {
            println!("| {s} | {m} | {v} | {t} |");
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `p50 / p99` of sorted samples, in ms.
fn p50_p99(sorted: &[f64]) -> String {
    format!(
        "{:.1} ms / {:.1} ms",
        percentile(sorted, 0.5),
        percentile(sorted, 0.99)
    )
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

fn gzip9(bytes: &[u8]) -> usize {
    let mut child = std::process::Command::new("gzip")
        .arg("-9nc")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    // Written from another thread while this one reads: gzip writes as it reads, and a
    // Wasm's output over the pipe's 64 KiB would block both ends otherwise.
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap().stdout.len();
    writer.join().unwrap().unwrap();
    out
}

/// Every file of the release dist, with its name relative to the dist (`wasm-<hash>/...`).
fn dist_files(dir: &std::path::Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.path().is_dir() {
            dist_files(&entry.path(), &format!("{name}/"), out);
        } else {
            out.push((name, std::fs::read(entry.path()).unwrap()));
        }
    }
}

/// Whether a dist file is a chunk fetched when first used (issue 21), not at the first load.
fn is_chunk(name: &str) -> bool {
    name.rsplit('/').next().is_some_and(|f| {
        (f.starts_with("split_") || f.starts_with("chunk_")) && f.ends_with(".wasm")
    })
}

fn bundle(report: &mut Report) {
    let mut first = (0, 0);
    let mut all = (0, 0);
    let mut parts = serde_json::Map::new();
    let mut files = Vec::new();
    dist_files(&dist(), "", &mut files);
    let kib = |b: usize| b as f64 / 1024.0;
    for (name, bytes) in files {
        let (raw, gz) = (bytes.len(), gzip9(&bytes));
        let chunk = is_chunk(&name);
        all.0 += raw;
        all.1 += gz;
        if !chunk {
            first.0 += raw;
            first.1 += gz;
        }
        // The content hash in the folder's name changes with every build.
        let shown = name.split_once('/').map_or(name.as_str(), |(_, f)| f);
        report.add(
            "bundle",
            &format!(
                "{shown}{} (raw / gzip -9)",
                if chunk { ", when first used" } else { "" }
            ),
            format!("{:.1} KiB / {:.1} KiB", kib(raw), kib(gz)),
            "",
        );
        parts.insert(
            shown.to_owned(),
            json!({"raw": raw, "gzip": gz, "first_load": !chunk}),
        );
    }
    report.add(
        "bundle",
        "first load: html + css + js + main wasm (raw / gzip -9)",
        format!("{:.1} KiB / {:.1} KiB", kib(first.0), kib(first.1)),
        "≤ 110 KiB gzip (issue 21)",
    );
    report.add(
        "bundle",
        "all files, chunks included (raw / gzip -9)",
        format!("{:.1} KiB / {:.1} KiB", kib(all.0), kib(all.1)),
        "≤ 280 KiB gzip (issue 21)",
    );
    report.data(
        "bundle",
        json!({"files": parts, "first_load_raw": first.0, "first_load_gzip": first.1,
               "total_raw": all.0, "total_gzip": all.1}),
    );
    let total = all;
    // The page it is measured against: the MQTT.js chat page and MQTT.js.
    let interop = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("interop");
    let mqttjs: usize = [
        interop.join("mqttjs-chat.html"),
        interop.join("../../../.tools/node_modules/mqtt/dist/mqtt.min.js"),
    ]
    .iter()
    .map(|p| gzip9(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))))
    .sum();
    report.add(
        "bundle",
        "the MQTT.js page: html + mqtt.min.js (gzip -9)",
        format!(
            "{:.1} KiB; the app's first load is {:.2}× it, all its files {:.2}×",
            mqttjs as f64 / 1024.0,
            first.1 as f64 / mqttjs as f64,
            total.1 as f64 / mqttjs as f64
        ),
        "",
    );
    report.data("bundle_mqttjs_gzip", json!(mqttjs));
    crates(report);
}

/// The Wasm's bytes per crate (raw, before gzip), from the release build optimised again
/// with its names kept (`MQTT_CHAT_BENCH_NAMES`, written by scripts/bench).
fn crates(report: &mut Report) {
    let Ok(path) = std::env::var("MQTT_CHAT_BENCH_NAMES") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (rows, total) = e2e::wasm_size::per_crate(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
    let shown = 14;
    for (name, size) in rows.iter().take(shown) {
        report.add(
            "wasm crates",
            &format!("{name} (raw)"),
            format!(
                "{:.1} KiB ({:.0}%)",
                *size as f64 / 1024.0,
                100.0 * *size as f64 / total as f64
            ),
            "",
        );
    }
    let rest: usize = rows.iter().skip(shown).map(|(_, s)| s).sum();
    report.add(
        "wasm crates",
        &format!("{} more crates (raw)", rows.len().saturating_sub(shown)),
        format!("{:.1} KiB", rest as f64 / 1024.0),
        "",
    );
    report.data(
        "wasm_crates",
        Value::Object(rows.into_iter().map(|(n, s)| (n, json!(s))).collect()),
    );
}

/// `name=value` in a line printed by the browser measurements (scripts/bench passes it on).
fn field_of(line: &str, name: &str) -> f64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

fn codec(report: &mut Report) {
    let origin = Instant::now();
    workload::codec_run(10_000, || origin.elapsed().as_secs_f64());
    let run = workload::codec_run(200_000, || origin.elapsed().as_secs_f64());
    report.add(
        "codec",
        "native: encode / decode through the core, packets/s",
        format!(
            "{:.2} M / {:.2} M",
            run.encode_per_sec() / 1e6,
            run.decode_per_sec() / 1e6
        ),
        "",
    );
    let mut data = json!({"native": {"encode_per_sec": run.encode_per_sec(), "decode_per_sec": run.decode_per_sec()}});
    // scripts/bench runs the same workload in headless Chromium and passes the line on.
    if let Ok(line) = std::env::var("MQTT_CHAT_BENCH_BROWSER_CODEC") {
        let field = |name: &str| field_of(&line, name);
        let (enc, dec) = (field("encode="), field("decode="));
        report.add(
            "codec",
            "in Chromium (release Wasm): encode / decode, packets/s",
            format!("{:.2} M / {:.2} M", enc / 1e6, dec / 1e6),
            "",
        );
        data["browser"] = json!({"encode_per_sec": enc, "decode_per_sec": dec});
    }
    report.data("codec", data);
    if let Ok(line) = std::env::var("MQTT_CHAT_BENCH_BROWSER_RTT") {
        let field = |name: &str| field_of(&line, name);
        report.add(
            "latency",
            "broker round trip over WebSocket (publish → own echo), p50 / p99",
            format!("{:.1} ms / {:.1} ms", field("p50="), field("p99=")),
            "",
        );
        report.data(
            "broker_rtt_ms",
            json!({"p50": field("p50="), "p99": field("p99=")}),
        );
    }
    // tests/browser/client.rs checks that `online` and becoming visible retry at once; this is how
    // long "at once" takes (tests/codec_bench.rs, from the event to `connecting`).
    if let Ok(line) = std::env::var("MQTT_CHAT_BENCH_BROWSER_WAKE") {
        let field = |name: &str| field_of(&line, name);
        report.add(
            "reconnect",
            "`online` / tab visible → new attempt (retry pending), p50 (max)",
            format!(
                "{:.1} ms ({:.1}) / {:.1} ms ({:.1})",
                field("online_p50="),
                field("online_max="),
                field("visible_p50="),
                field("visible_max=")
            ),
            "≤ 500 ms",
        );
        report.data(
            "wake_retry_ms",
            json!({
                "online": {"p50": field("online_p50="), "max": field("online_max=")},
                "visible": {"p50": field("visible_p50="), "max": field("visible_max=")},
            }),
        );
    }
    // Private rooms (issue 24), tests/codec_bench.rs: WebCrypto in headless Chromium.
    if let Ok(line) = std::env::var("MQTT_CHAT_BENCH_BROWSER_CRYPTO") {
        let field = |name: &str| field_of(&line, name);
        report.add(
            "private rooms",
            "derive a passphrase key (PBKDF2-SHA-256, 600,000 rounds), median (max) of 3",
            format!(
                "{:.0} ms ({:.0})",
                field("derive_ms="),
                field("derive_max_ms=")
            ),
            "",
        );
        report.add(
            "private rooms",
            "seal / open 1,000 chat messages (AES-256-GCM, one after another)",
            format!(
                "{:.0} ms / {:.0} ms",
                field("seal_1000_ms="),
                field("open_1000_ms=")
            ),
            "",
        );
        report.data(
            "private_rooms_ms",
            json!({
                "derive": field("derive_ms="),
                "derive_max": field("derive_max_ms="),
                "seal_1000": field("seal_1000_ms="),
                "open_1000": field("open_1000_ms="),
            }),
        );
    }
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.expect("script runs")
}

async fn js_args(c: &Client, script: &str, args: Vec<Value>) -> Value {
    c.execute(script, args).await.expect("script runs")
}

fn bench_url(base: &str, broker: &Broker) -> String {
    format!("{base}/?bench&broker={}", broker.ws_url())
}

/// Where a load's time went, from the page's own clock (ms from navigation start): the
/// navigation and resource timing entries, and the marks the app sets with `?bench`.
const LOAD_TIMES: &str = "
    const mark = n => { const m = performance.getEntriesByName(n); return m.length ? m[0].startTime : null; };
    const connected = mark('mqtt-chat:connected');
    if (connected === null) return null;
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    const end = ext => { const r = res.find(e => e.name.split('?')[0].endsWith(ext)); return r ? r.responseEnd : null; };
    return { connected, html: nav ? nav.responseEnd : null, js: end('.js'), wasm: end('.wasm'),
             main: mark('mqtt-chat:main'), mounted: mark('mqtt-chat:mounted'),
             identity: mark('mqtt-chat:identity'), open: mark('mqtt-chat:open') };";

/// Navigation start → `connected` over fresh loads (a blank page between, and nothing
/// cached: the harness's server sends no validators), the app and the MQTT.js page
/// alternating, with the app's steps.
async fn time_to_connected(c: &Client, base: &str, broker: &Broker, report: &mut Report) {
    let loads = 20;
    let mqttjs_url = format!("{base}/interop/mqttjs-chat.html?broker={}", broker.ws_url());
    let mut app: Vec<Value> = Vec::new();
    let mut mqttjs = Vec::new();
    for _ in 0..loads {
        for (url, is_app) in [(bench_url(base, broker), true), (mqttjs_url.clone(), false)] {
            c.visit("about:blank").await.unwrap();
            c.visit(&url).await.unwrap();
            let times = eventually("the connected mark", 20, || async {
                let v = js(c, LOAD_TIMES).await;
                (!v.is_null()).then_some(v)
            })
            .await;
            if is_app {
                app.push(times);
            } else {
                mqttjs.push(times["connected"].as_f64().unwrap_or(f64::NAN));
            }
        }
    }
    let field =
        |name: &str| -> Vec<f64> { sorted(app.iter().filter_map(|t| t[name].as_f64()).collect()) };
    let step = |from: &str, to: &str| -> Vec<f64> {
        sorted(
            app.iter()
                .filter_map(|t| Some(t[to].as_f64()? - t[from].as_f64()?))
                .collect(),
        )
    };
    let (app_connected, mqttjs) = (field("connected"), sorted(mqttjs));
    let median = |s: &[f64]| percentile(s, 0.5);
    report.add(
        "connect",
        &format!("app: navigation start → `connected`, median of {loads} fresh loads"),
        format!(
            "{:.0} ms (p90 {:.0} ms)",
            median(&app_connected),
            percentile(&app_connected, 0.9)
        ),
        "",
    );
    report.add(
        "connect",
        &format!("MQTT.js page: the same, median of {loads}"),
        format!(
            "{:.0} ms (p90 {:.0} ms)",
            median(&mqttjs),
            percentile(&mqttjs, 0.9)
        ),
        "",
    );
    report.add(
        "connect",
        "app / MQTT.js (medians)",
        format!("{:.2}×", median(&app_connected) / median(&mqttjs)),
        "≤ 0.6×",
    );
    let steps = [
        ("html fetched (navigation start →)", field("html")),
        ("JS glue fetched (navigation start →)", field("js")),
        ("Wasm fetched (navigation start →)", field("wasm")),
        (
            "Wasm fetched → main() runs (compile, instantiate)",
            step("wasm", "main"),
        ),
        ("main() → view mounted", step("main", "mounted")),
        (
            "main() → identity known (Web Locks)",
            step("main", "identity"),
        ),
        ("main() → WebSocket open", step("main", "open")),
        (
            "WebSocket open → CONNACK (`connected`)",
            step("open", "connected"),
        ),
    ];
    for (what, s) in &steps {
        if !s.is_empty() {
            report.add(
                "connect",
                &format!("  app: {what}, median"),
                format!("{:.1} ms", median(s)),
                "",
            );
        }
    }
    report.data(
        "time_to_connected_ms",
        json!({"app": app_connected, "mqttjs": mqttjs, "app_steps": app}),
    );
}

const OBSERVE_ROWS: &str = "
    window.__seen = {}; window.__painted = {}; window.__seenWall = {}; window.__arrived = {};
    new MutationObserver(muts => {
        const t = performance.timeOrigin + performance.now();
        const wall = Date.now();
        for (const m of muts) for (const n of m.addedNodes) {
            const cell = n.nodeType === 1 && n.querySelector('td.message');
            if (!cell) continue;
            const k = cell.textContent;
            if (k in __seen) continue;
            __seen[k] = t; __seenWall[k] = wall;
            __arrived[k] = performance.timeOrigin + (window.__mqttChatLastArrival ?? NaN);
            requestAnimationFrame(() => { __painted[k] = performance.timeOrigin + performance.now(); });
        }
    }).observe(document.getElementById('messages'), { childList: true });";

const CLICK_PUBLISH: &str = "
    if (!window.__sendWatched) {
        const send = WebSocket.prototype.send;
        WebSocket.prototype.send = function (data) {
            if (window.__firstSend === null) window.__firstSend = performance.timeOrigin + performance.now();
            return send.call(this, data);
        };
        window.__sendWatched = true;
    }
    const ta = document.getElementById('message');
    ta.value = arguments[0];
    ta.dispatchEvent(new Event('input', { bubbles: true }));
    window.__firstSend = null;
    const t = performance.timeOrigin + performance.now();
    const wall = Date.now();
    document.getElementById('publish').click();
    window.__clicked = t;
    return [t, wall];";

async fn latency(c: &Client, base: &str, broker: &Broker, report: &mut Report) {
    c.visit(&bench_url(base, broker)).await.unwrap();
    let a = c.window().await.unwrap();
    wait_connected(c).await;
    js(c, "const n = document.getElementById('name'); n.value = 'bench'; n.dispatchEvent(new Event('input', { bubbles: true }));").await;
    let b = c.new_window(false).await.unwrap().handle;
    c.switch_to_window(b.clone()).await.unwrap();
    c.visit(&bench_url(base, broker)).await.unwrap();
    wait_connected(c).await;
    js(c, OBSERVE_ROWS).await;

    let (mut dom, mut painted, mut wall) = (Vec::new(), Vec::new(), Vec::new());
    let (mut to_arrival, mut arrival_to_dom) = (Vec::new(), Vec::new());
    let mut click_to_send = Vec::new();
    for i in 0..220 {
        let text = format!("latency probe {i}");
        c.switch_to_window(a.clone()).await.unwrap();
        let clicked = js_args(c, CLICK_PUBLISH, vec![json!(text)]).await;
        let (clicked, clicked_wall) = (
            clicked[0].as_f64().unwrap_or(f64::NAN),
            clicked[1].as_f64().unwrap_or(f64::NAN),
        );
        // When A's WebSocket got the frame (microtasks after the click have run by now).
        if let Some(sent) = js(
            c,
            "return window.__firstSend === null ? null : window.__firstSend - window.__clicked",
        )
        .await
        .as_f64()
        {
            if i >= 20 {
                click_to_send.push(sent);
            }
        }
        c.switch_to_window(b.clone()).await.unwrap();
        let seen = eventually("the probe in window B", 10, || async {
            js_args(
                c,
                "return window.__seen[arguments[0]] ?? null",
                vec![json!(text)],
            )
            .await
            .as_f64()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let shown = js_args(
            c,
            "return window.__painted[arguments[0]] ?? null",
            vec![json!(text)],
        )
        .await
        .as_f64();
        let seen_wall = js_args(
            c,
            "return window.__seenWall[arguments[0]]",
            vec![json!(text)],
        )
        .await
        .as_f64()
        .unwrap_or(f64::NAN);
        if i >= 20 {
            // The first 20 warm up the JIT and the connection.
            dom.push(seen - clicked);
            if let Some(arrived) = js_args(
                c,
                "return window.__arrived[arguments[0]]",
                vec![json!(text)],
            )
            .await
            .as_f64()
            {
                to_arrival.push(arrived - clicked);
                arrival_to_dom.push(seen - arrived);
            }
            wall.push(seen_wall - clicked_wall);
            if let Some(p) = shown {
                painted.push(p - clicked);
            }
        }
    }
    let dom = sorted(dom);
    report.add(
        "latency",
        "click in A → row in B's DOM, p50 / p99 (200 runs)",
        p50_p99(&dom),
        "p50 ≤ 3 ms, p99 ≤ 8 ms",
    );
    let painted = sorted(painted);
    if !painted.is_empty() {
        report.add(
            "latency",
            "click in A → next frame in B (painted), p50 / p99",
            p50_p99(&painted),
            "",
        );
    }
    let (to_arrival, arrival_to_dom) = (sorted(to_arrival), sorted(arrival_to_dom));
    let click_to_send = sorted(click_to_send);
    report.add(
        "latency",
        "  of which click in A → frame handed to A's WebSocket, p50 / p99",
        p50_p99(&click_to_send),
        "",
    );
    report.add(
        "latency",
        "  of which click in A → message arrives in B, p50 / p99",
        p50_p99(&to_arrival),
        "",
    );
    report.add(
        "latency",
        "  of which arrival in B → row in B's DOM, p50 / p99",
        p50_p99(&arrival_to_dom),
        "",
    );
    let wall = sorted(wall);
    report.add(
        "latency",
        "the same on Date.now() (1 ms steps, one clock), p50 / p99",
        p50_p99(&wall),
        "",
    );
    report.data("latency_dom_ms", json!(dom));
    report.data("latency_painted_ms", json!(painted));
    c.close_window().await.unwrap();
    c.switch_to_window(a).await.unwrap();
}

const WATCH_BURST: &str = "
    window.__burst = { maxFrame: 0, over100: 0, frames: 0, longest: 0, last: performance.now(), shownLast: null, firstRow: null };
    const b = window.__burst;
    const tick = (t) => { const d = t - b.last; b.last = t; b.maxFrame = Math.max(b.maxFrame, d); if (d > 100) b.over100++; b.frames++; requestAnimationFrame(tick); };
    requestAnimationFrame((t) => { b.last = t; requestAnimationFrame(tick); });
    try { new PerformanceObserver(l => { for (const e of l.getEntries()) b.longest = Math.max(b.longest, e.duration); }).observe({ type: 'longtask' }); } catch (e) {}
    new MutationObserver(muts => {
        const t = performance.now();
        if (b.firstRow === null) b.firstRow = t;
        for (const m of muts) for (const n of m.addedNodes) {
            const cell = n.nodeType === 1 && n.querySelector('td.message');
            if (cell && cell.textContent === arguments[0]) b.shownLast = t;
        }
    }).observe(document.getElementById('messages'), { childList: true });";

/// Publish `n` chat messages at QoS 0 as one stream of bytes over plain TCP, and return once
/// the broker has taken every one: a PINGRESP to the PINGREQ sent after them. (Closing with
/// the CONNACK unread would make the kernel reset the connection and the broker drop
/// whatever it had not read yet.)
fn publish_burst(tcp_port: u16, run: &str, n: usize) -> Duration {
    publish_all(
        tcp_port,
        &format!("bench-{run}"),
        (0..n).map(|i| {
            (
                "messages".to_owned(),
                format!(r#"{{"name":"burst","message":"{run} {i}","id":"{run}-{i}"}}"#),
            )
        }),
        false,
    )
}

async fn burst(c: &Client, base: &str, broker: &Broker, n: usize, report: &mut Report) {
    let label = if n >= 100_000 {
        "burst 100k"
    } else {
        "burst 10k"
    };
    burst_with(c, base, broker, n, "", label, report).await;
}

/// A burst of `n` into a tab opened with `extra_query` on its URL; the rows go under `label`.
/// Returns the throughput, messages a second.
async fn burst_with(
    c: &Client,
    base: &str,
    broker: &Broker,
    n: usize,
    extra_query: &str,
    label: &str,
    report: &mut Report,
) -> f64 {
    // Ids unique per scenario: a later burst must not repeat ids the history already holds.
    let run = label.replace([' ', ',', '='], "");
    let last = format!("{run} {}", n - 1);
    c.visit(&format!("{}{extra_query}", bench_url(base, broker)))
        .await
        .unwrap();
    wait_connected(c).await;
    let before: u64 = data_total(c).await.parse().unwrap_or(0);
    // data-total includes the stored history; the arrival counter counts the socket only.
    let arrived_before = js(c, "return window.__mqttChatArrivals ?? 0")
        .await
        .as_f64()
        .unwrap_or(0.0);
    js_args(c, WATCH_BURST, vec![json!(last)]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let tcp = broker.tcp_port;
    let name = run.clone();
    let sent_in = tokio::task::spawn_blocking(move || publish_burst(tcp, &name, n))
        .await
        .unwrap();
    let want = before + n as u64;
    let started = Instant::now();
    let mut total = before;
    while started.elapsed() < Duration::from_secs(180) {
        total = data_total(c).await.parse().unwrap_or(0);
        let shown = js(c, "return window.__burst.shownLast").await;
        if total >= want && !shown.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = js(c, "const b = window.__burst; return { maxFrame: b.maxFrame, over100: b.over100, frames: b.frames, longest: b.longest, shownLast: b.shownLast, firstRow: b.firstRow, lastArrival: window.__mqttChatLastArrival ?? null, rows: document.querySelectorAll('#messages tr').length, heap: performance.memory ? performance.memory.usedJSHeapSize : null, wasm: window.__mqttChatMemory ? window.__mqttChatMemory.buffer.byteLength : null, nodes: document.getElementsByTagName('*').length, connects: performance.getEntriesByName('mqtt-chat:connected').length, arrivals: window.__mqttChatArrivals ?? 0, badge: document.getElementById('connect-badge').textContent }").await;
    let f = |k: &str| b[k].as_f64().unwrap_or(f64::NAN);
    let throughput = n as f64 / ((f("lastArrival") - f("firstRow")) / 1000.0);
    report.add(
        label,
        "in the view (data-total) / arrived over the socket / published",
        format!(
            "{} / {} / {n}",
            total - before,
            f("arrivals") - arrived_before
        ),
        "all",
    );
    report.add(
        label,
        "connections during the run / badge after",
        format!("{} / {}", f("connects"), b["badge"].as_str().unwrap_or("?")),
        "1 / connected",
    );
    report.add(
        label,
        "broker took the whole burst from the publisher in",
        format!("{:.0} ms", sent_in.as_secs_f64() * 1000.0),
        "",
    );
    report.add(
        label,
        "first row → last message arrived (throughput)",
        format!(
            "{:.0} ms ({:.0} msg/s)",
            f("lastArrival") - f("firstRow"),
            n as f64 / ((f("lastArrival") - f("firstRow")) / 1000.0)
        ),
        "",
    );
    report.add(
        label,
        "last message arrived → its row in the DOM",
        format!("{:.0} ms", f("shownLast") - f("lastArrival")),
        "≤ 1000 ms",
    );
    report.add(
        label,
        "longest frame / frames over 100 ms / longest task",
        format!(
            "{:.0} ms / {} / {:.0} ms",
            f("maxFrame"),
            f("over100"),
            f("longest")
        ),
        "no frame over 100 ms",
    );
    report.add(
        label,
        "rows in the DOM / JS heap / Wasm memory",
        format!(
            "{} / {:.1} MiB / {:.1} MiB",
            f("rows"),
            f("heap") / 1048576.0,
            f("wasm") / 1048576.0
        ),
        "bounded",
    );
    report.data(&run, b);
    throughput
}

/// The stored history: with 1,000 messages kept, the time from navigation start to the last
/// of them on screen over 10 reloads; and what storing costs a burst (10,000 messages with
/// history on and off).
async fn history(c: &Client, base: &str, broker: &Broker, report: &mut Report) {
    c.visit(&bench_url(base, broker)).await.unwrap();
    wait_connected(c).await;
    let tcp = broker.tcp_port;
    tokio::task::spawn_blocking(move || publish_burst(tcp, "stored", 1000))
        .await
        .unwrap();
    let last = "stored 999";
    eventually("the 1,000th message shown", 60, || async {
        let rows = messages_with(c, last).await;
        (!rows.is_empty()).then_some(())
    })
    .await;
    // The writer batches every 100 ms: give the last batch time to land.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut samples = Vec::new();
    let mut totals = Vec::new();
    for _ in 0..10 {
        c.visit("about:blank").await.unwrap();
        // The same broker: what this browser keeps is filed per broker (issue 9).
        c.visit(&bench_url(base, broker)).await.unwrap();
        let t = eventually("the history mark", 20, || async {
            js(c, "const m = performance.getEntriesByName('mqtt-chat:history'); return m.length ? m[0].startTime : null")
                .await
                .as_f64()
        })
        .await;
        let shown_last = js_args(
            c,
            "const r = document.querySelectorAll('#messages tr td.message'); return r.length ? r[r.length - 1].textContent : null",
            vec![],
        )
        .await;
        assert_eq!(
            shown_last.as_str(),
            Some(last),
            "the newest stored row is on screen"
        );
        totals.push(data_total(c).await);
        samples.push(t);
    }
    let s = sorted(samples);
    report.add(
        "history",
        "1,000 stored: navigation start → last stored row shown, median of 10",
        format!(
            "{:.0} ms (min {:.0}, max {:.0}; data-total {})",
            percentile(&s, 0.5),
            s[0],
            s[s.len() - 1],
            totals.first().cloned().unwrap_or_default()
        ),
        "",
    );
    report.data("history_shown_ms", json!(s));
    let on = burst_with(c, base, broker, 10_000, "", "burst 10k, history on", report).await;
    let off = burst_with(
        c,
        base,
        broker,
        10_000,
        "&history=off",
        "burst 10k, history off",
        report,
    )
    .await;
    report.add(
        "history",
        "burst throughput with history on / off",
        format!(
            "{on:.0} / {off:.0} msg/s ({:+.0}%)",
            (on / off - 1.0) * 100.0
        ),
        "no more than 20% slower",
    );
}

/// The app with the bench hooks, and no broker: what shows comes from storage alone.
/// In a page: remember (wall clock) when `#connect-badge` last came to read `connected`
/// after reading anything else, and count the times it did.
const WATCH_BADGE: &str = "
    if (!window.__badgeWatched) {
        window.__badgeWatched = true;
        window.__backAt = null;
        window.__backs = 0;
        const b = document.getElementById('connect-badge');
        let was = b.textContent;
        new MutationObserver(() => {
            const now = b.textContent;
            if (now === 'connected' && was !== 'connected') { window.__backAt = Date.now(); window.__backs++; }
            was = now;
        }).observe(b, { childList: true, characterData: true, subtree: true });
    }";

/// Type `text` into the page's message box and press its publish button.
const SEND_NOW: &str = "
    const n = document.getElementById('name');
    if (n && !n.value) { n.value = 'bench'; n.dispatchEvent(new Event('input', { bubbles: true })); }
    const ta = document.getElementById('message');
    ta.value = arguments[0];
    ta.dispatchEvent(new Event('input', { bubbles: true }));
    document.getElementById('publish').click();";

fn wall_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Issue 11's broker-restart scenario, the app and the MQTT.js page in the same run: two
/// tabs of each, SIGKILL of the broker, a message sent from one tab of each while it is
/// down, back after 2 s. Each tab notes (wall clock, in the page) when its badge reads
/// `connected` again; the time counts from the broker accepting connections again.
async fn reconnect(c: &Client, base: &str, broker: &mut Broker, report: &mut Report) {
    let pages = [
        ("app", bench_url(base, broker)),
        (
            "mqttjs",
            format!("{base}/interop/mqttjs-chat.html?broker={}", broker.ws_url()),
        ),
    ];
    let mut tabs = Vec::new();
    for (i, (kind, url)) in pages.iter().enumerate() {
        for n in 0..2 {
            if i + n > 0 {
                let handle = c.new_window(false).await.unwrap().handle;
                c.switch_to_window(handle).await.unwrap();
            }
            c.visit(url).await.unwrap();
            eventually("connected", 20, || async {
                (badge(c).await.0 == "connected").then_some(())
            })
            .await;
            js(c, WATCH_BADGE).await;
            tabs.push((*kind, n, c.window().await.unwrap()));
        }
    }
    let mut samples: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    let runs = 7;
    for run in 0..runs {
        // A link up for less than 3 s does not end an outage (anti-flap): measure the
        // common case of a broker that fails after a while.
        tokio::time::sleep(Duration::from_millis(3500)).await;
        broker.kill();
        let down = Instant::now();
        for (_, _, w) in &tabs {
            c.switch_to_window(w.clone()).await.unwrap();
            eventually("the badge to leave connected", 20, || async {
                (badge(c).await.0 != "connected").then_some(())
            })
            .await;
        }
        // One tab of each sends while the broker is down.
        for (_, n, w) in &tabs {
            if *n == 0 {
                c.switch_to_window(w.clone()).await.unwrap();
                js_args(c, SEND_NOW, vec![json!(format!("sent while down {run}"))]).await;
            }
        }
        tokio::time::sleep(Duration::from_secs(2).saturating_sub(down.elapsed())).await;
        broker.restart();
        let back = wall_ms();
        for (kind, _, w) in &tabs {
            c.switch_to_window(w.clone()).await.unwrap();
            let at = eventually("connected again", 60, || async {
                let v = js(c, "return document.getElementById('connect-badge').textContent === 'connected' ? window.__backAt : null").await;
                v.as_f64()
            })
            .await;
            samples.entry(kind).or_default().push(at - back);
        }
    }
    for (_, _, w) in tabs.iter().skip(1) {
        c.switch_to_window(w.clone()).await.unwrap();
        c.close_window().await.unwrap();
    }
    c.switch_to_window(tabs[0].2.clone()).await.unwrap();
    let app = sorted(samples.remove("app").unwrap_or_default());
    let mqttjs = sorted(samples.remove("mqttjs").unwrap_or_default());
    let words = |s: &[f64]| {
        format!(
            "{:.0} ms (min {:.0}, max {:.0})",
            percentile(s, 0.5),
            s[0],
            s[s.len() - 1]
        )
    };
    let scenario = "SIGKILL, 2 s down, 2 tabs each, one sending";
    report.add(
        "reconnect",
        &format!(
            "app: broker back → `connected` ({scenario}), median of {}",
            app.len()
        ),
        words(&app),
        "",
    );
    report.add(
        "reconnect",
        &format!("MQTT.js page: the same, median of {}", mqttjs.len()),
        words(&mqttjs),
        "",
    );
    report.add(
        "reconnect",
        "app / MQTT.js (medians)",
        format!("{:.2}×", percentile(&app, 0.5) / percentile(&mqttjs, 0.5)),
        "≤ 0.6×",
    );
    report.data("reconnect_ms", json!({"app": app, "mqttjs": mqttjs}));
}

// ----- rooms and presence (issue 8) -----

/// Join room `name` through `form#join-room`, as a user would; returns once its `li` shows.
async fn join_room(c: &Client, name: &str) {
    js_args(
        c,
        "const i = document.getElementById('room-name');
         if (!i) throw new Error('no #room-name (rooms not built yet?)');
         i.value = arguments[0];
         i.dispatchEvent(new Event('input', { bubbles: true }));
         document.getElementById('join-room-button').click();",
        vec![json!(name)],
    )
    .await;
    eventually(&format!("room {name} in #rooms"), 10, || async {
        js_args(
            c,
            "return !!document.querySelector(`#rooms li[data-room=\"${CSS.escape(arguments[0])}\"]`)",
            vec![json!(name)],
        )
        .await
        .as_bool()
        .filter(|b| *b)
    })
    .await;
}

/// Sum of the joined rooms' unread counts plus the open room's `data-total`. The default
/// room's unread count is left out: the app tab the first scenarios leave open
/// (`reconnect`'s) answers a new tab's catch-up there with what it holds (93 messages in a
/// whole run), which is no part of a room scenario's burst.
const COUNTED: &str = "
    let sum = 0;
    for (const u of document.querySelectorAll('#rooms li:not([data-room=\"messages\"]) span.unread'))
        sum += parseInt(u.textContent.replace(/[^0-9]/g, ''), 10) || 0;
    return sum + (parseInt(document.getElementById('messages')?.dataset.total ?? '0', 10) || 0);";

async fn counted(c: &Client) -> u64 {
    js(c, COUNTED).await.as_u64().unwrap_or(0)
}

/// How many history records the page's IndexedDB holds per topic.
const STORED_PER_TOPIC: &str = "
const done = arguments[arguments.length - 1];
indexedDB.databases().then(dbs => {
  const name = dbs.map(d => d.name).find(n => n.startsWith('mqtt-chat'));
  if (!name) return done({});
  const open = indexedDB.open(name);
  open.onerror = () => done({});
  open.onsuccess = () => {
    const db = open.result;
    const all = db.transaction('history').objectStore('history').index('by-topic').getAllKeys();
    all.onsuccess = () => {
      const by = {};
      for (const [t] of all.result) by[t] = (by[t] || 0) + 1;
      db.close();
      done(by);
    };
    all.onerror = () => { db.close(); done({}); };
  };
});
";

/// Publish each room's messages, a room at a time, each time waiting until the page has
/// stored them all: a burst of 20,000 at once outruns IndexedDB, and the app's write queue
/// then drops history (by design, said in a notice), so the rooms would not hold what the
/// scenario says. Returns how long the publishing took in all.
async fn seed_stored(
    c: &Client,
    broker: &Broker,
    rooms: &[String],
    messages: impl Fn(&str) -> Vec<(String, String)>,
) -> Duration {
    let mut took = Duration::ZERO;
    for room in rooms {
        let items = messages(room);
        let want = items.len() as u64;
        let tcp = broker.tcp_port;
        took += tokio::task::spawn_blocking(move || {
            publish_all(tcp, "bench-seed", items.into_iter(), false)
        })
        .await
        .unwrap();
        let topic = format!("messages/{room}");
        eventually(&format!("{want} stored in {topic}"), 60, || async {
            let by = c
                .execute_async(STORED_PER_TOPIC, vec![])
                .await
                .expect("count script runs");
            (by[&topic].as_u64().unwrap_or(0) >= want).then_some(())
        })
        .await;
    }
    took
}

/// `n` chat messages for room `room`, `"<room> <i>"` each, ids unique per room.
fn room_messages(room: String, n: usize) -> impl Iterator<Item = (String, String)> {
    (0..n).map(move |i| {
        (
            format!("messages/{room}"),
            format!(r#"{{"name":"seed","message":"{room} {i}","id":"{room}-{i}"}}"#),
        )
    })
}

/// Click `li[data-room=X] button.open-room`, then poll on every animation frame until the
/// last row of `#messages` is `arguments[1]`; ms from the click to that frame, or -1 after
/// 10 s.
const SWITCH_ROOM: &str = "
    const [room, want, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
    const button = document.querySelector(`#rooms li[data-room=\"${CSS.escape(room)}\"] button.open-room`);
    if (!button) { done(-2); return; }
    const t0 = performance.now();
    button.click();
    const newest = () => {
        const cells = document.querySelectorAll('#messages tr td.message');
        return cells.length ? cells[cells.length - 1].textContent : null;
    };
    const poll = () => {
        if (newest() === want) { done(performance.now() - t0); return; }
        if (performance.now() - t0 > 10000) { done(-1); return; }
        requestAnimationFrame(poll);
    };
    if (newest() === want) requestAnimationFrame(() => done(performance.now() - t0));
    else requestAnimationFrame(poll);";

const OPEN_VIEWER_CHUNK: &str = "
    const done = arguments[arguments.length - 1];
    const t0 = performance.now();
    document.getElementById('watch-link').click();
    const poll = () => {
        if (document.querySelector('section#watch #filter')) { done(performance.now() - t0); return; }
        if (performance.now() - t0 > 10000) { done(-1); return; }
        requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);";

const OPEN_PANEL_CHUNK: &str = "
    const done = arguments[arguments.length - 1];
    const t0 = performance.now();
    document.querySelector('#settings summary').click();
    const poll = () => {
        if (document.getElementById('connection-form')) { done(performance.now() - t0); return; }
        if (performance.now() - t0 > 10000) { done(-1); return; }
        requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);";

/// The topic viewer's chunk (issue 21) on a fresh page load each time (the test server
/// says no-store, so it is fetched again): click the viewer's link → its form shown
/// (frame), over loopback.
async fn viewer_chunk(base: &str, broker: &Broker, report: &mut Report) {
    let what =
        "first open of the topic viewer: click → form shown (fetch + compile + mount), p50 / max";
    chunk_open(
        base,
        broker,
        report,
        ("viewer-chunk", what),
        OPEN_VIEWER_CHUNK,
    )
    .await;
}

/// The connection panel's chunk, the same way: click its summary → its form shown. The
/// panel's open state is forgotten after each open (an opened panel stays open across
/// reloads).
async fn panel_chunk(base: &str, broker: &Broker, report: &mut Report) {
    let what = "first open of the connection panel: click → form shown (fetch + compile + mount), p50 / max";
    chunk_open(
        base,
        broker,
        report,
        ("panel-chunk", what),
        OPEN_PANEL_CHUNK,
    )
    .await;
}

/// MQTT 5's codec (issue 21), a chunk fetched before a v5 connection opens: ten fresh
/// loads with `?protocol=5`, from the tab's identity known (when the fetch starts) to the
/// codec ready (fetch + compile + instantiate), beside the fetch alone.
async fn mqtt5_chunk(base: &str, broker: &Broker, report: &mut Report) {
    let browser = Browser::start().await;
    let c = &browser.client;
    let (mut samples, mut fetches, mut failed) = (Vec::new(), Vec::new(), 0);
    for _ in 0..10 {
        c.visit(&format!("{}&protocol=5", bench_url(base, broker)))
            .await
            .unwrap();
        wait_connected(c).await;
        let v = c
            .execute(
                "const at = n => performance.getEntriesByName(n)[0]?.startTime;
                 const f = performance.getEntriesByType('resource')
                     .find(e => e.name.includes('split_mqtt5'));
                 return [at('mqtt-chat:mqtt5') - at('mqtt-chat:identity'),
                         f ? f.responseEnd - f.startTime : null];",
                vec![],
            )
            .await
            .expect("read the marks");
        match (v[0].as_f64(), v[1].as_f64()) {
            (Some(ms), Some(fetch)) => {
                samples.push(ms);
                fetches.push(fetch);
            }
            _ => failed += 1,
        }
    }
    let (s, f) = (sorted(samples), sorted(fetches));
    report.add(
        "mqtt5-chunk",
        "MQTT 5's codec before a v5 connection: identity known → codec ready (its fetch alone), p50 / max",
        format!(
            "{:.0} / {:.0} ms ({:.0} / {:.0} ms){}",
            percentile(&s, 0.5),
            s.last().copied().unwrap_or(f64::NAN),
            percentile(&f, 0.5),
            f.last().copied().unwrap_or(f64::NAN),
            if failed > 0 {
                format!(" ({failed} of 10 without it)")
            } else {
                String::new()
            }
        ),
        "≤ 300 ms on loopback (issue 21)",
    );
    report.data(
        "mqtt5_chunk",
        json!({"samples_ms": s, "fetch_ms": f, "failed": failed}),
    );
    browser.close().await;
}

/// Ten fresh loads, each opening a chunk's part with `script` (ms to its first frame).
async fn chunk_open(
    base: &str,
    broker: &Broker,
    report: &mut Report,
    (name, what): (&str, &str),
    script: &str,
) {
    let browser = Browser::start().await;
    let c = &browser.client;
    let (mut samples, mut failed) = (Vec::new(), 0);
    for _ in 0..10 {
        c.visit(&bench_url(base, broker)).await.unwrap();
        wait_connected(c).await;
        let ms = c
            .execute_async(script, vec![])
            .await
            .expect("open script runs")
            .as_f64()
            .unwrap_or(-1.0);
        if ms < 0.0 {
            failed += 1;
        } else {
            samples.push(ms);
        }
        let _ = c
            .execute("localStorage.removeItem('mqtt-chat.settings-open')", vec![])
            .await;
    }
    let s = sorted(samples);
    report.add(
        name,
        what,
        format!(
            "{:.0} / {:.0} ms{}",
            percentile(&s, 0.5),
            s.last().copied().unwrap_or(f64::NAN),
            if failed > 0 {
                format!(" ({failed} of 10 never opened)")
            } else {
                String::new()
            }
        ),
        "≤ 300 ms on loopback (issue 21)",
    );
    report.data(
        &name.replace('-', "_"),
        json!({"samples_ms": s, "failed": failed}),
    );
    browser.close().await;
}

/// 20 joined rooms with 1,000 stored messages each: click a room → its newest row shown.
async fn rooms_switch(base: &str, broker: &Broker, report: &mut Report) {
    const ROOMS: usize = 20;
    const PER_ROOM: usize = 1000;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.visit(&bench_url(base, broker)).await.unwrap();
    wait_connected(c).await;
    let rooms: Vec<String> = (1..=ROOMS).map(|i| format!("switch{i:02}")).collect();
    for room in &rooms {
        join_room(c, room).await;
    }
    let took = seed_stored(c, broker, &rooms, |room| {
        room_messages(room.to_owned(), PER_ROOM).collect()
    })
    .await;
    c.refresh().await.unwrap();
    wait_connected(c).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let (mut samples, mut failed) = (Vec::new(), 0);
    const WARMUP: usize = 5;
    for i in 0..(WARMUP + 60) {
        // Never the room already open: the open one after joining (and reloading) is the
        // last joined; the cycle starts at the first.
        let room = &rooms[i % ROOMS];
        let want = format!("{room} {}", PER_ROOM - 1);
        let ms = c
            .execute_async(SWITCH_ROOM, vec![json!(room), json!(want)])
            .await
            .expect("switch script runs")
            .as_f64()
            .unwrap_or(-1.0);
        if ms < 0.0 {
            failed += 1;
            let newest = js(
                c,
                "const cells = document.querySelectorAll('#messages tr td.message'); \
                 return [cells.length ? cells[cells.length - 1].textContent : null, \
                 document.querySelector('#messages')?.dataset.total ?? null, \
                 document.querySelectorAll('#rooms li').length]",
            )
            .await;
            eprintln!("rooms-switch: {room} not shown in time ({ms}): want {want:?}, shown (newest, data-total, rooms) {newest}");
        } else if i >= WARMUP {
            samples.push(ms);
        }
    }
    let s = sorted(samples);
    report.add(
        "rooms-switch",
        "20 rooms × 1,000 stored: click → newest row (frame), p50 / p99",
        p50_p99(&s),
        "",
    );
    report.add(
        "rooms-switch",
        "switches measured / timed out (10 s) / seed publish took",
        format!(
            "{} / {failed} / {:.0} ms",
            s.len(),
            took.as_secs_f64() * 1000.0
        ),
        "0 timed out",
    );
    report.data("rooms_switch_ms", json!({"samples": s, "failed": failed}));
    browser.close().await;
}

/// On every new document: watch `#presence` on each animation frame and note when its size
/// last grew, and how many bench people (`data-person` `bp…`) it lists.
const WATCH_PRESENCE: &str = "
    window.__pc = { n: 0, bench: 0, at: null, benchAt: null };
    const tick = () => {
        const lis = document.querySelectorAll('#presence li');
        if (lis.length !== __pc.n) {
            __pc.n = lis.length;
            __pc.at = performance.now();
            let b = 0;
            for (const li of lis) if ((li.getAttribute('data-person') ?? '').startsWith('bp')) b++;
            if (b !== __pc.bench) { __pc.bench = b; __pc.benchAt = performance.now(); }
        }
        requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);";

/// 1,000 retained presence statuses waiting at connect: navigation start → all listed (or
/// the list's cap reached).
async fn presence_connect(base: &str, broker: &Broker, report: &mut Report) {
    const PEOPLE: usize = 1000;
    let tcp = broker.tcp_port;
    let statuses = move |clear: bool| {
        let ts = now_ms();
        (0..PEOPLE).map(move |i| {
            let payload = if clear {
                String::new()
            } else {
                presence_status(&format!("bp{i}"), &format!("Bench {i}"), true, ts)
            };
            (format!("chat/presence/b{i}"), payload)
        })
    };
    tokio::task::spawn_blocking(move || publish_all(tcp, "bench-presence", statuses(false), true))
        .await
        .unwrap();
    let browser = Browser::start().await;
    let c = &browser.client;
    before_each_document(c, WATCH_PRESENCE).await;
    let (mut samples, mut shown) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        c.visit("about:blank").await.unwrap();
        c.visit(&bench_url(base, broker)).await.unwrap();
        // Complete, or no growth for 3 s (a capped list), or 30 s.
        let started = Instant::now();
        let mut last = (0, Instant::now());
        let pc = loop {
            let pc = js(c, "return window.__pc ?? null").await;
            let bench = pc["bench"].as_u64().unwrap_or(0);
            if bench != last.0 {
                last = (bench, Instant::now());
            }
            if bench as usize >= PEOPLE
                || (bench > 0 && last.1.elapsed() > Duration::from_secs(3))
                || started.elapsed() > Duration::from_secs(30)
            {
                break pc;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(!pc.is_null(), "the presence watcher runs in the page");
        samples.push(pc["benchAt"].as_f64().unwrap_or(f64::NAN));
        shown.push(pc["bench"].as_u64().unwrap_or(0));
        if shown.last() == Some(&0) {
            println!("  #presence listed none of them in 30 s: no more loads");
            break;
        }
    }
    let s = sorted(samples);
    let text = js(
        c,
        "const p = document.getElementById('presence'); return p ? (p.parentElement ?? p).innerText.slice(-200) : ''",
    )
    .await;
    report.add(
        "presence",
        "1,000 retained statuses: navigation start → list complete, median of 5",
        format!(
            "{:.0} ms (min {:.0}, max {:.0})",
            percentile(&s, 0.5),
            s.first().copied().unwrap_or(f64::NAN),
            s.last().copied().unwrap_or(f64::NAN)
        ),
        "",
    );
    report.add(
        "presence",
        "bench people listed (of 1,000) per load",
        format!("{shown:?}"),
        "1,000, or the cap with the rest counted",
    );
    report.data(
        "presence_connect",
        json!({"complete_ms": s, "listed": shown, "tail_text": text}),
    );
    browser.close().await;
    tokio::task::spawn_blocking(move || publish_all(tcp, "bench-presence", statuses(true), true))
        .await
        .unwrap();
}

/// Watches a burst into many rooms: frames (rAF deltas and long animation frames) and the
/// frame on which everything was counted (sum of unread + open room's data-total).
const WATCH_ROOMS_BURST: &str = "
    const want = arguments[0], last = arguments[1], base = arguments[2];
    window.__rb = { want, start: null, first: null, done: null, rendered: null,
        maxFrame: 0, over100: 0, loaf: null, loafOver100: 0, prev: performance.now() };
    const b = window.__rb;
    const counted = () => { COUNTED };
    try {
        new PerformanceObserver(l => { for (const e of l.getEntries()) {
            b.loaf = Math.max(b.loaf ?? 0, e.duration); if (e.duration > 100) b.loafOver100++; } })
            .observe({ type: 'long-animation-frame' });
    } catch (e) {}
    const tick = (t) => {
        const d = t - b.prev; b.prev = t;
        if (b.start !== null && b.done === null) { b.maxFrame = Math.max(b.maxFrame, d); if (d > 100) b.over100++; }
        if (b.start !== null && (b.done === null || b.rendered === null)) {
            const n = counted();
            if (b.first === null && n > base) b.first = t;
            if (b.done === null && n >= want) b.done = t;
            const cells = document.querySelectorAll('#messages tr td.message');
            if (b.rendered === null && cells.length && cells[cells.length - 1].textContent === last) b.rendered = t;
        }
        requestAnimationFrame(tick);
    };
    requestAnimationFrame((t) => { b.prev = t; requestAnimationFrame(tick); });";

/// A tab joined to 20 rooms; 10,000 messages spread over them, published at once.
async fn rooms_burst(base: &str, broker: &Broker, report: &mut Report) {
    const ROOMS: usize = 20;
    const N: usize = 10_000;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.visit(&bench_url(base, broker)).await.unwrap();
    wait_connected(c).await;
    let rooms: Vec<String> = (1..=ROOMS).map(|i| format!("burst{i:02}")).collect();
    for room in &rooms {
        join_room(c, room).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Joining opens: the last joined room is open. Its last message is the last one sent.
    let open = rooms[ROOMS - 1].clone();
    let last = format!("{open} {}", N - 1);
    let before = counted(c).await;
    let watch = WATCH_ROOMS_BURST.replace("{ COUNTED }", &format!("{{ {COUNTED} }}"));
    // arguments[2] in the watcher: the count before the burst.
    js_args(
        c,
        &watch,
        vec![json!(before + N as u64), json!(last), json!(before)],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    js(c, "window.__rb.start = performance.now()").await;
    let tcp = broker.tcp_port;
    let spread = rooms.clone();
    let took = tokio::task::spawn_blocking(move || {
        publish_all(
            tcp,
            "bench-rooms-burst",
            (0..N).map(|i| {
                let room = &spread[i % ROOMS];
                (
                    format!("messages/{room}"),
                    format!(r#"{{"name":"burst","message":"{room} {i}","id":"{room}-{i}"}}"#),
                )
            }),
            false,
        )
    })
    .await
    .unwrap();
    let started = Instant::now();
    let mut b = Value::Null;
    while started.elapsed() < Duration::from_secs(120) {
        b = js(c, "return window.__rb").await;
        if !b["done"].is_null() && !b["rendered"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let now_counted = counted(c).await;
    let f = |k: &str| b[k].as_f64().unwrap_or(f64::NAN);
    report.add(
        "rooms-burst",
        "10,000 over 20 rooms: counted (unread + open data-total) / published",
        format!("{} / {N}", now_counted.saturating_sub(before)),
        "all",
    );
    report.add(
        "rooms-burst",
        "publish start → all counted / → open room's last row shown",
        format!(
            "{:.0} ms / {:.0} ms",
            f("done") - f("start"),
            f("rendered") - f("start")
        ),
        "",
    );
    report.add(
        "rooms-burst",
        "first counted → all counted; broker took the burst in",
        format!(
            "{:.0} ms; {:.0} ms",
            f("done") - f("first"),
            took.as_secs_f64() * 1000.0
        ),
        "",
    );
    report.add(
        "rooms-burst",
        "longest frame (rAF) / over 100 ms / longest animation frame (LoAF) / LoAF over 100 ms",
        format!(
            "{:.0} ms / {} / {} / {}",
            f("maxFrame"),
            f("over100"),
            if b["loaf"].is_null() {
                "n/a".to_owned()
            } else {
                format!("{:.0} ms", f("loaf"))
            },
            f("loafOver100")
        ),
        "no frame over 100 ms",
    );
    report.data("rooms_burst", b);
    browser.close().await;
}

// ----- search (issue 22) -----

/// Types `arguments[0]` into `#search` as input events, one per query, and measures each
/// from the event to its results in the page (the app's answer counted, then the DOM
/// updated and laid out). With `arguments[1]`, the first query waits for the stored
/// messages to be read (the first search after a reload: chunk, storage, index).
/// Returns the times in ms, or a string saying what never came.
const SEARCH_KEYS: &str = "
const [queries, first] = [arguments[0], arguments[1]];
const done = arguments[arguments.length - 1];
const macrotask = () => new Promise(r => { const ch = new MessageChannel();
  ch.port1.onmessage = r; ch.port2.postMessage(0); });
const input = document.getElementById('search');
(async () => {
  const times = [];
  for (const [i, q] of queries.entries()) {
    const before = window.__mqttChatSearches ?? 0;
    const t0 = performance.now();
    input.value = q;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    for (;;) {
      await macrotask();
      const status = document.getElementById('search-status')?.textContent ?? '';
      const answered = (window.__mqttChatSearches ?? 0) > before;
      if (answered && !(first && i === 0 && status.includes('Reading'))) break;
      if (performance.now() - t0 > 10000) return done('query ' + i + ' never answered: ' + status);
    }
    document.getElementById('search-results')?.offsetHeight;
    times.push(performance.now() - t0);
  }
  done(times);
})();
";

/// 20 joined rooms of 1,000 stored messages each: the first search after a reload, then
/// keystrokes (issue 22: ≤ 150 ms and ≤ 30 ms p95).
async fn search(base: &str, broker: &Broker, report: &mut Report) {
    const ROOMS: usize = 20;
    const PER_ROOM: usize = 1000;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.visit(&bench_url(base, broker)).await.unwrap();
    wait_connected(c).await;
    let rooms: Vec<String> = (1..=ROOMS).map(|i| format!("find{i:02}")).collect();
    for room in &rooms {
        join_room(c, room).await;
    }
    const WORDS: [&str; 16] = [
        "deploy",
        "sensor",
        "coffee",
        "Meeting",
        "broker",
        "reboot",
        "café",
        "ticket",
        "release",
        "alarm",
        "garden",
        "Düsseldorf",
        "build",
        "lunch",
        "retained",
        "voltage",
    ];
    seed_stored(c, broker, &rooms, |room| {
        (0..PER_ROOM)
            .map(|i| {
                let text = format!(
                    "{} the {} after {} #{i} in {room}",
                    WORDS[i % 16],
                    WORDS[(i * 7 + 3) % 16],
                    WORDS[(i * 11 + 5) % 16]
                );
                (
                    format!("messages/{room}"),
                    json!({"name": format!("user{}", i % 37), "message": text, "id": format!("{room}-{i}")})
                        .to_string(),
                )
            })
            .collect()
    })
    .await;
    c.refresh().await.unwrap();
    wait_connected(c).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The first search after a reload, five times (a reload each).
    let mut firsts = Vec::new();
    let mut found = Value::Null;
    for round in 0..5 {
        if round > 0 {
            c.refresh().await.unwrap();
            wait_connected(c).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let first = c
            .execute_async(SEARCH_KEYS, vec![json!(["coffee"]), json!(true)])
            .await
            .expect("search script runs");
        match first[0].as_f64() {
            Some(ms) => firsts.push(ms),
            None => eprintln!("search: the first search failed: {first}"),
        }
        found = js(
            c,
            "return document.getElementById('search-status')?.textContent",
        )
        .await;
    }
    let firsts = sorted(firsts);
    // Typing, deleting, and typing again: queries that match many, few and none.
    let mut queries: Vec<String> = Vec::new();
    for word in [
        "meeting room",
        "düsseldorf #12",
        "zzz",
        "user3",
        "alarm the build",
    ] {
        let mut q = String::new();
        for ch in word.chars() {
            q.push(ch);
            queries.push(q.clone());
        }
        while q.pop().is_some() {
            queries.push(q.clone());
        }
    }
    queries.retain(|q| !q.trim().is_empty());
    let keys = c
        .execute_async(SEARCH_KEYS, vec![json!(queries), json!(false)])
        .await
        .expect("search script runs");
    let samples: Vec<f64> = keys
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_else(|| {
            eprintln!("search: keystrokes failed: {keys}");
            Vec::new()
        });
    let s = sorted(samples);
    report.add(
        "search",
        "20 rooms × 1,000 stored: first search after a reload (chunk, storage, index), 5 reloads; what it said (3,760 match)",
        format!(
            "p50 {:.0} ms, max {:.0} ms ({} of 5); {}",
            percentile(&firsts, 0.5),
            firsts.last().copied().unwrap_or(f64::NAN),
            firsts.len(),
            found.as_str().unwrap_or("nothing")
        ),
        "≤ 150 ms (issue 22)",
    );
    report.add(
        "search",
        &format!("keystrokes ({}): p50 / p95 / max", s.len()),
        format!(
            "{:.1} / {:.1} / {:.1} ms",
            percentile(&s, 0.5),
            percentile(&s, 0.95),
            s.last().copied().unwrap_or(f64::NAN)
        ),
        "p95 ≤ 30 ms (issue 22)",
    );
    report.data(
        "search",
        json!({"first_ms": firsts, "first_found": found, "keystrokes_ms": s}),
    );
    browser.close().await;
}

// ----- issue 22: reactions and export -----

/// Start recording the page's long tasks (over 50 ms, Chromium's Long Tasks API).
const LONG_TASKS_START: &str = "
window.__long = [];
new PerformanceObserver(list => { for (const e of list.getEntries()) window.__long.push(e.duration); })
  .observe({ type: 'longtask' });";

/// (the longest task in ms, how many were over 50 ms) since [`LONG_TASKS_START`].
async fn long_tasks(c: &Client) -> (f64, usize) {
    let v = js(
        c,
        "return [Math.max(0, ...window.__long), window.__long.length]",
    )
    .await;
    (
        v[0].as_f64().unwrap_or(f64::NAN),
        v[1].as_u64().unwrap_or(0) as usize,
    )
}

/// 10,000 reactions by 10,000 people on one message, from one plain client as fast as the
/// broker takes them: until the chip says `👍 10000`, and the page's longest task meanwhile.
async fn reactions_burst(base: &str, broker: &Broker, report: &mut Report) {
    let browser = Browser::start().await;
    let c = &browser.client;
    open_app(c, base, &broker.ws_url(), "&room=react-bench").await;
    wait_connected(c).await;
    send(c, "Ann", "react to this").await;
    let id = eventually("the row's id", 10, || async {
        js(
            c,
            "return document.querySelector('#messages tr:last-child')?.dataset.id",
        )
        .await
        .as_str()
        .map(str::to_owned)
    })
    .await;
    js(c, LONG_TASKS_START).await;
    let lines: Vec<String> = (0..10_000)
        .map(|i| {
            json!({"name": format!("p{i}"), "by": format!("person-{i}"), "react": "👍",
                   "to": id, "id": format!("r{i}")})
            .to_string()
        })
        .collect();
    let started = Instant::now();
    let port = broker.tcp_port;
    let publish = tokio::task::spawn_blocking(move || {
        publish_lines(port, "messages/react-bench", &lines);
    });
    let shown = eventually("all 10,000 counted", 120, || async {
        let chip = js(
            c,
            "return document.querySelector('#messages .reactions')?.textContent",
        )
        .await;
        (chip.as_str() == Some("👍 10000")).then(|| started.elapsed())
    })
    .await;
    publish.await.unwrap();
    let (longest, count) = long_tasks(c).await;
    report.add(
        "reactions",
        "10,000 reactions on one message (one plain client): until the chip says 👍 10000; the page's longest task meanwhile (tasks over 50 ms)",
        format!("{:.1} s; {longest:.0} ms ({count})", shown.as_secs_f64()),
        "the page never freezes (issue 22)",
    );
    browser.close().await;
}

/// A hostile flood (the end-to-end `flood.rs`, timed here instead): 10,000 retained
/// presence statuses, each a different tab with HTML in a long name, then 10,000 typing
/// signals, each a different person; the page's longest task while they arrive.
async fn flood(base: &str, broker: &Broker, report: &mut Report) {
    let browser = Browser::start().await;
    let c = &browser.client;
    open_app(c, base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    js(c, LONG_TASKS_START).await;
    let port = broker.tcp_port;
    let started = Instant::now();
    tokio::task::spawn_blocking(move || hostile_flood(port, 10_000))
        .await
        .unwrap();
    let listed = eventually("the presence list to fill up to its bound", 60, || async {
        let n = js(c, "return document.querySelectorAll('#presence li').length")
            .await
            .as_u64()
            .unwrap_or(0);
        (n >= 200).then(|| started.elapsed())
    })
    .await;
    // The typing signals hold for 5 s: the page is watched until they have expired.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (longest, count) = long_tasks(c).await;
    report.add(
        "flood",
        "10,000 retained presence statuses and 10,000 typing signals (one client each): until 200 are listed; the page's longest task meanwhile (tasks over 50 ms)",
        format!("{:.1} s; {longest:.0} ms ({count})", listed.as_secs_f64()),
        "the page never freezes (issue 8)",
    );
    // The retained statuses would follow the next scenarios into their tabs.
    publish_all(
        broker.tcp_port,
        "presence-cleaner",
        (0..10_000).map(|i| (format!("chat/presence/flood{i}"), String::new())),
        true,
    );
    browser.close().await;
}

/// 100,000 messages stored in a room (written straight into IndexedDB), exported as CSV:
/// from the click to the file's words, and the page's longest task meanwhile.
async fn export_big(base: &str, broker: &Broker, report: &mut Report) {
    const SEED: &str = "
    const [topic, n, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
    indexedDB.databases().then(dbs => {
      const open = indexedDB.open(dbs.map(d => d.name).find(n => n.startsWith('mqtt-chat')));
      open.onsuccess = () => {
        const db = open.result;
        const tx = db.transaction('history', 'readwrite');
        const store = tx.objectStore('history');
        const t0 = (Date.now() - 86400000) * 1000;
        for (let i = 0; i < n; i++) {
          const p = JSON.stringify({ name: 'seed', message: `old message ${i}, \"quoted\"`, id: `s${i}` });
          store.put({ t: topic, u: `i:s${i}`, s: t0 + i, a: t0 / 1000 + i, p }, [topic, `i:s${i}`]);
        }
        tx.oncomplete = () => { db.close(); done(n); };
        tx.onerror = () => done(-1);
      };
    });";
    const EXPORT: &str = "
    const [format, done] = [arguments[0], arguments[arguments.length - 1]];
    const select = document.getElementById('export-format');
    select.value = format;
    select.dispatchEvent(new Event('change', { bubbles: true }));
    const status = document.getElementById('export-status');
    const button = document.getElementById('export-history');
    const t0 = performance.now();
    button.click();
    // Busy (the button disabled) until the file is made.
    let began = false;
    const poll = () => {
      began = began || button.disabled;
      if (began && !button.disabled) done([performance.now() - t0, status.textContent]);
      else if (performance.now() - t0 > 25000) done([-1, status.textContent]);
      else setTimeout(poll, 10);
    };
    poll();";
    let browser = Browser::start().await;
    let c = &browser.client;
    open_app(c, base, &broker.ws_url(), "&room=export-bench").await;
    wait_connected(c).await;
    let seeded = c
        .execute_async(SEED, vec![json!("messages/export-bench"), json!(100_000)])
        .await
        .expect("seeding runs");
    assert_eq!(seeded, 100_000);
    c.refresh().await.unwrap();
    wait_connected(c).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut figures = Vec::new();
    for format in ["csv", "json"] {
        js(c, LONG_TASKS_START).await;
        let done = c
            .execute_async(EXPORT, vec![json!(format)])
            .await
            .expect("export script runs");
        let (longest, count) = long_tasks(c).await;
        figures.push(format!(
            "{format}: {:.1} s, longest task {longest:.0} ms ({count} over 50 ms); {}",
            done[0].as_f64().unwrap_or(f64::NAN) / 1000.0,
            done[1].as_str().unwrap_or_default()
        ));
    }
    report.add(
        "export",
        "100,000 stored messages to a file: from the click to \"Exported\"; the page's longest task meanwhile",
        figures.join(" · "),
        "streams without freezing the page (issue 22)",
    );
    browser.close().await;
}

// ----- the topic viewer (issue 10) -----

/// A browser of its own whose `performance.memory` is exact (Chromium otherwise rounds it
/// and refreshes it rarely) and that can collect garbage on demand (`window.gc()`), so a
/// memory sample is what the page holds, not when V8 last collected.
async fn measuring_browser() -> Browser {
    Browser::start_with_args(&[
        "--enable-precise-memory-info".to_owned(),
        "--js-flags=--expose-gc".to_owned(),
    ])
    .await
}

/// Open the viewer on `bench/#` (a deep link) with the bench hooks, wait for the grant, and
/// pick `mode` (`stream` or `latest`).
async fn open_viewer(c: &Client, base: &str, broker: &Broker, mode: &str) {
    c.visit(&format!(
        "{}#/watch?filter=bench/%23",
        bench_url(base, broker)
    ))
    .await
    .unwrap();
    wait_connected(c).await;
    eventually("bench/# granted", 15, || async {
        js(
            c,
            "return document.querySelector('#filters li[data-filter=\"bench/#\"]')?.dataset.state === 'active' || null",
        )
        .await
        .as_bool()
    })
    .await;
    js_args(
        c,
        "document.getElementById('mode-' + arguments[0]).click()",
        vec![json!(mode)],
    )
    .await;
    eventually(&format!("#watch in {mode} mode"), 10, || async {
        js_args(
            c,
            "return (document.getElementById('watch')?.dataset.mode === arguments[0] && !!document.getElementById(arguments[0])) || null",
            vec![json!(mode)],
        )
        .await
        .as_bool()
    })
    .await;
}

/// Watches the viewer on every animation frame while `start` is set and `stop` is not:
/// frame gaps (rAF) and long animation frames (LoAF), except those of a forced garbage
/// collection (`MEMORY_SAMPLE`); when `#watch-count[data-counted]` reached `arguments[0]`
/// (`done`), and when the row `arguments[1]` (a selector, or null) shows the payload
/// `arguments[2]` (`rendered`). With a selector, it stops by itself once both are seen.
/// `arrivedAtDone`: the bench hook's last arrival when all were counted (the last message's
/// arrival: a status or ping coming in later would move the hook on).
const WATCH_VIEWER: &str = "
    const [want, lastRow, lastBody] = [arguments[0], arguments[1], arguments[2]];
    window.__wv = { start: null, stop: null, first: null, done: null, rendered: null,
        arrivedAtDone: null, maxFrame: 0, over50: 0, over100: 0, frames: 0, top: [],
        loaf: null, loafOver50: 0, skip: 0, gcs: [], prev: performance.now() };
    const b = window.__wv;
    const running = () => b.start !== null && b.stop === null;
    const counted = () => parseInt(document.getElementById('watch-count')?.dataset.counted ?? '0', 10) || 0;
    try {
        new PerformanceObserver(l => { for (const e of l.getEntries()) {
            if (b.start === null || e.startTime < b.start || (b.stop !== null && e.startTime > b.stop)) continue;
            if (b.gcs.some(([g0, g1]) => e.startTime <= g1 && e.startTime + e.duration >= g0)) continue;
            b.loaf = Math.max(b.loaf ?? 0, e.duration); if (e.duration > 50) b.loafOver50++; } })
            .observe({ type: 'long-animation-frame' });
    } catch (e) {}
    const tick = (t) => {
        const d = t - b.prev; b.prev = t;
        if (running()) {
            if (b.skip > 0) b.skip--;
            else {
                b.frames++; b.maxFrame = Math.max(b.maxFrame, d);
                if (d > 50) b.over50++; if (d > 100) b.over100++;
                // The five longest gaps, with when they ended (ms after start).
                b.top.push([d, t - b.start]); b.top.sort((x, y) => y[0] - x[0]); b.top.length = Math.min(b.top.length, 5);
            }
            // When this callback runs, not the frame's start (t): a busy frame starts its
            // callbacks late.
            const now = performance.now();
            const n = counted();
            if (b.first === null && n > 0) b.first = now;
            if (b.done === null && n >= want) { b.done = now; b.arrivedAtDone = window.__mqttChatLastArrival ?? null; }
            if (lastRow !== null && b.rendered === null
                && document.querySelector(lastRow)?.textContent === lastBody) b.rendered = now;
            if (lastRow !== null && b.done !== null && b.rendered !== null) b.stop = now;
        }
        requestAnimationFrame(tick);
    };
    requestAnimationFrame((t) => { b.prev = t; requestAnimationFrame(tick); });";

/// Collect garbage, then read the page's memory: JS heap in use, the Wasm memory, DOM nodes,
/// rows shown, and the viewer's counts and rate. The frames of the collection are left out
/// of `WATCH_VIEWER`'s figures.
const MEMORY_SAMPLE: &str = "
    const b = window.__wv;
    const g0 = performance.now();
    if (window.gc) window.gc();
    const g1 = performance.now();
    if (b) { b.gcs.push([g0, g1]); b.skip = 2; }
    const count = document.getElementById('watch-count');
    return { at: g1, gcMs: g1 - g0,
        heap: performance.memory ? performance.memory.usedJSHeapSize : null,
        wasm: window.__mqttChatMemory ? window.__mqttChatMemory.buffer.byteLength : null,
        nodes: document.getElementsByTagName('*').length,
        rows: document.querySelectorAll('#stream tr, #latest tr').length,
        counted: parseInt(count?.dataset.counted ?? '0', 10),
        rate: parseInt(document.getElementById('watch-rate')?.dataset.rate ?? '0', 10),
        arrivals: window.__mqttChatArrivals ?? 0 };";

fn mib(v: &Value) -> String {
    v.as_f64()
        .map_or("n/a".to_owned(), |b| format!("{:.1} MiB", b / 1048576.0))
}

fn frames_words(b: &Value) -> String {
    let f = |k: &str| b[k].as_f64().unwrap_or(f64::NAN);
    format!(
        "{:.0} ms / {} / {} / {}",
        f("maxFrame"),
        f("over50"),
        f("frames"),
        // LoAF reports only frames over 50 ms.
        if b["loaf"].is_null() {
            "none over 50 ms".to_owned()
        } else {
            format!("{:.0} ms", f("loaf"))
        }
    )
}

/// The viewer in latest-by-topic mode on `bench/#`: 10,000 messages over 1,000 topics
/// (`bench/t/<i % 1000>`, payload `score <i>`) published at once from a TCP client.
async fn watch_latest(base: &str, broker: &Broker, report: &mut Report) {
    const N: usize = 10_000;
    const TOPICS: usize = 1_000;
    let label = "watch-latest";
    let browser = measuring_browser().await;
    let c = &browser.client;
    open_viewer(c, base, broker, "latest").await;
    // Topics sort as text: bench/t/999 is the last row, and its last value the last sent.
    let last_topic = format!("bench/t/{}", TOPICS - 1);
    let last_body = format!("score {}", N - 1);
    js_args(
        c,
        WATCH_VIEWER,
        vec![
            json!(N),
            json!(format!(
                "#latest tr[data-topic=\"{last_topic}\"] td.payload .body"
            )),
            json!(last_body),
        ],
    )
    .await;
    let before = js(c, MEMORY_SAMPLE).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    js(c, "window.__wv.start = performance.now()").await;
    let tcp = broker.tcp_port;
    let took = tokio::task::spawn_blocking(move || {
        publish_all(
            tcp,
            "bench-watch-latest",
            (0..N).map(|i| (format!("bench/t/{}", i % TOPICS), format!("score {i}"))),
            false,
        )
    })
    .await
    .unwrap();
    // The broker has taken the last publish (its PINGRESP came back): now, on the wall clock.
    let taken_wall = now_ms();
    let started = Instant::now();
    let mut b = Value::Null;
    while started.elapsed() < Duration::from_secs(120) {
        b = js(c, "return window.__wv").await;
        if !b["stop"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    js(c, "window.__wv.stop ??= performance.now()").await;
    // Every topic's last value, in one call.
    let shown = js(
        c,
        "return [...document.querySelectorAll('#latest tr[data-topic]')].map(r =>
            [r.dataset.topic, r.querySelector('td.payload .body')?.textContent ?? '', r.dataset.count])",
    )
    .await;
    let shown = shown.as_array().cloned().unwrap_or_default();
    let mut right = 0;
    let mut wrong = Vec::new();
    for row in &shown {
        let topic = row[0].as_str().unwrap_or_default();
        let k: Option<usize> = topic.strip_prefix("bench/t/").and_then(|k| k.parse().ok());
        let want = k.map(|k| {
            (
                format!("score {}", N - TOPICS + k),
                (N / TOPICS).to_string(),
            )
        });
        let got = (
            row[1].as_str().unwrap_or_default().to_owned(),
            row[2].as_str().unwrap_or_default().to_owned(),
        );
        if want.as_ref() == Some(&got) {
            right += 1;
        } else if wrong.len() < 3 {
            wrong.push(format!("{topic}: {got:?}"));
        }
    }
    let end = js(c, MEMORY_SAMPLE).await;
    let marks = js(
        c,
        "const l = document.getElementById('latest');
         return { topics: l?.dataset.topics ?? null, evicted: l?.dataset.evicted ?? null,
                  timeOrigin: performance.timeOrigin }",
    )
    .await;
    let f = |k: &str| b[k].as_f64().unwrap_or(f64::NAN);
    let arrived = end["arrivals"].as_f64().unwrap_or(f64::NAN)
        - before["arrivals"].as_f64().unwrap_or(f64::NAN);
    report.add(
        label,
        "10,000 over 1,000 topics: counted / arrived / published",
        format!("{} / {arrived} / {N}", end["counted"]),
        "all",
    );
    report.add(
        label,
        "rows (data-topics, evicted) / showing their topic's last value and count",
        format!(
            "{} ({}, {}) / {right}{}",
            shown.len(),
            marks["topics"].as_str().unwrap_or("?"),
            marks["evicted"].as_str().unwrap_or("?"),
            if wrong.is_empty() {
                String::new()
            } else {
                format!(" (wrong: {})", wrong.join("; "))
            }
        ),
        "1,000 (1,000, 0) / 1,000",
    );
    let origin = marks["timeOrigin"].as_f64().unwrap_or(f64::NAN);
    report.add(
        label,
        "broker took the last publish → last value shown (wall clock)",
        format!("{:.0} ms", origin + f("rendered") - taken_wall),
        "≤ 1000 ms",
    );
    report.add(
        label,
        "last message arrived → last value shown / publish start → all counted",
        format!(
            "{:.0} ms / {:.0} ms",
            f("rendered") - f("arrivedAtDone"),
            f("done") - f("start")
        ),
        "",
    );
    report.add(
        label,
        "broker took the whole burst from the publisher in",
        format!("{:.0} ms", took.as_secs_f64() * 1000.0),
        "",
    );
    report.add(
        label,
        "longest frame (rAF) / over 50 ms / frames / longest animation frame (LoAF)",
        frames_words(&b),
        "no frame over 100 ms",
    );
    report.add(
        label,
        "after: JS heap / Wasm memory / DOM nodes (before: heap, Wasm)",
        format!(
            "{} / {} / {} ({}, {})",
            mib(&end["heap"]),
            mib(&end["wasm"]),
            end["nodes"],
            mib(&before["heap"]),
            mib(&before["wasm"])
        ),
        "bounded",
    );
    report.data(
        "watch_latest",
        json!({"frames": b, "before": before, "after": end, "rows": shown.len(), "right": right,
               "marks": marks, "taken_wall": taken_wall, "took_ms": took.as_secs_f64() * 1000.0}),
    );
    browser.close().await;
}

/// Publish `n` messages at QoS 0 from client `client_id`, `per_sec` a second, each when it is
/// due (on a schedule from the start, so a late one does not push the rest back). Returns
/// the longest a message was late.
fn publish_paced(
    tcp_port: u16,
    client_id: &str,
    n: usize,
    per_sec: u32,
    item: impl Fn(usize) -> (String, String),
) -> Duration {
    use std::io::{Read, Write};
    let mut stream = mqtt_tcp_client(tcp_port, client_id);
    let mut buf = bytes::BytesMut::new();
    let every = Duration::from_secs(1) / per_sec;
    let start = Instant::now();
    let mut late = Duration::ZERO;
    for i in 0..n {
        let due = start + every * i as u32;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        } else {
            late = late.max(now - due);
        }
        let (topic, payload) = item(i);
        buf.clear();
        mqttbytes::v4::Publish::new(topic, mqttbytes::QoS::AtMostOnce, payload.into_bytes())
            .write(&mut buf)
            .unwrap();
        stream.write_all(&buf).unwrap();
    }
    buf.clear();
    buf.extend_from_slice(&[0xC0, 0x00]); // PINGREQ: the broker has taken them all
    stream.write_all(&buf).unwrap();
    let mut pingresp = [0u8; 2];
    stream.read_exact(&mut pingresp).unwrap();
    buf.clear();
    mqttbytes::v4::Disconnect.write(&mut buf).unwrap();
    stream.write_all(&buf).unwrap();
    late
}

/// The viewer in stream mode on `bench/#`: 100 messages a second for 60 s from a paced TCP
/// publisher (50 topics, JSON payloads of about 100 bytes). Frames throughout, and memory
/// every 10 s (after a forced collection), to show that a bounded stream stays flat.
async fn watch_stream(base: &str, broker: &Broker, report: &mut Report) {
    const PER_SEC: u32 = 100;
    const SECS: u64 = 60;
    const N: usize = PER_SEC as usize * SECS as usize;
    let label = "watch-stream";
    let browser = measuring_browser().await;
    let c = &browser.client;
    open_viewer(c, base, broker, "stream").await;
    js_args(c, WATCH_VIEWER, vec![json!(N), Value::Null, Value::Null]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The same page idle for 10 s first: what headless Chromium's frames look like here
    // with nothing arriving, to read the figures under load against.
    js(c, "window.__wv.start = performance.now()").await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let idle = js(
        c,
        "const b = window.__wv; b.stop = performance.now(); const idle = JSON.parse(JSON.stringify(b));
         Object.assign(b, { start: null, stop: null, maxFrame: 0, over50: 0, over100: 0, frames: 0,
             top: [], loaf: null, loafOver50: 0 });
         return idle;",
    )
    .await;
    let mut samples = vec![js(c, MEMORY_SAMPLE).await];
    js(c, "window.__wv.start = performance.now()").await;
    let tcp = broker.tcp_port;
    let publisher = tokio::task::spawn_blocking(move || {
        publish_paced(tcp, "bench-watch-stream", N, PER_SEC, |i| {
            (
                format!("bench/s/{}", i % 50),
                format!(
                    r#"{{"i":{i},"sensor":"s{}","value":{:.2},"unit":"°C","ok":true}}"#,
                    i % 50,
                    20.0 + (i % 97) as f64 / 10.0
                ),
            )
        })
    });
    let started = Instant::now();
    for k in 1..=SECS / 10 {
        let due = Duration::from_secs(10 * k);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        samples.push(js(c, MEMORY_SAMPLE).await);
    }
    let late = publisher.await.unwrap();
    eventually("all counted", 30, || async {
        js(c, "return window.__wv.done").await.as_f64()
    })
    .await;
    js(c, "window.__wv.stop = performance.now()").await;
    let b = js(c, "return window.__wv").await;
    let end = js(c, MEMORY_SAMPLE).await;
    let (first, mid, last) = (&samples[0], &samples[samples.len() / 2], &end);
    let at = |s: &Value, k: &str| s[k].clone();
    report.add(
        label,
        "100 msg/s for 60 s: counted / arrived / published (publisher late at most)",
        format!(
            "{} / {} / {N} ({:.0} ms)",
            end["counted"],
            end["arrivals"].as_f64().unwrap_or(f64::NAN)
                - samples[0]["arrivals"].as_f64().unwrap_or(f64::NAN),
            late.as_secs_f64() * 1000.0
        ),
        "all",
    );
    report.add(
        label,
        "longest frame (rAF) / over 50 ms / frames / longest animation frame (LoAF)",
        frames_words(&b),
        "longest < 50 ms",
    );
    report.add(
        label,
        "  the same page idle for 10 s before (baseline)",
        frames_words(&idle),
        "",
    );
    report.add(
        label,
        "JS heap after GC: start / middle (30 s) / end (60 s)",
        format!(
            "{} / {} / {}",
            mib(&at(first, "heap")),
            mib(&at(mid, "heap")),
            mib(&at(last, "heap"))
        ),
        "flat",
    );
    report.add(
        label,
        "Wasm memory: start / middle / end",
        format!(
            "{} / {} / {}",
            mib(&at(first, "wasm")),
            mib(&at(mid, "wasm")),
            mib(&at(last, "wasm"))
        ),
        "flat",
    );
    report.add(
        label,
        "DOM nodes / rows shown: start / middle / end; rate shown at 30 s",
        format!(
            "{}/{} / {}/{} / {}/{}; {} msg/s",
            first["nodes"],
            first["rows"],
            mid["nodes"],
            mid["rows"],
            last["nodes"],
            last["rows"],
            mid["rate"]
        ),
        "rows ≤ 500; rate ≈ 100",
    );
    samples.push(end);
    report.data(
        "watch_stream",
        json!({"frames": b, "idle": idle, "samples": samples, "late_ms": late.as_secs_f64() * 1000.0}),
    );
    browser.close().await;
}

#[tokio::main]
async fn main() {
    let mut report = Report::default();
    let only_load = std::env::var("MQTT_CHAT_BENCH_ONLY").is_ok_and(|o| o == "load");
    if !only_load {
        println!("bundle");
        bundle(&mut report);
        println!("codec");
        codec(&mut report);
    }
    let mut broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    // MQTT_CHAT_BENCH_ONLY=latency,burst (for instance) runs just those scenarios; `load`
    // (issue 12, minutes long) runs only when named.
    let only = std::env::var("MQTT_CHAT_BENCH_ONLY").unwrap_or_default();
    let run =
        |name: &str| (only.is_empty() && name != "load") || only.split(',').any(|o| o == name);
    if run("load") {
        println!("load");
        load(&base, &mut report).await;
    }
    if run("connect") {
        println!("time to connected");
        time_to_connected(c, &base, &broker, &mut report).await;
    }
    if run("latency") {
        println!("latency");
        latency(c, &base, &broker, &mut report).await;
    }
    if run("history") {
        println!("history");
        history(c, &base, &broker, &mut report).await;
    }
    if run("burst") {
        println!("bursts");
        burst(c, &base, &broker, 10_000, &mut report).await;
        burst(c, &base, &broker, 100_000, &mut report).await;
    }
    if run("reconnect") {
        println!("reconnect");
        reconnect(c, &base, &mut broker, &mut report).await;
    }
    // Each of these runs in a browser (profile) of its own.
    if run("rooms-switch") {
        println!("rooms-switch");
        rooms_switch(&base, &broker, &mut report).await;
    }
    if run("presence-connect") {
        println!("presence-connect");
        presence_connect(&base, &broker, &mut report).await;
    }
    if run("rooms-burst") {
        println!("rooms-burst");
        rooms_burst(&base, &broker, &mut report).await;
    }
    if run("viewer-chunk") {
        println!("viewer-chunk");
        viewer_chunk(&base, &broker, &mut report).await;
    }
    if run("mqtt5-chunk") {
        println!("mqtt5-chunk");
        mqtt5_chunk(&base, &broker, &mut report).await;
    }
    if run("panel-chunk") {
        println!("panel-chunk");
        panel_chunk(&base, &broker, &mut report).await;
    }
    if run("search") {
        println!("search");
        search(&base, &broker, &mut report).await;
    }
    if run("reactions") {
        println!("reactions");
        reactions_burst(&base, &broker, &mut report).await;
    }
    if run("flood") {
        println!("flood");
        flood(&base, &broker, &mut report).await;
    }
    if run("export") {
        println!("export");
        export_big(&base, &broker, &mut report).await;
    }
    if run("watch-latest") {
        println!("watch-latest");
        watch_latest(&base, &broker, &mut report).await;
    }
    if run("watch-stream") {
        println!("watch-stream");
        watch_stream(&base, &broker, &mut report).await;
    }
    if run("watch-tree") {
        println!("watch-tree");
        watch_tree(&base, &broker, &mut report).await;
    }
    if run("watch-charts") {
        println!("watch-charts");
        watch_charts(&base, &broker, &mut report).await;
    }
    browser.close().await;
    report.print();
    if let Ok(path) = std::env::var("MQTT_CHAT_BENCH_OUT") {
        let doc = Value::Object(report.json.clone());
        // target/ is not there when CARGO_TARGET_DIR puts the build elsewhere.
        if let Some(dir) = std::path::Path::new(&path).parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        println!("\nwrote {path}");
    }
}

// ----- issue 23: the topic tree and the charts -----

/// Scrolls `#tree-scroller` from top to bottom in `arguments[0]` frames, timing each frame.
const SCROLL_TREE: &str = "
    const done = arguments[arguments.length - 1];
    const steps = arguments[0];
    const el = document.getElementById('tree-scroller');
    const out = { maxFrame: 0, over50: 0, frames: 0, drawn: 0 };
    let i = 0, prev = null;
    const step = (t) => {
        if (prev !== null) { const d = t - prev; out.frames++; out.maxFrame = Math.max(out.maxFrame, d); if (d > 50) out.over50++; }
        prev = t;
        if (i++ >= steps) { out.drawn = document.querySelectorAll('#tree li').length; done(out); return; }
        el.scrollTop = (el.scrollHeight - el.clientHeight) * i / steps;
        requestAnimationFrame(step);
    };
    requestAnimationFrame(step);";

/// 10,000 topics into the tree mode (issue 23: "10,000 topics stay responsive: the rows are
/// drawn as they scroll into view, and the longest frame is ≤ 50 ms"): the frames while
/// they arrive, then while the tree is scrolled from top to bottom.
async fn watch_tree(base: &str, broker: &Broker, report: &mut Report) {
    const N: usize = 10_000;
    let label = "watch-tree";
    let browser = measuring_browser().await;
    let c = &browser.client;
    open_viewer(c, base, broker, "tree").await;
    js_args(c, WATCH_VIEWER, vec![json!(N), Value::Null, Value::Null]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    js(c, "window.__wv.start = performance.now()").await;
    let tcp = broker.tcp_port;
    tokio::task::spawn_blocking(move || {
        publish_all(
            tcp,
            "bench-watch-tree",
            (0..N).map(|i| {
                (
                    format!("bench/site{}/dev{}/t", i / 100, i % 100),
                    format!("{i}"),
                )
            }),
            false,
        )
    })
    .await
    .unwrap();
    let started = Instant::now();
    let mut b = Value::Null;
    while started.elapsed() < Duration::from_secs(120) {
        b = js(c, "return window.__wv").await;
        if !b["done"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A few frames more, for the last draw.
    tokio::time::sleep(Duration::from_millis(500)).await;
    js(c, "window.__wv.stop ??= performance.now()").await;
    let b2 = js(c, "return window.__wv").await;
    let marks = js(
        c,
        "const t = document.getElementById('tree');
         return { topics: t?.dataset.topics ?? null, evicted: t?.dataset.evicted ?? null,
                  drawn: document.querySelectorAll('#tree li').length }",
    )
    .await;
    report.add(
        label,
        "topics held (data-topics, evicted) / li in the page",
        format!(
            "{} ({}) / {}",
            marks["topics"].as_str().unwrap_or("?"),
            marks["evicted"].as_str().unwrap_or("?"),
            marks["drawn"]
        ),
        "10000 (0) / a few dozen",
    );
    report.add(
        label,
        "while 10,000 new topics arrive in one burst: longest frame / over 50 ms / frames / LoAF",
        frames_words(if b2.is_null() { &b } else { &b2 }),
        "",
    );
    // Steady updates into the full tree: 100 of its topics, 10 times a second, for 5 s.
    js_args(
        c,
        WATCH_VIEWER,
        vec![json!(u64::MAX), Value::Null, Value::Null],
    )
    .await;
    js(c, "window.__wv.start = performance.now()").await;
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        for tick in 0..50u64 {
            let due = Duration::from_millis(tick * 100);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
            publish_all(
                tcp,
                &format!("bench-tree-steady-{tick}"),
                (0..100).map(|t| (format!("bench/site{t}/dev0/t"), format!("{}", tick + t))),
                false,
            );
        }
    })
    .await
    .unwrap();
    js(c, "window.__wv.stop = performance.now()").await;
    let steady = js(c, "return window.__wv").await;
    report.add(
        label,
        "10,000 topics held, 100 of them updated 10 times a second for 5 s: longest frame / over 50 ms / frames / LoAF",
        frames_words(&steady),
        "≤ 50 ms",
    );
    let scroll = c
        .execute_async(SCROLL_TREE, vec![json!(120)])
        .await
        .unwrap_or(Value::Null);
    report.add(
        label,
        "scrolling 10,101 rows top to bottom in 120 frames: longest frame / over 50 ms / li at the end",
        format!(
            "{:.0} ms / {} / {}",
            scroll["maxFrame"].as_f64().unwrap_or(f64::NAN),
            scroll["over50"],
            scroll["drawn"]
        ),
        "≤ 50 ms",
    );
    browser.close().await;
}

/// 100 topics updating 10 times a second for 10 s, each with a sparkline (issue 23: "stay
/// at 60 fps. Measure it"): frames per second and the longest frame, in latest and in tree
/// mode.
async fn watch_charts(base: &str, broker: &Broker, report: &mut Report) {
    let label = "watch-charts";
    for mode in ["latest", "tree"] {
        let browser = measuring_browser().await;
        let c = &browser.client;
        open_viewer(c, base, broker, mode).await;
        js_args(
            c,
            WATCH_VIEWER,
            vec![json!(u64::MAX), Value::Null, Value::Null],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        js(c, "window.__wv.start = performance.now()").await;
        let tcp = broker.tcp_port;
        let sent = tokio::task::spawn_blocking(move || {
            let start = Instant::now();
            let mut sent = 0;
            for tick in 0..100u64 {
                let due = Duration::from_millis(tick * 100);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
                publish_all(
                    tcp,
                    &format!("bench-charts-{tick}"),
                    (0..100).map(|t| {
                        (
                            format!("bench/chart/{t}"),
                            format!("{}", 20 + (tick + t) % 7),
                        )
                    }),
                    false,
                );
                sent += 100;
            }
            sent
        })
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        js(c, "window.__wv.stop = performance.now()").await;
        let b = js(c, "return window.__wv").await;
        let secs =
            (b["stop"].as_f64().unwrap_or(0.0) - b["start"].as_f64().unwrap_or(0.0)) / 1000.0;
        let fps = b["frames"].as_f64().unwrap_or(f64::NAN) / secs;
        let sparks = js(c, "return document.querySelectorAll('button.spark').length").await;
        report.add(
            label,
            &format!("{mode}: 100 topics × 10/s for 10 s ({sent} sent): frames per second / sparklines shown"),
            format!("{fps:.1} / {sparks}"),
            "≈ 60",
        );
        report.add(
            label,
            &format!("{mode}: longest frame / over 50 ms / frames / LoAF"),
            frames_words(&b),
            "",
        );
        browser.close().await;
    }
}

// ----- issue 12: load -----

/// `MQTT_CHAT_LOAD_CLIENTS` (1,000) MQTT clients over TCP in 20 rooms, with presence,
/// publishing 200 messages a second in all for `MQTT_CHAT_LOAD_SECS` (60) s: against the
/// shipped Mosquitto, then against two Aedes nodes sharing Redis (clients spread over both).
/// Meanwhile two real tabs in room `load-00` (on different nodes of the cluster) measure
/// tab-to-tab latency. Not in the default run: `scripts/bench load`.
async fn load(base: &str, report: &mut Report) {
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let clients = number("MQTT_CHAT_LOAD_CLIENTS", 1_000) as usize;
    let secs = number("MQTT_CHAT_LOAD_SECS", 60);
    let plan = |ports: Vec<u16>, run: &str| e2e::load::Plan {
        clients,
        rooms: 20,
        rate: 200.0,
        duration: Duration::from_secs(secs),
        ports,
        run: run.to_owned(),
    };
    {
        let broker = Broker::from_config("mosquitto.conf", &[]);
        let pids = vec![broker.pid().expect("mosquitto runs")];
        let ws = broker.ws_url();
        load_on(
            base,
            "Mosquitto",
            plan(vec![broker.tcp_port], "m"),
            (&ws, &ws),
            &pids,
            report,
        )
        .await;
    }
    {
        let cluster = Cluster::start(2);
        let pids = cluster.pids();
        let (a, b) = (cluster.ws_url(0), cluster.ws_url(1));
        let ports = cluster.nodes.iter().map(|n| n.tcp_port).collect();
        load_on(
            base,
            "Aedes ×2 + Redis",
            plan(ports, "c"),
            (&a, &b),
            &pids,
            report,
        )
        .await;
    }
}

async fn load_on(
    base: &str,
    setup: &str,
    plan: e2e::load::Plan,
    (ws_a, ws_b): (&str, &str),
    pids: &[u32],
    report: &mut Report,
) {
    let scenario = "load";
    let browser = measuring_browser().await;
    let c = &browser.client;
    let room = e2e::load::room_name(0);
    c.visit(&format!("{base}/?bench&broker={ws_a}&room={room}"))
        .await
        .unwrap();
    let a = c.window().await.unwrap();
    wait_connected(c).await;
    js(c, "const n = document.getElementById('name'); n.value = 'bench'; n.dispatchEvent(new Event('input', { bubbles: true }));").await;
    let b = c.new_window(false).await.unwrap().handle;
    c.switch_to_window(b.clone()).await.unwrap();
    c.visit(&format!("{base}/?bench&broker={ws_b}&room={room}"))
        .await
        .unwrap();
    wait_connected(c).await;
    js(c, OBSERVE_ROWS).await;

    let usage = || {
        pids.iter()
            .filter_map(|p| e2e::load::proc_usage(*p))
            .fold((0.0, 0u64), |(cpu, rss), (c, r)| (cpu + c, rss + r))
    };
    let (go, sending) = tokio::sync::oneshot::channel();
    let duration = plan.duration;
    let clients = plan.clients;
    let started = Instant::now();
    let load = tokio::spawn(e2e::load::run(plan, go));
    let _ = sending.await;
    let (cpu0, _) = usage();
    let phase = Instant::now();
    // Probes from A to B while the load runs, and the brokers' memory each second.
    let mut peak_rss = 0u64;
    let mut last_sample = Instant::now() - Duration::from_secs(1);
    let mut latencies = Vec::new();
    let mut i = 0;
    while phase.elapsed() + Duration::from_secs(3) < duration {
        if last_sample.elapsed() >= Duration::from_secs(1) {
            peak_rss = peak_rss.max(usage().1);
            last_sample = Instant::now();
        }
        let text = format!("load probe {i}");
        i += 1;
        c.switch_to_window(a.clone()).await.unwrap();
        let clicked = js_args(c, CLICK_PUBLISH, vec![json!(text)]).await[0]
            .as_f64()
            .unwrap_or(f64::NAN);
        c.switch_to_window(b.clone()).await.unwrap();
        let seen = eventually("the probe in tab B", 20, || async {
            js_args(
                c,
                "return window.__seen[arguments[0]] ?? null",
                vec![json!(text)],
            )
            .await
            .as_f64()
        })
        .await;
        if i > 5 {
            latencies.push(seen - clicked);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (cpu1, rss1) = usage();
    let wall = phase.elapsed().as_secs_f64();
    peak_rss = peak_rss.max(rss1);
    let outcome = load.await.expect("the load run");
    let _ = started;
    let latencies = sorted(latencies);
    let label = |what: &str| format!("{setup}: {what}");
    report.add(
        scenario,
        &label(&format!(
            "{} clients connected, with presence, in",
            outcome.clients_up
        )),
        format!(
            "{:.2} s (of {clients})",
            outcome.all_connected.as_secs_f64()
        ),
        "",
    );
    report.add(
        scenario,
        &label("messages sent / deliveries owed / delivered"),
        format!(
            "{} / {} / {}",
            outcome.sent, outcome.expected, outcome.delivered
        ),
        "",
    );
    report.add(
        scenario,
        &label("deliveries lost / duplicated"),
        format!("{} / {}", outcome.lost(), outcome.duplicates),
        "0 lost",
    );
    report.add(
        scenario,
        &label(&format!(
            "tab to tab under load, p50 / p99 ({} runs)",
            latencies.len()
        )),
        p50_p99(&latencies),
        "",
    );
    report.add(
        scenario,
        &label("broker CPU while sending (one core = 100 %)"),
        format!("{:.0} %", (cpu1 - cpu0) / wall * 100.0),
        "",
    );
    report.add(
        scenario,
        &label("broker memory (RSS), peak"),
        format!("{:.1} MiB", peak_rss as f64 / (1024.0 * 1024.0)),
        "",
    );
    for e in &outcome.errors {
        println!("  load error: {e}");
    }
    report.data(
        &format!(
            "load_{}",
            if setup.starts_with("Mosq") {
                "mosquitto"
            } else {
                "cluster"
            }
        ),
        json!({
            "clients": clients, "up": outcome.clients_up,
            "connected_s": outcome.all_connected.as_secs_f64(),
            "sent": outcome.sent, "expected": outcome.expected, "delivered": outcome.delivered,
            "lost": outcome.lost(), "duplicates": outcome.duplicates,
            "latency_ms": latencies, "cpu_percent": (cpu1 - cpu0) / wall * 100.0,
            "peak_rss_bytes": peak_rss,
        }),
    );
    browser.close().await;
}
