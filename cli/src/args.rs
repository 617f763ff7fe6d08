//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use pipesec_engine::Severity;

#[derive(Debug, Parser)]
#[command(
    name = "pipesec",
    version,
    about = "Assess the security of CI/CD pipelines (AWS CodeBuild, AWS CodePipeline) against SEC11-BP07",
    long_about = "Runs the pipesec AWS Config rules against an account, a Config snapshot, CloudFormation \
                  templates or Terraform plans, scores every pipeline and gates CI.\n\nExit codes: 0 clean, 1 findings at or above \
                  --fail-on or a score below --fail-under, 2 usage or runtime error, or a resource type the \
                  run could not see (Config does not record it with --source config, a read refused)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate an account (the standard AWS environment, or --endpoint-url) or Config snapshot files.
    Evaluate(EvaluateArgs),
    /// Evaluate the CodeBuild and CodePipeline resources of CloudFormation templates (YAML or JSON).
    ScanTemplate(ScanTemplateArgs),
    /// Evaluate the CodeBuild and CodePipeline resources of Terraform plans or state
    /// (`terraform show -json` output).
    ScanTerraform(ScanTerraformArgs),
    /// List the rules: resource type, area, weight, severity, triggers, parameters.
    Rules(RulesArgs),
    /// Start the bundled AWS emulator, seed good and bad pipelines and projects, and evaluate them.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Read configuration items from these files instead of the account (offline): Config snapshot
    /// or history files, SelectResourceConfig or BatchGetResourceConfig output, a list of items, one item.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub snapshot: Vec<PathBuf>,
    /// The AWS endpoint to call (as AWS_ENDPOINT_URL), e.g. a local emulator.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// A region to evaluate; repeat for several (default: the environment's region).
    #[arg(long, value_name = "REGION")]
    pub region: Vec<String>,
    /// Where to read the account's resources: AWS Config's inventory (`config`), CodeBuild and
    /// CodePipeline themselves (`services`), or per resource type whichever sees it (`auto`:
    /// Config for the types its recorder records, the services for the others) [default: auto].
    #[arg(long, value_enum, value_name = "SOURCE")]
    pub source: Option<Source>,
    /// Evaluate every account and region this AWS Config aggregator (of the region evaluated)
    /// collects, its inventory read with SelectAggregateResourceConfig.
    #[arg(long, value_name = "NAME")]
    pub aggregator: Option<String>,
    /// With --aggregator: the rules' live reads assume the role of this name in each account
    /// (cloudformation/cli-read-role.yaml); without it, a rule that needs one is NOT_APPLICABLE.
    #[arg(long, value_name = "ROLE_NAME", requires = "aggregator")]
    pub assume_role: Option<String>,
    #[command(flatten)]
    pub rules: RuleSelection,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Where `pipesec evaluate` reads an account's resources (`--source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// AWS Config's inventory (SelectResourceConfig); a type its recorder does not record cannot
    /// be seen, and the run fails.
    Config,
    /// The services: ListProjects + BatchGetProjects, ListReportGroups + BatchGetReportGroups,
    /// ListPipelines + GetPipeline, mapped onto the items Config would record.
    Services,
    /// Config's inventory for the types its recorder records, the services for the others.
    Auto,
}

#[derive(Debug, Args)]
pub struct ScanTemplateArgs {
    /// CloudFormation templates, YAML or JSON.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// A template parameter's value, or a pseudo parameter's (`AWS::StackName=app`); repeatable.
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
    /// The region the stack deploys to (resolves AWS::Region; used by --format asff).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    #[command(flatten)]
    pub rules: RuleSelection,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct ScanTerraformArgs {
    /// `terraform show -json PLANFILE` (a plan) or `terraform show -json` (state) output.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// The region the configuration deploys to (used by --format asff).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    #[command(flatten)]
    pub rules: RuleSelection,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct RuleSelection {
    /// Run only this rule (repeatable; default: every rule).
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// A rule parameter, as AWS Config takes it: `RULE_ID:NAME=VALUE` (repeatable).
    #[arg(long = "param", value_name = "RULE_ID:NAME=VALUE")]
    pub params: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The report's format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding has this severity or a higher one (`none`: never).
    #[arg(long, value_enum, default_value_t = FailOn::Low, value_name = "SEVERITY")]
    pub fail_on: FailOn,
    /// Exit 1 when the overall score is below N (0-100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub fail_under: Option<u8>,
    /// The AWS account id for --format asff when the input does not carry one (templates).
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// In the table, list every result (compliant and not applicable too), not only findings.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Sarif,
    Asff,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Low,
    Medium,
    High,
    Critical,
    None,
}

impl FailOn {
    /// The lowest severity that fails the run.
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::Critical => Some(Severity::Critical),
            FailOn::None => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// The listing's format.
    #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the HTML report (default: pipesec-demo-report.html in the temporary directory).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// The pipesec source tree holding the emulator (tests/testbed) and scripts/venv
    /// (default: PIPESEC_REPO, else the tree this binary was built from).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
}
