"""Figures for bench/profiles.sh: per release opt-level, the arm64 rule's stripped and zipped size,
and under qemu-user (when installed: Debian qemu-user-static + libc6-arm64-cross) the median start
to first Runtime API poll and first invocation. Emulated times are only comparable with each other.

    python bench/profiles.py TARGET_DIR RULE OUTPUT_JSON
"""

import json
import shutil
import statistics
import sys
from pathlib import Path

import boto3

from deploy.package import write_zip
from testbed import events, seed
from testbed.emulator import Emulator
from testbed.lambda_runtime import LambdaFunction

LEVELS = ["3", "s", "z"]
RUNS = 10
QEMU = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
QEMU_LD_PREFIX = Path("/usr/aarch64-linux-gnu")


def startup(binary: Path, rule: str, emulator, item) -> dict:
    polls, latencies = [], []
    for _ in range(RUNS):
        function = LambdaFunction(Path(QEMU), rule, {"AWS_ENDPOINT_URL": emulator.url},
                                  args=["-L", str(QEMU_LD_PREFIX), str(binary)])
        with function.start():
            polls.append(function.wait_ready(timeout=30))
            result = function.invoke(events.change_event(item, rule))
            assert result.ok, result.error_message
            latencies.append(result.duration)
    return {"start_to_first_poll_ms": statistics.median(polls) * 1000,
            "first_invocation_ms": statistics.median(latencies) * 1000}


def main(target: Path, rule: str, output: Path) -> None:
    figures: dict = {"rule": rule, "runs": RUNS, "emulated_with": QEMU, "levels": {}}
    binaries = {level: target / "profiles" / f"opt-{level}" / "aarch64-unknown-linux-gnu" / "release" / rule
                for level in LEVELS}
    for level, binary in binaries.items():
        archive = output.with_name(f"profile-{level}.zip")
        write_zip(binary, archive)
        figures["levels"][level] = {"bootstrap_bytes": binary.stat().st_size, "zip_bytes": archive.stat().st_size}
    if QEMU and QEMU_LD_PREFIX.is_dir():
        with Emulator.start() as emulator:
            client = lambda service: boto3.client(service, endpoint_url=emulator.url, region_name="us-east-1",
                                                  aws_access_key_id="bench", aws_secret_access_key="bench")
            seed.create_project(client("codebuild"), "bench", seed.create_role(client("iam"))["Arn"], privileged=True)
            item = seed.recorded_item(client("config"), "bench")
            for level, binary in binaries.items():
                figures["levels"][level].update(startup(binary, rule, emulator, item))
    output.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"{'opt-level':<10} {'bootstrap':>12} {'zip':>12} {'first poll ms':>14} {'1st invoke ms':>14}")
    for level, row in figures["levels"].items():
        print(f"{level:<10} {row['bootstrap_bytes']:>12,} {row['zip_bytes']:>12,} "
              f"{row.get('start_to_first_poll_ms', float('nan')):>14.1f} {row.get('first_invocation_ms', float('nan')):>14.1f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
