//! `pipesec scan-template`: CloudFormation templates, before deployment.

use crate::args::ScanTemplateArgs;
use crate::commands::{block_on, output};
use crate::error::{CliError, Result};
use crate::input::template::{self, Context};
use crate::report::{Options, Report};
use crate::runner::{Mode, Selection, run_rules};

pub fn run(args: &ScanTemplateArgs) -> Result<bool> {
    let (report, unreadable) = block_on(scan(args))??;
    let options =
        Options { account_id: args.report.account_id.clone(), region: args.region.clone(), all: args.report.all };
    output(&report, unreadable, &args.report, &options)
}

async fn scan(args: &ScanTemplateArgs) -> Result<(Report, Option<CliError>)> {
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
    let run = run_rules(&selection, &Mode::offline("template"), &entries).await?;
    let (findings, unreadable) = run.into_parts();
    Ok((Report::new("scan-template", selection.rules, &entries, findings), unreadable))
}
