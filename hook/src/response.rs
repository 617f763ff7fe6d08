//! The response a Lambda hook returns (the Hooks user guide's "Response input"): the status, an
//! error code when it failed, a message for the stack's events, and one annotation per check.

use serde::Serialize;

/// CloudFormation truncates a hook's message to this many characters (Cloud Control API to
/// 1,024: the message puts the logical id and the failing rule ids first, so those survive).
pub const MAX_MESSAGE_CHARS: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookStatus {
    Success,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ErrorCode {
    /// The resource was evaluated and a rule at or above the threshold failed.
    NonCompliant,
    /// The hook could not evaluate: an unreadable request or a bad setting of the function.
    InternalFailure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AnnotationStatus {
    Passed,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    pub annotation_name: String,
    pub status: AnnotationStatus,
    pub status_message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation_link: Option<String>,
    /// INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL.
    pub severity_level: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookResponse {
    pub hook_status: HookStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    pub message: String,
    pub client_request_token: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
}

impl HookResponse {
    pub fn success(token: String, message: &str, annotations: Vec<Annotation>) -> Self {
        HookResponse {
            hook_status: HookStatus::Success,
            error_code: None,
            message: cut(message),
            client_request_token: token,
            annotations,
        }
    }

    pub fn non_compliant(token: String, message: &str, annotations: Vec<Annotation>) -> Self {
        HookResponse {
            hook_status: HookStatus::Failed,
            error_code: Some(ErrorCode::NonCompliant),
            message: cut(message),
            client_request_token: token,
            annotations,
        }
    }

    /// The hook could not evaluate: FAILED with InternalFailure (with the hook's FailureMode
    /// WARN, CloudFormation goes on and shows the message).
    pub fn internal_failure(token: String, reason: &str) -> Self {
        HookResponse {
            hook_status: HookStatus::Failed,
            error_code: Some(ErrorCode::InternalFailure),
            message: cut(&format!("pipesec hook could not evaluate the resource: {reason}")),
            client_request_token: token,
            annotations: Vec::new(),
        }
    }
}

const TRUNCATION_MARK: &str = " […]";

/// `message` within [`MAX_MESSAGE_CHARS`], with a visible mark when cut, never inside a character.
pub fn cut(message: &str) -> String {
    if message.chars().count() <= MAX_MESSAGE_CHARS {
        return message.to_owned();
    }
    let keep = MAX_MESSAGE_CHARS - TRUNCATION_MARK.chars().count();
    let mut text: String = message.chars().take(keep).collect();
    text.push_str(TRUNCATION_MARK);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_message_is_cut_to_the_limit_with_a_mark() {
        let long = "é".repeat(MAX_MESSAGE_CHARS + 10);
        let cut = cut(&long);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS);
        assert!(cut.ends_with(TRUNCATION_MARK));
        assert_eq!(super::cut("short"), "short");
    }

    #[test]
    fn the_response_has_the_documented_field_names() {
        let annotation = Annotation {
            annotation_name: "rule".into(),
            status: AnnotationStatus::Skipped,
            status_message: "why".into(),
            remediation_message: None,
            remediation_link: None,
            severity_level: "INFORMATIONAL",
        };
        let response = HookResponse::non_compliant("token".into(), "stopped", vec![annotation]);
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            serde_json::json!({
                "hookStatus": "FAILED",
                "errorCode": "NonCompliant",
                "message": "stopped",
                "clientRequestToken": "token",
                "annotations": [{
                    "annotationName": "rule",
                    "status": "SKIPPED",
                    "statusMessage": "why",
                    "severityLevel": "INFORMATIONAL"
                }]
            })
        );
    }
}
