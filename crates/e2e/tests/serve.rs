//! README command 1 for real: `scripts/serve` (Mosquitto + `trunk serve`) on free ports, a
//! real tab on the URL it prints, and 30 s of Mosquitto autosaves during which the page must
//! not reload (trunk once watched the broker's database and live-reloaded every tab).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use e2e::*;
use fantoccini::Locator;

/// `scripts/serve` in its own process group; the whole group ends on drop (also on panic).
struct Serve {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    rx: mpsc::Receiver<String>,
}

impl Serve {
    fn start(envs: &[(&str, String)]) -> Serve {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/serve");
        let mut cmd = Command::new("bash");
        cmd.arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        for (k, v) in envs {
            cmd.env(k, v);
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
        Serve { child, lines, rx }
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
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever is left of the group (trunk's cargo, the broker) goes too.
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
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
    c.goto(&url).await.unwrap();
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
    browser.close().await;
    drop(serve);
    let _ = std::fs::remove_dir_all(&state);
}
