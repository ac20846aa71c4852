//! The language features of `novac lsp`, each a pure function of an open
//! [`Document`] (and a request's parameters) to an LSP result: hover,
//! definition, references, rename, symbols, completion, formatting, code
//! actions and semantic tokens. Each walks one rule's syntax tree or the
//! lines around the cursor, so it costs microseconds per request.

use super::document::{self, condition, definitions, var_refs, Document};
use lsp_types::*;
use novac::syntax::ast::{self, ExprKind, MetaEntry, QuantTarget, SectionBody, SectionKind};
use novac::{codes, Span};
use std::collections::HashMap;

/// What is under the cursor.
pub enum Target<'a> {
    /// A variable (definition or reference) in a rule.
    Var(&'a ast::Rule, String, Span),
    /// A rule's name.
    Rule(&'a ast::Rule),
}

/// The variable or rule name at `offset`.
pub fn target_at(doc: &Document, offset: usize) -> Option<Target<'_>> {
    let rule = doc.rule_at(offset)?;
    let inside = |s: Span| (s.start as usize) <= offset && offset <= s.end as usize;
    if inside(rule.name.span) {
        return Some(Target::Rule(rule));
    }
    for d in definitions(rule) {
        if inside(d.name.span) {
            return Some(Target::Var(rule, d.name.value.clone(), d.name.span));
        }
    }
    let mut refs = Vec::new();
    if let Some(c) = condition(rule) {
        var_refs(c, &mut refs);
    }
    refs.into_iter()
        .find(|r| inside(r.span))
        .map(|r| Target::Var(rule, r.value.clone(), r.span))
}

/// Every span naming variable `name` in `rule`: definitions first.
pub fn occurrences(rule: &ast::Rule, name: &str, with_definition: bool) -> Vec<Span> {
    let mut out = Vec::new();
    if with_definition {
        out.extend(
            definitions(rule)
                .iter()
                .filter(|d| d.name.value == name)
                .map(|d| d.name.span),
        );
    }
    let mut refs = Vec::new();
    if let Some(c) = condition(rule) {
        var_refs(c, &mut refs);
    }
    out.extend(refs.iter().filter(|r| r.value == name).map(|r| r.span));
    out
}

/// Hover text for `$var` or a rule name.
pub fn hover(doc: &Document, offset: usize) -> Option<Hover> {
    let (text, span) = match target_at(doc, offset)? {
        Target::Var(rule, name, span) => {
            let defs = definitions(rule);
            let def = defs.iter().find(|d| d.name.value == name);
            let mut text = match def {
                Some(d) => {
                    let mut t = format!(
                        "**{name}** ({})\n\n```\n{}\n```\n",
                        d.section.name(),
                        d.pattern
                    );
                    match (d.section, d.score) {
                        (SectionKind::Semantics, s) => t.push_str(&format!(
                            "\nthreshold: {}\n",
                            s.map_or(
                                format!("{} (default)", novac::DEFAULT_SEMANTIC_THRESHOLD),
                                str::to_string
                            )
                        )),
                        (SectionKind::Llm, s) => t.push_str(&format!(
                            "\ntemperature: {}\n",
                            s.map_or(
                                format!("{} (default)", novac::DEFAULT_LLM_TEMPERATURE),
                                str::to_string
                            )
                        )),
                        _ => {}
                    }
                    t
                }
                None => format!("**{name}**: not defined in rule `{}`\n", rule.name.value),
            };
            let uses = occurrences(rule, &name, false);
            let mut lines: Vec<String> = uses
                .iter()
                .map(|s| format!("line {}", doc.position(s.start as usize).line + 1))
                .collect();
            if let (Some(c), Some(d)) = (condition(rule), def) {
                let mut wild = Vec::new();
                document::walk(c, &mut |e| {
                    if document::covered_by(e, d.section, &name) {
                        wild.push(format!(
                            "`{}` (line {})",
                            e.span.text(&doc.text),
                            doc.position(e.span.start as usize).line + 1
                        ));
                    }
                });
                lines.extend(wild);
            }
            if lines.is_empty() {
                text.push_str("\nnot used in the condition\n");
            } else {
                text.push_str(&format!("\nused at: {}\n", lines.join(", ")));
            }
            (text, span)
        }
        Target::Rule(rule) => {
            let mut text = format!("**rule {}**", rule.name.value);
            if !rule.tags.is_empty() {
                let tags: Vec<&str> = rule.tags.iter().map(|t| t.value.as_str()).collect();
                text.push_str(&format!(" : {}", tags.join(" ")));
            }
            text.push_str("\n\n");
            for section in &rule.sections {
                if let SectionBody::Meta(entries) = &section.body {
                    for entry in entries {
                        if let MetaEntry::Pair { key, value, .. } = entry {
                            text.push_str(&format!("- {}: {}\n", key.value, value.value));
                        }
                    }
                }
            }
            (text, rule.name.span)
        }
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(doc.range(span)),
    })
}

/// Definition of the variable at `offset`.
pub fn definition(doc: &Document, offset: usize) -> Option<Range> {
    match target_at(doc, offset)? {
        Target::Var(rule, name, _) => definitions(rule)
            .iter()
            .find(|d| d.name.value == name)
            .map(|d| doc.range(d.name.span)),
        Target::Rule(rule) => Some(doc.range(rule.name.span)),
    }
}

/// References of the variable at `offset`.
pub fn references(doc: &Document, offset: usize, with_definition: bool) -> Vec<Range> {
    match target_at(doc, offset) {
        Some(Target::Var(rule, name, _)) => occurrences(rule, &name, with_definition)
            .into_iter()
            .map(|s| doc.range(s))
            .collect(),
        Some(Target::Rule(rule)) => vec![doc.range(rule.name.span)],
        None => Vec::new(),
    }
}

/// The range that can be renamed at `offset`.
pub fn prepare_rename(doc: &Document, offset: usize) -> Option<Range> {
    match target_at(doc, offset)? {
        Target::Var(_, _, span) => Some(doc.range(span)),
        Target::Rule(rule) => Some(doc.range(rule.name.span)),
    }
}

/// Edits renaming the variable or rule at `offset` to `new_name`.
pub fn rename(doc: &Document, offset: usize, new_name: &str) -> Result<Vec<TextEdit>, String> {
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match target_at(doc, offset) {
        Some(Target::Var(rule, name, _)) => {
            let bare = new_name.strip_prefix('$').unwrap_or(new_name);
            if !ident(bare) {
                return Err(format!("`{new_name}` is not a variable name"));
            }
            let new = format!("${bare}");
            if definitions(rule).iter().any(|d| d.name.value == new) {
                return Err(format!("`{new}` is already defined in this rule"));
            }
            Ok(occurrences(rule, &name, true)
                .into_iter()
                .map(|s| {
                    // `keywords.$a` spans hold only `$a`; keep what precedes `$`.
                    let text = s.text(&doc.text);
                    let at = text.find('$').unwrap_or(0);
                    TextEdit::new(
                        doc.range(Span::new(s.start as usize + at, s.end as usize)),
                        new.clone(),
                    )
                })
                .collect())
        }
        Some(Target::Rule(rule)) => {
            if !ident(new_name) {
                return Err(format!("`{new_name}` is not a rule name"));
            }
            if doc.file.rules.iter().any(|r| r.name.value == new_name) {
                return Err(format!("a rule `{new_name}` already exists"));
            }
            Ok(vec![TextEdit::new(
                doc.range(rule.name.span),
                new_name.to_string(),
            )])
        }
        None => Err("nothing to rename here".into()),
    }
}

/// Rules, sections, variables and meta keys as a tree.
#[allow(deprecated)] // DocumentSymbol::deprecated must be written
pub fn document_symbols(doc: &Document) -> Vec<DocumentSymbol> {
    let sym =
        |name: String, kind, span: Span, sel: Span, children: Vec<DocumentSymbol>| DocumentSymbol {
            name: if name.is_empty() { "?".into() } else { name },
            detail: None,
            kind,
            tags: None,
            deprecated: None,
            range: doc.range(span),
            selection_range: doc.range(sel),
            children: if children.is_empty() {
                None
            } else {
                Some(children)
            },
        };
    doc.file
        .rules
        .iter()
        .map(|rule| {
            let sections = rule
                .sections
                .iter()
                .map(|section| {
                    let children = match &section.body {
                        SectionBody::Meta(entries) => entries
                            .iter()
                            .filter_map(|e| match e {
                                MetaEntry::Pair { span, key, .. } => Some(sym(
                                    key.value.clone(),
                                    SymbolKind::PROPERTY,
                                    *span,
                                    key.span,
                                    Vec::new(),
                                )),
                                MetaEntry::Junk { .. } => None,
                            })
                            .collect(),
                        _ => definitions_in(section)
                            .into_iter()
                            .map(|(name, entry)| {
                                sym(
                                    name.value.clone(),
                                    SymbolKind::VARIABLE,
                                    entry.cover(name.span),
                                    name.span,
                                    Vec::new(),
                                )
                            })
                            .collect(),
                    };
                    let name = section.header.text(&doc.text).to_string();
                    sym(
                        name,
                        SymbolKind::NAMESPACE,
                        section.span.cover(section.header),
                        section.header,
                        children,
                    )
                })
                .collect();
            sym(
                rule.name.value.clone(),
                SymbolKind::CLASS,
                rule.span.cover(rule.name.span),
                rule.name.span,
                sections,
            )
        })
        .collect()
}

fn definitions_in(section: &ast::Section) -> Vec<(&novac::syntax::Spanned<String>, Span)> {
    match &section.body {
        SectionBody::Keywords(e) => e.iter().map(|e| (&e.var, e.span)).collect(),
        SectionBody::Semantics(e) | SectionBody::Llm(e) => {
            e.iter().map(|e| (&e.var, e.span)).collect()
        }
        _ => Vec::new(),
    }
}

/// Completion items at `offset`, read from the lines around the cursor so
/// that half-typed rules complete too.
pub fn completion(doc: &Document, offset: usize) -> Vec<CompletionItem> {
    let text = &doc.text;
    let offset = document::floor_char(text, offset.min(text.len()));
    let before = text.get(..offset).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.get(line_start..).unwrap_or_default();
    // The rule around the cursor: from the last `rule` line to the next one.
    let rule_start = before
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .chain(std::iter::once(0))
        .filter(|&i| {
            text.get(i..)
                .is_some_and(|t| t.trim_start().starts_with("rule"))
        })
        .max();
    let Some(rule_start) = rule_start else {
        return vec![snippet("rule", "rule ${1:Name}\n{\n    keywords:\n        \\$${2:name} = \"${3:text}\"\n\n    condition:\n        \\$${2:name}\n}\n")];
    };
    let rule_end = text
        .get(offset..)
        .unwrap_or_default()
        .match_indices("\nrule")
        .next()
        .map_or(text.len(), |(i, _)| offset + i);
    let rule_text = text.get(rule_start..rule_end).unwrap_or_default();
    // Sections and variables, by line.
    let mut section: Option<String> = None;
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut current: Option<String> = None;
    let mut pos = rule_start;
    for l in rule_text.split_inclusive('\n') {
        let t = l.trim();
        if let Some(h) = t.strip_suffix(':') {
            if h.chars().all(|c| c.is_ascii_alphabetic()) && !h.is_empty() {
                current = Some(h.to_ascii_lowercase());
            }
        } else if let (Some(s), Some(rest)) = (&current, t.strip_prefix('$')) {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let after = rest.get(name.len()..).unwrap_or_default();
            if !name.is_empty() && after.trim_start().starts_with('=') {
                vars.push((s.clone(), name));
            }
        }
        if pos <= line_start {
            section = current.clone();
        }
        pos += l.len();
    }
    let trimmed = line.trim_start();
    let mut items = Vec::new();
    if trimmed.chars().all(|c| c.is_ascii_alphabetic()) {
        for s in ["meta", "keywords", "semantics", "llm", "condition"] {
            items.push(CompletionItem {
                label: format!("{s}:"),
                kind: Some(CompletionItemKind::MODULE),
                insert_text: Some(format!("{s}:")),
                ..CompletionItem::default()
            });
        }
    }
    match section.as_deref() {
        Some("condition") => {
            // `keywords.$` → the section's variables.
            for s in ["keywords", "semantics", "llm"] {
                let dotted = format!("{s}.$");
                if trimmed.ends_with(&dotted) || line.to_ascii_lowercase().ends_with(&dotted) {
                    return vars
                        .iter()
                        .filter(|(sec, _)| sec == s)
                        .map(|(_, n)| CompletionItem {
                            label: n.clone(),
                            kind: Some(CompletionItemKind::VARIABLE),
                            ..CompletionItem::default()
                        })
                        .collect();
                }
            }
            for (sec, name) in &vars {
                items.push(CompletionItem {
                    label: format!("${name}"),
                    kind: Some(CompletionItemKind::VARIABLE),
                    detail: Some(sec.clone()),
                    insert_text: Some(if line.ends_with('$') {
                        name.clone()
                    } else {
                        format!("${name}")
                    }),
                    ..CompletionItem::default()
                });
            }
            for s in ["keywords", "semantics", "llm"] {
                if vars.iter().any(|(sec, _)| sec == s) {
                    items.push(plain(&format!("any of {s}.*")));
                    items.push(plain(&format!("all of {s}.*")));
                    items.push(snippet(
                        &format!("N of {s}.*"),
                        &format!("${{1:2}} of {s}.*"),
                    ));
                    items.push(plain(&format!("{s}.$")));
                }
            }
            items.push(snippet("any of ($prefix*)", "any of (\\$${1:prefix}*)"));
            items.push(snippet("all of ($prefix*)", "all of (\\$${1:prefix}*)"));
            for w in ["and", "or", "not"] {
                items.push(CompletionItem {
                    label: w.into(),
                    kind: Some(CompletionItemKind::KEYWORD),
                    ..CompletionItem::default()
                });
            }
        }
        Some("meta") => {
            let mut keys: Vec<String> = doc.config.meta_keys().map(str::to_string).collect();
            for k in [
                "description",
                "author",
                "severity",
                "uuid",
                "date",
                "version",
                "category",
                "reference",
            ] {
                if !keys.iter().any(|x| x == k) {
                    keys.push(k.to_string());
                }
            }
            for k in keys {
                items.push(CompletionItem {
                    label: k.clone(),
                    kind: Some(CompletionItemKind::PROPERTY),
                    insert_text: Some(format!("{k} = \"$1\"")),
                    insert_text_format: Some(InsertTextFormat::SNIPPET),
                    ..CompletionItem::default()
                });
            }
        }
        _ => {}
    }
    items
}

fn plain(label: &str) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(CompletionItemKind::SNIPPET),
        ..CompletionItem::default()
    }
}

fn snippet(label: &str, body: &str) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(CompletionItemKind::SNIPPET),
        insert_text: Some(body.to_string()),
        insert_text_format: Some(InsertTextFormat::SNIPPET),
        ..CompletionItem::default()
    }
}

/// The whole document formatted by novac-fmt (no edit when already formatted).
pub fn format_document(doc: &Document) -> Result<Vec<TextEdit>, String> {
    let formatted = novac_fmt::format_source(&doc.text).map_err(|e| e.to_string())?;
    if formatted == doc.text {
        return Ok(Vec::new());
    }
    let end = doc.position(doc.text.len());
    Ok(vec![TextEdit::new(
        Range::new(Position::new(0, 0), end),
        formatted,
    )])
}

/// Every rule that `range` touches, formatted on its own.
pub fn format_range(doc: &Document, range: Range) -> Result<Vec<TextEdit>, String> {
    let span = doc.span(range);
    let mut edits = Vec::new();
    for rule in &doc.file.rules {
        if rule.span.end < span.start || rule.span.start > span.end {
            continue;
        }
        let text = rule.span.text(&doc.text);
        let formatted = novac_fmt::format_source(text).map_err(|e| e.to_string())?;
        let formatted = formatted.trim_end_matches('\n');
        if formatted != text {
            edits.push(TextEdit::new(doc.range(rule.span), formatted.to_string()));
        }
    }
    Ok(edits)
}

/// Quick fixes for the diagnostics that overlap `range`.
pub fn code_actions(doc: &Document, uri: &Uri, range: Range) -> Vec<CodeActionOrCommand> {
    let span = doc.span(range);
    let mut out = Vec::new();
    for d in &doc.diagnostics {
        let p = d.primary.span;
        if p.end < span.start || p.start > span.end {
            continue;
        }
        let mut fix = |title: String, edits: Vec<TextEdit>| {
            let mut changes = HashMap::new();
            changes.insert(uri.clone(), edits);
            out.push(CodeActionOrCommand::CodeAction(CodeAction {
                title,
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![super::to_lsp_diagnostic(doc, d)]),
                edit: Some(WorkspaceEdit {
                    changes: Some(changes),
                    ..WorkspaceEdit::default()
                }),
                is_preferred: Some(true),
                ..CodeAction::default()
            }));
        };
        let written = p.text(&doc.text);
        if d.code == codes::OPERATOR_CASE.id {
            let lower = written.to_ascii_lowercase();
            fix(
                format!("Write `{lower}`"),
                vec![TextEdit::new(doc.range(p), lower.clone())],
            );
        }
        if let Some(name) = d
            .help
            .as_deref()
            .and_then(|h| h.strip_prefix("did you mean `"))
            .and_then(|h| h.strip_suffix("`?"))
        {
            fix(
                format!("Replace with `{name}`"),
                vec![TextEdit::new(doc.range(p), name.to_string())],
            );
        }
        if d.code == codes::UNUSED_VARIABLE.id {
            if let Some(rule) = doc.rule_at(p.start as usize) {
                if let Some(def) = definitions(rule)
                    .iter()
                    .find(|v| v.name.span.start == p.start)
                {
                    let first = doc.line_span(def.entry.start as usize);
                    let last = doc.line_span(def.entry.end.saturating_sub(1) as usize);
                    fix(
                        format!("Remove unused variable `{}`", def.name.value),
                        vec![TextEdit::new(doc.range(first.cover(last)), String::new())],
                    );
                }
            }
        }
        if d.code == codes::POLICY_META_MISSING.id {
            let key = d
                .help
                .as_deref()
                .and_then(|h| h.strip_prefix("add `"))
                .and_then(|h| h.split(" = ").next())
                .unwrap_or("");
            if let (false, Some(rule)) = (key.is_empty(), doc.rule_at(p.start as usize)) {
                if let Some(edit) = add_meta(doc, rule, key) {
                    fix(format!("Add meta `{key}`"), vec![edit]);
                }
            }
        }
    }
    out
}

fn add_meta(doc: &Document, rule: &ast::Rule, key: &str) -> Option<TextEdit> {
    let line = format!("        {key} = \"\"\n");
    let meta = rule
        .sections
        .iter()
        .find(|s| s.body.kind() == Some(SectionKind::Meta));
    let at = match meta {
        Some(section) => doc.line_span(section.header.start as usize).end as usize,
        None => {
            let anchor = rule.open_brace.unwrap_or(rule.name.span);
            let after = doc.line_span(anchor.start as usize).end as usize;
            let pos = doc.position(after);
            return Some(TextEdit::new(
                Range::new(pos, pos),
                format!("    meta:\n{line}\n"),
            ));
        }
    };
    let pos = doc.position(at);
    Some(TextEdit::new(Range::new(pos, pos), line))
}

/// The semantic token types, in legend order.
pub const TOKEN_TYPES: &[SemanticTokenType] = &[
    SemanticTokenType::KEYWORD,
    SemanticTokenType::CLASS,
    SemanticTokenType::NAMESPACE,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::STRING,
    SemanticTokenType::REGEXP,
    SemanticTokenType::NUMBER,
    SemanticTokenType::PROPERTY,
    SemanticTokenType::COMMENT,
    SemanticTokenType::OPERATOR,
];

const KEYWORD: u32 = 0;
const CLASS: u32 = 1;
const NAMESPACE: u32 = 2;
const VARIABLE: u32 = 3;
const STRING: u32 = 4;
const REGEXP: u32 = 5;
const NUMBER: u32 = 6;
const PROPERTY: u32 = 7;
const COMMENT: u32 = 8;
const OPERATOR: u32 = 9;

/// Semantic tokens for the whole document (single-line tokens, sorted).
pub fn semantic_tokens(doc: &Document) -> Vec<SemanticToken> {
    let text = &doc.text;
    let mut raw: Vec<(Span, u32)> = Vec::new();
    // Comments: whole lines starting with // or #.
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with("//") || t.starts_with('#') {
            let start = offset + (line.len() - t.len());
            raw.push((Span::new(start, offset + line.trim_end().len()), COMMENT));
        }
        offset += line.len();
    }
    for rule in &doc.file.rules {
        if text
            .get(rule.span.range())
            .is_some_and(|t| t.starts_with("rule"))
        {
            raw.push((
                Span::new(rule.span.start as usize, rule.span.start as usize + 4),
                KEYWORD,
            ));
        }
        raw.push((rule.name.span, CLASS));
        raw.extend(rule.tags.iter().map(|t| (t.span, PROPERTY)));
        for section in &rule.sections {
            raw.push((section.header, NAMESPACE));
            match &section.body {
                SectionBody::Meta(entries) => {
                    for e in entries {
                        if let MetaEntry::Pair { key, value, .. } = e {
                            raw.push((key.span, PROPERTY));
                            raw.push((value.span, STRING));
                        }
                    }
                }
                SectionBody::Keywords(entries) => {
                    for e in entries {
                        raw.push((e.var.span, VARIABLE));
                        match &e.value {
                            ast::KeywordValue::Text { text, .. } => raw.push((text.span, STRING)),
                            ast::KeywordValue::Regex { body, .. } => raw.push((body.span, REGEXP)),
                        }
                    }
                }
                SectionBody::Semantics(entries) | SectionBody::Llm(entries) => {
                    for e in entries {
                        raw.push((e.var.span, VARIABLE));
                        raw.push((e.text.span, STRING));
                        if let Some(t) = &e.threshold {
                            raw.push((t.text.span, NUMBER));
                        }
                    }
                }
                SectionBody::Condition(expr) => document::walk(expr, &mut |e| match &e.kind {
                    ExprKind::Not(op, _) | ExprKind::And(op, _, _) | ExprKind::Or(op, _, _) => {
                        raw.push((op.span, OPERATOR))
                    }
                    ExprKind::Bool(_) => raw.push((e.span, KEYWORD)),
                    ExprKind::Var(v) => {
                        if let Some(s) = &v.section {
                            raw.push((s.span, NAMESPACE));
                        }
                        raw.push((v.name.span, VARIABLE));
                    }
                    ExprKind::SectionWildcard(s) => raw.push((s.span, NAMESPACE)),
                    ExprKind::PrefixWildcard(p) => {
                        if let Some(s) = &p.section {
                            raw.push((s.span, NAMESPACE));
                        }
                    }
                    ExprKind::Quantified { quantifier, target } => {
                        let kind = match quantifier.value {
                            ast::Quantifier::AtLeast(_) => NUMBER,
                            _ => KEYWORD,
                        };
                        raw.push((quantifier.span, kind));
                        match target {
                            QuantTarget::Section(s) => raw.push((s.span, NAMESPACE)),
                            QuantTarget::SectionPrefix(p) | QuantTarget::Group(p) => {
                                if let Some(s) = &p.section {
                                    raw.push((s.span, NAMESPACE));
                                }
                            }
                        }
                    }
                    _ => {}
                }),
                SectionBody::Unknown { .. } => {}
            }
        }
    }
    raw.retain(|(s, _)| !s.is_empty() && !s.text(text).contains('\n'));
    raw.sort_by_key(|(s, _)| (s.start, s.end));
    let mut tokens = Vec::with_capacity(raw.len());
    let (mut prev_line, mut prev_char, mut prev_end) = (0u32, 0u32, 0u32);
    // A cursor walks the text once (tokens are sorted): linear even when a
    // condition is one very long line.
    let (mut at, mut line, mut col) = (0usize, 0u32, 0u32);
    for (span, kind) in raw {
        if span.start < prev_end {
            continue; // overlapping: keep the first
        }
        let start = document::floor_char(text, span.start as usize);
        for c in text.get(at..start).unwrap_or("").chars() {
            if c == '\n' {
                line += 1;
                col = 0;
            } else {
                col += c.len_utf16() as u32;
            }
        }
        at = start;
        let length: u32 = span.text(text).chars().map(|c| c.len_utf16() as u32).sum();
        let delta_line = line - prev_line;
        let delta_start = if delta_line == 0 {
            col - prev_char
        } else {
            col
        };
        tokens.push(SemanticToken {
            delta_line,
            delta_start,
            length,
            token_type: kind,
            token_modifiers_bitset: 0,
        });
        prev_line = line;
        prev_char = col;
        prev_end = span.end;
    }
    tokens
}
