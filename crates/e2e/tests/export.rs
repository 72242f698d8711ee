//! Export (issue 22): `#export-history` downloads the open room's stored history as JSON (one
//! object per message, the fields as on the wire, plus `received_at`) or CSV (one record per
//! message, every field quoted, formulas defused). It streams: 100,000 stored messages
//! download while the page keeps answering. Files are read back from Chromium's real
//! download folder. Each test runs a Mosquitto of its own.

use std::path::{Path, PathBuf};
use std::time::Instant;

use e2e::*;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

/// Downloads of this tab go to a folder of the test's own.
async fn download_to(c: &Client, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mqtt-chat-export-{name}-{}", std::process::id()));
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

/// Choose `format`, press Export, and wait for the file (whole: Chromium writes to a
/// `.crdownload` first) and for the status line's words.
async fn export(c: &Client, dir: &Path, format: &str, secs: u64) -> (String, String) {
    for old in std::fs::read_dir(dir).unwrap() {
        std::fs::remove_file(old.unwrap().path()).unwrap();
    }
    c.find(Locator::Id("export-format"))
        .await
        .expect("#export-format")
        .select_by_value(format)
        .await
        .unwrap();
    c.find(Locator::Id("export-history"))
        .await
        .expect("#export-history")
        .click()
        .await
        .unwrap();
    let path = eventually("the downloaded file", secs, || async {
        let files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.into_iter().find(|p| {
            p.extension().and_then(|e| e.to_str()) == Some(format)
                && !p.to_string_lossy().ends_with(".crdownload")
        })
    })
    .await;
    let status = eventually("the export's words", secs, || async {
        text_of(c, "export-status")
            .await
            .filter(|t| t.starts_with("Exported"))
    })
    .await;
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("mqtt-chat-"), "{name}");
    (std::fs::read_to_string(&path).unwrap(), status)
}

/// RFC 4180, as a spreadsheet reads it.
fn read_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

#[tokio::test]
async fn the_open_rooms_history_downloads_as_json_and_csv_with_the_wire_fields() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let (ann, _) = person(&base, &broker.ws_url(), "Ann").await;
    let a = &ann.client;
    let dir = download_to(a, "small").await;
    send(a, "Ann", "first, plain").await;
    let tricky = "line 1\nline 2, with \"quotes\"";
    let lines = [
        json!({"name": "cli", "message": tricky, "extra": {"n": 1}}).to_string(),
        json!({"name": "evil", "message": "=HYPERLINK(\"http://x\",\"y\")"}).to_string(),
        "not json at all".to_owned(),
    ];
    for line in &lines {
        mosquitto_pub_to(broker.tcp_port, "messages", line, 1, false);
    }
    eventually("every message shown", 10, || async {
        (data_total(a).await == "4").then_some(())
    })
    .await;
    wait_own_delivered(a, "first, plain", 1, 10).await;

    let (text, status) = export(a, &dir, "json", 20).await;
    assert_eq!(status, "Exported 4 messages.");
    let items: Vec<Value> = serde_json::from_str(&text).expect("the file is JSON");
    assert_eq!(items.len(), 4, "{text}");
    assert_eq!(items[0]["message"], "first, plain");
    assert!(
        items[0]["id"].is_string() && items[0]["ts"].is_number(),
        "as on the wire"
    );
    assert_eq!(items[1]["message"], tricky);
    assert_eq!(
        items[1]["extra"],
        json!({"n": 1}),
        "other clients' fields kept"
    );
    assert_eq!(items[3]["raw"], "not json at all");
    assert!(items
        .iter()
        .all(|i| i["received_at"].as_str().is_some_and(|t| t.ends_with('Z'))));

    let (text, _) = export(a, &dir, "csv", 20).await;
    let records = read_csv(&text);
    assert_eq!(
        records.len(),
        5,
        "a header and a record per message: {text}"
    );
    assert_eq!(records[0][..3], ["received_at", "name", "message"]);
    assert_eq!(records[2][1..3], ["cli".to_owned(), tricky.to_owned()]);
    assert!(
        records[3][2].starts_with("'="),
        "a formula is defused: {:?}",
        records[3]
    );
    assert_eq!(records[4][2], "not json at all");
    assert!(records.iter().all(|r| r.len() == records[0].len()));
    assert_no_serious_axe(a, "the export controls").await;
    ann.close().await;
}

/// Put messages `from..from + n` of `topic` straight into the page's history store, as the
/// app writes them (three to a sequence number); resolves with how many the store holds for
/// the topic.
const SEED: &str = "
const [topic, from, n, done] =
  [arguments[0], arguments[1], arguments[2], arguments[arguments.length - 1]];
indexedDB.databases().then(dbs => {
  const name = dbs.map(d => d.name).find(n => n.startsWith('mqtt-chat'));
  const open = indexedDB.open(name);
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction('history', 'readwrite');
    const store = tx.objectStore('history');
    const t0 = (Date.now() - 86400000) * 1000;
    for (let i = from; i < from + n; i++) {
      const p = JSON.stringify({ name: 'seed', message: `old ${i}, \"quoted\"`, id: `s${i}` });
      // Three records to a sequence number, as tabs writing in the same instant number
      // theirs: pages split them.
      store.put({ t: topic, u: `i:s${i}`, s: t0 + Math.floor(i / 3), a: t0 / 1000 + i, p }, [topic, `i:s${i}`]);
    }
    tx.oncomplete = () => {
      const count = db.transaction('history').objectStore('history').index('by-topic')
        .count(IDBKeyRange.bound([topic], [topic, []]));
      count.onsuccess = () => { db.close(); done(count.result); };
    };
    tx.onerror = () => done(-1);
  };
});";

#[tokio::test]
async fn a_hundred_thousand_stored_messages_export_whole_and_oldest_first() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let (ann, _) = person(&base, &broker.ws_url(), "Ann").await;
    let a = &ann.client;
    let dir = download_to(a, "big").await;
    // In ten parts of 10,000, each well inside WebDriver's 30 s script timeout: one
    // transaction of 100,000 ran past it once, while the other lanes and a build shared the
    // two cores. One heavy step at a time, as a page load is.
    let mut stored = Value::Null;
    for part in 0..10 {
        let _turn = HeavyStep::take().await;
        stored = a
            .execute_async(
                SEED,
                vec![
                    Value::from("messages/archive"),
                    Value::from(part * 10_000),
                    Value::from(10_000),
                ],
            )
            .await
            .expect("seeding runs");
    }
    assert_eq!(stored, 100_000);
    join_and_open(a, "archive").await;
    eventually("the archive's history shown", 60, || async {
        (rows(a).await.len() >= 500).then_some(())
    })
    .await;

    // How busy the page is meanwhile is a figure of `scripts/bench` (`export`), not a bound.
    let started = Instant::now();
    let (text, status) = export(a, &dir, "csv", 120).await;
    println!("100,000 messages exported in {:?}", started.elapsed());
    assert_eq!(status, "Exported 100000 messages.");
    let records = read_csv(&text);
    assert_eq!(records.len(), 100_001);
    assert_eq!(records[1][2], "old 0, \"quoted\"");
    assert_eq!(
        records[100_000][2], "old 99999, \"quoted\"",
        "oldest first, all of them"
    );
    ann.close().await;
}
