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

/// The largest plan or state read. Terraform documents no size for `terraform show -json`, and
/// plans past 100 MB are reported for large configurations; the whole document is parsed into
/// memory, which takes a few times its size. 512 MiB leaves room for the largest plans and bounds
/// what a run may need; past it the file is refused before it is parsed.
pub const MAX_TERRAFORM_BYTES: u64 = 512 << 20;

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
    let text = super::read(path, MAX_TERRAFORM_BYTES, "a Terraform plan or state")?;
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
            let name = values.get("name").and_then(Value::as_str);
            // A project whose name is known only after apply could be any webhook's.
            let unknown_webhook = unknown_webhook || (name.is_none() && !webhooks.is_empty());
            match webhooks.get(name.unwrap_or_default()) {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_plan_past_the_size_limit_is_refused_before_it_is_read() {
        let dir = crate::input::tests::scratch("terraform-size");
        let path = dir.join("plan.json");
        // Sparse: the size without the bytes.
        std::fs::File::create(&path).unwrap().set_len(MAX_TERRAFORM_BYTES + 1).unwrap();
        let err = load(&path).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            err,
            format!(
                "{}: 536870913 bytes, over the limit of 536870912 bytes (512 MiB) for a Terraform plan or state",
                path.display()
            )
        );
    }

    fn load_fixture(name: &str) -> Vec<Entry> {
        load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/terraform").join(name)).unwrap()
    }

    fn parts(entry: &Entry) -> (&str, Option<&str>, &MappedResource) {
        match &entry.origin {
            Origin::Terraform { action, mapped, .. } => (mapped.logical_id.as_str(), action.as_deref(), mapped),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_plan_reads_child_modules_instance_keys_and_actions_and_skips_deleted_resources() {
        let entries = load_fixture("modules.plan.json");
        let found: Vec<(&str, Option<&str>)> = entries.iter().map(|e| (parts(e).0, parts(e).1)).collect();
        assert_eq!(
            found,
            [
                ("module.ci.aws_codebuild_project.api[0]", Some("create")),
                (r#"module.ci.aws_codebuild_project.worker["east"]"#, Some("update")),
                ("module.ci.aws_codepipeline.release", Some("no-op")),
                (r#"module.ci.module.reports.aws_codebuild_report_group.tests["unit"]"#, Some("create")),
            ]
        );
        assert_eq!(entries[0].item.resource_id, "module.ci.aws_codebuild_project.api[0]");
        assert_eq!(entries[0].item.resource_type, "AWS::CodeBuild::Project");
        assert_eq!(entries[3].item.resource_type, "AWS::CodeBuild::ReportGroup");
        // A name Terraform marks sensitive is no resource name.
        assert_eq!(entries[2].item.resource_name, None);
    }

    #[test]
    fn values_known_after_apply_are_markers_never_guessed() {
        let entries = load_fixture("modules.plan.json");
        let (_, _, worker) = parts(&entries[1]);
        let unresolved: Vec<(&str, &str)> =
            worker.unresolved.iter().map(|u| (u.path.as_str(), u.property.as_str())).collect();
        assert_eq!(unresolved, [("environment.privilegedMode", "environment[0].privileged_mode")]);
        assert!(worker.configuration.pointer("/environment/privilegedMode").is_none());
        let (_, _, api) = parts(&entries[0]);
        assert!(api.unresolved.iter().any(|u| u.path == "serviceRole"));
        assert!(api.unresolved.iter().all(|u| u.reason == terraform::UNKNOWN_REASON));
    }

    #[test]
    fn state_is_read_without_actions_and_data_sources_are_not_resources() {
        let entries = load_fixture("state.json");
        let found: Vec<(&str, Option<&str>)> = entries.iter().map(|e| (parts(e).0, parts(e).1)).collect();
        assert_eq!(
            found,
            [("aws_codebuild_project.image_builder", None), ("module.ci.aws_codebuild_project.api[0]", None)]
        );
        let Origin::Terraform { sensitive, .. } = &entries[1].origin else { unreachable!() };
        assert_eq!(sensitive, &["tf-sensitive-canary-5f3a9c".to_owned()]);
    }

    #[test]
    fn attributes_map_onto_the_configuration_the_views_read() {
        let entries = load_fixture("bad-pipeline.plan.json");
        let config = |address: &str| {
            let entry = entries.iter().find(|e| e.item.resource_id == address).unwrap();
            parts(entry).2.configuration.clone()
        };
        let image = config("aws_codebuild_project.image_builder");
        assert_eq!(image["projectVisibility"], "PUBLIC_READ");
        assert_eq!(image["environment"]["privilegedMode"], true);
        assert_eq!(image["environment"]["environmentVariables"][0]["name"], "REGISTRY");
        assert_eq!(image["artifacts"][0]["encryptionDisabled"], true);
        assert_eq!(image["logsConfig"]["cloudWatchLogs"]["status"], "DISABLED");
        assert_eq!(image["logsConfig"]["s3Logs"]["status"], "DISABLED");
        assert_eq!(image["source"][0]["buildspec"], "buildspec.yml");
        assert_eq!(
            image["webhook"],
            json!({"filterGroups": [[
                {"type": "EVENT", "pattern": "PUSH", "excludeMatchedPattern": false},
                {"type": "HEAD_REF", "pattern": "refs/heads/main", "excludeMatchedPattern": false},
            ]]})
        );
        assert_eq!(config("aws_codebuild_project.payments")["webhook"], Value::Null);
        let pipeline = config("aws_codepipeline.payments");
        assert_eq!(pipeline["pipeline"]["artifactStore"]["location"], "payments-artifacts");
        let build = &pipeline["pipeline"]["stages"][1]["actions"][0];
        assert_eq!(
            build["actionTypeId"],
            json!({"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"})
        );
        assert_eq!(build["configuration"]["ProjectName"], "payments-api-build");
        assert_eq!(build["inputArtifacts"], json!([{"name": "SourceOutput"}]));
        let reports = config("aws_codebuild_report_group.coverage");
        assert_eq!(reports["exportConfig"]["exportConfigType"], "S3");
        assert_eq!(reports["exportConfig"]["s3Destination"]["encryptionDisabled"], true);
    }

    #[test]
    fn several_artifact_stores_with_regions_are_the_artifact_stores_map() {
        let store = |region: &str| json!({"location": format!("a-{region}"), "region": region, "type": "S3", "encryption_key": []});
        let attributes = json!({"name": "x", "artifact_store": [store("us-east-1"), store("eu-west-1")], "stage": []});
        let configuration = terraform::configuration("aws_codepipeline", &attributes, None);
        let stores = &configuration["pipeline"]["artifactStores"];
        assert_eq!(stores["eu-west-1"]["location"], "a-eu-west-1");
        assert_eq!(stores["us-east-1"]["type"], "S3");
        assert!(configuration["pipeline"].get("artifactStore").is_none());
    }

    #[test]
    fn a_document_that_is_not_terraform_json_is_refused_with_the_reason() {
        let err = entries(&json!({"format_version": "0.1"}), "x").map(|_| ()).unwrap_err();
        assert!(err.contains("unsupported Terraform JSON format_version `0.1`"), "{err}");
        let err = entries(&json!({"Resources": {}}), "x").map(|_| ()).unwrap_err();
        assert!(err.contains("no `format_version`"), "{err}");
        assert!(entries(&json!({"format_version": "1.0"}), "x").unwrap().is_empty(), "an empty state");
    }
}
