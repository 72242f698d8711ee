//! Getting going: who this tab is, the connection (started first: the broker needs nothing
//! from storage), then what storage kept: the conversation, shown at once, and the messages
//! not yet delivered, sent again in order. Messages sent while storage opens wait behind
//! those (`chat::Outbox::restore`): in the outbox, on the wire and in the rows.

use chat::{Notice, NoticeKind};
use mqtt_core::{Options, Protocol, QoS};

use leptos::prelude::*;

use super::{ChatSession, HistoryState};
use crate::browser::identity;
use crate::browser::web_storage::{self, Area};
use crate::config::AppConfig;
use crate::persist::outbox::{self, Unsent};
use crate::persist::writer::Op;
use crate::persist::Db;
use crate::transport::Connection;

pub(super) fn start(session: ChatSession, config: AppConfig) {
    let url = match config.broker_url.clone() {
        Ok(url) => url,
        Err(reason) => {
            // Nothing will take the socket the page opened early: close it.
            let _ = crate::browser::early_socket::take("");
            // No link will exist to report a state: this is the status for good.
            session.status.try_set(chat::ConnectionStatus::Offline {
                reason: chat::OfflineReason::BadBrokerUrl(reason),
            });
            session.history.try_set(HistoryState::Off);
            return;
        }
    };
    leptos::task::spawn_local(async move {
        let me = match identity::tab_identity().await {
            Ok(me) => me,
            Err(_) => {
                session.status.try_set(chat::ConnectionStatus::Offline {
                    reason: chat::OfflineReason::NoRandomness,
                });
                return;
            }
        };
        crate::bench::mark("mqtt-chat:identity");
        let client_id = me.client_id.clone();
        session.author.try_set_value(me.author_id.clone());
        session.person.try_set_value(me.person_id.clone());
        session
            .core
            .try_update_value(|c| c.set_person(&me.person_id));
        let protocol = match config.protocol {
            chat::MqttVersion::V311 => Protocol::V311,
            chat::MqttVersion::V5 => match load_mqtt5(session).await {
                Some(v5) => {
                    crate::bench::mark("mqtt-chat:mqtt5");
                    v5
                }
                None => return,
            },
        };
        let options = Options {
            clean_session: false,
            protocol,
            // MQTT 5 ends a session at disconnect unless told to keep it: then messages
            // sent while the tab is closed would never come (3.1.1 keeps it for good).
            session_expiry: super::SESSION_EXPIRY,
            credentials: config.credentials.clone(),
            max_incoming_packet: super::MAX_INCOMING_PACKET,
            will: session.will(&me),
            ..Options::new(client_id.clone())
        };
        session.client_id.try_set(Some(client_id.clone()));
        session.restore_watched(&client_id);
        let filters: Vec<(String, QoS)> = session
            .router
            .try_with_value(|r| r.subscriptions().map(|(f, q)| (f.to_owned(), q)).collect())
            .unwrap_or_default();
        let filters: Vec<(&str, QoS)> = filters.iter().map(|(f, q)| (f.as_str(), *q)).collect();
        let urls = chat::broker_urls(&url).map(str::to_owned).collect();
        let connection = Connection::open(urls, options, &filters, move |event| {
            session.on_link_event(event)
        });
        // The user can send from here on. If the view is already gone, the connection is
        // dropped here, which closes it.
        session
            .connection
            .try_update_value(|slot| *slot = Some(connection));

        let db = open_storage(session).await;
        // Unsent messages first: own rows of the history read their state from the outbox.
        let unsent = match &db {
            Some(db) => restore_outbox(session, db, &client_id, &me.forgotten).await,
            None => Vec::new(),
        };
        // Into the outbox before the history is shown, ahead of what was sent meanwhile.
        // (Gone with the view meanwhile: nothing left to do.)
        if session
            .core
            .try_update_value(|c| c.handle_restored(unsent))
            .is_none()
        {
            return;
        }
        session.store.try_update_value(|s| {
            s.db = db.clone();
            s.storage_known = true;
            s.writer.attach(db.clone());
        });
        session.ensure_history(&session.open_room());

        let listeners = super::lifecycle::listeners(session);
        session.listeners.try_update_value(|l| l.extend(listeners));
        // Store the held ones, show the stored ones' rows ahead of theirs, publish all.
        session.drive();
    });
}

/// MQTT 5's codec, a chunk of its own (`split::mqtt5`). One that cannot be fetched is said
/// on the badge and fetched again on the schedule a lost broker gets; `None` once the view
/// is gone.
async fn load_mqtt5(session: ChatSession) -> Option<Protocol> {
    crate::split::until_loaded(crate::split::mqtt5, |_| {
        let offline = chat::ConnectionStatus::Offline {
            reason: chat::OfflineReason::Mqtt5NotLoaded,
        };
        // Given back: the view is gone.
        session.status.try_set(offline).is_none()
    })
    .await
}

/// Storage has not answered for a while: stop holding what was sent meanwhile. It is
/// queued for storage (written once storage answers) and published now; stored messages
/// that come later go after it.
fn release_held(session: ChatSession) {
    session.core.try_update_value(|c| c.handle_storage_late());
    session.drive();
}

/// IndexedDB, or why not. The chat never waits for it (the connection is up already), but
/// unsent messages and the history do. One that has not answered after a few seconds is
/// said to be off, and still waited for: on a busy machine it comes, late, and then the
/// notice goes and everything kept is restored as usual.
async fn open_storage(session: ChatSession) -> Option<Db> {
    let say = |e: &crate::persist::StoreError| {
        session
            .notices
            .try_update(|n| n.set(Notice::HistoryOff { why: e.to_string() }));
    };
    let mut open = std::pin::pin!(Db::open());
    let give_up = gloo_timers::future::TimeoutFuture::new(3_000);
    let result = match futures::future::select(open.as_mut(), give_up).await {
        futures::future::Either::Left((result, _)) => result,
        futures::future::Either::Right(_) => {
            say(&crate::persist::StoreError::Unavailable(
                "IndexedDB has not answered yet".into(),
            ));
            release_held(session);
            let late = open.await;
            if late.is_ok() {
                session
                    .notices
                    .try_update(|n| n.clear(NoticeKind::HistoryOff));
            }
            late
        }
    };
    result.map_err(|e| say(&e)).ok()
}

/// This tab's unsent messages: its own, those of client ids no open tab uses (a tab that
/// was closed, an id the reuse pool forgot), and those an earlier version kept in
/// localStorage. A live tab's are never taken: it is sending them itself.
async fn restore_outbox(
    session: ChatSession,
    db: &Db,
    me: &str,
    forgotten: &[String],
) -> Vec<Unsent> {
    let mut candidates = outbox::owners(db).await.unwrap_or_default();
    candidates.extend(forgotten.iter().cloned());
    candidates.extend(
        identity::known_ids()
            .into_iter()
            .filter(|id| outbox::has_legacy(id)),
    );
    candidates.retain(|id| id != me);
    candidates.sort();
    candidates.dedup();
    let free = identity::not_in_use(&candidates).await;
    if let Err(e) = outbox::adopt(db, &free, me).await {
        session
            .notices
            .try_update(|n| n.set(Notice::OutboxNotSaved { why: e.to_string() }));
    }
    let mut unsent = match outbox::load(db, me).await {
        Ok(loaded) => {
            skipped(session, loaded.skipped);
            loaded.unsent
        }
        Err(e) => {
            session.outbox_known.try_set(false);
            session
                .notices
                .try_update(|n| n.set(Notice::OutboxNotSaved { why: e.to_string() }));
            Vec::new()
        }
    };
    let mut legacy_owners = free;
    legacy_owners.push(me.to_owned());
    let stored: std::collections::HashSet<String> =
        unsent.iter().filter_map(|u| u.message.id.clone()).collect();
    legacy_owners.retain(|owner| outbox::has_legacy(owner));
    if !legacy_owners.is_empty() {
        // Its reader is a chunk: a page that spilled nothing never fetches it. Without it
        // (the server gone), the spilled messages stay where they are for the next start.
        if let Ok(read) = crate::split::spilled_outbox_reader().await {
            unsent.extend(migrate_legacy(session, me, &legacy_owners, &stored, read));
        }
    }
    unsent
}

/// Outboxes kept in localStorage (one JSON string per client id: spilled at `pagehide`, or
/// left by an earlier version) move into IndexedDB, entry by entry: what still parses is
/// kept, and what does not is counted for the user.
fn migrate_legacy(
    session: ChatSession,
    me: &str,
    owners: &[String],
    stored: &std::collections::HashSet<String>,
    read: outbox::LegacyReader,
) -> Vec<Unsent> {
    let mut bad = 0;
    let mut moved = Vec::new();
    for owner in owners {
        let (entries, unreadable) = read(owner);
        bad += unreadable;
        if entries.is_empty() && unreadable == 0 {
            continue;
        }
        for (topic, message) in entries {
            // Kept in both (spilled at pagehide, and its IndexedDB write got through).
            if message.id.as_ref().is_some_and(|id| stored.contains(id)) {
                continue;
            }
            let seq = session
                .store
                .try_update_value(|s| s.recorder.next_seq(message.ts.unwrap_or(0.0)))
                .unwrap_or_default();
            moved.push(Unsent {
                seq,
                topic,
                message,
            });
        }
        web_storage::remove(Area::Local, &outbox::legacy_key(owner));
    }
    // Written at once (outbox writes are never batched).
    session.store.try_with_value(|s| {
        for unsent in &moved {
            s.writer.push(Op::OutboxPut {
                owner: me.to_owned(),
                unsent: unsent.clone(),
            });
        }
    });
    skipped(session, bad);
    moved
}

/// `count` more stored records could not be read: add them to the notice.
fn skipped(session: ChatSession, count: usize) {
    if count > 0 {
        session.notices.try_update(|n| n.add_skipped(count));
    }
}
