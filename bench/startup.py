"""Start-up benchmark: release builds of rule binaries against two Python baselines of the same
check (one written with AWS's rdklib, one with plain boto3), all driven through the same Lambda
Runtime API harness against the same emulator, in the same run.

Prints, for each: process start to the first Runtime API poll and first-invocation latency
(medians over RUNS processes, started in rounds of one of each) and peak RSS, with the ratios to the rdklib rule. Writes the
figures as JSON: `startup.py OUTPUT.json RDKLIB_PYTHON BINARY...`.
"""

import json
import statistics
import sys
from pathlib import Path

import boto3

from testbed import events, seed
from testbed.emulator import Emulator
from testbed.lambda_runtime import LambdaFunction

RUNS = 20
RULE = "codebuild-project-privileged-mode-disabled"


def measure(commands: dict[str, list[str]], emulator, item) -> dict[str, dict]:
    """Each command started RUNS times, in rounds of one process of each: a slow spell of the
    machine falls on every command alike instead of on whichever ran during it."""
    samples = {name: {"polls": [], "latencies": [], "peaks": []} for name in commands}
    for _ in range(RUNS):
        for name, command in commands.items():
            function = LambdaFunction(Path(command[0]), RULE, {"AWS_ENDPOINT_URL": emulator.url}, args=command[1:])
            with function.start():
                samples[name]["polls"].append(function.wait_ready())
                result = function.invoke(events.change_event(item, RULE))
                assert result.ok, f"{name}: {result.error_message}"
                samples[name]["latencies"].append(result.duration)
                samples[name]["peaks"].append(function.peak_rss_kib())
    return {name: summary(**runs) for name, runs in samples.items()}


def summary(polls: list[float], latencies: list[float], peaks: list[int]) -> dict:
    return {
        "start_to_first_poll_ms": statistics.median(polls) * 1000,
        "first_invocation_ms": statistics.median(latencies) * 1000,
        # Work can move between init and the first event (e.g. building an SDK client): the
        # sum per process is what a cold event waits for.
        "cold_start_ms": statistics.median(poll + latency for poll, latency in zip(polls, latencies)) * 1000,
        "peak_rss_mib": max(peaks) / 1024,
    }


TARGETS = {"start_to_first_poll_ms": 30.0, "peak_rss_mib": 4.0}  # rdklib / rust: the project's targets


def main(binaries: list[Path], rdklib_python: str, output: Path) -> None:
    """Every binary against the two Python baselines, each started RUNS times on the same item."""
    here = Path(__file__).parent
    with Emulator.start() as emulator:
        client = lambda service: boto3.client(service, endpoint_url=emulator.url, region_name="us-east-1",
                                              aws_access_key_id="bench", aws_secret_access_key="bench")
        role = seed.create_role(client("iam"))
        seed.create_project(client("codebuild"), "bench", role["Arn"], privileged=True)
        item = seed.recorded_item(client("config"), "bench")
        baselines = {"rdklib": [rdklib_python, str(here / "rdklib_rule.py")],
                     "boto3": [sys.executable, str(here / "baseline_rule.py")]}
        rust = measure(baselines | {binary.name: [str(binary)] for binary in binaries}, emulator, item)
    rdklib, boto3_rule = rust.pop("rdklib"), rust.pop("boto3")
    for name, figures in rust.items():
        figures["ratios_vs_rdklib"] = {key: rdklib[key] / figures[key] for key in
                                       ("start_to_first_poll_ms", "first_invocation_ms", "cold_start_ms", "peak_rss_mib")}
        figures["meets_targets"] = all(figures["ratios_vs_rdklib"][key] >= target for key, target in TARGETS.items())
    report = {"runs": RUNS, "rdklib_baseline": rdklib, "boto3_baseline": boto3_rule, "rust": rust,
              "targets_rdklib_over_rust": TARGETS}
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"medians of {RUNS} processes each; ratio = rdklib / rust (targets: start-up >= 30x, peak RSS >= 4x)")
    print(f"{'':<48} {'first poll ms':>13} {'1st invoke ms':>13} {'cold start ms':>13} {'peak RSS MiB':>12}")
    for name, figures in [("baseline: rdklib rule (Python)", rdklib), ("baseline: boto3 rule (Python)", boto3_rule)]:
        print(f"{name:<48} {figures['start_to_first_poll_ms']:>13.1f} {figures['first_invocation_ms']:>13.1f} "
              f"{figures['cold_start_ms']:>13.1f} {figures['peak_rss_mib']:>12.1f}")
    for name, figures in rust.items():
        ratios = figures["ratios_vs_rdklib"]
        print(f"{name:<48} {figures['start_to_first_poll_ms']:>6.1f} ({ratios['start_to_first_poll_ms']:>4.0f}x) "
              f"{figures['first_invocation_ms']:>6.1f} ({ratios['first_invocation_ms']:>4.1f}x) "
              f"{figures['cold_start_ms']:>6.1f} ({ratios['cold_start_ms']:>4.1f}x) "
              f"{figures['peak_rss_mib']:>5.1f} ({ratios['peak_rss_mib']:>4.1f}x)"
              f"{'' if figures['meets_targets'] else '  BELOW TARGET'}")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if len(arguments) < 3:
        sys.exit("usage: startup.py OUTPUT.json RDKLIB_PYTHON BINARY...")
    main([Path(binary) for binary in arguments[2:]], arguments[1], Path(arguments[0]))
