//! [`Scanner`]: matches prompts against [`Rules`].
//!
//! # One scan
//!
//! 1. The keyword engine ([`crate::keywords`]) makes its pass over the prompt
//!    and reports which keyword patterns matched.
//! 2. Only the rules that use a matched pattern, plus the few rules whose
//!    verdict with no keyword hit is not plainly false (`not $a`), run their
//!    condition bytecode, with semantic and LLM variables *unknown*.
//! 3. A rule whose verdict is still unknown goes through the semantic stage
//!    if its verdict depends on semantic results, then through the LLM stage
//!    if it still depends on LLM results. Each stage calls its hook
//!    ([`SemanticEvaluator`], [`LlmJudge`]); without a hook, or when it
//!    fails, the rule *fails closed*: not matched, with the reference's
//!    warning text.
//!
//! A `Scanner` holds per-thread scratch memory; create one per thread (they
//! are cheap) and reuse it across prompts.

use crate::bytecode::Program;
use crate::ir::{Pattern, VarId};
use crate::keywords::KeywordHits;
use crate::rules::{CompiledRule, Rules};
use crate::truth::{Truth, VarState};
use serde::Serialize;

/// Computes semantic similarity (the `semantics:` stage).
///
/// Implemented by embedding backends; `novac` itself ships none, so that a
/// keyword-only build stays small.
pub trait SemanticEvaluator: Send + Sync {
    /// Cosine similarity between the whole prompt and each phrase, in order.
    fn similarities(&self, prompt: &str, phrases: &[&str]) -> Result<Vec<f32>, String>;
}

/// Judges a prompt with a language model (the `llm:` stage).
pub trait LlmJudge: Send + Sync {
    /// Whether `prompt` fits `instruction`, sampling at `temperature`.
    fn judge(
        &self,
        instruction: &str,
        prompt: &str,
        temperature: f32,
    ) -> Result<LlmVerdict, String>;
}

/// What an [`LlmJudge`] answered.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LlmVerdict {
    /// The model's `matched`.
    pub matched: bool,
    /// The model's `confidence` (informational).
    pub confidence: f32,
    /// The model's `reason`.
    pub reason: String,
}

/// Options of a scan.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// Normalise the prompt first (NFKC, look-alike letters, zero-width
    /// characters removed), like the reference's `NovaScanner`; off by
    /// default, like its matcher and CLI. Spans then refer to the normalised text.
    pub normalize: bool,
    /// Report every rule with all of its variables, not only matches.
    pub debug: bool,
}

/// One keyword variable that matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeywordMatch {
    /// The variable, with its `$`.
    pub var: String,
    /// Byte offset of the first match in the scanned text.
    pub start: usize,
    /// Byte offset one past its end.
    pub end: usize,
}

/// A semantic variable that was evaluated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SemanticScore {
    /// The variable, with its `$`.
    pub var: String,
    /// The cosine similarity.
    pub score: f32,
    /// `score >= threshold`.
    pub matched: bool,
}

/// An LLM variable that was evaluated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LlmResult {
    /// The variable, with its `$`.
    pub var: String,
    /// The judge's answer.
    pub verdict: LlmVerdict,
}

/// The value of one variable (debug output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VariableValue {
    /// The variable, with its `$`.
    pub var: String,
    /// `keywords`, `semantics` or `llm`.
    pub section: &'static str,
    /// The value, or `None` when it was not evaluated.
    pub value: Option<bool>,
}

/// The outcome of one rule on one prompt.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleResult {
    /// Index of the rule in [`Rules`].
    pub index: usize,
    /// The rule name.
    pub rule: String,
    /// Whether the rule matched.
    pub matched: bool,
    /// Matching keyword variables (those the condition uses), with spans.
    pub keywords: Vec<KeywordMatch>,
    /// Semantic variables that were evaluated.
    pub semantics: Vec<SemanticScore>,
    /// LLM variables that were evaluated.
    pub llm: Vec<LlmResult>,
    /// Why the rule failed closed, if it did (the reference's texts).
    pub warnings: Vec<String>,
    /// Every variable's value, with [`ScanOptions::debug`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<VariableValue>>,
}

/// The outcome of a scan.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ScanResult {
    /// Matched rules and rules that failed closed (all rules in debug mode), in rule order.
    pub rules: Vec<RuleResult>,
}

impl ScanResult {
    /// The rules that matched.
    pub fn matched(&self) -> impl Iterator<Item = &RuleResult> {
        self.rules.iter().filter(|r| r.matched)
    }

    /// Names of the rules that matched, in rule order.
    pub fn matched_names(&self) -> Vec<&str> {
        self.matched().map(|r| r.rule.as_str()).collect()
    }

    /// Whether any rule matched.
    pub fn is_match(&self) -> bool {
        self.rules.iter().any(|r| r.matched)
    }
}

/// Scans prompts against a rule set. One per thread; reuse it.
pub struct Scanner<'r> {
    rules: &'r Rules,
    options: ScanOptions,
    semantic: Option<&'r dyn SemanticEvaluator>,
    llm: Option<&'r dyn LlmJudge>,
    hits: KeywordHits,
    state: VarState,
    stack: Vec<Truth>,
    touched: Vec<u64>,
    order: Vec<u32>,
}

impl<'r> Scanner<'r> {
    /// A scanner with default options and no semantic or LLM hooks.
    pub fn new(rules: &'r Rules) -> Scanner<'r> {
        Scanner {
            rules,
            options: ScanOptions::default(),
            semantic: None,
            llm: None,
            hits: KeywordHits::default(),
            state: VarState::default(),
            stack: Vec::new(),
            touched: Vec::new(),
            order: Vec::new(),
        }
    }

    /// Sets the scan options.
    pub fn options(mut self, options: ScanOptions) -> Self {
        self.options = options;
        self
    }

    /// Plugs in the semantic stage.
    pub fn semantic_evaluator(mut self, evaluator: &'r dyn SemanticEvaluator) -> Self {
        self.semantic = Some(evaluator);
        self
    }

    /// Plugs in the LLM stage.
    pub fn llm_judge(mut self, judge: &'r dyn LlmJudge) -> Self {
        self.llm = Some(judge);
        self
    }

    /// Scans one prompt.
    pub fn scan(&mut self, prompt: &str) -> ScanResult {
        if self.options.normalize {
            let normalized = crate::normalize::normalize(prompt);
            self.scan_text(&normalized)
        } else {
            self.scan_text(prompt)
        }
    }

    fn scan_text(&mut self, text: &str) -> ScanResult {
        let rules = self.rules;
        rules.engine.scan(text, &mut self.hits);
        // Which rules to look at: those touched by a hit, and the idle ones.
        let n = rules.rules.len();
        self.touched.clear();
        self.touched.resize(n.div_ceil(64), 0);
        self.order.clear();
        let debug = self.options.debug;
        if debug {
            self.order.extend(0..n as u32);
        } else {
            for p in self.hits.list.iter().chain(&self.hits.pending_list) {
                for &r in &rules.pattern_rules[p.0 as usize] {
                    mark(&mut self.touched, &mut self.order, r);
                }
            }
            for &r in &rules.idle_rules {
                mark(&mut self.touched, &mut self.order, r);
            }
            self.order.sort_unstable();
        }
        let mut result = ScanResult::default();
        let order = std::mem::take(&mut self.order);
        for &r in &order {
            let rule = &rules.rules[r as usize];
            if let Some(rr) = self.evaluate(r as usize, rule, text) {
                result.rules.push(rr);
            }
        }
        self.order = order;
        result
    }

    /// Evaluates one rule; returns a result when it matched, failed closed, or in debug mode.
    fn evaluate(&mut self, index: usize, rule: &CompiledRule, text: &str) -> Option<RuleResult> {
        let nvars = rule.ir.vars.len();
        self.state.reset(nvars);
        let mut pending = false;
        for &(v, p) in &rule.keyword_vars {
            if self.hits.is_match(p) {
                self.state.set(v.index(), Truth::True);
            } else if self.hits.is_pending(p) {
                self.state.set(v.index(), Truth::Unknown);
                pending = true;
            }
        }
        set_all(&mut self.state, &rule.semantic_vars, Truth::Unknown);
        set_all(&mut self.state, &rule.llm_vars, Truth::Unknown);
        let mut verdict = rule.program.eval(&self.state, &mut self.stack);
        if pending && (verdict != Truth::False || self.options.debug) {
            // The verdict (or the report) needs the pending regexes: verify them.
            for &(v, p) in &rule.keyword_vars {
                if self.hits.is_pending(p) {
                    let value = self.rules.engine.resolve(text, p, &mut self.hits);
                    self.state.set(v.index(), Truth::from_bool(value));
                }
            }
            verdict = rule.program.eval(&self.state, &mut self.stack);
        }
        let mut warnings = Vec::new();
        let mut semantics = Vec::new();
        let mut llm = Vec::new();
        let mut evaluated = vec![false; nvars];
        for &(v, _) in &rule.keyword_vars {
            evaluated[v.index()] = true;
        }
        let name = &rule.ir.name;

        if verdict == Truth::Unknown {
            // Semantic stage: run it when the verdict depends on semantic
            // results (LLM results still unknown).
            if stage_matters(
                &rule.program,
                &mut self.state,
                &rule.semantic_vars,
                &mut self.stack,
            ) {
                match self.semantic {
                    None => warnings.push(format!("Rule '{name}' requires semantic evaluation, but no semantic evaluator is available.")),
                    Some(evaluator) => {
                        let phrases: Vec<&str> = rule.semantic_vars.iter().map(|v| pattern_text(rule, *v)).collect();
                        match evaluator.similarities(text, &phrases) {
                            Ok(scores) if scores.len() == phrases.len() => {
                                for (v, score) in rule.semantic_vars.iter().zip(scores) {
                                    let threshold = match rule.ir.vars[v.index()].pattern {
                                        Pattern::Semantic { threshold, .. } => threshold,
                                        _ => 1.0,
                                    };
                                    let matched = !crate::casefold::is_blank(text) && score >= threshold;
                                    self.state.set(v.index(), Truth::from_bool(matched));
                                    evaluated[v.index()] = true;
                                    semantics.push(SemanticScore { var: rule.ir.vars[v.index()].name.clone(), score, matched });
                                }
                            }
                            Ok(_) => warnings.push(format!("Rule '{name}' failed closed because the semantic evaluator returned the wrong number of scores")),
                            Err(e) => {
                                let var = rule.semantic_vars.first().map_or("", |v| rule.ir.vars[v.index()].name.as_str());
                                warnings.push(format!("Rule '{name}' failed closed because semantics.{var} evaluation errored: {e}"));
                            }
                        }
                    }
                }
            } else {
                // Any value gives the same verdict: count them as not matched, like the reference.
                set_all(&mut self.state, &rule.semantic_vars, Truth::False);
            }
            // LLM stage: run it when the verdict still depends on LLM results.
            if warnings.is_empty()
                && stage_matters(
                    &rule.program,
                    &mut self.state,
                    &rule.llm_vars,
                    &mut self.stack,
                )
            {
                match self.llm {
                    None => warnings.push(format!(
                        "Rule '{name}' requires LLM evaluation, but no LLM evaluator is available."
                    )),
                    Some(judge) => {
                        for v in &rule.llm_vars {
                            let var = &rule.ir.vars[v.index()];
                            let Pattern::Llm {
                                text: instruction,
                                temperature,
                            } = &var.pattern
                            else {
                                continue;
                            };
                            match judge.judge(instruction, text, *temperature) {
                                Ok(verdict) => {
                                    self.state.set(v.index(), Truth::from_bool(verdict.matched));
                                    evaluated[v.index()] = true;
                                    llm.push(LlmResult {
                                        var: var.name.clone(),
                                        verdict,
                                    });
                                }
                                Err(e) => {
                                    warnings.push(format!("Rule '{name}' failed closed because llm.{} evaluation errored: {e}", var.name));
                                    break;
                                }
                            }
                        }
                    }
                }
            } else if warnings.is_empty() {
                set_all(&mut self.state, &rule.llm_vars, Truth::False);
            }
            verdict = if warnings.is_empty() {
                rule.program.eval(&self.state, &mut self.stack)
            } else {
                Truth::False
            };
        }

        let matched = verdict == Truth::True;
        if !matched && warnings.is_empty() && !self.options.debug {
            return None;
        }
        let keywords = rule
            .keyword_vars
            .iter()
            .filter_map(|&(v, p)| {
                self.hits.span(p).map(|(start, end)| KeywordMatch {
                    var: rule.ir.vars[v.index()].name.clone(),
                    start,
                    end,
                })
            })
            .collect();
        let variables = self.options.debug.then(|| {
            rule.ir
                .vars
                .iter()
                .enumerate()
                .map(|(i, var)| VariableValue {
                    var: var.name.clone(),
                    section: var.section().name(),
                    value: evaluated[i].then(|| self.state.get(i) == Truth::True),
                })
                .collect()
        });
        Some(RuleResult {
            index,
            rule: name.clone(),
            matched,
            keywords,
            semantics,
            llm,
            warnings,
            variables,
        })
    }
}

/// Whether the verdict depends on the (unknown) values of `vars`, the other
/// unknown variables staying unknown: true when two assignments of `vars`
/// give different results. Exact for up to [`MAX_ENUMERATED`] variables
/// (2^k evaluations of a few-instruction program, done only on the path that
/// is about to call a model anyway); above that, assumed true.
fn stage_matters(
    program: &Program,
    state: &mut VarState,
    vars: &[VarId],
    stack: &mut Vec<Truth>,
) -> bool {
    if vars.is_empty() {
        return false;
    }
    if vars.len() > MAX_ENUMERATED {
        return true;
    }
    let mut first = None;
    let mut matters = false;
    for assignment in 0u32..(1 << vars.len()) {
        for (bit, v) in vars.iter().enumerate() {
            state.set(v.index(), Truth::from_bool(assignment & (1 << bit) != 0));
        }
        let result = program.eval(state, stack);
        match first {
            None => first = Some(result),
            Some(f) if f != result => {
                matters = true;
                break;
            }
            Some(_) => {}
        }
    }
    set_all(state, vars, Truth::Unknown);
    matters
}

/// Up to this many semantic (or LLM) variables, [`stage_matters`] is exact.
const MAX_ENUMERATED: usize = 12;

fn mark(touched: &mut [u64], order: &mut Vec<u32>, r: u32) {
    let (w, b) = (r as usize / 64, 1u64 << (r % 64));
    if touched[w] & b == 0 {
        touched[w] |= b;
        order.push(r);
    }
}

fn set_all(state: &mut VarState, vars: &[VarId], value: Truth) {
    for v in vars {
        state.set(v.index(), value);
    }
}

fn pattern_text(rule: &CompiledRule, v: VarId) -> &str {
    match &rule.ir.vars[v.index()].pattern {
        Pattern::Semantic { text, .. } | Pattern::Llm { text, .. } => text,
        Pattern::Keyword(_) => "",
    }
}
