"""Tests of the test bed's controls (testbed/services/control.py): fault injection, reset, the
API call counter and request-rate limits."""

import time
import urllib.error

import pytest

from testbed.tokens import mint_result_token
from testbed_helpers import RULE, all_details, error_code, evaluation


def test_injected_faults_fail_the_first_evaluations_of_the_next_calls(aws, emulator):
    config = aws("config")
    token = mint_result_token(RULE)
    emulator.set_faults({"PutEvaluations": {"failFirst": 2, "times": 2}})
    for call in range(2):
        batch = [evaluation(f"c{call}-{i}") for i in range(3)]
        failed = config.put_evaluations(ResultToken=token, Evaluations=batch)["FailedEvaluations"]
        assert [f["ComplianceResourceId"] for f in failed] == [f"c{call}-0", f"c{call}-1"]
    assert config.put_evaluations(ResultToken=token, Evaluations=[evaluation("c2-0")])["FailedEvaluations"] == []
    stored = [r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceId"] for page in all_details(config, RULE) for r in page]
    assert stored == ["c0-2", "c1-2", "c2-0"]  # failed evaluations were not kept

    emulator.set_faults({"PutEvaluations": {"failFirst": 1, "times": 5}})
    emulator.set_faults({})
    assert config.put_evaluations(ResultToken=token, Evaluations=[evaluation("d")])["FailedEvaluations"] == []


def test_reset_clears_evaluations_faults_and_counts(aws, emulator):
    config = aws("config")
    config.put_evaluations(ResultToken=mint_result_token(RULE), Evaluations=[evaluation("p")])
    emulator.set_faults({"PutEvaluations": {"failFirst": 1, "times": 1}})
    emulator.reset()
    assert emulator.calls() == {}
    assert all_details(config, RULE) == [[]]
    assert config.put_evaluations(ResultToken=mint_result_token(RULE), Evaluations=[evaluation("p")])["FailedEvaluations"] == []


def test_call_counter_counts_every_answered_request(aws, emulator):
    config, codebuild = aws("config"), aws("codebuild")
    for _ in range(3):
        config.put_evaluations(ResultToken=mint_result_token(RULE), Evaluations=[evaluation("p")])
    codebuild.batch_get_projects(names=["missing"])
    error_code(lambda: config.put_evaluations(ResultToken="bogus", Evaluations=[evaluation("p")]))
    assert emulator.calls() == {"config.PutEvaluations": 4, "codebuild.BatchGetProjects": 1}
    emulator.reset_calls()
    assert emulator.calls() == {}


# No retry at all: botocore's `max_attempts` counts retries, `total_max_attempts` counts every attempt.
NO_RETRY = {"total_max_attempts": 1, "mode": "standard"}


def test_rate_limits_throttle_as_aws_does_per_service_or_operation(aws, emulator):
    iam, config = aws("iam", retries=NO_RETRY), aws("config", retries=NO_RETRY)
    # A bucket that refills one token in 100 s: only the burst gets through during the test.
    emulator.set_rate_limits({"iam": {"rate": 0.01, "burst": 2}, "config.PutEvaluations": {"rate": 0.01, "burst": 1}})
    iam.list_roles()
    iam.list_policies(Scope="Local")  # the same service bucket
    assert error_code(lambda: iam.list_roles()) == "Throttling"  # IAM's query-protocol code
    token = mint_result_token(RULE)
    config.put_evaluations(ResultToken=token, Evaluations=[evaluation("p")])
    assert error_code(lambda: config.put_evaluations(ResultToken=token, Evaluations=[evaluation("q")])) == \
        "ThrottlingException"
    config.describe_config_rules()  # another Config operation: no limit of its own, none for the service
    assert emulator.throttled() == {"iam.ListRoles": 1, "config.PutEvaluations": 1}
    assert emulator.calls()["iam.ListRoles"] == 2  # throttled requests are requests too
    stored = [r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceId"]
              for page in all_details(config, RULE) for r in page]
    assert stored == ["p"]  # a throttled call did nothing


def test_rate_limits_refill_at_their_rate_and_go_with_a_reset(aws, emulator):
    iam = aws("iam", retries=NO_RETRY)
    emulator.set_rate_limits({"iam.ListRoles": {"rate": 0.5, "burst": 1}})
    iam.list_roles()
    assert error_code(lambda: iam.list_roles()) == "Throttling"
    time.sleep(2.5)  # more than one token's worth at 0.5 a second; the bucket holds one
    iam.list_roles()
    assert emulator.throttled() == {"iam.ListRoles": 1}
    emulator.reset_calls()
    assert emulator.throttled() == {}
    emulator.reset()
    for _ in range(3):
        iam.list_roles()  # no limit after a reset


def test_rate_limits_refuse_what_they_cannot_answer(emulator):
    for limits in ({"s3": {"rate": 1, "burst": 1}}, {"iam": {"rate": 0, "burst": 1}},
                   {"iam": {"rate": 1}}, {"iam.ListRoles": {"rate": 1, "burst": 0.5}}, ["iam"]):
        with pytest.raises(urllib.error.HTTPError) as raised:
            emulator.set_rate_limits(limits)
        assert raised.value.code == 400
