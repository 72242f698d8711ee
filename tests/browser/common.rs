//! Helpers shared by the browser tests (`tests/browser` and `tests/app.rs`; each uses some).
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use mqtt_chat::browser::identity::new_client_id;
use mqtt_chat::transport::{Connection, LinkEvent};
use mqtt_chat::{App, AppConfig};
use mqtt_core::{Event, Options};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlTextAreaElement};

/// The test broker's WebSocket URL (scripts/test starts it on a free port).
pub fn broker() -> String {
    option_env!("MQTT_CHAT_TEST_BROKER")
        .unwrap_or("ws://127.0.0.1:9001")
        .to_owned()
}

/// A port on which nothing listens.
pub fn closed_port() -> String {
    option_env!("MQTT_CHAT_TEST_CLOSED_PORT")
        .unwrap_or("9")
        .to_owned()
}

/// The topic of a room no other test uses (`messages/t-<prefix>-<hex>`).
pub fn unique_topic(prefix: &str) -> String {
    format!(
        "messages/t-{prefix}-{}",
        mqtt_chat::browser::random_hex(6).expect("random hex")
    )
}

/// Poll `check` every 20 ms until it yields a value, or fail after `timeout_ms`.
pub async fn wait_for<T>(what: &str, timeout_ms: f64, mut check: impl FnMut() -> Option<T>) -> T {
    let start = js_sys::Date::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        if js_sys::Date::now() - start > timeout_ms {
            panic!("timed out after {timeout_ms} ms waiting for {what}");
        }
        TimeoutFuture::new(20).await;
    }
}

/// The App mounted into a fresh element of the test page; removed on drop.
pub struct Mounted {
    root: Element,
    _handle: leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
}

impl Mounted {
    pub fn new(config: AppConfig) -> Mounted {
        let document = web_sys::window().unwrap().document().unwrap();
        let root = document.create_element("div").unwrap();
        document.body().unwrap().append_child(&root).unwrap();
        let handle = leptos::mount::mount_to(root.clone().unchecked_into(), move || {
            view! { <App config=config.clone() /> }.into_any()
        });
        Mounted {
            root,
            _handle: handle,
        }
    }

    pub fn find(&self, selector: &str) -> Option<Element> {
        self.root.query_selector(selector).ok().flatten()
    }

    pub fn all(&self, selector: &str) -> Vec<Element> {
        let list = self.root.query_selector_all(selector).unwrap();
        (0..list.length())
            .filter_map(|i| list.item(i))
            .filter_map(|n| n.dyn_into::<Element>().ok())
            .collect()
    }

    pub fn text(&self, selector: &str) -> String {
        self.find(selector)
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    }

    pub fn badge(&self) -> (String, String) {
        let badge = self.find("#connect-badge").expect("badge");
        (
            badge.text_content().unwrap_or_default(),
            badge.get_attribute("data-state").unwrap_or_default(),
        )
    }

    pub async fn wait_connected(&self) {
        wait_for("badge to read connected", 8000.0, || {
            (self.badge() == ("connected".into(), "connected".into())).then_some(())
        })
        .await;
    }

    pub fn total(&self) -> String {
        self.find("#messages")
            .and_then(|e| e.get_attribute("data-total"))
            .unwrap_or_default()
    }

    pub fn type_into(&self, selector: &str, value: &str) {
        let el = self.find(selector).expect(selector);
        if let Some(input) = el.dyn_ref::<HtmlInputElement>() {
            input.set_value(value);
        } else if let Some(area) = el.dyn_ref::<HtmlTextAreaElement>() {
            area.set_value(value);
        }
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        let event = web_sys::Event::new_with_event_init_dict("input", &init).unwrap();
        el.dispatch_event(&event).unwrap();
    }

    pub fn click(&self, selector: &str) {
        self.find(selector)
            .expect(selector)
            .unchecked_into::<HtmlElement>()
            .click();
    }

    /// Open the connection panel (folded at first) and wait for its form: the panel's body
    /// mounts when it first opens.
    pub async fn open_settings(&self) {
        self.find("#settings")
            .expect("#settings")
            .unchecked_into::<web_sys::HtmlDetailsElement>()
            .set_open(true);
        wait_for("the connection panel's form", 5000.0, || {
            self.find("#connection-form").map(|_| ())
        })
        .await;
    }

    pub fn textarea_value(&self) -> String {
        self.find("#message")
            .unwrap()
            .unchecked_into::<HtmlTextAreaElement>()
            .value()
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.root.remove();
    }
}

/// An absence check: `ms` in which something must NOT happen (a duplicate row, a send, a
/// jump of the view), to be checked by the caller afterwards. Not a way to wait for
/// something to happen: that is `wait_for` on the condition itself. Call it once the trigger
/// of what could happen has been seen.
pub async fn quiet_for(ms: u32, why: &str) {
    let _ = why; // For the reader: what must not happen in the window.
    TimeoutFuture::new(ms).await;
}

/// Poll `check` every 20 ms until it holds, for at most `timeout_ms`; whether it did. For
/// a caller that then asserts with more to say than `wait_for`'s panic.
pub async fn wait_until(timeout_ms: f64, mut check: impl FnMut() -> bool) -> bool {
    let start = js_sys::Date::now();
    loop {
        if check() {
            return true;
        }
        if js_sys::Date::now() - start > timeout_ms {
            return false;
        }
        TimeoutFuture::new(20).await;
    }
}

/// `wait_for` with an async `check` (an IndexedDB read, say).
pub async fn wait_for_async<T, F, Fut>(what: &str, timeout_ms: f64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = js_sys::Date::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if js_sys::Date::now() - start > timeout_ms {
            panic!("timed out after {timeout_ms} ms waiting for {what}");
        }
        TimeoutFuture::new(20).await;
    }
}

/// The app showing the room whose topic is `topic` (from [`unique_topic`]). The rooms
/// earlier tests joined are forgotten first, so each test starts with two rooms at most.
pub fn config(topic: &str) -> AppConfig {
    let name = topic.strip_prefix("messages/").expect("a room topic");
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.remove_item("mqtt-chat.rooms");
    }
    AppConfig {
        room: Some(chat::RoomName::parse(name)),
        ..AppConfig::new(Ok(broker()))
    }
}

/// A plain MQTT client beside the app, publishing as any other program would.
pub async fn outsider(topic: &str) -> Connection {
    let ready = Rc::new(RefCell::new(false));
    let flag = Rc::clone(&ready);
    let conn = Connection::open(
        vec![broker()],
        Options::new(new_client_id().expect("random id")),
        &[],
        move |e| {
            if matches!(e, LinkEvent::Mqtt(Event::Connected { .. })) {
                *flag.borrow_mut() = true;
            }
        },
    );
    wait_for(&format!("outside client on {topic}"), 5000.0, || {
        ready.borrow().then_some(())
    })
    .await;
    conn
}
