//! Conditions: each rule's `condition:` compiled to postfix bytecode
//! ([`bytecode`]), the plain evaluator it is tested against ([`interp`]),
//! Kleene's three-valued logic they both run in ([`truth`]), and the stage
//! test that decides whether a model call can still change a verdict
//! ([`stage`]).
//!
//! Built by the compiler into each compiled rule, read by every scanner;
//! depends only on [`crate::ir`]. A condition costs a few instructions per
//! variable to evaluate.

pub mod bytecode;
pub mod interp;
pub(crate) mod stage;
pub mod truth;
