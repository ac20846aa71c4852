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
//! * **atomless regexes** — run on every prompt (`novac check` warns: W104).
//!
//! So a scan is at most two automaton passes plus the regexes whose atoms
//! occurred — and of those, only the ones some rule still needs: a triggered
//! regex stays *pending* until the scanner asks for its value
//! ([`KeywordEngine::resolve`]), which it does not for a rule whose condition
//! is already false without it. One giant DFA over all regexes does not build for real rule
//! sets (see `DESIGN.md`), which is why regexes are verified separately.
//!
//! Blank prompts (Python `not text.strip()`) match no keyword, like the reference.

use crate::atoms::{self, AtomAnalysis};
use crate::casefold;
use crate::ir::KeywordPattern;
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::collections::HashMap;

/// Index of a distinct keyword pattern in the rule set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatternId(pub u32);

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
#[derive(Clone, Debug)]
pub(crate) enum RegexPlan {
    /// Atoms in the exact automaton; `exact`: a hit is a match.
    Atoms { literals: Vec<Vec<u8>>, exact: bool },
    /// Lower-cased atoms in the folded automaton (hits are verified).
    FoldedAtoms(Vec<Vec<u8>>),
    /// No atom: run on every prompt.
    Slow(String),
}

/// Characters for which "the lowered atom occurs in the lowered prompt" is
/// not implied by a case-insensitive regex match: Python's extra case
/// equivalences (`ſ` ~ `s`, `ı` ~ `i`, Greek symbol forms, old Cyrillic
/// forms), `İ` (which lowers to two characters) and `Σ` (whose lower-case
/// depends on its position). A prompt containing one of them verifies every
/// folded-atom regex directly.
fn is_fold_special(c: char) -> bool {
    matches!(
        c as u32,
        0xB5 | 0x130
            | 0x131
            | 0x17F
            | 0x345
            | 0x390
            | 0x3A3
            | 0x3B0
            | 0x3C2
            | 0x3C3
            | 0x3D0
            | 0x3D1
            | 0x3D5
            | 0x3D6
            | 0x3F0
            | 0x3F1
            | 0x3F5
            | 0x1C80
            ..=0x1C88 | 0x1E9B | 0x1FBE | 0x1FD3 | 0x1FE3 | 0xA64B | 0xFB05 | 0xFB06
    )
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
        if let Some(lowered) = folded_atoms(rust) {
            return RegexPlan::FoldedAtoms(lowered);
        }
    }
    match atoms::analyze(hir) {
        AtomAnalysis::Atoms(set) => RegexPlan::Atoms {
            literals: set.literals,
            exact: set.exact,
        },
        AtomAnalysis::NoAtoms { reason } => RegexPlan::Slow(reason),
    }
}

/// The lowered atoms of the case-sensitive reading of `rust`, if every one
/// is at least 2 bytes and free of fold-special characters.
fn folded_atoms(rust: &str) -> Option<Vec<Vec<u8>>> {
    let hir = crate::keyword_regex::hir(rust, false).ok()?;
    let AtomAnalysis::Atoms(set) = atoms::analyze(&hir) else {
        return None;
    };
    let mut lowered = Vec::with_capacity(set.literals.len());
    for atom in &set.literals {
        let text = std::str::from_utf8(atom).ok()?;
        let mut low = String::new();
        casefold::lower_into(text, &mut low);
        if low.len() < atoms::MIN_ATOM_LEN || low.chars().any(is_fold_special) {
            return None;
        }
        lowered.push(low.into_bytes());
    }
    lowered.sort();
    lowered.dedup();
    Some(lowered)
}

/// Plans computed once per distinct regex (the checker's W104 lint and the
/// engine build both need them).
#[derive(Debug, Default)]
pub(crate) struct PlanCache {
    plans: HashMap<(String, bool), RegexPlan>,
}

impl PlanCache {
    /// The plan of a regex, computed on first use.
    pub(crate) fn plan(
        &mut self,
        hir: &regex_syntax::hir::Hir,
        rust: &str,
        case_insensitive: bool,
    ) -> RegexPlan {
        self.plans
            .entry((rust.to_string(), case_insensitive))
            .or_insert_with(|| plan_regex(hir, rust, case_insensitive))
            .clone()
    }
}

/// What one automaton pattern stands for.
#[derive(Clone, Copy, Debug)]
struct Trigger {
    pattern: PatternId,
    /// A hit is a match (else: run the verifier).
    is_match: bool,
}

/// The compiled keyword engine of a rule set.
#[derive(Debug)]
pub(crate) struct KeywordEngine {
    patterns: Vec<KeywordPattern>,
    tiers: Vec<Tier>,
    folded: Option<AhoCorasick>,
    folded_triggers: Vec<Trigger>,
    /// Regexes with folded atoms (verified directly when the prompt has a fold-special character).
    folded_regexes: Vec<PatternId>,
    exact: Option<AhoCorasick>,
    exact_triggers: Vec<Trigger>,
    /// Compiled regexes, by pattern (None for literals).
    verifiers: Vec<Option<crate::keyword_regex::Verifier>>,
    slow: Vec<PatternId>,
    empty: Vec<PatternId>,
}

/// Interns keyword patterns while rules are added.
#[derive(Debug, Default)]
pub(crate) struct PatternTable {
    ids: HashMap<KeywordPattern, PatternId>,
    patterns: Vec<KeywordPattern>,
}

impl PatternTable {
    /// The id of `pattern`, adding it when new.
    pub(crate) fn intern(&mut self, pattern: &KeywordPattern) -> PatternId {
        if let Some(id) = self.ids.get(pattern) {
            return *id;
        }
        let id = PatternId(self.patterns.len() as u32);
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
    lowered: String,
}

impl KeywordHits {
    pub(crate) fn is_match(&self, p: PatternId) -> bool {
        get_bit(&self.matched, p.0 as usize)
    }

    /// Whether the pattern is a regex whose verification is still pending.
    pub(crate) fn is_pending(&self, p: PatternId) -> bool {
        get_bit(&self.pending, p.0 as usize)
    }

    pub(crate) fn span(&self, p: PatternId) -> Option<(usize, usize)> {
        self.is_match(p).then(|| {
            let (s, e) = self.spans[p.0 as usize];
            (s as usize, e as usize)
        })
    }
}

/// Marks a regex as triggered (pending verification), once per scan.
fn trigger_regex(hits: &mut KeywordHits, p: PatternId) {
    if set_bit(&mut hits.triggered, p.0 as usize) {
        set_bit(&mut hits.pending, p.0 as usize);
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

fn automaton(patterns: &[Vec<u8>], ascii_ci: bool) -> Result<Option<AhoCorasick>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let total: usize = patterns.iter().map(Vec::len).sum();
    // A DFA is fastest; beyond this size its memory grows out of proportion
    // and the contiguous NFA is nearly as fast.
    let kind = (total <= 200_000).then_some(AhoCorasickKind::DFA);
    AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .ascii_case_insensitive(ascii_ci)
        .kind(kind)
        .build(patterns)
        .map(Some)
        .map_err(|e| e.to_string())
}

impl KeywordEngine {
    /// Builds the engine over every interned pattern.
    pub(crate) fn build(
        table: PatternTable,
        plans: &mut PlanCache,
    ) -> Result<KeywordEngine, String> {
        let patterns = table.patterns;
        let mut tiers = Vec::with_capacity(patterns.len());
        let mut verifiers = Vec::with_capacity(patterns.len());
        let mut folded_lits = Vec::new();
        let mut folded_triggers = Vec::new();
        let mut exact_lits: Vec<Vec<u8>> = Vec::new();
        let mut exact_triggers = Vec::new();
        let mut slow = Vec::new();
        let mut empty = Vec::new();
        let mut folded_regexes = Vec::new();
        for (i, pattern) in patterns.iter().enumerate() {
            let id = PatternId(i as u32);
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
                    folded_lits.push(lowered.into_bytes());
                    folded_triggers.push(Trigger {
                        pattern: id,
                        is_match: true,
                    });
                    tiers.push(Tier::FoldedLiteral);
                    verifiers.push(None);
                }
                KeywordPattern::Literal {
                    text,
                    case_sensitive: true,
                } => {
                    exact_lits.push(text.as_bytes().to_vec());
                    exact_triggers.push(Trigger {
                        pattern: id,
                        is_match: true,
                    });
                    tiers.push(Tier::ExactLiteral);
                    verifiers.push(None);
                }
                KeywordPattern::Regex {
                    rust,
                    case_insensitive,
                    ..
                } => {
                    let hir = crate::keyword_regex::hir(rust, *case_insensitive)?;
                    let regex = crate::keyword_regex::build_from_hir(&hir)?;
                    match plans.plan(&hir, rust, *case_insensitive) {
                        RegexPlan::Atoms { literals, exact } => {
                            for atom in literals {
                                exact_lits.push(atom);
                                exact_triggers.push(Trigger {
                                    pattern: id,
                                    is_match: exact,
                                });
                            }
                            tiers.push(if exact {
                                Tier::ExactRegex
                            } else {
                                Tier::AtomRegex
                            });
                        }
                        RegexPlan::FoldedAtoms(literals) => {
                            for atom in literals {
                                folded_lits.push(atom);
                                folded_triggers.push(Trigger {
                                    pattern: id,
                                    is_match: false,
                                });
                            }
                            folded_regexes.push(id);
                            tiers.push(Tier::FoldedAtomRegex);
                        }
                        RegexPlan::Slow(reason) => {
                            slow.push(id);
                            tiers.push(Tier::SlowRegex { reason });
                        }
                    }
                    verifiers.push(Some(regex));
                }
            }
        }
        Ok(KeywordEngine {
            folded: automaton(&folded_lits, true)?,
            exact: automaton(&exact_lits, false)?,
            patterns,
            tiers,
            folded_triggers,
            folded_regexes,
            exact_triggers,
            verifiers,
            slow,
            empty,
        })
    }

    /// Number of distinct patterns.
    pub(crate) fn len(&self) -> usize {
        self.patterns.len()
    }

    /// The tier of a pattern.
    pub(crate) fn tier(&self, p: PatternId) -> &Tier {
        &self.tiers[p.0 as usize]
    }

    /// Approximate heap bytes used by the automata.
    pub(crate) fn memory_usage(&self) -> usize {
        self.folded.as_ref().map_or(0, AhoCorasick::memory_usage)
            + self.exact.as_ref().map_or(0, AhoCorasick::memory_usage)
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
        hits.list.clear();
        if casefold::is_blank(text) {
            return;
        }
        for &p in &self.empty {
            self.record(hits, p, 0, 0);
        }
        if let Some(ac) = &self.folded {
            let ascii = text.is_ascii();
            let mut lowered = std::mem::take(&mut hits.lowered);
            let haystack = if ascii {
                text
            } else {
                casefold::lower_into(text, &mut lowered);
                lowered.as_str()
            };
            let mut found = Vec::new();
            for m in ac.find_overlapping_iter(haystack) {
                let trigger = self.folded_triggers[m.pattern().as_usize()];
                let p = trigger.pattern;
                if get_bit(&hits.matched, p.0 as usize) {
                    continue;
                }
                if trigger.is_match {
                    self.record(hits, p, m.start(), m.end());
                    found.push(p);
                } else {
                    trigger_regex(hits, p);
                }
            }
            if !ascii && !self.folded_regexes.is_empty() && text.chars().any(is_fold_special) {
                for &p in &self.folded_regexes {
                    trigger_regex(hits, p);
                }
            }
            if !ascii && !found.is_empty() {
                self.map_folded_spans(text, hits, &found);
            }
            hits.lowered = lowered;
        }
        if let Some(ac) = &self.exact {
            for m in ac.find_overlapping_iter(text) {
                let trigger = self.exact_triggers[m.pattern().as_usize()];
                let p = trigger.pattern;
                if get_bit(&hits.matched, p.0 as usize) {
                    continue;
                }
                if trigger.is_match {
                    self.record(hits, p, m.start(), m.end());
                } else {
                    trigger_regex(hits, p);
                }
            }
        }
        for &p in &self.slow {
            trigger_regex(hits, p);
        }
    }

    /// The value of pattern `p` in this scan, running its verifier if it is
    /// still pending. Deferring verification until a rule needs the value
    /// skips most of it: a rule already false without the regex never asks.
    pub(crate) fn resolve(&self, text: &str, p: PatternId, hits: &mut KeywordHits) -> bool {
        let i = p.0 as usize;
        if get_bit(&hits.pending, i) {
            hits.pending[i / 64] &= !(1 << (i % 64));
            self.verify(text, p, hits);
        }
        hits.is_match(p)
    }

    fn verify(&self, text: &str, p: PatternId, hits: &mut KeywordHits) {
        if let Some(Some(regex)) = self.verifiers.get(p.0 as usize) {
            // Most verifications fail: an earliest-match test stops at the
            // first match end; the leftmost span is computed only on success.
            let input = regex_automata::Input::new(text).earliest(true);
            if !regex.is_match(input) {
                return;
            }
            if let Some(m) = regex.find(text) {
                // A Python `$` before a final newline is translated to `\n?\z`,
                // so such a span includes that newline.
                self.record(hits, p, m.start(), m.end());
            }
        }
    }

    fn record(&self, hits: &mut KeywordHits, p: PatternId, start: usize, end: usize) {
        if set_bit(&mut hits.matched, p.0 as usize) {
            hits.spans[p.0 as usize] = (start as u32, end as u32);
            hits.list.push(p);
        }
    }

    /// Maps spans found in the lowered prompt back to the original prompt.
    fn map_folded_spans(&self, text: &str, hits: &mut KeywordHits, found: &[PatternId]) {
        let mut offsets: Vec<usize> = found
            .iter()
            .flat_map(|p| {
                let (s, e) = hits.spans[p.0 as usize];
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
            let (s, e) = hits.spans[p.0 as usize];
            let (ms, me) = (lookup(s), lookup(e));
            // An end inside a multi-byte lowering maps to that character's start: include it.
            let me = if me <= ms {
                next_char_end(text, ms)
            } else {
                me
            };
            hits.spans[p.0 as usize] = (ms as u32, me as u32);
        }
    }
}

fn next_char_end(text: &str, at: usize) -> usize {
    text.get(at..)
        .and_then(|r| r.chars().next())
        .map_or(at, |c| at + c.len_utf8())
}
