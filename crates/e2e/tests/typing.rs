//! Typing (issue 8): `#typing` shows in other people's tabs within 1 s of the first keystroke,
//! goes 5 s after the last one or as soon as that person's message arrives, is never shown to
//! the typist, and names two typers together. Typists are separate browsers: tabs of one
//! browser profile are one person, and a person's own typing is never shown to them.

use std::time::{Duration, Instant};

use e2e::*;
use fantoccini::{Client, Locator};

const POLL: Duration = Duration::from_millis(50);

/// A browser with the app open on `broker`, connected, with `name` in `#name`.
async fn person(base: &str, broker: &Broker, name: &str) -> Browser {
    let browser = Browser::start().await;
    let c = &browser.client;
    open_app(c, base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    set_name(c, name).await;
    // Typing in #name is not typing a message: nobody may be shown typing yet.
    browser
}

/// Press one key in `#message`.
async fn key(c: &Client, k: &str) {
    c.find(Locator::Id("message"))
        .await
        .expect("#message")
        .send_keys(k)
        .await
        .expect("type a key");
}

/// Poll `#typing` every 50 ms until it reads `want`, for at most `limit`; returns the time
/// taken from `since`, or panics with what it read last.
async fn typing_reads(c: &Client, want: &str, since: Instant, limit: Duration) -> Duration {
    loop {
        let now = typing_text(c).await;
        if now.as_deref() == Some(want) {
            return since.elapsed();
        }
        if since.elapsed() > limit {
            panic!(
                "#typing did not read {want:?} within {limit:?} (last read: {now:?}; None = no #typing element)"
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

#[tokio::test]
async fn typing_shows_within_a_second_and_goes_five_seconds_after_the_last_key() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let ann = person(&base, &broker, "Ann").await;
    let bo = person(&base, &broker, "Bo").await;
    let (a, b) = (&ann.client, &bo.client);
    assert_eq!(
        typing_text(b).await.as_deref(),
        Some(""),
        "#typing is there and empty while nobody types"
    );

    // The first key: shown in B within 1 s.
    let first_key = Instant::now();
    key(a, "h").await;
    let shown_after = typing_reads(b, "Ann is typing…", first_key, Duration::from_secs(1)).await;
    println!("typing shown {shown_after:?} after the first key");
    assert!(shown_after <= Duration::from_secs(1));

    // More keys, one at a time, for 3 s: B keeps showing it, A never shows itself.
    let mut last_key = Instant::now();
    let mut n = 0;
    while first_key.elapsed() < Duration::from_secs(3) {
        key(a, "e").await;
        last_key = Instant::now();
        n += 1;
        assert_eq!(
            typing_text(a).await.as_deref(),
            Some(""),
            "A's own typing is never shown to A"
        );
        assert_eq!(
            typing_text(b).await.as_deref(),
            Some("Ann is typing…"),
            "B keeps showing Ann typing ({n} keys in)"
        );
        // A typist's pace (not a wait for anything).
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    // A stops: B hides it about 5 s after the last key, not before ~4 s.
    let cleared_after = loop {
        let now = typing_text(b).await;
        if now.as_deref() == Some("") {
            break last_key.elapsed();
        }
        assert_eq!(
            now.as_deref(),
            Some("Ann is typing…"),
            "B shows Ann typing until it goes"
        );
        assert!(
            last_key.elapsed() < Duration::from_millis(6_500),
            "still shown 6.5 s after the last key"
        );
        tokio::time::sleep(POLL).await;
    };
    println!("typing gone {cleared_after:?} after the last key");
    assert!(
        cleared_after >= Duration::from_millis(4_000),
        "gone too early: {cleared_after:?} after the last key"
    );
    assert_eq!(typing_text(a).await.as_deref(), Some(""));
    ann.close().await;
    bo.close().await;
}

#[tokio::test]
async fn typing_goes_as_soon_as_the_message_arrives() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let ann = person(&base, &broker, "Ann").await;
    let bo = person(&base, &broker, "Bo").await;
    let (a, b) = (&ann.client, &bo.client);

    let start = Instant::now();
    for k in "hello Bo".chars() {
        key(a, &k.to_string()).await;
        // A typist's pace (not a wait for anything).
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    typing_reads(b, "Ann is typing…", start, Duration::from_secs(2)).await;
    press_publish(a).await;
    let sent = Instant::now();

    // In every sample, once the row is there the indicator is gone (a short grace for the
    // two to render in separate frames).
    let row_at = loop {
        let has_row = rows(b).await.iter().any(|r| r.message == "hello Bo");
        if has_row {
            break sent.elapsed();
        }
        assert!(
            sent.elapsed() < Duration::from_secs(10),
            "the message never arrived in B"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let cleared = Instant::now();
    loop {
        if typing_text(b).await.as_deref() == Some("") {
            break;
        }
        assert!(
            cleared.elapsed() < Duration::from_millis(300),
            "#typing still reads {:?} {:?} after Ann's message showed",
            typing_text(b).await,
            cleared.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "row shown {row_at:?} after send, typing gone {:?} later",
        cleared.elapsed()
    );
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "well before the 5 s expiry, so the message cleared it"
    );
    // And it does not come back.
    quiet_for(Duration::from_millis(500), "#typing showing Ann again").await;
    assert_eq!(typing_text(b).await.as_deref(), Some(""));
    ann.close().await;
    bo.close().await;
}

#[tokio::test]
async fn two_typers_are_named_together() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let ann = person(&base, &broker, "Ann").await;
    let bo = person(&base, &broker, "Bo").await;
    let cy = person(&base, &broker, "Cy").await;
    let (a, b, c) = (&ann.client, &bo.client, &cy.client);

    let start = Instant::now();
    key(a, "a").await;
    typing_reads(c, "Ann is typing…", start, Duration::from_secs(2)).await;
    let start = Instant::now();
    key(b, "b").await;
    typing_reads(c, "Ann and Bo are typing…", start, Duration::from_secs(2)).await;
    // Each typist sees only the other.
    let now = Instant::now();
    typing_reads(a, "Bo is typing…", now, Duration::from_secs(1)).await;
    typing_reads(b, "Ann is typing…", now, Duration::from_secs(1)).await;
    ann.close().await;
    bo.close().await;
    cy.close().await;
}
