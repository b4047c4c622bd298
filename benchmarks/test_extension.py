"""What the circuit-breaker extension costs: start-up (the function's cold start), table reads per 1,000 checks, latency.

The real extension process from the synthesized layer, beside the tests' stand-in Extensions API,
reads the engine's table over HTTP (``tests/client/extension_harness.py``). Reads are counted at the engine.
Writes the ``extension`` section of docs/performance.md and docs/extension.json.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks.report import DOCUMENT, percentile, write_section
from circuit_breaker.local.engine import LocalEngine
from tests.conftest import Breaker, endpoint  # noqa: F401 (fixture)
from tests.client.extension_harness import Extension, layer_dir

STARTS = 10
CHECKS = 1000
SPREAD_SECONDS = 20.0
CALLEES = ["echo", "flaky"]
#: Read once before measuring (the DynamoDB client is then built), never checked after.
WARM_UP = "flaky-strict"


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def _interpreter_start() -> float:
    """How long a bare ``python3 -c pass`` takes here: the floor of any Python extension's start."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.monotonic() - started


def _client_build() -> float:
    """What the extension would add to start-up if it built its DynamoDB client before saying it is ready."""
    code = (
        "import time; t = time.monotonic(); import botocore.session; "
        "botocore.session.get_session().create_client('dynamodb', region_name='us-east-1'); print(time.monotonic() - t)"
    )
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)


class _Reads:
    def __init__(self, engine: LocalEngine) -> None:
        self.count = 0
        engine.faults.run_before("dynamodb", "GetItem", self._seen, times=10**9)
        engine.faults.run_before("dynamodb", "Scan", self._scan, times=10**9)
        self.scans = 0

    def _seen(self) -> None:
        self.count += 1

    def _scan(self) -> None:
        self.scans += 1


def _checks(port: int, count: int, spread_seconds: float = 0.0) -> list[float]:
    """``count`` checks over one kept-alive connection, alternating callees, paced over ``spread_seconds``; their latencies."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies = []
    started = time.monotonic()
    for index in range(count):
        if spread_seconds:
            time.sleep(max(0.0, started + index * spread_seconds / count - time.monotonic()))
        began = time.perf_counter()
        connection.request("GET", f"/circuits/{CALLEES[index % len(CALLEES)]}")
        answer = connection.getresponse()
        body = answer.read()
        latencies.append(time.perf_counter() - began)
        assert answer.status == 200, body
    connection.close()
    return latencies


def _fresh_connection_checks(port: int, count: int) -> list[float]:
    """Checks each on a new connection (what ``urllib.request.urlopen`` does)."""
    latencies = []
    for index in range(count):
        began = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", f"/circuits/{CALLEES[index % len(CALLEES)]}")
        connection.getresponse().read()
        connection.close()
        latencies.append(time.perf_counter() - began)
    return latencies


@pytest.mark.benchmark
def test_extension_costs(assembly: Path, template: dict[str, Any], engine: LocalEngine, endpoint: str, breaker: Breaker) -> None:  # noqa: F811
    layer = layer_dir(assembly, template)
    deployment = engine.deployment()

    # Start-up: from the process's start to its first event/next, which Lambda's Init phase waits for.
    registered, ready, first_check, reads_at_ready = [], [], [], []
    for _ in range(STARTS):
        reads = _Reads(engine)
        with Extension.configured(layer, endpoint, deployment, CALLEES) as running:
            ready.append(running.wait_ready())
            registered.append(running.registered_after)
            reads_at_ready.append(reads.count)
            began = time.perf_counter()
            running.circuit("echo")
            first_check.append(time.perf_counter() - began)
        engine.faults.clear()
    interpreter = [_interpreter_start() for _ in range(STARTS)]
    client_build = [_client_build() for _ in range(3)]

    rows: list[tuple[str, int, int, float, float, float]] = []
    figures: dict[str, Any] = {}

    def scenario(name: str, cache_seconds: float, spread: float, fresh_connections: bool = False) -> None:
        reads = _Reads(engine)
        with Extension.configured(layer, endpoint, deployment, [*CALLEES, WARM_UP], cache_seconds=cache_seconds) as running:
            running.wait_ready()
            running.circuit(WARM_UP)
            reads.count = 0
            started = time.monotonic()
            latencies = _fresh_connection_checks(running.port, CHECKS) if fresh_connections else _checks(running.port, CHECKS, spread)
            took = time.monotonic() - started
        engine.faults.clear()
        assert reads.scans == 0
        per_thousand = round(reads.count * 1000 / CHECKS)
        row = (name, per_thousand, round(took), round(percentile(latencies, 0.5) * 1000, 2),
               round(percentile(latencies, 0.95) * 1000, 2), round(percentile(latencies, 0.99) * 1000, 2))  # fmt: skip
        rows.append(row)
        figures[name] = dict(zip(("reads_per_1000", "seconds", "p50_ms", "p95_ms", "p99_ms"), row[1:]))

    scenario(f"burst: {CHECKS} checks at once, cache 5 s", 5, 0.0)
    scenario(f"steady: {CHECKS} checks over {SPREAD_SECONDS:.0f} s, cache 5 s", 5, SPREAD_SECONDS)
    scenario("burst, a new connection per check (urllib), cache 5 s", 5, 0.0, fresh_connections=True)
    scenario("burst, cache 0 s (every check reads)", 0, 0.0)

    startup = {
        "registered_ms_median": _median_ms(registered), "registered_ms_max": round(max(registered) * 1000, 1),
        "ready_ms_median": _median_ms(ready), "ready_ms_max": round(max(ready) * 1000, 1),
        "interpreter_ms_median": _median_ms(interpreter), "client_build_ms_median": _median_ms(client_build),
        "first_check_ms_median": _median_ms(first_check), "reads_before_ready": max(reads_at_ready),
    }  # fmt: skip
    assert startup["reads_before_ready"] == 0
    table = "\n".join(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} |" for r in rows)
    markdown = f"""
## The extension

`make bench` (or `pytest -m benchmark -o addopts="" benchmarks/test_extension.py -s`, about 2 min), {platform.machine()} with
{os.cpu_count()} cores, Python {platform.python_version()}: the extension process from the synthesized layer, beside
a stand-in of the Extensions API, reading the local engine's table over HTTP; reads counted at the engine, two
callees checked alternately.

**Cold start.** Lambda starts the function's runtime once every extension has registered, and invokes it once
every extension has called `event/next`. The extension registers {startup['registered_ms_median']} ms after its
process starts (median of {STARTS}; at most {startup['registered_ms_max']} ms), against {startup['interpreter_ms_median']} ms
for a bare Python interpreter here: it imports only its Extensions API client before registering, so it delays the
runtime's start by about {round(startup['registered_ms_median'] - startup['interpreter_ms_median'])} ms beyond the
interpreter's own start. It then loads the rest, binds its port and calls `event/next`
{startup['ready_ms_median']} ms after its start (at most {startup['ready_ms_max']} ms), while the runtime and the
function's own init run beside it: a function whose init takes longer waits for nothing more. It reads nothing
before it is ready ({startup['reads_before_ready']} table reads) and builds its DynamoDB client afterwards, in the
background: building it first would add {startup['client_build_ms_median']} ms. The first check after start-up
took {startup['first_check_ms_median']} ms (the client, if not built yet, and one read).

| checks | table reads per 1,000 checks | seconds | p50 ms | p95 ms | p99 ms |
|---|---|---|---|---|---|
{table}

A cached check is a loopback round trip. Reads are one strongly consistent `GetItem` per callee asked about per
cache period (5 s by default): a function checking circuits continuously costs at most one read per callee per
5 s, however often it checks, where the workflow reads once per call and AWS's sample scans the whole table
(unpaginated) every 30 s. Read latencies here are the local engine's, not DynamoDB's. Machine-readable figures:
[`extension.json`](extension.json).
"""
    write_section("extension", markdown)
    (DOCUMENT.parent / "extension.json").write_text(json.dumps({"startup": startup, "scenarios": figures}, indent=2) + "\n")
    print(markdown)
