//! The handler every rule binary runs: event in, evaluations reported, outcome out.

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

/// Rule `R` bound to the process's AWS clients. A function evaluates the account it runs in, with
/// its own execution role: there is no cross-account mode (docs/design.md, "Organization
/// deployment").
#[derive(Debug)]
pub struct Engine<R> {
    aws: Aws,
    rule: PhantomData<fn() -> R>,
}

impl<R: Rule> Handler for Engine<R> {
    const NAME: &'static str = R::ID;
    type Output = Outcome;
    type Error = Error;

    fn new(sdk_config: &SdkConfig) -> Self {
        Engine::with_clients(Aws::new(sdk_config))
    }

    /// Handles one Lambda event: parse, validate parameters (before any AWS call), evaluate,
    /// report.
    fn handle(&self, payload: Value) -> impl Future<Output = Result<Outcome>> + Send {
        self.try_handle(payload)
    }
}

impl<R: Rule> Engine<R> {
    pub fn with_clients(aws: Aws) -> Self {
        Engine { aws, rule: PhantomData }
    }

    async fn try_handle(&self, payload: Value) -> Result<Outcome> {
        let invocation = Invocation::from_value(payload)?;
        let params = params::parse::<R::Params>(invocation.rule_parameters.as_deref())?;
        let (evaluations, mut unreadable) = self.evaluate(&self.aws, &invocation, &params.rule).await?;
        put_evaluations(&self.aws, &invocation.result_token, &evaluations).await?;
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
