"""Tests of the test bed's Lambda Runtime API harness (testbed/lambda_runtime.py), with a stand-in
for a rule binary."""

import stat
import sys
import time

import pytest

from testbed.lambda_runtime import LambdaFunction, LambdaProcessExited


# A stand-in for a rule binary: speaks the Runtime API with nothing but the standard library.
FAKE_FUNCTION = """\
#!{python}
import json, os, sys, urllib.request

base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
print("fake function starting", flush=True)

def post(path, document, headers=None, chunked=False):
    data = json.dumps(document).encode()
    # An iterable body makes urllib send it chunked, as a streaming runtime client would.
    request = urllib.request.Request(base + path, data=iter([data]) if chunked else data, method="POST",
                                     headers={{"Content-Type": "application/json", **(headers or {{}})}})
    with urllib.request.urlopen(request) as response:
        assert response.status == 202, response.status

if os.environ.get("FAIL_INIT"):
    post("/init/error", {{"errorType": "Runtime.ConfigError", "errorMessage": "cannot start"}})
    sys.exit(1)

while True:
    with urllib.request.urlopen(base + "/invocation/next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        headers = {{name: response.headers[name] for name in (
            "Lambda-Runtime-Deadline-Ms", "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Trace-Id")}}
        event = json.loads(response.read())
    print("handling", event.get("action"), flush=True)
    if event.get("action") == "crash":
        print("crashing on purpose", file=sys.stderr, flush=True)
        sys.exit(3)
    if event.get("action") == "error":
        post(f"/invocation/{{request_id}}/error",
             {{"errorType": "InvalidParameterValueException", "errorMessage": "exemptedProjects is not a list"}},
             {{"Lambda-Runtime-Function-Error-Type": "InvalidParameterValueException"}}, chunked=True)
    else:
        env = {{name: os.environ.get(name) for name in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "AWS_ENDPOINT_URL")}}
        post(f"/invocation/{{request_id}}/response", {{"echo": event, "headers": headers, "env": env}})
"""


@pytest.fixture
def fake_function(tmp_path):
    path = tmp_path / "bootstrap"
    path.write_text(FAKE_FUNCTION.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_lambda_harness_response_and_error(fake_function):
    with LambdaFunction(fake_function, "fake-rule", {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}).start() as function:
        assert function.wait_ready() > 0
        result = function.invoke({"action": "respond", "n": 1}, timeout=30)
        assert result.ok and result.error_type is None and result.duration > 0
        assert result.payload["echo"] == {"action": "respond", "n": 1}
        assert result.payload["env"] == {"AWS_LAMBDA_FUNCTION_NAME": "fake-rule", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
        headers = result.payload["headers"]
        assert headers["Lambda-Runtime-Invoked-Function-Arn"] == "arn:aws:lambda:us-east-1:123456789012:function:fake-rule"
        assert 0 < int(headers["Lambda-Runtime-Deadline-Ms"]) - time.time() * 1000 <= 30_000
        assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")

        failed = function.invoke({"action": "error"})
        assert not failed.ok and failed.payload is None
        assert failed.error_type == "InvalidParameterValueException"
        assert failed.error_message == "exemptedProjects is not a list"

        assert function.invoke({"action": "respond", "n": 2}).payload["echo"]["n"] == 2  # still serving
        assert function.peak_rss_kib() > 0
        assert "fake function starting" in function.logs
        assert function.time_to_first_poll > 0


def test_lambda_harness_reports_a_crash_with_its_output(fake_function):
    with LambdaFunction(fake_function, "fake-rule").start() as function:
        with pytest.raises(LambdaProcessExited) as raised:
            function.invoke({"action": "crash"}, timeout=30)
        assert "status 3" in str(raised.value)
        assert "crashing on purpose" in str(raised.value)
        assert "crashing on purpose" in function.logs


def test_lambda_harness_reports_an_init_error(fake_function):
    with LambdaFunction(fake_function, "fake-rule", {"FAIL_INIT": "1"}).start() as function:
        with pytest.raises(LambdaProcessExited) as raised:
            function.invoke({"action": "respond"}, timeout=30)
        assert "Runtime.ConfigError" in str(raised.value) and "cannot start" in str(raised.value)
