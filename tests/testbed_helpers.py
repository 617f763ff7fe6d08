"""What the test_testbed_*.py modules share: constants, request builders and assertions about the
emulator's answers."""

import pytest
from botocore.exceptions import ClientError

from testbed import seed

RULE = "codebuild-project-privileged-mode-disabled"
PROJECT_TYPE = "AWS::CodeBuild::Project"
REPORT_GROUP_TYPE = "AWS::CodeBuild::ReportGroup"
PIPELINE_TYPE = "AWS::CodePipeline::Pipeline"


def evaluation(resource_id, compliance="COMPLIANT", timestamp=1_700_000_000.0, **extra):
    """One PutEvaluations evaluation of a CodeBuild project."""
    return {
        "ComplianceResourceType": PROJECT_TYPE,
        "ComplianceResourceId": resource_id,
        "ComplianceType": compliance,
        "OrderingTimestamp": timestamp,
        **extra,
    }


def error_code(call) -> str:
    """The error code of `call()`, which must fail as AWS fails a bad request: HTTP 400."""
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return raised.value.response["Error"]["Code"]


def all_details(config, rule_name, **params):
    """Every page of GetComplianceDetailsByConfigRule for the rule, as a list of pages."""
    pages = []
    token = None
    while True:
        page = config.get_compliance_details_by_config_rule(
            ConfigRuleName=rule_name, **params, **({"NextToken": token} if token else {})
        )
        pages.append(page["EvaluationResults"])
        token = page.get("NextToken")
        if not token:
            return pages


def create_role(aws, name="codebuild-service-role"):
    return seed.create_role(aws("iam"), name)


def create_project(codebuild, name, role_arn, **overrides):
    """A privileged project (not the default), so tests can see the setting recorded and changed."""
    return seed.create_project(codebuild, name, role_arn, privileged=True, **overrides)


# The keys of a configuration item in the event model (what a change notification carries).
EVENT_MODEL_KEYS = {
    "configurationItemVersion", "awsAccountId", "configurationItemCaptureTime", "configurationItemStatus",
    "configurationStateId", "configurationStateMd5Hash", "ARN", "resourceType", "resourceId", "resourceName",
    "awsRegion", "availabilityZone", "resourceCreationTime", "tags", "relatedEvents", "relationships",
    "configuration", "supplementaryConfiguration",
}
