"""Apply one probe's result to the circuit: read it, decide, write conditionally, announce a transition.

The probe runs first (it may take its whole timeout); the circuit is read after it, strongly
consistent, and the write is conditional on the version read. When the circuit changed in between
(an execution counted a failure, an operator reset it), the write is refused: the circuit is read
again and the same result decided anew, a few times at most.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

from botocore.exceptions import ClientError

from circuit_breaker.core.writes import copy_to_shards
from circuit_breaker.core.health import HealthAction, HealthCheckTask, ProbeResult, decide
from circuit_breaker.core.record import decode, get_item_request
from circuit_breaker.core.transitions import event_entry

#: How often a refused write is decided again on a fresh read before the result is given up.
WRITE_ATTEMPTS = 5


class CircuitKeptChangingError(RuntimeError):
    """Every attempt to record the result met a circuit changed since it was read."""


@dataclass(frozen=True)
class CheckOutcome:
    """What one check found and did (the function's answer, and ``breaker health-check run``'s output)."""

    callee: str
    healthy: bool
    detail: str
    elapsedMs: float
    state: str
    """The circuit's state when the result was applied."""
    action: str
    streak: int
    threshold: int
    note: str = ""
    transition: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def apply_result(
    task: HealthCheckTask,
    result: ProbeResult,
    *,
    table_name: str,
    dynamodb: Any,
    publish: Callable[[dict[str, Any]], None],
    clock: Callable[[], float] = time.time,
) -> CheckOutcome:
    """Record ``result`` on ``task.callee``'s circuit (retrying on a conflicting change) and publish any transition."""
    for _ in range(WRITE_ATTEMPTS):
        now = clock()
        item = dynamodb.get_item(**get_item_request(table_name, task.callee)).get("Item")
        record = decode(task.callee, item, now)
        decision = decide(table_name, record, result, task, now)
        if decision.write is not None:
            try:
                getattr(dynamodb, decision.write.operation)(**decision.write.arguments)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    continue
                raise
        transition = decision.transition(record, result, int(now), task)
        if transition is not None:
            copy_to_shards(dynamodb, table_name, task.callee, task.read_shards, clock)
        if transition is not None:
            publish(transition)
        return CheckOutcome(
            callee=task.callee, healthy=result.healthy, detail=result.detail, elapsedMs=result.elapsed_ms,
            state=record.state.value, action=decision.action.value, streak=decision.streak,
            threshold=decision.threshold, note=decision.note, transition=transition,
        )  # fmt: skip
    raise CircuitKeptChangingError(f"the circuit of {task.callee} changed under every one of {WRITE_ATTEMPTS} attempts to record its health check")


def event_publisher(events: Any, bus_name: str, source: str, on_failure: Callable[[str], None]) -> Callable[[dict[str, Any]], None]:
    """Publish a transition as the workflow does; a failure to publish is reported, never raised (the write stands)."""

    def publish(detail: dict[str, Any]) -> None:
        try:
            answer = events.put_events(Entries=[event_entry(source, bus_name, detail)])
        except ClientError as error:
            on_failure(f"could not publish the transition of {detail['callee']}: {error}")
            return
        if answer.get("FailedEntryCount"):
            on_failure(f"could not publish the transition of {detail['callee']}: {answer.get('Entries')}")

    return publish


__all__ = ["HealthAction", "CheckOutcome", "CircuitKeptChangingError", "apply_result", "event_publisher"]
