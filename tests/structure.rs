//! The source tree's shape, checked in CI: no module imports a sibling that
//! imports it back (directly or around a longer circle), and no non-test
//! source file is over [`MAX_LINES`] lines.
//!
//! How: every crate's `src/` tree is read from its root (`lib.rs`,
//! `main.rs`) along its `mod` declarations (files and inline modules). In
//! each module, the paths it names (`use crate::…`, `use super::…`,
//! `use self::…` with their `{…}` groups, and `crate::x::` / `super::x::`
//! paths anywhere in code) are resolved to the deepest module they reach.
//! A path from module `a::b::c` to `a::d::e` is an edge `b → d` between the
//! siblings `b` and `d` of `a`; paths to an ancestor (`use super::*`) or into
//! a descendant do not make edges. Cycles are the strongly connected
//! components of those edges among the children of each module. Re-exports
//! are not followed (a path to `crate::Item` re-exported by the root is a
//! path to the root). Comments and string literals are stripped first.
//!
//! Cost: reads about 30k lines of source; well under a second.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a non-test source file may be.
const MAX_LINES: usize = 1000;

/// One module: its path from the crate root and the paths it names.
#[derive(Debug, Default)]
struct Module {
    /// The file that holds it (an inline module shares its parent's).
    file: PathBuf,
    /// Absolute paths (segments from the crate root) named in it.
    refs: Vec<Vec<String>>,
}

/// A crate's modules, keyed by their path (`[]` is the root).
#[derive(Debug, Default)]
struct Tree {
    modules: BTreeMap<Vec<String>, Module>,
    /// Every source file reached, with its line count.
    files: Vec<(PathBuf, usize)>,
}

/// What is wrong with one crate.
#[derive(Debug, Default, PartialEq)]
struct Findings {
    /// Each cycle as `a → b → a` (module paths from the crate root).
    cycles: Vec<String>,
    /// Non-test files over [`MAX_LINES`] lines, with their length.
    long_files: Vec<(PathBuf, usize)>,
}

/// Source text with comments, string and char literals blanked out (their
/// bytes become spaces, so line counts and positions stay).
fn strip(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = at(i);
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && at(i) != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0usize;
            loop {
                if at(i) == '/' && at(i + 1) == '*' {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if at(i) == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else if i >= chars.len() {
                    break;
                } else {
                    out.push(blank(at(i)));
                    i += 1;
                }
            }
        } else if c == 'r' && (at(i + 1) == '#' || at(i + 1) == '"') && raw_start(&out) {
            // A raw string r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != '"' {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if at(j) == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            while i < j {
                out.push(blank(at(i)));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && at(i) != '"' {
                if at(i) == '\\' {
                    out.push(' ');
                    i += 1;
                }
                out.push(blank(at(i)));
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'), not a lifetime ('a).
            let end = if at(i + 1) == '\\' {
                (i + 2..chars.len()).find(|&k| at(k) == '\'')
            } else if at(i + 2) == '\'' {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    while i <= end {
                        out.push(' ');
                        i += 1;
                    }
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether an `r` after `out` can open a raw string (`r"…"`, `br"…"`).
fn raw_start(out: &str) -> bool {
    let mut back = out.chars().rev();
    match back.next() {
        None => true,
        Some('b') => !back.next().is_some_and(ident_char),
        Some(c) => !ident_char(c),
    }
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A token of stripped source: identifiers, `::`, and single punctuation.
fn tokens(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        if ident_char(c) {
            let mut word = c.to_string();
            while let Some(&n) = chars.peek() {
                if !ident_char(n) {
                    break;
                }
                word.push(n);
                chars.next();
            }
            out.push(word);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.push("::".to_string());
        } else if !c.is_whitespace() {
            out.push(c.to_string());
        }
    }
    out
}

/// Expands a use tree (`a::{b, c::{d, e}}`, tokens up to `;`) into paths.
fn expand_use(toks: &[String]) -> Vec<Vec<String>> {
    fn tree(toks: &[String], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        let mut path = prefix;
        while let Some(t) = toks.get(*i) {
            match t.as_str() {
                "::" => *i += 1,
                "{" => {
                    *i += 1;
                    loop {
                        tree(toks, i, path.clone(), out);
                        match toks.get(*i).map(String::as_str) {
                            Some(",") => *i += 1,
                            Some("}") => {
                                *i += 1;
                                break;
                            }
                            _ => break,
                        }
                        if toks.get(*i).map(String::as_str) == Some("}") {
                            *i += 1;
                            break;
                        }
                    }
                    return;
                }
                "," | "}" => break,
                "as" => {
                    *i += 2;
                    break;
                }
                "*" => {
                    *i += 1;
                    break;
                }
                _ => {
                    path.push(t.clone());
                    *i += 1;
                }
            }
        }
        out.push(path);
    }
    let mut out = Vec::new();
    let mut i = 0;
    tree(toks, &mut i, Vec::new(), &mut out);
    out
}

/// `path` (as written in module `here`) as segments from the crate root,
/// or `None` when it does not start at `crate`, `super` or `self`.
fn absolute(here: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = here.to_vec();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &path[1..];
        }
        Some("self") => rest = &path[1..],
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    base.extend(rest.iter().filter(|s| s.as_str() != "self").cloned());
    Some(base)
}

/// Reads the module in `file` (and the inline modules in it) at `path`,
/// then the files its `mod` declarations name.
fn read_module(tree: &mut Tree, file: &Path, path: Vec<String>, is_root: bool) {
    let Ok(src) = std::fs::read_to_string(file) else {
        return;
    };
    tree.files.push((file.to_path_buf(), src.lines().count()));
    // Where `mod x;` looks for x: next to a root or `mod.rs`, else in a
    // folder named after the file.
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let child_dir = if is_root || stem == "mod" {
        dir
    } else {
        dir.join(stem)
    };
    let toks = tokens(&strip(&src));
    // A stack of (module path, brace depth at which it closes).
    let mut stack: Vec<(Vec<String>, usize)> = vec![(path.clone(), 0)];
    let mut depth = 0usize;
    let mut pending_files: Vec<(PathBuf, Vec<String>)> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let here = stack.last().map(|(p, _)| p.clone()).unwrap_or_default();
        let t = toks[i].as_str();
        match t {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if stack.len() > 1 && stack.last().is_some_and(|(_, d)| *d == depth) {
                    stack.pop();
                }
            }
            "mod" if toks.get(i + 1).is_some_and(|n| n.chars().all(ident_char)) => {
                let name = toks[i + 1].clone();
                let mut child = here.clone();
                child.push(name.clone());
                tree.modules.entry(child.clone()).or_insert_with(|| Module {
                    file: file.to_path_buf(),
                    refs: Vec::new(),
                });
                match toks.get(i + 2).map(String::as_str) {
                    Some(";") => {
                        // Only file modules of the file's own module resolve here.
                        let mut d = child_dir.clone();
                        for seg in here.iter().skip(path.len()) {
                            d = d.join(seg);
                        }
                        let flat = d.join(format!("{name}.rs"));
                        let nested = d.join(&name).join("mod.rs");
                        let f = if flat.is_file() { flat } else { nested };
                        pending_files.push((f, child));
                        i += 3;
                        continue;
                    }
                    Some("{") => {
                        stack.push((child, depth));
                        depth += 1;
                        i += 3;
                        continue;
                    }
                    _ => {}
                }
            }
            "use" => {
                let end = (i..toks.len())
                    .find(|&k| toks[k] == ";")
                    .unwrap_or(toks.len());
                for p in expand_use(&toks[i + 1..end]) {
                    if let Some(abs) = absolute(&here, &p) {
                        module_entry(tree, &here, file).refs.push(abs);
                    }
                }
                i = end;
                continue;
            }
            "crate" | "super" | "self"
                if toks.get(i + 1).is_some_and(|n| n == "::")
                    && (i == 0 || toks[i - 1] != "::") =>
            {
                let mut p = vec![t.to_string()];
                let mut k = i + 1;
                while toks.get(k).is_some_and(|n| n == "::")
                    && toks.get(k + 1).is_some_and(|n| n.chars().all(ident_char))
                {
                    p.push(toks[k + 1].clone());
                    k += 2;
                }
                if let Some(abs) = absolute(&here, &p) {
                    module_entry(tree, &here, file).refs.push(abs);
                }
                i = k;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    module_entry(tree, &path, file);
    for (f, child) in pending_files {
        if let Some(m) = tree.modules.get_mut(&child) {
            m.file = f.clone();
        }
        read_module(tree, &f, child, false);
    }
}

fn module_entry<'t>(tree: &'t mut Tree, path: &[String], file: &Path) -> &'t mut Module {
    tree.modules.entry(path.to_vec()).or_insert_with(|| Module {
        file: file.to_path_buf(),
        refs: Vec::new(),
    })
}

/// The module tree of the crate whose sources are in `src`.
fn read_crate(src: &Path) -> Tree {
    let mut tree = Tree::default();
    for root in ["lib.rs", "main.rs"] {
        let file = src.join(root);
        if file.is_file() {
            read_module(&mut tree, &file, Vec::new(), true);
        }
    }
    tree
}

/// The sibling edges: for each parent, child → children it names.
fn sibling_edges(tree: &Tree) -> BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> {
    let mut edges: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (from, module) in &tree.modules {
        for target in &module.refs {
            // The deepest module the path reaches.
            let to = (0..=target.len())
                .rev()
                .map(|n| &target[..n])
                .find(|p| tree.modules.contains_key(*p))
                .unwrap_or(&[]);
            let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
            if common < from.len() && common < to.len() {
                edges
                    .entry(from[..common].to_vec())
                    .or_default()
                    .entry(from[common].clone())
                    .or_default()
                    .insert(to[common].clone());
            }
        }
    }
    edges
}

/// Cycles among siblings, one per strongly connected component, each
/// written as a shortest closed walk (`a → b → a`), followed by the whole
/// component when it is larger than that walk.
fn cycles(tree: &Tree) -> Vec<String> {
    let mut found = Vec::new();
    for (parent, graph) in sibling_edges(tree) {
        let prefix = if parent.is_empty() {
            String::new()
        } else {
            format!("{}::", parent.join("::"))
        };
        let mut done: BTreeSet<String> = BTreeSet::new();
        for start in graph.keys() {
            if done.contains(start) {
                continue;
            }
            // The nodes reachable from start that reach start back.
            let reach = |from: &str| -> BTreeSet<String> {
                let mut seen = BTreeSet::new();
                let mut todo = vec![from.to_string()];
                while let Some(n) = todo.pop() {
                    for m in graph.get(&n).into_iter().flatten() {
                        if seen.insert(m.clone()) {
                            todo.push(m.clone());
                        }
                    }
                }
                seen
            };
            if !reach(start).contains(start) {
                continue;
            }
            // A shortest cycle through start (breadth first).
            let mut back: BTreeMap<String, String> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([start.clone()]);
            'bfs: while let Some(n) = queue.pop_front() {
                for m in graph.get(&n).into_iter().flatten() {
                    if m == start {
                        back.insert(start.clone(), n.clone());
                        break 'bfs;
                    }
                    if !back.contains_key(m) {
                        back.insert(m.clone(), n.clone());
                        queue.push_back(m.clone());
                    }
                }
            }
            let mut walk = vec![start.clone()];
            let mut n = back.get(start).cloned().unwrap_or_default();
            while &n != start && walk.len() <= graph.len() {
                walk.push(n.clone());
                n = back.get(&n).cloned().unwrap_or_default();
            }
            walk.push(start.clone());
            walk.reverse();
            // The whole component is reported once, by this cycle.
            let component: Vec<String> = reach(start)
                .into_iter()
                .filter(|n| reach(n).contains(start))
                .collect();
            done.extend(component.iter().cloned());
            let text: Vec<String> = walk.iter().map(|n| format!("{prefix}{n}")).collect();
            let mut report = text.join(" → ");
            if component.len() + 1 > walk.len() {
                let all: Vec<String> = component.iter().map(|n| format!("{prefix}{n}")).collect();
                report.push_str(&format!(" (in a circle of {})", all.join(", ")));
            }
            found.push(report);
        }
    }
    found
}

/// Whether `file` is test code (a `tests.rs` module or under a `tests/` folder).
fn is_test_file(file: &Path) -> bool {
    file.file_name().is_some_and(|n| n == "tests.rs")
        || file.components().any(|c| c.as_os_str() == "tests")
}

/// Everything wrong with the crate whose sources are in `src`.
fn check_crate(src: &Path) -> Findings {
    let tree = read_crate(src);
    let mut long_files: Vec<(PathBuf, usize)> = tree
        .files
        .iter()
        .filter(|(f, n)| *n > MAX_LINES && !is_test_file(f.strip_prefix(src).unwrap_or(f)))
        .cloned()
        .collect();
    long_files.sort();
    long_files.dedup();
    Findings {
        cycles: cycles(&tree),
        long_files,
    }
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// Every crate with a `src/` folder: `crates/*`, the Python bindings, the fuzz helpers.
fn crates() -> Vec<String> {
    let root = workspace();
    let mut out: Vec<String> = std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("src").is_dir())
        .map(|e| format!("crates/{}", e.file_name().to_string_lossy()))
        .collect();
    for extra in ["bindings/python", "fuzz"] {
        if root.join(extra).join("src").is_dir() {
            out.push(extra.to_string());
        }
    }
    out.sort();
    out
}

#[test]
fn no_module_cycles_and_no_file_over_1000_lines() {
    let root = workspace();
    let crates = crates();
    assert!(crates.len() >= 6, "too few crates found: {crates:?}");
    let mut failures = Vec::new();
    for krate in &crates {
        let findings = check_crate(&root.join(krate).join("src"));
        failures.extend(
            findings
                .cycles
                .iter()
                .map(|c| format!("{krate}: module cycle {c}")),
        );
        for (f, n) in &findings.long_files {
            let f = f.strip_prefix(&root).unwrap_or(f);
            failures.push(format!("{}: {n} lines (at most {MAX_LINES})", f.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_source_file_of_the_engine_is_read() {
    // A file the walk along `mod` declarations misses would escape both checks.
    let src = workspace().join("crates/novac/src");
    let tree = read_crate(&src);
    let read: BTreeSet<PathBuf> = tree.files.iter().map(|(f, _)| f.clone()).collect();
    let mut all = Vec::new();
    rust_files(&src, &mut all);
    let missed: Vec<&PathBuf> = all.iter().filter(|f| !read.contains(*f)).collect();
    assert!(missed.is_empty(), "not reached from lib.rs: {missed:?}");
    assert!(all.len() >= 40, "too few files: {}", all.len());
}

#[test]
fn the_engine_pipeline_runs_one_way() {
    // compile → `Rules` → scan: the compile-time modules (and the leaves both
    // sides share) name no scan-time module; the imports that make the
    // pipeline are seen, so the check is not vacuous.
    let tree = read_crate(&workspace().join("crates/novac/src"));
    let edges = sibling_edges(&tree);
    let root = edges
        .get(&Vec::new())
        .expect("edges among the root's modules");
    let has = |from: &str, to: &str| root.get(from).is_some_and(|t| t.contains(to));
    for (from, to) in [
        ("compiler", "rules"),
        ("compiler", "keywords"),
        ("rules", "condition"),
        ("rules", "keywords"),
        ("scanner", "rules"),
        ("scanner", "results"),
        ("scanner", "plugins"),
    ] {
        assert!(has(from, to), "{from} → {to} not seen");
    }
    let compile_time = [
        "compiler",
        "keywords",
        "condition",
        "rules",
        "ir",
        "plugins",
        "warnings",
        "limits",
        "results",
    ];
    for from in compile_time {
        for to in ["scanner", "ruleset", "bundle"] {
            assert!(
                !has(from, to),
                "{from} → {to}: compile time names scan time"
            );
        }
    }
}

// The checker itself, on small synthetic trees.

/// Writes `files` (path, text) under a fresh folder; returns its `src`.
fn synthetic(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("structure")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let path = dir.join("src").join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    dir.join("src")
}

#[test]
fn a_two_module_cycle_is_found() {
    let src = synthetic(
        "two",
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::B;\npub struct A;\n"),
            ("b.rs", "pub struct B;\nfn f() -> crate::a::A { todo!() }\n"),
        ],
    );
    assert_eq!(check_crate(&src).cycles, vec!["a → b → a".to_string()]);
}

#[test]
fn a_longer_cycle_through_groups_super_and_folders_is_found() {
    let src = synthetic(
        "long",
        &[
            ("main.rs", "mod x;\n"),
            ("x/mod.rs", "mod p;\nmod q;\nmod r;\n"),
            ("x/p.rs", "use super::{q::{self, Q}, other};\n"),
            ("x/q.rs", "mod inner;\n"),
            ("x/q/inner.rs", "use crate::x::r::R as Renamed;\n"),
            ("x/r.rs", "pub fn g() { super::p::f() }\n"),
        ],
    );
    assert_eq!(
        check_crate(&src).cycles,
        vec!["x::p → x::q → x::r → x::p".to_string()]
    );
}

#[test]
fn a_clean_tree_passes() {
    let src = synthetic(
        "clean",
        &[
            (
                "lib.rs",
                "//! use crate::b; in a comment\nmod a;\nmod b;\npub use a::A;\n",
            ),
            // Child → parent (`super::*`) and parent → child are not cycles.
            (
                "a.rs",
                "use crate::b::B;\npub struct A;\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::A;\n}\n",
            ),
            (
                "b.rs",
                "pub struct B;\nconst S: &str = \"crate::a::A\";\nmod c { use super::B; }\n// crate::a::A\n",
            ),
        ],
    );
    assert_eq!(check_crate(&src), Findings::default());
}

#[test]
fn an_inline_test_module_naming_a_sibling_counts() {
    let src = synthetic(
        "inline",
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            (
                "a.rs",
                "pub fn f() {}\n#[cfg(test)]\nmod tests { use crate::b::g; }\n",
            ),
            ("b.rs", "pub fn g() { crate::a::f() }\n"),
        ],
    );
    assert_eq!(check_crate(&src).cycles, vec!["a → b → a".to_string()]);
}

#[test]
fn a_long_file_is_reported_unless_it_is_a_test() {
    let long = "fn f() {}\n".repeat(MAX_LINES + 1);
    let src = synthetic(
        "long_file",
        &[
            ("lib.rs", "mod big;\nmod tests;\n"),
            ("big.rs", &long),
            ("tests.rs", &long),
        ],
    );
    let findings = check_crate(&src);
    assert_eq!(
        findings.long_files,
        vec![(src.join("big.rs"), MAX_LINES + 1)]
    );
}
