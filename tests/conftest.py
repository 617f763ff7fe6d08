"""Shared fixtures: one emulator for the whole run, reset before each test that uses it."""

import os
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from deploy.catalog import Catalog
from testbed.emulator import Emulator
from testbed.lambda_runtime import LambdaFunction

# Helpers that assert: pytest explains their failures as it does the tests' own.
pytest.register_assert_rewrite("testbed_helpers")

REGION = "us-east-1"
REPO = Path(__file__).resolve().parent.parent
# Where the rule binaries are: scripts/test points this at the cargo target directory.
BIN_DIR = Path(os.environ.get("PIPESEC_BIN_DIR", REPO / "target" / "debug"))


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The rule catalog, from the `pipesec-catalog` binary built with the rules."""
    binary = BIN_DIR / "pipesec-catalog"
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build the binaries first (cargo build --bins)")
    return Catalog.from_binary(binary)


@pytest.fixture(scope="session")
def emulator_process():
    """The emulator subprocess, started on first use and stopped at the end of the run."""
    with Emulator.start() as emulator:
        yield emulator


@pytest.fixture
def emulator(emulator_process):
    """The emulator, with all state (moto's and the extension's) cleared for this test."""
    emulator_process.reset()
    return emulator_process


@pytest.fixture
def aws(emulator):
    """A function building boto3 clients for the emulator: `aws("config")`.

    No retries by default: a 5xx from the emulator is a test bed bug and should fail fast, not cost
    seconds of backoff. Extra keyword arguments override the botocore Config (e.g.
    `parameter_validation=False` to send what boto3 would refuse).
    """

    def client(service: str, **config_options):
        options = {"retries": {"max_attempts": 1, "mode": "standard"}, **config_options}
        return boto3.client(
            service,
            endpoint_url=emulator.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(**options),
        )

    return client


@pytest.fixture
def account(emulator, aws):
    """`account(id, region)`: (a client factory acting in that account and region, the same
    credentials as Lambda environment variables for a rule binary). The credentials are STS
    AssumeRole credentials of a role in that account, as an organization's
    OrganizationAccountAccessRole gives; moto serves each account's own state to them."""

    def open_account(account_id: str, region: str = REGION):
        credentials = aws("sts").assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
                                             RoleSessionName="pipesec-test")["Credentials"]
        keys = {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"]}

        def client(service: str):
            return boto3.client(service, endpoint_url=emulator.url, region_name=region,
                                config=Config(retries={"max_attempts": 1, "mode": "standard"}), **keys)

        assert client("sts").get_caller_identity()["Account"] == account_id
        env = {"AWS_ACCESS_KEY_ID": keys["aws_access_key_id"], "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
               "AWS_SESSION_TOKEN": keys["aws_session_token"], "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
        return client, env

    return open_account


@pytest.fixture
def rule(emulator):
    """Starts a rule binary as a Lambda function pointed at the emulator: `rule(ID)`."""
    started = []

    def start(rule_id, **env):
        binary = BIN_DIR / rule_id
        if not binary.exists():
            pytest.fail(f"{binary} is missing: build the rules first (cargo build --bins)")
        function = LambdaFunction(binary, rule_id, {"AWS_ENDPOINT_URL": emulator.url, **env}).start()
        started.append(function)
        return function

    yield start
    for function in started:
        function.stop()


def pytest_terminal_summary(terminalreporter):
    """Prints the fault-injection table (tests/test_faults_e2e.py) when those tests ran."""
    from test_faults_e2e import FAULT_TABLE

    if not FAULT_TABLE:
        return
    columns = ("fault", "rule", "trigger", "operation", "fired", "calls", "outcome", "results")
    widths = {column: max(len(column), *(len(str(row[column])) for row in FAULT_TABLE)) for column in columns}
    terminalreporter.section("faults injected (fired: answers faulted; calls: fault-free run -> faulted run; results: faulted/fault-free)")
    terminalreporter.write_line("  ".join(column.ljust(widths[column]) for column in columns))
    for row in sorted(FAULT_TABLE, key=lambda row: row["fault"]):
        terminalreporter.write_line("  ".join(str(row[column]).ljust(widths[column]) for column in columns))
