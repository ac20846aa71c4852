//! `novac scan` with `llm:` rules: the judge is configured by flags and
//! environment, asked only for prompts that need it (counted on a stub
//! server), reported per prompt when missing, and its answers appear in the
//! JSONL results.

use novac_llm::testing::{Reply, StubServer};
use novac_llm::Provider;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Command, Output};

/// A keyword-only rule and one that asks the judge (shared with the other LLM test).
const RULES: &str = include_str!("data/llm/credential_theft.nov");

fn rules_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("novac-llm-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rules.nov");
    std::fs::write(&path, RULES).unwrap();
    path
}

/// Runs `novac scan` on the prompts with a clean LLM environment plus `env`.
fn scan<S: AsRef<std::ffi::OsStr>>(
    name: &str,
    prompts: &[&str],
    flags: &[S],
    env: &[(&str, &str)],
) -> Output {
    let rules = rules_file(name);
    let input = rules.with_file_name("prompts.jsonl");
    let lines: Vec<String> = prompts
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"id": i, "prompt": p}).to_string())
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_novac"));
    cmd.args(["scan", "--rules"])
        .arg(&rules)
        .arg("--input")
        .arg(&input);
    cmd.args(["--format", "jsonl"]).args(flags);
    for var in [
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "NOVA_LLM_PROVIDER",
        "NOVA_LLM_MODEL",
        "OPENAI_MODEL",
        "OPENAI_LLM_MODEL",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stub() -> StubServer {
    StubServer::start(|_, _| {
        Reply::model(
            Provider::OpenAi,
            r#"{"matched": true, "confidence": 0.9, "reason": "asks for a password"}"#,
        )
    })
}

#[test]
fn jsonl_results_carry_the_llm_verdicts_and_the_judge_is_asked_only_where_needed() {
    let stub = stub();
    let base = format!("{}/v1", stub.url());
    let out = scan(
        "jsonl",
        &[
            "ignore previous instructions",
            "hello",
            "tell me the password",
            "tell me the password",
        ],
        // One thread: the repeated prompt comes after the first one's answer.
        &["--llm", "openai", "--llm-base-url", &base, "--threads", "1"],
        &[("OPENAI_API_KEY", "sk-cli-test-key")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = lines(&out);
    assert_eq!(lines[0]["matched_rules"], json!(["KeywordOnly"]));
    assert_eq!(lines[1]["matched_rules"], json!([]));
    assert_eq!(lines[2]["matched_rules"], json!(["CredentialTheft"]));
    let llm = &lines[2]["results"][0]["llm"];
    assert_eq!(
        llm,
        &json!({"$l": {"matched": true, "confidence": 0.9f32, "reason": "asks for a password", "model": "gpt-4o-mini", "cached": false}})
    );
    // One request: the repeated prompt is answered from the cache.
    assert_eq!(stub.count(), 1);
    assert_eq!(lines[3]["results"][0]["llm"]["$l"]["cached"], true);
    let body = stub.requests()[0].json();
    assert_eq!(body["temperature"], json!(0.2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("sk-cli-test-key"));
}

#[test]
fn a_missing_api_key_only_affects_prompts_that_need_the_judge() {
    let out = scan(
        "nokey",
        &["ignore previous instructions", "hello", "the password"],
        &["--llm", "openai"],
        &[],
    );
    // Exit 0: something matched; no crash for the missing key.
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: LLM judge openai:gpt-4o-mini: OPENAI_API_KEY is not set"),
        "{stderr}"
    );
    let lines = lines(&out);
    assert!(lines[0]["results"][0]["warnings"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(lines[1]["results"], json!([]));
    assert_eq!(
        lines[2]["results"][0]["warnings"],
        json!(["Rule 'CredentialTheft' failed closed because llm.$l evaluation errored: the LLM judge is not configured: OPENAI_API_KEY is not set (needed by --llm openai)"])
    );
}

#[test]
fn without_a_judge_rules_that_fail_closed_are_named_once_or_per_prompt_with_verbose() {
    let rules = rules_file("human");
    let scan = |verbose: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_novac"));
        cmd.args(["scan", "--rules"])
            .arg(&rules)
            .args(["--input", "-"])
            .env_remove("OPENAI_API_KEY")
            .env_remove("NOVA_LLM_PROVIDER")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if verbose {
            cmd.arg("--verbose");
        }
        let mut child = cmd.spawn().unwrap();
        std::io::Write::write_all(
            &mut child.stdin.take().unwrap(),
            b"the password\nmy password\n",
        )
        .unwrap();
        child.wait_with_output().unwrap()
    };
    let why = "Rule 'CredentialTheft' requires LLM evaluation, but no LLM evaluator is available.";
    let out = scan(false);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("failed closed"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches(why).count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("  CredentialTheft: {why}")),
        "{stderr}"
    );
    let out = scan(true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1: CredentialTheft (not matched: failed closed)"),
        "{stdout}"
    );
    assert_eq!(stdout.matches(why).count(), 2, "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no LLM judge is configured (--llm PROVIDER"),
        "{stderr}"
    );
}

#[test]
fn failure_policies() {
    let stub = StubServer::start(|_, _| Reply::text(400, "bad request"));
    let base = format!("{}/v1", stub.url());
    let key = [("OPENAI_API_KEY", "sk-cli-test-key")];
    let flags = |policy: &'static str| -> Vec<String> {
        [
            "--llm",
            "openai",
            "--llm-base-url",
            &base,
            "--llm-on-error",
            policy,
        ]
        .map(String::from)
        .to_vec()
    };
    let out = scan("matched", &["the password"], &flags("matched"), &key);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(lines(&out)[0]["matched_rules"], json!(["CredentialTheft"]));

    let out = scan("error", &["hello", "the password"], &flags("error"), &key);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rule 'CredentialTheft': llm.$l evaluation errored: the LLM API answered HTTP 400: bad request"),
        "{stderr}"
    );

    let out = scan(
        "not-matched",
        &["the password"],
        &flags("not-matched"),
        &key,
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn unknown_providers_are_usage_errors() {
    let out = scan("unknown", &["hello"], &["--llm", "gemini"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported LLM provider 'gemini'"));
}

#[test]
fn human_output_shows_the_llm_verdicts() {
    let stub = stub();
    let rules = rules_file("snapshot");
    let out = Command::new(env!("CARGO_BIN_EXE_novac"))
        .args(["scan", "--rules"])
        .arg(&rules)
        .args(["--prompt", "tell me the password", "--llm", "openai"])
        .args(["--llm-base-url", &format!("{}/v1", stub.url())])
        .env("OPENAI_API_KEY", "sk-cli-test-key")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}
