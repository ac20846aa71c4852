//! # novac-fmt
//!
//! The canonical formatter for NOVA `.nov` rules, used by `novac fmt`.
//!
//! ```
//! let messy = "rule  A{\n  keywords:\n   $long_name = \"x\"\n   $b=/y/i\n  // why\n  condition:\n     $long_name   OR $b\n}\n";
//! let tidy = novac_fmt::format_source(messy)?;
//! assert_eq!(tidy, "rule A\n{\n    keywords:\n        $long_name = \"x\"\n        $b         = /y/i\n\n    // why\n    condition:\n        $long_name or $b\n}\n");
//! assert_eq!(novac_fmt::format_source(&tidy)?, tidy); // idempotent
//! # Ok::<(), novac_fmt::FormatError>(())
//! ```
//!
//! ## What it does
//!
//! * sections in the order meta, keywords, semantics, llm, condition, at four
//!   spaces, one blank line between them, lower-case headers;
//! * entries at eight spaces, `=` aligned within each section; pattern text,
//!   regexes, thresholds and meta values exactly as written (no quote or
//!   escape changes: NOVA strings have no escapes);
//! * `{` on its own line after `rule Name : tags`, `}` alone on its line;
//! * conditions re-spaced token by token, operators lower-case, parentheses
//!   and line breaks as written (see [`condition`]);
//! * one blank line between rules, at most one blank line elsewhere, LF line
//!   ends, a final newline, no byte-order mark;
//! * **every comment kept**, attached to what follows it (see [`rule`]).
//!   NOVA has whole-line `//` and `#` comments only (there is no `/* */` in
//!   the grammar); text after `}` or after the `rule` header, which the
//!   reference ignores, is kept as well.
//!
//! ## Safety
//!
//! Only files without errors are formatted ([`FormatError::Invalid`]).
//! Every result is checked before it is returned: the output is compiled
//! again and its checked rules (names, meta, patterns, conditions, which
//! variables are evaluated) must equal the input's, and it must contain the
//! same comments; otherwise [`FormatError::Changed`] is returned and nothing
//! is written.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
// No panics on any input: no byte slicing inside a character, no unchecked
// indexing. Each remaining site carries a one-line `#[allow]` saying why it
// cannot fail. (Tests may index: a panic there is a failed test.)
#![cfg_attr(not(test), deny(clippy::string_slice))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

mod condition;
mod lines;
mod rule;

use lines::{is_comment, Lines};
use novac::{CompileError, Compiler, Diagnostic};

/// Why a source was not formatted.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The source has errors (syntax or checker); nothing is formatted.
    #[error("the rules have {} error(s); fix them first (novac check)", .diagnostics.iter().filter(|d| d.is_error()).count())]
    Invalid {
        /// All diagnostics of the source (errors and warnings).
        diagnostics: Vec<Diagnostic>,
    },
    /// The rules could not be compiled for another reason (limits).
    #[error("cannot compile the rules: {0}")]
    Compile(String),
    /// A line the formatter cannot place (a bug: valid files have none).
    #[error("line {line}: {message}")]
    Unsupported {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The formatted text would mean something else or lose a comment (a bug).
    #[error(
        "formatting would change the rules ({0}); the file was left alone, please report this"
    )]
    Changed(String),
}

/// Formats the text of a `.nov` file.
pub fn format_source(source: &str) -> Result<String, FormatError> {
    let before = checked(source)?;
    let out = layout(source)?;
    let after = checked(&out)
        .map_err(|e| FormatError::Changed(format!("the output does not compile: {e}")))?;
    if before.len() != after.len() {
        return Err(FormatError::Changed("the number of rules differs".into()));
    }
    for (b, a) in before.iter().zip(&after) {
        if b != a {
            let name = b.get("name").and_then(|n| n.as_str()).unwrap_or("?");
            return Err(FormatError::Changed(format!("rule `{name}` differs")));
        }
    }
    let (mut cb, mut ca) = (comments(source), comments(&out));
    cb.sort();
    ca.sort();
    if cb != ca {
        return Err(FormatError::Changed("a comment would be lost".into()));
    }
    Ok(out)
}

/// Whether `source` is already formatted (errors as for [`format_source`]).
pub fn is_formatted(source: &str) -> Result<bool, FormatError> {
    Ok(format_source(source)? == source)
}

/// A unified diff from `original` to `formatted`, with file names `name`.
pub fn diff(name: &str, original: &str, formatted: &str) -> String {
    similar::TextDiff::from_lines(original, formatted)
        .unified_diff()
        .context_radius(3)
        .header(name, &format!("{name} (formatted)"))
        .to_string()
}

/// The checked rules of `source` as JSON values (what a rule means), or the
/// diagnostics when it has errors.
fn checked(source: &str) -> Result<Vec<serde_json::Value>, FormatError> {
    let mut compiler = Compiler::new();
    compiler.allow_missing_model(true);
    match compiler.add_named_source("<source>", source) {
        Ok(_) => {}
        Err(CompileError::Invalid { diagnostics, .. }) => {
            return Err(FormatError::Invalid { diagnostics })
        }
        Err(e) => return Err(FormatError::Compile(e.to_string())),
    }
    let rules = compiler
        .build()
        .map_err(|e| FormatError::Compile(e.to_string()))?;
    rules
        .iter()
        .map(|r| {
            let mut v =
                serde_json::to_value(r.ir()).map_err(|e| FormatError::Compile(e.to_string()))?;
            // The one-line condition text keeps operators as written.
            if let Some(o) = v.as_object_mut() {
                o.remove("condition_text");
            }
            Ok(v)
        })
        .collect()
}

/// The comments of a source: whole-line comments and comments after a
/// `rule` header, trimmed.
fn comments(source: &str) -> Vec<String> {
    let lines = Lines::new(source);
    let mut out: Vec<String> = lines
        .lines
        .iter()
        .filter(|l| l.is_comment())
        .map(|l| l.trimmed().to_string())
        .collect();
    let parsed = novac_syntax::parse(source);
    for r in &parsed.file.rules {
        let junk = rule::header_junk(r, source, &lines);
        if is_comment(junk) {
            out.push(junk.to_string());
        }
    }
    out
}

/// Lays out a source that is known to be valid.
fn layout(source: &str) -> Result<String, FormatError> {
    let parsed = novac_syntax::parse(source);
    let lines = Lines::new(source);
    let mut out: Vec<String> = Vec::new();
    let mut pending_blank = false;
    let mut after_rule = false;
    let top =
        |out: &mut Vec<String>, pending_blank: &mut bool, after_rule: &mut bool, text: &str| {
            if !out.is_empty() && (*pending_blank || *after_rule) {
                out.push(String::new());
            }
            out.push(text.to_string());
            *pending_blank = false;
            *after_rule = false;
        };
    let mut next = 0;
    for r in &parsed.file.rules {
        let first = lines.line_of(r.span.start as usize);
        for i in next..first {
            let line = lines.get(i);
            if line.is_blank() {
                pending_blank = true;
            } else {
                top(
                    &mut out,
                    &mut pending_blank,
                    &mut after_rule,
                    line.trimmed(),
                );
            }
        }
        let formatted = rule::format_rule(r, source, &lines)?;
        if !out.is_empty() && (pending_blank || after_rule) {
            out.push(String::new());
        }
        out.extend(formatted);
        pending_blank = false;
        after_rule = true;
        next = lines.line_of((r.span.end as usize).saturating_sub(1)) + 1;
    }
    for i in next..lines.len() {
        let line = lines.get(i);
        if line.is_blank() {
            pending_blank = true;
        } else {
            top(
                &mut out,
                &mut pending_blank,
                &mut after_rule,
                line.trimmed(),
            );
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    Ok(text)
}
