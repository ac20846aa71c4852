//! A dense Aho–Corasick DFA over a set of literals that reports the first
//! occurrence of every literal that occurs, overlaps included (the keyword
//! engine wants to know *which* literals occur, and where first).
//!
//! # Why not the `aho-corasick` crate's DFA
//!
//! Scanning with it is fast, but building it is not: the crate first builds
//! a noncontiguous NFA (a trie with sparse, linked transitions and failure
//! links), then converts that NFA into a DFA. At 1,000 generated rules that
//! took about 40 ms, most of the time needed to load a compiled bundle, and
//! the crate cannot serialize an automaton. The construction here is the
//! textbook one done densely: a trie whose rows are already full DFA rows
//! over byte classes, and one breadth-first pass that fills every missing
//! transition from the failure state's row (complete by then, because a
//! failure state is shallower). That is a few passes over memory, several
//! times faster than the two-step build, and the scan loop is the same
//! one-lookup-per-byte loop.
//!
//! # Layout
//!
//! * `classes` maps each byte to an equivalence class: every byte that occurs
//!   in some literal gets its own class (with ASCII case-insensitivity, both
//!   cases of a letter share one), all other bytes share one class. The
//!   `stride` of a row is the number of classes.
//! * `trans` holds one row of `stride` transitions per state. A transition
//!   is the index of the next state's row (state × stride), with
//!   [`MATCH_FLAG`] set when that state ends at least one literal, so the scan
//!   loop tests one bit per byte.
//! * A state's literals are its own (`own`) and those of the states on its
//!   chain of dictionary suffix links (`out_link`: the nearest state on the
//!   failure chain that ends a literal). Keeping the chain instead of copying
//!   every suffix's literals into each state bounds the tables by the total
//!   literal length, whatever the literals are.
//!
//! # Two streams
//!
//! One DFA step is a table lookup whose address depends on the previous
//! lookup, so a single scan waits for memory on every byte. A long prompt is
//! read as two streams in the same loop, the first half and the second
//! (which starts a literal's length early, so it is in the same states as a
//! single scan from the split on): their lookups do not depend on each
//! other, and the processor runs them side by side. The second stream's
//! first entries into match states are kept and reported after the first
//! stream's, so reports still come in order of end, each literal once.
//! On the generated benchmarks that is about 30% faster at 10 rules and 10%
//! at 100, although it executes more instructions.
//!
//! The automaton is never larger than the limit it is built under: the
//! build stops and reports [`TooLarge`] as soon as the rows would exceed it
//! (the caller then falls back to a contiguous NFA; see `crate::limits`).

/// Set in a transition when the target state ends a literal.
const MATCH_FLAG: u32 = 1 << 31;
/// A transition not filled in yet (only during the build).
const NONE: u32 = u32::MAX;

/// Haystacks at least this long (and four times the longest literal) are
/// read as two streams in one loop: the two halves' state lookups do not
/// wait for each other, so the processor overlaps them, where one stream
/// waits for each lookup before the next.
const TWO_STREAMS_MIN: usize = 128;

/// Scratch space of [`LiteralDfa::for_each_first_match`], reused across scans.
#[derive(Clone, Debug, Default)]
pub(crate) struct DfaScratch {
    /// Per state: reported.
    pub(crate) seen: Marks,
    /// Per state: entered by the second stream after the split.
    second: Marks,
    /// The second stream's first entries into match states: (state, end).
    later: Vec<(u32, u32)>,
}

/// A bit set that remembers which bits it set, so that clearing it for the
/// next scan costs the few bits a scan sets, not the whole set (at 1,000
/// rules the automaton has tens of thousands of states, and zeroing their
/// bits twice per scan was a twelfth of the scan).
#[derive(Clone, Debug, Default)]
pub(crate) struct Marks {
    bits: Vec<u64>,
    set: Vec<u32>,
}

impl Marks {
    /// Makes room for `len` bits, all clear.
    pub(crate) fn reset(&mut self, len: usize) {
        let words = len.div_ceil(64);
        if self.bits.len() == words {
            for &i in &self.set {
                if let Some(word) = self.bits.get_mut(i as usize / 64) {
                    *word = 0;
                }
            }
        } else {
            self.bits.clear();
            self.bits.resize(words, 0);
        }
        self.set.clear();
    }

    pub(crate) fn get(&self, i: usize) -> bool {
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Sets bit `i`; whether it was clear.
    pub(crate) fn mark(&mut self, i: usize) -> bool {
        // `reset` sized the set to the automaton's states; a state out of
        // it is never marked (and so reports as clear: nothing is skipped).
        match self.bits.get_mut(i / 64) {
            Some(word) if *word & (1 << (i % 64)) == 0 => {
                *word |= 1 << (i % 64);
                self.set.push(i as u32);
                true
            }
            _ => false,
        }
    }
}

/// The DFA would need more memory than allowed (or more states than its
/// 31-bit transitions can address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge;

/// See the module docs.
#[derive(Clone, Debug)]
pub(crate) struct LiteralDfa {
    classes: [u8; 256],
    /// Row index → state without a division (see [`RowToState`]).
    row_to_state: RowToState,
    trans: Vec<u32>,
    /// Per state: the range of `own_list` holding the literals it ends.
    own_start: Vec<u32>,
    own_list: Vec<u32>,
    /// Per state: the next state on its failure chain that ends a literal.
    out_link: Vec<u32>,
    /// Byte length of each literal (for match starts).
    lens: Vec<u32>,
    /// The longest literal's length.
    longest: u32,
}

impl LiteralDfa {
    /// Builds the DFA over `literals` (literal `i` is reported as `i`).
    /// With `ascii_case_insensitive`, ASCII letters match either case. The
    /// empty literal never matches (the keyword engine handles it apart).
    ///
    /// Every table is read with `get()`: slots are `state * stride + class`
    /// with `state < trans.len() / stride` and `class < stride`, and states
    /// index vectors of `states` entries, so the fallbacks never run (a slot
    /// out of the table would refuse the build as [`TooLarge`]: the NFA tier).
    pub(crate) fn build(
        literals: &[Vec<u8>],
        ascii_case_insensitive: bool,
        max_bytes: usize,
    ) -> Result<LiteralDfa, TooLarge> {
        let fold = |b: u8| {
            if ascii_case_insensitive {
                b.to_ascii_lowercase()
            } else {
                b
            }
        };
        let (classes, stride) = byte_classes(literals, fold);
        let row_bytes = stride * std::mem::size_of::<u32>();
        let max_states = (max_bytes / row_bytes).min((MATCH_FLAG as usize - 1) / stride);
        let bound = 1 + literals.iter().map(Vec::len).sum::<usize>();

        // The trie, with dense rows (`NONE`: no edge), and its edges as
        // (parent, class, child) in creation order.
        let mut trans = Vec::with_capacity(bound.min(max_states) * stride);
        trans.resize(stride, NONE);
        let mut edges: Vec<(u32, u32, u32)> = Vec::new();
        let mut owner: Vec<(u32, u32)> = Vec::new();
        for (id, literal) in literals.iter().enumerate() {
            if literal.is_empty() {
                continue;
            }
            let mut state = 0usize;
            for &byte in literal {
                let class = usize::from(classes.get(usize::from(byte)).copied().unwrap_or(0));
                let slot = state * stride + class;
                let mut target = trans.get(slot).copied().ok_or(TooLarge)?;
                if target == NONE {
                    let next = trans.len() / stride;
                    if next >= max_states {
                        return Err(TooLarge);
                    }
                    target = next as u32;
                    if let Some(t) = trans.get_mut(slot) {
                        *t = target;
                    }
                    trans.resize(trans.len() + stride, NONE);
                    edges.push((state as u32, class as u32, target));
                }
                state = target as usize;
            }
            owner.push((state as u32, id as u32));
        }
        let states = trans.len() / stride;
        let (own_start, own_list) = group_by_state(states, &mut owner);
        let ends_literal = |s: usize| own_start.get(s) != own_start.get(s + 1);
        let (child_start, children) = children_by_parent(states, &edges);
        let row_to_state = RowToState::new(stride);

        // Breadth-first, each state's row becomes final in one step: a copy
        // of its failure state's row (final already: that state is
        // shallower), with the trie edges put back. Transitions are written
        // in their final form (row index, match flag) as soon as the target
        // is discovered, when its failure and dictionary links are known.
        let mut fail = vec![0u32; states];
        let mut out_link = vec![NONE; states];
        let mut queue: Vec<u32> = Vec::with_capacity(states);
        let encode =
            |child: usize, failure: usize, fail: &mut [u32], out_link: &mut [u32]| -> u32 {
                if let Some(f) = fail.get_mut(child) {
                    *f = failure as u32;
                }
                // The root ends no literal and has no link: depth 1 gets none.
                let link = if ends_literal(failure) {
                    failure as u32
                } else {
                    out_link.get(failure).copied().unwrap_or(NONE)
                };
                if let Some(l) = out_link.get_mut(child) {
                    *l = link;
                }
                let is_match = ends_literal(child) || link != NONE;
                (child * stride) as u32 | if is_match { MATCH_FLAG } else { 0 }
            };
        if let Some(root) = trans.get_mut(..stride) {
            root.fill(0); // the root, not a match state
        }
        for &(class, child) in range_of(&child_start, &children, 0) {
            let row = encode(child as usize, 0, &mut fail, &mut out_link);
            if let Some(t) = trans.get_mut(class as usize) {
                *t = row;
            }
            queue.push(child);
        }
        let mut head = 0;
        while let Some(&state) = queue.get(head) {
            let state = state as usize;
            head += 1;
            let failure = fail.get(state).copied().unwrap_or(0) as usize;
            // The failure state is shallower: its row is final and in the table.
            trans.copy_within(failure * stride..(failure + 1) * stride, state * stride);
            for &(class, child) in range_of(&child_start, &children, state) {
                let child = child as usize;
                let via = trans
                    .get(failure * stride + class as usize)
                    .copied()
                    .ok_or(TooLarge)?;
                let child_failure = row_to_state.state(via & !MATCH_FLAG);
                let row = encode(child, child_failure, &mut fail, &mut out_link);
                if let Some(t) = trans.get_mut(state * stride + class as usize) {
                    *t = row;
                }
                queue.push(child as u32);
            }
        }
        Ok(LiteralDfa {
            classes,
            row_to_state,
            trans,
            own_start,
            own_list,
            out_link,
            lens: literals.iter().map(|l| l.len() as u32).collect(),
            longest: literals.iter().map(Vec::len).max().unwrap_or(0) as u32,
        })
    }

    /// Calls `found(literal, start, end)` once for each literal that occurs
    /// in `haystack`, at its first occurrence (byte offsets; in order of
    /// `end`). `scratch` is reused across scans (sized and cleared here).
    ///
    /// Only first occurrences: a state's literals are reported the first
    /// time the scan enters it, and never again — in a prompt where common
    /// words are atoms, the same match states are entered over and over,
    /// and each later visit then costs one bit test.
    ///
    /// A long haystack is read as two streams at once (see [`TWO_STREAMS_MIN`]).
    #[inline]
    pub(crate) fn for_each_first_match(
        &self,
        haystack: &[u8],
        scratch: &mut DfaScratch,
        mut found: impl FnMut(usize, usize, usize),
    ) {
        let states = self.out_link.len();
        scratch.seen.reset(states);
        let n = haystack.len();
        let longest = self.longest as usize;
        if n < TWO_STREAMS_MIN || n < 4 * longest {
            return self.one_stream(haystack, &mut scratch.seen, &mut found);
        }
        // The first stream reads [0, mid) and reports what it finds at
        // once. The second starts from the root at `from`, early enough to
        // see whole every literal that ends after `mid` (none is longer
        // than `longest`): from there on its states are the ones a single
        // stream would be in. It keeps the first entry into each match
        // state after `mid`, and those are reported, in order, after the
        // first stream, skipping states the first stream reported.
        let mid = (n + longest - 1) / 2;
        let from = mid + 1 - longest;
        scratch.second.reset(states);
        scratch.later.clear();
        let (seen, second, later) = (&mut scratch.seen, &mut scratch.second, &mut scratch.later);
        let step = |at, byte| self.step(at, byte);
        let both = (mid.min(n - from)) / 4 * 4;
        let (mut a, mut b) = (0u32, 0u32);
        // both <= mid < n and from + both <= n: every range below is in bounds.
        let first = haystack.get(..both).unwrap_or_default().chunks_exact(4);
        let other = haystack
            .get(from..from + both)
            .unwrap_or_default()
            .chunks_exact(4);
        for (i, (x, y)) in first.zip(other).enumerate() {
            let (x, y) = (four(x), four(y));
            let (a1, b1) = (step(a, x[0]), step(b, y[0]));
            let (a2, b2) = (step(a1, x[1]), step(b1, y[1]));
            let (a3, b3) = (step(a2, x[2]), step(b2, y[2]));
            let (a4, b4) = (step(a3, x[3]), step(b3, y[3]));
            if (a1 | a2 | a3 | a4 | b1 | b2 | b3 | b4) & MATCH_FLAG != 0 {
                let end = 4 * i;
                for (k, s) in [a1, a2, a3, a4].into_iter().enumerate() {
                    self.entered(s, end + k + 1, seen, &mut found);
                }
                for (k, s) in [b1, b2, b3, b4].into_iter().enumerate() {
                    self.entered_later(s, from + end + k + 1, mid, second, later);
                }
            }
            (a, b) = (a4, b4);
        }
        // The rest of each stream, one byte at a time.
        for (k, &byte) in haystack
            .get(both..mid)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            a = step(a, byte);
            self.entered(a, both + k + 1, seen, &mut found);
        }
        for (k, &byte) in haystack
            .get(from + both..)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            b = step(b, byte);
            self.entered_later(b, from + both + k + 1, mid, second, later);
        }
        for &(state, end) in later.iter() {
            if !seen.get(state as usize) {
                self.report(state as usize, end as usize, seen, &mut found);
            }
        }
    }

    /// The row after `byte` from row `at`.
    #[inline(always)]
    #[allow(
        clippy::indexing_slicing,
        reason = "per-byte transition: rows are multiples of stride below trans.len() (build), and a class is below stride"
    )]
    fn step(&self, at: u32, byte: u8) -> u32 {
        self.trans[(at & !MATCH_FLAG) as usize + self.classes[byte as usize] as usize]
    }

    /// The second stream is in row `at` after the byte ending at `end`:
    /// keeps a match state's first entry after `mid`.
    #[inline(always)]
    fn entered_later(
        &self,
        at: u32,
        end: usize,
        mid: usize,
        second: &mut Marks,
        later: &mut Vec<(u32, u32)>,
    ) {
        if end > mid && at & MATCH_FLAG != 0 {
            let state = self.row_to_state.state(at & !MATCH_FLAG);
            if second.mark(state) {
                later.push((state as u32, end as u32));
            }
        }
    }

    /// Runs the DFA over `haystack` from the root, reporting as it goes.
    #[inline(always)]
    fn one_stream(
        &self,
        haystack: &[u8],
        seen: &mut Marks,
        found: &mut impl FnMut(usize, usize, usize),
    ) {
        let step = |at, byte| self.step(at, byte);
        // Four bytes a step, one test for a match state among them: most
        // steps enter none.
        let mut chunks = haystack.chunks_exact(4);
        let (mut at, mut end) = (0u32, 0usize);
        for chunk in &mut chunks {
            let chunk = four(chunk);
            let s1 = step(at, chunk[0]);
            let s2 = step(s1, chunk[1]);
            let s3 = step(s2, chunk[2]);
            let s4 = step(s3, chunk[3]);
            if (s1 | s2 | s3 | s4) & MATCH_FLAG != 0 {
                for (k, s) in [s1, s2, s3, s4].into_iter().enumerate() {
                    self.entered(s, end + k + 1, seen, found);
                }
            }
            at = s4;
            end += 4;
        }
        for &byte in chunks.remainder() {
            at = step(at, byte);
            end += 1;
            self.entered(at, end, seen, found);
        }
    }

    /// The scan is in row `at` after the byte ending at `end`: reports the
    /// literals of a match state entered for the first time.
    #[inline(always)]
    fn entered(
        &self,
        at: u32,
        end: usize,
        seen: &mut Marks,
        found: &mut impl FnMut(usize, usize, usize),
    ) {
        if at & MATCH_FLAG != 0 {
            let state = self.row_to_state.state(at & !MATCH_FLAG);
            if !seen.get(state) {
                self.report(state, end, seen, found);
            }
        }
    }

    /// The literals ending at `state` (entered for the first time): its own,
    /// then those of the states along its dictionary links, up to the first
    /// state reported before (whose literals, and its links', were
    /// reported then). Marks every state it reports.
    fn report(
        &self,
        mut state: usize,
        end: usize,
        seen: &mut Marks,
        found: &mut impl FnMut(usize, usize, usize),
    ) {
        loop {
            seen.mark(state);
            for &literal in self.own(state) {
                let literal = literal as usize;
                if let Some(&len) = self.lens.get(literal) {
                    found(literal, end - len as usize, end);
                }
            }
            match self.out_link.get(state).copied().unwrap_or(NONE) {
                NONE => return,
                next => {
                    state = next as usize;
                    if seen.get(state) {
                        return;
                    }
                }
            }
        }
    }

    /// The literals `state` ends itself (not along its dictionary links);
    /// `build` made `own_start` one entry longer than the states.
    fn own(&self, state: usize) -> &[u32] {
        range_of(&self.own_start, &self.own_list, state)
    }

    /// The start row, for stepping one byte at a time ([`LiteralDfa::next_row`]).
    pub(crate) fn start_row(&self) -> u32 {
        0
    }

    /// The row after `byte` from `row` (a row from [`LiteralDfa::start_row`]
    /// or from here): the streaming scanner steps across chunks with it.
    #[inline]
    pub(crate) fn next_row(&self, row: u32, byte: u8) -> u32 {
        self.step(row, byte)
    }

    /// Appends every literal that ends where `row` was entered: the state's
    /// own and those along its dictionary links (all of them, every time;
    /// no first-occurrence filter).
    pub(crate) fn literals_at(&self, row: u32, out: &mut Vec<u32>) {
        if row & MATCH_FLAG == 0 {
            return;
        }
        let mut state = self.row_to_state.state(row & !MATCH_FLAG);
        loop {
            out.extend_from_slice(self.own(state));
            match self.out_link.get(state).copied().unwrap_or(NONE) {
                NONE => return,
                next => state = next as usize,
            }
        }
    }

    /// Heap bytes used.
    pub(crate) fn memory_usage(&self) -> usize {
        let words = self.trans.len()
            + self.own_start.len()
            + self.own_list.len()
            + self.out_link.len()
            + self.lens.len();
        words * std::mem::size_of::<u32>()
    }
}

/// Exact division by the stride, as a shift and a multiplication: a row
/// index is always a multiple of the stride, and dividing a multiple of
/// `2^k * m` (m odd) is shifting by `k` and multiplying by the inverse of
/// `m` modulo 2^32. (A `div` on every entered match state was a tenth of
/// the scan time at 1,000 rules.)
#[derive(Clone, Copy, Debug)]
struct RowToState {
    shift: u32,
    inverse: u32,
}

impl RowToState {
    fn new(stride: usize) -> RowToState {
        let stride = stride as u32;
        let shift = stride.trailing_zeros();
        let odd = stride >> shift;
        // Newton's iteration doubles the correct low bits each step: 3 → 48.
        let mut inverse = odd;
        for _ in 0..4 {
            inverse = inverse.wrapping_mul(2u32.wrapping_sub(odd.wrapping_mul(inverse)));
        }
        RowToState { shift, inverse }
    }

    #[inline]
    fn state(self, row: u32) -> usize {
        (row >> self.shift).wrapping_mul(self.inverse) as usize
    }
}

/// The byte classes of `literals` (bytes mapped through `fold` first) and
/// their number: one class per byte that occurs, one for all the others.
fn byte_classes(literals: &[Vec<u8>], fold: impl Fn(u8) -> u8) -> ([u8; 256], usize) {
    let mut used = [false; 256];
    for literal in literals {
        for &byte in literal {
            if let Some(u) = used.get_mut(usize::from(fold(byte))) {
                *u = true;
            }
        }
    }
    let mut class_of_folded = [0u8; 256];
    let others = used.iter().any(|u| !u);
    let mut next = usize::from(others); // class 0: every byte in no literal
    for (class, &u) in class_of_folded.iter_mut().zip(&used) {
        if u {
            *class = next as u8;
            next += 1;
        }
    }
    let mut classes = [0u8; 256];
    for (byte, class) in classes.iter_mut().enumerate() {
        let folded = usize::from(fold(byte as u8));
        *class = class_of_folded.get(folded).copied().unwrap_or(0);
    }
    (classes, next.max(1))
}

/// Entry `i`'s range of `list`, given per entry the start of its range plus
/// a final end (as [`children_by_parent`] and [`group_by_state`] make them);
/// empty for an entry that has none.
fn range_of<'a, T>(starts: &[u32], list: &'a [T], i: usize) -> &'a [T] {
    match (starts.get(i), starts.get(i + 1)) {
        (Some(&s), Some(&e)) => list.get(s as usize..e as usize).unwrap_or_default(),
        _ => &[],
    }
}

/// Turns per-slot counts into range starts: each entry becomes the sum of
/// itself and all before it (entry 0 stays 0: no count lands there).
fn running_sum(counts: &mut [u32]) {
    let mut sum = 0;
    for c in counts {
        sum += *c;
        *c = sum;
    }
}

/// The four bytes of a `chunks_exact(4)` chunk, for the unrolled scan loops.
#[inline(always)]
#[allow(
    clippy::indexing_slicing,
    reason = "per-byte scan: chunks_exact(4) yields slices of exactly four bytes"
)]
fn four(chunk: &[u8]) -> [u8; 4] {
    [chunk[0], chunk[1], chunk[2], chunk[3]]
}

/// The trie edges grouped by parent: per state the start of its range in
/// the list (plus a final end), and `(class, child)` pairs.
fn children_by_parent(states: usize, edges: &[(u32, u32, u32)]) -> (Vec<u32>, Vec<(u32, u32)>) {
    let mut starts = vec![0u32; states + 1];
    for &(parent, _, _) in edges {
        if let Some(count) = starts.get_mut(parent as usize + 1) {
            *count += 1;
        }
    }
    running_sum(&mut starts);
    let mut next = starts.clone();
    let mut children = vec![(0, 0); edges.len()];
    for &(parent, class, child) in edges {
        // Parents are states and the counts above leave room for each edge.
        if let Some(at) = next.get_mut(parent as usize) {
            if let Some(slot) = children.get_mut(*at as usize) {
                *slot = (class, child);
            }
            *at += 1;
        }
    }
    (starts, children)
}

/// Groups `(state, literal)` pairs by state: per state the start of its
/// range (plus a final end), and the literals in state order.
fn group_by_state(states: usize, pairs: &mut [(u32, u32)]) -> (Vec<u32>, Vec<u32>) {
    pairs.sort_unstable();
    let mut starts = vec![0u32; states + 1];
    for &(state, _) in pairs.iter() {
        if let Some(count) = starts.get_mut(state as usize + 1) {
            *count += 1;
        }
    }
    running_sum(&mut starts);
    (starts, pairs.iter().map(|&(_, literal)| literal).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(literals: &[Vec<u8>], haystack: &[u8], ci: bool) -> Vec<(usize, usize, usize)> {
        let norm = |b: &[u8]| -> Vec<u8> {
            if ci {
                b.to_ascii_lowercase()
            } else {
                b.to_vec()
            }
        };
        let hay = norm(haystack);
        let mut out = Vec::new();
        for end in 1..=hay.len() {
            for (id, lit) in literals.iter().enumerate() {
                let lit = norm(lit);
                if !lit.is_empty() && end >= lit.len() && hay[end - lit.len()..end] == lit[..] {
                    out.push((id, end - lit.len(), end));
                }
            }
        }
        out.sort_unstable_by_key(|&(id, s, e)| (e, id, s));
        out
    }

    /// Each literal's first occurrence, as the naive matcher finds them.
    fn first(mut all: Vec<(usize, usize, usize)>) -> Vec<(usize, usize, usize)> {
        let mut seen = std::collections::HashSet::new();
        all.retain(|&(id, _, _)| seen.insert(id));
        all
    }

    /// The DFA's reports, checked to come in order of end, then sorted
    /// like the naive matcher's (one end can end several literals).
    fn dfa_matches(literals: &[Vec<u8>], haystack: &[u8], ci: bool) -> Vec<(usize, usize, usize)> {
        let dfa = LiteralDfa::build(literals, ci, usize::MAX).unwrap();
        // Scratch used before, as a reused one is: by another automaton on
        // another haystack, and by this one on this haystack.
        let mut scratch = DfaScratch::default();
        let other = LiteralDfa::build(&[b"a".to_vec(), b"ab".to_vec()], false, usize::MAX).unwrap();
        other.for_each_first_match(&[b'a'; 200], &mut scratch, |_, _, _| {});
        dfa.for_each_first_match(haystack, &mut scratch, |_, _, _| {});
        let mut out = Vec::new();
        dfa.for_each_first_match(haystack, &mut scratch, |id, s, e| out.push((id, s, e)));
        assert!(
            out.windows(2).all(|w| w[0].2 <= w[1].2),
            "not in order of end: {out:?}"
        );
        out.sort_unstable_by_key(|&(id, s, e)| (e, id, s));
        out
    }

    #[test]
    fn overlapping_and_nested_literals() {
        let lits: Vec<Vec<u8>> = ["he", "she", "his", "hers", "e", "she"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let hay = b"ushers and SHE";
        assert_eq!(
            dfa_matches(&lits, hay, false),
            first(naive(&lits, hay, false))
        );
        assert_eq!(
            dfa_matches(&lits, hay, true),
            first(naive(&lits, hay, true))
        );
    }

    #[test]
    fn empty_literals_never_match_and_no_literals_build() {
        let lits = vec![Vec::new(), b"a".to_vec()];
        assert_eq!(dfa_matches(&lits, b"aa", false), vec![(1, 0, 1)]);
        assert!(dfa_matches(&[], b"anything", true).is_empty());
    }

    #[test]
    fn every_byte_used_needs_no_other_class() {
        let lits: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        let hay: Vec<u8> = (0..=255u8).rev().collect();
        assert_eq!(
            dfa_matches(&lits, &hay, false),
            first(naive(&lits, &hay, false))
        );
    }

    #[test]
    fn refuses_to_grow_past_its_limit() {
        let lits: Vec<Vec<u8>> = (0..100)
            .map(|i| format!("literal{i}").into_bytes())
            .collect();
        assert_eq!(LiteralDfa::build(&lits, false, 4096).unwrap_err(), TooLarge);
        let dfa = LiteralDfa::build(&lits, false, 1 << 20).unwrap();
        assert!(dfa.memory_usage() <= 1 << 20);
    }

    #[test]
    fn row_to_state_divides_exactly() {
        for stride in 1..=256usize {
            let div = RowToState::new(stride);
            for state in [0usize, 1, 2, 3, 1000, 65_537, (1 << 31) / stride - 1] {
                assert_eq!(div.state((state * stride) as u32), state, "stride {stride}");
            }
        }
    }

    proptest! {
        #[test]
        fn equals_naive_matching(
            literals in proptest::collection::vec(proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'A'), Just(0xC3u8), any::<u8>()], 0..5), 0..12),
            haystack in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'B'), Just(0xC3u8), any::<u8>()], 0..300),
            ci in any::<bool>(),
        ) {
            prop_assert_eq!(dfa_matches(&literals, &haystack, ci), first(naive(&literals, &haystack, ci)));
        }

        /// Two streams (long haystacks) over two letters, where literals
        /// straddle the split and recur in both halves.
        #[test]
        fn two_streams_equal_naive_matching(
            literals in proptest::collection::vec("[ab]{1,9}", 1..12),
            haystack in "[ab]{128,300}",
        ) {
            let literals: Vec<Vec<u8>> = literals.into_iter().map(String::into_bytes).collect();
            let haystack = haystack.into_bytes();
            prop_assert_eq!(dfa_matches(&literals, &haystack, false), first(naive(&literals, &haystack, false)));
        }
    }
}
