//! Lenient reading of the model's verdict, as the reference reads it: a
//! JSON object with `matched`, `confidence` and `reason`, also when the
//! model wraps it in prose or a Markdown code fence.
//!
//! Tried in order: the whole reply; the inside of each code fence; the
//! span from the first `{` to the last `}`; every `{` that starts a JSON
//! object. The first object with a `matched` field wins. Failing that, a
//! `"matched": true|false` pair anywhere in the text (the reference's Ollama
//! fallback). Unlike the reference, a reply without any `matched` is an
//! error (the rule fails closed with a warning), never a guess from words
//! like "yes" in the prose, and a missing `matched` is not read as false.

use novac::LlmError;
use serde_json::{Map, Value};

/// The fields of a verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedVerdict {
    /// `matched`.
    pub matched: bool,
    /// `confidence`, clamped to 0..=1 (0 when absent).
    pub confidence: f32,
    /// `reason` (empty when absent).
    pub reason: String,
}

/// Reads the verdict in a model's reply.
pub fn parse_verdict(reply: &str) -> Result<ParsedVerdict, LlmError> {
    for candidate in candidates(reply) {
        if let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(candidate.trim()) {
            if obj.contains_key("matched") {
                return from_object(&obj);
            }
        }
    }
    for (i, _) in reply.match_indices('{') {
        let mut stream = serde_json::Deserializer::from_str(&reply[i..]).into_iter::<Value>();
        if let Some(Ok(Value::Object(obj))) = stream.next() {
            if obj.contains_key("matched") {
                return from_object(&obj);
            }
        }
    }
    if let Some(matched) = find_bool(reply, "\"matched\"") {
        return Ok(ParsedVerdict {
            matched,
            confidence: find_number(reply, "\"confidence\"").unwrap_or(0.0),
            reason: "read from a reply that is not valid JSON".to_string(),
        });
    }
    Err(LlmError::InvalidResponse(format!(
        "no JSON object with a `matched` field in the reply ({} characters)",
        reply.chars().count()
    )))
}

/// The whole reply, the inside of each code fence, and first `{` to last `}`.
fn candidates(reply: &str) -> Vec<&str> {
    let mut out = vec![reply];
    let mut rest = reply;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        // Skip the info string (`json`) up to the end of the line.
        let body_start = after.find('\n').map_or(0, |n| n + 1);
        let Some(close) = after[body_start..].find("```") else {
            break;
        };
        out.push(&after[body_start..body_start + close]);
        rest = &after[body_start + close + 3..];
    }
    if let (Some(a), Some(b)) = (reply.find('{'), reply.rfind('}')) {
        if a < b {
            out.push(&reply[a..=b]);
        }
    }
    out
}

fn from_object(obj: &Map<String, Value>) -> Result<ParsedVerdict, LlmError> {
    let matched = match &obj["matched"] {
        Value::Bool(b) => *b,
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" => true,
            "false" | "no" => false,
            _ => return Err(bad_matched()),
        },
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        _ => return Err(bad_matched()),
    };
    let confidence = match obj.get("confidence") {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    };
    let confidence = if confidence.is_nan() {
        0.0
    } else {
        confidence.clamp(0.0, 1.0)
    } as f32;
    let reason = match obj.get("reason") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    Ok(ParsedVerdict {
        matched,
        confidence,
        reason,
    })
}

fn bad_matched() -> LlmError {
    LlmError::InvalidResponse("`matched` is not a boolean".into())
}

/// The value after `"key"` `:` when it is `true` or `false`.
fn find_bool(text: &str, key: &str) -> Option<bool> {
    let lower = text.to_ascii_lowercase();
    for (i, _) in lower.match_indices(key) {
        let Some(rest) = lower[i + key.len()..].trim_start().strip_prefix(':') else {
            continue;
        };
        let rest = rest.trim_start();
        if rest.starts_with("true") {
            return Some(true);
        }
        if rest.starts_with("false") {
            return Some(false);
        }
    }
    None
}

fn find_number(text: &str, key: &str) -> Option<f32> {
    let i = text.find(key)?;
    let rest = text[i + key.len()..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse::<f32>().ok().map(|x| x.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(reply: &str) -> ParsedVerdict {
        parse_verdict(reply).unwrap()
    }

    #[test]
    fn plain_json() {
        let v = ok(r#"{"matched": true, "confidence": 0.9, "reason": "asks for the key"}"#);
        assert_eq!(
            v,
            ParsedVerdict {
                matched: true,
                confidence: 0.9,
                reason: "asks for the key".into()
            }
        );
    }

    #[test]
    fn code_fences_and_prose() {
        let v = ok("Sure! Here is my verdict:\n```json\n{\"matched\": false, \"confidence\": 0.2, \"reason\": \"benign\"}\n```\nHope this helps.");
        assert!(!v.matched);
        assert_eq!(v.reason, "benign");
        let v = ok("I think {\"matched\": true} is right.");
        assert!(v.matched);
        assert_eq!(v.confidence, 0.0);
        // Two objects: the first with `matched` wins.
        let v = ok("{\"note\": 1} then {\"matched\": true, \"confidence\": 3}");
        assert!(v.matched);
        assert_eq!(v.confidence, 1.0, "clamped");
    }

    #[test]
    fn broken_json_falls_back_to_the_matched_pair() {
        let v = ok("{\"matched\": true, \"confidence\": 0.7, \"reason\": \"unterminated");
        assert!(v.matched);
        assert!((v.confidence - 0.7).abs() < 1e-6);
    }

    #[test]
    fn loose_field_types() {
        assert!(ok(r#"{"matched": "true"}"#).matched);
        assert!(!ok(r#"{"matched": "no", "confidence": "0.4"}"#).matched);
        assert_eq!(ok(r#"{"matched": 1, "reason": ["a"]}"#).reason, "[\"a\"]");
    }

    #[test]
    fn no_verdict_is_an_error_not_a_guess() {
        for reply in [
            "Yes, this matches.",
            "",
            "{\"confidence\": 0.9}",
            "{\"matched\": null}",
        ] {
            assert!(
                matches!(parse_verdict(reply), Err(LlmError::InvalidResponse(_))),
                "{reply:?}"
            );
        }
    }
}
