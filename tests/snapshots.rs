//! Snapshot tests (insta): the rendered diagnostics of every file in the
//! parse corpus, and the syntax trees of the files in `tests/data/ast/`.
//!
//! Review changes with `cargo insta review` (or accept them with
//! `INSTA_UPDATE=always cargo test`).

use novac::Compiler;

fn render_all(origin: &str, text: &str) -> String {
    let mut compiler = Compiler::new();
    let _ = compiler.add_named_source(origin, text);
    let mut out = String::new();
    for report in compiler.reports() {
        for d in &report.diagnostics {
            out.push_str(&d.render(origin, &report.text, false));
            out.push_str("\n\n");
        }
    }
    if out.is_empty() {
        out.push_str("(no diagnostics)\n");
    }
    out
}

#[test]
fn diagnostics_of_the_parse_corpus() {
    insta::glob!("data/parse/*.nov", |path| {
        let text = String::from_utf8_lossy(&std::fs::read(path).expect("read")).into_owned();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        insta::assert_snapshot!(render_all(name, &text));
    });
}

#[test]
fn syntax_trees() {
    insta::glob!("data/ast/*.nov", |path| {
        let text = std::fs::read_to_string(path).expect("read");
        let parsed = novac_syntax::parse(&text);
        assert!(!parsed.has_errors(), "{:?}", parsed.diagnostics);
        insta::assert_yaml_snapshot!(parsed.file);
    });
}
