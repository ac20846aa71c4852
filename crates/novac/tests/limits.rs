//! Every resource limit of `novac::limits`, tested at its edge: the value
//! at the limit is accepted, one more is refused with an error naming it.

use novac::{
    CompileError, CompileLimits, CompileOptions, Compiler, ScanError, ScanOptions, Scanner,
};

fn rule(condition: &str, keywords: &[&str]) -> String {
    let mut s = String::from("rule R {\n keywords:\n");
    for (i, k) in keywords.iter().enumerate() {
        s.push_str(&format!("  $k{i} = {k}\n"));
    }
    s.push_str(&format!(" condition:\n  {condition}\n}}\n"));
    s
}

fn compile(limits: CompileLimits, source: &str) -> Result<novac::Rules, CompileError> {
    Compiler::with_options(CompileOptions {
        limits,
        ..Default::default()
    })
    .add_source(source)?
    .build()
}

fn codes(e: &CompileError) -> Vec<&'static str> {
    match e {
        CompileError::Invalid { diagnostics, .. } => diagnostics.iter().map(|d| d.code).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn source_size_at_and_over_the_limit() {
    let source = rule("$k0", &["\"x\""]);
    let at = CompileLimits {
        max_source_bytes: source.len(),
        ..Default::default()
    };
    assert!(compile(at.clone(), &source).is_ok());
    let over = CompileLimits {
        max_source_bytes: source.len() - 1,
        ..at
    };
    let e = compile(over, &source).unwrap_err();
    assert_eq!(codes(&e), ["E012"], "{e}");
}

#[test]
fn condition_depth_at_and_over_the_limit() {
    let source = rule(
        &format!("{}$k0{}", "(".repeat(3), ")".repeat(3)),
        &["\"x\""],
    );
    let at = CompileLimits {
        max_condition_depth: 3,
        ..Default::default()
    };
    assert!(compile(at, &source).is_ok());
    let over = CompileLimits {
        max_condition_depth: 2,
        ..Default::default()
    };
    let e = compile(over, &source).unwrap_err();
    assert!(codes(&e).contains(&"E009"), "{e}");
}

#[test]
fn patterns_at_and_over_the_limit() {
    let source = rule("any of keywords.*", &["\"a\"", "\"b\"", "\"a\""]);
    let at = CompileLimits {
        max_patterns: 2,
        ..Default::default()
    };
    assert!(
        compile(at, &source).is_ok(),
        "identical keywords count once"
    );
    let over = CompileLimits {
        max_patterns: 1,
        ..Default::default()
    };
    let e = compile(over, &source).unwrap_err();
    assert!(
        matches!(e, CompileError::Limit(ref l) if l.limit == "CompileLimits::max_patterns" && l.actual == 2 && l.max == 1),
        "{e}"
    );
    assert!(e.to_string().contains("CompileLimits::max_patterns"));
}

#[test]
fn regex_size_limit_names_the_regex() {
    let source = rule("$k0", &["/(abc|def){50}xy/"]);
    assert!(compile(CompileLimits::default(), &source).is_ok());
    let tiny = CompileLimits {
        max_regex_bytes: 100,
        ..Default::default()
    };
    let e = compile(tiny, &source).unwrap_err();
    assert!(matches!(e, CompileError::Engine(_)), "{e}");
    assert!(e.to_string().contains("(abc|def){50}"), "{e}");
}

#[test]
fn dfa_over_budget_falls_back_to_the_nfa_with_equal_results() {
    let source = rule(
        "any of keywords.*",
        &[
            "\"ignore previous\"",
            "\"SECRET case:true\"",
            "/sys\\w+ prompt/",
        ],
    );
    let prompts = [
        "Please IGNORE previous rules",
        "a SECRET",
        "system prompt",
        "nothing",
    ];
    let dfa = compile(CompileLimits::default(), &source).unwrap();
    let nfa = compile(
        CompileLimits {
            max_dfa_bytes: 0,
            ..Default::default()
        },
        &source,
    )
    .unwrap();
    let no_dfa = compile(
        CompileLimits {
            dfa_max_pattern_bytes: 0,
            ..Default::default()
        },
        &source,
    )
    .unwrap();
    for p in prompts {
        let expected = Scanner::new(&dfa).scan(p);
        assert_eq!(Scanner::new(&nfa).scan(p), expected, "{p}");
        assert_eq!(Scanner::new(&no_dfa).scan(p), expected, "{p}");
    }
}

#[test]
fn automaton_memory_at_and_over_the_limit() {
    let source = rule("$k0", &["\"ignore previous\""]);
    let used = compile(CompileLimits::default(), &source)
        .unwrap()
        .stats()
        .automaton_bytes;
    assert!(used > 0);
    let at = CompileLimits {
        max_automaton_bytes: used,
        ..Default::default()
    };
    assert!(compile(at, &source).is_ok());
    let over = CompileLimits {
        max_automaton_bytes: used - 1,
        ..Default::default()
    };
    let e = compile(over, &source).unwrap_err();
    assert!(
        matches!(e, CompileError::Limit(ref l) if l.limit == "CompileLimits::max_automaton_bytes"),
        "{e}"
    );
}

#[test]
fn prompt_size_at_and_over_the_limit() {
    let rules = compile(CompileLimits::default(), &rule("$k0", &["\"x\""])).unwrap();
    let options = ScanOptions {
        max_prompt_bytes: Some(3),
        ..Default::default()
    };
    let mut scanner = Scanner::new(&rules).options(options);
    assert!(scanner.try_scan("axé").is_err(), "é is two bytes: 4 > 3");
    assert!(scanner.try_scan("xyz").unwrap().is_match());
    assert_eq!(
        scanner.try_scan("wxyz"),
        Err(ScanError::PromptTooLarge { bytes: 4, limit: 3 })
    );
    // `scan` ignores the limit.
    assert!(scanner.scan("wxyz").is_match());
    let e = scanner.try_scan("wxyz").unwrap_err().to_string();
    assert_eq!(
        e,
        "the prompt is 4 bytes, over the limit of 3 bytes (ScanOptions::max_prompt_bytes)"
    );
}
