//! Change detection for rule files, and the polling [`Watcher`] thread.
//!
//! # Why polling
//!
//! The watcher compares a [`Fingerprint`] of the rule files (the sorted
//! list of `.nov` paths, with each file's length, modification time and a
//! hash of its text) every [`WatchOptions::interval`]. Polling needs no
//! extra crate and no OS notification API, and behaves the same on every
//! platform and file system: it sees atomic "write to a temp file, then
//! rename" saves, files added or removed anywhere below a rule directory,
//! directories replaced wholesale (Kubernetes ConfigMap symlink swaps), and
//! network or container-mounted volumes where inotify events never arrive.
//! Its cost is one `stat` per rule file per interval (a few microseconds
//! each), and a change is seen within one interval, which is fine for rule
//! updates.
//!
//! Modification times can be coarse, so a file whose length and time are
//! unchanged but whose time is less than [`RACY`] old is read and hashed
//! again ("racy" files, as git calls them): an edit within the same clock
//! tick as the previous load is still seen.
//!
//! A change is reloaded [`WatchOptions::settle`] after it is seen, to let
//! an editor finish writing. A refused reload is reported once and not
//! retried until the files change again; the same I/O error (say, the rule
//! directory is missing) is reported once, not at every poll.

use super::{ReloadError, ReloadEvent, RuleSet};
use crate::compiler::{collect_rule_files, CompileError};
use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// Files modified less than this long ago are re-hashed at every poll.
pub const RACY: Duration = Duration::from_secs(2);

/// How [`RuleSet::watch`] polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchOptions {
    /// Time between two looks at the rule files (default 500 ms).
    pub interval: Duration,
    /// Delay between seeing a change and compiling it (default 50 ms).
    pub settle: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            interval: Duration::from_millis(500),
            settle: Duration::from_millis(50),
        }
    }
}

/// What one rule file looked like when it was last read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    hash: u64,
}

/// What the rule files looked like at the last (attempted) load.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fingerprint {
    files: BTreeMap<PathBuf, Stamp>,
}

fn io_error(error: CompileError) -> ReloadError {
    match error {
        CompileError::Io { path, source } => ReloadError::Io { path, source },
        other => ReloadError::Build(other),
    }
}

/// The `.nov` files under `sources`, sorted, without duplicates.
fn rule_files(sources: &[PathBuf]) -> Result<Vec<PathBuf>, ReloadError> {
    let mut files = Vec::new();
    for source in sources {
        files.extend(collect_rule_files(source).map_err(io_error)?);
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

fn read(path: &Path) -> Result<Vec<u8>, ReloadError> {
    std::fs::read(path).map_err(|source| ReloadError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn metadata(path: &Path) -> Result<std::fs::Metadata, ReloadError> {
    std::fs::metadata(path).map_err(|source| ReloadError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The rule files' paths and bytes, as read.
pub(crate) type Texts = Vec<(PathBuf, Vec<u8>)>;

/// Reads every rule file under `sources`: their fingerprint and their bytes.
pub(crate) fn read_sources(sources: &[PathBuf]) -> Result<(Fingerprint, Texts), ReloadError> {
    let mut fingerprint = Fingerprint::default();
    let mut texts = Vec::new();
    for path in rule_files(sources)? {
        // Metadata first: a write racing with the read then shows up as a
        // newer time at the next poll.
        let meta = metadata(&path)?;
        let bytes = read(&path)?;
        let stamp = Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            hash: hash_bytes(&bytes),
        };
        fingerprint.files.insert(path.clone(), stamp);
        texts.push((path, bytes));
    }
    Ok((fingerprint, texts))
}

impl Fingerprint {
    /// Whether the files under `sources` differ from this fingerprint.
    pub(crate) fn changed(&self, sources: &[PathBuf]) -> Result<bool, ReloadError> {
        let files = rule_files(sources)?;
        if files.len() != self.files.len() {
            return Ok(true);
        }
        let now = SystemTime::now();
        for path in files {
            let Some(old) = self.files.get(&path) else {
                return Ok(true);
            };
            let meta = metadata(&path)?;
            let modified = meta.modified().ok();
            if meta.len() != old.len || modified != old.modified {
                return Ok(true);
            }
            let racy = match modified {
                Some(t) => now.duration_since(t).map_or(true, |age| age < RACY),
                None => true,
            };
            if racy && hash_bytes(&read(&path)?) != old.hash {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The handle of a running watcher thread; dropping it stops the thread
/// (and waits for a reload in progress to finish).
#[derive(Debug)]
pub struct Watcher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Stops the watcher (the same as dropping it).
    pub fn stop(self) {}
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread with `Disconnected`.
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

type Callback = Box<dyn FnMut(ReloadEvent) + Send>;

pub(super) fn spawn(
    set: Arc<RuleSet>,
    options: WatchOptions,
    mut on_event: Callback,
) -> Result<Watcher, ReloadError> {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("novac-rules-watch".into())
        .spawn(move || {
            let mut last_error: Option<String> = None;
            loop {
                match stopped.recv_timeout(options.interval) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
                let changed = {
                    let state = set.lock();
                    state.changed(&set.sources)
                };
                match changed {
                    Ok(false) => {
                        last_error = None;
                        continue;
                    }
                    Ok(true) => {}
                    Err(error) => {
                        report_error(&set, error, &mut last_error, &mut on_event);
                        continue;
                    }
                }
                match stopped.recv_timeout(options.settle) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
                match set.reload_if_changed() {
                    Ok(Some(generation)) => {
                        last_error = None;
                        let snapshot = set.current();
                        on_event(ReloadEvent::Reloaded {
                            generation,
                            rules: snapshot.len(),
                            files: snapshot.files().len(),
                        });
                    }
                    Ok(None) => {}
                    Err(error) => {
                        // A refused compile is new information every time
                        // the files change, so it is always reported.
                        if matches!(error, ReloadError::Invalid { .. }) {
                            last_error = None;
                        }
                        report_error(&set, error, &mut last_error, &mut on_event);
                    }
                }
            }
        })
        .map_err(|source| ReloadError::Io {
            path: PathBuf::from("<watcher thread>"),
            source,
        })?;
    Ok(Watcher {
        stop: Some(stop),
        thread: Some(thread),
    })
}

fn report_error(
    set: &RuleSet,
    error: ReloadError,
    last_error: &mut Option<String>,
    on_event: &mut Callback,
) {
    let text = error.to_string();
    if last_error.as_deref() == Some(text.as_str()) {
        return;
    }
    *last_error = Some(text);
    on_event(ReloadEvent::Failed {
        error,
        kept: set.generation(),
    });
}
