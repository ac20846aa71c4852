//! `novac fmt PATH...`: rewrite rule files in the canonical layout of
//! [`novac_fmt`]; `--check` reports (with a unified diff) instead of writing;
//! `--stdin` formats standard input to standard output.
//!
//! Files with errors are never touched: their diagnostics go to stderr and
//! the exit code is 2. Otherwise the exit code is 0, or 1 with `--check`
//! when some file is not formatted.

use anyhow::{bail, Context, Result};
use clap::Args;
use novac_fmt::FormatError;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Arguments of `novac fmt`.
#[derive(Args, Debug)]
pub struct FmtArgs {
    /// Rule files, or directories searched for `.nov` files.
    #[arg(required_unless_present = "stdin", conflicts_with = "stdin")]
    paths: Vec<PathBuf>,
    /// Do not write; exit 1 and print a diff when a file is not formatted.
    #[arg(long)]
    check: bool,
    /// Format standard input and write the result to standard output.
    #[arg(long)]
    stdin: bool,
    #[command(flatten)]
    config: crate::config::ConfigChoice,
}

/// What happened to one source.
enum Outcome {
    Unchanged,
    Changed,
    Failed,
}

pub fn run(args: FmtArgs) -> Result<u8> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.stdin {
        crate::config::ConfigCache::new(args.config.clone())?;
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read stdin")?;
        return Ok(match format_one("<stdin>", &text) {
            None => 2,
            Some(formatted) if args.check => {
                if formatted == text {
                    0
                } else {
                    write!(out, "{}", novac_fmt::diff("<stdin>", &text, &formatted))?;
                    1
                }
            }
            Some(formatted) => {
                write!(out, "{formatted}")?;
                0
            }
        });
    }
    let mut files = Vec::new();
    for path in &args.paths {
        files.extend(novac::collect_rule_files(path)?);
    }
    if files.is_empty() {
        bail!("no .nov files found");
    }
    let (mut changed, mut failed) = (0usize, 0usize);
    // novac.toml: a malformed configuration stops fmt as it stops check
    // (fmt has no settings of its own yet; the policy does not change layout).
    let mut configs = crate::config::ConfigCache::new(args.config.clone())?;
    for file in &files {
        configs.for_file(file)?;
        match fmt_file(file, args.check, &mut out)? {
            Outcome::Unchanged => {}
            Outcome::Changed => changed += 1,
            Outcome::Failed => failed += 1,
        }
    }
    let n = files.len();
    let s = |k: usize| if k == 1 { "" } else { "s" };
    if args.check {
        if changed > 0 {
            eprintln!(
                "{changed} of {n} file{} would be reformatted (run `novac fmt` on them)",
                s(n)
            );
        }
    } else {
        eprintln!("{changed} of {n} file{} reformatted", s(n));
    }
    if failed > 0 {
        eprintln!("{failed} file{} not formatted because of errors", s(failed));
        return Ok(2);
    }
    Ok(u8::from(args.check && changed > 0))
}

fn fmt_file(file: &Path, check: bool, out: &mut impl Write) -> Result<Outcome> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.display().to_string();
    let Ok(text) = String::from_utf8(bytes) else {
        eprintln!("error: {name}: not valid UTF-8; not formatted");
        return Ok(Outcome::Failed);
    };
    let Some(formatted) = format_one(&name, &text) else {
        return Ok(Outcome::Failed);
    };
    if formatted == text {
        return Ok(Outcome::Unchanged);
    }
    if check {
        write!(out, "{}", novac_fmt::diff(&name, &text, &formatted))?;
    } else {
        std::fs::write(file, &formatted).with_context(|| format!("cannot write {name}"))?;
    }
    Ok(Outcome::Changed)
}

/// Formats one source, printing why not to stderr.
fn format_one(name: &str, text: &str) -> Option<String> {
    match novac_fmt::format_source(text) {
        Ok(formatted) => Some(formatted),
        Err(FormatError::Invalid { diagnostics }) => {
            let color = crate::stderr_color();
            for d in diagnostics.iter().filter(|d| d.is_error()) {
                eprintln!("{}\n", d.render(name, text, color));
            }
            eprintln!("error: {name}: not formatted because it has errors");
            None
        }
        Err(e) => {
            eprintln!("error: {name}: {e}");
            None
        }
    }
}
