//! `novac.toml`: the project configuration read by `check`, `lsp`, `fmt` and
//! `test`, and the policy layer it puts over the engine's diagnostics.
//!
//! The file is found like ruff's: from the checked file's folder upward, the
//! first `novac.toml` wins (`--config FILE` names one, `--isolated` reads
//! none). It holds:
//!
//! ```toml
//! [check.codes]                 # per-code level: allow | warn | deny
//! W101 = "allow"
//! operator-case = "deny"        # a code's name works too
//!
//! [check.metadata]              # required meta keys and their value types
//! author = { type = "string" }
//! uuid = { type = "uuid", miss = "error" }
//! date = { type = "date", required = false }
//! severity = { type = "enum", values = ["low", "medium", "high"] }
//! id = { type = "regex", pattern = "^NOVA-[0-9]+$" }
//!
//! [check.rule_name]
//! regex = "^[A-Z][A-Za-z0-9]*$"
//!
//! [check.tags]
//! allowed = ["injection", "jailbreak"]
//! ```
//!
//! The policy ([`Config::apply`]) runs after the engine: it adds W301–W304
//! for metadata, names and tags, then drops warnings set to `allow` or
//! suppressed inline (`// novac: allow(W102)` on the line before the finding,
//! or before the `rule` line for the whole rule), and turns `deny` warnings
//! into errors. Engine errors (E codes) are never dropped: they stop the rule
//! from compiling.
//! Cost: one parse of the source's AST per file (microseconds per rule) and
//! one line scan for suppression comments.

use anyhow::{anyhow, Result};
use novac::syntax::ast::{MetaEntry, SectionBody};
use novac::syntax::LineIndex;
use novac::{codes, Diagnostic, Severity, Span};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The name of the configuration file.
pub const FILE_NAME: &str = "novac.toml";

/// What to do with a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Drop the warning.
    Allow,
    /// Keep it as a warning.
    Warn,
    /// Make it an error.
    Deny,
}

/// The type a meta value must have.
#[derive(Clone, Debug)]
pub enum MetaType {
    /// Any text.
    String,
    /// A decimal integer.
    Int,
    /// `YYYY-MM-DD`.
    Date,
    /// A UUID (8-4-4-4-12 hex digits).
    Uuid,
    /// One of a list.
    Enum(Vec<String>),
    /// Matches a regex.
    Regex(regex::Regex),
}

/// One `[check.metadata]` entry.
#[derive(Clone, Debug)]
pub struct MetaPolicy {
    /// The meta key.
    pub key: String,
    /// Its value type.
    pub ty: MetaType,
    /// Whether a rule must have it.
    pub required: bool,
    /// The severity of a missing key.
    pub miss: Severity,
}

/// A loaded `novac.toml` (or the empty default).
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Per-code levels, by code id.
    pub levels: HashMap<String, Level>,
    /// Metadata policy, in file order.
    pub metadata: Vec<MetaPolicy>,
    /// Rule names must match this.
    pub rule_name: Option<regex::Regex>,
    /// Tags must be in this list.
    pub allowed_tags: Option<Vec<String>>,
}

/// How the CLI chose the configuration (`--config FILE`, `--isolated`).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ConfigChoice {
    /// Use this novac.toml for every file instead of searching upward from each.
    #[arg(long = "config", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Ignore every novac.toml.
    #[arg(long, conflicts_with = "file")]
    pub isolated: bool,
}

/// Finds configurations for files, reading each `novac.toml` once.
#[derive(Debug, Default)]
pub struct ConfigCache {
    choice: ConfigChoice,
    fixed: Option<std::sync::Arc<Config>>,
    by_dir: HashMap<PathBuf, std::sync::Arc<Config>>,
}

impl ConfigCache {
    /// A cache honouring `--config` and `--isolated`; reads `--config` now.
    pub fn new(choice: ConfigChoice) -> Result<ConfigCache> {
        let fixed = if choice.isolated {
            Some(std::sync::Arc::new(Config::default()))
        } else if let Some(file) = &choice.file {
            Some(std::sync::Arc::new(Config::load(file)?))
        } else {
            None
        };
        Ok(ConfigCache {
            choice,
            fixed,
            by_dir: HashMap::new(),
        })
    }

    /// The configuration that applies to `file` (found upward from its folder).
    pub fn for_file(&mut self, file: &Path) -> Result<std::sync::Arc<Config>> {
        if let Some(fixed) = &self.fixed {
            return Ok(fixed.clone());
        }
        let _ = &self.choice;
        let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let dir = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
        if let Some(found) = self.by_dir.get(&dir) {
            return Ok(found.clone());
        }
        let config = match find_upward(&dir) {
            Some(path) => std::sync::Arc::new(Config::load(&path)?),
            None => std::sync::Arc::new(Config::default()),
        };
        self.by_dir.insert(dir, config.clone());
        Ok(config)
    }
}

/// The first `novac.toml` in `dir` or one of its parents.
pub fn find_upward(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// A malformed configuration: the message names the file and line.
fn at(path: &Path, text: &str, span: Option<std::ops::Range<usize>>, msg: &str) -> anyhow::Error {
    let line = span.map_or(1, |s| LineIndex::new(text).line_col(text, s.start).line);
    anyhow!("{}:{line}: {msg}", path.display())
}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
        Config::parse(path, &text)
    }

    /// Parses configuration text (`path` is used in messages).
    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        use toml_edit::{Item, Value};
        let doc = toml_edit::Document::parse(text).map_err(|e| {
            at(
                path,
                text,
                e.span(),
                &format!("invalid TOML: {}", e.message()),
            )
        })?;
        let mut config = Config::default();
        let root = doc.as_table();
        for (key, item) in root.iter() {
            if key != "check" {
                return Err(at(
                    path,
                    text,
                    root.key(key).and_then(|k| k.span()),
                    &format!("unknown section `{key}` (expected `check`)"),
                ));
            }
            let _ = item;
        }
        let Some(check) = root.get("check") else {
            return Ok(config);
        };
        let Some(check) = check.as_table_like() else {
            return Err(at(path, text, check.span(), "`check` must be a table"));
        };
        let span_of = |item: &Item| item.span();
        for (key, item) in check.iter() {
            match key {
                "codes" => {
                    let Some(table) = item.as_table_like() else {
                        return Err(at(
                            path,
                            text,
                            span_of(item),
                            "`check.codes` must be a table",
                        ));
                    };
                    for (code, level) in table.iter() {
                        let Some(found) = codes::lookup(code) else {
                            return Err(at(
                                path,
                                text,
                                span_of(level),
                                &format!("unknown diagnostic code `{code}`"),
                            ));
                        };
                        let level = match level.as_str() {
                            Some("allow") => Level::Allow,
                            Some("warn") => Level::Warn,
                            Some("deny") => Level::Deny,
                            _ => {
                                return Err(at(
                                    path,
                                    text,
                                    span_of(level),
                                    "a level is \"allow\", \"warn\" or \"deny\"",
                                ))
                            }
                        };
                        config.levels.insert(found.id.to_string(), level);
                    }
                }
                "metadata" => {
                    let Some(table) = item.as_table_like() else {
                        return Err(at(
                            path,
                            text,
                            span_of(item),
                            "`check.metadata` must be a table",
                        ));
                    };
                    for (meta_key, spec) in table.iter() {
                        let bad = |msg: &str| at(path, text, span_of(spec), msg);
                        let (ty_name, spec_table) = match spec {
                            Item::Value(Value::String(s)) => (s.value().clone(), None),
                            other => match other.as_table_like() {
                                Some(t) => {
                                    let ty =
                                        t.get("type").and_then(Item::as_str).ok_or_else(|| {
                                            bad("a metadata entry needs `type = \"...\"`")
                                        })?;
                                    (ty.to_string(), Some(t))
                                }
                                None => {
                                    return Err(bad("a metadata entry is a type name or a table"))
                                }
                            },
                        };
                        let get = |k: &str| spec_table.and_then(|t| t.get(k));
                        let ty = match ty_name.as_str() {
                            "string" => MetaType::String,
                            "int" => MetaType::Int,
                            "date" => MetaType::Date,
                            "uuid" => MetaType::Uuid,
                            "enum" => {
                                let values = get("values")
                                    .and_then(Item::as_array)
                                    .ok_or_else(|| bad("type \"enum\" needs `values = [...]`"))?;
                                MetaType::Enum(
                                    values
                                        .iter()
                                        .filter_map(|v| v.as_str().map(str::to_string))
                                        .collect(),
                                )
                            }
                            "regex" => {
                                let pattern =
                                    get("pattern").and_then(Item::as_str).ok_or_else(|| {
                                        bad("type \"regex\" needs `pattern = \"...\"`")
                                    })?;
                                MetaType::Regex(
                                    regex::Regex::new(pattern)
                                        .map_err(|e| bad(&format!("bad pattern: {e}")))?,
                                )
                            }
                            other => {
                                return Err(bad(&format!(
                                    "unknown type `{other}` (string, int, date, uuid, enum, regex)"
                                )))
                            }
                        };
                        let required = match get("required") {
                            None => true,
                            Some(v) => v
                                .as_bool()
                                .ok_or_else(|| bad("`required` is true or false"))?,
                        };
                        let miss = match get("miss").map(|v| v.as_str()) {
                            None | Some(Some("warning")) => Severity::Warning,
                            Some(Some("error")) => Severity::Error,
                            _ => return Err(bad("`miss` is \"error\" or \"warning\"")),
                        };
                        config.metadata.push(MetaPolicy {
                            key: meta_key.to_string(),
                            ty,
                            required,
                            miss,
                        });
                    }
                }
                "rule_name" => {
                    let pattern = item
                        .as_table_like()
                        .and_then(|t| t.get("regex"))
                        .and_then(Item::as_str)
                        .ok_or_else(|| {
                            at(
                                path,
                                text,
                                span_of(item),
                                "`check.rule_name` needs `regex = \"...\"`",
                            )
                        })?;
                    config.rule_name =
                        Some(regex::Regex::new(pattern).map_err(|e| {
                            at(path, text, span_of(item), &format!("bad regex: {e}"))
                        })?);
                }
                "tags" => {
                    let allowed = item
                        .as_table_like()
                        .and_then(|t| t.get("allowed"))
                        .and_then(Item::as_array)
                        .ok_or_else(|| {
                            at(
                                path,
                                text,
                                span_of(item),
                                "`check.tags` needs `allowed = [...]`",
                            )
                        })?;
                    config.allowed_tags = Some(
                        allowed
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect(),
                    );
                }
                other => {
                    return Err(at(
                        path,
                        text,
                        check.get(other).and_then(span_of),
                        &format!("unknown key `check.{other}` (codes, metadata, rule_name, tags)"),
                    ))
                }
            }
        }
        Ok(config)
    }

    /// Applies the policy to the engine's `diagnostics` for `text`: adds the
    /// policy findings, drops allowed and suppressed warnings, upgrades
    /// denied ones; keeps the list sorted by position.
    pub fn apply(&self, text: &str, diagnostics: &mut Vec<Diagnostic>) {
        if self.is_empty() && !text.contains("novac:") {
            return; // nothing to do: no parse
        }
        let parsed = novac::syntax::parse(text);
        self.apply_parsed(text, &parsed.file.rules, diagnostics);
    }

    /// Whether the configuration is the default (no policy, no levels).
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
            && self.metadata.is_empty()
            && self.rule_name.is_none()
            && self.allowed_tags.is_none()
    }

    /// [`Config::apply`] with the rules already parsed from `text`.
    pub fn apply_parsed(
        &self,
        text: &str,
        rules: &[novac::syntax::ast::Rule],
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        for rule in rules {
            self.policy_findings(rule, diagnostics);
        }
        let suppress = Suppressions::new(text, rules);
        diagnostics.retain_mut(|d| {
            // Engine errors stop the rule from compiling: never dropped.
            // Warnings (W codes), even those the policy made errors, may be.
            if d.is_error() && !d.code.starts_with('W') {
                return true;
            }
            if suppress.covers(d.code, d.primary.span.start as usize) {
                return false;
            }
            match self.levels.get(d.code) {
                Some(Level::Allow) => false,
                Some(Level::Deny) => {
                    d.severity = Severity::Error;
                    d.notes.push(format!(
                        "`{}` is denied by the project configuration",
                        d.code
                    ));
                    true
                }
                _ => true,
            }
        });
        diagnostics.sort_by_key(|d| (d.primary.span.start, d.code));
    }

    fn policy_findings(&self, rule: &novac::syntax::ast::Rule, out: &mut Vec<Diagnostic>) {
        if let Some(re) = &self.rule_name {
            if !re.is_match(&rule.name.value) {
                out.push(
                    Diagnostic::new(
                        &codes::POLICY_RULE_NAME,
                        rule.name.span,
                        format!(
                            "rule name `{}` does not match `{}`",
                            rule.name.value,
                            re.as_str()
                        ),
                    )
                    .with_label("required by novac.toml [check.rule_name]"),
                );
            }
        }
        if let Some(allowed) = &self.allowed_tags {
            for tag in &rule.tags {
                if !allowed.contains(&tag.value) {
                    out.push(
                        Diagnostic::new(
                            &codes::POLICY_TAG,
                            tag.span,
                            format!("tag `{}` is not allowed", tag.value),
                        )
                        .with_help(format!("allowed tags: {}", allowed.join(", "))),
                    );
                }
            }
        }
        if self.metadata.is_empty() {
            return;
        }
        let mut meta: HashMap<&str, (&str, Span)> = HashMap::new();
        for section in &rule.sections {
            if let SectionBody::Meta(entries) = &section.body {
                for entry in entries {
                    if let MetaEntry::Pair { key, value, .. } = entry {
                        meta.insert(key.value.as_str(), (value.value.as_str(), value.span));
                    }
                }
            }
        }
        for policy in &self.metadata {
            match meta.get(policy.key.as_str()) {
                None if policy.required => {
                    let mut d = Diagnostic::new(
                        &codes::POLICY_META_MISSING,
                        rule.name.span,
                        format!(
                            "rule `{}` has no meta key `{}`",
                            rule.name.value, policy.key
                        ),
                    )
                    .with_label("required by novac.toml [check.metadata]")
                    .with_help(format!(
                        "add `{} = \"...\"` to the meta section",
                        policy.key
                    ));
                    d.severity = policy.miss;
                    out.push(d);
                }
                None => {}
                Some((value, span)) => {
                    if let Some(expected) = policy.ty.check(value) {
                        out.push(
                            Diagnostic::new(
                                &codes::POLICY_META_TYPE,
                                *span,
                                format!("meta `{}` must be {expected}", policy.key),
                            )
                            .with_label("required by novac.toml [check.metadata]"),
                        );
                    }
                }
            }
        }
    }

    /// The meta keys the configuration names (for completion).
    pub fn meta_keys(&self) -> impl Iterator<Item = &str> {
        self.metadata.iter().map(|m| m.key.as_str())
    }
}

impl MetaType {
    /// `None` when `value` fits, else what was expected.
    fn check(&self, value: &str) -> Option<String> {
        let ok = match self {
            MetaType::String => true,
            MetaType::Int => value.parse::<i64>().is_ok(),
            MetaType::Date => is_date(value),
            MetaType::Uuid => is_uuid(value),
            MetaType::Enum(values) => values.iter().any(|v| v == value),
            MetaType::Regex(re) => re.is_match(value),
        };
        if ok {
            return None;
        }
        Some(match self {
            MetaType::String => "a string".into(),
            MetaType::Int => "an integer".into(),
            MetaType::Date => "a date, YYYY-MM-DD".into(),
            MetaType::Uuid => "a UUID".into(),
            MetaType::Enum(values) => format!("one of {}", values.join(", ")),
            MetaType::Regex(re) => format!("text matching `{}`", re.as_str()),
        })
    }
}

fn is_date(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2) => {
            let (m, d) = (m.parse::<u32>().unwrap_or(0), d.parse::<u32>().unwrap_or(0));
            (1..=12).contains(&m) && (1..=31).contains(&d)
        }
        _ => false,
    }
}

fn is_uuid(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    parts.len() == 5
        && parts
            .iter()
            .zip(lens)
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Inline `// novac: allow(CODE, ...)` comments.
struct Suppressions {
    /// (byte range the comment covers, code ids).
    ranges: Vec<(std::ops::Range<usize>, Vec<String>)>,
}

impl Suppressions {
    fn new(text: &str, rules: &[novac::syntax::ast::Rule]) -> Suppressions {
        let mut ranges = Vec::new();
        let mut offset = 0;
        let lines: Vec<(usize, &str)> = text
            .split_inclusive('\n')
            .map(|l| {
                let start = offset;
                offset += l.len();
                (start, l)
            })
            .collect();
        for (i, (_, line)) in lines.iter().enumerate() {
            let Some(codes) = parse_allow(line) else {
                continue;
            };
            // The next line that is not a comment.
            let Some(&(start, next)) = lines
                .get(i + 1..)
                .unwrap_or_default()
                .iter()
                .find(|(_, l)| parse_comment(l).is_none())
            else {
                continue;
            };
            let mut range = start..start + next.len();
            if let Some(rule) = rules
                .iter()
                .find(|r| (r.span.start as usize) >= start && (r.span.start as usize) < range.end)
            {
                range = start..rule.span.end as usize;
            }
            ranges.push((range, codes));
        }
        Suppressions { ranges }
    }

    fn covers(&self, code: &str, offset: usize) -> bool {
        self.ranges.iter().any(|(r, codes)| {
            r.contains(&offset)
                && codes
                    .iter()
                    .any(|c| codes::lookup(c).is_some_and(|found| found.id == code) || c == "all")
        })
    }
}

fn parse_comment(line: &str) -> Option<&str> {
    let t = line.trim();
    t.strip_prefix("//").or_else(|| t.strip_prefix('#'))
}

/// The codes of a `// novac: allow(W101, W102)` line.
fn parse_allow(line: &str) -> Option<Vec<String>> {
    let rest = parse_comment(line)?.trim().strip_prefix("novac:")?.trim();
    let inner = rest.strip_prefix("allow(")?.split(')').next()?;
    Some(
        inner
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diags(config: &str, src: &str) -> Vec<(String, &'static str)> {
        let config = Config::parse(Path::new("novac.toml"), config).unwrap();
        let mut compiler = novac::Compiler::new();
        let _ = compiler.add_source(src);
        let mut d = compiler.reports()[0].diagnostics.clone();
        config.apply(src, &mut d);
        d.iter()
            .map(|d| (d.code.to_string(), d.severity.as_str()))
            .collect()
    }

    const RULE: &str = "rule a : bad\n{\n    meta:\n        uuid = \"nope\"\n    keywords:\n        $a = \"x\"\n        $b = \"y\"\n    condition:\n        $a\n}\n";

    #[test]
    fn policy_adds_codes_and_levels() {
        let cfg = "[check.codes]\nW101 = \"deny\"\n[check.metadata]\nuuid = \"uuid\"\nauthor = { type = \"string\", miss = \"error\" }\n[check.rule_name]\nregex = \"^[A-Z]\"\n[check.tags]\nallowed = [\"ok\"]\n";
        let got = diags(cfg, RULE);
        assert!(got.contains(&("W101".into(), "error")), "{got:?}");
        assert!(got.contains(&("W301".into(), "error")), "{got:?}");
        assert!(got.contains(&("W302".into(), "warning")), "{got:?}");
        assert!(got.contains(&("W303".into(), "warning")), "{got:?}");
        assert!(got.contains(&("W304".into(), "warning")), "{got:?}");
    }

    #[test]
    fn allow_and_inline_suppression() {
        assert!(diags("[check.codes]\nunused-variable = \"allow\"\n", RULE).is_empty());
        let src = RULE.replace("        $b", "        // novac: allow(W101)\n        $b");
        assert!(diags("", &src).is_empty());
        let whole = format!("// novac: allow(W101)\n{RULE}");
        assert!(diags("", &whole).is_empty());
    }

    #[test]
    fn malformed_config_names_the_line() {
        let err = Config::parse(
            Path::new("x/novac.toml"),
            "[check.codes]\nW101 = \"loud\"\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "x/novac.toml:2: a level is \"allow\", \"warn\" or \"deny\""
        );
        let err = Config::parse(Path::new("n.toml"), "[check\n").unwrap_err();
        assert!(
            err.to_string().starts_with("n.toml:1: invalid TOML"),
            "{err}"
        );
    }
}
