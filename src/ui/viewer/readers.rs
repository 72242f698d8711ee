//! How each watched filter's payloads are read (decoder, chart path), kept in localStorage
//! beside the filters, for the client id whose session watches them.

use std::collections::BTreeMap;

use chat::viewer::decode::Decoder;
use chat::Watch;
use serde::{Deserialize, Serialize};

use crate::browser::identity::watch_key;
use crate::browser::web_storage::{self, Area};

#[derive(Serialize, Deserialize, Default)]
struct Kept {
    #[serde(default)]
    decoder: Decoder,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    path: String,
}

fn key(client_id: &str) -> String {
    format!("{}.readers", watch_key(client_id))
}

/// Read what was kept into `watch` (a path that no longer parses is dropped).
pub fn restore(watch: &mut Watch, client_id: &str) {
    let kept: BTreeMap<String, Kept> =
        web_storage::get(Area::Local, &key(client_id)).unwrap_or_default();
    let tools = watch.tools_mut();
    for (filter, k) in kept {
        tools.set_decoder(&filter, k.decoder);
        let _ = tools.set_path(&filter, &k.path);
    }
}

/// Keep how the watched filters are read.
pub fn save(watch: &Watch, client_id: &str) {
    let Some(tools) = watch.tools() else {
        return;
    };
    let kept: BTreeMap<String, Kept> = watch
        .filters()
        .iter()
        .map(|f| {
            let r = tools.reader(&f.filter);
            (
                f.filter.clone(),
                Kept {
                    decoder: r.decoder,
                    path: r.path.map(|p| p.as_str().to_owned()).unwrap_or_default(),
                },
            )
        })
        .filter(|(_, k)| k.decoder != Decoder::Auto || !k.path.is_empty())
        .collect();
    if kept.is_empty() {
        web_storage::remove(Area::Local, &key(client_id));
    } else {
        let _ = web_storage::set(Area::Local, &key(client_id), &kept);
    }
}
