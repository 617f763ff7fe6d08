"""End to end: the real rule binaries, driven through the Lambda Runtime API with the events
AWS Config sends, against the emulator; every verdict is read back through Config's API, as a
user's dashboard would read it."""

import json

import pytest

from testbed import events, seed
from testbed.results import compliance
from testbed.tokens import TESTMODE

PRIVILEGED = "codebuild-project-privileged-mode-disabled"
SECRETS = "codebuild-project-no-plaintext-secrets"
PROJECT = "AWS::CodeBuild::Project"
CANARY = "pipesec-canary-7Qx9Lm2Rt4Vz"


@pytest.fixture
def role(aws):
    return seed.create_role(aws("iam"))


def results(aws, rule_name):
    return compliance(aws("config"), rule_name)


def evaluate_change(rule, aws, rule_id, item, **event_options):
    result = rule(rule_id).invoke(events.change_event(item, rule_id, **event_options))
    assert result.ok, f"{result.error_type}: {result.error_message}"
    return results(aws, rule_id)


def test_privileged_project_is_non_compliant_with_a_reason(rule, aws, role):
    seed.create_project(aws("codebuild"), "image-builder", role["Arn"], privileged=True)
    item = seed.recorded_item(aws("config"), "image-builder")
    found = evaluate_change(rule, aws, PRIVILEGED, item)
    compliance, annotation = found[item["resourceId"]]
    assert compliance == "NON_COMPLIANT"
    assert "privileged mode is enabled" in annotation


def test_unprivileged_project_is_compliant(rule, aws, role):
    seed.create_project(aws("codebuild"), "api", role["Arn"], privileged=False)
    item = seed.recorded_item(aws("config"), "api")
    assert evaluate_change(rule, aws, PRIVILEGED, item)[item["resourceId"]][0] == "COMPLIANT"


def test_exempted_project_is_compliant_and_says_why(rule, aws, role):
    seed.create_project(aws("codebuild"), "image-builder", role["Arn"], privileged=True)
    item = seed.recorded_item(aws("config"), "image-builder")
    found = evaluate_change(rule, aws, PRIVILEGED, item, rule_parameters={"exemptedProjects": "image-builder, other"})
    assert found[item["resourceId"]][0] == "COMPLIANT"
    assert "exempted" in found[item["resourceId"]][1]


def test_deleted_project_is_not_applicable(rule, aws, role):
    seed.create_project(aws("codebuild"), "image-builder", role["Arn"], privileged=True)
    item = seed.recorded_item(aws("config"), "image-builder")
    evaluate_change(rule, aws, PRIVILEGED, item)
    found = evaluate_change(rule, aws, PRIVILEGED, events.deleted(item))
    assert found[item["resourceId"]][0] == "NOT_APPLICABLE"


def test_project_that_left_the_scope_is_not_applicable(rule, aws, role):
    seed.create_project(aws("codebuild"), "image-builder", role["Arn"], privileged=True)
    item = seed.recorded_item(aws("config"), "image-builder")
    found = evaluate_change(rule, aws, PRIVILEGED, item, event_left_scope=True)
    assert found[item["resourceId"]][0] == "NOT_APPLICABLE"


def test_other_resource_type_is_not_applicable(rule, aws, role):
    seed.create_project(aws("codebuild"), "api", role["Arn"])
    item = dict(seed.recorded_item(aws("config"), "api"), resourceType="AWS::S3::Bucket", resourceId="bucket-1")
    found = evaluate_change(rule, aws, PRIVILEGED, item)
    assert found["bucket-1"][0] == "NOT_APPLICABLE"


def test_oversized_event_reads_the_history_and_gives_the_same_verdict(rule, aws, emulator, role):
    seed.create_project(aws("codebuild"), "image-builder", role["Arn"], privileged=True)
    item = seed.recorded_item(aws("config"), "image-builder")
    normal = evaluate_change(rule, aws, PRIVILEGED, item)[item["resourceId"]]
    emulator.reset_calls()
    result = rule(PRIVILEGED).invoke(events.oversized_event(item, "oversized-rule"))
    assert result.ok, result.error_message
    assert emulator.calls().get("config.GetResourceConfigHistory") == 1
    assert results(aws, "oversized-rule")[item["resourceId"]] == normal


def test_sweep_over_250_projects_reports_in_3_calls(rule, aws, emulator, role):
    codebuild = aws("codebuild")
    for i in range(250):
        seed.create_project(codebuild, f"svc-{i:03d}", role["Arn"], privileged=i % 5 == 0)
    emulator.reset_calls()
    result = rule(PRIVILEGED).invoke(events.scheduled_event(PRIVILEGED))
    assert result.ok, result.error_message
    assert result.payload == {"rule": PRIVILEGED, "evaluations": 250, "compliant": 200, "nonCompliant": 50, "notApplicable": 0,
                              "notReached": 0}
    calls = emulator.calls()
    assert calls["config.PutEvaluations"] == 3
    assert calls["config.SelectResourceConfig"] == 3
    assert "codebuild.BatchGetProjects" not in calls, "the privileged-mode rule decides from the inventory alone"
    found = results(aws, PRIVILEGED)
    assert len(found) == 250
    assert sum(compliance == "NON_COMPLIANT" for compliance, _ in found.values()) == 50


def test_project_deleted_between_sweeps_becomes_not_applicable(rule, aws, role):
    codebuild = aws("codebuild")
    for name in ("kept", "doomed"):
        seed.create_project(codebuild, name, role["Arn"], privileged=True)
    doomed_id = seed.recorded_item(aws("config"), "doomed")["resourceId"]
    function = rule(PRIVILEGED)
    assert function.invoke(events.scheduled_event(PRIVILEGED)).ok
    assert results(aws, PRIVILEGED)[doomed_id][0] == "NON_COMPLIANT"
    codebuild.delete_project(name="doomed")
    second = function.invoke(events.scheduled_event(PRIVILEGED))
    assert second.ok, second.error_message
    found = results(aws, PRIVILEGED)
    assert found[doomed_id] == ("NOT_APPLICABLE", "the resource no longer exists")
    assert [c for c, _ in found.values()].count("NON_COMPLIANT") == 1


def test_bad_parameters_are_a_config_error_and_report_nothing(rule, aws, emulator, role):
    seed.create_project(aws("codebuild"), "image-builder", role["Arn"], privileged=True)
    item = seed.recorded_item(aws("config"), "image-builder")
    emulator.reset_calls()
    result = rule(PRIVILEGED).invoke(events.change_event(item, PRIVILEGED, rule_parameters={"exemptProjects": "x"}))
    assert not result.ok
    assert result.error_type == "InvalidParameterValueException"
    assert "exemptProjects" in result.error_message
    assert emulator.calls() == {}, "parameters are validated before any AWS call"
    assert results(aws, PRIVILEGED) == {}


@pytest.mark.parametrize(
    "event, error_type, message",
    [
        pytest.param({"hello": "world"}, "InvalidEventException", "eventLeftScope", id="not-a-config-event"),
        pytest.param(
            {"invokingEvent": "{not json", "resultToken": "t", "eventLeftScope": False, "configRuleName": "r"},
            "InvalidEventException", "not JSON", id="invoking-event-not-json",
        ),
        pytest.param(
            {"invokingEvent": json.dumps({"messageType": "ConfigurationSnapshotDeliveryCompleted"}),
             "resultToken": "t", "eventLeftScope": False, "configRuleName": "r"},
            "InvalidEventException", "ConfigurationSnapshotDeliveryCompleted", id="unsupported-message-type",
        ),
    ],
)
def test_malformed_events_are_clear_errors(rule, emulator, event, error_type, message):
    result = rule(PRIVILEGED).invoke(event)
    assert (result.ok, result.error_type) == (False, error_type)
    assert message in result.error_message
    assert emulator.calls() == {}


def test_test_mode_reports_nothing(rule, aws, role):
    seed.create_project(aws("codebuild"), "image-builder", role["Arn"], privileged=True)
    item = seed.recorded_item(aws("config"), "image-builder")
    result = rule(PRIVILEGED).invoke(events.change_event(item, PRIVILEGED, result_token=TESTMODE))
    assert result.ok, result.error_message
    assert result.payload["nonCompliant"] == 1
    assert results(aws, PRIVILEGED) == {}


def test_rejected_evaluations_are_retried(rule, aws, emulator, role):
    seed.create_project(aws("codebuild"), "image-builder", role["Arn"], privileged=True)
    item = seed.recorded_item(aws("config"), "image-builder")
    emulator.set_faults({"PutEvaluations": {"failFirst": 1, "times": 1}})
    emulator.reset_calls()
    found = evaluate_change(rule, aws, PRIVILEGED, item)
    assert emulator.calls()["config.PutEvaluations"] == 2
    assert found[item["resourceId"]][0] == "NON_COMPLIANT"


def test_evaluations_rejected_every_time_fail_the_invocation(rule, aws, emulator, role):
    seed.create_project(aws("codebuild"), "image-builder", role["Arn"], privileged=True)
    item = seed.recorded_item(aws("config"), "image-builder")
    emulator.set_faults({"PutEvaluations": {"failFirst": 1, "times": 10}})
    result = rule(PRIVILEGED).invoke(events.change_event(item, PRIVILEGED))
    assert (result.ok, result.error_type) == (False, "FailedEvaluationsException")
    assert item["resourceId"] in result.error_message


def test_an_old_deployments_execution_role_name_fails_clearly_and_an_empty_one_is_ignored(rule, aws, emulator, role):
    """The central cross-account mode is gone: a rule still sent ExecutionRoleName by an old
    deployment says so, before any AWS call, instead of evaluating its own account silently."""
    seed.create_project(aws("codebuild"), "image-builder", role["Arn"], privileged=True)
    item = seed.recorded_item(aws("config"), "image-builder")
    emulator.reset_calls()
    result = rule(PRIVILEGED).invoke(events.change_event(item, PRIVILEGED,
                                                         rule_parameters={"ExecutionRoleName": "pipesec-member"}))
    assert (result.ok, result.error_type) == (False, "InvalidParameterValueException")
    assert "cross-account mode was removed" in result.error_message
    assert emulator.calls() == {}, "refused before any call"
    found = evaluate_change(rule, aws, PRIVILEGED, item, rule_parameters={"ExecutionRoleName": ""})
    assert found[item["resourceId"]][0] == "NON_COMPLIANT"


def secret_project(aws, role):
    seed.create_project(
        aws("codebuild"), "payments", role["Arn"],
        variables=[("NODE_ENV", "production", "PLAINTEXT"), ("DB_PASSWORD", CANARY, "PLAINTEXT"),
                   ("API_TOKEN", "/prod/payments/api-token", "PARAMETER_STORE")],
    )
    return seed.recorded_item(aws("config"), "payments")


def test_plaintext_secret_is_non_compliant_and_never_leaks(rule, aws, role):
    item = secret_project(aws, role)
    function = rule(SECRETS)
    result = function.invoke(events.change_event(item, SECRETS))
    assert result.ok, result.error_message
    compliance, annotation = results(aws, SECRETS)[item["resourceId"]]
    assert compliance == "NON_COMPLIANT"
    assert "`DB_PASSWORD`" in annotation and "API_TOKEN" not in annotation
    for output in (annotation, "\n".join(function.logs), json.dumps(result.payload)):
        assert CANARY not in output


def test_masked_values_are_read_from_the_live_project(rule, aws, emulator, role):
    item = secret_project(aws, role)
    for variable in item["configuration"]["environment"]["environmentVariables"]:
        if variable["type"] == "PLAINTEXT":
            variable["value"] = "******"
    emulator.reset_calls()
    function = rule(SECRETS)
    result = function.invoke(events.change_event(item, SECRETS))
    assert result.ok, result.error_message
    assert emulator.calls()["codebuild.BatchGetProjects"] == 1
    compliance, annotation = results(aws, SECRETS)[item["resourceId"]]
    assert compliance == "NON_COMPLIANT" and "`DB_PASSWORD`" in annotation
    assert CANARY not in "\n".join(function.logs)


def test_logs_are_json_with_one_line_per_evaluation(rule, aws, role):
    item = secret_project(aws, role)
    function = rule(SECRETS)
    assert function.invoke(events.change_event(item, SECRETS)).ok
    records = [json.loads(line) for line in function.logs if line.startswith("{")]
    reported = [r for r in records if r.get("message") == "evaluation reported"]
    assert len(reported) == 1
    assert reported[0]["resource_id"] == item["resourceId"] and reported[0]["compliance"] == "NON_COMPLIANT"


def test_an_unreadable_item_error_never_repeats_the_value(rule, aws, role):
    """A secret in a wrong-typed field: the error Lambda and Config show, and the logs, name the
    field and the expected type only."""
    item = secret_project(aws, role)
    item["configuration"]["timeoutInMinutes"] = CANARY
    item["configuration"]["source"] = CANARY
    function = rule(SECRETS)
    result = function.invoke(events.change_event(item, SECRETS))
    assert not result.ok and result.error_type == "InvalidConfigurationItemException", result
    assert "configuration." in result.error_message, result.error_message
    assert CANARY not in result.error_message
    assert CANARY not in "\n".join(function.logs)
