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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use pipesec_engine::Compliance;

    use super::*;
    use crate::args::{FailOn, Format, ReportArgs, RuleSelection};
    use crate::input::template::{self, Context};

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");

    fn fixture(path: &str) -> PathBuf {
        Path::new(ROOT).join("fixtures").join(path)
    }

    fn args(files: &[&str]) -> ScanTerraformArgs {
        ScanTerraformArgs {
            files: files.iter().map(|file| fixture(file)).collect(),
            region: Some("us-east-1".into()),
            rules: RuleSelection { rules: Vec::new(), params: Vec::new() },
            report: ReportArgs {
                format: Format::Json,
                output: None,
                fail_on: FailOn::Low,
                fail_under: None,
                account_id: Some("123456789012".into()),
                all: true,
            },
        }
    }

    fn scan_plan(files: &[&str]) -> Report {
        let (report, unreadable) = block_on(scan(&args(files))).unwrap().unwrap();
        assert!(unreadable.is_none(), "{unreadable:?}");
        report
    }

    /// Rule → compliance per resource of a template, its logical ids named by `addresses`.
    fn template_verdicts(file: &str, addresses: &[(&str, &str)]) -> BTreeMap<(String, String), Compliance> {
        let selection = Selection::new(&[], &[]).unwrap();
        let entries = template::load(&fixture(file), &Context::default()).unwrap();
        let run = block_on(run_rules(&selection, &Mode::offline("template"), &entries)).unwrap().unwrap();
        let address = |id: &str| addresses.iter().find(|(logical, _)| *logical == id).map(|(_, a)| (*a).to_owned());
        run.findings
            .iter()
            .map(|f| ((f.rule.to_owned(), address(&f.resource_id).expect(&f.resource_id)), f.compliance))
            .collect()
    }

    fn verdicts(report: &Report) -> BTreeMap<(String, String), Compliance> {
        report.findings.iter().map(|f| ((f.rule.to_owned(), f.resource_id.clone()), f.compliance)).collect()
    }

    #[test]
    fn the_bad_and_good_pipelines_as_plans_get_the_templates_verdicts_rule_by_rule() {
        let bad = [
            ("PaymentsBuild", "aws_codebuild_project.payments"),
            ("ImageBuilder", "aws_codebuild_project.image_builder"),
            ("CoverageReports", "aws_codebuild_report_group.coverage"),
            ("PaymentsPipeline", "aws_codepipeline.payments"),
            ("ImagesPipeline", "aws_codepipeline.images"),
        ];
        let good = [("BuildProject", "aws_codebuild_project.build"), ("Pipeline", "aws_codepipeline.web_app")];
        for (yaml, plan, addresses) in [
            ("templates/bad-pipeline.yaml", "terraform/bad-pipeline.plan.json", &bad[..]),
            ("templates/good-pipeline.yaml", "terraform/good-pipeline.plan.json", &good[..]),
        ] {
            let expected = template_verdicts(yaml, addresses);
            let report = scan_plan(&[plan]);
            assert_eq!(verdicts(&report), expected, "{plan} against {yaml}");
            assert!(expected.values().any(|c| *c == Compliance::Compliant));
        }
        let bad = scan_plan(&["terraform/bad-pipeline.plan.json"]);
        assert!(bad.fails(FailOn::Low, None));
        let good = scan_plan(&["terraform/good-pipeline.plan.json"]);
        assert!(!good.fails(FailOn::Low, None), "{:?}", good.failures());
        assert_eq!(good.count(Compliance::NonCompliant), 0);
    }

    #[test]
    fn results_name_the_address_the_plan_action_and_the_attribute() {
        let report = scan_plan(&["terraform/bad-pipeline.plan.json"]);
        let finding = report
            .findings
            .iter()
            .find(|f| {
                f.rule == "codebuild-project-privileged-mode-disabled" && f.compliance == Compliance::NonCompliant
            })
            .unwrap();
        assert_eq!(finding.resource_id, "aws_codebuild_project.image_builder");
        assert_eq!(finding.resource_name.as_deref(), Some("docker-image-builder"));
        let location = finding.location.as_ref().unwrap();
        assert_eq!(location.logical_id.as_deref(), Some("aws_codebuild_project.image_builder"));
        assert_eq!(location.action.as_deref(), Some("update"));
        assert_eq!(location.property.as_deref(), Some("environment.privileged_mode"));

        let json = report.render(Format::Json, &Options::default()).unwrap();
        assert!(json.contains(r#""action": "update""#), "{json}");
        let sarif: serde_json::Value =
            serde_json::from_str(&report.render(Format::Sarif, &Options::default()).unwrap()).unwrap();
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        let result =
            results.iter().find(|r| r["properties"]["resourceId"] == "aws_codebuild_project.image_builder").unwrap();
        let logical = &result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"];
        assert!(logical.as_str().unwrap().ends_with("/aws_codebuild_project.image_builder"), "{logical}");
        assert_eq!(sarif["runs"][0]["automationDetails"]["id"], "pipesec/scan-terraform/");
    }

    #[test]
    fn a_value_known_after_apply_makes_the_rules_reading_it_not_applicable() {
        let report = scan_plan(&["terraform/modules.plan.json"]);
        let of = |rule: &str, id: &str| {
            report
                .findings
                .iter()
                .find(|f| f.rule == rule && f.resource_id == id)
                .map(|f| (f.compliance, f.annotation.clone()))
        };
        let (compliance, reason) =
            of("codebuild-project-privileged-mode-disabled", r#"module.ci.aws_codebuild_project.worker["east"]"#)
                .unwrap();
        assert_eq!(compliance, Compliance::NotApplicable);
        assert!(reason.unwrap().contains("environment[0].privileged_mode is unknown before deployment"));
        let (compliance, _) = of(
            "codebuild-report-group-export-encrypted",
            r#"module.ci.module.reports.aws_codebuild_report_group.tests["unit"]"#,
        )
        .unwrap();
        assert_eq!(compliance, Compliance::NotApplicable);
        // A sensitive PLAINTEXT value is still a plaintext secret.
        let (compliance, _) =
            of("codebuild-project-no-plaintext-secrets", "module.ci.aws_codebuild_project.api[0]").unwrap();
        assert_eq!(compliance, Compliance::NonCompliant);
        // The destroyed project is not judged.
        assert!(report.findings.iter().all(|f| !f.resource_id.contains("legacy")));
    }

    #[test]
    fn a_sensitive_canary_appears_in_no_output_of_any_format() {
        let report = scan_plan(&["terraform/modules.plan.json", "terraform/state.json"]);
        let options = Options { account_id: Some("123456789012".into()), region: Some("us-east-1".into()), all: true };
        let cmk = report
            .findings
            .iter()
            .find(|f| f.rule == "codebuild-project-cmk-encrypted" && f.resource_id.contains("worker"))
            .unwrap();
        assert_eq!(cmk.compliance, Compliance::Compliant, "judged from the sensitive value");
        assert!(cmk.annotation.as_deref().unwrap().contains("(sensitive)"));
        for format in [Format::Table, Format::Json, Format::Sarif, Format::Asff, Format::Html] {
            let text = report.render(format, &options).unwrap();
            assert!(!text.contains("canary"), "{format:?} prints a sensitive value");
        }
    }

    #[test]
    fn an_unsupported_format_version_is_a_clear_error() {
        let err = block_on(scan(&args(&["terraform/unsupported-version.plan.json"]))).unwrap().unwrap_err();
        let message = err.to_string();
        assert!(message.contains("unsupported Terraform JSON format_version `2.0`"), "{message}");
        assert!(message.contains("1.x"), "{message}");
    }
}
