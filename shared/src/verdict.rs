//! What a rule decides about one resource: one of the three compliance values AWS Config
//! accepts from a custom rule, and the reason.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The compliance values `PutEvaluations` accepts. `INSUFFICIENT_DATA` is not one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compliance {
    Compliant,
    NonCompliant,
    NotApplicable,
}

impl Compliance {
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Compliant => "COMPLIANT",
            Compliance::NonCompliant => "NON_COMPLIANT",
            Compliance::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

impl fmt::Display for Compliance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule's decision: the compliance value and a sentence saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub compliance: Compliance,
    pub reason: String,
}

impl Verdict {
    pub fn compliant(reason: impl Into<String>) -> Self {
        Verdict { compliance: Compliance::Compliant, reason: reason.into() }
    }

    pub fn non_compliant(reason: impl Into<String>) -> Self {
        Verdict { compliance: Compliance::NonCompliant, reason: reason.into() }
    }

    pub fn not_applicable(reason: impl Into<String>) -> Self {
        Verdict { compliance: Compliance::NotApplicable, reason: reason.into() }
    }

    /// NON_COMPLIANT listing every finding when there is any, otherwise COMPLIANT with
    /// `clean_reason`: a failing finding always dominates.
    pub fn from_findings(findings: &[String], clean_reason: impl Into<String>) -> Self {
        if findings.is_empty() { Verdict::compliant(clean_reason) } else { Verdict::non_compliant(findings.join("; ")) }
    }
}

/// AWS Config's limit on an annotation, in characters.
pub const MAX_ANNOTATION_CHARS: usize = 256;

const TRUNCATION_MARK: &str = " […]";

/// The annotation for a reason: `None` when empty (Config rejects an empty annotation), cut to
/// [`MAX_ANNOTATION_CHARS`] with a visible mark when longer, never in the middle of a character.
pub fn annotation(reason: &str) -> Option<String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return None;
    }
    if reason.chars().count() <= MAX_ANNOTATION_CHARS {
        return Some(reason.to_owned());
    }
    let keep = MAX_ANNOTATION_CHARS - TRUNCATION_MARK.chars().count();
    let mut cut: String = reason.chars().take(keep).collect();
    cut.truncate(cut.trim_end().len());
    cut.push_str(TRUNCATION_MARK);
    Some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_reason_is_kept_verbatim() {
        assert_eq!(annotation("privileged mode is enabled").as_deref(), Some("privileged mode is enabled"));
    }

    #[test]
    fn empty_reason_has_no_annotation() {
        assert_eq!(annotation("  "), None);
    }

    #[test]
    fn exactly_the_limit_is_not_truncated() {
        let reason = "x".repeat(MAX_ANNOTATION_CHARS);
        assert_eq!(annotation(&reason), Some(reason));
    }

    #[test]
    fn long_reason_is_cut_visibly_within_the_limit() {
        let reason = "é".repeat(300);
        let cut = annotation(&reason).unwrap();
        assert_eq!(cut.chars().count(), MAX_ANNOTATION_CHARS);
        assert!(cut.ends_with("[…]"));
    }

    #[test]
    fn any_finding_makes_the_verdict_non_compliant() {
        let findings = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(Verdict::from_findings(&findings, "clean"), Verdict::non_compliant("a; b"));
        assert_eq!(Verdict::from_findings(&[], "clean"), Verdict::compliant("clean"));
    }
}
