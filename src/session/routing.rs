//! What the link reports, routed to where it belongs: messages on this view's topic into
//! the log (and the history), acknowledgements into the outbox, refusals into the notices.

use chat::{decode_payload, ChatMessage, ConnectionStatus, Notice, NoticeKind, Payload};
use mqtt_core::{Event, IncomingMessage};

use leptos::prelude::*;

use super::ChatSession;
use crate::browser::wall_clock_ms;
use crate::persist::writer::Op;
use crate::transport::LinkEvent;

/// Something for the log, with when. Until the stored history is shown, these wait behind
/// it, so nothing new lands above older history.
pub(super) enum Arrival {
    Message {
        message: IncomingMessage,
        at: f64,
    },
    /// One of ours, sent from this tab.
    Own {
        message: ChatMessage,
        at: f64,
    },
    Skipped {
        size: usize,
        limit: usize,
        at: f64,
    },
}

impl ChatSession {
    pub(super) fn on_link_event(&self, event: LinkEvent) {
        match event {
            // The one writer of the status once a link exists.
            LinkEvent::State(state) => {
                self.status
                    .try_set(ConnectionStatus::from_link(&state, wall_clock_ms()));
            }
            LinkEvent::Mqtt(Event::Connected { .. }) => crate::bench::connected(),
            LinkEvent::Mqtt(Event::Message(message)) => {
                crate::bench::arrived();
                if self.topic.try_with_value(|t| *t == message.topic) != Some(true) {
                    return;
                }
                self.show(Arrival::Message {
                    message,
                    at: wall_clock_ms(),
                });
            }
            LinkEvent::Mqtt(Event::Skipped {
                size, limit, topic, ..
            }) => {
                if self.topic.try_with_value(|t| *t == topic) == Some(true) {
                    self.show(Arrival::Skipped {
                        size,
                        limit,
                        at: wall_clock_ms(),
                    });
                }
            }
            LinkEvent::Mqtt(Event::Sent { pkid }) => {
                self.outbox.try_update(|o| o.sent(pkid));
            }
            LinkEvent::Mqtt(Event::Acknowledged { pkid }) => self.on_acknowledged(pkid),
            LinkEvent::Mqtt(Event::SubscribeRefused { filter }) => {
                self.notices
                    .try_update(|n| n.set(Notice::SubscribeRefused { filter }));
            }
            LinkEvent::Mqtt(Event::Subscribed { .. }) => {
                self.notices
                    .try_maybe_update(|n| (n.clear(NoticeKind::SubscribeRefused), ()));
            }
            LinkEvent::Mqtt(Event::Disconnected(_)) => {
                self.outbox.try_update(|o| o.link_lost());
            }
            LinkEvent::Mqtt(Event::Warning(w)) => {
                web_sys::console::warn_1(&format!("MQTT: {w}").into());
            }
        }
    }

    /// The arrivals held back while the history loaded, in order.
    pub(super) fn release_early(&self) {
        let held = self.early.try_update_value(Option::take).flatten();
        for arrival in held.unwrap_or_default() {
            self.deliver(arrival);
        }
    }

    /// Into the log now, or behind the history while it loads.
    pub(super) fn show(&self, arrival: Arrival) {
        let held = self.early.try_update_value(|early| match early {
            Some(list) => {
                list.push(arrival);
                None
            }
            None => Some(arrival),
        });
        if let Some(Some(arrival)) = held {
            self.deliver(arrival);
        }
    }

    /// Show it, and keep a message from the broker if it is new.
    fn deliver(&self, arrival: Arrival) {
        let (message, at) = match arrival {
            Arrival::Message { message, at } => (message, at),
            Arrival::Own { message, at } => {
                self.update_log(|log| log.push_own(&message, at));
                return;
            }
            Arrival::Skipped { size, limit, at } => {
                self.update_log(|log| log.push_skipped(size, limit, at));
                return;
            }
        };
        let payload = decode_payload(&message.payload);
        let id = match &payload {
            Payload::Chat(m) => m.id.clone(),
            Payload::Raw { .. } => None,
        };
        let author = self.author.get_value();
        let new = self
            .update_log(|log| log.receive_decoded(payload, at, &author).is_some())
            .unwrap_or(false);
        if new {
            self.store.try_update_value(|s| {
                if s.keep_history {
                    let record =
                        s.recorder
                            .record(&message.topic, &message.payload, id.as_deref(), at);
                    s.writer.push(Op::History(record));
                }
            });
        }
    }

    fn on_acknowledged(&self, pkid: u16) {
        let Some(Some(done)) = self.outbox.try_update(|o| o.acknowledge(pkid)) else {
            return;
        };
        let owner = self.client_id.get_untracked().unwrap_or_default();
        self.store.try_update_value(|s| {
            s.writer.push(Op::OutboxDelete {
                owner,
                seq: done.seq,
            })
        });
    }
}
