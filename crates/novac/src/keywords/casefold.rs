//! Case folding with the reference's semantics: Python's `str.lower()`
//! applied to both the literal and the prompt (full Unicode lower-casing,
//! `İ` → `i̇`, final sigma; not case folding, so `ß` does not match `SS`).
//!
//! Rust's `str::to_lowercase` implements the same Unicode algorithm
//! (including the final-sigma rule). Lower-casing can change the length of
//! the text, so spans found in the lowered prompt are mapped back to the
//! original with [`map_offsets`].

/// Lower-cases `text` like Python's `str.lower()` into `out` (cleared first).
///
/// Character by character, with table-free fast paths for the scripts that
/// dominate real prompts (ASCII, basic Cyrillic, and the caseless CJK,
/// kana and Hangul blocks); every other character goes through
/// `char::to_lowercase`. A text with a capital sigma, whose lower-case
/// depends on its neighbours, uses `str::to_lowercase` as a whole. The test
/// `fast_lowering_equals_std_for_every_char` checks every code point.
pub(crate) fn lower_into(text: &str, out: &mut String) {
    lower_noting_fold_special(text, out);
}

/// [`lower_into`], also saying whether `text` holds a fold-special
/// character ([`is_fold_special`]): found on the way, as the lowering
/// decodes every character that could be one.
pub(crate) fn lower_noting_fold_special(text: &str, out: &mut String) -> bool {
    out.clear();
    if text.is_ascii() {
        out.push_str(text);
        out.make_ascii_lowercase();
        false
    } else if text.contains('\u{3A3}') {
        out.push_str(&text.to_lowercase());
        true
    } else {
        lower_runs(text, out)
    }
}

/// Characters for which "the lowered atom occurs in the lowered prompt" is
/// not implied by a case-insensitive regex match: Python's extra case
/// equivalences (`ſ` ~ `s`, `ı` ~ `i`, Greek symbol forms, old Cyrillic
/// forms), `İ` (which lowers to two characters) and `Σ` (whose lower-case
/// depends on its position). A prompt containing one of them verifies every
/// folded-atom regex directly.
pub(crate) fn is_fold_special(c: char) -> bool {
    matches!(
        c as u32,
        0xB5 | 0x130
            | 0x131
            | 0x17F
            | 0x345
            | 0x390
            | 0x3A3
            | 0x3B0
            | 0x3C2
            | 0x3C3
            | 0x3D0
            | 0x3D1
            | 0x3D5
            | 0x3D6
            | 0x3F0
            | 0x3F1
            | 0x3F5
            | 0x1C80
            ..=0x1C88 | 0x1E9B | 0x1FBE | 0x1FD3 | 0x1FE3 | 0xA64B | 0xFB05 | 0xFB06
    )
}

/// The character-by-character lowering, copying runs of characters that
/// are their own lower-case as whole slices. Lead bytes `E3`–`E9` start the
/// characters U+3000–U+9FFF (CJK punctuation, kana, ideographs: no case),
/// which are skipped without decoding; a Chinese or Japanese prompt is then
/// mostly one copy. Returns whether a fold-special character occurred.
#[allow(
    clippy::indexing_slicing,
    clippy::string_slice,
    reason = "the hot lowering loop: `i < bytes.len()` is checked, `run` and `i` only ever move to character ends; `get()` cost 13% here (callgrind, Russian prompts)"
)]
fn lower_runs(text: &str, out: &mut String) -> bool {
    let mut fold_special = false;
    out.reserve(text.len());
    let two_byte_lower: &[u16; 0x780] = &TWO_BYTE_LOWER;
    let bytes = text.as_bytes();
    let mut run = 0; // start of the bytes not copied yet (all unchanged)
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            if b.is_ascii_uppercase() {
                out.push_str(&text[run..i]);
                out.push(b.to_ascii_lowercase() as char);
                run = i + 1;
            }
            i += 1;
            continue;
        }
        if (0xE3..=0xE9).contains(&b) {
            i += 3;
            continue;
        }
        if (0xC2..=0xDF).contains(&b) {
            // Two-byte characters (Latin accents, Greek, Cyrillic, Hebrew,
            // Arabic, …): decoded in place, lowered by table.
            if let Some(&next) = bytes.get(i + 1) {
                let u = (u32::from(b & 0x1F) << 6) | u32::from(next & 0x3F);
                let lower = two_byte_lower
                    .get((u as usize).wrapping_sub(0x80))
                    .map_or(0, |&l| u32::from(l));
                if lower == u {
                    i += 2;
                    continue;
                }
                if let Some(l) = char::from_u32(lower).filter(|_| lower != 0) {
                    out.push_str(&text[run..i]);
                    out.push(l);
                    run = i + 2;
                    i += 2;
                    continue;
                }
            }
        }
        // `i` is a character boundary: `b` is not a continuation byte.
        let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        let len = c.len_utf8();
        fold_special |= is_fold_special(c);
        match fast_lower(c) {
            Some(l) if l == c => {}
            Some(l) => {
                out.push_str(&text[run..i]);
                out.push(l);
                run = i + len;
            }
            None => {
                let lower = c.to_lowercase();
                if !(lower.len() == 1 && lower.clone().next() == Some(c)) {
                    out.push_str(&text[run..i]);
                    out.extend(lower);
                    run = i + len;
                }
            }
        }
        i += len;
    }
    out.push_str(&text[run..]);
    fold_special
}

/// The lower-case of each two-byte character, U+0080..U+07FF (index
/// `c - 0x80`), when it is one two-byte character; 0 otherwise (`İ` lowers
/// to two characters) and for the fold-special ones: the general path
/// handles those.
static TWO_BYTE_LOWER: std::sync::LazyLock<Box<[u16; 0x780]>> = std::sync::LazyLock::new(|| {
    let mut table = Box::new([0u16; 0x780]);
    for (slot, u) in table.iter_mut().zip(0x80u32..0x800) {
        let Some(c) = char::from_u32(u).filter(|&c| !is_fold_special(c)) else {
            continue;
        };
        let mut lower = c.to_lowercase();
        if let (Some(l), None) = (lower.next(), lower.next()) {
            if (0x80..0x800).contains(&u32::from(l)) {
                *slot = u32::from(l) as u16;
            }
        }
    }
    table
});

/// The lower-case of `c` when it is one character and cheap to find.
#[inline]
fn fast_lower(c: char) -> Option<char> {
    let u = c as u32;
    match u {
        0..=0x7F => Some(c.to_ascii_lowercase()),
        // Cyrillic capitals Ѐ..Џ and А..Я; small letters а..џ.
        0x400..=0x40F => char::from_u32(u + 0x50),
        0x410..=0x42F => char::from_u32(u + 0x20),
        0x430..=0x45F => Some(c),
        // CJK punctuation, kana, CJK ideographs, Hangul: no case.
        0x3000..=0x9FFF | 0xAC00..=0xD7A3 => Some(c),
        _ => None,
    }
}

/// Whether the text is blank in Python's sense (`not text.strip()`):
/// every character is white space per `str.isspace()`.
pub(crate) fn is_blank(text: &str) -> bool {
    text.chars().all(is_python_space)
}

/// Python's `str.isspace()` for one character: Unicode White_Space plus the
/// information separators U+001C..U+001F.
pub(crate) fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1C}'..='\u{1F}').contains(&c)
}

/// Maps byte offsets in `text.to_lowercase()` back to byte offsets in `text`.
///
/// `offsets` must be sorted; each result is the start of the original
/// character whose lower-case form covers that offset (or `text.len()`).
pub(crate) fn map_offsets(text: &str, offsets: &[usize]) -> Vec<usize> {
    let mut result = Vec::with_capacity(offsets.len());
    let mut next = 0;
    let mut lowered = 0;
    for (orig, c) in text.char_indices() {
        let len: usize = match fast_lower(c) {
            Some(l) => l.len_utf8(),
            None => c.to_lowercase().map(char::len_utf8).sum(),
        };
        while offsets.get(next).is_some_and(|&o| o < lowered + len) {
            result.push(orig);
            next += 1;
        }
        lowered += len;
    }
    result.resize(offsets.len(), text.len());
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowering_matches_python_examples() {
        let mut out = String::new();
        lower_into("İSTANBUL ΟΔΟΣ Straße", &mut out);
        assert_eq!(out, "i\u{307}stanbul οδος straße");
    }

    #[test]
    fn fast_lowering_equals_std_for_every_char() {
        for u in 0..=0x10FFFFu32 {
            let Some(c) = char::from_u32(u) else { continue };
            if let Some(l) = fast_lower(c) {
                let std: Vec<char> = c.to_lowercase().collect();
                assert_eq!(std, vec![l], "U+{u:04X}");
            }
        }
        let mut out = String::new();
        for u in 0x80..0x800u32 {
            let Some(c) = char::from_u32(u) else { continue };
            let text = format!("a{c}B{c}");
            lower_into(&text, &mut out);
            assert_eq!(out, text.to_lowercase(), "U+{u:04X}");
        }
        let text = "Привет, МИР! 你好 Ѐ İx ΣΑΣ σ";
        lower_into(text, &mut out);
        assert_eq!(out, text.to_lowercase());
        lower_into("ПРИВЕТ İx", &mut out);
        assert_eq!(out, "ПРИВЕТ İx".to_lowercase());
    }

    proptest::proptest! {
        #[test]
        fn lowering_equals_std_on_random_text(
            text in "[a-zA-Z ,.\u{b5}\u{c0}-\u{17f}\u{391}-\u{3c9}\u{400}-\u{45f}\u{1e00}-\u{1eff}\u{2c00}-\u{2c7f}\u{3000}-\u{30ff}\u{4e00}-\u{4e80}\u{a640}-\u{a69f}\u{ac00}-\u{ac40}\u{10400}-\u{1044f}]{0,40}"
        ) {
            let mut out = String::from("stale");
            lower_into(&text, &mut out);
            proptest::prop_assert_eq!(out, text.to_lowercase());
        }
    }

    #[test]
    fn offsets_map_back_through_length_changes() {
        let text = "İx"; // İ is 2 bytes, lowers to 3 bytes
        let lowered = text.to_lowercase();
        assert_eq!(lowered.len(), 4);
        assert_eq!(map_offsets(text, &[0, 3, 4]), vec![0, 2, 3]);
    }

    #[test]
    fn blank_follows_python_isspace() {
        assert!(is_blank(" \t\u{3000}\u{a0}\u{1c}"));
        assert!(!is_blank(" x "));
        assert!(is_blank(""));
    }
}
