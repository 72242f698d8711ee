//! The codec workload the benchmarks share (criterion natively, `scripts/bench` in the
//! browser): encode chat PUBLISH packets, then decode them through a connected session's
//! receive path. The caller passes the clock, so the same code runs in both places.
//!
//! Not part of mqtt-core's API: each user includes this file as a module,
//! `#[path = ".../crates/mqtt-core/benches/shared/workload.rs"] mod workload;`
//! (benches/codec.rs, tests/workload.rs, the app's tests/codec_bench.rs and
//! crates/e2e/src/bin/bench.rs). It uses only mqtt-core's public API, mqttbytes and bytes.

// Each includer uses a different part of it.
#![allow(dead_code)]

use bytes::BytesMut;
use mqttbytes::v4::{ConnAck, ConnectReturnCode, Publish};
use mqttbytes::QoS;

use mqtt_core::{Client, Event, Instant, Options};

/// Seconds spent encoding and decoding `n` packets, and how many messages came out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CodecRun {
    pub packets: usize,
    pub encode_secs: f64,
    pub decode_secs: f64,
    pub decoded: usize,
}

impl CodecRun {
    pub fn encode_per_sec(&self) -> f64 {
        self.packets as f64 / self.encode_secs
    }

    pub fn decode_per_sec(&self) -> f64 {
        self.decoded as f64 / self.decode_secs
    }
}

/// Encode `n` QoS 1 chat publishes into one buffer, then feed it to a session in 4 KiB
/// frames (as a WebSocket would) and count the messages. `now_secs` is any clock in seconds.
pub fn codec_run(n: usize, now_secs: impl Fn() -> f64) -> CodecRun {
    let payload = br#"{"name":"bench","message":"a typical chat line of some forty bytes","id":"0123456789abcdef01234567"}"#;
    let start = now_secs();
    let mut wire = BytesMut::with_capacity(n * (payload.len() + 20));
    for i in 0..n {
        let mut p = Publish::new("messages", QoS::AtLeastOnce, payload.to_vec());
        p.pkid = (i % 65_535) as u16 + 1;
        let _ = p.write(&mut wire);
    }
    let encode_secs = now_secs() - start;

    let t = Instant::from_millis(1);
    let mut client = Client::new(Options::new("bench"));
    client.handle_open(t);
    let mut ack = BytesMut::new();
    let _ = ConnAck::new(ConnectReturnCode::Success, false).write(&mut ack);
    client.handle_bytes(t, &ack);
    let start = now_secs();
    let mut decoded = 0;
    for frame in wire.chunks(4096) {
        client.handle_bytes(t, frame);
        while client.poll_transmit().is_some() {}
        while let Some(event) = client.poll_event() {
            if let Event::Message(_) = event {
                decoded += 1;
            }
        }
    }
    CodecRun {
        packets: n,
        encode_secs,
        decode_secs: now_secs() - start,
        decoded,
    }
}
