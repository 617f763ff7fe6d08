//! The account's alerting, read once per invocation: notification rules, EventBridge rules and
//! their targets, CloudWatch alarms.

use aws_sdk_codestarnotifications::types::{NotificationRuleStatus, TargetStatus};
use aws_sdk_eventbridge::types::RuleState;
use pipesec_engine::{Aws, Result};

use super::{Alarm, EventRule, NotificationRule, PIPELINE_DIMENSION};
use crate::common::event_pattern::{FailureEvent, Match};

/// Every notification rule of the account (ListNotificationRules, paged), each described.
pub(super) async fn notification_rules(aws: &Aws) -> Result<Vec<NotificationRule>> {
    let mut arns = Vec::new();
    let mut pages = aws.notifications().list_notification_rules().max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| aws.error("codestar-notifications:ListNotificationRules", err))?;
        arns.extend(page.notification_rules().iter().filter_map(|rule| rule.arn().map(str::to_owned)));
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

/// Every rule of the default event bus (ListRules, paged by hand: EventBridge's SDK has no
/// paginator for it, nor for ListTargetsByRule), with the number of targets of those
/// that are enabled and could match a CodePipeline failure.
pub(super) async fn event_rules(aws: &Aws) -> Result<Vec<EventRule>> {
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
pub(super) async fn alarms(aws: &Aws) -> Result<Vec<Alarm>> {
    let mut alarms = Vec::new();
    let mut pages = aws.cloudwatch().describe_alarms().max_records(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| aws.error("cloudwatch:DescribeAlarms", err))?;
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
    }
    Ok(alarms)
}
