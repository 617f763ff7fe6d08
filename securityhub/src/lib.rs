//! The optional Security Hub function: AWS Config "Config Rules Compliance Change" events of the
//! pipesec rules become ASFF findings (BatchImportFindings) with the rule's severity and
//! remediation from the catalog and a SEC11-BP07 reference; a resource that turns COMPLIANT,
//! NOT_APPLICABLE or is deleted has its finding resolved and archived.
//!
//! Config's own Security Hub integration already forwards custom-rule results, all as MEDIUM;
//! this adds the per-rule severity and the remediation text.

pub mod error;
pub mod event;
pub mod finding;

use aws_sdk_securityhub::Client;
use pipesec_engine::RuleInfo;
use serde::Serialize;
use serde_json::Value;

pub use error::{Error, Result};
use event::ComplianceChange;
use finding::{Plan, State};

/// What one invocation did: the Lambda response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// "imported", "resolved" or "ignored".
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The function's handler: the Security Hub client and the catalog, built once per process.
#[derive(Debug)]
pub struct Function {
    client: Client,
    catalog: Vec<RuleInfo>,
}

impl pipesec_engine::Handler for Function {
    const NAME: &'static str = "pipesec-securityhub";
    type Output = Outcome;
    type Error = Error;

    fn new(sdk_config: &aws_config::SdkConfig) -> Self {
        Function { client: Client::new(sdk_config), catalog: pipesec_rules::catalog() }
    }

    fn handle(&self, payload: Value) -> impl Future<Output = Result<Outcome>> + Send {
        handle(&self.client, &self.catalog, payload)
    }
}

/// Handles one EventBridge event.
pub async fn handle(client: &Client, catalog: &[RuleInfo], payload: Value) -> Result<Outcome> {
    let change = ComplianceChange::from_value(payload)?;
    let finding = match finding::plan(&change, catalog) {
        Plan::Ignore(reason) => {
            tracing::info!(config_rule = %change.detail.config_rule_name, resource_id = %change.detail.resource_id, %reason, "no finding");
            return Ok(Outcome { action: "ignored", finding_id: None, reason: Some(reason) });
        }
        Plan::Import(finding) => finding,
    };
    let output = client.batch_import_findings().findings(finding.to_asff()).send().await.map_err(|err| {
        pipesec_engine::Error::from_sdk("securityhub:BatchImportFindings", "the function's execution role", &err)
    })?;
    let failed: Vec<String> = output
        .failed_findings()
        .iter()
        .map(|failure| {
            format!(
                "{}: {} {}",
                failure.id().unwrap_or_default(),
                failure.error_code().unwrap_or_default(),
                failure.error_message().unwrap_or_default()
            )
        })
        .collect();
    if !failed.is_empty() {
        return Err(Error::FailedFindings(failed));
    }
    let action = if finding.state == State::Failed { "imported" } else { "resolved" };
    tracing::info!(rule = finding.rule.id, resource_id = %finding.resource_id, finding_id = %finding.id, action, "finding sent");
    Ok(Outcome { action, finding_id: Some(finding.id), reason: None })
}
