//! The keyword engine: every keyword of every rule, matched in one pass per
//! case mode, then verified where needed.
//!
//! # How a prompt is matched
//!
//! Each distinct keyword pattern of the rule set gets a [`PatternId`]. At
//! build time every pattern is placed in one of four tiers:
//!
//! * **folded literals** — case-insensitive literals, lowered with Python's
//!   `str.lower()`, in one Aho-Corasick automaton that runs over the lowered
//!   prompt (for an ASCII prompt: over the prompt itself, ASCII-case-insensitively,
//!   which is the same thing and needs no copy);
//! * **exact literals and exact regex atoms** — case-sensitive literals, and
//!   regexes whose language is a finite set of literals (`/(ignore|disregard) all/`),
//!   in a second automaton over the original prompt; a hit *is* a match;
//! * **regex atoms** — for other regexes, literals that every match must
//!   contain ([`crate::atoms`]); they share the second automaton, and a hit
//!   only means "run this regex" (once per scan);
//! * **atomless regexes** — `novac check` warns (W104). Most still need
//!   some character (`@`, `-`, a digit, a capital): one pass of
//!   [`required_chars`] over the prompt rules out those whose characters
//!   are absent (all of them, on Russian or Chinese text, for the public
//!   rules); when three or more are left, one regex set over their relaxed
//!   forms (below) runs and only the ones it reports are triggered.
//!
//! Four things keep verification rare and cheap:
//!
//! * **atom groups**: a regex can require several atom sets
//!   ([`atoms::conjuncts`]: `\bword\b.{0,20}\bother\b` needs `word` *and*
//!   `other`); it is triggered only once every set has occurred. The
//!   branches of an alternation can each have groups of their own
//!   ([`atoms::branch_groups`]): `data\s(exfil|dump)|code\sexec` waits for
//!   `data` and `exfil` or `dump`, or for `code` and `exec`;
//! * **shared atoms**: each distinct string is one automaton pattern with a
//!   list of what it triggers, walked at its first occurrence only (a common
//!   word that is an atom of fifty regexes costs one bit test per repeat);
//! * **relaxed verifiers** on non-ASCII prompts for regexes with Unicode
//!   `\b` ([`crate::keyword_regex::LazyVerifier`]): the regex without its
//!   word boundaries runs on the lazy DFA first and rules out most prompts
//!   before the slow engine that Unicode `\b` needs on such text;
//! * **windows**: a regex with a bounded longest match `n` whose atoms
//!   occurred by offset `e` cannot match before `e - n`, and is run from
//!   there ([`KeywordHits`]' `atoms_end`).
//!
//! Every verifier, relaxed verifier and the atomless regexes' prefilters are
//! compiled when the engine is built, from rules or from a bundle
//! ([`Verifiers::Eager`], on a few threads), so no scan pays a warm-up.
//!
//! Both automata are dense Aho–Corasick DFAs built by [`literal_dfa`] (a
//! one-pass construction, several times faster to build than the
//! `aho-corasick` crate's DFA, which made loading compiled bundles slow),
//! reporting each literal at its first occurrence; over the size limits they
//! fall back to the crate's contiguous NFA.
//!
//! The folded automaton also holds the lower-case form of every exact
//! pattern ([`gate_exact_pass`]): when none of them occurred, the exact
//! pass is skipped. So a scan is one or two automaton passes plus the
//! regexes whose atoms occurred — and of those, only the ones some rule still needs: a triggered
//! regex stays *pending* until the scanner asks for its value
//! ([`KeywordEngine::resolve`]), which it does not for a rule whose condition
//! is already false without it. One giant DFA over all regexes does not build for real rule
//! sets (over the public rules' 78 regexes it did not finish in 400 s; see
//! `docs/ARCHITECTURE.md`), which is why regexes are verified separately.
//!
//! Blank prompts (Python `not text.strip()`) match no keyword, like the reference.

use crate::atoms::{self, AtomAnalysis};
use crate::casefold;
use crate::ir::KeywordPattern;
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use literal_dfa::{DfaScratch, LiteralDfa};
use std::collections::HashMap;

pub(crate) mod class_run;
mod literal_dfa;
mod required_chars;

/// Fewer atomless regexes than this left after the character test are
/// triggered directly (each is verified only if a rule needs it); more go
/// through their regex set first.
const SLOW_SET_MIN: usize = 3;

/// The hash maps of the build: keys are rule text (patterns, atoms), which
/// SipHash spent most of the interning time on; foldhash is several times
/// faster. The seed is fixed, so a rule set builds the same engine in every
/// process (rule text is not attacker-chosen the way prompts are).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Index of a distinct keyword pattern in the rule set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatternId(u32);

impl PatternId {
    /// The id of the pattern at `index` in the pattern table (bounded by
    /// [`crate::CompileLimits::max_patterns`], far below `u32::MAX`).
    pub(crate) fn new(index: usize) -> PatternId {
        PatternId(u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// The pattern's position in the pattern table.
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }

    /// The id as stored in 32-bit tables (trigger units).
    pub(crate) fn raw(self) -> u32 {
        self.0
    }
}

/// How a pattern is matched (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tier {
    /// Case-insensitive literal in the folded automaton.
    FoldedLiteral,
    /// Case-sensitive literal in the exact automaton.
    ExactLiteral,
    /// Regex whose language is its finite atom set: an atom hit is a match.
    ExactRegex,
    /// Regex verified when one of its atoms occurs.
    AtomRegex,
    /// Case-insensitive regex verified when one of its atoms occurs in the
    /// lowered prompt (its case variants were too many for exact atoms).
    FoldedAtomRegex,
    /// Regex with no usable atom: verified on every prompt.
    SlowRegex {
        /// Why no atom could be found.
        reason: String,
    },
    /// The empty literal: matches every prompt that is not blank.
    Empty,
}

/// How a keyword regex is matched: the tier and its atoms.
///
/// `also` holds further atom sets that every match contains as well
/// ([`atoms::conjuncts`]): the regex is triggered only once an atom of
/// `literals` *and* an atom of each set in `also` occurred.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) enum RegexPlan {
    /// Atoms in the exact automaton; `exact`: a hit is a match (then `also` is empty).
    Atoms {
        literals: Vec<Vec<u8>>,
        exact: bool,
        also: Vec<Vec<Vec<u8>>>,
    },
    /// Lower-cased atoms in the folded automaton (hits are verified).
    FoldedAtoms {
        literals: Vec<Vec<u8>>,
        also: Vec<Vec<Vec<u8>>>,
    },
    /// An alternation whose branches each require all of their own atom
    /// groups ([`atoms::branch_groups`]): per branch, its groups, lowered,
    /// in the folded automaton. Triggered once every group of some branch
    /// occurred; hits are verified.
    Branches(Vec<Vec<Vec<Vec<u8>>>>),
    /// No atom: run on every prompt.
    Slow(String),
}

/// Decides how a keyword regex is matched (also used by the W104 lint).
///
/// A case-insensitive regex first tries the atoms of the pattern as written,
/// lowered and matched against the lowered prompt: cheap to find, and few.
/// Extracting its case variants instead can explode (every letter doubles
/// the set), so that is only the fallback.
pub(crate) fn plan_regex(
    hir: &regex_syntax::hir::Hir,
    rust: &str,
    case_insensitive: bool,
) -> RegexPlan {
    if case_insensitive {
        // The atoms of the case-sensitive reading, lowered (see `folded_atoms`).
        if let Ok(sensitive) = crate::keyword_regex::hir(rust, false) {
            if let Some(branches) = lowered_branches(&sensitive) {
                return RegexPlan::Branches(branches);
            }
            if let Some((literals, also)) = folded_atoms(&sensitive) {
                return RegexPlan::FoldedAtoms { literals, also };
            }
        }
    }
    let analysis = atoms::analyze(hir);
    if !matches!(&analysis, AtomAnalysis::Atoms(set) if set.exact) && !case_insensitive {
        if let Some(branches) = lowered_branches(hir) {
            return RegexPlan::Branches(branches);
        }
    }
    match analysis {
        AtomAnalysis::Atoms(set) => {
            let also = if set.exact {
                Vec::new()
            } else {
                atoms::conjuncts(hir, &set.literals)
            };
            RegexPlan::Atoms {
                literals: set.literals,
                exact: set.exact,
                also,
            }
        }
        AtomAnalysis::NoAtoms { reason } => RegexPlan::Slow(reason),
    }
}

/// The lowered atoms of `hir`, the case-sensitive reading of a regex, if
/// every one is at least 2 bytes and free of fold-special characters; with
/// the further required sets that pass the same test.
#[allow(clippy::type_complexity)]
fn folded_atoms(hir: &regex_syntax::hir::Hir) -> Option<(Vec<Vec<u8>>, Vec<Vec<Vec<u8>>>)> {
    let AtomAnalysis::Atoms(set) = atoms::analyze(hir) else {
        return None;
    };
    let primary = lowered_set(&set.literals)?;
    let mut also: Vec<Vec<Vec<u8>>> = atoms::conjuncts(hir, &set.literals)
        .iter()
        .filter_map(|g| lowered_set(g))
        .collect();
    also.retain(|g| *g != primary);
    also.dedup();
    Some((primary, also))
}

/// The [`atoms::branch_groups`] of `hir`, every group lowered (none if a
/// group cannot be: see [`lowered_set`]).
fn lowered_branches(hir: &regex_syntax::hir::Hir) -> Option<Vec<Vec<Vec<Vec<u8>>>>> {
    atoms::branch_groups(hir)?
        .iter()
        .map(|groups| {
            let mut lowered: Vec<Vec<Vec<u8>>> = Vec::with_capacity(groups.len());
            for group in groups {
                let group = lowered_set(group)?;
                if !lowered.contains(&group) {
                    lowered.push(group);
                }
            }
            Some(lowered)
        })
        .collect()
}

/// `set` lowered with Python's `str.lower()`, sorted and deduplicated; none
/// if an atom gets shorter than 2 bytes or holds a fold-special character.
fn lowered_set(set: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    let mut lowered = Vec::with_capacity(set.len());
    for atom in set {
        let text = std::str::from_utf8(atom).ok()?;
        let mut low = String::new();
        casefold::lower_into(text, &mut low);
        if low.len() < atoms::MIN_ATOM_LEN || low.chars().any(casefold::is_fold_special) {
            return None;
        }
        lowered.push(low.into_bytes());
    }
    lowered.sort();
    lowered.dedup();
    Some(lowered)
}

/// Adds the lower-case form of every exact automaton pattern to the folded
/// automaton, so that the exact pass can be skipped on a prompt where none
/// of them occurs: a case-sensitive occurrence of a pattern implies an
/// occurrence of its lower-case form in the lowered prompt (Python's
/// `str.lower()` works character by character, except on the characters
/// [`lowered_set`] refuses). On Russian or Chinese text, where the English
/// patterns of case-sensitive regexes never occur, that is one pass fewer.
///
/// Returns the gate bits by folded pattern id, or `None` (no gate: the
/// exact pass always runs) when there is no folded automaton to ride on or
/// a pattern has no usable lower-case form.
fn gate_exact_pass(exact_atoms: &[Vec<u8>], folded: &mut AtomTable) -> Option<Vec<u64>> {
    if exact_atoms.is_empty() || folded.is_empty() {
        return None;
    }
    let lowered = lowered_set(exact_atoms)?;
    let ids: Vec<u32> = lowered.into_iter().map(|a| folded.intern(a)).collect();
    let mut gates = vec![0u64; folded.atoms.len().div_ceil(64)];
    for id in ids {
        set_bit(&mut gates, id as usize);
    }
    Some(gates)
}

/// Plans computed once per distinct regex (the checker's W104 lint and the
/// engine build both need them), with the parsed regex when it was parsed
/// here, so that compiling the verifier does not parse it again (parsing a
/// case-insensitive regex with Unicode classes case-folds them, which was a
/// third of the build).
#[derive(Debug, Default)]
pub(crate) struct PlanCache {
    /// By regex: the plan when matched case-sensitively, and case-insensitively.
    plans: FastMap<String, [Option<Planned>; 2]>,
}

/// A regex's plan, and its parsed form if it is at hand.
#[derive(Debug)]
struct Planned {
    plan: RegexPlan,
    hir: Option<regex_syntax::hir::Hir>,
}

impl PlanCache {
    /// Records a plan computed earlier (compiled bundles store them; see `crate::bundle`).
    pub(crate) fn insert(&mut self, rust: String, case_insensitive: bool, plan: RegexPlan) {
        self.plans.entry(rust).or_default()[usize::from(case_insensitive)] =
            Some(Planned { plan, hir: None });
    }

    /// Removes and returns the plan of a regex and its parsed form, if
    /// present (building an engine uses each once; no copy).
    fn take(
        &mut self,
        rust: &str,
        case_insensitive: bool,
    ) -> Option<(RegexPlan, Option<regex_syntax::hir::Hir>)> {
        let planned = self.plans.get_mut(rust)?[usize::from(case_insensitive)].take()?;
        Some((planned.plan, planned.hir))
    }

    /// The plan of a regex, computed on first use; keeps `hir` (the regex
    /// parsed by [`crate::keyword_regex::hir`]) for the engine build.
    pub(crate) fn plan(
        &mut self,
        hir: regex_syntax::hir::Hir,
        rust: &str,
        case_insensitive: bool,
    ) -> RegexPlan {
        let slot =
            &mut self.plans.entry(rust.to_string()).or_default()[usize::from(case_insensitive)];
        if let Some(planned) = slot {
            return planned.plan.clone();
        }
        let plan = plan_regex(&hir, rust, case_insensitive);
        *slot = Some(Planned {
            plan: plan.clone(),
            hir: Some(hir),
        });
        plan
    }
}

/// What one automaton pattern stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Trigger {
    pattern: PatternId,
    /// A hit is a match (else: run the verifier).
    is_match: bool,
    /// The set of atom groups this atom counts towards: the pattern's own
    /// (`unit == pattern`), or one branch's of an alternation planned as
    /// [`RegexPlan::Branches`] (a unit numbered after the patterns).
    unit: u32,
    /// Which of the unit's required atom groups this atom belongs to.
    group: u8,
}

/// The distinct strings of one automaton, each with the triggers it stands
/// for. A common word can be an atom of many regexes and a literal too: the
/// automaton holds it once, and a scan walks its triggers only at its first
/// occurrence (later occurrences cost one bit test).
#[derive(Debug, Default)]
struct AtomTable {
    ids: FastMap<Vec<u8>, u32>,
    atoms: Vec<Vec<u8>>,
    triggers: Vec<Vec<Trigger>>,
}

impl AtomTable {
    /// The id of `atom`, adding it (with no triggers) when new.
    fn intern(&mut self, atom: Vec<u8>) -> u32 {
        let next = self.atoms.len() as u32;
        let id = *self.ids.entry(atom).or_insert(next);
        if id == next {
            self.atoms.push(Vec::new());
            self.triggers.push(Vec::new());
        }
        id
    }

    fn is_empty(&self) -> bool {
        self.atoms.is_empty()
    }

    fn push(&mut self, atom: Vec<u8>, trigger: Trigger) {
        let id = self.intern(atom);
        let list = &mut self.triggers[id as usize];
        if !list.contains(&trigger) {
            list.push(trigger);
        }
    }

    /// The automaton's patterns (in id order) and the trigger lists.
    fn finish(self) -> (Vec<Vec<u8>>, Triggers) {
        let mut atoms = vec![Vec::new(); self.atoms.len()];
        for (atom, id) in self.ids {
            atoms[id as usize] = atom;
        }
        let mut starts = Vec::with_capacity(self.triggers.len() + 1);
        let mut list = Vec::new();
        starts.push(0);
        for t in self.triggers {
            list.extend(t);
            starts.push(list.len() as u32);
        }
        (atoms, Triggers { starts, list })
    }
}

/// For each automaton pattern, the triggers it stands for (flattened).
#[derive(Debug, Default)]
struct Triggers {
    starts: Vec<u32>,
    list: Vec<Trigger>,
}

impl Triggers {
    fn of(&self, atom: usize) -> &[Trigger] {
        &self.list[self.starts[atom] as usize..self.starts[atom + 1] as usize]
    }

    #[cfg(test)]
    fn atoms(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }
}

/// The compiled keyword engine of a rule set.
#[derive(Debug)]
pub(crate) struct KeywordEngine {
    patterns: Vec<KeywordPattern>,
    tiers: Vec<Tier>,
    folded: Option<LiteralMatcher>,
    folded_triggers: Triggers,
    /// Regexes with folded atoms (verified directly when the prompt has a fold-special character).
    folded_regexes: Vec<PatternId>,
    exact: Option<LiteralMatcher>,
    exact_triggers: Triggers,
    /// Bit per folded automaton pattern: the lower-case form of an exact
    /// automaton pattern. With this gate (`Some`), the exact pass runs only
    /// when one of these occurred in the folded pass ([`gate_exact_pass`]).
    exact_gates: Option<Vec<u64>>,
    /// Per trigger unit (see [`Trigger::unit`]; the first ones are the
    /// patterns): the bit mask of atom groups that must all occur before
    /// its regex is triggered (`1` for one group).
    groups_needed: Vec<u8>,
    /// Compiled regexes, by pattern (None for literals).
    verifiers: Vec<Option<crate::keyword_regex::LazyVerifier>>,
    slow: Vec<PatternId>,
    /// The atomless regexes' required characters ([`required_chars`]),
    /// tested in one pass before anything else (built with the engine).
    slow_chars: std::sync::OnceLock<required_chars::CharPrefilter>,
    /// With [`SLOW_SET_MIN`] or more atomless regexes left by that test:
    /// one regex set over their relaxed forms, run once per scan; only the
    /// regexes it reports are triggered (built with the engine; None if it
    /// does not build).
    slow_set: std::sync::OnceLock<Option<crate::keyword_regex::Verifier>>,
    max_regex_bytes: usize,
    empty: Vec<PatternId>,
    /// The plan of each regex, in pattern order (what a bundle stores).
    plans: Vec<RegexPlan>,
}

/// Interns keyword patterns while rules are added.
#[derive(Debug, Default)]
pub(crate) struct PatternTable {
    ids: FastMap<KeywordPattern, PatternId>,
    patterns: Vec<KeywordPattern>,
}

impl PatternTable {
    /// The id of `pattern`, adding it when new.
    pub(crate) fn intern(&mut self, pattern: &KeywordPattern) -> PatternId {
        if let Some(id) = self.ids.get(pattern) {
            return *id;
        }
        let id = PatternId::new(self.patterns.len());
        self.patterns.push(pattern.clone());
        self.ids.insert(pattern.clone(), id);
        id
    }

    pub(crate) fn len(&self) -> usize {
        self.patterns.len()
    }
}

/// Per-scan results of the keyword engine, reused across scans.
#[derive(Debug, Default, Clone)]
pub(crate) struct KeywordHits {
    /// Bit per pattern: matched.
    pub(crate) matched: Vec<u64>,
    /// Bit per pattern: the regex was triggered this scan (its atom occurred,
    /// or it has none); its verifier runs only when a rule needs its value.
    triggered: Vec<u64>,
    /// Bit per pattern: triggered and not verified yet.
    pending: Vec<u64>,
    /// The triggered regexes, in the order found.
    pub(crate) pending_list: Vec<PatternId>,
    /// First match span (byte offsets into the scanned prompt) per matched pattern.
    pub(crate) spans: Vec<(u32, u32)>,
    /// The patterns that matched, in the order found.
    pub(crate) list: Vec<PatternId>,
    /// Per trigger unit: the atom groups seen so far (multi-group units).
    groups: Vec<u8>,
    /// The units whose `groups` entry is not zero.
    groups_touched: Vec<u32>,
    /// Scratch space of the literal automata.
    automaton_scratch: literal_dfa::DfaScratch,
    /// Folded literals matched in this scan (their spans are remapped on non-ASCII prompts).
    found: Vec<PatternId>,
    /// Per triggered regex: the prompt offset by which an atom of each of
    /// its groups had ended (0 when unknown: triggered without atoms, or by
    /// the folded pass over a lowered non-ASCII prompt, whose offsets differ).
    /// Every match contains such an occurrence, so a regex with a bounded
    /// longest match `n` is verified from `atoms_end - n` on. With branch
    /// units, the first branch to complete sets it: any other branch
    /// completes later, and its matches start later still.
    atoms_end: Vec<u32>,
    /// The atomless regexes the regex set reported.
    slow_may: Option<regex_automata::PatternSet>,
    /// The folded pass saw the lower-case form of an exact automaton pattern.
    exact_wanted: bool,
    /// The scanned prompt is ASCII (found once per scan).
    ascii: bool,
    lowered: String,
    /// Atom occurrences, counted only when a scanner profiles ([`crate::profile`]).
    pub(crate) atom_counts: Option<Box<crate::profile::AtomCounts>>,
}

impl KeywordHits {
    pub(crate) fn is_match(&self, p: PatternId) -> bool {
        get_bit(&self.matched, p.index())
    }

    /// Whether the pattern is a regex whose verification is still pending.
    pub(crate) fn is_pending(&self, p: PatternId) -> bool {
        get_bit(&self.pending, p.index())
    }

    pub(crate) fn span(&self, p: PatternId) -> Option<(usize, usize)> {
        self.is_match(p).then(|| {
            let (s, e) = self.spans[p.index()];
            (s as usize, e as usize)
        })
    }
}

/// Marks a regex as triggered (pending verification), once per scan, with
/// no known atom position.
fn trigger_regex(hits: &mut KeywordHits, p: PatternId) {
    trigger_regex_at(hits, p, 0);
}

/// Triggers regex `p`, whose atoms (of every group) have occurred by byte
/// `atoms_end` of the prompt: no match can start before `atoms_end` minus
/// the regex's longest match ([`KeywordHits::atoms_end`]).
fn trigger_regex_at(hits: &mut KeywordHits, p: PatternId, atoms_end: u32) {
    if set_bit(&mut hits.triggered, p.index()) {
        if let Some(at) = hits.atoms_end.get_mut(p.index()) {
            *at = atoms_end;
        }
        set_bit(&mut hits.pending, p.index());
        hits.pending_list.push(p);
    }
}

fn get_bit(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

fn set_bit(bits: &mut [u64], i: usize) -> bool {
    let word = &mut bits[i / 64];
    let was = *word & (1 << (i % 64)) != 0;
    *word |= 1 << (i % 64);
    !was
}

/// Adds the atoms of each required group of a regex (or of one branch of
/// it: `unit`) to an automaton's patterns; returns the mask of all groups.
fn add_groups(
    groups: impl Iterator<Item = Vec<Vec<u8>>>,
    id: PatternId,
    unit: u32,
    is_match: bool,
    table: &mut AtomTable,
) -> u8 {
    let mut mask = 0u8;
    for (g, atoms) in groups.take(atoms::MAX_GROUPS).enumerate() {
        mask |= 1 << g;
        for atom in atoms {
            let group = g as u8;
            let trigger = Trigger {
                pattern: id,
                is_match,
                unit,
                group,
            };
            table.push(atom, trigger);
        }
    }
    mask
}

/// One of the engine's two literal automata: the dense DFA of
/// [`literal_dfa`] when it fits the limits, else the `aho-corasick` crate's
/// contiguous NFA (the fallback tier; see `crate::limits`).
#[derive(Debug)]
enum LiteralMatcher {
    Dfa(Box<LiteralDfa>),
    Nfa(AhoCorasick),
}

impl LiteralMatcher {
    /// Calls `found(literal, start, end)` once for each literal that
    /// occurs, at its first occurrence, in order of `end`.
    #[inline]
    fn for_each_match(
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

    fn memory_usage(&self) -> usize {
        match self {
            LiteralMatcher::Dfa(dfa) => dfa.memory_usage(),
            LiteralMatcher::Nfa(nfa) => nfa.memory_usage(),
        }
    }
}

fn automaton(
    patterns: &[Vec<u8>],
    ascii_ci: bool,
    limits: &crate::limits::CompileLimits,
) -> Result<Option<LiteralMatcher>, crate::EngineError> {
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
            .map_err(|source| crate::EngineError::Automaton { source })
    };
    build(AhoCorasickKind::ContiguousNFA)
        .or_else(|_| build(AhoCorasickKind::NoncontiguousNFA))
        .map(|nfa| Some(LiteralMatcher::Nfa(nfa)))
}

/// When the regex verifiers of an engine are compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verifiers {
    /// All at build time ([`KeywordEngine::compile_verifiers`]), in
    /// parallel: a regex that does not compile (over `max_regex_bytes`) is a
    /// build error, and no scan pays for compiling — the first scan after a
    /// build or a bundle load is as fast as the thousandth. What
    /// `Compiler::build` and bundle loading do. Regex plans found in the
    /// [`PlanCache`] (a loaded bundle's) are reused, not recomputed.
    Eager,
    /// Each on first use, and a regex whose plan is in the [`PlanCache`] is
    /// not even parsed at build time (tests only: it moves the compile
    /// cost onto the first prompts that need each regex). A regex that then
    /// fails to compile never matches.
    #[cfg_attr(not(test), allow(dead_code))]
    Lazy,
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
    ) -> Result<KeywordEngine, crate::EngineError> {
        let patterns = table.patterns;
        let mut tiers = Vec::with_capacity(patterns.len());
        let mut verifiers = Vec::with_capacity(patterns.len());
        let mut folded_lits = AtomTable::default();
        let mut exact_lits = AtomTable::default();
        let mut slow = Vec::new();
        let mut empty = Vec::new();
        let mut folded_regexes = Vec::new();
        let mut groups_needed = vec![1u8; patterns.len()];
        let mut stored_plans = Vec::new();
        for (i, pattern) in patterns.iter().enumerate() {
            let id = PatternId::new(i);
            match pattern {
                KeywordPattern::Literal { text, .. } if text.is_empty() => {
                    empty.push(id);
                    tiers.push(Tier::Empty);
                    verifiers.push(None);
                }
                KeywordPattern::Literal {
                    text,
                    case_sensitive: false,
                } => {
                    let mut lowered = String::new();
                    casefold::lower_into(text, &mut lowered);
                    folded_lits.push(
                        lowered.into_bytes(),
                        Trigger {
                            pattern: id,
                            is_match: true,
                            unit: id.raw(),
                            group: 0,
                        },
                    );
                    tiers.push(Tier::FoldedLiteral);
                    verifiers.push(None);
                }
                KeywordPattern::Literal {
                    text,
                    case_sensitive: true,
                } => {
                    exact_lits.push(
                        text.as_bytes().to_vec(),
                        Trigger {
                            pattern: id,
                            is_match: true,
                            unit: id.raw(),
                            group: 0,
                        },
                    );
                    tiers.push(Tier::ExactLiteral);
                    verifiers.push(None);
                }
                KeywordPattern::Regex {
                    rust,
                    case_insensitive,
                    ..
                } => {
                    let max = limits.max_regex_bytes;
                    let (plan, hir) = match plans.take(rust, *case_insensitive) {
                        Some(planned) => planned,
                        None => {
                            let hir = crate::keyword_regex::hir(rust, *case_insensitive)
                                .map_err(|e| crate::EngineError::regex_syntax(rust, e))?;
                            (plan_regex(&hir, rust, *case_insensitive), Some(hir))
                        }
                    };
                    // The conformance matrix forces every regex into the atomless tier.
                    let plan = if limits.atomless_regexes {
                        RegexPlan::Slow("forced: CompileLimits::atomless_regexes".into())
                    } else {
                        plan
                    };
                    stored_plans.push(plan.clone());
                    let verifier =
                        crate::keyword_regex::LazyVerifier::new(rust, *case_insensitive, max);
                    verifier.keep_parsed(hir);
                    match plan {
                        RegexPlan::Atoms {
                            literals,
                            exact,
                            also,
                        } => {
                            let groups: Vec<Vec<Vec<u8>>> =
                                std::iter::once(literals).chain(also).collect();
                            // Atoms that only trigger verification can move to the
                            // folded automaton, lowered: a case-sensitive occurrence
                            // implies a folded one, so one automaton pass fewer.
                            let lowered: Option<Vec<Vec<Vec<u8>>>> = if exact {
                                None
                            } else {
                                groups.iter().map(|g| lowered_set(g)).collect()
                            };
                            groups_needed[i] = match lowered {
                                Some(lowered) => add_groups(
                                    lowered.into_iter(),
                                    id,
                                    id.raw(),
                                    false,
                                    &mut folded_lits,
                                ),
                                None => add_groups(
                                    groups.into_iter(),
                                    id,
                                    id.raw(),
                                    exact,
                                    &mut exact_lits,
                                ),
                            };
                            tiers.push(if exact {
                                Tier::ExactRegex
                            } else {
                                Tier::AtomRegex
                            });
                        }
                        RegexPlan::FoldedAtoms { literals, also } => {
                            let groups = std::iter::once(literals).chain(also);
                            groups_needed[i] =
                                add_groups(groups, id, id.raw(), false, &mut folded_lits);
                            folded_regexes.push(id);
                            tiers.push(Tier::FoldedAtomRegex);
                        }
                        RegexPlan::Branches(branches) => {
                            for (b, groups) in branches.into_iter().enumerate() {
                                // The first branch counts in the pattern's own unit.
                                let unit = if b == 0 {
                                    id.raw()
                                } else {
                                    groups_needed.push(1);
                                    (groups_needed.len() - 1) as u32
                                };
                                groups_needed[unit as usize] = add_groups(
                                    groups.into_iter(),
                                    id,
                                    unit,
                                    false,
                                    &mut folded_lits,
                                );
                            }
                            if *case_insensitive {
                                folded_regexes.push(id);
                                tiers.push(Tier::FoldedAtomRegex);
                            } else {
                                tiers.push(Tier::AtomRegex);
                            }
                        }
                        RegexPlan::Slow(reason) => {
                            slow.push(id);
                            tiers.push(Tier::SlowRegex { reason });
                        }
                    }
                    verifiers.push(Some(verifier));
                }
            }
        }
        let (exact_atoms, exact_triggers) = exact_lits.finish();
        let exact_gates = gate_exact_pass(&exact_atoms, &mut folded_lits);
        let (folded_atoms, folded_triggers) = folded_lits.finish();
        let engine = KeywordEngine {
            folded: automaton(&folded_atoms, true, limits)?,
            exact: automaton(&exact_atoms, false, limits)?,
            patterns,
            tiers,
            folded_triggers,
            folded_regexes,
            exact_triggers,
            exact_gates,
            groups_needed,
            verifiers,
            slow,
            slow_chars: std::sync::OnceLock::new(),
            slow_set: std::sync::OnceLock::new(),
            max_regex_bytes: limits.max_regex_bytes,
            empty,
            plans: stored_plans,
        };
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
    pub(crate) fn compile_verifiers(&self) -> Result<(), crate::EngineError> {
        let regexes: Vec<&crate::keyword_regex::LazyVerifier> =
            self.verifiers.iter().flatten().collect();
        let compile_one = |v: &&crate::keyword_regex::LazyVerifier| v.compile_all();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(COMPILE_THREADS)
            .min(regexes.len() / COMPILE_CHUNK + 1);
        let first_error = if threads <= 1 {
            regexes.iter().try_for_each(compile_one).err()
        } else {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let worker = || -> Result<(), crate::EngineError> {
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

    /// The tier of a pattern.
    pub(crate) fn tier(&self, p: PatternId) -> &Tier {
        &self.tiers[p.index()]
    }

    /// Approximate heap bytes used by the automata.
    pub(crate) fn memory_usage(&self) -> usize {
        self.folded.as_ref().map_or(0, LiteralMatcher::memory_usage)
            + self.exact.as_ref().map_or(0, LiteralMatcher::memory_usage)
    }

    /// Matches every pattern against `text`, writing into `hits`.
    pub(crate) fn scan(&self, text: &str, hits: &mut KeywordHits) {
        let words = self.len().div_ceil(64);
        hits.matched.clear();
        hits.matched.resize(words, 0);
        hits.triggered.clear();
        hits.triggered.resize(words, 0);
        hits.pending.clear();
        hits.pending.resize(words, 0);
        hits.pending_list.clear();
        hits.spans.resize(self.len(), (0, 0));
        hits.atoms_end.resize(self.len(), 0);
        hits.list.clear();
        hits.groups.resize(self.groups_needed.len(), 0);
        for unit in hits.groups_touched.drain(..) {
            hits.groups[unit as usize] = 0;
        }
        hits.exact_wanted = false;
        hits.ascii = text.is_ascii();
        if casefold::is_blank(text) {
            return;
        }
        for &p in &self.empty {
            self.record(hits, p, 0, 0);
        }
        if let Some(ac) = &self.folded {
            let ascii = hits.ascii;
            let mut lowered = std::mem::take(&mut hits.lowered);
            let mut fold_special = false;
            let haystack = if ascii {
                text
            } else {
                fold_special = casefold::lower_noting_fold_special(text, &mut lowered);
                lowered.as_str()
            };
            let mut found = std::mem::take(&mut hits.found);
            found.clear();
            let mut scratch = std::mem::take(&mut hits.automaton_scratch);
            ac.for_each_match(haystack, &mut scratch, |atom, start, end| {
                if let Some(counts) = hits.atom_counts.as_deref_mut() {
                    counts.hit(true, atom, haystack, start, end);
                }
                if let Some(gates) = &self.exact_gates {
                    hits.exact_wanted |= get_bit(gates, atom);
                }
                for &trigger in self.folded_triggers.of(atom) {
                    let p = trigger.pattern;
                    if get_bit(&hits.matched, p.index()) {
                        continue;
                    }
                    if trigger.is_match {
                        self.record(hits, p, start, end);
                        found.push(p);
                    } else {
                        self.atom_hit(hits, trigger, if ascii { end as u32 } else { 0 });
                    }
                }
            });
            hits.automaton_scratch = scratch;
            if fold_special {
                for &p in &self.folded_regexes {
                    trigger_regex(hits, p);
                }
            }
            if !ascii && !found.is_empty() {
                self.map_folded_spans(text, hits, &found);
            }
            hits.found = found;
            hits.lowered = lowered;
        }
        let exact_wanted = self.exact_gates.is_none() || hits.exact_wanted;
        if let Some(ac) = self.exact.as_ref().filter(|_| exact_wanted) {
            let mut scratch = std::mem::take(&mut hits.automaton_scratch);
            ac.for_each_match(text, &mut scratch, |atom, start, end| {
                if let Some(counts) = hits.atom_counts.as_deref_mut() {
                    counts.hit(false, atom, text, start, end);
                }
                for &trigger in self.exact_triggers.of(atom) {
                    let p = trigger.pattern;
                    if get_bit(&hits.matched, p.index()) {
                        continue;
                    }
                    if trigger.is_match {
                        self.record(hits, p, start, end);
                    } else {
                        self.atom_hit(hits, trigger, end as u32);
                    }
                }
            });
            hits.automaton_scratch = scratch;
        }
        self.trigger_slow(text, hits);
    }

    /// Triggers the atomless regexes that may match `text`: those whose
    /// required characters occur in it, and of those, when there are
    /// several, the ones their regex set reports.
    fn trigger_slow(&self, text: &str, hits: &mut KeywordHits) {
        if self.slow.is_empty() {
            return;
        }
        let chars = self.slow_chars();
        let tested = chars.candidates(text, hits.ascii);
        let may_match =
            |i: usize| i >= required_chars::CharPrefilter::MAX || tested & (1 << i) != 0;
        let left = (0..self.slow.len()).filter(|&i| may_match(i)).count();
        if left >= SLOW_SET_MIN {
            if let Some(set) = self.slow_set() {
                let mut may = hits
                    .slow_may
                    .take()
                    .filter(|m| m.capacity() == set.pattern_len())
                    .unwrap_or_else(|| regex_automata::PatternSet::new(set.pattern_len()));
                may.clear();
                set.which_overlapping_matches(&regex_automata::Input::new(text), &mut may);
                for i in may.iter().map(|i| i.as_usize()).filter(|&i| may_match(i)) {
                    trigger_regex(hits, self.slow[i]);
                }
                hits.slow_may = Some(may);
                return;
            }
        }
        for (i, &p) in self.slow.iter().enumerate() {
            if may_match(i) {
                trigger_regex(hits, p);
            }
        }
    }

    /// The character prefilter of the atomless regexes.
    fn slow_chars(&self) -> &required_chars::CharPrefilter {
        self.slow_chars.get_or_init(|| {
            let sets: Vec<_> = self
                .slow_sources()
                .map(|source| {
                    let (rust, ci) = source?;
                    let hir = crate::keyword_regex::hir(rust, ci).ok()?;
                    required_chars::required(&hir)
                })
                .collect();
            required_chars::CharPrefilter::new(&sets)
        })
    }

    /// The translated source and case-insensitivity of each atomless regex
    /// (`None` for a pattern that is not a regex, which cannot happen).
    fn slow_sources(&self) -> impl Iterator<Item = Option<(&str, bool)>> {
        self.slow.iter().map(|p| match &self.patterns[p.index()] {
            KeywordPattern::Regex {
                rust,
                case_insensitive,
                ..
            } => Some((rust.as_str(), *case_insensitive)),
            KeywordPattern::Literal { .. } => None,
        })
    }

    /// The regex set over the relaxed atomless regexes (None if it does not build).
    fn slow_set(&self) -> Option<&crate::keyword_regex::Verifier> {
        self.slow_set
            .get_or_init(|| {
                let sources: Option<Vec<(&str, bool)>> = self.slow_sources().collect();
                crate::keyword_regex::build_relaxed_set(&sources?, self.max_regex_bytes)
            })
            .as_ref()
    }

    /// The value of pattern `p` in this scan, running its verifier if it is
    /// still pending. Deferring verification until a rule needs the value
    /// skips most of it: a rule already false without the regex never asks.
    /// The pattern with index `i` (for profile reports).
    pub(crate) fn pattern(&self, i: usize) -> Option<&KeywordPattern> {
        self.patterns.get(i)
    }

    pub(crate) fn resolve(&self, text: &str, p: PatternId, hits: &mut KeywordHits) -> bool {
        let i = p.index();
        if get_bit(&hits.pending, i) {
            hits.pending[i / 64] &= !(1 << (i % 64));
            self.verify(text, p, hits);
        }
        hits.is_match(p)
    }

    fn verify(&self, text: &str, p: PatternId, hits: &mut KeywordHits) {
        if let Some(Some(verifier)) = self.verifiers.get(p.index()) {
            // Cannot fail for an engine from `build` (compiled there); for
            // one rebuilt from a table, the regex compiled when the table was made.
            let Ok(regex) = verifier.regex() else {
                return;
            };
            // No match starts before the last atom group's first
            // occurrence minus the longest match (KeywordHits::atoms_end).
            let atoms_end = hits.atoms_end.get(p.index()).map_or(0, |&e| e as usize);
            let mut from = verifier
                .max_len()
                .map_or(0, |n| atoms_end.saturating_sub(n).min(text.len()));
            while !text.is_char_boundary(from) {
                from -= 1;
            }
            // A regex that needs a long run of class characters (base64, hex
            // keys) cannot match where there is none (class_run).
            if let Some(run) = verifier.class_run() {
                if !run.occurs(&text.as_bytes()[from..]) {
                    return;
                }
            }
            let window = regex_automata::Input::new(text).range(from..);
            if !hits.ascii {
                // Unicode `\b` on non-ASCII text: a relaxed regex on the lazy
                // DFA proves most non-matches first, and an earliest-match
                // test stops at the first match end, before the slower
                // search for the leftmost span.
                let input = window.clone().earliest(true);
                if let Some(relaxed) = verifier.relaxed() {
                    if !relaxed.is_match(input.clone()) {
                        return;
                    }
                }
                if !regex.is_match(input) {
                    return;
                }
            }
            // On ASCII text a failed search costs what a failed earliest-match
            // test does, and a successful one finds the span in one pass.
            if let Some(m) = regex.find(window) {
                // A Python `$` before a final newline is translated to `\n?\z`,
                // so such a span includes that newline.
                self.record(hits, p, m.start(), m.end());
            }
        }
    }

    /// An atom of a regex occurred: triggers the regex once all of the
    /// required atom groups of the atom's unit (the regex, or the branch of
    /// it that the atom belongs to) have occurred.
    fn atom_hit(&self, hits: &mut KeywordHits, trigger: Trigger, end: u32) {
        let p = trigger.pattern;
        let unit = trigger.unit as usize;
        let needed = self.groups_needed[unit];
        if needed == 1 {
            trigger_regex_at(hits, p, end);
            return;
        }
        let seen = &mut hits.groups[unit];
        if *seen == 0 {
            hits.groups_touched.push(trigger.unit);
        }
        *seen |= 1 << trigger.group;
        if *seen == needed {
            trigger_regex_at(hits, p, end);
        }
    }

    fn record(&self, hits: &mut KeywordHits, p: PatternId, start: usize, end: usize) {
        if set_bit(&mut hits.matched, p.index()) {
            hits.spans[p.index()] = (start as u32, end as u32);
            hits.list.push(p);
        }
    }

    /// Maps spans found in the lowered prompt back to the original prompt.
    fn map_folded_spans(&self, text: &str, hits: &mut KeywordHits, found: &[PatternId]) {
        let mut offsets: Vec<usize> = found
            .iter()
            .flat_map(|p| {
                let (s, e) = hits.spans[p.index()];
                [s as usize, e as usize]
            })
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        let mapped = casefold::map_offsets(text, &offsets);
        let lookup = |o: u32| {
            offsets
                .binary_search(&(o as usize))
                .ok()
                .map_or(o as usize, |i| mapped[i])
        };
        for p in found {
            let (s, e) = hits.spans[p.index()];
            let (ms, me) = (lookup(s), lookup(e));
            // An end inside a multi-byte lowering maps to that character's start: include it.
            let me = if me <= ms {
                next_char_end(text, ms)
            } else {
                me
            };
            hits.spans[p.index()] = (ms as u32, me as u32);
        }
    }
}

fn next_char_end(text: &str, at: usize) -> usize {
    text.get(at..)
        .and_then(|r| r.chars().next())
        .map_or(at, |c| at + c.len_utf8())
}

#[cfg(test)]
mod tests;
