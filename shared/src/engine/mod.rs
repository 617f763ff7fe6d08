//! The handler every rule binary runs: event in, evaluations reported, outcome out.

use std::future::Future;
use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_config::primitives::DateTime;
use aws_sdk_config::types::ResourceType;
use serde::Serialize;
use serde_json::Value;

use crate::aws::Aws;
use crate::decide::{self, Prepared};
use crate::error::{Error, Result};
use crate::evaluation::{Evaluation, MAX_EVALUATIONS_PER_CALL, put_evaluations};
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
    /// Resources a periodic sweep left for the next one, its time running short: they keep
    /// their earlier results until then ([`crate::sweep`]).
    pub not_reached: usize,
}

impl Outcome {
    fn new(rule: &'static str) -> Self {
        Outcome { rule, evaluations: 0, compliant: 0, non_compliant: 0, not_applicable: 0, not_reached: 0 }
    }

    fn count(&mut self, evaluation: &Evaluation) {
        self.evaluations += 1;
        match evaluation.compliance {
            Compliance::Compliant => self.compliant += 1,
            Compliance::NonCompliant => self.non_compliant += 1,
            Compliance::NotApplicable => self.not_applicable += 1,
        }
    }
}

/// Evaluations on their way to Config: sent as soon as they fill a PutEvaluations call (so a
/// sweep stopped by its timeout keeps what it reported), the rest at the end; logged and counted.
struct Report<'a> {
    aws: &'a Aws,
    invocation: &'a Invocation,
    rule: &'static str,
    pending: Vec<Evaluation>,
    outcome: Outcome,
}

impl<'a> Report<'a> {
    fn new(aws: &'a Aws, invocation: &'a Invocation, rule: &'static str) -> Self {
        Report { aws, invocation, rule, pending: Vec::new(), outcome: Outcome::new(rule) }
    }

    async fn add(&mut self, evaluations: Vec<Evaluation>) -> Result<()> {
        self.pending.extend(evaluations);
        let full = self.pending.len() - self.pending.len() % MAX_EVALUATIONS_PER_CALL;
        if full > 0 {
            let batch: Vec<Evaluation> = self.pending.drain(..full).collect();
            self.send(&batch).await?;
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<Outcome> {
        let rest = std::mem::take(&mut self.pending);
        self.send(&rest).await?;
        Ok(self.outcome)
    }

    async fn send(&mut self, evaluations: &[Evaluation]) -> Result<()> {
        put_evaluations(self.aws, &self.invocation.result_token, evaluations).await?;
        for evaluation in evaluations {
            tracing::info!(
                rule = self.rule,
                config_rule = %self.invocation.rule_name,
                resource_type = %evaluation.resource_type,
                resource_id = %evaluation.resource_id,
                compliance = %evaluation.compliance,
                annotation = evaluation.annotation.as_deref().unwrap_or_default(),
                "evaluation reported"
            );
            self.outcome.count(evaluation);
        }
        Ok(())
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
        self.handle_until(payload, lambda::invocation_deadline())
    }
}

impl<R: Rule> Engine<R> {
    pub fn with_clients(aws: Aws) -> Self {
        Engine { aws, rule: PhantomData }
    }

    /// [`Handler::handle`], with the time Lambda gives the invocation (`None`: no limit).
    pub async fn handle_until(&self, payload: Value, deadline: Option<SystemTime>) -> Result<Outcome> {
        let invocation = Invocation::from_value(payload)?;
        let params = params::parse::<R::Params>(invocation.rule_parameters.as_deref())?;
        let aws = &self.aws;
        aws.start_invocation();
        let mut report = Report::new(aws, &invocation, R::ID);
        let left_scope = invocation.event_left_scope;
        let (mut unreadable, not_reached) = match &invocation.trigger {
            Trigger::Change(item) => {
                let result = self.evaluate_item(aws, &params.rule, item, left_scope, item.capture_time).await?;
                (report.single(result).await?, 0)
            }
            Trigger::OversizedChange(summary) => {
                if let Some(verdict) = decide::not_applicable::<R>(&summary.resource_type, summary.status, left_scope) {
                    let evaluation =
                        Evaluation::new(&summary.resource_type, &summary.resource_id, &verdict, summary.capture_time);
                    report.add(vec![evaluation]).await?;
                    (Vec::new(), 0)
                } else {
                    let item = fetch_item(aws, summary).await?;
                    // Ordered by the notification's capture time, like the change it reports.
                    let result = self.evaluate_item(aws, &params.rule, &item, false, summary.capture_time).await?;
                    (report.single(result).await?, 0)
                }
            }
            Trigger::Scheduled { notification_time } => {
                self.sweep(aws, &params.rule, &invocation.rule_name, *notification_time, deadline, &mut report).await?
            }
        };
        let mut outcome = report.finish().await?;
        outcome.not_reached = not_reached;
        match unreadable.len() {
            0 => Ok(outcome),
            1 => Err(unreadable.remove(0)),
            _ => Err(Error::UnreadableItems(unreadable)),
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

    /// Every resource of the rule's type, oldest-evaluated first, in chunks of
    /// [`Rule::SWEEP_CHUNK`] while the deadline allows; results of deleted resources cleared.
    /// Returns the items that could not be read and how many resources were not reached.
    async fn sweep(
        &self,
        aws: &Aws,
        params: &R::Params,
        rule_name: &str,
        notification_time: DateTime,
        deadline: Option<SystemTime>,
        report: &mut Report<'_>,
    ) -> Result<(Vec<Error>, usize)> {
        let sweep::Inventory { current, rows: mut subjects, unreadable } =
            sweep::inventory::<Subject<R::Resource>>(aws, R::Resource::RESOURCE_TYPE).await?;
        let previous = sweep::previous_results(aws, rule_name).await?;
        if unreadable.is_empty() {
            report.add(sweep::stale_results(&previous, &current, notification_time)).await?;
        } else {
            // An item that could not be read may still exist: marking stale results now could
            // wrongly clear it. The invocation fails and Config's retry cleans up.
            tracing::warn!(rule = R::ID, unreadable = unreadable.len(), "stale-result clean-up skipped");
        }
        sweep::oldest_first(&mut subjects, &previous, R::sweep_group);
        let chunk_size = R::SWEEP_CHUNK.map_or(subjects.len(), NonZeroUsize::get).max(1);
        let mut budget = sweep::Budget::new(deadline);
        let mut reached = 0;
        for end in sweep::chunk_ends(&subjects, chunk_size, R::sweep_group) {
            if reached > 0 && !budget.fits_another_chunk() {
                break;
            }
            let chunk = &subjects[reached..end];
            let started = Instant::now();
            let verdicts = decide::verdicts::<R>(aws, params, chunk).await?;
            let evaluations = chunk
                .iter()
                .zip(&verdicts)
                .map(|(subject, verdict)| {
                    Evaluation::new(&subject.item.resource_type, &subject.item.resource_id, verdict, notification_time)
                })
                .collect();
            report.add(evaluations).await?;
            budget.chunk_took(started.elapsed());
            reached = end;
        }
        let not_reached = subjects.len() - reached;
        if not_reached > 0 {
            tracing::warn!(
                rule = R::ID,
                reached,
                not_reached,
                "sweep stopped before the function's timeout; the next sweep starts with the resources not reached"
            );
        }
        Ok((unreadable, not_reached))
    }
}

/// The result for the one resource of a change notification.
enum SingleResult {
    Evaluated(Evaluation),
    Unreadable(Error),
}

impl Report<'_> {
    /// Reports the result of a change notification; its error when the item is unreadable.
    async fn single(&mut self, result: SingleResult) -> Result<Vec<Error>> {
        match result {
            SingleResult::Evaluated(evaluation) => {
                self.add(vec![evaluation]).await?;
                Ok(Vec::new())
            }
            SingleResult::Unreadable(err) => Ok(vec![err]),
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
