//! `#export-watch`: what the viewer holds, downloaded as JSON or CSV
//! (`chat::viewer::export`): the stream's rows in stream mode, else the latest message of
//! each topic (the latest view's, or the tree's in tree mode).

use chat::export::Format;
use chat::viewer::export::write;
use leptos::prelude::*;

use crate::session::ChatSession;

#[component]
pub fn ExportWatch(
    session: ChatSession,
    #[prop(into)] streaming: Signal<bool>,
    #[prop(into)] tree: Signal<bool>,
) -> impl IntoView {
    let format = RwSignal::new(Format::Json);
    let words = RwSignal::new(None::<String>);
    let on_export = move |_| {
        let (text, count) = session.watch.with_untracked(|w| {
            let rows: Vec<std::sync::Arc<chat::Seen>> = if streaming.get_untracked() {
                w.stream()
            } else if tree.get_untracked() {
                w.tools()
                    .map(|t| t.tree().leaves().map(|l| l.last.clone()).collect())
                    .unwrap_or_default()
            } else {
                w.latest().into_iter().map(|(s, _)| s).collect()
            };
            (
                write(format.get_untracked(), rows.iter().map(|s| s.as_ref())),
                rows.len(),
            )
        });
        let f = format.get_untracked();
        let mode = if streaming.get_untracked() {
            "stream"
        } else {
            "latest"
        };
        let name = format!("mqtt-viewer-{mode}.{}", f.extension());
        let parts = js_sys::Array::of1(&text.into());
        words.set(Some(
            match crate::persist::export::save(&parts, f.mime(), &name) {
                Ok(()) => format!(
                    "Exported {count} message{} as {name}.",
                    if count == 1 { "" } else { "s" }
                ),
                Err(e) => format!("Not exported: the browser refused the download ({e})."),
            },
        ));
    };
    view! {
        <div class="export-watch">
            <label for="export-watch-format">"Export as"</label>
            <select
                id="export-watch-format"
                on:change=move |ev| {
                    format.set(Format::parse(&event_target_value(&ev)).unwrap_or(Format::Json))
                }
            >
                <option value="json" selected>"JSON"</option>
                <option value="csv">"CSV"</option>
            </select>
            <button id="export-watch" type="button" on:click=on_export>
                "Export"
            </button>
            <span id="export-watch-status" class="hint" role="status">
                {move || words.get()}
            </span>
        </div>
    }
}
