//! `novac.ScanResult` and `novac.RuleResult`: what a scan returns.

use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::sync::Arc;

/// Meta entries of one rule, in file order (shared by all its results).
pub type Meta = Arc<Vec<(String, String)>>;

/// An LLM verdict: (var, matched, confidence, reason).
pub type LlmEntry = (String, bool, f32, String);

/// A rule result as plain data (built without the GIL).
#[derive(Clone, Debug)]
pub struct RuleData {
    pub index: usize,
    pub rule: String,
    pub matched: bool,
    /// (var, start, end) in characters of the scanned text.
    pub keywords: Vec<(String, usize, usize)>,
    /// (var, score, matched).
    pub semantics: Vec<(String, f32, bool)>,
    pub llm: Vec<LlmEntry>,
    pub warnings: Vec<String>,
    /// (var, section, value) with `debug=True`.
    pub variables: Option<Vec<(String, String, Option<bool>)>>,
    pub meta: Meta,
    /// (var, encoding) of the keywords matched only in a decoded view (`decode=True`).
    pub decoded: Vec<(String, String)>,
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
        &self.data.rule
    }

    /// Index of the rule in its `Rules`.
    #[getter]
    fn index(&self) -> usize {
        self.data.index
    }

    /// Whether the rule matched.
    #[getter]
    fn matched(&self) -> bool {
        self.data.matched
    }

    /// Matching keyword variables as `(var, start, end)`; offsets are Python
    /// string indices into the scanned text (the normalised text with `normalize=True`).
    #[getter]
    fn keywords<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(
            py,
            self.data
                .keywords
                .iter()
                .map(|(v, s, e)| (v.as_str(), *s, *e)),
        )
    }

    /// With `decode=True`: `{var: encoding}` of the keywords that matched
    /// only in a decoded run (`"base64"`, `"base64url"`, `"base32"`, `"hex"`,
    /// `"percent"`, `"html_entity"`); their `keywords` offsets are the run's.
    #[getter]
    fn decoded<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (v, e) in &self.data.decoded {
            d.set_item(v, e)?;
        }
        Ok(d)
    }

    /// Names of the matching keyword variables.
    #[getter]
    fn matching_keywords(&self) -> Vec<&str> {
        self.data.keywords.iter().map(|k| k.0.as_str()).collect()
    }

    /// `{var: cosine similarity}` of every semantic variable that was evaluated.
    #[getter]
    fn semantic_scores<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (v, score, _) in &self.data.semantics {
            d.set_item(v, f64::from(*score))?;
        }
        Ok(d)
    }

    /// `{var: matched}` of every semantic variable that was evaluated.
    #[getter]
    fn semantic_matches<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (v, _, m) in &self.data.semantics {
            d.set_item(v, *m)?;
        }
        Ok(d)
    }

    /// `{var: {"matched", "confidence", "reason"}}` of every LLM variable that was evaluated.
    #[getter]
    fn llm<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (v, matched, confidence, reason) in &self.data.llm {
            let e = PyDict::new(py);
            e.set_item("matched", *matched)?;
            e.set_item("confidence", f64::from(*confidence))?;
            e.set_item("reason", reason)?;
            d.set_item(v, e)?;
        }
        Ok(d)
    }

    /// Why the rule failed closed, if it did.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.data.warnings.clone()
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
        let Some(vars) = &self.data.variables else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        for (v, _, value) in vars {
            d.set_item(v, *value)?;
        }
        Ok(Some(d))
    }

    /// With `debug=True`: `{var: section}`; otherwise `None`.
    #[getter]
    fn sections<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(vars) = &self.data.variables else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        for (v, section, _) in vars {
            d.set_item(v, section)?;
        }
        Ok(Some(d))
    }

    /// The result as plain Python data.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("rule", &self.data.rule)?;
        d.set_item("index", self.data.index)?;
        d.set_item("matched", self.data.matched)?;
        d.set_item("keywords", self.keywords(py)?)?;
        d.set_item("semantic_scores", self.semantic_scores(py)?)?;
        d.set_item("llm", self.llm(py)?)?;
        d.set_item("warnings", self.warnings())?;
        d.set_item("meta", self.meta(py)?)?;
        if self.data.variables.is_some() {
            d.set_item("variables", self.variables(py)?)?;
        }
        if !self.data.decoded.is_empty() {
            d.set_item("decoded", self.decoded(py)?)?;
        }
        Ok(d)
    }

    fn __bool__(&self) -> bool {
        self.data.matched
    }

    fn __repr__(&self) -> String {
        let mut s = format!(
            "<RuleResult {} matched={}",
            self.data.rule,
            if self.data.matched { "True" } else { "False" }
        );
        if !self.data.keywords.is_empty() {
            let vars: Vec<String> = self
                .data
                .keywords
                .iter()
                .map(|k| format!("'{}'", k.0))
                .collect();
            s.push_str(&format!(" keywords=[{}]", vars.join(", ")));
        }
        if !self.data.warnings.is_empty() {
            s.push_str(&format!(" warnings={}", self.data.warnings.len()));
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
        let d = &self.data;
        let state = (
            d.index,
            d.rule.as_str(),
            d.matched,
            d.keywords.clone(),
            d.semantics.clone(),
            d.llm.clone(),
            d.warnings.clone(),
            d.variables.clone(),
            d.meta.as_ref().clone(),
        );
        Ok((
            f,
            PyTuple::new(
                py,
                [
                    state.into_pyobject(py)?.into_any(),
                    d.decoded.clone().into_pyobject(py)?.into_any(),
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

/// Rebuilds a `RuleResult` (used by pickle; `decoded`: the decoded-view markers).
#[pyfunction]
#[pyo3(signature = (state, decoded=None))]
pub fn _rule_result_from_state(
    state: RuleState,
    decoded: Option<Vec<(String, String)>>,
) -> PyRuleResult {
    let (index, rule, matched, keywords, semantics, llm, warnings, variables, meta) = state;
    PyRuleResult {
        data: RuleData {
            index,
            rule,
            matched,
            keywords,
            semantics,
            llm,
            warnings,
            variables,
            meta: Arc::new(meta),
            decoded: decoded.unwrap_or_default(),
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
            .filter(|r| r.get().data.matched)
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
            .filter(|r| r.get().data.matched)
            .map(|r| r.get().data.rule.clone())
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
            .flat_map(|r| r.get().data.warnings.iter().cloned())
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
            .find(|r| r.get().data.rule == name)
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
            .any(|r| r.get().data.matched && r.get().data.rule == name)
    }

    fn __bool__(&self) -> bool {
        self.results.iter().any(|r| r.get().data.matched)
    }

    fn __len__(&self) -> usize {
        self.results.iter().filter(|r| r.get().data.matched).count()
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
