//! The EventBridge event AWS Config sends when a rule's result for a resource changes
//! (`detail-type` "Config Rules Compliance Change").

use serde::Deserialize;
use serde_json::Value;

use crate::error::Result;

pub const DETAIL_TYPE: &str = "Config Rules Compliance Change";

/// The parts of the event a finding is made of.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ComplianceChange {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    pub account: String,
    pub region: String,
    /// When the change happened (ISO 8601): the finding's UpdatedAt.
    pub time: String,
    pub detail: Detail,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    pub resource_id: String,
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub aws_account_id: Option<String>,
    #[serde(default)]
    pub aws_region: Option<String>,
    pub config_rule_name: String,
    #[serde(rename = "configRuleARN", default)]
    pub config_rule_arn: Option<String>,
    /// Absent when the result is gone (the rule or the resource was deleted).
    #[serde(default)]
    pub new_evaluation_result: Option<EvaluationResult>,
    #[serde(default)]
    pub old_evaluation_result: Option<EvaluationResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationResult {
    pub compliance_type: String,
    #[serde(default)]
    pub annotation: Option<String>,
    #[serde(default)]
    pub result_recorded_time: Option<String>,
    #[serde(default)]
    pub evaluation_result_identifier: Option<Value>,
}

impl ComplianceChange {
    pub fn from_value(value: Value) -> Result<Self> {
        let change: ComplianceChange = serde_json::from_value(value).map_err(|err| {
            pipesec_engine::Error::InvalidEvent(format!(
                "not a Config compliance-change event: {}",
                pipesec_engine::error::without_values(&err.to_string())
            ))
        })?;
        if change.source != "aws.config" || change.detail_type != DETAIL_TYPE {
            return Err(pipesec_engine::Error::InvalidEvent(format!(
                "expected source aws.config and detail-type `{DETAIL_TYPE}`, got `{}` / `{}`",
                change.source, change.detail_type
            ))
            .into());
        }
        Ok(change)
    }

    /// The evaluated account: the detail's, else the event's.
    pub fn account_id(&self) -> &str {
        self.detail.aws_account_id.as_deref().unwrap_or(&self.account)
    }

    pub fn region(&self) -> &str {
        self.detail.aws_region.as_deref().unwrap_or(&self.region)
    }

    /// The partition, from the rule's ARN (`arn:aws-us-gov:config:…`); `aws` when absent.
    pub fn partition(&self) -> &str {
        self.detail.config_rule_arn.as_deref().and_then(|arn| arn.split(':').nth(1)).unwrap_or("aws")
    }

    /// The resource type: the detail's, else the one in the result's qualifier.
    pub fn resource_type(&self) -> Option<String> {
        self.detail.resource_type.clone().or_else(|| {
            [&self.detail.new_evaluation_result, &self.detail.old_evaluation_result].into_iter().flatten().find_map(
                |result| {
                    let qualifier = result.evaluation_result_identifier.as_ref()?.get("evaluationResultQualifier")?;
                    Some(qualifier.get("resourceType")?.as_str()?.to_owned())
                },
            )
        })
    }

    pub fn new_compliance(&self) -> Option<&str> {
        self.detail.new_evaluation_result.as_ref().map(|result| result.compliance_type.as_str())
    }

    pub fn old_compliance(&self) -> Option<&str> {
        self.detail.old_evaluation_result.as_ref().map(|result| result.compliance_type.as_str())
    }
}
