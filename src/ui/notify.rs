//! `#notify`: what the open room notifies of while the tab is hidden (off, mentions, every
//! message). Choosing one that notifies asks for the browser's permission then, never on
//! load; a refusal is said in words and the choice stays as it was.

use chat::Level;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::session::ChatSession;

#[component]
pub fn NotifyChoice(session: ChatSession) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let level = move || {
        let room = session.rooms.with(|r| r.open().clone());
        session.notify.with(|n| n.level(&room)).as_str()
    };
    let on_change = move |ev: leptos::ev::Event| {
        let Some(select) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
        else {
            return;
        };
        let Some(chosen) = Level::parse(&select.value()) else {
            return;
        };
        leptos::task::spawn_local(async move {
            match session.set_notify(chosen).await {
                Ok(()) => error.set(None),
                Err(why) => {
                    // The choice did not take: the box shows what holds.
                    select.set_value(level());
                    error.set(Some(why));
                }
            }
        });
    };
    view! {
        <label class="notify-field" title="Browser notifications while this tab is hidden">
            <span class="visually-hidden">"Notify me of"</span>
            <select id="notify" prop:value=level on:change=on_change>
                <option value="off">"Notify: off"</option>
                <option value="mentions">"Notify: mentions"</option>
                <option value="all">"Notify: every message"</option>
            </select>
        </label>
        <p id="notify-error" class="notify-error" role="alert">
            {move || error.get().unwrap_or_default()}
        </p>
    }
}
