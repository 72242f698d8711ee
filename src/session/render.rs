//! Renders of the table, at most one a frame (FIELD.md #10). The first change renders at
//! once, so a lone message shows without delay; the changes of a burst that follow within
//! the same frame are shown together by one render at the end of it.

#[derive(Debug, Default)]
pub(super) struct RenderThrottle {
    last: Option<f64>,
    scheduled: bool,
}

pub(super) enum Render {
    Now,
    After(u64),
    AlreadyScheduled,
}

/// One frame at 60 Hz.
const FRAME_MS: f64 = 16.0;

impl RenderThrottle {
    pub(super) fn request(&mut self, now: f64) -> Render {
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

    pub(super) fn rendered(&mut self, now: f64) {
        self.scheduled = false;
        self.last = Some(now);
    }
}
