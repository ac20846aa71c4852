//! The checker: turns a parsed rule ([`ast::Rule`]) into a [`RuleIr`] with
//! every name resolved, and reports what is wrong or suspicious about it.
//!
//! It enforces everything the reference rejects (so novac accepts and rejects
//! the same files) and, beyond it, rejects conditions that the reference
//! accepts but can never evaluate to true (`E109`), repeated sections that
//! silently drop variables (`E110`), and regexes that would match differently
//! in a linear-time engine (`E112`). Condition resolution lives in
//! [`crate::compiler::resolve`].

use crate::compiler::resolve::resolve_condition;
use crate::compiler::suggest::closest;
use crate::ir::{KeywordPattern, Pattern, RuleIr, Variable};
use novac_syntax::ast::{self, KeywordValue, MetaEntry, SectionBody, SectionKind};
use novac_syntax::codes;
use novac_syntax::{Diagnostic, Span};
use std::collections::HashMap;

/// Default threshold of a `semantics:` entry without `(T)`.
pub const DEFAULT_SEMANTIC_THRESHOLD: f32 = 0.1;
/// Default temperature of an `llm:` entry without `(T)`.
pub const DEFAULT_LLM_TEMPERATURE: f32 = 0.6;

/// Checks one rule. Returns the IR when the rule has no error; the regexes
/// it parsed on the way are added to `parsed` (for planning).
pub(crate) fn check_rule(
    rule: &ast::Rule,
    source: &str,
    diags: &mut Vec<Diagnostic>,
    parsed: &mut crate::keywords::keyword_regex::ParsedRegexes,
) -> Option<RuleIr> {
    let errors_before = diags.iter().filter(|d| d.is_error()).count();

    if rule.open_brace.is_none() {
        diags.push(
            Diagnostic::new(
                &codes::MISSING_OPEN_BRACE,
                rule.name.span,
                "the rule has no opening `{`",
            )
            .with_help(format!("write `rule {} {{`", rule.name.value)),
        );
    }

    // Sections: unknown names, repeats.
    let mut seen: HashMap<SectionKind, Span> = HashMap::new();
    for section in &rule.sections {
        match &section.body {
            SectionBody::Unknown { name } => {
                let mut d = Diagnostic::new(
                    &codes::UNKNOWN_SECTION,
                    section.header,
                    format!("unknown section `{name}`"),
                )
                .with_label("not a section")
                .with_note("every line that ends in `:` is read as a section header");
                if let Some(suggestion) =
                    closest(name, &["meta", "keywords", "semantics", "llm", "condition"])
                {
                    d = d.with_help(format!("did you mean `{suggestion}`?"));
                } else {
                    d = d.with_help(
                        "valid sections are meta, keywords, semantics, llm and condition",
                    );
                }
                diags.push(d);
            }
            body => {
                if let Some(kind) = body.kind() {
                    if let Some(first) = seen.get(&kind) {
                        diags.push(
                            Diagnostic::new(&codes::REPEATED_SECTION, section.header, format!("section `{}` appears twice", kind.name()))
                                .with_label("repeated here")
                                .with_secondary(*first, "first here")
                                .with_help("merge the two sections into one")
                                .with_note("the reference keeps only the last one and silently drops the variables of the first"),
                        );
                    } else {
                        seen.insert(kind, section.header);
                    }
                }
            }
        }
    }

    let meta = check_meta(rule, diags);
    let mut vars = Vec::new();
    let mut names: HashMap<String, Span> = HashMap::new();
    for kind in [
        SectionKind::Keywords,
        SectionKind::Semantics,
        SectionKind::Llm,
    ] {
        for section in &rule.sections {
            match (&section.body, kind) {
                (SectionBody::Keywords(entries), SectionKind::Keywords) => {
                    for e in entries {
                        declare(&e.var, kind, &mut names, diags);
                        // A keyword with an error keeps its name (with a placeholder
                        // pattern; the rule is not compiled) so that the condition
                        // does not report it again as undefined.
                        let pattern = check_keyword(e, diags, parsed).unwrap_or(Pattern::Keyword(
                            KeywordPattern::Literal {
                                text: String::new(),
                                case_sensitive: false,
                            },
                        ));
                        vars.push(Variable {
                            name: e.var.value.clone(),
                            pattern,
                            used: false,
                            evaluated: false,
                            span: e.span,
                        });
                    }
                }
                (SectionBody::Semantics(entries), SectionKind::Semantics)
                | (SectionBody::Llm(entries), SectionKind::Llm) => {
                    for e in entries {
                        declare(&e.var, kind, &mut names, diags);
                        let default = if kind == SectionKind::Semantics {
                            DEFAULT_SEMANTIC_THRESHOLD
                        } else {
                            DEFAULT_LLM_TEMPERATURE
                        };
                        let number = check_threshold(e.threshold.as_ref(), default, kind, diags);
                        if e.text.value.is_empty() {
                            diags.push(
                                Diagnostic::new(
                                    &codes::EMPTY_TEXT,
                                    e.text.span,
                                    format!("empty {} text", kind.name()),
                                )
                                .with_help("write the phrase between the double quotes"),
                            );
                        }
                        let pattern = if kind == SectionKind::Semantics {
                            Pattern::Semantic {
                                text: e.text.value.clone(),
                                threshold: number,
                            }
                        } else {
                            Pattern::Llm {
                                text: e.text.value.clone(),
                                temperature: number,
                            }
                        };
                        vars.push(Variable {
                            name: e.var.value.clone(),
                            pattern,
                            used: false,
                            evaluated: false,
                            span: e.span,
                        });
                    }
                }
                _ => {}
            }
        }
    }

    let has_patterns = rule.sections.iter().any(|s| match &s.body {
        SectionBody::Keywords(e) => !e.is_empty(),
        SectionBody::Semantics(e) | SectionBody::Llm(e) => !e.is_empty(),
        _ => false,
    });
    let has_unknown = rule
        .sections
        .iter()
        .any(|s| matches!(s.body, SectionBody::Unknown { .. }));
    if !has_patterns && !has_unknown {
        diags.push(
            Diagnostic::new(
                &codes::NO_PATTERNS,
                rule.name.span,
                format!("rule `{}` defines no patterns", rule.name.value),
            )
            .with_help("add a `keywords:`, `semantics:` or `llm:` section with at least one entry"),
        );
    }

    let condition = rule.sections.iter().rev().find_map(|s| match &s.body {
        SectionBody::Condition(e) => Some(e),
        _ => None,
    });
    let Some(expr) = condition else {
        diags.push(
            Diagnostic::new(
                &codes::NO_CONDITION,
                rule.name.span,
                format!("rule `{}` has no condition", rule.name.value),
            )
            .with_help("add a `condition:` section, e.g. `any of keywords.*`"),
        );
        return None;
    };
    let before_resolve = diags.len();
    let cond = resolve_condition(expr, &mut vars, diags);
    if has_unknown {
        // The variables are probably defined in the misspelled section: do not cascade.
        let mut index = 0;
        diags.retain(|d| {
            let keep = index < before_resolve || d.code != codes::UNDEFINED_VARIABLE.id;
            index += 1;
            keep
        });
    }
    candidate_limit_lint(expr, &vars, diags);

    for var in vars.iter().filter(|v| !v.used) {
        diags.push(
            Diagnostic::new(
                &codes::UNUSED_VARIABLE,
                var.span,
                format!("variable `{}` is never used", var.name),
            )
            .with_label("defined here")
            .with_help(
                "use it in the condition or remove it; unused variables are never evaluated",
            ),
        );
    }

    let errors_after = diags.iter().filter(|d| d.is_error()).count();
    let condition_text = one_line(expr.span.text(source));
    let condition = cond?;
    (errors_after == errors_before).then(|| RuleIr {
        name: rule.name.value.clone(),
        meta,
        vars,
        condition,
        condition_text,
    })
}

/// The reference decides whether the semantic or LLM stage can change a
/// verdict with a truth table over at most 10 candidate variables; with more,
/// it assumes the stage matters and fails closed without an evaluator, even
/// when keywords already decided the verdict. novac decides exactly.
fn candidate_limit_lint(expr: &ast::Expr, vars: &[Variable], diags: &mut Vec<Diagnostic>) {
    for section in [SectionKind::Semantics, SectionKind::Llm] {
        let count = vars
            .iter()
            .filter(|v| v.used && v.section() == section)
            .count();
        if count > 10 {
            diags.push(
                Diagnostic::new(&codes::PORTABILITY, expr.span, format!("the condition uses {count} {} variables", section.name()))
                    .with_note(format!(
                        "nova-hunting assumes that a {} stage over more than 10 variables can always change the verdict: without an evaluator it fails closed even when keywords decide; novac decides exactly",
                        section.name()
                    )),
            );
        }
    }
}

/// Registers a variable name and reports duplicates and misleading prefixes.
fn declare(
    var: &novac_syntax::Spanned<String>,
    kind: SectionKind,
    names: &mut HashMap<String, Span>,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(first) = names.get(&var.value) {
        diags.push(
            Diagnostic::new(
                &codes::DUPLICATE_VARIABLE,
                var.span,
                format!("variable `{}` is defined twice", var.value),
            )
            .with_label("defined again here")
            .with_secondary(*first, "first defined here")
            .with_help("variable names must be unique across keywords, semantics and llm"),
        );
    } else {
        names.insert(var.value.clone(), var.span);
    }
    for other in ["keywords", "semantics", "llm"] {
        if other != kind.name() && var.value.starts_with(&format!("${other}")) {
            diags.push(
                Diagnostic::new(
                    &codes::FOREIGN_PREFIX,
                    var.span,
                    format!(
                    "variable `{}` in the {} section starts with the name of the {other} section",
                    var.value,
                    kind.name()
                ),
                )
                .with_help("rename it; the reference rejects such names"),
            );
        }
    }
    if matches!(var.value.as_str(), "$any" | "$all" | "$of") {
        diags.push(
            Diagnostic::new(
                &codes::RESERVED_NAME,
                var.span,
                format!("the reference rejects a variable named `{}`", var.value),
            )
            .with_help("rename it if the rule must also load in nova-hunting"),
        );
    }
}

fn check_keyword(
    entry: &ast::KeywordEntry,
    diags: &mut Vec<Diagnostic>,
    parsed: &mut crate::keywords::keyword_regex::ParsedRegexes,
) -> Option<Pattern> {
    if let Some(t) = &entry.threshold {
        diags.push(
            Diagnostic::new(
                &codes::KEYWORD_THRESHOLD,
                t.span,
                "keywords take no threshold",
            )
            .with_label("fuzzy keyword thresholds are not supported")
            .with_help(
                "remove the threshold, or use a `semantics:` entry for approximate matching",
            ),
        );
    }
    match &entry.value {
        KeywordValue::Text {
            text, case_marker, ..
        } => {
            if text.value.is_empty() {
                diags.push(
                    Diagnostic::new(
                        &codes::EMPTY_KEYWORD,
                        entry.span,
                        "this empty keyword matches every prompt that is not blank",
                    )
                    .with_label("empty pattern"),
                );
            }
            Some(Pattern::Keyword(KeywordPattern::Literal {
                text: text.value.clone(),
                case_sensitive: case_marker.is_some(),
            }))
        }
        KeywordValue::Regex {
            body,
            flags,
            case_marker,
        } => {
            if !(flags.value.is_empty() || flags.value == "i") {
                diags.push(
                    Diagnostic::new(
                        &codes::BAD_REGEX_FLAGS,
                        flags.span,
                        format!("invalid regex flags `{}`", flags.value),
                    )
                    .with_label("only `i` is allowed")
                    .with_help("write /regex/ (case-sensitive) or /regex/i (case-insensitive)"),
                );
                return None;
            }
            let case_insensitive = flags.value == "i" && case_marker.is_none();
            crate::keywords::keyword_regex::check_regex(
                &body.value,
                body.span,
                case_insensitive,
                diags,
                parsed,
            )
            .map(|rust| {
                Pattern::Keyword(KeywordPattern::Regex {
                    python: body.value.clone(),
                    rust,
                    case_insensitive,
                })
            })
        }
    }
}

fn check_threshold(
    threshold: Option<&ast::Threshold>,
    default: f32,
    kind: SectionKind,
    diags: &mut Vec<Diagnostic>,
) -> f32 {
    let Some(t) = threshold else { return default };
    let text = &t.text.value;
    let valid_chars = !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.');
    let what = if kind == SectionKind::Llm {
        "temperature"
    } else {
        "threshold"
    };
    match text.parse::<f32>() {
        Ok(v) if valid_chars && (0.0..=1.0).contains(&v) => v,
        Ok(v) if valid_chars => {
            diags.push(
                Diagnostic::new(
                    &codes::BAD_THRESHOLD,
                    t.text.span,
                    format!("{what} {v} is out of range"),
                )
                .with_label("must be between 0 and 1"),
            );
            default
        }
        _ => {
            diags.push(
                Diagnostic::new(
                    &codes::BAD_THRESHOLD,
                    t.text.span,
                    format!("`{text}` is not a valid {what}"),
                )
                .with_label("expected a number like 0.5")
                .with_help("write a decimal number between 0 and 1"),
            );
            default
        }
    }
}

fn check_meta(rule: &ast::Rule, diags: &mut Vec<Diagnostic>) -> Vec<(String, String)> {
    let mut meta: Vec<(String, String)> = Vec::new();
    let mut spans: HashMap<String, Span> = HashMap::new();
    for section in &rule.sections {
        let SectionBody::Meta(entries) = &section.body else {
            continue;
        };
        for entry in entries {
            let MetaEntry::Pair { key, value, .. } = entry else {
                continue;
            };
            if let Some(first) = spans.get(&key.value) {
                diags.push(
                    Diagnostic::new(
                        &codes::DUPLICATE_META,
                        key.span,
                        format!("meta key `{}` appears twice", key.value),
                    )
                    .with_secondary(*first, "first here")
                    .with_label("this value wins"),
                );
                if let Some(slot) = meta.iter_mut().find(|(k, _)| *k == key.value) {
                    slot.1 = value.value.clone();
                }
            } else {
                spans.insert(key.value.clone(), key.span);
                meta.push((key.value.clone(), value.value.clone()));
            }
        }
    }
    meta
}

/// The condition source on one line: comment lines dropped, white space collapsed.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//") && !l.starts_with('#'))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}
