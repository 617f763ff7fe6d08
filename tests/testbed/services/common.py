"""What the emulated services share: the extension's state, AWS JSON answers and errors, request
parsing, and AWS-style pagination.

Not a service. The state lives in one object with one lock because the API call counter and
CloudTrail's trail are updated from the same request, and `POST /moto-api/reset` clears it all at
once, like moto's own state.
"""

import base64
import binascii
import json
import threading
from collections import Counter
from typing import Any, Callable

from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse

from testbed import config_items

MAX_PAGE_SIZE = 100

# What `install.apply()` replaced, by name, for the replacements that still call moto's own.
MOTO_ORIGINALS: dict[str, Callable] = {}


class ExtensionState:
    """Everything the extension remembers; one instance per emulator process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        # config: (account, region) -> rule name -> (resource type, resource id) -> stored evaluation result
        self.evaluations: dict[tuple[str, str], dict[str, dict[tuple[str, str], dict]]] = {}
        # control: {"PutEvaluations": {"failFirst": N, "times": K}} or {"<service>.<Action>": {"error":
        # kind, "times": K} | {"delay": seconds, "times": K}}: K is decremented per faulted call.
        self.faults: dict[str, dict] = {}
        # control: "<service>.<Action>" -> how many answers an injected fault replaced or delayed
        self.faults_fired: Counter[str] = Counter()
        # control: "<service>.<Action>" -> number of requests answered
        self.calls: Counter[str] = Counter()
        # control: request-rate limits, off unless set: scope ("<service>" or "<service>.<Action>")
        # -> token bucket (`control.TokenBucket`); a request uses its operation's bucket, else its service's.
        self.rate_limits: dict[str, Any] = {}
        # control: "<service>.<Action>" -> requests answered with a throttling error by a rate limit
        self.throttled: Counter[str] = Counter()
        # codebuild: (account, region) -> report group ARN -> BatchGetReportGroups-shaped report group
        self.report_groups: dict[tuple[str, str], dict[str, dict]] = {}
        # cloudtrail: (account, region) -> [{"time", "pipeline", "record"}]: CloudTrail records, oldest first
        self.trail: dict[tuple[str, str], list[dict]] = {}
        # codestar_notifications: region -> notification rule ARN -> DescribeNotificationRule-shaped rule
        self.notification_rules: dict[str, dict[str, dict]] = {}
        # config: (account, region) -> Config rule name -> remediation configuration
        self.remediations: dict[tuple[str, str], dict[str, dict]] = {}
        # securityhub: (account, region) -> automation rules, as created
        self.automation_rules: dict[tuple[str, str], list[dict]] = {}
        # securityhub: administrator account -> {"region", "mode", "regions"} of its finding aggregator
        self.finding_aggregators: dict[str, dict] = {}


STATE = ExtensionState()


def error(code: str, message: str) -> JsonRESTError:
    """An AWS JSON-1.1 error: HTTP 400, {"__type": code, "message": message}."""
    return JsonRESTError(code, message)


def ok(document: dict) -> tuple[int, dict, str]:
    """A JSON-1.1 success answer (moto would label a bare string text/html)."""
    return 200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(document)


def request_params(response: BaseResponse) -> dict:
    """The JSON request body of a JSON-1.1 operation."""
    return json.loads(response.body) if response.body else {}


def parse_timestamp(value: Any, where: str) -> float:
    """Epoch seconds of a request timestamp: a number (how SDKs send JSON-1.1 timestamps) or ISO text."""
    try:
        return config_items.epoch_seconds(value)
    except (AttributeError, TypeError, ValueError):
        raise error("ValidationException", f"Value '{value}' at '{where}' is not a valid timestamp") from None


def page_limit(value: Any, default: int, error_code: str) -> int:
    """AWS page-size semantics: absent or 0 means the default; above 100 is an error."""
    if not value:
        return default
    if not isinstance(value, int) or value < 0 or value > MAX_PAGE_SIZE:
        raise error(error_code, f"Value '{value}' at 'limit' failed to satisfy constraint: "
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
        raise error("InvalidNextTokenException", "The specified next token is invalid.")
    return after


def paginate(
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


def json_answer(start_response: Callable, status: int, answer: Any, extra_headers: list | None = None) -> list[bytes]:
    """A WSGI JSON answer, for the requests answered before they reach moto."""
    payload = json.dumps(answer).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    start_response(f"{status} {reason}", headers + (extra_headers or []))
    return [payload]
