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

/// Download the stored history of `room` in `format`, named by the room and today's date,
/// and say how it went in words (the export's chunk runs this: `split::export_history`).
pub async fn download_room(db: Db, room: chat::RoomName, format: Format) -> Result<String, String> {
    let day = crate::browser::today();
    let file_name = format!(
        "mqtt-chat-{}-{day}.{}",
        room.as_str().replace(['/', '\\'], "_"),
        format.extension()
    );
    match download(&db, &room.chat_topic(), format, &file_name).await {
        Ok(done) => {
            let mut words = match done.count {
                1 => "Exported 1 message.".to_owned(),
                n => format!("Exported {n} messages."),
            };
            if done.unreadable > 0 {
                words.push_str(&format!(
                    " {} stored records could not be read and were left out.",
                    done.unreadable
                ));
            }
            Ok(words)
        }
        Err(e) => Err(format!("The export failed: {e}.")),
    }
}

/// Download the history of `topic` as `file_name` in `format`.
pub async fn download(
    db: &Db,
    topic: &str,
    format: Format,
    file_name: &str,
) -> Result<Exported, ExportError> {
    let (mut writer, head) = Writer::start(format);
    let parts = js_sys::Array::new();
    parts.push(&JsValue::from_str(&head));
    // Pages start at the last page's sequence number, inclusive: two tabs can number two
    // records alike. What was written at that number is skipped by its uid.
    let mut from: Option<(f64, Vec<String>)> = None;
    let mut unreadable = 0;
    loop {
        let values = read_page(db, topic, from.as_ref().map(|f| f.0)).await?;
        let full = values.len() as u32 == PAGE;
        let mut page = Vec::with_capacity(values.len());
        for value in &values {
            match decode(value) {
                Some(m)
                    if from
                        .as_ref()
                        .is_some_and(|(s, uids)| m.seq == *s && uids.contains(&m.uid)) => {}
                Some(m) => page.push(m),
                None => unreadable += 1,
            }
        }
        let Some(last) = page.last() else {
            break;
        };
        let at_last = page
            .iter()
            .filter(|m| m.seq == last.seq)
            .map(|m| m.uid.clone());
        from = Some(match from {
            Some((seq, mut uids)) if seq == last.seq => {
                uids.extend(at_last);
                (seq, uids)
            }
            _ => (last.seq, at_last.collect()),
        });
        let text = writer.page(page.iter().map(|m| (m.payload.as_slice(), m.at)));
        parts.push(&JsValue::from_str(&text));
        if !full {
            break;
        }
    }
    let count = writer.written();
    parts.push(&JsValue::from_str(&writer.end()));
    save(&parts, format.mime(), file_name).map_err(ExportError::File)?;
    Ok(Exported { count, unreadable })
}

/// What went into the file.
#[derive(Clone, Copy, Debug)]
pub struct Exported {
    pub count: usize,
    /// Stored records that could not be read (another shape): left out, and said.
    pub unreadable: usize,
}

/// Up to [`PAGE`] records of `topic` from sequence number `from` on, oldest first.
async fn read_page(db: &Db, topic: &str, from: Option<f64>) -> Result<Vec<JsValue>, StoreError> {
    let tx = db.transaction(&[HISTORY], TransactionMode::ReadOnly)?;
    let store = req(tx.object_store(HISTORY))?;
    let index = req(store.index(BY_TOPIC))?;
    let t = JsValue::from_str(topic);
    let lower: JsValue = match from {
        Some(seq) => js_sys::Array::of2(&t, &JsValue::from_f64(seq)).into(),
        None => js_sys::Array::of1(&t).into(),
    };
    let upper: JsValue = js_sys::Array::of2(&t, &js_sys::Array::new()).into();
    let range = req(idb::KeyRange::bound(&lower, &upper, None, None))?;
    req(req(index.get_all(Some(range.into()), Some(PAGE)))?.await)
}

/// Hand `parts` to the browser as a download.
pub(crate) fn save(parts: &js_sys::Array, mime: &str, file_name: &str) -> Result<(), String> {
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
