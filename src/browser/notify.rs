//! Browser notifications (the Notification API), typed: what the permission is, asking for
//! it (only when the user turns notifications on), and showing one whose click focuses the
//! tab and opens its room. One click handler serves every notification: each carries its
//! room in `data`.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Notification, NotificationOptions, NotificationPermission};

/// Whether this page may show notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    Granted,
    Denied,
    /// Not asked yet.
    Ask,
    /// This browser has no notifications (or not in this context).
    Unsupported,
}

fn supported() -> bool {
    web_sys::window().is_some_and(|w| {
        js_sys::Reflect::has(&w, &JsValue::from_str("Notification")).unwrap_or(false)
    })
}

pub fn permission() -> Permission {
    if !supported() {
        return Permission::Unsupported;
    }
    match Notification::permission() {
        NotificationPermission::Granted => Permission::Granted,
        NotificationPermission::Denied => Permission::Denied,
        _ => Permission::Ask,
    }
}

/// Ask for the permission (call from the user's own action), or read it if already given
/// or refused.
pub async fn ask() -> Permission {
    if permission() != Permission::Ask {
        return permission();
    }
    let Ok(promise) = Notification::request_permission() else {
        return Permission::Unsupported;
    };
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    permission()
}

/// What a click on a notification does with its room.
type OnClick = RefCell<Option<Box<dyn Fn(String)>>>;

thread_local! {
    /// What a click on a notification does with its room; and the one listener.
    static ON_CLICK: OnClick = const { RefCell::new(None) };
    static LISTENER: Closure<dyn Fn(web_sys::Event)> = Closure::new(|event: web_sys::Event| {
        let Some(n) = event.target().and_then(|t| t.dyn_into::<Notification>().ok()) else {
            return;
        };
        n.close();
        if let Some(window) = web_sys::window() {
            let _ = window.focus();
        }
        if let Some(room) = n.data().as_string() {
            ON_CLICK.with(|f| {
                if let Some(f) = f.borrow().as_ref() {
                    f(room);
                }
            });
        }
    });
}

/// What clicking a notification does, given its room.
pub fn on_click(f: impl Fn(String) + 'static) {
    ON_CLICK.with(|slot| *slot.borrow_mut() = Some(Box::new(f)));
}

/// Show a notification (if permitted): `title`, `body`, for `room`. A newer one of the same
/// room replaces it (`tag`).
pub fn show(title: &str, body: &str, room: &str) {
    if permission() != Permission::Granted {
        return;
    }
    let options = NotificationOptions::new();
    options.set_body(body);
    options.set_tag(&format!("mqtt-chat-room:{room}"));
    options.set_data(&JsValue::from_str(room));
    let Ok(n) = Notification::new_with_options(title, &options) else {
        return;
    };
    LISTENER.with(|l| n.set_onclick(Some(l.as_ref().unchecked_ref())));
}
