"""The rdklib baseline of the start-up and throughput benchmarks: the privileged-mode check
written with AWS's rdklib (`ConfigRule` + `Evaluator`, as the RDK templates generate it),
speaking the Lambda Runtime API directly so that it is driven exactly like the Rust rule and the
boto3 baseline.

rdklib assumes the event's execution role through a regional STS endpoint on the internet by
default; this rule turns that off (`get_assume_role_mode`): pipesec never assumes a role,
so every call goes to the emulator.

`PrivilegedModeDisabled.evaluate_change` is the check itself, a pure function of the item:
bench/throughput.py times it. It is a benchmark baseline only, not a product rule.
"""

import json
import os
import urllib.request

from rdklib import ComplianceType, ConfigRule, Evaluation, Evaluator


class PrivilegedModeDisabled(ConfigRule):
    def evaluate_change(self, event, client_factory, configuration_item, valid_rule_parameters):
        environment = (configuration_item.get("configuration") or {}).get("environment") or {}
        if environment.get("privilegedMode"):
            return [Evaluation(ComplianceType.NON_COMPLIANT, annotation="privileged mode is enabled")]
        return [Evaluation(ComplianceType.COMPLIANT, annotation="privileged mode is disabled")]

    def get_assume_role_mode(self, event):
        return False


def main() -> None:
    evaluator = Evaluator(PrivilegedModeDisabled(), ["AWS::CodeBuild::Project"])
    api = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"
    while True:
        with urllib.request.urlopen(f"{api}/invocation/next") as response:
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(response.read())
        body = json.dumps(evaluator.handle(event, None), default=str).encode()
        urllib.request.urlopen(urllib.request.Request(f"{api}/invocation/{request_id}/response", data=body,
                                                      method="POST"))


if __name__ == "__main__":
    main()
