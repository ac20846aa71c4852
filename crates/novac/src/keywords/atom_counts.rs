//! Counts of automaton atom occurrences, for `Scanner::profile` only: the
//! keyword pass counts into it when a scanner profiles (one `Option` test
//! per automaton hit when it does not). A hash-map update per hit when on.

use std::collections::HashMap;

/// Occurrences of automaton atoms, keyed by (case-folded automaton, atom id).
/// The keyword engine counts into it when a scanner profiles.
#[derive(Clone, Debug, Default)]
pub(crate) struct AtomCounts {
    pub(crate) counts: HashMap<(bool, u32), (u64, String)>,
}

impl AtomCounts {
    /// Counts one occurrence of `atom`, found at `start..end` of `haystack`
    /// (the text is kept from its first occurrence).
    #[inline(never)]
    pub(crate) fn hit(
        &mut self,
        folded: bool,
        atom: usize,
        haystack: &str,
        start: usize,
        end: usize,
    ) {
        let key = (folded, u32::try_from(atom).unwrap_or(u32::MAX));
        let entry = self.counts.entry(key).or_insert_with(|| {
            let bytes = haystack.as_bytes().get(start..end).unwrap_or(&[]);
            (0, String::from_utf8_lossy(bytes).into_owned())
        });
        entry.0 += 1;
    }

    pub(crate) fn merge(&mut self, other: &AtomCounts) {
        for (key, (n, text)) in &other.counts {
            let entry = self.counts.entry(*key).or_insert_with(|| (0, text.clone()));
            entry.0 += n;
        }
    }
}
