//! Condition bytecode: each rule's [`Cond`] compiled to a short postfix
//! program over the rule's variable bitsets ([`VarState`]).
//!
//! Quantifiers and wildcards were expanded to variable lists by the checker;
//! here each list becomes a bit mask, so `any of keywords.*`, `3 of ($p*)` or
//! `all of semantics` is one popcount over one or two words instead of a loop
//! over names. The program runs on a small stack of [`Truth`] values in
//! three-valued logic. [`crate::condition::interp`] is the reference it is tested against.

use crate::condition::truth::{Truth, VarState};
use crate::ir::{Cond, VarId};
use serde::{Deserialize, Serialize};

/// One instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Push a constant.
    Const(bool),
    /// Push a variable's value.
    Var(u32),
    /// Negate the top of the stack.
    Not,
    /// Pop `n` values, push their conjunction.
    And(u32),
    /// Pop `n` values, push their disjunction.
    Or(u32),
    /// Push "at least `n` of the variables in mask `mask` are true".
    AtLeast {
        /// Index of the mask in [`Program::masks`].
        mask: u32,
        /// The threshold (≥ 1).
        n: u32,
    },
    /// Push "every variable in mask `mask` is true".
    All {
        /// Index of the mask in [`Program::masks`].
        mask: u32,
    },
}

/// The compiled condition of one rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// Postfix instructions.
    pub ops: Vec<Op>,
    /// Variable masks used by `AtLeast` and `All`.
    pub masks: Vec<Vec<u64>>,
    /// The deepest the stack gets.
    pub max_stack: usize,
}

impl Program {
    /// Compiles a condition.
    pub fn compile(cond: &Cond) -> Program {
        let mut program = Program::default();
        let mut depth = 0;
        program.emit(cond, &mut depth);
        program
    }

    fn mask(&mut self, vars: &[VarId]) -> u32 {
        let words = vars.iter().map(|v| v.index() / 64 + 1).max().unwrap_or(1);
        let mut mask = vec![0u64; words];
        for v in vars {
            if let Some(word) = mask.get_mut(v.index() / 64) {
                *word |= 1 << (v.index() % 64);
            }
        }
        if let Some(i) = self.masks.iter().position(|m| *m == mask) {
            return i as u32;
        }
        self.masks.push(mask);
        (self.masks.len() - 1) as u32
    }

    fn push(&mut self, op: Op, depth: &mut usize) {
        *depth += 1;
        self.max_stack = self.max_stack.max(*depth);
        self.ops.push(op);
    }

    fn emit(&mut self, cond: &Cond, depth: &mut usize) {
        match cond {
            Cond::Const(b) => self.push(Op::Const(*b), depth),
            Cond::Var(v) => self.push(Op::Var(v.0), depth),
            Cond::Not(c) => {
                self.emit(c, depth);
                self.ops.push(Op::Not);
            }
            Cond::And(cs) | Cond::Or(cs) => {
                for c in cs {
                    self.emit(c, depth);
                }
                let n = cs.len() as u32;
                *depth = depth.saturating_sub(cs.len()) + 1;
                self.ops.push(if matches!(cond, Cond::And(_)) {
                    Op::And(n)
                } else {
                    Op::Or(n)
                });
            }
            Cond::AtLeast { vars, n } => {
                let mask = self.mask(vars);
                self.push(Op::AtLeast { mask, n: *n }, depth);
            }
            Cond::All(vars) => {
                let mask = self.mask(vars);
                self.push(Op::All { mask }, depth);
            }
        }
    }

    /// Runs the program. `stack` is scratch space reused between calls.
    pub fn eval(&self, state: &VarState, stack: &mut Vec<Truth>) -> Truth {
        stack.clear();
        for op in &self.ops {
            let value = match *op {
                Op::Const(b) => Truth::from_bool(b),
                Op::Var(v) => state.get(v as usize),
                Op::Not => match stack.pop() {
                    Some(t) => !t,
                    None => return Truth::Unknown,
                },
                Op::And(n) | Op::Or(n) => {
                    let is_and = matches!(op, Op::And(_));
                    let at = stack.len().saturating_sub(n as usize);
                    let mut acc = if is_and { Truth::True } else { Truth::False };
                    for &t in stack.get(at..).unwrap_or_default() {
                        acc = match (is_and, acc, t) {
                            (true, Truth::False, _) | (true, _, Truth::False) => Truth::False,
                            (true, Truth::Unknown, _) | (true, _, Truth::Unknown) => Truth::Unknown,
                            (true, _, _) => Truth::True,
                            (false, Truth::True, _) | (false, _, Truth::True) => Truth::True,
                            (false, Truth::Unknown, _) | (false, _, Truth::Unknown) => {
                                Truth::Unknown
                            }
                            (false, _, _) => Truth::False,
                        };
                    }
                    stack.truncate(at);
                    acc
                }
                Op::AtLeast { mask, n } => {
                    let Some(m) = self.masks.get(mask as usize) else {
                        return Truth::Unknown;
                    };
                    let (t, u) = state.count(m);
                    Truth::at_least(n, t, u)
                }
                Op::All { mask } => {
                    let Some(m) = self.masks.get(mask as usize) else {
                        return Truth::Unknown;
                    };
                    let total: u32 = m.iter().map(|w| w.count_ones()).sum();
                    let (t, u) = state.count(m);
                    Truth::at_least(total, t, u)
                }
            };
            stack.push(value);
        }
        stack.pop().unwrap_or(Truth::False)
    }
}
