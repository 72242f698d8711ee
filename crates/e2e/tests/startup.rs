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

/// Whether the page fetched a file whose name contains `part`, answered 200.
async fn fetched(c: &Client, part: &str) -> bool {
    c.execute(
        "return performance.getEntriesByType('resource')
            .some(e => e.name.includes(arguments[0]) && e.responseStatus === 200)",
        vec![json!(part)],
    )
    .await
    .expect("read the page's resource timing")
    .as_bool()
    .unwrap_or(false)
}

/// Breaks if: unsent messages kept in localStorage at the last page close (what `pagehide`
/// writes while IndexedDB writes are still queued) are not sent on the next start, stay in
/// localStorage after, or their reader (a chunk of its own, issue 21) is fetched by a start
/// that finds none.
#[tokio::test]
async fn messages_kept_at_the_last_page_close_are_sent_on_the_next_start() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    open_app(c, &base, &broker.ws_url(), "").await;
    let id = wait_connected(c).await;
    set_name(c, "Ann").await;
    assert!(
        !fetched(c, "spilled_outbox").await,
        "nothing kept: not fetched"
    );
    // The spill's format (`persist::outbox::spill`), for this tab's own client id, put
    // there as the next page starts (this page's own pagehide clears the key: it has
    // nothing unsent).
    let keep = format!(
        "if (!sessionStorage.getItem('kept-once')) {{ sessionStorage.setItem('kept-once', '1');
            localStorage.setItem('mqtt-chat.outbox.{id}', JSON.stringify({{entries: [
            {{topic: 'messages', message: {{name: 'Ann', message: 'kept at close 1', id: '{id}-k1', ts: Date.now()}}}},
            {{topic: 'messages', message: {{name: 'Ann', message: 'kept at close 2', id: '{id}-k2', ts: Date.now()}}}}]}})); }}"
    );
    c.issue_cmd(Cdp {
        cmd: "Page.addScriptToEvaluateOnNewDocument",
        params: json!({ "source": keep }),
    })
    .await
    .expect("keep two messages as pagehide would");
    c.refresh().await.expect("reload");
    assert_eq!(
        wait_connected(c).await,
        id,
        "the reload keeps its client id"
    );
    wait_own_delivered(c, "kept at close", 2, 15).await;
    assert!(fetched(c, "spilled_outbox").await);
    let left = c
        .execute(
            "return localStorage.getItem('mqtt-chat.outbox.' + arguments[0])",
            vec![json!(id)],
        )
        .await
        .expect("read localStorage");
    assert_eq!(left, serde_json::Value::Null, "moved out of localStorage");
    browser.close().await;
}
