//! The plain tree-walking evaluator of a [`Cond`]: the obviously-correct
//! slow path that the bytecode VM ([`crate::bytecode`]) is tested against.

use crate::ir::Cond;
use crate::truth::{Truth, VarState};

/// Evaluates `cond` in three-valued logic.
pub fn eval(cond: &Cond, state: &VarState) -> Truth {
    match cond {
        Cond::Const(b) => Truth::from_bool(*b),
        Cond::Var(v) => state.get(v.index()),
        Cond::Not(c) => !eval(c, state),
        Cond::And(cs) => {
            let mut result = Truth::True;
            for c in cs {
                match eval(c, state) {
                    Truth::False => return Truth::False,
                    Truth::Unknown => result = Truth::Unknown,
                    Truth::True => {}
                }
            }
            result
        }
        Cond::Or(cs) => {
            let mut result = Truth::False;
            for c in cs {
                match eval(c, state) {
                    Truth::True => return Truth::True,
                    Truth::Unknown => result = Truth::Unknown,
                    Truth::False => {}
                }
            }
            result
        }
        Cond::AtLeast { vars, n } => {
            let (mut t, mut u) = (0, 0);
            for v in vars {
                match state.get(v.index()) {
                    Truth::True => t += 1,
                    Truth::Unknown => u += 1,
                    Truth::False => {}
                }
            }
            Truth::at_least(*n, t, u)
        }
        Cond::All(vars) => {
            let (mut t, mut u) = (0, 0);
            for v in vars {
                match state.get(v.index()) {
                    Truth::True => t += 1,
                    Truth::Unknown => u += 1,
                    Truth::False => {}
                }
            }
            Truth::at_least(vars.len() as u32, t, u)
        }
    }
}
