//! Scan profiling: where a scan's time goes, per rule and per keyword
//! variable, for `novac scan --profile`.
//!
//! Off by default. [`crate::Scanner::profile`] turns it on for one scanner;
//! the scanner then times each step of a scan (see [`crate::scanner`]) and
//! counts:
//!
//! * the keyword pass (literal automata and the atomless-regex trigger),
//!   once per prompt: it serves every rule at once, so it is not split by rule;
//! * per regex pattern: how often its atoms triggered it, how often it was
//!   verified (its regex run), how often that matched, and the verification time;
//! * per rule: how often its condition ran and its time (the condition
//!   bytecode, with the verification of the regexes it asked for inside it),
//!   and the time of its semantic stage and of its LLM stage;
//! * per automaton atom: how often it occurred, with its text as found.
//!
//! [`ScanProfile::report`] resolves indexes to rule and variable names.
//!
//! # Cost
//!
//! Off: one branch on an `Option` per rule evaluated, per regex verified and
//! per atom occurrence; no clock is read (`scripts/bench/profile_overhead.sh`
//! compares a scan with this code compiled in but off against the commit
//! before it). On: two clock reads per timed step (tens of nanoseconds each),
//! a counter per atom occurrence, and memory linear in rules + patterns + atoms
//! seen. Profiles of several scanners (threads) add up with [`ScanProfile::merge`].

use crate::keywords::atom_counts::AtomCounts;
use crate::rules::Rules;
use crate::shared_str::SharedStr;
use std::time::Duration;

/// Counters and times gathered by one or more profiled scanners.
#[derive(Clone, Debug, Default)]
pub struct ScanProfile {
    /// Prompts scanned.
    pub prompts: u64,
    /// Time of the keyword pass (automata and atomless-regex trigger).
    pub keyword_pass: Duration,
    /// Time spent finding and scanning decoded views (`--decode`).
    pub decode: Duration,
    /// Time of the concurrent LLM rounds (all rules of a prompt at once).
    pub llm_rounds: Duration,
    /// Per rule, by index.
    pub(crate) rules: Vec<RuleCounters>,
    /// Per keyword pattern, by pattern index.
    pub(crate) patterns: Vec<PatternCounters>,
    /// Atom occurrences.
    pub(crate) atoms: AtomCounts,
}

/// Per-rule counters.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RuleCounters {
    pub(crate) evaluations: u64,
    /// Time of the rule's evaluation, semantic stage included.
    pub(crate) evaluate: Duration,
    pub(crate) semantics: Duration,
    pub(crate) semantic_runs: u64,
    pub(crate) llm_deferred: u64,
    pub(crate) llm: Duration,
}

/// Per-pattern counters.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PatternCounters {
    pub(crate) triggered: u64,
    pub(crate) verified: u64,
    pub(crate) matched: u64,
    pub(crate) verify: Duration,
}

impl ScanProfile {
    /// An empty profile sized for `rules`.
    pub(crate) fn for_rules(rules: &Rules) -> ScanProfile {
        ScanProfile {
            rules: vec![RuleCounters::default(); rules.rules.len()],
            patterns: vec![PatternCounters::default(); rules.pattern_rules.len()],
            ..ScanProfile::default()
        }
    }

    pub(crate) fn rule(&mut self, index: usize) -> Option<&mut RuleCounters> {
        self.rules.get_mut(index)
    }

    pub(crate) fn pattern(&mut self, index: usize) -> Option<&mut PatternCounters> {
        self.patterns.get_mut(index)
    }

    /// Adds `other` (a profile of the same rules, e.g. from another thread).
    pub fn merge(&mut self, other: &ScanProfile) {
        self.prompts += other.prompts;
        self.keyword_pass += other.keyword_pass;
        self.decode += other.decode;
        self.llm_rounds += other.llm_rounds;
        if self.rules.len() < other.rules.len() {
            self.rules
                .resize(other.rules.len(), RuleCounters::default());
        }
        for (a, b) in self.rules.iter_mut().zip(&other.rules) {
            a.evaluations += b.evaluations;
            a.evaluate += b.evaluate;
            a.semantics += b.semantics;
            a.semantic_runs += b.semantic_runs;
            a.llm_deferred += b.llm_deferred;
            a.llm += b.llm;
        }
        if self.patterns.len() < other.patterns.len() {
            self.patterns
                .resize(other.patterns.len(), PatternCounters::default());
        }
        for (a, b) in self.patterns.iter_mut().zip(&other.patterns) {
            a.triggered += b.triggered;
            a.verified += b.verified;
            a.matched += b.matched;
            a.verify += b.verify;
        }
        self.atoms.merge(&other.atoms);
    }

    /// The profile with names: every rule and keyword variable that did any
    /// work, slowest first, and the atoms by occurrences, most first.
    pub fn report(&self, rules: &Rules) -> ProfileReport {
        let mut rule_rows: Vec<RuleProfile> = rules
            .rules
            .iter()
            .zip(&self.rules)
            .filter(|(_, c)| c.evaluations > 0 || c.semantic_runs > 0 || c.llm_deferred > 0)
            .map(|(r, c)| RuleProfile {
                rule: r.name.clone(),
                evaluations: c.evaluations,
                condition: c.evaluate.saturating_sub(c.semantics),
                semantics: c.semantics,
                llm: c.llm,
                llm_deferred: c.llm_deferred,
            })
            .collect();
        rule_rows.sort_by(|a, b| b.total().cmp(&a.total()).then(a.rule.cmp(&b.rule)));
        let mut variables = Vec::new();
        for (p, c) in self.patterns.iter().enumerate() {
            if c.triggered == 0 && c.verified == 0 {
                continue;
            }
            let pattern = match rules.engine.pattern(p) {
                Some(crate::ir::KeywordPattern::Regex {
                    python,
                    case_insensitive,
                    ..
                }) => format!("/{python}/{}", if *case_insensitive { "i" } else { "" }),
                Some(crate::ir::KeywordPattern::Literal { text, .. }) => format!("{text:?}"),
                None => continue,
            };
            let mut users = Vec::new();
            for r in rules.pattern_rules.get(p).into_iter().flatten() {
                let Some(rule) = rules.rules.get(r.index()) else {
                    continue;
                };
                for &(v, q) in &rule.keyword_vars {
                    if q.index() == p {
                        if let Some(name) = rule.var_names.get(v.index()) {
                            users.push(format!("{}.{}", rule.name, name));
                        }
                    }
                }
            }
            variables.push(VariableProfile {
                variables: users,
                pattern,
                triggered: c.triggered,
                verified: c.verified,
                matched: c.matched,
                verify: c.verify,
            });
        }
        variables.sort_by(|a, b| {
            b.verify
                .cmp(&a.verify)
                .then(b.verified.cmp(&a.verified))
                .then(a.variables.cmp(&b.variables))
        });
        let mut atoms: Vec<AtomProfile> = self
            .atoms
            .counts
            .iter()
            .map(|(&(folded, _), (n, text))| AtomProfile {
                atom: text.clone(),
                case_folded: folded,
                occurrences: *n,
            })
            .collect();
        atoms.sort_by(|a, b| {
            b.occurrences
                .cmp(&a.occurrences)
                .then(a.atom.cmp(&b.atom))
                .then(a.case_folded.cmp(&b.case_folded))
        });
        ProfileReport {
            prompts: self.prompts,
            keyword_pass: self.keyword_pass,
            decode: self.decode,
            llm_rounds: self.llm_rounds,
            rules: rule_rows,
            variables,
            atoms,
        }
    }
}

/// A profile with names, sorted for reading (see [`ScanProfile::report`]).
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProfileReport {
    /// Prompts scanned.
    pub prompts: u64,
    /// Time of the keyword pass, all rules at once.
    pub keyword_pass: Duration,
    /// Time of the decoded views.
    pub decode: Duration,
    /// Time of the LLM rounds, all rules of a prompt at once.
    pub llm_rounds: Duration,
    /// Rules that did work, slowest first.
    pub rules: Vec<RuleProfile>,
    /// Keyword regexes and literals that were triggered or verified, by verification time.
    pub variables: Vec<VariableProfile>,
    /// Automaton atoms, most frequent first.
    pub atoms: Vec<AtomProfile>,
}

/// One rule's share.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RuleProfile {
    /// The rule name.
    pub rule: SharedStr,
    /// How often its condition ran.
    pub evaluations: u64,
    /// Condition time, with the regex verification it asked for.
    pub condition: Duration,
    /// Semantic stage time.
    pub semantics: Duration,
    /// LLM stage time attributed to it: each LLM round's time split evenly
    /// over the rules in the round.
    pub llm: Duration,
    /// How often it waited for the LLM stage.
    pub llm_deferred: u64,
}

impl RuleProfile {
    /// All stages together.
    pub fn total(&self) -> Duration {
        self.condition + self.semantics + self.llm
    }
}

/// One keyword pattern's share, with the variables that use it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct VariableProfile {
    /// `Rule.$var` of every variable with this pattern.
    pub variables: Vec<String>,
    /// The pattern as written (`/re/i` or a quoted literal).
    pub pattern: String,
    /// Scans in which its atoms occurred (or that ran it without atoms).
    pub triggered: u64,
    /// Times its regex ran.
    pub verified: u64,
    /// Times that run matched.
    pub matched: u64,
    /// Time of those runs.
    pub verify: Duration,
}

/// One automaton atom.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AtomProfile {
    /// The atom as found in the first prompt it occurred in (lower-cased for
    /// the case-folded automaton).
    pub atom: String,
    /// From the case-folded automaton (else the case-sensitive one).
    pub case_folded: bool,
    /// Occurrences over all prompts.
    pub occurrences: u64,
}
