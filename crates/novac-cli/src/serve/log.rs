//! Structured logs of `novac serve`: one JSON object per line on stderr
//! (access logs and events). Access logs never hold request headers (so no
//! bearer token or API key) and hold prompts only with `--log-prompts`.
//!
//! Cost: one small allocation and one locked write to stderr per line.

use std::io::Write;

/// Writes `value`, with a `ts` field (RFC 3339, UTC) first, as one line.
pub fn json(value: &serde_json::Value) {
    let mut line = serde_json::Map::new();
    line.insert(
        "ts".into(),
        crate::mcp::audit::rfc3339(std::time::SystemTime::now()).into(),
    );
    if let serde_json::Value::Object(fields) = value {
        for (k, v) in fields {
            line.insert(k.clone(), v.clone());
        }
    }
    let text = serde_json::Value::Object(line).to_string();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Logs an event message at `level`.
pub fn event(level: &str, msg: &str) {
    json(&serde_json::json!({"level": level, "msg": msg}));
}
