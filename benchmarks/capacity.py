"""The capacity model: one callee at 100 to 50,000 calls per second, from the measured path costs.

Pure arithmetic (unit-tested in ``tests/unit/test_capacity.py``); ``benchmarks/test_capacity.py`` feeds it the
figures ``benchmarks/test_path_costs.py`` measured on the engine (``docs/path-costs.json``) and writes
``docs/capacity.json`` and the table in ``docs/performance.md``.

The call mix: each attempt fails independently with probability ``f`` (``failing_attempts``) and the circuit stays
closed (a failure-rate rule, issue 17, would not open at 5 %; the count rule of today would open within the first
second, after which calls fail fast and cost less). A call that fails ``k`` times and then succeeds costs the
healthy path plus ``k`` times what one failed attempt adds (the measured path *failed once, then answered* minus the
healthy path); a call whose every attempt fails is the measured 4-attempt failure path.

The items (issue 16's layout): a circuit with ``read_shards`` N is kept on N items. Each execution's first read
goes to one of them at random; reads after a failed attempt, and every write (failure counts, transitions), go to
the primary (shard 0), which is therefore the busiest item. A rate rule's sampled successes (issue 17) add about
``SAMPLING_WRITES_PER_SECOND`` writes to the primary while failures keep a window open (none in a healthy mix); they
are counted in its load, not in the cost. Transitions (N writes each) do not happen in a mix whose circuit stays closed.

Throttling: an item offered more than its limit refuses the excess; ``Get circuit`` and the writes retry a refused
request twice (their ``Retry``), which adds to the offered load, so the refused share ``t`` solves
``t = 1 - limit / (offered * (1 + t + t²))``. A call whose read is refused three times fails open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from benchmarks.cost_model import LAMBDA_INVOKE_MS, Work, this_breaker
from circuit_breaker.core.settings import SUCCESS_SAMPLES_PER_SECOND

HEALTHY, FAILED_ONCE, FAILED = "healthy (no item)", "failed once, then answered", "callee failure, 4 attempts"
LEVELS = ("ALL", "ERROR", "FATAL", "OFF")
RATES = (100, 1_000, 10_000, 50_000)
FAILING_ATTEMPTS = (0.0, 0.05)
#: A rate rule's sampled successes (issue 17): about this many writes per second on the primary, whatever the traffic.
SAMPLING_WRITES_PER_SECOND = float(SUCCESS_SAMPLES_PER_SECOND)
#: Tries of a refused table request: the first and the two of ``Get circuit``'s (and the writes') ``Retry``.
TRIES = 3
#: The recommended shard count keeps the busiest item at most this share of its read limit at 10,000 calls/s.
HEADROOM = 0.6
MAX_READ_SHARDS = 32

DYNAMODB_PARTITIONS = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html"
DYNAMODB_QUOTAS = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html"
LAMBDA_QUOTAS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
STEP_FUNCTIONS_QUOTAS = "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html"
EVENTBRIDGE_QUOTAS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html"
STEP_FUNCTIONS_LOGGING = "https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html"


@dataclass(frozen=True)
class Quota:
    """An AWS quota the load is held against (per second unless ``unit`` says otherwise); ``limit`` None: none documented."""

    name: str
    limit: float | None
    unit: str
    source: str
    note: str = ""


QUOTAS: tuple[Quota, ...] = (
    Quota("DynamoDB reads per item", 3_000, "read units/s", DYNAMODB_PARTITIONS,
          "each partition: 3,000 read units per second; one item never spans partitions"),
    Quota("DynamoDB writes per item", 1_000, "write units/s", DYNAMODB_PARTITIONS,
          "each partition: 1,000 write units per second"),
    Quota("DynamoDB on-demand reads per table", 40_000, "read request units/s", DYNAMODB_QUOTAS,
          "default per-table quota, adjustable"),
    Quota("DynamoDB on-demand writes per table", 40_000, "write request units/s", DYNAMODB_QUOTAS,
          "default per-table quota, adjustable"),
    Quota("DynamoDB new on-demand table reads", 12_000, "read request units/s", DYNAMODB_PARTITIONS,
          "a new on-demand table's warm throughput; it scales up with traffic (or pre-warm it)"),
    Quota("Lambda concurrent executions", 1_000, "concurrent executions", LAMBDA_QUOTAS,
          "per Region, default (raised to tens of thousands on request); callee invocations/s x 80 ms"),
    Quota("Step Functions StartSyncExecution", None, "calls/s", STEP_FUNCTIONS_QUOTAS,
          "synchronous Express calls do not count against the account's StartExecution bucket; surges may be "
          "throttled until capacity is available (archived quota page); Express state transitions are unlimited"),
    Quota("EventBridge PutEvents", 10_000, "events/s", EVENTBRIDGE_QUOTAS,
          "us-east-1, per account (2,400 in us-east-2); transition events only"),
    Quota("CloudWatch Logs ingestion", None, "MB/s", STEP_FUNCTIONS_LOGGING,
          "Step Functions delivers the logs (vended logs); no quota on that delivery is documented"),
)


@dataclass(frozen=True)
class PathCost:
    """One measured path (``docs/path-costs.json``): capacity units, invocations, events, waits, log bytes per level."""

    read_units: float
    write_units: float
    callee_invocations: float
    events: float
    transitions: float
    backoff_seconds: float
    log_bytes_by_level: Mapping[str, float]

    @classmethod
    def from_figures(cls, figures: Mapping[str, Any]) -> "PathCost":
        missing = [name for name in ("read_units", "write_units", "log_bytes_by_level") if name not in figures]
        if missing:
            raise ValueError(f"the path figures lack {', '.join(missing)}: measure them again (benchmarks/test_path_costs.py)")
        return cls(
            read_units=float(figures["read_units"]),
            write_units=float(figures["write_units"]),
            callee_invocations=float(figures["callee_invocations"]),
            events=float(figures["events"]),
            transitions=float(figures["transitions"]),
            backoff_seconds=float(figures["backoff_seconds"]),
            log_bytes_by_level={level: float(b) for level, b in figures["log_bytes_by_level"].items()},
        )

    def plus(self, other: "PathCost", times: float = 1.0) -> "PathCost":
        """This path's cost plus ``times`` ``other`` (``other`` may be a difference of two paths)."""
        return PathCost(
            read_units=self.read_units + times * other.read_units,
            write_units=self.write_units + times * other.write_units,
            callee_invocations=self.callee_invocations + times * other.callee_invocations,
            events=self.events + times * other.events,
            transitions=self.transitions + times * other.transitions,
            backoff_seconds=self.backoff_seconds + times * other.backoff_seconds,
            log_bytes_by_level={
                level: self.log_bytes_by_level[level] + times * other.log_bytes_by_level[level] for level in self.log_bytes_by_level
            },
        )

    def minus(self, other: "PathCost") -> "PathCost":
        return self.plus(other, -1.0)

    def work(self, level: str) -> Work:
        """This path's work for the cost model, its logs at ``level``."""
        return Work(
            reads=self.read_units,
            writes=self.write_units,
            callee_invocations=self.callee_invocations,
            events=self.events,
            log_bytes=self.log_bytes_by_level[level],
            transitions=self.transitions,
            backoff_seconds=self.backoff_seconds,
        )


@dataclass(frozen=True)
class CallMix:
    """The calls of a mix: (share of calls, what such a call costs), shares adding up to 1."""

    calls: tuple[tuple[float, PathCost], ...]
    first_read_units: float
    """Units of each call's first read (the one that goes to a random shard)."""

    def mean(self, attribute: str) -> float:
        return sum(share * getattr(cost, attribute) for share, cost in self.calls)


def call_mix(paths: Mapping[str, Mapping[str, Any]], failing_attempts: float, consistent_reads: bool = True) -> CallMix:
    """The mix of calls when each attempt fails with probability ``failing_attempts``, from the measured paths."""
    if not 0.0 <= failing_attempts < 1.0:
        raise ValueError(f"failing_attempts must be from 0 to 1 (excluded), got {failing_attempts!r}")
    healthy, once, failed = (PathCost.from_figures(paths[name]) for name in (HEALTHY, FAILED_ONCE, FAILED))
    attempts = round(failed.callee_invocations)
    extra_attempt = once.minus(healthy)
    f = failing_attempts
    calls = [(f**k * (1 - f), healthy.plus(extra_attempt, k)) for k in range(attempts)]
    calls.append((f**attempts, failed))
    first = healthy.read_units
    if not consistent_reads:
        # Only the first read becomes eventually consistent (half a unit); reads after a failure stay strongly consistent.
        half = PathCost(-first / 2, 0.0, 0.0, 0.0, 0.0, 0.0, {level: 0.0 for level in healthy.log_bytes_by_level})
        calls = [(share, cost.plus(half)) for share, cost in calls]
        first /= 2
    return CallMix(tuple((share, cost) for share, cost in calls if share > 0), first)


def refused_share(offered: float, limit: float, tries: int = TRIES) -> float:
    """The share of an item's requests refused when ``offered`` units/s meet ``limit``, refused requests tried again."""
    if offered <= limit:
        return 0.0
    share = 1.0 - limit / offered
    for _ in range(200):
        demand = offered * sum(share**i for i in range(tries))
        share = max(0.0, 1.0 - limit / demand)
    return share


@dataclass(frozen=True)
class Capacity:
    """One row of ``docs/capacity.json``."""

    calls_per_second: float
    failing_attempts: float
    read_shards: int
    log_level: str
    consistent_reads: bool
    busiest_item_read_units_per_second: float
    busiest_item_write_units_per_second: float
    throttled_fraction: float
    failed_open_fraction: float
    usd_per_million_calls: float
    table_read_units_per_second: float
    table_write_units_per_second: float
    callee_invocations_per_second: float
    log_megabytes_per_second: float
    quota_use: dict[str, float | None] = field(default_factory=dict)
    """Demand / limit per quota (``None`` where no limit is documented)."""
    binding_quotas: tuple[str, ...] = ()

    def as_row(self) -> dict[str, Any]:
        row = dict(self.__dict__)
        row["binding_quotas"] = list(self.binding_quotas)
        return row


def capacity(
    paths: Mapping[str, Mapping[str, Any]],
    calls_per_second: float,
    failing_attempts: float,
    read_shards: int,
    log_level: str,
    consistent_reads: bool = True,
    read_limit: float = 3_000.0,
    write_limit: float = 1_000.0,
) -> Capacity:
    """What one callee's circuit items and the services around it see at ``calls_per_second``, and what it costs."""
    if calls_per_second <= 0:
        raise ValueError(f"calls_per_second must be positive, got {calls_per_second!r}")
    if not 1 <= read_shards <= MAX_READ_SHARDS:
        raise ValueError(f"read_shards must be from 1 to {MAX_READ_SHARDS}, got {read_shards!r}")
    if log_level not in LEVELS:
        raise ValueError(f"log_level must be one of {', '.join(LEVELS)}, got {log_level!r}")
    mix = call_mix(paths, failing_attempts, consistent_reads)
    rate = calls_per_second
    reads_per_call, writes_per_call = mix.mean("read_units"), mix.mean("write_units")
    shard_reads = rate * mix.first_read_units / read_shards
    primary_reads = shard_reads + rate * (reads_per_call - mix.first_read_units)
    # Successes are sampled only while a failure window is open: never in a mix without failures.
    primary_writes = rate * writes_per_call + (SAMPLING_WRITES_PER_SECOND if failing_attempts > 0 else 0.0)

    read_refused = refused_share(primary_reads, read_limit)
    replica_refused = refused_share(shard_reads, read_limit)
    write_refused = refused_share(primary_writes, write_limit)
    offered = [
        (primary_reads, read_refused),
        *[(shard_reads, replica_refused)] * (read_shards - 1),
        (primary_writes, write_refused),
    ]
    demand = sum(units * sum(t**i for i in range(TRIES)) for units, t in offered)
    refused = sum(units * sum(t**i for i in range(TRIES)) * t for units, t in offered)
    first_read_fails_open = (read_refused**TRIES + (read_shards - 1) * replica_refused**TRIES) / read_shards
    rereads_per_call = reads_per_call / mix.first_read_units - 1 if mix.first_read_units else 0.0
    failed_open = first_read_fails_open + rereads_per_call * read_refused**TRIES

    invocations = rate * mix.mean("callee_invocations")
    log_bytes = sum(share * cost.log_bytes_by_level[log_level] for share, cost in mix.calls)
    usd = sum(share * this_breaker(cost.work(log_level)).total for share, cost in mix.calls)
    table_reads = rate * reads_per_call
    table_writes = primary_writes
    demands: dict[str, float] = {
        "DynamoDB reads per item": primary_reads,
        "DynamoDB writes per item": primary_writes,
        "DynamoDB on-demand reads per table": table_reads,
        "DynamoDB on-demand writes per table": table_writes,
        "DynamoDB new on-demand table reads": table_reads,
        "Lambda concurrent executions": invocations * LAMBDA_INVOKE_MS / 1000,
        "Step Functions StartSyncExecution": rate,
        "EventBridge PutEvents": rate * mix.mean("events"),
        "CloudWatch Logs ingestion": rate * log_bytes / 1e6,
    }
    use = {q.name: (round(demands[q.name] / q.limit, 4) if q.limit else None) for q in QUOTAS}
    return Capacity(
        calls_per_second=rate,
        failing_attempts=failing_attempts,
        read_shards=read_shards,
        log_level=log_level,
        consistent_reads=consistent_reads,
        busiest_item_read_units_per_second=round(primary_reads, 1),
        busiest_item_write_units_per_second=round(primary_writes, 1),
        throttled_fraction=round(refused / demand, 4) if demand else 0.0,
        failed_open_fraction=round(failed_open, 6),
        usd_per_million_calls=round(usd, 2),
        table_read_units_per_second=round(table_reads, 1),
        table_write_units_per_second=round(table_writes, 1),
        callee_invocations_per_second=round(invocations, 1),
        log_megabytes_per_second=round(rate * log_bytes / 1e6, 3),
        quota_use=use,
        binding_quotas=tuple(name for name, share in use.items() if share is not None and share > 1),
    )


def recommended_read_shards(
    paths: Mapping[str, Mapping[str, Any]], calls_per_second: float = 10_000, failing_attempts: float = 0.05,
    headroom: float = HEADROOM, read_limit: float = 3_000.0,
) -> int:
    """The fewest shards that keep the busiest item at most ``headroom`` of its read limit at that load."""
    for shards in range(1, MAX_READ_SHARDS + 1):
        row = capacity(paths, calls_per_second, failing_attempts, shards, "ALL", read_limit=read_limit)
        if row.busiest_item_read_units_per_second <= headroom * read_limit:
            return shards
    raise ValueError(
        f"no shard count up to {MAX_READ_SHARDS} keeps the busiest item under {headroom:.0%} of {read_limit:g} read units/s "
        f"at {calls_per_second:g} calls/s: the reads after failures alone go to the primary"
    )


def capacity_table(paths: Mapping[str, Mapping[str, Any]], levels: tuple[str, ...] = ("ALL", "ERROR")) -> list[Capacity]:
    """Every row: each rate, healthy and failing, for 1 shard and the recommended count (and 32 at 50,000 calls/s)."""
    shards = recommended_read_shards(paths)
    rows = []
    for rate in RATES:
        counts = sorted({1, shards, *([MAX_READ_SHARDS] if rate == max(RATES) else [])})
        for f in FAILING_ATTEMPTS:
            for n in counts:
                for level in levels:
                    rows.append(capacity(paths, rate, f, n, level))
    return rows


__all__ = [
    "CallMix", "Capacity", "PathCost", "QUOTAS", "Quota", "call_mix", "capacity", "capacity_table",
    "recommended_read_shards", "refused_share",
]
