//! The MQTT client session state machine, one for MQTT 3.1.1 and 5: the version only
//! shows in the codec (`crate::codec`) and in the broker's limits a v5 CONNACK brings.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use mqttbytes::QoS;

use crate::codec::{
    self, ConnectSpec, DecodeError, HeadError, Incoming, Out, OutPublish, Protocol, ServerLimits,
    SubCode, PUBLISH_TYPE,
};
use crate::error::{ConnectRefusal, DisconnectReason, ProtocolError, PublishError, SubscribeError};
use crate::time::Instant;
use crate::topic;

/// A packet identifier, as used by QoS 1 publishes and subscriptions.
pub type PacketId = u16;

/// How a session connects and what it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// MQTT 3.1.1 (the default) or 5.
    pub protocol: Protocol,
    pub client_id: String,
    /// Sent in CONNECT. The broker drops a client that is silent for 1.5 times this.
    pub keep_alive: Duration,
    pub clean_session: bool,
    /// MQTT 5 Session Expiry Interval: how long the broker keeps our session after the link
    /// ends (sent in CONNECT when non-zero, in whole seconds rounded up; zero, the default,
    /// ends it with the link). Ignored under 3.1.1, where `clean_session: false` keeps it
    /// for as long as the broker likes.
    pub session_expiry: Duration,
    /// How long to wait for CONNACK after the link opens.
    pub connack_timeout: Duration,
    /// How long to wait for PINGRESP before the link counts as dead.
    pub ping_timeout: Duration,
    /// The largest remaining length (the packet without its 2 to 5 byte fixed header) of an
    /// incoming packet. Under MQTT 5 it is also sent in CONNECT as our Maximum Packet Size
    /// (which counts the whole packet, so the broker stays a few bytes below this), and a
    /// broker does not send us more: it drops the message instead. A larger PUBLISH is read past without being buffered and reported as
    /// `Event::Skipped` (QoS 1 is acknowledged, so the broker does not send it again); any
    /// other larger packet ends the connection with `ProtocolError::PacketTooLarge`.
    pub max_incoming_packet: usize,
    /// Larger outgoing publishes (the whole packet) are refused before they are sent
    /// (FIELD.md #7). An MQTT 5 broker's smaller Maximum Packet Size wins.
    pub max_outgoing_packet: usize,
    /// QoS 1 publishes kept until acknowledged, at most.
    pub max_inflight: usize,
    pub credentials: Option<Credentials>,
    /// Put into every CONNECT: the broker publishes it when this session's link dies
    /// without a DISCONNECT (a crashed tab, a lost network). `Client::set_will` changes it
    /// for the next CONNECT and checks it; one set here directly is checked at each
    /// CONNECT, and left out (with a `Warning`) if it cannot be sent.
    pub will: Option<LastWill>,
}

/// The message the broker publishes for us when our link ends without a DISCONNECT. Chat
/// uses it for presence: a retained "offline" status on the tab's presence topic, so
/// others see a crashed tab go offline (design8.md, timing rules).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastWill {
    pub topic: String,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    /// MQTT 5 Will Delay Interval: the broker waits this long (whole seconds, rounded up)
    /// after the link died before it publishes the will, and does not publish it if we are
    /// back by then. Zero (the default) publishes it at once. Ignored under 3.1.1.
    pub delay: Duration,
}

impl Default for LastWill {
    /// An empty will, QoS 0, not retained, no delay: a base for struct update syntax.
    fn default() -> Self {
        LastWill {
            topic: String::new(),
            payload: Bytes::new(),
            qos: QoS::AtMostOnce,
            retain: false,
            delay: Duration::ZERO,
        }
    }
}

/// How a message is published, besides topic, payload and QoS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublishOptions {
    /// The broker keeps the message as the topic's current value and hands it to every
    /// later subscriber. An MQTT 5 broker may say it keeps none: the message then goes out
    /// without the flag, with one `Event::Warning` per connection.
    pub retain: bool,
    /// MQTT 5 Message Expiry Interval: the broker drops the message if it could not hand
    /// it on within this long (whole seconds, rounded up, at least 1). Ignored under 3.1.1.
    pub message_expiry: Option<Duration>,
    /// MQTT 5 Content Type: what the payload is, in words of the sender's choosing (a MIME
    /// type such as "application/json" by custom). The broker passes it on unchanged.
    /// Ignored under 3.1.1 (not sent, and not checked).
    pub content_type: Option<String>,
    /// MQTT 5 User Properties: name/value pairs, sent in this order; a name may come more
    /// than once. The broker passes them on unchanged. Ignored under 3.1.1 (not sent, and
    /// not checked).
    pub user_properties: Vec<(String, String)>,
}

/// Topic and payload of a will each go into CONNECT with a two-byte length.
const WILL_FIELD_LIMIT: usize = u16::MAX as usize;

impl LastWill {
    /// The will as it can go into CONNECT: topic and payload fit their two-byte lengths, the
    /// topic is one a publish may use, and QoS 2 is downgraded to 1 like every publish here.
    fn checked(&self) -> Result<LastWill, PublishError> {
        if !valid_topic(&self.topic) {
            return Err(PublishError::InvalidTopic(self.topic.clone()));
        }
        if self.payload.len() > WILL_FIELD_LIMIT {
            return Err(PublishError::TooLarge {
                size: self.payload.len(),
                limit: WILL_FIELD_LIMIT,
            });
        }
        Ok(LastWill {
            qos: downgrade(self.qos),
            ..self.clone()
        })
    }
}

/// User name and password for CONNECT. An empty password is left out of CONNECT, so under
/// MQTT 5 a user name alone is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password, not even in a debug log.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Options {
    pub fn new(client_id: impl Into<String>) -> Self {
        Options {
            protocol: Protocol::V311,
            client_id: client_id.into(),
            keep_alive: Duration::from_secs(120),
            clean_session: true,
            session_expiry: Duration::ZERO,
            connack_timeout: Duration::from_secs(10),
            ping_timeout: Duration::from_secs(10),
            max_incoming_packet: 1024 * 1024,
            max_outgoing_packet: 256 * 1024,
            max_inflight: 1000,
            credentials: None,
            will: None,
        }
    }

    /// A PINGREQ goes out after this much silence from our side: half the keep-alive.
    ///
    /// Hidden tabs (FIELD.md #1): Chrome delays chained timers in a tab hidden for five
    /// minutes to one wake-up a minute, so a ping can fire up to 60 s late. The broker drops
    /// a client after 1.5 keep-alives of silence. With the default keep-alive of 120 s a ping
    /// is due after 60 s, goes out by 120 s at the latest, and the broker waits 180 s: a
    /// minute of margin. `tests/hidden_tab.rs` checks this on a virtual clock.
    ///
    /// An MQTT 5 broker may impose its own keep-alive (CONNACK Server Keep Alive); the
    /// session then pings after half of that (`Client::ping_interval`).
    pub fn ping_interval(&self) -> Duration {
        self.keep_alive / 2
    }
}

/// A PUBLISH received from the broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingMessage {
    pub topic: String,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    /// Which of our subscriptions this copy of the message came through (MQTT 5). A v5
    /// broker sends one copy per matching subscription when filters overlap (Mosquitto 2
    /// does), each carrying the Subscription Identifiers of the subscriptions it stands
    /// for; a 3.1.1 client gets one copy, and no identifiers.
    ///
    /// `None`: the PUBLISH carried no Subscription Identifier (always under 3.1.1, and
    /// under MQTT 5 when the broker takes none, see `ServerLimits`). Otherwise the
    /// session's current subscriptions, granted yet or not and in the order they were
    /// made, whose identifier (`topic::subscription_id`) the PUBLISH carries and whose
    /// filter matches its topic. An identifier that names no such filter, say one from an
    /// earlier page load's subscription that is no longer ours, counts for nothing, so this
    /// may be `Some` of an empty list.
    pub via: Option<Vec<String>>,
}

/// What happened, for the owner of the session to act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Connected {
        session_present: bool,
    },
    Subscribed {
        filter: String,
        qos: QoS,
    },
    /// The broker refused this filter (3.1.1 code 0x80, or an MQTT 5 code of 0x80 or
    /// more), or it was not sent because an MQTT 5 broker said it takes no wildcard
    /// filters. `reason`: why, in words (with the broker's reason string, if any); `None`
    /// under 3.1.1, whose SUBACK only says "failure".
    SubscribeRefused {
        filter: String,
        reason: Option<String>,
    },
    /// The broker no longer sends us messages for this filter: it acknowledged the
    /// UNSUBSCRIBE (UNSUBACK), or a new session started without it. Not emitted for a
    /// filter subscribed again before this point. An MQTT 5 UNSUBACK's reason codes
    /// (0x11 "no subscription existed", or a refusal) are not told apart: the filter is
    /// forgotten here either way, and messages still arriving for it are the owner's to drop.
    Unsubscribed {
        filter: String,
    },
    Message(IncomingMessage),
    /// A PUBLISH over `Options::max_incoming_packet` was read past and dropped; the
    /// connection stays up. `size` is the whole packet on the wire, fixed header included
    /// (so it is larger than `limit`, which applies to the remaining length). Emitted once
    /// the last byte of the packet has arrived; a QoS 1 publish is acknowledged (PUBACK)
    /// at that same moment, so a persistent session does not get it again after a
    /// reconnect.
    Skipped {
        topic: String,
        size: usize,
        limit: usize,
        qos: QoS,
    },
    /// A QoS 1 publish went on the wire (again, after a reconnect).
    Sent {
        pkid: PacketId,
    },
    /// The broker acknowledged a QoS 1 publish (PUBACK).
    Acknowledged {
        pkid: PacketId,
    },
    /// A QoS 1 publish is given up and will not be sent again: an MQTT 5 broker refused it
    /// (PUBACK with a reason code of 0x80 or more, e.g. "not authorized", "quota
    /// exceeded", plus its reason string), or it waited in the queue and is over the
    /// Maximum Packet Size the broker announced on connecting.
    PublishRefused {
        pkid: PacketId,
        /// The broker's reason code (MQTT 5), or none when refused here (too large).
        code: Option<u8>,
        reason: String,
    },
    /// Something odd that does not end the connection.
    Warning(ProtocolError),
    /// The connection is over: the transport should close its socket.
    Disconnected(DisconnectReason),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No link, or the link is finished with.
    Idle,
    AwaitConnack {
        deadline: Instant,
    },
    Connected,
}

#[derive(Debug)]
struct Outgoing {
    publish: OutPublish,
    /// Sent on the current connection: only these can be acknowledged.
    on_wire: bool,
    /// Sent on some connection before, so a resend carries DUP (MQTT-3.3.1-1).
    ever_sent: bool,
}

#[derive(Debug)]
struct Subscription {
    filter: String,
    /// `topic::subscription_id(&filter)`, kept to read incoming publishes by.
    id: usize,
    qos: QoS,
    /// The broker granted it on this session, so a resumed session still has it.
    granted: bool,
}

/// An oversized incoming PUBLISH being read past, see `Event::Skipped`.
#[derive(Debug)]
struct Skip {
    topic: String,
    qos: QoS,
    pkid: PacketId,
    /// The whole packet on the wire, fixed header included.
    size: usize,
    /// Bytes of the packet still to come and be dropped.
    left: usize,
}

/// What one decoding step did.
enum Step {
    /// A packet was handled (or the connection ended).
    Progress,
    /// At least this many more bytes are needed.
    Need(usize),
}

/// Bytes moved from an incoming frame into the receive buffer at a time (or more when a
/// packet needs more), so a frame holding an oversized packet is never copied whole.
const READ_CHUNK: usize = 4096;

/// One MQTT client session (3.1.1 or 5, see `Options::protocol`). See the crate docs for the
/// handle/poll contract.
#[derive(Debug)]
pub struct Client {
    options: Options,
    state: State,
    rx: BytesMut,
    /// Set while an oversized PUBLISH is being read past.
    skip: Option<Skip>,
    transmit: VecDeque<Bytes>,
    events: VecDeque<Event>,
    subscriptions: Vec<Subscription>,
    pending_subscribes: HashMap<PacketId, Vec<String>>,
    /// UNSUBSCRIBEs on the wire, by packet id: the filters each one still stands for (a
    /// filter subscribed again is taken out, so its late UNSUBACK reports nothing).
    pending_unsubscribes: HashMap<PacketId, Vec<String>>,
    /// Filters to unsubscribe once connected, if the broker kept our session: asked for
    /// while offline, or in flight when a link dropped.
    unsubscribe_later: Vec<String>,
    outgoing: VecDeque<Outgoing>,
    last_pkid: PacketId,
    last_sent: Instant,
    ping_deadline: Option<Instant>,
    /// What the broker said about itself in its last CONNACK; kept while offline, so a
    /// publish queued then is checked against the broker we last saw.
    limits: ServerLimits,
    /// The retain-unavailable warning was given on this connection.
    retain_warned: bool,
}

impl Client {
    pub fn new(options: Options) -> Self {
        Client {
            options,
            state: State::Idle,
            rx: BytesMut::new(),
            skip: None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            subscriptions: Vec::new(),
            pending_subscribes: HashMap::new(),
            pending_unsubscribes: HashMap::new(),
            unsubscribe_later: Vec::new(),
            outgoing: VecDeque::new(),
            last_pkid: 0,
            last_sent: Instant::default(),
            ping_deadline: None,
            limits: ServerLimits::default(),
            retain_warned: false,
        }
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// What the broker said about itself in its last CONNACK (MQTT 5); the permissive
    /// defaults under 3.1.1 and before the first CONNACK.
    pub fn server_limits(&self) -> &ServerLimits {
        &self.limits
    }

    /// A PINGREQ goes out after this much silence from our side: half the keep-alive, the
    /// broker's (MQTT 5 Server Keep Alive) if it imposed one, else ours
    /// (`Options::ping_interval`).
    pub fn ping_interval(&self) -> Duration {
        match self.limits.server_keep_alive {
            Some(secs) => Duration::from_secs(u64::from(secs)) / 2,
            None => self.options.ping_interval(),
        }
    }

    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// QoS 1 publishes not yet acknowledged, sent or not.
    pub fn unacknowledged(&self) -> usize {
        self.outgoing.len()
    }

    /// Give up on the QoS 1 publish `pkid` if it is waiting, not on the wire of the current
    /// connection (a link died before its PUBACK): it is not sent again. For a publish whose
    /// resending would only do harm, such as one a broker answers by closing the
    /// connection. Returns whether it was dropped.
    pub fn abandon(&mut self, pkid: PacketId) -> bool {
        match self
            .outgoing
            .iter()
            .position(|o| o.publish.pkid == pkid && !o.on_wire)
        {
            Some(index) => {
                self.outgoing.remove(index);
                true
            }
            None => false,
        }
    }

    // ----- inputs -------------------------------------------------------------------------

    /// A new network link is open: start the MQTT handshake on it.
    pub fn handle_open(&mut self, now: Instant) {
        self.rx.clear();
        self.skip = None;
        self.transmit.clear();
        self.pending_subscribes.clear();
        self.requeue_unsubscribes();
        self.ping_deadline = None;
        // A new link: nothing is on this wire yet, whatever was on the last one.
        for entry in &mut self.outgoing {
            entry.on_wire = false;
        }
        self.retain_warned = false;
        let will = match self.options.will.as_ref().map(LastWill::checked) {
            None => None,
            Some(Ok(will)) => Some(will),
            // Set in `Options` directly, unchecked. Connecting without it beats a CONNECT
            // with a length that wrapped around, or refusing to connect at all.
            Some(Err(e)) => {
                self.events
                    .push_back(Event::Warning(ProtocolError::Malformed(format!(
                        "last will left out of CONNECT: {e}"
                    ))));
                None
            }
        };
        let connect = ConnectSpec {
            client_id: &self.options.client_id,
            keep_alive: u16::try_from(self.options.keep_alive.as_secs()).unwrap_or(u16::MAX),
            clean_session: self.options.clean_session,
            credentials: self.options.credentials.as_ref(),
            will: will.as_ref(),
            session_expiry: codec::interval_secs(self.options.session_expiry),
            max_packet_size: u32::try_from(self.options.max_incoming_packet).unwrap_or(u32::MAX),
        };
        let mut buf = BytesMut::new();
        let written = codec::encode(self.options.protocol, Out::Connect(connect), &mut buf);
        self.state = State::AwaitConnack {
            deadline: now + self.options.connack_timeout,
        };
        match written {
            Ok(()) => self.push_transmit(now, buf.freeze()),
            Err(e) => self.fail(DisconnectReason::Protocol(ProtocolError::Malformed(
                format!("cannot encode CONNECT: {}", codec::describe(e)),
            ))),
        }
    }

    /// Bytes arrived on the link. They may hold part of a packet or several packets.
    pub fn handle_bytes(&mut self, now: Instant, mut data: &[u8]) {
        while self.state != State::Idle {
            if let Some(skip) = &mut self.skip {
                // Drop the rest of an oversized PUBLISH: buffered bytes first, then new ones.
                let from_rx = skip.left.min(self.rx.len());
                self.rx.advance(from_rx);
                skip.left -= from_rx;
                let from_data = skip.left.min(data.len());
                data = &data[from_data..];
                skip.left -= from_data;
                if skip.left > 0 {
                    return;
                }
                self.finish_skip(now);
                continue;
            }
            match self.decode(now) {
                Step::Progress => {}
                Step::Need(n) => {
                    if data.is_empty() {
                        return;
                    }
                    let take = data.len().min(n.max(READ_CHUNK));
                    self.rx.extend_from_slice(&data[..take]);
                    data = &data[take..];
                }
            }
        }
    }

    /// Time has passed; act on any deadline that is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Idle => {}
            State::AwaitConnack { deadline } => {
                if now >= deadline {
                    self.fail(DisconnectReason::ConnackTimeout);
                }
            }
            State::Connected => {
                if let Some(deadline) = self.ping_deadline {
                    if now >= deadline {
                        self.fail(DisconnectReason::PingTimeout);
                    }
                } else if self.keep_alive_enabled() && now >= self.last_sent + self.ping_interval()
                {
                    self.push_packet(now, Out::PingReq);
                    self.ping_deadline = Some(now + self.options.ping_timeout);
                }
            }
        }
    }

    /// The link closed underneath us (socket closed, network gone).
    pub fn handle_close(&mut self, reason: impl Into<String>) {
        if self.state != State::Idle {
            self.fail(DisconnectReason::Transport(reason.into()));
        }
    }

    // ----- commands -----------------------------------------------------------------------

    /// Publish a message. QoS 1 messages are kept until acknowledged and (re)sent whenever a
    /// connection is up; the returned id comes back in `Sent` and `Acknowledged` events.
    /// QoS 0 messages are sent only if connected right now.
    pub fn publish(
        &mut self,
        now: Instant,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
    ) -> Result<Option<PacketId>, PublishError> {
        self.publish_with_options(now, topic, payload, qos, PublishOptions::default())
    }

    /// As `publish`, with the retain flag set (on resends too): the broker keeps the message
    /// as the topic's current value and hands it to every later subscriber, which is how a
    /// tab learns who is online (presence). An empty payload clears the retained message.
    pub fn publish_retained(
        &mut self,
        now: Instant,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
    ) -> Result<Option<PacketId>, PublishError> {
        let opts = PublishOptions {
            retain: true,
            ..PublishOptions::default()
        };
        self.publish_with_options(now, topic, payload, qos, opts)
    }

    /// Change the last will for the next CONNECT (the current connection keeps the one it
    /// was opened with: MQTT has no way to change it mid-connection). `None` removes
    /// it. Refused like a publish: a topic that is empty, over 65535 bytes or holds `+`/`#`,
    /// or a payload over 65535 bytes. QoS 2 is downgraded to 1.
    pub fn set_will(&mut self, will: Option<LastWill>) -> Result<(), PublishError> {
        self.options.will = will.as_ref().map(LastWill::checked).transpose()?;
        Ok(())
    }

    /// Publish with options: retain, and (MQTT 5) message expiry, content type and user
    /// properties. The options are kept with a QoS 1 message, so a resend after a reconnect
    /// carries them too. Refused with `PublishError::TooLarge` over
    /// `Options::max_outgoing_packet` or the broker's Maximum Packet Size (MQTT 5), counting
    /// the whole packet with its properties. Under MQTT 5 also refused, before anything is
    /// sent: a content type or user property key or value that is not an MQTT string
    /// (over 65,535 bytes, or holding U+0000), and properties over what their length can
    /// say (`PublishError::PropertiesTooLarge`).
    pub fn publish_with_options(
        &mut self,
        now: Instant,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        opts: PublishOptions,
    ) -> Result<Option<PacketId>, PublishError> {
        let payload = payload.into();
        if !valid_topic(topic) {
            return Err(PublishError::InvalidTopic(topic.to_owned()));
        }
        // QoS 2 is not offered: its exactly-once needs broker-side state this client does
        // not keep. It is downgraded to QoS 1, and chat dedups by message id.
        let qos = downgrade(qos);
        let (content_type, user_properties) = if self.options.protocol.is_v5() {
            (opts.content_type, opts.user_properties)
        } else {
            // Never sent under 3.1.1: not kept either.
            (None, Vec::new())
        };
        let mut publish = OutPublish {
            topic: topic.to_owned(),
            payload,
            qos,
            // Stored with the publish, so a resend after a reconnect is retained too.
            retain: opts.retain,
            dup: false,
            pkid: 0,
            message_expiry: opts.message_expiry.map(|d| codec::interval_secs(d).max(1)),
            content_type,
            user_properties,
        };
        // MQTT 5's properties are checked by its codec (out of the first load of a build
        // that loads the codec only for a v5 connection).
        codec::check_publish(self.options.protocol, &publish)?;
        let (size, limit) = self.publish_size(&publish);
        if size > limit {
            return Err(PublishError::TooLarge { size, limit });
        }
        if qos == QoS::AtMostOnce {
            if self.is_connected() {
                self.send_publish(now, &publish);
            }
            return Ok(None);
        }
        if self.outgoing.len() >= self.options.max_inflight {
            return Err(PublishError::OutboxFull(self.options.max_inflight));
        }
        let pkid = self.next_pkid();
        publish.pkid = pkid;
        self.outgoing.push_back(Outgoing {
            publish,
            on_wire: false,
            ever_sent: false,
        });
        if self.is_connected() {
            self.send_unsent(now);
        }
        Ok(Some(pkid))
    }

    /// The size of `publish` on the wire, and the most that may be sent.
    fn publish_size(&self, publish: &OutPublish) -> (usize, usize) {
        let size = codec::publish_size(self.options.protocol, publish);
        let server = self
            .limits
            .max_packet_size
            .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
        (size, self.options.max_outgoing_packet.min(server))
    }

    /// Subscribe now if connected, and again whenever a new session needs it.
    pub fn subscribe(
        &mut self,
        now: Instant,
        filter: &str,
        qos: QoS,
    ) -> Result<(), SubscribeError> {
        if !valid_filter(filter) {
            return Err(SubscribeError::InvalidFilter(filter.to_owned()));
        }
        // Chat needs at most QoS 1; QoS 2 delivery would need PUBREC/PUBREL handling.
        let qos = downgrade(qos);
        // Subscribing again cancels an unsubscribe still to do. One already on the wire
        // cannot be taken back, but the broker handles packets in order, so the SUBSCRIBE
        // below wins; its UNSUBACK must just not report the filter as gone.
        self.unsubscribe_later.retain(|f| f != filter);
        for filters in self.pending_unsubscribes.values_mut() {
            filters.retain(|f| f != filter);
        }
        self.subscriptions.retain(|s| s.filter != filter);
        self.subscriptions.push(Subscription {
            filter: filter.to_owned(),
            id: topic::subscription_id(filter),
            qos,
            granted: false,
        });
        if self.is_connected() {
            self.send_subscribe(now, vec![(filter.to_owned(), qos)]);
        }
        Ok(())
    }

    /// Stop a subscription (leaving a room). It is forgotten at once, so no reconnect
    /// subscribes it again. Connected: UNSUBSCRIBE goes out now, and its UNSUBACK brings
    /// `Event::Unsubscribed`. Offline: it goes out after the next CONNACK if the broker kept
    /// our session (which still holds the filter); a new session has nothing to undo, so
    /// `Unsubscribed` comes with that CONNACK. A filter already being unsubscribed is left
    /// to that.
    pub fn unsubscribe(&mut self, now: Instant, filter: &str) -> Result<(), SubscribeError> {
        if !valid_filter(filter) {
            return Err(SubscribeError::InvalidFilter(filter.to_owned()));
        }
        self.subscriptions.retain(|s| s.filter != filter);
        let under_way = self.unsubscribe_later.iter().any(|f| f == filter)
            || self
                .pending_unsubscribes
                .values()
                .any(|filters| filters.iter().any(|f| f == filter));
        if under_way {
            return Ok(());
        }
        if self.is_connected() {
            self.send_unsubscribe(now, vec![filter.to_owned()]);
        } else {
            self.unsubscribe_later.push(filter.to_owned());
        }
        Ok(())
    }

    /// Check the link now (the tab became visible, the network came back): a PINGREQ goes
    /// out unless one is already waiting for its answer. A dead link then shows within the
    /// ping timeout instead of whenever the next keep-alive was due.
    pub fn ping_now(&mut self, now: Instant) {
        if self.is_connected() && self.ping_deadline.is_none() {
            self.push_packet(now, Out::PingReq);
            self.ping_deadline = Some(now + self.options.ping_timeout);
        }
    }

    /// Leave cleanly: DISCONNECT goes out (if connected) and the session goes idle.
    pub fn disconnect(&mut self, now: Instant) {
        if self.is_connected() {
            // Under MQTT 5: reason 0x00, normal disconnection, so the broker drops the will.
            self.push_packet(now, Out::Disconnect);
        }
        if self.state != State::Idle {
            self.state = State::Idle;
            self.events
                .push_back(Event::Disconnected(DisconnectReason::ClientDisconnect));
        }
    }

    // ----- outputs ------------------------------------------------------------------------

    /// The next packet to send, one WebSocket message each.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmit.pop_front()
    }

    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When `handle_timeout` must be called next, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Idle => None,
            State::AwaitConnack { deadline } => Some(deadline),
            State::Connected => self.ping_deadline.or_else(|| {
                self.keep_alive_enabled()
                    .then(|| self.last_sent + self.ping_interval())
            }),
        }
    }

    // ----- internals ----------------------------------------------------------------------

    fn keep_alive_enabled(&self) -> bool {
        !self.ping_interval().is_zero()
    }

    /// Decode one packet from the receive buffer and act on it.
    fn decode(&mut self, now: Instant) -> Step {
        let limit = self.options.max_incoming_packet;
        match codec::decode(self.options.protocol, &mut self.rx, limit) {
            Ok(packet) => self.handle_packet(now, packet),
            Err(DecodeError::Need(n)) => return Step::Need(n),
            Err(DecodeError::TooLarge(remaining)) => return self.start_skip(remaining),
            Err(DecodeError::Fatal(e)) => self.fail(DisconnectReason::Protocol(e)),
        }
        Step::Progress
    }

    /// The packet at the start of the receive buffer is over the limit. A PUBLISH on an
    /// established connection is read past (once its topic and packet id are in); anything
    /// else ends the connection.
    fn start_skip(&mut self, remaining: usize) -> Step {
        let is_publish = self.rx.first().map(|b| b >> 4) == Some(PUBLISH_TYPE);
        if self.state != State::Connected || !is_publish {
            self.fail(DisconnectReason::Protocol(ProtocolError::PacketTooLarge {
                size: remaining,
                limit: self.options.max_incoming_packet,
            }));
            return Step::Progress;
        }
        match codec::read_publish_head(self.options.protocol, &self.rx) {
            Ok(head) => {
                self.rx.advance(head.len);
                self.skip = Some(Skip {
                    topic: head.topic,
                    qos: head.qos,
                    pkid: head.pkid,
                    size: head.size,
                    left: head.size - head.len,
                });
                Step::Progress
            }
            Err(HeadError::Incomplete(n)) => Step::Need(n),
            Err(HeadError::Invalid(e)) => {
                self.fail(DisconnectReason::Protocol(e));
                Step::Progress
            }
        }
    }

    /// The last byte of a skipped PUBLISH went by: acknowledge it and say so.
    fn finish_skip(&mut self, now: Instant) {
        let Some(skip) = self.skip.take() else {
            return;
        };
        if skip.qos == QoS::AtLeastOnce {
            self.push_packet(now, Out::PubAck(skip.pkid));
        }
        self.events.push_back(Event::Skipped {
            topic: skip.topic,
            size: skip.size,
            limit: self.options.max_incoming_packet,
            qos: skip.qos,
        });
    }

    fn handle_packet(&mut self, now: Instant, packet: Incoming) {
        match packet {
            // MQTT 5 §3.14: the server sends DISCONNECT only after a successful CONNACK,
            // but one before it is still read for its words rather than as a stray packet.
            Incoming::Disconnect {
                code,
                reason_string,
            } => {
                let words = codec::disconnect_words(code, reason_string.as_deref());
                self.fail(DisconnectReason::ServerSaid { code, words });
            }
            Incoming::ConnAck {
                session_present,
                refusal,
                reason_string,
                limits,
            } if matches!(self.state, State::AwaitConnack { .. }) => {
                self.handle_connack(now, session_present, refusal, reason_string, limits);
            }
            other if matches!(self.state, State::AwaitConnack { .. }) => {
                self.fail(unexpected(&other));
            }
            Incoming::Publish {
                topic,
                payload,
                qos,
                retain,
                dup,
                pkid,
                subscription_ids,
            } => {
                let via = self.via(&topic, &subscription_ids);
                let message = IncomingMessage {
                    topic,
                    payload,
                    qos,
                    retain,
                    dup,
                    via,
                };
                self.handle_incoming_publish(now, message, pkid);
            }
            Incoming::PubAck { pkid, refused } => self.handle_incoming_puback(now, pkid, refused),
            Incoming::SubAck { pkid, codes } => self.handle_incoming_suback(pkid, codes),
            Incoming::PingResp => self.ping_deadline = None,
            Incoming::UnsubAck { pkid } => self.handle_incoming_unsuback(pkid),
            other => self.fail(unexpected(&other)),
        }
    }

    fn handle_connack(
        &mut self,
        now: Instant,
        session_present: bool,
        refusal: Option<ConnectRefusal>,
        reason_string: Option<String>,
        limits: ServerLimits,
    ) {
        if let Some(refusal) = refusal {
            self.fail(DisconnectReason::Refused {
                refusal,
                reason_string,
            });
            return;
        }
        self.state = State::Connected;
        self.limits = limits;
        self.events.push_back(Event::Connected { session_present });
        // Queued publishes the broker announced it would not take: give them up now
        // rather than have the broker end the link over them.
        let mut refused = Vec::new();
        let mut kept = VecDeque::with_capacity(self.outgoing.len());
        for entry in std::mem::take(&mut self.outgoing) {
            let (size, limit) = self.publish_size(&entry.publish);
            if size > limit {
                refused.push(Event::PublishRefused {
                    pkid: entry.publish.pkid,
                    code: None,
                    reason: PublishError::TooLarge { size, limit }.to_string(),
                });
            } else {
                kept.push_back(entry);
            }
        }
        self.outgoing = kept;
        self.events.extend(refused);
        if !session_present {
            for sub in &mut self.subscriptions {
                sub.granted = false;
            }
        }
        let unsubscribe = std::mem::take(&mut self.unsubscribe_later);
        if session_present {
            // The broker kept our session, with these filters still in it.
            if !unsubscribe.is_empty() {
                self.send_unsubscribe(now, unsubscribe);
            }
        } else {
            // A new session holds no subscriptions: there is nothing to undo.
            for filter in unsubscribe {
                self.events.push_back(Event::Unsubscribed { filter });
            }
        }
        let needed: Vec<(String, QoS)> = self
            .subscriptions
            .iter()
            .filter(|s| !s.granted)
            .map(|s| (s.filter.clone(), s.qos))
            .collect();
        if !needed.is_empty() {
            self.send_subscribe(now, needed);
        }
        self.send_unsent(now);
    }

    /// `IncomingMessage::via`: our subscriptions among `ids` that match `topic`.
    fn via(&self, topic: &str, ids: &[usize]) -> Option<Vec<String>> {
        if ids.is_empty() {
            return None;
        }
        Some(
            self.subscriptions
                .iter()
                .filter(|s| ids.contains(&s.id) && topic::matches(&s.filter, topic))
                .map(|s| s.filter.clone())
                .collect(),
        )
    }

    fn handle_incoming_publish(&mut self, now: Instant, message: IncomingMessage, pkid: u16) {
        match message.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.push_packet(now, Out::PubAck(pkid)),
            QoS::ExactlyOnce => {
                self.fail(DisconnectReason::Protocol(ProtocolError::UnrequestedQos2));
                return;
            }
        }
        self.events.push_back(Event::Message(message));
    }

    /// A PUBACK: the publish leaves the queue, acknowledged or (MQTT 5) refused for good,
    /// and a publish waiting for the broker's Receive Maximum may go out.
    fn handle_incoming_puback(
        &mut self,
        now: Instant,
        pkid: PacketId,
        refused: Option<(u8, String)>,
    ) {
        match self
            .outgoing
            .iter()
            .position(|o| o.on_wire && o.publish.pkid == pkid)
        {
            Some(index) => {
                self.outgoing.remove(index);
                self.events.push_back(match refused {
                    None => Event::Acknowledged { pkid },
                    Some((code, reason)) => Event::PublishRefused {
                        pkid,
                        code: Some(code),
                        reason,
                    },
                });
                self.send_unsent(now);
            }
            None => self
                .events
                .push_back(Event::Warning(ProtocolError::Unsolicited(pkid))),
        }
    }

    fn handle_incoming_suback(&mut self, pkid: PacketId, codes: Vec<SubCode>) {
        let Some(filters) = self.pending_subscribes.remove(&pkid) else {
            self.events
                .push_back(Event::Warning(ProtocolError::Unsolicited(pkid)));
            return;
        };
        if filters.len() != codes.len() {
            // MQTT-3.9.3-1: one return code per filter. Guessing would lose a subscription.
            self.fail(DisconnectReason::Protocol(ProtocolError::Malformed(
                format!(
                    "SUBACK with {} return codes for {} filters",
                    codes.len(),
                    filters.len()
                ),
            )));
            return;
        }
        for (filter, code) in filters.into_iter().zip(codes) {
            match code {
                SubCode::Granted(qos) => {
                    if let Some(sub) = self.subscriptions.iter_mut().find(|s| s.filter == filter) {
                        sub.granted = true;
                    }
                    self.events.push_back(Event::Subscribed { filter, qos });
                }
                SubCode::Refused(reason) => {
                    self.events
                        .push_back(Event::SubscribeRefused { filter, reason });
                }
            }
        }
    }

    fn handle_incoming_unsuback(&mut self, pkid: PacketId) {
        match self.pending_unsubscribes.remove(&pkid) {
            Some(filters) => {
                for filter in filters {
                    self.events.push_back(Event::Unsubscribed { filter });
                }
            }
            None => self
                .events
                .push_back(Event::Warning(ProtocolError::Unsolicited(pkid))),
        }
    }

    /// Unsubscribes on a link that is gone may or may not have reached the broker: they
    /// go out again if the next session turns out to be the same one.
    fn requeue_unsubscribes(&mut self) {
        let mut pending: Vec<(PacketId, Vec<String>)> = self.pending_unsubscribes.drain().collect();
        // In packet id order, so the result does not depend on the map's hashing.
        pending.sort_unstable_by_key(|(pkid, _)| *pkid);
        for filter in pending.into_iter().flat_map(|(_, filters)| filters) {
            if !self.unsubscribe_later.contains(&filter) {
                self.unsubscribe_later.push(filter);
            }
        }
    }

    /// Put QoS 1 publishes on the wire that are not there yet on this connection, in
    /// order, while fewer than the broker's Receive Maximum wait for their PUBACK.
    fn send_unsent(&mut self, now: Instant) {
        let window = usize::from(self.limits.receive_max);
        let mut on_wire = self.outgoing.iter().filter(|o| o.on_wire).count();
        let mut sent = Vec::new();
        let mut buf = BytesMut::new();
        let protocol = self.options.protocol;
        let strip_retain = !self.limits.retain_available;
        let mut stripped = false;
        for entry in self.outgoing.iter_mut().filter(|o| !o.on_wire) {
            if on_wire >= window {
                break;
            }
            entry.publish.dup = entry.ever_sent;
            let mut wire = entry.publish.clone();
            if strip_retain && wire.retain {
                wire.retain = false;
                stripped = true;
            }
            if codec::encode(protocol, Out::Publish(&wire), &mut buf).is_ok() {
                entry.on_wire = true;
                entry.ever_sent = true;
                on_wire += 1;
                sent.push((entry.publish.pkid, buf.split().freeze()));
            } else {
                buf.clear();
            }
        }
        if stripped {
            self.warn_retain_unavailable();
        }
        for (pkid, bytes) in sent {
            self.push_transmit(now, bytes);
            self.events.push_back(Event::Sent { pkid });
        }
    }

    /// Send a QoS 0 publish now, without the retain flag if the broker keeps none.
    fn send_publish(&mut self, now: Instant, publish: &OutPublish) {
        if publish.retain && !self.limits.retain_available {
            let mut wire = publish.clone();
            wire.retain = false;
            self.warn_retain_unavailable();
            self.push_packet(now, Out::Publish(&wire));
        } else {
            self.push_packet(now, Out::Publish(publish));
        }
    }

    fn warn_retain_unavailable(&mut self) {
        if !self.retain_warned {
            self.retain_warned = true;
            self.events
                .push_back(Event::Warning(ProtocolError::RetainUnavailable));
        }
    }

    /// SUBSCRIBE `filters`, but those with wildcards are refused at once if the broker
    /// takes none (MQTT 5 Wildcard Subscription Available = 0): sending them would only
    /// bring a refusal, or a DISCONNECT. They stay asked for, and go out with the next
    /// session if its broker allows them.
    ///
    /// Under MQTT 5, unless the broker takes no Subscription Identifiers, each filter goes
    /// in a SUBSCRIBE of its own carrying its identifier (`topic::subscription_id`): a
    /// SUBSCRIBE has one identifier for all its filters. Otherwise all go in one.
    fn send_subscribe(&mut self, now: Instant, mut filters: Vec<(String, QoS)>) {
        if !self.limits.wildcard_available {
            let (wild, plain): (Vec<_>, Vec<_>) = filters
                .into_iter()
                .partition(|(f, _)| f.contains(['+', '#']));
            for (filter, _) in wild {
                self.events.push_back(Event::SubscribeRefused {
                    filter,
                    reason: Some(
                        "the broker does not allow wildcard subscriptions (+ or #)".into(),
                    ),
                });
            }
            filters = plain;
            if filters.is_empty() {
                return;
            }
        }
        if self.options.protocol.is_v5() && self.limits.subscription_ids_available {
            for filter in filters {
                let id = topic::subscription_id(&filter.0);
                self.send_subscribe_packet(now, vec![filter], Some(id));
            }
        } else {
            self.send_subscribe_packet(now, filters, None);
        }
    }

    fn send_subscribe_packet(
        &mut self,
        now: Instant,
        filters: Vec<(String, QoS)>,
        id: Option<usize>,
    ) {
        let pkid = self.next_pkid();
        self.push_packet(
            now,
            Out::Subscribe {
                pkid,
                filters: &filters,
                id,
            },
        );
        self.pending_subscribes
            .insert(pkid, filters.into_iter().map(|(f, _)| f).collect());
    }

    fn send_unsubscribe(&mut self, now: Instant, filters: Vec<String>) {
        let pkid = self.next_pkid();
        self.push_packet(
            now,
            Out::Unsubscribe {
                pkid,
                filters: &filters,
            },
        );
        self.pending_unsubscribes.insert(pkid, filters);
    }

    fn next_pkid(&mut self) -> PacketId {
        // Skip ids still in use; with max_inflight far below 65535 one is always free.
        loop {
            self.last_pkid = self.last_pkid.wrapping_add(1).max(1);
            let id = self.last_pkid;
            let in_use = self.pending_subscribes.contains_key(&id)
                || self.pending_unsubscribes.contains_key(&id)
                || self.outgoing.iter().any(|o| o.publish.pkid == id);
            if !in_use {
                return id;
            }
        }
    }

    fn push_packet(&mut self, now: Instant, packet: Out<'_>) {
        let mut buf = BytesMut::new();
        match codec::encode(self.options.protocol, packet, &mut buf) {
            Ok(()) => self.push_transmit(now, buf.freeze()),
            Err(e) => self
                .events
                .push_back(Event::Warning(ProtocolError::Malformed(format!(
                    "cannot encode packet: {}",
                    codec::describe(e)
                )))),
        }
    }

    fn push_transmit(&mut self, now: Instant, bytes: Bytes) {
        self.transmit.push_back(bytes);
        self.last_sent = now;
    }

    /// End the connection: nothing more is sent on this link, and the owner closes it.
    fn fail(&mut self, reason: DisconnectReason) {
        self.state = State::Idle;
        self.rx.clear();
        self.skip = None;
        self.transmit.clear();
        self.ping_deadline = None;
        // Whatever was on the wire may or may not have reached the broker: resend next time.
        for entry in &mut self.outgoing {
            entry.on_wire = false;
        }
        self.events.push_back(Event::Disconnected(reason));
    }
}

fn unexpected(packet: &Incoming) -> DisconnectReason {
    let name = match packet {
        Incoming::ConnAck { .. } => "CONNACK",
        Incoming::Publish { .. } => "PUBLISH",
        Incoming::PubAck { .. } => "PUBACK",
        Incoming::SubAck { .. } => "SUBACK",
        Incoming::UnsubAck { .. } => "UNSUBACK",
        Incoming::PingResp => "PINGRESP",
        Incoming::Disconnect { .. } => "DISCONNECT",
        Incoming::Unexpected(name) => name,
    };
    DisconnectReason::Protocol(ProtocolError::Unexpected(name))
}

/// A topic to publish to (or a will topic): non-empty, fits its two-byte length, no
/// wildcards.
fn valid_topic(topic: &str) -> bool {
    crate::topic::valid_topic(topic)
}

/// QoS 2 is not offered (see `publish`): it becomes QoS 1.
fn downgrade(qos: QoS) -> QoS {
    if qos == QoS::ExactlyOnce {
        QoS::AtLeastOnce
    } else {
        qos
    }
}

/// MQTT 3.1.1 §4.7: `#` only as a whole last level, `+` only as a whole level.
fn valid_filter(filter: &str) -> bool {
    crate::topic::check_filter(filter).is_ok()
}
