//! The scope everything this tab keeps is filed under: one per broker and user
//! (`chat::Connection::scope`), so switching either never mixes their unsent messages,
//! history, client ids or rooms. Set once, before the session starts; the default broker
//! without a user has no scope and keeps the names earlier versions used.

use std::cell::RefCell;

use super::web_storage::Area;

/// localStorage, scoped: the joined rooms (`session::rooms`).
pub const ROOMS_KEY: &str = "mqtt-chat.rooms";
/// sessionStorage, scoped: the room this tab shows.
pub const OPEN_ROOM_KEY: &str = "mqtt-chat.open-room";

thread_local! {
    static SCOPE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// File what follows under `scope` (`None`: the default names).
pub fn set(scope: Option<String>) {
    SCOPE.with(|s| *s.borrow_mut() = scope);
}

/// `base`, or `base@<scope>` when a scope is set: a storage key or database name.
pub fn scoped(base: &str) -> String {
    SCOPE.with(|s| scoped_in(base, s.borrow().as_deref()))
}

/// `base` filed under a given scope (another connection's): `base@<scope>`, or `base`.
pub fn scoped_in(base: &str, scope: Option<&str>) -> String {
    match scope {
        None => base.to_owned(),
        Some(scope) => format!("{base}@{scope}"),
    }
}

/// The scope this tab files under.
pub fn current() -> Option<String> {
    SCOPE.with(|s| s.borrow().clone())
}

/// localStorage, scoped: the viewer's publish templates (`ui::viewer::publish`).
pub const TEMPLATES_KEY: &str = "mqtt-chat.templates";

/// localStorage, scoped: which joined rooms are private (issue 24; never their keys).
pub const PRIVATE_ROOMS_KEY: &str = "mqtt-chat.private-rooms";

/// localStorage, scoped: which private rooms have a key remembered on this device (the
/// names only; the keys are in IndexedDB, wrapped: `persist::keys`).
pub const REMEMBERED_KEYS_KEY: &str = "mqtt-chat.remembered-keys";

/// The Web Storage keys a scope keeps that are not per client id: the rooms, the viewer's
/// publish templates, and the identity's (`identity::scope_keys`). Per id:
/// `identity::per_id_keys`.
pub fn scope_keys(scope: Option<&str>) -> Vec<(Area, String)> {
    let mut keys = vec![
        (Area::Local, scoped_in(ROOMS_KEY, scope)),
        (Area::Session, scoped_in(OPEN_ROOM_KEY, scope)),
        (Area::Local, scoped_in(TEMPLATES_KEY, scope)),
        (Area::Local, scoped_in(PRIVATE_ROOMS_KEY, scope)),
        (Area::Local, scoped_in(REMEMBERED_KEYS_KEY, scope)),
    ];
    keys.extend(super::identity::scope_keys(scope));
    keys
}
