//! `novac scan --profile`: after the scan, where the time went.
//!
//! Each scan thread's [`Scanner`] profiles ([`novac::profile`]); after each
//! chunk the thread hands its counters to one [`Collector`], and at the end
//! [`print`] writes three tables to stderr (stdout keeps the scan results):
//!
//! 1. the slowest rules, with their time split into condition evaluation
//!    (with the regex verification it asked for), semantic and LLM stages;
//! 2. the keyword variables by regex verification time, with how often their
//!    atoms triggered them and how often the regex ran and matched;
//! 3. the automaton atoms that occurred most.
//!
//! The keyword pass (the automata over the prompt) serves all rules at once
//! and is given as one figure above the tables.
//!
//! Cost: nothing without `--profile` (the scanners do not profile); with it,
//! see [`novac::profile`], plus one mutex lock per chunk of prompts.

use novac::profile::{ProfileReport, ScanProfile};
use novac::{Rules, Scanner};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// The `--profile` options of `novac scan`.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct ProfileArgs {
    /// After the scan, print to stderr the slowest rules (time split into
    /// condition, semantic and LLM stages), the regexes verified most and the
    /// atoms that trigger most
    #[arg(long)]
    pub profile: bool,
    /// Rows per table of --profile
    #[arg(long, value_name = "N", default_value_t = 10, requires = "profile")]
    pub profile_top: usize,
}

/// Adds up the profiles of all scan threads.
#[derive(Default)]
pub struct Collector(Mutex<Option<ScanProfile>>);

impl Collector {
    /// Takes what `scanner` gathered (nothing when it does not profile).
    pub fn add(&self, scanner: &mut Scanner) {
        let Some(profile) = scanner.take_profile() else {
            return;
        };
        // A poisoned lock means another scan thread panicked: skip, the scan fails anyway.
        if let Ok(mut total) = self.0.lock() {
            match total.as_mut() {
                Some(t) => t.merge(&profile),
                None => *total = Some(profile),
            }
        }
    }

    /// The report so far, with names from `rules`.
    pub fn report(&self, rules: &Rules) -> Option<ProfileReport> {
        let total = self.0.lock().ok()?;
        total.as_ref().map(|p| p.report(rules))
    }
}

/// Prints the profile to stderr when `--profile` was given.
pub fn print(args: ProfileArgs, collector: &Collector, rules: &Rules) {
    if !args.profile {
        return;
    }
    if let Some(report) = collector.report(rules) {
        eprint!("{}", render(&report, args.profile_top));
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// The three tables, `top` rows each.
pub fn render(report: &ProfileReport, top: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "profile: {} prompt(s); keyword pass (all rules) {}; decoded views {}; LLM rounds {}",
        report.prompts,
        ms(report.keyword_pass),
        ms(report.decode),
        ms(report.llm_rounds)
    );
    let _ = writeln!(out, "\nslowest rules (of {}):", report.rules.len());
    let _ = writeln!(
        out,
        "  {:<32} {:>7} {:>12} {:>12} {:>12} {:>12}",
        "rule", "evals", "condition", "semantics", "llm", "total"
    );
    for r in report.rules.iter().take(top) {
        let _ = writeln!(
            out,
            "  {:<32} {:>7} {:>12} {:>12} {:>12} {:>12}",
            r.rule.as_str(),
            r.evaluations,
            ms(r.condition),
            ms(r.semantics),
            ms(r.llm),
            ms(r.total())
        );
    }
    let _ = writeln!(
        out,
        "\nkeyword variables by regex verification time (of {}):",
        report.variables.len()
    );
    let _ = writeln!(
        out,
        "  {:>9} {:>8} {:>7} {:>12}  pattern (variables)",
        "triggered", "verified", "matched", "verify"
    );
    let mut by_time: Vec<_> = report.variables.iter().collect();
    by_time.sort_by(|a, b| b.verify.cmp(&a.verify).then(b.verified.cmp(&a.verified)));
    for v in by_time.iter().take(top) {
        let _ = writeln!(
            out,
            "  {:>9} {:>8} {:>7} {:>12}  {} ({})",
            v.triggered,
            v.verified,
            v.matched,
            ms(v.verify),
            clip(&v.pattern, 60),
            v.variables.join(", ")
        );
    }
    let _ = writeln!(out, "\nregexes verified most often:");
    let mut by_count: Vec<_> = report.variables.iter().filter(|v| v.verified > 0).collect();
    by_count.sort_by(|a, b| {
        b.verified
            .cmp(&a.verified)
            .then(a.variables.cmp(&b.variables))
    });
    for v in by_count.iter().take(top) {
        let _ = writeln!(
            out,
            "  {:>8} x  {} ({})",
            v.verified,
            clip(&v.pattern, 60),
            v.variables.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\natoms that trigger most (of {}):",
        report.atoms.len()
    );
    for a in report.atoms.iter().take(top) {
        let _ = writeln!(
            out,
            "  {:>8} x  {:?}{}",
            a.occurrences,
            a.atom,
            if a.case_folded {
                ""
            } else {
                " (case-sensitive)"
            }
        );
    }
    out
}

/// `text` cut to `max` characters (with `…`).
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max).collect();
    s.push('…');
    s
}
