"""The commands the e2e driver runs, and the runner that runs them (injectable: the unit tests capture them).

Every step is a :class:`Command`: the pinned CDK CLI (``npx cdk`` from ``node_modules``) to synthesize and deploy,
``breaker local up`` to serve the local engine, and pytest for the suite. :class:`SubprocessRunner` runs each one
in a process group of its own, so that a Ctrl-C reaches the driver, which then stops the step it was waiting for
(one SIGINT, then SIGKILL if it does not end) and cleans up; nothing it started outlives it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Mapping, Protocol, Sequence

from stacks.e2e import E2E_STACK_CONTEXT

PROJECT_DIR = Path(__file__).resolve().parents[2]
SUITE_DIR = "tests/e2e"
#: How long a step may take to end after its SIGINT (or SIGTERM) before it is killed.
STOP_GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class Command:
    """One program to run: its arguments, the variables it gets on top of the driver's, and what it is for."""

    argv: tuple[str, ...]
    what: str
    env: Mapping[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()

    def environment(self) -> dict[str, str]:
        merged = {k: v for k, v in os.environ.items() if k not in self.unset}
        merged.update(self.env)
        return merged

    def line(self) -> str:
        """The command as a person would type it (the variables it sets first; PATH only gains the virtualenv)."""
        variables = " ".join(f"{k}={v}" for k, v in sorted(self.env.items()) if k != "PATH")
        return f"{variables} {' '.join(self.argv)}".strip()


def aws_environment(region: str, profile: str | None) -> dict[str, str]:
    """What the CDK CLI, boto3 and the aws CLI all read for the region and profile."""
    variables = {"AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    if profile:
        variables["AWS_PROFILE"] = profile
    return variables


def synth(stack: str, out_dir: Path) -> Command:
    """``cdk synth`` of the e2e stack into ``out_dir``: the assembly that is deployed, locally or on AWS."""
    argv = ("npx", "cdk", "synth", "--quiet", "-c", f"{E2E_STACK_CONTEXT}={stack}", "-o", str(out_dir), stack)
    return Command(argv, f"synthesize {stack}")


def deploy(assembly: Path, stack: str, region: str, profile: str | None) -> Command:
    """``cdk deploy`` of the synthesized assembly (the stack's tags come from it)."""
    argv = ["npx", "cdk", "deploy", "--app", str(assembly), stack, "--require-approval", "never", "--progress", "events"]
    if profile:
        argv += ["--profile", profile]
    return Command(tuple(argv), f"deploy {stack} to {region}", aws_environment(region, profile))


def local_up(assembly: Path, stack: str, port: int, state_dir: Path, region: str) -> Command:
    """``breaker local up`` serving the assembly on ``port``, its state file in ``state_dir`` (not the user's)."""
    argv = (_breaker(), "local", "up", "--assembly", str(assembly), "--stack", stack, "--port", str(port), "--region", region)
    variables = {"BREAKER_STATE_DIR": str(state_dir), "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    return Command(argv, f"serve {stack} on the local engine at port {port}", variables, unset=("AWS_PROFILE", "AWS_ENDPOINT_URL"))


def suite(target_file: Path, extra: Sequence[str] = (), aws: Mapping[str, str] | None = None) -> Command:
    """pytest on ``tests/e2e`` only: the e2e marker selected, ``tests/conftest.py`` (the engine's fixtures) never loaded."""
    argv = (
        sys.executable, "-m", "pytest", SUITE_DIR, "-m", "e2e", "-o", "addopts=", "-p", "no:cacheprovider",
        "--confcutdir", SUITE_DIR, "-rs", "-v", *extra,
    )  # fmt: skip
    variables = {"E2E_TARGET": str(target_file), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return Command(argv, "run the end-to-end suite", {**(aws or {}), **variables})


def _breaker() -> str:
    return str(Path(sys.executable).with_name("breaker"))


class Process(Protocol):
    """A step running in the background (``breaker local up``)."""

    @property
    def pid(self) -> int: ...

    def running(self) -> bool: ...

    def stop(self) -> int | None:
        """End it (SIGTERM, then SIGKILL of its process group); its exit status."""
        ...


class Runner(Protocol):
    """Runs the driver's commands; the unit tests give the driver one that records them."""

    def run(self, command: Command) -> int:
        """Run ``command`` to its end and return its exit status (stop it and re-raise on KeyboardInterrupt)."""
        ...

    def start(self, command: Command, log: Path) -> Process:
        """Start ``command`` in the background, its output into ``log``."""
        ...


class _Popen:
    """A background step in a process group of its own."""

    def __init__(self, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        self._process = process
        self._log = log

    @property
    def pid(self) -> int:
        return self._process.pid

    def running(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> int | None:
        try:
            return _end(self._process, signal.SIGTERM)
        finally:
            self._log.close()


def _end(process: subprocess.Popen[bytes], first: signal.Signals) -> int | None:
    """Send ``first`` to the process and wait; if it lingers, kill its process group (its own: only what it started)."""
    if process.poll() is None:
        process.send_signal(first)
        try:
            return process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # not yet reaped, so the group is still the one it leads
    return process.wait()


class SubprocessRunner:
    """Runs commands from the project directory, each in its own process group, echoing what it runs."""

    def __init__(self, cwd: Path = PROJECT_DIR, echo: IO[str] = sys.stderr) -> None:
        self.cwd = cwd
        self.echo = echo

    def run(self, command: Command) -> int:
        print(f"e2e: {command.what}: {command.line()}", file=self.echo, flush=True)
        process = subprocess.Popen(command.argv, cwd=self.cwd, env=command.environment(), start_new_session=True)
        try:
            return process.wait()
        except KeyboardInterrupt:
            _end(process, signal.SIGINT)
            raise

    def start(self, command: Command, log: Path) -> Process:
        print(f"e2e: {command.what}: {command.line()} (output in {log})", file=self.echo, flush=True)
        output = log.open("wb")
        process = subprocess.Popen(
            command.argv, cwd=self.cwd, env=command.environment(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        return _Popen(process, output)
