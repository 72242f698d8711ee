//! The topic viewer against a Mosquitto that refuses some subscriptions (issue 10: "A
//! SUBACK refusal (0x80) is shown on that filter"). Mosquitto 2.0.11's `acl_file` grants
//! every SUBSCRIBE (it filters at delivery), so this broker uses the dynamic security
//! plugin that ships with Mosquitto, whose default is to refuse a subscription no role
//! allows: anonymous clients may subscribe to anything but `secret/#`.

use e2e::*;
use fantoccini::Client;
use serde_json::json;

const DYNSEC: &str = r##"{
  "defaultACLAccess": {"publishClientSend": true, "publishClientReceive": true, "subscribe": false, "unsubscribe": true},
  "clients": [],
  "groups": [{"groupname": "anon", "roles": [{"rolename": "reader"}], "clients": []}],
  "roles": [{"rolename": "reader", "acls": [
    {"acltype": "subscribePattern", "topic": "#", "priority": 0, "allow": true},
    {"acltype": "subscribePattern", "topic": "$SYS/#", "priority": 0, "allow": true},
    {"acltype": "subscribePattern", "topic": "secret/#", "priority": 1, "allow": false}
  ]}],
  "anonymousGroup": "anon"
}"##;

fn refusing_broker() -> Broker {
    let mut broker = Broker::configure("mosquitto.conf", &[]);
    let file = broker.dir.join("dynamic-security.json");
    std::fs::write(&file, DYNSEC).unwrap();
    // Mosquitto runs as its own user and writes the file back.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    broker.edit_conf(
        "allow_anonymous",
        &format!(
            "allow_anonymous true\nplugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so\nplugin_opt_config_file {}",
            file.display()
        ),
    );
    broker.restart();
    broker
}

/// (data-state, words) of the watched filter `filter`.
async fn filter_state(c: &Client, filter: &str) -> Option<(String, String)> {
    let v = c
        .execute(
            "const li = [...document.querySelectorAll('#filters li')].find(l => l.dataset.filter === arguments[0]);
             return li ? [li.dataset.state, li.querySelector('.filter-state').textContent] : null;",
            vec![json!(filter)],
        )
        .await
        .unwrap();
    let pair = v.as_array()?;
    Some((pair[0].as_str()?.to_owned(), pair[1].as_str()?.to_owned()))
}

/// Breaks if: a SUBACK failure is not shown on its filter (or shows as granted), the words
/// are missing, or a refused filter stops the other filters or the chat.
#[tokio::test]
async fn a_refused_filter_says_so_and_the_rest_keeps_working() {
    let broker = refusing_broker();
    let base = serve_dist(dist());
    let browser = Browser::start().await;
    let c = &browser.client;
    for (protocol, words) in [
        ("", "refused: the broker does not allow it"),
        ("&protocol=5", "refused: not authorized"),
    ] {
        c.visit(&format!(
            "{base}/?broker={}{protocol}#/watch?filter=secret/%23&filter=open/%23",
            broker.ws_url()
        ))
        .await
        .unwrap();
        wait_connected(c).await;
        let (state, said) = eventually("the refusal on secret/#", 10, || async {
            filter_state(c, "secret/#")
                .await
                .filter(|(s, _)| s != "pending")
        })
        .await;
        assert_eq!(state, "refused", "{protocol}: {said}");
        assert!(said.starts_with(words), "{protocol}: {said:?}");
        eventually("open/# granted", 10, || async {
            filter_state(c, "open/#")
                .await
                .filter(|(s, _)| s == "active")
        })
        .await;
        mosquitto_pub_to(broker.tcp_port, "open/1", "still here", 0, false);
        eventually("the open topic in the stream", 10, || async {
            let v = c
                .execute(
                    "return [...document.querySelectorAll('#stream tr td.payload .body')].map(t => t.textContent)",
                    vec![],
                )
                .await
                .ok()?;
            v.as_array()?
                .iter()
                .any(|t| t == "still here")
                .then_some(())
        })
        .await;
        // The chat's own subscriptions were granted: a chat message still arrives.
        c.execute("location.hash = '#/'", vec![]).await.unwrap();
        mosquitto_pub_to(
            broker.tcp_port,
            "messages",
            &chat_json("cli", &format!("chat{protocol}")),
            1,
            false,
        );
        wait_row(c, &format!("chat{protocol}"), 10).await;
        // Tidy up for the next protocol: stop both filters.
        c.execute(
            "location.hash = '#/watch'; setTimeout(() => document.querySelectorAll('#filters li button.unwatch').forEach(b => b.click()), 100);",
            vec![],
        )
        .await
        .unwrap();
        eventually("no filter left", 10, || async {
            let v = c
                .execute(
                    "return document.querySelectorAll('#filters li').length",
                    vec![],
                )
                .await
                .ok()?;
            (v.as_u64()? == 0).then_some(())
        })
        .await;
    }
}
