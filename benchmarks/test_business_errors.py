"""Business errors: a healthy callee that answers some calls with an error the callee declares an answer.

20 callers call ``payment`` (the sample ``flaky`` registered with ``ignored_errors: ["CardDeclined"]``,
``benchmarks/conftest.py``) once a second each for 30 s; one call in ten (at random) asks it to decline
the card. A declined card is an answer: it must reach the caller at once, never be retried, never be
counted, never open the circuit. The workflow before issue 9 runs the same load in the same run for
comparison. Waits are real (the engine's clock at scale 1). Run with ``make bench``.
"""

from __future__ import annotations

import json
import os
import platform
import random
import threading
from collections import Counter
from dataclasses import dataclass

import pytest

from benchmarks.calls import SUCCEEDED, Call, timed_call, workflow_client
from benchmarks.load import FAILURE, SHORT_CIRCUIT, SUCCESS, run_load
from benchmarks.previous import deploy_previous
from benchmarks.report import DOCUMENT, machine_load, write_section
from circuit_breaker.client.calls import CircuitBreakerClient
from tests.conftest import Breaker

FIGURES = DOCUMENT.parent / "business-errors.json"
CALLERS = int(os.environ.get("BENCH_CALLERS", "20"))
DURATION = float(os.environ.get("BENCH_BUSINESS_DURATION", "30"))
DECLINE_SHARE = 0.1
DECLINE = {"fail": True, "error": "CardDeclined", "message": "insufficient funds"}
#: Where each workflow waits between attempts (this breaker's Wait state; Call callee's Retry before).
RETRY_WAIT_STATES = {"Back off", "Call callee"}
BREAKER_ERRORS = {"CircuitBreaker.CircuitOpen", "CircuitBreaker.CircuitIsolated"}


@dataclass(frozen=True)
class Recorded:
    declined: bool
    call: Call


def _declined_card(call: Call) -> bool:
    """The callee answered the call with a declined card (``CalleeFailed`` carrying its error)."""
    return call.outcome == "CircuitBreaker.CalleeFailed" and isinstance(call.cause, dict) and call.cause.get("error") == "CardDeclined"


def _classify(call: Call) -> str:
    if call.outcome == SUCCEEDED:
        return SUCCESS
    return SHORT_CIRCUIT if call.outcome in BREAKER_ERRORS else FAILURE


def _run(breaker: Breaker, name: str, client: CircuitBreakerClient) -> dict:
    breaker.clear()
    recorded: list[Recorded] = []
    lock = threading.Lock()
    chooser = random.Random(9)

    def call(_start: float) -> str:
        with lock:
            declined = chooser.random() < DECLINE_SHARE
        answer = timed_call(client, "payment", DECLINE if declined else {"order": 42})
        with lock:
            recorded.append(Recorded(declined, answer))
        return _classify(answer)

    flaky = breaker.engine.function_name("Flaky")
    before = breaker.engine.runtime.invocations(flaky)
    run_load(name, call, lambda: breaker.engine.runtime.invocations(flaky), callers=CALLERS, duration=DURATION, outage=(DURATION, DURATION))
    invocations = breaker.engine.runtime.invocations(flaky) - before
    clock = breaker.engine.clock

    def retries(arn: str) -> int:
        return sum(w["state"] in RETRY_WAIT_STATES for w in clock.waits(arn, kind=None))

    declined = [r.call for r in recorded if r.declined]
    outcomes = Counter("declined card" if _declined_card(r.call) else r.call.outcome.removeprefix("CircuitBreaker.") for r in recorded)
    opened_by = sum(isinstance(r.call.cause, dict) and r.call.cause.get("circuitOpened") is True for r in recorded)
    figures = {
        "calls": len(recorded),
        "declined_calls": len(declined),
        "retries_of_declined_calls": sum(retries(c.execution_arn) for c in declined),
        "counted_declines": sum(_declined_card(c) and c.cause.get("counted", True) is not False for c in declined),
        "callee_invocations": invocations,
        "opens": opened_by,
        "short_circuited_calls": sum(r.call.outcome in BREAKER_ERRORS for r in recorded),
        "circuit_item_written": breaker.item("payment") is not None,
        "outcomes": dict(sorted(outcomes.items())),
    }
    breaker.clear()
    print(name, figures)
    return figures


@pytest.mark.benchmark
def test_business_errors(breaker: Breaker) -> None:
    connection = breaker.engine.connection()
    load_before = machine_load()
    breaker.engine.clock.scale = 1.0  # waits as on AWS
    try:
        figures = {
            "before issue 9": _run(breaker, "before issue 9", workflow_client(connection, deploy_previous(breaker))),
            "this breaker": _run(breaker, "this breaker", workflow_client(connection, breaker.engine.deployment())),
        }
    finally:
        breaker.engine.clock.scale = 0.0
    load_after = machine_load()
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")

    ours = figures["this breaker"]
    assert ours["opens"] == 0 and ours["short_circuited_calls"] == 0, ours
    assert ours["retries_of_declined_calls"] == 0 and ours["counted_declines"] == 0, ours
    assert ours["callee_invocations"] == ours["calls"] and not ours["circuit_item_written"], ours
    assert ours["outcomes"].get("declined card") == ours["declined_calls"], ours

    lines = [
        "| workflow | calls | calls asking to decline | retries of those calls | declines counted | callee invocations "
        "| circuit opened | short-circuited calls | outcomes |",
        "|" + "---|" * 9,
    ]
    for name, f in figures.items():
        outcomes = ", ".join(f"{k} {v}" for k, v in f["outcomes"].items())
        lines.append(
            f"| {name} | {f['calls']} | {f['declined_calls']} | {f['retries_of_declined_calls']} | {f['counted_declines']} "
            f"| {f['callee_invocations']} | {f['opens']} times | {f['short_circuited_calls']} | {outcomes} |"
        )
    write_section(
        "business-errors",
        f"""## Business errors

`make bench` (or `pytest -m benchmark -o addopts="" benchmarks/test_business_errors.py -s`) on the local engine,
{platform.machine()} with {os.cpu_count()} cores shared with other work (load average {load_before} before,
{load_after} after). {CALLERS} callers call `payment` once a second each for {DURATION:.0f} s with
`StartSyncExecution`; `payment` is the sample `flaky` registered with `ignored_errors: ["CardDeclined"]`
(`benchmarks/conftest.py`), healthy, and one call in ten (at random, the same sequence for both workflows) asks it
to decline the card. Waits are real. *Retries* are the waits those calls' executions spent before another
attempt; *declines counted* the declined cards whose Cause does not say `counted: false`.

{chr(10).join(lines)}

{_notes(figures)} Figures: [`business-errors.json`](business-errors.json).
""",
    )


def _notes(figures: dict[str, dict]) -> str:
    """What this run's figures show (the numbers quoted are this run's)."""
    now, before = figures["this breaker"], figures["before issue 9"]
    return (
        f"A declined card is an answer: this breaker returned all {now['outcomes'].get('declined card', 0)} at once as `CalleeFailed` with "
        f"`counted: false` after one invocation each ({now['retries_of_declined_calls']} retries), wrote nothing "
        f"(the circuit's item {'was' if now['circuit_item_written'] else 'was never'} written) and opened "
        f"{now['opens']} times, so every other caller was served. Before issue 9 the same load retried declined calls "
        f"{before['retries_of_declined_calls']} times, counted {before['counted_declines']} of {before['declined_calls']} declines, "
        f"opened the circuit {before['opens']} "
        f"time(s) on a healthy callee and short-circuited {before['short_circuited_calls']} of {before['calls']} calls."
    )
