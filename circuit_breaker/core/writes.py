"""The conditional writes of the circuit item that Python makes: the operators' and the health check's.

Every write is conditional on the :data:`~circuit_breaker.core.record.VERSION` the writer read, so it never lands
on a change it did not see (the workflow's own writes increment ``Version`` too); the caller reads again and
decides anew when DynamoDB refuses it. The workflow makes its own writes in the ASL; the model they all write is
:mod:`circuit_breaker.core.record`.

:func:`isolate_request` / :func:`reset_request` are the operators' writes; :func:`health_streak_request` /
:func:`health_open_request` / :func:`health_close_request` the scheduled health check's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol

from circuit_breaker.core.record import (
    CIRCUIT_STATUS,
    CLOSED_AT,
    CONSECUTIVE_OPENS,
    EXPIRY,
    HEALTH_CHECKED_AT,
    HEALTH_PHASE,
    HEALTH_STREAK,
    ISOLATED_AT,
    ISOLATED_BY,
    LAST_ERROR,
    OPENED_AT,
    OPEN_UNTIL,
    PROBE_LEASE_UNTIL,
    REASON,
    RESET_AT,
    RESET_BY,
    RESET_RECORD_SECONDS,
    SERVICE_NAME,
    SHARD_OF,
    UPDATED_AT,
    VERSION,
    CircuitRecord,
    CircuitState,
    key,
    shard_names,
)


def version_condition(seen: CircuitRecord) -> dict[str, Any]:
    """The condition that the item is still what ``seen`` read: absent, at the same version, or unversioned.

    An item written before versions existed has no ``Version``; any later write (the workflow's
    ``if_not_exists(Version, 0) + 1``, an operator's ``seen + 1``) adds one, so the condition still
    refuses a write that would land on a change it did not see.
    """
    if not seen.exists:
        return {"ConditionExpression": f"attribute_not_exists({SERVICE_NAME})"}
    if seen.version is None:
        return {"ConditionExpression": f"attribute_exists({SERVICE_NAME}) AND attribute_not_exists({VERSION})"}
    return {"ConditionExpression": f"{VERSION} = :seenVersion", "ExpressionAttributeValues": {":seenVersion": {"N": str(seen.version)}}}


def next_version(seen: CircuitRecord) -> int:
    """The version a write after ``seen`` stores."""
    return (seen.version or 0) + 1


def _put(table_name: str, seen: CircuitRecord, attributes: dict[str, Any]) -> dict[str, Any]:
    item = {**key(seen.circuit), **attributes, VERSION: {"N": str(next_version(seen))}}
    return {"TableName": table_name, "Item": item, **version_condition(seen)}


def isolate_request(
    table_name: str, seen: CircuitRecord, *, reason: str, actor: str, now: int, until: int | None = None
) -> dict[str, Any]:
    """``PutItem`` arguments that isolate the circuit read as ``seen``: until ``until`` (epoch s), or until reset.

    Conditional on ``seen``'s version; the caller decides whether ``seen`` may be replaced (a live
    isolation should not be).
    """
    attributes: dict[str, Any] = {
        CIRCUIT_STATUS: {"S": CircuitState.ISOLATED.value},
        REASON: {"S": reason},
        ISOLATED_BY: {"S": actor},
        ISOLATED_AT: {"N": str(now)},
        UPDATED_AT: {"N": str(now)},
    }
    if until is not None:
        attributes[EXPIRY] = {"N": str(until)}
    return _put(table_name, seen, attributes)


def reset_request(
    table_name: str, seen: CircuitRecord, *, actor: str, now: int, keep_seconds: int = RESET_RECORD_SECONDS
) -> dict[str, Any]:
    """``PutItem`` arguments that close the circuit read as ``seen`` and clear its counters.

    The closed item records who reset it and when, and expires after ``keep_seconds``.
    """
    return _put(
        table_name,
        seen,
        {
            CIRCUIT_STATUS: {"S": CircuitState.CLOSED.value},
            RESET_BY: {"S": actor},
            RESET_AT: {"N": str(now)},
            UPDATED_AT: {"N": str(now)},
            EXPIRY: {"N": str(now + keep_seconds)},
        },
    )


# -- the health check's writes ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Write:
    """One conditional DynamoDB write: the client method (``put_item`` or ``update_item``) and its arguments."""

    operation: str
    arguments: dict[str, Any]


#: The phase of a closed circuit's streak (unhealthy checks); an open circuit's is ``OPEN:<OpenedAt>``.
CLOSED_PHASE = "CLOSED"


def health_phase(record: CircuitRecord) -> str | None:
    """What a health-check streak of ``record`` counts: ``CLOSED`` (unhealthy checks) or ``OPEN:<OpenedAt>`` (healthy ones).

    An open circuit and its half-open probe share a phase (the lease keeps ``OpenedAt``); a failed
    probe reopens with a new ``OpenedAt``, which ends the streak. ``None`` for an isolated circuit:
    the health check never changes one.
    """
    if record.state is CircuitState.ISOLATED:
        return None
    if record.state is CircuitState.CLOSED:
        return CLOSED_PHASE
    return f"{CircuitState.OPEN.value}:{record.opened_at if record.opened_at is not None else 0}"


def _conditioned(request: dict[str, Any], seen: CircuitRecord, extra: str | None, values: dict[str, Any]) -> dict[str, Any]:
    """``request`` conditional on ``seen``'s version and, for a live item, on ``extra`` too."""
    condition = version_condition(seen)
    expression = condition["ConditionExpression"]
    if extra and seen.exists and not seen.expired:
        expression = f"({expression}) AND ({extra})"
    else:
        values = {}
    merged = {**condition.get("ExpressionAttributeValues", {}), **values}
    request = {**request, "ConditionExpression": expression}
    if merged:
        request["ExpressionAttributeValues"] = {**request.get("ExpressionAttributeValues", {}), **merged}
    return request


def health_streak_request(
    table_name: str, seen: CircuitRecord, *, streak: int, phase: str, now: int, keep_until: int
) -> Write:
    """Record a health-check streak (``streak`` 0 clears it) on the circuit read as ``seen``, changing nothing else.

    An absent or expired item becomes a fresh closed record holding only the streak (and expiring at
    ``keep_until``). A live closed item is kept until at least ``keep_until``, so the streak survives
    until the next check. Conditional on ``seen``'s version, and never on an isolated circuit.
    Returns ``{"put": {...}}`` (``PutItem`` arguments) or ``{"update": {...}}`` (``UpdateItem`` arguments).
    """
    if seen.state is CircuitState.ISOLATED:
        raise ValueError(f"{seen.callee} is isolated: a health check never writes over an isolation")
    if not seen.exists or seen.expired:
        if streak < 1:
            raise ValueError("an absent circuit has no streak to clear")
        attributes = {
            CIRCUIT_STATUS: {"S": CircuitState.CLOSED.value},
            HEALTH_STREAK: {"N": str(streak)},
            HEALTH_PHASE: {"S": phase},
            HEALTH_CHECKED_AT: {"N": str(now)},
            UPDATED_AT: {"N": str(now)},
            EXPIRY: {"N": str(keep_until)},
        }
        return Write("put_item", _put(table_name, seen, attributes))
    values: dict[str, Any] = {":nextVersion": {"N": str(next_version(seen))}}
    if streak < 1:
        expression = f"SET {VERSION} = :nextVersion REMOVE {HEALTH_STREAK}, {HEALTH_PHASE}, {HEALTH_CHECKED_AT}"
    else:
        expression = f"SET {HEALTH_STREAK} = :streak, {HEALTH_PHASE} = :phase, {HEALTH_CHECKED_AT} = :now, {VERSION} = :nextVersion"
        values.update({":streak": {"N": str(streak)}, ":phase": {"S": phase}, ":now": {"N": str(now)}})
        if seen.state is CircuitState.CLOSED and seen.expires_at is not None and seen.expires_at < keep_until:
            expression += f", {EXPIRY} = :keepUntil"
            values[":keepUntil"] = {"N": str(keep_until)}
    request = {"TableName": table_name, "Key": key(seen.circuit), "UpdateExpression": expression, "ExpressionAttributeValues": values}
    return Write("update_item", _conditioned(request, seen, f"{CIRCUIT_STATUS} <> :isolated", {":isolated": _STATE_VALUES[":isolated"]}))


def health_open_request(
    table_name: str, seen: CircuitRecord, *, now: int, break_seconds: int, max_break_seconds: int, error: str
) -> Write:
    """The ``PutItem`` that opens the closed circuit read as ``seen`` because its health checks failed.

    The open record is the workflow's (``OpenUntil = now + break_seconds``, ``ConsecutiveOpens`` 1,
    ``ExpiryTimeStamp = OpenUntil + max_break_seconds``). Conditional on ``seen``'s version and on the
    item not being open, half-open or isolated: an open circuit's ``OpenUntil`` never moves.
    """
    if seen.state is not CircuitState.CLOSED:
        raise ValueError(f"{seen.callee} is {seen.state.value}: only a closed circuit is opened by its health check")
    open_until = now + break_seconds
    attributes = {
        CIRCUIT_STATUS: {"S": CircuitState.OPEN.value},
        OPEN_UNTIL: {"N": str(open_until)},
        OPENED_AT: {"N": str(now)},
        CONSECUTIVE_OPENS: {"N": "1"},
        LAST_ERROR: {"S": error[:1024]},
        UPDATED_AT: {"N": str(now)},
        EXPIRY: {"N": str(open_until + max_break_seconds)},
    }
    return _put_if(table_name, seen, attributes, f"NOT ({CIRCUIT_STATUS} IN (:open, :halfOpen, :isolated))")


def health_close_request(table_name: str, seen: CircuitRecord, *, now: int, max_break_seconds: int) -> Write:
    """The ``PutItem`` that closes the open or half-open circuit read as ``seen``: its health checks passed.

    The closed record is the one a successful probe leaves (no counters, expiring ``max_break_seconds``
    from now). Conditional on ``seen``'s version and on the item still being open or half-open.
    """
    if seen.state not in (CircuitState.OPEN, CircuitState.HALF_OPEN) or not seen.exists or seen.expired:
        raise ValueError(f"{seen.callee} is {seen.state.value}: only an open or half-open circuit is closed by its health check")
    attributes = {
        CIRCUIT_STATUS: {"S": CircuitState.CLOSED.value},
        UPDATED_AT: {"N": str(now)},
        EXPIRY: {"N": str(now + max_break_seconds)},
        CLOSED_AT: {"N": str(now)},  # a recovery, as a probe's close: a ramp (ramp_seconds) starts here
    }
    return _put_if(table_name, seen, attributes, f"{CIRCUIT_STATUS} IN (:open, :halfOpen)")


#: The states a health check's conditions name.
_STATE_VALUES = {":open": {"S": "OPEN"}, ":halfOpen": {"S": "HALF_OPEN"}, ":isolated": {"S": "ISOLATED"}}


def _put_if(table_name: str, seen: CircuitRecord, attributes: dict[str, Any], state_condition: str) -> Write:
    """A ``PutItem`` of ``attributes`` over the item read as ``seen``: conditional on its version and, when live, on ``state_condition``."""
    request = {k: v for k, v in _put(table_name, seen, attributes).items() if k not in ("ConditionExpression", "ExpressionAttributeValues")}
    named = {name: value for name, value in _STATE_VALUES.items() if name in state_condition}
    return Write("put_item", _conditioned(request, seen, state_condition, named))


# -- copying the primary item to the read shards ----------------------------------------------------------

#: What a read shard copies of its primary item: what a reader decides on, and when it expires.
MIRRORED_ATTRIBUTES = (CIRCUIT_STATUS, OPEN_UNTIL, PROBE_LEASE_UNTIL, CONSECUTIVE_OPENS, CLOSED_AT, EXPIRY)
#: Copies made before giving up on a primary item that keeps changing (the next transition copies it again).
MIRROR_PASSES = 3


class DynamoDBClient(Protocol):
    """The two calls :func:`copy_to_shards` makes (a boto3 DynamoDB client has them)."""

    def get_item(self, **kwargs: Any) -> dict[str, Any]: ...

    def put_item(self, **kwargs: Any) -> dict[str, Any]: ...


def shard_copy(primary: Mapping[str, Any] | None, now: int) -> dict[str, Any]:
    """The attributes a read shard gets from its primary ``item`` (an absent primary: a shard that counts as absent)."""
    if not primary:
        return {CIRCUIT_STATUS: {"S": CircuitState.CLOSED.value}, EXPIRY: {"N": str(now)}}
    return {name: primary[name] for name in MIRRORED_ATTRIBUTES if name in primary}


def copy_to_shards(client: DynamoDBClient, table_name: str, circuit: str, read_shards: int, clock: Callable[[], float]) -> int:
    """Copy the primary item of ``circuit`` to its other read shards, as the workflow does after a transition.

    Writes what the primary says *now*, then reads it again and copies once more if it changed meanwhile (another
    transition, the workflow's or an operator's), so the shards end with its latest state. Returns the passes made.
    """
    if read_shards <= 1:
        return 0
    projection = {"ProjectionExpression": ", ".join(f"#m{i}" for i in range(len(MIRRORED_ATTRIBUTES))),
                  "ExpressionAttributeNames": {f"#m{i}": name for i, name in enumerate(MIRRORED_ATTRIBUTES)}}  # fmt: skip
    request = {"TableName": table_name, "Key": key(circuit), "ConsistentRead": True, **projection}
    copied: dict[str, Any] | None = None
    for passes in range(1, MIRROR_PASSES + 1):
        primary = client.get_item(**request).get("Item") or {}
        if copied is not None and primary == copied:
            return passes - 1
        for shard in shard_names(circuit, read_shards)[1:]:
            client.put_item(TableName=table_name, Item={**shard_copy(primary, int(clock())), **key(shard), SHARD_OF: {"S": circuit}})
        copied = primary
    return MIRROR_PASSES
