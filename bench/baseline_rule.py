"""The baseline for the start-up benchmark: the privileged-mode check written the way Python
Config rules usually are (boto3 clients created at import, the invoking event parsed with json),
speaking the Lambda Runtime API directly so that both are driven the same way.

It is a benchmark baseline only, not a product rule.
"""

import json
import os
import urllib.request

import boto3

config = boto3.client("config")
codebuild = boto3.client("codebuild")

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"


def handle(event):
    invoking = json.loads(event["invokingEvent"])
    item = invoking["configurationItem"]
    privileged = bool(((item.get("configuration") or {}).get("environment") or {}).get("privilegedMode"))
    compliance = "NON_COMPLIANT" if privileged else "COMPLIANT"
    config.put_evaluations(
        Evaluations=[{
            "ComplianceResourceType": item["resourceType"],
            "ComplianceResourceId": item["resourceId"],
            "ComplianceType": compliance,
            "Annotation": "privileged mode is enabled" if privileged else "privileged mode is disabled",
            "OrderingTimestamp": item["configurationItemCaptureTime"],
        }],
        ResultToken=event["resultToken"],
    )
    return {"compliance": compliance}


while True:
    with urllib.request.urlopen(f"{API}/invocation/next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(response.read())
    body = json.dumps(handle(event)).encode()
    urllib.request.urlopen(urllib.request.Request(f"{API}/invocation/{request_id}/response", data=body, method="POST"))
