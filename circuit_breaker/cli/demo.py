"""``breaker demo``: the circuit breaker's life cycle, narrated, on the embedded local engine.

One process synthesizes the CDK app (with a short break for ``flaky``), deploys it on the local
engine and walks through: a healthy call; ``flaky`` failing with retries until its circuit opens;
calls failing fast while it is open (``flaky`` is not called); the break ending, one half-open
probe, and the circuit closing; then an operator isolating a circuit and resetting it. Each step
shows the states the execution went through and the circuit's item in the table; at the end, the
transition events the breaker published. Retries wait as they would on AWS (with full jitter).
"""

from __future__ import annotations

import copy
import json
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Union

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from circuit_breaker.operate.circuits import Circuits
from circuit_breaker.client.calls import CircuitBreakerClient
from circuit_breaker.core.errors import BreakerError, CalleeFailedError
from circuit_breaker.operate.history import ExecutionPath, fetch_path
from circuit_breaker.local.deployer import project_context, synthesize
from circuit_breaker.local.engine import EngineConfig, LocalEngine
from circuit_breaker.local.event_capture import EventCapture
from circuit_breaker.core.settings import CalleeSettings

CONTEXT_KEY = "circuit_breaker"

#: A step's title, or how to word it from what the call did: (its error or None, how often flaky ran).
Title = Union[str, Callable[[Union[BreakerError, None], int], str]]


def demo_context(project_dir: Path, break_seconds: int) -> dict[str, Any]:
    """The project's breaker configuration with a short break for ``flaky``, so the demo is quick."""
    block = copy.deepcopy(project_context(project_dir).get(CONTEXT_KEY, {}))
    callees = block.setdefault("callees", {})
    flaky = callees.setdefault("flaky", {})
    flaky["break_seconds"] = break_seconds
    flaky["max_break_seconds"] = max(flaky.get("max_break_seconds", 300), break_seconds)
    return {CONTEXT_KEY: block}


class Narrator:
    """Runs the demo's calls and shows what each one did."""

    def __init__(self, engine: LocalEngine, console: Console) -> None:
        self.engine = engine
        self.console = console
        # Every narrated call shows its execution: no answer from the client's open-circuit cache.
        self.client = CircuitBreakerClient(engine.connection(), engine.deployment(), open_circuit_cache=False)
        self.sfn = engine.session().client("stepfunctions")
        self.dynamodb = engine.session().client("dynamodb")
        self.flaky_function = engine.function_name("Flaky")
        self.rows: list[tuple[str, str, str, str]] = []
        self.last_flaky_calls = 0
        """How often the last narrated call invoked flaky."""
        self.events = EventCapture(engine, "demo-transitions")

    def item(self, callee: str) -> dict[str, Any] | None:
        response = self.dynamodb.get_item(
            TableName=self.engine.deployment().table_name, Key={"ServiceName": {"S": callee}}, ConsistentRead=True
        )
        item = response.get("Item")
        if item is None:
            return None
        return {k: next(iter(v.values())) for k, v in sorted(item.items()) if k not in ("LastExecutionArn", "LastError")}

    def call(self, step: Title, callee: str, payload: Any, label: str) -> BreakerError | None:
        before = self.engine.runtime.invocations(self.flaky_function)
        started = time.monotonic()
        outcome: BreakerError | None = None
        try:
            result = self.client.call(callee, payload)
            arn, text = result.execution_arn, f"[green]succeeded[/]: {escape(json.dumps(result.output))}"
        except BreakerError as error:
            outcome, arn = error, error.execution_arn or ""
            text = f"[red]{escape(error.error)}[/]: {escape(error.describe())}"
        elapsed = time.monotonic() - started
        path = fetch_path(self.sfn, arn)
        flaky_calls = self.engine.runtime.invocations(self.flaky_function) - before
        self.last_flaky_calls = flaky_calls
        if callable(step):
            step = step(outcome, flaky_calls)
        self.show(step, callee, payload, text, path, elapsed, flaky_calls, arn)
        self.rows.append((label, outcome.error if outcome else "succeeded", str(path.transitions), str(flaky_calls)))
        return outcome

    def show(self, step: str, callee: str, payload: Any, text: str, path: ExecutionPath, elapsed: float, flaky_calls: int, arn: str) -> None:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row("call", f"{callee} {json.dumps(payload)}")
        grid.add_row("result", text)
        grid.add_row("path", path.summary())
        waits = self.engine.clock.waits(arn, kind="wait")
        if waits:
            grid.add_row("backoff", ", ".join(f"{w['seconds']} s" for w in waits) + " (full jitter, then the circuit is read again)")
        grid.add_row("flaky invoked", f"{flaky_calls} time(s)")
        item = self.item(callee)
        grid.add_row("table item", json.dumps(item) if item else "none (circuit closed, no history)")
        grid.add_row("took", f"{elapsed * 1000:.0f} ms, {path.transitions} state transitions")
        self.console.print(Panel(grid, title=step, title_align="left", expand=True))


def run_demo(project_dir: Path, break_seconds: int = 3, console: Console | None = None) -> None:
    """Run the whole scenario; raises if the breaker does not behave as narrated."""
    console = console or Console()
    console.rule("[bold]Serverless circuit breaker: demo on the embedded local engine")
    with tempfile.TemporaryDirectory(prefix="breaker-demo-") as scratch:
        with console.status("synthesizing the CDK app and deploying it on the local engine..."):
            assembly = synthesize(project_dir, Path(scratch), demo_context(project_dir, break_seconds))
            engine = LocalEngine(assembly, EngineConfig(wait_scale=1.0))
            engine.start()
        try:
            _narrate(engine, project_dir, break_seconds, console)
        finally:
            engine.stop()


def failing_call_title(step: str, attempts: int, failures_before: int, threshold: int, opened: bool) -> str:
    """A failing call of flaky, titled by what it did: its attempts and retries, and whether it opened the circuit.

    Worded from what happened (the invocations the engine counted, the error's ``circuitOpened``), short
    enough for an 80-column terminal: a call that opens the circuit on its first attempt is not "retried".
    """
    failures = failures_before + attempts
    retries = f"{attempts - 1} {'retry' if attempts == 2 else 'retries'}"
    if opened:
        tried = "fails once" if attempts == 1 else f"fails {attempts} times ({retries})"
        return f"{step} flaky {tried}: failure {failures} of {threshold} opens the circuit" + (", no retry" if attempts == 1 else "")
    tried = "fails once, not retried" if attempts == 1 else f"fails {attempts} times, {retries} with backoff"
    return f"{step} flaky {tried}: {failures} of {threshold} failures"


def _narrate(engine: LocalEngine, project_dir: Path, break_seconds: int, console: Console) -> None:
    """The scenario itself, on a started engine."""
    narrator = Narrator(engine, console)
    # soft_wrap: the ARN is printed whole, whatever the terminal's width (a copy and paste must get all of it)
    console.print(Text.assemble("deployed: ", engine.deployment().state_machine_arn), soft_wrap=True)
    block = demo_context(project_dir, break_seconds)[CONTEXT_KEY]
    failures_to_open = int(
        block.get("callees", {}).get("flaky", {}).get("failure_threshold")
        or block.get("callee_defaults", {}).get("failure_threshold")
        or CalleeSettings().failure_threshold
    )

    narrator.call("1. A healthy call goes straight through", "echo", {"order": 42}, "healthy call")

    console.print(
        f"\n[bold]flaky now fails; every failed attempt counts, and after {failures_to_open} its circuit opens "
        "(a failed attempt is retried with backoff while the circuit stays closed, reading it again before every retry).[/]"
    )
    opened = False
    counted = 0
    for call in range(1, failures_to_open + 1):

        def title(error: BreakerError | None, attempts: int, step: str = f"2.{call}", before: int = counted) -> str:
            opens = isinstance(error, CalleeFailedError) and error.circuit_opened
            return failing_call_title(step, attempts, before, failures_to_open, opens)

        outcome = narrator.call(title, "flaky", {"fail": True}, f"failure {call}")
        counted += narrator.last_flaky_calls
        opened = isinstance(outcome, CalleeFailedError) and outcome.circuit_opened
        if opened:
            break
    if not opened:
        raise RuntimeError("the circuit did not open after the threshold of failures")

    outcome = narrator.call(
        "3. While the circuit is open, calls fail fast (flaky is not called)", "flaky", {"fail": False}, "fast fail"
    )
    if outcome is None or outcome.error != "CircuitBreaker.CircuitOpen":
        raise RuntimeError("the open circuit did not fail fast")
    retry_after = outcome.field("retryAfter") or 0

    wait = max(0.0, retry_after - time.time()) + 0.2
    with console.status(f"waiting {wait:.1f} s for the {break_seconds}-second break to end..."):
        time.sleep(wait)
    outcome = narrator.call(
        "4. The break is over: one half-open probe; it succeeds and closes the circuit", "flaky", {"fail": False}, "probe"
    )
    closed = narrator.item("flaky")
    if outcome is not None or (closed is not None and closed.get("CircuitStatus") != "CLOSED"):
        raise RuntimeError("the probe did not close the circuit")

    narrator.call("5. Closed again: flaky is called normally", "flaky", {"fail": False}, "closed again")

    circuits = Circuits(engine.connection(), engine.deployment())
    console.print("\n[bold]An operator isolates echo (breaker isolate echo --reason ...)[/]")
    circuits.isolate("echo", "maintenance of the payment provider")
    outcome = narrator.call("6. Isolated by an operator: calls fail fast with the reason", "echo", {"order": 43}, "isolated")
    if outcome is None or outcome.error != "CircuitBreaker.CircuitIsolated":
        raise RuntimeError("the isolated circuit did not fail fast")
    console.print("[bold]The operator resets it (breaker reset echo)[/]")
    circuits.reset("echo")
    narrator.call("7. Reset: echo answers again", "echo", {"order": 44}, "after reset")

    summary = Table(title="What happened", show_lines=False)
    for column in ("step", "outcome", "state transitions", "flaky invoked"):
        summary.add_column(column)
    for row in narrator.rows:
        summary.add_row(*row)
    console.print(summary)

    published = Table(title="Transition events published (EventBridge, source circuit-breaker)")
    for column in ("callee", "from → to", "reason", "by"):
        published.add_column(column)
    for event in narrator.events.drain():
        detail = event["detail"]
        by = detail.get("actor") or (detail.get("executionArn") or "").rsplit(":", 1)[-1][:8]
        published.add_row(detail["callee"], f"{detail['from']} → {detail['to']}", detail["reason"], by)
    console.print(published)
    console.rule("[bold green]demo complete: open → fast fail → probe → closed; isolate → reset")
