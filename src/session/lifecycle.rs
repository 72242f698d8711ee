//! The page's life: leaving says offline and DISCONNECT (so the broker can tell a leave from
//! a crash) and writes what is queued for storage; coming back from the back/forward cache
//! connects again; hiding and showing the tab decides what counts as unread; another tab
//! joining or leaving a room is followed here.

use gloo_events::EventListener;
use leptos::prelude::*;

use super::ChatSession;

/// The tab is in view.
pub(super) fn page_visible() -> bool {
    gloo_utils::document().visibility_state() == web_sys::VisibilityState::Visible
}

pub(super) fn listeners(session: ChatSession) -> Vec<EventListener> {
    let window = gloo_utils::window();
    let on_leave = EventListener::new(&window, "pagehide", move |_| session.leave_now());
    let on_show = EventListener::new(&window, "pageshow", move |event| {
        let persisted = js_sys::Reflect::get(event, &"persisted".into())
            .ok()
            .and_then(|v| v.as_bool());
        if persisted == Some(true) {
            if let Some(owner) = session.client_id.try_get_untracked().flatten() {
                crate::persist::outbox::unspill(&owner);
            }
            session.retry();
        }
    });
    let on_visibility =
        EventListener::new(&gloo_utils::document(), "visibilitychange", move |_| {
            let visible = page_visible();
            session.visible.try_set(visible);
            session.core.try_update_value(|c| c.handle_visible(visible));
            session.drive();
        });
    let on_storage = EventListener::new(&window, "storage", move |event| {
        let key = js_sys::Reflect::get(event, &"key".into())
            .ok()
            .and_then(|k| k.as_string());
        if key.as_deref() == Some(crate::browser::scope::scoped(super::rooms::ROOMS_KEY).as_str()) {
            session.follow_saved_rooms();
        }
    });
    vec![on_leave, on_show, on_visibility, on_storage]
}
