//! The transport: one local task owns a gloo-net WebSocket (subprotocol `mqtt`, binary frames,
//! one MQTT packet per message) and drives the sans-IO [`mqtt_core::Client`] with bytes and
//! time. Callers get a [`Connection`] handle and a stream of [`LinkEvent`]s through a callback.
//!
//! When to connect again is decided by the sans-IO [`mqtt_core::Reconnect`] policy; the task
//! only feeds it what happened (with the time, `navigator.onLine` and a random number) and
//! does what it says. It reports typed [`LinkState`]s; the words are the domain's. Given
//! several broker addresses, the policy also says which one each attempt goes to
//! ([`mqtt_core::Failover`]), and the task reports it ([`LinkEvent::Broker`]).
//!
//! The core sits in an `Rc<RefCell<_>>` shared by the handle and the task, so `publish`
//! answers at once (packet id, or why not) and puts the packet on the wire in the same call.
//! No borrow is ever held across an `.await`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use futures::channel::mpsc;
use futures::{FutureExt, SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, State, WebSocketError};
use gloo_timers::future::TimeoutFuture;
use mqtt_core::{
    Action, Client, ConnectRefusal, DisconnectReason, Event, Instant, LastWill, LinkError,
    LinkState, Options, PacketId, PublishError, PublishOptions, QoS, Reconnect, SubscribeError,
};

use crate::browser::now;

/// How long the browser may take to open the WebSocket before we give up on this attempt.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// The same with other brokers to try: a node that drops packets (a host that is down)
/// must not hold the tab for long while another one is up.
const OPEN_TIMEOUT_WITH_OTHERS: Duration = Duration::from_secs(3);

/// What the transport reports.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkEvent {
    /// Where the link stands; reported when it changes.
    State(LinkState),
    /// The broker the link is on, or the next attempt goes to; reported when it changes.
    Broker(String),
    Mqtt(Event),
}

enum Command {
    /// The core changed outside the task: report its events.
    Flush,
    /// The user asks to connect again (also after a refusal).
    Retry,
    /// The network came back or the tab became visible: check the link, or retry now.
    Wake,
    /// Leave: DISCONNECT and close.
    Close,
}

/// A handle to a running connection. Dropping every handle closes it.
pub struct Connection {
    core: Rc<RefCell<Client>>,
    /// The open socket, for sending without the task (`publish`, `leave_now`).
    socket: Rc<RefCell<Option<web_sys::WebSocket>>>,
    /// Set by `leave_now`: the page went away (it may come back from the back/forward cache).
    paused: Rc<Cell<bool>>,
    commands: mpsc::UnboundedSender<Command>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // The task holds senders of its own (for browser events), so the channel alone would
        // never close: say it.
        let _ = self.commands.unbounded_send(Command::Close);
    }
}

impl Connection {
    /// Start connecting to the first of `urls` (at least one; the others are tried in turn
    /// when it fails) and keep `subscriptions` on every session.
    pub fn open(
        urls: Vec<String>,
        options: Options,
        subscriptions: &[(&str, QoS)],
        on_event: impl FnMut(LinkEvent) + 'static,
    ) -> Connection {
        let mut client = Client::new(options);
        let mut early = Vec::new();
        for (filter, qos) in subscriptions {
            if let Err(e) = client.subscribe(now(), filter, *qos) {
                early.push(e.to_string());
            }
        }
        let core = Rc::new(RefCell::new(client));
        let (commands, rx) = mpsc::unbounded();
        let mut on_event = on_event;
        for e in early {
            web_sys::console::warn_1(&e.into());
        }
        let socket = Rc::new(RefCell::new(None));
        let paused = Rc::new(Cell::new(false));
        let link = Link {
            urls,
            core: Rc::clone(&core),
            socket: Rc::clone(&socket),
            paused: Rc::clone(&paused),
            commands: commands.clone(),
        };
        wasm_bindgen_futures::spawn_local(async move {
            run(link, rx, &mut on_event).await;
        });
        Connection {
            core,
            socket,
            paused,
            commands,
        }
    }

    /// Publish now if connected; QoS 1 messages wait in the core until they are acknowledged.
    pub fn publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
    ) -> Result<Option<PacketId>, PublishError> {
        let result = self.core.borrow_mut().publish(now(), topic, payload, qos);
        // Put the packet on the wire now, in this call, rather than after a hop to the task:
        // the hop can wait behind rendering and timers (measured: 10 ms p50 from the click to
        // the frame leaving). Both paths drain the core's one queue, so order is kept, and a
        // frame lost to a dying socket is resent by QoS 1.
        self.send_pending();
        let _ = self.commands.unbounded_send(Command::Flush);
        result
    }

    /// A session is up on the link right now.
    pub fn is_connected(&self) -> bool {
        self.core.borrow().is_connected()
    }

    /// Publish with the retain flag (an empty payload clears the topic's retained message).
    pub fn publish_retained(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
    ) -> Result<Option<PacketId>, PublishError> {
        let result = self
            .core
            .borrow_mut()
            .publish_retained(now(), topic, payload, qos);
        self.send_pending();
        let _ = self.commands.unbounded_send(Command::Flush);
        result
    }

    /// Publish with options: retain, and (MQTT 5) a message expiry.
    pub fn publish_with_options(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        options: PublishOptions,
    ) -> Result<Option<PacketId>, PublishError> {
        let result =
            self.core
                .borrow_mut()
                .publish_with_options(now(), topic, payload, qos, options);
        self.send_pending();
        let _ = self.commands.unbounded_send(Command::Flush);
        result
    }

    /// Give up on a QoS 1 publish waiting after a dead link (see `Client::abandon`).
    pub fn abandon(&self, pkid: PacketId) -> bool {
        self.core.borrow_mut().abandon(pkid)
    }

    /// Subscribe now (if connected) and on every new session.
    pub fn subscribe(&self, filter: &str, qos: QoS) -> Result<(), SubscribeError> {
        let result = self.core.borrow_mut().subscribe(now(), filter, qos);
        self.send_pending();
        let _ = self.commands.unbounded_send(Command::Flush);
        result
    }

    /// Unsubscribe now, or on the next connection if the broker kept the session.
    pub fn unsubscribe(&self, filter: &str) -> Result<(), SubscribeError> {
        let result = self.core.borrow_mut().unsubscribe(now(), filter);
        self.send_pending();
        let _ = self.commands.unbounded_send(Command::Flush);
        result
    }

    /// The last will for the next CONNECT.
    pub fn set_will(&self, will: Option<LastWill>) -> Result<(), PublishError> {
        self.core.borrow_mut().set_will(will)
    }

    /// Hand every packet the core has ready to the open socket, if there is one.
    fn send_pending(&self) {
        if let Some(ws) = self.socket.borrow().as_ref() {
            send_all(&self.core, ws);
        }
    }

    /// Connect again after the link went offline or was refused.
    pub fn retry(&self) {
        let _ = self.commands.unbounded_send(Command::Retry);
    }

    /// Send DISCONNECT and close the socket.
    pub fn close(&self) {
        let _ = self.commands.unbounded_send(Command::Close);
    }

    /// Send DISCONNECT and close right now, without waiting for the task: for `pagehide`,
    /// after which no task may run. `last_words` (a retained status) go out just before. The broker then knows the leave was deliberate. If the
    /// page comes back (back/forward cache), `retry`, `online` or becoming visible resume.
    pub fn leave_now(&self, last_words: Option<(&str, Bytes)>) {
        self.paused.set(true);
        let mut core = self.core.borrow_mut();
        // Said before DISCONNECT, at QoS 0: only if connected, and never sent again later.
        if let Some((topic, payload)) = last_words {
            let _ = core.publish_retained(now(), topic, payload, QoS::AtMostOnce);
        }
        core.disconnect(now());
        drop(core);
        self.send_pending();
        if let Some(ws) = self.socket.borrow().as_ref() {
            let _ = ws.close_with_code(1000);
        }
        let _ = self.commands.unbounded_send(Command::Flush);
    }
}

/// Drain the core's transmit queue into `ws`, one WebSocket message per packet. The task and
/// `Connection::publish` both send through here, synchronously, so packets leave in the
/// core's order. A failed send is the socket dying: the close that follows ends the link,
/// and QoS 1 publishes go out again on the next one.
fn send_all(core: &RefCell<Client>, ws: &web_sys::WebSocket) {
    let mut core = core.borrow_mut();
    while let Some(bytes) = core.poll_transmit() {
        if ws.send_with_u8_array(&bytes).is_err() {
            break;
        }
    }
}

/// What the task needs: where to connect, the core, where to publish the open socket, and a
/// way for browser events to reach the task.
struct Link {
    /// The broker addresses, tried in turn; never empty.
    urls: Vec<String>,
    core: Rc<RefCell<Client>>,
    socket: Rc<RefCell<Option<web_sys::WebSocket>>>,
    paused: Rc<Cell<bool>>,
    commands: mpsc::UnboundedSender<Command>,
}

impl Link {
    /// The address at `index` of the list (the first if out of range).
    fn url(&self, index: usize) -> &str {
        self.urls
            .get(index)
            .or(self.urls.first())
            .map_or("", String::as_str)
    }
}

/// How one connection attempt ended.
enum Ended {
    /// The user closed the connection, or every handle is gone.
    Closed,
    /// The broker refused us: retrying as is would not help.
    Refused(ConnectRefusal),
    /// The link is down or never came up.
    Lost(LinkError),
}

/// What ended a wait.
enum Woke {
    Timeout,
    /// The network came back or the tab became visible.
    Wake,
    /// The user asked.
    Retry,
    Close,
}

async fn run(
    link: Link,
    mut commands: mpsc::UnboundedReceiver<Command>,
    emit: &mut dyn FnMut(LinkEvent),
) {
    // Kept for the task's life; dropping them removes the listeners.
    let _wake = wake_listeners(&link.commands);
    let mut policy = Reconnect::default().with_brokers(link.urls.len());
    let mut reported = None;
    let mut reported_broker = None;
    while let Some(action) = policy.poll_action() {
        if reported_broker != Some(policy.broker()) {
            reported_broker = Some(policy.broker());
            emit(LinkEvent::Broker(link.url(policy.broker()).to_owned()));
        }
        report(&policy, &mut reported, emit);
        let woke = match action {
            Action::Connect => {
                let ended =
                    connect_once(&link, &mut policy, &mut reported, &mut commands, emit).await;
                link.socket.borrow_mut().take();
                match ended {
                    // `leave_now` closed it: the page went away, and may come back.
                    Ended::Closed if link.paused.get() => policy.handle_paused(now()),
                    Ended::Closed => break,
                    Ended::Refused(refusal) => {
                        policy.handle_refused(now(), refusal, js_sys::Math::random())
                    }
                    Ended::Lost(reason) => {
                        policy.handle_lost(now(), reason, browser_online(), js_sys::Math::random())
                    }
                }
                continue;
            }
            Action::WaitUntil(at) => wait(&mut commands, Some(at)).await,
            Action::WaitForNetwork | Action::WaitForUser | Action::Paused => {
                wait(&mut commands, None).await
            }
        };
        match woke {
            Woke::Timeout => policy.handle_timeout(now()),
            Woke::Wake => policy.handle_wake(),
            Woke::Retry => policy.handle_user_retry(),
            Woke::Close => break,
        }
    }
    emit(LinkEvent::State(LinkState::Closed));
}

/// Report the policy's link state if it changed since the last report.
fn report(policy: &Reconnect, reported: &mut Option<LinkState>, emit: &mut dyn FnMut(LinkEvent)) {
    let state = policy.link_state(now());
    if reported.as_ref() != Some(&state) {
        *reported = Some(state.clone());
        emit(LinkEvent::State(state));
    }
}

/// Until `until` (if any), the network is back, the tab is visible, the user asks or the
/// connection is closed. Publishes meanwhile wait in the core.
async fn wait(commands: &mut mpsc::UnboundedReceiver<Command>, until: Option<Instant>) -> Woke {
    let timer = sleep(until.map(|at| at.saturating_duration_since(now()))).fuse();
    futures::pin_mut!(timer);
    loop {
        futures::select_biased! {
            _ = timer => return Woke::Timeout,
            cmd = commands.next() => match cmd {
                Some(Command::Retry) => return Woke::Retry,
                Some(Command::Wake) => return Woke::Wake,
                Some(Command::Flush) => {}
                Some(Command::Close) | None => return Woke::Close,
            },
        }
    }
}

/// Resolves after `wait`, or never.
async fn sleep(wait: Option<Duration>) {
    match wait {
        Some(d) => TimeoutFuture::new(d.as_millis().min(u32::MAX as u128) as u32).await,
        None => futures::future::pending::<()>().await,
    }
}

fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// `online` on the window and `visibilitychange` to visible wake the task (FIELD.md #1, #9).
fn wake_listeners(commands: &mpsc::UnboundedSender<Command>) -> Vec<gloo_events::EventListener> {
    let mut listeners = Vec::new();
    let Some(window) = web_sys::window() else {
        return listeners;
    };
    let tx = commands.clone();
    listeners.push(gloo_events::EventListener::new(
        &window,
        "online",
        move |_| {
            let _ = tx.unbounded_send(Command::Wake);
        },
    ));
    if let Some(document) = window.document() {
        let tx = commands.clone();
        let doc = document.clone();
        listeners.push(gloo_events::EventListener::new(
            &document,
            "visibilitychange",
            move |_| {
                if doc.visibility_state() == web_sys::VisibilityState::Visible {
                    let _ = tx.unbounded_send(Command::Wake);
                }
            },
        ));
    }
    listeners
}

async fn connect_once(
    link: &Link,
    policy: &mut Reconnect,
    reported: &mut Option<LinkState>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    emit: &mut dyn FnMut(LinkEvent),
) -> Ended {
    let (url, core) = (link.url(policy.broker()), &link.core);
    // A new attempt: whatever paused an earlier link is over (the page is back).
    link.paused.set(false);
    let unreachable = || Ended::Lost(LinkError::Unreachable { url: url.into() });
    // Opened raw, so a clone can be kept for `leave_now`, then wrapped by gloo. The first
    // attempt takes the socket the page opened while the Wasm loaded, if it is to `url`.
    let opened = crate::browser::early_socket::take(url)
        .map_or_else(|| web_sys::WebSocket::new_with_str(url, "mqtt"), Ok)
        .map_err(|e| crate::browser::js_error_text(&e))
        .and_then(|raw| {
            let keep = raw.clone();
            WebSocket::try_from(raw)
                .map(|ws| (ws, keep))
                .map_err(|e| e.to_string())
        });
    let (mut ws, raw) = match opened {
        Ok(pair) => pair,
        Err(detail) => {
            return Ended::Lost(LinkError::CannotOpen {
                url: url.into(),
                detail,
            })
        }
    };

    // Wait until the socket is open or has failed (gloo wakes the sink on either).
    {
        let ready = futures::future::poll_fn(|cx| ws.poll_ready_unpin(cx)).fuse();
        let limit = if link.urls.len() > 1 {
            OPEN_TIMEOUT_WITH_OTHERS
        } else {
            OPEN_TIMEOUT
        };
        let timeout = TimeoutFuture::new(limit.as_millis() as u32).fuse();
        futures::pin_mut!(ready, timeout);
        loop {
            futures::select_biased! {
                _ = ready => break,
                _ = timeout => return unreachable(),
                cmd = commands.next() => match cmd {
                    Some(Command::Close) | None => return Ended::Closed,
                    Some(Command::Flush | Command::Retry | Command::Wake) => {}
                },
            }
        }
    }
    if !matches!(ws.state(), State::Open) {
        return unreachable();
    }
    *link.socket.borrow_mut() = Some(raw.clone());
    crate::bench::mark("mqtt-chat:open");

    core.borrow_mut().handle_open(now());
    // Why the socket ended, in types; the core only repeats it as words in its event.
    let mut socket_ended: Option<LinkError> = None;
    // One browser timer for the core's deadline, set again only when the deadline comes
    // sooner than it (waking early is harmless: the core checks the time). Set anew on
    // every turn, a burst set and cleared a timer for each message.
    let mut timer = Box::pin(sleep(None).fuse());
    let mut timer_at: Option<Instant> = None;
    loop {
        // Send what the core has ready, then report what happened.
        send_all(core, &raw);
        let events: Vec<Event> = {
            let mut c = core.borrow_mut();
            std::iter::from_fn(|| c.poll_event()).collect()
        };
        let mut ended = None;
        for event in events {
            match &event {
                Event::Connected { .. } => {
                    policy.handle_connected(now());
                    report(policy, reported, emit);
                }
                Event::Disconnected(reason) => ended = Some(reason.clone()),
                _ => {}
            }
            emit(LinkEvent::Mqtt(event));
        }
        if let Some(reason) = ended {
            let _ = ws.close(Some(1000), None);
            return match reason {
                DisconnectReason::ClientDisconnect => Ended::Closed,
                DisconnectReason::Refused { refusal, .. } => Ended::Refused(refusal),
                DisconnectReason::Transport(words) => Ended::Lost(
                    socket_ended
                        .take()
                        .unwrap_or(LinkError::Mqtt(DisconnectReason::Transport(words))),
                ),
                other => Ended::Lost(LinkError::Mqtt(other)),
            };
        }

        let deadline = core.borrow().poll_timeout();
        if deadline.is_some_and(|d| timer_at.is_none_or(|t| d < t)) {
            timer
                .as_mut()
                .set(sleep(deadline.map(|d| d.saturating_duration_since(now()))).fuse());
            timer_at = deadline;
        }
        let mut next_message = ws.next().fuse();
        futures::select_biased! {
            message = next_message => {
                let mut c = core.borrow_mut();
                let error = match message {
                    Some(Ok(Message::Bytes(bytes))) => {
                        c.handle_bytes(now(), &bytes);
                        None
                    }
                    Some(Ok(Message::Text(_))) => Some(LinkError::TextFrame),
                    Some(Err(WebSocketError::ConnectionClose(close))) => Some(LinkError::Closed {
                        url: url.into(),
                        code: close.code,
                    }),
                    Some(Err(e)) => Some(LinkError::Failed {
                        url: url.into(),
                        detail: e.to_string(),
                    }),
                    None => Some(LinkError::Ended { url: url.into() }),
                };
                if let Some(error) = error {
                    c.handle_close(error.to_string());
                    socket_ended = Some(error);
                }
            }
            cmd = commands.next() => match cmd {
                Some(Command::Flush | Command::Retry) => {}
                Some(Command::Wake) => core.borrow_mut().ping_now(now()),
                Some(Command::Close) | None => {
                    // Closing is final even if the page was paused before.
                    link.paused.set(false);
                    core.borrow_mut().disconnect(now());
                }
            },
            _ = timer => {
                timer_at = None;
                core.borrow_mut().handle_timeout(now());
            }
        }
    }
}
