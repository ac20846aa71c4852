//! Reading prompts for `novac scan`: JSONL objects with a `"prompt"` field
//! (and an optional `"id"`), or plain text with one prompt per line.
//!
//! Cost: one pass over the input through a reused line buffer; a JSONL
//! line is parsed once, straight into the prompt (its text is the only
//! allocation unless the line has an `id`).

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use serde::Deserialize;
use std::borrow::Cow;
use std::io::BufRead;

/// How an input file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// JSONL if the first non-empty line is a JSON object, else text.
    Auto,
    /// One JSON object per line: `{"prompt": "...", "id": ...}`.
    Jsonl,
    /// One prompt per line.
    Text,
    /// Parquet: the string column named by `--column` (auto: `.parquet` or `PAR1`).
    Parquet,
    /// Arrow IPC file format, also Feather v2 (auto: `.arrow`, `.feather`, `.ipc`).
    Arrow,
    /// Arrow IPC stream format (auto: `.arrows`).
    ArrowStream,
}

impl InputFormat {
    /// The table format this names, if it names one.
    pub fn table(self) -> Option<TableFormat> {
        match self {
            InputFormat::Parquet => Some(TableFormat::Parquet),
            InputFormat::Arrow => Some(TableFormat::ArrowFile),
            InputFormat::ArrowStream => Some(TableFormat::ArrowStream),
            InputFormat::Auto | InputFormat::Jsonl | InputFormat::Text => None,
        }
    }
}

/// A table format the input can be in (read by `crate::table_io`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    Parquet,
    ArrowFile,
    ArrowStream,
}

/// One prompt to scan.
#[derive(Debug)]
pub struct Prompt {
    /// The `id` from the input, else the 0-based index.
    pub id: serde_json::Value,
    /// The text.
    pub text: String,
}

/// One JSONL line as the fast path reads it: the prompt borrowed from the
/// line when it has no escapes, `id` kept as written (`null` included).
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    prompt: Cow<'a, str>,
    #[serde(default, deserialize_with = "present")]
    id: Option<serde_json::Value>,
}

/// `Some` for any value that is present, `null` included.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// Parses one JSONL line. The fast path reads an object straight into
/// [`Line`]; anything it refuses (not an object, a duplicate key, a field
/// of the wrong type) goes through a [`serde_json::Value`], which gives
/// the same result and the same errors as before there was a fast path.
fn parse_jsonl(line: &str, line_no: usize, index: u64) -> Result<Prompt> {
    if line.trim_start().starts_with('{') {
        if let Ok(parsed) = serde_json::from_str::<Line>(line) {
            return Ok(Prompt {
                id: parsed.id.unwrap_or_else(|| serde_json::Value::from(index)),
                text: parsed.prompt.into_owned(),
            });
        }
    }
    let value: serde_json::Value = serde_json::from_str(line)
        .with_context(|| format!("input line {line_no}: not valid JSON"))?;
    let Some(text) = value.get("prompt").and_then(|p| p.as_str()) else {
        bail!("input line {line_no}: expected an object with a string field \"prompt\"");
    };
    let id = value
        .get("id")
        .cloned()
        .unwrap_or_else(|| serde_json::Value::from(index));
    Ok(Prompt {
        id,
        text: text.to_string(),
    })
}

/// Reads prompts from `reader` in batches of `batch` and calls `f` on each batch.
///
/// Lines are read into one reused buffer (no allocation per line besides
/// the prompt's own text); line ends are stripped as [`BufRead::lines`]
/// does, then one more `\r`.
pub fn for_each_batch(
    mut reader: impl BufRead,
    format: InputFormat,
    batch: usize,
    mut f: impl FnMut(Vec<Prompt>) -> Result<()>,
) -> Result<()> {
    let mut format = format;
    let mut pending = Vec::with_capacity(batch);
    let mut index = 0u64;
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        line_no += 1;
        let read = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read input line {line_no}"))?;
        if read == 0 {
            break;
        }
        let mut bytes = buf.as_slice();
        if let Some(rest) = bytes.strip_suffix(b"\n") {
            bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
        }
        let line = std::str::from_utf8(bytes)
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "stream did not contain valid UTF-8",
                )
            })
            .with_context(|| format!("cannot read input line {line_no}"))?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if format == InputFormat::Auto {
            if line.trim().is_empty() {
                continue;
            }
            format = if line.trim_start().starts_with('{') {
                InputFormat::Jsonl
            } else {
                InputFormat::Text
            };
        }
        let prompt = match format {
            InputFormat::Jsonl => {
                if line.trim().is_empty() {
                    continue;
                }
                parse_jsonl(line, line_no, index)?
            }
            _ => Prompt {
                id: serde_json::Value::from(index),
                text: line.to_string(),
            },
        };
        index += 1;
        pending.push(prompt);
        if pending.len() >= batch {
            f(std::mem::replace(&mut pending, Vec::with_capacity(batch)))?;
        }
    }
    if !pending.is_empty() {
        f(pending)?;
    }
    Ok(())
}
