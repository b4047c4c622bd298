"""One call as a caller makes it: ``StartSyncExecution`` through the project's client, timed.

Every benchmark calls this way, whichever state machine it measures (this breaker, the workflow before
issue 9, the reference sample): the client answers or raises a typed error naming the execution. The
client's open-circuit cache is off: these benchmarks measure the workflow, so every call starts an
execution (``test_client_cache.py`` measures the cache).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from circuit_breaker.client.calls import CircuitBreakerClient
from circuit_breaker.aws.deployment import Deployment
from circuit_breaker.core.errors import BreakerError

SUCCEEDED = "SUCCEEDED"


@dataclass(frozen=True)
class Call:
    """A finished call: its execution, how it ended (``SUCCEEDED`` or the error name), and how long the caller waited."""

    execution_arn: str
    outcome: str
    cause: Any
    seconds: float


def workflow_client(connection: Any, deployment: Deployment | str) -> CircuitBreakerClient:
    """A client whose every call starts an execution of ``deployment`` (a breaker, or any state machine's ARN)."""
    return CircuitBreakerClient(connection, deployment, open_circuit_cache=False)


def timed_call(client: CircuitBreakerClient, callee: str, payload: Any) -> Call:
    """Call ``callee`` with ``payload`` and wait for the answer (one ``StartSyncExecution``)."""
    started = time.perf_counter()
    try:
        result = client.call(callee, payload)
    except BreakerError as error:
        return Call(error.execution_arn or "", error.error, error.cause, time.perf_counter() - started)
    return Call(result.execution_arn, SUCCEEDED, None, time.perf_counter() - started)
