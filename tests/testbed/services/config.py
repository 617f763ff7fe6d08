"""AWS Config: evaluations, compliance reads and remediation configurations.

What a rule's results go through: PutEvaluations with AWS's validation, keeping the latest
evaluation per resource, and GetComplianceDetailsByConfigRule / DescribeComplianceByConfigRule over
what was kept. moto 5.2.5 accepts PutEvaluations only in TestMode (otherwise it answers 500) and
has no compliance reads. The deployment tests also store remediation configurations, which moto
lacks; they are checked against the rule and stored, never run.

Config's recorder is in `config_recorder`.
"""

import time
from typing import Any

from moto.config.models import config_backends
from moto.config.responses import ConfigResponse
from moto.core.responses import BaseResponse

from testbed.services import securityhub
from testbed.services.common import STATE, error, ok, page_limit, paginate, parse_timestamp, request_params
from testbed.tokens import decode_result_token

COMPLIANCE_TYPES = ("COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE")
MAX_EVALUATIONS_PER_CALL = 100
# AWS's documented default page size.
DEFAULT_COMPLIANCE_DETAILS_LIMIT = 10
_REMEDIATION_TARGET_TYPES = ("SSM_DOCUMENT",)


def _evaluations_of_region(response: BaseResponse) -> dict[str, dict[tuple[str, str], dict]]:
    return STATE.evaluations.setdefault((response.current_account, response.region), {})


# --- PutEvaluations --------------------------------------------------------------------------


def _validate_evaluation(index: int, evaluation: Any) -> dict:
    """One evaluation checked as Config does; returns it with OrderingTimestamp in epoch seconds."""
    where = f"evaluations.{index}.member"
    if not isinstance(evaluation, dict):
        raise error("ValidationException", f"Value at '{where}' must be a structure")
    for field in ("ComplianceResourceType", "ComplianceResourceId"):
        value = evaluation.get(field)
        if not isinstance(value, str) or not value:
            raise error(
                "ValidationException",
                f"1 validation error detected: Value '{value}' at '{where}.{field[0].lower() + field[1:]}' "
                "failed to satisfy constraint: Member must have length greater than or equal to 1",
            )
    compliance = evaluation.get("ComplianceType")
    if compliance not in COMPLIANCE_TYPES:
        # Config rejects INSUFFICIENT_DATA from a rule, and anything else, with this code.
        raise error(
            "InvalidParameterValueException",
            f"The ComplianceType '{compliance}' is not valid; use one of {', '.join(COMPLIANCE_TYPES)}.",
        )
    annotation = evaluation.get("Annotation")
    if annotation is not None and (not isinstance(annotation, str) or not 1 <= len(annotation) <= 256):
        raise error(
            "ValidationException",
            f"1 validation error detected: Value at '{where}.annotation' failed to satisfy constraint: "
            "Member must have length less than or equal to 256 and greater than or equal to 1",
        )
    if evaluation.get("OrderingTimestamp") is None:
        raise error(
            "ValidationException",
            f"1 validation error detected: Value null at '{where}.orderingTimestamp' failed to satisfy "
            "constraint: Member must not be null",
        )
    checked = dict(evaluation)
    checked["OrderingTimestamp"] = parse_timestamp(evaluation["OrderingTimestamp"], f"{where}.orderingTimestamp")
    return checked


def put_evaluations(self: ConfigResponse) -> tuple[int, dict, str]:
    params = request_params(self)
    token = params.get("ResultToken")
    test_mode = bool(params.get("TestMode"))
    if not token:
        raise error(
            "ValidationException",
            "1 validation error detected: Value null at 'resultToken' failed to satisfy constraint: "
            "Member must not be null",
        )
    decoded = decode_result_token(token)
    # TestMode needs a non-null token, not a valid one; "TESTMODE" is only good in TestMode.
    if decoded is None and not test_mode:
        raise error("InvalidResultTokenException", "The resultToken provided is invalid")

    evaluations = params.get("Evaluations")
    if not evaluations:
        raise error(
            "InvalidParameterValueException",
            "The Evaluations object in your request cannot be null. Add the required parameters and try again.",
        )
    if len(evaluations) > MAX_EVALUATIONS_PER_CALL:
        raise error(
            "InvalidParameterValueException",
            f"The number of evaluations ({len(evaluations)}) exceeds the maximum of {MAX_EVALUATIONS_PER_CALL}.",
        )
    # Validate the whole request before keeping anything: a bad evaluation fails the call.
    checked = [_validate_evaluation(i + 1, evaluation) for i, evaluation in enumerate(evaluations)]

    with STATE.lock:
        failed = _injected_failures(len(checked))
    if test_mode:
        return ok({"FailedEvaluations": evaluations[:failed]})

    now = time.time()
    kept = []
    with STATE.lock:
        stored = _evaluations_of_region(self).setdefault(decoded.rule_name, {})
        for evaluation in checked[failed:]:
            key = (evaluation["ComplianceResourceType"], evaluation["ComplianceResourceId"])
            previous = stored.get(key)
            # Config keeps the latest evaluation; an older OrderingTimestamp does not replace it.
            if previous and evaluation["OrderingTimestamp"] < previous["OrderingTimestamp"]:
                continue
            stored[key] = {
                "ResourceType": key[0],
                "ResourceId": key[1],
                "ComplianceType": evaluation["ComplianceType"],
                "Annotation": evaluation.get("Annotation"),
                "OrderingTimestamp": evaluation["OrderingTimestamp"],
                "ResultRecordedTime": now,
                "ConfigRuleInvokedTime": decoded.invoked_at,
            }
            kept.append(stored[key])
    for evaluation in kept:
        securityhub.import_config_evaluation(self.current_account, self.region, decoded.rule_name, evaluation)
    return ok({"FailedEvaluations": evaluations[:failed]})


def _injected_failures(count: int) -> int:
    """How many leading evaluations of this call the injected fault fails (caller holds the lock).
    The fault is set through the control routes (`control`)."""
    fault = STATE.faults.get("PutEvaluations")
    if not fault or fault["times"] <= 0:
        return 0
    fault["times"] -= 1
    STATE.faults_fired["config.PutEvaluations"] += 1
    return min(fault["failFirst"], count)


# --- compliance reads ------------------------------------------------------------------------


def _check_compliance_filter(types: Any, allowed: tuple[str, ...]) -> list[str]:
    types = types or []
    for compliance in types:
        if compliance not in allowed:
            raise error(
                "InvalidParameterValueException",
                f"The ComplianceType '{compliance}' cannot be used as a filter here; use {', '.join(allowed)}.",
            )
    return types


def get_compliance_details_by_config_rule(self: ConfigResponse) -> tuple[int, dict, str]:
    params = request_params(self)
    rule_name = params.get("ConfigRuleName")
    if not rule_name:
        raise error(
            "ValidationException",
            "1 validation error detected: Value null at 'configRuleName' failed to satisfy constraint: "
            "Member must not be null",
        )
    # INSUFFICIENT_DATA is a rule-level state, never a per-resource result, so it is no filter.
    wanted = _check_compliance_filter(params.get("ComplianceTypes"), COMPLIANCE_TYPES)
    limit = page_limit(params.get("Limit"), DEFAULT_COMPLIANCE_DETAILS_LIMIT, "ValidationException")

    # A rule with no stored results answers an empty list (the test bed does not require the rule to
    # exist in moto; real Config would raise NoSuchConfigRuleException for an unknown rule).
    # Stored results are replaced, never changed, so the page can be built from them outside the lock.
    with STATE.lock:
        results = list(_evaluations_of_region(self).get(rule_name, {}).values())
    if wanted:
        results = [r for r in results if r["ComplianceType"] in wanted]

    def sort_key(result: dict) -> list:
        return [result["ResourceId"], result["ResourceType"]]

    results.sort(key=sort_key)
    page, next_token = paginate(results, sort_key, limit, params.get("NextToken"))
    body: dict[str, Any] = {"EvaluationResults": [_evaluation_result(rule_name, r) for r in page]}
    if next_token:
        body["NextToken"] = next_token
    return ok(body)


def _evaluation_result(rule_name: str, result: dict) -> dict:
    evaluation_result = {
        "EvaluationResultIdentifier": {
            "EvaluationResultQualifier": {
                "ConfigRuleName": rule_name,
                "ResourceType": result["ResourceType"],
                "ResourceId": result["ResourceId"],
                "EvaluationMode": "DETECTIVE",
            },
            "OrderingTimestamp": result["OrderingTimestamp"],
        },
        "ComplianceType": result["ComplianceType"],
        "ResultRecordedTime": result["ResultRecordedTime"],
        "ConfigRuleInvokedTime": result["ConfigRuleInvokedTime"],
    }
    if result["Annotation"] is not None:
        evaluation_result["Annotation"] = result["Annotation"]
    return evaluation_result


def _rule_compliance(results: list[dict]) -> dict:
    """A rule's compliance from its current results, as AWS documents it: NON_COMPLIANT if any
    resource is non-compliant (with the number of them), else COMPLIANT if any is compliant, else
    INSUFFICIENT_DATA (no results, or only NOT_APPLICABLE ones). Config gives the contributor count
    only for NON_COMPLIANT."""
    non_compliant = sum(1 for r in results if r["ComplianceType"] == "NON_COMPLIANT")
    if non_compliant:
        return {
            "ComplianceType": "NON_COMPLIANT",
            "ComplianceContributorCount": {"CappedCount": non_compliant, "CapExceeded": False},
        }
    if any(r["ComplianceType"] == "COMPLIANT" for r in results):
        return {"ComplianceType": "COMPLIANT"}
    return {"ComplianceType": "INSUFFICIENT_DATA"}


def describe_compliance_by_config_rule(self: ConfigResponse) -> tuple[int, dict, str]:
    params = request_params(self)
    wanted = _check_compliance_filter(
        params.get("ComplianceTypes"), ("COMPLIANT", "NON_COMPLIANT", "INSUFFICIENT_DATA")
    )
    with STATE.lock:
        stored = {rule: list(results.values()) for rule, results in _evaluations_of_region(self).items()}
    rule_names = params.get("ConfigRuleNames")
    if not rule_names:
        # Every rule with results, plus the rules defined in moto that have none yet.
        defined = config_backends[self.current_account][self.region].config_rules
        rule_names = sorted(set(stored) | set(defined))
    rules = []
    for rule_name in rule_names:
        compliance = _rule_compliance(stored.get(rule_name, []))
        if not wanted or compliance["ComplianceType"] in wanted:
            rules.append({"ConfigRuleName": rule_name, "Compliance": compliance})
    return ok({"ComplianceByConfigRules": rules})


# --- remediation configurations --------------------------------------------------------------


def _remediations(response: ConfigResponse) -> dict[str, dict]:
    return STATE.remediations.setdefault((response.current_account, response.region), {})


def put_remediation_configurations(self: ConfigResponse) -> tuple[int, dict, str]:
    """Stores each configuration whose rule exists; the others come back as FailedBatches."""
    configurations = request_params(self).get("RemediationConfigurations") or []
    if not 1 <= len(configurations) <= 25:
        raise error("ValidationException", "RemediationConfigurations must hold 1 to 25 configurations")
    rules = config_backends[self.current_account][self.region].config_rules
    failed = []
    for configuration in configurations:
        rule_name = configuration.get("ConfigRuleName")
        if configuration.get("TargetType") not in _REMEDIATION_TARGET_TYPES or not configuration.get("TargetId"):
            raise error("InvalidParameterValueException", "TargetType must be SSM_DOCUMENT, with a TargetId")
        if rule_name not in rules:
            failed.append({"FailureMessage": f"The ConfigRule '{rule_name}' provided in the request is invalid.",
                           "FailedItems": [configuration]})
            continue
        stored = dict(configuration, Arn=f"{rules[rule_name].config_rule_arn}/remediation")
        with STATE.lock:
            _remediations(self)[rule_name] = stored
    return ok({"FailedBatches": failed})


def describe_remediation_configurations(self: ConfigResponse) -> tuple[int, dict, str]:
    names = request_params(self).get("ConfigRuleNames") or []
    with STATE.lock:
        stored = _remediations(self)
        found = [stored[name] for name in names if name in stored]
    return ok({"RemediationConfigurations": found})


def delete_remediation_configuration(self: ConfigResponse) -> tuple[int, dict, str]:
    name = request_params(self).get("ConfigRuleName")
    with STATE.lock:
        if _remediations(self).pop(name, None) is None:
            raise error("NoSuchRemediationConfigurationException",
                        f"No RemediationConfiguration for rule {name} exists.")
    return ok({})


def install() -> None:
    """Adds the operations to moto's Config responses."""
    for operation in (
        put_evaluations,
        get_compliance_details_by_config_rule,
        describe_compliance_by_config_rule,
        put_remediation_configurations,
        describe_remediation_configurations,
        delete_remediation_configuration,
    ):
        setattr(ConfigResponse, operation.__name__, operation)
