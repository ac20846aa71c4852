//! End-to-end tests of `novac test` (rule-test sidecars) and `novac fmt`:
//! exit codes and snapshots of their output.

mod common;

use common::{novac_in, run_with_stdin, text};
use std::path::PathBuf;
use std::process::Output;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn novac(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = novac_in(crate_dir());
    cmd.args(args)
        // No semantic or LLM stage from the environment: those cases skip.
        .env_remove("NOVAC_MODEL_DIR")
        .env_remove("OPENAI_API_KEY")
        .env_remove("NOVA_LLM_PROVIDER");
    run_with_stdin(cmd, stdin)
}

const DATA: &str = "tests/data/ruletest";

#[test]
fn test_passes_and_skips_cases_that_need_a_model() {
    let out = novac(&["test", &format!("{DATA}/pass")], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // The hint depends on the build's features.
    let stdout = text(&out.stdout).replace(", in a novac built with --features embed", "");
    insta::assert_snapshot!(stdout);
}

#[test]
fn test_accepts_a_rule_file_or_a_sidecar() {
    for path in ["pass/sample.nov", "pass/sample.tests.yaml"] {
        let out = novac(&["test", "--quiet", &format!("{DATA}/{path}")], None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        assert!(text(&out.stdout).ends_with("5 passed, 0 failed, 2 skipped\n"));
    }
}

#[test]
fn test_public_layout() {
    let out = novac(&["test", &format!("{DATA}/public")], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("1 passed, 0 failed, 0 skipped"));
    // The rule file finds its sidecar in tests/.
    let out = novac(&["test", &format!("{DATA}/public/basic.nov")], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn test_reports_failures_and_exits_1() {
    let out = novac(&["test", &format!("{DATA}/failing")], None);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(text(&out.stdout));
}

#[test]
fn test_json_output() {
    let out = novac(
        &["test", "--format", "json", &format!("{DATA}/failing")],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["passed"], 1);
    assert_eq!(doc["failed"], 3);
    assert_eq!(doc["cases"][0]["status"], "fail");
    assert_eq!(doc["cases"][0]["line"], 3);
    assert_eq!(doc["cases"][0]["rule"], "Override");
    assert_eq!(doc["cases"][3]["status"], "pass");
}

#[test]
fn test_sidecar_errors_have_file_and_line_and_exit_2() {
    let out = novac(&["test", &format!("{DATA}/bad")], None);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(text(&out.stdout));
}

#[test]
fn test_require_tests() {
    let out = novac(&["test", "--require-tests", &format!("{DATA}/pass")], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = novac(
        &["test", "--require-tests", &format!("{DATA}/public")],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("rule `SemanticOnly` has no test case"));
    let out = novac(&["test", "tests/data/nothing-here"], None);
    assert_eq!(out.status.code(), Some(2));
}

const MESSY: &str = "// keep me\nrule A {\n  condition:\n     $a   AND NOT $bb\n  keywords:\n   $a = \"a\"\n   # and me\n   $bb = /b/i\n}\n";

#[test]
fn fmt_stdin_and_check() {
    let out = novac(&["fmt", "--stdin"], Some(MESSY));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("fmt_stdin", text(&out.stdout));
    let formatted = text(&out.stdout);
    let out = novac(&["fmt", "--stdin", "--check"], Some(&formatted));
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let out = novac(&["fmt", "--stdin", "--check"], Some(MESSY));
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("fmt_check_diff", text(&out.stdout));
}

#[test]
fn fmt_refuses_files_with_errors() {
    let out = novac(
        &["fmt", "--stdin"],
        Some("rule A {\n keywords:\n  $a = \"a\"\n condition:\n  $b\n}\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    insta::assert_snapshot!(text(&out.stderr));
}

#[test]
fn fmt_rewrites_files_in_place() {
    let dir = std::env::temp_dir().join(format!("novac-fmt-cli-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).expect("temp dir");
    let messy = dir.join("sub/messy.nov");
    let broken = dir.join("broken.nov");
    std::fs::write(&messy, MESSY).expect("write");
    std::fs::write(&broken, "rule B {\n condition:\n  $x\n}\n").expect("write");
    let d = dir.display().to_string();
    let out = novac(&["fmt", "--check", &d], None);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an error outranks unformatted files"
    );
    assert_eq!(
        std::fs::read_to_string(&messy).expect("read"),
        MESSY,
        "--check writes nothing"
    );
    let out = novac(&["fmt", &d], None);
    assert_eq!(out.status.code(), Some(2));
    let formatted = std::fs::read_to_string(&messy).expect("read");
    assert!(
        formatted.starts_with("// keep me\nrule A\n{\n"),
        "{formatted}"
    );
    assert_eq!(
        std::fs::read_to_string(&broken).expect("read"),
        "rule B {\n condition:\n  $x\n}\n",
        "a file with errors is left alone"
    );
    std::fs::remove_file(&broken).expect("rm");
    let out = novac(&["fmt", "--check", &d], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    std::fs::remove_dir_all(&dir).ok();
}
