"""Tests of the test bed itself: the emulator's Config extension through boto3, the configuration-item
mappings, the event builders and the Lambda Runtime API harness."""

import json
import stat
import sys
import time
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from testbed import config_items, events, seed
from testbed.lambda_runtime import LambdaFunction, LambdaProcessExited
from testbed.tokens import TESTMODE, decode_result_token, mint_result_token

RULE = "codebuild-project-privileged-mode-disabled"
PROJECT_TYPE = "AWS::CodeBuild::Project"


def evaluation(resource_id, compliance="COMPLIANT", timestamp=1_700_000_000.0, **extra):
    return {
        "ComplianceResourceType": PROJECT_TYPE,
        "ComplianceResourceId": resource_id,
        "ComplianceType": compliance,
        "OrderingTimestamp": timestamp,
        **extra,
    }


def error_code(call) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return raised.value.response["Error"]["Code"]


def all_details(config, rule_name, **params):
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


# --- PutEvaluations -----------------------------------------------------------------------------

INVALID_PUT_EVALUATIONS = [
    ("token not minted by the test bed", dict(ResultToken="bogus"), "InvalidResultTokenException"),
    ("TESTMODE without TestMode", dict(ResultToken=TESTMODE), "InvalidResultTokenException"),
    ("empty token", dict(ResultToken=""), "ValidationException"),
    ("no evaluations", dict(Evaluations=[]), "InvalidParameterValueException"),
    ("101 evaluations", dict(Evaluations=[evaluation(f"p{i}") for i in range(101)]), "InvalidParameterValueException"),
    ("INSUFFICIENT_DATA", dict(Evaluations=[evaluation("p", "INSUFFICIENT_DATA")]), "InvalidParameterValueException"),
    ("unknown compliance type", dict(Evaluations=[evaluation("p", "MAYBE")]), "InvalidParameterValueException"),
    ("annotation over 256", dict(Evaluations=[evaluation("p", Annotation="x" * 257)]), "ValidationException"),
    ("empty annotation", dict(Evaluations=[evaluation("p", Annotation="")]), "ValidationException"),
    ("empty resource type", dict(Evaluations=[{**evaluation("p"), "ComplianceResourceType": ""}]), "ValidationException"),
    ("empty resource id", dict(Evaluations=[evaluation("")]), "ValidationException"),
    ("no ordering timestamp", dict(Evaluations=[{k: v for k, v in evaluation("p").items() if k != "OrderingTimestamp"}]), "ValidationException"),
]


@pytest.mark.parametrize("case, overrides, expected", INVALID_PUT_EVALUATIONS, ids=[c[0] for c in INVALID_PUT_EVALUATIONS])
def test_put_evaluations_rejects_what_config_rejects(aws, case, overrides, expected):
    # Without client-side validation, so the emulator's own checks are what answers.
    config = aws("config", parameter_validation=False)
    request = {"ResultToken": mint_result_token(RULE), "Evaluations": [evaluation("ok")], **overrides}
    assert error_code(lambda: config.put_evaluations(**request)) == expected
    # A rejected call keeps nothing, not even its valid evaluations.
    assert all_details(config, RULE) == [[]]


def test_put_evaluations_error_has_aws_json_shape(emulator):
    body = json.dumps({"ResultToken": "bogus", "Evaluations": [evaluation("p")]}).encode()
    request = AWSRequest(
        method="POST",
        url=emulator.url + "/",
        data=body,
        headers={"X-Amz-Target": "StarlingDoveService.PutEvaluations", "Content-Type": "application/x-amz-json-1.1"},
    )
    SigV4Auth(Credentials("testing", "testing"), "config", "us-east-1").add_auth(request)
    raw = urllib.request.Request(request.url, data=body, headers=dict(request.headers), method="POST")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(raw, timeout=10)
    assert raised.value.code == 400
    document = json.loads(raised.value.read())
    assert document["__type"] == "InvalidResultTokenException"
    assert document["message"]


def test_evaluations_persist_and_page_through_compliance_details(aws):
    config = aws("config")
    token = mint_result_token(RULE)
    ids = [f"project-{i:03d}" for i in range(250)]
    for start in (0, 100, 200):
        batch = [evaluation(i, "NON_COMPLIANT" if n % 5 == 0 else "COMPLIANT") for n, i in enumerate(ids[start:start + 100], start)]
        assert config.put_evaluations(ResultToken=token, Evaluations=batch)["FailedEvaluations"] == []

    pages = all_details(config, RULE, Limit=100)
    assert [len(page) for page in pages] == [100, 100, 50]
    results = [result for page in pages for result in page]
    qualifiers = [r["EvaluationResultIdentifier"]["EvaluationResultQualifier"] for r in results]
    assert [q["ResourceId"] for q in qualifiers] == ids  # sorted by resource id, none lost or repeated
    assert {q["ConfigRuleName"] for q in qualifiers} == {RULE}
    assert {q["EvaluationMode"] for q in qualifiers} == {"DETECTIVE"}
    assert sum(r["ComplianceType"] == "NON_COMPLIANT" for r in results) == 50
    # Without a Limit, AWS's default page size of 10 applies.
    assert [len(page) for page in all_details(config, RULE)] == [10] * 25
    # The filter applies before paging.
    non_compliant = all_details(config, RULE, ComplianceTypes=["NON_COMPLIANT"], Limit=100)
    assert [len(page) for page in non_compliant] == [50]


def test_compliance_details_validate_their_parameters(aws):
    config = aws("config", parameter_validation=False)
    assert error_code(lambda: config.get_compliance_details_by_config_rule(
        ConfigRuleName=RULE, ComplianceTypes=["INSUFFICIENT_DATA"])) == "InvalidParameterValueException"
    assert error_code(lambda: config.get_compliance_details_by_config_rule(
        ConfigRuleName=RULE, Limit=101)) == "ValidationException"
    assert error_code(lambda: config.get_compliance_details_by_config_rule(
        ConfigRuleName=RULE, NextToken="not-a-token")) == "InvalidNextTokenException"


def test_an_older_ordering_timestamp_does_not_replace_the_stored_evaluation(aws):
    config = aws("config")
    token = mint_result_token(RULE)
    config.put_evaluations(ResultToken=token, Evaluations=[evaluation("p", "NON_COMPLIANT", 2000.0, Annotation="privileged")])
    config.put_evaluations(ResultToken=token, Evaluations=[evaluation("p", "COMPLIANT", 1000.0)])
    [[stored]] = all_details(config, RULE)
    assert stored["ComplianceType"] == "NON_COMPLIANT"
    assert stored["Annotation"] == "privileged"
    assert stored["EvaluationResultIdentifier"]["OrderingTimestamp"].timestamp() == 2000.0

    config.put_evaluations(ResultToken=token, Evaluations=[evaluation("p", "COMPLIANT", 3000.0)])
    [[stored]] = all_details(config, RULE)
    assert stored["ComplianceType"] == "COMPLIANT"
    assert "Annotation" not in stored  # only present when the evaluation had one
    assert stored["ConfigRuleInvokedTime"].timestamp() == pytest.approx(decode_result_token(token).invoked_at)
    assert stored["ResultRecordedTime"] >= stored["ConfigRuleInvokedTime"]


def test_test_mode_validates_but_persists_nothing(aws):
    config = aws("config", parameter_validation=False)
    assert config.put_evaluations(ResultToken=TESTMODE, Evaluations=[evaluation("p")], TestMode=True)["FailedEvaluations"] == []
    assert config.put_evaluations(ResultToken=mint_result_token(RULE), Evaluations=[evaluation("q")], TestMode=True)["FailedEvaluations"] == []
    assert all_details(config, RULE) == [[]]
    assert error_code(lambda: config.put_evaluations(
        ResultToken=TESTMODE, Evaluations=[evaluation("p", "INSUFFICIENT_DATA")], TestMode=True)) == "InvalidParameterValueException"


def test_describe_compliance_by_config_rule_follows_aws_semantics(aws):
    config = aws("config")

    def put(rule, *evaluations):
        config.put_evaluations(ResultToken=mint_result_token(rule), Evaluations=list(evaluations))

    put("mixed", evaluation("a", "NON_COMPLIANT"), evaluation("b", "NON_COMPLIANT"), evaluation("c"), evaluation("d", "NOT_APPLICABLE"))
    put("clean", evaluation("a"), evaluation("b", "NOT_APPLICABLE"))
    put("out-of-scope", evaluation("a", "NOT_APPLICABLE"))

    rules = {r["ConfigRuleName"]: r["Compliance"] for r in config.describe_compliance_by_config_rule()["ComplianceByConfigRules"]}
    assert rules == {
        "clean": {"ComplianceType": "COMPLIANT"},
        "mixed": {"ComplianceType": "NON_COMPLIANT", "ComplianceContributorCount": {"CappedCount": 2, "CapExceeded": False}},
        "out-of-scope": {"ComplianceType": "INSUFFICIENT_DATA"},
    }
    filtered = config.describe_compliance_by_config_rule(ComplianceTypes=["NON_COMPLIANT"])["ComplianceByConfigRules"]
    assert [r["ConfigRuleName"] for r in filtered] == ["mixed"]
    named = config.describe_compliance_by_config_rule(ConfigRuleNames=["clean", "never-ran"])["ComplianceByConfigRules"]
    assert [(r["ConfigRuleName"], r["Compliance"]["ComplianceType"]) for r in named] == [
        ("clean", "COMPLIANT"),
        ("never-ran", "INSUFFICIENT_DATA"),
    ]


def test_injected_faults_fail_the_first_evaluations_of_the_next_calls(aws, emulator):
    config = aws("config")
    token = mint_result_token(RULE)
    emulator.set_faults({"PutEvaluations": {"failFirst": 2, "times": 2}})
    for call in range(2):
        batch = [evaluation(f"c{call}-{i}") for i in range(3)]
        failed = config.put_evaluations(ResultToken=token, Evaluations=batch)["FailedEvaluations"]
        assert [f["ComplianceResourceId"] for f in failed] == [f"c{call}-0", f"c{call}-1"]
    assert config.put_evaluations(ResultToken=token, Evaluations=[evaluation("c2-0")])["FailedEvaluations"] == []
    stored = [r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceId"] for page in all_details(config, RULE) for r in page]
    assert stored == ["c0-2", "c1-2", "c2-0"]  # failed evaluations were not kept

    emulator.set_faults({"PutEvaluations": {"failFirst": 1, "times": 5}})
    emulator.set_faults({})
    assert config.put_evaluations(ResultToken=token, Evaluations=[evaluation("d")])["FailedEvaluations"] == []


def test_reset_clears_evaluations_faults_and_counts(aws, emulator):
    config = aws("config")
    config.put_evaluations(ResultToken=mint_result_token(RULE), Evaluations=[evaluation("p")])
    emulator.set_faults({"PutEvaluations": {"failFirst": 1, "times": 1}})
    emulator.reset()
    assert emulator.calls() == {}
    assert all_details(config, RULE) == [[]]
    assert config.put_evaluations(ResultToken=mint_result_token(RULE), Evaluations=[evaluation("p")])["FailedEvaluations"] == []


def test_call_counter_counts_every_answered_request(aws, emulator):
    config, codebuild = aws("config"), aws("codebuild")
    for _ in range(3):
        config.put_evaluations(ResultToken=mint_result_token(RULE), Evaluations=[evaluation("p")])
    codebuild.batch_get_projects(names=["missing"])
    error_code(lambda: config.put_evaluations(ResultToken="bogus", Evaluations=[evaluation("p")]))
    assert emulator.calls() == {"config.PutEvaluations": 4, "codebuild.BatchGetProjects": 1}
    emulator.reset_calls()
    assert emulator.calls() == {}


# --- the CodeBuild recorder ---------------------------------------------------------------------

def create_role(aws, name="codebuild-service-role"):
    return seed.create_role(aws("iam"), name)


def create_project(codebuild, name, role_arn, **overrides):
    return seed.create_project(codebuild, name, role_arn, privileged=True, **overrides)


EVENT_MODEL_KEYS = {
    "configurationItemVersion", "awsAccountId", "configurationItemCaptureTime", "configurationItemStatus",
    "configurationStateId", "configurationStateMd5Hash", "ARN", "resourceType", "resourceId", "resourceName",
    "awsRegion", "availabilityZone", "resourceCreationTime", "tags", "relatedEvents", "relationships",
    "configuration", "supplementaryConfiguration",
}


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


def test_codebuild_batch_get_projects_accepts_names_and_arns(aws):
    role = create_role(aws)
    codebuild = aws("codebuild")
    project = create_project(codebuild, "by-arn", role["Arn"])
    create_project(codebuild, "by-name", role["Arn"])
    arn_of_missing = project["arn"].replace("by-arn", "gone")
    answer = codebuild.batch_get_projects(names=[project["arn"], "by-name", "missing", arn_of_missing])
    assert [p["name"] for p in answer["projects"]] == ["by-arn", "by-name"]
    assert answer["projectsNotFound"] == ["missing", arn_of_missing]


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


# --- CodeBuild webhooks, visibility and report groups -------------------------------------------

REPORT_GROUP_TYPE = "AWS::CodeBuild::ReportGroup"
PIPELINE_TYPE = "AWS::CodePipeline::Pipeline"
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


# --- the CodePipeline recorder ------------------------------------------------------------------

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


# --- configuration items, tokens, events (no emulator) -----------------------------------------

MOTO_PROJECT = {
    "name": "p1",
    "arn": "arn:aws:codebuild:us-east-1:123456789012:project/p1",
    "serviceRole": "arn:aws:iam::123456789012:role/service-role/build",
    "source": {"type": "S3", "location": "bucket/key.zip"},
    "artifacts": {"type": "NO_ARTIFACTS"},
    "queuedTimeoutInMinutes": 480,
    "projectVisibility": "PUBLIC_READ",
    "webhook": {"filterGroups": []},
    "created": 1_700_000_000.123,
    "lastModifiedDate": 1_700_000_100.456,
    "tags": None,
}


def test_event_item_and_api_item_map_into_each_other():
    item = config_items.codebuild_project_item(MOTO_PROJECT, "123456789012", "us-east-1", "AROAEXAMPLE")
    assert set(item) == EVENT_MODEL_KEYS
    assert item["configurationItemCaptureTime"] == "2023-11-14T22:15:00.456Z"
    assert item["resourceCreationTime"] == "2023-11-14T22:13:20.123Z"
    assert item["configurationStateId"] == 1_700_000_100_456
    assert "projectVisibility" not in item["configuration"] and "webhook" not in item["configuration"]
    assert item["configuration"]["queuedtimeoutInMinutes"] == 480
    assert item["relationships"][0]["resourceName"] == "build"
    api_item = config_items.event_item_to_api_item(item)
    assert api_item["configurationItemCaptureTime"] == pytest.approx(1_700_000_100.456)
    assert json.loads(api_item["configuration"]) == item["configuration"]
    assert config_items.api_item_to_event_item(api_item) == item
    assert MOTO_PROJECT["source"] == {"type": "S3", "location": "bucket/key.zip"}  # moto's state is not mutated


MOTO_PIPELINE = {
    "name": "release",
    "roleArn": "arn:aws:iam::123456789012:role/service-role/pipeline",
    "artifactStore": {"type": "S3", "location": "release-artifacts"},
    "stages": [
        {"name": "Source", "actions": [{
            "name": "Source", "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
            "runOrder": 1, "configuration": {"Owner": "o", "Repo": "r", "OAuthToken": "secret"},
            "outputArtifacts": [{"name": "src"}], "inputArtifacts": [],
        }]},
        {"name": "Build", "actions": [{
            "name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
            "runOrder": 1, "configuration": {"ProjectName": "p1"}, "outputArtifacts": [], "inputArtifacts": [{"name": "src"}],
        }]},
    ],
    "version": 3,
}
MOTO_PIPELINE_METADATA = {
    "pipelineArn": "arn:aws:codepipeline:us-east-1:123456789012:release",
    "created": "2023-11-14T22:13:20.123Z",
    "updated": "2023-11-14T22:15:00.456Z",
}
MOTO_REPORT_GROUP = {
    "arn": "arn:aws:codebuild:us-east-1:123456789012:report-group/unit",
    "name": "unit",
    "type": "TEST",
    "exportConfig": {"exportConfigType": "NO_EXPORT"},
    "created": 1_700_000_000.123,
    "lastModified": 1_700_000_100.456,
    "status": "ACTIVE",
}


def test_pipeline_and_report_group_items_map_into_each_other():
    pipeline_item = config_items.codepipeline_pipeline_item(
        MOTO_PIPELINE, MOTO_PIPELINE_METADATA, {"team": "platform"}, "123456789012", "us-east-1", "AROAPIPELINE")
    assert set(pipeline_item) == EVENT_MODEL_KEYS
    assert (pipeline_item["resourceType"], pipeline_item["resourceId"], pipeline_item["resourceName"]) == (
        "AWS::CodePipeline::Pipeline", "release", "release")
    assert pipeline_item["ARN"] == MOTO_PIPELINE_METADATA["pipelineArn"]
    assert pipeline_item["configurationItemCaptureTime"] == "2023-11-14T22:15:00.456Z"
    assert pipeline_item["resourceCreationTime"] == "2023-11-14T22:13:20.123Z"
    assert pipeline_item["configuration"]["metadata"] == {
        "pipelineArn": MOTO_PIPELINE_METADATA["pipelineArn"], "created": 1_700_000_000.123, "updated": 1_700_000_100.456}
    assert pipeline_item["configuration"]["pipeline"]["stages"][0]["actions"][0]["configuration"]["OAuthToken"] == "****"
    assert MOTO_PIPELINE["stages"][0]["actions"][0]["configuration"]["OAuthToken"] == "secret"  # moto's state is not mutated
    assert pipeline_item["relationships"] == [{
        "resourceId": "AROAPIPELINE", "resourceName": "pipeline", "resourceType": "AWS::IAM::Role", "name": "Is associated with Role"}]

    group_item = config_items.codebuild_report_group_item(MOTO_REPORT_GROUP, "123456789012", "us-east-1")
    assert set(group_item) == EVENT_MODEL_KEYS
    assert group_item["resourceId"] == group_item["ARN"] == MOTO_REPORT_GROUP["arn"]
    assert group_item["configuration"] == {k: v for k, v in MOTO_REPORT_GROUP.items() if k != "status"}
    assert group_item["tags"] == {} and group_item["configurationStateId"] == 1_700_000_100_456

    for item in (pipeline_item, group_item):
        api_item = config_items.event_item_to_api_item(item)
        assert isinstance(api_item["configuration"], str)
        assert config_items.api_item_to_event_item(api_item) == item
        assert config_items.event_item_to_query_row(item)["configuration"] == item["configuration"]


def test_result_tokens_identify_their_rule():
    token = mint_result_token("my-rule")
    assert decode_result_token(token).rule_name == "my-rule"
    assert token != mint_result_token("my-rule")
    for not_ours in ("bogus", TESTMODE, "", "eyJraW5kIjoib3RoZXIifQ"):
        assert decode_result_token(not_ours) is None


def test_change_oversized_scheduled_and_deleted_events():
    item = config_items.codebuild_project_item(MOTO_PROJECT, "123456789012", "us-east-1", None)
    change = events.change_event(item, RULE, {"exemptedProjects": "a,b"})
    assert isinstance(change["invokingEvent"], str) and json.loads(change["ruleParameters"]) == {"exemptedProjects": "a,b"}
    invoking = json.loads(change["invokingEvent"])
    assert invoking["messageType"] == "ConfigurationItemChangeNotification"
    assert invoking["configurationItem"] == item and invoking["configurationItemDiff"] is None
    assert decode_result_token(change["resultToken"]).rule_name == RULE
    assert change["configRuleName"] == RULE and change["accountId"] == "123456789012" and change["eventLeftScope"] is False
    assert "ruleParameters" not in events.change_event(item, RULE)

    oversized = json.loads(events.oversized_event(item, RULE, result_token=TESTMODE)["invokingEvent"])
    assert oversized["messageType"] == "OversizedConfigurationItemChangeNotification"
    summary = oversized["configurationItemSummary"]
    assert summary["resourceId"] == item["resourceId"] and summary["ARN"] == item["ARN"]
    assert summary["configurationItemCaptureTime"] == item["configurationItemCaptureTime"]
    assert "configuration" not in summary and oversized["s3DeliverySummary"]["errorCode"] is None

    scheduled = events.scheduled_event(RULE)
    assert json.loads(scheduled["invokingEvent"])["messageType"] == "ScheduledNotification"
    assert json.loads(scheduled["invokingEvent"])["awsAccountId"] == "123456789012"

    gone = events.deleted(item)
    assert gone["configurationItemStatus"] == "ResourceDeleted" and gone["configuration"] is None
    assert gone["configurationItemCaptureTime"] > item["configurationItemCaptureTime"]
    assert item["configurationItemStatus"] == "OK"  # the original is untouched


# --- Lambda Runtime API harness -----------------------------------------------------------------

# A stand-in for a rule binary: speaks the Runtime API with nothing but the standard library.
FAKE_FUNCTION = """\
#!{python}
import json, os, sys, urllib.request

base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
print("fake function starting", flush=True)

def post(path, document, headers=None, chunked=False):
    data = json.dumps(document).encode()
    # An iterable body makes urllib send it chunked, as a streaming runtime client would.
    request = urllib.request.Request(base + path, data=iter([data]) if chunked else data, method="POST",
                                     headers={{"Content-Type": "application/json", **(headers or {{}})}})
    with urllib.request.urlopen(request) as response:
        assert response.status == 202, response.status

if os.environ.get("FAIL_INIT"):
    post("/init/error", {{"errorType": "Runtime.ConfigError", "errorMessage": "cannot start"}})
    sys.exit(1)

while True:
    with urllib.request.urlopen(base + "/invocation/next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        headers = {{name: response.headers[name] for name in (
            "Lambda-Runtime-Deadline-Ms", "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Trace-Id")}}
        event = json.loads(response.read())
    print("handling", event.get("action"), flush=True)
    if event.get("action") == "crash":
        print("crashing on purpose", file=sys.stderr, flush=True)
        sys.exit(3)
    if event.get("action") == "error":
        post(f"/invocation/{{request_id}}/error",
             {{"errorType": "InvalidParameterValueException", "errorMessage": "exemptedProjects is not a list"}},
             {{"Lambda-Runtime-Function-Error-Type": "InvalidParameterValueException"}}, chunked=True)
    else:
        env = {{name: os.environ.get(name) for name in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "AWS_ENDPOINT_URL")}}
        post(f"/invocation/{{request_id}}/response", {{"echo": event, "headers": headers, "env": env}})
"""


@pytest.fixture
def fake_function(tmp_path):
    path = tmp_path / "bootstrap"
    path.write_text(FAKE_FUNCTION.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_lambda_harness_response_and_error(fake_function):
    with LambdaFunction(fake_function, "fake-rule", {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}).start() as function:
        assert function.wait_ready() > 0
        result = function.invoke({"action": "respond", "n": 1}, timeout=30)
        assert result.ok and result.error_type is None and result.duration > 0
        assert result.payload["echo"] == {"action": "respond", "n": 1}
        assert result.payload["env"] == {"AWS_LAMBDA_FUNCTION_NAME": "fake-rule", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
        headers = result.payload["headers"]
        assert headers["Lambda-Runtime-Invoked-Function-Arn"] == "arn:aws:lambda:us-east-1:123456789012:function:fake-rule"
        assert 0 < int(headers["Lambda-Runtime-Deadline-Ms"]) - time.time() * 1000 <= 30_000
        assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")

        failed = function.invoke({"action": "error"})
        assert not failed.ok and failed.payload is None
        assert failed.error_type == "InvalidParameterValueException"
        assert failed.error_message == "exemptedProjects is not a list"

        assert function.invoke({"action": "respond", "n": 2}).payload["echo"]["n"] == 2  # still serving
        assert function.peak_rss_kib() > 0
        assert "fake function starting" in function.logs
        assert function.time_to_first_poll > 0


def test_lambda_harness_reports_a_crash_with_its_output(fake_function):
    with LambdaFunction(fake_function, "fake-rule").start() as function:
        with pytest.raises(LambdaProcessExited) as raised:
            function.invoke({"action": "crash"}, timeout=30)
        assert "status 3" in str(raised.value)
        assert "crashing on purpose" in str(raised.value)
        assert "crashing on purpose" in function.logs


def test_lambda_harness_reports_an_init_error(fake_function):
    with LambdaFunction(fake_function, "fake-rule", {"FAIL_INIT": "1"}).start() as function:
        with pytest.raises(LambdaProcessExited) as raised:
            function.invoke({"action": "respond"}, timeout=30)
        assert "Runtime.ConfigError" in str(raised.value) and "cannot start" in str(raised.value)
