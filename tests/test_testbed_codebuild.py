"""Tests of the test bed's CodeBuild (testbed/services/codebuild.py): moto's projects fixed, and the
webhooks, visibility and report groups the test bed adds."""

import json
import time

from testbed import config_items, seed
from testbed_helpers import PROJECT_TYPE, create_project, create_role, error_code


def test_codebuild_batch_get_projects_accepts_names_and_arns(aws):
    role = create_role(aws)
    codebuild = aws("codebuild")
    project = create_project(codebuild, "by-arn", role["Arn"])
    create_project(codebuild, "by-name", role["Arn"])
    arn_of_missing = project["arn"].replace("by-arn", "gone")
    answer = codebuild.batch_get_projects(names=[project["arn"], "by-name", "missing", arn_of_missing])
    assert [p["name"] for p in answer["projects"]] == ["by-arn", "by-name"]
    assert answer["projectsNotFound"] == ["missing", arn_of_missing]


def test_codebuild_requires_a_source_location_only_where_codebuild_does(aws):
    role = create_role(aws)
    codebuild = aws("codebuild")
    environment = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                   "computeType": "BUILD_GENERAL1_SMALL"}
    created = codebuild.create_project(name="in-a-pipeline", source={"type": "CODEPIPELINE"},
                                       artifacts={"type": "CODEPIPELINE"}, environment=environment,
                                       serviceRole=role["Arn"])["project"]
    assert created["source"] == {"type": "CODEPIPELINE"}
    for source in ({"type": "GITHUB"}, {"type": "S3", "location": ""}):
        try:
            codebuild.create_project(name="no-location", source=source, artifacts={"type": "NO_ARTIFACTS"},
                                     environment=environment, serviceRole=role["Arn"])
            raise AssertionError(f"{source} accepted")
        except codebuild.exceptions.InvalidInputException as err:
            assert "source location is required" in str(err)


def test_codebuild_update_project_changes_the_recorded_item(aws):
    role = create_role(aws)
    codebuild, config = aws("codebuild"), aws("config")
    project = create_project(codebuild, "changing", role["Arn"])
    resource_id = config_items.codebuild_resource_id(project["arn"])
    [before] = config.get_resource_config_history(resourceType=PROJECT_TYPE, resourceId=resource_id)["configurationItems"]
    time.sleep(0.01)
    codebuild.update_project(name="changing", environment={**project["environment"], "privilegedMode": False})
    [after] = config.get_resource_config_history(resourceType=PROJECT_TYPE, resourceId=resource_id)["configurationItems"]
    assert json.loads(after["configuration"])["environment"]["privilegedMode"] is False
    assert int(after["configurationStateId"]) > int(before["configurationStateId"])
    assert after["configurationItemCaptureTime"] > before["configurationItemCaptureTime"]


# --- webhooks, visibility and report groups --------------------------------------------------------

PUSH_TO_MAIN = [[
    {"type": "EVENT", "pattern": "PUSH"},
    {"type": "HEAD_REF", "pattern": "^refs/heads/main$"},
]]


def test_codebuild_webhook_round_trip_is_live_only(aws):
    role = create_role(aws)
    codebuild, config = aws("codebuild"), aws("config")
    create_project(codebuild, "hooked", role["Arn"])
    before = seed.recorded_item(config, "hooked")

    created = seed.create_webhook(codebuild, "hooked", PUSH_TO_MAIN)
    assert created["filterGroups"] == [[
        {"type": "EVENT", "pattern": "PUSH", "excludeMatchedPattern": False},
        {"type": "HEAD_REF", "pattern": "^refs/heads/main$", "excludeMatchedPattern": False},
    ]]
    assert created["buildType"] == "BUILD" and created["manualCreation"] is False
    assert created["url"].startswith("https://api.github.com/repos/example/hooked/hooks/")
    assert created["payloadUrl"].startswith("https://codebuild.us-east-1.amazonaws.com/webhooks?t=")
    [project] = codebuild.batch_get_projects(names=["hooked"])["projects"]
    assert project["webhook"] == created
    assert error_code(lambda: seed.create_webhook(codebuild, "hooked", PUSH_TO_MAIN)) == "ResourceAlreadyExistsException"

    time.sleep(0.01)
    pull_requests = [[{"type": "EVENT", "pattern": "PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED"},
                      {"type": "FILE_PATH", "pattern": "^docs/", "excludeMatchedPattern": True}]]
    updated = codebuild.update_webhook(projectName="hooked", filterGroups=pull_requests, rotateSecret=True)["webhook"]
    assert updated["filterGroups"][0][1] == {"type": "FILE_PATH", "pattern": "^docs/", "excludeMatchedPattern": True}
    assert updated["lastModifiedSecret"] > created["lastModifiedSecret"]
    [project] = codebuild.batch_get_projects(names=["hooked"])["projects"]
    assert project["webhook"]["filterGroups"] == updated["filterGroups"]

    # Config does not record webhooks, and adding one is no recorded change.
    after = seed.recorded_item(config, "hooked")
    assert "webhook" not in after["configuration"]
    assert after == before

    codebuild.delete_webhook(projectName="hooked")
    assert "webhook" not in codebuild.batch_get_projects(names=["hooked"])["projects"][0]
    assert error_code(lambda: codebuild.delete_webhook(projectName="hooked")) == "ResourceNotFoundException"
    assert error_code(lambda: seed.create_webhook(codebuild, "missing", PUSH_TO_MAIN)) == "ResourceNotFoundException"
    create_project(codebuild, "from-s3", role["Arn"], source={"type": "S3", "location": "bucket/source.zip"})
    assert error_code(lambda: seed.create_webhook(codebuild, "from-s3", PUSH_TO_MAIN)) == "InvalidInputException"


def test_codebuild_project_visibility_is_live_only(aws):
    role = create_role(aws)
    codebuild, config = aws("codebuild"), aws("config")
    assert create_project(codebuild, "shown", role["Arn"])["projectVisibility"] == "PRIVATE"
    assert codebuild.batch_get_projects(names=["shown"])["projects"][0]["projectVisibility"] == "PRIVATE"

    reader = "arn:aws:iam::123456789012:role/public-build-reader"
    answer = seed.set_project_visibility(codebuild, "shown", "PUBLIC_READ", resource_access_role=reader)
    assert answer["projectVisibility"] == "PUBLIC_READ" and answer["publicProjectAlias"]
    assert answer["projectArn"].endswith(":project/shown")
    [project] = codebuild.batch_get_projects(names=["shown"])["projects"]
    assert (project["projectVisibility"], project["publicProjectAlias"], project["resourceAccessRole"]) == (
        "PUBLIC_READ", answer["publicProjectAlias"], reader)
    configuration = seed.recorded_item(config, "shown")["configuration"]
    assert not {"projectVisibility", "publicProjectAlias", "resourceAccessRole"} & set(configuration)

    assert seed.set_project_visibility(codebuild, "shown", "PRIVATE")["projectVisibility"] == "PRIVATE"
    assert codebuild.batch_get_projects(names=["shown"])["projects"][0]["projectVisibility"] == "PRIVATE"
    assert error_code(lambda: codebuild.update_project_visibility(
        projectArn=answer["projectArn"].replace("shown", "gone"), projectVisibility="PRIVATE")) == "ResourceNotFoundException"


def list_all_report_groups(codebuild, **params):
    pages, token = [], None
    while True:
        page = codebuild.list_report_groups(**params, **({"nextToken": token} if token else {}))
        pages.append(page["reportGroups"])
        token = page.get("nextToken")
        if not token:
            return pages


def test_codebuild_report_groups_crud(aws):
    codebuild = aws("codebuild")
    groups = {name: seed.create_report_group(codebuild, name) for name in ("unit", "coverage", "integration")}
    unit = groups["unit"]
    assert unit["arn"] == "arn:aws:codebuild:us-east-1:123456789012:report-group/unit"
    assert unit["type"] == "TEST" and unit["status"] == "ACTIVE" and unit["created"] == unit["lastModified"]
    assert unit["exportConfig"] == {
        "exportConfigType": "S3",
        "s3Destination": {"bucket": "build-reports", "path": "unit", "packaging": "ZIP", "encryptionDisabled": False},
    }
    assert error_code(lambda: seed.create_report_group(codebuild, "unit")) == "ResourceAlreadyExistsException"
    bad_export = {"exportConfigType": "S3", "s3Destination": {"path": "x"}}
    assert error_code(lambda: seed.create_report_group(codebuild, "no-bucket", bad_export)) == "InvalidInputException"

    missing = unit["arn"].replace("unit", "missing")
    answer = codebuild.batch_get_report_groups(reportGroupArns=[unit["arn"], missing, groups["coverage"]["arn"]])
    assert [g["name"] for g in answer["reportGroups"]] == ["unit", "coverage"]
    assert answer["reportGroupsNotFound"] == [missing]

    names = lambda pages: [[arn.rsplit("/", 1)[-1] for arn in page] for page in pages]  # noqa: E731
    assert names(list_all_report_groups(codebuild)) == [["coverage", "integration", "unit"]]
    assert names(list_all_report_groups(codebuild, sortOrder="DESCENDING", maxResults=2)) == [["unit", "integration"], ["coverage"]]
    assert names(list_all_report_groups(codebuild, sortBy="CREATED_TIME", maxResults=2)) == [["unit", "coverage"], ["integration"]]

    time.sleep(0.01)
    updated = codebuild.update_report_group(
        arn=unit["arn"], exportConfig={"exportConfigType": "NO_EXPORT"}, tags=[{"key": "team", "value": "qa"}])["reportGroup"]
    assert updated["exportConfig"] == {"exportConfigType": "NO_EXPORT"} and updated["tags"] == [{"key": "team", "value": "qa"}]
    assert updated["lastModified"] > updated["created"]
    assert names(list_all_report_groups(codebuild, sortBy="LAST_MODIFIED_TIME", sortOrder="DESCENDING")) == [["unit", "integration", "coverage"]]

    codebuild.delete_report_group(arn=unit["arn"])
    assert codebuild.batch_get_report_groups(reportGroupArns=[unit["arn"]])["reportGroupsNotFound"] == [unit["arn"]]
    assert names(list_all_report_groups(codebuild)) == [["coverage", "integration"]]
    assert error_code(lambda: codebuild.update_report_group(arn=unit["arn"], tags=[])) == "ResourceNotFoundException"
