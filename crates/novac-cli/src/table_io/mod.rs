//! `novac scan` over tables: prompts from a string column of a Parquet or
//! Arrow IPC file, verdicts written back as a table aligned with the input.
//!
//! ```text
//! novac scan -r rules --input data.parquet --column prompt --output results.parquet
//! ```
//!
//! Data flow: the input is read one record batch at a time (Parquet: up to
//! [`READ_BATCH_ROWS`] rows of one row group; Arrow IPC: the batches as
//! written). Each batch's prompt column is cut into chunks that go, as
//! zero-copy slices, to the scan threads (one `Scanner` each, kept for the
//! run, as in `scan.rs`); this thread reassembles the verdicts in input
//! order, appends the `matched` and `matched_rules` columns to the batch's
//! kept columns and writes the batch. At most a few batches are in flight,
//! so memory stays bounded by the batch size (plus, for Parquet output, one
//! row group of at most [`ROW_GROUP_BYTES`]) whatever the file's size.
//!
//! Without `--output`, the prompts go through the normal `novac scan`
//! output (`--format human|json|jsonl`) with the 0-based row number as id;
//! null prompts are skipped there (their row number is missing).
//!
//! Cost: beyond the scan itself, one decode of the kept columns and one
//! encode of the output (Parquet: zstd level 1); prompts are read in place
//! from the Arrow buffers, never copied (except into `Prompt`s for the
//! normal output). The `tables` feature (parquet + arrow-ipc, default on)
//! costs about 7 CPU-minutes of cold build (about 4 min on two idle cores);
//! see the README.

use anyhow::Result;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

/// Table options of `novac scan`.
#[derive(Args, Debug)]
pub struct TableArgs {
    /// Parquet or Arrow input: the string column holding the prompts.
    #[arg(long, value_name = "NAME", default_value = "prompt")]
    column: String,
    /// Write the results as a table (Parquet, or Arrow IPC: by extension or
    /// --output-format): the input's rows, its columns (see --keep-columns)
    /// and the columns `matched` (bool) and `matched_rules` (list<string>).
    /// Needs a Parquet or Arrow --input.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Format of --output.
    #[arg(long, value_enum, default_value_t = OutputFormat::Auto)]
    output_format: OutputFormat,
    /// Input columns copied to --output, comma-separated (default: all;
    /// `--keep-columns ""` for the two result columns only).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    keep_columns: Option<Vec<String>>,
}

/// Table formats `novac scan --output` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// By extension: `.parquet`, `.arrow`/`.feather`/`.ipc` (IPC file), `.arrows` (IPC stream).
    Auto,
    /// Parquet (zstd).
    Parquet,
    /// Arrow IPC file format (Feather v2).
    Arrow,
    /// Arrow IPC stream format.
    ArrowStream,
}

pub use crate::input::TableFormat;

/// The table format of an input file given `--input-format auto`: by
/// extension, else by its first bytes (Parquet `PAR1`, Arrow file
/// `ARROW1`). A `.arrow` file that does not start with `ARROW1` is read as
/// an IPC stream (Hugging Face `datasets` writes those). `None`: not a
/// table (JSONL or text).
pub fn detect(path: &Path) -> Option<TableFormat> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let mut magic = [0u8; 6];
    let read = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut magic))
        .unwrap_or(0);
    let head = magic.get(..read).unwrap_or(&[]);
    match ext.as_deref() {
        Some("parquet" | "parq" | "pq") => Some(TableFormat::Parquet),
        Some("arrows") => Some(TableFormat::ArrowStream),
        Some("arrow" | "feather" | "ipc") if head == b"ARROW1" || read == 0 => {
            Some(TableFormat::ArrowFile)
        }
        Some("arrow" | "feather" | "ipc") => Some(TableFormat::ArrowStream),
        _ if head.starts_with(b"PAR1") => Some(TableFormat::Parquet),
        _ if head == b"ARROW1" => Some(TableFormat::ArrowFile),
        _ => None,
    }
}

/// What `novac scan` does with a table input.
#[cfg_attr(not(feature = "tables"), allow(dead_code))] // built only with the feature
pub enum Plan {
    /// Prompts go through the normal output; call [`Source::for_each_batch`].
    Stdout(Source),
    /// Results go to a table file; call [`Job::run`].
    File(Box<Job>),
}

/// Decides, before rules are loaded, whether this scan reads a table, and
/// opens and checks input and output (missing column, wrong type,
/// unreadable file, unwritable output) so that bad input fails fast.
/// `Ok(None)`: not a table input; the normal scan goes on.
pub fn plan(
    input: Option<&Path>,
    format: Option<TableFormat>,
    args: &TableArgs,
) -> Result<Option<Plan>> {
    let table_format = match (input, format) {
        (Some(path), Some(f)) if path.as_os_str() != "-" => Some(f),
        (Some(_), Some(_)) => {
            anyhow::bail!("Parquet and Arrow input must be a file, not stdin (`--input -`)")
        }
        (Some(path), None) if path.as_os_str() != "-" => detect(path),
        _ => None,
    };
    let (Some(path), Some(table_format)) = (input, table_format) else {
        if args.output.is_some() {
            anyhow::bail!(
                "--output writes Parquet or Arrow and needs a Parquet or Arrow --input \
                 (by extension, or --input-format parquet|arrow|arrow-stream)"
            );
        }
        return Ok(None);
    };
    arrow_io::plan(path, table_format, args).map(Some)
}

#[cfg(feature = "tables")]
mod arrow_io;
#[cfg(feature = "tables")]
pub use arrow_io::{Job, Source};

#[cfg(not(feature = "tables"))]
mod arrow_io {
    //! Stand-ins when novac is built without the `tables` feature.
    use super::{Plan, TableArgs, TableFormat};
    use anyhow::Result;
    use std::path::Path;

    /// Never built: [`plan`] refuses table input.
    pub enum Never {}
    pub type Source = Never;
    pub type Job = Never;

    pub fn plan(path: &Path, _: TableFormat, _: &TableArgs) -> Result<Plan> {
        anyhow::bail!(
            "{}: reading Parquet or Arrow needs novac built with the `tables` feature",
            path.display()
        )
    }

    impl Never {
        pub fn for_each_batch(
            self,
            _: usize,
            _: &mut dyn FnMut(Vec<crate::input::Prompt>) -> Result<()>,
        ) -> Result<()> {
            match self {}
        }

        pub fn run<'r, S, F>(self, _: usize, _: &S, _: &F, _: bool) -> Result<u8>
        where
            S: Fn() -> novac::Scanner<'r> + Sync,
            F: Fn(&mut novac::Scanner<'r>) + Sync,
        {
            match self {}
        }
    }
}
#[cfg(not(feature = "tables"))]
pub use arrow_io::{Job, Source};
