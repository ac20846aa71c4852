//! Long and deep conditions never crash `novac`: chains of 10,000 and
//! 100,000 `or`/`and` (and parenthesised groups) go through `check`, `scan`
//! and `fmt` (the parser balances each chain, so the tree is only log2 of the
//! chain deep), and nesting beyond the limit is a coded diagnostic (E009)
//! with its location, not a stack overflow.

mod common;

use common::{novac_in, text, workspace};
use std::path::PathBuf;
use std::process::Output;

fn novac(args: &[&str]) -> Output {
    novac_in(workspace())
        .args(args)
        .output()
        .expect("run novac")
}

/// A rule whose condition is `n` operands joined by `op` (`$k0 op $k1 op $k0 ...`),
/// or `n` parenthesised `($k0 and $k1)` groups joined by `or` when `op` is `"paren"`.
fn chain_rule(op: &str, n: usize) -> String {
    let condition = if op == "paren" {
        vec!["($k0 and $k1)"; n / 2].join(" or ")
    } else {
        (0..n)
            .map(|i| format!("$k{}", i % 2))
            .collect::<Vec<_>>()
            .join(&format!(" {op} "))
    };
    format!(
        "rule Chain\n{{\n    keywords:\n        $k0 = \"alpha\"\n        $k1 = \"beta\"\n\n    condition:\n        {condition}\n}}\n"
    )
}

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("novac-deep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn write(dir: &std::path::Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write rule file");
    path
}

/// Exits with a code (no signal: no stack overflow) and no panic.
fn assert_clean(out: &Output, what: &str) -> i32 {
    let stderr = text(&out.stderr);
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("novac was killed on {what}: {stderr}"));
    assert!(
        !stderr.contains("panicked") && !stderr.contains("overflow"),
        "{what}: {stderr}"
    );
    code
}

#[test]
fn long_or_and_paren_chains_check_scan_and_fmt() {
    let dir = scratch("chains");
    for n in [10_000usize, 100_000] {
        for op in ["or", "and", "paren"] {
            let what = format!("{n} {op}");
            let path = write(&dir, &format!("chain_{op}_{n}.nov"), &chain_rule(op, n));
            let p = path.to_str().expect("utf-8 path");

            let out = novac(&["check", p]);
            assert_eq!(
                assert_clean(&out, &what),
                0,
                "check {what}: {}",
                text(&out.stderr)
            );

            // "alpha beta" matches every chain; "alpha" alone only the `or` chain.
            let out = novac(&["scan", "-r", p, "-p", "alpha beta", "-f", "jsonl"]);
            assert_eq!(assert_clean(&out, &what), 0, "scan {what}");
            assert!(text(&out.stdout).contains("\"Chain\""), "{what}");
            if n == 10_000 {
                let out = novac(&["scan", "-r", p, "-p", "alpha", "-f", "jsonl"]);
                let expected = if op == "or" { 0 } else { 1 };
                assert_eq!(assert_clean(&out, &what), expected, "scan alpha {what}");
            }

            let out = novac(&["fmt", "--check", p]);
            assert_eq!(
                assert_clean(&out, &what),
                0,
                "fmt {what}: {}",
                text(&out.stdout)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn nesting_beyond_the_limit_is_a_coded_diagnostic() {
    let dir = scratch("nested");
    for depth in [10_000usize, 100_000] {
        let condition = format!("{}$k0{}", "(".repeat(depth), ")".repeat(depth));
        let rule = chain_rule("or", 2).replace("$k0 or $k1", &condition);
        let path = write(&dir, &format!("nested_{depth}.nov"), &rule);
        let p = path.to_str().expect("utf-8 path");
        for args in [
            vec!["check", p],
            vec!["scan", "-r", p, "-p", "alpha"],
            vec!["fmt", p],
        ] {
            let out = novac(&args);
            let code = assert_clean(&out, &format!("{args:?}"));
            assert_ne!(code, 0, "{args:?}");
            let all = text(&out.stdout) + &text(&out.stderr);
            assert!(all.contains("E009"), "{args:?}: {all}");
        }
    }
    // The rendered diagnostic, with its location.
    let rule = chain_rule("or", 2).replace(
        "$k0 or $k1",
        &format!("{}$k0{}", "(".repeat(70), ")".repeat(70)),
    );
    let path = write(&dir, "nested.nov", &rule);
    let out = novac_in(dir.clone())
        .args(["check", "nested.nov"])
        .output()
        .expect("run novac");
    insta::assert_snapshot!("nesting_too_deep", text(&out.stdout) + &text(&out.stderr));
    drop(path);
    let _ = std::fs::remove_dir_all(&dir);
}
