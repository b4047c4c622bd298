"""Run Lambda handlers in this process, the way the Lambda Python runtime runs them.

moto needs Docker to run a function. The local engine runs it here instead, from the function's own
deployment package (the zip the synthesized template's asset became): the module is loaded with the
function's environment, the handler gets a Lambda-shaped context (``client_context`` included), the
function's timeout is enforced, and errors come back as the runtime reports them
(``errorType``/``errorMessage``/``stackTrace``, ``FunctionError: Unhandled``). An answer is encoded as
the runtime (awslambdaric) encodes it, with simplejson: see :func:`marshal_response`.

Environment variables and standard output are per invocation: ``os.environ`` and ``sys.stdout``
are replaced (once) by views that show the running handler its own variables and capture what it
prints, and show every other thread the real ones.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import decimal
import hashlib
import importlib.util
import io
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import simplejson

_overlay_environ: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("lambda_environ", default=None)
_captured_stdout: contextvars.ContextVar[io.StringIO | None] = contextvars.ContextVar("lambda_stdout", default=None)


class _InvocationEnviron(MutableMapping):
    """``os.environ`` as a handler sees it: its function's variables; the process's elsewhere."""

    def __init__(self, real: MutableMapping[str, str]) -> None:
        self.real = real

    def _current(self) -> MutableMapping[str, str]:
        overlay = _overlay_environ.get()
        return self.real if overlay is None else overlay

    def __getitem__(self, key: str) -> str:
        return self._current()[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._current()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._current()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())

    def copy(self) -> dict[str, str]:
        return dict(self._current())


class _InvocationStdout(io.TextIOBase):
    """``sys.stdout`` that captures a handler's output into its invocation's log."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def write(self, text: str) -> int:
        buffer = _captured_stdout.get()
        return (buffer if buffer is not None else self.real).write(text)

    def flush(self) -> None:
        if _captured_stdout.get() is None:
            self.real.flush()

    def isatty(self) -> bool:
        return _captured_stdout.get() is None and self.real.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.real, "encoding", "utf-8")


_install_lock = threading.Lock()
#: The one stdout view: what a handler's module keeps at import time (a logging handler's stream, say)
#: stays routed to the running invocation's log even after someone else replaces ``sys.stdout``.
_STDOUT = _InvocationStdout(sys.stdout)


def install_process_views() -> None:
    """Put the per-invocation views in ``os.environ`` and ``sys.stdout`` (again if replaced since)."""
    with _install_lock:
        if not isinstance(os.environ, _InvocationEnviron):
            os.environ = _InvocationEnviron(os.environ)  # type: ignore[assignment]
        if sys.stdout is not _STDOUT:
            _STDOUT.real = sys.stdout
            sys.stdout = _STDOUT


@dataclass(frozen=True)
class FunctionSpec:
    """What the runtime needs to know of a function (taken from moto's ``LambdaFunction``)."""

    function_name: str
    function_arn: str
    handler: str
    code_zip: bytes
    environment: dict[str, str] = field(default_factory=dict)
    timeout_seconds: float = 3
    memory_mb: int = 128
    version: str = "$LATEST"
    region: str = "us-east-1"
    runtime: str = "python3.14"


@dataclass(frozen=True)
class ClientContext:
    """``context.client_context`` as the Lambda Python runtime builds it from ``ClientContext``."""

    client: Any = None
    custom: dict[str, Any] | None = None
    env: dict[str, Any] | None = None


class LambdaContext:
    """The context object a Python handler receives."""

    def __init__(self, spec: FunctionSpec, request_id: str, deadline: float, client_context: ClientContext | None) -> None:
        self.function_name = spec.function_name
        self.function_version = spec.version
        self.invoked_function_arn = spec.function_arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.function_name}"
        self.log_stream_name = f"{datetime.now(timezone.utc):%Y/%m/%d}/[{spec.version}]{request_id.replace('-', '')}"
        self.identity = None
        self.client_context = client_context
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    """The outcome of one invocation, as the Invoke API returns it."""

    payload: bytes
    function_error: str | None
    log: str
    request_id: str


class MarshalError(ValueError):
    """The handler's answer cannot be written as JSON: the runtime reports ``Runtime.MarshalError``."""


def _decimal_as_number(value: Any) -> Any:
    """A ``Decimal`` (what boto3 reads a DynamoDB number as) is written with its own digits; NaN as ``NaN``."""
    if isinstance(value, decimal.Decimal):
        return math.nan if value.is_nan() else simplejson.RawJSON(str(value))
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def marshal_response(result: Any, runtime: str) -> bytes:
    """A handler's answer as AWS's Python runtime posts it (awslambdaric's ``LambdaMarshaller``).

    ``bytes`` go out as they are, as an opaque payload that Lambda returns, JSON or not. Anything else is encoded with simplejson, whose defaults differ from the standard library's:
    bytes inside the answer are read as UTF-8 text, a namedtuple is an object, NaN and Infinity are
    written as such; a ``Decimal`` keeps its digits. Only the ``python3.12`` runtime writes non-ASCII
    characters unescaped. What the encoder refuses (a set, an object, a cycle, bytes that are not
    UTF-8) raises :class:`MarshalError` with the runtime's message.
    """
    if isinstance(result, bytes):
        return result
    # allow_nan as the runtime sets it: simplejson 3.19 made strict JSON its default
    encoder = simplejson.JSONEncoder(
        use_decimal=False, allow_nan=True, ensure_ascii=runtime != "python3.12", default=_decimal_as_number
    )
    try:
        return encoder.encode(result).encode("utf-8")
    except Exception as error:  # noqa: BLE001 - the runtime turns any encoder failure into a MarshalError
        raise MarshalError(f"Unable to marshal response: {error}") from None


class InvalidClientContextError(ValueError):
    """The ``ClientContext`` of an invoke is not base64-encoded JSON (Lambda rejects such a request)."""


def decode_client_context(header: str | None) -> ClientContext | None:
    """Decode the ``X-Amz-Client-Context`` header (base64 JSON with ``client``, ``custom``, ``env``)."""
    if not header:
        return None
    try:
        data = json.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError) as error:
        raise InvalidClientContextError(f"ClientContext is not base64-encoded JSON: {error}") from None
    if not isinstance(data, dict):
        raise InvalidClientContextError("ClientContext must encode a JSON object")
    return ClientContext(client=data.get("client"), custom=data.get("custom"), env=data.get("env"))


class LambdaRuntime:
    """Loads deployment packages once and runs their handlers, each invocation in its own thread."""

    def __init__(self, work_dir: Path | None = None) -> None:
        self._owns_work_dir = work_dir is None
        self._work_dir = Path(work_dir or tempfile.mkdtemp(prefix="breaker-lambda-"))
        self._handlers: dict[tuple[str, str], Callable[[Any, Any], Any]] = {}
        self._load_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._invocations: dict[str, int] = {}
        self._scripted: dict[str, list[tuple[bytes, str | None]]] = {}
        install_process_views()

    def script(self, function_name: str, payload: bytes, function_error: str | None = "Unhandled", times: int = 1) -> None:
        """Make the next ``times`` invocations of a function answer ``payload`` without running its handler.

        For behaviour a Python handler cannot produce (an error payload without ``errorType``, as other
        runtimes or a crashed sandbox send), to test how the workflow copes.
        """
        with self._count_lock:
            self._scripted.setdefault(function_name, []).extend([(payload, function_error)] * times)

    def close(self) -> None:
        """Remove the unpacked deployment packages (when this runtime made their folder)."""
        if self._owns_work_dir:
            shutil.rmtree(self._work_dir, ignore_errors=True)

    def clear_scripts(self) -> None:
        """Forget every scripted response not yet used."""
        with self._count_lock:
            self._scripted.clear()

    def invocations(self, function_name: str) -> int:
        """How many times the function has been invoked in this runtime."""
        with self._count_lock:
            return self._invocations.get(function_name, 0)

    def _environment(self, spec: FunctionSpec) -> dict[str, str]:
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith(("AWS_LAMBDA_", "_HANDLER"))
        }
        environment.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(spec.timeout_seconds)),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "AWS_REGION": spec.region,
                "AWS_DEFAULT_REGION": spec.region,
                "_HANDLER": spec.handler,
            }
        )
        environment.update(spec.environment)
        return environment

    def _code_dir(self, spec: FunctionSpec) -> Path:
        """Where the package is unpacked here (``/var/task`` on Lambda)."""
        return self._work_dir / hashlib.sha256(spec.code_zip).hexdigest()[:16]

    def _load(self, spec: FunctionSpec, environment: dict[str, str]) -> Callable[[Any, Any], Any]:
        """Import the handler's module from its package, with the function's environment (Lambda's init)."""
        digest = hashlib.sha256(spec.code_zip).hexdigest()
        key = (digest, spec.handler)
        with self._load_lock:
            if key in self._handlers:
                return self._handlers[key]
            code_dir = self._code_dir(spec)
            if not code_dir.exists():
                with zipfile.ZipFile(io.BytesIO(spec.code_zip)) as package:
                    package.extractall(code_dir)
            module_path, _, function_name = spec.handler.rpartition(".")
            source = code_dir / (module_path.replace(".", "/") + ".py")
            if not module_path or not source.exists():
                raise HandlerNotFoundError(f"Unable to import module '{module_path}': no {source.name} in the package")
            module_name = f"_breaker_lambda_{digest[:16]}_{module_path.replace('.', '_')}"
            module_spec = importlib.util.spec_from_file_location(module_name, source)
            module = importlib.util.module_from_spec(module_spec)
            token_env, token_out = _overlay_environ.set(environment), _captured_stdout.set(io.StringIO())
            sys.path.insert(0, str(code_dir))
            install_process_views()  # the module may keep sys.stdout: make sure it keeps the view
            try:
                module_spec.loader.exec_module(module)
            finally:
                sys.path.remove(str(code_dir))
                _overlay_environ.reset(token_env)
                _captured_stdout.reset(token_out)
            handler = getattr(module, function_name, None)
            if not callable(handler):
                raise HandlerNotFoundError(f"Handler '{function_name}' missing on module '{module_path}'")
            self._handlers[key] = handler
            sys.modules[module_name] = module
            return handler

    def invoke(self, spec: FunctionSpec, event: Any, client_context: ClientContext | None = None) -> Invocation:
        """Run the handler on ``event`` and wait for it, at most the function's timeout."""
        install_process_views()  # again: a test runner may have swapped sys.stdout since
        request_id = str(uuid.uuid4())
        with self._count_lock:
            self._invocations[spec.function_name] = self._invocations.get(spec.function_name, 0) + 1
            scripted = self._scripted.get(spec.function_name)
            answer = scripted.pop(0) if scripted else None
        if answer is not None:
            return Invocation(payload=answer[0], function_error=answer[1], log="(scripted response)\n", request_id=request_id)
        environment = self._environment(spec)
        log = io.StringIO()
        log.write(f"START RequestId: {request_id} Version: {spec.version}\n")
        outcome: dict[str, Any] = {}
        started = time.monotonic()
        deadline = started + spec.timeout_seconds

        def run() -> None:
            _overlay_environ.set(environment)
            _captured_stdout.set(log)
            try:
                handler = self._load(spec, environment)
                context = LambdaContext(spec, request_id, deadline, client_context)
                outcome["result"] = handler(event, context)
            except BaseException as error:  # noqa: BLE001 - the runtime reports whatever the handler raised
                outcome["error"] = error
                # The runtime's own frame (this function) is not part of the handler's stack trace.
                outcome["trace"] = traceback.format_list(traceback.extract_tb(error.__traceback__)[1:])

        worker = threading.Thread(target=run, name=f"lambda-{spec.function_name}", daemon=True)
        worker.start()
        worker.join(spec.timeout_seconds)
        elapsed = time.monotonic() - started
        if worker.is_alive():
            # Lambda stops the sandbox; a thread cannot be stopped, so it is left to finish unobserved.
            message = f"{datetime.now(timezone.utc).isoformat()} {request_id} Task timed out after {elapsed:.2f} seconds"
            body: dict[str, Any] = {"errorType": "Sandbox.Timedout", "errorMessage": message}
            log.write(message + "\n")
            return self._finish(log, request_id, elapsed, spec, json.dumps(body).encode(), "Unhandled")
        if "error" in outcome:
            body = self._error_body(spec, request_id, outcome["error"], outcome["trace"])
            log.write(f"[ERROR] {body['errorType']}: {body['errorMessage']}\n")
            return self._finish(log, request_id, elapsed, spec, json.dumps(body).encode(), "Unhandled")
        try:
            payload = marshal_response(outcome["result"], spec.runtime)
        except MarshalError as error:
            body = {"errorMessage": str(error), "errorType": "Runtime.MarshalError", "requestId": request_id, "stackTrace": []}
            log.write(f"[ERROR] {body['errorType']}: {body['errorMessage']}\n")
            return self._finish(log, request_id, elapsed, spec, json.dumps(body).encode(), "Unhandled")
        return self._finish(log, request_id, elapsed, spec, payload, None)

    def _error_body(self, spec: FunctionSpec, request_id: str, error: BaseException, trace: list[str]) -> dict[str, Any]:
        """The error document the runtime posts for an exception the handler raised.

        Stack frames name the package's files under ``/var/task`` and keep their line ends, as the
        runtime's ``traceback.format_list`` does. An exception that cannot be turned into text makes the
        runtime itself fail while reporting it: Lambda then answers ``Runtime.ExitError``.
        """
        try:
            message = str(error)
        except Exception:  # noqa: BLE001 - whatever __str__ raises, the runtime process dies on it
            return {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status 1",
            }
        code_dir = str(self._code_dir(spec))
        return {
            "errorMessage": message,
            "errorType": "Runtime.ImportModuleError" if isinstance(error, HandlerNotFoundError) else type(error).__name__,
            "requestId": request_id,
            "stackTrace": [line.replace(code_dir, "/var/task") for line in trace],
        }

    @staticmethod
    def _finish(log: io.StringIO, request_id: str, elapsed: float, spec: FunctionSpec, payload: bytes, error: str | None) -> Invocation:
        log.write(f"END RequestId: {request_id}\n")
        log.write(
            f"REPORT RequestId: {request_id}\tDuration: {elapsed * 1000:.2f} ms\t"
            f"Memory Size: {spec.memory_mb} MB\n"
        )
        return Invocation(payload=payload, function_error=error, log=log.getvalue(), request_id=request_id)


class HandlerNotFoundError(ImportError):
    """The handler named in the function's configuration is not in its package."""
