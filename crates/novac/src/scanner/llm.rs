//! The LLM stage of a scan: asking a language model whether the prompt fits
//! each `llm:` pattern of the rules whose verdict is still unknown.
//!
//! # Data flow
//!
//! 1. While [`crate::Scanner`] evaluates the rules of one prompt, a rule
//!    whose verdict still depends on its LLM variables (after keywords and
//!    semantics; the three-valued `stage_matters` check) is not finished on
//!    the spot: its variable state is *deferred* here ([`LlmStage::defer`]).
//! 2. Once every rule has been looked at, [`LlmStage::run`] gathers the
//!    distinct `(pattern, temperature)` pairs the deferred rules need and asks
//!    the [`LlmJudge`] about them, up to [`LlmOptions::concurrency`] at a time
//!    (scoped threads, no async runtime), before [`LlmOptions::deadline`].
//! 3. Each deferred rule then gets its LLM values and its final verdict; a
//!    failed call is handled by [`LlmOptions::on_error`]
//!    ([`LlmFailurePolicy`]): by default the reference's behaviour, *not
//!    matched* with a warning naming the rule, the variable and the cause.
//!
//! The judge itself (HTTP providers, retries, cache) lives outside the
//! library, in the `novac-llm` crate, or in the embedder's own code.

pub use crate::plugins::{LlmError, LlmFailure, LlmJudge, LlmRequest, LlmVerdict};

use crate::condition::truth::{Truth, VarState};
use crate::ir::{Pattern, VarId};
use crate::results::SemanticScore;
use crate::rules::CompiledRule;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a rule's verdict is when an LLM call it needs fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LlmFailurePolicy {
    /// The reference's behaviour: the rule is not matched, with the warning
    /// `Rule 'X' failed closed because llm.$v evaluation errored: <cause>`.
    #[default]
    NotMatched,
    /// The rule is reported as matched (with a warning): a gateway blocks
    /// what it could not judge.
    Matched,
    /// The scan fails: [`crate::Scanner::try_scan`] returns
    /// [`crate::ScanError::Llm`]. [`crate::Scanner::scan`], which cannot
    /// fail, reports the rule as not matched with the warning, and
    /// [`crate::Scanner::last_llm_failure`] tells what failed.
    Error,
}

/// How the LLM stage runs ([`crate::ScanOptions::llm`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LlmOptions {
    /// What a failed LLM call makes of the rule.
    pub on_error: LlmFailurePolicy,
    /// Most LLM calls one scan makes at the same time (at least 1).
    pub concurrency: usize,
    /// Time budget of the LLM stage of one scan; calls not finished by then
    /// fail with [`LlmError::DeadlineExceeded`] (`None`: only the judge's
    /// per-call timeouts apply).
    pub deadline: Option<Duration>,
}

impl Default for LlmOptions {
    fn default() -> Self {
        LlmOptions {
            on_error: LlmFailurePolicy::NotMatched,
            concurrency: DEFAULT_CONCURRENCY,
            deadline: None,
        }
    }
}

/// Default of [`LlmOptions::concurrency`].
pub const DEFAULT_CONCURRENCY: usize = 8;

/// A rule waiting for LLM answers.
pub(crate) struct Deferred {
    /// Index of the rule in the rule set.
    pub index: usize,
    /// Its variable state after keywords and semantics (LLM variables unknown).
    pub state: VarState,
    /// Which variables were evaluated (debug output).
    pub evaluated: Vec<bool>,
    /// Its semantic scores.
    pub semantics: Vec<SemanticScore>,
}

/// The LLM stage of one [`crate::Scanner`].
#[derive(Default)]
pub(crate) struct LlmStage<'r> {
    pub judge: Option<&'r dyn LlmJudge>,
    pub deferred: Vec<Deferred>,
    /// The first failure of the last scan (for [`LlmFailurePolicy::Error`]).
    pub failure: Option<LlmFailure>,
}

/// The answers for the deferred rules of one scan, by `(rule, variable)`.
pub(crate) struct Answers {
    jobs: Vec<(String, u32)>,
    results: Vec<Result<LlmVerdict, LlmError>>,
}

impl Answers {
    /// The answer for `var` of `rule`, if it was asked.
    fn get(&self, rule: &CompiledRule, var: VarId) -> Option<&Result<LlmVerdict, LlmError>> {
        let (instruction, temperature) = llm_pattern(rule, var)?;
        let key = (instruction.to_string(), temperature.to_bits());
        let i = self.jobs.iter().position(|j| *j == key)?;
        self.results.get(i)
    }
}

impl<'r> LlmStage<'r> {
    /// Starts a scan.
    pub fn start_scan(&mut self) {
        self.deferred.clear();
        self.failure = None;
    }

    /// Keeps a rule for [`LlmStage::run`]. Only with a judge: without one,
    /// the scanner fails the rule closed instead of deferring it.
    pub fn defer(&mut self, deferred: Deferred) {
        self.deferred.push(deferred);
    }

    /// Asks the judge everything the deferred rules need.
    pub fn run(&self, rules: &[CompiledRule], text: &str, options: &LlmOptions) -> Answers {
        let mut jobs: Vec<(String, u32)> = Vec::new();
        for d in &self.deferred {
            let Some(rule) = rules.get(d.index) else {
                continue;
            };
            for &v in &rule.llm_vars {
                if let Some((instruction, temperature)) = llm_pattern(rule, v) {
                    let key = (instruction.to_string(), temperature.to_bits());
                    if !jobs.contains(&key) {
                        jobs.push(key);
                    }
                }
            }
        }
        let results = match self.judge {
            Some(judge) => judge_all(judge, &jobs, text, options),
            None => Vec::new(),
        };
        Answers { jobs, results }
    }
}

/// The pattern text and temperature of LLM variable `v`.
fn llm_pattern(rule: &CompiledRule, v: VarId) -> Option<(&str, f32)> {
    match &rule.ir.vars.get(v.index())?.pattern {
        Pattern::Llm { text, temperature } => Some((text.as_str(), *temperature)),
        _ => None,
    }
}

/// Calls the judge for every job, `options.concurrency` at a time.
fn judge_all(
    judge: &dyn LlmJudge,
    jobs: &[(String, u32)],
    text: &str,
    options: &LlmOptions,
) -> Vec<Result<LlmVerdict, LlmError>> {
    let deadline = options.deadline.map(|d| Instant::now() + d);
    let call = |job: &(String, u32)| -> Result<LlmVerdict, LlmError> {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(LlmError::DeadlineExceeded);
        }
        judge.judge(&LlmRequest {
            instruction: &job.0,
            text,
            temperature: f32::from_bits(job.1),
            deadline,
        })
    };
    let workers = options.concurrency.max(1).min(jobs.len());
    if workers <= 1 {
        return jobs.iter().map(call).collect();
    }
    let slots: Vec<Mutex<Option<Result<LlmVerdict, LlmError>>>> =
        jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                let result = call(job);
                if let Some(Ok(mut slot)) = slots.get(i).map(Mutex::lock) {
                    *slot = Some(result);
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(LlmError::Other("the LLM call did not finish".into())))
        })
        .collect()
}

/// The outcome of the LLM stage for one deferred rule.
pub(crate) struct RuleOutcome {
    pub matched: bool,
    pub llm: Vec<crate::results::LlmResult>,
    pub warnings: Vec<crate::shared_str::SharedStr>,
}

impl LlmStage<'_> {
    /// Finishes a deferred rule with the answers: sets its LLM variables in
    /// `state` and computes its verdict; keeps the first failure under
    /// [`LlmFailurePolicy::Error`].
    pub(crate) fn finish_rule(
        &mut self,
        rule: &CompiledRule,
        answers: &Answers,
        options: &LlmOptions,
        state: &mut VarState,
        evaluated: &mut [bool],
        stack: &mut Vec<Truth>,
    ) -> RuleOutcome {
        let failure = &mut self.failure;
        let name = &rule.ir.name;
        let mut llm = Vec::new();
        let mut warnings = Vec::new();
        let mut error = None;
        for &v in &rule.llm_vars {
            let var = rule.var(v).map_or("", |var| var.name.as_str());
            match answers.get(rule, v) {
                Some(Ok(verdict)) => {
                    state.set(v.index(), Truth::from_bool(verdict.matched));
                    if let Some(e) = evaluated.get_mut(v.index()) {
                        *e = true;
                    }
                    llm.push(crate::results::LlmResult {
                        var: rule.var_name(v),
                        verdict: verdict.clone(),
                    });
                }
                Some(Err(e)) => {
                    error.get_or_insert((var.to_string(), e.clone()));
                }
                None => {
                    error.get_or_insert((var.to_string(), LlmError::Other("not evaluated".into())));
                }
            }
        }
        let Some((var, e)) = error else {
            let matched = rule.program.eval(state, stack) == Truth::True;
            return RuleOutcome {
                matched,
                llm,
                warnings,
            };
        };
        let matched = match options.on_error {
            LlmFailurePolicy::Matched => {
                let text = crate::warnings::llm_reported_matched(name, &var, &e);
                warnings.push(text.into());
                true
            }
            LlmFailurePolicy::NotMatched | LlmFailurePolicy::Error => {
                let text = crate::warnings::llm_failed_closed(name, &var, &e);
                warnings.push(text.into());
                false
            }
        };
        if options.on_error == LlmFailurePolicy::Error && failure.is_none() {
            *failure = Some(LlmFailure {
                rule: name.clone(),
                var,
                error: e,
            });
        }
        RuleOutcome {
            matched,
            llm,
            warnings,
        }
    }
}

#[cfg(test)]
mod tests;
