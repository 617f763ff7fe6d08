//! # codepipeline-failure-alerting
//!
//! Someone must hear about it when a pipeline fails: a failing security scan, a rejected deploy
//! or a pipeline broken on purpose goes unnoticed otherwise, and releases silently stop (or
//! someone "fixes" the pipeline by removing the check). A pipeline is covered by any of:
//!
//! - an AWS CodeStar Notifications rule (the console's "Notify" on a pipeline) on the pipeline's
//!   ARN, ENABLED, subscribed to a failure event type (`codepipeline-pipeline-pipeline-execution-failed`,
//!   `…-stage-execution-failed`, `…-action-execution-failed`), with at least one ACTIVE target;
//! - an EventBridge rule on the default bus (where AWS services deliver their events), ENABLED,
//!   whose event pattern matches every failure of this pipeline (see [`crate::common::event_pattern`]
//!   for the matchers understood and the limits), with at least one target;
//! - a CloudWatch metric alarm on a metric with the dimension `PipelineName` = the pipeline
//!   (directly or in a metric-math query), with actions enabled and at least one alarm action.
//!   The metric is not judged: any alarm scoped to the pipeline counts. Composite alarms are not
//!   followed.
//!
//! The account's notification rules, EventBridge rules (with the targets of those that can
//! match a CodePipeline failure at all) and alarms are read once per invocation, whatever the
//! number of pipelines, and every pipeline is judged against them.
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: configuration change (including oversized), and periodic sweep (a change to a
//!   notification rule, EventBridge rule or alarm does not notify the pipeline's rules)
//! - **Parameters**: none
//!
//! | scenario | verdict |
//! |---|---|
//! | notification rule on the pipeline, failure event, active target | COMPLIANT |
//! | notification rule on the pipeline for successes only | NON_COMPLIANT |
//! | notification rule on the pipeline whose targets are not active | NON_COMPLIANT |
//! | notification rule on another pipeline | NON_COMPLIANT |
//! | EventBridge rule matching the pipeline's failures, with a target | COMPLIANT |
//! | EventBridge rule matching every pipeline's failures (no `detail.pipeline`) | COMPLIANT |
//! | EventBridge rule matching failures, disabled or without target | NON_COMPLIANT |
//! | EventBridge rule matching only one stage's failures | NON_COMPLIANT |
//! | alarm on `PipelineName` = the pipeline, with an alarm action | COMPLIANT |
//! | alarm on the pipeline with actions disabled | NON_COMPLIANT |
//! | nothing at all | NON_COMPLIANT |

use std::sync::Arc;

use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, NoParameters, Result, Rule, Severity, Verdict};

use crate::common::event_pattern::{FailureEvent, Match};

mod readers;
use readers::{alarms, event_rules, notification_rules};

pub const ID: &str = "codepipeline-failure-alerting";

/// The CodeStar Notifications event types that report a failure.
pub const FAILURE_EVENT_TYPES: [&str; 3] = [
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-stage-execution-failed",
    "codepipeline-pipeline-action-execution-failed",
];
/// The CloudWatch dimension that scopes a metric to a pipeline.
pub const PIPELINE_DIMENSION: &str = "PipelineName";

#[derive(Debug)]
pub struct FailureAlerting;

/// A CodeStar Notifications rule, as DescribeNotificationRule tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationRule {
    pub name: String,
    /// The ARN of the resource it watches.
    pub resource: String,
    pub enabled: bool,
    pub event_types: Vec<String>,
    pub targets: usize,
    pub active_targets: usize,
}

/// An EventBridge rule on the default bus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventRule {
    pub name: String,
    pub enabled: bool,
    /// The event pattern (JSON text); `None` for scheduled rules.
    pub pattern: Option<String>,
    /// How many targets it has; `None` when not read (disabled, or no CodePipeline failure can
    /// match it).
    pub targets: Option<usize>,
}

/// A CloudWatch metric alarm.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Alarm {
    pub name: String,
    /// The values of every `PipelineName` dimension of its metric or metric-math queries.
    pub pipelines: Vec<String>,
    pub actions_enabled: bool,
    pub alarm_actions: usize,
}

/// What the account has that could report a pipeline failure: read once, shared by every
/// pipeline of the invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Alerting {
    pub notification_rules: Vec<NotificationRule>,
    pub event_rules: Vec<EventRule>,
    pub alarms: Vec<Alarm>,
}

/// The pipeline as the failure events and notification rules name it.
struct Target<'a> {
    name: &'a str,
    arn: Option<&'a str>,
    event: FailureEvent<'a>,
}

impl<'a> Target<'a> {
    fn of(subject: &'a Subject<PipelineConfiguration>) -> Self {
        let item = &subject.item;
        let name = subject.pipeline_name();
        let arn =
            item.arn.as_deref().or(subject.resource.metadata.pipeline_arn.as_deref()).filter(|arn| !arn.is_empty());
        let event = FailureEvent {
            pipeline: Some(name),
            arn,
            account: item.account_id.as_deref(),
            region: item.aws_region.as_deref(),
        };
        Target { name, arn, event }
    }
}

impl Rule for FailureAlerting {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Medium;
    const AREA: Area = Area::Monitoring;
    const WEIGHT: u32 = 3;
    const REMEDIATION: &'static str = "Create a notification rule on the pipeline for failed executions with an \
         SNS or chat target, or an EventBridge rule on CodePipeline execution failures with a target.";
    const READS: &'static [&'static str] = &[
        "codestar-notifications:ListNotificationRules",
        "codestar-notifications:DescribeNotificationRule",
        "events:ListRules",
        "events:ListTargetsByRule",
        "cloudwatch:DescribeAlarms",
    ];
    const PERIODIC: bool = true;
    const INPUTS: &'static [&'static str] = &["pipeline.name", "metadata.pipelineArn"];
    type Resource = PipelineConfiguration;
    type Params = NoParameters;
    type Facts = Arc<Alerting>;

    async fn gather(
        aws: &Aws,
        _: &NoParameters,
        subjects: &[Subject<PipelineConfiguration>],
    ) -> Result<Vec<Arc<Alerting>>> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let alerting = Arc::new(Alerting {
            notification_rules: notification_rules(aws).await?,
            event_rules: event_rules(aws).await?,
            alarms: alarms(aws).await?,
        });
        Ok(subjects.iter().map(|_| Arc::clone(&alerting)).collect())
    }

    fn evaluate(subject: &Subject<PipelineConfiguration>, alerting: &Arc<Alerting>, _: &NoParameters) -> Verdict {
        let target = Target::of(subject);
        let mut reporting = Vec::new();
        let mut near_misses = Vec::new();

        for rule in &alerting.notification_rules {
            if target.arn != Some(rule.resource.as_str()) {
                continue;
            }
            let on_failures = rule.event_types.iter().any(|id| FAILURE_EVENT_TYPES.contains(&id.as_str()));
            match (rule.enabled, on_failures, rule.active_targets) {
                (true, true, 1..) => reporting.push(format!("notification rule `{}`", rule.name)),
                (false, _, _) => near_misses.push(format!("notification rule `{}` is disabled", rule.name)),
                (_, false, _) => near_misses.push(format!("notification rule `{}` has no failure event", rule.name)),
                (_, _, 0) => near_misses.push(format!(
                    "notification rule `{}` has no active target ({} target(s))",
                    rule.name, rule.targets
                )),
            }
        }
        for rule in &alerting.event_rules {
            let Some(pattern) = &rule.pattern else { continue };
            match target.event.matched_by(pattern) {
                Match::No => {}
                Match::Some => {
                    near_misses.push(format!("EventBridge rule `{}` matches only some failures", rule.name));
                }
                Match::Yes if !rule.enabled => {
                    near_misses.push(format!("EventBridge rule `{}` is disabled", rule.name));
                }
                Match::Yes if rule.targets.unwrap_or(0) == 0 => {
                    near_misses.push(format!("EventBridge rule `{}` has no target", rule.name));
                }
                Match::Yes => reporting.push(format!("EventBridge rule `{}`", rule.name)),
            }
        }
        for alarm in alerting.alarms.iter().filter(|alarm| alarm.pipelines.iter().any(|p| p == target.name)) {
            if alarm.actions_enabled && alarm.alarm_actions > 0 {
                reporting.push(format!("alarm `{}`", alarm.name));
            } else {
                near_misses.push(format!("alarm `{}` has no enabled alarm action", alarm.name));
            }
        }

        if !reporting.is_empty() {
            return Verdict::compliant(format!("failures are reported by {}", reporting.join(", ")));
        }
        let looked_at = format!(
            "nothing reports this pipeline's failures (looked at {} notification rule(s), {} EventBridge rule(s), {} alarm(s))",
            alerting.notification_rules.len(),
            alerting.event_rules.len(),
            alerting.alarms.len()
        );
        if near_misses.is_empty() {
            Verdict::non_compliant(looked_at)
        } else {
            Verdict::non_compliant(format!("{looked_at}: {}", near_misses.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests;
