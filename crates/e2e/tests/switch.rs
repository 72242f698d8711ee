//! Switching user in a tab: one user's unsent messages are never published as another's,
//! and they go out when that user is back.

use std::time::Duration;

use e2e::*;
use fantoccini::Locator;

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
    connect_with(c, &broker.ws_url(), "3.1.1", "bob", "", false).await;
    broker.restart();
    let seen = Deliveries::start_on(broker.tcp_port, &["messages/#"]).await;
    wait_connected(c).await;
    quiet_for(
        Duration::from_secs(3),
        "bob's tab publishing alice's queued message",
    )
    .await;
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
    connect_with(c, &broker.ws_url(), "3.1.1", "alice", "", false).await;
    wait_connected(c).await;
    eventually("alice's message delivered, on her topic", 15, || async {
        (seen.count_on("messages/from/alice", "only alice may send this") == 1).then_some(())
    })
    .await;
    browser.close().await;
}

/// Saved connections go out as a file without passwords, and come in from one: this app's
/// export or MQTTX's, whose TCP-only entries are skipped with the reason.
#[tokio::test]
async fn connections_import_from_an_mqttx_file_and_export_without_passwords() {
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    c.visit(&app_url(&base)).await.unwrap();
    wait_connected(c).await;
    // The panel is folded, its body a chunk fetched when it first opens.
    open_settings(c).await;

    let file = std::env::temp_dir().join(format!("mqttx-export-{}.json", free_port()));
    std::fs::write(
        &file,
        r#"[{"name":"emqx","host":"broker.emqx.io","port":8084,"path":"/mqtt","protocol":"wss",
             "mqttVersion":"5.0","username":"u1","password":"from-mqttx"},
            {"name":"tcp","host":"h","port":1883,"protocol":"mqtt","mqttVersion":"3.1.1"}]"#,
    )
    .unwrap();
    c.find(Locator::Id("import-connections"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    let said = eventually("the import to be reported", 10, || async {
        let text = c
            .find(Locator::Id("import-result"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        (!text.is_empty()).then_some(text)
    })
    .await;
    assert!(said.starts_with("Imported 1 new connection"), "{said}");
    assert!(said.contains("mqtt:// is plain TCP"), "{said}");
    let listed = c
        .execute(
            "return [...document.querySelectorAll('#connections li')].map(li => li.dataset.connection)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        listed,
        serde_json::json!(["u1@wss://broker.emqx.io:8084/mqtt"])
    );
    let stored = c
        .execute(
            "return localStorage.getItem('mqtt-chat.connections')",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        !stored.as_str().unwrap_or_default().contains("from-mqttx"),
        "an imported password is not kept: {stored}"
    );

    // The export is the list, without passwords, as a JSON file.
    let href = c
        .find(Locator::Id("export-connections"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    let json = href
        .strip_prefix("data:application/json;charset=utf-8,")
        .expect("a JSON data URL");
    let json = c
        .execute("return decodeURIComponent(arguments[0])", vec![json.into()])
        .await
        .unwrap();
    let list: serde_json::Value = serde_json::from_str(json.as_str().unwrap()).unwrap();
    assert_eq!(list[0]["url"], "wss://broker.emqx.io:8084/mqtt");
    assert_eq!(list[0]["protocol"], "5");
    assert!(list[0].get("password").is_none());
    let _ = std::fs::remove_file(file);
    browser.close().await;
}

/// Breaks if: the connection panel's import or its deletion of stored data, each a chunk of
/// its own (issue 21), breaks the page or deletes anything when its chunk cannot be fetched,
/// does not say so in words, or does not work once the chunk can be had again.
#[tokio::test]
async fn connection_tools_whose_chunks_cannot_load_say_so_and_work_once_they_can() {
    let (dir, taken) = dist_without(&["import_connections", "forget_data"]);
    let base = serve_dist(dir.clone());
    let browser = Browser::start().await;
    let c = &browser.client;
    c.visit(&app_url(&base)).await.unwrap();
    wait_connected(c).await;
    // The panel is folded, its body a chunk fetched when it first opens.
    open_settings(c).await;
    let text = |id: &'static str| async move { text_of(c, id).await.unwrap_or_default() };
    let file = std::env::temp_dir().join(format!("mqttx-chunk-{}.json", free_port()));
    std::fs::write(
        &file,
        r#"[{"name":"emqx","host":"broker.emqx.io","port":8084,"path":"/mqtt","protocol":"wss"}]"#,
    )
    .unwrap();
    let pick = || async {
        c.find(Locator::Id("import-connections"))
            .await
            .unwrap()
            .send_keys(file.to_str().unwrap())
            .await
            .unwrap();
    };
    let row = "#connections li[data-connection='wss://broker.emqx.io:8084/mqtt']";
    let rows = |sel: &'static str| async move {
        c.execute(
            "return document.querySelectorAll(arguments[0]).length",
            vec![sel.into()],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(0)
    };

    // The import's chunk is not there: said, nothing imported.
    pick().await;
    let said = eventually("the import's failure said", 15, || async {
        Some(text("import-result").await).filter(|t| !t.is_empty())
    })
    .await;
    assert!(
        said.contains("connection import could not be loaded"),
        "{said}"
    );
    assert_eq!(rows(row).await, 0);
    // It is back: the same file, picked again, is imported.
    taken[0].put_back();
    pick().await;
    eventually("imported once the chunk can be had", 15, || async {
        text("import-result")
            .await
            .starts_with("Imported 1 new connection")
            .then_some(())
    })
    .await;
    assert_eq!(rows(row).await, 1);

    // Deleting it offers to delete its stored data; that chunk is not there: said, nothing
    // deleted, and the offer's buttons stay.
    c.execute(
        "document.querySelector(arguments[0] + ' button.delete').click()",
        vec![row.into()],
    )
    .await
    .unwrap();
    eventually("the offer", 10, || async {
        (rows("#delete-offer[data-step=ask]:not([hidden])").await == 1).then_some(())
    })
    .await;
    c.execute("document.getElementById('delete-data').click()", vec![])
        .await
        .unwrap();
    let said = eventually("the deletion's failure said", 15, || async {
        Some(text("delete-offer-text").await).filter(|t| t.contains("could not be loaded"))
    })
    .await;
    assert!(said.contains("Nothing was deleted"), "{said}");
    assert_eq!(rows("#delete-offer[data-step=ask]").await, 1, "{said}");
    // It is back: the same button deletes.
    taken[1].put_back();
    c.execute("document.getElementById('delete-data').click()", vec![])
        .await
        .unwrap();
    eventually("deleted once the chunk can be had", 15, || async {
        text("delete-offer-text")
            .await
            .starts_with("Deleted what this browser kept")
            .then_some(())
    })
    .await;
    browser.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Breaks if: the connection panel's body comes with the first load (fetched before the
/// panel is opened), the panel is not folded to its summary at first, a panel chunk that
/// cannot be fetched breaks the page or the chat or says nothing, "Try again" does not
/// fetch it once it can be had, or an opened panel is not open again after a reload.
#[tokio::test]
async fn the_connection_panel_is_folded_fetched_when_first_opened_and_says_so_if_it_cannot_load() {
    let (dir, taken) = dist_without(&["connection_panel"]);
    let base = serve_dist(dir.clone());
    let browser = Browser::start().await;
    let c = &browser.client;
    c.visit(&app_url(&base)).await.unwrap();
    wait_connected(c).await;
    let js = |script: &'static str| async move {
        c.execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    };
    // Asked for at all (a 404 counts), and fetched (answered 200).
    let asked = || {
        js("return performance.getEntriesByType('resource')
                .some(e => e.name.includes('split_connection_panel'))")
    };
    let fetched = || {
        js("return performance.getEntriesByType('resource')
                .some(e => e.name.includes('split_connection_panel') && e.responseStatus === 200)")
    };
    let state = || {
        js("const s = document.getElementById('settings');
            return [s.open, s.querySelector('summary').textContent,
                    !!document.getElementById('connection-form')]")
    };
    let first = state().await;
    assert_eq!(first[0], false, "folded at first: {first:?}");
    assert!(
        first[1]
            .as_str()
            .is_some_and(|s| s.starts_with("Connection: ws://127.0.0.1:")),
        "the summary names the connection: {first:?}"
    );
    assert_eq!(first[2], false, "{first:?}");
    assert_eq!(asked().await, false, "not on the first load");

    // Opened, with its chunk gone: said in words in the panel, with "Try again".
    js("document.querySelector('#settings summary').click()").await;
    let said = eventually("the panel's failure said", 15, || async {
        js("return document.querySelector('#settings-chunk [role=alert]')?.textContent ?? null")
            .await
            .as_str()
            .map(str::to_owned)
    })
    .await;
    assert!(
        said.contains("connection panel could not be loaded"),
        "{said}"
    );
    // The chat goes on.
    assert_eq!(fetched().await, false);
    send(c, "Ann", "panel-lost 1").await;
    wait_own_delivered(c, "panel-lost", 1, 15).await;

    // It is back: "Try again" fetches and mounts the form.
    taken[0].put_back();
    js("document.querySelector('#settings-chunk .chunk-retry').click()").await;
    eventually("the form once the chunk can be had", 15, || async {
        (state().await[2] == true).then_some(())
    })
    .await;
    assert_eq!(
        js("return document.querySelectorAll('#settings-chunk').length").await,
        0,
        "the failure is gone"
    );
    assert_eq!(fetched().await, true);

    // Opened by the user, it is open again after a reload, with its form.
    c.refresh().await.unwrap();
    wait_connected(c).await;
    eventually("the panel open again with its form", 15, || async {
        let now = state().await;
        (now[0] == true && now[2] == true).then_some(())
    })
    .await;
    browser.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
