//! The connection as the badge tells it: a state keyword for `data-state`, and words.

/// What the user is told about the link to the broker.
#[derive(Clone, Debug, PartialEq)]
pub enum ConnectionStatus {
    Connecting,
    Connected,
    /// Lost, and a new attempt is scheduled at `retry_at` (ms since the Unix epoch).
    Reconnecting {
        reason: String,
        retry_at: f64,
    },
    /// Not connected, and nothing is scheduled.
    Offline {
        reason: String,
    },
    /// The broker refused the connection; retrying as is would not help.
    Refused {
        reason: String,
    },
}

impl ConnectionStatus {
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
                if secs >= 1 {
                    format!("reconnecting in {secs} s: {reason}")
                } else {
                    format!("reconnecting now: {reason}")
                }
            }
            ConnectionStatus::Offline { reason } => format!("offline: {reason}"),
            ConnectionStatus::Refused { reason } => format!("refused: {reason}"),
        }
    }

    pub fn is_connected(&self) -> bool {
        *self == ConnectionStatus::Connected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connected_reads_exactly_connected() {
        assert_eq!(ConnectionStatus::Connected.label(0.0), "connected");
        assert_eq!(ConnectionStatus::Connected.state(), "connected");
    }

    #[test]
    fn other_states_say_why() {
        let offline = ConnectionStatus::Offline {
            reason: "broker unreachable at ws://127.0.0.1:9001".into(),
        };
        assert_eq!(offline.state(), "offline");
        assert_eq!(
            offline.label(0.0),
            "offline: broker unreachable at ws://127.0.0.1:9001"
        );
        let refused = ConnectionStatus::Refused {
            reason: "bad user name or password".into(),
        };
        assert_eq!(refused.label(0.0), "refused: bad user name or password");
    }

    #[test]
    fn reconnecting_counts_down_to_the_next_attempt() {
        let again = ConnectionStatus::Reconnecting {
            reason: "connection lost".into(),
            retry_at: 10_000.0,
        };
        assert_eq!(again.state(), "reconnecting");
        assert_eq!(again.label(8_800.0), "reconnecting in 2 s: connection lost");
        assert_eq!(again.label(9_500.0), "reconnecting in 1 s: connection lost");
        assert_eq!(again.label(10_000.0), "reconnecting now: connection lost");
        assert_eq!(again.label(12_000.0), "reconnecting now: connection lost");
    }
}
