//! Decoded views of a prompt: the text hidden in its encoded runs.
//!
//! Attackers hide instructions in base64, hex or entity-encoded text so that
//! keyword rules, which read the plain prompt, miss them ("decode this and do
//! what it says: SWdub3Jl..."). [`decoded_views`] finds such runs and returns
//! what they decode to, each with the run's byte span in the original prompt,
//! so that a scanner can match its keywords in the decoded text too and
//! report where the run was. This module only finds and decodes; the scanner
//! uses it when [`crate::ScanOptions::decode`] is set.
//!
//! Encodings: base64 and base64url (also wrapped over lines or spaced in
//! groups, padded or not), base32 (RFC 4648, upper or lower case), hex (plain,
//! or bytes separated by spaces, colons, commas or dashes, or written `\x41` /
//! `0x41`), `%`-URL encoding, and HTML character references (`&#105;`,
//! `&#x69;`, `&lt;` and a few other names). Each view's text is searched
//! again, once: one nested layer (base64 of hex, entities of base64, ...).
//!
//! A run becomes a view only if it decodes to text: valid UTF-8 (a few
//! replacement characters are tolerated) with at most one control or
//! replacement character in ten. Hashes, keys, image data and ordinary words
//! that happen to use the base64 alphabet decode to binary and are dropped.
//!
//! # Cost
//!
//! Linear in the prompt: O(n + B) time and O(B) memory, for a prompt of n
//! bytes and a decoded-byte budget B ([`DecodeLimits::max_decoded_bytes`],
//! 64 KiB by default). Each of the five finders makes one left-to-right pass
//! whose index only moves forward, apart from a lookahead of at most four
//! bytes (a separator and a byte prefix); the runs a finder reports are
//! disjoint, and each run is decoded at most three times (the run, the run
//! without its last segment, the run without its first segment), so decoding
//! costs O(run) per run and O(n) per finder. Nothing is re-scanned: a finder
//! never goes back into a run it has closed. The nested layer runs the same
//! finders over the decoded texts, which the budget bounds by B bytes in
//! total; a view that would exceed what is left of the budget is not produced. So a prompt
//! costs about five passes over its bytes plus the decoding, whatever it
//! holds.
//!
//! Limitations: a base64 run glued to preceding letters (`keySWdub3Jl...`)
//! decodes misaligned and is usually dropped; a hex run starting at an odd
//! digit likewise; only one nested layer is decoded.

use std::ops::Range;

pub use crate::results::Encoding;

/// Bounds on the work [`decoded_views`] does for one prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The most decoded bytes produced for one prompt, over all views and both
    /// layers. Views that would exceed it are not produced. Default 64 KiB.
    pub max_decoded_bytes: usize,
    /// The fewest encoded characters (base64, base32) or decoded bytes (hex) a
    /// run needs; shorter runs are ordinary words or numbers. Default 16.
    pub min_run: usize,
    /// Whether each view's text is searched once more (one nested layer).
    /// Default true.
    pub nested: bool,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_decoded_bytes: 64 * 1024,
            min_run: 16,
            nested: true,
        }
    }
}

/// One decoded run of a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedView {
    /// The encoding of the innermost layer that produced `text`.
    pub encoding: Encoding,
    /// The byte span of the encoded run in the original prompt (for a nested
    /// view, the span of the outer run that contains it). Always on char
    /// boundaries of the prompt.
    pub span: Range<usize>,
    /// The decoded text.
    pub text: String,
    /// 1 for a run of the prompt, 2 for a run inside another view.
    pub depth: u8,
}

/// Finds the encoded runs of `prompt` and returns their decoded views, in the
/// order the finders report them (by encoding, then by position). Never
/// panics; costs O(n + `limits.max_decoded_bytes`) (see the module doc).
pub fn decoded_views(prompt: &str, limits: &DecodeLimits) -> Vec<DecodedView> {
    let mut budget = limits.max_decoded_bytes;
    let mut views = Vec::new();
    find_all(prompt, limits, &mut budget, &mut |enc, span, text| {
        views.push(DecodedView {
            encoding: enc,
            span,
            text,
            depth: 1,
        });
    });
    if limits.nested {
        let outer_count = views.len();
        for i in 0..outer_count {
            let (outer_text, outer_span) = match views.get(i) {
                Some(v) => (v.text.clone(), v.span.clone()),
                None => break,
            };
            let mut inner = Vec::new();
            find_all(&outer_text, limits, &mut budget, &mut |enc, _span, text| {
                inner.push(DecodedView {
                    encoding: enc,
                    span: outer_span.clone(),
                    text,
                    depth: 2,
                });
            });
            views.extend(inner);
        }
    }
    views
}

type Sink<'a> = dyn FnMut(Encoding, Range<usize>, String) + 'a;

fn find_all(text: &str, limits: &DecodeLimits, budget: &mut usize, sink: &mut Sink<'_>) {
    let bytes = text.as_bytes();
    let mut emit = |enc: Encoding, span: Range<usize>, decoded: Vec<u8>, budget: &mut usize| {
        if decoded.len() > *budget {
            return;
        }
        if let Some(t) = as_text(&decoded) {
            *budget -= decoded.len();
            sink(enc, span, t);
        }
    };
    for (span, decoded, url) in base64_runs(bytes, limits.min_run) {
        let enc = if url {
            Encoding::Base64Url
        } else {
            Encoding::Base64
        };
        emit(enc, span, decoded, budget);
    }
    for (span, decoded) in base32_runs(bytes, limits.min_run) {
        emit(Encoding::Base32, span, decoded, budget);
    }
    for (span, decoded) in hex_runs(bytes, limits.min_run.div_ceil(2).max(4)) {
        emit(Encoding::Hex, span, decoded, budget);
    }
    for (span, decoded) in percent_runs(bytes) {
        emit(Encoding::Percent, span, decoded, budget);
    }
    for (span, decoded) in entity_runs(bytes) {
        emit(Encoding::HtmlEntity, span, decoded, budget);
    }
}

/// The decoded bytes as text, if they are text: UTF-8 (lossy), at least four
/// characters, at most one in ten a control or replacement character.
fn as_text(decoded: &[u8]) -> Option<String> {
    let t = String::from_utf8_lossy(decoded);
    let mut total = 0usize;
    let mut bad = 0usize;
    for c in t.chars() {
        total += 1;
        if c == '\u{FFFD}' || (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            bad += 1;
        }
    }
    (total >= 4 && bad * 10 <= total).then(|| t.into_owned())
}

// ------------------------------------------------------------------ base64

fn b64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Maximal segments of the base64 alphabet (with up to two `=` at the end),
/// joined across whitespace when the segment before is a whole number of
/// 4-character groups (wrapped lines, spaced groups). Returns (span, decoded,
/// url-safe alphabet).
fn base64_runs(bytes: &[u8], min_run: usize) -> Vec<(Range<usize>, Vec<u8>, bool)> {
    let segs = segments(bytes, |b| b64_value(b).is_some(), 4, min_run);
    let mut out = Vec::new();
    for run in segs {
        // The run, then without its last segment, then without its first.
        let tries: [&[Seg]; 3] = [
            &run[..],
            run.split_last().map_or(&[], |(_, init)| init),
            run.get(1..).unwrap_or(&[]),
        ];
        for t in tries {
            let n: usize = t.iter().map(|s| s.len).sum();
            if t.is_empty() || n < min_run {
                continue;
            }
            let data: Vec<u8> = t.iter().flat_map(|s| s.chars(bytes)).copied().collect();
            let decoded = decode_base64(&data);
            if as_text(&decoded).is_some() {
                let url = data.iter().any(|&b| b == b'-' || b == b'_');
                if let (Some(first), Some(last)) = (t.first(), t.last()) {
                    out.push((first.range.start..last.range.end, decoded, url));
                }
                break;
            }
        }
    }
    out
}

fn decode_base64(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 2);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in data {
        let Some(v) = b64_value(c) else { continue };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

// ------------------------------------------------------------------ base32

fn b32_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a'),
        b'2'..=b'7' => Some(b - b'2' + 26),
        _ => None,
    }
}

fn base32_runs(bytes: &[u8], min_run: usize) -> Vec<(Range<usize>, Vec<u8>)> {
    let segs = segments(bytes, |b| b32_value(b).is_some(), 8, min_run);
    let mut out = Vec::new();
    for run in segs {
        let data: Vec<u8> = run.iter().flat_map(|s| s.chars(bytes)).copied().collect();
        // One case throughout. (Requiring a digit 2-7 as well dropped real
        // base32 of text: 26 characters of one such run had none. A run of
        // capitals that is not base32 decodes to binary, which the text
        // test of the caller drops.)
        let upper = data.iter().any(u8::is_ascii_uppercase);
        let lower = data.iter().any(u8::is_ascii_lowercase);
        if data.len() < min_run || (upper && lower) {
            continue;
        }
        let (mut acc, mut bits) = (0u64, 0u32);
        let mut decoded = Vec::with_capacity(data.len() * 5 / 8 + 1);
        for &c in &data {
            let Some(v) = b32_value(c) else { continue };
            acc = (acc << 5) | u64::from(v);
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                decoded.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        if let (Some(first), Some(last)) = (run.first(), run.last()) {
            out.push((first.range.start..last.range.end, decoded));
        }
    }
    out
}

// ------------------------------------------------------------------ segments

/// A maximal run of alphabet bytes at `range` of the input: its first `len`
/// bytes, then up to six `=`.
struct Seg {
    range: Range<usize>,
    len: usize,
}

impl Seg {
    /// The alphabet bytes (without the padding).
    fn chars<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        bytes
            .get(self.range.start..self.range.start + self.len)
            .unwrap_or(&[])
    }
}

/// Splits `bytes` into maximal alphabet segments (each may end with up to six
/// `=`), grouped into runs: a segment joins the previous one across
/// whitespace when the previous one has a multiple of `group` characters and
/// no padding. Only runs of at least `min_chars` alphabet bytes are returned
/// (shorter ones, ordinary words, cost no allocation). One forward pass.
fn segments(
    bytes: &[u8],
    alpha: impl Fn(u8) -> bool,
    group: usize,
    min_chars: usize,
) -> Vec<Vec<Seg>> {
    let mut runs: Vec<Vec<Seg>> = Vec::new();
    let mut current: Vec<Seg> = Vec::new();
    let mut current_chars = 0usize;
    let mut close = |current: &mut Vec<Seg>, chars: &mut usize| {
        if *chars >= min_chars && !current.is_empty() {
            runs.push(std::mem::take(current));
        } else {
            current.clear();
        }
        *chars = 0;
    };
    let mut can_join = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if !alpha(b) {
            i += 1;
            continue;
        }
        let start = i;
        while bytes.get(i).is_some_and(|&b| alpha(b)) {
            i += 1;
        }
        let len = i - start;
        let mut padded = false;
        while bytes.get(i) == Some(&b'=') && i - start < len + 6 {
            padded = true;
            i += 1;
        }
        // Whitespace between this segment and the previous one only?
        let joined_by_space = current.last().is_some_and(|prev| {
            bytes
                .get(prev.range.end..start)
                .is_some_and(|gap| gap.iter().all(u8::is_ascii_whitespace))
        });
        let joins = can_join && joined_by_space;
        if !joins && !current.is_empty() {
            close(&mut current, &mut current_chars);
        }
        can_join = !padded && len.is_multiple_of(group);
        current.push(Seg {
            range: start..i,
            len,
        });
        current_chars += len;
        if padded {
            close(&mut current, &mut current_chars);
        }
    }
    close(&mut current, &mut current_chars);
    runs
}

// ------------------------------------------------------------------ hex

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// One hex byte at `i`, with an optional `\x` or `0x` prefix: (value, next index).
fn hex_byte(bytes: &[u8], i: usize) -> Option<(u8, usize)> {
    let mut j = i;
    if let (Some(&a), Some(&b)) = (bytes.get(j), bytes.get(j + 1)) {
        if (a == b'\\' || a == b'0') && (b == b'x' || b == b'X') {
            j += 2;
        }
    }
    let hi = hex_digit(*bytes.get(j)?)?;
    let lo = hex_digit(*bytes.get(j + 1)?)?;
    Some(((hi << 4) | lo, j + 2))
}

fn hex_runs(bytes: &[u8], min_bytes: usize) -> Vec<(Range<usize>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // A run must not start in the middle of a word or number.
        let boundary = i == 0 || !bytes.get(i - 1).is_some_and(u8::is_ascii_alphanumeric);
        let Some((first, mut j)) = boundary.then(|| hex_byte(bytes, i)).flatten() else {
            i += 1;
            continue;
        };
        let start = i;
        let mut decoded = vec![first];
        let mut end = j;
        loop {
            if let Some((b, k)) = hex_byte(bytes, j) {
                decoded.push(b);
                end = k;
                j = k;
                continue;
            }
            // One separator between bytes.
            if let Some(b' ' | b':' | b',' | b'-') = bytes.get(j) {
                if let Some((b, k)) = hex_byte(bytes, j + 1) {
                    decoded.push(b);
                    end = k;
                    j = k;
                    continue;
                }
            }
            break;
        }
        if decoded.len() >= min_bytes {
            out.push((start..end, decoded));
        }
        i = end.max(i + 1);
    }
    out
}

// ------------------------------------------------------------------ %-encoding

/// Whitespace-delimited tokens with at least three `%XX` escapes.
fn percent_runs(bytes: &[u8]) -> Vec<(Range<usize>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace()) {
            i += 1;
        }
        let token = bytes.get(start..i).unwrap_or_default();
        if token.iter().filter(|&&b| b == b'%').take(3).count() < 3 {
            continue;
        }
        let mut decoded = Vec::with_capacity(token.len());
        let mut escapes = 0;
        let mut k = 0;
        while let Some(&t) = token.get(k) {
            let esc = (t == b'%')
                .then(|| {
                    Some((
                        hex_digit(*token.get(k + 1)?)?,
                        hex_digit(*token.get(k + 2)?)?,
                    ))
                })
                .flatten();
            if let Some((hi, lo)) = esc {
                decoded.push((hi << 4) | lo);
                escapes += 1;
                k += 3;
            } else {
                decoded.push(if t == b'+' { b' ' } else { t });
                k += 1;
            }
        }
        if escapes >= 3 {
            out.push((start..i, decoded));
        }
    }
    out
}

// ------------------------------------------------------------------ HTML entities

/// One character reference at `i` (`&#105;`, `&#x69;`, `&lt;`): (char, next index).
fn entity(bytes: &[u8], i: usize) -> Option<(char, usize)> {
    if bytes.get(i) != Some(&b'&') {
        return None;
    }
    let rest = bytes.get(i + 1..)?;
    let semi = rest.iter().take(10).position(|&b| b == b';')?;
    let body = rest.get(..semi)?;
    let next = i + 1 + semi + 1;
    let c = if let Some(num) = body.strip_prefix(b"#") {
        let (digits, radix) = match num.first() {
            Some(b'x' | b'X') => (num.get(1..)?, 16),
            _ => (num, 10),
        };
        let s = std::str::from_utf8(digits).ok()?;
        char::from_u32(u32::from_str_radix(s, radix).ok()?)?
    } else {
        match body {
            b"lt" => '<',
            b"gt" => '>',
            b"amp" => '&',
            b"quot" => '"',
            b"apos" => '\'',
            b"nbsp" => ' ',
            _ => return None,
        }
    };
    Some((c, next))
}

/// Runs of at least four character references, with at most three other
/// characters between two of them (kept as they are).
fn entity_runs(bytes: &[u8]) -> Vec<(Range<usize>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let Some((c, mut j)) = entity(bytes, i) else {
            i += 1;
            continue;
        };
        let start = i;
        let mut text = String::new();
        text.push(c);
        let mut count = 1;
        let mut end = j;
        'run: loop {
            // The next reference within three bytes of the last one.
            for gap in 0..=3 {
                if let Some((c, k)) = entity(bytes, j + gap) {
                    if let Ok(between) =
                        std::str::from_utf8(bytes.get(j..j + gap).unwrap_or_default())
                    {
                        text.push_str(between);
                        text.push(c);
                        count += 1;
                        end = k;
                        j = k;
                        continue 'run;
                    }
                }
            }
            break;
        }
        if count >= 4 {
            out.push((start..end, text.into_bytes()));
        }
        i = end.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests;
