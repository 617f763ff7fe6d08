"""`pipesec evaluate --source config|services|auto` end to end, against the emulator: an account
whose AWS Config does not record CodeBuild or CodePipeline is still evaluated (from the services)
and fails the CI gate; a run that cannot see a type it was asked about fails with exit code 2,
never "No findings"; the two sources agree result for result; and every operation the command
line calls is in the IAM policy document it ships (deploy/cli-read-only-policy.json).

What is emulated (tests/testbed/services/): Config's configuration recorder — every region starts
with `default` recording all supported types, and a test makes it stop recording types through
PutConfigurationRecorder (`seed.stop_recording`), after which Config's inventory has none of their
items; DescribeConfigurationRecorders / DescribeConfigurationRecorderStatus in AWS's shape; CodeBuild
report groups (ListReportGroups, BatchGetReportGroups); AccessDenied answers (fault injection). The
test bed counts every request per `<service>.<Action>`.
"""

import json
from pathlib import Path

import pytest

from conftest import REPO
from deploy import cli_policy
from testbed import actions, demo_account, seed
from testbed.config_items import CODEBUILD_PROJECT, CODEBUILD_REPORT_GROUP, CODEPIPELINE_PIPELINE
from test_cli_e2e import FORMATS, PRIVILEGED, SECRETS, demo_params, pipesec

ALL_TYPES = (CODEBUILD_PROJECT, CODEBUILD_REPORT_GROUP, CODEPIPELINE_PIPELINE)
POLICY = json.loads((REPO / cli_policy.PATH).read_text())
# The account: one privileged project with an AWS secret key in a PLAINTEXT variable.
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEYab"


def evaluate(emulator, *args, **kwargs):
    return pipesec("evaluate", "--endpoint-url", emulator.url, *args, **kwargs)


def results(run) -> dict:
    return {(r["rule"], r["resourceId"]): r for r in json.loads(run.stdout)["results"]}


@pytest.fixture
def blind_account(emulator, aws):
    """The issue's account: Config records neither CodeBuild nor CodePipeline; one privileged
    project holds a PLAINTEXT AWS_SECRET_ACCESS_KEY."""
    role = seed.create_role(aws("iam"))["Arn"]
    seed.create_project(aws("codebuild"), "image-builder", role, privileged=True,
                        variables=[("AWS_SECRET_ACCESS_KEY", SECRET_KEY, "PLAINTEXT")])
    recorder = seed.stop_recording(aws("config"), ALL_TYPES)
    assert recorder["recordingGroup"]["exclusionByResourceTypes"]["resourceTypes"] == list(ALL_TYPES)
    page = aws("config").select_resource_config(
        Expression=f"SELECT resourceId WHERE resourceType = '{CODEBUILD_PROJECT}'")
    assert page["Results"] == [], "Config's inventory holds nothing of the project"
    emulator.reset_calls()
    return emulator


def assert_no_secret(run):
    assert SECRET_KEY not in run.stdout and SECRET_KEY not in run.stderr, "the secret value leaked"


def test_an_account_config_does_not_record_is_evaluated_from_the_services_and_fails_the_gate(blind_account):
    emulator = blind_account
    for source in ("auto", "services"):
        run = evaluate(emulator, "--source", source, "--format", "json")
        assert run.returncode == 1, run.stderr
        found = results(run)
        assert found[(PRIVILEGED, "image-builder")]["compliance"] == "NON_COMPLIANT", source
        secret = found[(SECRETS, "image-builder")]
        assert secret["compliance"] == "NON_COMPLIANT" and "AWS_SECRET_ACCESS_KEY" in secret["annotation"], source
        assert json.loads(run.stdout)["summary"]["unseen"] == []
        assert_no_secret(run)
        # The gate fails on the score too.
        gated = evaluate(emulator, "--source", source, "--fail-on", "none", "--fail-under", "80")
        assert gated.returncode == 1, gated.stdout + gated.stderr
        assert "No findings" not in gated.stdout and "CRITICAL" in gated.stdout
        assert_no_secret(gated)

    # auto says which source it used for each type, and why.
    auto = evaluate(emulator, "--source", "auto", "--fail-on", "none")
    lines = auto.stderr.splitlines()
    for resource_type, reads in ((CODEBUILD_PROJECT, "CodeBuild (ListProjects, BatchGetProjects)"),
                                 (CODEBUILD_REPORT_GROUP, "CodeBuild (ListReportGroups, BatchGetReportGroups)"),
                                 (CODEPIPELINE_PIPELINE, "CodePipeline (ListPipelines, GetPipeline)")):
        assert f"pipesec: us-east-1: {resource_type} read from {reads}: AWS Config's configuration recorder " \
               f"`default` does not record it" in lines, auto.stderr
    assert auto.returncode == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_config_as_the_only_source_cannot_see_and_exits_2_in_every_format(blind_account, fmt, tmp_path):
    emulator = blind_account
    output = tmp_path / f"report.{fmt}"
    run = evaluate(emulator, "--source", "config", "--format", fmt, "--fail-on", "none", "--output", output,
                   "--account-id", "123456789012")
    assert run.returncode == 2, run.stdout + run.stderr
    [error] = run.stderr.strip().splitlines()
    assert error.startswith("pipesec: error: could not see everything it was asked to evaluate"), error
    assert f"{CODEBUILD_PROJECT} in us-east-1: AWS Config's configuration recorder `default` does not record it" in error
    assert "--source services or auto" in error
    report = output.read_text()
    assert "No findings" not in report and "No failing checks." not in report
    if fmt == "table":
        assert "0 checks of 0 resources" in report and "NOT SEEN" in report and "Nothing was evaluated" in report
    if fmt == "json":
        unseen = json.loads(report)["summary"]["unseen"]
        assert {u["resourceType"] for u in unseen} == set(ALL_TYPES) and unseen[0]["region"] == "us-east-1"
    if fmt == "html":
        assert "Not seen" in report


def test_no_findings_only_when_something_was_looked_at(emulator, aws):
    # An account with nothing in it, seen whole: nothing to find, and the table says so.
    empty = evaluate(emulator, "--source", "services")
    assert empty.returncode == 0, empty.stderr
    assert "Nothing was evaluated" in empty.stdout and "No findings" not in empty.stdout
    # One clean project: now "No findings" is true.
    role = seed.create_role(aws("iam"))["Arn"]
    seed.create_project(aws("codebuild"), "clean", role, **demo_account.good_project("clean"))
    clean = evaluate(emulator, "--source", "services", "--rule", "codebuild-project-privileged-mode-disabled")
    assert clean.returncode == 0 and "No findings." in clean.stdout, clean.stdout + clean.stderr


def test_auto_reads_config_for_the_types_it_records_and_the_services_for_the_others(emulator, aws):
    demo_account.seed(aws)
    seed.stop_recording(aws("config"), [CODEBUILD_PROJECT])
    emulator.reset_calls()
    run = evaluate(emulator, *demo_params(), "--format", "json", "--fail-on", "none")
    assert run.returncode == 0, run.stderr
    assert f"{CODEBUILD_PROJECT} read from CodeBuild (ListProjects, BatchGetProjects)" in run.stderr
    assert f"{CODEPIPELINE_PIPELINE} read from AWS Config's inventory: AWS Config's configuration recorder " \
           "`default` records it" in run.stderr
    calls = emulator.calls()
    assert calls["config.SelectResourceConfig"] == 2, calls  # report groups and pipelines
    assert calls["codebuild.ListProjects"] == 1 and "codepipeline.ListPipelines" not in calls, calls
    found = results(run)
    # Projects by name (from CodeBuild), pipelines by name (from Config): grouped as before.
    assert found[(SECRETS, "payments-api-build")]["compliance"] == "NON_COMPLIANT"
    pipelines = {p["pipeline"]: p for p in json.loads(run.stdout)["summary"]["pipelines"]}
    assert [m["resourceId"] for m in pipelines["payments"]["resources"]] == ["payments", "payments-api-build"]


def test_services_and_config_agree_result_for_result(emulator, aws):
    """On an account Config records whole, both sources give the same verdicts and annotations:
    the mapping of the services' answers is the shape Config records. Projects differ only in
    resourceId (Config's id, the services' name)."""
    demo_account.seed(aws)
    by_config = evaluate(emulator, *demo_params(), "--source", "config", "--format", "json", "--fail-on", "none")
    by_services = evaluate(emulator, *demo_params(), "--source", "services", "--format", "json", "--fail-on", "none")
    assert by_config.returncode == 0 and by_services.returncode == 0, by_config.stderr + by_services.stderr
    names = {}
    for resource_type in ALL_TYPES:
        page = aws("config").select_resource_config(
            Expression=f"SELECT resourceId, resourceName WHERE resourceType = '{resource_type}'")
        names.update({row["resourceId"]: row["resourceName"] for row in map(json.loads, page["Results"])})

    def verdicts(run, key):
        return {(r["rule"], r["resourceType"], key(r["resourceId"])): (r["compliance"], r["annotation"])
                for r in json.loads(run.stdout)["results"]}

    config_verdicts = verdicts(by_config, lambda resource_id: names.get(resource_id, resource_id))
    service_verdicts = verdicts(by_services, lambda resource_id: names.get(resource_id, resource_id))
    assert service_verdicts == config_verdicts
    summary = lambda run: {k: v for k, v in json.loads(run.stdout)["summary"].items() if k != "pipelines"}
    assert summary(by_services) == summary(by_config)


def test_access_denied_on_a_read_is_a_type_not_seen(emulator, aws):
    demo_account.seed(aws)
    emulator.set_faults({"codebuild.ListProjects": {"error": "denied", "times": 1}})
    run = evaluate(emulator, *demo_params(), "--source", "services", "--format", "json")
    assert emulator.faults_fired() == {"codebuild.ListProjects": 1}
    assert run.returncode == 2, run.stdout + run.stderr
    assert "access denied" in run.stderr and "codebuild:ListProjects" in run.stderr
    assert "deploy/cli-read-only-policy.json" in run.stderr
    document = json.loads(run.stdout)
    assert [u["resourceType"] for u in document["summary"]["unseen"]] == [CODEBUILD_PROJECT]
    assert any(r["resourceType"] == CODEPIPELINE_PIPELINE for r in document["results"]), "the rest is reported"

    # auto, when the recorder cannot be read: every type from the services, and it says why.
    emulator.set_faults({"config.DescribeConfigurationRecorders": {"error": "denied", "times": 1}})
    run = evaluate(emulator, *demo_params(), "--fail-on", "none")
    assert emulator.faults_fired() == {"config.DescribeConfigurationRecorders": 1}
    assert run.returncode == 0, run.stderr
    assert "read from CodeBuild (ListProjects, BatchGetProjects): what AWS Config records is unknown (access " \
           "denied" in run.stderr
    # config, when the recorder cannot be read: it cannot tell whether the inventory is whole.
    emulator.set_faults({"config.DescribeConfigurationRecorders": {"error": "denied", "times": 1}})
    run = evaluate(emulator, *demo_params(), "--source", "config", "--fail-on", "none")
    assert run.returncode == 2 and "what AWS Config records is unknown" in run.stderr, run.stderr


def policy_actions(*sids) -> set[str]:
    return cli_policy.actions(POLICY, *sids)


def called(emulator) -> set[str]:
    """The IAM actions of the operations the emulator answered (`testbed.actions`)."""
    return actions.iam_actions(emulator.calls())


def test_every_operation_each_source_calls_is_in_the_policy_document(emulator, aws):
    demo_account.seed(aws)
    seed.stop_recording(aws("config"), [CODEBUILD_PROJECT])  # auto then needs both sources
    runs = {}
    for source in ("config", "services", "auto"):
        emulator.reset_calls()
        run = evaluate(emulator, *demo_params(), "--source", source, "--fail-on", "none")
        assert run.returncode in (0, 2), run.stderr  # config cannot see the projects: exit 2
        runs[source] = called(emulator)
    rule_reads = policy_actions("RuleLiveReads")
    assert runs["config"] <= policy_actions("ConfigSource") | rule_reads, runs["config"]
    assert runs["services"] <= policy_actions("ServicesSource") | rule_reads, runs["services"]
    assert runs["auto"] <= policy_actions("ConfigSource", "ServicesSource") | rule_reads, runs["auto"]
    # And nothing more than a source calls: each source statement is exactly what it needs.
    assert policy_actions("ConfigSource") <= runs["config"]
    assert policy_actions("ServicesSource") <= runs["services"]
    assert not any(action.split(":")[1].startswith(("Put", "Delete", "Update", "Create", "Start", "Stop"))
                   for action in policy_actions()), "read-only"
