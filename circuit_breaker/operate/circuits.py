"""Operate circuits: read their state, isolate one (hold it open), reset one (close it).

The table is the workflow's (the README's *Data model*); items are read and written through
:mod:`circuit_breaker.core.record`, so a circuit is shown as the workflow acts on it (an expired item is
absent, a malformed one says so), and an operator's write is conditional on the version it read:
it never lands on a change made in between (that change is read, and the write retried or
refused). Isolations and resets record who made them, why and when, and are published as
transition events like the workflow's own, with the state they really replaced.
"""

from __future__ import annotations

import getpass
import time
from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import ClientError

from circuit_breaker.aws.connection import Connection
from circuit_breaker.aws.deployment import Deployment
from circuit_breaker.operate.errors import CircuitError
from circuit_breaker.core.record import (
    SERVICE_NAME,
    CircuitRecord,
    CircuitState,
    decode,
    get_item_request,
    scan_request,
)
from circuit_breaker.core.writes import isolate_request, reset_request
from circuit_breaker.core.transitions import EVENT_DETAIL_TYPE, event_entry  # noqa: F401 - EVENT_DETAIL_TYPE re-exported
from circuit_breaker.core.registry import not_registered

#: An isolation may last at most a year when given a duration.
MAX_ISOLATION_SECONDS = 31_536_000
MAX_REASON_LENGTH = 512
#: How often an operator's write is retried when the circuit keeps changing under it.
WRITE_ATTEMPTS = 5


@dataclass(frozen=True)
class CircuitView:
    """One callee's circuit as an operator sees it: the decoded record, and whether the callee is registered."""

    record: CircuitRecord
    registered: bool | None
    """``None`` when the breaker's registry is unknown."""

    @property
    def callee(self) -> str:
        return self.record.callee

    def as_dict(self) -> dict[str, Any]:
        return {**self.record.as_dict(), "registered": self.registered}


@dataclass(frozen=True)
class Change:
    """What an operator's write did: the circuit as the write found it, as it left it, and whether it changed."""

    before: CircuitRecord
    after: CircuitView
    changed: bool = True


class Circuits:
    """The circuits of one deployed breaker."""

    def __init__(self, connection: Connection, deployment: Deployment, clock: Callable[[], float] = time.time) -> None:
        self.connection = connection
        self.deployment = deployment
        self.clock = clock
        self._dynamodb = connection.client("dynamodb")

    # -- reading -------------------------------------------------------------------------------

    def read(self, callee: str) -> CircuitRecord:
        """The callee's circuit now, decoded with its registered limits."""
        item = self._dynamodb.get_item(**get_item_request(self.deployment.table_name, callee)).get("Item")
        return decode(callee, item, self.clock(), self.deployment.limits(callee))

    def get(self, callee: str) -> CircuitView:
        """One callee's circuit; raises :class:`CircuitError` for a callee that is neither registered nor in the table."""
        record = self.read(callee)
        registered = self.deployment.knows(callee)
        if registered is False and not record.exists:
            raise CircuitError(self._unknown(callee))
        return CircuitView(record, registered)

    def all(self) -> list[CircuitView]:
        """Every registered callee's circuit, and any other item the table holds."""
        items: dict[str, dict[str, Any]] = {}
        kwargs = scan_request(self.deployment.table_name)
        while True:
            page = self._dynamodb.scan(**kwargs)
            for item in page.get("Items", []):
                name = (item.get(SERVICE_NAME) or {}).get("S")
                if isinstance(name, str):
                    items[name] = item
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        now = self.clock()
        names = sorted(set(self.deployment.callees) | set(items))
        return [
            CircuitView(decode(name, items.get(name), now, self.deployment.limits(name)), self.deployment.knows(name))
            for name in names
        ]

    # -- writing -------------------------------------------------------------------------------

    def _unknown(self, callee: str) -> str:
        return not_registered(callee, self.deployment.callees, self.deployment.name)

    def _require_registered(self, callee: str) -> None:
        if self.deployment.knows(callee) is False:
            raise CircuitError(self._unknown(callee))

    def identity(self) -> str:
        """Who is acting: the caller's AWS identity, or the local user when it cannot be read."""
        try:
            return self.connection.client("sts").get_caller_identity()["Arn"]
        except Exception:  # noqa: BLE001 - no identity service is not a reason to refuse the command
            return f"user:{getpass.getuser()}"

    def _write(self, request: dict[str, Any]) -> bool:
        """Put the item; False when its version condition failed (someone wrote in between)."""
        try:
            self._dynamodb.put_item(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def isolate(self, callee: str, reason: str, for_seconds: int | None = None) -> Change:
        """Hold the circuit open (calls fail with CircuitIsolated) until reset, or for ``for_seconds``.

        Refuses to replace another live isolation: reset it first.
        """
        self._require_registered(callee)
        reason = reason.strip()
        if not reason:
            raise CircuitError("give a reason for the isolation (--reason), e.g. --reason 'incident 42: payment provider down'")
        if len(reason) > MAX_REASON_LENGTH:
            raise CircuitError(f"the reason is {len(reason)} characters long; keep it under {MAX_REASON_LENGTH}")
        if for_seconds is not None and not 1 <= for_seconds <= MAX_ISOLATION_SECONDS:
            raise CircuitError(f"--for must be from 1 to {MAX_ISOLATION_SECONDS} seconds, got {for_seconds}")
        actor = self.identity()
        for _ in range(WRITE_ATTEMPTS):
            before = self.read(callee)
            if before.state is CircuitState.ISOLATED:
                raise CircuitError(
                    f"{callee} is already isolated by {before.isolated_by} ({before.reason}); "
                    f"reset it first (breaker reset {callee}) to isolate it anew"
                )
            now = int(self.clock())
            until = None if for_seconds is None else now + for_seconds
            if self._write(isolate_request(self.deployment.table_name, before, reason=reason, actor=actor, now=now, until=until)):
                self.publish(callee, before.state.value, CircuitState.ISOLATED.value, f"isolated by an operator: {reason}", actor, until)
                return Change(before, self.get(callee))
        raise CircuitError(f"the circuit of {callee} kept changing while isolating it; try again")

    def reset(self, callee: str) -> Change:
        """Close the circuit and clear its counters (nothing to do when it is closed without failures)."""
        self._require_registered(callee)
        actor = self.identity()
        for _ in range(WRITE_ATTEMPTS):
            before = self.read(callee)
            if before.state is CircuitState.CLOSED and not before.failures and (not before.exists or before.expired):
                return Change(before, CircuitView(before, self.deployment.knows(callee)), changed=False)
            now = int(self.clock())
            if self._write(reset_request(self.deployment.table_name, before, actor=actor, now=now)):
                self.publish(callee, before.state.value, CircuitState.CLOSED.value, "reset by an operator", actor, None)
                return Change(before, self.get(callee))
        raise CircuitError(f"the circuit of {callee} kept changing while resetting it; try again")

    def publish(self, callee: str, from_state: str, to_state: str, reason: str, actor: str, until: int | None) -> None:
        """Publish an operator's transition as the workflow publishes its own."""
        if not self.deployment.event_bus_name or not self.deployment.event_source:
            return
        detail = {
            "callee": callee,
            "from": from_state,
            "to": to_state,
            "reason": reason,
            "actor": actor,
            "executionArn": None,
            "at": int(self.clock()),
        }
        if until is not None:
            detail["until"] = until
        self.connection.client("events").put_events(
            Entries=[event_entry(self.deployment.event_source, self.deployment.event_bus_name, detail)]
        )
