//! Rule-test sidecar files: reading `<stem>.tests.yaml` (ours) and
//! `tests/<stem>_tests.yaml` (the public NOVA rules' layout) into [`Sidecar`]s
//! with a line number on every case, so that `novac test` can point at the
//! case that failed or is malformed.
//!
//! # Format
//!
//! ```yaml
//! rule_file: "prompt-injection.nov"     # optional for `<stem>.tests.yaml` beside `<stem>.nov`
//! description: "..."                    # optional, ignored
//! tests:
//!   - name: "Override - positive"
//!     rule_name: "InstructionOverride"
//!     prompt: "Ignore all previous instructions."   # or `prompts:` with a list
//!     expected_match: true
//!     expected_keywords: ["$verb_ignore"]          # optional: must be among the matched keywords
//!     requires: semantics                          # optional: semantics | llm, or a list
//! ```
//!
//! `rule_file` is resolved against the sidecar's directory, then against its
//! parent (the public layout keeps tests in a `tests/` subdirectory). Without
//! `rule_file`, `x.tests.yaml` tests `x.nov` beside it and `tests/x_tests.yaml`
//! tests `../x.nov`. Unknown keys are errors, so that a typo
//! (`expect_match`) cannot silently turn a case into a no-op.
//!
//! Data flow: the text is parsed twice — by `serde_yaml` into a value tree
//! (structure, types, and error positions for bad YAML), and by a line scan
//! ([`item_lines`]) that finds where each block-style list item of `tests:`
//! starts, which serde_yaml does not report.

use std::path::{Path, PathBuf};

/// A stage a case needs beyond keywords.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// The semantic stage (an embedding model).
    Semantics,
    /// The LLM stage (an LLM judge).
    Llm,
}

impl Stage {
    /// The name used in sidecars and messages.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Semantics => "semantics",
            Stage::Llm => "llm",
        }
    }
}

/// One test case (one entry of `tests:`; `prompts:` gives it several prompts).
#[derive(Clone, Debug)]
pub struct Case {
    /// `name`.
    pub name: String,
    /// `rule_name`.
    pub rule: String,
    /// `prompt`, or the items of `prompts`.
    pub prompts: Vec<String>,
    /// `expected_match`.
    pub expected_match: bool,
    /// `expected_keywords`.
    pub expected_keywords: Vec<String>,
    /// `requires`.
    pub requires: Vec<Stage>,
    /// 1-based line of the case in the sidecar (0 when unknown).
    pub line: usize,
    /// 1-based line of its `rule_name` (falls back to `line`).
    pub rule_line: usize,
    /// 1-based line of its `expected_keywords` (falls back to `line`).
    pub keywords_line: usize,
}

/// A parsed sidecar.
#[derive(Clone, Debug)]
pub struct Sidecar {
    /// The sidecar file.
    pub path: PathBuf,
    /// The rule file it tests (resolved; may not exist).
    pub rule_file: PathBuf,
    /// The cases, in file order.
    pub cases: Vec<Case>,
}

/// A problem in a sidecar, with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SidecarError {
    /// The sidecar file.
    pub path: PathBuf,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for SidecarError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
        } else {
            write!(f, "{}: {}", self.path.display(), self.message)
        }
    }
}

/// Whether `path` is named like a sidecar (`*.tests.yaml`, `*_tests.yaml`, or `.yml`).
pub fn is_sidecar_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    [".tests.yaml", ".tests.yml", "_tests.yaml", "_tests.yml"]
        .iter()
        .any(|suffix| name.len() > suffix.len() && name.ends_with(suffix))
}

/// The sidecars that may belong to the rule file `nov`, in order of preference.
pub fn candidates_for(nov: &Path) -> Vec<PathBuf> {
    let dir = nov.parent().unwrap_or(Path::new(""));
    let Some(stem) = nov.file_stem().and_then(|s| s.to_str()) else {
        return Vec::new();
    };
    vec![
        dir.join(format!("{stem}.tests.yaml")),
        dir.join(format!("{stem}.tests.yml")),
        dir.join("tests").join(format!("{stem}_tests.yaml")),
        dir.join("tests").join(format!("{stem}_tests.yml")),
    ]
}

/// The rule file a sidecar tests when it has no `rule_file` key.
fn implied_rule_file(sidecar: &Path) -> Option<PathBuf> {
    let name = sidecar.file_name()?.to_str()?;
    let dir = sidecar.parent().unwrap_or(Path::new(""));
    for suffix in [".tests.yaml", ".tests.yml"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return Some(dir.join(format!("{stem}.nov")));
        }
    }
    for suffix in ["_tests.yaml", "_tests.yml"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            let nov = format!("{stem}.nov");
            let beside = dir.join(&nov);
            if beside.is_file() {
                return Some(beside);
            }
            return Some(dir.parent().unwrap_or(Path::new("")).join(nov));
        }
    }
    None
}

/// Resolves a `rule_file` value against the sidecar's directory, then its parent.
fn resolve_rule_file(sidecar: &Path, rule_file: &str) -> PathBuf {
    let dir = sidecar.parent().unwrap_or(Path::new(""));
    let beside = dir.join(rule_file);
    if beside.is_file() || Path::new(rule_file).is_absolute() {
        return beside;
    }
    match dir.parent() {
        Some(parent) if parent.join(rule_file).is_file() => parent.join(rule_file),
        _ => beside,
    }
}

/// Reads and parses the sidecar at `path`.
pub fn load(path: &Path) -> Result<Sidecar, SidecarError> {
    let text = std::fs::read_to_string(path).map_err(|e| SidecarError {
        path: path.to_path_buf(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse(path, &text)
}

/// Parses sidecar `text` read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Sidecar, SidecarError> {
    let err = |line: usize, message: String| SidecarError {
        path: path.to_path_buf(),
        line,
        message,
    };
    let doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let line = e.location().map_or(0, |l| l.line());
        err(line, format!("not valid YAML: {e}"))
    })?;
    let serde_yaml::Value::Mapping(top) = doc else {
        return Err(err(
            1,
            "expected a mapping with `rule_file` and `tests`".into(),
        ));
    };
    let mut rule_file = None;
    let mut tests = None;
    for (key, value) in &top {
        let key = key.as_str().unwrap_or("");
        match key {
            "rule_file" => match value.as_str() {
                Some(s) => rule_file = Some(s.to_string()),
                None => {
                    return Err(err(
                        key_line(text, "rule_file", 0),
                        "`rule_file` must be a string".into(),
                    ))
                }
            },
            "tests" => tests = Some(value),
            "description" => {}
            other => {
                return Err(err(
                    key_line(text, other, 0),
                    format!("unknown key `{other}` (expected rule_file, tests, description)"),
                ))
            }
        }
    }
    let rule_file = match rule_file {
        Some(f) => resolve_rule_file(path, &f),
        None => implied_rule_file(path).ok_or_else(|| {
            err(
                1,
                "no `rule_file`, and the file name does not say which rule file it tests".into(),
            )
        })?,
    };
    let Some(tests) = tests else {
        return Err(err(1, "missing `tests:` (a list of test cases)".into()));
    };
    let serde_yaml::Value::Sequence(items) = tests else {
        return Err(err(
            key_line(text, "tests", 0),
            "`tests` must be a list of test cases".into(),
        ));
    };
    let lines = item_lines(text);
    let mut cases = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let span = lines.get(i).copied();
        cases.push(case(item, i, span, text).map_err(|(l, m)| err(l, m))?);
    }
    Ok(Sidecar {
        path: path.to_path_buf(),
        rule_file,
        cases,
    })
}

fn case(
    item: &serde_yaml::Value,
    index: usize,
    span: Option<(usize, usize)>,
    text: &str,
) -> Result<Case, (usize, String)> {
    let line = span.map_or(0, |(start, _)| start);
    let field_line = |key: &str| {
        span.and_then(|(start, end)| find_key(text, key, start, end))
            .unwrap_or(line)
    };
    let what = format!("test case {}", index + 1);
    let serde_yaml::Value::Mapping(map) = item else {
        return Err((line, format!("{what} must be a mapping")));
    };
    let mut name = None;
    let mut rule = None;
    let mut prompts = None;
    let mut expected_match = None;
    let mut expected_keywords = Vec::new();
    let mut requires = Vec::new();
    let string = |key: &str, v: &serde_yaml::Value| -> Result<String, (usize, String)> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| (field_line(key), format!("`{key}` must be a string")))
    };
    let strings = |key: &str, v: &serde_yaml::Value| -> Result<Vec<String>, (usize, String)> {
        match v {
            serde_yaml::Value::String(s) => Ok(vec![s.clone()]),
            serde_yaml::Value::Sequence(items) => items
                .iter()
                .map(|i| {
                    i.as_str().map(str::to_string).ok_or_else(|| {
                        (
                            field_line(key),
                            format!("`{key}` must be a list of strings"),
                        )
                    })
                })
                .collect(),
            _ => Err((
                field_line(key),
                format!("`{key}` must be a list of strings"),
            )),
        }
    };
    for (key, value) in map {
        let key = key.as_str().unwrap_or("");
        match key {
            "name" => name = Some(string(key, value)?),
            "rule_name" => rule = Some(string(key, value)?),
            "prompt" | "prompts" => {
                if prompts.is_some() {
                    return Err((
                        field_line(key),
                        format!("{what} has both `prompt` and `prompts`"),
                    ));
                }
                let list = if key == "prompt" {
                    vec![string(key, value)?]
                } else {
                    match value {
                        serde_yaml::Value::Sequence(_) => strings(key, value)?,
                        _ => return Err((field_line(key), "`prompts` must be a list".into())),
                    }
                };
                if list.is_empty() {
                    return Err((field_line(key), "`prompts` is empty".into()));
                }
                prompts = Some(list);
            }
            "expected_match" => match value.as_bool() {
                Some(b) => expected_match = Some(b),
                None => {
                    return Err((
                        field_line(key),
                        "`expected_match` must be true or false".into(),
                    ))
                }
            },
            "expected_keywords" => {
                expected_keywords = strings(key, value)?;
                if let Some(bad) = expected_keywords.iter().find(|k| !k.starts_with('$')) {
                    return Err((
                        field_line(key),
                        format!("`expected_keywords` names variables with their `$`, not `{bad}`"),
                    ));
                }
            }
            "requires" => {
                for stage in strings(key, value)? {
                    requires.push(match stage.as_str() {
                        "semantics" => Stage::Semantics,
                        "llm" => Stage::Llm,
                        other => {
                            return Err((
                                field_line(key),
                                format!("`requires` is `semantics` or `llm`, not `{other}`"),
                            ))
                        }
                    });
                }
            }
            "description" => {}
            other => {
                return Err((
                    field_line(other),
                    format!(
                        "unknown key `{other}` in {what} (expected name, rule_name, prompt, prompts, expected_match, expected_keywords, requires, description)"
                    ),
                ))
            }
        }
    }
    let rule = rule.ok_or((line, format!("{what} has no `rule_name`")))?;
    let prompts = prompts.ok_or((line, format!("{what} has no `prompt` or `prompts`")))?;
    let expected_match = expected_match.ok_or((line, format!("{what} has no `expected_match`")))?;
    if !expected_match && !expected_keywords.is_empty() {
        return Err((
            field_line("expected_keywords"),
            format!("{what} expects no match but lists `expected_keywords`"),
        ));
    }
    Ok(Case {
        name: name.unwrap_or_else(|| format!("{rule} #{}", index + 1)),
        rule_line: field_line("rule_name"),
        keywords_line: field_line("expected_keywords"),
        rule,
        prompts,
        expected_match,
        expected_keywords,
        requires,
        line,
    })
}

/// The 1-based (first, last) lines of each block-style item of the top-level
/// `tests:` list. Flow-style lists (`tests: [...]`) give no lines.
fn item_lines(text: &str) -> Vec<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(tests_at) = lines.iter().position(|l| {
        l.strip_prefix("tests")
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    }) else {
        return Vec::new();
    };
    let mut starts = Vec::new();
    let mut indent = None;
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate().skip(tests_at + 1) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let col = line.len() - trimmed.len();
        let is_item = trimmed == "-" || trimmed.starts_with("- ");
        match indent {
            None if is_item => {
                indent = Some(col);
                starts.push(i);
            }
            Some(c) if is_item && col == c => starts.push(i),
            Some(c) if col < c || (col == c && !is_item) => {
                end = i;
                break;
            }
            None if col == 0 => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &s)| {
            let e = starts.get(k + 1).copied().unwrap_or(end);
            (s + 1, e)
        })
        .collect()
}

/// The 1-based line of `key:` within lines `start..=end` (1-based).
fn find_key(text: &str, key: &str, start: usize, end: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .skip(start.saturating_sub(1))
        .take(end + 1 - start)
        .find(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ").trim_start();
            t.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|(i, _)| i + 1)
}

/// The 1-based line of a top-level `key:` (or `default` when absent).
fn key_line(text: &str, key: &str, default: usize) -> usize {
    text.lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map_or(default, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: &str = r#"rule_file: "basic.nov"
tests:
  # comment
  - name: "one"
    rule_name: "A"
    prompts:
      - "x"
      - "y"
    expected_match: true

  - name: "two"
    rule_name: "B"
    prompt: "z"
    expected_match: false
"#;

    #[test]
    fn public_format_with_lines() {
        let s = parse(Path::new("t/tests/basic_tests.yaml"), PUBLIC).unwrap();
        assert_eq!(s.cases.len(), 2);
        assert_eq!(s.cases[0].line, 4);
        assert_eq!(s.cases[0].prompts, ["x", "y"]);
        assert_eq!(s.cases[1].line, 11);
        assert_eq!(s.cases[1].rule_line, 12);
        assert!(!s.cases[1].expected_match);
    }

    #[test]
    fn errors_have_lines() {
        let bad = PUBLIC.replace("expected_match: false", "expect_match: false");
        let e = parse(Path::new("x.tests.yaml"), &bad).unwrap_err();
        assert_eq!(e.line, 14, "{e}");
        assert!(e.message.contains("unknown key `expect_match`"), "{e}");
        let e = parse(Path::new("x.tests.yaml"), "tests:\n  - name: [\n").unwrap_err();
        assert!(e.message.starts_with("not valid YAML"), "{e}");
        assert!(e.line > 0);
        let e = parse(
            Path::new("x.tests.yaml"),
            "tests:\n  - rule_name: A\n    prompt: p\n    expected_match: maybe\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 4, "{e}");
    }

    #[test]
    fn implied_rule_files_and_names() {
        let s = parse(
            Path::new("r/x.tests.yaml"),
            "tests:\n  - rule_name: A\n    prompt: p\n    expected_match: true\n    expected_keywords: [\"$a\"]\n    requires: [semantics, llm]\n",
        )
        .unwrap();
        assert_eq!(s.rule_file, Path::new("r/x.nov"));
        assert_eq!(s.cases[0].name, "A #1");
        assert_eq!(s.cases[0].expected_keywords, ["$a"]);
        assert_eq!(s.cases[0].requires, [Stage::Semantics, Stage::Llm]);
        assert_eq!(s.cases[0].keywords_line, 5);
        assert!(is_sidecar_name(Path::new("a/injection_tests.yaml")));
        assert!(is_sidecar_name(Path::new("a/injection.tests.yml")));
        assert!(!is_sidecar_name(Path::new("a/injection.yaml")));
    }
}
