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
use pipesec_engine::{Area, Rule, Severity, Verdict, unknown};
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
    // A region unknown before deployment is one of the stage's other regions or a new one:
    // `evaluate` decides when both give the same verdict.
    const UNKNOWN_TOLERANT: &'static [&'static str] = &["pipeline.stages.actions.region"];
    type Resource = PipelineConfiguration;
    type Params = Params;
    type Facts = ();

    fn evaluate(subject: &Subject<PipelineConfiguration>, (): &(), params: &Params) -> Verdict {
        let factor = params.region_fanout_factor.unwrap_or(DEFAULT_FACTOR) as usize;
        let home = subject.item.aws_region.as_deref().unwrap_or("the pipeline's region");
        // Each stage reaches between `least` and `most` regions: a region unknown before
        // deployment may be one the stage already has, or a new one.
        let (mut earlier_least, mut earlier_most) = (0_usize, 0_usize);
        let (mut findings, mut undecided, mut intrinsics) = (Vec::new(), Vec::new(), BTreeSet::new());
        for (index, (stage, deploys)) in deployment_stages(&subject.resource.pipeline).iter().enumerate() {
            let regions = deploys.iter().map(|action| action_region(action, home));
            let known: BTreeSet<&str> = regions.clone().filter(|region| !unknown::is_unknown(region)).collect();
            let unknowns: Vec<&str> = regions.filter(|region| unknown::is_unknown(region)).collect();
            intrinsics.extend(unknowns.iter().filter_map(|region| unknown::intrinsic(region)));
            let least = known.len().max(usize::from(!unknowns.is_empty()));
            let most = known.len() + unknowns.len();
            let (allowed_least, allowed_most) =
                if index == 0 { (1, 1) } else { (earlier_least * factor, earlier_most * factor) };
            if least > allowed_most {
                let count = if least == most { least.to_string() } else { format!("at least {least}") };
                findings.push(format!("stage `{stage}` deploys to {count} regions (at most {allowed_most})"));
            } else if most > allowed_least {
                undecided.push(format!("stage `{stage}`"));
            }
            earlier_least += least;
            earlier_most += most;
        }
        if findings.is_empty() && !undecided.is_empty() {
            let intrinsics: Vec<&str> = intrinsics.into_iter().collect();
            return Verdict::not_applicable(format!(
                "the verdict of {} depends on regions unknown before deployment (`{}`)",
                undecided.join(", "),
                intrinsics.join("`, `")
            ));
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

    fn canary_actions(
        subject: &mut Subject<PipelineConfiguration>,
    ) -> &mut Vec<pipesec_engine::resources::codepipeline::Action> {
        &mut subject.resource.pipeline.stages.iter_mut().find(|s| s.name == "Canary").unwrap().actions
    }

    /// The gradual fixture with some regions unknown before deployment: (stage, action, region).
    fn with_regions(regions: &[(&str, usize, &str)]) -> Verdict {
        let mut subject: Subject<PipelineConfiguration> = subject(ID, "compliant-gradual");
        for &(stage, action, region) in regions {
            let stage = subject.resource.pipeline.stages.iter_mut().find(|s| s.name == stage).unwrap();
            stage.actions[action].region = Some(region.to_owned());
        }
        RegionFanoutCheck::evaluate(&subject, &(), &Params::default())
    }

    #[test]
    fn an_unknown_region_decides_nothing_only_where_it_could_change_the_verdict() {
        let region = pipesec_engine::unknown::placeholder("!Ref AWS::Region");
        // The first wave already has three known regions: one more or not, it is too many.
        let known = with_regions(&[("Canary", 0, "eu-central-1")]);
        assert_eq!(known.compliance, Compliance::Compliant, "{}", known.reason);
        // An unknown region in the first wave: two regions or three there, so the second wave
        // may deploy to 12 regions after 3 (allowed) or after 4 (not).
        let first = with_regions(&[("Wave1", 0, &region), ("Canary", 0, "us-east-1")]);
        assert_eq!(first.compliance, Compliance::NotApplicable, "{}", first.reason);
        assert!(
            first
                .reason
                .contains("verdict of stage `Wave2` depends on regions unknown before deployment (`!Ref AWS::Region`)"),
            "{}",
            first.reason
        );
        // Canary: one known and one unknown region: one region or two, compliant or not.
        let verdict = with_regions(&[("Canary", 0, &region)]);
        assert_eq!(
            verdict.compliance,
            Compliance::Compliant,
            "one unknown region alone is one region: {}",
            verdict.reason
        );
        let mut subject: Subject<PipelineConfiguration> = subject(ID, "compliant-gradual");
        let mut second = canary_actions(&mut subject)[0].clone();
        second.region = Some(region.clone());
        canary_actions(&mut subject).push(second);
        let undecided = RegionFanoutCheck::evaluate(&subject, &(), &Params::default());
        assert_eq!(undecided.compliance, Compliance::NotApplicable, "{}", undecided.reason);
        assert!(undecided.reason.contains("verdict of stage `Canary` depends"), "{}", undecided.reason);
        // Three known regions and an unknown one in the first deployment stage: too many, whatever it is.
        canary_actions(&mut subject)[0].region = Some("eu-west-1".into());
        for known in ["eu-west-2", "eu-central-1"] {
            let mut more = canary_actions(&mut subject)[0].clone();
            more.region = Some(known.into());
            canary_actions(&mut subject).push(more);
        }
        let decided = RegionFanoutCheck::evaluate(&subject, &(), &Params::default());
        assert_eq!(decided.compliance, Compliance::NonCompliant, "{}", decided.reason);
        assert!(decided.reason.contains("stage `Canary` deploys to at least 3 regions"), "{}", decided.reason);
    }
}
