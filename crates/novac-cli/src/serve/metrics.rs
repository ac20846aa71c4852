//! The counters and latency histograms of `novac serve`, and their
//! Prometheus text exposition (format 0.0.4), written by hand.
//!
//! Cost: counters are relaxed atomics; per-rule counters and per-status
//! request counters sit behind a mutex taken once per request (not per
//! prompt). Rendering `/metrics` walks everything once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds (50 µs to 10 s).
const BUCKETS: [f64; 16] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 10.0,
];

/// A latency histogram with fixed buckets.
#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum in nanoseconds.
    sum_ns: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(count) = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .and_then(|i| self.counts.get(i))
        {
            count.fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            cumulative += count.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let sum = self.sum_ns.load(Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// The stages whose latency is measured.
#[derive(Clone, Copy, Debug)]
pub enum Stage {
    /// Waiting for a scanning thread.
    Queue,
    /// Scanning one request's prompts (all rule stages).
    Scan,
    /// One LLM judge call (inside `Scan`).
    Llm,
    /// Encoding the JSON answer.
    Encode,
    /// The whole request, from the first byte of the body read to the answer.
    Request,
}

const STAGES: [(Stage, &str); 5] = [
    (Stage::Queue, "queue"),
    (Stage::Scan, "scan"),
    (Stage::Llm, "llm"),
    (Stage::Encode, "encode"),
    (Stage::Request, "request"),
];

/// Everything `/metrics` reports.
#[derive(Default)]
pub struct Metrics {
    /// Prompts scanned.
    pub prompts: AtomicU64,
    /// Prompts that matched at least one rule.
    pub prompts_matched: AtomicU64,
    /// Requests being answered now.
    pub inflight: AtomicI64,
    /// Successful reloads.
    pub reloads: AtomicU64,
    /// Refused reloads (the last good rules stayed in service).
    pub reload_failures: AtomicU64,
    stages: [Histogram; STAGES.len()],
    /// Matches per rule.
    rule_matches: Mutex<BTreeMap<String, u64>>,
    /// Fail-closed results per rule (a stage not configured or failing).
    failed_closed: Mutex<BTreeMap<String, u64>>,
    /// Requests per (route, status).
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Requests refused before scanning, per reason.
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K, by: u64) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    *map.entry(key).or_insert(0) += by;
}

impl Metrics {
    /// Records one stage's latency.
    pub fn observe(&self, stage: Stage, elapsed: Duration) {
        if let Some(histogram) = self.stages.get(stage as usize) {
            histogram.observe(elapsed);
        }
    }

    /// Records a scanned request's per-rule outcomes.
    pub fn record_rules(&self, matched: &BTreeMap<String, u64>, failed: &BTreeMap<String, u64>) {
        if !matched.is_empty() {
            let mut map = self.rule_matches.lock().unwrap_or_else(|e| e.into_inner());
            for (rule, n) in matched {
                match map.get_mut(rule) {
                    Some(count) => *count += n,
                    None => {
                        map.insert(rule.clone(), *n);
                    }
                }
            }
        }
        if !failed.is_empty() {
            let mut map = self.failed_closed.lock().unwrap_or_else(|e| e.into_inner());
            for (rule, n) in failed {
                *map.entry(rule.clone()).or_insert(0) += n;
            }
        }
    }

    /// Counts one answered request.
    pub fn request(&self, route: &'static str, status: u16) {
        bump(&self.requests, (route, status), 1);
    }

    /// Counts a request refused before scanning.
    pub fn reject(&self, reason: &'static str) {
        bump(&self.rejected, reason, 1);
    }

    /// The Prometheus text exposition; `rules` describes the rules in service.
    pub fn render(&self, rules: &RulesInfo) -> String {
        let mut out = String::with_capacity(8192);
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            &mut out,
            "novac_prompts_scanned_total",
            "Prompts scanned.",
            self.prompts.load(Relaxed),
        );
        counter(
            &mut out,
            "novac_prompts_matched_total",
            "Prompts that matched at least one rule.",
            self.prompts_matched.load(Relaxed),
        );
        counter(
            &mut out,
            "novac_reloads_total",
            "Rule reloads that put new rules in service.",
            self.reloads.load(Relaxed),
        );
        counter(
            &mut out,
            "novac_reload_failures_total",
            "Rule reloads refused (the last good rules stayed in service).",
            self.reload_failures.load(Relaxed),
        );
        let labelled =
            |out: &mut String, name: &str, help: &str, label: &str, map: &BTreeMap<String, u64>| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                for (key, value) in map {
                    let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {value}", escape(key));
                }
            };
        let matches = self
            .rule_matches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        labelled(
            &mut out,
            "novac_rule_matches_total",
            "Prompts each rule matched.",
            "rule",
            &matches,
        );
        let failed = self
            .failed_closed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        labelled(
            &mut out,
            "novac_rule_failed_closed_total",
            "Prompts for which a rule was not matched because its semantic or LLM stage is not configured or failed.",
            "rule",
            &failed,
        );
        let _ = writeln!(
            out,
            "# HELP novac_http_requests_total HTTP requests answered.\n# TYPE novac_http_requests_total counter"
        );
        for ((route, status), value) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "novac_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP novac_http_rejected_total Requests refused before scanning, by reason.\n# TYPE novac_http_rejected_total counter"
        );
        for (reason, value) in self
            .rejected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "novac_http_rejected_total{{reason=\"{reason}\"}} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP novac_http_inflight_requests Requests being answered.\n# TYPE novac_http_inflight_requests gauge\nnovac_http_inflight_requests {}",
            self.inflight.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP novac_stage_seconds Latency per stage (queue: waiting for a scanning thread; scan: a request's prompts; llm: one judge call; encode: the JSON answer; request: the whole request).\n# TYPE novac_stage_seconds histogram"
        );
        for ((_, name), histogram) in STAGES.iter().zip(&self.stages) {
            histogram.render(
                &mut out,
                "novac_stage_seconds",
                &format!("stage=\"{name}\""),
            );
        }
        let _ = writeln!(
            out,
            "# HELP novac_rules_info The rules in service (value 1): their hash and generation.\n# TYPE novac_rules_info gauge\nnovac_rules_info{{hash=\"{}\",generation=\"{}\",version=\"{}\"}} 1",
            rules.hash,
            rules.generation,
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(
            out,
            "# HELP novac_rules_loaded Rules in service.\n# TYPE novac_rules_loaded gauge\nnovac_rules_loaded {}",
            rules.count
        );
        let _ = writeln!(
            out,
            "# HELP novac_rules_generation Generation of the rules in service (grows on each reload).\n# TYPE novac_rules_generation gauge\nnovac_rules_generation {}",
            rules.generation
        );
        out
    }
}

/// What `/metrics` says about the rules in service.
pub struct RulesInfo {
    /// Their hash.
    pub hash: String,
    /// Their generation.
    pub generation: u64,
    /// How many rules.
    pub count: usize,
}

/// Escapes a label value (backslash, quote, newline).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_histograms_cumulatively_and_escapes_labels() {
        let metrics = Metrics::default();
        metrics.observe(Stage::Scan, Duration::from_micros(70));
        metrics.observe(Stage::Scan, Duration::from_millis(3));
        let mut matched = BTreeMap::new();
        matched.insert("a\"b".to_string(), 2);
        metrics.record_rules(&matched, &BTreeMap::new());
        metrics.request("scan", 200);
        let text = metrics.render(&RulesInfo {
            hash: "abc".into(),
            generation: 1,
            count: 3,
        });
        assert!(text.contains("novac_stage_seconds_bucket{stage=\"scan\",le=\"0.0001\"} 1"));
        assert!(text.contains("novac_stage_seconds_bucket{stage=\"scan\",le=\"+Inf\"} 2"));
        assert!(text.contains("novac_rule_matches_total{rule=\"a\\\"b\"} 2"));
        assert!(text.contains("novac_http_requests_total{route=\"scan\",status=\"200\"} 1"));
        assert!(text.contains("novac_rules_info{hash=\"abc\",generation=\"1\""));
    }
}
