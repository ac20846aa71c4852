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
use regex_syntax::hir::{
    Capture, Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Repetition,
};

/// NFA size limit for one keyword regex (the `regex` default is 10 MiB).
pub const REGEX_SIZE_LIMIT: usize = 64 << 20;
/// Lazy DFA cache per regex and thread; too small a cache makes the lazy DFA
/// thrash and fall back to the slow PikeVM (see DESIGN.md).
pub const REGEX_DFA_CACHE: usize = 8 << 20;

/// Translates and validates a regex body; reports errors at their location
/// inside `span` (the body's span in the rule file). Returns the Rust pattern.
pub(crate) fn check_regex(
    python: &str,
    span: Span,
    case_insensitive: bool,
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    let at = |start: usize, end: usize| {
        let s = span.start as usize;
        Span::new(
            s + start.min(python.len()),
            s + end
                .clamp(start, python.len())
                .max(start + usize::from(start < python.len())),
        )
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
            diags.push(
                Diagnostic::new(code, at(e.start, e.end), e.message.clone())
                    .with_label("here")
                    .with_help(help),
            );
            return None;
        }
    };
    // Parsing validates the pattern; compiling it is left to `build` (once).
    match hir(&translated.pattern, case_insensitive) {
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

/// A compiled keyword regex.
pub(crate) type Verifier = regex_automata::meta::Regex;

/// Builds the verifier from the HIR returned by [`hir`].
pub(crate) fn build_from_hir(hir: &Hir) -> Result<Verifier, String> {
    regex_automata::meta::Regex::builder()
        .configure(
            regex_automata::meta::Config::new()
                .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                .hybrid_cache_capacity(REGEX_DFA_CACHE),
        )
        .build_from_hir(hir)
        .map_err(|e| e.to_string())
}

/// Parses a translated pattern into its HIR (for atoms and the verifier),
/// with Python's extra case equivalences applied.
pub(crate) fn hir(rust: &str, case_insensitive: bool) -> Result<Hir, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .build()
        .parse(rust)
        .map_err(|e| e.to_string())?;
    Ok(python_case_fixups(&hir))
}

/// Python's `re.IGNORECASE` compares lower-case forms, so `İ` (whose
/// lower-case is `i`) matches `i`, and it adds `ı` ~ `i`; Rust's simple case
/// folding relates neither. A case-insensitive `i` becomes the class `[Ii]`
/// in the HIR: this adds `İ` and `ı` to every class that holds both `I` and
/// `i`. (A case-sensitive class written as `[Ii]` gains them too: a
/// deliberate, tiny over-approximation.)
fn python_case_fixups(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Class(Class::Unicode(class)) => {
            let has = |c: char| {
                class
                    .ranges()
                    .iter()
                    .any(|r| r.start() <= c && c <= r.end())
            };
            if has('i') && has('I') && !(has('\u{130}') && has('\u{131}')) {
                let mut class = class.clone();
                class.union(&ClassUnicode::new([ClassUnicodeRange::new(
                    '\u{130}', '\u{131}',
                )]));
                Hir::class(Class::Unicode(class))
            } else {
                hir.clone()
            }
        }
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(python_case_fixups).collect()),
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().map(python_case_fixups).collect())
        }
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            sub: Box::new(python_case_fixups(&rep.sub)),
            ..rep.clone()
        }),
        HirKind::Capture(cap) => Hir::capture(Capture {
            sub: Box::new(python_case_fixups(&cap.sub)),
            ..cap.clone()
        }),
        _ => hir.clone(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dotted_capital_i_matches_like_python() {
        let build = |p: &str, ci: bool| super::build_from_hir(&super::hir(p, ci).expect("parses"));
        let re = build("istanbul", true).expect("builds");
        assert!(re.is_match("İstanbul"));
        assert!(re.is_match("ıstanbul"));
        let cs = build("istanbul", false).expect("builds");
        assert!(!cs.is_match("İstanbul"));
    }
}
