//! The pest parser generated from `grammar/nova.pest` (the single source of
//! truth for the syntax), and its `Rule` enum. Both the tree builder
//! ([`crate::parser`]) and the syntax-error describer ([`crate::syntax_error`])
//! read it; it imports nothing of this crate. The cost is at build time:
//! pest_derive expands the grammar into this module.

/// The pest parser generated from `grammar/nova.pest`.
#[derive(pest_derive::Parser)]
#[grammar = "../../grammar/nova.pest"]
pub struct NovaGrammar;
