//! Pacing policies, pure and on a virtual clock (times in ms):
//! - [`RenderThrottle`]: renders of the table (and the room and people lists), at most one
//!   a frame (FIELD.md #10). The first change renders at once, so a lone message shows
//!   without delay; the changes of a burst that follow within the same frame are shown
//!   together by one render at the end of it.
//! - [`Announcer`]: what a screen reader is told of new messages, a burst as one line.
//! - [`Wake`]: one timer for the earliest deadline of a policy.

#[derive(Debug, Default)]
pub struct RenderThrottle {
    last: Option<f64>,
    scheduled: bool,
}

/// What to do about a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Render {
    Now,
    After(u64),
    AlreadyScheduled,
}

/// One frame at 60 Hz.
pub const FRAME_MS: f64 = 16.0;

impl RenderThrottle {
    pub fn request(&mut self, now: f64) -> Render {
        if self.scheduled {
            return Render::AlreadyScheduled;
        }
        match self.last {
            Some(last) if now - last < FRAME_MS => {
                self.scheduled = true;
                Render::After((FRAME_MS - (now - last)).ceil() as u64)
            }
            _ => {
                self.last = Some(now);
                Render::Now
            }
        }
    }

    pub fn rendered(&mut self, now: f64) {
        self.scheduled = false;
        self.last = Some(now);
    }
}

/// Screen reader announcements of new messages in the open room. They gather for a second:
/// a lone message is read as it is ("Ann: hello"), several as one summary ("12 new
/// messages, the last from Ann"), so a burst is not read out line by line.
#[derive(Debug, Default)]
pub struct Announcer {
    pending: u32,
    last: Option<(String, String)>,
}

/// How long announcements gather before they are read.
pub const ANNOUNCE_MS: u64 = 1_000;

/// Longest message text read out.
const ANNOUNCE_CHARS: usize = 200;

impl Announcer {
    /// A message came: true if a flush must be scheduled (none is pending).
    pub fn add(&mut self, name: &str, text: &str) -> bool {
        self.pending += 1;
        self.last = Some((name.to_owned(), text.to_owned()));
        self.pending == 1
    }

    /// The words to say now.
    pub fn flush(&mut self) -> Option<String> {
        let n = std::mem::take(&mut self.pending);
        let (name, text) = self.last.take()?;
        Some(match n {
            0 => return None,
            1 => {
                let text: String = text.chars().take(ANNOUNCE_CHARS).collect();
                format!("{name}: {text}")
            }
            n => format!("{n} new messages, the last from {name}"),
        })
    }
}

/// One timer for the earliest deadline of a policy (a grace, a trailing publish, an
/// answer's delay): a new one is set only when none is set for that moment or earlier.
#[derive(Debug, Default)]
pub struct Wake {
    at: Option<f64>,
}

impl Wake {
    /// The policy's next deadline is `at`: true if a timer must be set for it.
    pub fn arm(&mut self, at: f64) -> bool {
        match self.at {
            Some(t) if t <= at => false,
            _ => {
                self.at = Some(at);
                true
            }
        }
    }

    /// The timer ran.
    pub fn fired(&mut self) {
        self.at = None;
    }
}
