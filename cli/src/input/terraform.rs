//! Terraform plans and state as `terraform show -json` prints them (the documented JSON output
//! format, `format_version` 1.x), as entries to evaluate.
//!
//! A plan's resources are read from `planned_values.root_module` (and its `child_modules`, at
//! any depth) with their change in `resource_changes`: the actions, the values known only after
//! apply (`after_unknown`, given markers as a template's unresolved values are) and the
//! sensitive ones (`after_sensitive`). A resource whose only action is `delete` is not judged.
//! State is read from `values.root_module`. Data sources are not resources to judge.
//!
//! `aws_codebuild_webhook` resources are joined to their project by `project_name` and give it
//! its webhook's filter groups.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::template::MappedResource;
use super::template::terraform::{self, config_type};
use super::{Entry, Origin};
use crate::error::{CliError, Result};

/// One resource of a plan or state, before mapping.
struct Resource {
    address: String,
    terraform_type: String,
    values: Value,
    /// The plan's actions (`["create"]`, `["delete", "create"]`), `None` for state.
    actions: Option<Vec<String>>,
    unknown: Value,
    sensitive: Vec<Value>,
}

/// The resources of one `terraform show -json` file, as entries to evaluate.
pub fn load(path: &Path) -> Result<Vec<Entry>> {
    let file = path.display().to_string();
    let text = super::read(path)?;
    let document: Value = serde_json::from_slice(&text).map_err(|err| {
        CliError::input(&file, format!("not JSON (expected `terraform show -json` output): line {}", err.line()))
    })?;
    entries(&document, &file).map_err(|reason| CliError::input(&file, reason))
}

/// The entries of a parsed document; `Err` says why it is not one pipesec reads.
pub fn entries(document: &Value, file: &str) -> std::result::Result<Vec<Entry>, String> {
    let document = document.as_object().ok_or("not `terraform show -json` output: the document is not an object")?;
    let version = document
        .get("format_version")
        .and_then(Value::as_str)
        .ok_or("not `terraform show -json` output: no `format_version`")?;
    if version.split('.').next() != Some("1") {
        return Err(format!("unsupported Terraform JSON format_version `{version}`: pipesec reads format_version 1.x"));
    }
    let resources = if document.contains_key("planned_values") || document.contains_key("resource_changes") {
        plan_resources(document)
    } else {
        let mut resources = Vec::new();
        if let Some(root) = document.get("values").and_then(|values| values.get("root_module")) {
            module_resources(root, &mut resources);
        }
        resources
    };
    Ok(map_resources(resources, file))
}

fn plan_resources(document: &Map<String, Value>) -> Vec<Resource> {
    let mut resources = Vec::new();
    if let Some(root) = document.get("planned_values").and_then(|values| values.get("root_module")) {
        module_resources(root, &mut resources);
    }
    let changes: BTreeMap<&str, &Value> = document
        .get("resource_changes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|change| Some((change.get("address")?.as_str()?, change.get("change")?)))
        .collect();
    for resource in &mut resources {
        let Some(change) = changes.get(resource.address.as_str()) else { continue };
        let actions: Vec<String> = change
            .get("actions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|action| action.as_str().map(str::to_owned))
            .collect();
        resource.actions = Some(actions);
        if let Some(unknown) = change.get("after_unknown") {
            resource.unknown = unknown.clone();
        }
        if let Some(sensitive) = change.get("after_sensitive") {
            resource.sensitive.push(sensitive.clone());
        }
    }
    resources.retain(|resource| resource.actions.as_deref() != Some(&["delete".to_owned()][..]));
    resources
}

/// The managed resources of a module and its child modules, at any depth.
fn module_resources(module: &Value, out: &mut Vec<Resource>) {
    for resource in module.get("resources").and_then(Value::as_array).into_iter().flatten() {
        let text = |key: &str| resource.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        if resource.get("mode").and_then(Value::as_str).is_some_and(|mode| mode != "managed") {
            continue;
        }
        let terraform_type = text("type");
        if config_type(&terraform_type).is_none() && terraform_type != "aws_codebuild_webhook" {
            continue;
        }
        out.push(Resource {
            address: text("address"),
            terraform_type,
            values: resource.get("values").cloned().unwrap_or_else(|| Value::Object(Map::new())),
            actions: None,
            unknown: Value::Null,
            sensitive: resource.get("sensitive_values").cloned().into_iter().collect(),
        });
    }
    for child in module.get("child_modules").and_then(Value::as_array).into_iter().flatten() {
        module_resources(child, out);
    }
}

fn map_resources(resources: Vec<Resource>, file: &str) -> Vec<Entry> {
    // Webhooks by their project's name; one whose project name is known only after apply could
    // be any project's.
    let mut webhooks: BTreeMap<String, Value> = BTreeMap::new();
    let mut unknown_webhook = false;
    let mut webhook_secrets = Vec::new();
    for resource in resources.iter().filter(|resource| resource.terraform_type == "aws_codebuild_webhook") {
        for sensitive in &resource.sensitive {
            terraform::sensitive_strings(&resource.values, sensitive, &mut webhook_secrets);
        }
        let mut values = resource.values.clone();
        terraform::mark_unknown(&mut values, &resource.unknown, "");
        match values.get("project_name") {
            Some(Value::String(name)) if !name.is_empty() => {
                webhooks.insert(name.clone(), terraform::webhook(&values));
            }
            _ => unknown_webhook = true,
        }
    }
    let mut entries = Vec::new();
    for resource in resources {
        let Some(resource_type) = config_type(&resource.terraform_type) else { continue };
        let mut sensitive = Vec::new();
        for mirror in &resource.sensitive {
            terraform::sensitive_strings(&resource.values, mirror, &mut sensitive);
        }
        let mut values = resource.values;
        terraform::mark_unknown(&mut values, &resource.unknown, "");
        let webhook = if resource.terraform_type == "aws_codebuild_project" {
            let name = values.get("name").and_then(Value::as_str).unwrap_or_default();
            match webhooks.get(name) {
                Some(webhook) => {
                    sensitive.extend(webhook_secrets.iter().cloned());
                    Some(webhook.clone())
                }
                None if unknown_webhook => Some(super::template::mapping::unknown_marker(
                    "aws_codebuild_webhook.project_name",
                    "an aws_codebuild_webhook's project_name is known only after apply",
                    &pipesec_engine::unknown::placeholder("known after apply"),
                )),
                None => None,
            }
        } else {
            None
        };
        let configuration = terraform::configuration(&resource.terraform_type, &values, webhook);
        let mapped = MappedResource::from_marked(&resource.address, resource_type, configuration);
        let mut item = mapped.item(None, None);
        if item.resource_name.as_ref().is_some_and(|name| sensitive.contains(name)) {
            item.resource_name = None;
        }
        let action = resource.actions.map(|actions| action_name(&actions));
        sensitive.sort();
        sensitive.dedup();
        entries.push(Entry {
            item,
            origin: Origin::Terraform { file: file.to_owned(), action, sensitive, mapped: Box::new(mapped) },
        });
    }
    entries
}

/// A plan's actions as one word: `create`, `update`, `no-op`, `replace` (delete and create).
fn action_name(actions: &[String]) -> String {
    match actions {
        [one] => one.clone(),
        [a, b] if a != b => "replace".to_owned(),
        _ => actions.join("+"),
    }
}
