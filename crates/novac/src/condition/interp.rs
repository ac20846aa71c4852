//! The plain tree-walking evaluator of a [`Cond`]: the obviously-correct
//! slow path that the bytecode VM ([`crate::condition::bytecode`]) is tested against.

use crate::condition::truth::{Truth, VarState};
use crate::ir::{Cond, VarId};

/// Evaluates `cond` in three-valued logic.
pub fn eval(cond: &Cond, state: &VarState) -> Truth {
    match cond {
        Cond::Const(b) => Truth::from_bool(*b),
        Cond::Var(v) => state.get(v.index()),
        Cond::Not(c) => !eval(c, state),
        // `and` is `not (not a or not b)`: one loop serves both.
        Cond::And(cs) => !any(cs.iter().map(|c| !eval(c, state))),
        Cond::Or(cs) => any(cs.iter().map(|c| eval(c, state))),
        Cond::AtLeast { vars, n } => {
            let (t, u) = count(vars, state);
            Truth::at_least(*n, t, u)
        }
        Cond::All(vars) => {
            let (t, u) = count(vars, state);
            Truth::at_least(vars.len() as u32, t, u)
        }
    }
}

/// Kleene disjunction: true if any is true, else unknown if any is unknown.
fn any(values: impl Iterator<Item = Truth>) -> Truth {
    let mut result = Truth::False;
    for value in values {
        match value {
            Truth::True => return Truth::True,
            Truth::Unknown => result = Truth::Unknown,
            Truth::False => {}
        }
    }
    result
}

/// How many of `vars` are true, and how many unknown.
fn count(vars: &[VarId], state: &VarState) -> (u32, u32) {
    vars.iter()
        .fold((0, 0), |(t, u), v| match state.get(v.index()) {
            Truth::True => (t + 1, u),
            Truth::Unknown => (t, u + 1),
            Truth::False => (t, u),
        })
}
