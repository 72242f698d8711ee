//! The keep-alive policy under the timer throttling of a hidden Chrome tab, on a virtual
//! clock: timers fire only on whole minutes, as with Chrome's intensive throttling.

use std::time::Duration;

use bytes::BytesMut;
use mqtt_core::{Client, Event, Instant, Options};
use mqttbytes::v4::{self, ConnAck, ConnectReturnCode, Packet};

/// Chrome's intensive throttling: a hidden tab's chained timers wake at most once a minute,
/// aligned to the minute.
fn throttled(deadline: Instant) -> Instant {
    let minute = 60_000;
    Instant::from_millis(deadline.as_millis().div_ceil(minute) * minute)
}

/// Runs a connected client for `minutes` with throttled timers and a broker that answers
/// every PINGREQ after 20 ms. Returns the longest silence the broker saw from the client,
/// and whether the client stayed connected.
fn run_hidden(options: Options, minutes: u64) -> (Duration, bool) {
    let mut c = Client::new(options);
    let mut now = Instant::from_millis(1);
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
    while now < end {
        while let Some(bytes) = c.poll_transmit() {
            longest = longest.max(now.saturating_duration_since(last_heard));
            last_heard = now;
            let mut buf = BytesMut::from(&bytes[..]);
            if let Ok(Packet::PingReq) = v4::read(&mut buf, 1024) {
                let reply = now + Duration::from_millis(20);
                c.handle_bytes(reply, &[0xD0, 0x00]); // PINGRESP (network events are not throttled)
            }
        }
        while let Some(event) = c.poll_event() {
            if let Event::Disconnected(_) = event {
                connected = false;
            }
        }
        let Some(deadline) = c.poll_timeout() else {
            break;
        };
        now = throttled(deadline).max(now + Duration::from_millis(1));
        c.handle_timeout(now);
    }
    (
        longest.max(end.saturating_duration_since(last_heard)),
        connected,
    )
}

#[test]
fn default_keep_alive_survives_ten_minutes_of_minute_aligned_timers() {
    let options = Options::new("hidden-tab");
    let broker_limit = options.keep_alive.mul_f64(1.5);
    let (longest, connected) = run_hidden(options.clone(), 10);
    assert!(connected, "the client never gave up on the link");
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
    let broker_limit = options.keep_alive.mul_f64(1.5);
    let (longest, _) = run_hidden(options, 10);
    assert!(longest > broker_limit, "{longest:?}");
}
