//! What the app keeps in browser storage, and under which keys: the outbox (one per client
//! id, so a reload, or a later tab that takes over the id, finds what was not delivered) and
//! the user's name.

use chat::Outbox;

use super::storage::{self, Area};

const NAME_KEY: &str = "mqtt-chat.name";

fn outbox_key(client_id: &str) -> String {
    format!("mqtt-chat.outbox.{client_id}")
}

/// The saved outbox, and a warning in words if what was saved could not be read.
pub fn load_outbox(client_id: &str) -> (Outbox, Option<String>) {
    match storage::get_raw(Area::Local, &outbox_key(client_id)) {
        Some(json) => match Outbox::from_json(&json) {
            Ok(outbox) => (outbox, None),
            Err(e) => (
                Outbox::new(),
                Some(format!("Unsent messages were lost: {e}.")),
            ),
        },
        None => (Outbox::new(), None),
    }
}

/// Forget the outbox kept for `client_id`.
pub fn remove_outbox(client_id: &str) {
    storage::remove(Area::Local, &outbox_key(client_id));
}

/// Save the outbox; an empty one is removed. The error is for the user.
pub fn save_outbox(client_id: &str, outbox: &Outbox) -> Result<(), String> {
    if outbox.is_empty() {
        remove_outbox(client_id);
        return Ok(());
    }
    storage::set_raw(Area::Local, &outbox_key(client_id), &outbox.to_json()).map_err(|why| {
        format!(
            "Unsent messages could not be saved for a reload ({why}). They are still kept in this tab."
        )
    })
}

pub fn load_name() -> String {
    storage::get(Area::Local, NAME_KEY).unwrap_or_default()
}

pub fn save_name(name: &str) -> Result<(), String> {
    storage::set(Area::Local, NAME_KEY, &name)
        .map_err(|why| format!("Your name could not be saved for next time ({why})."))
}
