"""Tests of the test bed's Security Hub (testbed/services/securityhub.py) and EventBridge routing of
its events (testbed/services/eventbridge.py), through boto3 against the emulator: automation rules
as documented (criteria, limits, where they apply), Config's integration, Imported events."""

import json

from testbed.tokens import mint_result_token
from testbed_helpers import RULE, error_code, evaluation

ADMIN, MEMBER, OUTSIDER = "111111111111", "222222222222", "333333333333"
HOME, OTHER = "us-east-1", "eu-west-1"


def automation_rule(label: str, title_filters: list[dict], **extra) -> dict:
    return {"RuleName": f"severity {label}", "RuleOrder": 10, "Description": "d", "RuleStatus": "ENABLED",
            "Criteria": {"ProductName": [{"Comparison": "EQUALS", "Value": "Config"}], "Title": title_filters},
            "Actions": [{"Type": "FINDING_FIELDS_UPDATE", "FindingFieldsUpdate": {"Severity": {"Label": label}}}],
            **extra}


def put(client, rule_name: str, resource: str, compliance: str) -> None:
    client("config").put_evaluations(ResultToken=mint_result_token(rule_name),
                                     Evaluations=[evaluation(resource, compliance)])


def severities(client) -> dict[tuple[str, str], str]:
    return {(f["Title"], f["Resources"][0]["Id"]): f["Severity"]["Label"]
            for f in client("securityhub").get_findings()["Findings"]}


def test_config_evaluations_become_medium_findings_only_where_security_hub_is_enabled(account):
    member, _ = account(MEMBER)
    put(member, RULE, "p1", "NON_COMPLIANT")
    assert member("securityhub").get_findings()["Findings"] == [], "Security Hub not enabled yet"
    member("securityhub").enable_security_hub()
    put(member, RULE, "p1", "NON_COMPLIANT")
    put(member, RULE, "p2", "COMPLIANT")
    put(member, RULE, "p3", "NOT_APPLICABLE")
    findings = {f["Resources"][0]["Id"]: f for f in member("securityhub").get_findings()["Findings"]}
    assert set(findings) == {"p1", "p2"}, "NOT_APPLICABLE is not sent"
    assert (findings["p1"]["Compliance"]["Status"], findings["p2"]["Compliance"]["Status"]) == ("FAILED", "PASSED")
    assert {(f["ProductName"], f["Title"], f["Severity"]["Label"]) for f in findings.values()} == {
        ("Config", RULE, "MEDIUM")}


def test_administrator_rules_apply_to_members_in_their_region_with_or_within_and_across_fields(account):
    admin, _ = account(ADMIN)
    admin("securityhub").enable_security_hub()
    admin("securityhub").create_members(AccountDetails=[{"AccountId": MEMBER}])
    admin("securityhub").create_automation_rule(**automation_rule("HIGH", [
        {"Comparison": "EQUALS", "Value": "pipesec-a"}, {"Comparison": "PREFIX", "Value": "pipesec-a-conformance-pack-"}]))
    for account_id, region in ((MEMBER, HOME), (OUTSIDER, HOME), (MEMBER, OTHER)):
        client, _ = account(account_id, region)
        client("securityhub").enable_security_hub()
        for rule_name in ("pipesec-a", "pipesec-a-conformance-pack-x1", "pipesec-a-b"):
            put(client, rule_name, "p", "NON_COMPLIANT")
    assert severities(account(MEMBER, HOME)[0]) == {
        ("pipesec-a", "p"): "HIGH", ("pipesec-a-conformance-pack-x1", "p"): "HIGH", ("pipesec-a-b", "p"): "MEDIUM"}
    assert set(severities(account(OUTSIDER, HOME)[0]).values()) == {"MEDIUM"}, "not a member"
    assert set(severities(account(MEMBER, OTHER)[0]).values()) == {"MEDIUM"}, "rules apply in their own region"


def test_automation_rules_are_checked_and_limited_to_100_per_region(account):
    admin, _ = account(ADMIN)
    securityhub = admin("securityhub")
    title = [{"Comparison": "EQUALS", "Value": "x"}]
    unknown = automation_rule("LOW", title)
    unknown["Criteria"]["ResourceType"] = [{"Comparison": "EQUALS", "Value": "AwsCodeBuildProject"}]
    assert error_code(lambda: securityhub.create_automation_rule(**unknown)) == "InvalidInputException"
    assert error_code(lambda: securityhub.create_automation_rule(
        **automation_rule("LOW", title, RuleOrder=1001))) == "InvalidInputException"
    for index in range(100):
        securityhub.create_automation_rule(**automation_rule("LOW", title, RuleName=f"r{index}"))
    assert error_code(lambda: securityhub.create_automation_rule(**automation_rule("LOW", title))) == (
        "LimitExceededException")
    assert len(securityhub.list_automation_rules()["AutomationRulesMetadata"]) == 100


def test_imported_findings_reach_the_administrators_aggregation_region(account):
    admin_home, _ = account(ADMIN, HOME)
    admin_other, _ = account(ADMIN, OTHER)
    for client in (admin_home, admin_other):
        client("securityhub").create_members(AccountDetails=[{"AccountId": MEMBER}])
    admin_home("securityhub").create_finding_aggregator(RegionLinkingMode="ALL_REGIONS")
    sqs = admin_home("sqs")
    queue = sqs.create_queue(QueueName="imported")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = admin_home("events")
    events.put_rule(Name="imported", EventPattern=json.dumps({
        "source": ["aws.securityhub"], "detail-type": ["Security Hub Findings - Imported"],
        "detail": {"findings": {"Title": [{"prefix": "pipesec-"}], "Compliance": {"Status": ["FAILED"]}}}}))
    events.put_targets(Rule="imported", Targets=[{"Id": "q", "Arn": queue_arn}])
    member_other, _ = account(MEMBER, OTHER)
    member_other("securityhub").enable_security_hub()
    put(member_other, "pipesec-a", "p", "NON_COMPLIANT")
    put(member_other, "pipesec-a", "q", "COMPLIANT")
    put(member_other, "other-rule", "p", "NON_COMPLIANT")
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]]
    assert [(b["detail"]["findings"][0]["AwsAccountId"], b["detail"]["findings"][0]["Region"],
             b["detail"]["findings"][0]["Resources"][0]["Id"]) for b in bodies] == [(MEMBER, OTHER, "p")]


def test_workflow_is_new_on_creation_kept_by_updates_and_new_again_when_failing_again(account):
    member, _ = account(MEMBER)
    securityhub = member("securityhub")
    securityhub.enable_security_hub()

    def workflow() -> str:
        [finding] = securityhub.get_findings()["Findings"]
        return finding["Workflow"]["Status"]

    put(member, "pipesec-a", "p", "NON_COMPLIANT")
    assert workflow() == "NEW"
    [finding] = securityhub.get_findings()["Findings"]
    identifier = {"Id": finding["Id"], "ProductArn": finding["ProductArn"]}
    answer = securityhub.batch_update_findings(FindingIdentifiers=[identifier], Workflow={"Status": "NOTIFIED"})
    assert answer["ProcessedFindings"] == [identifier]
    put(member, "pipesec-a", "p", "NON_COMPLIANT")
    assert workflow() == "NOTIFIED", "a re-import of the same failure keeps it"
    put(member, "pipesec-a", "p", "COMPLIANT")
    put(member, "pipesec-a", "p", "NON_COMPLIANT")
    assert workflow() == "NEW", "failing again after passing"
    missing = securityhub.batch_update_findings(FindingIdentifiers=[{**identifier, "Id": "nope"}],
                                                Workflow={"Status": "NOTIFIED"})
    assert missing["UnprocessedFindings"][0]["ErrorCode"] == "FindingNotFound"
