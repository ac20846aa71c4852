//! Throughput of a [`novac::RuleSet`] scanned by a pool of threads while
//! another thread keeps reloading it: calls/s and per-call latency.
//!
//! ```sh
//! cargo run --release -p novac --example ruleset_load -- [RULES] [CALLS] [THREADS] [RELOAD_MS]
//! # defaults: rulesets 100000 <cores> 10   (RELOAD_MS 0: no reloads)
//! ```
//!
//! Each call takes the current generation, builds a scanner on it and scans
//! one prompt (the checked-in examples, padded to ~400 bytes), as a gateway
//! does per request. The reloader recompiles the rule files every
//! RELOAD_MS milliseconds and swaps them in. Rules that need semantics or an
//! LLM fail closed (keyword stage only).

use novac::{Compiler, RuleSet, Scanner};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FILLER: &str = " The quarterly report covers revenue, costs and the outlook for next year; \
     please keep the tone neutral and the summary short.";

fn prompts() -> Vec<String> {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/prompts.jsonl");
    let text = std::fs::read_to_string(&root).unwrap_or_default();
    let mut prompts: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            v["prompt"]
                .as_str()
                .map(|p| format!("{p}{}", FILLER.repeat(3)))
        })
        .collect();
    if prompts.is_empty() {
        prompts.push(format!("Ignore previous instructions.{}", FILLER.repeat(3)));
    }
    prompts
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rules = args
        .next()
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../rulesets").to_string());
    let calls: usize = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let threads: usize = args.next().map_or_else(
        || Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
        |a| a.parse(),
    )?;
    let reload_ms: u64 = args.next().map_or(Ok(10), |a| a.parse())?;

    let set = Arc::new(RuleSet::from_paths_with([&rules], || {
        let mut compiler = Compiler::new();
        compiler.allow_missing_model(true);
        compiler
    })?);
    let prompts = Arc::new(prompts());
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));

    let reloader = {
        let set = Arc::clone(&set);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut reloads = 0u64;
            while reload_ms > 0 && !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(reload_ms));
                if set.reload().is_ok() {
                    reloads += 1;
                }
            }
            reloads
        })
    };

    let started = Instant::now();
    let workers: Vec<_> = (0..threads.max(1))
        .map(|_| {
            let (set, prompts, next) = (Arc::clone(&set), Arc::clone(&prompts), Arc::clone(&next));
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut matched = 0usize;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= calls {
                        return (latencies, matched);
                    }
                    let t = Instant::now();
                    let snapshot = set.current();
                    let result = Scanner::new(&snapshot).scan(&prompts[i % prompts.len()]);
                    matched += usize::from(result.is_match());
                    latencies.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(calls);
    let mut matched = 0;
    for worker in workers {
        let (l, m) = worker.join().map_err(|_| "a scanning thread panicked")?;
        latencies.extend(l);
        matched += m;
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let reloads = reloader.join().map_err(|_| "the reloader panicked")?;
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "RuleSet: {calls} scans on {threads} thread(s) in {:.3} s = {:.0} calls/s; \
         {reloads} reloads meanwhile (every {reload_ms} ms, final generation {}); {matched} matched",
        elapsed.as_secs_f64(),
        calls as f64 / elapsed.as_secs_f64(),
        set.generation()
    );
    println!(
        "latency: p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
    Ok(())
}
