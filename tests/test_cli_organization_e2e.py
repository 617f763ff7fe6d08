"""`pipesec evaluate --aggregator` end to end: an emulated organization (the management account
holding the aggregator, two member accounts) whose members each have a project named `build`, one
public, one private; the real binary reads the inventory through the aggregator and, with
`--assume-role`, makes the rules' live reads through the read role of cli-read-role.yaml in each
account (deployed there from the generated template); without it, those rules are NOT_APPLICABLE
and name the read. Every format carries the account.

Emulated (tests/testbed/services/config_aggregator.py): SelectAggregateResourceConfig over the
organization's accounts. moto's STS gives credentials of the account a role ARN names (it does not
evaluate trust policies), so the test checks the right account was read by its answers: the public
project is found only in the account that has it.
"""

import json

import pytest

from conftest import REGION, REPO
from deploy import cfn, cli_policy, cli_read_role
from test_cli_e2e import pipesec
from testbed import seed, stack
from testbed.organization import MANAGEMENT_ACCOUNT, account_client_factory, create_organization

AGGREGATOR = "pipesec-organization"
NOT_PUBLIC = "codebuild-project-not-public"  # needs codebuild:BatchGetProjects, a live read
PRIVILEGED = "codebuild-project-privileged-mode-disabled"  # decided on the item alone
POLICY = json.loads((REPO / cli_policy.PATH).read_text())
CLI_ROLE = f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/pipesec-cli"


@pytest.fixture
def organization(aws, emulator):
    """{"public": account, "private": account}: members with a project `build` each."""
    public, private = create_organization(aws("organizations"), members=2)
    organization_id = aws("organizations").describe_organization()["Organization"]["Id"]
    template = cfn.load((REPO / "cloudformation" / "cli-read-role.yaml").read_text())
    for account, visibility in ((public, "PUBLIC_READ"), (private, "PRIVATE")):
        client = account_client_factory(aws("sts"), emulator.url, REGION, account)
        role = seed.create_role(client("iam"))["Arn"]
        seed.create_project(client("codebuild"), "build", role, privileged=(account == public))
        seed.set_project_visibility(client("codebuild"), "build", visibility, resource_access_role=role)
        stack.deploy(template, client, {"TrustedRoleArn": CLI_ROLE, "OrganizationId": organization_id},
                     stack_name="pipesec-cli-read", account=account)
    aws("config").put_configuration_aggregator(
        ConfigurationAggregatorName=AGGREGATOR,
        OrganizationAggregationSource={"RoleArn": f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/a", "AllAwsRegions": True},
    )
    return {"public": public, "private": private}


def evaluate(emulator, *args):
    run = pipesec("evaluate", "--endpoint-url", emulator.url, "--aggregator", AGGREGATOR,
                  "--rule", NOT_PUBLIC, "--rule", PRIVILEGED, "--fail-on", "none", *args)
    assert run.returncode == 0, run.stderr
    return run


def results(run) -> dict[tuple[str, str], dict]:
    """(rule, account) -> result of the JSON output."""
    return {(result["rule"], result["accountId"]): result for result in json.loads(run.stdout)["results"]}


def test_live_reads_assume_the_read_role_in_each_account(emulator, organization):
    emulator.reset_calls()
    run = evaluate(emulator, "--assume-role", cli_read_role.ROLE_NAME, "--format", "json")
    found = results(run)
    public, private = organization["public"], organization["private"]
    assert found[(NOT_PUBLIC, public)]["compliance"] == "NON_COMPLIANT", found[(NOT_PUBLIC, public)]
    assert found[(NOT_PUBLIC, private)]["compliance"] == "COMPLIANT", found[(NOT_PUBLIC, private)]
    assert found[(PRIVILEGED, public)]["compliance"] == "NON_COMPLIANT"
    assert found[(PRIVILEGED, private)]["compliance"] == "COMPLIANT"
    assert {result["region"] for result in found.values()} == {REGION}
    assert len(found) == 4, "one result per rule and account: the same project name in two accounts stays two"
    calls = emulator.calls()
    assert calls["config.SelectAggregateResourceConfig"] >= 2, calls  # projects and pipelines, one query each
    assert calls["sts.AssumeRole"] == 2, calls  # once per account
    # Every call is in the command line's policy (its identity) or the read role's (in each account).
    made = {operation.replace(".", ":", 1) for operation in calls}
    allowed = cli_policy.actions(POLICY, "AggregatorSource", "AssumeTheReadRoleInTheOrganization", "RuleLiveReads")
    assert made <= allowed, made - allowed


def test_without_assume_role_live_reads_are_not_applicable_and_named(emulator, organization):
    emulator.reset_calls()
    found = results(evaluate(emulator, "--format", "json"))
    for account in organization.values():
        result = found[(NOT_PUBLIC, account)]
        assert result["compliance"] == "NOT_APPLICABLE", result
        assert "codebuild:BatchGetProjects" in result["annotation"] and account in result["annotation"], result
        assert "--assume-role" in result["annotation"], result
    # The rule that needs no live read still decides.
    assert found[(PRIVILEGED, organization["public"])]["compliance"] == "NON_COMPLIANT"
    calls = emulator.calls()
    assert "sts.AssumeRole" not in calls and "codebuild.BatchGetProjects" not in calls, calls


def test_every_format_carries_the_account(emulator, organization):
    public = organization["public"]
    table = evaluate(emulator, "--assume-role", cli_read_role.ROLE_NAME).stdout
    assert f"{public} {REGION}" in table, table
    sarif = json.loads(evaluate(emulator, "--assume-role", cli_read_role.ROLE_NAME, "--format", "sarif").stdout)
    uris = {location["physicalLocation"]["artifactLocation"]["uri"]
            for result in sarif["runs"][0]["results"] for location in result["locations"]}
    assert any(public in uri for uri in uris), uris
    asff = json.loads(evaluate(emulator, "--assume-role", cli_read_role.ROLE_NAME, "--format", "asff").stdout)
    assert {finding["AwsAccountId"] for finding in asff["Findings"]} == set(organization.values())
    failed = {finding["AwsAccountId"] for finding in asff["Findings"] if finding["Compliance"]["Status"] == "FAILED"}
    assert failed == {public}, "only the public account's project fails"
    html = evaluate(emulator, "--assume-role", cli_read_role.ROLE_NAME, "--format", "html").stdout
    assert f"{public} {REGION}" in html


def test_an_unknown_aggregator_is_an_error(emulator, organization):
    run = pipesec("evaluate", "--endpoint-url", emulator.url, "--aggregator", "nope")
    assert run.returncode == 2 and "NoSuchConfigurationAggregatorException" in run.stderr, run.stderr


def test_assume_role_needs_an_aggregator():
    run = pipesec("evaluate", "--assume-role", "x")
    assert run.returncode == 2 and "--aggregator" in run.stderr, run.stderr


@pytest.mark.parametrize(("fault", "said"), [
    ("sts.AssumeRole", "cannot assume `arn:aws:iam::"),
    ("codebuild.BatchGetProjects", "reads as `arn:aws:iam::"),
])
def test_an_account_whose_role_fails_is_not_applicable_and_the_others_are_read(emulator, organization, fault, said):
    emulator.set_faults({fault: {"error": "denied", "times": 1}})
    run = evaluate(emulator, "--assume-role", cli_read_role.ROLE_NAME, "--format", "json")
    verdicts = {account: results(run)[(NOT_PUBLIC, account)] for account in organization.values()}
    failed = [account for account, result in verdicts.items() if result["compliance"] == "NOT_APPLICABLE"]
    assert len(failed) == 1, verdicts
    [account] = failed
    annotation = verdicts[account]["annotation"]
    assert "codebuild:BatchGetProjects" in annotation and said in annotation and account in annotation, annotation
    assert f"pipesec: warning: {account} {REGION}: " in run.stderr, run.stderr
    [other] = set(organization.values()) - {account}
    expected = "NON_COMPLIANT" if other == organization["public"] else "COMPLIANT"
    assert verdicts[other]["compliance"] == expected, verdicts
    # The rule that needs no live read decides in both.
    assert results(run)[(PRIVILEGED, organization["public"])]["compliance"] == "NON_COMPLIANT"
