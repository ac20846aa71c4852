//! The reference's warning texts: what a rule reports when it *fails
//! closed* (not matched, because a stage it needs could not run). Hosts and
//! the conformance tests compare these strings with `nova-hunting`'s
//! output, so they are kept word for word in this one place.
//!
//! Compile time uses the two "requires … evaluation" texts (each rule keeps
//! them ready, so a scan that needs one allocates nothing); the scanner's
//! semantic and LLM stages use the others. Each is one `format!`.

use std::fmt::Display;

/// A rule needs the semantic stage and there is no embedder or evaluator.
pub(crate) fn no_evaluator_warning(rule: &str) -> String {
    format!("Rule '{rule}' requires semantic evaluation, but no semantic evaluator is available.")
}

/// A rule needs the LLM stage and there is no judge.
pub(crate) fn no_judge_warning(rule: &str) -> String {
    format!("Rule '{rule}' requires LLM evaluation, but no LLM evaluator is available.")
}

/// The semantic stage failed for `rule` (`var`: its first semantic
/// variable, with its `$`).
pub(crate) fn semantic_errored(rule: &str, var: &str, error: &dyn Display) -> String {
    format!("Rule '{rule}' failed closed because semantics.{var} evaluation errored: {error}")
}

/// A [`crate::SemanticEvaluator`] returned another number of scores than phrases.
pub(crate) fn semantic_wrong_count(rule: &str) -> String {
    format!(
        "Rule '{rule}' failed closed because the semantic evaluator returned the wrong number of scores"
    )
}

/// An LLM call failed and the rule is not matched (the reference's behaviour).
pub(crate) fn llm_failed_closed(rule: &str, var: &str, error: &dyn Display) -> String {
    format!("Rule '{rule}' failed closed because llm.{var} evaluation errored: {error}")
}

/// An LLM call failed and [`crate::LlmFailurePolicy::Matched`] reports the rule as matched.
pub(crate) fn llm_reported_matched(rule: &str, var: &str, error: &dyn Display) -> String {
    format!("Rule '{rule}' reported as matched because llm.{var} evaluation errored: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_the_references() {
        assert_eq!(
            no_evaluator_warning("R"),
            "Rule 'R' requires semantic evaluation, but no semantic evaluator is available."
        );
        assert_eq!(
            no_judge_warning("R"),
            "Rule 'R' requires LLM evaluation, but no LLM evaluator is available."
        );
        assert_eq!(
            llm_failed_closed("R", "$v", &"boom"),
            "Rule 'R' failed closed because llm.$v evaluation errored: boom"
        );
        assert_eq!(
            semantic_errored("R", "$s", &"boom"),
            "Rule 'R' failed closed because semantics.$s evaluation errored: boom"
        );
    }
}
