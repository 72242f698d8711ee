//! The connection as the badge tells it: a state keyword for `data-state`, and words.

/// What the user is told about the link to the broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionStatus {
    Connecting,
    Connected,
    /// Lost, and a new attempt is scheduled.
    Reconnecting {
        reason: String,
        retry_in_ms: u64,
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

    /// The badge text: exactly `connected` when connected, otherwise the state and why.
    pub fn label(&self) -> String {
        match self {
            ConnectionStatus::Connecting => "connecting".into(),
            ConnectionStatus::Connected => "connected".into(),
            ConnectionStatus::Reconnecting {
                reason,
                retry_in_ms,
            } => {
                let secs = (*retry_in_ms as f64 / 1000.0).ceil();
                format!("reconnecting in {secs} s: {reason}")
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
        assert_eq!(ConnectionStatus::Connected.label(), "connected");
        assert_eq!(ConnectionStatus::Connected.state(), "connected");
    }

    #[test]
    fn other_states_say_why() {
        let offline = ConnectionStatus::Offline {
            reason: "broker unreachable at ws://127.0.0.1:9001".into(),
        };
        assert_eq!(offline.state(), "offline");
        assert_eq!(
            offline.label(),
            "offline: broker unreachable at ws://127.0.0.1:9001"
        );
        let refused = ConnectionStatus::Refused {
            reason: "bad user name or password".into(),
        };
        assert_eq!(refused.label(), "refused: bad user name or password");
        let again = ConnectionStatus::Reconnecting {
            reason: "connection lost".into(),
            retry_in_ms: 1200,
        };
        assert_eq!(again.state(), "reconnecting");
        assert_eq!(again.label(), "reconnecting in 2 s: connection lost");
    }
}
