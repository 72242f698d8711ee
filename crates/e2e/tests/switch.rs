//! Switching user in a tab: one user's unsent messages are never published as another's,
//! and they go out when that user is back.

use std::time::Duration;

use e2e::*;
use fantoccini::{Client, Locator};

/// Type `user` (and no password) in the connection panel and press Connect; the page loads
/// again for that connection.
async fn connect_as(c: &Client, user: &str) {
    let field = c.find(Locator::Id("username")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(user).await.unwrap();
    c.find(Locator::Id("connect"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the page for the new user", 15, || async {
        let url = c.current_url().await.ok()?;
        url.as_str()
            .contains(&format!("username={user}"))
            .then_some(())
    })
    .await;
    eventually("the new page's badge", 15, || async {
        c.find(Locator::Id("connect-badge")).await.ok()
    })
    .await;
}

#[tokio::test]
async fn another_users_unsent_message_is_never_published_and_goes_out_when_they_are_back() {
    let mut broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    open_app(c, &base, &broker.ws_url(), "&username=alice").await;
    wait_connected(c).await;

    // Offline, alice writes: it waits in her outbox.
    broker.kill();
    eventually("offline", 15, || async {
        (badge(c).await.1 != "connected").then_some(())
    })
    .await;
    send(c, "alice", "only alice may send this").await;
    eventually("queued", 10, || async {
        messages_with(c, "only alice")
            .await
            .first()
            .filter(|r| r.delivery.as_deref() == Some("queued"))
            .map(|_| ())
    })
    .await;

    // The same tab becomes bob, and the broker comes back.
    connect_as(c, "bob").await;
    broker.restart();
    let seen = Deliveries::start_on(broker.tcp_port, &["messages/#"]).await;
    wait_connected(c).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        seen.count("only alice may send this"),
        0,
        "bob's tab published alice's message: {:?}",
        seen.lines()
    );
    assert!(
        messages_with(c, "only alice").await.is_empty(),
        "bob's view shows nothing of alice's"
    );

    // alice again: her message goes out, from her.
    connect_as(c, "alice").await;
    wait_connected(c).await;
    eventually("alice's message delivered, on her topic", 15, || async {
        (seen.count_on("messages/from/alice", "only alice may send this") == 1).then_some(())
    })
    .await;
    browser.close().await;
}
