"""The path an execution took, read from its history events: states entered, attempts, errors, timings.

Step Functions records an execution as a flat list of events (``TaskStateEntered``,
``TaskFailed``, ``TaskScheduled``...). :func:`execution_path` folds them into one :class:`StateVisit`
per state entered, which is what a person wants to see: "Call callee: 4 attempts, FlakyError".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable


@dataclass
class StateVisit:
    """One state the execution entered."""

    name: str
    kind: str
    entered: datetime
    exited: datetime | None = None
    attempts: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def duration_ms(self) -> float | None:
        if self.exited is None:
            return None
        return (self.exited - self.entered).total_seconds() * 1000

    def summary(self) -> str:
        """``Call callee (4 attempts: FlakyError x4)``-style text."""
        details = []
        if self.attempts > 1:
            details.append(f"{self.attempts} attempts")
        if self.errors:
            counts: dict[str, int] = {}
            for error in self.errors:
                counts[error] = counts.get(error, 0) + 1
            details.append(", ".join(f"{e} x{n}" if n > 1 else e for e, n in counts.items()))
        return f"{self.name} ({'; '.join(details)})" if details else self.name


@dataclass
class ExecutionPath:
    """Every state an execution entered, in order, and how the execution ended."""

    visits: list[StateVisit]
    status: str
    error: str | None = None
    cause: str | None = None

    @property
    def state_names(self) -> list[str]:
        return [visit.name for visit in self.visits]

    @property
    def transitions(self) -> int:
        """State transitions as Step Functions counts them: one per state entered."""
        return len(self.visits)

    def count(self, kind_prefix: str) -> int:
        """How many task attempts went to resources starting with ``kind_prefix`` (set by :func:`execution_path`)."""
        return sum(visit.attempts for visit in self.visits if visit.kind.startswith(kind_prefix))

    def summary(self) -> str:
        return " → ".join(visit.summary() for visit in self.visits)


def _details(event: dict[str, Any]) -> dict[str, Any]:
    """The event's details: ``xxxEventDetails`` in the API, ``details`` in CloudWatch Logs records."""
    if isinstance(event.get("details"), dict):
        return event["details"]
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def execution_path(events: Iterable[dict[str, Any]]) -> ExecutionPath:
    """Fold history events (``GetExecutionHistory`` order) into the states visited.

    A task visit's ``kind`` is the resource it called (``dynamodb:getItem``, ``lambda:invoke``), so
    :meth:`ExecutionPath.count` can tell DynamoDB calls from Lambda calls; other visits keep their
    state type (``Choice``, ``Fail``...).
    """
    visits: list[StateVisit] = []
    status, error, cause = "RUNNING", None, None
    for event in events:
        kind, details = event["type"], _details(event)
        if kind.endswith("StateEntered"):
            visits.append(StateVisit(name=details.get("name", "?"), kind=kind[: -len("StateEntered")], entered=event["timestamp"]))
        elif kind.endswith("StateExited") and visits:
            visits[-1].exited = event["timestamp"]
        elif kind == "TaskScheduled" and visits:
            visits[-1].attempts += 1
            resource = str(details.get("resource", ""))
            resource_type = str(details.get("resourceType", ""))
            visits[-1].kind = f"{resource_type}:{resource}" if resource_type else visits[-1].kind
        elif kind in ("TaskFailed", "TaskTimedOut") and visits:
            visits[-1].errors.append(details.get("error", kind))
        elif kind == "ExecutionSucceeded":
            status = "SUCCEEDED"
        elif kind in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
            status = {"ExecutionFailed": "FAILED", "ExecutionTimedOut": "TIMED_OUT", "ExecutionAborted": "ABORTED"}[kind]
            error, cause = details.get("error"), details.get("cause")
            if visits and visits[-1].exited is None:
                visits[-1].exited = event["timestamp"]
    return ExecutionPath(visits=visits, status=status, error=error, cause=cause)


def fetch_path(stepfunctions: Any, execution_arn: str) -> ExecutionPath:
    """Read an execution's whole history (all pages) and fold it."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = stepfunctions.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return execution_path(events)
        kwargs["nextToken"] = page["nextToken"]
