"""What each path of the workflow costs: state transitions, DynamoDB reads and writes, Lambda calls, waits, time.

Express workflows are billed by duration and callers wait for them, so the hot paths must stay short and
the failure paths honest. Each path runs ``RUNS`` times on the local engine, on this breaker and on the
workflow before issue 9 (``benchmarks/previous.py``) in the same run. Callers call as the client does
(``StartSyncExecution``). Counts come from the executions' histories (every ``TaskScheduled`` is one
service call, retries included), from the engine's Lambda runtime and from the execution log group.
Waits (``Back off``, ``Retry`` backoff) are recorded by the engine's clock at scale 0: the times exclude
them, the *waits* column says how long an execution on AWS would spend in them (mean of the runs).

Read and write *units* are what the engine's DynamoDB counted for the path, as DynamoDB counts them
(``circuit_breaker/local/throughput.py``); *log bytes* are measured at each log level (``ALL``, ``ERROR``, ``FATAL``,
``OFF``) by running each path once more with the state machine's logging set to that level, as deploying the
construct with ``log_level`` sets it. The capacity model (``benchmarks/capacity.py``) reads these figures.

The reference sample's paths are measured the same way, for the cost model. Run with ``make bench``;
the tables go into ``docs/performance.md``, the figures into ``docs/path-costs.json``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from benchmarks.calls import SUCCEEDED, Call, timed_call, workflow_client
from benchmarks.cost_model import Work
from benchmarks.previous import PREVIOUS_ASL, PREVIOUS_FAILURE_THRESHOLD, deploy_previous
from benchmarks.reference import deploy_reference, function_arn
from benchmarks.report import DOCUMENT, machine_load, percentile, write_section
from circuit_breaker.client.calls import CircuitBreakerClient
from circuit_breaker.operate.history import ExecutionPath, fetch_path
from circuit_breaker.core.settings import CalleeSettings
from tests.conftest import Breaker

RUNS = int(os.environ.get("BENCH_RUNS", "50"))
FIGURES = DOCUMENT.parent / "path-costs.json"
DEFINITION = Path(__file__).resolve().parent.parent / "statemachine" / "circuit_breaker.asl.json"
#: Larger than the 256 KiB a state may hold: the callee answers, the workflow cannot pass the answer on.
TOO_LARGE = json.dumps({"blob": "x" * 300_000}).encode()

THIS_BREAKER, BEFORE = "this breaker", "before issue 9"
LOG_LEVELS = ("ALL", "ERROR", "FATAL", "OFF")


@dataclass(frozen=True)
class Workflow:
    """A deployed circuit-breaker workflow and what its paths need to know of it."""

    name: str
    client: CircuitBreakerClient
    definition: Path
    failure_threshold: int
    retry_wait_state: str
    """Where an execution waits between attempts: a Wait state now, ``Call callee``'s Retry before."""
    state_machine_arn: str | None = None
    """Set for the workflow whose log bytes are measured at every log level."""


@dataclass(frozen=True)
class PathCase:
    name: str
    callee: str
    payload: dict
    prepare: Callable[[Breaker, Workflow], None]
    expect: str
    """How the path ends on this breaker (checked on every run)."""
    during: Callable[[Breaker, Workflow], None] | None = None
    """Done while the execution is held at its first retry wait (:meth:`EngineClock.gate`)."""


def _nothing(_: Breaker, __: Workflow) -> None:
    pass


def _open(b: Breaker, _: Workflow) -> None:
    until = int(b.now()) + 300
    b.put_item("flaky", CircuitStatus="OPEN", OpenUntil=until, ExpiryTimeStamp=until + 300, ConsecutiveOpens=1)


def _isolated(b: Breaker, _: Workflow) -> None:
    b.put_item("flaky", CircuitStatus="ISOLATED", Reason="maintenance (benchmark)", IsolatedBy="ops")


def _break_over(b: Breaker, _: Workflow) -> None:
    ended = int(b.now()) - 1
    b.put_item("flaky", CircuitStatus="OPEN", OpenUntil=ended, ExpiryTimeStamp=ended + 300, ConsecutiveOpens=1)


def _one_below_threshold(b: Breaker, workflow: Workflow) -> None:
    live = int(b.now()) + 60
    b.put_item("flaky", CircuitStatus="CLOSED", Failures=workflow.failure_threshold - 1, WindowEndsAt=live, ExpiryTimeStamp=live)


def _clear(b: Breaker, _: Workflow) -> None:
    b.clear()


def _store_down(b: Breaker, _: Workflow) -> None:
    b.engine.faults.clear()
    b.engine.faults.inject("dynamodb", "GetItem", "ProvisionedThroughputExceededException")


def _fails_once(b: Breaker, _: Workflow) -> None:
    b.clear()
    failure = json.dumps({"errorMessage": "failed once (benchmark)", "errorType": "TransientError"}).encode()
    b.engine.runtime.script(b.engine.function_name("Echo"), failure, "Unhandled", times=1)


def _answer_too_large(b: Breaker, _: Workflow) -> None:
    b.clear()
    b.engine.runtime.script(b.engine.function_name("Echo"), TOO_LARGE, None, times=4)


CASES = [
    PathCase("healthy (no item)", "echo", {"order": 42}, _nothing, SUCCEEDED),
    PathCase("failed once, then answered", "echo", {"order": 42}, _fails_once, SUCCEEDED),
    PathCase("fast fail (open)", "flaky", {"fail": False}, _open, "CircuitBreaker.CircuitOpen"),
    PathCase("isolated", "flaky", {"fail": False}, _isolated, "CircuitBreaker.CircuitIsolated"),
    PathCase("callee failure, 4 attempts", "flaky", {"fail": True}, _clear, "CircuitBreaker.CalleeFailed"),
    PathCase("failure that opens", "flaky", {"fail": True}, _one_below_threshold, "CircuitBreaker.CalleeFailed"),
    PathCase("retry stopped: opened during backoff", "flaky", {"fail": True}, _clear, "CircuitBreaker.CircuitOpen", during=_open),
    PathCase("ignored error (answer)", "payment", {"fail": True, "error": "CardDeclined"}, _clear, "CircuitBreaker.CalleeFailed"),
    PathCase("probe closes", "flaky", {"fail": False}, _break_over, SUCCEEDED),
    PathCase("probe reopens", "flaky", {"fail": True}, _break_over, "CircuitBreaker.CalleeFailed"),
    PathCase("table unreadable, fail open", "echo", {"order": 42}, _store_down, SUCCEEDED),
    PathCase("table unreadable, fail closed", "echo-closed", {"order": 42}, _store_down, "CircuitBreaker.StoreUnavailable"),
    PathCase("answer too large", "echo", {"order": 42}, _answer_too_large, "CircuitBreaker.CalleeFailed"),
]


def _event_entries(definition: Path) -> dict[str, int]:
    return {
        name: len(state["Arguments"]["Entries"])
        for name, state in json.loads(definition.read_text())["States"].items()
        if state.get("Resource") == "arn:aws:states:::events:putEvents"
    }


def _reads(path: ExecutionPath) -> int:
    return sum(v.attempts for v in path.visits if v.kind == "dynamodb:getItem")


def _writes(path: ExecutionPath) -> int:
    return sum(v.attempts for v in path.visits if v.kind.startswith("dynamodb:") and v.kind != "dynamodb:getItem")


def _retries(path: ExecutionPath) -> int:
    return sum(max(0, v.attempts - 1) for v in path.visits)


def _log_records(breaker: Breaker, execution_arn: str, since_ms: int) -> list[str]:
    logs = breaker.engine.session().client("logs")
    events = logs.filter_log_events(logGroupName=breaker.engine.deployment().log_group_name, startTime=since_ms)["events"]
    return [e["message"] for e in events if json.loads(e["message"]).get("execution_arn") == execution_arn]


def _engine_ms(path: ExecutionPath) -> float:
    visits = path.visits
    return (visits[-1].exited - visits[0].entered).total_seconds() * 1000 if visits and visits[-1].exited else float("nan")


def _callee_invocations(breaker: Breaker) -> int:
    return breaker.invocations("Flaky") + breaker.invocations("Echo")


def _held_call(breaker: Breaker, workflow: Workflow, case: PathCase) -> Call:
    """Call, hold the execution at its first retry wait, change the circuit (``case.during``), let it go on."""
    gate = breaker.engine.clock.gate(workflow.retry_wait_state)
    answer: list[Call] = []
    caller = threading.Thread(target=lambda: answer.append(timed_call(workflow.client, case.callee, case.payload)))
    caller.start()
    if not gate.reached.wait(30):
        raise AssertionError(f"{workflow.name}: no execution reached {workflow.retry_wait_state!r}")
    assert case.during is not None
    case.during(breaker, workflow)
    gate.release()
    caller.join(60)
    return answer[0]


def _units(breaker: Breaker, before: dict, direction: str) -> float:
    """Units of ``direction`` the circuit table served since ``before`` (an :meth:`ItemThroughput.served` snapshot)."""
    table = breaker.table
    after = breaker.engine.throughput.served()
    return round(sum(v - before.get(k, 0.0) for k, v in after.items() if k[0] == table and k[2] == direction), 3)


def _set_log_level(breaker: Breaker, arn: str, level: str) -> None:
    sfn = breaker.sfn
    logging = sfn.describe_state_machine(stateMachineArn=arn)["loggingConfiguration"]
    sfn.update_state_machine(stateMachineArn=arn, loggingConfiguration={**logging, "level": level})


def _log_bytes_by_level(breaker: Breaker, workflow: Workflow, case: PathCase, at_all: int) -> dict[str, int]:
    """What one execution of the path writes to its log group at each level (ALL was measured with the runs)."""
    assert workflow.state_machine_arn is not None
    found = {"ALL": at_all}
    try:
        for level in LOG_LEVELS[1:]:
            _set_log_level(breaker, workflow.state_machine_arn, level)
            case.prepare(breaker, workflow)
            since_ms = int(time.time() * 1000) - 1
            call = _held_call(breaker, workflow, case) if case.during else timed_call(workflow.client, case.callee, case.payload)
            breaker.engine.faults.clear()
            breaker.engine.runtime.clear_scripts()
            assert call.outcome == case.expect, (case.name, level, call.outcome)
            found[level] = sum(len(r.encode()) for r in _log_records(breaker, call.execution_arn, since_ms))
    finally:
        _set_log_level(breaker, workflow.state_machine_arn, "ALL")
    return found


def _one(values: set, case: str, what: str) -> int:
    """The single value every run of a path gave (paths are deterministic in their counts)."""
    if len(values) != 1:
        raise AssertionError(f"{case}: {what} differed between runs: {sorted(values)}")
    return next(iter(values))


def _measure(breaker: Breaker, workflow: Workflow, check: bool) -> dict[str, dict]:
    entries = _event_entries(workflow.definition)
    figures = {}
    for case in CASES:
        breaker.clear()
        timed_call(workflow.client, "echo", {"warm": True})  # handler modules loaded, clients built
        outcomes, transitions, reads, writes, lambdas, events = set(), set(), set(), set(), set(), set()
        read_units, write_units = set(), set()
        engine_ms, call_ms, waits = [], [], []
        log_bytes = log_records = 0
        for run in range(RUNS):
            case.prepare(breaker, workflow)
            before = _callee_invocations(breaker)
            served = breaker.engine.throughput.served()
            since_ms = int(time.time() * 1000) - 1
            call = _held_call(breaker, workflow, case) if case.during else timed_call(workflow.client, case.callee, case.payload)
            lambdas.add(_callee_invocations(breaker) - before)
            read_units.add(_units(breaker, served, "read"))
            write_units.add(_units(breaker, served, "write"))
            breaker.engine.faults.clear()
            breaker.engine.runtime.clear_scripts()
            if check:
                assert call.outcome == case.expect, (workflow.name, case.name, call.outcome, call.cause)
            path = fetch_path(breaker.sfn, call.execution_arn)
            outcomes.add(call.outcome)
            transitions.add(path.transitions)
            reads.add(_reads(path))
            writes.add(_writes(path))
            events.add(sum(entries.get(v.name, 0) for v in path.visits if v.kind.startswith("events:") and not v.errors))
            engine_ms.append(_engine_ms(path))
            call_ms.append(call.seconds * 1000)
            waits.append(sum(w["seconds"] for w in breaker.engine.clock.waits(call.execution_arn, kind=None)))
            if run == 0:
                records = _log_records(breaker, call.execution_arn, since_ms)
                log_bytes, log_records = sum(len(r.encode()) for r in records), len(records)
        by_level = _log_bytes_by_level(breaker, workflow, case, log_bytes) if workflow.state_machine_arn else {"ALL": log_bytes}
        breaker.clear()
        figures[case.name] = {
            "outcome": _one(outcomes, case.name, "the outcome"),
            "transitions": _one(transitions, case.name, "transitions"),
            "reads": _one(reads, case.name, "reads"),
            "writes": _one(writes, case.name, "writes"),
            "read_units": _one(read_units, case.name, "read units"),
            "write_units": _one(write_units, case.name, "write units"),
            "callee_invocations": _one(lambdas, case.name, "invocations"),
            "events": _one(events, case.name, "events"),
            "log_bytes": log_bytes,
            "log_records": log_records,
            "log_bytes_by_level": by_level,
            "backoff_seconds": round(statistics.mean(waits), 3),
            "engine_ms_p50": round(statistics.median(engine_ms), 1),
            "engine_ms_p95": round(percentile(engine_ms, 0.95), 1),
            "call_ms_p50": round(statistics.median(call_ms), 1),
            "call_ms_p95": round(percentile(call_ms, 0.95), 1),
        }
        print(f"{workflow.name:15} {case.name:38} {figures[case.name]}")
    return figures


def _measure_reference(breaker: Breaker) -> dict[str, dict]:
    """The reference sample's paths, for the cost model (a Standard workflow bills retries as transitions)."""
    client = workflow_client(breaker.engine.connection(), deploy_reference(breaker, function_arn(breaker, "Flaky")))
    figures = {}
    for name, payload in (("healthy", {"fail": False}), ("callee failure", {"fail": True}), ("fast fail (open)", {"fail": False})):
        before = breaker.invocations("Flaky")
        call = timed_call(client, "flaky", payload)
        path = fetch_path(breaker.sfn, call.execution_arn)
        failed = any(v.name == "Update Circuit Status" for v in path.visits)
        figures[name] = {
            "outcome": call.outcome,
            "reads": 0.5 * _reads(path),  # eventually consistent, as the sample's Query
            "writes": _writes(path),
            "callee_invocations": breaker.invocations("Flaky") - before,
            "status_lambdas": 1 + (1 if failed else 0),  # GetCircuitStatus on every call, UpdateCircuitStatus on failures
            "transitions": path.transitions + _retries(path),
            "backoff_seconds": round(sum(w["seconds"] for w in breaker.engine.clock.waits(call.execution_arn, kind=None)), 3),
        }
    return figures


def _table(figures: dict[str, dict]) -> list[str]:
    lines = [
        "| path | ends in | state transitions | DynamoDB reads | DynamoDB writes | Lambda invocations | events | log KB "
        "| waits s (mean) | engine ms p50 | engine ms p95 | call ms p50 | call ms p95 |",
        "|" + "---|" * 13,
    ]
    for name, f in figures.items():
        lines.append(
            f"| {name} | {f['outcome'].removeprefix('CircuitBreaker.')} | {f['transitions']} | {f['reads']} | {f['writes']} "
            f"| {f['callee_invocations']} | {f['events']} | {f['log_bytes'] / 1024:.1f} | {f['backoff_seconds']:.2f} "
            f"| {f['engine_ms_p50']:.0f} | {f['engine_ms_p95']:.0f} | {f['call_ms_p50']:.0f} | {f['call_ms_p95']:.0f} |"
        )
    return lines


def _levels_table(figures: dict[str, dict]) -> list[str]:
    lines = ["| path | read units | write units | " + " | ".join(f"log KB at {level}" for level in LOG_LEVELS) + " |", "|" + "---|" * (3 + len(LOG_LEVELS))]
    for name, f in figures.items():
        by_level = f["log_bytes_by_level"]
        lines.append(
            f"| {name} | {f['read_units']:g} | {f['write_units']:g} | " + " | ".join(f"{by_level[level] / 1024:.1f}" for level in LOG_LEVELS) + " |"
        )
    return lines


def _comparison(now: dict[str, dict], before: dict[str, dict]) -> list[str]:
    lines = [
        "| path | ends in (before → now) | Lambda invocations | state transitions | DynamoDB writes | waits s (mean) | call ms p50 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, new in now.items():
        old = before[name]
        ends = old["outcome"].removeprefix("CircuitBreaker.") + " → " + new["outcome"].removeprefix("CircuitBreaker.")
        lines.append(
            f"| {name} | {ends} | {old['callee_invocations']} → {new['callee_invocations']} | {old['transitions']} → {new['transitions']} "
            f"| {old['writes']} → {new['writes']} | {old['backoff_seconds']:.2f} → {new['backoff_seconds']:.2f} "
            f"| {old['call_ms_p50']:.0f} → {new['call_ms_p50']:.0f} |"
        )
    return lines


@pytest.mark.benchmark
def test_path_costs(breaker: Breaker) -> None:
    connection = breaker.engine.connection()
    deployment = breaker.engine.deployment()
    now = Workflow(
        THIS_BREAKER, workflow_client(connection, deployment), DEFINITION, CalleeSettings.failure_threshold, "Back off",
        state_machine_arn=deployment.state_machine_arn,
    )
    before = Workflow(BEFORE, workflow_client(connection, deploy_previous(breaker)), PREVIOUS_ASL, PREVIOUS_FAILURE_THRESHOLD, "Call callee")
    load_before = machine_load()
    figures = {THIS_BREAKER: _measure(breaker, now, check=True), BEFORE: _measure(breaker, before, check=False)}
    load_after = machine_load()
    healthy = figures[THIS_BREAKER]["healthy (no item)"]
    assert (healthy["transitions"], healthy["reads"], healthy["callee_invocations"], healthy["writes"]) == (4, 1, 1, 0)
    assert (healthy["read_units"], healthy["write_units"]) == (1.0, 0.0)  # one strongly consistent read of a missing item
    assert healthy["log_bytes_by_level"]["ERROR"] == healthy["log_bytes_by_level"]["OFF"] == 0
    figures["reference sample"] = _measure_reference(breaker)
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps({"runs_per_path": RUNS, **figures}, indent=2) + "\n")
    Work.from_figures(healthy)  # the cost model reads these figures

    write_section(
        "path-costs",
        f"""## Path costs

`make bench` (or `pytest -m benchmark -o addopts="" benchmarks/test_path_costs.py -s`), {RUNS} executions per path
on the local engine, {platform.machine()} with {os.cpu_count()} cores shared with other work (load average
{load_before} before, {load_after} after), Python {platform.python_version()}. Callers call as the client does
(`StartSyncExecution`). *State transitions* counts states entered; *DynamoDB reads/writes* count every request
the workflow made, retries included; *events* are transition events published; *log KB* is what one execution
writes to its log group at level ALL; *waits* is the time an execution spends in `Back off` (and in `Retry`
backoff) on AWS, the mean of the runs: the engine recorded the waits without sleeping them, so *engine ms*
(first to last history event) and *call ms* (what the caller waited) exclude them.

### This breaker

{chr(10).join(_table(figures[THIS_BREAKER]))}

The healthy path makes one DynamoDB read and one Lambda call in 4 transitions and writes nothing; a fast fail
(open or isolated) calls no Lambda. A counted failure costs per attempt one invocation, one write (`Count failure`)
and, before the next attempt, one read (`Get circuit` after `Back off`): 4 attempts are 4 invocations, 4 writes and
3 more reads. When another execution opens the circuit during the backoff the execution
stops at the next read with `CircuitOpen`, after one invocation. An ignored error (`CardDeclined` for `payment`) and
an answer too large for a state are answers: one invocation, no write, no wait. A probe writes twice (lease, then
close or reopen) and publishes its two transitions in one call. A callee's failure ends through `Describe failure`
and `Fall back?` (2 transitions; a callee with a fallback answers from it there).

### Capacity units and log bytes per log level

*read units* and *write units* are what the engine's DynamoDB counted for the path as DynamoDB counts them (a
strongly consistent read of an item up to 4 KB is 1 unit, a write up to 1 KB is 1 unit, a failed conditional
write still costs its unit); *log KB* is what one execution of the path wrote at each log level
(`log_level` in `cdk.json` or `CircuitBreakerProps`).

{chr(10).join(_levels_table(figures[THIS_BREAKER]))}

At `ERROR` a successful call writes nothing; a failed call keeps its failed tasks (each failed attempt, each
refused table request) and the execution's failure. At `FATAL` only a failed execution's last record remains.

### Before issue 9, same run

The workflow before issue 9 (`benchmarks/previous_workflow.asl.json`: native `Retry` on `Call callee`, one count
per call after its retries, threshold 3), deployed beside this one on the same engine and measured the same way.

{chr(10).join(_table(figures[BEFORE]))}

### What changed

{chr(10).join(_comparison(figures[THIS_BREAKER], figures[BEFORE]))}

Machine-readable figures of both and of the reference sample: [`path-costs.json`](path-costs.json).
""",
    )
