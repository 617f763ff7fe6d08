"""The boto3 baseline of the start-up and throughput benchmarks: the privileged-mode check written
the way Python Config rules usually are (boto3 clients created before the first event, the
invoking event parsed with json), speaking the Lambda Runtime API directly so that it is driven
like the Rust rule.

It builds exactly the clients the pipesec rule uses: Config alone, for PutEvaluations (the
privileged-mode rule reads nothing but the configuration item).

`evaluate` is the check itself, a pure function of the item: bench/throughput.py times it.
It is a benchmark baseline only, not a product rule.
"""

import json
import os
import urllib.request

import boto3


def evaluate(item: dict) -> tuple[str, str]:
    """(compliance, annotation) of one CodeBuild project's configuration item."""
    privileged = bool(((item.get("configuration") or {}).get("environment") or {}).get("privilegedMode"))
    if privileged:
        return "NON_COMPLIANT", "privileged mode is enabled"
    return "COMPLIANT", "privileged mode is disabled"


def handle(config, event: dict) -> dict:
    item = json.loads(event["invokingEvent"])["configurationItem"]
    compliance, annotation = evaluate(item)
    config.put_evaluations(
        Evaluations=[{
            "ComplianceResourceType": item["resourceType"],
            "ComplianceResourceId": item["resourceId"],
            "ComplianceType": compliance,
            "Annotation": annotation,
            "OrderingTimestamp": item["configurationItemCaptureTime"],
        }],
        ResultToken=event["resultToken"],
    )
    return {"compliance": compliance}


def main() -> None:
    config = boto3.client("config")
    api = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"
    while True:
        with urllib.request.urlopen(f"{api}/invocation/next") as response:
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(response.read())
        body = json.dumps(handle(config, event)).encode()
        urllib.request.urlopen(urllib.request.Request(f"{api}/invocation/{request_id}/response", data=body,
                                                      method="POST"))


if __name__ == "__main__":
    main()
