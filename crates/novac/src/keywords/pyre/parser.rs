//! The parser half of [`super::translate`]: Python 3.11 `re` syntax → the
//! [`Node`] tree, following CPython's `re/_parser.py` step by step (same
//! tokens, same errors, the same global-flag and nesting rules). Flags that
//! Rust cannot scope the same way (`m`, `s`, `x`, `a`) are applied here, so
//! the tree carries their effect and the emitter never sees them.
//!
//! Cost: one pass over the pattern, recursive in group nesting (bounded by
//! [`MAX_NESTING`]).

use super::{err, Assert, GroupKind, Item, Node, Perl, Res, K, MAXREPEAT, MAX_NESTING};
use std::collections::{HashMap, HashSet};

/// Flags that the parser applies itself (`i` is emitted as a Rust flag).
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    verbose: bool,
    multiline: bool,
    dotall: bool,
    ascii: bool,
}

/// Python's flag letters, as bits in this order.
const FLAG_LETTERS: &str = "iLmsxatu";
const F_I: u8 = 1;
const F_L: u8 = 2;
const F_M: u8 = 4;
const F_S: u8 = 8;
const F_X: u8 = 16;
const F_A: u8 = 32;
const F_T: u8 = 64;
const F_U: u8 = 128;
const TYPE_FLAGS: u8 = F_A | F_L | F_U;

fn flag_bit(c: char) -> Option<u8> {
    FLAG_LETTERS.find(c).map(|i| 1 << i)
}

/// A token of Python's tokenizer: a character or a backslash escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Char(char),
    Esc(char),
}

/// A recursive-descent parser mirroring CPython's `re/_parser.py`.
#[derive(Default)]
pub(super) struct Parser<'a> {
    src: &'a str,
    pos: usize,
    flags: Flags,
    pub(super) global_i: bool,
    global_a: bool,
    global_u: bool,
    /// Capture groups in order; `true` once closed.
    groups: Vec<bool>,
    names: HashMap<String, usize>,
    rust_names: HashSet<String>,
    pub(super) notes: Vec<String>,
}
impl<'a> Parser<'a> {
    /// A parser at the start of `src`.
    pub(super) fn new(src: &'a str) -> Parser<'a> {
        Parser {
            src,
            ..Parser::default()
        }
    }
}

impl Parser<'_> {
    /// An error spanning `start` to the current position.
    fn fail<T>(&self, kind: K, start: usize, message: impl Into<String>) -> Res<T> {
        err(kind, start, self.pos.max(start), message)
    }

    fn syntax<T>(&self, start: usize, message: impl Into<String>) -> Res<T> {
        self.fail(K::Syntax, start, message)
    }

    /// A syntax error from `start` to the end of the pattern.
    fn unterminated<T>(&self, start: usize, message: &str) -> Res<T> {
        err(K::Syntax, start, self.src.len(), message)
    }

    /// A construct that needs backtracking.
    fn linear<T>(&self, kind: K, start: usize, what: &str) -> Res<T> {
        let msg = format!("{what} is not supported: novac matches in linear time");
        self.fail(kind, start, msg)
    }

    fn peek(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().next())
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += c.len_utf8();
        }
        hit
    }

    /// Consumes the next char if it satisfies `f`.
    fn eat_if(&mut self, f: impl Fn(char) -> bool) -> Option<char> {
        let c = self.peek().filter(|&c| f(c))?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn bump_token(&mut self) -> Option<Tok> {
        match self.bump()? {
            '\\' => self.bump().map(Tok::Esc),
            c => Some(Tok::Char(c)),
        }
    }

    pub(super) fn parse(&mut self) -> Res<Node> {
        // Python's tokenizer rejects a pattern ending in an unpaired `\`.
        if self.src.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1 {
            return err(
                K::Syntax,
                self.src.len() - 1,
                self.src.len(),
                "bad escape (end of pattern)",
            );
        }
        let node = self.parse_alt(0)?;
        if self.pos < self.src.len() {
            return err(K::Syntax, self.pos, self.pos + 1, "unbalanced parenthesis");
        }
        if self.global_a && self.global_u {
            return self.syntax(0, "ASCII and UNICODE flags are incompatible");
        }
        Ok(node)
    }

    fn parse_alt(&mut self, nested: usize) -> Res<Node> {
        if nested > MAX_NESTING {
            return self.fail(
                K::Unsupported,
                self.pos,
                format!("groups nested over {MAX_NESTING} deep"),
            );
        }
        let mut branches = Vec::new();
        loop {
            let first = nested == 0 && branches.is_empty();
            branches.push(self.parse_concat(nested, first)?);
            if !self.eat('|') {
                break;
            }
        }
        Ok(if branches.len() == 1 {
            branches.swap_remove(0)
        } else {
            Node::Alt(branches)
        })
    }

    fn parse_concat(&mut self, nested: usize, first: bool) -> Res<Node> {
        let mut items: Vec<Node> = Vec::new();
        while let Some(c) = self.peek().filter(|c| !matches!(c, '|' | ')')) {
            let start = self.pos;
            self.pos += c.len_utf8();
            if self.flags.verbose && matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c') {
                continue;
            }
            if self.flags.verbose && c == '#' {
                while !matches!(self.bump_token(), None | Some(Tok::Char('\n'))) {}
                continue;
            }
            let node = match c {
                '\\' => self.parse_escape(start)?,
                '[' => self.parse_class(start)?,
                '*' | '+' | '?' | '{' => {
                    self.parse_repeat(c, start, &mut items)?;
                    continue;
                }
                '.' => Node::Dot(self.flags.dotall),
                '(' => match self.parse_group(start, nested, first && items.is_empty())? {
                    Some(node) => node,
                    None => continue,
                },
                '^' => Node::Assert(Assert::Start(self.flags.multiline)),
                '$' => Node::Assert(Assert::End(self.flags.multiline, start)),
                _ => Node::Lit(c as u32),
            };
            items.push(node);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.swap_remove(0),
            _ => Node::Concat(items),
        })
    }

    /// A repeat count: Python rejects values ≥ MAXREPEAT (OverflowError).
    fn count(&self, digits: &str, start: usize) -> Res<u32> {
        match digits.parse::<u64>() {
            Ok(n) if n < MAXREPEAT => Ok(n as u32),
            _ => self.syntax(start, "the repetition number is too large"),
        }
    }

    fn take_digits(&mut self) -> String {
        std::iter::from_fn(|| self.eat_if(|d| d.is_ascii_digit())).collect()
    }

    fn parse_repeat(&mut self, c: char, start: usize, items: &mut Vec<Node>) -> Res<()> {
        let (min, max) = match c {
            '?' => (0, Some(1)),
            '*' => (0, None),
            '+' => (1, None),
            _ => {
                // `{` repeats only as `{m}`, `{m,}`, `{,n}`, `{m,n}` or `{,}`.
                let here = self.pos;
                let lo = self.take_digits();
                let hi = if self.eat(',') {
                    Some(self.take_digits())
                } else {
                    None
                };
                if (lo.is_empty() && hi.is_none()) || !self.eat('}') {
                    self.pos = here;
                    items.push(Node::Lit('{' as u32));
                    return Ok(());
                }
                let min = if lo.is_empty() {
                    0
                } else {
                    self.count(&lo, start)?
                };
                let max = match hi {
                    None => Some(min),
                    Some(h) if h.is_empty() => None,
                    Some(h) => Some(self.count(&h, start)?),
                };
                if max.is_some_and(|m| m < min) {
                    return self.syntax(start, "min repeat greater than max repeat");
                }
                (min, max)
            }
        };
        match items.last() {
            None | Some(Node::Assert(_)) => return self.syntax(start, "nothing to repeat"),
            Some(Node::Repeat { .. }) => return self.syntax(start, "multiple repeat"),
            _ => {}
        }
        let lazy = self.eat('?');
        if !lazy && self.eat('+') {
            let msg = "possessive quantifiers (`*+`, `++`, `?+`, `{m,n}+`) are not supported; \
                       use the greedy form (same matches unless the pattern relies on cut backtracking)";
            return self.fail(K::PossessiveQuantifier, start, msg);
        }
        let body = Box::new(items.pop().unwrap_or(Node::Empty));
        items.push(Node::Repeat {
            min,
            max,
            lazy,
            body,
        });
        Ok(())
    }

    /// `\x`, `\u`, `\U`, `\N{…}` (in and out of classes); `c` has been read.
    fn code_escape(&mut self, c: char, start: usize) -> Res<u32> {
        let digits = match c {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => return self.named_char(start),
        };
        let hex: String = std::iter::from_fn(|| self.eat_if(|h| h.is_ascii_hexdigit()))
            .take(digits)
            .collect();
        match u32::from_str_radix(&hex, 16) {
            _ if hex.len() != digits => self.syntax(start, format!("incomplete escape \\{c}{hex}")),
            Ok(v) if v <= 0x10FFFF => Ok(v),
            _ => self.syntax(start, format!("bad escape \\{c}{hex}")),
        }
    }

    fn named_char(&mut self, start: usize) -> Res<u32> {
        if !self.eat('{') {
            return self.syntax(start, "missing {");
        }
        let name = self.get_until('}', "character name")?;
        match lookup_name(&name) {
            Some(v) => Ok(v),
            None => {
                let msg = format!(
                    "\\N{{{name}}}: novac knows only common character names (spaces, dashes, quotes, \
                     invisible and bidi controls); write \\uXXXX instead"
                );
                self.fail(K::Unsupported, start, msg)
            }
        }
    }

    /// An octal escape whose first digit `first` has been read: up to three
    /// digits in all, at most 0o377.
    fn octal(&mut self, first: char, start: usize) -> Res<u32> {
        let mut s = String::from(first);
        s.extend(std::iter::from_fn(|| self.eat_if(|d| ('0'..='7').contains(&d))).take(2));
        match u32::from_str_radix(&s, 8) {
            Ok(v) if v <= 0o377 => Ok(v),
            _ => self.syntax(
                start,
                format!("octal escape \\{s} outside of range 0-0o377"),
            ),
        }
    }

    /// An escape outside classes; the `\` has been read.
    fn parse_escape(&mut self, start: usize) -> Res<Node> {
        let Some(c) = self.bump() else {
            return self.syntax(start, "bad escape (end of pattern)");
        };
        let ascii = self.flags.ascii;
        Ok(match c {
            'A' => Node::Assert(Assert::TextStart),
            'Z' => Node::Assert(Assert::TextEnd),
            'b' => Node::Assert(Assert::Boundary(ascii)),
            'B' => Node::Assert(Assert::NotBoundary(ascii)),
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => Node::Perl(Perl(c), ascii),
            'x' | 'u' | 'U' | 'N' => Node::Lit(self.code_escape(c, start)?),
            '0' => Node::Lit(self.octal(c, start)?),
            '1'..='9' => return self.group_ref_or_octal(c, start),
            c if c.is_ascii_alphabetic() => match simple_escape(c) {
                Some(v) => Node::Lit(v),
                None => return self.syntax(start, format!("bad escape \\{c}")),
            },
            c => Node::Lit(c as u32),
        })
    }

    /// `\1`..`\99` are group references, unless three octal digits follow.
    fn group_ref_or_octal(&mut self, c: char, start: usize) -> Res<Node> {
        let is_oct = |d: char| ('0'..='7').contains(&d);
        let mut digits = String::from(c);
        if let Some(d) = self.eat_if(|d| d.is_ascii_digit()) {
            digits.push(d);
            if is_oct(c) && is_oct(d) && self.peek().is_some_and(is_oct) {
                self.pos = start + 2; // re-read the digits after `c` as octal
                return Ok(Node::Lit(self.octal(c, start)?));
            }
        }
        let group: usize = digits.parse().unwrap_or(usize::MAX);
        match self.groups.get(group.wrapping_sub(1)) {
            Some(false) => self.syntax(start, "cannot refer to an open group"),
            Some(true) => self.linear(
                K::Backreference,
                start,
                &format!("backreference \\{digits}"),
            ),
            None => self.syntax(start, format!("invalid group reference {group}")),
        }
    }

    /// An escape inside `[...]`: a literal code point or a `\d`-style class.
    fn class_escape(&mut self, c: char, start: usize) -> Res<Item> {
        let v = match c {
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => return Ok(Item::Perl(Perl(c), self.flags.ascii)),
            'b' => 8,
            'x' | 'u' | 'U' | 'N' => self.code_escape(c, start)?,
            '0'..='7' => self.octal(c, start)?,
            c if c.is_ascii_alphanumeric() => match simple_escape(c) {
                Some(v) => v,
                None => return self.syntax(start, format!("bad escape \\{c}")),
            },
            c => c as u32,
        };
        Ok(Item::Range(v, v))
    }

    /// A class item (Python's `code1`/`code2`), or `None` at a closing `]`.
    fn class_atom(&mut self, close_ok: bool, start: usize) -> Res<Option<Item>> {
        let at = self.pos;
        match self.bump_token() {
            None => self.unterminated(start, "unterminated character set"),
            Some(Tok::Char(']')) if close_ok => Ok(None),
            Some(Tok::Char(c)) => Ok(Some(Item::Range(c as u32, c as u32))),
            Some(Tok::Esc(c)) => self.class_escape(c, at).map(Some),
        }
    }

    fn parse_class(&mut self, start: usize) -> Res<Node> {
        let negated = self.eat('^');
        let mut items: Vec<Item> = Vec::new();
        loop {
            let at = self.pos;
            let Some(code1) = self.class_atom(!items.is_empty(), start)? else {
                break;
            };
            if !self.eat('-') {
                items.push(code1);
                continue;
            }
            let Some(code2) = self.class_atom(true, start)? else {
                items.extend([code1, Item::Range('-' as u32, '-' as u32)]);
                break;
            };
            match (code1, code2) {
                (Item::Range(lo, l2), Item::Range(hi, h2)) if lo == l2 && hi == h2 && lo <= hi => {
                    items.push(Item::Range(lo, hi));
                }
                _ => {
                    let text = self.src.get(at..self.pos).unwrap_or_default();
                    return self.syntax(at, format!("bad character range {text}"));
                }
            }
        }
        Ok(Node::Class(negated, items))
    }

    /// Reads up to `term` (Python's `getuntil`, token-wise).
    fn get_until(&mut self, term: char, what: &str) -> Res<String> {
        let start = self.pos;
        let mut s = String::new();
        loop {
            match self.bump_token() {
                Some(Tok::Char(c)) if c == term && !s.is_empty() => return Ok(s),
                Some(Tok::Char(c)) if c != term => s.push(c),
                Some(Tok::Esc(c)) => s.extend(['\\', c]),
                None if !s.is_empty() => {
                    return self.syntax(start, format!("missing {term}, unterminated name"))
                }
                _ => return self.syntax(start, format!("missing {what}")),
            }
        }
    }

    /// `(` has been read. Returns `None` for comments and global flags.
    fn parse_group(
        &mut self,
        start: usize,
        nested: usize,
        can_be_global: bool,
    ) -> Res<Option<Node>> {
        if !self.eat('?') {
            return self.capture_group(start, nested, None).map(Some);
        }
        let Some(ch) = self.bump() else {
            return self.syntax(start, "unexpected end of pattern");
        };
        match ch {
            'P' if self.eat('<') => {
                let name = self.get_until('>', "group name")?;
                self.check_name(&name, start)?;
                self.capture_group(start, nested, Some(name)).map(Some)
            }
            'P' if self.eat('=') => {
                let name = self.get_until(')', "group name")?;
                self.check_name(&name, start)?;
                match self.names.get(&name).map(|&g| self.groups.get(g).copied()) {
                    None => self.syntax(start, format!("unknown group name '{name}'")),
                    Some(Some(true)) => self.linear(
                        K::Backreference,
                        start,
                        &format!("backreference (?P={name})"),
                    ),
                    Some(_) => self.syntax(start, "cannot refer to an open group"),
                }
            }
            'P' => match self.bump() {
                None => self.syntax(start, "unexpected end of pattern"),
                Some(c) => self.syntax(start, format!("unknown extension ?P{c}")),
            },
            ':' => {
                let body = self.group_body(start, nested)?;
                Ok(Some(Node::Group(GroupKind::NonCapture, Box::new(body))))
            }
            '#' => loop {
                match self.bump_token() {
                    None => return self.unterminated(start, "missing ), unterminated comment"),
                    Some(Tok::Char(')')) => return Ok(None),
                    Some(_) => {}
                }
            },
            '=' | '!' => self.linear(K::Lookaround, start, &format!("lookahead (?{ch}...)")),
            '<' => match self.bump() {
                Some(c @ ('=' | '!')) => {
                    self.linear(K::Lookaround, start, &format!("lookbehind (?<{c}...)"))
                }
                Some(c) => {
                    let msg =
                        format!("unknown extension ?<{c} (Python 3.11 names groups (?P<name>...))");
                    self.syntax(start, msg)
                }
                None => self.syntax(start, "unexpected end of pattern"),
            },
            '(' => self.linear(
                K::ConditionalGroup,
                start,
                "conditional group (?(group)yes|no)",
            ),
            '>' => self.linear(K::AtomicGroup, start, "atomic group (?>...)"),
            c if c == '-' || flag_bit(c).is_some() => {
                self.flag_group(c, start, nested, can_be_global)
            }
            c => self.syntax(start, format!("unknown extension ?{c}")),
        }
    }

    fn group_body(&mut self, start: usize, nested: usize) -> Res<Node> {
        let body = self.parse_alt(nested + 1)?;
        if !self.eat(')') {
            return self.unterminated(start, "missing ), unterminated subpattern");
        }
        Ok(body)
    }

    fn check_name(&self, name: &str, start: usize) -> Res<()> {
        // Approximates Python's `str.isidentifier()` (XID_Start XID_Continue*).
        let mut chars = name.chars();
        let ok = chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
            && chars.all(|c| {
                c == '_'
                    || c.is_alphanumeric()
                    || !(c.is_ascii() || c.is_whitespace() || c.is_control())
            });
        if ok {
            Ok(())
        } else {
            self.syntax(start, format!("bad character in group name '{name}'"))
        }
    }

    fn capture_group(&mut self, start: usize, nested: usize, name: Option<String>) -> Res<Node> {
        let index = self.groups.len();
        self.groups.push(false);
        let rust_name = match name {
            Some(name) => {
                if let Some(&was) = self.names.get(&name) {
                    let msg = format!(
                        "redefinition of group name '{name}' as group {}; was group {}",
                        index + 1,
                        was + 1
                    );
                    return self.syntax(start, msg);
                }
                self.names.insert(name.clone(), index);
                Some(self.rust_name(name, index))
            }
            None => None,
        };
        let body = self.group_body(start, nested)?;
        if let Some(closed) = self.groups.get_mut(index) {
            *closed = true;
        }
        Ok(Node::Group(GroupKind::Capture(rust_name), Box::new(body)))
    }

    /// A Rust-valid, unique group name for the Python name `name`.
    fn rust_name(&mut self, name: String, index: usize) -> String {
        let mut chars = name.chars();
        let valid = chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
            && chars.all(|c| c == '_' || c.is_alphanumeric());
        let mut out = name.clone();
        if !valid || self.rust_names.contains(&out) {
            out = format!("_g{}", index + 1);
            while self.rust_names.contains(&out) || self.names.contains_key(&out) {
                out.push('_');
            }
            self.notes
                .push(format!("group name `{name}` renamed to `{out}` for Rust"));
        }
        self.rust_names.insert(out.clone());
        out
    }

    /// Reads `flags[-flags]` up to `)` or `:` (Python's `_parse_flags`);
    /// `first` has been read.
    fn read_flags(&mut self, first: char) -> Result<(u8, u8, char), &'static str> {
        let (mut add, mut del, mut on, mut ch) = (0u8, 0u8, true, first);
        loop {
            match (ch, flag_bit(ch)) {
                (')', _) if on => return Ok((add, del, ch)),
                (':', _) if (on && add != 0) || (!on && del != 0) => return Ok((add, del, ch)),
                ('-', _) if on => on = false,
                (_, Some(F_L)) => {
                    return Err("bad inline flags: cannot use 'L' flag with a str pattern")
                }
                (_, Some(bit)) if on => {
                    add |= bit;
                    if bit & TYPE_FLAGS != 0 && add & TYPE_FLAGS != bit {
                        return Err("bad inline flags: flags 'a', 'u' and 'L' are incompatible");
                    }
                }
                (_, Some(bit)) if bit & TYPE_FLAGS != 0 => {
                    return Err("bad inline flags: cannot turn off flags 'a', 'u' and 'L'")
                }
                (_, Some(bit)) => del |= bit,
                (c, None) if c.is_alphabetic() => return Err("unknown flag"),
                (_, None) => return Err("missing flag, -, : or )"),
            }
            ch = self.bump().ok_or("missing flag, -, : or )")?;
        }
    }

    /// `(?` and a flag letter or `-` have been read: `(?flags)` (global) or
    /// `(?flags-flags:...)` (scoped).
    fn flag_group(
        &mut self,
        first: char,
        start: usize,
        nested: usize,
        global_ok: bool,
    ) -> Res<Option<Node>> {
        let (add, del, ch) = match self.read_flags(first) {
            Ok(flags) => flags,
            Err(msg) => return self.syntax(start, msg),
        };
        if ch == ')' {
            if !global_ok {
                return self.syntax(start, "global flags not at the start of the expression");
            }
            if add & F_T != 0 {
                return self.fail(
                    K::UnsupportedFlag,
                    start,
                    "the TEMPLATE flag (?t) is not supported",
                );
            }
            self.global_i |= add & F_I != 0;
            self.global_a |= add & F_A != 0;
            self.global_u |= add & F_U != 0;
            let f = &mut self.flags;
            f.multiline |= add & F_M != 0;
            f.dotall |= add & F_S != 0;
            f.verbose |= add & F_X != 0;
            f.ascii |= add & F_A != 0;
            return Ok(None);
        }
        if (add | del) & F_T != 0 {
            return self.syntax(
                start,
                "bad inline flags: cannot turn the global flag t on or off",
            );
        }
        if add & del != 0 {
            return self.syntax(start, "bad inline flags: flag turned on and off");
        }
        let saved = self.flags;
        let f = &mut self.flags;
        f.multiline = (f.multiline || add & F_M != 0) && del & F_M == 0;
        f.dotall = (f.dotall || add & F_S != 0) && del & F_S == 0;
        f.verbose = (f.verbose || add & F_X != 0) && del & F_X == 0;
        f.ascii = (f.ascii || add & F_A != 0) && add & F_U == 0;
        let body = self.group_body(start, nested);
        self.flags = saved;
        let kind = match (add & F_I != 0, del & F_I != 0) {
            (true, _) => GroupKind::Flags("i"),
            (_, true) => GroupKind::Flags("-i"),
            _ => GroupKind::NonCapture,
        };
        Ok(Some(Node::Group(kind, Box::new(body?))))
    }
}

/// `\a \f \n \r \t \v` (`\b` depends on the context).
fn simple_escape(c: char) -> Option<u32> {
    let i = "afnrtv".find(c)?;
    [7, 0xC, 0xA, 0xD, 9, 0xB].get(i).copied()
}

/// `\N{...}` names novac resolves, as `NAME=HEX|...` (Python's lookup is
/// case-insensitive and accepts aliases); checked against Python by the
/// test table.
const NAMES: &str = "\
    SPACE=20|NO-BREAK SPACE=A0|NBSP=A0|SOFT HYPHEN=AD|SHY=AD|EN QUAD=2000|EM QUAD=2001|\
    EN SPACE=2002|EM SPACE=2003|THREE-PER-EM SPACE=2004|FOUR-PER-EM SPACE=2005|\
    SIX-PER-EM SPACE=2006|FIGURE SPACE=2007|PUNCTUATION SPACE=2008|THIN SPACE=2009|\
    HAIR SPACE=200A|ZERO WIDTH SPACE=200B|ZWSP=200B|ZERO WIDTH NON-JOINER=200C|ZWNJ=200C|\
    ZERO WIDTH JOINER=200D|ZWJ=200D|LEFT-TO-RIGHT MARK=200E|LRM=200E|RIGHT-TO-LEFT MARK=200F|\
    RLM=200F|HYPHEN=2010|NON-BREAKING HYPHEN=2011|FIGURE DASH=2012|EN DASH=2013|EM DASH=2014|\
    HORIZONTAL BAR=2015|LEFT SINGLE QUOTATION MARK=2018|RIGHT SINGLE QUOTATION MARK=2019|\
    LEFT DOUBLE QUOTATION MARK=201C|RIGHT DOUBLE QUOTATION MARK=201D|BULLET=2022|\
    HORIZONTAL ELLIPSIS=2026|LINE SEPARATOR=2028|PARAGRAPH SEPARATOR=2029|\
    LEFT-TO-RIGHT EMBEDDING=202A|LRE=202A|RIGHT-TO-LEFT EMBEDDING=202B|RLE=202B|\
    POP DIRECTIONAL FORMATTING=202C|PDF=202C|LEFT-TO-RIGHT OVERRIDE=202D|LRO=202D|\
    RIGHT-TO-LEFT OVERRIDE=202E|RLO=202E|NARROW NO-BREAK SPACE=202F|NNBSP=202F|\
    MEDIUM MATHEMATICAL SPACE=205F|MMSP=205F|WORD JOINER=2060|WJ=2060|FUNCTION APPLICATION=2061|\
    INVISIBLE TIMES=2062|INVISIBLE SEPARATOR=2063|INVISIBLE PLUS=2064|\
    LEFT-TO-RIGHT ISOLATE=2066|LRI=2066|RIGHT-TO-LEFT ISOLATE=2067|RLI=2067|\
    FIRST STRONG ISOLATE=2068|FSI=2068|POP DIRECTIONAL ISOLATE=2069|PDI=2069|\
    IDEOGRAPHIC SPACE=3000|ZERO WIDTH NO-BREAK SPACE=FEFF|ZWNBSP=FEFF|BYTE ORDER MARK=FEFF|\
    BOM=FEFF|REPLACEMENT CHARACTER=FFFD|OBJECT REPLACEMENT CHARACTER=FFFC|\
    COMBINING GRAPHEME JOINER=34F|CGJ=34F|MONGOLIAN VOWEL SEPARATOR=180E|MVS=180E|\
    HANGUL FILLER=3164|HALFWIDTH HANGUL FILLER=FFA0|BRAILLE PATTERN BLANK=2800|\
    ARABIC LETTER MARK=61C|ALM=61C|VARIATION SELECTOR-15=FE0E|VARIATION SELECTOR-16=FE0F|\
    VS16=FE0F|TAG SPACE=E0020|CANCEL TAG=E007F|CHARACTER TABULATION=9|TAB=9|LINE FEED=A|LF=A|\
    CARRIAGE RETURN=D|CR=D|NEXT LINE=85|NEL=85|NULL=0|ESCAPE=1B|ESC=1B|DELETE=7F|DEL=7F|\
    FORM FEED=C|FF=C|LINE TABULATION=B|VT=B";

fn lookup_name(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let (_, hex) = NAMES
        .split('|')
        .find_map(|e| e.split_once('=').filter(|(n, _)| *n == upper))?;
    u32::from_str_radix(hex, 16).ok()
}
