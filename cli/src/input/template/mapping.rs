//! Resolved template properties onto the `configuration` AWS Config records, and the
//! unresolved values the mapping leaves out.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use aws_sdk_config::primitives::DateTime;
use pipesec_engine::item::{Configuration, ConfigurationItem, ItemStatus};
use pipesec_engine::resources::{CodeBuildProject, CodeBuildReportGroup, PipelineConfiguration};
use pipesec_engine::rule::Resource;
use serde_json::{Map, Value};

use super::resolve::{Context, Resolved, Resolver, UNRESOLVED_KEY, is_marker};

/// The resource types the scanner maps; others in a template are ignored.
pub const SUPPORTED_TYPES: &[&str] =
    &[CodeBuildProject::RESOURCE_TYPE, PipelineConfiguration::RESOURCE_TYPE, CodeBuildReportGroup::RESOURCE_TYPE];

/// A template that cannot be read as CloudFormation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CfnError {
    #[error("not a CloudFormation template: {0}")]
    NotATemplate(String),
    #[error("resource `{logical_id}`: {reason}")]
    InvalidResource { logical_id: String, reason: String },
}

/// A value of the template that is unknown before deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// Where it lands in the configuration, e.g. `environment.environmentVariables[0].value`.
    pub path: String,
    /// Where it is in the template, e.g. `Properties.Environment.EnvironmentVariables[0].Value`.
    pub property: String,
    /// Why it is unknown, naming the intrinsic function.
    pub reason: String,
    /// What stands in for it where a rule can judge an unknown value ([`pipesec_engine::unknown`]).
    pub placeholder: String,
}

/// A resource of the template referenced (`Ref`, `Fn::GetAtt`, `${…}`) by a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The configuration path of the referencing value, e.g. `pipeline.stages[1].actions[0].configuration.ProjectName`.
    pub path: String,
    pub logical_id: String,
}

/// One resource of a template, in the shape of a configuration item.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedResource {
    pub logical_id: String,
    pub resource_type: String,
    /// The `configuration` AWS Config would record, unresolved values left out.
    pub configuration: Value,
    /// The same with a marker where each unresolved value is.
    marked: Value,
    pub unresolved: Vec<Unresolved>,
    pub references: Vec<Reference>,
}

impl MappedResource {
    /// The first unresolved value under (or above) one of `inputs`, the configuration paths a
    /// rule reads: the rule's verdict could depend on it.
    pub fn unresolved_input(&self, inputs: &[&str]) -> Option<&Unresolved> {
        self.unresolved.iter().find(|unresolved| inputs.iter().any(|input| overlaps(input, &unresolved.path)))
    }

    /// The configuration with the unresolved values at paths under `tolerant` given their
    /// placeholders, the others left out.
    pub fn configuration_with_placeholders(&self, tolerant: &[&str]) -> Value {
        let mut configuration = self.marked.clone();
        replace_markers(&mut configuration, "", &mut |marker, path| {
            tolerant.iter().any(|prefix| is_under(&path, prefix)).then(|| marker[UNRESOLVED_KEY]["placeholder"].clone())
        });
        configuration
    }

    /// The resource's own name (`Name`), when the template sets it to a known value.
    pub fn name(&self) -> Option<&str> {
        let name = match self.resource_type.as_str() {
            t if t == PipelineConfiguration::RESOURCE_TYPE => self.configuration.pointer("/pipeline/name"),
            _ => self.configuration.get("name"),
        };
        name.and_then(Value::as_str).filter(|name| !name.is_empty())
    }

    /// A configuration item for the resource: its id is the logical id.
    pub fn item(&self, account_id: Option<&str>, region: Option<&str>) -> ConfigurationItem {
        ConfigurationItem {
            resource_type: self.resource_type.clone(),
            resource_id: self.logical_id.clone(),
            resource_name: self.name().map(str::to_owned),
            arn: None,
            account_id: account_id.map(str::to_owned),
            aws_region: region.map(str::to_owned),
            status: ItemStatus::Ok,
            capture_time: DateTime::from_secs(0),
            configuration: Configuration::from_value(&self.configuration),
            supplementary_configuration: Map::new(),
            tags: BTreeMap::new(),
        }
    }
}

/// Whether configuration path `path` is `prefix` or lies under it (list indices ignored; a `*`
/// segment of `prefix` matches any key, e.g. a region in `pipeline.artifactStores.*.location`).
pub(crate) fn is_under(path: &str, prefix: &str) -> bool {
    let (path, prefix) = (segments(path), segments(prefix));
    path.len() >= prefix.len() && path.iter().zip(&prefix).all(|(segment, wanted)| *wanted == "*" || segment == wanted)
}

fn segments(path: &str) -> Vec<&str> {
    path.split('.')
        .filter(|segment| !segment.is_empty())
        .map(|segment| segment.split('[').next().unwrap_or_default())
        .collect()
}

/// Whether two configuration paths overlap: one is the other or lies under it. List indices
/// are ignored (`source[1].location` is under `source`); the empty path covers everything.
pub(crate) fn overlaps(input: &str, path: &str) -> bool {
    let (input, path) = (segments(input), segments(path));
    let common = input.len().min(path.len());
    input[..common] == path[..common]
}

/// The template property a configuration path comes from, e.g. `environment.privilegedMode`
/// → `Properties.Environment.PrivilegedMode` (the empty path is `Properties`).
pub fn property_path(resource_type: &str, config_path: &str) -> String {
    let mut segments: Vec<&str> = config_path.split('.').filter(|segment| !segment.is_empty()).collect();
    if resource_type == PipelineConfiguration::RESOURCE_TYPE && segments.first() == Some(&"pipeline") {
        segments.remove(0);
    }
    let mut path = String::from("Properties");
    let mut opaque = false;
    for segment in segments {
        path.push('.');
        if opaque {
            path.push_str(segment);
            continue;
        }
        opaque = segment == "configuration";
        match segment {
            "projectVisibility" => path.push_str("Visibility"),
            "webhook" => path.push_str("Triggers"),
            _ => path.push_str(&pascal(segment)),
        }
    }
    path
}

/// Every supported resource of `template`, mapped.
pub fn map_template(template: &Value, context: &Context) -> Result<Vec<MappedResource>, CfnError> {
    let template =
        template.as_object().ok_or_else(|| CfnError::NotATemplate("the document is not a mapping".into()))?;
    let resources = template
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or_else(|| CfnError::NotATemplate("it has no `Resources` section".into()))?;
    let section = |name: &str| template.get(name).and_then(Value::as_object).cloned().unwrap_or_default();
    let resolver = Resolver {
        context,
        parameters: section("Parameters"),
        conditions: section("Conditions"),
        mappings: section("Mappings"),
        resources: resources.clone(),
        decided: RefCell::new(BTreeMap::new()),
        names: RefCell::new(BTreeMap::new()),
        steps: Cell::new(0),
        exceeded: RefCell::new(None),
    };
    let mut mapped = Vec::new();
    for (logical_id, resource) in resources {
        let invalid =
            |reason: &str| CfnError::InvalidResource { logical_id: logical_id.clone(), reason: reason.into() };
        let resource = resource.as_object().ok_or_else(|| invalid("not a mapping"))?;
        let resource_type = resource.get("Type").and_then(Value::as_str).ok_or_else(|| invalid("no `Type`"))?;
        if !SUPPORTED_TYPES.contains(&resource_type) {
            continue;
        }
        resolver.start_resource();
        if let Some(condition) = resource.get("Condition").and_then(Value::as_str)
            && resolver.condition(condition, 0) == Ok(false)
        {
            continue; // not created with these parameters
        }
        let properties = match resource.get("Properties") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(properties) => match resolver.resolve(properties, "Properties", 0) {
                Resolved::Known(value @ Value::Object(_)) => value,
                Resolved::Known(_) => return Err(invalid("`Properties` is not a mapping")),
                Resolved::NoValue => Value::Object(Map::new()),
                Resolved::Unknown(unknown) => unknown.marker("Properties"),
            },
        };
        if let Some(reason) = resolver.exceeded.take() {
            return Err(invalid(&format!("{reason}; the template cannot be evaluated")));
        }
        let configuration = match resource_type {
            t if t == PipelineConfiguration::RESOURCE_TYPE => pipeline(&properties),
            t if t == CodeBuildProject::RESOURCE_TYPE => codebuild_project(&properties),
            _ => without_tags(camel_keys(&properties)),
        };
        mapped.push(MappedResource::from_marked(logical_id, resource_type, configuration));
    }
    Ok(mapped)
}

impl MappedResource {
    /// A resource from its mapped configuration with a marker ([`unknown_marker`]) where each
    /// value unknown before deployment is: the markers are recorded and left out of
    /// `configuration`, kept in the copy that gives them their placeholders.
    pub fn from_marked(logical_id: &str, resource_type: &str, marked: Value) -> Self {
        let mut configuration = marked.clone();
        let (mut unresolved, mut references) = (Vec::new(), Vec::new());
        replace_markers(&mut configuration, "", &mut |marker, path| {
            record_marker(marker, path, &mut unresolved, &mut references);
            None
        });
        MappedResource {
            logical_id: logical_id.to_owned(),
            resource_type: resource_type.to_owned(),
            configuration,
            marked,
            unresolved,
            references,
        }
    }
}

/// The marker of a value unknown before deployment, for inputs other than CloudFormation
/// (Terraform's "known after apply"): `property` is where it is in the input, `reason` why it
/// is unknown, `placeholder` what stands in for it where a rule can judge it.
pub fn unknown_marker(property: &str, reason: &str, placeholder: &str) -> Value {
    let mut inner = Map::new();
    inner.insert("reason".into(), Value::from(reason));
    inner.insert("property".into(), Value::from(property));
    inner.insert("refs".into(), Value::Array(Vec::new()));
    inner.insert("placeholder".into(), Value::from(placeholder));
    let mut marker = Map::new();
    marker.insert(UNRESOLVED_KEY.into(), Value::Object(inner));
    Value::Object(marker)
}

/// Records one marker found at `path`.
fn record_marker(marker: &Value, path: String, unresolved: &mut Vec<Unresolved>, references: &mut Vec<Reference>) {
    let inner = &marker[UNRESOLVED_KEY];
    for logical_id in inner["refs"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        references.push(Reference { path: path.clone(), logical_id: logical_id.to_owned() });
    }
    let text = |key: &str| inner[key].as_str().unwrap_or_default().to_owned();
    unresolved.push(Unresolved {
        path,
        property: text("property"),
        reason: text("reason"),
        placeholder: text("placeholder"),
    });
}

/// Walks the markers of a mapped configuration: `on_marker` gets each with its path and says
/// what takes its place (`None`: the value is left out, list items after it move up).
fn replace_markers(value: &mut Value, path: &str, on_marker: &mut impl FnMut(&Value, String) -> Option<Value>) {
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let child_path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                if is_marker(&map[&key]) {
                    let marker = map.remove(&key).unwrap_or_default();
                    if let Some(replacement) = on_marker(&marker, child_path) {
                        map.insert(key, replacement);
                    }
                } else if let Some(child) = map.get_mut(&key) {
                    replace_markers(child, &child_path, on_marker);
                }
            }
        }
        Value::Array(items) => {
            let mut kept = Vec::new();
            for (index, mut item) in std::mem::take(items).into_iter().enumerate() {
                let child_path = format!("{path}[{index}]");
                if is_marker(&item) {
                    kept.extend(on_marker(&item, child_path));
                } else {
                    replace_markers(&mut item, &child_path, on_marker);
                    kept.push(item);
                }
            }
            *items = kept;
        }
        _ => {}
    }
}

/// An action setting as CodePipeline records it: a string (JSON text for a structured value),
/// or the marker of a value unknown before deployment.
pub(super) fn action_setting(value: &Value) -> Value {
    match value {
        Value::Object(_) if is_marker(value) => value.clone(),
        Value::Object(_) | Value::Array(_) => Value::from(value.to_string()),
        scalar => scalar.clone(),
    }
}

fn camel(key: &str) -> String {
    let mut chars = key.chars();
    chars.next().map_or_else(String::new, |first| first.to_ascii_lowercase().to_string() + chars.as_str())
}

fn pascal(key: &str) -> String {
    let mut chars = key.chars();
    chars.next().map_or_else(String::new, |first| first.to_ascii_uppercase().to_string() + chars.as_str())
}

/// Keys camelCased at every level; markers kept as they are.
fn camel_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) if is_marker(value) => Value::Object(map.clone()),
        Value::Object(map) => Value::Object(map.iter().map(|(key, value)| (camel(key), camel_keys(value))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(camel_keys).collect()),
        scalar => scalar.clone(),
    }
}

fn without_tags(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.remove("tags");
    }
    value
}

/// A value as a list, the way Config records `source` and `artifacts`.
fn as_list(value: Value) -> Value {
    match value {
        Value::Array(_) => value,
        other => Value::Array(vec![other]),
    }
}

fn codebuild_project(properties: &Value) -> Value {
    let mut configuration = Map::new();
    // Known by construction: CloudFormation's documented defaults, a private project with no
    // webhook unless the template says otherwise.
    configuration.insert("projectVisibility".into(), Value::from("PRIVATE"));
    configuration.insert("webhook".into(), Value::Null);
    for (key, value) in properties.as_object().into_iter().flatten() {
        match key.as_str() {
            "Tags" => {}
            "Visibility" => {
                configuration.insert("projectVisibility".into(), value.clone());
            }
            // `Triggers: {Webhook: true, FilterGroups: [[{Type, Pattern, ExcludeMatchedPattern}]]}`
            // is the API's `webhook: {filterGroups}`.
            "Triggers" if is_marker(value) => {
                configuration.insert("webhook".into(), value.clone());
            }
            "Triggers" => {
                let triggers = camel_keys(value);
                match triggers.get("webhook") {
                    Some(webhook) if is_marker(webhook) => {
                        configuration.insert("webhook".into(), webhook.clone());
                    }
                    // CloudFormation takes `"true"` for a boolean, and passes booleans to hooks
                    // as strings.
                    Some(webhook) if is_true(webhook) => {
                        let groups = triggers.get("filterGroups").cloned().unwrap_or_else(|| Value::Array(Vec::new()));
                        let mut webhook = Map::new();
                        webhook.insert("filterGroups".into(), groups);
                        configuration.insert("webhook".into(), Value::Object(webhook));
                    }
                    _ => {}
                }
            }
            "Source" | "Artifacts" => {
                configuration.insert(camel(key), as_list(camel_keys(value)));
            }
            _ => {
                configuration.insert(camel(key), camel_keys(value));
            }
        }
    }
    Value::Object(configuration)
}

/// A boolean property's `true`, written as a boolean or as the string CloudFormation also takes.
fn is_true(value: &Value) -> bool {
    match value {
        Value::Bool(flag) => *flag,
        Value::String(text) => text.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// `{pipeline, metadata}` as Config records a pipeline.
fn pipeline(properties: &Value) -> Value {
    let mut pipeline = Map::new();
    for (key, value) in properties.as_object().into_iter().flatten() {
        match key.as_str() {
            "Tags" => {}
            "Stages" => {
                pipeline.insert("stages".into(), stages(value));
            }
            "ArtifactStores" => {
                pipeline.insert("artifactStores".into(), artifact_stores(value));
            }
            _ => {
                pipeline.insert(camel(key), camel_keys(value));
            }
        }
    }
    let mut configuration = Map::new();
    configuration.insert("pipeline".into(), Value::Object(pipeline));
    configuration.insert("metadata".into(), Value::Object(Map::new()));
    Value::Object(configuration)
}

fn stages(value: &Value) -> Value {
    let Value::Array(stages) = value else { return camel_keys(value) };
    let stages = stages.iter().map(|stage| {
        let Value::Object(stage) = stage else { return camel_keys(stage) };
        let mut mapped = Map::new();
        for (key, value) in stage {
            match (key.as_str(), value) {
                ("Actions", Value::Array(actions)) => {
                    mapped.insert("actions".into(), Value::Array(actions.iter().map(action).collect()));
                }
                _ => {
                    mapped.insert(camel(key), camel_keys(value));
                }
            }
        }
        Value::Object(mapped)
    });
    Value::Array(stages.collect())
}

fn action(value: &Value) -> Value {
    let Value::Object(action) = value else { return camel_keys(value) };
    let mut mapped = Map::new();
    for (key, value) in action {
        match (key.as_str(), value) {
            // Keys are the provider's own (`ProjectName`, `OAuthToken`); values are strings.
            ("Configuration", Value::Object(configuration)) => {
                let configuration =
                    configuration.iter().map(|(key, value)| (key.clone(), action_setting(value))).collect();
                mapped.insert("configuration".into(), Value::Object(configuration));
            }
            _ => {
                mapped.insert(camel(key), camel_keys(value));
            }
        }
    }
    Value::Object(mapped)
}

/// CloudFormation's list of `{Region, ArtifactStore}` becomes Config's `{region: store}`.
fn artifact_stores(value: &Value) -> Value {
    let Value::Array(entries) = value else { return camel_keys(value) };
    let mut stores = Map::new();
    for (index, entry) in entries.iter().enumerate() {
        let store = camel_keys(entry.get("ArtifactStore").unwrap_or(&Value::Null));
        match entry.get("Region") {
            Some(Value::String(region)) => {
                stores.insert(region.clone(), store);
            }
            other => {
                // The region is unknown: keep the store (its encryption can still be judged) and
                // record that the map's key is not known.
                let mut store = store;
                if let (Some(map), Some(marker)) = (store.as_object_mut(), other.filter(|v| is_marker(v))) {
                    map.insert("region".into(), marker.clone());
                }
                stores.insert(format!("(region {index})"), store);
            }
        }
    }
    Value::Object(stores)
}
