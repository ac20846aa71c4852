//! [`Compiler`]: collects rule sources, checks them, and builds [`Rules`].
//!
//! ```
//! let rules = novac::Compiler::new()
//!     .add_source(r#"
//! rule Injection {
//!     keywords:
//!         $ignore = "ignore previous instructions"
//!     condition:
//!         $ignore
//! }"#)?
//!     .build()?;
//! let result = novac::Scanner::new(&rules).scan("Please IGNORE previous instructions.");
//! assert_eq!(result.matched_names(), ["Injection"]);
//! # Ok::<(), novac::CompileError>(())
//! ```
//!
//! Every source keeps its diagnostics ([`Compiler::reports`]); a source with
//! an error is refused (its rules are not added) but the compiler stays
//! usable, so `novac check` can report on every file in one run.

pub(crate) mod checker;
mod meta_lints;
mod resolve;
mod suggest;

use crate::ir::{KeywordPattern, Pattern, RuleIr};
use crate::keywords::{KeywordEngine, PatternTable};
use crate::limits::CompileLimits;
use crate::rules::{CompiledRule, RuleId, Rules};
use checker::check_rule;
use novac_syntax::codes;
use novac_syntax::{Diagnostic, Span};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What went wrong while compiling.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// A source has errors; `diagnostics` holds all of its findings.
    #[error("{origin}: {errors} error(s), first: {first}")]
    Invalid {
        /// The source's name (a path or `<source>`).
        origin: String,
        /// Number of errors.
        errors: usize,
        /// The first error's message, with its line and column.
        first: String,
        /// All diagnostics of the source (errors and warnings).
        diagnostics: Vec<Diagnostic>,
    },
    /// A file or directory could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `build` was called although some source had errors.
    #[error("{0} source(s) have errors; see Compiler::reports()")]
    SourcesHaveErrors(usize),
    /// The keyword engine could not be built (a regex or automaton over a
    /// size limit, or a regex that does not parse in a damaged bundle).
    #[error(transparent)]
    Engine(#[from] crate::engine_error::EngineError),
    /// The rule set goes over a [`CompileLimits`] limit.
    #[error("{0}")]
    Limit(#[from] crate::limits::LimitError),
    /// Rules use semantics but no embedding model is configured
    /// (see [`Compiler::embedder`] and [`Compiler::allow_missing_model`]).
    #[error(
        "rule(s) {} use semantic matching, but no embedding model is configured: {}; \
         or opt into the reference's behaviour (such rules do not match, with a warning)",
        rules.join(", "),
        crate::plugins::MODEL_HELP
    )]
    ModelRequired {
        /// The rules that use semantics (at most 10 names).
        rules: Vec<String>,
    },
    /// The embedding model failed while embedding the semantic phrases.
    #[error("cannot embed the semantic phrases: {0}")]
    Embedding(#[from] crate::plugins::EmbedError),
}

/// Options of the checker.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// Run the metadata lints (W201–W206): required keys, uuid v4, severity, ISO date.
    pub meta_lints: bool,
    /// Resource limits (source size, nesting, patterns, regex and automaton memory).
    pub limits: CompileLimits,
}

/// The findings about one source.
#[derive(Clone, Debug)]
pub struct SourceReport {
    /// The source's name (a path or `<source>`).
    pub origin: String,
    /// The source text.
    pub text: String,
    /// Errors and warnings, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// Number of rules in the source that compiled.
    pub rules: usize,
}

impl SourceReport {
    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
}

/// Collects and checks rule sources, then builds [`Rules`].
#[derive(Debug, Default)]
pub struct Compiler {
    options: CompileOptions,
    reports: Vec<SourceReport>,
    rules: Vec<RuleIr>,
    /// Rule name → (report index, span of the name).
    names: HashMap<String, (usize, Span)>,
    failed_sources: usize,
    /// Regex plans computed by the W104 lint, reused by `build`.
    plans: crate::keywords::PlanCache,
    /// The model that embeds semantic phrases (at build) and prompts (at scan).
    embedder: Option<crate::rules::phrases::SharedEmbedder>,
    /// What `build` does for rules with semantics when there is no model.
    missing_model: crate::plugins::MissingModel,
}

impl Compiler {
    /// A compiler with default options.
    pub fn new() -> Compiler {
        Compiler::default()
    }

    /// A compiler with `options`.
    pub fn with_options(options: CompileOptions) -> Compiler {
        Compiler {
            options,
            ..Compiler::default()
        }
    }

    /// Sets the embedding model: `build` embeds every distinct semantic
    /// phrase once and stores the vectors in the [`Rules`], which then embed
    /// prompts with it when a rule needs the semantic stage.
    pub fn embedder(
        &mut self,
        embedder: std::sync::Arc<dyn crate::plugins::Embedder>,
    ) -> &mut Compiler {
        self.embedder = Some(crate::rules::phrases::SharedEmbedder(embedder));
        self
    }

    /// Without a model, build rules that use semantics anyway, with the
    /// reference's behaviour: they do not match and carry the warning
    /// `Rule 'X' requires semantic evaluation, but no semantic evaluator is
    /// available.` (unless a hook is plugged into the scanner). Without this,
    /// `build` fails with [`CompileError::ModelRequired`].
    pub fn allow_missing_model(&mut self, allow: bool) -> &mut Compiler {
        self.missing_model = if allow {
            crate::plugins::MissingModel::FailClosed
        } else {
            crate::plugins::MissingModel::Error
        };
        self
    }

    /// Adds rules from source text (named `<source>` in diagnostics).
    pub fn add_source(&mut self, text: &str) -> Result<&mut Compiler, CompileError> {
        self.add_named_source("<source>", text)
    }

    /// Adds rules from source text, naming it `origin` in diagnostics.
    pub fn add_named_source(
        &mut self,
        origin: &str,
        text: &str,
    ) -> Result<&mut Compiler, CompileError> {
        let parsed = novac_syntax::parse_with_limits(text, &self.options.limits.parse_limits());
        let mut diagnostics = parsed.diagnostics;
        let mut checked = Vec::new();
        let report_index = self.reports.len();
        let mut local_names: HashMap<&str, Span> = HashMap::new();
        for rule in &parsed.file.rules {
            let name = rule.name.value.as_str();
            let previous = local_names
                .get(name)
                .copied()
                .or_else(|| self.names.get(name).map(|(_, s)| *s));
            if let Some(first) = previous {
                let mut d = Diagnostic::new(
                    &codes::DUPLICATE_RULE,
                    rule.name.span,
                    format!("duplicate rule name `{name}`"),
                )
                .with_label("defined again here")
                .with_help("rule names must be unique across all files compiled together");
                if local_names.contains_key(name) {
                    d = d.with_secondary(first, "first defined here");
                } else if let Some(report) =
                    self.names.get(name).and_then(|(i, _)| self.reports.get(*i))
                {
                    d = d.with_note(format!("first defined in {}", report.origin));
                }
                diagnostics.push(d);
            } else {
                local_names.insert(name, rule.name.span);
            }
            let mut parsed = Vec::new();
            if let Some(ir) = check_rule(rule, text, &mut diagnostics, &mut parsed) {
                if self.options.meta_lints {
                    meta_lints::lint(rule, &mut diagnostics);
                }
                slow_pattern_lints(rule, &ir, parsed, &mut self.plans, &mut diagnostics);
                checked.push((ir, rule.name.span));
            }
        }
        diagnostics.sort_by_key(|d| (d.primary.span.start, d.code));
        let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).collect();
        let error_count = errors.len();
        let first = errors.first().map(|d| {
            let index = novac_syntax::LineIndex::new(text);
            let at = index.line_col(text, d.primary.span.start as usize);
            format!("{}:{}: {} [{}]", at.line, at.column, d.message, d.code)
        });
        let ok = error_count == 0;
        let report = SourceReport {
            origin: origin.to_string(),
            text: text.to_string(),
            diagnostics: diagnostics.clone(),
            rules: if ok { checked.len() } else { 0 },
        };
        self.reports.push(report);
        if !ok {
            self.failed_sources += 1;
            return Err(CompileError::Invalid {
                origin: origin.to_string(),
                errors: error_count,
                first: first.unwrap_or_default(),
                diagnostics,
            });
        }
        for (ir, span) in checked {
            self.names.insert(ir.name.clone(), (report_index, span));
            self.rules.push(ir);
        }
        Ok(self)
    }

    /// Adds a `.nov` file, or every `.nov` file under a directory (sorted by path).
    pub fn add_path(&mut self, path: impl AsRef<Path>) -> Result<&mut Compiler, CompileError> {
        let files = collect_rule_files(path.as_ref())?;
        let mut first_error = None;
        for file in files {
            let text = std::fs::read(&file).map_err(|source| CompileError::Io {
                path: file.clone(),
                source,
            })?;
            let text = String::from_utf8_lossy(&text);
            if let Err(e) = self.add_named_source(&file.display().to_string(), &text) {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(self),
        }
    }

    /// The findings about every source added so far.
    pub fn reports(&self) -> &[SourceReport] {
        &self.reports
    }

    /// Builds the rule set from everything added so far and empties the
    /// compiler (its reports stay). Fails if any added source had errors.
    ///
    /// Taking `&mut self` lets a build end a builder chain:
    /// `Compiler::new().add_source(text)?.build()?`.
    pub fn build(&mut self) -> Result<Rules, CompileError> {
        if self.failed_sources > 0 {
            return Err(CompileError::SourcesHaveErrors(self.failed_sources));
        }
        self.names.clear();
        let mut rules = build_rules(
            std::mem::take(&mut self.rules),
            &mut self.plans,
            &self.options.limits,
        )?;
        match &self.embedder {
            Some(e) => rules.semantic.attach(e.0.clone())?,
            None if self.missing_model == crate::plugins::MissingModel::Error => {
                let names: Vec<String> = rules
                    .iter()
                    .filter(|r| r.uses_semantics())
                    .map(|r| r.name().to_string())
                    .take(10)
                    .collect();
                if !names.is_empty() {
                    return Err(CompileError::ModelRequired { rules: names });
                }
            }
            None => {}
        }
        Ok(rules)
    }
}

/// Builds [`Rules`] from checked rules.
pub(crate) fn build_rules(
    irs: Vec<RuleIr>,
    plans: &mut crate::keywords::PlanCache,
    limits: &CompileLimits,
) -> Result<Rules, CompileError> {
    build_rules_with(irs, plans, limits, crate::keywords::Verifiers::Eager)
}

/// [`build_rules`] with a choice of when regex verifiers compile (both
/// `Compiler::build` and bundle loading compile them all now).
pub(crate) fn build_rules_with(
    irs: Vec<RuleIr>,
    plans: &mut crate::keywords::PlanCache,
    limits: &CompileLimits,
    verifiers: crate::keywords::Verifiers,
) -> Result<Rules, CompileError> {
    let mut table = PatternTable::default();
    let mut rules: Vec<CompiledRule> = irs
        .into_iter()
        .map(|ir| CompiledRule::new(ir, &mut table))
        .collect();
    let mut pattern_rules = vec![Vec::new(); table.len()];
    for (i, rule) in rules.iter().enumerate() {
        for (_, p) in &rule.keyword_vars {
            let Some(list) = pattern_rules.get_mut(p.index()) else {
                continue;
            };
            if list.last() != Some(&RuleId::new(i)) {
                list.push(RuleId::new(i));
            }
        }
    }
    let idle_rules = rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.idle != crate::condition::truth::Truth::False)
        .map(|(i, _)| RuleId::new(i))
        .collect();
    crate::limits::check(
        "CompileLimits::max_patterns",
        || "the number of distinct keyword patterns".to_string(),
        table.len(),
        limits.max_patterns,
    )?;
    let engine =
        KeywordEngine::build_with(table, plans, limits, verifiers).map_err(CompileError::Engine)?;
    crate::limits::check(
        "CompileLimits::max_automaton_bytes",
        || "the keyword automata's memory in bytes".to_string(),
        engine.memory_usage(),
        limits.max_automaton_bytes,
    )?;
    let semantic = crate::rules::phrases::SemanticTable::collect(&mut rules);
    Ok(Rules {
        rules,
        engine,
        pattern_rules,
        idle_rules,
        semantic,
    })
}

/// W104 for regexes that have no literal atom. Plans each regex (kept for
/// the build) from its form `parsed` by the checker.
fn slow_pattern_lints(
    rule: &novac_syntax::ast::Rule,
    ir: &RuleIr,
    mut parsed: crate::keywords::keyword_regex::ParsedRegexes,
    plans: &mut crate::keywords::PlanCache,
    diags: &mut Vec<Diagnostic>,
) {
    for var in &ir.vars {
        let Pattern::Keyword(KeywordPattern::Regex {
            rust,
            case_insensitive,
            ..
        }) = &var.pattern
        else {
            continue;
        };
        let checked = parsed
            .iter()
            .position(|(r, ci, _)| r == rust && ci == case_insensitive)
            .map(|i| parsed.swap_remove(i).2);
        let Some(hir) =
            checked.or_else(|| crate::keywords::keyword_regex::hir(rust, *case_insensitive).ok())
        else {
            continue;
        };
        if let crate::keywords::RegexPlan::Slow(reason) = plans.plan(hir, rust, *case_insensitive) {
            diags.push(
                Diagnostic::new(
                    &codes::SLOW_PATTERN,
                    var.span,
                    format!(
                        "regex `{}` in rule `{}` runs on every prompt",
                        var.name, rule.name.value
                    ),
                )
                .with_label("no literal atom")
                .with_note(reason)
                .with_help(
                    "include a literal of two or more characters that every match must contain",
                ),
            );
        }
    }
}

/// The `.nov` files at `path`: the file itself, or every `.nov` below a directory.
pub fn collect_rule_files(path: &Path) -> Result<Vec<PathBuf>, CompileError> {
    let io = |source| CompileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| CompileError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| CompileError::Io {
                path: dir.clone(),
                source,
            })?;
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "nov") {
                files.push(p);
            }
        }
    }
    files.sort();
    Ok(files)
}
