"""The deployment templates: current with the catalog, every rule in every one, valid for AWS
Config beyond what cfn-lint checks, within the conformance-pack limits, and least privilege."""

import re
from pathlib import Path

import botocore.session
import pytest

from deploy import cfn, iam
from deploy.catalog import CONFIG_RULE_NAME_MAX, LAMBDA_FUNCTION_NAME_MAX, SECURITY_HUB_FUNCTION
from deploy.conformance_pack import MAX_RULES, MAX_TEMPLATE_BYTES
from deploy.generate import TEMPLATES, outputs
from deploy.remediation import FIXES

REPO = Path(__file__).resolve().parent.parent
CONFIG_MODEL = botocore.session.get_session().get_service_model("config")


def enum(shape: str) -> set[str]:
    return set(CONFIG_MODEL.shape_for(shape).enum)


@pytest.fixture(scope="module")
def templates(catalog) -> dict[str, dict]:
    return {path: cfn.load((REPO / path).read_text()) for path in TEMPLATES}


def resources_of(template: dict, kind: str) -> dict[str, dict]:
    return {name: resource for name, resource in template["Resources"].items() if resource["Type"] == kind}


# --- current and complete --------------------------------------------------------------------


def test_committed_templates_are_the_generators_output(catalog):
    for path, content in outputs(catalog).items():
        committed = (REPO / path).read_text() if (REPO / path).exists() else None
        assert committed == content, f"{path} is out of date: run scripts/templates"


def test_every_rule_has_its_function_role_log_group_permission_and_config_rule(catalog, templates):
    pack = templates["cloudformation/rules.yaml"]["Resources"]
    for rule in catalog.rules:
        function = pack[f"{rule.logical_id}Function"]["Properties"]
        assert function["FunctionName"] == rule.function_name
        assert function["Code"]["S3Key"] == {"Fn::Sub": "${CodeKeyPrefix}" + rule.id + "/bootstrap.zip"}
        assert pack[f"{rule.logical_id}LogGroup"]["Properties"]["LogGroupName"] == f"/aws/lambda/{rule.function_name}"
        assert pack[f"{rule.logical_id}Permission"]["Properties"]["Principal"] == "config.amazonaws.com"
        assert pack[f"{rule.logical_id}Role"]["Properties"]["Path"] == "/pipesec/rules/"
        config_rule = pack[f"{rule.logical_id}ConfigRule"]["Properties"]
        assert config_rule["ConfigRuleName"] == rule.config_rule_name
        assert set(config_rule["InputParameters"]) == {*rule.parameters, catalog.execution_role_parameter}


def test_every_rule_is_in_the_conformance_pack_with_identical_ids_and_parameters(catalog, templates):
    pack = templates["conformance-pack.yaml"]
    rules = {r["Properties"]["ConfigRuleName"]: r["Properties"] for r in resources_of(pack, "AWS::Config::ConfigRule").values()}
    assert set(rules) == {rule.config_rule_name for rule in catalog.rules}
    for rule in catalog.rules:
        properties = rules[rule.config_rule_name]
        assert properties["Source"]["SourceIdentifier"]["Fn::Sub"].endswith(f":function:{rule.function_name}")
        assert set(properties["InputParameters"]) == {*rule.parameters, catalog.execution_role_parameter}
        for parameter in rule.parameters:
            assert properties["InputParameters"][parameter] == {"Ref": rule.parameter_name(parameter)}


def test_conformance_pack_parameters_have_safe_defaults(catalog, templates):
    parameters = templates["conformance-pack.yaml"]["Parameters"]
    required = {name for name, parameter in parameters.items() if "Default" not in parameter}
    assert required == {"LambdaAccountId"}
    for rule in catalog.rules:
        for parameter in rule.parameters:
            assert parameters[rule.parameter_name(parameter)]["Default"] == "", "empty = not set"


def test_member_role_allows_what_every_rule_calls_and_nothing_to_write(catalog, templates):
    role = templates["cloudformation/member-role.yaml"]["Resources"]["MemberRole"]["Properties"]
    allowed = {action for _, document in iam.policy_documents({"Resources": {"R": {"Type": "AWS::IAM::Role",
                                                                                "Properties": role}}})
               for statement in document["Statement"] for action in statement["Action"]}
    assert allowed == set(catalog.all_actions())
    # FilterLogEvents is a read (IAM's access level for it is Read) named otherwise.
    writes = {action for action in allowed
              if not re.match(r"^[\w-]+:(Get|List|Describe|BatchGet|Select|Lookup|Filter)", action)}
    assert writes == {"config:PutEvaluations"}


def test_dashboard_and_alerts_cover_every_rule_function(catalog, templates):
    alerting = templates["cloudformation/alerting.yaml"]["Resources"]
    body = alerting["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for rule in catalog.rules:
        assert f'"FunctionName", "{rule.function_name}"' in body
        assert f"SOURCE '/aws/lambda/{rule.function_name}'" in body
    prefixes = alerting["ComplianceChangeRule"]["Properties"]["EventPattern"]["detail"]["configRuleName"]
    assert all(any(rule.config_rule_name.startswith(p["prefix"]) for p in prefixes) for rule in catalog.rules)


def test_every_fix_has_its_rule_document_and_remediation_configurations(catalog, templates):
    remediation = templates["cloudformation/remediation.yaml"]["Resources"]
    pack = templates["conformance-pack.yaml"]["Resources"]
    for fix in FIXES:
        rule = catalog.rule(fix.rule_id)  # a fix whose rule left the catalog fails here
        assert remediation[fix.document]["Properties"]["DocumentType"] == "Automation"
        for template in (remediation, pack):
            configuration = template[f"{rule.logical_id}Remediation"]["Properties"]
            assert configuration["ConfigRuleName"] == rule.config_rule_name
            assert configuration["Automatic"]["Fn::If"][0] == "AutomaticRemediation", "manual unless asked"


# --- what AWS Config accepts (cfn-lint does not check these) ----------------------------------


def config_rule_problems(template: dict, catalog) -> list[str]:
    """Config-specific mistakes in the template's AWS::Config::ConfigRule resources."""
    problems = []
    parameters = template.get("Parameters", {})
    resource_types, message_types, frequencies = enum("ResourceType"), enum("MessageType"), enum(
        "MaximumExecutionFrequency")
    by_name = {rule.config_rule_name: rule for rule in catalog.rules}
    for name, resource in resources_of(template, "AWS::Config::ConfigRule").items():
        properties = resource["Properties"]
        source = properties["Source"]
        rule = by_name.get(properties.get("ConfigRuleName"))
        if rule is None:
            problems.append(f"{name}: ConfigRuleName {properties.get('ConfigRuleName')!r} is no catalog rule")
            continue
        if len(properties["ConfigRuleName"]) > CONFIG_RULE_NAME_MAX:
            problems.append(f"{name}: ConfigRuleName longer than {CONFIG_RULE_NAME_MAX}")
        if source.get("Owner") not in enum("Owner") or source.get("Owner") != "CUSTOM_LAMBDA":
            problems.append(f"{name}: Owner {source.get('Owner')!r} is not CUSTOM_LAMBDA")
        details = source.get("SourceDetails") or []
        if not details:
            problems.append(f"{name}: a CUSTOM_LAMBDA rule needs SourceDetails")
        kinds = [detail.get("MessageType") for detail in details]
        for detail in details:
            if detail.get("EventSource") != "aws.config":
                problems.append(f"{name}: EventSource {detail.get('EventSource')!r}")
            if detail.get("MessageType") not in message_types:
                problems.append(f"{name}: MessageType {detail.get('MessageType')!r} is not one of {sorted(message_types)}")
            frequency = detail.get("MaximumExecutionFrequency")
            if frequency is not None:
                if detail.get("MessageType") != "ScheduledNotification":
                    problems.append(f"{name}: MaximumExecutionFrequency on a {detail.get('MessageType')}")
                values = [frequency]
                if isinstance(frequency, dict) and "Ref" in frequency:
                    declared = parameters.get(frequency["Ref"], {})
                    values = [declared.get("Default"), *declared.get("AllowedValues", [])]
                for value in values:
                    if value not in frequencies:
                        problems.append(f"{name}: MaximumExecutionFrequency {value!r} is not one of {sorted(frequencies)}")
        for required in ("ConfigurationItemChangeNotification", "OversizedConfigurationItemChangeNotification"):
            if required not in kinds:
                problems.append(f"{name}: no {required} source detail")
        if ("ScheduledNotification" in kinds) != rule.periodic:
            problems.append(f"{name}: ScheduledNotification {'missing' if rule.periodic else 'not expected'}")
        scope = properties.get("Scope", {}).get("ComplianceResourceTypes", [])
        for resource_type in scope:
            if resource_type not in resource_types:
                problems.append(f"{name}: resource type {resource_type!r} is not an AWS Config resource type")
        if scope != [rule.resource_type]:
            problems.append(f"{name}: scope {scope} is not the rule's {rule.resource_type}")
    return problems


@pytest.mark.parametrize("path", ["cloudformation/rules.yaml", "conformance-pack.yaml"])
def test_config_rules_are_what_aws_config_accepts(path, catalog, templates):
    assert config_rule_problems(templates[path], catalog) == []


@pytest.mark.parametrize("mistake, expected", [
    (lambda p: p["Source"].update(Owner="CUSTOM_LAMDBA"), "is not CUSTOM_LAMBDA"),
    (lambda p: p["Source"]["SourceDetails"][0].update(MessageType="ConfigurationItemChangeNotifications"),
     "is not one of"),
    (lambda p: p["Source"]["SourceDetails"].pop(1), "no OversizedConfigurationItemChangeNotification"),
    (lambda p: p["Source"].pop("SourceDetails"), "needs SourceDetails"),
    (lambda p: p["Scope"].update(ComplianceResourceTypes=["AWS::CodeBuild::Projects"]), "not an AWS Config resource type"),
    (lambda p: p["Source"]["SourceDetails"].append(
        {"EventSource": "aws.config", "MessageType": "ScheduledNotification", "MaximumExecutionFrequency": "Daily"}),
     "MaximumExecutionFrequency 'Daily'"),
])
def test_the_config_checks_catch_each_mistake(mistake, expected, catalog, templates):
    template = cfn.load((REPO / "conformance-pack.yaml").read_text())
    first = next(iter(resources_of(template, "AWS::Config::ConfigRule").values()))
    mistake(first["Properties"])
    assert any(expected in problem for problem in config_rule_problems(template, catalog))


def test_conformance_pack_is_within_aws_limits(catalog, templates):
    size = len((REPO / "conformance-pack.yaml").read_bytes())
    rules = resources_of(templates["conformance-pack.yaml"], "AWS::Config::ConfigRule")
    assert len(rules) <= MAX_RULES
    assert size <= MAX_TEMPLATE_BYTES, f"{size} bytes"


def test_names_fit_aws_limits(catalog):
    for rule in catalog.rules:
        assert len(rule.function_name) <= LAMBDA_FUNCTION_NAME_MAX, rule.function_name
        assert re.fullmatch(r"[A-Za-z0-9]{1,255}", rule.logical_id)
    assert len(SECURITY_HUB_FUNCTION) <= LAMBDA_FUNCTION_NAME_MAX


# --- least privilege -------------------------------------------------------------------------


def test_rule_roles_allow_exactly_what_the_rule_calls(catalog, templates):
    pack = templates["cloudformation/rules.yaml"]["Resources"]
    for rule in catalog.rules:
        document = pack[f"{rule.logical_id}Role"]["Properties"]["Policies"][0]["PolicyDocument"]
        plain = [s for s in document["Statement"] if "Fn::If" not in s]
        conditional = [s["Fn::If"] for s in document["Statement"] if "Fn::If" in s]
        actions = {a for s in plain for a in s["Action"]}
        assert actions == {*catalog.actions(rule), "logs:CreateLogStream", "logs:PutLogEvents"}, rule.id
        logs = next(s for s in plain if "logs:PutLogEvents" in s["Action"])
        assert logs["Resource"] == {"Fn::GetAtt": [f"{rule.logical_id}LogGroup", "Arn"]}, "its own log group only"
        # sts:AssumeRole only when a member-account role is configured, and only that role.
        assert conditional == [["UseExecutionRole", {
            "Sid": "AssumeMemberAccountRole", "Effect": "Allow", "Action": list(catalog.execution_role_actions),
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${ExecutionRoleName}"}}, {"Ref": "AWS::NoValue"}]]


@pytest.mark.parametrize("path", list(TEMPLATES))
def test_pack_policies_are_least_privilege(path, templates):
    assert iam.problems(templates[path]) == []


@pytest.mark.parametrize("path", list(TEMPLATES))
def test_every_star_resource_is_commented(path):
    for number, line in enumerate((REPO / path).read_text().splitlines(), start=1):
        if re.search(r"Resource: \"\*\"", line):
            assert "#" in line, f"{path}:{number}: '*' resource without the reason"


def test_the_least_privilege_check_catches_each_mistake():
    def role(statement):
        return {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [
            {"PolicyName": "p", "PolicyDocument": {"Statement": [statement]}}]}}}}

    assert iam.problems(role({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    assert iam.problems(role({"Effect": "Allow", "Action": "codebuild:*", "Resource": "arn:x"}))
    assert iam.problems(role({"Effect": "Allow", "Action": "codebuild:BatchGetProjects", "Resource": "*"}))
    assert iam.problems(role({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    assert not iam.problems(role({"Effect": "Allow", "Action": "config:PutEvaluations", "Resource": "*"}))


def test_an_action_without_a_known_resource_fails_generation():
    with pytest.raises(iam.UnknownActionError, match="codepipeline:StartPipelineExecution"):
        iam.statements(["codepipeline:StartPipelineExecution"], sid="X")
