//! What every request of `novac serve` shares: the rules in service (a
//! [`RuleSet`] swapped on reload), the LLM judge, the scan options, the
//! limits and the metrics. This is the one place where `serve` uses the
//! CLI's rule loading (`load::compiler_factory`, the `semantic` and
//! `llm_config` options) and the JSONL result contract (`scan::json_line`).
//!
//! Cost: one `Arc` load per request for the rules; the rules' hash is
//! computed once per generation (a pass over the serialised rules).

use super::metrics::{Metrics, RulesInfo, Stage};
use super::ServeArgs;
use anyhow::{Context, Result};
use novac::{LlmJudge, LlmRequest, LlmVerdict, ReloadError, RuleSet, ScanOptions, Scanner};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Request limits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body, in bytes (413 above).
    pub body_bytes: usize,
    /// Largest prompt, in bytes (413 above).
    pub prompt_bytes: usize,
    /// Most prompts in one request (413 above).
    pub prompts: usize,
    /// Most scanning requests at once (429 above).
    pub concurrent: usize,
    /// How long a client may take to send its body (408 after).
    pub body_timeout: std::time::Duration,
}

/// The shared state.
pub struct State {
    /// The rules in service.
    pub rules: Arc<RuleSet>,
    /// Default scan options (normalisation and the LLM stage's options).
    pub options: ScanOptions,
    /// The LLM judge, timed.
    pub judge: Option<TimedJudge>,
    /// The limits.
    pub limits: Limits,
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// Bearer token, if auth is on.
    pub token: Option<String>,
    /// Log prompts in access logs.
    pub log_prompts: bool,
    /// Write access logs.
    pub access_log: bool,
    /// Serve the playground.
    pub playground: bool,
    /// Set when shutting down (`/readyz` answers 503).
    pub stopping: AtomicBool,
    /// Scanning requests running now (429 when full).
    pub permits: Arc<tokio::sync::Semaphore>,
    /// The hash of a generation, computed once.
    hash: Mutex<Option<(u64, String)>>,
}

/// An LLM judge whose calls are timed into the `llm` stage histogram.
pub struct TimedJudge {
    inner: Box<dyn LlmJudge>,
    metrics: Arc<Metrics>,
}

impl LlmJudge for TimedJudge {
    fn judge(&self, request: &LlmRequest<'_>) -> Result<LlmVerdict, novac::LlmError> {
        let start = Instant::now();
        let verdict = self.inner.judge(request);
        self.metrics.observe(Stage::Llm, start.elapsed());
        verdict
    }
}

/// Loads the rules (and the embedding model, and the LLM judge) `args` ask for.
pub fn load(args: &ServeArgs, token: Option<String>) -> Result<State> {
    let rules = crate::load::rule_set(&args.rules, &args.semantic)?;
    let snapshot = rules.current();
    let mut llm = crate::llm_config::setup(&args.llm).context("cannot set up the LLM judge")?;
    if let Some(note) = llm.note(&snapshot) {
        super::log::event("warn", &note);
    }
    if let Some(judge) = &llm.description {
        super::log::event("info", &format!("LLM judge: {judge}"));
    }
    drop(snapshot);
    let metrics = Arc::new(Metrics::default());
    let judge = llm.judge.take().map(|inner| TimedJudge {
        inner,
        metrics: Arc::clone(&metrics),
    });
    let options = ScanOptions {
        normalize: args.normalize,
        decode: args.decode.then(novac::decode::DecodeLimits::default),
        max_prompt_bytes: Some(args.max_prompt_bytes),
        llm: llm.options.clone(),
        ..ScanOptions::default()
    };
    Ok(State {
        rules,
        options,
        judge,
        limits: Limits {
            body_bytes: args.max_body_bytes,
            prompt_bytes: args.max_prompt_bytes,
            prompts: args.max_prompts,
            concurrent: args.max_concurrent,
            body_timeout: std::time::Duration::from_millis(args.body_timeout_ms),
        },
        metrics,
        token,
        log_prompts: args.log_prompts,
        access_log: !args.no_access_log,
        playground: args.playground,
        stopping: AtomicBool::new(false),
        permits: Arc::new(tokio::sync::Semaphore::new(args.max_concurrent.max(1))),
        hash: Mutex::new(None),
    })
}

/// The outcome of scanning one request's prompts.
pub enum Scanned {
    /// The JSONL result objects, in order.
    Results {
        /// The rules' generation that scanned.
        generation: u64,
        /// One result object per prompt.
        lines: Vec<serde_json::Value>,
    },
    /// A prompt was refused (too large after normalisation, or an LLM
    /// failure under `--llm-on-error error`): its index and why.
    Refused(usize, novac::ScanError),
}

impl State {
    /// Scans `prompts` (ids as in the JSONL contract) with the rules in
    /// service; CPU work, run it on a blocking thread.
    pub fn scan(
        &self,
        prompts: Vec<(serde_json::Value, String)>,
        normalize: bool,
        debug: bool,
        decode: Option<bool>,
    ) -> Scanned {
        let snapshot = self.rules.current();
        let options = ScanOptions {
            normalize,
            debug,
            decode: match decode {
                Some(on) => on.then(novac::decode::DecodeLimits::default),
                None => self.options.decode,
            },
            ..self.options.clone()
        };
        let mut scanner = Scanner::new(&snapshot).options(options);
        if let Some(judge) = &self.judge {
            scanner = scanner.llm_judge(judge);
        }
        let start = Instant::now();
        let texts: Vec<&str> = prompts.iter().map(|(_, text)| text.as_str()).collect();
        let results = match scanner.try_scan_batch(&texts) {
            Ok(results) => results,
            Err((i, e)) => return Scanned::Refused(i, e),
        };
        self.metrics.observe(Stage::Scan, start.elapsed());
        let mut matched = std::collections::BTreeMap::new();
        let mut failed = std::collections::BTreeMap::new();
        let mut any = 0;
        for result in &results {
            if result.is_match() {
                any += 1;
            }
            for r in &result.rules {
                if r.matched {
                    *matched.entry(r.rule.to_string()).or_insert(0) += 1;
                } else if !r.warnings.is_empty() {
                    *failed.entry(r.rule.to_string()).or_insert(0) += 1;
                }
            }
        }
        self.metrics
            .prompts
            .fetch_add(results.len() as u64, Relaxed);
        self.metrics.prompts_matched.fetch_add(any, Relaxed);
        self.metrics.record_rules(&matched, &failed);
        let start = Instant::now();
        let lines = prompts
            .into_iter()
            .zip(&results)
            .map(|((id, text), result)| {
                crate::scan::json_line(&crate::input::Prompt { id, text }, result)
            })
            .collect();
        self.metrics.observe(Stage::Encode, start.elapsed());
        Scanned::Results {
            generation: snapshot.generation(),
            lines,
        }
    }

    /// Reloads the rules from their files (keeping the last good ones on
    /// error), counts the outcome and logs it; blocking.
    pub fn reload(&self, trigger: &str) -> Result<u64, ReloadError> {
        let result = self.rules.reload();
        self.record_reload(trigger, &result);
        result
    }

    /// Counts and logs a reload's outcome.
    pub fn record_reload(&self, trigger: &str, result: &Result<u64, ReloadError>) {
        match result {
            Ok(generation) => {
                self.metrics.reloads.fetch_add(1, Relaxed);
                let snapshot = self.rules.current();
                super::log::json(&serde_json::json!({
                    "level": "info",
                    "msg": "reloaded",
                    "trigger": trigger,
                    "generation": generation,
                    "rules": snapshot.len(),
                    "files": snapshot.files().len(),
                }));
            }
            Err(e) => {
                self.metrics.reload_failures.fetch_add(1, Relaxed);
                super::log::json(&serde_json::json!({
                    "level": "error",
                    "msg": "the new rules were refused; the last good rules stay in service",
                    "trigger": trigger,
                    "generation": self.rules.generation(),
                    "error": e.render(false),
                }));
            }
        }
    }

    /// The hash, generation and size of the rules in service.
    pub fn rules_info(&self) -> RulesInfo {
        let snapshot = self.rules.current();
        let generation = snapshot.generation();
        let mut cached = self.hash.lock().unwrap_or_else(|e| e.into_inner());
        let hash = match &*cached {
            Some((g, hash)) if *g == generation => hash.clone(),
            _ => {
                let hash = rules_hash(&snapshot);
                *cached = Some((generation, hash.clone()));
                hash
            }
        };
        RulesInfo {
            hash,
            generation,
            count: snapshot.len(),
        }
    }

    /// The rule files in service.
    pub fn files(&self) -> Vec<PathBuf> {
        self.rules.current().files().to_vec()
    }
}

/// A 64-bit FNV-1a hash (hex) of the compiled rules as a bundle would hold
/// them (or, if they cannot be serialised, of their names, metadata and
/// conditions): it changes when the rules do. An identifier, not a MAC.
fn rules_hash(rules: &novac::Rules) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    match rules.serialize() {
        Ok(bytes) => feed(&bytes),
        Err(_) => {
            for rule in rules.iter() {
                feed(rule.name().as_bytes());
                for (k, v) in rule.meta() {
                    feed(k.as_bytes());
                    feed(v.as_bytes());
                }
                feed(rule.condition().as_bytes());
                feed(&[0]);
            }
        }
    }
    format!("{hash:016x}")
}
