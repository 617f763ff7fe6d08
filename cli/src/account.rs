//! One account's regions: the SDK configuration, the resources (from Config's inventory or the
//! services, see [`crate::sources`]), and every selected rule with its live reads.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_config::config::{Credentials, SharedCredentialsProvider};
use futures_util::{StreamExt, TryStreamExt};
use indicatif::ProgressBar;
use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::{Aws, Resource};

use crate::args::Source;
use crate::error::Result;
use crate::input::{Entry, Origin};
use crate::runner::{Mode, Run, Selection, run_rule};
use crate::sources::{self, Recorder, Seen, TypeRead};

/// Rules evaluated at the same time against an account: each batches its own reads.
const CONCURRENT_RULES: usize = 4;

/// The SDK configuration for the account: the standard environment, with a region, endpoint
/// or credentials given on the command line. Retries: the pack's (throttling included), unless
/// `AWS_MAX_ATTEMPTS` says otherwise; timeouts: the pack's.
pub async fn sdk_config(
    region: Option<&str>,
    endpoint_url: Option<&str>,
    credentials: Option<Credentials>,
) -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).timeout_config(pipesec_engine::aws::timeout_config());
    if std::env::var_os("AWS_MAX_ATTEMPTS").is_none() {
        loader = loader.retry_config(pipesec_engine::aws::retry_config());
    }
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    if let Some(endpoint_url) = endpoint_url {
        loader = loader.endpoint_url(endpoint_url);
    }
    if let Some(credentials) = credentials {
        loader = loader.credentials_provider(SharedCredentialsProvider::new(credentials));
    }
    loader.load().await
}

/// How one resource type of one region was read, or why it was not seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub region: String,
    pub resource_type: &'static str,
    /// Whether a selected rule evaluates the type (pipelines are read anyway, to group results).
    pub asked: bool,
    pub seen: Seen,
}

/// Who the command line acts as, in error messages.
const PRINCIPAL: &str = "the credentials pipesec runs with";

/// One region of the account: each resource type once, from where `source` says (pipelines too,
/// to group results), then every rule with its live reads, a few rules at a time.
pub async fn evaluate_account(
    config: &SdkConfig,
    selection: &Selection,
    source: Source,
    progress: &ProgressBar,
) -> Result<(Vec<Entry>, Run, Vec<Coverage>)> {
    let aws = Aws::named(config, PRINCIPAL);
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    let asked = selection.resource_types();
    let mut types = asked.clone();
    if !types.contains(&PipelineConfiguration::RESOURCE_TYPE) {
        types.push(PipelineConfiguration::RESOURCE_TYPE);
    }
    let recorder = match source {
        Source::Services => None,
        Source::Config | Source::Auto => Some(Recorder::read(&aws).await?),
    };
    let reads = futures_util::future::try_join_all(
        types.iter().map(|resource_type| sources::read(&aws, source, recorder.as_ref(), resource_type)),
    )
    .await?;
    progress.inc(1);
    let (mut entries, mut unreadable_items, mut coverage) = (Vec::new(), Vec::new(), Vec::new());
    for TypeRead { resource_type, items, unreadable, seen } in reads {
        unreadable_items.extend(unreadable);
        entries.extend(items.into_iter().map(|item| Entry { item, origin: Origin::Account }));
        coverage.push(Coverage { region: region.clone(), resource_type, asked: asked.contains(&resource_type), seen });
    }
    let mode = Mode::Live(aws);
    let runs: Vec<Run> = futures_util::stream::iter(&selection.rules)
        .map(|rule| {
            let run = run_rule(rule.id, &mode, selection.parameters.get(rule.id).map(String::as_str), &entries);
            async move {
                let run = run.await;
                progress.inc(1);
                run
            }
        })
        .buffer_unordered(CONCURRENT_RULES)
        .try_collect()
        .await?;
    let mut run = Run { findings: Vec::new(), unreadable: unreadable_items };
    for one in runs {
        run.extend(one);
    }
    Ok((entries, run, coverage))
}
