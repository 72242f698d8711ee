//! The chat session's own logic, sans-IO, in the style of `mqtt_core::Client`: time and
//! randomness come in as arguments, and nothing here touches a socket, storage or the page.
//!
//! It owns:
//! - the [`Outbox`], the one record of unsent messages: what is published, what is resent
//!   after a reload and what own rows show derive from it;
//! - the marks on own messages that left it undelivered ([`Receipts`]);
//! - the [`AuthorshipCheck`];
//! - typing, said and shown ([`crate::TypingSender`], [`crate::Typing`]);
//! - presence: this tab's status and will, everyone's statuses ([`crate::Presence`]), the
//!   grace periods, the sweep of stale statuses and the daily refresh;
//! - catch-up: asking rooms, answering others after a delay with what storage holds
//!   ([`crate::catchup`]);
//! - what a screen reader is told of new messages ([`crate::pace::Announcer`]);
//! - rooms: which are joined and open, their subscriptions, what is remembered, when each
//!   asks for catch-up, what is unread ([`crate::Rooms`]); each room's log and stored
//!   history stay with the driver, which keeps them for the view.
//!
//! Driven by `handle_*(now, …)` calls, read by `poll_*` calls:
//! - [`Session::poll_transmit`]: the next thing for the MQTT client (a publish, a will, a
//!   filter wanted or no longer wanted, a packet to abandon);
//!   a publish is answered with [`Session::handle_published`];
//! - [`Session::poll_store`]: the next storage operation (the outbox's records and the
//!   history's, in order; the rooms to remember; reads for catch-up requests and answers);
//! - [`Session::poll_view`]: the next change for the view;
//! - [`Session::poll_timeout`]: when [`Session::handle_timeout`] is next due.
//!
//! Times are wall-clock milliseconds, as elsewhere in the domain.

mod announce;
mod catchup;
mod own;
mod presence;
mod probe;
mod rooms;
mod typing;

pub use catchup::OVERLAP_MS;
pub use own::reactions_topic_of;
pub use presence::{
    MAX_FORMER_CLEARS, NAME_SETTLE_MS, REFRESH_CHECK_MS, RESTORE_MS, SWEEP_AFTER_MS,
    SWEEP_SPREAD_MS, WILL_DELAY,
};
pub use rooms::{room_filters, Shown, NOTIFY_GAP_MS};

use std::collections::{HashSet, VecDeque};

use mqtt_core::{LastWill, QoS};

use crate::authorship::{AuthorshipCheck, Verdict};
use crate::catchup::{Due, Entry};
use crate::connection::MqttVersion;
use crate::message::ChatMessage;
use crate::outbox::{Outbox, Refusal, Unsent, MAX_CLOSED_SENDS};
use crate::receipts::Receipts;
use crate::room::RoomName;

/// What a publish is for, to match its answer ([`Session::handle_published`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// The own message with this id.
    Message(String),
    /// The authorship probe.
    Probe,
}

/// For the MQTT client.
#[derive(Clone, Debug, PartialEq)]
pub enum Transmit {
    /// Publish at QoS 1, not retained. Answer with [`Session::handle_published`].
    Publish {
        key: Key,
        topic: String,
        payload: Vec<u8>,
    },
    /// Never send this packet again (its answer would be read wrongly, or it would loop).
    Abandon(u16),
    /// Publish a typing signal at QoS 0, not retained; under MQTT 5 with a message expiry
    /// of `expires_in` ms, so the broker never delivers it stale.
    Typing {
        topic: String,
        payload: Vec<u8>,
        expires_in: f64,
    },
    /// From now on, CONNECT with this last will.
    Will(LastWill),
    /// Publish this tab's status, retained, at QoS 1.
    Status { topic: String, payload: Vec<u8> },
    /// Clear a retained status (an empty retained publish, QoS 1).
    Clear { topic: String },
    /// Subscribe to `filter` again (at QoS 1): the broker sends what it retains under it.
    Subscribe { filter: String },
    /// A catch-up request or answer: QoS 0, not retained.
    CatchUp { topic: String, payload: Vec<u8> },
    /// The chat wants `filter` (a room was joined): subscribe unless already subscribed.
    Want { filter: String, qos: QoS },
    /// The chat no longer wants `filter` (a room was left).
    Unwant { filter: String },
}

/// For storage, in this order. The outbox's records are keyed by `seq` under this tab's
/// client id.
// Polled and taken apart at once by the driver, a few per message: boxing the message would
// cost an allocation each for nothing (as for `Payload`).
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum StoreOp {
    /// Keep this unsent message (before it goes on the wire).
    OutboxPut(Unsent),
    /// It left the outbox.
    OutboxDelete { seq: f64 },
    /// A message's history record, filed under its room and written (again) under its key:
    /// one shown in a room (from the link, or new from a catch-up answer), or one of ours
    /// with its mark or without one.
    History {
        topic: String,
        payload: Vec<u8>,
        id: Option<String>,
        at: f64,
        refusal: Option<Refusal>,
    },
    /// Read the room's stored messages for this answer, and hand them to
    /// [`Session::handle_read_for_answer`] (nothing stored, or no storage: nothing to do).
    ReadForAnswer(Due),
    /// Once the room's stored history is in its log, read the time of the newest message
    /// it holds and ask the room with [`Session::handle_ask`].
    ReadForAsk(RoomName),
    /// Remember the joined rooms (not the default one) for every tab of this browser.
    SaveRooms(Vec<String>),
    /// Remember the open room for this tab (a reload shows it again).
    SaveOpen(RoomName),
}

/// For the view.
#[derive(Clone, Debug, PartialEq)]
pub enum ViewChange {
    /// Show an own message's row, in the room its topic names; ahead of the rows with the
    /// ids in `before` (sent after it, while it was being read back), if any are shown.
    ShowOwn {
        topic: String,
        message: Box<ChatMessage>,
        at: f64,
        before: Vec<String>,
    },
    /// The outbox changed: own rows read their delivery again.
    Outbox,
    /// The marks on own messages changed.
    Marks,
    /// The authorship verdict may have changed.
    Verdict,
    /// The open room's typing line changed ([`Session::typing_text`]).
    Typing,
    /// Who is where may show differently ([`Session::listing`]).
    Presence,
    /// The rooms changed: joined, open or unread ([`Session::rooms`]).
    Rooms,
    /// The open room is `to` now, not `from`: the table shows its log, and its stored
    /// history goes in (once).
    Shown { from: RoomName, to: RoomName },
    /// The room was left: its log and history load go.
    Left(RoomName),
    /// New messages of `room` from a catch-up answer, oldest first: into its log (each
    /// once), and kept.
    CaughtUp { room: RoomName, entries: Vec<Entry> },
    /// Tell a screen reader these words (new messages in the open room, gathered).
    Announce(String),
    /// Show a browser notification of `name`'s message in `room` (the tab is hidden, and
    /// the room notifies of it: see [`crate::notify`]).
    Notify {
        room: RoomName,
        name: String,
        text: String,
        /// It names the user.
        mention: bool,
    },
    /// Of the messages from before a reload (or held while storage was read), `failed`
    /// could not be queued, the last because of `why`; they stay stored. 0: all went.
    Requeued { failed: usize, why: String },
}

/// Stored messages being queued again: their notice comes when all are answered.
#[derive(Clone, Debug, Default)]
struct Requeue {
    /// Publishes not yet answered.
    waiting: usize,
    failed: usize,
    why: String,
}

/// The session (see the module docs).
#[derive(Debug)]
pub struct Session {
    /// This browser's person id (presence, typing).
    person: String,
    outbox: Outbox,
    receipts: Receipts,
    authorship: AuthorshipCheck,
    typing: typing::TypingPart,
    presence: presence::PresencePart,
    catch_up: catchup::CatchUpPart,
    announce: announce::AnnouncePart,
    rooms: rooms::RoomsPart,
    /// Fresh messages published and not yet answered: a failed publish takes them back out.
    fresh: HashSet<String>,
    requeue: Requeue,
    transmits: VecDeque<Transmit>,
    stores: VecDeque<StoreOp>,
    views: VecDeque<ViewChange>,
    /// Mirrored state changed and not yet read: outbox 1, marks 2, verdict 4, typing 8,
    /// presence 16, rooms 32.
    dirty: u8,
}

impl Session {
    /// A session for an MQTT `version` link, signed in (the user name pinned into topics)
    /// or not. Until [`Session::handle_restored`] (or [`Session::handle_storage_late`]),
    /// what is sent waits behind the stored unsent messages.
    pub fn new(version: MqttVersion, signed_in: bool) -> Self {
        let mut presence = presence::PresencePart::default();
        // Nothing is vouched for until this connection's own check says so.
        presence.people_vouched(false);
        Session {
            person: String::new(),
            presence,
            catch_up: catchup::CatchUpPart::default(),
            announce: announce::AnnouncePart::default(),
            rooms: rooms::RoomsPart::default(),
            outbox: Outbox::awaiting_restore(),
            // MQTT 3.1.1 cannot refuse a publish: a signed-in tab expects its own back.
            receipts: Receipts::new(version == MqttVersion::V311 && signed_in),
            authorship: AuthorshipCheck::new(version, signed_in),
            typing: typing::TypingPart::default(),
            fresh: HashSet::new(),
            requeue: Requeue::default(),
            transmits: VecDeque::new(),
            stores: VecDeque::new(),
            views: VecDeque::new(),
            dirty: 0,
        }
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn marks(&self) -> &std::collections::HashMap<String, Refusal> {
        self.receipts.marks()
    }

    pub fn verdict(&self) -> &Verdict {
        self.authorship.verdict()
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_store(&mut self) -> Option<StoreOp> {
        self.stores.pop_front()
    }

    pub fn poll_view(&mut self) -> Option<ViewChange> {
        if let Some(change) = self.views.pop_front() {
            return Some(change);
        }
        let flag = self.dirty & self.dirty.wrapping_neg();
        self.dirty &= !flag;
        match flag {
            1 => Some(ViewChange::Outbox),
            2 => Some(ViewChange::Marks),
            4 => Some(ViewChange::Verdict),
            8 => Some(ViewChange::Typing),
            16 => Some(ViewChange::Presence),
            32 => Some(ViewChange::Rooms),
            _ => None,
        }
    }

    /// When [`Session::handle_timeout`] is next due: the earliest of an own message's echo
    /// deadline, the probe's, the trailing typing publish, the open room's next typing
    /// expiry, and presence's (a name to say, a grace ending, the sweep, the refresh check).
    pub fn poll_timeout(&self) -> Option<f64> {
        [
            self.receipts.poll_timeout(),
            self.authorship.poll_timeout(),
            self.typing.poll_timeout(),
            self.presence.poll_timeout(),
            self.catch_up.poll_timeout(),
            self.announce.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min_by(f64::total_cmp)
    }

    /// The link ended at `now`. `closed_by_broker`: not by this tab and not a refused
    /// connect; then a message it carried just before counts one more link closed on it, and
    /// one closed on [`MAX_CLOSED_SENDS`] times is given up and marked. Everything else waits
    /// for the next link. A check under way is not known, and its probe never goes again.
    pub fn handle_link_lost(&mut self, now: f64, closed_by_broker: bool) {
        if closed_by_broker {
            for pending in self.outbox.link_lost_at(now) {
                if let Some(pkid) = pending.pkid {
                    self.transmits.push_back(Transmit::Abandon(pkid));
                }
                self.stores
                    .push_back(StoreOp::OutboxDelete { seq: pending.seq });
                let why =
                    format!("the broker closed the connection on it {MAX_CLOSED_SENDS} times");
                self.refused(now, pending, Refusal::Refused(why));
            }
        } else {
            self.outbox.link_lost();
        }
        self.presence_link_lost();
        self.view(ViewChange::Outbox);
        if let Some(pkid) = self.authorship.handle_link_lost() {
            self.transmits.push_back(Transmit::Abandon(pkid));
        }
        self.view(ViewChange::Verdict);
    }

    /// Time passed: own messages not seen back in time are marked; a probe past its
    /// deadline is not known, and abandoned; typing is said again or expires; presence's
    /// timers run.
    pub fn handle_timeout(&mut self, now: f64) {
        for change in self.receipts.handle_timeout(now) {
            self.changed(now, change);
        }
        if let Some(pkid) = self.authorship.handle_timeout(now) {
            self.transmits.push_back(Transmit::Abandon(pkid));
        }
        self.view(ViewChange::Verdict);
        self.typing_timeout(now);
        self.presence_timeout(now);
        self.catch_up_timeout(now);
        self.announce_timeout(now);
    }

    /// Queue a change for the view; a change of mirrored state once until it is read.
    pub(super) fn view(&mut self, change: ViewChange) {
        let flag = match change {
            ViewChange::Outbox => 1,
            ViewChange::Marks => 2,
            ViewChange::Verdict => {
                // Statuses from `.../from/<user>` are read under the verdict.
                self.presence_vouched(self.authorship.verdict().vouched());
                4
            }
            ViewChange::Typing => 8,
            ViewChange::Presence => 16,
            ViewChange::Rooms => 32,
            other => return self.views.push_back(other),
        };
        self.dirty |= flag;
    }
}
