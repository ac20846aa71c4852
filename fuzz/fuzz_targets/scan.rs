//! Fuzzes the scanner against the slow path: random keyword-only rules
//! ([`novac_fuzz::ScanCase`]) × random prompts. For every rule, each
//! keyword variable is evaluated naively (`str.lower()` substring tests, a
//! freshly built `regex`), fed to the tree-walking interpreter
//! ([`novac::interp`]), and the verdict must equal the scanner's (automaton
//! tiers, deferred regex verification, rule selection, bytecode).
#![no_main]

use libfuzzer_sys::fuzz_target;
use novac::{Truth, VarState};
use novac_fuzz::{naive_keyword, ScanCase};

fuzz_target!(|case: ScanCase| {
    let source = case.source();
    let rules = match novac::Compiler::new().add_source(&source) {
        Ok(c) => match c.build() {
            Ok(rules) => rules,
            Err(_) => return,
        },
        // Some generated rules are refused on purpose (e.g. a condition
        // that can never match); those are the compile target's concern.
        Err(_) => return,
    };
    let mut scanner = novac::Scanner::new(&rules);
    for prompt in &case.prompts {
        let result = scanner
            .try_scan(prompt)
            .expect("small prompts are in the limits");
        for info in rules.iter() {
            let ir = info.ir();
            let mut state = VarState::new(ir.vars.len());
            for (i, var) in ir.vars.iter().enumerate() {
                if let novac::ir::Pattern::Keyword(k) = &var.pattern {
                    state.set(i, Truth::from_bool(naive_keyword(k, prompt)));
                }
            }
            let expected = novac::interp::eval(&ir.condition, &state) == Truth::True;
            let got = result.matched().any(|r| r.rule == ir.name);
            assert_eq!(got, expected, "rule {} on {prompt:?}\n{source}", ir.name);
        }
    }
});
