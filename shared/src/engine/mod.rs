//! The handler every rule binary runs: event in, evaluations reported, outcome out.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::process::ExitCode;
use std::slice;

use aws_sdk_config::primitives::DateTime;
use aws_sdk_config::types::ResourceType;
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::Value;

use crate::aws::{Aws, load_sdk_config};
use crate::error::{Error, Result};
use crate::evaluation::{Evaluation, put_evaluations};
use crate::event::{Invocation, ItemSummary, Trigger};
use crate::item::{ConfigurationItem, ItemStatus};
use crate::rule::{Resource, Rule, Subject};
use crate::verdict::{Compliance, Verdict};
use crate::{logging, params, sweep};

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
    logging::init();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(rule = R::ID, error = %err, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let use_execution_role_arn = std::env::var(ASSUME_EXECUTION_ROLE_ARN_ENV).is_ok_and(|v| v == "true");
        let aws = Aws::new(&load_sdk_config().await);
        // The engine lives as long as the process; leaking it lets every invocation borrow it.
        let engine: &'static Engine<R> = Box::leak(Box::new(Engine::new(aws, use_execution_role_arn)));
        // Boxed: the handler's future nests every SDK call a rule makes, and laid out inline in
        // the runtime's future it goes past rustc's layout depth limit.
        lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| Box::pin(engine.handle(event.payload)))).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(rule = R::ID, error = %err, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// Rule `R` bound to the process's AWS clients.
#[derive(Debug)]
pub struct Engine<R> {
    /// The process's clients; roles to act as are assumed with its configuration.
    aws: Aws,
    use_execution_role_arn: bool,
    rule: PhantomData<fn() -> R>,
}

impl<R: Rule> Engine<R> {
    pub fn new(aws: Aws, use_execution_role_arn: bool) -> Self {
        Engine { aws, use_execution_role_arn, rule: PhantomData }
    }

    /// Handles one Lambda event: parse, validate parameters (before any AWS call), evaluate,
    /// report. Failures are logged once here and returned for Lambda (and Config) to see.
    pub async fn handle(&self, payload: Value) -> Result<Outcome> {
        let result = self.try_handle(payload).await;
        if let Err(err) = &result {
            tracing::error!(rule = R::ID, error_type = err.error_type(), error = %err, "invocation failed");
        }
        result
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
            None if self.use_execution_role_arn => invocation.execution_role_arn.clone(),
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
                if let Some(verdict) = not_applicable::<R>(&summary.resource_type, summary.status, left_scope) {
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
        let verdict = if let Some(verdict) = not_applicable::<R>(&item.resource_type, item.status, left_scope) {
            verdict
        } else {
            let subject = match Subject::from_item(item.clone()) {
                Ok(subject) => subject,
                Err(err) => return Ok(SingleResult::Unreadable(err)),
            };
            let facts = gathered::<R>(aws, params, slice::from_ref(&subject)).await?;
            R::evaluate(&subject, expect_one(&facts), params)
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
        let sweep::Subjects { current, subjects, unreadable } = sweep::subjects::<R::Resource>(aws).await?;
        let facts = gathered::<R>(aws, params, &subjects).await?;
        assert_eq!(facts.len(), subjects.len(), "{}::gather must return one Facts per subject", R::ID);
        let mut evaluations: Vec<Evaluation> = subjects
            .iter()
            .zip(&facts)
            .map(|(subject, facts)| {
                let verdict = R::evaluate(subject, facts, params);
                Evaluation::new(&subject.item.resource_type, &subject.item.resource_id, &verdict, notification_time)
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

fn expect_one<F>(facts: &[F]) -> &F {
    assert_eq!(facts.len(), 1, "gather must return one Facts per subject");
    &facts[0]
}

/// The rule's facts. The rule's future is boxed: its type nests every SDK call it awaits, and
/// without the box the whole handler's future type grows past the compiler's depth limit.
async fn gathered<R: Rule>(aws: &Aws, params: &R::Params, subjects: &[Subject<R::Resource>]) -> Result<Vec<R::Facts>> {
    Box::pin(R::gather(aws, params, subjects)).await
}

/// The NOT_APPLICABLE verdict for a resource the rule must not be called on, if it is one.
pub fn not_applicable<R: Rule>(resource_type: &str, status: ItemStatus, left_scope: bool) -> Option<Verdict> {
    if left_scope {
        Some(Verdict::not_applicable("the resource is no longer in the scope of this rule"))
    } else if status.is_gone() {
        Some(Verdict::not_applicable(format!("the resource is not recorded any more ({status:?})")))
    } else if resource_type != R::Resource::RESOURCE_TYPE {
        Some(Verdict::not_applicable(format!(
            "{} evaluates {}, not {resource_type}",
            R::ID,
            R::Resource::RESOURCE_TYPE
        )))
    } else {
        None
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
