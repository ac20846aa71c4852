//! `novac.Diagnostic`, `novac.CompileError`, and the compilation driver
//! shared by `compile`, `check` and unpickling.

use novac::syntax::LineIndex;
use pyo3::exceptions::{
    PyException, PyFileNotFoundError, PyIsADirectoryError, PyOSError, PyPermissionError,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::path::PathBuf;

pyo3::create_exception!(
    novac,
    CompileError,
    PyException,
    "Rules did not compile; `.diagnostics` holds every finding (errors and warnings)."
);

/// One finding about a rule source, with 1-based line and column numbers
/// (columns count characters) and the rendered, rustc-like text.
#[pyclass(frozen, module = "novac", name = "Diagnostic")]
#[derive(Clone, Debug)]
pub struct PyDiagnostic {
    /// The stable code, e.g. `E101`.
    #[pyo3(get)]
    pub code: String,
    /// `"error"` or `"warning"`.
    #[pyo3(get)]
    pub severity: String,
    /// One line saying what is wrong.
    #[pyo3(get)]
    pub message: String,
    /// The source's name (a path, or `<source>`).
    #[pyo3(get)]
    pub file: String,
    /// 1-based line of the start of the primary span.
    #[pyo3(get)]
    pub line: usize,
    /// 1-based column (in characters) of the start of the primary span.
    #[pyo3(get)]
    pub column: usize,
    /// 1-based line of the end of the primary span.
    #[pyo3(get)]
    pub end_line: usize,
    /// 1-based column (in characters) of the end of the primary span.
    #[pyo3(get)]
    pub end_column: usize,
    /// Character offset of the start of the primary span in the source.
    #[pyo3(get)]
    pub start: usize,
    /// Character offset one past the end of the primary span.
    #[pyo3(get)]
    pub end: usize,
    /// The label under the primary span.
    #[pyo3(get)]
    pub label: String,
    /// How to fix it, when known.
    #[pyo3(get)]
    pub help: Option<String>,
    /// Further explanation.
    #[pyo3(get)]
    pub notes: Vec<String>,
    /// The diagnostic rendered like rustc, without colour.
    #[pyo3(get)]
    pub rendered: String,
}

#[pymethods]
impl PyDiagnostic {
    /// Whether this is an error (not a warning).
    #[getter]
    fn is_error(&self) -> bool {
        self.severity == "error"
    }

    /// The diagnostic as a plain dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("code", &self.code)?;
        d.set_item("severity", &self.severity)?;
        d.set_item("message", &self.message)?;
        d.set_item("file", &self.file)?;
        d.set_item("line", self.line)?;
        d.set_item("column", self.column)?;
        d.set_item("end_line", self.end_line)?;
        d.set_item("end_column", self.end_column)?;
        d.set_item("start", self.start)?;
        d.set_item("end", self.end)?;
        d.set_item("label", &self.label)?;
        d.set_item("help", &self.help)?;
        d.set_item("notes", &self.notes)?;
        d.set_item("rendered", &self.rendered)?;
        Ok(d)
    }

    fn __str__(&self) -> String {
        self.rendered.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "<Diagnostic {} {} at {}:{}:{}: {:?}>",
            self.severity, self.code, self.file, self.line, self.column, self.message
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.downcast::<PyDiagnostic>() {
            Ok(o) => {
                let o = o.get();
                self.code == o.code
                    && self.severity == o.severity
                    && self.message == o.message
                    && self.file == o.file
                    && self.start == o.start
                    && self.end == o.end
            }
            Err(_) => false,
        }
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&self.code, &self.message, &self.file, self.start, self.end).hash(&mut h);
        h.finish()
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let f = py
            .import("novac._novac")?
            .getattr("_diagnostic_from_dict")?;
        let args = PyTuple::new(py, [self.to_dict(py)?])?;
        Ok((f, args))
    }
}

/// Rebuilds a `Diagnostic` from `Diagnostic.to_dict()` (used by pickle).
#[pyfunction]
pub fn _diagnostic_from_dict(d: &Bound<'_, PyDict>) -> PyResult<PyDiagnostic> {
    fn get<'py, T: FromPyObject<'py>>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<T> {
        match d.get_item(key)? {
            Some(v) => v.extract(),
            None => Err(pyo3::exceptions::PyKeyError::new_err(key.to_string())),
        }
    }
    Ok(PyDiagnostic {
        code: get(d, "code")?,
        severity: get(d, "severity")?,
        message: get(d, "message")?,
        file: get(d, "file")?,
        line: get(d, "line")?,
        column: get(d, "column")?,
        end_line: get(d, "end_line")?,
        end_column: get(d, "end_column")?,
        start: get(d, "start")?,
        end: get(d, "end")?,
        label: get(d, "label")?,
        help: get(d, "help")?,
        notes: get(d, "notes")?,
        rendered: get(d, "rendered")?,
    })
}

/// Number of characters in `text[..byte]` (any byte offset, clamped; never panics).
pub fn char_offset(text: &str, byte: usize) -> usize {
    let bytes = text.as_bytes();
    let end = byte.min(bytes.len());
    bytes[..end].iter().filter(|b| (**b & 0xC0) != 0x80).count()
}

/// Converts a core diagnostic about `text` (named `origin`).
pub fn convert(d: &novac::Diagnostic, origin: &str, text: &str, index: &LineIndex) -> PyDiagnostic {
    let (start, end) = (d.primary.span.start as usize, d.primary.span.end as usize);
    let a = index.line_col(text, start);
    let b = index.line_col(text, end);
    PyDiagnostic {
        code: d.code.to_string(),
        severity: d.severity.as_str().to_string(),
        message: d.message.clone(),
        file: origin.to_string(),
        line: a.line,
        column: a.column,
        end_line: b.line,
        end_column: b.column,
        start: char_offset(text, start),
        end: char_offset(text, end),
        label: d.primary.message.clone(),
        help: d.help.clone(),
        notes: d.notes.clone(),
        rendered: d.render(origin, text, false),
    }
}

/// One input of a compilation.
pub enum Input {
    /// Source text and its name.
    Source { origin: String, text: String },
    /// A `.nov` file or a directory of them.
    Path(PathBuf),
}

/// Why a compilation failed (converted to a Python exception with the GIL held).
pub enum Failure {
    /// Some source has errors.
    Invalid { diagnostics: Vec<PyDiagnostic> },
    /// A file could not be read.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Anything else the compiler reported.
    Other(String),
}

impl Failure {
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Invalid { diagnostics } => compile_error(py, diagnostics),
            Failure::Io { path, error } => {
                let msg = format!("cannot read {}: {}", path.display(), error);
                let args = (
                    error.raw_os_error().unwrap_or(0),
                    msg,
                    path.display().to_string(),
                );
                match error.kind() {
                    std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(args),
                    std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(args),
                    std::io::ErrorKind::IsADirectory => PyIsADirectoryError::new_err(args),
                    _ => PyOSError::new_err(args),
                }
            }
            Failure::Other(msg) => {
                let err = CompileError::new_err(msg);
                let _ = err
                    .value(py)
                    .setattr("diagnostics", pyo3::types::PyList::empty(py));
                err
            }
        }
    }
}

/// How many errors `str(CompileError)` shows in full.
const SHOWN_ERRORS: usize = 3;

/// A `CompileError` whose message shows the first errors rendered and whose
/// `.diagnostics` holds every diagnostic.
pub fn compile_error(py: Python<'_>, diagnostics: Vec<PyDiagnostic>) -> PyErr {
    let errors: Vec<&PyDiagnostic> = diagnostics
        .iter()
        .filter(|d| d.severity == "error")
        .collect();
    let mut files: Vec<&str> = errors.iter().map(|d| d.file.as_str()).collect();
    files.dedup();
    let mut msg = format!(
        "{} error{} in {}",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
        files.join(", ")
    );
    for d in errors.iter().take(SHOWN_ERRORS) {
        msg.push_str("\n\n");
        msg.push_str(d.rendered.trim_end());
    }
    if errors.len() > SHOWN_ERRORS {
        msg.push_str(&format!(
            "\n\n... and {} more error(s); see .diagnostics",
            errors.len() - SHOWN_ERRORS
        ));
    }
    let err = CompileError::new_err(msg);
    let list: Vec<PyDiagnostic> = diagnostics;
    match pyo3::types::PyList::new(py, list) {
        Ok(l) => {
            let _ = err.value(py).setattr("diagnostics", l);
        }
        Err(e) => return e,
    }
    err
}

/// What a successful compilation produced.
pub struct Compiled {
    pub rules: novac::Rules,
    /// Every source compiled, as (origin, text), for pickling.
    pub sources: Vec<(String, String)>,
    /// Warnings about the sources.
    pub warnings: Vec<PyDiagnostic>,
}

/// Adds every input to a compiler; returns it with all reports, or an I/O failure.
fn add_inputs(inputs: Vec<Input>, meta_lints: bool) -> Result<novac::Compiler, Failure> {
    let mut compiler = novac::Compiler::with_options(novac::CompileOptions {
        meta_lints,
        ..Default::default()
    });
    for input in inputs {
        let result = match &input {
            Input::Source { origin, text } => compiler.add_named_source(origin, text).map(|_| ()),
            Input::Path(path) => compiler.add_path(path).map(|_| ()),
        };
        match result {
            Ok(()) | Err(novac::CompileError::Invalid { .. }) => {}
            Err(novac::CompileError::Io { path, source }) => {
                return Err(Failure::Io {
                    path,
                    error: source,
                })
            }
            Err(other) => return Err(Failure::Other(other.to_string())),
        }
    }
    Ok(compiler)
}

/// Every diagnostic of every source, converted.
fn all_diagnostics(compiler: &novac::Compiler) -> (Vec<PyDiagnostic>, usize) {
    let mut out = Vec::new();
    let mut errors = 0;
    for report in compiler.reports() {
        let index = LineIndex::new(&report.text);
        for d in &report.diagnostics {
            if d.is_error() {
                errors += 1;
            }
            out.push(convert(d, &report.origin, &report.text, &index));
        }
    }
    (out, errors)
}

/// Compiles `inputs` into rules (no GIL needed).
pub fn compile(inputs: Vec<Input>, meta_lints: bool) -> Result<Compiled, Failure> {
    let mut compiler = add_inputs(inputs, meta_lints)?;
    let (diagnostics, errors) = all_diagnostics(&compiler);
    if errors > 0 {
        return Err(Failure::Invalid { diagnostics });
    }
    let sources = compiler
        .reports()
        .iter()
        .map(|r| (r.origin.clone(), r.text.clone()))
        .collect();
    // Python plugs its semantic evaluators in at scan time (the reference's
    // behaviour without one: fail closed with a warning).
    let rules = compiler
        .allow_missing_model(true)
        .build()
        .map_err(|e| Failure::Other(e.to_string()))?;
    Ok(Compiled {
        rules,
        sources,
        warnings: diagnostics,
    })
}

/// Checks `inputs` and returns every diagnostic (no GIL needed).
pub fn check(inputs: Vec<Input>, meta_lints: bool) -> Result<Vec<PyDiagnostic>, Failure> {
    let compiler = add_inputs(inputs, meta_lints)?;
    Ok(all_diagnostics(&compiler).0)
}
