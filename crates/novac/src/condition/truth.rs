//! Three-valued truth (Kleene logic) and the per-rule variable state it is
//! computed from.
//!
//! A rule's semantic and LLM variables are *unknown* until those expensive
//! stages run. Evaluating the condition with unknowns tells whether the
//! verdict is already decided (`True`/`False`) or still depends on them
//! (`Unknown`), so the stages run only for rules they can still change.

/// True, false, or not known yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Truth {
    /// Definitely false.
    False,
    /// Definitely true.
    True,
    /// Depends on variables not evaluated yet.
    Unknown,
}

impl Truth {
    /// From a boolean.
    pub fn from_bool(b: bool) -> Truth {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }

    /// The verdict of "at least `n` of these", given how many are true and how many unknown.
    pub fn at_least(n: u32, true_count: u32, unknown_count: u32) -> Truth {
        if true_count >= n {
            Truth::True
        } else if true_count + unknown_count >= n {
            Truth::Unknown
        } else {
            Truth::False
        }
    }
}

impl std::ops::Not for Truth {
    type Output = Truth;

    fn not(self) -> Truth {
        match self {
            Truth::False => Truth::True,
            Truth::True => Truth::False,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

/// The values of one rule's variables: two bitsets over [`crate::ir::VarId`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VarState {
    /// Bit set: the variable is true.
    pub truth: Vec<u64>,
    /// Bit set: the variable's value is not known yet (its `truth` bit is clear).
    pub unknown: Vec<u64>,
}

impl VarState {
    /// All `n` variables false.
    pub fn new(n: usize) -> VarState {
        let words = n.div_ceil(64).max(1);
        VarState {
            truth: vec![0; words],
            unknown: vec![0; words],
        }
    }

    /// Resets to all-false for `n` variables, reusing memory.
    pub fn reset(&mut self, n: usize) {
        let words = n.div_ceil(64).max(1);
        // Run for every rule a prompt touches: the common case (same size
        // as the last rule, one word) is two stores, not two `memset` calls.
        if self.truth.len() == words && self.unknown.len() == words {
            self.truth.fill(0);
            self.unknown.fill(0);
            return;
        }
        self.truth.clear();
        self.truth.resize(words, 0);
        self.unknown.clear();
        self.unknown.resize(words, 0);
    }

    /// Sets variable `i`.
    pub fn set(&mut self, i: usize, value: Truth) {
        let (w, b) = (i / 64, 1u64 << (i % 64));
        if w >= self.truth.len() {
            self.truth.resize(w + 1, 0);
            self.unknown.resize(w + 1, 0);
        }
        if let (Some(t), Some(u)) = (self.truth.get_mut(w), self.unknown.get_mut(w)) {
            *t &= !b;
            *u &= !b;
            match value {
                Truth::True => *t |= b,
                Truth::Unknown => *u |= b,
                Truth::False => {}
            }
        }
    }

    /// The value of variable `i`.
    pub fn get(&self, i: usize) -> Truth {
        let (w, b) = (i / 64, 1u64 << (i % 64));
        if self.truth.get(w).is_some_and(|x| x & b != 0) {
            Truth::True
        } else if self.unknown.get(w).is_some_and(|x| x & b != 0) {
            Truth::Unknown
        } else {
            Truth::False
        }
    }

    /// (true count, unknown count) among the variables in `mask`.
    pub fn count(&self, mask: &[u64]) -> (u32, u32) {
        let mut t = 0;
        let mut u = 0;
        for (i, m) in mask.iter().enumerate() {
            t += (self.truth.get(i).copied().unwrap_or(0) & m).count_ones();
            u += (self.unknown.get(i).copied().unwrap_or(0) & m).count_ones();
        }
        (t, u)
    }
}
