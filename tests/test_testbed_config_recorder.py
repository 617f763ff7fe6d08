"""Tests of the test bed's Config recorder (testbed/services/config_recorder.py): CodeBuild projects,
CodeBuild report groups and CodePipeline pipelines, read through GetResourceConfigHistory,
BatchGetResourceConfig and SelectResourceConfig."""

import json
import time

import pytest

from testbed import config_items, seed
from testbed_helpers import (
    EVENT_MODEL_KEYS,
    PIPELINE_TYPE,
    PROJECT_TYPE,
    REPORT_GROUP_TYPE,
    create_project,
    create_role,
    error_code,
)

# --- CodeBuild projects ---------------------------------------------------------------------------


def test_recorder_serves_a_real_shaped_item_through_get_resource_config_history(aws):
    role = create_role(aws)
    codebuild, config = aws("codebuild"), aws("config")
    project = create_project(codebuild, "app-build", role["Arn"], encryptionKey="arn:aws:kms:us-east-1:123456789012:key/abc")
    resource_id = config_items.codebuild_resource_id(project["arn"])
    assert resource_id != "app-build"

    [api_item] = config.get_resource_config_history(resourceType=PROJECT_TYPE, resourceId=resource_id, limit=1)["configurationItems"]
    # API model
    assert api_item["accountId"] == "123456789012" and api_item["arn"] == project["arn"]
    assert api_item["resourceName"] == "app-build" and api_item["resourceId"] == resource_id
    assert api_item["version"] == "1.3" and api_item["configurationItemMD5Hash"] == ""
    assert isinstance(api_item["configuration"], str) and api_item["configurationStateId"].isdigit()
    assert api_item["relationships"] == [{
        "resourceId": role["RoleId"], "resourceName": "codebuild-service-role",
        "resourceType": "AWS::IAM::Role", "relationshipName": "Is associated with Role",
    }]
    assert api_item["tags"] == {"team": "platform"}
    configuration = json.loads(api_item["configuration"])
    # Config's quirks
    assert configuration["source"] == [{"type": "GITHUB", "location": "https://github.com/example/app-build.git", "buildspec": "buildspec.yml"}]
    assert configuration["artifacts"] == [{"type": "NO_ARTIFACTS"}]
    assert configuration["queuedtimeoutInMinutes"] == 60 and "queuedTimeoutInMinutes" not in configuration
    assert configuration["environment"]["privilegedMode"] is True
    assert configuration["encryptionKey"] == "arn:aws:kms:us-east-1:123456789012:key/abc"  # moto drops it; the extension keeps it

    # The oversized-notification path: laterTime = the capture time finds the item.
    later = api_item["configurationItemCaptureTime"]
    assert len(config.get_resource_config_history(resourceType=PROJECT_TYPE, resourceId=resource_id, laterTime=later, limit=1)["configurationItems"]) == 1
    before = later.timestamp() - 60
    assert config.get_resource_config_history(resourceType=PROJECT_TYPE, resourceId=resource_id, laterTime=before)["configurationItems"] == []

    # Event model, derived client-side
    item = config_items.api_item_to_event_item(api_item)
    assert set(item) == EVENT_MODEL_KEYS
    assert item["awsAccountId"] == "123456789012" and item["ARN"] == project["arn"]
    assert item["configurationItemCaptureTime"].endswith("Z") and len(item["configurationItemCaptureTime"]) == 24
    assert isinstance(item["configurationStateId"], int)
    assert item["relationships"][0]["name"] == "Is associated with Role"
    assert item["configuration"] == configuration

    # Looked up by name instead of its id, or after deletion: not discovered.
    assert error_code(lambda: config.get_resource_config_history(resourceType=PROJECT_TYPE, resourceId="app-build")) == "ResourceNotDiscoveredException"
    codebuild.delete_project(name="app-build")
    assert error_code(lambda: config.get_resource_config_history(resourceType=PROJECT_TYPE, resourceId=resource_id)) == "ResourceNotDiscoveredException"


def test_recorder_other_resource_types_still_reach_moto(aws):
    aws("s3").create_bucket(Bucket="artifacts")
    role = create_role(aws)
    project = create_project(aws("codebuild"), "mixed-keys", role["Arn"])
    config = aws("config")
    [item] = config.get_resource_config_history(resourceType="AWS::S3::Bucket", resourceId="artifacts")["configurationItems"]
    assert item["resourceName"] == "artifacts"
    keys = [
        {"resourceType": "AWS::S3::Bucket", "resourceId": "artifacts"},
        {"resourceType": PROJECT_TYPE, "resourceId": config_items.codebuild_resource_id(project["arn"])},
    ]
    items = config.batch_get_resource_config(resourceKeys=keys)["baseConfigurationItems"]
    assert sorted(i["resourceName"] for i in items) == ["artifacts", "mixed-keys"]


def test_recorder_batch_get_resource_config(aws):
    role = create_role(aws)
    codebuild, config = aws("codebuild"), aws("config")
    projects = [create_project(codebuild, f"svc-{i}", role["Arn"]) for i in range(3)]
    keys = [{"resourceType": PROJECT_TYPE, "resourceId": config_items.codebuild_resource_id(p["arn"])} for p in projects[:2]]
    keys.append({"resourceType": PROJECT_TYPE, "resourceId": "no-such-id"})
    answer = config.batch_get_resource_config(resourceKeys=keys)
    items = answer["baseConfigurationItems"]
    assert sorted(i["resourceName"] for i in items) == ["svc-0", "svc-1"]
    assert answer["unprocessedResourceKeys"] == []
    for item in items:
        # BaseConfigurationItem: API model without tags and relationships
        assert {"accountId", "arn", "version", "configuration"} <= set(item)
        assert not {"tags", "relationships", "ARN", "awsAccountId"} & set(item)
        assert json.loads(item["configuration"])["queuedtimeoutInMinutes"] == 60


def test_recorder_select_resource_config_pages_over_250_projects(aws):
    role = create_role(aws)
    codebuild, config = aws("codebuild"), aws("config")
    for i in range(250):
        create_project(codebuild, f"proj-{i:03d}", role["Arn"])
    expression = f"SELECT resourceId, resourceName, configuration, tags WHERE resourceType = '{PROJECT_TYPE}'"

    pages, token = [], None
    while True:
        page = config.select_resource_config(Expression=expression, Limit=100, **({"NextToken": token} if token else {}))
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p["Results"]) for p in pages] == [100, 100, 50]
    assert pages[0]["QueryInfo"]["SelectFields"] == [{"Name": n} for n in ("resourceId", "resourceName", "configuration", "tags")]
    rows = [json.loads(result) for p in pages for result in p["Results"]]
    assert sorted(r["resourceName"] for r in rows) == [f"proj-{i:03d}" for i in range(250)]
    assert len({r["resourceId"] for r in rows}) == 250
    assert set(rows[0]) == {"resourceId", "resourceName", "configuration", "tags"}
    assert isinstance(rows[0]["configuration"]["source"], list)
    assert rows[0]["tags"] == [{"key": "team", "value": "platform"}]

    # Dotted fields keep their nesting; unsupported forms are refused, not answered wrongly.
    [first] = config.select_resource_config(
        Expression=f"SELECT configuration.environment.privilegedMode WHERE resourceType = '{PROJECT_TYPE}'", Limit=1)["Results"]
    assert json.loads(first) == {"configuration": {"environment": {"privilegedMode": True}}}
    assert error_code(lambda: config.select_resource_config(
        Expression=f"SELECT resourceId WHERE resourceType = '{PROJECT_TYPE}' AND resourceName = 'x'")) == "InvalidExpressionException"


# --- CodeBuild report groups -----------------------------------------------------------------------

def test_recorder_serves_report_groups(aws):
    codebuild, config = aws("codebuild"), aws("config")
    group = seed.create_report_group(codebuild, "unit-tests", tags=[{"key": "team", "value": "qa"}])
    seed.create_report_group(codebuild, "coverage", report_type="CODE_COVERAGE")

    [api_item] = config.get_resource_config_history(resourceType=REPORT_GROUP_TYPE, resourceId=group["arn"], limit=1)["configurationItems"]
    assert api_item["resourceId"] == api_item["arn"] == group["arn"]  # resourceId is the ARN
    assert api_item["resourceName"] == "unit-tests" and api_item["resourceType"] == REPORT_GROUP_TYPE
    assert api_item["tags"] == {"team": "qa"} and api_item["relationships"] == []
    configuration = json.loads(api_item["configuration"])
    assert set(configuration) == {"arn", "name", "type", "exportConfig", "created", "lastModified", "tags"}
    assert configuration["exportConfig"]["s3Destination"]["bucket"] == "build-reports"
    assert configuration["created"] == pytest.approx(group["created"].timestamp(), abs=1e-3)
    item = config_items.api_item_to_event_item(api_item)
    assert set(item) == EVENT_MODEL_KEYS and item == seed.recorded_item(config, "unit-tests", REPORT_GROUP_TYPE)

    rows = [json.loads(r) for r in config.select_resource_config(
        Expression=f"SELECT resourceId, resourceName, configuration.type WHERE resourceType = '{REPORT_GROUP_TYPE}'")["Results"]]
    assert sorted((r["resourceName"], r["configuration"]["type"]) for r in rows) == [("coverage", "CODE_COVERAGE"), ("unit-tests", "TEST")]
    assert all(r["resourceId"].startswith("arn:aws:codebuild:us-east-1:123456789012:report-group/") for r in rows)
    [base] = config.batch_get_resource_config(resourceKeys=[{"resourceType": REPORT_GROUP_TYPE, "resourceId": group["arn"]}])["baseConfigurationItems"]
    assert base["resourceName"] == "unit-tests" and "tags" not in base

    # Looked up by name instead of its ARN, or after deletion: not discovered.
    assert error_code(lambda: config.get_resource_config_history(resourceType=REPORT_GROUP_TYPE, resourceId="unit-tests")) == "ResourceNotDiscoveredException"
    codebuild.delete_report_group(arn=group["arn"])
    assert error_code(lambda: config.get_resource_config_history(resourceType=REPORT_GROUP_TYPE, resourceId=group["arn"])) == "ResourceNotDiscoveredException"


# --- CodePipeline pipelines --------------------------------------------------------------------------

def test_codepipeline_quirks_the_seed_helpers_respect(aws):
    codepipeline, iam = aws("codepipeline"), aws("iam")
    build_role = create_role(aws)  # trusts codebuild, not codepipeline
    assert error_code(lambda: seed.create_pipeline(codepipeline, "untrusted", build_role["Arn"])) == "InvalidStructureException"
    role = seed.create_pipeline_role(iam)
    one_stage = seed.default_pipeline_stages("short")[:1]
    assert error_code(lambda: seed.create_pipeline(codepipeline, "short", role["Arn"], stages=one_stage)) == "InvalidStructureException"
    pipeline = seed.create_pipeline(codepipeline, "release", role["Arn"])
    assert pipeline["version"] == 1 and [s["name"] for s in pipeline["stages"]] == ["Source", "Build", "Deploy"]


def test_recorder_serves_a_real_shaped_pipeline_through_all_three_reads(aws):
    codepipeline, config = aws("codepipeline"), aws("config")
    role = seed.create_pipeline_role(aws("iam"))
    seed.create_pipeline(codepipeline, "release", role["Arn"], project_name="app-build")
    arn = "arn:aws:codepipeline:us-east-1:123456789012:release"
    codepipeline.tag_resource(resourceArn=arn, tags=[{"key": "team", "value": "platform"}])

    # GetResourceConfigHistory: API model, configuration as a JSON string
    [api_item] = config.get_resource_config_history(resourceType=PIPELINE_TYPE, resourceId="release", limit=1)["configurationItems"]
    assert api_item["resourceId"] == api_item["resourceName"] == "release" and api_item["arn"] == arn
    assert api_item["resourceType"] == PIPELINE_TYPE and api_item["tags"] == {"team": "platform"}
    assert api_item["relationships"] == [{
        "resourceId": role["RoleId"], "resourceName": "codepipeline-service-role",
        "resourceType": "AWS::IAM::Role", "relationshipName": "Is associated with Role",
    }]
    assert isinstance(api_item["configuration"], str)
    configuration = json.loads(api_item["configuration"])
    assert set(configuration) == {"pipeline", "metadata"}
    assert configuration["metadata"]["pipelineArn"] == arn
    assert isinstance(configuration["metadata"]["created"], float) and isinstance(configuration["metadata"]["updated"], float)
    declaration = configuration["pipeline"]
    assert declaration == codepipeline.get_pipeline(name="release")["pipeline"]  # GetPipeline's declaration
    assert declaration["name"] == "release" and declaration["roleArn"] == role["Arn"] and declaration["version"] == 1
    assert declaration["artifactStore"] == {"type": "S3", "location": "release-artifacts"}
    assert [s["name"] for s in declaration["stages"]] == ["Source", "Build", "Deploy"]
    build = declaration["stages"][1]["actions"][0]
    assert build["actionTypeId"] == {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"}
    assert build["configuration"]["ProjectName"] == "app-build" and build["runOrder"] == 1
    assert json.loads(build["configuration"]["EnvironmentVariables"])[0]["name"] == "STAGE"
    for stage in declaration["stages"]:
        for action in stage["actions"]:
            assert all(isinstance(v, str) for v in action["configuration"].values())
            assert isinstance(action["runOrder"], int)

    # Event model: captured at the pipeline's `updated` time
    item = config_items.api_item_to_event_item(api_item)
    assert set(item) == EVENT_MODEL_KEYS and item == seed.recorded_item(config, "release", PIPELINE_TYPE)
    assert item["configurationItemCaptureTime"] == config_items.iso_millis(configuration["metadata"]["updated"])

    # BatchGetResourceConfig and SelectResourceConfig
    [base] = config.batch_get_resource_config(resourceKeys=[
        {"resourceType": PIPELINE_TYPE, "resourceId": "release"}, {"resourceType": PIPELINE_TYPE, "resourceId": "gone"},
    ])["baseConfigurationItems"]
    assert base["resourceId"] == "release" and json.loads(base["configuration"]) == configuration
    [row] = config.select_resource_config(
        Expression=f"SELECT resourceId, configuration.pipeline.stages WHERE resourceType = '{PIPELINE_TYPE}'")["Results"]
    assert json.loads(row) == {"resourceId": "release", "configuration": {"pipeline": {"stages": declaration["stages"]}}}

    # UpdatePipeline is a new recorded state; a deleted pipeline is no longer discovered.
    time.sleep(0.01)
    declaration["stages"][1]["actions"][0]["configuration"]["ProjectName"] = "other-build"
    del declaration["version"]
    codepipeline.update_pipeline(pipeline=declaration)
    updated = seed.recorded_item(config, "release", PIPELINE_TYPE)
    assert updated["configuration"]["pipeline"]["version"] == 2
    assert updated["configuration"]["pipeline"]["stages"][1]["actions"][0]["configuration"]["ProjectName"] == "other-build"
    assert updated["configurationStateId"] > item["configurationStateId"]
    codepipeline.delete_pipeline(name="release")
    assert error_code(lambda: config.get_resource_config_history(resourceType=PIPELINE_TYPE, resourceId="release")) == "ResourceNotDiscoveredException"
    assert config.select_resource_config(Expression=f"SELECT resourceId WHERE resourceType = '{PIPELINE_TYPE}'")["Results"] == []


def test_recorder_pipeline_with_github_v1_source_and_cross_region_stores(aws):
    codepipeline, config = aws("codepipeline"), aws("config")
    role = seed.create_pipeline_role(aws("iam"))
    stages = seed.default_pipeline_stages("legacy")
    stages[0]["actions"] = [{
        "name": "GitHub",
        "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
        "configuration": {"Owner": "example", "Repo": "legacy", "Branch": "main", "OAuthToken": "ghp_secret", "PollForSourceChanges": "false"},
        "outputArtifacts": [{"name": "SourceOutput"}],
    }]
    stages.insert(2, {"name": "Approve", "actions": [{
        "name": "Approve",
        "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
        "configuration": {"NotificationArn": "arn:aws:sns:us-east-1:123456789012:approvals"},
    }]})
    stores = {
        "us-east-1": {"type": "S3", "location": "artifacts-use1"},
        "eu-west-1": {"type": "S3", "location": "artifacts-euw1", "encryptionKey": {"id": "alias/pipeline", "type": "KMS"}},
    }
    seed.create_pipeline(codepipeline, "legacy", role["Arn"], stages=stages, artifact_stores=stores)
    declaration = seed.recorded_item(config, "legacy", PIPELINE_TYPE)["configuration"]["pipeline"]
    assert declaration["artifactStores"] == stores and "artifactStore" not in declaration
    source = declaration["stages"][0]["actions"][0]
    assert source["configuration"]["OAuthToken"] == "****" and source["configuration"]["Repo"] == "legacy"
    assert source["runOrder"] == 1  # CodePipeline's default
    assert declaration["stages"][2]["actions"][0]["actionTypeId"]["provider"] == "Manual"


def test_recorder_refuses_unsupported_queries_for_every_recorded_type(aws):
    config = aws("config")
    for resource_type in (PROJECT_TYPE, REPORT_GROUP_TYPE, PIPELINE_TYPE):
        assert config.select_resource_config(Expression=f"SELECT resourceId WHERE resourceType = '{resource_type}'")["Results"] == []
        assert error_code(lambda: config.select_resource_config(
            Expression=f"SELECT * WHERE resourceType = '{resource_type}'")) == "InvalidExpressionException"
        assert error_code(lambda: config.select_resource_config(
            Expression=f"SELECT resourceId WHERE resourceType = '{resource_type}' AND resourceName = 'x'")) == "InvalidExpressionException"


# --- the configuration recorder -------------------------------------------------------------------


def test_every_region_starts_with_a_recorder_of_all_supported_types_in_aws_shape(aws):
    config = aws("config")
    [recorder] = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorder["name"] == "default" and recorder["recordingScope"] == "PAID"
    assert recorder["arn"].startswith("arn:aws:config:us-east-1:123456789012:configuration-recorder/default/")
    assert recorder["roleARN"].endswith(":role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig")
    assert recorder["recordingGroup"]["allSupported"] is True
    assert recorder["recordingGroup"]["recordingStrategy"] == {"useOnly": "ALL_SUPPORTED_RESOURCE_TYPES"}
    assert recorder["recordingMode"]["recordingFrequency"] == "CONTINUOUS"
    assert "status" not in recorder, "moto's own member, not AWS's"
    [status] = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert status["name"] == "default" and status["recording"] is True and status["lastStatus"] == "SUCCESS"
    assert status["arn"] == recorder["arn"]
    assert config.describe_configuration_recorders(ConfigurationRecorderNames=["default"])["ConfigurationRecorders"]
    assert config.describe_configuration_recorders(Arn=recorder["arn"])["ConfigurationRecorders"][0]["name"] == "default"
    for call in (lambda: config.describe_configuration_recorders(ConfigurationRecorderNames=["nope"]),
                 lambda: config.describe_configuration_recorder_status(ConfigurationRecorderNames=["nope"])):
        assert error_code(call) == "NoSuchConfigurationRecorderException"
    # One customer managed recorder per region, as in AWS.
    other = {"name": "second", "roleARN": recorder["roleARN"]}
    assert error_code(lambda: config.put_configuration_recorder(ConfigurationRecorder=other)) == \
        "MaxNumberOfConfigurationRecordersExceededException"


def _recorded_names(config, resource_type):
    page = config.select_resource_config(Expression=f"SELECT resourceName WHERE resourceType = '{resource_type}'")
    return sorted(json.loads(row)["resourceName"] for row in page["Results"])


def test_a_type_the_recorder_does_not_record_has_no_items(aws):
    role = create_role(aws)
    codebuild, config = aws("codebuild"), aws("config")
    project = create_project(codebuild, "unseen-build", role["Arn"])
    seed.create_report_group(codebuild, "unit-tests")
    resource_id = config_items.codebuild_resource_id(project["arn"])
    assert _recorded_names(config, PROJECT_TYPE) == ["unseen-build"]

    recorder = seed.stop_recording(config, [PROJECT_TYPE])
    assert recorder["recordingGroup"]["recordingStrategy"] == {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"}
    assert recorder["recordingGroup"]["exclusionByResourceTypes"] == {"resourceTypes": [PROJECT_TYPE]}
    assert config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"][0]["recording"] is True
    assert _recorded_names(config, PROJECT_TYPE) == []
    assert _recorded_names(config, REPORT_GROUP_TYPE) == ["unit-tests"], "other types still recorded"
    assert error_code(lambda: config.get_resource_config_history(resourceType=PROJECT_TYPE, resourceId=resource_id)) == \
        "ResourceNotDiscoveredException"
    keys = [{"resourceType": PROJECT_TYPE, "resourceId": resource_id}]
    assert config.batch_get_resource_config(resourceKeys=keys)["baseConfigurationItems"] == []

    # Only the included types, with an inclusion list.
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": recorder["roleARN"],
        "recordingGroup": {"allSupported": False, "resourceTypes": [PROJECT_TYPE]},
    })
    assert _recorded_names(config, PROJECT_TYPE) == ["unseen-build"]
    assert _recorded_names(config, REPORT_GROUP_TYPE) == []

    # A stopped recorder records nothing; without one, nothing is recorded either.
    config.stop_configuration_recorder(ConfigurationRecorderName="default")
    assert config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"][0]["recording"] is False
    assert _recorded_names(config, PROJECT_TYPE) == []
    config.delete_configuration_recorder(ConfigurationRecorderName="default")
    assert config.describe_configuration_recorders()["ConfigurationRecorders"] == []
    assert _recorded_names(config, PROJECT_TYPE) == []
