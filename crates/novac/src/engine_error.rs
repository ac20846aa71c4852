//! [`EngineError`]: why the keyword engine (or the streaming index) could
//! not be built from rules that passed the checker.
//!
//! Rules checked by this novac only meet the size limits here (a regex or
//! automaton over [`crate::CompileLimits`]); a regex that does not parse
//! can only come from a bundle written by hand or damaged in a way its
//! checksum missed. Each variant names the pattern and keeps the underlying
//! error as its [`std::error::Error::source`].

/// Why the keyword engine could not be built.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A keyword regex does not parse.
    #[error("keyword regex `{pattern}` does not parse: {source}")]
    RegexSyntax {
        /// The regex (translated to Rust syntax).
        pattern: String,
        /// The parser's error.
        #[source]
        source: Box<regex_syntax::Error>,
    },
    /// A keyword regex compiles to more than
    /// [`CompileLimits::max_regex_bytes`](crate::CompileLimits::max_regex_bytes).
    #[error(
        "keyword regex `{pattern}` needs more than {limit} bytes compiled \
         (CompileLimits::max_regex_bytes)"
    )]
    RegexTooLarge {
        /// The regex (translated to Rust syntax).
        pattern: String,
        /// The limit it went over, in bytes.
        limit: usize,
    },
    /// A keyword regex could not be compiled for another reason.
    #[error("keyword regex `{pattern}` does not compile: {source}")]
    RegexBuild {
        /// The regex (translated to Rust syntax).
        pattern: String,
        /// The regex engine's error.
        #[source]
        source: Box<regex_automata::meta::BuildError>,
    },
    /// A literal automaton could not be built (too many states for its
    /// state identifiers).
    #[error("cannot build the literal automaton: {source}")]
    Automaton {
        /// The automaton builder's error.
        #[source]
        source: aho_corasick::BuildError,
    },
}

impl EngineError {
    /// The error of compiling `pattern` into a verifier.
    pub(crate) fn regex_build(pattern: &str, error: &regex_automata::meta::BuildError) -> Self {
        match error.size_limit() {
            Some(limit) => EngineError::RegexTooLarge {
                pattern: pattern.to_string(),
                limit,
            },
            None => EngineError::RegexBuild {
                pattern: pattern.to_string(),
                source: Box::new(error.clone()),
            },
        }
    }

    /// The error of parsing `pattern`.
    pub(crate) fn regex_syntax(pattern: &str, error: Box<regex_syntax::Error>) -> Self {
        EngineError::RegexSyntax {
            pattern: pattern.to_string(),
            source: error,
        }
    }

    /// The regex the error is about, if any.
    pub fn pattern(&self) -> Option<&str> {
        match self {
            EngineError::RegexSyntax { pattern, .. }
            | EngineError::RegexTooLarge { pattern, .. }
            | EngineError::RegexBuild { pattern, .. } => Some(pattern),
            EngineError::Automaton { .. } => None,
        }
    }
}
