//! Atom tables: the distinct strings of each literal automaton with the
//! triggers they stand for, the atom groups a regex waits for, and the gate
//! that skips the exact pass. Built once per engine; a scan reads them.

use super::*;

impl AtomTable {
    /// The id of `atom`, adding it (with no triggers) when new.
    pub(super) fn intern(&mut self, atom: Vec<u8>) -> u32 {
        let next = self.atoms.len() as u32;
        let id = *self.ids.entry(atom).or_insert(next);
        if id == next {
            self.atoms.push(Vec::new());
            self.triggers.push(Vec::new());
        }
        id
    }

    pub(super) fn is_empty(&self) -> bool {
        self.atoms.is_empty()
    }

    pub(super) fn push(&mut self, atom: Vec<u8>, trigger: Trigger) {
        let id = self.intern(atom);
        // `intern` made `id` with its trigger list: always found.
        if let Some(list) = self.triggers.get_mut(id as usize) {
            if !list.contains(&trigger) {
                list.push(trigger);
            }
        }
    }

    /// The automaton's patterns (in id order) and the trigger lists.
    pub(super) fn finish(self) -> (Vec<Vec<u8>>, Triggers) {
        let mut atoms = vec![Vec::new(); self.atoms.len()];
        for (atom, id) in self.ids {
            // Ids are 0..len, made by `intern`: always found.
            if let Some(slot) = atoms.get_mut(id as usize) {
                *slot = atom;
            }
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

impl Triggers {
    pub(super) fn of(&self, atom: usize) -> &[Trigger] {
        // `finish` made one start per atom plus the end: an atom id of the
        // same table always finds its range (once per hit, not per byte).
        match (self.starts.get(atom), self.starts.get(atom + 1)) {
            (Some(&s), Some(&e)) => self.list.get(s as usize..e as usize).unwrap_or_default(),
            _ => &[],
        }
    }

    #[cfg(test)]
    pub(super) fn atoms(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }
}

/// Adds the atoms of each required group of a regex (or of one branch of
/// it: `unit`) to an automaton's patterns; returns the mask of all groups.
pub(super) fn add_groups(
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
pub(super) fn gate_exact_pass(exact_atoms: &[Vec<u8>], folded: &mut AtomTable) -> Option<Vec<u64>> {
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
