//! What the link reports, routed to where it belongs: each incoming topic first through the
//! subscription table (`mqtt_core::Router`) to the views that subscribed to it, once each;
//! for the chat, through the domain's router (`chat::route`, exact levels) to its room,
//! presence, typing or catch-up; for the viewer, into its stream. Acknowledgements go into
//! the outbox; refusals into the notices, or onto the viewer's filter.

use chat::receipts::Change;
use chat::{
    decode_payload, ConnectionStatus, FilterState, Notice, NoticeKind, Payload, RoomName, Route,
};
use mqtt_core::{ConnectRefusal, DisconnectReason, Event, IncomingMessage, ProtocolError};

use leptos::prelude::*;

use super::{ChatSession, View};
use crate::browser::wall_clock_ms;
use crate::persist::writer::Op;
use crate::transport::LinkEvent;

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
                self.outbox.try_update(|o| o.link_lost());
                if refusal == ConnectRefusal::RetainNotSupported {
                    self.will_without_retain();
                }
            }
            LinkEvent::Mqtt(Event::Connected { session_present }) => {
                crate::bench::connected();
                self.on_connected(session_present);
            }
            LinkEvent::Mqtt(Event::Message(message)) if self.probe_came_back(&message.topic) => {}
            LinkEvent::Mqtt(Event::Acknowledged { pkid }) if self.probe_answered(pkid, None) => {}
            LinkEvent::Mqtt(Event::PublishRefused {
                pkid,
                code: Some(code),
                ..
            }) if self.probe_answered(pkid, Some(code)) => {}
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
                    if self
                        .rooms
                        .try_with_untracked(|r| r.is_joined(&room))
                        .unwrap_or_default()
                    {
                        let at = wall_clock_ms();
                        self.with_room_log(&room, |log| log.push_skipped(size, limit, at));
                    }
                }
            }
            LinkEvent::Mqtt(Event::Sent { pkid }) => {
                let now = wall_clock_ms();
                self.outbox.try_update(|o| o.sent(pkid, now));
            }
            LinkEvent::Mqtt(Event::Acknowledged { pkid }) => self.on_acknowledged(pkid),
            LinkEvent::Mqtt(Event::PublishRefused { pkid, reason, .. }) => {
                self.on_publish_refused(pkid, reason)
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
                if matches!(reason, DisconnectReason::ClientDisconnect) {
                    self.outbox.try_update(|o| o.link_lost());
                } else {
                    let now = wall_clock_ms();
                    let given_up = self
                        .outbox
                        .try_update(|o| o.link_lost_at(now))
                        .unwrap_or_default();
                    for pending in given_up {
                        self.closed_on(pending);
                    }
                }
                // Any end of the link, ours too (pagehide, takeover): a check under way is
                // not known.
                self.probe_link_lost();
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
        self.publish_status();
        self.probe_authorship();
        if !session_present {
            let joined: Vec<RoomName> = self
                .rooms
                .try_with_untracked(|r| r.joined().to_vec())
                .unwrap_or_default();
            self.unasked.try_update_value(|u| {
                u.retain(|room| !joined.contains(room));
                u.extend(joined);
            });
        }
        self.ask_unasked();
        self.schedule_presence_upkeep();
    }

    /// A chat message for `room`: into its log once, its history, its unread count.
    fn on_chat(&self, room: RoomName, author: Option<&str>, message: IncomingMessage) {
        let payload = decode_payload(&message.payload);
        let (id, name, ts) = match &payload {
            Payload::Chat(m) => (m.id.clone(), Some(m.name.clone()), m.ts),
            Payload::Raw { .. } => (None, None, None),
        };
        if let Some(id) = &id {
            self.seen_back(id, &message, ts);
        }
        if !self
            .rooms
            .try_with_untracked(|r| r.is_joined(&room))
            .unwrap_or_default()
        {
            // A subscription the broker kept from before the room was left.
            return;
        }
        let at = wall_clock_ms();
        if let Some(name) = &name {
            self.typing_stopped(&room, name);
        }
        let own = self.author.try_get_value().unwrap_or_default();
        let shown = self
            .with_room_log(&room, |log| {
                log.receive_decoded(payload, at, &own, self.vouched(author))
                    .map(|row| (row.own, row.name.clone(), row.text.clone()))
            })
            .flatten();
        let Some((own, name, text)) = shown else {
            return;
        };
        self.store.try_update_value(|s| {
            if s.keep_history {
                let record = super::rooms::filed(s.recorder.record(
                    &message.topic,
                    &message.payload,
                    id.as_deref(),
                    at,
                ));
                s.writer.push(Op::History(record));
            }
        });
        if !own {
            let visible = self.visible.try_get_untracked().unwrap_or_default();
            self.update_rooms(|r| r.arrived(&room, visible));
            if self
                .rooms
                .try_with_untracked(|r| r.open() == &room)
                .unwrap_or_default()
            {
                self.announce_message(&name, &text);
            }
        }
    }

    /// MQTT 5: the broker refused one of ours (PUBACK reason code): it leaves the outbox
    /// (it would be refused again), and its row says why. The text stays on the row.
    fn on_publish_refused(&self, pkid: u16, reason: String) {
        let Some(Some(done)) = self.outbox.try_update(|o| o.refuse(pkid)) else {
            return;
        };
        let owner = self
            .client_id
            .try_get_untracked()
            .unwrap_or_default()
            .unwrap_or_default();
        self.store.try_update_value(|s| {
            s.writer.push(Op::OutboxDelete {
                owner,
                seq: done.seq,
            })
        });
        self.refused(done, chat::Refusal::Refused(reason));
    }

    /// The broker closed the link each time `pending` went out (see
    /// `chat::MAX_CLOSED_SENDS`): it is not sent again, and its row says why.
    fn closed_on(&self, pending: chat::Pending) {
        if let Some(pkid) = pending.pkid {
            let _ = self.connection.try_with_value(|c| {
                if let Some(c) = c {
                    c.abandon(pkid);
                }
            });
        }
        let owner = self
            .client_id
            .try_get_untracked()
            .unwrap_or_default()
            .unwrap_or_default();
        self.store.try_update_value(|s| {
            s.writer.push(Op::OutboxDelete {
                owner,
                seq: pending.seq,
            })
        });
        let why = format!(
            "the broker closed the connection on it {} times",
            chat::MAX_CLOSED_SENDS
        );
        self.refused(pending, chat::Refusal::Refused(why));
    }

    fn refused(&self, pending: chat::Pending, refusal: chat::Refusal) {
        if let Some(change) = self
            .receipts
            .try_update_value(|r| r.handle_refused(pending, refusal))
        {
            self.receipt_changed(change);
        }
    }

    /// A mark on an own message came or went: into the history (the record is written again
    /// under its key, with or without the mark) and the rows.
    fn receipt_changed(&self, change: Change) {
        match change {
            Change::Marked { pending, refusal } => {
                let id = pending.id().to_owned();
                let payload = pending.message.to_json();
                let at = pending.message.ts.unwrap_or_else(wall_clock_ms);
                self.store.try_update_value(|s| {
                    if s.keep_history {
                        let mut record = super::rooms::filed(s.recorder.record(
                            &pending.topic,
                            &payload,
                            Some(&id),
                            at,
                        ));
                        record.refusal = Some(refusal);
                        s.writer.push(Op::History(record));
                    }
                });
            }
            Change::Unmarked { .. } => {}
        }
        self.mirror_receipts();
    }

    /// `refusals`, which rows read, from `receipts`, their one owner.
    pub(super) fn mirror_receipts(&self) {
        if let Some(marks) = self.receipts.try_with_value(|r| r.marks().clone()) {
            self.refusals.try_set(marks);
        }
    }

    /// A message with this id came back from the broker: if it is one of ours, it was
    /// delivered, even if it came too late and was marked "not seen back" (then the mark
    /// goes, in the history too).
    fn seen_back(&self, id: &str, message: &IncomingMessage, ts: Option<f64>) {
        let unmarked = self
            .receipts
            .try_update_value(|r| r.handle_echo(id))
            .flatten();
        if unmarked.is_none() {
            return;
        }
        let at = ts.unwrap_or_else(wall_clock_ms);
        self.store.try_update_value(|s| {
            if s.keep_history {
                let record = super::rooms::filed(s.recorder.record(
                    &message.topic,
                    &message.payload,
                    Some(id),
                    at,
                ));
                s.writer.push(Op::History(record));
            }
        });
        self.mirror_receipts();
    }

    /// `receipts`' next deadline on one browser timer, set again only when it comes sooner.
    fn arm_receipts_timer(&self) {
        let Some(Some(at)) = self.receipts.try_with_value(|r| r.poll_timeout()) else {
            return;
        };
        let armed = self
            .receipts_timer
            .try_with_value(|t| t.as_ref().map(|(when, _)| *when))
            .flatten();
        if armed.is_some_and(|when| when <= at) {
            return;
        }
        let session = *self;
        let wait = (at - wall_clock_ms()).max(0.0) as u32 + 1;
        let timer = gloo_timers::callback::Timeout::new(wait, move || {
            let _ = session.receipts_timer.try_update_value(|t| t.take());
            let changes = session
                .receipts
                .try_update_value(|r| r.handle_timeout(wall_clock_ms()))
                .unwrap_or_default();
            for change in changes {
                session.receipt_changed(change);
            }
            session.arm_receipts_timer();
        });
        let _ = self
            .receipts_timer
            .try_update_value(|t| *t = Some((at, timer)));
    }

    fn on_acknowledged(&self, pkid: u16) {
        let Some(Some(done)) = self.outbox.try_update(|o| o.acknowledge(pkid)) else {
            return;
        };
        let seq = done.seq;
        let now = wall_clock_ms();
        let _ = self
            .receipts
            .try_update_value(|r| r.handle_acknowledged(now, done));
        self.arm_receipts_timer();
        let owner = self
            .client_id
            .try_get_untracked()
            .unwrap_or_default()
            .unwrap_or_default();
        self.store
            .try_update_value(|s| s.writer.push(Op::OutboxDelete { owner, seq }));
    }
}
