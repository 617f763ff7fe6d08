//! # codepipeline-region-fanout-check
//!
//! Roll out region by region: the first deployment stage may deploy to one region, and each
//! later deployment stage to at most `regionFanoutFactor` times the regions all earlier
//! deployment stages reached together, so a bad release is caught before it is everywhere.
//! Parity: AWS Config's managed rule of the same name (same parameter, default 3: one region,
//! then 3, then 12).
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: `regionFanoutFactor` (optional, default 3).
//!
//! | scenario | verdict |
//! |---|---|
//! | 1 region, then 3, then 12 (factor 3) | COMPLIANT |
//! | the first deployment stage deploys to 2 regions | NON_COMPLIANT |
//! | the second stage deploys to 4 regions after 1 (factor 3) | NON_COMPLIANT |
//! | the same with factor 4 | COMPLIANT |
//! | actions without a region deploy to the pipeline's region | counted as such |

use std::collections::BTreeSet;

use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Rule, Severity, Verdict};
use serde::Deserialize;

use crate::common::pipeline::{action_region, deployment_stages};

pub const ID: &str = "codepipeline-region-fanout-check";

const DEFAULT_FACTOR: u32 = 3;

#[derive(Debug)]
pub struct RegionFanoutCheck;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "regionFanoutFactor", deserialize_with = "pipesec_engine::params::whole_number")]
    pub region_fanout_factor: Option<u32>,
}

impl Rule for RegionFanoutCheck {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Low;
    const AREA: Area = Area::Infrastructure;
    const WEIGHT: u32 = 1;
    const REMEDIATION: &'static str = "Deploy to one region first, then widen each later stage to at most \
         regionFanoutFactor times the regions already deployed.";
    const INPUTS: &'static [&'static str] = &["pipeline.stages.actions.actionTypeId", "pipeline.stages.actions.region"];
    type Resource = PipelineConfiguration;
    type Params = Params;
    type Facts = ();

    fn evaluate(subject: &Subject<PipelineConfiguration>, (): &(), params: &Params) -> Verdict {
        let factor = params.region_fanout_factor.unwrap_or(DEFAULT_FACTOR) as usize;
        let home = subject.item.aws_region.as_deref().unwrap_or("the pipeline's region");
        let mut earlier = 0_usize;
        let mut findings = Vec::new();
        for (index, (stage, deploys)) in deployment_stages(&subject.resource.pipeline).iter().enumerate() {
            let regions: BTreeSet<&str> = deploys.iter().map(|action| action_region(action, home)).collect();
            let allowed = if index == 0 { 1 } else { earlier * factor };
            if regions.len() > allowed {
                findings.push(format!("stage `{stage}` deploys to {} regions (at most {allowed})", regions.len()));
            }
            earlier += regions.len();
        }
        Verdict::from_findings(&findings, format!("deployments fan out by at most {factor}x per stage"))
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::subject;

    #[rstest]
    #[case::one_three_twelve("compliant-gradual", None, Compliance::Compliant)]
    #[case::first_stage_two_regions("non-compliant-first-stage", None, Compliance::NonCompliant)]
    #[case::second_stage_four_regions("non-compliant-fast-fanout", None, Compliance::NonCompliant)]
    #[case::wider_factor("non-compliant-fast-fanout", Some(4), Compliance::Compliant)]
    fn scenario(#[case] fixture: &str, #[case] factor: Option<u32>, #[case] expected: Compliance) {
        let verdict = RegionFanoutCheck::evaluate(&subject(ID, fixture), &(), &Params { region_fanout_factor: factor });
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }
}
