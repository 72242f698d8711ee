//! Whether the broker pins authors: lets only `<user>` write the `.../from/<user>` topics.
//! Only then does such a topic prove who sent a message, and only then are rows and people
//! shown verified.
//!
//! Sans-IO, on a virtual clock: the session feeds it what the link reports
//! (`handle_*(now, …)`) and reads what to do (`poll_timeout`, [`AuthorshipCheck::verdict`]).
//!
//! The check fails closed. A signed-in MQTT 5 tab publishes a probe (QoS 1) on its own
//! status topic under a made-up user, `chat/presence/<tab>/from/probe-<random>`, on every
//! connect. The one positive evidence is the broker's PUBACK refusing it as **not
//! authorized** (reason 0x87): then it checks authors. Everything else proves nothing that
//! would let a row be shown verified:
//! - an accepting PUBACK, or the probe coming back, proves the opposite ([`Verdict::Open`]);
//! - a refusal for another reason (quota, an unspecified error) says nothing about authors;
//! - a link that drops, a reconnect, a probe that could not be sent, or no answer within
//!   [`PROBE_TIMEOUT_MS`] leave it [`Verdict::NotKnown`], and the check runs again on the next
//!   connect.
//!
//! Under MQTT 3.1.1 a broker refuses a publish silently (it drops it, or closes the link),
//! and an echo that never comes proves nothing: a broker may acknowledge before it delivers,
//! and orders delivery per topic only. So no probe is sent and nothing is verified
//! ([`Verdict::NeedsMqtt5`]).
//!
//! Nothing is remembered across connections: each connection starts unverified until its
//! own check answers (a new connection may reach another broker of a list, or one whose ACL
//! changed).

use crate::connection::MqttVersion;

/// How long the probe may wait for its PUBACK before the check gives up ("not known").
pub const PROBE_TIMEOUT_MS: f64 = 10_000.0;
/// MQTT 5's reason code for a publish the broker's ACL denies.
pub const NOT_AUTHORIZED: u8 = 0x87;
/// The probe's payload: not JSON, so every tab ignores it as a status.
pub const PROBE_PAYLOAD: &[u8] = b"authorship probe";

/// What this tab knows about the broker and authors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not signed in: for all the tab knows, anyone may write any topic.
    Anonymous,
    /// MQTT 3.1.1 cannot prove it (refusals are silent).
    NeedsMqtt5,
    /// Not connected yet, or the probe is out and unanswered.
    Checking,
    /// The last check ended without an answer; it runs again on the next connect.
    NotKnown(Unknown),
    /// The broker refused a made-up author as not authorized: it checks authors.
    Pinned,
    /// The broker took a made-up author: anyone signed in may write any author's topics.
    Open,
}

/// Why a check ended without an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unknown {
    /// The link dropped before the broker answered.
    LinkLost,
    /// No answer within [`PROBE_TIMEOUT_MS`].
    TimedOut,
    /// The probe could not be published.
    NotSent,
    /// The broker refused the probe for another reason (its MQTT 5 reason code).
    Refused(u8),
}

impl Verdict {
    /// Rows and people may be shown verified: only on the broker's refusal.
    pub fn vouched(&self) -> bool {
        *self == Verdict::Pinned
    }

    /// A short name for the state (`data-state`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Anonymous => "anonymous",
            Verdict::NeedsMqtt5 => "needs-mqtt5",
            Verdict::Checking => "checking",
            Verdict::NotKnown(_) => "not-known",
            Verdict::Pinned => "pinned",
            Verdict::Open => "open",
        }
    }

    /// What the connection panel says.
    pub fn words(&self) -> String {
        match self {
            Verdict::Anonymous => {
                "Authors: not verified. Sign in to a broker that checks who writes \
                 each user's topics."
                    .into()
            }
            Verdict::NeedsMqtt5 => {
                "Authors: not verified. Verification needs MQTT 5: under 3.1.1 a \
                 broker refuses a message silently, so this tab cannot tell whether it checks \
                 authors."
                    .into()
            }
            Verdict::Checking => "Authors: checking whether this broker verifies them…".into(),
            Verdict::NotKnown(why) => {
                let why = match why {
                    Unknown::LinkLost => "the link dropped during the check".to_owned(),
                    Unknown::TimedOut => "the broker did not answer the check".to_owned(),
                    Unknown::NotSent => "the check could not be sent".to_owned(),
                    Unknown::Refused(code) => {
                        format!("the broker refused the check for another reason (code {code})")
                    }
                };
                format!("Authors: not verified ({why}); checked again on the next connect.")
            }
            Verdict::Pinned => "Authors: verified. This broker refused a made-up author, so a ✓ \
                 name was written by that user."
                .into(),
            Verdict::Open => "Authors: not verified. This broker lets anyone signed in write any \
                 user's topics."
                .into(),
        }
    }
}

/// The probe out on the current link.
#[derive(Clone, Debug)]
struct Probe {
    topic: String,
    /// Its packet id, once the client took it.
    pkid: Option<u16>,
    /// When it gives up.
    deadline: f64,
}

/// The authorship check of one tab (see the module docs).
#[derive(Clone, Debug)]
pub struct AuthorshipCheck {
    version: MqttVersion,
    signed_in: bool,
    verdict: Verdict,
    probe: Option<Probe>,
}

impl AuthorshipCheck {
    pub fn new(version: MqttVersion, signed_in: bool) -> Self {
        let verdict = match (signed_in, version) {
            (false, _) => Verdict::Anonymous,
            (true, MqttVersion::V311) => Verdict::NeedsMqtt5,
            (true, MqttVersion::V5) => Verdict::Checking,
        };
        AuthorshipCheck {
            version,
            signed_in,
            verdict,
            probe: None,
        }
    }

    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }

    pub fn vouched(&self) -> bool {
        self.verdict.vouched()
    }

    /// A link is up (a new one: any answer of an earlier link no longer counts). Returns the
    /// topic to publish [`PROBE_PAYLOAD`] on, at QoS 1, not retained, when a probe is due;
    /// `tab` is this tab's presence key (random and public) and `made_up` a fresh random user name.
    pub fn handle_connected(&mut self, now: f64, tab: &str, made_up: &str) -> Option<String> {
        if !self.signed_in || self.version != MqttVersion::V5 {
            return None;
        }
        let topic = crate::topics::presence_topic(tab, Some(&format!("probe-{made_up}")));
        self.verdict = Verdict::Checking;
        self.probe = Some(Probe {
            topic: topic.clone(),
            pkid: None,
            deadline: now + PROBE_TIMEOUT_MS,
        });
        Some(topic)
    }

    /// The client took the probe as packet `pkid`.
    pub fn handle_probe_sent(&mut self, pkid: u16) {
        if let Some(p) = &mut self.probe {
            p.pkid = Some(pkid);
        }
    }

    /// The probe could not be published.
    pub fn handle_probe_not_sent(&mut self) {
        if self.probe.take().is_some() {
            self.verdict = Verdict::NotKnown(Unknown::NotSent);
        }
    }

    /// A PUBACK on the current link: `refusal` is its reason code when 0x80 or more. Returns
    /// whether it answered the probe (then nothing else should read it).
    pub fn handle_puback(&mut self, pkid: u16, refusal: Option<u8>) -> bool {
        match &self.probe {
            Some(p) if p.pkid == Some(pkid) => {}
            _ => return false,
        }
        self.probe = None;
        self.verdict = match refusal {
            None => Verdict::Open,
            Some(NOT_AUTHORIZED) => Verdict::Pinned,
            Some(code) => Verdict::NotKnown(Unknown::Refused(code)),
        };
        true
    }

    /// A message arrived on `topic`. The probe coming back means the broker took a made-up
    /// author. Returns whether it was the probe (then nothing else should read it).
    pub fn handle_message(&mut self, topic: &str) -> bool {
        match &self.probe {
            Some(p) if p.topic == topic => {}
            _ => return false,
        }
        self.probe = None;
        self.verdict = Verdict::Open;
        true
    }

    /// The link dropped. A check under way ends "not known". Returns the probe's packet id
    /// for the client to abandon: it must not go out again on the next link, whose answer
    /// would then be read as if it were that link's.
    pub fn handle_link_lost(&mut self) -> Option<u16> {
        let probe = self.probe.take()?;
        self.verdict = Verdict::NotKnown(Unknown::LinkLost);
        probe.pkid
    }

    /// When [`AuthorshipCheck::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.probe.as_ref().map(|p| p.deadline)
    }

    /// Time passed. A probe unanswered past its deadline ends "not known"; returns its packet
    /// id for the client to abandon.
    pub fn handle_timeout(&mut self, now: f64) -> Option<u16> {
        match &self.probe {
            Some(p) if now >= p.deadline => {}
            _ => return None,
        }
        let probe = self.probe.take()?;
        self.verdict = Verdict::NotKnown(Unknown::TimedOut);
        probe.pkid
    }
}
