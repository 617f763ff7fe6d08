"""The AWS emulator: moto's server with the test bed's extension, on 127.0.0.1.

Run it:   python -m testbed.emulator [--port N]     (port 0 or omitted: a free port)
It prints `emulator listening on http://127.0.0.1:PORT` once it accepts connections.

From Python (pytest fixtures, demo scripts):

    with Emulator.start() as emulator:
        ...  # point SDKs at emulator.url; emulator.reset(), .calls(), .set_faults({...})
"""

import argparse
import atexit
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

LISTENING_PREFIX = "emulator listening on "
START_TIMEOUT_SECONDS = 30
# The directory that holds the `testbed` package: the subprocess imports it from there.
_IMPORT_ROOT = Path(__file__).resolve().parent.parent


def serve(port: int) -> None:
    """Runs moto's server with the extension until the process is terminated."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from testbed.services import install

    install.apply()
    app = install.with_control_routes(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    # moto builds some URLs that point back at itself from MOTO_PORT.
    os.environ["MOTO_PORT"] = str(server.port)
    # One log line per request is noise in test output; errors are still logged.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"{LISTENING_PREFIX}http://127.0.0.1:{server.port}", flush=True)
    server.serve_forever()


class EmulatorError(RuntimeError):
    pass


class Emulator:
    """A running emulator subprocess. Create it with `Emulator.start()`."""

    def __init__(self, process: subprocess.Popen, url: str, log_path: Path):
        self.process = process
        self.url = url
        self.log_path = log_path

    @classmethod
    def start(cls, env: dict[str, str] | None = None, python: str = sys.executable) -> "Emulator":
        """Launches `python -m testbed.emulator` on a free port and waits until it answers."""
        log_file = tempfile.NamedTemporaryFile(prefix="pipesec-emulator-", suffix=".log", delete=False)
        log_path = Path(log_file.name)
        child_env = dict(os.environ)
        child_env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(_IMPORT_ROOT), child_env.get("PYTHONPATH")])
        )
        child_env.update(env or {})
        # Output goes to a file, not a pipe: nobody has to drain it and it survives for error reports.
        process = subprocess.Popen(
            [python, "-u", "-m", "testbed.emulator", "--port", "0"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=child_env,
        )
        log_file.close()
        emulator = cls(process, url="", log_path=log_path)
        atexit.register(emulator.stop)
        try:
            emulator.url = emulator._wait_until_ready()
        except BaseException:
            emulator.stop()
            raise
        return emulator

    def _wait_until_ready(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        url = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmulatorError(
                    f"emulator exited with status {self.process.returncode}:\n{self.output()}"
                )
            if url is None:
                for line in self.output().splitlines():
                    if line.startswith(LISTENING_PREFIX):
                        url = line[len(LISTENING_PREFIX):].strip()
            if url is not None:
                try:
                    with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                        return url
                except (urllib.error.URLError, OSError):
                    pass
            time.sleep(0.05)
        raise EmulatorError(
            f"emulator not ready after {START_TIMEOUT_SECONDS} s:\n{self.output()}"
        )

    def output(self) -> str:
        """Everything the emulator process printed so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _request(self, method: str, path: str, document: dict | None = None) -> dict:
        data = json.dumps(document).encode() if document is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")

    def reset(self) -> None:
        """Clears all state: moto's and the extension's (evaluations, faults, call counts)."""
        self._request("POST", "/moto-api/reset")

    def calls(self) -> dict[str, int]:
        """Requests answered since the last reset, per `<service>.<Action>`."""
        return self._request("GET", "/moto-api/pipesec/calls")

    def reset_calls(self) -> None:
        """Zeroes the call counter and the throttled-request counts."""
        self._request("POST", "/moto-api/pipesec/calls/reset")

    def backdate(self, seconds: float) -> dict:
        """Moves the CloudTrail records, CodePipeline executions and CodeBuild builds recorded so far
        `seconds` into the past (AWS has no API to write history); later ones happen now."""
        return self._request("POST", "/moto-api/pipesec/backdate", {"seconds": seconds})

    def set_faults(self, faults: dict) -> None:
        """E.g. {"PutEvaluations": {"failFirst": 2, "times": 1}} (partial FailedEvaluations),
        {"codebuild.BatchGetProjects": {"error": "throttle", "times": 2}} or
        {"iam.ListRolePolicies": {"delay": 3, "times": 1}}; {} clears all faults."""
        self._request("POST", "/moto-api/pipesec/faults", faults)

    def set_rate_limits(self, limits: dict) -> None:
        """Token buckets per service or operation, e.g. {"iam": {"rate": 10, "burst": 10},
        "cloudtrail.LookupEvents": {"rate": 2, "burst": 2}}: a request finding its bucket empty is
        answered with the service's throttling error. {} (or a reset) removes every limit."""
        self._request("POST", "/moto-api/pipesec/rates", limits)

    def throttled(self) -> dict[str, int]:
        """Requests a rate limit answered with a throttling error since the last reset of the
        limits or of the call counter, per `<service>.<Action>` (they are among `calls()` too)."""
        return self._request("GET", "/moto-api/pipesec/rates")["throttled"]

    def faults_fired(self) -> dict[str, int]:
        """Answers the faults set last replaced or delayed, per `<service>.<Action>`."""
        return self._request("GET", "/moto-api/pipesec/faults")["fired"]

    def stop(self) -> None:
        """Terminates the emulator process (by its PID); safe to call more than once."""
        atexit.unregister(self.stop)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="pipesec's AWS emulator (moto + test bed extension)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1; 0 picks a free one")
    serve(parser.parse_args().port)


if __name__ == "__main__":
    main()
