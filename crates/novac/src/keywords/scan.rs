//! The scan: one or two literal-automaton passes over a prompt, atom hits
//! turned into matches or pending regexes, and the atomless regexes'
//! prefilters. Linear in the prompt; no allocation once the hits are warm.

use super::*;

/// Marks a regex as triggered (pending verification), once per scan, with
/// no known atom position.
pub(super) fn trigger_regex(hits: &mut KeywordHits, p: PatternId) {
    trigger_regex_at(hits, p, 0);
}

/// Triggers regex `p`, whose atoms (of every group) have occurred by byte
/// `atoms_end` of the prompt: no match can start before `atoms_end` minus
/// the regex's longest match ([`KeywordHits::atoms_end`]).
pub(super) fn trigger_regex_at(hits: &mut KeywordHits, p: PatternId, atoms_end: u32) {
    if set_bit(&mut hits.triggered, p.index()) {
        if let Some(at) = hits.atoms_end.get_mut(p.index()) {
            *at = atoms_end;
        }
        set_bit(&mut hits.pending, p.index());
        hits.pending_list.push(p);
    }
}

pub(super) fn get_bit(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

pub(super) fn set_bit(bits: &mut [u64], i: usize) -> bool {
    // The bit sets are sized to the engine's patterns at the start of each scan.
    let Some(word) = bits.get_mut(i / 64) else {
        return false;
    };
    let was = *word & (1 << (i % 64)) != 0;
    *word |= 1 << (i % 64);
    !was
}

impl KeywordEngine {
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
            if let Some(seen) = hits.groups.get_mut(unit as usize) {
                *seen = 0;
            }
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
                // The set holds one regex per atomless pattern, in order.
                for i in may.iter().map(|i| i.as_usize()).filter(|&i| may_match(i)) {
                    if let Some(&p) = self.slow.get(i) {
                        trigger_regex(hits, p);
                    }
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
    pub(super) fn slow_chars(&self) -> &required_chars::CharPrefilter {
        self.slow_chars.get_or_init(|| {
            let sets: Vec<_> = self
                .slow_sources()
                .map(|source| {
                    let (rust, ci) = source?;
                    let hir = crate::keywords::keyword_regex::hir(rust, ci).ok()?;
                    required_chars::required(&hir)
                })
                .collect();
            required_chars::CharPrefilter::new(&sets)
        })
    }

    /// The translated source and case-insensitivity of each atomless regex
    /// (`None` for a pattern that is not a regex, which cannot happen).
    fn slow_sources(&self) -> impl Iterator<Item = Option<(&str, bool)>> {
        self.slow
            .iter()
            .map(|p| match self.patterns.get(p.index()) {
                Some(KeywordPattern::Regex {
                    rust,
                    case_insensitive,
                    ..
                }) => Some((rust.as_str(), *case_insensitive)),
                Some(KeywordPattern::Literal { .. }) | None => None,
            })
    }

    /// The regex set over the relaxed atomless regexes (None if it does not build).
    pub(super) fn slow_set(&self) -> Option<&crate::keywords::keyword_regex::Verifier> {
        self.slow_set
            .get_or_init(|| {
                let sources: Option<Vec<(&str, bool)>> = self.slow_sources().collect();
                crate::keywords::keyword_regex::build_relaxed_set(&sources?, self.max_regex_bytes)
            })
            .as_ref()
    }

    /// An atom of a regex occurred: triggers the regex once all of the
    /// required atom groups of the atom's unit (the regex, or the branch of
    /// it that the atom belongs to) have occurred.
    fn atom_hit(&self, hits: &mut KeywordHits, trigger: Trigger, end: u32) {
        let p = trigger.pattern;
        let unit = trigger.unit as usize;
        // Units are made with their entries in `groups_needed` (build) and
        // `hits.groups` (sized at the start of the scan); were one missing,
        // triggering is the safe answer: verification decides.
        let needed = self.groups_needed.get(unit).copied().unwrap_or(1);
        if needed == 1 {
            trigger_regex_at(hits, p, end);
            return;
        }
        let Some(seen) = hits.groups.get_mut(unit) else {
            trigger_regex_at(hits, p, end);
            return;
        };
        if *seen == 0 {
            hits.groups_touched.push(trigger.unit);
        }
        *seen |= 1 << trigger.group;
        if *seen == needed {
            trigger_regex_at(hits, p, end);
        }
    }

    pub(super) fn record(&self, hits: &mut KeywordHits, p: PatternId, start: usize, end: usize) {
        if set_bit(&mut hits.matched, p.index()) {
            if let Some(span) = hits.spans.get_mut(p.index()) {
                *span = (start as u32, end as u32);
            }
            hits.list.push(p);
        }
    }

    /// Maps spans found in the lowered prompt back to the original prompt.
    fn map_folded_spans(&self, text: &str, hits: &mut KeywordHits, found: &[PatternId]) {
        let mut offsets: Vec<usize> = found
            .iter()
            .filter_map(|p| hits.spans.get(p.index()))
            .flat_map(|&(s, e)| [s as usize, e as usize])
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        let mapped = casefold::map_offsets(text, &offsets);
        let lookup = |o: u32| {
            offsets
                .binary_search(&(o as usize))
                .ok()
                .and_then(|i| mapped.get(i).copied())
                .unwrap_or(o as usize)
        };
        for p in found {
            let Some(&(s, e)) = hits.spans.get(p.index()) else {
                continue;
            };
            let (ms, me) = (lookup(s), lookup(e));
            // An end inside a multi-byte lowering maps to that character's start: include it.
            let me = if me <= ms {
                next_char_end(text, ms)
            } else {
                me
            };
            if let Some(span) = hits.spans.get_mut(p.index()) {
                *span = (ms as u32, me as u32);
            }
        }
    }
}

fn next_char_end(text: &str, at: usize) -> usize {
    text.get(at..)
        .and_then(|r| r.chars().next())
        .map_or(at, |c| at + c.len_utf8())
}
