//! Configuration items, read the same way from every model AWS Config produces: the event model
//! (change notifications, snapshot files), the API model (GetResourceConfigHistory,
//! BatchGetResourceConfig: `configuration` is a JSON string) and SelectResourceConfig results.

use std::collections::BTreeMap;

use aws_sdk_config::primitives::{DateTime, DateTimeFormat};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result, kind_of_value, without_values};
use crate::lenient::{flexible_string, null_as_default};

/// `configurationItemStatus`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum ItemStatus {
    #[default]
    #[serde(rename = "OK")]
    Ok,
    ResourceDiscovered,
    ResourceDeleted,
    ResourceNotRecorded,
    ResourceDeletedNotRecorded,
    /// A status this engine does not know; the item is evaluated as if recorded.
    #[serde(other)]
    Unknown,
}

impl ItemStatus {
    /// Deleted and unrecorded resources are NOT_APPLICABLE and never reach a rule.
    pub fn is_gone(self) -> bool {
        matches!(
            self,
            ItemStatus::ResourceDeleted | ItemStatus::ResourceNotRecorded | ItemStatus::ResourceDeletedNotRecorded
        )
    }
}

/// One configuration item, in whichever model it arrived. Its `configuration` is raw JSON until
/// a typed view reads it ([`Self::view`]); a [`crate::rule::Subject`] keeps the item without it
/// (`C = ()`), as the view holds what a rule reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationItem<C = Configuration> {
    pub resource_type: String,
    #[serde(deserialize_with = "required_string")]
    pub resource_id: String,
    #[serde(default, deserialize_with = "flexible_string")]
    pub resource_name: Option<String>,
    #[serde(default, alias = "ARN", deserialize_with = "flexible_string")]
    pub arn: Option<String>,
    #[serde(default, alias = "awsAccountId", deserialize_with = "flexible_string")]
    pub account_id: Option<String>,
    #[serde(default, deserialize_with = "flexible_string")]
    pub aws_region: Option<String>,
    #[serde(default, rename = "configurationItemStatus", deserialize_with = "null_as_default")]
    pub status: ItemStatus,
    #[serde(rename = "configurationItemCaptureTime", deserialize_with = "timestamp")]
    pub capture_time: DateTime,
    #[serde(default)]
    pub configuration: C,
    #[serde(default, deserialize_with = "supplementary")]
    pub supplementary_configuration: Map<String, Value>,
    #[serde(default, deserialize_with = "tags")]
    pub tags: BTreeMap<String, String>,
}

impl ConfigurationItem {
    /// Reads an item in the event model, the API model or a SelectResourceConfig result from its
    /// JSON text, in one pass: `configuration` is kept as raw JSON until [`Self::view`] reads it.
    pub fn from_json(json: &str) -> Result<Self> {
        parse_tracking_path_on_error(json).map_err(|err| {
            // Only a failed item is parsed a second time, loosely, to name it in the error.
            let value: Value = serde_json::from_str(json).unwrap_or_default();
            let field = |name: &str| value.get(name).and_then(Value::as_str).unwrap_or("?").to_owned();
            Error::InvalidItem {
                resource_type: field("resourceType"),
                resource_id: field("resourceId"),
                path: err.path().to_string(),
                reason: without_values(&err.inner().to_string()),
            }
        })
    }

    /// [`Self::from_json`] of an item already parsed into a `Value`.
    pub fn from_value(value: &Value) -> Result<Self> {
        Self::from_json(&value.to_string())
    }

    /// Reads an item returned by GetResourceConfigHistory.
    pub fn from_history(item: &aws_sdk_config::types::ConfigurationItem) -> Result<Self> {
        Self::from_value(&json!({
            "resourceType": item.resource_type().map(aws_sdk_config::types::ResourceType::as_str),
            "resourceId": item.resource_id(),
            "resourceName": item.resource_name(),
            "arn": item.arn(),
            "accountId": item.account_id(),
            "awsRegion": item.aws_region(),
            "configurationItemStatus": item.configuration_item_status().map(aws_sdk_config::types::ConfigurationItemStatus::as_str),
            "configurationItemCaptureTime": item.configuration_item_capture_time().map(DateTime::as_secs_f64),
            "configuration": item.configuration(),
            "supplementaryConfiguration": item.supplementary_configuration(),
            "tags": item.tags(),
        }))
    }

    /// Reads the typed view a rule works on from `configuration`.
    pub fn view<T: DeserializeOwned>(&self) -> Result<T> {
        parse_tracking_path_on_error(self.configuration.0.get()).map_err(|err| Error::InvalidItem {
            resource_type: self.resource_type.clone(),
            resource_id: self.resource_id.clone(),
            path: match err.path().to_string() {
                root if root == "." => "configuration".to_owned(),
                path => format!("configuration.{path}"),
            },
            reason: without_values(&err.inner().to_string()),
        })
    }
}

impl<C> ConfigurationItem<C> {
    /// The name to look the resource up by in its own service: the resource name when the item
    /// has one (its `resourceId` may be an opaque id), else the id.
    pub fn lookup_name(&self) -> &str {
        self.resource_name.as_deref().filter(|name| !name.is_empty()).unwrap_or(&self.resource_id)
    }

    /// The same item with another configuration (its typed view, or none).
    pub fn with_configuration<D>(self, configuration: D) -> ConfigurationItem<D> {
        ConfigurationItem {
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            resource_name: self.resource_name,
            arn: self.arn,
            account_id: self.account_id,
            aws_region: self.aws_region,
            status: self.status,
            capture_time: self.capture_time,
            configuration,
            supplementary_configuration: self.supplementary_configuration,
            tags: self.tags,
        }
    }
}

/// Parses JSON text into `T`; only when that fails is it parsed again, tracking the path, so the
/// error can say where (path tracking costs every successful parse a fifth of its time).
pub(crate) fn parse_tracking_path_on_error<T: DeserializeOwned>(
    json: &str,
) -> std::result::Result<T, serde_path_to_error::Error<serde_json::Error>> {
    serde_json::from_str(json)
        .or_else(|_| serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(json)))
}

/// `configuration`, kept as raw JSON text: parsed once, by the typed view a rule asks for. Items
/// in the API model carry it as a JSON string holding the object; that string is unwrapped here.
#[derive(Debug, Clone)]
pub struct Configuration(Box<RawValue>);

impl Configuration {
    /// The configuration from a parsed value (templates, tests).
    ///
    /// # Panics
    ///
    /// Never: a `Value` always serializes.
    pub fn from_value(value: &Value) -> Self {
        Configuration(serde_json::value::to_raw_value(value).expect("a Value always serializes"))
    }

    /// The configuration as a generic JSON value.
    ///
    /// # Panics
    ///
    /// Never: the text was read as JSON when the item was.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.0.get()).expect("raw configuration is valid JSON")
    }

    /// The raw JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }
}

impl Default for Configuration {
    fn default() -> Self {
        Configuration(RawValue::NULL.to_owned())
    }
}

/// Equal when the JSON values are equal, whatever their formatting or key order.
impl PartialEq for Configuration {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get() || self.to_value() == other.to_value()
    }
}

impl<'de> Deserialize<'de> for Configuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        if !raw.get().starts_with('"') {
            return Ok(Configuration(raw));
        }
        // The API model: a string holding JSON. A string that is not JSON stays a string.
        let text: String = serde_json::from_str(raw.get()).map_err(D::Error::custom)?;
        Ok(Configuration(RawValue::from_string(text).unwrap_or(raw)))
    }
}

fn required_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    flexible_string(deserializer)?
        .filter(|text| !text.is_empty())
        .ok_or_else(|| D::Error::custom("expected a non-empty string"))
}

/// ISO-8601 text (event model, SelectResourceConfig) or epoch seconds (API model).
pub(crate) fn timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => DateTime::from_str(text.trim(), DateTimeFormat::DateTime)
            .map_err(|_| D::Error::custom("not an ISO-8601 time")),
        // Config's times have millisecond precision; rounding undoes the float's error.
        #[allow(clippy::cast_possible_truncation)] // epoch milliseconds fit an i64 for 292 million years
        Value::Number(number) => number
            .as_f64()
            .map(|seconds| DateTime::from_millis((seconds * 1000.0).round() as i64))
            .ok_or_else(|| D::Error::custom("a number that is not a time")),
        other => Err(D::Error::custom(format!("expected a time, found {}", kind_of_value(&other)))),
    }
}

/// Supplementary configuration values are objects in the event model and JSON strings in the
/// API model.
fn supplementary<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Map<String, Value>, D::Error> {
    let entries: Option<Map<String, Value>> = Option::deserialize(deserializer)?;
    Ok(entries
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(text) => (key, serde_json::from_str(&text).unwrap_or(Value::String(text))),
            value => (key, value),
        })
        .collect())
}

/// Tags are a map in items and a list of `{key, value}` in SelectResourceConfig results.
fn tags<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    struct Tag {
        key: String,
        #[serde(default, deserialize_with = "flexible_string")]
        value: Option<String>,
    }
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(BTreeMap::new()),
        Value::Array(list) => list
            .into_iter()
            .map(|tag| Tag::deserialize(tag).map(|tag| (tag.key, tag.value.unwrap_or_default())))
            .collect::<Result<_, _>>()
            .map_err(D::Error::custom),
        value => {
            let map: BTreeMap<String, Option<String>> = Deserialize::deserialize(value).map_err(D::Error::custom)?;
            Ok(map.into_iter().map(|(key, value)| (key, value.unwrap_or_default())).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::resources::CodeBuildProject;

    fn fixture(name: &str) -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn event_model_item() -> Value {
        let event = fixture("change-event.json");
        let invoking: Value = serde_json::from_str(event["invokingEvent"].as_str().unwrap()).unwrap();
        invoking["configurationItem"].clone()
    }

    #[test]
    fn event_api_and_select_models_read_the_same() {
        let event = ConfigurationItem::from_value(&event_model_item()).unwrap();
        let api = ConfigurationItem::from_value(&fixture("history-item.json")).unwrap();
        let select = ConfigurationItem::from_value(&fixture("select-row.json")).unwrap();
        for other in [&api, &select] {
            assert_eq!(other.resource_id, event.resource_id);
            assert_eq!(other.resource_name, event.resource_name);
            assert_eq!(other.arn, event.arn);
            assert_eq!(other.account_id, event.account_id);
            assert_eq!(other.capture_time, event.capture_time);
            assert_eq!(other.tags, event.tags);
            assert_eq!(other.configuration, event.configuration, "configuration is an object in every model");
        }
        let project: CodeBuildProject = api.view().unwrap();
        assert!(project.environment.privileged_mode);
    }

    #[test]
    fn missing_and_null_fields_are_tolerated() {
        let item = ConfigurationItem::from_value(&serde_json::json!({
            "resourceType": "AWS::CodeBuild::Project", "resourceId": "p", "resourceName": null,
            "configurationItemStatus": null, "configurationItemCaptureTime": "2026-11-20T09:15:42Z",
            "configuration": null, "supplementaryConfiguration": null, "tags": null
        }))
        .unwrap();
        assert_eq!((item.status, item.lookup_name()), (ItemStatus::Ok, "p"));
        let project: CodeBuildProject = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(item.view::<Option<CodeBuildProject>>().unwrap(), None);
        assert!(!project.environment.privileged_mode);
    }

    #[test]
    fn an_item_without_id_or_time_names_the_field() {
        let err = ConfigurationItem::from_value(
            &serde_json::json!({"resourceType": "AWS::CodeBuild::Project", "resourceId": ""}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("at `resourceId`"), "{err}");
        let err =
            ConfigurationItem::from_value(&serde_json::json!({"resourceType": "T", "resourceId": "p"})).unwrap_err();
        assert!(err.to_string().contains("configurationItemCaptureTime"), "{err}");
    }

    #[test]
    fn statuses_are_read_and_unknown_ones_kept_applicable() {
        for (text, gone) in [
            ("OK", false),
            ("ResourceDiscovered", false),
            ("ResourceDeleted", true),
            ("ResourceNotRecorded", true),
            ("ResourceDeletedNotRecorded", true),
            ("SomethingNew", false),
        ] {
            let status: ItemStatus = serde_json::from_value(Value::from(text)).unwrap();
            assert_eq!(status.is_gone(), gone, "{text}");
        }
    }

    #[test]
    fn a_view_error_names_the_path_inside_configuration() {
        let mut value = event_model_item();
        value["configuration"]["environment"]["environmentVariables"] = serde_json::json!([{"name": "A", "type": 7}]);
        let err = ConfigurationItem::from_value(&value).unwrap().view::<CodeBuildProject>().unwrap_err();
        assert_eq!(err.error_type(), "InvalidConfigurationItemException");
        assert!(err.to_string().contains("configuration.environment.environmentVariables"), "{err}");
    }

    #[test]
    fn errors_name_the_field_and_the_expected_type_never_the_value() {
        const CANARY: &str = "ghp_c4n4ryV4lu3InAWrongTyp3dF13ld0000000";
        let item = |configuration: Value, time: &str| {
            json!({
                "resourceType": "AWS::CodeBuild::Project", "resourceId": "p",
                "configurationItemCaptureTime": time, "configuration": configuration,
            })
        };
        for (configuration, time, field) in [
            (json!({"timeoutInMinutes": CANARY}), "2026-01-01T00:00:00Z", "timeoutInMinutes"),
            (
                json!({"environment": {"environmentVariables": [{"name": "T", "value": ["x"]}, CANARY]}}),
                "2026-01-01T00:00:00Z",
                "environmentVariables",
            ),
            (json!({"source": CANARY}), "2026-01-01T00:00:00Z", "source"),
            (json!({"vpcConfig": {"securityGroupIds": [CANARY, 1]}}), "2026-01-01T00:00:00Z", "securityGroupIds"),
            (json!({}), CANARY, "configurationItemCaptureTime"),
        ] {
            let err = ConfigurationItem::from_value(&item(configuration, time))
                .and_then(|item| item.view::<crate::resources::CodeBuildProject>().map(|_| ()))
                .unwrap_err()
                .to_string();
            assert!(!err.contains(CANARY) && !err.contains("c4n4ry"), "{err}");
            assert!(err.contains(field), "{err}");
        }
    }
}
