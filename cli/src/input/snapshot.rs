//! Configuration items from files, in every shape AWS Config hands them out.

use std::path::Path;

use pipesec_engine::ConfigurationItem;
use serde_json::Value;

use super::{Entry, Origin};
use crate::error::{CliError, Result};

/// The items of one file, as entries to evaluate.
pub fn load(path: &Path) -> Result<Vec<Entry>> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|err| CliError::input(&file, err))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(CliError::input(&file, "gzip-compressed (as Config delivers snapshots to S3): gunzip it first"));
    }
    let document: Value =
        serde_json::from_slice(&bytes).map_err(|err| CliError::input(&file, format!("invalid JSON: {err}")))?;
    let items = items(&document).map_err(|reason| CliError::input(&file, reason))?;
    Ok(items.into_iter().map(|item| Entry { item, origin: Origin::Snapshot { file: file.clone() } }).collect())
}

/// The configuration items of a document:
/// - a snapshot or history file delivered to S3, or GetResourceConfigHistory output:
///   `{"configurationItems": [...]}`;
/// - SelectResourceConfig output: `{"Results": ["<item as a JSON string>", ...]}`;
/// - BatchGetResourceConfig output: `{"baseConfigurationItems": [...]}`;
/// - a change notification (`{"configurationItem": ...}`), or the Lambda event carrying one;
/// - a list of items, or one item — in the event model or the API model.
pub fn items(document: &Value) -> std::result::Result<Vec<ConfigurationItem>, String> {
    let list = |values: &[Value], what: &str| -> std::result::Result<Vec<ConfigurationItem>, String> {
        values
            .iter()
            .enumerate()
            .map(|(index, value)| {
                let value = match value {
                    Value::String(text) => serde_json::from_str(text)
                        .map_err(|err| format!("{what}[{index}] is a string but not JSON: {err}"))?,
                    other => other.clone(),
                };
                ConfigurationItem::from_value(&value).map_err(|err| format!("{what}[{index}]: {err}"))
            })
            .collect()
    };
    match document {
        Value::Array(values) => list(values, "item"),
        Value::Object(object) => {
            for key in [
                "configurationItems",
                "ConfigurationItems",
                "baseConfigurationItems",
                "BaseConfigurationItems",
                "Results",
            ] {
                if let Some(value) = object.get(key) {
                    return match value {
                        Value::Array(values) => list(values, key),
                        _ => Err(format!("`{key}` is not a list")),
                    };
                }
            }
            if let Some(item) = object.get("configurationItem") {
                return list(std::slice::from_ref(item), "configurationItem");
            }
            if let Some(Value::String(invoking)) = object.get("invokingEvent") {
                let invoking: Value =
                    serde_json::from_str(invoking).map_err(|err| format!("`invokingEvent` is not JSON: {err}"))?;
                return match invoking.get("configurationItem") {
                    Some(item) => list(std::slice::from_ref(item), "invokingEvent.configurationItem"),
                    None => Err("the event carries no configuration item (oversized or scheduled notification)".into()),
                };
            }
            if object.contains_key("resourceType") {
                return list(std::slice::from_ref(document), "item");
            }
            Err("no configuration items: expected `configurationItems`, `Results`, `baseConfigurationItems`, \
                 a list of items or one item"
                .into())
        }
        _ => Err("no configuration items: the document is neither an object nor a list".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/snapshots").join(name)
    }

    fn ids(name: &str) -> Vec<(String, String)> {
        let entries = load(&fixture(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
        entries.into_iter().map(|entry| (entry.item.resource_type, entry.item.resource_id)).collect()
    }

    #[test]
    fn every_shape_config_produces_reads_the_same_items() {
        let expected = ids("snapshot.json");
        assert_eq!(expected.len(), 3, "{expected:?}");
        for shape in ["select-resource-config.json", "batch-get-resource-config.json", "item-list.json"] {
            assert_eq!(ids(shape), expected, "{shape}");
        }
        assert_eq!(ids("single-item.json"), expected[..1]);
        assert_eq!(ids("change-event.json"), expected[..1]);
    }

    #[test]
    fn the_api_model_configuration_string_is_parsed() {
        let entries = load(&fixture("batch-get-resource-config.json")).unwrap();
        assert!(entries[0].item.configuration.to_value().is_object(), "{:?}", entries[0].item.configuration);
        let snapshot = load(&fixture("snapshot.json")).unwrap();
        assert_eq!(entries[0].item.configuration, snapshot[0].item.configuration);
    }

    #[test]
    fn bad_documents_name_the_file_and_the_problem() {
        let dir = std::env::temp_dir().join(format!("pipesec-snapshot-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cases = [
            ("not-json.json", b"{not json".to_vec(), "invalid JSON"),
            ("gzip.json.gz", vec![0x1f, 0x8b, 8, 0], "gunzip it first"),
            ("other.json", br#"{"hello": 1}"#.to_vec(), "no configuration items"),
            ("bad-item.json", br#"{"configurationItems": [{"resourceType": "T"}]}"#.to_vec(), "configurationItems[0]"),
        ];
        for (name, bytes, expected) in cases {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            let message = load(&path).unwrap_err().to_string();
            assert!(message.starts_with(&path.display().to_string()) && message.contains(expected), "{message}");
        }
        let message = load(&dir.join("missing.json")).unwrap_err().to_string();
        assert!(message.contains("missing.json"), "{message}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
