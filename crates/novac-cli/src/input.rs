//! Reading prompts for `novac scan`: JSONL objects with a `"prompt"` field
//! (and an optional `"id"`), or plain text with one prompt per line.

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
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
}

/// One prompt to scan.
#[derive(Debug)]
pub struct Prompt {
    /// The `id` from the input, else the 0-based index.
    pub id: serde_json::Value,
    /// The text.
    pub text: String,
}

/// Reads prompts from `reader` in batches of `batch` and calls `f` on each batch.
pub fn for_each_batch(
    reader: impl BufRead,
    format: InputFormat,
    batch: usize,
    mut f: impl FnMut(Vec<Prompt>) -> Result<()>,
) -> Result<()> {
    let mut format = format;
    let mut pending = Vec::with_capacity(batch);
    let mut index = 0u64;
    for (line_no, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("cannot read input line {}", line_no + 1))?;
        let line = line.strip_suffix('\r').unwrap_or(&line).to_string();
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
                let value: serde_json::Value = serde_json::from_str(&line)
                    .with_context(|| format!("input line {}: not valid JSON", line_no + 1))?;
                let Some(text) = value.get("prompt").and_then(|p| p.as_str()) else {
                    bail!(
                        "input line {}: expected an object with a string field \"prompt\"",
                        line_no + 1
                    );
                };
                let id = value
                    .get("id")
                    .cloned()
                    .unwrap_or_else(|| serde_json::Value::from(index));
                Prompt {
                    id,
                    text: text.to_string(),
                }
            }
            _ => Prompt {
                id: serde_json::Value::from(index),
                text: line,
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
