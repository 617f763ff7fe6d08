"""Seeds the emulator with the resources tests and the demo evaluate, and reads back what
Config's recorder made of them."""

import json

from testbed.config_items import CODEBUILD_PROJECT, api_item_to_event_item

CODEBUILD_TRUST_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})


def create_role(iam, name="codebuild-service-role") -> dict:
    """A CodeBuild service role; returns IAM's `Role`."""
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=CODEBUILD_TRUST_POLICY)["Role"]


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


def recorded_item(config, project_name: str) -> dict:
    """The event-model configuration item Config recorded for a project, as a change
    notification would carry it."""
    query = f"SELECT resourceId WHERE resourceType = '{CODEBUILD_PROJECT}'"
    ids = [json.loads(row)["resourceId"] for row in config.select_resource_config(Expression=query)["Results"]]
    for resource_id in ids:
        history = config.get_resource_config_history(resourceType=CODEBUILD_PROJECT, resourceId=resource_id, limit=1)
        item = history["configurationItems"][0]
        if item.get("resourceName") == project_name:
            return api_item_to_event_item(item)
    raise LookupError(f"no recorded CodeBuild project named {project_name}")
