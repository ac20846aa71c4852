//! What every JSON route of `novac serve` does with a request before its
//! own work: take a permit of the concurrency limit (429 past it), read the
//! body within the size and time limits (413, 408, 415), answer errors as
//! `{"error": "..."}`, parse it (400 on malformed JSON), and tell the
//! access log what happened. Shared by the
//! scan routes (`api`) and the playground (`playground`), so neither imports
//! the other.

use super::state::State;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::sync::Arc;

/// What a handler tells the access log.
#[derive(Clone, Default)]
pub struct LogInfo {
    /// Prompts scanned.
    pub prompts: usize,
    /// Names of the rules that matched (over all prompts).
    pub matched: Vec<String>,
    /// The prompts (only with `--log-prompts`).
    pub texts: Option<Vec<String>>,
    /// The rules' generation that answered.
    pub generation: Option<u64>,
}

/// A JSON error answer.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

/// Admits one JSON request: takes a permit of the concurrency limit, reads
/// the body within the limits and parses it as `T`. The permit is held
/// until the caller drops it (after the work, on the blocking pool).
#[allow(clippy::result_large_err)]
pub async fn admit<T: DeserializeOwned>(
    state: &State,
    request: Request,
) -> Result<(tokio::sync::OwnedSemaphorePermit, T), Response> {
    let permit = permit(state)?;
    let (parts, body) = request.into_parts();
    let bytes = read_json(state, &parts.headers, body).await?;
    match serde_json::from_slice(&bytes) {
        Ok(parsed) => Ok((permit, parsed)),
        Err(e) => {
            state.metrics.reject("bad_json");
            Err(error(
                StatusCode::BAD_REQUEST,
                format!("malformed request: {e}"),
            ))
        }
    }
}

/// Takes a permit of the concurrency limit, or answers 429.
#[allow(clippy::result_large_err)]
fn permit(state: &State) -> Result<tokio::sync::OwnedSemaphorePermit, Response> {
    Arc::clone(&state.permits).try_acquire_owned().map_err(|_| {
        state.metrics.reject("concurrency");
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "more than {} requests at once (--max-concurrent)",
                state.limits.concurrent
            ),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    })
}

/// Reads a JSON request body within the size and time limits.
async fn read_json(state: &State, headers: &HeaderMap, mut body: Body) -> Result<Bytes, Response> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        state.metrics.reject("content_type");
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    let limit = state.limits.body_bytes;
    let too_large = || {
        state.metrics.reject("body_size");
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {limit} bytes (--max-body-bytes)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let deadline = tokio::time::Instant::now() + state.limits.body_timeout;
    let mut data = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx));
        match tokio::time::timeout_at(deadline, frame).await {
            Err(_) => {
                state.metrics.reject("body_timeout");
                return Err(error(
                    StatusCode::REQUEST_TIMEOUT,
                    "the body took too long to arrive (--body-timeout-ms)",
                ));
            }
            Ok(None) => break,
            Ok(Some(Err(_))) => {
                state.metrics.reject("body_error");
                return Err(error(StatusCode::BAD_REQUEST, "the body could not be read"));
            }
            Ok(Some(Ok(frame))) => {
                if let Ok(chunk) = frame.into_data() {
                    if data.len() + chunk.len() > limit {
                        return Err(too_large());
                    }
                    data.extend_from_slice(&chunk);
                }
            }
        }
    }
    Ok(Bytes::from(data))
}
