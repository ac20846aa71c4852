//! Keyword regexes: from the Python-syntax body written in a rule to a
//! checked Rust pattern, and from there to a compiled verifier.
//!
//! The translation itself is [`crate::pyre`]; this module attaches rule
//! locations to its errors and fixes the engine configuration used for every
//! keyword regex (Unicode classes and word boundaries, like Python's `re`
//! on `str` patterns; larger size limits than the `regex` defaults, because
//! rule regexes such as a 400-name alternation exceed them).

use novac_syntax::codes;
use novac_syntax::{Diagnostic, Span};

/// NFA size limit for one keyword regex (the `regex` default is 10 MiB).
pub const REGEX_SIZE_LIMIT: usize = 64 << 20;
/// Lazy DFA cache per regex and thread; too small a cache makes the lazy DFA
/// thrash and fall back to the slow PikeVM (see DESIGN.md).
pub const REGEX_DFA_CACHE: usize = 8 << 20;

/// Translates and validates a regex body; reports errors at their location
/// inside `span` (the body's span in the rule file). Returns the Rust pattern.
pub(crate) fn check_regex(python: &str, span: Span, case_insensitive: bool, diags: &mut Vec<Diagnostic>) -> Option<String> {
    let at = |start: usize, end: usize| {
        let s = span.start as usize;
        Span::new(s + start.min(python.len()), s + end.clamp(start, python.len()).max(start + usize::from(start < python.len())))
    };
    let translated = match crate::pyre::translate(python) {
        Ok(t) => t,
        Err(e) => {
            use crate::pyre::TranslateErrorKind as K;
            let (code, help) = match e.kind {
                K::Syntax => (&codes::BAD_REGEX, "fix the regex; Python's `re` rejects it too"),
                _ => (
                    &codes::UNSUPPORTED_REGEX,
                    "rewrite it without this construct; novac matches in linear time, so it has no lookaround, backreferences, atomic groups or possessive quantifiers",
                ),
            };
            diags.push(Diagnostic::new(code, at(e.start, e.end), e.message.clone()).with_label("here").with_help(help));
            return None;
        }
    };
    match build(&translated.pattern, case_insensitive) {
        Ok(_) => Some(translated.pattern),
        Err(message) => {
            diags.push(
                Diagnostic::new(&codes::BAD_REGEX, span, "the regex does not compile")
                    .with_label("in this regex")
                    .with_note(message),
            );
            None
        }
    }
}

/// Builds the verifier for a translated pattern.
pub(crate) fn build(rust: &str, case_insensitive: bool) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(rust)
        .case_insensitive(case_insensitive)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_CACHE)
        .build()
        .map_err(|e| e.to_string())
}

/// Parses a translated pattern into its HIR (for atom extraction).
pub(crate) fn hir(rust: &str, case_insensitive: bool) -> Result<regex_syntax::hir::Hir, String> {
    regex_syntax::ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .build()
        .parse(rust)
        .map_err(|e| e.to_string())
}
