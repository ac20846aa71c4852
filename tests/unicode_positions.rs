//! Hostile Unicode at every position of a real rule never panics the front
//! end: a combining mark, a right-to-left mark and a 4-byte character are
//! inserted at every character boundary, and every section header is
//! misspelt with accents, in other scripts and with look-alikes (the
//! misspelling `ééé condition:` once panicked the "did you mean"
//! suggestion). Each variant is parsed, checked with the metadata lints,
//! its diagnostics rendered, and scanned with itself when it builds.
//! The same edits drive the `mutate` fuzz target (fuzz/src/lib.rs).
//!
//! Cost: about 2,000 compiles of a 15-line rule; a few seconds in debug.

use novac::{CompileOptions, Compiler};

const RULE: &str = r#"rule Probe : injection {
    meta:
        description = "ignore previous instructions"
        severity = "high"
    keywords:
        $ignore = "ignore previous instructions"
        $dan = /\bDAN\b|d[o0]\s+anything\s+now/i
        $secret = "SECRET case:true"
    semantics:
        $override = "override the rules" (0.5)
    condition:
        ($ignore or $dan) and not $secret or any of keywords.* or semantics.$override
}
"#;

const INSERTED: &[&str] = &["\u{301}", "\u{200f}", "\u{1F600}"];

const MISSPELT: &[&str] = &[
    "ééé condition:",
    "ééé:",
    "é:",
    "conditión:",
    "cоndition:",
    "condition：",
    "conditio\u{301}n:",
    "\u{200f}condition:",
    "condition\u{202e}:",
    "kéywords:",
    "ключевые слова:",
    "关键词:",
    "الشرط:",
    "𝒸𝑜𝓃𝒹𝒾𝓉𝒾𝑜𝓃:",
    "ｍｅｔａ:",
    "\u{1F600}:",
];

/// Parses, checks, renders and (when it builds) scans `source`.
fn exercise(source: &str) {
    let parsed = novac_syntax::parse(source);
    for d in &parsed.diagnostics {
        let _ = d.render("probe.nov", source, false);
    }
    let mut compiler = Compiler::with_options(CompileOptions {
        meta_lints: true,
        ..CompileOptions::default()
    });
    let added = compiler.add_named_source("probe.nov", source).is_ok();
    for report in compiler.reports() {
        for d in &report.diagnostics {
            let _ = d.render(&report.origin, &report.text, true);
        }
    }
    if added {
        if let Ok(rules) = compiler.allow_missing_model(true).build() {
            let _ = novac::Scanner::new(&rules).scan(source);
        }
    }
}

#[test]
fn marks_and_four_byte_characters_at_every_position() {
    let boundaries: Vec<usize> = RULE
        .char_indices()
        .map(|(i, _)| i)
        .chain([RULE.len()])
        .collect();
    for insert in INSERTED {
        for &at in &boundaries {
            let (head, tail) = RULE.split_at(at);
            exercise(&format!("{head}{insert}{tail}"));
        }
    }
}

#[test]
fn every_section_header_misspelt_in_other_scripts() {
    let headers: Vec<&str> = RULE
        .lines()
        .map(str::trim)
        .filter(|l| l.ends_with(':'))
        .collect();
    assert_eq!(headers.len(), 4);
    for header in headers {
        for misspelt in MISSPELT {
            exercise(&RULE.replacen(header, misspelt, 1));
        }
    }
}

#[test]
fn operators_in_other_scripts() {
    for (word, foreign) in [
        (" or ", " или "),
        (" and ", " و "),
        ("not ", "¬ "),
        (" of ", " оf "),
        ("any ", "ａｎｙ "),
        ("$secret", "$secr\u{301}et"),
        ("(", "（"),
    ] {
        exercise(&RULE.replace(word, foreign));
    }
}
