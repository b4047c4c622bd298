"""The trip rules side by side: noise then an outage, count rule against rate rule; and a slow callee.

**Partial failure.** 20 callers call one callee once a second each: for 60 s the callee fails 2% of its attempts at
random (each attempt draws anew: ``flaky``'s ``fail_ratio``), then it is down for 30 s, then it heals for 20 s. The
same load runs twice, on ``noisy-count`` (the default count rule: 5 failed attempts in 60 s) and on ``noisy-rate``
(50% of at least 10 attempts recorded in a 10-s failure window). Measured: the opens the noise caused, the callee's
invocations during the outage, the table writes per call during the noise (the engine's DynamoDB requests).

**Slow callee.** The callee answers in 8 s of its 10-s timeout, for 40 s: ``slow-plain`` (speed never counts) and
``slow-counted`` (``slow_call_seconds: 5``). Measured: the time to the first short-circuited call.

Waits are real (the engine's clock at scale 1). Run with ``make bench``.
"""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from dataclasses import dataclass

import pytest

from benchmarks.calls import SUCCEEDED, timed_call, workflow_client
from benchmarks.load import FAILURE, SHORT_CIRCUIT, SUCCESS, LoadRun, run_load
from benchmarks.report import DOCUMENT, machine_load, write_section
from tests.conftest import Breaker

CALLERS = int(os.environ.get("BENCH_CALLERS", "20"))
NOISE_SECONDS = 60.0
OUTAGE = (NOISE_SECONDS, NOISE_SECONDS + 30.0)
DURATION = OUTAGE[1] + 20.0
SLOW_DURATION = 40.0
RESULTS = DOCUMENT.parent / "trip-rules.json"
BREAKER_ERRORS = {"CircuitBreaker.CircuitOpen", "CircuitBreaker.CircuitIsolated"}


@dataclass
class Writes:
    """Counts the engine's DynamoDB writes (UpdateItem, PutItem) while a run lasts."""

    breaker: Breaker
    count: int = 0

    def __post_init__(self) -> None:
        for action in ("UpdateItem", "PutItem"):
            self.breaker.engine.faults.run_before("dynamodb", action, self._count, times=10**9)

    def _count(self) -> None:
        self.count += 1


def _caller(client, callee: str, phases):
    def call(start: float) -> str:
        answer = timed_call(client, callee, phases(start))
        if answer.outcome == SUCCEEDED:
            return SUCCESS
        return SHORT_CIRCUIT if answer.outcome in BREAKER_ERRORS else FAILURE

    return call


def _noisy(start: float) -> dict:
    """2% of attempts fail during the noise; every attempt fails during the outage."""
    return {"fail_ratio": 0.02, "fail_between": [start + OUTAGE[0], start + OUTAGE[1]]}


def _partial_failure(breaker: Breaker, callee: str) -> dict:
    client = workflow_client(breaker.engine.connection(), breaker.engine.deployment())
    flaky = breaker.engine.function_name("Flaky")
    invocations = lambda: breaker.engine.runtime.invocations(flaky)  # noqa: E731
    breaker.clear()
    writes = Writes(breaker)
    marks: dict[str, int] = {}

    def mark_noise_end() -> None:
        marks["writes_at_noise_end"] = writes.count

    started = time.time()
    timer = threading.Timer(NOISE_SECONDS, mark_noise_end)
    timer.start()
    run = run_load(callee, _caller(client, callee, _noisy), invocations, callers=CALLERS, duration=DURATION, outage=OUTAGE)
    timer.cancel()
    breaker.engine.faults.clear()
    noise_calls = [c for c in run.calls if c.started < NOISE_SECONDS]
    opens_in_noise = _opens_from_calls(run, 0.0, NOISE_SECONDS)
    return {
        "calls": len(run.calls),
        "noise_calls": len(noise_calls),
        "noise_short_circuited": sum(c.outcome == SHORT_CIRCUIT for c in noise_calls),
        "opens_during_noise": opens_in_noise,
        "writes_per_call_during_noise": round(marks.get("writes_at_noise_end", writes.count) / max(1, len(noise_calls)), 3),
        "callee_invocations_outage": run.invocations_between(*OUTAGE),
        "time_to_open_seconds": _first_short_circuit(run, OUTAGE[0]),
        "recovered_after_seconds": run.time_to_recover(),
        "started": started,
    }


def _first_short_circuit(run: LoadRun, after: float) -> float | None:
    short = [c.ended for c in run.calls if c.outcome == SHORT_CIRCUIT and c.ended >= after]
    return round(min(short) - after, 1) if short else None


def _opens_from_calls(run: LoadRun, start: float, end: float) -> int:
    """Episodes of short-circuited calls between ``start`` and ``end``: each began with an open of the circuit."""
    seconds = sorted({int(c.ended) for c in run.calls if c.outcome == SHORT_CIRCUIT and start <= c.ended < end})
    return sum(1 for i, s in enumerate(seconds) if i == 0 or s - seconds[i - 1] > 2)


def _slow(breaker: Breaker, callee: str) -> dict:
    client = workflow_client(breaker.engine.connection(), breaker.engine.deployment())
    flaky = breaker.engine.function_name("Flaky")
    breaker.clear()
    run = run_load(
        callee,
        _caller(client, callee, lambda start: {"sleep_seconds": 8}),
        lambda: breaker.engine.runtime.invocations(flaky),
        callers=CALLERS,
        duration=SLOW_DURATION,
        outage=(0.0, SLOW_DURATION),
    )
    return {
        "calls": len(run.calls),
        "answered": sum(c.outcome == SUCCESS for c in run.calls),
        "short_circuited": sum(c.outcome == SHORT_CIRCUIT for c in run.calls),
        "time_to_open_seconds": _first_short_circuit(run, 0.0),
        "callee_invocations": run.invocations_between(0, SLOW_DURATION),
    }


@pytest.mark.benchmark
def test_trip_rules(breaker: Breaker) -> None:
    load_before = machine_load()
    breaker.engine.clock.scale = 1.0
    try:
        partial = {callee: _partial_failure(breaker, callee) for callee in ("noisy-count", "noisy-rate")}
        slow = {callee: _slow(breaker, callee) for callee in ("slow-plain", "slow-counted")}
    finally:
        breaker.engine.clock.scale = 0.0
        breaker.clear()
    load_after = machine_load()
    RESULTS.write_text(json.dumps({"partial_failure": partial, "slow_callee": slow}, indent=2) + "\n")

    def seconds(value: float | None) -> str:
        return "never" if value is None else f"{value:.1f} s"

    rows = [
        f"| {name} | {r['opens_during_noise']} | {r['noise_short_circuited']} of {r['noise_calls']} | {r['writes_per_call_during_noise']:.3f} "
        f"| {r['callee_invocations_outage']} | {seconds(r['time_to_open_seconds'])} | {seconds(r['recovered_after_seconds'])} |"
        for name, r in partial.items()
    ]
    slow_rows = [
        f"| {name} | {r['calls']} | {r['answered']} | {r['short_circuited']} | {seconds(r['time_to_open_seconds'])} | {r['callee_invocations']} |"
        for name, r in slow.items()
    ]
    for line in rows + slow_rows:
        print(line)
    write_section(
        "trip-rules",
        f"""## Trip rules: noise, an outage, a slow callee

`make bench` (or `pytest -m benchmark -o addopts="" benchmarks/test_trip_rules.py -s`) on the local engine,
{platform.machine()} with {os.cpu_count()} cores shared with other work (load average {load_before} before, {load_after}
after). {CALLERS} callers call once a second each. **Partial failure**: for {NOISE_SECONDS:.0f} s the callee fails 2% of
its attempts at random, then it is down for {OUTAGE[1] - OUTAGE[0]:.0f} s, then it heals. `noisy-count` is the count rule
(5 failed attempts in 60 s), `noisy-rate` the rate rule (50% of at least 10 attempts in a 10-s failure window).
*Opens during the noise* counts the episodes of short-circuited calls the noise caused; *writes per call* counts the
table writes (failures counted, successes sampled) per call made during the noise.

| callee | opens during the noise | calls short-circuited during the noise | writes per call during the noise | callee invocations during the outage | time to open | recovered after healing |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

**Slow callee**: it answers in 8 s of its 10-s timeout for {SLOW_DURATION:.0f} s. `slow-plain` never counts speed;
`slow-counted` has `slow_call_seconds: 5` (count rule: the fifth slow answer opens the circuit).

| callee | calls | answered | short-circuited | time to open | callee invocations |
|---|---|---|---|---|---|
{chr(10).join(slow_rows)}

Figures: [`trip-rules.json`](trip-rules.json).
""",
    )
