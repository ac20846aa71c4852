//! One open document: its text, a line index that converts between byte
//! offsets and LSP positions (UTF-16 code units), its syntax tree and its
//! diagnostics under the project policy.
//!
//! Re-analysis runs on every change: a parse of the whole file, and the
//! engine's checker over the rules whose text changed ([`super::recheck`];
//! see `scripts/bench/lsp_recheck.py` for the time). Nothing here panics on
//! any text: every offset is clamped to a char boundary.

use super::recheck::RuleCache;
use crate::config::Config;
use lsp_types::{Position, Range};
use novac::syntax::ast::{self, Expr, ExprKind, QuantTarget, SectionBody};
use novac::{Diagnostic, Span};
use std::sync::Arc;

/// An open document and everything derived from its text.
pub struct Document {
    /// The text.
    pub text: String,
    /// Byte offsets of line starts.
    line_starts: Vec<usize>,
    /// The syntax tree (rules that parsed).
    pub file: ast::File,
    /// Diagnostics after the project policy.
    pub diagnostics: Vec<Diagnostic>,
    /// The configuration that applies to this document.
    pub config: Arc<Config>,
    /// Per-rule diagnostics, reused by the next version's re-check.
    checks: RuleCache,
}

impl Document {
    /// Analyses `text`, checking only the rules `checks` (the cache of the
    /// document's previous version) has not seen ([`super::recheck`]).
    pub fn with_cache(text: String, config: Arc<Config>, mut checks: RuleCache) -> Document {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let checked = checks.check(&text);
        let file = checked.file;
        let mut diagnostics = checked.diagnostics;
        config.apply_parsed(&text, &file.rules, &mut diagnostics);
        Document {
            text,
            line_starts,
            file,
            diagnostics,
            config,
            checks,
        }
    }

    /// The per-rule check cache, for the document's next version.
    pub fn into_cache(self) -> RuleCache {
        self.checks
    }

    /// Parses `text` without checking it (for workspace symbols).
    pub fn light(text: String) -> Document {
        let file = novac::syntax::parse(&text).file;
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Document {
            text,
            line_starts,
            file,
            diagnostics: Vec::new(),
            config: Arc::default(),
            checks: RuleCache::default(),
        }
    }

    /// The LSP position of byte `offset`.
    pub fn position(&self, offset: usize) -> Position {
        let offset = floor_char(&self.text, offset.min(self.text.len()));
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let character = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().map(char::len_utf16).sum::<usize>());
        Position::new(line as u32, character as u32)
    }

    /// The byte offset of an LSP position (clamped to the line and the text).
    pub fn offset(&self, position: Position) -> usize {
        let Some(&start) = self.line_starts.get(position.line as usize) else {
            return self.text.len();
        };
        let end = self
            .line_starts
            .get(position.line as usize + 1)
            .copied()
            .unwrap_or(self.text.len());
        let line = self.text.get(start..end).unwrap_or("");
        let mut units = 0usize;
        for (i, c) in line.char_indices() {
            if units >= position.character as usize || c == '\n' {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }

    /// The LSP range of a span.
    pub fn range(&self, span: Span) -> Range {
        Range::new(
            self.position(span.start as usize),
            self.position(span.end as usize),
        )
    }

    /// The byte span of an LSP range.
    pub fn span(&self, range: Range) -> Span {
        Span::new(self.offset(range.start), self.offset(range.end))
    }

    /// The rule whose span contains `offset`.
    pub fn rule_at(&self, offset: usize) -> Option<&ast::Rule> {
        self.file
            .rules
            .iter()
            .find(|r| (r.span.start as usize) <= offset && offset <= r.span.end as usize)
    }

    /// The full line span containing `offset`.
    pub fn line_span(&self, offset: usize) -> Span {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        Span::new(start, end)
    }
}

/// The largest char boundary at or before `offset`.
pub fn floor_char(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A variable definition in a rule.
pub struct VarDef<'a> {
    /// The section it is in.
    pub section: ast::SectionKind,
    /// The name with `$`.
    pub name: &'a novac::syntax::Spanned<String>,
    /// The whole entry.
    pub entry: Span,
    /// Pattern text for hover.
    pub pattern: String,
    /// Threshold (semantics) or temperature (llm), as written.
    pub score: Option<&'a str>,
}

/// Every variable definition of `rule`.
pub fn definitions(rule: &ast::Rule) -> Vec<VarDef<'_>> {
    let mut out = Vec::new();
    for section in &rule.sections {
        match &section.body {
            SectionBody::Keywords(entries) => {
                for e in entries {
                    let pattern = match &e.value {
                        ast::KeywordValue::Text {
                            text,
                            quote,
                            case_marker,
                        } => format!(
                            "{quote}{}{}{quote}",
                            text.value,
                            if case_marker.is_some() {
                                " case:true"
                            } else {
                                ""
                            }
                        ),
                        ast::KeywordValue::Regex { body, flags, .. } => {
                            format!("/{}/{}", body.value, flags.value)
                        }
                    };
                    out.push(VarDef {
                        section: ast::SectionKind::Keywords,
                        name: &e.var,
                        entry: e.span,
                        pattern,
                        score: None,
                    });
                }
            }
            SectionBody::Semantics(entries) | SectionBody::Llm(entries) => {
                let kind = section.body.kind().unwrap_or(ast::SectionKind::Semantics);
                for e in entries {
                    out.push(VarDef {
                        section: kind,
                        name: &e.var,
                        entry: e.span,
                        pattern: format!("\"{}\"", e.text.value),
                        score: e.threshold.as_ref().map(|t| t.text.value.as_str()),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// The condition of `rule`, if it has one.
pub fn condition(rule: &ast::Rule) -> Option<&Expr> {
    rule.sections.iter().find_map(|s| match &s.body {
        SectionBody::Condition(e) => Some(e),
        _ => None,
    })
}

/// Every `$var` reference (name spans) in `expr`, with its name.
pub fn var_refs<'a>(expr: &'a Expr, out: &mut Vec<&'a novac::syntax::Spanned<String>>) {
    match &expr.kind {
        ExprKind::Not(_, e) | ExprKind::Paren(e) => var_refs(e, out),
        ExprKind::And(_, a, b) | ExprKind::Or(_, a, b) => {
            var_refs(a, out);
            var_refs(b, out);
        }
        ExprKind::Var(v) => out.push(&v.name),
        _ => {}
    }
}

/// Walks every node of `expr` (pre-order).
pub fn walk<'a>(expr: &'a Expr, f: &mut dyn FnMut(&'a Expr)) {
    f(expr);
    match &expr.kind {
        ExprKind::Not(_, e) | ExprKind::Paren(e) => walk(e, f),
        ExprKind::And(_, a, b) | ExprKind::Or(_, a, b) => {
            walk(a, f);
            walk(b, f);
        }
        _ => {}
    }
}

/// Whether a wildcard or quantifier in `expr` covers `name` (`$abc`), for hover.
pub fn covered_by(expr: &Expr, section: ast::SectionKind, name: &str) -> bool {
    let bare = name.trim_start_matches('$');
    let prefix_ok = |p: &ast::PrefixRef| {
        let same = match &p.section {
            Some(s) => s.kind == section,
            None => true,
        };
        same && bare.starts_with(&p.prefix.value)
    };
    match &expr.kind {
        ExprKind::SectionWildcard(s) => s.kind == section,
        ExprKind::PrefixWildcard(p) => prefix_ok(p),
        ExprKind::Quantified { target, .. } => match target {
            QuantTarget::Section(s) => s.kind == section,
            QuantTarget::SectionPrefix(p) | QuantTarget::Group(p) => prefix_ok(p),
        },
        _ => false,
    }
}
