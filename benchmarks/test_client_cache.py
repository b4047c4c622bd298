"""What the client's open-circuit cache saves: 1,000 calls to an open circuit, with and without it.

Each call goes through :meth:`CircuitBreakerClient.call` (``StartSyncExecution``) against the local
engine, one caller calling one after another; the circuit of ``flaky`` is open for the whole run. Executions started are counted where the engine receives them; latency is
what the caller waited for each call, exception included. Run with ``make bench`` (or ``pytest -m
benchmark -o addopts="" benchmarks/test_client_cache.py -s``); the table goes into
``docs/performance.md`` (section ``client-cache``), the figures into ``docs/client-cache.json``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time

import pytest

from benchmarks.report import DOCUMENT, percentile, write_section
from circuit_breaker.client.calls import CircuitBreakerClient
from circuit_breaker.core.errors import CircuitOpenError
from tests.conftest import Breaker

CALLS = int(os.environ.get("BENCH_CACHE_CALLS", "1000"))
FIGURES = DOCUMENT.parent / "client-cache.json"


def _open(breaker: Breaker) -> None:
    """Open ``flaky``'s circuit for 280 s (a break longer than its ``max_break_seconds`` would count as over)."""
    until = int(breaker.now()) + 280
    breaker.put_item("flaky", CircuitStatus="OPEN", OpenUntil=until, ExpiryTimeStamp=until + 300, ConsecutiveOpens=1)


def _run(breaker: Breaker, cached: bool) -> dict[str, float]:
    _open(breaker)
    caller = CircuitBreakerClient(breaker.engine.connection(), breaker.engine.deployment(), open_circuit_cache=cached)
    counter = breaker.engine.faults.run_before("stepfunctions", "StartSyncExecution", lambda: None, times=10**9)
    latencies, from_cache = [], 0
    for _ in range(CALLS):
        started = time.perf_counter()
        try:
            caller.call("flaky", {"fail": False})
        except CircuitOpenError as error:
            from_cache += error.cached
        else:
            raise AssertionError("the circuit was meant to stay open")
        latencies.append((time.perf_counter() - started) * 1000)
    breaker.engine.faults.clear()
    return {
        "calls": CALLS,
        "executions started": counter.hits,
        "answered from the cache": from_cache,
        "p50 ms": statistics.median(latencies),
        "p99 ms": percentile(latencies, 0.99),
        "total s": sum(latencies) / 1000,
    }


@pytest.mark.benchmark
def test_client_cache(breaker: Breaker) -> None:
    _open(breaker)
    breaker.call("flaky", {"fail": False})  # warm the engine's parsed definition
    figures = {"without the cache": _run(breaker, cached=False), "with the cache (default)": _run(breaker, cached=True)}
    load = os.getloadavg()[0]
    for name, row in figures.items():
        print(f"{name:26} {row}")
    without, with_cache = figures["without the cache"], figures["with the cache (default)"]
    assert without["executions started"] == CALLS and with_cache["executions started"] == 1
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")

    rows = [
        f"| {name} | {row['calls']} | {row['executions started']} | {row['answered from the cache']} "
        f"| {row['p50 ms']:.3f} | {row['p99 ms']:.3f} | {row['total s']:.2f} |"
        for name, row in figures.items()
    ]
    write_section(
        "client-cache",
        f"""## Open-circuit cache in the client

`make bench` (or `pytest -m benchmark -o addopts="" benchmarks/test_client_cache.py -s`) on the local engine,
{platform.machine()} with {os.cpu_count()} cores, Python {platform.python_version()}, load average {load:.1f} at the end
(other work shared the machine: uncached calls take longer than in *Path costs*). One caller makes {CALLS:,} calls
in a row through `CircuitBreakerClient.call` to `flaky`, whose circuit stays open for the whole run; executions
are counted where the engine receives `StartSyncExecution`, latency is what the caller waited per call (until
the `CircuitOpenError`).

| client | calls | executions started | answered from the cache | caller ms (p50) | caller ms (p99) | total s |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

With the cache (on by default) only the first call starts an execution; the other {CALLS - 1:,} raise the same
`CircuitOpenError` (`error.cached` is true) in microseconds, until the circuit's `retryAfter`. On AWS each
avoided call is one Express request, one DynamoDB read and a network round trip to Step Functions saved.
Machine-readable figures: [`client-cache.json`](client-cache.json).
""",
    )
