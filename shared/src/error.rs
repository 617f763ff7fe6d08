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

/// Why a document could not be read, without the values it holds: the one place every
/// deserialization error (serde_json, serde_norway, serde's value deserializers, ours) is turned into
/// text for an error, a log line or a report. A wrong-typed field may hold a secret, and serde
/// quotes it (`invalid type: string "…", expected a boolean`), so serde's own messages are rebuilt
/// from what is expected and the kind of value found (`expected a boolean, found a string`); field
/// names, lengths and positions stay. Any other message (a custom one) keeps its words, and what it
/// quotes between double quotes or backquotes becomes `…`.
pub fn without_values(reason: &str) -> String {
    let (message, position) = split_position(reason);
    let rebuilt = SERDE_VALUE_MESSAGES.iter().find_map(|(marker, rebuild)| {
        let at = message.find(marker)?;
        let (found, expected) = message[at + marker.len()..].rsplit_once(", expected ")?;
        Some(format!("{}{}", scrub_quoted(&message[..at]), rebuild(&kind_of(found), expected)))
    });
    // Names and counts only (the field names are the document's keys, or the code's).
    let names_only = || {
        ["missing field `", "unknown field `", "duplicate field `", "invalid length "].iter().find_map(|marker| {
            let at = message.find(marker)?;
            Some(format!("{}{}", scrub_quoted(&message[..at]), &message[at..]))
        })
    };
    let text = rebuilt.or_else(names_only).unwrap_or_else(|| scrub_quoted(message));
    format!("{text}{position}")
}

/// [`without_values`] of an error that knows where it happened: `field `a.b`: …`.
pub fn field_error<E: std::fmt::Display>(err: &serde_path_to_error::Error<E>) -> String {
    let reason = without_values(&err.inner().to_string());
    match err.path().to_string() {
        root if root == "." => reason,
        path => format!("field `{path}`: {reason}"),
    }
}

/// The kind of a JSON value, for a message that must not show the value: `a string`.
pub fn kind_of_value(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

type Rebuild = fn(&str, &str) -> String;

/// serde's messages that quote the value found (`serde::de::Error::invalid_type`, `invalid_value`,
/// `unknown_variant`), each followed by `, expected …`, which is the code's text, not the document's.
const SERDE_VALUE_MESSAGES: &[(&str, Rebuild)] = &[
    ("invalid type: ", |found, expected| format!("expected {expected}, found {found}")),
    ("invalid value: ", |found, expected| format!("invalid value ({found}), expected {expected}")),
    ("unknown variant ", |_, expected| format!("unknown variant, expected {expected}")),
];

/// serde's description of an unexpected value (`string "s3cret"`, `integer `5``, `map`) as its
/// kind only: `a string`, `an integer`, `a map`.
fn kind_of(found: &str) -> String {
    let kind = found.split(['"', '`']).next().unwrap_or_default().trim();
    match kind.chars().next() {
        None => "a value".to_owned(),
        Some(first) if "aeiouAEIOU".contains(first) => format!("an {kind}"),
        Some(_) => format!("a {kind}"),
    }
}

/// `(message, " at line L column C")`: the position serde_json and serde_norway append.
fn split_position(reason: &str) -> (&str, &str) {
    let Some(at) = reason.rfind(" at line ") else {
        return (reason, "");
    };
    let position = &reason[at..];
    let numbers = position[" at line ".len()..].split_once(" column ");
    let is_position = numbers.is_some_and(|(line, column)| {
        [line, column].iter().all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    if is_position { (&reason[..at], position) } else { (reason, "") }
}

/// `text` with what it quotes between double quotes (escapes honoured) or backquotes as `…`;
/// a single punctuation character stays (serde_json's `expected `,` or `}``).
fn scrub_quoted(text: &str) -> String {
    let mut scrubbed = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '"' && c != '`' {
            scrubbed.push(c);
            continue;
        }
        let mut quoted = String::new();
        let mut escaped = false;
        for inner in chars.by_ref() {
            if escaped {
                escaped = false;
            } else if inner == '\\' && c == '"' {
                escaped = true;
            } else if inner == c {
                break;
            }
            quoted.push(inner);
        }
        let punctuation = quoted.len() == 1 && quoted.chars().all(|q| q.is_ascii_punctuation());
        scrubbed.push(c);
        scrubbed.push_str(if punctuation { &quoted } else { "…" });
        scrubbed.push(c);
    }
    scrubbed
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

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    const CANARY: &str = "ghp_c4n4ryV4lu3InAWrongTyp3dF13ld0000000";

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)] // read by serde only
    struct Sample {
        privileged_mode: Option<bool>,
        count: Option<u32>,
        kind: Option<Kind>,
        names: Option<Vec<String>>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)] // read by serde only
    enum Kind {
        Plain,
        Secret,
    }

    /// The reason `field_error` gives for `json`, read into `Sample`.
    fn reason(json: &str) -> String {
        let err =
            serde_path_to_error::deserialize::<_, Sample>(&mut serde_json::Deserializer::from_str(json)).unwrap_err();
        field_error(&err)
    }

    #[test]
    fn a_wrong_typed_field_names_the_field_and_the_expected_type_never_the_value() {
        let cases = [
            (
                format!(r#"{{"privilegedMode": "{CANARY}"}}"#),
                "field `privilegedMode`: expected a boolean, found a string",
            ),
            (format!(r#"{{"count": "{CANARY}"}}"#), "field `count`: expected u32, found a string"),
            (format!(r#"{{"kind": "{CANARY}"}}"#), "field `kind`: unknown variant, expected `Plain` or `Secret`"),
            (format!(r#"{{"names": ["a", {{"x": "{CANARY}"}}]}}"#), "field `names[1]`: expected a string, found a map"),
            (format!(r#"{{"names": "{CANARY}"}}"#), "field `names`: expected a sequence, found a string"),
            (r#"{"count": -3}"#.to_owned(), "field `count`: invalid value (an integer), expected u32"),
            (
                r#"{"privilegedMode": 12345678}"#.to_owned(),
                "field `privilegedMode`: expected a boolean, found an integer",
            ),
        ];
        for (json, expected) in cases {
            let reason = reason(&json);
            assert!(reason.starts_with(expected), "{reason} should start with {expected}");
            assert!(reason.contains(" at line 1 column "), "the position stays: {reason}");
            assert!(!reason.contains("c4n4ry") && !reason.contains("12345678"), "{reason}");
        }
    }

    #[test]
    fn names_and_counts_stay_and_custom_messages_lose_what_they_quote() {
        assert_eq!(
            reason(r#"{"other": 1}"#).split(" at line").next().unwrap(),
            "field `other`: unknown field `other`, expected one of `privilegedMode`, `count`, `kind`, `names`"
        );
        assert_eq!(
            without_values(r#"path.to: `s3cr\"et` is not a CIDR block; found "a \"b\" c" at line 3 column 9"#),
            r#"path.to: `…` is not a CIDR block; found "…" at line 3 column 9"#
        );
        assert_eq!(without_values("missing field `name`"), "missing field `name`");
        assert_eq!(without_values("invalid length 3, expected 2 elements"), "invalid length 3, expected 2 elements");
        // A value that itself says `, expected ` cannot pass for the expected type.
        assert_eq!(
            without_values(r#"invalid type: string "x, expected a secret", expected a boolean"#),
            "expected a boolean, found a string"
        );
        // serde_norway puts the path first and the position last.
        assert_eq!(
            without_values(&format!(
                r#"Resources.P: invalid type: string "{CANARY}", expected a boolean at line 4 column 7"#
            )),
            "Resources.P: expected a boolean, found a string at line 4 column 7"
        );
    }

    #[test]
    fn syntax_errors_keep_their_words() {
        let err = serde_json::from_str::<serde_json::Value>(&format!(r#"{{"a": "{CANARY}" "b"}}"#)).unwrap_err();
        let reason = without_values(&err.to_string());
        assert!(reason.starts_with("expected `,` or `}` at line 1 column"), "{reason}");
    }
}
