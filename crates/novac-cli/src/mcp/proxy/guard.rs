//! The policy half of `novac mcp proxy`: which rules apply where (rule meta
//! `scope`), what a match does (rule meta `action`, else the CLI default),
//! redaction of matched spans, and the audit entries.
//!
//! Data flow: [`Guard::check_strings`] walks the string values of one part
//! of a message (tool arguments, a tool result, a description, a sampling
//! request), scans each string once with the current rule generation, keeps
//! the matches whose rule applies to the scope, rewrites redacted strings in
//! place, and returns the strongest [`Action`] asked for. Costs: one scan per
//! string value (plus at most [`REDACT_PASSES`] rescans of a string whose
//! spans were redacted, to catch later occurrences, as the scanner reports
//! the first span of each keyword), no copy of the message. A string over
//! [`STREAM_MIN`] bytes (a large tool result) is fed to the streaming
//! scanner in chunks, so scanning it holds a window of at most 1 MiB rather
//! than a lowered copy of the whole string; its index is built per such
//! string (milliseconds for the public rules).

use super::super::audit::{rfc3339, AuditLog};
use novac::{RuleSet, ScanOptions, Scanner, StreamScanner};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::SystemTime;

/// Strings longer than this (in bytes) are scanned by the streaming
/// scanner (except with `--decode`, whose decoded views need the whole text).
pub const STREAM_MIN: usize = 1 << 20;
/// The chunks a large string is fed to the streaming scanner in.
const STREAM_CHUNK: usize = 64 << 10;

/// Rescans of a redacted string (each pass redacts the next occurrences).
pub const REDACT_PASSES: usize = 4;

/// What a match does, weakest first (the strongest of a message wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Forward unchanged, with an audit entry.
    Log,
    /// Replace the matched spans with `[REDACTED:Rule]`.
    Redact,
    /// Drop the tool (prompt, resource) from a list; elsewhere the same as block.
    Hide,
    /// Refuse: a JSON-RPC error, or a tool result with `isError`.
    Block,
}

impl Action {
    fn parse(value: &str) -> Option<Action> {
        match value.trim().to_ascii_lowercase().as_str() {
            "log" => Some(Action::Log),
            "redact" => Some(Action::Redact),
            "hide" => Some(Action::Hide),
            "block" => Some(Action::Block),
            _ => None,
        }
    }
}

/// Where a text was found; a rule applies when its meta `scope` is absent
/// or lists this scope's name (or `description` for the three descriptions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Tool definitions in a `tools/list` result.
    ToolDescription,
    /// Prompt definitions in a `prompts/list` result.
    PromptDescription,
    /// Resource (and template) definitions in a `resources/*list` result.
    ResourceDescription,
    /// The `arguments` of a `tools/call` request.
    ToolArguments,
    /// The text content and `structuredContent` of a `tools/call` result.
    ToolResult,
    /// The messages and system prompt of a `sampling/createMessage` request.
    Sampling,
}

impl Scope {
    /// The name used in rule meta `scope`.
    pub fn name(self) -> &'static str {
        match self {
            Scope::ToolDescription => "tool_description",
            Scope::PromptDescription => "prompt_description",
            Scope::ResourceDescription => "resource_description",
            Scope::ToolArguments => "tool_arguments",
            Scope::ToolResult => "tool_result",
            Scope::Sampling => "sampling",
        }
    }

    fn applies(self, meta: Option<&str>) -> bool {
        let Some(meta) = meta else { return true };
        meta.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .any(|s| {
                s == self.name()
                    || s == "all"
                    || (s == "description"
                        && matches!(
                            self,
                            Scope::ToolDescription
                                | Scope::PromptDescription
                                | Scope::ResourceDescription
                        ))
            })
    }
}

/// Where a message was going, for the audit log.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the client to the upstream server.
    ClientToServer,
    /// From the upstream server to the client.
    ServerToClient,
}

/// What the message was, for the audit log and error texts.
pub struct Context<'a> {
    /// Where it was going.
    pub direction: Direction,
    /// The JSON-RPC method (of the request a response answers).
    pub method: &'a str,
    /// The tool (prompt, resource) concerned, when known.
    pub tool: Option<&'a str>,
}

/// One audit line: never the scanned text, only where the match was.
#[derive(Serialize)]
struct Entry<'a> {
    timestamp: String,
    event: &'static str,
    direction: Direction,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool: Option<&'a str>,
    scope: &'static str,
    rule: &'a str,
    action: Action,
    /// Byte span in the scanned string (absent for semantic/LLM-only matches).
    #[serde(skip_serializing_if = "Option::is_none")]
    span: Option<[usize; 2]>,
    /// The scanned string's length in bytes.
    text_bytes: usize,
    generation: u64,
}

/// The outcome of checking one part of a message.
#[derive(Debug, Default)]
pub struct Verdict {
    /// The strongest action asked for, with the rule that asked for it.
    pub strongest: Option<(Action, String)>,
    /// Whether some string was rewritten (redacted).
    pub modified: bool,
}

impl Verdict {
    fn raise(&mut self, action: Action, rule: &str) {
        if self.strongest.as_ref().is_none_or(|(a, _)| action > *a) {
            self.strongest = Some((action, rule.to_string()));
        }
    }

    /// The rule when the action is block or hide.
    pub fn refusal(&self) -> Option<(Action, &str)> {
        match &self.strongest {
            Some((a @ (Action::Block | Action::Hide), rule)) => Some((*a, rule.as_str())),
            _ => None,
        }
    }

    /// Adds another part's outcome.
    pub fn merge(&mut self, other: Verdict) {
        if let Some((a, rule)) = other.strongest {
            self.raise(a, &rule);
        }
        self.modified |= other.modified;
    }
}

/// The rules and the policy.
pub struct Guard {
    /// The rules in service (hot-reloaded with `--watch`).
    pub rules: Arc<RuleSet>,
    /// Scan options.
    pub options: ScanOptions,
    /// The action of rules without meta `action`.
    pub default_action: Action,
    /// Where matches are logged.
    pub audit: std::sync::Mutex<Option<AuditLog>>,
}

/// One match of one rule in one string.
struct Hit {
    rule: String,
    action: Action,
    spans: Vec<(usize, usize)>,
}

impl Guard {
    /// Checks every string inside `value` (object keys excepted, and the
    /// values of `skip_keys`), redacting in place where asked.
    pub fn check_strings(
        &self,
        value: &mut Value,
        scope: Scope,
        ctx: &Context<'_>,
        skip_keys: &[&str],
    ) -> Verdict {
        let mut verdict = Verdict::default();
        match value {
            Value::String(text) => verdict.merge(self.check_text(text, scope, ctx)),
            Value::Array(items) => {
                for item in items {
                    verdict.merge(self.check_strings(item, scope, ctx, skip_keys));
                }
            }
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    if !skip_keys.contains(&key.as_str()) {
                        verdict.merge(self.check_strings(item, scope, ctx, skip_keys));
                    }
                }
            }
            _ => {}
        }
        verdict
    }

    /// Checks one string, redacting it in place where asked.
    pub fn check_text(&self, text: &mut String, scope: Scope, ctx: &Context<'_>) -> Verdict {
        let mut verdict = Verdict::default();
        for pass in 0..=REDACT_PASSES {
            let (hits, generation) = self.scan(text, scope);
            if hits.is_empty() {
                break;
            }
            let mut redactions: Vec<(usize, usize, String)> = Vec::new();
            for hit in &hits {
                verdict.raise(hit.action, &hit.rule);
                let spans: Vec<Option<[usize; 2]>> = if hit.spans.is_empty() {
                    vec![None]
                } else {
                    hit.spans.iter().map(|&(s, e)| Some([s, e])).collect()
                };
                for span in spans {
                    self.record(&Entry {
                        timestamp: rfc3339(SystemTime::now()),
                        event: "match",
                        direction: ctx.direction,
                        method: ctx.method,
                        tool: ctx.tool,
                        scope: scope.name(),
                        rule: &hit.rule,
                        action: hit.action,
                        span,
                        text_bytes: text.len(),
                        generation,
                    });
                }
                if hit.action == Action::Redact {
                    if hit.spans.is_empty() {
                        // A semantic or LLM match has no span: the whole text goes.
                        redactions.push((0, text.len(), hit.rule.clone()));
                    }
                    for &(s, e) in &hit.spans {
                        redactions.push((s, e, hit.rule.clone()));
                    }
                }
            }
            if redactions.is_empty() || pass == REDACT_PASSES {
                break;
            }
            *text = redact(text, redactions);
            verdict.modified = true;
        }
        verdict
    }

    fn scan(&self, text: &str, scope: Scope) -> (Vec<Hit>, u64) {
        let snapshot = self.rules.current();
        let fail_closed = |e: &dyn std::fmt::Display| {
            // Too large to scan, or no index: fail closed with a block.
            (
                vec![Hit {
                    rule: format!("novac:{e}"),
                    action: Action::Block,
                    spans: Vec::new(),
                }],
                snapshot.generation(),
            )
        };
        let result = if text.len() > STREAM_MIN && self.options.decode.is_none() {
            match stream_scan(snapshot.rules(), &self.options, text) {
                Ok(result) => result,
                Err(e) => return fail_closed(&e),
            }
        } else {
            let mut scanner = Scanner::new(snapshot.rules()).options(self.options.clone());
            match scanner.try_scan(text) {
                Ok(result) => result,
                Err(e) => return fail_closed(&e),
            }
        };
        let hits = result
            .matched()
            .filter_map(|r| {
                let info = snapshot.rules().rule(r.index)?;
                if !scope.applies(info.meta_value("scope")) {
                    return None;
                }
                let action = info
                    .meta_value("action")
                    .and_then(Action::parse)
                    .unwrap_or(self.default_action);
                Some(Hit {
                    rule: r.rule.as_str().to_string(),
                    action,
                    spans: r.keywords.iter().map(|k| (k.start, k.end)).collect(),
                })
            })
            .collect();
        (hits, snapshot.generation())
    }

    fn record(&self, entry: &Entry<'_>) {
        if let Ok(audit) = self.audit.lock() {
            if let Some(audit) = audit.as_ref() {
                audit.record(entry);
            }
        }
    }

    /// Writes out the audit log and closes it.
    pub fn close_audit(&self) {
        if let Ok(mut audit) = self.audit.lock() {
            audit.take();
        }
    }
}

/// Scans a large text with the streaming scanner, fed [`STREAM_CHUNK`]
/// bytes at a time: it keeps a window of at most 1 MiB (and the keyword
/// automata), where [`Scanner`] would lower a copy of the whole text.
/// Literal keywords are exact over the whole text; a regex match longer
/// than half the window may be missed, and the semantic and LLM stages see
/// the last window (see [`novac::StreamScanner`]).
fn stream_scan(
    rules: &novac::Rules,
    options: &ScanOptions,
    text: &str,
) -> Result<novac::ScanResult, novac::CompileError> {
    let index = novac::StreamIndex::new(rules)?;
    let options = options.clone();
    let mut stream = StreamScanner::new(&index).configure(|s| s.options(options));
    let mut rest = text;
    while !rest.is_empty() {
        let mut at = rest.len().min(STREAM_CHUNK);
        while !rest.is_char_boundary(at) {
            at += 1;
        }
        let (chunk, later) = rest.split_at(at);
        stream.push(chunk);
        rest = later;
    }
    Ok(stream.finish().result)
}

/// `text` with the spans replaced by `[REDACTED:Rule]` (a span overlapping
/// an earlier one starts where that one ended; spans off a character
/// boundary are widened to one).
fn redact(text: &str, mut spans: Vec<(usize, usize, String)>) -> String {
    spans.sort_by_key(|&(s, e, _)| (s, std::cmp::Reverse(e)));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, rule) in spans {
        let mut start = start.min(text.len());
        let mut end = end.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        start = start.max(at);
        while !text.is_char_boundary(end) {
            end += 1;
        }
        if end <= start {
            continue;
        }
        out.push_str(text.get(at..start).unwrap_or_default());
        out.push_str("[REDACTED:");
        out.push_str(&rule);
        out.push(']');
        at = end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_the_meta() {
        assert!(Scope::ToolResult.applies(None));
        assert!(Scope::ToolResult.applies(Some("tool_result")));
        assert!(Scope::ToolResult.applies(Some("tool_arguments, tool_result")));
        assert!(!Scope::ToolResult.applies(Some("tool_description")));
        assert!(Scope::PromptDescription.applies(Some("description")));
        assert!(!Scope::Sampling.applies(Some("description")));
    }

    #[test]
    fn actions_parse_and_order() {
        assert_eq!(Action::parse(" Block "), Some(Action::Block));
        assert_eq!(Action::parse("nope"), None);
        assert!(Action::Block > Action::Hide && Action::Hide > Action::Redact);
        assert!(Action::Redact > Action::Log);
    }

    #[test]
    fn redaction_merges_and_keeps_char_boundaries() {
        let r = |t: &str, s: Vec<(usize, usize, &str)>| {
            redact(
                t,
                s.into_iter()
                    .map(|(a, b, n)| (a, b, n.to_string()))
                    .collect(),
            )
        };
        assert_eq!(
            r("my key is abc", vec![(10, 13, "K")]),
            "my key is [REDACTED:K]"
        );
        assert_eq!(
            r("aaaa bbbb", vec![(0, 4, "A"), (2, 6, "B")]),
            "[REDACTED:A][REDACTED:B]bbb"
        );
        assert_eq!(r("é=x", vec![(1, 2, "E")]), "[REDACTED:E]=x");
        assert_eq!(r("abc", vec![(5, 9, "Z")]), "abc");
    }
}
