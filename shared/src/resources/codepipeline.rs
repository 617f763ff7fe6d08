//! `AWS::CodePipeline::Pipeline`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::lenient::{flexible_str, flexible_string, flexible_u32, null_as_default};
use crate::rule::{Resource, Subject};

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

impl Subject<PipelineConfiguration> {
    /// The pipeline's name, to show and to look it up by: the configuration's `name`, else the
    /// item's `resourceId` (which Config sets to the name).
    pub fn pipeline_name(&self) -> &str {
        self.resource.pipeline.name.as_deref().filter(|name| !name.is_empty()).unwrap_or(&self.item.resource_id)
    }
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

/// What an action is: its category (`Source`, `Build`, `Deploy`…), owner (`AWS`, `ThirdParty`,
/// `Custom`), provider and version. The four are kept in one text, as [`Settings`] are: a sweep
/// reads one for every action of every pipeline.
#[derive(Clone, Default, PartialEq)]
pub struct ActionTypeId {
    /// Category, owner, provider and version, one after the other.
    text: String,
    /// Where the category, the owner and the provider end in `text`.
    ends: [usize; 3],
    has_version: bool,
}

impl ActionTypeId {
    pub fn category(&self) -> &str {
        &self.text[..self.ends[0]]
    }

    pub fn owner(&self) -> &str {
        &self.text[self.ends[0]..self.ends[1]]
    }

    pub fn provider(&self) -> &str {
        &self.text[self.ends[1]..self.ends[2]]
    }

    pub fn version(&self) -> Option<&str> {
        self.has_version.then(|| &self.text[self.ends[2]..])
    }
}

impl fmt::Debug for ActionTypeId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ActionTypeId")
            .field("category", &self.category())
            .field("owner", &self.owner())
            .field("provider", &self.provider())
            .field("version", &self.version())
            .finish()
    }
}

/// Each part a string, or a number or boolean that means one; a null or absent category, owner
/// or provider is empty.
impl<'de> Deserialize<'de> for ActionTypeId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Borrowed from the input where it can be: it is copied into the one text.
        #[derive(Default, Deserialize)]
        #[serde(rename_all = "camelCase", default)]
        struct Parts<'a> {
            #[serde(borrow, deserialize_with = "flexible_str")]
            category: Option<Cow<'a, str>>,
            #[serde(borrow, deserialize_with = "flexible_str")]
            owner: Option<Cow<'a, str>>,
            #[serde(borrow, deserialize_with = "flexible_str")]
            provider: Option<Cow<'a, str>>,
            #[serde(borrow, deserialize_with = "flexible_str")]
            version: Option<Cow<'a, str>>,
        }
        let Parts { category, owner, provider, version } = Parts::deserialize(deserializer)?;
        let has_version = version.is_some();
        let [category, owner, provider, version] = [category, owner, provider, version].map(Option::unwrap_or_default);
        let category_end = category.len();
        let owner_end = category_end + owner.len();
        let provider_end = owner_end + provider.len();
        Ok(ActionTypeId {
            text: [category, owner, provider, version].concat(),
            ends: [category_end, owner_end, provider_end],
            has_version,
        })
    }
}

/// An action's settings by name, in name order: one text holding every name and value, and
/// where each lies in it. An action has a handful of settings and a sweep reads those of every
/// action of every pipeline: this is two allocations per action instead of two per setting.
#[derive(Clone, Default)]
pub struct Settings {
    text: String,
    /// `(name_start, value_start, value_end)` into `text`, sorted by name.
    bounds: Vec<(usize, usize, usize)>,
}

impl Settings {
    pub fn get(&self, name: &str) -> Option<&str> {
        let index = self.bounds.binary_search_by(|&bounds| self.entry(bounds).0.cmp(name)).ok()?;
        Some(self.entry(self.bounds[index]).1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// `(name, value)` pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.bounds.iter().map(|&bounds| self.entry(bounds))
    }

    fn entry(&self, (name_start, value_start, value_end): (usize, usize, usize)) -> (&str, &str) {
        (&self.text[name_start..value_start], &self.text[value_start..value_end])
    }
}

impl PartialEq for Settings {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_map().entries(self.iter()).finish()
    }
}

/// An object whose values are strings, or numbers and booleans that mean one; null entries are
/// left out and, as in a map, the last of duplicate names wins.
impl<'de> Deserialize<'de> for Settings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Borrowed from the input where it can be: it is copied into the settings' text.
        struct Text<'a>(Option<Cow<'a, str>>);
        impl<'de> Deserialize<'de> for Text<'de> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                flexible_str(deserializer).map(Text)
            }
        }
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Settings;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Settings, A::Error> {
                let mut settings = Settings { text: String::with_capacity(256), bounds: Vec::with_capacity(8) };
                while let Some((Text(name), Text(value))) = entries.next_entry::<Text, Text>()? {
                    if let (Some(name), Some(value)) = (name, value) {
                        let name_start = settings.text.len();
                        settings.text.push_str(&name);
                        let value_start = settings.text.len();
                        settings.text.push_str(&value);
                        settings.bounds.push((name_start, value_start, settings.text.len()));
                    }
                }
                // The sort is stable, so reversed, the last of equal names comes first and is kept.
                let text = &settings.text;
                settings.bounds.sort_by(|&(a, a_end, _), &(b, b_end, _)| text[a..a_end].cmp(&text[b..b_end]));
                settings.bounds.reverse();
                settings.bounds.dedup_by(|&mut (a, a_end, _), &mut (b, b_end, _)| text[a..a_end] == text[b..b_end]);
                settings.bounds.reverse();
                Ok(settings)
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

    #[test]
    fn action_type_id_parts_are_read_one_by_one() {
        let id: ActionTypeId =
            serde_json::from_str(r#"{"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": 1}"#)
                .unwrap();
        assert_eq!((id.category(), id.owner(), id.provider(), id.version()), ("Build", "AWS", "CodeBuild", Some("1")));
        let partial: ActionTypeId = serde_json::from_str(r#"{"category": null, "provider": "Manual"}"#).unwrap();
        assert_eq!(
            (partial.category(), partial.owner(), partial.provider(), partial.version()),
            ("", "", "Manual", None)
        );
        assert_eq!(
            format!("{partial:?}"),
            r#"ActionTypeId { category: "", owner: "", provider: "Manual", version: None }"#
        );
        assert!(serde_json::from_str::<ActionTypeId>(r#"{"category": ["Build"]}"#).is_err());
    }

    #[test]
    fn settings_keep_escaped_text_and_compare_by_content() {
        let escaped: Settings = serde_json::from_str(r#"{"UserParameters": "{\"a\": 1}", "B": "x"}"#).unwrap();
        assert_eq!(escaped.get("UserParameters"), Some(r#"{"a": 1}"#));
        let reordered: Settings = serde_json::from_str(r#"{"B": "x", "UserParameters": "{\"a\": 1}"}"#).unwrap();
        assert_eq!(escaped, reordered, "the same settings in another order are equal");
        assert_eq!(format!("{escaped:?}"), r#"{"B": "x", "UserParameters": "{\"a\": 1}"}"#);
    }
}
