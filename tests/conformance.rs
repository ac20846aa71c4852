//! Differential conformance: novac against the reference implementation.
//!
//! The expected data under `tests/data/` was produced by running
//! nova-hunting 0.3.1 (`scripts/reference/`), and is checked in:
//!
//! * `parse/*.nov` + `parse/reference.json`: novac accepts exactly the files
//!   the reference accepts, except the documented exceptions in
//!   `parse/exceptions.json` (conditions the reference accepts but can never
//!   match, and its accidental rejections).
//! * `scan/cases/*.nov` + `*.prompts.json` + `scan/expected/*.json`: every
//!   rule × prompt gives the reference's verdict, matching keywords and
//!   fail-closed warnings.
//! * `scan/expected/public/*.json`: the same for the public NOVA rules in
//!   `../shared/corpus/nova-rules` (read from there, never copied).

use novac::{Compiler, Scanner};
use novac_conformance::{
    candidate_prompts, data_dir, expand_prompt, public_rules, read_json, rule_chunks,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

fn compile_text(origin: &str, text: &str) -> Result<novac::Rules, String> {
    let mut compiler = Compiler::new();
    match compiler.add_named_source(origin, text) {
        // No model here: semantic rules fail closed, as in the reference's expectations.
        Ok(_) => compiler
            .allow_missing_model(true)
            .build()
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn public_rules_check_clean() {
    let Some(dir) = public_rules() else { return };
    let mut compiler = Compiler::new();
    let result_ok = compiler.add_path(&dir).is_ok();
    let errors: Vec<String> = compiler
        .reports()
        .iter()
        .flat_map(|r| {
            r.diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(move |d| format!("{}: {}", r.origin, d.message))
        })
        .collect();
    assert!(
        errors.is_empty() && result_ok,
        "public rules have errors: {errors:#?}"
    );
    let rules = compiler
        .allow_missing_model(true)
        .build()
        .expect("public rules build");
    assert_eq!(rules.len(), 49);
}

#[test]
fn parse_acceptance_matches_reference() {
    let dir = data_dir().join("parse");
    let reference = read_json(&dir.join("reference.json"));
    let exceptions = read_json(&dir.join("exceptions.json"));
    let mut mismatches = Vec::new();
    let mut stale_exceptions = Vec::new();
    let entries = reference.as_object().expect("reference.json is an object");
    assert!(
        entries.len() >= 50,
        "the parse corpus is unexpectedly small"
    );
    for (file, expected) in entries {
        let text = String::from_utf8_lossy(&std::fs::read(dir.join(file)).expect("corpus file"))
            .into_owned();
        let ref_accepts = expected["accepted"].as_bool().expect("accepted flag");
        let mut compiler = Compiler::new();
        let novac_accepts = compiler.add_named_source(file, &text).is_ok();
        let documented = exceptions.get(file).is_some();
        // Each documented exception must be of its declared kind.
        match exceptions.get(file).and_then(|e| e["kind"].as_str()) {
            Some("always-false") => assert!(
                expected["always_false"].as_bool() == Some(true),
                "{file}: not always false in the reference"
            ),
            Some("accidental-rejection") => {
                let warned = compiler
                    .reports()
                    .iter()
                    .flat_map(|r| &r.diagnostics)
                    .any(|d| ["W102", "W103", "W109"].contains(&d.code));
                assert!(warned, "{file}: accepted without a portability warning");
            }
            Some("deliberate-rejection") | None => {}
            Some(other) => panic!("{file}: unknown exception kind {other}"),
        }
        match (ref_accepts == novac_accepts, documented) {
            (true, false) => {}
            (false, true) => {}
            (true, true) => stale_exceptions.push(file.clone()),
            (false, false) => mismatches.push(format!(
                "{file}: reference {} ({}), novac {}",
                if ref_accepts { "accepts" } else { "rejects" },
                expected["error"].as_str().unwrap_or(""),
                if novac_accepts { "accepts" } else { "rejects" }
            )),
        }
    }
    assert!(
        mismatches.is_empty(),
        "acceptance differs from the reference:\n{}",
        mismatches.join("\n")
    );
    assert!(
        stale_exceptions.is_empty(),
        "documented exceptions that no longer differ: {stale_exceptions:?}"
    );
}

/// Compares novac's verdicts with one expected rule-results object; returns mismatch descriptions.
/// Rule-level documented differences, keyed `case/Rule`: the kind says what may differ.
fn rule_exception<'a>(exceptions: &'a Value, case: &str, rule: &str) -> Option<&'a str> {
    exceptions
        .get(format!("{case}/{rule}"))
        .and_then(|e| e["kind"].as_str())
}

fn compare(
    rules: &novac::Rules,
    prompt: &str,
    expected: &serde_json::Map<String, Value>,
    label: &str,
    allowed: &dyn Fn(&str) -> Option<String>,
) -> Vec<String> {
    let result = Scanner::new(rules).scan(prompt);
    let by_name: HashMap<&str, &novac::RuleResult> =
        result.rules.iter().map(|r| (r.rule.as_str(), r)).collect();
    let mut out = Vec::new();
    for (name, exp) in expected {
        let got = by_name.get(name.as_str());
        let matched = got.is_some_and(|r| r.matched);
        let mut keywords: Vec<String> = got
            .map(|r| r.keywords.iter().map(|k| k.var.to_string()).collect())
            .unwrap_or_default();
        keywords.sort();
        let warnings: Vec<String> = got
            .map(|r| r.warnings.iter().map(|w| w.to_string()).collect())
            .unwrap_or_default();
        let exp_matched = exp["matched"].as_bool().unwrap_or(false);
        let mut exp_keywords: Vec<String> = exp["keywords"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        exp_keywords.sort();
        let exp_warnings: Vec<String> = exp["warnings"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        // Keywords are compared when the reference evaluated the keyword stage
        // to a verdict; a fail-closed rule reports no keywords in the reference.
        let keywords_differ = exp_warnings.is_empty() && exp_matched && keywords != exp_keywords;
        let (check_verdict, check_warnings) = match allowed(name).as_deref() {
            // The reference fails closed where the verdict is decided, or skips a
            // stage it should run: only the warnings differ.
            Some("spurious-fail-closed") | Some("missed-stage") => (true, false),
            Some("verdict-differs") => (false, false),
            _ => (true, true),
        };
        let differs = (check_verdict && (matched != exp_matched || keywords_differ))
            || (check_warnings && warnings != exp_warnings);
        if differs {
            out.push(format!(
                "{label} rule {name}: expected matched={exp_matched} keywords={exp_keywords:?} warnings={exp_warnings:?}, \
                 got matched={matched} keywords={keywords:?} warnings={warnings:?}"
            ));
        }
    }
    out
}

#[test]
fn scan_verdicts_match_reference() {
    let dir = data_dir().join("scan");
    let mut cases: Vec<_> = std::fs::read_dir(dir.join("cases"))
        .expect("scan cases")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "nov"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty());
    let exceptions = read_json(&dir.join("exceptions.json"));
    let mut failures = Vec::new();
    let mut pairs = 0;
    for case in cases {
        let name = case
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("case name")
            .to_string();
        let text = std::fs::read_to_string(&case).expect("case rules");
        let expected = read_json(&dir.join("expected").join(format!("{name}.json")));
        if exceptions.get(&name).and_then(|e| e["kind"].as_str()) == Some("always-false") {
            // novac rejects these rules; the reference must never have matched them.
            assert!(
                compile_text(&name, &text).is_err(),
                "{name}: novac accepts an always-false rule set"
            );
            let controls = exceptions[&name]["control_rules"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for item in expected["results"].as_array().expect("results") {
                for (rule, verdict) in item["rules"].as_object().expect("rules") {
                    if controls.contains(&Value::String(rule.clone())) {
                        continue;
                    }
                    assert_eq!(
                        verdict["matched"],
                        Value::Bool(false),
                        "{name}: reference matched {rule}"
                    );
                }
            }
            continue;
        }
        // Each rule is compiled on its own, so that a rule novac rejects on
        // purpose (documented below) does not hide the verdicts of the others.
        let mut compiled = HashMap::new();
        for (rule, chunk) in rule_chunks(&text) {
            match (
                compile_text(&name, &chunk),
                rule_exception(&exceptions, &name, &rule),
            ) {
                (Ok(rules), None) => {
                    compiled.insert(rule, rules);
                }
                (Err(_), Some("deliberate-rejection")) => {}
                (Ok(_), Some("deliberate-rejection")) => failures.push(format!(
                    "{name}/{rule}: documented as rejected, but compiles"
                )),
                (Ok(rules), Some(_)) => {
                    compiled.insert(rule, rules);
                }
                (Err(e), _) => failures.push(format!("{name}/{rule}: does not compile: {e}")),
            }
        }
        let prompts = read_json(&case.with_extension("prompts.json"));
        let prompts: Vec<String> = prompts
            .as_array()
            .expect("prompt list")
            .iter()
            .map(expand_prompt)
            .collect();
        for item in expected["results"].as_array().expect("results") {
            let i = item["prompt"].as_u64().expect("prompt index") as usize;
            let label = format!("{name}#{i}");
            if exceptions.get(&label).is_some() {
                continue;
            }
            let allowed = |rule: &str| rule_exception(&exceptions, &name, rule).map(String::from);
            for (rule, verdict) in item["rules"].as_object().expect("rules") {
                let Some(rules) = compiled.get(rule) else {
                    continue;
                };
                let mut one = serde_json::Map::new();
                one.insert(rule.clone(), verdict.clone());
                pairs += 1;
                failures.extend(compare(rules, &prompts[i], &one, &label, &allowed));
            }
        }
    }
    assert!(pairs > 100, "too few (rule, prompt) pairs: {pairs}");
    assert!(
        failures.is_empty(),
        "{} differences from the reference:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn public_rule_verdicts_match_reference() {
    let Some(public) = public_rules() else { return };
    let expected_dir = data_dir().join("scan").join("expected").join("public");
    let prompts = candidate_prompts(&public);
    let exceptions = read_json(&data_dir().join("scan").join("exceptions.json"));
    let mut failures = Vec::new();
    let mut pairs = 0;
    let mut files: Vec<_> = std::fs::read_dir(&expected_dir)
        .expect("public expectations")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files {
        let expected = read_json(&file);
        let rel = expected["rule_file"]
            .as_str()
            .expect("rule_file")
            .to_string();
        let text =
            String::from_utf8_lossy(&std::fs::read(public.join(&rel)).expect("public rule file"))
                .into_owned();
        let rules = compile_text(&rel, &text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let sources = expected["prompts"].as_array().expect("prompts");
        let mut missing = BTreeMap::new();
        for item in expected["results"].as_array().expect("results") {
            let i = item["prompt"].as_u64().expect("prompt index") as usize;
            let source = &sources[i];
            let Some(prompt) = prompts.get(source["sha256"].as_str().expect("sha256")) else {
                *missing
                    .entry(source["source"].as_str().unwrap_or("?").to_string())
                    .or_insert(0) += 1;
                continue;
            };
            let rules_exp = item["rules"].as_object().expect("rules");
            pairs += rules_exp.len();
            let allowed = |rule: &str| rule_exception(&exceptions, &rel, rule).map(String::from);
            failures.extend(compare(
                &rules,
                prompt,
                rules_exp,
                &format!("{rel} {}", source["source"]),
                &allowed,
            ));
        }
        assert!(
            missing.is_empty(),
            "{rel}: prompts not found (corpus changed?): {missing:?}"
        );
    }
    assert!(pairs > 100, "too few (rule, prompt) pairs: {pairs}");
    assert!(
        failures.is_empty(),
        "{} differences from the reference:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn deeply_nested_condition_is_an_error_not_a_crash() {
    for depth in [65usize, 1_000, 10_000] {
        let cond = format!("{}$a{}", "(".repeat(depth), ")".repeat(depth));
        let source = format!("rule Deep {{\n keywords:\n  $a = \"x\"\n condition:\n  {cond}\n}}\n");
        let err = compile_text("deep.nov", &source).expect_err("too deep");
        assert!(err.contains("E009"), "{err}");
        let nots = format!(
            "rule Deep {{\n keywords:\n  $a = \"x\"\n condition:\n  {}$a\n}}\n",
            "not ".repeat(depth)
        );
        assert!(compile_text("deep.nov", &nots)
            .expect_err("too deep")
            .contains("E009"));
    }
    // The limit itself compiles.
    let ok = format!("{}$a{}", "(".repeat(60), ")".repeat(60));
    let source = format!("rule Deep {{\n keywords:\n  $a = \"x\"\n condition:\n  {ok}\n}}\n");
    assert!(compile_text("deep.nov", &source).is_ok());
}
