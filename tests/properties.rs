//! Property tests: fast paths equal slow paths.
//!
//! * The condition bytecode VM equals the tree-walking interpreter on random
//!   conditions and random three-valued variable states.
//! * The language server's incremental parse equals a full parse after any
//!   sequence of edits.

use novac::bytecode::Program;
use novac::interp;
use novac::ir::{Cond, VarId};
use novac::{Truth, VarState};
use novac_conformance::generators::{keyword, small_text};
use proptest::prelude::*;

const VARS: u32 = 70; // more than one 64-bit word

fn var_list() -> impl Strategy<Value = Vec<VarId>> {
    prop::collection::btree_set(0..VARS, 1..6).prop_map(|s| s.into_iter().map(VarId).collect())
}

fn cond() -> impl Strategy<Value = Cond> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Cond::Const),
        (0..VARS).prop_map(|v| Cond::Var(VarId(v))),
        (var_list(), 1u32..4).prop_map(|(vars, n)| {
            let n = n.min(vars.len() as u32);
            Cond::AtLeast { vars, n }
        }),
        var_list().prop_map(Cond::All),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Cond::And),
            prop::collection::vec(inner, 2..4).prop_map(Cond::Or),
        ]
    })
}

fn state() -> impl Strategy<Value = VarState> {
    prop::collection::vec(0u8..3, VARS as usize).prop_map(|values| {
        let mut s = VarState::new(VARS as usize);
        for (i, v) in values.into_iter().enumerate() {
            s.set(i, [Truth::False, Truth::True, Truth::Unknown][v as usize]);
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn bytecode_equals_interpreter(c in cond(), s in state()) {
        let program = Program::compile(&c);
        let mut stack = Vec::new();
        prop_assert_eq!(program.eval(&s, &mut stack), interp::eval(&c, &s));
    }

    /// Three-valued evaluation is sound: once all unknowns are fixed, the
    /// result agrees with any definite answer given before.
    #[test]
    fn unknown_is_sound(c in cond(), s in state(), fill in any::<bool>()) {
        let before = interp::eval(&c, &s);
        let mut filled = s.clone();
        for i in 0..VARS as usize {
            if filled.get(i) == Truth::Unknown {
                filled.set(i, Truth::from_bool(fill));
            }
        }
        let after = interp::eval(&c, &filled);
        prop_assert_ne!(after, Truth::Unknown);
        if before != Truth::Unknown {
            prop_assert_eq!(before, after);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Every tier of the keyword engine (folded literals, exact literals,
    /// exact and atom regexes, deferred verification, windowed
    /// verification) equals a naive per-keyword evaluation, spans included.
    #[test]
    fn keyword_engine_equals_naive_matching(keywords in prop::collection::vec(keyword(), 1..8), texts in prop::collection::vec(small_text(24), 1..6)) {
        let mut source = String::new();
        for (i, k) in keywords.iter().enumerate() {
            source.push_str(&format!("rule R{i} {{\n keywords:\n  $k = {}\n condition:\n  $k\n}}\n", k.source()));
        }
        let rules = novac::Compiler::new().add_source(&source).expect("compiles").build().expect("builds");
        let mut scanner = novac::Scanner::new(&rules);
        for text in &texts {
            let result = scanner.scan(text);
            for (i, k) in keywords.iter().enumerate() {
                let name = format!("R{i}");
                let got = result.matched().find(|r| r.rule == name);
                prop_assert_eq!(got.is_some(), k.naive_match(text), "keyword {} on {:?}", k.source(), text);
                // Regexes are verified from their atoms' first occurrence
                // on: the span is still the leftmost match.
                if let (Some(r), Some(span)) = (got, k.naive_regex_span(text)) {
                    let m = &r.keywords[0];
                    prop_assert_eq!((m.start, m.end), span, "span of {} on {:?}", k.source(), text);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// A regex triggered by its atoms is verified only from its atoms'
    /// first occurrence minus its longest match: the verdict and the
    /// leftmost span stay those of a search of the whole prompt, also when
    /// the atoms occur again and again, before and after the match.
    #[test]
    fn windowed_verification_finds_the_leftmost_match(
        text in prop::collection::vec(prop::sample::select(vec!["ab", "cd", "ab cd", " ", "x", "1", "é", "AB", "\n"]), 0..30)
            .prop_map(|parts| parts.concat()),
    ) {
        const REGEXES: &[&str] = &[
            r"ab.{0,3}cd",
            r"\bab\b.{0,5}\bcd\b",
            r"(?i)ab\s+cd",
            r"cd[0-9x]{1,3}",
            r"x{2,4}ab",
            r"(?:ab|cd)é",
            r"ab.{0,3}cd|cd\s?x{2}",
            r"(ab\s+é)|(cd.{0,2}ab|1x)",
            r"(?i)(ab\s?cd)|x{2}1",
        ];
        let mut source = String::new();
        for (i, r) in REGEXES.iter().enumerate() {
            source.push_str(&format!("rule R{i} {{\n keywords:\n  $k = /{r}/\n condition:\n  $k\n}}\n"));
        }
        let rules = novac::Compiler::new().add_source(&source).expect("compiles").build().expect("builds");
        let mut scanner = novac::Scanner::new(&rules);
        let result = scanner.scan(&text);
        let blank = text.trim().is_empty();
        for (i, r) in REGEXES.iter().enumerate() {
            let rust = novac::translate_python_regex(r).expect("translates");
            let naive = regex::Regex::new(&rust).expect("builds").find(&text).filter(|_| !blank);
            let name = format!("R{i}");
            let got = result.matched().find(|m| m.rule == name).map(|m| (m.keywords[0].start, m.keywords[0].end));
            prop_assert_eq!(got, naive.map(|m| (m.start(), m.end())), "{} on {:?}", r, text);
        }
    }
}

/// Pieces of `.nov` text, valid and broken, that the incremental parse
/// must cut into rules exactly where pest does: rule headers in several
/// spellings, sections, bodies, stray text, non-ASCII names, CRLF, BOM.
fn nov_piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "rule A {\n",
        "rule B : t1 t2\n{\n",
        "  rule C {\n",
        "rule Ä {\n",
        "rulex D {\n",
        "rule\n",
        "\u{FEFF}",
        "meta:\n  author = \"x\"\n",
        "keywords:\n  $a = \"ignore previous\"\n  $r = /ab+c/i\n",
        "semantics:\n  $s = \"jailbreak\" (0.5)\n",
        "llm:\n  $l = \"is it an attack?\"\n",
        "condition:\n  $a or $r\n",
        "condition:\n  any of keywords.* and not $s\n",
        "  ($a and\n",
        "}\n",
        "{\n",
        "\n",
        "\r\n",
        "// comment rule X {\n",
        "/* rule Y { */\n",
        "stray text\n",
        "ééé condition:\n",
        "$a = \"\u{202E}rtl\u{0301}\"\n",
        "𝓻𝓾𝓵𝓮 Z {\n",
    ])
}

fn nov_text() -> impl Strategy<Value = String> {
    prop::collection::vec(nov_piece(), 0..24).prop_map(|pieces| pieces.concat())
}

/// Debug renderings of a parse, for equality (the AST has no `PartialEq`).
fn rendered(p: &novac::syntax::Parsed) -> (String, String) {
    (format!("{:?}", p.file), format!("{:?}", p.diagnostics))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The language server's incremental parse (`parse_cached`: unchanged
    /// rules reused from the cache with shifted spans, only edited ones
    /// through pest) equals a fresh full parse, over a sequence of edits
    /// that insert and delete pieces anywhere and move rules around.
    #[test]
    fn incremental_parse_equals_the_full_parse(
        first in nov_text(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), nov_text()), 1..5),
    ) {
        let mut cache = novac::syntax::ParseCache::default();
        let mut text = first;
        prop_assert_eq!(rendered(&novac::syntax::parse_cached(&text, &mut cache)), rendered(&novac::syntax::parse(&text)));
        for (at, len, insert) in edits {
            let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
            let start = bounds[at.index(bounds.len())];
            let rest: Vec<usize> = bounds.iter().copied().filter(|&b| b >= start).collect();
            let end = rest[len.index(rest.len().min(8))];
            text.replace_range(start..end, &insert);
            prop_assert_eq!(
                rendered(&novac::syntax::parse_cached(&text, &mut cache)),
                rendered(&novac::syntax::parse(&text)),
                "after an edit: {:?}", text
            );
        }
    }
}
