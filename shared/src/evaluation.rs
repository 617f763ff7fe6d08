//! Evaluations and their delivery with PutEvaluations: batches of at most 100, test mode,
//! rejected evaluations retried and then reported as an error.

use std::time::Duration;

use aws_sdk_config::primitives::DateTime;
use aws_sdk_config::types::{ComplianceType, Evaluation as SdkEvaluation};

use crate::aws::Aws;
use crate::error::{Error, Result};
use crate::event::ResultToken;
use crate::verdict::{Compliance, Verdict, annotation};

/// PutEvaluations' limit per call.
pub const MAX_EVALUATIONS_PER_CALL: usize = 100;
/// Calls per batch while PutEvaluations reports FailedEvaluations.
pub const PUT_ATTEMPTS: u32 = 3;

/// One result for one resource, ready to report.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub resource_type: String,
    pub resource_id: String,
    pub compliance: Compliance,
    /// Already within Config's 256-character limit.
    pub annotation: Option<String>,
    /// The capture time of the item for change triggers, the notification time for sweeps.
    pub ordering_timestamp: DateTime,
}

impl Evaluation {
    pub fn new(resource_type: &str, resource_id: &str, verdict: &Verdict, ordering_timestamp: DateTime) -> Self {
        Evaluation {
            resource_type: resource_type.to_owned(),
            resource_id: resource_id.to_owned(),
            compliance: verdict.compliance,
            annotation: annotation(&verdict.reason),
            ordering_timestamp,
        }
    }

    fn to_sdk(&self) -> SdkEvaluation {
        let compliance = match self.compliance {
            Compliance::Compliant => ComplianceType::Compliant,
            Compliance::NonCompliant => ComplianceType::NonCompliant,
            Compliance::NotApplicable => ComplianceType::NotApplicable,
        };
        SdkEvaluation::builder()
            .compliance_resource_type(&self.resource_type)
            .compliance_resource_id(&self.resource_id)
            .compliance_type(compliance)
            .set_annotation(self.annotation.clone())
            .ordering_timestamp(self.ordering_timestamp)
            .build()
            .expect("every required field is set")
    }

    fn is_reported_by(&self, failed: &SdkEvaluation) -> bool {
        failed.compliance_resource_type() == self.resource_type && failed.compliance_resource_id() == self.resource_id
    }
}

/// Reports every evaluation, at most 100 per call. Evaluations that Config returns in
/// `FailedEvaluations` are sent again (with a short pause); any still failing after
/// [`PUT_ATTEMPTS`] calls make this an error, so that the invocation fails and Config retries
/// it instead of losing them. Throttling is retried by the SDK itself.
pub async fn put_evaluations(aws: &Aws, token: &ResultToken, evaluations: &[Evaluation]) -> Result<()> {
    for batch in evaluations.chunks(MAX_EVALUATIONS_PER_CALL) {
        let mut pending: Vec<&Evaluation> = batch.iter().collect();
        for attempt in 1..=PUT_ATTEMPTS {
            let output = aws
                .config()
                .put_evaluations()
                .set_evaluations(Some(pending.iter().map(|evaluation| evaluation.to_sdk()).collect()))
                .result_token(token.as_str())
                .test_mode(token.is_test_mode())
                .send()
                .await
                .map_err(|err| aws.error("config:PutEvaluations", err))?;
            let failed = output.failed_evaluations();
            pending.retain(|evaluation| failed.iter().any(|f| evaluation.is_reported_by(f)));
            if pending.is_empty() {
                break;
            }
            tracing::warn!(rejected = pending.len(), attempt, "PutEvaluations rejected evaluations; retrying them");
            if attempt < PUT_ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        }
        if !pending.is_empty() {
            return Err(Error::FailedEvaluations {
                attempts: PUT_ATTEMPTS,
                resources: pending.iter().map(|e| format!("{} {}", e.resource_type, e.resource_id)).collect(),
            });
        }
    }
    Ok(())
}
