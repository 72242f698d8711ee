//! The topic viewer's side of the session, on the chat's one connection: the filters it
//! watches go into the shared subscription table ([`mqtt_core::Router`]), which subscribes
//! a filter once for every view that wants it and unsubscribes it only when none does, so
//! stopping a watched filter never drops a room's subscription.
//!
//! The watched filters belong to the client id, like the broker session that holds their
//! subscriptions: kept in localStorage under it, so a reload (same id) or a tab that takes
//! the id over watches what the session still sends.
//!
//! The code that takes a message into the viewer's state ([`WatchCode`]) is not in the
//! first load: it comes with the viewer's chunk, or with a small chunk of its own when a
//! reload restores watched filters on the chat's screen ([`Intake`]).

use std::collections::VecDeque;

use chat::{FilterState, Watch, WatchError};
use mqtt_core::{Change, IncomingMessage, QoS};
use serde::{Deserialize, Serialize};

use leptos::prelude::*;

use super::{notify_soon, ChatSession, View};
use crate::browser::wall_clock_ms;
use crate::browser::web_storage::{self, Area};

#[derive(Serialize, Deserialize)]
struct SavedFilter {
    filter: String,
    qos: u8,
}

fn qos_of(n: u8) -> QoS {
    if n == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    }
}

/// The code that takes messages into [`Watch`]. Made only in the chunks' split points
/// (`ui::chunks`), so that it is fetched with them and never in the first load.
#[derive(Clone, Copy)]
pub struct WatchCode {
    receive: fn(&mut Watch, &str, &[u8], QoS, bool, f64),
    skipped: fn(&mut Watch, &str, usize, usize, QoS, f64),
    /// The broker answered a QoS 1 publish (accepted, or refused in words): the viewer's
    /// own publishes hear it (`chat::viewer::Tools::answered`), and its views redraw.
    answered: fn(&ChatSession, u16, Result<(), String>),
}

impl WatchCode {
    /// The code, and how each watched filter's payloads are read, restored for this
    /// client id before anything held is taken in. Called only in the chunks' split points.
    pub fn new(session: &ChatSession) -> WatchCode {
        if let Some(client_id) = session.client_id.try_get_untracked().flatten() {
            session
                .watch
                .try_update_untracked(|w| crate::ui::viewer::readers::restore(w, &client_id));
        }
        WatchCode {
            receive: Watch::receive,
            skipped: Watch::skipped,
            answered: |session, pkid, answer| {
                let now = wall_clock_ms();
                session
                    .watch
                    .try_update_untracked(|w| w.tools_mut().answered(pkid, answer, now));
                let watch = session.watch;
                notify_soon(session.watch_render, move || watch.notify());
            },
        }
    }
}

/// Messages for the viewer held until its code is loaded, at most this many (the newest).
/// The chunk comes within milliseconds of the start on a working server; the viewer's
/// stream shows no more than 500 rows anyway.
const HELD_MAX: usize = 1_000;

/// A message for the viewer that came before its code.
enum Held {
    Message(IncomingMessage, f64),
    Skipped {
        topic: String,
        size: usize,
        limit: usize,
        qos: QoS,
        at: f64,
    },
}

/// Where messages for the viewer go: into the watch through its code, once loaded; held
/// until then.
#[derive(Default)]
pub(super) struct Intake {
    code: Option<WatchCode>,
    held: VecDeque<Held>,
    loading: bool,
}

fn key(client_id: &str) -> String {
    crate::browser::identity::watch_key(client_id)
}

impl ChatSession {
    /// Send what a change of the subscription table needs; with no link yet, nothing: the
    /// link subscribes the whole table when it opens.
    pub(super) fn apply(&self, change: Change) {
        self.connection
            .try_with_value(|c| {
                let Some(c) = c else {
                    return;
                };
                let result = match &change {
                    Change::None => Ok(()),
                    Change::Subscribe { filter, qos } => c.subscribe(filter, *qos),
                    Change::Unsubscribe { filter } => c.unsubscribe(filter),
                };
                if let Err(e) = result {
                    web_sys::console::warn_1(&e.to_string().into());
                }
            })
            .unwrap_or_default();
    }

    /// `view` wants `filter` (a filter of the app's own, known to be valid).
    pub(super) fn want(&self, view: View, filter: &str, qos: QoS) {
        if let Some(Ok(change)) = self.router.try_update_value(|r| r.want(view, filter, qos)) {
            self.apply(change);
        }
    }

    /// `view` no longer wants `filter`.
    pub(super) fn unwant(&self, view: View, filter: &str) {
        if let Some(change) = self
            .router
            .try_update_value(|r| r.drop_filter(view, filter))
        {
            self.apply(change);
        }
    }

    /// Watch `filter` at `qos`: checked first (nothing is sent for an invalid filter), then
    /// subscribed, and kept for this tab's client id.
    pub fn watch_filter(&self, filter: &str, qos: QoS) -> Result<(), WatchError> {
        self.watch
            .try_update(|w| w.add_filter(filter, qos))
            .unwrap_or(Ok(()))?;
        let change = self
            .router
            .try_update_value(|r| r.want(View::Watch, filter, qos));
        match change {
            Some(Ok(Change::None)) => {
                // The chat holds it already: subscribe again anyway, so the broker's answer
                // (and any retained messages) come for the viewer too.
                let qos = self
                    .router
                    .try_with_value(|r| {
                        r.subscriptions()
                            .find(|(f, _)| *f == filter)
                            .map_or(qos, |(_, q)| q)
                    })
                    .unwrap_or(qos);
                self.apply(Change::Subscribe {
                    filter: filter.to_owned(),
                    qos,
                });
            }
            Some(Ok(change)) => self.apply(change),
            Some(Err(e)) => return Err(WatchError::Invalid(e)),
            None => {}
        }
        self.save_watched();
        Ok(())
    }

    /// Stop watching `filter`. The broker subscription goes only if no room needs it.
    pub fn unwatch(&self, filter: &str) {
        let was = self
            .watch
            .try_update(|w| w.remove_filter(filter))
            .unwrap_or(false);
        if was {
            self.unwant(View::Watch, filter);
            self.save_watched();
        }
    }

    /// The filters watched, as a link to the viewer shows them.
    pub fn watched_filters(&self) -> Vec<String> {
        self.watch
            .try_with_untracked(|w| {
                w.filters()
                    .iter()
                    .map(|f| f.filter.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    }

    pub fn pause_watch(&self, paused: bool) {
        self.watch
            .try_update(|w| if paused { w.pause() } else { w.resume() });
    }

    pub fn clear_watch(&self) {
        self.watch.try_update(|w| w.clear());
    }

    /// A message for the viewer: counted and kept now (or held until the viewer's code is
    /// here), shown at most once a frame.
    pub(super) fn on_watched(&self, message: &IncomingMessage) {
        let at = wall_clock_ms();
        self.take_watched(Held::Message(message.clone(), at));
    }

    /// A message too large to take in, on a watched topic.
    pub(super) fn on_watched_skipped(&self, topic: &str, size: usize, limit: usize, qos: QoS) {
        let at = wall_clock_ms();
        self.take_watched(Held::Skipped {
            topic: topic.to_owned(),
            size,
            limit,
            qos,
            at,
        });
    }

    fn take_watched(&self, held: Held) {
        let Some(code) = self.watch_intake.try_with_value(|i| i.code).flatten() else {
            self.watch_intake.try_update_value(|i| {
                if i.held.len() == HELD_MAX {
                    i.held.pop_front();
                }
                i.held.push_back(held);
            });
            return;
        };
        self.watch
            .try_update_untracked(|w| into_watch(code, w, held));
        let watch = self.watch;
        notify_soon(self.watch_render, move || watch.notify());
    }

    /// The viewer's code is here (its chunk, or the small one `load_watch_code` fetches):
    /// what was held goes into the watch, and from now on every message at once.
    pub fn set_watch_code(&self, code: WatchCode) {
        let held = self
            .watch_intake
            .try_update_value(|i| {
                i.code = Some(code);
                std::mem::take(&mut i.held)
            })
            .unwrap_or_default();
        if !held.is_empty() {
            self.watch.try_update(|w| {
                for held in held {
                    into_watch(code, w, held);
                }
            });
        }
    }

    /// Fetch the viewer's code for filters watched before the viewer is shown (restored on
    /// a reload). A fetch that fails is tried again on the schedule a lost broker gets;
    /// messages are held meanwhile.
    fn load_watch_code(&self) {
        let started = self
            .watch_intake
            .try_update_value(|i| !std::mem::replace(&mut i.loading, true) && i.code.is_none())
            .unwrap_or(false);
        if !started {
            return;
        }
        let session = *self;
        leptos::task::spawn_local(async move {
            let code = crate::split::until_loaded(
                || crate::split::watch_code(session),
                |e| {
                    web_sys::console::warn_1(&e.to_string().into());
                    // Not when it came meanwhile with the viewer, or the view is gone.
                    session.watch_intake.try_with_value(|i| i.code.is_none()) == Some(true)
                },
            )
            .await;
            if let Some(code) = code {
                session.set_watch_code(code);
            }
        });
    }

    /// The broker answered QoS 1 publish `pkid`: the viewer hears it, once its code is
    /// here (it publishes nothing before).
    pub(super) fn publish_answered(&self, pkid: u16, answer: Result<(), String>) {
        if let Some(code) = self.watch_intake.try_with_value(|i| i.code).flatten() {
            (code.answered)(self, pkid, answer);
        }
    }

    /// The broker's answer to a subscription the viewer holds.
    pub(super) fn watch_answer(&self, filter: &str, state: FilterState) {
        if self
            .router
            .try_with_value(|r| r.wants(View::Watch, filter))
            .unwrap_or_default()
        {
            self.watch.try_update(|w| w.set_state(filter, state));
        }
    }

    /// Once the client id is known, before the link opens (which subscribes the whole
    /// table at once): watch what this id's session was watching, beside what the page's
    /// link asked for.
    pub(super) fn restore_watched(&self, client_id: &str) {
        let saved: Vec<SavedFilter> =
            web_storage::get(Area::Local, &key(client_id)).unwrap_or_default();
        for SavedFilter { filter, qos } in saved {
            let qos = qos_of(qos);
            let added = self.watch.try_update(|w| match w.add_filter(&filter, qos) {
                Ok(()) => true,
                // Already watched from the page's link (a reload on the viewer), which
                // names no QoS per filter: the QoS this session watched it at stays.
                Err(WatchError::Already(_)) => qos == QoS::AtLeastOnce && w.set_qos(&filter, qos),
                Err(_) => false,
            });
            if added == Some(true) {
                self.router
                    .try_update_value(|r| drop(r.want(View::Watch, &filter, qos)));
            }
        }
        self.save_watched();
        let watching = self
            .watch
            .try_with_untracked(|w| !w.filters().is_empty())
            .unwrap_or(false);
        if watching {
            self.load_watch_code();
        }
    }

    fn save_watched(&self) {
        let Some(client_id) = self.client_id.try_get_untracked().unwrap_or_default() else {
            return;
        };
        let saved: Vec<SavedFilter> = self
            .watch
            .try_with_untracked(|w| {
                w.filters()
                    .iter()
                    .map(|f| SavedFilter {
                        filter: f.filter.clone(),
                        qos: f.qos as u8,
                    })
                    .collect()
            })
            .unwrap_or_default();
        if saved.is_empty() {
            web_storage::remove(Area::Local, &key(&client_id));
        } else {
            let _ = web_storage::set(Area::Local, &key(&client_id), &saved);
        }
    }
}

fn into_watch(code: WatchCode, watch: &mut Watch, held: Held) {
    match held {
        Held::Message(m, at) => (code.receive)(watch, &m.topic, &m.payload, m.qos, m.retain, at),
        Held::Skipped {
            topic,
            size,
            limit,
            qos,
            at,
        } => (code.skipped)(watch, &topic, size, limit, qos, at),
    }
}
