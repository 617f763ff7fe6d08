//! `AWS::CodeBuild::Project`.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::lenient::{flexible_bool, flexible_string, flexible_u32, null_as_default, one_or_many};
use crate::rule::{Resource, Subject};

/// A CodeBuild project as AWS Config records it (and as BatchGetProjects returns it).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CodeBuildProject {
    #[serde(deserialize_with = "flexible_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "flexible_string")]
    pub arn: Option<String>,
    /// A list in configuration items (primary first), an object in the API.
    #[serde(deserialize_with = "one_or_many")]
    pub source: Vec<ProjectSource>,
    #[serde(deserialize_with = "one_or_many")]
    pub secondary_sources: Vec<ProjectSource>,
    /// A list in configuration items (primary first), an object in the API.
    #[serde(deserialize_with = "one_or_many")]
    pub artifacts: Vec<ProjectArtifacts>,
    #[serde(deserialize_with = "one_or_many")]
    pub secondary_artifacts: Vec<ProjectArtifacts>,
    #[serde(deserialize_with = "null_as_default")]
    pub environment: Environment,
    #[serde(deserialize_with = "flexible_string")]
    pub service_role: Option<String>,
    /// Absent means the AWS managed key `alias/aws/s3`.
    #[serde(deserialize_with = "flexible_string")]
    pub encryption_key: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub logs_config: LogsConfig,
    pub vpc_config: Option<VpcConfig>,
    /// Not recorded by AWS Config: BatchGetProjects and templates have it.
    #[serde(deserialize_with = "flexible_string")]
    pub project_visibility: Option<String>,
    /// Not recorded by AWS Config: BatchGetProjects and templates have it. `Some(None)`: known
    /// to have no webhook (`"webhook": null`); `None`: not known from the item.
    #[serde(deserialize_with = "present")]
    pub webhook: Option<Option<ProjectWebhook>>,
    #[serde(deserialize_with = "flexible_u32")]
    pub timeout_in_minutes: Option<u32>,
    /// Config spells it `queuedtimeoutInMinutes`.
    #[serde(alias = "queuedtimeoutInMinutes", deserialize_with = "flexible_u32")]
    pub queued_timeout_in_minutes: Option<u32>,
}

/// A project's webhook: who and what may start builds.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProjectWebhook {
    /// `None` when the item does not say: AWS Config records a webhook's `url` only.
    pub filter_groups: Option<Vec<Vec<WebhookFilter>>>,
}

/// One filter of a webhook filter group.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WebhookFilter {
    #[serde(rename = "type", deserialize_with = "flexible_string")]
    pub filter_type: Option<String>,
    #[serde(deserialize_with = "flexible_string")]
    pub pattern: Option<String>,
    #[serde(deserialize_with = "flexible_bool")]
    pub exclude_matched_pattern: bool,
}

/// A member that is present, even as `null`, is `Some`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

impl Resource for CodeBuildProject {
    const RESOURCE_TYPE: &'static str = "AWS::CodeBuild::Project";
}

impl Subject<CodeBuildProject> {
    /// The project's name, to show and to look it up by: the configuration's `name`, else the
    /// item's name (its `resourceId` may be an opaque id).
    pub fn project_name(&self) -> &str {
        self.resource.name.as_deref().filter(|name| !name.is_empty()).unwrap_or_else(|| self.item.lookup_name())
    }
}

impl CodeBuildProject {
    /// Primary then secondary sources.
    pub fn all_sources(&self) -> impl Iterator<Item = &ProjectSource> {
        self.source.iter().chain(&self.secondary_sources)
    }

    /// Primary then secondary artifacts.
    pub fn all_artifacts(&self) -> impl Iterator<Item = &ProjectArtifacts> {
        self.artifacts.iter().chain(&self.secondary_artifacts)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProjectSource {
    #[serde(rename = "type", deserialize_with = "flexible_string")]
    pub source_type: Option<String>,
    #[serde(deserialize_with = "flexible_string")]
    pub location: Option<String>,
    /// `buildspec` in the API, `buildSpec` in configuration items.
    #[serde(alias = "buildSpec", deserialize_with = "flexible_string")]
    pub buildspec: Option<String>,
    #[serde(deserialize_with = "flexible_string")]
    pub source_identifier: Option<String>,
    #[serde(deserialize_with = "flexible_bool")]
    pub insecure_ssl: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProjectArtifacts {
    #[serde(rename = "type", deserialize_with = "flexible_string")]
    pub artifacts_type: Option<String>,
    #[serde(deserialize_with = "flexible_string")]
    pub location: Option<String>,
    #[serde(deserialize_with = "flexible_string")]
    pub artifact_identifier: Option<String>,
    #[serde(deserialize_with = "flexible_bool")]
    pub encryption_disabled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Environment {
    #[serde(rename = "type", deserialize_with = "flexible_string")]
    pub environment_type: Option<String>,
    #[serde(deserialize_with = "flexible_string")]
    pub image: Option<String>,
    #[serde(deserialize_with = "flexible_string")]
    pub compute_type: Option<String>,
    #[serde(deserialize_with = "flexible_bool")]
    pub privileged_mode: bool,
    #[serde(deserialize_with = "one_or_many")]
    pub environment_variables: Vec<EnvironmentVariable>,
    /// `CODEBUILD` (CodeBuild's own credentials; the default) or `SERVICE_ROLE`.
    #[serde(deserialize_with = "flexible_string")]
    pub image_pull_credentials_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvironmentVariable {
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "flexible_string")]
    pub value: Option<String>,
    #[serde(rename = "type", deserialize_with = "null_as_default")]
    pub kind: EnvironmentVariableType,
}

impl EnvironmentVariable {
    /// AWS Config may record a PLAINTEXT value as asterisks; the real value is then only in the
    /// live project.
    pub fn is_masked(&self) -> bool {
        self.value.as_deref().is_some_and(is_masked)
    }
}

/// Whether a recorded value is the service's mask (`***…`) rather than the value.
pub fn is_masked(value: &str) -> bool {
    value.len() >= 3 && value.bytes().all(|b| b == b'*')
}

/// Where a variable's value lives. Absent means PLAINTEXT, as in the API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EnvironmentVariableType {
    #[default]
    Plaintext,
    ParameterStore,
    SecretsManager,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogsConfig {
    pub cloud_watch_logs: Option<CloudWatchLogs>,
    pub s3_logs: Option<S3Logs>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CloudWatchLogs {
    #[serde(deserialize_with = "flexible_string")]
    pub status: Option<String>,
    #[serde(deserialize_with = "flexible_string")]
    pub group_name: Option<String>,
    #[serde(deserialize_with = "flexible_string")]
    pub stream_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct S3Logs {
    #[serde(deserialize_with = "flexible_string")]
    pub status: Option<String>,
    #[serde(deserialize_with = "flexible_string")]
    pub location: Option<String>,
    #[serde(deserialize_with = "flexible_bool")]
    pub encryption_disabled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VpcConfig {
    #[serde(deserialize_with = "flexible_string")]
    pub vpc_id: Option<String>,
    /// Objects `{subnet, …}` in configuration items, plain ids in the API.
    #[serde(deserialize_with = "subnet_ids")]
    pub subnets: Vec<String>,
    #[serde(deserialize_with = "one_or_many")]
    pub security_group_ids: Vec<String>,
}

fn subnet_ids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let entries: Vec<Value> = one_or_many(deserializer)?;
    Ok(entries
        .into_iter()
        .filter_map(|entry| match entry {
            Value::String(id) => Some(id),
            Value::Object(mut fields) => match fields.remove("subnet").or_else(|| fields.remove("subnetId")) {
                Some(Value::String(id)) => Some(id),
                _ => None,
            },
            _ => None,
        })
        .collect())
}

/// A CodeBuild report group (`AWS::CodeBuild::ReportGroup`): where test and coverage reports go.
/// Read in CodeBuild's camelCase or CloudFormation's PascalCase: which one Config records for
/// this type is not documented, so both are accepted.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CodeBuildReportGroup {
    #[serde(alias = "Name", deserialize_with = "flexible_string")]
    pub name: Option<String>,
    #[serde(alias = "Arn", deserialize_with = "flexible_string")]
    pub arn: Option<String>,
    #[serde(rename = "type", alias = "Type", deserialize_with = "flexible_string")]
    pub report_type: Option<String>,
    #[serde(alias = "ExportConfig", deserialize_with = "null_as_default")]
    pub export_config: ReportExportConfig,
}

impl Resource for CodeBuildReportGroup {
    const RESOURCE_TYPE: &'static str = "AWS::CodeBuild::ReportGroup";
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReportExportConfig {
    /// `S3` or `NO_EXPORT`.
    #[serde(alias = "ExportConfigType", deserialize_with = "flexible_string")]
    pub export_config_type: Option<String>,
    #[serde(alias = "S3Destination")]
    pub s3_destination: Option<ReportS3Destination>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReportS3Destination {
    #[serde(alias = "Bucket", deserialize_with = "flexible_string")]
    pub bucket: Option<String>,
    #[serde(alias = "Path", deserialize_with = "flexible_string")]
    pub path: Option<String>,
    #[serde(alias = "EncryptionKey", deserialize_with = "flexible_string")]
    pub encryption_key: Option<String>,
    #[serde(alias = "EncryptionDisabled", deserialize_with = "flexible_bool")]
    pub encryption_disabled: bool,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_config_item_quirks() {
        let project: CodeBuildProject = serde_json::from_value(json!({
            "name": "app",
            "source": [{"type": "GITHUB", "location": "https://github.com/o/r", "buildSpec": "buildspec.yml"}],
            "secondarySources": null,
            "artifacts": [{"type": "S3", "location": "bucket", "encryptionDisabled": "true"}],
            "environment": {"privilegedMode": true, "environmentVariables": [
                {"name": "A", "value": "1", "type": "PLAINTEXT"},
                {"name": "B", "value": "/p", "type": "PARAMETER_STORE"},
                {"name": "C", "value": "******"},
                {"name": "D", "value": null, "type": "FUTURE_TYPE"}
            ]},
            "queuedtimeoutInMinutes": 480.0,
            "timeoutInMinutes": "60",
            "vpcConfig": {"vpcId": "vpc-1", "subnets": [{"subnet": "subnet-1"}, "subnet-2"], "securityGroupIds": ["sg-1"]},
            "logsConfig": null
        }))
        .unwrap();
        assert_eq!(project.source[0].buildspec.as_deref(), Some("buildspec.yml"));
        assert!(project.artifacts[0].encryption_disabled);
        assert!(project.environment.privileged_mode);
        let kinds: Vec<_> = project.environment.environment_variables.iter().map(|v| v.kind).collect();
        let expected = [
            EnvironmentVariableType::Plaintext,
            EnvironmentVariableType::ParameterStore,
            EnvironmentVariableType::Plaintext,
            EnvironmentVariableType::Unknown,
        ];
        assert_eq!(kinds, expected);
        assert!(project.environment.environment_variables[2].is_masked());
        assert_eq!(project.queued_timeout_in_minutes, Some(480));
        assert_eq!(project.timeout_in_minutes, Some(60));
        assert_eq!(project.vpc_config.unwrap().subnets, ["subnet-1", "subnet-2"]);
        assert_eq!(project.logs_config, LogsConfig::default());
    }

    #[test]
    fn reads_the_api_shape() {
        let project: CodeBuildProject = serde_json::from_value(json!({
            "source": {"type": "CODEPIPELINE", "buildspec": "version: 0.2"},
            "artifacts": {"type": "CODEPIPELINE"},
            "queuedTimeoutInMinutes": 5
        }))
        .unwrap();
        assert_eq!(project.source.len(), 1);
        assert_eq!(project.artifacts.len(), 1);
        assert_eq!(project.queued_timeout_in_minutes, Some(5));
    }
}
