//! Harness for the end-to-end tests and the benchmark: serves the trunk-built `dist/`, runs
//! Mosquitto instances the caller can crash and restart, starts chromedriver and Chromium
//! sessions, and reads the app's DOM contract (DEVELOPERS.md) from real tabs.
//!
//! Environment (scripts/test and scripts/bench set it): `MQTT_CHAT_DIST`, and for the shared
//! broker `MQTT_CHAT_BROKER_TCP_PORT`, `MQTT_CHAT_BROKER_WS_PORT`, `MQTT_CHAT_BROKER_LOG`.

pub mod cluster;
pub mod load;
pub mod wasm_size;

pub use cluster::Cluster;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set; run scripts/test"))
}

/// A port nothing listens on, for a broker or server a test starts.
///
/// Picked at random below the kernel's ephemeral range (bound once to check it is free),
/// never twice in one process: a port from `bind(:0)` comes from that range, where every
/// outgoing connection of every lane also takes its source port, and one was seen taken
/// between the pick and the broker's own bind ("Address already in use").
pub fn free_port() -> u16 {
    use std::collections::hash_map::RandomState;
    use std::hash::BuildHasher;
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (from, to) = if low > 12_000 {
        (10_000, low - 1)
    } else {
        (low, 65_000)
    };
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for attempt in 0u64..1000 {
        let random = RandomState::new().hash_one((attempt, std::process::id()));
        let port = from + (random % u64::from(to - from)) as u16;
        if given.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() && claim(port) {
            given.push(port);
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Claim `port` for this process's life among every test process of this machine: an
/// exclusive lock (`flock`) on `$TMPDIR/mqtt-chat-ports/<port>.lock`, held until the
/// process ends (the kernel lets go of it then, however the process ends). A port is picked free but
/// taken only later (a broker, an Aedes node that takes a second to listen), and another
/// lane's test picking the same port meanwhile fails to listen (seen: Aedes EADDRINUSE).
/// `scripts/broker.sh` skips claimed ports too. Without the directory, nothing to claim.
fn claim(port: u16) -> bool {
    static HELD: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());
    let dir = std::env::temp_dir().join("mqtt-chat-ports");
    let _ = std::fs::create_dir_all(&dir);
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!("{port}.lock")))
    else {
        return true;
    };
    let locked = file.try_lock().is_ok();
    if locked {
        HELD.lock().unwrap_or_else(|e| e.into_inner()).push(file);
    }
    locked
}

/// Serves `dir` over HTTP on a free port, in a background thread, for the test's life.
///
/// One request per connection (`Connection: close`), each connection on a thread of its
/// own: no connection a browser keeps open between pages can hold up another page's files.
/// (With a keep-alive server, a page now and then never finished loading, on an idle
/// machine: "Timed out receiving message from renderer" after 60 s.)
pub fn serve_dist(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("static server");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let dir = dir.clone();
            std::thread::spawn(move || serve_one(&dir, stream));
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// [`serve_dist`] that can be stopped and started again on the same port (the app's
/// offline start: its web server gone, then back).
pub struct StaticServer {
    pub base: String,
    dir: PathBuf,
    port: u16,
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl StaticServer {
    pub fn start(dir: PathBuf) -> StaticServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .unwrap()
            .port();
        let mut server = StaticServer {
            base: format!("http://127.0.0.1:{port}"),
            dir,
            port,
            stop: None,
        };
        server.resume();
        server
    }

    /// Serve again, on the same port.
    pub fn resume(&mut self) {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("the same port again");
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        self.stop = Some(stop.clone());
        let dir = self.dir.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let dir = dir.clone();
                std::thread::spawn(move || serve_one(&dir, stream));
            }
        });
    }

    /// Stop answering: the port is closed once this returns.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            // Wake the accept loop, which then drops the listener.
            let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
            for _ in 0..50 {
                if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            panic!("the static server on {} did not stop", self.port);
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Read one request from `stream`, answer it, close.
fn serve_one(dir: &Path, mut stream: std::net::TcpStream) {
    use std::io::{BufRead, BufReader, Write};
    // A socket opened ahead of need (a browser's preconnect) that never asks is let go.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(reader) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) if header.trim_end().is_empty() => break,
            Ok(_) => {}
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/");
    let (status, kind, body) = respond_from(dir, path);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// The status line's end, the content type and the body for `path`.
fn respond_from(dir: &Path, path: &str) -> (&'static str, &'static str, Vec<u8>) {
    let file = match path {
        "/" => dir.join("index.html"),
        // The MQTT.js peer page and the MQTT.js bundle (scripts/setup installs it).
        "/interop/mqttjs.html" => manifest_dir().join("interop/mqttjs.html"),
        // The page the benchmark compares the app with (issue 11).
        "/interop/mqttjs-chat.html" => manifest_dir().join("interop/mqttjs-chat.html"),
        "/interop/mqtt.min.js" => {
            manifest_dir().join("../../.tools/node_modules/mqtt/dist/mqtt.min.js")
        }
        // axe-core, for the accessibility test (scripts/setup installs it).
        "/interop/axe.min.js" => {
            manifest_dir().join("../../.tools/node_modules/axe-core/axe.min.js")
        }
        other if other.contains("..") => dir.join("missing"),
        other => dir.join(other.trim_start_matches('/')),
    };
    match std::fs::read(&file) {
        Ok(body) => {
            let kind = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript",
                Some("wasm") => "application/wasm",
                Some("css") => "text/css",
                Some("svg") => "image/svg+xml",
                Some("webmanifest") => "application/manifest+json",
                _ => "application/octet-stream",
            };
            ("200 OK", kind, body)
        }
        Err(_) => ("404 Not Found", "text/plain", b"not found".to_vec()),
    }
}

/// A chromedriver process and one browser session on it. Both end on drop, with every
/// Chromium process of the session's own profile (killing chromedriver alone leaves its
/// browser running when a test panics).
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    pub async fn start() -> Browser {
        Browser::start_with_args(&[]).await
    }

    /// Like `start`, with more Chromium command-line arguments (for example
    /// `--ignore-certificate-errors-spki-list=<hash>` from `TlsBroker::chromium_trust`).
    pub async fn start_with_args(extra: &[String]) -> Browser {
        let _turn = HeavyStep::take().await;
        let port = free_port();
        // Shared memory and the profile in memory when /dev/shm has room: both on disk
        // (`--disable-dev-shm-usage` puts shared memory in /tmp) made every renderer's
        // page faults wait on a disk that four lanes keep busy.
        let in_memory = shm_has_room();
        let base = if in_memory {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let profile = base.join(format!("mqtt-chat-e2e-{}-{port}", std::process::id()));
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (scripts/setup installs it)");
        let mut caps = Capabilities::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=900,640",
                    // A tab in the background keeps its renderer's priority and timers (as
                    // Puppeteer's defaults do): on two shared cores a backgrounded renderer
                    // was starved for a minute ("Timed out receiving message from
                    // renderer") while four lanes ran. `document.visibilityState` is still
                    // `hidden` there, which is what the app reads.
                    "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
                    "--disable-backgrounding-occluded-windows",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }),
        );
        if let Some(args) = caps
            .get_mut("goog:chromeOptions")
            .and_then(|o| o["args"].as_array_mut())
        {
            if !in_memory {
                // A small /dev/shm (Docker's 64 MB): shared memory in /tmp instead.
                args.push(json!("--disable-dev-shm-usage"));
            }
            args.extend(extra.iter().map(|a| json!(a)));
        }
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session: {e}"),
            }
        };
        // A page that does not load in 60 s fails its test then, not after chromedriver's
        // default of 300 s. (30 s was seen to run out for a new browser's first page while
        // four lanes and a Wasm build shared the two cores.)
        let _ = client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                None,
                Some(Duration::from_secs(60)),
                None,
            ))
            .await;
        Browser {
            client,
            driver,
            profile,
        }
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = Command::new("pkill")
            .arg("-KILL")
            .arg("-f")
            .arg("--")
            .arg(format!("user-data-dir={}", self.profile.display()))
            .status();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Navigation that says why it failed: a page that does not load in time (seen: "Timed out
/// receiving message from renderer" beside other lanes) panics with the machine's load
/// and its busiest processes, so a starved renderer can be told from a stuck page.
/// Only the tests use it, so the future's auto traits need no bounds.
#[allow(async_fn_in_trait)]
pub trait Visit {
    async fn visit(&self, url: &str) -> Result<(), String>;
}

impl Visit for Client {
    async fn visit(&self, url: &str) -> Result<(), String> {
        let _turn = HeavyStep::take().await;
        self.goto(url)
            .await
            .map_err(|e| format!("opening {url}: {e}\n{}", load_report()))
    }
}

/// One heavy step at a time on this machine, across every lane: a browser starting (about
/// a second of CPU) or a page loading (the Wasm compiled, the app started). Four lanes
/// starting browsers and loading pages at once drove the load to 7 on two cores, and a
/// page being opened then got no answer from its renderer for a minute. The turn is held
/// until dropped; after 2 minutes of waiting, the step goes ahead anyway.
pub struct HeavyStep(Option<std::fs::File>);

impl HeavyStep {
    pub async fn take() -> HeavyStep {
        let path = std::env::temp_dir().join("mqtt-chat-e2e-heavy-step.lock");
        let Ok(file) = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
        else {
            return HeavyStep(None);
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut pause = Pause::default();
        loop {
            match file.try_lock() {
                Ok(()) => return HeavyStep(Some(file)),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    pause.wait().await
                }
                Err(_) => return HeavyStep(None),
            }
        }
    }
}

impl Drop for HeavyStep {
    fn drop(&mut self) {
        if let Some(file) = &self.0 {
            let _ = file.unlock();
        }
    }
}

/// The load average and the five busiest processes, for a failure message.
pub fn load_report() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let top = Command::new("ps")
        .args(["-eo", "pcpu,rss,etimes,comm", "--sort=-pcpu"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .take(6)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    format!("load average: {}busiest:\n{top}", load)
}

/// /dev/shm is a memory file system with at least 2 GiB free (room for every lane's
/// browsers' shared memory and profiles).
fn shm_has_room() -> bool {
    Command::new("df")
        .args(["-k", "--output=avail,fstype", "/dev/shm"])
        .output()
        .ok()
        .and_then(|o| {
            let out = String::from_utf8_lossy(&o.stdout).into_owned();
            let line = out.lines().nth(1)?.to_owned();
            let mut fields = line.split_whitespace();
            let avail: u64 = fields.next()?.parse().ok()?;
            Some(avail >= 2 * 1024 * 1024 && fields.next() == Some("tmpfs"))
        })
        .unwrap_or(false)
}

/// The app's URL, pointed at the test broker.
pub fn app_url(base: &str) -> String {
    format!(
        "{base}/?broker=ws://127.0.0.1:{}",
        env("MQTT_CHAT_BROKER_WS_PORT")
    )
}

/// One row of `#messages` as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownRow {
    pub name: String,
    pub message: String,
    pub own: bool,
    pub delivery: Option<String>,
}

pub async fn rows(client: &Client) -> Vec<ShownRow> {
    row_marks(client)
        .await
        .into_iter()
        .map(|r| ShownRow {
            name: r.name,
            message: r.message,
            own: r.own,
            delivery: r.delivery,
        })
        .collect()
}

/// (text, data-state, data-client-id) of `#connect-badge`.
pub async fn badge(client: &Client) -> (String, String, String) {
    let v: Value = client
        .execute(
            "const b = document.getElementById('connect-badge');
             return b ? [b.textContent, b.dataset.state ?? '', b.dataset.clientId ?? ''] : ['', '', ''];",
            vec![],
        )
        .await
        .expect("read badge");
    let s = |i: usize| v[i].as_str().unwrap_or_default().to_owned();
    (s(0), s(1), s(2))
}

pub async fn data_total(client: &Client) -> String {
    client
        .execute(
            "return document.getElementById('messages')?.dataset.total ?? ''",
            vec![],
        )
        .await
        .expect("read data-total")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Poll `check` until it returns `Some`, or panic with `what` after `secs`.
pub async fn eventually<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut pause = Pause::default();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {secs} s waiting for {what}");
        }
        pause.wait().await;
    }
}

/// The pause between two looks at a page: 25 ms at first, half as long again after each
/// look, at most 250 ms. A condition that comes soon is seen soon; a long wait asks the
/// browser 4 times a second, not 40. (Four lanes polling every 25 ms kept both cores
/// busy with WebDriver round trips, and starved renderers past a minute.)
#[derive(Debug)]
pub struct Pause(Duration);

impl Default for Pause {
    fn default() -> Self {
        Pause(Duration::from_millis(25))
    }
}

impl Pause {
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 3 / 2).min(Duration::from_millis(250));
    }
}

/// An absence check: `d` in which something must NOT happen (a reconnect, a duplicate row,
/// a will, a second copy), to be checked by the caller afterwards. Not a way to wait for
/// something to happen: that is `eventually` on the condition itself. Call it only once the
/// trigger of what could happen has been seen (the tab connected, the row shown, the
/// refusal on the badge), so that the window covers the time it would take.
pub async fn quiet_for(d: Duration, why: &str) {
    let _ = why; // For the reader: what must not happen in the window.
    tokio::time::sleep(d).await;
}

/// A scenario's own timing: keep a state the test sets up (a broker down, a link idle) for
/// `d`, so that the test covers it lasting that long. Neither a wait for something to
/// happen nor an absence check.
pub async fn hold_for(d: Duration, why: &str) {
    let _ = why; // For the reader: what is held, and why for that long.
    tokio::time::sleep(d).await;
}

/// Wait (bounded) until the current tab has drawn two more frames (`requestAnimationFrame`
/// twice): a style or layout change made before is on screen, for a screenshot or a
/// measurement. The tab must be visible (a hidden tab draws no frames).
pub async fn next_frame(client: &Client) {
    client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            vec![],
        )
        .await
        .expect("wait for a frame");
}

/// Wait (bounded) until no page holds the Web Lock `mqtt-chat:<id>` (the one a tab keeps
/// for its client id while it lives): a closed tab's id is then free for the next tab. Asks
/// from a page of the app's origin: it opens `{base}/not-the-app` in the current tab.
pub async fn wait_lock_released(client: &Client, base: &str, id: &str, secs: u64) {
    client
        .visit(&format!("{base}/not-the-app"))
        .await
        .expect("open a page of the app's origin");
    let name = format!("mqtt-chat:{id}");
    eventually(&format!("the Web Lock {name} released"), secs, || async {
        let held = client
            .execute_async(
                "const [name, done] = arguments;
                 navigator.locks.query()
                     .then(s => done(s.held.some(l => l.name === name)))
                     .catch(e => done(String(e)));",
                vec![json!(name)],
            )
            .await
            .expect("query the Web Locks");
        assert!(held.is_boolean(), "navigator.locks.query(): {held}");
        (held == json!(false)).then_some(())
    })
    .await;
}

pub async fn wait_connected(client: &Client) -> String {
    // What the badge said last, for the words of a timeout.
    let last = std::sync::Mutex::new(String::new());
    let waited = tokio::time::timeout(
        Duration::from_secs(15),
        eventually("the badge to read connected", 20, || async {
            let (text, state, id) = badge(client).await;
            *last.lock().unwrap() = format!("{text:?} (data-state {state:?}, client id {id:?})");
            (text == "connected" && state == "connected" && !id.is_empty()).then_some(id)
        }),
    )
    .await;
    match waited {
        Ok(id) => id,
        Err(_) => panic!(
            "timed out after 15 s waiting for the badge to read connected; it read {}",
            last.lock().unwrap()
        ),
    }
}

/// Type a name and a message and press the publish button, as a user would.
pub async fn send(client: &Client, name: &str, message: &str) {
    let name_input = client.find(Locator::Id("name")).await.expect("#name");
    // Signed in, the name is the user name and the box is read-only.
    if name_input.attr("readonly").await.ok().flatten().is_none() {
        name_input.clear().await.expect("clear name");
        name_input.send_keys(name).await.expect("type name");
    }
    let textarea = client.find(Locator::Id("message")).await.expect("#message");
    textarea.send_keys(message).await.expect("type message");
    client
        .find(Locator::Id("publish"))
        .await
        .expect("#publish")
        .click()
        .await
        .expect("click publish");
}

/// Publish from the command line, as `mosquitto_pub` users do.
pub fn mosquitto_pub(topic: &str, payload: &str) {
    let status = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &env("MQTT_CHAT_BROKER_TCP_PORT")])
        .args(["-q", "1", "-t", topic, "-m", payload])
        .status()
        .expect("mosquitto_pub runs");
    assert!(status.success(), "mosquitto_pub failed");
}

pub fn dist() -> PathBuf {
    PathBuf::from(env("MQTT_CHAT_DIST"))
}

/// A copy of the release dist in a new temporary folder with the named Wasm chunks
/// (`split_<name>.wasm`, issue 21) taken out, as a server that lost them would answer. Gives
/// the folder to serve and a way to put each chunk back.
pub fn dist_without(chunks: &[&str]) -> (PathBuf, Vec<TakenChunk>) {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("make the copy's folder");
        for entry in std::fs::read_dir(from).expect("read the dist") {
            let entry = entry.expect("a dist entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("its type").is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy a dist file");
            }
        }
    }
    static COPIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("mqtt-chat-dist-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&dist(), &dir);
    let wasm_dir = std::fs::read_dir(&dir)
        .expect("read the copy")
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("wasm-"))
        .expect("the release dist has its wasm-<hash> folder")
        .path();
    let taken = chunks
        .iter()
        .map(|name| {
            let path = wasm_dir.join(format!("split_{name}.wasm"));
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("the release dist has {}: {e}", path.display()));
            std::fs::remove_file(&path).expect("take the chunk away");
            TakenChunk { path, bytes }
        })
        .collect();
    (dir, taken)
}

/// A chunk [`dist_without`] took out of its copy of the dist.
pub struct TakenChunk {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl TakenChunk {
    /// Puts it back: the server has it again.
    pub fn put_back(&self) {
        std::fs::write(&self.path, &self.bytes).expect("put the chunk back");
    }
}

pub(crate) fn manifest_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Where the guide's screenshots live (docs/).
pub fn docs_dir() -> PathBuf {
    manifest_dir().join("../../docs")
}

/// Save a screenshot under target/screenshots/. With `MQTT_CHAT_UPDATE_DOCS=1` it also
/// replaces the guide's copy in docs/; a plain test run never touches docs/.
pub fn save_screenshot(file: &str, png: &[u8]) {
    let dir = manifest_dir().join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), png).unwrap();
    if std::env::var("MQTT_CHAT_UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::create_dir_all(docs_dir()).unwrap();
        std::fs::write(docs_dir().join(file), png).unwrap();
    }
}

/// How often a broker log shows client `id` connecting ("New client connected from … as
/// <id> (…)", logged with `connection_messages true`).
pub fn connects(log: &str, id: &str) -> usize {
    let needle = format!(" as {id} (");
    log.lines()
        .filter(|l| l.contains("New client connected") && l.contains(&needle))
        .count()
}

/// A `mosquitto_sub` on `messages` that records every delivery it gets, one line each (the
/// payload), so a test can count deliveries on a broker rather than rows in a tab (the app
/// drops repeated ids, which would hide a loop).
pub struct Deliveries {
    child: Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    port: u16,
    probe: String,
}

impl Deliveries {
    /// Subscribe to the default room on the broker's TCP port; returns once the
    /// subscription is in place.
    pub async fn start(port: u16) -> Deliveries {
        Deliveries::start_on(port, &["messages"]).await
    }

    /// Publish `text` on this subscriber's own probe topic (not the chat's).
    pub fn probe(&self, text: &str) {
        let _ = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-t", &self.probe, "-m", text])
            .status();
    }

    /// Whether `probe(text)` has come back.
    pub fn saw_probe(&self, text: &str) -> bool {
        let line = format!("{} {text}", self.probe);
        self.lines.lock().unwrap().contains(&line)
    }

    /// Deliveries whose line (topic and payload) contains `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }
}

impl Drop for Deliveries {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Mosquitto of the test's own, from the project's mosquitto.conf on free ports, that the
/// test can kill and restart on the same ports (tabs keep their broker URL). Under
/// `MQTT_CHAT_E2E_BROKER=aedes`, a plain `Broker::start(&[])` is an Aedes node instead, with
/// a Redis of its own that keeps its sessions across a kill (see [`Broker::is_aedes`]).
pub struct Broker {
    pub dir: PathBuf,
    pub tcp_port: u16,
    pub ws_port: u16,
    child: Option<Child>,
    /// The Aedes node's Redis (port and process), when this broker is Aedes.
    redis: Option<(u16, Child)>,
}

/// Which broker the suite runs against: `MQTT_CHAT_E2E_BROKER=aedes` (scripts/test's Aedes
/// lane) or Mosquitto.
pub fn aedes_suite() -> bool {
    std::env::var("MQTT_CHAT_E2E_BROKER").is_ok_and(|v| v == "aedes")
}

/// In the Aedes suite, a test of something only Mosquitto has (MQTT 5, bridging) says so and
/// returns true: the caller then returns. It runs in the Mosquitto suite.
pub fn mosquitto_only(what: &str) -> bool {
    if aedes_suite() {
        eprintln!("not in the Aedes suite: {what} (Mosquitto only; run in the Mosquitto suite)");
    }
    aedes_suite()
}

impl Broker {
    /// Start from the project's `mosquitto.conf` with `replace` applied: (line prefix, new
    /// line) pairs. In the Aedes suite, with nothing to replace, an Aedes node.
    pub fn start(replace: &[(&str, &str)]) -> Broker {
        if aedes_suite() && replace.is_empty() {
            return Broker::aedes();
        }
        Broker::from_config("mosquitto.conf", replace)
    }

    /// An Aedes node (crates/e2e/cluster/node.mjs) on free ports, with a Redis of its own.
    pub fn aedes() -> Broker {
        let cluster_dir = std::env::temp_dir().join(format!(
            "mqtt-chat-aedes-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&cluster_dir).unwrap();
        let (redis_port, redis) = cluster::start_redis(&cluster_dir);
        let mut broker = Broker {
            dir: cluster_dir,
            tcp_port: free_port(),
            ws_port: free_port(),
            child: None,
            redis: Some((redis_port, redis)),
        };
        broker.restart();
        broker
    }

    /// This broker is an Aedes node (no MQTT 5, no Mosquitto log or config).
    pub fn is_aedes(&self) -> bool {
        self.redis.is_some()
    }

    /// Start from a config file at the project's top level (its listeners on 1883/1884 and
    /// 9001/9002 move to free ports).
    pub fn from_config(file: &str, replace: &[(&str, &str)]) -> Broker {
        let mut broker = Broker::configure(file, replace);
        broker.restart();
        broker
    }

    /// Write the config of `from_config` into a directory of the broker's own, without
    /// starting it (`restart` starts it).
    pub fn configure(file: &str, replace: &[(&str, &str)]) -> Broker {
        let dir = std::env::temp_dir().join(format!(
            "mqtt-chat-e2e-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        // Started as root, Mosquitto runs as the `mosquitto` user: it must be able to write
        // its database here.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let (tcp_port, ws_port) = (free_port(), free_port());
        let base = std::fs::read_to_string(manifest_dir().join("../..").join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut conf: Vec<String> = base
            .lines()
            .map(|line| {
                if line.starts_with("listener 1883 ") || line.starts_with("listener 1884 ") {
                    format!("listener {tcp_port} 127.0.0.1")
                } else if line.starts_with("listener 9001 ") || line.starts_with("listener 9002 ") {
                    format!("listener {ws_port} 127.0.0.1")
                } else if line.starts_with("persistence_location ") {
                    format!("persistence_location {}/", dir.display())
                } else if let Some((_, new)) = replace.iter().find(|(p, _)| line.starts_with(p)) {
                    new.to_string()
                } else {
                    line.to_owned()
                }
            })
            .collect();
        conf.push(String::new());
        std::fs::write(dir.join("mosquitto.conf"), conf.join("\n")).unwrap();
        Broker {
            dir,
            tcp_port,
            ws_port,
            child: None,
            redis: None,
        }
    }

    /// The config this broker runs with.
    pub fn conf_path(&self) -> PathBuf {
        self.dir.join("mosquitto.conf")
    }

    /// Replace, in the written config, every line starting with `prefix` by `new` (which may
    /// hold several lines); panics when no line starts with `prefix`. Takes effect on the
    /// next `restart`.
    pub fn edit_conf(&self, prefix: &str, new: &str) {
        let path = self.conf_path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.lines().any(|l| l.starts_with(prefix)),
            "no line of {} starts with {prefix:?}:\n{text}",
            path.display()
        );
        let edited: Vec<String> = text
            .lines()
            .map(|l| {
                if l.starts_with(prefix) {
                    new.to_owned()
                } else {
                    l.to_owned()
                }
            })
            .collect();
        std::fs::write(&path, edited.join("\n") + "\n").unwrap();
    }

    /// The Mosquitto process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The local addresses (`127.0.0.1:1234`, `[::1]:1234`, `*:1234`, `0.0.0.0:1234`) of
    /// every TCP socket this Mosquitto listens on, from `ss -ltnp`.
    pub fn listening(&self) -> Vec<String> {
        let pid = self.pid().expect("the broker runs");
        listening_sockets(pid)
    }

    /// (Re)start on the same ports and persistence directory; returns when it accepts.
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("mosquitto.log"))
            .unwrap();
        let child = match &self.redis {
            Some((redis_port, _)) => Command::new("node")
                .arg(manifest_dir().join("cluster/node.mjs"))
                .args(["--ws", &self.ws_port.to_string()])
                .args(["--tcp", &self.tcp_port.to_string()])
                .args(["--redis", &redis_port.to_string()])
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("node runs"),
            None => Command::new("mosquitto")
                .arg("-c")
                .arg(self.dir.join("mosquitto.conf"))
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("mosquitto runs"),
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        // An Aedes node opens its TCP listener first; Mosquitto's configs may have none.
        let tcp_too = self.is_aedes();
        while std::net::TcpStream::connect(("127.0.0.1", self.ws_port)).is_err()
            || (tcp_too && std::net::TcpStream::connect(("127.0.0.1", self.tcp_port)).is_err())
        {
            assert!(
                Instant::now() < deadline,
                "the broker did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGKILL: a crash, nothing is written out.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM: a clean stop, sessions and queues are saved.
    pub fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SIGTERM again every 2 s: Mosquitto 2.0 loses one that comes after its ports are
        // open but before its main loop starts (its handler's flag is then set to "run"
        // again). Seen: a test hung for good on a broker terminated right after start.
        for _ in 0..5 {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the broker did not stop on SIGTERM within 10 s (killed)");
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.ws_port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default()
    }

    /// When the persistence file was last written, if ever.
    pub fn saved_at(&self) -> Option<std::time::SystemTime> {
        std::fs::metadata(self.dir.join("mosquitto.db"))
            .and_then(|m| m.modified())
            .ok()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        if let Some((_, mut redis)) = self.redis.take() {
            let _ = redis.kill();
            let _ = redis.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Open the app on `broker` in the current tab.
pub async fn open_app(client: &Client, base: &str, broker: &str, extra_query: &str) {
    client
        .visit(&format!("{base}/?broker={broker}{extra_query}"))
        .await
        .expect("open the app");
}

/// Waits until exactly `n` own rows start with `prefix` and every one reads `delivered`.
pub async fn wait_own_delivered(client: &Client, prefix: &str, n: usize, secs: u64) {
    eventually(
        &format!("{n} own '{prefix}' rows delivered"),
        secs,
        || async {
            let rows = messages_with(client, prefix).await;
            (rows.len() == n
                && rows
                    .iter()
                    .all(|r| r.own && r.delivery.as_deref() == Some("delivered")))
            .then_some(())
        },
    )
    .await;
}

/// `data-broker` of the badge: the broker the tab is on or tries next.
pub async fn badge_broker(client: &Client) -> String {
    client
        .execute(
            "return document.getElementById('connect-badge')?.dataset.broker ?? ''",
            vec![],
        )
        .await
        .expect("read data-broker")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Messages shown whose text starts with `prefix`, in table order.
pub async fn messages_with(client: &Client, prefix: &str) -> Vec<ShownRow> {
    rows(client)
        .await
        .into_iter()
        .filter(|r| r.message.starts_with(prefix))
        .collect()
}

/// A JavaScript function `eachAppDb(store, read)`: for every IndexedDB database of the
/// app (`mqtt-chat`, or `mqtt-chat@<broker and user>`: everything kept is filed per broker
/// and user, and the tests' brokers are not the page's default one), open `store` and call
/// `read(objectStore)`, which returns a request; resolves to the list of their results
/// (`null` for a database without the store).
pub const APP_DBS_JS: &str = "const eachAppDb = (store, read) => indexedDB.databases().then(list => Promise.all(list.map(d => d.name).filter(n => n === 'mqtt-chat' || n.startsWith('mqtt-chat@')).map(name => new Promise(res => { const open = indexedDB.open(name); open.onerror = () => res(null); open.onsuccess = () => { const db = open.result; try { const r = read(db.transaction(store).objectStore(store)); r.onsuccess = () => { res(r.result); db.close(); }; r.onerror = () => { res(null); db.close(); }; } catch (e) { res(null); db.close(); } }; }))));";

/// The values of the page's sessionStorage or localStorage (`area`) key `base`, under any
/// scope (`base` or `base@<broker and user>`), as a JavaScript expression.
pub fn scoped_storage_js(area: &str, base: &str) -> String {
    format!(
        "Object.keys({area}).filter(k => k === '{base}' || k.startsWith('{base}@')).map(k => {area}.getItem(k)).join('')"
    )
}

/// How many unsent messages the page's IndexedDB outbox holds (all client ids).
pub async fn outbox_records(client: &Client) -> u64 {
    client
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1];
             {APP_DBS_JS}
             eachAppDb('outbox', s => s.count())
                 .then(counts => done(counts.reduce((a, c) => a + (c ?? 0), 0)));"
            ),
            vec![],
        )
        .await
        .expect("count the outbox")
        .as_u64()
        .unwrap_or(u64::MAX)
}

/// A Chrome DevTools command through chromedriver's `goog/cdp/execute`, for the current tab.
#[derive(Debug)]
pub struct Cdp {
    pub cmd: &'static str,
    pub params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

// ----- rooms, typing, a11y -----
// Helpers for tests/rooms.rs, tests/typing.rs and tests/a11y.rs, reading the DOM contract of
// issue 8: `ul#rooms` > `li[data-room]` (`button.open-room`, `span.unread`,
// `button.leave-room`), `form#join-room` (`#room-name`, `#join-room-button`, `#room-error`),
// `#typing`, `#presence`, and `document.title`.

/// One `#rooms li` as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomItem {
    /// `data-room`.
    pub name: String,
    /// The text of `button.open-room` (None: no such button).
    pub label: Option<String>,
    /// `aria-current` (None: absent).
    pub current: Option<String>,
    /// The text of `span.unread` (None: absent).
    pub unread: Option<String>,
    /// `aria-label` of `button.leave-room` (None: no leave button).
    pub leave: Option<String>,
}

impl RoomItem {
    /// The unread count: 0 when `.unread` is absent or holds no number, else the first number
    /// in its text.
    pub fn unread_count(&self) -> u64 {
        self.unread
            .as_deref()
            .and_then(|t| {
                let digits: String = t
                    .chars()
                    .skip_while(|c| !c.is_ascii_digit())
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse().ok()
            })
            .unwrap_or(0)
    }

    pub fn is_current(&self) -> bool {
        self.current.as_deref() == Some("true")
    }
}

/// Every `#rooms li`, in DOM order (empty when `#rooms` is absent).
pub async fn room_list(client: &Client) -> Vec<RoomItem> {
    let value = client
        .execute(
            "return Array.from(document.querySelectorAll('#rooms li')).map(li => ({
                name: li.getAttribute('data-room'),
                label: li.querySelector('button.open-room')?.textContent ?? null,
                current: li.getAttribute('aria-current'),
                unread: li.querySelector('.unread')?.textContent ?? null,
                leave: li.querySelector('button.leave-room')
                    ? (li.querySelector('button.leave-room').getAttribute('aria-label') ?? '')
                    : null,
            }))",
            vec![],
        )
        .await
        .expect("read #rooms");
    let text = |v: &Value| v.as_str().map(str::to_owned);
    value
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| RoomItem {
            name: r["name"].as_str().unwrap_or_default().to_owned(),
            label: text(&r["label"]),
            current: text(&r["current"]),
            unread: text(&r["unread"]),
            leave: text(&r["leave"]),
        })
        .collect()
}

/// The `data-room` of every `#rooms li`, in order.
pub async fn room_names(client: &Client) -> Vec<String> {
    room_list(client)
        .await
        .into_iter()
        .map(|r| r.name)
        .collect()
}

/// The `#rooms li` of room `name`, if there is one.
pub async fn room_item(client: &Client, name: &str) -> Option<RoomItem> {
    room_list(client).await.into_iter().find(|r| r.name == name)
}

/// Room `name`'s unread count (0 when `.unread` is absent), or None without its li.
pub async fn room_unread(client: &Client, name: &str) -> Option<u64> {
    room_item(client, name).await.map(|r| r.unread_count())
}

/// The rooms whose li has `aria-current="true"` (exactly one when the contract holds).
pub async fn current_rooms(client: &Client) -> Vec<String> {
    room_list(client)
        .await
        .into_iter()
        .filter(RoomItem::is_current)
        .map(|r| r.name)
        .collect()
}

/// A CSS selector for room `name`'s li (quotes and backslashes escaped).
pub fn room_selector(name: &str) -> String {
    let mut quoted = String::new();
    for ch in name.chars() {
        match ch {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(ch);
            }
            c if c.is_control() => quoted.push_str(&format!("\\{:x} ", c as u32)),
            c => quoted.push(c),
        }
    }
    format!("#rooms li[data-room=\"{quoted}\"]")
}

/// Wait (bounded) until room `name` has a li; returns it.
pub async fn wait_room(client: &Client, name: &str, secs: u64) -> RoomItem {
    eventually(&format!("li[data-room={name:?}] in #rooms"), secs, || {
        room_item(client, name)
    })
    .await
}

/// Wait (bounded) until room `name` is the open one (its li has `aria-current="true"`).
pub async fn wait_open(client: &Client, name: &str, secs: u64) {
    eventually(
        &format!("li[data-room={name:?}] to have aria-current=\"true\""),
        secs,
        || async { room_item(client, name).await.filter(RoomItem::is_current) },
    )
    .await;
}

/// Type `name` into `#room-name` (cleared first) and press `#join-room-button`, as a user
/// would. Returns at once; the caller checks the outcome.
pub async fn join_room(client: &Client, name: &str) {
    let input = client
        .find(Locator::Id("room-name"))
        .await
        .expect("#room-name (the join-room input)");
    input.clear().await.expect("clear #room-name");
    if !name.is_empty() {
        input.send_keys(name).await.expect("type a room name");
    }
    client
        .find(Locator::Id("join-room-button"))
        .await
        .expect("#join-room-button")
        .click()
        .await
        .expect("click #join-room-button");
}

/// Join room `name` and wait (bounded) until it is listed and open.
pub async fn join_and_open(client: &Client, name: &str) {
    join_room(client, name).await;
    wait_open(client, name, 10).await;
}

/// Click room `name`'s `button.open-room`.
pub async fn open_room(client: &Client, name: &str) {
    let selector = format!("{} button.open-room", room_selector(name));
    client
        .find(Locator::Css(&selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .expect("click button.open-room");
}

/// Click room `name`'s `button.leave-room`.
pub async fn leave_room(client: &Client, name: &str) {
    let selector = format!("{} button.leave-room", room_selector(name));
    client
        .find(Locator::Css(&selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .expect("click button.leave-room");
}

/// The trimmed text of the element with id `id`, or None when there is no such element.
pub async fn text_of(client: &Client, id: &str) -> Option<String> {
    client
        .execute(
            "const e = document.getElementById(arguments[0]); return e ? e.textContent : null",
            vec![json!(id)],
        )
        .await
        .expect("read an element's text")
        .as_str()
        .map(|t| t.trim().to_owned())
}

/// The text of `#room-error` (None: no such element).
pub async fn room_error(client: &Client) -> Option<String> {
    text_of(client, "room-error").await
}

/// The text of `#typing` (None: no such element; `Some("")` when nobody is typing).
pub async fn typing_text(client: &Client) -> Option<String> {
    text_of(client, "typing").await
}

/// The `value` of the input or textarea with id `id`.
pub async fn input_value(client: &Client, id: &str) -> String {
    client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .prop("value")
        .await
        .expect("read value")
        .unwrap_or_default()
}

/// Press `#publish`.
pub async fn press_publish(client: &Client) {
    client
        .find(Locator::Id("publish"))
        .await
        .expect("#publish")
        .click()
        .await
        .expect("click #publish");
}

/// `document.title`.
pub async fn title(client: &Client) -> String {
    client.title().await.expect("read document.title")
}

/// `document.visibilityState`.
pub async fn visibility(client: &Client) -> String {
    client
        .execute("return document.visibilityState", vec![])
        .await
        .expect("read visibilityState")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Hide the current tab for real: minimizing its window makes `document.visibilityState`
/// `hidden` in headless Chromium (checked). `set_window` shows it again.
pub async fn hide_tab(client: &Client) {
    client.minimize_window().await.expect("minimize the window");
    eventually("the tab to be hidden", 5, || async {
        (visibility(client).await == "hidden").then_some(())
    })
    .await;
}

/// Resize the current window so that the page's viewport is `width` x `height` CSS pixels
/// (headless Chromium's window has some height of its own: measured and made up for).
/// Returns the viewport's (innerWidth, innerHeight).
pub async fn set_window(client: &Client, width: u32, height: u32) -> (u64, u64) {
    let inner = || async {
        let v = client
            .execute("return [innerWidth, innerHeight]", vec![])
            .await
            .expect("read the viewport");
        (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0))
    };
    client
        .set_window_size(width, height)
        .await
        .expect("set the window size");
    let (w, h) = inner().await;
    let more_w = (width as u64).saturating_sub(w) as u32;
    let more_h = (height as u64).saturating_sub(h) as u32;
    if more_w > 0 || more_h > 0 {
        client
            .set_window_size(width + more_w, height + more_h)
            .await
            .expect("set the window size");
    }
    // A layout and a frame with the new size.
    next_frame(client).await;
    inner().await
}

/// Emulate `prefers-color-scheme: dark` (or light) in the current tab (CDP).
pub async fn emulate_dark(client: &Client, dark: bool) {
    let scheme = if dark { "dark" } else { "light" };
    client
        .issue_cmd(Cdp {
            cmd: "Emulation.setEmulatedMedia",
            params: json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        })
        .await
        .expect("CDP Emulation.setEmulatedMedia");
    let applied = client
        .execute(
            "return matchMedia('(prefers-color-scheme: dark)').matches",
            vec![],
        )
        .await
        .expect("read prefers-color-scheme");
    assert_eq!(applied, Value::Bool(dark), "prefers-color-scheme: {scheme}");
}

/// Load axe-core (served by `serve_dist` at /interop/axe.min.js) into the current page, if it
/// is not there yet.
pub async fn inject_axe(client: &Client) {
    let loaded = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             if (window.axe) { done('ok'); return; }
             const s = document.createElement('script');
             s.src = '/interop/axe.min.js';
             s.onload = () => done(window.axe ? 'ok' : 'loaded, but no window.axe');
             s.onerror = () => done('could not load /interop/axe.min.js (run scripts/setup)');
             document.head.appendChild(s);",
            vec![],
        )
        .await
        .expect("inject axe-core");
    assert_eq!(loaded, json!("ok"), "axe-core: {loaded}");
}

/// One axe-core violation: rule id, impact, help text and the CSS targets of its nodes.
#[derive(Debug, Clone)]
pub struct AxeViolation {
    pub id: String,
    pub impact: String,
    pub help: String,
    pub targets: Vec<String>,
}

impl std::fmt::Display for AxeViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] {}: {} on {}",
            self.impact,
            self.id,
            self.help,
            self.targets.join(", ")
        )
    }
}

/// Run `axe.run(document)` in the current page (axe-core injected first) and return its
/// violations, every impact.
/// axe-core finds nothing serious or critical on the page as it is; `what` names the moment.
pub async fn assert_no_serious_axe(client: &Client, what: &str) {
    let serious: Vec<String> = run_axe(client)
        .await
        .into_iter()
        .filter(|v| v.impact == "serious" || v.impact == "critical")
        .map(|v| v.to_string())
        .collect();
    assert!(serious.is_empty(), "axe-core, {what}: {serious:#?}");
}

pub async fn run_axe(client: &Client) -> Vec<AxeViolation> {
    inject_axe(client).await;
    let value = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
                .then(r => done({ ok: r.violations.map(v => ({
                    id: v.id,
                    impact: v.impact ?? 'none',
                    help: v.help,
                    targets: v.nodes.map(n => JSON.stringify(n.target)),
                })) }))
                .catch(e => done({ error: String(e) }));",
            vec![],
        )
        .await
        .expect("run axe-core");
    if let Some(error) = value.get("error") {
        panic!("axe.run failed: {error}");
    }
    value["ok"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|v| AxeViolation {
            id: v["id"].as_str().unwrap_or_default().to_owned(),
            impact: v["impact"].as_str().unwrap_or_default().to_owned(),
            help: v["help"].as_str().unwrap_or_default().to_owned(),
            targets: v["targets"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|t| t.as_str().unwrap_or_default().to_owned())
                .collect(),
        })
        .collect()
}

/// `mosquitto_pub` to the broker on TCP `port`: QoS `qos`, retained if `retain`.
pub fn mosquitto_pub_to(port: u16, topic: &str, payload: &str, qos: u8, retain: bool) {
    let mut cmd = Command::new("mosquitto_pub");
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-q", &qos.to_string(), "-t", topic, "-m", payload]);
    if retain {
        cmd.arg("-r");
    }
    let status = cmd.status().expect("mosquitto_pub runs");
    assert!(status.success(), "mosquitto_pub to {topic} failed");
}

/// Publish each line as a message on `topic`, in one `mosquitto_pub` (QoS 1, in order).
pub fn publish_lines(port: u16, topic: &str, lines: &[String]) {
    use std::io::Write;
    let mut child = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-q", "1", "-t", topic, "-l"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("mosquitto_pub runs");
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    assert!(child.wait().unwrap().success(), "mosquitto_pub failed");
}

/// A chat message as `mosquitto_pub` users write it.
pub fn chat_json(name: &str, message: &str) -> String {
    json!({ "name": name, "message": message }).to_string()
}

impl Deliveries {
    /// Like `start`, on any topic filters (`messages/#` sees every room). Lines are
    /// `<topic> <payload>`.
    pub async fn start_on(port: u16, filters: &[&str]) -> Deliveries {
        use std::io::BufRead;
        let probe = format!("e2e/probe/{}", free_port());
        let mut cmd = Command::new("mosquitto_sub");
        cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-v"]);
        for filter in filters {
            cmd.args(["-t", filter]);
        }
        let mut child = cmd
            .args(["-t", &probe])
            .stdout(Stdio::piped())
            .spawn()
            .expect("mosquitto_sub runs");
        let out = child.stdout.take().unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let subscriber = Deliveries {
            child,
            lines,
            port,
            probe,
        };
        eventually("mosquitto_sub to subscribe", 10, || async {
            subscriber.probe("up");
            tokio::time::sleep(Duration::from_millis(50)).await;
            subscriber.saw_probe("up").then_some(())
        })
        .await;
        subscriber
    }

    /// Every line received so far (`<topic> <payload>`).
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Deliveries on exactly `topic` whose payload contains `needle`.
    pub fn count_on(&self, topic: &str, needle: &str) -> usize {
        let prefix = format!("{topic} ");
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with(&prefix) && l[prefix.len()..].contains(needle))
            .count()
    }
}

/// Open a new tab, switch to it and return its handle.
pub async fn new_tab(client: &Client) -> fantoccini::wd::WindowHandle {
    let handle = client.new_window(true).await.expect("a new tab").handle;
    client
        .switch_to_window(handle.clone())
        .await
        .expect("switch to the new tab");
    handle
}

// ----- presence, catch-up -----

/// One `li` of `#presence` as another person sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownPerson {
    pub name: String,
    pub state: String,
    pub person: String,
}

/// The people `#presence` lists, in order (empty when there is no `#presence`).
pub async fn presence(client: &Client) -> Vec<ShownPerson> {
    let value = client
        .execute(
            "return Array.from(document.querySelectorAll('#presence li')).map(li => ({
                name: li.textContent.trim(),
                state: li.getAttribute('data-state') ?? '',
                person: li.getAttribute('data-person') ?? '',
            }))",
            vec![],
        )
        .await
        .expect("read #presence");
    value
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|p| ShownPerson {
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            state: p["state"].as_str().unwrap_or_default().to_owned(),
            person: p["person"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// Whether `#presence` lists `name` with `data-state` `state` (waits up to `secs`).
pub async fn wait_person(client: &Client, name: &str, state: &str, secs: u64) -> ShownPerson {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut pause = Pause::default();
    loop {
        let listed = presence(client).await;
        if let Some(p) = listed.iter().find(|p| p.name == name && p.state == state) {
            return p.clone();
        }
        if Instant::now() > deadline {
            panic!("timed out after {secs} s waiting for #presence to list {name:?} as {state}; it lists {listed:?}");
        }
        pause.wait().await;
    }
}

/// Clear `#name`, type `name` and leave the field with Tab, as a user would (the app
/// remembers the name on `change`).
pub async fn set_name(client: &Client, name: &str) {
    let input = client.find(Locator::Id("name")).await.expect("#name");
    input.clear().await.expect("clear name");
    input
        .send_keys(&format!("{name}\u{E004}"))
        .await
        .expect("type name and Tab");
}

/// A browser of its own (own profile: one person) with the app open on `broker`, connected,
/// and the name set. Returns the browser and the tab's client id.
pub async fn person(base: &str, broker: &str, name: &str) -> (Browser, String) {
    let browser = Browser::start().await;
    open_app(&browser.client, base, broker, "").await;
    let id = wait_connected(&browser.client).await;
    set_name(&browser.client, name).await;
    (browser, id)
}

/// From now on, `source` runs in each document this tab loads, before the page's own
/// scripts (CDP `Page.addScriptToEvaluateOnNewDocument`).
pub async fn before_each_document(client: &Client, source: &str) {
    client
        .issue_cmd(Cdp {
            cmd: "Page.addScriptToEvaluateOnNewDocument",
            params: json!({ "source": source }),
        })
        .await
        .expect("CDP Page.addScriptToEvaluateOnNewDocument");
}

/// The presence key of the tab whose client id is `client_id`, which names its status
/// topic `chat/presence/<key>`.
pub async fn presence_key(client: &Client, client_id: &str) -> String {
    client
        .execute(
            "return JSON.parse(localStorage.getItem('mqtt-chat.presence.' + arguments[0]) ?? 'null')",
            vec![json!(client_id)],
        )
        .await
        .expect("read the presence key")
        .as_str()
        .expect("the tab has a presence key")
        .to_owned()
}

/// Hostile peers, in bulk (`flood.rs`, and the bench's `flood`): `n` retained presence
/// statuses on `chat/presence/flood<i>`, each a different tab with HTML in a long name,
/// then `n` typing signals in the default room, each a different person.
pub fn hostile_flood(port: u16, n: usize) {
    let now = now_ms();
    let long = "x".repeat(300);
    publish_all(
        port,
        "presence-flooder",
        (0..n).map(|i| {
            (
                format!("chat/presence/flood{i}"),
                presence_status(
                    &format!("fp{i}"),
                    &format!("<b>flood {i}</b>{long}"),
                    true,
                    now,
                ),
            )
        }),
        true,
    );
    publish_all(
        port,
        "typing-flooder",
        (0..n).map(|i| {
            (
                "chat/typing/messages".to_owned(),
                json!({ "person": format!("tp{i}"), "name": format!("<i>typer {i}</i>"), "expires_in": 5000 })
                    .to_string(),
            )
        }),
        false,
    );
}

/// `mosquitto_pub` to the broker on `port`: the payload from stdin (any size), `-r` when
/// `retain`. An empty payload with `retain` clears the retained message.
pub fn publish_to(port: u16, topic: &str, payload: &str, qos: u8, retain: bool) {
    use std::io::Write;
    let mut cmd = Command::new("mosquitto_pub");
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-q", &qos.to_string(), "-t", topic]);
    if retain {
        cmd.arg("-r");
    }
    if payload.is_empty() {
        let status = cmd.arg("-n").status().expect("mosquitto_pub runs");
        assert!(status.success(), "mosquitto_pub -n failed");
        return;
    }
    let mut child = cmd
        .arg("-s")
        .stdin(Stdio::piped())
        .spawn()
        .expect("mosquitto_pub runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(payload.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "mosquitto_pub failed");
}

/// Milliseconds since the Unix epoch, as the app's `ts` and `at` fields.
pub fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

/// A presence status as a tab publishes it on `chat/presence/<tab key>` (design, topic
/// layout).
pub fn presence_status(person: &str, name: &str, online: bool, ts: f64) -> String {
    json!({ "person": person, "name": name, "rooms": ["messages"], "online": online, "ts": ts })
        .to_string()
}

/// Texts of the rows of `#messages` marked `catch-up`, in table order.
pub async fn catch_up_messages(client: &Client) -> Vec<String> {
    js_strings(
        client,
        "return Array.from(document.querySelectorAll('#messages tr.catch-up'))
            .map(r => r.querySelector('td.message')?.textContent ?? '')",
        "read catch-up rows",
    )
    .await
}

/// The list of strings `script` returns (`what`: for the panic message).
pub async fn js_strings(client: &Client, script: &str, what: &str) -> Vec<String> {
    client
        .execute(script, vec![])
        .await
        .expect(what)
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A `mosquitto_sub -v` on `topics` at the broker on `port` that records every line
/// (`topic payload`). Ends on drop.
pub struct Watch {
    child: Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Watch {
    /// Returns once the subscription is in place (the broker's SUBACK is in).
    pub async fn start(port: u16, topics: &[&str]) -> Watch {
        Watch::start_as(port, None, topics).await
    }

    /// Like `start`, signed in as `user` (name, password) when given.
    ///
    /// `mosquitto_sub -d` prints its packets (`Client <id> received SUBACK`, then
    /// `Subscribed (mid: 1): …`) among the messages; `stdbuf -oL` makes it write them as they
    /// come (piped, its stdout is otherwise block-buffered). Those lines are not messages:
    /// they mark the subscription in place and are left out of `lines`.
    pub async fn start_as(port: u16, user: Option<(&str, &str)>, topics: &[&str]) -> Watch {
        use std::io::BufRead;
        use std::sync::atomic::{AtomicUsize, Ordering};
        static WATCHES: AtomicUsize = AtomicUsize::new(0);
        let id = format!(
            "e2e-watch-{}-{}",
            std::process::id(),
            WATCHES.fetch_add(1, Ordering::Relaxed)
        );
        let mut cmd = Command::new("stdbuf");
        cmd.args(["-oL", "mosquitto_sub", "-d", "-i", &id]).args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-v",
        ]);
        if let Some((name, password)) = user {
            cmd.args(["-u", name, "-P", password]);
        }
        for t in topics {
            cmd.args(["-t", t]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("stdbuf and mosquitto_sub run");
        let out = child.stdout.take().unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let packets = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (sink, packet_sink) = (
            std::sync::Arc::clone(&lines),
            std::sync::Arc::clone(&packets),
        );
        let own = format!("Client {id} ");
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if line.starts_with(&own) || line.starts_with("Subscribed (mid: ") {
                    packet_sink.lock().unwrap().push(line);
                } else {
                    sink.lock().unwrap().push(line);
                }
            }
        });
        let subscribed = || {
            packets
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.starts_with("Subscribed (mid: "))
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while !subscribed() {
            assert!(
                Instant::now() < deadline,
                "mosquitto_sub on {topics:?} got no SUBACK in 15 s: {:?}",
                packets.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Watch { child, lines }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain MQTT 3.1.1 client over TCP to the broker on `tcp_port`, connected (CONNACK
/// read), with Nagle off.
pub fn mqtt_tcp_client(tcp_port: u16, client_id: &str) -> std::net::TcpStream {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buf = bytes::BytesMut::new();
    let mut connect = mqttbytes::v4::Connect::new(client_id);
    connect.keep_alive = 60;
    connect.write(&mut buf).unwrap();
    stream.write_all(&buf).unwrap();
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack).unwrap();
    stream
}

/// Publish every (topic, payload) at QoS 0 (retained if `retain`) as one stream of bytes
/// from client `client_id`, and return once the broker has taken them all (as
/// the benchmark's `publish_burst`).
pub fn publish_all(
    tcp_port: u16,
    client_id: &str,
    items: impl Iterator<Item = (String, String)>,
    retain: bool,
) -> Duration {
    use std::io::{Read, Write};
    let mut stream = mqtt_tcp_client(tcp_port, client_id);
    let mut buf = bytes::BytesMut::new();
    for (topic, payload) in items {
        let mut publish =
            mqttbytes::v4::Publish::new(topic, mqttbytes::QoS::AtMostOnce, payload.into_bytes());
        publish.retain = retain;
        publish.write(&mut buf).unwrap();
    }
    buf.extend_from_slice(&[0xC0, 0x00]); // PINGREQ
    let start = Instant::now();
    stream.write_all(&buf).unwrap();
    let mut pingresp = [0u8; 2];
    stream.read_exact(&mut pingresp).unwrap();
    let took = start.elapsed();
    buf.clear();
    mqttbytes::v4::Disconnect.write(&mut buf).unwrap();
    stream.write_all(&buf).unwrap();
    took
}

// ----- issue 9: secured brokers, TLS, the connection panel -----
// The DOM contract (design of issue 9, section 3; the panel folded at first, its body
// mounted into `div#settings-slot` when it first opens, issue 21): `details#settings` > form with
// `#broker-url`, `select#protocol` (`3.1.1`, `5`), `#username`, `#password`, `#remember`,
// `#connect`; `#settings-error`, `#client-id`, `ul#connections` > `li[data-connection]`
// (`button.use`, `button.delete`). Rows: `tr.verified[data-author]`, `tr.refused`,
// `tr.unconfirmed`.

/// The local addresses (`127.0.0.1:1234`, `[::1]:1234`, `*:1234`, `0.0.0.0:1234`) of every
/// TCP socket process `pid` listens on (`ss -Hltnp`; run as root, or as the process's user).
pub fn listening_sockets(pid: u32) -> Vec<String> {
    let out = Command::new("ss")
        .args(["-Hltnp"])
        .output()
        .expect("ss runs (iproute2)");
    assert!(out.status.success(), "ss -Hltnp failed");
    let needle = format!("pid={pid},");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&needle))
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_owned))
        .collect()
}

/// Whether a local address from `listening_sockets` is a loopback one.
pub fn is_loopback(addr: &str) -> bool {
    addr.starts_with("127.") || addr.starts_with("[::1]:") || addr.starts_with("[::ffff:127.")
}

/// The project's top directory.
pub fn project_dir() -> PathBuf {
    manifest_dir().join("../..")
}

/// Run `scripts/add-user name [--muted]` with `password`, on `passwd` and `acl`.
/// Returns (success, stdout + stderr).
pub fn add_user(
    passwd: &Path,
    acl: &Path,
    name: &str,
    password: &str,
    muted: bool,
) -> (bool, String) {
    let mut cmd = Command::new(project_dir().join("scripts/add-user"));
    cmd.arg(name)
        .env("MQTT_CHAT_PASSWORD", password)
        .env("MQTT_CHAT_PASSWD_FILE", passwd)
        .env("MQTT_CHAT_ACL_FILE", acl);
    if muted {
        cmd.arg("--muted");
    }
    let out = cmd.output().expect("scripts/add-user runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

impl Broker {
    /// The secured broker: the project's `mosquitto-secure.conf` on free ports, with a
    /// password file made by `scripts/add-user` holding `users` (name, password), and a copy
    /// of the shipped `mosquitto-acl.conf` to which `scripts/add-user --muted` adds a section
    /// for each of `muted` (they must be in `users`).
    pub fn secure(users: &[(&str, &str)], muted: &[&str]) -> Broker {
        let mut broker = Broker::configure("mosquitto-secure.conf", &[]);
        let passwd = broker.dir.join("mosquitto.passwd");
        let acl = broker.dir.join("mosquitto-acl.conf");
        std::fs::copy(project_dir().join("mosquitto-acl.conf"), &acl).expect("copy the ACL");
        for (name, password) in users {
            let (ok, out) = add_user(&passwd, &acl, name, password, muted.contains(name));
            assert!(ok, "scripts/add-user {name}: {out}");
        }
        broker.edit_conf(
            "password_file ",
            &format!("password_file {}", passwd.display()),
        );
        broker.edit_conf("acl_file ", &format!("acl_file {}", acl.display()));
        broker.restart();
        broker
    }
}

/// A Mosquitto from the project's `mosquitto.conf` whose websockets listener speaks TLS
/// (wss://), with a throwaway CA and server certificate for 127.0.0.1 made by
/// `scripts/make-certs`. Derefs to its `Broker`.
pub struct TlsBroker {
    pub broker: Broker,
    /// base64 SHA-256 of the server key's SubjectPublicKeyInfo.
    pub spki: String,
    /// Where ca.crt, server.crt and server.key are.
    pub certs: PathBuf,
}

impl TlsBroker {
    pub fn start() -> TlsBroker {
        let mut broker = Broker::configure("mosquitto.conf", &[]);
        let certs = broker.dir.join("certs");
        let out = Command::new(project_dir().join("scripts/make-certs"))
            .arg(&certs)
            .output()
            .expect("scripts/make-certs runs");
        assert!(
            out.status.success(),
            "scripts/make-certs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let spki = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_eq!(spki.len(), 44, "a base64 SHA-256: {spki:?}");
        broker.edit_conf(
            "socket_domain ",
            &format!(
                "socket_domain ipv4\ncertfile {}\nkeyfile {}",
                certs.join("server.crt").display(),
                certs.join("server.key").display()
            ),
        );
        broker.restart();
        TlsBroker {
            broker,
            spki,
            certs,
        }
    }

    pub fn wss_url(&self) -> String {
        format!("wss://127.0.0.1:{}", self.broker.ws_port)
    }

    /// The Chromium argument that trusts this broker's key, and nothing else (never
    /// `--ignore-certificate-errors`).
    pub fn chromium_trust(&self) -> String {
        format!("--ignore-certificate-errors-spki-list={}", self.spki)
    }
}

impl std::ops::Deref for TlsBroker {
    type Target = Broker;
    fn deref(&self) -> &Broker {
        &self.broker
    }
}

impl std::ops::DerefMut for TlsBroker {
    fn deref_mut(&mut self) -> &mut Broker {
        &mut self.broker
    }
}

/// `mosquitto_pub` at QoS 1 on the broker's TCP `port`, signed in as `user` (name,
/// password) or anonymous, under MQTT 5 when `v5` (else 3.1.1), with debug output. Returns
/// (exit success, stdout + stderr): under MQTT 5 a publish the ACL denies exits 0 and says
/// "Publish 1 failed: Not authorized".
pub fn pub_as(
    port: u16,
    user: Option<(&str, &str)>,
    v5: bool,
    topic: &str,
    payload: &str,
) -> (bool, String) {
    let mut cmd = Command::new("mosquitto_pub");
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-d"])
        .args(["-q", "1", "-t", topic, "-m", payload])
        .args(["-V", if v5 { "5" } else { "311" }]);
    if let Some((name, password)) = user {
        cmd.args(["-u", name, "-P", password]);
    }
    let out = cmd.output().expect("mosquitto_pub runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Open `details#settings` (folded by default; a closed `<details>` hides its fields from
/// WebDriver) once the app has mounted it (the page's load event comes before the Wasm has
/// drawn anything), and wait for its form: the panel's body is a chunk fetched when it
/// first opens.
pub async fn open_settings(client: &Client) {
    eventually("#settings open with its form", 30, || async {
        client
            .execute(
                "const s = document.getElementById('settings'); if (s) s.open = true; \
                 return !!document.getElementById('connection-form')",
                vec![],
            )
            .await
            .expect("open #settings")
            .as_bool()
            .filter(|&mounted| mounted)
    })
    .await;
}

/// Clear the input with id `id` and type `text` into it, as a user would.
pub async fn fill(client: &Client, id: &str, text: &str) {
    let input = client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    input
        .clear()
        .await
        .unwrap_or_else(|e| panic!("clear #{id}: {e}"));
    if !text.is_empty() {
        input
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into #{id}: {e}"));
    }
}

/// Fill the connection panel and press `#connect`, as a user would: `#broker-url` = `url`,
/// `#protocol` = `protocol` (`"3.1.1"` or `"5"`), `#username`, `#password`, `#remember`
/// ticked when `remember`. Does not wait: see `connect_with`.
pub async fn submit_panel(
    client: &Client,
    url: &str,
    protocol: &str,
    user: &str,
    pass: &str,
    remember: bool,
) {
    open_settings(client).await;
    fill(client, "broker-url", url).await;
    client
        .find(Locator::Id("protocol"))
        .await
        .expect("#protocol")
        .select_by_value(protocol)
        .await
        .unwrap_or_else(|e| panic!("select #protocol {protocol}: {e}"));
    fill(client, "username", user).await;
    fill(client, "password", pass).await;
    let remember_box = client
        .find(Locator::Id("remember"))
        .await
        .expect("#remember");
    let ticked = remember_box
        .prop("checked")
        .await
        .expect("read #remember")
        .as_deref()
        == Some("true");
    if ticked != remember {
        remember_box.click().await.expect("click #remember");
    }
    client
        .find(Locator::Id("connect"))
        .await
        .expect("#connect")
        .click()
        .await
        .expect("click #connect");
}

/// `submit_panel`, then wait (bounded) for the page to reload, as the app does on Connect
/// (at `?broker=..&protocol=..&username=..`). Panics with `#settings-error` when the page
/// did not reload.
pub async fn connect_with(
    client: &Client,
    url: &str,
    protocol: &str,
    user: &str,
    pass: &str,
    remember: bool,
) {
    client
        .execute("window.__e2eBeforeConnect = true", vec![])
        .await
        .expect("mark the page");
    submit_panel(client, url, protocol, user, pass, remember).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reloaded = client
            .execute(
                "return window.__e2eBeforeConnect === undefined
                    && document.readyState === 'complete'
                    && !!document.getElementById('connect-badge')",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if reloaded {
            return;
        }
        if Instant::now() > deadline {
            let error = text_of(client, "settings-error").await;
            panic!("#connect did not reload the page in 20 s; #settings-error: {error:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The texts of `#connections li[data-connection]`, in order.
pub async fn saved_connections(client: &Client) -> Vec<String> {
    open_settings(client).await;
    js_strings(
        client,
        "return Array.from(document.querySelectorAll('#connections li[data-connection]'))
            .map(li => li.textContent.trim())",
        "read #connections",
    )
    .await
}

/// Click `button.<button>` (`use` or `delete`) of the first saved connection whose text
/// contains `containing`.
pub async fn click_connection(client: &Client, containing: &str, button: &str) {
    open_settings(client).await;
    let clicked = client
        .execute(
            "const li = Array.from(document.querySelectorAll('#connections li[data-connection]'))
                 .find(li => li.textContent.includes(arguments[0]));
             const b = li && li.querySelector('button.' + arguments[1]);
             if (b) { b.scrollIntoView(); }
             return !!b;",
            vec![json!(containing), json!(button)],
        )
        .await
        .expect("find a saved connection");
    assert_eq!(
        clicked,
        json!(true),
        "no saved connection holding {containing:?} with a button.{button}: {:?}",
        saved_connections(client).await
    );
    // Find it again as a WebDriver element, so the click is a real one.
    let buttons = client
        .find_all(Locator::Css(&format!(
            "#connections li[data-connection] button.{button}"
        )))
        .await
        .expect("the buttons");
    for b in buttons {
        let li_text: Value = client
            .execute(
                "return arguments[0].closest('li').textContent",
                vec![serde_json::to_value(&b).expect("element as JSON")],
            )
            .await
            .expect("read the li");
        if li_text.as_str().unwrap_or_default().contains(containing) {
            b.click().await.expect("click the button");
            return;
        }
    }
    panic!("button.{button} of {containing:?} vanished");
}

/// The text of `#client-id`, in the connection panel (opened for it).
pub async fn client_id_shown(client: &Client) -> String {
    open_settings(client).await;
    text_of(client, "client-id").await.unwrap_or_default()
}

/// The text of `#notices` (empty when absent).
pub async fn notices_text(client: &Client) -> String {
    text_of(client, "notices").await.unwrap_or_default()
}

/// Every localStorage and sessionStorage key and value of the page, as one string.
pub async fn web_storage_dump(client: &Client) -> String {
    client
        .execute(
            "const dump = s => Array.from({ length: s.length }, (_, i) => s.key(i))
                 .map(k => k + '=' + s.getItem(k)).join('\\n');
             return 'localStorage:\\n' + dump(localStorage)
                 + '\\nsessionStorage:\\n' + dump(sessionStorage);",
            vec![],
        )
        .await
        .expect("read web storage")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Only the localStorage part of `web_storage_dump` (what outlives the tab).
pub async fn local_storage_dump(client: &Client) -> String {
    client
        .execute(
            "return Array.from({ length: localStorage.length }, (_, i) => localStorage.key(i))
                 .map(k => k + '=' + localStorage.getItem(k)).join('\\n');",
            vec![],
        )
        .await
        .expect("read localStorage")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Wait (bounded) until `#connect-badge` has `data-state` `state`; returns (text, state,
/// client id).
pub async fn wait_badge_state(client: &Client, state: &str, secs: u64) -> (String, String, String) {
    eventually(
        &format!("#connect-badge data-state={state}"),
        secs,
        || async {
            let b = badge(client).await;
            (b.1 == state).then_some(b)
        },
    )
    .await
}

/// One row of `#messages` with the marks of issue 9.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowMarks {
    pub name: String,
    pub message: String,
    pub own: bool,
    /// `tr.verified`.
    pub verified: bool,
    /// `data-author` (None: absent).
    pub author: Option<String>,
    /// `tr.refused` (a v5 PUBACK refused it).
    pub refused: bool,
    /// `tr.unconfirmed` (3.1.1: acknowledged, never seen back).
    pub unconfirmed: bool,
    /// `tr.skipped` (an incoming message over the app's limit).
    pub skipped: bool,
    /// The whole row's text (its state words included).
    pub text: String,
    /// `data-delivery` of an own row's state (`queued`, `sent`, `delivered`, `refused`, …).
    pub delivery: Option<String>,
}

pub async fn row_marks(client: &Client) -> Vec<RowMarks> {
    let value = client
        .execute(
            "return Array.from(document.querySelectorAll('#messages tr')).map(r => ({
                name: r.querySelector('td.name')?.textContent ?? '',
                message: r.querySelector('td.message')?.textContent ?? '',
                own: r.classList.contains('own'),
                verified: r.classList.contains('verified'),
                author: r.getAttribute('data-author'),
                refused: r.classList.contains('refused'),
                unconfirmed: r.classList.contains('unconfirmed'),
                skipped: r.classList.contains('skipped'),
                text: r.textContent,
                delivery: r.querySelector('[data-delivery]')?.getAttribute('data-delivery') ?? null,
            }))",
            vec![],
        )
        .await
        .expect("read rows");
    value
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|r| RowMarks {
            name: r["name"].as_str().unwrap_or_default().to_owned(),
            message: r["message"].as_str().unwrap_or_default().to_owned(),
            own: r["own"].as_bool().unwrap_or(false),
            verified: r["verified"].as_bool().unwrap_or(false),
            author: r["author"].as_str().map(str::to_owned),
            refused: r["refused"].as_bool().unwrap_or(false),
            unconfirmed: r["unconfirmed"].as_bool().unwrap_or(false),
            skipped: r["skipped"].as_bool().unwrap_or(false),
            text: r["text"].as_str().unwrap_or_default().to_owned(),
            delivery: r["delivery"].as_str().map(str::to_owned),
        })
        .collect()
}

/// Wait (bounded) for the row whose message is `message`; returns it.
pub async fn wait_row(client: &Client, message: &str, secs: u64) -> RowMarks {
    eventually(&format!("a row with message {message:?}"), secs, || async {
        row_marks(client)
            .await
            .into_iter()
            .find(|r| r.message == message)
    })
    .await
}

/// The row whose message is `message`, if shown now.
pub async fn row_with(client: &Client, message: &str) -> Option<RowMarks> {
    row_marks(client)
        .await
        .into_iter()
        .find(|r| r.message == message)
}

/// Type `message` into `#message` and press `#publish`, leaving `#name` as it is (a signed-in
/// tab locks it to the user name).
pub async fn send_message(client: &Client, message: &str) {
    client
        .find(Locator::Id("message"))
        .await
        .expect("#message")
        .send_keys(message)
        .await
        .expect("type message");
    press_publish(client).await;
}

/// A URL of a broker nobody listens on: a page opened there makes no connection a test's
/// broker would log.
pub fn nowhere_url() -> String {
    format!("ws://127.0.0.1:{}", free_port())
}

/// Lines of a Mosquitto log where client `id` connected ("New client connected from ... as
/// <id> (p5, c0, k60, u'alice')": Mosquitto writes `p5` for MQTT 5, `p2` for 3.1.1).
pub fn connect_lines(log: &str, id: &str) -> Vec<String> {
    let needle = format!(" as {id} (");
    log.lines()
        .filter(|l| l.contains("New client connected") && l.contains(&needle))
        .map(str::to_owned)
        .collect()
}

/// How many connections (TCP accepts) the log shows on `port`. Not for a websockets
/// listener: Mosquitto 2.0 logs no "New connection from … on port …" line for those (see
/// `connection_attempts`).
pub fn connections_on_port(log: &str, port: u16) -> usize {
    log.matches(&format!("on port {port}.")).count()
}

/// How many connections a Mosquitto log shows the broker refusing at CONNECT. It names a
/// refused client `<unknown>` when the connection ends: "Client <unknown> closed its
/// connection." when the client hangs up on the refusal (as a tab does, over websockets),
/// "Client <unknown> disconnected, not authorised." when the broker does.
pub fn refused_connections(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("Client <unknown> "))
        .count()
}

/// Every connection attempt a Mosquitto log shows reaching CONNECT, on any listener:
/// accepted ("New client connected from …") or refused (`refused_connections`).
pub fn connection_attempts(log: &str) -> usize {
    log.matches("New client connected from ").count() + refused_connections(log)
}
