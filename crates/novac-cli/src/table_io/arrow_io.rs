//! Reading and writing Parquet and Arrow IPC for `novac scan` (the
//! `tables` feature): opening and checking files, the scan threads, and
//! the result columns. See the parent module for the data flow.

use super::{OutputFormat, Plan, TableArgs, TableFormat};
use crate::input::Prompt;
use anyhow::{anyhow, bail, Context, Result};
use arrow_array::builder::{BooleanBuilder, ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchReader};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use novac::{Scanner, SharedStr};
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per record batch read from Parquet: 8,192 prompts of 2 KB are
/// 16 MB, enough to keep every scan thread busy, small enough to bound
/// memory.
pub const READ_BATCH_ROWS: usize = 8192;

/// A Parquet row group is closed once its encoded size passes this, so
/// the writer never holds more than about this much output in memory.
pub const ROW_GROUP_BYTES: usize = 128 << 20;

/// Prompts per unit of work handed to a scan thread (as in `scan.rs`).
const CHUNK: usize = 64;

/// An open table input whose prompt column has been checked.
pub struct Source {
    path: PathBuf,
    batches: Box<dyn RecordBatchReader + Send>,
    /// Index of the prompt column in each batch.
    column: usize,
    /// Name of the prompt column (for messages).
    column_name: String,
}

/// A table-to-table scan ready to run: input checked, output created.
pub struct Job {
    source: Source,
    /// Input columns copied to the output, by index in the read batches.
    kept: Vec<usize>,
    schema: SchemaRef,
    writer: Writer,
    /// Deletes the output file unless the job finishes.
    output: PartialFile,
}

/// The verdict of one row: `None` for a null prompt.
type Verdict = Option<(bool, Vec<SharedStr>)>;

/// What a scan thread makes of one chunk of rows.
struct ChunkOut {
    verdicts: Vec<Verdict>,
    /// Rules not matched because a stage failed closed, with their first warning.
    failed_closed: Vec<(SharedStr, SharedStr)>,
}

pub fn plan(path: &Path, format: TableFormat, args: &TableArgs) -> Result<Plan> {
    let wanted = args.keep_columns.as_ref().map(|names| {
        names
            .iter()
            .filter(|n| !n.is_empty())
            .cloned()
            .collect::<Vec<_>>()
    });
    let source = Source::open(path, format, &args.column, wanted.as_deref())?;
    let Some(output) = &args.output else {
        return Ok(Plan::Stdout(source));
    };
    let schema = source.batches.schema();
    let kept: Vec<usize> = match &wanted {
        None => (0..schema.fields().len()).collect(),
        Some(names) => names
            .iter()
            .map(|n| {
                schema
                    .index_of(n)
                    .map_err(|_| missing_column(path, n, &schema, "--keep-columns"))
            })
            .collect::<Result<_>>()?,
    };
    let mut fields: Vec<Arc<Field>> = Vec::with_capacity(kept.len() + 2);
    for &i in &kept {
        let Some(field) = schema.fields().get(i) else {
            bail!("{}: no column {i}", path.display());
        };
        if matches!(field.name().as_str(), "matched" | "matched_rules") {
            bail!(
                "{}: the input already has a column \"{}\", which the results would \
                 overwrite; leave it out with --keep-columns",
                path.display(),
                field.name()
            );
        }
        fields.push(Arc::clone(field));
    }
    fields.push(Arc::new(Field::new("matched", DataType::Boolean, true)));
    fields.push(Arc::new(Field::new(
        "matched_rules",
        DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
        true,
    )));
    // The schema's metadata (pandas keeps its index there) only while it
    // describes the columns: when all are kept.
    let metadata = if wanted.is_none() {
        schema.metadata().clone()
    } else {
        Default::default()
    };
    let schema = Arc::new(Schema::new_with_metadata(fields, metadata));
    let format = match args.output_format {
        OutputFormat::Auto => output_format_of(output)?,
        other => other,
    };
    refuse_same_file(path, output)?;
    let file = File::create(output)
        .with_context(|| format!("cannot create the output file {}", output.display()))?;
    let partial = PartialFile(Some(output.clone()));
    let writer = Writer::new(format, BufWriter::with_capacity(1 << 20, file), &schema)
        .with_context(|| format!("cannot write {}", output.display()))?;
    Ok(Plan::File(Box::new(Job {
        source,
        kept,
        schema,
        writer,
        output: partial,
    })))
}

/// The `--output-format auto` of a path, by its extension.
fn output_format_of(path: &Path) -> Result<OutputFormat> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    Ok(match ext.as_deref() {
        Some("parquet" | "parq" | "pq") => OutputFormat::Parquet,
        Some("arrow" | "feather" | "ipc") => OutputFormat::Arrow,
        Some("arrows") => OutputFormat::ArrowStream,
        _ => bail!(
            "{}: cannot tell the output format from the extension; use .parquet, \
             .arrow/.feather/.ipc, .arrows, or --output-format parquet|arrow|arrow-stream",
            path.display()
        ),
    })
}

/// Refuses to write the file being read (creating it would truncate the input).
fn refuse_same_file(input: &Path, output: &Path) -> Result<()> {
    if let (Ok(a), Ok(b)) = (input.canonicalize(), output.canonicalize()) {
        if a == b {
            bail!(
                "{}: the output is the input file; write the results elsewhere",
                output.display()
            );
        }
    }
    Ok(())
}

fn missing_column(path: &Path, name: &str, schema: &Schema, what: &str) -> anyhow::Error {
    let available: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("{} ({})", f.name(), f.data_type()))
        .collect();
    anyhow!(
        "{}: no column \"{name}\" ({what}); the columns are: {}",
        path.display(),
        if available.is_empty() {
            "none".to_string()
        } else {
            available.join(", ")
        }
    )
}

/// Whether rows of this type can be scanned.
fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The rows of a string column (checked by [`is_string`]) as `Option<&str>`.
fn strings(array: &dyn Array) -> Box<dyn Iterator<Item = Option<&str>> + '_> {
    if let Some(a) = array.as_string_opt::<i32>() {
        Box::new(a.iter())
    } else if let Some(a) = array.as_string_opt::<i64>() {
        Box::new(a.iter())
    } else if let Some(a) = array.as_string_view_opt() {
        Box::new(a.iter())
    } else {
        // Not reached: the column's type was checked when the file was opened.
        Box::new((0..array.len()).map(|_| None))
    }
}

impl Source {
    /// Opens `path` and checks that `column` is a string column. With
    /// `keep`, a Parquet file decodes only those columns and `column`.
    fn open(
        path: &Path,
        format: TableFormat,
        column: &str,
        keep: Option<&[String]>,
    ) -> Result<Source> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let batches: Box<dyn RecordBatchReader + Send> = match format {
            TableFormat::Parquet => {
                use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
                use parquet::arrow::ProjectionMask;
                let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                    .with_context(|| format!("cannot read {} as Parquet", path.display()))?;
                let builder = builder.with_batch_size(READ_BATCH_ROWS);
                let schema = Arc::clone(builder.schema());
                let builder = match keep {
                    Some(names) => {
                        if let Some(n) = names.iter().find(|n| schema.index_of(n).is_err()) {
                            return Err(missing_column(path, n, &schema, "--keep-columns"));
                        }
                        let mut roots = Vec::new();
                        for (i, f) in schema.fields().iter().enumerate() {
                            if f.name() == column || names.iter().any(|n| n == f.name()) {
                                roots.push(i);
                            }
                        }
                        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
                        builder.with_projection(mask)
                    }
                    None => builder,
                };
                Box::new(
                    builder
                        .build()
                        .with_context(|| format!("cannot read {} as Parquet", path.display()))?,
                )
            }
            TableFormat::ArrowFile => Box::new(
                arrow_ipc::reader::FileReader::try_new_buffered(file, None).with_context(|| {
                    format!("cannot read {} as an Arrow IPC file", path.display())
                })?,
            ),
            TableFormat::ArrowStream => Box::new(
                arrow_ipc::reader::StreamReader::try_new_buffered(file, None).with_context(
                    || format!("cannot read {} as an Arrow IPC stream", path.display()),
                )?,
            ),
        };
        let schema = batches.schema();
        let index = schema
            .index_of(column)
            .map_err(|_| missing_column(path, column, &schema, "--column"))?;
        let data_type = schema
            .fields()
            .get(index)
            .map(|f| f.data_type().clone())
            .unwrap_or(DataType::Null);
        if !is_string(&data_type) {
            bail!(
                "{}: column \"{column}\" is {data_type}, not a string column \
                 (Utf8, LargeUtf8 or Utf8View)",
                path.display()
            );
        }
        Ok(Source {
            path: path.to_path_buf(),
            batches,
            column: index,
            column_name: column.to_string(),
        })
    }

    /// The next batch, with read errors naming the file and the row reached.
    fn next_batch(&mut self, rows_before: u64) -> Option<Result<RecordBatch>> {
        let batch = self.batches.next()?;
        Some(batch.with_context(|| {
            format!(
                "{}: cannot read the rows after row {rows_before} (corrupt or truncated file?)",
                self.path.display()
            )
        }))
    }

    /// The prompt column of `batch`.
    fn prompts(&self, batch: &RecordBatch) -> Result<ArrayRef> {
        batch.columns().get(self.column).cloned().ok_or_else(|| {
            anyhow!(
                "{}: a batch has no column \"{}\"",
                self.path.display(),
                self.column_name
            )
        })
    }

    /// For the normal `novac scan` output: calls `f` with batches of
    /// `batch` prompts, each with its 0-based row number as id. Null
    /// prompts are skipped.
    pub fn for_each_batch(
        mut self,
        batch: usize,
        f: &mut dyn FnMut(Vec<Prompt>) -> Result<()>,
    ) -> Result<()> {
        let mut pending = Vec::with_capacity(batch);
        let mut row = 0u64;
        while let Some(record_batch) = self.next_batch(row) {
            let record_batch = record_batch?;
            let column = self.prompts(&record_batch)?;
            for text in strings(column.as_ref()) {
                if let Some(text) = text {
                    pending.push(Prompt {
                        id: row.into(),
                        text: text.to_string(),
                    });
                    if pending.len() >= batch {
                        f(std::mem::replace(&mut pending, Vec::with_capacity(batch)))?;
                    }
                }
                row += 1;
            }
        }
        if !pending.is_empty() {
            f(pending)?;
        }
        Ok(())
    }
}

/// Deletes a file when dropped, unless [`PartialFile::keep`] was called:
/// a failed scan leaves no half-written output behind.
struct PartialFile(Option<PathBuf>);

impl PartialFile {
    fn keep(&mut self) {
        self.0 = None;
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The output file's writer.
enum Writer {
    Parquet(parquet::arrow::ArrowWriter<BufWriter<File>>),
    ArrowFile(arrow_ipc::writer::FileWriter<BufWriter<File>>),
    ArrowStream(arrow_ipc::writer::StreamWriter<BufWriter<File>>),
}

impl Writer {
    fn new(format: OutputFormat, out: BufWriter<File>, schema: &SchemaRef) -> Result<Writer> {
        Ok(match format {
            OutputFormat::Parquet | OutputFormat::Auto => {
                use parquet::basic::{Compression, ZstdLevel};
                use parquet::file::properties::WriterProperties;
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .build();
                Writer::Parquet(parquet::arrow::ArrowWriter::try_new(
                    out,
                    Arc::clone(schema),
                    Some(props),
                )?)
            }
            OutputFormat::Arrow => {
                Writer::ArrowFile(arrow_ipc::writer::FileWriter::try_new(out, schema)?)
            }
            OutputFormat::ArrowStream => {
                Writer::ArrowStream(arrow_ipc::writer::StreamWriter::try_new(out, schema)?)
            }
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            Writer::Parquet(w) => {
                w.write(batch)?;
                // Close the row group at ROW_GROUP_BYTES of buffered data.
                if w.in_progress_size() >= ROW_GROUP_BYTES {
                    w.flush()?;
                }
            }
            Writer::ArrowFile(w) => w.write(batch)?,
            Writer::ArrowStream(w) => w.write(batch)?,
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        use std::io::Write;
        let mut out = match self {
            Writer::Parquet(w) => w.into_inner()?,
            Writer::ArrowFile(mut w) => {
                w.finish()?;
                w.into_inner()?
            }
            Writer::ArrowStream(mut w) => {
                w.finish()?;
                w.into_inner()?
            }
        };
        out.flush()?;
        Ok(())
    }
}

/// Scans the rows of `prompts` (a string column slice whose first row is
/// `first_row` of the file).
fn scan_rows(
    scanner: &mut Scanner,
    prompts: &dyn Array,
    first_row: u64,
    embeds: bool,
) -> Result<ChunkOut> {
    let rows: Vec<Option<&str>> = strings(prompts).collect();
    let mut results = Vec::with_capacity(rows.len());
    if embeds {
        // Prompts that need the model are embedded in batches.
        let present: Vec<(usize, &str)> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Some((i, (*t)?)))
            .collect();
        let mut scanned = Vec::with_capacity(present.len());
        for part in present.chunks(novac::semantic::BATCH_SIZE) {
            let texts: Vec<&str> = part.iter().map(|(_, t)| *t).collect();
            scanned.extend(scanner.try_scan_batch(&texts).map_err(|(i, e)| {
                let row = part.get(i).map_or(0, |(r, _)| *r) as u64 + first_row;
                anyhow::Error::new(e).context(format!("row {row}"))
            })?);
        }
        let mut scanned = scanned.into_iter();
        for row in &rows {
            results.push(match row {
                Some(_) => scanned.next(),
                None => None,
            });
        }
    } else {
        for (i, row) in rows.iter().enumerate() {
            results.push(match row {
                Some(text) => Some(
                    scanner
                        .try_scan(text)
                        .with_context(|| format!("row {}", first_row + i as u64))?,
                ),
                None => None,
            });
        }
    }
    let mut out = ChunkOut {
        verdicts: Vec::with_capacity(rows.len()),
        failed_closed: Vec::new(),
    };
    for result in results {
        let Some(result) = result else {
            out.verdicts.push(None);
            continue;
        };
        for r in result.rules.iter().filter(|r| !r.matched) {
            if let Some(w) = r.warnings.first() {
                if !out.failed_closed.iter().any(|(rule, _)| *rule == r.rule) {
                    out.failed_closed.push((r.rule.clone(), w.clone()));
                }
            }
        }
        let names: Vec<SharedStr> = result.matched().map(|r| r.rule.clone()).collect();
        out.verdicts.push(Some((!names.is_empty(), names)));
    }
    Ok(out)
}

/// The `matched` and `matched_rules` columns of `verdicts`.
fn result_columns(verdicts: &[Verdict]) -> (ArrayRef, ArrayRef) {
    let mut matched = BooleanBuilder::with_capacity(verdicts.len());
    let mut rules = ListBuilder::new(StringBuilder::new());
    for v in verdicts {
        match v {
            Some((m, names)) => {
                matched.append_value(*m);
                for n in names {
                    rules.values().append_value(n.as_str());
                }
                rules.append(true);
            }
            None => {
                matched.append_null();
                rules.append(false);
            }
        }
    }
    (Arc::new(matched.finish()), Arc::new(rules.finish()))
}

/// A batch read and sent to the scan threads, waiting for its verdicts.
struct InFlight {
    /// The kept input columns.
    kept: Vec<ArrayRef>,
    rows: usize,
    /// The sequence number after its last chunk.
    end: u64,
}

impl Job {
    /// Scans every row on `threads` threads and writes the output. Exit
    /// code: 0 if some row matched, 1 if none did.
    /// `finish` sees each thread's scanner once its rows are done (the
    /// `--profile` collector).
    pub fn run<'r, S, F>(
        self,
        threads: usize,
        new_scanner: &S,
        finish: &F,
        embeds: bool,
    ) -> Result<u8>
    where
        S: Fn() -> Scanner<'r> + Sync,
        F: Fn(&mut Scanner<'r>) + Sync,
    {
        let chunk = if embeds {
            novac::semantic::BATCH_SIZE.max(CHUNK)
        } else {
            CHUNK
        };
        let mut stats = Stats::default();
        let Job {
            mut source,
            kept,
            schema,
            mut writer,
            mut output,
        } = self;
        let out_path = output.0.clone().unwrap_or_default();
        let mut emit = |flight: InFlight, verdicts: Vec<Verdict>| -> Result<()> {
            if verdicts.len() != flight.rows {
                bail!(
                    "internal error: {} verdicts for {} rows",
                    verdicts.len(),
                    flight.rows
                );
            }
            stats.rows += flight.rows as u64;
            for v in &verdicts {
                match v {
                    Some((true, _)) => stats.matched += 1,
                    None => stats.nulls += 1,
                    _ => {}
                }
            }
            let (matched, rules) = result_columns(&verdicts);
            let mut columns = flight.kept;
            columns.push(matched);
            columns.push(rules);
            let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
            writer
                .write(&batch)
                .with_context(|| format!("cannot write {}", out_path.display()))
        };
        let failed_closed = run_threads(
            threads,
            chunk,
            new_scanner,
            finish,
            embeds,
            &mut source,
            &kept,
            &mut emit,
        )?;
        writer
            .finish()
            .with_context(|| format!("cannot write {}", out_path.display()))?;
        output.keep();
        eprintln!(
            "{} rows scanned, {} matched, {} null → {}",
            stats.rows,
            stats.matched,
            stats.nulls,
            out_path.display()
        );
        if !failed_closed.is_empty() {
            eprintln!(
                "note: {} rule(s) needed a semantic or LLM stage that is not configured or failed, and were not matched (fail closed):",
                failed_closed.len()
            );
            for (rule, why) in &failed_closed {
                eprintln!("  {rule}: {why}");
            }
        }
        Ok(if stats.matched > 0 { 0 } else { 1 })
    }
}

#[derive(Default)]
struct Stats {
    rows: u64,
    matched: u64,
    nulls: u64,
}

/// Reads `source` on this thread and scans on `threads` threads
/// ([`crate::ordered_pool`]), each with one [`Scanner`] for the whole run;
/// calls `emit` with each batch and its verdicts in input order. Returns
/// the rules that failed closed.
#[allow(clippy::too_many_arguments)]
fn run_threads<'r, S, F>(
    threads: usize,
    chunk: usize,
    new_scanner: &S,
    finish: &F,
    embeds: bool,
    source: &mut Source,
    kept: &[usize],
    emit: &mut dyn FnMut(InFlight, Vec<Verdict>) -> Result<()>,
) -> Result<BTreeMap<SharedStr, SharedStr>>
where
    S: Fn() -> Scanner<'r> + Sync,
    F: Fn(&mut Scanner<'r>) + Sync,
{
    // Shared by the reader (which queues each batch once its chunks are
    // sent) and the pool's in-order results (which fill the front batch).
    let state = std::cell::RefCell::new(Batches {
        flights: VecDeque::new(),
        verdicts: Vec::new(),
        done: 0,
        failed_closed: BTreeMap::new(),
        emit,
    });
    let path = source.path.clone();
    let mut sent = 0u64;
    crate::ordered_pool::run(
        threads,
        new_scanner,
        finish,
        &|scanner: &mut Scanner<'r>, (prompts, first_row): (ArrayRef, u64)| {
            scan_rows(scanner, prompts.as_ref(), first_row, embeds)
                .with_context(|| path.display().to_string())
        },
        |send| {
            let mut row = 0u64;
            while let Some(batch) = source.next_batch(row) {
                let batch = batch?;
                let prompts = source.prompts(&batch)?;
                let rows = batch.num_rows();
                let mut start = 0;
                while start < rows {
                    let len = chunk.min(rows - start);
                    send((prompts.slice(start, len), row + start as u64))?;
                    sent += 1;
                    start += len;
                }
                let kept_columns = kept
                    .iter()
                    .map(|&i| {
                        batch.columns().get(i).cloned().ok_or_else(|| {
                            anyhow!("{}: a batch lacks column {i}", source.path.display())
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let mut state = state.borrow_mut();
                state.flights.push_back(InFlight {
                    kept: kept_columns,
                    rows,
                    end: sent,
                });
                state.emit_finished()?;
                row += rows as u64;
            }
            Ok(())
        },
        &mut |out: ChunkOut| state.borrow_mut().add(out),
    )?;
    let mut state = state.into_inner();
    state.emit_finished()?;
    Ok(state.failed_closed)
}

/// The batches read and not yet written, and the verdicts of their chunks
/// so far (in order).
struct Batches<'e> {
    flights: VecDeque<InFlight>,
    verdicts: Vec<Verdict>,
    /// Chunks whose verdicts are in.
    done: u64,
    failed_closed: BTreeMap<SharedStr, SharedStr>,
    emit: &'e mut dyn FnMut(InFlight, Vec<Verdict>) -> Result<()>,
}

impl Batches<'_> {
    /// The next chunk's result: first writes the batches it comes after.
    fn add(&mut self, out: ChunkOut) -> Result<()> {
        self.emit_finished()?;
        self.verdicts.extend(out.verdicts);
        for (rule, why) in out.failed_closed {
            self.failed_closed.entry(rule).or_insert(why);
        }
        self.done += 1;
        Ok(())
    }

    /// Writes every front batch whose chunks are all in.
    fn emit_finished(&mut self) -> Result<()> {
        while self.flights.front().is_some_and(|f| f.end <= self.done) {
            if let Some(flight) = self.flights.pop_front() {
                (self.emit)(flight, std::mem::take(&mut self.verdicts))?;
            }
        }
        Ok(())
    }
}
