//! Verification: a pending regex run when a rule needs its value, in the
//! narrowest window its atoms allow, with the class-run test first and, for
//! Unicode `\b` on non-ASCII text, the relaxed regex's candidates
//! ([`crate::keywords::keyword_regex::find_by_candidates`]) instead of a PikeVM pass.

use super::*;

impl KeywordEngine {
    /// The pattern with index `i` (for profile reports).
    pub(crate) fn pattern(&self, i: usize) -> Option<&KeywordPattern> {
        self.patterns.get(i)
    }

    /// The value of pattern `p` in this scan, running its verifier if it is
    /// still pending. Deferring verification until a rule needs the value
    /// skips most of it: a rule already false without the regex never asks.
    pub(crate) fn resolve(&self, text: &str, p: PatternId, hits: &mut KeywordHits) -> bool {
        let i = p.index();
        if get_bit(&hits.pending, i) {
            if let Some(word) = hits.pending.get_mut(i / 64) {
                *word &= !(1 << (i % 64));
            }
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
                if !run.occurs(text.as_bytes().get(from..).unwrap_or_default()) {
                    return;
                }
            }
            // Unicode `\b` on non-ASCII text: the lazy DFA cannot evaluate
            // it, so the regex is only tested anchored at the candidates
            // its relaxed form finds on the lazy DFA
            // (keyword_regex::find_by_candidates); elsewhere one search finds
            // the leftmost span (on ASCII text a failed search costs what a
            // failed earliest-match test does).
            let found = match verifier.relaxed().filter(|_| !hits.ascii) {
                Some(relaxed) => crate::keywords::keyword_regex::find_by_candidates(
                    regex,
                    relaxed,
                    text,
                    from,
                    verifier.max_len(),
                ),
                None => regex.find(regex_automata::Input::new(text).range(from..)),
            };
            if let Some(m) = found {
                // A Python `$` before a final newline is translated to `\n?\z`,
                // so such a span includes that newline.
                self.record(hits, p, m.start(), m.end());
            }
        }
    }
}
