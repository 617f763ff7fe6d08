//! `--format json`: the JSON output contract (docs/output.md), `{"results": [...], "summary": {...}}`, results by rule
//! then resource id, each with the resource's name when it is known. Template results also say
//! where they are (`location`).

use serde::Serialize;
use serde_json::{Value, json};

use super::Report;
use crate::runner::Finding;

/// One result, its fields in the contract's order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Row<'a> {
    rule: &'a str,
    resource_type: &'a str,
    resource_id: &'a str,
    /// The name people know the resource by, when known (a project's `resourceId` is a UUID).
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<&'a str>,
    /// The account and region of a resource read from AWS (an account, an aggregator, a snapshot).
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    compliance: &'a str,
    annotation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Value>,
}

fn row(finding: &Finding) -> Row<'_> {
    let location = finding.location.as_ref().filter(|location| location.logical_id.is_some()).map(|location| {
        let mut value = json!({
            "file": location.file,
            "logicalId": location.logical_id,
            "property": location.property,
            "line": location.line,
        });
        if let Some(action) = &location.action {
            value["action"] = Value::from(action.as_str());
        }
        value
    });
    Row {
        rule: finding.rule,
        resource_type: &finding.resource_type,
        resource_id: &finding.resource_id,
        resource_name: finding.resource_name.as_deref().filter(|name| !name.is_empty()),
        account_id: finding.account_id.as_deref(),
        region: finding.region.as_deref(),
        compliance: finding.compliance.as_str(),
        annotation: finding.annotation.as_deref(),
        location,
    }
}

pub fn render(report: &Report) -> String {
    #[derive(Serialize)]
    struct Document<'a> {
        results: Vec<Row<'a>>,
        summary: Value,
    }
    // Serialized from structs, not through a `Value`, so that fields keep the contract's order.
    let document = Document { results: report.findings.iter().map(row).collect(), summary: report.summary() };
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn results_follow_the_contract_sorted_by_rule_then_resource() {
        let document: Value = serde_json::from_str(&render(&sample())).unwrap();
        let results = document["results"].as_array().unwrap();
        let keys: Vec<(&str, &str)> =
            results.iter().map(|r| (r["rule"].as_str().unwrap(), r["resourceId"].as_str().unwrap())).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        for result in results {
            let mut fields: Vec<&str> = result.as_object().unwrap().keys().map(String::as_str).collect();
            fields.retain(|field| *field != "location");
            fields.sort_unstable();
            assert_eq!(
                fields,
                [
                    "accountId",
                    "annotation",
                    "compliance",
                    "region",
                    "resourceId",
                    "resourceName",
                    "resourceType",
                    "rule"
                ]
            );
        }
        let named = results.iter().find(|r| r["resourceId"] == "0e6c4a1d-5b7f-4c2e-9a8d-3f1b2c4d5e6f").unwrap();
        assert_eq!(named["resourceName"], "payments");
        let template = results.iter().find(|r| r["resourceId"] == "Builder").unwrap();
        assert_eq!(template["location"]["property"], "Properties.EncryptionKey");
        let text = render(&sample());
        let at = |member: &str| text.find(&format!("\"{member}\":")).unwrap();
        assert!(at("resourceId") < at("resourceName") && at("resourceName") < at("accountId"), "the contract's order");
        assert!(at("accountId") < at("region") && at("region") < at("compliance"), "the contract's order");
        let summary = &document["summary"];
        assert_eq!((summary["total"].as_u64(), summary["nonCompliant"].as_u64()), (Some(5), Some(3)));
        assert_eq!(summary["nonCompliantBySeverity"]["CRITICAL"], 1);
        assert_eq!(summary["pipelines"][0]["pipeline"], "release");
        assert_eq!(summary["pipelines"][0]["accountId"], "123456789012");
        assert!(summary["grade"].is_string() && summary["areas"]["accessControl"].is_number());
    }

    #[test]
    fn a_result_without_a_known_name_has_no_resource_name() {
        let mut report = sample();
        for finding in &mut report.findings {
            finding.resource_name = None;
        }
        let document: Value = serde_json::from_str(&render(&report)).unwrap();
        assert!(document["results"].as_array().unwrap().iter().all(|r| r.get("resourceName").is_none()));
    }
}
