//! `pipesec evaluate`: an account (every region asked for), an organization through an AWS Config
//! aggregator, or Config snapshot files.

use crate::account::{Coverage, evaluate_account, evaluate_organization, sdk_config};
use crate::args::{EvaluateArgs, Source};
use crate::commands::{block_on, output, progress_bar};
use crate::error::{CliError, Result};
use crate::input::snapshot;
use crate::report::{Options, Report, Unseen};
use crate::runner::{Mode, Run, Selection, run_rules};
use crate::sources::{Reader, Seen, service_reads};

pub fn run(args: &EvaluateArgs) -> Result<bool> {
    let (report, failure) = block_on(evaluate(args))??;
    let options = Options {
        account_id: args.report.account_id.clone(),
        region: args.region.first().cloned().or_else(|| std::env::var("AWS_REGION").ok()),
        all: args.report.all,
    };
    output(&report, failure, &args.report, &options)
}

/// The report, and why the run fails whatever the report says, if it does: resource types it
/// could not see, items it could not read.
async fn evaluate(args: &EvaluateArgs) -> Result<(Report, Option<CliError>)> {
    let selection = Selection::new(&args.rules.rules, &args.rules.params)?;
    if !args.snapshot.is_empty() {
        if args.endpoint_url.is_some() || !args.region.is_empty() || args.source.is_some() || args.aggregator.is_some()
        {
            return Err(CliError::Usage(
                "--snapshot reads files offline: --endpoint-url, --region, --source and --aggregator do not apply"
                    .into(),
            ));
        }
        let mut entries = Vec::new();
        for path in &args.snapshot {
            entries.extend(snapshot::load(path)?);
        }
        let types = selection.resource_types();
        if !entries.iter().any(|entry| types.contains(&entry.item.resource_type.as_str())) {
            eprintln!(
                "pipesec: warning: no resource the selected rules evaluate ({}) in the snapshot files",
                types.join(", ")
            );
        }
        let run = run_rules(&selection, &Mode::offline("snapshot"), &entries).await?;
        let (findings, unreadable) = run.into_parts();
        return Ok((Report::new("evaluate", selection.rules, &entries, findings), unreadable));
    }
    if let Some(aggregator) = &args.aggregator {
        return organization(args, selection, aggregator).await;
    }
    let source = args.source.unwrap_or(Source::Auto);
    let regions: Vec<Option<&str>> =
        if args.region.is_empty() { vec![None] } else { args.region.iter().map(|r| Some(r.as_str())).collect() };
    let mut configs = Vec::new();
    for region in regions {
        let config = sdk_config(region, args.endpoint_url.as_deref(), None).await;
        if config.region().is_none() {
            return Err(CliError::Usage("no AWS region: set AWS_REGION or pass --region".into()));
        }
        configs.push(config);
    }
    let progress = progress_bar((configs.len() * (selection.rules.len() + 1)) as u64);
    let per_region = futures_util::future::try_join_all(
        configs.iter().map(|config| evaluate_account(config, &selection, source, &progress)),
    )
    .await?;
    progress.finish_and_clear();
    let (mut entries, mut run, mut coverage) = (Vec::new(), Run::default(), Vec::new());
    for (region_entries, region_run, region_coverage) in per_region {
        entries.extend(region_entries);
        run.extend(region_run);
        coverage.extend(region_coverage);
    }
    for line in coverage_notes(source, &coverage) {
        eprintln!("pipesec: {line}");
    }
    let (findings, unreadable) = run.into_parts();
    let mut report = Report::new("evaluate", selection.rules, &entries, findings);
    report.unseen = coverage
        .iter()
        .filter(|covered| covered.asked)
        .filter_map(|covered| match &covered.seen {
            Seen::Not(reason) => Some(Unseen {
                region: covered.region.clone(),
                resource_type: covered.resource_type.to_owned(),
                reason: reason.clone(),
            }),
            Seen::By { .. } => None,
        })
        .collect();
    let unseen = (!report.unseen.is_empty()).then(|| unseen_error(source, &report.unseen));
    let failure = match (unseen, unreadable) {
        (Some(unseen), Some(unreadable)) => Some(CliError::Runtime(format!("{unseen}; {unreadable}"))),
        (unseen, unreadable) => unseen.or(unreadable),
    };
    Ok((report, failure))
}

/// `--aggregator`: the organization's accounts and regions, read through the aggregator.
async fn organization(
    args: &EvaluateArgs,
    selection: Selection,
    aggregator: &str,
) -> Result<(Report, Option<CliError>)> {
    if args.source.is_some() || args.region.len() > 1 {
        return Err(CliError::Usage(
            "--aggregator reads every account and region the aggregator collects: --source does not apply, and \
             --region names the aggregator's one region"
                .into(),
        ));
    }
    let config = sdk_config(args.region.first().map(String::as_str), args.endpoint_url.as_deref(), None).await;
    if config.region().is_none() {
        return Err(CliError::Usage("no AWS region: set AWS_REGION or pass --region".into()));
    }
    let progress = progress_bar(1);
    let (entries, run) =
        evaluate_organization(&config, aggregator, args.assume_role.as_deref(), &selection, &progress).await?;
    progress.finish_and_clear();
    let types = selection.resource_types();
    if !entries.iter().any(|entry| types.contains(&entry.item.resource_type.as_str())) {
        eprintln!(
            "pipesec: warning: the aggregator `{aggregator}` holds no resource the selected rules evaluate ({})",
            types.join(", ")
        );
    }
    let (findings, unreadable) = run.into_parts();
    Ok((Report::new("evaluate", selection.rules, &entries, findings), unreadable))
}

/// What standard error says about where each type was read: with `auto`, the source of every
/// type; always, a type read only to group results that could not be seen.
fn coverage_notes(source: Source, coverage: &[Coverage]) -> Vec<String> {
    let mut notes = Vec::new();
    for covered in coverage {
        let (region, resource_type) = (&covered.region, covered.resource_type);
        match &covered.seen {
            Seen::By { reader, why } if source == Source::Auto => {
                let from = match reader {
                    Reader::Config => reader.to_string(),
                    Reader::Service => service_reads(resource_type).unwrap_or("the service").to_owned(),
                };
                let why = why.as_deref().map(|why| format!(": {why}")).unwrap_or_default();
                notes.push(format!("{region}: {resource_type} read from {from}{why}"));
            }
            Seen::Not(reason) if !covered.asked => {
                notes
                    .push(format!("{region}: {resource_type} not seen, results are not grouped by pipeline: {reason}"));
            }
            _ => {}
        }
    }
    notes
}

fn unseen_error(source: Source, unseen: &[Unseen]) -> CliError {
    let mut reasons: Vec<String> = unseen.iter().map(Unseen::to_string).collect();
    if source == Source::Config
        && let Some(reads) = unseen.iter().find_map(|unseen| service_reads(&unseen.resource_type))
    {
        reasons.push(format!(
            "--source services or auto reads what Config does not record from the service, e.g. {reads}"
        ));
    }
    if unseen.iter().any(|unseen| unseen.reason.contains("access denied")) {
        reasons.push("deploy/cli-read-only-policy.json lists the read-only actions each source needs".into());
    }
    CliError::Unseen(reasons)
}
