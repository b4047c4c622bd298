"""DynamoDB's per-item throughput limits on the local engine: capacity units counted as DynamoDB counts them.

DynamoDB serves any table from partitions, and "each individual partition is limited to 1,000 write units per
second and 3,000 read units per second" (developer guide, *Understanding DynamoDB warm throughput in different
scenarios*, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html). A
partition may hold many keys and can split, but never below one partition-key value: one item read by every
call cannot go faster, on demand or provisioned. More is refused with ``ProvisionedThroughputExceededException``
and a ``KeyRangeThroughputExceeded`` throttling reason (*Key range throughput exceeded*,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/throttling-key-range-limit-exceeded-mitigation.html).

Units, as *DynamoDB read and write operations* counts them
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html): a strongly
consistent read is 1 read unit per 4 KB of the item (rounded up), an eventually consistent read half that, and a
read of a missing item still costs the minimum; a write is 1 write unit per KB of the larger of the item before
and after, and a write whose condition fails still consumes them (1 unit when the item does not exist).

The limit is a token bucket per item and direction, one second deep, refilled at the limit's rate: sustained
traffic is capped at the per-second limit and a burst may spend at most one second of it. DynamoDB's *burst
capacity* (up to 300 s of unused provisioned capacity) is a table-level allowance and does not lift a partition
above its maximum ("provided that traffic does not exceed ... the partition maximum capacity", *Best practices
for designing and using partition keys effectively*). A refused request consumes nothing.

The bucket's clock is injectable (:class:`ManualClock`): a test freezes time, spends an item's second of units
the way the other callers of a busy second would (:meth:`ItemThroughput.consume`, the accounting every request
goes through), and the next real request of the workflow is refused, without thousands of real requests per
wall-clock second. With the clock frozen, retries are refused too: the model of traffic that stays above the
limit for as long as the workflow retries. ``circuit_breaker/local/patches/item_throughput.py`` applies it to
moto's DynamoDB.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Literal

Direction = Literal["read", "write"]

#: DynamoDB's per-partition maximum (read units and write units per second).
PARTITION_READ_UNITS_PER_SECOND = 3_000.0
PARTITION_WRITE_UNITS_PER_SECOND = 1_000.0
READ_UNIT_BYTES = 4_096
WRITE_UNIT_BYTES = 1_024


def read_units(item_bytes: int, consistent: bool) -> float:
    """Read units of one read of an item of ``item_bytes`` (0: the item does not exist)."""
    units = max(1, math.ceil(item_bytes / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def write_units(before_bytes: int, after_bytes: int) -> float:
    """Write units of one write: the larger of the item's sizes before and after, per KB, at least 1."""
    return float(max(1, math.ceil(max(before_bytes, after_bytes) / WRITE_UNIT_BYTES)))


class ManualClock:
    """A clock that moves only when told to (:meth:`advance`): the limiter's time in tests."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock moves forward only, got {seconds}")
        with self._lock:
            self._now += seconds


@dataclass(frozen=True)
class ItemLimits:
    """Per-item limits the engine enforces (``EngineConfig(item_limits=ItemLimits())``): DynamoDB's by default."""

    read_units_per_second: float = PARTITION_READ_UNITS_PER_SECOND
    write_units_per_second: float = PARTITION_WRITE_UNITS_PER_SECOND
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    """Seconds, monotonic: the wall clock by default, a :class:`ManualClock` in tests."""

    def __post_init__(self) -> None:
        for name in ("read_units_per_second", "write_units_per_second"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"ItemLimits.{name} must be a positive number of units per second, got {value!r}")

    def rate(self, direction: Direction) -> float:
        return self.read_units_per_second if direction == "read" else self.write_units_per_second


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True)
class Refusal:
    """A request the limits refused: what was asked and what the item had left."""

    table: str
    key: str
    direction: Direction
    units: float
    available: float


class ItemThroughput:
    """The engine's per-item token buckets; enforces :class:`ItemLimits` when given, counts units always."""

    def __init__(self, limits: ItemLimits | None = None) -> None:
        self._lock = threading.Lock()
        self._limits = limits
        self._buckets: dict[tuple[str, str, Direction], _Bucket] = {}
        self._served: dict[tuple[str, str, Direction], float] = {}
        self.refusals: list[Refusal] = []

    @property
    def limits(self) -> ItemLimits | None:
        return self._limits

    def enforce(self, limits: ItemLimits | None) -> None:
        """Enforce ``limits`` from now on (``None``: stop); every item starts with a full second of units."""
        with self._lock:
            self._limits = limits
            self._buckets.clear()
            self.refusals.clear()

    def _bucket(self, limits: ItemLimits, table: str, key: str, direction: Direction) -> _Bucket:
        now = limits.clock()
        rate = limits.rate(direction)
        bucket = self._buckets.get((table, key, direction))
        if bucket is None:
            bucket = self._buckets[(table, key, direction)] = _Bucket(tokens=rate, updated=now)
        elif now > bucket.updated:
            bucket.tokens = min(rate, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
        return bucket

    def admit(self, table: str, key: str, direction: Direction, units: float) -> bool:
        """Whether the item has ``units`` left this second (always, when no limits are enforced); records a refusal."""
        with self._lock:
            if self._limits is None:
                return True
            bucket = self._bucket(self._limits, table, key, direction)
            if bucket.tokens >= units:
                return True
            self.refusals.append(Refusal(table, key, direction, units, bucket.tokens))
            return False

    def consume(self, table: str, key: str, direction: Direction, units: float) -> None:
        """Spend ``units`` of the item's second (a request that was served; the balance may go below zero).

        Counted in :meth:`served` whether or not limits are enforced, so a benchmark measures the units a path costs.
        """
        if units < 0:
            raise ValueError(f"units must not be negative, got {units}")
        with self._lock:
            self._served[(table, key, direction)] = self._served.get((table, key, direction), 0.0) + units
            if self._limits is not None:
                self._bucket(self._limits, table, key, direction).tokens -= units

    def served(self) -> dict[tuple[str, str, Direction], float]:
        """Units served so far, per (table, partition key, direction): subtract two of these to price what ran between."""
        with self._lock:
            return dict(self._served)

    def available(self, table: str, key: str, direction: Direction) -> float:
        """Units the item has left now (``inf`` when no limits are enforced)."""
        with self._lock:
            if self._limits is None:
                return math.inf
            return self._bucket(self._limits, table, key, direction).tokens
