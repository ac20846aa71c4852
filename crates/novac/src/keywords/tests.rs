//! Keyword engine tests: fast paths against naive per-pattern matching.

use super::*;
use crate::limits::CompileLimits;
use proptest::prelude::*;

fn regex(body: &str, case_insensitive: bool) -> KeywordPattern {
    let rust = crate::keywords::pyre::translate_for(body, case_insensitive)
        .expect("translates")
        .pattern;
    KeywordPattern::Regex {
        python: body.to_string(),
        rust,
        case_insensitive,
    }
}

fn engine(patterns: &[KeywordPattern], mode: Verifiers) -> KeywordEngine {
    engine_with(patterns, mode, &CompileLimits::default())
}

fn engine_with(
    patterns: &[KeywordPattern],
    mode: Verifiers,
    limits: &CompileLimits,
) -> KeywordEngine {
    let mut table = PatternTable::default();
    for p in patterns {
        table.intern(p);
    }
    let mut plans = PlanCache::default();
    KeywordEngine::build_with(table, &mut plans, limits, mode).expect("builds")
}

/// Spans of the matched patterns, by pattern.
fn spans(engine: &KeywordEngine, hits: &KeywordHits) -> Vec<Option<(usize, usize)>> {
    (0..engine.len())
        .map(|i| hits.span(PatternId::new(i)))
        .collect()
}

/// Every pattern's value on `text`, all pending regexes resolved.
fn values(engine: &KeywordEngine, text: &str, hits: &mut KeywordHits) -> Vec<bool> {
    engine.scan(text, hits);
    (0..engine.len())
        .map(|i| engine.resolve(text, PatternId::new(i), hits))
        .collect()
}

/// The slow path: each pattern on its own, with the `regex` crate.
fn naive(p: &KeywordPattern, text: &str) -> bool {
    if casefold::is_blank(text) {
        return false;
    }
    match p {
        KeywordPattern::Literal {
            text: lit,
            case_sensitive: true,
        } => text.contains(lit.as_str()),
        KeywordPattern::Literal { text: lit, .. } => {
            text.to_lowercase().contains(&lit.to_lowercase())
        }
        KeywordPattern::Regex {
            rust,
            case_insensitive,
            ..
        } => regex::RegexBuilder::new(rust)
            .case_insensitive(*case_insensitive)
            .build()
            .expect("builds")
            .is_match(text),
    }
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            'a', 'b', 'c', 'A', 'B', 'C', 'ж', 'Ж', '中', ' ', 'é', '1',
        ]),
        0..40,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn pattern() -> impl Strategy<Value = KeywordPattern> {
    let part = prop::sample::select(vec![
        "abc",
        "ba",
        "(abc|cab)",
        "\\bab",
        "c\\b",
        ".{0,3}",
        "\\s+",
        "[ab]",
        "жж",
        "a\\w",
        "\\bcc\\b",
        "(?:ab)+",
        "\\d",
    ]);
    // A concatenation, or an alternation of them (branch atom groups).
    let branch = prop::collection::vec(part, 1..5).prop_map(|parts| parts.concat());
    let regex = (prop::collection::vec(branch, 1..4), any::<bool>())
        .prop_map(|(branches, ci)| regex(&branches.join("|"), ci));
    let literal = (
        prop::sample::select(vec!["ab", "abc", "ba", "жж", "中", "cab"]),
        any::<bool>(),
    )
        .prop_map(|(t, case_sensitive)| KeywordPattern::Literal {
            text: t.to_string(),
            case_sensitive,
        });
    prop_oneof![3 => regex, 1 => literal]
}

#[test]
fn regexes_need_every_atom_group_and_share_atoms() {
    let patterns = [
        regex("\\bab\\b.{0,3}\\bcc\\b", true),
        regex("cab\\s+ab", false),
        KeywordPattern::Literal {
            text: "cab".into(),
            case_sensitive: false,
        },
    ];
    let e = engine(&patterns, Verifiers::Eager);
    assert_eq!(e.groups_needed[0], 0b11);
    // The folded automaton holds `ab`, `cc` and `cab` once each.
    assert_eq!(e.folded_triggers.atoms(), 3);
    let mut hits = KeywordHits::default();
    e.scan("AB only", &mut hits);
    assert!(
        !hits.is_pending(PatternId::new(0)),
        "one group is not enough"
    );
    assert_eq!(values(&e, "ab  cc", &mut hits), [true, false, false]);
    assert_eq!(values(&e, "жab cab cab ab", &mut hits), [false, true, true]);
}

#[test]
fn alternation_branches_need_their_own_atom_groups() {
    let malware = "(data[\\s-]?(exfil|dumping))|(code[\\s-]?(injection|exec))|(spyware|rootkit)";
    let patterns = [regex(malware, false), regex(malware, true)];
    let e = engine(&patterns, Verifiers::Eager);
    // Per pattern a unit for its first branch (`data…`), then one for each
    // other branch: `code…`, `spyware`, `rootkit`.
    assert_eq!(e.groups_needed, [0b11, 0b11, 0b11, 1, 1, 0b11, 1, 1]);
    let mut hits = KeywordHits::default();
    e.scan("the data on code quality, and an exit", &mut hits);
    assert!(
        hits.pending_list.is_empty(),
        "no branch has all of its groups"
    );
    assert_eq!(values(&e, "a data-dumping tool", &mut hits), [true, true]);
    assert_eq!(values(&e, "Code Injection", &mut hits), [false, true]);
    assert_eq!(values(&e, "code: exec", &mut hits), [false, false]);
    assert_eq!(values(&e, "a rootkit", &mut hits), [true, true]);
}

#[test]
fn oversized_regexes_are_build_errors_unless_lazy() {
    let limits = CompileLimits {
        max_regex_bytes: 2_000,
        ..CompileLimits::default()
    };
    let build = |mode| {
        let mut table = PatternTable::default();
        table.intern(&regex("abc\\w{50}", true));
        KeywordEngine::build_with(table, &mut PlanCache::default(), &limits, mode)
    };
    let err = build(Verifiers::Eager).expect_err("over the limit");
    assert!(err.to_string().contains("keyword regex"), "{err}");
    let lazy = build(Verifiers::Lazy).expect("lazy builds");
    assert!(lazy.compile_verifiers().is_err());
}

#[test]
fn eager_engines_leave_nothing_to_compile_for_the_first_scan() {
    // No warm-up: every verifier (with its relaxed form and match shape)
    // and the atomless regexes' prefilter and set exist before any scan.
    let patterns = [
        regex("\\bignore\\s+previous\\b", true),
        regex("\\b\\d{3}-\\d{2}\\b", false),
        regex("[A-Z][a-z]+\\s[A-Z]", false),
        regex("[a-z]*\\d", false),
        regex("(sk|pk)-[A-Za-z0-9]{20,}", false),
    ];
    let e = engine(&patterns, Verifiers::Eager);
    assert!(e.verifiers.iter().flatten().all(|v| v.is_compiled()));
    assert!(e.slow_chars.get().is_some() && e.slow_set.get().is_some());
    let lazy = engine(&patterns, Verifiers::Lazy);
    assert!(lazy.verifiers.iter().flatten().all(|v| !v.is_compiled()));
}

#[test]
fn atomless_regexes_are_filtered_by_one_set() {
    let patterns = [
        regex("\\b\\d{3}-\\d{2}\\b", false),
        regex("[A-Z][a-z]+\\s[A-Z]", false),
        regex("[a-z]*\\d", false),
    ];
    let e = engine(&patterns, Verifiers::Eager);
    assert_eq!(e.slow.len(), 3);
    let mut hits = KeywordHits::default();
    e.scan("no digits here", &mut hits);
    assert!(hits.pending_list.is_empty(), "the set rules them all out");
    assert_eq!(values(&e, "жж123-45 Ab Cd", &mut hits), [false, true, true]);
    assert_eq!(values(&e, "x 123-45 y", &mut hits), [true, false, true]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// The fast paths (atom groups, shared atoms, relaxed verifiers on
    /// non-ASCII text, lazily compiled verifiers, the DFA against the NFA
    /// fallback) equal each pattern matched on its own.
    #[test]
    fn engine_equals_naive_matching(
        patterns in prop::collection::vec(pattern(), 1..6),
        texts in prop::collection::vec(text(), 1..6),
    ) {
        let eager = engine(&patterns, Verifiers::Eager);
        let lazy = engine(&patterns, Verifiers::Lazy);
        let checked = engine(&patterns, Verifiers::Eager);
        // The fallback tier: the `aho-corasick` crate's NFA instead of our DFA.
        let no_dfa = CompileLimits { dfa_max_pattern_bytes: 0, ..CompileLimits::default() };
        let nfa = engine_with(&patterns, Verifiers::Eager, &no_dfa);
        let mut h = [(); 4].map(|_| KeywordHits::default());
        for text in &texts {
            let got = values(&eager, text, &mut h[0]);
            prop_assert_eq!(&got, &values(&lazy, text, &mut h[1]));
            prop_assert_eq!(&got, &values(&checked, text, &mut h[2]));
            prop_assert_eq!(&got, &values(&nfa, text, &mut h[3]));
            prop_assert_eq!(spans(&checked, &h[2]), spans(&nfa, &h[3]), "{:?}", text);
            let mut seen = std::collections::HashSet::new();
            for p in patterns.iter().filter(|p| seen.insert(*p)) {
                let i = eager.patterns.iter().position(|q| q == p).expect("interned");
                prop_assert_eq!(got[i], naive(p, text), "{:?} on {:?}", p, text);
            }
        }
    }
}

#[test]
fn lowering_notes_every_fold_special_char() {
    let mut lowered = String::new();
    for u in 0..=0x10FFFFu32 {
        let Some(c) = char::from_u32(u) else { continue };
        let text = format!("中文{c}текст");
        assert_eq!(
            casefold::lower_noting_fold_special(&text, &mut lowered),
            text.chars().any(casefold::is_fold_special),
            "U+{u:04X}"
        );
    }
}
