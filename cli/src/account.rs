//! One account's regions: the SDK configuration, Config's inventory, and every selected rule
//! with its live reads.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_config::config::{Credentials, SharedCredentialsProvider};
use futures_util::{StreamExt, TryStreamExt};
use indicatif::ProgressBar;
use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::sweep::{self, Inventory};
use pipesec_engine::{Aws, ConfigurationItem, Resource};

use crate::error::Result;
use crate::input::{Entry, Origin};
use crate::runner::{Mode, Run, Selection, run_rule};

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

/// One region of the account: Config's inventory once per resource type (pipelines too, to
/// group results), then every rule with its live reads, a few rules at a time.
pub async fn evaluate_account(
    config: &SdkConfig,
    selection: &Selection,
    progress: &ProgressBar,
) -> Result<(Vec<Entry>, Run)> {
    let aws = Aws::new(config);
    let mut types = selection.resource_types();
    if !types.contains(&PipelineConfiguration::RESOURCE_TYPE) {
        types.push(PipelineConfiguration::RESOURCE_TYPE);
    }
    let inventories = futures_util::future::try_join_all(types.iter().map(|resource_type| {
        let aws = &aws;
        async move { sweep::inventory::<ConfigurationItem>(aws, resource_type).await }
    }))
    .await?;
    progress.inc(1);
    let (mut entries, mut unreadable_items) = (Vec::new(), Vec::new());
    for Inventory { rows, unreadable, .. } in inventories {
        unreadable_items.extend(unreadable);
        entries.extend(rows.into_iter().map(|item| Entry { item, origin: Origin::Account }));
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
    Ok((entries, run))
}
