//! The tab identity in headless Chromium: the reuse pool and the BroadcastChannel handshake
//! that claims an id where Web Locks are missing.

use mqtt_chat::browser::identity::{self, KNOWN_MAX};
use mqtt_chat::browser::live_ids::{claim_first_free, Live};
use mqtt_chat::browser::random_hex;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

fn nonce() -> String {
    random_hex(8).expect("crypto.getRandomValues")
}

/// Hold `mqtt-chat:<id>` as a live tab would, for the life of the page.
fn hold_lock(id: &str) {
    let hold = js_sys::Function::new_with_args(
        "name",
        "navigator.locks.request(name, () => new Promise(() => {}))",
    );
    hold.call1(
        &JsValue::NULL,
        &JsValue::from_str(&format!("mqtt-chat:{id}")),
    )
    .expect("lock request");
}

#[wasm_bindgen_test]
fn random_hex_is_hex_of_the_asked_length_and_differs() {
    let a = random_hex(8).expect("crypto.getRandomValues");
    let b = random_hex(8).expect("crypto.getRandomValues");
    assert_eq!(a.len(), 16);
    assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, b);
}

#[wasm_bindgen_test]
fn the_pool_keeps_the_newest_eight_and_reports_the_one_pushed_out() {
    let pool = ids("old", KNOWN_MAX);
    let (kept, forgotten) = identity::remember("new", pool.clone());
    assert_eq!(kept.len(), KNOWN_MAX);
    assert_eq!(kept[0], "new");
    assert_eq!(forgotten, vec![pool[KNOWN_MAX - 1].clone()]);
    // Claiming an id already in the pool moves it to the front and forgets nothing.
    let (kept, forgotten) = identity::remember("old-3", pool);
    assert_eq!(kept[0], "old-3");
    assert_eq!(kept.len(), KNOWN_MAX);
    assert!(forgotten.is_empty());
}

#[wasm_bindgen_test]
async fn a_tab_that_finds_every_pooled_id_in_use_reports_the_id_it_pushes_out() {
    let window = web_sys::window().unwrap();
    let (local, session) = (
        window.local_storage().unwrap().unwrap(),
        window.session_storage().unwrap().unwrap(),
    );
    let pool = ids(&format!("busy-{}", nonce()), KNOWN_MAX);
    for id in &pool {
        hold_lock(id);
    }
    local
        .set_item(
            "mqtt-chat.client-ids",
            &serde_json::to_string(&pool).unwrap(),
        )
        .unwrap();
    session.remove_item("mqtt-chat.client-id").unwrap();
    // The unscoped keys above (a test before may have left a scope set if it failed).
    mqtt_chat::browser::scope::set(None);

    let me = identity::tab_identity().await.expect("an identity");
    assert!(!pool.contains(&me.client_id), "every pooled id is in use");
    assert_eq!(me.forgotten, vec![pool[KNOWN_MAX - 1].clone()]);
    let stored: Vec<String> =
        serde_json::from_str(&local.get_item("mqtt-chat.client-ids").unwrap().unwrap()).unwrap();
    assert_eq!(stored[0], me.client_id);
    assert!(!stored.contains(&pool[KNOWN_MAX - 1]));
}

#[wasm_bindgen_test]
async fn an_id_no_live_tab_answers_for_is_free_and_a_held_one_is_not() {
    let (held, free) = (format!("held-{}", nonce()), format!("free-{}", nonce()));
    let _live = Live::answer_for(held.clone()).expect("BroadcastChannel");
    let (id, _claimed) = claim_first_free(&[held.clone(), free.clone()], &nonce())
        .await
        .expect("a free id");
    assert_eq!(id, free);
    // Now both are answered for.
    assert!(claim_first_free(&[held, free], &nonce()).await.is_none());
}

#[wasm_bindgen_test]
async fn two_tabs_asking_at_the_same_moment_never_take_the_same_id() {
    let candidates = vec![format!("x-{}", nonce()), format!("y-{}", nonce())];
    let (first, second) = (nonce(), nonce());
    let (a, b) = futures::join!(
        claim_first_free(&candidates, &first),
        claim_first_free(&candidates, &second)
    );
    let (a, b) = (a.expect("one id"), b.expect("another id"));
    assert_ne!(a.0, b.0);
}

/// An id pushed out of the reuse pool is never used again: the keys kept for it (its author
/// id, its presence key, the topic viewer's filters) go with it; those of the ids kept stay.
#[wasm_bindgen_test]
async fn the_keys_of_an_id_pushed_out_of_the_pool_are_removed() {
    let window = web_sys::window().unwrap();
    let (local, session) = (
        window.local_storage().unwrap().unwrap(),
        window.session_storage().unwrap().unwrap(),
    );
    let pool = ids(&format!("gone-{}", nonce()), KNOWN_MAX);
    for id in &pool {
        hold_lock(id);
    }
    let (out, kept) = (&pool[KNOWN_MAX - 1], &pool[0]);
    for id in [out, kept] {
        local
            .set_item(
                &format!("mqtt-chat.watch.{id}"),
                r#"[{"filter":"a/#","qos":0}]"#,
            )
            .unwrap();
        local
            .set_item(&format!("mqtt-chat.author.{id}"), "\"abc\"")
            .unwrap();
        local
            .set_item(&format!("mqtt-chat.presence.{id}"), "\"def\"")
            .unwrap();
        local
            .set_item(
                &format!("mqtt-chat.watch.{id}.readers"),
                r#"{"a/#":{"decoder":"base64"}}"#,
            )
            .unwrap();
    }
    local
        .set_item(
            "mqtt-chat.client-ids",
            &serde_json::to_string(&pool).unwrap(),
        )
        .unwrap();
    session.remove_item("mqtt-chat.client-id").unwrap();
    mqtt_chat::browser::scope::set(None);

    let me = identity::tab_identity().await.expect("an identity");
    assert_eq!(me.forgotten, vec![out.clone()]);
    for key in identity::per_id_keys(out, None) {
        assert_eq!(local.get_item(&key).unwrap(), None, "{key} left behind");
    }
    for key in identity::per_id_keys(kept, None) {
        assert!(
            local.get_item(&key).unwrap().is_some(),
            "{key} of a kept id"
        );
        local.remove_item(&key).unwrap();
    }
}

/// The author id and the presence key kept for a client id become a JSON field and a topic
/// level: one that is not 16 hex digits (edited, or from elsewhere) is replaced, a valid one
/// kept; and the presence key is neither the client id nor the author id.
#[wasm_bindgen_test]
async fn kept_ids_that_are_not_16_hex_digits_are_replaced_and_the_presence_key_stands_apart() {
    let window = web_sys::window().unwrap();
    let (local, session) = (
        window.local_storage().unwrap().unwrap(),
        window.session_storage().unwrap().unwrap(),
    );
    mqtt_chat::browser::scope::set(None);
    let id = format!("chat-{}", nonce());
    let valid = nonce();
    session
        .set_item("mqtt-chat.client-id", &serde_json::to_string(&id).unwrap())
        .unwrap();
    local
        .set_item(&format!("mqtt-chat.author.{id}"), "\"a/b+#\"")
        .unwrap();
    local
        .set_item(
            &format!("mqtt-chat.presence.{id}"),
            &serde_json::to_string(&valid).unwrap(),
        )
        .unwrap();

    let me = identity::tab_identity().await.expect("an identity");
    assert_eq!(me.client_id, id, "the tab's own id, free, is taken again");
    assert_eq!(me.presence_key, valid, "a valid key is kept");
    assert_eq!(me.author_id.len(), 16);
    assert!(me.author_id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(
        local.get_item(&format!("mqtt-chat.author.{id}")).unwrap(),
        Some(serde_json::to_string(&me.author_id).unwrap()),
        "the new one is kept"
    );
    assert_ne!(me.presence_key, me.author_id);
    assert!(!me.presence_key.contains(&me.client_id));
    for key in identity::per_id_keys(&id, None) {
        local.remove_item(&key).unwrap();
    }
}
