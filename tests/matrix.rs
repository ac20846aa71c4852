//! The conformance matrix: one driver runs one corpus through every way of
//! compiling and scanning, and each must give the default engine's
//! outcome, rule by rule and prompt by prompt (verdict, matching keywords
//! with their spans, fail-closed warnings).
//!
//! The corpus: the scan cases (`tests/data/scan/cases`, compiled whole, or
//! rule by rule when a rule is rejected on purpose), the public NOVA rules
//! with their test prompts (when `../shared/corpus/nova-rules` is present),
//! and rule sets and prompts drawn from the property tests' generators
//! (`generators.rs`, fixed seed).
//!
//! The configurations ([`Config`]): the default engine; the fallback tiers
//! forced on (literals in NFAs instead of DFAs, every regex atomless); a
//! bundle round-trip; `StreamScanner` fed the whole prompt and byte by byte;
//! the conditions evaluated by the `interp` tree-walker instead of the
//! bytecode; and `novac scan --threads 2` (the CLI binary next to this
//! test; skipped with a message when it has not been built). The Python
//! bindings' `Rules.scan` runs the same corpus in
//! `bindings/python/tests/test_matrix.py`.
//!
//! The default engine itself is held to the reference implementation by
//! `conformance.rs`. Differences a configuration is allowed are listed in
//! ONE file, `tests/data/matrix/exceptions.json` (`{"config": {"item":
//! "why"}}`), read by both drivers; an entry that no longer differs fails.
//!
//! Cost: 12,000 scans per configuration (prompts over 64 KiB only in the
//! tier configurations, see [`MAX_PROMPT`]) plus one CLI process per corpus
//! item; about 100 s in a debug build on a busy 2-core machine.

use novac::{
    interp, CompileLimits, CompileOptions, Compiler, Rules, ScanOptions, ScanResult, Scanner,
    StreamIndex, StreamScanner, Truth, VarState,
};
use novac_conformance::generators::{keyword, rule_source, small_text};
use novac_conformance::{data_dir, public_cases, read_json, rule_chunks, scan_cases};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

/// One rule's outcome on one prompt, as every configuration must give it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RuleOutcome {
    rule: String,
    matched: bool,
    /// Matching keyword variables with their first span, sorted.
    keywords: Vec<(String, usize, usize)>,
    warnings: Vec<String>,
}

/// The outcomes of the rules that matched or failed closed, sorted by rule.
type Outcome = Vec<RuleOutcome>;

fn outcome(result: &ScanResult) -> Outcome {
    let mut out: Outcome = result
        .rules
        .iter()
        .filter(|r| r.matched || !r.warnings.is_empty())
        .map(|r| {
            let mut keywords: Vec<(String, usize, usize)> = r
                .keywords
                .iter()
                .map(|k| (k.var.to_string(), k.start, k.end))
                .collect();
            keywords.sort();
            RuleOutcome {
                rule: r.rule.to_string(),
                matched: r.matched,
                keywords,
                warnings: r.warnings.iter().map(|w| w.to_string()).collect(),
            }
        })
        .collect();
    out.sort();
    out
}

/// One corpus item: a rule source and the prompts it is scanned with.
struct Item {
    /// `case:<name>`, `case:<name>/<rule>`, `public:<path>` or `generated:<n>`.
    label: String,
    source: String,
    prompts: Vec<String>,
}

/// Generated items: rule sets of 1–7 keywords × 1–5 prompts.
const GENERATED: usize = 120;

fn corpus() -> Vec<Item> {
    let mut items = Vec::new();
    for case in scan_cases() {
        if compile(&case.text, CompileLimits::default()).is_ok() {
            items.push(Item {
                label: format!("case:{}", case.name),
                source: case.text,
                prompts: case.prompts,
            });
        } else {
            // Rules rejected on purpose are left out (conformance.rs checks them).
            for (rule, chunk) in rule_chunks(&case.text) {
                if compile(&chunk, CompileLimits::default()).is_ok() {
                    items.push(Item {
                        label: format!("case:{}/{rule}", case.name),
                        source: chunk,
                        prompts: case.prompts.clone(),
                    });
                }
            }
        }
    }
    for case in public_cases() {
        items.push(Item {
            label: format!("public:{}", case.rel),
            source: case.text,
            prompts: case.prompts,
        });
    }
    let mut runner = TestRunner::deterministic();
    let strategy = (
        proptest::collection::vec(keyword(), 1..8),
        proptest::collection::vec(small_text(24), 1..6),
    );
    for n in 0..GENERATED {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let (keywords, prompts) = tree.current();
        items.push(Item {
            label: format!("generated:{n}"),
            source: rule_source(&keywords),
            prompts,
        });
    }
    items
}

fn compile(source: &str, limits: CompileLimits) -> Result<Rules, String> {
    let mut compiler = Compiler::with_options(CompileOptions {
        limits,
        ..CompileOptions::default()
    });
    compiler.add_source(source).map_err(|e| e.to_string())?;
    // No model: semantic rules fail closed, as in the reference's expectations.
    compiler
        .allow_missing_model(true)
        .build()
        .map_err(|e| e.to_string())
}

/// The ways of compiling and scanning that must agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Config {
    /// `Compiler::new()`, `Scanner::scan` (the oracle of the others).
    Default,
    /// Every literal automaton an NFA (`dfa_max_pattern_bytes: 0`).
    NfaLiterals,
    /// Every keyword regex planned atomless (run on every prompt).
    AtomlessRegexes,
    /// Both fallbacks at once.
    AllFallbacks,
    /// `Rules::serialize` then `Rules::deserialize`.
    Bundle,
    /// `StreamScanner`, the prompt in one chunk.
    StreamWhole,
    /// `StreamScanner`, one byte per chunk.
    StreamBytes,
    /// The `interp` tree-walker on the scanned variables, not the bytecode.
    Interpreter,
    /// `novac scan --threads 2 --format jsonl`.
    Cli,
}

impl Config {
    const ALL: [Config; 9] = [
        Config::Default,
        Config::NfaLiterals,
        Config::AtomlessRegexes,
        Config::AllFallbacks,
        Config::Bundle,
        Config::StreamWhole,
        Config::StreamBytes,
        Config::Interpreter,
        Config::Cli,
    ];

    /// Whether prompts over [`MAX_PROMPT`] are scanned too.
    fn long_prompts(self) -> bool {
        matches!(self, Config::NfaLiterals | Config::AtomlessRegexes)
    }

    fn name(self) -> &'static str {
        match self {
            Config::Default => "default",
            Config::NfaLiterals => "nfa-literals",
            Config::AtomlessRegexes => "atomless-regexes",
            Config::AllFallbacks => "all-fallbacks",
            Config::Bundle => "bundle",
            Config::StreamWhole => "stream-whole",
            Config::StreamBytes => "stream-bytes",
            Config::Interpreter => "interpreter",
            Config::Cli => "cli-threads-2",
        }
    }
}

fn scan_all(rules: &Rules, prompts: &[String]) -> Vec<Outcome> {
    let mut scanner = Scanner::new(rules);
    prompts.iter().map(|p| outcome(&scanner.scan(p))).collect()
}

/// `prompts` with those over [`MAX_PROMPT`] blanked (their outcome is not
/// compared), for the configurations that skip them.
fn short(prompts: &[String]) -> Vec<String> {
    prompts
        .iter()
        .map(|p| {
            if p.len() > MAX_PROMPT {
                String::new()
            } else {
                p.clone()
            }
        })
        .collect()
}

fn with_limits(item: &Item, limits: CompileLimits) -> Result<Vec<Outcome>, String> {
    Ok(scan_all(&compile(&item.source, limits)?, &item.prompts))
}

/// The longest prompt most configurations scan. The megabyte prompts of
/// `large-prompts` (10 MB in all) cost 15 s per configuration in a debug
/// build, a minute for a stream (it steps its automata byte by byte); they
/// test long inputs, which matter to the matcher tiers, so only the tier
/// configurations ([`Config::long_prompts`]) scan them. The stream's window
/// over long streams has its own tests in `crates/novac/src/stream`.
const MAX_PROMPT: usize = 64 << 10;

fn stream(rules: &Rules, prompts: &[String], bytewise: bool) -> Result<Vec<Outcome>, String> {
    let index = StreamIndex::new(rules).map_err(|e| e.to_string())?;
    let mut scanner = StreamScanner::new(&index);
    let mut out = Vec::new();
    for prompt in prompts {
        scanner.reset();
        if !bytewise {
            scanner.push(prompt);
        } else {
            for byte in prompt.as_bytes() {
                scanner.push_bytes(std::slice::from_ref(byte));
            }
        }
        out.push(outcome(&scanner.finish().result));
    }
    Ok(out)
}

/// The verdicts recomputed by `interp::eval` from the variables a debug
/// scan reports.
fn interpreted(rules: &Rules, prompts: &[String]) -> Result<Vec<Outcome>, String> {
    let mut scanner = Scanner::new(rules).options(ScanOptions {
        debug: true,
        ..ScanOptions::default()
    });
    let mut out = Vec::new();
    for prompt in prompts {
        let mut result = scanner.scan(prompt);
        for r in &mut result.rules {
            let info = rules
                .rule(r.index)
                .ok_or_else(|| format!("no rule {}", r.index))?;
            let ir = info.ir();
            let values = r
                .variables
                .as_ref()
                .ok_or("a debug scan reported no variables")?;
            let mut state = VarState::new(ir.vars.len());
            for (i, var) in ir.vars.iter().enumerate() {
                let value = values
                    .iter()
                    .find(|v| *v.var == *var.name)
                    .and_then(|v| v.value);
                state.set(i, value.map_or(Truth::Unknown, Truth::from_bool));
            }
            r.matched = interp::eval(&ir.condition, &state) == Truth::True;
        }
        out.push(outcome(&result));
    }
    Ok(out)
}

/// `$CARGO_TARGET_DIR/debug/novac`, found next to this test's executable.
fn cli_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe
        .parent()?
        .parent()?
        .join(format!("novac{}", std::env::consts::EXE_SUFFIX));
    bin.is_file().then_some(bin)
}

fn cli(bin: &PathBuf, item: &Item, n: usize) -> Result<Vec<Outcome>, String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("matrix");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let rules = dir.join(format!("{n}.nov"));
    let input = dir.join(format!("{n}.jsonl"));
    std::fs::write(&rules, &item.source).map_err(|e| e.to_string())?;
    let lines: Vec<String> = item
        .prompts
        .iter()
        .enumerate()
        .map(|(i, p)| serde_json::json!({"id": i, "prompt": p}).to_string())
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").map_err(|e| e.to_string())?;
    let output = Command::new(bin)
        .args([
            "scan",
            "--threads",
            "2",
            "--format",
            "jsonl",
            "--input-format",
            "jsonl",
        ])
        .arg("--rules")
        .arg(&rules)
        .arg("--input")
        .arg(&input)
        .output()
        .map_err(|e| e.to_string())?;
    if !matches!(output.status.code(), Some(0 | 1)) {
        return Err(format!(
            "novac scan exited {:?}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut by_id: BTreeMap<u64, Outcome> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let v: Value = serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))?;
        let id = v["id"].as_u64().ok_or("no id")?;
        let mut out: Outcome = Vec::new();
        for r in v["results"].as_array().into_iter().flatten() {
            let matched = r["matched"].as_bool().unwrap_or(false);
            let warnings: Vec<String> = r["warnings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|w| w.as_str().map(String::from))
                .collect();
            if !matched && warnings.is_empty() {
                continue;
            }
            let mut keywords: Vec<(String, usize, usize)> = r["spans"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(var, span)| {
                    let at = |i: usize| span[i].as_u64().unwrap_or(u64::MAX) as usize;
                    (var.clone(), at(0), at(1))
                })
                .collect();
            keywords.sort();
            out.push(RuleOutcome {
                rule: r["rule"].as_str().unwrap_or_default().to_string(),
                matched,
                keywords,
                warnings,
            });
        }
        out.sort();
        by_id.insert(id, out);
    }
    Ok((0..item.prompts.len() as u64)
        .map(|i| by_id.remove(&i).unwrap_or_default())
        .collect())
}

fn run(
    config: Config,
    item: &Item,
    default: &Rules,
    n: usize,
) -> Option<Result<Vec<Outcome>, String>> {
    let nfa = CompileLimits {
        dfa_max_pattern_bytes: 0,
        ..CompileLimits::default()
    };
    let atomless = CompileLimits {
        atomless_regexes: true,
        ..CompileLimits::default()
    };
    let long = item.prompts.iter().any(|p| p.len() > MAX_PROMPT);
    let shortened;
    let item = if long && !config.long_prompts() {
        shortened = Item {
            label: item.label.clone(),
            source: item.source.clone(),
            prompts: short(&item.prompts),
        };
        &shortened
    } else {
        item
    };
    Some(match config {
        Config::Default => Ok(scan_all(default, &item.prompts)),
        Config::NfaLiterals => with_limits(item, nfa),
        Config::AtomlessRegexes => with_limits(item, atomless),
        Config::AllFallbacks => with_limits(
            item,
            CompileLimits {
                atomless_regexes: true,
                ..nfa
            },
        ),
        Config::Bundle => default
            .serialize()
            .map_err(|e| e.to_string())
            .and_then(|bytes| Rules::deserialize(&bytes).map_err(|e| e.to_string()))
            .map(|rules| scan_all(&rules, &item.prompts)),
        Config::StreamWhole => stream(default, &item.prompts, false),
        Config::StreamBytes => stream(default, &item.prompts, true),
        Config::Interpreter => interpreted(default, &item.prompts),
        Config::Cli => cli(&cli_binary()?, item, n),
    })
}

#[test]
fn every_configuration_gives_the_default_outcome() {
    let items = corpus();
    let cases = items
        .iter()
        .filter(|i| i.label.starts_with("case:"))
        .count();
    assert!(cases >= 20, "too few scan cases: {cases}");
    let exceptions = read_json(&data_dir().join("matrix").join("exceptions.json"));
    let allowed = |config: Config, label: &str| {
        exceptions
            .get(config.name())
            .and_then(|c| c.get(label))
            .is_some()
    };
    if cli_binary().is_none() {
        eprintln!(
            "matrix: SKIPPING {}: no novac binary next to this test (cargo build -p novac-cli)",
            Config::Cli.name()
        );
    }
    let mut failures = Vec::new();
    let mut used: BTreeSet<(Config, String)> = BTreeSet::new();
    let mut pairs: BTreeMap<Config, usize> = BTreeMap::new();
    let mut time: BTreeMap<Config, std::time::Duration> = BTreeMap::new();
    for (n, item) in items.iter().enumerate() {
        let default = match compile(&item.source, CompileLimits::default()) {
            Ok(rules) => rules,
            Err(e) => {
                failures.push(format!("{}: does not compile: {e}", item.label));
                continue;
            }
        };
        let expected = scan_all(&default, &item.prompts);
        for config in Config::ALL {
            let start = std::time::Instant::now();
            let Some(got) = run(config, item, &default, n) else {
                continue;
            };
            *time.entry(config).or_default() += start.elapsed();
            let compared =
                |i: &usize| config.long_prompts() || item.prompts[*i].len() <= MAX_PROMPT;
            *pairs.entry(config).or_default() += (0..item.prompts.len()).filter(compared).count();
            let differs = match got {
                Err(e) => Some(format!("fails: {e}")),
                Ok(got) => got
                    .iter()
                    .zip(&expected)
                    .enumerate()
                    .filter(|(i, _)| compared(i))
                    .find(|(_, (g, e))| g != e)
                    .map(|(i, (g, e))| {
                        format!("prompt {i}: {config:?} gives {g:?}, the default {e:?}")
                    }),
            };
            match (differs, allowed(config, &item.label)) {
                (Some(d), false) => failures.push(format!("{} {}: {d}", config.name(), item.label)),
                (Some(_), true) => {
                    used.insert((config, item.label.clone()));
                }
                (None, _) => {}
            }
        }
    }
    // Every exception must still be needed.
    for (config, entries) in exceptions.as_object().into_iter().flatten() {
        if config.starts_with('_') {
            continue;
        }
        for label in entries.as_object().into_iter().flatten().map(|(k, _)| k) {
            let Some(c) = Config::ALL.into_iter().find(|c| c.name() == config) else {
                if config != "python" {
                    failures.push(format!("exceptions.json: unknown configuration {config}"));
                }
                continue;
            };
            if !used.contains(&(c, label.clone())) {
                failures.push(format!(
                    "exceptions.json: {config} {label} no longer differs"
                ));
            }
        }
    }
    eprintln!("matrix: prompts scanned per configuration: {pairs:?}");
    eprintln!("matrix: time per configuration: {time:?}");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
