//! Optional prompt normalisation (`ScanOptions::normalize`, `--normalize`),
//! the same three steps as the reference's scanner: Unicode NFKC, a map of
//! look-alike letters (Cyrillic and Greek homoglyphs, mathematical letters,
//! dashes) to their Latin/ASCII forms, and removal of zero-width and other
//! invisible characters. Off by default, like the reference's matcher and CLI.

use std::borrow::Cow;
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Normalises `text` (NFKC, look-alikes, invisible characters).
///
/// Borrows `text` when nothing changes, which is always the case for ASCII
/// text (ASCII is NFKC-stable, and no invisible or look-alike character is
/// ASCII): a gateway that normalises every prompt pays one `is_ascii` pass
/// for English prompts. Text that is already in NFKC skips the decomposition.
pub fn normalize(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let unchanged = |c: char| !is_invisible(c) && fold_lookalike(c) == c;
    if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        if text.chars().all(unchanged) {
            return Cow::Borrowed(text);
        }
        return Cow::Owned(
            text.chars()
                .filter(|c| !is_invisible(*c))
                .map(fold_lookalike)
                .collect(),
        );
    }
    Cow::Owned(
        text.nfkc()
            .filter(|c| !is_invisible(*c))
            .map(fold_lookalike)
            .collect(),
    )
}

/// Zero-width and invisible formatting characters that hide text.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}' | '\u{00AD}' | '\u{180E}' | '\u{034F}' | '\u{E0000}'..='\u{E007F}')
}

/// Maps one look-alike character to the Latin letter or ASCII sign it imitates.
pub fn fold_lookalike(c: char) -> char {
    match c {
        // Cyrillic
        'а' => 'a',
        'е' => 'e',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'у' => 'y',
        'х' => 'x',
        'і' => 'i',
        'ј' => 'j',
        'ѕ' => 's',
        'ԁ' => 'd',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'һ' => 'h',
        'А' => 'A',
        'В' => 'B',
        'Е' => 'E',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'Х' => 'X',
        'І' => 'I',
        'Ј' => 'J',
        'Ѕ' => 'S',
        // Greek
        'α' => 'a',
        'ο' => 'o',
        'ρ' => 'p',
        'ν' => 'v',
        'ι' => 'i',
        'κ' => 'k',
        'τ' => 't',
        'Α' => 'A',
        'Β' => 'B',
        'Ε' => 'E',
        'Ζ' => 'Z',
        'Η' => 'H',
        'Ι' => 'I',
        'Κ' => 'K',
        'Μ' => 'M',
        'Ν' => 'N',
        'Ο' => 'O',
        'Ρ' => 'P',
        'Τ' => 'T',
        'Υ' => 'Y',
        'Χ' => 'X',
        // Dashes and quotes
        '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
        '\u{2018}' | '\u{2019}' | '\u{201B}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201F}' => '"',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use std::borrow::Cow;

    #[test]
    fn hides_nothing() {
        assert_eq!(normalize("іgnore\u{200b} previous"), "ignore previous");
        assert_eq!(normalize("ﬁne"), "fine");
    }

    #[test]
    fn borrows_when_nothing_changes() {
        assert!(matches!(normalize("plain ASCII text"), Cow::Borrowed(_)));
        assert!(matches!(normalize("日本語のテキスト"), Cow::Borrowed(_)));
        assert!(matches!(normalize("Ĳ"), Cow::Owned(_)));
    }

    #[test]
    fn fast_paths_equal_the_full_pipeline() {
        use unicode_normalization::UnicodeNormalization;
        let full = |t: &str| -> String {
            t.nfkc()
                .filter(|c| !super::is_invisible(*c))
                .map(super::fold_lookalike)
                .collect()
        };
        for text in [
            "",
            "ascii only",
            "Привет, мир",
            "ΑΒΓ αβγ",
            "e\u{301} composed?",
            "ｆｕｌｌｗｉｄｔｈ",
            "zero\u{200d}width\u{feff}",
            "tag\u{e0041}\u{e0042}",
            "‘quotes’ — dashes",
            "한국어 Ǆ ﬃ ①",
        ] {
            assert_eq!(normalize(text), full(text), "{text:?}");
        }
    }
}
