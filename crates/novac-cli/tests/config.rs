//! End-to-end tests of `novac.toml`: found upward from the checked file,
//! `--config` and `--isolated`, honoured by `check`, `test` and `fmt`, and a
//! malformed file reported with its line.

mod common;

use common::{novac_in, run_with_stdin, text};
use std::path::PathBuf;
use std::process::Output;

fn novac(args: &[&str]) -> Output {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/config");
    let mut cmd = novac_in(dir);
    cmd.args(args)
        .env_remove("NOVAC_MODEL_DIR")
        .env_remove("OPENAI_API_KEY")
        .env_remove("NOVA_LLM_PROVIDER");
    run_with_stdin(cmd, None)
}

#[test]
fn check_applies_the_project_policy() {
    let out = novac(&["check", "project/rules/policy.nov"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(text(&out.stdout));
}

#[test]
fn check_isolated_ignores_the_config() {
    let out = novac(&["check", "--isolated", "project/rules/policy.nov"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(text(&out.stdout));
}

#[test]
fn check_with_explicit_config() {
    let out = novac(&[
        "check",
        "--config",
        "project/novac.toml",
        "--format",
        "json",
        "bad/rule.nov",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let codes: Vec<&str> = doc["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["code"].as_str().unwrap_or(""))
        .collect();
    assert!(
        codes.contains(&"W301") && codes.contains(&"W304"),
        "{codes:?}"
    );
}

#[test]
fn malformed_config_is_an_error_with_file_and_line() {
    for args in [
        &["check", "bad/rule.nov"][..],
        &["fmt", "--check", "bad/rule.nov"],
        &["test", "bad/rule.nov"],
    ] {
        let out = novac(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = (text(&out.stderr) + &text(&out.stdout)).replace('\\', "/");
        assert!(
            err.contains("bad/novac.toml:5: unknown type `text`"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn test_command_honours_denied_warnings() {
    let out = novac(&["test", "project/rules/policy.tests.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(all.contains("W102"), "{all}");
    let out = novac(&["test", "--isolated", "project/rules/policy.tests.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn explain_knows_the_policy_codes() {
    let out = novac(&["check", "--explain", "W303"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(text(&out.stdout));
}
