//! What the app keeps in this browser, and where.
//!
//! - IndexedDB database `mqtt-chat` ([`Db`]): the **history** (every message received or
//!   sent, per topic, the newest 1,000 of each) and the **outbox** (every message not yet
//!   acknowledged by the broker, one record per message, under the client id that owns it).
//!   Written in batches by [`writer::Writer`]; read once at start.
//! - IndexedDB database `mqtt-chat-keys` ([`keys`]): private rooms' keys the user asked
//!   this device to remember, wrapped by a key whose bytes cannot be read.
//! - Web Storage ([`prefs`]): the user's name (per tab, and the last one for new tabs) and
//!   the draft being typed (per tab).
//! - sessionStorage and localStorage: the tab's client id and the reuse pool
//!   (`browser::identity`).
//!
//! Built on the `idb` crate (0.6, futures API without its builder): maintained, a thin typed
//! layer over the IndexedDB API, and the lightest of the crates measured (shared/TOOLCHAIN.md:
//! about 8 KiB gzip). Its two quirks are handled here: a failed request surfaces as the DOM
//! exception, and an aborted transaction (quota) comes back as `Ok(Aborted)`.

pub mod export;
pub mod forget;
pub mod history;
pub mod keys;
pub mod outbox;
pub mod prefs;
pub mod writer;

use std::rc::Rc;

use idb::{Database, DatabaseEvent, Factory, KeyPath, ObjectStoreParams, TransactionMode};
use wasm_bindgen::{JsCast, JsValue};

pub const DB_NAME: &str = "mqtt-chat";
const DB_VERSION: u32 = 1;
pub(crate) const HISTORY: &str = "history";
pub(crate) const OUTBOX: &str = "outbox";
/// History index: `[topic, seq]`, for "the newest N of this topic".
pub(crate) const BY_TOPIC: &str = "by-topic";
/// History index: `seq`, for "the oldest N of all" when storage is full.
pub(crate) const BY_AGE: &str = "by-age";

/// Why storage failed, typed until it reaches the user's words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Unavailable(String),
    #[error("browser storage is full")]
    Full,
    #[error("{0}")]
    Failed(String),
}

impl StoreError {
    fn from_idb(e: idb::Error) -> StoreError {
        match e {
            idb::Error::DomException(ex) => from_dom(&ex),
            other => StoreError::Failed(other.to_string()),
        }
    }
}

fn from_dom(ex: &web_sys::DomException) -> StoreError {
    match ex.name().as_str() {
        "QuotaExceededError" => StoreError::Full,
        "SecurityError" | "InvalidStateError" | "UnknownError" => {
            StoreError::Unavailable(format!("{}: {}", ex.name(), ex.message()))
        }
        _ => StoreError::Failed(format!("{}: {}", ex.name(), ex.message())),
    }
}

/// The open database. Cheap to clone; the connection closes when the last clone goes.
#[derive(Clone)]
pub struct Db {
    inner: Rc<Connection>,
}

/// A connection closed on drop. Left open, it would keep answering nothing to another tab's
/// delete or upgrade (its `versionchange` handler goes with it) and block that for as long
/// as the page lives.
struct Connection(Database);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Db {
    /// Open (or create) the database of the current scope. Fails when this browser context
    /// has no IndexedDB or blocks it (some private modes, storage disabled, sandboxed
    /// frames).
    pub async fn open() -> Result<Db, StoreError> {
        Db::open_in(crate::browser::scope::current().as_deref()).await
    }

    /// Open (or create) the database of `scope` (its name is fixed before the first await).
    pub async fn open_in(scope: Option<&str>) -> Result<Db, StoreError> {
        let name = crate::browser::scope::scoped_in(DB_NAME, scope);
        let mut db = open_database(&name, true)
            .await?
            .ok_or_else(|| StoreError::Unavailable("IndexedDB did not open".into()))?;
        // Another tab upgrading the schema (or deleting the database) must not be blocked
        // by this one.
        db.on_version_change(|event| {
            if let Ok(db) = event.database() {
                db.close();
            }
        });
        Ok(Db {
            inner: Rc::new(Connection(db)),
        })
    }

    pub(crate) fn transaction(
        &self,
        stores: &[&str],
        mode: TransactionMode,
    ) -> Result<idb::Transaction, StoreError> {
        self.inner
            .0
            .transaction(stores, mode)
            .map_err(StoreError::from_idb)
    }
}

/// Open the database `name`. With `create`, as this version, created (with its stores) if
/// missing. Without, only if it exists: `Ok(None)` if not (its creation is undone), for
/// looking at another scope's database without leaving one behind.
pub(crate) async fn open_database(
    name: &str,
    create: bool,
) -> Result<Option<Database>, StoreError> {
    // `indexedDB` itself may be missing, or throw on access.
    let has_idb = web_sys::window()
        .map(|w| js_sys::Reflect::get(&w, &JsValue::from_str("indexedDB")))
        .and_then(Result::ok)
        .is_some_and(|v| !v.is_undefined() && !v.is_null());
    if !has_idb {
        return Err(StoreError::Unavailable("IndexedDB is not available".into()));
    }
    let factory = Factory::new().map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let mut request = factory
        .open(name, create.then_some(DB_VERSION))
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let upgraded = Rc::new(std::cell::Cell::new(false));
    let flag = upgraded.clone();
    request.on_upgrade_needed(move |event| {
        flag.set(true);
        // Version 1. A later version adds a step here, from `old_version()` up. If a step
        // fails, the upgrade is aborted: the open fails (storage unavailable this time)
        // and the next load tries again, instead of committing a version without stores.
        // Not creating: aborting undoes the creation of a database that did not exist.
        let created = create && matches!(event.database().map(|db| create_v1(&db)), Ok(Ok(())));
        if !created {
            let raw: web_sys::IdbVersionChangeEvent = event.into();
            let upgrade = raw
                .target()
                .and_then(|t| t.dyn_into::<web_sys::IdbRequest>().ok())
                .and_then(|r| r.transaction());
            if let Some(tx) = upgrade {
                let _ = tx.abort();
            }
        }
    });
    match request.await {
        Ok(db) => Ok(Some(db)),
        Err(_) if !create && upgraded.get() => Ok(None),
        Err(e) => Err(match StoreError::from_idb(e) {
            StoreError::Failed(why) => StoreError::Unavailable(why),
            other => other,
        }),
    }
}

fn create_v1(db: &Database) -> Result<(), idb::Error> {
    let history = db.create_object_store(HISTORY, ObjectStoreParams::new())?;
    history.create_index(BY_TOPIC, KeyPath::new_array(["t", "s"]), None)?;
    history.create_index(BY_AGE, KeyPath::new_single("s"), None)?;
    db.create_object_store(OUTBOX, ObjectStoreParams::new())?;
    Ok(())
}

/// Wait for a transaction to finish; an abort (quota, a failed request) is an error, with
/// the reason the browser gave.
pub(crate) async fn finish(
    tx: idb::Transaction,
    witness: &idb::ObjectStore,
) -> Result<(), StoreError> {
    match tx.await {
        Ok(result) if result.is_committed() => Ok(()),
        Ok(_) => Err(witness
            .transaction()
            .error()
            .map(|ex| from_dom(&ex))
            .unwrap_or_else(|| StoreError::Failed("the write was aborted".into()))),
        Err(e) => Err(StoreError::from_idb(e)),
    }
}

/// Any result of a request, as a typed error.
pub(crate) fn req<T>(r: Result<T, idb::Error>) -> Result<T, StoreError> {
    r.map_err(StoreError::from_idb)
}

/// `IDBKeyRange` over every key `[first, …]`: arrays sort after every number and string,
/// so `[first]` ≤ key ≤ `[first, []]` holds exactly the keys that start with `first`.
pub(crate) fn prefix_range(first: &str) -> Result<idb::KeyRange, StoreError> {
    let lower = js_sys::Array::of1(&JsValue::from_str(first));
    let upper = js_sys::Array::of2(&JsValue::from_str(first), &js_sys::Array::new());
    req(idb::KeyRange::bound(&lower, &upper, None, None))
}

/// Read a field of a stored object.
pub(crate) fn field(value: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(value, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

pub(crate) fn set_field(object: &js_sys::Object, name: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(object, &JsValue::from_str(name), value);
}
