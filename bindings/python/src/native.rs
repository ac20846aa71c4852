//! The native semantic and LLM stages as Python objects, and the typed
//! exceptions they raise.
//!
//! * [`PyEmbedder`] (`novac.Embedder`): the candle all-MiniLM-L6-v2 of
//!   `novac-embed`, loaded once per directory and process ([`load_model`]
//!   keeps an `Arc` per path, ~90 MB each) and shared by every `Rules` that
//!   uses it. `encode` runs without the GIL (~2-150 ms per text by length).
//! * [`PyJudge`] (`novac.Judge`): an `HttpJudge` of `novac-llm` (six
//!   providers, the reference's environment variables, cache, retries,
//!   deadline) plus the scanner's failure policy. Calls run without the GIL.
//! * [`SemanticArg`] / [`LlmArg`]: what a scan was given, native or a Python
//!   plug-in; native stages never take the GIL during a scan.
//!
//! Exceptions: `novac.NovacError` is the base of `ModelError` (missing or
//! bad model directory), `LlmError` (an LLM call failed under
//! `on_error="error"`), `UnknownProviderError` and `MissingKeyError` (a
//! subclass of `LlmError`). Nothing here panics on any input.

use crate::plugins::{decimal_f64, LlmPlugin, SemanticPlugin};
use novac::{Embedder, LlmFailurePolicy, LlmJudge, LlmOptions, LlmRequest};
use novac_embed::{BertEmbedder, LoadError, Options};
use novac_llm::{HttpJudge, JudgeConfig, Provider};
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pyo3::create_exception!(
    novac,
    NovacError,
    PyException,
    "The base of novac's own errors about models and LLM judges."
);
pyo3::create_exception!(
    novac,
    ModelError,
    NovacError,
    "The embedding model directory is missing or is not a usable all-MiniLM-L6-v2."
);
pyo3::create_exception!(
    novac,
    LlmError,
    NovacError,
    "An LLM judge could not answer and the failure policy is `on_error=\"error\"`."
);
pyo3::create_exception!(
    novac,
    MissingKeyError,
    LlmError,
    "An LLM judge lacks its API key or endpoint (the message names the variable to set)."
);
pyo3::create_exception!(
    novac,
    UnknownProviderError,
    NovacError,
    "An LLM provider name that is not openai, azure, anthropic, ollama, groq or openrouter."
);

/// Models loaded in this process, by directory, windowing and input length.
type Models = Mutex<HashMap<(PathBuf, bool, Option<usize>), Arc<BertEmbedder>>>;

fn models() -> &'static Models {
    static MODELS: OnceLock<Models> = OnceLock::new();
    MODELS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Loads the model in `dir` once per process (no GIL needed).
pub fn load_model(dir: &Path, windowed: bool) -> Result<Arc<BertEmbedder>, LoadError> {
    load_model_with(dir, windowed, None)
}

/// [`load_model`] with an input length other than the model's own (`max_tokens`).
fn load_model_with(
    dir: &Path,
    windowed: bool,
    max_tokens: Option<usize>,
) -> Result<Arc<BertEmbedder>, LoadError> {
    let key = (
        dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()),
        windowed,
        max_tokens,
    );
    if let Some(m) = models().lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(Arc::clone(m));
    }
    let options = Options {
        windowed,
        max_tokens,
        ..Options::default()
    };
    let model = Arc::new(BertEmbedder::load_with(dir, options)?);
    models()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, Arc::clone(&model));
    Ok(model)
}

/// A load failure as `novac.ModelError`.
pub fn model_error(e: &LoadError) -> PyErr {
    ModelError::new_err(format!("cannot load the embedding model: {e}"))
}

/// The native sentence encoder (all-MiniLM-L6-v2 on candle), loaded from a
/// local directory. Pass it to `novac.compile(embedder=...)` or as a scan's
/// `semantic_evaluator`; `encode(texts)` also serves Python code.
#[pyclass(frozen, module = "novac", name = "Embedder")]
pub struct PyEmbedder {
    pub model: Arc<BertEmbedder>,
}

#[pymethods]
impl PyEmbedder {
    /// Loads the model in `model_dir` (raises `ModelError` saying what is
    /// missing). `windowed`: embed long prompts as overlapping windows.
    /// `max_tokens`: input length in word pieces (default: the model's
    /// `max_seq_length`, 256; at most its 512 positions).
    #[new]
    #[pyo3(signature = (model_dir, *, windowed=false, max_tokens=None))]
    fn new(
        py: Python<'_>,
        model_dir: PathBuf,
        windowed: bool,
        max_tokens: Option<usize>,
    ) -> PyResult<PyEmbedder> {
        let model = py
            .allow_threads(|| crate::guarded(|| load_model_with(&model_dir, windowed, max_tokens)))?
            .map_err(|e| model_error(&e))?;
        Ok(PyEmbedder { model })
    }

    /// Embeds texts (L2-normalised vectors, one per text). Runs without the GIL.
    fn encode(&self, py: Python<'_>, texts: Vec<String>) -> PyResult<Vec<Vec<f32>>> {
        let model = Arc::clone(&self.model);
        py.allow_threads(move || {
            crate::guarded(move || {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                model.embed(&refs)
            })
        })?
        .map_err(|e| ModelError::new_err(e.to_string()))
    }

    /// Model name, weights digest, dimension, input length and pooling.
    #[getter]
    fn model_id(&self) -> String {
        self.model.model_id()
    }

    /// The directory the model was loaded from.
    #[getter]
    fn model_dir(&self) -> PathBuf {
        self.model.model_dir().to_path_buf()
    }

    /// The embedding dimension (384).
    #[getter]
    fn dim(&self) -> usize {
        self.model.dim()
    }

    fn __repr__(&self) -> String {
        format!(
            "novac.Embedder({:?})",
            self.model.model_dir().display().to_string()
        )
    }
}

fn parse_policy(on_error: &str) -> PyResult<LlmFailurePolicy> {
    match on_error.replace('-', "_").as_str() {
        "not_matched" => Ok(LlmFailurePolicy::NotMatched),
        "matched" => Ok(LlmFailurePolicy::Matched),
        "error" => Ok(LlmFailurePolicy::Error),
        other => Err(PyValueError::new_err(format!(
            "on_error must be 'not_matched', 'matched' or 'error', not {other:?}"
        ))),
    }
}

fn seconds(value: f64, what: &str) -> PyResult<Duration> {
    if value.is_finite() && value > 0.0 && value < 1e9 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(PyValueError::new_err(format!(
            "{what} must be a positive number of seconds, not {value}"
        )))
    }
}

/// An LLM judge for `llm:` patterns: one of the six native providers
/// (`openai`, `azure`, `anthropic`, `ollama`, `groq`, `openrouter`),
/// configured from the reference's environment variables unless given here.
/// Thread-safe; calls run without the GIL; answers are cached.
#[pyclass(frozen, module = "novac", name = "Judge")]
pub struct PyJudge {
    judge: HttpJudge,
    options: LlmOptions,
    on_error: &'static str,
    missing: Option<String>,
}

#[pymethods]
impl PyJudge {
    /// `provider`: default `$NOVA_LLM_PROVIDER`, else `openai`.
    /// `timeout`: seconds per call (default: the provider's, 10-60 s);
    /// `retries` after a 429, 5xx or refused connection; `cache`: answers kept
    /// (0: none) for `cache_ttl` seconds; `deadline`: seconds for the LLM
    /// stage of one scan (`None`: none); `on_error`: `"not_matched"` (the
    /// reference's, with a warning), `"matched"` or `"error"` (the scan
    /// raises `LlmError`, and a missing key raises `MissingKeyError` here).
    #[new]
    #[pyo3(signature = (provider=None, model=None, base_url=None, *, api_key=None, timeout=None, retries=3, cache=1000, cache_ttl=300.0, deadline=Some(120.0), concurrency=novac::llm::DEFAULT_CONCURRENCY, on_error="not_matched"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        provider: Option<&str>,
        model: Option<&str>,
        base_url: Option<String>,
        api_key: Option<String>,
        timeout: Option<f64>,
        retries: u32,
        cache: usize,
        cache_ttl: f64,
        deadline: Option<f64>,
        concurrency: usize,
        on_error: &str,
    ) -> PyResult<PyJudge> {
        let policy = parse_policy(on_error)?;
        let name = provider.map(str::to_string).unwrap_or_else(|| {
            std::env::var("NOVA_LLM_PROVIDER")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "openai".to_string())
        });
        let provider: Provider = name.parse().map_err(|e: novac_llm::UnknownProvider| {
            UnknownProviderError::new_err(e.to_string())
        })?;
        let mut config = JudgeConfig::from_env(provider, model);
        if let Some(url) = base_url {
            config.base_url = Some(url);
        }
        if let Some(key) = api_key.filter(|k| !k.is_empty()) {
            config.api_key = Some(novac_llm::Secret::new(key));
        }
        if let Some(t) = timeout {
            config.timeout = seconds(t, "timeout")?;
        }
        config.retries = retries;
        config.cache_capacity = cache;
        config.cache_ttl = seconds(cache_ttl, "cache_ttl")?;
        let deadline = deadline.map(|d| seconds(d, "deadline")).transpose()?;
        let missing = config.missing();
        if let (Some(m), LlmFailurePolicy::Error) = (&missing, policy) {
            return Err(MissingKeyError::new_err(format!(
                "LLM judge {}: {m}",
                config.describe()
            )));
        }
        Ok(PyJudge {
            judge: HttpJudge::new(config),
            options: LlmOptions {
                on_error: policy,
                concurrency: concurrency.max(1),
                deadline,
            },
            on_error: match policy {
                LlmFailurePolicy::Matched => "matched",
                LlmFailurePolicy::Error => "error",
                _ => "not_matched",
            },
            missing,
        })
    }

    /// The provider's name (`openai`, ...).
    #[getter]
    fn provider(&self) -> &'static str {
        self.judge.config().provider.name()
    }

    /// The model (Azure: the deployment).
    #[getter]
    fn model(&self) -> String {
        self.judge.config().model.clone()
    }

    /// The failure policy.
    #[getter]
    fn on_error(&self) -> &'static str {
        self.on_error
    }

    /// What the judge lacks (`"OPENAI_API_KEY is not set"`), or `None`.
    #[getter]
    fn missing(&self) -> Option<String> {
        self.missing.clone()
    }

    /// Answers in the cache.
    #[getter]
    fn cached(&self) -> usize {
        self.judge.cache().len()
    }

    /// nova-hunting's evaluator interface: `(matched, confidence, details)`;
    /// a failure gives `(False, 0.0, {"error": ...})`. Runs without the GIL.
    #[pyo3(signature = (prompt_template, text, temperature=0.1))]
    fn evaluate_prompt<'py>(
        &self,
        py: Python<'py>,
        prompt_template: String,
        text: String,
        temperature: f64,
    ) -> PyResult<(bool, f64, Bound<'py, PyDict>)> {
        let request = LlmRequest {
            instruction: &prompt_template,
            text: &text,
            temperature: temperature as f32,
            deadline: self.options.deadline.map(|d| std::time::Instant::now() + d),
        };
        let outcome = py.allow_threads(|| crate::guarded(|| self.judge.judge(&request)))?;
        let details = PyDict::new(py);
        details.set_item("evaluator_type", self.provider())?;
        details.set_item("temperature", temperature)?;
        match outcome {
            Ok(v) => {
                details.set_item("matched", v.matched)?;
                details.set_item("confidence", decimal_f64(v.confidence))?;
                details.set_item("reason", &v.reason)?;
                details.set_item("model", &v.model)?;
                details.set_item("cache_hit", v.cached)?;
                details.set_item("api_status", "success")?;
                Ok((v.matched, decimal_f64(v.confidence), details))
            }
            Err(e) => {
                details.set_item("error", e.to_string())?;
                Ok((false, 0.0, details))
            }
        }
    }

    /// `(matched, confidence)` of `evaluate_prompt`.
    #[pyo3(signature = (pattern, text, temperature=0.1))]
    fn evaluate(
        &self,
        py: Python<'_>,
        pattern: String,
        text: String,
        temperature: f64,
    ) -> PyResult<(bool, f64)> {
        let (m, c, _) = self.evaluate_prompt(py, pattern, text, temperature)?;
        Ok((m, c))
    }

    /// Forgets the cached answers.
    fn clear_cache(&self) {
        self.judge.cache().clear();
    }

    fn __repr__(&self) -> String {
        format!(
            "novac.Judge({:?}, model={:?}, on_error={:?})",
            self.provider(),
            self.judge.config().model,
            self.on_error
        )
    }
}

/// The semantic stage a scan was given.
pub enum SemanticArg {
    /// The native encoder: no GIL during the scan.
    Native(Py<PyEmbedder>),
    /// A Python object.
    Plugin(Py<SemanticPlugin>),
}

/// The LLM stage a scan was given.
pub enum LlmArg {
    /// A native judge: no GIL during the scan.
    Native(Py<PyJudge>),
    /// A Python object.
    Plugin(Py<LlmPlugin>),
}

impl LlmArg {
    /// The judge seen by the scanner.
    pub fn judge(&self) -> &dyn LlmJudge {
        match self {
            LlmArg::Native(j) => &j.get().judge,
            LlmArg::Plugin(p) => p.get(),
        }
    }

    /// The scanner's LLM options (a plug-in gets the defaults).
    pub fn options(&self) -> LlmOptions {
        match self {
            LlmArg::Native(j) => j.get().options.clone(),
            LlmArg::Plugin(_) => LlmOptions::default(),
        }
    }
}

/// A `semantic_evaluator` argument: a `novac.Embedder`, a `SemanticPlugin`,
/// or an object to wrap in one.
pub fn semantic_arg(
    py: Python<'_>,
    arg: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<SemanticArg>> {
    let Some(a) = arg.filter(|a| !a.is_none()) else {
        return Ok(None);
    };
    if let Ok(e) = a.downcast::<PyEmbedder>() {
        return Ok(Some(SemanticArg::Native(e.clone().unbind())));
    }
    Ok(crate::plugins::semantic_plugin(py, Some(a))?.map(SemanticArg::Plugin))
}

/// The `judge` / `llm_evaluator` arguments (`judge` first): a `novac.Judge`,
/// an `LlmPlugin`, or an object with `evaluate_prompt` to wrap in one.
pub fn llm_arg(
    py: Python<'_>,
    judge: Option<&Bound<'_, PyAny>>,
    llm_evaluator: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<LlmArg>> {
    let Some(a) = judge
        .filter(|a| !a.is_none())
        .or(llm_evaluator.filter(|a| !a.is_none()))
    else {
        return Ok(None);
    };
    if let Ok(j) = a.downcast::<PyJudge>() {
        return Ok(Some(LlmArg::Native(j.clone().unbind())));
    }
    Ok(crate::plugins::llm_plugin(py, Some(a))?.map(LlmArg::Plugin))
}

/// Registers the classes and exceptions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("NovacError", py.get_type::<NovacError>())?;
    m.add("ModelError", py.get_type::<ModelError>())?;
    m.add("LlmError", py.get_type::<LlmError>())?;
    m.add("MissingKeyError", py.get_type::<MissingKeyError>())?;
    m.add(
        "UnknownProviderError",
        py.get_type::<UnknownProviderError>(),
    )?;
    m.add_class::<PyEmbedder>()?;
    m.add_class::<PyJudge>()?;
    Ok(())
}
