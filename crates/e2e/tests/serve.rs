//! README command 1 for real: `scripts/serve` (Mosquitto + `trunk serve`) on free ports, a
//! real tab on the URL it prints, and 30 s of Mosquitto autosaves during which the page must
//! not reload (trunk once watched the broker's database and live-reloaded every tab).
//! And stopping it is clean (issue 20): SIGTERM to its pid, Ctrl-C (SIGINT to its process
//! group) and SIGHUP each stop trunk, the broker and all they started within a few seconds,
//! and a trunk that exits by itself takes the broker with it.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use e2e::*;
use fantoccini::Locator;

/// `scripts/serve` in its own process group; the whole group ends on drop (also on panic),
/// and so does anything else it started that is still alive (`marked`).
struct Serve {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    rx: mpsc::Receiver<String>,
    state_dir: Option<String>,
}

impl Serve {
    fn start(envs: &[(&str, String)]) -> Serve {
        Serve::start_with(&[], envs)
    }

    /// With `args` after `scripts/serve` (they go to trunk).
    fn start_with(args: &[&str], envs: &[(&str, String)]) -> Serve {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/serve");
        // At the lowest CPU priority: its trunk builds the Wasm (both cores, a minute) while
        // the other lanes' browsers run, and a renderer starved for 30 s fails its test
        // (seen: "Timed out receiving message from renderer" opening the app). `nice` execs
        // bash, so the pid is the script's own.
        let mut cmd = Command::new("nice");
        cmd.args(["-n", "19", "bash"])
            .arg(script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        // Ctrl-C in a terminal finds SIGINT at its default, and a closing terminal finds
        // SIGHUP at its default. A test run started in the background (a CI job, `cmd &` in
        // a script) may have SIGINT and SIGQUIT ignored, one started under `nohup` SIGHUP,
        // and bash can neither trap nor reset a signal ignored on entry: the script would be
        // deaf to the signal this test sends. Seen: a `.ci/run` started with setsid, and one
        // under nohup (SIGHUP unanswered for 10 s).
        // SAFETY: signal(2) is async-signal-safe, and nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                for signal in [libc::SIGINT, libc::SIGQUIT, libc::SIGHUP, libc::SIGTERM] {
                    libc::signal(signal, libc::SIG_DFL);
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("scripts/serve runs");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        // Keep draining both pipes for the whole run, so trunk never blocks on a full pipe.
        let out: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().unwrap());
        let err: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().unwrap());
        for pipe in [out, err] {
            let (tx, lines) = (tx.clone(), Arc::clone(&lines));
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        let state_dir = envs
            .iter()
            .find(|(k, _)| *k == "MQTT_CHAT_STATE_DIR")
            .map(|(_, v)| v.clone());
        Serve {
            child,
            lines,
            rx,
            state_dir,
        }
    }

    /// Everything scripts/serve (and trunk, and setup) printed so far.
    fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// The URL from the `Chat ready: <url>` line.
    fn wait_ready(&self, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("Chat ready: ").nth(1) {
                        return rest
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned();
                    }
                }
                Err(_) => panic!(
                    "scripts/serve printed no 'Chat ready: <url>' within {secs} s:\n{}",
                    self.output()
                ),
            }
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever is left of the group (trunk's cargo, the broker) goes too, and so does
        // anything it started outside the group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
        if let Some(dir) = &self.state_dir {
            for (pid, _) in marked(dir) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
}

/// Live processes (zombies aside: PID 1 here may never reap orphans) that scripts/serve
/// started with state dir `dir`: all of them inherit `MQTT_CHAT_STATE_DIR=dir`, and the
/// broker's command line names its config in `dir`. Pid and command line of each.
fn marked(dir: &str) -> Vec<(u32, String)> {
    let in_env = format!("MQTT_CHAT_STATE_DIR={dir}\0");
    let in_cmd = format!("{dir}/");
    let has =
        |bytes: &[u8], needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let proc_dir = entry.path();
        let stat = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        if matches!(state, None | Some('Z')) {
            continue;
        }
        let cmdline = std::fs::read(proc_dir.join("cmdline")).unwrap_or_default();
        let environ = std::fs::read(proc_dir.join("environ")).unwrap_or_default();
        if has(&environ, &in_env) || has(&cmdline, &in_cmd) {
            let shown = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            found.push((pid, shown.trim().to_owned()));
        }
    }
    found
}

/// Whether anything accepts TCP connections on `port` (127.0.0.1, or any address `ss` lists).
fn listening(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
        return true;
    }
    let out = Command::new("ss")
        .args(["-Hltn"])
        .output()
        .expect("ss runs (iproute2)");
    let suffix = format!(":{port}");
    String::from_utf8_lossy(&out.stdout).lines().any(|l| {
        l.split_whitespace()
            .nth(3)
            .is_some_and(|local| local.ends_with(&suffix))
    })
}

/// Free ports and a state dir of their own for one scripts/serve.
struct Setup {
    state: PathBuf,
    ports: [u16; 3],
}

impl Setup {
    fn new() -> Setup {
        Setup {
            state: std::env::temp_dir().join(format!("mqtt-chat-serve-{}", free_port())),
            ports: [free_port(), free_port(), free_port()],
        }
    }

    fn dir(&self) -> String {
        self.state.display().to_string()
    }

    fn envs(&self) -> Vec<(&'static str, String)> {
        let [http, ws, tcp] = self.ports;
        vec![
            ("MQTT_CHAT_HTTP_PORT", http.to_string()),
            ("MQTT_CHAT_WS_PORT", ws.to_string()),
            ("MQTT_CHAT_TCP_PORT", tcp.to_string()),
            ("MQTT_CHAT_STATE_DIR", self.dir()),
        ]
    }

    /// Polls (up to `secs`) until scripts/serve has exited, no port of its accepts
    /// connections and nothing it started is alive; panics saying what is left otherwise.
    /// The script's exit status.
    fn wait_all_stopped(&self, serve: &mut Serve, secs: u64, what: &str) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut status = None;
        loop {
            if status.is_none() {
                status = serve.child.try_wait().expect("try_wait");
            }
            let open: Vec<u16> = self.ports.into_iter().filter(|&p| listening(p)).collect();
            let alive = marked(&self.dir());
            if let (Some(status), true, true) = (status, open.is_empty(), alive.is_empty()) {
                return status;
            }
            if Instant::now() > deadline {
                panic!(
                    "{secs} s after {what}: scripts/serve {}; ports still accepting {open:?} (of \
                     http, ws, tcp {:?}); still running: {alive:#?}\nscripts/serve said:\n{}",
                    match status {
                        Some(s) => format!("exited ({s})"),
                        None => "is still running".to_owned(),
                    },
                    self.ports,
                    serve.output()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

/// scripts/serve up and serving, then `signal` sent as `to` says; everything must stop.
fn stops_cleanly_on(signal: &str, to_group: bool, want_code: i32) {
    let setup = Setup::new();
    let mut serve = Serve::start(&setup.envs());
    // The first run in a fresh clone builds the debug Wasm: allow for a cold build.
    serve.wait_ready(900);
    // The checks below would pass on nothing at all: first see everything there is.
    for port in setup.ports {
        assert!(listening(port), "port {port} is served before the stop");
    }
    let running = marked(&setup.dir());
    for name in ["trunk", "mosquitto"] {
        assert!(
            running.iter().any(|(_, cmd)| cmd
                .split_whitespace()
                .next()
                .is_some_and(|bin| bin.ends_with(name))),
            "a {name} process with the state dir in its environment or command line: {running:#?}"
        );
    }

    // A retained message just before the stop: only a broker that writes its state out as
    // it stops (SIGTERM, or Ctrl-C's SIGINT; not SIGKILL) has it in its database after.
    let marker = format!("retained before kill -{signal} {}", free_port());
    mosquitto_pub_to(setup.ports[2], "serve-test/stop", &marker, 1, true);

    let target = if to_group {
        format!("-{}", serve.child.id())
    } else {
        serve.child.id().to_string()
    };
    let what = format!("kill -{signal} -- {target}");
    let sent = Instant::now();
    let ok = Command::new("kill")
        .args([&format!("-{signal}"), "--", &target])
        .status()
        .expect("kill runs");
    assert!(ok.success(), "{what}");
    let status = setup.wait_all_stopped(&mut serve, 10, &what);
    eprintln!(
        "{what}: all stopped in {:?} ({status}); was running: {running:#?}",
        sent.elapsed()
    );
    assert_eq!(
        status.code(),
        Some(want_code),
        "scripts/serve's exit status"
    );
    let db = std::fs::read(setup.state.join("mosquitto/mosquitto.db")).unwrap_or_default();
    assert!(
        db.windows(marker.len()).any(|w| w == marker.as_bytes()),
        "the broker wrote its state out as it stopped: {marker:?} is not in its database"
    );
}

#[test]
fn sigterm_to_scripts_serve_stops_trunk_the_broker_and_all_they_started() {
    stops_cleanly_on("TERM", false, 143);
}

#[test]
fn ctrl_c_on_scripts_serve_stops_trunk_the_broker_and_all_they_started() {
    stops_cleanly_on("INT", true, 130);
}

#[test]
fn sighup_to_scripts_serve_stops_trunk_the_broker_and_all_they_started() {
    stops_cleanly_on("HUP", false, 129);
}

#[test]
fn trunk_exiting_by_itself_stops_the_broker_and_scripts_serve_exits_with_its_status() {
    let setup = Setup::new();
    // An argument trunk refuses: it exits at once (status 2), after the broker is up.
    let mut serve = Serve::start_with(&["--no-such-trunk-option"], &setup.envs());
    let status = setup.wait_all_stopped(&mut serve, 300, "starting with a bad trunk argument");
    let said = serve.output();
    assert!(
        said.contains("Broker up"),
        "the broker had started:\n{said}"
    );
    assert!(
        said.contains("--no-such-trunk-option"),
        "trunk got the argument and said so:\n{said}"
    );
    assert_eq!(status.code(), Some(2), "trunk's status:\n{said}");
}

fn db_mtime(db: &Path) -> Option<SystemTime> {
    std::fs::metadata(db).and_then(|m| m.modified()).ok()
}

#[tokio::test]
async fn scripts_serve_serves_the_app_and_broker_autosaves_never_reload_the_page() {
    let state: PathBuf = std::env::temp_dir().join(format!("mqtt-chat-serve-{}", free_port()));
    let (http, ws, tcp) = (free_port(), free_port(), free_port());
    let started = Instant::now();
    let serve = Serve::start(&[
        ("MQTT_CHAT_HTTP_PORT", http.to_string()),
        ("MQTT_CHAT_WS_PORT", ws.to_string()),
        ("MQTT_CHAT_TCP_PORT", tcp.to_string()),
        ("MQTT_CHAT_STATE_DIR", state.display().to_string()),
    ]);
    // The first run in a fresh clone builds the debug Wasm: allow for a cold build.
    let url = serve.wait_ready(900);
    eprintln!("scripts/serve ready in {:?}: {url}", started.elapsed());
    let broker_query = if ws == 9001 {
        String::new()
    } else {
        format!("?broker=ws://127.0.0.1:{ws}")
    };
    assert_eq!(
        url,
        format!("http://127.0.0.1:{http}/{broker_query}"),
        "the printed URL works as printed, broker port included"
    );

    let browser = Browser::start().await;
    let c = &browser.client;
    c.visit(&url).await.unwrap();
    // The debug build is large (4 MB of Wasm) and the machine may be busy: allow it time,
    // and say what the badge showed if it never connects.
    let id = eventually("the served app to connect", 60, || async {
        let (text, state, id) = badge(c).await;
        if state != "connected" {
            eprintln!("badge: {state}: {text}");
        }
        (text == "connected" && state == "connected" && !id.is_empty()).then_some(id)
    })
    .await;
    c.execute("window.__notReloaded = true", vec![])
        .await
        .unwrap();
    let draft = "a draft that must survive 30 s of autosaves";
    let textarea = c.find(Locator::Id("message")).await.unwrap();
    textarea.send_keys(draft).await.unwrap();

    // 30 s, several autosaves (every 5 s). Keep the broker's state changing meanwhile: a
    // retained QoS 1 message every few seconds, so each autosave has something to write.
    let db = state.join("mosquitto/mosquitto.db");
    let mut saves = Vec::new();
    let wait = Instant::now();
    let mut n = 0;
    while wait.elapsed() < Duration::from_secs(30) {
        if n % 4 == 0 {
            let ok = Command::new("mosquitto_pub")
                .args(["-h", "127.0.0.1", "-p", &tcp.to_string(), "-q", "1", "-r"])
                .args(["-t", "serve-test/retained", "-m", &format!("state {n}")])
                .status()
                .expect("mosquitto_pub runs");
            assert!(ok.success(), "mosquitto_pub to scripts/serve's broker");
        }
        n += 1;
        if let Some(t) = db_mtime(&db) {
            if saves.last() != Some(&t) {
                saves.push(t);
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(
        saves.len() >= 3,
        "Mosquitto wrote {} in the 30 s only {} time(s); the test needs autosaves to mean anything",
        db.display(),
        saves.len()
    );

    let marker = c
        .execute("return window.__notReloaded === true", vec![])
        .await
        .unwrap();
    assert_eq!(
        marker,
        true,
        "the page reloaded during {} autosaves; scripts/serve said:\n{}",
        saves.len(),
        serve.output()
    );
    let textarea = c.find(Locator::Id("message")).await.unwrap();
    assert_eq!(
        textarea.prop("value").await.unwrap().as_deref(),
        Some(draft),
        "the draft is still in the box"
    );
    let (text, _, id_now) = badge(c).await;
    assert_eq!((text.as_str(), id_now.as_str()), ("connected", id.as_str()));

    // And the chat works: the draft goes out and comes back as a row.
    let name = c.find(Locator::Id("name")).await.unwrap();
    name.send_keys("Serve").await.unwrap();
    c.find(Locator::Id("publish"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the sent message as a row", 15, || async {
        rows(c)
            .await
            .into_iter()
            .find(|r| r.message == draft && r.name == "Serve" && r.own)
    })
    .await;
    // Development never sees stale code (issue 22): `trunk serve`'s debug build registers
    // no service worker, and the one it serves caches nothing and removes itself (for an
    // origin a release build's worker once controlled).
    let dev = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             Promise.all([navigator.serviceWorker.getRegistrations(),
                          fetch('/sw.js').then(r => r.text())])
               .then(([regs, sw]) => done([regs.length, sw.includes('const CACHING = false;'),
                                           !!document.querySelector('script[data-sw]')]));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        dev,
        serde_json::json!([0, true, false]),
        "no caching worker under trunk serve"
    );
    browser.close().await;
    drop(serve);
    let _ = std::fs::remove_dir_all(&state);
}
