//! The `pipesec` command line: the catalog's rules against an account, Config snapshot files or
//! CloudFormation templates, with a score per pipeline, five report formats and a CI gate.
//!
//! Every rule is reached through `pipesec_rules::catalog()` and `with_rule` (a [`RuleVisitor`]
//! per operation), never a list kept here: a rule added to the catalog is run by the CLI.
//!
//! [`RuleVisitor`]: pipesec_shared::RuleVisitor

pub mod args;
pub mod demo;
pub mod error;
pub mod evaluate;
pub mod fuzz_targets;
pub mod pipelines;
pub mod report;
pub mod score;
pub mod snapshot;
pub mod template;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_config::config::{Credentials, SharedCredentialsProvider};
use clap::Parser;
use futures_util::{StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use pipesec_shared::cfn::Context;
use pipesec_shared::resources::PipelineConfiguration;
use pipesec_shared::{Aws, Resource, sweep};
use serde_json::json;

use crate::args::{Cli, Command, EvaluateArgs, ReportArgs, RulesArgs, RulesFormat, ScanTemplateArgs};
use crate::error::{CliError, Result};
use crate::evaluate::{Entry, Finding, Mode, Origin, Selection, run_rule};
use crate::report::{Options, Report};

/// Rules evaluated at the same time against an account: each batches its own reads.
const CONCURRENT_RULES: usize = 4;

/// Runs the command line; exit code 0 clean, 1 gate failed, 2 usage or runtime error.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            let message = err.to_string().replace('\n', " ");
            eprintln!("pipesec: error: {message}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(true)` when the gate passes.
pub fn run(cli: Cli) -> Result<bool> {
    match cli.command {
        Command::Evaluate(args) => {
            let report = block_on(evaluate_command(&args))??;
            let options = Options {
                account_id: args.report.account_id.clone(),
                region: args.region.first().cloned().or_else(|| std::env::var("AWS_REGION").ok()),
                all: args.report.all,
            };
            output(&report, &args.report, &options)
        }
        Command::ScanTemplate(args) => {
            let report = block_on(scan_template_command(&args))??;
            let options = Options {
                account_id: args.report.account_id.clone(),
                region: args.region.clone(),
                all: args.report.all,
            };
            output(&report, &args.report, &options)
        }
        Command::Rules(args) => {
            print!("{}", rules_listing(&args));
            Ok(true)
        }
        Command::Demo(args) => demo::run(&args),
    }
}

pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| CliError::Runtime(format!("cannot start the async runtime: {err}")))?;
    Ok(runtime.block_on(future))
}

/// Renders the report where asked and applies the gate.
fn output(report: &Report, args: &ReportArgs, options: &Options) -> Result<bool> {
    let text = report.render(args.format, options)?;
    if let Some(path) = &args.output {
        write_file(path, &text)?;
    } else {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|err| CliError::Runtime(format!("cannot write the report: {err}")))?;
    }
    Ok(!report.fails(args.fail_on, args.fail_under))
}

pub(crate) fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|err| CliError::Runtime(format!("cannot write {}: {err}", path.display())))
}

async fn evaluate_command(args: &EvaluateArgs) -> Result<Report> {
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
        let findings = run_offline(&selection, &entries, "snapshot").await?;
        return Ok(Report::new("evaluate", selection.rules, &entries, findings));
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
    let (mut entries, mut findings) = (Vec::new(), Vec::new());
    for (region_entries, region_findings) in per_region {
        entries.extend(region_entries);
        findings.extend(region_findings);
    }
    Ok(Report::new("evaluate", selection.rules, &entries, findings))
}

/// The SDK configuration for the account: the standard environment, with a region, endpoint
/// or credentials given on the command line. Retries: the pack's (throttling included), unless
/// `AWS_MAX_ATTEMPTS` says otherwise; timeouts: the pack's.
pub async fn sdk_config(
    region: Option<&str>,
    endpoint_url: Option<&str>,
    credentials: Option<Credentials>,
) -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).timeout_config(pipesec_shared::aws::timeout_config());
    if std::env::var_os("AWS_MAX_ATTEMPTS").is_none() {
        loader = loader.retry_config(pipesec_shared::aws::retry_config());
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
) -> Result<(Vec<Entry>, Vec<Finding>)> {
    let aws = Aws::new(config);
    let mut types = selection.resource_types();
    if !types.contains(&PipelineConfiguration::RESOURCE_TYPE) {
        types.push(PipelineConfiguration::RESOURCE_TYPE);
    }
    let inventories = futures_util::future::try_join_all(types.iter().map(|resource_type| {
        let aws = &aws;
        async move { sweep::inventory(aws, resource_type).await }
    }))
    .await?;
    progress.inc(1);
    let mut entries = Vec::new();
    for (items, unreadable) in inventories {
        for err in unreadable {
            eprintln!("pipesec: warning: {err}");
        }
        entries.extend(
            items.into_iter().filter(|item| !item.status.is_gone()).map(|item| Entry { item, origin: Origin::Account }),
        );
    }
    let mode = Mode::Live(aws);
    let findings: Vec<Vec<Finding>> = futures_util::stream::iter(&selection.rules)
        .map(|rule| {
            let run = run_rule(rule.id, &mode, selection.parameters.get(rule.id).map(String::as_str), &entries);
            async move {
                let findings = run.await;
                progress.inc(1);
                findings
            }
        })
        .buffer_unordered(CONCURRENT_RULES)
        .try_collect()
        .await?;
    Ok((entries, findings.into_iter().flatten().collect()))
}

async fn run_offline(selection: &Selection, entries: &[Entry], source: &'static str) -> Result<Vec<Finding>> {
    let mode = Mode::offline(source);
    let mut findings = Vec::new();
    for rule in &selection.rules {
        let parameters = selection.parameters.get(rule.id).map(String::as_str);
        findings.extend(run_rule(rule.id, &mode, parameters, entries).await?);
    }
    Ok(findings)
}

async fn scan_template_command(args: &ScanTemplateArgs) -> Result<Report> {
    let selection = Selection::new(&args.rules.rules, &args.rules.params)?;
    let mut context = Context::default();
    for parameter in &args.parameters {
        let (name, value) = parameter
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--parameter `{parameter}`: expected NAME=VALUE")))?;
        context.parameters.insert(name.trim().to_owned(), value.to_owned());
    }
    if let Some(region) = &args.region {
        context.parameters.entry("AWS::Region".into()).or_insert_with(|| region.clone());
    }
    if let Some(account) = &args.report.account_id {
        context.parameters.entry("AWS::AccountId".into()).or_insert_with(|| account.clone());
    }
    let mut entries = Vec::new();
    for path in &args.files {
        entries.extend(template::load(path, &context)?);
    }
    if entries.is_empty() {
        eprintln!(
            "pipesec: warning: no AWS::CodeBuild::Project, AWS::CodePipeline::Pipeline or AWS::CodeBuild::ReportGroup in the templates"
        );
    }
    let findings = run_offline(&selection, &entries, "template").await?;
    Ok(Report::new("scan-template", selection.rules, &entries, findings))
}

/// A progress bar on standard error, drawn only when it is a terminal.
fn progress_bar(length: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length);
    if let Ok(style) = ProgressStyle::with_template("{spinner} evaluating [{bar:30}] {pos}/{len} {elapsed}") {
        bar.set_style(style);
    }
    bar
}

/// `pipesec rules`.
pub fn rules_listing(args: &RulesArgs) -> String {
    let catalog = pipesec_rules::catalog();
    // Every rule evaluates change notifications and periodic sweeps; some need the schedule.
    let triggers = |periodic: bool| if periodic { "change, periodic (required)" } else { "change, periodic" };
    match args.format {
        RulesFormat::Json => {
            let rules: Vec<_> = catalog
                .iter()
                .map(|rule| {
                    let (area, weight) = score::area_of(rule.id).map_or((None, None), |(a, w)| (Some(a), Some(w)));
                    json!({
                        "id": rule.id, "resourceType": rule.resource_type, "severity": rule.severity,
                        "area": area, "weight": weight, "triggers": triggers(rule.periodic),
                        "parameters": rule.parameters, "liveReads": rule.reads, "remediation": rule.remediation,
                        "inputs": rule.inputs, "parameterInputs": rule.parameter_inputs,
                    })
                })
                .collect();
            serde_json::to_string_pretty(&rules).unwrap_or_default() + "\n"
        }
        RulesFormat::Table => {
            let mut table = comfy_table::Table::new();
            table
                .load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
                .set_header([
                    "id",
                    "resource type",
                    "area",
                    "weight",
                    "severity",
                    "triggers",
                    "parameters",
                    "live reads",
                ]);
            for rule in &catalog {
                let (area, weight) = score::area_of(rule.id)
                    .map_or(("—".into(), "—".into()), |(a, w)| (a.title().to_owned(), w.to_string()));
                table.add_row([
                    rule.id.to_owned(),
                    rule.resource_type.to_owned(),
                    area,
                    weight,
                    rule.severity.as_str().to_owned(),
                    triggers(rule.periodic).to_owned(),
                    if rule.parameters.is_empty() { "—".into() } else { rule.parameters.join(", ") },
                    if rule.reads.is_empty() { "—".into() } else { rule.reads.join(", ") },
                ]);
            }
            format!("{table}\n")
        }
    }
}
