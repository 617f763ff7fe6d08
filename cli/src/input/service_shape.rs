//! Resources as their own services describe them, mapped onto the configuration items AWS Config
//! records for them, so the rules judge what `--source services` reads exactly as they judge
//! Config's inventory.
//!
//! The input is the API's JSON shape: one project of BatchGetProjects' `projects`, one report
//! group of BatchGetReportGroups' `reportGroups`, GetPipeline's whole answer (`{pipeline,
//! metadata}`) — as on the wire, and as the AWS CLI prints them (timestamps as epoch seconds or
//! ISO-8601 text). [`sdk`] turns the SDK's types into that shape (`--source services`); [`items`]
//! reads a whole response from a file (`--snapshot`). This module is the one place
//! that knows how Config's recording differs from those APIs (docs/design.md#resource-shapes):
//!
//! - **CodeBuild projects**: `source` and `artifacts` become lists, the primary first, beside
//!   `secondarySources`, `secondaryArtifacts` and `secondarySourceVersions` (lists, empty when
//!   absent); a source's `buildspec` is `buildSpec`; `queuedTimeoutInMinutes` is
//!   `queuedtimeoutInMinutes`; `vpcConfig.subnets` are `{subnet}` objects; `tags` stay a list of
//!   `{key, value}`. `projectVisibility` and the webhook's filter groups, which Config does not
//!   record, are kept: the view reads them, so the visibility and webhook rules decide from the
//!   item instead of reading the project again (an item from Config lacks them and they read
//!   it live). Left out: `publicProjectAlias`, `resourceAccessRole`, the badge, the ARN and times
//!   (they are the item's). PLAINTEXT values are kept as CodeBuild returns them (Config may
//!   record them masked).
//! - **Report groups**: CloudFormation's PascalCase, the shape Config records this type in (its
//!   resource schema lists `configuration.ExportConfig.S3Destination.EncryptionDisabled`, …):
//!   `Arn`, `Name`, `Type`, `ExportConfig`.
//! - **Pipelines**: `{pipeline, metadata}` as GetPipeline returns them (GetPipeline masks an
//!   `OAuthToken` as Config does); the metadata's times in epoch milliseconds, as Config records
//!   them.
//!
//! The item around the configuration: `resourceType`; `resourceName` (the name);
//! `resourceId` — for a project its **name**: Config identifies a project by an id that no
//! CodeBuild API returns, so results of the same project differ in `resourceId` between
//! `--source config` and `--source services`; for a report group its ARN (the type's primary
//! identifier, what Config uses); for a pipeline its name (as Config); `arn`; `accountId` and
//! `awsRegion` read from the ARN; status `OK`; capture time = the last modification (else the
//! creation, else now); `tags` as a map. Pipeline tags are not in GetPipeline's answer and are
//! left empty.

pub mod sdk;

use aws_sdk_codebuild::primitives::{DateTime, DateTimeFormat};
use pipesec_engine::resources::{CodeBuildProject, CodeBuildReportGroup, PipelineConfiguration};
use pipesec_engine::{ConfigurationItem, Resource, Result};
use serde_json::{Map, Value, json};

/// Project members left out: Config does not record them and no rule reads them (the ARN and
/// times are the item's own).
const PROJECT_NOT_RECORDED: &[&str] =
    &["arn", "created", "lastModified", "badge", "publicProjectAlias", "resourceAccessRole"];
/// Report group members Config records, in the API's spelling (PascalCase in the item).
const REPORT_GROUP_RECORDED: &[&str] = &["arn", "name", "type", "exportConfig"];

/// What a file reader refuses: a reason naming members and kinds of values, never a value.
pub type Reason = String;

/// The items of a service response, or `None` when `document` is not one:
/// - BatchGetProjects: `{"projects": [...], "projectsNotFound": [...]}`;
/// - GetPipeline: `{"pipeline": {...}, "metadata": {...}}`;
/// - BatchGetReportGroups: `{"reportGroups": [...], "reportGroupsNotFound": [...]}`.
///
/// Names not found are not resources and are left out. The list operations' outputs (names or
/// summaries only) and ListSourceCredentials' are refused, saying what to read instead.
pub fn items(document: &Value) -> Option<std::result::Result<Vec<ConfigurationItem>, Reason>> {
    let object = document.as_object()?;
    if let Some(projects) = object.get("projects") {
        return Some(each(
            projects,
            "projects",
            "project",
            "aws codebuild batch-get-projects --names",
            codebuild_project,
        ));
    }
    if let Some(groups) = object.get("reportGroups") {
        return Some(each(
            groups,
            "reportGroups",
            "report group",
            "aws codebuild batch-get-report-groups --report-group-arns",
            codebuild_report_group,
        ));
    }
    if let Some(pipeline) = object.get("pipeline") {
        let name = pipeline.get("name").and_then(Value::as_str).filter(|name| !name.is_empty());
        let refused = match (pipeline, object.get("metadata")) {
            (Value::Object(_), _) if name.is_none() => Some("`pipeline`: the pipeline has no `name`".to_owned()),
            (Value::Object(_), None | Some(Value::Null | Value::Object(_))) => None,
            (Value::Object(_), Some(other)) => Some(format!("`metadata` is {}, not an object", kind(other))),
            (other, _) => Some(format!("`pipeline`: a pipeline is an object, not {}", kind(other))),
        };
        return Some(match refused {
            Some(reason) => Err(reason),
            None => codepipeline_pipeline(document).map(|item| vec![item]).map_err(|err| format!("`pipeline`: {err}")),
        });
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
    what: &str,
    batch_get: &str,
    read: impl Fn(&Value) -> Result<ConfigurationItem>,
) -> std::result::Result<Vec<ConfigurationItem>, Reason> {
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
        .map(|(index, value)| {
            let refuse = |reason: String| format!("{key}[{index}]: {reason}");
            let Value::Object(members) = value else {
                return Err(refuse(format!("a {what} is an object, not {}", kind(value))));
            };
            let named = ["name", "arn"]
                .iter()
                .any(|key| members.get(*key).and_then(Value::as_str).is_some_and(|text| !text.is_empty()));
            let needs = if key == "projects" {
                members.get("name").and_then(Value::as_str).is_some_and(|text| !text.is_empty())
            } else {
                named
            };
            if !needs {
                let missing = if key == "projects" {
                    "the project has no `name`"
                } else {
                    "the report group has neither `arn` nor `name`"
                };
                return Err(refuse(missing.to_owned()));
            }
            read(value).map_err(|err| refuse(err.to_string()))
        })
        .collect()
}

/// A project from BatchGetProjects (one of `projects`) as Config's configuration item.
pub fn codebuild_project(project: &Value) -> Result<ConfigurationItem> {
    let api = members(project);
    let name = text(api, "name");
    let mut configuration = api.clone();
    for key in PROJECT_NOT_RECORDED {
        configuration.remove(*key);
    }
    for key in ["source", "artifacts"] {
        if let Some(primary) = configuration.remove(key) {
            let list = if primary.is_array() { primary } else { Value::Array(vec![primary]) };
            configuration.insert(key.into(), list);
        }
    }
    for key in ["secondarySources", "secondaryArtifacts", "secondarySourceVersions", "tags"] {
        let entry = configuration.entry(key).or_insert_with(|| json!([]));
        if entry.is_null() {
            *entry = json!([]);
        }
    }
    for key in ["source", "secondarySources"] {
        for source in configuration.get_mut(key).and_then(Value::as_array_mut).into_iter().flatten() {
            rename(source, "buildspec", "buildSpec");
        }
    }
    if let Some(minutes) = configuration.remove("queuedTimeoutInMinutes") {
        configuration.insert("queuedtimeoutInMinutes".into(), minutes);
    }
    if let Some(Value::Array(subnets)) = configuration.get_mut("vpcConfig").and_then(|vpc| vpc.get_mut("subnets")) {
        for subnet in subnets.iter_mut().filter(|subnet| subnet.is_string()) {
            *subnet = json!({ "subnet": subnet.take() });
        }
    }
    item(&Item {
        resource_type: CodeBuildProject::RESOURCE_TYPE,
        // Config's resourceId is the project's id, which no CodeBuild API returns: the name stands in.
        resource_id: name.clone(),
        name,
        arn: api.get("arn"),
        times: [api.get("lastModified"), api.get("created")],
        tags: api.get("tags"),
        configuration: Value::Object(configuration),
    })
}

/// A report group from BatchGetReportGroups (one of `reportGroups`) as Config's configuration
/// item.
pub fn codebuild_report_group(report_group: &Value) -> Result<ConfigurationItem> {
    let api = members(report_group);
    let configuration: Map<String, Value> = REPORT_GROUP_RECORDED
        .iter()
        .filter_map(|key| api.get(*key).map(|value| (pascal_case(key), pascal_case_keys(value))))
        .collect();
    item(&Item {
        resource_type: CodeBuildReportGroup::RESOURCE_TYPE,
        resource_id: text(api, "arn"),
        name: text(api, "name"),
        arn: api.get("arn"),
        times: [api.get("lastModified"), api.get("created")],
        tags: api.get("tags"),
        configuration: Value::Object(configuration),
    })
}

/// GetPipeline's answer (`{pipeline, metadata}`) as Config's configuration item.
pub fn codepipeline_pipeline(get_pipeline: &Value) -> Result<ConfigurationItem> {
    let api = members(get_pipeline);
    let pipeline = api.get("pipeline").cloned().unwrap_or(Value::Null);
    let name = pipeline.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut metadata = api.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
    for time in metadata.values_mut() {
        if let Some(seconds) = epoch_seconds(time) {
            #[allow(clippy::cast_possible_truncation)] // epoch milliseconds fit an i64
            let millis = (seconds * 1000.0).round() as i64;
            *time = json!(millis);
        }
    }
    let arn = metadata.get("pipelineArn").cloned();
    let times = [metadata.get("updated"), metadata.get("created")].map(|time| time.map(millis_to_seconds));
    item(&Item {
        resource_type: PipelineConfiguration::RESOURCE_TYPE,
        resource_id: name.clone(),
        name,
        arn: arn.as_ref(),
        times: [times[0].as_ref(), times[1].as_ref()],
        tags: None,
        configuration: json!({ "pipeline": pipeline, "metadata": metadata }),
    })
}

/// What every item is made of.
struct Item<'a> {
    resource_type: &'static str,
    resource_id: String,
    name: String,
    arn: Option<&'a Value>,
    /// Candidates for the capture time, the first present one wins (else now).
    times: [Option<&'a Value>; 2],
    /// `[{key, value}]`, as the APIs return tags.
    tags: Option<&'a Value>,
    configuration: Value,
}

fn item(item: &Item<'_>) -> Result<ConfigurationItem> {
    let arn = item.arn.and_then(Value::as_str);
    // arn:partition:service:region:account:resource
    let part = |index: usize| arn.and_then(|arn| arn.split(':').nth(index)).filter(|part| !part.is_empty());
    let captured = item
        .times
        .iter()
        .flatten()
        .find_map(|time| epoch_seconds(time))
        .unwrap_or_else(|| DateTime::from(std::time::SystemTime::now()).as_secs_f64());
    let tags: Map<String, Value> = item
        .tags
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|tag| Some((tag.get("key")?.as_str()?.to_owned(), tag.get("value").cloned().unwrap_or(json!("")))))
        .collect();
    ConfigurationItem::from_value(&json!({
        "resourceType": item.resource_type,
        "resourceId": item.resource_id,
        "resourceName": item.name,
        "arn": arn,
        "accountId": part(4),
        "awsRegion": part(3),
        "configurationItemStatus": "OK",
        "configurationItemCaptureTime": captured,
        "configuration": item.configuration,
        "supplementaryConfiguration": {},
        "tags": tags,
    }))
}

fn members(value: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    value.as_object().unwrap_or(&EMPTY)
}

fn text(members: &Map<String, Value>, key: &str) -> String {
    members.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn rename(value: &mut Value, from: &str, to: &str) {
    if let Some(object) = value.as_object_mut()
        && let Some(member) = object.remove(from)
    {
        object.insert(to.to_owned(), member);
    }
}

/// Epoch seconds of an API timestamp: a number (the wire's JSON) or ISO-8601 text, with an offset
/// as the AWS CLI prints it (`2020-10-07T10:39:35.814000+00:00`).
fn epoch_seconds(time: &Value) -> Option<f64> {
    match time {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => {
            DateTime::from_str(text.trim(), DateTimeFormat::DateTimeWithOffset).ok().map(|time| time.as_secs_f64())
        }
        _ => None,
    }
}

fn millis_to_seconds(time: &Value) -> Value {
    time.as_f64().map_or_else(|| time.clone(), |millis| json!(millis / 1000.0))
}

fn pascal_case(key: &str) -> String {
    let mut chars = key.chars();
    chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

fn pascal_case_keys(value: &Value) -> Value {
    match value {
        Value::Object(members) => {
            Value::Object(members.iter().map(|(key, member)| (pascal_case(key), pascal_case_keys(member))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(pascal_case_keys).collect()),
        scalar => scalar.clone(),
    }
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

#[cfg(test)]
mod tests {
    use pipesec_engine::resources::codebuild::EnvironmentVariableType;

    use super::*;

    /// BatchGetProjects' answer for one project, as on the wire.
    fn api_project() -> Value {
        json!({
            "name": "payments-build",
            "arn": "arn:aws:codebuild:eu-west-1:123456789012:project/payments-build",
            "source": {"type": "GITHUB", "location": "https://github.com/example/payments.git", "buildspec": "buildspec.yml"},
            "secondarySources": [{"type": "S3", "location": "bucket/key.zip", "sourceIdentifier": "extra", "buildspec": "x.yml"}],
            "artifacts": {"type": "S3", "location": "artifacts", "encryptionDisabled": true},
            "environment": {
                "type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL",
                "privilegedMode": true,
                "environmentVariables": [{"name": "DB_PASSWORD", "value": "not-a-real-one", "type": "PLAINTEXT"}]
            },
            "serviceRole": "arn:aws:iam::123456789012:role/build",
            "timeoutInMinutes": 60,
            "queuedTimeoutInMinutes": 480,
            "vpcConfig": {"vpcId": "vpc-1", "subnets": ["subnet-1", "subnet-2"], "securityGroupIds": ["sg-1"]},
            "tags": [{"key": "team", "value": "payments"}],
            "created": 1_600_000_000.5,
            "lastModified": 1_700_000_000.25,
            "projectVisibility": "PUBLIC_READ",
            "publicProjectAlias": "alias",
            "badge": {"badgeEnabled": false},
            "webhook": {"url": "https://api.github.com/repos/example/payments/hooks/1", "filterGroups": [[{"type": "EVENT", "pattern": "PUSH"}]]}
        })
    }

    #[test]
    fn a_project_takes_the_shape_config_records() {
        let item = codebuild_project(&api_project()).unwrap();
        assert_eq!(item.resource_type, "AWS::CodeBuild::Project");
        assert_eq!(
            (item.resource_id.as_str(), item.resource_name.as_deref()),
            ("payments-build", Some("payments-build"))
        );
        assert_eq!(item.arn.as_deref(), Some("arn:aws:codebuild:eu-west-1:123456789012:project/payments-build"));
        assert_eq!((item.account_id.as_deref(), item.aws_region.as_deref()), (Some("123456789012"), Some("eu-west-1")));
        assert_eq!(item.capture_time.to_millis().unwrap(), 1_700_000_000_250);
        assert_eq!(item.tags.get("team").map(String::as_str), Some("payments"));
        let configuration = item.configuration.to_value();
        assert_eq!(
            configuration["source"],
            json!([{"type": "GITHUB", "location": "https://github.com/example/payments.git", "buildSpec": "buildspec.yml"}])
        );
        assert_eq!(configuration["secondarySources"][0]["buildSpec"], "x.yml");
        assert_eq!(
            configuration["artifacts"],
            json!([{"type": "S3", "location": "artifacts", "encryptionDisabled": true}])
        );
        assert_eq!(
            (&configuration["secondaryArtifacts"], &configuration["secondarySourceVersions"]),
            (&json!([]), &json!([]))
        );
        assert_eq!(configuration["queuedtimeoutInMinutes"], 480);
        assert_eq!(configuration["vpcConfig"]["subnets"], json!([{"subnet": "subnet-1"}, {"subnet": "subnet-2"}]));
        assert_eq!(configuration["webhook"]["filterGroups"], json!([[{"type": "EVENT", "pattern": "PUSH"}]]));
        assert_eq!(configuration["tags"], json!([{"key": "team", "value": "payments"}]));
        for unrecorded in ["queuedTimeoutInMinutes", "publicProjectAlias", "badge", "arn", "created"] {
            assert!(configuration.get(unrecorded).is_none(), "{unrecorded}");
        }

        // The rules' typed view reads it as it reads Config's items.
        let project: CodeBuildProject = item.view().unwrap();
        assert!(project.environment.privileged_mode);
        assert_eq!(project.environment.environment_variables[0].kind, EnvironmentVariableType::Plaintext);
        assert_eq!(project.source[0].buildspec.as_deref(), Some("buildspec.yml"));
        assert!(project.artifacts[0].encryption_disabled);
        assert_eq!(project.vpc_config.unwrap().subnets, ["subnet-1", "subnet-2"]);
        assert_eq!(project.queued_timeout_in_minutes, Some(480));
        assert_eq!(project.project_visibility.as_deref(), Some("PUBLIC_READ"), "kept: the rule decides from it");
        assert_eq!(
            project.webhook.unwrap().unwrap().filter_groups.unwrap().len(),
            1,
            "kept: the rule decides from them"
        );
    }

    #[test]
    fn the_sdk_route_and_the_wire_shape_give_the_same_item() {
        use aws_sdk_codebuild::types as codebuild;
        let project = codebuild::Project::builder()
            .name("payments-build")
            .arn("arn:aws:codebuild:eu-west-1:123456789012:project/payments-build")
            .source(
                codebuild::ProjectSource::builder()
                    .r#type(codebuild::SourceType::Github)
                    .location("https://github.com/example/payments.git")
                    .buildspec("buildspec.yml")
                    .build()
                    .unwrap(),
            )
            .artifacts(
                codebuild::ProjectArtifacts::builder().r#type(codebuild::ArtifactsType::NoArtifacts).build().unwrap(),
            )
            .last_modified(DateTime::from_secs(1_700_000_000))
            .build();
        let wire = json!({
            "name": "payments-build",
            "arn": "arn:aws:codebuild:eu-west-1:123456789012:project/payments-build",
            "source": {"type": "GITHUB", "location": "https://github.com/example/payments.git", "buildspec": "buildspec.yml"},
            "artifacts": {"type": "NO_ARTIFACTS"},
            "lastModified": 1_700_000_000
        });
        assert_eq!(codebuild_project(&sdk::project(&project)).unwrap(), codebuild_project(&wire).unwrap());
    }

    #[test]
    fn a_report_group_takes_cloudformations_pascal_case() {
        let item = codebuild_report_group(&json!({
            "arn": "arn:aws:codebuild:us-east-1:123456789012:report-group/coverage",
            "name": "coverage",
            "type": "CODE_COVERAGE",
            "exportConfig": {"exportConfigType": "S3", "s3Destination": {"bucket": "reports", "encryptionDisabled": true}},
            "created": "2024-05-01T12:00:00.000000+02:00",
            "status": "ACTIVE",
            "tags": [{"key": "team", "value": "qa"}]
        }))
        .unwrap();
        assert_eq!(item.resource_id, "arn:aws:codebuild:us-east-1:123456789012:report-group/coverage");
        assert_eq!(
            item.capture_time.to_millis().unwrap(),
            1_714_557_600_000,
            "ISO-8601 times, as the AWS CLI prints them"
        );
        assert_eq!(item.resource_name.as_deref(), Some("coverage"));
        assert_eq!(
            item.configuration.to_value(),
            json!({
                "Arn": "arn:aws:codebuild:us-east-1:123456789012:report-group/coverage",
                "Name": "coverage",
                "Type": "CODE_COVERAGE",
                "ExportConfig": {"ExportConfigType": "S3", "S3Destination": {"Bucket": "reports", "EncryptionDisabled": true}},
            })
        );
        let group: CodeBuildReportGroup = item.view().unwrap();
        assert!(group.export_config.s3_destination.unwrap().encryption_disabled);
        assert_eq!(item.tags.get("team").map(String::as_str), Some("qa"));
    }

    #[test]
    fn a_pipeline_is_get_pipelines_answer_with_metadata_times_in_milliseconds() {
        let item = codepipeline_pipeline(&json!({
            "pipeline": {
                "name": "release",
                "roleArn": "arn:aws:iam::123456789012:role/pipeline",
                "artifactStore": {"type": "S3", "location": "artifacts"},
                "stages": [{"name": "Source", "actions": [{
                    "name": "Source",
                    "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
                    "configuration": {"Owner": "example", "Repo": "app", "OAuthToken": "****"}
                }]}],
                "version": 3
            },
            "metadata": {"pipelineArn": "arn:aws:codepipeline:us-east-2:123456789012:release", "created": 1_645_456_347.483, "updated": 1_645_459_099.734}
        }))
        .unwrap();
        assert_eq!((item.resource_id.as_str(), item.resource_name.as_deref()), ("release", Some("release")));
        assert_eq!((item.account_id.as_deref(), item.aws_region.as_deref()), (Some("123456789012"), Some("us-east-2")));
        assert_eq!(item.capture_time.to_millis().unwrap(), 1_645_459_099_734);
        let configuration = item.configuration.to_value();
        assert_eq!(configuration["metadata"]["created"], 1_645_456_347_483_i64);
        let view: PipelineConfiguration = item.view().unwrap();
        assert_eq!(view.pipeline.stages[0].actions[0].action_type_id.provider(), "GitHub");
        assert_eq!(view.metadata.pipeline_arn.as_deref(), Some("arn:aws:codepipeline:us-east-2:123456789012:release"));
    }

    #[test]
    fn a_resource_without_a_name_is_an_unreadable_item_not_a_panic() {
        let err = codebuild_project(&json!({"arn": "arn:aws:codebuild:us-east-1:1:project/x"})).unwrap_err();
        assert!(err.to_string().contains("resourceId"), "{err}");
        assert!(codepipeline_pipeline(&json!("not an object")).is_err());
    }
}

#[cfg(test)]
mod file_tests {
    use aws_sdk_codebuild::primitives::DateTime;
    use pipesec_engine::resources::codebuild::EnvironmentVariableType;
    use pipesec_engine::resources::{CodeBuildProject, CodeBuildReportGroup, PipelineConfiguration};

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
    fn a_get_pipeline_response_is_the_configuration_with_times_as_config_records_them() {
        let response = fixture("get-pipeline.json");
        let [item] = items(&response).unwrap().unwrap().try_into().unwrap();
        assert_eq!((item.resource_id.as_str(), item.resource_name.as_deref()), ("release", Some("release")));
        assert_eq!(item.arn.as_deref(), Some("arn:aws:codepipeline:eu-west-1:111122223333:release"));
        assert_eq!(item.aws_region.as_deref(), Some("eu-west-1"));
        assert_eq!(item.capture_time, DateTime::from_millis(1_764_236_133_000), "metadata.updated, epoch seconds");
        let configuration = item.configuration.to_value();
        assert_eq!(configuration["pipeline"], response["pipeline"]);
        // Config records the metadata's times in epoch milliseconds.
        assert_eq!(configuration["metadata"]["pipelineArn"], response["metadata"]["pipelineArn"]);
        assert_eq!(configuration["metadata"]["updated"], 1_764_236_133_000_i64);
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
    fn arns_are_read_when_they_can_be() {
        assert_eq!(
            arn_region_account("arn:aws:codebuild:us-east-1:123456789012:project/p"),
            (Some("us-east-1".into()), Some("123456789012".into()))
        );
        assert_eq!(arn_region_account("arn:aws:iam::123456789012:role/r"), (None, Some("123456789012".into())));
        assert_eq!(arn_region_account("project/p"), (None, None));
    }
}
