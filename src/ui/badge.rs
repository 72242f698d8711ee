//! `#connect-badge`: exactly `connected` while connected, otherwise the state and why.

use std::time::Duration;

use chat::ConnectionStatus;
use leptos::prelude::*;

use crate::browser::wall_clock_ms;
use crate::session::ChatSession;

#[component]
pub fn ConnectBadge(session: ChatSession) -> impl IntoView {
    let status = session.status;
    // A clock for the "reconnecting in N s" countdown; read only while reconnecting.
    let now = RwSignal::new(wall_clock_ms());
    if let Ok(tick) =
        set_interval_with_handle(move || now.set(wall_clock_ms()), Duration::from_millis(250))
    {
        on_cleanup(move || tick.clear());
    }
    let label = move || {
        status.with(|s| match s {
            ConnectionStatus::Reconnecting { .. } => s.label(now.get()),
            other => other.label(0.0),
        })
    };
    let retry_label = move || {
        status.with(|s| match s {
            ConnectionStatus::Reconnecting { .. } => Some("Retry now"),
            ConnectionStatus::Offline { .. } | ConnectionStatus::Refused { .. } => {
                Some("Reconnect")
            }
            _ => None,
        })
    };
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
                {label}
            </span>
            {move || retry_label().map(|text| view! {
                <button id="retry" type="button" class="retry" on:click=move |_| session.retry()>
                    {text}
                </button>
            })}
        </div>
    }
}
