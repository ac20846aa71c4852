//! `Rules.scan_arrow`: scans a pyarrow string column in place and returns
//! the verdicts as a `pyarrow.Table` aligned with it.
//!
//! * The column (a `string`, `large_string` or `string_view` array, a
//!   chunked array of them, or anything with `__arrow_c_array__`) crosses
//!   through the Arrow C data interface (`arrow-pyarrow`): the prompts are
//!   read where pyarrow keeps them, with no Python object per row. Its
//!   buffers are validated (offsets, UTF-8) once, without the GIL.
//! * Rows are scanned in chunks of [`CHUNK_ROWS`] on the rayon pool, like
//!   `scan_many` (`threads=None`: every core, `1`: the calling thread, `n`:
//!   a pool of `n`). With a native embedder the semantic stage embeds the
//!   prompts of a chunk in batches (`Scanner::scan_batch`).
//! * The result columns are built from plain vectors (rule indices, counts)
//!   and handed back through the same interface, so the only per-row Python
//!   work is none.
//!
//! Cost: besides the scan itself, one UTF-8 pass over the input, 16 bytes
//! per row for the row list, and the output columns (a few bytes per row
//! plus the matched rule names).

use super::{guarded, make_scanner, scan_error, PyRules, ScanConfig, Stages};
use arrow_array::{
    make_array, Array, ArrayRef, BooleanArray, Int64Array, LargeStringArray, ListArray,
    RecordBatch, StringArray, StringViewArray, StructArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_pyarrow::{FromPyArrow, ToPyArrow};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use rayon::prelude::*;
use std::borrow::Cow;
use std::sync::Arc;

/// Rows per work item (one scanner call sequence, one embedding batch run).
const CHUNK_ROWS: usize = 256;

/// One keyword span of a matched rule: rule index, variable, char offsets.
type Span = (u32, String, i64, i64);

/// The verdicts of a run of rows, in compact form.
#[derive(Default)]
struct ChunkOut {
    /// Per row: `None` for a null prompt.
    matched: Vec<Option<bool>>,
    /// Per row: how many matched rules / spans / warnings it has.
    rule_counts: Vec<u32>,
    span_counts: Vec<u32>,
    warn_counts: Vec<u32>,
    rule_ids: Vec<u32>,
    spans: Vec<Span>,
    warnings: Vec<String>,
}

/// What the caller asked for besides the verdicts.
#[derive(Clone, Copy)]
struct Wants {
    spans: bool,
    warnings: bool,
}

/// Why a scan stopped: a refused row (with its index), or no threads.
enum Failure {
    Scan(usize, novac::ScanError),
    Threads(String),
    Arrow(ArrowError),
}

fn type_error(what: &str) -> PyErr {
    PyTypeError::new_err(format!(
        "scan_arrow() takes a pyarrow string, large_string or string_view array \
         (or a chunked array of one), not {what}; use scan_many() for Python lists"
    ))
}

/// The arrays of `column`: a chunked array's chunks, or the array itself.
fn input_arrays(column: &Bound<'_, PyAny>) -> PyResult<Vec<ArrayRef>> {
    let type_name = || -> String {
        column
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "this object".into())
    };
    let parts: Vec<Bound<'_, PyAny>> =
        if column.hasattr("chunks")? && column.hasattr("num_chunks")? {
            column
                .getattr("chunks")?
                .try_iter()?
                .collect::<PyResult<_>>()?
        } else if column.hasattr("__arrow_c_array__")? || column.hasattr("_export_to_c")? {
            vec![column.clone()]
        } else {
            return Err(type_error(&type_name()));
        };
    let mut out = Vec::with_capacity(parts.len());
    for part in &parts {
        let data = arrow_data::ArrayData::from_pyarrow_bound(part).map_err(|e| {
            PyTypeError::new_err(format!("scan_arrow(): cannot read the column: {e}"))
        })?;
        match data.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {}
            other => return Err(type_error(&format!("an array of {other}"))),
        }
        // An empty slice adds no rows (and arrow-rs sizes its values
        // buffer as 0 while its first offset may be past that).
        if !data.is_empty() {
            out.push(data);
        }
    }
    // The C data interface trusts its producer: check offsets and UTF-8
    // before reading (a bad array is a ValueError, never a crash).
    let py = column.py();
    py.allow_threads(|| {
        out.iter()
            .try_for_each(|d| d.validate_full())
            .map_err(|e| PyValueError::new_err(format!("scan_arrow(): invalid string array: {e}")))
    })?;
    Ok(out.into_iter().map(make_array).collect())
}

/// Every row of `arrays`, in order (`None` for nulls), borrowed in place.
fn rows(arrays: &[ArrayRef]) -> Vec<Option<&str>> {
    let mut out = Vec::with_capacity(arrays.iter().map(|a| a.len()).sum());
    for a in arrays {
        let any = a.as_any();
        if let Some(s) = any.downcast_ref::<StringArray>() {
            out.extend(s.iter());
        } else if let Some(s) = any.downcast_ref::<LargeStringArray>() {
            out.extend(s.iter());
        } else if let Some(s) = any.downcast_ref::<StringViewArray>() {
            out.extend(s.iter());
        }
    }
    out
}

/// The character offset of byte `b` of `text` (Python string indices).
fn char_at(text: &str, b: usize) -> i64 {
    let n = if text.is_ascii() {
        b.min(text.len())
    } else {
        super::diag::char_offset(text, b)
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl ChunkOut {
    fn null(&mut self) {
        self.matched.push(None);
        self.rule_counts.push(0);
        self.span_counts.push(0);
        self.warn_counts.push(0);
    }

    fn push(&mut self, result: novac::ScanResult, text: &str, wants: Wants) {
        let (r0, s0, w0) = (self.rule_ids.len(), self.spans.len(), self.warnings.len());
        for r in result.rules {
            if r.matched {
                let id = u32_of(r.index);
                self.rule_ids.push(id);
                if wants.spans {
                    for k in &r.keywords {
                        self.spans.push((
                            id,
                            k.var.to_string(),
                            char_at(text, k.start),
                            char_at(text, k.end),
                        ));
                    }
                }
            }
            if wants.warnings {
                self.warnings
                    .extend(r.warnings.iter().map(|w| w.to_string()));
            }
        }
        self.matched.push(Some(self.rule_ids.len() > r0));
        self.rule_counts.push(u32_of(self.rule_ids.len() - r0));
        self.span_counts.push(u32_of(self.spans.len() - s0));
        self.warn_counts.push(u32_of(self.warnings.len() - w0));
    }
}

/// Scans one chunk of rows (`base`: the index of its first row).
fn scan_chunk(
    scanner: &mut novac::Scanner<'_>,
    rows: &[Option<&str>],
    base: usize,
    cfg: &ScanConfig<'_>,
    batch: bool,
    wants: Wants,
) -> Result<ChunkOut, Failure> {
    let mut out = ChunkOut::default();
    fn text_of(normalize: bool, p: &str) -> Cow<'_, str> {
        if normalize {
            Cow::Owned(novac::normalize::normalize(p).into_owned())
        } else {
            Cow::Borrowed(p)
        }
    }
    if batch {
        let texts: Vec<Cow<'_, str>> = rows
            .iter()
            .flatten()
            .map(|p| text_of(cfg.normalize, p))
            .collect();
        let results = scanner.try_scan_batch(&texts).map_err(|(i, e)| {
            // `i` counts non-null rows; name the row of the column.
            let row = rows
                .iter()
                .enumerate()
                .filter(|(_, p)| p.is_some())
                .nth(i)
                .map_or(i, |(r, _)| r);
            Failure::Scan(base + row, e)
        })?;
        let mut results = results.into_iter().zip(texts.iter());
        for p in rows {
            match (p, p.and_then(|_| results.next())) {
                (Some(_), Some((result, text))) => out.push(result, text, wants),
                _ => out.null(),
            }
        }
    } else {
        for (i, p) in rows.iter().enumerate() {
            match p {
                None => out.null(),
                Some(p) => {
                    let text = text_of(cfg.normalize, p);
                    let result = scanner
                        .try_scan(&text)
                        .map_err(|e| Failure::Scan(base + i, e))?;
                    out.push(result, &text, wants);
                }
            }
        }
    }
    Ok(out)
}

/// `i32` list offsets from per-row counts (an error past 2^31 values).
fn offsets(
    chunks: &[ChunkOut],
    count: impl Fn(&ChunkOut) -> &[u32],
) -> Result<OffsetBuffer<i32>, ArrowError> {
    let mut out = Vec::with_capacity(chunks.iter().map(|c| c.matched.len()).sum::<usize>() + 1);
    let mut at: i32 = 0;
    out.push(0);
    for c in chunks {
        for &n in count(c) {
            at = i32::try_from(n)
                .ok()
                .and_then(|n| at.checked_add(n))
                .ok_or_else(|| {
                    ArrowError::ComputeError(
                        "too many results for one list column; scan the input in smaller slices"
                            .into(),
                    )
                })?;
            out.push(at);
        }
    }
    Ok(OffsetBuffer::new(ScalarBuffer::from(out)))
}

fn list(
    item: Field,
    values: ArrayRef,
    offsets: OffsetBuffer<i32>,
    valid: &NullBuffer,
) -> Result<(Field, ArrayRef), ArrowError> {
    let item = Arc::new(item);
    let array = ListArray::try_new(Arc::clone(&item), offsets, values, Some(valid.clone()))?;
    Ok((Field::new_list("", item, true), Arc::new(array)))
}

/// The result columns of every chunk, concatenated.
fn build(chunks: &[ChunkOut], names: &[&str], wants: Wants) -> Result<RecordBatch, ArrowError> {
    let matched = BooleanArray::from(
        chunks
            .iter()
            .flat_map(|c| c.matched.iter().copied())
            .collect::<Vec<Option<bool>>>(),
    );
    let valid = NullBuffer::from(
        chunks
            .iter()
            .flat_map(|c| c.matched.iter().map(Option::is_some))
            .collect::<Vec<bool>>(),
    );
    let name = |id: &u32| names.get(*id as usize).copied().unwrap_or("");
    let mut fields = vec![Field::new("matched", DataType::Boolean, true)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(matched)];

    let rule_names: StringArray = chunks
        .iter()
        .flat_map(|c| c.rule_ids.iter().map(name))
        .map(Some)
        .collect();
    let (f, a) = list(
        Field::new_list_field(DataType::Utf8, true),
        Arc::new(rule_names),
        offsets(chunks, |c| &c.rule_counts)?,
        &valid,
    )?;
    fields.push(f.with_name("matched_rules"));
    columns.push(a);

    if wants.spans {
        let spans = || chunks.iter().flat_map(|c| c.spans.iter());
        let struct_fields = Fields::from(vec![
            Field::new("rule", DataType::Utf8, false),
            Field::new("var", DataType::Utf8, false),
            Field::new("start", DataType::Int64, false),
            Field::new("end", DataType::Int64, false),
        ]);
        let rule: StringArray = spans().map(|s| Some(name(&s.0))).collect();
        let var: StringArray = spans().map(|s| Some(s.1.as_str())).collect();
        let start = Int64Array::from(spans().map(|s| s.2).collect::<Vec<i64>>());
        let end = Int64Array::from(spans().map(|s| s.3).collect::<Vec<i64>>());
        let values = StructArray::try_new(
            struct_fields.clone(),
            vec![
                Arc::new(rule),
                Arc::new(var),
                Arc::new(start),
                Arc::new(end),
            ],
            None,
        )?;
        let (f, a) = list(
            Field::new_list_field(DataType::Struct(struct_fields), true),
            Arc::new(values),
            offsets(chunks, |c| &c.span_counts)?,
            &valid,
        )?;
        fields.push(f.with_name("keywords"));
        columns.push(a);
    }
    if wants.warnings {
        let warnings: StringArray = chunks
            .iter()
            .flat_map(|c| c.warnings.iter().map(|w| Some(w.as_str())))
            .collect();
        let (f, a) = list(
            Field::new_list_field(DataType::Utf8, true),
            Arc::new(warnings),
            offsets(chunks, |c| &c.warn_counts)?,
            &valid,
        )?;
        fields.push(f.with_name("warnings"));
        columns.push(a);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

#[pymethods]
impl PyRules {
    /// Scans a pyarrow string column (`string`, `large_string`,
    /// `string_view`, or a chunked array of one) read in place, and returns
    /// a `pyarrow.Table` with one row per input row: `matched` (bool),
    /// `matched_rules` (list<string>), and with `spans=True` `keywords`
    /// (list<struct<rule, var, start, end>>: the matched rules' keyword spans,
    /// offsets in characters) and with `warnings=True` `warnings`
    /// (list<string>). Null prompts give null rows. Verdicts equal
    /// `scan_many`'s; threads, stages and options as there. Runs without the GIL.
    #[pyo3(signature = (column, threads=None, *, spans=false, warnings=false, normalize=false, semantic_evaluator=None, llm_evaluator=None, max_prompt_bytes=None, judge=None, decode=false))]
    #[allow(clippy::too_many_arguments)]
    fn scan_arrow(
        &self,
        py: Python<'_>,
        column: &Bound<'_, PyAny>,
        threads: Option<usize>,
        spans: bool,
        warnings: bool,
        normalize: bool,
        semantic_evaluator: Option<&Bound<'_, PyAny>>,
        llm_evaluator: Option<&Bound<'_, PyAny>>,
        max_prompt_bytes: Option<usize>,
        judge: Option<&Bound<'_, PyAny>>,
        decode: bool,
    ) -> PyResult<PyObject> {
        let arrays = input_arrays(column)?;
        let stages = Stages::from_args(py, semantic_evaluator, llm_evaluator, judge)?;
        let wants = Wants { spans, warnings };
        let batch = py.allow_threads(|| {
            guarded(|| -> Result<RecordBatch, Failure> {
                let rows = rows(&arrays);
                let cfg =
                    ScanConfig::new(self, normalize, false, max_prompt_bytes, decode, &stages);
                let rules: &novac::Rules = &self.inner;
                // Embedding batches need the native embedder (a Python
                // plug-in is called per prompt) and no LLM stage (whose
                // errors only the one-prompt path reports).
                let batch = rules.uses_semantics()
                    && !rules.uses_llm()
                    && cfg.semantic.is_none()
                    && (cfg.embedder.is_some() || rules.embedder().is_some());
                let cfg = &cfg;
                let one = |s: &mut novac::Scanner<'_>, (i, c): (usize, &[Option<&str>])| {
                    scan_chunk(s, c, i * CHUNK_ROWS, cfg, batch, wants)
                };
                let run = || -> Result<Vec<ChunkOut>, Failure> {
                    rows.par_chunks(CHUNK_ROWS)
                        .enumerate()
                        .map_init(|| make_scanner(rules, cfg), one)
                        .collect()
                };
                let chunks = match threads {
                    Some(1) => {
                        let mut s = make_scanner(rules, cfg);
                        rows.chunks(CHUNK_ROWS)
                            .enumerate()
                            .map(|ic| one(&mut s, ic))
                            .collect::<Result<Vec<_>, _>>()
                    }
                    Some(n) if n > 1 => rayon::ThreadPoolBuilder::new()
                        .num_threads(n)
                        .build()
                        .map_err(|e| Failure::Threads(format!("cannot start {n} threads: {e}")))?
                        .install(run),
                    _ => run(),
                }?;
                build(&chunks, &rules.rule_names(), wants).map_err(Failure::Arrow)
            })
        })?;
        let batch = batch.map_err(|f| match f {
            Failure::Scan(i, e) => scan_error(format!("row {i}: "), e),
            Failure::Threads(msg) => PyRuntimeError::new_err(msg),
            Failure::Arrow(e) => PyValueError::new_err(format!("scan_arrow(): {e}")),
        })?;
        let batch = batch.to_pyarrow(py)?;
        let table = py.import("pyarrow")?.getattr("Table")?;
        Ok(table.call_method1("from_batches", (vec![batch],))?.unbind())
    }
}
