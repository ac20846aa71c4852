//! `novac scan`: scan prompts with rules and print what matched.

use crate::input::{for_each_batch, InputFormat, Prompt};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use novac::{Compiler, RuleResult, Rules, ScanOptions, ScanResult, Scanner};
use rayon::prelude::*;
use std::io::{BufReader, IsTerminal, Write};
use std::path::PathBuf;

/// Arguments of `novac scan`.
#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Rule files or directories of `.nov` files, and compiled bundles (`novac compile`).
    #[arg(short, long = "rules", required = true, num_args = 1..)]
    rules: Vec<PathBuf>,
    /// Scan this prompt.
    #[arg(short, long, conflicts_with = "input")]
    prompt: Option<String>,
    /// Scan the prompts in this file (`-` for stdin): JSONL with a "prompt"
    /// field (and optional "id"), or text with one prompt per line.
    /// Without --prompt and --input, prompts are read from stdin.
    #[arg(short, long)]
    input: Option<PathBuf>,
    /// How to read the input.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    input_format: InputFormat,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Threads to scan with (default: all cores).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
    /// Normalise prompts first (NFKC, look-alike letters, zero-width characters).
    #[arg(long)]
    normalize: bool,
    /// Report every rule and variable, not only matches.
    #[arg(long)]
    debug: bool,
    /// Also list, per prompt, the rules that failed closed and why (by
    /// default the human output says it once, at the end).
    #[arg(short, long)]
    verbose: bool,
    /// Refuse (exit 2) a prompt larger than this many bytes (default: no
    /// limit below 4 GiB).
    #[arg(long, value_name = "BYTES")]
    max_prompt_bytes: Option<usize>,
    #[command(flatten)]
    semantic: crate::semantic::SemanticArgs,
    #[command(flatten)]
    llm: crate::llm_config::LlmArgs,
}

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Matches with the matched text in context.
    Human,
    /// One JSON array of all results.
    Json,
    /// One JSON object per input prompt, in input order.
    Jsonl,
}

const BATCH: usize = 4096;

pub fn run(args: ScanArgs) -> Result<u8> {
    // Before the model loads: its runtime (candle's matrix kernels) starts
    // rayon's global pool on first use, after which it cannot be resized.
    if let Some(threads) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build_global()
            .context("cannot start threads")?;
    }
    let rules = compile_with(&args.rules, &args.semantic)?;
    crate::semantic::warn_without_model(&rules, &args.semantic)?;
    let embeds = rules.embedder().is_some();
    let llm = crate::llm_config::setup(&args.llm)?;
    if let Some(note) = llm.note(&rules) {
        eprintln!("{note}");
    }
    let mut options = ScanOptions {
        normalize: args.normalize,
        debug: args.debug,
        max_prompt_bytes: args.max_prompt_bytes,
        ..ScanOptions::default()
    };
    options.llm = llm.options.clone();
    let new_scanner = || {
        let scanner = Scanner::new(&rules).options(options.clone());
        match &llm.judge {
            Some(judge) => scanner.llm_judge(judge.as_ref()),
            None => scanner,
        }
    };
    let color = crate::stdout_color();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut any_match = false;
    let mut json_items = Vec::new();
    let progress = (std::io::stderr().is_terminal() && args.prompt.is_none()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos} prompts scanned ({per_sec}) {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar
    });
    let mut seen = 0u64;
    // Rule → the first reason it failed closed.
    let mut failed_closed = std::collections::BTreeMap::new();
    let mut handle = |batch: Vec<Prompt>| -> Result<()> {
        let results: Vec<ScanResult> = if embeds {
            // Prompts that need the model are embedded in batches.
            batch
                .par_chunks(novac::semantic::BATCH_SIZE)
                .map_init(new_scanner, |scanner, chunk| {
                    let texts: Vec<&str> = chunk.iter().map(|p| p.text.as_str()).collect();
                    scanner.try_scan_batch(&texts).map_err(|(i, e)| {
                        anyhow::Error::new(e).context(format!("prompt {}", chunk[i].id))
                    })
                })
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .flatten()
                .collect()
        } else {
            batch
                .par_iter()
                .map_init(new_scanner, |scanner, p| {
                    scanner
                        .try_scan(&p.text)
                        .with_context(|| format!("prompt {}", p.id))
                })
                .collect::<Result<_>>()?
        };
        for (prompt, result) in batch.iter().zip(&results) {
            any_match |= result.is_match();
            for r in result.rules.iter().filter(|r| !r.matched) {
                if let (Some(w), false) = (r.warnings.first(), failed_closed.contains_key(&r.rule))
                {
                    failed_closed.insert(r.rule.clone(), w.to_string());
                }
            }
            match args.format {
                Format::Jsonl => writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&json_line(prompt, result))?
                )?,
                Format::Json => json_items.push(json_line(prompt, result)),
                Format::Human => write_human(
                    &mut out,
                    &rules,
                    prompt,
                    result,
                    color,
                    (args.debug, args.verbose),
                )?,
            }
        }
        seen += batch.len() as u64;
        if let Some(bar) = &progress {
            if seen >= 2000 {
                bar.set_position(seen);
            }
        }
        Ok(())
    };
    match (&args.prompt, &args.input) {
        (Some(text), _) => handle(vec![Prompt {
            id: 0.into(),
            text: text.clone(),
        }])?,
        (None, Some(path)) if path.as_os_str() != "-" => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            for_each_batch(BufReader::new(file), args.input_format, BATCH, &mut handle)?;
        }
        _ => for_each_batch(
            std::io::stdin().lock(),
            args.input_format,
            BATCH,
            &mut handle,
        )?,
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if args.format == Format::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&json_items)?)?;
    }
    out.flush()?;
    if !failed_closed.is_empty() && args.format == Format::Human && !args.debug {
        eprintln!(
            "note: {} rule(s) needed a semantic or LLM stage that is not configured or failed, and were not matched (fail closed){}:",
            failed_closed.len(),
            if args.verbose { "" } else { "; --verbose lists them per prompt" }
        );
        for (rule, why) in &failed_closed {
            eprintln!("  {rule}: {why}");
        }
    }
    Ok(if any_match { 0 } else { 1 })
}

/// Compiles the rule paths, printing diagnostics of failing files to stderr;
/// rules with semantics fail closed at scan time (no model).
#[allow(dead_code)]
pub fn compile(paths: &[PathBuf]) -> Result<Rules> {
    compile_with(paths, &crate::semantic::SemanticArgs::default())
}

/// [`compile`] with the semantic options (a model, or the reference's fail-closed behaviour).
pub fn compile_with(paths: &[PathBuf], semantic: &crate::semantic::SemanticArgs) -> Result<Rules> {
    if let Some(rules) = crate::compile::with_bundles(paths, semantic)? {
        return Ok(rules);
    }
    let mut compiler = Compiler::new();
    crate::semantic::configure(&mut compiler, semantic)?;
    let mut failed = false;
    for path in paths {
        match compiler.add_path(path) {
            Ok(_) => {}
            Err(e @ novac::CompileError::Io { .. }) => return Err(e.into()),
            Err(_) => failed = true,
        }
    }
    if failed {
        let color = crate::stderr_color();
        for report in compiler.reports() {
            for d in report.diagnostics.iter().filter(|d| d.is_error()) {
                eprintln!("{}\n", d.render(&report.origin, &report.text, color));
            }
        }
        let errors: usize = compiler.reports().iter().map(|r| r.errors()).sum();
        bail!("the rules have {errors} error(s); run `novac check` for details");
    }
    Ok(compiler.build()?)
}

fn json_line(prompt: &Prompt, result: &ScanResult) -> serde_json::Value {
    let results: Vec<serde_json::Value> = result.rules.iter().map(rule_json).collect();
    serde_json::json!({
        "id": prompt.id,
        "matched_rules": result.matched_names(),
        "results": results,
    })
}

fn rule_json(r: &RuleResult) -> serde_json::Value {
    let spans: serde_json::Map<String, serde_json::Value> = r
        .keywords
        .iter()
        .map(|k| (k.var.to_string(), serde_json::json!([k.start, k.end])))
        .collect();
    let mut value = serde_json::json!({
        "rule": r.rule,
        "matched": r.matched,
        "keywords": r.keywords.iter().map(|k| &k.var).collect::<Vec<_>>(),
        "spans": spans,
        "warnings": r.warnings,
    });
    if !r.semantics.is_empty() {
        let scores: serde_json::Map<String, serde_json::Value> = r
            .semantics
            .iter()
            .map(|s| (s.var.to_string(), serde_json::json!(s.score)))
            .collect();
        value["semantic_scores"] = serde_json::Value::Object(scores);
    }
    if !r.llm.is_empty() {
        let llm: serde_json::Map<String, serde_json::Value> = r
            .llm
            .iter()
            .map(|l| (l.var.to_string(), serde_json::json!(l.verdict)))
            .collect();
        value["llm"] = serde_json::Value::Object(llm);
    }
    if let Some(vars) = &r.variables {
        value["variables"] = serde_json::json!(vars);
    }
    value
}

fn write_human(
    out: &mut impl Write,
    rules: &Rules,
    prompt: &Prompt,
    result: &ScanResult,
    color: bool,
    (debug, verbose): (bool, bool),
) -> Result<()> {
    let (bold, red, yellow, dim, reset) = if color {
        ("\x1b[1m", "\x1b[31m", "\x1b[33m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "", "", "")
    };
    let id = match &prompt.id {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for r in result
        .rules
        .iter()
        .filter(|r| r.matched || debug || (verbose && !r.warnings.is_empty()))
    {
        let severity = rules
            .rule(r.index)
            .and_then(|i| i.meta_value("severity"))
            .unwrap_or("");
        if r.matched {
            let sev = if severity.is_empty() {
                String::new()
            } else {
                format!(" [{severity}]")
            };
            writeln!(out, "{bold}{id}{reset}: {red}{}{reset}{sev}", r.rule)?;
        } else {
            writeln!(
                out,
                "{bold}{id}{reset}: {} {dim}(not matched{}){reset}",
                r.rule,
                if r.warnings.is_empty() {
                    ""
                } else {
                    ": failed closed"
                }
            )?;
        }
        for k in &r.keywords {
            writeln!(
                out,
                "    {} at {}..{}: {}",
                k.var,
                k.start,
                k.end,
                context(
                    &prompt.text,
                    k.start,
                    k.end,
                    if color { (yellow, reset) } else { ("[", "]") }
                )
            )?;
        }
        for s in &r.semantics {
            writeln!(
                out,
                "    {} similarity {:.4}{}",
                s.var,
                s.score,
                if s.matched { " (matched)" } else { "" }
            )?;
        }
        for l in &r.llm {
            writeln!(
                out,
                "    {} {} (confidence {:.2}, {}{}): {}",
                l.var,
                if l.verdict.matched {
                    "matched"
                } else {
                    "not matched"
                },
                l.verdict.confidence,
                l.verdict.model,
                if l.verdict.cached { ", cached" } else { "" },
                l.verdict.reason
            )?;
        }
        for w in &r.warnings {
            writeln!(out, "    {yellow}warning{reset}: {w}")?;
        }
        if let Some(vars) = &r.variables {
            for v in vars {
                let value = v
                    .value
                    .map_or("not evaluated".to_string(), |b| b.to_string());
                writeln!(out, "    {dim}{}.{} = {value}{reset}", v.section, v.var)?;
            }
        }
    }
    Ok(())
}

/// The match with up to 30 characters of context on each side, on one line.
fn context(text: &str, start: usize, end: usize, (open, close): (&str, &str)) -> String {
    let start = start.min(text.len());
    let end = end.clamp(start, text.len());
    let before: String = text
        .get(..start)
        .unwrap_or("")
        .chars()
        .rev()
        .take(30)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let after: String = text.get(end..).unwrap_or("").chars().take(30).collect();
    let clean = |s: &str| s.replace(['\n', '\r', '\t'], " ");
    let lead = if before.len() < start { "…" } else { "" };
    let tail = if after.len() < text.len() - end {
        "…"
    } else {
        ""
    };
    format!(
        "{lead}{}{open}{}{close}{}{tail}",
        clean(&before),
        clean(text.get(start..end).unwrap_or("")),
        clean(&after)
    )
}
