//! Terraform resource attributes (`terraform show -json`) onto the `configuration` AWS Config
//! records, beside the CloudFormation mapping and with its unknown-value mechanism: a value
//! Terraform knows only after apply carries a marker ([`unknown_marker`]), so that the runner
//! gives each rule's `UNKNOWN_TOLERANT` paths a placeholder and makes the other rules reading it
//! NOT_APPLICABLE, as for a template.
//!
//! Attributes are snake_case and nested blocks are lists of objects (`environment[0]`); the
//! configuration is camelCase with the API's shapes (`environment.environmentVariables`,
//! `logsConfig.cloudWatchLogs`, a pipeline's stores in `artifactStore` or the `artifactStores`
//! map by region). Empty strings, Terraform's value of an optional string not set, are left out.

use pipesec_engine::resources::{CodeBuildProject, CodeBuildReportGroup, PipelineConfiguration};
use pipesec_engine::rule::Resource;
use serde_json::{Map, Value};

use super::mapping::{action_setting, unknown_marker};
use super::resolve::is_marker;

/// The Terraform resource types mapped, with the AWS Config type each becomes.
pub const SUPPORTED_TYPES: &[(&str, &str)] = &[
    ("aws_codebuild_project", CodeBuildProject::RESOURCE_TYPE),
    ("aws_codepipeline", PipelineConfiguration::RESOURCE_TYPE),
    ("aws_codebuild_report_group", CodeBuildReportGroup::RESOURCE_TYPE),
];

/// Why a value marked in `after_unknown` is not known.
pub const UNKNOWN_REASON: &str = "Terraform knows it only after apply";

/// The AWS Config resource type of a Terraform resource type this module maps.
pub fn config_type(terraform_type: &str) -> Option<&'static str> {
    SUPPORTED_TYPES.iter().find(|(terraform, _)| *terraform == terraform_type).map(|(_, config)| *config)
}

/// `values` with a marker at every path `unknown` (the mirror tree of `after_unknown`) sets to
/// `true`; `path` is the attribute path so far, e.g. `environment[0].privileged_mode`.
pub fn mark_unknown(values: &mut Value, unknown: &Value, path: &str) {
    let placeholder = pipesec_engine::unknown::placeholder("known after apply");
    let marker = |path: &str| unknown_marker(path, UNKNOWN_REASON, &placeholder);
    match unknown {
        Value::Bool(true) => *values = marker(path),
        Value::Object(unknown) => {
            if !values.is_object() {
                *values = Value::Object(Map::new());
            }
            if let Value::Object(map) = values {
                for (key, unknown) in unknown {
                    let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                    let value = map.entry(key.clone()).or_insert(Value::Null);
                    mark_unknown(value, unknown, &child);
                }
            }
        }
        Value::Array(unknown) => {
            if !values.is_array() {
                *values = Value::Array(Vec::new());
            }
            if let Value::Array(items) = values {
                for (index, unknown) in unknown.iter().enumerate() {
                    if items.len() <= index {
                        items.resize(index + 1, Value::Null);
                    }
                    mark_unknown(&mut items[index], unknown, &format!("{path}[{index}]"));
                }
            }
        }
        _ => {}
    }
}

/// Every string under a path the mirror tree `sensitive` (`after_sensitive`,
/// `sensitive_values`) sets to `true`: values no output may print.
pub fn sensitive_strings(values: &Value, sensitive: &Value, found: &mut Vec<String>) {
    match (sensitive, values) {
        (Value::Bool(true), _) => all_strings(values, found),
        (Value::Object(sensitive), Value::Object(values)) => {
            for (key, sensitive) in sensitive {
                if let Some(value) = values.get(key) {
                    sensitive_strings(value, sensitive, found);
                }
            }
        }
        (Value::Array(sensitive), Value::Array(values)) => {
            for (sensitive, value) in sensitive.iter().zip(values) {
                sensitive_strings(value, sensitive, found);
            }
        }
        _ => {}
    }
}

fn all_strings(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(text) if !text.is_empty() => found.push(text.clone()),
        Value::Number(number) => found.push(number.to_string()),
        Value::Array(items) => items.iter().for_each(|item| all_strings(item, found)),
        Value::Object(map) => map.values().for_each(|item| all_strings(item, found)),
        _ => {}
    }
}

/// The configuration of a resource of `terraform_type` from its (marked) attributes; `webhook`
/// is a project's joined `aws_codebuild_webhook` filter groups, when it has one.
pub fn configuration(terraform_type: &str, attributes: &Value, webhook: Option<Value>) -> Value {
    match terraform_type {
        "aws_codebuild_project" => codebuild_project(attributes, webhook),
        "aws_codepipeline" => pipeline(attributes),
        _ => report_group(attributes),
    }
}

/// `webhook` for a project from an `aws_codebuild_webhook`'s attributes: `{filterGroups}`.
pub fn webhook(attributes: &Value) -> Value {
    let groups = match attributes.get("filter_group") {
        Some(marker) if is_marker(marker) => return wrap("filterGroups", marker.clone()),
        Some(Value::Array(groups)) => groups
            .iter()
            .map(|group| match group.get("filter") {
                Some(marker) if is_marker(marker) => marker.clone(),
                Some(Value::Array(filters)) => Value::Array(filters.iter().map(block).collect()),
                _ => Value::Array(Vec::new()),
            })
            .collect(),
        _ => Vec::new(),
    };
    wrap("filterGroups", Value::Array(groups))
}

fn wrap(key: &str, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(key.into(), value);
    Value::Object(map)
}

/// snake_case → camelCase.
fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A value with its keys camelCased at every level, empty strings and nulls left out, and
/// nested blocks (lists of objects of at most one item, as Terraform writes a single block)
/// made objects.
fn block(value: &Value) -> Value {
    match value {
        Value::Object(_) if is_marker(value) => value.clone(),
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, value)| !is_unset(value))
                .map(|(key, value)| {
                    let value = match value {
                        Value::Array(items) if items.len() == 1 && items[0].is_object() && !is_marker(&items[0]) => {
                            block(&items[0])
                        }
                        other => block(other),
                    };
                    (camel(key), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(block).collect()),
        scalar => scalar.clone(),
    }
}

fn is_unset(value: &Value) -> bool {
    matches!(value, Value::Null) || value.as_str() == Some("") || value.as_array().is_some_and(Vec::is_empty)
}

/// The one block of a nested-block list (`environment[0]`), or the marker when the whole list
/// is unknown.
fn single<'a>(attributes: &'a Value, key: &str) -> Option<&'a Value> {
    match attributes.get(key)? {
        marker if is_marker(marker) => Some(marker),
        Value::Array(items) => items.first(),
        Value::Null => None,
        other => Some(other),
    }
}

/// A nested-block list as a list of mapped blocks.
fn many(attributes: &Value, key: &str) -> Option<Value> {
    match attributes.get(key)? {
        marker if is_marker(marker) => Some(marker.clone()),
        Value::Array(items) => Some(Value::Array(items.iter().map(block).collect())),
        _ => None,
    }
}

/// Copies `from` (snake_case attribute) to `to` (configuration key) when set.
fn copy(attributes: &Value, configuration: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(value) = attributes.get(from).filter(|value| !is_unset(value)) {
        configuration.insert(to.into(), block(value));
    }
}

fn codebuild_project(attributes: &Value, webhook: Option<Value>) -> Value {
    let mut configuration = Map::new();
    for (from, to) in [
        ("name", "name"),
        ("arn", "arn"),
        ("description", "description"),
        ("service_role", "serviceRole"),
        ("encryption_key", "encryptionKey"),
        ("build_timeout", "timeoutInMinutes"),
        ("queued_timeout", "queuedTimeoutInMinutes"),
        ("concurrent_build_limit", "concurrentBuildLimit"),
    ] {
        copy(attributes, &mut configuration, from, to);
    }
    // The provider's default, as CloudFormation's: a private project.
    configuration.insert("projectVisibility".into(), Value::from("PRIVATE"));
    copy(attributes, &mut configuration, "project_visibility", "projectVisibility");
    // Known by construction: a webhook is a resource of its own, joined by project name.
    configuration.insert("webhook".into(), webhook.unwrap_or(Value::Null));
    for (from, to) in [
        ("source", "source"),
        ("secondary_sources", "secondarySources"),
        ("artifacts", "artifacts"),
        ("secondary_artifacts", "secondaryArtifacts"),
    ] {
        if let Some(list) = many(attributes, from) {
            configuration.insert(to.into(), list);
        }
    }
    if let Some(environment) = single(attributes, "environment") {
        let mapped = if is_marker(environment) {
            environment.clone()
        } else {
            let mut mapped = block(&without(environment, "environment_variable"));
            if let (Some(map), Some(variables)) = (mapped.as_object_mut(), many(environment, "environment_variable")) {
                map.insert("environmentVariables".into(), variables);
            }
            mapped
        };
        configuration.insert("environment".into(), mapped);
    }
    if let Some(logs) = single(attributes, "logs_config") {
        let mapped = if is_marker(logs) {
            logs.clone()
        } else {
            let mut mapped = Map::new();
            for (from, to) in [("cloudwatch_logs", "cloudWatchLogs"), ("s3_logs", "s3Logs")] {
                if let Some(value) = single(logs, from) {
                    mapped.insert(to.into(), block(value));
                }
            }
            Value::Object(mapped)
        };
        configuration.insert("logsConfig".into(), mapped);
    }
    if let Some(vpc) = single(attributes, "vpc_config") {
        configuration.insert("vpcConfig".into(), block(vpc));
    }
    Value::Object(configuration)
}

fn without(value: &Value, key: &str) -> Value {
    let mut value = value.clone();
    if let Some(map) = value.as_object_mut() {
        map.remove(key);
    }
    value
}

/// `{pipeline, metadata}` as Config records a pipeline.
fn pipeline(attributes: &Value) -> Value {
    let mut pipeline = Map::new();
    copy(attributes, &mut pipeline, "name", "name");
    copy(attributes, &mut pipeline, "role_arn", "roleArn");
    copy(attributes, &mut pipeline, "pipeline_type", "pipelineType");
    copy(attributes, &mut pipeline, "execution_mode", "executionMode");
    match attributes.get("artifact_store") {
        Some(marker) if is_marker(marker) => {
            pipeline.insert("artifactStore".into(), marker.clone());
        }
        Some(Value::Array(stores)) if stores.len() == 1 && stores[0].get("region").is_none_or(is_unset) => {
            pipeline.insert("artifactStore".into(), artifact_store(&stores[0]));
        }
        Some(Value::Array(stores)) => {
            let mut by_region = Map::new();
            for (index, store) in stores.iter().enumerate() {
                let mut mapped = artifact_store(store);
                match store.get("region") {
                    Some(Value::String(region)) if !region.is_empty() => {
                        by_region.insert(region.clone(), mapped);
                    }
                    other => {
                        // The region is unknown: the store is kept (its encryption can still be
                        // judged) and the key it is under is recorded as not known.
                        if let (Some(map), Some(marker)) = (mapped.as_object_mut(), other.filter(|v| is_marker(v))) {
                            map.insert("region".into(), marker.clone());
                        }
                        by_region.insert(format!("(region {index})"), mapped);
                    }
                }
            }
            pipeline.insert("artifactStores".into(), Value::Object(by_region));
        }
        _ => {}
    }
    match attributes.get("stage") {
        Some(marker) if is_marker(marker) => {
            pipeline.insert("stages".into(), marker.clone());
        }
        Some(Value::Array(stages)) => {
            pipeline.insert("stages".into(), Value::Array(stages.iter().map(stage).collect()));
        }
        _ => {}
    }
    if let Some(variables) = many(attributes, "variable") {
        pipeline.insert("variables".into(), variables);
    }
    let mut metadata = Map::new();
    copy(attributes, &mut metadata, "arn", "pipelineArn");
    let mut configuration = Map::new();
    configuration.insert("pipeline".into(), Value::Object(pipeline));
    configuration.insert("metadata".into(), Value::Object(metadata));
    Value::Object(configuration)
}

fn artifact_store(store: &Value) -> Value {
    if is_marker(store) {
        return store.clone();
    }
    let mut mapped = Map::new();
    copy(store, &mut mapped, "type", "type");
    copy(store, &mut mapped, "location", "location");
    if let Some(key) = single(store, "encryption_key") {
        mapped.insert("encryptionKey".into(), block(key));
    }
    Value::Object(mapped)
}

fn stage(stage: &Value) -> Value {
    if is_marker(stage) {
        return stage.clone();
    }
    let mut mapped = Map::new();
    copy(stage, &mut mapped, "name", "name");
    match stage.get("action") {
        Some(marker) if is_marker(marker) => {
            mapped.insert("actions".into(), marker.clone());
        }
        Some(Value::Array(actions)) => {
            mapped.insert("actions".into(), Value::Array(actions.iter().map(action).collect()));
        }
        _ => {}
    }
    Value::Object(mapped)
}

fn action(action: &Value) -> Value {
    if is_marker(action) {
        return action.clone();
    }
    let mut mapped = Map::new();
    copy(action, &mut mapped, "name", "name");
    let mut type_id = Map::new();
    for key in ["category", "owner", "provider", "version"] {
        copy(action, &mut type_id, key, key);
    }
    mapped.insert("actionTypeId".into(), Value::Object(type_id));
    // Keys are the provider's own (`ProjectName`, `OAuthToken`), kept as they are.
    match action.get("configuration") {
        Some(marker) if is_marker(marker) => {
            mapped.insert("configuration".into(), marker.clone());
        }
        Some(Value::Object(settings)) => {
            let settings = settings
                .iter()
                .filter(|(_, value)| !value.is_null())
                .map(|(key, value)| (key.clone(), action_setting(value)))
                .collect();
            mapped.insert("configuration".into(), Value::Object(settings));
        }
        _ => {}
    }
    for (from, to) in
        [("run_order", "runOrder"), ("region", "region"), ("role_arn", "roleArn"), ("namespace", "namespace")]
    {
        copy(action, &mut mapped, from, to);
    }
    for (from, to) in [("input_artifacts", "inputArtifacts"), ("output_artifacts", "outputArtifacts")] {
        match action.get(from) {
            Some(marker) if is_marker(marker) => {
                mapped.insert(to.into(), marker.clone());
            }
            Some(Value::Array(names)) => {
                let names =
                    names.iter().map(|name| if is_marker(name) { name.clone() } else { wrap("name", name.clone()) });
                mapped.insert(to.into(), Value::Array(names.collect()));
            }
            _ => {}
        }
    }
    Value::Object(mapped)
}

fn report_group(attributes: &Value) -> Value {
    let mut configuration = Map::new();
    for key in ["name", "arn", "type"] {
        copy(attributes, &mut configuration, key, key);
    }
    if let Some(export) = single(attributes, "export_config") {
        let mapped = if is_marker(export) {
            export.clone()
        } else {
            let mut mapped = Map::new();
            copy(export, &mut mapped, "type", "exportConfigType");
            if let Some(destination) = single(export, "s3_destination") {
                mapped.insert("s3Destination".into(), block(destination));
            }
            Value::Object(mapped)
        };
        configuration.insert("exportConfig".into(), mapped);
    }
    Value::Object(configuration)
}

/// The Terraform attribute a configuration path comes from, e.g.
/// `environment.environmentVariables` → `environment.environment_variable` (for a finding's
/// location).
pub fn attribute_path(config_path: &str) -> String {
    let mut segments: Vec<&str> = config_path.split('.').filter(|segment| !segment.is_empty()).collect();
    if segments.first() == Some(&"pipeline") {
        segments.remove(0);
    }
    let mut path = Vec::new();
    let mut opaque = false;
    for segment in segments {
        if opaque {
            path.push(segment.to_owned());
            continue;
        }
        opaque = segment == "configuration";
        path.push(match segment {
            "environmentVariables" => "environment_variable".to_owned(),
            "cloudWatchLogs" => "cloudwatch_logs".to_owned(),
            "stages" => "stage".to_owned(),
            "actions" => "action".to_owned(),
            "variables" => "variable".to_owned(),
            "artifactStore" | "artifactStores" => "artifact_store".to_owned(),
            "actionTypeId" => "provider".to_owned(),
            "exportConfigType" => "type".to_owned(),
            "pipelineArn" | "metadata" => "arn".to_owned(),
            "timeoutInMinutes" => "build_timeout".to_owned(),
            "webhook" => "aws_codebuild_webhook.filter_group".to_owned(),
            "buildSpec" => "buildspec".to_owned(),
            other => snake(other),
        });
    }
    path.dedup();
    path.join(".")
}

fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
