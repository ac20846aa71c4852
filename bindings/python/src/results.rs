//! `novac.ScanResult` and `novac.RuleResult`: what a scan returns. A
//! `RuleResult` wraps the engine's `novac::RuleResult` (moved, not copied
//! field by field); Python objects are built only when a getter is called.

use novac::decode::Encoding;
use novac::{KeywordMatch, LlmResult, LlmVerdict, SemanticScore, VariableValue};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::sync::Arc;

/// Meta entries of one rule, in file order (shared by all its results).
pub type Meta = Arc<Vec<(String, String)>>;

/// An LLM verdict: (var, matched, confidence, reason).
pub type LlmEntry = (String, bool, f32, String);

/// One rule's result: the engine's own `RuleResult` (wrapped, not copied
/// field by field) with its keyword offsets turned into characters of the
/// scanned text, and the rule's meta entries.
#[derive(Clone, Debug)]
pub struct RuleData {
    pub result: novac::RuleResult,
    pub meta: Meta,
}

impl RuleData {
    /// Wraps `result`, mapping its keyword byte offsets with `to_char`.
    pub fn new(
        mut result: novac::RuleResult,
        meta: Meta,
        to_char: impl Fn(usize) -> usize,
    ) -> Self {
        for k in &mut result.keywords {
            k.start = to_char(k.start);
            k.end = to_char(k.end);
        }
        RuleData { result, meta }
    }
}

/// The outcome of one rule on one prompt.
#[pyclass(frozen, module = "novac", name = "RuleResult")]
pub struct PyRuleResult {
    pub data: RuleData,
}

fn meta_dict<'py>(py: Python<'py>, meta: &[(String, String)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in meta {
        d.set_item(k, v)?;
    }
    Ok(d)
}

#[pymethods]
impl PyRuleResult {
    /// The rule name.
    #[getter]
    fn rule(&self) -> &str {
        self.data.result.rule.as_str()
    }

    /// Index of the rule in its `Rules`.
    #[getter]
    fn index(&self) -> usize {
        self.data.result.index
    }

    /// Whether the rule matched.
    #[getter]
    fn matched(&self) -> bool {
        self.data.result.matched
    }

    /// Matching keyword variables as `(var, start, end)`; offsets are Python
    /// string indices into the scanned text (the normalised text with `normalize=True`).
    #[getter]
    fn keywords<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(
            py,
            self.data
                .result
                .keywords
                .iter()
                .map(|k| (k.var.as_str(), k.start, k.end)),
        )
    }

    /// With `decode=True`: `{var: encoding}` of the keywords that matched
    /// only in a decoded run (`"base64"`, `"base64url"`, `"base32"`, `"hex"`,
    /// `"percent"`, `"html_entity"`); their `keywords` offsets are the run's.
    #[getter]
    fn decoded<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for k in &self.data.result.keywords {
            if let Some(e) = k.decoded {
                d.set_item(k.var.as_str(), e.name())?;
            }
        }
        Ok(d)
    }

    /// Names of the matching keyword variables.
    #[getter]
    fn matching_keywords(&self) -> Vec<&str> {
        self.data
            .result
            .keywords
            .iter()
            .map(|k| k.var.as_str())
            .collect()
    }

    /// `{var: cosine similarity}` of every semantic variable that was evaluated.
    #[getter]
    fn semantic_scores<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for s in &self.data.result.semantics {
            d.set_item(s.var.as_str(), f64::from(s.score))?;
        }
        Ok(d)
    }

    /// `{var: matched}` of every semantic variable that was evaluated.
    #[getter]
    fn semantic_matches<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for s in &self.data.result.semantics {
            d.set_item(s.var.as_str(), s.matched)?;
        }
        Ok(d)
    }

    /// `{var: {"matched", "confidence", "reason"}}` of every LLM variable that was evaluated.
    #[getter]
    fn llm<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for l in &self.data.result.llm {
            let e = PyDict::new(py);
            e.set_item("matched", l.verdict.matched)?;
            e.set_item("confidence", f64::from(l.verdict.confidence))?;
            e.set_item("reason", &l.verdict.reason)?;
            d.set_item(l.var.as_str(), e)?;
        }
        Ok(d)
    }

    /// Why the rule failed closed, if it did.
    #[getter]
    fn warnings(&self) -> Vec<&str> {
        self.data
            .result
            .warnings
            .iter()
            .map(|w| w.as_str())
            .collect()
    }

    /// The rule's meta entries.
    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        meta_dict(py, &self.data.meta)
    }

    /// With `debug=True`: `{var: True | False | None}` for every variable of
    /// the rule (`None`: not evaluated); otherwise `None`.
    #[getter]
    fn variables<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(vars) = &self.data.result.variables else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        for v in vars {
            d.set_item(v.var.as_str(), v.value)?;
        }
        Ok(Some(d))
    }

    /// With `debug=True`: `{var: section}`; otherwise `None`.
    #[getter]
    fn sections<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(vars) = &self.data.result.variables else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        for v in vars {
            d.set_item(v.var.as_str(), v.section)?;
        }
        Ok(Some(d))
    }

    /// The result as plain Python data.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("rule", self.rule())?;
        d.set_item("index", self.index())?;
        d.set_item("matched", self.matched())?;
        d.set_item("keywords", self.keywords(py)?)?;
        d.set_item("semantic_scores", self.semantic_scores(py)?)?;
        d.set_item("llm", self.llm(py)?)?;
        d.set_item("warnings", self.warnings())?;
        d.set_item("meta", self.meta(py)?)?;
        if self.data.result.variables.is_some() {
            d.set_item("variables", self.variables(py)?)?;
        }
        if self
            .data
            .result
            .keywords
            .iter()
            .any(|k| k.decoded.is_some())
        {
            d.set_item("decoded", self.decoded(py)?)?;
        }
        Ok(d)
    }

    fn __bool__(&self) -> bool {
        self.data.result.matched
    }

    fn __repr__(&self) -> String {
        let r = &self.data.result;
        let mut s = format!(
            "<RuleResult {} matched={}",
            r.rule,
            if r.matched { "True" } else { "False" }
        );
        if !r.keywords.is_empty() {
            let vars: Vec<String> = r.keywords.iter().map(|k| format!("'{}'", k.var)).collect();
            s.push_str(&format!(" keywords=[{}]", vars.join(", ")));
        }
        if !r.warnings.is_empty() {
            s.push_str(&format!(" warnings={}", r.warnings.len()));
        }
        s.push('>');
        s
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let f = py
            .import("novac._novac")?
            .getattr("_rule_result_from_state")?;
        let r = &self.data.result;
        let keywords: Vec<(&str, usize, usize)> = r
            .keywords
            .iter()
            .map(|k| (k.var.as_str(), k.start, k.end))
            .collect();
        let semantics: Vec<(&str, f32, bool)> = r
            .semantics
            .iter()
            .map(|s| (s.var.as_str(), s.score, s.matched))
            .collect();
        let llm: Vec<(&str, bool, f32, &str)> = r
            .llm
            .iter()
            .map(|l| {
                let v = &l.verdict;
                (l.var.as_str(), v.matched, v.confidence, v.reason.as_str())
            })
            .collect();
        let variables: Option<Vec<(&str, &str, Option<bool>)>> = r.variables.as_ref().map(|vs| {
            vs.iter()
                .map(|v| (v.var.as_str(), v.section, v.value))
                .collect()
        });
        let decoded: Vec<(&str, &str)> = r
            .keywords
            .iter()
            .filter_map(|k| Some((k.var.as_str(), k.decoded?.name())))
            .collect();
        let state = (
            r.index,
            r.rule.as_str(),
            r.matched,
            keywords,
            semantics,
            llm,
            self.warnings(),
            variables,
            self.data.meta.as_ref().clone(),
        );
        Ok((
            f,
            PyTuple::new(
                py,
                [
                    state.into_pyobject(py)?.into_any(),
                    decoded.into_pyobject(py)?.into_any(),
                ],
            )?,
        ))
    }
}

type RuleState = (
    usize,
    String,
    bool,
    Vec<(String, usize, usize)>,
    Vec<(String, f32, bool)>,
    Vec<LlmEntry>,
    Vec<String>,
    Option<Vec<(String, String, Option<bool>)>>,
    Vec<(String, String)>,
);

/// The encoding called `name` (see `Encoding::name`).
fn encoding(name: &str) -> Option<Encoding> {
    [
        Encoding::Base64,
        Encoding::Base64Url,
        Encoding::Base32,
        Encoding::Hex,
        Encoding::Percent,
        Encoding::HtmlEntity,
    ]
    .into_iter()
    .find(|e| e.name() == name)
}

/// A debug section name as the engine's static string.
fn section(name: &str) -> &'static str {
    match name {
        "semantics" => "semantics",
        "llm" => "llm",
        _ => "keywords",
    }
}

/// Rebuilds a `RuleResult` (used by pickle; `decoded`: the decoded-view markers).
#[pyfunction]
#[pyo3(signature = (state, decoded=None))]
pub fn _rule_result_from_state(
    state: RuleState,
    decoded: Option<Vec<(String, String)>>,
) -> PyRuleResult {
    let (index, rule, matched, keywords, semantics, llm, warnings, variables, meta) = state;
    let decoded = decoded.unwrap_or_default();
    let result = novac::RuleResult {
        index,
        rule: rule.into(),
        matched,
        keywords: keywords
            .into_iter()
            .map(|(var, start, end)| KeywordMatch {
                decoded: decoded
                    .iter()
                    .find(|(v, _)| *v == var)
                    .and_then(|(_, e)| encoding(e)),
                var: var.into(),
                start,
                end,
            })
            .collect(),
        semantics: semantics
            .into_iter()
            .map(|(var, score, matched)| SemanticScore {
                var: var.into(),
                score,
                matched,
            })
            .collect(),
        llm: llm
            .into_iter()
            .map(|(var, matched, confidence, reason)| LlmResult {
                var: var.into(),
                verdict: LlmVerdict {
                    matched,
                    confidence,
                    reason,
                    ..LlmVerdict::default()
                },
            })
            .collect(),
        warnings: warnings.into_iter().map(Into::into).collect(),
        variables: variables.map(|vs| {
            vs.into_iter()
                .map(|(var, s, value)| VariableValue {
                    var: var.into(),
                    section: section(&s),
                    value,
                })
                .collect()
        }),
    };
    PyRuleResult {
        data: RuleData {
            result,
            meta: Arc::new(meta),
        },
    }
}

/// The outcome of a scan: `bool(result)` is whether any rule matched,
/// iterating yields the matched `RuleResult`s and `len()` counts them;
/// `results` also holds the rules that failed closed (every rule with `debug=True`).
#[pyclass(frozen, module = "novac", name = "ScanResult")]
pub struct PyScanResult {
    pub results: Vec<Py<PyRuleResult>>,
    pub normalized: Option<String>,
}

impl PyScanResult {
    fn matched_list<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyRuleResult>> {
        self.results
            .iter()
            .filter(|r| r.get().data.result.matched)
            .map(|r| r.bind(py).clone())
            .collect()
    }
}

#[pymethods]
impl PyScanResult {
    /// Names of the matched rules, in rule order.
    #[getter]
    fn matched_rules(&self) -> Vec<String> {
        self.results
            .iter()
            .filter(|r| r.get().data.result.matched)
            .map(|r| r.get().data.result.rule.to_string())
            .collect()
    }

    /// Every `RuleResult` reported: matches, fail-closed rules, and with
    /// `debug=True` every rule.
    #[getter]
    fn results<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.results.iter().map(|r| r.bind(py)))
    }

    /// The matched `RuleResult`s.
    #[getter]
    fn matches<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.matched_list(py))
    }

    /// Every warning of every rule (fail-closed reasons).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.results
            .iter()
            .flat_map(|r| r.get().data.result.warnings.iter().map(|w| w.to_string()))
            .collect()
    }

    /// The normalised text that was scanned, with `normalize=True`; else `None`.
    #[getter]
    fn normalized_prompt(&self) -> Option<&str> {
        self.normalized.as_deref()
    }

    /// The result of the rule called `name`, or `None` when it was not reported.
    fn get<'py>(&self, py: Python<'py>, name: &str) -> Option<Bound<'py, PyRuleResult>> {
        self.results
            .iter()
            .find(|r| r.get().data.result.rule == name)
            .map(|r| r.bind(py).clone())
    }

    fn __getitem__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyRuleResult>> {
        self.get(py, name)
            .ok_or_else(|| PyKeyError::new_err(name.to_string()))
    }

    /// Whether the rule called `name` matched.
    fn __contains__(&self, name: &str) -> bool {
        self.results
            .iter()
            .any(|r| r.get().data.result.matched && r.get().data.result.rule == name)
    }

    fn __bool__(&self) -> bool {
        self.results.iter().any(|r| r.get().data.result.matched)
    }

    fn __len__(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.get().data.result.matched)
            .count()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(PyList::new(py, self.matched_list(py))?
            .try_iter()?
            .into_any())
    }

    /// The result as plain Python data.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("matched", self.__bool__())?;
        d.set_item("matched_rules", self.matched_rules())?;
        let list = PyList::empty(py);
        for r in &self.results {
            list.append(r.get().to_dict(py)?)?;
        }
        d.set_item("results", list)?;
        if let Some(n) = &self.normalized {
            d.set_item("normalized_prompt", n)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let names: Vec<String> = self
            .matched_rules()
            .iter()
            .map(|n| format!("'{n}'"))
            .collect();
        format!("<ScanResult matched_rules=[{}]>", names.join(", "))
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let f = py
            .import("novac._novac")?
            .getattr("_scan_result_from_state")?;
        let results = PyList::new(py, self.results.iter().map(|r| r.bind(py)))?;
        Ok((
            f,
            PyTuple::new(
                py,
                [
                    results.into_any(),
                    self.normalized.clone().into_pyobject(py)?.into_any(),
                ],
            )?,
        ))
    }
}

/// Rebuilds a `ScanResult` (used by pickle).
#[pyfunction]
#[pyo3(signature = (results, normalized=None))]
pub fn _scan_result_from_state(
    results: Vec<Py<PyRuleResult>>,
    normalized: Option<String>,
) -> PyScanResult {
    PyScanResult {
        results,
        normalized,
    }
}
