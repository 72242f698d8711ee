//! `#connect-badge`: exactly `connected` while connected, otherwise the state and why.
//! With several brokers (a cluster's nodes), it also says which one: `connecting to <url>`
//! while trying one, and `#connect-broker` beside it, `on <url>`, while connected.
//! `data-broker` always holds the broker the link is on or tries next.

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
    let several = session.brokers > 1;
    let broker = session.broker;
    let label = move || {
        status.with(|s| match s {
            ConnectionStatus::Reconnecting { .. } => s.label(now.get()),
            ConnectionStatus::Connecting if several => broker
                .with(|b| b.as_ref().map(|url| format!("connecting to {url}")))
                .unwrap_or_else(|| s.label(0.0)),
            other => other.label(0.0),
        })
    };
    // Beside the badge while connected: which of the brokers serves (empty otherwise).
    let on_broker = move || {
        if several && status.with(ConnectionStatus::is_connected) {
            broker.with(|b| b.as_ref().map(|url| format!("on {url}")))
        } else {
            None
        }
        .unwrap_or_default()
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
                data-broker=move || broker.get()
                title=move || session.client_id.get().map(|id| format!("MQTT client id {id}"))
            >
                {label}
            </span>
            <span id="connect-broker" class="broker">{on_broker}</span>
            {move || retry_label().map(|text| view! {
                <button id="retry" type="button" class="retry" on:click=move |_| session.retry()>
                    {text}
                </button>
            })}
        </div>
    }
}
