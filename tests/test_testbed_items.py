"""Tests of the test bed's configuration items, result tokens and Config rule events (testbed/config_items.py,
tokens.py, events.py); no emulator."""

import json

import pytest

from testbed import config_items, events
from testbed.tokens import TESTMODE, decode_result_token, mint_result_token
from testbed_helpers import EVENT_MODEL_KEYS, RULE


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
