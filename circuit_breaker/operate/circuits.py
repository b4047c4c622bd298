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
    SHARD_OF,
    CircuitRecord,
    CircuitState,
    ItemName,
    circuit_name,
    decode,
    get_item_request,
    scan_request,
    shard_names,
)
from circuit_breaker.core.writes import copy_to_shards, isolate_request, reset_request
from circuit_breaker.core.transitions import EVENT_DETAIL_TYPE, event_entry  # noqa: F401 - EVENT_DETAIL_TYPE re-exported
from circuit_breaker.core.call_input import circuit_key_problem
from circuit_breaker.core.registry import not_registered, without_circuit_keys

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

    shards: tuple[CircuitRecord, ...] = ()
    """The circuit's read shards (``read_shards`` > 1), as each says now: they copy the primary after every
    transition, so one that disagrees missed a change (readers of it repair it, or it runs out)."""

    @property
    def callee(self) -> str:
        return self.record.callee

    @property
    def circuit(self) -> str:
        """``callee``, or ``callee#key`` for a key's own circuit."""
        return self.record.circuit

    @property
    def lagging_shards(self) -> list[int]:
        """The shards (1, 2, ...) whose state differs from the primary's."""
        primary = (self.record.state, self.record.retry_after)
        return [n for n, shard in enumerate(self.shards, start=1) if (shard.state, shard.retry_after) != primary]

    def as_dict(self) -> dict[str, Any]:
        data = {**self.record.as_dict(), "circuit": self.circuit, "registered": self.registered}
        if self.shards:
            data["read_shards"] = len(self.shards) + 1
            data["lagging_shards"] = self.lagging_shards
        return data


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

    def read(self, callee: str, key: str | None = None) -> CircuitRecord:
        """The circuit now (the callee's own, or ``key``'s), decoded from its primary item with its registered limits."""
        item = self._dynamodb.get_item(**get_item_request(self.deployment.table_name, circuit_name(callee, key))).get("Item")
        return decode(callee, item, self.clock(), self.deployment.limits(callee), key)

    def _view(self, record: CircuitRecord, shard_items: dict[str, dict[str, Any]] | None = None) -> CircuitView:
        """The view of a circuit, with its read shards as stored (read one by one when not given)."""
        shards = []
        for name in shard_names(record.circuit, self.deployment.read_shards(record.callee))[1:]:
            if shard_items is None:
                item = self._dynamodb.get_item(**get_item_request(self.deployment.table_name, name)).get("Item")
            else:
                item = shard_items.get(name)
            shards.append(decode(record.callee, item, record.read_at, self.deployment.limits(record.callee), record.key))
        return CircuitView(record, self.deployment.knows(record.callee), tuple(shards))

    def get(self, callee: str, key: str | None = None) -> CircuitView:
        """One circuit; raises :class:`CircuitError` for a callee that is neither registered nor in the table, or a
        key for a callee that has no circuit keys."""
        self._check_key(callee, key)
        record = self.read(callee, key)
        if self.deployment.knows(callee) is False and not record.exists:
            raise CircuitError(self._unknown(callee))
        return self._view(record)

    def all(self) -> list[CircuitView]:
        """Every registered callee's circuit, every key's circuit the table holds, and any other item there."""
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
        circuits = {ItemName(callee) for callee in self.deployment.callees}
        for name in items:
            parsed = ItemName.parse(name)
            if parsed.shard == 0 and not (SHARD_OF in items[name] and parsed.callee == name):
                circuits.add(parsed)
            elif parsed.shard:
                circuits.add(ItemName(parsed.callee, parsed.key))
        ordered = sorted(circuits, key=lambda c: (c.callee, c.key or ""))
        return [
            self._view(decode(c.callee, items.get(c.circuit), now, self.deployment.limits(c.callee), c.key), items)
            for c in ordered
        ]

    # -- writing -------------------------------------------------------------------------------

    def _unknown(self, callee: str) -> str:
        return not_registered(callee, self.deployment.callees, self.deployment.name)

    def _require_registered(self, callee: str, key: str | None = None) -> None:
        if self.deployment.knows(callee) is False:
            raise CircuitError(self._unknown(callee))
        self._check_key(callee, key)

    def _check_key(self, callee: str, key: str | None) -> None:
        if key is None:
            return
        problem = circuit_key_problem(key)
        if problem is not None:
            raise CircuitError(problem)
        if self.deployment.keyed(callee) is False:
            raise CircuitError(without_circuit_keys(callee, "leave --key out"))

    def _copy_to_shards(self, record: CircuitRecord) -> None:
        copy_to_shards(self._dynamodb, self.deployment.table_name, record.circuit, self.deployment.read_shards(record.callee), self.clock)

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

    def isolate(self, callee: str, reason: str, for_seconds: int | None = None, key: str | None = None) -> Change:
        """Hold the circuit (the callee's, or ``key``'s) open (calls fail with CircuitIsolated) until reset, or for
        ``for_seconds``; its read shards get the isolation too. Refuses to replace another live isolation: reset it first.
        """
        self._require_registered(callee, key)
        reason = reason.strip()
        if not reason:
            raise CircuitError("give a reason for the isolation (--reason), e.g. --reason 'incident 42: payment provider down'")
        if len(reason) > MAX_REASON_LENGTH:
            raise CircuitError(f"the reason is {len(reason)} characters long; keep it under {MAX_REASON_LENGTH}")
        if for_seconds is not None and not 1 <= for_seconds <= MAX_ISOLATION_SECONDS:
            raise CircuitError(f"--for must be from 1 to {MAX_ISOLATION_SECONDS} seconds, got {for_seconds}")
        actor = self.identity()
        for _ in range(WRITE_ATTEMPTS):
            before = self.read(callee, key)
            if before.state is CircuitState.ISOLATED:
                again = f"{callee} --key {key}" if key else callee
                raise CircuitError(
                    f"{before.circuit} is already isolated by {before.isolated_by} ({before.reason}); "
                    f"reset it first (breaker reset {again}) to isolate it anew"
                )
            now = int(self.clock())
            until = None if for_seconds is None else now + for_seconds
            if self._write(isolate_request(self.deployment.table_name, before, reason=reason, actor=actor, now=now, until=until)):
                self._copy_to_shards(before)
                self.publish(before, CircuitState.ISOLATED.value, f"isolated by an operator: {reason}", actor, until)
                return Change(before, self.get(callee, key))
        raise CircuitError(f"the circuit of {circuit_name(callee, key)} kept changing while isolating it; try again")

    def reset(self, callee: str, key: str | None = None) -> Change:
        """Close the circuit (the callee's, or ``key``'s) and clear its counters, on every read shard; nothing to do
        when it is closed without failures and its shards agree."""
        self._require_registered(callee, key)
        actor = self.identity()
        for _ in range(WRITE_ATTEMPTS):
            before = self.read(callee, key)
            if before.state is CircuitState.CLOSED and not before.failures and (not before.exists or before.expired):
                view = self._view(before)
                if not view.lagging_shards:
                    return Change(before, view, changed=False)
            now = int(self.clock())
            if self._write(reset_request(self.deployment.table_name, before, actor=actor, now=now)):
                self._copy_to_shards(before)
                self.publish(before, CircuitState.CLOSED.value, "reset by an operator", actor, None)
                return Change(before, self.get(callee, key))
        raise CircuitError(f"the circuit of {circuit_name(callee, key)} kept changing while resetting it; try again")

    def publish(self, before: CircuitRecord, to_state: str, reason: str, actor: str, until: int | None) -> None:
        """Publish an operator's transition as the workflow publishes its own."""
        if not self.deployment.event_bus_name or not self.deployment.event_source:
            return
        detail = {
            "callee": before.callee,
            **({"key": before.key} if before.key else {}),
            "from": before.state.value,
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
