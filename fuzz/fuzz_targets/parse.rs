//! Fuzzes the front end: any bytes, parsed and checked, must give
//! diagnostics, never a panic, a hang or a stack overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = novac_syntax::parse(&text);
    for d in &parsed.diagnostics {
        let _ = d.render("fuzz.nov", &text, false);
    }
    let mut compiler = novac::Compiler::new();
    if compiler.add_source(&text).is_ok() {
        if let Ok(rules) = compiler.allow_missing_model(true).build() {
            let _ = novac::Scanner::new(&rules).scan(&text);
        }
    }
});
