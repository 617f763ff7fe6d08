"""Drives a real Lambda binary offline through the documented Lambda Runtime API.

`RuntimeApiServer` implements the four routes a runtime client uses
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):

    GET  /2018-06-01/runtime/invocation/next              blocks until an invocation is queued
    POST /2018-06-01/runtime/invocation/{id}/response
    POST /2018-06-01/runtime/invocation/{id}/error
    POST /2018-06-01/runtime/init/error

`LambdaFunction` runs one binary against it, one invocation at a time, as Lambda does:

    with LambdaFunction(Path("target/debug/rule"), "rule", {"AWS_ENDPOINT_URL": url}).start() as fn:
        result = fn.invoke(event)
"""

import json
import os
import queue
import re
import secrets
import select
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
_INVOCATION_PATH = re.compile(r"^/2018-06-01/runtime/invocation/(?P<id>[^/]+)/(?P<kind>response|error)$")


@dataclass
class InvocationResult:
    ok: bool
    payload: dict | None
    error_type: str | None
    error_message: str | None
    duration: float  # seconds, from queueing the event to the function's answer


class LambdaProcessExited(RuntimeError):
    """The function's process ended while the harness was waiting on it."""


@dataclass
class _Invocation:
    request_id: str
    event: dict
    deadline_ms: int
    answered: threading.Event = field(default_factory=threading.Event)
    # (ok, body, error type header) once the function answered
    answer: tuple[bool, bytes, str | None] | None = None


class RuntimeApiServer(ThreadingHTTPServer):
    """The Runtime API of one function on 127.0.0.1 (a free port)."""

    daemon_threads = True

    def __init__(self, function_arn: str):
        super().__init__(("127.0.0.1", 0), _RuntimeApiHandler)
        self.function_arn = function_arn
        self.pending: queue.Queue[_Invocation] = queue.Queue()
        self.in_flight: dict[str, _Invocation] = {}
        # time.monotonic() of the first /next, taken when its connection was accepted: the
        # handler thread's start and request parsing are the harness's time, not the function's.
        self.first_poll_at: float | None = None
        self._accepted_at: dict[object, float] = {}  # open connection -> time it was accepted
        self.init_error: dict | None = None
        self.stopping = threading.Event()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request, client_address) -> None:
        # A function stopped mid-poll drops its connection: expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

    def get_request(self):
        connection, address = super().get_request()
        self._accepted_at[connection] = time.monotonic()
        return connection, address

    def shutdown_request(self, request) -> None:
        self._accepted_at.pop(request, None)
        super().shutdown_request(request)

    def next_invocation(self, connection) -> _Invocation | None:
        """Blocks until an invocation is queued; None once the server is stopping."""
        if self.first_poll_at is None:
            self.first_poll_at = self._accepted_at.get(connection, time.monotonic())
        while not self.stopping.is_set():
            try:
                invocation = self.pending.get(timeout=0.2)
            except queue.Empty:
                continue
            self.in_flight[invocation.request_id] = invocation
            return invocation
        return None


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 with Content-Length on every response, so runtime clients can keep the connection.
    protocol_version = "HTTP/1.1"
    server: RuntimeApiServer

    def log_message(self, format: str, *args) -> None:  # quiet: the function's own logs matter
        pass

    def _send(self, status: int, document: dict, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(document).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the function was stopped while it waited for an invocation

    def do_GET(self) -> None:
        if self.path != "/2018-06-01/runtime/invocation/next":
            self._send(404, {"errorType": "NotFound", "errorMessage": self.path})
            return
        invocation = self.server.next_invocation(self.connection)
        if invocation is None:
            self._send(500, {"errorType": "ServiceUnavailable", "errorMessage": "harness stopping"})
            return
        self._send(
            200,
            invocation.event,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": self.server.function_arn,
                "Lambda-Runtime-Trace-Id": _trace_id(),
            },
        )

    def _read_body(self) -> bytes:
        """The request body, sized by Content-Length or sent chunked (as streaming clients do)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_POST(self) -> None:
        body = self._read_body()
        if self.path == "/2018-06-01/runtime/init/error":
            self.server.init_error = _error_document(body, self.headers)
            self._send(202, {"status": "OK"})
            return
        match = _INVOCATION_PATH.match(self.path)
        invocation = self.server.in_flight.pop(match["id"], None) if match else None
        if invocation is None:
            self._send(400, {"errorType": "InvalidRequestID", "errorMessage": f"unknown request: {self.path}"})
            return
        invocation.answer = (
            match["kind"] == "response",
            body,
            self.headers.get("Lambda-Runtime-Function-Error-Type"),
        )
        invocation.answered.set()
        self._send(202, {"status": "OK"})


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def _error_document(body: bytes, headers) -> dict:
    """An error a function reported: its JSON body, or the error-type header if the body is not JSON."""
    try:
        document = json.loads(body) if body else {}
    except ValueError:
        document = {"errorMessage": body.decode(errors="replace")}
    if not isinstance(document, dict):
        document = {"errorMessage": str(document)}
    document.setdefault("errorType", headers.get("Lambda-Runtime-Function-Error-Type"))
    return document


class LambdaFunction:
    """One function process (e.g. a Rust binary built with the `lambda_runtime` crate)."""

    def __init__(self, binary: Path, name: str, env: dict[str, str] | None = None, args: list[str] | None = None):
        self.binary = Path(binary)
        self.args = list(args or [])  # e.g. the script, when `binary` is an interpreter
        self.name = name
        self.env = dict(env or {})
        self.function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
        self.process: subprocess.Popen | None = None
        self._server: RuntimeApiServer | None = None
        self._spawned_at = 0.0
        self._lines: list[str] = []
        self._lines_lock = threading.Lock()
        self._drain_thread: threading.Thread | None = None

    def start(self) -> "LambdaFunction":
        """Starts the Runtime API and spawns the function; does not wait for it to poll.

        Like Lambda, the function does not inherit this process's environment (only PATH): it gets
        the Lambda variables, dummy credentials and the caller's `env`.
        """
        self._server = RuntimeApiServer(self.function_arn)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": self._server.address,
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            **self.env,
        }
        self._spawned_at = time.monotonic()
        self.process = subprocess.Popen(
            [str(self.binary), *self.args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        # Drain the pipe continuously, or a chatty function blocks on a full pipe.
        self._drain_thread = threading.Thread(target=self._drain_output, daemon=True)
        self._drain_thread.start()
        return self

    def _drain_output(self) -> None:
        # Unbuffered reads, a chunk at a time under the lock: `logs` can then tell that every
        # byte written so far is in `_lines`.
        fd, partial = self.process.stdout.fileno(), b""
        while chunk := os.read(fd, 65536):
            with self._lines_lock:
                *complete, partial = (partial + chunk).split(b"\n")
                self._lines.extend(line.decode(errors="replace") for line in complete)
        if partial:
            with self._lines_lock:
                self._lines.append(partial.decode(errors="replace"))

    @property
    def logs(self) -> list[str]:
        """The function's stdout and stderr lines written so far. A line the function wrote
        before answering an invocation is there once the answer is: this waits (2 s at most)
        until the pipe holds nothing unread."""
        deadline = time.monotonic() + 2.0
        while True:
            with self._lines_lock:
                drained = self._drain_thread is None or not self._drain_thread.is_alive() or not select.select(
                    [self.process.stdout.fileno()], [], [], 0)[0]
                if drained or time.monotonic() > deadline:
                    return list(self._lines)
            time.sleep(0.005)

    @property
    def time_to_first_poll(self) -> float | None:
        """Seconds from spawning the process to its first /next poll (start-up time), once it polled."""
        if self._server is None or self._server.first_poll_at is None:
            return None
        return self._server.first_poll_at - self._spawned_at

    def _exited_error(self, doing: str) -> LambdaProcessExited:
        self.process.wait()
        self._drain_thread.join(timeout=2)  # collect the last lines
        detail = f"\ninit error: {self._server.init_error}" if self._server.init_error else ""
        output = "\n".join(self._lines)
        return LambdaProcessExited(
            f"{self.name} exited with status {self.process.returncode} {doing}{detail}\noutput:\n{output}"
        )

    def wait_ready(self, timeout: float = 10) -> float:
        """Waits for the first /next poll; returns the time to first poll in seconds."""
        deadline = time.monotonic() + timeout
        while self._server.first_poll_at is None:
            if self.process.poll() is not None:
                raise self._exited_error("before polling for an invocation")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} did not poll within {timeout} s:\n" + "\n".join(self._lines))
            time.sleep(0.001)
        return self.time_to_first_poll

    def invoke(self, event: dict, timeout: float = 60, deadline: float | None = None) -> InvocationResult:
        """Runs one invocation and returns the function's response or error. The function is told
        it has `deadline` seconds (Lambda-Runtime-Deadline-Ms; default `timeout`); the harness
        waits `timeout` seconds, so a benchmark can see how long a function would overrun."""
        started = time.monotonic()
        invocation = _Invocation(
            request_id=str(uuid.uuid4()),
            event=event,
            deadline_ms=int((time.time() + (timeout if deadline is None else deadline)) * 1000),
        )
        self._server.pending.put(invocation)
        while not invocation.answered.wait(timeout=0.01):
            if self.process.poll() is not None:
                raise self._exited_error("while an invocation was pending")
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{self.name} did not answer within {timeout} s:\n" + "\n".join(self._lines))
        duration = time.monotonic() - started
        ok, body, error_type_header = invocation.answer
        if ok:
            return InvocationResult(True, json.loads(body) if body else None, None, None, duration)
        error = _error_document(body, {"Lambda-Runtime-Function-Error-Type": error_type_header})
        return InvocationResult(False, None, error.get("errorType"), error.get("errorMessage"), duration)

    def peak_rss_kib(self) -> int | None:
        """The process's peak resident set size (VmHWM) in KiB, while it runs."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        match = re.search(r"^VmHWM:\s+(\d+)\s+kB", status, re.MULTILINE)
        return int(match[1]) if match else None

    def stop(self) -> None:
        """Kills the function and stops the Runtime API; safe to call more than once."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self._server is not None and not self._server.stopping.is_set():
            self._server.stopping.set()
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> "LambdaFunction":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
