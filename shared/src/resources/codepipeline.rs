//! `AWS::CodePipeline::Pipeline`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::lenient::{flexible_string, flexible_u32, null_as_default};
use crate::rule::Resource;

/// A pipeline's configuration item: `{pipeline, metadata}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PipelineConfiguration {
    #[serde(deserialize_with = "null_as_default")]
    pub pipeline: Pipeline,
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: PipelineMetadata,
}

impl Resource for PipelineConfiguration {
    const RESOURCE_TYPE: &'static str = "AWS::CodePipeline::Pipeline";
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Pipeline {
    #[serde(deserialize_with = "flexible_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "flexible_string")]
    pub role_arn: Option<String>,
    #[serde(deserialize_with = "flexible_u32")]
    pub version: Option<u32>,
    /// `V1` or `V2`; absent on pipelines created before V2 existed.
    #[serde(deserialize_with = "flexible_string")]
    pub pipeline_type: Option<String>,
    /// Single-region pipelines have one store...
    pub artifact_store: Option<ArtifactStore>,
    /// ...cross-region pipelines one per region instead.
    #[serde(deserialize_with = "null_as_default")]
    pub artifact_stores: BTreeMap<String, ArtifactStore>,
    #[serde(deserialize_with = "null_as_default")]
    pub stages: Vec<Stage>,
    /// Pipeline-level variables (V2 pipelines), with the default a run starts from.
    #[serde(deserialize_with = "null_as_default")]
    pub variables: Vec<PipelineVariable>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PipelineVariable {
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "flexible_string")]
    pub default_value: Option<String>,
}

impl Pipeline {
    /// Every artifact store with the region it serves (`None` for the pipeline's own region).
    pub fn artifact_stores(&self) -> impl Iterator<Item = (Option<&str>, &ArtifactStore)> {
        let single = self.artifact_store.iter().map(|store| (None, store));
        single.chain(self.artifact_stores.iter().map(|(region, store)| (Some(region.as_str()), store)))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PipelineMetadata {
    #[serde(deserialize_with = "flexible_string")]
    pub pipeline_arn: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ArtifactStore {
    #[serde(rename = "type", deserialize_with = "flexible_string")]
    pub store_type: Option<String>,
    #[serde(deserialize_with = "flexible_string")]
    pub location: Option<String>,
    pub encryption_key: Option<EncryptionKey>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EncryptionKey {
    #[serde(deserialize_with = "flexible_string")]
    pub id: Option<String>,
    #[serde(rename = "type", deserialize_with = "flexible_string")]
    pub key_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Stage {
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Action {
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub action_type_id: ActionTypeId,
    /// Values are strings (a CodeBuild action's `EnvironmentVariables` is a JSON string).
    #[serde(deserialize_with = "null_as_default")]
    pub configuration: Settings,
    /// Actions of a stage run in ascending `runOrder` (1 when absent); equal ones in parallel.
    #[serde(deserialize_with = "flexible_u32")]
    pub run_order: Option<u32>,
    #[serde(deserialize_with = "flexible_string")]
    pub role_arn: Option<String>,
    #[serde(deserialize_with = "flexible_string")]
    pub region: Option<String>,
}

impl Action {
    pub fn run_order(&self) -> u32 {
        self.run_order.unwrap_or(1)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ActionTypeId {
    #[serde(deserialize_with = "null_as_default")]
    pub category: String,
    #[serde(deserialize_with = "null_as_default")]
    pub owner: String,
    #[serde(deserialize_with = "null_as_default")]
    pub provider: String,
    #[serde(deserialize_with = "flexible_string")]
    pub version: Option<String>,
}

/// An action's settings by name, in name order. A sorted list rather than a map: an action has
/// a handful, and one is read for every action of every pipeline.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings(Vec<(String, String)>);

impl Settings {
    pub fn get(&self, name: &str) -> Option<&str> {
        let index = self.0.binary_search_by(|(key, _)| key.as_str().cmp(name)).ok()?;
        Some(&self.0[index].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// `(name, value)` pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(key, value)| (key.as_str(), value.as_str()))
    }
}

/// An object whose values are strings, or numbers and booleans that mean one; null entries are
/// left out and, as in a map, the last of duplicate names wins.
impl<'de> Deserialize<'de> for Settings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Text(#[serde(deserialize_with = "flexible_string")] Option<String>);
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Settings;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Settings, A::Error> {
                let mut settings = Vec::with_capacity(entries.size_hint().unwrap_or(8));
                while let Some((key, Text(value))) = entries.next_entry::<String, Text>()? {
                    if let Some(value) = value {
                        settings.push((key, value));
                    }
                }
                // The sort is stable, so reversed, the last of equal names comes first and is kept.
                settings.sort_by(|(a, _), (b, _)| a.cmp(b));
                settings.reverse();
                settings.dedup_by(|(name, _), (kept, _)| name == kept);
                settings.reverse();
                Ok(Settings(settings))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_stages_actions_and_stores() {
        let config: PipelineConfiguration = serde_json::from_value(json!({
            "pipeline": {
                "name": "release", "roleArn": "arn:aws:iam::1:role/p", "version": 3.0,
                "artifactStores": {"us-east-1": {"type": "S3", "location": "b1", "encryptionKey": {"id": "k", "type": "KMS"}},
                                   "eu-west-1": {"type": "S3", "location": "b2"}},
                "stages": [{"name": "Source", "actions": [{
                    "name": "GitHub", "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
                    "configuration": {"Owner": "o", "OAuthToken": "****", "PollForSourceChanges": false}, "runOrder": 1
                }]}, {"name": "Deploy", "actions": null}]
            },
            "metadata": {"pipelineArn": "arn:aws:codepipeline:us-east-1:1:release"}
        }))
        .unwrap();
        let pipeline = &config.pipeline;
        assert_eq!(pipeline.version, Some(3));
        assert_eq!(pipeline.artifact_stores().count(), 2);
        assert_eq!(pipeline.stages[0].actions[0].configuration.get("PollForSourceChanges"), Some("false"));
        assert!(pipeline.stages[1].actions.is_empty());
        assert_eq!(config.metadata.pipeline_arn.as_deref(), Some("arn:aws:codepipeline:us-east-1:1:release"));
    }

    #[test]
    fn settings_are_sorted_strings_the_last_of_a_name_kept() {
        let settings: Settings = serde_json::from_str(r#"{"b": "1", "a": true, "c": null, "b": 2.5, "d": 7}"#).unwrap();
        assert_eq!(settings.iter().collect::<Vec<_>>(), [("a", "true"), ("b", "2.5"), ("d", "7")]);
        assert_eq!((settings.get("b"), settings.get("c"), settings.contains_key("d")), (Some("2.5"), None, true));
        assert!(serde_json::from_str::<Settings>(r#"["a"]"#).is_err());
    }
}
