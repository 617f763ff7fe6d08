//! `--format asff`: the request body of Security Hub's BatchImportFindings (`{"Findings": [...]}`,
//! e.g. `aws securityhub batch-import-findings --cli-input-json file://findings.json`).
//!
//! Every evaluated result is a finding, so that importing a later run resolves what was fixed:
//! NON_COMPLIANT is `FAILED` and ACTIVE with the rule's severity; COMPLIANT is `PASSED` and
//! NOT_APPLICABLE `NOT_AVAILABLE`, both INFORMATIONAL and ARCHIVED. A finding's `Id` depends only
//! on the rule and the resource, so a re-import updates it.

use std::time::SystemTime;

use aws_sdk_config::primitives::{DateTime, DateTimeFormat};
use pipesec_engine::Compliance;
use serde_json::{Value, json};

use super::{Options, Report, SEC11_BP07, SEC11_BP07_URL, resource_label, title};
use crate::error::{CliError, Result};
use crate::runner::Finding;

pub const SCHEMA_VERSION: &str = "2018-10-08";
const TYPE: &str = "Software and Configuration Checks/AWS Security Best Practices";

pub fn render(report: &Report, options: &Options) -> Result<String> {
    render_at(report, options, SystemTime::now())
}

fn render_at(report: &Report, options: &Options, now: SystemTime) -> Result<String> {
    let now = DateTime::from(now)
        .fmt(DateTimeFormat::DateTime)
        .map_err(|err| CliError::Runtime(format!("cannot format the time: {err}")))?;
    let findings =
        report.findings.iter().map(|finding| asff(report, finding, options, &now)).collect::<Result<Vec<_>>>()?;
    let document = json!({"Findings": findings});
    Ok(serde_json::to_string_pretty(&document).unwrap_or_default() + "\n")
}

/// Text fields have length limits; cut visibly.
fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit - 1).collect();
    cut.push('…');
    cut
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn asff(report: &Report, finding: &Finding, options: &Options, now: &str) -> Result<Value> {
    let account = finding.account_id.as_deref().or(options.account_id.as_deref()).ok_or_else(|| {
        CliError::Usage(format!(
            "--format asff needs the AWS account id, which {} `{}` does not carry: pass --account-id",
            finding.resource_type, finding.resource_id
        ))
    })?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CliError::Usage(format!("`{account}` is not an AWS account id (12 digits)")));
    }
    let region = finding.region.as_deref().or(options.region.as_deref()).ok_or_else(|| {
        CliError::Usage("--format asff needs the region the findings belong to: pass --region".to_owned())
    })?;
    let partition = partition(region);
    let rule = report.rule(finding.rule);
    let remediation = rule.map_or("", |rule| rule.remediation);
    let area = finding.area.title();
    let (status, label, record_state) = match finding.compliance {
        Compliance::NonCompliant => ("FAILED", finding.severity.as_str(), "ACTIVE"),
        Compliance::Compliant => ("PASSED", "INFORMATIONAL", "ARCHIVED"),
        Compliance::NotApplicable => ("NOT_AVAILABLE", "INFORMATIONAL", "ARCHIVED"),
    };
    let resource_key = match (&finding.arn, &finding.location) {
        (Some(arn), _) => arn.clone(),
        (None, Some(location)) => format!("{}#{}", location.file, finding.resource_id),
        (None, None) => format!("{account}/{region}/{}/{}", finding.resource_type, finding.resource_id),
    };
    let name = finding.resource_name.as_deref().filter(|name| !name.is_empty());
    // The name goes where the ASFF resource details of the type keep it; types without details
    // of their own keep it in `Other` (a map of strings).
    let (resource_type, details) = match finding.resource_type.as_str() {
        "AWS::CodeBuild::Project" => {
            ("AwsCodeBuildProject", name.map(|name| json!({"AwsCodeBuildProject": {"Name": name}})))
        }
        "AWS::IAM::Role" => ("AwsIamRole", name.map(|name| json!({"AwsIamRole": {"RoleName": name}}))),
        _ => ("Other", name.map(|name| json!({"Other": {"Name": cut(name, 1024)}}))),
    };
    let mut product_fields = json!({
        "pipesec/RuleId": finding.rule,
        "pipesec/ResourceType": finding.resource_type,
        "pipesec/ResourceId": cut(&finding.resource_id, 4096),
        "pipesec/Area": area,
        "pipesec/WellArchitected": SEC11_BP07,
    });
    if let Some(name) = name {
        product_fields["pipesec/ResourceName"] = Value::from(cut(name, 4096));
    }
    if let Some(location) = &finding.location {
        product_fields["pipesec/File"] = Value::from(location.file.clone());
        if let Some(property) = &location.property {
            product_fields["pipesec/Property"] = Value::from(property.clone());
        }
    }
    let mut resource = json!({
        "Type": resource_type,
        "Id": finding.arn.clone().unwrap_or_else(|| finding.resource_id.clone()),
        "Partition": partition,
        "Region": region,
    });
    if let Some(details) = details {
        resource["Details"] = details;
    }
    Ok(json!({
        "SchemaVersion": SCHEMA_VERSION,
        "Id": cut(&format!("{resource_key}/pipesec/{}", finding.rule), 512),
        "ProductArn": format!("arn:{partition}:securityhub:{region}:{account}:product/{account}/default"),
        "GeneratorId": format!("pipesec/{}", finding.rule),
        "AwsAccountId": account,
        "Types": [TYPE],
        "CreatedAt": now,
        "UpdatedAt": now,
        "Severity": {"Label": label},
        "Title": cut(&format!("{} ({SEC11_BP07})", title(finding.rule)), 256),
        "Description": cut(
            &format!("{} {}: {}", finding.resource_type, resource_label(finding), finding.annotation.as_deref().unwrap_or(finding.compliance.as_str())),
            1024,
        ),
        "Remediation": {"Recommendation": {"Text": cut(remediation, 512), "Url": SEC11_BP07_URL}},
        "ProductFields": product_fields,
        "Resources": [resource],
        "Compliance": {
            "Status": status,
            "RelatedRequirements": [format!("AWS Well-Architected Framework {SEC11_BP07}")],
        },
        "RecordState": record_state,
        "SourceUrl": SEC11_BP07_URL,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    fn findings(options: &Options) -> Vec<Value> {
        let text = render_at(&sample(), options, SystemTime::UNIX_EPOCH).unwrap();
        let document: Value = serde_json::from_str(&text).unwrap();
        document["Findings"].as_array().unwrap().clone()
    }

    #[test]
    fn every_finding_has_the_fields_batch_import_findings_requires() {
        let findings = findings(&Options::default());
        assert_eq!(findings.len(), 5, "every evaluated result");
        for finding in &findings {
            for field in [
                "SchemaVersion",
                "Id",
                "ProductArn",
                "GeneratorId",
                "AwsAccountId",
                "Types",
                "CreatedAt",
                "UpdatedAt",
                "Severity",
                "Title",
                "Description",
                "Resources",
            ] {
                assert!(!finding[field].is_null(), "{field} missing in {finding}");
            }
            assert_eq!(finding["SchemaVersion"], "2018-10-08");
            assert_eq!(finding["CreatedAt"], "1970-01-01T00:00:00Z");
            assert!(finding["ProductArn"].as_str().unwrap().ends_with(":product/123456789012/default"));
            assert!(finding["Title"].as_str().unwrap().contains("SEC11-BP07"));
            assert_eq!(finding["Remediation"]["Recommendation"]["Url"], SEC11_BP07_URL);
            assert!(finding["Description"].as_str().unwrap().chars().count() <= 1024);
        }
        let failed = findings
            .iter()
            .find(|f| f["ProductFields"]["pipesec/RuleId"] == "codebuild-project-no-plaintext-secrets")
            .unwrap();
        assert_eq!(
            (failed["Compliance"]["Status"].as_str(), failed["Severity"]["Label"].as_str()),
            (Some("FAILED"), Some("CRITICAL"))
        );
        assert_eq!(failed["RecordState"], "ACTIVE");
        assert_eq!(failed["Resources"][0]["Type"], "AwsCodeBuildProject");
        let passed = findings.iter().find(|f| f["Compliance"]["Status"] == "PASSED").unwrap();
        assert_eq!(
            (passed["Severity"]["Label"].as_str(), passed["RecordState"].as_str()),
            (Some("INFORMATIONAL"), Some("ARCHIVED"))
        );
    }

    #[test]
    fn the_resource_name_is_in_the_details_asff_has_for_it() {
        let findings = findings(&Options::default());
        let secrets = findings
            .iter()
            .find(|f| f["ProductFields"]["pipesec/RuleId"] == "codebuild-project-no-plaintext-secrets")
            .unwrap();
        let resource = &secrets["Resources"][0];
        assert_eq!(resource["Type"], "AwsCodeBuildProject");
        assert_eq!(resource["Details"], json!({"AwsCodeBuildProject": {"Name": "payments"}}));
        assert_eq!(secrets["ProductFields"]["pipesec/ResourceName"], "payments");
        assert_eq!(secrets["ProductFields"]["pipesec/ResourceId"], "0e6c4a1d-5b7f-4c2e-9a8d-3f1b2c4d5e6f");
        let description = secrets["Description"].as_str().unwrap();
        assert!(description.contains("payments (0e6c4a1d-5b7f-4c2e-9a8d-3f1b2c4d5e6f)"), "{description}");
        // ProductFields hold strings only; Details only the members ASFF defines for the type.
        for finding in &findings {
            assert!(finding["ProductFields"].as_object().unwrap().values().all(Value::is_string), "{finding}");
            if let Some(details) = finding["Resources"][0].get("Details") {
                let allowed = [("AwsCodeBuildProject", "Name"), ("AwsIamRole", "RoleName"), ("Other", "Name")];
                let (kind, members) = details.as_object().unwrap().iter().next().unwrap();
                let member = members.as_object().unwrap().keys().next().unwrap();
                assert!(allowed.contains(&(kind.as_str(), member.as_str())), "{details}");
            }
        }

        let mut pipelines = sample();
        for finding in &mut pipelines.findings {
            finding.resource_type = "AWS::CodePipeline::Pipeline".into();
        }
        let text = render_at(&pipelines, &Options::default(), SystemTime::UNIX_EPOCH).unwrap();
        let document: Value = serde_json::from_str(&text).unwrap();
        let findings = document["Findings"].as_array().unwrap();
        let images = findings.iter().find(|f| f["ProductFields"]["pipesec/ResourceId"] == "images").unwrap();
        let resource = &images["Resources"][0];
        assert_eq!(
            (resource["Type"].as_str(), &resource["Details"]),
            (Some("Other"), &json!({"Other": {"Name": "images"}}))
        );
    }

    #[test]
    fn ids_are_stable_per_rule_and_resource() {
        let first = findings(&Options::default());
        let ids: std::collections::BTreeSet<&str> = first.iter().map(|f| f["Id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), first.len(), "unique");
        assert!(ids.contains(
            "arn:aws:codebuild:us-east-1:123456789012:project/images/pipesec/codebuild-project-vpc-attached"
        ));
    }

    #[test]
    fn results_without_an_account_need_one() {
        let mut report = sample();
        for finding in &mut report.findings {
            finding.account_id = None;
        }
        let err = render_at(&report, &Options::default(), SystemTime::UNIX_EPOCH).unwrap_err();
        assert!(err.to_string().contains("--account-id"), "{err}");
        let options = Options { account_id: Some("111122223333".into()), ..Options::default() };
        assert!(render_at(&report, &options, SystemTime::UNIX_EPOCH).unwrap().contains("111122223333"));
        let options = Options { account_id: Some("nope".into()), ..Options::default() };
        assert!(render_at(&report, &options, SystemTime::UNIX_EPOCH).is_err());
    }
}
