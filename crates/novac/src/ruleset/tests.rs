//! Tests of [`RuleSet`]: atomic swaps under concurrent scans, reloads from
//! files that keep the last good rules, and the polling watcher.

use super::*;
use crate::Compiler;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "novac-ruleset-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rule(name: &str, word: &str) -> String {
    format!(
        "rule {name} {{\n    keywords:\n        $w = \"{word}\"\n    condition:\n        $w\n}}\n"
    )
}

/// The rules of generation `g`: `g % 4 + 1` rules named `G<g>R<i>`, all
/// matching "trigger", so a scan's matched names tell its generation and
/// any mix of two generations shows.
fn generation_rules(g: u64) -> Rules {
    let source: String = (0..g % 4 + 1)
        .map(|i| rule(&format!("G{g}R{i}"), "trigger"))
        .collect();
    Compiler::new()
        .add_source(&source)
        .unwrap()
        .build()
        .unwrap()
}

#[test]
fn rule_sets_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RuleSet>();
    assert_send_sync::<RuleSnapshot>();
    assert_send_sync::<ReloadError>();
}

#[test]
fn concurrent_scans_during_100_reloads_each_see_exactly_one_generation() {
    let set = Arc::new(RuleSet::new(generation_rules(1)));
    let done = Arc::new(AtomicBool::new(false));
    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let scanners: Vec<_> = (0..4)
        .map(|_| {
            let set = Arc::clone(&set);
            let done = Arc::clone(&done);
            let started = Arc::clone(&started);
            std::thread::spawn(move || {
                let mut seen = std::collections::BTreeSet::new();
                let mut scans = 0u64;
                loop {
                    let finished = done.load(Ordering::Acquire);
                    let before = set.generation();
                    let snapshot = set.current();
                    let result = Scanner::new(&snapshot).scan("pull the trigger now");
                    let after = set.generation();
                    let g = snapshot.generation();
                    assert!(before <= g && g <= after, "{before} <= {g} <= {after}");
                    let names = result.matched_names();
                    let expected: Vec<String> =
                        (0..g % 4 + 1).map(|i| format!("G{g}R{i}")).collect();
                    assert_eq!(names, expected, "a scan mixed generations");
                    seen.insert(g);
                    if scans == 0 {
                        started.fetch_add(1, Ordering::AcqRel);
                    }
                    scans += 1;
                    if finished {
                        return (scans, seen);
                    }
                }
            })
        })
        .collect();
    // Reload only once every thread is scanning, and let them run between
    // reloads now and then, so that scans really overlap the swaps.
    while started.load(Ordering::Acquire) < 4 {
        std::thread::yield_now();
    }
    for g in 2..=101 {
        assert_eq!(set.replace(generation_rules(g)), g);
        if g % 10 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    done.store(true, Ordering::Release);
    let mut generations = std::collections::BTreeSet::new();
    for scanner in scanners {
        let (scans, seen) = scanner.join().expect("a scanning thread failed");
        assert!(scans > 0);
        generations.extend(seen);
    }
    assert_eq!(set.generation(), 101);
    assert!(
        generations.contains(&101),
        "every thread scans once more at the end"
    );
    assert!(
        generations.len() > 1,
        "scans ran during the reloads: {generations:?}"
    );
}

#[test]
fn reload_keeps_the_last_good_rules_and_reports_diagnostics() {
    let dir = TempDir::new("reload");
    std::fs::write(dir.path("a.nov"), rule("A", "alpha")).unwrap();
    let set = RuleSet::from_paths([&dir.0]).unwrap();
    assert_eq!(set.generation(), 1);
    assert_eq!(set.current().files(), [dir.path("a.nov")]);
    assert_eq!(set.scan("alpha").matched_names(), ["A"]);
    assert_eq!(set.reload_if_changed().unwrap(), None, "nothing changed");

    // A broken edit: refused, with the diagnostics, generation 1 stays.
    std::fs::write(
        dir.path("a.nov"),
        "rule A {\n keywords:\n  $a = \"alpha\"\n condition:\n  $nope\n}\n",
    )
    .unwrap();
    let error = set.reload().unwrap_err();
    let ReloadError::Invalid {
        errors, reports, ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(*errors, 1);
    assert_eq!(reports.len(), 1);
    assert!(reports[0].origin.ends_with("a.nov"));
    assert!(error.to_string().contains("a.nov:5:"), "{error}");
    assert!(
        error.render(false).contains("$nope"),
        "{}",
        error.render(false)
    );
    assert_eq!(set.generation(), 1);
    assert_eq!(set.scan("alpha").matched_names(), ["A"]);
    // The refused files are not recompiled until they change again.
    assert_eq!(set.reload_if_changed().unwrap(), None);

    // A new file and a fix: generation 2 has both.
    std::fs::write(dir.path("a.nov"), rule("A", "alpha")).unwrap();
    std::fs::create_dir_all(dir.path("sub")).unwrap();
    std::fs::write(dir.path("sub/b.nov"), rule("B", "beta")).unwrap();
    assert_eq!(set.reload_if_changed().unwrap(), Some(2));
    assert_eq!(set.scan("alpha beta").matched_names(), ["A", "B"]);

    // A duplicate rule name across files is an error too.
    std::fs::write(dir.path("c.nov"), rule("B", "gamma")).unwrap();
    assert!(matches!(
        set.reload_if_changed(),
        Err(ReloadError::Invalid { .. })
    ));
    assert_eq!(set.generation(), 2);
    std::fs::remove_file(dir.path("c.nov")).unwrap();

    // No rule file at all is refused, as is a missing directory.
    std::fs::remove_file(dir.path("a.nov")).unwrap();
    std::fs::remove_file(dir.path("sub/b.nov")).unwrap();
    assert!(matches!(set.reload(), Err(ReloadError::NoRuleFiles { .. })));
    std::fs::remove_dir_all(&dir.0).unwrap();
    assert!(matches!(set.reload(), Err(ReloadError::Io { .. })));
    assert_eq!(set.generation(), 2);
    assert_eq!(set.scan("alpha beta").matched_names(), ["A", "B"]);
}

#[test]
fn a_set_made_from_rules_has_nothing_to_reload() {
    let set = Arc::new(RuleSet::new(generation_rules(1)));
    assert!(matches!(set.reload(), Err(ReloadError::NoSources)));
    assert_eq!(set.reload_if_changed().unwrap(), None);
    assert!(set.watch(WatchOptions::default(), |_| {}).is_err());
}

#[test]
fn from_paths_refuses_broken_or_missing_rules() {
    let dir = TempDir::new("initial");
    assert!(matches!(
        RuleSet::from_paths([&dir.0]),
        Err(ReloadError::NoRuleFiles { .. })
    ));
    assert!(matches!(
        RuleSet::from_paths([dir.path("missing.nov")]),
        Err(ReloadError::Io { .. })
    ));
    std::fs::write(dir.path("bad.nov"), "rule {").unwrap();
    assert!(matches!(
        RuleSet::from_paths([&dir.0]),
        Err(ReloadError::Invalid { .. })
    ));
}

#[test]
fn an_edit_within_the_same_clock_tick_is_seen() {
    let dir = TempDir::new("racy");
    let path = dir.path("a.nov");
    std::fs::write(&path, rule("A", "alpha")).unwrap();
    let set = RuleSet::from_paths([&path]).unwrap();
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    // Same length, same time: only the hash of a racy file can tell.
    std::fs::write(&path, rule("B", "alpha")).unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(modified).unwrap();
    drop(file);
    assert_eq!(set.reload_if_changed().unwrap(), Some(2));
    assert_eq!(set.scan("alpha").matched_names(), ["B"]);
}

fn next_event(events: &mpsc::Receiver<ReloadEvent>) -> ReloadEvent {
    events
        .recv_timeout(Duration::from_secs(10))
        .expect("no reload event within 10 s")
}

#[test]
fn the_watcher_reloads_changed_files_and_keeps_good_rules_on_errors() {
    let dir = TempDir::new("watch");
    std::fs::write(dir.path("a.nov"), rule("A", "alpha")).unwrap();
    let set = Arc::new(RuleSet::from_paths([&dir.0]).unwrap());
    let (tx, events) = mpsc::channel();
    let options = WatchOptions {
        interval: Duration::from_millis(20),
        settle: Duration::from_millis(5),
    };
    let watcher = set
        .watch(options, move |event| {
            let _ = tx.send(event);
        })
        .unwrap();

    std::fs::write(dir.path("b.nov"), rule("B", "beta")).unwrap();
    match next_event(&events) {
        ReloadEvent::Reloaded {
            generation,
            rules,
            files,
        } => assert_eq!((generation, rules, files), (2, 2, 2)),
        other => panic!("{other:?}"),
    }
    assert_eq!(set.scan("alpha beta").matched_names(), ["A", "B"]);

    std::fs::write(dir.path("b.nov"), "rule B {\n condition:\n  $b\n}\n").unwrap();
    match next_event(&events) {
        ReloadEvent::Failed { error, kept } => {
            assert_eq!(kept, 2);
            assert!(!error.reports().is_empty(), "{error:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(set.scan("alpha beta").matched_names(), ["A", "B"]);

    std::fs::write(dir.path("b.nov"), rule("C", "gamma")).unwrap();
    match next_event(&events) {
        ReloadEvent::Reloaded { generation, .. } => assert_eq!(generation, 3),
        other => panic!("{other:?}"),
    }
    assert_eq!(set.scan("alpha beta gamma").matched_names(), ["A", "C"]);

    drop(watcher);
    std::fs::write(dir.path("d.nov"), rule("D", "delta")).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        events.try_recv().is_err(),
        "a stopped watcher reports nothing"
    );
    assert_eq!(set.generation(), 3);
}

#[test]
fn bundles_among_the_paths_are_loaded_and_reloaded() {
    let dir = TempDir::new("bundle");
    let bundle = dir.path("compiled.novc");
    let compiled = |name: &str, word: &str| {
        Compiler::new()
            .add_source(&rule(name, word))
            .unwrap()
            .build()
            .unwrap()
            .serialize()
            .unwrap()
    };
    std::fs::write(&bundle, compiled("B", "beta")).unwrap();
    std::fs::write(dir.path("a.nov"), rule("A", "alpha")).unwrap();
    let set = RuleSet::from_paths([dir.path("a.nov"), bundle.clone()]).unwrap();
    assert_eq!(set.scan("alpha beta").matched_names(), ["A", "B"]);

    std::fs::write(&bundle, compiled("C", "gamma")).unwrap();
    assert_eq!(set.reload_if_changed().unwrap(), Some(2));
    assert_eq!(set.scan("alpha beta gamma").matched_names(), ["A", "C"]);

    // A corrupt bundle is refused; generation 2 stays.
    let mut bytes = compiled("D", "delta");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&bundle, bytes).unwrap();
    assert!(matches!(
        set.reload_if_changed(),
        Err(ReloadError::Bundle { .. })
    ));
    assert_eq!(set.scan("alpha gamma").matched_names(), ["A", "C"]);
}
