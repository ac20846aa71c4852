//! The checked, name-resolved form of a rule: what the checker produces and
//! the compiler consumes.
//!
//! Every variable of a rule has a [`VarId`] (its index in [`RuleIr::vars`]);
//! the condition ([`Cond`]) refers to variables only through those ids, and
//! every wildcard and quantifier has already been expanded to the list of
//! variables it covers. Nothing downstream looks a name up again.

use novac_syntax::ast::SectionKind;
use novac_syntax::Span;
use serde::{Deserialize, Serialize};

/// Index of a variable within its rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VarId(pub u32);

impl VarId {
    /// The index as `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A rule after checking.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RuleIr {
    /// The rule name.
    pub name: String,
    /// Meta entries in first-seen order (a repeated key keeps its first
    /// position and its last value, like a Python dict).
    pub meta: Vec<(String, String)>,
    /// Variables: keywords first, then semantics, then llm, each in written order.
    pub vars: Vec<Variable>,
    /// The condition, over [`VarId`]s.
    pub condition: Cond,
    /// The condition's source text on one line (comments removed, white space collapsed).
    pub condition_text: String,
}

impl RuleIr {
    /// Ids of the variables of one section.
    pub fn section_vars(&self, section: SectionKind) -> impl Iterator<Item = VarId> + '_ {
        self.vars
            .iter()
            .enumerate()
            .filter(move |(_, v)| v.section() == section)
            .map(|(i, _)| VarId(i as u32))
    }
}

/// One `$name = ...` entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Variable {
    /// The name with its `$`.
    pub name: String,
    /// What it matches.
    pub pattern: Pattern,
    /// Whether the condition's value depends on it (directly or through a wildcard).
    pub used: bool,
    /// Whether a scan evaluates and reports it. The reference evaluates a
    /// variable when the condition names it, covers it with a prefix, or has a
    /// wildcard or quantifier over its whole section (`keywords.*`,
    /// `any of keywords`, and also `any of keywords.$p*`); unreferenced
    /// variables are never evaluated. Always true when `used` is.
    pub evaluated: bool,
    /// Where the entry is written (byte range in its source).
    #[serde(skip)]
    pub span: Span,
}

impl Variable {
    /// The section the variable belongs to.
    pub fn section(&self) -> SectionKind {
        match self.pattern {
            Pattern::Keyword(_) => SectionKind::Keywords,
            Pattern::Semantic { .. } => SectionKind::Semantics,
            Pattern::Llm { .. } => SectionKind::Llm,
        }
    }
}

/// What a variable matches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Pattern {
    /// A `keywords:` entry.
    Keyword(KeywordPattern),
    /// A `semantics:` entry: cosine similarity of the prompt to `text` ≥ `threshold`.
    Semantic {
        /// The phrase.
        text: String,
        /// The threshold in [0, 1] (default 0.1).
        threshold: f32,
    },
    /// An `llm:` entry: an LLM judges whether the prompt fits `text`.
    Llm {
        /// The instruction to the judge.
        text: String,
        /// The sampling temperature in [0, 1] (default 0.6); not a threshold.
        temperature: f32,
    },
}

/// A keyword pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeywordPattern {
    /// A substring test; case-insensitive under Python `str.lower()` unless `case_sensitive`.
    Literal {
        /// The text, exactly as written between the quotes.
        text: String,
        /// Set by ` case:true`.
        case_sensitive: bool,
    },
    /// A Python-syntax regular expression, searched anywhere in the prompt.
    Regex {
        /// The body as written between the slashes.
        python: String,
        /// The same pattern in Rust `regex` syntax.
        rust: String,
        /// `/re/i` (and not ` case:true`).
        case_insensitive: bool,
    },
}

/// A condition over the variables of one rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cond {
    /// `true` / `false`, and quantifiers whose value is fixed at compile time.
    Const(bool),
    /// The value of one variable.
    Var(VarId),
    /// Negation.
    Not(Box<Cond>),
    /// Conjunction (two or more operands).
    And(Vec<Cond>),
    /// Disjunction (two or more operands).
    Or(Vec<Cond>),
    /// At least `n` (≥ 1) of `vars` are true: `any of`, `N of`, wildcards.
    AtLeast {
        /// The variables counted (non-empty).
        vars: Vec<VarId>,
        /// How many must be true.
        n: u32,
    },
    /// Every one of `vars` (non-empty) is true: `all of`.
    All(Vec<VarId>),
}

impl Cond {
    /// Calls `f` on every variable the condition mentions.
    pub fn for_each_var(&self, f: &mut impl FnMut(VarId)) {
        match self {
            Cond::Const(_) => {}
            Cond::Var(v) => f(*v),
            Cond::Not(c) => c.for_each_var(f),
            Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| c.for_each_var(f)),
            Cond::AtLeast { vars, .. } | Cond::All(vars) => vars.iter().copied().for_each(f),
        }
    }
}
