"""``breaker``: call callees through the circuit breaker, run the demo, serve the local engine.

Every command talks to AWS by default, or to a local engine with ``--local`` (``breaker local up``
serves one) or ``--endpoint-url`` / ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from circuit_breaker.circuits import CircuitError, Circuits, CircuitView
from circuit_breaker.client import CircuitBreakerClient
from circuit_breaker.deployment import DEFAULT_LOCAL_PORT, DEFAULT_STACK_NAME, Connection, Deployment, DeploymentNotFoundError
from circuit_breaker.errors import BreakerError
from circuit_breaker.executions import (
    STATUSES,
    ExecutionQueryError,
    ExecutionSource,
    HistoryExecutions,
    LogExecutions,
    check_execution_arn,
    parse_since,
)

app = typer.Typer(
    help="Call Lambda callees through the serverless circuit breaker, on AWS or on the embedded local engine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
local_app = typer.Typer(help="The embedded local engine (no AWS account needed).", no_args_is_help=True)
app.add_typer(local_app, name="local")

out = Console()
err = Console(stderr=True)


@dataclass
class Options:
    local: bool
    endpoint_url: str | None
    stack: str
    region: str | None

    def connection(self) -> Connection:
        return Connection.create(local=self.local, endpoint_url=self.endpoint_url, region=self.region)

    def deployment(self, connection: Connection) -> Deployment:
        try:
            return Deployment.discover(connection, self.stack)
        except DeploymentNotFoundError as error:
            raise fail(str(error)) from None

    def circuits(self) -> Circuits:
        connection = self.connection()
        return Circuits(connection, self.deployment(connection))


def fail(message: str, hint: str | None = None, code: int = 2) -> typer.Exit:
    """Print an error (and what to do about it) to stderr; return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}")
    if hint:
        err.print(f"[dim]{hint}[/]")
    return typer.Exit(code)


@app.callback()
def main_options(
    ctx: typer.Context,
    local: Annotated[bool, typer.Option("--local", help=f"Use the local engine at http://127.0.0.1:{DEFAULT_LOCAL_PORT} (see `breaker local up`).")] = False,
    endpoint_url: Annotated[Optional[str], typer.Option("--endpoint-url", help="Send AWS calls to this endpoint (a local engine); AWS_ENDPOINT_URL works too.")] = None,
    stack: Annotated[str, typer.Option("--stack", help="Name of the deployed circuit-breaker stack.")] = DEFAULT_STACK_NAME,
    region: Annotated[Optional[str], typer.Option("--region", help="AWS region (default: your AWS configuration).")] = None,
) -> None:
    if endpoint_url is not None and not endpoint_url.startswith(("http://", "https://")):
        raise fail(f"--endpoint-url must be an http(s) URL, got {endpoint_url!r}", "for example: --endpoint-url http://127.0.0.1:4566")
    ctx.obj = Options(local=local, endpoint_url=endpoint_url, stack=stack, region=region)


def parse_payload(text: str | None) -> Any:
    """``--payload``: inline JSON, or ``@path`` to read JSON from a file."""
    if text is None:
        return None
    source = "--payload"
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text()
        except OSError as error:
            raise fail(f"cannot read the payload file {path}: {error.strerror or error}") from None
        source = str(path)
    try:
        return json.loads(text)
    except ValueError as error:
        raise fail(f"{source} is not valid JSON: {error}", "pass JSON such as --payload '{\"fail\": true}', or @file.json") from None


def print_failure(error: BreakerError, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"error": error.error, "cause": error.cause, "executionArn": error.execution_arn}, indent=2))
        return
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    if isinstance(error.cause, dict):
        for key, value in error.cause.items():
            table.add_row(key, value if isinstance(value, str) else json.dumps(value))
    else:
        table.add_row("cause", str(error.cause))
    err.print(Panel(table, title=f"[bold red]{error.error}[/]", expand=False))
    err.print(error.describe(), soft_wrap=True)
    if error.execution_arn:
        err.print(f"[dim]execution {error.execution_arn}[/]", soft_wrap=True)


@app.command()
def call(
    ctx: typer.Context,
    callee: Annotated[str, typer.Argument(help="Registered callee name, e.g. echo or flaky.")],
    payload: Annotated[Optional[str], typer.Option("--payload", "-p", help="The callee's event: JSON, or @file.json.")] = None,
    depth: Annotated[Optional[int], typer.Option("--depth", min=0, help="Call-chain depth (when calling from a callee).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result (or the error) as JSON only.")] = False,
) -> None:
    """Call CALLEE through the circuit breaker and print its answer (exit 1 when the call fails)."""
    if not callee.strip():
        raise fail("the callee name is empty", "name a registered callee, e.g. `breaker call echo`")
    options: Options = ctx.obj
    event = parse_payload(payload)
    connection = options.connection()
    client = CircuitBreakerClient(connection, options.deployment(connection))
    try:
        result = client.call(callee, event, depth)
    except BreakerError as error:
        print_failure(error, as_json)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(result.output, indent=None if as_json else 2))
    if not as_json:
        err.print(f"[dim]execution {result.execution_arn}[/]", soft_wrap=True)


def _time(epoch: float | None) -> str:
    return "" if epoch is None else time.strftime("%H:%M:%S", time.localtime(epoch))


def _status_row(view: CircuitView, now: float) -> list[str]:
    left = view.seconds_open(now)
    if view.state == "ISOLATED":
        left_text = "until reset" if left is None else f"{left} s"
    else:
        left_text = "" if left is None else (f"{left} s" if left else "break over: next call probes")
    failures = "" if view.failures is None else f"{view.failures} (window ends {_time(view.window_ends_at)})"
    detail = view.reason and f"{view.reason} (by {view.isolated_by})" or (view.last_error or "")
    state = view.state + ("" if view.registered else " (not registered)")
    return [view.callee, state, failures, left_text, detail[:80], (view.last_execution or "").rsplit(":", 1)[-1]]


@app.command()
def status(
    ctx: typer.Context,
    callee: Annotated[Optional[str], typer.Argument(help="One callee; all of them when left out.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show every circuit (or one): state, failures in the window, time left open, last error, last execution."""
    options: Options = ctx.obj
    circuits = options.circuits()
    try:
        views = [circuits.get(callee)] if callee else circuits.all()
    except CircuitError as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps([v.as_dict() for v in views], indent=2))
        return
    now = time.time()
    table = Table(title=f"Circuits of {options.stack}")
    for column in ("callee", "state", "failures", "open for", "reason / last error", "last execution"):
        table.add_column(column, overflow="fold")
    for view in views:
        table.add_row(*_status_row(view, now))
    out.print(table)


@app.command()
def isolate(
    ctx: typer.Context,
    callee: Annotated[str, typer.Argument(help="The callee whose circuit to hold open.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with your identity, shown to callers).")],
    for_seconds: Annotated[Optional[int], typer.Option("--for", help="Seconds until the isolation ends by itself; until reset when left out.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Hold a circuit open: calls fail with CircuitBreaker.CircuitIsolated until reset (or --for ends)."""
    if for_seconds is not None and for_seconds < 1:
        raise fail(f"--for must be a positive number of seconds, got {for_seconds}", "leave --for out to isolate until `breaker reset`")
    circuits = ctx.obj.circuits()
    try:
        view = circuits.isolate(callee, reason, for_seconds)
    except CircuitError as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps(view.as_dict(), indent=2))
        return
    until = "until reset" if view.expires_at is None else f"until {_time(view.expires_at)}"
    out.print(f"[bold]{callee}[/] isolated {until} by {view.isolated_by}: {view.reason}")


@app.command()
def reset(
    ctx: typer.Context,
    callee: Annotated[str, typer.Argument(help="The callee whose circuit to close.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Close a circuit and clear its counters (ends an isolation, an open circuit, or a probe)."""
    circuits = ctx.obj.circuits()
    try:
        view, changed = circuits.reset(callee)
    except CircuitError as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps({**view.as_dict(), "changed": changed}, indent=2))
        return
    out.print(f"[bold]{callee}[/] " + ("closed, counters cleared" if changed else "was already closed with no failures: nothing to do"))


def _executions(ctx: typer.Context, since: str) -> tuple[ExecutionSource, datetime]:
    """Where to read executions from (the engine's history, or the log group on AWS), and since when."""
    try:
        moment = parse_since(since)
    except ExecutionQueryError as error:
        raise fail(str(error)) from None
    options: Options = ctx.obj
    connection = options.connection()
    deployment = options.deployment(connection)
    if connection.local:
        return HistoryExecutions(connection.client("stepfunctions"), deployment.state_machine_arn), moment
    if not deployment.log_group_name:
        raise fail(f"stack {options.stack} publishes no ExecutionLogGroupName output: its executions cannot be found")
    return LogExecutions(connection.client("logs"), deployment.log_group_name), moment


@app.command()
def executions(
    ctx: typer.Context,
    status_filter: Annotated[Optional[str], typer.Option("--status", help=f"Only executions with this status ({', '.join(STATUSES)}).")] = None,
    since: Annotated[str, typer.Option("--since", help="How far back: 30s, 15m, 2h, 7d.")] = "15m",
    callee: Annotated[Optional[str], typer.Option("--callee", help="Only calls to this callee.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most this many (newest first).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List recent executions: status, callee, error, duration (on AWS, from the execution log group)."""
    if status_filter is not None and status_filter.upper() not in STATUSES:
        raise fail(f"--status must be one of {', '.join(STATUSES)}, got {status_filter!r}")
    source, moment = _executions(ctx, since)
    found = source.list(moment, status_filter.upper() if status_filter else None, callee)[:limit]
    if as_json:
        typer.echo(json.dumps([s.as_dict() for s in found], indent=2))
        return
    table = Table(title=f"Executions since {moment.astimezone():%H:%M:%S} ({len(found)})")
    for column in ("started", "callee", "status", "error", "ms", "execution"):
        table.add_column(column, overflow="fold")
    for summary in found:
        duration = summary.duration_ms
        table.add_row(
            f"{summary.started.astimezone():%H:%M:%S}" if summary.started else "?",
            summary.callee or "?",
            summary.status,
            summary.error or "",
            "" if duration is None else f"{duration:.0f}",
            summary.execution_arn,
        )
    out.print(table)


@app.command()
def history(
    ctx: typer.Context,
    execution_arn: Annotated[str, typer.Argument(help="The execution (as `breaker executions` lists it).")],
    since: Annotated[str, typer.Option("--since", help="How far back to look for its records (AWS): 30s, 15m, 2h, 7d.")] = "1d",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one execution's path: each state entered, its attempts, errors and timings."""
    try:
        check_execution_arn(execution_arn)
    except ExecutionQueryError as error:
        raise fail(str(error)) from None
    source, moment = _executions(ctx, since)
    try:
        path = source.path(execution_arn, moment)
    except ExecutionQueryError as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps({
            "status": path.status, "error": path.error, "cause": path.cause,
            "states": [{"name": v.name, "kind": v.kind, "attempts": v.attempts, "errors": v.errors, "ms": v.duration_ms} for v in path.visits],
        }, indent=2))
        return
    table = Table(title=f"{path.status}: {execution_arn.rsplit(':', 1)[-1]}")
    for column in ("#", "state", "kind", "attempts", "errors", "ms"):
        table.add_column(column, overflow="fold")
    for number, visit in enumerate(path.visits, start=1):
        duration = visit.duration_ms
        table.add_row(str(number), visit.name, visit.kind, str(visit.attempts or ""), ", ".join(visit.errors), "" if duration is None else f"{duration:.0f}")
    out.print(table)
    if path.error:
        err.print(f"[red]{path.error}[/]: {path.cause}", soft_wrap=True)


@app.command()
def demo(
    break_seconds: Annotated[int, typer.Option("--break-seconds", min=1, max=60, help="How long the demo's circuit stays open.")] = 3,
    project: Annotated[Path, typer.Option("--project", help="The CDK project to synthesize.")] = Path("."),
) -> None:
    """Run a narrated scenario on the embedded engine: healthy call, failures, open circuit, probe, closed."""
    from circuit_breaker.demo import run_demo
    from circuit_breaker.local.deployer import AssemblyError

    try:
        run_demo(project.resolve(), break_seconds=break_seconds, console=out)
    except AssemblyError as error:
        raise fail(str(error)) from None


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


@local_app.command("up")
def local_up(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve on.")] = DEFAULT_LOCAL_PORT,
    host: Annotated[str, typer.Option("--host", help="Address to serve on (keep it on loopback).")] = "127.0.0.1",
    project: Annotated[Path, typer.Option("--project", help="The CDK project to synthesize and deploy.")] = Path("."),
    assembly: Annotated[Optional[Path], typer.Option("--assembly", help="Deploy this synthesized cloud assembly (cdk.out) instead of synthesizing.")] = None,
    stack: Annotated[str, typer.Option("--stack", help="Stack of the assembly to deploy.")] = DEFAULT_STACK_NAME,
) -> None:
    """Synthesize the app, deploy it on the local engine and serve it until Ctrl-C."""
    from circuit_breaker.local.deployer import AssemblyError
    from circuit_breaker.local.engine import EngineConfig, LocalEngine

    if not _port_free(host, port):
        raise fail(f"{host}:{port} is already in use", "is another `breaker local up` running? choose another --port")
    try:
        if assembly is not None:
            engine = LocalEngine(assembly, EngineConfig(stack_name=stack))
        else:
            err.print(f"synthesizing {project.resolve()} ...")
            engine = LocalEngine.from_project(project.resolve(), EngineConfig(stack_name=stack))
        engine.start()
    except AssemblyError as error:
        raise fail(str(error)) from None
    endpoint = engine.serve(host, port)
    out.print(f"[bold green]local engine ready[/] at {endpoint} (stack {stack})")
    for key, value in engine.outputs.items():
        out.print(f"  {key}: {value}")
    out.print(f"\nUse it with [bold]breaker --local call echo --payload '{{\"hello\": 1}}'[/] or export AWS_ENDPOINT_URL={endpoint}")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        engine.stop()
        err.print("local engine stopped")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
