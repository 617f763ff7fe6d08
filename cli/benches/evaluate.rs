//! Evaluation throughput on one core, each figure beside a floor measured in the same run:
//!
//! - configuration item JSON in, verdict out, for a CodeBuild project and a CodePipeline pipeline
//!   item (the rules' fixtures, 3 and 5 KB), beside parsing the same JSON into a generic
//!   `serde_json::Value`: a floor (the least any rule must do with an item), not a competitor;
//! - `pipesec scan-template` end to end (read, map, every rule, JSON report) on a generated
//!   template of 400 projects and 100 pipelines, beside parsing the same YAML into a value.
//!
//! Run with `cargo bench -p pipesec-cli --bench evaluate [-- OUTPUT.json]`: prints a table and
//! writes the figures as JSON (default `target/bench/evaluate.json`), each item row with the
//! fixture it read, so that `bench/throughput.py` times the Python competitors on the same item.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser as _;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Resource, Rule};
use pipesec_rules::codebuild_project_no_plaintext_secrets::{
    self as project_secrets, LiveVariables, NoPlaintextSecrets,
};
use pipesec_rules::codebuild_project_privileged_mode_disabled::{self as privileged, PrivilegedModeDisabled};
use pipesec_rules::codepipeline_approval_before_deploy::{self as approval, ApprovalBeforeDeploy};
use pipesec_rules::codepipeline_no_plaintext_secrets::{
    self as pipeline_secrets, NoPlaintextSecrets as PipelineSecrets,
};

/// The best of many short rounds: on a shared virtual machine, slow stretches last seconds, and
/// five rounds within one second could all fall in one (bench/README.md has the spread seen).
const ROUNDS: usize = 15;
const TEMPLATE_PROJECTS: usize = 400;
const TEMPLATE_PIPELINES: usize = 100;

/// A rule fixture's path from the repository root.
fn fixture_path(rule_id: &str, scenario: &str) -> String {
    format!("rules/fixtures/{rule_id}/{scenario}.json")
}

/// A rule fixture's item as compact JSON, the way Config's invoking event carries it.
fn fixture(rule_id: &str, scenario: &str) -> String {
    let path = format!("{}/../{}", env!("CARGO_MANIFEST_DIR"), fixture_path(rule_id, scenario));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    serde_json::from_str::<serde_json::Value>(&text).expect("fixture is JSON").to_string()
}

/// What a rule's sweep does with an inventory item: the item and its typed view in one pass.
fn subject<T: Resource>(json: &str) -> Subject<T> {
    Subject::read_in_one_pass(json).expect("fixture is an item with the view")
}

/// Units of work per second: the best of `ROUNDS` rounds of `per_round` calls.
fn rate(per_round: u32, work: impl Fn()) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..per_round {
            work();
        }
        best = best.min(start.elapsed());
    }
    f64::from(per_round) / best.as_secs_f64()
}

fn parse_only(json: &str) -> f64 {
    rate(20_000, || {
        black_box(serde_json::from_str::<serde_json::Value>(black_box(json)).unwrap());
    })
}

/// A large template: projects of mixed quality with intrinsic functions, and pipelines whose
/// build actions name them.
fn large_template() -> String {
    let mut text = String::from(
        "AWSTemplateFormatVersion: '2010-09-09'\nParameters:\n  Env:\n    Type: String\n    Default: prod\nResources:\n  BuildRole:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {Service: codebuild.amazonaws.com}, Action: 'sts:AssumeRole'}]}\n      ManagedPolicyArns: [arn:aws:iam::aws:policy/AWSCodeBuildDeveloperAccess]\n",
    );
    for index in 0..TEMPLATE_PROJECTS {
        let privileged = index % 3 == 0;
        let _ = write!(
            text,
            "  Project{index}:\n    Type: AWS::CodeBuild::Project\n    Properties:\n      Name: !Sub 'app-{index}-${{Env}}'\n      ServiceRole: !GetAtt BuildRole.Arn\n      Artifacts: {{Type: NO_ARTIFACTS}}\n      Source: {{Type: GITHUB, Location: 'https://github.com/example/app-{index}.git', BuildSpec: buildspec.yml}}\n      Environment:\n        Type: LINUX_CONTAINER\n        ComputeType: BUILD_GENERAL1_SMALL\n        Image: aws/codebuild/standard:7.0\n        PrivilegedMode: {privileged}\n        EnvironmentVariables:\n          - {{Name: STAGE, Value: !Ref Env}}\n          - {{Name: DB_PASSWORD, Type: SECRETS_MANAGER, Value: 'app/{index}:password'}}\n      LogsConfig: {{CloudWatchLogs: {{Status: ENABLED, GroupName: /builds/app-{index}}}}}\n      TimeoutInMinutes: 30\n"
        );
    }
    for index in 0..TEMPLATE_PIPELINES {
        let project = index * (TEMPLATE_PROJECTS / TEMPLATE_PIPELINES);
        let _ = write!(
            text,
            "  Pipeline{index}:\n    Type: AWS::CodePipeline::Pipeline\n    Properties:\n      Name: pipeline-{index}\n      RoleArn: arn:aws:iam::123456789012:role/pipeline-role\n      ArtifactStore: {{Type: S3, Location: artifacts-bucket}}\n      Stages:\n        - Name: Source\n          Actions:\n            - Name: Source\n              ActionTypeId: {{Category: Source, Owner: AWS, Provider: CodeStarSourceConnection, Version: '1'}}\n              Configuration: {{ConnectionArn: 'arn:aws:codestar-connections:us-east-1:123456789012:connection/c', FullRepositoryId: example/app-{index}, BranchName: main}}\n              OutputArtifacts: [{{Name: src}}]\n        - Name: Build\n          Actions:\n            - Name: Build\n              ActionTypeId: {{Category: Build, Owner: AWS, Provider: CodeBuild, Version: '1'}}\n              Configuration: {{ProjectName: !Ref Project{project}}}\n              InputArtifacts: [{{Name: src}}]\n              OutputArtifacts: [{{Name: out}}]\n        - Name: Deploy\n          Actions:\n            - Name: Deploy\n              ActionTypeId: {{Category: Deploy, Owner: AWS, Provider: CloudFormation, Version: '1'}}\n              Configuration: {{ActionMode: CREATE_UPDATE, StackName: app-{index}, TemplatePath: 'out::template.yml'}}\n              InputArtifacts: [{{Name: out}}]\n"
        );
    }
    text
}

struct Row {
    figure: String,
    /// The rule fixture the row reads, from the repository root; `None` for the template.
    fixture: Option<String>,
    unit: &'static str,
    bytes: usize,
    rate: f64,
    floor: f64,
    floor_name: &'static str,
}

fn main() {
    let output = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench/evaluate.json"), PathBuf::from);

    let privileged_fixture = (privileged::ID, "non-compliant-privileged");
    let project_secrets_fixture = (project_secrets::ID, "non-compliant-secret-name");
    let approval_fixture = (approval::ID, "non-compliant-no-approval");
    let pipeline_secrets_fixture = (pipeline_secrets::ID, "non-compliant-parameter-overrides");
    let privileged_item = fixture(privileged_fixture.0, privileged_fixture.1);
    let project_secrets_item = fixture(project_secrets_fixture.0, project_secrets_fixture.1);
    let approval_item = fixture(approval_fixture.0, approval_fixture.1);
    let pipeline_secrets_item = fixture(pipeline_secrets_fixture.0, pipeline_secrets_fixture.1);
    let exempted = pipesec_rules::common::exemptions::ExemptedProjects::default();
    let project_secrets_params = pipesec_rules::common::params::AllowedVariableNames::default();
    let pipeline_secrets_params = pipesec_rules::common::params::AllowedVariableNames::default();
    let approval_params = approval::Params::default();

    let project_floor = parse_only(&privileged_item);
    let pipeline_floor = parse_only(&pipeline_secrets_item);
    let item_row = |(rule, scenario): (&str, &str), item: &str, floor: f64, work: &dyn Fn()| Row {
        figure: format!("{rule}: item JSON -> verdict"),
        fixture: Some(fixture_path(rule, scenario)),
        unit: "items/s",
        bytes: item.len(),
        rate: rate(20_000, work),
        floor,
        floor_name: "serde_json::Value parse of the item",
    };
    let mut rows = vec![
        item_row(privileged_fixture, &privileged_item, project_floor, &|| {
            let subject = subject(black_box(&privileged_item));
            black_box(PrivilegedModeDisabled::evaluate(&subject, &(), &exempted));
        }),
        item_row(project_secrets_fixture, &project_secrets_item, project_floor, &|| {
            let subject = subject(black_box(&project_secrets_item));
            black_box(NoPlaintextSecrets::evaluate(&subject, &LiveVariables::NotNeeded, &project_secrets_params));
        }),
        item_row(approval_fixture, &approval_item, pipeline_floor, &|| {
            let subject = subject(black_box(&approval_item));
            black_box(ApprovalBeforeDeploy::evaluate(&subject, &(), &approval_params));
        }),
        item_row(pipeline_secrets_fixture, &pipeline_secrets_item, pipeline_floor, &|| {
            let subject = subject(black_box(&pipeline_secrets_item));
            black_box(PipelineSecrets::evaluate(&subject, &(), &pipeline_secrets_params));
        }),
    ];

    let template = large_template();
    let directory = std::env::temp_dir().join(format!("pipesec-bench-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let template_path = directory.join("large.yaml");
    std::fs::write(&template_path, &template).unwrap();
    let report_path = directory.join("report.json");
    let resources = f64::from(u32::try_from(TEMPLATE_PROJECTS + TEMPLATE_PIPELINES).unwrap());
    let scan = rate(3, || scan_template(&template_path, &report_path)) * resources;
    let yaml_parse =
        rate(3, || drop(black_box(serde_norway::from_str::<serde_norway::Value>(black_box(&template)).unwrap())))
            * resources;
    rows.push(Row {
        figure: format!("scan-template, {TEMPLATE_PROJECTS} projects + {TEMPLATE_PIPELINES} pipelines, every rule"),
        fixture: None,
        unit: "resources/s",
        bytes: template.len(),
        rate: scan,
        floor: yaml_parse,
        floor_name: "YAML parse of the template",
    });
    std::fs::remove_dir_all(&directory).ok();

    print_and_save(&rows, project_floor, pipeline_floor, &output);
}

/// `pipesec scan-template FILE --format json --output REPORT`, in process.
fn scan_template(template: &Path, report: &Path) {
    let cli = pipesec_cli::args::Cli::parse_from([
        "pipesec".as_ref(),
        "scan-template".as_ref(),
        template.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--output".as_ref(),
        report.as_os_str(),
    ]);
    // `false` means findings at or above the gate, which this template has on purpose.
    black_box(pipesec_cli::run(cli).expect("scan-template runs"));
}

fn print_and_save(rows: &[Row], project_floor: f64, pipeline_floor: f64, output: &Path) {
    println!("{:<90} {:>8} {:>14} {:>10}", "one core (pipesec unless named)", "bytes", "rate", "vs floor");
    println!("{:<90} {:>8} {:>14.0} {:>9.2}x", "floor (serde_json::Value parse), project item", "", project_floor, 1.0);
    println!(
        "{:<90} {:>8} {:>14.0} {:>9.2}x",
        "floor (serde_json::Value parse), pipeline item", "", pipeline_floor, 1.0
    );
    let mut figures = Vec::new();
    for row in rows {
        println!(
            "{:<90} {:>8} {:>14} {:>9.2}x",
            row.figure,
            row.bytes,
            format!("{:.0} {}", row.rate, row.unit),
            row.rate / row.floor
        );
        figures.push(serde_json::json!({
            "figure": row.figure, "fixture": row.fixture, "unit": row.unit, "bytes": row.bytes,
            "rate": row.rate.round(), "floor": row.floor_name, "floor_rate": row.floor.round(),
            "ratio_to_floor": row.rate / row.floor,
        }));
    }
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent).ok();
    }
    let document = serde_json::json!({"evaluation_throughput": figures, "rounds": ROUNDS});
    std::fs::write(output, serde_json::to_string_pretty(&document).unwrap()).unwrap();
    println!("written to {}", output.display());
}
