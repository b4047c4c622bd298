"""Capacity at production volume: one callee at 100 to 50,000 calls/s, from the path costs measured on the engine.

Reads ``docs/path-costs.json`` (``benchmarks/test_path_costs.py`` measures it first in ``make bench``), applies the
capacity model (``benchmarks/capacity.py``: call mix, shard layout, throttling, quotas, prices) and writes
``docs/capacity.json`` and its table in ``docs/performance.md``. Nothing in the rows is typed in: change the
workflow, re-measure, and the rows follow.
"""

from __future__ import annotations

import json

import pytest

from benchmarks.capacity import (
    FAILED,
    FAILED_ONCE,
    HEADROOM,
    HEALTHY,
    MAX_READ_SHARDS,
    QUOTAS,
    SAMPLING_WRITES_PER_SECOND,
    Capacity,
    capacity_table,
    recommended_read_shards,
)
from benchmarks.cost_model import LAMBDA_INVOKE_MS, Work, reference_sample
from benchmarks.report import DOCUMENT, write_section

FIGURES = DOCUMENT.parent / "path-costs.json"
CAPACITY = DOCUMENT.parent / "capacity.json"
COMMAND = 'pytest -m benchmark -o addopts="" -s benchmarks/test_path_costs.py benchmarks/test_capacity.py'


def _table(rows: list[Capacity]) -> list[str]:
    lines = [
        "| calls/s | failing attempts | read shards | log level | busiest item read units/s | busiest item write units/s "
        "| throttled | fail open | $ per 1M calls | quotas exceeded |",
        "|" + "---|" * 10,
    ]
    for r in rows:
        lines.append(
            f"| {r.calls_per_second:,.0f} | {r.failing_attempts:.0%} | {r.read_shards} | {r.log_level} "
            f"| {r.busiest_item_read_units_per_second:,.0f} | {r.busiest_item_write_units_per_second:,.0f} "
            f"| {r.throttled_fraction:.1%} | {r.failed_open_fraction:.1%} | ${r.usd_per_million_calls:,.2f} "
            f"| {', '.join(r.binding_quotas) or '–'} |"
        )
    return lines


@pytest.mark.benchmark
def test_capacity() -> None:
    if not FIGURES.exists():
        pytest.fail(f"{FIGURES} is missing: run benchmarks/test_path_costs.py first (make bench runs it before this)")
    measured = json.loads(FIGURES.read_text())
    paths = measured["this breaker"]
    shards = recommended_read_shards(paths)
    rows = capacity_table(paths)
    target = [r for r in rows if r.calls_per_second == 10_000 and r.read_shards == shards]
    assert target and all(
        r.busiest_item_read_units_per_second <= 3_000 and r.busiest_item_write_units_per_second <= 1_000 and r.throttled_fraction == 0
        for r in target
    ), "the recommended shards do not hold 10,000 calls/s"
    row = {(r.calls_per_second, r.failing_attempts, r.read_shards, r.log_level): r for r in rows}
    healthy_error, healthy_all = row[(10_000, 0.0, shards, "ERROR")], row[(10_000, 0.0, shards, "ALL")]
    widest = row[(50_000, 0.05, MAX_READ_SHARDS, "ALL")]
    sample = reference_sample(Work.from_figures(measured["reference sample"]["healthy"])).total
    CAPACITY.write_text(
        json.dumps(
            {
                "rows": [r.as_row() for r in rows],
                "recommended_read_shards": shards,
                "measured_paths": {name: paths[name] for name in (HEALTHY, FAILED_ONCE, FAILED)},
                "quotas": [q.__dict__ for q in QUOTAS],
                "assumptions": {
                    "circuit": "stays closed (a failure-rate rule, issue 17); attempts fail independently",
                    "layout": "first read on a random shard; reads after a failure and every write on the primary",
                    "sampling_writes_per_second": SAMPLING_WRITES_PER_SECOND,
                    "lambda_invoke_ms": LAMBDA_INVOKE_MS,
                    "recommended_shards": f"fewest with the busiest item at most {HEADROOM:.0%} of 3,000 read units/s at 10,000 calls/s, 5% failing",
                },
                "source": "docs/path-costs.json, measured by benchmarks/test_path_costs.py on the local engine",
                "command": COMMAND,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"recommended read_shards {shards}; healthy at ERROR ${healthy_error.usd_per_million_calls:.2f} per 1M calls")
    quotas = "\n".join(
        f"| {q.name} | {'none documented' if q.limit is None else f'{q.limit:,.0f} {q.unit}'} | {q.note} | <{q.source}> |" for q in QUOTAS
    )
    write_section(
        "capacity",
        f"""## Capacity: one callee at 100 to 50,000 calls per second

`{COMMAND}` (part of `make bench`); the rows are in [`capacity.json`](capacity.json), computed by
`benchmarks/capacity.py` from the path costs measured above ([`path-costs.json`](path-costs.json): read and write
units as the engine's DynamoDB counted them, log bytes at each level), never typed in.

**Model.** Each attempt fails with the given probability, independently, and the circuit stays closed (a
failure-rate rule, `failure_rate_threshold`, would not open at 5%; the count rule would open within the first second, after
which calls fail fast and cost less). A call that fails *k* times and then answers costs the healthy path plus *k*
times what one failed attempt adds (*failed once, then answered* minus *healthy*); one that fails every attempt is
the 4-attempt failure path. With `read_shards` N the circuit is kept on N items: each call's first read goes to one
at random, reads after a failure and every write (failure counts) to the primary, which is the busiest item; a
rate rule's sampled successes add about {SAMPLING_WRITES_PER_SECOND:g} writes/s to it while failures keep a window open (counted in its load, not in
the cost). An item offered more than DynamoDB's 3,000 read or 1,000 write units per second refuses the excess, and
the workflow tries a refused request twice more (its `Retry`), which adds load: *throttled* is the share of circuit
table requests refused, *fail open* the share of calls whose read was refused three times (they call the callee
unguarded, `FailOpens`). The cost per million calls is the cost model below at the row's log level, with no
throttling (a row that throttles is not a state to run in); Lambda concurrency assumes {LAMBDA_INVOKE_MS:.0f} ms per
invocation.

**Recommended `read_shards`: {shards}**, the fewest that keep the busiest item at most {HEADROOM:.0%} of 3,000 read
units/s at 10,000 calls/s with 5% failing attempts (room for a burst of about {1 / HEADROOM:.1f}x before the
primary throttles). Writes cannot be sharded (the failure count lives on the primary), nor can the reads after a
failure: at 50,000 calls/s with 5% failing attempts and {MAX_READ_SHARDS} shards the primary is offered
{widest.busiest_item_read_units_per_second:,.0f} read and {widest.busiest_item_write_units_per_second:,.0f} write units/s
({widest.throttled_fraction:.1%} of the requests refused); that rate needs fewer writes and reads of the primary per
failure (issue 17) or several breakers.

{chr(10).join(_table(rows))}

A healthy call costs ${healthy_error.usd_per_million_calls:.2f} per million at level ERROR and
${healthy_all.usd_per_million_calls:.2f} at ALL (the logs make the difference), against ${sample:.2f} for AWS's reference
sample: {sample / healthy_error.usd_per_million_calls:.0f} and {sample / healthy_all.usd_per_million_calls:.0f} times
less. Quotas the rows are held against (default values; *quotas exceeded* names those a row's load
passes):

| quota | limit | note | source |
|---|---|---|---|
{quotas}
""",
    )
