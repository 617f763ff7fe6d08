//! Resources as their own services describe them, mapped onto the configuration items AWS Config
//! records for them, so the rules judge what `--source services` reads exactly as they judge
//! Config's inventory.
//!
//! The input is the API's JSON shape: one project of BatchGetProjects' `projects`, one report
//! group of BatchGetReportGroups' `reportGroups`, GetPipeline's whole answer (`{pipeline,
//! metadata}`) — as on the wire, and as the AWS CLI prints them (timestamps as epoch seconds or
//! ISO-8601 text). [`sdk`] turns the SDK's types into that shape. This module is the one place
//! that knows how Config's recording differs from those APIs (docs/design.md#resource-shapes):
//!
//! - **CodeBuild projects**: `source` and `artifacts` become lists, the primary first, beside
//!   `secondarySources`, `secondaryArtifacts` and `secondarySourceVersions` (lists, empty when
//!   absent); a source's `buildspec` is `buildSpec`; `queuedTimeoutInMinutes` is
//!   `queuedtimeoutInMinutes`; `vpcConfig.subnets` are `{subnet}` objects; `tags` stay a list of
//!   `{key, value}`. What Config does not record is left out: `projectVisibility`,
//!   `publicProjectAlias`, `resourceAccessRole`, the badge, the ARN and times (they are the
//!   item's), and the webhook but for its `url`. PLAINTEXT values are kept as CodeBuild returns
//!   them (Config may record them masked).
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

/// Project members Config does not record (the ARN and times are the item's own).
const PROJECT_NOT_RECORDED: &[&str] =
    &["arn", "created", "lastModified", "badge", "projectVisibility", "publicProjectAlias", "resourceAccessRole"];
/// Report group members Config records, in the API's spelling (PascalCase in the item).
const REPORT_GROUP_RECORDED: &[&str] = &["arn", "name", "type", "exportConfig"];

/// A project from BatchGetProjects (one of `projects`) as Config's configuration item.
pub fn codebuild_project(project: &Value) -> Result<ConfigurationItem> {
    let api = members(project);
    let name = text(api, "name");
    let mut configuration = api.clone();
    for key in PROJECT_NOT_RECORDED {
        configuration.remove(*key);
    }
    if let Some(webhook) = configuration.remove("webhook") {
        // Config records only where the webhook lives; its filters are read live.
        if let Some(url) = webhook.get("url").filter(|url| !url.is_null()) {
            configuration.insert("webhook".into(), json!({ "url": url }));
        }
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
        assert_eq!(configuration["webhook"], json!({"url": "https://api.github.com/repos/example/payments/hooks/1"}));
        assert_eq!(configuration["tags"], json!([{"key": "team", "value": "payments"}]));
        for unrecorded in
            ["queuedTimeoutInMinutes", "projectVisibility", "publicProjectAlias", "badge", "arn", "created"]
        {
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
        assert_eq!(project.project_visibility, None, "not recorded by Config: read live");
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
