"""What each path of the workflow costs: state transitions, DynamoDB reads and writes, Lambda calls, time.

Express workflows are billed by duration and callers wait for them, so the hot paths must stay
short. Each path runs ``RUNS`` times on the local engine from the synthesized assembly; counts come
from the executions' histories (every ``TaskScheduled`` is one service call, retries included),
from the engine's Lambda runtime and from the execution log group. Retry waits are skipped (the
engine's retry clock runs at scale 0): the failure paths' times exclude the backoff, which on AWS
adds up to 1 + 2 + 4 s (half that on average, with full jitter).

The reference sample's paths are measured the same way, for the cost model. Run with ``make bench``;
the table goes into ``docs/performance.md``, the figures into ``docs/path-costs.json``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import pytest

from benchmarks.cost_model import Work
from benchmarks.report import DOCUMENT, percentile, write_section
from benchmarks.reference import deploy_reference, function_arn
from circuit_breaker.history import ExecutionPath
from tests.conftest import Breaker, Outcome

RUNS = int(os.environ.get("BENCH_RUNS", "50"))
FIGURES = DOCUMENT.parent / "path-costs.json"
DEFINITION = Path(__file__).resolve().parent.parent / "statemachine" / "circuit_breaker.asl.json"


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

_ENTRIES = {
    name: len(state["Arguments"]["Entries"])
    for name, state in json.loads(DEFINITION.read_text())["States"].items()
    if state.get("Resource") == "arn:aws:states:::events:putEvents"
}


def _reads(path: ExecutionPath) -> int:
    return sum(v.attempts for v in path.visits if v.kind == "dynamodb:getItem")


def _writes(path: ExecutionPath) -> int:
    return sum(v.attempts for v in path.visits if v.kind.startswith("dynamodb:") and v.kind != "dynamodb:getItem")


def _events(path: ExecutionPath) -> int:
    return sum(_ENTRIES.get(v.name, 0) for v in path.visits if v.kind.startswith("events:") and not v.errors)


def _retries(path: ExecutionPath) -> int:
    return sum(max(0, v.attempts - 1) for v in path.visits)


def _log_bytes(breaker: Breaker, outcome: Outcome, since_ms: int) -> int:
    logs = breaker.engine.session().client("logs")
    events = logs.filter_log_events(logGroupName=breaker.engine.deployment().log_group_name, startTime=since_ms)["events"]
    return sum(len(e["message"].encode()) for e in events if json.loads(e["message"]).get("execution_arn") == outcome.arn)


def _engine_ms(outcome: Outcome) -> float:
    visits = outcome.path.visits
    return (visits[-1].exited - visits[0].entered).total_seconds() * 1000 if visits and visits[-1].exited else float("nan")


def _callee_invocations(breaker: Breaker) -> int:
    return breaker.invocations("Flaky") + breaker.invocations("Echo")


def _measure_breaker(breaker: Breaker) -> tuple[list[tuple[str, ...]], dict[str, dict]]:
    rows, figures = [], {}
    for case in CASES:
        wall, inside, transitions, reads, writes, lambdas, events = [], [], set(), set(), set(), set(), set()
        breaker.clear()
        breaker.call(case.callee, case.payload)  # warm the handler modules
        log_bytes = 0
        for run in range(RUNS):
            case.prepare(breaker)
            before = _callee_invocations(breaker)
            since_ms = int(time.time() * 1000) - 1
            started = time.perf_counter()
            arn = breaker.start({"callee": case.callee, "payload": case.payload})
            breaker.client.wait(arn)
            wall.append((time.perf_counter() - started) * 1000)
            outcome = breaker.finish(arn)
            assert (outcome.error or outcome.status) == case.expect, (case.name, outcome.error, outcome.cause)
            inside.append(_engine_ms(outcome))
            transitions.add(outcome.path.transitions)
            reads.add(_reads(outcome.path))
            writes.add(_writes(outcome.path))
            events.add(_events(outcome.path))
            lambdas.add(_callee_invocations(breaker) - before)
            if run == 0:
                log_bytes = _log_bytes(breaker, outcome, since_ms)
        breaker.clear()
        (only_reads,), (only_writes,), (only_lambdas,), (only_events,), (only_transitions,) = reads, writes, lambdas, events, transitions
        figures[case.name] = asdict(Work(
            reads=only_reads, writes=only_writes, callee_invocations=only_lambdas, events=only_events,
            log_bytes=log_bytes, transitions=only_transitions,
            backoff_seconds=3.5 if only_lambdas == 4 else 0.0,
        ))
        rows.append((
            case.name, str(only_transitions), str(only_reads), str(only_writes), str(only_lambdas), str(only_events),
            f"{log_bytes / 1024:.1f}",
            f"{statistics.median(inside):.0f}", f"{percentile(inside, 0.95):.0f}",
            f"{statistics.median(wall):.0f}", f"{percentile(wall, 0.95):.0f}",
        ))
        print(f"{case.name:38} {rows[-1][1:]}")
    return rows, figures


def _measure_reference(breaker: Breaker) -> dict[str, dict]:
    """The reference sample's paths, for the cost model (a Standard workflow bills retries as transitions)."""
    arn = deploy_reference(breaker, function_arn(breaker, "Flaky"))
    figures = {}
    for name, payload in (("healthy", {"fail": False}), ("callee failure", {"fail": True}), ("fast fail (open)", {"fail": False})):
        before = breaker.invocations("Flaky")
        execution = breaker.sfn.start_execution(stateMachineArn=arn, input=json.dumps({"callee": "flaky", "payload": payload}))["executionArn"]
        breaker.client.wait(execution)
        path = breaker.finish(execution).path
        failed = any(v.name == "Update Circuit Status" for v in path.visits)
        figures[name] = asdict(Work(
            reads=0.5 * _reads(path),  # eventually consistent, as the sample's Query
            writes=_writes(path),
            callee_invocations=breaker.invocations("Flaky") - before,
            status_lambdas=1 + (1 if failed else 0),  # GetCircuitStatus on every call, UpdateCircuitStatus on failures
            transitions=path.transitions + _retries(path),
            backoff_seconds=3.5 if failed else 0.0,
        ))
    return figures


@pytest.mark.benchmark
def test_path_costs(breaker: Breaker) -> None:
    rows, figures = _measure_breaker(breaker)
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps({"this breaker": figures, "reference sample": _measure_reference(breaker)}, indent=2) + "\n")

    header = (
        "| path | state transitions | DynamoDB reads | DynamoDB writes | Lambda invocations | events | log KB "
        "| engine ms (median) | engine ms (p95) | call ms (median) | call ms (p95) |"
    )
    lines = [header, "|" + "---|" * 11] + ["| " + " | ".join(row) + " |" for row in rows]
    write_section(
        "path-costs",
        f"""## Path costs

`make bench` (or `pytest -m benchmark -o addopts="" benchmarks/test_path_costs.py -s`), {RUNS} executions per path
on the local engine, {platform.machine()} with {os.cpu_count()} cores, Python {platform.python_version()}.
*State transitions* counts states entered; *DynamoDB reads/writes* count every request the workflow made,
retries included; *events* are transition events published; *log KB* is what one execution writes to its log
group at level ALL; *engine ms* is from the execution's first to its last history event, *call ms* what a caller
waited (StartExecution, then DescribeExecution every 10 ms). Retry waits are not included (the failure paths
spend 4 attempts; with the default policy the waits add up to 7 s at most, 3.5 s on average).

{chr(10).join(lines)}

The healthy path makes one DynamoDB read and one Lambda call and writes nothing; a fast fail makes one read and
no Lambda call. A failure writes once (twice and publishes one event when it opens the circuit); a probe writes
twice (lease, then close or reopen) and publishes its two transitions in one call. Nothing on the healthy or
fast-fail paths was added for events or metrics. Machine-readable figures: [`path-costs.json`](path-costs.json).
""",
    )
