//! The stream scanner's literal automaton, stepped one byte at a time
//! across chunk boundaries: the keyword engine's dense DFA when it fits the
//! DFA memory limit, else the `aho-corasick` contiguous NFA. A step is one
//! table lookup (DFA) or a few (NFA); building costs what the keyword
//! engine's literal automaton costs.

use crate::keywords::literal_dfa::LiteralDfa;
use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{Anchored, MatchKind};

/// A literal automaton stepped one byte at a time: the keyword engine's
/// dense DFA ([`LiteralDfa`], one table lookup per byte) whenever its table
/// fits [`crate::CompileLimits::max_dfa_bytes`], whatever the number of
/// literals, as in the keyword scanner; only a DFA over that memory limit
/// falls back to the `aho-corasick` contiguous NFA. States are `u32`: the
/// DFA's row, or the NFA's state id.
#[derive(Debug)]
pub(super) enum Stepper {
    Dfa(Box<LiteralDfa>),
    Nfa(Box<aho_corasick::nfa::contiguous::NFA>),
}

impl Stepper {
    pub(super) fn build(
        patterns: &[Vec<u8>],
        max_dfa_bytes: usize,
    ) -> Result<Option<Stepper>, crate::engine_error::EngineError> {
        if patterns.is_empty() {
            return Ok(None);
        }
        if let Ok(dfa) = LiteralDfa::build(patterns, false, max_dfa_bytes) {
            return Ok(Some(Stepper::Dfa(Box::new(dfa))));
        }
        aho_corasick::nfa::contiguous::Builder::new()
            .match_kind(MatchKind::Standard)
            .build(patterns)
            .map(|nfa| Some(Stepper::Nfa(Box::new(nfa))))
            .map_err(|source| crate::engine_error::EngineError::Automaton { source })
    }

    pub(super) fn start(&self) -> u32 {
        match self {
            Stepper::Dfa(d) => d.start_row(),
            Stepper::Nfa(n) => n.start().as_u32(),
        }
    }

    #[inline]
    pub(super) fn next(&self, state: u32, byte: u8) -> u32 {
        match self {
            Stepper::Dfa(d) => d.next_row(state, byte),
            Stepper::Nfa(n) => n.next(nfa_state(state), byte).as_u32(),
        }
    }

    /// Appends the literals that end at `state`.
    #[inline]
    pub(super) fn matches(&self, state: u32, out: &mut Vec<u32>) {
        match self {
            Stepper::Dfa(d) => d.literals_at(state, out),
            Stepper::Nfa(n) => n.matches(nfa_state(state), out),
        }
    }

    #[cfg(test)]
    pub(super) fn is_dfa(&self) -> bool {
        matches!(self, Stepper::Dfa(_))
    }
}

/// An NFA state id back from its `u32` (always one the NFA handed out).
fn nfa_state(state: u32) -> StateID {
    StateID::new(state as usize).unwrap_or(StateID::ZERO)
}

/// The part of [`Automaton`] used here (by the NFA fallback).
trait AutomatonRef {
    fn start(&self) -> StateID;
    fn next(&self, sid: StateID, byte: u8) -> StateID;
    fn matches(&self, sid: StateID, out: &mut Vec<u32>);
}

impl<A: Automaton> AutomatonRef for A {
    fn start(&self) -> StateID {
        self.start_state(Anchored::No).unwrap_or(StateID::ZERO)
    }
    fn next(&self, sid: StateID, byte: u8) -> StateID {
        self.next_state(Anchored::No, sid, byte)
    }
    fn matches(&self, sid: StateID, out: &mut Vec<u32>) {
        if self.is_match(sid) {
            for i in 0..self.match_len(sid) {
                out.push(self.match_pattern(sid, i).as_u32());
            }
        }
    }
}
