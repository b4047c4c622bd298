"""The caller's client: call a callee through the breaker and get its answer, or a typed exception.

A call is one ``StartSyncExecution``, on AWS and on the local engine alike (the engine implements it,
``circuit_breaker/local/patches/sync_executions.py``), so the code path the tests run is the one that
runs on AWS. After a ``CircuitOpen`` or ``CircuitIsolated`` answer the client remembers the circuit
(:mod:`circuit_breaker.client.open_circuits`) and fails further calls to it locally until it may let calls
through, starting no execution. A fallback's answer comes back as a result that says so
(:attr:`CallResult.fallback`).

``call_async`` starts a call without waiting (``StartExecution``) with an idempotency key: if that
call gets no answer, the workflow puts its input and key in the dead-letter queue, from which
``breaker redrive`` re-submits it (:mod:`circuit_breaker.operate.redrive`); the callee finds the key in its
client context and can ignore a repeated one. ``start`` and ``wait`` remain for tests and tools
(only the local engine describes Express executions). A callee that calls the breaker itself passes
on the depth it was given (``depth_from_context``), so runaway call chains stop at the limit.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.config import Config

from circuit_breaker.aws.deployment import Connection, Deployment
from circuit_breaker.core.errors import (
    BreakerError,
    ExecutionFailedError,
    InvalidInputError,
    UnknownCalleeError,
    error_from_failure,
)
from circuit_breaker.core.call_input import IDEMPOTENCY_KEY_PATTERN, circuit_key_problem, idempotency_key_problem, input_problem, valid_idempotency_key
from circuit_breaker.client.open_circuits import OpenCircuitCache
from circuit_breaker.client.extension_reader import ExtensionReader
from circuit_breaker.core.settings import EXPRESS_MAX_SECONDS

#: Express executions end within five minutes; waits and reads give up a little after that.
_LOCAL_WAIT_SECONDS = EXPRESS_MAX_SECONDS + 10.0

#: The key of an execution output that a fallback answered (the workflow's ``Call fallback`` and
#: ``Answer with fallback`` states): ``{"circuitBreakerFallback": {...}, "answer": ...}``.
FALLBACK_MARKER = "circuitBreakerFallback"


@dataclass(frozen=True)
class FallbackAnswer:
    """Why a fallback answered instead of the callee: the breaker's error, and which fallback it was."""

    error: str
    """The breaker error the call would have failed with (``CircuitBreaker.CircuitOpen``...)."""
    cause: Any
    """That error's cause (``callee``, ``state``, ``retryAfter``, ``attempts``...)."""
    source: str
    """``function`` (the callee's fallback function answered) or ``static`` (its static answer)."""

    @property
    def reason(self) -> BreakerError:
        """The breaker error as its typed exception (not raised), e.g. a :class:`CircuitOpenError` with ``retry_after``."""
        return error_from_failure(self.error, json.dumps(self.cause))


@dataclass(frozen=True)
class CallResult:
    """A finished execution: the answer and the execution's ARN.

    ``output`` is the callee's answer, or the fallback's when ``fallback`` is set (then the callee
    gave no answer, and ``fallback`` says why).
    """

    output: Any
    execution_arn: str
    fallback: FallbackAnswer | None = None

    @classmethod
    def of(cls, output: Any, execution_arn: str) -> "CallResult":
        """The result of an execution whose output is ``output``: a fallback's answer is unwrapped."""
        fallback = fallback_of(output)
        if fallback is None:
            return cls(output, execution_arn)
        return cls(output.get("answer"), execution_arn, fallback)


@dataclass(frozen=True)
class AsyncCall:
    """A call started without waiting: its idempotency key (in the dead-letter queue if it fails) and execution."""

    idempotency_key: str
    execution_arn: str


def fallback_of(output: Any) -> FallbackAnswer | None:
    """The fallback marker of an execution output, if a fallback answered (exactly the workflow's shape)."""
    if not isinstance(output, dict) or set(output) != {FALLBACK_MARKER, "answer"}:
        return None
    marker = output[FALLBACK_MARKER]
    if not isinstance(marker, dict) or not isinstance(marker.get("error"), str) or marker.get("source") not in ("function", "static"):
        return None
    return FallbackAnswer(error=marker["error"], cause=marker.get("cause"), source=marker["source"])


def new_idempotency_key() -> str:
    """A key for one asynchronous call (a UUID4: unique without coordination)."""
    return str(uuid.uuid4())


def check_idempotency_key(key: Any) -> str:
    """Return ``key`` if the workflow accepts it; else raise :class:`InvalidInputError` (no execution is started).

    The workflow would reject it too, but an asynchronous call has no caller to tell: the check is here
    (:mod:`circuit_breaker.core.call_input`, the workflow's rules: ``"key-1\\n"`` is refused).
    """
    problem = idempotency_key_problem(key)
    if problem is not None:
        raise InvalidInputError(InvalidInputError.error_name, {"message": problem})
    return key


def check_circuit_key(key: Any) -> str | None:
    """Return ``key`` if it can name a circuit (``None`` is the callee's own); else raise ``InvalidInputError``
    at once, as the workflow would (nothing is started)."""
    if key is None:
        return None
    problem = circuit_key_problem(key)
    if problem is not None:
        raise InvalidInputError(InvalidInputError.error_name, {"message": problem})
    return key


def depth_from_context(context: Any) -> int:
    """The call-chain depth the breaker handed a Lambda callee (``ClientContext.custom.breakerDepth``).

    A callee that calls the breaker again passes this as ``depth``; outside a chain it is 0.
    """
    custom = getattr(getattr(context, "client_context", None), "custom", None) or {}
    depth = custom.get("breakerDepth", 0)
    return depth if isinstance(depth, int) and depth >= 0 else 0


def idempotency_key_from_context(context: Any) -> str | None:
    """The key of the asynchronous call a Lambda callee is serving (``ClientContext.custom.idempotencyKey``).

    ``None`` for a synchronous call. A callee that must act once per call records the keys it has
    served: a redriven call (or one that ran twice) carries the same key.
    """
    custom = getattr(getattr(context, "client_context", None), "custom", None) or {}
    key = custom.get("idempotencyKey")
    return key if valid_idempotency_key(key) else None


def execution_document(
    callee: str, payload: Any = None, depth: int | None = None, idempotency_key: str | None = None, key: str | None = None
) -> dict[str, Any]:
    """The workflow's input document for one call (with ``idempotencyKey``: an asynchronous call)."""
    document: dict[str, Any] = {"callee": callee}
    if payload is not None:
        document["payload"] = payload
    if depth is not None:
        document["depth"] = depth
    if idempotency_key is not None:
        document["idempotencyKey"] = idempotency_key
    if key is not None:
        document["key"] = key
    return document


def execution_input(
    callee: str, payload: Any = None, depth: int | None = None, idempotency_key: str | None = None, key: str | None = None
) -> str:
    """:func:`execution_document` as the JSON text an execution starts with."""
    return json.dumps(execution_document(callee, payload, depth, idempotency_key, key))


def stepfunctions_client(connection: Connection) -> Any:
    """A Step Functions client for synchronous calls: a read waits out a whole Express execution.

    botocore's default read timeout (60 s) is shorter than an Express execution may run (300 s), and a
    timed-out read is retried, which would make the same call a second time.
    """
    return connection.client("stepfunctions", Config(read_timeout=_LOCAL_WAIT_SECONDS))


class CircuitBreakerClient:
    """Calls callees through one deployed circuit breaker (its state machine)."""

    def __init__(
        self,
        connection: Connection,
        deployment: Deployment | str,
        poll_interval: float = 0.02,
        open_circuit_cache: OpenCircuitCache | bool = True,
    ) -> None:
        """``deployment``: the breaker's resources (:class:`Deployment`), or just its state machine's ARN.

        ``open_circuit_cache``: ``True`` (default) for a cache of this client's own, ``False`` for none
        (every call starts an execution), or an :class:`OpenCircuitCache` to share or tune.
        """
        self.connection = connection
        self.deployment = deployment if isinstance(deployment, Deployment) else None
        self.state_machine_arn = deployment.state_machine_arn if isinstance(deployment, Deployment) else deployment
        self.poll_interval = poll_interval
        if isinstance(open_circuit_cache, OpenCircuitCache):
            self.open_circuits: OpenCircuitCache | None = open_circuit_cache
        else:
            self.open_circuits = OpenCircuitCache() if open_circuit_cache else None
        self._sfn = stepfunctions_client(connection)
        self.extension = ExtensionReader.from_environment()  # the circuit-breaker extension, when the function has it

    @classmethod
    def discover(
        cls,
        connection: Connection | None = None,
        stack_name: str | None = None,
        state_machine_arn: str | None = None,
        open_circuit_cache: OpenCircuitCache | bool = True,
    ) -> "CircuitBreakerClient":
        """A client for the breaker of ``state_machine_arn``, or in stack ``stack_name``, or the only one in the region.

        On AWS, or where ``connection`` points; see :meth:`Deployment.discover`.
        """
        connection = connection or Connection.create()
        deployment = Deployment.discover(connection, stack_name, state_machine_arn)
        return cls(connection, deployment, open_circuit_cache=open_circuit_cache)

    @classmethod
    def for_state_machine(
        cls, state_machine_arn: str, connection: Connection | None = None, open_circuit_cache: OpenCircuitCache | bool = True
    ) -> "CircuitBreakerClient":
        """A client for the breaker whose state machine is ``state_machine_arn`` (a caller needs nothing else)."""
        return cls(connection or Connection.create(), state_machine_arn, open_circuit_cache=open_circuit_cache)

    def call(self, callee: str, payload: Any = None, depth: int | None = None, *, key: str | None = None) -> CallResult:
        """Call ``callee`` with ``payload`` and wait for its answer (one ``StartSyncExecution``).

        Raises a :class:`~circuit_breaker.core.errors.BreakerError` subclass when the execution fails:
        ``CircuitOpenError``, ``CalleeFailedError``, ``UnknownCalleeError``... While the open-circuit
        cache remembers the callee's circuit as open or isolated, raises that error at once
        (``error.cached`` is true) and starts nothing. With the circuit-breaker extension, a circuit it
        reads as failing fast raises too, without an execution (the error's cause says ``source``). ``key``
        selects the key's own circuit, for a callee registered with ``circuit_keys``.
        """
        key = check_circuit_key(key)
        if self.open_circuits is not None:
            self.open_circuits.check(self.state_machine_arn, callee, key)
        refusal = self.extension.refusal(callee, key) if self.extension else None  # the extension, when the function has it
        if refusal is not None:
            raise refusal
        answer = self._sfn.start_sync_execution(
            stateMachineArn=self.state_machine_arn, input=execution_input(callee, payload, depth, key=key)
        )
        try:
            return result_of(answer)
        except BreakerError as error:
            if self.open_circuits is not None:
                self.open_circuits.remember(self.state_machine_arn, error)
            raise

    def call_async(
        self, callee: str, payload: Any = None, depth: int | None = None, idempotency_key: str | None = None, *, key: str | None = None
    ) -> AsyncCall:
        """Start a call without waiting (``StartExecution``) and return its idempotency key and execution ARN.

        The key (a new UUID unless given) reaches the callee in its client context
        (``custom.idempotencyKey``); if the call gets no answer (the callee failed after its retries, the
        circuit is open or isolated, the table unreadable with ``on_store_error: fail``), the workflow
        puts the call in the dead-letter queue, from which ``breaker redrive`` re-submits it with the
        same key. An input the workflow would refuse (a malformed key or depth, an empty callee name) or a
        callee this client knows is not registered raises :class:`InvalidInputError` or
        :class:`UnknownCalleeError` at once (such an execution would fail with nobody to tell). The
        open-circuit cache is not consulted: a call to an open circuit waits in the queue instead of being lost.
        """
        circuit_key = check_circuit_key(key)
        key = new_idempotency_key() if idempotency_key is None else check_idempotency_key(idempotency_key)
        document = execution_document(callee, payload, depth, key, circuit_key)
        problem = input_problem(document)
        if problem is not None:
            raise InvalidInputError(InvalidInputError.error_name, {"message": problem})
        if self.deployment is not None and self.deployment.knows(callee) is False:
            raise UnknownCalleeError(
                UnknownCalleeError.error_name,
                {"callee": callee, "message": f"callee {callee} is not registered; registered callees: {', '.join(sorted(self.deployment.callees))}"},
            )
        arn = self._sfn.start_execution(stateMachineArn=self.state_machine_arn, input=json.dumps(document))["executionArn"]
        return AsyncCall(idempotency_key=key, execution_arn=arn)

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
        return CallResult.of(json.loads(finished.get("output") or "null"), arn)
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
    "AsyncCall",
    "BreakerError",
    "CallResult",
    "CircuitBreakerClient",
    "FallbackAnswer",
    "IDEMPOTENCY_KEY_PATTERN",
    "OpenCircuitCache",
    "check_circuit_key",
    "check_idempotency_key",
    "depth_from_context",
    "execution_document",
    "execution_input",
    "fallback_of",
    "idempotency_key_from_context",
    "new_idempotency_key",
    "result_of",
    "stepfunctions_client",
    "wait_for_execution",
]
