//! `--format sarif`: SARIF 2.1.0 as GitHub code scanning takes it. One run; every rule evaluated
//! is a `reportingDescriptor` (help text = the remediation, level and `security-severity` from the
//! rule's severity); every NON_COMPLIANT result is a `result` with a physical location (the
//! template line, the snapshot file, or a stable path naming the AWS resource), a logical
//! location (the resource) and a partial fingerprint so that alerts match across runs.

use std::fmt::Write as _;

use pipesec_engine::Severity;
use serde_json::{Value, json};

use super::{Report, SEC11_BP07, SEC11_BP07_URL, fingerprint, resource_label, title};
use crate::runner::Finding;

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub ranks security alerts by this number (critical > 9.0, high 7.0-8.9, medium 4.0-6.9).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

pub fn render(report: &Report) -> String {
    let rules: Vec<Value> = report
        .rules
        .iter()
        .map(|rule| {
            let area = rule.area.title();
            json!({
                "id": rule.id,
                "name": title(rule.id).replace(' ', ""),
                "shortDescription": {"text": title(rule.id)},
                "fullDescription": {"text": format!(
                    "{} ({}): pipesec rule of the {area} area of {SEC11_BP07}.", title(rule.id), rule.resource_type
                )},
                "helpUri": SEC11_BP07_URL,
                "help": {
                    "text": rule.remediation,
                    "markdown": format!("**Remediation:** {}\n\nAssesses [{SEC11_BP07}]({SEC11_BP07_URL}).", rule.remediation),
                },
                "defaultConfiguration": {"level": level(rule.severity)},
                "properties": {
                    "security-severity": security_severity(rule.severity),
                    "precision": "high",
                    "tags": ["security", "ci-cd", SEC11_BP07, area],
                },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .filter(|finding| finding.is_failure())
        .map(|finding| {
            let index = report.rules.iter().position(|rule| rule.id == finding.rule);
            let index = index.and_then(|index| i64::try_from(index).ok()).unwrap_or(-1);
            json!({
                "ruleId": finding.rule,
                "ruleIndex": index,
                "level": level(finding.severity),
                "message": {"text": format!(
                    "{} {}: {}",
                    finding.resource_type,
                    resource_label(finding),
                    finding.annotation.as_deref().unwrap_or("non-compliant")
                )},
                "locations": [location(finding)],
                "properties": resource_properties(finding),
                "partialFingerprints": {
                    "pipesecResource/v1": fingerprint(&format!(
                        "{}|{}|{}|{}", finding.rule, finding.resource_type, finding.resource_id,
                        finding.location.as_ref().map_or("", |location| location.file.as_str())
                    )),
                },
            })
        })
        .collect();
    let document = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "pipesec",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": SEC11_BP07_URL,
                "rules": rules,
            }},
            "automationDetails": {"id": format!("pipesec/{}/", report.command)},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}

/// The resource, member by member, in the result's property bag (the JSON format's names).
fn resource_properties(finding: &Finding) -> Value {
    let mut properties = json!({"resourceType": finding.resource_type, "resourceId": finding.resource_id});
    if let Some(name) = finding.resource_name.as_deref().filter(|name| !name.is_empty()) {
        properties["resourceName"] = Value::from(name);
    }
    if let Some(action) = finding.location.as_ref().and_then(|location| location.action.as_deref()) {
        properties["action"] = Value::from(action);
    }
    properties
}

fn location(finding: &Finding) -> Value {
    let logical = json!([{
        "name": finding.display_name(),
        "fullyQualifiedName": finding.arn.clone().unwrap_or_else(|| format!("{}/{}", finding.resource_type, finding.resource_id)),
        "kind": "resource",
    }]);
    if let Some(location) = &finding.location {
        let mut physical = json!({"artifactLocation": {"uri": file_uri(&location.file)}});
        if let Some(line) = location.line {
            physical["region"] = json!({"startLine": line});
        }
        return json!({"physicalLocation": physical, "logicalLocations": logical});
    }
    // An AWS resource has no file: a stable, readable path that names it keeps alerts apart.
    let path = format!(
        "aws/{}/{}/{}/{}",
        finding.account_id.as_deref().unwrap_or("account"),
        finding.region.as_deref().unwrap_or("region"),
        finding.resource_type.replace("::", "-"),
        finding.resource_id
    );
    json!({"physicalLocation": {"artifactLocation": {"uri": uri_path(&path)}}, "logicalLocations": logical})
}

/// A file's URI: relative to the working directory when it is under it (code scanning resolves
/// paths against the repository root, where CI runs), else an absolute `file://` URI.
fn file_uri(file: &str) -> String {
    let path = std::path::Path::new(file);
    if !path.is_absolute() {
        return uri_path(file);
    }
    match std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(cwd).ok().map(|p| p.display().to_string())) {
        Some(relative) => uri_path(&relative),
        None => format!("file://{}", uri_path(file)),
    }
}

/// A relative URI reference for a path: `/` separators, everything unusual percent-encoded.
fn uri_path(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut out = String::new();
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(char::from(byte)),
            other => {
                let _ = write!(out, "%{other:02X}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    fn document() -> Value {
        serde_json::from_str(&render(&sample())).unwrap()
    }

    #[test]
    fn the_run_has_the_structure_sarif_2_1_0_and_code_scanning_require() {
        let document = document();
        assert_eq!((document["version"].as_str(), document["$schema"].as_str()), (Some("2.1.0"), Some(SCHEMA)));
        let run = &document["runs"][0];
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "pipesec");
        let rules = driver["rules"].as_array().unwrap();
        assert_eq!(rules.len(), pipesec_rules::catalog().len());
        for rule in rules {
            assert!(rule["id"].is_string() && rule["shortDescription"]["text"].is_string());
            assert!(!rule["help"]["text"].as_str().unwrap().is_empty(), "help is the remediation");
            assert!(["error", "warning", "note"].contains(&rule["defaultConfiguration"]["level"].as_str().unwrap()));
            let severity: f64 = rule["properties"]["security-severity"].as_str().unwrap().parse().unwrap();
            assert!((0.0..=10.0).contains(&severity));
        }
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 3, "only NON_COMPLIANT results");
        for result in results {
            let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
            assert_eq!(rules[index]["id"], result["ruleId"]);
            assert!(result["message"]["text"].is_string());
            let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
            assert!(!uri.is_empty() && !uri.contains(':') && !uri.starts_with('/'), "{uri}");
            assert!(result["partialFingerprints"]["pipesecResource/v1"].is_string());
        }
    }

    #[test]
    fn levels_follow_severity_and_templates_point_at_the_line() {
        let document = document();
        let results = document["runs"][0]["results"].as_array().unwrap();
        let of = |rule: &str| results.iter().find(|r| r["ruleId"] == rule).unwrap();
        assert_eq!(of("codebuild-project-no-plaintext-secrets")["level"], "error");
        let template = of("codebuild-project-cmk-encrypted");
        assert_eq!(template["level"], "note");
        let physical = &template["locations"][0]["physicalLocation"];
        assert_eq!(physical["artifactLocation"]["uri"], "templates/build.yaml");
        assert_eq!(physical["region"]["startLine"], 12);
        let account = &of("codebuild-project-privileged-mode-disabled")["locations"][0];
        assert_eq!(
            account["physicalLocation"]["artifactLocation"]["uri"],
            "aws/123456789012/us-east-1/AWS-CodeBuild-Project/images"
        );
        assert_eq!(
            account["logicalLocations"][0]["fullyQualifiedName"],
            "arn:aws:codebuild:us-east-1:123456789012:project/images"
        );
    }

    #[test]
    fn results_name_the_resource_by_its_name_and_keep_its_id() {
        let document = document();
        let results = document["runs"][0]["results"].as_array().unwrap();
        let secrets = results.iter().find(|r| r["ruleId"] == "codebuild-project-no-plaintext-secrets").unwrap();
        let message = secrets["message"]["text"].as_str().unwrap();
        assert!(
            message.starts_with("AWS::CodeBuild::Project payments (0e6c4a1d-5b7f-4c2e-9a8d-3f1b2c4d5e6f): "),
            "{message}"
        );
        assert_eq!(secrets["locations"][0]["logicalLocations"][0]["name"], "payments");
        assert_eq!(
            secrets["properties"],
            json!({"resourceType": "AWS::CodeBuild::Project", "resourceId": "0e6c4a1d-5b7f-4c2e-9a8d-3f1b2c4d5e6f",
                   "resourceName": "payments"})
        );
        let uri = secrets["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.ends_with("/0e6c4a1d-5b7f-4c2e-9a8d-3f1b2c4d5e6f"), "the path keeps the id: {uri}");
    }

    #[test]
    fn uris_are_encoded() {
        assert_eq!(uri_path("./a b/c:d.yaml"), "a%20b/c%3Ad.yaml");
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(file_uri(&cwd.join("t/build.yaml").display().to_string()), "t/build.yaml");
        assert_eq!(file_uri("/elsewhere-pipesec/x y.yaml"), "file:///elsewhere-pipesec/x%20y.yaml");
    }
}
