//! A run test for regexes that need a long run of one character class:
//! `[A-Za-z0-9+/=]{20,}` (base64), `[0-9a-f]{32}` (hex keys),
//! `sk-[A-Za-z0-9]{20,}`. Such a regex cannot match a prompt with no run
//! of that many class characters in a row, and that is cheap to rule out
//! without running the regex.
//!
//! [`required_run`] finds, on the verifier's own HIR, a class and a length
//! with this invariant:
//!
//! > every match of the regex contains `len` consecutive characters of the class.
//!
//! [`ClassRun::occurs`] then looks for such a run in the prompt, skipping
//! ahead the way Boyer–Moore skips: it tests the byte where a run starting
//! at the current position would end; a byte outside the class there rules
//! out every start up to it at once. In prose, where words are a few letters
//! long, a run of 20 is ruled out reading a fraction of the bytes, several
//! times faster than the regex's DFA, which reads every byte.
//!
//! # Bytes, not characters
//!
//! The test works on bytes. A class with characters beyond ASCII accepts
//! every byte ≥ 0x80 too, so a run of `len` such characters, which is at
//! least `len` bytes long, is always a run of accepted bytes: the test can
//! say "maybe" wrongly, never "no".
//!
//! # Which runs are worth testing
//!
//! Only runs of at least [`MIN_RUN`] characters from a class without a
//! space: shorter runs, or runs of a class that holds the space (`[^"]{30,}`),
//! occur in nearly any prose, and the test would pass at once for nothing.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Shorter runs are not tested (see the module docs).
pub(crate) const MIN_RUN: u32 = 8;

/// A run of `len` consecutive characters of one class that every match contains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClassRun {
    /// Per byte: whether it can be part of the run.
    accepts: [bool; 256],
    len: u32,
}

/// The longest run that every match of `hir` contains, if it is worth
/// testing (see the module docs).
pub(crate) fn required_run(hir: &Hir) -> Option<ClassRun> {
    let run = longest(hir)?;
    let accepts_space = run.accepts.get(usize::from(b' ')).copied().unwrap_or(true);
    (run.len >= MIN_RUN && !accepts_space).then_some(run)
}

/// The longest required run, of any length and class.
fn longest(hir: &Hir) -> Option<ClassRun> {
    match hir.kind() {
        HirKind::Repetition(rep) if rep.min >= 1 => {
            let inner = longest(&rep.sub)?;
            // A body of class characters only, repeated: `min` of its runs in a row.
            if is_pure_run(&rep.sub) {
                Some(ClassRun {
                    len: inner.len.saturating_mul(rep.min),
                    ..inner
                })
            } else {
                Some(inner)
            }
        }
        HirKind::Class(class) => Some(ClassRun {
            accepts: accepted_bytes(class),
            len: 1,
        }),
        HirKind::Capture(cap) => longest(&cap.sub),
        HirKind::Concat(children) => children
            .iter()
            .filter_map(longest)
            .max_by_key(|run| run.len),
        HirKind::Alternation(branches) => {
            // Every branch needs a run: a run of the shortest length, over
            // the union of the classes.
            let mut union = longest(branches.first()?)?;
            for branch in branches.iter().skip(1) {
                let run = longest(branch)?;
                union.len = union.len.min(run.len);
                for (a, b) in union.accepts.iter_mut().zip(run.accepts) {
                    *a |= b;
                }
            }
            Some(union)
        }
        HirKind::Empty | HirKind::Look(_) | HirKind::Literal(_) | HirKind::Repetition(_) => None,
    }
}

/// Whether every match of `hir` is made of characters of one class only
/// (a class, repeated or in a group): then its own run is the whole match.
fn is_pure_run(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Class(_) => true,
        HirKind::Capture(cap) => is_pure_run(&cap.sub),
        HirKind::Repetition(rep) => rep.min >= 1 && is_pure_run(&rep.sub),
        _ => false,
    }
}

/// The bytes a class character can be made of (see the module docs).
fn accepted_bytes(class: &Class) -> [bool; 256] {
    let mut accepts = [false; 256];
    match class {
        Class::Unicode(class) => {
            for r in class.ranges() {
                let (start, end) = (u32::from(r.start()), u32::from(r.end()));
                if let Some(ascii) = accepts.get_mut(start as usize..=end.min(0x7f) as usize) {
                    ascii.fill(true);
                }
                if end >= 0x80 {
                    if let Some(high) = accepts.get_mut(0x80..) {
                        high.fill(true);
                    }
                }
            }
        }
        Class::Bytes(class) => {
            for r in class.ranges() {
                if let Some(run) = accepts.get_mut(usize::from(r.start())..=usize::from(r.end())) {
                    run.fill(true);
                }
            }
        }
    }
    accepts
}

impl ClassRun {
    /// Whether `haystack` holds `len` accepted bytes in a row.
    #[allow(
        clippy::indexing_slicing,
        reason = "per-byte loop: every i is at most last = start + len - 1 < haystack.len() (loop test, len >= MIN_RUN), and a u8 indexes the 256 accepts"
    )]
    pub(crate) fn occurs(&self, haystack: &[u8]) -> bool {
        let len = self.len as usize;
        let accepts = |i: usize| self.accepts[usize::from(haystack[i])];
        // No run starts before `start`; `haystack[start..good]` are accepted.
        let (mut start, mut good) = (0usize, 0usize);
        while start + len <= haystack.len() {
            let last = start + len - 1;
            if !accepts(last) {
                start = last + 1;
                good = start;
                continue;
            }
            // Walk back from `last` to the bytes known to be accepted.
            let mut k = last;
            while k > good && accepts(k - 1) {
                k -= 1;
            }
            if k == good {
                return true; // haystack[start..=last] are all accepted
            }
            // haystack[k - 1] is not: the next run can start at k at the earliest.
            start = k;
            good = last + 1;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The pattern's HIR (these patterns mean the same in Python and Rust
    /// syntax; parsing them directly keeps this module free of the verifier
    /// module, which depends on it).
    fn hir(pattern: &str) -> regex_syntax::hir::Hir {
        regex_syntax::parse(pattern).expect("valid regex")
    }

    fn run_of(pattern: &str) -> Option<(u32, String)> {
        let hir = hir(pattern);
        required_run(&hir).map(|run| {
            let bytes: String = (0u8..0x80)
                .filter(|&b| run.accepts[usize::from(b)])
                .map(char::from)
                .collect();
            (run.len, bytes)
        })
    }

    #[test]
    fn long_class_runs_are_found() {
        assert_eq!(
            run_of(r"[A-Za-z0-9+/=]{20,}"),
            Some((
                20,
                "+/0123456789=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".into()
            ))
        );
        assert_eq!(
            run_of(r"\bsk-[a-f0-9]{32}\b"),
            Some((32, "0123456789abcdef".into()))
        );
        assert_eq!(
            run_of(r"(?:[0-9a-f]{4}){4}"),
            Some((16, "0123456789abcdef".into()))
        );
        assert_eq!(run_of(r"(?:x[0-9]{9}|y[a-f]{12})").map(|r| r.0), Some(9));
    }

    #[test]
    fn short_runs_and_runs_with_spaces_are_not_worth_testing() {
        assert_eq!(run_of(r"[a-z]{3,}"), None);
        assert_eq!(run_of(r#"[^"]{30,}"#), None);
        assert_eq!(run_of(r"[a-z]*x"), None);
        assert_eq!(run_of(r"(?:[0-9]{20}|abc)"), None);
        assert_eq!(run_of(r"\b[A-Z][a-z]+\s[A-Z][a-z]+\b"), None);
    }

    #[test]
    fn non_ascii_classes_accept_every_high_byte() {
        let hir = hir(r"\w{10}");
        let run = required_run(&hir).expect("a run");
        assert!(run.occurs("пожалуйста".as_bytes()));
        assert!(!run.occurs("short words only here".as_bytes()));
    }

    fn naive(run: &ClassRun, haystack: &[u8]) -> bool {
        haystack
            .windows(run.len as usize)
            .any(|w| w.iter().all(|&b| run.accepts[usize::from(b)]))
    }

    const PATTERNS: &[&str] = &[
        r"[A-Za-z0-9+/=]{8,}",
        r"\bkey-[a-f0-9]{10}\b",
        r"(?:[0-9]{4}){2}",
        r"\w{8}",
        r"(?i)[a-z]{9,}ж",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The skipping test equals the naive one, and a regex whose run is
        /// absent never matches.
        #[test]
        fn the_skip_test_equals_the_naive_one(text in "[a-f0-9A-Z+ =\\-kyжé]{0,40}") {
            for pattern in PATTERNS {
                let hir = hir(pattern);
                let run = required_run(&hir).expect("a run");
                let occurs = run.occurs(text.as_bytes());
                prop_assert_eq!(occurs, naive(&run, text.as_bytes()), "{}", pattern);
                if regex::Regex::new(pattern).expect("valid regex").is_match(&text) {
                    prop_assert!(occurs, "{} matches {:?} without its run", pattern, text);
                }
            }
        }
    }
}
