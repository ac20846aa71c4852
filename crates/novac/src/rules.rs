//! [`Rules`]: a compiled, immutable rule set, shared freely between threads.

pub(crate) mod phrases;

use crate::condition::bytecode::Program;
use crate::condition::stage::{monotone_signs, stage_matters};
use crate::condition::truth::{Truth, VarState};
use crate::ir::{Pattern, RuleIr, VarId};
use crate::keywords::{KeywordEngine, PatternId, Tier};
use crate::shared_str::SharedStr;

/// A compiled rule set: built once by [`crate::Compiler`], then scanned with
/// any number of [`crate::Scanner`]s, on any number of threads
/// (`Rules` is `Send + Sync`; share it with `Arc` or a reference).
#[derive(Debug)]
pub struct Rules {
    /// The rules, in the order they were added.
    pub(crate) rules: Vec<CompiledRule>,
    /// Every keyword pattern of every rule, in one engine.
    pub(crate) engine: KeywordEngine,
    /// For each pattern (by [`PatternId`] index), the rules that use it
    /// (sorted, no duplicates).
    pub(crate) pattern_rules: Vec<Vec<RuleId>>,
    /// Rules whose verdict without any keyword hit is not `False`
    /// (they must be looked at on every scan).
    pub(crate) idle_rules: Vec<RuleId>,
    /// Semantic phrases, their embeddings and the embedder (see [`crate::scanner::semantic`]).
    pub(crate) semantic: phrases::SemanticTable,
}

/// Index of a rule in [`Rules`]: its position in the order rules were added
/// (what [`crate::RuleResult::index`] reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RuleId(u32);

impl RuleId {
    /// The id of the rule at `index` (rule counts are bounded far below
    /// `u32::MAX` by the pattern and source limits).
    pub(crate) fn new(index: usize) -> RuleId {
        RuleId(u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// The rule's position.
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

/// One rule with its compiled condition.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub(crate) ir: RuleIr,
    pub(crate) program: Program,
    /// Evaluated keyword variables (see [`crate::ir::Variable::evaluated`]) and their patterns.
    pub(crate) keyword_vars: Vec<(VarId, PatternId)>,
    /// Used semantic variables.
    pub(crate) semantic_vars: Vec<VarId>,
    /// Used LLM variables.
    pub(crate) llm_vars: Vec<VarId>,
    /// Phrase id (into [`phrases::SemanticTable::phrases`]) of each `semantic_vars` entry.
    pub(crate) semantic_phrases: Vec<phrases::PhraseId>,
    /// The verdict when no keyword matched and semantics/llm are unknown.
    pub(crate) idle: Truth,
    /// [`monotone_signs`] of `semantic_vars`, and of `llm_vars`.
    pub(crate) semantic_signs: Option<Vec<bool>>,
    pub(crate) llm_signs: Option<Vec<bool>>,
    /// Whether the semantic results can change the `idle` verdict (the
    /// scanner's first question about a rule no keyword touched, answered once).
    pub(crate) idle_semantics_matter: bool,
    /// The fail-closed warnings without a semantic evaluator and without an
    /// LLM judge (written once: without them, every scan reports them).
    pub(crate) no_semantics_warning: SharedStr,
    pub(crate) no_llm_warning: SharedStr,
    /// The rule name and its variable names (by [`VarId`]) as results hold
    /// them: shared, so a result costs no copy of them.
    pub(crate) name: SharedStr,
    pub(crate) var_names: Vec<SharedStr>,
}

impl CompiledRule {
    /// Variable `v` of the rule (ids come from the rule's own IR, so it is
    /// always there; `None` only for a foreign id).
    pub(crate) fn var(&self, v: VarId) -> Option<&crate::ir::Variable> {
        self.ir.vars.get(v.index())
    }

    /// The name of variable `v`, with its `$` (empty for a foreign id).
    pub(crate) fn var_name(&self, v: VarId) -> SharedStr {
        self.var_names.get(v.index()).cloned().unwrap_or_default()
    }

    pub(crate) fn new(ir: RuleIr, patterns: &mut crate::keywords::PatternTable) -> CompiledRule {
        let program = Program::compile(&ir.condition);
        let mut keyword_vars = Vec::new();
        let mut semantic_vars = Vec::new();
        let mut llm_vars = Vec::new();
        for (i, var) in ir.vars.iter().enumerate() {
            let id = VarId(i as u32);
            match &var.pattern {
                Pattern::Keyword(k) if var.evaluated => keyword_vars.push((id, patterns.intern(k))),
                Pattern::Semantic { .. } if var.used => semantic_vars.push(id),
                Pattern::Llm { .. } if var.used => llm_vars.push(id),
                _ => {}
            }
        }
        let mut state = VarState::new(ir.vars.len());
        for v in semantic_vars.iter().chain(&llm_vars) {
            state.set(v.index(), Truth::Unknown);
        }
        let idle = program.eval(&state, &mut Vec::new());
        let semantic_signs = monotone_signs(&ir.condition, &semantic_vars);
        let llm_signs = monotone_signs(&ir.condition, &llm_vars);
        let idle_semantics_matter = stage_matters(
            &program,
            &mut state,
            &semantic_vars,
            semantic_signs.as_deref(),
            &mut Vec::new(),
        );
        CompiledRule {
            program,
            keyword_vars,
            semantic_vars,
            llm_vars,
            semantic_phrases: Vec::new(),
            idle,
            semantic_signs,
            llm_signs,
            idle_semantics_matter,
            no_semantics_warning: crate::warnings::no_evaluator_warning(&ir.name).into(),
            no_llm_warning: crate::warnings::no_judge_warning(&ir.name).into(),
            name: ir.name.as_str().into(),
            var_names: ir.vars.iter().map(|v| v.name.as_str().into()).collect(),
            ir,
        }
    }
}

/// A read-only view of one compiled rule.
#[derive(Clone, Copy, Debug)]
pub struct RuleInfo<'r> {
    rule: &'r CompiledRule,
}

impl<'r> RuleInfo<'r> {
    /// The rule name.
    pub fn name(&self) -> &'r str {
        &self.rule.ir.name
    }

    /// Meta entries in file order (values are strings, quotes removed).
    pub fn meta(&self) -> &'r [(String, String)] {
        &self.rule.ir.meta
    }

    /// One meta value.
    pub fn meta_value(&self, key: &str) -> Option<&'r str> {
        self.rule
            .ir
            .meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The condition as written, on one line.
    pub fn condition(&self) -> &'r str {
        &self.rule.ir.condition_text
    }

    /// Whether the rule has semantic variables its condition uses.
    pub fn uses_semantics(&self) -> bool {
        !self.rule.semantic_vars.is_empty()
    }

    /// Whether the rule has LLM variables its condition uses.
    pub fn uses_llm(&self) -> bool {
        !self.rule.llm_vars.is_empty()
    }

    /// The checked rule (variables, patterns, resolved condition).
    pub fn ir(&self) -> &'r RuleIr {
        &self.rule.ir
    }
}

/// Counts of what a rule set contains, for reports and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RulesStats {
    /// Rules.
    pub rules: usize,
    /// Distinct keyword patterns.
    pub patterns: usize,
    /// Case-insensitive literals (folded automaton).
    pub folded_literals: usize,
    /// Case-sensitive literals.
    pub exact_literals: usize,
    /// Regexes fully decided by the automaton.
    pub exact_regexes: usize,
    /// Regexes verified when an atom hits.
    pub atom_regexes: usize,
    /// Regexes run on every prompt.
    pub slow_regexes: usize,
    /// Heap bytes of the automata.
    pub automaton_bytes: usize,
    /// Heap bytes of the compiled regex verifiers (their NFAs, prefilters
    /// and relaxed forms; not the lazy-DFA caches each scanning thread grows).
    pub regex_bytes: usize,
}

impl Rules {
    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the set has no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule at `index`.
    pub fn rule(&self, index: usize) -> Option<RuleInfo<'_>> {
        self.rules.get(index).map(|rule| RuleInfo { rule })
    }

    /// The rule called `name`.
    pub fn rule_by_name(&self, name: &str) -> Option<RuleInfo<'_>> {
        self.rules
            .iter()
            .find(|r| r.ir.name == name)
            .map(|rule| RuleInfo { rule })
    }

    /// All rules, in order.
    pub fn iter(&self) -> impl Iterator<Item = RuleInfo<'_>> {
        self.rules.iter().map(|rule| RuleInfo { rule })
    }

    /// Rule names, in order.
    pub fn rule_names(&self) -> Vec<&str> {
        self.rules.iter().map(|r| r.ir.name.as_str()).collect()
    }

    /// Whether any rule needs the semantic stage.
    pub fn uses_semantics(&self) -> bool {
        self.iter().any(|r| r.uses_semantics())
    }

    /// Whether any rule needs the LLM stage.
    pub fn uses_llm(&self) -> bool {
        self.iter().any(|r| r.uses_llm())
    }

    /// The distinct phrases of the used semantic variables (by phrase id).
    pub fn semantic_phrases(&self) -> &[String] {
        &self.semantic.phrases
    }

    /// The phrase embeddings computed at compile time, if a model was configured.
    pub fn pattern_embeddings(&self) -> Option<&phrases::PatternEmbeddings> {
        self.semantic.embeddings.as_ref()
    }

    /// The model that embeds prompts, if one is attached.
    pub fn embedder(&self) -> Option<&std::sync::Arc<dyn crate::plugins::Embedder>> {
        self.semantic.embedder.as_ref().map(|e| &e.0)
    }

    /// Attaches an embedding model (e.g. after loading serialised rules):
    /// the stored phrase embeddings are kept when they come from the same
    /// model ([`crate::Embedder::model_id`]), recomputed otherwise.
    pub fn set_embedder(
        &mut self,
        embedder: std::sync::Arc<dyn crate::plugins::Embedder>,
    ) -> Result<(), crate::plugins::EmbedError> {
        self.semantic.attach(embedder)
    }

    /// What the rule set contains.
    pub fn stats(&self) -> RulesStats {
        let mut s = RulesStats {
            rules: self.rules.len(),
            patterns: self.engine.len(),
            automaton_bytes: self.engine.memory_usage(),
            regex_bytes: self.engine.regex_memory_usage(),
            ..RulesStats::default()
        };
        for tier in self.engine.tiers() {
            match tier {
                Tier::FoldedLiteral | Tier::Empty => s.folded_literals += 1,
                Tier::ExactLiteral => s.exact_literals += 1,
                Tier::ExactRegex => s.exact_regexes += 1,
                Tier::AtomRegex | Tier::FoldedAtomRegex => s.atom_regexes += 1,
                Tier::SlowRegex { .. } => s.slow_regexes += 1,
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rules_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::Rules>();
    }
}
