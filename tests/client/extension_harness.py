"""Run the real circuit-breaker extension as Lambda runs it: a process started from the layer, beside a stand-in
of the Extensions API, reading the engine's DynamoDB over HTTP. Shared by tests/client/test_extension.py and the benchmark.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Mapping

from circuit_breaker.aws.deployment import Deployment
from circuit_breaker.core.extension_api import CACHE_SECONDS_ENV, CALLEES_ENV, PORT_ENV, TABLE_ENV, CalleeEntry, encode_callees
from tests.conftest import free_port

IDENTIFIER = "3b0d1c5e-circuit-test"


@dataclass
class ApiRecord:
    """What the extension asked of the Extensions API, and when (monotonic seconds)."""

    registered: list[dict[str, Any]] = field(default_factory=list)
    register_at: float | None = None
    next_at: float | None = None
    init_errors: list[dict[str, Any]] = field(default_factory=list)
    exit_errors: list[dict[str, Any]] = field(default_factory=list)
    next_calls: int = 0


class ExtensionsApi(ThreadingHTTPServer):
    """A stand-in of Lambda's Extensions API: register, event/next (blocks until :meth:`shut_down`), init/exit errors."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ApiHandler)
        self.record = ApiRecord()
        self.ready = threading.Event()
        self.shutdown_event = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def shut_down(self) -> None:
        """Send SHUTDOWN to the waiting extension."""
        self.shutdown_event.set()

    def close(self) -> None:
        self.shutdown_event.set()
        self.shutdown()
        self.server_close()


class _ApiHandler(BaseHTTPRequestHandler):
    server: ExtensionsApi
    protocol_version = "HTTP/1.1"

    def _answer(self, status: int, document: Any, headers: Mapping[str, str] | None = None) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def do_POST(self) -> None:  # noqa: N802
        record = self.server.record
        if self.path == "/2020-01-01/extension/register":
            record.register_at = time.monotonic()
            record.registered.append({"name": self.headers.get("Lambda-Extension-Name"), "body": self._body()})
            self._answer(200, {"functionName": "checkout", "functionVersion": "$LATEST", "handler": "index.handler"},
                         {"Lambda-Extension-Identifier": IDENTIFIER})  # fmt: skip
        elif self.path in ("/2020-01-01/extension/init/error", "/2020-01-01/extension/exit/error"):
            entry = {"identifier": self.headers.get("Lambda-Extension-Identifier"),
                     "type": self.headers.get("Lambda-Extension-Function-Error-Type"), "body": self._body()}  # fmt: skip
            (record.init_errors if "init" in self.path else record.exit_errors).append(entry)
            self._answer(202, {"status": "OK"})
        else:
            self._answer(404, {"errorMessage": f"no {self.path}", "errorType": "NotFound"})

    def do_GET(self) -> None:  # noqa: N802
        if self.path != "/2020-01-01/extension/event/next" or self.headers.get("Lambda-Extension-Identifier") != IDENTIFIER:
            self._answer(403, {"errorMessage": "unknown extension", "errorType": "Extension.Forbidden"})
            return
        record = self.server.record
        record.next_calls += 1
        record.next_at = record.next_at or time.monotonic()
        self.server.ready.set()
        self.server.shutdown_event.wait()
        self._answer(200, {"eventType": "SHUTDOWN", "shutdownReason": "spindown", "deadlineMs": int(time.time() * 1000) + 2000},
                     {"Lambda-Extension-Event-Identifier": "event-1"})  # fmt: skip

    def log_message(self, *args: Any) -> None:
        return


def layer_dir(assembly: Path, template: Mapping[str, Any]) -> Path:
    """The extension layer's asset in the synthesized assembly (what the layer's zip holds)."""
    [layer] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    return assembly / f"asset.{layer['Properties']['Content']['S3Key'].removesuffix('.zip')}"


def callee_entries(deployment: Deployment, names: list[str]) -> dict[str, CalleeEntry]:
    """What grant_read_circuits writes for ``names`` (limits from the deployed registry)."""
    return {
        name: CalleeEntry(
            max_break_seconds=deployment.registry[name].max_break_seconds,  # type: ignore[arg-type]
            probe_lease_seconds=deployment.registry[name].probe_lease_seconds,  # type: ignore[arg-type]
            on_store_error=deployment.registry[name].on_store_error or "call",
            fallback=name == "flaky-static",
        )
        for name in names
    }


class Extension:
    """The extension process, started from the layer as Lambda starts it (``/opt/extensions/circuit-breaker``)."""

    def __init__(self, layer: Path, endpoint: str, environment: Mapping[str, str]) -> None:
        self.api = ExtensionsApi()
        self.port = int(environment.get(PORT_ENV) or free_port())
        env = {
            # Lambda's own variables, and the engine's DynamoDB as the endpoint; nothing else of this process.
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_ENDPOINT_URL": endpoint,
            PORT_ENV: str(self.port),
            **environment,
        }  # fmt: skip
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [str(layer / "extensions" / "circuit-breaker")], env=env, cwd="/", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    @classmethod
    def configured(
        cls, layer: Path, endpoint: str, deployment: Deployment, names: list[str], cache_seconds: float | None = None
    ) -> "Extension":
        environment = {TABLE_ENV: deployment.table_name, CALLEES_ENV: encode_callees(callee_entries(deployment, names))}
        if cache_seconds is not None:
            environment[CACHE_SECONDS_ENV] = f"{cache_seconds:g}"
        return cls(layer, endpoint, environment)

    @property
    def registered_after(self) -> float:
        """Seconds from the process's start to its registration (Lambda starts the runtime only after it)."""
        return self.api.record.register_at - self.started  # type: ignore[operator]

    def wait_ready(self, timeout: float = 20.0) -> float:
        """Wait for the extension's first event/next (Lambda's init waits for it); seconds since the process started."""
        if not self.api.ready.wait(timeout):
            self.stop()
            raise AssertionError(f"the extension never called event/next: {self.process.stderr.read()[-2000:]}")
        return self.api.record.next_at - self.started  # type: ignore[operator]

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def circuit(self, callee: str) -> dict[str, Any]:
        status, document = self.get(f"/circuits/{callee}")
        assert status == 200, document
        return document

    def stop(self, timeout: float = 10.0) -> int:
        """SHUTDOWN, then wait for the process to exit; its exit status."""
        self.api.shut_down()
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.api.close()
        return code

    def __enter__(self) -> "Extension":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.stop()
        else:
            self.api.close()
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()
