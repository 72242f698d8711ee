//! `#search`, on the chat's first screen: the box, its shortcuts (Ctrl+K or `/` to focus
//! it), and a slot for the results. What finds and lists them, and the box's own keys
//! (Escape, arrows, Enter), are a chunk (`search_panel`), fetched the first time the search
//! opens.

use leptos::html::{Div, Input};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::chunks::LazySearchPanel;
use crate::browser::route::PageRoute;
use crate::session::ChatSession;

/// The search as the box and the results share it.
#[derive(Clone, Copy)]
pub struct SearchState {
    pub query: RwSignal<String>,
    /// The results show (the box was focused or typed in, and not closed since).
    pub open: RwSignal<bool>,
    pub input: NodeRef<Input>,
    pub area: NodeRef<Div>,
}

impl SearchState {
    /// Hide the results (the query stays in the box).
    pub fn close(&self) {
        self.open.set(false);
        if let Some(input) = self.input.get_untracked() {
            let _ = input.blur();
        }
    }

    /// Put the caret in the box, its text selected, and show the results.
    pub fn focus(&self) {
        if let Some(input) = self.input.get_untracked() {
            let _ = input.focus();
            input.select();
        }
        self.open.set(true);
    }

    /// The listed results, in order.
    pub fn results(&self) -> Vec<web_sys::HtmlElement> {
        let Some(area) = self.area.get_untracked() else {
            return Vec::new();
        };
        let Ok(list) = area.query_selector_all("#search-results li") else {
            return Vec::new();
        };
        (0..list.length())
            .filter_map(|i| list.get(i)?.dyn_into().ok())
            .collect()
    }
}

/// Whether a key typed into `target` is text for it (so `/` there is not a shortcut).
fn takes_text(target: Option<web_sys::EventTarget>) -> bool {
    let Some(el) = target.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return false;
    };
    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT") || el.is_content_editable()
}

#[component]
pub fn SearchBox(session: ChatSession, route: RwSignal<PageRoute>) -> impl IntoView {
    let state = SearchState {
        query: RwSignal::new(String::new()),
        open: RwSignal::new(false),
        input: NodeRef::new(),
        area: NodeRef::new(),
    };
    if let Some(window) = web_sys::window() {
        // `/` focuses the box once the key is up: on its way down the key is only kept from
        // the page (Firefox's quick find), so its character never lands in the box.
        let slash = StoredValue::new(false);
        let down = gloo_events::EventListener::new(&window, "keydown", move |ev| {
            let Some(ev) = ev.dyn_ref::<web_sys::KeyboardEvent>() else {
                return;
            };
            let ctrl = ev.ctrl_key() || ev.meta_key();
            if ctrl && !ev.alt_key() && ev.key().eq_ignore_ascii_case("k") {
                ev.prevent_default();
                state.focus();
            } else if ev.key() == "/" && !ctrl && !ev.alt_key() && !takes_text(ev.target()) {
                ev.prevent_default();
                slash.set_value(true);
            }
        });
        let up = gloo_events::EventListener::new(&window, "keyup", move |ev| {
            let Some(ev) = ev.dyn_ref::<web_sys::KeyboardEvent>() else {
                return;
            };
            if ev.key() == "/" && slash.get_value() {
                slash.set_value(false);
                state.focus();
            }
        });
        let listeners = StoredValue::new_local(Some((down, up)));
        on_cleanup(move || drop(listeners.try_update_value(Option::take)));
    }
    view! {
        <div class="search" role="search" node_ref=state.area>
            <input
                id="search"
                type="search"
                placeholder="Search messages"
                title="Search every room's messages (Ctrl+K or /)"
                aria-label="Search messages"
                aria-keyshortcuts="Control+K /"
                autocomplete="off"
                spellcheck="false"
                node_ref=state.input
                on:focus=move |_| state.open.set(true)
                on:input=move |ev| {
                    state.query.set(event_target_value(&ev));
                    state.open.set(true);
                }
            />
            <LazySearchPanel session=session state=state route=route />
        </div>
    }
}
