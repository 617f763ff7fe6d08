//! Scores and grades from SEC11-BP07's four areas, per pipeline and overall.
//!
//! Each rule declares its area and its weight within it (`Rule::AREA`, `Rule::WEIGHT`; the
//! README shows the same table, and a test checks it). An area's score is the weight of the checks that passed over the weight
//! of those evaluated (NOT_APPLICABLE counts for nothing), in percent; the overall score is the
//! areas' scores weighted 25 / 30 / 30 / 15, over the areas that had anything to evaluate.
//! Grades: A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, else F.

use std::collections::BTreeMap;

pub use pipesec_engine::Area;
use pipesec_engine::Compliance;
use serde::Serialize;

use crate::runner::Finding;

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
            let (area, weight) = (finding.area, finding.weight);
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
    use pipesec_engine::Severity;

    use super::*;

    fn finding(rule: &'static str, compliance: Compliance) -> Finding {
        let info = pipesec_rules::catalog().into_iter().find(|info| info.id == rule).unwrap();
        Finding {
            rule,
            severity: Severity::High,
            area: info.area,
            weight: info.weight,
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
    fn every_rule_weighs_something() {
        for rule in pipesec_rules::catalog() {
            assert!(rule.weight >= 1, "{} has no weight", rule.id);
        }
    }

    #[test]
    fn the_readme_shows_the_same_table() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        let mut rows: Vec<&str> =
            readme.lines().filter(|line| line.starts_with("| `") && line.matches('|').count() == 4).collect();
        rows.sort_unstable();
        let mut expected: Vec<String> = pipesec_rules::catalog()
            .iter()
            .map(|rule| format!("| `{}` | {} | {} |", rule.id, rule.area.title(), rule.weight))
            .collect();
        expected.sort_unstable();
        assert_eq!(rows, expected, "README's score table differs from the rules' AREA and WEIGHT");
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
