"""The Lambda packages: `scripts/package` builds exactly the catalog's rules, the Security Hub
function, the organization scorer and the CloudFormation hook function, and every package built (scripts/test builds one when the aarch64 target is installed;
scripts/package builds them all) is an arm64 ELF needing no glibc newer than 2.34, zipped as
Lambda's provided.al2023 runtime expects, and listed in the manifest with its sha256 and size."""

import datetime
import hashlib
import inspect
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from deploy import package
from deploy.catalog import HOOK_FUNCTION, SCORER_FUNCTION, SECURITY_HUB_FUNCTION
from testbed import events, seed
from testbed.lambda_runtime import LambdaFunction
from testbed.results import compliance
from testbed.tokens import mint_result_token

REPO = Path(__file__).resolve().parent.parent
LAMBDA_DIR = Path(os.environ.get("PIPESEC_LAMBDA_DIR", REPO / "target" / "lambda"))
GLIBC_FLOOR = "2.34"  # Amazon Linux 2023 (provided.al2023)
BIN_DIR = Path(os.environ.get("PIPESEC_BIN_DIR", REPO / "target" / "debug"))
# arm64 user-mode emulation (Debian qemu-user-static, libc6-arm64-cross), when installed.
QEMU = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
QEMU_LD_PREFIX = Path("/usr/aarch64-linux-gnu")


def test_package_builds_every_catalog_rule_the_security_hub_function_the_scorer_and_the_hook(catalog):
    listed = subprocess.run([str(REPO / "scripts" / "package"), "--list"], check=True, capture_output=True, text=True,
                            cwd=REPO).stdout.split()
    assert listed == [rule.id for rule in catalog.rules] + [SECURITY_HUB_FUNCTION, SCORER_FUNCTION, HOOK_FUNCTION]


def required_in_ci() -> bool:
    """In CI the package tests run: scripts/test builds the package and installs qemu, unless told
    to skip the package with PIPESEC_SKIP_PACKAGE=1 (which it says)."""
    return bool(os.environ.get("CI")) and os.environ.get("PIPESEC_SKIP_PACKAGE") != "1"


def require_arm64_emulation() -> None:
    """Every test that runs a package under qemu: skipped where qemu is not installed, failed in CI,
    where scripts/test installs it. Whether the package itself was built is each test's own check
    (CI packages one rule and the hook only)."""
    if not (QEMU and QEMU_LD_PREFIX.is_dir()):
        missing = "arm64 emulation not installed (apt-get install qemu-user-static libc6-arm64-cross)"
        if required_in_ci():
            pytest.fail(f"{missing}: scripts/test installs it in CI")
        pytest.skip(missing)


@pytest.fixture(scope="module")
def manifest() -> dict:
    path = LAMBDA_DIR / "manifest.json"
    if not path.exists():
        missing = f"no packages at {LAMBDA_DIR}: scripts/test builds one rule unless PIPESEC_SKIP_PACKAGE=1"
        if required_in_ci():
            pytest.fail(f"{missing}; CI must test the package")
        pytest.skip(f"{missing}; scripts/package builds them all")
    return json.loads(path.read_text())


def test_manifest_lists_valid_packages(manifest, catalog):
    assert manifest["glibcFloor"] == GLIBC_FLOOR and manifest["runtime"] == "provided.al2023"
    names = {rule.id for rule in catalog.rules} | {SECURITY_HUB_FUNCTION, SCORER_FUNCTION, HOOK_FUNCTION}
    assert set(manifest["packages"]) <= names, "a package of no catalog rule"
    if manifest["complete"]:
        assert set(manifest["packages"]) == names, "a complete manifest lists every rule"
    for name, entry in manifest["packages"].items():
        archive = LAMBDA_DIR / entry["zip"]
        data = archive.read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (entry["sha256"], entry["size"]), name
        with zipfile.ZipFile(archive) as zip_file:
            [info] = zip_file.infolist()
            assert info.filename == "bootstrap"
            assert stat.S_IMODE(info.external_attr >> 16) == 0o755, "Lambda runs bootstrap: it must be executable"
            assert zip_file.read(info) == (LAMBDA_DIR / name / "bootstrap").read_bytes()


def test_every_bootstrap_is_arm64_and_runs_on_amazon_linux_2023(manifest):
    for name in manifest["packages"]:
        bootstrap = LAMBDA_DIR / name / "bootstrap"
        assert package.elf_machine(bootstrap) == package.EM_AARCH64, name
        versions = package.glibc_versions(bootstrap)
        assert versions, f"{name}: no GLIBC version needs found (not dynamically linked against glibc?)"
        assert max(versions) <= tuple(map(int, GLIBC_FLOOR.split("."))), f"{name} needs GLIBC_{max(versions)}"


def test_the_checks_refuse_a_host_binary():
    host = BIN_DIR / "pipesec-catalog"
    with pytest.raises(ValueError, match="not an aarch64 ELF"):
        package.check(host, GLIBC_FLOOR)
    assert package.glibc_versions(host), "readelf reads the version needs"


def test_packaged_rule_evaluates_a_change_under_arm64_emulation(manifest, aws, emulator):
    """The package itself, not a host build: started as Lambda would start bootstrap, through the
    Runtime API, it evaluates a change notification against the emulator."""
    require_arm64_emulation()
    name = "codebuild-project-privileged-mode-disabled"
    if name not in manifest["packages"]:
        pytest.skip(f"{name} was not packaged")
    seed.create_project(aws("codebuild"), "image-builder", seed.create_role(aws("iam"))["Arn"], privileged=True)
    item = seed.recorded_item(aws("config"), "image-builder")
    function = LambdaFunction(Path(QEMU), name, {"AWS_ENDPOINT_URL": emulator.url},
                              args=["-L", str(QEMU_LD_PREFIX), str(LAMBDA_DIR / name / "bootstrap")])
    with function.start():
        result = function.invoke(events.change_event(item, name), timeout=120)
    assert result.ok, f"{result.error_type}: {result.error_message}"
    assert compliance(aws("config"), name)[item["resourceId"]][0] == "NON_COMPLIANT"


def test_packaged_scorer_publishes_a_score_under_arm64_emulation(manifest, aws, emulator):
    """The organization scorer's package, run as Lambda would run it: it reads an aggregator of
    this account and publishes the pipeline's score."""
    require_arm64_emulation()
    if SCORER_FUNCTION not in manifest["packages"]:
        pytest.skip(f"{SCORER_FUNCTION} was not packaged (scripts/package {SCORER_FUNCTION})")
    seed.create_pipeline(aws("codepipeline"), "release", seed.create_pipeline_role(aws("iam"))["Arn"])
    aws("config").put_evaluations(
        ResultToken=mint_result_token("pipesec-codepipeline-approval-before-deploy"),
        Evaluations=[{"ComplianceResourceType": "AWS::CodePipeline::Pipeline", "ComplianceResourceId": "release",
                      "ComplianceType": "COMPLIANT", "OrderingTimestamp": datetime.datetime.now(datetime.UTC)}])
    aws("config").put_configuration_aggregator(
        ConfigurationAggregatorName="own", AccountAggregationSources=[{"AccountIds": ["123456789012"],
                                                                        "AwsRegions": ["us-east-1"]}])
    function = LambdaFunction(Path(QEMU), SCORER_FUNCTION,
                              {"AWS_ENDPOINT_URL": emulator.url, "PIPESEC_AGGREGATOR_NAME": "own"},
                              args=["-L", str(QEMU_LD_PREFIX), str(LAMBDA_DIR / SCORER_FUNCTION / "bootstrap")])
    with function.start():
        result = function.invoke({"source": "aws.events", "detail": {}}, timeout=120)
    assert result.ok, f"{result.error_type}: {result.error_message}"
    assert result.payload["pipelinesScored"] == 1
    [metric] = aws("cloudwatch").list_metrics(Namespace="pipesec", MetricName="PipelineScore")["Metrics"]
    assert {d["Name"]: d["Value"] for d in metric["Dimensions"]}["Pipeline"] == "release"


def test_packaged_hook_answers_a_cloudformation_request_under_arm64_emulation(manifest, emulator):
    """The hook's package, started as Lambda would start it, answers a documented request."""
    require_arm64_emulation()
    if HOOK_FUNCTION not in manifest["packages"]:
        pytest.skip(f"{HOOK_FUNCTION} was not packaged (scripts/package {HOOK_FUNCTION})")
    request = json.loads((REPO / "hook" / "fixtures" / "create-project.json").read_text())
    function = LambdaFunction(Path(QEMU), HOOK_FUNCTION, {"AWS_ENDPOINT_URL": emulator.url},
                              args=["-L", str(QEMU_LD_PREFIX), str(LAMBDA_DIR / HOOK_FUNCTION / "bootstrap")])
    with function.start():
        result = function.invoke(request, timeout=120)
    assert result.ok, f"{result.error_type}: {result.error_message}"
    assert (result.payload["hookStatus"], result.payload["errorCode"]) == ("FAILED", "NonCompliant")
    assert "codebuild-project-privileged-mode-disabled (HIGH)" in result.payload["message"]


def test_every_package_test_under_emulation_fails_in_ci_and_skips_elsewhere_without_qemu(monkeypatch):
    """Each test above that runs a package under qemu, run with qemu missing: a failure in CI, a
    skip elsewhere, before it looks at its arguments or the packages."""
    module = sys.modules[__name__]
    emulated = [test for name, test in vars(module).items()
                if name.startswith("test_") and "args=[\"-L\"" in inspect.getsource(test)]
    assert len(emulated) == 3, [test.__name__ for test in emulated]
    monkeypatch.setattr(module, "QEMU", None)
    monkeypatch.delenv("PIPESEC_SKIP_PACKAGE", raising=False)
    for ci, outcome in (("true", pytest.fail.Exception), (None, pytest.skip.Exception)):
        if ci:
            monkeypatch.setenv("CI", ci)
        else:
            monkeypatch.delenv("CI", raising=False)
        for test in emulated:
            with pytest.raises(outcome, match="arm64 emulation not installed"):
                test(**dict.fromkeys(inspect.signature(test).parameters))
