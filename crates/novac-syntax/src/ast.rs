//! The typed syntax tree of a `.nov` file.
//!
//! The tree mirrors what was written, with a [`Span`] on every node, and makes
//! no judgement beyond syntax: unknown section names, repeated sections,
//! out-of-range thresholds and undefined variables are all representable here
//! and reported by the checker in the `novac` crate, which then resolves names
//! once and for all. The condition is a real expression tree ([`Expr`]), built
//! with the precedence of Python's `not` > `and` > `or`.

use crate::span::{Span, Spanned};
use serde::Serialize;

/// One parsed source file.
#[derive(Clone, Debug, Serialize)]
pub struct File {
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// Lines outside any rule that are neither blank nor comments
    /// (ignored, like the reference does, with a warning).
    pub outside_text: Vec<Span>,
}

/// `rule Name { ... }`
#[derive(Clone, Debug, Serialize)]
pub struct Rule {
    /// From `rule` to the closing `}`.
    pub span: Span,
    /// The rule name.
    pub name: Spanned<String>,
    /// Tags written after the name (`rule A : t1 t2`); the reference ignores them.
    pub tags: Vec<Spanned<String>>,
    /// Where the opening `{` is, when there is one (the reference does not require it).
    pub open_brace: Option<Span>,
    /// The sections in the order written (a section may appear twice).
    pub sections: Vec<Section>,
    /// Text after the closing `}` up to the next rule that is neither blank nor a comment.
    pub trailing_text: Option<Span>,
}

/// Which section a header names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum SectionKind {
    /// `meta:`
    Meta,
    /// `keywords:`
    Keywords,
    /// `semantics:`
    Semantics,
    /// `llm:`
    Llm,
    /// `condition:`
    Condition,
}

impl SectionKind {
    /// The canonical (lower-case) name.
    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Meta => "meta",
            SectionKind::Keywords => "keywords",
            SectionKind::Semantics => "semantics",
            SectionKind::Llm => "llm",
            SectionKind::Condition => "condition",
        }
    }
}

/// One section with its header.
#[derive(Clone, Debug, Serialize)]
pub struct Section {
    /// From the header to the last line of the section.
    pub span: Span,
    /// The header line's name, e.g. `keywords` (without the colon).
    pub header: Span,
    /// The section's content.
    pub body: SectionBody,
}

/// The content of a section.
#[derive(Clone, Debug, Serialize)]
pub enum SectionBody {
    /// `meta:` entries.
    Meta(Vec<MetaEntry>),
    /// `keywords:` entries.
    Keywords(Vec<KeywordEntry>),
    /// `semantics:` entries.
    Semantics(Vec<ScoredEntry>),
    /// `llm:` entries.
    Llm(Vec<ScoredEntry>),
    /// `condition:` and its expression.
    Condition(Expr),
    /// A header with a name that is not a section (`kewords:`); its lines are skipped.
    Unknown {
        /// The name as written.
        name: String,
    },
}

impl SectionBody {
    /// The kind of section, or `None` for an unknown one.
    pub fn kind(&self) -> Option<SectionKind> {
        Some(match self {
            SectionBody::Meta(_) => SectionKind::Meta,
            SectionBody::Keywords(_) => SectionKind::Keywords,
            SectionBody::Semantics(_) => SectionKind::Semantics,
            SectionBody::Llm(_) => SectionKind::Llm,
            SectionBody::Condition(_) => SectionKind::Condition,
            SectionBody::Unknown { .. } => return None,
        })
    }
}

/// A meta line.
#[derive(Clone, Debug, Serialize)]
pub enum MetaEntry {
    /// `key = value`; the value has its outer double quotes removed.
    Pair {
        /// The whole line.
        span: Span,
        /// The key, trimmed.
        key: Spanned<String>,
        /// The value, trimmed, outer `"` removed, nothing unescaped.
        value: Spanned<String>,
    },
    /// A line without `=` (ignored, with a warning).
    Junk {
        /// The line.
        span: Span,
    },
}

/// `$name = "text"`, `$name = 'text'` or `$name = /regex/flags`.
#[derive(Clone, Debug, Serialize)]
pub struct KeywordEntry {
    /// The whole entry.
    pub span: Span,
    /// The variable name, with its `$`.
    pub var: Spanned<String>,
    /// The pattern.
    pub value: KeywordValue,
    /// A `(threshold)` after the value: reserved for fuzzy keywords, rejected today.
    pub threshold: Option<Threshold>,
}

/// The pattern of a keyword entry.
#[derive(Clone, Debug, Serialize)]
pub enum KeywordValue {
    /// A quoted literal: a substring test, case-insensitive unless `case:true`.
    Text {
        /// The literal text (no escape processing; trimmed when `case:true` cut it).
        text: Spanned<String>,
        /// The quote character, `"` or `'`.
        quote: char,
        /// The ` case:true` marker, when present.
        case_marker: Option<CaseMarker>,
    },
    /// `/body/flags`: a Python-style regular expression.
    Regex {
        /// The regex source between the slashes (trimmed when `case:true` cut it).
        body: Spanned<String>,
        /// The flags after the closing slash (only `i` is valid).
        flags: Spanned<String>,
        /// The ` case:true` marker, when present.
        case_marker: Option<CaseMarker>,
    },
}

/// A ` case:true` marker inside a keyword value.
#[derive(Clone, Debug, Serialize)]
pub struct CaseMarker {
    /// The marker itself.
    pub span: Span,
    /// Text between the marker and the closing delimiter, which is dropped.
    pub dropped: Option<Span>,
}

/// `$name = "text" (0.5)` in `semantics:` or `llm:`.
#[derive(Clone, Debug, Serialize)]
pub struct ScoredEntry {
    /// The whole entry.
    pub span: Span,
    /// The variable name, with its `$`.
    pub var: Spanned<String>,
    /// The text between the quotes.
    pub text: Spanned<String>,
    /// The number in parentheses, if written.
    pub threshold: Option<Threshold>,
}

/// A parenthesised number after a value, as written (validated by the checker).
#[derive(Clone, Debug, Serialize)]
pub struct Threshold {
    /// The text between the parentheses, trimmed.
    pub text: Spanned<String>,
    /// From `(` to `)`.
    pub span: Span,
}

/// A condition expression.
#[derive(Clone, Debug, Serialize)]
pub struct Expr {
    /// Where the expression is written.
    pub span: Span,
    /// What it is.
    pub kind: ExprKind,
}

/// Boolean operators, with the text as written (for case lints).
#[derive(Clone, Debug, Serialize)]
pub struct Operator {
    /// The operator word as written (`and`, `AND`, ...).
    pub text: String,
    /// Where it is.
    pub span: Span,
}

/// The forms of a condition expression.
#[derive(Clone, Debug, Serialize)]
pub enum ExprKind {
    /// `true`, `True`, `false`, `False`.
    Bool(bool),
    /// `not e`
    Not(Operator, Box<Expr>),
    /// `a and b`
    And(Operator, Box<Expr>, Box<Expr>),
    /// `a or b`
    Or(Operator, Box<Expr>, Box<Expr>),
    /// `( e )`
    Paren(Box<Expr>),
    /// `$a` or `keywords.$a`.
    Var(VarRef),
    /// `keywords.*`: any variable of the section.
    SectionWildcard(SectionRef),
    /// `keywords.$pre*` (or the invalid bare `$pre*`).
    PrefixWildcard(PrefixRef),
    /// `any of keywords`, `2 of semantics.*`, `all of keywords.$p*`, `any of ($p*)`.
    Quantified {
        /// `any`, `all` or a count.
        quantifier: Spanned<Quantifier>,
        /// What is counted.
        target: QuantTarget,
    },
    /// Any other word (`TRUE`, `foo`, `keywords`, `semantics.x`, `them`).
    BareWord(String),
}

/// A section name used in a condition, as written.
#[derive(Clone, Debug, Serialize)]
pub struct SectionRef {
    /// The section (matched case-insensitively).
    pub kind: SectionKind,
    /// The name exactly as written (`keywords`, `KEYWORDS`).
    pub written: String,
    /// Where the name is.
    pub span: Span,
}

/// `$a` or `keywords.$a`.
#[derive(Clone, Debug, Serialize)]
pub struct VarRef {
    /// The section qualifier, if written.
    pub section: Option<SectionRef>,
    /// The variable name with its `$`.
    pub name: Spanned<String>,
}

/// `keywords.$pre*` or `$pre*`.
#[derive(Clone, Debug, Serialize)]
pub struct PrefixRef {
    /// The section qualifier, if written.
    pub section: Option<SectionRef>,
    /// The prefix without `$` and `*`.
    pub prefix: Spanned<String>,
}

/// `any`, `all` or `N` in `... of ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Quantifier {
    /// At least one.
    Any,
    /// Every one, and at least one exists.
    All,
    /// At least N (`0 of` is always true).
    AtLeast(u32),
}

/// What a quantifier counts.
#[derive(Clone, Debug, Serialize)]
pub enum QuantTarget {
    /// `keywords` or `keywords.*`
    Section(SectionRef),
    /// `keywords.$p*`
    SectionPrefix(PrefixRef),
    /// `($p*)`: the prefix across all sections (a section-qualified prefix
    /// inside the parentheses is representable and rejected by the checker).
    Group(PrefixRef),
}
