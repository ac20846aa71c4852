//! Compiled bundles: how long loading 1,000 compiled rules takes, beside
//! compiling them from source.
//!
//! * `bundle/load/{100,1000}_rules`: [`novac::Rules::deserialize`] of a bundle
//!   of the generated rules (header + checksum, decoding, rebuilding the
//!   keyword engine and the condition bytecode; not dropping it). Target:
//!   < 20 ms for 1,000.
//! * `bundle/serialize/1000_rules`: [`novac::Rules::serialize`].
//! * `bundle/compile/1000_rules`: check + build of the same rules from source
//!   (what loading a bundle replaces).
//!
//! Run with `cargo bench -p novac-benches --bench bundle`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;

fn compile(source: &str) -> novac::Rules {
    novac::Compiler::new()
        .allow_missing_model(true)
        .add_source(source)
        .expect("generated rules check")
        .build()
        .expect("generated rules build")
}

fn bench_bundle(c: &mut Criterion) {
    let mut group = c.benchmark_group("bundle");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    for n in [100, 1000] {
        let source = novac_benches::rules_source(n);
        let rules = compile(&source);
        let bytes = rules.serialize().expect("serializes");
        eprintln!(
            "{n} rules: source {} bytes, bundle {} bytes",
            source.len(),
            bytes.len()
        );
        group.bench_function(format!("load/{n}_rules"), |b| {
            // Dropping the loaded rules (about a tenth as long again) is not loading.
            b.iter_with_large_drop(|| {
                novac::Rules::deserialize(std::hint::black_box(&bytes)).expect("loads")
            })
        });
        if n == 1000 {
            group.bench_function(format!("serialize/{n}_rules"), |b| {
                b.iter(|| rules.serialize().expect("serializes"))
            });
            group.sample_size(10);
            group.bench_function(format!("compile/{n}_rules"), |b| {
                b.iter(|| compile(std::hint::black_box(&source)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_bundle);
criterion_main!(benches);
