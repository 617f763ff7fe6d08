"""The demo: a local AWS account with good and bad CodeBuild projects, evaluated by the real rule
binaries exactly as AWS Config would run them, and the compliance read back from Config's API.

Run it with `scripts/demo` (it builds the rules and the Python environment first).
"""

import json
import os
import sys
import textwrap
from pathlib import Path

import boto3

from testbed import events, seed
from testbed.emulator import Emulator
from testbed.lambda_runtime import LambdaFunction
from testbed.results import compliance

BIN_DIR = Path(os.environ.get("PIPESEC_BIN_DIR", Path(__file__).resolve().parent.parent / "target" / "debug"))
REGION = "us-east-1"

# The rules of the demo, with the parameters a team would give them.
RULES = {
    "codebuild-project-privileged-mode-disabled": {"exemptedProjects": "base-images"},
    "codebuild-project-no-plaintext-secrets": {},
}

# (name, privileged, environment variables): the account the demo builds. Values that look like
# secrets are made up; the rules never print them.
PROJECTS = [
    ("web-app", False, [("NODE_ENV", "production", "PLAINTEXT"), ("DB_PASSWORD", "/prod/web/db", "PARAMETER_STORE")]),
    ("docker-image-builder", True, [("REGISTRY", "123456789012.dkr.ecr.us-east-1.amazonaws.com", "PLAINTEXT")]),
    ("base-images", True, [("DOCKER_BUILDKIT", "1", "PLAINTEXT")]),
    ("retired-builder", True, [("DOCKER_BUILDKIT", "1", "PLAINTEXT")]),
    ("payments-api", False, [("DB_USER", "payments", "PLAINTEXT"), ("DB_PASSWORD", "demo-Pa55-word-1", "PLAINTEXT")]),
    ("legacy-deployer", False, [("AWS_ACCESS_KEY_ID", "AKIAZ7Q3DEMO4KEYS123", "PLAINTEXT"),
                                ("AWS_SECRET_ACCESS_KEY", "demo/secret+access/key0123456789abcdefgh", "PLAINTEXT")]),
    ("nightly-reports", False, [("MYSQL_ALLOW_EMPTY_PASSWORD", "yes", "PLAINTEXT"), ("REPORT_BUCKET", "reports", "PLAINTEXT")]),
]


def client(emulator, service):
    return boto3.client(service, endpoint_url=emulator.url, region_name=REGION,
                        aws_access_key_id="demo", aws_secret_access_key="demo")


class RuleFailed(RuntimeError):
    pass


def invoke(function, event):
    result = function.invoke(event)
    if not result.ok:
        raise RuleFailed(f"{function.name} failed: {result.error_type}: {result.error_message}")
    return result


def main() -> int:
    missing = [rule for rule in RULES if not (BIN_DIR / rule).exists()]
    if missing:
        print(f"demo: rule binaries missing in {BIN_DIR}: {', '.join(missing)} (run scripts/demo)", file=sys.stderr)
        return 2
    with Emulator.start() as emulator:
        print(f"Local AWS emulator at {emulator.url}\n")
        codebuild, config = client(emulator, "codebuild"), client(emulator, "config")
        role = seed.create_role(client(emulator, "iam"))
        for name, privileged, variables in PROJECTS:
            seed.create_project(codebuild, name, role["Arn"], privileged=privileged, variables=variables)
        items = {name: seed.recorded_item(config, name) for name, _, _ in PROJECTS}
        names = {item["resourceId"]: name for name, item in items.items()}
        print(f"Seeded {len(PROJECTS)} CodeBuild projects; Config recorded each one.\n")

        functions = {rule_id: LambdaFunction(BIN_DIR / rule_id, rule_id, {"AWS_ENDPOINT_URL": emulator.url}).start()
                     for rule_id in RULES}
        try:
            # Config invokes each rule once per recorded change...
            for rule_id, parameters in RULES.items():
                for item in items.values():
                    invoke(functions[rule_id], events.change_event(item, rule_id, rule_parameters=parameters))
            # ...and, later, on schedule: by then one project is gone, and the sweeps notice.
            codebuild.delete_project(name="retired-builder")
            print("Deleted retired-builder; the next periodic sweep marks it NOT_APPLICABLE.\n")
            for rule_id, parameters in RULES.items():
                invoke(functions[rule_id], events.scheduled_event(rule_id, rule_parameters=parameters))
        finally:
            for function in functions.values():
                function.stop()

        for rule_id, parameters in RULES.items():
            print(f"{rule_id}" + (f"  (parameters: {json.dumps(parameters)})" if parameters else ""))
            for resource_id, (state, annotation) in sorted(compliance(config, rule_id).items(), key=lambda r: names[r[0]]):
                lines = textwrap.wrap(annotation, 78) or [""]
                print(f"  {names[resource_id]:<22} {state:<15} {lines[0]}")
                for line in lines[1:]:
                    print(f"  {'':<22} {'':<15} {line}")
            print()

        summary = config.describe_compliance_by_config_rule(ConfigRuleNames=list(RULES))["ComplianceByConfigRules"]
        print("Config dashboard (DescribeComplianceByConfigRule):")
        for rule in summary:
            count = rule["Compliance"].get("ComplianceContributorCount", {}).get("CappedCount")
            detail = f" (non-compliant resources: {count})" if count else ""
            print(f"  {rule['ConfigRuleName']:<45} {rule['Compliance']['ComplianceType']}{detail}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuleFailed as failure:
        print(f"demo: {failure}", file=sys.stderr)
        sys.exit(1)
