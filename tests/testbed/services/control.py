"""The test bed's own controls: an API call counter, fault injection, request-rate limits and reset.

Not an AWS service. Tests count the calls a rule makes (`<service>.<Action>`, boto3 service names)
and inject the failures AWS can answer with: partial FailedEvaluations from PutEvaluations, and
throttling, 5xx, AccessDenied or a slow answer on any operation, in the service's own protocol so
the SDKs classify them as they would AWS's. Rate limits are token buckets per service or per
operation, off until set: a request that finds its bucket empty is answered with the service's
throttling error, as AWS answers one over its quota, so a client's retries and backoff are what
is measured. moto has none of these. They are driven through control routes under
/moto-api/pipesec/ (`install.with_control_routes`); `POST /moto-api/reset` also clears the
extension's state (limits included), so nothing leaks between tests.
"""

import json
import time
import uuid
from typing import Any

from moto.core.responses import BaseResponse
from moto.moto_api._internal.models import MotoAPIBackend

from testbed.services import cloudtrail
from testbed.services.common import MOTO_ORIGINALS, STATE

CONTROL_PREFIX = "/moto-api/pipesec/"

# Injectable errors: kind -> (HTTP status, error code in JSON protocols, error code in IAM/STS's query protocol).
FAULT_ERRORS = {
    "throttle": (400, "ThrottlingException", "Throttling"),
    "server": (500, "InternalFailure", "InternalFailure"),
    "unavailable": (503, "ServiceUnavailableException", "ServiceUnavailable"),
    "denied": (400, "AccessDeniedException", "AccessDenied"),
}
QUERY_PROTOCOL_SERVICES = {"iam", "sts"}
# Services a rate limit may name: those whose requests reach moto's dispatch and whose errors
# `_fault_answer` can write (JSON and query protocols; not S3's REST-XML, not CBOR CloudWatch).
RATE_LIMITED_SERVICES = {"iam", "sts", "config", "cloudtrail", "codebuild", "codepipeline", "logs", "events",
                         "codestar-notifications", "secretsmanager", "ssm", "ecr"}


class TokenBucket:
    """AWS's throttling model: `burst` tokens at most, refilled at `rate` a second; a request
    takes one, or is throttled when none is left."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = burst, time.monotonic()

    def take(self) -> bool:
        """Takes a token if there is one (the caller holds STATE.lock)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


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
        bucket = STATE.rate_limits.get(operation) or STATE.rate_limits.get(self.boto3_service_name)
        throttled = bucket is not None and not bucket.take()
        if throttled:
            STATE.throttled[operation] += 1
        fault = STATE.faults.get(operation)
        if fault and fault["times"] > 0 and not throttled:
            fault["times"] -= 1
            STATE.faults_fired[operation] += 1
        else:
            fault = None
    if throttled:
        return _fault_answer(self.boto3_service_name, action, "throttle", "Rate exceeded")
    if fault and "delay" in fault:
        time.sleep(fault["delay"])  # then answer normally: the work is done even if the caller gave up
    elif fault:
        return _fault_answer(self.boto3_service_name, action, fault["error"])
    answer = MOTO_ORIGINALS["call_action"](self)
    cloudtrail.record_trail_event(self, action, answer[0] if isinstance(answer, tuple) else 200)
    return answer


def _fault_answer(service: str, action: str, kind: str, message: str | None = None) -> tuple[int, dict, str]:
    """An AWS error answer in the service's own protocol, as the SDKs parse and classify it."""
    status, json_code, query_code = FAULT_ERRORS[kind]
    message = message or f"injected by the test bed: {kind} on {service}.{action}"
    if service in QUERY_PROTOCOL_SERVICES:
        body = (f'<ErrorResponse xmlns="https://{service}.amazonaws.com/doc/2010-05-08/"><Error>'
                f"<Type>{'Receiver' if status >= 500 else 'Sender'}</Type><Code>{query_code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
        return status, {"Content-Type": "text/xml"}, body
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": json_code}
    return status, headers, json.dumps({"__type": json_code, "message": message})


def _reset_with_test_bed(self: MotoAPIBackend) -> None:
    """POST /moto-api/reset also clears the extension's state, so nothing leaks between tests."""
    MOTO_ORIGINALS["reset"](self)
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


def _parse_rate_limits(document: Any) -> dict[str, TokenBucket]:
    usage = ('expected {"<service>" or "<service>.<Action>": {"rate": PER_SECOND, "burst": TOKENS}}, services '
             f"among {sorted(RATE_LIMITED_SERVICES)}, 0 < rate, 1 <= burst")
    if not isinstance(document, dict):
        raise ValueError(usage)
    number = lambda value: isinstance(value, (int, float)) and not isinstance(value, bool)
    buckets = {}
    for scope, limit in document.items():
        if (not isinstance(limit, dict) or set(limit) != {"rate", "burst"} or scope.split(".")[0] not in
                RATE_LIMITED_SERVICES or not number(limit["rate"]) or not number(limit["burst"])
                or limit["rate"] <= 0 or limit["burst"] < 1):
            raise ValueError(usage)
        buckets[scope] = TokenBucket(limit["rate"], limit["burst"])
    return buckets


def control(method: str, path: str, body: bytes) -> tuple[int, Any]:
    """The test bed's control routes: (HTTP status, JSON answer)."""
    route = path[len(CONTROL_PREFIX):].strip("/")
    if route == "calls" and method == "GET":
        with STATE.lock:
            return 200, dict(STATE.calls)
    if route == "calls/reset" and method == "POST":
        with STATE.lock:
            STATE.calls.clear()
            STATE.throttled.clear()
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
    if route == "backdate" and method == "POST":
        try:
            seconds = json.loads(body or b"{}")["seconds"]
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 < seconds <= 90 * 86400:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return 400, {"error": 'expected {"seconds": S}, 0 < S <= 90 days (CloudTrail\'s event history)'}
        return 200, cloudtrail.backdate(seconds)
    if route == "rates" and method == "POST":
        try:
            buckets = _parse_rate_limits(json.loads(body or b"{}"))
        except ValueError as problem:
            return 400, {"error": str(problem)}
        with STATE.lock:
            STATE.rate_limits = buckets
            STATE.throttled.clear()
        return 200, {"status": "ok"}
    if route == "rates" and method == "GET":
        with STATE.lock:
            limits = {scope: {"rate": b.rate, "burst": b.burst} for scope, b in STATE.rate_limits.items()}
            return 200, {"limits": limits, "throttled": dict(STATE.throttled)}
    if route == "faults" and method == "GET":
        with STATE.lock:
            return 200, {"fired": dict(STATE.faults_fired)}
    return 404, {"error": f"no control route {method} {path}"}


def install() -> None:
    """Wraps moto's dispatch of every request (counting, faults) and its reset."""
    MOTO_ORIGINALS.update(call_action=BaseResponse.call_action, reset=MotoAPIBackend.reset)
    BaseResponse.call_action = _counting_call_action
    MotoAPIBackend.reset = _reset_with_test_bed
