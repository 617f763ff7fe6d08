//! # codepipeline-deployment-count-check
//!
//! Limit the blast radius of a bad release: the first deployment stage may deploy once, so a
//! broken change reaches one target before anything else; with `deploymentLimit`, every later
//! deployment stage may deploy at most that many times.
//! Parity: AWS Config's managed rule of the same name (same parameter): a deployment stage is a
//! stage with Deploy actions, its deployments are its Deploy actions.
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: `deploymentLimit` (optional): the most deploy actions each later deployment
//!   stage may have; not checked when not set.
//!
//! | scenario | verdict |
//! |---|---|
//! | first deployment stage deploys once | COMPLIANT |
//! | first deployment stage deploys twice | NON_COMPLIANT |
//! | a later stage deploys more than `deploymentLimit` | NON_COMPLIANT |
//! | a later stage deploys many times, no `deploymentLimit` | COMPLIANT |
//! | no deployment stage | COMPLIANT |

use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Rule, Severity, Verdict};
use serde::Deserialize;

use crate::common::pipeline::deployment_stages;

pub const ID: &str = "codepipeline-deployment-count-check";

#[derive(Debug)]
pub struct DeploymentCountCheck;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "deploymentLimit", deserialize_with = "pipesec_engine::params::whole_number")]
    pub deployment_limit: Option<u32>,
}

impl Rule for DeploymentCountCheck {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Low;
    const AREA: Area = Area::Infrastructure;
    const WEIGHT: u32 = 1;
    const REMEDIATION: &'static str = "Deploy to a single target in the first deployment stage, and split later stages so \
         each deploys to at most deploymentLimit targets.";
    const INPUTS: &'static [&'static str] = &["pipeline.stages.actions.actionTypeId"];
    type Resource = PipelineConfiguration;
    type Params = Params;
    type Facts = ();

    fn evaluate(subject: &Subject<PipelineConfiguration>, (): &(), params: &Params) -> Verdict {
        let stages = deployment_stages(&subject.resource.pipeline);
        let mut findings = Vec::new();
        for (index, (stage, deploys)) in stages.iter().enumerate() {
            let limit = if index == 0 { Some(1) } else { params.deployment_limit };
            if let Some(limit) = limit.filter(|limit| deploys.len() > *limit as usize) {
                let which = if index == 0 { "the first deployment stage" } else { "deployment stage" };
                findings.push(format!("{which} `{stage}` deploys {} times (at most {limit})", deploys.len()));
            }
        }
        Verdict::from_findings(
            &findings,
            format!("{} deployment stage(s) within their deployment limits", stages.len()),
        )
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::subject;

    #[rstest]
    #[case::first_stage_deploys_once("compliant-gradual", None, Compliance::Compliant)]
    #[case::first_stage_deploys_twice("non-compliant-first-stage", None, Compliance::NonCompliant)]
    #[case::later_stage_over_limit("compliant-gradual", Some(2), Compliance::NonCompliant)]
    #[case::later_stage_within_limit("compliant-gradual", Some(3), Compliance::Compliant)]
    #[case::no_deployment("compliant-no-deploy", Some(1), Compliance::Compliant)]
    fn scenario(#[case] fixture: &str, #[case] limit: Option<u32>, #[case] expected: Compliance) {
        let verdict = DeploymentCountCheck::evaluate(&subject(ID, fixture), &(), &Params { deployment_limit: limit });
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }
}
