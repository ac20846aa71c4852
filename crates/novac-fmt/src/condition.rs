//! Conditions: the expression's source text → canonical lines.
//!
//! The condition is re-spaced token by token, never rebuilt from the tree,
//! so what it means cannot change: the tokens (variables, wildcards,
//! parentheses, operators) stay the same and in the same order. The layout
//! rules are:
//!
//! * one space between tokens, none inside parentheses: `($a or $b) and not $c`;
//! * operators and quantifier words lower-case (`AND` → `and`, `ANY OF` →
//!   `any of`); novac reads them the same, the reference only the lower case;
//! * parentheses are kept exactly as written (none added or removed);
//! * line breaks are kept where the author put them (a long condition stays
//!   split the same way; blank lines inside it are dropped); a continuation
//!   line is indented one level more per open parenthesis;
//! * comment lines inside the condition stay where they are, indented like
//!   the line that follows them.

use crate::lines::{is_comment, is_ws, trim_ws};

/// Words that are operators or quantifier keywords wherever they appear as
/// whole tokens in a valid condition.
const KEYWORDS: [&str; 6] = ["and", "or", "not", "any", "all", "of"];

/// One piece of a formatted condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// A comment line, trimmed.
    Comment(String),
    /// A line of tokens.
    Tokens(Vec<String>),
}

/// Splits the expression text (from its first to its last token, comment
/// lines in between) into pieces, one per non-blank source line.
pub(crate) fn pieces(expr_text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    for line in expr_text.split('\n') {
        let line = trim_ws(line);
        if line.is_empty() {
            continue;
        }
        if is_comment(line) {
            out.push(Piece::Comment(line.to_string()));
            continue;
        }
        out.push(Piece::Tokens(tokens(line)));
    }
    out
}

/// The tokens of one condition line: `(`, `)`, and runs of other non-space characters.
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            let w = std::mem::take(word);
            if KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) {
                out.push(w.to_ascii_lowercase());
            } else {
                out.push(w);
            }
        }
    };
    for c in line.chars() {
        if is_ws(c) {
            flush(&mut word, &mut out);
        } else if c == '(' || c == ')' {
            flush(&mut word, &mut out);
            out.push(c.to_string());
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Renders pieces as lines indented by `indent` spaces (plus four per open
/// parenthesis on continuation lines).
pub(crate) fn render(pieces: &[Piece], indent: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth: usize = 0;
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Comment(text) => {
                // Indent like the next line of tokens.
                let next = pieces.iter().skip(i).find_map(|p| match p {
                    Piece::Tokens(t) => Some(t),
                    Piece::Comment(_) => None,
                });
                let level = next.map_or(depth, |t| line_level(depth, t));
                out.push(format!("{}{text}", " ".repeat(indent + 4 * level)));
            }
            Piece::Tokens(tokens) => {
                let level = line_level(depth, tokens);
                let mut line = " ".repeat(indent + 4 * level);
                let mut previous: Option<&String> = None;
                for t in tokens {
                    let glue = previous.is_none_or(|p| p == "(") || t == ")";
                    previous = Some(t);
                    if !glue {
                        line.push(' ');
                    }
                    line.push_str(t);
                    match t.as_str() {
                        "(" => depth += 1,
                        ")" => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                }
                out.push(line);
            }
        }
    }
    out
}

/// The indentation level of a line that starts at paren `depth`: closing
/// parentheses at its start dedent it.
fn line_level(depth: usize, tokens: &[String]) -> usize {
    let closing = tokens.iter().take_while(|t| *t == ")").count();
    depth.saturating_sub(closing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_case_and_lines() {
        let p = pieces("(  $a  AND($b or keywords.$c*))\n\n  // why\n   OR ANY Of ($p*)");
        assert_eq!(
            render(&p, 8),
            [
                "        ($a and ($b or keywords.$c*))",
                "        // why",
                "        or any of ($p*)",
            ]
        );
        let p = pieces("($a or\n$b\n) and not\n$c");
        assert_eq!(
            render(&p, 8),
            [
                "        ($a or",
                "            $b",
                "        ) and not",
                "        $c"
            ]
        );
    }
}
