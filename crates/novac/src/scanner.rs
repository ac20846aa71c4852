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
//!    (the semantic stage lives in [`crate::scanner::semantic`]: an [`Embedder`] with
//!    pattern vectors stored in the rules, or a [`SemanticEvaluator`]; the
//!    LLM stage lives in [`crate::scanner::llm`]: rules that need it are deferred
//!    until every rule has been looked at, then the [`LlmJudge`] is asked
//!    about all their patterns at once, concurrently); without a hook, or
//!    when it fails, the rule *fails closed*: not matched, with the
//!    reference's warning text (see [`crate::LlmFailurePolicy`]).
//!
//! # Decoded views
//!
//! With [`ScanOptions::decode`] set, step 1 also runs over the decoded views
//! of the prompt's encoded runs (base64, base32, hex, `%`-encoding, HTML
//! entities, one nested layer: [`crate::scanner::decode`]). A keyword pattern counts
//! as matched when it matches in the prompt *or* in any view, so conditions
//! see the union: "decode this" in the plain text and "ignore previous
//! instructions" inside a base64 run can both count for one rule. A keyword
//! found only in a view is reported with the encoded run's span in the prompt
//! and [`KeywordMatch::decoded`] set to the view's encoding. Regexes pending
//! in a view are verified there at once (not lazily, as in the prompt). The
//! semantic and LLM stages see the prompt as given, never the views.
//! The cost: finding and decoding the runs is linear in the prompt
//! (O(n + B), B the decoded-byte budget, [`DecodeLimits::max_decoded_bytes`]);
//! each view is then scanned like a prompt, so the keyword stage costs at most
//! what it costs on a prompt of n + B bytes. Off by default: the reference
//! has no such stage. The streaming scanner ([`crate::scanner::stream`]) does not decode.
//!
//! A `Scanner` holds per-thread scratch memory; create one per thread (they
//! are cheap) and reuse it across prompts.

pub mod decode;
pub mod llm;
pub mod normalize;
pub mod profile;
pub mod semantic;
pub mod stream;

use crate::condition::stage::{set_all, stage_matters};
use crate::condition::truth::{Truth, VarState};
use crate::keywords::{KeywordHits, PatternId};
use crate::plugins::{Embedder, LlmFailure, LlmJudge, SemanticEvaluator};
use crate::results::{
    Encoding, KeywordMatch, LlmResult, RuleResult, ScanResult, SemanticScore, VariableValue,
};
use crate::rules::{CompiledRule, RuleId, Rules};
use crate::shared_str::SharedStr;
use decode::{DecodeLimits, DecodedView};
use llm::{Deferred, LlmFailurePolicy, LlmStage};
use semantic::SemanticStage;

/// Options of a scan.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// Normalise the prompt first (NFKC, look-alike letters, zero-width
    /// characters removed), like the reference's `NovaScanner`; off by
    /// default, like its matcher and CLI. Spans then refer to the normalised text.
    pub normalize: bool,
    /// Report every rule with all of its variables, not only matches.
    pub debug: bool,
    /// Largest prompt [`Scanner::try_scan`] accepts, in bytes (`None`: no
    /// limit but the hard 4 GiB one; see [`crate::limits`]). Ignored by
    /// [`Scanner::scan`].
    pub max_prompt_bytes: Option<usize>,
    /// How the LLM stage runs: concurrency, deadline, failure policy.
    pub llm: llm::LlmOptions,
    /// Also match keywords in the decoded views of the prompt's encoded runs
    /// (base64, base32, hex, `%`-encoding, HTML entities, one nested layer),
    /// within these limits; `None` (the default, like the reference): no
    /// decoding. Keywords, not semantics or LLM prompts, see the views; see
    /// the [`crate::Scanner`] docs and [`crate::decode`]. The
    /// streaming scanner ([`crate::StreamScanner`]) ignores this option.
    pub decode: Option<DecodeLimits>,
}

/// Scans prompts against a rule set. One per thread; reuse it.
pub struct Scanner<'r> {
    rules: &'r Rules,
    options: ScanOptions,
    semantic: SemanticStage<'r>,
    llm: LlmStage<'r>,
    hits: KeywordHits,
    state: VarState,
    stack: Vec<Truth>,
    touched: Vec<u64>,
    order: Vec<RuleId>,
    /// Per variable of the rule being evaluated: whether it was evaluated.
    evaluated: Vec<bool>,
    /// Keyword patterns found in decoded views only (empty without decoding).
    decoded: DecodedHits,
    /// Counters and times when profiling ([`crate::scanner::profile`]); `None`: off.
    profile: Option<Box<crate::scanner::profile::ScanProfile>>,
}

/// The keyword patterns of one scan that matched in a decoded view and not
/// in the prompt itself (checked first), with where the run was.
#[derive(Default)]
struct DecodedHits {
    /// Bit per pattern: matched in some view.
    bits: Vec<u64>,
    /// The patterns, in the order found, with the run's span and encoding.
    list: Vec<(PatternId, usize, usize, Encoding)>,
    /// Pattern index -> position in `list`.
    at: std::collections::HashMap<PatternId, usize>,
    /// Scratch for scanning one view.
    hits: KeywordHits,
}

impl DecodedHits {
    fn clear(&mut self) {
        if !self.list.is_empty() {
            self.bits.iter_mut().for_each(|w| *w = 0);
            self.list.clear();
            self.at.clear();
        }
    }

    fn contains(&self, p: PatternId) -> bool {
        let i = p.index();
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn insert(&mut self, p: PatternId, span: &std::ops::Range<usize>, encoding: Encoding) {
        let i = p.index();
        if self.bits.len() <= i / 64 {
            self.bits.resize(i / 64 + 1, 0);
        }
        if let Some(w) = self.bits.get_mut(i / 64) {
            if *w & (1 << (i % 64)) == 0 {
                *w |= 1 << (i % 64);
                self.at.insert(p, self.list.len());
                self.list.push((p, span.start, span.end, encoding));
            }
        }
    }

    fn span(&self, p: PatternId) -> Option<(usize, usize, Encoding)> {
        let &i = self.at.get(&p)?;
        self.list.get(i).map(|&(_, s, e, enc)| (s, e, enc))
    }
}

impl<'r> Scanner<'r> {
    /// A scanner with default options and no semantic or LLM hooks.
    pub fn new(rules: &'r Rules) -> Scanner<'r> {
        Scanner {
            rules,
            options: ScanOptions::default(),
            semantic: SemanticStage::default(),
            llm: LlmStage::default(),
            hits: KeywordHits::default(),
            state: VarState::default(),
            stack: Vec::new(),
            touched: Vec::new(),
            order: Vec::new(),
            evaluated: Vec::new(),
            decoded: DecodedHits::default(),
            profile: None,
        }
    }

    /// Turns profiling on or off (off by default): the scanner then counts
    /// and times each step of its scans, per rule and per keyword pattern
    /// (see [`crate::scanner::profile`] for what and at what cost).
    pub fn profile(mut self, on: bool) -> Self {
        self.profile =
            on.then(|| Box::new(crate::scanner::profile::ScanProfile::for_rules(self.rules)));
        self.hits.atom_counts = on.then(Box::default);
        self
    }

    /// The profile gathered since profiling was turned on or last taken
    /// (the scanner goes on with an empty one); `None` when profiling is off.
    pub fn take_profile(&mut self) -> Option<crate::scanner::profile::ScanProfile> {
        let fresh = crate::scanner::profile::ScanProfile::for_rules(self.rules);
        let mut profile = *std::mem::replace(self.profile.as_mut()?, Box::new(fresh));
        if let Some(counts) = self.hits.atom_counts.as_mut() {
            profile.atoms = std::mem::take(counts);
        }
        Some(profile)
    }

    /// Sets the scan options.
    pub fn options(mut self, options: ScanOptions) -> Self {
        self.options = options;
        self
    }

    /// Plugs in a similarity hook for the semantic stage (takes precedence
    /// over embeddings).
    pub fn semantic_evaluator(mut self, evaluator: &'r dyn SemanticEvaluator) -> Self {
        self.semantic.evaluator = Some(evaluator);
        self
    }

    /// Embeds prompts with `embedder` instead of the rules' own (see
    /// [`crate::Compiler::embedder`]). Pattern vectors stored in the rules are
    /// used when they come from the same model; otherwise this scanner embeds
    /// the phrases it needs once and keeps them.
    pub fn embedder(mut self, embedder: &'r dyn Embedder) -> Self {
        self.semantic.embedder = Some(embedder);
        self
    }

    /// Plugs in the LLM stage.
    pub fn llm_judge(mut self, judge: &'r dyn LlmJudge) -> Self {
        self.llm.judge = Some(judge);
        self
    }

    /// The LLM call that failed the last scan under
    /// [`LlmFailurePolicy::Error`] (what [`Scanner::try_scan`] returned as an
    /// error; [`Scanner::scan`] reports the rule as not matched).
    pub fn last_llm_failure(&self) -> Option<&LlmFailure> {
        self.llm.failure.as_ref()
    }

    /// Turns an LLM failure of the last scan into an error, under [`LlmFailurePolicy::Error`].
    fn llm_outcome(&mut self, result: ScanResult) -> Result<ScanResult, crate::limits::ScanError> {
        match self.llm.failure.clone() {
            Some(f) if self.options.llm.on_error == LlmFailurePolicy::Error => {
                Err(crate::limits::ScanError::Llm(f))
            }
            _ => Ok(result),
        }
    }

    /// Scans one prompt, refusing it when it is larger than
    /// [`ScanOptions::max_prompt_bytes`] (or 4 GiB, the hard limit of spans).
    ///
    /// ```
    /// let rules = novac::Compiler::new()
    ///     .add_source("rule A {\n keywords:\n  $a = \"x\"\n condition:\n  $a\n}")?
    ///     .build()?;
    /// let options = novac::ScanOptions { max_prompt_bytes: Some(4), ..Default::default() };
    /// let mut scanner = novac::Scanner::new(&rules).options(options);
    /// assert!(scanner.try_scan("x").is_ok());
    /// assert!(matches!(scanner.try_scan("xxxxx"), Err(novac::ScanError::PromptTooLarge { bytes: 5, limit: 4 })));
    /// # Ok::<(), novac::CompileError>(())
    /// ```
    pub fn try_scan(&mut self, prompt: &str) -> Result<ScanResult, crate::limits::ScanError> {
        let limit = crate::limits::prompt_limit(self.options.max_prompt_bytes);
        crate::limits::check_prompt(prompt.len(), limit)?;
        if self.options.normalize {
            let normalized = normalize::normalize(prompt);
            // Normalisation can lengthen the text; spans must stay 32-bit.
            crate::limits::check_prompt(normalized.len(), crate::limits::prompt_limit(None))?;
            let result = self.scan_text(&normalized);
            self.llm_outcome(result)
        } else {
            let result = self.scan_text(prompt);
            self.llm_outcome(result)
        }
    }

    /// Scans one prompt, whatever its size (see [`Scanner::try_scan`] for
    /// a scan that enforces [`ScanOptions::max_prompt_bytes`]).
    pub fn scan(&mut self, prompt: &str) -> ScanResult {
        if self.options.normalize {
            let normalized = normalize::normalize(prompt);
            self.scan_text(&normalized)
        } else {
            self.scan_text(prompt)
        }
    }

    /// Scans prompts in order, embedding the prompts that need the semantic
    /// stage in one batch; the same results as [`Scanner::scan`] on each.
    pub fn scan_batch<S: AsRef<str>>(&mut self, prompts: &[S]) -> Vec<ScanResult> {
        let texts: Vec<std::borrow::Cow<'_, str>> = prompts
            .iter()
            .map(|p| {
                if self.options.normalize {
                    normalize::normalize(p.as_ref())
                } else {
                    std::borrow::Cow::Borrowed(p.as_ref())
                }
            })
            .collect();
        semantic::scan_batch(self, &texts)
    }

    /// [`Scanner::scan_batch`] with the prompt-size limit of
    /// [`ScanOptions`] checked first; the error names the refused prompt's index.
    pub fn try_scan_batch<S: AsRef<str>>(
        &mut self,
        prompts: &[S],
    ) -> Result<Vec<ScanResult>, (usize, crate::limits::ScanError)> {
        let limit = crate::limits::prompt_limit(self.options.max_prompt_bytes);
        for (i, p) in prompts.iter().enumerate() {
            crate::limits::check_prompt(p.as_ref().len(), limit).map_err(|e| (i, e))?;
        }
        Ok(self.scan_batch(prompts))
    }

    pub(crate) fn semantic_stage(&mut self) -> &mut SemanticStage<'r> {
        &mut self.semantic
    }

    pub(crate) fn rules(&self) -> &'r Rules {
        self.rules
    }

    pub(crate) fn scan_text(&mut self, text: &str) -> ScanResult {
        self.semantic.start_scan();
        self.scan_prepared(text)
    }

    /// Scans `text` keeping the semantic stage's prompt state (batches preload it).
    pub(crate) fn scan_prepared(&mut self, text: &str) -> ScanResult {
        let rules = self.rules;
        self.llm.start_scan();
        let clock = self.profile.is_some().then(std::time::Instant::now);
        rules.engine.scan(text, &mut self.hits);
        if let (Some(p), Some(start)) = (self.profile.as_deref_mut(), clock) {
            p.prompts += 1;
            p.keyword_pass += start.elapsed();
            for &q in self.hits.pending_list.iter().chain(&self.hits.list) {
                if let Some(c) = p.pattern(q.index()) {
                    c.triggered += 1;
                }
            }
        }
        let clock = self.profile.is_some().then(std::time::Instant::now);
        self.scan_views(text);
        if let (Some(p), Some(start)) = (self.profile.as_deref_mut(), clock) {
            p.decode += start.elapsed();
        }
        // Which rules to look at: those touched by a hit, and the idle ones.
        let n = rules.rules.len();
        self.touched.clear();
        self.touched.resize(n.div_ceil(64), 0);
        self.order.clear();
        let debug = self.options.debug;
        if debug {
            self.order.extend((0..n).map(RuleId::new));
        } else {
            for p in self.hits.list.iter().chain(&self.hits.pending_list) {
                for &r in rules.pattern_rules.get(p.index()).into_iter().flatten() {
                    mark(&mut self.touched, &mut self.order, r);
                }
            }
            for &(p, ..) in &self.decoded.list {
                for &r in rules.pattern_rules.get(p.index()).into_iter().flatten() {
                    mark(&mut self.touched, &mut self.order, r);
                }
            }
            for &r in &rules.idle_rules {
                mark(&mut self.touched, &mut self.order, r);
            }
            self.order.sort_unstable();
        }
        let order = std::mem::take(&mut self.order);
        // Room for the results up front: rules that fail closed report on
        // every scan, and growing the vector one push at a time reallocates.
        let mut result = ScanResult {
            rules: Vec::with_capacity(order.len().min(256)),
        };
        for &r in &order {
            let Some(rule) = rules.rules.get(r.index()) else {
                continue;
            };
            let clock = self.profile.is_some().then(std::time::Instant::now);
            let rr = self.evaluate(r.index(), rule, text);
            if let (Some(p), Some(start)) = (self.profile.as_deref_mut(), clock) {
                if let Some(c) = p.rule(r.index()) {
                    c.evaluations += 1;
                    // With the semantic stage's share, also added to `semantics` inside.
                    c.evaluate += start.elapsed();
                }
            }
            if let Some(rr) = rr {
                result.rules.push(rr);
            }
        }
        self.order = order;
        if !self.llm.deferred.is_empty() && !self.semantic.deferred {
            self.finish_llm(text, &mut result);
        }
        result
    }

    /// With [`ScanOptions::decode`]: finds the decoded views of `text` and
    /// records the patterns that match in a view but not in `text` (pending
    /// regexes of a view are verified at once). Without it, or on a blank
    /// prompt, leaves no decoded hits.
    fn scan_views(&mut self, text: &str) {
        self.decoded.clear();
        let Some(limits) = self.options.decode else {
            return;
        };
        if crate::keywords::casefold::is_blank(text) {
            return;
        }
        let engine = &self.rules.engine;
        let views: Vec<DecodedView> = decode::decoded_views(text, &limits);
        let d = &mut self.decoded;
        for view in &views {
            engine.scan(&view.text, &mut d.hits);
            for i in 0..d.hits.list.len() {
                let Some(&p) = d.hits.list.get(i) else { break };
                if !self.hits.is_match(p) {
                    d.insert(p, &view.span, view.encoding);
                }
            }
            for i in 0..d.hits.pending_list.len() {
                let Some(&p) = d.hits.pending_list.get(i) else {
                    break;
                };
                if self.hits.is_match(p) || d.contains(p) {
                    continue;
                }
                if engine.resolve(&view.text, p, &mut d.hits) {
                    d.insert(p, &view.span, view.encoding);
                }
            }
        }
    }

    /// Runs the LLM stage for the rules deferred during this scan and adds
    /// their results, in rule order.
    fn finish_llm(&mut self, text: &str, result: &mut ScanResult) {
        let rules = self.rules;
        let clock = self.profile.is_some().then(std::time::Instant::now);
        let answers = self.llm.run(&rules.rules, text, &self.options.llm);
        let deferred = std::mem::take(&mut self.llm.deferred);
        if let (Some(p), Some(start)) = (self.profile.as_deref_mut(), clock) {
            let round = start.elapsed();
            p.llm_rounds += round;
            let share = round / u32::try_from(deferred.len()).unwrap_or(u32::MAX).max(1);
            for d in &deferred {
                if let Some(c) = p.rule(d.index) {
                    c.llm_deferred += 1;
                    c.llm += share;
                }
            }
        }
        for d in deferred {
            let Some(rule) = rules.rules.get(d.index) else {
                continue;
            };
            self.state = d.state;
            let mut evaluated = d.evaluated;
            let outcome = self.llm.finish_rule(
                rule,
                &answers,
                &self.options.llm,
                &mut self.state,
                &mut evaluated,
                &mut self.stack,
            );
            if let Some(rr) = self.report(
                d.index,
                rule,
                true,
                outcome.matched,
                &evaluated,
                d.semantics,
                outcome.llm,
                outcome.warnings,
            ) {
                result.rules.push(rr);
            }
        }
        result.rules.sort_unstable_by_key(|r| r.index);
    }

    /// Evaluates one rule; returns a result when it matched, failed closed, or in debug mode.
    fn evaluate(&mut self, index: usize, rule: &CompiledRule, text: &str) -> Option<RuleResult> {
        let nvars = rule.ir.vars.len();
        self.state.reset(nvars);
        let mut pending = false;
        let mut touched = false;
        for &(v, p) in &rule.keyword_vars {
            if self.hits.is_match(p) || self.decoded.contains(p) {
                self.state.set(v.index(), Truth::True);
                touched = true;
            } else if self.hits.is_pending(p) {
                self.state.set(v.index(), Truth::Unknown);
                pending = true;
                touched = true;
            }
        }
        set_all(&mut self.state, &rule.semantic_vars, Truth::Unknown);
        set_all(&mut self.state, &rule.llm_vars, Truth::Unknown);
        // Untouched by keywords, the rule is in its idle state, whose verdict
        // (and whether semantics can change it) was found at build time.
        let mut verdict = if touched {
            rule.program.eval(&self.state, &mut self.stack)
        } else {
            rule.idle
        };
        if pending && (verdict != Truth::False || self.options.debug) {
            // The verdict (or the report) needs the pending regexes: verify
            // them one at a time, and stop once the rule is false (a matched
            // rule reports all of its keywords, so it resolves them all).
            for &(v, p) in &rule.keyword_vars {
                if self.hits.is_pending(p) {
                    let clock = self.profile.is_some().then(std::time::Instant::now);
                    let found = self.rules.engine.resolve(text, p, &mut self.hits);
                    if let (Some(prof), Some(start)) = (self.profile.as_deref_mut(), clock) {
                        if let Some(c) = prof.pattern(p.index()) {
                            c.verified += 1;
                            c.matched += u64::from(found);
                            c.verify += start.elapsed();
                        }
                    }
                    let value = found || self.decoded.contains(p);
                    self.state.set(v.index(), Truth::from_bool(value));
                    // A decided verdict stays decided (Kleene logic): run the
                    // program again only while it is unknown.
                    if verdict == Truth::Unknown {
                        verdict = rule.program.eval(&self.state, &mut self.stack);
                    }
                    if verdict == Truth::False && !self.options.debug {
                        break;
                    }
                }
            }
        }
        if verdict == Truth::False && !self.options.debug {
            // Not matched and nothing left to run: no result (the common case).
            return None;
        }
        let mut warnings = Vec::new();
        let mut semantics = Vec::new();
        // Scratch, handed back below (a deferred rule keeps it).
        let mut evaluated = std::mem::take(&mut self.evaluated);
        evaluated.clear();
        evaluated.resize(nvars, false);
        for &(v, _) in &rule.keyword_vars {
            if let Some(e) = evaluated.get_mut(v.index()) {
                *e = true;
            }
        }

        if verdict == Truth::Unknown {
            // Semantic stage: run it when the verdict depends on semantic
            // results (LLM results still unknown).
            let semantics_matter = if touched {
                stage_matters(
                    &rule.program,
                    &mut self.state,
                    &rule.semantic_vars,
                    rule.semantic_signs.as_deref(),
                    &mut self.stack,
                )
            } else {
                rule.idle_semantics_matter
            };
            if semantics_matter {
                let clock = self.profile.is_some().then(std::time::Instant::now);
                let ok = self.semantic.evaluate(
                    &self.rules.semantic,
                    rule,
                    text,
                    &mut self.state,
                    &mut evaluated,
                    &mut semantics,
                    &mut warnings,
                );
                if let (Some(p), Some(start)) = (self.profile.as_deref_mut(), clock) {
                    if let Some(c) = p.rule(index) {
                        let spent = start.elapsed();
                        c.semantic_runs += 1;
                        c.semantics += spent;
                    }
                }
                if !ok && self.semantic.deferred {
                    // Batch pass 1: this prompt is evaluated again once embedded.
                    self.evaluated = evaluated;
                    return None;
                }
            } else {
                // Any value gives the same verdict: count them as not matched, like the reference.
                set_all(&mut self.state, &rule.semantic_vars, Truth::False);
            }
            // LLM stage: when the verdict still depends on LLM results, the
            // rule waits for the scan's concurrent LLM calls (crate::scanner::llm);
            // with no judge it fails closed here, without waiting.
            let llm_matters = warnings.is_empty()
                && stage_matters(
                    &rule.program,
                    &mut self.state,
                    &rule.llm_vars,
                    rule.llm_signs.as_deref(),
                    &mut self.stack,
                );
            if llm_matters && self.llm.judge.is_none() {
                warnings.push(rule.no_llm_warning.clone());
            } else if llm_matters {
                self.llm.defer(Deferred {
                    index,
                    state: self.state.clone(),
                    evaluated,
                    semantics,
                });
                return None;
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
        let result = self.report(
            index,
            rule,
            touched,
            matched,
            &evaluated,
            semantics,
            Vec::new(),
            warnings,
        );
        self.evaluated = evaluated;
        result
    }

    /// The result of a finished rule: `None` when it did not match, has no
    /// warning and the scan is not in debug mode.
    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        index: usize,
        rule: &CompiledRule,
        keyword_hits: bool,
        matched: bool,
        evaluated: &[bool],
        semantics: Vec<SemanticScore>,
        llm: Vec<LlmResult>,
        warnings: Vec<SharedStr>,
    ) -> Option<RuleResult> {
        if !matched && warnings.is_empty() && !self.options.debug {
            return None;
        }
        // `keyword_hits`: false when no keyword of the rule matched (most
        // fail-closed reports), so there are no spans to look up.
        let keywords = match keyword_hits {
            false => Vec::new(),
            true => rule
                .keyword_vars
                .iter()
                .filter_map(|&(v, p)| {
                    let (start, end, decoded) = match self.hits.span(p) {
                        Some((start, end)) => (start, end, None),
                        None => {
                            let (start, end, enc) = self.decoded.span(p)?;
                            (start, end, Some(enc))
                        }
                    };
                    Some(KeywordMatch {
                        var: rule.var_name(v),
                        start,
                        end,
                        decoded,
                    })
                })
                .collect(),
        };
        let variables = self.options.debug.then(|| {
            rule.ir
                .vars
                .iter()
                .enumerate()
                .zip(&rule.var_names)
                .map(|((i, var), name)| VariableValue {
                    var: name.clone(),
                    section: var.section().name(),
                    value: evaluated
                        .get(i)
                        .is_some_and(|e| *e)
                        .then(|| self.state.get(i) == Truth::True),
                })
                .collect()
        });
        Some(RuleResult {
            index,
            rule: rule.name.clone(),
            matched,
            keywords,
            semantics,
            llm,
            warnings,
            variables,
        })
    }
}

fn mark(touched: &mut [u64], order: &mut Vec<RuleId>, r: RuleId) {
    let (w, b) = (r.index() / 64, 1u64 << (r.index() % 64));
    if let Some(word) = touched.get_mut(w) {
        if *word & b == 0 {
            *word |= b;
            order.push(r);
        }
    }
}
