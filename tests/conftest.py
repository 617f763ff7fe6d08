"""Shared fixtures: one emulator for the whole run, reset before each test that uses it."""

import boto3
import pytest
from botocore.config import Config

from testbed.emulator import Emulator

REGION = "us-east-1"


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
