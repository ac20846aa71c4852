//! Times novac on the exported workloads (single thread) and prints JSON.
//!
//! ```text
//! cargo run --release -p novac-benches --example timing -- OUTDIR \
//!     [--rules-dir DIR] [--only gen_1000,public_en] [--min-seconds 2] [--verdicts 200]
//! ```
//!
//! `OUTDIR` is what the `export` example wrote. Workloads:
//! `public_{en,ru,zh}` (the public rules from `--rules-dir`, default
//! `../shared/corpus/nova-rules` from the workspace root, over
//! `prompts_{lang}.jsonl`), `gen_{10,100,1000}` (`rules_N.nov` over
//! `prompts.jsonl`) and `compile_1000` (check + build of `rules_1000.nov`).
//!
//! For each scan workload: one untimed warm-up pass over every prompt (which
//! also records verdicts), then timed passes until `--min-seconds` have
//! elapsed; the same for the floor (a bare Aho-Corasick DFA over the
//! case-insensitive literals). The first `--verdicts` prompts' matched rule
//! names go to `OUTDIR/novac_verdicts_<workload>.jsonl` for comparison with
//! the reference. `peak_rss_kb` is the process's high-water mark (VmHWM)
//! after each workload; run one workload alone (`--only`) to attribute it.

use novac_benches::{
    case_insensitive_literals, compile_sources, public_rules_dir, read_rule_dir, LiteralFloor,
    RULE_SET_SIZES,
};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

struct Args {
    dir: PathBuf,
    rules_dir: PathBuf,
    only: Option<Vec<String>>,
    min_seconds: f64,
    verdicts: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut args = Args {
        dir: PathBuf::new(),
        rules_dir: public_rules_dir(),
        only: None,
        min_seconds: 2.0,
        verdicts: 200,
    };
    let mut dir = None;
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--rules-dir" => args.rules_dir = value("--rules-dir")?.into(),
            "--only" => args.only = Some(value("--only")?.split(',').map(str::to_string).collect()),
            "--min-seconds" => {
                args.min_seconds = value("--min-seconds")?
                    .parse()
                    .map_err(|e| format!("--min-seconds: {e}"))?
            }
            "--verdicts" => {
                args.verdicts = value("--verdicts")?
                    .parse()
                    .map_err(|e| format!("--verdicts: {e}"))?
            }
            _ if a.starts_with("--") => return Err(format!("unknown option {a}")),
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    args.dir = dir.ok_or(
        "usage: timing OUTDIR [--rules-dir DIR] [--only W1,W2] [--min-seconds S] [--verdicts N]",
    )?;
    Ok(args)
}

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

/// Peak resident set size of this process, in KiB (Linux; 0 elsewhere).
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

/// Runs `pass` (one pass over all prompts) until `min_seconds` have elapsed; returns (passes, seconds).
fn timed<F: FnMut() -> usize>(min_seconds: f64, mut pass: F) -> (usize, f64, usize) {
    let start = Instant::now();
    let mut passes = 0;
    let mut sink = 0usize;
    loop {
        sink = sink.wrapping_add(pass());
        passes += 1;
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed >= min_seconds {
            return (passes, elapsed, sink);
        }
    }
}

fn scan_workload(
    args: &Args,
    name: &str,
    files: &[(String, String)],
    prompts: &[String],
) -> Result<Value, Box<dyn std::error::Error>> {
    let t = Instant::now();
    let (rules, refused) = compile_sources(files)?;
    let compile_s = t.elapsed().as_secs_f64();
    let all: String = files
        .iter()
        .map(|(_, t)| t.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let floor = LiteralFloor::new(&case_insensitive_literals(&all))?;
    let bytes: usize = prompts.iter().map(String::len).sum();

    // Warm-up pass, recording verdicts.
    let mut scanner = novac::Scanner::new(&rules);
    let warm = Instant::now();
    let mut matched_prompts = 0;
    let mut verdicts = std::io::BufWriter::new(std::fs::File::create(
        args.dir.join(format!("novac_verdicts_{name}.jsonl")),
    )?);
    for (id, p) in prompts.iter().enumerate() {
        let result = scanner.scan(p);
        matched_prompts += usize::from(result.is_match());
        if id < args.verdicts {
            writeln!(
                verdicts,
                "{}",
                json!({ "id": id, "matched": result.matched_names() })
            )?;
        }
    }
    verdicts.flush()?;
    let warmup_s = warm.elapsed().as_secs_f64();

    let (passes, seconds, _) = timed(args.min_seconds, || {
        prompts.iter().map(|p| scanner.scan(p).rules.len()).sum()
    });
    let n = (passes * prompts.len()) as f64;
    let floor_pass = || prompts.iter().map(|p| floor.scan(p)).sum::<usize>();
    floor_pass();
    let (fpasses, fseconds, _) = timed(args.min_seconds, floor_pass);
    let fn_ = (fpasses * prompts.len()) as f64;
    let stats = rules.stats();
    eprintln!(
        "{name}: {:.0} prompts/s (floor {:.0})",
        n / seconds,
        fn_ / fseconds
    );
    Ok(json!({
        "name": name,
        "rules": rules.len(),
        "refused_sources": refused,
        "prompts": prompts.len(),
        "bytes": bytes,
        "matched_prompts": matched_prompts,
        "compile_s": compile_s,
        "warmup_s": warmup_s,
        "passes": passes,
        "seconds": seconds,
        "prompts_per_s": n / seconds,
        "mb_per_s": (passes * bytes) as f64 / seconds / 1e6,
        "us_per_prompt": seconds / n * 1e6,
        "floor_literals": floor.len(),
        "floor_prompts_per_s": fn_ / fseconds,
        "floor_mb_per_s": (fpasses * bytes) as f64 / fseconds / 1e6,
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
        "peak_rss_kb": peak_rss_kb(),
    }))
}

fn compile_workload(dir: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    let source = std::fs::read_to_string(dir.join("rules_1000.nov"))?;
    let (mut check, mut build, mut parse) = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..3 {
        let t = Instant::now();
        let parsed = novac_syntax::parse(&source);
        parse = parse.min(t.elapsed().as_secs_f64());
        drop(parsed);
        let t = Instant::now();
        let mut c = novac::Compiler::new();
        c.add_source(&source)?;
        check = check.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let rules = c.allow_missing_model(true).build()?;
        build = build.min(t.elapsed().as_secs_f64());
        drop(rules);
    }
    eprintln!("compile_1000: check {check:.4} s, build {build:.4} s");
    Ok(
        json!({ "name": "compile_1000", "rules": 1000, "parse_s": parse, "check_s": check, "build_s": build, "total_s": check + build, "peak_rss_kb": peak_rss_kb() }),
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let wanted = |name: &str| match &args.only {
        None => true,
        Some(only) => only.iter().any(|w| w == name),
    };
    let mut workloads = Vec::new();

    let public = read_rule_dir(&args.rules_dir).unwrap_or_default();
    if public.is_empty() {
        eprintln!(
            "public rules not found at {}; skipping public_*",
            args.rules_dir.display()
        );
    } else {
        for lang in ["en", "ru", "zh"] {
            let name = format!("public_{lang}");
            if wanted(&name) {
                let prompts = read_prompts(&args.dir.join(format!("prompts_{lang}.jsonl")))?;
                workloads.push(scan_workload(&args, &name, &public, &prompts)?);
            }
        }
    }
    let gen_names: Vec<String> = RULE_SET_SIZES.iter().map(|n| format!("gen_{n}")).collect();
    if gen_names.iter().any(|n| wanted(n)) {
        let prompts = read_prompts(&args.dir.join("prompts.jsonl"))?;
        for (n, name) in RULE_SET_SIZES.iter().zip(&gen_names) {
            if wanted(name) {
                let file = args.dir.join(format!("rules_{n}.nov"));
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                workloads.push(scan_workload(
                    &args,
                    name,
                    &[(file.display().to_string(), text)],
                    &prompts,
                )?);
            }
        }
    }
    if wanted("compile_1000") {
        workloads.push(compile_workload(&args.dir)?);
    }
    let out = json!({ "engine": "novac", "threads": 1, "workloads": workloads, "peak_rss_kb": peak_rss_kb() });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
