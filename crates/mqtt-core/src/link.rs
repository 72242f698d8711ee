//! What a transport reports about its link to the broker: typed states and reasons. The core
//! never opens a link itself; these name what can happen to one, so the chat domain can put
//! them into words and tests can match on them.

use std::time::Duration;

use thiserror::Error;

use crate::error::{ConnectRefusal, DisconnectReason};

/// Where the link to the broker stands, as the transport reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// An attempt is under way: the socket is opening, or CONNECT waits for its CONNACK.
    Connecting,
    /// The broker accepted the session.
    Connected,
    /// The link was lost; the next attempt starts in `retry_in` unless something wakes it.
    Retrying {
        reason: LinkError,
        retry_in: Duration,
    },
    /// The link was lost while the browser says it is offline: nothing is tried until the
    /// network is back, the tab becomes visible or the user asks.
    WaitingForNetwork { reason: LinkError },
    /// The page went away (`pagehide`) and left the broker; it connects again when back.
    Paused,
    /// The broker refused the connection; only the user's retry tries again. (An MQTT 5
    /// reason string is in the `DisconnectReason::Refused` the session reported.)
    Refused(ConnectRefusal),
    /// An MQTT 5 broker ended the link because another connection with the same client id
    /// took the session over (DISCONNECT 0x8E): another tab or device. Retrying by itself
    /// would take it back and start a tug of war, so only the user's retry tries again.
    TakenOver,
    /// The connection was closed for good.
    Closed,
}

/// Why a link went down or never came up.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum LinkError {
    /// The socket did not open (refused, timed out, or closed before it opened).
    #[error("broker unreachable at {url}")]
    Unreachable { url: String },
    /// The browser would not even create the socket (a URL it rejects, a blocked port).
    #[error("cannot open a WebSocket to {url}: {detail}")]
    CannotOpen { url: String, detail: String },
    /// The open socket closed, with the WebSocket close code.
    #[error("connection to {url} lost (code {code})")]
    Closed { url: String, code: u16 },
    /// The open socket failed otherwise.
    #[error("connection to {url} lost: {detail}")]
    Failed { url: String, detail: String },
    /// The socket's stream ended without a close event.
    #[error("connection to {url} closed")]
    Ended { url: String },
    /// MQTT over WebSocket is binary only: a text frame is a broken peer.
    #[error("the broker sent a text frame")]
    TextFrame,
    /// The MQTT session ended the link (no CONNACK or PINGRESP in time, a protocol error).
    #[error("{0}")]
    Mqtt(DisconnectReason),
}
