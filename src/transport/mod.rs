//! The transport: one local task owns a gloo-net WebSocket (subprotocol `mqtt`, binary frames,
//! one MQTT packet per message) and drives the sans-IO [`mqtt_core::Client`] with bytes and
//! time. Callers get a [`Connection`] handle and a stream of [`LinkEvent`]s through a callback.
//!
//! Reconnect policy: after a lost link, retry with [`Backoff`] (first within 0.5 s, at most
//! every 30 s); at once when the browser comes back `online` or the tab becomes visible; not
//! at all while the browser says it is offline; and never by itself after the broker refused
//! the connection (that needs the user: [`Connection::retry`]).
//!
//! The core sits in an `Rc<RefCell<_>>` shared by the handle and the task, so `publish`
//! answers at once (packet id, or why not) and puts the packet on the wire in the same call.
//! No borrow is ever held across an `.await`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use chat::ConnectionStatus;
use futures::channel::mpsc;
use futures::{FutureExt, SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, State, WebSocketError};
use gloo_timers::future::TimeoutFuture;
use mqtt_core::{Backoff, Client, DisconnectReason, Event, Options, PacketId, PublishError, QoS};

use crate::browser::{now, wall_clock_ms};

/// How long the browser may take to open the WebSocket before we give up on this attempt.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// A link that stayed up this long resets the backoff. One the broker drops right after
/// CONNACK (a session takeover, a message it always chokes on) keeps backing off instead.
const STABLE_LINK: Duration = Duration::from_secs(3);

/// What the transport reports.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkEvent {
    Status(ConnectionStatus),
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
    /// Start connecting to `url` and keep `subscriptions` on every session.
    pub fn open(
        url: String,
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
            url,
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
    /// after which no task may run. The broker then knows the leave was deliberate. If the
    /// page comes back (back/forward cache), `retry`, `online` or becoming visible resume.
    pub fn leave_now(&self) {
        self.paused.set(true);
        let mut core = self.core.borrow_mut();
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
    url: String,
    core: Rc<RefCell<Client>>,
    socket: Rc<RefCell<Option<web_sys::WebSocket>>>,
    paused: Rc<Cell<bool>>,
    commands: mpsc::UnboundedSender<Command>,
}

/// How one connection attempt ended.
enum Ended {
    /// The user closed the connection, or every handle is gone.
    Closed,
    /// The broker refused us: retrying as is would not help.
    Refused(String),
    /// The link is down or never came up. `was_stable`: it had been up for `STABLE_LINK`.
    Lost { reason: String, was_stable: bool },
}

/// What to do after waiting.
enum Next {
    Connect,
    Stop,
}

async fn run(
    link: Link,
    mut commands: mpsc::UnboundedReceiver<Command>,
    emit: &mut dyn FnMut(LinkEvent),
) {
    // Kept for the task's life; dropping them removes the listeners.
    let _wake = wake_listeners(&link.commands);
    let mut backoff = Backoff::default();
    loop {
        emit(LinkEvent::Status(ConnectionStatus::Connecting));
        let ended = connect_once(&link, &mut commands, emit).await;
        link.socket.borrow_mut().take();
        let next = match ended {
            Ended::Closed if link.paused.get() => {
                emit(LinkEvent::Status(ConnectionStatus::Offline {
                    reason: "paused while the page was away".into(),
                }));
                // The next attempt clears `paused`.
                wait_for_wake(&mut commands, None).await
            }
            Ended::Closed => Next::Stop,
            Ended::Refused(reason) => {
                emit(LinkEvent::Status(ConnectionStatus::Refused { reason }));
                backoff.reset();
                wait_for_user(&mut commands).await
            }
            Ended::Lost { reason, was_stable } => {
                if was_stable {
                    backoff.reset();
                }
                if !browser_online() {
                    emit(LinkEvent::Status(ConnectionStatus::Offline {
                        reason: format!("no network connection; waiting for it ({reason})"),
                    }));
                    wait_for_wake(&mut commands, None).await
                } else {
                    let delay = backoff.next_delay(js_sys::Math::random());
                    emit(LinkEvent::Status(ConnectionStatus::Reconnecting {
                        reason,
                        retry_at: wall_clock_ms() + delay.as_millis() as f64,
                    }));
                    wait_for_wake(&mut commands, Some(delay)).await
                }
            }
        };
        if let Next::Stop = next {
            return;
        }
    }
}

/// After a refusal: only the user's retry connects again.
async fn wait_for_user(commands: &mut mpsc::UnboundedReceiver<Command>) -> Next {
    loop {
        match commands.next().await {
            Some(Command::Retry) => return Next::Connect,
            Some(Command::Flush | Command::Wake) => {} // publishes wait in the core
            Some(Command::Close) | None => return Next::Stop,
        }
    }
}

/// Until the delay is over (if any), the network is back, the tab is visible, or the user asks.
async fn wait_for_wake(
    commands: &mut mpsc::UnboundedReceiver<Command>,
    delay: Option<Duration>,
) -> Next {
    let timer = sleep(delay).fuse();
    futures::pin_mut!(timer);
    loop {
        futures::select_biased! {
            _ = timer => return Next::Connect,
            cmd = commands.next() => match cmd {
                Some(Command::Retry | Command::Wake) => return Next::Connect,
                Some(Command::Flush) => {}
                Some(Command::Close) | None => return Next::Stop,
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
    commands: &mut mpsc::UnboundedReceiver<Command>,
    emit: &mut dyn FnMut(LinkEvent),
) -> Ended {
    let (url, core) = (link.url.as_str(), &link.core);
    // A new attempt: whatever paused an earlier link is over (the page is back).
    link.paused.set(false);
    let unreachable = || Ended::Lost {
        reason: format!("broker unreachable at {url}"),
        was_stable: false,
    };
    // Opened raw, so a clone can be kept for `leave_now`, then wrapped by gloo.
    let opened = web_sys::WebSocket::new_with_str(url, "mqtt")
        .map_err(|e| crate::browser::js_error_text(&e))
        .and_then(|raw| {
            let keep = raw.clone();
            WebSocket::try_from(raw)
                .map(|ws| (ws, keep))
                .map_err(|e| e.to_string())
        });
    let (mut ws, raw) = match opened {
        Ok(pair) => pair,
        Err(e) => {
            return Ended::Lost {
                reason: format!("cannot open a WebSocket to {url}: {e}"),
                was_stable: false,
            }
        }
    };

    // Wait until the socket is open or has failed (gloo wakes the sink on either).
    {
        let ready = futures::future::poll_fn(|cx| ws.poll_ready_unpin(cx)).fuse();
        let timeout = TimeoutFuture::new(OPEN_TIMEOUT.as_millis() as u32).fuse();
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

    core.borrow_mut().handle_open(now());
    let mut connected_at = None;
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
                Event::Connected { .. } => connected_at = Some(now()),
                Event::Disconnected(reason) => ended = Some(reason.clone()),
                _ => {}
            }
            emit(LinkEvent::Mqtt(event));
        }
        if let Some(reason) = ended {
            let _ = ws.close(Some(1000), None);
            return match reason {
                DisconnectReason::ClientDisconnect => Ended::Closed,
                DisconnectReason::Refused(refusal) => Ended::Refused(refusal.to_string()),
                other => Ended::Lost {
                    reason: other.to_string(),
                    was_stable: connected_at
                        .is_some_and(|at| now().saturating_duration_since(at) >= STABLE_LINK),
                },
            };
        }

        let deadline = core.borrow().poll_timeout();
        let timer = sleep(deadline.map(|d| d.saturating_duration_since(now()))).fuse();
        futures::pin_mut!(timer);
        let mut next_message = ws.next().fuse();
        futures::select_biased! {
            message = next_message => {
                let mut c = core.borrow_mut();
                match message {
                    Some(Ok(Message::Bytes(bytes))) => c.handle_bytes(now(), &bytes),
                    // MQTT over WebSocket is binary only; a text frame is a broken peer.
                    Some(Ok(Message::Text(_))) => c.handle_close("the broker sent a text frame"),
                    Some(Err(WebSocketError::ConnectionClose(close))) => c.handle_close(
                        format!("connection to {url} lost (code {})", close.code),
                    ),
                    Some(Err(e)) => c.handle_close(format!("connection to {url} lost: {e}")),
                    None => c.handle_close(format!("connection to {url} closed")),
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
            _ = timer => core.borrow_mut().handle_timeout(now()),
        }
    }
}
