//! IAM policy documents as IAM stores them: URL-encoded or plain JSON, `Statement` as one
//! object or a list, `Action` / `NotAction` / `Resource` / `NotResource` as one string or a list.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::{field_error, kind_of_value, without_values};
use crate::lenient::{flexible_string, one_or_many};

/// A policy document that cannot be read. The document itself is never part of the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable policy document: {0}")]
pub struct DocumentError(String);

impl DocumentError {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        DocumentError(reason.into())
    }
}

/// The parts of an identity policy the analysis reads. `Principal` and `Condition` are not
/// kept (see [`super`] for what that means).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PolicyDocument {
    #[serde(rename = "Statement", default, deserialize_with = "one_or_many")]
    pub statements: Vec<Statement>,
}

/// One statement. `None` means the element is absent; a present element is always a list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Statement {
    #[serde(rename = "Sid", default, deserialize_with = "flexible_string")]
    pub sid: Option<String>,
    #[serde(rename = "Effect")]
    pub effect: Effect,
    #[serde(rename = "Action", default, deserialize_with = "string_or_list")]
    pub action: Option<Vec<String>>,
    #[serde(rename = "NotAction", default, deserialize_with = "string_or_list")]
    pub not_action: Option<Vec<String>>,
    #[serde(rename = "Resource", default, deserialize_with = "string_or_list")]
    pub resource: Option<Vec<String>>,
    #[serde(rename = "NotResource", default, deserialize_with = "string_or_list")]
    pub not_resource: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

impl PolicyDocument {
    /// Reads a document as IAM returns it (URL-encoded, `%7B%22Version%22…`) or as it is written
    /// (plain JSON). IAM encodes per RFC 3986 (`+` is a plus sign); a document that only reads
    /// as JSON with `+` taken as a space (form encoding) is accepted too.
    pub fn parse(text: &str) -> Result<Self, DocumentError> {
        let text = text.trim();
        if text.starts_with('{') {
            return Self::from_json(text);
        }
        let decoded = url_decode(text)?;
        match Self::from_json(&decoded) {
            Err(err) if text.contains('+') => Self::from_json(&url_decode(&text.replace('+', " "))?).map_err(|_| err),
            result => result,
        }
    }

    fn from_json(json: &str) -> Result<Self, DocumentError> {
        let value: Value = serde_json::from_str(json)
            .map_err(|err| DocumentError(format!("not JSON: {}", without_values(&err.to_string()))))?;
        serde_path_to_error::deserialize(value).map_err(|err| DocumentError(field_error(&err)))
    }
}

fn url_decode(text: &str) -> Result<Cow<'_, str>, DocumentError> {
    percent_decode_str(text).decode_utf8().map_err(|err| DocumentError(format!("URL-decoded text is not UTF-8: {err}")))
}

/// One string or a list of strings; null is absent.
fn string_or_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(vec![text])),
        Value::Array(values) => values
            .into_iter()
            .map(|value| match value {
                Value::String(text) => Ok(text),
                other => Err(D::Error::custom(format!("expected a string, found {}", kind_of_value(&other)))),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        other => {
            Err(D::Error::custom(format!("expected a string or a list of strings, found {}", kind_of_value(&other))))
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    const PLAIN: &str = concat!(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Logs","Effect":"Allow","#,
        r#""Action":["logs:CreateLogStream","logs:PutLogEvents"],"#,
        r#""Resource":"arn:aws:logs:us-east-1:123456789012:log-group:/aws/codebuild/app:*"}]}"#
    );

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    /// What IAM (and moto) return: every reserved character percent-encoded.
    fn url_encoded(json: &str) -> String {
        percent_encoding::utf8_percent_encode(json, percent_encoding::NON_ALPHANUMERIC).to_string()
    }

    fn pretty(json: &str) -> String {
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(json).unwrap()).unwrap()
    }

    #[rstest]
    #[case::plain_json(PLAIN.to_owned())]
    #[case::url_encoded(url_encoded(PLAIN))]
    #[case::url_encoded_with_surrounding_whitespace(format!("\n {} \n", url_encoded(PLAIN)))]
    #[case::form_encoded_spaces(url_encoded(PLAIN).replace("%22Version", "+%22Version"))]
    #[case::pretty_printed_and_encoded(url_encoded(&pretty(PLAIN)))]
    fn every_encoding_reads_the_same(#[case] text: String) {
        let document = PolicyDocument::parse(&text).unwrap();
        assert_eq!(document, PolicyDocument::parse(PLAIN).unwrap());
        let statement = &document.statements[0];
        assert_eq!(statement.sid.as_deref(), Some("Logs"));
        assert_eq!(statement.action, Some(strings(&["logs:CreateLogStream", "logs:PutLogEvents"])));
    }

    #[test]
    fn an_encoded_plus_stays_a_plus() {
        let json = r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a+b/*"}}"#;
        let document = PolicyDocument::parse(&url_encoded(json)).unwrap();
        assert_eq!(document.statements[0].resource, Some(strings(&["arn:aws:s3:::a+b/*"])));
    }

    #[rstest]
    #[case::statement_object_strings(
        r#"{"Statement":{"Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:s3:::b"}}"#,
        Statement { sid: None, effect: Effect::Deny, action: None, not_action: Some(strings(&["iam:*"])),
                    resource: None, not_resource: Some(strings(&["arn:aws:s3:::b"])) }
    )]
    #[case::statement_list_of_lists(
        concat!(
            r#"{"Statement":[{"Sid":"","Effect":"Allow","Action":["s3:GetObject"],"Resource":["a","b"],"#,
            r#""Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}"#
        ),
        Statement { sid: Some(String::new()), effect: Effect::Allow, action: Some(strings(&["s3:GetObject"])),
                    not_action: None, resource: Some(strings(&["a", "b"])), not_resource: None }
    )]
    fn statement_shapes(#[case] json: &str, #[case] expected: Statement) {
        assert_eq!(PolicyDocument::parse(json).unwrap().statements, [expected]);
    }

    #[test]
    fn no_statement_is_an_empty_document() {
        assert!(PolicyDocument::parse(r#"{"Version":"2012-10-17"}"#).unwrap().statements.is_empty());
    }

    #[rstest]
    #[case::not_json("%7Bnope", "not JSON")]
    #[case::unknown_effect(r#"{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}"#, "Statement")]
    #[case::action_is_a_number(r#"{"Statement":[{"Effect":"Allow","Action":7,"Resource":"*"}]}"#, "found a number")]
    #[case::invalid_utf8("%7B%FF%7D", "UTF-8")]
    fn unreadable_documents_say_why(#[case] text: &str, #[case] expected: &str) {
        let err = PolicyDocument::parse(text).unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
}
