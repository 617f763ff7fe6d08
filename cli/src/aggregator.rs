//! An organization's resources and compliance, read through an AWS Config aggregator in the
//! calling account (SelectAggregateResourceConfig): every account and region the aggregator
//! collects, one paginated query per resource type. Used by `pipesec evaluate --aggregator` and by
//! the scorer function (`scorer/`), so both read the organization the same way.
//!
//! Compliance comes from the `AWS::Config::ResourceCompliance` items Config records for every
//! evaluated resource (one item per resource, listing each rule's verdict): one query for the
//! whole organization instead of a GetAggregateComplianceDetailsByConfigRule call per rule,
//! account and region. It needs the member accounts' recorders to record that type (recording
//! all supported types does); an account whose compliance was never aggregated has no item, and
//! so no finding and no score — unknown, never compliant.

use std::collections::BTreeMap;

use pipesec_engine::{Aws, Compliance, ConfigurationItem, Error, Result, RuleInfo};
use serde::Deserialize;

use crate::input::{Entry, Origin};
use crate::runner::Finding;

/// SelectAggregateResourceConfig's page size limit.
const PAGE_SIZE: i32 = 100;

/// The item fields a rule can read (as `pipesec_engine::sweep` selects them, and `accountId`, which
/// tells the organization's accounts apart).
pub const RULE_FIELDS: &str = "resourceId, resourceName, resourceType, arn, accountId, awsRegion, configuration, \
    supplementaryConfiguration, configurationItemStatus, configurationItemCaptureTime, tags";
/// The item fields that tell which resources make up a pipeline ([`crate::pipelines`]): a pipeline's
/// stages, a project's names and service role; a fraction of a project's configuration, for the
/// scorer, which reads every pipeline and project of the organization.
pub const PIPELINE_MEMBER_FIELDS: &str = "resourceId, resourceName, resourceType, arn, accountId, awsRegion, \
    configurationItemStatus, configurationItemCaptureTime, configuration.pipeline, configuration.name, \
    configuration.serviceRole";

/// The resource type of Config's per-resource compliance items.
pub const RESOURCE_COMPLIANCE: &str = "AWS::Config::ResourceCompliance";

/// Prefix of every pipesec Config rule (`deploy/catalog.py` PREFIX).
const RULE_PREFIX: &str = "pipesec-";
/// Config names a conformance pack's rules `<name>-conformance-pack-<random>`.
const CONFORMANCE_PACK_SUFFIX: &str = "-conformance-pack-";

/// What SelectAggregateResourceConfig calls, for the read-only policy and error messages.
pub const ACTION: &str = "config:SelectAggregateResourceConfig";

/// Every row of `expression` over the aggregator, all pages.
async fn select(aws: &Aws, aggregator: &str, expression: &str) -> Result<Vec<String>> {
    let mut rows = Vec::new();
    let mut pages = aws
        .config()
        .select_aggregate_resource_config()
        .configuration_aggregator_name(aggregator)
        .expression(expression)
        .limit(PAGE_SIZE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        rows.extend(page.map_err(|err| aws.error(ACTION, err))?.results.unwrap_or_default());
    }
    Ok(rows)
}

/// The current resources of `resource_type` in every account and region of the aggregator, with
/// the item `fields` named ([`RULE_FIELDS`] or [`PIPELINE_MEMBER_FIELDS`]), and the errors of the
/// rows that could not be read as items.
pub async fn inventory(
    aws: &Aws,
    aggregator: &str,
    resource_type: &str,
    fields: &str,
) -> Result<(Vec<Entry>, Vec<Error>)> {
    // Resource types and fields are constants, never user input, so quoting is not an issue.
    let expression = format!("SELECT {fields} WHERE resourceType = '{resource_type}'");
    let (mut entries, mut unreadable) = (Vec::new(), Vec::new());
    for row in select(aws, aggregator, &expression).await? {
        match ConfigurationItem::from_json(&row) {
            Ok(item) if item.status.is_gone() => {}
            Ok(item) => entries.push(Entry { item, origin: Origin::Account }),
            Err(err) => unreadable.push(err),
        }
    }
    Ok((entries, unreadable))
}

/// One `AWS::Config::ResourceCompliance` row, as selected by [`compliance`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ComplianceRow {
    account_id: String,
    aws_region: String,
    configuration: ComplianceConfiguration,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ComplianceConfiguration {
    target_resource_id: String,
    target_resource_type: String,
    #[serde(default)]
    config_rule_list: Vec<RuleCompliance>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleCompliance {
    config_rule_name: String,
    compliance_type: String,
}

/// The verdicts of the catalog's rules on every resource of the aggregator's accounts, as
/// findings (no annotation: the aggregate does not carry it). A verdict other than COMPLIANT,
/// NON_COMPLIANT or NOT_APPLICABLE (INSUFFICIENT_DATA) gives no finding: nothing is known.
/// Rows that cannot be read are returned as errors.
pub async fn compliance(aws: &Aws, aggregator: &str, catalog: &[RuleInfo]) -> Result<(Vec<Finding>, Vec<Error>)> {
    let expression = format!(
        "SELECT accountId, awsRegion, configuration.targetResourceId, configuration.targetResourceType, \
         configuration.configRuleList WHERE resourceType = '{RESOURCE_COMPLIANCE}' \
         AND configuration.configRuleList.configRuleName LIKE '{RULE_PREFIX}%'"
    );
    let (mut findings, mut unreadable) = (Vec::new(), Vec::new());
    for row in select(aws, aggregator, &expression).await? {
        match serde_json::from_str::<ComplianceRow>(&row) {
            Ok(row) => findings.extend(row_findings(&row, catalog)),
            Err(err) => unreadable.push(Error::InvalidItem {
                resource_type: RESOURCE_COMPLIANCE.to_owned(),
                resource_id: "?".to_owned(),
                path: String::new(),
                reason: err.to_string(),
            }),
        }
    }
    Ok((findings, unreadable))
}

fn row_findings(row: &ComplianceRow, catalog: &[RuleInfo]) -> Vec<Finding> {
    let target = &row.configuration;
    // A resource evaluated twice by one rule (a pack and a single-account deployment): the last wins.
    let mut verdicts: BTreeMap<&'static str, (&RuleInfo, Compliance)> = BTreeMap::new();
    for listed in &target.config_rule_list {
        let Some(rule) = catalog_rule(&listed.config_rule_name, catalog) else { continue };
        let compliance = match listed.compliance_type.as_str() {
            "COMPLIANT" => Compliance::Compliant,
            "NON_COMPLIANT" => Compliance::NonCompliant,
            "NOT_APPLICABLE" => Compliance::NotApplicable,
            _ => continue,
        };
        verdicts.insert(rule.id, (rule, compliance));
    }
    verdicts
        .into_values()
        .map(|(rule, compliance)| Finding {
            rule: rule.id,
            severity: rule.severity,
            area: rule.area,
            weight: rule.weight,
            resource_type: target.target_resource_type.clone(),
            resource_id: target.target_resource_id.clone(),
            resource_name: None,
            arn: None,
            account_id: Some(row.account_id.clone()),
            region: Some(row.aws_region.clone()),
            compliance,
            annotation: None,
            location: None,
        })
        .collect()
}

/// The catalog rule a deployed Config rule runs: `pipesec-<id>`, or a conformance pack's copy
/// `pipesec-<id>-conformance-pack-<random>`. Exact ids only, so that an id that begins another
/// (`x` and `x-y`) is never mistaken for it.
pub fn catalog_rule<'a>(config_rule_name: &str, catalog: &'a [RuleInfo]) -> Option<&'a RuleInfo> {
    let name = config_rule_name.strip_prefix(RULE_PREFIX)?;
    let id = match name.rfind(CONFORMANCE_PACK_SUFFIX) {
        Some(at) if name[at + CONFORMANCE_PACK_SUFFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric()) => {
            &name[..at]
        }
        _ => name,
    };
    catalog.iter().find(|rule| rule.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployed_rule_names_map_back_to_catalog_ids() {
        let catalog = pipesec_rules::catalog();
        let id = |name: &str| catalog_rule(name, &catalog).map(|rule| rule.id);
        assert_eq!(id("pipesec-codebuild-project-not-public"), Some("codebuild-project-not-public"));
        assert_eq!(
            id("pipesec-codebuild-project-not-public-conformance-pack-a1b2c3d4"),
            Some("codebuild-project-not-public")
        );
        assert_eq!(id("codebuild-project-not-public"), None, "another pack's rule of the same id");
        assert_eq!(id("pipesec-codebuild-project-not"), None);
        assert_eq!(id("pipesec-codebuild-project-not-public-conformance-pack-a-b"), None);
    }

    #[test]
    fn compliance_rows_become_findings_and_unknown_verdicts_none() {
        let catalog = pipesec_rules::catalog();
        let row: ComplianceRow = serde_json::from_value(serde_json::json!({
            "accountId": "111111111111",
            "awsRegion": "eu-west-1",
            "configuration": {
                "targetResourceId": "release",
                "targetResourceType": "AWS::CodePipeline::Pipeline",
                "complianceType": "NON_COMPLIANT",
                "configRuleList": [
                    {"configRuleName": "pipesec-codepipeline-approval-before-deploy-conformance-pack-x1",
                     "complianceType": "NON_COMPLIANT"},
                    {"configRuleName": "pipesec-codepipeline-security-scan-stage", "complianceType": "COMPLIANT"},
                    {"configRuleName": "pipesec-codepipeline-build-isolation", "complianceType": "INSUFFICIENT_DATA"},
                    {"configRuleName": "someone-elses-rule", "complianceType": "NON_COMPLIANT"}
                ]
            }
        }))
        .unwrap();
        let findings = row_findings(&row, &catalog);
        let verdicts: Vec<(&str, Compliance)> = findings.iter().map(|f| (f.rule, f.compliance)).collect();
        assert_eq!(
            verdicts,
            [
                ("codepipeline-approval-before-deploy", Compliance::NonCompliant),
                ("codepipeline-security-scan-stage", Compliance::Compliant)
            ]
        );
        assert!(findings.iter().all(|f| f.account_id.as_deref() == Some("111111111111") && f.weight > 0));
    }
}
