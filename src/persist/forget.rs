//! Deleting what this browser keeps for one broker and user (a saved connection's scope, see
//! `browser::scope`): its IndexedDB database and its Web Storage keys. Unsent messages are
//! counted first and never deleted without the user naming how many ([`forget`]).

use std::collections::HashSet;

use idb::{Database, Factory, TransactionMode};

use super::outbox;
use super::{open_database, req, StoreError, DB_NAME, OUTBOX};
use crate::browser::identity;
use crate::browser::scope::{self, scoped_in};
use crate::browser::web_storage::{self, Area};

/// Why a connection's data was not deleted, typed until it becomes the user's words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ForgetError {
    #[error("this tab is connected with it")]
    InUseHere,
    #[error("a tab that is still open is connected with it (close it first)")]
    InUse,
    /// More unsent messages than the user agreed to delete: nothing was deleted.
    #[error("it has {0} unsent message{s}, never delivered", s = if *.0 == 1 { "" } else { "s" })]
    Unsent(usize),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("another tab keeps its database open (close it, then try again)")]
    Blocked,
    #[error("the browser did not finish deleting its database within a minute")]
    Slow,
}

/// What one scope keeps that matters before deleting it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kept {
    /// Client ids of the scope: its reuse pool and the owners of its stored outbox.
    pub ids: Vec<String>,
    /// Its unsent messages: IndexedDB records, and copies left in localStorage at
    /// `pagehide` that IndexedDB does not hold.
    pub unsent: usize,
}

/// What `scope` keeps: its client ids and how many unsent messages. Creates nothing.
pub async fn kept(scope: Option<&str>) -> Result<Kept, StoreError> {
    let mut ids = identity::known_ids_in(scope);
    let mut unsent = 0;
    let mut stored_ids = HashSet::new();
    if let Some(db) = open_database(&scoped_in(DB_NAME, scope), false).await? {
        let counted = count_outbox(&db, &mut ids, &mut stored_ids).await;
        db.close();
        unsent += counted?;
    }
    ids.sort();
    ids.dedup();
    for id in &ids {
        let (entries, unreadable) = outbox::legacy(id);
        unsent += unreadable;
        unsent += entries
            .iter()
            .filter(|(_, m)| !m.id.as_ref().is_some_and(|i| stored_ids.contains(i)))
            .count();
    }
    Ok(Kept { ids, unsent })
}

/// Delete everything `scope` keeps: its database, its keys, the keys of its client ids.
/// Refused while a tab uses it, and when it holds more unsent messages than
/// `unsent_agreed` (the count the user was shown and agreed to lose).
pub async fn forget(scope: Option<&str>, unsent_agreed: usize) -> Result<(), ForgetError> {
    if scope::current().as_deref() == scope {
        return Err(ForgetError::InUseHere);
    }
    let kept = kept(scope).await?;
    if !kept.ids.is_empty() && identity::not_in_use(&kept.ids).await.len() < kept.ids.len() {
        return Err(ForgetError::InUse);
    }
    if kept.unsent > unsent_agreed {
        return Err(ForgetError::Unsent(kept.unsent));
    }
    delete_database(&scoped_in(DB_NAME, scope)).await?;
    delete_database(&scoped_in(super::keys::KEYS_DB_NAME, scope)).await?;
    for (area, key) in scope::scope_keys(scope) {
        web_storage::remove(area, &key);
    }
    for id in &kept.ids {
        for key in identity::per_id_keys(id, scope) {
            web_storage::remove(Area::Local, &key);
        }
        web_storage::remove(Area::Local, &outbox::legacy_key(id));
    }
    Ok(())
}

/// The outbox records of `db`, counted; their owners join `ids`, their message ids
/// `stored_ids`.
async fn count_outbox(
    db: &Database,
    ids: &mut Vec<String>,
    stored_ids: &mut HashSet<String>,
) -> Result<usize, StoreError> {
    if !db.store_names().iter().any(|n| n == OUTBOX) {
        return Ok(0);
    }
    let tx = req(db.transaction(&[OUTBOX], TransactionMode::ReadOnly))?;
    let store = req(tx.object_store(OUTBOX))?;
    let values = req(req(store.get_all(None, None))?.await)?;
    for value in &values {
        ids.extend(super::field(value, "o").as_string());
        stored_ids.extend(outbox::message_id(value));
    }
    Ok(values.len())
}

/// Delete the database `name` (nothing if there is none). Other tabs of this app close
/// theirs when asked. Slow is not blocked: a busy browser may take a while to delete (seen:
/// over 5 s with the machine's two cores saturated), so it is waited for up to a minute;
/// a database another tab keeps open (the request's `blocked` event) is given up on 5 s
/// after that event, and said.
async fn delete_database(name: &str) -> Result<(), ForgetError> {
    const BLOCKED_MS: u32 = 5_000;
    const SLOW_MS: f64 = 60_000.0;
    let no_idb = |_| StoreError::Unavailable("this browser has no IndexedDB here".into());
    let factory = Factory::new().map_err(no_idb)?;
    let mut request = factory.delete(name).map_err(no_idb)?;
    let blocked_at = std::rc::Rc::new(std::cell::Cell::new(None::<f64>));
    let mark = blocked_at.clone();
    request.on_blocked(move |_| {
        if mark.get().is_none() {
            mark.set(Some(js_sys::Date::now()));
        }
    });
    let started = js_sys::Date::now();
    let mut deleted = std::pin::pin!(std::future::IntoFuture::into_future(request));
    loop {
        let tick = gloo_timers::future::TimeoutFuture::new(500);
        match futures::future::select(deleted.as_mut(), tick).await {
            futures::future::Either::Left((result, _)) => {
                return result.map_err(|e| ForgetError::Store(StoreError::from_idb(e)));
            }
            futures::future::Either::Right(_) => {
                let now = js_sys::Date::now();
                if blocked_at
                    .get()
                    .is_some_and(|at| now - at >= f64::from(BLOCKED_MS))
                {
                    return Err(ForgetError::Blocked);
                }
                if now - started >= SLOW_MS {
                    return Err(ForgetError::Slow);
                }
            }
        }
    }
}
