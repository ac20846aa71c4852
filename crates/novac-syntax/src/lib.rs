//! # novac-syntax
//!
//! The front end of [novac](https://docs.rs/novac): parses NOVA `.nov`
//! prompt-matching rules into a typed syntax tree with spans, and reports
//! syntax errors as coded [`Diagnostic`]s.
//!
//! The grammar lives in one file, `grammar/nova.pest`, which is the single
//! source of truth for the syntax. This crate does not know what rules mean:
//! name resolution, linting and compilation are done by the `novac` crate.
//!
//! ```
//! let parsed = novac_syntax::parse(r#"
//! rule Greeting {
//!     keywords:
//!         $hello = "hello"
//!     condition:
//!         $hello
//! }
//! "#);
//! assert!(!parsed.has_errors());
//! assert_eq!(parsed.file.rules[0].name.value, "Greeting");
//! ```
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
// No panics on any input: no byte slicing inside a character, no unchecked
// indexing. Each remaining site carries a one-line `#[allow]` saying why it
// cannot fail. (Tests may index: a panic there is a failed test.)
#![cfg_attr(not(test), deny(clippy::string_slice))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod ast;
pub mod codes;
pub mod diagnostic;
mod grammar;
mod parser;
mod reparse;
pub mod span;
mod syntax_error;

pub use diagnostic::{Diagnostic, Label, Severity};
pub use parser::{parse, parse_with_limits, ParseLimits, Parsed, MAX_CONDITION_DEPTH};
pub use reparse::{parse_cached, ParseCache};
pub use span::{LineCol, LineIndex, Span, Spanned};

/// The largest rule source (one file) the parser accepts: 16 MiB.
pub const MAX_SOURCE_LEN: usize = 16 << 20;
