"""The templates deployed onto the emulator through the service APIs (testbed.stack): every rule's
role, function (arm64, provided.al2023; created, not invoked), permission and Config rule, the member
role, alerting (KMS-encrypted SNS, EventBridge, dashboard), remediation documents and configurations,
and the conformance pack's rules pointed at the deployed functions. The remediation scripts run for
real against the emulator's CodeBuild."""

import json
from pathlib import Path

import pytest

from deploy import cfn
from deploy.remediation import FIXES, script
from testbed import seed
from testbed.stack import ACCOUNT_ID, REGION, UnsupportedResource, deploy

REPO = Path(__file__).resolve().parent.parent


def template(path: str) -> dict:
    return cfn.load((REPO / path).read_text())


@pytest.fixture
def rule_pack(aws):
    return deploy(template("cloudformation/rules.yaml"), aws,
                  {"CodeBucket": "pipesec-artifacts", "EnableSecurityHubFindings": "true"})


def role_policy(aws, role_arn: str) -> dict:
    iam = aws("iam")
    name = role_arn.rsplit("/", 1)[1]
    policies = iam.list_role_policies(RoleName=name)["PolicyNames"]
    assert len(policies) == 1
    return iam.get_role_policy(RoleName=name, PolicyName=policies[0])["PolicyDocument"]


def all_config_rules(config) -> dict:
    """Every Config rule by name: DescribeConfigRules answers 25 a page."""
    pages = config.get_paginator("describe_config_rules").paginate()
    return {rule["ConfigRuleName"]: rule for page in pages for rule in page["ConfigRules"]}


def actions_of(document: dict) -> set[str]:
    return {action for statement in document["Statement"] for action in statement["Action"]}


def test_rule_pack_deploys_every_rule(rule_pack, aws, catalog):
    functions, config = aws("lambda"), aws("config")
    rules = all_config_rules(config)
    assert set(rules) == {rule.config_rule_name for rule in catalog.rules}
    for rule in catalog.rules:
        function = functions.get_function(FunctionName=rule.function_name)["Configuration"]
        assert (function["Runtime"], function["Handler"], function["Architectures"]) == (
            "provided.al2023", "bootstrap", ["arm64"])
        assert "/pipesec/rules/" in function["Role"]
        assert actions_of(role_policy(aws, function["Role"])) == {
            *catalog.actions(rule), "logs:CreateLogStream", "logs:PutLogEvents"}

        permission = json.loads(functions.get_policy(FunctionName=rule.function_name)["Policy"])["Statement"]
        assert [(s["Principal"], s["Condition"]) for s in permission] == [
            ({"Service": "config.amazonaws.com"}, {"StringEquals": {"AWS:SourceAccount": ACCOUNT_ID}})]

        config_rule = rules[rule.config_rule_name]
        assert config_rule["Source"]["Owner"] == "CUSTOM_LAMBDA"
        assert config_rule["Source"]["SourceIdentifier"] == function["FunctionArn"]
        message_types = [detail["MessageType"] for detail in config_rule["Source"]["SourceDetails"]]
        assert message_types[:2] == ["ConfigurationItemChangeNotification",
                                     "OversizedConfigurationItemChangeNotification"]
        assert ("ScheduledNotification" in message_types) == rule.periodic
        assert config_rule["Scope"]["ComplianceResourceTypes"] == [rule.resource_type]
        parameters = json.loads(config_rule["InputParameters"])
        assert parameters == {**{name: "" for name in rule.parameters}, "ExecutionRoleName": ""}

        group = aws("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{rule.function_name}")["logGroups"]
        assert [g["retentionInDays"] for g in group] == [90]


def test_security_hub_function_is_wired_to_compliance_changes(rule_pack, aws):
    function = aws("lambda").get_function(FunctionName="pipesec-securityhub")["Configuration"]
    assert function["Architectures"] == ["arm64"]
    assert actions_of(role_policy(aws, function["Role"])) == {
        "securityhub:BatchImportFindings", "logs:CreateLogStream", "logs:PutLogEvents"}
    events = aws("events")
    rule_name = rule_pack.resources["SecurityHubEventRule"].ref
    targets = events.list_targets_by_rule(Rule=rule_name)["Targets"]
    assert [target["Arn"] for target in targets] == [function["FunctionArn"]]
    pattern = events.describe_rule(Name=rule_name)["EventPattern"]
    assert events.test_event_pattern(EventPattern=pattern, Event=json.dumps(compliance_change(
        "pipesec-codebuild-project-not-public-conformance-pack-x1y2z3", "NON_COMPLIANT")))["Result"]
    assert not events.test_event_pattern(EventPattern=pattern, Event=json.dumps(compliance_change(
        "s3-bucket-versioning-enabled", "NON_COMPLIANT")))["Result"]


def test_rule_pack_without_config_rules_creates_functions_only(aws, catalog):
    stack = deploy(template("cloudformation/rules.yaml"), aws, {"CodeBucket": "b", "CreateConfigRules": "false"})
    assert aws("config").describe_config_rules()["ConfigRules"] == []
    assert len(aws("lambda").list_functions()["Functions"]) == len(catalog.rules)
    assert all(name.endswith("ConfigRule") or name.startswith("SecurityHub") for name in stack.skipped)


def test_central_rule_roles_may_assume_only_the_member_role(aws, catalog):
    deploy(template("cloudformation/rules.yaml"), aws, {"CodeBucket": "b", "ExecutionRoleName": "pipesec-config-rules"})
    rule = catalog.rules[0]
    role = aws("lambda").get_function(FunctionName=rule.function_name)["Configuration"]["Role"]
    statements = role_policy(aws, role)["Statement"]
    assume = [s for s in statements if "sts:AssumeRole" in s["Action"]]
    assert [s["Resource"] for s in assume] == ["arn:aws:iam::*:role/pipesec-config-rules"]
    config_rule = aws("config").describe_config_rules(ConfigRuleNames=[rule.config_rule_name])["ConfigRules"][0]
    assert json.loads(config_rule["InputParameters"])["ExecutionRoleName"] == "pipesec-config-rules"


def test_member_role_trusts_the_central_rule_roles_and_reads_only(aws, catalog):
    stack = deploy(template("cloudformation/member-role.yaml"), aws, {"CentralAccountId": "210987654321"})
    role = aws("iam").get_role(RoleName="pipesec-config-rules")["Role"]
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust[0]["Principal"] == {"AWS": "arn:aws:iam::210987654321:root"}
    assert trust[0]["Condition"] == {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::210987654321:role/pipesec/rules/*"}}
    assert actions_of(role_policy(aws, role["Arn"])) == set(catalog.all_actions())
    assert stack.outputs["RoleArn"] == role["Arn"]


def compliance_change(rule_name: str, compliance: str) -> dict:
    return {
        "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": "Config Rules Compliance Change",
        "source": "aws.config", "account": ACCOUNT_ID, "time": "2026-11-01T12:00:00Z", "region": REGION,
        "resources": [],
        "detail": {
            "resourceId": "d6a1c0d2-5f4e-4b8a-9c3d-1e2f3a4b5c6d", "awsRegion": REGION, "awsAccountId": ACCOUNT_ID,
            "configRuleName": rule_name, "messageType": "ComplianceChangeNotification",
            "resourceType": "AWS::CodeBuild::Project",
            "newEvaluationResult": {"complianceType": compliance, "annotation": "project is public"},
        },
    }


def test_alerting_deploys_an_encrypted_topic_a_rule_and_a_dashboard(aws, catalog):
    stack = deploy(template("cloudformation/alerting.yaml"), aws)
    sns, events = aws("sns"), aws("events")
    topic = stack.outputs["AlertTopicArn"]
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["KmsMasterKeyId"] == stack.resources["AlertKey"].attributes["Arn"]
    assert aws("kms").get_key_rotation_status(KeyId=stack.resources["AlertKey"].ref)["KeyRotationEnabled"]
    policy = json.loads(attributes["Policy"])["Statement"][0]
    assert policy["Principal"] == {"Service": "events.amazonaws.com"}
    rule = stack.resources["ComplianceChangeRule"]
    assert policy["Condition"]["ArnEquals"]["aws:SourceArn"] == rule.attributes["Arn"]
    assert [t["Arn"] for t in events.list_targets_by_rule(Rule=rule.ref)["Targets"]] == [topic]
    pattern = events.describe_rule(Name=rule.ref)["EventPattern"]
    for rule_name, compliance, expected in [
        ("pipesec-codebuild-project-not-public", "NON_COMPLIANT", True),
        ("pipesec-codebuild-project-not-public", "COMPLIANT", False),
        ("codebuild-project-logging-enabled", "NON_COMPLIANT", False),
    ]:
        event = json.dumps(compliance_change(rule_name, compliance))
        assert events.test_event_pattern(EventPattern=pattern, Event=event)["Result"] is expected, rule_name
    body = json.loads(aws("cloudwatch").get_dashboard(DashboardName="pipesec")["DashboardBody"])
    assert {w["properties"]["region"] for w in body["widgets"]} == {REGION}
    assert "AlertSubscription" in stack.skipped, "no e-mail given"


def test_remediation_deploys_documents_and_manual_configurations(rule_pack, aws):
    stack = deploy(template("cloudformation/remediation.yaml"), aws)
    ssm, config = aws("ssm"), aws("config")
    role = stack.outputs["AutomationRoleArn"]
    assert actions_of(role_policy(aws, role)) == {
        "codebuild:BatchGetProjects", "codebuild:UpdateProject", "config:BatchGetResourceConfig"}
    rule_names = [f"pipesec-{fix.rule_id}" for fix in FIXES]
    configurations = config.describe_remediation_configurations(ConfigRuleNames=rule_names)["RemediationConfigurations"]
    assert [c["ConfigRuleName"] for c in configurations] == rule_names
    for fix, configuration in zip(FIXES, configurations):
        assert ssm.describe_document(Name=configuration["TargetId"])["Document"]["DocumentType"] == "Automation"
        assert configuration["Automatic"] is False
        assert configuration["Parameters"]["AutomationAssumeRole"]["StaticValue"]["Values"] == [role]
        assert configuration["Parameters"]["ResourceId"] == {"ResourceValue": {"Value": "RESOURCE_ID"}}


def test_automatic_remediation_is_a_parameter(rule_pack, aws):
    deploy(template("cloudformation/remediation.yaml"), aws, {"AutomaticRemediation": "true"})
    configurations = aws("config").describe_remediation_configurations(
        ConfigRuleNames=[f"pipesec-{fix.rule_id}" for fix in FIXES])["RemediationConfigurations"]
    assert {c["Automatic"] for c in configurations} == {True}


def test_conformance_pack_rules_point_at_the_deployed_functions(aws, catalog):
    functions = deploy(template("cloudformation/rules.yaml"), aws, {"CodeBucket": "b", "CreateConfigRules": "false"})
    automation = deploy(template("cloudformation/remediation.yaml"), aws, {"CreateRemediationConfigurations": "false"})
    pack = deploy(template("conformance-pack.yaml"), aws, {
        "LambdaAccountId": ACCOUNT_ID, "RemediationRoleName": "pipesec-remediation",
        "CodebuildProjectPrivilegedModeDisabledExemptedProjects": "docker-builder",
    }, stack_name="awsconfigconforms-pipesec")
    rules = all_config_rules(aws("config"))
    for rule in catalog.rules:
        arn = functions.resources[f"{rule.logical_id}Function"].attributes["Arn"]
        assert rules[rule.config_rule_name]["Source"]["SourceIdentifier"] == arn
    exempted = json.loads(rules["pipesec-codebuild-project-privileged-mode-disabled"]["InputParameters"])
    assert exempted["exemptedProjects"] == "docker-builder"
    assert sum(name.endswith("Remediation") for name in pack.resources) == len(FIXES)
    configurations = aws("config").describe_remediation_configurations(
        ConfigRuleNames=[f"pipesec-{fix.rule_id}" for fix in FIXES])["RemediationConfigurations"]
    roles = {c["Parameters"]["AutomationAssumeRole"]["StaticValue"]["Values"][0] for c in configurations}
    assert roles == {automation.outputs["AutomationRoleArn"]}


def test_an_unknown_resource_type_fails_the_deployment(aws):
    with pytest.raises(UnsupportedResource, match="AWS::CodeBuild::Project"):
        deploy({"Resources": {"P": {"Type": "AWS::CodeBuild::Project", "Properties": {}}}}, aws)


# --- the remediation scripts, run against the emulator ---------------------------------------


@pytest.fixture
def run_fix(emulator, monkeypatch):
    """Runs a document's script as SSM's executeScript would, with boto3 pointed at the emulator."""
    for name, value in {"AWS_ENDPOINT_URL": emulator.url, "AWS_DEFAULT_REGION": REGION,
                        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)

    def run(rule_id: str, resource_id: str, **parameters) -> dict:
        fix = next(fix for fix in FIXES if fix.rule_id == rule_id)
        namespace: dict = {}
        exec(compile(script(fix), fix.document, "exec"), namespace)  # noqa: S102 - the document's own script
        return namespace["handler"]({"ResourceId": resource_id, **parameters}, None)

    return run


def s3_logs(encryption_disabled: bool) -> dict:
    return {"cloudWatchLogs": {"status": "DISABLED"},
            "s3Logs": {"status": "ENABLED", "location": "build-logs/app", "encryptionDisabled": encryption_disabled}}


FIX_CASES = [
    ("codebuild-project-privileged-mode-disabled", {"privileged": True},
     lambda p: p["environment"]["privilegedMode"] is False and p["environment"]["environmentVariables"]),
    ("codebuild-project-logging-enabled",
     {"logsConfig": {"cloudWatchLogs": {"status": "DISABLED"}, "s3Logs": {"status": "DISABLED"}}},
     lambda p: p["logsConfig"]["cloudWatchLogs"]["status"] == "ENABLED"),
    ("codebuild-project-s3-logs-encrypted", {"logsConfig": s3_logs(True)},
     lambda p: p["logsConfig"]["s3Logs"] == {"status": "ENABLED", "location": "build-logs/app",
                                             "encryptionDisabled": False}),
    ("codebuild-project-artifacts-encrypted",
     {"artifacts": {"type": "S3", "location": "out", "encryptionDisabled": True},
      "secondaryArtifacts": [{"type": "S3", "location": "reports", "artifactIdentifier": "reports",
                              "encryptionDisabled": True}]},
     lambda p: not p["artifacts"]["encryptionDisabled"] and p["artifacts"]["location"] == "out"
     and [a["encryptionDisabled"] for a in p["secondaryArtifacts"]] == [False]),
]


@pytest.mark.parametrize("rule_id, project, fixed", FIX_CASES, ids=[case[0] for case in FIX_CASES])
def test_remediation_script_fixes_the_project_and_keeps_the_rest(rule_id, project, fixed, run_fix, aws):
    codebuild = aws("codebuild")
    seed.create_project(codebuild, "app", seed.create_role(aws("iam"))["Arn"], **project)
    before = codebuild.batch_get_projects(names=["app"])["projects"][0]
    # Config's RESOURCE_ID for a CodeBuild project is its id, not its name.
    resource_id = seed.recorded_item(aws("config"), "app")["resourceId"]
    assert resource_id != "app"
    assert run_fix(rule_id, resource_id) == {"project": "app", "changed": True}
    after = codebuild.batch_get_projects(names=["app"])["projects"][0]
    assert fixed(after)
    for unchanged in ("source", "serviceRole"):
        assert after[unchanged] == before[unchanged]
    assert run_fix(rule_id, "app") == {"project": "app", "changed": False}, "a second run changes nothing"


def test_remediation_script_refuses_an_unknown_project(run_fix, aws):
    with pytest.raises(ValueError, match="no CodeBuild project recorded as nope"):
        run_fix("codebuild-project-privileged-mode-disabled", "nope")
