"""What each path of the workflow costs: state transitions, DynamoDB and Lambda calls, local time.

Express workflows are billed by duration and callers wait for them, so the hot paths must stay
short. Each path runs ``RUNS`` times on the local engine from the synthesized assembly; counts come
from the executions' histories (every ``TaskScheduled`` is one service call, retries included) and
from the engine's Lambda runtime. Retry waits are skipped (the engine's retry clock runs at scale 0):
the failure paths' times exclude the backoff, which on AWS adds up to 1 + 2 + 4 s (half that on
average, with full jitter).

Run with ``make bench``; the table goes into ``docs/performance.md``.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import pytest

from benchmarks.report import percentile, write_section
from tests.conftest import Breaker, Outcome

RUNS = int(os.environ.get("BENCH_RUNS", "50"))


@dataclass
class PathCase:
    name: str
    callee: str
    payload: dict
    prepare: Callable[[Breaker], None]
    expect: str


def _nothing(_: Breaker) -> None:
    pass


def _open(b: Breaker) -> None:
    until = int(b.now()) + 300
    b.put_item("flaky", CircuitStatus="OPEN", OpenUntil=until, ExpiryTimeStamp=until + 300, ConsecutiveOpens=1)


def _break_over(b: Breaker) -> None:
    ended = int(b.now()) - 1
    b.put_item("flaky", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 300, ConsecutiveOpens=1)


def _one_below_threshold(b: Breaker) -> None:
    live = int(b.now()) + 60
    b.put_item("flaky", CircuitStatus="CLOSED", Failures=2, WindowEndsAt=live, ExpiryTimeStamp=live)


def _clear(b: Breaker) -> None:
    b.dynamodb.delete_item(TableName=b.table, Key={"ServiceName": {"S": "flaky"}})


def _store_down(b: Breaker) -> None:
    b.engine.faults.clear()
    b.engine.faults.inject("dynamodb", "GetItem", "ProvisionedThroughputExceededException")


CASES = [
    PathCase("healthy (no item)", "echo", {"order": 42}, _nothing, "SUCCEEDED"),
    PathCase("fast fail (open)", "flaky", {"fail": False}, _open, "CircuitBreaker.CircuitOpen"),
    PathCase("callee failure (first in window)", "flaky", {"fail": True}, _clear, "CircuitBreaker.CalleeFailed"),
    PathCase("callee failure that opens", "flaky", {"fail": True}, _one_below_threshold, "CircuitBreaker.CalleeFailed"),
    PathCase("probe, callee healthy (closes)", "flaky", {"fail": False}, _break_over, "SUCCEEDED"),
    PathCase("probe, callee failing (reopens)", "flaky", {"fail": True}, _break_over, "CircuitBreaker.CalleeFailed"),
    PathCase("table unreadable, fail open", "echo", {"order": 42}, _store_down, "SUCCEEDED"),
]


def _engine_ms(outcome: Outcome) -> float:
    visits = outcome.path.visits
    return (visits[-1].exited - visits[0].entered).total_seconds() * 1000 if visits and visits[-1].exited else float("nan")


@pytest.mark.benchmark
def test_path_costs(breaker: Breaker) -> None:
    rows = []
    for case in CASES:
        wall, inside, transitions, dynamodb, lambdas = [], [], set(), set(), set()
        breaker.clear()
        breaker.call(case.callee, case.payload)  # warm the handler modules
        for _ in range(RUNS):
            case.prepare(breaker)
            before = breaker.invocations("Flaky") + breaker.invocations("Echo")
            started = time.perf_counter()
            arn = breaker.start({"callee": case.callee, "payload": case.payload})
            breaker.client.wait(arn)
            wall.append((time.perf_counter() - started) * 1000)
            outcome = breaker.finish(arn)
            assert (outcome.error or outcome.status) == case.expect, (case.name, outcome.error, outcome.cause)
            inside.append(_engine_ms(outcome))
            transitions.add(outcome.path.transitions)
            dynamodb.add(outcome.path.count("dynamodb"))
            lambdas.add(breaker.invocations("Flaky") + breaker.invocations("Echo") - before)
        breaker.clear()
        rows.append(
            (
                case.name,
                "/".join(map(str, sorted(transitions))),
                "/".join(map(str, sorted(dynamodb))),
                "/".join(map(str, sorted(lambdas))),
                f"{statistics.median(inside):.0f}",
                f"{percentile(inside, 0.95):.0f}",
                f"{statistics.median(wall):.0f}",
                f"{percentile(wall, 0.95):.0f}",
            )
        )
        print(f"{case.name:38} {rows[-1][1:]}")

    header = "| path | state transitions | DynamoDB calls | Lambda invocations | engine ms (median) | engine ms (p95) | call ms (median) | call ms (p95) |"
    lines = [header, "|" + "---|" * 8] + ["| " + " | ".join(row) + " |" for row in rows]
    write_section(
        "path-costs",
        f"""## Path costs

`make bench` (or `pytest -m benchmark -o addopts="" benchmarks/test_path_costs.py -s`), {RUNS} executions per path
on the local engine, {platform.machine()} with {os.cpu_count()} cores, Python {platform.python_version()}.
*State transitions* counts states entered (what Step Functions bills Standard workflows by); *DynamoDB calls*
counts every request the workflow made, retries included; *engine ms* is from the execution's first to its last
history event, *call ms* what a caller waited (StartExecution, then DescribeExecution every 10 ms). Retry waits are not included
(the failure paths spend 4 attempts; with the default policy the waits add up to 7 s at most, 3.5 s on average).

{chr(10).join(lines)}

The healthy path makes one DynamoDB read and one Lambda call and writes nothing; a fast fail makes one read and
no Lambda call. Failure paths write once (twice when the failure opens the circuit); a probe writes twice (lease,
then close or reopen).
""",
    )
