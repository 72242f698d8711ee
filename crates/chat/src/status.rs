//! The connection as the badge tells it: a state keyword for `data-state`, and words. It is
//! built from the transport's typed [`LinkState`] by [`ConnectionStatus::from_link`], and
//! keeps typed reasons until [`ConnectionStatus::label`] puts them into words.

use mqtt_core::{ConnectRefusal, LinkError, LinkState};
use thiserror::Error;

pub use crate::connection::BrokerUrlError;

/// What the user is told about the link to the broker.
#[derive(Clone, Debug, PartialEq)]
pub enum ConnectionStatus {
    Connecting,
    Connected,
    /// Lost, and a new attempt is scheduled at `retry_at` (ms since the Unix epoch).
    Reconnecting {
        reason: LinkError,
        retry_at: f64,
    },
    /// Not connected, and nothing is scheduled.
    Offline {
        reason: OfflineReason,
    },
    /// The broker refused the connection; retrying as is would not help. `detail`: what an
    /// MQTT 5 broker said besides its reason code (its reason string).
    Refused {
        reason: ConnectRefusal,
        detail: Option<String>,
    },
}

/// Why nothing is scheduled while offline.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum OfflineReason {
    /// The browser says there is no network; the link is tried again when it is back.
    #[error("no network connection; waiting for it ({0})")]
    NoNetwork(LinkError),
    /// The page went away (back/forward cache) and comes back on its own.
    #[error("paused while the page was away")]
    Paused,
    /// The connection was closed for good.
    #[error("the connection was closed")]
    Closed,
    /// MQTT 5: another connection with this tab's client id took the session over.
    #[error("another tab or device took over this session (same client id); connect again to take it back")]
    TakenOver,
    /// No secure random numbers for a client id (`crypto.getRandomValues` is missing).
    #[error("this browser offers no secure random numbers, which a client id needs")]
    NoRandomness,
    /// MQTT 5 is chosen, and the part of the app that speaks it (fetched when first used)
    /// could not be loaded: the server is gone, or the app was updated since the page
    /// opened. It is fetched again, as a lost broker is tried again.
    #[error("MQTT 5 support could not be loaded from the server; trying again (reload the page if the app was updated, or choose MQTT 3.1.1)")]
    Mqtt5NotLoaded,
    /// The broker address from the page URL cannot be used.
    #[error("{0}")]
    BadBrokerUrl(BrokerUrlError),
}

/// A lost link in words. A `wss://` socket that never opened is most often a certificate
/// the browser does not trust or a port without TLS, and the browser says only "1006":
/// say what to check.
fn explain(reason: &LinkError) -> String {
    match reason {
        LinkError::Unreachable { url } if url.starts_with("wss://") => {
            let https = url.replacen("wss://", "https://", 1);
            format!(
                "{reason}. The browser gives no reason for a secure WebSocket that fails to open (code 1006): check that it trusts the broker's certificate (open {https} in a tab to see any certificate error), that the port serves TLS, and the address"
            )
        }
        other => other.to_string(),
    }
}

impl ConnectionStatus {
    /// What to tell the user about `link`, reported at wall-clock time `now_ms` (ms since
    /// the Unix epoch; it dates a scheduled retry).
    pub fn from_link(link: &LinkState, now_ms: f64) -> ConnectionStatus {
        match link {
            LinkState::Connecting => ConnectionStatus::Connecting,
            LinkState::Connected => ConnectionStatus::Connected,
            LinkState::Retrying { reason, retry_in } => ConnectionStatus::Reconnecting {
                reason: reason.clone(),
                retry_at: now_ms + retry_in.as_millis() as f64,
            },
            LinkState::WaitingForNetwork { reason } => ConnectionStatus::Offline {
                reason: OfflineReason::NoNetwork(reason.clone()),
            },
            LinkState::Paused => ConnectionStatus::Offline {
                reason: OfflineReason::Paused,
            },
            LinkState::Refused(refusal) => ConnectionStatus::Refused {
                reason: *refusal,
                detail: None,
            },
            LinkState::TakenOver => ConnectionStatus::Offline {
                reason: OfflineReason::TakenOver,
            },
            LinkState::Closed => ConnectionStatus::Offline {
                reason: OfflineReason::Closed,
            },
        }
    }

    /// The state keyword, for `data-state` and styling.
    pub fn state(&self) -> &'static str {
        match self {
            ConnectionStatus::Connecting => "connecting",
            ConnectionStatus::Connected => "connected",
            ConnectionStatus::Reconnecting { .. } => "reconnecting",
            ConnectionStatus::Offline { .. } => "offline",
            ConnectionStatus::Refused { .. } => "refused",
        }
    }

    /// The badge text at wall-clock time `now_ms`: exactly `connected` when connected,
    /// otherwise the state and why (and for `reconnecting`, when the next attempt comes).
    pub fn label(&self, now_ms: f64) -> String {
        match self {
            ConnectionStatus::Connecting => "connecting".into(),
            ConnectionStatus::Connected => "connected".into(),
            ConnectionStatus::Reconnecting { reason, retry_at } => {
                // Whole seconds, formatted as an integer (f64 formatting costs 10 KB of Wasm).
                let secs = ((retry_at - now_ms) / 1000.0).ceil().max(0.0) as u64;
                let reason = explain(reason);
                if secs >= 1 {
                    format!("reconnecting in {secs} s: {reason}")
                } else {
                    format!("reconnecting now: {reason}")
                }
            }
            ConnectionStatus::Offline { reason } => format!("offline: {reason}"),
            ConnectionStatus::Refused {
                reason,
                detail: None,
            } => format!("refused: {reason}"),
            ConnectionStatus::Refused {
                reason,
                detail: Some(detail),
            } => format!("refused: {reason}: {detail}"),
        }
    }

    pub fn is_connected(&self) -> bool {
        *self == ConnectionStatus::Connected
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mqtt_core::DisconnectReason;

    use super::*;

    fn unreachable() -> LinkError {
        LinkError::Unreachable {
            url: "ws://127.0.0.1:9001".into(),
        }
    }

    /// The badge (text, data-state) for a link state reported at `now_ms`, read at `now_ms`.
    fn badge(link: LinkState) -> (String, &'static str) {
        let status = ConnectionStatus::from_link(&link, 50_000.0);
        (status.label(50_000.0), status.state())
    }

    #[test]
    fn connected_reads_exactly_connected() {
        assert_eq!(
            badge(LinkState::Connected),
            ("connected".into(), "connected")
        );
        assert_eq!(
            badge(LinkState::Connecting),
            ("connecting".into(), "connecting")
        );
    }

    #[test]
    fn a_secure_socket_that_never_opened_says_to_check_the_certificate() {
        let (text, _) = badge(LinkState::Retrying {
            reason: LinkError::Unreachable {
                url: "wss://127.0.0.1:8884/mqtt".into(),
            },
            retry_in: Duration::from_secs(1),
        });
        assert!(text.contains("certificate"), "{text}");
        assert!(text.contains("https://127.0.0.1:8884/mqtt"), "{text}");
        // Plain ws:// has no certificate to blame.
        let (text, _) = badge(LinkState::Retrying {
            reason: unreachable(),
            retry_in: Duration::from_secs(1),
        });
        assert!(!text.contains("certificate"), "{text}");
    }

    #[test]
    fn every_link_state_is_told_in_words() {
        assert_eq!(
            badge(LinkState::Retrying {
                reason: unreachable(),
                retry_in: Duration::from_millis(2_500)
            }),
            (
                "reconnecting in 3 s: broker unreachable at ws://127.0.0.1:9001".into(),
                "reconnecting"
            )
        );
        assert_eq!(
            badge(LinkState::WaitingForNetwork {
                reason: LinkError::Closed {
                    url: "ws://h:1".into(),
                    code: 1006
                }
            }),
            (
                "offline: no network connection; waiting for it (connection to ws://h:1 lost (code 1006))"
                    .into(),
                "offline"
            )
        );
        assert_eq!(
            badge(LinkState::Paused),
            ("offline: paused while the page was away".into(), "offline")
        );
        assert_eq!(
            badge(LinkState::Refused(ConnectRefusal::BadUserNameOrPassword)),
            ("refused: bad user name or password".into(), "refused")
        );
        assert_eq!(
            badge(LinkState::Closed),
            ("offline: the connection was closed".into(), "offline")
        );
    }

    #[test]
    fn the_reasons_of_a_lost_link_read_as_before() {
        let url = || "ws://h:1".to_string();
        let words = [
            (
                LinkError::CannotOpen {
                    url: url(),
                    detail: "SyntaxError: bad".into(),
                },
                "cannot open a WebSocket to ws://h:1: SyntaxError: bad",
            ),
            (
                LinkError::Failed {
                    url: url(),
                    detail: "boom".into(),
                },
                "connection to ws://h:1 lost: boom",
            ),
            (
                LinkError::Ended { url: url() },
                "connection to ws://h:1 closed",
            ),
            (LinkError::TextFrame, "the broker sent a text frame"),
            (
                LinkError::Mqtt(DisconnectReason::PingTimeout),
                "no PINGRESP from broker in time",
            ),
        ];
        for (reason, text) in words {
            assert_eq!(reason.to_string(), text);
        }
    }

    #[test]
    fn a_bad_broker_address_says_what_to_type() {
        let offline = ConnectionStatus::Offline {
            reason: OfflineReason::BadBrokerUrl(BrokerUrlError::WebPage {
                address: "http://x:1".into(),
            }),
        };
        assert_eq!(offline.state(), "offline");
        assert_eq!(
            offline.label(0.0),
            "offline: \"http://x:1\" is a web page address. MQTT in a browser goes over WebSockets: use ws:// or wss:// and the broker's WebSocket port."
        );
    }

    #[test]
    fn reconnecting_counts_down_to_the_next_attempt() {
        let again = ConnectionStatus::from_link(
            &LinkState::Retrying {
                reason: LinkError::Mqtt(DisconnectReason::Transport("connection lost".into())),
                retry_in: Duration::from_secs(10),
            },
            0.0,
        );
        assert_eq!(again.state(), "reconnecting");
        assert_eq!(again.label(8_800.0), "reconnecting in 2 s: connection lost");
        assert_eq!(again.label(9_500.0), "reconnecting in 1 s: connection lost");
        assert_eq!(again.label(10_000.0), "reconnecting now: connection lost");
        assert_eq!(again.label(12_000.0), "reconnecting now: connection lost");
    }
}
