//! [`Secret`]: an API key that never shows itself.
//!
//! The key goes into request headers through [`Secret::expose`] and nowhere
//! else: `Debug` and `Display` print `[REDACTED]`, and [`Secret::scrub`]
//! removes the key from any text (an error body that echoes it) before that
//! text reaches an error or a log.

use std::fmt;

/// An API key or other credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The credential itself, for a request header. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the credential replaced by `[REDACTED]`.
    pub fn scrub(&self, text: &str) -> String {
        if self.0.len() < 4 {
            // Replacing a tiny "key" would mangle unrelated text; a real
            // key is never this short.
            return text.to_string();
        }
        text.replace(&self.0, REDACTED)
    }
}

const REDACTED: &str = "[REDACTED]";

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new("sk-live-1234567890");
        assert_eq!(format!("{s:?}"), "[REDACTED]");
        assert_eq!(format!("{s}"), "[REDACTED]");
        assert_eq!(format!("{:?}", Some(&s)), "Some([REDACTED])");
        assert_eq!(s.expose(), "sk-live-1234567890");
    }

    #[test]
    fn scrub_removes_the_key_from_text() {
        let s = Secret::new("sk-live-1234567890");
        assert_eq!(
            s.scrub("invalid key sk-live-1234567890 (sk-live-1234567890)"),
            "invalid key [REDACTED] ([REDACTED])"
        );
    }
}
