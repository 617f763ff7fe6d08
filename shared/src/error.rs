//! The one error type of the engine, and its single mapping to a Lambda `Diagnostic`.

use aws_sdk_config::error::{ProvideErrorMetadata, SdkError};
use lambda_runtime::Diagnostic;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rule parameter is unknown, malformed or out of range. Raised before any API call.
    #[error("invalid rule parameter `{name}`: {reason}")]
    InvalidParameter { name: String, reason: String },

    /// The Lambda event is not a well-formed AWS Config rule event.
    #[error("malformed AWS Config event: {0}")]
    InvalidEvent(String),

    /// The invoking event carries a message type this engine does not evaluate.
    #[error(
        "unsupported messageType `{0}`: expected ConfigurationItemChangeNotification, \
         OversizedConfigurationItemChangeNotification or ScheduledNotification"
    )]
    UnsupportedMessageType(String),

    /// A configuration item could not be read into the view the rule needs.
    #[error("configuration item {resource_type} `{resource_id}` is unreadable at `{path}`: {reason}")]
    InvalidItem { resource_type: String, resource_id: String, path: String, reason: String },

    /// A periodic sweep met items it could not read; every other resource was reported.
    #[error("{} configuration item(s) could not be evaluated, the rest were reported: {}", .0.len(), summarize(.0))]
    UnreadableItems(Vec<Error>),

    /// The configuration history has no item for a resource named in an oversized notification.
    #[error("GetResourceConfigHistory returned no configuration item for {resource_type} `{resource_id}`")]
    ItemNotFound { resource_type: String, resource_id: String },

    /// AWS refused an action for lack of permission.
    #[error("access denied: {principal} is not allowed to call {action}: {message}")]
    AccessDenied { action: &'static str, principal: String, message: String },

    /// Any other failed AWS call, after the SDK's own retries.
    #[error("{action} failed ({code}): {message}")]
    Aws { action: &'static str, code: String, message: String },

    /// PutEvaluations kept rejecting some evaluations after retrying them.
    #[error(
        "PutEvaluations rejected {} evaluation(s) after {attempts} attempts: {}",
        resources.len(),
        resources.join(", ")
    )]
    FailedEvaluations { attempts: u32, resources: Vec<String> },
}

fn summarize(errors: &[Error]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl Error {
    /// The stable `errorType` reported to Lambda (and shown by AWS Config).
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::InvalidParameter { .. } => "InvalidParameterValueException",
            Error::InvalidEvent(_) | Error::UnsupportedMessageType(_) => "InvalidEventException",
            Error::InvalidItem { .. } | Error::UnreadableItems(_) => "InvalidConfigurationItemException",
            Error::ItemNotFound { .. } => "ResourceNotDiscoveredException",
            Error::AccessDenied { .. } => "AccessDeniedException",
            Error::Aws { .. } => "AwsServiceException",
            Error::FailedEvaluations { .. } => "FailedEvaluationsException",
        }
    }

    pub(crate) fn invalid_parameter(name: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Error::InvalidParameter { name: name.into(), reason: reason.to_string() }
    }

    /// Classifies a failed SDK call once, for every service: permission problems name the
    /// principal and the action; everything else keeps the service's code and message.
    pub fn from_sdk<E, R>(action: &'static str, principal: &str, err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let code = err.code().unwrap_or_default().to_owned();
        let message = err.message().map_or_else(|| error_chain(err), str::to_owned);
        if matches!(code.as_str(), "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") {
            return Error::AccessDenied { action, principal: principal.to_owned(), message };
        }
        let code = if code.is_empty() { "NoResponse".to_owned() } else { code };
        Error::Aws { action, code, message }
    }
}

/// A parse error's text without the values it quotes: serde says `invalid type: string "…",
/// expected a boolean`, and the value may be a secret in a wrong-typed field. What is between
/// double quotes or backquotes becomes `…`, except a field's name (`missing field `name``);
/// what is expected, and where, stays.
pub(crate) fn without_values(reason: &str) -> String {
    let mut text = String::with_capacity(reason.len());
    let mut chars = reason.chars();
    while let Some(c) = chars.next() {
        match c {
            '`' if ["missing field ", "unknown field ", "duplicate field "].iter().any(|name| text.ends_with(name)) => {
                text.push(c);
                for inner in chars.by_ref() {
                    text.push(inner);
                    if inner == c {
                        break;
                    }
                }
            }
            '"' | '`' => {
                let mut escaped = false;
                for inner in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if inner == '\\' && c == '"' {
                        escaped = true;
                    } else if inner == c {
                        break;
                    }
                }
                text.push(c);
                text.push('…');
                text.push(c);
            }
            other => text.push(other),
        }
    }
    text
}

/// The error and its sources on one line: SDK errors put the useful part in a source.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<Error> for Diagnostic {
    fn from(err: Error) -> Self {
        Diagnostic { error_type: err.error_type().to_owned(), error_message: err.to_string() }
    }
}
