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
//!   contain ([`crate::keywords::atoms`]); they share the second automaton, and a hit
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
//!   `\b` ([`crate::keywords::keyword_regex::LazyVerifier`]): the regex without its
//!   word boundaries runs on the lazy DFA and finds the candidate starts;
//!   the regex itself (whose Unicode `\b` the lazy DFA cannot evaluate on
//!   such text) is only tested anchored at those
//!   ([`crate::keywords::keyword_regex::find_by_candidates`]);
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
//!
//! # Layout
//!
//! The types are here; their code is in `plan` (regex plans and the plan
//! cache), `atom_table` (automaton patterns, triggers, atom groups), `build`
//! (tiers, automata, verifiers compiled ahead), `scan` (the automaton
//! passes) and `verify` (pending regexes), beside the automaton
//! ([`literal_dfa`]) and the prefilters ([`class_run`], [`required_chars`]).

use crate::ir::KeywordPattern;
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use atoms::AtomAnalysis;
use literal_dfa::{DfaScratch, LiteralDfa};
use std::collections::HashMap;

pub(crate) mod atom_counts;
mod atom_table;
pub(crate) mod atoms;
mod build;
pub(crate) mod casefold;
pub(crate) mod class_run;
pub(crate) mod keyword_regex;
pub(crate) mod literal_dfa;
mod plan;
pub(crate) mod pyre;
mod required_chars;
mod scan;
mod verify;

use atom_table::{add_groups, gate_exact_pass};
use plan::lowered_set;
pub(crate) use plan::plan_regex;
use scan::{get_bit, set_bit};

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

/// For each automaton pattern, the triggers it stands for (flattened).
#[derive(Debug, Default)]
struct Triggers {
    starts: Vec<u32>,
    list: Vec<Trigger>,
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
    verifiers: Vec<Option<crate::keywords::keyword_regex::LazyVerifier>>,
    slow: Vec<PatternId>,
    /// The atomless regexes' required characters ([`required_chars`]),
    /// tested in one pass before anything else (built with the engine).
    slow_chars: std::sync::OnceLock<required_chars::CharPrefilter>,
    /// With [`SLOW_SET_MIN`] or more atomless regexes left by that test:
    /// one regex set over their relaxed forms, run once per scan; only the
    /// regexes it reports are triggered (built with the engine; None if it
    /// does not build).
    slow_set: std::sync::OnceLock<Option<crate::keywords::keyword_regex::Verifier>>,
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
    /// Atom occurrences, counted only when a scanner profiles (`Scanner::profile`).
    pub(crate) atom_counts: Option<Box<atom_counts::AtomCounts>>,
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
        if !self.is_match(p) {
            return None;
        }
        let &(s, e) = self.spans.get(p.index())?;
        Some((s as usize, e as usize))
    }
}

/// One of the engine's two literal automata: the dense DFA of
/// [`literal_dfa`] when it fits the limits, else the `aho-corasick` crate's
/// contiguous NFA (the fallback tier; see `crate::limits`).
#[derive(Debug)]
enum LiteralMatcher {
    Dfa(Box<LiteralDfa>),
    Nfa(AhoCorasick),
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

#[cfg(test)]
mod tests;
