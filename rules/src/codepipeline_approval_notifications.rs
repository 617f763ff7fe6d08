//! # codepipeline-approval-notifications
//!
//! Every manual approval must notify someone (`NotificationArn`, an SNS topic): an approval
//! nobody hears about either blocks releases or gets approved blindly by whoever happens to look.
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: none
//!
//! | scenario | verdict |
//! |---|---|
//! | every manual approval has a `NotificationArn` | COMPLIANT |
//! | a manual approval without one | NON_COMPLIANT, naming the action |
//! | no manual approval | COMPLIANT |

use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, NoParameters, Rule, Severity, Verdict};

use crate::common::pipeline::{self, is_manual_approval};

pub const ID: &str = "codepipeline-approval-notifications";

#[derive(Debug)]
pub struct ApprovalNotifications;

impl Rule for ApprovalNotifications {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Low;
    const AREA: Area = Area::Monitoring;
    const WEIGHT: u32 = 1;
    const REMEDIATION: &'static str =
        "Set NotificationArn on every manual approval action to an SNS topic the approvers subscribe to.";
    const INPUTS: &'static [&'static str] =
        &["pipeline.stages.actions.actionTypeId", "pipeline.stages.actions.configuration.NotificationArn"];
    // Only whether an approval has a topic counts.
    const UNKNOWN_TOLERANT: &'static [&'static str] = &["pipeline.stages.actions.configuration.NotificationArn"];
    type Resource = PipelineConfiguration;
    type Params = NoParameters;
    type Facts = ();

    fn evaluate(subject: &Subject<PipelineConfiguration>, (): &(), _: &NoParameters) -> Verdict {
        let approvals: Vec<_> = pipeline::actions(&subject.resource.pipeline)
            .into_iter()
            .filter(|s| is_manual_approval(s.action))
            .collect();
        if approvals.is_empty() {
            return Verdict::compliant("the pipeline has no manual approval");
        }
        let silent: Vec<String> = approvals
            .iter()
            .filter(|staged| staged.action.configuration.get("NotificationArn").is_none_or(|arn| arn.trim().is_empty()))
            .map(pipeline::StagedAction::describe)
            .collect();
        if silent.is_empty() {
            Verdict::compliant("every manual approval notifies an SNS topic")
        } else {
            Verdict::non_compliant(format!("manual approval without NotificationArn: {}", silent.join(", ")))
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
    #[case::approval_notifies("compliant-notified", Compliance::Compliant)]
    #[case::no_approval("compliant-no-approval", Compliance::Compliant)]
    #[case::silent_approval("non-compliant-silent", Compliance::NonCompliant)]
    fn scenario(#[case] fixture: &str, #[case] expected: Compliance) {
        let verdict = ApprovalNotifications::evaluate(&subject(ID, fixture), &(), &NoParameters {});
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }
}
