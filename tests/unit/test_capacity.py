"""The capacity model (``benchmarks/capacity.py``): the arithmetic ``make bench`` applies to the measured path costs."""

from __future__ import annotations

import math
from typing import Any

import pytest

from benchmarks.capacity import (
    FAILED,
    FAILED_ONCE,
    HEALTHY,
    SAMPLING_WRITES_PER_SECOND,
    call_mix,
    capacity,
    capacity_table,
    recommended_read_shards,
    refused_share,
)
from benchmarks.cost_model import Work, this_breaker


def _path(reads: float, writes: float, invocations: float, transitions: int, backoff: float, logs: tuple[int, int, int]) -> dict[str, Any]:
    return {
        "read_units": reads, "write_units": writes, "callee_invocations": invocations, "events": 0, "transitions": transitions,
        "backoff_seconds": backoff, "log_bytes_by_level": {"ALL": logs[0], "ERROR": logs[1], "FATAL": logs[2], "OFF": 0},
    }


#: Shaped like docs/path-costs.json (one read per attempt, one write per failed attempt, four attempts at most).
PATHS = {
    HEALTHY: _path(1, 0, 1, 4, 0.0, (13_000, 0, 0)),
    FAILED_ONCE: _path(2, 1, 2, 13, 0.5, (45_000, 1_500, 0)),
    FAILED: _path(4, 4, 4, 35, 3.2, (145_000, 6_000, 800)),
}


def test_an_item_below_its_limit_refuses_nothing_and_above_it_refuses_the_excess_and_its_retries() -> None:
    assert refused_share(2_999, 3_000) == 0.0
    assert refused_share(6_000, 3_000, tries=1) == pytest.approx(0.5)  # no retries: the excess
    share = refused_share(6_000, 3_000)
    assert share > 0.5  # retried refusals add load
    assert share == pytest.approx(1 - 3_000 / (6_000 * (1 + share + share**2)))


def test_a_mix_of_failing_attempts_weighs_each_number_of_failures() -> None:
    f = 0.05
    mix = call_mix(PATHS, f)
    assert sum(share for share, _ in mix.calls) == pytest.approx(1.0)
    # k failures then an answer: k+1 reads and k writes; four failures: the 4-attempt path
    reads = sum(f**k * (1 - f) * (1 + k) for k in range(4)) + f**4 * 4
    writes = sum(f**k * (1 - f) * k for k in range(4)) + f**4 * 4
    assert mix.mean("read_units") == pytest.approx(reads)
    assert mix.mean("write_units") == pytest.approx(writes)
    assert call_mix(PATHS, 0.0).calls == ((1.0, call_mix(PATHS, 0.0).calls[0][1]),)
    eventual = call_mix(PATHS, f, consistent_reads=False)
    assert eventual.first_read_units == 0.5 and eventual.mean("read_units") == pytest.approx(reads - 0.5)


def test_shards_spread_the_first_read_and_the_primary_keeps_reads_after_failures_and_every_write() -> None:
    f, rate = 0.05, 10_000
    rereads = call_mix(PATHS, f).mean("read_units") - 1
    for shards in (1, 8):
        row = capacity(PATHS, rate, f, shards, "ALL")
        assert row.busiest_item_read_units_per_second == pytest.approx(rate / shards + rate * rereads, abs=0.1)
        assert row.busiest_item_write_units_per_second == pytest.approx(
            rate * call_mix(PATHS, f).mean("write_units") + SAMPLING_WRITES_PER_SECOND, abs=0.1
        )
    assert capacity(PATHS, rate, 0.0, 8, "ALL").busiest_item_write_units_per_second == 0.0  # no failure window: no write
    one, eight = capacity(PATHS, rate, f, 1, "ALL"), capacity(PATHS, rate, f, 8, "ALL")
    assert one.throttled_fraction > 0.8 and one.failed_open_fraction > 0.5 and "DynamoDB reads per item" in one.binding_quotas
    assert eight.throttled_fraction == 0.0 and eight.failed_open_fraction == 0.0 and eight.binding_quotas == ()
    assert eight.table_read_units_per_second == one.table_read_units_per_second  # sharding moves reads, adds none


def test_the_cost_is_the_cost_model_of_each_call_at_the_log_level() -> None:
    for level, log_bytes in (("ALL", 13_000), ("ERROR", 0)):
        healthy = capacity(PATHS, 100, 0.0, 1, level)
        expected = this_breaker(Work(reads=1, callee_invocations=1, log_bytes=log_bytes, transitions=4)).total
        assert healthy.usd_per_million_calls == round(expected, 2)
    assert capacity(PATHS, 100, 0.0, 1, "ERROR").usd_per_million_calls < capacity(PATHS, 100, 0.0, 1, "ALL").usd_per_million_calls
    assert capacity(PATHS, 100, 0.05, 1, "ERROR").usd_per_million_calls > capacity(PATHS, 100, 0.0, 1, "ERROR").usd_per_million_calls


def test_the_recommended_shard_count_is_the_fewest_with_headroom_at_ten_thousand_calls() -> None:
    shards = recommended_read_shards(PATHS)
    busiest = lambda n: capacity(PATHS, 10_000, 0.05, n, "ALL").busiest_item_read_units_per_second  # noqa: E731
    assert busiest(shards) <= 1_800 < busiest(shards - 1)
    with pytest.raises(ValueError, match="reads after failures alone"):
        recommended_read_shards(PATHS, calls_per_second=200_000)


def test_the_table_has_every_rate_healthy_and_failing_for_one_shard_and_the_recommended_count() -> None:
    rows = capacity_table(PATHS)
    shards = recommended_read_shards(PATHS)
    keys = {(r.calls_per_second, r.failing_attempts, r.read_shards, r.log_level) for r in rows}
    for rate in (100, 1_000, 10_000, 50_000):
        for f in (0.0, 0.05):
            for n in (1, shards):
                assert {(rate, f, n, "ALL"), (rate, f, n, "ERROR")} <= keys
    assert all(not math.isnan(r.usd_per_million_calls) for r in rows)


def test_figures_without_units_or_per_level_logs_say_to_measure_again() -> None:
    old = {name: {k: v for k, v in figures.items() if k != "log_bytes_by_level"} for name, figures in PATHS.items()}
    with pytest.raises(ValueError, match="lack log_bytes_by_level: measure them again"):
        capacity(old, 100, 0.0, 1, "ALL")
    with pytest.raises(ValueError, match="log_level must be one of ALL, ERROR, FATAL, OFF"):
        capacity(PATHS, 100, 0.0, 1, "DEBUG")
