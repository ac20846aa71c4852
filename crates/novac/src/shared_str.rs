//! [`SharedStr`]: the strings of scan results (rule names, variable names,
//! fail-closed warnings), shared with the compiled rules.
//!
//! A gateway scans every prompt with every rule, and a rule that fails
//! closed (no semantic evaluator, no LLM judge) reports on every scan. With
//! `String` fields, each report copied its rule name and warning text onto
//! the heap and freed them again: a fifth of the scan time on the public
//! rules. A `SharedStr` is a reference-counted pointer to text written once
//! when the rules are built, so a result costs no copy of it; it still
//! reads, compares and prints like a `String`.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// An immutable string that is cheap to clone (a reference count, no copy).
///
/// It dereferences to `str` and compares equal to `str`, `&str` and
/// `String`, so `result.rule == "MyRule"` and `result.rule.as_str()` work
/// as they would on a `String`; it serializes as a plain string.
///
/// ```
/// let name = novac::SharedStr::from("PromptInjection");
/// assert_eq!(name, "PromptInjection");
/// assert!(name.starts_with("Prompt"));
/// assert_eq!(name.to_string(), String::from("PromptInjection"));
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SharedStr(Arc<str>);

impl SharedStr {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for SharedStr {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for SharedStr {
    fn from(text: &str) -> SharedStr {
        SharedStr(text.into())
    }
}

impl From<String> for SharedStr {
    fn from(text: String) -> SharedStr {
        SharedStr(text.into())
    }
}

impl From<SharedStr> for String {
    fn from(text: SharedStr) -> String {
        text.0.to_string()
    }
}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<SharedStr> for str {
    fn eq(&self, other: &SharedStr) -> bool {
        self == &*other.0
    }
}

impl PartialEq<SharedStr> for &str {
    fn eq(&self, other: &SharedStr) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<SharedStr> for String {
    fn eq(&self, other: &SharedStr) -> bool {
        **self == *other.0
    }
}

impl serde::Serialize for SharedStr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_compares_and_serializes_like_a_string() {
        let name = SharedStr::from("Rule");
        let copy = name.clone();
        assert!(
            std::ptr::eq(name.as_str(), copy.as_str()),
            "a clone shares the text"
        );
        assert_eq!(name, "Rule");
        assert_eq!("Rule", name);
        assert_eq!(name, String::from("Rule"));
        assert_eq!(String::from("Rule"), name);
        assert_eq!(format!("{name} {name:?}"), "Rule \"Rule\"");
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"Rule\"");
        let set: std::collections::HashSet<SharedStr> = [name].into();
        assert!(set.contains("Rule"));
    }
}
