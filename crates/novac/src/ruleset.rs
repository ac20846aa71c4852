//! [`RuleSet`]: a handle to the *current* [`Rules`] of a long-running
//! service, swapped atomically on reload while scans keep running.
//!
//! # How data flows
//!
//! * A `RuleSet` holds an atomically swappable `Arc<`[`RuleSnapshot`]`>`
//!   (the `arc-swap` crate: readers never take a lock and never wait for a
//!   reload). A snapshot is one immutable generation of compiled rules,
//!   numbered 1, 2, 3, …
//! * A scan takes the current snapshot once ([`RuleSet::current`]) and scans
//!   with it to the end, so every result comes entirely from one generation,
//!   even if a reload swaps in a new one meanwhile. The old generation is
//!   freed when its last scan drops its `Arc`.
//! * [`RuleSet::replace`] swaps in rules built by the caller;
//!   [`RuleSet::reload`] recompiles the `.nov` files the set was loaded from
//!   (and reloads the compiled bundles, `.novc`, given by file path).
//!   A reload that fails (a rule error, an unreadable file, no rule files)
//!   changes nothing: the last good rules stay in service and the error,
//!   with every diagnostic, goes back to the caller.
//! * [`RuleSet::watch`] starts a background thread that polls the rule
//!   files (see the `watch` submodule for why polling) and reloads when they
//!   change, reporting each outcome as a [`ReloadEvent`] to a callback.
//!
//! ```
//! use novac::RuleSet;
//! # let dir = std::env::temp_dir().join(format!("novac-doc-ruleset-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let path = dir.join("a.nov");
//! std::fs::write(&path, "rule A {\n keywords:\n  $a = \"alpha\"\n condition:\n  $a\n}\n")?;
//! let set = RuleSet::from_paths([&path])?;
//! assert_eq!(set.scan("alpha").matched_names(), ["A"]);
//!
//! // A broken edit is refused; generation 1 stays in service.
//! std::fs::write(&path, "rule A {\n keywords:\n  $a = \"alpha\"\n condition:\n  $b\n}\n")?;
//! assert!(set.reload().is_err());
//! assert_eq!(set.generation(), 1);
//!
//! std::fs::write(&path, "rule B {\n keywords:\n  $b = \"beta\"\n condition:\n  $b\n}\n")?;
//! assert_eq!(set.reload()?, 2);
//! assert_eq!(set.scan("alpha beta").matched_names(), ["B"]);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod watch;

use crate::compiler::{CompileError, CompileOptions, Compiler, SourceReport};
use crate::results::ScanResult;
use crate::rules::Rules;
use crate::scanner::Scanner;
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub use watch::{WatchOptions, Watcher};

/// One generation of compiled rules, shared by the scans that use it.
///
/// Dereferences to [`Rules`], so `Scanner::new(&snapshot)` works.
#[derive(Debug)]
pub struct RuleSnapshot {
    rules: Rules,
    generation: u64,
    files: Vec<PathBuf>,
}

impl RuleSnapshot {
    /// The compiled rules.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The generation number: 1 for the first rules, +1 for each successful
    /// reload or replacement.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The `.nov` files these rules were compiled from (empty when the rules
    /// were given with [`RuleSet::new`] or [`RuleSet::replace`]).
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

impl std::ops::Deref for RuleSnapshot {
    type Target = Rules;

    fn deref(&self) -> &Rules {
        &self.rules
    }
}

/// Why a (re)load was refused. The rules in service are unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// Some rule files have errors; `reports` holds the failing files with
    /// all of their diagnostics (render them with [`ReloadError::render`]).
    #[error("{errors} error(s) in {} rule file(s), first: {first}", reports.len())]
    Invalid {
        /// Number of errors over all files.
        errors: usize,
        /// The first error, as `file:line:column: message [code]`.
        first: String,
        /// The files that have errors, with their text and diagnostics.
        reports: Vec<SourceReport>,
    },
    /// The rule paths hold no `.nov` file (refused so that a moved or
    /// emptied directory does not silently disable every rule).
    #[error("no .nov rule files under {}", display_paths(paths))]
    NoRuleFiles {
        /// The paths that were searched.
        paths: Vec<PathBuf>,
    },
    /// A rule file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The checked rules could not be built (a size limit was exceeded).
    #[error(transparent)]
    Build(CompileError),
    /// A compiled bundle (`novac compile`) among the rule paths could not be
    /// loaded or merged with the other rules.
    #[error("cannot load the bundle {}: {source}", path.display())]
    Bundle {
        /// The bundle.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::bundle::BundleError,
    },
    /// The set was made from compiled rules ([`RuleSet::new`]), so there are
    /// no files to reload from.
    #[error("this rule set has no rule files to reload (it was made from compiled rules)")]
    NoSources,
}

impl ReloadError {
    /// The error with every diagnostic rendered (source excerpts, labels,
    /// notes), as `novac check` prints them.
    pub fn render(&self, color: bool) -> String {
        let mut out = self.to_string();
        if let ReloadError::Invalid { reports, .. } = self {
            for report in reports {
                let index = novac_syntax::LineIndex::new(&report.text);
                for d in report.diagnostics.iter().filter(|d| d.is_error()) {
                    out.push_str("\n\n");
                    out.push_str(&d.render_indexed(&report.origin, &report.text, &index, color));
                }
            }
        }
        out
    }

    /// The diagnostics of the failing files (empty for other errors).
    pub fn reports(&self) -> &[SourceReport] {
        match self {
            ReloadError::Invalid { reports, .. } => reports,
            _ => &[],
        }
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

/// What a reload (by [`RuleSet::watch`]) did.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReloadEvent {
    /// New rules are in service.
    Reloaded {
        /// Their generation.
        generation: u64,
        /// Number of rules.
        rules: usize,
        /// Number of `.nov` files they came from.
        files: usize,
    },
    /// The files changed but the new rules were refused; the rules of
    /// generation `kept` stay in service.
    Failed {
        /// Why.
        error: ReloadError,
        /// The generation still in service.
        kept: u64,
    },
}

/// A handle to the rules currently in service; see the [module docs](self).
///
/// `RuleSet` is `Send + Sync`: share it with an `Arc` between the threads
/// that scan and the one that reloads.
pub struct RuleSet {
    current: ArcSwap<RuleSnapshot>,
    sources: Vec<PathBuf>,
    /// Makes the configured compiler of each (re)load.
    new_compiler: Box<CompilerFactory>,
    /// Serialises reloads; holds what the files looked like at the last load.
    state: Mutex<watch::Fingerprint>,
}

/// Makes a configured [`Compiler`] (options, embedder, ...) for each load.
type CompilerFactory = dyn Fn() -> Compiler + Send + Sync;

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("generation", &self.generation())
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

impl RuleSet {
    /// A set serving `rules` (generation 1). It has no files to reload from;
    /// use [`RuleSet::replace`] to swap in new rules.
    pub fn new(rules: Rules) -> RuleSet {
        RuleSet {
            current: ArcSwap::from_pointee(RuleSnapshot {
                rules,
                generation: 1,
                files: Vec::new(),
            }),
            sources: Vec::new(),
            new_compiler: Box::new(Compiler::new),
            state: Mutex::new(watch::Fingerprint::default()),
        }
    }

    /// Compiles the `.nov` files at `paths` (files, or directories searched
    /// recursively) into generation 1.
    pub fn from_paths<P: AsRef<Path>>(
        paths: impl IntoIterator<Item = P>,
    ) -> Result<RuleSet, ReloadError> {
        RuleSet::from_paths_with_options(paths, CompileOptions::default())
    }

    /// [`RuleSet::from_paths`] with checker options (kept for every reload).
    pub fn from_paths_with_options<P: AsRef<Path>>(
        paths: impl IntoIterator<Item = P>,
        options: CompileOptions,
    ) -> Result<RuleSet, ReloadError> {
        RuleSet::from_paths_with(paths, move || Compiler::with_options(options.clone()))
    }

    /// [`RuleSet::from_paths`] compiling with the compilers `new_compiler`
    /// makes, one per (re)load: set options, an embedder, or
    /// [`Compiler::allow_missing_model`] there.
    ///
    /// ```no_run
    /// let set = novac::RuleSet::from_paths_with(["rules/"], || {
    ///     let mut compiler = novac::Compiler::new();
    ///     compiler.allow_missing_model(true);
    ///     compiler
    /// })?;
    /// # Ok::<(), novac::ReloadError>(())
    /// ```
    pub fn from_paths_with<P: AsRef<Path>>(
        paths: impl IntoIterator<Item = P>,
        new_compiler: impl Fn() -> Compiler + Send + Sync + 'static,
    ) -> Result<RuleSet, ReloadError> {
        let sources: Vec<PathBuf> = paths
            .into_iter()
            .map(|p| p.as_ref().to_path_buf())
            .collect();
        let (fingerprint, texts) = watch::read_sources(&sources)?;
        let (rules, files) = compile(&sources, texts, &new_compiler)?;
        Ok(RuleSet {
            current: ArcSwap::from_pointee(RuleSnapshot {
                rules,
                generation: 1,
                files,
            }),
            sources,
            new_compiler: Box::new(new_compiler),
            state: Mutex::new(fingerprint),
        })
    }

    /// The rules in service now. Scan with the returned snapshot from start
    /// to end; hold it no longer than one scan (or one batch), so that old
    /// generations are freed.
    pub fn current(&self) -> Arc<RuleSnapshot> {
        self.current.load_full()
    }

    /// The generation in service now.
    pub fn generation(&self) -> u64 {
        self.current.load().generation
    }

    /// The rule paths the set reloads from (empty for [`RuleSet::new`]).
    pub fn sources(&self) -> &[PathBuf] {
        &self.sources
    }

    /// Scans `prompt` with the rules in service (default options, no
    /// semantic or LLM hooks). For options or hooks, build a
    /// [`Scanner`] on [`RuleSet::current`].
    pub fn scan(&self, prompt: &str) -> ScanResult {
        let snapshot = self.current();
        let result = Scanner::new(&snapshot).scan(prompt);
        result
    }

    /// Swaps in `rules` as the next generation and returns its number. Scans
    /// already running finish on the rules they started with.
    pub fn replace(&self, rules: Rules) -> u64 {
        let _state = self.lock();
        self.install(rules, Vec::new())
    }

    /// Recompiles the rule files and swaps them in; returns the new
    /// generation. On any error the rules in service are kept.
    pub fn reload(&self) -> Result<u64, ReloadError> {
        if self.sources.is_empty() {
            return Err(ReloadError::NoSources);
        }
        let mut state = self.lock();
        let (fingerprint, texts) = watch::read_sources(&self.sources)?;
        let result = compile(&self.sources, texts, &*self.new_compiler);
        *state = fingerprint;
        let (rules, files) = result?;
        Ok(self.install(rules, files))
    }

    /// Reloads only if the rule files changed since the last (attempted)
    /// load: `Ok(None)` when nothing changed. A failed attempt is not
    /// retried until the files change again.
    pub fn reload_if_changed(&self) -> Result<Option<u64>, ReloadError> {
        if self.sources.is_empty() {
            return Ok(None);
        }
        let mut state = self.lock();
        if !state.changed(&self.sources)? {
            return Ok(None);
        }
        let (fingerprint, texts) = watch::read_sources(&self.sources)?;
        let result = compile(&self.sources, texts, &*self.new_compiler);
        *state = fingerprint;
        let (rules, files) = result?;
        Ok(Some(self.install(rules, files)))
    }

    /// Polls the rule files in a background thread and reloads them when
    /// they change; `on_event` hears of every reload and every refused one.
    /// The thread stops when the returned [`Watcher`] is dropped.
    ///
    /// To receive events on a channel, pass `move |e| { let _ = tx.send(e); }`.
    pub fn watch(
        self: &Arc<Self>,
        options: WatchOptions,
        on_event: impl FnMut(ReloadEvent) + Send + 'static,
    ) -> Result<Watcher, ReloadError> {
        if self.sources.is_empty() {
            return Err(ReloadError::NoSources);
        }
        watch::spawn(Arc::clone(self), options, Box::new(on_event))
    }

    /// Swaps in the next generation (the caller holds the state lock).
    fn install(&self, rules: Rules, files: Vec<PathBuf>) -> u64 {
        let generation = self.current.load().generation + 1;
        self.current.store(Arc::new(RuleSnapshot {
            rules,
            generation,
            files,
        }));
        generation
    }

    fn lock(&self) -> MutexGuard<'_, watch::Fingerprint> {
        // A panic while holding the lock cannot leave the fingerprint in a
        // state worse than "stale", which only causes one extra reload.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Compiles the rule files from the bytes [`watch::read_sources`] read
/// (invalid UTF-8 replaced, as [`Compiler::add_path`] does); files that are
/// compiled bundles (`novac compile`, recognised by their magic bytes) are
/// loaded and merged after the sources.
fn compile(
    sources: &[PathBuf],
    texts: watch::Texts,
    new_compiler: &CompilerFactory,
) -> Result<(Rules, Vec<PathBuf>), ReloadError> {
    if texts.is_empty() {
        return Err(ReloadError::NoRuleFiles {
            paths: sources.to_vec(),
        });
    }
    let mut compiler = new_compiler();
    let mut first = None;
    let mut bundles = Vec::new();
    for (path, bytes) in &texts {
        if crate::bundle::is_bundle(bytes) {
            bundles.push((path, bytes));
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        if let Err(CompileError::Invalid {
            origin, first: f, ..
        }) = compiler.add_named_source(&path.display().to_string(), &text)
        {
            first.get_or_insert_with(|| format!("{origin}:{f}"));
        }
    }
    if let Some(first) = first {
        let reports: Vec<SourceReport> = compiler
            .reports()
            .iter()
            .filter(|r| r.errors() > 0)
            .cloned()
            .collect();
        return Err(ReloadError::Invalid {
            errors: reports.iter().map(SourceReport::errors).sum(),
            first,
            reports,
        });
    }
    let mut rules = compiler.build().map_err(ReloadError::Build)?;
    if let Some((first_bundle, _)) = bundles.first() {
        let bundle_error = |path: &PathBuf| {
            let path = path.clone();
            move |source| ReloadError::Bundle { path, source }
        };
        let mut parts = vec![rules];
        for (path, bytes) in &bundles {
            parts.push(Rules::deserialize(bytes).map_err(bundle_error(path))?);
        }
        rules = Rules::merge(parts).map_err(bundle_error(first_bundle))?;
        if let Some(model) = rules.embedder().cloned() {
            // Keeps the bundles' vectors of the same model, embeds the others.
            rules
                .set_embedder(model)
                .map_err(|e| ReloadError::Build(CompileError::Embedding(e)))?;
        }
    }
    Ok((rules, texts.into_iter().map(|(path, _)| path).collect()))
}

#[cfg(test)]
mod tests;
