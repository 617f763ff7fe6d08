"""AWS CloudTrail: a trail of the sensitive CodePipeline calls, and LookupEvents over it.

codepipeline-execution-anomalies looks up who changed a pipeline from where. moto 5.2.5 keeps
trails but records no events and has no LookupEvents. Here every sensitive CodePipeline call moto
answers successfully is recorded as CloudTrail records it (a management write event, from the
caller's address), and LookupEvents answers over those records, newest first. moto's CodePipeline
itself is unchanged: `control` calls `record_trail_event` after each answer.
"""

import json
import time
import uuid

from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.responses import BaseResponse
from moto.utilities.utils import get_partition

from testbed import config_items
from testbed.services.common import STATE, error, ok, page_limit, paginate, parse_timestamp, request_params

# The CodePipeline operations recorded, as CloudTrail records them: management write events.
TRAIL_OPERATIONS = (
    "DeletePipeline", "UpdatePipeline", "DisableStageTransition", "StopPipelineExecution", "PutApprovalResult",
)
LOOKUP_ATTRIBUTES = ("EventName", "EventSource", "ResourceName")
DEFAULT_LOOKUP_LIMIT = 50


def record_trail_event(response: BaseResponse, action: str, status: int) -> None:
    """Keeps a CloudTrail record of a sensitive CodePipeline call moto answered successfully."""
    if response.boto3_service_name != "codepipeline" or action not in TRAIL_OPERATIONS or status >= 400:
        return
    account, region, now = response.current_account, response.region, time.time()
    parameters = request_params(response)
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
        "Resources": [{"ResourceType": "AWS::CodePipeline::Pipeline", "ResourceName": entry["pipeline"]}]
        if entry["pipeline"] else [],
        "CloudTrailEvent": json.dumps(entry["record"]),
    } for entry in page]
    return ok({"Events": events, **({"NextToken": token} if token else {})})


def install() -> None:
    """Adds LookupEvents to moto's CloudTrail responses."""
    CloudTrailResponse.lookup_events = lookup_events
