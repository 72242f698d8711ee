//! The viewer's tools over what arrives: how each filter's payloads are read (decoder,
//! chart path), the topic tree, the retained messages and the charts. Kept inside the
//! [`Watch`](crate::watch::Watch), fed by [`Watch::receive`](crate::watch::Watch::receive).

use std::collections::HashMap;
use std::sync::Arc;

use super::charts::Charts;
use super::decode::{decode, Decoder};
use super::path::{number_of, JsonPath, PathError};
use super::retained::Retained;
use super::tree::Tree;
use crate::watch::{Body, Decoding, Seen, WatchedFilter, SHOWN_BYTES};

/// How one filter's payloads are read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reader {
    pub decoder: Decoder,
    /// Where a chart reads its number in a JSON payload; none: the whole payload.
    pub path: Option<JsonPath>,
}

#[derive(Debug, Default)]
pub struct Tools {
    /// By filter, for the filters given one.
    readers: Vec<(String, Reader)>,
    tree: Tree,
    /// The tree as it was when paused.
    frozen_tree: Option<Tree>,
    pub retained: Retained,
    pub charts: Charts,
    /// QoS 1 publishes of the viewer waiting for the broker's answer, by packet id.
    waiting: HashMap<u16, Purpose>,
    /// How the publish panel's last send went.
    panel: PanelStatus,
    /// Sends from the panel since the page opened (a repeat counts each).
    panel_sends: u64,
    /// The packet id of the panel's last QoS 1 send: only its answer is the panel's status.
    panel_last: Option<u16>,
}

/// Why the viewer published something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// From the publish panel.
    Panel,
    /// The clear of this topic's retained message.
    Clear(String),
}

/// How the publish panel's last send went, as far as the broker said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PanelStatus {
    #[default]
    Idle,
    /// QoS 0, on the wire: the broker never confirms those.
    Sent,
    /// QoS 1, waiting for the broker (or for the connection).
    Waiting,
    /// QoS 1, acknowledged by the broker (PUBACK).
    Acknowledged,
    /// The broker refused it (MQTT 5), or it could not be sent: why, in words.
    Refused(String),
}

impl PanelStatus {
    pub fn key(&self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Sent => "sent",
            Self::Waiting => "waiting",
            Self::Acknowledged => "acknowledged",
            Self::Refused(_) => "refused",
        }
    }

    pub fn words(&self) -> String {
        match self {
            Self::Idle => String::new(),
            Self::Sent => "Sent at QoS 0 (the broker does not confirm those).".into(),
            Self::Waiting => "Sent; waiting for the broker to confirm…".into(),
            Self::Acknowledged => "The broker acknowledged it (PUBACK).".into(),
            Self::Refused(why) => why.clone(),
        }
    }
}

impl Tools {
    /// How `filter`'s payloads are read.
    pub fn reader(&self, filter: &str) -> Reader {
        self.readers
            .iter()
            .find(|(f, _)| f == filter)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    }

    fn reader_mut(&mut self, filter: &str) -> &mut Reader {
        let i = match self.readers.iter().position(|(f, _)| f == filter) {
            Some(i) => i,
            None => {
                self.readers.push((filter.to_owned(), Reader::default()));
                self.readers.len() - 1
            }
        };
        &mut self.readers[i].1
    }

    /// Read `filter`'s payloads with `decoder` from the next message on.
    pub fn set_decoder(&mut self, filter: &str, decoder: Decoder) {
        self.reader_mut(filter).decoder = decoder;
    }

    /// Chart `filter`'s payloads at the JSON path `path` (empty: the whole payload is the
    /// number), from the next message on.
    pub fn set_path(&mut self, filter: &str, path: &str) -> Result<(), PathError> {
        let path = if path.trim().is_empty() {
            None
        } else {
            Some(JsonPath::parse(path.trim())?)
        };
        self.reader_mut(filter).path = path;
        Ok(())
    }

    /// The reader of the first watched filter that matches `topic`.
    fn reader_for<'a>(&'a self, filters: &[WatchedFilter], topic: &str) -> Option<&'a Reader> {
        let filter = filters
            .iter()
            .find(|f| mqtt_core::topic::matches(&f.filter, topic))?;
        self.readers
            .iter()
            .find(|(f, _)| *f == filter.filter)
            .map(|(_, r)| r)
    }

    /// A payload read for the views: decoded (if its filter has a decoder), and the
    /// number it holds.
    pub(crate) fn read(
        &self,
        filters: &[WatchedFilter],
        topic: &str,
        payload: &[u8],
        body: &Body,
    ) -> (Option<Decoding>, Option<f64>) {
        let reader = self.reader_for(filters, topic);
        let decoder = reader.map_or(Decoder::Auto, |r| r.decoder);
        let path = reader.and_then(|r| r.path.as_ref());
        let decoded = match decoder {
            Decoder::Auto => None,
            d => Some(match decode(d, payload, SHOWN_BYTES) {
                Ok(read) => Decoding::Read {
                    text: read.text,
                    cut: read.cut,
                },
                Err(e) => Decoding::Failed(e.to_string()),
            }),
        };
        let text = match (&decoded, body) {
            (Some(Decoding::Read { text, cut: false }), _) => Some(text.as_str()),
            (Some(_), _) => None,
            (None, Body::Text { text, cut: false }) => Some(text.as_str()),
            (None, _) => None,
        };
        // Hex is digits, not a number.
        let number = text
            .filter(|_| decoder != Decoder::Hex)
            .and_then(|t| number_of(t, path));
        (decoded, number)
    }

    /// A message taken into the views: the tree, the retained list, the charts.
    pub(crate) fn take(&mut self, topic: &str, seen: &Arc<Seen>, size: usize, retain: bool) {
        self.tree.receive(topic, Arc::clone(seen));
        self.retained.seen(topic, size, retain, seen.at);
        if let Some(n) = seen.number {
            self.charts.add(topic, seen.at, n);
        }
    }

    /// A publish of the viewer left: `pkid` for QoS 1 (its answer comes to [`answered`]),
    /// none for QoS 0.
    ///
    /// [`answered`]: Tools::answered
    pub fn published(&mut self, pkid: Option<u16>, purpose: Purpose) {
        if purpose == Purpose::Panel {
            self.panel_sends += 1;
            self.panel_last = pkid;
            self.panel = if pkid.is_some() {
                PanelStatus::Waiting
            } else {
                PanelStatus::Sent
            };
        }
        if let Some(pkid) = pkid {
            self.waiting.insert(pkid, purpose);
        }
    }

    /// A publish of the panel could not go: why, in words.
    pub fn panel_failed(&mut self, why: String) {
        self.panel_last = None;
        self.panel = PanelStatus::Refused(why);
    }

    /// Clears sent and no longer awaited (given up: stopped, or not confirmed in time):
    /// their packet ids, to take back from the connection, so that one still queued (the
    /// link was down) never goes out after the user was told it did not.
    pub fn given_up_clears(&mut self) -> Vec<u16> {
        let retained = &self.retained;
        let gone: Vec<u16> = self
            .waiting
            .iter()
            .filter(|(_, p)| matches!(p, Purpose::Clear(t) if !retained.awaits(t)))
            .map(|(pkid, _)| *pkid)
            .collect();
        for pkid in &gone {
            self.waiting.remove(pkid);
        }
        gone
    }

    /// The broker answered QoS 1 publish `pkid`: accepted, or refused with words. Not one
    /// of the viewer's: nothing happens.
    pub fn answered(&mut self, pkid: u16, answer: Result<(), String>, now: f64) {
        let Some(purpose) = self.waiting.remove(&pkid) else {
            return;
        };
        match (purpose, answer) {
            // An answer to an earlier send says nothing of the last one.
            (Purpose::Panel, _) if self.panel_last != Some(pkid) => {}
            (Purpose::Panel, Ok(())) => self.panel = PanelStatus::Acknowledged,
            (Purpose::Panel, Err(why)) => {
                self.panel = PanelStatus::Refused(format!("The broker refused it: {why}."));
            }
            (Purpose::Clear(topic), Ok(())) => self.retained.acknowledged(&topic, now),
            (Purpose::Clear(topic), Err(why)) => self.retained.refused(&topic, &why),
        }
    }

    pub fn panel_status(&self) -> &PanelStatus {
        &self.panel
    }

    pub fn panel_sends(&self) -> u64 {
        self.panel_sends
    }

    /// The tree to show (as it was when paused).
    pub fn tree(&self) -> &Tree {
        self.frozen_tree.as_ref().unwrap_or(&self.tree)
    }

    pub(crate) fn pause(&mut self) {
        if self.frozen_tree.is_none() {
            self.frozen_tree = Some(self.tree.clone());
        }
    }

    pub(crate) fn resume(&mut self) {
        self.frozen_tree = None;
    }

    /// Forget what came (the readers stay; a clear under way goes on).
    pub(crate) fn clear(&mut self) {
        let paused = self.frozen_tree.is_some();
        self.tree = Tree::default();
        self.frozen_tree = paused.then(Tree::default);
        self.retained.forget();
        self.charts.clear();
    }
}

#[cfg(test)]
mod tests {
    use crate::watch::{Decoding, Watch};
    use mqtt_core::QoS;

    use super::super::decode::Decoder;

    #[test]
    fn each_filter_reads_its_own_way() {
        let mut w = Watch::default();
        w.add_filter("b64/#", QoS::AtMostOnce).unwrap();
        w.add_filter("num/#", QoS::AtMostOnce).unwrap();
        w.add_filter("#", QoS::AtMostOnce).unwrap();
        w.tools_mut().set_decoder("b64/#", Decoder::Base64);
        w.tools_mut().set_path("num/#", "a.b[1]").unwrap();
        assert!(w.tools_mut().set_path("num/#", "a[").is_err());
        w.receive("b64/x", b"eyJ0IjoxfQ==", QoS::AtMostOnce, false, 1.0);
        w.receive("b64/y", b"not base64!", QoS::AtMostOnce, false, 2.0);
        w.receive(
            "num/1",
            br#"{"a":{"b":[1, 22.5]}}"#,
            QoS::AtMostOnce,
            true,
            3.0,
        );
        w.receive("other", b"7", QoS::AtMostOnce, false, 4.0);
        w.receive("other", b"{\"a\":1}", QoS::AtMostOnce, false, 5.0);
        let s = w.stream();
        assert_eq!(
            s[0].decoded,
            Some(Decoding::Read {
                text: "{\"t\":1}".into(),
                cut: false
            })
        );
        assert!(matches!(&s[1].decoded, Some(Decoding::Failed(why)) if why.contains("Base64")));
        assert_eq!(s[2].number, Some(22.5));
        assert_eq!(s[3].number, Some(7.0));
        assert_eq!(s[4].number, None);
        let tools = w.tools().unwrap();
        assert_eq!(tools.charts.get("num/1").unwrap().len(), 1);
        assert_eq!(tools.tree().topics(), 4);
        assert_eq!(tools.retained.len(), 1);
        assert_eq!(tools.tree().leaf("other").unwrap().count, 2);
        // Pause freezes the tree; clear empties everything but the readers.
        w.pause();
        w.receive("late", b"1", QoS::AtMostOnce, false, 6.0);
        assert_eq!(w.tools().unwrap().tree().topics(), 4);
        w.resume();
        assert_eq!(w.tools().unwrap().tree().topics(), 5);
        w.clear();
        let tools = w.tools().unwrap();
        assert_eq!((tools.tree().topics(), tools.retained.len()), (0, 0));
        assert_eq!(tools.reader("b64/#").decoder, Decoder::Base64);
    }

    #[test]
    fn hex_is_not_charted_and_the_panel_hears_only_its_last_send() {
        let mut w = Watch::default();
        w.add_filter("#", QoS::AtMostOnce).unwrap();
        w.tools_mut().set_decoder("#", Decoder::Hex);
        w.receive("h", &[0x12, 0x34], QoS::AtMostOnce, false, 1.0);
        assert_eq!(w.stream()[0].number, None);
        let t = w.tools_mut();
        t.published(Some(7), super::Purpose::Panel);
        t.published(None, super::Purpose::Panel);
        t.answered(7, Ok(()), 2.0);
        assert_eq!(t.panel_status(), &super::PanelStatus::Sent);
        t.published(Some(8), super::Purpose::Panel);
        t.answered(8, Err("not authorized".into()), 3.0);
        assert!(
            matches!(t.panel_status(), super::PanelStatus::Refused(w) if w.contains("not authorized"))
        );
    }

    #[test]
    fn clears_given_up_are_taken_back() {
        let mut w = Watch::default();
        w.add_filter("#", QoS::AtMostOnce).unwrap();
        for t in ["a", "b"] {
            w.receive(t, b"1", QoS::AtMostOnce, true, 0.0);
        }
        let t = w.tools_mut();
        t.retained.start_clear(vec!["a".into(), "b".into()]);
        for (pkid, topic) in t.retained.next_batch(0.0).into_iter().enumerate() {
            t.published(Some(pkid as u16 + 1), super::Purpose::Clear(topic));
        }
        assert!(t.given_up_clears().is_empty(), "both awaited");
        t.retained.stop_clear();
        let mut gone = t.given_up_clears();
        gone.sort();
        assert_eq!(gone, [1, 2]);
        assert!(t.given_up_clears().is_empty());
    }
}
