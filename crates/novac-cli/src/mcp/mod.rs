//! `novac mcp`: an MCP server over stdio that validates prompts with NOVA
//! rules, a drop-in for the reference's nova_mcp gateway.
//!
//! # How data flows
//!
//! * The rules are compiled once into a [`RuleSet`]; with `--watch` a
//!   background thread polls the rule files and swaps in recompiled rules,
//!   keeping the last good ones (and printing the diagnostics to stderr)
//!   when an edit does not compile.
//! * The main thread reads newline-delimited JSON-RPC messages from stdin
//!   ([`jsonrpc::read_line`], bounded by `--max-message-bytes`) into a
//!   bounded queue; `--workers` threads answer them ([`server::Server`]) and
//!   hand the response lines to a writer thread, which writes them to
//!   stdout and flushes whenever it has nothing more to write. Requests may
//!   therefore be answered out of order, as JSON-RPC allows (ids match).
//! * Each `validate_prompt` call scans with one rule generation from start
//!   to end ([`tool`]) and, with `--audit-log`, appends one JSON line to the
//!   audit log ([`audit`]).
//!
//! stdout carries only protocol messages; every log line goes to stderr.
//! At the end of stdin, the server finishes the requests it has, flushes,
//! and exits 0.

pub(crate) mod audit;
mod jsonrpc;
mod proxy;
mod server;
mod tool;

use anyhow::{Context, Result};
use clap::Args;
use novac::{Rules, ScanOptions, Scanner};
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};

/// Arguments of `novac mcp`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct McpArgs {
    /// `proxy`: guard another MCP server instead of serving `validate_prompt`.
    #[command(subcommand)]
    command: Option<McpCommand>,
    /// Rule files or directories of `.nov` files, and compiled bundles
    /// (`novac compile`, given by file path).
    #[arg(short, long = "rules", required = true, num_args = 1..)]
    rules: Vec<PathBuf>,
    /// Reload the rules when the files change (polling; a broken edit keeps
    /// the last good rules and prints its diagnostics to stderr).
    #[arg(short, long)]
    watch: bool,
    /// How often --watch looks at the rule files, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500, requires = "watch")]
    watch_interval: u64,
    /// Append one JSON line per decision to this file (time, user_id,
    /// verdict, matched rules, prompt cut to 200 characters).
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// Normalise prompts first (NFKC, look-alike letters, zero-width characters).
    #[arg(long)]
    normalize: bool,
    /// Also match keywords in what encoded runs decode to (base64, base32,
    /// hex, %-encoding, HTML entities, one nested layer).
    #[arg(long)]
    decode: bool,
    /// Refuse (NOT AUTHORIZED, fail closed) prompts larger than this many bytes.
    #[arg(long, value_name = "BYTES")]
    max_prompt_bytes: Option<usize>,
    /// Largest JSON-RPC message accepted, in bytes (larger ones get an error).
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    max_message_bytes: usize,
    /// Threads answering requests. 1 answers in order on the reading thread
    /// (the fastest for keyword and embedding rules; the default without an
    /// LLM judge); more threads answer out of order, so that slow LLM calls
    /// do not hold up other requests (the default with a judge is 8).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Semantic matching: the embedding model (`--model-dir`), or what
    /// happens without one (the same options as `novac scan`).
    #[command(flatten)]
    semantic: crate::semantic::SemanticArgs,
    /// Print only errors and warnings to stderr.
    #[arg(short, long)]
    quiet: bool,
    /// The LLM judge (the same options as `novac scan`).
    #[command(flatten)]
    llm: crate::llm_config::LlmArgs,
}

/// Subcommands of `novac mcp`.
#[derive(clap::Subcommand, Debug)]
enum McpCommand {
    /// Sit between an MCP client and an MCP server (spawned over stdio) and
    /// apply the rules to tool descriptions, tool-call arguments, tool
    /// results and sampling requests.
    Proxy(proxy::ProxyArgs),
}

/// The semantic and LLM stages the server scans with.
///
/// Without them, rules that need a stage *fail closed* (not matched; listed
/// under `failed_closed` in the structured answer), like nova_mcp without
/// an LLM key.
#[derive(Default)]
pub struct Hooks {
    /// The semantic stage.
    pub semantic: Option<Box<dyn novac::SemanticEvaluator>>,
    /// The LLM stage.
    pub llm: Option<Box<dyn novac::LlmJudge>>,
}

impl Hooks {
    /// The hooks `args` ask for (embeddings come with the rules), and the
    /// scanner's LLM options.
    fn from_args(
        args: &McpArgs,
    ) -> Result<(Hooks, novac::LlmOptions, crate::llm_config::LlmSetup)> {
        let mut setup = crate::llm_config::setup(&args.llm)?;
        let options = setup.options.clone();
        let hooks = Hooks {
            semantic: None,
            llm: setup.judge.take(),
        };
        Ok((hooks, options, setup))
    }

    /// A scanner on `rules` with these hooks.
    pub fn scanner<'r>(&'r self, rules: &'r Rules, options: ScanOptions) -> Scanner<'r> {
        let mut scanner = Scanner::new(rules).options(options);
        if let Some(semantic) = &self.semantic {
            scanner = scanner.semantic_evaluator(semantic.as_ref());
        }
        if let Some(llm) = &self.llm {
            scanner = scanner.llm_judge(llm.as_ref());
        }
        scanner
    }
}

fn info(quiet: bool, message: &str) {
    if !quiet {
        eprintln!("novac mcp: {message}");
    }
}

pub fn run(args: McpArgs) -> Result<u8> {
    if let Some(McpCommand::Proxy(proxy)) = args.command {
        return proxy::run(proxy);
    }
    let rules = crate::load::rule_set(&args.rules, &args.semantic)?;
    let snapshot = rules.current();
    let (hooks, llm_options, llm_setup) = Hooks::from_args(&args)?;
    if let Some(note) = llm_setup.note(&snapshot) {
        eprintln!("novac mcp: {note}");
    }
    if let Some(judge) = &llm_setup.description {
        info(args.quiet, &format!("LLM judge: {judge}"));
    }
    info(
        args.quiet,
        &format!(
            "serving {} rule(s) from {} file(s) on stdio (MCP {}){}",
            snapshot.len(),
            snapshot.files().len(),
            server::VERSIONS.join(", "),
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
            "novac mcp",
            args.quiet,
        )?)
    } else {
        None
    };
    let audit = match &args.audit_log {
        Some(path) => Some(audit::AuditLog::open(path)?),
        None => None,
    };
    let tool = tool::Tool {
        rules,
        options: ScanOptions {
            normalize: args.normalize,
            max_prompt_bytes: args.max_prompt_bytes,
            decode: args.decode.then(novac::decode::DecodeLimits::default),
            llm: llm_options,
            ..ScanOptions::default()
        },
        hooks,
        audit,
    };
    let default_workers = if tool.hooks.llm.is_some() { 8 } else { 1 };
    let workers = args.workers.unwrap_or(default_workers).max(1);
    serve(
        Arc::new(server::Server::new(tool)),
        workers,
        args.max_message_bytes,
    )?;
    Ok(0)
}

/// What the reader hands to the workers.
enum Job {
    Line(Vec<u8>),
    TooLong,
}

fn serve(server: Arc<server::Server>, workers: usize, max_message: usize) -> Result<()> {
    // A big buffer, whose emptiness tells when to flush (see `serve_inline`).
    let mut stdin = std::io::BufReader::with_capacity(1 << 16, std::io::stdin().lock());
    if workers == 1 {
        return serve_inline(&server, &mut stdin, max_message);
    }
    let (jobs_tx, jobs_rx) = mpsc::sync_channel::<Job>(workers * 64);
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    let (out_tx, out_rx) = mpsc::sync_channel::<String>(4096);
    let writer = std::thread::Builder::new()
        .name("novac-mcp-out".into())
        .spawn(move || write_responses(out_rx))
        .context("cannot start the writer thread")?;
    let mut handles = Vec::new();
    for i in 0..workers {
        let jobs = Arc::clone(&jobs_rx);
        let out = out_tx.clone();
        let server = Arc::clone(&server);
        let handle = std::thread::Builder::new()
            .name(format!("novac-mcp-{i}"))
            .spawn(move || work(&server, &jobs, &out, max_message))
            .context("cannot start a worker thread")?;
        handles.push(handle);
    }
    drop(out_tx);
    let read = loop {
        let job = match jsonrpc::read_line(&mut stdin, max_message) {
            Ok(Some(jsonrpc::Line::Message(line))) => Job::Line(line),
            Ok(Some(jsonrpc::Line::TooLong)) => Job::TooLong,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e).context("cannot read stdin"),
        };
        if jobs_tx.send(job).is_err() {
            break Ok(());
        }
    };
    drop(jobs_tx);
    for handle in handles {
        let _ = handle.join();
    }
    let written = writer.join();
    read?;
    match written {
        Ok(result) => result.context("cannot write stdout"),
        Err(_) => anyhow::bail!("the writer thread failed"),
    }
}

/// One thread reads, answers and writes, in order, flushing stdout when no
/// more input is buffered: no hand-offs between threads, so the lowest
/// latency and the highest rate for keyword-only rules.
fn serve_inline(
    server: &server::Server,
    stdin: &mut std::io::BufReader<std::io::StdinLock<'_>>,
    max_message: usize,
) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    loop {
        let job = match jsonrpc::read_line(stdin, max_message).context("cannot read stdin")? {
            Some(jsonrpc::Line::Message(line)) => Job::Line(line),
            Some(jsonrpc::Line::TooLong) => Job::TooLong,
            None => break,
        };
        if let Some(response) = answer(server, job, max_message) {
            writeln!(out, "{response}").context("cannot write stdout")?;
        }
        if stdin.buffer().is_empty() {
            out.flush().context("cannot write stdout")?;
        }
    }
    out.flush().context("cannot write stdout")
}

/// The response line to one job, if any.
fn answer(server: &server::Server, job: Job, max_message: usize) -> Option<String> {
    match job {
        Job::Line(line) => {
            // A bug must not take a worker (or the server) down: answer
            // the request with an internal error and carry on.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.handle_line(&line)))
                .unwrap_or_else(|_| {
                    let id = serde_json::from_slice::<serde_json::Value>(&line)
                        .ok()
                        .and_then(|v| v.get("id").cloned())
                        .unwrap_or(serde_json::Value::Null);
                    Some(
                        jsonrpc::error(&id, jsonrpc::INTERNAL_ERROR, "Internal error", None)
                            .to_string(),
                    )
                })
        }
        Job::TooLong => {
            eprintln!("novac mcp: warning: a message over {max_message} bytes was skipped");
            Some(
                jsonrpc::error(
                    &serde_json::Value::Null,
                    jsonrpc::INVALID_REQUEST,
                    "Invalid Request",
                    Some(serde_json::json!(format!(
                        "the message is larger than {max_message} bytes (--max-message-bytes)"
                    ))),
                )
                .to_string(),
            )
        }
    }
}

fn work(
    server: &server::Server,
    jobs: &Mutex<Receiver<Job>>,
    out: &SyncSender<String>,
    max_message: usize,
) {
    loop {
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        if let Some(response) = answer(server, job, max_message) {
            if out.send(response).is_err() {
                return;
            }
        }
    }
}

/// Writes response lines to stdout, flushing when no more are waiting.
fn write_responses(responses: Receiver<String>) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    while let Ok(line) = responses.recv() {
        writeln!(out, "{line}")?;
        loop {
            match responses.try_recv() {
                Ok(line) => writeln!(out, "{line}")?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return out.flush(),
            }
        }
        out.flush()?;
    }
    out.flush()
}
