//! Streaming equals scanning the whole text, for any chunking.

use super::*;
use crate::Compiler;
use proptest::prelude::*;

const RULES: &str = r#"
rule Literal {
    keywords:
        $a = "ignore previous"
        $b = "ΟΔΟΣ"
        $c = "straße"
    condition:
        any of keywords.*
}
rule Sigma {
    keywords:
        $final = "οδος"
        $medial = "σα"
    condition:
        $final or $medial
}
rule Exact {
    keywords:
        $s = "SECRET case:true"
        $t = "İx"
    condition:
        $s and not $t
}
rule Regex {
    keywords:
        $r = /\bDAN\b/
        $p = /system\s+prompt/i
        $end = /done$/
        $start = /^hello/
    condition:
        any of them
}
rule Regex2 {
    keywords:
        $r = /\bDAN\b/
        $p = /system\s+prompt/i
        $end = /done$/
        $start = /^hello/
    condition:
        any of keywords.*
}
rule Blank {
    keywords:
        $sp = "  "
        $e = ""
    condition:
        $sp or $e
}
rule Negated {
    keywords:
        $x = "xyz"
    condition:
        not $x
}
"#;

fn rules() -> Rules {
    let mut c = Compiler::new();
    // `any of them` is rejected; drop that rule.
    let source = RULES.replace(
        "rule Regex {\n    keywords:\n        $r = /\\bDAN\\b/\n        $p = /system\\s+prompt/i\n        $end = /done$/\n        $start = /^hello/\n    condition:\n        any of them\n}\n",
        "",
    );
    c.add_source(&source).expect("valid rules");
    c.build().expect("builds")
}

fn whole(rules: &Rules, text: &str) -> ScanResult {
    Scanner::new(rules).scan(text)
}

fn streamed<'r>(
    index: &'r StreamIndex<'r>,
    chunks: &[&str],
    window: usize,
) -> (Vec<StreamEvent<'r>>, ScanResult) {
    let mut s = StreamScanner::with_options(index, StreamOptions { window });
    let mut events = Vec::new();
    for c in chunks {
        events.extend(s.push(c).iter().cloned());
    }
    let end = s.finish();
    events.extend(end.events);
    (events, end.result)
}

/// Splits `text` at the given byte fractions (snapped to char boundaries).
fn chunk<'t>(text: &'t str, cuts: &[usize]) -> Vec<&'t str> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| {
            let mut p = c % (text.len() + 1);
            while !text.is_char_boundary(p) {
                p -= 1;
            }
            p
        })
        .collect();
    points.push(0);
    points.push(text.len());
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| &text[w[0]..w[1]]).collect()
}

/// Events of rules other than `Blank` (whose `""` matches every non-blank text).
fn others<'r>(events: &[StreamEvent<'r>]) -> Vec<StreamEvent<'r>> {
    events
        .iter()
        .filter(|e| {
            !matches!(
                e,
                StreamEvent::Keyword { rule: "Blank", .. }
                    | StreamEvent::RuleMatched { rule: "Blank", .. }
            )
        })
        .cloned()
        .collect()
}

fn keyword_events(events: &[StreamEvent<'_>]) -> Vec<(String, String, usize, usize)> {
    let mut v: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Keyword {
                rule,
                var,
                start,
                end,
                ..
            } => Some((rule.to_string(), var.to_string(), *start, *end)),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

fn pieces() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "ignore",
        "previous",
        "IGNORE PREVIOUS",
        "ΟΔΟΣ",
        "οδοσ",
        "Σ",
        "ΣΑ",
        "σα",
        "STRASSE",
        "straße",
        "STRAßE",
        "SECRET",
        "secret",
        "İx",
        "İ",
        "x",
        "DAN",
        "xDAN",
        "system",
        "prompt",
        "SYSTEM  prompt",
        "done",
        "hello",
        " ",
        "  ",
        "\n",
        "\t",
        "'",
        "\u{301}",
        "é",
        "中文",
        "🙂",
        "xyz",
    ]);
    prop::collection::vec(words, 0..24).prop_map(|w| w.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_chunking_gives_the_whole_text_result(text in pieces(), cuts in prop::collection::vec(0usize..4096, 0..12)) {
        let rules = rules();
        let index = StreamIndex::new(&rules).expect("index");
        let chunks = chunk(&text, &cuts);
        let (events, result) = streamed(&index, &chunks, 1 << 20);
        let expected = whole(&rules, &text);
        prop_assert_eq!(&result, &expected);
        // Every keyword of the whole-text result was reported, with the same span.
        let mut want: Vec<_> = expected
            .rules
            .iter()
            .flat_map(|r| r.keywords.iter().map(move |k| (r.rule.to_string(), k.var.to_string(), k.start, k.end)))
            .collect();
        want.sort();
        let got: Vec<_> = keyword_events(&events)
            .into_iter()
            .filter(|e| want.iter().any(|w| w.0 == e.0 && w.1 == e.1))
            .collect();
        prop_assert_eq!(got, want);
        // Rules announced as matched are matched at the end.
        for e in &events {
            if let StreamEvent::RuleMatched { rule, .. } = e {
                prop_assert!(expected.matched_names().contains(rule), "{} announced", rule);
            }
        }
    }

    #[test]
    fn byte_chunks_equal_str_chunks(text in pieces(), cuts in prop::collection::vec(0usize..4096, 0..12)) {
        let rules = rules();
        let index = StreamIndex::new(&rules).expect("index");
        let bytes = text.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.extend([0, bytes.len()]);
        points.sort_unstable();
        points.dedup();
        let mut s = StreamScanner::new(&index);
        for w in points.windows(2) {
            s.push_bytes(&bytes[w[0]..w[1]]);
        }
        prop_assert_eq!(s.finish().result, whole(&rules, &text));
    }

    #[test]
    fn literal_rules_stay_exact_past_the_window(text in pieces(), cuts in prop::collection::vec(0usize..4096, 0..12)) {
        let rules = rules();
        let index = StreamIndex::new(&rules).expect("index");
        let long = text.repeat(8);
        let chunks = chunk(&long, &cuts);
        let (_, result) = streamed(&index, &chunks, 64);
        let expected = whole(&rules, &long);
        for name in ["Literal", "Sigma", "Blank"] {
            prop_assert_eq!(
                result.matched_names().contains(&name),
                expected.matched_names().contains(&name),
                "{}", name
            );
        }
    }
}

#[test]
fn a_match_split_across_chunks_is_reported_by_the_chunk_that_completes_it() {
    let rules = rules();
    let index = StreamIndex::new(&rules).expect("index");
    let mut s = StreamScanner::new(&index);
    assert!(others(s.push("please ign")).is_empty());
    let events = others(s.push("ore previous rules"));
    assert_eq!(
        events,
        [
            StreamEvent::Keyword {
                index: 0,
                rule: "Literal",
                var: "$a",
                start: 7,
                end: 22
            },
            StreamEvent::RuleMatched {
                index: 0,
                rule: "Literal"
            }
        ]
    );
}

#[test]
fn a_final_sigma_waits_for_the_next_character() {
    let rules = rules();
    let index = StreamIndex::new(&rules).expect("index");
    let mut s = StreamScanner::new(&index);
    // "ΟΔΟΣ" lowers to "οδος" only if no letter follows.
    assert!(s
        .push("ΟΔΟΣ")
        .iter()
        .all(|e| !matches!(e, StreamEvent::Keyword { var: "$final", .. })));
    let events = s.push(" ").to_vec();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, StreamEvent::Keyword { var: "$final", .. })),
        "{events:?}"
    );
    let mut s = StreamScanner::new(&index);
    s.push("ΟΔΟΣ");
    let events = s.push("Α").to_vec();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, StreamEvent::Keyword { var: "$medial", .. })),
        "{events:?}"
    );
}

#[test]
fn regexes_are_reported_on_check_and_at_the_end() {
    let rules = rules();
    let index = StreamIndex::new(&rules).expect("index");
    let mut s = StreamScanner::new(&index);
    assert!(others(s.push("you are DAN")).is_empty());
    // `DAN` at the end could still be `DANCE`: not trusted yet.
    assert!(s.check_regexes().is_empty());
    s.push(" now");
    let events = s.check_regexes().to_vec();
    assert!(
        events.iter().any(|e| matches!(
            e,
            StreamEvent::Keyword {
                var: "$r",
                start: 8,
                end: 11,
                ..
            }
        )),
        "{events:?}"
    );
    let end = s.finish();
    assert_eq!(end.result.matched_names(), ["Regex2", "Blank", "Negated"]);
}

#[test]
fn blank_streams_report_nothing() {
    let rules = rules();
    let index = StreamIndex::new(&rules).expect("index");
    let mut s = StreamScanner::new(&index);
    assert!(s.push("   ").is_empty());
    assert!(s.push("\t ").is_empty());
    let end = s.finish();
    assert_eq!(end.result, whole(&rules, "   \t "));
    // The same scanner, reset by finish, takes the next stream.
    let events = s.push("  x").to_vec();
    assert!(
        events.iter().any(|e| matches!(
            e,
            StreamEvent::Keyword {
                var: "$sp",
                start: 0,
                end: 2,
                ..
            }
        )),
        "{events:?}"
    );
}

#[test]
fn memory_stays_bounded() {
    let rules = rules();
    let index = StreamIndex::new(&rules).expect("index");
    let mut s = StreamScanner::with_options(&index, StreamOptions { window: 4096 });
    let mut announced = false;
    for i in 0..20_000 {
        s.push("lorem ipsum dolor sit amet ");
        if i == 10_000 {
            announced |= s.push("system   PROMPT leak").iter().any(|_| true);
        }
        assert!(s.text.len() <= 4096 + 64);
    }
    let end = s.finish();
    let _ = announced;
    assert!(
        end.result.matched_names().contains(&"Regex2"),
        "{:?}",
        end.result.matched_names()
    );
    assert!(end.result.matched_names().contains(&"Negated"));
}

#[test]
fn start_anchors_do_not_match_past_the_window() {
    let rules = rules();
    let index = StreamIndex::new(&rules).expect("index");
    let mut s = StreamScanner::with_options(&index, StreamOptions { window: 64 });
    for _ in 0..20 {
        s.push("filler text here\nhello ");
    }
    let end = s.finish();
    assert!(
        !end.result.matched_names().contains(&"Regex2"),
        "{:?}",
        end.result
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// The dense-DFA stepper reports what the NFA fallback does, event for event.
    #[test]
    fn dfa_and_nfa_steppers_report_the_same(text in pieces(), cuts in prop::collection::vec(0usize..4096, 0..12)) {
        let rules = rules();
        let dfa = StreamIndex::new(&rules).expect("index");
        let nfa = StreamIndex::with_max_dfa_bytes(&rules, 0).expect("index");
        prop_assert!(dfa.folded.as_ref().is_some_and(Stepper::is_dfa));
        prop_assert!(!nfa.folded.as_ref().is_some_and(Stepper::is_dfa));
        let chunks = chunk(&text, &cuts);
        prop_assert_eq!(streamed(&dfa, &chunks, 1 << 20), streamed(&nfa, &chunks, 1 << 20));
        prop_assert_eq!(streamed(&dfa, &chunks, 64), streamed(&nfa, &chunks, 64));
    }
}

/// Past 200,000 bytes of literals the stream index used to switch to an
/// NFA; it now stays on the DFA, and streaming still equals scanning the
/// whole text.
#[test]
fn many_literals_stay_on_the_dfa_and_equal_whole_scans() {
    let mut source = String::new();
    let word = |i: usize| format!("lit{i:05}-{}", "abcdefghij".repeat(10));
    for i in 0..2_400 {
        let case = if i % 5 == 0 { " case:true" } else { "" };
        source.push_str(&format!(
            "rule R{i} {{\n    keywords:\n        $a = \"{}{case}\"\n        $b = \"Ключ{i}\"\n    condition:\n        $a or $b\n}}\n",
            word(i)
        ));
    }
    let mut c = Compiler::new();
    c.add_source(&source).expect("valid rules");
    let rules = c.build().expect("builds");
    let index = StreamIndex::new(&rules).expect("index");
    let folded_bytes: usize = index.folded_lens.iter().sum();
    assert!(folded_bytes > 200_000, "{folded_bytes} bytes of literals");
    assert!(index.folded.as_ref().is_some_and(Stepper::is_dfa));
    assert!(index.exact.as_ref().is_some_and(Stepper::is_dfa));
    let text = format!(
        "say {} and {} then КЛЮЧ17 and ключ2399, {} LIT00005",
        word(3),
        word(10).to_uppercase(),
        word(15)
    );
    let expected = whole(&rules, &text);
    assert!(
        expected.matched_names().len() >= 4,
        "{:?}",
        expected.matched_names()
    );
    for step in [1, 3, 7, 64, text.len()] {
        let cuts: Vec<usize> = (0..text.len()).step_by(step).collect();
        let chunks = chunk(&text, &cuts);
        let (events, result) = streamed(&index, &chunks, 1 << 20);
        assert_eq!(result, expected, "chunks of {step}");
        let mut want: Vec<_> = expected
            .rules
            .iter()
            .flat_map(|r| {
                r.keywords
                    .iter()
                    .map(move |k| (r.rule.to_string(), k.var.to_string(), k.start, k.end))
            })
            .collect();
        want.sort();
        assert_eq!(keyword_events(&events), want, "chunks of {step}");
    }
}
