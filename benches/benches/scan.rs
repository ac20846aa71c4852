//! Scan and compile benchmarks.
//!
//! * `public/{en,ru,zh}`: the public rules (every `*.nov` below
//!   `../shared/corpus/nova-rules` from the workspace root, or
//!   `$NOVAC_PUBLIC_RULES`) over 2 KB prompts; skipped with a message when
//!   the directory is absent.
//! * `generated/{10,100,1000}`: generated rule sets over a fixed slice of
//!   ~1.3 KB English prompts.
//! * `floor/...`: the same prompts through a bare Aho-Corasick DFA over the
//!   same case-insensitive literals (overlapping search, no regexes, no
//!   conditions) — the lower bound for keyword matching.
//! * `compile/1000_rules`: `Compiler::build` of 1,000 checked rules.
//!
//! Every scan benchmark times **one prompt per iteration**, cycling through
//! its prompt slice, so criterion's time is per prompt and its throughput
//! (the slice's mean prompt size) is in bytes.
//!
//! Run with `cargo bench -p novac-benches --bench scan`.

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput,
};
use novac_benches::{
    case_insensitive_literals, compile_sources, english_prompts, generate_rules, language_prompts,
    public_rules_dir, read_rule_dir, rules_source, Lang, LiteralFloor, RULE_SET_SIZES, SEED,
};
use std::time::Duration;

/// Prompts per slice in the generated-rules benchmarks.
const PROMPT_SLICE: usize = 1000;
/// Prompts per language in the public-rules benchmarks.
const LANG_PROMPTS: usize = 200;

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(2));
}

fn mean_len(prompts: &[String]) -> u64 {
    (prompts.iter().map(String::len).sum::<usize>() / prompts.len().max(1)) as u64
}

/// Benchmarks `scan` over `prompts`, one prompt per iteration.
fn bench_prompts<F: FnMut(&str) -> usize>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    prompts: &[String],
    mut scan: F,
) {
    group.throughput(Throughput::Bytes(mean_len(prompts)));
    let mut i = 0usize;
    group.bench_function(id, |b| {
        b.iter(|| {
            let p = &prompts[i % prompts.len()];
            i = i.wrapping_add(1);
            scan(std::hint::black_box(p))
        })
    });
}

fn compile(source: &str) -> novac::Rules {
    let mut c = novac::Compiler::new();
    c.add_source(source).map(|_| ()).expect("rules check");
    c.allow_missing_model(true).build().expect("rules build")
}

fn bench_public(c: &mut Criterion) {
    let dir = public_rules_dir();
    let files = match read_rule_dir(&dir) {
        Ok(files) if !files.is_empty() => files,
        _ => {
            eprintln!(
                "public rules not found at {} (set NOVAC_PUBLIC_RULES); skipping public/*",
                dir.display()
            );
            return;
        }
    };
    let (rules, refused) = compile_sources(&files).expect("public rules build");
    for r in &refused {
        eprintln!("public rules: novac refuses {r}");
    }
    eprintln!("public rules: {} files, {:?}", files.len(), rules.stats());
    let all: String = files
        .iter()
        .map(|(_, t)| t.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let floor = LiteralFloor::new(&case_insensitive_literals(&all)).expect("floor automaton");

    let mut group = c.benchmark_group("public");
    configure(&mut group);
    for lang in Lang::ALL {
        let prompts = language_prompts(lang, LANG_PROMPTS, 2048, SEED);
        let mut scanner = novac::Scanner::new(&rules);
        bench_prompts(
            &mut group,
            &format!("novac/{}", lang.code()),
            &prompts,
            |p| scanner.scan(p).rules.len(),
        );
        bench_prompts(
            &mut group,
            &format!("floor/{}", lang.code()),
            &prompts,
            |p| floor.scan(p),
        );
    }
    group.finish();
}

fn bench_generated(c: &mut Criterion) {
    let all_rules = generate_rules(1000, SEED);
    let prompts = english_prompts(PROMPT_SLICE, SEED, &all_rules);
    let mut group = c.benchmark_group("generated");
    configure(&mut group);
    for n in RULE_SET_SIZES {
        let source = rules_source(n);
        let rules = compile(&source);
        let floor =
            LiteralFloor::new(&case_insensitive_literals(&source)).expect("floor automaton");
        let mut scanner = novac::Scanner::new(&rules);
        let matched = prompts
            .iter()
            .filter(|p| scanner.scan(p).is_match())
            .count();
        eprintln!(
            "generated {n}: {:?}; {matched}/{} prompts match; floor {} literals, {} bytes",
            rules.stats(),
            prompts.len(),
            floor.len(),
            floor.memory_usage()
        );
        bench_prompts(&mut group, &format!("novac/{n}_rules"), &prompts, |p| {
            scanner.scan(p).rules.len()
        });
        bench_prompts(&mut group, &format!("floor/{n}_rules"), &prompts, |p| {
            floor.scan(p)
        });
    }
    group.finish();
}

fn bench_compile(c: &mut Criterion) {
    let source = rules_source(1000);
    let mut group = c.benchmark_group("compile");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("build/1000_rules", |b| {
        b.iter_batched(
            || {
                let mut c = novac::Compiler::new();
                c.add_source(&source).map(|_| ()).expect("rules check");
                c
            },
            |mut c| c.allow_missing_model(true).build().expect("rules build"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_public, bench_generated, bench_compile);
criterion_main!(benches);
