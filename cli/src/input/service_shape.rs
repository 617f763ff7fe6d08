//! Resources as their own services return them — `aws codebuild batch-get-projects`,
//! `aws codepipeline get-pipeline`, `aws codebuild batch-get-report-groups`, or the same
//! operations' responses as JSON — as the configuration items AWS Config records for them
//! (docs/design.md#resource-shapes), so that the rules read them through the same views.
//!
//! [`project_item`], [`pipeline_item`] and [`report_group_item`] map one resource in the API's
//! shape; [`items`] reads a whole response. What differs between the two shapes:
//!
//! - **project**: `source` and `artifacts` are single objects in the API, lists (primary first)
//!   in items; a source's `buildspec` is `buildSpec` in items; `queuedTimeoutInMinutes` is
//!   recorded as `queuedtimeoutInMinutes`; `vpcConfig.subnets` are ids in the API, `{subnet}`
//!   objects in items. Members Config does not record (`projectVisibility`, the webhook's
//!   filter groups, `badge`, times) are kept: the view reads `projectVisibility` as a template
//!   sets it, and ignores the rest.
//! - **pipeline**: GetPipeline's `{pipeline, metadata}` is the item's configuration as it is.
//! - **report group**: camelCase in the API, PascalCase in items (`exportConfig.s3Destination`
//!   → `ExportConfig.S3Destination`), as AWS Config's resource schema for the type has it.
//!
//! A service response carries no configuration-item fields: the ARN, account and region come
//! from the resource's ARN, the capture time from its last modification (else the epoch), and
//! the id as described on each function.

use std::collections::BTreeMap;

use aws_sdk_config::primitives::DateTime;
use pipesec_engine::Resource;
use pipesec_engine::item::{Configuration, ConfigurationItem, ItemStatus};
use pipesec_engine::resources::{CodeBuildProject, CodeBuildReportGroup, PipelineConfiguration};
use serde_json::{Map, Value, json};

/// What a mapping refuses: a reason naming members and kinds of values, never a value.
pub type Reason = String;

/// The items of a service response, or `None` when `document` is not one:
/// - BatchGetProjects: `{"projects": [...], "projectsNotFound": [...]}`;
/// - GetPipeline: `{"pipeline": {...}, "metadata": {...}}`;
/// - BatchGetReportGroups: `{"reportGroups": [...], "reportGroupsNotFound": [...]}`.
///
/// Names not found are not resources and are left out. The list operations' outputs (names or
/// summaries only) and ListSourceCredentials' are refused, saying what to read instead.
pub fn items(document: &Value) -> Option<Result<Vec<ConfigurationItem>, Reason>> {
    let object = document.as_object()?;
    if let Some(projects) = object.get("projects") {
        return Some(each(projects, "projects", "aws codebuild batch-get-projects --names", project_item));
    }
    if let Some(groups) = object.get("reportGroups") {
        return Some(each(
            groups,
            "reportGroups",
            "aws codebuild batch-get-report-groups --report-group-arns",
            report_group_item,
        ));
    }
    if let Some(pipeline) = object.get("pipeline") {
        let item = pipeline_item(pipeline, object.get("metadata"));
        return Some(item.map(|item| vec![item]).map_err(|reason| format!("`pipeline`: {reason}")));
    }
    if object.contains_key("pipelines") {
        return Some(Err("ListPipelines output holds pipeline summaries without their stages: read each pipeline \
                         with `aws codepipeline get-pipeline --name NAME`"
            .into()));
    }
    if object.contains_key("sourceCredentialsInfos") {
        return Some(Err("ListSourceCredentials output: source credentials are not a resource pipesec evaluates \
                         (CodeBuild projects and report groups, CodePipeline pipelines)"
            .into()));
    }
    None
}

/// Every resource of a response's list, each read by `read`.
fn each(
    list: &Value,
    key: &str,
    batch_get: &str,
    read: impl Fn(&Value) -> Result<ConfigurationItem, Reason>,
) -> Result<Vec<ConfigurationItem>, Reason> {
    let Value::Array(values) = list else { return Err(format!("`{key}` is {}, not a list", kind(list))) };
    if values.iter().any(Value::is_string) {
        // ListProjects / ListReportGroups: `{"projects": ["name", …]}`.
        return Err(format!(
            "`{key}` holds names, as the list operation returns them: read the resources with `{batch_get} …`"
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(index, value)| read(value).map_err(|reason| format!("{key}[{index}]: {reason}")))
        .collect()
}

/// One project of BatchGetProjects as the item Config records.
///
/// Config records a project under an opaque id (a UUID) that the API does not return: the
/// project's **name** is its `resourceId` here, with `resourceName` the name too and `arn` its
/// ARN. Results of such a file name the project by its name where an account's would show the
/// UUID.
pub fn project_item(project: &Value) -> Result<ConfigurationItem, Reason> {
    let Value::Object(fields) = project else { return Err(format!("a project is an object, not {}", kind(project))) };
    let name = text(fields, "name").ok_or("the project has no `name`")?;
    let mut configuration = fields.clone();
    for key in ["source", "artifacts"] {
        if let Some(value) = configuration.get_mut(key)
            && value.is_object()
        {
            *value = Value::Array(vec![value.take()]);
        }
    }
    for key in ["source", "secondarySources"] {
        if let Some(Value::Array(sources)) = configuration.get_mut(key) {
            sources
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(|source| rename(source, "buildspec", "buildSpec"));
        }
    }
    rename(&mut configuration, "queuedTimeoutInMinutes", "queuedtimeoutInMinutes");
    if let Some(Value::Array(subnets)) = configuration.get_mut("vpcConfig").and_then(|vpc| vpc.get_mut("subnets")) {
        for subnet in subnets {
            if subnet.is_string() {
                *subnet = json!({"subnet": subnet.take()});
            }
        }
    }
    let time = capture_time([fields.get("lastModified"), fields.get("created")]);
    let tags = tags(fields.get("tags"));
    Ok(item(CodeBuildProject::RESOURCE_TYPE, name.clone(), Some(name), text(fields, "arn"), time, configuration, tags))
}

/// GetPipeline's `pipeline` and `metadata` as the item Config records: its configuration is
/// `{pipeline, metadata}`, its `resourceId` the pipeline's name, as Config's is.
pub fn pipeline_item(pipeline: &Value, metadata: Option<&Value>) -> Result<ConfigurationItem, Reason> {
    let Value::Object(fields) = pipeline else {
        return Err(format!("a pipeline is an object, not {}", kind(pipeline)));
    };
    let name = text(fields, "name").ok_or("the pipeline has no `name`")?;
    let metadata = match metadata {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(metadata)) => metadata.clone(),
        Some(other) => return Err(format!("`metadata` is {}, not an object", kind(other))),
    };
    let arn = text(&metadata, "pipelineArn");
    let time = capture_time([metadata.get("updated"), metadata.get("created")]);
    let configuration =
        Map::from_iter([("pipeline".to_owned(), pipeline.clone()), ("metadata".into(), metadata.into())]);
    Ok(item(PipelineConfiguration::RESOURCE_TYPE, name.clone(), Some(name), arn, time, configuration, BTreeMap::new()))
}

/// One report group of BatchGetReportGroups as the item Config records, in PascalCase.
///
/// Config records this type through the CloudFormation registry, whose identifier for it is the
/// ARN: the `resourceId` is the ARN (the name when there is none), `resourceName` the name.
pub fn report_group_item(group: &Value) -> Result<ConfigurationItem, Reason> {
    let Value::Object(fields) = group else { return Err(format!("a report group is an object, not {}", kind(group))) };
    let arn = text(fields, "arn");
    let name = text(fields, "name")
        .or_else(|| arn.as_deref().and_then(|arn| arn.rsplit_once('/')).map(|(_, name)| name.to_owned()));
    let id = arn.clone().or_else(|| name.clone()).ok_or("the report group has neither `arn` nor `name`")?;
    let configuration: Map<String, Value> = fields
        .iter()
        .filter(|(key, _)| *key != "tags")
        .map(|(key, value)| (pascal_case(key), pascal_case_keys(value)))
        .collect();
    let time = capture_time([fields.get("lastModified"), fields.get("created")]);
    let tags = tags(fields.get("tags"));
    Ok(item(CodeBuildReportGroup::RESOURCE_TYPE, id, name, arn, time, configuration, tags))
}

/// The region and account of an ARN (`arn:partition:service:region:account:resource`), each
/// when it is there.
pub fn arn_region_account(arn: &str) -> (Option<String>, Option<String>) {
    let mut parts = arn.split(':');
    if parts.next() != Some("arn") {
        return (None, None);
    }
    let mut part = || parts.next().filter(|part| !part.is_empty()).map(str::to_owned);
    let (_partition, _service) = (part(), part());
    let region = part();
    (region, part())
}

fn item(
    resource_type: &str,
    resource_id: String,
    resource_name: Option<String>,
    arn: Option<String>,
    capture_time: DateTime,
    configuration: Map<String, Value>,
    tags: BTreeMap<String, String>,
) -> ConfigurationItem {
    let (region, account) = arn.as_deref().map(arn_region_account).unwrap_or_default();
    ConfigurationItem {
        resource_type: resource_type.to_owned(),
        resource_id,
        resource_name,
        arn,
        account_id: account,
        aws_region: region,
        status: ItemStatus::Ok,
        capture_time,
        configuration: Configuration::from_value(&Value::Object(configuration)),
        supplementary_configuration: Map::new(),
        tags,
    }
}

/// A member's non-empty text.
fn text(fields: &Map<String, Value>, key: &str) -> Option<String> {
    fields.get(key).and_then(Value::as_str).filter(|text| !text.is_empty()).map(str::to_owned)
}

/// What a value is, for messages that must not show it.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn rename(fields: &mut Map<String, Value>, from: &str, to: &str) {
    if !fields.contains_key(to)
        && let Some(value) = fields.remove(from)
    {
        fields.insert(to.to_owned(), value);
    }
}

fn pascal_case(key: &str) -> String {
    let mut chars = key.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn pascal_case_keys(value: &Value) -> Value {
    match value {
        Value::Object(fields) => {
            Value::Object(fields.iter().map(|(key, value)| (pascal_case(key), pascal_case_keys(value))).collect())
        }
        Value::Array(values) => Value::Array(values.iter().map(pascal_case_keys).collect()),
        other => other.clone(),
    }
}

/// The first readable time: ISO-8601 text (the AWS CLI's output) or epoch seconds (the API's
/// JSON); the epoch when there is none.
fn capture_time<const N: usize>(candidates: [Option<&Value>; N]) -> DateTime {
    /// Up to the year 9999: anything later is not a time a service returned.
    const LATEST: f64 = 253_402_300_799.0;
    let time = |value: &Value| match value {
        // Within 0..=LATEST seconds, the milliseconds fit an i64 exactly enough.
        #[allow(clippy::cast_possible_truncation)]
        Value::Number(seconds) => seconds
            .as_f64()
            .filter(|seconds| (0.0..=LATEST).contains(seconds))
            .map(|seconds| DateTime::from_millis((seconds * 1000.0).round() as i64)),
        Value::String(text) => {
            text.trim().parse::<jiff::Timestamp>().ok().map(|time| DateTime::from_millis(time.as_millisecond()))
        }
        _ => None,
    };
    candidates.into_iter().flatten().find_map(time).unwrap_or_else(|| DateTime::from_secs(0))
}

/// Tags as the API lists them (`[{key, value}]`), or as a map.
fn tags(value: Option<&Value>) -> BTreeMap<String, String> {
    let text = |value: Option<&Value>| match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    match value {
        Some(Value::Array(tags)) => {
            tags.iter().filter_map(|tag| Some((tag.get("key")?.as_str()?.to_owned(), text(tag.get("value"))))).collect()
        }
        Some(Value::Object(tags)) => tags.iter().map(|(key, value)| (key.clone(), text(Some(value)))).collect(),
        _ => BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::resources::codebuild::EnvironmentVariableType;

    use super::*;

    fn fixture(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/snapshots").join(name);
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn a_batch_get_projects_project_reads_as_config_records_it() {
        let response = fixture("batch-get-projects.json");
        let items = items(&response).unwrap().unwrap();
        assert_eq!(items.len(), 2, "projectsNotFound are not resources");
        let item = &items[0];
        assert_eq!(
            (item.resource_type.as_str(), item.resource_id.as_str(), item.resource_name.as_deref()),
            ("AWS::CodeBuild::Project", "docker-image-builder", Some("docker-image-builder"))
        );
        assert_eq!(item.arn.as_deref(), Some("arn:aws:codebuild:eu-west-1:111122223333:project/docker-image-builder"));
        assert_eq!((item.aws_region.as_deref(), item.account_id.as_deref()), (Some("eu-west-1"), Some("111122223333")));
        assert_eq!(item.capture_time, DateTime::from_millis(1_764_236_133_512), "lastModified");
        assert_eq!(item.tags.get("team").map(String::as_str), Some("platform"));

        let configuration = item.configuration.to_value();
        assert!(configuration["source"].is_array() && configuration["artifacts"].is_array(), "{configuration}");
        assert_eq!(configuration["source"][0]["buildSpec"], "buildspec.yml");
        assert_eq!(configuration["secondarySources"][0]["buildSpec"], "tools/buildspec.yml");
        assert_eq!(configuration["queuedtimeoutInMinutes"], 480);
        assert_eq!(configuration["vpcConfig"]["subnets"], json!([{"subnet": "subnet-0a1b2c3d"}]));

        let project: CodeBuildProject = item.view().unwrap();
        assert!(project.environment.privileged_mode);
        assert_eq!(project.source[0].buildspec.as_deref(), Some("buildspec.yml"));
        assert_eq!(project.secondary_artifacts.len(), 1);
        assert_eq!(project.vpc_config.unwrap().subnets, ["subnet-0a1b2c3d"]);
        assert_eq!(project.environment.environment_variables[0].kind, EnvironmentVariableType::Plaintext);
        assert_eq!(project.project_visibility.as_deref(), Some("PUBLIC_READ"), "kept: the view reads it");
    }

    #[test]
    fn a_get_pipeline_response_is_the_configuration_as_it_is() {
        let response = fixture("get-pipeline.json");
        let [item] = items(&response).unwrap().unwrap().try_into().unwrap();
        assert_eq!((item.resource_id.as_str(), item.resource_name.as_deref()), ("release", Some("release")));
        assert_eq!(item.arn.as_deref(), Some("arn:aws:codepipeline:eu-west-1:111122223333:release"));
        assert_eq!(item.aws_region.as_deref(), Some("eu-west-1"));
        assert_eq!(item.capture_time, DateTime::from_millis(1_764_236_133_000), "metadata.updated, epoch seconds");
        let configuration = item.configuration.to_value();
        assert_eq!(configuration["pipeline"], response["pipeline"]);
        assert_eq!(configuration["metadata"], response["metadata"]);
        let pipeline: PipelineConfiguration = item.view().unwrap();
        assert_eq!(pipeline.pipeline.stages.len(), 3);
    }

    #[test]
    fn a_batch_get_report_groups_group_is_recorded_in_pascal_case() {
        let response = fixture("batch-get-report-groups.json");
        let items = items(&response).unwrap().unwrap();
        let item = &items[0];
        let arn = "arn:aws:codebuild:eu-west-1:111122223333:report-group/coverage";
        assert_eq!((item.resource_id.as_str(), item.resource_name.as_deref()), (arn, Some("coverage")));
        let configuration = item.configuration.to_value();
        assert_eq!(configuration["ExportConfig"]["ExportConfigType"], "S3");
        assert_eq!(configuration["ExportConfig"]["S3Destination"]["EncryptionDisabled"], true);
        assert_eq!(configuration["Type"], "CODE_COVERAGE");
        assert!(configuration.get("Tags").is_none() && item.tags.contains_key("team"), "tags belong to the item");
        let group: CodeBuildReportGroup = item.view().unwrap();
        assert!(group.export_config.s3_destination.unwrap().encryption_disabled);
    }

    #[test]
    fn list_operations_and_bad_members_are_refused_naming_what_to_read() {
        for (document, expected) in [
            (json!({"projects": ["a", "b"]}), "`projects` holds names"),
            (json!({"projects": {"name": "a"}}), "`projects` is an object, not a list"),
            (json!({"projects": [{"arn": "x"}]}), "projects[0]: the project has no `name`"),
            (json!({"projects": [7]}), "projects[0]: a project is an object, not a number"),
            (json!({"reportGroups": ["arn:aws:codebuild:r:1:report-group/a"]}), "batch-get-report-groups"),
            (json!({"reportGroups": [{"type": "TEST"}]}), "neither `arn` nor `name`"),
            (json!({"pipeline": {"stages": []}}), "`pipeline`: the pipeline has no `name`"),
            (json!({"pipeline": {"name": "p"}, "metadata": "x"}), "`metadata` is a string"),
            (json!({"pipelines": [{"name": "p"}]}), "get-pipeline --name"),
            (json!({"sourceCredentialsInfos": []}), "ListSourceCredentials"),
        ] {
            let reason = items(&document).expect("a service response").unwrap_err();
            assert!(reason.contains(expected), "{document}: {reason}");
        }
        assert!(items(&json!({"configurationItems": []})).is_none());
        assert!(items(&json!([])).is_none());
    }

    #[test]
    fn times_and_arns_are_read_when_they_can_be() {
        let at = |value: Value| capture_time([Some(&value)]);
        assert_eq!(at(json!("2025-11-27T09:35:33.512000+00:00")), DateTime::from_millis(1_764_236_133_512));
        assert_eq!(at(json!("2025-11-27T10:35:33.512+01:00")), DateTime::from_millis(1_764_236_133_512));
        assert_eq!(at(json!(1_764_236_133.512)), DateTime::from_millis(1_764_236_133_512));
        for unreadable in [json!("yesterday"), json!(-1), json!(1e300), json!({"year": 2017})] {
            assert_eq!(at(unreadable), DateTime::from_secs(0));
        }
        assert_eq!(
            arn_region_account("arn:aws:codebuild:us-east-1:123456789012:project/p"),
            (Some("us-east-1".into()), Some("123456789012".into()))
        );
        assert_eq!(arn_region_account("arn:aws:iam::123456789012:role/r"), (None, Some("123456789012".into())));
        assert_eq!(arn_region_account("project/p"), (None, None));
    }
}
