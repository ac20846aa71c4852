//! Shared helpers of the cross-crate tests: data locations, the corpus
//! (scan cases, the public rules' test prompts, the reference's
//! expectations) and the property tests' rule generators. Used by
//! `conformance.rs`, `properties.rs` and `matrix.rs`; costs nothing until
//! called (the corpus is read from disk on demand).

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub mod generators;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// `tests/data` in the workspace.
pub fn data_dir() -> PathBuf {
    workspace_root().join("tests").join("data")
}

/// The public NOVA rules (`../shared/corpus/nova-rules`), when present.
pub fn public_rules() -> Option<PathBuf> {
    let dir = workspace_root()
        .parent()?
        .join("shared")
        .join("corpus")
        .join("nova-rules");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

/// Reads a JSON file (panics with the path on error: test data).
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Splits a rule file into (rule name, rule text) at each line starting with `rule NAME`.
pub fn rule_chunks(text: &str) -> Vec<(String, String)> {
    let mut chunks: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let name = trimmed.strip_prefix("rule ").map(|rest| {
            rest.trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        });
        match name {
            Some(name) if !name.is_empty() => chunks.push((name, line.to_string())),
            _ => {
                if let Some((_, chunk)) = chunks.last_mut() {
                    chunk.push_str(line);
                }
            }
        }
    }
    chunks
}

/// A prompt item of a `*.prompts.json` file.
pub fn expand_prompt(item: &Value) -> String {
    match item {
        Value::String(s) => s.clone(),
        Value::Object(o) => {
            let get = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("");
            let count = o.get("count").and_then(Value::as_u64).unwrap_or(0) as usize;
            format!(
                "{}{}{}",
                get("prefix"),
                get("repeat").repeat(count),
                get("suffix")
            )
        }
        other => panic!("bad prompt item {other}"),
    }
}

/// The hex SHA-256 of `text` (how expectations name prompts).
pub fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every prompt a public-rules expectation may refer to, by sha256.
pub fn candidate_prompts(public: &Path) -> HashMap<String, String> {
    let mut prompts = HashMap::new();
    for yaml in ["tests/basic_rule_tests.yaml", "tests/injection_tests.yaml"] {
        let Ok(text) = std::fs::read_to_string(public.join(yaml)) else {
            continue;
        };
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
        for test in doc["tests"].as_sequence().into_iter().flatten() {
            let mut items: Vec<&str> = test["prompt"].as_str().into_iter().collect();
            items.extend(
                test["prompts"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.as_str()),
            );
            for p in items {
                prompts.insert(sha256(p), p.to_string());
            }
        }
    }
    let cases = data_dir().join("scan").join("cases");
    for entry in std::fs::read_dir(cases).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.to_string_lossy().ends_with(".prompts.json") {
            for item in read_json(&path).as_array().into_iter().flatten() {
                let p = expand_prompt(item);
                prompts.insert(sha256(&p), p);
            }
        }
    }
    prompts
}

/// One `tests/data/scan/cases/*.nov` file with its prompts.
#[derive(Clone, Debug)]
pub struct ScanCase {
    /// The file stem (the key of its expectations and exceptions).
    pub name: String,
    /// The rule source.
    pub text: String,
    /// Its prompts (`*.prompts.json`, expanded).
    pub prompts: Vec<String>,
}

/// Every scan case, sorted by name.
pub fn scan_cases() -> Vec<ScanCase> {
    let dir = data_dir().join("scan").join("cases");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "nov"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let prompts = read_json(&path.with_extension("prompts.json"))
                .as_array()
                .map(|a| a.iter().map(expand_prompt).collect())
                .unwrap_or_default();
            ScanCase {
                name,
                text,
                prompts,
            }
        })
        .collect()
}

/// One public rule file with the prompts its expectations were made on.
#[derive(Clone, Debug)]
pub struct PublicCase {
    /// The file's path inside the public rules (`rules/x.nov`).
    pub rel: String,
    /// The rule source.
    pub text: String,
    /// The prompts found (by SHA-256) among the public tests and our cases.
    pub prompts: Vec<String>,
}

/// The public rules with their test prompts (empty when the public rules
/// are absent).
pub fn public_cases() -> Vec<PublicCase> {
    let Some(public) = public_rules() else {
        return Vec::new();
    };
    let prompts = candidate_prompts(&public);
    let dir = data_dir().join("scan").join("expected").join("public");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|file| {
            let expected = read_json(&file);
            let rel = expected["rule_file"].as_str()?.to_string();
            let bytes = std::fs::read(public.join(&rel)).ok()?;
            let found = expected["prompts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| prompts.get(p["sha256"].as_str()?).cloned())
                .collect();
            Some(PublicCase {
                rel,
                text: String::from_utf8_lossy(&bytes).into_owned(),
                prompts: found,
            })
        })
        .collect()
}
