//! A row's reactions, as the user gives them: `button.react` opens a small picker of emoji
//! (`.react-picker button.pick`), and a chip of `.reactions` (drawn by `message_rows`) adds
//! or takes back the user's own. Clicks reach here from the table's one listener.

use wasm_bindgen::JsCast;
use web_sys::Element;

use super::keyed::append;
use crate::session::ChatSession;

/// Answer a click on `target` in the table, if it was one of the reactions' buttons: `None`
/// if it was not. A click anywhere else closes an open picker.
pub fn clicked(session: ChatSession, target: &Element) -> Option<bool> {
    let closest = |selector: &str| target.closest(selector).ok().flatten();
    if let Some(pick) = closest("button.pick").or_else(|| closest("button.reaction")) {
        let emoji = pick.get_attribute("data-emoji")?;
        let tr = pick.closest("tr").ok().flatten()?;
        let id = tr.get_attribute("data-id")?;
        close_picker();
        let result = session.react(&id, &emoji, &name());
        say(&tr, result.err().map(|e| format!("Not sent: {e}")));
        return Some(true);
    }
    if let Some(button) = closest("button.react") {
        let open = button.get_attribute("aria-expanded").as_deref() == Some("true");
        close_picker();
        if !open {
            open_picker(&button);
        }
        return Some(true);
    }
    if closest(".react-picker").is_none() {
        close_picker();
    }
    None
}

/// Close the open picker, if there is one (Escape), giving the focus back to its button.
pub fn close_picker() -> bool {
    let doc = gloo_utils::document();
    let Some(picker) = doc.query_selector(".react-picker").ok().flatten() else {
        return false;
    };
    let button = picker
        .parent_element()
        .and_then(|cell| cell.query_selector("button.react").ok().flatten());
    picker.remove();
    if let Some(button) = button {
        let _ = button.set_attribute("aria-expanded", "false");
        if let Ok(button) = button.dyn_into::<web_sys::HtmlElement>() {
            let _ = button.focus();
        }
    }
    true
}

fn open_picker(button: &Element) {
    let (Some(cell), Some(doc)) = (button.parent_element(), button.owner_document()) else {
        return;
    };
    let picker = append(&doc, &cell, "div", "react-picker", "");
    let _ = picker.set_attribute("role", "group");
    let _ = picker.set_attribute("aria-label", "Pick a reaction");
    for emoji in chat::reactions::PICKS {
        let pick = append(&doc, &picker, "button", "pick", emoji);
        let _ = pick.set_attribute("type", "button");
        let _ = pick.set_attribute("data-emoji", emoji);
        let _ = pick.set_attribute("aria-label", &format!("React {emoji}"));
    }
    let _ = button.set_attribute("aria-expanded", "true");
    if let Some(first) = picker.first_element_child() {
        if let Ok(first) = first.dyn_into::<web_sys::HtmlElement>() {
            let _ = first.focus();
        }
    }
}

/// The name in the composer, which a reaction goes out under.
fn name() -> String {
    gloo_utils::document()
        .get_element_by_id("name")
        .and_then(|el| el.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|input| input.value().trim().to_owned())
        .unwrap_or_default()
}

/// Why a reaction was not sent, in words on its row (`None`: clear what was said).
fn say(tr: &Element, words: Option<String>) {
    let old = tr.query_selector(".react-error").ok().flatten();
    if let Some(old) = &old {
        old.remove();
    }
    let (Some(words), Some(cell), Some(doc)) =
        (words, tr.last_element_child(), tr.owner_document())
    else {
        return;
    };
    let span = append(&doc, &cell, "span", "react-error", &words);
    let _ = span.set_attribute("role", "alert");
}
