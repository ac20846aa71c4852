//! The emitter half of [`super::translate`]: a [`Node`] tree → an
//! equivalent Rust `regex` pattern, every character escaped as Rust needs,
//! Python's `\s`, `\w` and ASCII-mode classes spelt out, and Python's `$`
//! before a final newline written as `(?:\n?\z)` where only the end can
//! follow. What cannot be expressed without lookaround is an error here.
//!
//! Cost: one pass over the tree; the output is a few times the pattern's length.

use super::{err, Assert, GroupKind, Item, Node, Perl, Res, K};
use std::fmt::Write as _;

/// Classes that match nothing / everything (for classes emptied by
/// surrogate clipping, and lone surrogates).
const NEVER: &str = r"[^\x00-\x{10FFFF}]";
const ANY: &str = r"[\x00-\x{10FFFF}]";

/// Writes one character for use in or out of a class: Rust meta characters
/// escaped, invisible and non-ASCII punctuation as `\x{..}`.
fn push_char(out: &mut String, c: char) {
    if regex_syntax::is_meta_character(c) {
        out.extend(['\\', c]);
    } else if c.is_ascii_graphic() || c == ' ' || (!c.is_ascii() && c.is_alphanumeric()) {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:X}}}", c as u32);
    }
}

/// `\d`-style classes on their own.
fn perl_standalone(Perl(c): Perl, ascii: bool) -> &'static str {
    match (c, ascii) {
        ('s', false) => r"[\s\x1C-\x1F]",
        ('S', false) => r"[^\s\x1C-\x1F]",
        ('d', false) => r"\d",
        ('D', false) => r"\D",
        // Python's `\w` is `str.isalnum()` or `_`: letters and numbers, but
        // not marks or joiners (which Rust's `\w` includes). Obfuscation
        // often hides in those (`ignore\u{200D}previous` with `\W*`).
        ('w', false) => r"[\p{L}\p{N}_]",
        ('W', false) => r"[^\p{L}\p{N}_]",
        ('d', true) => "[0-9]",
        ('D', true) => "[^0-9]",
        // Python's ASCII mode folds ASCII only: keep K (Kelvin) and ſ out.
        ('w', true) => "(?-i:[0-9A-Za-z_])",
        ('W', true) => "(?-i:[^0-9A-Za-z_])",
        ('s', true) => r"[\t\n\x0B\x0C\r ]",
        _ => r"[^\t\n\x0B\x0C\r ]",
    }
}

/// `\d`-style classes inside `[...]` (negated ones as nested classes).
fn perl_in_class(p: Perl, ascii: bool) -> &'static str {
    match (p.0, ascii) {
        ('s', false) => r"\s\x1C-\x1F",
        ('w', false) => r"\p{L}\p{N}_",
        ('d', true) => "0-9",
        ('w', true) => "0-9A-Za-z_",
        ('W', true) => "[^0-9A-Za-z_]",
        ('s', true) => r"\t\n\x0B\x0C\r ",
        _ => perl_standalone(p, ascii),
    }
}

pub(super) struct Emitter {
    pub(super) out: String,
    pub(super) notes: Vec<String>,
    pub(super) dollar_noted: bool,
    /// Case-insensitive here (the caller's `/i`, `(?i)`, or a scoped `(?i:…)`).
    pub(super) icase: bool,
}

fn is_empty_node(n: &Node) -> bool {
    match n {
        Node::Empty => true,
        Node::Group(_, body) => is_empty_node(body),
        Node::Concat(items) => items.iter().all(is_empty_node),
        _ => false,
    }
}

impl Emitter {
    /// `tail`: only the end of the pattern can follow `node` (and it is not
    /// inside a repetition that could run again), so a Python `$` here may
    /// consume the final newline it allows before it.
    pub(super) fn emit(&mut self, node: &Node, tail: bool) -> Res<()> {
        match node {
            Node::Empty => {}
            Node::Lit(v) => match char::from_u32(*v) {
                Some(c) => push_char(&mut self.out, c),
                None => {
                    self.out.push_str(NEVER);
                    self.notes
                        .push(format!("lone surrogate U+{v:04X} never matches"));
                }
            },
            Node::Dot(dotall) => self.out.push_str(if *dotall { "(?s:.)" } else { "." }),
            // Python never case-folds a category: under `i` the class is
            // written with folding off (same set, no Unicode folding work).
            Node::Perl(p, false) if self.icase => {
                let _ = write!(self.out, "(?-i:{})", perl_standalone(*p, false));
            }
            Node::Perl(p, ascii) => self.out.push_str(perl_standalone(*p, *ascii)),
            Node::Class(negated, items) => self.class(*negated, items),
            Node::Assert(a) => self.assert(a, tail)?,
            Node::Group(kind, body) => {
                let outer = self.icase;
                match kind {
                    GroupKind::Capture(None) => self.out.push('('),
                    GroupKind::Capture(Some(name)) => {
                        let _ = write!(self.out, "(?P<{name}>");
                    }
                    GroupKind::NonCapture => self.out.push_str("(?:"),
                    GroupKind::Flags(f) => {
                        self.icase = *f == "i";
                        let _ = write!(self.out, "(?{f}:");
                    }
                }
                let emitted = self.emit(body, tail);
                self.icase = outer;
                emitted?;
                self.out.push(')');
            }
            Node::Concat(items) => {
                for (i, item) in items.iter().enumerate() {
                    let rest_empty = items
                        .get(i + 1..)
                        .is_some_and(|r| r.iter().all(is_empty_node));
                    self.emit(item, tail && rest_empty)?;
                }
            }
            Node::Alt(branches) => {
                for (i, b) in branches.iter().enumerate() {
                    if i > 0 {
                        self.out.push('|');
                    }
                    self.emit(b, tail)?;
                }
            }
            Node::Repeat {
                min,
                max,
                lazy,
                body,
            } => {
                self.emit(body, tail && max.is_some_and(|m| m <= 1))?;
                let _ = match (min, max) {
                    (0, Some(1)) => write!(self.out, "?"),
                    (0, None) => write!(self.out, "*"),
                    (1, None) => write!(self.out, "+"),
                    (m, None) => write!(self.out, "{{{m},}}"),
                    (m, Some(n)) if m == n => write!(self.out, "{{{m}}}"),
                    (m, Some(n)) => write!(self.out, "{{{m},{n}}}"),
                };
                if *lazy {
                    self.out.push('?');
                }
            }
        }
        Ok(())
    }

    fn assert(&mut self, a: &Assert, tail: bool) -> Res<()> {
        self.out.push_str(match a {
            Assert::Start(false) => "^",
            Assert::Start(true) => "(?m:^)",
            Assert::End(true, _) => "(?m:$)",
            Assert::End(false, at) if !tail => {
                let msg = "`$` followed by more pattern is not supported: Python's `$` also matches before a \
                           final newline, which novac expresses only at the end of the pattern (or of its last \
                           branches); use `\\Z` (end of text) or `(?m)$` (end of line)";
                return err(K::Unsupported, *at, at + 1, msg);
            }
            Assert::End(false, _) => {
                if !std::mem::replace(&mut self.dollar_noted, true) {
                    self.notes.push("`$` became `(?:\\n?\\z)`: a match before a final newline includes it".into());
                }
                r"(?:\n?\z)"
            }
            Assert::TextStart => r"\A",
            Assert::TextEnd => r"\z",
            Assert::Boundary(false) => r"\b",
            Assert::Boundary(true) => r"(?-u:\b)",
            Assert::NotBoundary(false) => r"\B",
            Assert::NotBoundary(true) => r"(?-u:\B)",
        });
        Ok(())
    }

    fn class(&mut self, negated: bool, items: &[Item]) {
        if self.icase && items.iter().any(|i| matches!(i, Item::Perl(_, false))) {
            return self.folded_class(negated, items);
        }
        self.push_class(negated, &class_body(items));
    }

    /// A case-insensitive class with Unicode `\w`/`\s`/`\d` items, as
    /// Python matches it: its characters and ranges case-folded (here, with
    /// the same simple folding `regex-syntax` would apply), its categories
    /// not, the whole written with folding off.
    fn folded_class(&mut self, negated: bool, items: &[Item]) {
        use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};
        let mut body = String::new();
        let mut chars = ClassUnicode::empty();
        for item in items {
            match *item {
                Item::Perl(p, ascii) => body.push_str(perl_in_class(p, ascii)),
                Item::Range(lo, hi) => {
                    if let Some((l, h)) = clip_surrogates(lo, hi) {
                        chars.push(ClassUnicodeRange::new(l, h));
                    }
                }
            }
        }
        // Folding needs regex-syntax's `unicode-case` tables (a default
        // feature); without them, fold nothing here and keep the old form.
        if chars.try_case_fold_simple().is_err() {
            return self.push_class(negated, &class_body(items));
        }
        for r in chars.iter() {
            push_range(&mut body, r.start(), r.end());
        }
        self.out.push_str("(?-i:");
        self.push_class(negated, &body);
        self.out.push(')');
    }

    fn push_class(&mut self, negated: bool, body: &str) {
        match (body.is_empty(), negated) {
            (true, false) => self.out.push_str(NEVER),
            (true, true) => self.out.push_str(ANY),
            (false, _) => {
                let _ = write!(self.out, "[{}{body}]", if negated { "^" } else { "" });
            }
        }
    }
}

/// The items of a class as written between `[` and `]` (folding, if any,
/// left to the regex's flags).
fn class_body(items: &[Item]) -> String {
    let mut body = String::new();
    for item in items {
        match *item {
            Item::Perl(p, ascii) => body.push_str(perl_in_class(p, ascii)),
            Item::Range(lo, hi) => {
                if let Some((l, h)) = clip_surrogates(lo, hi) {
                    push_range(&mut body, l, h);
                }
            }
        }
    }
    body
}

/// `l-h` in a class (`l` alone when they are equal).
fn push_range(body: &mut String, l: char, h: char) {
    push_char(body, l);
    if h != l {
        body.push('-');
        push_char(body, h);
    }
}

/// A class range with surrogates clipped away (they never occur in a Rust
/// string); `None` when nothing is left.
fn clip_surrogates(lo: u32, hi: u32) -> Option<(char, char)> {
    let lo = if (0xD800..=0xDFFF).contains(&lo) {
        0xE000
    } else {
        lo
    };
    let hi = if (0xD800..=0xDFFF).contains(&hi) {
        0xD7FF
    } else {
        hi
    };
    let (l, h) = (char::from_u32(lo)?, char::from_u32(hi)?);
    (l <= h).then_some((l, h))
}
