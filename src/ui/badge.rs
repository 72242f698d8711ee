//! `#connect-badge`: exactly `connected` while connected, otherwise the state and why.

use leptos::prelude::*;

use crate::session::ChatSession;

#[component]
pub fn ConnectBadge(session: ChatSession) -> impl IntoView {
    let status = session.status;
    let can_retry = move || status.with(|s| matches!(s.state(), "offline" | "refused"));
    view! {
        <div class="status">
            <span
                id="connect-badge"
                class="badge"
                role="status"
                aria-live="polite"
                data-state=move || status.with(|s| s.state())
                data-client-id=move || session.client_id.get()
                title=move || session.client_id.get().map(|id| format!("MQTT client id {id}"))
            >
                {move || status.with(|s| s.label())}
            </span>
            <Show when=can_retry>
                <button id="retry" type="button" class="retry" on:click=move |_| session.retry()>
                    "Reconnect"
                </button>
            </Show>
        </div>
    }
}
