//! `novac mcp proxy`: a guard between an MCP client (on stdin/stdout) and an
//! MCP server that it spawns over stdio, applying NOVA rules to what passes.
//!
//! # How data flows
//!
//! * The main thread reads the client's newline-delimited JSON-RPC messages
//!   ([`jsonrpc::read_line`], bounded by `--max-message-bytes`). A request
//!   is recorded in the table of requests in flight (id → method, tool)
//!   before it is written to the upstream's stdin; `tools/call` arguments
//!   are scanned first ([`guard`]). Notifications and the client's answers
//!   to the server's requests pass unchanged.
//! * A second thread reads the upstream's stdout. A response is forwarded
//!   only when its id is in flight, and the id is then removed: a replayed
//!   or unsolicited response is dropped (and logged). Responses to
//!   `tools/list`, `prompts/list`, `resources/list` and
//!   `resources/templates/list` have their entries' descriptions scanned,
//!   `tools/call` results their text content and `structuredContent`; the
//!   server's `sampling/createMessage` requests their messages and system
//!   prompt.
//! * A message no rule touches is forwarded byte for byte; one that a rule
//!   rewrote (redaction, a hidden tool) is re-serialised. Nothing of
//!   `initialize` is interpreted: the protocol version is whatever the two
//!   ends negotiate.
//! * Lines that are not a JSON object (garbage, batches) are not forwarded:
//!   from the client they get a JSON-RPC error, from the upstream they are
//!   dropped with a warning on stderr (they cannot be scanned, so passing
//!   them on would be a way around the rules).
//! * When the upstream's stdout ends while the client is still there, every
//!   request in flight is answered with a JSON-RPC error, a line on stderr
//!   says how the upstream ended, and the proxy exits 1. At the end of the
//!   client's stdin, the proxy closes the upstream's stdin, forwards what
//!   the upstream still answers, waits for it and exits 0.
//!
//! Costs: one JSON parse per message and one scan per string value of the
//! scanned parts; one extra copy of a message only when a rule rewrote it.

mod guard;

use super::jsonrpc;
use anyhow::{Context as _, Result};
use clap::Args;
use guard::{Action, Context, Direction, Guard, Scope};
use novac::{ReloadEvent, ScanOptions, WatchOptions};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The JSON-RPC error code of a request the rules refused.
pub const BLOCKED: i64 = -32001;
/// The JSON-RPC error code of requests the upstream can no longer answer.
pub const UPSTREAM_GONE: i64 = -32002;

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
    /// Semantic matching (the same options as `novac scan`).
    #[command(flatten)]
    semantic: crate::semantic::SemanticArgs,
    /// Print only errors and warnings to stderr.
    #[arg(short, long)]
    quiet: bool,
    /// The upstream MCP server's command and arguments, after `--`.
    #[arg(last = true, required = true, value_name = "UPSTREAM_COMMAND")]
    upstream: Vec<OsString>,
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
}

/// What both threads share.
struct Proxy {
    guard: Guard,
    pending: Mutex<HashMap<String, Pending>>,
    /// Tools dropped from a `tools/list` answer: calls to them are refused.
    hidden: Mutex<std::collections::HashSet<String>>,
    client_out: Mutex<std::io::BufWriter<std::io::Stdout>>,
    upstream_in: Mutex<Option<ChildStdin>>,
    client_closed: AtomicBool,
    max_message: usize,
}

pub fn run(args: ProxyArgs) -> Result<u8> {
    let rules = crate::load::rule_set(&args.rules, &args.semantic)?;
    let snapshot = rules.current();
    let Some((program, upstream_args)) = args.upstream.split_first() else {
        anyhow::bail!("give the upstream server's command after `--`");
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
    info(
        args.quiet,
        &format!(
            "guarding {} with {} rule(s) from {} file(s) (default action: {:?}){}",
            program.to_string_lossy(),
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
        let quiet = args.quiet;
        let options = WatchOptions {
            interval: Duration::from_millis(args.watch_interval.max(1)),
            ..WatchOptions::default()
        };
        Some(
            rules
                .watch(options, move |event| match event {
                    ReloadEvent::Reloaded {
                        generation, rules, ..
                    } => info(
                        quiet,
                        &format!("reloaded: generation {generation}, {rules} rule(s)"),
                    ),
                    ReloadEvent::Failed { error, kept } => eprintln!(
                        "novac mcp proxy: error: the new rules were refused; generation {kept} stays in service: {}",
                        error.render(crate::stderr_color())
                    ),
                    _ => {}
                })
                .context("cannot watch the rules")?,
        )
    } else {
        None
    };
    let audit = match &args.audit_log {
        Some(path) => Some(super::audit::AuditLog::open(path)?),
        None => None,
    };
    let upstream_out = child
        .stdout
        .take()
        .context("the upstream's stdout is not piped")?;
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
        hidden: Mutex::new(std::collections::HashSet::new()),
        client_out: Mutex::new(std::io::BufWriter::with_capacity(
            1 << 16,
            std::io::stdout(),
        )),
        upstream_in: Mutex::new(child.stdin.take()),
        client_closed: AtomicBool::new(false),
        max_message: args.max_message_bytes,
    });
    let child = Arc::new(Mutex::new(child));
    let reader = {
        let proxy = Arc::clone(&proxy);
        let child = Arc::clone(&child);
        std::thread::Builder::new()
            .name("novac-proxy-upstream".into())
            .spawn(move || proxy.read_upstream(upstream_out, &child))
            .context("cannot start the upstream reader")?
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
            Ok(Some(jsonrpc::Line::TooLong)) => proxy.to_client(&jsonrpc::error(
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
    proxy.client_closed.store(true, Ordering::SeqCst);
    if let Ok(mut upstream) = proxy.upstream_in.lock() {
        upstream.take();
    }
    let _ = reader.join();
    if let Ok(mut child) = child.lock() {
        let _ = child.wait();
    }
    proxy.guard.close_audit();
    Ok(0)
}

/// The text of a JSON value, for the table key and messages.
fn id_key(id: &Value) -> String {
    id.to_string()
}

impl Proxy {
    fn to_client(&self, message: &Value) {
        self.to_client_line(message.to_string().as_bytes());
    }

    fn to_client_line(&self, line: &[u8]) {
        let Ok(mut out) = self.client_out.lock() else {
            return;
        };
        let written = out
            .write_all(line)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        if let Err(e) = written {
            // The client is gone; the main thread sees the end of stdin.
            if !self.client_closed.load(Ordering::SeqCst) {
                warn(&format!("cannot write to the client: {e}"));
            }
        }
    }

    fn to_upstream_line(&self, line: &[u8]) {
        let Ok(mut upstream) = self.upstream_in.lock() else {
            return;
        };
        let Some(stdin) = upstream.as_mut() else {
            return;
        };
        let written = stdin
            .write_all(line)
            .and_then(|()| stdin.write_all(b"\n"))
            .and_then(|()| stdin.flush());
        if let Err(e) = written {
            // The upstream is gone: its reader answers what is in flight.
            warn(&format!("cannot write to the upstream server: {e}"));
            upstream.take();
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

    /// One message from the client.
    fn on_client_line(&self, line: Vec<u8>) {
        let mut value = match serde_json::from_slice::<Value>(&line) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return self.to_client(&jsonrpc::error(
                    &Value::Null,
                    jsonrpc::INVALID_REQUEST,
                    "Invalid Request",
                    Some(json!(
                        "novac mcp proxy forwards single JSON-RPC objects (no batches)"
                    )),
                ))
            }
            Err(_) => {
                return self.to_client(&jsonrpc::error(
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
            return self.to_upstream_line(&line);
        };
        let key = id_key(&id);
        let tool = (method == "tools/call")
            .then(|| value.pointer("/params/name").and_then(Value::as_str))
            .flatten()
            .map(String::from);
        if self
            .pending
            .lock()
            .is_ok_and(|pending| pending.contains_key(&key))
        {
            return self.to_client(&jsonrpc::error(
                &id,
                jsonrpc::INVALID_REQUEST,
                "Invalid Request",
                Some(json!(format!(
                    "a request with id {key} is already in flight"
                ))),
            ));
        }
        if let Some(name) = &tool {
            let hidden = self.hidden.lock().is_ok_and(|h| h.contains(name));
            if hidden {
                return self.to_client(&jsonrpc::error(
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
                    return self.to_client(&Self::blocked(&id, rule, Scope::ToolArguments));
                }
                modified = verdict.modified;
            }
        }
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(key, Pending { id, method, tool });
        }
        if modified {
            self.to_upstream_line(value.to_string().as_bytes());
        } else {
            self.to_upstream_line(&line);
        }
    }

    /// Reads the upstream until its stdout ends.
    fn read_upstream(&self, out: std::process::ChildStdout, child: &Mutex<Child>) {
        let mut reader = BufReader::with_capacity(1 << 16, out);
        loop {
            match jsonrpc::read_line(&mut reader, self.max_message) {
                Ok(Some(jsonrpc::Line::Message(line))) => {
                    if !line.iter().all(u8::is_ascii_whitespace) {
                        self.on_upstream_line(line);
                    }
                }
                Ok(Some(jsonrpc::Line::TooLong)) => warn(&format!(
                    "dropped a message from the upstream server over {} bytes (--max-message-bytes)",
                    self.max_message
                )),
                Ok(None) => break,
                Err(e) => {
                    warn(&format!("cannot read the upstream server: {e}"));
                    break;
                }
            }
        }
        if self.client_closed.load(Ordering::SeqCst) {
            return;
        }
        // The upstream is gone for good while the client is still there.
        if let Ok(mut upstream) = self.upstream_in.lock() {
            upstream.take();
        }
        let status = child
            .lock()
            .ok()
            .and_then(|mut c| c.wait().ok())
            .map_or_else(|| "unknown status".to_string(), |s| s.to_string());
        let pending: Vec<Pending> = self
            .pending
            .lock()
            .map(|mut p| p.drain().map(|(_, v)| v).collect())
            .unwrap_or_default();
        for request in &pending {
            self.to_client(&jsonrpc::error(
                &request.id,
                UPSTREAM_GONE,
                "The upstream MCP server exited",
                Some(json!({"method": request.method})),
            ));
        }
        eprintln!(
            "novac mcp proxy: error: the upstream server exited ({status}); {} request(s) in flight were answered with errors",
            pending.len()
        );
        self.guard.close_audit();
        std::process::exit(1);
    }

    /// One message from the upstream.
    fn on_upstream_line(&self, line: Vec<u8>) {
        let mut value = match serde_json::from_slice::<Value>(&line) {
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
                if value.get("result").is_none() {
                    return self.to_client_line(&line);
                }
                let modified = self.check_response(&mut value, &request);
                if modified {
                    self.to_client(&value);
                } else {
                    self.to_client_line(&line);
                }
            }
            (Some(method), Some(id)) if method == "sampling/createMessage" => {
                let ctx = Context {
                    direction: Direction::ServerToClient,
                    method: &method,
                    tool: None,
                };
                let mut verdict = guard::Verdict::default();
                for part in ["/params/messages", "/params/systemPrompt"] {
                    if let Some(part) = value.pointer_mut(part) {
                        let v = self.guard.check_strings(
                            part,
                            Scope::Sampling,
                            &ctx,
                            &["type", "role", "mimeType", "data"],
                        );
                        if let Some((_, rule)) = v.refusal() {
                            return self.to_upstream_line(
                                Self::blocked(&id, rule, Scope::Sampling)
                                    .to_string()
                                    .as_bytes(),
                            );
                        }
                        verdict.modified |= v.modified;
                    }
                }
                if verdict.modified {
                    self.to_client(&value);
                } else {
                    self.to_client_line(&line);
                }
            }
            // Notifications and other server requests pass unchanged.
            _ => self.to_client_line(&line),
        }
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
