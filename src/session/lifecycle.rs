//! The page's life: leaving says DISCONNECT (so the broker can tell a leave from a crash)
//! and writes what is queued for storage; coming back from the back/forward cache connects
//! again.

use gloo_events::EventListener;

use super::ChatSession;

pub(super) fn listeners(session: ChatSession) -> Vec<EventListener> {
    let window = gloo_utils::window();
    let on_leave = EventListener::new(&window, "pagehide", move |_| session.leave_now());
    let on_show = EventListener::new(&window, "pageshow", move |event| {
        let persisted = js_sys::Reflect::get(event, &"persisted".into())
            .ok()
            .and_then(|v| v.as_bool());
        if persisted == Some(true) {
            session.retry();
        }
    });
    vec![on_leave, on_show]
}
