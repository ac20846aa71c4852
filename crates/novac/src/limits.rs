//! Resource limits: how much rule text, nesting, patterns, automaton and
//! regex memory a rule set may use, and how large a prompt may be.
//!
//! Rule files come from many authors and prompts from attackers, so every
//! resource that grows with input is bounded by a limit here, and going over
//! one is a clear error naming the limit, never a panic, a hang or an
//! allocation failure. [`CompileLimits`] lives in
//! [`CompileOptions::limits`](crate::CompileOptions::limits) and is applied
//! while sources are added (source size, condition depth) and while
//! [`Compiler::build`](crate::Compiler::build) runs (patterns, regex size,
//! automaton memory); [`ScanOptions::max_prompt_bytes`](crate::ScanOptions::max_prompt_bytes)
//! is applied by [`Scanner::try_scan`](crate::Scanner::try_scan).
//!
//! # Automaton memory and its fallback tier
//!
//! Each of the keyword engine's two Aho-Corasick automata is built as a
//! dense DFA (the fastest form; `keywords/literal_dfa.rs`) whenever its
//! table fits in [`CompileLimits::max_dfa_bytes`]: the table has one row of
//! `classes` 4-byte transitions per trie state, and the states are at most
//! the literals' total length, so 5,000 typical rules need tens of MB (the
//! build computes the bound first and stops as soon as it is exceeded).
//! Only a DFA over that budget is replaced by the `aho-corasick` crate's
//! contiguous NFA — the fallback tier: several times smaller, but 1.5–3×
//! slower per byte and slower to build. (Until December 2026 a DFA was only
//! tried below 200,000 bytes of literals, a stand-in for its memory that
//! sent ordinary 1,000-rule sets to the NFA tier; that stand-in is now
//! [`CompileLimits::dfa_max_pattern_bytes`], unlimited by default, kept to
//! force the fallback in tests.) Only if the automata still need more than
//! [`CompileLimits::max_automaton_bytes`] in total does the build fail.
//!
//! # Prompt size
//!
//! Scanning needs no copy of an ASCII prompt; a non-ASCII prompt is
//! lower-cased into one reusable buffer (about the prompt's size). Spans are
//! 32-bit, so prompts of 4 GiB or more are always refused by `try_scan`.

use std::fmt;

/// Limits applied while compiling rules (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileLimits {
    /// Largest rule source (one file or string), in bytes. Default 16 MiB.
    /// Over it: error E012 at the start of the source.
    pub max_source_bytes: usize,
    /// How deeply a condition may nest parentheses and `not`s. Default 64.
    /// Over it: error E009 at the token that goes too deep.
    pub max_condition_depth: usize,
    /// Most distinct keyword patterns in one rule set (identical keywords of
    /// different rules count once). Default 1,000,000.
    pub max_patterns: usize,
    /// Largest compiled form (Thompson NFA) of one keyword regex, in bytes.
    /// Default 64 MiB (the `regex` crate's default is 10 MiB; a 400-name
    /// alternation needs more). Over it: the build fails naming the regex.
    pub max_regex_bytes: usize,
    /// An automaton is built as a DFA only when its literals total at most
    /// this many bytes. Default: no limit (the DFA's own memory budget,
    /// [`CompileLimits::max_dfa_bytes`], decides); 0 forces the NFA tier.
    pub dfa_max_pattern_bytes: usize,
    /// A DFA larger than this is rebuilt as a contiguous NFA (the fallback
    /// tier). Default 256 MiB.
    pub max_dfa_bytes: usize,
    /// Most memory of the keyword automata together, after the fallback.
    /// Default 1 GiB.
    pub max_automaton_bytes: usize,
    /// Testing only (the conformance matrix): plan every keyword regex as
    /// atomless, so that each runs on every prompt (the slowest tier).
    /// Verdicts must not change. Default `false`.
    #[doc(hidden)]
    pub atomless_regexes: bool,
}

/// Default of [`CompileLimits::max_source_bytes`].
pub const DEFAULT_MAX_SOURCE_BYTES: usize = novac_syntax::MAX_SOURCE_LEN;
/// Default of [`CompileLimits::max_condition_depth`].
pub const DEFAULT_MAX_CONDITION_DEPTH: usize = novac_syntax::MAX_CONDITION_DEPTH;
/// Default of [`CompileLimits::max_patterns`].
pub const DEFAULT_MAX_PATTERNS: usize = 1_000_000;
/// Default of [`CompileLimits::max_regex_bytes`]: the NFA size limit of one
/// keyword regex (the `regex` crate's default is 10 MiB).
pub const DEFAULT_MAX_REGEX_BYTES: usize = 64 << 20;
/// Default of [`CompileLimits::dfa_max_pattern_bytes`].
pub const DEFAULT_DFA_MAX_PATTERN_BYTES: usize = usize::MAX;
/// Default of [`CompileLimits::max_dfa_bytes`].
pub const DEFAULT_MAX_DFA_BYTES: usize = 256 << 20;
/// Default of [`CompileLimits::max_automaton_bytes`].
pub const DEFAULT_MAX_AUTOMATON_BYTES: usize = 1 << 30;
/// The largest prompt any scan accepts: spans are 32-bit byte offsets.
pub const HARD_MAX_PROMPT_BYTES: usize = u32::MAX as usize;

impl Default for CompileLimits {
    fn default() -> CompileLimits {
        CompileLimits {
            max_source_bytes: DEFAULT_MAX_SOURCE_BYTES,
            max_condition_depth: DEFAULT_MAX_CONDITION_DEPTH,
            max_patterns: DEFAULT_MAX_PATTERNS,
            max_regex_bytes: DEFAULT_MAX_REGEX_BYTES,
            dfa_max_pattern_bytes: DEFAULT_DFA_MAX_PATTERN_BYTES,
            max_dfa_bytes: DEFAULT_MAX_DFA_BYTES,
            max_automaton_bytes: DEFAULT_MAX_AUTOMATON_BYTES,
            atomless_regexes: false,
        }
    }
}

impl CompileLimits {
    /// The limits the parser applies.
    pub fn parse_limits(&self) -> novac_syntax::ParseLimits {
        novac_syntax::ParseLimits {
            max_source_len: self.max_source_bytes,
            max_condition_depth: self.max_condition_depth,
        }
    }
}

/// A resource limit that an input went over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitError {
    /// The option that sets the limit, e.g. `CompileLimits::max_patterns`.
    pub limit: &'static str,
    /// What was measured.
    pub what: String,
    /// The measured amount.
    pub actual: usize,
    /// The configured maximum.
    pub max: usize,
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is {}, over the limit of {} (set by {})",
            self.what, self.actual, self.max, self.limit
        )
    }
}

impl std::error::Error for LimitError {}

/// Checks `actual <= max`.
pub(crate) fn check(
    limit: &'static str,
    what: impl FnOnce() -> String,
    actual: usize,
    max: usize,
) -> Result<(), LimitError> {
    if actual <= max {
        Ok(())
    } else {
        Err(LimitError {
            limit,
            what: what(),
            actual,
            max,
        })
    }
}

/// Why [`Scanner::try_scan`](crate::Scanner::try_scan) refused a prompt.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// The prompt is larger than [`ScanOptions::max_prompt_bytes`](crate::ScanOptions::max_prompt_bytes)
    /// (or than 4 GiB, which no scan accepts).
    #[error("the prompt is {bytes} bytes, over the limit of {limit} bytes (ScanOptions::max_prompt_bytes)")]
    PromptTooLarge {
        /// The prompt's size in bytes (before normalisation).
        bytes: usize,
        /// The limit that applied.
        limit: usize,
    },
    /// An LLM call the verdict needed failed, under
    /// [`LlmFailurePolicy::Error`](crate::LlmFailurePolicy::Error).
    #[error("{0}")]
    Llm(crate::plugins::LlmFailure),
}

/// Refuses a prompt of `bytes` over `limit`.
pub(crate) fn check_prompt(bytes: usize, limit: usize) -> Result<(), ScanError> {
    if bytes <= limit {
        Ok(())
    } else {
        Err(ScanError::PromptTooLarge { bytes, limit })
    }
}

/// The prompt limit in force: the configured one, capped by the hard limit.
pub(crate) fn prompt_limit(configured: Option<usize>) -> usize {
    configured.map_or(HARD_MAX_PROMPT_BYTES, |m| m.min(HARD_MAX_PROMPT_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_error_names_the_option() {
        let e = check(
            "CompileLimits::max_patterns",
            || "the number of keyword patterns".into(),
            3,
            2,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the number of keyword patterns is 3, over the limit of 2 (set by CompileLimits::max_patterns)"
        );
        assert!(check("x", String::new, 2, 2).is_ok());
    }

    #[test]
    fn prompt_limit_is_capped() {
        assert_eq!(prompt_limit(None), HARD_MAX_PROMPT_BYTES);
        assert_eq!(prompt_limit(Some(10)), 10);
        assert_eq!(prompt_limit(Some(usize::MAX)), HARD_MAX_PROMPT_BYTES);
    }
}
