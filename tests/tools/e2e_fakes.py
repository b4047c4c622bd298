"""Stand-ins for what the e2e driver talks to, so that its deploy, run and clean-up are tested without AWS.

:class:`FakeAccount` is an account whose stacks the test sets up (a deploy "creates" one through
:meth:`FakeAccount.deployed`); :class:`RecordingRunner` records every command instead of running it, answering
with the exit status the test chose, and can run a hook (raise KeyboardInterrupt, create the stack) at a step.
``STAND_IN_ENGINE`` is a real process that behaves as ``breaker local up`` does toward the driver: it listens on its
port, writes its state file, and ends on SIGTERM.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from stacks.e2e import E2E_OUTPUT_RUN, E2E_TAG, run_id_of
from tools.e2e.account import StackFacts
from tools.e2e.commands import Command

ACCOUNT_ID = "123456789012"


def ours(stack: str, status: str = "CREATE_COMPLETE") -> StackFacts:
    """A stack with the marks of the run its name says, as ``cdk deploy`` of the e2e assembly leaves it."""
    run_id = run_id_of(stack)
    return StackFacts(stack, status, tags={E2E_TAG: run_id, "other": "tag"}, outputs={E2E_OUTPUT_RUN: run_id, "StateMachineArn": "arn"})


@dataclass
class FakeAccount:
    region: str = "eu-west-1"
    stacks: dict[str, StackFacts] = field(default_factory=dict)
    is_bootstrapped: bool = True
    deleted: list[str] = field(default_factory=list)
    on_delete: Callable[[str], None] | None = None

    def identity(self) -> str:
        return ACCOUNT_ID

    def bootstrapped(self) -> bool:
        return self.is_bootstrapped

    def stack(self, name: str) -> StackFacts | None:
        return self.stacks.get(name)

    def delete(self, name: str) -> None:
        self.deleted.append(name)
        self.stacks.pop(name, None)
        if self.on_delete:
            self.on_delete(name)

    def deployed(self, command: Command) -> None:
        """A hook for the deploy step: the stack it names now exists, with its marks."""
        stack = command.argv[command.argv.index("--app") + 2]
        self.stacks[stack] = ours(stack)


@dataclass
class FakeProcess:
    """A background step that 'serves' as soon as it starts: it writes the state file ``breaker local up`` writes."""

    pid: int = 4242
    alive: bool = True
    stopped: int = 0

    def running(self) -> bool:
        return self.alive

    def stop(self) -> int | None:
        self.stopped += 1
        self.alive = False
        return 0


@dataclass
class RecordingRunner:
    """Records commands; ``status`` says what each step exits with (by a word of its ``what``), ``hooks`` what it does."""

    status: dict[str, int] = field(default_factory=dict)
    hooks: dict[str, Callable[[Command], None]] = field(default_factory=dict)
    ran: list[Command] = field(default_factory=list)
    started: list[FakeProcess] = field(default_factory=list)
    serves: bool = True

    def _step(self, command: Command) -> str:
        return command.what.split()[0]  # synthesize, deploy, serve, run

    def run(self, command: Command) -> int:
        self.ran.append(command)
        step = self._step(command)
        if step in self.hooks:
            self.hooks[step](command)
        return self.status.get(step, 0)

    def start(self, command: Command, log: Path) -> FakeProcess:
        self.ran.append(command)
        process = FakeProcess()
        self.started.append(process)
        log.write_text("serving\n" if self.serves else "Traceback: the engine could not deploy the stack\n")
        if self.serves:
            state = Path(command.env["BREAKER_STATE_DIR"]) / "local-engine.json"
            state.parent.mkdir(parents=True, exist_ok=True)
            port = command.argv[command.argv.index("--port") + 1]
            state.write_text(json.dumps({"endpoint_url": f"http://127.0.0.1:{port}", "region": "us-east-1", "pid": process.pid}))
        else:
            process.alive = False
        return process

    def steps(self) -> list[str]:
        return [self._step(c) for c in self.ran]


#: ``python -c STAND_IN_ENGINE ... --port N ...``: listens on N, writes $BREAKER_STATE_DIR/local-engine.json, exits on SIGTERM.
STAND_IN_ENGINE = """
import json, os, signal, socket, sys, time
port = int(sys.argv[sys.argv.index("--port") + 1])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen()
state = os.environ["BREAKER_STATE_DIR"]
os.makedirs(state, exist_ok=True)
with open(os.path.join(state, "local-engine.json"), "w") as file:
    json.dump({"endpoint_url": f"http://127.0.0.1:{port}", "region": "us-east-1", "pid": os.getpid()}, file)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    time.sleep(0.05)
"""

#: ``python -c SLEEPER PIDFILE``: stands in for the suite; records its pid, then runs until stopped.
SLEEPER = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
