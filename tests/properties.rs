//! Property tests: fast paths equal slow paths.
//!
//! * The condition bytecode VM equals the tree-walking interpreter on random
//!   conditions and random three-valued variable states.

use novac::bytecode::Program;
use novac::interp;
use novac::ir::{Cond, VarId};
use novac::{Truth, VarState};
use proptest::prelude::*;

const VARS: u32 = 70; // more than one 64-bit word

fn var_list() -> impl Strategy<Value = Vec<VarId>> {
    prop::collection::btree_set(0..VARS, 1..6).prop_map(|s| s.into_iter().map(VarId).collect())
}

fn cond() -> impl Strategy<Value = Cond> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Cond::Const),
        (0..VARS).prop_map(|v| Cond::Var(VarId(v))),
        (var_list(), 1u32..4).prop_map(|(vars, n)| {
            let n = n.min(vars.len() as u32);
            Cond::AtLeast { vars, n }
        }),
        var_list().prop_map(Cond::All),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Cond::And),
            prop::collection::vec(inner, 2..4).prop_map(Cond::Or),
        ]
    })
}

fn state() -> impl Strategy<Value = VarState> {
    prop::collection::vec(0u8..3, VARS as usize).prop_map(|values| {
        let mut s = VarState::new(VARS as usize);
        for (i, v) in values.into_iter().enumerate() {
            s.set(i, [Truth::False, Truth::True, Truth::Unknown][v as usize]);
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn bytecode_equals_interpreter(c in cond(), s in state()) {
        let program = Program::compile(&c);
        let mut stack = Vec::new();
        prop_assert_eq!(program.eval(&s, &mut stack), interp::eval(&c, &s));
    }

    /// Three-valued evaluation is sound: once all unknowns are fixed, the
    /// result agrees with any definite answer given before.
    #[test]
    fn unknown_is_sound(c in cond(), s in state(), fill in any::<bool>()) {
        let before = interp::eval(&c, &s);
        let mut filled = s.clone();
        for i in 0..VARS as usize {
            if filled.get(i) == Truth::Unknown {
                filled.set(i, Truth::from_bool(fill));
            }
        }
        let after = interp::eval(&c, &filled);
        prop_assert_ne!(after, Truth::Unknown);
        if before != Truth::Unknown {
            prop_assert_eq!(before, after);
        }
    }
}
