"""Operate circuits: read their state, isolate one (hold it open), reset one (close it).

The table is the workflow's (DESIGN.md section 3); this module reads it the way the workflow does
(an expired item is absent) and writes it with conditions, so an operator's change never
silently overwrites a change made in between. Isolations and resets record who made them, why
and when, and are published as transition events like the workflow's own.
"""

from __future__ import annotations

import getpass
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from circuit_breaker.deployment import Connection, Deployment

#: How long a reset's record (who, when) stays in the table before DynamoDB may delete it.
RESET_RECORD_SECONDS = 86_400
#: An isolation may last at most a year when given a duration.
MAX_ISOLATION_SECONDS = 31_536_000
MAX_REASON_LENGTH = 512

EVENT_DETAIL_TYPE = "Circuit state changed"


class CircuitError(Exception):
    """An operator command cannot be carried out; the message says why and what to do."""


@dataclass(frozen=True)
class CircuitView:
    """One callee's circuit as an operator sees it."""

    callee: str
    state: str
    registered: bool
    failures: int | None = None
    window_ends_at: int | None = None
    open_until: int | None = None
    probe_lease_until: int | None = None
    consecutive_opens: int | None = None
    reason: str | None = None
    isolated_by: str | None = None
    isolated_at: int | None = None
    expires_at: int | None = None
    last_error: str | None = None
    last_execution: str | None = None
    updated_at: int | None = None
    stale: bool = False
    """An expired item is still in the table (DynamoDB deletes late); it counts as absent."""

    def seconds_open(self, now: float) -> int | None:
        """Seconds until calls may go through again, while the circuit is open."""
        if self.state == "OPEN" and self.open_until is not None:
            return max(0, int(self.open_until - now))
        if self.state == "HALF_OPEN" and self.probe_lease_until is not None:
            return max(0, int(self.probe_lease_until - now))
        if self.state == "ISOLATED":
            return None if self.expires_at is None else max(0, int(self.expires_at - now))
        return None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _value(attribute: dict[str, Any] | None) -> Any:
    if not attribute:
        return None
    if "N" in attribute:
        number = float(attribute["N"])
        return int(number) if number.is_integer() else number
    return next(iter(attribute.values()))


def view_of(callee: str, item: dict[str, Any] | None, registered: bool, now: float) -> CircuitView:
    """Decode a table item as the workflow does (DESIGN.md section 3)."""
    if item is None:
        return CircuitView(callee=callee, state="CLOSED", registered=registered)
    values = {key: _value(attribute) for key, attribute in item.items()}
    expires_at = values.get("ExpiryTimeStamp") if isinstance(values.get("ExpiryTimeStamp"), (int, float)) else None
    if expires_at is not None and expires_at <= now:
        return CircuitView(callee=callee, state="CLOSED", registered=registered, stale=True)
    state = values.get("CircuitStatus") if isinstance(values.get("CircuitStatus"), str) else "UNKNOWN"
    window_ends_at = values.get("WindowEndsAt")
    live_window = state == "CLOSED" and isinstance(window_ends_at, (int, float)) and window_ends_at > now
    return CircuitView(
        callee=callee,
        state=state,
        registered=registered,
        failures=values.get("Failures") if live_window else None,
        window_ends_at=window_ends_at if live_window else None,
        open_until=values.get("OpenUntil"),
        probe_lease_until=values.get("ProbeLeaseUntil"),
        consecutive_opens=values.get("ConsecutiveOpens"),
        reason=values.get("Reason"),
        isolated_by=values.get("IsolatedBy"),
        isolated_at=values.get("IsolatedAt"),
        expires_at=expires_at,
        last_error=values.get("LastError"),
        last_execution=values.get("LastExecutionArn"),
        updated_at=values.get("UpdatedAt"),
    )


class Circuits:
    """The circuits of one deployed breaker."""

    def __init__(self, connection: Connection, deployment: Deployment) -> None:
        self.connection = connection
        self.deployment = deployment
        self._dynamodb = connection.client("dynamodb")

    # -- reading -------------------------------------------------------------------------------

    def _item(self, callee: str) -> dict[str, Any] | None:
        return self._dynamodb.get_item(
            TableName=self.deployment.table_name, Key={"ServiceName": {"S": callee}}, ConsistentRead=True
        ).get("Item")

    def get(self, callee: str) -> CircuitView:
        """One callee's circuit; raises :class:`CircuitError` for a callee that is neither registered nor known."""
        item = self._item(callee)
        registered = callee in self.deployment.callees
        if item is None and not registered and self.deployment.callees:
            raise CircuitError(self._unknown(callee))
        return view_of(callee, item, registered, time.time())

    def all(self) -> list[CircuitView]:
        """Every registered callee's circuit, and any other item the table holds."""
        items: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"TableName": self.deployment.table_name, "ConsistentRead": True}
        while True:
            page = self._dynamodb.scan(**kwargs)
            for item in page.get("Items", []):
                items[item["ServiceName"]["S"]] = item
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        now = time.time()
        names = sorted(set(self.deployment.callees) | set(items))
        return [view_of(name, items.get(name), name in self.deployment.callees, now) for name in names]

    # -- writing -------------------------------------------------------------------------------

    def _unknown(self, callee: str) -> str:
        return f"callee {callee!r} is not registered with {self.deployment.stack_name}; registered: {', '.join(self.deployment.callees)}"

    def _require_registered(self, callee: str) -> None:
        if self.deployment.callees and callee not in self.deployment.callees:
            raise CircuitError(self._unknown(callee))

    def identity(self) -> str:
        """Who is acting: the caller's AWS identity, or the local user when it cannot be read."""
        try:
            return self.connection.client("sts").get_caller_identity()["Arn"]
        except Exception:  # noqa: BLE001 - no identity service is not a reason to refuse the command
            return f"user:{getpass.getuser()}"

    def isolate(self, callee: str, reason: str, for_seconds: int | None = None) -> CircuitView:
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
        now = int(time.time())
        actor = self.identity()
        before = view_of(callee, self._item(callee), True, now)
        item: dict[str, Any] = {
            "ServiceName": {"S": callee},
            "CircuitStatus": {"S": "ISOLATED"},
            "Reason": {"S": reason},
            "IsolatedBy": {"S": actor},
            "IsolatedAt": {"N": str(now)},
            "UpdatedAt": {"N": str(now)},
        }
        if for_seconds is not None:
            item["ExpiryTimeStamp"] = {"N": str(now + for_seconds)}
        try:
            self._dynamodb.put_item(
                TableName=self.deployment.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(ServiceName) OR CircuitStatus <> :isolated OR ExpiryTimeStamp <= :now",
                ExpressionAttributeValues={":isolated": {"S": "ISOLATED"}, ":now": {"N": str(now)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = self.get(callee)
            raise CircuitError(
                f"{callee} is already isolated by {current.isolated_by} ({current.reason}); "
                f"reset it first (breaker reset {callee}) to isolate it anew"
            ) from None
        view = self.get(callee)
        self.publish(callee, before.state, "ISOLATED", f"isolated by an operator: {reason}", actor, view.expires_at)
        return view

    def reset(self, callee: str) -> tuple[CircuitView, bool]:
        """Close the circuit and clear its counters; returns the new view and whether anything changed."""
        self._require_registered(callee)
        actor = self.identity()
        for _ in range(5):
            now = int(time.time())
            item = self._item(callee)
            before = view_of(callee, item, True, now)
            if before.state == "CLOSED" and not before.failures and (item is None or before.stale):
                return before, False
            condition: dict[str, Any]
            if item is None:
                condition = {"ConditionExpression": "attribute_not_exists(ServiceName)"}
            elif "UpdatedAt" in item:
                condition = {"ConditionExpression": "UpdatedAt = :seen", "ExpressionAttributeValues": {":seen": item["UpdatedAt"]}}
            else:
                condition = {"ConditionExpression": "attribute_not_exists(UpdatedAt)"}
            try:
                self._dynamodb.put_item(
                    TableName=self.deployment.table_name,
                    Item={
                        "ServiceName": {"S": callee},
                        "CircuitStatus": {"S": "CLOSED"},
                        "ResetBy": {"S": actor},
                        "ResetAt": {"N": str(now)},
                        "UpdatedAt": {"N": str(now)},
                        "ExpiryTimeStamp": {"N": str(now + RESET_RECORD_SECONDS)},
                    },
                    **condition,
                )
            except ClientError as error:
                if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    continue  # the workflow changed the circuit meanwhile: read it again
                raise
            self.publish(callee, before.state, "CLOSED", "reset by an operator", actor, None)
            return self.get(callee), True
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
            "at": int(time.time()),
        }
        if until is not None:
            detail["until"] = until
        self.connection.client("events").put_events(
            Entries=[
                {
                    "Source": self.deployment.event_source,
                    "DetailType": EVENT_DETAIL_TYPE,
                    "EventBusName": self.deployment.event_bus_name,
                    "Detail": json.dumps(detail),
                }
            ]
        )
