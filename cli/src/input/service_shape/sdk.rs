//! The SDK's types back into the API's JSON shape (camelCase members, timestamps in epoch seconds,
//! absent members left out), as BatchGetProjects, BatchGetReportGroups and GetPipeline send them
//! on the wire and as the AWS CLI prints them: the shape the mapping onto Config's items reads.
//!
//! Every member the API documents is converted, whether Config records it or not: what Config
//! keeps is decided once, by the mapping. Left out: a pipeline's `triggers` and its stages'
//! `onFailure` / `onSuccess` / `beforeEntry` conditions (no rule reads them and Config's resource
//! schema lists none of them), and a project environment's `computeConfiguration` and
//! `dockerServer` (settings of reserved-capacity fleets, likewise).

use aws_sdk_codebuild::primitives::DateTime;
use aws_sdk_codebuild::types as codebuild;
use aws_sdk_codepipeline::operation::get_pipeline::GetPipelineOutput;
use aws_sdk_codepipeline::types as codepipeline;
use serde_json::{Map, Value, json};

/// One project of BatchGetProjects' `projects`.
pub fn project(project: &codebuild::Project) -> Value {
    strip_nulls(json!({
        "name": project.name,
        "arn": project.arn,
        "description": project.description,
        "source": project.source.as_ref().map(source),
        "secondarySources": project.secondary_sources.as_ref().map(|list| list.iter().map(source).collect::<Vec<_>>()),
        "sourceVersion": project.source_version,
        "secondarySourceVersions": project.secondary_source_versions.as_ref().map(|list| list
            .iter()
            .map(|version| json!({"sourceIdentifier": version.source_identifier, "sourceVersion": version.source_version}))
            .collect::<Vec<_>>()),
        "artifacts": project.artifacts.as_ref().map(artifacts),
        "secondaryArtifacts": project.secondary_artifacts.as_ref().map(|list| list.iter().map(artifacts).collect::<Vec<_>>()),
        "cache": project.cache.as_ref().map(|cache| json!({
            "type": cache.r#type.as_str(),
            "location": cache.location,
            "modes": cache.modes.as_ref().map(|modes| modes.iter().map(codebuild::CacheMode::as_str).collect::<Vec<_>>()),
            "cacheNamespace": cache.cache_namespace,
        })),
        "environment": project.environment.as_ref().map(environment),
        "serviceRole": project.service_role,
        "timeoutInMinutes": project.timeout_in_minutes,
        "queuedTimeoutInMinutes": project.queued_timeout_in_minutes,
        "encryptionKey": project.encryption_key,
        "tags": project.tags.as_ref().map(|tags| tags.iter().map(|tag| json!({"key": tag.key, "value": tag.value})).collect::<Vec<_>>()),
        "created": project.created.as_ref().map(DateTime::as_secs_f64),
        "lastModified": project.last_modified.as_ref().map(DateTime::as_secs_f64),
        "webhook": project.webhook.as_ref().map(webhook),
        "vpcConfig": project.vpc_config.as_ref().map(|vpc| json!({
            "vpcId": vpc.vpc_id,
            "subnets": vpc.subnets,
            "securityGroupIds": vpc.security_group_ids,
        })),
        "badge": project.badge.as_ref().map(|badge| json!({
            "badgeEnabled": badge.badge_enabled,
            "badgeRequestUrl": badge.badge_request_url,
        })),
        "logsConfig": project.logs_config.as_ref().map(|logs| json!({
            "cloudWatchLogs": logs.cloud_watch_logs.as_ref().map(|cloudwatch| json!({
                "status": cloudwatch.status.as_str(),
                "groupName": cloudwatch.group_name,
                "streamName": cloudwatch.stream_name,
            })),
            "s3Logs": logs.s3_logs.as_ref().map(|s3| json!({
                "status": s3.status.as_str(),
                "location": s3.location,
                "encryptionDisabled": s3.encryption_disabled,
                "bucketOwnerAccess": s3.bucket_owner_access.as_ref().map(codebuild::BucketOwnerAccess::as_str),
            })),
        })),
        "fileSystemLocations": project.file_system_locations.as_ref().map(|list| list.iter().map(|location| json!({
            "type": location.r#type.as_ref().map(codebuild::FileSystemType::as_str),
            "location": location.location,
            "mountPoint": location.mount_point,
            "identifier": location.identifier,
            "mountOptions": location.mount_options,
        })).collect::<Vec<_>>()),
        "buildBatchConfig": project.build_batch_config.as_ref().map(|batch| json!({
            "serviceRole": batch.service_role,
            "combineArtifacts": batch.combine_artifacts,
            "restrictions": batch.restrictions.as_ref().map(|restrictions| json!({
                "maximumBuildsAllowed": restrictions.maximum_builds_allowed,
                "computeTypesAllowed": restrictions.compute_types_allowed,
                "fleetsAllowed": restrictions.fleets_allowed,
            })),
            "timeoutInMins": batch.timeout_in_mins,
            "batchReportMode": batch.batch_report_mode.as_ref().map(codebuild::BatchReportModeType::as_str),
        })),
        "concurrentBuildLimit": project.concurrent_build_limit,
        "projectVisibility": project.project_visibility.as_ref().map(codebuild::ProjectVisibilityType::as_str),
        "publicProjectAlias": project.public_project_alias,
        "resourceAccessRole": project.resource_access_role,
        "autoRetryLimit": project.auto_retry_limit,
    }))
}

fn source(source: &codebuild::ProjectSource) -> Value {
    json!({
        "type": source.r#type.as_str(),
        "location": source.location,
        "gitCloneDepth": source.git_clone_depth,
        "gitSubmodulesConfig": source.git_submodules_config.as_ref().map(|git| json!({"fetchSubmodules": git.fetch_submodules})),
        "buildspec": source.buildspec,
        "auth": source.auth.as_ref().map(|auth| json!({"type": auth.r#type.as_str(), "resource": auth.resource})),
        "reportBuildStatus": source.report_build_status,
        "buildStatusConfig": source.build_status_config.as_ref().map(|status| json!({
            "context": status.context,
            "targetUrl": status.target_url,
        })),
        "insecureSsl": source.insecure_ssl,
        "sourceIdentifier": source.source_identifier,
    })
}

fn artifacts(artifacts: &codebuild::ProjectArtifacts) -> Value {
    json!({
        "type": artifacts.r#type.as_str(),
        "location": artifacts.location,
        "path": artifacts.path,
        "namespaceType": artifacts.namespace_type.as_ref().map(codebuild::ArtifactNamespace::as_str),
        "name": artifacts.name,
        "packaging": artifacts.packaging.as_ref().map(codebuild::ArtifactPackaging::as_str),
        "overrideArtifactName": artifacts.override_artifact_name,
        "encryptionDisabled": artifacts.encryption_disabled,
        "artifactIdentifier": artifacts.artifact_identifier,
        "bucketOwnerAccess": artifacts.bucket_owner_access.as_ref().map(codebuild::BucketOwnerAccess::as_str),
    })
}

fn environment(environment: &codebuild::ProjectEnvironment) -> Value {
    json!({
        "type": environment.r#type.as_str(),
        "image": environment.image,
        "computeType": environment.compute_type.as_str(),
        "fleet": environment.fleet.as_ref().map(|fleet| json!({"fleetArn": fleet.fleet_arn})),
        "environmentVariables": environment.environment_variables.as_ref().map(|variables| variables.iter().map(|variable| json!({
            "name": variable.name,
            "value": variable.value,
            "type": variable.r#type.as_ref().map(codebuild::EnvironmentVariableType::as_str),
        })).collect::<Vec<_>>()),
        "privilegedMode": environment.privileged_mode,
        "certificate": environment.certificate,
        "registryCredential": environment.registry_credential.as_ref().map(|credential| json!({
            "credential": credential.credential,
            "credentialProvider": credential.credential_provider.as_str(),
        })),
        "imagePullCredentialsType": environment.image_pull_credentials_type.as_ref().map(codebuild::ImagePullCredentialsType::as_str),
    })
}

fn webhook(webhook: &codebuild::Webhook) -> Value {
    json!({
        "url": webhook.url,
        "payloadUrl": webhook.payload_url,
        "branchFilter": webhook.branch_filter,
        "filterGroups": webhook.filter_groups.as_ref().map(|groups| groups.iter().map(|group| group.iter().map(|filter| json!({
            "type": filter.r#type.as_str(),
            "pattern": filter.pattern,
            "excludeMatchedPattern": filter.exclude_matched_pattern,
        })).collect::<Vec<_>>()).collect::<Vec<_>>()),
        "buildType": webhook.build_type.as_ref().map(codebuild::WebhookBuildType::as_str),
        "manualCreation": webhook.manual_creation,
        "lastModifiedSecret": webhook.last_modified_secret.as_ref().map(DateTime::as_secs_f64),
        "status": webhook.status.as_ref().map(codebuild::WebhookStatus::as_str),
        "statusMessage": webhook.status_message,
    })
}

/// One report group of BatchGetReportGroups' `reportGroups`.
pub fn report_group(group: &codebuild::ReportGroup) -> Value {
    strip_nulls(json!({
        "arn": group.arn,
        "name": group.name,
        "type": group.r#type.as_ref().map(codebuild::ReportType::as_str),
        "exportConfig": group.export_config.as_ref().map(|export| json!({
            "exportConfigType": export.export_config_type.as_ref().map(codebuild::ReportExportConfigType::as_str),
            "s3Destination": export.s3_destination.as_ref().map(|s3| json!({
                "bucket": s3.bucket,
                "bucketOwner": s3.bucket_owner,
                "path": s3.path,
                "packaging": s3.packaging.as_ref().map(codebuild::ReportPackagingType::as_str),
                "encryptionKey": s3.encryption_key,
                "encryptionDisabled": s3.encryption_disabled,
            })),
        })),
        "created": group.created.as_ref().map(DateTime::as_secs_f64),
        "lastModified": group.last_modified.as_ref().map(DateTime::as_secs_f64),
        "tags": group.tags.as_ref().map(|tags| tags.iter().map(|tag| json!({"key": tag.key, "value": tag.value})).collect::<Vec<_>>()),
        "status": group.status.as_ref().map(codebuild::ReportGroupStatusType::as_str),
    }))
}

/// GetPipeline's answer: `{pipeline, metadata}`.
pub fn pipeline(output: &GetPipelineOutput) -> Value {
    strip_nulls(json!({
        "pipeline": output.pipeline.as_ref().map(declaration),
        "metadata": output.metadata.as_ref().map(|metadata| json!({
            "pipelineArn": metadata.pipeline_arn,
            "created": metadata.created.as_ref().map(DateTime::as_secs_f64),
            "updated": metadata.updated.as_ref().map(DateTime::as_secs_f64),
            "pollingDisabledAt": metadata.polling_disabled_at.as_ref().map(DateTime::as_secs_f64),
        })),
    }))
}

fn declaration(pipeline: &codepipeline::PipelineDeclaration) -> Value {
    json!({
        "name": pipeline.name,
        "roleArn": pipeline.role_arn,
        "artifactStore": pipeline.artifact_store.as_ref().map(artifact_store),
        "artifactStores": pipeline.artifact_stores.as_ref().map(|stores| stores
            .iter()
            .map(|(region, store)| (region.clone(), artifact_store(store)))
            .collect::<Map<_, _>>()),
        "stages": pipeline.stages.iter().map(|stage| json!({
            "name": stage.name,
            "blockers": stage.blockers.as_ref().map(|blockers| blockers
                .iter()
                .map(|blocker| json!({"name": blocker.name, "type": blocker.r#type.as_str()}))
                .collect::<Vec<_>>()),
            "actions": stage.actions.iter().map(action).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "version": pipeline.version,
        "executionMode": pipeline.execution_mode.as_ref().map(codepipeline::ExecutionMode::as_str),
        "pipelineType": pipeline.pipeline_type.as_ref().map(codepipeline::PipelineType::as_str),
        "variables": pipeline.variables.as_ref().map(|variables| variables.iter().map(|variable| json!({
            "name": variable.name,
            "defaultValue": variable.default_value,
            "description": variable.description,
        })).collect::<Vec<_>>()),
    })
}

fn artifact_store(store: &codepipeline::ArtifactStore) -> Value {
    json!({
        "type": store.r#type.as_str(),
        "location": store.location,
        "encryptionKey": store.encryption_key.as_ref().map(|key| json!({"id": key.id, "type": key.r#type.as_str()})),
    })
}

fn action(action: &codepipeline::ActionDeclaration) -> Value {
    json!({
        "name": action.name,
        "actionTypeId": action.action_type_id.as_ref().map(|id| json!({
            "category": id.category.as_str(),
            "owner": id.owner.as_str(),
            "provider": id.provider,
            "version": id.version,
        })),
        "runOrder": action.run_order,
        "configuration": action.configuration,
        "commands": action.commands,
        "outputArtifacts": action.output_artifacts.as_ref().map(|artifacts| artifacts
            .iter()
            .map(|artifact| json!({"name": artifact.name, "files": artifact.files}))
            .collect::<Vec<_>>()),
        "inputArtifacts": action.input_artifacts.as_ref().map(|artifacts| artifacts
            .iter()
            .map(|artifact| json!({"name": artifact.name}))
            .collect::<Vec<_>>()),
        "outputVariables": action.output_variables,
        "roleArn": action.role_arn,
        "region": action.region,
        "namespace": action.namespace,
        "timeoutInMinutes": action.timeout_in_minutes,
        "environmentVariables": action.environment_variables.as_ref().map(|variables| variables.iter().map(|variable| json!({
            "name": variable.name,
            "value": variable.value,
            "type": variable.r#type.as_ref().map(codepipeline::EnvironmentVariableType::as_str),
        })).collect::<Vec<_>>()),
    })
}

/// Drops the members the SDK had no value for (`null`), at every depth: the API leaves them out.
fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(members) => {
            Value::Object(members.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_is_the_api_shape_with_absent_members_left_out() {
        let project = codebuild::Project::builder()
            .name("app")
            .arn("arn:aws:codebuild:eu-west-1:123456789012:project/app")
            .source(
                codebuild::ProjectSource::builder()
                    .r#type(codebuild::SourceType::Github)
                    .location("https://github.com/o/r")
                    .buildspec("buildspec.yml")
                    .build()
                    .unwrap(),
            )
            .environment(
                codebuild::ProjectEnvironment::builder()
                    .r#type(codebuild::EnvironmentType::LinuxContainer)
                    .image("aws/codebuild/standard:7.0")
                    .compute_type(codebuild::ComputeType::BuildGeneral1Small)
                    .privileged_mode(true)
                    .environment_variables(
                        codebuild::EnvironmentVariable::builder().name("STAGE").value("prod").build().unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .vpc_config(codebuild::VpcConfig::builder().vpc_id("vpc-1").subnets("subnet-1").build())
            .queued_timeout_in_minutes(60)
            .last_modified(DateTime::from_secs(1_700_000_000))
            .build();
        assert_eq!(
            super::project(&project),
            json!({
                "name": "app",
                "arn": "arn:aws:codebuild:eu-west-1:123456789012:project/app",
                "source": {"type": "GITHUB", "location": "https://github.com/o/r", "buildspec": "buildspec.yml"},
                "environment": {
                    "type": "LINUX_CONTAINER",
                    "image": "aws/codebuild/standard:7.0",
                    "computeType": "BUILD_GENERAL1_SMALL",
                    "privilegedMode": true,
                    "environmentVariables": [{"name": "STAGE", "value": "prod"}],
                },
                "vpcConfig": {"vpcId": "vpc-1", "subnets": ["subnet-1"]},
                "queuedTimeoutInMinutes": 60,
                "lastModified": 1_700_000_000.0,
            })
        );
    }
}
