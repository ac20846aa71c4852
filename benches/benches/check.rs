//! Front-end benchmarks: parse and check 1,000 generated rules.
//!
//! * `parse/{100,1000}_rules`: `novac_syntax::parse` on one source of 100 or
//!   1,000 generated rules (two sizes, to show how the cost scales).
//! * `check/{100,1000}_rules`: `Compiler::add_source` on the same source
//!   (parse + name resolution + checking + lints, no automaton build).
//!   Target: < 50 ms for 1,000 rules.
//!
//! Run with `cargo bench -p novac-benches --bench check`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

fn bench_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("frontend");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    for n in [100, 1000] {
        let source = novac_benches::rules_source(n);
        eprintln!("generated source: {n} rules, {} bytes", source.len());
        group.throughput(Throughput::Bytes(source.len() as u64));
        group.bench_function(format!("parse/{n}_rules"), |b| {
            b.iter(|| {
                let parsed = novac_syntax::parse(std::hint::black_box(&source));
                assert!(!parsed.has_errors());
                parsed.file.rules.len()
            })
        });
        group.bench_function(format!("check/{n}_rules"), |b| {
            b.iter(|| {
                let mut compiler = novac::Compiler::new();
                compiler
                    .add_source(std::hint::black_box(&source))
                    .map(|_| ())
                    .expect("generated rules check");
                compiler
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_check);
criterion_main!(benches);
