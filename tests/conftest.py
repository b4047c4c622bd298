"""Shared fixtures: one synthesized assembly and one local engine for the whole test session.

The app is synthesized once (about 6 s) with extra callees registered through the
``circuit_breaker`` context, exactly as a user would register them in ``cdk.json``: sample
functions under other names with other settings, and one existing function by ARN. The engine
deploys that assembly (template and assets) and runs every execution test on the real ASL.
"""

from __future__ import annotations

import copy
import functools
import fcntl
import io
import json
import os
import socket
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import settings as hypothesis_settings

from circuit_breaker.client.calls import CircuitBreakerClient
from circuit_breaker.operate.history import ExecutionPath, fetch_path
from circuit_breaker.local.deployer import project_context, synthesize
from circuit_breaker.local.engine import LOCAL_ACCOUNT, EngineConfig, LocalEngine
from circuit_breaker.local.event_capture import EventCapture

PROJECT_DIR = Path(__file__).resolve().parent.parent

# `make test` is repeatable: each property test draws the same examples on every run, so a failure in CI is one
# anybody can reproduce. HYPOTHESIS_PROFILE=explore draws new examples (as a fuzzing session would).
hypothesis_settings.register_profile("repeatable", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

#: A function that is not part of the app, registered by ARN; created on the engine by the fixture.
INSPECTOR_NAME = "breaker-test-inspector"
INSPECTOR_ARN = f"arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT}:function:{INSPECTOR_NAME}"
INSPECTOR_CODE = '''
import decimal, os

#: Answers JSON cannot carry as they are, for the marshalling tests: {"python_answer": NAME} returns one.
PYTHON_ANSWERS = {"a set": lambda: {"ids": {1, 2}}, "a decimal": lambda: {"price": decimal.Decimal("19.99")}, "bytes": lambda: b"plain text"}

def handler(event, context):
    if isinstance(event, dict) and event.get("python_answer") in PYTHON_ANSWERS:
        return PYTHON_ANSWERS[event["python_answer"]]()
    custom = context.client_context.custom if context.client_context else None
    return {
        "event": event,
        "depth": (custom or {}).get("breakerDepth"),
        "idempotency_key": (custom or {}).get("idempotencyKey"),
        "env": os.environ.get("INSPECTOR_SETTING"),
        "function": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
'''

#: A function that records each idempotency key once (tests/operate/test_redrive.py creates it and its table).
RECORDER_NAME = "breaker-test-recorder"
RECORDER_ARN = f"arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT}:function:{RECORDER_NAME}"

#: A function that calls the breaker again (tests/workflow/test_call_chains.py creates it).
RELAY_NAME = "breaker-test-relay"
RELAY_ARN = f"arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT}:function:{RELAY_NAME}"

#: A static fallback answer with everything that could break the registry's quoting: quotes, an apostrophe,
#: backslashes, unicode and a would-be expression; and null members, which CDK's context lookup would drop.
STATIC_ANSWER = {"status": "degraded", "items": [None], "note": "it's \"fine\" \\ ✓ {% $x %}", "eta": None, "detail": {"reason": None}}

#: Callees the tests register on top of cdk.json's: (settings in cdk.json context form).
TEST_CALLEES: dict[str, dict[str, Any]] = {
    "flaky-strict": {"sample_function": "flaky", "failure_threshold": 1, "break_seconds": 2, "max_break_seconds": 8},
    "flaky-window": {"sample_function": "flaky", "failure_threshold": 2, "failure_window_seconds": 30},
    "flaky-slow": {"sample_function": "flaky", "timeout_seconds": 1},
    "echo-closed": {"sample_function": "echo", "on_store_error": "fail"},
    "flaky-answers": {"sample_function": "flaky", "failure_threshold": 1, "ignored_errors": ["CardDeclined", "ValidationError"]},
    "flaky-once": {
        "sample_function": "flaky",
        "retry": {"interval_seconds": 2, "backoff_rate": 1.0, "max_attempts": 1, "max_delay_seconds": 8, "jitter_strategy": "NONE"},
    },
    "flaky-deadline": {"sample_function": "flaky", "timeout_seconds": 1, "deadline_seconds": 4, "retry": {"jitter_strategy": "NONE"}},
    "flaky-backed": {
        "sample_function": "flaky",
        "failure_threshold": 1,
        "retry": {"max_attempts": 0},
        "fallback": {"function_arn": INSPECTOR_ARN, "on_failure": True},
    },
    "flaky-static": {"sample_function": "flaky", "failure_threshold": 2, "fallback": {"answer": STATIC_ANSWER}},
    "flaky-null": {"sample_function": "flaky", "fallback": {"answer": None}},  # null is an answer too
    "inspector": {"function_arn": INSPECTOR_ARN},
    "relay": {"function_arn": RELAY_ARN, "failure_threshold": 1000, "timeout_seconds": 30},
    "recorder": {"function_arn": RECORDER_ARN, "failure_threshold": 3, "timeout_seconds": 2, "retry": {"max_attempts": 0}},
    "flaky-sharded": {
        "sample_function": "flaky", "read_shards": 4, "consistent_reads": False, "circuit_keys": True,
        "failure_threshold": 1, "break_seconds": 2, "max_break_seconds": 8, "retry": {"max_attempts": 0},
    },
    "flaky-rate": {
        "sample_function": "flaky", "failure_rate_threshold": 0.5, "minimum_calls": 4, "slow_call_seconds": 0.5,
        "timeout_seconds": 5, "retry": {"max_attempts": 0},
    },
    "flaky-recovery": {
        "sample_function": "flaky", "failure_threshold": 1, "break_seconds": 2, "max_break_seconds": 8,
        "success_threshold": 3, "ramp_seconds": 100, "retry": {"max_attempts": 0},
    },
    "flaky-observe": {"sample_function": "flaky", "mode": "observe", "failure_threshold": 1, "break_seconds": 2, "retry": {"max_attempts": 0}},
    "flaky-health": {
        "sample_function": "flaky",
        "break_seconds": 300,
        "health_check": {"payload": {"fail": False}, "failures_to_open": 2, "successes_to_close": 2, "timeout_seconds": 2},
    },
}


#: The callees with per-callee metrics (a log group takes 100 metric filters: 16 callees at 6 each); the others are
#: left unmonitored, as an app with more callees than that names the ones it monitors.
MONITORED_CALLEES = sorted(set(["echo", "flaky", *TEST_CALLEES]) - {"flaky-slow", "flaky-deadline", "flaky-window", "flaky-null"})


def session_context() -> dict[str, Any]:
    block = copy.deepcopy(project_context(PROJECT_DIR)["circuit_breaker"])
    block.setdefault("callees", {}).update(TEST_CALLEES)
    block["monitored_callees"] = MONITORED_CALLEES
    return {"circuit_breaker": block}


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's cloud assembly, synthesized once per run: under pytest-xdist the first worker synthesizes it
    into the run's shared temporary directory (the others wait on a lock) and every worker deploys that one."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return synthesize(PROJECT_DIR, tmp_path_factory.mktemp("cdk.out"), session_context())
    shared = tmp_path_factory.getbasetemp().parent / "cdk.out-session"
    with open(f"{shared}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "manifest.json").exists():
            building = Path(tempfile.mkdtemp(prefix="cdk.out-", dir=shared.parent))
            synthesize(PROJECT_DIR, building, session_context())
            building.rename(shared)
    return shared


@pytest.fixture(scope="session")
def template(assembly: Path) -> dict[str, Any]:
    return json.loads((assembly / "CircuitBreaker.template.json").read_text())


def _number(text: str) -> int | float:
    """A DynamoDB number as a test compares it: whole numbers as int (weighted counts may have decimals)."""
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def engine(assembly: Path):
    local = LocalEngine(assembly, EngineConfig(wait_scale=0)).start()
    session = local.session()
    role = session.client("iam").create_role(
        RoleName="inspector-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    session.client("lambda").create_function(
        FunctionName=INSPECTOR_NAME,
        Runtime="python3.14",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _zip(INSPECTOR_CODE)},
        Timeout=5,
        Environment={"Variables": {"INSPECTOR_SETTING": "from-the-function-configuration"}},
    )
    yield local
    local.stop()


@dataclass
class Outcome:
    """A finished execution, as a test looks at it. Its path is read from the history when a test first asks
    (reading and serialising a history is most of what a test's call costs on the engine)."""

    status: str
    arn: str
    output: Any = None
    error: str | None = None
    cause: Any = None
    fetch_path: Callable[[], ExecutionPath] | None = field(default=None, repr=False, compare=False)
    seconds: float = 0.0

    @functools.cached_property
    def path(self) -> ExecutionPath | None:
        return self.fetch_path() if self.fetch_path else None

    @property
    def states(self) -> list[str]:
        return self.path.state_names if self.path else []


@dataclass
class Breaker:
    """The deployed workflow on the engine, with helpers to run it and look at its table."""

    engine: LocalEngine
    sfn: Any = field(init=False)
    dynamodb: Any = field(init=False)

    def __post_init__(self) -> None:
        session = self.engine.session()
        self.sfn = session.client("stepfunctions")
        self.dynamodb = session.client("dynamodb")
        self.client = CircuitBreakerClient(self.engine.connection(), self.engine.deployment(), poll_interval=0.01)

    @staticmethod
    def now() -> float:
        return time.time()

    @property
    def table(self) -> str:
        return self.engine.deployment().table_name

    def start(self, document: Any) -> str:
        """Start an execution with any input (``document`` is serialised as JSON)."""
        return self.sfn.start_execution(
            stateMachineArn=self.engine.deployment().state_machine_arn, input=json.dumps(document)
        )["executionArn"]

    def finish(self, arn: str, started: float | None = None) -> Outcome:
        described = self.client.wait(arn, timeout=60)
        cause = described.get("cause")
        try:
            cause = json.loads(cause) if cause else None
        except ValueError:
            pass
        return Outcome(
            status=described["status"],
            arn=arn,
            output=json.loads(described["output"]) if described.get("output") else None,
            error=described.get("error"),
            cause=cause,
            fetch_path=functools.partial(fetch_path, self.sfn, arn),
            seconds=time.monotonic() - started if started else 0.0,
        )

    def wait_until_in(self, arn: str, state: str, timeout: float = 10.0) -> None:
        """Wait until the execution has entered ``state`` (to change the table while it is there)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if state in fetch_path(self.sfn, arn).state_names:
                return
            time.sleep(0.01)
        raise AssertionError(f"{arn} did not reach {state!r} within {timeout} s")

    def run(self, document: Any) -> Outcome:
        started = time.monotonic()
        return self.finish(self.start(document), started)

    def call(self, callee: str, payload: Any = None, **extra: Any) -> Outcome:
        document: dict[str, Any] = {"callee": callee, **extra}
        if payload is not None:
            document["payload"] = payload
        return self.run(document)

    def item(self, callee: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(TableName=self.table, Key={"ServiceName": {"S": callee}}, ConsistentRead=True).get("Item")
        if item is None:
            return None
        return {k: (_number(v["N"]) if "N" in v else next(iter(v.values()))) for k, v in item.items()}

    def put_item(self, callee: str, **attributes: Any) -> None:
        item: dict[str, Any] = {"ServiceName": {"S": callee}}
        for key, value in attributes.items():
            item[key] = {"N": str(value)} if isinstance(value, (int, float)) and not isinstance(value, bool) else {"S": str(value)}
        self.dynamodb.put_item(TableName=self.table, Item=item)

    def invocations(self, logical_prefix: str) -> int:
        return self.engine.runtime.invocations(self.engine.function_name(logical_prefix))

    def clear(self) -> None:
        self.engine.faults.clear()
        self.engine.runtime.clear_scripts()
        for item in self.dynamodb.scan(TableName=self.table, ConsistentRead=True).get("Items", []):
            self.dynamodb.delete_item(TableName=self.table, Key={"ServiceName": item["ServiceName"]})


@pytest.fixture
def breaker(engine: LocalEngine) -> Breaker:
    helper = Breaker(engine)
    helper.clear()
    yield helper
    helper.clear()


@pytest.fixture(scope="session")
def _transition_events(engine: LocalEngine) -> EventCapture:
    return EventCapture(engine, "test-transitions")


@pytest.fixture
def transitions(_transition_events: EventCapture, breaker: Breaker) -> EventCapture:
    _transition_events.drain()
    return _transition_events


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def endpoint(engine: LocalEngine) -> str:
    """The engine served over HTTP, for the CLI (as `breaker local up` serves it)."""
    return engine.serve("127.0.0.1", free_port())


def run_cli(endpoint: str, *args: str) -> tuple[int, str, str]:
    """Run ``breaker --endpoint-url ENDPOINT ARGS...``; returns exit code, stdout and stderr."""
    from typer.testing import CliRunner

    from circuit_breaker.cli.app import app

    result = CliRunner().invoke(app, ["--endpoint-url", endpoint, *args])
    return result.exit_code, result.stdout, result.stderr
