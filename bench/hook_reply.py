"""Reply time of the CloudFormation hook on the largest pipeline CodePipeline accepts (50 stages of
50 actions), against CloudFormation's 30-second budget for a Lambda hook.

Every action is a CodeBuild action with its own project (none exists: every BatchGetProjects batch
is read and finds nothing) and settings the secret detector reads; each stage's actions run under
a role of their own, and the pipeline under another, all created on the emulator with an inline
policy, so the role rule reads 51 roles. The hook binary is driven through the Lambda Runtime API
harness against the emulator, RUNS invocations on one process after a first (cold) one.

    hook_reply.py OUTPUT.json BINARY            a native build
    hook_reply.py OUTPUT.json --qemu BOOTSTRAP  the arm64 package under qemu user-mode emulation
"""

import json
import os
import shutil
import statistics
import sys
from pathlib import Path

import boto3

from testbed.emulator import Emulator
from testbed.lambda_runtime import LambdaFunction
from testbed.stack import ACCOUNT_ID, REGION

RUNS = 10
STAGES = ACTIONS = 50  # CodePipeline's quotas: stages per pipeline, actions per stage
BUDGET_SECONDS = 30.0
QEMU_LD_PREFIX = "/usr/aarch64-linux-gnu"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def largest_pipeline() -> dict:
    stages = []
    for s in range(STAGES):
        actions = []
        for a in range(ACTIONS):
            variables = [{"name": f"VAR_{v}", "value": f"value-{s}-{a}-{v}", "type": "PLAINTEXT"} for v in range(5)]
            actions.append({
                "Name": f"Build-{a}",
                "ActionTypeId": {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"},
                "Configuration": {"ProjectName": f"project-{s}-{a}", "PrimarySource": "SourceOutput",
                                  "EnvironmentVariables": json.dumps(variables)},
                "InputArtifacts": [{"Name": "SourceOutput"}],
                "RoleArn": role_arn(f"stage-{s}-role"),
                "RunOrder": str(a % 5 + 1),
            })
        stages.append({"Name": f"Stage{s}", "Actions": actions})
    return {
        "Name": "largest",
        "RoleArn": role_arn("pipeline-role"),
        "ArtifactStore": {"Type": "S3", "Location": "artifacts",
                          "EncryptionKey": {"Id": f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/0f5c4a7e", "Type": "KMS"}},
        "Stages": stages,
    }


def request(properties: dict) -> dict:
    return {
        "clientRequestToken": "bench",
        "awsAccountId": ACCOUNT_ID,
        "stackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/bench/0",
        "actionInvocationPoint": "CREATE_PRE_PROVISION",
        "requestData": {"targetName": "AWS::CodePipeline::Pipeline", "targetType": "AWS::CodePipeline::Pipeline",
                        "targetLogicalId": "Largest",
                        "targetModel": {"resourceProperties": properties}},
        "requestContext": {"invocation": 1, "callbackContext": None},
    }


def main(argv: list[str]) -> None:
    output = Path(argv[0])
    if argv[1] == "--qemu":
        qemu = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
        command, args, mode = Path(qemu), ["-L", QEMU_LD_PREFIX, argv[2]], "arm64 package under qemu"
    else:
        command, args, mode = Path(argv[1]), [], "native"
    event = request(largest_pipeline())
    size = len(json.dumps(event))
    with Emulator.start() as emulator:
        iam = boto3.client("iam", endpoint_url=emulator.url, region_name=REGION,
                           aws_access_key_id="bench", aws_secret_access_key="bench")
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                            "Principal": {"Service": "codepipeline.amazonaws.com"}}]})
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                             "Resource": "arn:aws:s3:::artifacts/*"}]})
        for name in ["pipeline-role", *(f"stage-{s}-role" for s in range(STAGES))]:
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
            iam.put_role_policy(RoleName=name, PolicyName="artifacts", PolicyDocument=policy)
        function = LambdaFunction(command, "pipesec-hook", {"AWS_ENDPOINT_URL": emulator.url}, args=args)
        with function.start():
            function.wait_ready(timeout=60)
            durations, cpu, calls = [], [], None
            for run in range(RUNS + 1):
                emulator.reset_calls()
                before = cpu_seconds(function.process.pid)
                result = function.invoke(event, timeout=120)
                cpu.append(cpu_seconds(function.process.pid) - before)
                assert result.ok, result.error_message
                response = result.payload
                assert response["hookStatus"] in ("SUCCESS", "FAILED"), response["message"][:300]
                decided = [a for a in response["annotations"] if a["status"] != "SKIPPED"]
                assert len(decided) == 10, "every rule but the two left to AWS Config decided"
                durations.append(result.duration)
                calls = emulator.calls()
    figures = {
        "mode": mode,
        "request_bytes": size,
        "actions": STAGES * ACTIONS,
        "first_reply_s": durations[0],
        "median_reply_s": statistics.median(durations[1:]),
        "max_reply_s": max(durations[1:]),
        # The function's own CPU time (user + system) per reply: what Lambda's memory-proportional
        # CPU share stretches.
        "median_cpu_s": statistics.median(cpu[1:]),
        "budget_s": BUDGET_SECONDS,
        "api_calls_per_reply": calls,
        "hook_status": response["hookStatus"],
        "skipped": sorted(a["annotationName"] for a in response["annotations"] if a["status"] == "SKIPPED"),
    }
    print(json.dumps(figures, indent=2))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures, indent=2) + "\n")
    assert figures["max_reply_s"] < BUDGET_SECONDS, "past CloudFormation's 30 s"


if __name__ == "__main__":
    main(sys.argv[1:])
