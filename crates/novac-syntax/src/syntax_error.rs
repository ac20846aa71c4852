//! Turns pest's "expected X" errors into coded, located diagnostics with a
//! human message and, for the mistakes people actually make, a help line.

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::grammar::Rule;
use crate::span::Span;
use pest::error::{Error, ErrorVariant, InputLocation};

const RULE_NAME_HELP: &str = "a rule name may contain only letters, digits and underscores";

/// Converts a pest error on `text` (which starts at byte `base` of the file).
pub(crate) fn from_pest_error(error: Error<Rule>, text: &str, base: usize) -> Diagnostic {
    let pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let positives = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let rest = text.get(pos..).unwrap_or("");
    let line_rest = rest.split('\n').next().unwrap_or("").trim_end_matches('\r');
    let found = describe_found(line_rest, rest.is_empty());
    let token_len = token_len(line_rest).max(if rest.is_empty() { 0 } else { 1 });
    let span = Span::new(
        base + pos,
        base + pos + token_len.min(line_rest.len().max(1)).min(rest.len()),
    );

    let expects_close = positives.contains(&Rule::close_line);
    if rest.trim().is_empty() && expects_close {
        let header_len = text.find('\n').unwrap_or(text.len());
        let header = text.get(..header_len).unwrap_or(text).trim_end();
        let start = header.len() - header.trim_start().len();
        return Diagnostic::new(&codes::MISSING_CLOSE_BRACE, Span::new(base + start, base + header.len()), "the rule is not closed")
            .with_label("this rule has no closing `}` line")
            .with_help("end the rule with a line that contains only `}` (the reference drops the last section of an unclosed rule)");
    }

    // An entry line that does not parse: point at its value and say why.
    // `pos` comes from pest, so it is a character boundary inside `text`;
    // `get` keeps a wrong position from becoming a panic all the same.
    let line_start = text
        .get(..pos)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let line_end = rest.find('\n').map_or(text.len(), |i| pos + i);
    let line = text.get(line_start..line_end).unwrap_or("");
    if line_rest.trim().is_empty() && line.trim_start().starts_with('$') {
        if let Some(eq) = line.find('=') {
            // `eq` is the index of an ASCII `=`, so `eq + 1` is a boundary.
            let after = line.get(eq + 1..).unwrap_or("");
            let value = after.trim();
            let value_start = line_start + eq + 1 + (after.len() - after.trim_start().len());
            let span = Span::new(base + value_start, base + value_start + value.len());
            return Diagnostic::new(&codes::SYNTAX, span, "invalid pattern value")
                .with_label("cannot read this value")
                .with_help(value_help(value));
        }
    }

    let mut expected: Vec<&str> = positives.iter().filter_map(|r| describe_rule(*r)).collect();
    expected.sort_unstable();
    expected.dedup();
    let message = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {}, found {found}", join_alternatives(&expected))
    };
    let mut diagnostic =
        Diagnostic::new(&codes::SYNTAX, span, message).with_label("unexpected here");
    let header = text
        .get(..pos)
        .is_some_and(|t| !t.contains('\n') && t.trim_start().starts_with("rule"));
    if header && !line_rest.starts_with(char::is_whitespace) && !line_rest.is_empty() {
        // The name runs into a character that cannot be part of it (`My-Rule`).
        return Diagnostic::new(
            &codes::BAD_RULE_NAME,
            span,
            format!("invalid character {found} in the rule name"),
        )
        .with_label("the name must end before this")
        .with_help(RULE_NAME_HELP)
        .with_note("nova-hunting would silently call this rule by the part before it");
    }
    if let Some(help) = help_for(line_rest, &positives, text, pos) {
        diagnostic = diagnostic.with_help(help);
    }
    diagnostic
}

/// Explains what is wrong with an entry value that does not parse.
fn value_help(value: &str) -> String {
    let quote = value.chars().next().unwrap_or(' ');
    if (quote == '"' || quote == '\'' || quote == '/')
        && (value.contains(" //") || value.contains(" #"))
    {
        return "comments must be on a line of their own; trailing comments are not allowed"
            .to_string();
    }
    match quote {
        '"' | '\'' if !value.ends_with(quote) || value.len() < 2 => {
            format!("the value starts with {quote} and must end with the same quote")
        }
        '/' => "a regex is /body/ or /body/i (the only flag is `i`)".to_string(),
        '"' => "the text must be in double quotes, optionally followed by a threshold `(0.5)`".to_string(),
        _ => "a keyword is \"text\", 'text', /regex/ or /regex/i; semantics and llm take \"text\" with an optional (threshold)".to_string(),
    }
}

fn token_len(rest: &str) -> usize {
    let trimmed = rest.trim_end();
    if trimmed.is_empty() {
        return 0;
    }
    let first = trimmed.chars().next().unwrap_or(' ');
    if first.is_alphanumeric() || first == '_' || first == '$' {
        trimmed
            .char_indices()
            .find(|(i, c)| *i > 0 && !(c.is_alphanumeric() || *c == '_'))
            .map_or(trimmed.len(), |(i, _)| i)
    } else if trimmed.starts_with("//")
        || trimmed.starts_with("==")
        || trimmed.starts_with("&&")
        || trimmed.starts_with("||")
    {
        2
    } else {
        first.len_utf8()
    }
}

fn describe_found(line_rest: &str, at_eof: bool) -> String {
    if at_eof {
        return "end of file".to_string();
    }
    if line_rest.trim().is_empty() {
        return "end of line".to_string();
    }
    let len = token_len(line_rest);
    format!("`{}`", line_rest.get(..len).unwrap_or(line_rest))
}

fn describe_rule(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::rule_name => "a rule name",
        Rule::rule_header => "`rule Name {`",
        Rule::open_brace => "`{`",
        Rule::close_line => "`}` on its own line",
        Rule::meta_header
        | Rule::keywords_header
        | Rule::semantics_header
        | Rule::llm_header
        | Rule::condition_header
        | Rule::unknown_header => "a section header",
        Rule::meta_entry | Rule::meta_junk => "a meta entry `key = \"value\"`",
        Rule::keyword_entry | Rule::scored_entry => "an entry `$name = ...`",
        Rule::var_name => "a variable name `$name`",
        Rule::dq_string | Rule::dq_text => "a string in double quotes",
        Rule::sq_string => "a string in single quotes",
        Rule::regex => "a /regex/",
        Rule::threshold => "a threshold `(0.5)`",
        Rule::condition | Rule::expr => "a condition",
        Rule::op_and | Rule::op_or => "`and` or `or`",
        Rule::op_not => "`not`",
        Rule::paren => "`(`",
        Rule::quantified => "a quantifier (`any of ...`)",
        Rule::boolean => "`true` or `false`",
        Rule::var_ref => "a variable",
        Rule::section_wildcard | Rule::section_all => "a section (`keywords`, `semantics`, `llm`)",
        Rule::prefix_wildcard | Rule::prefix_group => {
            "a prefix wildcard (`keywords.$p*` or `($p*)`)"
        }
        Rule::kw_of => "`of`",
        Rule::section_name => "a section name",
        Rule::tags => "`:` and tags",
        Rule::regex_flags => "regex flags",
        _ => return None,
    })
}

fn join_alternatives(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn help_for(line_rest: &str, positives: &[Rule], text: &str, pos: usize) -> Option<String> {
    let rest = line_rest.trim_start();
    let in_condition = positives.iter().any(|r| {
        matches!(
            r,
            Rule::op_and
                | Rule::op_or
                | Rule::quantified
                | Rule::var_ref
                | Rule::kw_of
                | Rule::section_name
                | Rule::section_wildcard
                | Rule::section_all
                | Rule::prefix_wildcard
                | Rule::prefix_group
        )
    });
    if rest.starts_with("//") || (rest.starts_with('#') && !in_condition) {
        return Some("comments must be on a line of their own".to_string());
    }
    if rest.starts_with('}') {
        return Some("the closing `}` must be on a line of its own".to_string());
    }
    if in_condition {
        if rest.starts_with("==")
            || rest.starts_with("!=")
            || rest.starts_with('>')
            || rest.starts_with('<')
        {
            return Some("conditions have no comparisons: write `$a` or `not $a` (the reference evaluates such a condition as always false)".to_string());
        }
        if rest.starts_with("&&") || rest.starts_with("||") || rest.starts_with('!') {
            return Some("use `and`, `or` and `not`".to_string());
        }
        if rest.starts_with("them") {
            return Some(
                "NOVA has no `them`: write `any of keywords.*` (or semantics/llm)".to_string(),
            );
        }
        if rest.starts_with(',') {
            return Some(
                "NOVA has no variable sets: write `any of ($prefix*)` or join variables with `or`"
                    .to_string(),
            );
        }
        if rest.starts_with('#') {
            return Some(
                "NOVA has no `#count`; `#` starts a comment only at the beginning of a line"
                    .to_string(),
            );
        }
        if rest.starts_with('$')
            || rest.starts_with('(')
            || rest.chars().next().is_some_and(char::is_alphanumeric)
        {
            return Some("join the parts of a condition with `and` or `or`".to_string());
        }
    }
    let on_header =
        positives.contains(&Rule::rule_name) || text.get(..pos).is_some_and(|t| !t.contains('\n'));
    if on_header
        && positives
            .iter()
            .any(|r| matches!(r, Rule::tags | Rule::open_brace))
    {
        return Some(RULE_NAME_HELP.to_string());
    }
    if positives.contains(&Rule::threshold) && rest.starts_with('(') {
        return Some("write the threshold as a number between 0 and 1, e.g. `(0.5)`".to_string());
    }
    if positives.contains(&Rule::var_name) {
        return Some(
            "variable names are `$` followed by letters, digits and underscores".to_string(),
        );
    }
    if positives.iter().any(|r| {
        matches!(
            r,
            Rule::dq_string | Rule::sq_string | Rule::regex | Rule::dq_text
        )
    }) {
        return Some("a keyword is \"text\", 'text', /regex/ or /regex/i; semantics and llm take \"text\" with an optional (threshold)".to_string());
    }
    None
}
