//! `novac check PATH...`: report diagnostics for rule files.

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use novac::{codes, CompileOptions, Compiler, Severity};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `novac check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Rule files, or directories searched for `.nov` files.
    #[arg(required_unless_present = "explain")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit with 1 when there are warnings, too.
    #[arg(long)]
    deny_warnings: bool,
    /// Also lint metadata (required keys, uuid v4, severity, ISO date; W201–W206).
    #[arg(long)]
    meta_lints: bool,
    #[command(flatten)]
    config: crate::config::ConfigChoice,
    /// Print the explanation of a diagnostic code (e.g. E101) and exit.
    #[arg(long, value_name = "CODE")]
    explain: Option<String>,
}

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// rustc-style text with source excerpts.
    Human,
    /// One JSON document with every diagnostic.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

pub fn run(args: CheckArgs) -> Result<u8> {
    if let Some(code) = &args.explain {
        let Some(found) = codes::lookup(code) else {
            bail!("unknown diagnostic code `{code}`")
        };
        println!(
            "{} ({}, {}): {}",
            found.id,
            found.name,
            found.severity.as_str(),
            found.explanation
        );
        return Ok(0);
    }
    let mut compiler = Compiler::with_options(CompileOptions {
        meta_lints: args.meta_lints,
        ..CompileOptions::default()
    });
    let mut files = Vec::new();
    for path in &args.paths {
        files.extend(novac::collect_rule_files(path)?);
    }
    for file in &files {
        let bytes = std::fs::read(file)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        // Errors are in the reports; keep going to report on every file.
        let _ = compiler.add_named_source(&file.display().to_string(), &text);
    }
    // The project policy (novac.toml) over the engine's diagnostics.
    let mut configs = crate::config::ConfigCache::new(args.config.clone())?;
    let mut reports = compiler.reports().to_vec();
    for (report, file) in reports.iter_mut().zip(&files) {
        configs
            .for_file(file)?
            .apply(&report.text, &mut report.diagnostics);
    }
    let reports = &reports[..];
    let errors: usize = reports.iter().map(|r| r.errors()).sum();
    let warnings: usize = reports.iter().map(|r| r.warnings()).sum();
    let rules: usize = reports.iter().map(|r| r.rules).sum();
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Human => {
            let color = crate::stdout_color();
            for report in reports {
                let index = novac_syntax::LineIndex::new(&report.text);
                for d in &report.diagnostics {
                    let text = d.render_indexed(&report.origin, &report.text, &index, color);
                    writeln!(out, "{text}\n")?;
                }
            }
            writeln!(
                out,
                "checked {} file{}, {rules} rule{}: {errors} error{}, {warnings} warning{}",
                files.len(),
                plural(files.len()),
                plural(rules),
                plural(errors),
                plural(warnings)
            )?;
        }
        Format::Json => {
            let diagnostics: Vec<_> = reports
                .iter()
                .flat_map(|r| {
                    let index = novac::syntax::LineIndex::new(&r.text);
                    r.diagnostics
                        .iter()
                        .map(move |d| d.to_json(&r.origin, &r.text, &index))
                        .collect::<Vec<_>>()
                })
                .collect();
            let doc = serde_json::json!({
                "files": files.len(), "rules": rules, "errors": errors, "warnings": warnings,
                "diagnostics": diagnostics,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Sarif => {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&crate::sarif::report(reports))?
            )?;
        }
    }
    let failed = errors > 0
        || (args.deny_warnings
            && reports
                .iter()
                .flat_map(|r| &r.diagnostics)
                .any(|d| d.severity == Severity::Warning));
    Ok(u8::from(failed))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
