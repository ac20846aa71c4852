//! Scan time with and without decoded views ([`novac::ScanOptions::decode`]):
//! compiles the rules once, then scans the prompts of a JSONL file (`prompt`
//! field) in rounds, alternating decode off and on, on one thread. Prints
//! one JSON line: the fastest and the median round per prompt, in µs, and
//! how many prompts matched, for each side. Driven by `scripts/bench/decode.py`.
//!
//! ```sh
//! cargo run --release -p novac --example decode_bench -- RULES PROMPTS.jsonl [ROUNDS]
//! ```

use novac::decode::DecodeLimits;
use novac::{Compiler, ScanOptions, Scanner};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: decode_bench RULES PROMPTS.jsonl [ROUNDS]";
    let rules_path = args.next().ok_or(usage)?;
    let prompts_path = args.next().ok_or(usage)?;
    let rounds: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(5);
    let mut compiler = Compiler::new();
    // Semantic rules fail closed (no model), as in `novac scan` without one.
    compiler.allow_missing_model(true);
    compiler.add_path(&rules_path)?;
    let rules = compiler.build()?;
    let prompts: Vec<String> = std::fs::read_to_string(&prompts_path)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)?;
            Ok(v["prompt"].as_str().unwrap_or_default().to_string())
        })
        .collect::<Result<_, serde_json::Error>>()?;
    let n = prompts.len().max(1) as f64;
    let mut scanners = [false, true].map(|decode| {
        Scanner::new(&rules).options(ScanOptions {
            decode: decode.then(DecodeLimits::default),
            ..Default::default()
        })
    });
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut matched = [0usize; 2];
    // One warm-up round per side, then the timed rounds, alternating.
    for round in 0..=rounds {
        for (side, scanner) in scanners.iter_mut().enumerate() {
            let start = Instant::now();
            let mut hits = 0;
            for p in &prompts {
                hits += usize::from(scanner.scan(p).is_match());
            }
            let us = start.elapsed().as_secs_f64() * 1e6 / n;
            matched[side] = hits;
            if round > 0 {
                times[side].push(us);
            }
        }
    }
    let stats = |t: &mut Vec<f64>| {
        t.sort_by(f64::total_cmp);
        (
            t.first().copied().unwrap_or(0.0),
            t.get(t.len() / 2).copied().unwrap_or(0.0),
        )
    };
    let (off_min, off_median) = stats(&mut times[0]);
    let (on_min, on_median) = stats(&mut times[1]);
    println!(
        "{}",
        serde_json::json!({
            "prompts": prompts.len(),
            "off_min_us": off_min, "off_median_us": off_median,
            "on_min_us": on_min, "on_median_us": on_median,
            "matched_off": matched[0], "matched_on": matched[1],
        })
    );
    Ok(())
}
