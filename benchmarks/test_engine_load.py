"""The local engine under load: healthy executions per second on this machine, and what callers wait.

Every benchmark above runs on the embedded engine, so its own limits show in their figures: when the
engine cannot keep up, callers wait and the outage's per-second counts dip for reasons that have nothing
to do with the workflow. Two measurements, healthy calls only (``echo``), ``StartSyncExecution`` through
the client, in this process:

* **throughput**: N callers call back to back (no pause) for ``SECONDS`` each; executions per second,
  the caller's p50/p99, CPU per execution and the longest garbage-collection pause;
* **paced**: the outage's load (20 callers, one call per second each) for ``PACED_SECONDS``, twice: with
  the engine's collector settings and with Python's defaults (what the engine ran with before it tuned
  them, ``LocalEngine.tune_collector``). The fewest calls answered in any second shows a stall.

Run with ``make bench`` (after the other benchmarks, so the engine holds their executions, as a long
session would).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import pytest

from benchmarks.calls import SUCCEEDED, timed_call, workflow_client
from benchmarks.load import SUCCESS, collector_pauses, run_load
from benchmarks.report import DOCUMENT, machine_load, percentile, write_section
from circuit_breaker.client.calls import CircuitBreakerClient
from circuit_breaker.local.engine import LocalEngine
from tests.conftest import Breaker

FIGURES = DOCUMENT.parent / "engine-load.json"
SECONDS = float(os.environ.get("BENCH_ENGINE_SECONDS", "15"))
PACED_SECONDS = float(os.environ.get("BENCH_ENGINE_PACED_SECONDS", "40"))
CALLER_COUNTS = tuple(int(n) for n in os.environ.get("BENCH_ENGINE_CALLERS", "1,2,4,8,16,32").split(","))


def _throughput(client: CircuitBreakerClient, callers: int) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()
    pauses: list[tuple[float, float, int]] = []
    stop_at = time.perf_counter() + SECONDS

    def caller() -> None:
        while time.perf_counter() < stop_at:
            call = timed_call(client, "echo", {"order": 42})
            assert call.outcome == SUCCEEDED, call
            with lock:
                latencies.append(call.seconds)

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    started, cpu = time.perf_counter(), time.process_time()
    with collector_pauses(time.time(), pauses):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "callers": callers,
        "executions": len(latencies),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000),
        "p99_ms": round(percentile(latencies, 0.99) * 1000),
        "cpu_ms_per_execution": round(cpu / max(1, len(latencies)) * 1000, 1),
        "longest_gc_pause_ms": round(max((p[1] for p in pauses), default=0.0) * 1000),
    }


@contextmanager
def _python_default_collector(engine: LocalEngine) -> Iterator[None]:
    """Python's default collector settings for the block (what the engine ran with before it tuned them)."""
    engine.restore_collector()
    try:
        yield
    finally:
        engine.tune_collector()


def _paced(breaker: Breaker, client: CircuitBreakerClient, name: str) -> dict:
    def call(_start: float) -> str:
        answer = timed_call(client, "echo", {"order": 42})
        return SUCCESS if answer.outcome == SUCCEEDED else answer.outcome

    cpu = time.process_time()
    run = run_load(name, call, lambda: breaker.invocations("Echo"), callers=20, duration=PACED_SECONDS, outage=(PACED_SECONDS, PACED_SECONDS))
    cpu = time.process_time() - cpu
    # The first and last seconds are ramps; a stall shows as a second with few answers in between.
    seconds = run.per_second()[2:-1]
    answered = [row["successes"] for row in seconds]
    slowest = min(seconds, key=lambda row: row["successes"])
    waited = [c.ended - c.started for c in run.calls]
    full = [p for p in run.collector_pauses if p[2] == 2]
    return {
        "setting": name,
        "calls": len(run.calls),
        "fewest_answered_in_a_second": min(answered),
        "gc_pause_ms_in_that_second": slowest["gc_pause_ms"],
        "process_cpu_share": round(cpu / PACED_SECONDS, 2),
        "seconds_under_15_answered": sum(a < 15 for a in answered),
        "p50_ms": round(statistics.median(waited) * 1000),
        "p99_ms": round(percentile(waited, 0.99) * 1000),
        "full_collections": len(full),
        "longest_gc_pause_ms": round(run.longest_collector_pause() * 1000),
        "gc_pause_total_ms": round(sum(p[1] for p in run.collector_pauses) * 1000),
    }


@pytest.mark.benchmark
def test_engine_load(breaker: Breaker) -> None:
    client = workflow_client(breaker.engine.connection(), breaker.engine.deployment())
    timed_call(client, "echo", {"warm": True})
    served = breaker.invocations("Echo") + breaker.invocations("Flaky")
    load_before = machine_load()
    throughput = [_throughput(client, n) for n in CALLER_COUNTS]
    for row in throughput:
        print(row)
    paced = [_paced(breaker, client, "engine's collector settings")]
    with _python_default_collector(breaker.engine):
        paced.append(_paced(breaker, client, "Python's defaults"))
    for row in paced:
        print(row)
    load_after = machine_load()
    FIGURES.write_text(json.dumps({"throughput": throughput, "paced": paced}, indent=2) + "\n")

    rows = [
        "| concurrent callers | executions/s | caller p50 ms | caller p99 ms | CPU ms per execution | longest GC pause ms |",
        "|---|---|---|---|---|---|",
    ] + [
        f"| {r['callers']} | {r['per_second']} | {r['p50_ms']} | {r['p99_ms']} | {r['cpu_ms_per_execution']} | {r['longest_gc_pause_ms']} |"
        for r in throughput
    ]
    paced_rows = [
        "| collector | calls | fewest answered in a second (GC pause in it) | seconds under 15 answered | caller p50 ms "
        "| caller p99 ms | full collections | longest GC pause ms | all GC pauses ms | CPU the process got |",
        "|" + "---|" * 10,
    ] + [
        f"| {r['setting']} | {r['calls']} | {r['fewest_answered_in_a_second']} ({r['gc_pause_ms_in_that_second']} ms) "
        f"| {r['seconds_under_15_answered']} | {r['p50_ms']} | {r['p99_ms']} | {r['full_collections']} | {r['longest_gc_pause_ms']} "
        f"| {r['gc_pause_total_ms']} | {r['process_cpu_share']:.2f} cores |"
        for r in paced
    ]
    write_section(
        "engine-load",
        f"""## The engine under load

`make bench` (or `pytest -m benchmark -o addopts="" benchmarks/test_engine_load.py -s`): healthy calls (`echo`)
with `StartSyncExecution` through the client, in the engine's process, on {platform.machine()} with {os.cpu_count()}
cores shared with other work (load average {load_before} before, {load_after} after), Python
{platform.python_version()}. It runs after the other benchmarks, so the engine holds their executions (histories
and logs; its Lambda runtime had served {served} callee invocations), as a long session would.

**Throughput**: N callers call back to back for {SECONDS:.0f} s each.

{chr(10).join(rows)}

**Paced**: the outage's load (20 callers, one call per second each) for {PACED_SECONDS:.0f} s, with the engine's
collector settings and with Python's defaults. A second in which far fewer than 20 calls are answered is a stall.

{chr(10).join(paced_rows)}

Figures: [`engine-load.json`](engine-load.json).
""",
    )
