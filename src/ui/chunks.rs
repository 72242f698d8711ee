//! The parts of the page that are not on the chat's first screen, fetched as separate Wasm
//! chunks the first time they are shown (issue 21).
//!
//! A split build (`--features split`, run by `scripts/build-wasm` under trunk) cuts each
//! `wasm_split` function below, with everything only it reaches, into a file of its own and
//! fetches it on the first call. Any other build (the browser tests, clippy, native) has no
//! chunks: the same functions are plain calls.
//!
//! Three chunks so far: the topic viewer, which mounts its view into a slot the first screen
//! keeps for it (no type-erased view crosses the split) and says "Loading" meanwhile; the
//! connection panel's import; and the deletion of a saved connection's stored data. A chunk
//! that cannot be fetched (server gone, offline) is said in words, the same action tries
//! again ("Try again" for the viewer), and the chat goes on.

use leptos::html;
use leptos::prelude::*;

use super::watch::TopicViewer;
use crate::browser::route::PageRoute;
use crate::session::ChatSession;

/// A chunk that could not be fetched or started: which part, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "The {0} could not be loaded: the server did not answer, or the app was updated since \
     this page opened (reload it then). The chat goes on."
)]
pub struct ChunkError(&'static str);

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
    #[cfg(feature = "split")]
    let read = import_connections_chunk(text).await;
    #[cfg(not(feature = "split"))]
    let read = import_connections_chunk(text);
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
    #[cfg(feature = "split")]
    let forgetting = forget_chunk(scope, unsent_agreed).await;
    #[cfg(not(feature = "split"))]
    let forgetting = forget_chunk(scope, unsent_agreed);
    match forgetting {
        Ok(forgetting) => Ok(forgetting.await),
        Err(_) => Err(ChunkError("deletion of stored data")),
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

/// Fetches the topic viewer's chunk (nothing to fetch in a build without chunks) and mounts it.
async fn topic_viewer(
    owner: Owner,
    slot: web_sys::HtmlElement,
    session: ChatSession,
    route: RwSignal<PageRoute>,
    hidden: Signal<bool>,
) -> Result<(), ChunkError> {
    #[cfg(feature = "split")]
    let mounted = mount_topic_viewer(owner, slot, session, route, hidden).await;
    #[cfg(not(feature = "split"))]
    let mounted = mount_topic_viewer(owner, slot, session, route, hidden);
    mounted.map_err(|_| ChunkError("topic viewer"))
}

#[derive(Clone, PartialEq)]
enum Load {
    Idle,
    Loading,
    Ready,
    Failed(ChunkError),
}

/// The topic viewer, fetched the first time it is shown (at once on a `#/watch` link) and
/// kept from then on, hidden while the chat shows.
#[component]
pub fn LazyTopicViewer(
    session: ChatSession,
    route: RwSignal<PageRoute>,
    #[prop(into)] hidden: Signal<bool>,
) -> impl IntoView {
    let load = RwSignal::new(Load::Idle);
    let slot = NodeRef::<html::Div>::new();
    // The task that mounts it runs outside any owner: it is given this one.
    let owner = StoredValue::new(Owner::current());
    let fetch = move || {
        let (Some(element), Some(owner)) = (slot.get_untracked(), owner.get_value()) else {
            return;
        };
        load.set(Load::Loading);
        let element: web_sys::HtmlElement = element.into();
        leptos::task::spawn_local(async move {
            let done = match topic_viewer(owner, element, session, route, hidden).await {
                Ok(()) => Load::Ready,
                Err(e) => Load::Failed(e),
            };
            load.try_set(done);
        });
    };
    Effect::new(move |_| {
        if !hidden.get() && slot.get().is_some() && load.get_untracked() == Load::Idle {
            fetch();
        }
    });
    let state = move || match load.get() {
        Load::Idle | Load::Ready => None,
        Load::Loading => Some(Ok(())),
        Load::Failed(e) => Some(Err(e)),
    };
    view! {
        <div id="watch-slot" class="chunk-slot" node_ref=slot></div>
        {move || {
            state()
                .map(|state| {
                    view! {
                        <section id="watch-chunk" class="watch-view" hidden=move || hidden.get()>
                            {match state {
                                Ok(()) => {
                                    leptos::either::Either::Left(
                                        view! { <p role="status">"Loading the topic viewer…"</p> },
                                    )
                                }
                                Err(e) => {
                                    leptos::either::Either::Right(
                                        view! {
                                            <a id="chat-link" href="#/">
                                                "Back to the chat"
                                            </a>
                                            <p class="chunk-error" role="alert">
                                                {e.to_string()}
                                            </p>
                                            <button
                                                type="button"
                                                id="chunk-retry"
                                                on:click=move |_| fetch()
                                            >
                                                "Try again"
                                            </button>
                                        },
                                    )
                                }
                            }}
                        </section>
                    }
                })
        }}
    }
}
