//! Start-up (issue 11): the page opens the broker's WebSocket while the Wasm loads, and the
//! app connects over that very socket instead of opening a second one. Each test runs a
//! Mosquitto of its own.

use e2e::*;
use fantoccini::Client;
use serde_json::json;

/// From now on, every document this tab loads counts the WebSockets it makes, and to where.
async fn count_websockets(c: &Client) {
    c.issue_cmd(Cdp {
        cmd: "Page.addScriptToEvaluateOnNewDocument",
        params: json!({ "source": "
            const Real = WebSocket;
            window.__sockets = [];
            window.WebSocket = function (url, protocols) {
                const ws = new Real(url, protocols);
                window.__sockets.push(String(url));
                (window.__made = window.__made || []).push(ws);
                return ws;
            };
            window.WebSocket.prototype = Real.prototype;
            for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) window.WebSocket[k] = Real[k];
        " }),
    })
    .await
    .expect("CDP Page.addScriptToEvaluateOnNewDocument");
}

async fn sockets(c: &Client) -> Vec<String> {
    let v = c
        .execute("return window.__sockets || []", vec![])
        .await
        .expect("read the sockets made");
    serde_json::from_value(v).unwrap_or_default()
}

#[tokio::test]
async fn the_app_connects_over_the_socket_the_page_opened_while_the_wasm_loaded() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    count_websockets(c).await;

    open_app(c, &base, &broker.ws_url(), "").await;
    wait_connected(c).await;
    assert_eq!(
        sockets(c).await,
        [broker.ws_url()],
        "one socket, opened by the page before the Wasm ran"
    );

    // A broker named differently from the page's guess gets a socket of the app's own, and
    // the early one is closed, not left open beside it.
    open_app(c, &base, &format!("{}%20", broker.ws_url()), "").await;
    wait_connected(c).await;
    let made = sockets(c).await;
    assert_eq!(made.len(), 2, "{made:?}");
    let early = c
        .execute(
            "return [window.__mqttChatEarly === undefined, window.__made[0].readyState, window.__made[1].readyState]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        early,
        json!([true, 3, 1]),
        "the early socket taken and closed, the app's own open"
    );
    browser.close().await;
}
