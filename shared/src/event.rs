//! The Lambda event AWS Config sends a custom rule, parsed once into what the engine needs.

use aws_lambda_events::event::config::ConfigEvent;
use aws_sdk_config::primitives::DateTime;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::{Error, Result, field_error, without_values};
use crate::item::{ConfigurationItem, ItemStatus, timestamp};
use crate::lenient::{flexible_string, null_as_default};

/// Where `PutEvaluations` results go. Config sends `TESTMODE` when a rule is tested from the
/// console or `PutEvaluations` is asked to validate only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultToken {
    TestMode,
    Token(String),
}

impl ResultToken {
    pub fn as_str(&self) -> &str {
        match self {
            ResultToken::TestMode => "TESTMODE",
            ResultToken::Token(token) => token,
        }
    }

    pub fn is_test_mode(&self) -> bool {
        *self == ResultToken::TestMode
    }
}

/// What triggered the invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// `ConfigurationItemChangeNotification`: the item is in the event.
    Change(Box<ConfigurationItem>),
    /// `OversizedConfigurationItemChangeNotification`: only a summary; the item must be read
    /// from the configuration history.
    OversizedChange(ItemSummary),
    /// `ScheduledNotification`: evaluate every resource of the rule's type.
    Scheduled { notification_time: DateTime },
}

/// `configurationItemSummary` of an oversized notification.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemSummary {
    pub resource_type: String,
    pub resource_id: String,
    #[serde(default, deserialize_with = "flexible_string")]
    pub resource_name: Option<String>,
    #[serde(default, rename = "configurationItemStatus", deserialize_with = "null_as_default")]
    pub status: ItemStatus,
    #[serde(rename = "configurationItemCaptureTime", deserialize_with = "timestamp")]
    pub capture_time: DateTime,
}

/// One invocation of a rule, as AWS Config described it.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub rule_name: String,
    pub account_id: Option<String>,
    pub execution_role_arn: Option<String>,
    pub event_left_scope: bool,
    pub result_token: ResultToken,
    /// `ruleParameters`, still a JSON string: parsed by [`crate::params`].
    pub rule_parameters: Option<String>,
    pub trigger: Trigger,
}

impl Invocation {
    /// Parses the Lambda payload and its embedded invoking event.
    pub fn from_value(payload: Value) -> Result<Self> {
        let event: ConfigEvent =
            serde_json::from_value(payload).map_err(|err| Error::InvalidEvent(without_values(&err.to_string())))?;
        let required = |field: Option<String>, name: &str| {
            field.filter(|text| !text.is_empty()).ok_or_else(|| Error::InvalidEvent(format!("`{name}` is missing")))
        };
        let invoking_event = required(event.invoking_event, "invokingEvent")?;
        let result_token = match required(event.result_token, "resultToken")? {
            token if token == "TESTMODE" => ResultToken::TestMode,
            token => ResultToken::Token(token),
        };
        Ok(Invocation {
            rule_name: required(event.config_rule_name, "configRuleName")?,
            account_id: event.account_id,
            execution_role_arn: event.execution_role_arn.filter(|arn| !arn.is_empty()),
            event_left_scope: event.event_left_scope,
            result_token,
            rule_parameters: event.rule_parameters,
            trigger: parse_trigger(&invoking_event)?,
        })
    }
}

/// The invoking event: only what selects the trigger is parsed here; the item is read from its
/// raw JSON by [`ConfigurationItem::from_json`], in one pass.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvokingEvent<'a> {
    #[serde(default)]
    message_type: Option<Value>,
    #[serde(default, borrow)]
    configuration_item: Option<&'a RawValue>,
    #[serde(default, borrow)]
    configuration_item_summary: Option<&'a RawValue>,
    #[serde(default)]
    notification_creation_time: Option<Value>,
}

fn missing(name: &str) -> Error {
    Error::InvalidEvent(format!("`invokingEvent.{name}` is missing"))
}

/// The raw JSON of a member that must be present and not null.
fn present<'a>(raw: Option<&'a RawValue>, name: &str) -> Result<&'a str> {
    raw.map(RawValue::get).filter(|json| *json != "null").ok_or_else(|| missing(name))
}

fn parse_trigger(invoking_event: &str) -> Result<Trigger> {
    let event: InvokingEvent = serde_json::from_str(invoking_event).map_err(|err| {
        Error::InvalidEvent(format!("`invokingEvent` is not JSON (an object): {}", without_values(&err.to_string())))
    })?;
    let message_type = match event.message_type {
        Some(Value::Null) | None => return Err(missing("messageType")),
        Some(Value::String(text)) => text,
        Some(_) => String::new(),
    };
    match message_type.as_str() {
        "ConfigurationItemChangeNotification" => {
            let item = ConfigurationItem::from_json(present(event.configuration_item, "configurationItem")?)?;
            Ok(Trigger::Change(Box::new(item)))
        }
        "OversizedConfigurationItemChangeNotification" => {
            let json = present(event.configuration_item_summary, "configurationItemSummary")?;
            let summary =
                serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(json)).map_err(|err| {
                    Error::InvalidEvent(format!("`invokingEvent.configurationItemSummary`: {}", field_error(&err)))
                })?;
            Ok(Trigger::OversizedChange(summary))
        }
        "ScheduledNotification" => {
            let time = match event.notification_creation_time {
                Some(Value::Null) | None => return Err(missing("notificationCreationTime")),
                Some(time) => time,
            };
            let notification_time = timestamp(time).map_err(|err| {
                Error::InvalidEvent(format!(
                    "`invokingEvent.notificationCreationTime`: {}",
                    without_values(&err.to_string())
                ))
            })?;
            Ok(Trigger::Scheduled { notification_time })
        }
        other => Err(Error::UnsupportedMessageType(other.to_owned())),
    }
}

impl Invocation {
    /// The AWS partition of the rule's account (`aws`, `aws-cn`, `aws-us-gov`, …), from the
    /// ARNs in the event.
    pub fn partition(&self) -> &str {
        self.execution_role_arn
            .as_deref()
            .and_then(|arn| arn.strip_prefix("arn:"))
            .and_then(|rest| rest.split(':').next())
            .filter(|partition| !partition.is_empty())
            .unwrap_or("aws")
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn fixture(name: &str) -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn change_notification_carries_its_item() {
        let invocation = Invocation::from_value(fixture("change-event.json")).unwrap();
        assert_eq!(invocation.rule_name, "codebuild-project-privileged-mode-disabled");
        assert_eq!(invocation.result_token, ResultToken::Token("7b9c3e51-token-from-config".to_owned()));
        assert_eq!(invocation.rule_parameters.as_deref(), Some(r#"{"exemptedProjects": ""}"#));
        let Trigger::Change(item) = invocation.trigger else { panic!("expected a change") };
        assert_eq!(item.resource_name.as_deref(), Some("docker-image-builder"));
    }

    #[test]
    fn oversized_notification_carries_a_summary() {
        let invocation = Invocation::from_value(fixture("oversized-event.json")).unwrap();
        let Trigger::OversizedChange(summary) = invocation.trigger else { panic!("expected an oversized change") };
        assert_eq!(summary.resource_id, "3f1e6f0a-8c1d-4b7e-9a52-0c5d2e7b9a11");
        assert_eq!(summary.status, ItemStatus::Ok);
    }

    #[test]
    fn scheduled_notification_carries_its_time() {
        let invocation = Invocation::from_value(fixture("scheduled-event.json")).unwrap();
        assert!(matches!(invocation.trigger, Trigger::Scheduled { .. }));
        assert!(invocation.rule_parameters.is_none());
    }

    #[test]
    fn partition_comes_from_the_event_arns() {
        let mut event = fixture("scheduled-event.json");
        assert_eq!(Invocation::from_value(event.clone()).unwrap().partition(), "aws");
        event["executionRoleArn"] = Value::from("arn:aws-us-gov:iam::123456789012:role/config");
        assert_eq!(Invocation::from_value(event).unwrap().partition(), "aws-us-gov");
    }

    #[test]
    fn malformed_events_say_what_is_wrong() {
        let mut cases = Vec::new();
        let mut event = fixture("change-event.json");
        event.as_object_mut().unwrap().remove("resultToken");
        cases.push((event, "`resultToken` is missing"));
        let mut event = fixture("change-event.json");
        event["invokingEvent"] = Value::from(r#"{"messageType": "ConfigurationItemChangeNotification"}"#);
        cases.push((event, "`invokingEvent.configurationItem` is missing"));
        let mut event = fixture("scheduled-event.json");
        event["invokingEvent"] =
            Value::from(r#"{"messageType": "ScheduledNotification", "notificationCreationTime": "yesterday"}"#);
        cases.push((event, "notificationCreationTime"));
        let mut event = fixture("scheduled-event.json");
        event["invokingEvent"] = Value::from(r#"{"messageType": "ConfigurationSnapshotDeliveryCompleted"}"#);
        cases.push((event, "unsupported messageType `ConfigurationSnapshotDeliveryCompleted`"));
        cases.push((serde_json::json!([1, 2]), "malformed AWS Config event"));
        for (event, expected) in cases {
            let err = Invocation::from_value(event).unwrap_err();
            assert_eq!(err.error_type(), "InvalidEventException");
            assert!(err.to_string().contains(expected), "{err} should contain {expected}");
        }
    }
}
