"""AWS CloudTrail: a trail of the sensitive CodePipeline and CodeBuild calls, and LookupEvents over it.

codepipeline-execution-anomalies looks up who changed a pipeline from where, and
codebuild-project-build-anomalies who started builds with overrides and who changed a project.
moto 5.2.5 keeps trails but records no events and has no LookupEvents. Here every watched call
moto answers successfully is recorded as CloudTrail records it (a management write event, from the
caller's address, with its request parameters), and LookupEvents answers over those records,
newest first. moto's services themselves are unchanged: `control` calls `record_trail_event` after
each answer. CloudTrail has no API to write history, so `backdate` (a test bed control) moves what
was recorded into the past, for tests of windows and baselines.
"""

import datetime
import json
import time
import uuid

from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.responses import BaseResponse
from moto.utilities.utils import get_partition

from testbed import config_items
from testbed.services.common import STATE, error, ok, page_limit, paginate, parse_timestamp, request_params

# The operations recorded per service, as CloudTrail records them: management write events.
TRAIL_OPERATIONS = {
    "codepipeline": ("DeletePipeline", "UpdatePipeline", "StopPipelineExecution", "DisableStageTransition",
                     "PutJobFailureResult", "RetryStageExecution", "PutApprovalResult"),
    "codebuild": ("StartBuild", "UpdateProject", "ImportSourceCredentials", "CreateWebhook", "UpdateWebhook",
                  "DeleteWebhook"),
}
RESOURCE_TYPES = {"codepipeline": "AWS::CodePipeline::Pipeline", "codebuild": "AWS::CodeBuild::Project"}
LOOKUP_ATTRIBUTES = ("EventName", "EventSource", "ResourceName")
DEFAULT_LOOKUP_LIMIT = 50


def record_trail_event(response: BaseResponse, action: str, status: int) -> None:
    """Keeps a CloudTrail record of a watched call moto answered successfully."""
    service = response.boto3_service_name
    if action not in TRAIL_OPERATIONS.get(service, ()) or status >= 400:
        return
    account, region, now = response.current_account, response.region, time.time()
    parameters = request_params(response)
    # ImportSourceCredentials names no project: CloudTrail lists no resource for it.
    resource = (parameters.get("name") or parameters.get("pipelineName") or parameters.get("projectName")
                or (parameters.get("pipeline") or {}).get("name"))
    if action == "ImportSourceCredentials":
        parameters = {**parameters, "token": "HIDDEN_DUE_TO_SECURITY_REASONS"}
    record = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:{get_partition(region)}:iam::{account}:user/emulator",
                         "accountId": account, "userName": "emulator"},
        "eventTime": config_items.iso_millis(now),
        "eventSource": f"{service}.amazonaws.com",
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
        STATE.trail.setdefault((account, region), []).append(
            {"time": now, "resource": resource, "resource_type": RESOURCE_TYPES[service], "record": record})


def _trail_entry_matches(entry: dict, key: str, value: str) -> bool:
    record = entry["record"]
    return {"EventName": record["eventName"], "EventSource": record["eventSource"],
            "ResourceName": entry["resource"]}[key] == value


def lookup_events(self: CloudTrailResponse) -> tuple[int, dict, str]:
    params = request_params(self)
    attributes = params.get("LookupAttributes") or []
    if len(attributes) > 1 or any(a.get("AttributeKey") not in LOOKUP_ATTRIBUTES for a in attributes):
        raise error("InvalidLookupAttributesException", f"at most one lookup attribute, one of {LOOKUP_ATTRIBUTES}")
    start = parse_timestamp(params["StartTime"], "startTime") if params.get("StartTime") is not None else 0.0
    end = parse_timestamp(params["EndTime"], "endTime") if params.get("EndTime") is not None else time.time()
    limit = page_limit(params.get("MaxResults"), DEFAULT_LOOKUP_LIMIT, "InvalidMaxResultsException")
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
    page, token = paginate(entries, sort_key, limit, params.get("NextToken"), descending=True)
    events = [{
        "EventId": entry["record"]["eventID"],
        "EventName": entry["record"]["eventName"],
        "ReadOnly": "false",
        "EventTime": entry["time"],
        "EventSource": entry["record"]["eventSource"],
        "Username": entry["record"]["userIdentity"]["userName"],
        "Resources": [{"ResourceType": entry["resource_type"], "ResourceName": entry["resource"]}]
        if entry["resource"] else [],
        "CloudTrailEvent": json.dumps(entry["record"]),
    } for entry in page]
    return ok({"Events": events, **({"NextToken": token} if token else {})})


def backdate(seconds: float) -> dict:
    """Moves everything recorded so far `seconds` into the past: the trail's records, moto's
    CodePipeline executions and CodeBuild builds. What is recorded afterwards happens now."""
    from moto.codebuild.models import codebuild_backends
    from moto.codepipeline.models import codepipeline_backends

    shift = datetime.timedelta(seconds=seconds)
    moved = {"records": 0, "executions": 0, "builds": 0}
    with STATE.lock:
        for entries in STATE.trail.values():
            for entry in entries:
                entry["time"] -= seconds
                entry["record"]["eventTime"] = config_items.iso_millis(entry["time"])
                moved["records"] += 1
    for backend in _backends(codepipeline_backends):
        for pipeline in backend.pipelines.values():
            for execution in getattr(pipeline, "executions", {}).values():
                execution.start_time -= shift
                execution.last_update_time -= shift
                moved["executions"] += 1
    for backend in _backends(codebuild_backends):
        for builds in backend.build_metadata_history.values():
            for build in builds:
                started = datetime.datetime.fromisoformat(build["startTime"].replace("Z", "+00:00"))
                build["startTime"] = (started - shift).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                moved["builds"] += 1
    return moved


def _backends(by_account) -> list:
    return [backend for regions in by_account.values() for backend in regions.values()]


def install() -> None:
    """Adds LookupEvents to moto's CloudTrail responses."""
    CloudTrailResponse.lookup_events = lookup_events
