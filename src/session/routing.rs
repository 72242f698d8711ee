//! What the link reports, routed to where it belongs: each incoming topic first through the
//! subscription table (`mqtt_core::Router`) to the views that subscribed to it, once each;
//! for the chat, through the domain's router (`chat::route`, exact levels) to its room,
//! presence, typing or catch-up; for the viewer, into its stream. Acknowledgements go into
//! the outbox; refusals into the notices, or onto the viewer's filter.

use chat::{
    decode_payload, ConnectionStatus, FilterState, Notice, NoticeKind, Payload, RoomName, Route,
};
use mqtt_core::{ConnectRefusal, DisconnectReason, Event, IncomingMessage, ProtocolError};

use leptos::prelude::*;

use super::{ChatSession, View};
use crate::browser::wall_clock_ms;
use crate::transport::LinkEvent;
use chat::session::Shown;

impl ChatSession {
    pub(super) fn on_link_event(&self, event: LinkEvent) {
        match event {
            // The one writer of the status once a link exists.
            LinkEvent::State(state) => {
                let mut status = ConnectionStatus::from_link(&state, wall_clock_ms());
                // The broker's own words come with the refusal, just before this state.
                if let ConnectionStatus::Refused { detail, reason } = &mut status {
                    let anonymous = self
                        .user
                        .try_with_value(Option::is_none)
                        .unwrap_or_default();
                    let needs_sign_in = anonymous
                        && matches!(
                            reason,
                            ConnectRefusal::NotAuthorized | ConnectRefusal::BadUserNameOrPassword
                        );
                    let wrong_version = self.protocol == chat::MqttVersion::V5
                        && *reason == ConnectRefusal::UnacceptableProtocolVersion;
                    *detail = self.refusal_words.try_get_value().unwrap_or_default().or_else(|| {
                        if wrong_version {
                            return Some(
                                "this broker does not take MQTT 5: choose 3.1.1 in the connection panel"
                                    .into(),
                            );
                        }
                        needs_sign_in.then(|| {
                            "sign in with a user name and password in the connection panel".into()
                        })
                    });
                }
                self.status.try_set(status);
            }
            LinkEvent::Broker(url) => {
                self.broker.try_set(Some(url));
            }
            LinkEvent::Mqtt(Event::Disconnected(DisconnectReason::Refused {
                refusal,
                reason_string,
            })) => {
                self.refusal_words.try_set_value(reason_string);
                self.core
                    .try_update_value(|c| c.handle_link_lost(wall_clock_ms(), false));
                self.drive();
                if refusal == ConnectRefusal::RetainNotSupported {
                    self.will_without_retain();
                }
            }
            LinkEvent::Mqtt(Event::Connected { session_present }) => {
                crate::bench::connected();
                self.on_connected(session_present);
            }
            LinkEvent::Mqtt(Event::Message(message)) if self.probe_came_back(&message.topic) => {}
            LinkEvent::Mqtt(Event::Message(message)) => {
                crate::bench::arrived();
                let views = self
                    .router
                    .try_with_value(|r| r.route(&message.topic, message.via.as_deref()))
                    .unwrap_or_default();
                if views.contains(&View::Watch) {
                    self.on_watched(&message);
                }
                if !views.contains(&View::Chat) {
                    return;
                }
                match chat::route(&message.topic) {
                    Some(Route::Chat { room, author }) => {
                        self.on_chat(room, author.as_deref(), message)
                    }
                    Some(Route::Presence { tab, .. }) => self.on_presence(&tab, &message),
                    Some(Route::Typing(room)) => self.on_typing(room, &message),
                    Some(Route::CatchUp(room)) => self.on_catch_up(room, &message),
                    Some(Route::Salt(room)) => self.on_salt(room, &message.payload),
                    None => {}
                }
            }
            LinkEvent::Mqtt(Event::Skipped {
                size,
                limit,
                topic,
                qos,
            }) => {
                let views = self
                    .router
                    .try_with_value(|r| r.route(&topic, None))
                    .unwrap_or_default();
                if views.contains(&View::Watch) {
                    self.on_watched_skipped(&topic, size, limit, qos);
                }
                if !views.contains(&View::Chat) {
                    return;
                }
                if let Some(Route::Chat { room, .. }) = chat::route(&topic) {
                    if self.is_joined(&room) {
                        let at = wall_clock_ms();
                        self.with_room_log(&room, |log| log.push_skipped(size, limit, at));
                    }
                }
            }
            LinkEvent::Mqtt(Event::Sent { pkid }) => {
                self.core
                    .try_update_value(|c| c.handle_sent(wall_clock_ms(), pkid));
                self.drive();
            }
            LinkEvent::Mqtt(Event::Acknowledged { pkid }) => {
                self.core
                    .try_update_value(|c| c.handle_puback(wall_clock_ms(), pkid));
                self.publish_answered(pkid, Ok(()));
                self.drive();
            }
            // MQTT 5: the broker refused one of ours (PUBACK reason code): it leaves the
            // outbox (it would be refused again), and its row says why. Or it answered the
            // authorship probe.
            LinkEvent::Mqtt(Event::PublishRefused { pkid, code, reason }) => {
                self.core.try_update_value(|c| {
                    c.handle_publish_refused(wall_clock_ms(), pkid, code, &reason)
                });
                self.publish_answered(pkid, Err(reason));
                self.drive();
            }
            LinkEvent::Mqtt(Event::SubscribeRefused { filter, reason }) => {
                self.router.try_update_value(|r| r.refused(&filter));
                let words = reason.clone().unwrap_or_else(|| {
                    "the broker does not allow it, or does not support it".into()
                });
                self.watch_answer(&filter, FilterState::Refused(words));
                if self
                    .router
                    .try_with_value(|r| r.wants(View::Chat, &filter))
                    .unwrap_or_default()
                {
                    self.notices.try_update(|n| {
                        n.set(Notice::SubscribeRefused {
                            filter,
                            why: reason,
                        })
                    });
                }
            }
            LinkEvent::Mqtt(Event::Subscribed { filter, qos }) => {
                self.router.try_update_value(|r| r.granted(&filter));
                self.watch_answer(&filter, FilterState::Active(qos));
                if self
                    .router
                    .try_with_value(|r| r.wants(View::Chat, &filter))
                    .unwrap_or_default()
                {
                    self.notices
                        .try_maybe_update(|n| (n.clear(NoticeKind::SubscribeRefused), ()));
                }
            }
            LinkEvent::Mqtt(Event::Unsubscribed { .. }) => {}
            LinkEvent::Mqtt(Event::Disconnected(reason)) => {
                // Any end of the link, ours too (pagehide, takeover): a check under way is
                // not known. Only one the broker ended counts against what it carried.
                let by_broker = !matches!(reason, DisconnectReason::ClientDisconnect);
                self.core
                    .try_update_value(|c| c.handle_link_lost(wall_clock_ms(), by_broker));
                self.drive();
            }
            LinkEvent::Mqtt(Event::Warning(w)) => {
                if let ProtocolError::RetainUnavailable = w {
                    self.notices.try_update(|n| {
                        n.set(Notice::Broker {
                            what: "it keeps no retained messages, so the people list shows only those who came online after this tab.".into(),
                        })
                    });
                }
                web_sys::console::warn_1(&format!("MQTT: {w}").into());
            }
        }
    }

    /// A new session or a resumed one: say we are here; if the broker lost what it kept for
    /// us (or never had it), ask every room what was said.
    fn on_connected(&self, session_present: bool) {
        if !session_present {
            self.core.try_update_value(|c| c.handle_session_lost());
        }
        // Says we are here, starts the authorship check, and asks the rooms waiting to.
        self.core_connected();
    }

    /// A chat message for `room`: into its log once, its history, its unread count.
    fn on_chat(&self, room: RoomName, author: Option<&str>, message: IncomingMessage) {
        // A private room's sealed message, if this tab has its passphrase, is opened first.
        if self.on_sealed(&room, author, &message) {
            return;
        }
        let payload = decode_payload(&message.payload);
        self.on_chat_payload(room, author, &message, payload);
    }

    /// [`ChatSession::on_chat`] for `message` read as `payload` (a sealed one as what it
    /// opened to; its wire bytes are what the history keeps).
    pub(super) fn on_chat_payload(
        &self,
        room: RoomName,
        author: Option<&str>,
        message: &IncomingMessage,
        payload: Payload,
    ) {
        let (id, name, ts) = match &payload {
            Payload::Chat(m) => (m.id.clone(), Some(m.name.clone()), m.ts),
            Payload::Raw { .. } => (None, None, None),
        };
        if let Some(id) = &id {
            // If it is one of ours marked "not seen back", it was delivered after all.
            let at = ts.unwrap_or_else(wall_clock_ms);
            self.core
                .try_update_value(|c| c.handle_echo(id, &message.topic, &message.payload, at));
            self.drive();
        }
        if !self.is_joined(&room) {
            // A subscription the broker kept from before the room was left.
            return;
        }
        let at = wall_clock_ms();
        if let Payload::Chat(m @ chat::ChatMessage { react: Some(_), .. }) = &payload {
            self.on_reaction(&room, m, &message.payload, at);
            return;
        }
        if let Some(name) = &name {
            self.typing_stopped(&room, name);
        }
        let own = self.author.try_get_value().unwrap_or_default();
        let shown = self
            .with_room_log(&room, |log| {
                log.receive_decoded(payload, at, &own, self.vouched(author))
                    .map(|row| {
                        // A sealed row's text is ciphertext: not words for anyone.
                        let sealed = row.kind == chat::RowKind::Raw(chat::RawReason::Sealed);
                        (row.own, row.name.clone(), row.text.clone(), sealed)
                    })
            })
            .flatten();
        let Some((own, name, text, sealed)) = shown else {
            return;
        };
        let shown = Shown {
            topic: &message.topic,
            payload: &message.payload,
            id: id.as_deref(),
            at,
            own,
            words: (!sealed).then_some((&name, &text)),
        };
        self.core
            .try_update_value(|c| c.handle_shown(at, &room, shown));
        self.drive();
    }

    /// A reaction in `room` (from the link or a catch-up answer): counted on its message,
    /// and kept if it is news (see `chat::reactions`).
    pub(super) fn on_reaction(
        &self,
        room: &RoomName,
        message: &chat::ChatMessage,
        payload: &[u8],
        at: f64,
    ) {
        let folded = self
            .with_room_log(room, |log| log.react(message, at))
            .flatten();
        if folded != Some(chat::Folded::Newest) {
            return;
        }
        if let Some(r) = chat::Reaction::of(message, at) {
            let (key, at) = (r.key(), r.at());
            self.core
                .try_update_value(|c| c.handle_reacted(room, payload, key, at));
            self.drive();
        }
    }
}
