"""Prowler's CodeBuild and CodePipeline checks over the benchmark account, and their findings
against `pipesec evaluate`'s on the checks both tools have.

Two timings, each with its check lists printed:
- like for like: `pipesec evaluate` with only the rules that have a Prowler counterpart
  (LIKE_FOR_LIKE) against Prowler with `--checks` those counterparts; a rule or check that only
  one tool has (the privileged-mode rule, Prowler's project-age check, ...) is in neither run;
- whole tool: `pipesec evaluate` with every rule against Prowler with every check of its
  CodeBuild and CodePipeline services (`--services`), as listed by the installed Prowler.

Prowler (PyPI, pinned in bench/requirements.txt) runs as a subprocess against the same emulator,
through AWS_ENDPOINT_URL like pipesec. Nothing may leave the machine: HTTP(S)_PROXY point at a
closed port on 127.0.0.1 with NO_PROXY for the emulator, so any other request (Prowler's version
check, `codepipeline_project_repo_private`'s anonymous probes of github.com and gitlab.com) fails
at once; that check then reports every repository private.

Findings are compared by resource name per check pair. Differences are grouped by the resource's
trait in the account's plan (what was seeded for that check), so each group has one reason.
Prowler's status texts and pipesec's annotations are never printed: they may quote what was found.
"""

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sweep_account import ACCOUNT, REGION, Plan
from sweep_minimum import CODEBUILD_PROJECT, CODEBUILD_REPORT_GROUP, CODEPIPELINE_PIPELINE
from testbed.config_items import codebuild_resource_id

PROWLER_TIMEOUT_SECONDS = 3600
# A port nothing listens on: requests through this "proxy" are refused at once.
DEAD_PROXY = "http://127.0.0.1:9"


@dataclass(frozen=True)
class CheckPair:
    """A Prowler check and the pipesec rule that checks the same thing (either may be None)."""
    prowler_check: str | None
    pipesec_rule: str | None
    resource_type: str
    # The resource's trait in the plan that decides this check, e.g. "S3 logs, unencrypted".
    trait: Callable[[Plan, str], str]


def _project(account: Plan, name: str):
    return next(p for p in account.projects if p.name == name)


def _secret_trait(account: Plan, name: str) -> str:
    plaintext = [n for n, _, kind in _project(account, name).variables if kind == "PLAINTEXT" and n != "STAGE"]
    return "PLAINTEXT " + "+".join(plaintext) if plaintext else "no PLAINTEXT variable but STAGE"


def _logs_trait(account: Plan, name: str) -> str:
    logs = _project(account, name).overrides["logsConfig"]
    cloudwatch, s3 = logs["cloudWatchLogs"]["status"], logs["s3Logs"]["status"]
    encrypted = "" if s3 == "DISABLED" else (", unencrypted" if logs["s3Logs"].get("encryptionDisabled") else ", encrypted")
    return f"CloudWatch {cloudwatch}, S3 {s3}{encrypted}"


def _source_trait(account: Plan, name: str) -> str:
    source = _project(account, name).overrides["source"]
    location = source["location"]
    if "@" not in location:
        return f"{source['type']}, no credentials in the URL"
    return f"{source['type']}, " + ("user:password@ in the URL" if ":" in location.split("//", 1)[1].split("@")[0]
                                    else "token as user name in the URL")


def _buildspec_trait(account: Plan, name: str) -> str:
    buildspec = _project(account, name).overrides["source"]["buildspec"]
    return "inline buildspec" if "\n" in buildspec else f"buildspec file `{buildspec}` in the source repository"


def _visibility_trait(account: Plan, name: str) -> str:
    return "PUBLIC_READ" if _project(account, name).public else "PRIVATE"


def _webhook_trait(account: Plan, name: str) -> str:
    webhook = _project(account, name).webhook
    if not webhook:
        return "no webhook"
    patterns = [f["pattern"] for group in webhook for f in group if f["type"] == "HEAD_REF"]
    return "HEAD_REF " + ("anchored" if all(p.startswith("^") and p.endswith("$") for p in patterns) else "unanchored")


def _privileged_trait(account: Plan, name: str) -> str:
    project = _project(account, name)
    return "privileged" if project.privileged else "unprivileged"


def _report_group_trait(account: Plan, name: str) -> str:
    export = account.report_groups[name]
    if export["exportConfigType"] != "S3":
        return "no export"
    return "S3 export, " + ("unencrypted" if export["s3Destination"]["encryptionDisabled"] else "encrypted")


def _pipeline_source_trait(account: Plan, name: str) -> str:
    pipeline = next(p for p in account.pipelines if p.name == name)
    return f"source {pipeline.stages[0]['actions'][0]['actionTypeId']['provider']}"


def _project_age_trait(account: Plan, name: str) -> str:
    return "created by the benchmark, never built"


def _github_trait(account: Plan, name: str) -> str:
    return f"source {_project(account, name).overrides['source']['type']}"


CHECK_PAIRS = (
    CheckPair(None, "codebuild-project-privileged-mode-disabled", CODEBUILD_PROJECT, _privileged_trait),
    CheckPair("codebuild_project_no_secrets_in_variables", "codebuild-project-no-plaintext-secrets",
              CODEBUILD_PROJECT, _secret_trait),
    CheckPair("codebuild_project_logging_enabled", "codebuild-project-logging-enabled", CODEBUILD_PROJECT, _logs_trait),
    CheckPair("codebuild_project_s3_logs_encrypted", "codebuild-project-s3-logs-encrypted", CODEBUILD_PROJECT,
              _logs_trait),
    CheckPair("codebuild_project_source_repo_url_no_sensitive_credentials", "codebuild-project-source-no-credentials",
              CODEBUILD_PROJECT, _source_trait),
    CheckPair("codebuild_project_user_controlled_buildspec", "codebuild-project-buildspec-protected",
              CODEBUILD_PROJECT, _buildspec_trait),
    CheckPair("codebuild_project_not_publicly_accessible", "codebuild-project-not-public", CODEBUILD_PROJECT,
              _visibility_trait),
    CheckPair("codebuild_project_webhook_filters_use_anchored_patterns", "codebuild-project-webhook-filters-anchored",
              CODEBUILD_PROJECT, _webhook_trait),
    CheckPair("codebuild_report_group_export_encrypted", "codebuild-report-group-export-encrypted",
              CODEBUILD_REPORT_GROUP, _report_group_trait),
    CheckPair("codebuild_project_older_90_days", None, CODEBUILD_PROJECT, _project_age_trait),
    CheckPair("codebuild_project_uses_allowed_github_organizations", None, CODEBUILD_PROJECT, _github_trait),
    CheckPair("codepipeline_project_repo_private", None, CODEPIPELINE_PIPELINE, _pipeline_source_trait),
)
PROWLER_SERVICES = ("codebuild", "codepipeline")
# The check pairs both tools have: the like-for-like timing runs these and nothing else.
LIKE_FOR_LIKE = tuple(pair for pair in CHECK_PAIRS if pair.prowler_check and pair.pipesec_rule)


# --- running Prowler -------------------------------------------------------------------------


def environment(tool_environment: dict[str, str]) -> dict[str, str]:
    """The tools' environment, with every request but the emulator's sent to a closed port."""
    return {**tool_environment, "HTTPS_PROXY": DEAD_PROXY, "HTTP_PROXY": DEAD_PROXY, "https_proxy": DEAD_PROXY,
            "http_proxy": DEAD_PROXY, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def _findings(ocsf: Path) -> list[dict]:
    """(check, status, resource name, resource ARN) of each finding in Prowler's OCSF output."""
    return [{"check": finding["metadata"]["event_code"], "status": finding["status_code"],
             "name": finding["resources"][0].get("name"), "arn": finding["resources"][0].get("uid")}
            for finding in json.loads(ocsf.read_text())]


def service_checks(prowler: Path, tool_environment: dict[str, str]) -> tuple[list[str], float]:
    """Every check of PROWLER_SERVICES in the installed Prowler, as it lists them, and the wall
    time of listing them: Prowler's start-up, without an AWS call."""
    started = time.monotonic()
    answer = subprocess.run([str(prowler), "aws", "--list-checks-json", "--services", *PROWLER_SERVICES],
                            env=environment(tool_environment), capture_output=True, text=True, check=True,
                            timeout=600)
    seconds = time.monotonic() - started
    listed = json.loads(answer.stdout[answer.stdout.index("{"):])
    return sorted(check for checks in listed.values() for check in checks), seconds


def run(prowler: Path, emulator, tool_environment: dict[str, str], checks: list[str] | None = None) -> dict:
    """Prowler over the emulator's account, with `checks` or else every check of PROWLER_SERVICES:
    wall time, calls, findings; or the error that stopped it."""
    selection = ["--checks", *checks] if checks else ["--services", *PROWLER_SERVICES]
    with tempfile.TemporaryDirectory(prefix="pipesec-sweep-prowler-") as scratch:
        command = [str(prowler), "aws", *selection, "-f", REGION, "--no-banner", "--no-color",
                   "--output-formats", "json-ocsf", "--output-directory", scratch, "--output-filename", "sweep",
                   "--ignore-exit-code-3", "--log-level", "ERROR"]
        emulator.reset_calls()
        started = time.monotonic()
        try:
            answer = subprocess.run(command, env=environment(tool_environment), capture_output=True, text=True,
                                    timeout=PROWLER_TIMEOUT_SECONDS)
        except (OSError, subprocess.TimeoutExpired) as problem:
            return {"seconds": None, "error": f"{type(problem).__name__}: {problem}"}
        seconds = time.monotonic() - started
        calls = emulator.calls()
        ocsf = Path(scratch) / "sweep.ocsf.json"
        if answer.returncode != 0 or not ocsf.exists():
            return {"seconds": None, "error": f"exit {answer.returncode}: {answer.stderr[-1500:]}"}
        errors = [line for line in answer.stderr.splitlines() if " ERROR: " in line]
        findings = _findings(ocsf)
        return {"seconds": seconds, "calls": calls, "findings": findings, "command": command[1:],
                "checksWithFindings": sorted({finding["check"] for finding in findings}),
                "loggedErrors": len(errors), "firstLoggedError": errors[0][:300] if errors else None}


def compare_tools(prowler: Path, emulator, tool_environment: dict[str, str], account: Plan,
                  evaluate: dict, run_pipesec: Callable[[list[str]], dict]) -> dict:
    """The like-for-like and whole-tool runs (see the module's doc) against `evaluate`, pipesec
    evaluate with every rule run just before; `run_pipesec(rule_ids)` runs it with those rules.
    Every Prowler check named in CHECK_PAIRS must exist in the installed Prowler."""
    whole_checks, listing_seconds = service_checks(prowler, tool_environment)
    missing = [pair.prowler_check for pair in CHECK_PAIRS if pair.prowler_check and pair.prowler_check not in whole_checks]
    if missing:
        raise RuntimeError(f"not checks of the installed Prowler's {'/'.join(PROWLER_SERVICES)}: {missing}")
    rules = sorted(pair.pipesec_rule for pair in LIKE_FOR_LIKE)
    pipesec = run_pipesec(rules)
    comparison = {"prowlerListingSeconds": listing_seconds, "likeForLike": {
        "pairs": [[pair.pipesec_rule, pair.prowler_check] for pair in LIKE_FOR_LIKE],
        "pipesec": {"rules": rules, "seconds": pipesec["seconds"], "calls": pipesec["calls"]},
        "prowler": {"checks": [pair.prowler_check for pair in LIKE_FOR_LIKE],
                    **run(prowler, emulator, tool_environment, [pair.prowler_check for pair in LIKE_FOR_LIKE])},
    }}
    print(f"   like for like, {len(rules)} rules: pipesec {pipesec['seconds']:.2f} s; "
          + _run_summary(comparison["likeForLike"]["prowler"]), flush=True)
    whole = run(prowler, emulator, tool_environment)
    comparison["prowler"] = {"checks": whole_checks, **whole}
    print(f"   whole tool: pipesec, {evaluate['rules']} rules, {evaluate['seconds']:.2f} s; "
          f"{len(whole_checks)} checks: " + _run_summary(whole), flush=True)
    if whole.get("seconds") is not None:
        comparison["checks"] = compare(account, evaluate["results"], whole["findings"])
    return comparison


def _run_summary(prowler_run: dict) -> str:
    if prowler_run.get("seconds") is None:
        return f"Prowler did not run: {prowler_run['error']}"
    return (f"Prowler {prowler_run['seconds']:.2f} s, {sum(prowler_run['calls'].values())} calls, "
            f"{prowler_run['loggedErrors']} error(s) logged"
            + (f", the first: {prowler_run['firstLoggedError']}" if prowler_run["firstLoggedError"] else ""))


def figures(comparison: dict) -> list[dict]:
    """Wall time and API calls of both timings, pipesec against Prowler."""
    n, evaluate = comparison["n"], comparison["pipesec"]
    runs = [(f"like for like: pipesec evaluate, the {len(LIKE_FOR_LIKE)} rules with a Prowler counterpart, "
             f"vs Prowler --checks those {len(LIKE_FOR_LIKE)}", (comparison.get("likeForLike") or {}).get("pipesec"),
             (comparison.get("likeForLike") or {}).get("prowler")),
            (f"whole tool: pipesec evaluate, all {evaluate['rules']} rules, vs Prowler, all "
             f"{len((comparison.get('prowler') or {}).get('checks') or [])} CodeBuild + CodePipeline checks",
             evaluate, comparison.get("prowler"))]
    rows = []
    for label, pipesec, prowler in runs:
        if not prowler or prowler.get("seconds") is None:
            rows.append({"figure": f"N={n}: {label}", "value": "Prowler did not run", "baseline": "-",
                         "ratio": (prowler or {}).get("error", "skipped")[:120]})
            continue
        speedup = prowler["seconds"] / pipesec["seconds"]
        target = f" ({'meets' if speedup >= 10 else 'MISSES'} the 10x target)" if label.startswith("whole") else ""
        pipesec_calls, prowler_calls = sum(pipesec["calls"].values()), sum(prowler["calls"].values())
        rows += [{"figure": f"N={n}: {label}, wall s", "value": f"{pipesec['seconds']:.2f}",
                  "baseline": f"{prowler['seconds']:.2f} (Prowler)", "ratio": f"{speedup:.1f}x faster{target}"},
                 {"figure": f"N={n}: {label}, API calls", "value": pipesec_calls,
                  "baseline": f"{prowler_calls} (Prowler)", "ratio": f"{prowler_calls / pipesec_calls:.1f}x fewer"}]
    if comparison.get("prowlerListingSeconds") is not None:
        rows.append({"figure": f"Prowler's start-up in both runs: `prowler aws --list-checks-json --services "
                               f"{' '.join(PROWLER_SERVICES)}`, no AWS call, wall s",
                     "value": f"{comparison['prowlerListingSeconds']:.2f}", "baseline": "-", "ratio": "-"})
    return rows


# --- comparing findings ----------------------------------------------------------------------


def _names_by_id(account: Plan) -> dict[str, str]:
    """pipesec reports Config resource ids; Prowler names. Both lead to the plan's names."""
    prefix = f"arn:aws:codebuild:{REGION}:{ACCOUNT}"
    names = {codebuild_resource_id(f"{prefix}:project/{p.name}"): p.name for p in account.projects}
    names.update({f"{prefix}:report-group/{name}": name for name in account.report_groups})
    names.update({p.name: p.name for p in account.pipelines})
    return names


def _pipesec_flags(results: list[dict], rule_id: str, names: dict[str, str]) -> tuple[set[str], set[str]]:
    """(NON_COMPLIANT, evaluated but not NON_COMPLIANT) resource names of one rule."""
    flagged, passed = set(), set()
    for result in results:
        if result["rule"] == rule_id:
            (flagged if result["compliance"] == "NON_COMPLIANT" else passed).add(names.get(result["resourceId"],
                                                                                        result["resourceId"]))
    return flagged, passed


def _prowler_flags(findings: list[dict], check: str) -> tuple[set[str], set[str]]:
    """(FAIL, reported but not FAIL) resource names of one check."""
    flagged = {f["name"] for f in findings if f["check"] == check and f["status"] == "FAIL"}
    passed = {f["name"] for f in findings if f["check"] == check and f["status"] != "FAIL"}
    return flagged, passed


def _grouped(account: Plan, pair: CheckPair, names: set[str]) -> list[dict]:
    """Resources grouped by their trait for this check: count and a few example names."""
    groups: dict[str, list[str]] = {}
    for name in sorted(names):
        groups.setdefault(pair.trait(account, name), []).append(name)
    return [{"trait": trait, "count": len(members), "examples": members[:3]}
            for trait, members in sorted(groups.items(), key=lambda item: -len(item[1]))]


def compare(account: Plan, pipesec_results: list[dict], prowler_findings: list[dict]) -> list[dict]:
    """Per check pair: what each tool flags, what both flag, and the differences by trait."""
    names = _names_by_id(account)
    compared = []
    for pair in CHECK_PAIRS:
        pipesec_flagged, pipesec_passed = (_pipesec_flags(pipesec_results, pair.pipesec_rule, names)
                                           if pair.pipesec_rule else (set(), set()))
        prowler_flagged, prowler_passed = (_prowler_flags(prowler_findings, pair.prowler_check)
                                           if pair.prowler_check else (set(), set()))
        compared.append({
            "prowler": pair.prowler_check, "pipesec": pair.pipesec_rule,
            "pipesecFlagged": len(pipesec_flagged), "pipesecEvaluated": len(pipesec_flagged | pipesec_passed),
            "prowlerFlagged": len(prowler_flagged), "prowlerEvaluated": len(prowler_flagged | prowler_passed),
            "both": len(pipesec_flagged & prowler_flagged),
            "onlyPipesec": _grouped(account, pair, pipesec_flagged - prowler_flagged) if pair.prowler_check else [],
            "onlyProwler": _grouped(account, pair, prowler_flagged - pipesec_flagged) if pair.pipesec_rule else [],
            "flaggedByTrait": {
                "pipesec": _grouped(account, pair, pipesec_flagged),
                "prowler": _grouped(account, pair, prowler_flagged),
            },
        })
    paired = {pair.pipesec_rule for pair in CHECK_PAIRS if pair.prowler_check}
    for rule_id in sorted({result["rule"] for result in pipesec_results} - paired
                          - {pair.pipesec_rule for pair in CHECK_PAIRS}):
        flagged, passed = _pipesec_flags(pipesec_results, rule_id, names)
        compared.append({"prowler": None, "pipesec": rule_id, "pipesecFlagged": len(flagged),
                         "pipesecEvaluated": len(flagged | passed), "prowlerFlagged": 0, "prowlerEvaluated": 0,
                         "both": 0, "onlyPipesec": [], "onlyProwler": [],
                         "flaggedByTrait": {"pipesec": [{"trait": "-", "count": len(flagged),
                                                         "examples": sorted(flagged)[:3]}], "prowler": []}})
    return compared


def print_check_lists(comparison: dict, print_table) -> None:
    """What each timing ran: the like-for-like pairs, then every check of the whole-tool run."""
    like = comparison.get("likeForLike")
    if like:
        print_table(f"Like for like: the {len(like['pairs'])} pipesec rules and Prowler checks timed against each "
                    "other (a rule or check only one tool has is in neither run)",
                    ["pipesec rule", "Prowler check"], like["pairs"])
    whole = comparison.get("prowler") or {}
    if whole.get("checks"):
        paired = {pair.prowler_check: pair.pipesec_rule for pair in CHECK_PAIRS if pair.prowler_check}
        print_table(f"Whole tool: every pipesec rule ({comparison['pipesec']['rules']}) against every check of "
                    f"Prowler's {' and '.join(PROWLER_SERVICES)} services ({len(whole['checks'])})",
                    ["Prowler check", "pipesec counterpart", "findings in the run"],
                    [[check, paired.get(check) or "(none)",
                      "yes" if check in whole.get("checksWithFindings", []) else "none"] for check in whole["checks"]])


def print_comparison(comparison: dict, print_table) -> None:
    """The check lists of both timings; the findings tables: counts per check pair, then each
    difference group."""
    print_check_lists(comparison, print_table)
    checks = comparison.get("checks")
    if not checks:
        return
    rows = [[check["pipesec"] or "(none)", check["prowler"] or "(none)",
             f"{check['pipesecFlagged']}/{check['pipesecEvaluated']}",
             f"{check['prowlerFlagged']}/{check['prowlerEvaluated']}", check["both"],
             sum(g["count"] for g in check["onlyPipesec"]), sum(g["count"] for g in check["onlyProwler"])]
            for check in checks]
    print_table(f"Findings, N={comparison['n']}: flagged/evaluated per tool, flagged by both, by one only",
                ["pipesec rule", "Prowler check", "pipesec", "Prowler", "both", "only pipesec", "only Prowler"], rows)
    differences = [[check["pipesec"] or check["prowler"], side, group["trait"], group["count"],
                    ", ".join(group["examples"])]
                   for check in checks
                   for side, key in (("only pipesec", "onlyPipesec"), ("only Prowler", "onlyProwler"))
                   for group in check[key]]
    print_table("Differences by what the resource was seeded with", ["check", "flagged by", "seeded trait",
                                                                     "resources", "e.g."], differences)
    unmatched = [[check["pipesec"] or check["prowler"], "pipesec" if check["pipesec"] else "Prowler", group["trait"],
                  group["count"]]
                 for check in checks if not (check["pipesec"] and check["prowler"])
                 for group in check["flaggedByTrait"]["pipesec" if check["pipesec"] else "prowler"]]
    print_table("Checks only one tool has: what it flags", ["check", "tool", "seeded trait", "resources"], unmatched)
