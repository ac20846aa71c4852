//! Building the engine: patterns into tiers and atom tables, the two
//! literal automata, and every verifier compiled ahead on a few threads
//! (the cost of `Compiler::build` and of loading a bundle; no scan pays it).

use super::*;

impl LiteralMatcher {
    /// Calls `found(literal, start, end)` once for each literal that
    /// occurs, at its first occurrence, in order of `end`.
    #[inline]
    pub(super) fn for_each_match(
        &self,
        haystack: &str,
        scratch: &mut DfaScratch,
        mut found: impl FnMut(usize, usize, usize),
    ) {
        match self {
            LiteralMatcher::Dfa(dfa) => {
                dfa.for_each_first_match(haystack.as_bytes(), scratch, found)
            }
            LiteralMatcher::Nfa(nfa) => {
                // A bit per pattern, to report first occurrences only.
                let seen = &mut scratch.seen;
                seen.reset(nfa.patterns_len());
                for m in nfa.find_overlapping_iter(haystack) {
                    if seen.mark(m.pattern().as_usize()) {
                        found(m.pattern().as_usize(), m.start(), m.end());
                    }
                }
            }
        }
    }

    pub(super) fn memory_usage(&self) -> usize {
        match self {
            LiteralMatcher::Dfa(dfa) => dfa.memory_usage(),
            LiteralMatcher::Nfa(nfa) => nfa.memory_usage(),
        }
    }
}

pub(super) fn automaton(
    patterns: &[Vec<u8>],
    ascii_ci: bool,
    limits: &crate::limits::CompileLimits,
) -> Result<Option<LiteralMatcher>, crate::engine_error::EngineError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let total: usize = patterns.iter().map(Vec::len).sum();
    // A DFA is fastest (one table lookup per byte). Only one over its memory
    // budget falls back to the contiguous NFA, then to the noncontiguous one
    // (see `crate::limits`); `dfa_max_pattern_bytes` is unlimited by default.
    if total <= limits.dfa_max_pattern_bytes {
        if let Ok(dfa) = LiteralDfa::build(patterns, ascii_ci, limits.max_dfa_bytes) {
            return Ok(Some(LiteralMatcher::Dfa(Box::new(dfa))));
        }
    }
    let build = |kind| {
        AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(ascii_ci)
            .kind(Some(kind))
            .build(patterns)
            .map_err(|source| crate::engine_error::EngineError::Automaton { source })
    };
    build(AhoCorasickKind::ContiguousNFA)
        .or_else(|_| build(AhoCorasickKind::NoncontiguousNFA))
        .map(|nfa| Some(LiteralMatcher::Nfa(nfa)))
}

/// Most threads [`KeywordEngine::compile_verifiers`] uses.
const COMPILE_THREADS: usize = 4;
/// Regexes a compile thread takes at a time.
const COMPILE_CHUNK: usize = 16;

impl KeywordEngine {
    /// Builds the engine from a pattern table and the plans of its regexes
    /// (for a compiled bundle: `plans` holds the stored plans, so no atom
    /// analysis runs at load), compiling verifiers as `mode` says.
    pub(crate) fn build_with(
        table: PatternTable,
        plans: &mut PlanCache,
        limits: &crate::limits::CompileLimits,
        mode: Verifiers,
    ) -> Result<KeywordEngine, crate::engine_error::EngineError> {
        let patterns = table.patterns;
        let mut tiering = Tiering::new(patterns.len());
        for (i, pattern) in patterns.iter().enumerate() {
            let id = PatternId::new(i);
            match pattern {
                KeywordPattern::Literal { text, .. } if text.is_empty() => tiering.add_empty(id),
                KeywordPattern::Literal {
                    text,
                    case_sensitive,
                } => tiering.add_literal(id, text, *case_sensitive),
                KeywordPattern::Regex {
                    rust,
                    case_insensitive,
                    ..
                } => tiering.add_regex(id, rust, *case_insensitive, plans, limits)?,
            }
        }
        let engine = tiering.finish(patterns, limits)?;
        if mode == Verifiers::Eager {
            engine.compile_verifiers()?;
        }
        Ok(engine)
    }

    /// Compiles everything a scan would otherwise build on first use: every
    /// regex verifier with its relaxed form and match shape, the character
    /// prefilter and the regex set of the atomless regexes. Returns the
    /// first error, naming its regex.
    ///
    /// Regexes compile on up to [`COMPILE_THREADS`] threads (they are
    /// independent; at 5,000 generated rules this is most of the build).
    pub(crate) fn compile_verifiers(&self) -> Result<(), crate::engine_error::EngineError> {
        let regexes: Vec<&crate::keywords::keyword_regex::LazyVerifier> =
            self.verifiers.iter().flatten().collect();
        let compile_one = |v: &&crate::keywords::keyword_regex::LazyVerifier| v.compile_all();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(COMPILE_THREADS)
            .min(regexes.len() / COMPILE_CHUNK + 1);
        let first_error = if threads <= 1 {
            regexes.iter().try_for_each(compile_one).err()
        } else {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let worker = || -> Result<(), crate::engine_error::EngineError> {
                loop {
                    let from = next.fetch_add(COMPILE_CHUNK, std::sync::atomic::Ordering::Relaxed);
                    let Some(chunk) = regexes.get(from..(from + COMPILE_CHUNK).min(regexes.len()))
                    else {
                        return Ok(());
                    };
                    if chunk.is_empty() {
                        return Ok(());
                    }
                    chunk.iter().try_for_each(compile_one)?;
                }
            };
            std::thread::scope(|scope| {
                let handles: Vec<_> = (1..threads).map(|_| scope.spawn(worker)).collect();
                let mut first = worker().err();
                for h in handles {
                    // A worker cannot panic (compile errors are values); if
                    // one did, its regexes would compile on first use.
                    if let Ok(Err(e)) = h.join() {
                        first.get_or_insert(e);
                    }
                }
                first
            })
        };
        if let Some(e) = first_error {
            return Err(e);
        }
        if !self.slow.is_empty() {
            self.slow_chars();
            self.slow_set();
        }
        Ok(())
    }

    /// Every regex pattern with its plan (what a bundle stores, so that
    /// loading it needs no atom analysis).
    pub(crate) fn regex_plans(&self) -> impl Iterator<Item = (&str, bool, &RegexPlan)> {
        self.patterns
            .iter()
            .filter_map(|p| match p {
                KeywordPattern::Regex {
                    rust,
                    case_insensitive,
                    ..
                } => Some((rust.as_str(), *case_insensitive)),
                KeywordPattern::Literal { .. } => None,
            })
            .zip(&self.plans)
            .map(|((rust, ci), plan)| (rust, ci, plan))
    }

    /// Number of distinct patterns.
    pub(crate) fn len(&self) -> usize {
        self.patterns.len()
    }

    /// The tier of each pattern, in id order.
    pub(crate) fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    /// Approximate heap bytes used by the automata.
    pub(crate) fn memory_usage(&self) -> usize {
        self.folded.as_ref().map_or(0, LiteralMatcher::memory_usage)
            + self.exact.as_ref().map_or(0, LiteralMatcher::memory_usage)
    }

    /// Heap bytes of the compiled regex verifiers and the atomless regexes' set.
    pub(crate) fn regex_memory_usage(&self) -> usize {
        self.verifiers
            .iter()
            .flatten()
            .map(crate::keywords::keyword_regex::LazyVerifier::memory_usage)
            .sum::<usize>()
            + self
                .slow_set
                .get()
                .and_then(Option::as_ref)
                .map_or(0, |r| r.memory_usage())
    }
}

/// The engine's tables while patterns are placed in their tiers
/// ([`KeywordEngine::build_with`]), one pattern at a time, in id order.
struct Tiering {
    tiers: Vec<Tier>,
    verifiers: Vec<Option<crate::keywords::keyword_regex::LazyVerifier>>,
    folded_lits: AtomTable,
    exact_lits: AtomTable,
    slow: Vec<PatternId>,
    empty: Vec<PatternId>,
    folded_regexes: Vec<PatternId>,
    groups_needed: Vec<u8>,
    stored_plans: Vec<RegexPlan>,
}

impl Tiering {
    fn new(patterns: usize) -> Tiering {
        Tiering {
            tiers: Vec::with_capacity(patterns),
            verifiers: Vec::with_capacity(patterns),
            folded_lits: AtomTable::default(),
            exact_lits: AtomTable::default(),
            slow: Vec::new(),
            empty: Vec::new(),
            folded_regexes: Vec::new(),
            groups_needed: vec![1u8; patterns],
            stored_plans: Vec::new(),
        }
    }

    /// The empty literal: matches every prompt that is not blank.
    fn add_empty(&mut self, id: PatternId) {
        self.empty.push(id);
        self.tiers.push(Tier::Empty);
        self.verifiers.push(None);
    }

    /// A literal: lowered into the folded automaton, or as written into the
    /// exact one (`case:true`); a hit is a match.
    fn add_literal(&mut self, id: PatternId, text: &str, case_sensitive: bool) {
        let trigger = Trigger {
            pattern: id,
            is_match: true,
            unit: id.raw(),
            group: 0,
        };
        if case_sensitive {
            self.exact_lits.push(text.as_bytes().to_vec(), trigger);
            self.tiers.push(Tier::ExactLiteral);
        } else {
            let mut lowered = String::new();
            casefold::lower_into(text, &mut lowered);
            self.folded_lits.push(lowered.into_bytes(), trigger);
            self.tiers.push(Tier::FoldedLiteral);
        }
        self.verifiers.push(None);
    }

    /// A regex: its plan (stored, or found now from the parsed regex), its
    /// verifier (compiled later), and its atoms in the automata.
    fn add_regex(
        &mut self,
        id: PatternId,
        rust: &str,
        case_insensitive: bool,
        plans: &mut PlanCache,
        limits: &crate::limits::CompileLimits,
    ) -> Result<(), crate::engine_error::EngineError> {
        let (plan, hir) = match plans.take(rust, case_insensitive) {
            Some(planned) => planned,
            None => {
                let hir = crate::keywords::keyword_regex::hir(rust, case_insensitive)
                    .map_err(|e| crate::engine_error::EngineError::regex_syntax(rust, e))?;
                (plan_regex(&hir, rust, case_insensitive), Some(hir))
            }
        };
        // The conformance matrix forces every regex into the atomless tier.
        let plan = if limits.atomless_regexes {
            RegexPlan::Slow("forced: CompileLimits::atomless_regexes".into())
        } else {
            plan
        };
        self.stored_plans.push(plan.clone());
        let verifier = crate::keywords::keyword_regex::LazyVerifier::new(
            rust,
            case_insensitive,
            limits.max_regex_bytes,
        );
        verifier.keep_parsed(hir);
        self.add_plan(id, plan, case_insensitive);
        self.verifiers.push(Some(verifier));
        Ok(())
    }

    /// Records the group mask of a unit (a pattern id, or a branch unit
    /// pushed in `add_plan`); the vector holds one entry per unit made.
    fn set_groups_needed(&mut self, unit: usize, mask: u8) {
        if let Some(slot) = self.groups_needed.get_mut(unit) {
            *slot = mask;
        }
    }

    /// Places a regex by its plan: the tier, and the atoms of each required
    /// group in the automaton the plan names.
    fn add_plan(&mut self, id: PatternId, plan: RegexPlan, case_insensitive: bool) {
        let i = id.index();
        match plan {
            RegexPlan::Atoms {
                literals,
                exact,
                also,
            } => {
                let groups: Vec<Vec<Vec<u8>>> = std::iter::once(literals).chain(also).collect();
                // Atoms that only trigger verification can move to the
                // folded automaton, lowered: a case-sensitive occurrence
                // implies a folded one, so one automaton pass fewer.
                let lowered: Option<Vec<Vec<Vec<u8>>>> = if exact {
                    None
                } else {
                    groups.iter().map(|g| lowered_set(g)).collect()
                };
                let mask = match lowered {
                    Some(lowered) => add_groups(
                        lowered.into_iter(),
                        id,
                        id.raw(),
                        false,
                        &mut self.folded_lits,
                    ),
                    None => add_groups(
                        groups.into_iter(),
                        id,
                        id.raw(),
                        exact,
                        &mut self.exact_lits,
                    ),
                };
                self.set_groups_needed(i, mask);
                self.tiers.push(if exact {
                    Tier::ExactRegex
                } else {
                    Tier::AtomRegex
                });
            }
            RegexPlan::FoldedAtoms { literals, also } => {
                let groups = std::iter::once(literals).chain(also);
                let mask = add_groups(groups, id, id.raw(), false, &mut self.folded_lits);
                self.set_groups_needed(i, mask);
                self.folded_regexes.push(id);
                self.tiers.push(Tier::FoldedAtomRegex);
            }
            RegexPlan::Branches(branches) => {
                for (b, groups) in branches.into_iter().enumerate() {
                    // The first branch counts in the pattern's own unit.
                    let unit = if b == 0 {
                        id.raw()
                    } else {
                        self.groups_needed.push(1);
                        (self.groups_needed.len() - 1) as u32
                    };
                    let mask =
                        add_groups(groups.into_iter(), id, unit, false, &mut self.folded_lits);
                    self.set_groups_needed(unit as usize, mask);
                }
                if case_insensitive {
                    self.folded_regexes.push(id);
                    self.tiers.push(Tier::FoldedAtomRegex);
                } else {
                    self.tiers.push(Tier::AtomRegex);
                }
            }
            RegexPlan::Slow(reason) => {
                self.slow.push(id);
                self.tiers.push(Tier::SlowRegex { reason });
            }
        }
    }

    /// The engine: both automata built from the atom tables (the exact
    /// pass gated on the folded one where it can be), verifiers not compiled yet.
    fn finish(
        mut self,
        patterns: Vec<KeywordPattern>,
        limits: &crate::limits::CompileLimits,
    ) -> Result<KeywordEngine, crate::engine_error::EngineError> {
        let (exact_atoms, exact_triggers) = self.exact_lits.finish();
        let exact_gates = gate_exact_pass(&exact_atoms, &mut self.folded_lits);
        let (folded_atoms, folded_triggers) = self.folded_lits.finish();
        Ok(KeywordEngine {
            folded: automaton(&folded_atoms, true, limits)?,
            exact: automaton(&exact_atoms, false, limits)?,
            patterns,
            tiers: self.tiers,
            folded_triggers,
            folded_regexes: self.folded_regexes,
            exact_triggers,
            exact_gates,
            groups_needed: self.groups_needed,
            verifiers: self.verifiers,
            slow: self.slow,
            slow_chars: std::sync::OnceLock::new(),
            slow_set: std::sync::OnceLock::new(),
            max_regex_bytes: limits.max_regex_bytes,
            empty: self.empty,
            plans: self.stored_plans,
        })
    }
}
