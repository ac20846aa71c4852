//! `Rules.to_bytes()` / `Rules.from_bytes()` and pickling, on top of the
//! compiled bundles of [`novac::bundle`].
//!
//! * `to_bytes()` is exactly a bundle, as written by `novac compile`: load
//!   one with `Rules.from_bytes(open("rules.novc", "rb").read())`. Loading
//!   skips parsing and checking. A bundle holds the checked rules, not their
//!   sources or warnings: `sources` and `warnings` are empty after `from_bytes`.
//! * Pickling (`__reduce__`) sends the bundle plus a small JSON document with
//!   what only the Python object has (sources, warnings, `meta_lints`), so an
//!   unpickled `Rules` equals the original.

use crate::diag::PyDiagnostic;
use pyo3::exceptions::PyValueError;
use pyo3::PyResult;
use serde_json::{json, Value};

/// Loads a bundle; a damaged or foreign one is a `ValueError` saying why.
pub fn load(data: &[u8]) -> PyResult<novac::Rules> {
    novac::Rules::deserialize(data).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// What pickling keeps beside the bundle.
pub struct Extras {
    pub sources: Vec<(String, String)>,
    pub meta_lints: bool,
    pub warnings: Vec<PyDiagnostic>,
    /// The directory of the attached embedding model, if any.
    pub model_dir: Option<std::path::PathBuf>,
}

pub fn extras_to_json(extras: &Extras) -> Vec<u8> {
    let warnings: Vec<Value> = extras
        .warnings
        .iter()
        .map(|d| {
            json!({
                "code": d.code, "severity": d.severity, "message": d.message, "file": d.file,
                "line": d.line, "column": d.column, "end_line": d.end_line,
                "end_column": d.end_column, "start": d.start, "end": d.end, "label": d.label,
                "help": d.help, "notes": d.notes, "rendered": d.rendered,
            })
        })
        .collect();
    json!({
        "sources": extras.sources,
        "meta_lints": extras.meta_lints,
        "warnings": warnings,
        "model_dir": extras.model_dir.as_ref().map(|d| d.to_string_lossy()),
    })
    .to_string()
    .into_bytes()
}

pub fn extras_from_json(data: &[u8]) -> PyResult<Extras> {
    let bad = |what: &str| PyValueError::new_err(format!("corrupt pickled novac.Rules: {what}"));
    let value: Value = serde_json::from_slice(data).map_err(|_| bad("not JSON"))?;
    let mut sources = Vec::new();
    for s in value["sources"].as_array().ok_or_else(|| bad("sources"))? {
        match (s[0].as_str(), s[1].as_str()) {
            (Some(origin), Some(text)) => sources.push((origin.to_string(), text.to_string())),
            _ => return Err(bad("source entry")),
        }
    }
    let mut warnings = Vec::new();
    for w in value["warnings"]
        .as_array()
        .ok_or_else(|| bad("warnings"))?
    {
        let s = |k: &str| w[k].as_str().map(str::to_string).ok_or_else(|| bad(k));
        let n = |k: &str| {
            w[k].as_u64()
                .and_then(|x| usize::try_from(x).ok())
                .ok_or_else(|| bad(k))
        };
        warnings.push(PyDiagnostic {
            code: s("code")?,
            severity: s("severity")?,
            message: s("message")?,
            file: s("file")?,
            line: n("line")?,
            column: n("column")?,
            end_line: n("end_line")?,
            end_column: n("end_column")?,
            start: n("start")?,
            end: n("end")?,
            label: s("label")?,
            help: w["help"].as_str().map(str::to_string),
            notes: w["notes"]
                .as_array()
                .ok_or_else(|| bad("notes"))?
                .iter()
                .map(|x| x.as_str().map(str::to_string).ok_or_else(|| bad("note")))
                .collect::<PyResult<_>>()?,
            rendered: s("rendered")?,
        });
    }
    Ok(Extras {
        sources,
        meta_lints: value["meta_lints"].as_bool().unwrap_or(false),
        warnings,
        model_dir: value["model_dir"].as_str().map(std::path::PathBuf::from),
    })
}
