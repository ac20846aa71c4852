//! [`HttpJudge`]: an [`LlmJudge`] that asks one provider over blocking HTTP.
//!
//! One call: refuse empty text and missing configuration; look the question
//! up in the cache; otherwise build the provider's request
//! ([`crate::wire`]), send it with a timeout of the per-call timeout or the
//! time left before the scan's deadline, whichever is shorter, and retry a
//! 429, a 5xx or a refused connection with exponential backoff (or the
//! server's `Retry-After`), never past the deadline; then read the reply
//! leniently ([`crate::parse`]) and cache the verdict. Concurrent calls
//! asking the same question (same cache key) share one request: the first
//! makes it, the others wait for its answer. The API key never reaches an
//! error: response bodies quoted in errors are scrubbed.

use crate::cache::{cache_key, CacheKey, VerdictCache};
use crate::config::{JudgeConfig, Provider, MAX_RETRY_AFTER};
use crate::parse::parse_verdict;
use crate::wire;
use novac::{LlmError, LlmJudge, LlmRequest, LlmVerdict};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Asks one LLM provider; thread-safe, shares connections and its cache
/// across threads.
pub struct HttpJudge {
    config: JudgeConfig,
    agent: ureq::Agent,
    cache: VerdictCache,
    in_flight: Mutex<HashMap<CacheKey, Arc<Flight>>>,
}

/// A request under way that other callers with the same question wait for.
#[derive(Default)]
struct Flight {
    outcome: Mutex<Option<Result<LlmVerdict, LlmError>>>,
    done: Condvar,
}

/// Ends a flight however the leader leaves (even by panic), waking the waiters.
struct Landing<'a> {
    judge: &'a HttpJudge,
    key: CacheKey,
    flight: Arc<Flight>,
    outcome: Option<Result<LlmVerdict, LlmError>>,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let outcome = self
            .outcome
            .take()
            .unwrap_or_else(|| Err(LlmError::Other("the LLM call was abandoned".into())));
        if let Ok(mut slot) = self.flight.outcome.lock() {
            *slot = Some(outcome);
        }
        self.flight.done.notify_all();
        if let Ok(mut map) = self.judge.in_flight.lock() {
            map.remove(&self.key);
        }
    }
}

impl std::fmt::Debug for HttpJudge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpJudge")
            .field("config", &self.config)
            .field("cached", &self.cache.len())
            .finish()
    }
}

/// Longest part of an error body quoted in an error.
const QUOTED_BODY: usize = 300;

impl HttpJudge {
    /// A judge for `config`. Makes no request: a missing key shows up as a
    /// [`LlmError::NotConfigured`] on the first question that needs the model.
    pub fn new(config: JudgeConfig) -> HttpJudge {
        let agent = ureq::AgentBuilder::new()
            .redirects(0)
            .user_agent(concat!("novac/", env!("CARGO_PKG_VERSION")))
            .try_proxy_from_env(true)
            .build();
        let cache = VerdictCache::new(config.cache_capacity, config.cache_ttl);
        HttpJudge {
            config,
            agent,
            cache,
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &JudgeConfig {
        &self.config
    }

    /// The answer cache.
    pub fn cache(&self) -> &VerdictCache {
        &self.cache
    }

    fn key(&self, request: &LlmRequest<'_>) -> CacheKey {
        let c = &self.config;
        let t = wire::wire_temperature(c.provider, request.temperature);
        let effort = if c.provider == Provider::Groq {
            c.reasoning_effort.as_str()
        } else {
            ""
        };
        cache_key(&[
            request.instruction.as_bytes(),
            request.text.as_bytes(),
            c.provider.name().as_bytes(),
            c.base_url.as_deref().unwrap_or("").as_bytes(),
            c.model.as_bytes(),
            effort.as_bytes(),
            &t.to_bits().to_le_bytes(),
        ])
    }

    fn scrub(&self, text: &str) -> String {
        let text: String = text.chars().take(QUOTED_BODY).collect();
        match &self.config.api_key {
            Some(k) => k.scrub(&text),
            None => text,
        }
    }

    /// One attempt: the reply body of a 200, or what went wrong.
    fn attempt(&self, req: &wire::WireRequest, timeout: Duration) -> Attempt {
        let mut r = self.agent.post(&req.url).timeout(timeout);
        for (name, value) in &req.headers {
            r = r.set(name, value);
        }
        match r.send_string(&req.body.to_string()) {
            Ok(resp) => match resp.into_string() {
                Ok(body) => Attempt::Body(body),
                Err(e) if is_timeout_io(&e) => Attempt::Fail(LlmError::Timeout(timeout), false),
                Err(e) => Attempt::Fail(LlmError::Connection(self.scrub(&e.to_string())), false),
            },
            Err(ureq::Error::Status(status, resp)) => {
                let retry_after = resp
                    .header("retry-after")
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| Duration::from_secs_f64(s).min(MAX_RETRY_AFTER));
                let body = resp.into_string().unwrap_or_default();
                let retryable = status == 429 || (500..600).contains(&status);
                Attempt::Status(
                    LlmError::Http {
                        status,
                        message: self.scrub(body.trim()),
                    },
                    retryable,
                    retry_after,
                )
            }
            Err(ureq::Error::Transport(t)) => {
                if is_timeout_transport(&t) {
                    Attempt::Fail(LlmError::Timeout(timeout), false)
                } else {
                    let refused = t.kind() == ureq::ErrorKind::ConnectionFailed;
                    Attempt::Fail(LlmError::Connection(self.scrub(&t.to_string())), refused)
                }
            }
        }
    }
}

enum Attempt {
    Body(String),
    /// An error, whether to retry it.
    Fail(LlmError, bool),
    /// An HTTP error status, whether to retry it, the server's `Retry-After`.
    Status(LlmError, bool, Option<Duration>),
}

fn is_timeout_io(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

fn is_timeout_transport(t: &ureq::Transport) -> bool {
    let mut source = std::error::Error::source(t);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if is_timeout_io(io) {
                return true;
            }
        }
        source = s.source();
    }
    t.to_string().contains("timed out")
}

impl LlmJudge for HttpJudge {
    fn judge(&self, request: &LlmRequest<'_>) -> Result<LlmVerdict, LlmError> {
        if request.text.trim().is_empty() {
            return Err(LlmError::EmptyText);
        }
        if let Some(missing) = self.config.missing() {
            return Err(LlmError::NotConfigured(format!(
                "{missing} (needed by --llm {})",
                self.config.provider
            )));
        }
        let Some(url) = self.config.endpoint() else {
            return Err(LlmError::NotConfigured("no endpoint".into()));
        };
        let key = self.key(request);
        if let Some(mut v) = self.cache.get(&key, Instant::now()) {
            v.cached = true;
            return Ok(v);
        }
        // Join a request for the same question under way, or lead one.
        let (flight, leader) = {
            let Ok(mut map) = self.in_flight.lock() else {
                return self.ask(request, url, &key);
            };
            match map.get(&key) {
                Some(f) => (Arc::clone(f), false),
                None => {
                    let f = Arc::new(Flight::default());
                    map.insert(key, Arc::clone(&f));
                    (f, true)
                }
            }
        };
        if !leader {
            return wait_for(&flight, request.deadline);
        }
        let mut landing = Landing {
            judge: self,
            key,
            flight,
            outcome: None,
        };
        let outcome = self.ask(request, url, &key);
        landing.outcome = Some(outcome.clone());
        drop(landing);
        outcome
    }
}

/// The outcome of another caller's flight (as a cache hit), by the deadline.
fn wait_for(flight: &Flight, deadline: Option<Instant>) -> Result<LlmVerdict, LlmError> {
    let Ok(mut slot) = flight.outcome.lock() else {
        return Err(LlmError::Other("the LLM call was abandoned".into()));
    };
    loop {
        if let Some(outcome) = slot.as_ref() {
            return outcome.clone().map(|mut v| {
                v.cached = true;
                v
            });
        }
        slot = match deadline {
            None => match flight.done.wait(slot) {
                Ok(s) => s,
                Err(_) => return Err(LlmError::Other("the LLM call was abandoned".into())),
            },
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(LlmError::DeadlineExceeded);
                }
                match flight.done.wait_timeout(slot, left) {
                    Ok((s, _)) => s,
                    Err(_) => return Err(LlmError::Other("the LLM call was abandoned".into())),
                }
            }
        };
    }
}

impl HttpJudge {
    /// Asks the model (no cache lookup), caching a success.
    fn ask(
        &self,
        request: &LlmRequest<'_>,
        url: String,
        key: &CacheKey,
    ) -> Result<LlmVerdict, LlmError> {
        let wire = wire::build(
            &self.config,
            url,
            request.instruction,
            request.text,
            request.temperature,
        );
        let mut attempt = 0u32;
        let body = loop {
            let timeout = match request.remaining() {
                Some(left) if left.is_zero() => return Err(LlmError::DeadlineExceeded),
                Some(left) => left.min(self.config.timeout),
                None => self.config.timeout,
            };
            let (error, retryable, retry_after) = match self.attempt(&wire, timeout) {
                Attempt::Body(body) => break body,
                Attempt::Fail(e, retry) => (e, retry, None),
                Attempt::Status(e, retry, after) => (e, retry, after),
            };
            if !retryable || attempt >= self.config.retries {
                return Err(error);
            }
            let wait = retry_after
                .unwrap_or_else(|| self.config.backoff.saturating_mul(1u32 << attempt.min(16)));
            if request.remaining().is_some_and(|left| left <= wait) {
                return Err(error);
            }
            std::thread::sleep(wait);
            attempt += 1;
        };
        let reply = wire::reply_text(self.config.provider, &body)?;
        let parsed = parse_verdict(&reply)?;
        let verdict = LlmVerdict {
            matched: parsed.matched,
            confidence: parsed.confidence,
            reason: parsed.reason,
            model: self.config.model.clone(),
            cached: false,
        };
        self.cache.put(*key, verdict.clone(), Instant::now());
        Ok(verdict)
    }
}
