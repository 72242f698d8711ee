//! The view: Leptos components that read the session's signals. No protocol logic here.
//!
//! Layout: a banner with the connection badge and the connection panel; the rooms (`nav`); the open room (`main`:
//! notices, messages, who is typing, the composer); the people in it (`aside`); and a
//! visually hidden live region that announces new messages.

mod badge;
mod chunks;
mod composer;
pub(crate) mod keyed;
mod message_rows;
mod notices;
mod notify;
mod presence;
mod reactions;
mod rooms;
mod search;
mod search_panel;
mod settings;
mod table;
pub(crate) mod viewer;

use leptos::prelude::*;

use crate::browser::route::{self, PageRoute};
use crate::config::AppConfig;
use crate::session::ChatSession;

pub use badge::ConnectBadge;
pub use chunks::LazyTopicViewer;
pub use composer::Composer;
pub use notices::NoticeList;
pub use presence::PresenceList;
pub use rooms::RoomList;
pub use settings::{ConnectionPanel, Current};
pub use table::MessageTable;
pub use viewer::TopicViewer;

/// The whole app for one page.
#[component]
pub fn App(config: AppConfig) -> impl IntoView {
    let current = Current::from_config(&config);
    let session = ChatSession::start(config);
    // The tab's title carries the unread count while the tab is hidden.
    Effect::new(move |_| {
        let hidden = !session.visible.get();
        let title = session.rooms.with(|r| r.title(hidden));
        let document = gloo_utils::document();
        if document.title() != title {
            document.set_title(&title);
        }
    });
    let room_title = move || session.rooms.with(|r| format!("# {}", r.open()));
    // The route is the location hash: links and the back button change it.
    let route = RwSignal::new(route::current());
    if let Some(window) = web_sys::window() {
        let listener = gloo_events::EventListener::new(&window, "hashchange", move |_| {
            // A key link opened in this tab (private rooms): read, then out of the address.
            session.key_link_in_address();
            route.try_set(route::current());
        });
        let listener = StoredValue::new_local(Some(listener));
        on_cleanup(move || drop(listener.try_update_value(Option::take)));
    }
    let watching = Signal::derive(move || route.with(PageRoute::is_watch));
    let chatting = Signal::derive(move || !watching.get());
    view! {
        <div class="app" data-view=move || if watching.get() { "watch" } else { "chat" }>
            <header class="top">
                <h1>"MQTT chat"</h1>
                <ConnectBadge session=session />
                <ConnectionPanel session=session current=current />
            </header>
            <RoomList session=session hidden=watching />
            <main class="room-view" hidden=move || watching.get()>
                <div class="watch-head">
                    <h2 class="room-title">{room_title}</h2>
                    // Here, not in the banner: the badge's words change length as it counts
                    // down, and must not move the page.
                    <search::SearchBox session=session route=route />
                    <notify::NotifyChoice session=session />
                    <a id="watch-link" href="#/watch">"Topic viewer"</a>
                </div>
                <NoticeList session=session />
                <MessageTable session=session />
                <p id="typing" class="typing">{move || session.typing_text.get()}</p>
                <Composer session=session />
            </main>
            <PresenceList session=session hidden=watching />
            <LazyTopicViewer session=session route=route hidden=chatting />
            <div id="announcer" class="visually-hidden" aria-live="polite" aria-atomic="true">
                {move || session.announcement.get()}
            </div>
        </div>
    }
}
