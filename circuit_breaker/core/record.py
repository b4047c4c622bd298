"""The circuit table's item as one Python model: states, attributes, expiry, defensive decoding.

The workflow owns the ``CircuitStatus`` table (the README's *Data model*); every Python reader or writer
of it (the operator commands, a caller's cache, the Lambda extension, the health check) goes
through this module, so all of them read an item the way the workflow acts on it:

- an item whose ``ExpiryTimeStamp`` has passed is absent (DynamoDB deletes expired items late);
  an item without one never expires;
- an attribute of the wrong type, a missing one, an unknown status, or a break or probe lease
  longer than any the workflow can write (given the callee's limits, when known) makes the record
  *malformed*: :attr:`CircuitRecord.problems` says what is wrong and how the workflow treats it,
  never an exception;
- every write is conditional on the :data:`VERSION` the writer read, so an operator's write never
  lands on a change it did not see (the workflow's own writes increment ``Version`` too).

Use :func:`decode` to read an item and :func:`get_item_request` / :func:`scan_request` for what to ask
DynamoDB; the writes are :mod:`circuit_breaker.core.writes`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Mapping

# -- the item's attributes (the README's *Data model*) ----------------------------------------------------------

SERVICE_NAME = "ServiceName"
"""Partition key (S): the callee's name."""
CIRCUIT_STATUS = "CircuitStatus"
EXPIRY = "ExpiryTimeStamp"
"""TTL attribute (N, epoch s): the item counts as absent from this moment; none = never expires."""
VERSION = "Version"
"""N: incremented by every write (workflow and operators); a write conditions on the version it read."""
FAILURES = "Failures"
WINDOW_ENDS_AT = "WindowEndsAt"
OPEN_UNTIL = "OpenUntil"
OPENED_AT = "OpenedAt"
CONSECUTIVE_OPENS = "ConsecutiveOpens"
PROBE_LEASE_UNTIL = "ProbeLeaseUntil"
LAST_ERROR = "LastError"
REASON = "Reason"
ISOLATED_BY = "IsolatedBy"
ISOLATED_AT = "IsolatedAt"
RESET_BY = "ResetBy"
RESET_AT = "ResetAt"
UPDATED_AT = "UpdatedAt"
LAST_EXECUTION_ARN = "LastExecutionArn"
HEALTH_STREAK = "HealthStreak"
"""N: how many health checks in a row counted towards a transition in :data:`HEALTH_PHASE` (written by the health check)."""
HEALTH_PHASE = "HealthPhase"
"""S: what the streak counts: unhealthy checks of a closed circuit (``CLOSED``), or healthy checks of the open
circuit that opened at ``OpenedAt`` (``OPEN:<OpenedAt>``). A streak of another phase is over."""
HEALTH_CHECKED_AT = "HealthCheckedAt"
"""N: when the streak's last check ran; a streak older than two check intervals is over."""
CALLS = "Calls"
"""N: attempts recorded in the failure window (the rate rule): failures, plus sampled successes at their weight."""
CLOSED_AT = "ClosedAt"
"""N: when a probe (or a health check) closed the circuit: the ramp of ``ramp_seconds`` starts there."""
PROBE_SUCCESSES = "ProbeSuccesses"
"""N: successful probes in a row of a half-open circuit (``success_threshold`` closes it)."""
SHARD_OF = "ShardOf"
"""S: on a read shard only, the primary item it copies (see :func:`shard_names`)."""

#: ``ServiceName`` of a circuit: ``<callee>``, or ``<callee>#<key>`` for a key's own circuit (``circuit_keys``);
#: its read shards add ``@<n>`` (n from 1 to ``read_shards - 1``). Callee names and keys hold neither character.
KEY_SEPARATOR = "#"
SHARD_SEPARATOR = "@"
#: What a circuit key may be (the workflow's ``Check input`` refuses anything else).
CIRCUIT_KEY_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def circuit_name(callee: str, key: str | None = None) -> str:
    """The ``ServiceName`` of the primary item of ``callee``'s circuit (for ``key``, its key's own circuit)."""
    return callee if key is None else f"{callee}{KEY_SEPARATOR}{key}"


def shard_names(circuit: str, read_shards: int) -> list[str]:
    """Every item of a circuit: the primary first (which transitions are decided on), then its read shards."""
    return [circuit, *(f"{circuit}{SHARD_SEPARATOR}{n}" for n in range(1, read_shards))]


def item_name_patterns(callee: str, read_shards: int = 1, circuit_keys: bool = False) -> list[str]:
    """The ``ServiceName``\ s of every item of ``callee``'s circuits, for an IAM ``dynamodb:LeadingKeys`` condition:
    exact names, plus ``callee#*`` (``StringLike``) when calls may name keys."""
    names = shard_names(callee, read_shards)
    return [*names, f"{callee}{KEY_SEPARATOR}*"] if circuit_keys else names


def leading_keys_condition(patterns: list[str]) -> dict[str, dict[str, list[str]]]:
    """The IAM condition that limits a table grant to items named by ``patterns`` (wildcards: ``StringLike``)."""
    operator = "ForAllValues:StringLike" if any("*" in p for p in patterns) else "ForAllValues:StringEquals"
    return {operator: {"dynamodb:LeadingKeys": sorted(patterns)}}


@dataclass(frozen=True)
class ItemName:
    """What a ``ServiceName`` names: a callee, its key (or ``None``) and the read shard (0: the primary)."""

    callee: str
    key: str | None = None
    shard: int = 0

    @classmethod
    def parse(cls, service_name: str) -> "ItemName":
        """Split ``callee[#key][@n]``; a name that does not parse names a callee of that whole name (shard 0)."""
        base, _, shard = service_name.rpartition(SHARD_SEPARATOR) if SHARD_SEPARATOR in service_name else (service_name, "", "")
        shard_number = int(shard) if shard.isdigit() and shard[0] != "0" else None
        if shard and shard_number is None:
            return cls(service_name)
        callee, _, key = base.partition(KEY_SEPARATOR)
        if KEY_SEPARATOR in base and not CIRCUIT_KEY_PATTERN.fullmatch(key):
            return cls(service_name)
        return cls(callee, key if KEY_SEPARATOR in base else None, shard_number or 0)

    @property
    def circuit(self) -> str:
        return circuit_name(self.callee, self.key)

#: The environment variable naming the table, for a function the construct lets read it (extension, health check).
TABLE_ENV = "CIRCUIT_BREAKER_TABLE"

#: What a reader needs of an item. Reading only these keeps a read small whatever else an item holds.
READ_ATTRIBUTES: tuple[str, ...] = (
    SERVICE_NAME, CIRCUIT_STATUS, EXPIRY, VERSION, FAILURES, WINDOW_ENDS_AT, OPEN_UNTIL, OPENED_AT,
    CONSECUTIVE_OPENS, PROBE_LEASE_UNTIL, LAST_ERROR, REASON, ISOLATED_BY, ISOLATED_AT, UPDATED_AT,
    LAST_EXECUTION_ARN, HEALTH_STREAK, HEALTH_PHASE, HEALTH_CHECKED_AT, CALLS, CLOSED_AT, PROBE_SUCCESSES, SHARD_OF,
)  # fmt: skip

#: How far beyond ``now + max_break_seconds`` (or the lease) an ``OpenUntil`` (``ProbeLeaseUntil``) may lie
#: and still be one the workflow wrote: it rounds "now" up before adding, and writers' clocks differ a little.
#: Beyond that it is malformed and counts as over. The workflow's ``Get circuit`` and ``Take probe lease``
#: use the same 5 seconds (tests/cdk/test_template.py checks they agree).
WRITE_SLACK_SECONDS = 5

#: How long a reset's record (who, when) stays in the table before DynamoDB may delete it.
RESET_RECORD_SECONDS = 86_400


class CircuitState(str, Enum):
    """A circuit's state as the workflow acts on it."""

    CLOSED = "CLOSED"
    """Calls go through; failures are counted in the current window (or there is no item)."""
    OPEN = "OPEN"
    """Calls fail fast until ``OpenUntil``; after it, one call probes."""
    HALF_OPEN = "HALF_OPEN"
    """One probe is in flight until ``ProbeLeaseUntil``; other calls fail fast."""
    ISOLATED = "ISOLATED"
    """An operator holds the circuit open until reset (or until ``ExpiryTimeStamp``)."""


@dataclass(frozen=True)
class BreakLimits:
    """The longest break and probe lease the workflow can write for one callee (its registry settings).

    With them, :func:`decode` can tell a break or lease no workflow wrote (``OpenUntil`` far in the
    future) and treat it as over, as the workflow does.
    """

    max_break_seconds: int
    probe_lease_seconds: int

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"BreakLimits.{f.name} must be a whole number of seconds >= 1, got {value!r}")


def is_expired(expires_at: float | None, now: float) -> bool:
    """The TTL rule every reader applies: expired at ``ExpiryTimeStamp <= now``; ``None`` never expires."""
    return expires_at is not None and expires_at <= now


@dataclass(frozen=True)
class CircuitRecord:
    """One callee's circuit, decoded from its table item at ``read_at`` as the workflow would act on it.

    ``state`` is the state the workflow acts on (``CLOSED`` for no item, an expired one, or an unknown
    status). Numbers are epoch seconds. ``problems`` lists what is malformed in the item, each with
    how the workflow treats it; a malformed record is still usable.
    """

    callee: str
    state: CircuitState
    read_at: float
    exists: bool = False
    """An item is stored for this callee (possibly expired or malformed)."""
    expired: bool = False
    """The stored item's ``ExpiryTimeStamp`` has passed: it counts as absent until DynamoDB deletes it."""
    stored_status: str | None = None
    """``CircuitStatus`` exactly as stored (``None`` when absent or not a string)."""
    version: int | None = None
    """``Version`` as stored; ``None`` when the item has none (no item, or written before versions)."""
    failures: int | None = None
    """Failures counted in the live window of a closed circuit."""
    window_ends_at: int | None = None
    open_until: int | None = None
    opened_at: int | None = None
    consecutive_opens: int | None = None
    probe_lease_until: int | None = None
    last_error: str | None = None
    reason: str | None = None
    isolated_by: str | None = None
    isolated_at: int | None = None
    expires_at: int | None = None
    updated_at: int | None = None
    last_execution_arn: str | None = None
    health_streak: int | None = None
    """Health checks in a row that counted towards a transition (see :data:`HEALTH_PHASE`), as stored."""
    health_phase: str | None = None
    health_checked_at: int | None = None
    key: str | None = None
    """The circuit's key (``circuit_keys``), or ``None`` for the callee's own circuit."""
    calls: float | None = None
    """Attempts recorded in the live failure window (the rate rule; sampled successes at their weight)."""
    closed_at: int | None = None
    """When a probe or a health check closed the circuit (the start of a ramp)."""
    probe_successes: int | None = None
    """Successful probes in a row of a half-open circuit."""
    problems: tuple[str, ...] = ()

    @property
    def circuit(self) -> str:
        """The circuit's name: the callee, or ``callee#key``."""
        return circuit_name(self.callee, self.key)

    def ramp_share(self, ramp_seconds: int, start_share: float, now: float | None = None) -> float:
        """The share of calls the workflow lets through at ``now`` (1.0 unless a ramp after a close is running)."""
        now = self.read_at if now is None else now
        if self.state is not CircuitState.CLOSED or not ramp_seconds or self.closed_at is None or not self.closed_at <= now < self.closed_at + ramp_seconds:
            return 1.0
        return start_share + (1 - start_share) * (now - self.closed_at) / ramp_seconds

    @property
    def malformed(self) -> bool:
        """The item holds something the workflow never writes (see :attr:`problems`)."""
        return bool(self.problems)

    @property
    def retry_after(self) -> int | None:
        """Epoch seconds from which a call may go through (or probe), while calls fail fast; else ``None``.

        ``None`` for an isolation without an end (until reset): check :meth:`fails_fast`.
        """
        if self.state is CircuitState.ISOLATED:
            return self.expires_at
        if self.state is CircuitState.OPEN and self.open_until is not None and self.open_until > self.read_at:
            return self.open_until
        if self.state is CircuitState.HALF_OPEN and self.probe_lease_until is not None and self.probe_lease_until > self.read_at:
            return self.probe_lease_until
        return None

    def fails_fast(self, now: float | None = None) -> bool:
        """Whether a call at ``now`` (default: when read) fails without reaching the callee."""
        now = self.read_at if now is None else now
        if self.state is CircuitState.ISOLATED:
            return not is_expired(self.expires_at, now)
        retry_after = self.retry_after
        return retry_after is not None and now < retry_after

    @property
    def probe_due(self) -> bool:
        """The break (or a dead probe's lease) is over: the next call probes the callee."""
        return self.state in (CircuitState.OPEN, CircuitState.HALF_OPEN) and self.retry_after is None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: epoch seconds, the state's name, the derived ``retry_after`` and ``malformed``."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["state"] = self.state.value
        data["problems"] = list(self.problems)
        data["retry_after"] = self.retry_after
        data["malformed"] = self.malformed
        data["probe_due"] = self.probe_due
        return data


# -- decoding ---------------------------------------------------------------------------------------------

_MISSING = object()


class _Reader:
    """Reads typed values out of one item, collecting what is wrong instead of raising."""

    def __init__(self, item: Mapping[str, Any]) -> None:
        self.item = item
        self.problems: list[str] = []

    def amount(self, name: str, treated_as: str) -> float | None:
        """An N attribute that may have decimals (a weighted count); ``None`` when missing or malformed."""
        attribute = self.item.get(name, _MISSING)
        if attribute is _MISSING:
            return None
        text = attribute.get("N") if isinstance(attribute, Mapping) else None
        try:
            value = Decimal(text) if isinstance(text, str) else None
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            self.problems.append(f"{name} is not a number ({_shape(attribute)}): {treated_as}")
            return None
        return float(value)

    def number(self, name: str, treated_as: str) -> int | None:
        """An N attribute as an int (whole seconds, counts); ``None`` when missing or malformed."""
        attribute = self.item.get(name, _MISSING)
        if attribute is _MISSING:
            return None
        text = attribute.get("N") if isinstance(attribute, Mapping) else None
        value: Decimal | None = None
        if isinstance(text, str):
            try:
                value = Decimal(text)
            except InvalidOperation:
                value = None
        if value is None or not value.is_finite():
            self.problems.append(f"{name} is not a number ({_shape(attribute)}): {treated_as}")
            return None
        return int(value.to_integral_value(rounding="ROUND_CEILING"))

    def string(self, name: str) -> str | None:
        """An S attribute; ``None`` when missing; a wrong type is noted and read as missing."""
        attribute = self.item.get(name, _MISSING)
        if attribute is _MISSING:
            return None
        if isinstance(attribute, Mapping) and isinstance(attribute.get("S"), str):
            return attribute["S"]
        self.problems.append(f"{name} is not a string ({_shape(attribute)}): ignored")
        return None


def _shape(attribute: Any) -> str:
    """A short description of a DynamoDB attribute value, for a problem message (never its whole content)."""
    if isinstance(attribute, Mapping) and len(attribute) == 1:
        kind, value = next(iter(attribute.items()))
        preview = repr(value) if isinstance(value, (str, int, float, bool)) else type(value).__name__
        return f"{kind} {preview[:40]}{'...' if len(preview) > 40 else ''}"
    return type(attribute).__name__


def decode(
    callee: str, item: Mapping[str, Any] | None, now: float, limits: BreakLimits | None = None, key: str | None = None
) -> CircuitRecord:
    """Decode a ``GetItem``/``Scan`` item (DynamoDB's typed JSON) as the workflow acts on it at ``now``.

    ``callee`` (and ``key``, for a key's own circuit) is the circuit the item belongs to, whichever of its read
    shards it is. Never raises on the item's content: whatever is malformed is listed in ``problems``.
    """
    if not item:
        return CircuitRecord(callee=callee, state=CircuitState.CLOSED, read_at=now, key=key)
    read = _Reader(item)
    version = read.number(VERSION, "read as no version")
    expires_at = read.number(EXPIRY, "the item never expires")
    if is_expired(expires_at, now):
        return CircuitRecord(
            callee=callee, state=CircuitState.CLOSED, read_at=now, exists=True, expired=True,
            version=version, expires_at=expires_at, key=key,
        )  # fmt: skip

    stored_status = read.string(CIRCUIT_STATUS)
    try:
        state = CircuitState(stored_status)
    except ValueError:
        state = CircuitState.CLOSED
        shown = "missing" if stored_status is None and CIRCUIT_STATUS not in item else repr((stored_status or "")[:40])
        read.problems.append(f"{CIRCUIT_STATUS} is {shown}, not one of {', '.join(s.value for s in CircuitState)}: calls go through as if closed")

    failures = window_ends_at = open_until = probe_lease_until = calls = closed_at = probe_successes = None
    if state is CircuitState.CLOSED:
        window_ends_at = read.number(WINDOW_ENDS_AT, "no failure window is running")
        failures = read.number(FAILURES, "the next failure starts a new window")
        calls = read.amount(CALLS, "the next failure starts a new window") if CALLS in item else None
        if window_ends_at is None or window_ends_at <= now or failures is None:
            failures, window_ends_at, calls = None, None, None
        closed_at = read.number(CLOSED_AT, "no ramp is running")
    elif state is CircuitState.OPEN:
        open_until = read.number(OPEN_UNTIL, "the break counts as over: the next call probes")
        open_until = _bounded(read, OPEN_UNTIL, open_until, now, limits and limits.max_break_seconds, "max_break_seconds", "the break counts as over: the next call probes")
    elif state is CircuitState.HALF_OPEN:
        probe_lease_until = read.number(PROBE_LEASE_UNTIL, "the lease counts as expired: the next call probes")
        probe_lease_until = _bounded(read, PROBE_LEASE_UNTIL, probe_lease_until, now, limits and limits.probe_lease_seconds, "probe_lease_seconds", "the lease counts as expired: the next call probes")
        probe_successes = read.number(PROBE_SUCCESSES, "read as 0") if PROBE_SUCCESSES in item else None

    return CircuitRecord(
        callee=callee,
        state=state,
        read_at=now,
        exists=True,
        stored_status=stored_status,
        version=version,
        failures=failures,
        window_ends_at=window_ends_at,
        open_until=open_until,
        opened_at=read.number(OPENED_AT, "ignored"),
        consecutive_opens=read.number(CONSECUTIVE_OPENS, "read as 0"),
        probe_lease_until=probe_lease_until,
        last_error=read.string(LAST_ERROR),
        reason=read.string(REASON),
        isolated_by=read.string(ISOLATED_BY),
        isolated_at=read.number(ISOLATED_AT, "ignored"),
        expires_at=expires_at,
        updated_at=read.number(UPDATED_AT, "ignored"),
        last_execution_arn=read.string(LAST_EXECUTION_ARN),
        health_streak=read.number(HEALTH_STREAK, "the next health check starts a new streak"),
        health_phase=read.string(HEALTH_PHASE),
        health_checked_at=read.number(HEALTH_CHECKED_AT, "the next health check starts a new streak"),
        key=key,
        calls=calls,
        closed_at=closed_at,
        probe_successes=probe_successes,
        problems=tuple(read.problems),
    )


def _bounded(read: _Reader, name: str, until: int | None, now: float, longest: int | None, setting: str, treated_as: str) -> int | None:
    """``until`` unless it lies further ahead than any the workflow writes (``now + longest``), which is malformed."""
    if until is None or longest is None or until - now <= longest + WRITE_SLACK_SECONDS:
        return until
    ahead = until - now
    shown = f"{ahead:.0f} s ahead" if math.isfinite(ahead) and abs(ahead) < 1e15 else "far ahead"
    read.problems.append(f"{name} is {shown}, longer than the callee's {setting} ({longest} s): {treated_as}")
    return None


# -- requests ---------------------------------------------------------------------------------------------

_PROJECTION = {"ProjectionExpression": ", ".join(f"#a{i}" for i in range(len(READ_ATTRIBUTES))),
               "ExpressionAttributeNames": {f"#a{i}": name for i, name in enumerate(READ_ATTRIBUTES)}}  # fmt: skip


def key(callee: str) -> dict[str, Any]:
    """The item's key."""
    return {SERVICE_NAME: {"S": callee}}


def get_item_request(table_name: str, callee: str) -> dict[str, Any]:
    """``GetItem`` arguments: strongly consistent, only :data:`READ_ATTRIBUTES` (an oversized item stays cheap)."""
    return {"TableName": table_name, "Key": key(callee), "ConsistentRead": True, **_PROJECTION}


def scan_request(table_name: str) -> dict[str, Any]:
    """``Scan`` arguments for every circuit (add ``ExclusiveStartKey`` to page)."""
    return {"TableName": table_name, "ConsistentRead": True, **_PROJECTION}
