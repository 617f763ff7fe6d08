"""End to end: `codebuild-project-service-role-least-privilege` through the Lambda Runtime API
against the emulator, with real IAM roles and policies. Every verdict is read back through
Config's API; IAM reads are counted by the emulator.

moto returns inline policy documents (GetRolePolicy) URL-encoded, as IAM does, so the rule's
decoding is exercised for real; it returns GetPolicyVersion documents as plain JSON where IAM
encodes them too, so customer managed policies take the plain path here (the unit tests cover
both encodings for both).

AWS managed policies (`arn:aws:iam::aws:policy/...`) only exist in moto when it starts with
MOTO_IAM_LOAD_MANAGED_POLICIES=true, so this module runs its own emulator with that setting
(`emulator_process` below overrides the session-wide one). The price is 1-2 s at the first IAM
call after each reset, when moto loads them again.

The `rule` fixture and `results` helper are small copies of those in test_rules_e2e.py."""

import json
import os
from pathlib import Path

import pytest

from testbed import events, seed
from testbed.emulator import Emulator
from testbed.lambda_runtime import LambdaFunction
from testbed.results import compliance

REPO = Path(__file__).resolve().parent.parent
BIN_DIR = Path(os.environ.get("PIPESEC_BIN_DIR", REPO / "target" / "debug"))

RULE = "codebuild-project-service-role-least-privilege"
ACCOUNT = "123456789012"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
POWER_USER = "arn:aws:iam::aws:policy/PowerUserAccess"
S3_READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def document(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def logs_statement(project):
    return {
        "Sid": "Logs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/codebuild/{project}:*",
    }


SCOPED = document(
    logs_statement("app"),
    {"Sid": "Artifacts", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
     "Resource": "arn:aws:s3:::example-artifacts/*"},
    {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
)
WRITE_ANYWHERE = document(
    logs_statement("app"),
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"},
)
READ_ANYWHERE = document({"Sid": "Inventory", "Effect": "Allow", "Action": ["s3:Get*", "ec2:Describe*"], "Resource": "*"})
EVERYTHING = {"Version": "2012-10-17", "Statement": {"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}}
DENY_EVERYTHING = document({"Sid": "Frozen", "Effect": "Deny", "Action": "*", "Resource": "*"})
NOT_ACTION = document({"Sid": "AllButIam", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})


@pytest.fixture(scope="module")
def emulator_process():
    """This module's emulator: moto with the AWS managed policies loaded."""
    with Emulator.start(env={"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}) as emulator:
        yield emulator


@pytest.fixture
def rule(emulator):
    """Starts the rule binary as a Lambda function pointed at the emulator."""
    started = []

    def start():
        binary = BIN_DIR / RULE
        if not binary.exists():
            pytest.fail(f"{binary} is missing: build the rules first (cargo build --bins)")
        function = LambdaFunction(binary, RULE, {"AWS_ENDPOINT_URL": emulator.url}).start()
        started.append(function)
        return function

    yield start
    for function in started:
        function.stop()


def results(aws, rule_name):
    """{resource id: (compliance, annotation)} as Config reports it for the rule."""
    return compliance(aws("config"), rule_name)


def create_role(iam, name, managed=(), inline=None):
    """A CodeBuild service role with the given attached policy ARNs and inline documents."""
    arn = seed.create_role(iam, name)["Arn"]
    for policy_arn in managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    for policy_name, policy_document in (inline or {}).items():
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy_document))
    return arn


def create_policy(iam, name, policy_document):
    return iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(policy_document))["Policy"]["Arn"]


def project_with_role(aws, project, role_arn):
    """A project using the role; returns the event-model item Config recorded for it."""
    seed.create_project(aws("codebuild"), project, role_arn)
    return seed.recorded_item(aws("config"), project)


def evaluate_change(rule, aws, item, **event_options):
    result = rule().invoke(events.change_event(item, RULE, **event_options))
    assert result.ok, f"{result.error_type}: {result.error_message}"
    return results(aws, RULE)[item["resourceId"]]


ROLES = {
    # scenario: (attached AWS managed policies, customer managed {name: document}, inline {name: document})
    "least-privilege": ((S3_READ_ONLY,), {}, {"build": SCOPED}),
    "read-only-anywhere": ((), {}, {"inventory": READ_ANYWHERE}),
    "deny-everything": ((), {}, {"build": SCOPED, "frozen": DENY_EVERYTHING}),
    "administrator-access": ((ADMIN,), {}, {}),
    "power-user": ((POWER_USER,), {}, {"build": SCOPED}),
    "customer-managed-wildcard": ((), {"ci-everything": EVERYTHING}, {}),
    "inline-write-anywhere": ((), {}, {"upload": WRITE_ANYWHERE}),
    "not-action": ((), {}, {"all-but-iam": NOT_ACTION}),
}


def role_for(aws, scenario):
    iam = aws("iam")
    managed, customer, inline = ROLES[scenario]
    customer_arns = [create_policy(iam, name, policy) for name, policy in customer.items()]
    return create_role(iam, f"codebuild-{scenario}", [*managed, *customer_arns], inline)


@pytest.mark.parametrize(
    "scenario, compliance, named",
    [
        ("least-privilege", "COMPLIANT", "no administrator, full-access or wildcard write permission"),
        ("read-only-anywhere", "COMPLIANT", "codebuild-read-only-anywhere"),
        ("deny-everything", "COMPLIANT", "codebuild-deny-everything"),
        ("administrator-access", "NON_COMPLIANT", f"AWS managed policy `{ADMIN}` grants administrator access"),
        ("power-user", "NON_COMPLIANT", f"`{POWER_USER}` grants power-user access"),
        (
            "customer-managed-wildcard",
            "NON_COMPLIANT",
            f"policy `arn:aws:iam::{ACCOUNT}:policy/ci-everything` statement `Everything` allows every action",
        ),
        (
            "inline-write-anywhere",
            "NON_COMPLIANT",
            "inline policy `upload` Statement[1] allows write actions on every resource: s3:PutObject",
        ),
        ("not-action", "NON_COMPLIANT", "inline policy `all-but-iam` statement `AllButIam` allows every action but"),
    ],
)
def test_change_event_judges_the_service_role(rule, aws, emulator, scenario, compliance, named):
    item = project_with_role(aws, "app", role_for(aws, scenario))
    emulator.reset_calls()
    verdict = evaluate_change(rule, aws, item)
    assert verdict[0] == compliance, verdict
    assert named in verdict[1], verdict
    calls = emulator.calls()
    assert calls["iam.ListAttachedRolePolicies"] == 1 and calls["iam.ListRolePolicies"] == 1
    assert calls.get("iam.GetRolePolicy", 0) == len(ROLES[scenario][2])
    assert calls.get("iam.GetPolicyVersion", 0) == len(ROLES[scenario][1]), "AWS managed policies are not read"


def test_allow_listed_policies_are_not_reported(rule, aws):
    item = project_with_role(aws, "app", role_for(aws, "administrator-access"))
    verdict = evaluate_change(rule, aws, item, rule_parameters={"allowedPolicyArns": f"{ADMIN}, {POWER_USER}"})
    assert verdict[0] == "COMPLIANT", verdict


def test_deleted_role_is_not_applicable_and_named(rule, aws):
    role_arn = create_role(aws("iam"), "codebuild-retired")
    item = project_with_role(aws, "app", role_arn)
    aws("iam").delete_role(RoleName="codebuild-retired")
    verdict = evaluate_change(rule, aws, item)
    assert verdict == ("NOT_APPLICABLE", f"service role `{role_arn}` no longer exists in IAM")


def test_oversized_event_reads_the_history_then_the_role(rule, aws, emulator):
    item = project_with_role(aws, "app", role_for(aws, "administrator-access"))
    emulator.reset_calls()
    result = rule().invoke(events.oversized_event(item, RULE))
    assert result.ok, result.error_message
    calls = emulator.calls()
    assert calls["config.GetResourceConfigHistory"] == 1
    assert calls["iam.ListAttachedRolePolicies"] == 1
    compliance, annotation = results(aws, RULE)[item["resourceId"]]
    assert compliance == "NON_COMPLIANT" and ADMIN in annotation


def test_sweep_over_30_projects_reads_each_of_3_roles_once(rule, aws, emulator):
    iam, codebuild = aws("iam"), aws("codebuild")
    shared_policy = create_policy(iam, "ci-everything", EVERYTHING)
    roles = [
        create_role(iam, "codebuild-scoped", inline={"build": SCOPED}),
        create_role(iam, "codebuild-admin", managed=[ADMIN, shared_policy]),
        create_role(iam, "codebuild-legacy", managed=[shared_policy], inline={"upload": WRITE_ANYWHERE}),
    ]
    for i in range(30):
        seed.create_project(codebuild, f"svc-{i:02d}", roles[i % 3])
    emulator.reset_calls()
    result = rule().invoke(events.scheduled_event(RULE))
    assert result.ok, result.error_message
    assert result.payload == {"rule": RULE, "evaluations": 30, "compliant": 10, "nonCompliant": 20, "notApplicable": 0,
                              "notReached": 0}
    calls = emulator.calls()
    iam_calls = {name: count for name, count in calls.items() if name.startswith("iam.")}
    assert iam_calls == {
        "iam.ListAttachedRolePolicies": 3,
        "iam.ListRolePolicies": 3,
        "iam.GetRolePolicy": 2,
        "iam.GetPolicy": 1,
        "iam.GetPolicyVersion": 1,
    }
    assert calls["config.PutEvaluations"] == 1
    found = results(aws, RULE)
    assert len(found) == 30
    legacy = [annotation for compliance, annotation in found.values() if "codebuild-legacy" in annotation]
    assert len(legacy) == 10
    assert all("ci-everything` statement `Everything` allows every action" in a for a in legacy), legacy[0]


def test_invalid_allowed_policy_arns_fail_before_any_call(rule, aws, emulator):
    item = project_with_role(aws, "app", role_for(aws, "administrator-access"))
    emulator.reset_calls()
    result = rule().invoke(events.change_event(item, RULE, rule_parameters={"allowedPolicyArns": "AdministratorAccess"}))
    assert (result.ok, result.error_type) == (False, "InvalidParameterValueException")
    assert "allowedPolicyArns" in result.error_message
    assert emulator.calls() == {}
