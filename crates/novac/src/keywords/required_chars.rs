//! A character test for the atomless regexes: one pass over the prompt
//! rules out the ones that cannot match.
//!
//! A regex with no literal atom (`novac check` W104), such as
//! `\b\d{3}-\d{2}-\d{4}\b` or `[a-z0-9._%+-]+@[a-z0-9.-]+`, cannot join the
//! automaton, but nearly every such regex still needs *some* character: a
//! `-`, an `@`, a digit, a capital letter. [`required`] finds, on the
//! verifier's own HIR, a set of characters with this invariant:
//!
//! > every match of the regex contains at least one character of the set.
//!
//! [`CharPrefilter`] then reads the prompt once and reports which regexes
//! had one of their characters in it; the others are known not to match and
//! are never run. On Russian or Chinese prompts, which hold no ASCII digit,
//! capital or `@`, that drops every atomless regex of the public rules; on
//! English prose only the ones that need a capital letter stay.
//!
//! # How the set is chosen
//!
//! Structurally, like [`crate::keywords::atoms`] but over characters: a literal needs
//! one of its characters (the rarest); a class needs one of its own; a
//! repetition with `min ≥ 1` and a capture group need what their body needs;
//! a concatenation needs what any one of its children needs (the cheapest
//! set is kept); an alternation needs the union of its branches' sets, and
//! nothing if one branch needs nothing. Assertions, `?` and `*` need
//! nothing. "Cheapest" weighs each character by how common it is in prose
//! (a space or a lower-case letter is costly, `@` is cheap), so that
//! `[a-z]+@[a-z]+` is filtered on `@`, not on its letters.

use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind};

/// A set of characters every match of `hir` contains one of, or `None` when
/// the regex can match without any particular character (it can match the
/// empty string, or it needs bytes that are not characters).
pub(crate) fn required(hir: &Hir) -> Option<ClassUnicode> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(lit) => {
            let text = std::str::from_utf8(&lit.0).ok()?;
            let rarest = text
                .chars()
                .min_by(|a, b| char_weight(*a).total_cmp(&char_weight(*b)))?;
            Some(ClassUnicode::new([ClassUnicodeRange::new(rarest, rarest)]))
        }
        HirKind::Class(Class::Unicode(class)) => Some(class.clone()),
        HirKind::Class(Class::Bytes(class)) => {
            // Bytes above ASCII are not characters: no requirement.
            let ranges: Option<Vec<ClassUnicodeRange>> = class
                .ranges()
                .iter()
                .map(|r| {
                    (r.end() < 0x80)
                        .then(|| ClassUnicodeRange::new(char::from(r.start()), char::from(r.end())))
                })
                .collect();
            Some(ClassUnicode::new(ranges?))
        }
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub),
        HirKind::Repetition(_) => None,
        HirKind::Capture(cap) => required(&cap.sub),
        HirKind::Concat(children) => children
            .iter()
            .filter_map(required)
            .min_by(|a, b| class_cost(a).total_cmp(&class_cost(b))),
        HirKind::Alternation(branches) => {
            let mut union = ClassUnicode::empty();
            for branch in branches {
                union.union(&required(branch)?);
            }
            Some(union)
        }
    }
}

/// Roughly how often a character turns up in ordinary prompts, per
/// character of text (in percent): the chance that testing for it passes.
fn char_weight(c: char) -> f64 {
    match c {
        ' ' => 15.0,
        'a'..='z' => 3.0,
        '\n' | '.' | ',' => 1.0,
        '\'' | '"' | '?' | '!' | ':' | ';' | '(' | ')' => 0.3,
        'A'..='Z' => 0.1,
        '0'..='9' => 0.05,
        '\0'..='\x7f' => 0.02,
        _ => 0.0005,
    }
}

fn class_cost(class: &ClassUnicode) -> f64 {
    class
        .ranges()
        .iter()
        .map(|r| {
            let (start, end) = (u32::from(r.start()), u32::from(r.end()));
            // The ASCII part char by char, the rest at the non-ASCII weight.
            let ascii: f64 = (start..=end.min(0x7f))
                .filter_map(char::from_u32)
                .map(char_weight)
                .sum();
            let non_ascii = end.saturating_sub(start.max(0x80)) + u32::from(end >= 0x80);
            ascii + f64::from(non_ascii) * char_weight('\u{80}')
        })
        .sum()
}

/// The character test of up to [`CharPrefilter::MAX`] regexes, each with its
/// [`required`] set (or none: always a candidate).
#[derive(Debug)]
pub(crate) struct CharPrefilter {
    /// Per byte: for ASCII, the regexes (bit `i` = regex `i`) that it
    /// satisfies; for a byte that may start a non-ASCII character some
    /// regex needs, [`DECODE`]; otherwise 0.
    bytes: [u64; 256],
    /// Non-ASCII characters some regex needs: sorted, disjoint ranges, each
    /// with the regexes it satisfies.
    ranges: Vec<(u32, u32, u64)>,
    /// For ASCII prompts: one test per filtered regex, on the ASCII part
    /// of its set (with SIMD where the set is a few bytes or ranges).
    ascii_tests: Vec<(u64, AsciiTest)>,
    /// The regexes that have a required set.
    filtered: u64,
    /// All regexes.
    all: u64,
}

/// Whether an ASCII text holds a byte of a set, the fastest way for the set.
#[derive(Debug)]
enum AsciiTest {
    /// The set has no ASCII byte.
    Never,
    /// One to three bytes: `memchr`.
    Bytes(Vec<u8>),
    /// One or two ranges, compared a block at a time (vectorised).
    Ranges(Vec<(u8, u8)>),
    /// Any other set, looked up byte by byte (such sets, like letters, are
    /// usually found within the first few bytes).
    Table(Box<[bool; 128]>),
}

impl AsciiTest {
    fn new(set: &ClassUnicode) -> AsciiTest {
        let ranges: Vec<(u8, u8)> = set
            .ranges()
            .iter()
            .filter(|r| u32::from(r.start()) < 0x80)
            .map(|r| (r.start() as u8, (u32::from(r.end()).min(0x7f)) as u8))
            .collect();
        let size: usize = ranges.iter().map(|&(a, b)| usize::from(b - a) + 1).sum();
        match (ranges.len(), size) {
            (0, _) => AsciiTest::Never,
            (_, 1..=3) => AsciiTest::Bytes(ranges.iter().flat_map(|&(a, b)| a..=b).collect()),
            (1 | 2, _) => AsciiTest::Ranges(ranges),
            _ => {
                let mut table = Box::new([false; 128]);
                for (a, b) in ranges {
                    if let Some(run) = table.get_mut(usize::from(a)..=usize::from(b)) {
                        run.fill(true);
                    }
                }
                AsciiTest::Table(table)
            }
        }
    }

    fn found_in(&self, bytes: &[u8]) -> bool {
        let in_range = |b: u8, (lo, hi): (u8, u8)| u8::from(b.wrapping_sub(lo) <= hi - lo);
        match self {
            AsciiTest::Never => false,
            AsciiTest::Bytes(set) => match set.as_slice() {
                [a] => memchr::memchr(*a, bytes).is_some(),
                [a, b] => memchr::memchr2(*a, *b, bytes).is_some(),
                [a, b, c] => memchr::memchr3(*a, *b, *c, bytes).is_some(),
                _ => true,
            },
            AsciiTest::Ranges(ranges) => match ranges.as_slice() {
                [r] => bytes
                    .chunks(64)
                    .any(|c| c.iter().fold(0u8, |acc, &b| acc | in_range(b, *r)) != 0),
                [r, s] => bytes.chunks(64).any(|c| {
                    c.iter()
                        .fold(0u8, |acc, &b| acc | in_range(b, *r) | in_range(b, *s))
                        != 0
                }),
                _ => true,
            },
            AsciiTest::Table(table) => bytes
                .iter()
                .any(|&b| table.get(usize::from(b)).copied().unwrap_or(false)),
        }
    }
}

/// The entry of a UTF-8 lead byte whose character must be decoded and looked up.
const DECODE: u64 = 1 << 63;

impl CharPrefilter {
    /// The most regexes one prefilter tests (one bit each; the top bit is [`DECODE`]).
    pub(crate) const MAX: usize = 63;

    /// A prefilter for the regexes whose sets are `sets` (the first
    /// [`CharPrefilter::MAX`]; any further ones are always candidates).
    pub(crate) fn new(sets: &[Option<ClassUnicode>]) -> CharPrefilter {
        let sets = sets.get(..Self::MAX).unwrap_or(sets);
        let mut bytes = [0u64; 256];
        let mut filtered = 0u64;
        let mut bounds = Vec::new();
        for (i, set) in sets.iter().enumerate() {
            let Some(set) = set else { continue };
            let bit = 1u64 << i;
            filtered |= bit;
            for r in set.ranges() {
                let (start, end) = (u32::from(r.start()), u32::from(r.end()));
                for b in start..=end.min(0x7f) {
                    if let Some(entry) = bytes.get_mut(b as usize) {
                        *entry |= bit;
                    }
                }
                if end >= 0x80 {
                    let start = start.max(0x80);
                    // UTF-8 lead bytes grow with the code point.
                    for b in lead_byte(start)..=lead_byte(end) {
                        if let Some(entry) = bytes.get_mut(usize::from(b)) {
                            *entry = DECODE;
                        }
                    }
                    bounds.push(start);
                    bounds.push(end + 1);
                }
            }
        }
        bounds.sort_unstable();
        bounds.dedup();
        let mut ranges: Vec<(u32, u32, u64)> = Vec::new();
        for pair in bounds.windows(2) {
            let &[start, next] = pair else { continue };
            let end = next - 1;
            let mask = sets
                .iter()
                .enumerate()
                .filter(|(_, set)| set.as_ref().is_some_and(|s| contains(s, start)))
                .fold(0u64, |m, (i, _)| m | (1 << i));
            if mask == 0 {
                continue;
            }
            match ranges.last_mut() {
                Some(last) if last.1 + 1 == start && last.2 == mask => last.1 = end,
                _ => ranges.push((start, end, mask)),
            }
        }
        let ascii_tests = sets
            .iter()
            .enumerate()
            .filter_map(|(i, set)| set.as_ref().map(|s| (1u64 << i, AsciiTest::new(s))))
            .collect();
        CharPrefilter {
            bytes,
            ranges,
            ascii_tests,
            filtered,
            all: (1u64 << sets.len()) - 1,
        }
    }

    /// The table entry of byte `b` (the per-byte lookup of [`Self::candidates`]).
    #[inline(always)]
    #[allow(
        clippy::indexing_slicing,
        reason = "per-byte lookup: a u8 always indexes the 256-entry byte table"
    )]
    fn entry(&self, b: u8) -> u64 {
        self.bytes[usize::from(b)]
    }

    /// The regexes that may match `text` (bit `i` = regex `i`): those with
    /// one of their characters in it, and those with no required set.
    /// `ascii`: `text.is_ascii()`.
    pub(crate) fn candidates(&self, text: &str, ascii: bool) -> u64 {
        let unfiltered = self.all & !self.filtered;
        if self.filtered == 0 {
            return unfiltered;
        }
        if ascii {
            let bytes = text.as_bytes();
            return self
                .ascii_tests
                .iter()
                .filter(|(_, test)| test.found_in(bytes))
                .fold(unfiltered, |m, (bit, _)| m | bit);
        }
        // The regexes not satisfied yet, plus DECODE: a byte whose entry
        // has none of these bits (most bytes, soon) costs one test.
        let mut missing = self.filtered | DECODE;
        'blocks: for (n, block) in text.as_bytes().chunks(8).enumerate() {
            // One test per eight bytes: in most blocks no byte is of interest.
            if block.iter().fold(0, |acc, &b| acc | self.entry(b)) & missing == 0 {
                continue;
            }
            for (k, &b) in block.iter().enumerate() {
                let entry = self.entry(b);
                if entry & missing == 0 {
                    continue;
                }
                let i = n * 8 + k;
                let found = if entry == DECODE {
                    // `i` is a character boundary: continuation bytes are never leads.
                    text.get(i..)
                        .and_then(|rest| rest.chars().next())
                        .map_or(0, |c| self.non_ascii(u32::from(c)))
                } else {
                    entry
                };
                missing &= !found;
                if missing == DECODE {
                    break 'blocks;
                }
            }
        }
        unfiltered | (self.filtered & !missing)
    }

    fn non_ascii(&self, c: u32) -> u64 {
        let at = self.ranges.partition_point(|r| r.1 < c);
        match self.ranges.get(at) {
            Some(&(start, _, mask)) if start <= c => mask,
            _ => 0,
        }
    }
}

fn contains(set: &ClassUnicode, c: u32) -> bool {
    set.ranges()
        .iter()
        .any(|r| u32::from(r.start()) <= c && c <= u32::from(r.end()))
}

/// The first byte of the UTF-8 encoding of code point `c` (`c ≥ 0x80`;
/// surrogates encode as their neighbours would).
fn lead_byte(c: u32) -> u8 {
    match c {
        0..=0x7f => c as u8,
        0x80..=0x7ff => 0xc0 | (c >> 6) as u8,
        0x800..=0xffff => 0xe0 | (c >> 12) as u8,
        _ => 0xf0 | ((c >> 18).min(7)) as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hir_of(pattern: &str) -> Hir {
        crate::keywords::keyword_regex::hir(pattern, false).expect("valid regex")
    }

    fn set_of(pattern: &str) -> Option<String> {
        required(&hir_of(pattern)).map(|set| {
            set.ranges()
                .iter()
                .map(|r| {
                    if r.start() == r.end() {
                        r.start().to_string()
                    } else {
                        format!("{}-{}", r.start(), r.end())
                    }
                })
                .collect()
        })
    }

    #[test]
    fn the_cheapest_required_characters_are_chosen() {
        assert_eq!(
            set_of(r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+").as_deref(),
            Some("@")
        );
        assert_eq!(
            set_of(r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b").as_deref(),
            Some("-")
        );
        assert_eq!(set_of(r"(?:x|y)[0-9]").as_deref(), Some("0-9"));
        assert_eq!(
            set_of(r"\b[A-Z][a-z]+\s[A-Z][a-z]+\b").as_deref(),
            Some("A-Z")
        );
        assert_eq!(set_of(r"(?:ab|[0-9])").as_deref(), Some("0-9a"));
    }

    #[test]
    fn regexes_that_can_match_without_a_character_need_none() {
        assert_eq!(set_of(r"[a-z]*"), None);
        assert_eq!(set_of(r"^"), None);
        assert_eq!(set_of(r"(?:a|)"), None);
        assert_eq!(set_of(r"(?:a|b?)"), None);
    }

    #[test]
    fn prose_without_the_characters_rules_the_regexes_out() {
        let patterns = [
            r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}",
            r"\b(?:\d[ -]*?){13,16}\b",
            r"\b[A-Z][a-z]+\s[A-Z][a-z]+\b",
            r"[a-z]*",
        ];
        let sets: Vec<_> = patterns.iter().map(|p| required(&hir_of(p))).collect();
        let filter = CharPrefilter::new(&sets);
        // `[a-z]*` needs nothing: always a candidate.
        assert_eq!(filter.candidates("Помогите составить отчёт", false), 0b1000);
        assert_eq!(filter.candidates("写一份报告，谢谢", false), 0b1000);
        assert_eq!(filter.candidates("Ask Ada Lovelace", true), 0b1100);
        // Unicode `\d` holds the full-width and Arabic-Indic digits.
        assert_eq!(filter.candidates("１２３", false), 0b1010);
        assert_eq!(filter.candidates("٣", false), 0b1010);
        assert_eq!(filter.candidates("mail me@x.io", true), 0b1001);
    }

    const PATTERNS: &[&str] = &[
        r"\b\d{3}-\d{2}-\d{4}\b",
        r"(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}",
        r"\b[A-Z][a-z]+\s[A-Z][a-z]+\b",
        r"[A-Za-z0-9+/=]{4,}",
        r"\b(?:\d[ -]*?){3,5}\b",
        r"[a-zA-Z]*\d[a-zA-Z]*",
        r"(?i)ß|ǅ",
        r"[^\x00-\x7f]{2}",
        r"\w\W",
        r"(?:é|ж)+",
    ];

    static FIXTURE: std::sync::LazyLock<(CharPrefilter, Vec<regex::Regex>)> =
        std::sync::LazyLock::new(|| {
            let sets: Vec<_> = PATTERNS.iter().map(|p| required(&hir_of(p))).collect();
            let regexes = PATTERNS
                .iter()
                .map(|p| regex::Regex::new(p).expect("valid regex"))
                .collect();
            (CharPrefilter::new(&sets), regexes)
        });

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The fast path equals the slow one: a regex the prefilter rules out never matches.
        #[test]
        fn a_ruled_out_regex_never_matches(text in "[a-zA-Z0-9 @.\\-+/=ßſéжЖ٣１，字\u{1F600}]{0,24}") {
            let (filter, regexes) = &*FIXTURE;
            let candidates = filter.candidates(&text, text.is_ascii());
            // The ASCII tests and the byte loop agree on ASCII text.
            if text.is_ascii() {
                prop_assert_eq!(candidates, filter.candidates(&text, false));
            }
            for (i, (pattern, regex)) in PATTERNS.iter().zip(regexes).enumerate() {
                if regex.is_match(&text) {
                    prop_assert!(candidates & (1 << i) != 0, "{pattern} matches {text:?} but was ruled out");
                }
            }
        }
    }
}
