//! What the session-core tests share: everything a `chat::Session` asked for, drained.

use chat::session::{StoreOp, Transmit, ViewChange};
use chat::Session;

/// What a session asked for, drained.
#[derive(Default, Debug)]
pub struct Out {
    pub transmits: Vec<Transmit>,
    pub stores: Vec<StoreOp>,
    pub views: Vec<ViewChange>,
}

pub fn drain(s: &mut Session) -> Out {
    let mut out = Out::default();
    while let Some(t) = s.poll_transmit() {
        out.transmits.push(t);
    }
    while let Some(op) = s.poll_store() {
        out.stores.push(op);
    }
    while let Some(v) = s.poll_view() {
        out.views.push(v);
    }
    out
}
