//! Loading rules: the one place where the CLI turns rule paths (`.nov`
//! files, directories of them, and compiled bundles `.novc`) into [`Rules`].
//! `novac scan`, `novac compile`, `novac test` and `novac mcp` all load
//! through here, so they accept the same inputs and fail the same way.
//!
//! Cost: compiling is the engine's (parse, check, build the matchers); a
//! bundle costs one read and a deserialize. Each path is read once, except
//! that bundle detection reads the first bytes of every file path.

use anyhow::{bail, Context, Result};
use novac::{Compiler, Rules};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::semantic::SemanticArgs;

/// Compiles the rule paths with the semantic options (a model, or the
/// reference's fail-closed behaviour), merging any compiled bundles among
/// them; prints the diagnostics of failing files to stderr.
pub fn compile_with(paths: &[PathBuf], semantic: &SemanticArgs) -> Result<Rules> {
    if let Some(rules) = with_bundles(paths, semantic)? {
        return Ok(rules);
    }
    compile_sources(paths, semantic)
}

/// Compiles `.nov` paths only (no bundle detection).
fn compile_sources(paths: &[PathBuf], semantic: &SemanticArgs) -> Result<Rules> {
    let mut compiler = Compiler::new();
    crate::semantic::configure(&mut compiler, semantic)?;
    let mut failed = false;
    for path in paths {
        match compiler.add_path(path) {
            Ok(_) => {}
            Err(e @ novac::CompileError::Io { .. }) => return Err(e.into()),
            Err(_) => failed = true,
        }
    }
    if failed {
        let color = crate::stderr_color();
        for report in compiler.reports() {
            for d in report.diagnostics.iter().filter(|d| d.is_error()) {
                eprintln!("{}\n", d.render(&report.origin, &report.text, color));
            }
        }
        let errors: usize = compiler.reports().iter().map(|r| r.errors()).sum();
        bail!("the rules have {errors} error(s); run `novac check` for details");
    }
    Ok(compiler.build()?)
}

/// Whether `path` is a file that starts with the bundle magic bytes.
fn is_bundle_file(path: &Path) -> bool {
    let mut head = [0u8; novac::bundle::MAGIC.len()];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|_| novac::bundle::is_bundle(&head))
}

/// When some of `paths` are bundles: loads them, compiles the other paths
/// (with `semantic`), and merges everything in path order of kind (sources
/// first). `None` when no path is a bundle.
fn with_bundles(paths: &[PathBuf], semantic: &SemanticArgs) -> Result<Option<Rules>> {
    let (bundles, sources): (Vec<&PathBuf>, Vec<&PathBuf>) =
        paths.iter().partition(|p| is_bundle_file(p));
    if bundles.is_empty() {
        return Ok(None);
    }
    let sources: Vec<PathBuf> = sources.into_iter().cloned().collect();
    // Compiling no source still attaches the configured model, which the merge keeps.
    let mut parts = vec![compile_sources(&sources, semantic)?];
    for path in bundles {
        let rules =
            Rules::load_bundle(path).with_context(|| format!("cannot load {}", path.display()))?;
        parts.push(rules);
    }
    let mut rules = Rules::merge(parts)?;
    if let Some(model) = rules.embedder().cloned() {
        // Keeps stored vectors of the same model, embeds the phrases otherwise.
        rules.set_embedder(model)?;
    }
    Ok(Some(rules))
}

/// Compiles one rule file for `novac test`; on failure records its errors
/// (rendered without color) in `errors` and returns `None`.
pub fn compile_file(
    path: &Path,
    semantic: &SemanticArgs,
    configs: &mut crate::config::ConfigCache,
    errors: &mut Vec<String>,
) -> Option<Rules> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            errors.push(format!("{}: cannot read: {e}", path.display()));
            return None;
        }
    };
    let mut compiler = Compiler::new();
    if let Err(e) = crate::semantic::configure(&mut compiler, semantic) {
        errors.push(format!("{}: {e:#}", path.display()));
        return None;
    }
    let origin = path.display().to_string();
    if compiler.add_named_source(&origin, &text).is_err() {
        for report in compiler.reports() {
            for d in report.diagnostics.iter().filter(|d| d.is_error()) {
                errors.push(d.render(&report.origin, &report.text, false));
            }
        }
        return None;
    }
    // The project policy (novac.toml): a denied warning or a missing
    // required meta key fails the file.
    let config = match configs.for_file(path) {
        Ok(c) => c,
        Err(e) => {
            errors.push(format!("{e:#}"));
            return None;
        }
    };
    if let Some(report) = compiler.reports().first() {
        let mut diagnostics = report.diagnostics.clone();
        config.apply(&text, &mut diagnostics);
        let denied: Vec<String> = diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.render(&report.origin, &report.text, false))
            .collect();
        if !denied.is_empty() {
            errors.extend(denied);
            return None;
        }
    }
    match compiler.build() {
        Ok(rules) => Some(rules),
        Err(e) => {
            errors.push(format!("{}: {e}", path.display()));
            None
        }
    }
}

/// The reloadable rule set of a long-running command (`novac mcp`, `novac
/// mcp proxy`, `novac serve`): compiled with [`compiler_factory`]'s
/// compilers, rendered diagnostics as the error, and the one warning when
/// rules with semantics have no model.
pub fn rule_set(
    paths: &[PathBuf],
    semantic: &SemanticArgs,
) -> Result<std::sync::Arc<novac::RuleSet>> {
    let new_compiler = compiler_factory(semantic)?;
    let rules = match novac::RuleSet::from_paths_with(paths, new_compiler) {
        Ok(set) => std::sync::Arc::new(set),
        Err(e) => bail!("{}", e.render(crate::stderr_color())),
    };
    crate::semantic::warn_without_model(&rules.current(), semantic)?;
    Ok(rules)
}

/// Makes the compiler of each (re)load of `novac mcp`'s rule set: the
/// embedding model is loaded once and shared by every generation; without
/// one, rules that use semantics fail closed (or, with `--require-model`,
/// are refused).
pub fn compiler_factory(
    semantic: &SemanticArgs,
) -> Result<impl Fn() -> Compiler + Send + Sync + 'static> {
    let mut probe = Compiler::new();
    let embedder = if crate::semantic::configure(&mut probe, semantic)? {
        let rules = probe.build().context("cannot load the embedding model")?;
        Some(
            rules
                .embedder()
                .cloned()
                .context("the embedding model was not attached")?,
        )
    } else {
        None
    };
    let allow_missing = !semantic.require_model;
    Ok(move || {
        let mut compiler = Compiler::new();
        match &embedder {
            Some(model) => compiler.embedder(model.clone()),
            None => compiler.allow_missing_model(allow_missing),
        };
        compiler
    })
}

/// Starts `--watch` for a long-running command (`novac mcp`, `novac mcp
/// proxy`): each reload is logged on stderr as `{who}: reloaded: ...`
/// (unless `quiet`); an edit that does not compile prints its diagnostics
/// and the generation that stays in service. The rules are polled every
/// `interval_ms` milliseconds (at least 1) until the watcher is dropped.
pub fn watch(
    rules: &std::sync::Arc<novac::RuleSet>,
    interval_ms: u64,
    who: &'static str,
    quiet: bool,
) -> Result<novac::Watcher> {
    let options = novac::WatchOptions {
        interval: std::time::Duration::from_millis(interval_ms.max(1)),
        ..novac::WatchOptions::default()
    };
    rules
        .watch(options, move |event| match event {
            novac::ReloadEvent::Reloaded {
                generation,
                rules,
                files,
            } if !quiet => eprintln!(
                "{who}: reloaded: generation {generation}, {rules} rule(s) from {files} file(s)"
            ),
            novac::ReloadEvent::Failed { error, kept } => eprintln!(
                "{who}: error: the new rules were refused; generation {kept} stays in service: {}",
                error.render(crate::stderr_color())
            ),
            _ => {}
        })
        .context("cannot watch the rules")
}
