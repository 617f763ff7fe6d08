//! # codepipeline-security-scan-stage
//!
//! Something must check the code before it is deployed: a test or security scan action (category
//! Test, or an action or CodeBuild project whose name says it scans) has to run before the first
//! deploy action. SEC11-BP07 asks for security testing built into the pipeline itself, where it
//! cannot be skipped.
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: `scanActionPattern` (optional): a regular expression on action names and
//!   CodeBuild project names that marks scan actions; default
//!   `(?i)(scan|sast|dast|secur|audit|lint|trivy|snyk|checkov|sonar|semgrep|grype|inspector)`.
//!
//! | scenario | verdict |
//! |---|---|
//! | a Test action before the first deploy | COMPLIANT |
//! | a CodeBuild project named like a scanner before the first deploy | COMPLIANT |
//! | no test or scan action | NON_COMPLIANT |
//! | the only scan runs after (or alongside) the first deploy | NON_COMPLIANT |
//! | no deploy action | COMPLIANT |

use std::sync::LazyLock;

use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Rule, Severity, Verdict};
use regex::Regex;
use serde::Deserialize;

use crate::common::params::regex_param;
use crate::common::pipeline::{self, is_codebuild, is_deploy};

pub const ID: &str = "codepipeline-security-scan-stage";

static DEFAULT_SCAN_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new("(?i)(scan|sast|dast|secur|audit|lint|trivy|snyk|checkov|sonar|semgrep|grype|inspector)")
        .expect("valid pattern")
});

#[derive(Debug)]
pub struct SecurityScanStage;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "scanActionPattern", deserialize_with = "regex_param")]
    pub scan_action_pattern: Option<Regex>,
}

impl Rule for SecurityScanStage {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Medium;
    const AREA: Area = Area::PipelineIntegrity;
    const WEIGHT: u32 = 4;
    const REMEDIATION: &'static str = "Add a Test-category action (or a CodeBuild scan project) that runs before the first \
         deployment and fails the pipeline on findings.";
    const INPUTS: &'static [&'static str] = &[
        "pipeline.stages.actions.actionTypeId",
        "pipeline.stages.actions.runOrder",
        "pipeline.stages.actions.name",
        "pipeline.stages.actions.configuration.ProjectName",
    ];
    type Resource = PipelineConfiguration;
    type Params = Params;
    type Facts = ();

    fn evaluate(subject: &Subject<PipelineConfiguration>, (): &(), params: &Params) -> Verdict {
        let pattern = params.scan_action_pattern.as_ref().unwrap_or(&DEFAULT_SCAN_PATTERN);
        let actions = pipeline::actions(&subject.resource.pipeline);
        let Some(first_deploy) = actions.iter().find(|staged| is_deploy(staged.action)) else {
            return Verdict::compliant("the pipeline has no deploy action");
        };
        let is_scan = |staged: &&pipeline::StagedAction<'_>| {
            let action = staged.action;
            action.action_type_id.category().eq_ignore_ascii_case("Test")
                || pattern.is_match(&action.name)
                || (is_codebuild(action)
                    && action.configuration.get("ProjectName").is_some_and(|p| pattern.is_match(p)))
        };
        match actions.iter().filter(is_scan).find(|scan| scan.position.precedes(first_deploy.position)) {
            Some(scan) => {
                Verdict::compliant(format!("{} checks the code before the first deployment", scan.describe()))
            }
            None => Verdict::non_compliant(format!(
                "no test or security scan action runs before the first deployment ({})",
                first_deploy.describe()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::subject;

    #[rstest]
    #[case::test_stage_before_deploy("compliant-test-stage", None, Compliance::Compliant)]
    #[case::scanner_project_before_deploy("compliant-scan-project", None, Compliance::Compliant)]
    #[case::no_scan("non-compliant-no-scan", None, Compliance::NonCompliant)]
    #[case::scan_after_deploy("non-compliant-scan-after-deploy", None, Compliance::NonCompliant)]
    #[case::custom_pattern("non-compliant-no-scan", Some("(?i)^build$"), Compliance::Compliant)]
    #[case::no_deploy("compliant-no-deploy", None, Compliance::Compliant)]
    fn scenario(#[case] fixture: &str, #[case] pattern: Option<&str>, #[case] expected: Compliance) {
        let params = Params { scan_action_pattern: pattern.map(|p| Regex::new(p).unwrap()) };
        let verdict = SecurityScanStage::evaluate(&subject(ID, fixture), &(), &params);
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }
}
