//! The view: Leptos components that read the session's signals. No protocol logic here.

mod badge;
mod composer;
mod notices;
mod table;

use leptos::prelude::*;

use crate::config::AppConfig;
use crate::session::ChatSession;

pub use badge::ConnectBadge;
pub use composer::Composer;
pub use notices::NoticeList;
pub use table::MessageTable;

/// The whole app for one page.
#[component]
pub fn App(config: AppConfig) -> impl IntoView {
    let session = ChatSession::start(config);
    view! {
        <div class="app">
            <header class="top">
                <h1>"MQTT chat"</h1>
                <ConnectBadge session=session />
            </header>
            <NoticeList session=session />
            <MessageTable session=session />
            <Composer session=session />
        </div>
    }
}
