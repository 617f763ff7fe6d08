"""AWS CodeStar Notifications: notification rules, minimally.

codepipeline-failure-alerting counts a notification rule on a pipeline (the console's "Notify") as
failure alerting. moto 5.2.5 has no CodeStar Notifications service at all, and no response class
to add one to, so its REST-JSON requests (POST /<operation in lower camel case>, a JSON body) are
answered in front of moto's WSGI application (`install.with_control_routes`). Only
CreateNotificationRule, DescribeNotificationRule and ListNotificationRules; every target is
ACTIVE; ListNotificationRules takes no filters. Calls are counted like moto's (`control`).
"""

import json
import re
import time
import uuid
from typing import Callable

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.utilities.utils import get_partition

from testbed.services.common import STATE, json_answer, paginate

SERVICE = "codestar-notifications"
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


def signed_for(environ: dict) -> tuple[str, str] | None:
    """(region, service) of a SigV4-signed request."""
    found = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return (found.group(1), found.group(2)) if found else None


def answer(region: str, path: str, body: bytes, start_response: Callable) -> list[bytes]:
    """The WSGI answer to a CodeStar Notifications request to `path`, signed for `region`."""
    operation = path.strip("/")[:1].upper() + path.strip("/")[1:]
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        request = None
    if not isinstance(request, dict):
        return json_answer(start_response, 400, {"message": "the body is not a JSON object"},
                           [("x-amzn-ErrorType", "ValidationException")])
    status, document = _operation(region, operation, request)
    error_type = [("x-amzn-ErrorType", document.pop("__type"))] if status != 200 else []
    return json_answer(start_response, status, document, error_type)


def _operation(region: str, operation: str, request: dict) -> tuple[int, dict]:
    """One CodeStar Notifications operation: (HTTP status, JSON answer, or {"__type", "message"})."""
    with STATE.lock:
        STATE.calls[f"{SERVICE}.{operation}"] += 1
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
                page, token = paginate(ordered, lambda arn: [arn], limit, request.get("NextToken"))
            except JsonRESTError:
                return 400, {"__type": "InvalidNextTokenException", "message": "invalid NextToken"}
            summaries = [{"Id": arn.rsplit("/", 1)[-1], "Arn": arn} for arn in page]
            return 200, {"NotificationRules": summaries, **({"NextToken": token} if token else {})}
    return 400, {"__type": "ValidationException", "message": f"the test bed does not implement {operation}"}
