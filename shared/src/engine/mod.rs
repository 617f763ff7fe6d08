//! The handler every rule binary runs: event in, evaluations reported, outcome out.

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use std::process::ExitCode;

use aws_config::SdkConfig;
use aws_sdk_config::primitives::DateTime;
use aws_sdk_config::types::ResourceType;
use serde::Serialize;
use serde_json::Value;

use crate::aws::Aws;
use crate::decide::{self, Prepared};
use crate::error::{Error, Result};
use crate::evaluation::{Evaluation, put_evaluations};
use crate::event::{Invocation, ItemSummary, Trigger};
use crate::item::ConfigurationItem;
use crate::lambda::{self, Handler};
use crate::rule::{Resource, Rule, Subject};
use crate::verdict::Compliance;
use crate::{params, sweep};

/// Set to `true` to act as the `executionRoleArn` AWS Config passes in the event (the role a
/// central deployment was told to use) when no `ExecutionRoleName` parameter is given.
pub const ASSUME_EXECUTION_ROLE_ARN_ENV: &str = "PIPESEC_ASSUME_EXECUTION_ROLE_ARN";

/// The AWS actions the engine itself calls for every rule: reporting, oversized items, sweeps.
pub const ENGINE_ACTIONS: &[&str] = &[
    "config:PutEvaluations",
    "config:GetResourceConfigHistory",
    "config:SelectResourceConfig",
    "config:GetComplianceDetailsByConfigRule",
];

/// What one invocation reported; the Lambda response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub rule: &'static str,
    pub evaluations: usize,
    pub compliant: usize,
    pub non_compliant: usize,
    pub not_applicable: usize,
}

impl Outcome {
    fn new(rule: &'static str, evaluations: &[Evaluation]) -> Self {
        let count = |compliance| evaluations.iter().filter(|e| e.compliance == compliance).count();
        Outcome {
            rule,
            evaluations: evaluations.len(),
            compliant: count(Compliance::Compliant),
            non_compliant: count(Compliance::NonCompliant),
            not_applicable: count(Compliance::NotApplicable),
        }
    }
}

/// Runs rule `R` as a Lambda function until the runtime stops it.
pub fn lambda_main<R: Rule>() -> ExitCode {
    lambda::run::<Engine<R>>()
}

/// Rule `R` bound to the process's AWS clients.
#[derive(Debug)]
pub struct Engine<R> {
    /// The process's clients; roles to act as are assumed with its configuration.
    aws: Aws,
    use_execution_role_arn: bool,
    rule: PhantomData<fn() -> R>,
}

impl<R: Rule> Handler for Engine<R> {
    const NAME: &'static str = R::ID;
    type Output = Outcome;
    type Error = Error;

    fn new(sdk_config: &SdkConfig) -> Self {
        let use_execution_role_arn = std::env::var(ASSUME_EXECUTION_ROLE_ARN_ENV).is_ok_and(|v| v == "true");
        Engine::with_clients(Aws::new(sdk_config), use_execution_role_arn)
    }

    /// Handles one Lambda event: parse, validate parameters (before any AWS call), evaluate,
    /// report.
    fn handle(&self, payload: Value) -> impl Future<Output = Result<Outcome>> + Send {
        self.try_handle(payload)
    }
}

impl<R: Rule> Engine<R> {
    pub fn with_clients(aws: Aws, use_execution_role_arn: bool) -> Self {
        Engine { aws, use_execution_role_arn, rule: PhantomData }
    }

    async fn try_handle(&self, payload: Value) -> Result<Outcome> {
        let invocation = Invocation::from_value(payload)?;
        let params = params::parse::<R::Params>(invocation.rule_parameters.as_deref())?;
        let aws = self.aws_for(&invocation, params.execution_role_name.as_deref()).await?;
        let (evaluations, mut unreadable) = self.evaluate(&aws, &invocation, &params.rule).await?;
        put_evaluations(&aws, &invocation.result_token, &evaluations).await?;
        for evaluation in &evaluations {
            tracing::info!(
                rule = R::ID,
                config_rule = %invocation.rule_name,
                resource_type = %evaluation.resource_type,
                resource_id = %evaluation.resource_id,
                compliance = %evaluation.compliance,
                annotation = evaluation.annotation.as_deref().unwrap_or_default(),
                "evaluation reported"
            );
        }
        match unreadable.len() {
            0 => Ok(Outcome::new(R::ID, &evaluations)),
            1 => Err(unreadable.remove(0)),
            _ => Err(Error::UnreadableItems(unreadable)),
        }
    }

    /// The clients to use: the process's own, or those of the role to act as in the
    /// evaluated account.
    async fn aws_for(&self, invocation: &Invocation, role_name: Option<&str>) -> Result<Cow<'_, Aws>> {
        let role_arn = match role_name {
            Some(name) => {
                let account = invocation.account_id.as_deref().filter(|id| !id.is_empty()).ok_or_else(|| {
                    Error::InvalidEvent("`accountId` is missing; it is needed to assume ExecutionRoleName".to_owned())
                })?;
                Some(format!("arn:{}:iam::{account}:role/{name}", invocation.partition()))
            }
            None if self.use_execution_role_arn => {
                let role_arn = invocation.execution_role_arn.clone();
                // Config names the role for the evaluated account; a role of another account
                // would read (and report for) an account the event is not about.
                let role_account = role_arn.as_deref().and_then(|arn| arn.split(':').nth(4));
                let event_account = invocation.account_id.as_deref().filter(|id| !id.is_empty());
                if role_arn.is_some() && (role_account.is_none() || role_account != event_account) {
                    return Err(Error::InvalidEvent(format!(
                        "`executionRoleArn` is not a role of the event's account {}: refused to assume it",
                        event_account.unwrap_or("(missing)")
                    )));
                }
                role_arn
            }
            None => None,
        };
        match role_arn {
            Some(role_arn) => Ok(Cow::Owned(Aws::assume_role(&self.aws.sdk_config, &role_arn).await?)),
            // Lent, not cloned: a clone would build its own clients.
            None => Ok(Cow::Borrowed(&self.aws)),
        }
    }

    /// The evaluations to report, and the items that could not be read.
    async fn evaluate(
        &self,
        aws: &Aws,
        invocation: &Invocation,
        params: &R::Params,
    ) -> Result<(Vec<Evaluation>, Vec<Error>)> {
        let left_scope = invocation.event_left_scope;
        match &invocation.trigger {
            Trigger::Change(item) => {
                Ok(self.evaluate_item(aws, params, item, left_scope, item.capture_time).await?.into())
            }
            Trigger::OversizedChange(summary) => {
                if let Some(verdict) = decide::not_applicable::<R>(&summary.resource_type, summary.status, left_scope) {
                    let evaluation =
                        Evaluation::new(&summary.resource_type, &summary.resource_id, &verdict, summary.capture_time);
                    return Ok((vec![evaluation], Vec::new()));
                }
                let item = fetch_item(aws, summary).await?;
                // Ordered by the notification's capture time, like the change it reports.
                Ok(self.evaluate_item(aws, params, &item, false, summary.capture_time).await?.into())
            }
            Trigger::Scheduled { notification_time } => {
                self.sweep(aws, params, &invocation.rule_name, *notification_time).await
            }
        }
    }

    async fn evaluate_item(
        &self,
        aws: &Aws,
        params: &R::Params,
        item: &ConfigurationItem,
        left_scope: bool,
        ordering_timestamp: DateTime,
    ) -> Result<SingleResult> {
        let verdict = match decide::prepare::<R>(item.clone(), left_scope) {
            Prepared::NotApplicable(verdict) => verdict,
            Prepared::Subject(subject) => decide::verdict::<R>(aws, params, &subject).await?,
            Prepared::Unreadable(err) => return Ok(SingleResult::Unreadable(err)),
        };
        let evaluation = Evaluation::new(&item.resource_type, &item.resource_id, &verdict, ordering_timestamp);
        Ok(SingleResult::Evaluated(evaluation))
    }

    async fn sweep(
        &self,
        aws: &Aws,
        params: &R::Params,
        rule_name: &str,
        notification_time: DateTime,
    ) -> Result<(Vec<Evaluation>, Vec<Error>)> {
        let sweep::Inventory { current, rows: subjects, unreadable } =
            sweep::inventory::<Subject<R::Resource>>(aws, R::Resource::RESOURCE_TYPE).await?;
        let verdicts = decide::verdicts::<R>(aws, params, &subjects).await?;
        let mut evaluations: Vec<Evaluation> = subjects
            .iter()
            .zip(&verdicts)
            .map(|(subject, verdict)| {
                Evaluation::new(&subject.item.resource_type, &subject.item.resource_id, verdict, notification_time)
            })
            .collect();
        if unreadable.is_empty() {
            evaluations.extend(sweep::stale_results(aws, rule_name, &current, notification_time).await?);
        } else {
            // An item that could not be read may still exist: marking stale results now could
            // wrongly clear it. The invocation fails and Config's retry cleans up.
            tracing::warn!(rule = R::ID, unreadable = unreadable.len(), "stale-result clean-up skipped");
        }
        Ok((evaluations, unreadable))
    }
}

/// The result for the one resource of a change notification.
enum SingleResult {
    Evaluated(Evaluation),
    Unreadable(Error),
}

impl From<SingleResult> for (Vec<Evaluation>, Vec<Error>) {
    fn from(result: SingleResult) -> Self {
        match result {
            SingleResult::Evaluated(evaluation) => (vec![evaluation], Vec::new()),
            SingleResult::Unreadable(err) => (Vec::new(), vec![err]),
        }
    }
}

/// The item an oversized notification is about, from the configuration history.
async fn fetch_item(aws: &Aws, summary: &ItemSummary) -> Result<ConfigurationItem> {
    let output = aws
        .config()
        .get_resource_config_history()
        .resource_type(ResourceType::from(summary.resource_type.as_str()))
        .resource_id(&summary.resource_id)
        .later_time(summary.capture_time)
        .limit(1)
        .send()
        .await
        .map_err(|err| aws.error("config:GetResourceConfigHistory", err))?;
    let item = output.configuration_items().first().ok_or_else(|| Error::ItemNotFound {
        resource_type: summary.resource_type.clone(),
        resource_id: summary.resource_id.clone(),
    })?;
    ConfigurationItem::from_history(item)
}

#[cfg(test)]
mod tests;
