//! Small things kept in Web Storage: the user's name, and the draft being typed (per tab, in
//! sessionStorage), so that a reload never takes away a half-written message.

use crate::browser::web_storage::{self, Area};

const NAME_KEY: &str = "mqtt-chat.name";
const DRAFT_KEY: &str = "mqtt-chat.draft";
const NOTIFY_KEY: &str = "mqtt-chat.notify";

/// This tab's name if it has one (two tabs can be two people), else the last one used in
/// this browser.
pub fn load_name() -> String {
    web_storage::get(Area::Session, NAME_KEY)
        .or_else(|| web_storage::get(Area::Local, NAME_KEY))
        .unwrap_or_default()
}

pub fn save_name(name: &str) -> Result<(), String> {
    let _ = web_storage::set(Area::Session, NAME_KEY, &name);
    web_storage::set(Area::Local, NAME_KEY, &name)
        .map_err(|why| format!("Your name could not be saved for next time ({why})."))
}

/// The draft of this tab (sessionStorage: a reload keeps it, another tab has its own).
pub fn load_draft() -> String {
    web_storage::get_raw(Area::Session, DRAFT_KEY).unwrap_or_default()
}

/// Keep the draft; an empty one is removed. Failing only costs the draft after a reload.
pub fn save_draft(text: &str) {
    if text.is_empty() {
        web_storage::remove(Area::Session, DRAFT_KEY);
    } else {
        let _ = web_storage::set_raw(Area::Session, DRAFT_KEY, text);
    }
}

/// What each room notifies of (this browser's choice; off until the user turns it on).
pub fn load_notify() -> chat::NotifySettings {
    web_storage::get_raw(Area::Local, NOTIFY_KEY)
        .map(|text| chat::NotifySettings::decode(&text))
        .unwrap_or_default()
}

pub fn save_notify(settings: &chat::NotifySettings) -> Result<(), String> {
    web_storage::set_raw(Area::Local, NOTIFY_KEY, &settings.encode())
        .map_err(|why| format!("This choice could not be saved for next time ({why})."))
}
