//! The form: `#name` (remembered across reloads), `#message` (Enter sends, Shift+Enter adds
//! a line), `#publish`. Bad input gets a hint in words and nothing typed is lost.

use chat::{validate_draft, DraftError, MAX_MESSAGE_BYTES};
use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::html::{Form, Input, Textarea};
use leptos::prelude::*;

use crate::persist::prefs;
use crate::session::ChatSession;

#[component]
pub fn Composer(session: ChatSession) -> impl IntoView {
    let name = session.name;
    let message = RwSignal::new(prefs::load_draft());
    let hint = RwSignal::new(None::<String>);
    // A message whose sending failed after it left the box comes back into it, once its
    // room is open.
    Effect::new(move |_| {
        let open = session.rooms.with(|r| r.open().clone());
        let Some(text) = session.returned.with(|r| {
            r.as_ref()
                .filter(|(room, _)| *room == open)
                .map(|(_, text)| text.clone())
        }) else {
            return;
        };
        session.returned.set(None);
        message.update(|m| {
            if !m.is_empty() {
                m.push('\n');
            }
            m.push_str(&text);
        });
        prefs::save_draft(&message.get_untracked());
    });
    let form = NodeRef::<Form>::new();
    let name_input = NodeRef::<Input>::new();
    let textarea = NodeRef::<Textarea>::new();

    // Signed in, the name is the user name: the broker vouches for it (see `chat::topics`).
    let signed_in = session.signed_in_as();
    let locked = signed_in.is_some();
    let name_title = signed_in.map(|u| {
        format!("Signed in as {u}: your messages carry this name, checked by the broker.")
    });
    let remember_name = move |value: &str| {
        if locked {
            return;
        }
        if let Err(e) = prefs::save_name(value) {
            hint.set(Some(e));
        }
    };

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match validate_draft(&name.get_untracked(), &message.get_untracked()) {
            Err(e) => {
                // Take the user to the field the hint is about.
                let _ = match e {
                    DraftError::EmptyName | DraftError::NameTooLong { .. } => {
                        name_input.get_untracked().map(|el| el.focus())
                    }
                    _ => textarea.get_untracked().map(|el| el.focus()),
                };
                hint.set(Some(e.to_string()));
            }
            Ok(draft) => match session.send(draft) {
                Ok(()) => {
                    remember_name(name.get_untracked().trim());
                    message.set(String::new());
                    prefs::save_draft("");
                    hint.set(None);
                    if let Some(el) = textarea.get_untracked() {
                        let _ = el.focus();
                    }
                }
                Err(e) => hint.set(Some(e.to_string())),
            },
        }
    };

    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Escape" && session.replying.with_untracked(Option::is_some) {
            ev.prevent_default();
            session.replying.set(None);
        } else if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            if let Some(form) = form.get_untracked() {
                let _ = form.request_submit();
            }
        }
    };

    let bytes = Memo::new(move |_| message.with(|m| m.len()));
    let over = Memo::new(move |_| bytes.get() > MAX_MESSAGE_BYTES);
    view! {
        <form class="composer" node_ref=form on:submit=on_submit novalidate>
            {move || {
                session.replying.get().map(|quote| {
                    view! {
                        <div class="replying" role="status">
                            <span class="replying-label">"Replying to"</span>
                            <span class="quote">
                                <span class="quote-name">{quote.name}</span>
                                <span class="quote-text">{quote.text}</span>
                            </span>
                            <button
                                type="button"
                                id="reply-cancel"
                                class="link"
                                title="Cancel the reply (Escape)"
                                on:click=move |_| session.replying.set(None)
                            >
                                "Cancel"
                            </button>
                        </div>
                    }
                })
            }}
            <label class="field name-field">
                <span>"Name"</span>
                <input
                    id="name"
                    type="text"
                    autocomplete="nickname"
                    placeholder="Your name"
                    node_ref=name_input
                    readonly=locked
                    title=name_title
                    prop:value=move || name.get()
                    on:input=move |ev| {
                        name.set(event_target_value(&ev));
                        session.name_changed();
                    }
                    on:change=move |_| remember_name(name.get_untracked().trim())
                />
            </label>
            <label class="field message-field">
                <span>"Message"</span>
                <textarea
                    id="message"
                    rows="2"
                    placeholder="Type a message. Enter sends, Shift+Enter adds a line."
                    node_ref=textarea
                    prop:value=move || message.get()
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        prefs::save_draft(&text);
                        if !text.trim().is_empty() {
                            session.typed();
                        }
                        message.set(text);
                    }
                    on:keydown=on_keydown
                ></textarea>
            </label>
            <div class="actions">
                <button id="publish" type="submit">"Send"</button>
                <span class="size" class:over=over>
                    {move || format!("{} / {MAX_MESSAGE_BYTES} bytes", bytes.get())}
                </span>
            </div>
            <p id="hint" class="hint" role="alert">{move || hint.get()}</p>
        </form>
    }
}
