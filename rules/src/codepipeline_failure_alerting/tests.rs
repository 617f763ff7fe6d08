//! The rule's scenarios, and its reads against mocked clients.

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
use pipesec_engine::Compliance;
use rstest::rstest;

use aws_sdk_codestarnotifications::types::{NotificationRuleStatus, TargetStatus};
use aws_sdk_eventbridge::types::RuleState;

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
    assert_eq!(verdict.reason, "failures are reported by notification rule `payments-alerts`, alarm `payments-failed`");
}

#[test]
fn pipeline_without_arn_in_the_item_uses_the_metadata_arn() {
    let mut pipeline = subject::<PipelineConfiguration>(ID, "pipeline");
    pipeline.item.arn = None;
    let verdict = FailureAlerting::evaluate(&pipeline, &Arc::new(notification(ARN, FAILED, 1, true)), &NoParameters {});
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
    let aws = Aws::for_tests()
        .with_notifications(mock_client!(aws_sdk_codestarnotifications, RuleMode::MatchAny, [&list, &describe]))
        .with_eventbridge(mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&rules, &targets]))
        .with_cloudwatch(mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&alarms]));
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
    let list =
        mock!(Notifications::list_notification_rules).then_output(|| ListNotificationRulesOutput::builder().build());
    let aws =
        Aws::for_tests().with_notifications(mock_client!(aws_sdk_codestarnotifications, RuleMode::MatchAny, [&list]));
    assert!(FailureAlerting::gather(&aws, &NoParameters {}, &[]).await.unwrap().is_empty());
    assert_eq!(list.num_calls(), 0);
}
