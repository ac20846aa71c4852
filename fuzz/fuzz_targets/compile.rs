//! Fuzzes the checker and compiler with grammar-aware rules
//! ([`novac_fuzz::GenFile`]): mostly well-formed files with every section
//! kind, hostile and unsupported regexes, undefined names and junk lines.
//! Checking must give diagnostics, building must succeed or fail with an
//! error, and scanning what built must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use novac_fuzz::GenFile;

fuzz_target!(|file: GenFile| {
    let source = file.source();
    let mut compiler = novac::Compiler::with_options(novac::CompileOptions {
        meta_lints: true,
        ..Default::default()
    });
    match compiler.add_source(&source) {
        Ok(_) => {}
        Err(novac::CompileError::Invalid { diagnostics, .. }) => {
            assert!(
                diagnostics.iter().any(|d| d.is_error()),
                "refused without an error"
            );
            for d in &diagnostics {
                let _ = d.render("fuzz.nov", &source, false);
            }
            return;
        }
        Err(e) => panic!("unexpected error from add_source: {e}"),
    }
    for report in compiler.reports() {
        for d in &report.diagnostics {
            let _ = d.render("fuzz.nov", &source, false);
        }
    }
    let Ok(rules) = compiler.build() else { return };
    let mut scanner = novac::Scanner::new(&rules);
    for prompt in &file.prompts {
        let result = scanner
            .try_scan(prompt)
            .expect("small prompts are in the limits");
        for r in &result.rules {
            for k in &r.keywords {
                assert!(
                    prompt.get(k.start..k.end).is_some(),
                    "span {k:?} is not a char range of {prompt:?}"
                );
            }
        }
    }
});
