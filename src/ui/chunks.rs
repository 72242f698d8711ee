//! The parts of the page that are not on the chat's first screen, fetched as separate Wasm
//! chunks the first time they are shown (issue 21).
//!
//! A split build (`--features split`, run by `scripts/build-wasm` under trunk) cuts each
//! `wasm_split` function below, with everything only it reaches, into a file of its own and
//! fetches it on the first call. Any other build (the browser tests, clippy, native) has no
//! chunks: the same functions are plain calls.
//!
//! Five chunks so far. MQTT 5's codec is fetched when a connection speaks 5. The topic viewer and the connection panel's body each mount their
//! view into a slot the first screen keeps for them (no type-erased view crosses the split)
//! and say "Loading" meanwhile. Inside the panel, its import and the deletion of a saved
//! connection's stored data are chunks of their own. A chunk that cannot be fetched
//! (server gone, offline) is said in words, the same action tries again ("Try again" for
//! the viewer and the panel), and the chat goes on.

use leptos::html;
use leptos::prelude::*;

use super::settings::{ConnectionForm, Current};
use super::watch::TopicViewer;
use crate::browser::route::PageRoute;
use crate::session::{ChatSession, WatchCode};

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

/// A chunk that could not be fetched or started: which part, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "The {0} could not be loaded: the server did not answer, or the app was updated since \
     this page opened (reload it then). The chat goes on."
)]
pub struct ChunkError(&'static str);

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

// ----- the topic viewer's code that takes messages in, for filters restored on a reload -----

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(watch_code, wasm_split_path = ::leptos::wasm_split, fallible)
)]
fn watch_code_chunk() -> Result<WatchCode, leptos::wasm_split::SplitLoaderError> {
    Ok(WatchCode::new())
}

/// The code that takes messages into the viewer's state, fetching its chunk first (the
/// viewer's own chunk brings it too).
pub async fn watch_code() -> Result<WatchCode, ChunkError> {
    let code = split_call!(watch_code_chunk());
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

// ----- the connection panel's form and tools -----

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(
        connection_panel,
        wasm_split_path = ::leptos::wasm_split,
        fallible
    )
)]
fn mount_connection_form(
    owner: Owner,
    slot: web_sys::HtmlElement,
    session: ChatSession,
    current: Current,
) -> Result<(), leptos::wasm_split::SplitLoaderError> {
    owner.with(|| {
        leptos::mount::mount_to(slot, move || {
            view! { <ConnectionForm session=session current=current /> }
        })
        .forget()
    });
    Ok(())
}

/// The connection panel's body, fetched the first time the panel opens.
#[component]
pub fn LazyConnectionForm(
    session: ChatSession,
    current: Current,
    #[prop(into)] shown: Signal<bool>,
) -> impl IntoView {
    let current = StoredValue::new(current);
    let slot = NodeRef::<html::Div>::new();
    let (load, fetch) = load_when_shown(slot, shown, move |owner, element| {
        let current = current.get_value();
        Box::pin(async move {
            let mounted = split_call!(mount_connection_form(owner, element, session, current));
            mounted.map_err(|_| ChunkError("connection panel"))
        })
    });
    view! {
        <div id="settings-slot" class="chunk-slot" node_ref=slot></div>
        {move || {
            load.with(Load::state).map(|state| {
                view! {
                    <div id="settings-chunk">
                        <LoadState state=state what="connection panel" fetch=fetch />
                    </div>
                }
            })
        }}
    }
}

// ----- the topic viewer -----

// The split point. `fallible`: a failed fetch is an `Err`, never a panic (a panic in Wasm
// kills the page), and the next call fetches again.
#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(
        topic_viewer,
        wasm_split_path = ::leptos::wasm_split,
        fallible
    )
)]
fn mount_topic_viewer(
    owner: Owner,
    slot: web_sys::HtmlElement,
    session: ChatSession,
    route: RwSignal<PageRoute>,
    hidden: Signal<bool>,
) -> Result<(), leptos::wasm_split::SplitLoaderError> {
    session.set_watch_code(WatchCode::new());
    // Under the app's owner, so that it goes (its timers with it) when the app does; the
    // view itself stays mounted as long as the slot.
    owner.with(|| {
        leptos::mount::mount_to(slot, move || {
            view! { <TopicViewer session=session route=route hidden=hidden /> }
        })
        .forget()
    });
    Ok(())
}

/// The topic viewer, fetched the first time it is shown (at once on a `#/watch` link) and
/// kept from then on, hidden while the chat shows.
#[component]
pub fn LazyTopicViewer(
    session: ChatSession,
    route: RwSignal<PageRoute>,
    #[prop(into)] hidden: Signal<bool>,
) -> impl IntoView {
    let slot = NodeRef::<html::Div>::new();
    let shown = Signal::derive(move || !hidden.get());
    let (load, fetch) = load_when_shown(slot, shown, move |owner, element| {
        Box::pin(async move {
            let mounted = split_call!(mount_topic_viewer(owner, element, session, route, hidden));
            mounted.map_err(|_| ChunkError("topic viewer"))
        })
    });
    view! {
        <div id="watch-slot" class="chunk-slot" node_ref=slot></div>
        {move || {
            load.with(Load::state).map(|state| {
                let failed = state.is_err();
                view! {
                    <section id="watch-chunk" class="watch-view" hidden=move || hidden.get()>
                        {failed.then(|| view! { <a id="chat-link" href="#/">"Back to the chat"</a> })}
                        <LoadState state=state what="topic viewer" fetch=fetch />
                    </section>
                }
            })
        }}
    }
}

// ----- fetching a chunk when its part is first shown -----

#[derive(Clone, PartialEq)]
enum Load {
    Idle,
    Loading,
    Ready,
    Failed(ChunkError),
}

impl Load {
    /// What to show in the part's place: nothing (not asked for, or mounted), loading
    /// (`Ok`), or why it failed.
    fn state(&self) -> Option<Result<(), ChunkError>> {
        match self {
            Load::Idle | Load::Ready => None,
            Load::Loading => Some(Ok(())),
            Load::Failed(e) => Some(Err(e.clone())),
        }
    }
}

type Mounting = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ChunkError>>>>;

/// Fetch a chunk and mount its part into `slot` the first time `shown` is true. Returns
/// where the load stands and a retry (for "Try again").
fn load_when_shown(
    slot: NodeRef<html::Div>,
    shown: Signal<bool>,
    mount: impl Fn(Owner, web_sys::HtmlElement) -> Mounting + Copy + Send + Sync + 'static,
) -> (RwSignal<Load>, impl Fn() + Copy + Send + Sync + 'static) {
    let load = RwSignal::new(Load::Idle);
    // The task that mounts it runs outside any owner: it is given this one.
    let owner = StoredValue::new(Owner::current());
    let fetch = move || {
        let (Some(element), Some(owner)) = (slot.get_untracked(), owner.get_value()) else {
            return;
        };
        load.set(Load::Loading);
        let element: web_sys::HtmlElement = element.into();
        leptos::task::spawn_local(async move {
            let done = match mount(owner, element).await {
                Ok(()) => Load::Ready,
                Err(e) => Load::Failed(e),
            };
            load.try_set(done);
        });
    };
    Effect::new(move |_| {
        if shown.get() && slot.get().is_some() && load.get_untracked() == Load::Idle {
            fetch();
        }
    });
    (load, fetch)
}

/// "Loading the …", or why it failed with "Try again".
#[component]
fn LoadState(
    state: Result<(), ChunkError>,
    what: &'static str,
    fetch: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    match state {
        Ok(()) => {
            leptos::either::Either::Left(view! { <p role="status">"Loading the " {what} "…"</p> })
        }
        Err(e) => leptos::either::Either::Right(view! {
            <p class="chunk-error" role="alert">{e.to_string()}</p>
            <button type="button" class="chunk-retry" on:click=move |_| fetch()>"Try again"</button>
        }),
    }
}
