"""The operators' errors, under one root: a command that cannot be carried out says why and what to do.

The CLI prints any :class:`OperatorError` as one line (exit status 2), so a new operator error needs no change
there; Python callers catch the root, or one kind.
"""

from __future__ import annotations

from typing import Any


class OperatorError(Exception):
    """An operator's request cannot be carried out; the message says why and what to do."""


class CircuitError(OperatorError):
    """A circuit cannot be read or changed as asked (an unknown callee, a second isolation, a circuit that kept changing)."""


class ExecutionQueryError(OperatorError, ValueError):
    """A malformed ``--since`` or execution ARN, or an execution that cannot be found."""


class HealthCheckRunError(CircuitError):
    """The health check cannot be run (none configured, its schedule gone, the function failed); the message says why."""


class RedriveError(OperatorError):
    """A redrive cannot start (no dead-letter queue, a bad argument); the message says what to do."""


class RedriveInterrupted(OperatorError):
    """A redrive stopped halfway (an AWS error); ``report`` holds what it did before, ``error`` what stopped it.

    Every message it had not deleted is visible again: run the redrive again to go on.
    """

    def __init__(self, report: Any, error: Exception) -> None:
        self.report = report
        self.error = error
        done = len(report.resubmitted)
        super().__init__(f"redrive stopped after re-submitting {done} message(s): {error}")
