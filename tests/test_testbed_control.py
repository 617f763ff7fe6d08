"""Tests of the test bed's controls (testbed/services/control.py): fault injection, reset and the
API call counter."""

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
