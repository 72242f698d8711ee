//! The app over wss:// (issue 9, TLS): a Mosquitto whose websockets listener has a
//! certificate from a throwaway CA (scripts/make-certs). Chromium trusts exactly that key
//! (`--ignore-certificate-errors-spki-list`), never all certificates.

use e2e::*;

/// Breaks if: the app cannot open wss://, or messages do not flow both ways over it.
#[tokio::test]
async fn the_app_chats_over_wss() {
    let broker = TlsBroker::start();
    let base = serve_dist(dist());
    let browser = Browser::start_with_args(&[broker.chromium_trust()]).await;
    let c = &browser.client;
    open_app(c, &base, &broker.wss_url(), "").await;
    let id = wait_connected(c).await;
    assert_eq!(connects(&broker.log(), &id), 1, "{}", broker.log());
    send(c, "Tee", "over wss").await;
    let row = wait_row(c, "over wss", 10).await;
    assert!(row.own, "{row:?}");
    let watch = Watch::start(broker.tcp_port, &["messages"]).await;
    send(c, "Tee", "seen by mosquitto_sub").await;
    eventually("the tab's message on the broker", 10, || async {
        watch
            .lines()
            .iter()
            .any(|l| l.contains("seen by mosquitto_sub"))
            .then_some(())
    })
    .await;
    mosquitto_pub_to(
        broker.tcp_port,
        "messages",
        &chat_json("cli", "to the tab"),
        1,
        false,
    );
    wait_row(c, "to the tab", 10).await;
    browser.close().await;
}

/// Breaks if: an untrusted certificate shows only a generic failure (the browser gives the
/// page nothing but code 1006): the badge must say to check the certificate.
#[tokio::test]
async fn an_untrusted_certificate_is_explained() {
    let broker = TlsBroker::start();
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    open_app(c, &base, &broker.wss_url(), "").await;
    let (text, state, _) = eventually("the badge to mention the certificate", 20, || async {
        let b = badge(c).await;
        b.0.to_lowercase().contains("certificate").then_some(b)
    })
    .await;
    println!("badge: {text:?} ({state})");
    assert_ne!(state, "connected");
    assert!(
        !broker.log().contains("New client connected"),
        "a client connected without trusting the certificate:\n{}",
        broker.log()
    );
    browser.close().await;
}
