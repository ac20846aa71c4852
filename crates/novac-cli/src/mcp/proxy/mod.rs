//! `novac mcp proxy`: a guard between an MCP client (on stdin/stdout) and an
//! MCP server that it spawns over stdio, applying NOVA rules to what passes.
//!
//! # How data flows
//!
//! * The main thread reads the client's newline-delimited JSON-RPC messages
//!   ([`jsonrpc::read_line`], bounded by `--max-message-bytes`). A request
//!   is recorded in the table of requests in flight (id → method, tool,
//!   deadline) before it is queued for the upstream's stdin; `tools/call`
//!   arguments are scanned first ([`guard`]). Notifications and the
//!   client's answers to the server's requests pass unchanged.
//! * A second thread reads the upstream's stdout. A response is forwarded
//!   only when its id is in flight, and the id is then removed: a replayed
//!   or unsolicited response is dropped (and logged). Responses to
//!   `tools/list`, `prompts/list`, `resources/list` and
//!   `resources/templates/list` have their entries' descriptions scanned,
//!   `tools/call` results their text content and `structuredContent`; the
//!   server's `sampling/createMessage` requests their messages and system
//!   prompt.
//! * Each direction has its own writer thread and queue ([`outbox`]), so no
//!   reader waits for a slow peer: an upstream that floods notifications
//!   while the client is busy writing cannot deadlock the proxy. Responses
//!   are always queued (`--max-pending` bounds them); notifications and
//!   server requests are dropped (a server request answered with an error)
//!   once [`outbox::QUEUE_BYTES`] wait for a client that does not read.
//! * A request not answered within `--request-timeout` is answered with a
//!   JSON-RPC error, and the upstream gets `notifications/cancelled` for
//!   it; a late answer is dropped. A response over `--max-message-bytes`
//!   is answered with an error when its id can be read from its first
//!   bytes. More than `--max-pending` requests in flight are refused.
//! * A message no rule touches is forwarded byte for byte; one that a rule
//!   rewrote (redaction, a hidden tool) is re-serialised from the parsed
//!   value by the writer. A message from the upstream that does not end
//!   within the 64 KiB read buffer is parsed straight from the pipe
//!   ([`lines::LineReader`]) and always re-serialised, so a large tool result is
//!   only ever held once, as the parsed value; its text is scanned by
//!   [`novac::StreamScanner`] (see [`guard`]). Nothing of `initialize` is
//!   interpreted: the protocol version is whatever the two ends negotiate.
//! * Lines that are not a JSON object (garbage, batches) are not forwarded:
//!   from the client they get a JSON-RPC error, from the upstream they are
//!   dropped with a warning on stderr (they cannot be scanned, so passing
//!   them on would be a way around the rules).
//! * When the upstream's stdout ends while the client is still there, every
//!   request in flight is answered with a JSON-RPC error, a line on stderr
//!   says how the upstream ended, and the proxy exits 1. At the end of the
//!   client's stdin, the proxy closes the upstream's stdin, forwards what
//!   the upstream still answers (killing it after [`SHUTDOWN_GRACE`]) and
//!   exits 0.
//!
//! Costs: one JSON parse per message and one scan per string value of the
//! scanned parts; one extra copy of a message only when a rule rewrote it;
//! two channel hand-offs per request and response; three threads (four with
//! a request timeout).

mod guard;
mod http;
mod lines;
mod outbox;

use super::jsonrpc;
use anyhow::{Context as _, Result};
use clap::Args;
use guard::{Action, Context, Direction, Guard, Scope};
use lines::{LineReader, READ_BUFFER};
use novac::ScanOptions;
use outbox::{Message, Outbox, Priority};
use serde::Deserialize as _;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The JSON-RPC error code of a request the rules refused.
pub const BLOCKED: i64 = -32001;
/// The JSON-RPC error code of requests the upstream can no longer answer.
pub const UPSTREAM_GONE: i64 = -32002;
/// The JSON-RPC error code of a request the upstream did not answer in time.
pub const TIMED_OUT: i64 = -32003;
/// The JSON-RPC error code of a request refused because too many are in
/// flight (or of a server request the client is too slow to take).
pub const OVERLOADED: i64 = -32004;
/// The JSON-RPC error code of a request whose answer was too large.
pub const TOO_LARGE: i64 = -32005;

/// How long the upstream may take to exit after its stdin is closed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Arguments of `novac mcp proxy`.
#[derive(Args, Debug)]
pub struct ProxyArgs {
    /// Rule files or directories of `.nov` files, and compiled bundles.
    /// Rule meta `scope` selects where a rule applies and `action` what a
    /// match does (see the README, "Guarding MCP servers").
    #[arg(short, long = "rules", required = true, num_args = 1..)]
    rules: Vec<PathBuf>,
    /// Reload the rules when the files change (a broken edit keeps the last good rules).
    #[arg(short, long)]
    watch: bool,
    /// How often --watch looks at the rule files, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500, requires = "watch")]
    watch_interval: u64,
    /// Append one JSON line per match to this file (time, direction,
    /// method, tool, scope, rule, action, span; never the text).
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// What a match of a rule without meta `action` does.
    #[arg(long, value_enum, default_value_t = Action::Block)]
    default_action: Action,
    /// Also match keywords in what encoded runs decode to (base64, base32,
    /// hex, %-encoding, HTML entities): an injection hidden in base64 inside
    /// a tool result is found, and `redact` replaces the whole encoded run.
    #[arg(long)]
    decode: bool,
    /// Largest JSON-RPC message accepted from either side, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    max_message_bytes: usize,
    /// Seconds the upstream has to answer a request before the client gets
    /// an error (and the upstream a cancellation); 0: no limit.
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
    request_timeout: f64,
    /// Most requests of the client in flight at once; more are refused.
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_pending: usize,
    /// Semantic matching (the same options as `novac scan`).
    #[command(flatten)]
    semantic: crate::semantic::SemanticArgs,
    /// Print only errors and warnings to stderr.
    #[arg(short, long)]
    quiet: bool,
    /// The upstream MCP server's command and arguments, after `--`.
    #[arg(
        last = true,
        required_unless_present = "upstream_url",
        value_name = "UPSTREAM_COMMAND"
    )]
    upstream: Vec<OsString>,
    /// Guard an MCP server at this URL (streamable HTTP, MCP 2025-03-26)
    /// instead of spawning one.
    #[arg(long, value_name = "URL", conflicts_with = "upstream")]
    upstream_url: Option<String>,
}

fn info(quiet: bool, message: &str) {
    if !quiet {
        eprintln!("novac mcp proxy: {message}");
    }
}

fn warn(message: &str) {
    eprintln!("novac mcp proxy: warning: {message}");
}

/// A request of the client that the upstream has not answered yet.
struct Pending {
    id: Value,
    method: String,
    tool: Option<String>,
    deadline: Option<Instant>,
}

/// What the threads share.
struct Proxy {
    guard: Guard,
    /// Requests in flight, by the text of their id.
    pending: Mutex<HashMap<String, Pending>>,
    /// Tools dropped from a `tools/list` answer: calls to them are refused.
    hidden: Mutex<HashSet<String>>,
    client: Outbox,
    upstream: Outbox,
    client_closed: AtomicBool,
    /// Set (under the `pending` lock) once the upstream's stdout has ended.
    upstream_gone: AtomicBool,
    /// Set when the proxy shuts down (stops the deadline thread).
    stopping: AtomicBool,
    /// Notifications dropped because the client did not read.
    dropped: AtomicUsize,
    max_message: usize,
    max_pending: usize,
    timeout: Option<Duration>,
}

pub fn run(args: ProxyArgs) -> Result<u8> {
    let rules = crate::load::rule_set(&args.rules, &args.semantic)?;
    let snapshot = rules.current();
    let timeout = (args.request_timeout > 0.0)
        .then(|| Duration::try_from_secs_f64(args.request_timeout).ok())
        .flatten();
    let (mut child, upstream_out, upstream_in, name): (
        Option<Child>,
        Box<dyn Read + Send>,
        Box<dyn Write + Send>,
        String,
    ) = match &args.upstream_url {
        Some(url) => {
            let (http, from_upstream) = http::HttpUpstream::new(url, args.max_message_bytes)
                .context("cannot make the pipe for the HTTP upstream")?;
            (None, Box::new(from_upstream), Box::new(http), url.clone())
        }
        None => {
            let Some((program, upstream_args)) = args.upstream.split_first() else {
                anyhow::bail!("give the upstream server's command after `--`, or --upstream-url");
            };
            let mut child = Command::new(program)
                .args(upstream_args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .with_context(|| {
                    format!(
                        "cannot start the upstream server {}",
                        program.to_string_lossy()
                    )
                })?;
            let out = child
                .stdout
                .take()
                .context("the upstream's stdout is not piped")?;
            let input = child
                .stdin
                .take()
                .context("the upstream's stdin is not piped")?;
            let name = program.to_string_lossy().into_owned();
            (Some(child), Box::new(out), Box::new(input), name)
        }
    };
    info(
        args.quiet,
        &format!(
            "guarding {name} with {} rule(s) from {} file(s) (default action: {:?}){}",
            snapshot.len(),
            snapshot.files().len(),
            args.default_action,
            if args.watch {
                "; watching for changes"
            } else {
                ""
            }
        ),
    );
    drop(snapshot);
    let _watcher = if args.watch {
        Some(crate::load::watch(
            &rules,
            args.watch_interval,
            "novac mcp proxy",
            args.quiet,
        )?)
    } else {
        None
    };
    let audit = match &args.audit_log {
        Some(path) => Some(super::audit::AuditLog::open(path)?),
        None => None,
    };
    let client_closed = Arc::new(AtomicBool::new(false));
    let client = {
        let closed = Arc::clone(&client_closed);
        Outbox::spawn("novac-proxy-to-client", std::io::stdout(), move |e| {
            if !closed.load(Ordering::SeqCst) {
                warn(&format!("cannot write to the client: {e}"));
            }
        })
        .context("cannot start the client writer")?
    };
    let upstream = Outbox::spawn("novac-proxy-to-upstream", upstream_in, |e| {
        // The upstream is gone: its reader answers what is in flight.
        warn(&format!("cannot write to the upstream server: {e}"));
    })
    .context("cannot start the upstream writer")?;
    let proxy = Arc::new(Proxy {
        guard: Guard {
            rules,
            options: ScanOptions {
                decode: args.decode.then(novac::decode::DecodeLimits::default),
                ..ScanOptions::default()
            },
            default_action: args.default_action,
            audit: Mutex::new(audit),
        },
        pending: Mutex::new(HashMap::new()),
        hidden: Mutex::new(HashSet::new()),
        client,
        upstream,
        client_closed: AtomicBool::new(false),
        upstream_gone: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        dropped: AtomicUsize::new(0),
        max_message: args.max_message_bytes,
        max_pending: args.max_pending.max(1),
        timeout,
    });
    let child = Arc::new(Mutex::new(child.take()));
    let reader = {
        let proxy = Arc::clone(&proxy);
        let child = Arc::clone(&child);
        std::thread::Builder::new()
            .name("novac-proxy-upstream".into())
            .spawn(move || proxy.read_upstream(upstream_out, &child))
            .context("cannot start the upstream reader")?
    };
    let deadlines = match timeout {
        Some(timeout) => {
            let proxy = Arc::clone(&proxy);
            Some(
                std::thread::Builder::new()
                    .name("novac-proxy-deadlines".into())
                    .spawn(move || proxy.watch_deadlines(timeout))
                    .context("cannot start the deadline thread")?,
            )
        }
        None => None,
    };
    let mut stdin = BufReader::with_capacity(1 << 16, std::io::stdin().lock());
    loop {
        match jsonrpc::read_line(&mut stdin, proxy.max_message) {
            Ok(Some(jsonrpc::Line::Message(line))) => {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                proxy.on_client_line(line);
            }
            Ok(Some(jsonrpc::Line::TooLong)) => proxy.refuse(jsonrpc::error(
                &Value::Null,
                jsonrpc::INVALID_REQUEST,
                "Invalid Request",
                Some(json!(format!(
                    "the message is larger than {} bytes (--max-message-bytes)",
                    proxy.max_message
                ))),
            )),
            Ok(None) => break,
            Err(e) => {
                warn(&format!("cannot read stdin: {e}"));
                break;
            }
        }
    }
    // The client is gone: let the upstream finish and go.
    client_closed.store(true, Ordering::SeqCst);
    proxy.client_closed.store(true, Ordering::SeqCst);
    proxy.upstream.close(SHUTDOWN_GRACE);
    let start = Instant::now();
    let mut killed = false;
    while !reader.is_finished() {
        if !killed && start.elapsed() >= SHUTDOWN_GRACE {
            if let Ok(mut child) = child.lock() {
                if let Some(child) = child.as_mut() {
                    warn("the upstream server did not exit after its stdin closed; killing it");
                    let _ = child.kill();
                }
            }
            killed = true;
        }
        if start.elapsed() >= SHUTDOWN_GRACE * 2 {
            break; // something else holds the upstream's stdout open
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    if reader.is_finished() {
        let _ = reader.join();
    }
    proxy.stopping.store(true, Ordering::SeqCst);
    if let Some(deadlines) = deadlines {
        let _ = deadlines.join();
    }
    proxy.client.close(SHUTDOWN_GRACE);
    if let Ok(mut child) = child.lock() {
        if let Some(child) = child.as_mut() {
            if killed || !matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
    proxy.guard.close_audit();
    Ok(0)
}

/// The text of a JSON value, for the table key and messages.
fn id_key(id: &Value) -> String {
    id.to_string()
}

impl Proxy {
    /// Queues a message for the client.
    fn to_client(&self, message: Message, size: usize, priority: Priority) -> bool {
        self.client.send(message, size, priority)
    }

    /// A JSON-RPC error for a request in flight (always queued).
    fn fail(&self, id: &Value, code: i64, message: &str, data: Option<Value>) {
        let error = jsonrpc::error(id, code, message, data);
        self.to_client(Message::Json(error), 256, Priority::Must);
    }

    /// A JSON-RPC error answering a message the client just sent. While
    /// the client does not read, the proxy waits (and so stops reading it),
    /// for a minute at most.
    fn refuse(&self, error: Value) {
        let mut message = Message::Json(error);
        let start = Instant::now();
        loop {
            let priority = if start.elapsed() > SHUTDOWN_GRACE * 12 {
                Priority::Must
            } else {
                Priority::Drop
            };
            match self.client.try_send(message, 256, priority) {
                Err(Some(back)) => message = back,
                Ok(()) | Err(None) => return,
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn blocked(id: &Value, rule: &str, scope: Scope) -> Value {
        jsonrpc::error(
            id,
            BLOCKED,
            &format!("Blocked by novac: rule {rule} matched the {}", scope.name()),
            Some(json!({"rule": rule, "scope": scope.name()})),
        )
    }

    /// Counts a dropped notification; warns on the first and every 1000th.
    fn dropped_one(&self, what: &str) {
        let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if n == 1 || n.is_multiple_of(1000) {
            warn(&format!(
                "the client does not read fast enough: dropped {what} ({n} message(s) dropped so far)"
            ));
        }
    }

    /// One message from the client.
    fn on_client_line(&self, line: Vec<u8>) {
        let mut value = match serde_json::from_slice::<Value>(&line) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return self.refuse(jsonrpc::error(
                    &Value::Null,
                    jsonrpc::INVALID_REQUEST,
                    "Invalid Request",
                    Some(json!(
                        "novac mcp proxy forwards single JSON-RPC objects (no batches)"
                    )),
                ))
            }
            Err(_) => {
                return self.refuse(jsonrpc::error(
                    &Value::Null,
                    jsonrpc::PARSE_ERROR,
                    "Parse error",
                    None,
                ))
            }
        };
        let method = value
            .get("method")
            .and_then(Value::as_str)
            .map(String::from);
        let id = value.get("id").cloned();
        let (Some(method), Some(id)) = (method, id) else {
            // A notification, or the client's answer to a server request.
            if value.get("method").and_then(Value::as_str) == Some("notifications/cancelled") {
                // Its answer, if any, is no longer wanted.
                if let Some(id) = value.pointer("/params/requestId") {
                    if let Ok(mut pending) = self.pending.lock() {
                        pending.remove(&id_key(id));
                    }
                }
            }
            let size = line.len();
            if !self.upstream.send(Message::Raw(line), size, Priority::Drop) {
                warn("the upstream server does not read: dropped a notification of the client");
            }
            return;
        };
        let key = id_key(&id);
        let tool = (method == "tools/call")
            .then(|| value.pointer("/params/name").and_then(Value::as_str))
            .flatten()
            .map(String::from);
        if let Some(name) = &tool {
            let hidden = self.hidden.lock().is_ok_and(|h| h.contains(name));
            if hidden {
                return self.refuse(jsonrpc::error(
                    &id,
                    BLOCKED,
                    &format!("Blocked by novac: the tool {name} was hidden"),
                    Some(json!({"tool": name})),
                ));
            }
        }
        let mut modified = false;
        if method == "tools/call" {
            if let Some(arguments) = value.pointer_mut("/params/arguments") {
                let ctx = Context {
                    direction: Direction::ClientToServer,
                    method: &method,
                    tool: tool.as_deref(),
                };
                let verdict = self
                    .guard
                    .check_strings(arguments, Scope::ToolArguments, &ctx, &[]);
                if let Some((_, rule)) = verdict.refusal() {
                    return self.refuse(Self::blocked(&id, rule, Scope::ToolArguments));
                }
                modified = verdict.modified;
            }
        }
        // Record the request; refused when its id is in flight, when too
        // many are, or when the upstream is gone (checked under the lock
        // the upstream reader sets `upstream_gone` under).
        let refusal = match self.pending.lock() {
            Ok(mut pending) => {
                if self.upstream_gone.load(Ordering::SeqCst) {
                    Some((UPSTREAM_GONE, "The upstream MCP server exited".to_string()))
                } else if pending.contains_key(&key) {
                    Some((
                        jsonrpc::INVALID_REQUEST,
                        format!("a request with id {key} is already in flight"),
                    ))
                } else if pending.len() >= self.max_pending {
                    Some((
                        OVERLOADED,
                        format!(
                            "{} requests are in flight (--max-pending); retry later",
                            pending.len()
                        ),
                    ))
                } else {
                    let deadline = self.timeout.and_then(|t| Instant::now().checked_add(t));
                    pending.insert(
                        key,
                        Pending {
                            id: id.clone(),
                            method,
                            tool,
                            deadline,
                        },
                    );
                    None
                }
            }
            Err(_) => Some((jsonrpc::INTERNAL_ERROR, "internal error".to_string())),
        };
        if let Some((code, reason)) = refusal {
            let message = if code == jsonrpc::INVALID_REQUEST {
                "Invalid Request"
            } else {
                reason.as_str()
            };
            return self.refuse(jsonrpc::error(&id, code, message, Some(json!(reason))));
        }
        let size = line.len();
        let message = if modified {
            Message::Json(value)
        } else {
            drop(value);
            Message::Raw(line)
        };
        // Requests are bounded by --max-pending: always queued. If the
        // upstream never reads them, the deadline answers them.
        self.upstream.send(message, size, Priority::Must);
    }

    /// Answers the requests whose deadline passed, until the proxy stops.
    fn watch_deadlines(&self, timeout: Duration) {
        let tick = (timeout / 10).clamp(Duration::from_millis(5), Duration::from_millis(100));
        while !self.stopping.load(Ordering::SeqCst) {
            std::thread::sleep(tick);
            let now = Instant::now();
            let expired: Vec<Pending> = match self.pending.lock() {
                Ok(mut pending) => {
                    let keys: Vec<String> = pending
                        .iter()
                        .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
                        .map(|(k, _)| k.clone())
                        .collect();
                    keys.iter().filter_map(|k| pending.remove(k)).collect()
                }
                Err(_) => return,
            };
            for request in expired {
                warn(&format!(
                    "the upstream server did not answer {} (id {}) within {:?}; the client got an error",
                    request.method,
                    id_key(&request.id),
                    timeout
                ));
                self.fail(
                    &request.id,
                    TIMED_OUT,
                    "The upstream MCP server did not answer in time",
                    Some(
                        json!({"method": request.method, "timeout_seconds": timeout.as_secs_f64()}),
                    ),
                );
                let cancel = json!({
                    "jsonrpc": "2.0",
                    "method": "notifications/cancelled",
                    "params": {"requestId": request.id, "reason": "novac mcp proxy: request timed out"}
                });
                self.upstream
                    .send(Message::Json(cancel), 128, Priority::Drop);
            }
        }
    }

    /// Reads the upstream until its stdout ends.
    fn read_upstream(&self, out: impl Read, child: &Mutex<Option<Child>>) {
        let mut reader = BufReader::with_capacity(READ_BUFFER, out);
        loop {
            // Up to READ_BUFFER bytes of the next line; a line that goes on
            // is parsed from the pipe after them (never held as a line).
            let mut prefix = Vec::new();
            let ended = loop {
                let buffered = match reader.fill_buf() {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        warn(&format!("cannot read the upstream server: {e}"));
                        break None;
                    }
                };
                if buffered.is_empty() {
                    break Some(true); // the end of the upstream's output
                }
                let room = READ_BUFFER.saturating_sub(prefix.len());
                let window = buffered.get(..room.min(buffered.len())).unwrap_or_default();
                if let Some(i) = window.iter().position(|&b| b == b'\n') {
                    prefix.extend_from_slice(window.get(..i).unwrap_or_default());
                    reader.consume(i + 1);
                    break Some(false);
                }
                let n = window.len();
                prefix.extend_from_slice(window);
                reader.consume(n);
                if prefix.len() >= READ_BUFFER {
                    self.read_streamed(&mut reader, prefix);
                    prefix = Vec::new();
                    break Some(false);
                }
            };
            if prefix.last() == Some(&b'\r') {
                prefix.pop();
            }
            if prefix.len() > self.max_message {
                self.on_upstream_too_long(&prefix);
            } else if !prefix.iter().all(u8::is_ascii_whitespace) {
                self.on_upstream_line(prefix);
            }
            if ended != Some(false) {
                break;
            }
        }
        // The upstream is gone for good.
        let pending: Vec<Pending> = match self.pending.lock() {
            Ok(mut p) => {
                self.upstream_gone.store(true, Ordering::SeqCst);
                p.drain().map(|(_, v)| v).collect()
            }
            Err(_) => Vec::new(),
        };
        for request in &pending {
            self.fail(
                &request.id,
                UPSTREAM_GONE,
                "The upstream MCP server exited",
                Some(json!({"method": request.method})),
            );
        }
        if self.client_closed.load(Ordering::SeqCst) {
            return;
        }
        self.upstream.close(Duration::ZERO);
        let status = child
            .lock()
            .ok()
            .and_then(|mut c| c.as_mut().and_then(|c| c.wait().ok()))
            .map_or_else(|| "unknown status".to_string(), |s| s.to_string());
        eprintln!(
            "novac mcp proxy: error: the upstream server exited ({status}); {} request(s) in flight were answered with errors",
            pending.len()
        );
        self.stopping.store(true, Ordering::SeqCst);
        self.client.close(SHUTDOWN_GRACE);
        self.guard.close_audit();
        std::process::exit(1);
    }

    /// A message from the upstream over --max-message-bytes: when it names
    /// a request in flight, that request gets an error.
    fn on_upstream_too_long(&self, head: &[u8]) {
        let request = jsonrpc::id_in_head(head).and_then(|id| {
            self.pending
                .lock()
                .ok()
                .and_then(|mut p| p.remove(&id_key(&id)))
        });
        match request {
            Some(request) => {
                warn(&format!(
                    "the upstream server's answer to {} (id {}) is over {} bytes (--max-message-bytes); the client got an error",
                    request.method,
                    id_key(&request.id),
                    self.max_message
                ));
                self.fail(
                    &request.id,
                    TOO_LARGE,
                    "The upstream MCP server's answer is too large",
                    Some(json!({"method": request.method, "max_message_bytes": self.max_message})),
                );
            }
            None => warn(&format!(
                "dropped a message from the upstream server over {} bytes (--max-message-bytes)",
                self.max_message
            )),
        }
    }

    /// Parses one message from its first READ_BUFFER bytes (`prefix`) and
    /// the upstream's pipe, up to its newline: the message is never held as
    /// a line, only as the parsed value.
    fn read_streamed(&self, reader: &mut impl BufRead, prefix: Vec<u8>) {
        let mut head: Vec<u8> = prefix.iter().take(jsonrpc::HEAD_BYTES).copied().collect();
        let mut line = LineReader {
            inner: reader,
            left: self.max_message.saturating_sub(prefix.len()),
            done: false,
            over: false,
            seen: prefix.len(),
            head: &mut head,
        };
        let parsed = {
            let mut de = serde_json::Deserializer::from_reader(prefix.as_slice().chain(&mut line));
            Value::deserialize(&mut de).and_then(|v| de.end().map(|()| v))
        };
        let over = line.over;
        line.skip_rest();
        let size = line.seen;
        match parsed {
            Ok(value @ Value::Object(_)) => self.on_upstream_message(value, None, size),
            _ if over => self.on_upstream_too_long(&head),
            Ok(_) => warn(&format!(
                "dropped a line from the upstream server that is not a JSON-RPC object ({size} bytes)"
            )),
            Err(e) => warn(&format!(
                "dropped a line from the upstream server that is not JSON ({size} bytes: {e})"
            )),
        }
    }

    /// One message from the upstream.
    fn on_upstream_line(&self, line: Vec<u8>) {
        let value = match serde_json::from_slice::<Value>(&line) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return warn(&format!(
                "dropped a line from the upstream server that is not a JSON-RPC object ({} bytes)",
                line.len()
            ))
            }
            Err(e) => {
                return warn(&format!(
                    "dropped a line from the upstream server that is not JSON ({} bytes: {e})",
                    line.len()
                ))
            }
        };
        let size = line.len();
        self.on_upstream_message(value, Some(line), size);
    }

    /// One parsed message from the upstream (`raw`: its line, when kept).
    fn on_upstream_message(&self, mut value: Value, raw: Option<Vec<u8>>, size: usize) {
        let forward = |value: Value, raw: Option<Vec<u8>>, modified: bool| match raw {
            Some(line) if !modified => Message::Raw(line),
            _ => Message::Json(value),
        };
        let method = value
            .get("method")
            .and_then(Value::as_str)
            .map(String::from);
        let id = value.get("id").cloned();
        match (method, id) {
            (None, Some(id)) => {
                let request = self
                    .pending
                    .lock()
                    .ok()
                    .and_then(|mut p| p.remove(&id_key(&id)));
                let Some(request) = request else {
                    return warn(&format!(
                        "dropped a response with id {} that no request in flight has",
                        id_key(&id)
                    ));
                };
                let modified =
                    value.get("result").is_some() && self.check_response(&mut value, &request);
                self.to_client(forward(value, raw, modified), size, Priority::Must);
            }
            (Some(method), Some(id)) => {
                let mut modified = false;
                if method == "sampling/createMessage" {
                    match self.check_sampling(&mut value, &method, &id) {
                        Ok(m) => modified = m,
                        Err(blocked) => {
                            self.upstream
                                .send(Message::Json(blocked), 256, Priority::Drop);
                            return;
                        }
                    }
                }
                if !self.to_client(forward(value, raw, modified), size, Priority::Drop) {
                    self.dropped_one(&format!("the server request {method}"));
                    let busy = jsonrpc::error(
                        &id,
                        OVERLOADED,
                        "novac mcp proxy: the client is not reading; request dropped",
                        None,
                    );
                    self.upstream.send(Message::Json(busy), 256, Priority::Drop);
                }
            }
            // Notifications pass unchanged (or are dropped for a slow client).
            (method, None) => {
                if !self.to_client(forward(value, raw, false), size, Priority::Drop) {
                    self.dropped_one(&format!(
                        "the notification {}",
                        method.as_deref().unwrap_or("?")
                    ));
                }
            }
        }
    }

    /// Scans a server's sampling request; `Err` with the error to send back
    /// to the upstream when a rule blocks it, else whether it was rewritten.
    fn check_sampling(&self, value: &mut Value, method: &str, id: &Value) -> Result<bool, Value> {
        let ctx = Context {
            direction: Direction::ServerToClient,
            method,
            tool: None,
        };
        let mut modified = false;
        for part in ["/params/messages", "/params/systemPrompt"] {
            if let Some(part) = value.pointer_mut(part) {
                let v = self.guard.check_strings(
                    part,
                    Scope::Sampling,
                    &ctx,
                    &["type", "role", "mimeType", "data"],
                );
                if let Some((_, rule)) = v.refusal() {
                    return Err(Self::blocked(id, rule, Scope::Sampling));
                }
                modified |= v.modified;
            }
        }
        Ok(modified)
    }

    /// Applies the rules to a successful response; whether it was rewritten.
    fn check_response(&self, value: &mut Value, request: &Pending) -> bool {
        let list = match request.method.as_str() {
            "tools/list" => Some(("tools", Scope::ToolDescription)),
            "prompts/list" => Some(("prompts", Scope::PromptDescription)),
            "resources/list" => Some(("resources", Scope::ResourceDescription)),
            "resources/templates/list" => Some(("resourceTemplates", Scope::ResourceDescription)),
            _ => None,
        };
        if let Some((field, scope)) = list {
            return self.check_list(value, request, field, scope);
        }
        if request.method != "tools/call" {
            return false;
        }
        let ctx = Context {
            direction: Direction::ServerToClient,
            method: &request.method,
            tool: request.tool.as_deref(),
        };
        let mut verdict = guard::Verdict::default();
        if let Some(Value::Array(content)) = value.pointer_mut("/result/content") {
            for block in content {
                if block.get("type").and_then(Value::as_str) != Some("text") {
                    continue;
                }
                if let Some(Value::String(text)) = block.get_mut("text") {
                    let v = self.guard.check_text(text, Scope::ToolResult, &ctx);
                    verdict.merge(v);
                }
            }
        }
        if let Some(structured) = value.pointer_mut("/result/structuredContent") {
            let v = self
                .guard
                .check_strings(structured, Scope::ToolResult, &ctx, &[]);
            verdict.merge(v);
        }
        if let Some((_, rule)) = verdict.refusal() {
            let tool = request.tool.as_deref().unwrap_or("?");
            // Keep the result's other fields (`_meta`, `resultType` of newer
            // protocol versions): only what the tool said is replaced.
            if let Some(Value::Object(result)) = value.get_mut("result") {
                result.remove("structuredContent");
                result.insert(
                    "content".into(),
                    json!([{
                        "type": "text",
                        "text": format!(
                            "Blocked by novac: rule {rule} matched the result of the tool {tool}."
                        )
                    }]),
                );
                result.insert("isError".into(), Value::Bool(true));
            }
            return true;
        }
        verdict.modified
    }

    /// Scans the entries of a `*/list` result: hidden ones are dropped, a
    /// blocking match turns the whole answer into a JSON-RPC error.
    fn check_list(&self, value: &mut Value, request: &Pending, field: &str, scope: Scope) -> bool {
        let mut modified = false;
        let mut block: Option<String> = None;
        if let Some(Value::Array(items)) = value.get_mut("result").and_then(|r| r.get_mut(field)) {
            items.retain_mut(|item| {
                let name = item.get("name").and_then(Value::as_str).map(String::from);
                let ctx = Context {
                    direction: Direction::ServerToClient,
                    method: &request.method,
                    tool: name.as_deref(),
                };
                let verdict = self.guard.check_strings(
                    item,
                    scope,
                    &ctx,
                    &["name", "uri", "uriTemplate", "mimeType", "type"],
                );
                modified |= verdict.modified;
                match verdict.refusal() {
                    Some((Action::Hide, rule)) => {
                        if let (Scope::ToolDescription, Some(name), Ok(mut hidden)) =
                            (scope, &name, self.hidden.lock())
                        {
                            hidden.insert(name.clone());
                        }
                        info(
                            false,
                            &format!(
                                "hid {} {} (rule {rule})",
                                scope.name(),
                                name.as_deref().unwrap_or("?")
                            ),
                        );
                        modified = true;
                        false
                    }
                    Some((_, rule)) => {
                        block.get_or_insert_with(|| rule.to_string());
                        true
                    }
                    None => true,
                }
            });
        }
        if let Some(rule) = block {
            *value = Self::blocked(&request.id, &rule, scope);
            return true;
        }
        modified
    }
}
