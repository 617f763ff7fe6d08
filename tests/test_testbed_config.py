"""Tests of the test bed's Config evaluations and compliance reads (testbed/services/config.py),
through boto3 against the emulator."""

import json
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from testbed.tokens import TESTMODE, decode_result_token, mint_result_token
from testbed_helpers import RULE, all_details, error_code, evaluation


# --- PutEvaluations -----------------------------------------------------------------------------

INVALID_PUT_EVALUATIONS = [
    ("token not minted by the test bed", dict(ResultToken="bogus"), "InvalidResultTokenException"),
    ("TESTMODE without TestMode", dict(ResultToken=TESTMODE), "InvalidResultTokenException"),
    ("empty token", dict(ResultToken=""), "ValidationException"),
    ("no evaluations", dict(Evaluations=[]), "InvalidParameterValueException"),
    ("101 evaluations", dict(Evaluations=[evaluation(f"p{i}") for i in range(101)]), "InvalidParameterValueException"),
    ("INSUFFICIENT_DATA", dict(Evaluations=[evaluation("p", "INSUFFICIENT_DATA")]), "InvalidParameterValueException"),
    ("unknown compliance type", dict(Evaluations=[evaluation("p", "MAYBE")]), "InvalidParameterValueException"),
    ("annotation over 256", dict(Evaluations=[evaluation("p", Annotation="x" * 257)]), "ValidationException"),
    ("empty annotation", dict(Evaluations=[evaluation("p", Annotation="")]), "ValidationException"),
    ("empty resource type", dict(Evaluations=[{**evaluation("p"), "ComplianceResourceType": ""}]), "ValidationException"),
    ("empty resource id", dict(Evaluations=[evaluation("")]), "ValidationException"),
    ("no ordering timestamp", dict(Evaluations=[{k: v for k, v in evaluation("p").items() if k != "OrderingTimestamp"}]), "ValidationException"),
]


@pytest.mark.parametrize("case, overrides, expected", INVALID_PUT_EVALUATIONS, ids=[c[0] for c in INVALID_PUT_EVALUATIONS])
def test_put_evaluations_rejects_what_config_rejects(aws, case, overrides, expected):
    # Without client-side validation, so the emulator's own checks are what answers.
    config = aws("config", parameter_validation=False)
    request = {"ResultToken": mint_result_token(RULE), "Evaluations": [evaluation("ok")], **overrides}
    assert error_code(lambda: config.put_evaluations(**request)) == expected
    # A rejected call keeps nothing, not even its valid evaluations.
    assert all_details(config, RULE) == [[]]


def test_put_evaluations_error_has_aws_json_shape(emulator):
    body = json.dumps({"ResultToken": "bogus", "Evaluations": [evaluation("p")]}).encode()
    request = AWSRequest(
        method="POST",
        url=emulator.url + "/",
        data=body,
        headers={"X-Amz-Target": "StarlingDoveService.PutEvaluations", "Content-Type": "application/x-amz-json-1.1"},
    )
    SigV4Auth(Credentials("testing", "testing"), "config", "us-east-1").add_auth(request)
    raw = urllib.request.Request(request.url, data=body, headers=dict(request.headers), method="POST")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(raw, timeout=10)
    assert raised.value.code == 400
    document = json.loads(raised.value.read())
    assert document["__type"] == "InvalidResultTokenException"
    assert document["message"]


def test_evaluations_persist_and_page_through_compliance_details(aws):
    config = aws("config")
    token = mint_result_token(RULE)
    ids = [f"project-{i:03d}" for i in range(250)]
    for start in (0, 100, 200):
        batch = [evaluation(i, "NON_COMPLIANT" if n % 5 == 0 else "COMPLIANT") for n, i in enumerate(ids[start:start + 100], start)]
        assert config.put_evaluations(ResultToken=token, Evaluations=batch)["FailedEvaluations"] == []

    pages = all_details(config, RULE, Limit=100)
    assert [len(page) for page in pages] == [100, 100, 50]
    results = [result for page in pages for result in page]
    qualifiers = [r["EvaluationResultIdentifier"]["EvaluationResultQualifier"] for r in results]
    assert [q["ResourceId"] for q in qualifiers] == ids  # sorted by resource id, none lost or repeated
    assert {q["ConfigRuleName"] for q in qualifiers} == {RULE}
    assert {q["EvaluationMode"] for q in qualifiers} == {"DETECTIVE"}
    assert sum(r["ComplianceType"] == "NON_COMPLIANT" for r in results) == 50
    # Without a Limit, AWS's default page size of 10 applies.
    assert [len(page) for page in all_details(config, RULE)] == [10] * 25
    # The filter applies before paging.
    non_compliant = all_details(config, RULE, ComplianceTypes=["NON_COMPLIANT"], Limit=100)
    assert [len(page) for page in non_compliant] == [50]


def test_compliance_details_validate_their_parameters(aws):
    config = aws("config", parameter_validation=False)
    assert error_code(lambda: config.get_compliance_details_by_config_rule(
        ConfigRuleName=RULE, ComplianceTypes=["INSUFFICIENT_DATA"])) == "InvalidParameterValueException"
    assert error_code(lambda: config.get_compliance_details_by_config_rule(
        ConfigRuleName=RULE, Limit=101)) == "ValidationException"
    assert error_code(lambda: config.get_compliance_details_by_config_rule(
        ConfigRuleName=RULE, NextToken="not-a-token")) == "InvalidNextTokenException"


def test_an_older_ordering_timestamp_does_not_replace_the_stored_evaluation(aws):
    config = aws("config")
    token = mint_result_token(RULE)
    config.put_evaluations(ResultToken=token, Evaluations=[evaluation("p", "NON_COMPLIANT", 2000.0, Annotation="privileged")])
    config.put_evaluations(ResultToken=token, Evaluations=[evaluation("p", "COMPLIANT", 1000.0)])
    [[stored]] = all_details(config, RULE)
    assert stored["ComplianceType"] == "NON_COMPLIANT"
    assert stored["Annotation"] == "privileged"
    assert stored["EvaluationResultIdentifier"]["OrderingTimestamp"].timestamp() == 2000.0

    config.put_evaluations(ResultToken=token, Evaluations=[evaluation("p", "COMPLIANT", 3000.0)])
    [[stored]] = all_details(config, RULE)
    assert stored["ComplianceType"] == "COMPLIANT"
    assert "Annotation" not in stored  # only present when the evaluation had one
    assert stored["ConfigRuleInvokedTime"].timestamp() == pytest.approx(decode_result_token(token).invoked_at)
    assert stored["ResultRecordedTime"] >= stored["ConfigRuleInvokedTime"]


def test_test_mode_validates_but_persists_nothing(aws):
    config = aws("config", parameter_validation=False)
    assert config.put_evaluations(ResultToken=TESTMODE, Evaluations=[evaluation("p")], TestMode=True)["FailedEvaluations"] == []
    assert config.put_evaluations(ResultToken=mint_result_token(RULE), Evaluations=[evaluation("q")], TestMode=True)["FailedEvaluations"] == []
    assert all_details(config, RULE) == [[]]
    assert error_code(lambda: config.put_evaluations(
        ResultToken=TESTMODE, Evaluations=[evaluation("p", "INSUFFICIENT_DATA")], TestMode=True)) == "InvalidParameterValueException"


def test_describe_compliance_by_config_rule_follows_aws_semantics(aws):
    config = aws("config")

    def put(rule, *evaluations):
        config.put_evaluations(ResultToken=mint_result_token(rule), Evaluations=list(evaluations))

    put("mixed", evaluation("a", "NON_COMPLIANT"), evaluation("b", "NON_COMPLIANT"), evaluation("c"), evaluation("d", "NOT_APPLICABLE"))
    put("clean", evaluation("a"), evaluation("b", "NOT_APPLICABLE"))
    put("out-of-scope", evaluation("a", "NOT_APPLICABLE"))

    rules = {r["ConfigRuleName"]: r["Compliance"] for r in config.describe_compliance_by_config_rule()["ComplianceByConfigRules"]}
    assert rules == {
        "clean": {"ComplianceType": "COMPLIANT"},
        "mixed": {"ComplianceType": "NON_COMPLIANT", "ComplianceContributorCount": {"CappedCount": 2, "CapExceeded": False}},
        "out-of-scope": {"ComplianceType": "INSUFFICIENT_DATA"},
    }
    filtered = config.describe_compliance_by_config_rule(ComplianceTypes=["NON_COMPLIANT"])["ComplianceByConfigRules"]
    assert [r["ConfigRuleName"] for r in filtered] == ["mixed"]
    named = config.describe_compliance_by_config_rule(ConfigRuleNames=["clean", "never-ran"])["ComplianceByConfigRules"]
    assert [(r["ConfigRuleName"], r["Compliance"]["ComplianceType"]) for r in named] == [
        ("clean", "COMPLIANT"),
        ("never-ran", "INSUFFICIENT_DATA"),
    ]
