//! The `validate_prompt` tool: its definition for `tools/list` and what a
//! call answers.
//!
//! Data flow: [`Tool::call`] takes the current rule generation from the
//! [`RuleSet`], scans the prompt once with it, and turns the result into
//!
//! * the text answer of nova_mcp (the reference's MCP gateway), so that
//!   clients and system prompts written for it keep working: `AUTHORIZED`,
//!   or `NOT AUTHORIZED` with the first matched rule's name, description and
//!   severity;
//! * `structuredContent` listing every matched rule with its keyword spans
//!   (and the rules that failed closed), described by the tool's
//!   `outputSchema`;
//! * one [`Decision`] for the audit log.
//!
//! Like nova_mcp, a blank prompt is authorized without a scan, and a prompt
//! that cannot be validated (over `--max-prompt-bytes`) is refused with its
//! fail-closed text.

use super::audit::{rfc3339, truncate, AuditLog, Decision, PROMPT_CHARS};
use super::Hooks;
use novac::{RuleResult, RuleSet, RuleSnapshot, ScanOptions};
use serde_json::{json, Value};
use std::time::{Instant, SystemTime};

/// The tool's name.
pub const NAME: &str = "validate_prompt";

/// `user_id` when the caller gives none (nova_mcp's default).
const UNKNOWN_USER: &str = "unknown";

/// The answer text when no rule matched.
pub const AUTHORIZED: &str = "AUTHORIZED";
/// The first line of the answer text when a rule matched.
pub const NOT_AUTHORIZED: &str = "NOT AUTHORIZED";

/// nova_mcp's answer when a rule matched.
fn blocked_text(rule: &str, description: &str, severity: &str) -> String {
    format!(
        "{NOT_AUTHORIZED}\n\nYour prompt is not authorized.\n\nSecurity rule matched: {rule}\n\
         Description: {description}\nSeverity: {severity}\n\n\
         This request has been blocked by the NOVA security gateway."
    )
}

/// nova_mcp's fail-closed answer when validation could not complete.
const FAIL_CLOSED_TEXT: &str = "NOT AUTHORIZED\n\nYour prompt is not authorized.\n\n\
     Unable to complete security validation. For safety, this request has been blocked.";

/// Why a call's arguments were refused (answered with JSON-RPC -32602).
#[derive(Debug)]
pub struct InvalidArguments(pub String);

/// The tool, with what it scans with.
pub struct Tool {
    /// The rules in service.
    pub rules: std::sync::Arc<RuleSet>,
    /// Scan options (normalisation, prompt size limit).
    pub options: ScanOptions,
    /// The semantic and LLM stages.
    pub hooks: Hooks,
    /// Where decisions are logged.
    pub audit: Option<AuditLog>,
}

/// The JSON schema of one matched rule in `structuredContent`.
fn rule_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "rule": {"type": "string", "description": "The rule name."},
            "description": {"type": ["string", "null"], "description": "The rule's meta `description`."},
            "severity": {"type": ["string", "null"], "description": "The rule's meta `severity`."},
            "meta": {"type": "object", "additionalProperties": {"type": "string"}},
            "keywords": {
                "type": "array",
                "description": "Matched keyword variables with the byte span (UTF-8) of their first match.",
                "items": {
                    "type": "object",
                    "properties": {
                        "var": {"type": "string"},
                        "start": {"type": "integer"},
                        "end": {"type": "integer"},
                        "decoded": {"type": "string", "description": "Set when the keyword matched only in a decoded run (--decode): the run's encoding; start/end are the run's span."}
                    },
                    "required": ["var", "start", "end"]
                }
            },
            "semantics": {"type": "array", "items": {"type": "object"}},
            "llm": {"type": "array", "items": {"type": "object"}}
        },
        "required": ["rule", "description", "severity", "keywords"]
    })
}

/// The `outputSchema` of the tool (MCP 2025-06-18 and later).
pub fn output_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "authorized": {"type": "boolean", "description": "false when any rule matched or validation failed."},
            "verdict": {"type": "string", "enum": [AUTHORIZED, NOT_AUTHORIZED]},
            "user_id": {"type": "string"},
            "rule": {"type": ["string", "null"], "description": "The rule the text answer reports (the first match)."},
            "matched_rules": {"type": "array", "items": rule_schema(), "description": "Every matched rule, in rule order."},
            "failed_closed": {
                "type": "array",
                "description": "Rules not matched because their semantic or LLM stage is not configured or failed.",
                "items": {
                    "type": "object",
                    "properties": {
                        "rule": {"type": "string"},
                        "warnings": {"type": "array", "items": {"type": "string"}}
                    },
                    "required": ["rule", "warnings"]
                }
            },
            "generation": {"type": "integer", "description": "The rule generation that decided (grows on each reload)."},
            "error": {"type": ["string", "null"], "description": "Why validation failed, if it did."}
        },
        "required": ["authorized", "verdict", "user_id", "rule", "matched_rules", "failed_closed", "generation", "error"]
    })
}

/// The tool definition for `tools/list`, with the fields `version` knows;
/// `open_world`: an LLM judge (an outside service) may be called.
#[allow(clippy::indexing_slicing)] // serde_json: `v[key] = …` on an object built by json!({..}) inserts, never panics
pub fn definition(version: &str, open_world: bool) -> Value {
    let mut tool = json!({
        "name": NAME,
        "description": "SECURITY CHECKPOINT: validate a prompt against the NOVA security rules before it \
            reaches the model. Answers AUTHORIZED, or NOT AUTHORIZED with the matched rule, its \
            description and severity.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "prompt": {"type": "string", "description": "The prompt to check."},
                "user_id": {"type": "string", "description": "Who submitted the prompt (for the audit log).", "default": UNKNOWN_USER}
            },
            "required": ["prompt"]
        }
    });
    if version >= "2025-03-26" {
        tool["annotations"] = json!({
            "title": "Validate a prompt with NOVA rules",
            "readOnlyHint": true,
            "destructiveHint": false,
            "idempotentHint": true,
            "openWorldHint": open_world
        });
    }
    if version >= "2025-06-18" {
        tool["title"] = json!("Validate a prompt with NOVA rules");
        tool["outputSchema"] = output_schema();
    }
    tool
}

/// The arguments of a call.
struct Arguments<'a> {
    prompt: &'a str,
    user_id: &'a str,
}

fn arguments(args: Option<&Value>) -> Result<Arguments<'_>, InvalidArguments> {
    let object = match args {
        Some(Value::Object(o)) => o,
        Some(other) => {
            return Err(InvalidArguments(format!(
                "the arguments must be an object, not {other}"
            )))
        }
        None => return Err(InvalidArguments("missing argument `prompt`".into())),
    };
    let prompt = match object.get("prompt") {
        Some(Value::String(p)) => p.as_str(),
        Some(other) => {
            return Err(InvalidArguments(format!(
                "`prompt` must be a string, not {other}"
            )))
        }
        None => return Err(InvalidArguments("missing argument `prompt`".into())),
    };
    let user_id = match object.get("user_id") {
        Some(Value::String(u)) => u.as_str(),
        None | Some(Value::Null) => UNKNOWN_USER,
        Some(other) => {
            return Err(InvalidArguments(format!(
                "`user_id` must be a string, not {other}"
            )))
        }
    };
    Ok(Arguments { prompt, user_id })
}

#[allow(clippy::indexing_slicing)] // serde_json: `v[key] = …` on an object built by json!({..}) inserts, never panics
fn matched_rule_json(snapshot: &RuleSnapshot, r: &RuleResult) -> Value {
    let info = snapshot.rule(r.index);
    let meta: serde_json::Map<String, Value> = info
        .map(|i| {
            i.meta()
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect()
        })
        .unwrap_or_default();
    let mut value = json!({
        "rule": r.rule,
        "description": info.and_then(|i| i.meta_value("description")),
        "severity": info.and_then(|i| i.meta_value("severity")),
        "meta": meta,
        "keywords": r.keywords,
    });
    if !r.semantics.is_empty() {
        value["semantics"] = json!(r.semantics);
    }
    if !r.llm.is_empty() {
        value["llm"] = json!(r.llm);
    }
    value
}

impl Tool {
    /// Answers one `tools/call` of `validate_prompt`; `structured` adds
    /// `structuredContent` (MCP 2025-06-18 and later).
    pub fn call(&self, args: Option<&Value>, structured: bool) -> Result<Value, InvalidArguments> {
        let Arguments { prompt, user_id } = arguments(args)?;
        let started = Instant::now();
        let snapshot = self.rules.current();
        let scanned = if prompt.trim().is_empty() {
            Ok(None)
        } else {
            let mut scanner = self.hooks.scanner(&snapshot, self.options.clone());
            scanner.try_scan(prompt).map(Some)
        };
        let elapsed_us = started.elapsed().as_micros() as u64;
        let (text, content, decision_rules, severity, failed, error) = match &scanned {
            Ok(result) => {
                let rules: &[RuleResult] = result.as_ref().map_or(&[], |r| &r.rules);
                let matched: Vec<&RuleResult> = rules.iter().filter(|r| r.matched).collect();
                let failed: Vec<&RuleResult> = rules
                    .iter()
                    .filter(|r| !r.matched && !r.warnings.is_empty())
                    .collect();
                let first = matched.first().map(|r| {
                    let info = snapshot.rule(r.index);
                    (
                        r.rule.as_str(),
                        info.and_then(|i| i.meta_value("description")),
                        info.and_then(|i| i.meta_value("severity")),
                    )
                });
                let text = match first {
                    Some((rule, description, severity)) => blocked_text(
                        rule,
                        description.unwrap_or("No description provided"),
                        severity.unwrap_or("unknown"),
                    ),
                    None => AUTHORIZED.to_string(),
                };
                let content = json!({
                    "authorized": first.is_none(),
                    "verdict": if first.is_none() { AUTHORIZED } else { NOT_AUTHORIZED },
                    "user_id": user_id,
                    "rule": first.map(|f| f.0),
                    "matched_rules": matched.iter().map(|r| matched_rule_json(&snapshot, r)).collect::<Vec<_>>(),
                    "failed_closed": failed.iter().map(|r| json!({"rule": r.rule, "warnings": r.warnings})).collect::<Vec<_>>(),
                    "generation": snapshot.generation(),
                    "error": Value::Null,
                });
                (
                    text,
                    content,
                    matched.iter().map(|r| r.rule.as_str()).collect::<Vec<_>>(),
                    first.and_then(|f| f.2),
                    failed.iter().map(|r| r.rule.as_str()).collect::<Vec<_>>(),
                    None,
                )
            }
            Err(e) => {
                let message = e.to_string();
                let content = json!({
                    "authorized": false,
                    "verdict": NOT_AUTHORIZED,
                    "user_id": user_id,
                    "rule": Value::Null,
                    "matched_rules": [],
                    "failed_closed": [],
                    "generation": snapshot.generation(),
                    "error": message,
                });
                (
                    FAIL_CLOSED_TEXT.to_string(),
                    content,
                    Vec::new(),
                    None,
                    Vec::new(),
                    Some(message),
                )
            }
        };
        let authorized = content
            .get("authorized")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if let Some(audit) = &self.audit {
            audit.record(&Decision {
                timestamp: rfc3339(SystemTime::now()),
                event: "decision",
                user_id,
                verdict: if authorized {
                    AUTHORIZED
                } else {
                    NOT_AUTHORIZED
                },
                matched_rules: decision_rules,
                severity,
                failed_closed: failed,
                error: error.as_deref(),
                generation: snapshot.generation(),
                prompt: truncate(prompt, PROMPT_CHARS),
                prompt_chars: prompt.chars().count(),
                elapsed_us,
            });
        }
        let mut result = json!({
            "content": [{"type": "text", "text": text}],
            "isError": false,
        });
        if let (true, Some(object)) = (structured, result.as_object_mut()) {
            object.insert("structuredContent".to_string(), content);
        }
        Ok(result)
    }
}
