//! The browser side of the pacing policies in `chat::pace`: a timer at a wall-clock time.

/// Run `f` at wall-clock time `at` (ms since the epoch), or at once if that has passed.
pub(super) fn at_time(at: f64, f: impl FnOnce() + 'static) {
    let wait = (at - crate::browser::wall_clock_ms()).max(0.0) as u64;
    leptos::prelude::set_timeout(f, std::time::Duration::from_millis(wait));
}
