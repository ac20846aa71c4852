//! Grammar-aware generators for the fuzz targets.
//!
//! libFuzzer hands the targets raw bytes; [`arbitrary`] turns them into the
//! structured values below, which render to `.nov` text. So most inputs are
//! rules that parse (the compiler and scanner get exercised, not only the
//! parser's error path), while the fragment tables still include the hostile
//! and the invalid: catastrophic regexes, unsupported constructs, undefined
//! variables, odd quoting, deep nesting.
//!
//! * [`GenFile`] (target `compile`): any section mix, any condition, junk lines.
//! * [`ScanCase`] (target `scan`): keyword-only rules whose conditions name
//!   existing variables, and a prompt over a case-rich alphabet; the target
//!   checks the scanner's verdict against naive per-keyword matching fed to
//!   the tree-walking interpreter ([`novac::interp`]).

use arbitrary::{Arbitrary, Result, Unstructured};

/// Regex bodies: plain, Unicode, anchored, catastrophic in a backtracking
/// engine, and a few that novac must refuse with a diagnostic.
pub const REGEX_FRAGMENTS: &[&str] = &[
    "ab",
    "a",
    "b+",
    "[ab]",
    "é",
    "ж+",
    "\\d",
    "\\w",
    "\\s",
    "(ab|ba)",
    "σ",
    "\\bab",
    "b\\b",
    "a{1,2}",
    "(a+)+",
    "(a|aa)+",
    "(\\w+\\s?)*",
    "(.*a){3}",
    "^",
    "$",
    "x*",
    ".",
    "[^a]",
    "(?:ab)?",
    "\\.",
    "ignore",
    "previous",
    "中",
];

/// Fragments only the compile target uses (invalid or unsupported).
pub const BAD_REGEX_FRAGMENTS: &[&str] = &[
    "(",
    ")",
    "[",
    "(?<=a)",
    "(?!b)",
    "\\1",
    "(?P<n>a)(?P=n)",
    "a{1000}{1000}",
    "(?i)",
    "\\p{L}",
    "[[:alpha:]]",
    "\\N{DIGIT ONE}",
    "a{,3}",
    "(?x) a # c",
    "*",
    "\\",
    "/",
    "a++",
    "(?>a)",
    "\\Z",
    "\\A",
    "(?s:.)",
    "[\\w-z]",
];

/// Literal keyword texts: plain, Unicode, blanks, quotes and backslashes.
pub const LITERALS: &[&str] = &[
    "ignore previous",
    "ab",
    "a",
    "AB",
    "é",
    "É",
    "жЖ",
    "σ",
    "Σ",
    "ß",
    "中文",
    "a b",
    "-",
    "1",
    "",
    " ",
    "\\",
    "\\\"",
    "{",
    "}",
    "$a",
    "case:true",
];

/// Prompt characters: case pairs, multi-byte letters, a final sigma, white space.
pub const PROMPT_ALPHABET: &[char] = &[
    'a', 'b', 'A', 'B', 'é', 'É', 'ж', 'Ж', 'σ', 'Σ', 'ς', 'ß', ' ', '\n', '\t', '-', '1', '中',
    'i', 'g', 'n', 'o', 'r', 'e', 'p', 'v', 'u', 's', '.', '\u{1c}', '\u{a0}', 'x', 'K',
];

fn pick<'a, T: Copy>(u: &mut Unstructured<'a>, items: &[T]) -> Result<T> {
    Ok(*u.choose(items)?)
}

/// A keyword entry.
#[derive(Clone, Debug)]
pub enum GenKeyword {
    /// `"text"` with an optional ` case:true`.
    Literal {
        /// The text between the quotes.
        text: String,
        /// ` case:true`.
        case_sensitive: bool,
    },
    /// `/body/` with an optional `i`.
    Regex {
        /// The body between the slashes.
        body: String,
        /// The `i` flag.
        case_insensitive: bool,
    },
}

impl GenKeyword {
    fn generate(u: &mut Unstructured<'_>, allow_bad: bool) -> Result<GenKeyword> {
        if u.arbitrary()? {
            let parts = u.int_in_range(1..=2)?;
            let mut text = String::new();
            for _ in 0..parts {
                text.push_str(pick(u, LITERALS)?);
            }
            if !allow_bad {
                // Quotes and backslashes end or escape the string: keep the
                // scan target's rules valid.
                text.retain(|c| c != '"' && c != '\\');
            }
            Ok(GenKeyword::Literal {
                text,
                case_sensitive: u.arbitrary()?,
            })
        } else {
            let parts = u.int_in_range(1..=4)?;
            let mut body = String::new();
            for _ in 0..parts {
                if allow_bad && u.ratio(1, 6)? {
                    body.push_str(pick(u, BAD_REGEX_FRAGMENTS)?);
                } else {
                    body.push_str(pick(u, REGEX_FRAGMENTS)?);
                }
            }
            Ok(GenKeyword::Regex {
                body,
                case_insensitive: u.arbitrary()?,
            })
        }
    }

    /// The entry's right-hand side as written in a rule.
    pub fn source(&self) -> String {
        match self {
            GenKeyword::Literal {
                text,
                case_sensitive,
            } => format!(
                "\"{text}{}\"",
                if *case_sensitive { " case:true" } else { "" }
            ),
            GenKeyword::Regex {
                body,
                case_insensitive,
            } => format!("/{body}/{}", if *case_insensitive { "i" } else { "" }),
        }
    }
}

/// A condition over variables `$k0..$kN` (plus, in the compile target, names
/// that do not exist and section-qualified forms).
#[derive(Clone, Debug)]
pub enum GenCond {
    /// `$kN`, `keywords.$kN`, or an undefined name.
    Var(usize),
    /// `true` / `false`.
    Const(bool),
    /// `not c`.
    Not(Box<GenCond>),
    /// `a and b`.
    And(Box<GenCond>, Box<GenCond>),
    /// `a or b`.
    Or(Box<GenCond>, Box<GenCond>),
    /// `(c)`.
    Paren(Box<GenCond>),
    /// `any of keywords.*`, `N of ($k*)`, `all of keywords.*`.
    Quantifier(u8),
}

impl GenCond {
    fn generate(u: &mut Unstructured<'_>, vars: usize, depth: u32) -> Result<GenCond> {
        let choice = if depth == 0 {
            u.int_in_range(0..=2)?
        } else {
            u.int_in_range(0..=7)?
        };
        Ok(match choice {
            0 => GenCond::Var(u.int_in_range(0..=vars.saturating_sub(1))?),
            1 => GenCond::Quantifier(u.arbitrary()?),
            2 if u.ratio(1, 8)? => GenCond::Const(u.arbitrary()?),
            2 => GenCond::Var(u.int_in_range(0..=vars.saturating_sub(1))?),
            3 => GenCond::Not(Box::new(GenCond::generate(u, vars, depth - 1)?)),
            4 | 5 => GenCond::And(
                Box::new(GenCond::generate(u, vars, depth - 1)?),
                Box::new(GenCond::generate(u, vars, depth - 1)?),
            ),
            6 => GenCond::Or(
                Box::new(GenCond::generate(u, vars, depth - 1)?),
                Box::new(GenCond::generate(u, vars, depth - 1)?),
            ),
            _ => GenCond::Paren(Box::new(GenCond::generate(u, vars, depth - 1)?)),
        })
    }

    /// The condition as written in a rule.
    pub fn source(&self, vars: usize) -> String {
        match self {
            GenCond::Var(i) => format!("$k{i}"),
            GenCond::Const(b) => b.to_string(),
            GenCond::Not(c) => format!("not {}", c.source(vars)),
            GenCond::And(a, b) => format!("{} and {}", a.source(vars), b.source(vars)),
            GenCond::Or(a, b) => format!("{} or {}", a.source(vars), b.source(vars)),
            GenCond::Paren(c) => format!("({})", c.source(vars)),
            GenCond::Quantifier(q) => {
                let n = 1 + (*q as usize) % vars.max(1);
                match q % 4 {
                    0 => "any of keywords.*".to_string(),
                    1 => format!("{n} of ($k*)"),
                    2 => "all of keywords.*".to_string(),
                    _ => format!("any of ($k{})", *q as usize % vars.max(1)),
                }
            }
        }
    }
}

/// One rule of the compile target: every section optional, anything may be wrong.
#[derive(Clone, Debug)]
pub struct GenRule {
    name: String,
    meta: Vec<(String, String)>,
    keywords: Vec<GenKeyword>,
    semantics: usize,
    llm: usize,
    condition: GenCond,
    junk: Option<String>,
}

const NAMES: &[&str] = &["R", "Rule_1", "A", "my_rule", "X9", "Ünï", "R-1", "_"];
const META_KEYS: &[&str] = &["author", "severity", "uuid", "date", "description", "x"];
const META_VALUES: &[&str] = &["high", "", "2024-01-01", "not-a-uuid", "a \\\" b", "{"];
const JUNK: &[&str] = &[
    "}",
    "{",
    "rule",
    "condition:",
    "keywords:",
    "$k0 = ",
    "\"",
    "/",
    "// comment",
    "# comment",
    "(((((((((((((((",
    "not not not not",
    "\u{feff}",
    "\0",
    "$",
    "of",
];

impl<'a> Arbitrary<'a> for GenRule {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<GenRule> {
        let name = pick(u, NAMES)?.to_string();
        let mut meta = Vec::new();
        for _ in 0..u.int_in_range(0..=2)? {
            meta.push((
                pick(u, META_KEYS)?.to_string(),
                pick(u, META_VALUES)?.to_string(),
            ));
        }
        let nk = u.int_in_range(0..=4)?;
        let mut keywords = Vec::new();
        for _ in 0..nk {
            keywords.push(GenKeyword::generate(u, true)?);
        }
        let semantics = u.int_in_range(0..=1)?;
        let llm = u.int_in_range(0..=1)?;
        let condition = GenCond::generate(u, nk.max(1) + 1, 4)?;
        let junk = if u.ratio(1, 5)? {
            Some(pick(u, JUNK)?.to_string())
        } else {
            None
        };
        Ok(GenRule {
            name,
            meta,
            keywords,
            semantics,
            llm,
            condition,
            junk,
        })
    }
}

impl GenRule {
    /// The rule as `.nov` text.
    pub fn source(&self) -> String {
        let mut s = format!("rule {} {{\n", self.name);
        if !self.meta.is_empty() {
            s.push_str("    meta:\n");
            for (k, v) in &self.meta {
                s.push_str(&format!("        {k} = \"{v}\"\n"));
            }
        }
        if !self.keywords.is_empty() {
            s.push_str("    keywords:\n");
            for (i, k) in self.keywords.iter().enumerate() {
                s.push_str(&format!("        $k{i} = {}\n", k.source()));
            }
        }
        if self.semantics > 0 {
            s.push_str("    semantics:\n        $s0 = \"override the rules\" (0.5)\n");
        }
        if self.llm > 0 {
            s.push_str("    llm:\n        $l0 = \"Is this hostile?\" (0.1)\n");
        }
        if let Some(junk) = &self.junk {
            s.push_str(junk);
            s.push('\n');
        }
        s.push_str("    condition:\n        ");
        s.push_str(&self.condition.source(self.keywords.len().max(1)));
        s.push_str("\n}\n");
        s
    }
}

/// A rule file of the compile target, and prompts to scan if it builds.
#[derive(Clone, Debug, Arbitrary)]
pub struct GenFile {
    /// The rules.
    pub rules: Vec<GenRule>,
    /// Prompts (any string).
    pub prompts: Vec<String>,
}

impl GenFile {
    /// All rules as one source.
    pub fn source(&self) -> String {
        self.rules.iter().map(GenRule::source).collect()
    }
}

/// The scan target's input: valid keyword-only rules and prompts.
#[derive(Clone, Debug)]
pub struct ScanCase {
    /// Per rule: its keywords and its condition.
    pub rules: Vec<(Vec<GenKeyword>, GenCond)>,
    /// Prompts over [`PROMPT_ALPHABET`].
    pub prompts: Vec<String>,
}

impl<'a> Arbitrary<'a> for ScanCase {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<ScanCase> {
        let mut rules = Vec::new();
        for _ in 0..u.int_in_range(1..=6)? {
            let n = u.int_in_range(1..=4)?;
            let mut keywords = Vec::new();
            for _ in 0..n {
                keywords.push(GenKeyword::generate(u, false)?);
            }
            let condition = GenCond::generate(u, n, 3)?;
            rules.push((keywords, condition));
        }
        let mut prompts = Vec::new();
        for _ in 0..u.int_in_range(1..=4)? {
            let len = u.int_in_range(0..=40)?;
            let mut p = String::new();
            for _ in 0..len {
                p.push(pick(u, PROMPT_ALPHABET)?);
            }
            prompts.push(p);
        }
        Ok(ScanCase { rules, prompts })
    }
}

impl ScanCase {
    /// The rules as one source: rule `R{i}` for entry `i`.
    pub fn source(&self) -> String {
        let mut s = String::new();
        for (i, (keywords, cond)) in self.rules.iter().enumerate() {
            s.push_str(&format!("rule R{i} {{\n    keywords:\n"));
            for (j, k) in keywords.iter().enumerate() {
                s.push_str(&format!("        $k{j} = {}\n", k.source()));
            }
            s.push_str(&format!(
                "    condition:\n        {}\n}}\n",
                cond.source(keywords.len())
            ));
        }
        s
    }
}

/// Python's `not text.strip()`.
pub fn is_blank(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// The reference's meaning of one compiled keyword pattern, computed the
/// slow, obvious way: `str.lower()` substring tests and a fresh `regex`.
pub fn naive_keyword(pattern: &novac::ir::KeywordPattern, text: &str) -> bool {
    use novac::ir::KeywordPattern as K;
    if is_blank(text) {
        return false;
    }
    match pattern {
        K::Literal {
            text: lit,
            case_sensitive: true,
        } => text.contains(lit.as_str()),
        K::Literal {
            text: lit,
            case_sensitive: false,
        } => text.to_lowercase().contains(&lit.to_lowercase()),
        K::Regex {
            rust,
            case_insensitive,
            ..
        } => regex::RegexBuilder::new(rust)
            .case_insensitive(*case_insensitive)
            .size_limit(64 << 20)
            .build()
            .map(|r| r.is_match(text))
            .unwrap_or(false),
    }
}

/// Real rules (this repository's `rulesets/`), the seeds of [`MutatedRules`].
pub const REAL_RULES: &[&str] = &[
    include_str!("../../rulesets/credentials-secrets.nov"),
    include_str!("../../rulesets/dangerous-code.nov"),
    include_str!("../../rulesets/hidden-unicode.nov"),
    include_str!("../../rulesets/jailbreak.nov"),
    include_str!("../../rulesets/multilingual-injection.nov"),
    include_str!("../../rulesets/prompt-injection.nov"),
];

/// Section names misspelt with accents, other scripts, look-alikes,
/// full-width colons, combining marks and direction marks.
pub const MISSPELT_SECTIONS: &[&str] = &[
    "ééé condition:",
    "conditión:",
    "condítion:",
    "cоndition:",         // Cyrillic о
    "сondition:",         // Cyrillic с
    "condition：",        // full-width colon
    "conditio\u{301}n:",  // combining acute
    "\u{200f}condition:", // right-to-left mark
    "condition\u{202e}:", // right-to-left override
    "\u{feff}keywords:",  // byte-order mark
    "kéywords:",
    "ключевые слова:",
    "关键词:",
    "키워드:",
    "الشرط:",
    "תנאי:",
    "𝒸𝑜𝓃𝒹𝒾𝓉𝒾𝑜𝓃:",
    "𝐤𝐞𝐲𝐰𝐨𝐫𝐝𝐬:",
    "sémantics:",
    "ｍｅｔａ:",
    "llm\u{0308}:",
    "é:",
    "ééé:",
    "\u{1F600}:",
];

/// Operators and quantifiers in other scripts and look-alikes.
pub const FOREIGN_OPERATORS: &[&str] = &[
    "и",
    "или",
    "не",
    "و",
    "أو",
    "ليس",
    "או",
    "לא",
    "和",
    "或",
    "非",
    "그리고",
    "∧",
    "∨",
    "¬",
    "аnd",
    "оr",
    "nоt",
    "ａｎｄ",
    "ｏｒ",
    "ａｎｙ ｏｆ",
    "аny of",
    "all оf",
    "２ of",
    "$\u{301}",
    "＄k",
    "keywords.＊",
    "（",
    "）",
    "\u{2066}and\u{2069}",
];

/// Characters inserted anywhere: combining marks, direction marks and
/// isolates, zero-width characters, 4-byte characters, the BOM.
pub const INSERTIONS: &[&str] = &[
    "\u{301}",
    "\u{308}",
    "\u{20dd}",
    "\u{200f}",
    "\u{200e}",
    "\u{202e}",
    "\u{2067}",
    "\u{200b}",
    "\u{200d}",
    "\u{feff}",
    "\u{1F600}",
    "\u{1D4B8}",
    "\u{10FFFD}",
    "\u{E0041}",
    "\u{1F1EB}\u{1F1F7}",
    "ß",
    "İ",
    "Σ",
    "\u{a0}",
    "\u{3000}",
    "\r",
    "\u{85}",
    "\u{2028}",
];

/// One edit of a real rule.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Replace the n-th section header (line ending in `:`) with a misspelling.
    Section(usize, &'static str),
    /// Replace the n-th `and`/`or`/`not`/`of`/`any`/`all` word with a foreign one.
    Operator(usize, &'static str),
    /// Insert a character at the n-th character boundary (modulo the length).
    Insert(usize, &'static str),
    /// Replace the n-th character with a look-alike or a 4-byte character.
    Replace(usize, &'static str),
}

/// One real rule after a few structure-aware edits (the `mutate` target).
/// One rule, not a whole file: a file of 40 rules compiles in seconds
/// under the sanitizers, a rule in milliseconds.
#[derive(Clone, Debug)]
pub struct MutatedRules {
    /// Which rule of [`REAL_RULES`] (counted across the files, modulo).
    pub seed: usize,
    /// The edits, applied in order.
    pub mutations: Vec<Mutation>,
}

impl<'a> Arbitrary<'a> for MutatedRules {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<MutatedRules> {
        let seed: usize = u.arbitrary()?;
        let mut mutations = Vec::new();
        for _ in 0..u.int_in_range(1..=4)? {
            let at: usize = u.arbitrary()?;
            mutations.push(match u.int_in_range(0..=3)? {
                0 => Mutation::Section(at, pick(u, MISSPELT_SECTIONS)?),
                1 => Mutation::Operator(at, pick(u, FOREIGN_OPERATORS)?),
                2 => Mutation::Insert(at, pick(u, INSERTIONS)?),
                _ => Mutation::Replace(at, pick(u, INSERTIONS)?),
            });
        }
        Ok(MutatedRules { seed, mutations })
    }
}

impl MutatedRules {
    /// The mutated source.
    pub fn source(&self) -> String {
        let rules = real_rule_chunks();
        let mut text = rules
            .get(self.seed % rules.len().max(1))
            .cloned()
            .unwrap_or_default();
        for m in &self.mutations {
            text = apply(&text, m);
        }
        text
    }
}

/// Every rule of [`REAL_RULES`], one text each (cut at the lines that
/// start with `rule `), computed once.
pub fn real_rule_chunks() -> &'static [String] {
    static CHUNKS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    CHUNKS.get_or_init(|| {
        let mut chunks: Vec<String> = Vec::new();
        for file in REAL_RULES {
            let mut in_rule = false;
            for line in file.split_inclusive('\n') {
                if line.starts_with("rule ") {
                    chunks.push(line.to_string());
                    in_rule = true;
                } else if let (true, Some(chunk)) = (in_rule, chunks.last_mut()) {
                    chunk.push_str(line);
                }
            }
        }
        chunks
    })
}

/// `text` with one mutation applied (always at character boundaries).
pub fn apply(text: &str, mutation: &Mutation) -> String {
    let boundaries: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let splice = |start: usize, end: usize, with: &str| {
        let mut out = String::with_capacity(text.len() + with.len());
        out.push_str(text.get(..start).unwrap_or(""));
        out.push_str(with);
        out.push_str(text.get(end..).unwrap_or(""));
        out
    };
    match mutation {
        Mutation::Section(n, with) => {
            let headers: Vec<(usize, usize)> = line_spans(text)
                .filter(|&(s, e)| text.get(s..e).is_some_and(|l| l.trim_end().ends_with(':')))
                .collect();
            match headers.get(n % headers.len().max(1)) {
                Some(&(s, e)) => {
                    let indent = text.get(s..e).map_or(0, |l| l.len() - l.trim_start().len());
                    splice(s + indent, e, with)
                }
                None => text.to_string(),
            }
        }
        Mutation::Operator(n, with) => {
            let words: Vec<(usize, usize)> = word_spans(text)
                .filter(|&(s, e)| {
                    matches!(
                        text.get(s..e),
                        Some("and" | "or" | "not" | "of" | "any" | "all")
                    )
                })
                .collect();
            match words.get(n % words.len().max(1)) {
                Some(&(s, e)) => splice(s, e, with),
                None => text.to_string(),
            }
        }
        Mutation::Insert(n, with) => {
            let at = boundaries.get(n % boundaries.len()).copied().unwrap_or(0);
            splice(at, at, with)
        }
        Mutation::Replace(n, with) => {
            let i = n % boundaries.len().saturating_sub(1).max(1);
            match (boundaries.get(i), boundaries.get(i + 1)) {
                (Some(&s), Some(&e)) => splice(s, e, with),
                _ => text.to_string(),
            }
        }
    }
}

/// Byte spans of the lines of `text`, without their `\n`.
fn line_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = 0;
    text.split('\n').map(move |line| {
        let span = (start, start + line.len());
        start += line.len() + 1;
        span
    })
}

/// Byte spans of the ASCII words of `text`.
fn word_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_ascii_alphabetic(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    spans.into_iter()
}
