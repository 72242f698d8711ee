//! `#notices`: problems that are not the connection state, one line each, each until its
//! cause is gone or the user dismisses it.

use chat::Notice;
use leptos::prelude::*;

use crate::session::ChatSession;

#[component]
pub fn NoticeList(session: ChatSession) -> impl IntoView {
    let notices = session.notices;
    let items = move || notices.with(|n| n.iter().cloned().collect::<Vec<Notice>>());
    view! {
        <ul id="notices" class="notices" role="alert" aria-live="polite">
            <For each=items key=|n| (n.kind(), n.to_string()) let:notice>
                <li class="notice" data-kind=notice.kind().as_str()>
                    <span>{notice.to_string()}</span>
                    <button
                        type="button"
                        class="dismiss"
                        title="Dismiss"
                        aria-label="Dismiss"
                        on:click={
                            let kind = notice.kind();
                            move |_| {
                                notices.update(|n| {
                                    n.clear(kind);
                                })
                            }
                        }
                    >
                        "×"
                    </button>
                </li>
            </For>
        </ul>
    }
}
