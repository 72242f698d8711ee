//! Codec throughput in the browser: a measurement for `scripts/bench`, not a check.
//! `cargo test --release --target wasm32-unknown-unknown --test codec_bench -- --include-ignored`

use mqtt_core::workload::codec_run;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
#[ignore = "a measurement; scripts/bench runs it"]
fn codec_throughput_in_the_browser() {
    let perf = web_sys::window().unwrap().performance().unwrap();
    codec_run(10_000, || perf.now() / 1000.0); // warm-up
    let run = codec_run(100_000, || perf.now() / 1000.0);
    assert_eq!(run.decoded, run.packets);
    web_sys::console::log_1(
        &format!(
            "CODEC_BROWSER encode={:.0} decode={:.0} packets/s",
            run.encode_per_sec(),
            run.decode_per_sec()
        )
        .into(),
    );
}
