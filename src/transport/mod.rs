//! The transport: one local task owns a gloo-net WebSocket (subprotocol `mqtt`, binary frames,
//! one MQTT packet per message) and drives the sans-IO [`mqtt_core::Client`] with bytes and
//! time. Callers get a [`Connection`] handle and a stream of [`LinkEvent`]s through a callback.
//!
//! The core sits in an `Rc<RefCell<_>>` shared by the handle and the task, so `publish`
//! answers at once (packet id, or why not) and the task only has to flush. No borrow is ever
//! held across an `.await`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use chat::ConnectionStatus;
use futures::channel::mpsc;
use futures::{FutureExt, SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, State, WebSocketError};
use gloo_timers::future::TimeoutFuture;
use mqtt_core::{Client, DisconnectReason, Event, Options, PacketId, PublishError, QoS};

use crate::browser::now;

/// How long the browser may take to open the WebSocket before we give up on this attempt.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// What the transport reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    Status(ConnectionStatus),
    Mqtt(Event),
}

enum Command {
    /// The core has something to send.
    Flush,
    /// Try to connect again after going offline.
    Retry,
    /// Leave: DISCONNECT and close.
    Close,
}

/// A handle to a running connection. Dropping every handle closes it.
pub struct Connection {
    core: Rc<RefCell<Client>>,
    /// The open socket, for the one synchronous send: DISCONNECT as the page goes away.
    socket: Rc<RefCell<Option<web_sys::WebSocket>>>,
    commands: mpsc::UnboundedSender<Command>,
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
        let link = Link {
            url,
            core: Rc::clone(&core),
            socket: Rc::clone(&socket),
        };
        wasm_bindgen_futures::spawn_local(async move {
            run(link, rx, &mut on_event).await;
        });
        Connection {
            core,
            socket,
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
        let _ = self.commands.unbounded_send(Command::Flush);
        result
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
    /// after which no task may run. The broker then knows the leave was deliberate.
    pub fn leave_now(&self) {
        let mut core = self.core.borrow_mut();
        core.disconnect(now());
        if let Some(ws) = self.socket.borrow().as_ref() {
            while let Some(bytes) = core.poll_transmit() {
                let _ = ws.send_with_u8_array(&bytes);
            }
            let _ = ws.close_with_code(1000);
        }
        let _ = self.commands.unbounded_send(Command::Close);
    }
}

/// What the task needs: where to connect, the core, and where to publish the open socket.
struct Link {
    url: String,
    core: Rc<RefCell<Client>>,
    socket: Rc<RefCell<Option<web_sys::WebSocket>>>,
}

/// How one connection attempt ended.
enum Ended {
    /// The user closed the connection, or every handle is gone.
    Closed,
    /// The link is down; this is what to tell the user.
    Lost(ConnectionStatus),
}

async fn run(
    link: Link,
    mut commands: mpsc::UnboundedReceiver<Command>,
    emit: &mut dyn FnMut(LinkEvent),
) {
    loop {
        emit(LinkEvent::Status(ConnectionStatus::Connecting));
        let ended = connect_once(&link, &mut commands, emit).await;
        link.socket.borrow_mut().take();
        match ended {
            Ended::Closed => return,
            Ended::Lost(status) => emit(LinkEvent::Status(status)),
        }
        // Offline: wait for the user to ask again.
        loop {
            match commands.next().await {
                Some(Command::Retry) => break,
                Some(Command::Flush) => {} // queued in the core until the next session
                Some(Command::Close) | None => return,
            }
        }
    }
}

async fn connect_once(
    link: &Link,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    emit: &mut dyn FnMut(LinkEvent),
) -> Ended {
    let (url, core) = (link.url.as_str(), &link.core);
    let unreachable = || {
        Ended::Lost(ConnectionStatus::Offline {
            reason: format!("broker unreachable at {url}"),
        })
    };
    // Opened raw, so a clone can be kept for `leave_now`, then wrapped by gloo.
    let opened = web_sys::WebSocket::new_with_str(url, "mqtt")
        .map_err(|e| format!("{e:?}"))
        .and_then(|raw| {
            let keep = raw.clone();
            WebSocket::try_from(raw)
                .map(|ws| (ws, keep))
                .map_err(|e| e.to_string())
        });
    let (mut ws, raw) = match opened {
        Ok(pair) => pair,
        Err(e) => {
            return Ended::Lost(ConnectionStatus::Offline {
                reason: format!("cannot open a WebSocket to {url}: {e}"),
            })
        }
    };

    // Wait until the socket is open or has failed (gloo wakes the sink on either).
    {
        let ready = futures::future::poll_fn(|cx| ws.poll_ready_unpin(cx)).fuse();
        let timeout = TimeoutFuture::new(OPEN_TIMEOUT.as_millis() as u32).fuse();
        futures::pin_mut!(ready, timeout);
        loop {
            futures::select! {
                _ = ready => break,
                _ = timeout => return unreachable(),
                cmd = commands.next() => match cmd {
                    Some(Command::Close) | None => return Ended::Closed,
                    Some(Command::Flush) | Some(Command::Retry) => {}
                },
            }
        }
    }
    if !matches!(ws.state(), State::Open) {
        return unreachable();
    }
    *link.socket.borrow_mut() = Some(raw);

    core.borrow_mut().handle_open(now());
    loop {
        // Flush what the core wants sent, then report what happened.
        let (transmit, events) = {
            let mut c = core.borrow_mut();
            let transmit: Vec<Bytes> = std::iter::from_fn(|| c.poll_transmit()).collect();
            let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
            (transmit, events)
        };
        for bytes in transmit {
            if let Err(e) = ws.send(Message::Bytes(bytes.to_vec())).await {
                core.borrow_mut()
                    .handle_close(format!("sending to {url} failed: {e}"));
            }
        }
        let mut ended = None;
        for event in events {
            if let Event::Disconnected(reason) = &event {
                ended = Some(status_after(reason));
            }
            emit(LinkEvent::Mqtt(event));
        }
        if let Some(status) = ended {
            let _ = ws.close(Some(1000), None);
            return match status {
                Some(status) => Ended::Lost(status),
                None => Ended::Closed,
            };
        }

        let timer = {
            let deadline = core.borrow().poll_timeout();
            let wait = deadline.map(|d| d.saturating_duration_since(now()));
            async move {
                match wait {
                    Some(wait) => {
                        TimeoutFuture::new(wait.as_millis().min(u32::MAX as u128) as u32).await
                    }
                    None => futures::future::pending::<()>().await,
                }
            }
        }
        .fuse();
        futures::pin_mut!(timer);
        let mut next_message = ws.next().fuse();
        futures::select! {
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
                Some(Command::Flush) | Some(Command::Retry) => {}
                Some(Command::Close) | None => core.borrow_mut().disconnect(now()),
            },
            _ = timer => core.borrow_mut().handle_timeout(now()),
        }
    }
}

/// What the badge says after the core ended a connection; `None` for a chosen disconnect.
fn status_after(reason: &DisconnectReason) -> Option<ConnectionStatus> {
    match reason {
        DisconnectReason::ClientDisconnect => None,
        DisconnectReason::Refused(refusal) => Some(ConnectionStatus::Refused {
            reason: refusal.to_string(),
        }),
        other => Some(ConnectionStatus::Offline {
            reason: other.to_string(),
        }),
    }
}
