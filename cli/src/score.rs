//! Scores and grades from SEC11-BP07's four areas, per pipeline and overall.
//!
//! Each rule belongs to one area with a weight ([`RULE_AREAS`], the one table; the README
//! shows the same). An area's score is the weight of the checks that passed over the weight
//! of those evaluated (NOT_APPLICABLE counts for nothing), in percent; the overall score is the
//! areas' scores weighted 25 / 30 / 30 / 15, over the areas that had anything to evaluate.
//! Grades: A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, else F.

use std::collections::{BTreeMap, BTreeSet};

use pipesec_shared::Compliance;
use serde::Serialize;

use crate::error::{CliError, Result};
use crate::evaluate::Finding;

/// SEC11-BP07's areas of a pipeline's security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Area {
    /// Where builds run: hosts, networks, isolation.
    Infrastructure,
    /// Who and what can read or act: credentials, secrets, visibility, roles.
    AccessControl,
    /// What runs and what comes out cannot be tampered with: build definitions, triggers, artifacts.
    PipelineIntegrity,
    /// What happened is recorded and kept.
    Monitoring,
}

impl Area {
    pub const ALL: [Area; 4] = [Area::Infrastructure, Area::AccessControl, Area::PipelineIntegrity, Area::Monitoring];

    /// The area's share of the overall score, in percent.
    pub fn weight(self) -> u32 {
        match self {
            Area::Infrastructure => 25,
            Area::AccessControl | Area::PipelineIntegrity => 30,
            Area::Monitoring => 15,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Area::Infrastructure => "infrastructure",
            Area::AccessControl => "access control",
            Area::PipelineIntegrity => "pipeline integrity",
            Area::Monitoring => "monitoring",
        }
    }
}

/// Every catalog rule's area and weight. A rule missing here, or an id here that is not in the
/// catalog, fails the tests (and a missing one is left out of scores at run time, with a warning).
pub const RULE_AREAS: &[(&str, Area, u32)] = &[
    ("codebuild-project-privileged-mode-disabled", Area::Infrastructure, 3),
    ("codebuild-project-vpc-attached", Area::Infrastructure, 2),
    ("codebuild-project-no-plaintext-secrets", Area::AccessControl, 5),
    ("codebuild-project-source-no-credentials", Area::AccessControl, 5),
    ("codebuild-project-not-public", Area::AccessControl, 4),
    ("codebuild-project-buildspec-protected", Area::PipelineIntegrity, 4),
    ("codebuild-project-webhook-filters-anchored", Area::PipelineIntegrity, 4),
    ("codebuild-project-artifacts-encrypted", Area::PipelineIntegrity, 3),
    ("codebuild-project-cmk-encrypted", Area::PipelineIntegrity, 1),
    ("codebuild-project-logging-enabled", Area::Monitoring, 3),
    ("codebuild-project-s3-logs-encrypted", Area::Monitoring, 2),
    ("codebuild-report-group-export-encrypted", Area::Monitoring, 1),
    ("codebuild-project-service-role-least-privilege", Area::AccessControl, 5),
    ("codepipeline-build-isolation", Area::Infrastructure, 3),
    ("codepipeline-deployment-count-check", Area::Infrastructure, 1),
    ("codepipeline-region-fanout-check", Area::Infrastructure, 1),
    ("codepipeline-source-authenticated", Area::AccessControl, 4),
    ("codepipeline-no-plaintext-secrets", Area::AccessControl, 5),
    ("codepipeline-service-role-least-privilege", Area::AccessControl, 5),
    ("codepipeline-approval-before-deploy", Area::PipelineIntegrity, 5),
    ("codepipeline-security-scan-stage", Area::PipelineIntegrity, 4),
    ("codepipeline-artifacts-cmk-encrypted", Area::PipelineIntegrity, 2),
    ("codepipeline-approval-notifications", Area::Monitoring, 1),
    ("codepipeline-failure-alerting", Area::Monitoring, 3),
    ("codepipeline-execution-anomalies", Area::Monitoring, 3),
];

/// A rule's area and weight.
pub fn area_of(rule: &str) -> Option<(Area, u32)> {
    RULE_AREAS.iter().find(|(id, ..)| *id == rule).map(|&(_, area, weight)| (area, weight))
}

/// Checks the table against the catalog: every rule scored, no unknown id, weights positive.
pub fn check_table(catalog: &[&str]) -> Result<()> {
    let table: BTreeSet<&str> = RULE_AREAS.iter().map(|(id, ..)| *id).collect();
    if table.len() != RULE_AREAS.len() {
        return Err(CliError::Runtime("the scoring table lists a rule twice".into()));
    }
    if let Some((id, ..)) = RULE_AREAS.iter().find(|(_, _, weight)| *weight == 0) {
        return Err(CliError::Runtime(format!("the scoring table gives {id} no weight")));
    }
    if let Some(id) = table.iter().find(|id| !catalog.contains(id)) {
        return Err(CliError::Runtime(format!("the scoring table names {id}, which is not in the catalog")));
    }
    if let Some(id) = catalog.iter().find(|id| !table.contains(*id)) {
        return Err(CliError::Runtime(format!("{id} has no area in the scoring table")));
    }
    Ok(())
}

/// Scores of a set of results.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Score {
    /// 0-100, one decimal; `None` when nothing could be evaluated.
    pub score: Option<f64>,
    pub grade: Option<char>,
    /// Each area's score (`None`: nothing of that area was evaluated).
    pub areas: BTreeMap<Area, Option<f64>>,
    pub passed: usize,
    pub failed: usize,
}

impl Score {
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        let mut totals: BTreeMap<Area, (u32, u32)> = BTreeMap::new();
        let (mut passed, mut failed) = (0, 0);
        for finding in findings {
            let Some((area, weight)) = area_of(finding.rule) else { continue };
            let (evaluated, good) = totals.entry(area).or_default();
            match finding.compliance {
                Compliance::Compliant => {
                    *evaluated += weight;
                    *good += weight;
                    passed += 1;
                }
                Compliance::NonCompliant => {
                    *evaluated += weight;
                    failed += 1;
                }
                Compliance::NotApplicable => {}
            }
        }
        let areas: BTreeMap<Area, Option<f64>> = Area::ALL
            .into_iter()
            .map(|area| {
                let score = totals
                    .get(&area)
                    .filter(|(evaluated, _)| *evaluated > 0)
                    .map(|(evaluated, good)| 100.0 * f64::from(*good) / f64::from(*evaluated));
                (area, score)
            })
            .collect();
        let (weighted, weights) = areas
            .iter()
            .filter_map(|(area, score)| score.map(|score| (score * f64::from(area.weight()), f64::from(area.weight()))))
            .fold((0.0, 0.0), |(sum, total), (value, weight)| (sum + value, total + weight));
        let score = (weights > 0.0).then(|| round1(weighted / weights));
        Score {
            score,
            grade: score.map(grade),
            areas: areas.into_iter().map(|(a, s)| (a, s.map(round1))).collect(),
            passed,
            failed,
        }
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, else F.
pub fn grade(score: f64) -> char {
    match score {
        s if s >= 90.0 => 'A',
        s if s >= 80.0 => 'B',
        s if s >= 70.0 => 'C',
        s if s >= 60.0 => 'D',
        _ => 'F',
    }
}

#[cfg(test)]
mod tests {
    use pipesec_shared::Severity;

    use super::*;

    fn finding(rule: &'static str, compliance: Compliance) -> Finding {
        Finding {
            rule,
            severity: Severity::High,
            resource_type: "AWS::CodeBuild::Project".into(),
            resource_id: "p".into(),
            resource_name: None,
            arn: None,
            account_id: None,
            region: None,
            compliance,
            annotation: None,
            location: None,
        }
    }

    #[test]
    fn every_catalog_rule_has_an_area_and_every_table_id_is_a_rule() {
        let catalog: Vec<&str> = pipesec_rules::catalog().iter().map(|rule| rule.id).collect();
        check_table(&catalog).unwrap();
        let err = check_table(&catalog[1..]).unwrap_err();
        assert!(err.to_string().contains("not in the catalog"), "{err}");
        let mut more = catalog.clone();
        more.push("codepipeline-new-rule");
        assert_eq!(
            check_table(&more).unwrap_err().to_string(),
            "codepipeline-new-rule has no area in the scoring table"
        );
    }

    #[test]
    fn the_readme_shows_the_same_table() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        let rows: Vec<&str> =
            readme.lines().filter(|line| line.starts_with("| `") && line.matches('|').count() == 4).collect();
        let expected: Vec<String> =
            RULE_AREAS.iter().map(|(id, area, weight)| format!("| `{id}` | {} | {weight} |", area.title())).collect();
        assert_eq!(rows, expected, "README's score table differs from RULE_AREAS");
        for area in Area::ALL {
            assert!(readme.contains(&format!("{} {}", area.title(), area.weight())), "README area weight of {area:?}");
        }
    }

    #[test]
    fn area_weights_sum_to_100() {
        assert_eq!(Area::ALL.iter().map(|area| area.weight()).sum::<u32>(), 100);
    }

    #[test]
    fn grades_follow_the_thresholds() {
        let grades: String = [100.0, 90.0, 89.9, 80.0, 70.0, 69.9, 60.0, 59.9, 0.0].map(grade).iter().collect();
        assert_eq!(grades, "AABBCDDFF");
    }

    #[test]
    fn areas_are_weighted_25_30_30_15_over_the_areas_evaluated() {
        // Infrastructure all good, access control all bad: (25 * 100 + 30 * 0) / 55.
        let findings = [
            finding("codebuild-project-privileged-mode-disabled", Compliance::Compliant),
            finding("codebuild-project-no-plaintext-secrets", Compliance::NonCompliant),
            finding("codebuild-project-not-public", Compliance::NotApplicable),
        ];
        let score = Score::of(&findings);
        assert_eq!(score.areas[&Area::Infrastructure], Some(100.0));
        assert_eq!(score.areas[&Area::AccessControl], Some(0.0));
        assert_eq!(score.areas[&Area::Monitoring], None);
        assert_eq!(score.score, Some(45.5));
        assert_eq!((score.grade, score.passed, score.failed), (Some('F'), 1, 1));
    }

    #[test]
    fn within_an_area_rules_count_by_weight() {
        // Pipeline integrity: buildspec (4) passes, cmk (1) fails: 80.
        let findings = [
            finding("codebuild-project-buildspec-protected", Compliance::Compliant),
            finding("codebuild-project-cmk-encrypted", Compliance::NonCompliant),
        ];
        let score = Score::of(&findings);
        assert_eq!((score.score, score.grade), (Some(80.0), Some('B')));
    }

    #[test]
    fn nothing_evaluated_has_no_score() {
        let score = Score::of(&[finding("codebuild-project-not-public", Compliance::NotApplicable)]);
        assert_eq!((score.score, score.grade), (None, None));
    }
}
