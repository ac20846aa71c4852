//! "Did you mean …?" suggestions: the closest of a few candidate names to a
//! misspelt one, by edit distance over characters (not bytes, so names in
//! any script are safe). Costs O(len(name) × len(candidate)) per candidate;
//! it runs only when a diagnostic is being written.

/// The candidate closest to `name` (edit distance ≤ 2, or the same first
/// three characters), for "did you mean".
pub(crate) fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    // The first three characters, cut at a character boundary: `ééé` is six
    // bytes, so a byte cut at 3 would fall inside the second `é`.
    let prefix: String = lower.chars().take(3).collect();
    let long_enough = lower.chars().nth(2).is_some();
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, c), *c))
        .filter(|(d, c)| *d <= 2 || (long_enough && c.starts_with(prefix.as_str())))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance between `a` and `b`, counted in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev
                .get(j)
                .map_or(usize::MAX, |p| p + usize::from(ca != *cb));
            let delete = prev.get(j + 1).map_or(usize::MAX, |p| p + 1);
            let insert = cur.last().map_or(usize::MAX, |p| p + 1);
            cur.push(substitute.min(delete).min(insert));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECTIONS: &[&str] = &["meta", "keywords", "semantics", "llm", "condition"];

    #[test]
    fn multibyte_section_name_does_not_panic_in_prefix_cut() {
        // Regression: `ééé condition:` panicked slicing bytes 0..3 of "ééé".
        assert_eq!(closest("ééé", SECTIONS), None);
        assert_eq!(closest("ééé condition", SECTIONS), None);
        assert_eq!(closest("é", SECTIONS), None);
        assert_eq!(closest("𝒸𝑜𝓃𝒹𝒾𝓉𝒾𝑜𝓃", SECTIONS), None);
    }

    #[test]
    fn near_misses_are_suggested() {
        assert_eq!(closest("condtion", SECTIONS), Some("condition"));
        assert_eq!(closest("KEYWORD", SECTIONS), Some("keywords"));
        assert_eq!(closest("semanticsss", SECTIONS), Some("semantics"));
        assert_eq!(closest("zzz", SECTIONS), None);
    }

    #[test]
    fn distance_counts_characters() {
        assert_eq!(edit_distance("é", "e"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
