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

/// How many bytes of an over-long line [`read_line_head`] keeps.
pub const HEAD_BYTES: usize = 1024;

/// The `id` of a JSON-RPC message from the first bytes of its text, when it
/// is a top-level key there (`{"jsonrpc":"2.0","id":7,...`): found by
/// looking at the keys at depth 1 that come before the first nested value.
pub fn id_in_head(head: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(head)
        .or_else(|e| std::str::from_utf8(head.get(..e.valid_up_to()).unwrap_or_default()))
        .ok()?;
    let mut rest = text.trim_start().strip_prefix('{')?;
    loop {
        rest = rest.trim_start();
        let (key, after) = json_string(rest)?;
        rest = after.trim_start().strip_prefix(':')?.trim_start();
        let (value, after) = if rest.starts_with('"') {
            let (s, after) = json_string(rest)?;
            (Value::String(s), after)
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
                .unwrap_or(rest.len());
            let token = rest.get(..end)?;
            if end == rest.len() {
                return None; // cut: the value may go on
            }
            (serde_json::from_str(token).ok()?, rest.get(end..)?)
        };
        if key == "id" {
            return matches!(value, Value::String(_) | Value::Number(_)).then_some(value);
        }
        rest = after.trim_start().strip_prefix(',')?;
    }
}

/// A JSON string at the start of `text`, decoded, and what follows it.
fn json_string(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                let quoted = text.get(..i + 2)?;
                return Some((serde_json::from_str(quoted).ok()?, text.get(i + 2..)?));
            }
            _ => {}
        }
    }
    None
}

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
    read_line_head(reader, limit, None)
}

/// [`read_line`] that, for an over-long line, keeps its first
/// `HEAD_BYTES` in `head` (where the id of a response usually is).
pub fn read_line_head(
    reader: &mut impl BufRead,
    limit: usize,
    mut head: Option<&mut Vec<u8>>,
) -> std::io::Result<Option<Line>> {
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
                if let Some(head) = head.as_deref_mut() {
                    head.clear();
                    head.extend(buf.iter().chain(chunk).take(HEAD_BYTES));
                }
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
        let mut head = Vec::new();
        let mut input = std::io::Cursor::new(b"0123456789\nab\n".to_vec());
        assert_eq!(
            read_line_head(&mut input, 5, Some(&mut head))
                .ok()
                .flatten(),
            Some(Line::TooLong)
        );
        assert_eq!(head, b"0123456789");
        assert_eq!(
            read_line(&mut input, 5).ok().flatten(),
            Some(Line::Message(b"ab".to_vec()))
        );
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

    #[test]
    fn ids_are_found_in_the_head_of_a_message() {
        let id = |t: &str| id_in_head(t.as_bytes());
        assert_eq!(
            id(r#"{"jsonrpc":"2.0","id":7,"result":{"x"#),
            Some(json!(7))
        );
        assert_eq!(
            id(r#"{ "jsonrpc" : "2.0", "id" : "a\"b", "res"#),
            Some(json!("a\"b"))
        );
        assert_eq!(id(r#"{"result":{"id":3},"id":4}"#), None);
        assert_eq!(id(r#"{"jsonrpc":"2.0","id":12"#), None);
        assert_eq!(id(r#"{"jsonrpc":"2.0","id":null,"x":1}"#), None);
        assert_eq!(id("not json"), None);
        assert_eq!(id(r#"{"jsonrpc":"2.0","id":"é"#), None);
    }
}
