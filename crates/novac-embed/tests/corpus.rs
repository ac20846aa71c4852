//! The public rules (`../shared/corpus/nova-rules`) on the prompts of their
//! `tests/*.yaml`, with the real model: every rule that uses semantics must
//! give the reference's verdict, warnings and semantic scores (1e-4), as
//! recorded by `scripts/reference/semantic_pairs.py` in
//! `tests/data/corpus_semantic.json` (the reference with the same model and
//! no LLM, so rules the LLM could still change fail closed in both).
//! Skips with a message without the model or without `../shared`.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

/// `(id, prompt)` of every YAML prompt, ids as the generator writes them.
fn yaml_prompts(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("tests"))
        .expect("tests dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&file).expect("read")).expect("yaml");
        for (ti, test) in doc["tests"].as_sequence().into_iter().flatten().enumerate() {
            let items: Vec<serde_yaml::Value> = match test.get("prompts") {
                Some(p) => p.as_sequence().cloned().unwrap_or_default(),
                None => vec![test.get("prompt").cloned().unwrap_or_default()],
            };
            for (pi, prompt) in items.iter().enumerate() {
                if let Some(p) = prompt.as_str() {
                    out.push((format!("{name}#{ti}.{pi}"), p.to_string()));
                }
            }
        }
    }
    out
}

#[test]
fn semantic_rules_give_the_reference_verdicts_on_the_public_tests() {
    let Some(model) = common::model() else { return };
    let Some(shared) = common::shared() else {
        return;
    };
    let dir = shared.join("corpus/nova-rules");
    if !dir.join("tests").is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    let expected: serde_json::Value =
        serde_json::from_str(include_str!("data/corpus_semantic.json")).expect("json");
    let model: Arc<dyn novac::Embedder> = Arc::new(model);
    let rules = novac::Compiler::new()
        .add_path(&dir)
        .expect("public rules compile")
        .embedder(model)
        .build()
        .expect("build");
    let prompts: BTreeMap<String, String> = yaml_prompts(&dir).into_iter().collect();
    let mut scanner = novac::Scanner::new(&rules).options(novac::ScanOptions {
        debug: true,
        ..Default::default()
    });
    let exceptions: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(include_str!("data/corpus_exceptions.json")).expect("exceptions json");
    let mut excepted = BTreeMap::new();
    let mut failures = Vec::new();
    let (mut checked, mut matched, mut scores, mut differing) = (0, 0, 0, 0);
    for case in expected["cases"].as_array().expect("cases") {
        let id = case["source"].as_str().expect("source");
        let prompt = prompts
            .get(id)
            .unwrap_or_else(|| panic!("{id}: not in the YAML files; regenerate the data"));
        let result = scanner.scan(prompt);
        for (rule, want) in case["rules"].as_object().expect("rules") {
            let got = result
                .rules
                .iter()
                .find(|r| &r.rule == rule)
                .unwrap_or_else(|| panic!("{id}: no result for {rule}"));
            let want_warnings: Vec<&str> = want["warnings"]
                .as_array()
                .expect("warnings")
                .iter()
                .map(|w| w.as_str().expect("str"))
                .collect();
            checked += 1;
            matched += usize::from(got.matched);
            if let Some(exception) = exceptions.get(rule.as_str()) {
                // A documented difference: the verdict agrees unless stated otherwise.
                let may_differ = exception["verdict_may_differ"].as_bool() == Some(true);
                if got.matched != want["matched"] {
                    if may_differ {
                        differing += 1;
                    } else {
                        failures.push(format!(
                            "{id} {rule}: matched {} (reference {})",
                            got.matched, want["matched"]
                        ));
                    }
                }
                excepted.insert(
                    rule.clone(),
                    exception["reason"].as_str().unwrap_or("").to_string(),
                );
                continue;
            }
            if got.matched != want["matched"] {
                failures.push(format!(
                    "{id} {rule}: matched {} (reference {})",
                    got.matched, want["matched"]
                ));
            }
            if got.warnings != want_warnings {
                failures.push(format!(
                    "{id} {rule}: warnings {:?} (reference {want_warnings:?})",
                    got.warnings
                ));
            }
            let want_scores = want["semantic_scores"].as_object().expect("scores");
            let got_scores: BTreeMap<&str, f32> = got
                .semantics
                .iter()
                .map(|s| (s.var.as_str(), s.score))
                .collect();
            if got_scores.keys().collect::<Vec<_>>() != want_scores.keys().collect::<Vec<_>>() {
                failures.push(format!(
                    "{id} {rule}: evaluated {:?} (reference {:?})",
                    got_scores.keys(),
                    want_scores.keys()
                ));
                continue;
            }
            for (var, w) in want_scores {
                let w = w.as_f64().expect("f64") as f32;
                let g = got_scores[var.as_str()];
                if (g - w).abs() > 1e-4 {
                    failures.push(format!("{id} {rule} {var}: novac {g}, reference {w}"));
                }
                scores += 1;
            }
        }
    }
    for (rule, reason) in &excepted {
        eprintln!("exception: {rule}: {reason}");
    }
    eprintln!("{differing} documented verdict differences (prefix wildcards novac evaluates)");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{checked} rule verdicts ({matched} matched), {scores} scores agree with the reference"
    );
    assert!(checked >= 100 && matched > 0);
}
