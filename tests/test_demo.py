"""The README's main-job command works end to end and shows what it promises."""

import os
import subprocess
import sys
from pathlib import Path

import demo

TESTS = Path(__file__).resolve().parent


def test_demo_reports_good_and_bad_projects_without_leaking_values():
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    run = subprocess.run([sys.executable, str(TESTS / "demo.py")], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()

    def row(project, rule_index):
        """The state of `project` in the `rule_index`-th rule table."""
        tables = [i for i, line in enumerate(lines) if line.startswith("codebuild-project-")]
        start = tables[rule_index]
        return next(line.split()[1] for line in lines[start + 1:] if line.split() and line.split()[0] == project)

    assert row("docker-image-builder", 0) == "NON_COMPLIANT"
    assert row("base-images", 0) == "COMPLIANT"
    assert row("retired-builder", 0) == "NOT_APPLICABLE"
    assert row("payments-api", 1) == "NON_COMPLIANT"
    assert row("nightly-reports", 1) == "COMPLIANT"
    for _, _, variables in demo.PROJECTS:
        for name, value, kind in variables:
            if kind == "PLAINTEXT" and ("PASSWORD" in name or name.startswith("AWS_")):
                assert value not in run.stdout and value not in run.stderr, f"value of {name} leaked"
