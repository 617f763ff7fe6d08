"""The demo account of `pipesec demo`: good and bad CodeBuild projects, report groups and the
pipelines that use them, in the emulator.

Run as `python -m testbed.demo_account` (what `pipesec demo` does): starts the emulator, seeds it,
prints one JSON line `{"endpoint", "region", "parameters"}` and keeps the emulator running until its
standard input closes. Tests call `seed(clients)` on their own emulator instead.

Values that look like secrets are made up; no output of the rules or the CLI may print them.
"""

import json
import sys

import boto3

from testbed import seed as seeding
from testbed.emulator import Emulator

REGION = "us-east-1"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0f5c4a7e-2b9d-4c61-8e3a-7d1b9f2c6a40"
INLINE_BUILDSPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - make test\n"
VPC = {"vpcId": "vpc-0a1b2c3d", "subnets": ["subnet-0a1b2c3d"], "securityGroupIds": ["sg-0a1b2c3d"]}
# A value no report may contain, whatever the format.
CANARY_SECRET = "ghp_CanaryDemoToken0123456789abcdefABCDEF"

# Rule parameters the demo's team sets, as `pipesec evaluate --param RULE:NAME=VALUE` takes them.
PARAMETERS = {
    "codebuild-project-privileged-mode-disabled": {"exemptedProjects": "base-images"},
    # Opt-in: read the build logs (the demo's projects have none yet).
    "codebuild-project-build-log-indicators": {"scanLogs": "true"},
}


def good_project(name: str) -> dict:
    """Settings that pass every CodeBuild rule."""
    return {
        "source": {"type": "GITHUB", "location": f"https://github.com/example/{name}.git", "buildspec": INLINE_BUILDSPEC},
        "encryptionKey": KEY_ARN,
        "vpcConfig": VPC,
    }


# name -> (privileged, variables, overrides, follow-up (codebuild, name) -> None)
PROJECTS = {
    # The web-app pipeline: everything right.
    "web-app-build": (False, [("NODE_ENV", "production", "PLAINTEXT"), ("DB_PASSWORD", "/prod/web/db", "PARAMETER_STORE")],
                      good_project("web-app"), None),
    # The payments pipeline: a password in a PLAINTEXT variable, buildspec from the repository, no VPC.
    "payments-api-build": (False, [("DB_USER", "payments", "PLAINTEXT"), ("DB_PASSWORD", "demo-Pa55-word-1", "PLAINTEXT"),
                                   ("GITHUB_TOKEN", CANARY_SECRET, "PLAINTEXT")],
                           {"encryptionKey": KEY_ARN}, None),
    # The images pipeline: privileged Docker builds, public, an unanchored webhook filter.
    "docker-image-builder": (True, [("REGISTRY", "123456789012.dkr.ecr.us-east-1.amazonaws.com", "PLAINTEXT")],
                             {"logsConfig": {"cloudWatchLogs": {"status": "DISABLED"}, "s3Logs": {"status": "DISABLED"}}},
                             "public-with-webhook"),
    # Not in a pipeline: an exempted image builder, a deployer with AWS keys and a credential URL.
    "base-images": (True, [("DOCKER_BUILDKIT", "1", "PLAINTEXT")], good_project("base-images"), None),
    "legacy-deployer": (False, [("AWS_ACCESS_KEY_ID", "AKIAZ7Q3DEMO4KEYS123", "PLAINTEXT"),
                                ("AWS_SECRET_ACCESS_KEY", "demo/secret+access/key0123456789abcdefgh", "PLAINTEXT")],
                        {"source": {"type": "BITBUCKET", "location": "https://deploy:demo-S3cret-pw@bitbucket.org/example/legacy.git",
                                    "buildspec": "buildspec.yml"}}, None),
    "nightly-reports": (False, [("MYSQL_ALLOW_EMPTY_PASSWORD", "yes", "PLAINTEXT"), ("REPORT_BUCKET", "reports", "PLAINTEXT")],
                        {**good_project("nightly-reports"),
                         "artifacts": {"type": "S3", "location": "nightly-reports", "encryptionDisabled": True}}, None),
}

# pipeline -> the CodeBuild project its build stage runs
PIPELINES = {"web-app": "web-app-build", "payments": "payments-api-build", "images": "docker-image-builder"}
APPROVAL_TOPIC = "arn:aws:sns:us-east-1:123456789012:release-approvals"


def well_built_stages(name: str, project: str) -> list[dict]:
    """Source, build, a scan before deploying, a notified manual approval, deploy."""
    source, build, deploy = seeding.default_pipeline_stages(name, project)
    scan = {"name": "SecurityScan", "runOrder": 1, "configuration": {"ProjectName": project},
            "actionTypeId": {"category": "Test", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
            "inputArtifacts": [{"name": "SourceOutput"}]}
    approve = {"name": "Approve", "runOrder": 1, "configuration": {"NotificationArn": APPROVAL_TOPIC},
               "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}
    return [source, build, {"name": "Test", "actions": [scan]}, {"name": "Approval", "actions": [approve]}, deploy]


def alert_on_failures(clients, pipeline: str) -> None:
    """An EventBridge rule that sends the pipeline's failed executions to an SNS topic."""
    topic = clients("sns").create_topic(Name=f"{pipeline}-failures")["TopicArn"]
    events = clients("events")
    pattern = {"source": ["aws.codepipeline"], "detail-type": ["CodePipeline Pipeline Execution State Change"],
               "detail": {"state": ["FAILED"], "pipeline": [pipeline]}}
    events.put_rule(Name=f"{pipeline}-failures", EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule=f"{pipeline}-failures", Targets=[{"Id": "notify", "Arn": topic}])

REPORT_GROUPS = {
    "unit-tests": {"exportConfigType": "S3", "s3Destination": {"bucket": "build-reports", "encryptionDisabled": False}},
    "coverage": {"exportConfigType": "S3", "s3Destination": {"bucket": "build-reports", "encryptionDisabled": True}},
}


def seed(clients) -> dict:
    """Creates the demo account through `clients(service)`; returns what was made."""
    codebuild = clients("codebuild")
    iam = clients("iam")
    role = seeding.create_role(iam)["Arn"]
    pipeline_role = seeding.create_pipeline_role(iam)["Arn"]
    for name, (privileged, variables, overrides, follow_up) in PROJECTS.items():
        seeding.create_project(codebuild, name, role, privileged=privileged, variables=variables, **overrides)
        if follow_up == "public-with-webhook":
            seeding.set_project_visibility(codebuild, name, "PUBLIC_READ")
            seeding.create_webhook(codebuild, name, [[{"type": "EVENT", "pattern": "PUSH"},
                                                      {"type": "HEAD_REF", "pattern": "refs/heads/main"}]])
    for name, export_config in REPORT_GROUPS.items():
        seeding.create_report_group(codebuild, name, export_config)
    # The SecureString web-app-build reads; the artifact buckets: web-app's secured, the others as
    # S3 creates them.
    clients("ssm").put_parameter(Name="/prod/web/db", Value="demo-parameter-value", Type="SecureString")
    s3 = clients("s3")
    for name in PIPELINES:
        seeding.create_artifact_bucket(s3, f"{name}-artifacts", secured=name == "web-app", key_arn=KEY_ARN)
    codepipeline = clients("codepipeline")
    for name, project in PIPELINES.items():
        if name == "web-app":
            store = {"type": "S3", "location": "web-app-artifacts", "encryptionKey": {"id": KEY_ARN, "type": "KMS"}}
            seeding.create_pipeline(codepipeline, name, pipeline_role, stages=well_built_stages(name, project),
                                    artifact_store=store)
            alert_on_failures(clients, name)
        else:
            seeding.create_pipeline(codepipeline, name, pipeline_role, project_name=project)
    return {"projects": list(PROJECTS), "pipelines": PIPELINES, "reportGroups": list(REPORT_GROUPS)}


def main() -> int:
    with Emulator.start() as emulator:
        def clients(service):
            return boto3.client(service, endpoint_url=emulator.url, region_name=REGION,
                                aws_access_key_id="demo", aws_secret_access_key="demo")

        seed(clients)
        print(json.dumps({"endpoint": emulator.url, "region": REGION, "parameters": PARAMETERS}), flush=True)
        # Serve until the CLI is done with the account.
        sys.stdin.read()
    return 0


if __name__ == "__main__":
    sys.exit(main())
