//! Rows per second of the Rust library on a prompt file: the baseline that
//! `scripts/bench/at_scale.py` compares `Rules.scan_arrow` with.
//!
//! ```text
//! cargo run --release -p novac-benches --example rows -- BUNDLE PROMPTS THREADS [PASSES]
//! ```
//!
//! `BUNDLE` is a compiled rule set (`novac compile`, `Rules.to_bytes()`),
//! `PROMPTS` a file with one JSON string per line (`null` lines are skipped,
//! like null rows). Each of `THREADS` threads scans its contiguous share of
//! the prompts with its own `novac::Scanner` (`try_scan`: the path
//! `scan_many` takes); the best of `PASSES` (default 3) passes is reported as
//! JSON: rows, seconds, rows_per_s, matched (prompts with a match).
//! Cost: the prompts are held in memory (about their file size).

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: rows BUNDLE PROMPTS THREADS [PASSES]";
    let [bundle, prompts, threads, rest @ ..] = args.as_slice() else {
        return Err(usage.into());
    };
    let threads: usize = threads.parse::<usize>()?.max(1);
    let passes: usize = rest.first().map_or(Ok(3), |p| p.parse())?;
    let rules = novac::Rules::deserialize(&std::fs::read(bundle)?)?;
    let text = std::fs::read_to_string(prompts)?;
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(s) = serde_json::from_str::<Option<String>>(line)? {
            rows.push(s);
        }
    }
    let share = rows.len().div_ceil(threads).max(1);
    let mut best = f64::INFINITY;
    let mut matched = 0usize;
    for _ in 0..passes.max(1) {
        let start = Instant::now();
        let counts: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = rows
                .chunks(share)
                .map(|part| {
                    let rules = &rules;
                    s.spawn(move || {
                        let mut scanner = novac::Scanner::new(rules);
                        part.iter()
                            .filter(|p| scanner.try_scan(p).is_ok_and(|r| r.is_match()))
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
        });
        best = best.min(start.elapsed().as_secs_f64());
        matched = counts.iter().sum();
    }
    println!(
        "{}",
        serde_json::json!({
            "rows": rows.len(),
            "threads": threads,
            "seconds": best,
            "rows_per_s": rows.len() as f64 / best,
            "matched": matched,
        })
    );
    Ok(())
}
