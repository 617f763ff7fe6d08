//! One account's regions: the SDK configuration, the resources (from Config's inventory or the
//! services, see [`crate::sources`]), and every selected rule with its live reads; or an
//! organization's accounts through an AWS Config aggregator ([`evaluate_organization`]).

use std::collections::BTreeMap;

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_config::config::{Credentials, ProvideCredentials, SharedCredentialsProvider};
use futures_util::{StreamExt, TryStreamExt};
use indicatif::ProgressBar;
use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::{Aws, Resource};

use crate::aggregator;
use crate::args::Source;
use crate::error::Result;
use crate::input::{Entry, Origin};
use crate::runner::{Mode, Run, Selection, run_rule, run_rules};
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

/// Accounts of an organization evaluated at the same time (`--aggregator`).
const CONCURRENT_ACCOUNTS: usize = 4;

/// An organization through the AWS Config aggregator `aggregator` (in the region of `config`):
/// every account's and region's resources of the selected types in one paginated query per
/// type, then the rules of each account and region. A rule that needs a live read makes it as
/// the role named `assume_role` in that account (`arn:<partition>:iam::<account>:role/NAME`,
/// assumed with the command line's credentials); without a role, when it cannot be assumed or
/// when its reads fail, the rule is NOT_APPLICABLE and names the read, in that account only.
pub async fn evaluate_organization(
    config: &SdkConfig,
    aggregator: &str,
    assume_role: Option<&str>,
    selection: &Selection,
    progress: &ProgressBar,
) -> Result<(Vec<Entry>, Run)> {
    let aws = Aws::named(config, PRINCIPAL);
    let mut types = selection.resource_types();
    if !types.contains(&PipelineConfiguration::RESOURCE_TYPE) {
        types.push(PipelineConfiguration::RESOURCE_TYPE);
    }
    let mut places: BTreeMap<(String, String), Vec<Entry>> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for resource_type in types {
        let (entries, errors) = aggregator::inventory(&aws, aggregator, resource_type, aggregator::RULE_FIELDS).await?;
        unreadable.extend(errors);
        for entry in entries {
            let item = &entry.item;
            let place = (item.account_id.clone().unwrap_or_default(), item.aws_region.clone().unwrap_or_default());
            places.entry(place).or_default().push(entry);
        }
    }
    progress.set_length(places.len() as u64 + 1);
    progress.inc(1);
    let runs: Vec<Run> = futures_util::stream::iter(&places)
        .map(|((account, region), entries)| async move {
            let run = evaluate_place(config, account, region, entries, assume_role, selection).await;
            progress.inc(1);
            run
        })
        .buffer_unordered(CONCURRENT_ACCOUNTS)
        .try_collect()
        .await?;
    let mut run = Run { findings: Vec::new(), unreadable };
    for one in runs {
        run.extend(one);
    }
    Ok((places.into_values().flatten().collect(), run))
}

/// One account and region of an organization: the rules with live reads as the assumed role, or,
/// when they cannot be made, without them.
async fn evaluate_place(
    config: &SdkConfig,
    account: &str,
    region: &str,
    entries: &[Entry],
    assume_role: Option<&str>,
    selection: &Selection,
) -> Result<Run> {
    let unreachable = |why: String| Mode::Unreachable { aws: Aws::offline(), account: account.to_owned(), why };
    let Some(name) = assume_role else {
        let mode = unreachable("pass --assume-role to read through a role in each account".to_owned());
        return run_rules(selection, &mode, entries).await;
    };
    let role_arn = format!("arn:{}:iam::{account}:role/{name}", partition(entries));
    let regional = config.to_builder().region(Region::new(region.to_owned())).build();
    let provider =
        AssumeRoleProvider::builder(&role_arn).session_name("pipesec-cli").configure(&regional).build().await;
    // Assumed once, now, so that a refusal is reported as such rather than as each read's failure.
    let credentials = match provider.provide_credentials().await {
        Ok(credentials) => credentials,
        Err(err) => {
            let why = format!("cannot assume `{role_arn}`: {}", pipesec_engine::error::error_chain(&err));
            eprintln!("pipesec: warning: {account} {region}: {why}");
            return run_rules(selection, &unreachable(why), entries).await;
        }
    };
    let assumed = regional.to_builder().credentials_provider(SharedCredentialsProvider::new(credentials)).build();
    match run_rules(selection, &Mode::Live(Aws::named(&assumed, &format!("role `{role_arn}`"))), entries).await {
        Ok(run) => Ok(run),
        // One account's role that may not read (a failed deployment) must not stop the others.
        Err(err) => {
            let why = format!("reads as `{role_arn}` failed: {err}");
            eprintln!("pipesec: warning: {account} {region}: {why}");
            run_rules(selection, &unreachable(why), entries).await
        }
    }
}

/// The partition of an account's resources, from their ARNs (`aws` when none says).
fn partition(entries: &[Entry]) -> &str {
    entries
        .iter()
        .find_map(|entry| entry.item.arn.as_deref().and_then(|arn| arn.split(':').nth(1)))
        .filter(|partition| !partition.is_empty())
        .unwrap_or("aws")
}
