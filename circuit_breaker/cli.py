"""``breaker``: call callees through the circuit breaker, run the demo, serve the local engine.

Every command talks to AWS by default, or to a local engine with ``--local`` (``breaker local up``
serves one) or ``--endpoint-url`` / ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from circuit_breaker.client import CircuitBreakerClient
from circuit_breaker.deployment import DEFAULT_LOCAL_PORT, DEFAULT_STACK_NAME, Connection, DeploymentNotFoundError
from circuit_breaker.errors import BreakerError

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
    try:
        client = CircuitBreakerClient.discover(options.connection(), options.stack)
        result = client.call(callee, event, depth)
    except DeploymentNotFoundError as error:
        raise fail(str(error)) from None
    except BreakerError as error:
        print_failure(error, as_json)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(result.output, indent=None if as_json else 2))
    if not as_json:
        err.print(f"[dim]execution {result.execution_arn}[/]", soft_wrap=True)


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
