//! The scope everything this tab keeps is filed under: one per broker and user
//! (`chat::Connection::scope`), so switching either never mixes their unsent messages,
//! history, client ids or rooms. Set once, before the session starts; the default broker
//! without a user has no scope and keeps the names earlier versions used.

use std::cell::RefCell;

thread_local! {
    static SCOPE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// File what follows under `scope` (`None`: the default names).
pub fn set(scope: Option<String>) {
    SCOPE.with(|s| *s.borrow_mut() = scope);
}

/// `base`, or `base@<scope>` when a scope is set: a storage key or database name.
pub fn scoped(base: &str) -> String {
    SCOPE.with(|s| match &*s.borrow() {
        None => base.to_owned(),
        Some(scope) => format!("{base}@{scope}"),
    })
}
