"""Sweep benchmark (parts 4 and 5 of scripts/bench): what one periodic sweep of each rule costs in
API calls and time over a large account, how that grows with the account, and how `pipesec evaluate`
compares with Prowler's CodeBuild and CodePipeline checks on the same account.

For each size N (projects; N/4 pipelines; 50 service roles) the emulator is reset and seeded
(sweep_account.py). Then, for each rule of the catalog, Config is given the results of an earlier
sweep (one per current resource plus ~1 % for resources deleted since), the call counter is reset,
the rule's binary answers ONE scheduled event through the Lambda Runtime API, and:

- its calls per operation are compared with the fewest a sweep can make (sweep_minimum.py);
- its verdicts are read back through GetComplianceDetailsByConfigRule: every current resource must
  carry a new result and every deleted one NOT_APPLICABLE, or the run fails;
- its wall time is compared with paging the same inventory from Python alone (the emulator's share).

At the comparison size, `pipesec evaluate` and Prowler are timed over the same account and their
findings compared per check (sweep_prowler.py).

Every figure is printed as a table and written as JSON. Run (from the repository root):

    PYTHONPATH=tests "$(scripts/venv)/bin/python" bench/sweep.py \
        --prowler "$(scripts/venv bench/requirements.txt)/bin/prowler" target/bench/sweep.json
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

import sweep_account
import sweep_prowler
from sweep_minimum import (
    CODEBUILD_PROJECT,
    CODEBUILD_REPORT_GROUP,
    CODEPIPELINE_PIPELINE,
    minimum_calls,
)
from testbed import events
from testbed.config_items import codebuild_resource_id
from testbed.emulator import Emulator
from testbed.lambda_runtime import LambdaFunction
from testbed.results import compliance
from testbed.tokens import mint_result_token

REPO = Path(__file__).resolve().parent.parent
REGION = sweep_account.REGION
# What sweep.rs selects: the inventory baseline reads the same rows.
SELECTED_FIELDS = ("resourceId, resourceName, resourceType, arn, accountId, awsRegion, configuration, "
                   "supplementaryConfiguration, configurationItemStatus, configurationItemCaptureTime, tags")
PRIOR_ANNOTATION = "result of the previous sweep (seeded by bench/sweep.py)"
PRIOR_AGE_SECONDS = 86400
# Rules swept above --representative-above: one of each kind of read, for runs that cannot afford
# every rule at the largest size.
REPRESENTATIVE_RULES = (
    "codebuild-project-privileged-mode-disabled",  # the configuration item alone
    "codebuild-project-not-public",  # + BatchGetProjects for every project
    "codebuild-project-service-role-least-privilege",  # + IAM per distinct role
    "codebuild-report-group-export-encrypted",  # another resource type
    "codepipeline-approval-before-deploy",  # the configuration item alone
    "codepipeline-build-isolation",  # + BatchGetProjects for the projects built
    "codepipeline-service-role-least-privilege",  # + IAM for pipeline and action roles
    "codepipeline-failure-alerting",  # + monitoring, once per invocation
    "codepipeline-execution-anomalies",  # + executions per pipeline, CloudTrail
)
INVOKE_TIMEOUT_SECONDS = 1800


# --- set-up ----------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", nargs="?", type=Path, default=target / "bench" / "sweep.json",
                        help="where to write the figures as JSON (default: %(default)s)")
    parser.add_argument("--sizes", default="200,2000,10000",
                        help="account sizes, in CodeBuild projects, comma-separated (default: %(default)s)")
    parser.add_argument("--representative-above", type=int, default=None,
                        help="sizes above this sweep only one rule of each kind of read (default: every rule "
                             "at every size)")
    parser.add_argument("--bin-dir", type=Path, default=target / "release",
                        help="the rule binaries and pipesec-catalog (default: %(default)s)")
    parser.add_argument("--pipesec", type=Path,
                        help="the pipesec CLI to time (default: BIN_DIR/pipesec)")
    parser.add_argument("--compare-at", type=int, default=2000,
                        help="the size at which pipesec evaluate and Prowler are compared (default: %(default)s)")
    parser.add_argument("--prowler", type=Path,
                        help="the prowler executable (from `scripts/venv bench/requirements.txt`); "
                             "without it the Prowler comparison is skipped")
    args = parser.parse_args(argv)
    args.sizes = [int(size) for size in args.sizes.split(",")]
    if min(args.sizes) < 100:
        parser.error("--sizes: at least 100 projects (the account has 25 pipelines or more)")
    args.pipesec = args.pipesec or args.bin_dir / "pipesec"
    return args


def load_catalog(bin_dir: Path) -> list[dict]:
    """The catalog's rules, from the `pipesec-catalog` binary built with them."""
    answer = subprocess.run([str(bin_dir / "pipesec-catalog")], capture_output=True, text=True, check=True)
    return json.loads(answer.stdout)["rules"]


def client_factory(emulator: Emulator):
    """`clients(service)`: one boto3 client per service, shared by threads (boto3 clients are
    thread-safe), with no retries: an emulator error should fail the run, not be hidden."""
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=16, read_timeout=600)
    cache = {}

    def clients(service: str):
        if service not in cache:
            cache[service] = boto3.client(service, endpoint_url=emulator.url, region_name=REGION,
                                          aws_access_key_id="bench", aws_secret_access_key="bench", config=config)
        return cache[service]

    return clients


# --- one size --------------------------------------------------------------------------------


def resource_ids(account: sweep_account.Plan, resource_type: str) -> list[str]:
    """The Config resource ids the recorder gives the account's resources of a type."""
    prefix = f"arn:aws:codebuild:{REGION}:{sweep_account.ACCOUNT}"
    if resource_type == CODEBUILD_PROJECT:
        return [codebuild_resource_id(f"{prefix}:project/{p.name}") for p in account.projects]
    if resource_type == CODEBUILD_REPORT_GROUP:
        return [f"{prefix}:report-group/{name}" for name in account.report_groups]
    return [pipeline.name for pipeline in account.pipelines]


def ghost_ids(resource_type: str, count: int) -> list[str]:
    """Ids of resources deleted since the previous sweep (1 % of the current ones, at least one)."""
    kind = resource_type.rsplit("::", 1)[-1].lower()
    return [f"deleted-{kind}-{k:05d}" for k in range(max(1, count // 100))]


def seed_prior_results(config, rule_id: str, resource_type: str, current: list[str], ghosts: list[str]) -> None:
    """Config's results of the previous sweep, a day old: COMPLIANT for every current resource and
    NON_COMPLIANT for the deleted ones, which this sweep must clear."""
    token = mint_result_token(rule_id)
    earlier = time.time() - PRIOR_AGE_SECONDS
    evaluations = [
        {"ComplianceResourceType": resource_type, "ComplianceResourceId": resource_id, "ComplianceType": compliance,
         "Annotation": PRIOR_ANNOTATION, "OrderingTimestamp": earlier}
        for ids, compliance in ((current, "COMPLIANT"), (ghosts, "NON_COMPLIANT"))
        for resource_id in ids
    ]
    for start in range(0, len(evaluations), 100):
        answer = config.put_evaluations(Evaluations=evaluations[start:start + 100], ResultToken=token)
        assert not answer["FailedEvaluations"], answer["FailedEvaluations"]


def inventory_seconds(config, resource_type: str) -> float:
    """Time to page through the inventory of a type from Python, as a sweep does: the emulator's
    share of every sweep of that type."""
    started = time.monotonic()
    expression = f"SELECT {SELECTED_FIELDS} WHERE resourceType = '{resource_type}'"
    token = None
    while True:
        page = config.select_resource_config(Expression=expression, Limit=100, **({"NextToken": token} if token else {}))
        token = page.get("NextToken")
        if not token:
            return time.monotonic() - started


def verified_verdicts(config, rule_id: str, current: list[str], ghosts: list[str]) -> dict[str, int]:
    """The sweep's verdicts as Config reports them, checked: every current resource has a new one,
    every deleted resource is NOT_APPLICABLE. Returns the counts per compliance type."""
    results = compliance(config, rule_id)
    stale = [rid for rid in current if rid not in results or results[rid][1] == PRIOR_ANNOTATION]
    if stale:
        raise RuntimeError(f"{rule_id}: {len(stale)} resource(s) kept no new verdict, e.g. {stale[:3]}")
    uncleared = [rid for rid in ghosts if results.get(rid, ("",))[0] != "NOT_APPLICABLE"]
    if uncleared:
        raise RuntimeError(f"{rule_id}: deleted resources not cleared: {uncleared[:3]}")
    counts: dict[str, int] = {}
    for rid in current:
        counts[results[rid][0]] = counts.get(results[rid][0], 0) + 1
    return counts


def sweep_rule(emulator: Emulator, clients, bin_dir: Path, rule: dict, account: sweep_account.Plan) -> dict:
    """One scheduled sweep of one rule, measured and checked."""
    rule_id, resource_type = rule["id"], rule["resourceType"]
    current = resource_ids(account, resource_type)
    ghosts = ghost_ids(resource_type, len(current))
    config = clients("config")
    seed_prior_results(config, rule_id, resource_type, current, ghosts)
    minimum = minimum_calls(rule, account, prior_results=len(current) + len(ghosts), stale=len(ghosts))
    function = LambdaFunction(bin_dir / rule_id, rule_id, {"AWS_ENDPOINT_URL": emulator.url})
    with function.start():
        function.wait_ready()
        emulator.reset_calls()
        result = function.invoke(events.scheduled_event(rule_id), timeout=INVOKE_TIMEOUT_SECONDS)
        calls = emulator.calls()
    if not result.ok:
        raise RuntimeError(f"{rule_id}: {result.error_type}: {result.error_message}")
    verdicts = verified_verdicts(config, rule_id, current, ghosts)
    return {
        "resourceType": resource_type,
        "resources": len(current),
        "deleted": len(ghosts),
        "seconds": result.duration,
        "calls": calls,
        "minimum": minimum,
        "verdicts": verdicts,
        "outcome": result.payload,
    }


def operation_rows(run: dict) -> list[dict]:
    """Calls per operation against the minimum: equal, above, or below (a read the plan says is
    needed and the rule skipped, which would be a wrong minimum or a wrong verdict)."""
    rows = []
    for operation in sorted(set(run["calls"]) | set(run["minimum"])):
        calls, minimum = run["calls"].get(operation, 0), run["minimum"].get(operation, 0)
        status = "equal" if calls == minimum else "ABOVE" if calls > minimum else "below"
        rows.append({"operation": operation, "calls": calls, "minimum": minimum, "status": status})
    return rows


def run_size(emulator: Emulator, n: int, rules: list[dict], args) -> tuple[dict, sweep_account.Plan]:
    """Resets the emulator, seeds the account of size n and sweeps each rule once."""
    emulator.reset()
    clients = client_factory(emulator)
    account = sweep_account.plan(n)
    started = time.monotonic()
    sweep_account.seed(account, clients)
    seeded = time.monotonic() - started
    print(f"\n== N={n}: {len(account.projects)} projects, {len(account.pipelines)} pipelines, "
          f"{len(account.report_groups)} report groups, {len(account.roles)} roles; seeded in {seeded:.1f} s",
          flush=True)
    config = clients("config")
    inventory = {t: inventory_seconds(config, t) for t in (CODEBUILD_PROJECT, CODEBUILD_REPORT_GROUP,
                                                            CODEPIPELINE_PIPELINE)}
    every_rule = args.representative_above is None or n <= args.representative_above
    selected = rules if every_rule else [rule for rule in rules if rule["id"] in REPRESENTATIVE_RULES]
    runs = {}
    for rule in selected:
        run = sweep_rule(emulator, clients, args.bin_dir, rule, account)
        run["inventorySeconds"] = inventory[rule["resourceType"]]
        run["operations"] = operation_rows(run)
        runs[rule["id"]] = run
        above = [row["operation"] for row in run["operations"] if row["status"] != "equal"]
        print(f"   {rule['id']}: {run['resources']} resources, {run['seconds']:.2f} s, "
              f"{sum(run['calls'].values())} calls (minimum {sum(run['minimum'].values())})"
              + (f", not at the minimum: {', '.join(above)}" if above else ""), flush=True)
    size = {
        "projects": len(account.projects), "pipelines": len(account.pipelines),
        "reportGroups": len(account.report_groups), "roles": len(account.roles),
        "seedSeconds": seeded, "inventorySeconds": inventory, "rules": runs,
        "allRules": len(selected) == len(rules),
    }
    return size, account


# --- pipesec evaluate ------------------------------------------------------------------------


def tool_environment(emulator: Emulator) -> dict[str, str]:
    """Both tools see the emulator through AWS_ENDPOINT_URL, with fake credentials."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment.update({
        "AWS_ENDPOINT_URL": emulator.url, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
    })
    return environment


def run_pipesec_evaluate(emulator: Emulator, pipesec: Path, rule_ids: list[str] | None = None) -> dict:
    """`pipesec evaluate` over the account: wall time, calls and results."""
    with tempfile.TemporaryDirectory(prefix="pipesec-sweep-") as scratch:
        report = Path(scratch) / "report.json"
        command = [str(pipesec), "evaluate", "--region", REGION, "--format", "json", "--fail-on", "none",
                   "--output", str(report)]
        for rule_id in rule_ids or []:
            command += ["--rule", rule_id]
        emulator.reset_calls()
        started = time.monotonic()
        answer = subprocess.run(command, env=tool_environment(emulator), capture_output=True, text=True,
                                timeout=INVOKE_TIMEOUT_SECONDS)
        seconds = time.monotonic() - started
        calls = emulator.calls()
        if answer.returncode != 0:
            raise RuntimeError(f"pipesec evaluate failed ({answer.returncode}): {answer.stderr[-2000:]}")
        results = json.loads(report.read_text())["results"]
    return {"seconds": seconds, "calls": calls, "results": results}


# --- tables ----------------------------------------------------------------------------------


def print_table(title: str, headers: list[str], rows: list[list]) -> None:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(header)] + [len(row[i]) for row in cells]) for i, header in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(header.ljust(width) for header, width in zip(headers, widths)))
    print("  ".join("-" * width for width in widths))
    for row in cells:
        print("  ".join(cell.rjust(width) if cell[:1].isdigit() else cell.ljust(width)
                        for cell, width in zip(row, widths)))


def per_operation_table(n: int, size: dict) -> None:
    rows = [[rule_id, row["operation"], row["calls"], row["minimum"], row["status"]]
            for rule_id, run in size["rules"].items() for row in run["operations"]]
    print_table(f"Calls per operation of one sweep, N={n} (minimum: sweep_minimum.py)",
                ["rule", "operation", "calls", "minimum", "status"], rows)


def per_rule_table(n: int, size: dict) -> None:
    rows = []
    for rule_id, run in size["rules"].items():
        calls, minimum = sum(run["calls"].values()), sum(run["minimum"].values())
        verdicts = run["verdicts"]
        rows.append([rule_id, run["resources"], f"{run['seconds']:.2f}",
                     f"{run['seconds'] / run['resources'] * 1000:.2f}",
                     f"{run['inventorySeconds'] / run['resources'] * 1000:.2f}", calls, minimum,
                     f"{calls / minimum:.2f}", "{}/{}/{}".format(verdicts.get("COMPLIANT", 0),
                                                                  verdicts.get("NON_COMPLIANT", 0),
                                                                  verdicts.get("NOT_APPLICABLE", 0))])
    print_table(f"Sweeps, N={n}: wall time (ms/resource) against boto3 paging the same inventory, "
                "calls against the minimum, verdicts read back (C/NC/NA)",
                ["rule", "resources", "wall s", "ms/res", "inventory ms/res", "calls", "minimum", "ratio",
                 "C/NC/NA"], rows)


def account_resources(size: dict) -> int:
    return size["projects"] + size["pipelines"] + size["reportGroups"]


def scaling_table(sizes: dict) -> None:
    """Per rule (and for pipesec evaluate over the whole account): calls, calls per resource and
    milliseconds per resource at each size."""
    ns = sorted(sizes, key=int)
    rule_ids = list(dict.fromkeys(rule_id for n in ns for rule_id in sizes[n]["rules"]))
    rows = []
    for rule_id in rule_ids:
        row = [rule_id]
        for n in ns:
            run = sizes[n]["rules"].get(rule_id)
            row += ["-", "-", "-"] if run is None else [
                sum(run["calls"].values()), f"{sum(run['calls'].values()) / run['resources']:.3f}",
                f"{run['seconds'] / run['resources'] * 1000:.2f}"]
        rows.append(row)
    row = ["pipesec evaluate (every rule, every resource)"]
    for n in ns:
        evaluate, resources = sizes[n]["evaluate"], account_resources(sizes[n])
        row += [sum(evaluate["calls"].values()), f"{sum(evaluate['calls'].values()) / resources:.3f}",
                f"{evaluate['seconds'] / resources * 1000:.2f}"]
    rows.append(row)
    headers = ["rule"] + [h for n in ns for h in (f"calls@{n}", "calls/res", "ms/res")]
    print_table("Scaling: calls and wall time per resource at each size ('-': not swept at that size)",
                headers, rows)


def tool_calls_table(comparison: dict) -> None:
    """API calls per operation of pipesec evaluate and of Prowler over the same account."""
    pipesec = comparison["pipesec"]["calls"]
    prowler = (comparison.get("prowler") or {}).get("calls") or {}
    operations = sorted(set(pipesec) | set(prowler), key=lambda op: (-(pipesec.get(op, 0) + prowler.get(op, 0)), op))
    rows = [[operation, pipesec.get(operation, 0), prowler.get(operation, 0)] for operation in operations]
    rows.append(["total", sum(pipesec.values()), sum(prowler.values())])
    print_table(f"API calls by operation, N={comparison['n']}: pipesec evaluate (all rules) and Prowler",
                ["operation", "pipesec", "Prowler"], rows)


def figures_table(figures: list[dict]) -> None:
    print_table("Figures", ["figure", "value", "baseline/minimum", "ratio/status"],
                [[f["figure"], f["value"], f["baseline"], f["ratio"]] for f in figures])


# --- figures ---------------------------------------------------------------------------------


def sweep_figures(sizes: dict) -> list[dict]:
    figures = []
    for n, size in sizes.items():
        evaluate = size["evaluate"]
        figures.append({"figure": f"N={n}: pipesec evaluate, every rule over {account_resources(size)} resources, "
                                  "ms/resource", "value": f"{evaluate['seconds'] / account_resources(size) * 1000:.2f}",
                        "baseline": "-", "ratio": f"{evaluate['seconds']:.2f} s, "
                                                  f"{sum(evaluate['calls'].values())} calls"})
        total_calls = sum(sum(run["calls"].values()) for run in size["rules"].values())
        total_minimum = sum(sum(run["minimum"].values()) for run in size["rules"].values())
        above = sum(1 for run in size["rules"].values() for row in run["operations"] if row["status"] != "equal")
        figures.append({"figure": f"N={n}: calls of {len(size['rules'])} rule sweeps", "value": total_calls,
                        "baseline": f"{total_minimum} (minimum)",
                        "ratio": f"{total_calls / total_minimum:.3f}; {above} operation(s) off the minimum"})
        for rule_id, run in size["rules"].items():
            calls, minimum = sum(run["calls"].values()), sum(run["minimum"].values())
            status = "equal" if all(row["status"] == "equal" for row in run["operations"]) else "ABOVE"
            figures.append({"figure": f"N={n}: {rule_id} sweep calls", "value": calls,
                            "baseline": f"{minimum} (minimum)", "ratio": f"{calls / minimum:.2f} {status}"})
            figures.append({"figure": f"N={n}: {rule_id} sweep ms/resource",
                            "value": f"{run['seconds'] / run['resources'] * 1000:.2f}",
                            "baseline": f"{run['inventorySeconds'] / run['resources'] * 1000:.2f} (boto3 paging the inventory)",
                            "ratio": f"{run['seconds'] / run['inventorySeconds']:.2f}x"})
    return figures


def comparison_figures(comparison: dict) -> list[dict]:
    n, evaluate = comparison["n"], comparison["pipesec"]
    figures = [{"figure": f"N={n}: pipesec evaluate, all {evaluate['rules']} rules, wall s",
                "value": f"{evaluate['seconds']:.2f}", "baseline": "-", "ratio": "-"},
               {"figure": f"N={n}: pipesec evaluate API calls", "value": sum(evaluate["calls"].values()),
                "baseline": "-", "ratio": "-"}]
    return figures + sweep_prowler.figures(comparison)


# --- main ------------------------------------------------------------------------------------


def compare_tools(emulator: Emulator, account: sweep_account.Plan, evaluate: dict, args) -> dict:
    """pipesec evaluate (`evaluate`, run just before) against Prowler on the account the emulator holds."""
    print(f"\n== N={account.n}: pipesec evaluate and Prowler over the same account", flush=True)
    evaluate["rules"] = len({result["rule"] for result in evaluate["results"]})
    comparison = {"n": account.n, "pipesec": evaluate}
    if args.prowler is None:
        comparison["prowler"] = {"seconds": None, "error": "skipped: no --prowler given"}
        return comparison
    comparison.update(sweep_prowler.compare_tools(
        args.prowler, emulator, tool_environment(emulator), account, evaluate,
        lambda rule_ids: run_pipesec_evaluate(emulator, args.pipesec, rule_ids)))
    return comparison


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    rules = load_catalog(args.bin_dir)
    sizes, comparison = {}, None
    # AWS managed policies exist in moto only when it loads them: the service roles attach some.
    with Emulator.start(env={"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}) as emulator:
        for n in args.sizes:
            size, account = run_size(emulator, n, rules, args)
            sizes[str(n)] = size
            per_operation_table(n, size)
            per_rule_table(n, size)
            evaluate = run_pipesec_evaluate(emulator, args.pipesec)
            size["evaluate"] = {"seconds": evaluate["seconds"], "calls": evaluate["calls"],
                                "results": len(evaluate["results"])}
            print(f"\n   pipesec evaluate, all {len(rules)} rules: {evaluate['seconds']:.2f} s, "
                  f"{sum(evaluate['calls'].values())} calls, {len(evaluate['results'])} results", flush=True)
            if n == args.compare_at:
                comparison = compare_tools(emulator, account, evaluate, args)
                tool_calls_table(comparison)
                sweep_prowler.print_comparison(comparison, print_table)
    scaling_table(sizes)
    figures = sweep_figures(sizes) + (comparison_figures(comparison) if comparison else [])
    total = time.monotonic() - started
    figures.append({"figure": "wall time of this benchmark run, s", "value": f"{total:.0f}", "baseline": "-",
                    "ratio": "-"})
    figures_table(figures)
    document = {"sizes": sizes, "comparison": _without_results(comparison), "figures": figures,
                "binDir": str(args.bin_dir), "pipesec": str(args.pipesec),
                "pipesecSha256": hashlib.sha256(args.pipesec.read_bytes()).hexdigest(), "totalSeconds": total}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"\nwritten to {args.output}")
    return 0


def _without_results(comparison: dict | None) -> dict | None:
    """The comparison without per-resource tool output (annotations may quote what was found)."""
    if comparison is None:
        return None
    slim = {key: value for key, value in comparison.items() if key not in ("pipesec", "prowler")}
    slim["pipesec"] = {k: v for k, v in comparison["pipesec"].items() if k != "results"}
    slim["prowler"] = {k: v for k, v in comparison["prowler"].items() if k != "findings"}
    if "likeForLike" in comparison:
        like = comparison["likeForLike"]
        slim["likeForLike"] = {**like, "prowler": {k: v for k, v in like["prowler"].items() if k != "findings"}}
    return slim


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
