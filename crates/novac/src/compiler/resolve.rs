//! Name resolution for conditions: from the syntax tree ([`ast::Expr`]) to a
//! [`Cond`] over variable ids, with wildcards and quantifiers expanded to the
//! variables they cover and constant quantifiers folded.
//!
//! Also reports the condition mistakes the reference lets through and then
//! evaluates as "always false" (bare words, wrongly-cased section names),
//! and the forms the reference rejects (bare `$p*`, `(keywords.*)`).

use crate::ir::{Cond, VarId, Variable};
use novac_syntax::ast::{
    self, ExprKind, Operator, PrefixRef, QuantTarget, Quantifier, SectionKind, SectionRef,
};
use novac_syntax::codes;
use novac_syntax::{Diagnostic, Span};

/// Resolves `expr` against `vars`, marking the variables it uses.
/// Returns `None` when an error was reported.
pub(crate) fn resolve_condition(
    expr: &ast::Expr,
    vars: &mut [Variable],
    diags: &mut Vec<Diagnostic>,
) -> Option<Cond> {
    let mut resolver = Resolver {
        vars,
        diags,
        ok: true,
    };
    let cond = resolver.expr(expr);
    resolver.ok.then_some(cond)
}

struct Resolver<'a> {
    vars: &'a mut [Variable],
    diags: &'a mut Vec<Diagnostic>,
    ok: bool,
}

impl Resolver<'_> {
    fn error(&mut self, d: Diagnostic) -> Cond {
        self.ok = false;
        self.diags.push(d);
        Cond::Const(false)
    }

    fn operator_case(&mut self, op: &Operator) {
        if op.text.chars().any(|c| c.is_ascii_uppercase()) {
            self.diags.push(
                Diagnostic::new(
                    &codes::OPERATOR_CASE,
                    op.span,
                    format!("operator `{}` is not lower-case", op.text),
                )
                .with_help(format!(
                    "write `{}`; the reference rejects upper-case operators in most conditions",
                    op.text.to_lowercase()
                )),
            );
        }
    }

    fn expr(&mut self, expr: &ast::Expr) -> Cond {
        match &expr.kind {
            ExprKind::Bool(b) => Cond::Const(*b),
            ExprKind::Not(op, inner) => {
                self.operator_case(op);
                Cond::Not(Box::new(self.expr(inner)))
            }
            ExprKind::And(op, l, r) => {
                self.operator_case(op);
                let (l, r) = (self.expr(l), self.expr(r));
                Cond::And(flatten(l, r, |c| matches!(c, Cond::And(_))))
            }
            ExprKind::Or(op, l, r) => {
                self.operator_case(op);
                let (l, r) = (self.expr(l), self.expr(r));
                Cond::Or(flatten(l, r, |c| matches!(c, Cond::Or(_))))
            }
            ExprKind::Paren(inner) => {
                if let ExprKind::SectionWildcard(section) = &inner.kind {
                    return self.error(
                        Diagnostic::new(
                            &codes::WRAPPED_WILDCARD,
                            expr.span,
                            "a section wildcard may not be wrapped in parentheses",
                        )
                        .with_help(format!(
                            "write `{}.*` or `any of {}.*`",
                            section.written, section.written
                        )),
                    );
                }
                self.expr(inner)
            }
            ExprKind::Var(var) => self.var(var),
            ExprKind::SectionWildcard(section) => {
                if !self.section_case(section) {
                    return Cond::Const(false);
                }
                let vars = self.section_vars(section.kind);
                self.at_least(vars, 1, expr.span)
            }
            ExprKind::PrefixWildcard(prefix) => match &prefix.section {
                None => self.error(
                    Diagnostic::new(
                        &codes::BARE_WILDCARD,
                        expr.span,
                        "a prefix wildcard needs a section or a quantifier",
                    )
                    .with_help(format!(
                        "write `keywords.${p}*` (one section) or `any of (${p}*)` (all sections)",
                        p = prefix.prefix.value
                    )),
                ),
                Some(_) => {
                    let vars = self.prefix_vars(prefix, expr.span);
                    self.at_least(vars, 1, expr.span)
                }
            },
            ExprKind::Quantified { quantifier, target } => {
                self.quantified(quantifier, target, expr.span)
            }
            ExprKind::BareWord(word) => self.bare_word(word, expr.span),
        }
    }

    /// Section names are case-sensitive in plain references and `section.*`
    /// in the reference (a wrong case makes the whole condition false).
    fn section_case(&mut self, section: &SectionRef) -> bool {
        if section.written == section.kind.name() {
            return true;
        }
        self.error(
            Diagnostic::new(&codes::ALWAYS_FALSE, section.span, format!("section name `{}` must be lower-case here", section.written))
                .with_help(format!("write `{}`", section.kind.name()))
                .with_note("the reference accepts this spelling but then evaluates the whole condition as false"),
        );
        false
    }

    fn var(&mut self, var: &ast::VarRef) -> Cond {
        if let Some(section) = &var.section {
            if !self.section_case(section) {
                return Cond::Const(false);
            }
        }
        let found = self.vars.iter_mut().enumerate().find(|(_, v)| {
            v.name == var.name.value && var.section.as_ref().is_none_or(|s| v.section() == s.kind)
        });
        match found {
            Some((i, v)) => {
                v.used = true;
                v.evaluated = true;
                Cond::Var(VarId(i as u32))
            }
            None => {
                let mut d = Diagnostic::new(
                    &codes::UNDEFINED_VARIABLE,
                    var.name.span,
                    format!("undefined variable `{}`", var.name.value),
                )
                .with_label("not defined in this rule");
                if let Some(section) = &var.section {
                    if let Some(other) = self.vars.iter().find(|v| v.name == var.name.value) {
                        d = d.with_help(format!(
                            "`{}` is defined in the {} section, not in {}",
                            other.name,
                            other.section().name(),
                            section.kind.name()
                        ));
                    }
                } else {
                    let names: Vec<&str> = self.vars.iter().map(|v| v.name.as_str()).collect();
                    if let Some(best) = crate::compiler::suggest::closest(&var.name.value, &names) {
                        d = d.with_help(format!("did you mean `{best}`?"));
                    }
                }
                self.error(d)
            }
        }
    }

    fn section_vars(&mut self, section: SectionKind) -> Vec<VarId> {
        self.vars
            .iter_mut()
            .enumerate()
            .filter(|(_, v)| v.section() == section)
            .map(|(i, v)| {
                v.used = true;
                v.evaluated = true;
                VarId(i as u32)
            })
            .collect()
    }

    /// Marks every variable of a section as evaluated (reported), as the
    /// reference does for any quantifier over that section.
    fn evaluate_section(&mut self, section: SectionKind) {
        for v in self.vars.iter_mut().filter(|v| v.section() == section) {
            v.evaluated = true;
        }
    }

    /// Variables whose name (after `$`) starts with the prefix, in the
    /// prefix's section or in every section.
    fn prefix_vars(&mut self, prefix: &PrefixRef, span: Span) -> Vec<VarId> {
        let section = prefix.section.as_ref().map(|s| s.kind);
        let vars: Vec<VarId> = self
            .vars
            .iter_mut()
            .enumerate()
            .filter(|(_, v)| {
                section.is_none_or(|s| v.section() == s)
                    && v.name
                        .get(1..)
                        .is_some_and(|n| n.starts_with(&prefix.prefix.value))
            })
            .map(|(i, v)| {
                v.used = true;
                v.evaluated = true;
                VarId(i as u32)
            })
            .collect();
        if vars.is_empty() {
            let scope = section.map_or_else(
                || "any section".to_string(),
                |s| format!("the {} section", s.name()),
            );
            self.error(
                Diagnostic::new(
                    &codes::EMPTY_WILDCARD,
                    span,
                    format!("`${}*` matches no variable in {scope}", prefix.prefix.value),
                )
                .with_label("matches nothing"),
            );
        }
        vars
    }

    fn at_least(&mut self, vars: Vec<VarId>, n: u32, span: Span) -> Cond {
        if n == 0 {
            self.constant(span, "`0 of` is always true");
            return Cond::Const(true);
        }
        if (vars.len() as u64) < u64::from(n) {
            if !vars.is_empty() || n > 1 {
                self.constant(
                    span,
                    &format!(
                        "needs {n} matches but only {} variables are counted: always false",
                        vars.len()
                    ),
                );
            }
            return Cond::Const(false);
        }
        Cond::AtLeast { vars, n }
    }

    fn constant(&mut self, span: Span, message: &str) {
        self.diags.push(
            Diagnostic::new(&codes::QUANTIFIER_CONSTANT, span, message.to_string())
                .with_label("constant"),
        );
    }

    fn quantified(
        &mut self,
        quantifier: &novac_syntax::Spanned<Quantifier>,
        target: &QuantTarget,
        span: Span,
    ) -> Cond {
        let vars = match target {
            QuantTarget::Section(section) => self.section_vars(section.kind),
            QuantTarget::SectionPrefix(prefix) => {
                if let Some(section) = &prefix.section {
                    self.evaluate_section(section.kind);
                }
                self.prefix_vars(prefix, span)
            }
            QuantTarget::Group(prefix) => {
                if let Some(section) = &prefix.section {
                    return self.error(
                        Diagnostic::new(
                            &codes::WRAPPED_WILDCARD,
                            span,
                            "a section prefix may not be wrapped in `of (...)`",
                        )
                        .with_help(format!(
                            "write `of {}.${}*`",
                            section.written, prefix.prefix.value
                        )),
                    );
                }
                self.prefix_vars(prefix, span)
            }
        };
        match quantifier.value {
            Quantifier::Any => self.at_least(vars, 1, span),
            Quantifier::AtLeast(u32::MAX) => self.error(
                Diagnostic::new(
                    &codes::BAD_QUANTIFIER,
                    quantifier.span,
                    "the count is too large",
                )
                .with_label("at most 4294967294"),
            ),
            Quantifier::AtLeast(n) => self.at_least(vars, n, span),
            Quantifier::All => {
                if vars.is_empty() {
                    self.constant(span, "`all of` an empty set is always false");
                    Cond::Const(false)
                } else {
                    Cond::All(vars)
                }
            }
        }
    }

    fn bare_word(&mut self, word: &str, span: Span) -> Cond {
        let lower = word.to_lowercase();
        let d = if lower == "any" || lower == "all" {
            Diagnostic::new(
                &codes::BAD_QUANTIFIER,
                span,
                format!("`{word}` must be followed by `of`"),
            )
            .with_help(format!("write `{word} of keywords.*`"))
        } else if lower == "true" || lower == "false" {
            Diagnostic::new(
                &codes::ALWAYS_FALSE,
                span,
                format!("`{word}` is not a boolean literal"),
            )
            .with_help(format!("write `{}` or `{}`", lower, capitalize(&lower)))
            .with_note("the reference accepts it but then evaluates the whole condition as false")
        } else if lower == "of" {
            Diagnostic::new(
                &codes::BAD_QUANTIFIER,
                span,
                "`of` must follow `any`, `all` or a number",
            )
        } else if matches!(lower.as_str(), "keywords" | "semantics" | "llm") {
            Diagnostic::new(
                &codes::ALWAYS_FALSE,
                span,
                format!("a section name alone is not a condition: `{word}`"),
            )
            .with_help(format!("write `any of {lower}` or `{lower}.*`"))
            .with_note("the reference accepts it but then evaluates the whole condition as false")
        } else {
            Diagnostic::new(
                &codes::ALWAYS_FALSE,
                span,
                format!("`{word}` is not a variable, wildcard or quantifier"),
            )
            .with_help("variables start with `$`, e.g. `$a` or `keywords.$a`")
            .with_note(
                "the reference accepts bare words but then evaluates the whole condition as false",
            )
        };
        self.error(d.with_label("here"))
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Joins two operands, splicing in operands of the same associative operator.
fn flatten(l: Cond, r: Cond, same: impl Fn(&Cond) -> bool) -> Vec<Cond> {
    let mut out = Vec::new();
    for c in [l, r] {
        if same(&c) {
            if let Cond::And(cs) | Cond::Or(cs) = c {
                out.extend(cs);
            }
        } else {
            out.push(c);
        }
    }
    out
}
