//! Python objects as novac's semantic and LLM stages.
//!
//! The scan runs without the GIL; each call into a plug-in takes the GIL for
//! the duration of the call. Anything the plug-in raises (or returns in an
//! error shape) becomes an `Err(String)`, which the core turns into a
//! fail-closed warning on the rule: a plug-in never crashes a scan.

use novac::{EmbedError, Embedder, LlmError, LlmJudge, LlmRequest, LlmVerdict, SemanticEvaluator};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The text of a Python exception (`str(e)`, or its type name when empty).
pub fn error_text(py: Python<'_>, err: &PyErr) -> String {
    let value = err.value(py);
    let text = value.str().map(|s| s.to_string()).unwrap_or_default();
    if text.is_empty() {
        err.get_type(py)
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "error".to_string())
    } else {
        text
    }
}

/// An `f32` written in the rules (a threshold, a temperature) as the `f64`
/// of its shortest decimal form, so that `0.3` arrives as `0.3`, not `0.30000001`.
pub fn decimal_f64(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SemanticMode {
    /// `similarities(prompt, phrases) -> list[float]`.
    Similarities,
    /// `encode(texts) -> list[list[float]]` (novac computes the cosine).
    Encode,
    /// nova-hunting's `evaluate(pattern, text) -> (bool, float)` (+ `last_error`).
    Evaluate,
}

impl SemanticMode {
    fn name(self) -> &'static str {
        match self {
            SemanticMode::Similarities => "similarities",
            SemanticMode::Encode => "encode",
            SemanticMode::Evaluate => "evaluate",
        }
    }
}

/// A Python object used as the semantic stage.
///
/// Accepts (in this order of preference) an object with
/// `similarities(prompt, phrases) -> list[float]`, an embedding model with
/// `encode(texts) -> list[list[float]]` (e.g. a sentence-transformers model;
/// phrase embeddings are cached), or a nova-hunting semantic evaluator with
/// `evaluate(pattern, text) -> (bool, float)` and an optional `last_error`.
/// Wrap an evaluator once and pass the plug-in to every scan to keep the cache.
#[pyclass(frozen, module = "novac", name = "SemanticPlugin")]
pub struct SemanticPlugin {
    obj: Py<PyAny>,
    mode: SemanticMode,
    cache: Mutex<HashMap<String, Arc<Vec<f32>>>>,
}

#[pymethods]
impl SemanticPlugin {
    #[new]
    #[pyo3(signature = (evaluator, mode=None))]
    fn new(evaluator: &Bound<'_, PyAny>, mode: Option<&str>) -> PyResult<SemanticPlugin> {
        let mode = match mode {
            Some("similarities") => SemanticMode::Similarities,
            Some("encode") => SemanticMode::Encode,
            Some("evaluate") => SemanticMode::Evaluate,
            Some(other) => {
                return Err(PyTypeError::new_err(format!(
                    "unknown semantic plug-in mode {other:?} (expected 'similarities', 'encode' or 'evaluate')"
                )))
            }
            None => {
                if evaluator.hasattr("similarities")? {
                    SemanticMode::Similarities
                } else if evaluator.hasattr("encode")? {
                    SemanticMode::Encode
                } else if evaluator.hasattr("evaluate")? {
                    SemanticMode::Evaluate
                } else {
                    return Err(PyTypeError::new_err(format!(
                        "semantic_evaluator must have an `encode(texts)`, `evaluate(pattern, text)` or \
                         `similarities(prompt, phrases)` method; got {}",
                        evaluator.get_type().name()?
                    )));
                }
            }
        };
        Ok(SemanticPlugin {
            obj: evaluator.clone().unbind(),
            mode,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The wrapped evaluator.
    #[getter]
    fn evaluator(&self, py: Python<'_>) -> Py<PyAny> {
        self.obj.clone_ref(py)
    }

    /// `"similarities"`, `"encode"` or `"evaluate"`.
    #[getter]
    fn mode(&self) -> &'static str {
        self.mode.name()
    }

    /// Forgets the cached phrase embeddings.
    fn clear_cache(&self) {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let inner = self
            .obj
            .bind(py)
            .repr()
            .map(|r| r.to_string())
            .unwrap_or_default();
        format!("SemanticPlugin({inner}, mode={:?})", self.mode.name())
    }
}

/// The `SemanticPattern` class handed to `evaluate(pattern, text)`.
fn semantic_pattern_class(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static CLASS: GILOnceCell<Py<PyAny>> = GILOnceCell::new();
    CLASS
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(
                py.import("novac.compat")?
                    .getattr("SemanticPattern")?
                    .unbind(),
            )
        })
        .map(|c| c.bind(py))
}

/// Turns a returned array-like (list, tuple, numpy array, tensor) into a list.
fn as_list<'py>(value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        return Ok(value);
    }
    let value = if value.hasattr("detach")? && value.hasattr("cpu")? {
        value.call_method0("detach")?.call_method0("cpu")?
    } else {
        value
    };
    if value.hasattr("tolist")? {
        value.call_method0("tolist")
    } else {
        Ok(value)
    }
}

/// Python's `not text.strip()`: only white space (including U+001C..U+001F).
fn is_blank(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if a.len() != b.len() || na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())) as f32
}

impl SemanticPlugin {
    fn similarities_py(
        &self,
        py: Python<'_>,
        prompt: &str,
        phrases: &[&str],
        thresholds: &HashMap<String, f32>,
    ) -> PyResult<Result<Vec<f32>, String>> {
        let obj = self.obj.bind(py);
        match self.mode {
            SemanticMode::Similarities => {
                let out = obj.call_method1("similarities", (prompt, phrases.to_vec()))?;
                let scores: Vec<f32> = as_list(out)?.extract()?;
                Ok(Ok(scores))
            }
            SemanticMode::Encode => {
                if is_blank(prompt) {
                    // Like the reference: a blank prompt is not embedded and scores 0.
                    return Ok(Ok(vec![0.0; phrases.len()]));
                }
                let mut known: Vec<Option<Arc<Vec<f32>>>> = {
                    let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                    phrases.iter().map(|p| cache.get(*p).cloned()).collect()
                };
                let mut texts: Vec<&str> = vec![prompt];
                let missing: Vec<usize> =
                    (0..phrases.len()).filter(|i| known[*i].is_none()).collect();
                texts.extend(missing.iter().map(|i| phrases[*i]));
                let out = obj.call_method1("encode", (texts.clone(),))?;
                let vectors: Vec<Vec<f32>> = as_list(out)?.extract()?;
                if vectors.len() != texts.len() {
                    return Ok(Err(format!(
                        "encode() returned {} embeddings for {} texts",
                        vectors.len(),
                        texts.len()
                    )));
                }
                let mut vectors = vectors.into_iter();
                let prompt_vec = vectors.next().unwrap_or_default();
                let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                for (i, v) in missing.iter().zip(vectors) {
                    let v = Arc::new(v);
                    cache.insert(phrases[*i].to_string(), v.clone());
                    known[*i] = Some(v);
                }
                drop(cache);
                Ok(Ok(known
                    .iter()
                    .map(|v| v.as_ref().map_or(0.0, |v| cosine(&prompt_vec, v)))
                    .collect()))
            }
            SemanticMode::Evaluate => {
                let class = semantic_pattern_class(py)?;
                let mut scores = Vec::with_capacity(phrases.len());
                for phrase in phrases {
                    let threshold = thresholds.get(*phrase).copied().unwrap_or(0.1);
                    let pattern = class.call1((*phrase, decimal_f64(threshold)))?;
                    let out = obj.call_method1("evaluate", (pattern, prompt))?;
                    if let Ok(last_error) = obj.getattr("last_error") {
                        if last_error.is_truthy()? {
                            return Ok(Err(last_error.str()?.to_string()));
                        }
                    }
                    let score = match out.downcast::<PyTuple>() {
                        Ok(t) if t.len() >= 2 => t.get_item(1)?,
                        _ => out.get_item(1)?,
                    };
                    let score: f64 = if score.is_none() {
                        0.0
                    } else {
                        score.extract()?
                    };
                    scores.push(score as f32);
                }
                Ok(Ok(scores))
            }
        }
    }
}

/// A [`SemanticPlugin`] seen by the core, with the thresholds of the rule set
/// (nova-hunting evaluators receive a `SemanticPattern(pattern, threshold)`).
pub struct SemanticBridge<'a> {
    pub plugin: &'a SemanticPlugin,
    pub thresholds: &'a HashMap<String, f32>,
}

impl SemanticEvaluator for SemanticBridge<'_> {
    fn similarities(&self, prompt: &str, phrases: &[&str]) -> Result<Vec<f32>, EmbedError> {
        Python::with_gil(|py| {
            match self
                .plugin
                .similarities_py(py, prompt, phrases, self.thresholds)
            {
                Ok(r) => r.map_err(EmbedError::Failed),
                Err(e) => Err(EmbedError::Failed(error_text(py, &e))),
            }
        })
    }
}

/// An `encode(texts)` plug-in is also a [`novac::Embedder`] (vectors are
/// L2-normalised by the core), so Rust hosts can hand a Python model to
/// `Compiler::embedder` or `Scanner::embedder`. Other modes cannot embed.
impl Embedder for SemanticPlugin {
    fn model_id(&self) -> String {
        Python::with_gil(|py| {
            let obj = self.obj.bind(py);
            let name = obj
                .getattr("model_id")
                .or_else(|_| obj.getattr("model_name"))
                .and_then(|n| n.str().map(|s| s.to_string()))
                .unwrap_or_else(|_| {
                    obj.get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                });
            format!("python:{name}")
        })
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if self.mode != SemanticMode::Encode {
            return Err(EmbedError::Unsupported(format!(
                "a semantic plug-in in {:?} mode cannot embed texts; it needs `encode(texts)`",
                self.mode.name()
            )));
        }
        Python::with_gil(|py| {
            let run = || -> PyResult<Vec<Vec<f32>>> {
                let out = self
                    .obj
                    .bind(py)
                    .call_method1("encode", (texts.to_vec(),))?;
                as_list(out)?.extract()
            };
            run().map_err(|e| EmbedError::Failed(error_text(py, &e)))
        })
    }
}

/// A Python object used as the LLM stage: anything with nova-hunting's
/// `evaluate_prompt(prompt_template, text, temperature=...) -> (matched, confidence, details)`.
/// A `details` dict with a truthy `"error"` (or an exception) fails the rule closed.
#[pyclass(frozen, module = "novac", name = "LlmPlugin")]
pub struct LlmPlugin {
    obj: Py<PyAny>,
}

#[pymethods]
impl LlmPlugin {
    #[new]
    fn new(evaluator: &Bound<'_, PyAny>) -> PyResult<LlmPlugin> {
        if !evaluator.hasattr("evaluate_prompt")? {
            return Err(PyTypeError::new_err(format!(
                "llm_evaluator must have an `evaluate_prompt(prompt_template, text, temperature)` method; got {}",
                evaluator.get_type().name()?
            )));
        }
        Ok(LlmPlugin {
            obj: evaluator.clone().unbind(),
        })
    }

    /// The wrapped evaluator.
    #[getter]
    fn evaluator(&self, py: Python<'_>) -> Py<PyAny> {
        self.obj.clone_ref(py)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let inner = self
            .obj
            .bind(py)
            .repr()
            .map(|r| r.to_string())
            .unwrap_or_default();
        format!("LlmPlugin({inner})")
    }
}

impl LlmPlugin {
    fn judge_py(
        &self,
        py: Python<'_>,
        instruction: &str,
        prompt: &str,
        temperature: f32,
    ) -> PyResult<Result<LlmVerdict, String>> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("temperature", decimal_f64(temperature))?;
        let out = self.obj.bind(py).call_method(
            "evaluate_prompt",
            (instruction, prompt),
            Some(&kwargs),
        )?;
        let matched = out.get_item(0)?.is_truthy()?;
        let confidence = out.get_item(1)?;
        let confidence: f64 = if confidence.is_none() {
            0.0
        } else {
            confidence.extract().unwrap_or(0.0)
        };
        let details = out.get_item(2).ok();
        let mut reason = String::new();
        let mut model = String::new();
        let mut cached = false;
        if let Some(details) = details {
            if let Ok(d) = details.downcast::<PyDict>() {
                if let Some(error) = d.get_item("error")? {
                    if error.is_truthy()? {
                        return Ok(Err(error.str()?.to_string()));
                    }
                }
                if let Some(r) = d.get_item("reason")? {
                    reason = match r.downcast::<PyString>() {
                        Ok(s) => s.to_string(),
                        Err(_) => r.str()?.to_string(),
                    };
                }
                if let Some(m) = d.get_item("model")? {
                    if !m.is_none() {
                        model = m.str()?.to_string();
                    }
                }
                if let Some(c) = d.get_item("cache_hit")? {
                    cached = c.is_truthy()?;
                }
            }
        }
        Ok(Ok(LlmVerdict {
            matched,
            confidence: confidence as f32,
            reason,
            model,
            cached,
        }))
    }
}

impl LlmJudge for LlmPlugin {
    fn judge(&self, request: &LlmRequest<'_>) -> Result<LlmVerdict, LlmError> {
        Python::with_gil(|py| {
            match self.judge_py(py, request.instruction, request.text, request.temperature) {
                Ok(r) => r.map_err(LlmError::Other),
                Err(e) => Err(LlmError::Other(error_text(py, &e))),
            }
        })
    }
}

/// A plug-in argument: a ready plug-in, or an object to wrap.
pub fn semantic_plugin(
    py: Python<'_>,
    arg: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Py<SemanticPlugin>>> {
    match arg {
        None => Ok(None),
        Some(a) if a.is_none() => Ok(None),
        Some(a) => match a.downcast::<SemanticPlugin>() {
            Ok(p) => Ok(Some(p.clone().unbind())),
            Err(_) => Ok(Some(Py::new(py, SemanticPlugin::new(a, None)?)?)),
        },
    }
}

/// A plug-in argument: a ready plug-in, or an object to wrap.
pub fn llm_plugin(
    py: Python<'_>,
    arg: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Py<LlmPlugin>>> {
    match arg {
        None => Ok(None),
        Some(a) if a.is_none() => Ok(None),
        Some(a) => match a.downcast::<LlmPlugin>() {
            Ok(p) => Ok(Some(p.clone().unbind())),
            Err(_) => Ok(Some(Py::new(py, LlmPlugin::new(a)?)?)),
        },
    }
}
