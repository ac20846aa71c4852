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
//! occurred. One giant DFA over all regexes does not build for real rule
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
    /// Regex with no usable atom: verified on every prompt.
    SlowRegex {
        /// Why no atom could be found.
        reason: String,
    },
    /// The empty literal: matches every prompt that is not blank.
    Empty,
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
    folded_triggers: Vec<PatternId>,
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
    /// Bit per pattern: verifier already run this scan.
    verified: Vec<u64>,
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

    pub(crate) fn span(&self, p: PatternId) -> Option<(usize, usize)> {
        self.is_match(p).then(|| {
            let (s, e) = self.spans[p.0 as usize];
            (s as usize, e as usize)
        })
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
    pub(crate) fn build(table: PatternTable) -> Result<KeywordEngine, String> {
        let patterns = table.patterns;
        let mut tiers = Vec::with_capacity(patterns.len());
        let mut verifiers = Vec::with_capacity(patterns.len());
        let mut folded_lits = Vec::new();
        let mut folded_triggers = Vec::new();
        let mut exact_lits: Vec<Vec<u8>> = Vec::new();
        let mut exact_triggers = Vec::new();
        let mut slow = Vec::new();
        let mut empty = Vec::new();
        for (i, pattern) in patterns.iter().enumerate() {
            let id = PatternId(i as u32);
            match pattern {
                KeywordPattern::Literal { text, .. } if text.is_empty() => {
                    empty.push(id);
                    tiers.push(Tier::Empty);
                    verifiers.push(None);
                }
                KeywordPattern::Literal { text, case_sensitive: false } => {
                    let mut lowered = String::new();
                    casefold::lower_into(text, &mut lowered);
                    folded_lits.push(lowered.into_bytes());
                    folded_triggers.push(id);
                    tiers.push(Tier::FoldedLiteral);
                    verifiers.push(None);
                }
                KeywordPattern::Literal { text, case_sensitive: true } => {
                    exact_lits.push(text.as_bytes().to_vec());
                    exact_triggers.push(Trigger { pattern: id, is_match: true });
                    tiers.push(Tier::ExactLiteral);
                    verifiers.push(None);
                }
                KeywordPattern::Regex { rust, case_insensitive, .. } => {
                    let hir = crate::keyword_regex::hir(rust, *case_insensitive)?;
                    let regex = crate::keyword_regex::build_from_hir(&hir)?;
                    match atoms::analyze(&hir) {
                        AtomAnalysis::Atoms(set) => {
                            let exact = set.exact;
                            for atom in set.literals {
                                exact_lits.push(atom);
                                exact_triggers.push(Trigger { pattern: id, is_match: exact });
                            }
                            tiers.push(if exact { Tier::ExactRegex } else { Tier::AtomRegex });
                        }
                        AtomAnalysis::NoAtoms { reason } => {
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
        self.folded.as_ref().map_or(0, AhoCorasick::memory_usage) + self.exact.as_ref().map_or(0, AhoCorasick::memory_usage)
    }

    /// Matches every pattern against `text`, writing into `hits`.
    pub(crate) fn scan(&self, text: &str, hits: &mut KeywordHits) {
        let words = self.len().div_ceil(64);
        hits.matched.clear();
        hits.matched.resize(words, 0);
        hits.verified.clear();
        hits.verified.resize(words, 0);
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
                let p = self.folded_triggers[m.pattern().as_usize()];
                if !get_bit(&hits.matched, p.0 as usize) {
                    self.record(hits, p, m.start(), m.end());
                    found.push(p);
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
                } else if set_bit(&mut hits.verified, p.0 as usize) {
                    self.verify(text, p, hits);
                }
            }
        }
        for &p in &self.slow {
            self.verify(text, p, hits);
        }
    }

    fn verify(&self, text: &str, p: PatternId, hits: &mut KeywordHits) {
        if let Some(Some(regex)) = self.verifiers.get(p.0 as usize) {
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
        let lookup = |o: u32| offsets.binary_search(&(o as usize)).ok().map_or(o as usize, |i| mapped[i]);
        for p in found {
            let (s, e) = hits.spans[p.0 as usize];
            let (ms, me) = (lookup(s), lookup(e));
            // An end inside a multi-byte lowering maps to that character's start: include it.
            let me = if me <= ms { next_char_end(text, ms) } else { me };
            hits.spans[p.0 as usize] = (ms as u32, me as u32);
        }
    }
}

fn next_char_end(text: &str, at: usize) -> usize {
    text.get(at..).and_then(|r| r.chars().next()).map_or(at, |c| at + c.len_utf8())
}
