//! Incremental re-checking for the language server: after an edit, only the
//! rules whose text changed go through the engine's checker again.
//!
//! Every change re-parses the document (the LSP features need the tree),
//! through [`novac::syntax::parse_cached`], which runs pest only over the
//! rules whose text changed. Checking a rule (name resolution, regex
//! translation and planning, lints) also costs far more than what the
//! tree of an unchanged rule needs again. [`RuleCache`] keeps each
//! rule's diagnostics, relative to the rule's first byte, keyed by the
//! rule's text. A rule whose text is unchanged, even if it moved because an
//! earlier rule grew, reuses them shifted to its new place; a changed or new
//! rule is checked alone, as a one-rule source (checking needs nothing from
//! the other rules). What does span rules is redone over the whole tree on
//! every change, and is cheap: duplicate rule names (E-code `DUPLICATE_RULE`)
//! and the parse diagnostics outside the rules that parsed (syntax errors,
//! text between rules).
//!
//! The result equals a whole-file `Compiler::add_named_source` (the tests
//! compare both on the public rules). Memory: the text and diagnostics of
//! the rules of the current version only; entries of rules that are gone
//! are dropped on each re-check.

use novac::syntax::ast;
use novac::{Diagnostic, Span};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Per-rule diagnostics of the last version of one document.
#[derive(Default)]
pub struct RuleCache {
    /// Hash of a rule's text → the rule text and its diagnostics (spans
    /// relative to the rule's first byte). Several rules may share one text.
    entries: HashMap<u64, Vec<Cached>>,
    /// The parsed rule chunks of the last version.
    parse: novac::syntax::ParseCache,
}

/// One checked rule text.
struct Cached {
    text: Box<str>,
    diagnostics: Arc<Vec<Diagnostic>>,
}

/// What a re-check found and how much it reused.
pub struct Checked {
    /// The syntax tree (rules that parsed).
    pub file: ast::File,
    /// The diagnostics of the whole document, sorted like the compiler's.
    pub diagnostics: Vec<Diagnostic>,
    /// Rules checked this time (the others came from the cache).
    #[cfg_attr(not(test), allow(dead_code))]
    pub rechecked: usize,
}

impl RuleCache {
    /// Parses `text` and checks the rules not checked before.
    pub fn check(&mut self, text: &str) -> Checked {
        let parsed = novac::syntax::parse_cached(text, &mut self.parse);
        let rules = &parsed.file.rules;
        // Parse diagnostics inside a rule that parsed come again from that
        // rule's own check; the others (syntax errors, stray text) stay.
        let mut diagnostics: Vec<Diagnostic> = parsed
            .diagnostics
            .iter()
            .filter(|d| !inside_a_rule(rules, d.primary.span))
            .cloned()
            .collect();
        duplicate_names(rules, &mut diagnostics);
        let mut next: HashMap<u64, Vec<Cached>> = HashMap::with_capacity(rules.len());
        let mut rechecked = 0;
        for rule in rules {
            let start = rule.span.start as usize;
            let Some(rule_text) = text.get(start..rule.span.end as usize) else {
                continue;
            };
            let key = hash(rule_text);
            let found = self
                .find(key, rule_text)
                .or_else(|| find_in(&next, key, rule_text));
            let checked = match found {
                Some(d) => d,
                None => {
                    rechecked += 1;
                    Arc::new(check_one(rule_text))
                }
            };
            diagnostics.extend(checked.iter().map(|d| d.clone().shifted(start)));
            let bucket = next.entry(key).or_default();
            if !bucket.iter().any(|c| &*c.text == rule_text) {
                bucket.push(Cached {
                    text: rule_text.into(),
                    diagnostics: checked,
                });
            }
        }
        self.entries = next;
        diagnostics.sort_by_key(|d| (d.primary.span.start, d.code));
        Checked {
            file: parsed.file,
            diagnostics,
            rechecked,
        }
    }

    fn find(&self, key: u64, text: &str) -> Option<Arc<Vec<Diagnostic>>> {
        find_in(&self.entries, key, text)
    }
}

fn find_in(
    entries: &HashMap<u64, Vec<Cached>>,
    key: u64,
    text: &str,
) -> Option<Arc<Vec<Diagnostic>>> {
    entries
        .get(&key)?
        .iter()
        .find(|c| &*c.text == text)
        .map(|c| c.diagnostics.clone())
}

fn hash(text: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// Whether `span` lies within one of `rules`.
fn inside_a_rule(rules: &[ast::Rule], span: Span) -> bool {
    // Rules are in source order: find the last one starting at or before the span.
    let i = rules.partition_point(|r| r.span.start <= span.start);
    i.checked_sub(1)
        .and_then(|i| rules.get(i))
        .is_some_and(|r| span.end <= r.span.end)
}

/// The diagnostics of `rule_text` checked as a source of its own.
fn check_one(rule_text: &str) -> Vec<Diagnostic> {
    let mut compiler = novac::Compiler::new();
    let _ = compiler.add_named_source("<lsp>", rule_text);
    compiler
        .reports()
        .first()
        .map(|r| r.diagnostics.clone())
        .unwrap_or_default()
}

/// Reports every rule whose name an earlier rule of the file already has,
/// like the compiler does within one source.
fn duplicate_names(rules: &[ast::Rule], diagnostics: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, Span> = HashMap::with_capacity(rules.len());
    for rule in rules {
        let name = rule.name.value.as_str();
        match first.get(name) {
            Some(&at) => diagnostics.push(
                Diagnostic::new(
                    &novac::codes::DUPLICATE_RULE,
                    rule.name.span,
                    format!("duplicate rule name `{name}`"),
                )
                .with_label("defined again here")
                .with_help("rule names must be unique across all files compiled together")
                .with_secondary(at, "first defined here"),
            ),
            None => {
                first.insert(name, rule.name.span);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole-file check the cache must equal.
    fn whole(text: &str) -> Vec<Diagnostic> {
        let mut compiler = novac::Compiler::new();
        let _ = compiler.add_named_source("<lsp>", text);
        compiler
            .reports()
            .first()
            .map(|r| r.diagnostics.clone())
            .unwrap_or_default()
    }

    fn render(diags: &[Diagnostic]) -> Vec<String> {
        diags.iter().map(|d| format!("{d:?}")).collect()
    }

    const TWO: &str = "rule A\n{\n    keywords:\n        $a = \"x\"\n        $unused = \"y\"\n    condition:\n        $a AND $b\n}\n\n// between\nrule B\n{\n    keywords:\n        $a = /ab+c/\n    condition:\n        $a\n}\nrule A\n{\n    condition:\n        true\n}\nrule Broken {\n    keywords\n";

    #[test]
    fn equals_the_whole_file_check() {
        let mut cache = RuleCache::default();
        let checked = cache.check(TWO);
        assert_eq!(render(&checked.diagnostics), render(&whole(TWO)));
        assert!(checked.diagnostics.len() >= 3);
        assert_eq!(checked.rechecked, 3);
    }

    #[test]
    fn equals_the_whole_file_check_on_the_public_rules() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpus/nova-rules");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return; // the corpus is not on every machine
        };
        for entry in entries.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            let mut cache = RuleCache::default();
            let checked = cache.check(&text);
            assert_eq!(
                render(&checked.diagnostics),
                render(&whole(&text)),
                "{}",
                entry.path().display()
            );
        }
    }

    #[test]
    fn only_changed_rules_are_checked_again() {
        let mut cache = RuleCache::default();
        cache.check(TWO);
        // An edit in rule B that moves it; rule A (twice) is unchanged.
        let edited = TWO.replace("$a = /ab+c/", "$a = /ab+cd/  ");
        let checked = cache.check(&edited);
        assert_eq!(checked.rechecked, 1);
        assert_eq!(render(&checked.diagnostics), render(&whole(&edited)));
        // A longer first rule shifts every later one: nothing is checked again
        // but rule A, and the spans follow.
        let moved = edited.replacen("$a = \"x\"", "$a = \"xyz\"", 1);
        let checked = cache.check(&moved);
        assert_eq!(checked.rechecked, 1);
        assert_eq!(render(&checked.diagnostics), render(&whole(&moved)));
        let again = cache.check(&moved);
        assert_eq!(again.rechecked, 0);
    }
}
