//! JSON-RPC 2.0 framing for the MCP stdio transport: reading bounded,
//! newline-delimited messages, classifying them, and building responses.
//!
//! Data flow: [`read_line`] gives one line of stdin (or [`Line::TooLong`]);
//! the server parses it and [`classify`]es each message as a request, a
//! notification, a response (ignored: this server sends no requests) or an
//! invalid message, and answers with [`success`] or [`error`] objects.

use serde_json::{json, Map, Value};
use std::io::BufRead;

/// Invalid JSON.
pub const PARSE_ERROR: i64 = -32700;
/// Valid JSON that is not a JSON-RPC request.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// An error inside the server.
pub const INTERNAL_ERROR: i64 = -32603;

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The bytes of the line, without its `\n` (or `\r\n`).
    Message(Vec<u8>),
    /// A line longer than the limit (its bytes were skipped).
    TooLong,
}

/// Reads the next line, at most `limit` bytes; `None` at end of input. An
/// over-long line is consumed to its end and reported as [`Line::TooLong`],
/// so the stream stays in sync.
pub fn read_line(reader: &mut impl BufRead, limit: usize) -> std::io::Result<Option<Line>> {
    let mut buf = Vec::new();
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            // End of input: a last line without `\n` still counts.
            return Ok(match (buf.is_empty() && !too_long, too_long) {
                (true, _) => None,
                (_, true) => Some(Line::TooLong),
                _ => Some(Line::Message(trim_cr(buf))),
            });
        }
        let (chunk, found) = match memchr(available) {
            Some(i) => (available.get(..i).unwrap_or(available), Some(i)),
            None => (available, None),
        };
        if !too_long {
            if buf.len() + chunk.len() > limit {
                too_long = true;
                buf = Vec::new();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let used = found.map_or(chunk.len(), |i| i + 1);
        reader.consume(used);
        if found.is_some() {
            return Ok(Some(if too_long {
                Line::TooLong
            } else {
                Line::Message(trim_cr(buf))
            }));
        }
    }
}

fn memchr(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

fn trim_cr(mut line: Vec<u8>) -> Vec<u8> {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line
}

/// What a parsed message is.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// A request: it gets exactly one response.
    Request {
        /// Its id (a string or a number).
        id: Value,
        /// The method.
        method: String,
        /// Its params (an object or array), if any.
        params: Option<Value>,
    },
    /// A notification: it gets no response, whatever happens.
    Notification {
        /// The method.
        method: String,
    },
    /// A response to a request of ours (we send none; it is ignored).
    Response,
    /// Not a valid JSON-RPC 2.0 message: answered with -32600.
    Invalid {
        /// The message's id when it had a valid one, else `null`.
        id: Value,
        /// What is wrong.
        reason: String,
    },
}

fn valid_id(id: &Value) -> bool {
    // MCP: "a string or integer", never null. Fractional numbers are
    // accepted, as JSON-RPC only discourages them.
    matches!(id, Value::String(_) | Value::Number(_))
}

/// Classifies one JSON value (not a batch array).
pub fn classify(value: Value) -> Incoming {
    let Value::Object(mut object) = value else {
        return Incoming::Invalid {
            id: Value::Null,
            reason: "a message must be a JSON object".into(),
        };
    };
    let id = object.remove("id");
    let reply_id = id.clone().filter(valid_id).unwrap_or(Value::Null);
    let invalid = |reason: String| Incoming::Invalid {
        id: reply_id.clone(),
        reason,
    };
    match object.get("jsonrpc") {
        Some(Value::String(v)) if v == "2.0" => {}
        Some(other) => return invalid(format!("\"jsonrpc\" must be \"2.0\", not {other}")),
        None => return invalid("missing \"jsonrpc\": \"2.0\"".into()),
    }
    let method = match object.remove("method") {
        Some(Value::String(m)) => m,
        Some(other) => return invalid(format!("\"method\" must be a string, not {other}")),
        None if id.is_some() && (object.contains_key("result") || object.contains_key("error")) => {
            return Incoming::Response;
        }
        None => return invalid("missing \"method\"".into()),
    };
    let params = object.remove("params");
    if let Some(p) = &params {
        if !p.is_object() && !p.is_array() {
            return invalid(format!("\"params\" must be an object or an array, not {p}"));
        }
    }
    match id {
        None => Incoming::Notification { method },
        Some(id) if valid_id(&id) => Incoming::Request { id, method, params },
        Some(id) => invalid(format!("\"id\" must be a string or an integer, not {id}")),
    }
}

/// A success response.
pub fn success(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// An error response; `data` adds details.
pub fn error(id: &Value, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut error = Map::new();
    error.insert("code".into(), code.into());
    error.insert("message".into(), message.into());
    if let Some(data) = data {
        error.insert("data".into(), data);
    }
    json!({"jsonrpc": "2.0", "id": id, "error": error})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &str, limit: usize) -> Vec<Line> {
        let mut reader = std::io::BufReader::with_capacity(4, input.as_bytes());
        std::iter::from_fn(|| read_line(&mut reader, limit).unwrap()).collect()
    }

    #[test]
    fn lines_are_bounded_and_stay_in_sync() {
        assert_eq!(
            lines("ab\r\n0123456789\ncd", 5),
            [
                Line::Message(b"ab".to_vec()),
                Line::TooLong,
                Line::Message(b"cd".to_vec())
            ]
        );
        assert_eq!(lines("", 5), []);
        assert_eq!(lines("\n", 5), [Line::Message(Vec::new())]);
        assert_eq!(lines("0123456789", 5), [Line::TooLong]);
    }

    #[test]
    fn messages_are_classified() {
        let c = |s: &str| classify(serde_json::from_str(s).unwrap());
        assert!(matches!(
            c(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            Incoming::Request { .. }
        ));
        assert_eq!(
            c(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Incoming::Notification {
                method: "notifications/initialized".into()
            }
        );
        assert_eq!(
            c(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            Incoming::Response
        );
        for (bad, id) in [
            ("[1]", Value::Null),
            ("3", Value::Null),
            (r#"{"id":1,"method":"ping"}"#, json!(1)),
            (r#"{"jsonrpc":"1.0","id":"a","method":"ping"}"#, json!("a")),
            (r#"{"jsonrpc":"2.0","id":2,"method":7}"#, json!(2)),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
                Value::Null,
            ),
            (r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#, Value::Null),
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"ping","params":"x"}"#,
                json!(3),
            ),
            (r#"{"jsonrpc":"2.0","id":4}"#, json!(4)),
        ] {
            match c(bad) {
                Incoming::Invalid { id: got, .. } => assert_eq!(got, id, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
