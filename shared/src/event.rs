//! The Lambda event AWS Config sends a custom rule, parsed once into what the engine needs.

use aws_lambda_events::event::config::ConfigEvent;
use aws_sdk_config::primitives::DateTime;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
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
        let event: ConfigEvent = serde_json::from_value(payload).map_err(|err| Error::InvalidEvent(err.to_string()))?;
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

fn parse_trigger(invoking_event: &str) -> Result<Trigger> {
    let event: Value = serde_json::from_str(invoking_event)
        .map_err(|err| Error::InvalidEvent(format!("`invokingEvent` is not JSON: {err}")))?;
    let member = |name: &str| match event.get(name) {
        Some(value) if !value.is_null() => Ok(value),
        _ => Err(Error::InvalidEvent(format!("`invokingEvent.{name}` is missing"))),
    };
    let message_type = member("messageType")?.as_str().unwrap_or_default();
    match message_type {
        "ConfigurationItemChangeNotification" => {
            let item = ConfigurationItem::from_value(member("configurationItem")?)?;
            Ok(Trigger::Change(Box::new(item)))
        }
        "OversizedConfigurationItemChangeNotification" => {
            let summary = serde_path_to_error::deserialize(member("configurationItemSummary")?).map_err(|err| {
                Error::InvalidEvent(format!("`invokingEvent.configurationItemSummary.{}`: {}", err.path(), err.inner()))
            })?;
            Ok(Trigger::OversizedChange(summary))
        }
        "ScheduledNotification" => {
            let notification_time = timestamp(member("notificationCreationTime")?)
                .map_err(|err| Error::InvalidEvent(format!("`invokingEvent.notificationCreationTime`: {err}")))?;
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
