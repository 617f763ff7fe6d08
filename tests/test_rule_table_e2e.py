"""Every rule end to end, from one table: a compliant and a non-compliant resource
seeded in the emulator, evaluated by the real binary on a change notification, an oversized one
and a periodic sweep, with every verdict read back through Config's API. The table must cover the
catalog the `pipesec-catalog` binary exports."""

import functools
import json
from dataclasses import dataclass, field
from typing import Callable

import pytest

from conftest import REPO
from deploy import cfn
from deploy.catalog import RULE_ROLE_PATH
from testbed import events, seed
from testbed.actions import iam_actions
from testbed.config_items import CODEBUILD_PROJECT, CODEPIPELINE_PIPELINE
from testbed.results import compliance

REPORT_GROUP = "AWS::CodeBuild::ReportGroup"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0f5c4a7e-2b9d-4c61-8e3a-7d1b9f2c6a40"
TOPIC = "arn:aws:sns:us-east-1:123456789012:pipeline-alerts"
INLINE_BUILDSPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - make test\n"


@dataclass
class Case:
    rule: str
    # Each creates the resource named by its argument through the seeding clients.
    good: Callable
    bad: Callable
    reason: str  # what the non-compliant annotation must say
    params: dict = field(default_factory=dict)
    resource_type: str = CODEBUILD_PROJECT
    live_reads: int = 0  # BatchGetProjects calls a sweep over the two resources makes


def project(role_policy=None, managed_policy=None, **overrides):
    """A project; `role_policy`, an inline policy document for a service role of its own, and
    `managed_policy`, a customer managed one attached to that role."""

    def create(clients, name):
        role_arn = clients["role_arn"]
        if role_policy or managed_policy:
            iam = clients["iam"]
            role_arn = seed.create_role(iam, f"{name}-role")["Arn"]
            if role_policy:
                iam.put_role_policy(RoleName=f"{name}-role", PolicyName="build", PolicyDocument=json.dumps(role_policy))
            if managed_policy:
                arn = iam.create_policy(PolicyName=f"{name}-managed", PolicyDocument=json.dumps(managed_policy))
                iam.attach_role_policy(RoleName=f"{name}-role", PolicyArn=arn["Policy"]["Arn"])
        seed.create_project(clients["codebuild"], name, role_arn, **overrides)

    return create


def project_then(action, **overrides):
    """A project, then `action(codebuild, name)` on it (webhooks, visibility)."""

    def create(clients, name):
        seed.create_project(clients["codebuild"], name, clients["role_arn"], **overrides)
        action(clients["codebuild"], name)

    return create


def report_group(export_config):
    def create(clients, name):
        seed.create_report_group(clients["codebuild"], name, export_config)

    return create


def pipeline(stages=None, build_privileged=False, role_policy=None, managed_policy=None, **options):
    """A pipeline named `name`, building in its own project `<name>-build`; `stages(name)` gives
    its stages (default: source, build, deploy); `role_policy`, an inline policy document for a
    pipeline role of its own, and `managed_policy`, a customer managed one attached to it."""

    def create(clients, name):
        seed.create_project(clients["codebuild"], f"{name}-build", clients["role_arn"], privileged=build_privileged)
        declared = stages(name) if stages else None
        role_arn = clients["pipeline_role_arn"]
        if role_policy:
            role_arn = seed.create_pipeline_role(clients["iam"], f"{name}-pipeline-role")["Arn"]
            clients["iam"].put_role_policy(RoleName=f"{name}-pipeline-role", PolicyName="pipeline",
                                           PolicyDocument=json.dumps(role_policy))
            if managed_policy:
                arn = clients["iam"].create_policy(PolicyName=f"{name}-managed", PolicyDocument=json.dumps(managed_policy))
                clients["iam"].attach_role_policy(RoleName=f"{name}-pipeline-role", PolicyArn=arn["Policy"]["Arn"])
        seed.create_pipeline(clients["codepipeline"], name, role_arn, stages=declared, **options)

    return create


def pipeline_then(*actions, **options):
    """A pipeline, then each `action(clients, name)` on it (notification rules, sensitive calls)."""

    def create(clients, name):
        pipeline(**options)(clients, name)
        for action in actions:
            action(clients, name)

    return create


def notify_on(event_type):
    """A CodeStar Notifications rule on the pipeline for `event_type`, with an SNS target."""

    def action(clients, name):
        arn = clients["codepipeline"].get_pipeline(name=name)["metadata"]["pipelineArn"]
        clients["notifications"].create_notification_rule(
            Name=f"{name}-notify", EventTypeIds=[event_type], Resource=arn, DetailType="BASIC",
            Targets=[{"TargetType": "SNS", "TargetAddress": TOPIC}])

    return action


def alert_other_pipeline(clients, name):
    """An EventBridge rule on another pipeline's failures, with a target: it could match a failure,
    so its targets are read, and it does not cover this pipeline."""
    events_client = clients["events"]
    pattern = {"source": ["aws.codepipeline"], "detail-type": ["CodePipeline Pipeline Execution State Change"],
               "detail": {"state": ["FAILED"], "pipeline": [f"not-{name}"]}}
    events_client.put_rule(Name=f"{name}-other-failures", EventPattern=json.dumps(pattern), State="ENABLED")
    events_client.put_targets(Rule=f"{name}-other-failures", Targets=[{"Id": "alerts", "Arn": TOPIC}])


def start_build_overriding_buildspec(codebuild, name):
    """StartBuild with a buildspec override, by the emulator's only principal, which never built the
    project before: the emulator's trail records it (CloudTrail LookupEvents is the test bed's)."""
    codebuild.start_build(projectName=name, buildspecOverride=INLINE_BUILDSPEC)


def project_logging(fixture):
    """A project whose build wrote the log lines of `rules/fixtures/codebuild-project-build-log-indicators/
    <fixture>.json` to its default log group, in the last minutes (moto's CloudWatch Logs)."""

    def create(clients, name):
        seed.create_project(clients["codebuild"], name, clients["role_arn"])
        seed.put_build_log(clients["logs"], name, fixture)

    return create


def update_pipeline(clients, name):
    """UpdatePipeline, no change: a sensitive call, which the emulator's trail records from 127.0.0.1."""
    codepipeline = clients["codepipeline"]
    codepipeline.update_pipeline(pipeline=codepipeline.get_pipeline(name=name)["pipeline"])


def pipeline_in_buckets(secured_in_eu_west_1):
    """A cross-region pipeline whose stores are a secured bucket in us-east-1 and one in
    eu-west-1, `secured_in_eu_west_1` or not: each bucket is read in its own region."""

    def create(clients, name):
        seed.create_artifact_bucket(clients["s3"], f"{name}-artifacts", key_arn=KEY_ARN)
        seed.create_artifact_bucket(clients["s3"], f"{name}-artifacts-euw1", "eu-west-1", secured_in_eu_west_1, KEY_ARN)
        pipeline(artifact_stores={"us-east-1": {"type": "S3", "location": f"{name}-artifacts"},
                                  "eu-west-1": {"type": "S3", "location": f"{name}-artifacts-euw1"}})(clients, name)

    return create


def ecr_image_project(immutable, scan_on_push):
    """A project building from a repository of the account's ECR registry (us-east-1), pulled with
    its service role; the repository's tags `immutable` or not, scanned on push or not."""

    def create(clients, name):
        repository = f"{name}-builder"
        clients["ecr"].create_repository(repositoryName=repository,
                                         imageTagMutability="IMMUTABLE" if immutable else "MUTABLE",
                                         imageScanningConfiguration={"scanOnPush": scan_on_push})
        environment = {"type": "LINUX_CONTAINER", "computeType": "BUILD_GENERAL1_SMALL",
                       "image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{repository}:1.0",
                       "imagePullCredentialsType": "SERVICE_ROLE"}
        seed.create_project(clients["codebuild"], name, clients["role_arn"], environment=environment)

    return create


def project_reading(kind):
    """A project reading a SecureString parameter (`PARAMETER_STORE`), or a Secrets Manager
    secret that does not rotate (`SECRETS_MANAGER`), created fresh for it."""

    def create(clients, name):
        if kind == "PARAMETER_STORE":
            clients["ssm"].put_parameter(Name=f"/{name}/api-key", Value="e2e-parameter-value", Type="SecureString")
            reference = f"/{name}/api-key"
        else:
            clients["secretsmanager"].create_secret(Name=f"{name}/db", SecretString="e2e-secret-value")
            reference = f"{name}/db:password"
        seed.create_project(clients["codebuild"], name, clients["role_arn"], variables=[("SECRET", reference, kind)])

    return create


def pipeline_reading(kind):
    """A pipeline whose build action reads a SecureString parameter (`PARAMETER_STORE`), or a
    Secrets Manager secret that does not rotate (`SECRETS_MANAGER`), created fresh for it."""

    def create(clients, name):
        if kind == "PARAMETER_STORE":
            clients["ssm"].put_parameter(Name=f"/{name}/deploy-key", Value="e2e-parameter-value", Type="SecureString")
            reference = f"/{name}/deploy-key"
        else:
            clients["secretsmanager"].create_secret(Name=f"{name}/token", SecretString="e2e-secret-value")
            reference = f"{name}/token:value"
        pipeline(with_build_variables(("TOKEN", reference, kind)))(clients, name)

    return create


def stage(name, *actions):
    return {"name": name, "actions": list(actions)}


def action(name, category, provider, configuration=None, owner="AWS", run_order=1, region=None):
    declared = {"name": name, "actionTypeId": {"category": category, "owner": owner, "provider": provider, "version": "1"},
                "configuration": configuration or {}, "runOrder": run_order}
    return declared | ({"region": region} if region else {})


APPROVAL = action("Approve", "Approval", "Manual", {"NotificationArn": "arn:aws:sns:us-east-1:123456789012:approvals"})
SILENT_APPROVAL = action("Approve", "Approval", "Manual")


def with_stages_before_deploy(*extra):
    """The default stages with `extra` stages inserted before the deploy stage."""
    def stages(name):
        source, build, deploy = seed.default_pipeline_stages(name)
        return [source, build, *extra, deploy]

    return stages


def with_deploy_actions(*deploys):
    def stages(name):
        source, build, _ = seed.default_pipeline_stages(name)
        return [source, build, stage("Deploy", *deploys)]

    return stages


def deploy_action(name, region=None):
    return action(name, "Deploy", "S3", {"BucketName": f"site-{name.lower()}", "Extract": "true"}, region=region)


def github_v1_source(name):
    _, build, deploy = seed.default_pipeline_stages(name)
    source = action("GitHub", "Source", "GitHub", {"Owner": "example", "Repo": name, "Branch": "main",
                                                   "OAuthToken": "e2e-oauth-token-9f8e7d"}, owner="ThirdParty")
    return [stage("Source", source | {"outputArtifacts": [{"name": "SourceOutput"}]}), build, deploy]


def with_build_variables(*variables):
    """The default stages, the build action's EnvironmentVariables replaced (a JSON string)."""
    def stages(name):
        source, build, deploy = seed.default_pipeline_stages(name)
        build["actions"][0]["configuration"]["EnvironmentVariables"] = json.dumps(
            [{"name": n, "value": v, "type": t} for n, v, t in variables])
        return [source, build, deploy]

    return stages


def s3_logs(encryption_disabled):
    return {"cloudWatchLogs": {"status": "ENABLED"},
            "s3Logs": {"status": "ENABLED", "location": "build-logs/app", "encryptionDisabled": encryption_disabled}}


def s3_artifacts(encryption_disabled):
    return {"type": "S3", "location": "build-artifacts", "encryptionDisabled": encryption_disabled}


def github(location="https://github.com/example/app.git", buildspec=INLINE_BUILDSPEC):
    return {"type": "GITHUB", "location": location, "buildspec": buildspec}


def filters(pattern):
    return [[{"type": "EVENT", "pattern": "PULL_REQUEST_CREATED"}, {"type": "ACTOR_ACCOUNT_ID", "pattern": pattern}]]


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


SCOPED_BUILD_POLICY = policy(
    {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
     "Resource": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/codebuild/app:*"},
    {"Sid": "Artifacts", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
     "Resource": "arn:aws:s3:::build-artifacts/*"},
)
PASS_ANY_ROLE_POLICY = policy({"Sid": "PassAnyRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"})


CASES = [
    Case("codebuild-project-privileged-mode-disabled", project(privileged=False), project(privileged=True),
         "privileged mode is enabled"),
    # The good project's value looks masked, as Config may record PLAINTEXT values: read live.
    Case("codebuild-project-no-plaintext-secrets", project(variables=[("BUILD_MODE", "******", "PLAINTEXT")]),
         project(variables=[("DB_PASSWORD", "e2e-Pw-81af3c", "PLAINTEXT")]), "`DB_PASSWORD`", live_reads=1),
    Case("codebuild-project-logging-enabled", project(),
         project(logsConfig={"cloudWatchLogs": {"status": "DISABLED"}, "s3Logs": {"status": "DISABLED"}}),
         "neither CloudWatch Logs nor S3 logs"),
    Case("codebuild-project-s3-logs-encrypted", project(logsConfig=s3_logs(False)), project(logsConfig=s3_logs(True)),
         "encryption disabled"),
    Case("codebuild-project-artifacts-encrypted", project(artifacts=s3_artifacts(False)),
         project(artifacts=s3_artifacts(False),
                 secondaryArtifacts=[{**s3_artifacts(True), "artifactIdentifier": "reports"}]),
         "secondary artifact `reports`"),
    Case("codebuild-project-cmk-encrypted", project(encryptionKey=KEY_ARN), project(), "alias/aws/s3"),
    Case("codebuild-project-vpc-attached",
         project(vpcConfig={"vpcId": "vpc-0a1b2c3d", "subnets": ["subnet-0a1b2c3d"], "securityGroupIds": ["sg-0a1b2c3d"]}),
         project(), "outside a VPC"),
    Case("codebuild-project-source-no-credentials", project(source=github()),
         project(source=github("https://deploy:e2e-S3cret-pw@bitbucket.org/example/app.git") | {"type": "BITBUCKET"}),
         "user name and password"),
    Case("codebuild-project-buildspec-protected", project(source=github()),
         project(source=github(buildspec="buildspec.yml")), "read from the source repository"),
    Case("codebuild-project-not-public",
         project_then(lambda codebuild, name: seed.set_project_visibility(codebuild, name, "PRIVATE")),
         project_then(lambda codebuild, name: seed.set_project_visibility(codebuild, name, "PUBLIC_READ")),
         "PUBLIC_READ", live_reads=1),
    Case("codebuild-project-webhook-filters-anchored",
         project_then(lambda codebuild, name: seed.create_webhook(codebuild, name, filters("^123456789012$"))),
         project_then(lambda codebuild, name: seed.create_webhook(codebuild, name, filters("123456789012"))),
         "ACTOR_ACCOUNT_ID", live_reads=1),
    Case("codebuild-report-group-export-encrypted",
         report_group({"exportConfigType": "S3", "s3Destination": {"bucket": "reports", "encryptionDisabled": False}}),
         report_group({"exportConfigType": "S3", "s3Destination": {"bucket": "reports", "encryptionDisabled": True}}),
         "encryption disabled", resource_type=REPORT_GROUP),
    Case("codebuild-project-service-role-least-privilege",
         project(role_policy=SCOPED_BUILD_POLICY, managed_policy=SCOPED_BUILD_POLICY),
         project(role_policy=PASS_ANY_ROLE_POLICY), "statement `PassAnyRole` allows iam:PassRole on every role"),
    Case("codepipeline-artifacts-cmk-encrypted",
         pipeline(artifact_store={"type": "S3", "location": "artifacts", "encryptionKey": {"id": KEY_ARN, "type": "KMS"}}),
         pipeline(), "AWS managed key", resource_type=CODEPIPELINE_PIPELINE),
    Case("codepipeline-source-authenticated", pipeline(), pipeline(github_v1_source), "GitHub version 1",
         resource_type=CODEPIPELINE_PIPELINE),
    Case("codepipeline-approval-before-deploy", pipeline(with_stages_before_deploy(stage("Approval", APPROVAL))),
         pipeline(), "no manual approval before stage `Deploy`", resource_type=CODEPIPELINE_PIPELINE),
    Case("codepipeline-approval-notifications", pipeline(with_stages_before_deploy(stage("Approval", APPROVAL))),
         pipeline(with_stages_before_deploy(stage("Approval", SILENT_APPROVAL))), "without NotificationArn",
         resource_type=CODEPIPELINE_PIPELINE),
    Case("codepipeline-security-scan-stage",
         pipeline(with_stages_before_deploy(stage("Test", action("Scan", "Test", "CodeBuild", {"ProjectName": "scanner"})))),
         pipeline(), "no test or security scan", resource_type=CODEPIPELINE_PIPELINE),
    Case("codepipeline-build-isolation", pipeline(), pipeline(build_privileged=True), "runs privileged outside a VPC",
         resource_type=CODEPIPELINE_PIPELINE, live_reads=1),
    Case("codepipeline-deployment-count-check", pipeline(),
         pipeline(with_deploy_actions(deploy_action("A"), deploy_action("B"))), "deploys 2 times",
         resource_type=CODEPIPELINE_PIPELINE),
    Case("codepipeline-no-plaintext-secrets", pipeline(with_build_variables(("NPM_TOKEN", "/ci/npm", "PARAMETER_STORE"))),
         pipeline(with_build_variables(("API_TOKEN", "e2e-pipeline-Tok3n-55c1", "PLAINTEXT"))),
         "environment variable `API_TOKEN`", resource_type=CODEPIPELINE_PIPELINE),
    Case("codepipeline-service-role-least-privilege",
         pipeline(role_policy={"Version": "2012-10-17", "Statement": [
             {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::artifacts/*"}]},
             managed_policy={"Version": "2012-10-17", "Statement": [
                 {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::artifacts/*"}]}),
         pipeline(role_policy={"Version": "2012-10-17", "Statement": [
             {"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}]}),
         "statement `Everything` allows every action", resource_type=CODEPIPELINE_PIPELINE),
    Case("codepipeline-region-fanout-check", pipeline(),
         pipeline(with_deploy_actions(deploy_action("A"), deploy_action("B", "eu-west-1"))), "deploys to 2 regions",
         resource_type=CODEPIPELINE_PIPELINE),
    Case("codepipeline-failure-alerting", pipeline_then(notify_on("codepipeline-pipeline-pipeline-execution-failed")),
         pipeline_then(notify_on("codepipeline-pipeline-pipeline-execution-succeeded"), alert_other_pipeline),
         "has no failure event",
         resource_type=CODEPIPELINE_PIPELINE),
    Case("codepipeline-execution-anomalies", pipeline(), pipeline_then(update_pipeline),
         "1 sensitive call(s) from outside the allow-lists: UpdatePipeline", params={"allowedCidrs": "10.0.0.0/8"},
         resource_type=CODEPIPELINE_PIPELINE),
    Case("codepipeline-artifact-store-secured", pipeline_in_buckets(True), pipeline_in_buckets(False),
         "bucket `bad-one-artifacts-euw1` (eu-west-1): no bucket policy denying requests without TLS",
         resource_type=CODEPIPELINE_PIPELINE),
    Case("codebuild-project-trusted-image", ecr_image_project(True, True), ecr_image_project(False, False),
         "repository `bad-one-builder` (us-east-1) has tag mutability MUTABLE; repository `bad-one-builder` (us-east-1) "
         "is not scanned on push (basic scanning)"),
    Case("codebuild-project-secrets-rotated", project_reading("PARAMETER_STORE"), project_reading("SECRETS_MANAGER"),
         "secret `bad-one/db` (variable `SECRET`) has rotation off"),
    Case("codepipeline-secrets-rotated", pipeline_reading("PARAMETER_STORE"), pipeline_reading("SECRETS_MANAGER"),
         "secret `bad-one/token` (stage `Build` action `Build` variable `TOKEN`) has rotation off",
         resource_type=CODEPIPELINE_PIPELINE),
    Case("codebuild-project-build-log-indicators", project_logging("build-log-clean"),
         project_logging("build-log-compromised"),
         "9 indicator(s) in build logs of the last 24 h: secret-in-clear ×2", params={"scanLogs": "true"}),
    Case("codebuild-project-build-anomalies", project(), project_then(start_build_overriding_buildspec),
         "1 build(s) with overrides by a principal that did not build the project in the previous 30 days: "
         "buildspecOverride ×1"),
]


def test_the_table_covers_the_catalog(catalog):
    """One case per catalog rule, for the rule's resource type: a rule added to the catalog fails
    here until it has a row."""
    assert len({case.rule for case in CASES}) == len(CASES), "a rule has two rows"
    assert {case.rule: case.resource_type for case in CASES} == {
        rule.id: rule.resource_type for rule in catalog.rules}


# The IAM actions each rule's function called across the table, for the check that its role
# grants nothing it never uses.
CALLED: dict[str, set[str]] = {}

RULES_TEMPLATE = REPO / "cloudformation" / "rules.yaml"
# The statement of each rule role that lets the Lambda service write the function's output to its
# log group: not a call the binary makes (the test bed runs it outside Lambda).
LOG_STATEMENT = "OwnLogGroup"


@functools.cache
def granted_by_template() -> dict[str, set[str]]:
    """Rule id -> the actions its execution role in cloudformation/rules.yaml (the generated
    template the pack deploys) allows, except its log group statement."""
    resources = cfn.load(RULES_TEMPLATE.read_text())["Resources"]
    granted = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Role" or resource["Properties"].get("Path") != RULE_ROLE_PATH:
            continue  # the Security Hub function's role
        [policy] = resource["Properties"]["Policies"]
        actions = set()
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow", statement
            if statement.get("Sid") != LOG_STATEMENT:
                actions.update([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        granted[policy["PolicyName"]] = actions
    return granted


@pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
def test_rule_end_to_end(case, rule, aws, emulator):
    iam = aws("iam")
    clients = {
        "iam": iam,
        "codebuild": aws("codebuild"),
        "codepipeline": aws("codepipeline"),
        "notifications": aws("codestar-notifications"),
        "logs": aws("logs"),
        "events": aws("events"),
        "s3": aws("s3", s3={"addressing_style": "path"}),
        "ecr": aws("ecr"),
        "ssm": aws("ssm"),
        "secretsmanager": aws("secretsmanager"),
        "role_arn": seed.create_role(iam)["Arn"],
        "pipeline_role_arn": seed.create_pipeline_role(iam)["Arn"],
    }
    case.good(clients, "good-one")
    case.bad(clients, "bad-one")
    config = aws("config")
    good = seed.recorded_item(config, "good-one", case.resource_type)
    bad = seed.recorded_item(config, "bad-one", case.resource_type)
    function = rule(case.rule)

    granted = granted_by_template()[case.rule]
    called = CALLED.setdefault(case.rule, set())

    def invoke(event):
        emulator.reset_calls()
        result = function.invoke(event)
        # Read before the test's own reads of the results, which the emulator counts too.
        made = iam_actions(emulator.calls())
        assert result.ok, f"{result.error_type}: {result.error_message}"
        assert made <= granted, f"{case.rule} called what its role does not grant: {sorted(made - granted)}"
        called.update(made)
        return made

    # Change notifications, as Config sends them when each resource is recorded.
    for item in (good, bad):
        invoke(events.change_event(item, case.rule, rule_parameters=case.params))
    on_change = compliance(config, case.rule)
    assert on_change[good["resourceId"]][0] == "COMPLIANT", on_change[good["resourceId"]]
    assert on_change[bad["resourceId"]][0] == "NON_COMPLIANT", on_change[bad["resourceId"]]
    assert case.reason in on_change[bad["resourceId"]][1]

    # An oversized notification: the binary reads the item from the history, same verdict.
    made = invoke(events.oversized_event(bad, "oversized", rule_parameters=case.params))
    assert "config:GetResourceConfigHistory" in made
    assert compliance(config, "oversized")[bad["resourceId"]] == on_change[bad["resourceId"]]

    # A periodic sweep: the same verdicts from Config's inventory, in the fewest calls.
    emulator.reset_calls()
    result = function.invoke(events.scheduled_event("sweep", rule_parameters=case.params))
    calls = emulator.calls()
    assert result.ok, f"{result.error_type}: {result.error_message}"
    assert iam_actions(calls) <= granted, f"{case.rule}: {sorted(iam_actions(calls) - granted)}"
    called.update(iam_actions(calls))
    assert compliance(config, "sweep") == {key: on_change[key] for key in (good["resourceId"], bad["resourceId"])}
    assert calls["config.SelectResourceConfig"] == 1 and calls["config.PutEvaluations"] == 1
    assert calls.get("codebuild.BatchGetProjects", 0) == case.live_reads


def test_artifact_store_buckets_are_read_once_and_a_refused_read_is_not_compliant(aws, rule, emulator):
    """Two pipelines sharing one secured bucket: a sweep reads it once. Then S3 refuses
    GetBucketPolicy (AccessDenied, as for another account's bucket; injected by the test bed's S3
    module): the pipelines are NOT_APPLICABLE naming the refused read, never COMPLIANT."""
    iam, s3 = aws("iam"), aws("s3", s3={"addressing_style": "path"})
    clients = {"iam": iam, "codebuild": aws("codebuild"), "codepipeline": aws("codepipeline"),
               "role_arn": seed.create_role(iam)["Arn"], "pipeline_role_arn": seed.create_pipeline_role(iam)["Arn"]}
    seed.create_artifact_bucket(s3, "shared-artifacts", key_arn=KEY_ARN)
    for name in ("first", "second"):
        pipeline(artifact_store={"type": "S3", "location": "shared-artifacts"})(clients, name)
    function = rule("codepipeline-artifact-store-secured")
    config = aws("config")

    emulator.reset_calls()
    assert function.invoke(events.scheduled_event("sweep")).ok
    calls = emulator.calls()
    assert {name: count for name, count in calls.items() if name.startswith("s3.")} == {
        "s3.GetPublicAccessBlock": 1, "s3.GetBucketVersioning": 1, "s3.GetBucketPolicy": 1, "s3.GetBucketEncryption": 1}
    assert {verdict for verdict, _ in compliance(config, "sweep").values()} == {"COMPLIANT"}

    emulator.set_faults({"s3.GetBucketPolicy": {"error": "denied", "times": 10}})
    result = function.invoke(events.scheduled_event("refused"))
    emulator.set_faults({})
    assert result.ok, f"{result.error_type}: {result.error_message}"
    verdicts = compliance(config, "refused")
    assert len(verdicts) == 2
    for verdict, annotation in verdicts.values():
        assert verdict == "NOT_APPLICABLE", annotation
        assert "bucket `shared-artifacts`: s3:GetBucketPolicy denied" in annotation, annotation


def test_every_granted_action_is_used(catalog):
    """Across the table, each rule's function called every action its role in the template grants:
    a grant no run needs is a permission too many. Runs after the table (pytest keeps file order)."""
    assert set(CALLED) == {rule.id for rule in catalog.rules}, "the table ran first, for every rule"
    assert set(granted_by_template()) == set(CALLED), "the template has a role for every rule, and only those"
    unused = {rule: sorted(actions - CALLED[rule]) for rule, actions in granted_by_template().items()}
    assert not {rule: actions for rule, actions in unused.items() if actions}, unused


def test_operations_map_to_the_actions_that_authorize_them():
    """The mapping the checks above rely on: S3's renamed actions, the others by prefix, and an
    unknown service refused rather than guessed."""
    assert iam_actions({"s3.GetPublicAccessBlock": 1, "s3.GetBucketEncryption": 2, "s3.GetBucketPolicy": 1,
                        "codestar-notifications.ListNotificationRules": 1, "codebuild.BatchGetProjects": 0}) == {
        "s3:GetBucketPublicAccessBlock", "s3:GetEncryptionConfiguration", "s3:GetBucketPolicy",
        "codestar-notifications:ListNotificationRules"}
    with pytest.raises(KeyError, match="no IAM prefix known"):
        iam_actions({"lambda.Invoke": 1})
