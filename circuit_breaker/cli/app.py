"""``breaker``: call callees through the circuit breaker, operate its circuits, run the demo, serve the local engine.

Every command talks to AWS by default (the usual profile, region and credentials; ``--profile``,
``--region``), or to a local engine with ``--local`` (following the port ``breaker local up``
chose) or ``--endpoint-url`` / ``AWS_ENDPOINT_URL``. The breaker is found by ``--stack``,
``--state-machine-arn``, or as the one tagged breaker in the region. Global options go before or
after the subcommand; ``--json`` gives machine-readable output (epoch seconds), and nothing printed
is ever wrapped when stdout is not a terminal.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Iterator, Optional

import typer
from rich.table import Table
from rich.text import Text

from circuit_breaker.operate.circuits import Circuits, CircuitView
from circuit_breaker.cli.group import BreakerGroup, fail
from circuit_breaker.client.calls import CircuitBreakerClient
from circuit_breaker.aws.connection import Connection, configured_region, explain
from circuit_breaker.aws.deployment import DEFAULT_STACK_NAME, Deployment
from circuit_breaker.core.errors import BreakerError, CalleeFailedError, CircuitIsolatedError, CircuitOpenError
from circuit_breaker.operate.executions import (
    STATUSES,
    ExecutionSource,
    HistoryExecutions,
    LogExecutions,
    check_execution_arn,
    parse_since,
)
from circuit_breaker.aws.local_state import DEFAULT_LOCAL_PORT, DEFAULT_LOCAL_REGION, LocalEndpoint
from circuit_breaker.core.record import CircuitRecord, CircuitState
from circuit_breaker.operate.redrive import RedriveAction, Outcome, RedriveError, RedriveInterrupted, RedriveReport, Redriver
from circuit_breaker.cli.render import clean, console, lambda_error, moment, progress, readable_error, styled
from circuit_breaker.core.settings import InvalidSettingsError, validate_callee_name
from circuit_breaker.core.registry import not_registered, without_circuit_keys

PACKAGE = "serverless-circuit-breaker"
#: How much of a long reason or error a table cell shows (``--json`` has all of it).
CELL_LIMIT = 100

app = typer.Typer(
    cls=BreakerGroup,
    help="Call Lambda callees through the serverless circuit breaker, and operate its circuits, on AWS or on the embedded local engine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
local_app = typer.Typer(help="The embedded local engine (no AWS account needed).", no_args_is_help=True)
app.add_typer(local_app, name="local")
health_app = typer.Typer(help="Scheduled health checks of callees.", no_args_is_help=True)
app.add_typer(health_app, name="health-check")


@dataclass
class Options:
    """The global options, and the connection and breaker they lead to (made once, when first needed)."""

    local: bool = False
    endpoint_url: str | None = None
    stack: str | None = None
    state_machine_arn: str | None = None
    region: str | None = None
    profile: str | None = None
    as_json: bool = False
    _connection: Connection | None = field(default=None, repr=False)
    _deployment: Deployment | None = field(default=None, repr=False)

    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = Connection.create(local=self.local, endpoint_url=self.endpoint_url, region=self.region, profile=self.profile)
        return self._connection

    def deployment(self) -> Deployment:
        if self._deployment is None:
            self._deployment = Deployment.discover(self.connection(), self.stack, self.state_machine_arn)
        return self._deployment

    def circuits(self) -> Circuits:
        return Circuits(self.connection(), self.deployment())

    def connection_if_made(self) -> Connection | None:
        """The connection, if the command got as far as making one (error messages name where it pointed)."""
        return self._connection


def _version(value: bool) -> None:
    if value:
        try:
            version = metadata.version(PACKAGE)
        except metadata.PackageNotFoundError:
            version = "unknown (not installed)"
        typer.echo(f"breaker {version} (Python {sys.version.split()[0]})")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    local: Annotated[bool, typer.Option("--local", help=f"Use the local engine that `breaker local up` serves (default port {DEFAULT_LOCAL_PORT}).")] = False,
    endpoint_url: Annotated[Optional[str], typer.Option("--endpoint-url", help="Send AWS calls to this endpoint (a local engine); AWS_ENDPOINT_URL works too.")] = None,
    stack: Annotated[Optional[str], typer.Option("--stack", help="The stack holding the breaker (by default: the one breaker in the region).")] = None,
    state_machine_arn: Annotated[Optional[str], typer.Option("--state-machine-arn", help="The breaker's state machine, in any stack.")] = None,
    region: Annotated[Optional[str], typer.Option("--region", help="AWS region (default: your AWS configuration).")] = None,
    profile: Annotated[Optional[str], typer.Option("--profile", help="AWS profile (default: AWS_PROFILE or the default profile).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output (every command).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    if endpoint_url is not None and not endpoint_url.startswith(("http://", "https://")):
        raise fail(f"--endpoint-url must be an http(s) URL, got {endpoint_url!r}", "for example: --endpoint-url http://127.0.0.1:4566")
    ctx.obj = Options(local, endpoint_url, stack, state_machine_arn, region, profile, as_json)


def _options(ctx: typer.Context) -> Options:
    return ctx.obj if isinstance(ctx.obj, Options) else Options()


def _json(ctx: typer.Context, as_json: bool) -> bool:
    return as_json or _options(ctx).as_json


def _emit(document: Any) -> None:
    """JSON on stdout, one document, never wrapped."""
    typer.echo(json.dumps(document, indent=2, default=str))


def _callee_name(name: str) -> str:
    if not name.strip():
        raise fail("the callee name is empty", "name a registered callee, e.g. `breaker status echo`")
    try:
        return validate_callee_name(name)
    except InvalidSettingsError as error:
        raise fail(str(error)) from None


# -- call -------------------------------------------------------------------------------------------------


def parse_payload(text: str | None) -> Any:
    """``--payload``: inline JSON, ``file://path`` or ``@path`` to read a file, ``-`` to read stdin."""
    if text is None:
        return None
    source = "--payload"
    if text == "-":
        text, source = sys.stdin.read(), "the payload on stdin"
    elif text.startswith(("file://", "@")):
        path = Path(text[7:] if text.startswith("file://") else text[1:]).expanduser()
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise fail(f"cannot read the payload file {path}: {getattr(error, 'strerror', None) or error}") from None
        source = str(path)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise fail(f"{source} is not valid JSON: {error}", "pass JSON such as --payload '{\"fail\": true}', file://event.json, or - for stdin") from None


def failure_lines(error: BreakerError, now: float | None = None) -> list[Text]:
    """A failed call for people: the error, one line saying what happened, the other facts, the execution."""
    lines = [styled((error.error, "bold red"))]
    shown: set[str] = {"callee", "message"}
    if isinstance(error, CircuitOpenError):
        lines.append(styled(f"circuit of {error.callee} is {error.state}: retry after {moment(error.retry_after, now) or 'unknown'}"))
        shown |= {"state", "retryAfter"}
    elif isinstance(error, CircuitIsolatedError):
        until = "until reset" if error.retry_after is None else f"until {moment(error.retry_after, now)}"
        lines.append(styled(f"circuit of {error.callee} is isolated {until}: {error.reason}"))
        shown |= {"reason", "retryAfter"}
    elif isinstance(error, CalleeFailedError):
        described = lambda_error(error.field("cause"))
        lines.append(styled(f"{error.callee} failed with {described or error.callee_error}"))
        shown |= {"error", "cause"}
    else:
        lines.append(styled(error.describe()))
    if isinstance(error.cause, dict):
        facts = [f"{key}: {lambda_error(value) or clean(value, CELL_LIMIT)}" for key, value in error.cause.items() if key not in shown]
        if facts:
            lines.append(styled(("  ".join(facts), "dim")))
    if error.execution_arn:
        lines.append(styled(("execution ", "dim"), error.execution_arn))
    return lines


@app.command()
def call(
    ctx: typer.Context,
    callee: Annotated[str, typer.Argument(help="Registered callee name, e.g. echo or flaky.")],
    payload: Annotated[Optional[str], typer.Option("--payload", "-p", help="The callee's event: JSON, file://event.json (or @event.json), or - for stdin.")] = None,
    depth: Annotated[Optional[int], typer.Option("--depth", min=0, help="Call-chain depth (when calling from a callee).")] = None,
    asynchronous: Annotated[bool, typer.Option("--async", help="Start the call and return at once with its idempotency key; if it gets no answer it waits in the dead-letter queue for `breaker redrive`.")] = False,
    idempotency_key: Annotated[Optional[str], typer.Option("--idempotency-key", help="With --async: the call's key (1-128 of A-Z a-z 0-9 _ . : -); a new UUID by default.")] = None,
    key: Annotated[Optional[str], typer.Option("--key", help="The circuit key (a tenant, say) whose own circuit the call goes through (a callee with circuit_keys).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {status, executionArn, output, fallback | error, cause} (with --async: {status, idempotencyKey, executionArn}) as JSON.")] = False,
) -> None:
    """Call CALLEE through the circuit breaker and print its answer (exit 1 when the call fails, 2 when it cannot start)."""
    name = _callee_name(callee)
    if idempotency_key is not None and not asynchronous:
        raise fail("--idempotency-key goes with --async", "add --async to start the call without waiting")
    event = parse_payload(payload)
    options = _options(ctx)
    deployment = options.deployment()
    if deployment.knows(name) is False:
        raise fail(
            not_registered(name, deployment.callees, deployment.name),
            "no execution was started",
        )
    client = CircuitBreakerClient(options.connection(), deployment, open_circuit_cache=False)
    if key is not None and deployment.keyed(name) is False:
        raise fail(without_circuit_keys(name, "leave --key out"), "no execution was started")
    if asynchronous:
        _call_async(ctx, client, name, event, depth, idempotency_key, as_json, key)
        return
    err = console(stderr=True)
    try:
        with progress(err, f"calling {name} through the breaker..."):
            result = client.call(name, event, depth, key=key)
    except BreakerError as error:
        if _json(ctx, as_json):
            _emit({"status": "FAILED", "executionArn": error.execution_arn, "error": error.error, "cause": error.cause})
        else:
            for line in failure_lines(error):
                err.print(line, soft_wrap=True)
        raise typer.Exit(1) from None
    fallback = result.fallback
    if _json(ctx, as_json):
        marker = None if fallback is None else {"error": fallback.error, "cause": fallback.cause, "source": fallback.source}
        _emit({"status": "SUCCEEDED", "executionArn": result.execution_arn, "output": result.output, "fallback": marker})
        return
    typer.echo(json.dumps(result.output, indent=2))
    if fallback is not None:
        err.print(styled((f"answered by the {fallback.source} fallback", "bold yellow"), f" instead of the callee ({fallback.error}):"), soft_wrap=True)
        for line in failure_lines(fallback.reason)[1:]:
            err.print(line, soft_wrap=True)
    err.print(styled(("execution ", "dim"), result.execution_arn), soft_wrap=True)


def _call_async(
    ctx: typer.Context, client: CircuitBreakerClient, name: str, event: Any, depth: int | None, idempotency_key: str | None,
    as_json: bool, circuit_key: str | None,
) -> None:
    try:
        started = client.call_async(name, event, depth, idempotency_key, key=circuit_key)
    except BreakerError as error:
        raise fail(error.describe(), "no execution was started") from None
    if _json(ctx, as_json):
        _emit({"status": "STARTED", "idempotencyKey": started.idempotency_key, "executionArn": started.execution_arn})
        return
    typer.echo(started.idempotency_key)
    err = console(stderr=True)
    err.print(styled(("started without waiting; if it gets no answer it waits in the dead-letter queue (breaker redrive)", "dim")), soft_wrap=True)
    err.print(styled(("execution ", "dim"), started.execution_arn), soft_wrap=True)


# -- redrive ----------------------------------------------------------------------------------------------


def _outcome_line(outcome: Outcome, now: float) -> Text:
    """One dead-letter message and what the redrive did with it, for people."""
    key = outcome.idempotency_key or "(no key)"
    head = styled((f"{outcome.action.value:<14}", "bold"), f"{clean(outcome.callee or '?', CELL_LIMIT)}  {clean(key, 130)}  ")
    if outcome.action is RedriveAction.LEFT:
        when = "" if outcome.retry_after is None else f", retry after {moment(outcome.retry_after, now)}"
        head.append_text(styled((f"{outcome.reason}{when}", "yellow")))
        return head
    failed = f"failed with {outcome.error or '?'}" + (f" at {outcome.failed_at}" if outcome.failed_at else "")
    head.append_text(styled((failed, "dim")))
    if outcome.reason:
        head.append_text(styled(f"; {outcome.reason}"))
    if outcome.probe_status:
        head.append_text(styled(f": the probe {outcome.probe_status}"))
    if outcome.execution_arn:
        head.append_text(styled(("  → ", "dim"), outcome.execution_arn))
    return head


def print_redrive(report: RedriveReport, now: float) -> None:
    """Each message's outcome, then the totals."""
    out = console()
    for outcome in report.outcomes:
        out.print(_outcome_line(outcome, now), soft_wrap=True)
    verb = "would resubmit" if report.dry_run else "resubmitted"
    remaining = "" if report.remaining is None else f"; about {report.remaining} message(s) in the queue"
    out.print(styled((f"{verb} {len(report.resubmitted)}, left {len(report.left)}{remaining}", "bold")), soft_wrap=True)
    if report.dry_run:
        out.print(styled(("dry run: nothing was started or deleted", "dim")), soft_wrap=True)


@app.command()
def redrive(
    ctx: typer.Context,
    callee: Annotated[Optional[str], typer.Argument(help="Only this callee's calls; every callee's when left out.")] = None,
    max_messages: Annotated[Optional[int], typer.Option("--max", min=1, help="Re-submit at most this many calls.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be re-submitted; start and delete nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print {resubmitted, left, remaining, messages: [...]} as JSON.")] = False,
) -> None:
    """Re-submit failed asynchronous calls from the dead-letter queue whose circuit is closed (others stay queued).

    Each call is started again with its original input (its idempotency key and depth too); its
    message is deleted only once the new execution has started. A circuit whose break is over gets
    one call as its probe first. Exit 1 if AWS fails halfway (run it again: nothing is lost).
    """
    name = None if callee is None else _callee_name(callee)
    options = _options(ctx)
    deployment = options.deployment()
    if name is not None and deployment.knows(name) is False:
        raise fail(not_registered(name, deployment.callees, deployment.name))
    try:
        redriver = Redriver(options.connection(), deployment)
        with progress(console(stderr=True), "redriving the dead-letter queue..."):
            report = redriver.run(name, max_messages, dry_run)
    except RedriveError as error:
        raise fail(str(error)) from None
    except RedriveInterrupted as interrupted:
        if _json(ctx, as_json):
            _emit({**interrupted.report.as_dict(), "error": str(interrupted.error)})
        else:
            print_redrive(interrupted.report, time.time())
        message = f"redrive stopped halfway: {explain(interrupted.error, options.connection_if_made())}"
        raise fail(message, "every message not re-submitted is back in the queue: run breaker redrive again", code=1) from None
    if _json(ctx, as_json):
        _emit(report.as_dict())
        return
    print_redrive(report, time.time())


# -- status, isolate, reset -------------------------------------------------------------------------------


def _state_text(record: CircuitRecord, registered: bool | None) -> str:
    state = record.state.value
    if record.probe_due:
        state += ", break over: next call probes"
    if record.malformed:
        state += " (malformed item)"
    if record.expired:
        state += " (expired item)"
    if registered is False:
        state += " (not registered)"
    return state


def _retry_text(record: CircuitRecord, now: float) -> str:
    if record.state is CircuitState.ISOLATED and record.retry_after is None:
        return "until reset"
    return moment(record.retry_after, now)


def _failures_text(record: CircuitRecord, now: float) -> str:
    if record.failures is None:
        return ""
    return f"{record.failures} (window ends {moment(record.window_ends_at, now)})"


def _detail_text(record: CircuitRecord) -> str:
    if record.state is CircuitState.ISOLATED:
        return f"{record.reason or '(no reason)'} (by {record.isolated_by or 'unknown'})"
    return readable_error(record.last_error or "")


def print_status(views: list[CircuitView], title: str, now: float) -> None:
    """The circuits as a table, then each circuit's last execution (whole ARNs) and what is malformed."""
    out = console()
    table = Table(title=clean(title))
    for column in ("callee", "state", "failures", "retry after", "reason / last error"):
        table.add_column(column, overflow="fold")
    for view in views:
        record = view.record
        state = _state_text(record, view.registered)
        if view.lagging_shards:
            state += f" (read shards {', '.join(map(str, view.lagging_shards))} of {len(view.shards) + 1} lag behind)"
        table.add_row(
            clean(record.circuit, CELL_LIMIT), state, _failures_text(record, now),
            _retry_text(record, now), clean(_detail_text(record), CELL_LIMIT),
        )  # fmt: skip
    out.print(table)
    executions = [(v.record.circuit, v.record.last_execution_arn) for v in views if v.record.last_execution_arn]
    if executions:
        out.print(styled(("last executions (breaker history ARN shows one):", "bold")))
        for callee, arn in executions:
            out.print(styled(f"  {clean(callee, CELL_LIMIT)}  ", arn), soft_wrap=True)
    for view in views:
        for problem in view.record.problems:
            out.print(styled((f"{clean(view.record.circuit, CELL_LIMIT)}: malformed item: ", "yellow"), problem), soft_wrap=True)


@app.command()
def status(
    ctx: typer.Context,
    callee: Annotated[Optional[str], typer.Argument(help="One callee; all of them when left out.")] = None,
    key: Annotated[Optional[str], typer.Option("--key", help="A key's own circuit (for a callee with circuit_keys).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (epoch seconds).")] = False,
) -> None:
    """Show every circuit (or one): state, failures in the window, when calls go through again, reason or last error."""
    name = None if callee is None else _callee_name(callee)
    if key is not None and name is None:
        raise fail("--key names a circuit of one callee: give the callee too (breaker status NAME --key KEY)")
    options = _options(ctx)
    circuits = options.circuits()
    views = [circuits.get(name, key)] if name is not None else circuits.all()
    if _json(ctx, as_json):
        _emit([view.as_dict() for view in views])
        return
    print_status(views, f"Circuits of {circuits.deployment.name}", time.time())


@app.command()
def isolate(
    ctx: typer.Context,
    callee: Annotated[str, typer.Argument(help="The callee whose circuit to hold open.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with your identity, shown to callers).")],
    for_seconds: Annotated[Optional[int], typer.Option("--for", help="Seconds until the isolation ends by itself; until reset when left out.")] = None,
    key: Annotated[Optional[str], typer.Option("--key", help="A key's own circuit (for a callee with circuit_keys).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (epoch seconds).")] = False,
) -> None:
    """Hold a circuit open: calls fail with CircuitBreaker.CircuitIsolated until reset (or --for ends)."""
    name = _callee_name(callee)
    if for_seconds is not None and for_seconds < 1:
        raise fail(f"--for must be a positive number of seconds, got {for_seconds}", "leave --for out to isolate until `breaker reset`")
    change = _options(ctx).circuits().isolate(name, reason, for_seconds, key)
    if _json(ctx, as_json):
        _emit({**change.after.as_dict(), "from": change.before.state.value})
        return
    record = change.after.record
    until = "until reset" if record.expires_at is None else f"until {moment(record.expires_at)}"
    console().print(styled((record.circuit, "bold"), f" isolated {until} by {record.isolated_by} (was {change.before.state.value}): {record.reason}"), soft_wrap=True)


@app.command()
def reset(
    ctx: typer.Context,
    callee: Annotated[str, typer.Argument(help="The callee whose circuit to close.")],
    key: Annotated[Optional[str], typer.Option("--key", help="A key's own circuit (for a callee with circuit_keys).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (epoch seconds).")] = False,
) -> None:
    """Close a circuit and clear its counters (ends an isolation, an open circuit, or a probe)."""
    name = _callee_name(callee)
    change = _options(ctx).circuits().reset(name, key)
    if _json(ctx, as_json):
        _emit({**change.after.as_dict(), "changed": change.changed, "from": change.before.state.value})
        return
    said = f"closed, counters cleared (was {change.before.state.value})" if change.changed else "was already closed with no failures: nothing to do"
    console().print(styled((change.after.circuit, "bold"), " ", said), soft_wrap=True)


@health_app.command("run")
def health_check_run(
    ctx: typer.Context,
    callee: Annotated[str, typer.Argument(help="The callee whose health check to run.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the check's outcome as JSON.")] = False,
) -> None:
    """Run CALLEE's health check once, as its schedule does (exit 1 when the callee is unhealthy)."""
    from circuit_breaker.operate.health_runs import run_health_check

    name = _callee_name(callee)
    options = _options(ctx)
    with progress(console(stderr=True), f"checking {name}..."):
        outcome = run_health_check(options.connection(), options.deployment(), name)
    if _json(ctx, as_json):
        _emit(outcome)
    else:
        health = ("healthy", "bold green") if outcome.get("healthy") else ("unhealthy", "bold red")
        transition = outcome.get("transition")
        if transition:
            done = f"circuit {transition['from']} -> {transition['to']}: {transition['reason']}"
        else:
            done = f"circuit {outcome.get('state')}, {outcome.get('streak')} of {outcome.get('threshold')} checks in a row" + (f"; {outcome['note']}" if outcome.get("note") else "")
        console().print(styled((name, "bold"), " ", health, f" ({clean(str(outcome.get('detail')), CELL_LIMIT)}, {outcome.get('elapsedMs')} ms); {done}"), soft_wrap=True)
    if not outcome.get("healthy"):
        raise typer.Exit(1)


# -- executions, history ----------------------------------------------------------------------------------


def _executions(ctx: typer.Context, since: str) -> tuple[ExecutionSource, datetime]:
    """Where to read executions from (the engine's history, or the log group on AWS), and since when."""
    moment_since = parse_since(since)
    options = _options(ctx)
    connection = options.connection()
    deployment = options.deployment()
    if connection.local:
        return HistoryExecutions(connection.client("stepfunctions"), deployment.state_machine_arn), moment_since
    if not deployment.log_group_name:
        raise fail(f"the state machine of {deployment.name} logs to no log group: its executions cannot be found")
    return LogExecutions(connection.client("logs"), deployment.log_group_name), moment_since


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else round(value.timestamp(), 3)


@app.command()
def executions(
    ctx: typer.Context,
    status_filter: Annotated[Optional[str], typer.Option("--status", help=f"Only executions with this status ({', '.join(STATUSES)}).")] = None,
    since: Annotated[str, typer.Option("--since", help="How far back: 30s, 15m, 2h, 7d.")] = "15m",
    callee: Annotated[Optional[str], typer.Option("--callee", help="Only calls to this callee.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most this many (newest first).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (epoch seconds).")] = False,
) -> None:
    """List recent executions: status, callee, error, duration (on AWS, from the execution log group)."""
    if status_filter is not None and status_filter.upper() not in STATUSES:
        raise fail(f"--status must be one of {', '.join(STATUSES)}, got {status_filter!r}")
    source, since_moment = _executions(ctx, since)
    found = source.list(since_moment, status_filter.upper() if status_filter else None, callee)[:limit]
    if _json(ctx, as_json):
        _emit([{**s.as_dict(), "started": _epoch(s.started), "stopped": _epoch(s.stopped)} for s in found])
        return
    now = time.time()
    out = console()
    table = Table(title=f"Executions since {moment(since_moment.timestamp(), now)}: {len(found)}")
    for column in ("#", "started", "callee", "status", "error", "ms"):
        table.add_column(column, overflow="fold")
    for number, summary in enumerate(found, start=1):
        duration = summary.duration_ms
        table.add_row(
            str(number),
            moment(summary.started.timestamp(), now) if summary.started else "?",
            clean(summary.callee or "?", CELL_LIMIT),
            summary.status,
            clean(readable_error(summary.error or ""), CELL_LIMIT),
            "" if duration is None else f"{duration:.0f}",
        )
    out.print(table)
    if found:
        # Whole ARNs, one per line, outside the table: never cut or wrapped, ready for `breaker history`.
        out.print(styled(("executions (breaker history ARN shows one):", "bold")))
        for number, summary in enumerate(found, start=1):
            out.print(styled(f"{number:>4}  ", summary.execution_arn), soft_wrap=True)


@app.command()
def history(
    ctx: typer.Context,
    execution_arn: Annotated[str, typer.Argument(help="The execution (as `breaker executions` and `breaker status` show it).")],
    since: Annotated[str, typer.Option("--since", help="How far back to look for its records (AWS): 30s, 15m, 2h, 7d.")] = "1d",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (epoch seconds).")] = False,
) -> None:
    """Show one execution's path: each state entered, its attempts, errors and timings."""
    check_execution_arn(execution_arn)
    source, since_moment = _executions(ctx, since)
    path = source.path(execution_arn, since_moment)
    if _json(ctx, as_json):
        _emit({
            "executionArn": execution_arn, "status": path.status, "error": path.error, "cause": path.cause,
            "states": [
                {"name": v.name, "kind": v.kind, "entered": _epoch(v.entered), "attempts": v.attempts, "errors": v.errors, "ms": v.duration_ms}
                for v in path.visits
            ],
        })  # fmt: skip
        return
    out = console()
    out.print(styled((path.status, "bold"), " ", execution_arn), soft_wrap=True)
    table = Table()
    for column in ("#", "state", "kind", "attempts", "errors", "ms"):
        table.add_column(column, overflow="fold")
    for number, visit in enumerate(path.visits, start=1):
        duration = visit.duration_ms
        table.add_row(
            str(number), clean(visit.name, CELL_LIMIT), clean(visit.kind, CELL_LIMIT), str(visit.attempts or ""),
            clean(", ".join(visit.errors), CELL_LIMIT), "" if duration is None else f"{duration:.0f}",
        )  # fmt: skip
    out.print(table)
    if path.error:
        from circuit_breaker.core.errors import error_from_failure

        for line in failure_lines(error_from_failure(path.error, path.cause, None)):
            console(stderr=True).print(line, soft_wrap=True)


# -- demo, local up ---------------------------------------------------------------------------------------


@app.command()
def demo(
    break_seconds: Annotated[int, typer.Option("--break-seconds", min=1, max=60, help="How long the demo's circuit stays open.")] = 3,
    project: Annotated[Path, typer.Option("--project", help="The CDK project to synthesize.")] = Path("."),
) -> None:
    """Run a narrated scenario on the embedded engine: healthy call, failures, open circuit, probe, closed."""
    from circuit_breaker.cli.demo import run_demo
    from circuit_breaker.local.deployer import AssemblyError

    with private_tempdir("breaker-demo-"):
        try:
            run_demo(project.resolve(), break_seconds=break_seconds)
        except AssemblyError as error:
            raise fail(str(error)) from None


@contextmanager
def private_tempdir(prefix: str) -> Iterator[Path]:
    """A temporary directory that holds every temporary file of this process and its children, removed on exit.

    Synthesis, the engine's Lambda runtime and the construct all make temporary directories; rooting
    them here removes them all when the command ends, whoever made them.
    """
    saved = os.environ.get("TMPDIR")
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        os.environ["TMPDIR"] = scratch
        tempfile.tempdir = None  # re-read TMPDIR
        try:
            yield Path(scratch)
        finally:
            if saved is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = saved
            tempfile.tempdir = None


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _engine_region(ctx: typer.Context, region: str | None) -> str:
    """The region to deploy the local engine into: the one clients use (``--region``, the AWS configuration)."""
    options = _options(ctx)
    if region or options.region:
        return region or options.region  # type: ignore[return-value]
    import boto3

    region = configured_region() or boto3.session.Session(profile_name=options.profile).region_name
    return region or DEFAULT_LOCAL_REGION


@local_app.command("up")
def local_up(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve on.")] = DEFAULT_LOCAL_PORT,
    host: Annotated[str, typer.Option("--host", help="Address to serve on (keep it on loopback).")] = "127.0.0.1",
    project: Annotated[Path, typer.Option("--project", help="The CDK project to synthesize and deploy.")] = Path("."),
    assembly: Annotated[Optional[Path], typer.Option("--assembly", help="Deploy this synthesized cloud assembly (cdk.out) instead of synthesizing.")] = None,
    stack: Annotated[str, typer.Option("--stack", help="Stack of the assembly to deploy.")] = DEFAULT_STACK_NAME,
    region: Annotated[Optional[str], typer.Option("--region", help="Region to deploy into (default: the region your AWS configuration names, else us-east-1).")] = None,
) -> None:
    """Synthesize the app, deploy it on the local engine and serve it until Ctrl-C (``--local`` then finds it)."""
    from circuit_breaker.local.deployer import AssemblyError, synthesize
    from circuit_breaker.local.engine import EngineConfig, LocalEngine

    region = _engine_region(ctx, region)
    if not _port_free(host, port):
        raise fail(f"{host}:{port} is already in use", "is another `breaker local up` running? choose another --port")
    err, out = console(stderr=True), console()
    with private_tempdir("breaker-local-") as scratch:
        try:
            if assembly is None:
                err.print(styled(f"synthesizing {project.resolve()} ..."), soft_wrap=True)
                with progress(err, "synthesizing the CDK app..."):
                    assembly = synthesize(project.resolve(), scratch / "cdk.out", None)
            engine = LocalEngine(assembly, EngineConfig(stack_name=stack, region=region))
            with progress(err, "deploying on the local engine..."):
                engine.start()
        except AssemblyError as error:
            raise fail(str(error)) from None
        state: LocalEndpoint | None = None
        try:
            endpoint = engine.serve(host, port)
            state = LocalEndpoint(endpoint, region, os.getpid(), stack)
            state_file = state.write()
            _announce(out, endpoint, region, stack, engine.outputs, state_file)
            stopped = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stopped.set())
            try:
                while not stopped.wait(1.0):
                    pass
            except KeyboardInterrupt:
                pass
        finally:
            if state is not None:
                state.remove()
            engine.stop()
            err.print("local engine stopped")


def _announce(out: Any, endpoint: str, region: str, stack: str, outputs: dict[str, str], state_file: Path) -> None:
    out.print(styled(("local engine ready", "bold green"), f" at {endpoint} (region {region}, stack {stack})"), soft_wrap=True)
    for key, value in outputs.items():
        out.print(styled(f"  {key}: {value}"), soft_wrap=True)
    arn = outputs.get("StateMachineArn", "ARN")
    out.print()
    out.print(styled("Use it (", ("--local", "bold"), f" finds this port through {state_file}):"), soft_wrap=True)
    for line in (
        "  breaker --local call echo --payload '{\"hello\": 1}'",
        f"  aws --endpoint-url {endpoint} --region {region} stepfunctions start-execution --state-machine-arn {arn} --input '{{\"callee\": \"echo\"}}'",
        f"  export AWS_ENDPOINT_URL={endpoint} AWS_REGION={region} AWS_DEFAULT_REGION={region} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local",
    ):
        out.print(line, soft_wrap=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
