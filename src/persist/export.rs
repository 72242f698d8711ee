//! A room's stored history, downloaded as a file (`chat::export` writes it): read a page of
//! records at a time in arrival order (the `by-topic` index), each page's text handed to the
//! file as it is written, so 100,000 messages never sit in memory twice and the page keeps
//! answering between pages.

use chat::export::{Format, Writer};
use idb::TransactionMode;
use wasm_bindgen::{JsCast, JsValue};

use super::history::decode;
use super::{req, Db, StoreError, BY_TOPIC, HISTORY};

/// Records read per page.
const PAGE: u32 = 2_000;

/// Why an export did not download.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the stored history could not be read: {0}")]
    Store(#[from] StoreError),
    #[error("the browser would not make the file: {0}")]
    File(String),
}

/// Download the history of `topic` as `file_name` in `format`. Returns how many messages
/// it holds.
pub async fn download(
    db: &Db,
    topic: &str,
    format: Format,
    file_name: &str,
) -> Result<usize, ExportError> {
    let (mut writer, head) = Writer::start(format);
    let parts = js_sys::Array::new();
    parts.push(&JsValue::from_str(&head));
    let mut after: Option<f64> = None;
    loop {
        let page = read_page(db, topic, after).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.seq);
        let full = page.len() as u32 == PAGE;
        let text = writer.page(page.iter().map(|m| (m.payload.as_slice(), m.at)));
        parts.push(&JsValue::from_str(&text));
        if !full {
            break;
        }
    }
    let count = writer.written();
    parts.push(&JsValue::from_str(&writer.end()));
    save(&parts, format.mime(), file_name).map_err(ExportError::File)?;
    Ok(count)
}

/// Up to [`PAGE`] records of `topic` after sequence number `after`, oldest first.
async fn read_page(
    db: &Db,
    topic: &str,
    after: Option<f64>,
) -> Result<Vec<chat::StoredMessage>, StoreError> {
    let tx = db.transaction(&[HISTORY], TransactionMode::ReadOnly)?;
    let store = req(tx.object_store(HISTORY))?;
    let index = req(store.index(BY_TOPIC))?;
    let t = JsValue::from_str(topic);
    let lower: JsValue = match after {
        Some(seq) => js_sys::Array::of2(&t, &JsValue::from_f64(seq)).into(),
        None => js_sys::Array::of1(&t).into(),
    };
    let upper: JsValue = js_sys::Array::of2(&t, &js_sys::Array::new()).into();
    let range = req(idb::KeyRange::bound(
        &lower,
        &upper,
        Some(after.is_some()),
        None,
    ))?;
    let values = req(req(index.get_all(Some(range.into()), Some(PAGE)))?.await)?;
    Ok(values.iter().filter_map(decode).collect())
}

/// Hand `parts` to the browser as a download.
fn save(parts: &js_sys::Array, mime: &str, file_name: &str) -> Result<(), String> {
    let words = |e: JsValue| e.as_string().unwrap_or_else(|| format!("{e:?}"));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(parts, &options).map_err(words)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(words)?;
    let doc = gloo_utils::document();
    let link = doc
        .create_element("a")
        .map_err(words)?
        .dyn_into::<web_sys::HtmlAnchorElement>()
        .map_err(|_| "no link element".to_owned())?;
    link.set_href(&url);
    link.set_download(file_name);
    link.click();
    // The download has its own copy once it started; the URL may go a little later.
    gloo_timers::callback::Timeout::new(60_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    })
    .forget();
    Ok(())
}
