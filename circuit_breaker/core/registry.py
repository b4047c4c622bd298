"""How a deployed breaker describes itself: the registry in its definition, the tag on its state machine, its outputs.

The construct bakes the callee registry into the state machine's definition at synth time (camelCase, as the
ASL reads it); discovery (:mod:`circuit_breaker.aws.definition`) reads it back from a deployed definition. Both
sides use this module, so the wire form is written once: :func:`callee_entry` writes one callee's entry,
:class:`RegisteredCallee` reads one. The state machine carries :data:`DISCOVERY_TAG`, and the sample stack
publishes the ``OUTPUT_*`` outputs. :func:`not_registered` words the one refusal every part gives for a name
that is not in the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from circuit_breaker.core.record import BreakLimits
from circuit_breaker.core.settings import MAX_READ_SHARDS, RAMP_START_SHARE, SUCCESS_SAMPLES_PER_SECOND, CalleeSettings, OnStoreError, RetryPolicy

#: The sample app's stack name (app.py), where discovery looks first.
DEFAULT_STACK_NAME = "CircuitBreaker"
#: The outputs the sample stack publishes (stacks/sample_stack.py); discovery reads them when they are there.
OUTPUT_STATE_MACHINE_ARN = "StateMachineArn"
OUTPUT_TABLE_NAME = "CircuitTableName"
OUTPUT_LOG_GROUP_NAME = "ExecutionLogGroupName"
OUTPUT_CALLEES = "RegisteredCallees"
OUTPUT_EVENT_BUS_NAME = "EventBusName"
OUTPUT_EVENT_SOURCE = "EventSource"
OUTPUT_DEAD_LETTER_QUEUE_URL = "DeadLetterQueueUrl"

#: The tag the construct puts on every breaker's state machine (value: the construct's path).
DISCOVERY_TAG = "circuit-breaker"


def not_registered(callee: str, registered: Iterable[str], where: str | None = None) -> str:
    """The refusal for a callee that is not registered: what was asked, where, and what is registered."""
    names = sorted(registered)
    listed = ", ".join(names) if names else "none"
    place = f" with {where}" if where else ""
    return f"callee {callee!r} is not registered{place}; registered: {listed}"


def without_circuit_keys(callee: str, fix: str) -> str:
    """The refusal for a key given for a callee registered without ``circuit_keys`` (``fix``: how to leave it out)."""
    return f"{callee} has one circuit for every call (no circuit_keys): {fix}"


def retry_entry(retry: RetryPolicy) -> dict[str, object]:
    """A retry policy as the state machine reads it."""
    return {
        "intervalSeconds": retry.interval_seconds,
        "backoffRate": retry.backoff_rate,
        "maxAttempts": retry.max_attempts,
        "maxDelaySeconds": retry.max_delay_seconds,
        "jitter": retry.jitter_strategy.value,
    }


def callee_entry(
    function_arn: str,
    settings: CalleeSettings,
    *,
    metric_id: int,
    default_on_store_error: OnStoreError = OnStoreError.CALL,
    default_retry: RetryPolicy | None = None,
    fallback: Mapping[str, Any] | None = None,
    health_check_schedule: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """What the state machine knows of one callee (camelCase, as the ASL reads it).

    ``fallback`` is the fallback's own entry (``functionArn`` or ``answer``, and ``onFailure``).
    ``health_check_schedule`` (``scheduleGroup``, ``scheduleName``) is not read by the workflow: it tells
    ``breaker health-check run`` which schedule runs the callee's check.
    """
    entry: dict[str, object] = {
        "functionArn": function_arn,
        "metricId": metric_id,
        "failureThreshold": settings.failure_threshold,
        "failureWindowSeconds": settings.failure_window_seconds,
        "breakSeconds": settings.break_seconds,
        "maxBreakSeconds": settings.max_break_seconds,
        "timeoutSeconds": settings.timeout_seconds,
        "probeLeaseSeconds": settings.probe_lease_seconds,
        "onStoreError": (settings.on_store_error or default_on_store_error).value,
        "ignoredErrors": list(settings.ignored_errors),
        "retry": retry_entry(settings.retry or default_retry or RetryPolicy()),
        "deadlineSeconds": settings.deadline_seconds,
        "fallback": dict(fallback) if fallback is not None else None,
        "failureRateThreshold": settings.failure_rate_threshold,
        "minimumCalls": settings.minimum_calls,
        "slowCallSeconds": settings.slow_call_seconds,
        "successThreshold": settings.success_threshold,
        "rampSeconds": settings.ramp_seconds,
        "rampStartShare": RAMP_START_SHARE,
        "mode": settings.mode.value,
        "circuitKeys": settings.circuit_keys,
        "readShards": settings.read_shards,
        "consistentReads": settings.consistent_reads,
        "successSamplesPerSecond": SUCCESS_SAMPLES_PER_SECOND,
    }
    if health_check_schedule is not None:
        entry["healthCheck"] = dict(health_check_schedule)
    return entry


@dataclass(frozen=True)
class RegisteredCallee:
    """One callee of the registry, as the construct wrote it into the definition (:func:`callee_entry`).

    Settings missing from an older or foreign definition are ``None``.
    """

    name: str
    function_arn: str
    failure_threshold: int | None = None
    failure_window_seconds: int | None = None
    break_seconds: int | None = None
    max_break_seconds: int | None = None
    timeout_seconds: int | None = None
    probe_lease_seconds: int | None = None
    on_store_error: str | None = None
    metric_id: int | None = None
    health_check_schedule: tuple[str, str] | None = None
    """The EventBridge Scheduler schedule (group, name) that runs the callee's health check, if it has one."""
    read_shards: int = 1
    """Copies of each of the callee's circuit items (1 in a definition older than read shards)."""
    circuit_keys: bool = False
    """Calls may name a key, each with a circuit of its own."""
    mode: str = "enforce"

    @property
    def limits(self) -> BreakLimits | None:
        """The longest break and lease the workflow writes for this callee, when the registry says."""
        if self.max_break_seconds is None or self.probe_lease_seconds is None:
            return None
        try:
            return BreakLimits(self.max_break_seconds, self.probe_lease_seconds)
        except ValueError:
            return None

    @classmethod
    def from_entry(cls, name: str, entry: Mapping[str, Any]) -> "RegisteredCallee":
        def whole(key: str) -> int | None:
            value = entry.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        on_store_error = entry.get("onStoreError")
        health = entry.get("healthCheck")
        schedule = (health.get("scheduleGroup"), health.get("scheduleName")) if isinstance(health, dict) else None
        return cls(
            name=name,
            function_arn=str(entry["functionArn"]),
            failure_threshold=whole("failureThreshold"),
            failure_window_seconds=whole("failureWindowSeconds"),
            break_seconds=whole("breakSeconds"),
            max_break_seconds=whole("maxBreakSeconds"),
            timeout_seconds=whole("timeoutSeconds"),
            probe_lease_seconds=whole("probeLeaseSeconds"),
            on_store_error=on_store_error if isinstance(on_store_error, str) else None,
            metric_id=whole("metricId"),
            health_check_schedule=schedule if schedule and all(isinstance(part, str) and part for part in schedule) else None,  # type: ignore[arg-type]
            read_shards=shards if isinstance(shards := whole("readShards"), int) and 1 <= shards <= MAX_READ_SHARDS else 1,
            circuit_keys=entry.get("circuitKeys") is True,
            mode=entry.get("mode") if entry.get("mode") in ("enforce", "observe") else "enforce",
        )
