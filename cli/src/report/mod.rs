//! One report, five formats: a table for people at a terminal, JSON (docs/output.md), SARIF 2.1.0 for
//! code scanning, ASFF for Security Hub, and a self-contained HTML page.

mod asff;
mod html;
mod json;
mod sarif;
mod table;

use std::collections::BTreeMap;

use pipesec_engine::{Compliance, RuleInfo, Severity};
use serde_json::{Value, json};

use crate::args::{FailOn, Format};
use crate::error::Result;
use crate::input::Entry;
use crate::pipelines::{self, PipelineGroup};
use crate::runner::{Finding, sort};
use crate::score::Score;

/// The Well-Architected best practice the pack assesses.
pub const SEC11_BP07: &str = "SEC11-BP07";
pub const SEC11_BP07_URL: &str = "https://docs.aws.amazon.com/wellarchitected/latest/security-pillar/sec_appsec_regularly_assess_security_properties_of_pipelines.html";

/// What a run found.
#[derive(Debug, Clone)]
pub struct Report {
    /// `evaluate` or `scan-template`.
    pub command: &'static str,
    pub rules: Vec<RuleInfo>,
    /// By rule, then resource id.
    pub findings: Vec<Finding>,
    pub pipelines: Vec<PipelineGroup>,
    pub overall: Score,
    /// Resource types asked about that the run could not see: nothing of them was evaluated.
    pub unseen: Vec<Unseen>,
}

/// A resource type of a region that could not be seen, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unseen {
    pub region: String,
    pub resource_type: String,
    pub reason: String,
}

impl std::fmt::Display for Unseen {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} in {}: {}", self.resource_type, self.region, self.reason)
    }
}

/// Settings some formats need beyond the results.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// For ASFF, when results carry none (templates).
    pub account_id: Option<String>,
    pub region: Option<String>,
    /// Table: every result, not only findings.
    pub all: bool,
}

impl Report {
    pub fn new(command: &'static str, rules: Vec<RuleInfo>, entries: &[Entry], mut findings: Vec<Finding>) -> Self {
        sort(&mut findings);
        let pipelines = pipelines::groups(entries, &findings);
        let overall = Score::of(&findings);
        Report { command, rules, findings, pipelines, overall, unseen: Vec::new() }
    }

    /// Whether the results come from more than one account (`--aggregator`): the table and HTML
    /// formats then name each resource's account and region.
    pub fn spans_accounts(&self) -> bool {
        let mut accounts = self.findings.iter().filter_map(|finding| finding.account_id.as_deref());
        accounts.next().is_some_and(|first| accounts.any(|other| other != first))
    }

    pub fn rule(&self, id: &str) -> Option<&RuleInfo> {
        self.rules.iter().find(|rule| rule.id == id)
    }

    /// Findings (NON_COMPLIANT), most severe first, then by rule and resource.
    pub fn failures(&self) -> Vec<&Finding> {
        let mut failures: Vec<&Finding> = self.findings.iter().filter(|finding| finding.is_failure()).collect();
        failures.sort_by_key(|finding| std::cmp::Reverse(finding.severity));
        failures
    }

    pub fn count(&self, compliance: Compliance) -> usize {
        self.findings.iter().filter(|finding| finding.compliance == compliance).count()
    }

    /// Whether the run fails the gate: a finding at or above `fail_on`, or an overall score
    /// below `fail_under`.
    pub fn fails(&self, fail_on: FailOn, fail_under: Option<u8>) -> bool {
        let severe = fail_on.threshold().is_some_and(|threshold| {
            self.findings.iter().any(|finding| finding.is_failure() && finding.severity >= threshold)
        });
        let low = fail_under.is_some_and(|minimum| self.overall.score.is_some_and(|score| score < f64::from(minimum)));
        severe || low
    }

    /// The `summary` object of the JSON output.
    pub fn summary(&self) -> Value {
        let mut by_severity: BTreeMap<&str, usize> =
            [Severity::Critical, Severity::High, Severity::Medium, Severity::Low].map(|s| (s.as_str(), 0)).into();
        for finding in self.findings.iter().filter(|finding| finding.is_failure()) {
            *by_severity.entry(finding.severity.as_str()).or_default() += 1;
        }
        let pipelines: Vec<Value> = self
            .pipelines
            .iter()
            .map(|group| {
                json!({
                    "pipeline": group.name,
                    "accountId": group.pipeline.account_id,
                    "resourceId": group.pipeline.resource_id,
                    "region": group.pipeline.region,
                    "score": group.score.score,
                    "grade": group.score.grade.map(String::from),
                    "areas": group.score.areas,
                    "nonCompliant": group.score.failed,
                    "resources": group.members.iter().map(|member| json!({
                        "resourceType": member.resource_type,
                        "resourceId": member.resource_id,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "total": self.findings.len(),
            "compliant": self.count(Compliance::Compliant),
            "nonCompliant": self.count(Compliance::NonCompliant),
            "notApplicable": self.count(Compliance::NotApplicable),
            "nonCompliantBySeverity": by_severity,
            "score": self.overall.score,
            "grade": self.overall.grade.map(String::from),
            "areas": self.overall.areas,
            "pipelines": pipelines,
            "unseen": self.unseen.iter().map(|unseen| json!({
                "region": unseen.region,
                "resourceType": unseen.resource_type,
                "reason": unseen.reason,
            })).collect::<Vec<_>>(),
        })
    }

    pub fn render(&self, format: Format, options: &Options) -> Result<String> {
        match format {
            Format::Table => Ok(table::render(self, options)),
            Format::Json => Ok(json::render(self)),
            Format::Sarif => Ok(sarif::render(self)),
            Format::Asff => asff::render(self, options),
            Format::Html => Ok(html::render(self)),
        }
    }
}

/// `codebuild-project-not-public` → `CodeBuild project not public`, for titles.
pub fn title(rule_id: &str) -> String {
    let words: Vec<String> = rule_id
        .split('-')
        .enumerate()
        .map(|(index, word)| match word {
            "codebuild" => "CodeBuild".to_owned(),
            "codepipeline" => "CodePipeline".to_owned(),
            "cmk" | "vpc" | "s3" => word.to_uppercase(),
            _ if index == 0 => {
                let mut chars = word.chars();
                chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
            }
            _ => word.to_owned(),
        })
        .collect();
    words.join(" ")
}

/// A resource as people read it: its name, with the id in parentheses when the id is something
/// else (a CodeBuild project's `resourceId` is an opaque UUID; a template's is the logical id).
pub fn resource_label(finding: &Finding) -> String {
    let name = finding.display_name();
    if name == finding.resource_id { name.to_owned() } else { format!("{name} ({})", finding.resource_id) }
}

/// `account region` of a resource, as reports of several accounts show it.
pub fn place(account_id: Option<&str>, region: Option<&str>) -> String {
    format!("{} {}", account_id.unwrap_or("-"), region.unwrap_or("-"))
}

/// Stable, short fingerprint of text (FNV-1a 64), for identifiers that must not change between runs.
pub fn fingerprint(text: &str) -> String {
    let hash = text
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    format!("{hash:016x}")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::runner::Location;

    /// A small report: a pipeline with a privileged project (HIGH), a project with a secret
    /// (CRITICAL), a template finding, and passing and not-applicable results.
    pub fn sample() -> Report {
        let catalog = pipesec_rules::catalog();
        let base = |rule: &'static str, id: &str, compliance: Compliance, annotation: &str| Finding {
            rule,
            severity: catalog.iter().find(|r| r.id == rule).unwrap().severity,
            area: catalog.iter().find(|r| r.id == rule).unwrap().area,
            weight: catalog.iter().find(|r| r.id == rule).unwrap().weight,
            resource_type: "AWS::CodeBuild::Project".into(),
            resource_id: id.into(),
            resource_name: Some(id.into()),
            arn: Some(format!("arn:aws:codebuild:us-east-1:123456789012:project/{id}")),
            account_id: Some("123456789012".into()),
            region: Some("us-east-1".into()),
            compliance,
            annotation: Some(annotation.into()),
            location: None,
        };
        let mut template = base(
            "codebuild-project-cmk-encrypted",
            "Builder",
            Compliance::NonCompliant,
            "no encryptionKey: artifacts use the AWS managed key alias/aws/s3 <script>",
        );
        template.arn = None;
        template.location = Some(Location {
            file: "templates/build.yaml".into(),
            logical_id: Some("Builder".into()),
            property: Some("Properties.EncryptionKey".into()),
            line: Some(12),
            action: None,
        });
        let findings = vec![
            base(
                "codebuild-project-privileged-mode-disabled",
                "images",
                Compliance::NonCompliant,
                "privileged mode is enabled",
            ),
            // A project as Config records it: its id is opaque, its name is what people know.
            Finding {
                resource_id: "0e6c4a1d-5b7f-4c2e-9a8d-3f1b2c4d5e6f".into(),
                resource_name: Some("payments".into()),
                ..base(
                    "codebuild-project-no-plaintext-secrets",
                    "payments",
                    Compliance::NonCompliant,
                    "`DB_PASSWORD` (password)",
                )
            },
            base("codebuild-project-vpc-attached", "images", Compliance::Compliant, "builds run in a VPC"),
            base("codebuild-project-not-public", "images", Compliance::NotApplicable, "needs live reads"),
            template,
        ];
        let entries = crate::input::snapshot::items(&json!([
            {"resourceType": "AWS::CodePipeline::Pipeline", "resourceId": "release", "awsRegion": "us-east-1",
             "accountId": "123456789012",
             "configurationItemCaptureTime": "2026-11-20T09:15:42Z",
             "configuration": {"pipeline": {"name": "release", "stages": [{"name": "Build", "actions": [{"name": "b",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "images"}}]}]}}},
            {"resourceType": "AWS::CodeBuild::Project", "resourceId": "images", "resourceName": "images",
             "awsRegion": "us-east-1", "accountId": "123456789012", "configurationItemCaptureTime": "2026-11-20T09:15:42Z", "configuration": {"name": "images"}}
        ]))
        .unwrap()
        .into_iter()
        .map(|item| Entry { item, origin: crate::input::Origin::Account })
        .collect::<Vec<_>>();
        Report::new("evaluate", catalog, &entries, findings)
    }

    #[test]
    fn failures_come_most_severe_first() {
        let report = sample();
        let order: Vec<&str> = report.failures().iter().map(|f| f.severity.as_str()).collect();
        assert_eq!(order, ["CRITICAL", "HIGH", "LOW"]);
    }

    #[test]
    fn the_gate_follows_fail_on_and_fail_under() {
        let report = sample();
        assert!(report.fails(FailOn::Low, None));
        assert!(report.fails(FailOn::Critical, None));
        assert!(!report.fails(FailOn::None, None));
        let score = report.overall.score.unwrap();
        assert!(report.fails(FailOn::None, Some(100)), "score {score}");
        assert!(!report.fails(FailOn::None, Some(0)));
        let mut clean = report.clone();
        clean.findings.retain(|finding| finding.severity < Severity::High);
        assert!(!clean.fails(FailOn::High, None) && clean.fails(FailOn::Low, None));
    }

    #[test]
    fn pipelines_are_scored_on_their_own_resources() {
        let report = sample();
        let [release] = report.pipelines.as_slice() else { panic!("{:?}", report.pipelines) };
        assert_eq!(release.name, "release");
        // images: privileged fails (infrastructure 3), VPC passes (infrastructure 2): 40.
        assert_eq!((release.score.score, release.score.grade), (Some(40.0), Some('F')));
    }

    #[test]
    fn titles_read_as_words() {
        assert_eq!(title("codebuild-project-cmk-encrypted"), "CodeBuild project CMK encrypted");
        assert_eq!(title("codepipeline-approval-before-deploy"), "CodePipeline approval before deploy");
    }

    #[test]
    fn reports_of_several_accounts_name_each_resources_account() {
        let mut report = sample();
        assert!(!report.spans_accounts());
        let other = report.findings.iter_mut().find(|finding| finding.is_failure()).unwrap();
        other.account_id = Some("210987654321".into());
        assert!(report.spans_accounts());
        for page in [table::render(&report, &Options::default()), html::render(&report)] {
            assert!(page.contains("210987654321 us-east-1") && page.contains("123456789012 us-east-1"), "{page}");
        }
    }

    #[test]
    fn labels_show_the_id_where_it_differs_from_the_name() {
        let report = sample();
        let labels: Vec<String> = report.findings.iter().map(resource_label).collect();
        assert!(labels.contains(&"payments (0e6c4a1d-5b7f-4c2e-9a8d-3f1b2c4d5e6f)".to_owned()), "{labels:?}");
        assert!(labels.contains(&"images".to_owned()), "{labels:?}");
        let mut unnamed = report.findings[0].clone();
        unnamed.resource_name = None;
        assert_eq!(resource_label(&unnamed), unnamed.resource_id);
    }

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(fingerprint(""), "cbf29ce484222325");
        assert_eq!(fingerprint("a"), "af63dc4c8601ec8c");
    }
}
