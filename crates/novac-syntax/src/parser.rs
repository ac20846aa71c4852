//! From source text to [`ast::File`]: runs the pest grammar
//! (`grammar/nova.pest`) and builds the typed tree.
//!
//! The file is parsed in two steps so that one broken rule does not hide the
//! errors of the others: the `outline` rule cuts the text into rule chunks (a
//! chunk starts at each line beginning with `rule NAME`), then each chunk is
//! parsed with `rule_block`. pest stops at the first error of a chunk, so a
//! chunk yields one syntax error at most.
//!
//! Before a chunk reaches pest, [`check_nesting`] bounds how deeply its
//! condition nests, so hostile input (10,000 parentheses) gets an error
//! instead of overflowing the stack. Chains of one operator (`a or b or c
//! ...`) are built as balanced trees ([`balance`]), so 100,000 `or`s make a
//! tree 17 levels deep and every recursive walk over conditions (checker,
//! compiler, formatter, language server, `Drop`) stays shallow: a condition
//! is at most 64 + 2·log2(operators) levels deep.

use crate::ast::{self, *};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::grammar::{NovaGrammar, Rule};
use crate::span::{Span, Spanned};
use crate::syntax_error::from_pest_error;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser as _;
use std::sync::OnceLock;

/// How deeply a condition may nest parentheses and `not`s.
pub const MAX_CONDITION_DEPTH: usize = 64;

/// The result of parsing one file: the tree of everything that parsed, and
/// the diagnostics (syntax errors and parse-level warnings).
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The rules that parsed; a rule with a syntax error is left out.
    pub file: File,
    /// Errors and warnings found while parsing, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Limits the parser enforces on hostile input (see [`parse_with_limits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseLimits {
    /// Largest source in bytes (error E012 above it); default [`crate::MAX_SOURCE_LEN`].
    pub max_source_len: usize,
    /// Deepest nesting of parentheses and `not`s in a condition (error E009
    /// above it); default [`MAX_CONDITION_DEPTH`].
    pub max_condition_depth: usize,
}

impl Default for ParseLimits {
    fn default() -> ParseLimits {
        ParseLimits {
            max_source_len: crate::MAX_SOURCE_LEN,
            max_condition_depth: MAX_CONDITION_DEPTH,
        }
    }
}

/// Parses the text of a `.nov` file with the default [`ParseLimits`].
pub fn parse(source: &str) -> Parsed {
    parse_with_limits(source, &ParseLimits::default())
}

/// Parses the text of a `.nov` file, refusing input over `limits`.
pub fn parse_with_limits(source: &str, limits: &ParseLimits) -> Parsed {
    let mut diagnostics = Vec::new();
    if source.len() > limits.max_source_len {
        diagnostics.push(Diagnostic::new(
            &codes::SOURCE_TOO_LARGE,
            Span::empty(0),
            format!(
                "the rule source is {} bytes; the limit is {} bytes",
                source.len(),
                limits.max_source_len
            ),
        ));
        let file = File {
            rules: Vec::new(),
            outside_text: Vec::new(),
        };
        return Parsed { file, diagnostics };
    }
    if source.starts_with('\u{FEFF}') {
        diagnostics.push(
            Diagnostic::new(
                &codes::PORTABILITY,
                Span::new(0, 3),
                "the file starts with a byte-order mark",
            )
            .with_note("nova-hunting finds no rule in such a file")
            .with_help("save the file as UTF-8 without BOM"),
        );
    }
    let outline = match NovaGrammar::parse(Rule::outline, source) {
        Ok(mut pairs) => pairs.next().map(Pair::into_inner),
        Err(error) => {
            diagnostics.push(from_pest_error(error, source, 0));
            None
        }
    };
    let mut pieces = Vec::new();
    for pair in outline.into_iter().flatten() {
        let (start, end) = (pair.as_span().start(), pair.as_span().end());
        match pair.as_rule() {
            Rule::rule_chunk => {
                let parsed = parse_rule_chunk(pair.as_str(), start, limits.max_condition_depth);
                pieces.push((Piece::Chunk { start, end }, Some(parsed)));
            }
            Rule::outside_line | Rule::outside_last => {
                pieces.push((Piece::Outside { start, end }, None));
            }
            _ => {}
        }
    }
    finish(source, diagnostics, pieces)
}

/// A piece of the file's outline: a rule chunk or a line outside rules.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Piece {
    /// A rule chunk (from a `rule NAME` line to the next one).
    Chunk { start: usize, end: usize },
    /// A line before the first rule.
    Outside { start: usize, end: usize },
}

/// What a chunk parsed to: the rule and its warnings, or its syntax error.
pub(crate) type ChunkParse = Result<(ast::Rule, Vec<Diagnostic>), Box<Diagnostic>>;

/// Assembles the [`Parsed`] of `source` from its outline pieces, each chunk
/// with what it parsed to (spans in file offsets), after the file-level
/// `diagnostics` found so far.
pub(crate) fn finish(
    source: &str,
    mut diagnostics: Vec<Diagnostic>,
    pieces: Vec<(Piece, Option<ChunkParse>)>,
) -> Parsed {
    let mut file = File {
        rules: Vec::new(),
        outside_text: Vec::new(),
    };
    let mut chunks = 0;
    for (piece, parsed) in pieces {
        match piece {
            Piece::Chunk { .. } => {
                chunks += 1;
                match parsed {
                    Some(Ok((rule, warnings))) => {
                        file.rules.push(rule);
                        diagnostics.extend(warnings);
                    }
                    Some(Err(error)) => diagnostics.push(*error),
                    None => {}
                }
            }
            Piece::Outside { start, end } => {
                let line = source.get(start..end).unwrap_or("");
                let text = line.trim();
                if !text.is_empty() && !text.starts_with("//") && !text.starts_with('#') {
                    let start = start + (line.len() - line.trim_start().len());
                    let span = Span::new(start, start + text.len());
                    file.outside_text.push(span);
                    diagnostics.push(
                        Diagnostic::new(
                            &codes::OUTSIDE_TEXT,
                            span,
                            "text outside a rule is ignored",
                        )
                        .with_label("not part of any rule")
                        .with_help("turn it into a `//` comment or move it into a rule"),
                    );
                }
            }
        }
    }
    if chunks == 0 && diagnostics.iter().all(|d| !d.is_error()) {
        diagnostics.push(
            Diagnostic::new(
                &codes::NO_RULES,
                Span::empty(0),
                "no rule found in this file",
            )
            .with_help("a rule starts with a line `rule Name {`"),
        );
    }
    diagnostics.sort_by_key(|d| (d.primary.span.start, d.code));
    Parsed { file, diagnostics }
}

/// Parses one rule chunk that starts at byte `base` of the file.
pub(crate) fn parse_rule_chunk(chunk: &str, base: usize, max_depth: usize) -> ChunkParse {
    check_nesting(chunk, max_depth).map_err(|d| Box::new(d.shifted(base)))?;
    let mut pairs = NovaGrammar::parse(Rule::rule_block, chunk)
        .map_err(|e| Box::new(from_pest_error(e, chunk, base)))?;
    let block = pairs.next().map(Pair::into_inner);
    let mut builder = Builder {
        base,
        warnings: Vec::new(),
    };
    let rule = builder.rule_block(
        block.into_iter().flatten(),
        Span::new(base, base + chunk.len()),
    );
    let mut warnings = builder.warnings;
    if let Some(cut) = reference_cut(chunk) {
        let close = rule.span.end as usize - base;
        if cut < close {
            warnings.push(
                Diagnostic::new(&codes::PORTABILITY, Span::new(base + cut - 1, base + cut), "nova-hunting ends the rule at this `}`")
                    .with_label("the reference's brace counting stops here")
                    .with_note("the reference counts braces outside double quotes only (also in single-quoted strings, regexes and meta values), so it cuts the rule short and rejects or misreads it")
                    .with_help("escape the brace in a regex (`\\}`) or balance it, if the rule must also load in nova-hunting"),
            );
        }
    }
    Ok((rule, warnings))
}

/// Where the reference's rule splitter ends this chunk: one past the `}`
/// that brings its brace count back to zero, counting braces outside double
/// quotes, with a backslash escaping the next character.
fn reference_cut(chunk: &str) -> Option<usize> {
    let text = chunk.trim_start();
    let lead = chunk.len() - text.len();
    let (mut count, mut in_quotes, mut escape) = (0i64, false, false);
    for (i, c) in text.char_indices() {
        if escape {
            escape = false;
            continue;
        }
        match c {
            '\\' => escape = true,
            '"' => in_quotes = !in_quotes,
            '{' if !in_quotes => count += 1,
            '}' if !in_quotes => {
                count -= 1;
                if count == 0 {
                    return Some(lead + i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Refuses conditions that nest deeper than `max_depth` ([`MAX_CONDITION_DEPTH`] by default).
///
/// A cheap line scan over the condition section of a chunk, done before
/// pest runs (pest and the Pratt parser recurse once per nesting level).
fn check_nesting(chunk: &str, max_depth: usize) -> Result<(), Box<Diagnostic>> {
    let mut in_condition = false;
    let mut offset = 0;
    let mut depth = 0usize;
    let mut nots = 0usize;
    for line in chunk.split_inclusive('\n') {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_suffix(':') {
            in_condition = name.trim().eq_ignore_ascii_case("condition");
        } else if in_condition && !trimmed.starts_with('#') && !trimmed.starts_with("//") {
            let mut previous_is_word = false;
            for (i, c) in line.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                let is_word = c.is_alphanumeric() || c == '_' || c == '$';
                if !previous_is_word && is_word {
                    let word: String = line
                        .get(i..)
                        .unwrap_or("")
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if word.eq_ignore_ascii_case("not") {
                        nots += 1;
                    }
                }
                previous_is_word = is_word;
                if depth + nots > max_depth {
                    let at = offset + i;
                    return Err(Box::new(
                        Diagnostic::new(
                            &codes::TOO_DEEP,
                            Span::new(at, at + c.len_utf8()),
                            format!("the condition nests more than {max_depth} levels deep"),
                        )
                        .with_label("too deep here")
                        .with_help("simplify the condition, e.g. with `any of` or `all of`"),
                    ));
                }
            }
        }
        offset += line.len();
    }
    Ok(())
}

/// Rebuilds each chain of one operator (`a or b or c ...`) as a balanced tree.
///
/// The Pratt parser folds a chain of left-associative operators into a
/// left-deep tree, as deep as the chain is long: 10,000 `or`s would make
/// every later recursive walk (checker, resolver, compiler, `Drop`) overflow
/// the stack. `and` and `or` are associative, also in the three-valued logic
/// the engine evaluates with, and a balanced tree keeps the operands in their
/// written order, so the meaning and the left-to-right evaluation order stay
/// the same while the depth drops to log2 of the chain length.
///
/// Costs one pass over the chain and one vector of its operands. Only the
/// top chain of `expr` and the chains directly below it (an `and` chain as an
/// operand of an `or` chain) are walked: parenthesised chains were balanced
/// when their own `expr` was built.
fn balance(expr: Expr) -> Expr {
    let is_or = match &expr.kind {
        ExprKind::Or(..) => true,
        ExprKind::And(..) => false,
        _ => return expr,
    };
    let mut operands = Vec::new();
    let mut operators = Vec::new();
    let mut current = expr;
    loop {
        match current.kind {
            ExprKind::Or(op, lhs, rhs) if is_or => {
                operands.push(balance(*rhs));
                operators.push(op);
                current = *lhs;
            }
            ExprKind::And(op, lhs, rhs) if !is_or => {
                operands.push(*rhs);
                operators.push(op);
                current = *lhs;
            }
            kind => {
                let last = Expr {
                    span: current.span,
                    kind,
                };
                operands.push(if is_or { balance(last) } else { last });
                break;
            }
        }
    }
    operands.reverse();
    operators.reverse();
    let mut operands = operands.into_iter().map(Some).collect::<Vec<_>>();
    let mut operators = operators.into_iter().map(Some).collect::<Vec<_>>();
    build_balanced(&mut operands, &mut operators, is_or).unwrap_or(Expr {
        span: Span::new(0, 0),
        kind: ExprKind::Bool(false),
    })
}

/// The balanced tree over `operands`, joined by `operators` (one fewer);
/// `operators[i]` stands between `operands[i]` and `operands[i + 1]`.
/// Recurses log2(len) deep. `None` only for an empty slice.
fn build_balanced(
    operands: &mut [Option<Expr>],
    operators: &mut [Option<Operator>],
    is_or: bool,
) -> Option<Expr> {
    if operands.len() <= 1 {
        return operands.first_mut().and_then(Option::take);
    }
    let mid = operands.len() / 2;
    let (left_operands, right_operands) = operands.split_at_mut(mid);
    let (left_operators, rest) = operators.split_at_mut(mid.saturating_sub(1));
    let (op, right_operators) = rest.split_first_mut()?;
    let op = op.take()?;
    let lhs = build_balanced(left_operands, left_operators, is_or)?;
    let rhs = build_balanced(right_operands, right_operators, is_or)?;
    let span = lhs.span.cover(rhs.span);
    let kind = if is_or {
        ExprKind::Or(op, Box::new(lhs), Box::new(rhs))
    } else {
        ExprKind::And(op, Box::new(lhs), Box::new(rhs))
    };
    Some(Expr { span, kind })
}

fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::op_or, Assoc::Left))
            .op(Op::infix(Rule::op_and, Assoc::Left))
            .op(Op::prefix(Rule::op_not))
    })
}

/// Turns pest pairs into AST nodes, with spans shifted to file offsets.
struct Builder {
    base: usize,
    warnings: Vec<Diagnostic>,
}

impl Builder {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.base + s.start(), self.base + s.end())
    }

    /// The span of `pair`'s text with white space trimmed at both ends.
    fn trimmed(&self, pair: &Pair<'_, Rule>) -> Spanned<String> {
        let raw = pair.as_str();
        let text = raw.trim();
        let start = self.base + pair.as_span().start() + (raw.len() - raw.trim_start().len());
        Spanned::new(text.to_string(), Span::new(start, start + text.len()))
    }

    fn spanned(&self, pair: &Pair<'_, Rule>) -> Spanned<String> {
        Spanned::new(pair.as_str().to_string(), self.span(pair))
    }

    fn rule_block<'i>(
        &mut self,
        pairs: impl Iterator<Item = Pair<'i, Rule>>,
        chunk: Span,
    ) -> ast::Rule {
        let mut rule = ast::Rule {
            span: chunk,
            name: Spanned::new(String::new(), chunk),
            tags: Vec::new(),
            open_brace: None,
            sections: Vec::new(),
            trailing_text: None,
        };
        for pair in pairs {
            match pair.as_rule() {
                Rule::rule_header => {
                    for part in pair.into_inner() {
                        match part.as_rule() {
                            Rule::rule_name => rule.name = self.spanned(&part),
                            Rule::tags => {
                                rule.tags = part.into_inner().map(|t| self.spanned(&t)).collect()
                            }
                            Rule::open_brace => rule.open_brace = Some(self.span(&part)),
                            Rule::header_junk => {
                                let span = self.span(&part);
                                self.warnings.push(
                                    Diagnostic::new(
                                        &codes::OUTSIDE_TEXT,
                                        span,
                                        "text after the rule header is ignored",
                                    )
                                    .with_label("ignored")
                                    .with_help("put it in a `//` comment or a meta entry"),
                                );
                            }
                            _ => {}
                        }
                    }
                }
                Rule::open_brace => rule.open_brace = Some(self.span(&pair)),
                Rule::rule_body => {
                    rule.sections = pair.into_inner().map(|s| self.section(s)).collect()
                }
                Rule::close_line => {
                    rule.span = Span::new(chunk.start as usize, self.span(&pair).end as usize);
                }
                Rule::trailing_text => {
                    let text = pair.as_str();
                    let first = text
                        .lines()
                        .map(str::trim)
                        .find(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with('#'));
                    if let Some(line) = first {
                        let offset = text.find(line).unwrap_or(0);
                        let start = self.span(&pair).start as usize + offset;
                        let span = Span::new(start, start + line.len());
                        rule.trailing_text = Some(span);
                        self.warnings.push(
                            Diagnostic::new(
                                &codes::OUTSIDE_TEXT,
                                span,
                                "text after the end of the rule is ignored",
                            )
                            .with_label("after the closing `}`"),
                        );
                    }
                }
                _ => {}
            }
        }
        rule
    }

    fn section(&mut self, pair: Pair<'_, Rule>) -> Section {
        let span = self.span(&pair);
        let kind = pair.as_rule();
        let mut inner = pair.into_inner();
        let header_pair = inner.next();
        let header = header_pair.as_ref().map_or(span, |h| {
            let name = h.as_str().trim().trim_end_matches(':').trim_end();
            let start =
                self.span(h).start as usize + (h.as_str().len() - h.as_str().trim_start().len());
            Span::new(start, start + name.len())
        });
        let body = match kind {
            Rule::meta_section => SectionBody::Meta(inner.map(|p| self.meta_entry(p)).collect()),
            Rule::keywords_section => {
                SectionBody::Keywords(inner.map(|p| self.keyword_entry(p)).collect())
            }
            Rule::semantics_section => {
                SectionBody::Semantics(inner.map(|p| self.scored_entry(p)).collect())
            }
            Rule::llm_section => SectionBody::Llm(inner.map(|p| self.scored_entry(p)).collect()),
            Rule::condition_section => {
                let expr = inner
                    .find(|p| p.as_rule() == Rule::condition)
                    .and_then(|c| c.into_inner().find(|p| p.as_rule() == Rule::expr))
                    .map(|e| self.expr(e.into_inner()))
                    .unwrap_or(Expr {
                        span,
                        kind: ExprKind::Bool(false),
                    });
                SectionBody::Condition(expr)
            }
            _ => SectionBody::Unknown {
                name: header_pair
                    .as_ref()
                    .map(|h| {
                        h.as_str()
                            .trim()
                            .trim_end_matches(':')
                            .trim_end()
                            .to_string()
                    })
                    .unwrap_or_default(),
            },
        };
        Section { span, header, body }
    }

    fn meta_entry(&mut self, pair: Pair<'_, Rule>) -> MetaEntry {
        let span = self.line_span(&pair);
        if pair.as_rule() == Rule::meta_junk {
            let line = self.trimmed(&pair);
            self.warnings.push(
                Diagnostic::new(
                    &codes::META_JUNK,
                    line.span,
                    "meta line without `=` is ignored",
                )
                .with_help("write meta entries as `key = \"value\"`"),
            );
            return MetaEntry::Junk { span: line.span };
        }
        let mut key = Spanned::new(String::new(), span);
        let mut value = Spanned::new(String::new(), span);
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::meta_key => key = self.trimmed(&part),
                Rule::meta_value => {
                    let mut v = self.trimmed(&part);
                    if v.value.starts_with('"') && v.value.ends_with('"') {
                        v.value = v
                            .value
                            .get(1..v.value.len().saturating_sub(1))
                            .unwrap_or("")
                            .to_string();
                        if v.span.len() >= 2 {
                            v.span = Span::new(v.span.start as usize + 1, v.span.end as usize - 1);
                        }
                    }
                    value = v;
                }
                _ => {}
            }
        }
        MetaEntry::Pair { span, key, value }
    }

    fn keyword_entry(&mut self, pair: Pair<'_, Rule>) -> KeywordEntry {
        let span = self.line_span(&pair);
        let mut var = Spanned::new(String::new(), span);
        let mut value = None;
        let mut threshold = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::var_name => var = self.spanned(&part),
                Rule::dq_string | Rule::sq_string => {
                    let quote = if part.as_rule() == Rule::dq_string {
                        '"'
                    } else {
                        '\''
                    };
                    let (text, case_marker) = self.marked_text(part);
                    value = Some(KeywordValue::Text {
                        text,
                        quote,
                        case_marker,
                    });
                }
                Rule::regex => {
                    let mut flags = Spanned::new(String::new(), span);
                    let mut body_and_marker = None;
                    let parts: Vec<_> = part.into_inner().collect();
                    let (head, tail): (Vec<_>, Vec<_>) = parts
                        .into_iter()
                        .partition(|p| p.as_rule() != Rule::regex_flags);
                    for p in tail {
                        flags = self.spanned(&p);
                    }
                    if !head.is_empty() {
                        body_and_marker = Some(self.marked_parts(head));
                    }
                    let (body, case_marker) =
                        body_and_marker.unwrap_or((Spanned::new(String::new(), span), None));
                    value = Some(KeywordValue::Regex {
                        body,
                        flags,
                        case_marker,
                    });
                }
                Rule::threshold => threshold = Some(self.threshold(part)),
                _ => {}
            }
        }
        let value = value.unwrap_or(KeywordValue::Text {
            text: Spanned::new(String::new(), span),
            quote: '"',
            case_marker: None,
        });
        KeywordEntry {
            span,
            var,
            value,
            threshold,
        }
    }

    /// The text of a string pair, cut at ` case:true` (and trimmed) when the marker is present.
    fn marked_text(&mut self, pair: Pair<'_, Rule>) -> (Spanned<String>, Option<CaseMarker>) {
        self.marked_parts(pair.into_inner().collect())
    }

    fn marked_parts(
        &mut self,
        parts: Vec<Pair<'_, Rule>>,
    ) -> (Spanned<String>, Option<CaseMarker>) {
        let mut body: Option<Spanned<String>> = None;
        let mut marker: Option<CaseMarker> = None;
        for part in parts {
            match part.as_rule() {
                Rule::dq_body | Rule::sq_body | Rule::regex_body => {
                    body = Some(self.spanned(&part))
                }
                Rule::case_marker => {
                    marker = Some(CaseMarker {
                        span: self.span(&part),
                        dropped: None,
                    })
                }
                Rule::dq_marker_tail | Rule::sq_marker_tail | Rule::regex_marker_tail
                    if !part.as_str().is_empty() =>
                {
                    let tail = self.span(&part);
                    if let Some(m) = marker.as_mut() {
                        m.dropped = Some(tail);
                    }
                    if !part.as_str().trim().is_empty() {
                        self.warnings.push(
                            Diagnostic::new(
                                &codes::MARKER_TAIL,
                                tail,
                                "text after `case:true` is dropped from the pattern",
                            )
                            .with_label("ignored")
                            .with_help("put `case:true` right before the closing delimiter"),
                        );
                    }
                }
                _ => {}
            }
        }
        let mut body = body.unwrap_or_else(|| Spanned::new(String::new(), Span::default()));
        if marker.is_some() {
            // Like the reference: everything before the marker, stripped.
            let raw = body.value.clone();
            let trimmed = raw.trim();
            let start = body.span.start as usize + (raw.len() - raw.trim_start().len());
            body = Spanned::new(trimmed.to_string(), Span::new(start, start + trimmed.len()));
        }
        (body, marker)
    }

    fn scored_entry(&mut self, pair: Pair<'_, Rule>) -> ScoredEntry {
        let span = self.line_span(&pair);
        let mut var = Spanned::new(String::new(), span);
        let mut text = Spanned::new(String::new(), span);
        let mut threshold = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::var_name => var = self.spanned(&part),
                Rule::dq_text => {
                    if let Some(body) = part.into_inner().next() {
                        text = self.spanned(&body);
                    }
                }
                Rule::threshold => threshold = Some(self.threshold(part)),
                _ => {}
            }
        }
        ScoredEntry {
            span,
            var,
            text,
            threshold,
        }
    }

    fn threshold(&self, pair: Pair<'_, Rule>) -> Threshold {
        let span = self.span(&pair);
        let text = pair
            .into_inner()
            .next()
            .map(|t| self.trimmed(&t))
            .unwrap_or_else(|| Spanned::new(String::new(), span));
        Threshold { text, span }
    }

    /// The span of an entry line without leading and trailing white space and newline.
    fn line_span(&self, pair: &Pair<'_, Rule>) -> Span {
        self.trimmed(pair).span
    }

    fn expr(&mut self, pairs: Pairs<'_, Rule>) -> Expr {
        let base = self.base;
        let op = move |pair: &Pair<'_, Rule>| Operator {
            text: pair.as_str().to_string(),
            span: Span::new(base + pair.as_span().start(), base + pair.as_span().end()),
        };
        let expr = pratt()
            .map_primary(|primary| self.primary(primary))
            .map_prefix(|not, operand| Expr {
                span: op(&not).span.cover(operand.span),
                kind: ExprKind::Not(op(&not), Box::new(operand)),
            })
            .map_infix(|lhs, operator, rhs| {
                let span = lhs.span.cover(rhs.span);
                let o = op(&operator);
                let kind = if operator.as_rule() == Rule::op_and {
                    ExprKind::And(o, Box::new(lhs), Box::new(rhs))
                } else {
                    ExprKind::Or(o, Box::new(lhs), Box::new(rhs))
                };
                Expr { span, kind }
            })
            .parse(pairs);
        balance(expr)
    }

    fn primary(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::paren => {
                let inner = pair.into_inner().find(|p| p.as_rule() == Rule::expr);
                match inner {
                    Some(e) => ExprKind::Paren(Box::new(self.expr(e.into_inner()))),
                    None => ExprKind::Bool(false),
                }
            }
            Rule::boolean => ExprKind::Bool(pair.as_str().eq_ignore_ascii_case("true")),
            Rule::var_ref => ExprKind::Var(self.var_ref(pair)),
            Rule::section_wildcard => match self.section_ref_in(pair) {
                Some(section) => ExprKind::SectionWildcard(section),
                None => ExprKind::BareWord(String::new()),
            },
            Rule::prefix_wildcard => ExprKind::PrefixWildcard(self.prefix_ref(pair)),
            Rule::quantified => {
                let mut quantifier = Spanned::new(Quantifier::Any, span);
                let mut target = None;
                for part in pair.into_inner() {
                    match part.as_rule() {
                        Rule::kw_of => self.upper_quantifier(&part),
                        Rule::quantifier => {
                            let text = part.as_str();
                            self.upper_quantifier(&part);
                            let q = if text.eq_ignore_ascii_case("any") {
                                Quantifier::Any
                            } else if text.eq_ignore_ascii_case("all") {
                                Quantifier::All
                            } else {
                                // Counts too large for u32 saturate; the checker reports them.
                                Quantifier::AtLeast(text.parse().unwrap_or(u32::MAX))
                            };
                            quantifier = Spanned::new(q, self.span(&part));
                        }
                        Rule::section_wildcard | Rule::section_all => {
                            target = self.section_ref_in(part).map(QuantTarget::Section);
                        }
                        Rule::prefix_wildcard => {
                            target = Some(QuantTarget::SectionPrefix(self.prefix_ref(part)))
                        }
                        Rule::prefix_group => {
                            target = part
                                .into_inner()
                                .find(|p| p.as_rule() == Rule::prefix_wildcard)
                                .map(|p| QuantTarget::Group(self.prefix_ref(p)));
                        }
                        _ => {}
                    }
                }
                match target {
                    Some(target) => ExprKind::Quantified { quantifier, target },
                    None => ExprKind::BareWord(String::new()),
                }
            }
            _ => ExprKind::BareWord(pair.as_str().to_string()),
        };
        Expr { span, kind }
    }

    /// Warns about `ANY`/`ALL`/`OF`, which the reference rejects.
    fn upper_quantifier(&mut self, pair: &Pair<'_, Rule>) {
        if !pair.as_str().chars().any(|c| c.is_ascii_uppercase()) {
            return;
        }
        self.warnings.push(
            Diagnostic::new(
                &codes::PORTABILITY,
                self.span(pair),
                format!("`{}` is not lower-case", pair.as_str()),
            )
            .with_help(format!(
                "write `{}`; nova-hunting rejects upper-case quantifiers",
                pair.as_str().to_lowercase()
            )),
        );
    }

    fn section_ref(&self, pair: &Pair<'_, Rule>) -> SectionRef {
        let written = pair.as_str().to_string();
        let kind = match written.to_ascii_lowercase().as_str() {
            "keywords" => SectionKind::Keywords,
            "semantics" => SectionKind::Semantics,
            _ => SectionKind::Llm,
        };
        SectionRef {
            kind,
            written,
            span: self.span(pair),
        }
    }

    fn section_ref_in(&self, pair: Pair<'_, Rule>) -> Option<SectionRef> {
        pair.into_inner()
            .find(|p| p.as_rule() == Rule::section_name)
            .map(|p| self.section_ref(&p))
    }

    fn var_ref(&self, pair: Pair<'_, Rule>) -> VarRef {
        let mut section = None;
        let mut name = Spanned::new(String::new(), self.span(&pair));
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::section_name => section = Some(self.section_ref(&part)),
                Rule::var_name => name = self.spanned(&part),
                _ => {}
            }
        }
        VarRef { section, name }
    }

    fn prefix_ref(&self, pair: Pair<'_, Rule>) -> PrefixRef {
        let var = self.var_ref(pair);
        let prefix = var.name.value.trim_start_matches('$').to_string();
        let span = Span::new(var.name.span.start as usize + 1, var.name.span.end as usize);
        PrefixRef {
            section: var.section,
            prefix: Spanned::new(prefix, span),
        }
    }
}
