//! The registry of diagnostic codes: every error (`E…`) and warning (`W…`)
//! that `novac check` can report, in one place, with the explanation printed
//! by `novac check --explain CODE`.
//!
//! Codes are stable: a code is never reused for a different finding.
//! `E0xx`/`W0xx` come from the parser, `E1xx`/`W1xx` from the checker
//! (names, conditions, patterns), `W2xx` from the optional metadata lints, `W3xx` from the project policy
//! of `novac.toml` (applied by the CLI).

use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The rule cannot be compiled.
    Error,
    /// The rule compiles but probably does not do what its author meant,
    /// or is not portable to the reference implementation.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A registered diagnostic code.
#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    /// The stable identifier, e.g. `E101`.
    pub id: &'static str,
    /// A short kebab-case name, e.g. `undefined-variable`.
    pub name: &'static str,
    /// The default severity.
    pub severity: Severity,
    /// What the finding means and why it matters.
    pub explanation: &'static str,
}

macro_rules! codes {
    ($($konst:ident = $id:literal $name:literal $sev:ident $expl:literal;)*) => {
        $(
            #[doc = $expl]
            pub const $konst: Code = Code { id: $id, name: $name, severity: Severity::$sev, explanation: $expl };
        )*
        /// Every registered code, in order.
        pub const ALL: &[&Code] = &[$(&$konst),*];
    };
}

codes! {
    SYNTAX = "E001" "syntax-error" Error
        "The text does not follow the .nov grammar (grammar/nova.pest).";
    NO_RULES = "E002" "no-rules" Error
        "The file contains no `rule NAME` declaration. The reference rejects such files.";
    MISSING_CLOSE_BRACE = "E003" "missing-closing-brace" Error
        "A rule must end with a line that is exactly `}`. Without it the reference silently drops the last section (usually the condition).";
    UNKNOWN_SECTION = "E004" "unknown-section" Error
        "Every line ending in `:` is a section header; valid sections are meta, keywords, semantics, llm and condition.";
    BAD_REGEX_FLAGS = "E005" "bad-regex-flags" Error
        "Only the flag `i` (case-insensitive) may follow a /regex/. The reference rejects `/re/s` and misreads `/re/ii` as the case-sensitive regex `re/i`.";
    BAD_THRESHOLD = "E006" "bad-threshold" Error
        "The number in parentheses after a semantics or llm pattern must be a decimal between 0 and 1 (digits and dots only).";
    EMPTY_TEXT = "E007" "empty-text" Error
        "Semantic and LLM patterns need non-empty text in double quotes.";
    KEYWORD_THRESHOLD = "E008" "keyword-threshold" Error
        "A threshold after a keyword (fuzzy keywords, an open upstream proposal) is not supported yet; the reference rejects it.";
    TOO_DEEP = "E009" "condition-too-deep" Error
        "The condition nests parentheses or `not` deeper than the limit; this protects the compiler's stack.";
    DUPLICATE_RULE = "E010" "duplicate-rule" Error
        "Two rules have the same name, in one file or across the files compiled together.";
    BAD_RULE_NAME = "E011" "bad-rule-name" Error
        "A rule name is a run of letters, digits and underscores. The reference silently truncates `My-Rule` to `My`.";
    SOURCE_TOO_LARGE = "E012" "source-too-large" Error
        "The rule source is larger than the configured limit.";
    UNDEFINED_VARIABLE = "E101" "undefined-variable" Error
        "The condition names a variable that no section defines.";
    DUPLICATE_VARIABLE = "E102" "duplicate-variable" Error
        "Variable names must be unique within a rule, across keywords, semantics and llm.";
    FOREIGN_PREFIX = "E103" "variable-section-prefix" Error
        "A variable may not start with the name of another section (`$llm_x` in keywords); the reference rejects it.";
    NO_PATTERNS = "E104" "no-patterns" Error
        "A rule needs at least one of the sections keywords, semantics and llm.";
    NO_CONDITION = "E105" "no-condition" Error
        "A rule needs a condition section.";
    EMPTY_WILDCARD = "E106" "wildcard-matches-nothing" Error
        "A prefix wildcard (`keywords.$p*`, `any of ($p*)`) must match at least one variable.";
    BARE_WILDCARD = "E107" "bare-wildcard" Error
        "A prefix wildcard needs a section (`keywords.$p*`) or a quantifier (`any of ($p*)`).";
    WRAPPED_WILDCARD = "E108" "wrapped-wildcard" Error
        "The reference rejects a section wildcard in parentheses, `(keywords.*)`, and a section inside `of (...)`.";
    ALWAYS_FALSE = "E109" "always-false" Error
        "The reference accepts this condition but it can never evaluate to true (the whole condition is False): a bare word such as `TRUE` or `foo`, or a section name in the wrong case.";
    REPEATED_SECTION = "E110" "repeated-section" Error
        "A section appears twice; the reference keeps only the last one and silently drops the variables of the first.";
    BAD_REGEX = "E111" "bad-regex" Error
        "The regular expression does not compile.";
    UNSUPPORTED_REGEX = "E112" "unsupported-regex" Error
        "The regular expression uses a construct that cannot run in linear time (lookaround, backreferences, atomic groups, possessive quantifiers); novac refuses it rather than match differently.";
    BAD_QUANTIFIER = "E113" "bad-quantifier" Error
        "`any`/`all` must be followed by `of`, and the count of `N of` must fit in 32 bits.";
    OUTSIDE_TEXT = "W001" "text-outside-rule" Warning
        "Text outside a rule that is not a comment is ignored.";
    MARKER_TAIL = "W002" "text-after-case-marker" Warning
        "Everything after `case:true` up to the closing delimiter is cut from the pattern.";
    META_JUNK = "W003" "meta-line-ignored" Warning
        "A meta line without `=` is ignored.";
    MISSING_OPEN_BRACE = "W004" "missing-open-brace" Warning
        "The rule has no `{`; the reference accepts this but other tools may not.";
    UNUSED_VARIABLE = "W101" "unused-variable" Warning
        "A variable is defined but the condition never uses it; it is never evaluated.";
    OPERATOR_CASE = "W102" "operator-case" Warning
        "Upper-case `AND`/`OR`/`NOT` work in novac but the reference rejects them unless the condition also has a quantifier or wildcard.";
    RESERVED_NAME = "W103" "reserved-variable-name" Warning
        "The reference rejects variables named `$any`, `$all` or `$of` by accident; novac accepts them.";
    SLOW_PATTERN = "W104" "slow-pattern" Warning
        "The regex has no literal atom, so it runs on every prompt instead of only when its atom is found.";
    QUANTIFIER_CONSTANT = "W105" "constant-quantifier" Warning
        "The quantifier is constant: `0 of` is always true, `N of` with more than the available variables is always false, and `all of` an empty set is false.";
    EMPTY_KEYWORD = "W106" "empty-keyword" Warning
        "An empty keyword matches every prompt that is not blank.";
    DUPLICATE_META = "W107" "duplicate-meta-key" Warning
        "A meta key appears twice; the last value wins.";
    WHITESPACE_KEYWORD = "W108" "whitespace-keyword" Warning
        "The keyword starts or ends with white space, which is part of the substring that must match.";
    PORTABILITY = "W109" "portability" Warning
        "novac accepts this, but the reference implementation rejects or misreads it.";
    META_MISSING = "W201" "meta-missing-key" Warning
        "Metadata lint: a required meta key (description, author, severity, uuid, date, version, category) is missing.";
    META_UUID = "W202" "meta-bad-uuid" Warning
        "Metadata lint: `uuid` must be a version-4 UUID.";
    META_SEVERITY = "W203" "meta-bad-severity" Warning
        "Metadata lint: `severity` must be one of low, medium, high, critical.";
    META_DATE = "W204" "meta-bad-date" Warning
        "Metadata lint: `date` must be an ISO date, YYYY-MM-DD.";
    META_UNKNOWN = "W205" "meta-unknown-key" Warning
        "Metadata lint: the key is not one of the known meta keys.";
    META_NAME = "W206" "rule-name-style" Warning
        "Metadata lint: rule names are PascalCase (`^[A-Z][a-zA-Z0-9]*$`).";
    POLICY_META_MISSING = "W301" "policy-meta-missing" Warning
        "Project policy (novac.toml `[check.metadata]`): a required meta key is missing. Its `miss` setting makes this an error or a warning.";
    POLICY_META_TYPE = "W302" "policy-meta-type" Warning
        "Project policy (novac.toml `[check.metadata]`): the meta value does not have the configured type (string, int, date, uuid, enum, regex).";
    POLICY_RULE_NAME = "W303" "policy-rule-name" Warning
        "Project policy (novac.toml `[check.rule_name]`): the rule name does not match the configured regex.";
    POLICY_TAG = "W304" "policy-tag" Warning
        "Project policy (novac.toml `[check.tags]`): the tag is not in the allowed list.";
}

/// Looks a code up by its id (`E101`) or name (`undefined-variable`).
pub fn lookup(id_or_name: &str) -> Option<&'static Code> {
    ALL.iter()
        .copied()
        .find(|c| c.id.eq_ignore_ascii_case(id_or_name) || c.name == id_or_name)
}
