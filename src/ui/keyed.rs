//! Small lists drawn by hand (notices, rooms, people, watched filters, saved connections):
//! each item is an element made once and kept while its key is in the list, drawn again
//! only when what it shows (its "look") changes. Buttons carry `data-` attributes and the
//! list answers their clicks in one listener of its own (see [`clicked`]).
//!
//! Why not Leptos's keyed list: each one is about 5 KiB of the gzipped Wasm (five of them
//! were 27 KiB), and every item it ever drew leaves a little memory behind until the list
//! goes. The one piece of code here serves every list.

use leptos::html::Ul;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement};

/// One item to show: its key, and a text that changes whenever what it shows changes.
pub struct Item {
    pub key: String,
    pub look: String,
}

struct Drawn {
    key: String,
    look: String,
    el: Element,
}

/// The items on the page, in order.
#[derive(Default)]
pub struct Keyed {
    drawn: Vec<Drawn>,
}

/// Make `parent` show `items` in order; `draw(doc, i)` makes the element of `items[i]`.
/// An item whose look changed is drawn again in place, and keeps the keyboard focus if it
/// had it (on the element of the same class).
pub fn sync(
    parent: &Element,
    keyed: &mut Keyed,
    items: &[Item],
    draw: &dyn Fn(&Document, usize) -> Option<Element>,
) {
    let Some(doc) = parent.owner_document() else {
        return;
    };
    // Moving an element in the DOM takes the focus from it: it is given back at the end.
    let focused = doc.active_element().filter(|a| parent.contains(Some(a)));
    let mut old = std::mem::take(&mut keyed.drawn);
    // Items that left first, so the rest keep their places.
    old.retain(|d| {
        let kept = items.iter().any(|i| i.key == d.key);
        if !kept {
            d.el.remove();
        }
        kept
    });
    let mut at: Option<web_sys::Node> = parent.first_child();
    for (i, item) in items.iter().enumerate() {
        let found = old.iter().position(|d| d.key == item.key);
        let drawn = match found.map(|p| old.swap_remove(p)) {
            Some(d) if d.look == item.look => d,
            stale => {
                let Some(el) = draw(&doc, i) else {
                    // Not drawable (the document refused the element): not left showing
                    // what it showed before either.
                    if let Some(stale) = stale {
                        stale.el.remove();
                    }
                    continue;
                };
                if let Some(stale) = stale {
                    let focus = focused_class(&doc, &stale.el);
                    let _ = parent.replace_child(&el, &stale.el);
                    if at.as_ref() == Some(stale.el.as_ref()) {
                        at = Some(el.clone().into());
                    }
                    if let Some(class) = focus {
                        refocus(&el, &class);
                    }
                }
                Drawn {
                    key: item.key.clone(),
                    look: item.look.clone(),
                    el,
                }
            }
        };
        let node: &web_sys::Node = &drawn.el;
        if at.as_ref() == Some(node) {
            at = node.next_sibling();
        } else {
            let _ = parent.insert_before(node, at.as_ref());
        }
        keyed.drawn.push(drawn);
    }
    if let Some(f) = focused {
        let lost = doc
            .active_element()
            .is_none_or(|a| !a.is_same_node(Some(&f)));
        if lost && f.is_connected() {
            if let Some(f) = f.dyn_ref::<HtmlElement>() {
                let _ = f.focus();
            }
        }
    }
}

/// What a list's render gets: call it with the items and how to draw one.
pub type Sync<'a> = dyn FnMut(&[Item], &dyn Fn(&Document, usize) -> Option<Element>) + 'a;

/// Keep `list` showing what `render` reads: it runs again whenever a signal it read
/// changes, and hands the items and how to draw one to its argument.
pub fn keep_drawn(list: NodeRef<Ul>, render: impl Fn(&mut Sync) + 'static) {
    let drawn = StoredValue::new_local(Keyed::default());
    Effect::new(move |_| {
        let Some(el) = list.get() else {
            return;
        };
        render(&mut |items, draw| drawn.update_value(|d| sync(&el, d, items, draw)));
    });
}

/// The class of the focused element, if it is inside `el`.
fn focused_class(doc: &Document, el: &Element) -> Option<String> {
    let active = doc.active_element()?;
    el.contains(Some(&active)).then(|| active.class_name())
}

fn refocus(el: &Element, class: &str) {
    let target = match class.split_whitespace().next() {
        Some(first) => el.query_selector(&format!(".{first}")).ok().flatten(),
        None => Some(el.clone()),
    };
    if let Some(t) = target.and_then(|t| t.dyn_into::<HtmlElement>().ok()) {
        let _ = t.focus();
    }
}

/// The button a click in a list landed on: its class and its `data-key`.
pub fn clicked(ev: &web_sys::MouseEvent) -> Option<(String, String)> {
    let target = ev.target()?.dyn_into::<Element>().ok()?;
    let button = target.closest("button[data-key]").ok()??;
    Some((button.class_name(), button.get_attribute("data-key")?))
}

/// A `button` with `class`, `data-key`, a label for screen readers and text.
pub fn button(
    doc: &Document,
    parent: &Element,
    class: &str,
    key: &str,
    label: &str,
    text: &str,
) -> Element {
    let b = append(doc, parent, "button", class, text);
    let _ = b.set_attribute("type", "button");
    let _ = b.set_attribute("data-key", key);
    if !label.is_empty() {
        let _ = b.set_attribute("aria-label", label);
        let _ = b.set_attribute("title", label);
    }
    b
}

/// A new `tag` element with `class` and `text` (as text), at the end of `parent`.
pub(crate) fn append(
    doc: &Document,
    parent: &Element,
    tag: &str,
    class: &str,
    text: &str,
) -> Element {
    // Our tag names are valid: creating them does not fail.
    let Ok(el) = doc.create_element(tag) else {
        return parent.clone();
    };
    if !class.is_empty() {
        el.set_class_name(class);
    }
    if !text.is_empty() {
        el.set_text_content(Some(text));
    }
    let _ = parent.append_child(&el);
    el
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    fn items(list: &[(&str, &str)]) -> Vec<Item> {
        list.iter()
            .map(|(k, l)| Item {
                key: (*k).into(),
                look: (*l).into(),
            })
            .collect()
    }

    /// Draws `li[data-key]` with a button, its text the look.
    fn sync_all(ul: &Element, keyed: &mut Keyed, list: &[Item]) {
        sync(ul, keyed, list, &|doc, i| {
            let li = doc.create_element("li").ok()?;
            let _ = li.set_attribute("data-key", &list[i].key);
            button(doc, &li, "open", &list[i].key, "", &list[i].look);
            Some(li)
        });
    }

    fn shown(ul: &Element) -> Vec<String> {
        let kids = ul.children();
        (0..kids.length())
            .filter_map(|i| kids.item(i))
            .map(|li| li.text_content().unwrap_or_default())
            .collect()
    }

    #[wasm_bindgen_test]
    fn items_keep_their_elements_move_and_are_drawn_again_only_when_their_look_changes() {
        let doc = gloo_utils::document();
        let ul = doc.create_element("ul").unwrap();
        doc.body().unwrap().append_child(&ul).unwrap();
        let mut keyed = Keyed::default();
        sync_all(
            &ul,
            &mut keyed,
            &items(&[("a", "A"), ("b", "B"), ("c", "<i>C</i>")]),
        );
        assert_eq!(shown(&ul), ["A", "B", "<i>C</i>"]);
        assert_eq!(ul.query_selector("i").unwrap(), None, "text, never HTML");
        let b = ul.query_selector("li[data-key=b]").unwrap().unwrap();
        let c = ul.query_selector("li[data-key=c]").unwrap().unwrap();

        // a leaves, c moves first, b changes its look, d comes.
        let focus = c.query_selector("button").unwrap().unwrap();
        focus.dyn_ref::<HtmlElement>().unwrap().focus().unwrap();
        sync_all(
            &ul,
            &mut keyed,
            &items(&[("c", "<i>C</i>"), ("b", "B2"), ("d", "D")]),
        );
        assert_eq!(shown(&ul), ["<i>C</i>", "B2", "D"]);
        let c2 = ul.query_selector("li[data-key=c]").unwrap().unwrap();
        assert!(
            c2.is_same_node(Some(&c)),
            "an unchanged item keeps its element"
        );
        let b2 = ul.query_selector("li[data-key=b]").unwrap().unwrap();
        assert!(!b2.is_same_node(Some(&b)), "a changed one is drawn again");

        // The focused item changes: the focus stays on its button.
        sync_all(
            &ul,
            &mut keyed,
            &items(&[("c", "C!"), ("b", "B2"), ("d", "D")]),
        );
        let active = doc.active_element().unwrap();
        assert_eq!(active.get_attribute("data-key").as_deref(), Some("c"));
        assert_eq!(active.text_content().as_deref(), Some("C!"));
    }
}
