"""What one scheduled health check does with its result: count it, open or close the circuit, or nothing.

Each callee's schedule runs the health-check function with a :class:`HealthCheckTask` (the
callee, its check, its break settings). The function probes the callee and :func:`decide` turns the
probe's result and the circuit as read into one conditional write of :mod:`circuit_breaker.core.record`:

- a closed circuit counts unhealthy checks in a row; ``failures_to_open`` of them open it
  (``health check failed``) as the workflow opens one;
- an open or half-open circuit counts healthy checks in a row; ``successes_to_close`` of them close it
  early (``closed by health check``);
- a result that breaks the streak clears it; an isolated circuit is left alone.

The streak lives on the circuit's own item (``HealthStreak``, ``HealthPhase``, ``HealthCheckedAt``),
so the count and the transition it leads to are one write, conditional on the version the check
read, and an operator's isolate or reset (which replace the item) ends it. A streak counts only
while the circuit stays in the phase it was counted in (a failed probe reopens with a new
``OpenedAt``, which starts over) and only if its last check is recent: two intervals.

No network here, no AWS client: the function (``circuit_breaker/lambdas/health_check/``) probes and writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping

from circuit_breaker.core.record import CircuitRecord, CircuitState
from circuit_breaker.core.writes import (
    CLOSED_PHASE,
    Write,
    health_close_request,
    health_open_request,
    health_phase,
    health_streak_request,
)
from circuit_breaker.core.settings import MAX_READ_SHARDS, HealthCheck, InvalidSettingsError, validate_callee_name

#: A streak counts if its last check ran at most this many intervals ago (one missed check is forgiven).
FRESH_INTERVALS = 2
#: Seconds of slack on top: schedules fire within a few seconds of their minute.
FRESH_SLACK_SECONDS = 30

REASON_OPENED = "health check failed"
REASON_CLOSED = "closed by health check"


class InvalidHealthCheckTaskError(ValueError):
    """The event the health-check function received is not a task its schedule would send."""


@dataclass(frozen=True)
class HealthCheckTask:
    """One run of one callee's health check: what its schedule sends the health-check function."""

    callee: str
    check: HealthCheck
    break_seconds: int
    max_break_seconds: int
    function_arn: str | None = None
    """The callee's function, for a payload check."""
    read_shards: int = 1
    """Copies of the callee's circuit item: a transition the check makes is copied to all of them."""

    def event(self) -> dict[str, Any]:
        """The schedule's input (camelCase, as the registry)."""
        document: dict[str, Any] = {
            "callee": self.callee,
            "check": self.check.entry(),
            "breakSeconds": self.break_seconds,
            "maxBreakSeconds": self.max_break_seconds,
        }
        if self.function_arn is not None:
            document["functionArn"] = self.function_arn
        if self.read_shards != 1:
            document["readShards"] = self.read_shards
        return document

    @classmethod
    def from_event(cls, event: Any) -> "HealthCheckTask":
        """Read and check a schedule's input; raises :class:`InvalidHealthCheckTaskError` saying what is wrong."""
        if not isinstance(event, Mapping):
            raise InvalidHealthCheckTaskError(f"the event must be a JSON object (a schedule's input), got {type(event).__name__}")
        try:
            callee = validate_callee_name(event.get("callee"))
            check_entry = event.get("check")
            if not isinstance(check_entry, Mapping):
                raise InvalidSettingsError(f"check must be an object, got {check_entry!r}")
            check = HealthCheck.from_entry(check_entry)
            breaks = [event.get("breakSeconds"), event.get("maxBreakSeconds")]
            if not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in breaks) or breaks[0] > breaks[1]:
                raise InvalidSettingsError(f"breakSeconds and maxBreakSeconds must be whole seconds, 1 <= break <= max, got {breaks}")
            function_arn = event.get("functionArn")
            if check.kind == "payload" and not (isinstance(function_arn, str) and function_arn.startswith("arn:")):
                raise InvalidSettingsError(f"a payload check needs the callee's functionArn, got {function_arn!r}")
            shards = event.get("readShards", 1)
            if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= MAX_READ_SHARDS:
                raise InvalidSettingsError(f"readShards must be a whole number from 1 to {MAX_READ_SHARDS}, got {shards!r}")
        except InvalidSettingsError as error:
            raise InvalidHealthCheckTaskError(f"not a health-check task: {error}") from None
        return cls(callee, check, breaks[0], breaks[1], function_arn if check.kind == "payload" else None, shards)


@dataclass(frozen=True)
class ProbeResult:
    """What one probe found: healthy or not, a short detail (``HTTP 503``, ``timed out after 5 s``), and its duration."""

    healthy: bool
    detail: str
    elapsed_ms: float = 0.0


class HealthAction(str, Enum):
    """What a health check did to the circuit."""

    NONE = "none"
    """Nothing to record: the result changes no streak (or the circuit is isolated)."""
    COUNTED = "counted"
    """The streak was recorded (or cleared) without a transition."""
    OPENED = "opened"
    CLOSED = "closed"


@dataclass(frozen=True)
class Decision:
    """The write one result leads to (``None`` when there is nothing to write) and what it means."""

    action: HealthAction
    streak: int
    threshold: int
    write: Write | None = None
    note: str = ""

    def transition(self, before: CircuitRecord, result: ProbeResult, now: int, task: HealthCheckTask) -> dict[str, Any] | None:
        """The transition event's detail, as the workflow publishes its own (``None`` without a transition)."""
        if self.action is HealthAction.OPENED:
            return {
                "callee": before.callee, "from": before.state.value, "to": CircuitState.OPEN.value, "reason": REASON_OPENED,
                "checks": self.streak, "threshold": self.threshold, "openUntil": now + task.break_seconds,
                "consecutiveOpens": 1, "error": result.detail[:256], "executionArn": None, "at": now,
            }  # fmt: skip
        if self.action is HealthAction.CLOSED:
            return {
                "callee": before.callee, "from": before.state.value, "to": CircuitState.CLOSED.value, "reason": REASON_CLOSED,
                "checks": self.streak, "threshold": self.threshold, "executionArn": None, "at": now,
            }  # fmt: skip
        return None


def current_streak(record: CircuitRecord, phase: str, now: float, interval_seconds: int) -> int:
    """The stored streak if it belongs to ``phase`` and its last check is recent, else 0."""
    streak, checked_at = record.health_streak, record.health_checked_at
    if record.health_phase != phase or streak is None or streak < 1 or checked_at is None:
        return 0
    if now - checked_at > FRESH_INTERVALS * interval_seconds + FRESH_SLACK_SECONDS:
        return 0
    return streak


def decide(table_name: str, record: CircuitRecord, result: ProbeResult, task: HealthCheckTask, now: float) -> Decision:
    """The one conditional write (or none) that ``result`` leads to on the circuit read as ``record``."""
    phase = health_phase(record)
    check = task.check
    if phase is None:
        return Decision(HealthAction.NONE, 0, 0, note="the circuit is isolated: a health check never changes an isolation")
    closed = phase == CLOSED_PHASE
    threshold = check.failures_to_open if closed else check.successes_to_close
    counts = (not result.healthy) if closed else result.healthy
    previous = current_streak(record, phase, now, check.interval_seconds)
    seconds = math.floor(now)
    keep_until = math.ceil(now) + FRESH_INTERVALS * check.interval_seconds + FRESH_SLACK_SECONDS
    if not counts:
        if previous == 0 and record.health_streak is None:
            return Decision(HealthAction.NONE, 0, threshold)
        if not record.exists or record.expired:
            return Decision(HealthAction.NONE, 0, threshold)
        write = health_streak_request(table_name, record, streak=0, phase=phase, now=seconds, keep_until=keep_until)
        return Decision(HealthAction.COUNTED, 0, threshold, write, note="the streak is broken: cleared")
    streak = previous + 1
    if streak >= threshold and closed:
        error = f"HealthCheckFailed: {result.detail}"
        write = health_open_request(
            table_name, record, now=seconds, break_seconds=task.break_seconds, max_break_seconds=task.max_break_seconds, error=error
        )
        return Decision(HealthAction.OPENED, streak, threshold, write)
    if streak >= threshold:
        return Decision(HealthAction.CLOSED, streak, threshold, health_close_request(table_name, record, now=seconds, max_break_seconds=task.max_break_seconds))
    write = health_streak_request(table_name, record, streak=streak, phase=phase, now=seconds, keep_until=keep_until)
    return Decision(HealthAction.COUNTED, streak, threshold, write)
