//! The views that are not on the chat's first screen, fetched as Wasm chunks the first
//! time they are shown (issue 21; the split points with no view are in `crate::split`).
//!
//! The topic viewer and the connection panel's body each mount their view into a slot the
//! first screen keeps for them (no type-erased view crosses the split) and say "Loading"
//! meanwhile. A chunk that cannot be fetched (server gone, offline) is said in words with
//! "Try again", and the chat goes on.

use leptos::html;
use leptos::prelude::*;

use super::search::SearchState;
use super::search_panel::SearchPanel;
use super::settings::{ConnectionForm, Current};
use super::viewer::TopicViewer;
use crate::browser::route::PageRoute;
use crate::session::{ChatSession, StoredRead, WatchCode};
use crate::split::{split_call, ChunkError};

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
    session.set_watch_code(WatchCode::new(&session));
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

// ----- the search's results -----

#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(search, wasm_split_path = ::leptos::wasm_split, fallible)
)]
fn mount_search_panel(
    owner: Owner,
    slot: web_sys::HtmlElement,
    session: ChatSession,
    state: SearchState,
    route: RwSignal<PageRoute>,
) -> Result<(), leptos::wasm_split::SplitLoaderError> {
    // The stored messages are read from here, in the chunk (the read is about 3 KB of the
    // first load otherwise); the logs keep what arrives meanwhile (`search_listen`).
    let (sender, stored) = futures::channel::mpsc::unbounded::<StoredRead>();
    leptos::task::spawn_local(session.search_stored(sender));
    owner.with(|| {
        leptos::mount::mount_to(slot, move || {
            view! { <SearchPanel session=session state=state route=route stored=stored /> }
        })
        .forget()
    });
    Ok(())
}

/// The search's results, fetched the first time the search opens.
#[component]
pub fn LazySearchPanel(
    session: ChatSession,
    state: SearchState,
    route: RwSignal<PageRoute>,
) -> impl IntoView {
    let slot = NodeRef::<html::Div>::new();
    let (load, fetch) = load_when_shown(slot, state.open.into(), move |owner, element| {
        // Listening first, while the chunk comes: nothing that arrives before or during the
        // read of the stored messages (begun in the chunk) is missed.
        session.search_listen(true);
        Box::pin(async move {
            let mounted = split_call!(mount_search_panel(owner, element, session, state, route));
            // Nobody takes what the logs keep for it: they stop keeping it.
            mounted.map_err(|_| {
                session.search_listen(false);
                ChunkError("search")
            })
        })
    });
    view! {
        <div id="search-slot" class="chunk-slot" node_ref=slot></div>
        {move || {
            load.with(Load::state).map(|state_now| {
                view! {
                    <div id="search-chunk" class="search-panel" hidden=move || !state.open.get()>
                        <LoadState state=state_now what="search" fetch=fetch />
                    </div>
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
