"""The e2e driver's runs: deploy a throw-away stack, run the suite against it, take it all down again.

:func:`run_locally` (``make e2e``) serves the stack on ``breaker local up`` at a free port and stops it;
:func:`run_on_aws` (``make e2e-aws``) deploys ``CircuitBreakerE2E-<run id>`` with the pinned CDK CLI and
destroys it; :func:`destroy` takes down a stack an earlier ``--keep`` left. Whatever ends the suite (its
failure, a failed deploy, Ctrl-C, SIGTERM), the clean-up runs; and no step touches a stack without the e2e
marks of its own run (:func:`tools.e2e.account.check_ours`).
"""

from __future__ import annotations

import json
import secrets
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Sequence

from stacks.e2e import E2E_STACK_PREFIX, run_id_of
from tools.e2e import commands
from tools.e2e.account import Account, E2EError, ForeignStackError, SetupError, check_ours
from tools.e2e.commands import Process, Runner
from tools.e2e.interrupts import interruptible, shielded

#: The local engine's region: fixed, so that the user's AWS configuration plays no part in `make e2e`.
LOCAL_REGION = "us-east-1"
#: Synthesis and deployment on the local engine take about 20 s on 2 cores; this is the limit.
READY_SECONDS = 180.0
#: Exit status of a run that could not get as far as the suite (set-up, synthesis, deploy, a foreign stack).
SETUP_FAILED = 2


def new_stack_name() -> str:
    """``CircuitBreakerE2E-`` and 8 random characters of a-z 0-9: unique per run."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return E2E_STACK_PREFIX + "".join(secrets.choice(alphabet) for _ in range(8))


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def write_target(directory: Path, kind: str, stack: str, region: str, endpoint_url: str | None = None, profile: str | None = None) -> Path:
    """The file the suite reads (``$E2E_TARGET``, see ``tests/e2e/target.py``)."""
    path = directory / "target.json"
    path.write_text(json.dumps({"kind": kind, "stack": stack, "region": region, "endpoint_url": endpoint_url, "profile": profile}, indent=2))
    return path


def _must(status: int, what: str) -> None:
    if status != 0:
        raise E2EError(f"{what} failed (exit {status}): see its output above")


def _say(echo: IO[str], message: str) -> None:
    print(f"e2e: {message}", file=echo, flush=True)


# -- the local engine --------------------------------------------------------------------------------------


def wait_until_ready(process: Process, state_file: Path, log: Path, timeout: float = READY_SECONDS) -> str:
    """The endpoint ``breaker local up`` recorded once its engine serves; fail if it exits or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            document = json.loads(state_file.read_text())
            if document.get("pid") == process.pid:
                return str(document["endpoint_url"])
        except (OSError, ValueError, KeyError):
            pass
        if not process.running():
            raise E2EError(f"`breaker local up` exited before it served:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise E2EError(f"`breaker local up` was not serving after {timeout:.0f} s:\n{_tail(log)}")
        time.sleep(0.2)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


def run_locally(
    runner: Runner, workdir: Path, pytest_args: Sequence[str] = (), echo: IO[str] = sys.stderr,
    name: Callable[[], str] = new_stack_name, port: int | None = None,
) -> int:  # fmt: skip
    """``make e2e``: synthesize the e2e stack, serve it on the local engine, run the suite over HTTP, stop the engine."""
    stack = name()
    assembly, state_dir, log = workdir / "cdk.out", workdir / "state", workdir / "local-up.log"
    process: Process | None = None
    chosen = port
    status = 1
    with interruptible() as interrupts:
        try:
            _must(runner.run(commands.synth(stack, assembly)), "synthesis")
            chosen = port or free_port()
            process = runner.start(commands.local_up(assembly, stack, chosen, state_dir, LOCAL_REGION), log)
            endpoint = wait_until_ready(process, state_dir / "local-engine.json", log)
            _say(echo, f"{stack} served at {endpoint}")
            target = write_target(workdir, "local", stack, LOCAL_REGION, endpoint_url=endpoint)
            status = runner.run(commands.suite(target, pytest_args))
        except KeyboardInterrupt:
            _say(echo, "interrupted: stopping the local engine")
            status = interrupts.exit_status
        except E2EError as error:
            _say(echo, str(error))
            status = SETUP_FAILED
        finally:
            if process is not None:
                with shielded("stopping the local engine", echo):
                    process.stop()
    if process is not None and chosen is not None:
        if process.running() or not port_free(chosen):
            _say(echo, f"the local engine (pid {process.pid}) still holds port {chosen}")
            return status or 1
        _say(echo, f"local engine stopped; port {chosen} is free")
    return status


# -- AWS --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwsOptions:
    """``make e2e-aws``'s choices."""

    keep: bool = False
    reuse: str | None = None
    """Run against this stack a ``--keep`` left (it must carry its run's marks) instead of deploying one."""
    profile: str | None = None
    pytest_args: tuple[str, ...] = ()


def _check_account(account: Account, echo: IO[str]) -> None:
    account_id = account.identity()
    if not account.bootstrapped():
        raise SetupError(
            f"the CDK is not bootstrapped in aws://{account_id}/{account.region}: run `npx cdk bootstrap aws://{account_id}/{account.region}` "
            "(in the activated .venv) once, then again"
        )
    _say(echo, f"account {account_id}, region {account.region}")


def destroy(account: Account, stack: str, echo: IO[str] = sys.stderr) -> bool:
    """Delete ``stack`` and wait until it is gone; ``False`` if there was none. Refuses a stack without its run's marks."""
    facts = account.stack(stack)
    if facts is None:
        return False
    check_ours(facts)
    _say(echo, f"destroying {stack} (about 2 to 5 minutes)")
    account.delete(stack)
    _say(echo, f"{stack} destroyed")
    return True


def run_on_aws(
    account: Account, runner: Runner, workdir: Path, options: AwsOptions = AwsOptions(), echo: IO[str] = sys.stderr,
    name: Callable[[], str] = new_stack_name,
) -> int:  # fmt: skip
    """``make e2e-aws``: deploy a throw-away stack, run the suite against it, destroy it (unless ``keep``)."""
    try:
        _check_account(account, echo)
        if options.reuse is not None:
            stack = options.reuse
            run_id_of(stack)
            facts = account.stack(stack)
            if facts is None:
                raise E2EError(f"there is no stack {stack} in {account.region} to run against")
            check_ours(facts)
        else:
            stack = name()
            if account.stack(stack) is not None:
                raise ForeignStackError(f"a stack named {stack} already exists in {account.region}: refusing to deploy over it")
    except (E2EError, ValueError) as error:
        _say(echo, str(error))
        return SETUP_FAILED
    environment = commands.aws_environment(account.region, options.profile)
    status = 1
    with interruptible() as interrupts:
        try:
            if options.reuse is None:
                assembly = workdir / "cdk.out"
                _must(runner.run(commands.synth(stack, assembly)), "synthesis")
                _must(runner.run(commands.deploy(assembly, stack, account.region, options.profile)), "cdk deploy")
            facts = account.stack(stack)
            if facts is None:
                raise E2EError(f"cdk deploy ended, but there is no stack {stack}")
            check_ours(facts)
            target = write_target(workdir, "aws", stack, account.region, profile=options.profile)
            status = runner.run(commands.suite(target, options.pytest_args, environment))
        except KeyboardInterrupt:
            _say(echo, f"interrupted: {'keeping' if options.keep else 'destroying'} {stack}")
            status = interrupts.exit_status
        except E2EError as error:
            _say(echo, str(error))
            status = SETUP_FAILED
        finally:
            with shielded(f"cleaning up {stack}", echo):
                if options.keep:
                    _say(echo, f"kept {stack} in {account.region}: `make e2e-aws ARGS=\"--stack {stack}\"` runs the suite again, "
                               f"`python -m tools.e2e destroy {stack}` takes it down")  # fmt: skip
                else:
                    try:
                        destroy(account, stack, echo)
                    except E2EError as error:
                        _say(echo, f"could not destroy {stack}: {error}")
                        status = status or 1
    return status
