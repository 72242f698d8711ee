//! One table of what each view of the app subscribes to, and the one place an incoming
//! topic is routed to the views that want it.
//!
//! Several views (the chat, a topic viewer) share one session, so their filters can be the
//! same or overlap. The table keeps one broker subscription per filter, at the highest QoS
//! any view asked for, and unsubscribes only when no view wants the filter any more: leaving
//! a watched filter never drops a room's subscription. Each message goes to each view that
//! has a matching filter, once, however many of its filters match.
//!
//! A broker may send one copy of a message per matching subscription (Mosquitto does for
//! MQTT 5 clients). When the copies say which subscription they came through (MQTT 5
//! subscription identifiers, [`crate::IncomingMessage::via`]), a view takes only the copy
//! of its first matching filter, so overlapping filters do not show a message twice.

use mqttbytes::QoS;

use crate::topic::{check_filter, matches_checked, FilterError};

/// What the broker subscription of a filter must become after a change of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing to send: the subscription was already right.
    None,
    /// Subscribe (first view to want it, or at a new QoS).
    Subscribe { filter: String, qos: QoS },
    /// No view wants the filter any more.
    Unsubscribe { filter: String },
}

#[derive(Clone, Debug)]
struct Entry<V> {
    filter: String,
    wants: Vec<(V, QoS)>,
    /// The broker refused it: it delivers nothing, so it is not any view's first filter.
    refused: bool,
    /// The broker granted it (SUBACK) since it was last asked for: copies come through it.
    granted: bool,
}

impl<V> Entry<V> {
    fn qos(&self) -> QoS {
        self.wants
            .iter()
            .map(|(_, q)| *q)
            .max_by_key(|q| *q as u8)
            .unwrap_or(QoS::AtMostOnce)
    }
}

/// The subscriptions of every view, by filter.
#[derive(Clone, Debug)]
pub struct Router<V> {
    entries: Vec<Entry<V>>,
}

impl<V> Default for Router<V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<V: Copy + Eq> Router<V> {
    /// `view` wants the messages of `filter` at `qos` (again: the QoS is replaced).
    pub fn want(&mut self, view: V, filter: &str, qos: QoS) -> Result<Change, FilterError> {
        check_filter(filter)?;
        let Some(i) = self.entries.iter().position(|e| e.filter == filter) else {
            self.entries.push(Entry {
                filter: filter.to_owned(),
                wants: vec![(view, qos)],
                refused: false,
                granted: false,
            });
            return Ok(Change::Subscribe {
                filter: filter.to_owned(),
                qos,
            });
        };
        let entry = &mut self.entries[i];
        let before = entry.qos();
        entry.wants.retain(|(v, _)| *v != view);
        entry.wants.push((view, qos));
        // Asked again after a refusal: try again.
        if entry.qos() != before || entry.refused {
            entry.refused = false;
            entry.granted = false;
            return Ok(Change::Subscribe {
                filter: filter.to_owned(),
                qos: entry.qos(),
            });
        }
        Ok(Change::None)
    }

    /// `view` no longer wants `filter`. The subscription stays while another view wants it
    /// (at the QoS that view asked for).
    pub fn drop_filter(&mut self, view: V, filter: &str) -> Change {
        let Some(i) = self.entries.iter().position(|e| e.filter == filter) else {
            return Change::None;
        };
        let entry = &mut self.entries[i];
        let before = entry.qos();
        let len = entry.wants.len();
        entry.wants.retain(|(v, _)| *v != view);
        if entry.wants.len() == len {
            return Change::None;
        }
        if entry.wants.is_empty() {
            let entry = self.entries.remove(i);
            return Change::Unsubscribe {
                filter: entry.filter,
            };
        }
        if entry.qos() != before && !entry.refused {
            return Change::Subscribe {
                filter: filter.to_owned(),
                qos: entry.qos(),
            };
        }
        Change::None
    }

    /// Whether `view` wants `filter`.
    pub fn wants(&self, view: V, filter: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.filter == filter && e.wants.iter().any(|(v, _)| *v == view))
    }

    /// The views that want `filter`.
    pub fn views_of(&self, filter: &str) -> Vec<V> {
        self.entries
            .iter()
            .find(|e| e.filter == filter)
            .map(|e| e.wants.iter().map(|(v, _)| *v).collect())
            .unwrap_or_default()
    }

    /// The broker refused `filter` (SUBACK failure). Until it is wanted again it is not
    /// counted as a view's first filter, so copies through the view's other filters reach it.
    pub fn refused(&mut self, filter: &str) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.filter == filter) {
            e.refused = true;
        }
    }

    /// The broker granted `filter`.
    pub fn granted(&mut self, filter: &str) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.filter == filter) {
            e.refused = false;
            e.granted = true;
        }
    }

    /// Every filter with the QoS to subscribe it at, in the order first wanted.
    pub fn subscriptions(&self) -> impl Iterator<Item = (&str, QoS)> {
        self.entries.iter().map(|e| (e.filter.as_str(), e.qos()))
    }

    /// The views a message on `topic` goes to, each once. `via`: the filters the broker
    /// says this copy came through (`None`: it did not say, so every matching view takes
    /// it). With `via`, a view takes the copy only if its first matching filter (the least
    /// in byte order, of those granted, or of those not refused while none is granted) is
    /// among them; the broker sends that filter's copy too.
    pub fn route(&self, topic: &str, via: Option<&[String]>) -> Vec<V> {
        let mut views: Vec<V> = Vec::new();
        for entry in &self.entries {
            for (view, _) in &entry.wants {
                if !views.contains(view) {
                    views.push(*view);
                }
            }
        }
        views.retain(|view| {
            let matching: Vec<&Entry<V>> = self
                .entries
                .iter()
                .filter(|e| !e.refused && e.wants.iter().any(|(v, _)| v == view))
                .filter(|e| matches_checked(&e.filter, topic))
                .collect();
            // A filter still waiting for its SUBACK may deliver nothing yet: while one that
            // matches is granted, the first of those is the one.
            let granted = matching
                .iter()
                .filter(|e| e.granted)
                .map(|e| e.filter.as_str())
                .min();
            let first = granted.or_else(|| matching.iter().map(|e| e.filter.as_str()).min());
            match (first, via) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(first), Some(via)) => via.iter().any(|f| f == first),
            }
        });
        views
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum View {
        Chat,
        Watch,
    }

    #[test]
    fn a_shared_filter_outlives_one_view() {
        let mut r = Router::default();
        let sub = r.want(View::Chat, "messages", QoS::AtLeastOnce).unwrap();
        assert!(matches!(sub, Change::Subscribe { .. }));
        assert_eq!(
            r.want(View::Watch, "messages", QoS::AtMostOnce).unwrap(),
            Change::None
        );
        assert_eq!(r.drop_filter(View::Watch, "messages"), Change::None);
        assert_eq!(r.route("messages", None), vec![View::Chat]);
    }
}
