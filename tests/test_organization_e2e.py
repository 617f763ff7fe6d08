"""The organization path, end to end on the emulator: three member accounts in two regions, each
with the StackSet member templates' resources (rules.yaml's functions, member-pack.yaml's
conformance pack) deployed through the service APIs as organization.yaml's StackSets would, each
account's real rule binaries evaluating that account only; the Security Hub administrator with
securityhub-severity.yaml's automation rules in both regions and central-alerting.yaml in the
aggregation region; one alert read back through an SQS subscription of the topic.

Emulated (tests/testbed/services/securityhub.py, eventbridge.py): Config's Security Hub
integration, automation rules applied at import, the "Security Hub Findings - Imported" events of
members' findings on the administrator's bus (aggregation region included), and EventBridge's SNS
targets. StackSets themselves are not emulated: the templates they deploy are deployed per account
and region here; organization.yaml is checked by cfn-lint and tests/test_templates.py.
"""

import json
from pathlib import Path

from deploy import cfn
from testbed import events, seed
from testbed.results import compliance
from testbed.stack import deploy

REPO = Path(__file__).resolve().parent.parent
ADMIN = "111111111111"
HOME, OTHER = "us-east-1", "eu-west-1"
# Member account -> the region its CodeBuild project lives in: three accounts over two regions.
MEMBERS = {"222222222222": HOME, "333333333333": OTHER, "444444444444": HOME}
PRIVILEGED = "codebuild-project-privileged-mode-disabled"  # HIGH
CMK = "codebuild-project-cmk-encrypted"  # LOW


def template(path: str) -> dict:
    return cfn.load((REPO / path).read_text())


def deploy_member(client, account_id: str, region: str) -> dict[str, str]:
    """What the two StackSets create in one account and region; returns rule id -> Config rule name."""
    deploy(template("cloudformation/rules.yaml"), client,
                       {"CodeBucket": "pipesec-code", "RegionalCodeBucket": "true", "CreateConfigRules": "false"},
                       stack_name="StackSet-pipesec-functions", account=account_id, region=region)
    pack = deploy(template("cloudformation/member-pack.yaml"), client, stack_name="StackSet-pipesec-conformance-pack",
                  account=account_id, region=region)
    names = pack.resources["ConformancePack"].attributes["RuleNames"]
    rules = {r["ConfigRuleName"]: r for r in client("config").describe_config_rules()["ConfigRules"]}
    lambdas = client("lambda")
    for rule_name, pack_name in names.items():
        function_arn = lambdas.get_function(FunctionName=rule_name)["Configuration"]["FunctionArn"]
        assert function_arn.startswith(f"arn:aws:lambda:{region}:{account_id}:function:"), "its own account's function"
        assert rules[pack_name]["Source"]["SourceIdentifier"] == function_arn
        [statement] = json.loads(lambdas.get_policy(FunctionName=rule_name)["Policy"])["Statement"]
        assert statement["Condition"] == {"StringEquals": {"AWS:SourceAccount": account_id}}, "only its Config"
    return {name.removeprefix("pipesec-"): pack_name for name, pack_name in names.items()}


def test_three_accounts_two_regions_evaluate_themselves_and_alert_centrally(account, rule, catalog):
    admin = {region: account(ADMIN, region)[0] for region in (HOME, OTHER)}
    for region, client in admin.items():
        client("securityhub").enable_security_hub()
        client("securityhub").create_members(AccountDetails=[{"AccountId": member} for member in MEMBERS])
        deploy(template("cloudformation/securityhub-severity.yaml"), client, account=ADMIN, region=region)
    admin[HOME]("securityhub").create_finding_aggregator(RegionLinkingMode="ALL_REGIONS")
    alerting = deploy(template("cloudformation/central-alerting.yaml"), admin[HOME], {"MinimumSeverity": "HIGH"},
                      account=ADMIN, region=HOME)
    sqs = admin[HOME]("sqs")
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    admin[HOME]("sns").subscribe(TopicArn=alerting.outputs["AlertTopicArn"], Protocol="sqs", Endpoint=queue_arn,
                                 Attributes={"RawMessageDelivery": "true"})

    evaluated = {}
    for member, project_region in MEMBERS.items():
        for region in (HOME, OTHER):  # the StackSets reach every listed region
            client, _ = account(member, region)
            names = deploy_member(client, member, region)
            assert set(names) == {r.id for r in catalog.rules}
        client, env = account(member, project_region)
        client("securityhub").enable_security_hub()
        iam_role = seed.create_role(client("iam"))
        seed.create_project(client("codebuild"), f"builder-{member}", iam_role["Arn"], privileged=True)
        item = seed.recorded_item(client("config"), f"builder-{member}")
        assert item["awsAccountId"] == member
        names = {r["ConfigRuleName"].split("-conformance-pack-")[0].removeprefix("pipesec-"): r["ConfigRuleName"]
                 for r in client("config").describe_config_rules()["ConfigRules"]}
        for rule_id in (PRIVILEGED, CMK) if member == "222222222222" else (PRIVILEGED,):
            result = rule(rule_id, **env).invoke(events.change_event(item, names[rule_id]))
            assert result.ok, f"{result.error_type}: {result.error_message}"
        evaluated[member] = (client, item, names)

    for member, (client, item, names) in evaluated.items():
        # Each account holds the evaluation of its own project only.
        found = compliance(client("config"), names[PRIVILEGED])
        assert list(found) == [item["resourceId"]] and found[item["resourceId"]][0] == "NON_COMPLIANT", member
        findings = client("securityhub").get_findings()["Findings"]
        by_title = {f["Title"]: f for f in findings}
        privileged = by_title[names[PRIVILEGED]]
        assert (privileged["AwsAccountId"], privileged["Compliance"]["Status"]) == (member, "FAILED")
        assert privileged["Severity"]["Label"] == "HIGH", "the administrator's automation rule, not Config's MEDIUM"
        if member == "222222222222":
            assert by_title[names[CMK]]["Severity"]["Label"] == "LOW"

    def alerts() -> list[str]:
        messages = []
        while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            messages.extend(message["Body"] for message in batch)
            sqs.delete_message_batch(QueueUrl=queue, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
        return messages

    def alert(member: str) -> str:
        client, item, names = evaluated[member]
        return f"HIGH: {item['resourceId']} (account {member}, {MEMBERS[member]}) failed {names[PRIVILEGED]}"

    # One alert per HIGH failure, from both regions; the LOW failure is below MinimumSeverity.
    assert sorted(alerts()) == sorted(alert(member) for member in MEMBERS)

    # A team marks its finding NOTIFIED: Config's next evaluation re-imports it without an alert.
    quiet, noisy = "222222222222", "444444444444"
    for member in (quiet, noisy):
        client, item, names = evaluated[member]
        if member == quiet:
            [finding] = [f for f in client("securityhub").get_findings()["Findings"] if f["Title"] == names[PRIVILEGED]]
            client("securityhub").batch_update_findings(
                FindingIdentifiers=[{"Id": finding["Id"], "ProductArn": finding["ProductArn"]}],
                Workflow={"Status": "NOTIFIED"})
        env = account(member, MEMBERS[member])[1]
        result = rule(PRIVILEGED, **env).invoke(events.change_event(item, names[PRIVILEGED]))
        assert result.ok, f"{result.error_type}: {result.error_message}"
    assert alerts() == [alert(noisy)]
