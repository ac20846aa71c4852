//! `novac serve`: an HTTP scanning service for sidecar deployment.
//!
//! # How data flows
//!
//! * The rules are compiled once into a [`novac::RuleSet`] ([`state`]),
//!   with the CLI's loading (bundles, `--model-dir`, the LLM judge: the
//!   same flags as `novac scan` and `novac mcp`). They are reloaded by
//!   `--watch` (polling), by SIGHUP and by an authenticated
//!   `POST /v1/reload`; a reload that does not compile keeps the last good
//!   rules in service.
//! * axum on hyper, on a small tokio runtime (`--threads` async workers),
//!   reads requests ([`api`]); scans are CPU work and run on tokio's
//!   blocking pool (at most `--scan-threads` at once), never on the async
//!   workers. Each scan uses one rule generation from start to end.
//! * Answers: `POST /v1/scan` returns the result objects of `novac scan
//!   --format jsonl`; `GET /metrics` the Prometheus text ([`metrics`]);
//!   access logs are JSON lines on stderr ([`log`]).
//! * SIGTERM (or Ctrl-C): `/readyz` turns 503, the listener closes, the
//!   requests in flight finish (up to `--shutdown-timeout`), exit 0.
//!
//! Cost: axum, hyper and tokio add about 250 s of crate compile time to a
//! cold build (summed over crates, measured on the shared 2-core machine:
//! tokio 68 s, tokio-macros 44 s, hyper 25 s, axum 24 s; roughly 2 min of
//! wall time on 2 cores). A request costs a hand-off to a blocking thread
//! (tens of µs) on top of the scan.

pub(crate) mod api;
mod log;
mod metrics;
mod playground;
mod request;
mod state;

use anyhow::{Context, Result};
use clap::Args;
use novac::{ReloadEvent, WatchOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `novac serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Rule files or directories of `.nov` files, and compiled bundles
    /// (`novac compile`, given by file path).
    #[arg(short, long = "rules", required = true, num_args = 1..)]
    pub rules: Vec<PathBuf>,
    /// Address to listen on (loopback by default; a sidecar in a pod or
    /// container may need 0.0.0.0).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Reload the rules when the files change (polling; a broken edit keeps
    /// the last good rules).
    #[arg(short, long)]
    pub watch: bool,
    /// How often --watch looks at the rule files, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500, requires = "watch")]
    pub watch_interval: u64,
    /// A file holding the bearer token that `/v1/*` requests must send
    /// (`Authorization: Bearer TOKEN`); it also enables `POST /v1/reload`.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Normalise prompts first by default (NFKC, look-alike letters,
    /// zero-width characters); a request may say otherwise.
    #[arg(long)]
    pub normalize: bool,
    /// Also match keywords in what encoded runs decode to (base64, base32,
    /// hex, %-encoding, HTML entities) by default; a request may say
    /// otherwise (`"decode": false`).
    #[arg(long)]
    pub decode: bool,
    /// Largest request body, in bytes (413 above).
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 20)]
    pub max_body_bytes: usize,
    /// Largest prompt, in bytes (413 above).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_prompt_bytes: usize,
    /// Most prompts in one request (413 above).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_prompts: usize,
    /// Most scanning requests at once, queued or running (429 above).
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_concurrent: usize,
    /// How long a client may take to send a request body, in milliseconds (408 after).
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub body_timeout_ms: u64,
    /// Async worker threads (network I/O only).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Threads that scan (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub scan_threads: Option<usize>,
    /// How long a client may take to send a request's headers, in
    /// milliseconds (the connection is closed after: slowloris).
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub header_timeout_ms: u64,
    /// After SIGTERM, how long to wait for requests in flight, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub shutdown_timeout: u64,
    /// Serve the rule playground page at `/` and `POST /v1/playground`.
    #[arg(long)]
    pub playground: bool,
    /// Put the prompts in the access log (off: they may hold personal data).
    #[arg(long)]
    pub log_prompts: bool,
    /// Write no access log lines (events and errors are still logged).
    #[arg(long)]
    pub no_access_log: bool,
    /// Semantic matching: the embedding model (`--model-dir`), or what
    /// happens without one (the same options as `novac scan`).
    #[command(flatten)]
    pub semantic: crate::semantic::SemanticArgs,
    /// The LLM judge (the same options as `novac scan`).
    #[command(flatten)]
    pub llm: crate::llm_config::LlmArgs,
}

pub fn run(args: ServeArgs) -> Result<u8> {
    let token = match &args.token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the token file {}", path.display()))?;
            let token = text.trim().to_string();
            anyhow::ensure!(
                !token.is_empty(),
                "the token file {} is empty",
                path.display()
            );
            Some(token)
        }
        None => None,
    };
    let state = Arc::new(state::load(&args, token)?);
    let scan_threads = args
        .scan_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .max_blocking_threads(scan_threads)
        .thread_name("novac-serve")
        .enable_io()
        .enable_time()
        .build()
        .context("cannot start the async runtime")?;
    let _watcher = if args.watch {
        let watched = Arc::clone(&state);
        let options = WatchOptions {
            interval: Duration::from_millis(args.watch_interval.max(1)),
            ..WatchOptions::default()
        };
        Some(
            state
                .rules
                .watch(options, move |event| match event {
                    ReloadEvent::Reloaded { generation, .. } => {
                        watched.record_reload("watch", &Ok(generation))
                    }
                    ReloadEvent::Failed { error, .. } => {
                        watched.record_reload("watch", &Err(error))
                    }
                    _ => {}
                })
                .context("cannot watch the rules")?,
        )
    } else {
        None
    };
    runtime.block_on(serve(state, &args))?;
    Ok(0)
}

async fn serve(state: Arc<state::State>, args: &ServeArgs) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr().context("no local address")?;
    let snapshot = state.rules.current();
    log::json(&serde_json::json!({
        "level": "info",
        "msg": "listening",
        "address": address.to_string(),
        "rules": snapshot.len(),
        "files": snapshot.files().len(),
        "watch": args.watch,
        "auth": state.token.is_some(),
        "playground": state.playground,
    }));
    drop(snapshot);
    let reloader = Arc::clone(&state);
    tokio::spawn(async move {
        if let Err(e) = reload_on_sighup(reloader).await {
            log::event("error", &format!("SIGHUP reloads are off: {e}"));
        }
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    for (name, kind) in terminating_signals() {
        let stopper = Arc::clone(&state);
        let stop_tx = Arc::clone(&stop_tx);
        let grace = Duration::from_secs(args.shutdown_timeout);
        tokio::spawn(async move {
            if !wait_for(kind).await {
                return;
            }
            stopper.stopping.store(true, Relaxed);
            log::json(&serde_json::json!({
                "level": "info",
                "msg": "shutting down: finishing the requests in flight",
                "signal": name,
                "inflight": stopper.metrics.inflight.load(Relaxed),
            }));
            let _ = stop_tx.send(true);
            tokio::time::sleep(grace).await;
            log::event(
                "warn",
                "the shutdown timeout passed; requests still in flight are dropped",
            );
            std::process::exit(0);
        });
    }
    let app = api::router(Arc::clone(&state));
    accept(
        listener,
        app,
        stop_rx,
        Duration::from_millis(args.header_timeout_ms.max(1)),
    )
    .await;
    log::event("info", "stopped");
    Ok(())
}

/// Accepts connections and serves each with hyper's HTTP/1 builder (which,
/// with a timer, closes connections whose headers are slower than
/// `header_timeout`: slowloris); after `stop`, closes the listener, lets
/// every connection finish its request in flight, and returns when all
/// have closed.
async fn accept(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
    header_timeout: Duration,
) {
    // Each connection task holds a receiver; `closed()` resolves when all are gone.
    let (open_tx, open_rx) = tokio::sync::watch::channel(());
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then carry on.
                    log::event("error", &format!("cannot accept a connection: {e}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut stop = stop.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout);
            let connection =
                builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = async { stop.wait_for(|stop| *stop).await.is_ok() } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(open);
        });
    }
    drop(listener);
    drop(open_rx);
    open_tx.closed().await;
}

/// The signals that stop the server.
#[cfg(unix)]
fn terminating_signals() -> [(&'static str, tokio::signal::unix::SignalKind); 2] {
    use tokio::signal::unix::SignalKind;
    [
        ("SIGTERM", SignalKind::terminate()),
        ("SIGINT", SignalKind::interrupt()),
    ]
}

/// Waits for one signal; false if it cannot be listened to.
#[cfg(unix)]
async fn wait_for(kind: tokio::signal::unix::SignalKind) -> bool {
    match tokio::signal::unix::signal(kind) {
        Ok(mut signal) => signal.recv().await.is_some(),
        Err(_) => false,
    }
}

#[cfg(not(unix))]
fn terminating_signals() -> [(&'static str, ()); 1] {
    [("Ctrl-C", ())]
}

#[cfg(not(unix))]
async fn wait_for(_: ()) -> bool {
    tokio::signal::ctrl_c().await.is_ok()
}

/// Reloads the rules on each SIGHUP.
async fn reload_on_sighup(state: Arc<state::State>) -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = signal(SignalKind::hangup())?;
        while hup.recv().await.is_some() {
            let state = Arc::clone(&state);
            let _ = tokio::task::spawn_blocking(move || state.reload("sighup")).await;
        }
    }
    #[cfg(not(unix))]
    let _ = state;
    Ok(())
}
