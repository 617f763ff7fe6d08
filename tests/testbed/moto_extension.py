"""Test-only extension of moto 5.2.5, applied inside the emulator process by `apply()`.

moto's Config backend lacks what pipesec's rules depend on (DESIGN §7). This module adds it:

- PutEvaluations with AWS's validation, persisting the latest evaluation per resource;
- GetComplianceDetailsByConfigRule and DescribeComplianceByConfigRule over those evaluations;
- Config's recorder for CodeBuild projects, CodeBuild report groups and CodePipeline pipelines, built
  from moto's own CodeBuild / CodePipeline state (report groups: the extension's) and served through
  GetResourceConfigHistory, BatchGetResourceConfig and SelectResourceConfig (other resource types
  still go to moto); one item builder per type in `config_items`;
- CodeBuild fixes a test depends on: BatchGetProjects by name or ARN with `projectsNotFound`,
  CreateProject keeping the fields moto drops (and `projectVisibility: PRIVATE`), a minimal
  UpdateProject;
- CodeBuild operations moto lacks, kept minimal: CreateWebhook / UpdateWebhook / DeleteWebhook and
  UpdateProjectVisibility (stored in the project, shown by BatchGetProjects, not recorded by Config),
  and report groups (CreateReportGroup, BatchGetReportGroups, ListReportGroups, UpdateReportGroup,
  DeleteReportGroup);
- remediation configurations (PutRemediationConfigurations, DescribeRemediationConfigurations,
  DeleteRemediationConfiguration), checked against the rule and stored, never run;
- EventBridge TestEventPattern, answered with moto's own pattern matcher (the one that routes events);
- a per-operation API call counter and fault injection (PutEvaluations answering with partial
  FailedEvaluations; throttling, 5xx, AccessDenied or a slow answer on any operation), driven through
  control routes under /moto-api/pipesec/ (`with_control_routes`);
- for the monitoring rules (tests/test_monitoring_e2e.py), what moto 5.2.5 lacks:
  - CloudWatch over the Smithy RPC v2 CBOR protocol, the only one the Rust SDK speaks for CloudWatch,
    translated to and from the awsJson1_0 moto answers (botocore's CBOR codec and service model);
  - CloudTrail's LookupEvents, over a trail the extension records of the sensitive CodePipeline calls
    moto answers (UpdatePipeline, DeletePipeline, ...);
  - a minimal AWS CodeStar Notifications service (CreateNotificationRule, DescribeNotificationRule,
    ListNotificationRules; every target ACTIVE, no list filters), answered in `with_control_routes`
    since moto has no response class to add it to.

Operations are methods on moto's response classes named after the operation: moto dispatches the
X-Amz-Target action to `camelcase_to_underscores(action)`. The extension's state lives in `STATE` and is
cleared by `POST /moto-api/reset`, like moto's own.
"""

import base64
import binascii
import json
import re
import threading
import time
import uuid
from collections import Counter
from typing import Any, Callable

from moto.codebuild.exceptions import (
    InvalidInputException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from moto.codebuild.models import codebuild_backends
from moto.cloudtrail.responses import CloudTrailResponse
from moto.codebuild.responses import CodeBuildResponse
from moto.codepipeline.models import codepipeline_backends
from moto.config.models import config_backends
from moto.config.responses import ConfigResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.core.utils import unix_time
from moto.events.models import EventPattern
from moto.events.responses import EventsHandler
from moto.iam.models import iam_backends
from moto.moto_api._internal.models import MotoAPIBackend
from moto.utilities.utils import get_partition

from testbed import config_items
from testbed.tokens import decode_result_token

CONTROL_PREFIX = "/moto-api/pipesec/"
COMPLIANCE_TYPES = ("COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE")
MAX_EVALUATIONS_PER_CALL = 100
MAX_PAGE_SIZE = 100
# AWS's documented default page sizes.
DEFAULT_COMPLIANCE_DETAILS_LIMIT = 10
DEFAULT_SELECT_LIMIT = 100


class ExtensionState:
    """Everything the extension remembers; one instance per emulator process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        # (account, region) -> rule name -> (resource type, resource id) -> stored evaluation result
        self.evaluations: dict[tuple[str, str], dict[str, dict[tuple[str, str], dict]]] = {}
        # {"PutEvaluations": {"failFirst": N, "times": K}} or {"<service>.<Action>": {"error": kind,
        # "times": K} | {"delay": seconds, "times": K}}: K is decremented per faulted call.
        self.faults: dict[str, dict] = {}
        # "<service>.<Action>" -> how many answers an injected fault replaced or delayed
        self.faults_fired: Counter[str] = Counter()
        # "<service>.<Action>" -> number of requests answered
        self.calls: Counter[str] = Counter()
        # (account, region) -> report group ARN -> BatchGetReportGroups-shaped report group
        self.report_groups: dict[tuple[str, str], dict[str, dict]] = {}
        # (account, region) -> [{"time", "pipeline", "record"}]: CloudTrail records, oldest first
        self.trail: dict[tuple[str, str], list[dict]] = {}
        # region -> notification rule ARN -> DescribeNotificationRule-shaped rule
        self.notification_rules: dict[str, dict[str, dict]] = {}
        # (account, region) -> Config rule name -> remediation configuration
        self.remediations: dict[tuple[str, str], dict[str, dict]] = {}


STATE = ExtensionState()


# --- helpers ---------------------------------------------------------------------------------


def _error(code: str, message: str) -> JsonRESTError:
    """An AWS JSON-1.1 error: HTTP 400, {"__type": code, "message": message}."""
    return JsonRESTError(code, message)


def _ok(document: dict) -> tuple[int, dict, str]:
    """A JSON-1.1 success answer (moto would label a bare string text/html)."""
    return 200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(document)


def _params(response: BaseResponse) -> dict:
    """The JSON request body of a JSON-1.1 operation."""
    return json.loads(response.body) if response.body else {}


def _timestamp(value: Any, where: str) -> float:
    """Epoch seconds of a request timestamp: a number (how SDKs send JSON-1.1 timestamps) or ISO text."""
    try:
        return config_items.epoch_seconds(value)
    except (AttributeError, TypeError, ValueError):
        raise _error("ValidationException", f"Value '{value}' at '{where}' is not a valid timestamp") from None


def _page_limit(value: Any, default: int, error_code: str) -> int:
    """AWS page-size semantics: absent or 0 means the default; above 100 is an error."""
    if not value:
        return default
    if not isinstance(value, int) or value < 0 or value > MAX_PAGE_SIZE:
        raise _error(error_code, f"Value '{value}' at 'limit' failed to satisfy constraint: "
                     f"Member must have value less than or equal to {MAX_PAGE_SIZE}")
    return value


def _encode_next_token(after: list) -> str:
    """Opaque pagination token: the sort key of the last item returned."""
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode()


def _decode_next_token(token: str | None) -> list | None:
    if not token:
        return None
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        after = None
    if not isinstance(after, list):
        raise _error("InvalidNextTokenException", "The specified next token is invalid.")
    return after


def _paginate(
    items: list, sort_key: Callable[[Any], list], limit: int, next_token: str | None, descending: bool = False
):
    """One page of `items` (already sorted by `sort_key`, in `descending` order or not) and the token
    of the next page, if any.

    Keyed on the last item returned, not on an offset, so pages stay right when items change between
    calls.
    """
    after = _decode_next_token(next_token)
    if after is not None:
        items = [item for item in items if (sort_key(item) < after if descending else sort_key(item) > after)]
    page = items[:limit]
    token = _encode_next_token(sort_key(page[-1])) if len(items) > limit else None
    return page, token


def _evaluations_of_region(response: BaseResponse) -> dict[str, dict[tuple[str, str], dict]]:
    return STATE.evaluations.setdefault((response.current_account, response.region), {})


# --- PutEvaluations --------------------------------------------------------------------------


def _validate_evaluation(index: int, evaluation: Any) -> dict:
    """One evaluation checked as Config does; returns it with OrderingTimestamp in epoch seconds."""
    where = f"evaluations.{index}.member"
    if not isinstance(evaluation, dict):
        raise _error("ValidationException", f"Value at '{where}' must be a structure")
    for field in ("ComplianceResourceType", "ComplianceResourceId"):
        value = evaluation.get(field)
        if not isinstance(value, str) or not value:
            raise _error(
                "ValidationException",
                f"1 validation error detected: Value '{value}' at '{where}.{field[0].lower() + field[1:]}' "
                "failed to satisfy constraint: Member must have length greater than or equal to 1",
            )
    compliance = evaluation.get("ComplianceType")
    if compliance not in COMPLIANCE_TYPES:
        # Config rejects INSUFFICIENT_DATA from a rule, and anything else, with this code.
        raise _error(
            "InvalidParameterValueException",
            f"The ComplianceType '{compliance}' is not valid; use one of {', '.join(COMPLIANCE_TYPES)}.",
        )
    annotation = evaluation.get("Annotation")
    if annotation is not None and (not isinstance(annotation, str) or not 1 <= len(annotation) <= 256):
        raise _error(
            "ValidationException",
            f"1 validation error detected: Value at '{where}.annotation' failed to satisfy constraint: "
            "Member must have length less than or equal to 256 and greater than or equal to 1",
        )
    if evaluation.get("OrderingTimestamp") is None:
        raise _error(
            "ValidationException",
            f"1 validation error detected: Value null at '{where}.orderingTimestamp' failed to satisfy "
            "constraint: Member must not be null",
        )
    checked = dict(evaluation)
    checked["OrderingTimestamp"] = _timestamp(evaluation["OrderingTimestamp"], f"{where}.orderingTimestamp")
    return checked


def put_evaluations(self: ConfigResponse) -> tuple[int, dict, str]:
    params = _params(self)
    token = params.get("ResultToken")
    test_mode = bool(params.get("TestMode"))
    if not token:
        raise _error(
            "ValidationException",
            "1 validation error detected: Value null at 'resultToken' failed to satisfy constraint: "
            "Member must not be null",
        )
    decoded = decode_result_token(token)
    # TestMode needs a non-null token, not a valid one; "TESTMODE" is only good in TestMode.
    if decoded is None and not test_mode:
        raise _error("InvalidResultTokenException", "The resultToken provided is invalid")

    evaluations = params.get("Evaluations")
    if not evaluations:
        raise _error(
            "InvalidParameterValueException",
            "The Evaluations object in your request cannot be null. Add the required parameters and try again.",
        )
    if len(evaluations) > MAX_EVALUATIONS_PER_CALL:
        raise _error(
            "InvalidParameterValueException",
            f"The number of evaluations ({len(evaluations)}) exceeds the maximum of {MAX_EVALUATIONS_PER_CALL}.",
        )
    # Validate the whole request before keeping anything: a bad evaluation fails the call.
    checked = [_validate_evaluation(i + 1, evaluation) for i, evaluation in enumerate(evaluations)]

    with STATE.lock:
        failed = _injected_failures(len(checked))
    if test_mode:
        return _ok({"FailedEvaluations": evaluations[:failed]})

    now = time.time()
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
    return _ok({"FailedEvaluations": evaluations[:failed]})


def _injected_failures(count: int) -> int:
    """How many leading evaluations of this call the injected fault fails (caller holds the lock)."""
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
            raise _error(
                "InvalidParameterValueException",
                f"The ComplianceType '{compliance}' cannot be used as a filter here; use {', '.join(allowed)}.",
            )
    return types


def get_compliance_details_by_config_rule(self: ConfigResponse) -> tuple[int, dict, str]:
    params = _params(self)
    rule_name = params.get("ConfigRuleName")
    if not rule_name:
        raise _error(
            "ValidationException",
            "1 validation error detected: Value null at 'configRuleName' failed to satisfy constraint: "
            "Member must not be null",
        )
    # INSUFFICIENT_DATA is a rule-level state, never a per-resource result, so it is no filter.
    wanted = _check_compliance_filter(params.get("ComplianceTypes"), COMPLIANCE_TYPES)
    limit = _page_limit(params.get("Limit"), DEFAULT_COMPLIANCE_DETAILS_LIMIT, "ValidationException")

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
    page, next_token = _paginate(results, sort_key, limit, params.get("NextToken"))
    body: dict[str, Any] = {"EvaluationResults": [_evaluation_result(rule_name, r) for r in page]}
    if next_token:
        body["NextToken"] = next_token
    return _ok(body)


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
    params = _params(self)
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
    return _ok({"ComplianceByConfigRules": rules})


# --- Config's recorder -----------------------------------------------------------------------


def _role_id(iam: Any, role_arn: str | None) -> str | None:
    """The IAM id of a role, or None if it does not exist (moto does not always insist on it)."""
    try:
        return iam.get_role_by_arn(role_arn or "").id
    except Exception:
        return None


# The recorder lists a region's resources of a type by resource id (what moto holds for each), and
# builds event-model items only for the resources a request returns: paging through a large
# inventory costs each page its own items, not the whole inventory's. The listing allocates no
# object per resource, or every page of a large inventory would pay for garbage collections of
# moto's whole heap.


def _codebuild_projects(account: str, region: str) -> dict[str, Any]:
    projects = codebuild_backends[account][region].codebuild_projects.values()
    return {config_items.codebuild_resource_id(project.arn): project.project_metadata for project in projects}


def _codebuild_project_item(account: str, region: str, project: dict) -> dict:
    iam = iam_backends[account][get_partition(region)]
    return config_items.codebuild_project_item(project, account, region, _role_id(iam, project.get("serviceRole")))


def _codebuild_report_groups(account: str, region: str) -> dict[str, Any]:
    # Few, and changed by the extension itself: their items are built at once, under the lock.
    with STATE.lock:
        groups = STATE.report_groups.get((account, region), {}).values()
        items = [config_items.codebuild_report_group_item(group, account, region) for group in groups]
    return {item["resourceId"]: item for item in items}


def _codepipeline_pipelines(account: str, region: str) -> dict[str, Any]:
    pipelines = codepipeline_backends[account][region].pipelines.values()
    return {pipeline.pipeline["name"]: pipeline for pipeline in pipelines}


def _codepipeline_pipeline_item(account: str, region: str, pipeline: Any) -> dict:
    iam = iam_backends[account][get_partition(region)]
    return config_items.codepipeline_pipeline_item(
        pipeline.pipeline, pipeline.metadata, pipeline.tags, account, region,
        _role_id(iam, pipeline.pipeline.get("roleArn")),
    )


# Resource type -> (the region's resources of that type by resource id, the item of one of them).
_RECORDERS: dict[str, tuple[Callable[[str, str], dict[str, Any]], Callable[[str, str, Any], dict]]] = {
    config_items.CODEBUILD_PROJECT: (_codebuild_projects, _codebuild_project_item),
    config_items.CODEBUILD_REPORT_GROUP: (_codebuild_report_groups, lambda account, region, item: item),
    config_items.CODEPIPELINE_PIPELINE: (_codepipeline_pipelines, _codepipeline_pipeline_item),
}


def _recorded(response: BaseResponse, resource_type: str) -> dict[str, Any]:
    """The region's resources of a recorded type by resource id. Deleted resources are simply gone
    (no ResourceDeleted items)."""
    return _RECORDERS[resource_type][0](response.current_account, response.region)


def _recorded_items(
    response: BaseResponse, resource_type: str, resource_ids: Any, recorded: dict[str, Any] | None = None
) -> list[dict]:
    """Event-model items of the region's resources of a recorded type among `resource_ids`, sorted
    by resource id (`recorded`: the type's resources by id, when the caller has them already)."""
    recorded = _recorded(response, resource_type) if recorded is None else recorded
    build = _RECORDERS[resource_type][1]
    return [build(response.current_account, response.region, recorded[resource_id])
            for resource_id in sorted(set(resource_ids) & recorded.keys())]


def get_resource_config_history(self: ConfigResponse) -> tuple[int, dict, str] | str:
    params = _params(self)
    resource_type = params.get("resourceType")
    if resource_type not in _RECORDERS:
        return _MOTO_ORIGINALS["get_resource_config_history"](self)
    _page_limit(params.get("limit"), 10, "InvalidLimitException")
    resource_id = params.get("resourceId")
    item = next(iter(_recorded_items(self, resource_type, {resource_id})), None)
    if item is None:
        raise _error(
            "ResourceNotDiscoveredException",
            f"Resource {resource_id} of resourceType:{resource_type} is unknown or has not been discovered",
        )
    # Only the current item exists; it is in range if it was captured within [earlierTime, laterTime].
    # Compare in milliseconds, the precision of the capture time a rule sends back as laterTime.
    captured_ms = round(config_items.epoch_seconds(item["configurationItemCaptureTime"]) * 1000)
    later, earlier = params.get("laterTime"), params.get("earlierTime")
    in_range = (later is None or captured_ms <= round(_timestamp(later, "laterTime") * 1000)) and (
        earlier is None or captured_ms >= round(_timestamp(earlier, "earlierTime") * 1000)
    )
    items = [config_items.event_item_to_api_item(item)] if in_range else []
    return _ok({"configurationItems": items})


def batch_get_resource_config(self: ConfigResponse) -> tuple[int, dict, str]:
    keys = _params(self).get("resourceKeys") or []
    if not 1 <= len(keys) <= 100:
        raise _error(
            "ValidationException",
            "1 validation error detected: Value at 'resourceKeys' failed to satisfy constraint: "
            "Member must have length less than or equal to 100 and greater than or equal to 1",
        )
    wanted: dict[str, set[str]] = {}  # recorded resource type -> resource ids asked for
    other_keys = []
    for key in keys:
        if key.get("resourceType") in _RECORDERS:
            wanted.setdefault(key["resourceType"], set()).add(key.get("resourceId"))
        else:
            other_keys.append(key)
    found = [
        config_items.event_item_to_base_item(item)
        for resource_type, ids in wanted.items()
        for item in _recorded_items(self, resource_type, ids)
    ]
    # Keys of unknown resources are left out, as Config does (unprocessedResourceKeys is for throttling).
    if other_keys:
        from_moto = config_backends[self.current_account][self.region].batch_get_resource_config(
            other_keys, self.region
        )
        found.extend(from_moto["baseConfigurationItems"])
    return _ok({"baseConfigurationItems": found, "unprocessedResourceKeys": []})


# The one query form the recorder understands: named fields and a single resourceType condition.
# A small regex, not an SQL parser; anything else about a recorded type is rejected rather than
# answered wrongly.
_SELECT_BY_TYPE = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+WHERE\s+resourceType\s*=\s*'(?P<type>[^']+)'\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def select_resource_config(self: ConfigResponse) -> tuple[int, dict, str] | str:
    params = _params(self)
    expression = params.get("Expression") or ""
    match = _SELECT_BY_TYPE.match(expression)
    if not match or match["type"] not in _RECORDERS:
        if any(resource_type in expression for resource_type in _RECORDERS):
            raise _error(
                "InvalidExpressionException",
                "The test bed only supports: SELECT <fields> WHERE resourceType = '<type>', for "
                + ", ".join(_RECORDERS),
            )
        return _MOTO_ORIGINALS["select_resource_config"](self)
    fields = [field.strip() for field in match["fields"].split(",")]
    if any(not field or field == "*" for field in fields):
        raise _error("InvalidExpressionException", "The test bed supports named fields only.")
    limit = _page_limit(params.get("Limit"), DEFAULT_SELECT_LIMIT, "InvalidLimitException")

    recorded = _recorded(self, match["type"])
    resource_ids, next_token = _paginate(sorted(recorded), lambda resource_id: [resource_id], limit,
                                         params.get("NextToken"))
    items = _recorded_items(self, match["type"], resource_ids, recorded)
    rows = [config_items.event_item_to_query_row(item) for item in items]
    body: dict[str, Any] = {
        "Results": [json.dumps(_select_fields(row, fields)) for row in rows],
        "QueryInfo": {"SelectFields": [{"Name": field} for field in fields]},
    }
    if next_token:
        body["NextToken"] = next_token
    return _ok(body)


def _select_fields(row: dict, fields: list[str]) -> dict:
    """The selected fields of a row; a dotted field (`configuration.environment`) keeps its nesting,
    as Config's advanced query does."""
    selected: dict = {}
    for field in fields:
        value: Any = row
        path = field.split(".")
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        target = selected
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return selected


# --- CodeBuild fixes -------------------------------------------------------------------------

# CreateProject fields moto's model drops (e.g. encryptionKey is always alias/aws/s3 in moto).
_CREATE_PROJECT_PASSTHROUGH = (
    "secondarySources",
    "secondarySourceVersions",
    "secondaryArtifacts",
    "encryptionKey",
    "fileSystemLocations",
    "buildBatchConfig",
    "concurrentBuildLimit",
)


def _find_project(backend: Any, name_or_arn: str) -> Any:
    if name_or_arn.startswith("arn:"):
        return next((p for p in backend.codebuild_projects.values() if p.arn == name_or_arn), None)
    return backend.codebuild_projects.get(name_or_arn)


def batch_get_projects(self: CodeBuildResponse) -> ActionResult:
    names = self._get_param("names") or []
    if not 1 <= len(names) <= 100:
        raise InvalidInputException("Number of project names must be between 1 and 100")
    projects, not_found = [], []
    for name_or_arn in names:
        project = _find_project(self.codebuild_backend, name_or_arn)
        if project is None:
            not_found.append(name_or_arn)
        else:
            projects.append(project.project_metadata)
    return ActionResult({"projects": projects, "projectsNotFound": not_found})


def create_project(self: CodeBuildResponse) -> ActionResult:
    result = _MOTO_ORIGINALS["create_project"](self)
    metadata = self.codebuild_backend.codebuild_projects[self._get_param("name")].project_metadata
    _apply_project_fields(metadata, {k: self._get_param(k) for k in _CREATE_PROJECT_PASSTHROUGH})
    metadata["projectVisibility"] = "PRIVATE"  # what CodeBuild answers for a new project
    return result


def update_project(self: CodeBuildResponse) -> ActionResult:
    """UpdateProject (500 in moto): the given top-level fields replace the stored ones."""
    name = self._get_param("name")
    project = _find_project(self.codebuild_backend, name or "")
    if project is None:
        raise InvalidInputException(f"Project cannot be found: {name}")
    fields = {k: v for k, v in json.loads(self.body).items() if k != "name"}
    _apply_project_fields(project.project_metadata, fields)
    project.project_metadata["lastModifiedDate"] = unix_time()
    return ActionResult({"project": project.project_metadata})


def _apply_project_fields(metadata: dict, fields: dict) -> None:
    for key, value in fields.items():
        if value is None:
            continue
        if key == "badgeEnabled":  # the request flag becomes BatchGetProjects' badge structure
            metadata["badge"] = {"badgeEnabled": bool(value)}
        else:
            metadata[key] = value


# --- CodeBuild webhooks and visibility (missing in moto) -------------------------------------
# Stored in the project's metadata, so BatchGetProjects shows them; `config_items` leaves them out
# of the recorded item, as Config does. Neither changes the project's lastModifiedDate.

# Source types CodeBuild can put a webhook on.
_WEBHOOK_SOURCE_TYPES = ("GITHUB", "GITHUB_ENTERPRISE", "BITBUCKET", "GITLAB", "GITLAB_SELF_MANAGED")
_GITHUB_REPOSITORY = re.compile(r"^https://github\.com/(?P<repository>[^/]+/[^/]+?)(?:\.git)?/?$")


def _project_or_not_found(response: CodeBuildResponse, name_or_arn: str | None) -> Any:
    project = _find_project(response.codebuild_backend, name_or_arn or "")
    if project is None:
        raise ResourceNotFoundException(f"Project cannot be found: {name_or_arn}")
    return project


def _filter_groups(groups: Any) -> list[list[dict]]:
    """Filter groups as CodeBuild stores them: each filter with its excludeMatchedPattern flag."""
    checked = []
    for group in groups or []:
        if not isinstance(group, list) or not group:
            raise InvalidInputException("Each filter group must be a non-empty list of filters")
        for webhook_filter in group:
            if not isinstance(webhook_filter, dict) or not {"type", "pattern"} <= set(webhook_filter):
                raise InvalidInputException("Each webhook filter needs a type and a pattern")
        checked.append([
            {"type": f["type"], "pattern": f["pattern"], "excludeMatchedPattern": bool(f.get("excludeMatchedPattern"))}
            for f in group
        ])
    return checked


def create_webhook(self: CodeBuildResponse) -> ActionResult:
    project = _project_or_not_found(self, self._get_param("projectName"))
    metadata = project.project_metadata
    if metadata.get("webhook"):
        raise ResourceAlreadyExistsException(f"Webhook already exists for project: {metadata['name']}")
    source = metadata.get("source") or {}
    if source.get("type") not in _WEBHOOK_SOURCE_TYPES:
        raise InvalidInputException(f"Webhooks are not supported for source type {source.get('type')}")
    webhook: dict[str, Any] = {
        "payloadUrl": f"https://codebuild.{self.region}.amazonaws.com/webhooks?t={uuid.uuid4().hex}&v=1",
        "filterGroups": _filter_groups(self._get_param("filterGroups")),
        "buildType": self._get_param("buildType") or "BUILD",
        "manualCreation": False,
        "lastModifiedSecret": unix_time(),
    }
    repository = _GITHUB_REPOSITORY.match(source.get("location") or "")
    if repository:  # the hook CodeBuild registers in the GitHub repository
        webhook["url"] = f"https://api.github.com/repos/{repository['repository']}/hooks/{uuid.uuid4().int % 10**9}"
    if self._get_param("branchFilter"):
        webhook["branchFilter"] = self._get_param("branchFilter")
    metadata["webhook"] = webhook
    return ActionResult({"webhook": webhook})


def update_webhook(self: CodeBuildResponse) -> ActionResult:
    """The given filterGroups / buildType / branchFilter replace the stored ones; rotateSecret renews
    lastModifiedSecret."""
    project = _project_or_not_found(self, self._get_param("projectName"))
    webhook = project.project_metadata.get("webhook")
    if not webhook:
        raise ResourceNotFoundException(f"Webhook does not exist for project: {project.project_metadata['name']}")
    if self._get_param("filterGroups") is not None:
        webhook["filterGroups"] = _filter_groups(self._get_param("filterGroups"))
    for key in ("buildType", "branchFilter"):
        if self._get_param(key) is not None:
            webhook[key] = self._get_param(key)
    if self._get_param("rotateSecret"):
        webhook["lastModifiedSecret"] = unix_time()
    return ActionResult({"webhook": webhook})


def delete_webhook(self: CodeBuildResponse) -> ActionResult:
    project = _project_or_not_found(self, self._get_param("projectName"))
    if not project.project_metadata.pop("webhook", None):
        raise ResourceNotFoundException(f"Webhook does not exist for project: {project.project_metadata['name']}")
    return EmptyResult()


def update_project_visibility(self: CodeBuildResponse) -> ActionResult:
    """PUBLIC_READ gives the project a public alias (kept if it goes PRIVATE again)."""
    project = _project_or_not_found(self, self._get_param("projectArn"))
    visibility = self._get_param("projectVisibility")
    if visibility not in ("PUBLIC_READ", "PRIVATE"):
        raise InvalidInputException(f"Invalid project visibility: {visibility}")
    metadata = project.project_metadata
    metadata["projectVisibility"] = visibility
    if visibility == "PUBLIC_READ":
        metadata.setdefault("publicProjectAlias", str(uuid.uuid5(uuid.NAMESPACE_URL, project.arn + "#public")))
    if self._get_param("resourceAccessRole"):
        metadata["resourceAccessRole"] = self._get_param("resourceAccessRole")
    answer = {"projectArn": project.arn, "projectVisibility": visibility}
    if "publicProjectAlias" in metadata:
        answer["publicProjectAlias"] = metadata["publicProjectAlias"]
    return ActionResult(answer)


# --- CodeBuild report groups (missing in moto) -----------------------------------------------
# Kept in STATE, BatchGetReportGroups-shaped; ARN arn:<partition>:codebuild:<region>:<account>:report-group/<name>.

_REPORT_GROUP_SORT_KEYS: dict[str, Callable[[dict], list]] = {
    "NAME": lambda group: [group["name"]],
    "CREATED_TIME": lambda group: [group["created"], group["name"]],
    "LAST_MODIFIED_TIME": lambda group: [group["lastModified"], group["name"]],
}


def _report_groups(response: CodeBuildResponse) -> dict[str, dict]:
    """The region's report groups by ARN (caller holds STATE.lock)."""
    return STATE.report_groups.setdefault((response.current_account, response.region), {})


def _export_config(config: Any) -> dict:
    if not isinstance(config, dict) or config.get("exportConfigType") not in ("S3", "NO_EXPORT"):
        raise InvalidInputException("exportConfig.exportConfigType must be S3 or NO_EXPORT")
    if config["exportConfigType"] == "S3" and not (config.get("s3Destination") or {}).get("bucket"):
        raise InvalidInputException("exportConfig.s3Destination.bucket is required for S3 exports")
    return config


def create_report_group(self: CodeBuildResponse) -> ActionResult:
    name, report_type = self._get_param("name"), self._get_param("type")
    if report_type not in ("TEST", "CODE_COVERAGE"):
        raise InvalidInputException(f"Invalid report group type: {report_type}")
    export_config = _export_config(self._get_param("exportConfig"))
    arn = f"arn:{get_partition(self.region)}:codebuild:{self.region}:{self.current_account}:report-group/{name}"
    now = unix_time()
    group = {
        "arn": arn, "name": name, "type": report_type, "exportConfig": export_config,
        "created": now, "lastModified": now, "status": "ACTIVE",
    }
    if self._get_param("tags"):
        group["tags"] = self._get_param("tags")
    with STATE.lock:
        groups = _report_groups(self)
        if arn in groups:
            raise ResourceAlreadyExistsException(f"Report group already exists: {arn}")
        groups[arn] = group
    return ActionResult({"reportGroup": group})


def batch_get_report_groups(self: CodeBuildResponse) -> ActionResult:
    arns = self._get_param("reportGroupArns") or []
    if not 1 <= len(arns) <= 100:
        raise InvalidInputException("Number of report group ARNs must be between 1 and 100")
    with STATE.lock:
        groups = _report_groups(self)
        found = [groups[arn] for arn in arns if arn in groups]
        not_found = [arn for arn in arns if arn not in groups]
    return ActionResult({"reportGroups": found, "reportGroupsNotFound": not_found})


def list_report_groups(self: CodeBuildResponse) -> ActionResult:
    """Report group ARNs, sorted by sortBy (NAME unless given) in sortOrder, paginated."""
    sort_by = self._get_param("sortBy") or "NAME"
    if sort_by not in _REPORT_GROUP_SORT_KEYS:
        raise InvalidInputException(f"Invalid sortBy: {sort_by}")
    descending = self._get_param("sortOrder") == "DESCENDING"
    limit = _page_limit(self._get_param("maxResults"), MAX_PAGE_SIZE, "InvalidInputException")
    sort_key = _REPORT_GROUP_SORT_KEYS[sort_by]
    with STATE.lock:
        groups = sorted(_report_groups(self).values(), key=sort_key, reverse=descending)
    page, next_token = _paginate(groups, sort_key, limit, self._get_param("nextToken"), descending)
    answer: dict[str, Any] = {"reportGroups": [group["arn"] for group in page]}
    if next_token:
        answer["nextToken"] = next_token
    return ActionResult(answer)


def update_report_group(self: CodeBuildResponse) -> ActionResult:
    """The given exportConfig and tags replace the stored ones."""
    arn = self._get_param("arn")
    export_config, tags = self._get_param("exportConfig"), self._get_param("tags")
    if export_config is not None:
        _export_config(export_config)
    with STATE.lock:
        group = _report_groups(self).get(arn)
        if group is None:
            raise ResourceNotFoundException(f"Report group cannot be found: {arn}")
        if export_config is not None:
            group["exportConfig"] = export_config
        if tags is not None:
            group["tags"] = tags
        group["lastModified"] = unix_time()
    return ActionResult({"reportGroup": group})


def delete_report_group(self: CodeBuildResponse) -> ActionResult:
    """Deleting an unknown ARN succeeds, like DeleteProject."""
    with STATE.lock:
        _report_groups(self).pop(self._get_param("arn"), None)
    return EmptyResult()


# --- CloudTrail: a trail of sensitive CodePipeline calls, and LookupEvents over it -------------

# The CodePipeline operations recorded, as CloudTrail records them: management write events.
TRAIL_OPERATIONS = (
    "DeletePipeline", "UpdatePipeline", "DisableStageTransition", "StopPipelineExecution", "PutApprovalResult",
)
LOOKUP_ATTRIBUTES = ("EventName", "EventSource", "ResourceName")
DEFAULT_LOOKUP_LIMIT = 50


def _record_trail_event(response: BaseResponse, action: str, status: int) -> None:
    """Keeps a CloudTrail record of a sensitive CodePipeline call moto answered successfully."""
    if response.boto3_service_name != "codepipeline" or action not in TRAIL_OPERATIONS or status >= 400:
        return
    account, region, now = response.current_account, response.region, time.time()
    parameters = _params(response)
    pipeline = parameters.get("name") or parameters.get("pipelineName") or (parameters.get("pipeline") or {}).get("name")
    record = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:{get_partition(region)}:iam::{account}:user/emulator",
                         "accountId": account, "userName": "emulator"},
        "eventTime": config_items.iso_millis(now),
        "eventSource": "codepipeline.amazonaws.com",
        "eventName": action,
        "awsRegion": region,
        "sourceIPAddress": getattr(response.normalized_request, "remote_addr", None) or "127.0.0.1",
        "requestParameters": parameters,
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    with STATE.lock:
        STATE.trail.setdefault((account, region), []).append({"time": now, "pipeline": pipeline, "record": record})


def _trail_entry_matches(entry: dict, key: str, value: str) -> bool:
    record = entry["record"]
    return {"EventName": record["eventName"], "EventSource": record["eventSource"],
            "ResourceName": entry["pipeline"]}[key] == value


def lookup_events(self: CloudTrailResponse) -> tuple[int, dict, str]:
    params = _params(self)
    attributes = params.get("LookupAttributes") or []
    if len(attributes) > 1 or any(a.get("AttributeKey") not in LOOKUP_ATTRIBUTES for a in attributes):
        raise _error("InvalidLookupAttributesException", f"at most one lookup attribute, one of {LOOKUP_ATTRIBUTES}")
    start = _timestamp(params["StartTime"], "startTime") if params.get("StartTime") is not None else 0.0
    end = _timestamp(params["EndTime"], "endTime") if params.get("EndTime") is not None else time.time()
    limit = _page_limit(params.get("MaxResults"), DEFAULT_LOOKUP_LIMIT, "InvalidMaxResultsException")
    with STATE.lock:
        entries = list(STATE.trail.get((self.current_account, self.region), []))
    entries = [
        entry for entry in entries
        if start <= entry["time"] <= end
        and all(_trail_entry_matches(entry, a["AttributeKey"], a.get("AttributeValue")) for a in attributes)
    ]

    def sort_key(entry: dict) -> list:
        return [entry["time"], entry["record"]["eventID"]]

    entries.sort(key=sort_key, reverse=True)  # newest first, as CloudTrail answers
    page, token = _paginate(entries, sort_key, limit, params.get("NextToken"), descending=True)
    events = [{
        "EventId": entry["record"]["eventID"],
        "EventName": entry["record"]["eventName"],
        "ReadOnly": "false",
        "EventTime": entry["time"],
        "EventSource": entry["record"]["eventSource"],
        "Username": entry["record"]["userIdentity"]["userName"],
        "Resources": [{"ResourceType": "AWS::CodePipeline::Pipeline", "ResourceName": entry["pipeline"]}]
        if entry["pipeline"] else [],
        "CloudTrailEvent": json.dumps(entry["record"]),
    } for entry in page]
    return _ok({"Events": events, **({"NextToken": token} if token else {})})


# --- AWS CodeStar Notifications (REST-JSON), which moto lacks ----------------------------------

NOTIFICATIONS_SERVICE = "codestar-notifications"
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


def _signed_for(environ: dict) -> tuple[str, str] | None:
    """(region, service) of a SigV4-signed request."""
    found = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return (found.group(1), found.group(2)) if found else None


def _notifications(region: str, operation: str, request: dict) -> tuple[int, dict]:
    """One CodeStar Notifications operation: (HTTP status, JSON answer, or {"__type", "message"})."""
    with STATE.lock:
        STATE.calls[f"{NOTIFICATIONS_SERVICE}.{operation}"] += 1
        rules = STATE.notification_rules.setdefault(region, {})
        if operation == "CreateNotificationRule":
            missing = [key for key in ("Name", "EventTypeIds", "Resource", "Targets", "DetailType") if not request.get(key)]
            if missing:
                return 400, {"__type": "ValidationException", "message": f"missing {', '.join(missing)}"}
            arn = f"arn:{get_partition(region)}:codestar-notifications:{region}:{DEFAULT_ACCOUNT_ID}:notificationrule/{uuid.uuid4().hex}"
            now = time.time()
            rules[arn] = {
                "Arn": arn, "Name": request["Name"], "Resource": request["Resource"],
                "EventTypes": [{"EventTypeId": kind, "ServiceName": "CodePipeline", "EventTypeName": kind,
                                "ResourceType": "Pipeline"} for kind in request["EventTypeIds"]],
                "Targets": [{"TargetAddress": target["TargetAddress"], "TargetType": target.get("TargetType", "SNS"),
                             "TargetStatus": "ACTIVE"} for target in request["Targets"]],
                "DetailType": request["DetailType"], "Status": request.get("Status", "ENABLED"),
                "CreatedBy": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:root", "CreatedTimestamp": now,
                "LastModifiedTimestamp": now, "Tags": request.get("Tags") or {},
            }
            return 200, {"Arn": arn}
        if operation == "DescribeNotificationRule":
            rule = rules.get(request.get("Arn"))
            if rule is None:
                return 404, {"__type": "ResourceNotFoundException", "message": f"{request.get('Arn')} not found"}
            return 200, rule
        if operation == "ListNotificationRules":
            if request.get("Filters"):
                return 400, {"__type": "ValidationException", "message": "the test bed does not filter"}
            limit = request.get("MaxResults") or 100
            ordered = sorted(rules)
            try:
                page, token = _paginate(ordered, lambda arn: [arn], limit, request.get("NextToken"))
            except JsonRESTError:
                return 400, {"__type": "InvalidNextTokenException", "message": "invalid NextToken"}
            summaries = [{"Id": arn.rsplit("/", 1)[-1], "Arn": arn} for arn in page]
            return 200, {"NotificationRules": summaries, **({"NextToken": token} if token else {})}
    return 400, {"__type": "ValidationException", "message": f"the test bed does not implement {operation}"}


def _json_answer(start_response: Callable, status: int, answer: Any, extra_headers: list | None = None) -> list[bytes]:
    payload = json.dumps(answer).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    start_response(f"{status} {reason}", headers + (extra_headers or []))
    return [payload]


# --- CloudWatch over Smithy RPC v2 CBOR, translated to the awsJson1_0 moto speaks ---------------

_CBOR_PATH = re.compile(r"^/service/(GraniteServiceVersion20100801)/operation/(\w+)$")


def _cloudwatch_cbor(app: Callable, environ: dict, start_response: Callable, body: bytes) -> list[bytes]:
    """Answers a CBOR CloudWatch request by asking moto the same in JSON, then encoding its answer in
    CBOR for the operation's output shape (errors: `{"__type", "message"}`)."""
    import io

    import botocore.session
    from botocore.parsers import RpcV2CBORParser
    from botocore.serialize import RpcV2CBORSerializer

    target, operation = _CBOR_PATH.match(environ["PATH_INFO"]).groups()
    request = RpcV2CBORParser().parse_data_item(io.BufferedReader(io.BytesIO(body))) if body else {}
    payload = json.dumps(request, default=lambda value: value.timestamp()).encode()
    forwarded = {
        **environ, "PATH_INFO": "/", "CONTENT_TYPE": "application/x-amz-json-1.0",
        "CONTENT_LENGTH": str(len(payload)), "HTTP_X_AMZ_TARGET": f"{target}.{operation}",
        "wsgi.input": io.BytesIO(payload),
    }
    forwarded.pop("HTTP_SMITHY_PROTOCOL", None)
    answered: dict = {}
    chunks = app(forwarded, lambda status, headers, exc_info=None: answered.update(status=status))
    status = int(answered["status"].split()[0])
    answer = json.loads(b"".join(chunks) or b"{}")
    model = botocore.session.get_session().get_service_model("cloudwatch")
    encoded = bytearray()
    if status == 200:
        RpcV2CBORSerializer()._serialize_data_item(encoded, answer, model.operation_model(operation).output_shape)
    else:
        code = str(answer.get("__type", "InternalFailure")).split("#")[-1]
        error = {"__type": code, "message": str(answer.get("message") or answer.get("Message") or "")}
        _cbor_text_map(encoded, error)
    start_response(answered["status"], [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                                        ("Content-Length", str(len(encoded)))])
    return [bytes(encoded)]


def _cbor_text_map(encoded: bytearray, document: dict) -> None:
    """A CBOR map of short text strings (error answers have no shape to encode them by)."""
    encoded.append(0xA0 | len(document))
    for text in (item for pair in document.items() for item in pair):
        data = text.encode()
        encoded.extend(bytes([0x78, len(data)]) if len(data) < 256 else bytes([0x79]) + len(data).to_bytes(2, "big"))
        encoded.extend(data)
# --- remediation configurations (missing in moto) --------------------------------------------

_REMEDIATION_TARGET_TYPES = ("SSM_DOCUMENT",)


def _remediations(response: ConfigResponse) -> dict[str, dict]:
    return STATE.remediations.setdefault((response.current_account, response.region), {})


def put_remediation_configurations(self: ConfigResponse) -> tuple[int, dict, str]:
    """Stores each configuration whose rule exists; the others come back as FailedBatches."""
    configurations = _params(self).get("RemediationConfigurations") or []
    if not 1 <= len(configurations) <= 25:
        raise _error("ValidationException", "RemediationConfigurations must hold 1 to 25 configurations")
    rules = config_backends[self.current_account][self.region].config_rules
    failed = []
    for configuration in configurations:
        rule_name = configuration.get("ConfigRuleName")
        if configuration.get("TargetType") not in _REMEDIATION_TARGET_TYPES or not configuration.get("TargetId"):
            raise _error("InvalidParameterValueException", "TargetType must be SSM_DOCUMENT, with a TargetId")
        if rule_name not in rules:
            failed.append({"FailureMessage": f"The ConfigRule '{rule_name}' provided in the request is invalid.",
                           "FailedItems": [configuration]})
            continue
        stored = dict(configuration, Arn=f"{rules[rule_name].config_rule_arn}/remediation")
        with STATE.lock:
            _remediations(self)[rule_name] = stored
    return _ok({"FailedBatches": failed})


def describe_remediation_configurations(self: ConfigResponse) -> tuple[int, dict, str]:
    names = _params(self).get("ConfigRuleNames") or []
    with STATE.lock:
        stored = _remediations(self)
        found = [stored[name] for name in names if name in stored]
    return _ok({"RemediationConfigurations": found})


def delete_remediation_configuration(self: ConfigResponse) -> tuple[int, dict, str]:
    name = _params(self).get("ConfigRuleName")
    with STATE.lock:
        if _remediations(self).pop(name, None) is None:
            raise _error("NoSuchRemediationConfigurationException",
                         f"No RemediationConfiguration for rule {name} exists.")
    return _ok({})


# --- EventBridge TestEventPattern (a stub in moto) ---------------------------------------------


def test_event_pattern(self: EventsHandler) -> tuple[int, dict, str]:
    params = _params(self)
    try:
        event = json.loads(params.get("Event") or "")
        pattern = EventPattern.load(params.get("EventPattern"))
    except ValueError as problem:
        raise _error("InvalidEventPatternException", f"Event pattern is not valid: {problem}") from None
    return _ok({"Result": pattern.matches_event(event)})


# --- API call counter and control routes ------------------------------------------------------


def _counting_call_action(self: BaseResponse) -> Any:
    """Counts every AWS request moto answers, as `<service>.<Action>` (boto3 service names), and
    answers with the fault injected for that operation, if any."""
    try:
        action = self._get_action() or "Unknown"
    except Exception:
        action = "Unknown"
    operation = f"{self.boto3_service_name}.{action}"
    with STATE.lock:
        STATE.calls[operation] += 1
        fault = STATE.faults.get(operation)
        if fault and fault["times"] > 0:
            fault["times"] -= 1
            STATE.faults_fired[operation] += 1
        else:
            fault = None
    if fault and "delay" in fault:
        time.sleep(fault["delay"])  # then answer normally: the work is done even if the caller gave up
    elif fault:
        return _fault_answer(self.boto3_service_name, action, fault["error"])
    answer = _MOTO_ORIGINALS["call_action"](self)
    _record_trail_event(self, action, answer[0] if isinstance(answer, tuple) else 200)
    return answer


# Injectable errors: kind -> (HTTP status, error code in JSON protocols, error code in IAM/STS's query protocol).
FAULT_ERRORS = {
    "throttle": (400, "ThrottlingException", "Throttling"),
    "server": (500, "InternalFailure", "InternalFailure"),
    "unavailable": (503, "ServiceUnavailableException", "ServiceUnavailable"),
    "denied": (400, "AccessDeniedException", "AccessDenied"),
}
QUERY_PROTOCOL_SERVICES = {"iam", "sts"}


def _fault_answer(service: str, action: str, kind: str) -> tuple[int, dict, str]:
    """An AWS error answer in the service's own protocol, as the SDKs parse and classify it."""
    status, json_code, query_code = FAULT_ERRORS[kind]
    message = f"injected by the test bed: {kind} on {service}.{action}"
    if service in QUERY_PROTOCOL_SERVICES:
        body = (f'<ErrorResponse xmlns="https://{service}.amazonaws.com/doc/2010-05-08/"><Error>'
                f"<Type>{'Receiver' if status >= 500 else 'Sender'}</Type><Code>{query_code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
        return status, {"Content-Type": "text/xml"}, body
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": json_code}
    return status, headers, json.dumps({"__type": json_code, "message": message})


def _reset_with_test_bed(self: MotoAPIBackend) -> None:
    """POST /moto-api/reset also clears the extension's state, so nothing leaks between tests."""
    _MOTO_ORIGINALS["reset"](self)
    with STATE.lock:
        STATE.clear()


def _parse_faults(document: Any) -> dict[str, dict]:
    usage = ('expected {"PutEvaluations": {"failFirst": N, "times": K}} and/or {"<service>.<Action>": '
             f'{{"error": one of {sorted(FAULT_ERRORS)}, "times": K}} or {{"delay": SECONDS, "times": K}}}}')
    if not isinstance(document, dict):
        raise ValueError(usage)
    faults = {}
    count = lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= 0
    for operation, fault in document.items():
        if not isinstance(fault, dict) or not count(fault.get("times", 1)):
            raise ValueError(usage)
        times = fault.get("times", 1)
        if operation == "PutEvaluations" and set(fault) <= {"failFirst", "times"} and count(fault.get("failFirst")):
            faults[operation] = {"failFirst": fault["failFirst"], "times": times}
        elif "." in operation and set(fault) <= {"error", "times"} and fault.get("error") in FAULT_ERRORS:
            faults[operation] = {"error": fault["error"], "times": times}
        elif ("." in operation and set(fault) <= {"delay", "times"} and isinstance(fault.get("delay"), (int, float))
              and 0 < fault["delay"] <= 60):
            faults[operation] = {"delay": fault["delay"], "times": times}
        else:
            raise ValueError(usage)
    return faults


def _control(method: str, path: str, body: bytes) -> tuple[int, Any]:
    """The test bed's control routes: (HTTP status, JSON answer)."""
    route = path[len(CONTROL_PREFIX):].strip("/")
    if route == "calls" and method == "GET":
        with STATE.lock:
            return 200, dict(STATE.calls)
    if route == "calls/reset" and method == "POST":
        with STATE.lock:
            STATE.calls.clear()
        return 200, {"status": "ok"}
    if route == "faults" and method == "POST":
        try:
            faults = _parse_faults(json.loads(body or b"{}"))
        except ValueError as problem:
            return 400, {"error": str(problem)}
        with STATE.lock:
            STATE.faults = faults
            STATE.faults_fired.clear()
        return 200, {"status": "ok"}
    if route == "faults" and method == "GET":
        with STATE.lock:
            return 200, {"fired": dict(STATE.faults_fired)}
    return 404, {"error": f"no control route {method} {path}"}


def with_control_routes(app: Callable) -> Callable:
    """Wraps moto's WSGI application so /moto-api/pipesec/... reaches the test bed's control routes."""

    def application(environ: dict, start_response: Callable) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        signed = _signed_for(environ)
        cbor = environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor" and _CBOR_PATH.match(path)
        if not path.startswith(CONTROL_PREFIX) and not (signed and signed[1] == NOTIFICATIONS_SERVICE) and not cbor:
            return app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if cbor:
            return _cloudwatch_cbor(app, environ, start_response, body)
        if path.startswith(CONTROL_PREFIX):
            return _json_answer(start_response, *_control(environ["REQUEST_METHOD"], path, body))
        # CodeStar Notifications: POST /<operation in lower camel case>, a JSON body.
        operation = path.strip("/")[:1].upper() + path.strip("/")[1:]
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return _json_answer(start_response, 400, {"message": "the body is not a JSON object"},
                                [("x-amzn-ErrorType", "ValidationException")])
        status, answer = _notifications(signed[0], operation, request)
        error_type = [("x-amzn-ErrorType", answer.pop("__type"))] if status != 200 else []
        return _json_answer(start_response, status, answer, error_type)

    return application


# --- installation ----------------------------------------------------------------------------

_MOTO_ORIGINALS: dict[str, Callable] = {}


def apply() -> None:
    """Installs the extension into moto (idempotent). Call before the server handles requests."""
    if _MOTO_ORIGINALS:
        return
    _MOTO_ORIGINALS.update(
        get_resource_config_history=ConfigResponse.get_resource_config_history,
        select_resource_config=ConfigResponse.select_resource_config,
        create_project=CodeBuildResponse.create_project,
        call_action=BaseResponse.call_action,
        reset=MotoAPIBackend.reset,
    )
    for operation in (
        put_evaluations,
        get_compliance_details_by_config_rule,
        describe_compliance_by_config_rule,
        get_resource_config_history,
        batch_get_resource_config,
        select_resource_config,
        put_remediation_configurations,
        describe_remediation_configurations,
        delete_remediation_configuration,
    ):
        setattr(ConfigResponse, operation.__name__, operation)
    for operation in (
        batch_get_projects,
        create_project,
        update_project,
        create_webhook,
        update_webhook,
        delete_webhook,
        update_project_visibility,
        create_report_group,
        batch_get_report_groups,
        list_report_groups,
        update_report_group,
        delete_report_group,
    ):
        setattr(CodeBuildResponse, operation.__name__, operation)
    CloudTrailResponse.lookup_events = lookup_events
    EventsHandler.test_event_pattern = test_event_pattern
    BaseResponse.call_action = _counting_call_action
    MotoAPIBackend.reset = _reset_with_test_bed
