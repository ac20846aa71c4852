//! Re-parsing an edited file without parsing its unchanged rules again (for
//! the language server, which re-parses on every keystroke).
//!
//! [`parse_cached`] gives the same [`Parsed`] as [`crate::parse`]. It cuts
//! the file into rule chunks with a line scan instead of the pest `outline`
//! rule (falling back to it when a `rule` line is followed by a non-ASCII
//! character, whose Unicode class only pest decides), then looks each chunk's
//! text up in a [`ParseCache`]: a chunk parsed before, wherever it was, is
//! reused with its spans shifted to where it is now; only new or edited
//! chunks go through pest.
//!
//! Cost: one hash of the file's text and one clone of each rule's tree per
//! parse, instead of pest over the whole text. Memory: the text and tree of
//! every chunk of the last parse (older ones are dropped).

use crate::ast::*;
use crate::parser::{
    finish, parse_rule_chunk, parse_with_limits, ChunkParse, ParseLimits, Parsed, Piece,
};
use crate::span::{Span, Spanned};
use std::collections::HashMap;

/// What one chunk parsed to, with spans as if it started at byte 0.
type ChunkResult = ChunkParse;

/// The parsed chunks of the last [`parse_cached`] call, keyed by their text.
#[derive(Default)]
pub struct ParseCache {
    chunks: HashMap<Box<str>, ChunkResult>,
}

/// [`crate::parse`] reusing the chunks of the previous call with the same `cache`.
pub fn parse_cached(source: &str, cache: &mut ParseCache) -> Parsed {
    let limits = ParseLimits::default();
    if source.len() > limits.max_source_len || source.starts_with('\u{FEFF}') {
        return parse_with_limits(source, &limits);
    }
    let Some(pieces) = outline(source) else {
        return parse_with_limits(source, &limits);
    };
    let mut next: HashMap<Box<str>, ChunkResult> = HashMap::with_capacity(cache.chunks.len());
    let mut results = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let Piece::Chunk { start, end } = piece else {
            results.push((piece, None));
            continue;
        };
        let Some(text) = source.get(start..end) else {
            continue;
        };
        let found = match cache.chunks.remove(text) {
            Some(r) => r,
            None => match next.get(text) {
                Some(r) => r.clone(),
                None => parse_rule_chunk(text, 0, limits.max_condition_depth),
            },
        };
        let shifted = shift_result(found.clone(), start);
        next.insert(text.into(), found);
        results.push((piece, Some(shifted)));
    }
    cache.chunks = next;
    finish(source, Vec::new(), results)
}

/// Cuts `source` into rule chunks and lines outside rules, like the pest
/// `outline` rule; `None` when only pest can tell (a `rule` line whose name
/// starts with a non-ASCII character).
fn outline(source: &str) -> Option<Vec<Piece>> {
    let mut out = Vec::new();
    let mut chunk: Option<usize> = None;
    let mut pos = 0;
    for line in source.split_inclusive('\n') {
        let start = pos;
        pos += line.len();
        if starts_rule(line)? {
            if let Some(s) = chunk {
                out.push(Piece::Chunk {
                    start: s,
                    end: start,
                });
            }
            chunk = Some(start);
        } else if chunk.is_none() {
            out.push(Piece::Outside { start, end: pos });
        }
    }
    if let Some(s) = chunk {
        out.push(Piece::Chunk {
            start: s,
            end: source.len(),
        });
    }
    Some(out)
}

/// The grammar's `ws`.
fn is_ws(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\r' | '\u{0B}' | '\u{0C}' | '\u{A0}' | '\u{FEFF}'
    )
}

/// Whether `line` matches `rule_start` (`ws* "rule" ws+ (LETTER | NUMBER | "_")`);
/// `None` when that hinges on a non-ASCII character.
fn starts_rule(line: &str) -> Option<bool> {
    let Some(rest) = line.trim_start_matches(is_ws).strip_prefix("rule") else {
        return Some(false);
    };
    let name = rest.trim_start_matches(is_ws);
    if name.len() == rest.len() {
        return Some(false);
    }
    match name.chars().next() {
        Some(c) if c.is_ascii() => Some(c.is_ascii_alphanumeric() || c == '_'),
        Some(_) => None,
        None => Some(false),
    }
}

fn shift_result(result: ChunkResult, by: usize) -> ChunkResult {
    match result {
        Ok((mut rule, warnings)) => {
            shift_rule(&mut rule, by);
            Ok((rule, warnings.into_iter().map(|d| d.shifted(by)).collect()))
        }
        Err(d) => Err(Box::new(d.shifted(by))),
    }
}

fn span(s: &mut Span, by: usize) {
    *s = s.shift(by);
}

fn spanned<T>(s: &mut Spanned<T>, by: usize) {
    span(&mut s.span, by);
}

// Every function below destructures its node completely (no `..`), so a new
// field with a span does not compile until it is shifted here too.

fn shift_rule(rule: &mut Rule, by: usize) {
    let Rule {
        span: s,
        name,
        tags,
        open_brace,
        sections,
        trailing_text,
    } = rule;
    span(s, by);
    spanned(name, by);
    tags.iter_mut().for_each(|t| spanned(t, by));
    if let Some(b) = open_brace {
        span(b, by);
    }
    if let Some(t) = trailing_text {
        span(t, by);
    }
    for section in sections {
        let Section {
            span: s,
            header,
            body,
        } = section;
        span(s, by);
        span(header, by);
        match body {
            SectionBody::Meta(entries) => entries.iter_mut().for_each(|e| match e {
                MetaEntry::Pair {
                    span: s,
                    key,
                    value,
                } => {
                    span(s, by);
                    spanned(key, by);
                    spanned(value, by);
                }
                MetaEntry::Junk { span: s } => span(s, by),
            }),
            SectionBody::Keywords(entries) => {
                for e in entries {
                    let KeywordEntry {
                        span: s,
                        var,
                        value,
                        threshold,
                    } = e;
                    span(s, by);
                    spanned(var, by);
                    shift_threshold(threshold, by);
                    match value {
                        KeywordValue::Text {
                            text,
                            quote: _,
                            case_marker,
                        } => {
                            spanned(text, by);
                            shift_marker(case_marker, by);
                        }
                        KeywordValue::Regex {
                            body,
                            flags,
                            case_marker,
                        } => {
                            spanned(body, by);
                            spanned(flags, by);
                            shift_marker(case_marker, by);
                        }
                    }
                }
            }
            SectionBody::Semantics(entries) | SectionBody::Llm(entries) => {
                for e in entries {
                    let ScoredEntry {
                        span: s,
                        var,
                        text,
                        threshold,
                    } = e;
                    span(s, by);
                    spanned(var, by);
                    spanned(text, by);
                    shift_threshold(threshold, by);
                }
            }
            SectionBody::Condition(expr) => shift_expr(expr, by),
            SectionBody::Unknown { name: _ } => {}
        }
    }
}

fn shift_threshold(t: &mut Option<Threshold>, by: usize) {
    if let Some(Threshold { text, span: s }) = t {
        spanned(text, by);
        span(s, by);
    }
}

fn shift_marker(m: &mut Option<CaseMarker>, by: usize) {
    if let Some(CaseMarker { span: s, dropped }) = m {
        span(s, by);
        if let Some(d) = dropped {
            span(d, by);
        }
    }
}

fn shift_section_ref(r: &mut SectionRef, by: usize) {
    let SectionRef {
        kind: _,
        written: _,
        span: s,
    } = r;
    span(s, by);
}

fn shift_prefix_ref(r: &mut PrefixRef, by: usize) {
    let PrefixRef { section, prefix } = r;
    if let Some(s) = section {
        shift_section_ref(s, by);
    }
    spanned(prefix, by);
}

/// Iterative (an explicit stack), so no tree shape can overflow the stack.
fn shift_expr(expr: &mut Expr, by: usize) {
    let mut stack: Vec<&mut Expr> = vec![expr];
    while let Some(e) = stack.pop() {
        let Expr { span: s, kind } = e;
        span(s, by);
        match kind {
            ExprKind::Bool(_) | ExprKind::BareWord(_) => {}
            ExprKind::Not(op, inner) => {
                span(&mut op.span, by);
                stack.push(inner);
            }
            ExprKind::And(op, l, r) | ExprKind::Or(op, l, r) => {
                span(&mut op.span, by);
                stack.push(l);
                stack.push(r);
            }
            ExprKind::Paren(inner) => stack.push(inner),
            ExprKind::Var(VarRef { section, name }) => {
                if let Some(sr) = section {
                    shift_section_ref(sr, by);
                }
                spanned(name, by);
            }
            ExprKind::SectionWildcard(sr) => shift_section_ref(sr, by),
            ExprKind::PrefixWildcard(p) => shift_prefix_ref(p, by),
            ExprKind::Quantified { quantifier, target } => {
                spanned(quantifier, by);
                match target {
                    QuantTarget::Section(sr) => shift_section_ref(sr, by),
                    QuantTarget::SectionPrefix(p) | QuantTarget::Group(p) => {
                        shift_prefix_ref(p, by)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &Parsed, b: &Parsed) {
        assert_eq!(format!("{:?}", a.file), format!("{:?}", b.file));
        assert_eq!(
            format!("{:?}", a.diagnostics),
            format!("{:?}", b.diagnostics)
        );
    }

    const TEXT: &str = "// head\nstray text\nrule A : t1 t2 {\n    meta:\n        author = \"x\"\n        junk\n    keywords:\n        $a = \"x\" case:true\n        $r = /ab+c/i\n    semantics:\n        $s = \"y\" (0.5)\n    llm:\n        $l = \"z\"\n    condition:\n        ($a AND not $r) or any of keywords.$p* or 2 of semantics.* or llm.$l or any of ($a*) or keywords.*\n}\ntrailing\n  rule B\n{\n    kewords:\n    condition:\n        $x\n}\nrule C {\n    keywords\n";

    #[test]
    fn equals_the_plain_parse_cold_and_warm() {
        let mut cache = ParseCache::default();
        same(&parse_cached(TEXT, &mut cache), &crate::parse(TEXT));
        // Warm, with every rule moved.
        let moved = format!("\n\n{TEXT}");
        same(&parse_cached(&moved, &mut cache), &crate::parse(&moved));
        let edited = moved.replace("$x", "$xy or true");
        same(&parse_cached(&edited, &mut cache), &crate::parse(&edited));
    }

    #[test]
    fn odd_outlines_fall_back_or_agree() {
        for text in [
            "",
            "\n",
            "rule",
            "rule \n",
            "rulex A\n",
            "rule Ä\n{\n}\n",
            "  rule _a {\n condition:\n true\n}",
            "\u{FEFF}rule A {\n}\n",
            "x\r\nrule A\r\n{\r\n    condition:\r\n        true\r\n}\r\n",
        ] {
            let mut cache = ParseCache::default();
            same(&parse_cached(text, &mut cache), &crate::parse(text));
        }
    }

    #[test]
    fn equals_the_plain_parse_on_the_public_rules() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpus/nova-rules");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return; // the corpus is not on every machine
        };
        let mut cache = ParseCache::default();
        for entry in entries.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            same(&parse_cached(&text, &mut cache), &crate::parse(&text));
            let shifted = format!("// moved\n{text}");
            same(&parse_cached(&shifted, &mut cache), &crate::parse(&shifted));
        }
    }
}
