"""Fault injection on the AWS side: the real rule binaries against the emulator, which
answers chosen operations with throttling, 5xx, AccessDenied, partial FailedEvaluations or a
slow answer (the test bed's fault control route, `Emulator.set_faults`).

Every row runs a rule twice over the same account: once without faults (the baseline, under one
rule name) and once with them (under another). A fault the pack must ride out has to leave
exactly the baseline's results in Config, read back through GetComplianceDetailsByConfigRule; a
fault it cannot ride out has to fail the invocation loudly (so Config retries it), naming the
action and the principal for AccessDenied, and whatever it stored before failing must agree with
the baseline: no evaluation lost silently, no contradictory result. The faulted operation must
have fired (the emulator counts it), so a row whose fault never fired fails.

The table of faults and outcomes is printed at the end of the run (conftest.py).
"""

from dataclasses import dataclass, field

import pytest

from testbed import events, seed
from testbed.results import compliance

PRIVILEGED = "codebuild-project-privileged-mode-disabled"
NOT_PUBLIC = "codebuild-project-not-public"
LEAST_PRIVILEGE = "codebuild-project-service-role-least-privilege"
PROJECTS = 120  # two pages of SelectResourceConfig, BatchGetProjects and PutEvaluations
ROLES = 3
# Short attempts, so a slow answer costs the test seconds, not the production 20 s.
ATTEMPT_TIMEOUT = {"PIPESEC_ATTEMPT_TIMEOUT_SECONDS": "1"}

# Filled by the tests, printed by conftest.py's terminal summary.
FAULT_TABLE: list[dict] = []


@dataclass
class Row:
    """One fault and what the pack must make of it."""

    rule: str
    trigger: str  # "sweep" or "oversized"
    faults: dict
    # None: the invocation succeeds with the baseline's results; else (error type, words the
    # error message must hold).
    failure: tuple[str, tuple[str, ...]] | None = None
    env: dict = field(default_factory=dict)
    parameters: dict | None = None

    @property
    def operation(self) -> str:
        name = next(iter(self.faults))
        return "config.PutEvaluations" if name == "PutEvaluations" else name


ROWS = {
    "put-evaluations-throttled-twice": Row(PRIVILEGED, "sweep", {"config.PutEvaluations": {"error": "throttle", "times": 2}}),
    "put-evaluations-500-twice": Row(PRIVILEGED, "sweep", {"config.PutEvaluations": {"error": "server", "times": 2}}),
    "put-evaluations-503-once": Row(PRIVILEGED, "sweep", {"config.PutEvaluations": {"error": "unavailable", "times": 1}}),
    "put-evaluations-partial-failure": Row(PRIVILEGED, "sweep", {"PutEvaluations": {"failFirst": 7, "times": 2}}),
    "put-evaluations-partial-failure-persists": Row(
        PRIVILEGED, "sweep", {"PutEvaluations": {"failFirst": 7, "times": 50}},
        failure=("FailedEvaluationsException", ("rejected",))),
    "put-evaluations-timeout": Row(PRIVILEGED, "sweep", {"config.PutEvaluations": {"delay": 2.5, "times": 1}},
                                   env=ATTEMPT_TIMEOUT),
    "put-evaluations-access-denied": Row(
        PRIVILEGED, "sweep", {"config.PutEvaluations": {"error": "denied", "times": 1}},
        failure=("AccessDeniedException", ("config:PutEvaluations", "execution role"))),
    "select-resource-config-throttled": Row(PRIVILEGED, "sweep",
                                            {"config.SelectResourceConfig": {"error": "throttle", "times": 2}}),
    "select-resource-config-timeout": Row(PRIVILEGED, "sweep",
                                          {"config.SelectResourceConfig": {"delay": 2.5, "times": 1}}, env=ATTEMPT_TIMEOUT),
    "compliance-details-throttled": Row(PRIVILEGED, "sweep",
                                        {"config.GetComplianceDetailsByConfigRule": {"error": "throttle", "times": 2}}),
    "history-throttled": Row(PRIVILEGED, "oversized", {"config.GetResourceConfigHistory": {"error": "throttle", "times": 2}}),
    "history-500": Row(PRIVILEGED, "oversized", {"config.GetResourceConfigHistory": {"error": "server", "times": 2}}),
    "history-timeout": Row(PRIVILEGED, "oversized", {"config.GetResourceConfigHistory": {"delay": 2.5, "times": 1}},
                           env=ATTEMPT_TIMEOUT),
    "history-access-denied": Row(
        PRIVILEGED, "oversized", {"config.GetResourceConfigHistory": {"error": "denied", "times": 1}},
        failure=("AccessDeniedException", ("config:GetResourceConfigHistory", "execution role"))),
    "batch-get-projects-throttled": Row(NOT_PUBLIC, "sweep", {"codebuild.BatchGetProjects": {"error": "throttle", "times": 2}}),
    "batch-get-projects-503": Row(NOT_PUBLIC, "sweep", {"codebuild.BatchGetProjects": {"error": "unavailable", "times": 2}}),
    "batch-get-projects-timeout": Row(NOT_PUBLIC, "sweep", {"codebuild.BatchGetProjects": {"delay": 2.5, "times": 1}},
                                      env=ATTEMPT_TIMEOUT),
    "batch-get-projects-500-every-time": Row(
        NOT_PUBLIC, "sweep", {"codebuild.BatchGetProjects": {"error": "server", "times": 100}},
        failure=("AwsServiceException", ("codebuild:BatchGetProjects", "InternalFailure"))),
    "batch-get-projects-access-denied": Row(
        NOT_PUBLIC, "sweep", {"codebuild.BatchGetProjects": {"error": "denied", "times": 1}},
        failure=("AccessDeniedException", ("codebuild:BatchGetProjects", "execution role"))),
    "iam-list-attached-throttled": Row(LEAST_PRIVILEGE, "sweep",
                                       {"iam.ListAttachedRolePolicies": {"error": "throttle", "times": 2}}),
    "iam-get-role-policy-500": Row(LEAST_PRIVILEGE, "sweep", {"iam.GetRolePolicy": {"error": "server", "times": 2}}),
    "iam-get-policy-version-timeout": Row(LEAST_PRIVILEGE, "sweep", {"iam.GetPolicyVersion": {"delay": 2.5, "times": 1}},
                                          env=ATTEMPT_TIMEOUT),
    "iam-list-role-policies-access-denied": Row(
        LEAST_PRIVILEGE, "sweep", {"iam.ListRolePolicies": {"error": "denied", "times": 1}},
        failure=("AccessDeniedException", ("iam:ListRolePolicies", "execution role"))),
}


def seed_account(aws) -> dict:
    """PROJECTS projects over ROLES service roles (inline and customer managed policies, some
    too broad), every fifth privileged, every seventh public. Returns one project's item."""
    iam, codebuild = aws("iam"), aws("codebuild")
    policy = iam.create_policy(PolicyName="builds-read", PolicyDocument=(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}'))
    roles = []
    for index in range(ROLES):
        role = seed.create_role(iam, f"build-role-{index}")
        action = "*" if index == 0 else "logs:PutLogEvents"
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="inline", PolicyDocument=(
            f'{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "{action}", "Resource": "*"}}]}}'))
        iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=policy["Policy"]["Arn"])
        roles.append(role)
    for index in range(PROJECTS):
        name = f"svc-{index:03d}"
        seed.create_project(codebuild, name, roles[index % ROLES]["Arn"], privileged=index % 5 == 0)
        if index % 7 == 0:
            seed.set_project_visibility(codebuild, name, "PUBLIC_READ", roles[0]["Arn"])
    return seed.recorded_item(aws("config"), "svc-000")


def event(row: Row, rule_name: str, item: dict) -> dict:
    if row.trigger == "oversized":
        return events.oversized_event(item, rule_name, rule_parameters=row.parameters)
    return events.scheduled_event(rule_name, rule_parameters=row.parameters)


@pytest.mark.parametrize("name", ROWS)
def test_fault(name, rule, aws, emulator):
    row = ROWS[name]
    item = seed_account(aws)
    function = rule(row.rule, **row.env)

    emulator.reset_calls()
    baseline_result = function.invoke(event(row, "baseline", item))
    assert baseline_result.ok, f"{baseline_result.error_type}: {baseline_result.error_message}"
    baseline_calls = emulator.calls()
    baseline = compliance(aws("config"), "baseline")
    assert baseline, "the baseline stored results"

    emulator.set_faults(row.faults)
    emulator.reset_calls()
    result = function.invoke(event(row, "faulted", item))
    calls = emulator.calls()
    fired = emulator.faults_fired().get(row.operation, 0)
    emulator.set_faults({})
    stored = compliance(aws("config"), "faulted")

    outcome = "recovered" if result.ok else f"failed: {result.error_type}"
    FAULT_TABLE.append({
        "fault": name, "rule": row.rule, "trigger": row.trigger, "operation": row.operation,
        "fired": fired, "calls": f"{baseline_calls.get(row.operation, 0)} -> {calls.get(row.operation, 0)}",
        "outcome": outcome, "results": f"{len(stored)}/{len(baseline)}",
    })

    assert fired > 0, f"the fault on {row.operation} never fired: {calls}"
    contradicting = {resource: (verdict[0], baseline.get(resource, ("absent",))[0])
                     for resource, verdict in stored.items() if baseline.get(resource, ("",))[0] != verdict[0]}
    assert not contradicting, f"results that contradict the fault-free run: {contradicting}"
    if row.failure is None:
        assert result.ok, f"{result.error_type}: {result.error_message}"
        assert {resource: verdict[0] for resource, verdict in stored.items()} == \
            {resource: verdict[0] for resource, verdict in baseline.items()}, "every evaluation reached Config"
    else:
        error_type, words = row.failure
        assert not result.ok, "the invocation must fail loudly so Config retries it"
        assert result.error_type == error_type, f"{result.error_type}: {result.error_message}"
        for word in words:
            assert word in result.error_message, f"{word!r} not in: {result.error_message}"
