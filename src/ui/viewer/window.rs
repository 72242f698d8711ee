//! A long list drawn as it scrolls into view: every row has the same height, the list
//! takes the height of them all, and only the rows in view (and a few either side) exist
//! in the page. The topic tree and the retained list use it, so 10,000 topics cost the
//! page a few dozen elements.

use std::ops::Range;

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

/// A row's height in CSS pixels (style.css gives `.windowed > li` the same).
pub const ROW_PX: f64 = 28.0;
/// The same, whole (a float is never printed: see `chat::viewer::charts::decimal`).
const ROW_WHOLE_PX: usize = 28;
/// Rows drawn beyond each edge of the view.
const OVERSCAN: usize = 15;
/// Rows drawn when the scroller has no size yet (hidden, not laid out).
const UNSIZED_ROWS: usize = 40;

/// Where a scroller stands: its scroll offset and height in CSS pixels, read when it
/// scrolls (`Scrolled::read`), never while drawing: reading them after the page changed
/// would make the browser lay the page out again there and then, once a frame, with every
/// message that arrives.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Scrolled {
    top: f64,
    height: f64,
}

impl Scrolled {
    pub fn read(scroller: &Element) -> Scrolled {
        Scrolled {
            top: f64::from(scroller.scroll_top()).max(0.0),
            height: f64::from(scroller.client_height()),
        }
    }
}

/// The rows of `total` to draw for the view `at` shows.
pub fn in_view(at: Scrolled, total: usize) -> Range<usize> {
    let shown = if at.height > 0.0 {
        (at.height / ROW_PX).ceil() as usize
    } else {
        UNSIZED_ROWS
    };
    let first = ((at.top / ROW_PX).floor() as usize).saturating_sub(OVERSCAN);
    let start = first.min(total);
    let end = (first + shown + 2 * OVERSCAN).min(total);
    start..end
}

/// Make `list` as tall as `total` rows, with its drawn rows where `range` is.
pub fn place(list: &Element, range: &Range<usize>, total: usize) {
    if let Some(list) = list.dyn_ref::<HtmlElement>() {
        let style = list.style();
        let _ = style.set_property("padding-top", &format!("{}px", range.start * ROW_WHOLE_PX));
        let _ = style.set_property("height", &format!("{}px", total * ROW_WHOLE_PX));
    }
}
