//! Scans one exported workload a fixed number of times, for instruction
//! counts (`perf stat -e instructions:u`, `valgrind --tool=callgrind`),
//! which are repeatable on a busy machine where wall-clock time is not.
//! `--toggle-collect=scanloop::timed_pass` counts the passes after the
//! warm-up only.
//!
//! ```text
//! cargo run --release -p novac-benches --example scanloop -- OUTDIR WORKLOAD PASSES [--rules-dir DIR] [--prompts N]
//! ```
//!
//! `WORKLOAD` is `public_{en,ru,zh}` or `gen_{10,100,1000}`. One untimed
//! warm-up pass runs first (so `PASSES = 0` measures compile and warm-up:
//! subtract it). Prints the number of matched results, so the work is not
//! optimised away.

use novac_benches::{compile_sources, public_rules_dir, read_rule_dir};
use serde_json::Value;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: scanloop OUTDIR WORKLOAD PASSES [--rules-dir DIR] [--prompts N]";
    let (dir, workload, passes) = match args.as_slice() {
        [d, w, p, ..] => (PathBuf::from(d), w.as_str(), p.parse::<usize>()?),
        _ => return Err(usage.into()),
    };
    let rules_dir = match args.iter().position(|a| a == "--rules-dir") {
        Some(i) => PathBuf::from(args.get(i + 1).ok_or(usage)?),
        None => public_rules_dir(),
    };
    let (files, prompts_file) = if let Some(lang) = workload.strip_prefix("public_") {
        (
            read_rule_dir(&rules_dir)?,
            dir.join(format!("prompts_{lang}.jsonl")),
        )
    } else if let Some(n) = workload.strip_prefix("gen_") {
        let file = dir.join(format!("rules_{n}.nov"));
        let text = std::fs::read_to_string(&file)?;
        (
            vec![(file.display().to_string(), text)],
            dir.join("prompts.jsonl"),
        )
    } else {
        return Err(usage.into());
    };
    let limit = match args.iter().position(|a| a == "--prompts") {
        Some(i) => args.get(i + 1).ok_or(usage)?.parse::<usize>()?,
        None => usize::MAX,
    };
    let mut prompts = Vec::new();
    for line in std::fs::read_to_string(prompts_file)?.lines() {
        if let Some(p) = serde_json::from_str::<Value>(line)?["prompt"].as_str() {
            prompts.push(p.to_string());
        }
        if prompts.len() >= limit {
            break;
        }
    }
    let (rules, _) = compile_sources(&files)?;
    let mut scanner = novac::Scanner::new(&rules);
    let mut total = scan_all(&mut scanner, &prompts);
    for _ in 0..passes {
        total += timed_pass(&mut scanner, &prompts);
    }
    println!("{total}");
    Ok(())
}

fn scan_all(scanner: &mut novac::Scanner<'_>, prompts: &[String]) -> usize {
    prompts.iter().map(|p| scanner.scan(p).rules.len()).sum()
}

/// One pass after the warm-up, a function of its own so that callgrind can
/// count just these (`--toggle-collect=scanloop::timed_pass`), without the
/// compile and the lazily built regexes of the warm-up.
#[inline(never)]
fn timed_pass(scanner: &mut novac::Scanner<'_>, prompts: &[String]) -> usize {
    scan_all(scanner, prompts)
}
