"""The organization scorer end to end: an emulated organization (a management account holding the
aggregator, two member accounts, two regions) with pipelines, projects and the pipesec rules'
verdicts in each account; the real `pipesec-scorer` binary run through the Lambda Runtime API;
its scores read back from CloudWatch (ListMetrics, GetMetricData).

Emulated (tests/testbed/services/config_aggregator.py): SelectAggregateResourceConfig over the
organization aggregator, with the `AWS::Config::ResourceCompliance` rows Config would record from
the rules' evaluations; aggregation is immediate. The verdicts are put with PutEvaluations in each
account under the names Config gives the rules: `pipesec-<id>` (rules.yaml) in one account, a
conformance pack's `pipesec-<id>-conformance-pack-<random>` in the other.

The expected scores are computed here from the seeded verdicts with the documented formula (README
"Score"): per area, passed weight over evaluated weight; the areas weighted 25/30/30/15 over those
evaluated; one decimal. NOT_APPLICABLE counts for nothing; nothing evaluated means no score. And
the command line's own scores are the scorer's for the same verdicts: `pipesec evaluate
--aggregator` over the organization, its verdicts put into each account's Config, the scorer run.
"""

import datetime
import json
import re
import subprocess

import pytest

from conftest import BIN_DIR, REGION, REPO
from deploy import cfn
from test_cli_e2e import pipesec
from testbed import seed, stack
from testbed.organization import MANAGEMENT_ACCOUNT, account_client_factory, create_organization
from testbed.tokens import mint_result_token

AGGREGATOR = "pipesec-organization"
SCORER = "pipesec-scorer"
OTHER_REGION = "eu-west-1"
AREA_WEIGHTS = {"infrastructure": 25, "accessControl": 30, "pipelineIntegrity": 30, "monitoring": 15}
PACK_SUFFIX = "-conformance-pack-k3x9q2"


@pytest.fixture(scope="module")
def rules() -> dict:
    """Rule id -> {area, weight, resourceType}, from the catalog binary."""
    output = subprocess.run([str(BIN_DIR / "pipesec-catalog")], check=True, capture_output=True, text=True).stdout
    return {rule["id"]: rule for rule in json.loads(output)["rules"]}


def expected_score(verdicts: list[tuple[str, str]], rules: dict) -> float | None:
    """The documented score of (rule id, compliance type) verdicts."""
    totals: dict[str, list[int]] = {}
    for rule_id, compliance in verdicts:
        if compliance == "NOT_APPLICABLE":
            continue
        evaluated_good = totals.setdefault(rules[rule_id]["area"], [0, 0])
        evaluated_good[0] += rules[rule_id]["weight"]
        evaluated_good[1] += rules[rule_id]["weight"] if compliance == "COMPLIANT" else 0
    areas = {area: 100.0 * good / evaluated for area, (evaluated, good) in totals.items() if evaluated}
    if not areas:
        return None
    weighted = sum(score * AREA_WEIGHTS[area] for area, score in areas.items())
    return round(weighted / sum(AREA_WEIGHTS[area] for area in areas), 1)


def put_verdicts(config, rule_name: str, resource_type: str, resource_id: str, compliance: str) -> None:
    config.put_evaluations(
        ResultToken=mint_result_token(rule_name),
        Evaluations=[{"ComplianceResourceType": resource_type, "ComplianceResourceId": resource_id,
                      "ComplianceType": compliance, "OrderingTimestamp": datetime.datetime.now(datetime.UTC)}],
    )


def pipeline_with_project(client, name: str, project: str) -> str:
    """A pipeline whose build stage runs `project`; returns the project's Config resource id."""
    iam = client("iam")
    try:
        build_role = seed.create_role(iam)["Arn"]
        pipeline_role = seed.create_pipeline_role(iam)["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        build_role = iam.get_role(RoleName="codebuild-service-role")["Role"]["Arn"]
        pipeline_role = iam.get_role(RoleName="codepipeline-service-role")["Role"]["Arn"]
    seed.create_project(client("codebuild"), project, build_role)
    seed.create_pipeline(client("codepipeline"), name, pipeline_role, project_name=project)
    return seed.recorded_item(client("config"), project)["resourceId"]


def metric_values(cloudwatch, metric: str) -> dict[tuple, float]:
    """{dimension values (sorted by name): latest value} of every `metric` in the pipesec namespace."""
    listed = cloudwatch.list_metrics(Namespace="pipesec", MetricName=metric)["Metrics"]
    queries = [{"Id": f"m{index}", "MetricStat": {"Metric": metric_, "Period": 60, "Stat": "Minimum"}}
               for index, metric_ in enumerate(listed)]
    if not queries:
        return {}
    now = datetime.datetime.now(datetime.UTC)
    answer = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=now - datetime.timedelta(hours=1),
                                        EndTime=now + datetime.timedelta(minutes=5))
    values = {}
    for query, result in zip(queries, sorted(answer["MetricDataResults"], key=lambda r: int(r["Id"][1:]))):
        dimensions = tuple(d["Value"] for d in sorted(query["MetricStat"]["Metric"]["Dimensions"],
                                                       key=lambda d: d["Name"]))
        assert result["Values"], f"{metric} {dimensions}: no datapoint"
        values[dimensions] = result["Values"][0]
    return values


def test_the_scorer_publishes_every_pipeline_and_account_score_and_no_score_for_what_was_not_evaluated(
        aws, emulator, rule, rules):
    members = create_organization(aws("organizations"), members=2)
    first, second = members
    clients = {account: account_client_factory(aws("sts"), emulator.url, REGION, account) for account in members}

    # The first member: rules.yaml's rule names.
    project = pipeline_with_project(clients[first], "release", "build")
    first_verdicts = {
        ("AWS::CodePipeline::Pipeline", "release"): [
            ("codepipeline-approval-before-deploy", "COMPLIANT"),
            ("codepipeline-source-authenticated", "NON_COMPLIANT"),
            ("codepipeline-security-scan-stage", "NOT_APPLICABLE"),
        ],
        ("AWS::CodeBuild::Project", project): [
            ("codebuild-project-privileged-mode-disabled", "NON_COMPLIANT"),
            ("codebuild-project-logging-enabled", "COMPLIANT"),
            ("codebuild-project-buildspec-protected", "COMPLIANT"),
        ],
    }
    for (resource_type, resource_id), verdicts in first_verdicts.items():
        for rule_id, compliance in verdicts:
            put_verdicts(clients[first]("config"), f"pipesec-{rule_id}", resource_type, resource_id, compliance)

    # The second member: a conformance pack's rule names, a pipeline of the same name, a second region.
    project_2 = pipeline_with_project(clients[second], "release", "build")
    second_verdicts = [("codepipeline-approval-before-deploy", "NON_COMPLIANT"),
                       ("codepipeline-no-plaintext-secrets", "COMPLIANT")]
    for rule_id, compliance in second_verdicts:
        put_verdicts(clients[second]("config"), f"pipesec-{rule_id}{PACK_SUFFIX}", "AWS::CodePipeline::Pipeline",
                     "release", compliance)
    put_verdicts(clients[second]("config"), f"pipesec-codebuild-project-vpc-attached{PACK_SUFFIX}",
                 "AWS::CodeBuild::Project", project_2, "COMPLIANT")
    west = lambda service: clients[second](service, OTHER_REGION)  # noqa: E731
    pipeline_with_project(west, "deploy-eu", "build-eu")
    put_verdicts(west("config"), f"pipesec-codepipeline-approval-before-deploy{PACK_SUFFIX}",
                 "AWS::CodePipeline::Pipeline", "deploy-eu", "COMPLIANT")
    # Someone else's rule on the same pipeline: not pipesec's, not scored.
    put_verdicts(west("config"), "approval-check-conformance-pack-zz1", "AWS::CodePipeline::Pipeline",
                 "deploy-eu", "NON_COMPLIANT")

    # The management account: a pipeline no pipesec rule evaluated.
    pipeline_with_project(aws, "legacy", "legacy-build")

    # The management account stands for the Config delegated administrator: the template deployed there.
    deployed = stack.deploy(cfn.load((REPO / "cloudformation" / "organization-score.yaml").read_text()), aws,
                            {"CodeBucket": "b"}, stack_name="pipesec-organization-score")
    assert deployed.outputs["AggregatorName"] == AGGREGATOR
    function = aws("lambda").get_function(FunctionName=SCORER)["Configuration"]

    scorer = rule(SCORER, **function["Environment"]["Variables"])
    result = scorer.invoke({"version": "0", "source": "aws.events", "detail-type": "Scheduled Event",
                            "account": MANAGEMENT_ACCOUNT, "region": REGION, "detail": {}})
    assert result.ok, f"{result.error_type}: {result.error_message}"
    assert result.payload["notEvaluated"] == [{
        "account": MANAGEMENT_ACCOUNT, "region": REGION, "pipeline": "legacy",
        "reason": result.payload["notEvaluated"][0]["reason"]}]
    assert "no verdict of a pipesec rule" in result.payload["notEvaluated"][0]["reason"]
    assert any("pipeline not scored" in line and "legacy" in line for line in scorer.logs)

    first_all = [verdict for verdicts in first_verdicts.values() for verdict in verdicts]
    west_verdicts = [("codepipeline-approval-before-deploy", "COMPLIANT")]
    second_all = [*second_verdicts, ("codebuild-project-vpc-attached", "COMPLIANT"), *west_verdicts]
    expected_pipelines = {
        (first, "release", REGION): expected_score(first_all, rules),
        (second, "release", REGION): expected_score([*second_verdicts, ("codebuild-project-vpc-attached", "COMPLIANT")],
                                                    rules),
        (second, "deploy-eu", OTHER_REGION): expected_score(west_verdicts, rules),
    }
    expected_accounts = {(first,): expected_score(first_all, rules), (second,): expected_score(second_all, rules)}
    # The verdicts were chosen so that every score differs from 100 and from the others.
    assert len({*expected_pipelines.values(), *expected_accounts.values()} - {100.0}) >= 3

    cloudwatch = aws("cloudwatch")
    assert metric_values(cloudwatch, "PipelineScore") == pytest.approx(expected_pipelines)
    assert metric_values(cloudwatch, "AccountScore") == pytest.approx(expected_accounts)
    assert metric_values(cloudwatch, "PipelinesNotEvaluated") == {
        (MANAGEMENT_ACCOUNT,): 1.0, (first,): 0.0, (second,): 0.0}
    assert (result.payload["accountsScored"], result.payload["pipelinesScored"]) == (2, 3)
    # The deployed dashboard charts exactly the metrics the scorer publishes.
    body = json.loads(cloudwatch.get_dashboard(DashboardName="pipesec-organization")["DashboardBody"])
    charted = {name for widget in body["widgets"] for line in widget["properties"]["metrics"] for query in line
               for name in re.findall(r'\{pipesec,[A-Za-z,]+\} MetricName="(\w+)"', query["expression"])}
    published = {metric["MetricName"] for metric in cloudwatch.list_metrics(Namespace="pipesec")["Metrics"]}
    assert charted == published == {"PipelineScore", "AccountScore", "PipelinesNotEvaluated"}


def test_without_the_compliance_type_recorded_nothing_is_scored(aws, emulator, rule):
    [member] = create_organization(aws("organizations"), members=1)
    client = account_client_factory(aws("sts"), emulator.url, REGION, member)
    pipeline_with_project(client, "release", "build")
    put_verdicts(client("config"), "pipesec-codepipeline-approval-before-deploy", "AWS::CodePipeline::Pipeline",
                 "release", "COMPLIANT")
    # The member's recorder leaves out AWS::Config::ResourceCompliance: its compliance is never aggregated.
    seed.stop_recording(client("config"), ["AWS::Config::ResourceCompliance"])
    aws("config").put_configuration_aggregator(
        ConfigurationAggregatorName=AGGREGATOR,
        OrganizationAggregationSource={"RoleArn": f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/a", "AllAwsRegions": True},
    )
    result = rule(SCORER, PIPESEC_AGGREGATOR_NAME=AGGREGATOR).invoke({"source": "aws.events", "detail": {}})
    assert result.ok, result.error_message
    assert [(entry["account"], entry["pipeline"]) for entry in result.payload["notEvaluated"]] == [(member, "release")]
    cloudwatch = aws("cloudwatch")
    assert metric_values(cloudwatch, "PipelineScore") == {}
    assert metric_values(cloudwatch, "AccountScore") == {}
    assert metric_values(cloudwatch, "PipelinesNotEvaluated") == {(member,): 1.0}


def test_an_unknown_aggregator_fails_the_run_and_publishes_nothing(aws, rule):
    result = rule(SCORER, PIPESEC_AGGREGATOR_NAME="no-such-aggregator").invoke({"source": "aws.events"})
    assert not result.ok
    assert "NoSuchConfigurationAggregatorException" in result.error_message, result.error_message
    assert aws("cloudwatch").list_metrics(Namespace="pipesec")["Metrics"] == []


def test_the_scorer_and_the_command_line_give_the_same_scores_for_the_same_verdicts(aws, emulator, rule):
    """The command line evaluates the organization (`--aggregator --assume-role`); its verdicts are
    put into each account's Config as the deployed rules would; the scorer's pipeline scores must
    then be the command line's own."""
    members = create_organization(aws("organizations"), members=2)
    organization_id = aws("organizations").describe_organization()["Organization"]["Id"]
    read_role = cfn.load((REPO / "cloudformation" / "cli-read-role.yaml").read_text())
    clients = {}
    for index, account in enumerate(members):
        clients[account] = client = account_client_factory(aws("sts"), emulator.url, REGION, account)
        role = seed.create_role(client("iam"))["Arn"]
        pipeline_role = seed.create_pipeline_role(client("iam"))["Arn"]
        seed.create_project(client("codebuild"), "build", role, privileged=index == 0)
        seed.create_project(client("codebuild"), "images", role, privileged=True)
        seed.create_pipeline(client("codepipeline"), "release", pipeline_role, project_name="build")
        stack.deploy(read_role, client, {"TrustedRoleArn": f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/pipesec-cli",
                                         "OrganizationId": organization_id},
                     stack_name="pipesec-cli-read", account=account)
    aws("config").put_configuration_aggregator(
        ConfigurationAggregatorName=AGGREGATOR,
        OrganizationAggregationSource={"RoleArn": f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/a", "AllAwsRegions": True},
    )
    run = pipesec("evaluate", "--endpoint-url", emulator.url, "--aggregator", AGGREGATOR,
                  "--assume-role", "pipesec-cli-read", "--format", "json", "--fail-on", "none")
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    for result in document["results"]:
        put_verdicts(clients[result["accountId"]]("config"), f"pipesec-{result['rule']}", result["resourceType"],
                     result["resourceId"], result["compliance"])
    cli_scores = {(p["accountId"], p["pipeline"], p["region"]): p["score"] for p in document["summary"]["pipelines"]}
    assert len(cli_scores) == 2 and None not in cli_scores.values(), cli_scores
    assert len(set(cli_scores.values())) == 2, "the two accounts' pipelines differ (a privileged project)"

    result = rule(SCORER, PIPESEC_AGGREGATOR_NAME=AGGREGATOR).invoke({"source": "aws.events", "detail": {}})
    assert result.ok, result.error_message
    assert metric_values(aws("cloudwatch"), "PipelineScore") == pytest.approx(cli_scores)
