//! `novac test PATH...`: runs the example prompts of rule-test sidecars
//! (see [`crate::sidecar`] for the format) and reports pass, fail or skip
//! for every case.
//!
//! Data flow: [`discover`] turns the paths (rule files, sidecars,
//! directories) into a list of sidecars and the rule files that have none;
//! each sidecar's rule file is compiled once; each prompt of each case is
//! scanned and the verdict of the case's rule compared with the expectation.
//!
//! A case is *skipped*, not failed, when its verdict needs a stage that is
//! not configured: it says `requires: semantics|llm`, or its rule failed
//! closed because the semantic or LLM stage was missing. The stages are
//! configured with the same flags as `novac scan` (`--model-dir`, `--llm`,
//! flattened from [`crate::semantic::SemanticArgs`] and
//! [`crate::llm_config::LlmArgs`]); with them the same cases run for real.
//!
//! Exit codes: 0 when every case passed or was skipped, 1 when a case failed
//! (or, with `--require-tests`, a rule has no case), 2 on usage, I/O,
//! sidecar or compile errors.

use crate::sidecar::{self, Case, Sidecar, SidecarError, Stage};
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use novac::{LlmJudge, Rules, ScanOptions, Scanner};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `novac test`.
#[derive(Args, Debug)]
pub struct TestArgs {
    /// Rule files (their sidecar is found next to them or in `tests/`),
    /// sidecar files (`*.tests.yaml`, `*_tests.yaml`), or directories
    /// searched recursively for both.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Print only failures, skips and the summary.
    #[arg(short, long)]
    quiet: bool,
    /// Fail when a rule file has no sidecar or a rule has no test case.
    #[arg(long)]
    require_tests: bool,
    #[command(flatten)]
    semantic: crate::semantic::SemanticArgs,
    #[command(flatten)]
    llm: crate::llm_config::LlmArgs,
    #[command(flatten)]
    config: crate::config::ConfigChoice,
}

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One line per case and a summary.
    Human,
    /// One JSON document with every case.
    Json,
}

/// The optional stages a test run can use. Without them, cases whose verdict
/// depends on semantics or an LLM are skipped.
pub struct Stages {
    /// Where the embedding model comes from (applied to every compile).
    pub semantic: crate::semantic::SemanticArgs,
    /// The judge for `llm:`, when one is configured and complete.
    pub llm: Option<Box<dyn LlmJudge>>,
    /// The scanner's LLM options.
    pub llm_options: novac::LlmOptions,
    /// Why there is no judge (shown in skip messages).
    pub llm_hint: String,
}

impl Stages {
    /// Semantic and LLM stages from the command line and environment.
    fn from_args(args: &TestArgs) -> Result<Stages> {
        let setup = crate::llm_config::setup(&args.llm)?;
        let llm_hint = match (&setup.description, &setup.missing) {
            (Some(d), Some(m)) => format!("the LLM judge {d} is not usable: {m}"),
            _ => "no LLM judge is configured (--llm PROVIDER)".to_string(),
        };
        let llm = if setup.missing.is_none() {
            setup.judge
        } else {
            None
        };
        Ok(Stages {
            semantic: args.semantic.clone(),
            llm,
            llm_options: setup.options,
            llm_hint,
        })
    }

    fn has(&self, stage: Stage, rules: &Rules) -> bool {
        match stage {
            Stage::Semantics => rules.embedder().is_some(),
            Stage::Llm => self.llm.is_some(),
        }
    }

    fn hint(&self, stage: Stage) -> String {
        match stage {
            Stage::Semantics => format!(
                "no embedding model is configured (--model-dir DIR or NOVAC_MODEL_DIR{})",
                if cfg!(feature = "embed") {
                    ""
                } else {
                    ", in a novac built with --features embed"
                }
            ),
            Stage::Llm => self.llm_hint.clone(),
        }
    }
}

/// The outcome of one prompt of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Status {
    Pass,
    Fail(String),
    Skip(String),
}

/// One reported result.
struct Outcome<'a> {
    sidecar: &'a Path,
    case: &'a Case,
    /// Which prompt of the case (0-based) and how many it has.
    prompt: (usize, usize),
    matched: Option<bool>,
    keywords: Vec<String>,
    status: Status,
}

/// What [`discover`] found.
#[derive(Debug, Default)]
struct Discovery {
    /// Sidecar files, in path order, without duplicates.
    sidecars: Vec<PathBuf>,
    /// Rule files reached (given, or under a given directory).
    rule_files: Vec<PathBuf>,
}

/// Runs `novac test`.
pub fn run(args: TestArgs) -> Result<u8> {
    let stages = Stages::from_args(&args)?;
    let stages = &stages;
    let mut configs = crate::config::ConfigCache::new(args.config.clone())?;
    let found = discover(&args.paths)?;
    let mut errors: Vec<String> = Vec::new();
    let mut sidecars: Vec<Sidecar> = Vec::new();
    for path in &found.sidecars {
        match sidecar::load(path) {
            Ok(s) => sidecars.push(s),
            Err(e) => errors.push(e.to_string()),
        }
    }
    // Rule files reached without a sidecar.
    let tested: BTreeSet<PathBuf> = sidecars.iter().map(|s| canonical(&s.rule_file)).collect();
    let untested: Vec<&PathBuf> = found
        .rule_files
        .iter()
        .filter(|f| !tested.contains(&canonical(f)))
        .collect();
    if sidecars.is_empty() && errors.is_empty() {
        bail!(
            "no rule tests found in {} (sidecars are named `<stem>.tests.yaml` or `tests/<stem>_tests.yaml`)",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    let mut compiled: BTreeMap<PathBuf, Option<Rules>> = BTreeMap::new();
    let mut outcomes: Vec<Outcome<'_>> = Vec::new();
    let mut hints: BTreeSet<Stage> = BTreeSet::new();
    let mut missing: Vec<String> = untested
        .iter()
        .map(|f| format!("{}: no test sidecar", f.display()))
        .collect();
    for s in &sidecars {
        let key = canonical(&s.rule_file);
        if !compiled.contains_key(&key) {
            let rules = crate::load::compile_file(
                &s.rule_file,
                &stages.semantic,
                &mut configs,
                &mut errors,
            );
            compiled.insert(key.clone(), rules);
        }
        let Some(Some(rules)) = compiled.get(&key) else {
            continue;
        };
        match check_names(s, rules) {
            Ok(()) => {}
            Err(errs) => {
                errors.extend(errs.iter().map(ToString::to_string));
                continue;
            }
        }
        if args.require_tests {
            for name in rules.rule_names() {
                if !s.cases.iter().any(|c| c.rule == name) {
                    missing.push(format!(
                        "{}: rule `{name}` has no test case",
                        s.path.display()
                    ));
                }
            }
        }
        run_sidecar(s, rules, stages, &mut outcomes, &mut hints);
    }
    if !args.require_tests {
        missing.clear();
    }

    let passed = outcomes.iter().filter(|o| o.status == Status::Pass).count();
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o.status, Status::Fail(_)))
        .count()
        + missing.len();
    let skipped = outcomes
        .iter()
        .filter(|o| matches!(o.status, Status::Skip(_)))
        .count();
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Human => {
            write_human(&mut out, &outcomes, args.quiet)?;
            for m in &missing {
                writeln!(out, "FAIL  {m}")?;
            }
            for e in &errors {
                writeln!(out, "error: {e}")?;
            }
            for stage in &hints {
                writeln!(
                    out,
                    "note: cases skipped for lack of {}: {}",
                    stage.name(),
                    stages.hint(*stage)
                )?;
            }
            if !args.require_tests && !untested.is_empty() {
                writeln!(
                    out,
                    "note: {} rule file{} without tests: {}",
                    untested.len(),
                    if untested.len() == 1 { "" } else { "s" },
                    untested
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
            }
            let err_part = if errors.is_empty() {
                String::new()
            } else {
                format!(", {} error{}", errors.len(), plural(errors.len()))
            };
            writeln!(
                out,
                "{passed} passed, {failed} failed, {skipped} skipped{err_part}"
            )?;
        }
        Format::Json => {
            let cases: Vec<serde_json::Value> = outcomes.iter().map(outcome_json).collect();
            let doc = serde_json::json!({
                "passed": passed,
                "failed": failed,
                "skipped": skipped,
                "cases": cases,
                "missing": missing,
                "untested_rule_files": untested.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                "errors": errors,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    Ok(if !errors.is_empty() {
        2
    } else if failed > 0 {
        1
    } else {
        0
    })
}

/// Finds sidecars and rule files under `paths`.
fn discover(paths: &[PathBuf]) -> Result<Discovery> {
    let mut found = Discovery::default();
    let mut seen = BTreeSet::new();
    let mut add_sidecar = |found: &mut Discovery, p: PathBuf| {
        if seen.insert(canonical(&p)) {
            found.sidecars.push(p);
        }
    };
    for path in paths {
        if path.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files)?;
            files.sort();
            for f in files {
                if sidecar::is_sidecar_name(&f) {
                    add_sidecar(&mut found, f);
                } else if f.extension().is_some_and(|e| e == "nov") {
                    found.rule_files.push(f);
                }
            }
        } else if path.is_file() {
            if path.extension().is_some_and(|e| e == "nov") {
                found.rule_files.push(path.clone());
                if let Some(s) = sidecar::candidates_for(path)
                    .into_iter()
                    .find(|c| c.is_file())
                {
                    add_sidecar(&mut found, s);
                }
            } else {
                add_sidecar(&mut found, path.clone());
            }
        } else {
            bail!("{}: no such file or directory", path.display());
        }
    }
    Ok(found)
}

/// Collects the files under `dir`, skipping hidden directories and `target`.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                walk(&path, files)?;
            }
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Checks that every case names a rule of the file, and every expected keyword a keyword of it.
fn check_names(s: &Sidecar, rules: &Rules) -> std::result::Result<(), Vec<SidecarError>> {
    let mut errs = Vec::new();
    for case in &s.cases {
        let Some(rule) = rules.rule_by_name(&case.rule) else {
            errs.push(SidecarError {
                path: s.path.clone(),
                line: case.rule_line,
                message: format!(
                    "unknown rule `{}` (the rules of {} are: {})",
                    case.rule,
                    s.rule_file.display(),
                    rules.rule_names().join(", ")
                ),
            });
            continue;
        };
        let keywords: Vec<&str> = rule
            .ir()
            .vars
            .iter()
            .filter(|v| matches!(v.pattern, novac::ir::Pattern::Keyword(_)))
            .map(|v| v.name.as_str())
            .collect();
        for k in &case.expected_keywords {
            if !keywords.contains(&k.as_str()) {
                errs.push(SidecarError {
                    path: s.path.clone(),
                    line: case.keywords_line,
                    message: format!("rule `{}` has no keyword `{k}`", case.rule),
                });
            }
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

fn run_sidecar<'a>(
    s: &'a Sidecar,
    rules: &Rules,
    stages: &Stages,
    out: &mut Vec<Outcome<'a>>,
    hints: &mut BTreeSet<Stage>,
) {
    let mut scanner = Scanner::new(rules).options(ScanOptions {
        llm: stages.llm_options.clone(),
        ..ScanOptions::default()
    });
    if let Some(judge) = &stages.llm {
        scanner = scanner.llm_judge(judge.as_ref());
    }
    for case in &s.cases {
        let Some(info) = rules.rule_by_name(&case.rule) else {
            continue;
        };
        let index = rules
            .iter()
            .position(|r| r.name() == case.rule)
            .unwrap_or(usize::MAX);
        let missing_stage = case
            .requires
            .iter()
            .copied()
            .find(|st| !stages.has(*st, rules));
        for (i, prompt) in case.prompts.iter().enumerate() {
            let mut outcome = Outcome {
                sidecar: &s.path,
                case,
                prompt: (i, case.prompts.len()),
                matched: None,
                keywords: Vec::new(),
                status: Status::Pass,
            };
            if let Some(stage) = missing_stage {
                outcome.status = Status::Skip(format!(
                    "requires {}, which is not configured",
                    stage.name()
                ));
                hints.insert(stage);
                out.push(outcome);
                continue;
            }
            let result = scanner.scan(prompt);
            let rule_result = result.rules.iter().find(|r| r.index == index);
            let matched = rule_result.is_some_and(|r| r.matched);
            let warnings: Vec<&str> = rule_result
                .map(|r| r.warnings.iter().map(|w| w.as_str()).collect())
                .unwrap_or_default();
            outcome.keywords = rule_result
                .map(|r| r.keywords.iter().map(|k| k.var.to_string()).collect())
                .unwrap_or_default();
            // Failed closed for lack of a stage: the verdict is unknown.
            let unavailable: Vec<Stage> = [Stage::Semantics, Stage::Llm]
                .into_iter()
                .filter(|st| !stages.has(*st, rules) && uses(&info, *st))
                .collect();
            if !matched && !warnings.is_empty() && !unavailable.is_empty() {
                let names: Vec<&str> = unavailable.iter().map(|s| s.name()).collect();
                hints.extend(unavailable.iter().copied());
                outcome.status = Status::Skip(format!(
                    "the verdict needs {}, which is not configured",
                    names.join(" or ")
                ));
                out.push(outcome);
                continue;
            }
            outcome.matched = Some(matched);
            outcome.status = if matched != case.expected_match {
                let mut why = if case.expected_match {
                    "expected a match, got none".to_string()
                } else {
                    format!(
                        "expected no match, got one ({})",
                        describe(&outcome.keywords)
                    )
                };
                if !warnings.is_empty() {
                    why.push_str(&format!(" [{}]", warnings.join("; ")));
                }
                Status::Fail(why)
            } else if let Some(k) = case
                .expected_keywords
                .iter()
                .find(|k| !outcome.keywords.contains(k))
            {
                Status::Fail(format!(
                    "matched, but not by {k} (matched: {})",
                    describe(&outcome.keywords)
                ))
            } else {
                Status::Pass
            };
            out.push(outcome);
        }
    }
}

fn uses(info: &novac::RuleInfo<'_>, stage: Stage) -> bool {
    match stage {
        Stage::Semantics => info.uses_semantics(),
        Stage::Llm => info.uses_llm(),
    }
}

fn describe(keywords: &[String]) -> String {
    if keywords.is_empty() {
        "no keyword".to_string()
    } else {
        keywords.join(", ")
    }
}

/// The prompt on one line, at most `max` characters, control characters escaped.
fn excerpt(prompt: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in prompt.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            c if c.is_control() || is_invisible(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    format!("\"{out}\"")
}

/// Characters that render as nothing or reorder text (zero-width, bidi
/// controls, tag characters): shown escaped so hidden-Unicode cases are readable.
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0xAD | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xE0000..=0xE007F)
}

fn label(o: &Outcome<'_>) -> String {
    if o.prompt.1 > 1 {
        format!("{} [{}/{}]", o.case.name, o.prompt.0 + 1, o.prompt.1)
    } else {
        o.case.name.clone()
    }
}

fn write_human(out: &mut impl Write, outcomes: &[Outcome<'_>], quiet: bool) -> Result<()> {
    let mut current: Option<&Path> = None;
    for o in outcomes {
        if quiet && o.status == Status::Pass {
            continue;
        }
        if current != Some(o.sidecar) {
            writeln!(out, "{}", o.sidecar.display())?;
            current = Some(o.sidecar);
        }
        let prompt = o.case.prompts.get(o.prompt.0).map_or("", String::as_str);
        let (tag, detail) = match &o.status {
            Status::Pass => ("PASS", None),
            Status::Fail(why) => ("FAIL", Some(why)),
            Status::Skip(why) => ("SKIP", Some(why)),
        };
        writeln!(
            out,
            "  {tag}  {}: {}  {}",
            o.case.rule,
            label(o),
            excerpt(prompt, 60)
        )?;
        if let Some(detail) = detail {
            writeln!(
                out,
                "        {detail} ({}:{})",
                o.sidecar.display(),
                o.case.line
            )?;
        }
    }
    Ok(())
}

fn outcome_json(o: &Outcome<'_>) -> serde_json::Value {
    let (status, message) = match &o.status {
        Status::Pass => ("pass", None),
        Status::Fail(m) => ("fail", Some(m)),
        Status::Skip(m) => ("skip", Some(m)),
    };
    serde_json::json!({
        "file": o.sidecar.display().to_string(),
        "line": o.case.line,
        "name": label(o),
        "rule": o.case.rule,
        "prompt": o.case.prompts.get(o.prompt.0),
        "expected_match": o.case.expected_match,
        "matched": o.matched,
        "keywords": o.keywords,
        "status": status,
        "message": message,
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn excerpts_are_one_line_and_truncated() {
        assert_eq!(excerpt("a\nb\"c", 10), "\"a\\nb\\\"c\"");
        assert_eq!(excerpt("abcdef", 3), "\"abc…\"");
        assert_eq!(excerpt("a\u{2067}b", 9), "\"a\\u{2067}b\"");
    }
}
