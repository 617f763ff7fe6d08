"""The deployment templates: current with the catalog, every rule in every one, valid for AWS
Config beyond what cfn-lint checks, within the conformance-pack limits, and least privilege."""

import re
from pathlib import Path

import botocore.session
import pytest

from deploy import cfn, iam
from deploy.catalog import CONFIG_RULE_NAME_MAX, LAMBDA_FUNCTION_NAME_MAX, SCORER_FUNCTION, SECURITY_HUB_FUNCTION
from deploy.conformance_pack import MAX_INPUT_PARAMETERS, MAX_RULES, MAX_TEMPLATE_BYTES
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
        assert function["Code"]["S3Bucket"] == {"Fn::If": [
            "RegionalCodeBucket", {"Fn::Sub": "${CodeBucket}-${AWS::Region}"}, {"Ref": "CodeBucket"}]}
        assert pack[f"{rule.logical_id}LogGroup"]["Properties"]["LogGroupName"] == f"/aws/lambda/{rule.function_name}"
        assert pack[f"{rule.logical_id}Permission"]["Properties"]["Principal"] == "config.amazonaws.com"
        assert pack[f"{rule.logical_id}Role"]["Properties"]["Path"] == "/pipesec/rules/"
        config_rule = pack[f"{rule.logical_id}ConfigRule"]["Properties"]
        assert config_rule["ConfigRuleName"] == rule.config_rule_name
        assert set(config_rule["InputParameters"]) == set(rule.parameters)
        permission = pack[f"{rule.logical_id}Permission"]["Properties"]
        assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}, "only its own account's Config"


def test_every_rule_is_in_the_conformance_pack_with_identical_ids_and_parameters(catalog, templates):
    pack = templates["conformance-pack.yaml"]
    rules = {r["Properties"]["ConfigRuleName"]: r["Properties"] for r in resources_of(pack, "AWS::Config::ConfigRule").values()}
    assert set(rules) == {rule.config_rule_name for rule in catalog.rules}
    for rule in catalog.rules:
        properties = rules[rule.config_rule_name]
        assert properties["Source"]["SourceIdentifier"]["Fn::Sub"] == (
            "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:" + rule.function_name)
        assert set(properties["InputParameters"]) == set(rule.parameters)
        for parameter in rule.parameters:
            assert properties["InputParameters"][parameter] == {"Ref": rule.parameter_name(parameter)}


def test_conformance_pack_parameters_have_safe_defaults(catalog, templates):
    parameters = templates["conformance-pack.yaml"]["Parameters"]
    required = {name for name, parameter in parameters.items() if "Default" not in parameter}
    assert required == set()
    for rule in catalog.rules:
        for parameter in rule.parameters:
            assert parameters[rule.parameter_name(parameter)]["Default"] == "", "empty = not set"


def test_no_template_keeps_the_central_cross_account_mode(templates):
    for path in TEMPLATES:
        text = (REPO / path).read_text()
        assert "ExecutionRoleName" not in text and "sts:AssumeRole]" not in text, path


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
    assert len(templates["conformance-pack.yaml"]["Parameters"]) <= MAX_INPUT_PARAMETERS


def test_names_fit_aws_limits(catalog):
    for rule in catalog.rules:
        assert len(rule.function_name) <= LAMBDA_FUNCTION_NAME_MAX, rule.function_name
        assert re.fullmatch(r"[A-Za-z0-9]{1,255}", rule.logical_id)
    assert len(SECURITY_HUB_FUNCTION) <= LAMBDA_FUNCTION_NAME_MAX
    assert len(SCORER_FUNCTION) <= LAMBDA_FUNCTION_NAME_MAX


# --- least privilege -------------------------------------------------------------------------


def test_rule_roles_allow_exactly_what_the_rule_calls(catalog, templates):
    pack = templates["cloudformation/rules.yaml"]["Resources"]
    for rule in catalog.rules:
        document = pack[f"{rule.logical_id}Role"]["Properties"]["Policies"][0]["PolicyDocument"]
        statements = document["Statement"]
        actions = {a for s in statements for a in s["Action"]}
        assert actions == {*catalog.actions(rule), "logs:CreateLogStream", "logs:PutLogEvents"}, rule.id
        logs = next(s for s in statements if "logs:PutLogEvents" in s["Action"])
        assert logs["Resource"] == {"Fn::GetAtt": [f"{rule.logical_id}LogGroup", "Arn"]}, "its own log group only"


def test_the_scorer_may_read_its_aggregator_and_publish_scores_only(templates):
    resources = templates["cloudformation/organization-score.yaml"]["Resources"]
    [policy] = resources["ScorerRole"]["Properties"]["Policies"]
    statements = {statement["Sid"]: statement for statement in policy["PolicyDocument"]["Statement"]}
    assert statements["ReadTheAggregator"]["Action"] == ["config:SelectAggregateResourceConfig"]
    assert statements["ReadTheAggregator"]["Resource"] == {"Fn::GetAtt": ["Aggregator", "ConfigurationAggregatorArn"]}
    assert statements["PublishScores"]["Action"] == ["cloudwatch:PutMetricData"]
    assert statements["PublishScores"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "pipesec"}}
    assert statements["OwnLogGroup"]["Resource"] == {"Fn::GetAtt": ["ScorerLogGroup", "Arn"]}
    assert set(statements) == {"ReadTheAggregator", "PublishScores", "OwnLogGroup"}
    trust = resources["AggregatorRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"}, "Action": "sts:AssumeRole",
                      "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]


def test_the_cli_read_role_trusts_one_role_in_the_organization_and_reads_only(templates, catalog):
    role = templates["cloudformation/cli-read-role.yaml"]["Resources"]["ReadRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Ref": "TrustedRoleArn"}}
    assert trust["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}
    pattern = templates["cloudformation/cli-read-role.yaml"]["Parameters"]["TrustedRoleArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, "arn:aws:iam::111122223333:role/pipesec-cli")
    for wide in ("*", "arn:aws:iam::111122223333:root", "arn:aws:iam::*:role/pipesec-cli",
                 "arn:aws:iam::111122223333:role/pipesec/*"):
        assert not re.fullmatch(pattern, wide), wide
    [policy] = role["Policies"]
    granted = {action for statement in policy["PolicyDocument"]["Statement"] for action in statement["Action"]}
    assert granted == {action for rule in catalog.rules for action in rule.reads}


@pytest.mark.parametrize("path", list(TEMPLATES))
def test_pack_policies_are_least_privilege(path, templates):
    assert iam.all_problems(templates[path]) == []


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


def trusting(principal, condition=None) -> dict:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Statement": [statement]}}}}}


def test_the_trust_check_fails_on_a_path_wildcard_or_any_account():
    # The old member role: any role under a path of the central account.
    assert iam.all_problems(trusting({"AWS": "arn:aws:iam::210987654321:root"},
                                     {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::210987654321:role/pipesec/rules/*"}}))
    assert iam.all_problems(trusting({"AWS": "arn:aws:iam::210987654321:role/pipesec/*"}))
    assert iam.all_problems(trusting({"AWS": "*"}))
    assert iam.all_problems(trusting("*"))
    assert iam.all_problems(trusting({"Service": "ssm.amazonaws.com"},
                                     {"ArnLike": {"aws:SourceArn": "arn:aws:ssm:*:*:automation-execution/*"}}))
    # Exact principals pass; a wildcard only in the source resource's name (own account) passes.
    assert not iam.all_problems(trusting({"AWS": "arn:aws:iam::210987654321:role/pipesec/rules/one"}))
    assert not iam.all_problems(trusting({"Service": "ssm.amazonaws.com"}, {"ArnLike": {"aws:SourceArn": {
        "Fn::Sub": "arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:automation-execution/*"}}}))


def test_the_permission_check_fails_on_a_service_permission_without_its_account():
    def permission(**conditions):
        return {"Resources": {"P": {"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": "f", "Action": "lambda:InvokeFunction", "Principal": "config.amazonaws.com",
            **conditions}}}}

    assert iam.all_problems(permission())
    assert not iam.all_problems(permission(SourceAccount={"Ref": "AWS::AccountId"}))
    assert iam.all_problems(permission(SourceArn="arn:aws:config:us-east-1:*:config-rule/*"))


def test_the_assume_role_check_fails_on_roles_of_any_account():
    def granting(resource):
        return {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": []},
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [
                {"Sid": "Assume", "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": resource}]}}]}}}}

    # The old rule roles' grant.
    found = iam.all_problems(granting({"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${ExecutionRoleName}"}))
    assert any("roles of any account" in problem for problem in found), found
    assert iam.assume_role_problems(granting("*"))
    assert not iam.assume_role_problems(granting("arn:aws:iam::123456789012:role/reader"))


def test_generation_stops_on_a_policy_that_fails_the_check(catalog, monkeypatch):
    from deploy import remediation

    original = remediation.role_statements
    monkeypatch.setattr(remediation, "role_statements", lambda catalog: [
        *original(catalog), {"Sid": "Assume", "Effect": "Allow", "Action": ["sts:AssumeRole"],
                      "Resource": "arn:aws:iam::*:role/pipesec-config-rules"}])
    with pytest.raises(iam.LeastPrivilegeError, match="cloudformation/remediation.yaml: .*roles of any account"):
        outputs(catalog)


def test_remediation_role_updates_only_opted_in_projects(templates):
    from deploy.remediation import REMEDIATION_TAG_KEY, REMEDIATION_TAG_VALUE

    role = templates["cloudformation/remediation.yaml"]["Resources"]["AutomationRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    updates = [s for s in statements if "codebuild:UpdateProject" in s["Action"]]
    assert updates and all(s["Condition"] == {"StringEquals": {
        f"aws:ResourceTag/{REMEDIATION_TAG_KEY}": REMEDIATION_TAG_VALUE}} for s in updates)
    assert all(s["Action"] == ["codebuild:UpdateProject"] for s in updates), "nothing else under the condition"
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "ssm.amazonaws.com"}
    assert set(trust["Condition"]) == {"StringEquals", "ArnLike"}


def test_remediation_role_changes_only_the_accounts_buckets_its_pattern_names(templates):
    from deploy.remediation import BUCKET_ACTIONS, BUCKET_PATTERN_PARAMETER, DEFAULT_BUCKET_PATTERN

    template = templates["cloudformation/remediation.yaml"]
    statements = template["Resources"]["AutomationRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    on_buckets = [s for s in statements if any(action.startswith("s3:") for action in s["Action"])]
    assert on_buckets == [{
        "Sid": "SecureArtifactBuckets", "Effect": "Allow", "Action": BUCKET_ACTIONS,
        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ArtifactBucketPattern}"},
        "Condition": {"StringEquals": {"s3:ResourceAccount": {"Ref": "AWS::AccountId"}}},
    }], "every S3 action, reads too, on the named buckets of the account only"
    parameter = template["Parameters"][BUCKET_PATTERN_PARAMETER]
    assert parameter["Default"] == DEFAULT_BUCKET_PATTERN == "codepipeline-*"
    pattern = re.compile(parameter["AllowedPattern"])
    for good in ("codepipeline-*", "payments-artifacts", "team-?-artifacts.v2"):
        assert pattern.fullmatch(good), good
    for bad in ("", "arn:aws:s3:::x", "Bucket", "a/b"):
        assert not pattern.fullmatch(bad), bad


# --- the organization path ------------------------------------------------------------------------


def test_organization_deploys_functions_then_the_pack_with_service_managed_auto_deployment(templates):
    resources = templates["cloudformation/organization.yaml"]["Resources"]
    functions, pack = resources["FunctionsStackSet"]["Properties"], resources["PackStackSet"]["Properties"]
    for stack_set in (functions, pack):
        assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
        assert stack_set["AutoDeployment"]["Enabled"] is True
        assert stack_set["StackInstancesGroup"] == [{
            "DeploymentTargets": {"OrganizationalUnitIds": {"Ref": "OrganizationalUnitIds"}},
            "Regions": {"Ref": "Regions"}}]
    assert pack["AutoDeployment"]["DependsOn"] == [{"Fn::Sub": (
        "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stackset/${FunctionsStackSet}")}]
    values = {p["ParameterKey"]: p["ParameterValue"] for p in functions["Parameters"]}
    assert values["CreateConfigRules"] == "false", "the pack creates the rules"
    organization = templates["cloudformation/organization.yaml"]["Parameters"]
    passed = {p["ParameterKey"]: p["ParameterValue"] for p in pack["Parameters"]}
    pack_parameters = templates["conformance-pack.yaml"]["Parameters"]
    assert set(passed) == set(pack_parameters) - {"RemediationRoleName", "AutomaticRemediation"}
    assert all(passed[name] == {"Ref": name} and organization[name] == pack_parameters[name] for name in passed)
    assert values["RegionalCodeBucket"] == "true", "Lambda reads code from a bucket of its own region"


def test_member_pack_is_the_conformance_pack_with_every_parameter_passed_through(templates):
    member = templates["cloudformation/member-pack.yaml"]
    properties = member["Resources"]["ConformancePack"]["Properties"]
    body = properties["TemplateBody"]
    assert body == (REPO / "conformance-pack.yaml").read_text()
    assert len(body.encode()) <= MAX_TEMPLATE_BYTES
    passed = {p["ParameterName"]: p["ParameterValue"] for p in properties["ConformancePackInputParameters"]}
    assert passed == {name: {"Ref": name} for name in templates["conformance-pack.yaml"]["Parameters"]}
    assert member["Parameters"] == templates["conformance-pack.yaml"]["Parameters"]


def test_severity_automation_rules_cover_every_rule_with_its_label(catalog, templates):
    from deploy.severity import CONFIG_PRODUCT_NAME, finding_titles, matches

    rules = resources_of(templates["cloudformation/securityhub-severity.yaml"], "AWS::SecurityHub::AutomationRule")
    assert 0 < len(rules) <= 100
    for rule in catalog.rules:
        for title in finding_titles(rule):
            labels = [r["Properties"]["Actions"][0]["FindingFieldsUpdate"]["Severity"]["Label"]
                      for r in rules.values() if matches(r["Properties"]["Criteria"]["Title"], title)]
            assert labels == [rule.severity], title
    for automation in rules.values():
        criteria = automation["Properties"]["Criteria"]
        assert criteria["ProductName"] == [{"Comparison": "EQUALS", "Value": CONFIG_PRODUCT_NAME}]
        assert len(criteria["Title"]) <= 100
        assert automation["Properties"]["Actions"][0]["Type"] == "FINDING_FIELDS_UPDATE"


def test_a_rule_name_that_prefixes_another_gets_no_other_rules_severity():
    from deploy import severity
    from deploy.catalog import Catalog

    def rule(rule_id, label):
        return {"id": rule_id, "resourceType": "AWS::CodeBuild::Project", "parameters": [], "severity": label,
                "remediation": "", "reads": [], "periodic": False, "inputs": []}

    catalog = Catalog.from_json({"engineActions": [], "rules": [
        rule("codebuild-project-a", "LOW"), rule("codebuild-project-a-b", "CRITICAL")]})
    groups = severity.automation_rules(catalog)
    assert severity.disjointness_problems(groups, catalog.rules) == []
    severity.template(catalog)  # generates
    # The naive criteria (PREFIX the rule name) would give pipesec-codebuild-project-a-b LOW as well.
    naive = lambda r: [{"Comparison": "PREFIX", "Value": r.config_rule_name}]  # noqa: E731
    original = severity.title_filters
    try:
        severity.title_filters = naive
        assert any("pipesec-codebuild-project-a-b" in problem and "LOW" in problem
                   for problem in severity.disjointness_problems(groups, catalog.rules))
        with pytest.raises(ValueError, match="overlap"):
            severity.template(catalog)
    finally:
        severity.title_filters = original


def test_central_alerts_take_failed_pipesec_findings_at_or_above_the_minimum(templates):
    template = templates["cloudformation/central-alerting.yaml"]
    rule = template["Resources"]["FindingsRule"]["Properties"]
    findings = rule["EventPattern"]["detail"]["findings"]
    assert findings["Compliance"] == {"Status": ["FAILED"]}
    assert findings["Workflow"] == {"Status": ["NEW"]}, "NOTIFIED / SUPPRESSED findings do not alert again"
    assert findings["Severity"]["Label"] == {"Fn::FindInMap": ["SeverityAtOrAbove", {"Ref": "MinimumSeverity"},
                                                              "Labels"]}
    mapping = template["Mappings"]["SeverityAtOrAbove"]
    assert mapping["HIGH"]["Labels"] == ["HIGH", "CRITICAL"]
    assert mapping["LOW"]["Labels"] == ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
    paths = rule["Targets"][0]["InputTransformer"]["InputPathsMap"]
    assert set(paths) == {"account", "region", "rule", "resource", "severity"}
    topic = template["Resources"]["AlertTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlertKey", "Arn"]}
