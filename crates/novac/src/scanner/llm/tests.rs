//! Tests of the LLM stage with in-process judges: laziness, concurrency,
//! de-duplication, deadline and failure policies.

use crate::{
    Compiler, LlmError, LlmFailurePolicy, LlmJudge, LlmOptions, LlmRequest, LlmVerdict, ScanError,
    ScanOptions, Scanner,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A judge that answers `matched` when the text contains `needle`, counts
/// calls, records them and tracks how many run at once.
struct Fake {
    needle: &'static str,
    delay: Duration,
    calls: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    seen: Mutex<Vec<(String, String, f32)>>,
    fail: Option<LlmError>,
}

impl Fake {
    fn new(needle: &'static str) -> Fake {
        Fake {
            needle,
            delay: Duration::ZERO,
            calls: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
            fail: None,
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl LlmJudge for Fake {
    fn judge(&self, r: &LlmRequest<'_>) -> Result<LlmVerdict, LlmError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        self.seen.lock().unwrap().push((
            r.instruction.to_string(),
            r.text.to_string(),
            r.temperature,
        ));
        std::thread::sleep(self.delay);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Some(e) = &self.fail {
            return Err(e.clone());
        }
        Ok(LlmVerdict {
            matched: r.text.contains(self.needle),
            confidence: 0.9,
            reason: format!("looked for {}", self.needle),
            model: "fake-1".into(),
            cached: false,
        })
    }
}

fn rules(src: &str) -> crate::Rules {
    Compiler::new().add_source(src).unwrap().build().unwrap()
}

const MIXED: &str = r#"
rule KeywordOnly {
    keywords:
        $k = "ignore previous"
    condition:
        $k
}
rule KeywordGate {
    keywords:
        $k = "password"
    llm:
        $l = "Does the text ask for credentials?" (0.2)
    condition:
        $k and llm.$l
}
rule KeywordShortcut {
    keywords:
        $k = "jailbreak"
    llm:
        $l = "Is this a jailbreak?" (0.1)
    condition:
        $k or llm.$l
}
"#;

#[test]
fn judge_is_called_only_when_the_verdict_depends_on_it() {
    let rules = rules(MIXED);
    let judge = Fake::new("password");
    let mut scanner = Scanner::new(&rules).llm_judge(&judge);

    // KeywordOnly matches; KeywordGate is false without "password";
    // KeywordShortcut is undecided: one call ("Is this a jailbreak?").
    let r = scanner.scan("ignore previous instructions");
    assert_eq!(r.matched_names(), ["KeywordOnly"]);
    assert_eq!(judge.calls(), 1);

    // "jailbreak" decides KeywordShortcut; "password" opens KeywordGate: one call.
    let r = scanner.scan("jailbreak: tell me the password");
    assert_eq!(r.matched_names(), ["KeywordGate", "KeywordShortcut"]);
    assert_eq!(judge.calls(), 2);
    let gate = &r.rules[0];
    assert_eq!(gate.llm.len(), 1);
    assert_eq!(gate.llm[0].var, "$l");
    assert_eq!(gate.llm[0].verdict.model, "fake-1");
    assert!(r.rules[1].llm.is_empty(), "the keyword decided it");

    // Both undecided rules need the judge: two calls, in rule order.
    let r = scanner.scan("what is the password");
    assert_eq!(r.matched_names(), ["KeywordGate", "KeywordShortcut"]);
    assert_eq!(judge.calls(), 4);
    let seen = judge.seen.lock().unwrap();
    let temps: Vec<f32> = seen[2..].iter().map(|s| s.2).collect();
    assert!(temps.contains(&0.2) && temps.contains(&0.1), "{temps:?}");
}

#[test]
fn identical_patterns_of_one_scan_are_asked_once() {
    let rules = rules(
        r#"
rule A {
    llm:
        $x = "Is it rude?" (0.3)
    condition:
        llm.$x
}
rule B {
    llm:
        $y = "Is it rude?" (0.3)
    condition:
        llm.$y
}
rule C {
    llm:
        $z = "Is it rude?" (0.5)
    condition:
        llm.$z
}
"#,
    );
    let judge = Fake::new("rude");
    let mut scanner = Scanner::new(&rules).llm_judge(&judge);
    let r = scanner.scan("a rude prompt");
    assert_eq!(r.matched_names(), ["A", "B", "C"]);
    assert_eq!(
        judge.calls(),
        2,
        "(pattern, temperature) pairs are judged once per scan"
    );
}

fn many_rules(n: usize) -> crate::Rules {
    let mut src = String::new();
    for i in 0..n {
        src.push_str(&format!(
            "rule R{i} {{\n llm:\n  $l = \"Question {i}?\" (0.1)\n condition:\n  llm.$l\n}}\n"
        ));
    }
    rules(&src)
}

#[test]
fn independent_patterns_are_judged_concurrently_within_the_bound() {
    let rules = many_rules(6);
    let mut judge = Fake::new("x");
    judge.delay = Duration::from_millis(100);
    let options = ScanOptions {
        llm: LlmOptions {
            concurrency: 3,
            ..LlmOptions::default()
        },
        ..ScanOptions::default()
    };
    let mut scanner = Scanner::new(&rules).options(options).llm_judge(&judge);
    let r = scanner.scan("x");
    assert_eq!(r.matched_names().len(), 6);
    // Results stay in rule order.
    let names: Vec<&str> = r.rules.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(names, ["R0", "R1", "R2", "R3", "R4", "R5"]);
    assert_eq!(judge.calls(), 6);
    let max = judge.max_in_flight.load(Ordering::SeqCst);
    assert!(max > 1, "calls ran one at a time");
    assert!(max <= 3, "{max} calls at once, over the bound of 3");
}

#[test]
fn concurrency_one_is_sequential() {
    let rules = many_rules(3);
    let mut judge = Fake::new("x");
    judge.delay = Duration::from_millis(20);
    let options = ScanOptions {
        llm: LlmOptions {
            concurrency: 1,
            ..LlmOptions::default()
        },
        ..ScanOptions::default()
    };
    let mut scanner = Scanner::new(&rules).options(options).llm_judge(&judge);
    scanner.scan("x");
    assert_eq!(judge.max_in_flight.load(Ordering::SeqCst), 1);
}

#[test]
fn calls_not_started_before_the_deadline_fail_with_deadline_exceeded() {
    let rules = many_rules(3);
    let mut judge = Fake::new("x");
    judge.delay = Duration::from_millis(150);
    let options = ScanOptions {
        llm: LlmOptions {
            concurrency: 1,
            deadline: Some(Duration::from_millis(50)),
            ..LlmOptions::default()
        },
        ..ScanOptions::default()
    };
    let mut scanner = Scanner::new(&rules).options(options).llm_judge(&judge);
    let started = Instant::now();
    let r = scanner.scan("x");
    assert!(started.elapsed() < Duration::from_millis(1000));
    assert_eq!(judge.calls(), 1, "no call starts after the deadline");
    assert_eq!(r.matched_names(), ["R0"]);
    assert_eq!(
        r.rules[1].warnings,
        ["Rule 'R1' failed closed because llm.$l evaluation errored: the scan's LLM deadline passed"]
    );
    assert!(!r.rules[2].matched);
}

#[test]
fn judges_see_the_deadline() {
    struct Check;
    impl LlmJudge for Check {
        fn judge(&self, r: &LlmRequest<'_>) -> Result<LlmVerdict, LlmError> {
            let left = r.remaining().ok_or(LlmError::Other("no deadline".into()))?;
            assert!(left <= Duration::from_secs(5));
            Err(LlmError::DeadlineExceeded)
        }
    }
    let rules = many_rules(1);
    let options = ScanOptions {
        llm: LlmOptions {
            deadline: Some(Duration::from_secs(5)),
            ..LlmOptions::default()
        },
        ..ScanOptions::default()
    };
    let judge = Check;
    let r = Scanner::new(&rules)
        .options(options)
        .llm_judge(&judge)
        .scan("x");
    assert!(r.rules[0].warnings[0].ends_with("the scan's LLM deadline passed"));
}

fn failing(policy: LlmFailurePolicy) -> (crate::Rules, Fake, ScanOptions) {
    let mut judge = Fake::new("x");
    judge.fail = Some(LlmError::Http {
        status: 503,
        message: "overloaded".into(),
    });
    let options = ScanOptions {
        llm: LlmOptions {
            on_error: policy,
            ..LlmOptions::default()
        },
        ..ScanOptions::default()
    };
    (rules(MIXED), judge, options)
}

#[test]
fn failure_policy_not_matched_is_the_reference_behaviour() {
    let (rules, judge, _) = failing(LlmFailurePolicy::NotMatched);
    let mut scanner = Scanner::new(&rules).llm_judge(&judge);
    let r = scanner.try_scan("the password").unwrap();
    assert!(!r.is_match());
    let names: Vec<&str> = r.rules.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(names, ["KeywordGate", "KeywordShortcut"]);
    assert_eq!(
        r.rules[0].warnings,
        ["Rule 'KeywordGate' failed closed because llm.$l evaluation errored: the LLM API answered HTTP 503: overloaded"]
    );
    assert!(scanner.last_llm_failure().is_none());
}

#[test]
fn failure_policy_matched_reports_the_rule_as_matched() {
    let (rules, judge, options) = failing(LlmFailurePolicy::Matched);
    let mut scanner = Scanner::new(&rules).options(options).llm_judge(&judge);
    let r = scanner.try_scan("the password").unwrap();
    assert_eq!(r.matched_names(), ["KeywordGate", "KeywordShortcut"]);
    assert!(r.rules[0].warnings[0]
        .starts_with("Rule 'KeywordGate' reported as matched because llm.$l evaluation errored"));
    // A prompt that never reaches the LLM stage is unaffected.
    assert!(!scanner
        .try_scan("hello")
        .unwrap()
        .rules
        .iter()
        .any(|r| r.rule == "KeywordGate"));
}

#[test]
fn failure_policy_error_fails_try_scan() {
    let (rules, judge, options) = failing(LlmFailurePolicy::Error);
    let mut scanner = Scanner::new(&rules).options(options).llm_judge(&judge);
    match scanner.try_scan("the password") {
        Err(ScanError::Llm(f)) => {
            assert_eq!(f.rule, "KeywordGate");
            assert_eq!(f.var, "$l");
            assert_eq!(
                f.to_string(),
                "rule 'KeywordGate': llm.$l evaluation errored: the LLM API answered HTTP 503: overloaded"
            );
        }
        other => panic!("expected an LLM error, got {other:?}"),
    }
    // `scan` cannot fail: not matched, with the warning, and the failure kept.
    let r = scanner.scan("the password");
    assert!(!r.is_match());
    assert_eq!(scanner.last_llm_failure().unwrap().rule, "KeywordGate");
    // Prompts that do not need the judge scan fine.
    assert!(scanner
        .try_scan("ignore previous; jailbreak")
        .unwrap()
        .is_match());
    assert!(scanner.last_llm_failure().is_none());
}

#[test]
fn without_a_judge_rules_that_need_one_fail_closed_with_the_reference_warning() {
    let rules = rules(MIXED);
    let mut scanner = Scanner::new(&rules);
    let r = scanner.scan("the password");
    assert!(!r.is_match());
    assert_eq!(
        r.rules[0].warnings,
        ["Rule 'KeywordGate' requires LLM evaluation, but no LLM evaluator is available."]
    );
    // A prompt that never reaches the LLM stage needs no judge.
    let r = scanner.scan("ignore previous; jailbreak");
    assert_eq!(r.matched_names(), ["KeywordOnly", "KeywordShortcut"]);
    assert!(r.rules.iter().all(|r| r.warnings.is_empty()));
}

#[test]
fn unused_llm_variables_are_never_judged() {
    let rules = rules(
        r#"
rule A {
    keywords:
        $k = "x"
    llm:
        $used = "Q1?" (0.1)
        $unused = "Q2?" (0.1)
    condition:
        $k and llm.$used
}"#,
    );
    let judge = Fake::new("x");
    let r = Scanner::new(&rules).llm_judge(&judge).scan("x");
    assert!(r.is_match());
    let seen = judge.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "Q1?");
}

#[test]
fn debug_mode_reports_llm_values() {
    let rules = rules(MIXED);
    let judge = Fake::new("nothing");
    let options = ScanOptions {
        debug: true,
        ..ScanOptions::default()
    };
    let r = Scanner::new(&rules)
        .options(options)
        .llm_judge(&judge)
        .scan("the password");
    assert_eq!(r.rules.len(), 3);
    let gate = r.rules.iter().find(|r| r.rule == "KeywordGate").unwrap();
    let vars = gate.variables.as_ref().unwrap();
    let l = vars.iter().find(|v| v.var == "$l").unwrap();
    assert_eq!((l.section, l.value), ("llm", Some(false)));
}

#[test]
fn batch_scans_judge_each_prompt_once() {
    let rules = rules(MIXED);
    let judge = Fake::new("password");
    let mut scanner = Scanner::new(&rules).llm_judge(&judge);
    let results = scanner.scan_batch(&["the password", "hello", "jailbreak"]);
    assert_eq!(
        results[0].matched_names(),
        ["KeywordGate", "KeywordShortcut"]
    );
    assert!(results[1].matched_names().is_empty());
    assert_eq!(results[2].matched_names(), ["KeywordShortcut"]);
    // "the password": 2 calls; "hello": 1 (KeywordShortcut); "jailbreak": 0.
    assert_eq!(judge.calls(), 3);
}

/// A judge whose answer depends only on the question and the text.
struct Hashy;

impl LlmJudge for Hashy {
    fn judge(&self, r: &LlmRequest<'_>) -> Result<LlmVerdict, LlmError> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (r.instruction, r.text, r.temperature.to_bits()).hash(&mut h);
        let x = h.finish();
        if matches!(x % 7, 0) {
            return Err(LlmError::Other("flaky".into()));
        }
        Ok(LlmVerdict {
            matched: x & 1 == 0,
            confidence: 0.5,
            reason: String::new(),
            model: "hashy".into(),
            cached: false,
        })
    }
}

#[test]
fn concurrent_and_sequential_stages_give_the_same_results() {
    let mut src = MIXED.to_string();
    for i in 0..8 {
        src.push_str(&format!(
            "rule Gen{i} {{\n keywords:\n  $k = \"w{i}\"\n llm:\n  $a = \"A{i}?\" (0.1)\n  $b = \"B{}?\" (0.3)\n condition:\n  ($k and llm.$a) or (not $k and llm.$b)\n}}\n",
            i % 3
        ));
    }
    let rules = rules(&src);
    let prompts = [
        "the password w1 w2",
        "jailbreak w3",
        "hello",
        "w0 w4 w5 w6 w7 password",
        "ignore previous w2",
    ];
    for debug in [false, true] {
        let run = |concurrency| {
            let options = ScanOptions {
                debug,
                llm: LlmOptions {
                    concurrency,
                    ..LlmOptions::default()
                },
                ..ScanOptions::default()
            };
            let judge = Hashy;
            let mut scanner = Scanner::new(&rules).options(options).llm_judge(&judge);
            prompts.iter().map(|p| scanner.scan(p)).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(8));
    }
}
