//! The HTTP routes of `novac serve` and the middleware around them (bearer
//! auth, access logs, request counting).
//!
//! Every answer is JSON (but `/metrics`, in Prometheus text, and the
//! playground page). Errors are `{"error": "..."}` with the status that
//! says why: 400 malformed, 401 no or wrong token, 403 reload without auth
//! configured, 404, 408 body too slow, 413 over a size limit, 415 not JSON,
//! 422 refused rules, 429 too many requests at once, 500 a bug (caught),
//! 502 an LLM failure under `--llm-on-error error`, 503 shutting down.
//!
//! Scans run on tokio's blocking pool (`spawn_blocking`), never on the
//! async workers; a request holds a permit of the concurrency limit from
//! before its body is read until its scan ends (even if the client hangs up).

use super::metrics::Stage;
use super::request::{admit, error, LogInfo};
use super::state::{Scanned, State};
use axum::extract::{Request, State as Shared};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

type App = Arc<State>;

/// The router with every route and middleware.
pub fn router(state: App) -> Router {
    let v1 = Router::new()
        .route("/v1/scan", post(scan))
        .route("/v1/rules", get(rules))
        .route("/v1/reload", post(reload))
        .route("/v1/playground", post(super::playground::compile_and_scan))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            auth,
        ));
    Router::new()
        .route("/", get(super::playground::page))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(v1)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            access,
        ))
        .with_state(state)
}

/// The route label of a path in metrics (a fixed set: no cardinality blow-up).
fn route_label(path: &str) -> &'static str {
    match path {
        "/v1/scan" => "scan",
        "/v1/rules" => "rules",
        "/v1/reload" => "reload",
        "/v1/playground" => "playground",
        "/healthz" => "healthz",
        "/readyz" => "readyz",
        "/metrics" => "metrics",
        "/" => "page",
        _ => "other",
    }
}

/// Decrements the in-flight gauge when a request ends, even if the client
/// hung up and the handler was dropped.
struct Inflight<'a>(&'a super::metrics::Metrics);

impl Drop for Inflight<'_> {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Relaxed);
    }
}

/// Counts the request and writes its access log line.
async fn access(Shared(state): Shared<App>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let route = route_label(&path);
    state.metrics.inflight.fetch_add(1, Relaxed);
    let guard = Inflight(&state.metrics);
    let response = next.run(request).await;
    drop(guard);
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    state.metrics.request(route, status);
    if route == "scan" {
        state.metrics.observe(Stage::Request, elapsed);
    }
    if state.access_log {
        let mut line = json!({
            "level": "info",
            "msg": "access",
            "method": method,
            "path": if route == "other" { "(other)" } else { path.as_str() },
            "status": status,
            "ms": (elapsed.as_secs_f64() * 1e6).round() / 1e3,
        });
        if let (Some(info), Some(fields)) =
            (response.extensions().get::<LogInfo>(), line.as_object_mut())
        {
            fields.insert("prompts".into(), json!(info.prompts));
            fields.insert("matched_rules".into(), json!(info.matched));
            if let Some(generation) = info.generation {
                fields.insert("generation".into(), json!(generation));
            }
            if let Some(texts) = &info.texts {
                fields.insert("prompt_texts".into(), json!(texts));
            }
        }
        super::log::json(&line);
    }
    response
}

/// Compares in time independent of where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Bearer-token auth of the `/v1` routes when `--token-file` is given.
async fn auth(Shared(state): Shared<App>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
        if !given.is_some_and(|g| same(g, token.as_bytes())) {
            state.metrics.reject("unauthorized");
            let mut response = error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    next.run(request).await
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such route")
}

async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn readyz(Shared(state): Shared<App>) -> Response {
    if state.stopping.load(Relaxed) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    axum::Json(json!({"status": "ready", "generation": state.rules.generation()})).into_response()
}

async fn metrics(Shared(state): Shared<App>) -> Response {
    let state2 = Arc::clone(&state);
    // The rules' hash is computed once per generation, off the async workers.
    let info = match tokio::task::spawn_blocking(move || state2.rules_info()).await {
        Ok(info) => info,
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(&info),
    )
        .into_response()
}

async fn rules(Shared(state): Shared<App>) -> Response {
    let state2 = Arc::clone(&state);
    let answer = tokio::task::spawn_blocking(move || {
        let info = state2.rules_info();
        let snapshot = state2.rules.current();
        let rules: Vec<Value> = snapshot
            .iter()
            .map(|r| {
                let meta: serde_json::Map<String, Value> = r
                    .meta()
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                json!({
                    "name": r.name(),
                    "meta": meta,
                    "uses_semantics": r.uses_semantics(),
                    "uses_llm": r.uses_llm(),
                })
            })
            .collect();
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "generation": snapshot.generation(),
            "hash": info.hash,
            "files": state2.files(),
            "rules": rules,
        })
    })
    .await;
    match answer {
        Ok(value) => axum::Json(value).into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

async fn reload(Shared(state): Shared<App>) -> Response {
    if state.token.is_none() {
        return error(
            StatusCode::FORBIDDEN,
            "reloading over HTTP needs auth: start the server with --token-file (or send SIGHUP)",
        );
    }
    let state2 = Arc::clone(&state);
    match tokio::task::spawn_blocking(move || state2.reload("http")).await {
        Ok(Ok(generation)) => {
            axum::Json(json!({"reloaded": true, "generation": generation})).into_response()
        }
        Ok(Err(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({
                "reloaded": false,
                "generation": state.rules.generation(),
                "error": e.render(false),
            })),
        )
            .into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

/// The body of `POST /v1/scan`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanRequest {
    /// One prompt (the answer is one result object).
    prompt: Option<String>,
    /// Several prompts (the answer is an array of result objects).
    prompts: Option<Vec<String>>,
    /// The `id` of the single prompt's result (default 0).
    id: Option<Value>,
    /// Normalise first (default: the server's `--normalize`).
    normalize: Option<bool>,
    /// Report every rule and variable.
    #[serde(default)]
    debug: bool,
    /// Also match keywords in decoded views of encoded runs (default: the
    /// server's `--decode`).
    decode: Option<bool>,
}

async fn scan(Shared(state): Shared<App>, request: Request) -> Response {
    let (permit, request): (_, ScanRequest) = match admit(&state, request).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let (single, prompts): (bool, Vec<(Value, String)>) = match (request.prompt, request.prompts) {
        (Some(prompt), None) => (true, vec![(request.id.unwrap_or(json!(0)), prompt)]),
        (None, Some(prompts)) if request.id.is_none() => (
            false,
            prompts
                .into_iter()
                .enumerate()
                .map(|(i, p)| (json!(i), p))
                .collect(),
        ),
        _ => {
            state.metrics.reject("bad_json");
            return error(
                StatusCode::BAD_REQUEST,
                "give either \"prompt\" (a string, with an optional \"id\") or \"prompts\" (an array of strings)",
            );
        }
    };
    if prompts.len() > state.limits.prompts {
        state.metrics.reject("prompts");
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} prompts, over the limit of {} per request (--max-prompts)",
                prompts.len(),
                state.limits.prompts
            ),
        );
    }
    if let Some((i, (_, p))) = prompts
        .iter()
        .enumerate()
        .find(|(_, (_, p))| p.len() > state.limits.prompt_bytes)
    {
        state.metrics.reject("prompt_size");
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "prompt {i} is {} bytes, over the limit of {} (--max-prompt-bytes)",
                p.len(),
                state.limits.prompt_bytes
            ),
        );
    }
    let normalize = request.normalize.unwrap_or(state.options.normalize);
    let texts = state
        .log_prompts
        .then(|| prompts.iter().map(|(_, p)| p.clone()).collect());
    let count = prompts.len();
    let queued = Instant::now();
    let worker = Arc::clone(&state);
    let task = tokio::task::spawn_blocking(move || {
        worker.metrics.observe(Stage::Queue, queued.elapsed());
        let scanned = worker.scan(prompts, normalize, request.debug, request.decode);
        drop(permit);
        scanned
    });
    let (generation, lines) = match task.await {
        Ok(Scanned::Results { generation, lines }) => (generation, lines),
        Ok(Scanned::Refused(i, e)) => {
            let status = match e {
                novac::ScanError::PromptTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_GATEWAY,
            };
            return error(status, format!("prompt {i}: {e}"));
        }
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    };
    let mut matched: Vec<String> = Vec::new();
    for line in &lines {
        if let Some(Value::Array(names)) = line.get("matched_rules") {
            for name in names.iter().filter_map(Value::as_str) {
                if !matched.iter().any(|m| m == name) {
                    matched.push(name.to_string());
                }
            }
        }
    }
    let body = if single {
        lines.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(lines)
    };
    let mut response = axum::Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&generation.to_string()) {
        response.headers_mut().insert("x-novac-generation", value);
    }
    response.extensions_mut().insert(LogInfo {
        prompts: count,
        matched,
        texts,
        generation: Some(generation),
    });
    response
}
