"""Outage simulation: 20 callers, a callee down for 30 s, three ways of calling it.

The same steady load (20 concurrent callers, one call per second each) meets the same outage (the
sample callee ``flaky`` fails from second 10 to second 40, then heals) three times:

* **no breaker**: callers invoke the callee directly, with the workflow's retry policy;
* **reference sample**: the behaviour of AWS's sample (``reference_sample.asl.json``): one failed
  execution opens the circuit for 20 s, unconditional writes, no probe lease;
* **this breaker**: the deployed workflow (threshold 3 in 60 s, 30-s break, one probe).

Retries wait as on AWS (1, 2, 4 s with full jitter). Figures and a plot of callee invocations per
second go to ``docs/performance.md`` and ``docs/outage.png``. Run with ``make bench``.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import random
import time

import pytest

from benchmarks.load import FAILURE, SHORT_CIRCUIT, SUCCESS, LoadRun, run_load
from benchmarks.reference import deploy_reference, function_arn
from benchmarks.report import DOCUMENT, write_section
from circuit_breaker.client import wait_for_execution
from tests.conftest import Breaker

PLOT = DOCUMENT.parent / "outage.png"
PER_SECOND_CSV = DOCUMENT.parent / "outage-per-second.csv"
OUTAGE_MIX = DOCUMENT.parent / "outage.json"

CALLERS = int(os.environ.get("BENCH_CALLERS", "20"))
DURATION = float(os.environ.get("BENCH_OUTAGE_DURATION", "90"))
OUTAGE = (10.0, 40.0)


def _payload(start: float) -> dict:
    return {"fail_between": [start + OUTAGE[0], start + OUTAGE[1]]}


#: The local engine has no StartSyncExecution; faster polling by 20 callers would spend the engine's single
#: Python core on DescribeExecution instead of on the executions.
POLL_SECONDS = 0.25


def _direct(breaker: Breaker, flaky_arn: str):
    client = breaker.engine.session().client("lambda")

    def call(start: float) -> str:
        payload = json.dumps(_payload(start))
        for attempt in range(4):  # the workflow's policy: 3 retries, 1/2/4 s, full jitter
            if "FunctionError" not in client.invoke(FunctionName=flaky_arn, Payload=payload):
                return SUCCESS
            if attempt < 3:
                time.sleep(random.uniform(0, min(2**attempt, 8)))
        return FAILURE

    return call


def _through(breaker: Breaker, state_machine_arn: str, short_circuit_errors: set[str]):
    sfn = breaker.sfn

    def call(start: float) -> str:
        document = json.dumps({"callee": "flaky", "payload": _payload(start)})
        arn = sfn.start_execution(stateMachineArn=state_machine_arn, input=document)["executionArn"]
        described = wait_for_execution(sfn, arn, poll_interval=POLL_SECONDS)
        if described["status"] == "SUCCEEDED":
            return SUCCESS
        return SHORT_CIRCUIT if described.get("error") in short_circuit_errors else FAILURE

    return call


def _outage_mix(run: LoadRun) -> dict[str, float]:
    """What the calls made during the outage ended in, and how often each reached the callee."""
    during = [c for c in run.calls if OUTAGE[0] <= c.started < OUTAGE[1]]
    count = max(1, len(during))
    return {
        "calls": len(during),
        "success": sum(c.outcome == SUCCESS for c in during) / count,
        "short_circuited": sum(c.outcome == SHORT_CIRCUIT for c in during) / count,
        "failure": sum(c.outcome == FAILURE for c in during) / count,
        "callee_invocations_per_call": run.invocations_between(*OUTAGE) / count,
    }


def _plot(runs: list[LoadRun]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 4.5), dpi=110)
    axis.axvspan(*OUTAGE, color="#f4cccc", label="callee failing")
    for run, colour in zip(runs, ("#999999", "#e69138", "#3d85c6")):
        rows = run.per_second()
        axis.plot([r["second"] for r in rows], [r["invocations"] for r in rows], label=run.name, color=colour, linewidth=1.8)
    axis.set_xlabel("seconds")
    axis.set_ylabel("callee invocations per second")
    axis.set_title(f"{CALLERS} callers, one call per second each; the callee fails for 30 s")
    axis.legend(loc="upper right")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(PLOT)
    plt.close(figure)


@pytest.mark.benchmark
def test_outage(breaker: Breaker) -> None:
    flaky_name = breaker.engine.function_name("Flaky")
    flaky_arn = function_arn(breaker, "Flaky")
    invocations = lambda: breaker.engine.runtime.invocations(flaky_name)  # noqa: E731
    breaker.engine.clock.scale = 1.0  # retries wait as on AWS
    try:
        runs = [
            run_load("no breaker", _direct(breaker, flaky_arn), invocations, callers=CALLERS, duration=DURATION, outage=OUTAGE),
            run_load(
                "reference sample",
                _through(breaker, deploy_reference(breaker, flaky_arn), {"CircuitOpen"}),
                invocations, callers=CALLERS, duration=DURATION, outage=OUTAGE,
            ),
        ]
        breaker.clear()
        runs.append(
            run_load(
                "this breaker",
                _through(breaker, breaker.engine.deployment().state_machine_arn, {"CircuitBreaker.CircuitOpen", "CircuitBreaker.CircuitIsolated"}),
                invocations, callers=CALLERS, duration=DURATION, outage=OUTAGE,
            )
        )
    finally:
        breaker.engine.clock.scale = 0.0

    _plot(runs)
    with PER_SECOND_CSV.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["system", "second", "calls", "callee_invocations", "short_circuited", "successes", "failures"])
        for run in runs:
            for row in run.per_second():
                writer.writerow([run.name, row["second"], row["calls"], row["invocations"], row["short_circuited"], row["successes"], row["failures"]])

    OUTAGE_MIX.write_text(json.dumps({run.name: _outage_mix(run) for run in runs}, indent=2) + "\n")
    lines = ["| system | calls | callee invocations (outage, 30 s) | callee invocations (all) | failed calls | short-circuited | time to open | recovered after healing |", "|" + "---|" * 8]
    for run in runs:
        opened, recovered = run.time_to_open(), run.time_to_recover()
        lines.append(
            f"| {run.name} | {len(run.calls)} | {run.invocations_between(*OUTAGE)} | {run.invocations_between(0, DURATION)} "
            f"| {sum(c.outcome == FAILURE for c in run.calls)} | {sum(c.outcome == SHORT_CIRCUIT for c in run.calls)} "
            f"| {'n/a' if opened is None else f'{opened:.1f} s'} | {'never' if recovered is None else f'{recovered:.0f} s'} |"
        )
        print(lines[-1])
    write_section(
        "outage",
        f"""## Outage simulation

`make bench` (or `pytest -m benchmark -o addopts="" benchmarks/test_outage.py -s`) on the local engine,
{platform.machine()} with {os.cpu_count()} cores. {CALLERS} callers call the sample callee `flaky` once a second each
(closed loop: a slow answer delays that caller's next call; executions are polled every 250 ms) for {DURATION:.0f} s; `flaky` fails from second
{OUTAGE[0]:.0f} to second {OUTAGE[1]:.0f}, retries included, then heals. Retries wait as on AWS (1, 2, 4 s, full
jitter). *Time to open* is from the outage's start to the first short-circuited call; *recovered* is from the
healing to the first second in which at least 90% of answered calls succeeded.

{chr(10).join(lines)}

![callee invocations per second](outage.png)

Per-second figures (calls made, callee invocations, short-circuited calls, successes, failures):
[`outage-per-second.csv`](outage-per-second.csv).

Without a breaker the failing callee takes every call and its three retries for the whole outage. The reference
sample opens on the first failure, but every 20 s its record expires and all callers rush the still-failing
callee at once (no probe lease), and it needs another full break after the healing. This breaker opens after
three failures, lets a single probe through after its 30-s break and closes as soon as that probe succeeds.
""",
    )
