//! One rule → its canonical lines.
//!
//! Every line of the rule's source is given a role (header, brace, section
//! header, entry, condition, comment, blank); a line that gets none is an
//! error rather than being dropped. Comments are attached to what follows
//! them, so they travel with their entry or section when sections are put
//! in canonical order:
//!
//! * a comment before an entry stays right before that entry;
//! * a comment before a section header belongs to that section (printed above
//!   the header) unless it is indented deeper than the header, in which case
//!   it closes the previous section (printed after its last entry);
//! * comments before the first section stay at the top of the rule body, and
//!   comments before the closing `}` close the section written last;
//! * a comment after the header on the `rule` line (`rule A { // note`)
//!   becomes the first line of the body.
//!
//! Layout: `rule Name : tags`, `{` on its own line, sections at four spaces in
//! the order meta, keywords, semantics, llm, condition with one blank line
//! between them, entries at eight spaces with their `=` aligned within the
//! section, one blank line kept where the source had blank lines between two
//! entries, values and meta text exactly as written.

use crate::condition::{self, Piece};
use crate::lines::{is_comment, is_ws, trim_ws, Lines};
use crate::FormatError;
use novac_syntax::ast::{MetaEntry, Rule, SectionBody, SectionKind, Threshold};
use novac_syntax::{Span, Spanned};
use std::collections::HashMap;

/// What a printed section line is.
#[derive(Clone, Debug)]
enum Elem {
    Comment(String),
    /// `name = value` (meta key or variable); `value` may be empty.
    Pair {
        name: String,
        value: String,
    },
    /// A meta line without `=`, as written.
    Junk(String),
    Condition(Vec<Piece>),
}

#[derive(Clone, Debug)]
struct Item {
    elem: Elem,
    blank_before: bool,
}

#[derive(Debug)]
struct SectionOut {
    kind: SectionKind,
    lead: Vec<String>,
    items: Vec<Item>,
}

enum Role {
    Brace,
    Header(SectionKind),
    Entry(Elem),
    /// The first line of the condition expression and the index of its last line.
    Condition(Elem, usize),
}

fn rank(kind: SectionKind) -> u8 {
    match kind {
        SectionKind::Meta => 0,
        SectionKind::Keywords => 1,
        SectionKind::Semantics => 2,
        SectionKind::Llm => 3,
        SectionKind::Condition => 4,
    }
}

/// What follows the name on the `rule` line once tags and `{` are taken off
/// (the text the reference ignores), trimmed; empty when there is none.
pub(crate) fn header_junk<'s>(rule: &Rule, src: &'s str, lines: &Lines<'_>) -> &'s str {
    let h = lines.get(lines.line_of(rule.span.start as usize));
    let line_end = h.start + h.text.len();
    let mut pos = rule.name.span.end as usize;
    if let Some(last) = rule.tags.last() {
        pos = last.span.end as usize;
    } else {
        let rest = src.get(pos..line_end).unwrap_or("");
        let r = rest.trim_start_matches(is_ws);
        if r.starts_with(':') {
            pos = line_end - r.len() + 1;
        }
    }
    let mut r = src
        .get(pos..line_end)
        .unwrap_or("")
        .trim_start_matches(is_ws);
    if let Some(brace) = rule.open_brace {
        if (brace.start as usize) < line_end {
            r = r.strip_prefix('{').unwrap_or(r);
        }
    }
    trim_ws(r)
}

/// The raw text after the `=` that follows byte `from`, up to byte `to`, trimmed.
/// The `$var = value (threshold)` element of a keyword, semantic or LLM
/// entry: the value as written, then the threshold as written.
fn pair(src: &str, span: Span, var: &Spanned<String>, threshold: Option<&Threshold>) -> Elem {
    let end = threshold.map_or(span.end, |t| t.span.start);
    let mut value = after_equals(src, var.span.end as usize, end as usize);
    if let Some(t) = threshold {
        value.push_str(&format!(" ({})", t.text.span.text(src)));
    }
    Elem::Pair {
        name: var.value.clone(),
        value,
    }
}

fn after_equals(src: &str, from: usize, to: usize) -> String {
    let text = src.get(from..to.max(from)).unwrap_or("");
    let text = text.trim_start_matches(is_ws);
    let text = text.strip_prefix('=').unwrap_or(text);
    trim_ws(text).to_string()
}

/// Formats `rule`, whose text is in `src` (the whole file).
pub(crate) fn format_rule(
    rule: &Rule,
    src: &str,
    lines: &Lines<'_>,
) -> Result<Vec<String>, FormatError> {
    let h = lines.line_of(rule.span.start as usize);
    let close = lines.line_of((rule.span.end as usize).saturating_sub(1));
    let unsupported = |line: usize, message: &str| FormatError::Unsupported {
        line: line + 1,
        message: message.to_string(),
    };

    // Roles of the lines between the header and the closing brace.
    let mut roles: HashMap<usize, Role> = HashMap::new();
    if let Some(brace) = rule.open_brace {
        let at = lines.line_of(brace.start as usize);
        if at != h {
            roles.insert(at, Role::Brace);
        }
    }
    for section in &rule.sections {
        let at = lines.line_of(section.header.start as usize);
        let Some(kind) = section.body.kind() else {
            return Err(unsupported(at, "unknown section"));
        };
        roles.insert(at, Role::Header(kind));
        let mut entry = |span_start: u32, elem: Elem| {
            roles.insert(lines.line_of(span_start as usize), Role::Entry(elem));
        };
        match &section.body {
            SectionBody::Meta(entries) => {
                for e in entries {
                    match e {
                        MetaEntry::Pair { span, key, .. } => entry(
                            span.start,
                            Elem::Pair {
                                name: key.span.text(src).to_string(),
                                value: after_equals(src, key.span.end as usize, span.end as usize),
                            },
                        ),
                        MetaEntry::Junk { span } => {
                            entry(span.start, Elem::Junk(span.text(src).to_string()))
                        }
                    }
                }
            }
            SectionBody::Keywords(entries) => {
                for e in entries {
                    entry(
                        e.span.start,
                        pair(src, e.span, &e.var, e.threshold.as_ref()),
                    );
                }
            }
            SectionBody::Semantics(entries) | SectionBody::Llm(entries) => {
                for e in entries {
                    entry(
                        e.span.start,
                        pair(src, e.span, &e.var, e.threshold.as_ref()),
                    );
                }
            }
            SectionBody::Condition(expr) => {
                let first = lines.line_of(expr.span.start as usize);
                let last = lines.line_of((expr.span.end as usize).saturating_sub(1));
                let pieces = condition::pieces(expr.span.text(src));
                roles.insert(first, Role::Condition(Elem::Condition(pieces), last));
            }
            SectionBody::Unknown { .. } => {}
        }
    }

    // The header line.
    let junk = header_junk(rule, src, lines);
    let mut head: Vec<String> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    let brace_on_header = rule
        .open_brace
        .is_some_and(|b| lines.line_of(b.start as usize) == h);
    if !junk.is_empty() && !is_comment(junk) {
        // Text the reference ignores: keep the header exactly as written.
        out.push(lines.get(h).trimmed().to_string());
        if !brace_on_header {
            out.push("{".to_string());
        }
    } else {
        let mut header = format!("rule {}", rule.name.value);
        if !rule.tags.is_empty() {
            header.push_str(" :");
            for t in &rule.tags {
                header.push(' ');
                header.push_str(&t.value);
            }
        }
        out.push(header);
        out.push("{".to_string());
        if !junk.is_empty() {
            head.push(junk.to_string());
        }
    }

    // Walk the body lines.
    let mut sections: Vec<SectionOut> = Vec::new();
    let mut current: Option<usize> = None;
    let mut pending: Vec<(String, usize, bool)> = Vec::new();
    let mut blank = false;
    let mut i = h + 1;
    while i < close {
        let line = lines.get(i);
        match roles.remove(&i) {
            Some(Role::Brace) => {}
            Some(Role::Header(kind)) => {
                let indent = line.indent();
                let mut lead = Vec::new();
                for (text, ind, bb) in pending.drain(..) {
                    match current.and_then(|c| sections.get_mut(c)) {
                        Some(section) if lead.is_empty() && ind > indent => {
                            let bb = bb && !section.items.is_empty();
                            section.items.push(Item {
                                elem: Elem::Comment(text),
                                blank_before: bb,
                            });
                        }
                        Some(_) => lead.push(text),
                        None => head.push(text),
                    }
                }
                sections.push(SectionOut {
                    kind,
                    lead,
                    items: Vec::new(),
                });
                current = Some(sections.len() - 1);
                blank = false;
            }
            Some(role @ (Role::Entry(_) | Role::Condition(..))) => {
                let Some(section) = current.and_then(|c| sections.get_mut(c)) else {
                    return Err(unsupported(i, "entry outside a section"));
                };
                let items = &mut section.items;
                for (text, _, bb) in pending.drain(..) {
                    let bb = bb && !items.is_empty();
                    items.push(Item {
                        elem: Elem::Comment(text),
                        blank_before: bb,
                    });
                }
                let bb = blank && !items.is_empty();
                let (elem, last) = match role {
                    Role::Entry(elem) => (elem, i),
                    Role::Condition(elem, last) => (elem, last),
                    _ => unreachable_role()?,
                };
                items.push(Item {
                    elem,
                    blank_before: bb,
                });
                blank = false;
                i = last;
            }
            None if line.is_blank() => blank = true,
            None if line.is_comment() => {
                pending.push((line.trimmed().to_string(), line.indent(), blank));
                blank = false;
            }
            None => return Err(unsupported(i, "this line is not part of any entry")),
        }
        i += 1;
    }
    let close_line = lines.get(close);
    let mut tail = Vec::new();
    for (text, _, bb) in pending.drain(..) {
        match current.and_then(|c| sections.get_mut(c)) {
            Some(section) => {
                let bb = bb && !section.items.is_empty();
                section.items.push(Item {
                    elem: Elem::Comment(text),
                    blank_before: bb,
                });
            }
            _ => tail.push(text),
        }
    }

    // Print.
    sections.sort_by_key(|s| rank(s.kind));
    for c in &head {
        out.push(format!("    {c}"));
    }
    for (k, s) in sections.iter().enumerate() {
        if k > 0 {
            out.push(String::new());
        }
        for c in &s.lead {
            out.push(format!("    {c}"));
        }
        out.push(format!("    {}:", s.kind.name()));
        let width = s
            .items
            .iter()
            .filter_map(|it| match &it.elem {
                Elem::Pair { name, .. } => Some(name.chars().count()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        for it in &s.items {
            if it.blank_before {
                out.push(String::new());
            }
            match &it.elem {
                Elem::Comment(t) | Elem::Junk(t) => out.push(format!("        {t}")),
                Elem::Pair { name, value } if value.is_empty() => {
                    out.push(format!("        {name:<width$} ="))
                }
                Elem::Pair { name, value } => out.push(format!("        {name:<width$} = {value}")),
                Elem::Condition(pieces) => out.extend(condition::render(pieces, 8)),
            }
        }
    }
    for c in &tail {
        out.push(format!("    {c}"));
    }
    let close_end = close_line.start + close_line.text.len();
    let suffix = trim_ws(src.get(rule.span.end as usize..close_end).unwrap_or(""));
    if suffix.is_empty() {
        out.push("}".to_string());
    } else {
        out.push(format!("}} {suffix}"));
    }
    Ok(out)
}

fn unreachable_role() -> Result<(Elem, usize), FormatError> {
    Err(FormatError::Unsupported {
        line: 0,
        message: "internal: unexpected line role".to_string(),
    })
}
