//! The optional organization scorer: on a schedule, in the AWS Config delegated administrator
//! account, reads the aggregated compliance of the pipesec rules and the pipelines and projects of
//! every account and region through the organization's aggregator, and publishes the SEC11-BP07
//! score of every pipeline and of every account as CloudWatch metrics.
//!
//! The score is the command line's ([`pipesec_cli::score`]), over the same pipeline grouping
//! ([`pipesec_cli::pipelines`]) and the same reads ([`pipesec_cli::aggregator`]). What was not
//! evaluated is not scored: a pipeline or account without any verdict of a pipesec rule gets no
//! score metric (never 100), is counted in `PipelinesNotEvaluated` and logged with the reason.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use lambda_runtime::Diagnostic;
use pipesec_cli::aggregator;
use pipesec_cli::pipelines;
use pipesec_cli::runner::Finding;
use pipesec_cli::score::Score;
use pipesec_engine::resources::{CodeBuildProject, PipelineConfiguration};
use pipesec_engine::{Aws, Resource, RuleInfo};
use serde::Serialize;
use serde_json::Value;

/// The CloudWatch namespace of the scores.
pub const NAMESPACE: &str = "pipesec";
/// The environment variable naming the organization's aggregator (set by the template).
pub const AGGREGATOR_VARIABLE: &str = "PIPESEC_AGGREGATOR_NAME";
/// Metric names.
pub const PIPELINE_SCORE: &str = "PipelineScore";
pub const ACCOUNT_SCORE: &str = "AccountScore";
pub const PIPELINES_NOT_EVALUATED: &str = "PipelinesNotEvaluated";
/// PutMetricData takes at most 1,000 metrics a call.
const METRICS_PER_CALL: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Engine(#[from] pipesec_engine::Error),
    #[error("{AGGREGATOR_VARIABLE} is not set: the function does not know which aggregator to read")]
    NoAggregator,
    /// Compliance rows, pipelines or projects that could not be read: a score without them could
    /// be too high (a verdict missing, a project left out of its pipeline).
    #[error("{} aggregated row(s) could not be read; no score published: {}", .0.len(), .0.join("; "))]
    Unreadable(Vec<String>),
}

impl From<Error> for Diagnostic {
    fn from(err: Error) -> Self {
        let error_type = match &err {
            Error::Engine(inner) => inner.error_type(),
            Error::NoAggregator => "ConfigurationException",
            Error::Unreadable(_) => "InvalidConfigurationItemException",
        };
        Diagnostic { error_type: error_type.to_owned(), error_message: err.to_string() }
    }
}

/// A pipeline with no score, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotEvaluated {
    pub account: String,
    pub region: String,
    pub pipeline: String,
    pub reason: String,
}

/// What one run published: the Lambda response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub accounts_scored: usize,
    pub pipelines_scored: usize,
    pub metrics: usize,
    pub not_evaluated: Vec<NotEvaluated>,
}

/// The function's handler: the clients and the catalog, built once per process.
#[derive(Debug)]
pub struct Function {
    aws: Aws,
    aggregator: Option<String>,
    catalog: Vec<RuleInfo>,
}

impl pipesec_engine::Handler for Function {
    const NAME: &'static str = "pipesec-scorer";
    type Output = Outcome;
    type Error = Error;

    fn new(sdk_config: &aws_config::SdkConfig) -> Self {
        Function {
            aws: Aws::new(sdk_config),
            aggregator: std::env::var(AGGREGATOR_VARIABLE).ok().filter(|name| !name.is_empty()),
            catalog: pipesec_rules::catalog(),
        }
    }

    /// The scheduled event's content is not used: every run scores the whole organization.
    async fn handle(&self, _payload: Value) -> Result<Outcome, Error> {
        let aggregator = self.aggregator.as_deref().ok_or(Error::NoAggregator)?;
        let metrics = score(&self.aws, aggregator, &self.catalog).await?;
        publish(&self.aws, &metrics.data).await?;
        Ok(metrics.outcome)
    }
}

/// The metrics of one run, and what the run says about them.
#[derive(Debug)]
pub struct Metrics {
    pub data: Vec<MetricDatum>,
    pub outcome: Outcome,
}

/// Reads the organization's compliance and pipelines through `aggregator` and scores them.
pub async fn score(aws: &Aws, aggregator: &str, catalog: &[RuleInfo]) -> Result<Metrics, Error> {
    let (findings, mut unreadable) = aggregator::compliance(aws, aggregator, catalog).await?;
    let mut entries = Vec::new();
    for resource_type in [PipelineConfiguration::RESOURCE_TYPE, CodeBuildProject::RESOURCE_TYPE] {
        let (read, errors) =
            aggregator::inventory(aws, aggregator, resource_type, aggregator::PIPELINE_MEMBER_FIELDS).await?;
        entries.extend(read);
        unreadable.extend(errors);
    }
    if !unreadable.is_empty() {
        return Err(Error::Unreadable(unreadable.iter().map(ToString::to_string).collect()));
    }
    Ok(metrics(&pipelines::groups(&entries, &findings), &findings))
}

/// The metrics of pipeline groups and findings: a score per pipeline and per account where
/// anything was evaluated, and per account the number of pipelines that were not.
pub fn metrics(groups: &[pipelines::PipelineGroup], findings: &[Finding]) -> Metrics {
    let mut data = Vec::new();
    let mut not_evaluated = Vec::new();
    let mut accounts: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for finding in findings {
        if let Some(account) = finding.account_id.as_deref() {
            accounts.entry(account).or_default().push(finding);
        }
    }
    let mut unscored: BTreeMap<&str, f64> = BTreeMap::new();
    let mut pipelines_scored = 0;
    for group in groups {
        let (Some(account), Some(region)) = (group.pipeline.account_id.as_deref(), group.pipeline.region.as_deref())
        else {
            continue;
        };
        let count = unscored.entry(account).or_default();
        if let Some(score) = group.score.score {
            pipelines_scored += 1;
            data.push(datum(
                PIPELINE_SCORE,
                score,
                &[("Account", account), ("Region", region), ("Pipeline", &group.name)],
            ));
        } else {
            *count += 1.0;
            let reason = "no verdict of a pipesec rule on the pipeline or its projects in the aggregated compliance \
                          (rules not deployed there, not run yet, or the account's compliance not aggregated)";
            tracing::warn!(account, region, pipeline = %group.name, reason, "pipeline not scored");
            not_evaluated.push(NotEvaluated {
                account: account.to_owned(),
                region: region.to_owned(),
                pipeline: group.name.clone(),
                reason: reason.to_owned(),
            });
        }
    }
    let mut accounts_scored = 0;
    let known: BTreeSet<&str> = accounts.keys().chain(unscored.keys()).copied().collect();
    for account in known {
        if let Some(score) = Score::of(accounts.get(account).into_iter().flatten().copied()).score {
            accounts_scored += 1;
            data.push(datum(ACCOUNT_SCORE, score, &[("Account", account)]));
        } else {
            tracing::warn!(account, "account not scored: no pipesec rule evaluated any of its resources");
        }
    }
    for (account, count) in unscored {
        data.push(datum(PIPELINES_NOT_EVALUATED, count, &[("Account", account)]));
    }
    let outcome = Outcome { accounts_scored, pipelines_scored, metrics: data.len(), not_evaluated };
    Metrics { data, outcome }
}

fn datum(name: &str, value: f64, dimensions: &[(&str, &str)]) -> MetricDatum {
    let unit = if name == PIPELINES_NOT_EVALUATED { StandardUnit::Count } else { StandardUnit::None };
    MetricDatum::builder()
        .metric_name(name)
        .value(value)
        .unit(unit)
        .set_dimensions(Some(
            dimensions.iter().map(|(name, value)| Dimension::builder().name(*name).value(*value).build()).collect(),
        ))
        .build()
}

async fn publish(aws: &Aws, data: &[MetricDatum]) -> Result<(), Error> {
    for chunk in data.chunks(METRICS_PER_CALL) {
        aws.cloudwatch()
            .put_metric_data()
            .namespace(NAMESPACE)
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|err| aws.error("cloudwatch:PutMetricData", err))?;
    }
    tracing::info!(metrics = data.len(), namespace = NAMESPACE, "scores published");
    Ok(())
}

#[cfg(test)]
mod tests {
    use pipesec_cli::pipelines::{Member, PipelineGroup};
    use pipesec_engine::Compliance;

    use super::*;

    fn finding(account: &str, rule: &'static str, resource_id: &str, compliance: Compliance) -> Finding {
        let info = pipesec_rules::catalog().into_iter().find(|info| info.id == rule).unwrap();
        Finding {
            rule,
            severity: info.severity,
            area: info.area,
            weight: info.weight,
            resource_type: info.resource_type.into(),
            resource_id: resource_id.into(),
            resource_name: None,
            arn: None,
            account_id: Some(account.into()),
            region: Some("eu-west-1".into()),
            compliance,
            annotation: None,
            location: None,
        }
    }

    fn group(account: &str, name: &str, findings: &[Finding]) -> PipelineGroup {
        let pipeline = Member {
            account_id: Some(account.into()),
            region: Some("eu-west-1".into()),
            resource_type: PipelineConfiguration::RESOURCE_TYPE.into(),
            resource_id: name.into(),
        };
        let score = Score::of(findings.iter().filter(|finding| pipeline.holds(finding)));
        PipelineGroup { name: name.into(), pipeline: pipeline.clone(), members: vec![pipeline], score }
    }

    fn value(metrics: &Metrics, name: &str, dimension: &str) -> Option<f64> {
        metrics
            .data
            .iter()
            .find(|datum| {
                datum.metric_name() == Some(name)
                    && datum.dimensions().iter().any(|d| d.value() == Some(dimension) && d.name() != Some("Region"))
            })
            .and_then(MetricDatum::value)
    }

    #[test]
    fn scores_are_the_command_lines_and_unknown_is_not_scored() {
        let findings = [
            finding("111111111111", "codepipeline-approval-before-deploy", "release", Compliance::Compliant),
            finding("111111111111", "codepipeline-source-authenticated", "release", Compliance::NonCompliant),
            finding("222222222222", "codepipeline-approval-before-deploy", "other", Compliance::NotApplicable),
        ];
        let groups = [
            group("111111111111", "release", &findings),
            group("222222222222", "other", &findings),
            group("222222222222", "release", &findings),
        ];
        let metrics = metrics(&groups, &findings);
        let expected = Score::of(&findings[..2]).score.unwrap();
        assert_eq!(value(&metrics, PIPELINE_SCORE, "release"), Some(expected));
        assert_eq!(value(&metrics, ACCOUNT_SCORE, "111111111111"), Some(expected));
        // Account 2: one NOT_APPLICABLE verdict and nothing else: no score, two pipelines unscored.
        assert_eq!(value(&metrics, ACCOUNT_SCORE, "222222222222"), None);
        assert_eq!(value(&metrics, PIPELINES_NOT_EVALUATED, "222222222222"), Some(2.0));
        assert_eq!(value(&metrics, PIPELINES_NOT_EVALUATED, "111111111111"), Some(0.0));
        assert_eq!((metrics.outcome.accounts_scored, metrics.outcome.pipelines_scored), (1, 1));
        assert_eq!(metrics.outcome.not_evaluated.len(), 2);
    }
}
