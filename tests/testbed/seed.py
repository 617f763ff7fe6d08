"""Seeds the emulator with the resources tests and the demo evaluate, and reads back what
Config's recorder made of them."""

import json
import time
from pathlib import Path

from testbed.config_items import CODEBUILD_PROJECT, api_item_to_event_item

REPO = Path(__file__).resolve().parents[2]


def _trust_policy(service: str) -> str:
    # moto's CodePipeline wants `Principal.Service` as one string, in every statement.
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    })


CODEBUILD_TRUST_POLICY = _trust_policy("codebuild.amazonaws.com")
CODEPIPELINE_TRUST_POLICY = _trust_policy("codepipeline.amazonaws.com")


def create_role(iam, name="codebuild-service-role") -> dict:
    """A CodeBuild service role; returns IAM's `Role`."""
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=CODEBUILD_TRUST_POLICY)["Role"]


def create_pipeline_role(iam, name="codepipeline-service-role") -> dict:
    """A CodePipeline service role (moto refuses a pipeline whose role does not trust codepipeline);
    returns IAM's `Role`."""
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=CODEPIPELINE_TRUST_POLICY)["Role"]


def create_project(codebuild, name, role_arn, privileged=False, variables=None, **overrides) -> dict:
    """A realistic CodeBuild project; `variables` are `(name, value, type)` triples (default: one
    harmless PLAINTEXT setting). Returns CodeBuild's `project`."""
    variables = variables if variables is not None else [("STAGE", "prod", "PLAINTEXT")]
    project = {
        "name": name,
        "source": {"type": "GITHUB", "location": f"https://github.com/example/{name}.git", "buildspec": "buildspec.yml"},
        "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": {
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
            "privilegedMode": privileged,
            "environmentVariables": [{"name": n, "value": v, "type": t} for n, v, t in variables],
        },
        "serviceRole": role_arn,
        "timeoutInMinutes": 30,
        "queuedTimeoutInMinutes": 60,
        "tags": [{"key": "team", "value": "platform"}],
        **overrides,
    }
    return codebuild.create_project(**project)["project"]


def create_webhook(codebuild, project_name, filter_groups, build_type="BUILD") -> dict:
    """A webhook on a project; `filter_groups` as CodeBuild takes them ([[{type, pattern,
    excludeMatchedPattern?}]]). Returns CodeBuild's `webhook`."""
    answer = codebuild.create_webhook(projectName=project_name, filterGroups=filter_groups, buildType=build_type)
    return answer["webhook"]


def set_project_visibility(codebuild, name, visibility, resource_access_role=None) -> dict:
    """PUBLIC_READ or PRIVATE for a project named `name`; returns UpdateProjectVisibility's answer."""
    [project] = codebuild.batch_get_projects(names=[name])["projects"]
    extra = {"resourceAccessRole": resource_access_role} if resource_access_role else {}
    answer = codebuild.update_project_visibility(projectArn=project["arn"], projectVisibility=visibility, **extra)
    answer.pop("ResponseMetadata", None)
    return answer


def create_report_group(codebuild, name, export_config=None, report_type="TEST", tags=None) -> dict:
    """A report group (default: test reports exported, zipped, to an S3 bucket). Returns CodeBuild's
    `reportGroup`."""
    export_config = export_config or {
        "exportConfigType": "S3",
        "s3Destination": {"bucket": "build-reports", "path": name, "packaging": "ZIP", "encryptionDisabled": False},
    }
    extra = {"tags": tags} if tags else {}
    answer = codebuild.create_report_group(name=name, type=report_type, exportConfig=export_config, **extra)
    return answer["reportGroup"]


def default_pipeline_stages(name, project_name=None) -> list[dict]:
    """Source (CodeStar connection to GitHub) -> Build (the CodeBuild project `project_name`, default
    `<name>-build`) -> Deploy (a CloudFormation stack), as CodePipeline takes them."""
    project_name = project_name or f"{name}-build"
    return [
        {"name": "Source", "actions": [{
            "name": "Source",
            "actionTypeId": {
                "category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1",
            },
            "configuration": {
                "ConnectionArn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/0a1b2c3d-example",
                "FullRepositoryId": f"example/{name}",
                "BranchName": "main",
                "OutputArtifactFormat": "CODE_ZIP",
            },
            "outputArtifacts": [{"name": "SourceOutput"}],
            "runOrder": 1,
        }]},
        {"name": "Build", "actions": [{
            "name": "Build",
            "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
            "configuration": {
                "ProjectName": project_name,
                # A JSON string, as CodePipeline keeps every action setting.
                "EnvironmentVariables": json.dumps([{"name": "STAGE", "value": "prod", "type": "PLAINTEXT"}]),
            },
            "inputArtifacts": [{"name": "SourceOutput"}],
            "outputArtifacts": [{"name": "BuildOutput"}],
            "runOrder": 1,
        }]},
        {"name": "Deploy", "actions": [{
            "name": "Deploy",
            "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation", "version": "1"},
            "configuration": {
                "ActionMode": "CREATE_UPDATE",
                "StackName": name,
                "TemplatePath": "BuildOutput::packaged.yaml",
                "Capabilities": "CAPABILITY_IAM",
                "RoleArn": f"arn:aws:iam::123456789012:role/{name}-cfn-deploy",
            },
            "inputArtifacts": [{"name": "BuildOutput"}],
            "runOrder": 1,
        }]},
    ]


def create_pipeline(
    codepipeline, name, role_arn, stages=None, artifact_store=None, artifact_stores=None, project_name=None
) -> dict:
    """A pipeline (moto wants at least 2 stages). Default stages: `default_pipeline_stages`; default
    store: one S3 `artifactStore`, unless `artifact_stores` ({region: store}) is given. Returns
    CodePipeline's `pipeline`."""
    pipeline = {"name": name, "roleArn": role_arn, "stages": stages or default_pipeline_stages(name, project_name)}
    if artifact_stores:
        pipeline["artifactStores"] = artifact_stores
    else:
        pipeline["artifactStore"] = artifact_store or {"type": "S3", "location": f"{name}-artifacts"}
    return codepipeline.create_pipeline(pipeline=pipeline)["pipeline"]


def create_artifact_bucket(s3, bucket, region="us-east-1", secured=True, key_arn=None) -> None:
    """An artifact bucket in `region`: `secured` as codepipeline-artifact-store-secured wants it
    (public access block, versioning, a bucket policy denying requests without TLS, KMS default
    encryption), or as S3 creates one (the public access block only)."""
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **location)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    if not secured:
        return
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    statement = {"Sid": "DenyInsecureConnections", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": f"arn:aws:s3:::{bucket}/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    default = {"SSEAlgorithm": "aws:kms", **({"KMSMasterKeyID": key_arn} if key_arn else {})}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": default}]})


def recorded_item(config, name: str, resource_type: str = CODEBUILD_PROJECT) -> dict:
    """The event-model configuration item Config recorded for the resource of `resource_type` named
    `name`, as a change notification would carry it."""
    query = f"SELECT resourceId, resourceName WHERE resourceType = '{resource_type}'"
    token = None
    while True:
        page = config.select_resource_config(Expression=query, **({"NextToken": token} if token else {}))
        for row in map(json.loads, page["Results"]):
            if row.get("resourceName") == name:
                history = config.get_resource_config_history(
                    resourceType=resource_type, resourceId=row["resourceId"], limit=1
                )
                return api_item_to_event_item(history["configurationItems"][0])
        token = page.get("NextToken")
        if not token:
            raise LookupError(f"no recorded {resource_type} named {name}")


def stop_recording(config, resource_types) -> dict:
    """Makes the region's configuration recorder record every supported type but `resource_types`,
    through PutConfigurationRecorder as a user would (an exclusion list); the recorder keeps
    recording the rest. Returns the recorder as DescribeConfigurationRecorders shows it after."""
    [recorder] = config.describe_configuration_recorders()["ConfigurationRecorders"]
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": recorder["name"],
        "roleARN": recorder["roleARN"],
        "recordingGroup": {
            "allSupported": False,
            "exclusionByResourceTypes": {"resourceTypes": list(resource_types)},
            "recordingStrategy": {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"},
        },
    })
    return config.describe_configuration_recorders()["ConfigurationRecorders"][0]


def put_build_log(logs, project: str, fixture: str) -> None:
    """The log events of `rules/fixtures/codebuild-project-build-log-indicators/<fixture>.json` in the
    project's default log group, one stream per build as CodeBuild writes them, moved to the last
    minutes with their spacing kept."""
    path = REPO / "rules" / "fixtures" / "codebuild-project-build-log-indicators" / f"{fixture}.json"
    events = json.loads(path.read_text())
    group = f"/aws/codebuild/{project}"
    logs.create_log_group(logGroupName=group)
    shift = int(time.time() * 1000) - 60_000 - events[0]["timestamp"]
    streams: dict[str, list] = {}
    for event in events:
        stream = event["logStreamName"].replace("api-service/", f"{project}/", 1)
        streams.setdefault(stream, []).append({"timestamp": event["timestamp"] + shift, "message": event["message"]})
    for stream, batch in streams.items():
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
