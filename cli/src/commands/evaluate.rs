//! `pipesec evaluate`: an account (every region asked for) or Config snapshot files.

use crate::account::{evaluate_account, sdk_config};
use crate::args::EvaluateArgs;
use crate::commands::{block_on, output, progress_bar};
use crate::error::{CliError, Result};
use crate::input::snapshot;
use crate::report::{Options, Report};
use crate::runner::{Mode, Run, Selection, run_rules};

pub fn run(args: &EvaluateArgs) -> Result<bool> {
    let (report, unreadable) = block_on(evaluate(args))??;
    let options = Options {
        account_id: args.report.account_id.clone(),
        region: args.region.first().cloned().or_else(|| std::env::var("AWS_REGION").ok()),
        all: args.report.all,
    };
    output(&report, unreadable, &args.report, &options)
}

async fn evaluate(args: &EvaluateArgs) -> Result<(Report, Option<CliError>)> {
    let selection = Selection::new(&args.rules.rules, &args.rules.params)?;
    if !args.snapshot.is_empty() {
        if args.endpoint_url.is_some() || !args.region.is_empty() {
            return Err(CliError::Usage(
                "--snapshot reads files offline: --endpoint-url and --region do not apply".into(),
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
        configs.iter().map(|config| evaluate_account(config, &selection, &progress)),
    )
    .await?;
    progress.finish_and_clear();
    let (mut entries, mut run) = (Vec::new(), Run::default());
    for (region_entries, region_run) in per_region {
        entries.extend(region_entries);
        run.extend(region_run);
    }
    let (findings, unreadable) = run.into_parts();
    Ok((Report::new("evaluate", selection.rules, &entries, findings), unreadable))
}
