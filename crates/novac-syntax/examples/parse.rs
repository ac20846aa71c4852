//! Parses `.nov` files and prints their diagnostics (and, with `--ast`, the tree as JSON).
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let show_ast = args.iter().any(|a| a == "--ast");
    for path in args.iter().filter(|a| !a.starts_with("--")) {
        let source = std::fs::read_to_string(path).unwrap_or_default();
        let parsed = novac_syntax::parse(&source);
        for d in &parsed.diagnostics {
            println!("{}", d.render(path, &source, false));
        }
        println!(
            "{path}: {} rules, {} diagnostics",
            parsed.file.rules.len(),
            parsed.diagnostics.len()
        );
        if show_ast {
            println!(
                "{}",
                serde_json::to_string_pretty(&parsed.file).unwrap_or_default()
            );
        }
    }
}
