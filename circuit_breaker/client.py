"""The caller's client: call a callee through the breaker and get its answer, or a typed exception.

A call is one ``StartSyncExecution``, on AWS and on the local engine alike (the engine implements it,
``circuit_breaker/local/patches/sync_executions.py``), so the code path the tests run is the one that
runs on AWS. ``start`` and ``wait`` remain for asynchronous use (``StartExecution``; only the local
engine describes Express executions). A callee that calls the breaker itself passes on the depth it
was given (``depth_from_context``), so runaway call chains stop at the limit instead of looping.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.config import Config

from circuit_breaker.deployment import Connection, Deployment
from circuit_breaker.errors import BreakerError, ExecutionFailedError, error_from_failure
from circuit_breaker.extension_client import ExtensionReader
from circuit_breaker.settings import EXPRESS_MAX_SECONDS

#: Express executions end within five minutes; waits and reads give up a little after that.
_LOCAL_WAIT_SECONDS = EXPRESS_MAX_SECONDS + 10.0


@dataclass(frozen=True)
class CallResult:
    """A finished execution: its output (the callee's answer) and the execution's ARN."""

    output: Any
    execution_arn: str


def depth_from_context(context: Any) -> int:
    """The call-chain depth the breaker handed a Lambda callee (``ClientContext.custom.breakerDepth``).

    A callee that calls the breaker again passes this as ``depth``; outside a chain it is 0.
    """
    custom = getattr(getattr(context, "client_context", None), "custom", None) or {}
    depth = custom.get("breakerDepth", 0)
    return depth if isinstance(depth, int) and depth >= 0 else 0


def execution_input(callee: str, payload: Any = None, depth: int | None = None) -> str:
    """The workflow's input document for one call."""
    document: dict[str, Any] = {"callee": callee}
    if payload is not None:
        document["payload"] = payload
    if depth is not None:
        document["depth"] = depth
    return json.dumps(document)


def stepfunctions_client(connection: Connection) -> Any:
    """A Step Functions client for synchronous calls: a read waits out a whole Express execution.

    botocore's default read timeout (60 s) is shorter than an Express execution may run (300 s), and a
    timed-out read is retried, which would make the same call a second time.
    """
    return connection.client("stepfunctions", Config(read_timeout=_LOCAL_WAIT_SECONDS))


class CircuitBreakerClient:
    """Calls callees through one deployed circuit breaker (its state machine)."""

    def __init__(self, connection: Connection, deployment: Deployment | str, poll_interval: float = 0.02) -> None:
        """``deployment``: the breaker's resources (:class:`Deployment`), or just its state machine's ARN."""
        self.connection = connection
        self.deployment = deployment if isinstance(deployment, Deployment) else None
        self.state_machine_arn = deployment.state_machine_arn if isinstance(deployment, Deployment) else deployment
        self.poll_interval = poll_interval
        self._sfn = stepfunctions_client(connection)
        self.extension = ExtensionReader.from_environment()  # the circuit-breaker extension, when the function has it

    @classmethod
    def discover(
        cls, connection: Connection | None = None, stack_name: str | None = None, state_machine_arn: str | None = None
    ) -> "CircuitBreakerClient":
        """A client for the breaker of ``state_machine_arn``, or in stack ``stack_name``, or the only one in the region.

        On AWS, or where ``connection`` points; see :meth:`Deployment.discover`.
        """
        connection = connection or Connection.create()
        return cls(connection, Deployment.discover(connection, stack_name, state_machine_arn))

    @classmethod
    def for_state_machine(cls, state_machine_arn: str, connection: Connection | None = None) -> "CircuitBreakerClient":
        """A client for the breaker whose state machine is ``state_machine_arn`` (a caller needs nothing else)."""
        return cls(connection or Connection.create(), state_machine_arn)

    def call(self, callee: str, payload: Any = None, depth: int | None = None) -> CallResult:
        """Call ``callee`` with ``payload`` and wait for its answer (one ``StartSyncExecution``).

        Raises a :class:`~circuit_breaker.errors.BreakerError` subclass when the execution fails:
        ``CircuitOpenError``, ``CalleeFailedError``, ``UnknownCalleeError``...
        With the extension, a circuit it reads as failing fast raises without starting an execution.
        """
        refusal = self.extension.refusal(callee) if self.extension else None
        if refusal is not None:
            raise refusal
        answer = self._sfn.start_sync_execution(
            stateMachineArn=self.state_machine_arn, input=execution_input(callee, payload, depth)
        )
        return result_of(answer)

    def start(self, callee: str, payload: Any = None, depth: int | None = None) -> str:
        """Start a call without waiting for it (``StartExecution``); returns the execution ARN."""
        document = execution_input(callee, payload, depth)
        return self._sfn.start_execution(stateMachineArn=self.state_machine_arn, input=document)["executionArn"]

    def wait(self, execution_arn: str, timeout: float = _LOCAL_WAIT_SECONDS) -> dict[str, Any]:
        """Poll a local execution until it ends (``DescribeExecution`` does not serve Express executions on AWS)."""
        return wait_for_execution(self._sfn, execution_arn, self.poll_interval, timeout)


def result_of(finished: dict[str, Any]) -> CallResult:
    """The answer of a finished execution (``StartSyncExecution``'s or ``DescribeExecution``'s), or its error raised."""
    arn = finished["executionArn"]
    status = finished["status"]
    if status == "SUCCEEDED":
        return CallResult(output=json.loads(finished.get("output") or "null"), execution_arn=arn)
    if status == "FAILED":
        raise error_from_failure(finished.get("error"), finished.get("cause"), arn)
    raise ExecutionFailedError(
        finished.get("error") or f"States.{status}", {"message": f"the execution ended {status}"}, arn
    )


def wait_for_execution(
    stepfunctions: Any, execution_arn: str, poll_interval: float = 0.02, timeout: float = _LOCAL_WAIT_SECONDS
) -> dict[str, Any]:
    """``DescribeExecution`` every ``poll_interval`` seconds until the execution ends; returns the last answer.

    Only a local engine answers this for Express executions (on AWS, use ``StartSyncExecution``).
    """
    deadline = time.monotonic() + timeout
    while True:
        described = stepfunctions.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise ExecutionFailedError("States.Timeout", {"message": f"still running after {timeout:.0f} s"}, execution_arn)
        time.sleep(poll_interval)


__all__ = [
    "BreakerError",
    "CallResult",
    "CircuitBreakerClient",
    "depth_from_context",
    "execution_input",
    "result_of",
    "stepfunctions_client",
    "wait_for_execution",
]
