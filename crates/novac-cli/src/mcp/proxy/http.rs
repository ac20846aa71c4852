//! The streamable HTTP transport (MCP 2025-03-26) toward an upstream URL,
//! for `novac mcp proxy --upstream-url`: the proxy stays a stdio server for
//! its client and speaks HTTP to the upstream.
//!
//! Data flow: [`HttpUpstream`] is the `Write` end the upstream writer thread
//! writes JSON-RPC lines into, as it would into a child's stdin. Each
//! complete line is POSTed to the endpoint (`Accept: application/json,
//! text/event-stream`, the `Mcp-Session-Id` the server gave at
//! `initialize`) on a thread of its own, so a long tool call (an SSE stream
//! of progress notifications and then the answer) holds up no other
//! request. What comes back (a JSON body, each event of an SSE stream, or a
//! JSON-RPC error made from an HTTP error or a failed connection) is
//! written as one line into an OS pipe, whose read end the proxy reads as
//! it would read a child's stdout: every check (ids in flight, scopes,
//! deadlines, size limits) is the same for both transports.
//!
//! Not done: the optional GET stream for messages the server sends outside
//! any request, resumption (`Last-Event-ID`), and the `DELETE` that ends a
//! session. Costs: one thread and one HTTP exchange per message sent (a
//! connection pool keeps connections open); one copy of each SSE event.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The write end toward an HTTP upstream.
pub struct HttpUpstream {
    shared: Arc<Shared>,
    /// The bytes of the line being written.
    line: Vec<u8>,
}

struct Shared {
    url: String,
    agent: ureq::Agent,
    session: Mutex<Option<String>>,
    /// Where what the upstream sends goes (the proxy reads the other end).
    sink: Mutex<std::io::PipeWriter>,
    max_message: usize,
}

impl HttpUpstream {
    /// An upstream at `url`; the returned reader yields the messages it sends.
    pub fn new(
        url: &str,
        max_message: usize,
    ) -> std::io::Result<(HttpUpstream, std::io::PipeReader)> {
        let (reader, writer) = std::io::pipe()?;
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .build();
        let shared = Arc::new(Shared {
            url: url.to_string(),
            agent,
            session: Mutex::new(None),
            sink: Mutex::new(writer),
            max_message,
        });
        Ok((
            HttpUpstream {
                shared,
                line: Vec::new(),
            },
            reader,
        ))
    }
}

impl Write for HttpUpstream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            self.line
                .extend_from_slice(rest.get(..i).unwrap_or_default());
            let line = std::mem::take(&mut self.line);
            if !line.iter().all(u8::is_ascii_whitespace) {
                let shared = Arc::clone(&self.shared);
                std::thread::Builder::new()
                    .name("novac-proxy-http".into())
                    .spawn(move || shared.post(&line))?;
            }
            rest = rest.get(i + 1..).unwrap_or_default();
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    /// Hands one message from the upstream to the proxy's reader.
    fn deliver(&self, message: &Value) {
        let mut line = message.to_string().into_bytes();
        line.push(b'\n');
        if let Ok(mut sink) = self.sink.lock() {
            let _ = sink.write_all(&line);
        }
    }

    /// An error answer to `message` when it was a request (else nothing).
    fn fail(&self, message: &Value, reason: &str) {
        if let (Some(id), Some(_)) = (message.get("id"), message.get("method")) {
            self.deliver(&json!({
                "jsonrpc": "2.0",
                "id": id,
                "error": {"code": super::UPSTREAM_GONE, "message": reason},
            }));
        } else {
            super::warn(reason);
        }
    }

    fn post(&self, line: &[u8]) {
        let Ok(message) = serde_json::from_slice::<Value>(line) else {
            return;
        };
        let mut request = self
            .agent
            .post(&self.url)
            .set("Content-Type", "application/json")
            .set("Accept", "application/json, text/event-stream");
        let session = self.session.lock().ok().and_then(|s| s.clone());
        if let Some(session) = &session {
            request = request.set("Mcp-Session-Id", session);
        }
        let response = match request.send_bytes(line) {
            Ok(r) => r,
            Err(ureq::Error::Status(status, r)) => {
                let text = r.into_string().unwrap_or_default();
                let text: String = text.chars().take(200).collect();
                return self.fail(
                    &message,
                    &format!("the upstream answered HTTP {status}: {text}"),
                );
            }
            Err(ureq::Error::Transport(t)) => {
                return self.fail(&message, &format!("cannot reach the upstream: {t}"));
            }
        };
        if let Some(id) = response.header("mcp-session-id") {
            if let Ok(mut session) = self.session.lock() {
                session.get_or_insert_with(|| id.to_string());
            }
        }
        if response.status() == 202 {
            return;
        }
        let event_stream = response.content_type() == "text/event-stream";
        let reader = response.into_reader();
        if event_stream {
            self.read_events(reader, &message);
        } else {
            let mut body = Vec::new();
            let limit = u64::try_from(self.max_message).unwrap_or(u64::MAX);
            if reader.take(limit + 1).read_to_end(&mut body).is_err() {
                return self.fail(&message, "cannot read the upstream's answer");
            }
            self.deliver_body(&body, &message);
        }
    }

    /// A JSON body: one message, or a batch of them.
    fn deliver_body(&self, body: &[u8], sent: &Value) {
        if body.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        if body.len() > self.max_message {
            return self.fail(sent, "the upstream's answer is too large");
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(items)) => items.iter().for_each(|m| self.deliver(m)),
            Ok(message) => self.deliver(&message),
            Err(_) => self.fail(sent, "the upstream's answer is not JSON"),
        }
    }

    /// An SSE stream: each event's data is a message.
    fn read_events(&self, reader: impl Read, sent: &Value) {
        let mut reader = BufReader::new(reader);
        let mut data = Vec::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = (&mut reader)
                .take(u64::try_from(self.max_message).unwrap_or(u64::MAX) + 1)
                .read_until(b'\n', &mut line);
            match read {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if text.is_empty() {
                if !data.is_empty() {
                    self.deliver_body(&data, sent);
                    data.clear();
                }
            } else if let Some(value) = text.strip_prefix(b"data:") {
                if !data.is_empty() {
                    data.push(b'\n');
                }
                data.extend_from_slice(value.strip_prefix(b" ").unwrap_or(value));
                if data.len() > self.max_message {
                    return self.fail(sent, "the upstream's answer is too large");
                }
            }
        }
        if !data.is_empty() {
            self.deliver_body(&data, sent);
        }
    }
}
