"""Canary secrets across every output.

One account is seeded with a distinct, made-up secret in every place a CodeBuild project, a report
group or a pipeline can hold one, and a CloudFormation template carries the same kinds. Then
everything that reads them runs: every catalog rule through its Lambda binary (a change event for
each resource of its type, the project's item as Config may record it with masked values, an
oversized event for each, a scheduled sweep), `pipesec evaluate` against the account and on a
snapshot of it and `pipesec scan-template` on the template, in every format (standard output,
standard error and the files written), the Security Hub function on the compliance changes of the
run, the CloudFormation hook on the resources as a stack would create them, and both demos. No canary may appear in any of their outputs, logs or annotations: verbatim,
URL-encoded, in base64 or hex, or as a run of 14 of its characters. Failure messages name a canary
by its label, never its value.

Which canaries the secret detector recognises is part of the seed and is checked: most it should
(the rules are then NON_COMPLIANT, and the tests check that they are, so a run that reads nothing
cannot pass), some no rule looks at (buildspecs, tags, descriptions) or the
detector cannot tell from settings (a hex digest-like value or a short word under an innocuous
name: the limits stated in `rules/src/secrets.rs`). Recognised or not, no value may be echoed.

PARAMETER_STORE and SECRETS_MANAGER variables are seeded too, but their values are references (a
parameter name, a secret id), not secrets: AWS shows them to anyone who can read the project, and a
report may name them. They are not canaries; the tests check instead that no rule reports them as
plaintext secrets.

The three tests at the end of the module are regression tests for leaks: a one-line inline
buildspec quoted by codebuild-project-buildspec-protected, a secret in a field of the wrong type
quoted by the parse error, and whole events and response bodies logged by the Lambda runtime and
the SDK at TRACE.

PYTEST_DONT_REWRITE: pytest's assertion rewriting would show the compared values on failure, and
those may hold a canary; assertions here say what failed themselves, through `redact`.
"""

import base64
import copy
import json
import os
import random
import string
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit

import boto3
import pytest
from botocore.config import Config

import demo as python_demo
from conftest import BIN_DIR, REGION, REPO
from testbed import demo_account, events, seed
from testbed.config_items import CODEBUILD_PROJECT, CODEBUILD_REPORT_GROUP, CODEPIPELINE_PIPELINE
from testbed.lambda_runtime import LambdaFunction
from testbed.results import compliance
from testbed.tokens import TESTMODE

TESTS = Path(__file__).resolve().parent
PIPESEC = BIN_DIR / "pipesec"
SECURITY_HUB = "pipesec-securityhub"
HOOK = "pipesec-hook"
FORMATS = ("table", "json", "sarif", "asff", "html")
ACCOUNT_ID = "123456789012"
PROJECT_SECRETS = "codebuild-project-no-plaintext-secrets"
PIPELINE_SECRETS = "codepipeline-no-plaintext-secrets"
SOURCE_CREDENTIALS = "codebuild-project-source-no-credentials"
BUILDSPEC = "codebuild-project-buildspec-protected"

ALNUM = string.ascii_letters + string.digits
BASE32 = string.ascii_uppercase + "234567"
HEX = "0123456789abcdef"


def _draw(label: str, alphabet: str, length: int) -> str:
    """Random-looking characters, the same on every run (seeded by `label`), different per label."""
    rng = random.Random(f"pipesec-canary/{label}")
    return "".join(rng.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class Canary:
    label: str  # what failure messages show
    value: str = field(repr=False)  # the secret; never printed
    recognised: bool  # whether a rule's secret detection finds it where it is seeded


def _canaries(*specs) -> dict[str, Canary]:
    return {label: Canary(label, value, recognised) for label, value, recognised in specs}


def _slack(label: str) -> str:
    return f"xoxb-{_draw(label, string.digits, 12)}-{_draw(label + '/2', ALNUM, 24)}"


# The account's canaries: project `canary-build`, report group `canary-reports`, pipeline
# `canary-pipeline`.
ACCOUNT_CANARIES = _canaries(
    # PLAINTEXT environment variables of the project.
    ("project env AWS_ACCESS_KEY_ID", "AKIA" + _draw("aws-key-id", BASE32, 16), True),
    ("project env AWS_SECRET_ACCESS_KEY", _draw("aws-secret", ALNUM + "+/", 40), True),
    ("project env GITHUB_TOKEN", "ghp_" + _draw("github-token", ALNUM, 36), True),
    ("project env DB_PASSWORD", "Pw-" + _draw("db-password", ALNUM, 21), True),
    ("project env DATABASE_URL password", _draw("database-url", ALNUM, 24), True),
    ("project env MSSQL_CONNECTION password", _draw("connection-string", ALNUM, 24), True),
    ("project env random value under BUILD_SALT", _draw("build-salt", ALNUM, 32), True),
    ("project env hex value under SMS_CONFIG", _draw("sms-config", HEX, 40), False),
    ("project env short value under RELEASE_CODENAME", "kq7-" + _draw("codename", string.ascii_lowercase, 13),
     False),
    # Sources: credentials in URLs, secrets in inline buildspecs (no rule reads buildspec contents).
    ("project source URL password", _draw("source-password", ALNUM, 24), True),
    ("secondary source URL token as user name", "ghp_" + _draw("secondary-token", ALNUM, 36), True),
    ("inline buildspec npm token", "npm_" + _draw("buildspec-npm", ALNUM, 36), False),
    ("inline buildspec curl password", _draw("buildspec-curl", ALNUM, 24), False),
    ("secondary source inline buildspec Slack token", _slack("secondary-buildspec"), False),
    # Metadata.
    ("project description", _draw("project-description", ALNUM, 28), False),
    ("project tag value", _draw("project-tag", ALNUM, 28), False),
    ("report group tag value", _draw("report-group-tag", ALNUM, 28), False),
    ("report group export path", _draw("report-group-path", ALNUM, 28), False),
    # The pipeline. Config records the OAuthToken masked, as GetPipeline shows it.
    ("pipeline GitHub v1 OAuthToken", "ghp_" + _draw("oauth-token", ALNUM, 36), False),
    ("pipeline build action env DOCKERHUB_PASSWORD", _draw("action-dockerhub", ALNUM, 26), True),
    ("pipeline build action env SLACK_BOT_TOKEN", _slack("action-slack"), True),
    ("pipeline CloudFormation ParameterOverrides DbPassword", _draw("overrides-password", ALNUM, 26), True),
    ("pipeline Lambda action UserParameters token", _draw("user-parameters", ALNUM, 30), True),
    ("pipeline variable default", "glpat-" + _draw("variable-default", ALNUM, 20), True),
    ("pipeline variable description", _draw("variable-description", ALNUM, 28), False),
    ("pipeline tag value", _draw("pipeline-tag", ALNUM, 28), False),
)

# The template's canaries: the same kinds with other values, so that a leak says which input it came
# from.
TEMPLATE_CANARIES = _canaries(
    ("template env GITHUB_TOKEN", "ghp_" + _draw("t-github-token", ALNUM, 36), True),
    ("template env AWS_SECRET_ACCESS_KEY", _draw("t-aws-secret", ALNUM + "+/", 40), True),
    ("template env DATABASE_URL password", _draw("t-database-url", ALNUM, 24), True),
    ("template NoEcho parameter default, as DB_PASSWORD", "Pw-" + _draw("t-noecho", ALNUM, 21), True),
    ("template !Sub literal password in GIT_REMOTE", _draw("t-sub-password", ALNUM, 24), True),
    ("template env hex value under SMS_CONFIG", _draw("t-sms-config", HEX, 40), False),
    ("template source URL password", _draw("t-source-password", ALNUM, 24), True),
    ("template secondary source URL token as user name", "ghp_" + _draw("t-secondary-token", ALNUM, 36), True),
    ("template inline buildspec npm token", "npm_" + _draw("t-buildspec-npm", ALNUM, 36), False),
    ("template project description", _draw("t-description", ALNUM, 28), False),
    ("template project tag value", _draw("t-project-tag", ALNUM, 28), False),
    ("template report group tag value", _draw("t-report-tag", ALNUM, 28), False),
    # Not masked in a template: the pipeline secrets rule judges it.
    ("template pipeline GitHub v1 OAuthToken", "ghp_" + _draw("t-oauth", ALNUM, 36), True),
    ("template pipeline build action env NPM_TOKEN", "npm_" + _draw("t-action-npm", ALNUM, 36), True),
    ("template pipeline ParameterOverrides DbPassword", _draw("t-overrides", ALNUM, 26), True),
    ("template pipeline variable default", "glpat-" + _draw("t-variable", ALNUM, 20), True),
    ("template pipeline tag value", _draw("t-pipeline-tag", ALNUM, 28), False),
)

ALL_CANARIES = {**ACCOUNT_CANARIES, **TEMPLATE_CANARIES}


def secret(label: str) -> str:
    """The secret value of the canary labelled `label`."""
    return ALL_CANARIES[label].value


def _demo_canaries() -> dict[str, Canary]:
    """The demos seed accounts of their own, with secret-looking values of their own: those are
    their canaries (the PLAINTEXT secrets by name, and the password of a source URL)."""
    secret_names = {"DB_PASSWORD", "GITHUB_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    found = {}
    for project, (_, variables, overrides, _) in demo_account.PROJECTS.items():
        for name, value, kind in variables:
            if kind == "PLAINTEXT" and name in secret_names:
                found[f"pipesec demo: {project} env {name}"] = value
        location = (overrides.get("source") or {}).get("location", "")
        if urlsplit(location).password:
            found[f"pipesec demo: {project} source URL password"] = urlsplit(location).password
    for project, _, variables in python_demo.PROJECTS:
        for name, value, kind in variables:
            if kind == "PLAINTEXT" and name in secret_names:
                found[f"scripts/demo: {project} env {name}"] = value
    labels: dict[str, list[str]] = {}  # the demos share some values: one canary, every place named
    for label, value in found.items():
        labels.setdefault(value, []).append(label)
    return {" & ".join(names): Canary(" & ".join(names), value, True) for value, names in labels.items()}


DEMO_CANARIES = _demo_canaries()

# The canary of test_a_one_line_inline_buildspec_is_never_quoted: apart, so the other tests stay exact.
FLOW_BUILDSPEC = Canary("one-line inline buildspec deploy key", "ghp_" + _draw("flow-buildspec", ALNUM, 36), True)
# The canary of test_a_secret_in_a_wrong_typed_field_is_never_repeated: a value where another type is
# expected, which parse errors used to quote.
WRONG_TYPE = Canary("secret in a wrong-typed field", "ghp_" + _draw("wrong-type", ALNUM, 36), True)


# --- finding canaries in text ----------------------------------------------------------------------

# Runs of WINDOW characters, every STEP characters: any run of WINDOW + STEP - 1 characters of a
# canary (a truncated or partly masked echo) contains one of them.
WINDOW, STEP = 10, 5


def _base64_forms(data: bytes) -> set[str]:
    """The base64 text that any encoding of a stream containing `data` contains, at each of the 3
    alignments (standard and URL-safe alphabets; the partial groups at both ends left out)."""
    forms = set()
    for start in range(3):
        chunk = data[start:]
        chunk = chunk[: len(chunk) // 3 * 3]
        forms.add(base64.b64encode(chunk).decode())
        forms.add(base64.urlsafe_b64encode(chunk).decode())
    return forms


def forms_of(value: str) -> dict[str, str]:
    """{needle: form name}: the value verbatim, encoded, and runs of it."""
    forms = {}
    for start in range(0, max(1, len(value) - WINDOW + 1), STEP):
        forms[value[start:start + WINDOW]] = f"a run of {WINDOW}+ characters"
    for needle in _base64_forms(value.encode()):
        forms[needle] = "base64"
    forms[value.encode().hex()] = "hex"
    forms[value.encode().hex().upper()] = "hex"
    forms[quote(value, safe="")] = "URL-encoded"
    forms[quote_plus(value, safe="")] = "URL-encoded"
    forms[value] = "verbatim"
    return forms


_NEEDLES: dict[str, dict[str, str]] = {}


def found_canaries(outputs: dict[str, str], canaries: dict[str, Canary] = ALL_CANARIES) -> list[tuple]:
    """(label, where, forms) for every canary found in `outputs` ({where: text})."""
    found = []
    for label, canary in canaries.items():
        needles = _NEEDLES.setdefault(canary.value, forms_of(canary.value))
        for where, text in outputs.items():
            forms = sorted({form for needle, form in needles.items() if needle in text})
            if forms:
                found.append((label, where, forms))
    return found


def redact(text: str) -> str:
    """`text` with every canary, in any form, replaced by its label: safe in a failure message."""
    others = {FLOW_BUILDSPEC.label: FLOW_BUILDSPEC, WRONG_TYPE.label: WRONG_TYPE}
    for label, canary in {**ALL_CANARIES, **DEMO_CANARIES, **others}.items():
        needles = _NEEDLES.setdefault(canary.value, forms_of(canary.value))
        for needle in sorted(needles, key=len, reverse=True):
            text = text.replace(needle, f"<canary: {label}>")
    return text


def assert_no_canary(outputs: dict[str, str], canaries: dict[str, Canary] = ALL_CANARIES) -> None:
    """Fails naming each leaked canary's label, the form and where; never the value."""
    __tracebackhide__ = True  # pytest would show the arguments: outputs and canaries
    assert outputs, "nothing to look at"
    assert all(isinstance(text, str) for text in outputs.values()), "outputs are text"
    found = [f"{label} ({', '.join(forms)}) in {where}" for label, where, forms in found_canaries(outputs, canaries)]
    assert not found, f"{len(found)} canary leak(s):\n" + "\n".join(found)


def test_the_leak_finder_finds_every_form_of_a_canary():
    """The finder itself: each form it looks for is found, a shorter run is not."""
    label = "project env AWS_SECRET_ACCESS_KEY"  # holds `+` or `/`: URL encoding changes it
    value = secret(label)
    assert quote(value, safe="") != value, f"{label} is changed by URL encoding"
    shown = {
        "verbatim": f"x{value}y",
        "URL-encoded": "https://example.com/?k=" + quote(value, safe=""),
        "base64": base64.b64encode(b"key=" + value.encode()).decode(),
        "hex": value.encode().hex(),
        f"a run of {WINDOW}+ characters": "shown as " + value[7:7 + WINDOW + STEP - 1] + "...",
    }
    for form, text in shown.items():
        [(found_label, where, forms)] = found_canaries({"probe": text})
        assert (found_label, where) == (label, "probe") and form in forms, f"{form} not found: {forms}"
    assert found_canaries({"probe": "shown as " + value[7:7 + WINDOW - 1] + "..."}) == [], "a short run is no leak"
    with pytest.raises(AssertionError) as failure:
        assert_no_canary({"probe": value})
    assert label in str(failure.value) and value not in str(failure.value), "the failure names the label only"
    assert redact(f"a {value} b") == f"a <canary: {label}> b", "redact replaces the value by its label"
    values = [canary.value for canary in [*ALL_CANARIES.values(), *DEMO_CANARIES.values(), FLOW_BUILDSPEC]]
    assert len(set(values)) == len(values), "canaries are unique"


# --- the seeded account ------------------------------------------------------------------------------

PROJECT, REPORT_GROUP, PIPELINE = "canary-build", "canary-reports", "canary-pipeline"
# PARAMETER_STORE / SECRETS_MANAGER variables: references, not secrets (see the module docstring).
REFERENCES = [("API_TOKEN", "/canary-build/api-token", "PARAMETER_STORE"),
              ("DB_MASTER_PASSWORD", "prod/canary-build/db:password", "SECRETS_MANAGER")]
# The project's PLAINTEXT variables that hold a canary: name -> (value around it, label).
PROJECT_VARIABLES = {
    "AWS_ACCESS_KEY_ID": ("{}", "project env AWS_ACCESS_KEY_ID"),
    "AWS_SECRET_ACCESS_KEY": ("{}", "project env AWS_SECRET_ACCESS_KEY"),
    "GITHUB_TOKEN": ("{}", "project env GITHUB_TOKEN"),
    "DB_PASSWORD": ("{}", "project env DB_PASSWORD"),
    "DATABASE_URL": ("postgres://app:{}@db.internal:5432/app", "project env DATABASE_URL password"),
    "MSSQL_CONNECTION": ("Server=db.internal;Database=app;User Id=app;Password={};",
                         "project env MSSQL_CONNECTION password"),
    "BUILD_SALT": ("{}", "project env random value under BUILD_SALT"),
    "SMS_CONFIG": ("{}", "project env hex value under SMS_CONFIG"),
    "RELEASE_CODENAME": ("{}", "project env short value under RELEASE_CODENAME"),
}
# The pipeline's variables and settings that hold a canary, by the name `allowedVariableNames` takes.
PIPELINE_NAMES = {
    "DOCKERHUB_PASSWORD": "pipeline build action env DOCKERHUB_PASSWORD",
    "SLACK_BOT_TOKEN": "pipeline build action env SLACK_BOT_TOKEN",
    "DbPassword": "pipeline CloudFormation ParameterOverrides DbPassword",
    "UserParameters": "pipeline Lambda action UserParameters token",
    "DEPLOY_TOKEN": "pipeline variable default",
}
# Canaries in source locations: found by the source rule, not by a name.
SOURCE_CANARIES = {"project source URL password": "the primary source",
                   "secondary source URL token as user name": "secondary source `tools`"}


def _lines(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def seed_account(clients) -> None:
    """The canary account: every canary of `ACCOUNT_CANARIES`, plus the references."""
    iam, codebuild, codepipeline = clients("iam"), clients("codebuild"), clients("codepipeline")
    role = seed.create_role(iam)["Arn"]
    pipeline_role = seed.create_pipeline_role(iam)["Arn"]
    variables = [(name, around.format(secret(label)), "PLAINTEXT")
                 for name, (around, label) in PROJECT_VARIABLES.items()]
    seed.create_project(
        codebuild, PROJECT, role, variables=[("NODE_ENV", "production", "PLAINTEXT"), *variables, *REFERENCES],
        description=f"Release builder. Break-glass admin password: {secret('project description')}",
        source={
            "type": "GITHUB_ENTERPRISE",
            "location": f"https://deploy:{secret('project source URL password')}@git.example.com/team/app.git",
            "buildspec": _lines(
                "version: 0.2", "env:", "  variables:", f"    NPM_TOKEN: {secret('inline buildspec npm token')}",
                "phases:", "  build:", "    commands:",
                f"      - curl -u ci:{secret('inline buildspec curl password')} https://artifacts.example.com/upload",
            ),
        },
        secondarySources=[{
            "type": "GITHUB", "sourceIdentifier": "tools",
            "location": f"https://{secret('secondary source URL token as user name')}@github.com/example/tools.git",
            "buildspec": _lines(
                "version: 0.2", "phases:", "  build:", "    commands:",
                f"      - SLACK_TOKEN={secret('secondary source inline buildspec Slack token')} ./notify.sh",
            ),
        }],
        tags=[{"key": "team", "value": "platform"},
              {"key": "break-glass-password", "value": secret("project tag value")}],
    )
    seed.create_report_group(
        codebuild, REPORT_GROUP,
        {"exportConfigType": "S3", "s3Destination": {
            "bucket": "build-reports", "path": f"reports/{secret('report group export path')}", "packaging": "ZIP",
            "encryptionDisabled": True}},
        tags=[{"key": "upload-token", "value": secret("report group tag value")}],
    )
    source, build, deploy = seed.default_pipeline_stages(PIPELINE, PROJECT)
    source["actions"][0] = {
        "name": "GitHub", "runOrder": 1, "outputArtifacts": [{"name": "SourceOutput"}],
        "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
        "configuration": {"Owner": "example", "Repo": "app", "Branch": "main",
                          "OAuthToken": secret("pipeline GitHub v1 OAuthToken")},
    }
    build["actions"][0]["configuration"]["EnvironmentVariables"] = json.dumps([
        {"name": "STAGE", "value": "prod", "type": "PLAINTEXT"},
        {"name": "DOCKERHUB_PASSWORD", "value": secret("pipeline build action env DOCKERHUB_PASSWORD"),
         "type": "PLAINTEXT"},
        {"name": "SLACK_BOT_TOKEN", "value": secret("pipeline build action env SLACK_BOT_TOKEN"), "type": "PLAINTEXT"},
        {"name": "NPM_TOKEN", "value": "/canary-pipeline/npm-token", "type": "PARAMETER_STORE"},
    ])
    deploy["actions"][0]["configuration"]["ParameterOverrides"] = json.dumps(
        {"Stage": "prod", "DbPassword": secret("pipeline CloudFormation ParameterOverrides DbPassword")})
    deploy["actions"].append({
        "name": "Notify", "runOrder": 2,
        "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "Lambda", "version": "1"},
        "configuration": {
            "FunctionName": "release-notifier",
            "UserParameters": f"--channel releases --token {secret('pipeline Lambda action UserParameters token')}",
        },
    })
    codepipeline.create_pipeline(
        pipeline={
            "name": PIPELINE, "roleArn": pipeline_role, "stages": [source, build, deploy],
            "artifactStore": {"type": "S3", "location": f"{PIPELINE}-artifacts"}, "pipelineType": "V2",
            "variables": [{"name": "DEPLOY_TOKEN", "defaultValue": secret("pipeline variable default"),
                           "description": f"rotate with key {secret('pipeline variable description')}"}],
        },
        tags=[{"key": "oncall-api-key", "value": secret("pipeline tag value")}],
    )


def _client_factory(url: str):
    def client(service: str):
        return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing",
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    return client


class Quiet:
    """Fixture values hold canaries, and pytest shows a failing test's arguments: not these."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: not shown, may hold canaries>"


@dataclass(repr=False)
class Account(Quiet):
    clients: object  # clients("config") -> a boto3 client for the emulator
    url: str
    items: dict[str, dict]  # resource name -> the event-model item Config recorded


@pytest.fixture(scope="module")
def account(emulator_process) -> Account:
    """The canary account, seeded once for the module: the rules' evaluations and the findings of
    one test are what the next ones read. Tests here do not use the `emulator` fixture (it resets)."""
    emulator_process.reset()
    clients = _client_factory(emulator_process.url)
    seed_account(clients)
    config = clients("config")
    items = {
        PROJECT: seed.recorded_item(config, PROJECT, CODEBUILD_PROJECT),
        REPORT_GROUP: seed.recorded_item(config, REPORT_GROUP, CODEBUILD_REPORT_GROUP),
        PIPELINE: seed.recorded_item(config, PIPELINE, CODEPIPELINE_PIPELINE),
    }
    return Account(clients, emulator_process.url, items)


def _masked(item: dict) -> dict:
    """The project's item as Config may record it, PLAINTEXT values masked: rules that need the
    values read the live project."""
    masked = copy.deepcopy(item)
    for variable in masked["configuration"]["environment"]["environmentVariables"]:
        if variable["type"] == "PLAINTEXT":
            variable["value"] = "******"
    return masked



# --- the template ----------------------------------------------------------------------------------------

TEMPLATE = f"""\
# pipesec canary template: every value below that looks like a secret is made up.
AWSTemplateFormatVersion: "2010-09-09"
Description: canary pipeline
Parameters:
  DeployPassword:
    Type: String
    NoEcho: true
    Default: {secret("template NoEcho parameter default, as DB_PASSWORD")}
  GitHost:
    Type: String
Resources:
  BuildRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{Service: codebuild.amazonaws.com}}
            Action: sts:AssumeRole
  PipelineRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{Service: codepipeline.amazonaws.com}}
            Action: sts:AssumeRole
  CanaryBuild:
    Type: AWS::CodeBuild::Project
    Properties:
      Name: template-canary-build
      Description: "Release builder. Break-glass admin password: {secret("template project description")}"
      ServiceRole: !GetAtt BuildRole.Arn
      Source:
        Type: GITHUB_ENTERPRISE
        Location: https://deploy:{secret("template source URL password")}@git.example.com/team/app.git
        BuildSpec: |
          version: 0.2
          env:
            variables:
              NPM_TOKEN: {secret("template inline buildspec npm token")}
          phases:
            build:
              commands:
                - npm publish
      SecondarySources:
        - Type: GITHUB
          SourceIdentifier: tools
          Location: https://{secret("template secondary source URL token as user name")}@github.com/example/tools.git
      Artifacts:
        Type: NO_ARTIFACTS
      Environment:
        Type: LINUX_CONTAINER
        ComputeType: BUILD_GENERAL1_SMALL
        Image: aws/codebuild/standard:7.0
        EnvironmentVariables:
          - Name: GITHUB_TOKEN
            Value: {secret("template env GITHUB_TOKEN")}
          - Name: AWS_SECRET_ACCESS_KEY
            Value: {secret("template env AWS_SECRET_ACCESS_KEY")}
          - Name: DATABASE_URL
            Value: postgres://app:{secret("template env DATABASE_URL password")}@db.internal:5432/app
          - Name: DB_PASSWORD
            Value: !Ref DeployPassword
          - Name: GIT_REMOTE
            Value: !Sub "https://ci:{secret("template !Sub literal password in GIT_REMOTE")}@${{GitHost}}/app.git"
          - Name: SMS_CONFIG
            Value: {secret("template env hex value under SMS_CONFIG")}
          - Name: API_TOKEN
            Type: PARAMETER_STORE
            Value: /template-canary-build/api-token
      Tags:
        - Key: break-glass-password
          Value: {secret("template project tag value")}
  CanaryReports:
    Type: AWS::CodeBuild::ReportGroup
    Properties:
      Name: template-canary-reports
      Type: TEST
      ExportConfig:
        ExportConfigType: S3
        S3Destination:
          Bucket: build-reports
          EncryptionDisabled: true
      Tags:
        - Key: upload-token
          Value: {secret("template report group tag value")}
  CanaryPipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: template-canary-pipeline
      RoleArn: !GetAtt PipelineRole.Arn
      PipelineType: V2
      Variables:
        - Name: DEPLOY_TOKEN
          DefaultValue: {secret("template pipeline variable default")}
      ArtifactStore:
        Type: S3
        Location: template-canary-artifacts
      Stages:
        - Name: Source
          Actions:
            - Name: GitHub
              ActionTypeId: {{Category: Source, Owner: ThirdParty, Provider: GitHub, Version: "1"}}
              Configuration:
                Owner: example
                Repo: app
                Branch: main
                OAuthToken: {secret("template pipeline GitHub v1 OAuthToken")}
              OutputArtifacts: [{{Name: SourceOutput}}]
        - Name: Build
          Actions:
            - Name: Build
              ActionTypeId: {{Category: Build, Owner: AWS, Provider: CodeBuild, Version: "1"}}
              Configuration:
                ProjectName: template-canary-build
                EnvironmentVariables:
                  - name: NPM_TOKEN
                    value: {secret("template pipeline build action env NPM_TOKEN")}
                    type: PLAINTEXT
              InputArtifacts: [{{Name: SourceOutput}}]
              OutputArtifacts: [{{Name: BuildOutput}}]
        - Name: Deploy
          Actions:
            - Name: Deploy
              ActionTypeId: {{Category: Deploy, Owner: AWS, Provider: CloudFormation, Version: "1"}}
              Configuration:
                ActionMode: CREATE_UPDATE
                StackName: app
                TemplatePath: BuildOutput::packaged.yaml
                ParameterOverrides:
                  DbPassword: {secret("template pipeline ParameterOverrides DbPassword")}
              InputArtifacts: [{{Name: BuildOutput}}]
      Tags:
        - Key: oncall-api-key
          Value: {secret("template pipeline tag value")}
"""


# --- the rules, through their Lambda binaries ----------------------------------------------------------

# DEBUG, so that the logs checked hold every line an operator can turn on short of TRACE (INFO's
# lines are a subset). TRACE: see test_trace_logs_hold_no_canary.
LOG_LEVEL = "DEBUG"


def _stop_all(functions: list[LambdaFunction]) -> None:
    """Stops the functions in parallel (each Runtime API server takes up to 0.5 s to shut down),
    then waits for their output to be drained, so that `logs` is complete."""
    with ThreadPoolExecutor(max_workers=max(1, len(functions))) as pool:
        list(pool.map(LambdaFunction.stop, functions))
    for function in functions:
        function._drain_thread.join(timeout=5)  # the harness has no public wait for it


def _invoke(function: LambdaFunction, event: dict):
    """`function.invoke(event)`; the harness's errors quote the function's output, so they are redacted."""
    __tracebackhide__ = True  # the event holds canaries
    try:
        return function.invoke(event)
    except (TimeoutError, RuntimeError) as error:  # LambdaProcessExited is a RuntimeError
        raise RuntimeError(redact(str(error))) from None


@dataclass(repr=False)
class RuleRun(Quiet):
    logs: dict[str, str]  # rule id -> the function's output
    answers: dict[str, str]  # rule id -> every invocation's response or error, one JSON line each
    failures: list[str]  # `rule: error type: message` of the invocations that failed
    results: dict[str, dict[str, tuple[str, str]]]  # rule id -> {resource id: (compliance, annotation)}


# Opt-in rules, turned on so that they read and judge like the others.
OPT_IN_PARAMETERS = {"codebuild-project-build-log-indicators": {"scanLogs": "true"}}


@pytest.fixture(scope="module")
def rule_run(account, catalog) -> RuleRun:
    """Every catalog rule through its Lambda binary, as Config invokes it under the pack's rule
    name: a change event for each resource of its type (for projects also with masked values), an
    oversized event for each, then a scheduled sweep. Results are read back through Config's API."""
    rules = list(catalog.rules)
    missing = [rule.id for rule in rules if not (BIN_DIR / rule.id).exists()]
    if missing:
        pytest.fail(f"rule binaries missing in {BIN_DIR}: {missing} (cargo build --bins)")
    functions = {rule.id: LambdaFunction(BIN_DIR / rule.id, rule.id, {
        "AWS_ENDPOINT_URL": account.url, "AWS_LAMBDA_LOG_LEVEL": LOG_LEVEL}).start() for rule in rules}
    run = RuleRun({}, {}, [], {})
    try:
        for rule in rules:
            name = rule.config_rule_name
            batch = []
            params = OPT_IN_PARAMETERS.get(rule.id, {})
            for item in account.items.values():
                if item["resourceType"] != rule.resource_type:
                    continue
                batch.append(events.change_event(item, name, rule_parameters=params))
                if rule.resource_type == CODEBUILD_PROJECT:
                    batch.append(events.change_event(_masked(item), name, rule_parameters=params))
                batch.append(events.oversized_event(item, name, rule_parameters=params))
            batch.append(events.scheduled_event(name, rule_parameters=params))
            answers = []
            for event in batch:
                result = _invoke(functions[rule.id], event)
                answers.append(json.dumps({"ok": result.ok, "payload": result.payload,
                                           "errorType": result.error_type, "errorMessage": result.error_message}))
                if not result.ok:
                    run.failures.append(f"{rule.id}: {result.error_type}: {result.error_message}")
            run.answers[rule.id] = "\n".join(answers)
    finally:
        _stop_all(list(functions.values()))
    config = account.clients("config")
    for rule in rules:
        run.logs[rule.id] = "\n".join(functions[rule.id].logs)
        run.results[rule.id] = compliance(config, rule.config_rule_name)
    return run


def _verdict(account, rule_run, rule_id, resource_name) -> tuple[str, str]:
    return rule_run.results[rule_id][account.items[resource_name]["resourceId"]]


def test_every_canary_is_in_the_account_and_the_template(account):
    """A canary that is not where it is said to be cannot leak: each one is in what Config recorded
    or what CodeBuild and CodePipeline serve (the OAuthToken only there: Config masks it)."""
    codebuild, codepipeline = account.clients("codebuild"), account.clients("codepipeline")
    served = json.dumps([
        account.items,
        codebuild.batch_get_projects(names=[PROJECT])["projects"],
        codebuild.batch_get_report_groups(reportGroupArns=[account.items[REPORT_GROUP]["ARN"]])["reportGroups"],
        codepipeline.get_pipeline(name=PIPELINE)["pipeline"],
        codepipeline.list_tags_for_resource(resourceArn=account.items[PIPELINE]["ARN"])["tags"],
    ], default=str)
    missing = [label for label, canary in ACCOUNT_CANARIES.items() if canary.value not in served]
    assert not missing, f"not in the account: {missing}"
    missing = [label for label, canary in TEMPLATE_CANARIES.items() if canary.value not in TEMPLATE]
    assert not missing, f"not in the template: {missing}"
    recorded = json.dumps(account.items)
    assert secret("pipeline GitHub v1 OAuthToken") not in recorded, "Config records the OAuthToken masked"
    assert secret("project env GITHUB_TOKEN") in recorded, "Config's items carry the PLAINTEXT values"


def test_every_rule_evaluated_every_resource_of_its_type_without_error(account, rule_run, catalog):
    """The run really ran: no invocation failed and each rule has a verdict in Config for each
    resource of its type."""
    assert not rule_run.failures, redact("\n".join(rule_run.failures))
    for rule in catalog.rules:
        expected = {item["resourceId"] for item in account.items.values() if item["resourceType"] == rule.resource_type}
        found = rule_run.results[rule.id]
        assert set(found) == expected, f"{rule.id}: results for {sorted(found)}, expected {sorted(expected)}"
        states = sorted({state for state, _ in found.values()})
        assert set(states) <= {"COMPLIANT", "NON_COMPLIANT"}, f"{rule.id}: {states}"
    assert '"evaluation reported"' in rule_run.logs[PROJECT_SECRETS], "the logs were collected"


def test_the_rules_find_the_seeded_secrets(account, rule_run):
    """The canaries are where the rules look: the secrets rules, the source rule, the GitHub
    version 1 source and the unencrypted report export are NON_COMPLIANT, and the references are not
    reported."""
    def verdict(rule_id, resource):
        state, annotation = _verdict(account, rule_run, rule_id, resource)
        return state, annotation, redact(f"{rule_id} on {resource}: {state}: {annotation}")

    state, annotation, shown = verdict(PROJECT_SECRETS, PROJECT)
    assert state == "NON_COMPLIANT" and "`AWS_ACCESS_KEY_ID`" in annotation, shown
    assert "API_TOKEN" not in annotation and "DB_MASTER_PASSWORD" not in annotation, "references are no secrets"
    state, annotation, shown = verdict(SOURCE_CREDENTIALS, PROJECT)
    assert state == "NON_COMPLIANT" and all(where in annotation for where in SOURCE_CANARIES.values()), shown
    state, annotation, shown = verdict(PIPELINE_SECRETS, PIPELINE)
    assert state == "NON_COMPLIANT" and "`DOCKERHUB_PASSWORD`" in annotation and "NPM_TOKEN" not in annotation, shown
    for rule_id, resource in (("codepipeline-source-authenticated", PIPELINE),
                              ("codebuild-report-group-export-encrypted", REPORT_GROUP)):
        state, _, shown = verdict(rule_id, resource)
        assert state == "NON_COMPLIANT", shown
    state, annotation, shown = verdict(BUILDSPEC, PROJECT)
    assert (state, annotation) == ("COMPLIANT", "the buildspec is inline in the project"), shown


def _reported(function, item, rule_id, allowed: list[str]) -> int:
    """How many resources the rule finds NON_COMPLIANT with `allowed` as allowedVariableNames, in
    test mode (nothing is stored)."""
    __tracebackhide__ = True  # the item holds canaries
    event = events.change_event(item, rule_id, rule_parameters={"allowedVariableNames": ",".join(allowed)},
                                result_token=TESTMODE)
    result = _invoke(function, event)
    assert result.ok, redact(f"{rule_id}: {result.error_type}: {result.error_message}")
    return result.payload["nonCompliant"]


def test_the_detector_recognises_exactly_the_canaries_said_to_be_recognised(account):
    """Annotations are cut at 256 characters, so each variable is judged alone: with every other
    canary's name allowed (`allowedVariableNames`), the secrets rules report the resource exactly
    when that canary is recognised. With all of them allowed, nothing else is reported: not the
    references, not the ordinary settings."""
    recognised = {}
    checks = ((PROJECT_SECRETS, PROJECT, {name: label for name, (_, label) in PROJECT_VARIABLES.items()}),
              (PIPELINE_SECRETS, PIPELINE, PIPELINE_NAMES))
    functions = []
    try:
        for rule_id, resource, names in checks:
            function = LambdaFunction(BIN_DIR / rule_id, rule_id, {"AWS_ENDPOINT_URL": account.url}).start()
            functions.append(function)
            item = account.items[resource]
            assert _reported(function, item, rule_id, list(names)) == 0, f"{rule_id} reports something else"
            for name, label in names.items():
                recognised[label] = _reported(function, item, rule_id, [other for other in names if other != name]) == 1
    finally:
        _stop_all(functions)
    assert_no_canary({f"{function.name} function logs (allowedVariableNames runs)": "\n".join(function.logs)
                      for function in functions})
    recognised.update(dict.fromkeys(SOURCE_CANARIES, True))  # see test_the_rules_find_the_seeded_secrets
    expected = {label: canary.recognised for label, canary in ACCOUNT_CANARIES.items() if label in recognised}
    wrong = sorted(label for label in recognised if recognised[label] != expected[label])
    assert not wrong, f"recognised other than said: {wrong}"
    unchecked = sorted({label for label, canary in ACCOUNT_CANARIES.items() if canary.recognised} - set(recognised))
    assert not unchecked, f"said to be recognised but not checked: {unchecked}"
    assert not all(expected.values()), "some canaries are not recognised by design"


def test_no_canary_in_rule_logs_responses_or_annotations(rule_run):
    """What each rule function printed (at DEBUG), answered, and stored in Config."""
    outputs = {}
    for rule_id in rule_run.logs:
        outputs[f"{rule_id} function logs"] = rule_run.logs[rule_id]
        outputs[f"{rule_id} invocation responses and errors"] = rule_run.answers[rule_id]
        outputs[f"{rule_id} annotations (GetComplianceDetailsByConfigRule)"] = json.dumps(rule_run.results[rule_id])
    assert_no_canary(outputs)


# --- the command line ----------------------------------------------------------------------------------


def pipesec(*args, timeout=240) -> subprocess.CompletedProcess:
    """Runs the CLI with dummy credentials (no credential chain, no instance metadata)."""
    if not PIPESEC.exists():
        pytest.fail(f"{PIPESEC} is missing: build it first (cargo build --bins)")
    environment = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true", "COLUMNS": "400"}
    environment.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run([str(PIPESEC), *map(str, args)], capture_output=True, text=True, env=environment,
                          timeout=timeout)


@dataclass(repr=False)
class CliRun(Quiet):
    outputs: dict[str, str]  # where -> text: standard output, standard error, written files
    json_reports: dict[str, dict]  # command -> its `--format json` report
    exit_codes: dict[str, int]  # run -> exit code


# The template's GitHost parameter has no Default: given, every value resolves; not given, the
# GIT_REMOTE variable is only partly known offline, and its known part holds the literal password.
TEMPLATE_PARAMETERS = ("--parameter", "GitHost=git.example.com")


@pytest.fixture(scope="module")
def cli_run(account, tmp_path_factory) -> CliRun:
    """`pipesec evaluate` against the canary account and on a snapshot of it, and `pipesec
    scan-template` on the canary template (GitHost given, and not), in every format, to standard
    output and with --output (the table with --all: compliant and not applicable results too);
    then each command as CI runs it (table, failing on findings)."""
    directory = tmp_path_factory.mktemp("canary-cli")
    template = directory / "canary-pipeline.yaml"
    template.write_text(TEMPLATE)
    snapshot = directory / "snapshot.json"
    snapshot.write_text(json.dumps(list(account.items.values())))
    commands = {
        "evaluate": ["evaluate", "--endpoint-url", account.url],
        "evaluate --snapshot": ["evaluate", "--snapshot", snapshot],
        "scan-template": ["scan-template", template, *TEMPLATE_PARAMETERS, "--region", REGION,
                          "--account-id", ACCOUNT_ID],
        "scan-template (GitHost unresolved)": ["scan-template", template, "--region", REGION,
                                               "--account-id", ACCOUNT_ID],
    }
    run = CliRun({}, {}, {})

    def record(name, completed):
        run.outputs[f"`{name}` standard output"] = completed.stdout
        run.outputs[f"`{name}` standard error"] = completed.stderr
        run.exit_codes[name] = completed.returncode

    for command, args in commands.items():
        for fmt in FORMATS:
            options = ["--format", fmt, "--fail-on", "none", *(["--all"] if fmt == "table" else [])]
            completed = pipesec(*args, *options)
            record(f"{command} --format {fmt}", completed)
            if fmt == "json" and completed.returncode == 0:
                run.json_reports[command] = _json_report(command, completed.stdout)
            path = directory / f"report-{len(run.exit_codes)}.{fmt}"
            record(f"{command} --format {fmt} --output", pipesec(*args, *options, "--output", path))
            run.outputs[f"`{command} --format {fmt} --output` file"] = path.read_text() if path.exists() else ""
        record(command, pipesec(*args))
    return run


def _json_report(command: str, text: str) -> dict:
    __tracebackhide__ = True  # the report may hold canaries
    try:
        return json.loads(text)
    except ValueError as error:
        pytest.fail(redact(f"`{command} --format json` printed no JSON report ({error}): {text[:2000]}"), pytrace=False)


def _by_resource(report: dict, rule_id: str) -> dict[str, str]:
    return {result["resourceId"]: result["compliance"] for result in report["results"] if result["rule"] == rule_id}


def test_the_cli_ran_every_command_and_found_the_seeded_secrets(account, cli_run):
    """Every run succeeded and wrote its report; each finds the secrets it can see offline or
    online, and a CI run fails on them."""
    for run, code in cli_run.exit_codes.items():
        assert code == (0 if "--format" in run else 1), redact(
            f"`{run}` exited {code}: {cli_run.outputs[f'`{run}` standard error'][-2000:]}")
    written = {where: text for where, text in cli_run.outputs.items() if where.endswith("file")}
    assert len(written) == len(FORMATS) * 4 and all(written.values()), "every --output file was written"
    project = account.items[PROJECT]["resourceId"]
    for command in ("evaluate", "evaluate --snapshot"):
        report = cli_run.json_reports[command]
        found = {rule_id: _by_resource(report, rule_id).get(resource)
                 for rule_id, resource in ((PROJECT_SECRETS, project), (SOURCE_CREDENTIALS, project),
                                           (PIPELINE_SECRETS, PIPELINE))}
        assert set(found.values()) == {"NON_COMPLIANT"}, f"{command}: {found}"
    for command in ("scan-template", "scan-template (GitHost unresolved)"):
        report = cli_run.json_reports[command]
        found = {rule_id: _by_resource(report, rule_id)
                 for rule_id in (PROJECT_SECRETS, SOURCE_CREDENTIALS, PIPELINE_SECRETS,
                                 "codebuild-report-group-export-encrypted")}
        assert found == {
            PROJECT_SECRETS: {"CanaryBuild": "NON_COMPLIANT"},
            SOURCE_CREDENTIALS: {"CanaryBuild": "NON_COMPLIANT"},
            PIPELINE_SECRETS: {"CanaryPipeline": "NON_COMPLIANT"},
            "codebuild-report-group-export-encrypted": {"CanaryReports": "NON_COMPLIANT"},
        }, f"{command}: {found}"
    # GitHost unknown: the literal password around it is still written in the template, and found.
    unresolved = cli_run.json_reports["scan-template (GitHost unresolved)"]
    reason = next(result["annotation"] for result in unresolved["results"] if result["rule"] == PROJECT_SECRETS)
    assert "GIT_REMOTE" in reason, redact(reason)


# The template's variables and settings that hold a canary, per secrets rule, by the name
# `allowedVariableNames` takes.
TEMPLATE_NAMES = {
    PROJECT_SECRETS: {
        "GITHUB_TOKEN": "template env GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY": "template env AWS_SECRET_ACCESS_KEY",
        "DATABASE_URL": "template env DATABASE_URL password",
        "DB_PASSWORD": "template NoEcho parameter default, as DB_PASSWORD",
        "GIT_REMOTE": "template !Sub literal password in GIT_REMOTE",
        "SMS_CONFIG": "template env hex value under SMS_CONFIG",
    },
    PIPELINE_SECRETS: {
        "OAuthToken": "template pipeline GitHub v1 OAuthToken",
        "NPM_TOKEN": "template pipeline build action env NPM_TOKEN",
        "DbPassword": "template pipeline ParameterOverrides DbPassword",
        "DEPLOY_TOKEN": "template pipeline variable default",
    },
}


def test_the_template_scan_recognises_exactly_the_canaries_said_to_be_recognised(cli_run, tmp_path):
    """As for the account: each variable judged alone, the others allowed."""
    template = tmp_path / "canary-pipeline.yaml"
    template.write_text(TEMPLATE)

    def reported(rule_id, allowed):
        run = pipesec("scan-template", template, *TEMPLATE_PARAMETERS, "--rule", rule_id, "--format", "json",
                      "--fail-on", "none", "--param", f"{rule_id}:allowedVariableNames={','.join(allowed)}")
        assert run.returncode == 0, redact(run.stderr)
        assert_no_canary({f"`scan-template --rule {rule_id}` standard output": run.stdout,
                          f"`scan-template --rule {rule_id}` standard error": run.stderr})
        [state] = _by_resource(_json_report(f"scan-template --rule {rule_id}", run.stdout), rule_id).values()
        return state == "NON_COMPLIANT"

    recognised = {}
    for rule_id, names in TEMPLATE_NAMES.items():
        assert not reported(rule_id, list(names)), f"{rule_id} reports something else"
        for name, label in names.items():
            recognised[label] = reported(rule_id, [other for other in names if other != name])
    annotation = next(result["annotation"] for result in cli_run.json_reports["scan-template"]["results"]
                      if result["rule"] == SOURCE_CREDENTIALS)
    assert "the primary source" in annotation and "secondary source `tools`" in annotation, redact(annotation)
    recognised["template source URL password"] = recognised["template secondary source URL token as user name"] = True
    wrong = sorted(label for label in recognised if recognised[label] != TEMPLATE_CANARIES[label].recognised)
    assert not wrong, f"recognised other than said: {wrong}"
    unchecked = sorted({label for label, canary in TEMPLATE_CANARIES.items() if canary.recognised} - set(recognised))
    assert not unchecked, f"said to be recognised but not checked: {unchecked}"


def test_no_canary_in_any_cli_output(cli_run):
    """Every format of every command, to standard output and to a file, and standard error."""
    assert_no_canary(cli_run.outputs)


# --- the Security Hub function -----------------------------------------------------------------------------


@dataclass(repr=False)
class HubRun(Quiet):
    events: int
    non_compliant: int
    answers: str
    logs: str
    findings: list[dict]


def _compliance_change(rule_name: str, resource_type: str, resource_id: str, state: str, annotation: str) -> dict:
    """Config's "Config Rules Compliance Change" event for a new result, as EventBridge delivers it."""
    qualifier = {"configRuleName": rule_name, "resourceType": resource_type, "resourceId": resource_id}
    return {
        "version": "0", "id": "6a7e8ebe-1f5c-4d3a-9c1e-0b2d4f6a8c10", "detail-type": "Config Rules Compliance Change",
        "source": "aws.config", "account": ACCOUNT_ID, "time": "2026-11-01T12:00:05Z", "region": REGION,
        "resources": [],
        "detail": {
            "resourceId": resource_id, "awsRegion": REGION, "awsAccountId": ACCOUNT_ID, "configRuleName": rule_name,
            "recordVersion": "1.0", "messageType": "ComplianceChangeNotification", "resourceType": resource_type,
            "configRuleARN": f"arn:aws:config:{REGION}:{ACCOUNT_ID}:config-rule/config-rule-canary",
            "notificationCreationTime": "2026-11-01T12:00:02.660Z",
            "newEvaluationResult": {
                "evaluationResultIdentifier": {"evaluationResultQualifier": qualifier,
                                               "orderingTimestamp": "2026-11-01T11:59:58.118Z"},
                "complianceType": state, "resultRecordedTime": "2026-11-01T12:00:01.402Z",
                "configRuleInvokedTime": "2026-11-01T12:00:00.133Z", "annotation": annotation,
            },
        },
    }


@pytest.fixture(scope="module")
def hub_run(account, rule_run, catalog) -> HubRun:
    """The Security Hub function on the compliance change of every result of the rule run; the
    findings read back with GetFindings."""
    binary = BIN_DIR / SECURITY_HUB
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build it first (cargo build --bins)")
    changes = [
        _compliance_change(rule.config_rule_name, rule.resource_type, resource_id, state, annotation)
        for rule in catalog.rules for resource_id, (state, annotation) in rule_run.results[rule.id].items()
    ]
    function = LambdaFunction(binary, SECURITY_HUB, {"AWS_ENDPOINT_URL": account.url,
                                                     "AWS_LAMBDA_LOG_LEVEL": LOG_LEVEL}).start()
    answers = []
    try:
        for change in changes:
            result = _invoke(function, change)
            answers.append(json.dumps({"ok": result.ok, "payload": result.payload, "errorType": result.error_type,
                                       "errorMessage": result.error_message}))
    finally:
        _stop_all([function])
    hub = account.clients("securityhub")
    findings, token = [], None
    while True:
        page = hub.get_findings(MaxResults=100, **({"NextToken": token} if token else {}))
        findings.extend(page["Findings"])
        token = page.get("NextToken")
        if not token:
            break
    non_compliant = sum(change["detail"]["newEvaluationResult"]["complianceType"] == "NON_COMPLIANT"
                        for change in changes)
    return HubRun(len(changes), non_compliant, "\n".join(answers), "\n".join(function.logs), findings)


def test_the_security_hub_function_imports_a_finding_per_non_compliant_result(hub_run):
    """The exporter saw the run's results: a finding for each NON_COMPLIANT one, carrying its annotation."""
    actions = [json.loads(line) for line in hub_run.answers.splitlines()]
    assert len(actions) == hub_run.events and all(answer["ok"] for answer in actions), redact(hub_run.answers)
    imported = sum(answer["payload"]["action"] == "imported" for answer in actions)
    assert imported == hub_run.non_compliant >= 8, f"{imported} imported for {hub_run.non_compliant} NON_COMPLIANT"
    assert len(hub_run.findings) == hub_run.non_compliant, f"{len(hub_run.findings)} findings"
    carried = any("DOCKERHUB_PASSWORD" in finding["Description"] for finding in hub_run.findings)
    assert carried, "the annotations reach the findings"


def test_no_canary_in_security_hub_findings_or_the_function_output(hub_run):
    """The findings as Security Hub stores them, and what the function printed and answered."""
    assert_no_canary({
        "Security Hub findings (GetFindings)": json.dumps(hub_run.findings, default=str),
        f"{SECURITY_HUB} invocation responses and errors": hub_run.answers,
        f"{SECURITY_HUB} function logs": hub_run.logs,
    })


# --- the CloudFormation hook ----------------------------------------------------------------------------------


def _as_properties(value):
    """A service's answer as CloudFormation properties (PascalCase keys; action settings and tag
    values kept): what a stack creating the same resource would send the hook."""
    if isinstance(value, dict):
        return {key if key[:1].isupper() else key[:1].upper() + key[1:]: _as_properties(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_as_properties(item) for item in value]
    return value


@pytest.fixture(scope="module")
def hook_run(account) -> HubRun:
    """The hook function on the canary project, report group and pipeline as CREATE requests."""
    binary = BIN_DIR / HOOK
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build it first (cargo build --bins)")
    codebuild, codepipeline = account.clients("codebuild"), account.clients("codepipeline")
    [project] = codebuild.batch_get_projects(names=[PROJECT])["projects"]
    [group] = codebuild.batch_get_report_groups(reportGroupArns=[account.items[REPORT_GROUP]["ARN"]])["reportGroups"]
    pipeline = codepipeline.get_pipeline(name=PIPELINE)["pipeline"]
    resources = [("AWS::CodeBuild::Project", "Build", project), ("AWS::CodeBuild::ReportGroup", "Reports", group),
                 ("AWS::CodePipeline::Pipeline", "Pipeline", pipeline)]
    function = LambdaFunction(binary, HOOK, {"AWS_ENDPOINT_URL": account.url, "AWS_LAMBDA_LOG_LEVEL": LOG_LEVEL}).start()
    answers = []
    try:
        for kind, logical_id, answer in resources:
            properties = _as_properties(json.loads(json.dumps(answer, default=str)))
            request = {"clientRequestToken": logical_id, "awsAccountId": ACCOUNT_ID,
                       "stackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/canary/1",
                       "actionInvocationPoint": "CREATE_PRE_PROVISION",
                       "requestData": {"targetName": kind, "targetType": kind, "targetLogicalId": logical_id,
                                       "targetModel": {"resourceProperties": properties}}}
            result = _invoke(function, request)
            answers.append(json.dumps({"ok": result.ok, "payload": result.payload, "errorType": result.error_type,
                                       "errorMessage": result.error_message}))
    finally:
        _stop_all([function])
    return HubRun(len(resources), 0, "\n".join(answers), "\n".join(function.logs), [])


def test_the_hook_finds_the_seeded_secrets_and_quotes_none(hook_run):
    answers = [json.loads(line) for line in hook_run.answers.splitlines()]
    assert len(answers) == 3 and all(answer["ok"] for answer in answers), redact(hook_run.answers)
    statuses = {(answer["payload"]["clientRequestToken"], annotation["annotationName"]): annotation["status"]
                for answer in answers for annotation in answer["payload"].get("annotations", [])}
    assert statuses[("Build", PROJECT_SECRETS)] == "FAILED", "the hook read the project's variables"
    assert statuses[("Pipeline", PIPELINE_SECRETS)] == "FAILED", "the hook read the pipeline's settings"
    assert_no_canary({f"{HOOK} responses": hook_run.answers, f"{HOOK} function logs": hook_run.logs})


# --- the demos -------------------------------------------------------------------------------------------------




@dataclass(repr=False)
class DemoRuns(Quiet):
    cli: subprocess.CompletedProcess  # `pipesec demo`
    script: subprocess.CompletedProcess  # `scripts/demo`, that is tests/demo.py
    html: str  # the HTML report `pipesec demo` wrote

    def outputs(self) -> dict[str, str]:
        return {
            "`pipesec demo` standard output": self.cli.stdout, "`pipesec demo` standard error": self.cli.stderr,
            "`pipesec demo --html` file": self.html,
            "`scripts/demo` standard output": self.script.stdout, "`scripts/demo` standard error": self.script.stderr,
        }


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory) -> DemoRuns:
    """`pipesec demo` (with its HTML report) and `scripts/demo`'s `tests/demo.py`, run side by side:
    each starts an emulator of its own."""
    html_report = tmp_path_factory.mktemp("canary-demo") / "demo.html"
    environment = {**os.environ, "PIPESEC_PYTHON": sys.executable, "PIPESEC_REPO": str(REPO),
                   "PIPESEC_BIN_DIR": str(BIN_DIR), "PYTHONPATH": str(TESTS), "COLUMNS": "400",
                   "AWS_EC2_METADATA_DISABLED": "true"}
    environment.pop("AWS_ENDPOINT_URL", None)
    commands = [[str(PIPESEC), "demo", "--html", str(html_report)], [sys.executable, str(TESTS / "demo.py")]]
    processes = [subprocess.Popen(command, env=environment, text=True, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) for command in commands]
    runs = []
    for command, process in zip(commands, processes):
        stdout, stderr = process.communicate(timeout=300)
        runs.append(subprocess.CompletedProcess(command, process.returncode, stdout, stderr))
    return DemoRuns(*runs, html_report.read_text() if html_report.exists() else "")


def test_the_demos_ran_and_found_their_secrets(demo_runs):
    """The demos' canaries are the secrets they seed, and both report them (by name)."""
    assert len(DEMO_CANARIES) >= 5, f"demo canaries: {sorted(DEMO_CANARIES)}"
    assert demo_account.CANARY_SECRET in {canary.value for canary in DEMO_CANARIES.values()}, "the demo's own canary"
    cli, script = demo_runs.cli, demo_runs.script
    assert cli.returncode == 0, redact(cli.stderr[-2000:])
    assert script.returncode == 0, redact(script.stderr[-2000:])
    found = "codebuild-project-no-plaintext-secrets" in cli.stdout and "`GITHUB_TOKEN`" in cli.stdout
    assert found, redact(cli.stdout[-4000:])
    assert demo_runs.html.startswith("<!DOCTYPE html>"), "the HTML report was written"
    found = "payments-api" in script.stdout and "`DB_PASSWORD`" in script.stdout and "NON_COMPLIANT" in script.stdout
    assert found, redact(script.stdout[-4000:])


def test_no_canary_in_the_demos(demo_runs):
    """Neither the canaries of this module nor the demos' own secrets."""
    assert_no_canary(demo_runs.outputs(), {**ALL_CANARIES, **DEMO_CANARIES})


# --- leaks this test found in the Rust components, fixed; kept as regression tests ----------------------


def test_a_one_line_inline_buildspec_is_never_quoted(account, tmp_path):
    """An inline buildspec is where a team may paste a secret; whatever the rule makes of it, no
    annotation may quote it. Through the Lambda path, a snapshot and a template."""
    buildspec = (f"--- {{version: 0.2, env: {{variables: {{DEPLOY_KEY: {FLOW_BUILDSPEC.value}}}}}, "
                 "phases: {build: {commands: [make]}}}")
    item = copy.deepcopy(account.items[PROJECT])
    item["configuration"]["source"][0]["buildspec"] = buildspec
    item.update(resourceId="flow-buildspec-probe", resourceName="flow-buildspec")
    rule_name = "canary-probe-buildspec"  # not the pack's rule name: the results above stay as they are
    function = LambdaFunction(BIN_DIR / BUILDSPEC, BUILDSPEC, {"AWS_ENDPOINT_URL": account.url}).start()
    try:
        result = _invoke(function, events.change_event(item, rule_name))
    finally:
        _stop_all([function])
    assert result.ok, redact(f"{result.error_type}: {result.error_message}")
    _, annotation = compliance(account.clients("config"), rule_name)["flow-buildspec-probe"]
    snapshot = tmp_path / "flow.json"
    snapshot.write_text(json.dumps(item))
    evaluate = pipesec("evaluate", "--snapshot", snapshot, "--rule", BUILDSPEC, "--format", "json", "--fail-on", "none")
    template = tmp_path / "flow.yaml"
    template.write_text(_lines(
        "Resources:", "  Flow:", "    Type: AWS::CodeBuild::Project", "    Properties:", "      Name: flow-buildspec",
        "      Source:", "        Type: GITHUB", "        Location: https://github.com/example/app.git",
        f"        BuildSpec: {json.dumps(buildspec)}", "      Artifacts: {Type: NO_ARTIFACTS}",
        "      Environment: {Type: LINUX_CONTAINER, ComputeType: BUILD_GENERAL1_SMALL, Image: x}"))
    scan = pipesec("scan-template", template, "--rule", BUILDSPEC, "--format", "json", "--fail-on", "none")
    assert_no_canary({
        f"{BUILDSPEC} annotation (GetComplianceDetailsByConfigRule)": annotation,
        f"{BUILDSPEC} function logs": "\n".join(function.logs),
        "`evaluate --snapshot` standard output": evaluate.stdout,
        "`scan-template` standard output": scan.stdout,
    }, {FLOW_BUILDSPEC.label: FLOW_BUILDSPEC})


def test_a_secret_in_a_wrong_typed_field_is_never_repeated(account, tmp_path):
    """A secret pasted where another type is expected: in a project's configuration (a number
    field), in a rule parameter (a number) and in a template property (a boolean). Each is refused,
    the error naming the field and the type expected; neither the Lambda error Config shows, nor the
    function's logs, nor the CLI's output repeat the value."""
    item = copy.deepcopy(account.items[PROJECT])
    item["configuration"]["timeoutInMinutes"] = WRONG_TYPE.value
    item.update(resourceId="wrong-type-probe", resourceName="wrong-type")
    privileged, logs_rule = "codebuild-project-privileged-mode-disabled", "codebuild-project-build-log-indicators"
    functions = {rule_id: LambdaFunction(BIN_DIR / rule_id, rule_id, {
        "AWS_ENDPOINT_URL": account.url, "AWS_LAMBDA_LOG_LEVEL": LOG_LEVEL}).start() for rule_id in (privileged, logs_rule)}
    try:
        in_item = _invoke(functions[privileged], events.change_event(item, "canary-probe-wrong-type"))
        in_parameter = _invoke(functions[logs_rule], events.change_event(
            account.items[PROJECT], "canary-probe-wrong-type", rule_parameters={"scanLogs": "true",
                                                                               "windowHours": WRONG_TYPE.value}))
    finally:
        _stop_all(list(functions.values()))
    assert (in_item.ok, in_item.error_type) == (False, "InvalidConfigurationItemException"), redact(
        f"{in_item.error_type}: {in_item.error_message}")
    assert "configuration.timeoutInMinutes" in in_item.error_message, redact(in_item.error_message)
    assert "expected a whole number, found a string" in in_item.error_message, redact(in_item.error_message)
    assert (in_parameter.ok, in_parameter.error_type) == (False, "InvalidParameterValueException"), redact(
        f"{in_parameter.error_type}: {in_parameter.error_message}")
    assert "`windowHours`" in in_parameter.error_message, redact(in_parameter.error_message)

    snapshot = tmp_path / "wrong-type.json"
    snapshot.write_text(json.dumps(item))
    evaluate = pipesec("evaluate", "--snapshot", snapshot, "--rule", privileged, "--format", "json")
    assert evaluate.returncode != 0 and "timeoutInMinutes" in evaluate.stderr, redact(evaluate.stderr)
    template = tmp_path / "wrong-type.yaml"
    template.write_text(_lines(
        "Resources:", "  Builder:", "    Type: AWS::CodeBuild::Project", "    Properties:", "      Name: wrong-type",
        "      Source: {Type: GITHUB, Location: https://github.com/example/app.git}",
        "      Artifacts: {Type: NO_ARTIFACTS}",
        "      Environment: {Type: LINUX_CONTAINER, ComputeType: BUILD_GENERAL1_SMALL, Image: x,",
        f"                    PrivilegedMode: {{Token: {WRONG_TYPE.value}}}}}"))
    scan = pipesec("scan-template", template, "--rule", privileged, "--format", "json", "--fail-on", "none")
    assert "environment.privilegedMode`: expected a boolean, found a map" in scan.stderr, redact(scan.stderr)
    assert_no_canary({
        "Lambda error (configuration)": f"{in_item.error_type}: {in_item.error_message}",
        "Lambda error (rule parameter)": f"{in_parameter.error_type}: {in_parameter.error_message}",
        f"{privileged} function logs": "\n".join(functions[privileged].logs),
        f"{logs_rule} function logs": "\n".join(functions[logs_rule].logs),
        "`evaluate --snapshot` standard output": evaluate.stdout,
        "`evaluate --snapshot` standard error": evaluate.stderr,
        "`scan-template` standard output": scan.stdout,
        "`scan-template` standard error": scan.stderr,
    }, {WRONG_TYPE.label: WRONG_TYPE})


def test_trace_logs_hold_no_canary(account, catalog):
    """One rule per resource type, on every kind of event, with the most verbose level an operator
    can deploy."""
    chosen = {"codebuild-project-privileged-mode-disabled": PROJECT, PROJECT_SECRETS: PROJECT,
              "codebuild-report-group-export-encrypted": REPORT_GROUP, "codepipeline-approval-before-deploy": PIPELINE}
    functions = {rule_id: LambdaFunction(BIN_DIR / rule_id, rule_id, {
        "AWS_ENDPOINT_URL": account.url, "AWS_LAMBDA_LOG_LEVEL": "TRACE"}).start() for rule_id in chosen}
    try:
        for rule_id, resource in chosen.items():
            item, name = account.items[resource], f"canary-probe-trace-{rule_id}"
            batch = [events.change_event(item, name), events.oversized_event(item, name), events.scheduled_event(name)]
            if resource == PROJECT:
                batch.append(events.change_event(_masked(item), name))
            for event in batch:
                result = _invoke(functions[rule_id], event)
                assert result.ok, redact(f"{rule_id}: {result.error_type}: {result.error_message}")
    finally:
        _stop_all(list(functions.values()))
    logs = {f"{rule_id} function logs at TRACE": "\n".join(function.logs) for rule_id, function in functions.items()}
    assert all(text.count("\n") > 20 for text in logs.values()), "TRACE logs were collected"
    assert_no_canary(logs, ACCOUNT_CANARIES)
