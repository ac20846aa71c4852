//! What a scan reports: [`ScanResult`] with one [`RuleResult`] per matched
//! (or failed-closed) rule, its keyword spans, semantic scores and LLM
//! verdicts. Every scanner (the [`crate::Scanner`], the streaming one, the
//! batch path) builds these types and nothing else crosses back from a scan.
//!
//! Plain data, serialisable to the JSONL contract of `novac scan`; the
//! Python bindings wrap them. Costs nothing beyond the allocations of the
//! results a scan returns.

use crate::plugins::LlmVerdict;
use crate::shared_str::SharedStr;
use serde::Serialize;

/// One keyword variable that matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeywordMatch {
    /// The variable, with its `$`.
    pub var: SharedStr,
    /// Byte offset of the first match in the scanned text.
    pub start: usize,
    /// Byte offset one past its end.
    pub end: usize,
    /// Set when the keyword matched only in a decoded view
    /// ([`crate::ScanOptions::decode`]): the view's encoding (innermost layer);
    /// `start`..`end` is then the encoded run's span in the scanned text.
    /// Absent from JSON when not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<Encoding>,
}

/// A semantic variable that was evaluated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SemanticScore {
    /// The variable, with its `$`.
    pub var: SharedStr,
    /// The cosine similarity.
    pub score: f32,
    /// `score >= threshold`.
    pub matched: bool,
}

/// An LLM variable that was evaluated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LlmResult {
    /// The variable, with its `$`.
    pub var: SharedStr,
    /// The judge's answer.
    pub verdict: LlmVerdict,
}

/// The value of one variable (debug output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VariableValue {
    /// The variable, with its `$`.
    pub var: SharedStr,
    /// `keywords`, `semantics` or `llm`.
    pub section: &'static str,
    /// The value, or `None` when it was not evaluated.
    pub value: Option<bool>,
}

/// The outcome of one rule on one prompt.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleResult {
    /// Index of the rule in [`crate::Rules`].
    pub index: usize,
    /// The rule name.
    pub rule: SharedStr,
    /// Whether the rule matched.
    pub matched: bool,
    /// Matching keyword variables (those the condition uses), with spans.
    pub keywords: Vec<KeywordMatch>,
    /// Semantic variables that were evaluated.
    pub semantics: Vec<SemanticScore>,
    /// LLM variables that were evaluated.
    pub llm: Vec<LlmResult>,
    /// Why the rule failed closed, if it did (the reference's texts).
    pub warnings: Vec<SharedStr>,
    /// Every variable's value, with [`crate::ScanOptions::debug`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<VariableValue>>,
}

/// The outcome of a scan.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ScanResult {
    /// Matched rules and rules that failed closed (all rules in debug mode), in rule order.
    pub rules: Vec<RuleResult>,
}

impl ScanResult {
    /// The rules that matched.
    pub fn matched(&self) -> impl Iterator<Item = &RuleResult> {
        self.rules.iter().filter(|r| r.matched)
    }

    /// Names of the rules that matched, in rule order.
    pub fn matched_names(&self) -> Vec<&str> {
        self.matched().map(|r| r.rule.as_str()).collect()
    }

    /// Whether any rule matched.
    pub fn is_match(&self) -> bool {
        self.rules.iter().any(|r| r.matched)
    }
}

/// The encoding a view was decoded from. Serialised as its [`Encoding::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Encoding {
    /// Base64 with the standard alphabet (`+`, `/`).
    Base64,
    /// Base64 with the URL-safe alphabet (`-`, `_`).
    #[serde(rename = "base64url")]
    Base64Url,
    /// Base32 (RFC 4648 alphabet, either case).
    Base32,
    /// Hexadecimal bytes, plain or separated or `\x`/`0x`-prefixed.
    Hex,
    /// `%XX` URL encoding.
    Percent,
    /// HTML character references.
    HtmlEntity,
}

impl Encoding {
    /// The encoding's name in JSON output: `base64`, `base64url`, `base32`,
    /// `hex`, `percent` or `html_entity`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Base64Url => "base64url",
            Encoding::Base32 => "base32",
            Encoding::Hex => "hex",
            Encoding::Percent => "percent",
            Encoding::HtmlEntity => "html_entity",
        }
    }
}
