//! What a rule decides about one resource: one of the three compliance values AWS Config
//! accepts from a custom rule, and the reason.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::rule::Severity;

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

    /// The verdict with its severity stated at the start of the reason (`severity MEDIUM: …`), for
    /// a rule whose findings differ in seriousness. Config stores only the annotation, so the
    /// severity travels in it; [`finding_severity`] reads it back. The annotation is cut at its
    /// end, so the statement survives.
    #[must_use]
    pub fn with_severity(self, severity: Severity) -> Self {
        Verdict { reason: format!("{SEVERITY_STATEMENT}{}: {}", severity.as_str(), self.reason), ..self }
    }

    /// NON_COMPLIANT listing every finding when there is any, otherwise COMPLIANT with
    /// `clean_reason`: a failing finding always dominates.
    pub fn from_findings(findings: &[String], clean_reason: impl Into<String>) -> Self {
        if findings.is_empty() { Verdict::compliant(clean_reason) } else { Verdict::non_compliant(findings.join("; ")) }
    }
}

const SEVERITY_STATEMENT: &str = "severity ";

/// The severity of a NON_COMPLIANT result: the one its annotation states
/// ([`Verdict::with_severity`]), never above the rule's `SEVERITY` (the highest the rule reports),
/// otherwise the rule's. The Security Hub function and the CLI's reports all use this.
pub fn finding_severity(rule_severity: Severity, annotation: Option<&str>) -> Severity {
    let stated = annotation.and_then(|text| text.strip_prefix(SEVERITY_STATEMENT)).and_then(|rest| {
        [Severity::Low, Severity::Medium, Severity::High, Severity::Critical]
            .into_iter()
            .find(|severity| rest.strip_prefix(severity.as_str()).is_some_and(|after| after.starts_with(": ")))
    });
    stated.map_or(rule_severity, |stated| stated.min(rule_severity))
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
    fn a_stated_severity_is_read_back_and_capped_by_the_rule() {
        let verdict = Verdict::non_compliant("DeletePipeline ×1").with_severity(Severity::Medium);
        assert_eq!(verdict.reason, "severity MEDIUM: DeletePipeline ×1");
        let long = Verdict::non_compliant("x".repeat(400)).with_severity(Severity::Low);
        let cut = annotation(&long.reason);
        assert_eq!(finding_severity(Severity::High, cut.as_deref()), Severity::Low);
        assert_eq!(finding_severity(Severity::Medium, Some("severity CRITICAL: x")), Severity::Medium);
        assert_eq!(finding_severity(Severity::High, Some("severity HIGHER: x")), Severity::High);
        assert_eq!(finding_severity(Severity::High, Some("privileged mode is enabled")), Severity::High);
        assert_eq!(finding_severity(Severity::Low, None), Severity::Low);
    }

    #[test]
    fn any_finding_makes_the_verdict_non_compliant() {
        let findings = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(Verdict::from_findings(&findings, "clean"), Verdict::non_compliant("a; b"));
        assert_eq!(Verdict::from_findings(&[], "clean"), Verdict::compliant("clean"));
    }
}
