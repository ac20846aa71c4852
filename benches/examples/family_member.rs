//! Times novac on one member of the workload family (`scripts/bench/family.py`)
//! and prints one JSON line; the timings are the library's, in a fresh process.
//!
//! ```text
//! cargo run --release -p novac-benches --example family_member -- RULES PROMPTS.jsonl \
//!     [--min-seconds 1] [--no-floor] [--no-warm]
//! ```
//!
//! `RULES` is a `.nov` file or a directory (every `*.nov` below it);
//! `PROMPTS.jsonl` has one `{"prompt": "..."}` object per line. In order:
//! compile (check + build, `compile_s`), the first pass over every prompt
//! with a new `Scanner` (`first_pass_us`, per prompt: lazy automata and
//! caches fill here), timed warm passes until `--min-seconds` have elapsed
//! (`warm_us`), the peak RSS so far (`rss_kb`, VmHWM), and last the floor:
//! a bare Aho-Corasick DFA over the case-insensitive literals (`floor_us`;
//! built after the RSS is read, so it does not count there).
//!
//! Every timing has a `_cpu` twin: the CPU time of the thread (from
//! `/proc/thread-self/schedstat`), which a loaded machine disturbs less.
//!
//! Costs: the prompts are held in memory once; one pass of the floor and at
//! least `--min-seconds` of each timed loop.

use novac_benches::{case_insensitive_literals, compile_sources, read_rule_dir, LiteralFloor};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn read_prompts(path: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut prompts = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)?;
        prompts.push(
            v["prompt"]
                .as_str()
                .ok_or("a line without \"prompt\"")?
                .to_string(),
        );
    }
    Ok(prompts)
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// CPU time this thread has run, in seconds (`/proc/thread-self/schedstat`,
/// nanoseconds; 0 where it is missing). On a shared, loaded machine it
/// moves much less than wall-clock time.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
        })
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

/// Runs `pass` until `min_seconds` have elapsed; returns (passes, seconds, cpu seconds).
fn timed<F: FnMut() -> usize>(min_seconds: f64, mut pass: F) -> (usize, f64, f64) {
    let start = Instant::now();
    let cpu = cpu_s();
    let (mut passes, mut sink) = (0, 0usize);
    loop {
        sink = sink.wrapping_add(pass());
        passes += 1;
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed >= min_seconds {
            std::hint::black_box(sink);
            return (passes, elapsed, cpu_s() - cpu);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: family_member RULES PROMPTS.jsonl [--min-seconds S] [--no-floor] [--no-warm]";
    let mut positional = Vec::new();
    let (mut min_seconds, mut floor, mut warm) = (1.0f64, true, true);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--min-seconds" => min_seconds = it.next().ok_or(usage)?.parse()?,
            "--no-floor" => floor = false,
            "--no-warm" => warm = false,
            _ if a.starts_with("--") => return Err(format!("unknown option {a}\n{usage}").into()),
            _ => positional.push(PathBuf::from(a)),
        }
    }
    let [rules_path, prompts_path] = positional.as_slice() else {
        return Err(usage.into());
    };
    let files = if rules_path.is_dir() {
        read_rule_dir(rules_path)?
    } else {
        let text = String::from_utf8_lossy(&std::fs::read(rules_path)?).into_owned();
        vec![(rules_path.display().to_string(), text)]
    };
    let prompts = read_prompts(prompts_path)?;
    let n = prompts.len().max(1) as f64;
    let bytes: usize = prompts.iter().map(String::len).sum();
    let rss_before_compile = peak_rss_kb();

    let (t, cpu) = (Instant::now(), cpu_s());
    let (rules, refused) = compile_sources(&files)?;
    let compile_s = t.elapsed().as_secs_f64();
    let compile_cpu_s = cpu_s() - cpu;
    let rss_compiled = peak_rss_kb();

    let mut scanner = novac::Scanner::new(&rules);
    let (t, cpu) = (Instant::now(), cpu_s());
    let mut matched_prompts = 0usize;
    for p in &prompts {
        matched_prompts += usize::from(scanner.scan(p).is_match());
    }
    let first_pass_s = t.elapsed().as_secs_f64();
    let first_pass_cpu_s = cpu_s() - cpu;
    let (mut warm_us, mut warm_cpu_us, mut warm_passes) = (None, None, 0);
    if warm {
        let (passes, seconds, cpu) = timed(min_seconds, || {
            prompts.iter().map(|p| scanner.scan(p).rules.len()).sum()
        });
        warm_us = Some(seconds / (passes as f64 * n) * 1e6);
        warm_cpu_us = Some(cpu / (passes as f64 * n) * 1e6);
        warm_passes = passes;
    }
    let rss_kb = peak_rss_kb();

    let (mut floor_us, mut floor_cpu_us) = (None, None);
    let mut floor_literals = 0;
    if floor {
        let all: String = files
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let lits = case_insensitive_literals(&all);
        floor_literals = lits.len();
        if !lits.is_empty() {
            let f = LiteralFloor::new(&lits)?;
            let pass = || prompts.iter().map(|p| f.scan(p)).sum::<usize>();
            pass();
            let (passes, seconds, cpu) = timed(min_seconds.min(1.0), pass);
            floor_us = Some(seconds / (passes as f64 * n) * 1e6);
            floor_cpu_us = Some(cpu / (passes as f64 * n) * 1e6);
        }
    }
    let stats = rules.stats();
    let out = json!({
        "rules": rules.len(),
        "refused_sources": refused.len(),
        "prompts": prompts.len(),
        "bytes": bytes,
        "matched_prompts": matched_prompts,
        "compile_s": compile_s,
        "compile_cpu_s": compile_cpu_s,
        "first_pass_us": first_pass_s / n * 1e6,
        "first_pass_cpu_us": first_pass_cpu_s / n * 1e6,
        "warm_us": warm_us,
        "warm_cpu_us": warm_cpu_us,
        "floor_cpu_us": floor_cpu_us,
        "warm_passes": warm_passes,
        "floor_us": floor_us,
        "floor_literals": floor_literals,
        "rss_kb": rss_kb,
        "rss_compiled_kb": rss_compiled,
        "rss_start_kb": rss_before_compile,
        "stats": {
            "patterns": stats.patterns,
            "folded_literals": stats.folded_literals,
            "exact_literals": stats.exact_literals,
            "exact_regexes": stats.exact_regexes,
            "atom_regexes": stats.atom_regexes,
            "slow_regexes": stats.slow_regexes,
            "automaton_bytes": stats.automaton_bytes,
            "regex_bytes": stats.regex_bytes,
        },
    });
    println!("{out}");
    Ok(())
}
