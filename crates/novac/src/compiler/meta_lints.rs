//! Optional metadata lints (`novac check --meta-lints`): the conventions of
//! the public NOVA rule repository's validator, as warnings W201–W206.

use novac_syntax::ast::{MetaEntry, Rule, SectionBody};
use novac_syntax::codes;
use novac_syntax::Diagnostic;

/// Keys every rule should have.
pub const REQUIRED_KEYS: &[&str] = &[
    "description",
    "author",
    "severity",
    "uuid",
    "date",
    "version",
    "category",
];
/// Keys that may appear besides the required ones.
pub const OPTIONAL_KEYS: &[&str] = &["reference", "hash", "modified"];
/// Valid `severity` values.
pub const SEVERITIES: &[&str] = &["low", "medium", "high", "critical"];

pub(crate) fn lint(rule: &Rule, diags: &mut Vec<Diagnostic>) {
    let name = &rule.name;
    let mut first = name.value.chars();
    let pascal = first.next().is_some_and(|c| c.is_ascii_uppercase())
        && first.all(|c| c.is_ascii_alphanumeric());
    if !pascal {
        diags.push(Diagnostic::new(
            &codes::META_NAME,
            name.span,
            format!("rule name `{}` is not PascalCase", name.value),
        ));
    }
    let entries: Vec<_> = rule
        .sections
        .iter()
        .filter_map(|s| match &s.body {
            SectionBody::Meta(e) => Some(e),
            _ => None,
        })
        .flatten()
        .filter_map(|e| match e {
            MetaEntry::Pair { key, value, .. } => Some((key, value)),
            MetaEntry::Junk { .. } => None,
        })
        .collect();
    for required in REQUIRED_KEYS {
        if !entries.iter().any(|(k, _)| k.value == *required) {
            diags.push(
                Diagnostic::new(
                    &codes::META_MISSING,
                    name.span,
                    format!("rule `{}` has no meta `{required}`", name.value),
                )
                .with_help(format!("add `{required} = \"...\"` to its meta section")),
            );
        }
    }
    for (key, value) in entries {
        let v = value.value.as_str();
        match key.value.as_str() {
            "uuid" if !is_uuid_v4(v) => {
                diags.push(Diagnostic::new(
                    &codes::META_UUID,
                    value.span,
                    format!("`{v}` is not a version-4 UUID"),
                ));
            }
            "severity" if !SEVERITIES.contains(&v) => {
                diags.push(
                    Diagnostic::new(
                        &codes::META_SEVERITY,
                        value.span,
                        format!("unknown severity `{v}`"),
                    )
                    .with_help("use low, medium, high or critical"),
                );
            }
            "date" | "modified" if !is_iso_date(v) => {
                diags.push(Diagnostic::new(
                    &codes::META_DATE,
                    value.span,
                    format!("`{v}` is not a date YYYY-MM-DD"),
                ));
            }
            k if !REQUIRED_KEYS.contains(&k) && !OPTIONAL_KEYS.contains(&k) => {
                diags.push(Diagnostic::new(
                    &codes::META_UNKNOWN,
                    key.span,
                    format!("unknown meta key `{k}`"),
                ));
            }
            _ => {}
        }
    }
}

fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            14 => *c == b'4',
            19 => matches!(c.to_ascii_lowercase(), b'8' | b'9' | b'a' | b'b'),
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_iso_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let num = |t: &str, len: usize| t.len() == len && t.bytes().all(|c| c.is_ascii_digit());
    if !(num(y, 4) && num(m, 2) && num(d, 2)) {
        return false;
    }
    let (m, d): (u32, u32) = (m.parse().unwrap_or(0), d.parse().unwrap_or(0));
    (1..=12).contains(&m) && (1..=31).contains(&d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuid_and_date_shapes() {
        assert!(super::is_uuid_v4("59e50576-91b0-491d-b9f0-5a2a4ea8169a"));
        assert!(!super::is_uuid_v4("59e50576-91b0-391d-b9f0-5a2a4ea8169a"));
        assert!(super::is_iso_date("2026-02-21"));
        assert!(!super::is_iso_date("2026-2-21"));
        assert!(!super::is_iso_date("2026-13-01"));
    }
}
