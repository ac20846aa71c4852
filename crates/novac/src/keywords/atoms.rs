//! Required literal atoms of a keyword regex, for prefiltering.
//!
//! Most prompts match none of a rule set's regexes, so novac does not run
//! every regex over every prompt. Instead it finds, for each regex, a small
//! set of literal byte strings, *atoms*, with this invariant:
//!
//! > every match of the regex contains at least one atom as a substring.
//!
//! One Aho-Corasick pass over the prompt then finds the atoms that occur,
//! and only the regexes with an atom hit are run (verified). A regex whose
//! atom set is *exact* — its language is exactly that finite set of literals
//! and it has no assertions, e.g. `(ignore|disregard) previous` — needs no
//! verification at all: an atom hit *is* a match. The idea comes from
//! YARA/YARA-X, which extract "atoms" (short literals, at most 4 bytes there)
//! from every string and pattern and scan for all of them at once.
//!
//! # How atoms are chosen
//!
//! [`analyze`] works on the regex's HIR (`regex_syntax`), parsed with the
//! same flags as the verifier (case-insensitivity is already expanded there
//! into small classes such as `[kKK]`). For every node it collects candidate
//! atom sets and keeps the best one:
//!
//! * the node's prefix and suffix literal sequences from
//!   [`regex_syntax::hir::literal::Extractor`] (every match starts, resp.
//!   ends, with one of them);
//! * structurally: a capture group or a repetition with `min ≥ 1` has the
//!   atoms of its body; a concatenation has the atoms of any of its children
//!   (and the prefix literals of each run of children `c[i..]`, which catches
//!   `\w+ (ignore|disregard) previous`); an alternation has the union of its
//!   branches' atoms (every branch must have some); classes, `*`, `?` and
//!   assertions (`\b`, `^`, `$`) contribute nothing.
//!
//! "Best" means the largest shortest atom, then the fewest atoms. Sets are
//! deduplicated and reduced (an atom containing another atom is redundant),
//! and capped at [`MAX_ATOMS`] by cutting every atom to a shorter prefix
//! (a prefix of a required substring is still required). A final set whose
//! shortest atom is under [`MIN_ATOM_LEN`] bytes is refused: it would fire
//! on nearly every prompt. The exact case is checked first: the prefix
//! sequence of the whole regex is finite, every literal in it is exact, and
//! the regex has no look-around assertion.
//!
//! Besides the chosen set, [`conjuncts`] returns further sets that every
//! match also contains (one per part of a concatenation); the engine then
//! triggers a regex only when all of them occurred.
//!
//! When nothing qualifies, [`AtomAnalysis::NoAtoms`] says why; the compiler
//! turns that into the "slow pattern" lint, and the regex runs on every
//! prompt (in linear time, but without a prefilter).
//!
//! # Limits
//!
//! Atoms are case-sensitive bytes, so a case-insensitive literal of n
//! letters needs up to 2ⁿ variants (3 for `k` and `s`, which fold with `K`
//! and `ſ`); the cap then cuts such atoms to about 6 letters. Large
//! case-insensitive alternations (hundreds of names) exceed the cap and get
//! no atoms. To keep the analysis cheap (milliseconds even for a 400-name
//! case-insensitive alternation), literal extraction stops growing a
//! sequence past [`MAX_ATOMS`] literals, the walk gives up on a union as
//! soon as its 2-byte prefixes alone exceed the cap, and very deep or very
//! long nodes are only extracted, not walked.
//!
//! On the 79 regexes of the public NOVA rules (every `= /.../` in
//! `nova-rules/*.nov` and `incidents/*.nov`, including one commented out):
//! 18 are exact, 55 get atoms (the case-insensitive ones mostly tens to a
//! few hundred atoms of 3–7 bytes), 6 get none: two whose only literal is
//! one byte (`@` in `$pii_email`, `-` in `$pii_ssn`) and four made of
//! classes only (`$base64`, `$leet_speak_hint`,
//! `$pii_name`, `$pii_creditcard`). Five alternations of phrases (among
//! them `$malware_terms`) also get atom groups per branch from
//! [`branch_groups`]. See the test `public_rule_regexes`.

use regex_syntax::hir::literal::{ExtractKind, Extractor, Seq};
use regex_syntax::hir::{Hir, HirKind};

/// At most this many atoms per regex.
pub const MAX_ATOMS: usize = 512;
/// Atoms shorter than this (in bytes) would fire on almost every text.
pub const MIN_ATOM_LEN: usize = 2;
/// Depth of the structural walk (deeper nodes use literal extraction only).
const MAX_DEPTH: usize = 48;
/// Concatenations with more children are not searched for literal runs.
const MAX_RUNS: usize = 16;

/// The atoms of a regex: every match contains one of `literals`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtomSet {
    /// The atoms (UTF-8 bytes of the verifier's haystack). Empty only for a
    /// regex that can never match.
    pub literals: Vec<Vec<u8>>,
    /// The regex matches a text exactly when one of `literals` occurs in it.
    pub exact: bool,
}

/// The result of [`analyze`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtomAnalysis {
    /// Usable atoms.
    Atoms(AtomSet),
    /// No useful atom; `reason` says why, for a "slow pattern" lint.
    NoAtoms {
        /// Why, in words.
        reason: String,
    },
}

/// Computes the atoms of a regex from its HIR.
pub fn analyze(hir: &Hir) -> AtomAnalysis {
    let props = hir.properties();
    match props.minimum_len() {
        None => {
            return AtomAnalysis::Atoms(AtomSet {
                literals: Vec::new(),
                exact: true,
            })
        }
        Some(0) => {
            let reason = "it can match the empty string, so it matches every text".to_string();
            return AtomAnalysis::NoAtoms { reason };
        }
        Some(_) => {}
    }
    if props.look_set().is_empty() {
        if let Some(literals) = exact_literals(hir) {
            return AtomAnalysis::Atoms(AtomSet {
                literals,
                exact: true,
            });
        }
    }
    let mut too_many = false;
    match required(hir, 0, &mut too_many) {
        Some(lits) if min_len(&lits) >= MIN_ATOM_LEN => AtomAnalysis::Atoms(AtomSet {
            literals: lits,
            exact: false,
        }),
        Some(lits) => {
            let shortest = lits
                .iter()
                .find(|l| l.len() < MIN_ATOM_LEN)
                .map_or(String::new(), |l| {
                    format!(" (`{}`)", String::from_utf8_lossy(l).escape_debug())
                });
            let reason = format!(
                "the shortest required literal is {} byte{shortest}",
                min_len(&lits)
            );
            AtomAnalysis::NoAtoms { reason }
        }
        None => AtomAnalysis::NoAtoms {
            reason: no_atom_reason(hir, too_many),
        },
    }
}

/// A literal extractor that stops growing sequences beyond [`MAX_ATOMS`]
/// (larger ones would be cut anyway, and growing them is the main cost on
/// large case-insensitive alternations).
fn extractor(kind: ExtractKind) -> Extractor {
    let mut e = Extractor::new();
    e.kind(kind).limit_total(MAX_ATOMS);
    e
}

fn min_len(lits: &[Vec<u8>]) -> usize {
    lits.iter().map(Vec::len).min().unwrap_or(usize::MAX)
}

/// The literal set of a regex that is a finite set of exact literals.
fn exact_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let seq = extractor(ExtractKind::Prefix).extract(hir);
    let lits = seq.literals()?;
    if !lits.iter().all(|l| l.is_exact() && !l.is_empty()) {
        return None;
    }
    let mut set: Vec<Vec<u8>> = lits.iter().map(|l| l.as_bytes().to_vec()).collect();
    set.sort_unstable();
    set.dedup();
    (set.len() <= MAX_ATOMS && min_len(&set) >= MIN_ATOM_LEN).then_some(set)
}

/// A candidate atom set from an extracted sequence (prefixes or suffixes of
/// every match): none if infinite or if it contains the empty string.
fn from_seq(seq: &Seq, too_many: &mut bool) -> Option<Vec<Vec<u8>>> {
    let lits = seq.literals()?;
    if lits.iter().any(|l| l.is_empty()) {
        return None;
    }
    cap(
        lits.iter().map(|l| l.as_bytes().to_vec()).collect(),
        too_many,
    )
}

/// The atoms of `set` cut to their first `k` bytes, sorted, deduplicated,
/// without atoms that extend another. Its size grows with `k`.
fn cut(set: &[Vec<u8>], k: usize) -> Vec<Vec<u8>> {
    let mut v: Vec<&[u8]> = set.iter().map(|l| l.get(..k).unwrap_or(l)).collect();
    v.sort_unstable();
    v.dedup();
    // Sorted, an atom follows the atoms it extends: keep the shortest.
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(v.len());
    for l in v {
        if !out.last().is_some_and(|p| l.starts_with(p)) {
            out.push(l.to_vec());
        }
    }
    out
}

/// Caps a candidate set at [`MAX_ATOMS`]: deduplicated, reduced, and if still
/// too large, every atom cut to its first `k` bytes for the largest
/// `k ≥ MIN_ATOM_LEN` that fits (a prefix of a required substring is
/// required too). None if even that is too many.
fn cap(set: Vec<Vec<u8>>, too_many: &mut bool) -> Option<Vec<Vec<u8>>> {
    let longest = set.iter().map(Vec::len).max().unwrap_or(0);
    let all = cut(&set, longest);
    if all.len() <= MAX_ATOMS {
        return Some(reduce(all));
    }
    let (mut fits, mut over) = (MIN_ATOM_LEN, longest);
    if cut(&set, fits).len() > MAX_ATOMS {
        *too_many = true;
        return None;
    }
    while over - fits > 1 {
        let mid = (fits + over) / 2;
        if cut(&set, mid).len() <= MAX_ATOMS {
            fits = mid;
        } else {
            over = mid;
        }
    }
    Some(reduce(cut(&set, fits)))
}

/// Drops every atom that contains another atom (it is implied).
fn reduce(mut set: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    set.sort_by_key(Vec::len);
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(set.len());
    for lit in set {
        if !out.iter().any(|o| contains(&lit, o)) {
            out.push(lit);
        }
    }
    out.sort_unstable();
    out
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Keeps the better of two candidates: larger shortest atom, then fewer atoms.
fn keep_best(best: &mut Option<Vec<Vec<u8>>>, cand: Option<Vec<Vec<u8>>>) {
    let Some(cand) = cand else { return };
    let score = |s: &Vec<Vec<u8>>| (min_len(s), std::cmp::Reverse(s.len()));
    let better = match best {
        Some(b) => score(&cand) > score(b),
        None => true,
    };
    if better {
        *best = Some(cand);
    }
}

/// The best atom set required by every match of `hir`, if any.
fn required(hir: &Hir, depth: usize, too_many: &mut bool) -> Option<Vec<Vec<u8>>> {
    let (prefix, suffix) = (
        extractor(ExtractKind::Prefix),
        extractor(ExtractKind::Suffix),
    );
    let mut best = None;
    // For a group or an alternation, the structural walk below finds at
    // least what the extractor would (it extracts each branch itself).
    let structural = matches!(hir.kind(), HirKind::Capture(_) | HirKind::Alternation(_));
    if !structural || depth >= MAX_DEPTH {
        keep_best(&mut best, from_seq(&prefix.extract(hir), too_many));
        keep_best(&mut best, from_seq(&suffix.extract(hir), too_many));
    }
    if depth >= MAX_DEPTH {
        return best;
    }
    match hir.kind() {
        HirKind::Capture(c) => keep_best(&mut best, required(&c.sub, depth + 1, too_many)),
        HirKind::Repetition(r) if r.min >= 1 => {
            keep_best(&mut best, required(&r.sub, depth + 1, too_many))
        }
        HirKind::Concat(subs) => {
            for sub in subs {
                keep_best(&mut best, required(sub, depth + 1, too_many));
            }
            // Runs `subs[i..]` after a child with no finite prefix set (like
            // `\w+`), whose literals the whole-concat prefixes missed.
            if subs.len() <= MAX_RUNS {
                for i in 1..subs.len().saturating_sub(1) {
                    let (Some(before), Some(rest)) = (subs.get(i - 1), subs.get(i..)) else {
                        continue;
                    };
                    if !prefix.extract(before).is_finite() {
                        let run = Hir::concat(rest.to_vec());
                        keep_best(&mut best, from_seq(&prefix.extract(&run), too_many));
                    }
                }
            }
        }
        HirKind::Alternation(subs) => {
            let (mut union, mut check_at) = (Vec::new(), 8 * MAX_ATOMS);
            for sub in subs {
                match required(sub, depth + 1, too_many) {
                    Some(lits) => union.extend(lits),
                    None => return best,
                }
                // Give up early on unions that cannot fit (hundreds of names).
                if union.len() > check_at {
                    check_at *= 2;
                    if cut(&union, MIN_ATOM_LEN).len() > MAX_ATOMS {
                        *too_many = true;
                        return best;
                    }
                }
            }
            keep_best(&mut best, cap(union, too_many));
        }
        _ => {}
    }
    best
}

/// At most this many atom sets are required of one regex (see [`conjuncts`]).
pub const MAX_GROUPS: usize = 4;

/// Further atom sets that every match of `hir` also contains, besides the
/// set [`analyze`] chose: one per part of a concatenation (`\bword\b.{0,20}\bother\b`
/// needs `word` *and* `other`). A regex whose atoms are common words is
/// then triggered only when all of its sets occur, which is what makes the
/// difference on real prompts: most single atom hits are not matches.
///
/// Each returned set satisfies the invariant of [`analyze`] on its own
/// (every match contains one of its atoms); `primary` (the chosen set) is
/// left out, and so are duplicates. At most [`MAX_GROUPS`]` - 1` sets,
/// the ones with the longest shortest atom first.
pub fn conjuncts(hir: &Hir, primary: &[Vec<u8>]) -> Vec<Vec<Vec<u8>>> {
    let mut found = Vec::new();
    collect_conjuncts(hir, 0, &mut found);
    found.retain(|s| s.as_slice() != primary && min_len(s) >= MIN_ATOM_LEN);
    found.sort_by(|a, b| {
        (min_len(b), std::cmp::Reverse(b.len())).cmp(&(min_len(a), std::cmp::Reverse(a.len())))
    });
    let mut out: Vec<Vec<Vec<u8>>> = Vec::new();
    for s in found {
        if out.len() + 1 >= MAX_GROUPS {
            break;
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// At most this many branches of an alternation get atom groups of their own.
pub const MAX_BRANCHES: usize = 64;
/// At most this many atoms over all branches.
const MAX_BRANCH_ATOMS: usize = 4 * MAX_ATOMS;

/// The atom groups of each branch of a regex that is an alternation
/// (through groups and nested alternations): for each branch, its
/// [`analyze`] set first, then its [`conjuncts`]. A match is a match of
/// some branch, so it contains an atom of *every* group of one branch.
///
/// This is what keeps an alternation of phrases quiet on ordinary text:
/// `data[\s-]?(exfil|dumping)|code[\s-]?(injection|exec)` triggers on
/// `data` *and* `exfil`, or `code` *and* `injection`, where the union of
/// its branches' atoms (`data`, `code`) occurs in half the prompts there are.
///
/// `None` unless `hir` has 2 to [`MAX_BRANCHES`] branches, every branch
/// has atoms, and some branch has more than one group (else the plain
/// union is as good).
pub fn branch_groups(hir: &Hir) -> Option<Vec<Vec<Vec<Vec<u8>>>>> {
    let mut branches = Vec::new();
    flatten_alternation(hir, &mut branches);
    if !(2..=MAX_BRANCHES).contains(&branches.len()) {
        return None;
    }
    let mut out = Vec::with_capacity(branches.len());
    let (mut atoms, mut conjunctive) = (0, false);
    for branch in branches {
        let AtomAnalysis::Atoms(set) = analyze(branch) else {
            return None;
        };
        if set.literals.is_empty() {
            continue; // a branch that can never match
        }
        let also = if set.exact {
            Vec::new()
        } else {
            conjuncts(branch, &set.literals)
        };
        conjunctive |= !also.is_empty();
        let mut groups = vec![set.literals];
        groups.extend(also);
        atoms += groups.iter().map(Vec::len).sum::<usize>();
        out.push(groups);
    }
    (conjunctive && atoms <= MAX_BRANCH_ATOMS).then_some(out)
}

/// The branches of `hir` when it is an alternation, with groups around it
/// or around its branches looked through.
fn flatten_alternation<'h>(hir: &'h Hir, out: &mut Vec<&'h Hir>) {
    match hir.kind() {
        HirKind::Capture(c)
            if matches!(unwrap_captures(&c.sub).kind(), HirKind::Alternation(_)) =>
        {
            flatten_alternation(&c.sub, out)
        }
        HirKind::Alternation(branches) => {
            for branch in branches {
                if matches!(unwrap_captures(branch).kind(), HirKind::Alternation(_)) {
                    flatten_alternation(branch, out);
                } else {
                    out.push(branch);
                }
            }
        }
        _ => out.push(hir),
    }
}

fn unwrap_captures(mut hir: &Hir) -> &Hir {
    while let HirKind::Capture(c) = hir.kind() {
        hir = &c.sub;
    }
    hir
}

/// The required sets of the parts of concatenations reachable from `hir`
/// through groups and repetitions with `min ≥ 1` (every match contains a
/// match of each such part).
fn collect_conjuncts(hir: &Hir, depth: usize, out: &mut Vec<Vec<Vec<u8>>>) {
    if depth >= MAX_DEPTH / 4 {
        return;
    }
    match hir.kind() {
        HirKind::Capture(c) => collect_conjuncts(&c.sub, depth + 1, out),
        HirKind::Repetition(r) if r.min >= 1 => collect_conjuncts(&r.sub, depth + 1, out),
        HirKind::Concat(subs) if subs.len() <= MAX_RUNS => {
            for sub in subs {
                let mut too_many = false;
                if let Some(lits) = required(sub, depth + 1, &mut too_many) {
                    out.push(lits);
                }
                collect_conjuncts(sub, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// Explains a `None` from [`required`].
fn no_atom_reason(hir: &Hir, too_many: bool) -> String {
    if too_many {
        return format!(
            "it would need more than {MAX_ATOMS} atoms (a large alternation, or long case-insensitive literals)"
        );
    }
    let mut node = hir;
    loop {
        match node.kind() {
            HirKind::Concat(subs) => match subs.first() {
                Some(first) => node = first,
                None => break,
            },
            HirKind::Capture(c) => node = &c.sub,
            HirKind::Repetition(r)
                if r.max.is_none() && matches!(r.sub.kind(), HirKind::Class(_)) =>
            {
                return "it starts with an unbounded class like `\\w+` and has no literal of 2+ bytes".to_string();
            }
            _ => break,
        }
    }
    "no literal of 2+ bytes is required by every match (each path goes through classes or optional parts)"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(rust: &str, ci: bool) -> Hir {
        let mut parser = regex_syntax::ParserBuilder::new()
            .case_insensitive(ci)
            .build();
        parser
            .parse(rust)
            .unwrap_or_else(|e| panic!("{rust:?}: {e}"))
    }

    fn regex(rust: &str, ci: bool) -> regex::Regex {
        let re = regex::RegexBuilder::new(rust)
            .case_insensitive(ci)
            .size_limit(64 << 20)
            .build();
        re.unwrap_or_else(|e| panic!("{rust:?}: {e}"))
    }

    fn atoms(rust: &str, ci: bool) -> AtomAnalysis {
        analyze(&parse(rust, ci))
    }

    fn set(lits: &[&str], exact: bool) -> AtomAnalysis {
        let literals = lits.iter().map(|l| l.as_bytes().to_vec()).collect();
        AtomAnalysis::Atoms(AtomSet { literals, exact })
    }

    fn reason(a: &AtomAnalysis) -> &str {
        match a {
            AtomAnalysis::NoAtoms { reason } => reason,
            AtomAnalysis::Atoms(s) => panic!("unexpected atoms {s:?}"),
        }
    }

    #[test]
    fn examples() {
        assert_eq!(
            atoms("(ignore|disregard) previous", false),
            set(&["disregard previous", "ignore previous"], true)
        );
        assert_eq!(atoms(r"\bfoo\b", false), set(&["foo"], false));
        assert_eq!(
            atoms(r"\w+ (ignore|disregard) previous", false),
            set(&[" disregard previous", " ignore previous"], false)
        );
        assert_eq!(
            atoms(r"aws --profile .* (s3 rm|ec2)", false),
            set(&["aws --profile "], false)
        );
        assert_eq!(atoms("(?i)ab", false), set(&["AB", "Ab", "aB", "ab"], true));
        assert_eq!(atoms("ab", true), set(&["AB", "Ab", "aB", "ab"], true));
        assert_eq!(atoms("abc+d", false), set(&["abc"], false));
        assert_eq!(atoms("[a&&b]", false), set(&[], true));
        assert_eq!(
            conjuncts(&parse(r"\bfoo\b.{0,20}\bbar\b", false), &[b"foo".to_vec()]),
            vec![vec![b"bar".to_vec()]]
        );
        assert_eq!(
            conjuncts(&parse(r"\b(ab|cd)\s+xyz", false), &[b"xyz".to_vec()]),
            vec![vec![b"ab".to_vec(), b"cd".to_vec()]]
        );
        assert!(reason(&atoms(r"\w+", false)).contains("unbounded class"));
        assert!(reason(&atoms("a*", false)).contains("empty string"));
        assert!(reason(&atoms("[a-z]+@[a-z]+", false)).contains("1 byte (`@`)"));
        assert!(reason(&atoms(r"foo|\w+", false)).contains("no literal"));
        let letter = |i: usize| char::from(b'a' + (i % 26) as u8);
        let names: Vec<String> = (0..200)
            .map(|i| format!("{}{}xyz", letter(i / 26), letter(i)))
            .collect();
        assert!(reason(&atoms(&format!("(?i)({})", names.join("|")), false))
            .contains(&format!("more than {MAX_ATOMS} atoms")));
        // Case-insensitive literals are cut to stay within the cap.
        let AtomAnalysis::Atoms(s) = atoms("instructions", true) else {
            panic!("no atoms")
        };
        assert!(
            !s.exact && s.literals.len() <= MAX_ATOMS && min_len(&s.literals) >= 4,
            "{s:?}"
        );
    }

    /// The public NOVA rules' regexes (from the Python table), translated by
    /// `pyre` as the compiler does. Keep the counts in the module doc in sync.
    #[test]
    fn public_rule_regexes() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/pyre_cases.json"))
                .expect("valid JSON");
        let mut seen = std::collections::BTreeMap::new();
        let mut with_branches = std::collections::BTreeSet::new();
        for c in doc["cases"].as_array().expect("cases") {
            let Some(rule) = c["rule"].as_str() else {
                continue;
            };
            let (p, h) = (
                c["pattern"].as_str().expect("pattern"),
                c["haystack"].as_str().expect("haystack"),
            );
            let ci = c["ignorecase"].as_bool().unwrap_or(false);
            let rust = crate::keywords::pyre::translate_for(p, ci)
                .map(|t| t.pattern)
                .expect("public regexes translate");
            let a = atoms(&rust, ci);
            if let Some(branches) = branch_groups(&parse(&rust, ci)) {
                // A match contains an atom of every group of some branch.
                let complete = branches.iter().any(|groups| {
                    groups
                        .iter()
                        .all(|g| g.iter().any(|l| contains(h.as_bytes(), l)))
                });
                assert!(
                    !regex(&rust, ci).is_match(h) || complete,
                    "{rule}: matches {h:?} but no branch has all of its groups: {branches:?}"
                );
                with_branches.insert(rule.to_string());
            }
            if let AtomAnalysis::Atoms(s) = &a {
                let hit = s.literals.iter().any(|l| contains(h.as_bytes(), l));
                let matched = regex(&rust, ci).is_match(h);
                assert!(
                    !matched || hit,
                    "{rule}: matches {h:?} but no atom occurs: {s:?}"
                );
                assert!(
                    !s.exact || matched == hit,
                    "{rule}: exact atoms disagree on {h:?}"
                );
            }
            seen.insert(rule.to_string(), a);
        }
        let (mut exact, mut inexact, mut none) = (0, 0, 0);
        for (rule, a) in &seen {
            match a {
                AtomAnalysis::Atoms(s) if s.exact => {
                    exact += 1;
                    eprintln!("exact  {rule}: {} atoms", s.literals.len());
                }
                AtomAnalysis::Atoms(s) => {
                    inexact += 1;
                    eprintln!(
                        "atoms  {rule}: {} atoms, shortest {}",
                        s.literals.len(),
                        min_len(&s.literals)
                    );
                }
                AtomAnalysis::NoAtoms { reason } => {
                    none += 1;
                    eprintln!("NONE   {rule}: {reason}");
                }
            }
        }
        eprintln!(
            "{} regexes: {exact} exact, {inexact} with atoms, {none} without",
            seen.len()
        );
        eprintln!("branch groups: {with_branches:?}");
        assert_eq!(
            (seen.len(), exact, inexact, none, with_branches.len()),
            (79, 18, 55, 6, 5),
            "update the module doc"
        );
    }

    fn arb_regex() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            "[abc]{1,3}",
            Just("[ab]".to_string()),
            Just("[a-c]".to_string()),
            Just(r"\w".to_string()),
            Just(".".to_string()),
            Just(r"\b".to_string()),
            Just("[^a]".to_string()),
            Just("é".to_string()),
            Just("K".to_string()),
            Just("s".to_string()),
            Just(r"\d".to_string()),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(|v| v.concat()),
                prop::collection::vec(inner.clone(), 2..4)
                    .prop_map(|v| format!("(?:{})", v.join("|"))),
                (inner.clone(), 0..5usize)
                    .prop_map(|(r, q)| format!("(?:{r}){}", ["*", "+", "?", "{1,3}", "{2}"][q])),
                inner.prop_map(|r| format!("({r})")),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn atoms_are_necessary(
            re in arb_regex(),
            ci in any::<bool>(),
            hays in prop::collection::vec("[abcABé K_ſ-]{0,12}", 1..8),
        ) {
            let AtomAnalysis::Atoms(set) = atoms(&re, ci) else { return Ok(()) };
            let verifier = regex(&re, ci);
            for h in &hays {
                let hit = set.literals.iter().any(|a| contains(h.as_bytes(), a));
                let matched = verifier.is_match(h);
                prop_assert!(!matched || hit, "{:?} matches {:?} without an atom of {:?}", re, h, set);
                prop_assert!(!set.exact || matched == hit, "{:?} exact but disagrees on {:?}", re, h);
            }
            // Every further required set is necessary on its own too.
            for group in conjuncts(&parse(&re, ci), &set.literals) {
                for h in &hays {
                    let hit = group.iter().any(|a| contains(h.as_bytes(), a));
                    prop_assert!(!verifier.is_match(h) || hit, "{:?} matches {:?} without an atom of conjunct {:?}", re, h, group);
                }
            }
        }
    }
}
