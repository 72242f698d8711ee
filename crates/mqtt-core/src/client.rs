//! The MQTT 3.1.1 client session state machine.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use mqttbytes::v4::{
    ConnectReturnCode, Packet, PingReq, PubAck, Publish, SubAck, Subscribe, SubscribeReasonCode,
    Unsubscribe,
};
use mqttbytes::QoS;

use crate::error::{ConnectRefusal, DisconnectReason, ProtocolError, PublishError, SubscribeError};
use crate::time::Instant;

/// A packet identifier, as used by QoS 1 publishes and subscriptions.
pub type PacketId = u16;

/// How a session connects and what it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub client_id: String,
    /// Sent in CONNECT. The broker drops a client that is silent for 1.5 times this.
    pub keep_alive: Duration,
    pub clean_session: bool,
    /// How long to wait for CONNACK after the link opens.
    pub connack_timeout: Duration,
    /// How long to wait for PINGRESP before the link counts as dead.
    pub ping_timeout: Duration,
    /// The largest remaining length (the packet without its 2 to 5 byte fixed header) of an
    /// incoming packet. A larger PUBLISH is read past without being buffered and reported as
    /// `Event::Skipped` (QoS 1 is acknowledged, so the broker does not send it again); any
    /// other larger packet ends the connection with `ProtocolError::PacketTooLarge`.
    pub max_incoming_packet: usize,
    /// Larger outgoing publishes are refused before they are sent (FIELD.md #7).
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

/// User name and password for CONNECT.
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
            client_id: client_id.into(),
            keep_alive: Duration::from_secs(120),
            clean_session: true,
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
    /// The broker answered 0x80 (failure) for this filter.
    SubscribeRefused {
        filter: String,
    },
    /// The broker no longer sends us messages for this filter: it acknowledged the
    /// UNSUBSCRIBE (UNSUBACK), or a new session started without it. Not emitted for a
    /// filter subscribed again before this point.
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
    publish: Publish,
    /// Sent on the current connection: only these can be acknowledged.
    on_wire: bool,
    /// Sent on some connection before, so a resend carries DUP (MQTT-3.3.1-1).
    ever_sent: bool,
}

#[derive(Debug)]
struct Subscription {
    filter: String,
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

/// One MQTT 3.1.1 client session. See the crate docs for the handle/poll contract.
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
        }
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// QoS 1 publishes not yet acknowledged, sent or not.
    pub fn unacknowledged(&self) -> usize {
        self.outgoing.len()
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
        let mut connect = mqttbytes::v4::Connect::new(self.options.client_id.clone());
        connect.keep_alive = u16::try_from(self.options.keep_alive.as_secs()).unwrap_or(u16::MAX);
        connect.clean_session = self.options.clean_session;
        if let Some(c) = &self.options.credentials {
            connect.set_login(c.username.clone(), c.password.clone());
        }
        match self.options.will.as_ref().map(LastWill::checked) {
            None => {}
            Some(Ok(will)) => {
                let mut last_will =
                    mqttbytes::v4::LastWill::new(will.topic, Vec::new(), will.qos, will.retain);
                last_will.message = will.payload;
                connect.last_will = Some(last_will);
            }
            // Set in `Options` directly, unchecked. Connecting without it beats a CONNECT
            // with a length that wrapped around, or refusing to connect at all.
            Some(Err(e)) => self
                .events
                .push_back(Event::Warning(ProtocolError::Malformed(format!(
                    "last will left out of CONNECT: {e}"
                )))),
        }
        self.state = State::AwaitConnack {
            deadline: now + self.options.connack_timeout,
        };
        let mut buf = BytesMut::new();
        match connect.write(&mut buf) {
            Ok(_) => self.push_transmit(now, buf.freeze()),
            Err(e) => self.fail(DisconnectReason::Protocol(ProtocolError::Malformed(
                format!("cannot encode CONNECT: {}", describe(e)),
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
                } else if self.keep_alive_enabled()
                    && now >= self.last_sent + self.options.ping_interval()
                {
                    self.push_packet(now, |buf| PingReq.write(buf));
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
        self.publish_with(now, topic, payload.into(), qos, false)
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
        self.publish_with(now, topic, payload.into(), qos, true)
    }

    /// Change the last will for the next CONNECT (the current connection keeps the one it
    /// was opened with: MQTT 3.1.1 has no way to change it mid-connection). `None` removes
    /// it. Refused like a publish: a topic that is empty, over 65535 bytes or holds `+`/`#`,
    /// or a payload over 65535 bytes. QoS 2 is downgraded to 1.
    pub fn set_will(&mut self, will: Option<LastWill>) -> Result<(), PublishError> {
        self.options.will = will.as_ref().map(LastWill::checked).transpose()?;
        Ok(())
    }

    fn publish_with(
        &mut self,
        now: Instant,
        topic: &str,
        payload: Bytes,
        qos: QoS,
        retain: bool,
    ) -> Result<Option<PacketId>, PublishError> {
        if !valid_topic(topic) {
            return Err(PublishError::InvalidTopic(topic.to_owned()));
        }
        let size = publish_packet_size(topic, payload.len(), qos);
        if size > self.options.max_outgoing_packet {
            return Err(PublishError::TooLarge {
                size,
                limit: self.options.max_outgoing_packet,
            });
        }
        let mut publish = Publish::from_bytes(topic, qos, payload);
        // Stored with the publish, so a resend after a reconnect is retained too.
        publish.retain = retain;
        match qos {
            QoS::AtMostOnce => {
                if self.is_connected() {
                    self.push_packet(now, |buf| publish.write(buf));
                }
                Ok(None)
            }
            QoS::AtLeastOnce | QoS::ExactlyOnce => {
                // QoS 2 is not offered: its exactly-once needs broker-side state this client
                // does not keep. It is downgraded to QoS 1, and chat dedups by message id.
                publish.qos = QoS::AtLeastOnce;
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
        }
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
            self.push_packet(now, |buf| PingReq.write(buf));
            self.ping_deadline = Some(now + self.options.ping_timeout);
        }
    }

    /// Leave cleanly: DISCONNECT goes out (if connected) and the session goes idle.
    pub fn disconnect(&mut self, now: Instant) {
        if self.is_connected() {
            self.push_packet(now, |buf| mqttbytes::v4::Disconnect.write(buf));
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
                    .then(|| self.last_sent + self.options.ping_interval())
            }),
        }
    }

    // ----- internals ----------------------------------------------------------------------

    fn keep_alive_enabled(&self) -> bool {
        !self.options.keep_alive.is_zero()
    }

    /// Decode one packet from the receive buffer and act on it.
    fn decode(&mut self, now: Instant) -> Step {
        let limit = self.options.max_incoming_packet;
        match mqttbytes::v4::read(&mut self.rx, limit) {
            Ok(packet) => self.handle_packet(now, packet),
            Err(mqttbytes::Error::InsufficientBytes(n)) => return Step::Need(n),
            Err(mqttbytes::Error::PayloadSizeLimitExceeded(remaining)) => {
                return self.start_skip(remaining)
            }
            Err(e) => self.fail(DisconnectReason::Protocol(ProtocolError::Malformed(
                describe(e),
            ))),
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
        match read_publish_head(&self.rx) {
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
            let ack = PubAck::new(skip.pkid);
            self.push_packet(now, |buf| ack.write(buf));
        }
        self.events.push_back(Event::Skipped {
            topic: skip.topic,
            size: skip.size,
            limit: self.options.max_incoming_packet,
            qos: skip.qos,
        });
    }

    fn handle_packet(&mut self, now: Instant, packet: Packet) {
        if let State::AwaitConnack { .. } = self.state {
            match packet {
                Packet::ConnAck(ack) => self.handle_connack(now, ack.code, ack.session_present),
                other => self.fail(unexpected(&other)),
            }
            return;
        }
        match packet {
            Packet::Publish(publish) => self.handle_incoming_publish(now, publish),
            Packet::PubAck(ack) => self.handle_incoming_puback(ack.pkid),
            Packet::SubAck(ack) => self.handle_incoming_suback(ack),
            Packet::PingResp => self.ping_deadline = None,
            Packet::UnsubAck(ack) => self.handle_incoming_unsuback(ack.pkid),
            other => self.fail(unexpected(&other)),
        }
    }

    fn handle_connack(&mut self, now: Instant, code: ConnectReturnCode, session_present: bool) {
        let refusal = match code {
            ConnectReturnCode::Success => None,
            ConnectReturnCode::RefusedProtocolVersion => {
                Some(ConnectRefusal::UnacceptableProtocolVersion)
            }
            ConnectReturnCode::BadClientId => Some(ConnectRefusal::IdentifierRejected),
            ConnectReturnCode::ServiceUnavailable => Some(ConnectRefusal::ServerUnavailable),
            ConnectReturnCode::BadUserNamePassword => Some(ConnectRefusal::BadUserNameOrPassword),
            ConnectReturnCode::NotAuthorized => Some(ConnectRefusal::NotAuthorized),
        };
        if let Some(refusal) = refusal {
            self.fail(DisconnectReason::Refused(refusal));
            return;
        }
        self.state = State::Connected;
        self.events.push_back(Event::Connected { session_present });
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

    fn handle_incoming_publish(&mut self, now: Instant, publish: Publish) {
        match publish.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => {
                let ack = PubAck::new(publish.pkid);
                self.push_packet(now, |buf| ack.write(buf));
            }
            QoS::ExactlyOnce => {
                self.fail(DisconnectReason::Protocol(ProtocolError::UnrequestedQos2));
                return;
            }
        }
        self.events.push_back(Event::Message(IncomingMessage {
            topic: publish.topic,
            payload: publish.payload,
            qos: publish.qos,
            retain: publish.retain,
            dup: publish.dup,
        }));
    }

    fn handle_incoming_puback(&mut self, pkid: PacketId) {
        match self
            .outgoing
            .iter()
            .position(|o| o.on_wire && o.publish.pkid == pkid)
        {
            Some(index) => {
                self.outgoing.remove(index);
                self.events.push_back(Event::Acknowledged { pkid });
            }
            None => self
                .events
                .push_back(Event::Warning(ProtocolError::Unsolicited(pkid))),
        }
    }

    fn handle_incoming_suback(&mut self, ack: SubAck) {
        let Some(filters) = self.pending_subscribes.remove(&ack.pkid) else {
            self.events
                .push_back(Event::Warning(ProtocolError::Unsolicited(ack.pkid)));
            return;
        };
        if filters.len() != ack.return_codes.len() {
            // MQTT-3.9.3-1: one return code per filter. Guessing would lose a subscription.
            self.fail(DisconnectReason::Protocol(ProtocolError::Malformed(
                format!(
                    "SUBACK with {} return codes for {} filters",
                    ack.return_codes.len(),
                    filters.len()
                ),
            )));
            return;
        }
        for (filter, code) in filters.into_iter().zip(ack.return_codes) {
            match code {
                SubscribeReasonCode::Success(qos) => {
                    if let Some(sub) = self.subscriptions.iter_mut().find(|s| s.filter == filter) {
                        sub.granted = true;
                    }
                    self.events.push_back(Event::Subscribed { filter, qos });
                }
                SubscribeReasonCode::Failure => {
                    self.events.push_back(Event::SubscribeRefused { filter });
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

    /// Put every QoS 1 publish on the wire that is not there yet on this connection.
    fn send_unsent(&mut self, now: Instant) {
        let mut sent = Vec::new();
        let mut buf = BytesMut::new();
        for entry in self.outgoing.iter_mut().filter(|o| !o.on_wire) {
            entry.publish.dup = entry.ever_sent;
            if entry.publish.write(&mut buf).is_ok() {
                entry.on_wire = true;
                entry.ever_sent = true;
                sent.push((entry.publish.pkid, buf.split().freeze()));
            }
        }
        for (pkid, bytes) in sent {
            self.push_transmit(now, bytes);
            self.events.push_back(Event::Sent { pkid });
        }
    }

    fn send_subscribe(&mut self, now: Instant, filters: Vec<(String, QoS)>) {
        let pkid = self.next_pkid();
        let mut subscribe = Subscribe::empty_subscribe();
        subscribe.pkid = pkid;
        for (filter, qos) in &filters {
            subscribe.add(filter.clone(), *qos);
        }
        self.pending_subscribes
            .insert(pkid, filters.into_iter().map(|(f, _)| f).collect());
        self.push_packet(now, |buf| subscribe.write(buf));
    }

    fn send_unsubscribe(&mut self, now: Instant, filters: Vec<String>) {
        let pkid = self.next_pkid();
        let unsubscribe = Unsubscribe {
            pkid,
            topics: filters.clone(),
        };
        self.pending_unsubscribes.insert(pkid, filters);
        self.push_packet(now, |buf| unsubscribe.write(buf));
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

    fn push_packet(
        &mut self,
        now: Instant,
        write: impl FnOnce(&mut BytesMut) -> Result<usize, mqttbytes::Error>,
    ) {
        let mut buf = BytesMut::new();
        match write(&mut buf) {
            Ok(_) => self.push_transmit(now, buf.freeze()),
            Err(e) => self
                .events
                .push_back(Event::Warning(ProtocolError::Malformed(format!(
                    "cannot encode packet: {}",
                    describe(e)
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

fn unexpected(packet: &Packet) -> DisconnectReason {
    let name = match packet {
        Packet::Connect(_) => "CONNECT",
        Packet::ConnAck(_) => "CONNACK",
        Packet::Publish(_) => "PUBLISH",
        Packet::PubAck(_) => "PUBACK",
        Packet::PubRec(_) => "PUBREC",
        Packet::PubRel(_) => "PUBREL",
        Packet::PubComp(_) => "PUBCOMP",
        Packet::Subscribe(_) => "SUBSCRIBE",
        Packet::SubAck(_) => "SUBACK",
        Packet::Unsubscribe(_) => "UNSUBSCRIBE",
        Packet::UnsubAck(_) => "UNSUBACK",
        Packet::PingReq => "PINGREQ",
        Packet::PingResp => "PINGRESP",
        Packet::Disconnect => "DISCONNECT",
    };
    DisconnectReason::Protocol(ProtocolError::Unexpected(name))
}

const PUBLISH_TYPE: u8 = 3;

/// The start of an oversized PUBLISH: what `Event::Skipped` and its PUBACK need.
#[derive(Debug)]
struct PublishHead {
    topic: String,
    qos: QoS,
    pkid: PacketId,
    /// Bytes of fixed header, topic and packet id.
    len: usize,
    /// The whole packet, fixed header included.
    size: usize,
}

#[derive(Debug)]
enum HeadError {
    /// At least this many more bytes are needed.
    Incomplete(usize),
    Invalid(ProtocolError),
}

/// Parse the fixed header, topic and (QoS 1) packet id at the start of `buf`, which holds
/// a PUBLISH whose remaining length mqttbytes has already read as valid.
fn read_publish_head(buf: &[u8]) -> Result<PublishHead, HeadError> {
    let malformed = |text: String| HeadError::Invalid(ProtocolError::Malformed(text));
    let byte1 = *buf.first().ok_or(HeadError::Incomplete(2))?;
    let (length_len, remaining) = remaining_length(buf.get(1..).unwrap_or_default())?;
    let qos = match (byte1 >> 1) & 0b11 {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        2 => return Err(HeadError::Invalid(ProtocolError::UnrequestedQos2)),
        q => return Err(malformed(format!("invalid QoS {q}"))),
    };
    let fixed = 1 + length_len;
    let body = buf.get(fixed..).unwrap_or_default();
    let [hi, lo, ..] = *body else {
        return Err(HeadError::Incomplete(2 - body.len()));
    };
    let topic_len = usize::from(u16::from_be_bytes([hi, lo]));
    let pkid_len = if qos == QoS::AtMostOnce { 0 } else { 2 };
    let head = 2 + topic_len + pkid_len;
    if head > remaining {
        return Err(malformed(format!(
            "a length of {topic_len} runs past the packet"
        )));
    }
    let Some(head_bytes) = body.get(..head) else {
        return Err(HeadError::Incomplete(head - body.len()));
    };
    let topic = std::str::from_utf8(&head_bytes[2..2 + topic_len])
        .map_err(|_| malformed("topic is not UTF-8".into()))?
        .to_owned();
    let pkid = match head_bytes[2 + topic_len..] {
        [hi, lo] => u16::from_be_bytes([hi, lo]),
        _ => 0,
    };
    if qos == QoS::AtLeastOnce && pkid == 0 {
        return Err(malformed("packet id 0".into()));
    }
    Ok(PublishHead {
        topic,
        qos,
        pkid,
        len: fixed + head,
        size: fixed + remaining,
    })
}

/// The variable byte integer of a fixed header: (bytes it takes, value).
fn remaining_length(buf: &[u8]) -> Result<(usize, usize), HeadError> {
    let mut value = 0;
    for (i, byte) in buf.iter().take(4).enumerate() {
        value |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((i + 1, value));
        }
    }
    if buf.len() >= 4 {
        Err(HeadError::Invalid(ProtocolError::Malformed(
            "remaining length longer than 4 bytes".into(),
        )))
    } else {
        Err(HeadError::Incomplete(1))
    }
}

/// Bytes a PUBLISH takes on the wire: fixed header, topic, packet id, payload.
fn publish_packet_size(topic: &str, payload: usize, qos: QoS) -> usize {
    let remaining = 2 + topic.len() + if qos == QoS::AtMostOnce { 0 } else { 2 } + payload;
    let length_bytes = match remaining {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    };
    1 + length_bytes + remaining
}

/// A topic to publish to (or a will topic): non-empty, fits its two-byte length, no
/// wildcards.
fn valid_topic(topic: &str) -> bool {
    !topic.is_empty() && topic.len() <= usize::from(u16::MAX) && !topic.contains(['+', '#'])
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
    if filter.is_empty() || filter.len() > usize::from(u16::MAX) {
        return false;
    }
    let levels: Vec<&str> = filter.split('/').collect();
    levels.iter().enumerate().all(|(i, level)| {
        let hash_ok = !level.contains('#') || (*level == "#" && i == levels.len() - 1);
        let plus_ok = !level.contains('+') || *level == "+";
        hash_ok && plus_ok
    })
}

/// A decoding error in words (mqttbytes only offers `Debug`).
fn describe(e: mqttbytes::Error) -> String {
    use mqttbytes::Error as E;
    match e {
        E::InvalidPacketType(t) => format!("invalid packet type {t}"),
        E::InvalidConnectReturnCode(c) => format!("invalid CONNACK return code {c}"),
        E::InvalidQoS(q) => format!("invalid QoS {q}"),
        E::InvalidSubscribeReasonCode(c) => format!("invalid SUBACK return code {c}"),
        E::PacketIdZero => "packet id 0".into(),
        E::TopicNotUtf8 => "topic is not UTF-8".into(),
        E::MalformedRemainingLength => "remaining length longer than 4 bytes".into(),
        E::BoundaryCrossed(n) => format!("a length of {n} runs past the packet"),
        E::PayloadRequired => "packet without its required payload".into(),
        E::PayloadTooLong => "payload too long".into(),
        E::PayloadSizeLimitExceeded(n) => format!("packet of {n} bytes over the limit"),
        E::InsufficientBytes(_) => "packet cut short".into(),
        _ => "malformed packet".into(),
    }
}
