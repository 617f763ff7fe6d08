"""The organization path, end to end on the emulator: organization.yaml deployed in the management
account of an emulated organization, its two service-managed StackSets deploying rules.yaml and
member-pack.yaml (read from S3, as their TemplateURL says) into the three member accounts of the
target OU, in two regions, and into no other account; each account's real rule binaries evaluating
that account only; the Security Hub administrator with securityhub-severity.yaml's automation rules
in both regions and central-alerting.yaml in the aggregation region; the alerts read back through
an SQS subscription of the topic.

Emulated (tests/testbed/): StackSets (stack.py: targets resolved through Organizations, the
management account skipped, capabilities and DependsOn checked; no operations, no later joins),
Config's Security Hub integration, automation rules applied at import, the "Security Hub Findings -
Imported" events of members' findings on the administrator's bus (aggregation region included),
and EventBridge's SNS targets.
"""

import json
from pathlib import Path

from deploy import cfn
from testbed import events, seed
from testbed.results import compliance
from testbed.stack import deploy

REPO = Path(__file__).resolve().parent.parent
MANAGEMENT = "100000000000"
ADMIN = "111111111111"  # the Security Hub administrator (a delegated administrator in AWS)
HOME, OTHER = "us-east-1", "eu-west-1"
PRIVILEGED = "codebuild-project-privileged-mode-disabled"  # HIGH
CMK = "codebuild-project-cmk-encrypted"  # LOW


def template(path: str) -> dict:
    return cfn.load((REPO / path).read_text())


def check_member(client, account_id: str, region: str) -> dict[str, str]:
    """What the two StackSets created in one account and region; returns rule id -> Config rule name."""
    pages = client("config").get_paginator("describe_config_rules").paginate()  # Config answers 25 a page
    rules = {r["ConfigRuleName"]: r for page in pages for r in page["ConfigRules"]}
    names = {name.split("-conformance-pack-")[0].removeprefix("pipesec-"): name for name in rules}
    lambdas = client("lambda")
    for rule_id, pack_name in names.items():
        function_arn = lambdas.get_function(FunctionName=f"pipesec-{rule_id}")["Configuration"]["FunctionArn"]
        assert function_arn.startswith(f"arn:aws:lambda:{region}:{account_id}:function:"), "its own account's function"
        assert rules[pack_name]["Source"]["SourceIdentifier"] == function_arn
        [statement] = json.loads(lambdas.get_policy(FunctionName=f"pipesec-{rule_id}")["Policy"])["Statement"]
        assert statement["Condition"] == {"StringEquals": {"AWS:SourceAccount": account_id}}, "only its Config"
    return names


def organization(account) -> tuple[dict[str, str], str, str]:
    """An organization: MANAGEMENT, an OU `workloads` with three member accounts, and one account
    outside it. Returns ({member: the region of its project}, the OU id, the outside account)."""
    organizations = account(MANAGEMENT, HOME)[0]("organizations")
    organizations.create_organization(FeatureSet="ALL")
    root = organizations.list_roots()["Roots"][0]["Id"]
    unit = organizations.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    created = []
    for index in range(4):
        status = organizations.create_account(AccountName=f"team-{index}", Email=f"team-{index}@example.com")
        created.append(status["CreateAccountStatus"]["AccountId"])
    for member in created[:3]:
        organizations.move_account(AccountId=member, SourceParentId=root, DestinationParentId=unit)
    # Three accounts over two regions.
    return dict(zip(created[:3], (HOME, OTHER, HOME))), unit, created[3]


def deploy_organization(account, unit: str) -> dict:
    management = account(MANAGEMENT, HOME)[0]
    s3 = management("s3")
    s3.create_bucket(Bucket="pipesec-templates")
    for name in ("rules.yaml", "member-pack.yaml"):
        s3.put_object(Bucket="pipesec-templates", Key=f"pipesec/v1/{name}",
                      Body=(REPO / "cloudformation" / name).read_bytes())
    url = "https://pipesec-templates.s3.amazonaws.com/pipesec/v1/"
    stack = deploy(template("cloudformation/organization.yaml"), management, {
        "OrganizationalUnitIds": unit, "Regions": f"{HOME},{OTHER}", "CodeBucket": "pipesec-code",
        "FunctionsTemplateUrl": url + "rules.yaml", "PackTemplateUrl": url + "member-pack.yaml",
        "CodebuildProjectPrivilegedModeDisabledExemptedProjects": "docker-builder",
    }, stack_name="pipesec-organization", account=MANAGEMENT, region=HOME,
        open_account=lambda account_id, region: account(account_id, region)[0])
    return {name: stack.resources[name].attributes["Instances"] for name in ("FunctionsStackSet", "PackStackSet")}


def test_three_accounts_two_regions_evaluate_themselves_and_alert_centrally(account, rule, catalog):
    members, unit, outsider = organization(account)
    instances = deploy_organization(account, unit)
    expected = {(member, region) for member in members for region in (HOME, OTHER)}
    assert set(instances["FunctionsStackSet"]) == set(instances["PackStackSet"]) == expected, "target OU only"
    assert account(outsider, HOME)[0]("lambda").list_functions()["Functions"] == []
    assert account(MANAGEMENT, HOME)[0]("lambda").list_functions()["Functions"] == [], "management account skipped"
    for member, region in expected:
        client = account(member, region)[0]
        names = check_member(client, member, region)
        assert set(names) == {r.id for r in catalog.rules}
        [privileged] = client("config").describe_config_rules(ConfigRuleNames=[names[PRIVILEGED]])["ConfigRules"]
        assert json.loads(privileged["InputParameters"]) == {"exemptedProjects": "docker-builder"}, "passed through"

    admin = {region: account(ADMIN, region)[0] for region in (HOME, OTHER)}
    for region, client in admin.items():
        client("securityhub").enable_security_hub()
        client("securityhub").create_members(AccountDetails=[{"AccountId": member} for member in members])
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
    first = next(iter(members))
    for member, project_region in members.items():
        client, env = account(member, project_region)
        client("securityhub").enable_security_hub()
        iam_role = seed.create_role(client("iam"))
        seed.create_project(client("codebuild"), f"builder-{member}", iam_role["Arn"], privileged=True)
        item = seed.recorded_item(client("config"), f"builder-{member}")
        assert item["awsAccountId"] == member
        names = check_member(client, member, project_region)
        for rule_id in (PRIVILEGED, CMK) if member == first else (PRIVILEGED,):
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
        if member == first:
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
        return f"HIGH: {item['resourceId']} (account {member}, {members[member]}) failed {names[PRIVILEGED]}"

    # One alert per HIGH failure, from both regions; the LOW failure is below MinimumSeverity.
    assert sorted(alerts()) == sorted(alert(member) for member in members)

    # A team marks its finding NOTIFIED: Config's next evaluation re-imports it without an alert.
    quiet, noisy = first, list(members)[2]
    for member in (quiet, noisy):
        client, item, names = evaluated[member]
        if member == quiet:
            [finding] = [f for f in client("securityhub").get_findings()["Findings"] if f["Title"] == names[PRIVILEGED]]
            client("securityhub").batch_update_findings(
                FindingIdentifiers=[{"Id": finding["Id"], "ProductArn": finding["ProductArn"]}],
                Workflow={"Status": "NOTIFIED"})
        env = account(member, members[member])[1]
        result = rule(PRIVILEGED, **env).invoke(events.change_event(item, names[PRIVILEGED]))
        assert result.ok, f"{result.error_type}: {result.error_message}"
    assert alerts() == [alert(noisy)]
