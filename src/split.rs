//! The split points: each `wasm_split` function here and in `ui::chunks` is cut, with
//! everything only it reaches, into a Wasm chunk of its own that is fetched the first time
//! it is called (issue 21). Here are the parts with no view of their own (a codec, the
//! viewer's intake, a file reader, a storage tool, a fallback); `ui::chunks` mounts the
//! views that are chunks (the topic viewer, the connection panel's body).
//!
//! A split build (`--features split`, run by `scripts/build-wasm` under trunk) does the
//! cutting. Any other build (the browser tests, clippy, native) has no chunks: the same
//! functions are plain calls. A function reached only through a split point must not be
//! named anywhere else in the app, or it stays in the first load.

use crate::browser::live_ids::LiveIds;
use crate::session::WatchCode;

/// Call a split point: in a split build its chunk is fetched first (awaited); in any
/// other build it is a plain call.
macro_rules! split_call {
    ($call:expr) => {{
        #[cfg(feature = "split")]
        let result = $call.await;
        #[cfg(not(feature = "split"))]
        let result = $call;
        result
    }};
}
pub(crate) use split_call;

/// Fetch a part with `fetch` until it comes, waiting between tries as for a lost broker
/// (`mqtt_core::Backoff`: 0.3 to 0.5 s for the first 10 s, then longer). `failed` hears
/// each failure and says whether to go on; `None` once it says no.
pub async fn until_loaded<T, F>(
    mut fetch: impl FnMut() -> F,
    mut failed: impl FnMut(&ChunkError) -> bool,
) -> Option<T>
where
    F: std::future::Future<Output = Result<T, ChunkError>>,
{
    let mut backoff = mqtt_core::Backoff::default();
    loop {
        match fetch().await {
            Ok(part) => return Some(part),
            Err(e) if failed(&e) => {
                let wait = backoff.next_delay(crate::browser::now(), js_sys::Math::random());
                gloo_timers::future::sleep(wait).await;
            }
            Err(_) => return None,
        }
    }
}

/// A chunk that could not be fetched or started: which part, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "The {0} could not be loaded: the server did not answer, or the app was updated since \
     this page opened (reload it then). The chat goes on."
)]
pub struct ChunkError(pub(crate) &'static str);

// ----- MQTT 5's packet reader and writer, for a connection that speaks 5 -----

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(mqtt5, wasm_split_path = ::leptos::wasm_split, fallible)
)]
fn mqtt5_chunk() -> Result<mqtt_core::Protocol, leptos::wasm_split::SplitLoaderError> {
    // The only call of `Protocol::v5` in the app: its codec comes with this chunk.
    Ok(mqtt_core::Protocol::v5())
}

/// MQTT 5 with its codec (`mqtt_core::Protocol::v5`), fetching its chunk first.
pub async fn mqtt5() -> Result<mqtt_core::Protocol, ChunkError> {
    let protocol = split_call!(mqtt5_chunk());
    protocol.map_err(|_| ChunkError("MQTT 5 support"))
}

// ----- private rooms' worker: WebCrypto, deriving keys, opening and sealing (issue 24) -----

type Working = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(private_rooms, wasm_split_path = ::leptos::wasm_split, fallible)
)]
fn private_chunk(
    session: crate::session::ChatSession,
) -> Result<Working, leptos::wasm_split::SplitLoaderError> {
    // The only call of the worker: it and the browser's crypto come with this chunk.
    Ok(Box::pin(session.private_work()))
}

/// The private rooms' worker (`session::private`), fetching its chunk first: a room's key
/// is first asked for, or its first sealed message arrives.
pub async fn private_worker(session: crate::session::ChatSession) -> Result<Working, ChunkError> {
    let working = split_call!(private_chunk(session));
    working.map_err(|_| ChunkError("private rooms' encryption"))
}

// ----- the topic viewer's code that takes messages in, for filters restored on a reload -----

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(watch_code, wasm_split_path = ::leptos::wasm_split, fallible)
)]
fn watch_code_chunk(
    session: crate::session::ChatSession,
) -> Result<WatchCode, leptos::wasm_split::SplitLoaderError> {
    Ok(WatchCode::new(&session))
}

/// The code that takes messages into the viewer's state, fetching its chunk first (the
/// viewer's own chunk brings it too).
pub async fn watch_code(session: crate::session::ChatSession) -> Result<WatchCode, ChunkError> {
    let code = split_call!(watch_code_chunk(session));
    code.map_err(|_| ChunkError("topic viewer's message intake"))
}

// ----- the connection panel's import: the file formats' readers (this app's, MQTTX's) -----

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(
        import_connections,
        wasm_split_path = ::leptos::wasm_split,
        fallible
    )
)]
#[allow(clippy::type_complexity)]
fn import_connections_chunk(
    text: String,
) -> Result<Result<chat::Imported, chat::ImportError>, leptos::wasm_split::SplitLoaderError> {
    Ok(chat::import_connections(&text))
}

/// Reads a file of saved connections (`chat::import_connections`), fetching its chunk first.
pub async fn import_connections(
    text: String,
) -> Result<Result<chat::Imported, chat::ImportError>, ChunkError> {
    let read = split_call!(import_connections_chunk(text));
    read.map_err(|_| ChunkError("connection import"))
}

// ----- deleting a saved connection's stored data (IndexedDB and Web Storage) -----

type Forgetting = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<(), crate::persist::forget::ForgetError>>>,
>;

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(forget_data, wasm_split_path = ::leptos::wasm_split, fallible)
)]
fn forget_chunk(
    scope: Option<String>,
    unsent_agreed: usize,
) -> Result<Forgetting, leptos::wasm_split::SplitLoaderError> {
    Ok(Box::pin(async move {
        crate::persist::forget::forget(scope.as_deref(), unsent_agreed).await
    }))
}

/// Deletes what this browser keeps for a connection's scope (`persist::forget`), fetching
/// its chunk first.
pub async fn forget(
    scope: Option<String>,
    unsent_agreed: usize,
) -> Result<Result<(), crate::persist::forget::ForgetError>, ChunkError> {
    let forgetting = split_call!(forget_chunk(scope, unsent_agreed));
    match forgetting {
        Ok(forgetting) => Ok(forgetting.await),
        Err(_) => Err(ChunkError("deletion of stored data")),
    }
}

// ----- a room's stored history as a file (`persist::export`, `chat::export`) -----

type Exporting = std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>>>>;

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(export_history, wasm_split_path = ::leptos::wasm_split, fallible)
)]
fn export_chunk(
    db: crate::persist::Db,
    room: chat::RoomName,
    format: chat::export::Format,
) -> Result<Exporting, leptos::wasm_split::SplitLoaderError> {
    Ok(Box::pin(crate::persist::export::download_room(
        db, room, format,
    )))
}

/// Downloads the stored history of `room` (`persist::export::download_room`), fetching its
/// chunk first: how it went in words, an error's too.
pub async fn export_history(
    db: crate::persist::Db,
    room: chat::RoomName,
    format: chat::export::Format,
) -> Result<String, String> {
    match split_call!(export_chunk(db, room, format)) {
        Ok(exporting) => exporting.await,
        Err(_) => Err(ChunkError("history export").to_string()),
    }
}

// ----- the reader of outboxes spilled into localStorage (at pagehide, or by an old version) -----

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(spilled_outbox, wasm_split_path = ::leptos::wasm_split, fallible)
)]
fn spilled_outbox_chunk(
) -> Result<crate::persist::outbox::LegacyReader, leptos::wasm_split::SplitLoaderError> {
    Ok(crate::persist::outbox::legacy)
}

/// The reader of outboxes kept in localStorage (`persist::outbox::legacy`), fetching its
/// chunk first; only a start that finds one needs it.
pub async fn spilled_outbox_reader() -> Result<crate::persist::outbox::LegacyReader, ChunkError> {
    let read = split_call!(spilled_outbox_chunk());
    read.map_err(|_| ChunkError("reader of messages kept at the last page close"))
}

// ----- the client-id handshake over a BroadcastChannel, where Web Locks are missing -----

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(live_ids, wasm_split_path = ::leptos::wasm_split, fallible)
)]
fn live_ids_chunk() -> Result<LiveIds, leptos::wasm_split::SplitLoaderError> {
    Ok(LiveIds::new())
}

/// The BroadcastChannel handshake (`browser::live_ids`), fetching its chunk first. Only a
/// browser without working Web Locks needs it.
pub async fn live_ids() -> Result<LiveIds, ChunkError> {
    let ids = split_call!(live_ids_chunk());
    ids.map_err(|_| ChunkError("client-id handshake"))
}
