//! `pipesec scan-terraform`: Terraform plans and state (`terraform show -json`), before or
//! after apply.

use crate::args::ScanTerraformArgs;
use crate::commands::{block_on, output};
use crate::error::{CliError, Result};
use crate::input::terraform;
use crate::report::{Options, Report};
use crate::runner::{Mode, Selection, run_rules};

pub fn run(args: &ScanTerraformArgs) -> Result<bool> {
    let (report, unreadable) = block_on(scan(args))??;
    let options =
        Options { account_id: args.report.account_id.clone(), region: args.region.clone(), all: args.report.all };
    output(&report, unreadable, &args.report, &options)
}

/// The report of the selected rules over every file's resources.
pub async fn scan(args: &ScanTerraformArgs) -> Result<(Report, Option<CliError>)> {
    let selection = Selection::new(&args.rules.rules, &args.rules.params)?;
    let mut entries = Vec::new();
    for path in &args.files {
        entries.extend(terraform::load(path)?);
    }
    if entries.is_empty() {
        eprintln!(
            "pipesec: warning: no aws_codebuild_project, aws_codepipeline or aws_codebuild_report_group in the plans or state"
        );
    }
    let run = run_rules(&selection, &Mode::offline("Terraform"), &entries).await?;
    let (findings, unreadable) = run.into_parts();
    Ok((Report::new("scan-terraform", selection.rules, &entries, findings), unreadable))
}
