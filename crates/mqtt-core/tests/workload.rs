//! The benchmarks' shared codec workload measures what it claims: every packet it encodes
//! comes out of the session as a message.

#[path = "../benches/shared/workload.rs"]
mod workload;

#[test]
fn every_encoded_packet_is_decoded() {
    let run = workload::codec_run(1000, || 0.0);
    assert_eq!(run.packets, 1000);
    assert_eq!(run.decoded, 1000);
}
