//! # codepipeline-approval-before-deploy
//!
//! A deployment must wait for a person: every deploy action has to be preceded by a manual
//! approval, in an earlier stage or earlier in the same stage (a lower `runOrder`). Without one,
//! any commit that reaches the source branch is deployed without review.
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: `deployStagePattern` (optional): a regular expression on stage names. When
//!   set, the actions of matching stages (any category) are the deployments that need approval,
//!   e.g. `(?i)prod` to let test environments deploy freely; when not set, every action of
//!   category Deploy needs one.
//!
//! | scenario | verdict |
//! |---|---|
//! | a manual approval stage before the deploy stage | COMPLIANT |
//! | an approval in the deploy stage with a lower runOrder | COMPLIANT |
//! | no approval before a deploy action | NON_COMPLIANT, naming the action |
//! | an approval in parallel with the deploy (same runOrder) | NON_COMPLIANT |
//! | `deployStagePattern` matches only a later, approved stage | COMPLIANT |
//! | no deploy action | COMPLIANT |

use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Rule, Severity, Verdict};
use regex::Regex;
use serde::Deserialize;

use crate::common::params::regex_param;
use crate::common::pipeline::{self, is_deploy, is_manual_approval};

pub const ID: &str = "codepipeline-approval-before-deploy";

#[derive(Debug)]
pub struct ApprovalBeforeDeploy;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "deployStagePattern", deserialize_with = "regex_param")]
    pub deploy_stage_pattern: Option<Regex>,
}

impl Rule for ApprovalBeforeDeploy {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::PipelineIntegrity;
    const WEIGHT: u32 = 5;
    const REMEDIATION: &'static str = "Add a manual approval action (category Approval, provider Manual) in a stage \
         before the deployment, or before it in the same stage with a lower runOrder.";
    const INPUTS: &'static [&'static str] =
        &["pipeline.stages.actions.actionTypeId", "pipeline.stages.actions.runOrder"];
    const PARAMETER_INPUTS: &'static [(&'static str, &'static str)] = &[("deployStagePattern", "pipeline.stages.name")];
    type Resource = PipelineConfiguration;
    type Params = Params;
    type Facts = ();

    fn evaluate(subject: &Subject<PipelineConfiguration>, (): &(), params: &Params) -> Verdict {
        let actions = pipeline::actions(&subject.resource.pipeline);
        let needs_approval = |staged: &pipeline::StagedAction<'_>| match &params.deploy_stage_pattern {
            Some(pattern) => pattern.is_match(staged.stage_name) && !is_manual_approval(staged.action),
            None => is_deploy(staged.action),
        };
        let deployments: Vec<_> = actions.iter().filter(|staged| needs_approval(staged)).collect();
        if deployments.is_empty() {
            return Verdict::compliant("the pipeline has no deployment that needs approval");
        }
        let approvals: Vec<_> =
            actions.iter().filter(|staged| is_manual_approval(staged.action)).map(|s| s.position).collect();
        let unapproved: Vec<String> = deployments
            .iter()
            .filter(|deploy| !approvals.iter().any(|approval| approval.precedes(deploy.position)))
            .map(|deploy| deploy.describe())
            .collect();
        if unapproved.is_empty() {
            Verdict::compliant("every deployment waits for a manual approval")
        } else {
            Verdict::non_compliant(format!("no manual approval before {}", unapproved.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::subject;

    fn params(pattern: Option<&str>) -> Params {
        Params { deploy_stage_pattern: pattern.map(|p| Regex::new(p).unwrap()) }
    }

    #[rstest]
    #[case::approval_stage_first("compliant-approval-stage", None, Compliance::Compliant)]
    #[case::approval_earlier_in_the_stage("compliant-approval-run-order", None, Compliance::Compliant)]
    #[case::no_approval("non-compliant-no-approval", None, Compliance::NonCompliant)]
    #[case::approval_in_parallel("non-compliant-parallel-approval", None, Compliance::NonCompliant)]
    #[case::only_prod_needs_approval("compliant-staging-then-approved-prod", Some("(?i)prod"), Compliance::Compliant)]
    #[case::all_deploys_need_approval("compliant-staging-then-approved-prod", None, Compliance::NonCompliant)]
    #[case::no_deploy("compliant-no-deploy", None, Compliance::Compliant)]
    fn scenario(#[case] fixture: &str, #[case] pattern: Option<&str>, #[case] expected: Compliance) {
        let verdict = ApprovalBeforeDeploy::evaluate(&subject(ID, fixture), &(), &params(pattern));
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[test]
    fn bad_pattern_is_a_parameter_error() {
        let err = pipesec_engine::params::parse::<Params>(Some(r#"{"deployStagePattern": "(prod"}"#)).unwrap_err();
        assert!(err.to_string().contains("`deployStagePattern`"), "{err}");
    }

    /// Perl classes and case folding are compiled in; Unicode property classes are not (package
    /// size), and a pattern that uses one is refused, not silently changed.
    #[test]
    fn unicode_properties_are_refused_perl_classes_kept() {
        let params = pipesec_engine::params::parse::<Params>(Some(r#"{"deployStagePattern": "(?i)^prod\\w*\\d$"}"#));
        assert!(params.unwrap().rule.deploy_stage_pattern.unwrap().is_match("PRODÉ1"));
        let err = pipesec_engine::params::parse::<Params>(Some(r#"{"deployStagePattern": "\\p{Greek}"}"#)).unwrap_err();
        assert!(err.to_string().contains("not a valid regular expression"), "{err}");
    }
}
