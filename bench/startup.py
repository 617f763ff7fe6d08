"""Start-up benchmark: a release build of one rule binary against a boto3 baseline, both driven
through the same Lambda Runtime API harness against the same emulator, in the same run.

Prints, for each: process start to the first Runtime API poll and first-invocation latency
(medians over RUNS processes), peak RSS, and for the Rust rule the zipped package size. Writes
the figures as JSON to the path given as the first argument.
"""

import io
import json
import statistics
import sys
import zipfile
from pathlib import Path

import boto3

from testbed import events, seed
from testbed.emulator import Emulator
from testbed.lambda_runtime import LambdaFunction

RUNS = 20
RULE = "codebuild-project-privileged-mode-disabled"


def measure(command: list[str], emulator, item) -> dict:
    polls, latencies, peaks = [], [], []
    for _ in range(RUNS):
        function = LambdaFunction(Path(command[0]), RULE, {"AWS_ENDPOINT_URL": emulator.url}, args=command[1:])
        with function.start():
            polls.append(function.wait_ready())
            result = function.invoke(events.change_event(item, RULE))
            assert result.ok, result.error_message
            latencies.append(result.duration)
            peaks.append(function.peak_rss_kib())
    return {
        "start_to_first_poll_ms": statistics.median(polls) * 1000,
        "first_invocation_ms": statistics.median(latencies) * 1000,
        "peak_rss_mib": max(peaks) / 1024,
    }


def zipped_size(binary: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.write(binary, "bootstrap")
    return len(buffer.getvalue())


def main(binary: Path, output: Path) -> None:
    with Emulator.start() as emulator:
        client = lambda service: boto3.client(service, endpoint_url=emulator.url, region_name="us-east-1",
                                              aws_access_key_id="bench", aws_secret_access_key="bench")
        role = seed.create_role(client("iam"))
        seed.create_project(client("codebuild"), "bench", role["Arn"], privileged=True)
        item = seed.recorded_item(client("config"), "bench")
        rust = measure([str(binary)], emulator, item)
        python = measure([sys.executable, str(Path(__file__).with_name("baseline_rule.py"))], emulator, item)
    rust["package_bytes"] = binary.stat().st_size
    rust["package_zipped_bytes"] = zipped_size(binary)
    figures = {"runs": RUNS, "rust": rust, "python_boto3_baseline": python, "ratios": {
        "start_to_first_poll": python["start_to_first_poll_ms"] / rust["start_to_first_poll_ms"],
        "first_invocation": python["first_invocation_ms"] / rust["first_invocation_ms"],
        "peak_rss": python["peak_rss_mib"] / rust["peak_rss_mib"],
    }}
    output.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"{'figure (median of ' + str(RUNS) + ' processes)':<36} {'rust':>10} {'boto3':>10} {'boto3/rust':>11}")
    for key, label, unit in [("start_to_first_poll_ms", "start to first Runtime API poll", "ms"),
                             ("first_invocation_ms", "first invocation", "ms"),
                             ("peak_rss_mib", "peak RSS", "MiB")]:
        print(f"{label + ' (' + unit + ')':<36} {rust[key]:>10.1f} {python[key]:>10.1f} {python[key] / rust[key]:>10.1f}x")
    print(f"{'package (stripped / zipped, MB)':<36} {rust['package_bytes'] / 1e6:>4.1f} / {rust['package_zipped_bytes'] / 1e6:.1f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
