//! Keyword regexes: from the Python-syntax body written in a rule to a
//! checked Rust pattern, and from there to a compiled verifier.
//!
//! The translation itself is [`crate::keywords::pyre`]; this module attaches rule
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
pub const REGEX_SIZE_LIMIT: usize = crate::limits::DEFAULT_MAX_REGEX_BYTES;
/// Lazy DFA cache per regex and thread; too small a cache makes the lazy DFA
/// thrash and fall back to the slow PikeVM (measured: a 2 MiB cache made
/// one Unicode-`\b` regex set 300× slower; see docs/ARCHITECTURE.md).
pub const REGEX_DFA_CACHE: usize = 8 << 20;

/// Regexes parsed while checking (translated pattern, case-insensitive, its
/// HIR), handed on to planning so that no regex is parsed twice.
pub(crate) type ParsedRegexes = Vec<(String, bool, Hir)>;

/// Translates and validates a regex body; reports errors at their location
/// inside `span` (the body's span in the rule file). Returns the Rust
/// pattern, and adds its parsed form to `parsed`.
pub(crate) fn check_regex(
    python: &str,
    span: Span,
    case_insensitive: bool,
    diags: &mut Vec<Diagnostic>,
    parsed: &mut ParsedRegexes,
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
    let translated = match crate::keywords::pyre::translate_for(python, case_insensitive) {
        Ok(t) => t,
        Err(e) => {
            use crate::keywords::pyre::TranslateErrorKind as K;
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
        Ok(parsed_hir) => {
            parsed.push((translated.pattern.clone(), case_insensitive, parsed_hir));
            Some(translated.pattern)
        }
        Err(error) => {
            diags.push(
                Diagnostic::new(&codes::BAD_REGEX, span, "the regex does not compile")
                    .with_label("in this regex")
                    .with_note(error.to_string()),
            );
            None
        }
    }
}

/// A compiled keyword regex.
pub(crate) type Verifier = regex_automata::meta::Regex;

/// Builds the verifier from the HIR returned by [`hir`].
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn build_from_hir(hir: &Hir) -> Result<Verifier, Box<regex_automata::meta::BuildError>> {
    build_limited(hir, REGEX_SIZE_LIMIT)
}

/// Builds the verifier with an NFA size limit of `max_bytes`
/// ([`crate::limits::CompileLimits::max_regex_bytes`]).
pub(crate) fn build_limited(
    hir: &Hir,
    max_bytes: usize,
) -> Result<Verifier, Box<regex_automata::meta::BuildError>> {
    regex_automata::meta::Regex::builder()
        .configure(
            regex_automata::meta::Config::new()
                .nfa_size_limit(Some(max_bytes))
                // Verification needs match spans only, never groups, and
                // never an anchored search for them: implicit captures and no
                // one-pass DFA cut a verifier's build time and memory by about
                // a third. The literal prefilter stays: it costs as much again
                // to build, but an unbounded regex verified over a whole
                // prompt jumps to its candidates with it (30-50% faster scans
                // on the workload family's match-heavy members).
                .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit)
                .onepass(false)
                .hybrid_cache_capacity(REGEX_DFA_CACHE),
        )
        .build_from_hir(hir)
        .map_err(Box::new)
}

/// A keyword regex's verifier: compiled when the engine is built
/// ([`LazyVerifier::compile_all`], from `Compiler::build` and bundle
/// loading, so a regex over a size limit is a build error and no scan pays
/// for compiling), or on first use in tests of the lazy path.
///
/// It also holds the *relaxed* verifier of a regex with Unicode word
/// boundaries (`\b`, `\B`): the same regex with those assertions removed,
/// so every match of the regex is a match of it. On a non-ASCII prompt the
/// regex's lazy DFA cannot evaluate Unicode `\b` and the regex engine falls
/// back to its much slower PikeVM; the relaxed verifier runs on the lazy DFA
/// and, when it finds nothing (the common case), proves that the regex
/// matches nothing either; otherwise its match starts are the only places
/// the regex is tested, anchored ([`find_by_candidates`]).
#[derive(Debug)]
pub(crate) struct LazyVerifier {
    rust: String,
    case_insensitive: bool,
    max_bytes: usize,
    regex: std::sync::OnceLock<Result<Verifier, crate::engine_error::EngineError>>,
    relaxed: std::sync::OnceLock<Option<Verifier>>,
    /// What the engine knows of every match before running the regex (set
    /// when `regex` compiles, else found on first use).
    shape: std::sync::OnceLock<MatchShape>,
    /// The regex parsed when it was planned, kept until
    /// [`LazyVerifier::compile_all`] so it is not parsed again.
    parsed: std::sync::Mutex<Option<Hir>>,
}

/// Facts about every match of a regex, used to skip or narrow its search.
#[derive(Debug, Default)]
struct MatchShape {
    /// The longest match in bytes, if bounded.
    max_len: Option<usize>,
    /// A run of class characters every match contains, when worth testing.
    run: Option<crate::keywords::class_run::ClassRun>,
}

impl MatchShape {
    fn of(hir: &Hir) -> MatchShape {
        MatchShape {
            max_len: hir.properties().maximum_len(),
            run: crate::keywords::class_run::required_run(hir),
        }
    }
}

impl LazyVerifier {
    /// A verifier for the translated pattern `rust`, compiled on first use.
    pub(crate) fn new(rust: &str, case_insensitive: bool, max_bytes: usize) -> LazyVerifier {
        LazyVerifier {
            rust: rust.to_string(),
            case_insensitive,
            max_bytes,
            regex: std::sync::OnceLock::new(),
            relaxed: std::sync::OnceLock::new(),
            shape: std::sync::OnceLock::new(),
            parsed: std::sync::Mutex::new(None),
        }
    }

    /// Whether everything [`LazyVerifier::compile_all`] builds is built.
    #[cfg(test)]
    pub(crate) fn is_compiled(&self) -> bool {
        self.regex.get().is_some() && self.relaxed.get().is_some() && self.shape.get().is_some()
    }

    /// Keeps the parsed regex (from planning) for [`LazyVerifier::compile_all`].
    pub(crate) fn keep_parsed(&self, hir: Option<Hir>) {
        if let Ok(mut parsed) = self.parsed.lock() {
            *parsed = hir;
        }
    }

    /// Compiles the regex, its relaxed form and its match shape now, so
    /// that no scan pays for them; the regex's compile error, if any.
    pub(crate) fn compile_all(&self) -> Result<(), crate::engine_error::EngineError> {
        let kept = self.parsed.lock().ok().and_then(|mut p| p.take());
        let hir = match kept {
            Some(hir) => hir,
            None => hir(&self.rust, self.case_insensitive)
                .map_err(|e| crate::engine_error::EngineError::regex_syntax(&self.rust, e))?,
        };
        let _ = self.shape.set(MatchShape::of(&hir));
        let _ = self.relaxed.set(
            has_unicode_word_boundary(&hir)
                .then(|| build_limited(&strip_unicode_word_boundaries(&hir), self.max_bytes).ok())
                .flatten(),
        );
        self.regex
            .get_or_init(|| {
                build_limited(&hir, self.max_bytes)
                    .map_err(|e| crate::engine_error::EngineError::regex_build(&self.rust, &e))
            })
            .as_ref()
            .map(|_| ())
            .map_err(Clone::clone)
    }

    /// Heap bytes of what is compiled so far (regex and relaxed form).
    pub(crate) fn memory_usage(&self) -> usize {
        let regex = self
            .regex
            .get()
            .and_then(|r| r.as_ref().ok())
            .map_or(0, Verifier::memory_usage);
        let relaxed = self
            .relaxed
            .get()
            .and_then(Option::as_ref)
            .map_or(0, Verifier::memory_usage);
        regex + relaxed
    }

    /// The compiled regex (compiling it now if needed).
    pub(crate) fn regex(&self) -> Result<&Verifier, &crate::engine_error::EngineError> {
        self.regex
            .get_or_init(|| {
                let hir = hir(&self.rust, self.case_insensitive)
                    .map_err(|e| crate::engine_error::EngineError::regex_syntax(&self.rust, e))?;
                let _ = self.shape.set(MatchShape::of(&hir));
                build_limited(&hir, self.max_bytes)
                    .map_err(|e| crate::engine_error::EngineError::regex_build(&self.rust, &e))
            })
            .as_ref()
    }

    fn shape(&self) -> &MatchShape {
        self.shape.get_or_init(|| {
            hir(&self.rust, self.case_insensitive)
                .map(|h| MatchShape::of(&h))
                .unwrap_or_default()
        })
    }

    /// The longest match in bytes, when it is bounded (`None` too when the
    /// pattern does not parse).
    pub(crate) fn max_len(&self) -> Option<usize> {
        self.shape().max_len
    }

    /// A run of class characters every match contains
    /// ([`crate::keywords::class_run`]), when the regex needs a long one.
    pub(crate) fn class_run(&self) -> Option<&crate::keywords::class_run::ClassRun> {
        self.shape().run.as_ref()
    }

    /// The relaxed verifier, if the regex has Unicode word boundaries.
    pub(crate) fn relaxed(&self) -> Option<&Verifier> {
        self.relaxed
            .get_or_init(|| {
                let hir = hir(&self.rust, self.case_insensitive).ok()?;
                if !has_unicode_word_boundary(&hir) {
                    return None;
                }
                build_limited(&strip_unicode_word_boundaries(&hir), self.max_bytes).ok()
            })
            .as_ref()
    }
}

/// Work allowance of [`find_by_candidates`], in haystack bytes per byte of
/// the searched text (plus [`CANDIDATE_SLACK`]): past it, the rest of the
/// text is searched by the regex itself.
const CANDIDATE_BUDGET: usize = 4;
/// Bytes of work [`find_by_candidates`] may spend on any text, however short.
const CANDIDATE_SLACK: usize = 4096;
/// Bytes charged per candidate for its anchored test, besides the bytes read.
const CANDIDATE_COST: usize = 64;

/// The leftmost-first match of `regex` in `text[from..]`, found through its
/// relaxed form (`relaxed`: `regex` without Unicode word boundaries, see
/// [`LazyVerifier::relaxed`]) — what `regex.search(range(from..))` returns,
/// without running `regex` over the whole text.
///
/// On non-ASCII text the lazy DFA cannot evaluate Unicode `\b`, so an
/// unanchored search of `regex` runs the PikeVM over everything from
/// `from` on, many times slower per byte than the lazy DFA.
/// Every match of `regex` is a match of `relaxed` with the same span, so:
/// the relaxed regex (lazy DFA) finds its leftmost match start `s`; the
/// real regex is tried *anchored* at `s`, which reads only as far as a
/// match could reach from there; if it fails, the next relaxed start after
/// `s` is tried. The first start where the anchored test succeeds is the
/// leftmost start of a real match, and the anchored leftmost-first match
/// there is the one the unanchored search reports.
///
/// Cost: one lazy-DFA pass per candidate plus an anchored test of about
/// the candidate's length. Where candidates are many and fail (a relaxed
/// `кот` inside every `который`), the work is bounded: once it exceeds
/// [`CANDIDATE_BUDGET`] times the text (plus [`CANDIDATE_SLACK`]), the rest
/// is searched by `regex` directly, so the worst case is a small multiple
/// of the old cost and the usual case a fraction of it.
///
/// `max_len`: the regex's longest match in bytes, if bounded (an anchored
/// test then reads at most that far; look-around still sees past it).
pub(crate) fn find_by_candidates(
    regex: &Verifier,
    relaxed: &Verifier,
    text: &str,
    from: usize,
    max_len: Option<usize>,
) -> Option<regex_automata::Match> {
    let budget = CANDIDATE_BUDGET
        .saturating_mul(text.len().saturating_sub(from))
        .saturating_add(CANDIDATE_SLACK);
    find_by_candidates_within(regex, relaxed, text, from, max_len, budget)
}

/// [`find_by_candidates`] with an explicit work budget in bytes.
pub(crate) fn find_by_candidates_within(
    regex: &Verifier,
    relaxed: &Verifier,
    text: &str,
    from: usize,
    max_len: Option<usize>,
    mut budget: usize,
) -> Option<regex_automata::Match> {
    use regex_automata::{Anchored, Input};
    let mut pos = from.min(text.len());
    loop {
        let candidate = relaxed.search(&Input::new(text).range(pos..))?;
        let start = candidate.start();
        let mut end = max_len.map_or(text.len(), |n| start.saturating_add(n).min(text.len()));
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let anchored = Input::new(text).range(start..end).anchored(Anchored::Yes);
        if let Some(m) = regex.search(&anchored) {
            return Some(m);
        }
        let spent = (candidate.end() - pos) + (candidate.end() - start) + CANDIDATE_COST;
        let next = next_boundary(text, start)?;
        if spent >= budget {
            return regex.search(&Input::new(text).range(next..));
        }
        budget -= spent;
        pos = next;
    }
}

/// The char boundary after the character starting at `at` (none at the end).
fn next_boundary(text: &str, at: usize) -> Option<usize> {
    text.get(at..)?.chars().next().map(|c| at + c.len_utf8())
}

/// One regex set over the relaxed forms (Unicode word boundaries removed)
/// of `patterns` (translated pattern, case-insensitive): a lazy-DFA pass
/// that tells which of them *may* match. A pattern it does not report
/// cannot match. None if it does not build (then every pattern is verified).
pub(crate) fn build_relaxed_set(patterns: &[(&str, bool)], max_bytes: usize) -> Option<Verifier> {
    let mut hirs = Vec::with_capacity(patterns.len());
    for (rust, ci) in patterns {
        hirs.push(strip_unicode_word_boundaries(&hir(rust, *ci).ok()?));
    }
    regex_automata::meta::Regex::builder()
        .configure(
            regex_automata::meta::Config::new()
                .match_kind(regex_automata::MatchKind::All)
                .nfa_size_limit(Some(max_bytes))
                .hybrid_cache_capacity(REGEX_DFA_CACHE),
        )
        .build_many_from_hir(&hirs)
        .ok()
}

/// Whether the regex has a Unicode word-boundary assertion.
fn has_unicode_word_boundary(hir: &Hir) -> bool {
    let looks = hir.properties().look_set();
    looks.contains_word_unicode()
}

/// `hir` with every Unicode word-boundary assertion replaced by the empty
/// regex: a regex that matches wherever `hir` does (and maybe elsewhere).
pub(crate) fn strip_unicode_word_boundaries(hir: &Hir) -> Hir {
    use regex_syntax::hir::Look;
    match hir.kind() {
        HirKind::Look(
            Look::WordUnicode
            | Look::WordUnicodeNegate
            | Look::WordStartUnicode
            | Look::WordEndUnicode
            | Look::WordStartHalfUnicode
            | Look::WordEndHalfUnicode,
        ) => Hir::empty(),
        HirKind::Concat(subs) => {
            Hir::concat(subs.iter().map(strip_unicode_word_boundaries).collect())
        }
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().map(strip_unicode_word_boundaries).collect())
        }
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            sub: Box::new(strip_unicode_word_boundaries(&rep.sub)),
            ..rep.clone()
        }),
        HirKind::Capture(cap) => Hir::capture(Capture {
            sub: Box::new(strip_unicode_word_boundaries(&cap.sub)),
            ..cap.clone()
        }),
        _ => hir.clone(),
    }
}

/// Parses a translated pattern into its HIR (for atoms and the verifier),
/// with Python's extra case equivalences applied.
pub(crate) fn hir(rust: &str, case_insensitive: bool) -> Result<Hir, Box<regex_syntax::Error>> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .build()
        .parse(rust)
        .map_err(Box::new)?;
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
    use proptest::prelude::*;

    /// Regex pieces with Unicode word boundaries around Cyrillic, CJK,
    /// ASCII and combining-mark text.
    const PIECES: &[&str] = &[
        r"\b",
        r"\b",
        r"\B",
        "кот",
        "а",
        "ё",
        "x",
        "ab",
        r"\w*",
        r"\w+",
        r"\s+",
        ".",
        "(все\\s+)?",
        "[а-яё]+",
        "(да|нет)",
        r"\d",
        "中",
        r".{0,3}",
        r"\W",
        "(?i:КОТ)",
    ];
    /// Text characters: mostly non-ASCII word characters, with separators,
    /// digits, a combining mark and CJK.
    const CHARS: &[&str] = &[
        "к", "о", "т", "а", "ё", "К", "О", "Т", "д", "н", "е", "в", "с", "я", " ", " ", "\n", "x",
        "a", "b", "1", "é", "\u{301}", "中", "文", ".", "-", "_", "٣",
    ];

    /// The slow path: the regex searched over the whole window.
    fn slow(regex: &super::Verifier, text: &str, from: usize) -> Option<(usize, usize)> {
        regex
            .search(&regex_automata::Input::new(text).range(from..))
            .map(|m| (m.start(), m.end()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The candidate path equals the regex's own search, with any work
        /// budget (so the fallback half way through is covered too).
        #[test]
        fn candidates_equal_the_full_search(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 1..6),
            chars in proptest::collection::vec(proptest::sample::select(CHARS), 0..48),
            from in 0usize..64,
            budget in prop_oneof![0usize..300, Just(usize::MAX)],
            ci in any::<bool>(),
        ) {
            let pattern = pieces.concat();
            let text = chars.concat();
            let mut from = from.min(text.len());
            while !text.is_char_boundary(from) {
                from -= 1;
            }
            let hir = super::hir(&pattern, ci).expect("pieces parse");
            let regex = super::build_from_hir(&hir).expect("builds");
            let relaxed = super::build_from_hir(&super::strip_unicode_word_boundaries(&hir))
                .expect("builds");
            let max_len = hir.properties().maximum_len();
            let fast = super::find_by_candidates_within(&regex, &relaxed, &text, from, max_len, budget)
                .map(|m| (m.start(), m.end()));
            prop_assert_eq!(fast, slow(&regex, &text, from), "{} on {:?} from {}", pattern, text, from);
            let default = super::find_by_candidates(&regex, &relaxed, &text, from, max_len)
                .map(|m| (m.start(), m.end()));
            prop_assert_eq!(default, slow(&regex, &text, from));
        }
    }

    #[test]
    fn candidates_inside_words_are_skipped() {
        let hir = super::hir(r"\bкот\w*", false).expect("parses");
        let regex = super::build_from_hir(&hir).expect("builds");
        let relaxed =
            super::build_from_hir(&super::strip_unicode_word_boundaries(&hir)).expect("builds");
        let text = "скотина и подкот, а кот котам";
        let m = super::find_by_candidates(&regex, &relaxed, text, 0, None).map(|m| m.range());
        let at = text.find(" кот ").expect("present") + 1;
        assert_eq!(m, Some(at..at + "кот".len()));
        assert_eq!(
            super::find_by_candidates(&regex, &relaxed, "скоты", 0, None),
            None
        );
    }

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
