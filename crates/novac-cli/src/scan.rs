//! `novac scan`: scan prompts with rules and print what matched.
//!
//! Prompts are read in chunks of [`CHUNK`]; with more than one thread,
//! scan threads (one `Scanner` each, kept for the whole run) scan and
//! format whole chunks, and the output is written back in input order.
//! Cost per prompt beyond the library's scan: one JSON parse of the input
//! line and the formatting of its output, both on the scan threads' side
//! of the work except the parse.

use crate::input::{for_each_batch, InputFormat, Prompt};
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use novac::{RuleResult, Rules, ScanOptions, ScanResult, Scanner, SharedStr};
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
    /// Also match keywords in what encoded runs decode to (base64, base32,
    /// hex, %-encoding, HTML entities, one nested layer); such matches are
    /// reported with the run's span and its encoding.
    #[arg(long)]
    decode: bool,
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
    #[command(flatten)]
    profile: crate::profile::ProfileArgs,
    #[command(flatten)]
    table: crate::table_io::TableArgs,
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

/// Prompts read before the first scan starts (and between progress updates).
const BATCH: usize = 4096;

/// Prompts per unit of work handed to a thread. Small enough to balance
/// prompts of very different lengths over the threads, large enough that
/// handing over costs nothing next to scanning.
const CHUNK: usize = 64;

/// What one thread makes of one chunk of prompts: the output, already
/// formatted, and what the summary needs.
#[derive(Default)]
struct ChunkOut {
    /// JSONL or human output of the chunk, in input order.
    text: Vec<u8>,
    /// `--format json`: the chunk's items.
    items: Vec<serde_json::Value>,
    any_match: bool,
    /// Rules not matched because a stage failed closed in this chunk, each
    /// with its first warning.
    failed_closed: Vec<(SharedStr, SharedStr)>,
    prompts: usize,
}

/// Read-only context of the scan threads.
struct Ctx<'a> {
    rules: &'a Rules,
    format: Format,
    color: bool,
    debug: bool,
    /// Human output lists fail-closed rules per prompt.
    verbose: bool,
    embeds: bool,
    /// Gathers the scanners' profiles (`--profile`).
    profile: &'a crate::profile::Collector,
}

/// Scans one chunk with `scanner` and formats its output.
fn scan_chunk(scanner: &mut Scanner, chunk: &[Prompt], ctx: &Ctx) -> Result<ChunkOut> {
    let results: Vec<ScanResult> = if ctx.embeds {
        // Prompts that need the model are embedded in batches.
        let mut all = Vec::with_capacity(chunk.len());
        for part in chunk.chunks(novac::semantic::BATCH_SIZE) {
            let texts: Vec<&str> = part.iter().map(|p| p.text.as_str()).collect();
            all.extend(scanner.try_scan_batch(&texts).map_err(|(i, e)| {
                let id = part.get(i).map_or(&serde_json::Value::Null, |p| &p.id);
                anyhow::Error::new(e).context(format!("prompt {id}"))
            })?);
        }
        all
    } else {
        chunk
            .iter()
            .map(|p| {
                scanner
                    .try_scan(&p.text)
                    .with_context(|| format!("prompt {}", p.id))
            })
            .collect::<Result<_>>()?
    };
    ctx.profile.add(scanner);
    let mut out = ChunkOut {
        prompts: chunk.len(),
        ..ChunkOut::default()
    };
    for (prompt, result) in chunk.iter().zip(&results) {
        out.any_match |= result.is_match();
        for r in result.rules.iter().filter(|r| !r.matched) {
            if let Some(w) = r.warnings.first() {
                if !out.failed_closed.iter().any(|(rule, _)| *rule == r.rule) {
                    out.failed_closed.push((r.rule.clone(), w.clone()));
                }
            }
        }
        match ctx.format {
            Format::Jsonl => write_json_line(&mut out.text, prompt, result)?,
            Format::Json => out.items.push(json_line(prompt, result)),
            Format::Human => write_human(
                &mut out.text,
                ctx.rules,
                prompt,
                result,
                ctx.color,
                (ctx.debug, ctx.verbose),
            )?,
        }
    }
    Ok(out)
}

pub fn run(args: ScanArgs) -> Result<u8> {
    // Before the model loads: its runtime (candle's matrix kernels) starts
    // rayon's global pool on first use, after which it cannot be resized.
    if let Some(threads) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build_global()
            .context("cannot start threads")?;
    }
    let threads = args
        .threads
        .unwrap_or_else(rayon::current_num_threads)
        .max(1);
    // Parquet/Arrow input: checked (and the output created) before the rules load.
    let table = crate::table_io::plan(
        args.input.as_deref(),
        args.input_format.table(),
        &args.table,
    )?;
    let rules = crate::load::compile_with(&args.rules, &args.semantic)?;
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
        decode: args.decode.then(novac::decode::DecodeLimits::default),
        ..ScanOptions::default()
    };
    options.llm = llm.options.clone();
    let new_scanner = || {
        let scanner = Scanner::new(&rules)
            .options(options.clone())
            .profile(args.profile.profile);
        match &llm.judge {
            Some(judge) => scanner.llm_judge(judge.as_ref()),
            None => scanner,
        }
    };
    let profile = crate::profile::Collector::default();
    let ctx = Ctx {
        profile: &profile,
        rules: &rules,
        format: args.format,
        color: crate::stdout_color(),
        debug: args.debug,
        verbose: args.verbose,
        embeds,
    };
    let chunk_size = if embeds {
        novac::semantic::BATCH_SIZE.max(CHUNK)
    } else {
        CHUNK
    };
    let table = match table {
        Some(crate::table_io::Plan::File(job)) => {
            let code = job.run(threads, &new_scanner, &|s| profile.add(s), embeds)?;
            crate::profile::print(args.profile, &profile, &rules);
            return Ok(code);
        }
        Some(crate::table_io::Plan::Stdout(source)) => Some(source),
        None => None,
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
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
    // Writes one chunk's output; chunks arrive here in input order.
    let mut emit = |chunk: ChunkOut| -> Result<()> {
        out.write_all(&chunk.text)?;
        json_items.extend(chunk.items);
        any_match |= chunk.any_match;
        for (rule, why) in chunk.failed_closed {
            failed_closed.entry(rule).or_insert(why);
        }
        let before = seen;
        seen += chunk.prompts as u64;
        if let Some(bar) = &progress {
            if seen >= 2000 && before / BATCH as u64 != seen / BATCH as u64 {
                bar.set_position(seen);
            }
        }
        Ok(())
    };
    let input = |handle: &mut dyn FnMut(Vec<Prompt>) -> Result<()>| -> Result<()> {
        if let Some(source) = table {
            return source.for_each_batch(chunk_size, handle);
        }
        match (&args.prompt, &args.input) {
            (Some(text), _) => handle(vec![Prompt {
                id: 0.into(),
                text: text.clone(),
            }]),
            (None, Some(path)) if path.as_os_str() != "-" => {
                let file = std::fs::File::open(path)
                    .with_context(|| format!("cannot open {}", path.display()))?;
                let reader = BufReader::with_capacity(1 << 16, file);
                for_each_batch(reader, args.input_format, chunk_size, handle)
            }
            _ => for_each_batch(
                std::io::stdin().lock(),
                args.input_format,
                chunk_size,
                handle,
            ),
        }
    };
    if threads == 1 {
        let mut scanner = new_scanner();
        input(&mut |chunk| emit(scan_chunk(&mut scanner, &chunk, &ctx)?))?;
    } else {
        scan_threaded(threads, &new_scanner, &ctx, input, &mut emit)?;
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if args.format == Format::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&json_items)?)?;
    }
    out.flush()?;
    crate::profile::print(args.profile, &profile, &rules);
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

/// Scans on `threads` threads ([`crate::ordered_pool`]), each with one
/// [`Scanner`] for the whole run: this thread reads the input, the scan
/// threads format their chunk's output themselves, and the chunks are
/// written back in input order. On an error, the chunks before the failing
/// one are written and the error is returned.
fn scan_threaded<'r, S>(
    threads: usize,
    new_scanner: &S,
    ctx: &Ctx,
    input: impl FnOnce(&mut dyn FnMut(Vec<Prompt>) -> Result<()>) -> Result<()>,
    emit: &mut dyn FnMut(ChunkOut) -> Result<()>,
) -> Result<()>
where
    S: Fn() -> Scanner<'r> + Sync,
{
    crate::ordered_pool::run(
        threads,
        new_scanner,
        &|_: &mut Scanner<'r>| {},
        &|scanner: &mut Scanner<'r>, chunk: Vec<Prompt>| scan_chunk(scanner, &chunk, ctx),
        input,
        emit,
    )
}

pub(crate) fn json_line(prompt: &Prompt, result: &ScanResult) -> serde_json::Value {
    let results: Vec<serde_json::Value> = result.rules.iter().map(rule_json).collect();
    serde_json::json!({
        "id": prompt.id,
        "matched_rules": result.matched_names(),
        "results": results,
    })
}

/// Writes [`json_line`] of the prompt and a newline, byte for byte as
/// `serde_json::to_writer(&json_line(..))` does (object keys in sorted
/// order, as `serde_json::Map` keeps them), without building the
/// [`serde_json::Value`] tree. Rules with semantic scores, LLM verdicts,
/// decoded keywords or debug variables go through [`rule_json`].
fn write_json_line(out: &mut Vec<u8>, prompt: &Prompt, result: &ScanResult) -> Result<()> {
    out.extend_from_slice(b"{\"id\":");
    serde_json::to_writer(&mut *out, &prompt.id)?;
    out.extend_from_slice(b",\"matched_rules\":[");
    for (i, r) in result.matched().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, r.rule.as_str())?;
    }
    out.extend_from_slice(b"],\"results\":[");
    for (i, r) in result.rules.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let plain = r.semantics.is_empty()
            && r.llm.is_empty()
            && r.variables.is_none()
            && r.keywords.iter().all(|k| k.decoded.is_none());
        if plain {
            write_rule_json(out, r)?;
        } else {
            serde_json::to_writer(&mut *out, &rule_json(r))?;
        }
    }
    out.extend_from_slice(b"]}\n");
    Ok(())
}

/// [`rule_json`] of a rule without semantic, LLM or debug parts, written directly.
fn write_rule_json(out: &mut Vec<u8>, r: &RuleResult) -> Result<()> {
    out.extend_from_slice(b"{\"keywords\":[");
    for (i, k) in r.keywords.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, k.var.as_str())?;
    }
    out.extend_from_slice(if r.matched {
        b"],\"matched\":true,\"rule\":"
    } else {
        b"],\"matched\":false,\"rule\":"
    });
    serde_json::to_writer(&mut *out, r.rule.as_str())?;
    out.extend_from_slice(b",\"spans\":{");
    // A map: sorted by variable, the last span of a repeated variable wins.
    let mut spans: Vec<(&str, usize, usize)> = r
        .keywords
        .iter()
        .map(|k| (k.var.as_str(), k.start, k.end))
        .collect();
    spans.sort_by(|a, b| a.0.cmp(b.0));
    let mut first = true;
    for (i, (var, start, end)) in spans.iter().enumerate() {
        if spans.get(i + 1).is_some_and(|next| next.0 == *var) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut *out, var)?;
        out.extend_from_slice(format!(":[{start},{end}]").as_bytes());
    }
    out.extend_from_slice(b"},\"warnings\":[");
    for (i, w) in r.warnings.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, w.as_str())?;
    }
    out.extend_from_slice(b"]}");
    Ok(())
}

#[allow(clippy::indexing_slicing)] // serde_json: `v[key] = …` on an object built by json!({..}) inserts, never panics
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
    let decoded: serde_json::Map<String, serde_json::Value> = r
        .keywords
        .iter()
        .filter_map(|k| Some((k.var.to_string(), serde_json::json!(k.decoded?.name()))))
        .collect();
    if !decoded.is_empty() {
        value["decoded"] = serde_json::Value::Object(decoded);
    }
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
            write!(out, "{bold}{id}{reset}: {red}{}{reset}", r.rule)?;
            if severity.is_empty() {
                writeln!(out)?;
            } else {
                writeln!(out, " [{severity}]")?;
            }
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
            write!(out, "    {} at {}..{}", k.var, k.start, k.end)?;
            if let Some(e) = k.decoded {
                write!(out, " (decoded {})", e.name())?;
            }
            out.write_all(b": ")?;
            let marks = if color { (yellow, reset) } else { ("[", "]") };
            write_context(out, &prompt.text, k.start, k.end, marks)?;
            out.write_all(b"\n")?;
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

/// The match with up to 30 characters of context on each side, on one line,
/// written straight to `out` (human output writes one per matched keyword,
/// hundreds per prompt on large rule sets: no allocation).
fn write_context(
    out: &mut impl Write,
    text: &str,
    start: usize,
    end: usize,
    (open, close): (&str, &str),
) -> std::io::Result<()> {
    let mut start = start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = end.clamp(start, text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let before = text.get(..start).unwrap_or("");
    let from = before
        .char_indices()
        .rev()
        .take(30)
        .last()
        .map_or(start, |(i, _)| i);
    let after = text.get(end..).unwrap_or("");
    let to = after
        .char_indices()
        .nth(30)
        .map_or(text.len(), |(i, _)| end + i);
    if from > 0 {
        out.write_all("…".as_bytes())?;
    }
    write_on_one_line(out, text.get(from..start).unwrap_or(""))?;
    out.write_all(open.as_bytes())?;
    write_on_one_line(out, text.get(start..end).unwrap_or(""))?;
    out.write_all(close.as_bytes())?;
    write_on_one_line(out, text.get(end..to).unwrap_or(""))?;
    if to < text.len() {
        out.write_all("…".as_bytes())?;
    }
    Ok(())
}

/// `s` with newlines, carriage returns and tabs written as spaces.
fn write_on_one_line(out: &mut impl Write, s: &str) -> std::io::Result<()> {
    let mut pieces = s.split(['\n', '\r', '\t']);
    if let Some(first) = pieces.next() {
        out.write_all(first.as_bytes())?;
    }
    for piece in pieces {
        out.write_all(b" ")?;
        out.write_all(piece.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use novac::KeywordMatch;

    fn context(text: &str, start: usize, end: usize) -> String {
        let mut out = Vec::new();
        write_context(&mut out, text, start, end, ("[", "]")).expect("writes to a Vec");
        String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
    }

    #[test]
    fn context_is_one_line_with_up_to_30_characters_each_side() {
        assert_eq!(context("ignore all", 0, 6), "[ignore] all");
        assert_eq!(context("a\nb\tc\rd", 2, 3), "a [b] c d");
        let long = format!("{}XY{}", "п".repeat(40), "中".repeat(40));
        let start = "п".len() * 40;
        assert_eq!(
            context(&long, start, start + 2),
            format!("…{}[XY]{}…", "п".repeat(30), "中".repeat(30))
        );
        let exact = format!("{}XY{}", "a".repeat(30), "b".repeat(30));
        assert_eq!(
            context(&exact, 30, 32),
            format!("{}[XY]{}", "a".repeat(30), "b".repeat(30))
        );
        // Spans past the end or inside a character are clamped, never a panic.
        assert_eq!(context("кот", 1, 99), "[кот]");
    }

    fn rule(
        name: &str,
        matched: bool,
        keywords: &[(&str, usize, usize)],
        warnings: &[&str],
    ) -> RuleResult {
        RuleResult {
            index: 0,
            rule: name.into(),
            matched,
            keywords: keywords
                .iter()
                .map(|&(var, start, end)| KeywordMatch {
                    var: var.into(),
                    start,
                    end,
                    decoded: None,
                })
                .collect(),
            semantics: Vec::new(),
            llm: Vec::new(),
            warnings: warnings.iter().map(|&w| w.into()).collect(),
            variables: None,
        }
    }

    /// The direct JSONL writer gives the bytes of the `serde_json::Value` path.
    #[test]
    fn direct_json_line_equals_the_value_path() {
        let results = [
            ScanResult { rules: Vec::new() },
            ScanResult {
                rules: vec![
                    rule(
                        "A",
                        true,
                        &[("$b", 3, 9), ("$a", 0, 2), ("$b", 10, 12)],
                        &[],
                    ),
                    rule("Q\"uote\u{1}é", false, &[], &["needs a \"model\"\n", "two"]),
                    rule("Z", true, &[("$zé", 1, 2), ("$Z", 5, 6), ("$z", 7, 8)], &[]),
                ],
            },
        ];
        let ids = [
            serde_json::json!(7),
            serde_json::json!("x\ty"),
            serde_json::Value::Null,
            serde_json::json!({"b": 1, "a": [1.5, null]}),
        ];
        for result in &results {
            for id in &ids {
                let prompt = Prompt {
                    id: id.clone(),
                    text: "some text".into(),
                };
                let mut direct = Vec::new();
                write_json_line(&mut direct, &prompt, result).unwrap();
                let mut via_value = serde_json::to_vec(&json_line(&prompt, result)).unwrap();
                via_value.push(b'\n');
                assert_eq!(
                    String::from_utf8_lossy(&direct),
                    String::from_utf8_lossy(&via_value)
                );
            }
        }
    }
}
