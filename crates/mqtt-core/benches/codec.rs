//! Codec throughput, natively: `cargo bench -p mqtt-core --bench codec`.

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

#[path = "shared/workload.rs"]
mod workload;

use workload::codec_run;

fn codec(c: &mut Criterion) {
    let n = 10_000;
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("encode+decode 10k chat publishes", |b| {
        let origin = Instant::now();
        b.iter(|| codec_run(n, || origin.elapsed().as_secs_f64()))
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
