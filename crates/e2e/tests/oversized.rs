//! An incoming message over the app's limit (128 KiB), from a broker with no packet limit,
//! must be skipped with a marked row, and never break or loop the connection.
//!
//! The message is 150 KB, not the 1.1 MB of the report: Mosquitto 2.0.11's websockets
//! listener never delivers a message over about 190 KB to any WebSocket client (measured:
//! 160 KB arrives, 200 KB does not, and that connection stalls, for MQTT.js as well). The
//! app's handling does not depend on the size: the core's tests skip 1.1 MB packets split
//! at every size of frame.

use std::process::Command;
use std::time::{Duration, Instant};

use e2e::*;

/// A chat JSON message of about 150 KB: over the app's 128 KiB.
fn big_payload(id: &str) -> String {
    format!(
        r#"{{"name":"big","message":"{}","id":"{id}"}}"#,
        "x".repeat(150_000)
    )
}

fn publish_file(broker: &Broker, qos: u8, payload: &str) {
    let file = broker.dir.join(format!("payload-{}.json", free_port()));
    std::fs::write(&file, payload).unwrap();
    let status = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &broker.tcp_port.to_string()])
        .args(["-q", &qos.to_string(), "-t", "messages", "-f"])
        .arg(&file)
        .status()
        .expect("mosquitto_pub runs");
    assert!(status.success(), "mosquitto_pub of {} bytes", payload.len());
}

fn publish(broker: &Broker, qos: u8, payload: &str) {
    let status = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &broker.tcp_port.to_string()])
        .args(["-q", &qos.to_string(), "-t", "messages", "-m", payload])
        .status()
        .expect("mosquitto_pub runs");
    assert!(status.success());
}

/// Texts of the `td.message` cells of `#messages tr.skipped` rows.
async fn skipped_rows(c: &fantoccini::Client) -> Vec<String> {
    let v = c
        .execute(
            "return Array.from(document.querySelectorAll('#messages tr.skipped'))
                .map(r => r.querySelector('td.message')?.textContent ?? '')",
            vec![],
        )
        .await
        .expect("read skipped rows");
    v.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// For `secs` seconds, the badge reads `connected` at every look (every 100 ms).
async fn stays_connected(c: &fantoccini::Client, secs: u64, what: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        let (text, state, _) = badge(c).await;
        assert_eq!(
            (text.as_str(), state.as_str()),
            ("connected", "connected"),
            "{what}: the tab left `connected` after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn one_skipped_row_and_the_next_message(c: &fantoccini::Client, after: &str) {
    let skipped = eventually("a `tr.skipped` row", 15, || async {
        let rows = skipped_rows(c).await;
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(skipped.len(), 1, "one skipped row: {skipped:?}");
    assert!(skipped[0].contains("skipped"), "{skipped:?}");
    eventually(
        "the normal message published after the big one",
        15,
        || async { rows(c).await.into_iter().find(|r| r.message == after) },
    )
    .await;
}

/// The broker without `max_packet_size`, so the 1.1 MB message reaches the tab.
async fn oversized(qos: u8) {
    let broker = Broker::start(&[(
        "max_packet_size ",
        "# max_packet_size: no limit in this test",
    )]);
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    open_app(c, &base, &broker.ws_url(), "").await;
    let id = wait_connected(c).await;
    // The app subscribes right after CONNACK: let a first message through before the big one.
    publish(
        &broker,
        1,
        r#"{"name":"cli","message":"before","id":"before"}"#,
    );
    eventually("the first message", 10, || async {
        rows(c).await.into_iter().find(|r| r.message == "before")
    })
    .await;

    publish_file(&broker, qos, &big_payload(&format!("big-{qos}")));
    let after = format!("after the big one, QoS {qos}");
    publish(
        &broker,
        qos,
        &format!(r#"{{"name":"cli","message":"{after}","id":"after-{qos}"}}"#),
    );
    stays_connected(c, 10, "after the big message").await;
    one_skipped_row_and_the_next_message(c, &after).await;
    assert_eq!(
        connects(&broker.log(), &id),
        1,
        "one connection for {id}, no reconnect loop:\n{}",
        broker.log()
    );

    if qos == 1 {
        // A QoS 1 message the app did not acknowledge would come again on every reconnect.
        c.refresh().await.unwrap();
        let id_after = wait_connected(c).await;
        assert_eq!(id_after, id, "a reload keeps the client id");
        stays_connected(c, 10, "after a reload").await;
        // Skipped rows are not kept across a reload: any row now is the message coming
        // again from the persistent session, because it was never acknowledged.
        let skipped = skipped_rows(c).await;
        assert!(
            skipped.is_empty(),
            "the big message came again after the reload: {skipped:?}"
        );
        assert_eq!(
            connects(&broker.log(), &id),
            2,
            "the first connection and the reload's, nothing more:\n{}",
            broker.log()
        );
    }
    browser.close().await;
}

#[tokio::test]
async fn an_oversized_qos0_message_is_skipped_and_the_connection_stays() {
    oversized(0).await;
}

#[tokio::test]
async fn an_oversized_qos1_message_is_skipped_and_not_redelivered_in_a_loop() {
    oversized(1).await;
}
