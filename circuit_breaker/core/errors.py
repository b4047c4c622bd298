"""Typed exceptions for the workflow's failures (the README's *Errors* table).

Every failed execution ends with an error name and a JSON ``Cause``; :func:`error_from_failure`
turns them into the matching exception, with the cause's fields as attributes, so a caller can
``except CircuitOpenError as e: retry_at(e.retry_after)``.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "BreakerError",
    "CalleeFailedError",
    "CircuitIsolatedError",
    "CircuitOpenError",
    "ExecutionFailedError",
    "InvalidInputError",
    "RecursionLimitExceededError",
    "StoreUnavailableError",
    "UnknownCalleeError",
    "error_from_failure",
]


class BreakerError(Exception):
    """An execution of the circuit-breaker workflow failed.

    ``error`` is the Step Functions error name, ``cause`` the decoded ``Cause`` (a dict when it was
    JSON), ``execution_arn`` the execution that failed. ``cached`` is true when no execution was
    started for this call: the client's open-circuit cache (:mod:`circuit_breaker.client.open_circuits`)
    answered with the error an earlier execution (``execution_arn``) gave.
    """

    error_name = "States.ALL"

    def __init__(self, error: str, cause: Any, execution_arn: str | None = None, *, cached: bool = False) -> None:
        self.error = error
        self.cause = cause
        self.execution_arn = execution_arn
        self.cached = cached
        suffix = f" (cached: no execution started; execution {execution_arn} said so)" if cached else ""
        super().__init__(f"{error}: {self.describe()}{suffix}")

    def field(self, name: str, default: Any = None) -> Any:
        """A field of the cause, or ``default`` when the cause has no such field."""
        return self.cause.get(name, default) if isinstance(self.cause, dict) else default

    @property
    def callee(self) -> str | None:
        return self.field("callee")

    @property
    def attempts(self) -> int | None:
        """How many times this execution invoked the callee (``None`` when the cause does not say).

        0 for a fast fail, and for every error from the client's cache (no execution, no call).
        """
        attempts = self.field("attempts")
        return attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else None

    @property
    def fallback_error(self) -> dict[str, Any] | None:
        """The callee's fallback failed too: ``{"Error": ..., "Cause": ...}`` of the fallback; else ``None``.

        A failing fallback never hides the breaker's error: the execution ends with it, plus this.
        """
        failed = self.field("fallbackError")
        return failed if isinstance(failed, dict) else None

    @property
    def dead_letter_error(self) -> str | None:
        """An asynchronous call whose input could not be sent to the dead-letter queue: the queue's error name."""
        return self.field("deadLetterError")

    def describe(self) -> str:
        """One line saying what happened, for people."""
        if isinstance(self.cause, dict) and "message" in self.cause:
            return str(self.cause["message"])
        return json.dumps(self.cause) if not isinstance(self.cause, str) else self.cause


class InvalidInputError(BreakerError):
    """The execution input is not ``{"callee": NAME, "payload": ..., "depth": N}``."""

    error_name = "CircuitBreaker.InvalidInput"


class UnknownCalleeError(BreakerError):
    """The callee is not registered with the breaker."""

    error_name = "CircuitBreaker.UnknownCallee"


class CircuitOpenError(BreakerError):
    """The circuit is open (or a half-open probe is in flight): the callee was not called."""

    error_name = "CircuitBreaker.CircuitOpen"

    @property
    def retry_after(self) -> int | None:
        """Epoch seconds after which a call may go through (or probe)."""
        return self.field("retryAfter")

    @property
    def state(self) -> str | None:
        return self.field("state")

    def describe(self) -> str:
        return f"circuit of {self.callee} is {self.state}; retry after {self.retry_after} (epoch s)"


class StoreUnavailableError(BreakerError):
    """The circuit table could not be read and the callee is configured to fail closed."""

    error_name = "CircuitBreaker.StoreUnavailable"

    def describe(self) -> str:
        return f"circuit table unavailable for {self.callee}: {self.field('error')}"


class CircuitIsolatedError(BreakerError):
    """An operator isolated the circuit: the callee was not called."""

    error_name = "CircuitBreaker.CircuitIsolated"

    @property
    def reason(self) -> str | None:
        return self.field("reason")

    @property
    def retry_after(self) -> int | None:
        """Epoch seconds at which the isolation ends, or ``None`` until an operator resets it."""
        return self.field("retryAfter")

    def describe(self) -> str:
        until = "until reset" if self.retry_after is None else f"until {self.retry_after} (epoch s)"
        return f"circuit of {self.callee} is isolated {until}: {self.reason}"


class CalleeFailedError(BreakerError):
    """The callee failed after its retries; ``circuit_opened`` tells whether this failure opened the circuit."""

    error_name = "CircuitBreaker.CalleeFailed"

    @property
    def callee_error(self) -> str | None:
        return self.field("error")

    @property
    def callee_cause(self) -> Any:
        """The callee's own error cause; a Lambda error payload is decoded from JSON."""
        cause = self.field("cause")
        try:
            return json.loads(cause) if isinstance(cause, str) else cause
        except ValueError:
            return cause

    @property
    def circuit_opened(self) -> bool:
        return bool(self.field("circuitOpened", False))

    @property
    def counted(self) -> bool:
        """False when the callee raised one of its ``ignored_errors``: an answer (a declined card), not an outage.

        Such a failure was neither retried nor counted towards opening the circuit.
        """
        return self.field("counted", True) is not False

    @property
    def store_error(self) -> str | None:
        """The table could not be read and the callee was called anyway (fail open): the table's error name."""
        return self.field("storeError")

    def describe(self) -> str:
        cause = self.callee_cause
        message = cause.get("errorMessage", cause) if isinstance(cause, dict) else cause
        opened = "; this failure opened the circuit" if self.circuit_opened else ""
        return f"{self.callee} failed with {self.callee_error}: {message}{opened}"


class RecursionLimitExceededError(BreakerError):
    """The call chain is deeper than the breaker's limit (a loop, most likely)."""

    error_name = "CircuitBreaker.RecursionLimitExceeded"

    def describe(self) -> str:
        return f"call chain depth {self.field('depth')} reached the limit of {self.field('limit')} for {self.callee}"


class ExecutionFailedError(BreakerError):
    """The execution failed with an error outside the breaker's contract (a timeout, a bug)."""


ERROR_CLASSES: dict[str, type[BreakerError]] = {
    cls.error_name: cls
    for cls in (
        InvalidInputError,
        UnknownCalleeError,
        CircuitOpenError,
        StoreUnavailableError,
        CircuitIsolatedError,
        CalleeFailedError,
        RecursionLimitExceededError,
    )
}


def error_from_failure(error: str | None, cause: str | None, execution_arn: str | None = None) -> BreakerError:
    """The exception for a failed execution's ``error`` and ``cause``."""
    try:
        decoded: Any = json.loads(cause) if cause else {}
    except ValueError:
        decoded = cause
    error_name = error or "States.Unknown"
    return ERROR_CLASSES.get(error_name, ExecutionFailedError)(error_name, decoded, execution_arn)
