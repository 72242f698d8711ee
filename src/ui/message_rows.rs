//! The chat's `#messages` rows, drawn by hand like the viewer's (`viewer::rows`): each row is a
//! plain `tr` made once, its text set with `textContent` (never HTML), and kept while its
//! message is in the log. Only what can change on a row is looked at again: its delivery
//! state, a refusal, and whether the broker vouches for its author.
//!
//! Why not Leptos's keyed list: every row it ever drew leaves a little memory behind (the
//! list's owner keeps a weak link to each row's owner until the list goes), so a long
//! session or a burst of 100,000 messages grew the page by about 150 bytes a row for good.
//! A keyed list with a component per row is also the largest view code in the Wasm.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chat::{Chip, Delivery, Outbox, RawReason, Reactions, Refusal, Row, RowKind};
use web_sys::{Document, Element, Node};

use super::keyed::append;
use crate::browser::format_time;

/// What decides a drawn row's changing parts.
pub struct Context<'a> {
    /// The outbox, or `None` while the stored one is not known (no state rather than a
    /// wrong "delivered").
    pub outbox: Option<&'a Outbox>,
    pub refusals: &'a HashMap<String, Refusal>,
    /// The broker pins authors (see `session::vouch`): verified authors are shown.
    pub vouched: bool,
    /// The `data-id` of the row a search result led to: marked `found`.
    pub found: Option<&'a str>,
    /// The reactions on the rows' messages, and who "mine" is (this browser's person id).
    pub reactions: Option<&'a Reactions>,
    pub me: &'a str,
    /// The user's name: someone else's message naming it (`@name`) is marked `mention`.
    pub name: &'a str,
    /// The open room is private: a chat row that did not arrive sealed is marked
    /// `unencrypted` (sent in the clear, readable by anyone on the broker).
    pub private: bool,
}

/// How a row looks where it can change.
#[derive(Clone, PartialEq, Eq, Default)]
struct Look {
    class: String,
    title: String,
    author: Option<String>,
    /// The delivery span's `data-delivery` and its words.
    delivery: Option<(&'static str, String)>,
    reactions: Vec<Chip>,
}

struct Drawn {
    key: u64,
    row: Element,
    look: Look,
    /// The delivery span, once the row has one.
    delivery: Option<Element>,
    /// The reactions' span, while it has any.
    reactions: Option<Element>,
}

/// The rows on the page, in the log's order.
#[derive(Default)]
pub struct Rows {
    drawn: Vec<Drawn>,
}

/// Make `body` show `rows` (oldest first) as they are now.
pub fn sync(body: &Element, drawn: &mut Rows, rows: &[Arc<Row>], cx: &Context) {
    let Some(doc) = body.owner_document() else {
        return;
    };
    // Rows that left the log first, so the rest keep their places and nothing moves.
    let keep: HashSet<u64> = rows.iter().map(|r| r.key).collect();
    let mut old: HashMap<u64, Drawn> = HashMap::with_capacity(drawn.drawn.len());
    for d in drawn.drawn.drain(..) {
        if keep.contains(&d.key) {
            old.insert(d.key, d);
        } else {
            d.row.remove();
        }
    }
    // Then walk the log in order: a row in its place stays, any other is put there.
    let mut at: Option<Node> = body.first_child();
    for row in rows {
        let look = look_of(row, cx);
        let d = match old.remove(&row.key) {
            Some(mut d) => {
                if d.look != look {
                    restyle(&doc, &mut d, look);
                }
                d
            }
            None => {
                let Some(d) = draw(&doc, row, look) else {
                    continue;
                };
                d
            }
        };
        let node: &Node = &d.row;
        if at.as_ref() == Some(node) {
            at = node.next_sibling();
        } else {
            let _ = body.insert_before(node, at.as_ref());
        }
        drawn.drawn.push(d);
    }
}

fn look_of(row: &Row, cx: &Context) -> Look {
    let refusal = row
        .id
        .as_ref()
        .filter(|_| row.own)
        .and_then(|id| cx.refusals.get(id));
    let author = row.verified.clone().filter(|_| cx.vouched);
    let reactions = match (&row.id, cx.reactions) {
        (Some(id), Some(r)) if !r.is_empty() => r.chips(id, cx.me),
        _ => Vec::new(),
    };
    let mut class = match row.kind {
        RowKind::Chat => "chat",
        // A private room's message this tab cannot open (yet): never its ciphertext.
        RowKind::Raw(RawReason::Sealed) => "raw undecryptable",
        RowKind::Raw(_) => "raw",
        RowKind::Skipped { .. } => "skipped",
    }
    .to_owned();
    for (on, name) in [
        (row.quote.is_some(), "reply"),
        (!reactions.is_empty(), "reacted"),
        (
            !row.own && row.kind == RowKind::Chat && chat::mentions(&row.text, cx.name),
            "mention",
        ),
        (row.own, "own"),
        (row.catch_up, "catch-up"),
        (
            cx.private && row.kind == RowKind::Chat && !row.encrypted,
            "unencrypted",
        ),
        (author.is_some(), "verified"),
        (cx.found.is_some_and(|id| id == row.dom_id()), "found"),
    ] {
        if on {
            class.push(' ');
            class.push_str(name);
        }
    }
    if let Some(r) = refusal {
        class.push(' ');
        class.push_str(r.class());
    }
    let title = match (&author, &row.kind) {
        (Some(user), _) => format!("Verified: the broker checked that {user} sent this."),
        (None, RowKind::Raw(RawReason::Sealed)) => {
            "A private room's message: its text shows when this tab has the room's key.".to_owned()
        }
        (None, RowKind::Raw(reason)) => format!("This payload is {reason}; it is shown as text."),
        (None, RowKind::Skipped { .. }) => {
            "Too large to show; it was acknowledged and skipped so the chat goes on.".to_owned()
        }
        (None, RowKind::Chat) if cx.private && !row.encrypted => {
            "Not encrypted: sent in the clear into this private room, so the broker and anyone subscribed could read it.".to_owned()
        }
        (None, RowKind::Chat) => String::new(),
    };
    // Own rows read their state from the outbox: still there means queued or sent, gone
    // means the broker acknowledged it.
    let delivery = match (refusal, row.own.then_some(row.id.as_ref()).flatten()) {
        (Some(r), _) => Some((r.class(), r.label())),
        (None, Some(id)) => cx.outbox.map(|o| {
            let d = o.delivery(id).unwrap_or(Delivery::Acknowledged).label();
            (d, d.to_owned())
        }),
        (None, None) => None,
    };
    Look {
        class,
        title,
        author,
        delivery,
        reactions,
    }
}

/// What a sealed row says in place of its text (issue 24).
pub const UNDECRYPTABLE: &str = "can't read this message: wrong or missing key";

/// A new row for `row`, not yet on the page.
fn draw(doc: &Document, row: &Row, look: Look) -> Option<Drawn> {
    let tr = doc.create_element("tr").ok()?;
    let _ = tr.set_attribute("data-own", if row.own { "true" } else { "false" });
    let _ = tr.set_attribute("data-id", &row.dom_id());
    let name = match &row.kind {
        RowKind::Raw(RawReason::Sealed) => "private".to_owned(),
        RowKind::Raw(reason) => format!("raw · {reason}"),
        _ => row.name.clone(),
    };
    append(doc, &tr, "td", "name", &name);
    let text = match &row.kind {
        RowKind::Raw(RawReason::Sealed) => UNDECRYPTABLE,
        _ => &row.text,
    };
    append(doc, &tr, "td", "message", text);
    let time = append(doc, &tr, "td", "time", "");
    append(doc, &time, "time", "", &format_time(row.received_at));
    if let Some(quote) = &row.quote {
        // Kept out of `td.message`, which holds the reply's text alone: in the last cell,
        // laid over the top of the message's (style.css).
        let quoted = append(doc, &time, "div", "quote", "");
        let _ = quoted.set_attribute("data-to", &quote.to);
        let _ = quoted.set_attribute("role", "button");
        let _ = quoted.set_attribute("tabindex", "0");
        let _ = quoted.set_attribute("title", "Go to the message answered");
        let who = if quote.name.is_empty() {
            "someone"
        } else {
            &quote.name
        };
        append(doc, &quoted, "span", "quote-name", who);
        append(doc, &quoted, "span", "quote-text", &quote.text);
    }
    // Only a message with an id can be answered: another client finds the original by it.
    if row.kind == RowKind::Chat && row.id.is_some() {
        let reply = append(doc, &time, "button", "reply", "Reply");
        let _ = reply.set_attribute("type", "button");
        let _ = reply.set_attribute("aria-label", &format!("Reply to {}", row.name));
    }
    // A reaction names its message by id, of at most `MAX_TARGET_BYTES`.
    if row.kind == RowKind::Chat
        && row
            .id
            .as_ref()
            .is_some_and(|id| id.len() <= chat::reactions::MAX_TARGET_BYTES)
    {
        let react = append(doc, &time, "button", "react", "React");
        let _ = react.set_attribute("type", "button");
        let _ = react.set_attribute("aria-haspopup", "true");
        let _ = react.set_attribute("aria-label", &format!("React to {}", row.name));
    }
    if row.catch_up {
        let span = append(doc, &time, "span", "caught-up", "caught up");
        let _ = span.set_attribute(
            "title",
            "Sent while this tab was away; another tab passed it on.",
        );
    }
    let mut d = Drawn {
        key: row.key,
        row: tr,
        look: Look::default(),
        delivery: None,
        reactions: None,
    };
    restyle(doc, &mut d, look);
    Some(d)
}

/// Bring a drawn row's changing parts to `look`.
fn restyle(doc: &Document, d: &mut Drawn, look: Look) {
    let tr = &d.row;
    if d.look.class != look.class {
        tr.set_class_name(&look.class);
    }
    if d.look.title != look.title {
        let _ = match look.title.as_str() {
            "" => tr.remove_attribute("title"),
            title => tr.set_attribute("title", title),
        };
    }
    if d.look.author != look.author {
        let _ = match &look.author {
            Some(user) => tr.set_attribute("data-author", user),
            None => tr.remove_attribute("data-author"),
        };
    }
    if d.look.delivery != look.delivery {
        match (&look.delivery, &d.delivery) {
            (Some((class, words)), Some(span)) => {
                let _ = span.set_attribute("data-delivery", class);
                span.set_text_content(Some(words));
            }
            (Some((class, words)), None) => {
                if let Some(time) = tr.last_element_child() {
                    let span = append(doc, &time, "span", "delivery", words);
                    let _ = span.set_attribute("data-delivery", class);
                    d.delivery = Some(span);
                }
            }
            (None, Some(span)) => {
                span.remove();
                d.delivery = None;
            }
            (None, None) => {}
        }
    }
    if d.look.reactions != look.reactions {
        if let Some(old) = d.reactions.take() {
            old.remove();
        }
        if let (false, Some(time)) = (look.reactions.is_empty(), tr.last_element_child()) {
            d.reactions = Some(draw_chips(doc, &time, &look.reactions));
        }
    }
    d.look = look;
}

/// `.reactions`: a button per emoji with its count (`👍 2`), pressed if it is the user's
/// (pressing it again takes it back).
fn draw_chips(doc: &Document, time: &Element, chips: &[Chip]) -> Element {
    let span = append(doc, time, "span", "reactions", "");
    for chip in chips {
        let words = format!("{} {}", chip.emoji, chip.count);
        let b = append(doc, &span, "button", "reaction", &words);
        let _ = b.set_attribute("type", "button");
        let _ = b.set_attribute("data-emoji", &chip.emoji);
        let _ = b.set_attribute("aria-pressed", if chip.mine { "true" } else { "false" });
        let who = if chip.count == 1 { "person" } else { "people" };
        let title = if chip.mine {
            format!(
                "{} {who} reacted {}, you too: press to take yours back",
                chip.count, chip.emoji
            )
        } else {
            format!(
                "{} {who} reacted {}: press to add yours",
                chip.count, chip.emoji
            )
        };
        let _ = b.set_attribute("title", &title);
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat::ChatMessage;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    fn row(key: u64, name: &str, text: &str, own_id: Option<&str>) -> Arc<Row> {
        Arc::new(Row {
            key,
            kind: RowKind::Chat,
            name: name.into(),
            text: text.into(),
            received_at: 0.0,
            own: own_id.is_some(),
            id: own_id.map(str::to_owned),
            catch_up: false,
            verified: None,
            quote: None,
            sealed_author: None,
            encrypted: false,
        })
    }

    fn body() -> Element {
        let doc = gloo_utils::document();
        let body = doc.create_element("tbody").unwrap();
        doc.body().unwrap().append_child(&body).unwrap();
        body
    }

    fn trs(body: &Element) -> Vec<Element> {
        let list = body.children();
        (0..list.length()).filter_map(|i| list.item(i)).collect()
    }

    fn names(body: &Element) -> Vec<String> {
        trs(body)
            .iter()
            .map(|tr| {
                tr.query_selector("td.name")
                    .unwrap()
                    .unwrap()
                    .text_content()
                    .unwrap()
            })
            .collect()
    }

    #[wasm_bindgen_test]
    fn rows_keep_their_elements_and_order_as_the_log_changes() {
        let body = body();
        let mut drawn = Rows::default();
        let none = HashMap::new();
        let cx = Context {
            outbox: Some(&Outbox::new()),
            refusals: &none,
            vouched: false,
            found: None,
            reactions: None,
            me: "",
            name: "",
            private: false,
        };
        let (a, b, c) = (
            row(1, "a", "x", None),
            row(2, "b", "<b>bold</b>", None),
            row(3, "c", "z", None),
        );
        sync(&body, &mut drawn, &[a, b.clone(), c.clone()], &cx);
        assert_eq!(names(&body), ["a", "b", "c"]);
        let before = trs(&body);
        // HTML in a message is text: no element inside the cell.
        let cell = before[1].query_selector("td.message").unwrap().unwrap();
        assert_eq!(cell.text_content().unwrap(), "<b>bold</b>");
        assert_eq!(cell.child_element_count(), 0);

        // The oldest leaves, a new one comes, an older one is merged in between.
        let (d, m) = (row(4, "d", "w", None), row(5, "m", "merged", None));
        sync(&body, &mut drawn, &[b, m, c, d], &cx);
        assert_eq!(names(&body), ["b", "m", "c", "d"]);
        let after = trs(&body);
        assert!(after[0].is_same_node(Some(&before[1])), "b was drawn again");
        assert!(after[2].is_same_node(Some(&before[2])), "c was drawn again");
    }

    #[wasm_bindgen_test]
    fn in_a_private_room_a_row_sent_in_the_clear_is_marked() {
        let body = body();
        let mut drawn = Rows::default();
        let none = HashMap::new();
        let mut cx = Context {
            outbox: Some(&Outbox::new()),
            refusals: &none,
            vouched: false,
            found: None,
            reactions: None,
            me: "",
            name: "",
            private: true,
        };
        let clear = row(1, "eve", "in the clear", None);
        let mut opened = Row::clone(&row(2, "ana", "sealed", None));
        opened.encrypted = true;
        let rows = [clear, Arc::new(opened)];
        sync(&body, &mut drawn, &rows, &cx);
        let marked = |body: &Element| -> Vec<bool> {
            trs(body)
                .iter()
                .map(|tr| tr.class_list().contains("unencrypted"))
                .collect()
        };
        assert_eq!(marked(&body), [true, false]);
        let title = trs(&body)[0].get_attribute("title").unwrap_or_default();
        assert!(title.starts_with("Not encrypted"), "{title}");
        // The same rows in a room that is not private: nothing to mark.
        cx.private = false;
        sync(&body, &mut drawn, &rows, &cx);
        assert_eq!(marked(&body), [false, false]);
    }

    #[wasm_bindgen_test]
    fn an_own_row_shows_its_delivery_and_a_refusal_in_place() {
        let body = body();
        let mut drawn = Rows::default();
        let mut outbox = Outbox::new();
        let message = ChatMessage {
            name: "me".into(),
            message: "hi".into(),
            id: Some("m1".into()),
            from: None,
            ts: None,
            ..Default::default()
        };
        outbox.push(1.0, "messages", message).unwrap();
        let mine = row(1, "me", "hi", Some("m1"));
        let mut refusals = HashMap::new();
        let delivery = |body: &Element| {
            let span = body
                .query_selector("tr.own span.delivery")
                .unwrap()
                .unwrap();
            (
                span.get_attribute("data-delivery").unwrap(),
                span.text_content().unwrap(),
                span,
            )
        };

        let show = |drawn: &mut Rows, outbox: Option<&Outbox>, refusals: &HashMap<_, _>| {
            let cx = Context {
                outbox,
                refusals,
                vouched: false,
                found: None,
                reactions: None,
                me: "",
                name: "",
                private: false,
            };
            sync(&body, drawn, std::slice::from_ref(&mine), &cx);
        };
        // Unknown outbox: no state rather than a wrong one.
        show(&mut drawn, None, &refusals);
        assert!(body.query_selector("span.delivery").unwrap().is_none());

        show(&mut drawn, Some(&outbox), &refusals);
        let (state, words, span) = delivery(&body);
        assert_eq!((state.as_str(), words.as_str()), ("queued", "queued"));

        let empty = Outbox::new();
        show(&mut drawn, Some(&empty), &refusals);
        let (state, _, same) = delivery(&body);
        assert_eq!(state, "delivered");
        assert!(same.is_same_node(Some(&span)));

        refusals.insert("m1".to_owned(), Refusal::Refused("not authorized".into()));
        show(&mut drawn, Some(&empty), &refusals);
        let (state, words, _) = delivery(&body);
        assert_eq!(
            (state.as_str(), words.as_str()),
            ("refused", "refused: not authorized")
        );
        let tr = body
            .first_element_child()
            .unwrap()
            .dyn_into::<web_sys::HtmlElement>()
            .unwrap();
        assert_eq!(tr.class_name(), "chat own refused");
    }
}
