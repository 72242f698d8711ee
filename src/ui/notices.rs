//! `#notices`: problems that are not the connection state, one line each, each until its
//! cause is gone or the user dismisses it. Drawn by hand (see `keyed`).

use chat::Notice;
use leptos::prelude::*;

use super::keyed::append;
use super::keyed::{self, Item};
use crate::session::ChatSession;

#[component]
pub fn NoticeList(session: ChatSession) -> impl IntoView {
    let notices = session.notices;
    let list = NodeRef::<leptos::html::Ul>::new();
    keyed::keep_drawn(list, move |sync| {
        notices.with(|n| {
            let shown: Vec<&Notice> = n.iter().collect();
            let items: Vec<Item> = shown
                .iter()
                .map(|n| Item {
                    key: n.kind().as_str().to_owned(),
                    look: n.to_string(),
                })
                .collect();
            sync(&items, &|doc, i| {
                let kind = shown[i].kind().as_str();
                let li = doc.create_element("li").ok()?;
                li.set_class_name("notice");
                let _ = li.set_attribute("data-kind", kind);
                append(doc, &li, "span", "", &items[i].look);
                keyed::button(doc, &li, "dismiss", kind, "Dismiss", "×");
                Some(li)
            });
        });
    });
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if let Some((_, kind)) = keyed::clicked(&ev) {
            notices.update(|n| {
                let found = n.iter().map(Notice::kind).find(|k| k.as_str() == kind);
                if let Some(k) = found {
                    n.clear(k);
                }
            });
        }
    };
    view! { <ul id="notices" class="notices" role="alert" aria-live="polite" node_ref=list on:click=on_click></ul> }
}
