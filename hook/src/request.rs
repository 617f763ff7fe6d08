//! The request CloudFormation sends a Lambda hook for a resource operation (the Hooks user
//! guide's "Evaluating resource operations with Lambda Hooks"): the operation, the stack, and
//! the resource's type, logical id and properties with every intrinsic function already resolved.

use serde::Deserialize;
use serde_json::{Map, Value};

/// When in the operation the hook is invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvocationPoint {
    CreatePreProvision,
    UpdatePreProvision,
    DeletePreProvision,
}

impl InvocationPoint {
    pub fn as_str(self) -> &'static str {
        match self {
            InvocationPoint::CreatePreProvision => "CREATE_PRE_PROVISION",
            InvocationPoint::UpdatePreProvision => "UPDATE_PRE_PROVISION",
            InvocationPoint::DeletePreProvision => "DELETE_PRE_PROVISION",
        }
    }
}

/// The parts of a resource-operation request the gate uses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookRequest {
    pub client_request_token: String,
    pub aws_account_id: String,
    /// Absent for a Cloud Control API operation (no stack).
    #[serde(default)]
    pub stack_id: Option<String>,
    pub action_invocation_point: InvocationPoint,
    pub request_data: RequestData,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestData {
    /// The resource type, e.g. `AWS::CodeBuild::Project`.
    pub target_name: String,
    pub target_logical_id: String,
    #[serde(default)]
    pub target_model: TargetModel,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetModel {
    /// The properties to create or update with; a JSON object. Kept as JSON: the properties may
    /// hold secrets, and a typed read here would quote a value in its error.
    #[serde(default)]
    pub resource_properties: Option<Value>,
}

impl HookRequest {
    /// Reads a request. The error names the field and what was wrong with it, never a value.
    pub fn from_value(payload: Value) -> Result<Self, String> {
        serde_path_to_error::deserialize(payload).map_err(|err| pipesec_engine::error::field_error(&err))
    }

    /// The resource's properties: an empty object when the request has none (a resource
    /// declared without `Properties`).
    pub fn properties(&self) -> Result<Map<String, Value>, String> {
        match &self.request_data.target_model.resource_properties {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(properties)) => Ok(properties.clone()),
            Some(_) => Err("requestData.targetModel.resourceProperties: not a JSON object".to_owned()),
        }
    }

    /// The region of the operation, from the stack's ARN (`arn:aws:cloudformation:REGION:…`).
    pub fn stack_region(&self) -> Option<&str> {
        self.stack_id.as_deref().and_then(|arn| arn.split(':').nth(3)).filter(|region| !region.is_empty())
    }
}

/// The request token of a payload that may not be a request at all, to answer it with.
pub fn client_request_token(payload: &Value) -> String {
    payload.get("clientRequestToken").and_then(Value::as_str).unwrap_or_default().to_owned()
}
