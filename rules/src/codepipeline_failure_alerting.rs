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
//!   whose event pattern matches every failure of this pipeline (see [`crate::event_pattern`]
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

use aws_sdk_codestarnotifications::types::{NotificationRuleStatus, TargetStatus};
use aws_sdk_eventbridge::types::RuleState;
use pipesec_shared::resources::PipelineConfiguration;
use pipesec_shared::rule::Subject;
use pipesec_shared::{Aws, NoParameters, Result, Rule, Severity, Verdict};

use crate::event_pattern::{FailureEvent, Match};

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
        let name =
            subject.resource.pipeline.name.as_deref().filter(|name| !name.is_empty()).unwrap_or(&item.resource_id);
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

/// Every notification rule of the account (ListNotificationRules, paged), each described.
async fn notification_rules(aws: &Aws) -> Result<Vec<NotificationRule>> {
    let mut arns = Vec::new();
    let mut token = None;
    loop {
        let page = aws
            .notifications()
            .list_notification_rules()
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|err| aws.error("codestar-notifications:ListNotificationRules", err))?;
        arns.extend(page.notification_rules().iter().filter_map(|rule| rule.arn().map(str::to_owned)));
        token = page.next_token().filter(|token| !token.is_empty()).map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let mut rules = Vec::with_capacity(arns.len());
    for arn in arns {
        let rule = aws
            .notifications()
            .describe_notification_rule()
            .arn(&arn)
            .send()
            .await
            .map_err(|err| aws.error("codestar-notifications:DescribeNotificationRule", err))?;
        rules.push(NotificationRule {
            name: rule.name().unwrap_or(&arn).to_owned(),
            resource: rule.resource().unwrap_or_default().to_owned(),
            enabled: rule.status() != Some(&NotificationRuleStatus::Disabled),
            event_types: rule.event_types().iter().filter_map(|kind| kind.event_type_id().map(str::to_owned)).collect(),
            targets: rule.targets().len(),
            active_targets: rule.targets().iter().filter(|t| t.target_status() == Some(&TargetStatus::Active)).count(),
        });
    }
    Ok(rules)
}

/// Every rule of the default event bus (ListRules, paged), with the number of targets of those
/// that are enabled and could match a CodePipeline failure.
async fn event_rules(aws: &Aws) -> Result<Vec<EventRule>> {
    let mut rules = Vec::new();
    let mut token = None;
    loop {
        let page = aws
            .eventbridge()
            .list_rules()
            .limit(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|err| aws.error("events:ListRules", err))?;
        rules.extend(page.rules().iter().map(|rule| EventRule {
            name: rule.name().unwrap_or_default().to_owned(),
            // ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS is enabled too.
            enabled: rule.state().is_some_and(|state| state != &RuleState::Disabled),
            pattern: rule.event_pattern().filter(|pattern| !pattern.is_empty()).map(str::to_owned),
            targets: None,
        }));
        token = page.next_token().filter(|token| !token.is_empty()).map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let any_pipeline = FailureEvent::default();
    for rule in &mut rules {
        let could_match = rule.pattern.as_deref().is_some_and(|pattern| any_pipeline.matched_by(pattern) != Match::No);
        if rule.enabled && could_match {
            rule.targets = Some(target_count(aws, &rule.name).await?);
        }
    }
    Ok(rules)
}

async fn target_count(aws: &Aws, rule: &str) -> Result<usize> {
    let mut count = 0;
    let mut token = None;
    loop {
        let page = aws
            .eventbridge()
            .list_targets_by_rule()
            .rule(rule)
            .limit(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|err| aws.error("events:ListTargetsByRule", err))?;
        count += page.targets().len();
        token = page.next_token().filter(|token| !token.is_empty()).map(str::to_owned);
        if token.is_none() {
            return Ok(count);
        }
    }
}

/// Every metric alarm of the account (DescribeAlarms, paged).
async fn alarms(aws: &Aws) -> Result<Vec<Alarm>> {
    let mut alarms = Vec::new();
    let mut token = None;
    loop {
        let page = aws
            .cloudwatch()
            .describe_alarms()
            .max_records(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|err| aws.error("cloudwatch:DescribeAlarms", err))?;
        for alarm in page.metric_alarms() {
            let query_dimensions = alarm
                .metrics()
                .iter()
                .filter_map(|query| query.metric_stat()?.metric())
                .flat_map(aws_sdk_cloudwatch::types::Metric::dimensions);
            let pipelines = alarm
                .dimensions()
                .iter()
                .chain(query_dimensions)
                .filter(|dimension| dimension.name() == Some(PIPELINE_DIMENSION))
                .filter_map(|dimension| dimension.value().map(str::to_owned))
                .collect();
            alarms.push(Alarm {
                name: alarm.alarm_name().unwrap_or_default().to_owned(),
                pipelines,
                actions_enabled: alarm.actions_enabled().unwrap_or(true),
                alarm_actions: alarm.alarm_actions().len(),
            });
        }
        token = page.next_token().filter(|token| !token.is_empty()).map(str::to_owned);
        if token.is_none() {
            return Ok(alarms);
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudwatch::Client as CloudWatch;
    use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
    use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricAlarm, MetricDataQuery, MetricStat};
    use aws_sdk_codestarnotifications::Client as Notifications;
    use aws_sdk_codestarnotifications::operation::describe_notification_rule::DescribeNotificationRuleOutput;
    use aws_sdk_codestarnotifications::operation::list_notification_rules::ListNotificationRulesOutput;
    use aws_sdk_codestarnotifications::types::{EventTypeSummary, NotificationRuleSummary, TargetSummary};
    use aws_sdk_eventbridge::Client as EventBridge;
    use aws_sdk_eventbridge::operation::list_rules::ListRulesOutput;
    use aws_sdk_eventbridge::operation::list_targets_by_rule::ListTargetsByRuleOutput;
    use aws_smithy_mocks::{Rule as MockRule, RuleMode, mock, mock_client};
    use pipesec_shared::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::subject;

    const ARN: &str = "arn:aws:codepipeline:us-east-1:123456789012:payments";
    const ON_FAILURE: &str = r#"{"source":["aws.codepipeline"],"detail-type":["CodePipeline Pipeline Execution State Change"],"detail":{"pipeline":["payments"],"state":["FAILED"]}}"#;
    const ANY_PIPELINE: &str = r#"{"source":["aws.codepipeline"],"detail-type":["CodePipeline Action Execution State Change"],"detail":{"state":["FAILED"]}}"#;
    const ONE_STAGE: &str = r#"{"source":["aws.codepipeline"],"detail-type":["CodePipeline Stage Execution State Change"],"detail":{"stage":["Deploy"],"state":["FAILED"]}}"#;
    const OTHER_SOURCE: &str = r#"{"source":["aws.codebuild"],"detail":{"build-status":["FAILED"]}}"#;

    fn notification(resource: &str, event_type: &str, active_targets: usize, enabled: bool) -> Alerting {
        Alerting {
            notification_rules: vec![NotificationRule {
                name: "payments-alerts".to_owned(),
                resource: resource.to_owned(),
                enabled,
                event_types: vec![event_type.to_owned()],
                targets: 1,
                active_targets,
            }],
            ..Alerting::default()
        }
    }

    fn event_rule(pattern: &str, enabled: bool, targets: usize) -> Alerting {
        Alerting {
            event_rules: vec![EventRule {
                name: "pipeline-failures".to_owned(),
                enabled,
                pattern: Some(pattern.to_owned()),
                targets: Some(targets),
            }],
            ..Alerting::default()
        }
    }

    fn alarm(pipeline: &str, actions_enabled: bool) -> Alerting {
        Alerting {
            alarms: vec![Alarm {
                name: "payments-failed".to_owned(),
                pipelines: vec![pipeline.to_owned()],
                actions_enabled,
                alarm_actions: 1,
            }],
            ..Alerting::default()
        }
    }

    const FAILED: &str = FAILURE_EVENT_TYPES[0];
    const SUCCEEDED: &str = "codepipeline-pipeline-pipeline-execution-succeeded";
    const OTHER_ARN: &str = "arn:aws:codepipeline:us-east-1:123456789012:billing";

    #[rstest]
    #[case::notification_on_failure(notification(ARN, FAILED, 1, true), Compliance::Compliant)]
    #[case::notification_on_success_only(notification(ARN, SUCCEEDED, 1, true), Compliance::NonCompliant)]
    #[case::notification_without_active_target(notification(ARN, FAILED, 0, true), Compliance::NonCompliant)]
    #[case::notification_disabled(notification(ARN, FAILED, 1, false), Compliance::NonCompliant)]
    #[case::notification_on_other_pipeline(notification(OTHER_ARN, FAILED, 1, true), Compliance::NonCompliant)]
    #[case::event_rule_on_pipeline(event_rule(ON_FAILURE, true, 1), Compliance::Compliant)]
    #[case::event_rule_on_every_pipeline(event_rule(ANY_PIPELINE, true, 2), Compliance::Compliant)]
    #[case::event_rule_disabled(event_rule(ON_FAILURE, false, 1), Compliance::NonCompliant)]
    #[case::event_rule_without_target(event_rule(ON_FAILURE, true, 0), Compliance::NonCompliant)]
    #[case::event_rule_one_stage_only(event_rule(ONE_STAGE, true, 1), Compliance::NonCompliant)]
    #[case::event_rule_other_source(event_rule(OTHER_SOURCE, true, 1), Compliance::NonCompliant)]
    #[case::alarm_on_pipeline(alarm("payments", true), Compliance::Compliant)]
    #[case::alarm_actions_disabled(alarm("payments", false), Compliance::NonCompliant)]
    #[case::alarm_on_other_pipeline(alarm("billing", true), Compliance::NonCompliant)]
    #[case::nothing(Alerting::default(), Compliance::NonCompliant)]
    fn scenario(#[case] alerting: Alerting, #[case] expected: Compliance) {
        let verdict = FailureAlerting::evaluate(&subject(ID, "pipeline"), &Arc::new(alerting), &NoParameters {});
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[test]
    fn annotation_says_what_was_looked_at_and_what_is_missing() {
        let mut alerting = event_rule(ON_FAILURE, false, 1);
        alerting.alarms = alarm("billing", true).alarms;
        let verdict = FailureAlerting::evaluate(&subject(ID, "pipeline"), &Arc::new(alerting), &NoParameters {});
        assert_eq!(
            verdict.reason,
            "nothing reports this pipeline's failures (looked at 0 notification rule(s), 1 EventBridge rule(s), \
             1 alarm(s)): EventBridge rule `pipeline-failures` is disabled"
        );
    }

    #[test]
    fn compliant_annotation_names_every_reporter() {
        let mut alerting = notification(ARN, FAILED, 1, true);
        alerting.alarms = alarm("payments", true).alarms;
        let verdict = FailureAlerting::evaluate(&subject(ID, "pipeline"), &Arc::new(alerting), &NoParameters {});
        assert_eq!(
            verdict.reason,
            "failures are reported by notification rule `payments-alerts`, alarm `payments-failed`"
        );
    }

    #[test]
    fn pipeline_without_arn_in_the_item_uses_the_metadata_arn() {
        let mut pipeline = subject::<PipelineConfiguration>(ID, "pipeline");
        pipeline.item.arn = None;
        let verdict =
            FailureAlerting::evaluate(&pipeline, &Arc::new(notification(ARN, FAILED, 1, true)), &NoParameters {});
        assert_eq!(verdict.compliance, Compliance::Compliant, "{}", verdict.reason);
    }

    /// ListNotificationRules in two pages, and DescribeNotificationRule.
    fn notification_mocks() -> (MockRule, MockRule) {
        let list = mock!(Notifications::list_notification_rules).then_compute_output(|request| {
            let (arn, next) = match request.next_token() {
                None => ("arn:aws:codestar-notifications:us-east-1:123456789012:notificationrule/one", Some("page-2")),
                Some("page-2") => ("arn:aws:codestar-notifications:us-east-1:123456789012:notificationrule/two", None),
                Some(other) => panic!("unexpected token {other}"),
            };
            ListNotificationRulesOutput::builder()
                .notification_rules(NotificationRuleSummary::builder().arn(arn).id(arn).build())
                .set_next_token(next.map(str::to_owned))
                .build()
        });
        let describe = mock!(Notifications::describe_notification_rule).then_compute_output(|request| {
            let arn = request.arn().unwrap();
            DescribeNotificationRuleOutput::builder()
                .arn(arn)
                .name(arn.rsplit('/').next().unwrap())
                .resource(ARN)
                .status(NotificationRuleStatus::Enabled)
                .event_types(EventTypeSummary::builder().event_type_id(FAILED).build())
                .targets(
                    TargetSummary::builder()
                        .target_address("arn:aws:sns:us-east-1:123456789012:alerts")
                        .target_type("SNS")
                        .target_status(TargetStatus::Active)
                        .build(),
                )
                .build()
                .unwrap()
        });
        (list, describe)
    }

    /// ListRules in two pages (one rule that cannot match), ListTargetsByRule in two pages.
    fn eventbridge_mocks() -> (MockRule, MockRule) {
        let rules = mock!(EventBridge::list_rules).then_compute_output(|request| {
            let rule = |name: &str, pattern: &str| {
                aws_sdk_eventbridge::types::Rule::builder()
                    .name(name)
                    .state(RuleState::Enabled)
                    .event_pattern(pattern)
                    .build()
            };
            match request.next_token() {
                None => ListRulesOutput::builder()
                    .rules(rule("pipeline-failures", ON_FAILURE))
                    .rules(rule("build-failures", OTHER_SOURCE))
                    .next_token("page-2")
                    .build(),
                Some(_) => ListRulesOutput::builder().rules(rule("any-pipeline", ANY_PIPELINE)).build(),
            }
        });
        let targets = mock!(EventBridge::list_targets_by_rule).then_compute_output(|request| {
            assert_ne!(request.rule(), Some("build-failures"), "a rule that cannot match is not read");
            let target = |id: &str| {
                aws_sdk_eventbridge::types::Target::builder()
                    .id(id)
                    .arn("arn:aws:sns:us-east-1:123456789012:alerts")
                    .build()
                    .unwrap()
            };
            match request.next_token() {
                None => ListTargetsByRuleOutput::builder().targets(target("one")).next_token("more").build(),
                Some(_) => ListTargetsByRuleOutput::builder().targets(target("two")).build(),
            }
        });
        (rules, targets)
    }

    /// DescribeAlarms in two pages, the second a metric-math alarm with actions disabled.
    fn alarm_mock() -> MockRule {
        mock!(CloudWatch::describe_alarms).then_compute_output(|request| {
            let dimension = |value: &str| Dimension::builder().name(PIPELINE_DIMENSION).value(value).build();
            match request.next_token() {
                None => DescribeAlarmsOutput::builder()
                    .metric_alarms(
                        MetricAlarm::builder()
                            .alarm_name("payments-failed")
                            .dimensions(dimension("payments"))
                            .alarm_actions("arn:aws:sns:us-east-1:123456789012:alerts")
                            .build(),
                    )
                    .next_token("page-2")
                    .build(),
                Some(_) => DescribeAlarmsOutput::builder()
                    .metric_alarms(
                        MetricAlarm::builder()
                            .alarm_name("billing-math")
                            .actions_enabled(false)
                            .metrics(
                                MetricDataQuery::builder()
                                    .id("m1")
                                    .metric_stat(
                                        MetricStat::builder()
                                            .metric(Metric::builder().dimensions(dimension("billing")).build())
                                            .build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            }
        })
    }

    /// Two pages of everything; the account's facts are read once for three pipelines.
    #[tokio::test]
    async fn gather_reads_the_account_once_and_follows_pages() {
        let (list, describe) = notification_mocks();
        let (rules, targets) = eventbridge_mocks();
        let alarms = alarm_mock();
        let aws = Aws {
            notifications: mock_client!(aws_sdk_codestarnotifications, RuleMode::MatchAny, [&list, &describe]).into(),
            eventbridge: mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&rules, &targets]).into(),
            cloudwatch: mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&alarms]).into(),
            ..Aws::new(&pipesec_shared::aws::test_sdk_config())
        };
        let pipelines: Vec<Subject<PipelineConfiguration>> = (0..3).map(|_| subject(ID, "pipeline")).collect();

        let facts = FailureAlerting::gather(&aws, &NoParameters {}, &pipelines).await.unwrap();

        assert_eq!(facts.len(), 3);
        assert!(Arc::ptr_eq(&facts[0], &facts[2]), "one read set shared by every pipeline");
        assert_eq!((list.num_calls(), describe.num_calls()), (2, 2));
        assert_eq!((rules.num_calls(), targets.num_calls()), (2, 4), "two rules that can match, two pages each");
        assert_eq!(alarms.num_calls(), 2);
        let alerting = &facts[0];
        assert_eq!(alerting.notification_rules[1].name, "two");
        assert_eq!(alerting.notification_rules[1].active_targets, 1);
        let targets: Vec<_> = alerting.event_rules.iter().map(|rule| (rule.name.as_str(), rule.targets)).collect();
        assert_eq!(targets, [("pipeline-failures", Some(2)), ("build-failures", None), ("any-pipeline", Some(2))]);
        assert_eq!(alerting.alarms[1].pipelines, ["billing"]);
        assert!(!alerting.alarms[1].actions_enabled);
        let verdict = FailureAlerting::evaluate(&pipelines[0], &facts[0], &NoParameters {});
        assert_eq!(verdict.compliance, Compliance::Compliant, "{}", verdict.reason);
    }

    #[tokio::test]
    async fn gather_reads_nothing_without_pipelines() {
        let list = mock!(Notifications::list_notification_rules)
            .then_output(|| ListNotificationRulesOutput::builder().build());
        let aws = Aws {
            notifications: mock_client!(aws_sdk_codestarnotifications, RuleMode::MatchAny, [&list]).into(),
            ..Aws::new(&pipesec_shared::aws::test_sdk_config())
        };
        assert!(FailureAlerting::gather(&aws, &NoParameters {}, &[]).await.unwrap().is_empty());
        assert_eq!(list.num_calls(), 0);
    }
}
