"""S3: moto's own buckets, with the test bed's call counting and fault injection.

moto answers S3 natively (GetPublicAccessBlock, GetBucketVersioning, GetBucketPolicy,
GetBucketEncryption, and their "not found" errors), but its REST handler does not pass through the
dispatch `control` wraps, so bucket requests are counted and faulted here, under their operation
names like every other service's (`testbed.actions` maps them to the IAM actions that authorize
them). Injected faults answer with S3's XML error document and status, as S3 does (`denied` is
AccessDenied, 403: another account's bucket).

One answer is corrected: moto wraps GetBucketVersioning's status in `GetBucketVersioningResponse`,
where S3 answers a `VersioningConfiguration` document (the S3 API reference; an SDK that checks the
root element, as the Rust SDK does, rejects moto's).
"""

import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

from moto.s3.responses import S3Response

from testbed.services.common import MOTO_ORIGINALS, STATE

# GET on a bucket with this sub-resource in its query -> the S3 API operation.
BUCKET_GETS = {
    "publicAccessBlock": "GetPublicAccessBlock",
    "versioning": "GetBucketVersioning",
    "policy": "GetBucketPolicy",
    "encryption": "GetBucketEncryption",
}

# Injectable fault kind -> (HTTP status, S3 error code).
S3_FAULTS = {
    "throttle": (503, "SlowDown"),
    "server": (500, "InternalError"),
    "unavailable": (503, "ServiceUnavailable"),
    "denied": (403, "AccessDenied"),
}


def _operation(method: str, full_url: str) -> str:
    query = parse_qs(urlparse(full_url).query, keep_blank_values=True)
    if method == "GET":
        for subresource, operation in BUCKET_GETS.items():
            if subresource in query:
                return operation
    # Not one the rules read: named by method and sub-resources, so a call no role grants shows.
    return f"{method} {'&'.join(sorted(query)) or '/'}"


def _counting_bucket_response(self: S3Response, request: Any, full_url: str, headers: Any) -> Any:
    operation = f"s3.{_operation(request.method, full_url)}"
    with STATE.lock:
        STATE.calls[operation] += 1
        fault = STATE.faults.get(operation)
        if fault and fault["times"] > 0 and "error" in fault:
            fault["times"] -= 1
            STATE.faults_fired[operation] += 1
        else:
            fault = None
    if fault:
        status, code = S3_FAULTS[fault["error"]]
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>injected by the test bed: {fault['error']} on {operation}</Message>"
                f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>")
        return status, {"Content-Type": "application/xml"}, body.encode()
    return MOTO_ORIGINALS["s3_bucket_response"](self, request, full_url, headers)


def _versioning_as_s3_answers(self: S3Response) -> Any:
    answer = MOTO_ORIGINALS["s3_get_bucket_versioning"](self)
    rename = lambda body: body.replace("GetBucketVersioningResponse", "VersioningConfiguration")
    if isinstance(answer, tuple):
        status, headers, body = answer
        return status, headers, rename(body.decode() if isinstance(body, bytes) else body)
    return rename(answer.decode() if isinstance(answer, bytes) else answer)


def install() -> None:
    MOTO_ORIGINALS["s3_bucket_response"] = S3Response.bucket_response
    MOTO_ORIGINALS["s3_get_bucket_versioning"] = S3Response.get_bucket_versioning
    S3Response.bucket_response = _counting_bucket_response
    S3Response.get_bucket_versioning = _versioning_as_s3_answers
