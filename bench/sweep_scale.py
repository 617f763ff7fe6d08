"""Periodic sweeps at scale under emulated rate limits (scripts/bench part 7).

For each size N the emulator is reset and seeded (sweep_account.py) with N CodeBuild projects over
N/5 distinct service roles (2,000 at N = 10,000) and N/2 pipelines. Then, for each periodic rule of
the catalog, Config is given the results of an earlier sweep (as in sweep.py), the emulator's
request-rate limits are switched on (RATE_LIMITS: AWS's documented rates where AWS documents one,
a conservative choice where it does not) and the rule's binary answers scheduled events through the
Lambda Runtime API, each told it has its function's timeout, until every current resource carries a
new result. A rule that finishes in one invocation takes one; a rule that continues across
invocations takes more. Per rule: invocations, wall time of each, API calls, requests throttled
(each one a retry of the SDK or a failed call), the process's peak RSS (over the run, and per
invocation). A rule's run fails if a resource keeps no new result, a deleted one is not cleared, or
an invocation fails; the other rules still run.

The account is seeded before the catalog is read, so that seeding (minutes at N = 10,000) can overlap
a build of the binaries: the run waits for BIN_DIR/pipesec-catalog, so copy it into BIN_DIR last.
After each rule, its figures are printed and the JSON written so far is saved.

    PYTHONPATH=tests "$(scripts/venv)/bin/python" bench/sweep_scale.py --bin-dir target/release \
        --sizes 200,2000,10000 target/bench/sweep_scale.json
"""

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

import sweep
import sweep_account
from testbed import events
from testbed.emulator import Emulator
from testbed.lambda_runtime import LambdaFunction

REPO = Path(__file__).resolve().parent.parent
# The functions' timeout in the templates (deploy/rule_pack.py TIMEOUT_SECONDS) and Lambda's most.
FUNCTION_TIMEOUT_SECONDS = 300
LAMBDA_MAX_TIMEOUT_SECONDS = 900
# How long the harness lets one invocation run past its timeout before giving up on it: long
# enough to learn what a sweep in one invocation would need.
HARNESS_TIMEOUT_SECONDS = 3600
MAX_INVOCATIONS = 12
ROLES_PER_PROJECT = 5  # N/5 distinct service roles
MAX_SERVICE_ROLES = 2000
# How long the run waits, after seeding, for BIN_DIR/pipesec-catalog to exist.
CATALOG_WAIT_SECONDS = 3600

# Per account and region. (scope, requests per second, burst, source). A scope is a service (one
# bucket for all its operations) or one operation. Where AWS publishes no number, the choice is
# conservative, and said.
RATE_LIMITS = [
    ("cloudtrail.LookupEvents", 2, 2, "documented: LookupEvents API reference, 2 per second per account per Region"),
    ("iam", 10, 10, "chosen: AWS documents token buckets per IAM API but no number; one bucket for all IAM reads"),
    ("sts", 10, 10, "chosen: no number found; no rule calls STS in a sweep"),
    ("config.SelectResourceConfig", 10, 10, "chosen: no number found in AWS Config's documentation"),
    ("config.GetComplianceDetailsByConfigRule", 10, 10, "chosen: as above"),
    ("config.PutEvaluations", 10, 10, "chosen: as above"),
    ("config.GetResourceConfigHistory", 10, 10, "chosen: as above"),
    ("config.BatchGetResourceConfig", 10, 10, "chosen: as above"),
    ("codebuild", 10, 10, "chosen: no number found; one bucket for all CodeBuild operations"),
    ("codepipeline", 10, 10, "chosen: no number found; one bucket for all CodePipeline operations"),
    ("logs", 5, 5, "chosen: no number found; one bucket for all CloudWatch Logs operations"),
    ("ecr", 10, 10, "chosen: no number found"),
    ("secretsmanager", 10, 10, "chosen: no number found"),
    ("ssm", 10, 10, "chosen: no number found"),
    ("events", 10, 10, "chosen: no number found"),
    ("codestar-notifications", 10, 10, "chosen: no number found"),
]


def rate_limits() -> dict:
    return {scope: {"rate": rate, "burst": burst} for scope, rate, burst, _ in RATE_LIMITS}


def parse_args(argv: list[str]) -> argparse.Namespace:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", nargs="?", type=Path, default=target / "bench" / "sweep_scale.json")
    parser.add_argument("--sizes", default="200,2000,10000", help="projects, comma-separated (default: %(default)s)")
    parser.add_argument("--bin-dir", type=Path, default=target / "release", help="the rule binaries")
    parser.add_argument("--rules", default=None, help="rule ids, comma-separated (default: every periodic rule)")
    parser.add_argument("--function-timeout", type=int, default=FUNCTION_TIMEOUT_SECONDS,
                        help="the deadline each invocation is given, s (default: the templates' %(default)s)")
    args = parser.parse_args(argv)
    args.sizes = [int(size) for size in args.sizes.split(",")]
    return args


def account_plan(n: int) -> sweep_account.Plan:
    roles = min(MAX_SERVICE_ROLES, max(sweep_account.SERVICE_ROLES, n // ROLES_PER_PROJECT))
    return sweep_account.plan(n, service_roles=roles, pipelines=n // 2)


def new_results(config, rule_id: str, current: list[str]) -> int:
    """How many current resources carry a result newer than the seeded earlier sweep's."""
    results = sweep.compliance(config, rule_id)
    return sum(1 for rid in current if rid in results and results[rid][1] != sweep.PRIOR_ANNOTATION)


def sweep_rule(emulator: Emulator, clients, bin_dir: Path, rule: dict, account: sweep_account.Plan,
               function_timeout: int) -> dict:
    """Scheduled invocations of one rule under the rate limits until every resource has a new result."""
    rule_id, resource_type = rule["id"], rule["resourceType"]
    current = sweep.resource_ids(account, resource_type)
    ghosts = sweep.ghost_ids(resource_type, len(current))
    config = clients("config")
    sweep.seed_prior_results(config, rule_id, resource_type, current, ghosts)
    invocations = []
    function = LambdaFunction(bin_dir / rule_id, rule_id, {"AWS_ENDPOINT_URL": emulator.url})
    with function.start():
        function.wait_ready()
        for _ in range(MAX_INVOCATIONS):
            reset_peak_rss(function)
            emulator.reset_calls()
            emulator.set_rate_limits(rate_limits())
            result = function.invoke(events.scheduled_event(rule_id), timeout=HARNESS_TIMEOUT_SECONDS,
                                     deadline=function_timeout)
            throttled = emulator.throttled()
            emulator.set_rate_limits({})
            calls = emulator.calls()
            done = new_results(config, rule_id, current)
            peak = function.peak_rss_kib()
            invocations.append({"seconds": result.duration, "peakRssKiB": peak,
                                "calls": sum(calls.values()), "callsByOperation": calls,
                                "throttled": sum(throttled.values()), "throttledByOperation": throttled,
                                "ok": result.ok, "outcome": result.payload, "newResults": done,
                                "error": None if result.ok else f"{result.error_type}: {result.error_message}"})
            print(f"      invocation {len(invocations)}: {result.duration:.1f} s, {sum(calls.values())} calls, "
                  f"{sum(throttled.values())} throttled, peak RSS {(peak or 0) / 1024:.1f} MiB, "
                  f"{done}/{len(current)} resources with a new result"
                  + ("" if result.ok else f", FAILED: {result.error_type}: {(result.error_message or '')[:200]}"),
                  flush=True)
            if not result.ok or done == len(current):
                break
    peaks = [invocation["peakRssKiB"] for invocation in invocations if invocation["peakRssKiB"]]
    run = {"resourceType": resource_type, "resources": len(current), "deleted": len(ghosts),
           "invocations": invocations, "peakRssKiB": max(peaks) if peaks else None}
    if all(invocation["ok"] for invocation in invocations):
        try:
            run["verdicts"] = sweep.verified_verdicts(config, rule_id, current, ghosts)
        except RuntimeError as error:  # kept with the invocations' figures
            run["error"] = str(error)
    return run


def reset_peak_rss(function: LambdaFunction) -> None:
    """Resets the process's VmHWM to its current RSS (clear_refs 5), so each invocation has its own
    peak; the run's peak is the largest of them."""
    try:
        Path(f"/proc/{function.process.pid}/clear_refs").write_text("5")
    except OSError:
        pass


def seed_size(emulator: Emulator, n: int) -> tuple[sweep_account.Plan, dict]:
    emulator.reset()
    account = account_plan(n)
    started = time.monotonic()
    sweep_account.seed(account, sweep.client_factory(emulator))
    seconds = time.monotonic() - started
    service_roles = len({project.role for project in account.projects})
    print(f"\n== N={n}: {len(account.projects)} projects over {service_roles} service roles, "
          f"{len(account.pipelines)} pipelines; seeded in {seconds:.0f} s", flush=True)
    size = {"projects": len(account.projects), "serviceRoles": service_roles, "pipelines": len(account.pipelines),
            "seedSeconds": seconds, "rules": {}}
    return account, size


def run_rules(emulator: Emulator, account: sweep_account.Plan, size: dict, rules: list[dict], args,
              save) -> None:
    """Sweeps each rule over the seeded account; after each, prints its figures and calls `save()`.
    A rule that fails is recorded as failed and the next one runs."""
    clients = sweep.client_factory(emulator)
    for rule in rules:
        print(f"   {rule['id']}", flush=True)
        try:
            run = sweep_rule(emulator, clients, args.bin_dir, rule, account, args.function_timeout)
        except Exception as error:  # noqa: BLE001 - recorded, and the other rules still run
            traceback.print_exc()
            run = {"resourceType": rule["resourceType"], "resources": None, "invocations": [], "peakRssKiB": None,
                   "error": f"{type(error).__name__}: {error}"}
        size["rules"][rule["id"]] = run
        print(f"   {rule['id']}: {summary(run, args.function_timeout)}", flush=True)
        save()


def summary(run: dict, function_timeout: int) -> str:
    invocations = run["invocations"]
    if not invocations:
        return f"FAILED: {run.get('error')}"
    line = (f"{len(invocations)} invocation(s), {sum(i['seconds'] for i in invocations):.1f} s in all "
            f"(longest {max(i['seconds'] for i in invocations):.1f}), {sum(i['calls'] for i in invocations)} calls, "
            f"{sum(i['throttled'] for i in invocations)} throttled, peak RSS {(run['peakRssKiB'] or 0) / 1024:.1f} MiB; "
            f"{verdict(run, function_timeout)}")
    if "verdicts" in run:
        line += f"; verified {run['verdicts']}"
    return line + (f"; ERROR {run['error']}" if run.get("error") else "")


def wait_for_catalog(bin_dir: Path) -> list[dict]:
    catalog = bin_dir / "pipesec-catalog"
    if not catalog.exists():
        print(f"   waiting for {catalog}", flush=True)
        deadline = time.monotonic() + CATALOG_WAIT_SECONDS
        while not catalog.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{catalog} did not appear within {CATALOG_WAIT_SECONDS} s")
            time.sleep(5)
        time.sleep(2)  # the copy that created it may still be writing
    return sweep.load_catalog(bin_dir)


def verdict(run: dict, function_timeout: int) -> str:
    """Whether the rule's sweep fits its function: in one invocation within the timeout, across
    invocations each within it, or not."""
    invocations = run["invocations"]
    if not invocations or not all(invocation["ok"] for invocation in invocations) or run.get("error"):
        return "FAILED"
    longest = max(invocation["seconds"] for invocation in invocations)
    if len(invocations) == 1:
        return "one invocation" if longest <= function_timeout else "OVER the timeout"
    if longest > function_timeout:
        return f"{len(invocations)} invocations, one OVER the timeout"
    return f"{len(invocations)} invocations, each within the timeout"


def scale_table(sizes: dict, function_timeout: int) -> None:
    rows = []
    for n, size in sizes.items():
        for rule_id, run in size["rules"].items():
            invocations = run["invocations"]
            if not invocations:
                rows.append([n, rule_id, "-", 0, "-", "-", "-", "-", "-", verdict(run, function_timeout)])
                continue
            rows.append([n, rule_id, run["resources"], len(invocations),
                         f"{sum(i['seconds'] for i in invocations):.1f}",
                         f"{max(i['seconds'] for i in invocations):.1f}",
                         sum(i["calls"] for i in invocations), sum(i["throttled"] for i in invocations),
                         f"{(run['peakRssKiB'] or 0) / 1024:.1f}", verdict(run, function_timeout)])
    sweep.print_table(f"Periodic sweeps under emulated rate limits (timeout {function_timeout} s)",
                      ["N", "rule", "resources", "invocations", "wall s (all)", "longest s", "calls",
                       "throttled", "peak RSS MiB", "fits"], rows)


def rates_table() -> None:
    sweep.print_table("Rate limits of the run (per account and region)", ["scope", "per second", "burst", "source"],
                      [[scope, rate, burst, source] for scope, rate, burst, source in RATE_LIMITS])


def select_rules(catalog: list[dict], wanted: str | None) -> list[dict]:
    """The periodic rules, in --rules' order when given (so a run can put first what matters most)."""
    periodic = {rule["id"]: rule for rule in catalog if rule["periodic"]}
    if wanted is None:
        return list(periodic.values())
    ids = wanted.split(",")
    unknown = [rule_id for rule_id in ids if rule_id not in periodic]
    if unknown:  # the account is seeded by now: run the others
        print(f"   --rules: skipped, not periodic rules of the catalog: {', '.join(unknown)}", flush=True)
    return [periodic[rule_id] for rule_id in ids if rule_id in periodic]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    rates_table()
    sizes = {}
    document = {"rateLimits": rate_limits(), "functionTimeoutSeconds": args.function_timeout, "sizes": sizes,
                "binDir": str(args.bin_dir)}
    args.output.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        args.output.write_text(json.dumps(document, indent=2, default=str) + "\n")

    rules = None
    with Emulator.start(env={"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}) as emulator:
        for n in args.sizes:
            account, sizes[str(n)] = seed_size(emulator, n)
            save()
            if rules is None:
                rules = select_rules(wait_for_catalog(args.bin_dir), args.rules)
            run_rules(emulator, account, sizes[str(n)], rules, args, save)
            scale_table({str(n): sizes[str(n)]}, args.function_timeout)
    scale_table(sizes, args.function_timeout)
    print(f"\nwritten to {args.output}")
    failed = [rule_id for size in sizes.values() for rule_id, run in size["rules"].items()
              if verdict(run, args.function_timeout) == "FAILED"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
