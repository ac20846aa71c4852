//! Streaming scan: [`StreamScanner`] is fed the chunks of a streamed text
//! (the tokens of an LLM response), reports keyword matches as they
//! complete, and gives the final verdicts at [`StreamScanner::finish`].
//!
//! ```
//! use novac::{Compiler, StreamEvent, StreamIndex, StreamScanner};
//!
//! let rules = Compiler::new()
//!     .add_source(r#"
//! rule Leak {
//!     keywords:
//!         $key = "BEGIN PRIVATE KEY"
//!         $pw = /password:\s*\S+/i
//!     condition:
//!         any of keywords.*
//! }"#)?
//!     .build()?;
//! let index = StreamIndex::new(&rules)?;          // once per rule set
//! let mut stream = StreamScanner::new(&index);    // once per response
//! let mut cut_at = None;
//! for (i, token) in ["Sure: -----BEGIN PRI", "VATE KEY-----", " MIIE"].iter().enumerate() {
//!     for event in stream.push(token) {
//!         if let StreamEvent::RuleMatched { rule, .. } = event {
//!             cut_at.get_or_insert((i, *rule));  // stop forwarding the response here
//!         }
//!     }
//! }
//! assert_eq!(cut_at, Some((1, "Leak")));
//! let end = stream.finish();
//! assert_eq!(end.result.matched_names(), ["Leak"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is reported when
//!
//! * **Literal keywords** (case-insensitive under Python `str.lower()`, or
//!   `case:true`) of every rule are matched by two Aho-Corasick automata that
//!   are *stepped* byte by byte across chunks (over the lowered text and over
//!   the raw text), so a [`StreamEvent::Keyword`] comes out of the
//!   [`push`](StreamScanner::push) that delivers the match's last byte, also
//!   when the match is split across chunks. One exception: `Σ` lowers to `ς`
//!   or `σ` depending on what follows it, so the lowered text after an
//!   upper-case sigma waits until the next character that decides it.
//! * **Regex keywords** need context (greedy repetition, `\b`, `$`), so they
//!   are checked over the retained text: at [`finish`](StreamScanner::finish),
//!   whenever the window slides, and when the caller asks
//!   ([`check_regexes`](StreamScanner::check_regexes), e.g. every sentence).
//!   A match is only reported when it cannot depend on text not seen yet.
//! * **[`StreamEvent::RuleMatched`]** comes as soon as a rule's condition is
//!   true whatever the rest of the stream holds (three-valued evaluation with
//!   every keyword not seen yet, and every semantic and LLM variable,
//!   unknown): a gateway can stop forwarding the response there.
//! * Offsets are byte offsets from the start of the stream. A stream that is
//!   blank so far (only white space) reports nothing, as a blank prompt
//!   matches no keyword.
//! * No decoded views: the stream is matched as written; encoded runs are
//!   not decoded ([`crate::ScanOptions::decode`] applies to
//!   [`crate::Scanner`] only).
//!
//! # Memory and the window
//!
//! The scanner keeps at most [`StreamOptions::window`] bytes of text
//! (default 1 MiB, plus at most one chunk); chunks larger than half the
//! window are processed in pieces.
//!
//! * While the stream fits in the window, `finish()` scans the whole text with
//!   [`Scanner`]: the final verdicts are **exactly** those of scanning the
//!   concatenated text at once, for any chunking (property-tested).
//! * Past the window, the oldest half is dropped each time the window fills
//!   (cut after a newline or white space where possible, so `\b` and
//!   `(?m)^` stay right at the cut); before dropping, the window is scanned
//!   once. Guaranteed then: literal keywords stay exact over the whole
//!   stream (the automata do not need the text); a regex match of at most
//!   `window / 2` bytes is found (every such stretch is inside some scanned
//!   window); regexes anchored at the start (`^`, `\A`) count only while the
//!   stream start is in the window; end anchors are tested at the true end.
//!   Longer regex matches may be missed, and the semantic and LLM stages see
//!   only the last window.
//!
//! [`ScanOptions::normalize`](crate::ScanOptions::normalize) is not applied
//! to streams (events would refer to text that was never sent).

use crate::condition::truth::{Truth, VarState};
use crate::ir::{KeywordPattern, Pattern};
use crate::keywords::casefold;
use crate::results::{KeywordMatch, RuleResult, ScanResult};
use crate::rules::Rules;
use crate::scanner::{ScanOptions, Scanner};
use regex_syntax::hir::Look;
use std::collections::{HashMap, VecDeque};
use stepper::Stepper;

mod stepper;

/// Options of a [`StreamScanner`].
#[derive(Clone, Debug)]
pub struct StreamOptions {
    /// Most bytes of text kept for regexes and the final scan (at least 64).
    /// Default 1 MiB.
    pub window: usize,
}

impl Default for StreamOptions {
    fn default() -> StreamOptions {
        StreamOptions { window: 1 << 20 }
    }
}

/// Something a stream revealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent<'r> {
    /// A keyword variable matched (first match of its pattern in the stream).
    Keyword {
        /// The rule's index in [`Rules`].
        index: usize,
        /// The rule's name.
        rule: &'r str,
        /// The variable, with its `$`.
        var: &'r str,
        /// Byte offset of the match from the start of the stream.
        start: usize,
        /// Byte offset one past its end.
        end: usize,
    },
    /// The rule matches, whatever the rest of the stream holds.
    RuleMatched {
        /// The rule's index in [`Rules`].
        index: usize,
        /// The rule's name.
        rule: &'r str,
    },
}

/// What [`StreamScanner::finish`] returns.
#[derive(Clone, Debug)]
pub struct StreamEnd<'r> {
    /// Events not reported before (regex keywords, rules decided at the end).
    pub events: Vec<StreamEvent<'r>>,
    /// The final verdicts (see the module docs for the window).
    pub result: ScanResult,
}

/// One evaluated keyword variable of one rule.
#[derive(Clone, Copy, Debug)]
struct Slot {
    rule: u32,
    var: u32,
}

/// Per regex variable: how its matches may be trusted in a partial window.
#[derive(Clone, Copy, Debug, Default)]
struct RegexFlags {
    is_regex: bool,
    start_anchored: bool,
    end_anchored: bool,
    has_look: bool,
}

/// The automata and tables a [`StreamScanner`] needs, built once per rule
/// set and shared by any number of streams (`Send + Sync`).
#[derive(Debug)]
pub struct StreamIndex<'r> {
    rules: &'r Rules,
    folded: Option<Stepper>,
    folded_slots: Vec<Vec<Slot>>,
    /// Byte length of each lowered literal.
    folded_lens: Vec<usize>,
    /// Longest lowered literal.
    folded_max: usize,
    exact: Option<Stepper>,
    exact_slots: Vec<Vec<Slot>>,
    exact_lens: Vec<usize>,
    /// `""` literals: match every stream that is not blank.
    empty_slots: Vec<Slot>,
    /// Start of each rule's variables in the flat per-variable tables.
    var_base: Vec<usize>,
    flags: Vec<RegexFlags>,
}

impl<'r> StreamIndex<'r> {
    /// Builds the streaming automata for `rules` (about as costly as one
    /// keyword automaton build; do it once per rule set).
    pub fn new(rules: &'r Rules) -> Result<StreamIndex<'r>, crate::compiler::CompileError> {
        StreamIndex::with_max_dfa_bytes(
            rules,
            crate::limits::CompileLimits::default().max_dfa_bytes,
        )
    }

    /// [`StreamIndex::new`] with the automata's DFA memory limit (0 forces
    /// the NFA fallback; tests compare the two).
    pub(crate) fn with_max_dfa_bytes(
        rules: &'r Rules,
        max_dfa_bytes: usize,
    ) -> Result<StreamIndex<'r>, crate::compiler::CompileError> {
        let mut folded: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut folded_slots: Vec<Vec<Slot>> = Vec::new();
        let mut exact: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut exact_slots: Vec<Vec<Slot>> = Vec::new();
        let mut empty_slots = Vec::new();
        let mut var_base = Vec::with_capacity(rules.rules.len());
        let mut flags = Vec::new();
        let mut lowered = String::new();
        for (r, rule) in rules.rules.iter().enumerate() {
            var_base.push(flags.len());
            flags.resize(flags.len() + rule.ir.vars.len(), RegexFlags::default());
            for &(v, _) in &rule.keyword_vars {
                let slot = Slot {
                    rule: r as u32,
                    var: v.0,
                };
                let Some(var) = rule.ir.vars.get(v.index()) else {
                    continue;
                };
                let add = |map: &mut HashMap<Vec<u8>, usize>,
                           slots: &mut Vec<Vec<Slot>>,
                           key: Vec<u8>| {
                    let next = slots.len();
                    let i = *map.entry(key).or_insert(next);
                    if i == next {
                        slots.push(Vec::new());
                    }
                    if let Some(list) = slots.get_mut(i) {
                        list.push(slot);
                    }
                };
                match &var.pattern {
                    Pattern::Keyword(KeywordPattern::Literal { text, .. }) if text.is_empty() => {
                        empty_slots.push(slot)
                    }
                    Pattern::Keyword(KeywordPattern::Literal {
                        text,
                        case_sensitive: false,
                    }) => {
                        casefold::lower_into(text, &mut lowered);
                        add(&mut folded, &mut folded_slots, lowered.as_bytes().to_vec());
                    }
                    Pattern::Keyword(KeywordPattern::Literal {
                        text,
                        case_sensitive: true,
                    }) => add(&mut exact, &mut exact_slots, text.as_bytes().to_vec()),
                    Pattern::Keyword(KeywordPattern::Regex {
                        rust,
                        case_insensitive,
                        ..
                    }) => {
                        let looks = crate::keywords::keyword_regex::hir(rust, *case_insensitive)
                            .map(|h| h.properties().look_set())
                            .map_err(|e| crate::engine_error::EngineError::regex_syntax(rust, e))?;
                        let regex_flags = RegexFlags {
                            is_regex: true,
                            start_anchored: looks.contains(Look::Start)
                                || looks.contains(Look::StartLF)
                                || looks.contains(Look::StartCRLF),
                            end_anchored: looks.contains(Look::End)
                                || looks.contains(Look::EndLF)
                                || looks.contains(Look::EndCRLF),
                            has_look: !looks.is_empty(),
                        };
                        let flat = var_base.get(r).map(|base| base + v.index());
                        if let Some(f) = flat.and_then(|i| flags.get_mut(i)) {
                            *f = regex_flags;
                        }
                    }
                    _ => {}
                }
            }
        }
        let ordered = |map: HashMap<Vec<u8>, usize>| {
            let mut v: Vec<(Vec<u8>, usize)> = map.into_iter().collect();
            v.sort_by_key(|(_, i)| *i);
            v.into_iter().map(|(k, _)| k).collect::<Vec<_>>()
        };
        let folded = ordered(folded);
        let exact = ordered(exact);
        Ok(StreamIndex {
            rules,
            folded_max: folded.iter().map(Vec::len).max().unwrap_or(0),
            folded_lens: folded.iter().map(Vec::len).collect(),
            exact_lens: exact.iter().map(Vec::len).collect(),
            folded: Stepper::build(&folded, max_dfa_bytes)?,
            folded_slots,
            exact: Stepper::build(&exact, max_dfa_bytes)?,
            exact_slots,
            empty_slots,
            var_base,
            flags,
        })
    }

    /// The rules this index was built for.
    pub fn rules(&self) -> &'r Rules {
        self.rules
    }
}

/// A lowered character fed to the folded automaton, remembered while a
/// literal ending later may start in it.
#[derive(Clone, Copy, Debug)]
struct Mark {
    lowered: usize,
    raw: usize,
    raw_len: usize,
}

/// Scans one streamed text (see the module docs). Reuse it for the next
/// stream with [`StreamScanner::reset`].
pub struct StreamScanner<'r> {
    index: &'r StreamIndex<'r>,
    window: usize,
    scanner: Scanner<'r>,
    checker: Scanner<'r>,
    /// The retained text; `text[0]` is stream byte `base`.
    text: String,
    base: usize,
    /// Whether the cut before `base` was after white space.
    clean_cut: bool,
    /// Bytes at the end of `text` not yet fed to the folded automaton.
    held: usize,
    /// Incomplete UTF-8 sequence from [`StreamScanner::push_bytes`].
    partial: Vec<u8>,
    folded_state: u32,
    exact_state: u32,
    lowered_len: usize,
    marks: VecDeque<Mark>,
    /// Per variable (flat): first match span, in stream offsets.
    found: Vec<Option<(usize, usize)>>,
    decided: Vec<bool>,
    blank: bool,
    /// Events found while the stream was blank (released when it is not).
    waiting: Vec<StreamEvent<'r>>,
    events: Vec<StreamEvent<'r>>,
    scratch: Vec<u32>,
    state: VarState,
    stack: Vec<Truth>,
}

impl<'r> StreamScanner<'r> {
    /// A stream over the index's rules, default options, no semantic or LLM hooks.
    pub fn new(index: &'r StreamIndex<'r>) -> StreamScanner<'r> {
        StreamScanner::with_options(index, StreamOptions::default())
    }

    /// A stream with `options`.
    pub fn with_options(index: &'r StreamIndex<'r>, options: StreamOptions) -> StreamScanner<'r> {
        let rules = index.rules;
        let start = |s: &Option<Stepper>| s.as_ref().map_or(0, Stepper::start);
        StreamScanner {
            index,
            window: options.window.max(64),
            scanner: Scanner::new(rules),
            checker: Scanner::new(rules).options(ScanOptions {
                debug: true,
                ..ScanOptions::default()
            }),
            text: String::new(),
            base: 0,
            clean_cut: true,
            held: 0,
            partial: Vec::new(),
            folded_state: start(&index.folded),
            exact_state: start(&index.exact),
            lowered_len: 0,
            marks: VecDeque::new(),
            found: vec![None; index.flags.len()],
            decided: vec![false; rules.rules.len()],
            blank: true,
            waiting: Vec::new(),
            events: Vec::new(),
            scratch: Vec::new(),
            state: VarState::default(),
            stack: Vec::new(),
        }
    }

    /// Configures the scanner that gives the final verdicts (semantic and
    /// LLM hooks); e.g. `.configure(|s| s.llm_judge(&judge))`.
    pub fn configure(mut self, f: impl FnOnce(Scanner<'r>) -> Scanner<'r>) -> Self {
        let rules = self.index.rules;
        self.scanner = f(std::mem::replace(&mut self.scanner, Scanner::new(rules)));
        self
    }

    /// Forgets the stream so far; the next push starts a new stream.
    pub fn reset(&mut self) {
        let index = self.index;
        let start = |s: &Option<Stepper>| s.as_ref().map_or(0, Stepper::start);
        self.text.clear();
        self.base = 0;
        self.clean_cut = true;
        self.held = 0;
        self.partial.clear();
        self.folded_state = start(&index.folded);
        self.exact_state = start(&index.exact);
        self.lowered_len = 0;
        self.marks.clear();
        self.found.iter_mut().for_each(|f| *f = None);
        self.decided.iter_mut().for_each(|d| *d = false);
        self.blank = true;
        self.waiting.clear();
        self.events.clear();
    }

    /// Bytes received so far.
    pub fn position(&self) -> usize {
        self.base + self.text.len()
    }

    /// Feeds the next chunk; returns what it revealed.
    pub fn push(&mut self, chunk: &str) -> &[StreamEvent<'r>] {
        self.events.clear();
        self.push_str_inner(chunk);
        &self.events
    }

    /// Feeds the next chunk of UTF-8 bytes; a character split between
    /// chunks is joined, invalid bytes become U+FFFD (as
    /// `String::from_utf8_lossy` on the whole stream).
    pub fn push_bytes(&mut self, bytes: &[u8]) -> &[StreamEvent<'r>] {
        self.events.clear();
        let joined;
        let mut rest: &[u8] = if self.partial.is_empty() {
            bytes
        } else {
            let mut j = std::mem::take(&mut self.partial);
            j.extend_from_slice(bytes);
            joined = j;
            &joined
        };
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.push_str_inner(s);
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // `good` is valid UTF-8 by construction.
                    self.push_str_inner(std::str::from_utf8(good).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            self.push_str_inner("\u{FFFD}");
                            rest = bad.get(n..).unwrap_or_default();
                        }
                        None => {
                            self.partial = bad.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        &self.events
    }

    /// Checks the regex keywords over the retained text now (one keyword
    /// pass over at most the window); returns what it revealed.
    pub fn check_regexes(&mut self) -> &[StreamEvent<'r>] {
        self.events.clear();
        self.regex_pass(false);
        &self.events
    }

    /// Ends the stream: the final verdicts and the events not reported yet.
    pub fn finish(&mut self) -> StreamEnd<'r> {
        self.events.clear();
        if !self.partial.is_empty() {
            self.partial.clear();
            self.push_str_inner("\u{FFFD}");
        }
        self.feed_folded(true);
        let result = if self.blank {
            // A blank text matches no keyword: only rules like `not $a` can match.
            self.waiting.clear();
            self.scanner.scan(&self.text)
        } else if self.base == 0 {
            let result = self.scanner.scan(&self.text);
            self.adopt_final(&result);
            result
        } else {
            self.regex_pass(true);
            self.merged_final()
        };
        for r in result.matched() {
            self.rule_matched(r.index);
        }
        let events = std::mem::take(&mut self.events);
        let end = StreamEnd { events, result };
        self.reset();
        end
    }

    fn push_str_inner(&mut self, chunk: &str) {
        let piece = (self.window / 2).max(1);
        let mut rest = chunk;
        while !rest.is_empty() {
            let mut at = rest.len().min(piece);
            while !rest.is_char_boundary(at) {
                at += 1;
            }
            let (now, later) = rest.split_at(at);
            self.push_piece(now);
            rest = later;
        }
    }

    fn push_piece(&mut self, piece: &str) {
        let start = self.position();
        self.text.push_str(piece);
        self.held += piece.len();
        if self.blank && !casefold::is_blank(piece) {
            self.blank = false;
            let waiting = std::mem::take(&mut self.waiting);
            for event in waiting {
                if let StreamEvent::Keyword { index: r, .. } = event {
                    self.events.push(event);
                    if !self.is_decided(r) && self.verdict(r) == Truth::True {
                        self.rule_matched(r);
                    }
                }
            }
            let index = self.index;
            for &slot in &index.empty_slots {
                self.record(slot, 0, 0);
            }
        }
        self.feed_exact(start, piece);
        self.feed_folded(false);
        if self.text.len() > self.window {
            self.slide();
        }
    }

    fn feed_exact(&mut self, start: usize, piece: &str) {
        let index = self.index;
        let Some(auto) = index.exact.as_ref() else {
            return;
        };
        let mut sid = self.exact_state;
        for (i, &b) in piece.as_bytes().iter().enumerate() {
            sid = auto.next(sid, b);
            self.scratch.clear();
            auto.matches(sid, &mut self.scratch);
            for k in 0..self.scratch.len() {
                let Some(p) = self.scratch.get(k).map(|&p| p as usize) else {
                    break;
                };
                let end = start + i + 1;
                let (Some(&len), Some(slots)) = (index.exact_lens.get(p), index.exact_slots.get(p))
                else {
                    continue;
                };
                for &slot in slots {
                    self.record(slot, end.saturating_sub(len), end);
                }
            }
        }
        self.exact_state = sid;
    }

    /// Lowers and feeds the held text that can be lowered now (all of it at the end).
    fn feed_folded(&mut self, at_end: bool) {
        let index = self.index;
        let Some(auto) = index.folded.as_ref() else {
            self.held = 0;
            return;
        };
        let held_start = self.text.len() - self.held;
        let held = self.text.get(held_start..).unwrap_or_default();
        let mut upto = held.len();
        if !at_end {
            if let Some(i) = held.rfind('\u{3A3}') {
                if !sigma_decided(held.get(i + 2..).unwrap_or_default()) && held.len() - i < 256 {
                    upto = i;
                }
            }
        }
        let mut sid = self.folded_state;
        let mut buf = [0u8; 16];
        let mut pos = held_start;
        let end = held_start + upto;
        while pos < end {
            let Some(c) = self.text.get(pos..).and_then(|rest| rest.chars().next()) else {
                break;
            };
            let raw = self.base + pos;
            let lowered: &[u8] = if c == '\u{3A3}' {
                let before = self.text.get(..pos).unwrap_or_default();
                let after = self.text.get(pos + 2..).unwrap_or_default();
                sigma_lowering(before, after).as_bytes()
            } else {
                // At most three characters of four bytes: the buffer holds them.
                let mut n = 0;
                for l in c.to_lowercase() {
                    if let Some(room) = buf.get_mut(n..).filter(|r| r.len() >= l.len_utf8()) {
                        n += l.encode_utf8(room).len();
                    }
                }
                buf.get(..n).unwrap_or_default()
            };
            let lowered = lowered.to_vec();
            self.marks.push_back(Mark {
                lowered: self.lowered_len,
                raw,
                raw_len: c.len_utf8(),
            });
            while self
                .marks
                .get(1)
                .is_some_and(|m| m.lowered + index.folded_max < self.lowered_len)
            {
                self.marks.pop_front();
            }
            for (j, &b) in lowered.iter().enumerate() {
                sid = auto.next(sid, b);
                self.scratch.clear();
                auto.matches(sid, &mut self.scratch);
                if self.scratch.is_empty() {
                    continue;
                }
                let e = self.lowered_len + j + 1;
                let at_char_end = j + 1 == lowered.len();
                for k in 0..self.scratch.len() {
                    let Some(p) = self.scratch.get(k).map(|&p| p as usize) else {
                        break;
                    };
                    let (Some(&len), Some(slots)) =
                        (index.folded_lens.get(p), index.folded_slots.get(p))
                    else {
                        continue;
                    };
                    let (start, start_len) = self.raw_of(e.saturating_sub(len));
                    let mut end = if at_char_end { raw + c.len_utf8() } else { raw };
                    if end <= start {
                        end = start + start_len;
                    }
                    for &slot in slots {
                        self.record(slot, start, end);
                    }
                }
            }
            self.lowered_len += lowered.len();
            pos += c.len_utf8();
        }
        self.folded_state = sid;
        self.held = self.text.len() - end;
    }

    /// The raw start and length of the character whose lowering covers lowered offset `at`.
    fn raw_of(&self, at: usize) -> (usize, usize) {
        let i = self.marks.partition_point(|m| m.lowered <= at);
        self.marks
            .get(i.saturating_sub(1))
            .map_or((self.base, 0), |m| (m.raw, m.raw_len))
    }

    /// Records a keyword match (the first per variable) and reports it.
    fn record(&mut self, slot: Slot, start: usize, end: usize) {
        let index = self.index;
        let r = slot.rule as usize;
        let flat = index.var_base.get(r).map(|base| base + slot.var as usize);
        let Some(found) = flat.and_then(|i| self.found.get_mut(i)) else {
            return;
        };
        if found.is_some() {
            return;
        }
        *found = Some((start, end));
        let Some(rule) = index.rules.rules.get(r) else {
            return;
        };
        let Some(var) = rule.ir.vars.get(slot.var as usize) else {
            return;
        };
        let event = StreamEvent::Keyword {
            index: r,
            rule: &rule.ir.name,
            var: &var.name,
            start,
            end,
        };
        if self.blank {
            self.waiting.push(event);
            return;
        }
        self.events.push(event);
        if !self.is_decided(r) && self.verdict(r) == Truth::True {
            self.rule_matched(r);
        }
    }

    /// Whether rule `r` has been reported as matched (a foreign index counts as decided).
    fn is_decided(&self, r: usize) -> bool {
        self.decided.get(r).copied().unwrap_or(true)
    }

    fn rule_matched(&mut self, r: usize) {
        let index = self.index;
        let (Some(decided), Some(rule)) = (self.decided.get_mut(r), index.rules.rules.get(r))
        else {
            return;
        };
        if !*decided {
            *decided = true;
            self.events.push(StreamEvent::RuleMatched {
                index: r,
                rule: &rule.ir.name,
            });
        }
    }

    /// The rule's verdict with unseen keywords, semantics and LLM unknown.
    fn verdict(&mut self, r: usize) -> Truth {
        self.verdict_with(r, |_, _| Truth::Unknown)
    }

    fn verdict_with(&mut self, r: usize, missing: impl Fn(usize, usize) -> Truth) -> Truth {
        let index = self.index;
        let (Some(rule), Some(&base)) = (index.rules.rules.get(r), index.var_base.get(r)) else {
            return Truth::False;
        };
        self.state.reset(rule.ir.vars.len());
        for &(v, _) in &rule.keyword_vars {
            let value = if self
                .found
                .get(base + v.index())
                .is_some_and(Option::is_some)
            {
                Truth::True
            } else {
                missing(r, v.index())
            };
            self.state.set(v.index(), value);
        }
        for v in rule.semantic_vars.iter().chain(&rule.llm_vars) {
            self.state.set(v.index(), Truth::Unknown);
        }
        rule.program.eval(&self.state, &mut self.stack)
    }

    /// Scans the retained text for regex keywords; `at_end`: the text ends the stream.
    fn regex_pass(&mut self, at_end: bool) {
        if self.blank {
            return;
        }
        let result = self.checker.scan(&self.text);
        let len = self.text.len();
        for rr in &result.rules {
            for k in &rr.keywords {
                self.adopt(rr.index, k, len, at_end);
            }
        }
    }

    /// Takes one keyword match of a scan of the retained text, if it can be trusted.
    fn adopt(&mut self, r: usize, k: &KeywordMatch, len: usize, at_end: bool) {
        let index = self.index;
        let Some(rule) = index.rules.rules.get(r) else {
            return;
        };
        let Some(v) = rule.ir.vars.iter().position(|x| x.name == k.var) else {
            return;
        };
        let flat = index.var_base.get(r).map(|base| base + v);
        let Some(&flags) = flat.and_then(|i| index.flags.get(i)) else {
            return;
        };
        if !flags.is_regex {
            return;
        }
        let partial_start = self.base > 0;
        // A cut start: `^`/`\A` would match at it, and look-around at the
        // first byte may see a missing character; an open end: `$`, and
        // look-around at the last byte, may change with the next chunk.
        let start_unsafe = partial_start
            && (flags.start_anchored || (!self.clean_cut && flags.has_look && k.start == 0));
        let end_unsafe = !at_end && (flags.end_anchored || (flags.has_look && k.end == len));
        let trusted = !start_unsafe && !end_unsafe;
        if trusted {
            let slot = Slot {
                rule: r as u32,
                var: v as u32,
            };
            self.record(slot, self.base + k.start, self.base + k.end);
        }
    }

    /// Records the keyword matches of the final whole-text scan.
    fn adopt_final(&mut self, result: &ScanResult) {
        for rr in &result.rules {
            for k in &rr.keywords {
                let rule = self.index.rules.rules.get(rr.index);
                if let Some(v) =
                    rule.and_then(|rule| rule.ir.vars.iter().position(|x| x.name == k.var))
                {
                    let slot = Slot {
                        rule: rr.index as u32,
                        var: v as u32,
                    };
                    self.record(slot, k.start, k.end);
                }
            }
        }
    }

    /// The final verdicts of a stream longer than the window.
    fn merged_final(&mut self) -> ScanResult {
        let tail = self.scanner.scan(&self.text);
        let mut by_rule: HashMap<usize, RuleResult> =
            tail.rules.into_iter().map(|r| (r.index, r)).collect();
        let mut out = ScanResult::default();
        for r in 0..self.index.rules.rules.len() {
            match self.verdict_with(r, |_, _| Truth::False) {
                Truth::True => {
                    let index = self.index;
                    let (Some(rule), Some(&base)) =
                        (index.rules.rules.get(r), index.var_base.get(r))
                    else {
                        continue;
                    };
                    let keywords = rule
                        .keyword_vars
                        .iter()
                        .filter_map(|(v, _)| {
                            let found = self.found.get(base + v.index()).copied().flatten();
                            found.map(|(start, end)| KeywordMatch {
                                var: rule.var_name(*v),
                                start,
                                end,
                                decoded: None,
                            })
                        })
                        .collect();
                    out.rules.push(RuleResult {
                        index: r,
                        rule: rule.name.clone(),
                        matched: true,
                        keywords,
                        semantics: Vec::new(),
                        llm: Vec::new(),
                        warnings: Vec::new(),
                        variables: None,
                    });
                }
                Truth::Unknown => {
                    if let Some(mut rr) = by_rule.remove(&r) {
                        for k in &mut rr.keywords {
                            k.start += self.base;
                            k.end += self.base;
                        }
                        out.rules.push(rr);
                    }
                }
                Truth::False => {}
            }
        }
        out
    }

    /// Scans the full window once, then drops its older half.
    fn slide(&mut self) {
        self.regex_pass(false);
        let keep_from = self.text.len() - self.window / 2;
        let limit = self.text.len() - self.held;
        let target = keep_from.min(limit);
        let earliest = target.saturating_sub(self.window / 4);
        let bytes = self.text.as_bytes();
        let after = |pred: fn(u8) -> bool| {
            (earliest..target)
                .rev()
                .find(|&i| bytes.get(i).is_some_and(|&b| pred(b)))
                .map(|i| i + 1)
        };
        let (cut, clean) = match after(|b| b == b'\n')
            .or_else(|| after(|b| b == b' ' || b == b'\t' || b == b'\r'))
        {
            Some(c) => (c, true),
            None => {
                let mut c = target;
                while !self.text.is_char_boundary(c) {
                    c -= 1;
                }
                (c, false)
            }
        };
        if cut == 0 {
            return;
        }
        self.text.drain(..cut);
        self.base += cut;
        self.clean_cut = clean;
    }
}

/// Whether the lowering of an upper-case sigma followed by `after` is fixed
/// (a character that is not case-ignorable follows it).
fn sigma_decided(after: &str) -> bool {
    let a: String = ['A', '\u{3A3}']
        .into_iter()
        .chain(after.chars().take(64))
        .collect();
    let b = format!("{a}A");
    a.to_lowercase().get(1..3) == b.to_lowercase().get(1..3)
}

/// How the upper-case sigma between `before` and `after` lowers (Python's
/// final-sigma rule, which Rust's `to_lowercase` implements).
fn sigma_lowering(before: &str, after: &str) -> &'static str {
    let tail: Vec<char> = before.chars().rev().take(64).collect();
    let before: String = tail
        .into_iter()
        .rev()
        .map(|c| if c == '\u{3A3}' { 'A' } else { c })
        .collect();
    let after: String = after
        .chars()
        .take(64)
        .map(|c| if c == '\u{3A3}' { 'A' } else { c })
        .collect();
    let skip = before.to_lowercase().len();
    let all = format!("{before}\u{3A3}{after}").to_lowercase();
    if all.get(skip..skip + 2) == Some("\u{3C2}") {
        "\u{3C2}"
    } else {
        "\u{3C3}"
    }
}

#[cfg(test)]
mod tests;
