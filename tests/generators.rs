//! The property tests' generators of rules and prompts, shared by
//! `properties.rs` (fast paths equal naive matching) and `matrix.rs` (every
//! configuration equals the default engine). Costs nothing until sampled.

use proptest::prelude::*;

/// A keyword as written in a rule, with its naive meaning.
#[derive(Clone, Debug)]
pub enum Keyword {
    /// `"text"` or `"text case:true"`.
    Literal {
        /// The literal.
        text: String,
        /// Written with `case:true`.
        case_sensitive: bool,
    },
    /// `/body/` or `/body/i`.
    Regex {
        /// The Python regex.
        body: String,
        /// Written with `i`.
        case_insensitive: bool,
    },
}

impl Keyword {
    /// The keyword as written in a rule.
    pub fn source(&self) -> String {
        match self {
            Keyword::Literal {
                text,
                case_sensitive: false,
            } => format!("\"{text}\""),
            Keyword::Literal {
                text,
                case_sensitive: true,
            } => format!("\"{text} case:true\""),
            Keyword::Regex {
                body,
                case_insensitive,
            } => format!("/{body}/{}", if *case_insensitive { "i" } else { "" }),
        }
    }

    /// The leftmost match span of a regex keyword, the slow, obvious way
    /// (`None` for literals, whose spans are checked elsewhere).
    pub fn naive_regex_span(&self, text: &str) -> Option<(usize, usize)> {
        match self {
            Keyword::Regex {
                body,
                case_insensitive,
            } => naive_regex(body, *case_insensitive)
                .find(text)
                .map(|m| (m.start(), m.end())),
            Keyword::Literal { .. } => None,
        }
    }

    /// The reference's semantics, computed the slow, obvious way.
    pub fn naive_match(&self, text: &str) -> bool {
        if text
            .chars()
            .all(|c| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
        {
            return false;
        }
        match self {
            Keyword::Literal {
                text: pattern,
                case_sensitive: true,
            } => text.contains(pattern.as_str()),
            Keyword::Literal {
                text: pattern,
                case_sensitive: false,
            } => text.to_lowercase().contains(&pattern.to_lowercase()),
            Keyword::Regex {
                body,
                case_insensitive,
            } => naive_regex(body, *case_insensitive).is_match(text),
        }
    }
}

/// A Python regex, translated, on the `regex` crate.
pub fn naive_regex(body: &str, case_insensitive: bool) -> regex::Regex {
    let rust = novac::translate_python_regex(body).expect("translates");
    regex::RegexBuilder::new(&rust)
        .case_insensitive(case_insensitive)
        .build()
        .expect("builds")
}

/// Text over a small alphabet with case pairs, non-ASCII letters, a final
/// sigma and spaces, so that keywords hit often.
pub fn small_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            'a', 'b', 'A', 'B', 'é', 'É', 'ж', 'Ж', 'σ', 'Σ', 'ß', ' ', '-', '1', '中',
        ]),
        0..max,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

/// A literal or regex keyword over [`small_text`]'s alphabet.
pub fn keyword() -> impl Strategy<Value = Keyword> {
    let literal = (
        small_text(4).prop_filter("non-blank", |t| !t.trim().is_empty() && t.trim() == t),
        any::<bool>(),
    )
        .prop_map(|(text, case_sensitive)| Keyword::Literal {
            text,
            case_sensitive,
        });
    let atom = prop::sample::select(vec![
        "ab", "a", "b+", "[ab]", "é", "ж+", "\\d", "\\w", "\\s", "(ab|ba)", "σ", "\\bab", "b\\b",
        "a{1,2}", ".{0,3}", "\\w{2}",
    ]);
    // A concatenation, or an alternation of them (whose branches get atom
    // groups of their own), sometimes grouped.
    let branch = prop::collection::vec(atom, 1..4).prop_map(|parts| parts.concat());
    let regex = (
        prop::collection::vec(branch, 1..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(branches, grouped, case_insensitive)| {
            let body = if grouped {
                format!("({})", branches.join(")|("))
            } else {
                branches.join("|")
            };
            Keyword::Regex {
                body,
                case_insensitive,
            }
        });
    prop_oneof![literal, regex]
}

/// A rule set of one rule per keyword (`R0`, `R1`, …, each `$k`), plus a
/// rule combining the first keywords, and its source.
pub fn rule_source(keywords: &[Keyword]) -> String {
    let mut source = String::new();
    for (i, k) in keywords.iter().enumerate() {
        source.push_str(&format!(
            "rule R{i} {{\n keywords:\n  $k = {}\n condition:\n  $k\n}}\n",
            k.source()
        ));
    }
    if keywords.len() >= 2 {
        source.push_str("rule Both {\n keywords:\n");
        for (i, k) in keywords.iter().enumerate() {
            source.push_str(&format!("  $k{i} = {}\n", k.source()));
        }
        source.push_str(" condition:\n  ($k0 and not $k1) or 2 of keywords.*\n}\n");
    }
    source
}
