//! The stage test: whether a rule's verdict can still change with the
//! values of its semantic (or LLM) variables, so that the scanner calls a
//! model only when the answer matters.
//!
//! [`monotone_signs`] runs once per rule at build time; [`stage_matters`]
//! at build time (the idle verdict) and on a scan just before a stage would
//! run: two evaluations of the rule's bytecode for a condition monotone in
//! the variables, at most 2^[`MAX_ENUMERATED`] otherwise.

use super::bytecode::Program;
use super::truth::{Truth, VarState};
use crate::ir::{Cond, VarId};

/// For each of `vars`: `true` when the condition only ever uses it
/// un-negated (or not at all), `false` when only negated; `None` when some
/// variable occurs both ways.
///
/// With signs, the condition is monotone in those variables (`and`, `or`
/// and `N of` are monotone in three-valued logic too), so its value over
/// every assignment of them lies between its value at the assignment of
/// the signs and at their opposite: whether the variables can change the
/// verdict takes two evaluations instead of `2^k` (see [`stage_matters`]).
pub(crate) fn monotone_signs(cond: &Cond, vars: &[VarId]) -> Option<Vec<bool>> {
    fn walk(cond: &Cond, positive: bool, seen: &mut [(bool, bool)]) {
        let mut mark = |v: &VarId| {
            if let Some(entry) = seen.get_mut(v.index()) {
                if positive {
                    entry.0 = true;
                } else {
                    entry.1 = true;
                }
            }
        };
        match cond {
            Cond::Const(_) => {}
            Cond::Var(v) => mark(v),
            Cond::AtLeast { vars, .. } | Cond::All(vars) => vars.iter().for_each(mark),
            Cond::Not(c) => walk(c, !positive, seen),
            Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| walk(c, positive, seen)),
        }
    }
    let size = vars.iter().map(|v| v.index() + 1).max().unwrap_or(0);
    let mut seen = vec![(false, false); size];
    walk(cond, true, &mut seen);
    vars.iter()
        .map(|v| match seen.get(v.index()) {
            Some((true, true)) => None,
            Some((_, negated)) => Some(!negated),
            None => Some(true),
        })
        .collect()
}

/// Whether the verdict depends on the (unknown) values of `vars`, the other
/// unknown variables staying unknown: true when two assignments of `vars`
/// give different results. Exact for up to [`MAX_ENUMERATED`] variables
/// (2^k evaluations of a few-instruction program, done only on the path that
/// is about to call a model anyway); above that, assumed true. For a
/// condition monotone in `vars` (`signs`: [`monotone_signs`]),
/// two evaluations, at the extremes, are exact at any size.
pub(crate) fn stage_matters(
    program: &Program,
    state: &mut VarState,
    vars: &[VarId],
    signs: Option<&[bool]>,
    stack: &mut Vec<Truth>,
) -> bool {
    if vars.is_empty() {
        return false;
    }
    if let Some(signs) = signs {
        // Monotone in `vars`: the extremes decide (monotone_signs).
        let mut at = |high: bool| {
            for (v, &sign) in vars.iter().zip(signs) {
                state.set(v.index(), Truth::from_bool(sign == high));
            }
            program.eval(state, stack)
        };
        let matters = at(true) != at(false);
        set_all(state, vars, Truth::Unknown);
        return matters;
    }
    if vars.len() > MAX_ENUMERATED {
        return true;
    }
    let mut first = None;
    let mut matters = false;
    for assignment in 0u32..(1 << vars.len()) {
        for (bit, v) in vars.iter().enumerate() {
            state.set(v.index(), Truth::from_bool(assignment & (1 << bit) != 0));
        }
        let result = program.eval(state, stack);
        match first {
            None => first = Some(result),
            Some(f) if f != result => {
                matters = true;
                break;
            }
            Some(_) => {}
        }
    }
    set_all(state, vars, Truth::Unknown);
    matters
}

/// Up to this many semantic (or LLM) variables, [`stage_matters`] is exact.
const MAX_ENUMERATED: usize = 12;

/// Sets every variable of `vars` to `value`.
pub(crate) fn set_all(state: &mut VarState, vars: &[VarId], value: Truth) {
    for v in vars {
        state.set(v.index(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VARS: u32 = 8;

    fn cond() -> impl Strategy<Value = Cond> {
        let var_list = prop::collection::btree_set(0..VARS, 1..5)
            .prop_map(|s| s.into_iter().map(VarId).collect::<Vec<_>>());
        let leaf = prop_oneof![
            any::<bool>().prop_map(Cond::Const),
            (0..VARS).prop_map(|v| Cond::Var(VarId(v))),
            (var_list.clone(), 1u32..4).prop_map(|(vars, n)| {
                let n = n.min(vars.len() as u32);
                Cond::AtLeast { vars, n }
            }),
            var_list.prop_map(Cond::All),
        ];
        leaf.prop_recursive(5, 32, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Cond::And),
                prop::collection::vec(inner, 2..4).prop_map(Cond::Or),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The two-evaluation test for monotone conditions equals enumerating
        /// every assignment; the other variables keep any three-valued state.
        #[test]
        fn monotone_stage_test_equals_enumeration(
            c in cond(),
            split in 1u32..VARS,
            values in prop::collection::vec(0u8..3, VARS as usize),
        ) {
            let program = Program::compile(&c);
            let stage: Vec<VarId> = (0..split).map(VarId).collect();
            let Some(signs) = monotone_signs(&c, &stage) else {
                return Ok(());
            };
            let mut state = VarState::new(VARS as usize);
            for (i, v) in values.into_iter().enumerate() {
                let unknown = (i as u32) < split;
                state.set(i, if unknown { Truth::Unknown } else { [Truth::False, Truth::True, Truth::Unknown][v as usize] });
            }
            let mut stack = Vec::new();
            let fast = stage_matters(&program, &mut state.clone(), &stage, Some(&signs), &mut stack);
            let slow = stage_matters(&program, &mut state, &stage, None, &mut stack);
            prop_assert_eq!(fast, slow, "{:?}", c);
        }
    }
}
