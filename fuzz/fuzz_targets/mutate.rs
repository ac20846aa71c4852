//! Fuzzes the front end and the checker with real rules (one rule of
//! `rulesets/` at a time) after
//! structure-aware edits ([`novac_fuzz::MutatedRules`]): section names
//! misspelt with accents and in other scripts, operators in other scripts,
//! combining marks, direction marks and 4-byte characters inserted at any
//! character boundary. Parsing, checking (with the "did you mean"
//! suggestions) and rendering must give diagnostics, never a panic; what
//! builds is scanned with its own source as the prompt.
#![no_main]

use libfuzzer_sys::fuzz_target;
use novac_fuzz::MutatedRules;

fuzz_target!(|rules: MutatedRules| {
    let source = rules.source();
    let parsed = novac_syntax::parse(&source);
    for d in &parsed.diagnostics {
        let _ = d.render("fuzz.nov", &source, false);
    }
    let mut compiler = novac::Compiler::with_options(novac::CompileOptions {
        meta_lints: true,
        ..Default::default()
    });
    let added = compiler.add_source(&source).is_ok();
    for report in compiler.reports() {
        for d in &report.diagnostics {
            let _ = d.render("fuzz.nov", &source, true);
        }
    }
    if added {
        if let Ok(rules) = compiler.allow_missing_model(true).build() {
            let _ = novac::Scanner::new(&rules).scan(&source);
        }
    }
});
