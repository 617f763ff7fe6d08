"""The Security Hub function end to end: the real binary, driven through the Lambda Runtime API with
Config's compliance-change events, against the emulator's Security Hub; findings are read back
with GetFindings."""

import copy
import json
from pathlib import Path

import pytest

from testbed import events, seed
from testbed.results import compliance

FIXTURES = Path(__file__).resolve().parent.parent / "securityhub" / "fixtures"
FUNCTION = "pipesec-securityhub"
SECRETS = "codebuild-project-no-plaintext-secrets"
CANARY = "pipesec-canary-Hq4Zt8Wn2Lx6"
SEC11_BP07 = "AWS Well-Architected SEC11-BP07: regularly assess security properties of the pipelines"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def findings(aws) -> list[dict]:
    return aws("securityhub").get_findings()["Findings"]


@pytest.fixture
def hub(rule):
    return rule(FUNCTION)


def invoke(function, event) -> dict:
    result = function.invoke(event)
    assert result.ok, f"{result.error_type}: {result.error_message}"
    return result.payload


def test_non_compliant_change_becomes_an_active_finding_and_compliance_resolves_it(hub, aws, catalog):
    assert invoke(hub, fixture("non-compliant"))["action"] == "imported"
    [finding] = findings(aws)
    rule = catalog.rule("codebuild-project-privileged-mode-disabled")
    assert finding["Severity"]["Label"] == rule.severity == "HIGH"
    assert finding["RecordState"] == "ACTIVE" and finding["Workflow"]["Status"] == "NEW"
    assert finding["Compliance"] == {"Status": "FAILED", "RelatedRequirements": [SEC11_BP07]}
    assert finding["Remediation"]["Recommendation"]["Text"] == rule.remediation
    assert "sec_appsec_regularly_assess_security_properties_of_pipelines" in finding["Remediation"]["Recommendation"]["Url"]
    assert finding["ProductArn"] == "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
    assert finding["Resources"][0]["Type"] == "AwsCodeBuildProject"
    assert "privileged mode is enabled" in finding["Description"]

    assert invoke(hub, fixture("compliant-again"))["action"] == "resolved"
    [resolved] = findings(aws)
    assert resolved["Id"] == finding["Id"]
    assert resolved["RecordState"] == "ARCHIVED" and resolved["Workflow"]["Status"] == "RESOLVED"
    assert resolved["Compliance"]["Status"] == "PASSED"


def test_deleted_resource_archives_its_finding(hub, aws):
    invoke(hub, fixture("non-compliant"))
    assert invoke(hub, fixture("deleted"))["action"] == "resolved"
    [finding] = findings(aws)
    assert (finding["RecordState"], finding["Workflow"]["Status"], finding["Compliance"]["Status"]) == (
        "ARCHIVED", "RESOLVED", "NOT_AVAILABLE")


@pytest.mark.parametrize("name", ["other-rule", "compliant-first"])
def test_changes_with_nothing_to_report_import_nothing(name, hub, aws, emulator):
    emulator.reset_calls()
    assert invoke(hub, fixture(name))["action"] == "ignored"
    assert findings(aws) == []
    assert "securityhub.BatchImportFindings" not in emulator.calls()


def test_an_event_of_another_kind_fails_with_a_stable_error_type(hub):
    result = hub.invoke({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
                         "account": "123456789012", "region": "us-east-1", "time": "2026-11-01T00:00:00Z",
                         "detail": {"resourceId": "i-1", "configRuleName": "x"}})
    assert not result.ok and result.error_type == "InvalidEventException"


def test_secret_found_by_a_rule_never_reaches_the_finding(hub, rule, aws, catalog):
    """The whole chain: a rule reports a plaintext secret, Config's compliance change goes to the
    function, and the finding names the variable, never its value."""
    seed.create_project(aws("codebuild"), "api", seed.create_role(aws("iam"))["Arn"],
                        variables=[("DB_PASSWORD", CANARY, "PLAINTEXT")])
    item = seed.recorded_item(aws("config"), "api")
    rule_name = f"pipesec-{SECRETS}"
    result = rule(SECRETS).invoke(events.change_event(item, rule_name))
    assert result.ok, result.error_message
    verdict, annotation = compliance(aws("config"), rule_name)[item["resourceId"]]
    assert verdict == "NON_COMPLIANT"

    event = copy.deepcopy(fixture("non-compliant"))
    event["region"] = event["detail"]["awsRegion"] = "us-east-1"
    event["detail"].update(resourceId=item["resourceId"], configRuleName=rule_name)
    event["detail"]["newEvaluationResult"].update(annotation=annotation)
    invoke(hub, event)
    [finding] = findings(aws)
    assert finding["Severity"]["Label"] == catalog.rule(SECRETS).severity == "CRITICAL"
    assert "DB_PASSWORD" in finding["Description"]
    assert CANARY not in json.dumps(finding)
