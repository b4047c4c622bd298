"""The caller's client: call a callee through the breaker and get its answer, or a typed exception.

On AWS a call is one ``StartSyncExecution`` (Express workflows answer synchronously). A local engine
has no synchronous start, so there the client starts the execution and polls it until it ends.
A callee that calls the breaker itself passes on the depth it was given (``depth_from_context``),
so runaway call chains stop at the limit instead of looping.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from circuit_breaker.deployment import Connection, Deployment
from circuit_breaker.errors import BreakerError, ExecutionFailedError, error_from_failure

#: Express executions end within five minutes; a local poll gives up a little after that.
_LOCAL_WAIT_SECONDS = 310.0


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


class CircuitBreakerClient:
    """Calls callees through one deployed circuit breaker."""

    def __init__(self, connection: Connection, deployment: Deployment, poll_interval: float = 0.02) -> None:
        self.connection = connection
        self.deployment = deployment
        self.poll_interval = poll_interval
        self._sfn = connection.client("stepfunctions")

    @classmethod
    def discover(
        cls, connection: Connection | None = None, stack_name: str | None = None, state_machine_arn: str | None = None
    ) -> "CircuitBreakerClient":
        """A client for the breaker of ``state_machine_arn``, or in stack ``stack_name``, or the only one in the region.

        On AWS, or where ``connection`` points; see :meth:`Deployment.discover`.
        """
        connection = connection or Connection.create()
        return cls(connection, Deployment.discover(connection, stack_name, state_machine_arn))

    def call(self, callee: str, payload: Any = None, depth: int | None = None) -> CallResult:
        """Call ``callee`` with ``payload`` and wait for its answer.

        Raises a :class:`~circuit_breaker.errors.BreakerError` subclass when the execution fails:
        ``CircuitOpenError``, ``CalleeFailedError``, ``UnknownCalleeError``...
        """
        document = execution_input(callee, payload, depth)
        if self.connection.local:
            arn = self._sfn.start_execution(stateMachineArn=self.deployment.state_machine_arn, input=document)["executionArn"]
            described = self.wait(arn)
        else:
            described = self._sfn.start_sync_execution(stateMachineArn=self.deployment.state_machine_arn, input=document)
            arn = described["executionArn"]
        status = described["status"]
        if status == "SUCCEEDED":
            return CallResult(output=json.loads(described.get("output") or "null"), execution_arn=arn)
        if status == "FAILED":
            raise error_from_failure(described.get("error"), described.get("cause"), arn)
        raise ExecutionFailedError(f"States.{status}", {"message": f"the execution ended {status}"}, arn)

    def start(self, callee: str, payload: Any = None, depth: int | None = None) -> str:
        """Start a call without waiting for it (``StartExecution``); returns the execution ARN."""
        document = execution_input(callee, payload, depth)
        return self._sfn.start_execution(stateMachineArn=self.deployment.state_machine_arn, input=document)["executionArn"]

    def wait(self, execution_arn: str, timeout: float = _LOCAL_WAIT_SECONDS) -> dict[str, Any]:
        """Poll a local execution until it ends (``DescribeExecution`` does not serve Express executions on AWS)."""
        return wait_for_execution(self._sfn, execution_arn, self.poll_interval, timeout)


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


__all__ = ["BreakerError", "CallResult", "CircuitBreakerClient", "depth_from_context", "execution_input", "wait_for_execution"]
