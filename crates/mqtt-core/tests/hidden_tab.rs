//! The keep-alive policy under the timer throttling of a hidden Chrome tab, on a virtual
//! clock: timers fire only on whole minutes, as with Chrome's intensive throttling, and the
//! broker drops a client that stays silent for more than 1.5 × keep-alive.

use std::time::Duration;

use bytes::BytesMut;
use mqtt_core::{Client, Event, Instant, Options};
use mqttbytes::v4::{self, ConnAck, ConnectReturnCode, Packet};

const MINUTE: u64 = 60_000;

/// How long after minute `k` the woken tab gets to run its timers: 0 to 99 ms, varying from
/// minute to minute (a busy renderer, other tabs' tasks first).
fn wake_delay(k: u64) -> u64 {
    k.wrapping_mul(2_654_435_761) % 100
}

/// Chrome's intensive throttling: a hidden tab's chained timers wake at most once a minute,
/// aligned to the minute, and run a little after it (`wake_delay`).
fn throttled(deadline: Instant) -> Instant {
    let ms = deadline.as_millis();
    let mut k = ms / MINUTE;
    while k * MINUTE + wake_delay(k) < ms {
        k += 1;
    }
    Instant::from_millis(k * MINUTE + wake_delay(k))
}

/// What the broker saw of one hidden tab.
struct Run {
    /// The longest time the broker heard nothing from the client.
    longest_silence: Duration,
    /// Still connected at the end: no ping timed out and the broker did not drop it.
    connected: bool,
}

/// Runs a client that connects at `start` (a network event: not throttled) for `minutes`
/// with throttled timers, against a broker that answers every PINGREQ at once and applies
/// MQTT's keep-alive rule (MQTT-3.1.2-24): a client silent for more than 1.5 × keep-alive
/// is disconnected. The broker then stops answering, and the client sees its link close.
fn run_hidden(options: Options, start: Instant, minutes: u64) -> Run {
    let broker_limit = options.keep_alive.mul_f64(1.5);
    let mut c = Client::new(options);
    let mut now = start;
    c.handle_open(now);
    let mut ack = BytesMut::new();
    ConnAck::new(ConnectReturnCode::Success, false)
        .write(&mut ack)
        .unwrap();
    c.handle_bytes(now, &ack);
    let mut last_heard = now;
    let mut longest = Duration::ZERO;
    let mut connected = true;
    let end = now + Duration::from_secs(minutes * 60);
    loop {
        while let Some(bytes) = c.poll_transmit() {
            longest = longest.max(now.saturating_duration_since(last_heard));
            last_heard = now;
            let mut buf = BytesMut::from(&bytes[..]);
            if let Ok(Packet::PingReq) = v4::read(&mut buf, 1024) {
                c.handle_bytes(now, &[0xD0, 0x00]); // PINGRESP (network events are not throttled)
            }
        }
        while let Some(event) = c.poll_event() {
            if let Event::Disconnected(_) = event {
                connected = false;
            }
        }
        if !connected || now >= end {
            break;
        }
        // The client's next wake-up, as Chrome throttles it, or the end of the run.
        let wake = c.poll_timeout().map_or(end, throttled).min(end);
        if wake.saturating_duration_since(last_heard) > broker_limit {
            // The broker gives up before the client speaks again: it closes the link.
            longest = longest.max(broker_limit + Duration::from_millis(1));
            c.handle_close("the broker closed the connection: keep-alive exceeded");
            now = last_heard + broker_limit;
            continue;
        }
        now = wake.max(now + Duration::from_millis(1));
        c.handle_timeout(now);
    }
    Run {
        longest_silence: longest.max(end.saturating_duration_since(last_heard)),
        connected,
    }
}

/// Runs `options` from every connect time in the first three minutes, 10 ms apart, for ten
/// minutes each. Returns the first run the broker dropped, if any, and the longest silence
/// over all runs.
fn sweep(options: &Options) -> (Option<Instant>, Duration) {
    let mut dropped = None;
    let mut longest = Duration::ZERO;
    for start in (1..3 * MINUTE).step_by(10).map(Instant::from_millis) {
        let run = run_hidden(options.clone(), start, 10);
        longest = longest.max(run.longest_silence);
        if !run.connected && dropped.is_none() {
            dropped = Some(start);
        }
    }
    (dropped, longest)
}

#[test]
fn default_keep_alive_survives_ten_minutes_of_minute_aligned_timers() {
    let options = Options::new("hidden-tab");
    let broker_limit = options.keep_alive.mul_f64(1.5);
    let (dropped, longest) = sweep(&options);
    assert_eq!(
        dropped, None,
        "the client lost the link (a ping timed out or the broker dropped it) when it connected at this time"
    );
    assert!(
        longest + Duration::from_secs(45) <= broker_limit,
        "longest silence {longest:?} leaves under 45 s margin to the broker's {broker_limit:?}"
    );
}

#[test]
fn a_short_keep_alive_would_not_survive_the_same_throttling() {
    // The control: with a 30 s keep-alive, pings due after 15 s fire up to a minute late,
    // past the broker's 45 s limit. The policy test above is only meaningful if this fails.
    let options = Options {
        keep_alive: Duration::from_secs(30),
        ..Options::new("hidden-tab")
    };
    let run = run_hidden(options, Instant::from_millis(1), 10);
    assert!(!run.connected, "the broker dropped the client");
}

#[test]
fn a_one_minute_keep_alive_has_no_margin_left_for_a_late_wake_up() {
    // Another control: a ping due 30 s after a send just past the half minute misses the
    // next wake-up and waits for the one after: up to 90 s plus the wake-up delay, past the
    // broker's 90 s limit.
    let options = Options {
        keep_alive: Duration::from_secs(60),
        ..Options::new("hidden-tab")
    };
    let (dropped, longest) = sweep(&options);
    assert!(
        dropped.is_some(),
        "never dropped; longest silence {longest:?}"
    );
}
